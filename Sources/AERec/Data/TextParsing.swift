// Byte-level helpers shared by the data readers and the split export: whole-file reading through
// aek_read_file, an id interner over raw bytes, strict number parsing, buffered text writing.
// Everything here works on unsafe buffers; nothing allocates per line.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import AERecKernels

// MARK: - Reading

/// A whole file in memory (gzip already decompressed), freed with `aek_free`.
final class FileBytes {
    let path: String
    let base: UnsafeMutablePointer<UInt8>?
    let count: Int

    private init(path: String, base: UnsafeMutablePointer<UInt8>?, count: Int) {
        self.path = path
        self.base = base
        self.count = count
    }

    deinit { if let base { aek_free(base) } }

    /// Reads `path` with `aek_read_file`; failures (missing file, read error, corrupt or truncated
    /// gzip) become ``AERecError/io(path:message:)`` carrying the kernel's message.
    static func read(_ path: String) throws -> FileBytes {
        var out: UnsafeMutablePointer<UInt8>? = nil
        var len = 0
        var err = [CChar](repeating: 0, count: 1024)
        let status = err.withUnsafeMutableBufferPointer { e in
            aek_read_file(path, &out, &len, e.baseAddress, e.count)
        }
        guard status == 0 else {
            var message = err.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            // the kernel's message starts with "<path>: "; AERecError.io prints the path itself
            let prefix = path + ": "
            if message.hasPrefix(prefix) { message.removeFirst(prefix.count) }
            if message.isEmpty { message = String(cString: aek_status_string(status)) }
            throw AERecError.io(path: path, message: message)
        }
        return FileBytes(path: path, base: out, count: len)
    }

    /// The bytes (valid while `self` is alive).
    var buffer: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: base == nil ? 0 : count) }
}

// MARK: - Byte constants

enum TextByte {
    static let tab: UInt8 = 9
    static let newline: UInt8 = 10
    static let carriageReturn: UInt8 = 13
    static let space: UInt8 = 32
    static let quote: UInt8 = 34
    static let plus: UInt8 = 43
    static let comma: UInt8 = 44
    static let minus: UInt8 = 45
    static let dot: UInt8 = 46
    static let zero: UInt8 = 48
    static let nine: UInt8 = 57
    static let colon: UInt8 = 58
    static let semicolon: UInt8 = 59
}

/// Index of the first `byte` in `p[from..<to]`, or `to`.
@inline(__always)
func findByte(_ p: UnsafePointer<UInt8>, _ from: Int, _ to: Int, _ byte: UInt8) -> Int {
    guard from < to else { return to }
    guard let hit = memchr(p + from, Int32(byte), to - from) else { return to }
    return p.distance(to: hit.assumingMemoryBound(to: UInt8.self))
}

/// A lossy, human-readable rendering of some bytes for error messages (at most 40 bytes).
func quotedForMessage(_ p: UnsafePointer<UInt8>, _ n: Int) -> String {
    let shown = String(decoding: UnsafeBufferPointer(start: p, count: min(n, 40)), as: UTF8.self)
    return "'" + shown + (n > 40 ? "…" : "") + "'"
}

// MARK: - Numbers

private let floatPowersOfTen: [Float] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10]

/// Parses a decimal number into the correctly rounded `Float`, or nil when the bytes are not a
/// number. "nan", "inf", "infinity" (any case, signed) parse to NaN/±∞ so that the caller can say
/// *why* they are rejected; out-of-range magnitudes become ±∞ too.
///
/// Fast path: `[+-]digits[.digits]` with a mantissa below 2^24 and at most 10 decimals is exact
/// (`Float(m) / 10^k`, both operands exact, one correctly rounded division). Everything else goes
/// through the standard library's correctly rounded parser.
@inline(__always)
func parseDecimalFloat(_ p: UnsafePointer<UInt8>, _ n: Int) -> Float? {
    if n == 0 { return nil }
    var i = 0
    var negative = false
    if p[0] == TextByte.minus { negative = true; i = 1 } else if p[0] == TextByte.plus { i = 1 }
    var mantissa: UInt64 = 0
    var digits = 0, decimals = 0
    var seenDot = false
    var fast = true
    while i < n {
        let c = p[i]
        if c >= TextByte.zero && c <= TextByte.nine {
            if mantissa < (1 << 40) { mantissa = mantissa &* 10 &+ UInt64(c &- TextByte.zero) } else { fast = false }
            digits += 1
            if seenDot { decimals += 1 }
        } else if c == TextByte.dot && !seenDot {
            seenDot = true
        } else {
            fast = false
            break
        }
        i += 1
    }
    if fast {
        if digits == 0 { return nil }
        if mantissa < (1 << 24) && decimals <= 10 {
            let v = Float(mantissa) / floatPowersOfTen[decimals]
            return negative ? -v : v
        }
    }
    return slowParseDecimalFloat(p, n)
}

