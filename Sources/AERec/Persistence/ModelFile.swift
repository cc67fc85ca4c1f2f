import AERecKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What `aerec info` shows: a model file's header, read without loading the weights or the ids.
public struct ModelFileInfo: Sendable, Equatable, CustomStringConvertible {
    public struct TensorInfo: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        /// Byte offset of the data in the file.
        public let offset: Int
        /// Number of float32 values.
        public let count: Int
        public var byteCount: Int { count * 4 }
    }

    public let path: String
    public let fileSize: Int
    public let formatVersion: Int
    public let kind: ModelKind
    public let latentActivationName: String?
    /// The configuration JSON.
    public let configuration: String
    public let itemCount: Int
    /// nil for models without a user id map.
    public let userCount: Int?
    public let tensors: [TensorInfo]
    public let metadata: [String: String]

    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.count } }

    public var description: String {
        var lines = [
            "model file    \(path) (\(formatBytes(fileSize)), format version \(formatVersion))",
            "kind          \(kind.rawValue)",
        ]
        if let a = latentActivationName { lines.append("activation    \(a)") }
        lines.append("items         \(itemCount)")
        if let u = userCount { lines.append("users         \(u)") }
        lines.append("parameters    \(parameterCount)")
        lines.append("configuration \(configuration)")
        for t in tensors { lines.append("tensor        \(t.name) \(t.shape)") }
        for k in metadata.keys.sorted() { lines.append("metadata      \(k) = \(metadata[k]!)") }
        return lines.joined(separator: "\n")
    }
}

/// The model file: one versioned, checksummed binary format for every model.
///
/// Layout (all integers little-endian; strings are a u32 byte length then UTF-8):
///
///     offset  size   field
///     0       12     magic "AERECMDL" 0D 0A 1A 0A
///     12      4      u32 format version (1)
///     16      8      u64 file length in bytes
///     24      4      u32 flags (0)
///     28      4      u32 CRC-32 of bytes 0..<28
///     32      ...    HEAD section, then TDIR section, then IDS section; a section is
///                    tag[4], u64 payload length, payload, u32 CRC-32 of tag+length+payload
///     ...     ...    tensor data: float32 LE, each tensor at the next multiple of 64 after the
///                    previous one (zero padding between), in directory order
///     end-8   4      "AEND"
///     end-4   4      u32 CRC-32 of every byte before it
///
/// HEAD: kind string, u8 has-activation [+ activation string], configuration string, u64 item
/// count, u8 has-users, u64 user count, u64 IDS payload length, u64 tensor count, u64 metadata count + (key, value)
/// strings sorted by key. TDIR: u64 count + per tensor: name string, u8 dtype (1 = float32), u8 rank,
/// rank × u64 dims, u64 offset, u64 byte length, u32 CRC-32 of the data. IDS: u64 item count +
/// strings, u8 has-users [+ u64 user count + strings].
///
/// Reading checks everything before trusting it; every length is checked against the file size
/// before anything is allocated for it. Writing is atomic.
public enum ModelFile {
    /// The format version this AERec writes and reads.
    public static let formatVersion: UInt32 = 1

    // MARK: - Writing

    /// Writes `state` to `path` atomically: a temporary file in the same directory, fsync, rename
    /// over `path`, fsync of the directory. On failure the temporary is removed and an existing
    /// file at `path` is left untouched. A process killed in the middle of a write (SIGKILL, power
    /// loss) leaves the previous file intact and at most one temporary `.<name>.tmp-<pid>-<random>`
    /// beside it; the next write to the same path removes temporaries whose process is gone.
    /// Throws `invalidArgument` for an invalid state (before touching the disk) and `io` for
    /// file-system failures.
    public static func write(_ state: ModelState, to path: String) throws {
        try write(state, to: path, faultInjection: nil)
    }

    /// Points at which tests can make a write fail.
    enum WriteStep: Equatable, Sendable {
        case openedTemporary, wroteSections, wroteTensor(Int), wroteTrailer, synced, closed
    }

    /// The encoded file minus the tensor data, which is streamed from the state's arrays.
    struct Encoded {
        /// Preamble + HEAD + TDIR + IDS.
        var sections: [UInt8]
        var offsets: [Int]
        var crcs: [UInt32]
        var fileLength: Int
        /// CRC-32 of bytes 0..<fileLength-4.
        var fileCRC: UInt32
    }

