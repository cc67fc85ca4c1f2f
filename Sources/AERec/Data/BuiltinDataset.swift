#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The dataset shipped inside the package: the 10-core subset of MovieTweetings (100K snapshot,
/// MIT licensed), 2,059 users × 1,099 items × 44,613 ratings (0–10), as
/// `data/movietweetings-10core/ratings.tsv.gz` (made by `scripts/make_builtin_dataset.py`; see the
/// README and LICENSE beside it).
///
/// ``locate()`` finds it at run time, in this order:
/// 1. `$AEREC_DATA_DIR` — the directory holding `movietweetings-10core/`, or that directory itself
///    (when the variable is set, nothing else is tried);
/// 2. next to the running executable: `data/` or `share/aerec/data/` in its directory or any of
///    its parents (`.build/release/aerec` finds the package's `data/`);
/// 3. the package this library was built from (its source location at compile time);
/// 4. `data/` under the current directory.
public enum BuiltinDataset {
    /// The directory name under `data/`.
    public static let name = "movietweetings-10core"
    /// The interaction file inside it.
    public static let fileName = "ratings.tsv.gz"
    /// The environment variable that overrides the search.
    public static let environmentVariable = "AEREC_DATA_DIR"
    /// The dataset's size (users, items, ratings), for checks and messages.
    public static let users = 2059, items = 1099, interactions = 44613
    /// The word that stands for the built-in dataset wherever a data path is expected (`--data builtin`).
    public static let keyword = "builtin"

    /// The path of the built-in `ratings.tsv.gz`. Throws ``AERecError/io(path:message:)`` naming
    /// the places searched when it is not found.
    public static func locate() throws -> String {
        if let dir = environmentValue(environmentVariable), !dir.isEmpty {
            for candidate in [dir + "/" + name + "/" + fileName, dir + "/" + fileName] where isReadableFile(candidate) {
                return candidate
            }
            throw AERecError.io(path: dir, message: "\(environmentVariable) is set but holds neither \(name)/\(fileName) nor \(fileName)")
        }
        let candidates = searchDirectories()
        for d in candidates {
            let p = d + "/" + name + "/" + fileName
            if isReadableFile(p) { return p }
        }
        throw AERecError.io(
            path: "built-in dataset",
            message: "\(name)/\(fileName) not found (looked in \(candidates.joined(separator: ", "))); set \(environmentVariable) to the directory that holds \(name)/")
    }

    /// `path`, or the built-in dataset's path when `path` is the keyword `builtin`.
    public static func resolve(_ path: String) throws -> String {
        path == keyword ? try locate() : path
    }

    /// The `data` directories searched after `$AEREC_DATA_DIR`, in order (duplicates removed).
    public static func searchDirectories() -> [String] {
        var out: [String] = []
        func add(_ d: String) { if !out.contains(d) { out.append(d) } }
        if let exe = executablePath() {
            var dir = parentDirectory(exe)
            for _ in 0..<6 {
                add(dir + "/data")
                add(dir + "/share/aerec/data")
                let up = parentDirectory(dir)
                if up == dir { break }
                dir = up
            }
        }
        // <package>/Sources/AERec/Data/BuiltinDataset.swift → <package>/data
        var pkg = #filePath
        for _ in 0..<4 { pkg = parentDirectory(pkg) }
        if pkg.hasPrefix("/") { add(pkg + "/data") }
        add("data")
        return out
    }

    /// The canonical path of the running executable (Linux: /proc/self/exe), or nil.
    public static func executablePath() -> String? {
        #if os(Linux)
        var buf = [CChar](repeating: 0, count: 4097)
        let n = readlink("/proc/self/exe", &buf, 4096)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #else
        return CommandLine.arguments.first.flatMap { a in
            guard let r = realpath(a, nil) else { return nil }
            defer { free(r) }
            return String(cString: r)
        }
        #endif
    }

    static func parentDirectory(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func isReadableFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && access(path, R_OK) == 0
    }

    static func environmentValue(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
