import AERec
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 bad input data.
enum ExitStatus {
    static let runtime: Int32 = 1
    static let usage: Int32 = 2
    static let data: Int32 = 3
}

/// Runs `body`; an AERecError becomes a one-line message on stderr and the matching exit code.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as AERecError {
        printErr("aerec: error: \(e.description)")
        switch e {
        case .invalidArgument: throw ExitCode(ExitStatus.usage)
        case .io, .parse, .data, .modelFile: throw ExitCode(ExitStatus.data)
        default: throw ExitCode(ExitStatus.runtime)
        }
    }
}

/// Writes a line to standard error (unbuffered).
func printErr(_ s: String) {
    let line = s + "\n"
    line.utf8CString.withUnsafeBufferPointer { b in
        var off = 0
        let n = b.count - 1
        while off < n {
            let w = write(2, b.baseAddress! + off, n - off)
            if w <= 0 { break }
            off += w
        }
    }
}

/// Fixed-point formatting without Foundation.
func fmt(_ x: Double, _ digits: Int) -> String {
    if !x.isFinite { return String(x) }
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let v = (abs(x) * p).rounded()
    var ip = String(Int(v / p))
    var fp = String(Int(v.truncatingRemainder(dividingBy: p)))
    if digits > 0 {
        fp = String(repeating: "0", count: max(0, digits - fp.count)) + fp
        ip += "." + fp
    }
    return (x < 0 && v != 0 ? "-" : "") + ip
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
}

/// mkdir -p.
func makeDirectories(_ path: String) throws {
    var current = path.hasPrefix("/") ? "/" : ""
    for part in path.split(separator: "/") {
        current += (current.isEmpty || current.hasSuffix("/") ? "" : "/") + part
        if mkdir(current, 0o755) != 0 && errno != EEXIST {
            throw AERecError.io(path: current, message: "cannot create directory: \(String(cString: strerror(errno)))")
        }
    }
}
