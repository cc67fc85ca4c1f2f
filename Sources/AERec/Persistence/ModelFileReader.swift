import AERecKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Reading model files: every check of the format, lengths bounded by the file size before any
// allocation. The layout is documented on ModelFile.

extension ModelFile {
    // MARK: - Reading

    /// The state stored at `path`, with every check of the format (see ``ModelFile``). Throws
    /// `io` when the file cannot be opened or read and `modelFile` naming what is wrong when its
    /// contents are not a valid model file (or hold another kind than `expecting`).
    public static func read(path: String, expecting kind: ModelKind? = nil) throws -> ModelState {
        let file = try OpenFile(path: path)
        defer { file.close() }
        var p = try readHead(file)
        if let kind, p.kind != kind {
            throw file.fail("holds a \(p.kind.rawValue) model, expected \(kind.rawValue)")
        }

        // IDS
        let idFrame = try file.bytes(at: p.idsOffset, count: p.idsPayloadLength + frameOverhead)
        try checkFrameCRC(idFrame, name: "ids", file: file)
        p.crc = CRC.update(p.crc, idFrame)
        var r = PayloadReader(Array(idFrame[12..<idFrame.count - 4]), section: "ids", path: path)
        let itemIDs = try readIDMap(&r, what: "item", file: file)
        let hasUsers = try r.flag("user map flag")
        let userIDs = hasUsers ? try readIDMap(&r, what: "user", file: file) : nil
        try r.finish()
        guard itemIDs.count == p.itemCount else {
            throw file.fail("ids section has \(itemIDs.count) item ids, the header says \(p.itemCount)")
        }
        guard userIDs?.count == p.userCount else {
            let d = { (n: Int?) in n.map { "\($0) user ids" } ?? "no user ids" }
            throw file.fail("ids section has \(d(userIDs?.count)), the header says \(d(p.userCount))")
        }

        // Tensors
        var tensors: [ModelState.Tensor] = []
        tensors.reserveCapacity(p.entries.count)
        var cursor = p.idsOffset + idFrame.count
        for e in p.entries {
            let padding = try file.bytes(at: cursor, count: e.offset - cursor)
            if let i = padding.firstIndex(where: { $0 != 0 }) {
                throw file.fail("non-zero padding byte at offset \(cursor + i) before tensor '\(e.name)'")
            }
            p.crc = CRC.update(p.crc, padding)
            let count = e.byteCount / 4
            let raw = try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                try file.fill(UnsafeMutableRawBufferPointer(buffer), at: e.offset)
                initialized = count
            }
            let crc = raw.withUnsafeBytes { CRC.update(0, $0) }
            #if _endian(little)
            let data = raw
            #else
            let data = raw.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
            #endif
            guard crc == e.crc else {
                throw file.fail("tensor '\(e.name)' (offset \(e.offset), \(e.byteCount) bytes): CRC-32 mismatch "
                    + "(stored \(hex32(e.crc)), computed \(hex32(crc))): the weights are corrupt")
            }
            p.crc = CRC.combine(p.crc, crc, lengthB: e.byteCount)
            tensors.append(ModelState.Tensor(validatedName: e.name, shape: e.shape, data: data))
            cursor = e.offset + e.byteCount
        }

        // Trailer
        let trailer = try file.bytes(at: cursor, count: trailerSize)
        guard Array(trailer[0..<4]) == Tag.end else {
            throw file.fail("no end marker at offset \(cursor): found \(hex(trailer[0..<4])), expected 'AEND'")
        }
        p.crc = CRC.update(p.crc, Array(trailer[0..<4]))
        let stored = le32(trailer, 4)
        guard stored == p.crc else {
            throw file.fail("whole-file CRC-32 mismatch (stored \(hex32(stored)), computed \(hex32(p.crc))): "
                + "the file is corrupt")
        }