    static func encode(_ state: ModelState) throws -> Encoded {
        try state.validate()
        // IDS
        var ids = PayloadWriter()
        ids.count(state.itemIDs.count)
        for id in state.itemIDs.ids { try ids.string(id, "item id") }
        ids.flag(state.userIDs != nil)
        if let users = state.userIDs {
            ids.count(users.count)
            for id in users.ids { try ids.string(id, "user id") }
        }
        let idFrame = PayloadWriter.frame(tag: Tag.ids, payload: ids.bytes)
        // HEAD
        var h = PayloadWriter()
        try h.string(state.kind.rawValue, "kind")
        h.flag(state.latentActivationName != nil)
        if let a = state.latentActivationName { try h.string(a, "activation name") }
        try h.string(state.configuration, "configuration")
        h.count(state.itemIDs.count)
        h.flag(state.userIDs != nil)
        h.count(state.userIDs?.count ?? 0)
        h.count(idFrame.count - frameOverhead)
        h.count(state.tensors.count)
        h.count(state.metadata.count)
        for key in state.metadata.keys.sorted() {
            try h.string(key, "metadata key '\(key.prefix(40))'")
            try h.string(state.metadata[key]!, "metadata value of '\(key.prefix(40))'")
        }
        let head = PayloadWriter.frame(tag: Tag.header, payload: h.bytes)
        let crcs = state.tensors.map { t in
            var c: UInt32 = 0
            forEachLittleEndianChunk(t.data) { c = CRC.update(c, $0) }
            return c
        }
        // TDIR: its size does not depend on the offsets, so lay it out once to learn the size.
        func directory(dataStart: Int) throws -> (frame: [UInt8], offsets: [Int], end: Int) {
            var d = PayloadWriter(), offsets: [Int] = [], cursor = dataStart
            d.count(state.tensors.count)
            for (t, crc) in zip(state.tensors, crcs) {
                let offset = align(cursor)
                try d.string(t.name, "tensor name")
                d.u8(dtypeFloat32)
                d.u8(UInt8(t.shape.count))
                for dim in t.shape { d.count(dim) }
                d.count(offset)
                d.count(t.count * 4)
                d.u32(crc)
                offsets.append(offset)
                cursor = offset + t.count * 4
            }
            return (PayloadWriter.frame(tag: Tag.directory, payload: d.bytes), offsets, cursor)
        }
        let size = try directory(dataStart: 0).frame.count
        let dataStart = preambleSize + head.count + size + idFrame.count
        let (dir, offsets, end) = try directory(dataStart: dataStart)
        let fileLength = end + trailerSize

        var pre = PayloadWriter()
        pre.bytes.append(contentsOf: magic)
        pre.u32(formatVersion)
        pre.count(fileLength)
        pre.u32(0)
        pre.u32(CRC.of(pre.bytes))
        let sections = pre.bytes + head + dir + idFrame

        var crc = CRC.of(sections), cursor = sections.count
        for (i, t) in state.tensors.enumerated() {
            crc = CRC.zeros(crc, offsets[i] - cursor)
            crc = CRC.combine(crc, crcs[i], lengthB: t.count * 4)
            cursor = offsets[i] + t.count * 4
        }
        crc = CRC.update(crc, Tag.end)
        return Encoded(sections: sections, offsets: offsets, crcs: crcs, fileLength: fileLength, fileCRC: crc)
    }

