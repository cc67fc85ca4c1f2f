import AERecKernels

// The byte-level pieces of the model file format: constants, CRC-32 (with combination, so the
// whole-file CRC needs no second pass over the weights), and little-endian payload encoding and
// bounds-checked decoding. ModelFile.swift does the file I/O.

extension ModelFile {
    /// "AERECMDL" then CR LF SUB LF (as in PNG): a CRLF→LF or LF→CRLF conversion or a DOS text-mode
    /// reader stopping at SUB (0x1A) breaks these bytes, so mangled files are named as such.
    static let magic: [UInt8] = Array("AERECMDL".utf8) + [0x0D, 0x0A, 0x1A, 0x0A]
    /// Bytes 0..<32 (magic, version, file length, flags, CRC) are the same in every format version.
    static let preambleSize = 32
    /// Tag (4) + payload length (8) before a section's payload, CRC (4) after it.
    static let frameOverhead = 16
    /// "AEND" + whole-file CRC.
    static let trailerSize = 8
    /// Tensor data offsets are multiples of this.
    static let alignment = 64
    /// Tensor element type codes.
    static let dtypeFloat32: UInt8 = 1

    enum Tag {
        static let header: [UInt8] = Array("HEAD".utf8)
        static let directory: [UInt8] = Array("TDIR".utf8)
        static let ids: [UInt8] = Array("IDS ".utf8)
        static let end: [UInt8] = Array("AEND".utf8)
    }

    static func align(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// Bytes as "41 45 52 ..." for messages.
    static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        bytes.map { b in
            let s = String(b, radix: 16, uppercase: true)
            return s.count == 1 ? "0" + s : s
        }.joined(separator: " ")
    }

