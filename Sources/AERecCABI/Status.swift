// Status codes, the thread-local last-error message, and the wrapper every exported function runs
// its body in: it resets the message, turns every thrown error into a status code + message, and
// never lets an error escape into C.
import AERec

#if canImport(Glibc)
import Glibc
#endif

/// The status codes of include/aerec.h.
enum Status {
    static let ok: Int32 = 0
    static let invalidArgument: Int32 = -1
    static let io: Int32 = -2
    static let parse: Int32 = -3
    static let data: Int32 = -4
    static let modelFile: Int32 = -5
    static let numerical: Int32 = -6
    static let outOfMemory: Int32 = -7
    static let cancelled: Int32 = -8
    static let busy: Int32 = -9
    static let staleHandle: Int32 = -10
    static let state: Int32 = -11
    static let unsupported: Int32 = -12
    static let bufferTooSmall: Int32 = -13
    static let `internal`: Int32 = -14

    /// Constant descriptions (static C strings, never freed).
    static let descriptions: [Int32: StaticCString] = [
        ok: "ok", invalidArgument: "invalid argument", io: "i/o error", parse: "parse error", data: "data error",
        modelFile: "model file error", numerical: "numerical failure", outOfMemory: "out of memory",
        cancelled: "cancelled", busy: "busy", staleHandle: "stale handle", state: "invalid state",
        unsupported: "unsupported operation", bufferTooSmall: "buffer too small", `internal`: "internal error",
    ]
}

/// A C string with static storage duration (made once, never freed).
struct StaticCString: ExpressibleByStringLiteral, @unchecked Sendable {
    let pointer: UnsafePointer<CChar>
    init(stringLiteral value: String) { pointer = UnsafePointer(strdup(value)!) }
}

/// An error raised by the C layer itself (argument checks, handle checks, states).
struct CABIError: Error {
    let status: Int32
    let message: String

    static func invalid(_ m: String) -> CABIError { CABIError(status: Status.invalidArgument, message: m) }
    static func state(_ m: String) -> CABIError { CABIError(status: Status.state, message: m) }
    static func busy(_ m: String) -> CABIError { CABIError(status: Status.busy, message: m) }
    static func unsupported(_ m: String) -> CABIError { CABIError(status: Status.unsupported, message: m) }
}

/// The status and message for any error.
func statusAndMessage(_ error: any Error) -> (Int32, String) {
    if let e = error as? CABIError { return (e.status, e.message) }
    if let e = error as? AERecError {
        let status: Int32
        switch e {
        case .invalidArgument: status = Status.invalidArgument
        case .io: status = Status.io
        case .parse: status = Status.parse
        case .data: status = Status.data
        case .modelFile: status = Status.modelFile
        case .numerical: status = Status.numerical
        case .insufficientMemory: status = Status.outOfMemory
        case .cancelled: status = Status.cancelled
        }
        return (status, e.description)
    }
    return (Status.internal, "unexpected error: \(String(describing: error))")
}

// MARK: - thread-local last error

/// Per-thread storage for the last error message: a malloc'd C string freed at thread exit.
private let errorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { p in free(p) }
    return key
}()

private let emptyMessage: StaticCString = ""

/// Replaces the calling thread's message (nil clears it).
func setLastError(_ message: String?) {
    let old = pthread_getspecific(errorKey)
    if message == nil && old == nil { return }
    free(old)
    pthread_setspecific(errorKey, message.flatMap { strdup($0) })
}

/// The calling thread's message, "" when none.
func lastErrorPointer() -> UnsafePointer<CChar> {
    if let p = pthread_getspecific(errorKey) { return UnsafePointer(p.assumingMemoryBound(to: CChar.self)) }
    return emptyMessage.pointer
}

/// Runs the body of an exported function: clears the thread's message, returns the body's status,
/// or the status of the error it threw with the message recorded.
@inline(__always)
func guarded(_ body: () throws -> Int32) -> Int32 {
    setLastError(nil)
    do {
        return try body()
    } catch {
        let (status, message) = statusAndMessage(error)
        setLastError(message)
        return status
    }
}

/// Records a failure without throwing (for partial results such as a too-small buffer).
func fail(_ status: Int32, _ message: String) -> Int32 {
    setLastError(message)
    return status
}