        var state = ModelState(kind: p.kind, configuration: p.configuration, itemIDs: itemIDs, userIDs: userIDs,
                               tensors: tensors, metadata: p.metadata)
        state.latentActivationName = p.activation
        state.formatVersion = p.version
        state.source = path
        return state
    }

    /// The header of the model file at `path` (kind, version, activation, sizes, tensor list,
    /// metadata) without reading the ids or the weights. Checks the preamble, the header and
    /// directory sections (CRCs included) and the layout, but not the weights' CRCs: use
    /// ``read(path:expecting:)`` to verify a whole file.
    public static func readHeader(path: String) throws -> ModelFileInfo {
        let file = try OpenFile(path: path)
        defer { file.close() }
        let p = try readHead(file)
        return ModelFileInfo(
            path: path, fileSize: file.size, formatVersion: p.version, kind: p.kind,
            latentActivationName: p.activation, configuration: p.configuration, itemCount: p.itemCount,
            userCount: p.userCount,
            tensors: p.entries.map { .init(name: $0.name, shape: $0.shape, offset: $0.offset, count: $0.byteCount / 4) },
            metadata: p.metadata)
    }

    struct Entry {
        var name: String
        var shape: [Int]
        var offset: Int
        var byteCount: Int
        var crc: UInt32
    }

    /// Everything before the ids payload, checked.
    struct Head {
        var version: Int
        var kind: ModelKind
        var activation: String?
        var configuration: String
        var itemCount: Int
        var userCount: Int?
        var metadata: [String: String]
        var entries: [Entry]
        var idsOffset: Int
        var idsPayloadLength: Int
        /// Running whole-file CRC over the preamble, HEAD and TDIR.
        var crc: UInt32
    }

    /// Preamble, HEAD, TDIR, the IDS section's length, and the layout they imply.
    static func readHead(_ file: OpenFile) throws -> Head {
        let size = file.size
        // Magic first, with a specific message for text-mode mangling.
        let start = try file.bytes(at: 0, count: min(size, preambleSize))
        let name = Array("AERECMDL".utf8)
        if start.count >= 8 && Array(start[0..<8]) == name {
            if start.count >= magic.count && Array(start[0..<magic.count]) != magic {
                throw file.fail("the bytes after 'AERECMDL' are \(hex(start[8..<12])), expected 0D 0A 1A 0A: "
                    + "line endings were converted (a text-mode transfer?)")
            }
        } else if start.count < 8 && start == Array(magic.prefix(start.count)) {
            // a prefix of the magic: a truncated model file, reported below
        } else {
            throw file.fail("not an AERec model file (it starts with \(hex(start.prefix(12))), expected 'AERECMDL')")
        }
        guard size >= preambleSize else {
            throw file.fail("truncated: \(size) bytes, shorter than the \(preambleSize)-byte preamble of a model file")
        }
        let storedPreCRC = le32(start, 28)
        let preCRC = CRC.of(Array(start[0..<28]))
        guard storedPreCRC == preCRC else {
            throw file.fail("preamble CRC-32 mismatch (stored \(hex32(storedPreCRC)), computed \(hex32(preCRC))): "
                + "the file is corrupt")
        }
        let version = le32(start, 12)
        guard version == formatVersion else {
            if version == 0 { throw file.fail("invalid format version 0") }
            throw file.fail("written by format version \(version), this AERec reads \(formatVersion)"
                + (version > formatVersion ? ": upgrade AERec to read it" : ""))
        }
        let flags = le32(start, 24)
        guard flags == 0 else { throw file.fail("unknown flags \(hex32(flags)) in format version 1") }
        let declared = le64(start, 16)
        guard declared == UInt64(size) else {
            if declared > UInt64(size) {
                throw file.fail("truncated: the file has \(size) bytes, its preamble says \(declared)")
            }
            throw file.fail("\(UInt64(size) - declared) unexpected trailing bytes after the \(declared)-byte model")
        }
        var crc = CRC.of(start)

        // HEAD
        let minRest = 2 * frameOverhead + trailerSize
        let head = try readFrame(file, at: preambleSize, tag: Tag.header, name: "header", rest: minRest)
        crc = CRC.update(crc, head)
        var h = PayloadReader(Array(head[12..<head.count - 4]), section: "header", path: file.path)
        let kindName = try h.string("kind", maxBytes: 64)
        guard let kind = ModelKind(rawValue: kindName) else {
            throw h.fail("unknown model kind '\(kindName)' (this AERec knows "
                + ModelKind.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        var activation: String?
        if try h.flag("activation flag") {
            let a = try h.string("activation name", maxBytes: 256)
            do { _ = try Activation(name: a) } catch { throw h.fail("unknown latent activation '\(a)'") }
            activation = a
        }
        let configuration = try h.string("configuration")
        let maxIDs = Int(Int32.max)
        let itemCount = try h.size("item count", max: maxIDs)
        let hasUsers = try h.flag("user map flag")
        let userCount = try h.size("user count", max: maxIDs)
        if !hasUsers && userCount != 0 { throw h.fail("user count \(userCount) without a user map") }
        let idsLength = try h.size("ids section length", max: size)
        let tensorCount = try h.size("tensor count", max: size / 26)
        let metadataCount = try h.count("metadata count", minBytesEach: 8)
        var metadata: [String: String] = [:]
        for i in 0..<metadataCount {
            let key = try h.string("metadata key \(i)")
            let value = try h.string("metadata value of '\(key.prefix(40))'")
            if metadata.updateValue(value, forKey: key) != nil { throw h.fail("duplicate metadata key '\(key)'") }
        }
        try h.finish()

        // TDIR
        let dirOffset = preambleSize + head.count
        let dir = try readFrame(file, at: dirOffset, tag: Tag.directory, name: "tensor directory",
                                rest: frameOverhead + trailerSize)
        crc = CRC.update(crc, dir)
        var d = PayloadReader(Array(dir[12..<dir.count - 4]), section: "tensor directory", path: file.path)
        let count = try d.count("tensor count", minBytesEach: 26)
        guard count == tensorCount else {
            throw d.fail("\(count) tensors, the header says \(tensorCount)")
        }
        var entries: [Entry] = [], names = Set<String>()
        entries.reserveCapacity(count)
        for i in 0..<count {
            let name = try d.string("name of tensor \(i)", maxBytes: ModelState.Tensor.maxNameBytes)
            if name.isEmpty { throw d.fail("tensor \(i) has an empty name") }
            if !names.insert(name).inserted { throw d.fail("two tensors named '\(name)'") }
            let dtype = try d.u8("dtype of '\(name)'")
            guard dtype == dtypeFloat32 else { throw d.fail("tensor '\(name)': unknown dtype \(dtype)") }
            let rank = Int(try d.u8("rank of '\(name)'"))
            guard rank <= ModelState.Tensor.maxRank else {
                throw d.fail("tensor '\(name)': rank \(rank) above the maximum \(ModelState.Tensor.maxRank)")
            }
            var shape: [Int] = []
            for k in 0..<rank { shape.append(try d.size("dimension \(k) of '\(name)'", max: size)) }
            let offset = try d.size("offset of '\(name)'", max: size)
            let byteCount = try d.size("byte length of '\(name)'", max: size)
            let elements = ModelState.Tensor.elementCount(of: shape)
            guard let elements, elements <= size / 4, elements * 4 == byteCount else {
                throw d.fail("tensor '\(name)': shape \(shape) does not match its \(byteCount) bytes of float32 data")
            }
            entries.append(Entry(name: name, shape: shape, offset: offset, byteCount: byteCount,
                                 crc: try d.u32("CRC of '\(name)'")))
        }
        try d.finish()

        // IDS: only its frame header here.
        let idsOffset = dirOffset + dir.count
        let idsHead = try file.bytes(at: idsOffset, count: 12)
        guard Array(idsHead[0..<4]) == Tag.ids else {
            throw file.fail("expected the ids section at offset \(idsOffset), found tag \(hex(idsHead[0..<4]))")
        }
        let idsRoom = size - idsOffset - frameOverhead - trailerSize
        guard idsLength <= idsRoom else {
            throw file.fail("ids section length \(idsLength) runs past the end of the file (\(idsRoom) bytes left)")
        }
        guard le64(idsHead, 4) == UInt64(idsLength) else {
            throw file.fail("ids section length \(le64(idsHead, 4)) differs from the header's \(idsLength)")
        }
        // Every id takes at least 4 bytes; a 1-byte flag and two counts.
        guard itemCount + userCount <= (idsLength - 9) / 4 else {
            throw file.fail("the header's \(itemCount) items and \(userCount) users cannot fit the "
                + "\(idsLength)-byte ids section")
        }

        // Layout: tensors follow the ids section in order, 64-byte aligned; then the trailer.
        var cursor = idsOffset + frameOverhead + idsLength
        for e in entries {
            let expected = align(cursor)
            guard e.offset == expected else {
                throw file.fail("tensor '\(e.name)' is at offset \(e.offset), expected \(expected)")
            }
            guard e.byteCount <= size - trailerSize - expected else {
                throw file.fail("tensor '\(e.name)' (\(e.byteCount) bytes at offset \(e.offset)) runs past the "
                    + "end of the \(size)-byte file")
            }
            cursor = expected + e.byteCount
        }
        guard cursor + trailerSize == size else {
            throw file.fail("the sections and tensors end at offset \(cursor + trailerSize), "
                + "but the file has \(size) bytes")
        }
        return Head(version: Int(version), kind: kind, activation: activation, configuration: configuration,
                    itemCount: itemCount, userCount: hasUsers ? userCount : nil, metadata: metadata,
                    entries: entries, idsOffset: idsOffset, idsPayloadLength: idsLength, crc: crc)
    }

    /// A whole section (tag, length, payload, CRC) at `offset`, checked: tag, length against the
    /// file size (leaving `rest` bytes for what must follow), CRC.
    static func readFrame(_ file: OpenFile, at offset: Int, tag: [UInt8], name: String, rest: Int) throws -> [UInt8] {
        let room = file.size - offset - frameOverhead - rest
        guard room >= 0 else {
            throw file.fail("truncated before the \(name) section at offset \(offset)")
        }
        let top = try file.bytes(at: offset, count: 12)
        guard Array(top[0..<4]) == tag else {
            throw file.fail("expected the \(name) section at offset \(offset), found tag \(hex(top[0..<4]))")
        }
        let length = le64(top, 4)
        guard length <= UInt64(room) else {
            throw file.fail("\(name) section length \(length) runs past the end of the file (\(room) bytes left)")
        }
        let frame = top + (try file.bytes(at: offset + 12, count: Int(length) + 4))
        try checkFrameCRC(frame, name: name, file: file)
        return frame
    }

    static func checkFrameCRC(_ frame: [UInt8], name: String, file: OpenFile) throws {
        let stored = le32(frame, frame.count - 4)
        let computed = frame.withUnsafeBytes { CRC.update(0, UnsafeRawBufferPointer(rebasing: $0[0..<frame.count - 4])) }
        guard stored == computed else {
            throw file.fail("\(name) section CRC-32 mismatch (stored \(hex32(stored)), computed \(hex32(computed))): "
                + "the file is corrupt")
        }
    }

    static func readIDMap(_ r: inout PayloadReader, what: String, file: OpenFile) throws -> IDMap {
        let n = try r.count("\(what) id count", minBytesEach: 4)
        var ids: [String] = []
        ids.reserveCapacity(n)
        for i in 0..<n { ids.append(try r.string("\(what) id \(i)")) }
        do { return try IDMap(ids: ids) } catch {
            throw r.fail("\(what) ids: \(error)")
        }
    }

    static func le32<C: Collection>(_ b: C, _ at: Int) -> UInt32 where C.Element == UInt8, C.Index == Int {
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(b[b.startIndex + at + i]) << (8 * i) }
        return v
    }

    static func le64<C: Collection>(_ b: C, _ at: Int) -> UInt64 where C.Element == UInt8, C.Index == Int {
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(b[b.startIndex + at + i]) << (8 * i) }
        return v
    }

    // MARK: - POSIX

    /// A file opened for reading, with its size.
    struct OpenFile {
        let fd: Int32
        let path: String
        let size: Int

        init(path: String) throws {
            // O_NONBLOCK: opening a FIFO must not hang; it is rejected below as not a regular file.
            fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else { throw modelFilePOSIXError(path, "cannot open the model file") }
            var st = stat()
            guard fstat(fd, &st) == 0 else {
                let e = modelFilePOSIXError(path, "cannot stat the model file")
                modelFileCloseFD(fd)
                throw e
            }
            guard (st.st_mode & S_IFMT) == S_IFREG else {
                modelFileCloseFD(fd)
                throw AERecError.io(path: path, message: (st.st_mode & S_IFMT) == S_IFDIR
                    ? "is a directory, not a model file" : "not a regular file")
            }
            self.path = path
            size = Int(st.st_size)
        }

        func close() { modelFileCloseFD(fd) }

        func fail(_ message: String) -> AERecError { .modelFile(path: path, message: message) }

        /// `count` bytes at `offset`; the caller has checked the range against ``size``.
        func bytes(at offset: Int, count: Int) throws -> [UInt8] {
            guard count >= 0, offset >= 0, count <= size - offset else {
                throw fail("truncated: \(count) bytes needed at offset \(offset) of a \(size)-byte file")
            }
            return try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                try fill(UnsafeMutableRawBufferPointer(buffer), at: offset)
                initialized = count
            }
        }

        /// Fills `buffer` from `offset`.
        func fill(_ buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
            guard buffer.count <= size - offset else {
                throw fail("truncated: \(buffer.count) bytes needed at offset \(offset) of a \(size)-byte file")
            }
            var done = 0
            while done < buffer.count {
                let n = pread(fd, buffer.baseAddress! + done, min(buffer.count - done, 1 << 30), off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw modelFilePOSIXError(path, "cannot read the model file")
                }
                if n == 0 { throw fail("unexpected end of file at offset \(offset + done) (did it shrink?)") }
                done += n
            }
        }
    }
}