    static func hex32(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - s.count) + s
    }

    // MARK: CRC-32

    /// CRC-32 (zlib's) helpers.
    enum CRC {
        static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
            guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
            return aek_crc32(crc, base, bytes.count)
        }

        static func update(_ crc: UInt32, _ bytes: [UInt8]) -> UInt32 {
            bytes.withUnsafeBytes { update(crc, $0) }
        }

        static func of(_ bytes: [UInt8]) -> UInt32 { update(0, bytes) }

        /// CRC-32 of `n` zero bytes appended after `crc`.
        static func zeros(_ crc: UInt32, _ n: Int) -> UInt32 {
            var c = crc, left = n
            let z = [UInt8](repeating: 0, count: 256)
            while left > 0 {
                let k = min(left, z.count)
                c = z.withUnsafeBytes { update(c, UnsafeRawBufferPointer(rebasing: $0[0..<k])) }
                left -= k
            }
            return c
        }

        private static let poly: UInt32 = 0xEDB8_8320

        /// a(x)·b(x) mod p(x) in the reflected bit order.
        private static func multiplyModP(_ a: UInt32, _ b: UInt32) -> UInt32 {
            var m: UInt32 = 1 << 31, p: UInt32 = 0, b = b
            while true {
                if a & m != 0 {
                    p ^= b
                    if a & (m - 1) == 0 { break }
                }
                m >>= 1
                b = b & 1 != 0 ? (b >> 1) ^ poly : b >> 1
            }
            return p
        }

        /// x^(2^k) mod p(x), k = 0..<32.
        private static let powers: [UInt32] = {
            var t = [UInt32](repeating: 0, count: 32)
            var p: UInt32 = 1 << 30  // x^1
            t[0] = p
            for k in 1..<32 {
                p = multiplyModP(p, p)
                t[k] = p
            }
            return t
        }()

        /// x^(n·2^k) mod p(x).
        private static func xPower(_ n: UInt64, _ k: Int) -> UInt32 {
            var p: UInt32 = 1 << 31, n = n, k = k
            while n != 0 {
                if n & 1 != 0 { p = multiplyModP(powers[k & 31], p) }
                n >>= 1
                k += 1
            }
            return p
        }

        /// The CRC-32 of A followed by B from crc(A), crc(B) and B's length (zlib's crc32_combine).
        static func combine(_ crcA: UInt32, _ crcB: UInt32, lengthB: Int) -> UInt32 {
            multiplyModP(xPower(UInt64(lengthB), 3), crcA) ^ crcB
        }
    }

    // MARK: Encoding

    /// Little-endian payload encoder.
    struct PayloadWriter {
        var bytes: [UInt8] = []

        mutating func u8(_ v: UInt8) { bytes.append(v) }
        mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        mutating func count(_ n: Int) { u64(UInt64(n)) }
        mutating func flag(_ b: Bool) { u8(b ? 1 : 0) }

        /// u32 byte length + UTF-8.
        mutating func string(_ s: String, _ what: @autoclosure () -> String) throws {
            let n = s.utf8.count
            guard n <= Int(UInt32.max) else {
                throw AERecError.invalidArgument("\(what()) is longer than \(UInt32.max) bytes")
            }
            u32(UInt32(n))
            bytes.append(contentsOf: s.utf8)
        }

        /// The whole section: tag, payload length, payload, CRC-32 of the three.
        static func frame(tag: [UInt8], payload: [UInt8]) -> [UInt8] {
            var w = PayloadWriter()
            w.bytes.reserveCapacity(payload.count + frameOverhead)
            w.bytes.append(contentsOf: tag)
            w.count(payload.count)
            w.bytes.append(contentsOf: payload)
            w.u32(CRC.of(w.bytes))
            return w.bytes
        }
    }

    // MARK: Decoding

    /// Bounds-checked little-endian decoder over one section's payload. Every count is checked
    /// against the bytes left before anything is allocated for it.
    struct PayloadReader {
        let bytes: [UInt8]
        var position = 0
        let section: String
        let path: String

        init(_ bytes: [UInt8], section: String, path: String) {
            self.bytes = bytes
            self.section = section
            self.path = path
        }

        var remaining: Int { bytes.count - position }

        func fail(_ message: String) -> AERecError {
            .modelFile(path: path, message: "\(section) section: \(message)")
        }

        private mutating func take(_ n: Int, _ field: @autoclosure () -> String) throws -> ArraySlice<UInt8> {
            guard n <= remaining else {
                throw fail("\(field()) needs \(n) bytes at payload offset \(position) but only \(remaining) remain")
            }
            defer { position += n }
            return bytes[position..<position + n]
        }

        private mutating func integer<T: FixedWidthInteger>(_ type: T.Type, _ field: @autoclosure () -> String) throws -> T {
            let s = try take(MemoryLayout<T>.size, field())
            var v: T = 0
            for (i, b) in s.enumerated() { v |= T(b) << (8 * i) }
            return v
        }

        mutating func u8(_ field: @autoclosure () -> String) throws -> UInt8 { try integer(UInt8.self, field()) }
        mutating func u32(_ field: @autoclosure () -> String) throws -> UInt32 { try integer(UInt32.self, field()) }
        mutating func u64(_ field: @autoclosure () -> String) throws -> UInt64 { try integer(UInt64.self, field()) }

        mutating func flag(_ field: @autoclosure () -> String) throws -> Bool {
            let v = try u8(field())
            guard v <= 1 else { throw fail("\(field()): flag byte is \(v), expected 0 or 1") }
            return v == 1
        }

        /// A u64 count of entries taking at least `minBytes` each: bounded by the bytes left.
        mutating func count(_ field: @autoclosure () -> String, minBytesEach: Int) throws -> Int {
            let v = try u64(field())
            let limit = remaining / max(1, minBytesEach)
            guard v <= UInt64(limit) else {
                throw fail("\(field()) is \(v), but the \(remaining) bytes left hold at most \(limit)")
            }
            return Int(v)
        }

        /// A u64 value that must fit an Int (not a count of bytes in this section).
        mutating func size(_ field: @autoclosure () -> String, max: Int = Int.max) throws -> Int {
            let v = try u64(field())
            guard v <= UInt64(max) else { throw fail("\(field()) is \(v), above the limit \(max)") }
            return Int(v)
        }

        /// u32 length + UTF-8 (validated).
        mutating func string(_ field: @autoclosure () -> String, maxBytes: Int = Int.max) throws -> String {
            let n = try u32("length of \(field())")
            guard Int(n) <= maxBytes else { throw fail("\(field()) is \(n) bytes long, above the limit \(maxBytes)") }
            let s = try take(Int(n), field())
            guard let str = String(validating: s, as: UTF8.self) else {
                throw fail("\(field()) is not valid UTF-8")
            }
            return str
        }

        func finish() throws {
            if remaining != 0 { throw fail("\(remaining) unexpected bytes after the last field") }
        }
    }
}
