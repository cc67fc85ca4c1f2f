// Generation-checked handles: a C handle is never a pointer to an object but an encoded
// (slot index, object kind, slot generation) triple. Freeing a handle bumps its slot's generation,
// so a freed handle, a handle of another kind, or a pointer that never was a handle is detected
// and reported instead of dereferenced.
import AERec
import Synchronization

/// The kinds of object behind handles (stored in the handle's bits).
enum HandleKind: UInt8, Sendable {
    case dataset = 0x31, split = 0x32, model = 0x33, result = 0x34, probe = 0x35, selection = 0x36

    var name: String {
        switch self {
        case .dataset: return "dataset"
        case .split: return "split"
        case .model: return "model"
        case .result: return "result"
        case .probe: return "probe"
        case .selection: return "selection"
        }
    }
}

/// The process-wide handle table.
///
/// Handle bits (before XOR with `magic`): generation (32) | kind (8) | slot index + 1 (24).
/// Lookups return a strong reference, so an object freed while another thread is inside a call on
/// it stays alive until that call returns.
final class HandleTable: Sendable {
    private struct Slot {
        var generation: UInt32
        var object: (any AnyObject & Sendable)?
    }

    private struct Table {
        var slots: [Slot] = []
        var free: [Int] = []
    }

    private static let magic: UInt64 = 0x6A09_E667_0000_0000
    private static let maxSlots = 1 << 24 - 1

    private let table = Mutex(Table())

    static let shared = HandleTable()

    /// Stores `object` and returns its new handle.
    func insert(_ object: any AnyObject & Sendable, kind: HandleKind) throws -> OpaquePointer {
        let bits: UInt64? = table.withLock { t in
            let index: Int
            if let i = t.free.popLast() {
                index = i
            } else {
                guard t.slots.count < HandleTable.maxSlots else { return nil }
                t.slots.append(Slot(generation: 1, object: nil))
                index = t.slots.count - 1
            }
            t.slots[index].object = object
            let g = UInt64(t.slots[index].generation)
            return (g << 32 | UInt64(kind.rawValue) << 24 | UInt64(index + 1)) ^ HandleTable.magic
        }
        guard let bits, let p = OpaquePointer(bitPattern: UInt(bits)) else {
            throw CABIError(status: Status.outOfMemory, message: "too many live handles (\(HandleTable.maxSlots))")
        }
        return p
    }

    private enum Decoded {
        case ok(index: Int, generation: UInt32)
        case wrongKind(HandleKind)
        case foreign
    }

    private func decode(_ handle: OpaquePointer, kind: HandleKind) -> Decoded {
        let bits = UInt64(UInt(bitPattern: handle)) ^ HandleTable.magic
        let k = UInt8(truncatingIfNeeded: bits >> 24)
        let index = Int(bits & 0xFF_FFFF) - 1
        guard index >= 0 else { return .foreign }
        guard k == kind.rawValue else {
            if let other = HandleKind(rawValue: k) { return .wrongKind(other) }
            return .foreign
        }
        return .ok(index: index, generation: UInt32(truncatingIfNeeded: bits >> 32))
    }

    /// The object behind `handle`, which must be a live handle of `kind`.
    func object(_ handle: OpaquePointer?, kind: HandleKind, argument: String) throws -> any AnyObject & Sendable {
        guard let handle else { throw CABIError.invalid("\(argument) is NULL (expected a \(kind.name) handle)") }
        switch decode(handle, kind: kind) {
        case .foreign:
            throw CABIError.invalid("\(argument) is not an aerec \(kind.name) handle")
        case .wrongKind(let other):
            throw CABIError.invalid("\(argument) is a \(other.name) handle, expected a \(kind.name) handle")
        case .ok(let index, let generation):
            let found: Result<any AnyObject & Sendable, CABIError> = table.withLock { t in
                guard index < t.slots.count, generation != 0, generation <= t.slots[index].generation else {
                    return .failure(.invalid("\(argument) is not an aerec \(kind.name) handle"))
                }
                guard generation == t.slots[index].generation, let o = t.slots[index].object else {
                    return .failure(CABIError(status: Status.staleHandle,
                                              message: "\(argument): the \(kind.name) handle was freed"))
                }
                return .success(o)
            }
            return try found.get()
        }
    }

    /// Removes a live handle and returns its object (nil handle: nil).
    func remove(_ handle: OpaquePointer?, kind: HandleKind, argument: String) throws -> (any AnyObject & Sendable)? {
        guard let handle else { return nil }
        _ = try object(handle, kind: kind, argument: argument)  // same checks and messages
        guard case .ok(let index, let generation) = decode(handle, kind: kind) else { return nil }
        let removed: (any AnyObject & Sendable)? = table.withLock { t in
            guard index < t.slots.count, t.slots[index].generation == generation else { return nil }
            let o = t.slots[index].object
            t.slots[index].object = nil
            var g = t.slots[index].generation &+ 1
            if g == 0 { g = 1 }
            t.slots[index].generation = g
            t.free.append(index)
            return o
        }
        guard let removed else {
            // freed by another thread between the check and the removal
            throw CABIError(status: Status.staleHandle, message: "\(argument): the \(kind.name) handle was freed")
        }
        return removed
    }
}

// MARK: - typed access

/// A dataset behind a handle (immutable).
final class DatasetBox: Sendable {
    let data: Interactions
    private let cachedMatrix = Mutex<InteractionMatrix?>(nil)
    init(_ data: Interactions) { self.data = data }

    /// The users × items matrix (the last of repeated pairs wins), built once on demand.
    func matrix() throws -> InteractionMatrix {
        if let m = cachedMatrix.withLock({ $0 }) { return m }
        let m = try data.matrix()
        cachedMatrix.withLock { $0 = m }
        return m
    }
}

/// A split behind a handle (immutable).
final class SplitBox: Sendable {
    let split: Split
    init(_ split: Split) { self.split = split }
}

/// An evaluation result behind a handle (immutable).
final class ResultBox: Sendable {
    let result: EvaluationResult
    init(_ result: EvaluationResult) { self.result = result }
}

func newHandle(_ object: any AnyObject & Sendable, _ kind: HandleKind, into out: UnsafeMutablePointer<OpaquePointer?>)
    throws
{
    out.pointee = try HandleTable.shared.insert(object, kind: kind)
}

func dataset(_ h: OpaquePointer?, _ argument: String = "dataset") throws -> DatasetBox {
    try HandleTable.shared.object(h, kind: .dataset, argument: argument) as! DatasetBox
}

func split(_ h: OpaquePointer?, _ argument: String = "split") throws -> SplitBox {
    try HandleTable.shared.object(h, kind: .split, argument: argument) as! SplitBox
}

func model(_ h: OpaquePointer?, _ argument: String = "model") throws -> ModelBox {
    try HandleTable.shared.object(h, kind: .model, argument: argument) as! ModelBox
}

func probeReport(_ h: OpaquePointer?, _ argument: String = "probe") throws -> ProbeBox {
    try HandleTable.shared.object(h, kind: .probe, argument: argument) as! ProbeBox
}

func result(_ h: OpaquePointer?, _ argument: String = "result") throws -> ResultBox {
    try HandleTable.shared.object(h, kind: .result, argument: argument) as! ResultBox
}

/// Checks an output-handle argument and clears it.
func outHandle(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ argument: String = "out") throws
    -> UnsafeMutablePointer<OpaquePointer?>
{
    guard let out else { throw CABIError.invalid("\(argument) is NULL") }
    out.pointee = nil
    return out
}
