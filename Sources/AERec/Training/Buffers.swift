import AERecKernels

/// A fixed-size float32 buffer with a stable address, for hot loops and C kernels.
/// (Swift arrays may move or copy on write; kernels want plain pointers.)
final class FloatBuffer: @unchecked Sendable {
    let count: Int
    let p: UnsafeMutablePointer<Float>

    init(_ count: Int, zeroed: Bool = true) {
        self.count = count
        p = .allocate(capacity: max(count, 1))
        if zeroed { p.initialize(repeating: 0, count: max(count, 1)) }
    }

    init(copying other: FloatBuffer) {
        count = other.count
        p = .allocate(capacity: max(count, 1))
        p.initialize(from: other.p, count: max(count, 1))
    }

    init(_ array: [Float]) {
        count = array.count
        p = .allocate(capacity: max(count, 1))
        p.initialize(repeating: 0, count: max(count, 1))
        array.withUnsafeBufferPointer { if count > 0 { p.update(from: $0.baseAddress!, count: count) } }
    }

    deinit { p.deallocate() }

    func zero() { p.update(repeating: 0, count: count) }
    func copy(from other: FloatBuffer) { p.update(from: other.p, count: min(count, other.count)) }
    var array: [Float] { Array(UnsafeBufferPointer(start: p, count: count)) }
    var bytes: Int { count * MemoryLayout<Float>.stride }
}

/// A fixed-size float64 buffer with a stable address (kernel scratch for float64 sums).
final class DoubleBuffer: @unchecked Sendable {
    let count: Int
    let p: UnsafeMutablePointer<Double>

    init(_ count: Int) {
        self.count = count
        p = .allocate(capacity: max(count, 1))
        p.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { p.deallocate() }
}

/// A growable scratch array with a stable base address between growths (batch CSR buffers).
struct Scratch<T> {
    private(set) var storage: UnsafeMutablePointer<T>
    private(set) var capacity: Int

    init(_ capacity: Int, fill: T) {
        self.capacity = max(capacity, 1)
        storage = .allocate(capacity: self.capacity)
        storage.initialize(repeating: fill, count: self.capacity)
    }

    /// Ensures room for n elements (growing geometrically; contents are not preserved).
    mutating func reserve(_ n: Int, fill: T) {
        if n <= capacity { return }
        storage.deinitialize(count: capacity)
        storage.deallocate()
        capacity = max(n, capacity * 3 / 2)
        storage = .allocate(capacity: capacity)
        storage.initialize(repeating: fill, count: capacity)
    }

    func free() {
        storage.deinitialize(count: capacity)
        storage.deallocate()
    }
}

/// Counter-based deterministic randomness for initialisation and shuffling (same seed ⇒ same
/// numbers, whatever the thread count).
enum DeterministicRandom {
    /// A uniform float in [0, 1).
    @inline(__always) static func uniform(_ seed: UInt64, _ stream: UInt64, _ counter: UInt64) -> Float {
        aek_uniform(seed, stream, counter)
    }

    /// A random permutation of 0..<n (Fisher–Yates driven by the counter-based hash).
    static func permutation(_ n: Int, seed: UInt64, stream: UInt64) -> [Int32] {
        var p = (0..<n).map { Int32($0) }
        if n < 2 { return p }
        for i in stride(from: n - 1, to: 0, by: -1) {
            let h = aek_hash64(seed, stream, UInt64(i))
            let j = Int(h % UInt64(i + 1))
            p.swapAt(i, j)
        }
        return p
    }

    /// A stream id for a name (FNV-1a), so each tensor gets its own random stream.
    static func stream(_ name: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }
}