    static func write(_ state: ModelState, to path: String, faultInjection: ((WriteStep) throws -> Void)?) throws {
        let encoded = try encode(state)
        let inject = faultInjection ?? { _ in }
        let (dir, base) = try splitPath(path)

        // Temporary in the same directory (so the rename is atomic), unique by pid + random.
        let stem = String(String.UnicodeScalarView(base.unicodeScalars.prefix(64)))
        removeStaleTemporaries(directory: dir, prefix: "." + stem + ".tmp-")
        var fd: Int32 = -1, temp = ""
        for _ in 0..<16 {
            temp = dir + "/." + stem + ".tmp-\(getpid())-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
            fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else {
            throw modelFilePOSIXError(path, "cannot create a temporary file in '\(dir)'")
        }
        do {
            try inject(.openedTemporary)
            // Keep the permissions of the file being replaced.
            var st = stat()
            if stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG {
                _ = fchmod(fd, st.st_mode & 0o7777)
            }
            var position = 0
            try encoded.sections.withUnsafeBytes { try writeAll(fd, $0, temp) }
            position = encoded.sections.count
            try inject(.wroteSections)
            let zeros = [UInt8](repeating: 0, count: alignment)
            for (i, t) in state.tensors.enumerated() {
                let pad = encoded.offsets[i] - position
                try zeros.withUnsafeBytes { try writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0..<pad]), temp) }
                try forEachLittleEndianChunk(t.data) { try writeAll(fd, $0, temp) }
                position = encoded.offsets[i] + t.count * 4
                try inject(.wroteTensor(i))
            }
            var trailer = PayloadWriter()
            trailer.bytes = Tag.end
            trailer.u32(encoded.fileCRC)
            try trailer.bytes.withUnsafeBytes { try writeAll(fd, $0, temp) }
            try inject(.wroteTrailer)
            while fsync(fd) != 0 {
                if errno != EINTR { throw modelFilePOSIXError(path, "cannot sync the temporary file '\(temp)'") }
            }
            try inject(.synced)
            let closed = close(fd)
            fd = -1
            if closed != 0 && errno != EINTR { throw modelFilePOSIXError(path, "cannot close the temporary file '\(temp)'") }
            try inject(.closed)
            if rename(temp, path) != 0 { throw modelFilePOSIXError(path, "cannot replace the file") }
        } catch {
            if fd >= 0 { close(fd) }
            unlink(temp)
            throw error
        }
        // Make the rename durable. Some file systems cannot sync a directory (EINVAL): the file is
        // in place then and only durability is not guaranteed, which is not worth an error.
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            defer { close(dfd) }
            if fsync(dfd) != 0 && errno == EIO {
                throw modelFilePOSIXError(path, "written, but syncing the directory '\(dir)' failed")
            }
        }
    }

    /// Removes `<prefix><pid>-<random>` files in `directory` whose process `pid` no longer exists:
    /// what a write killed before its rename leaves behind. Files of live processes (a concurrent
    /// write) and names of any other shape are left alone; failures are ignored.
    static func removeStaleTemporaries(directory: String, prefix: String) {
        guard let d = opendir(directory) else { return }
        var stale: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            guard name.hasPrefix(prefix) else { continue }
            let rest = name.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
            guard rest.count == 2, let pid = Int32(rest[0]), pid > 0, !rest[1].isEmpty,
                  rest[1].allSatisfy({ $0.isASCII && ($0.isNumber || $0.isLowercase) }) else { continue }
            if pid == getpid() { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { stale.append(name) }
        }
        closedir(d)
        for name in stale { unlink(directory + "/" + name) }
    }

    /// Directory and file name of `path` ("." for a bare name).
    static func splitPath(_ path: String) throws -> (String, String) {
        guard !path.isEmpty, !path.hasSuffix("/") else {
            throw AERecError.io(path: path, message: "not a file path")
        }
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }

    /// The tensor's values as little-endian bytes, in pieces (the array itself on little-endian hosts).
    static func forEachLittleEndianChunk(_ data: [Float], _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        #if _endian(little)
        try data.withUnsafeBytes { try body($0) }
        #else
        var chunk = [UInt32](repeating: 0, count: 1 << 14)
        var i = 0
        while i < data.count {
            let k = min(chunk.count, data.count - i)
            for j in 0..<k { chunk[j] = data[i + j].bitPattern.littleEndian }
            try chunk.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<k * 4])) }
            i += k
        }
        #endif
    }
}

/// An `io` error with errno's text.
func modelFilePOSIXError(_ path: String, _ what: String) -> AERecError {
    let e = errno
    return .io(path: path, message: "\(what): \(String(cString: strerror(e)))")
}

func modelFileCloseFD(_ fd: Int32) { _ = close(fd) }

/// write(2) until everything is written.
private func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ path: String) throws {
    var done = 0
    while done < bytes.count {
        let n = write(fd, bytes.baseAddress! + done, min(bytes.count - done, 1 << 30))
        if n < 0 {
            if errno == EINTR { continue }
            throw modelFilePOSIXError(path, "cannot write")
        }
        done += n
    }
}
