import Foundation
import Testing

/// Runs the built `aerec` binary and captures its output.
///
/// The binary is, in order: `$AEREC_BIN`; the `aerec` beside this test bundle (the one `swift
/// test` just built with the tests); the newer of `.build/debug/aerec` and `.build/release/aerec`
/// of this package (found through #filePath). `make test` builds it before the tests.
enum CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var stdoutLines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
        var stderrLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }

        /// The last line of standard output, parsed as a JSON object.
        func json() throws -> [String: Any] {
            guard let last = stdoutLines.last, let data = last.data(using: .utf8),
                  let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw CLIError.noJSON(stdout: stdout, stderr: stderr)
            }
            return object
        }
    }

    enum CLIError: Error, CustomStringConvertible {
        case noJSON(stdout: String, stderr: String)
        case noBinary(String)
        var description: String {
            switch self {
            case .noJSON(let o, let e): return "no JSON object on the last stdout line\nstdout:\n\(o)\nstderr:\n\(e)"
            case .noBinary(let m): return m
            }
        }
    }

    static let packageRoot: String = {
        // <root>/Tests/AERecCLITests/CLIHarness.swift
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }()

    static let binary: String? = {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["AEREC_BIN"], !env.isEmpty { return env }
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = runner.deletingLastPathComponent()
        // on some platforms the runner sits inside the .xctest bundle
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("aerec").path
            if fm.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let builds = ["debug", "release"].map { packageRoot + "/.build/\($0)/aerec" }.filter { fm.isExecutableFile(atPath: $0) }
        func mtime(_ p: String) -> Date {
            (try? fm.attributesOfItem(atPath: p)[.modificationDate] as? Date) ?? .distantPast
        }
        return builds.max { mtime($0) < mtime($1) }
    }()

    /// Runs `aerec args…` with `environment` added to this process's environment. With
    /// `interruptAfter`, sends SIGINT once standard error contains that text; with `killAfter`,
    /// SIGKILL (the status is then 128 + 9).
    static func run(_ args: [String], environment: [String: String] = [:], cwd: String? = nil,
                    timeout: TimeInterval = 120, interruptAfter: String? = nil, killAfter: String? = nil) throws -> Result {
        guard let binary else {
            throw CLIError.noBinary("no aerec binary: run `swift build --product aerec` (or `make test`), or set AEREC_BIN")
        }
        let dir = try tempDirectory("run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let outPath = dir + "/stdout", errPath = dir + "/stderr"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["AEREC_PROGRESS"] = nil
        for (k, v) in environment { env[k] = v }
        p.environment = env
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        var interrupted = false
        while p.isRunning {
            if Date() > deadline { kill(p.processIdentifier, SIGKILL); break }
            if let marker = interruptAfter, !interrupted,
               CLI.readText(errPath).contains(marker) {
                p.interrupt()
                interrupted = true
            }
            if let marker = killAfter, CLI.readText(errPath).contains(marker) {
                kill(p.processIdentifier, SIGKILL)
                break
            }
            usleep(5_000)
        }
        p.waitUntilExit()
        try out.close()
        try err.close()
        return Result(status: p.terminationStatus, stdout: readText(outPath), stderr: readText(errPath))
    }

    /// A file's bytes as UTF-8 text (invalid sequences repaired), "" when unreadable. Read with
    /// open/read: FileManager.contents(atPath:) of swift-foundation 6.3 leaks its 4 KiB read buffer
    /// (LeakSanitizer under `make test-sanitize`).
    static func readText(_ path: String) -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A fresh temporary directory.
    static func tempDirectory(_ tag: String) throws -> String {
        let path = NSTemporaryDirectory() + "aerec-cli-\(tag)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A small implicit-feedback dataset with structure (two taste groups) in the staged TSV
    /// format: `users` users × 40 items, 12–16 ratings each, ids "u<n>" / "i<n>", values 1–5.
    /// A test file for `--test` (the given protocol): the last two lines of each of the first 20
    /// users of `data` (a file from ``smallDataset(in:users:name:)``), written into `dir`.
    static func givenTestFile(for data: String, in dir: String) throws -> String {
        let lines = try String(contentsOfFile: data, encoding: .utf8).split(separator: "\n").map(String.init)
        var byUser: [String: [String]] = [:]
        for l in lines.dropFirst() { byUser[String(l.split(separator: "\t")[0]), default: []].append(l) }
        var test = ["user\titem\trating\ttimestamp"]
        for u in 0..<20 { test += byUser["u\(u)"]!.suffix(2) }
        return try write(test.joined(separator: "\n") + "\n", to: dir, name: "test.tsv")
    }

    static func smallDataset(in dir: String, users: Int = 90, name: String = "ratings.tsv") throws -> String {
        var lines = ["user\titem\trating\ttimestamp"]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        for u in 0..<users {
            let group = u % 2
            let count = 12 + Int(next() % 5)
            var items = Set<Int>()
            while items.count < count {
                // 85 % of a user's items come from their group's half of the catalogue
                let fromGroup = next() % 100 < 85
                let half = fromGroup ? group : 1 - group
                items.insert(half * 20 + Int(next() % 20))
            }
            for (j, i) in items.sorted().enumerated() {
                lines.append("u\(u)\ti\(i)\t\(1 + Int(next() % 5))\t\(1_600_000_000 + u * 100 + j)")
            }
        }
        let path = dir + "/" + name
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Writes `text` to `dir/name` and returns the path.
    static func write(_ text: String, to dir: String, name: String) throws -> String {
        let path = dir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// Checks a failed run: the exit code, one line on stderr starting "aerec: error:", no stack
/// trace, and that the message contains every `fragment`.
func expectFailure(_ r: CLI.Result, status: Int32, contains fragments: [String],
                   sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == status, "exit status \(r.status), expected \(status); stderr: \(r.stderr)", sourceLocation: sourceLocation)
    let errorLines = r.stderrLines.filter { $0.hasPrefix("aerec: error:") }
    #expect(errorLines.count == 1, "expected one error line; stderr: \(r.stderr)", sourceLocation: sourceLocation)
    #expect(!r.stderr.contains("Stack dump") && !r.stderr.contains("Fatal error") && !r.stderr.contains("0x0000"),
            "stack trace on stderr: \(r.stderr)", sourceLocation: sourceLocation)
    let message = errorLines.first ?? ""
    for f in fragments {
        #expect(message.contains(f), "message '\(message)' lacks '\(f)'", sourceLocation: sourceLocation)
    }
}
