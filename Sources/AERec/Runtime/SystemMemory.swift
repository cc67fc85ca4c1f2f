import AERecKernels

#if canImport(Glibc)
import Glibc
#endif

/// What the machine can hold: checked before large allocations (EASE's item × item matrix).
public enum SystemMemory {
    /// Bytes of memory available to new allocations (MemAvailable from /proc/meminfo, else the
    /// physical memory), or nil when unknown.
    public static var availableBytes: Int? {
        var buf: UnsafeMutablePointer<UInt8>? = nil
        var len = 0
        if aek_read_file("/proc/meminfo", &buf, &len, nil, 0) == 0, let buf {
            defer { aek_free(buf) }
            let text = String(decoding: UnsafeBufferPointer(start: buf, count: len), as: UTF8.self)
            for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
                let digits = line.dropFirst("MemAvailable:".count).filter { $0.isNumber }
                if let kb = Int(digits) { return kb * 1024 }
            }
        }
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        return pages > 0 && size > 0 ? pages * size : nil
    }

    /// Throws ``AERecError/insufficientMemory(needed:available:what:)`` when `bytes` exceed what is
    /// available (with a 10 % margin for everything else).
    public static func require(_ bytes: Int, for what: String) throws {
        guard let avail = availableBytes else { return }
        if Double(bytes) > Double(avail) * 0.9 {
            throw AERecError.insufficientMemory(needed: bytes, available: avail, what: what)
        }
    }
}
