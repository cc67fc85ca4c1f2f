import AERec
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// Exit codes: 0 ok, 1 runtime failure, 2 usage error (including a configuration whose memory
/// estimate exceeds what the machine has available), 3 bad input data.
enum ExitStatus {
    static let runtime: Int32 = 1
    static let usage: Int32 = 2
    static let data: Int32 = 3

    /// The exit code for a library error.
    static func code(for e: AERecError) -> Int32 {
        switch e {
        case .invalidArgument, .insufficientMemory: return usage
        case .io, .parse, .data, .modelFile: return data
        default: return runtime
        }
    }
}

/// Runs `body`; every error becomes a one-line message on stderr and the matching exit code
/// (AERecError by its kind, anything else 1). ExitCode and ArgumentParser's own errors pass through.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as AERecError {
        printErr("aerec: error: \(e.description)")
        throw ExitCode(ExitStatus.code(for: e))
    } catch let e as ExitCode {
        throw e
    } catch let e as ValidationError {
        throw e
    } catch let e as CleanExit {
        throw e
    } catch {
        printErr("aerec: error: \(oneLine(String(describing: error)))")
        throw ExitCode(ExitStatus.runtime)
    }
}

/// A usage error (exit code 2) with a one-line message.
func usageError(_ message: String) -> AERecError { .invalidArgument(message) }

/// `s` with its line breaks folded into "; ".
func oneLine(_ s: String) -> String {
    s.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map { String($0).trimmingCharacters() }
        .filter { !$0.isEmpty }.joined(separator: "; ")
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}

/// Writes a line to standard error (unbuffered).
func printErr(_ s: String) {
    writeAll(2, s + "\n")
}

/// Writes text to a file descriptor (unbuffered).
func writeAll(_ fd: Int32, _ s: String) {
    var bytes = Array(s.utf8)
    bytes.withUnsafeMutableBufferPointer { b in
        var off = 0
        while off < b.count {
            let w = write(fd, b.baseAddress! + off, b.count - off)
            if w <= 0 { break }
            off += w
        }
    }
}

/// True when standard error is a terminal (progress bars), unless AEREC_PROGRESS=plain.
var stderrIsTerminal: Bool {
    if let v = getenv("AEREC_PROGRESS").map({ String(cString: $0) }) {
        if v == "plain" { return false }
        if v == "tty" { return true }
    }
    return isatty(2) != 0
}

/// Terminal width of stderr (80 when unknown).
var terminalWidth: Int {
    var w = winsize()
    if ioctl(2, UInt(TIOCGWINSZ), &w) == 0, w.ws_col > 20 { return Int(w.ws_col) }
    return 80
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

/// "44,613".
func grouped(_ n: Int) -> String {
    let s = String(abs(n))
    var out = ""
    for (i, c) in s.enumerated() {
        if i > 0 && (s.count - i) % 3 == 0 { out += "," }
        out.append(c)
    }
    return (n < 0 ? "-" : "") + out
}

/// "1.2s", "3m05s".
func duration(_ s: Double) -> String {
    if !s.isFinite || s < 0 { return "?" }
    if s < 10 { return fmt(s, 1) + "s" }
    if s < 60 { return String(Int(s.rounded())) + "s" }
    let m = Int(s) / 60, r = Int(s) % 60
    if m < 60 { return "\(m)m" + (r < 10 ? "0" : "") + "\(r)s" }
    return "\(m / 60)h" + (m % 60 < 10 ? "0" : "") + "\(m % 60)m"
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
    func leftPadding(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}

/// mkdir -p.
func makeDirectories(_ path: String) throws {
    try RunOutput.createDirectories(path)
}

/// Monotonic seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// A JSON string literal with the required escapes.
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { let h = String(u.value, radix: 16); out += "\\u" + String(repeating: "0", count: 4 - h.count) + h } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}

/// Prints `value` as the one-line JSON object that ends standard output.
func printJSON(_ value: JSONValue) throws {
    print(try value.jsonText())
}

/// An object from key/value pairs (nil values become null).
func jsonObject(_ pairs: [(String, JSONValue?)]) -> JSONValue {
    var o: [String: JSONValue] = [:]
    for (k, v) in pairs { o[k] = v ?? .null }
    return .object(o)
}

extension JSONValue {
    init(_ s: String) { self = .string(s) }
    init(_ x: Double) { self = x.isFinite ? .number(x) : .null }
    init(_ n: Int) { self = .signed(Int64(n)) }
    init(_ b: Bool) { self = .bool(b) }
}

/// Metrics with confidence intervals as JSON objects {"ndcg@100": 0.41, ...}, {"ndcg@100": [lo, hi]}.
func metricsJSON(_ eval: EvaluationResult, _ metrics: [Metric]) -> (JSONValue, JSONValue) {
    var m: [String: JSONValue] = [:], ci: [String: JSONValue] = [:]
    for metric in metrics {
        guard let v = eval[metric] else { continue }
        m[metric.name] = JSONValue(v.value)
        if let c = v.confidenceInterval { ci[metric.name] = .array([JSONValue(c.lowerBound), JSONValue(c.upperBound)]) }
    }
    return (.object(m), .object(ci))
}

/// Parses "a,b,c" (and repeated options) into a flat list.
func commaList(_ values: [String]) -> [String] {
    values.flatMap { $0.split(separator: ",").map { String($0).trimmingCharacters() } }.filter { !$0.isEmpty }
}

/// Parses metric names ("ndcg@100,recall@20").
func parseMetrics(_ values: [String]) throws -> [Metric]? {
    let names = commaList(values)
    return names.isEmpty ? nil : try names.map { try Metric(name: $0) }
}