private func slowParseDecimalFloat(_ p: UnsafePointer<UInt8>, _ n: Int) -> Float? {
    let s = String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    return Float(s)
}

/// Parses `[+-]digits` into an Int64, or nil (not an integer, or out of range).
@inline(__always)
func parseDecimalInt64(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
    if n == 0 { return nil }
    var i = 0
    var negative = false
    if p[0] == TextByte.minus { negative = true; i = 1 } else if p[0] == TextByte.plus { i = 1 }
    if i == n { return nil }
    var v: Int64 = 0
    while i < n {
        let c = p[i]
        guard c >= TextByte.zero && c <= TextByte.nine else { return nil }
        let d = Int64(c &- TextByte.zero)
        let (m, o1) = v.multipliedReportingOverflow(by: 10)
        let (s, o2) = negative ? m.subtractingReportingOverflow(d) : m.addingReportingOverflow(d)
        if o1 || o2 { return nil }
        v = s
        i += 1
    }
    return v
}

// MARK: - Id interning

/// Maps byte strings to dense indices in order of first appearance, without creating a `String`
/// for ids already seen. Open addressing (linear probing, load ≤ 1/2) over FNV-1a hashes; key
/// bytes are kept in one arena.
final class ByteInterner {
    private(set) var strings: [String] = []
    private var slots: UnsafeMutablePointer<Int32>
    private var slotMask: Int
    private var hashes: UnsafeMutablePointer<UInt64>
    private var offsets: UnsafeMutablePointer<Int>   // count + 1 entries into arena
    private var keyCapacity: Int
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCapacity: Int
    private(set) var count = 0

    init(expected: Int = 1024) {
        var cap = 16
        while cap < expected * 2 { cap <<= 1 }
        slots = .allocate(capacity: cap)
        slots.initialize(repeating: -1, count: cap)
        slotMask = cap - 1
        keyCapacity = max(16, expected)
        hashes = .allocate(capacity: keyCapacity)
        offsets = .allocate(capacity: keyCapacity + 1)
        offsets[0] = 0
        arenaCapacity = max(256, expected * 8)
        arena = .allocate(capacity: arenaCapacity)
    }

    deinit {
        slots.deallocate()
        hashes.deallocate()
        offsets.deallocate()
        arena.deallocate()
    }

    @inline(__always)
    private static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<n { h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01b3 }
        // final avalanche so that the low bits used for the slot are well mixed
        h = (h ^ (h >> 33)) &* 0xff51_afd7_ed55_8ccd
        return h ^ (h >> 33)
    }

    /// The index of the id spelled by `p[0..<n]`, interning it when new. Returns -1 (and interns
    /// nothing) when a new id is not valid UTF-8.
    @inline(__always)
    func intern(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
        let h = Self.hash(p, n)
        var s = Int(truncatingIfNeeded: h) & slotMask
        while true {
            let k = slots[s]
            if k < 0 { break }
            let ki = Int(k)
            if hashes[ki] == h {
                let lo = offsets[ki], len = offsets[ki + 1] - lo
                if len == n && (n == 0 || memcmp(arena + lo, p, n) == 0) { return k }
            }
            s = (s + 1) & slotMask
        }
        guard let str = String(validating: UnsafeBufferPointer(start: p, count: n), as: UTF8.self) else { return -1 }
        let index = Int32(count)
        insertKey(p, n, h)
        strings.append(str)
        slots[s] = index
        if count * 2 > slotMask { rehash() }
        return index
    }

    /// ``intern(_:_:)`` for a String.
    func intern(_ s: String) -> Int32 {
        var s = s
        return s.withUTF8 { b in
            if let p = b.baseAddress { return intern(p, b.count) }
            var zero: UInt8 = 0
            return withUnsafePointer(to: &zero) { intern($0, 0) }
        }
    }

    /// The index of an id already interned, or nil.
    func find(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32? {
        let h = Self.hash(p, n)
        var s = Int(truncatingIfNeeded: h) & slotMask
        while true {
            let k = slots[s]
            if k < 0 { return nil }
            let ki = Int(k)
            if hashes[ki] == h {
                let lo = offsets[ki], len = offsets[ki + 1] - lo
                if len == n && (n == 0 || memcmp(arena + lo, p, n) == 0) { return k }
            }
            s = (s + 1) & slotMask
        }
    }

    private func insertKey(_ p: UnsafePointer<UInt8>, _ n: Int, _ h: UInt64) {
        if count == keyCapacity {
            let nc = keyCapacity * 2
            let nh = UnsafeMutablePointer<UInt64>.allocate(capacity: nc)
            nh.moveInitialize(from: hashes, count: count)
            hashes.deallocate()
            hashes = nh
            let no = UnsafeMutablePointer<Int>.allocate(capacity: nc + 1)
            no.moveInitialize(from: offsets, count: count + 1)
            offsets.deallocate()
            offsets = no
            keyCapacity = nc
        }
        let used = offsets[count]
        if used + n > arenaCapacity {
            var nc = arenaCapacity * 2
            while used + n > nc { nc *= 2 }
            let na = UnsafeMutablePointer<UInt8>.allocate(capacity: nc)
            na.moveInitialize(from: arena, count: used)
            arena.deallocate()
            arena = na
            arenaCapacity = nc
        }
        if n > 0 { (arena + used).update(from: p, count: n) }
        hashes[count] = h
        offsets[count + 1] = used + n
        count += 1
    }

    private func rehash() {
        let cap = (slotMask + 1) * 2
        slots.deallocate()
        slots = .allocate(capacity: cap)
        slots.initialize(repeating: -1, count: cap)
        slotMask = cap - 1
        for k in 0..<count {
            var s = Int(truncatingIfNeeded: hashes[k]) & slotMask
            while slots[s] >= 0 { s = (s + 1) & slotMask }
            slots[s] = Int32(k)
        }
    }

    /// The interned ids as an ``IDMap`` (same order).
    func idMap() -> IDMap {
        // ids are unique by construction
        try! IDMap(ids: strings)
    }
}

