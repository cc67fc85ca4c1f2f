import AERecKernels

#if canImport(Glibc)
import Glibc
#endif

/// What the machine can hold: checked before large allocations (model weights, training
/// workspaces, EASE's item × item matrix), so that a job too large for the machine fails with
/// ``AERecError/insufficientMemory(needed:available:what:)`` instead of being killed.
public enum SystemMemory {
    /// Bytes of memory available to new allocations, or nil when unknown: the smallest of
    /// MemAvailable (/proc/meminfo; the physical memory when absent), the room left under the
    /// cgroup v2 limit (/sys/fs/cgroup/memory.max − memory.current), and the environment variable
    /// `AEREC_MEMORY_LIMIT` (bytes, or with a K, M, G or T suffix: a cap for shared machines and
    /// tests).
    public static var availableBytes: Int? {
        var candidates: [Int] = []
        if let m = meminfoAvailable() { candidates.append(m) } else {
            let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
            if pages > 0 && size > 0 { candidates.append(pages * size) }
        }
        if let limit = readNumber("/sys/fs/cgroup/memory.max"), let used = readNumber("/sys/fs/cgroup/memory.current") {
            candidates.append(max(0, limit - used))
        }
        if let cap = environmentLimit() { candidates.append(cap) }
        return candidates.min()
    }

    /// Throws ``AERecError/insufficientMemory(needed:available:what:)`` when `bytes` exceed what is
    /// available (with a 10 % margin for everything else).
    public static func require(_ bytes: Int, for what: String) throws {
        guard let avail = availableBytes else { return }
        if Double(bytes) > Double(avail) * 0.9 {
            throw AERecError.insufficientMemory(needed: bytes, available: avail, what: what)
        }
    }

    /// `AEREC_MEMORY_LIMIT` parsed ("512M", "2G", "1000000"), nil when unset or malformed.
    static func environmentLimit() -> Int? {
        guard let raw = getenv("AEREC_MEMORY_LIMIT") else { return nil }
        return parseByteCount(String(cString: raw))
    }

    /// "123", "64K", "512M", "2G", "1T" (case-insensitive, optional trailing "B" or "iB") → bytes.
    static func parseByteCount(_ text: String) -> Int? {
        var s = Substring(text.trimmingSpaces().uppercased())
        if s.hasSuffix("IB") { s = s.dropLast(2) } else if s.hasSuffix("B") { s = s.dropLast() }
        var shift = 0
        if let last = s.last, let k = ["K": 10, "M": 20, "G": 30, "T": 40][String(last)] {
            shift = k
            s = s.dropLast()
        }
        guard let n = Int(s), n >= 0, n <= Int.max >> shift else { return nil }
        return n << shift
    }

    private static func fileText(_ path: String) -> String? {
        var buf: UnsafeMutablePointer<UInt8>? = nil
        var len = 0
        guard aek_read_file(path, &buf, &len, nil, 0) == 0, let buf else { return nil }
        defer { aek_free(buf) }
        return String(decoding: UnsafeBufferPointer(start: buf, count: len), as: UTF8.self)
    }

    private static func meminfoAvailable() -> Int? {
        guard let text = fileText("/proc/meminfo") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let digits = line.dropFirst("MemAvailable:".count).filter { $0.isNumber }
            if let kb = Int(digits) { return kb * 1024 }
        }
        return nil
    }

    /// A file holding one integer ("max" and anything else: nil).
    private static func readNumber(_ path: String) -> Int? {
        guard let text = fileText(path) else { return nil }
        return Int(text.filter { !$0.isWhitespace })
    }
}
