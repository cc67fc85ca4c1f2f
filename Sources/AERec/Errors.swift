import AERecKernels

/// Every error AERec throws.
///
/// Messages are one line, name the file, line and field where there is one, and say what was
/// expected. The C ABI and the CLI show ``description`` verbatim.
public enum AERecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A caller-supplied argument is out of range or inconsistent.
    case invalidArgument(String)
    /// A file could not be opened, read or written.
    case io(path: String, message: String)
    /// A data file has a malformed line: file, 1-based line, field name, what is wrong.
    case parse(path: String, line: Int, field: String, message: String)
    /// The data are unusable as a whole (empty, nothing left after filtering, unknown ids...).
    case data(String)
    /// A model file is corrupt, truncated, of another version or kind.
    case modelFile(path: String, message: String)
    /// Training diverged or a factorisation failed.
    case numerical(String)
    /// The job would need more memory than is allowed.
    case insufficientMemory(needed: Int, available: Int, what: String)
    /// Training was stopped by the caller.
    case cancelled

    public var description: String {
        switch self {
        case .invalidArgument(let m): return "invalid argument: \(m)"
        case .io(let p, let m): return "\(p): \(m)"
        case .parse(let p, let l, let f, let m): return "\(p):\(l): field '\(f)': \(m)"
        case .data(let m): return "data: \(m)"
        case .modelFile(let p, let m): return "\(p): \(m)"
        case .numerical(let m): return "numerical failure: \(m)"
        case .insufficientMemory(let n, let a, let w):
            return "\(w) needs about \(formatBytes(n)) but only \(formatBytes(a)) is available"
        case .cancelled: return "cancelled"
        }
    }
}

/// "1.5 GiB"-style byte counts.
func formatBytes(_ n: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n), u = 0
    while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
    return u == 0 ? "\(n) B" : String(Int((v * 10).rounded())) .withDecimal + " " + units[u]
}

private extension String {
    /// "153" -> "15.3"
    var withDecimal: String { count > 1 ? String(dropLast()) + "." + String(last!) : "0." + self }
}

/// Throws when a kernel returned a non-zero status.
@inline(__always)
func check(_ status: Int32, _ what: @autoclosure () -> String) throws {
    if status != 0 {
        let msg = String(cString: aek_status_string(status))
        if status == Int32(AEK_ERR_NUMERIC) { throw AERecError.numerical("\(what()): \(msg)") }
        throw AERecError.invalidArgument("\(what()): \(msg)")
    }
}