// MARK: - Pair deduplication

/// Marks, for each (row, column) pair, every occurrence but the LAST as a duplicate.
/// Returns the keep mask and the number of duplicates. Open addressing over packed 64-bit keys.
func lastOccurrenceMask(rows: UnsafeBufferPointer<Int32>, columns: UnsafeBufferPointer<Int32>) -> (keep: [Bool], duplicates: Int) {
    let n = rows.count
    var keep = [Bool](repeating: true, count: n)
    if n == 0 { return (keep, 0) }
    var cap = 16
    while cap < n * 2 { cap <<= 1 }
    let mask = cap - 1
    let table = UnsafeMutablePointer<UInt64>.allocate(capacity: cap)
    defer { table.deallocate() }
    table.initialize(repeating: UInt64.max, count: cap)   // (-1, -1) never occurs as a key
    var duplicates = 0
    keep.withUnsafeMutableBufferPointer { kp in
        var i = n - 1
        while i >= 0 {
            let key = UInt64(UInt32(bitPattern: rows[i])) << 32 | UInt64(UInt32(bitPattern: columns[i]))
            var h = key &* 0x9e37_79b9_7f4a_7c15
            h ^= h >> 29
            var s = Int(truncatingIfNeeded: h) & mask
            while true {
                let t = table[s]
                if t == UInt64.max { table[s] = key; break }
                if t == key { kp[i] = false; duplicates += 1; break }
                s = (s + 1) & mask
            }
            i -= 1
        }
    }
    return (keep, duplicates)
}

// MARK: - Writing

/// A buffered text file writer (fopen/fwrite). `close()` must be called to flush and check errors.
final class TextFileWriter {
    let path: String
    private var file: UnsafeMutablePointer<FILE>?
    private var buffer: [UInt8] = []

    init(path: String) throws {
        self.path = path
        guard let f = fopen(path, "wb") else {
            throw AERecError.io(path: path, message: "cannot create: \(String(cString: strerror(errno)))")
        }
        file = f
        buffer.reserveCapacity(1 << 20)
    }

    deinit { if let file { fclose(file) } }

    func write(_ s: String) throws {
        buffer.append(contentsOf: s.utf8)
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        guard let file else { return }
        let n = buffer.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        guard n == buffer.count else {
            throw AERecError.io(path: path, message: "write failed: \(String(cString: strerror(errno)))")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        try flush()
        guard let f = file else { return }
        file = nil
        if fclose(f) != 0 {
            throw AERecError.io(path: path, message: "close failed: \(String(cString: strerror(errno)))")
        }
    }
}

/// Creates `path` and missing parents (like `mkdir -p`).
func makeDirectories(_ path: String) throws {
    var prefix = path.hasPrefix("/") ? "/" : ""
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        prefix += part
        if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
            throw AERecError.io(path: prefix, message: "cannot create directory: \(String(cString: strerror(errno)))")
        }
        prefix += "/"
    }
}

/// Text for a value in exported files: integers without a decimal point ("3"), everything else
/// as the shortest decimal that parses back to the same Float ("3.5", "0.1", "1e-05").
func formatExportValue(_ v: Float) -> String {
    if v == v.rounded() && abs(v) < 16_777_216 { return String(Int(v)) }
    return v.description
}
