import AERecKernels
import Testing
@testable import AERec
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// MARK: - Helpers

private enum Disk {
    static func tempDir() -> String {
        var template = Array("/tmp/aerec-modelfile-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(p != nil, "mkdtemp failed")
        return String(cString: p!)
    }

    static func read(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        precondition(fd >= 0, "cannot open \(path)")
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        var b = [UInt8](repeating: 0, count: Int(st.st_size))
        let n = b.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        precondition(n == b.count)
        return b
    }

    static func write(_ path: String, _ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(fd >= 0, "cannot create \(path)")
        defer { close(fd) }
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        precondition(n == bytes.count)
    }

    static func list(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func remove(_ path: String) {
        if isDirectory(path) {
            for n in list(path) { remove(path + "/" + n) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

/// The message of a `modelFile` error thrown by `body`, nil when it throws nothing or another error.
private func modelFileMessage(_ body: () throws -> Any) -> String? {
    do {
        _ = try body()
        return nil
    } catch AERecError.modelFile(_, let message) {
        return message
    } catch {
        return nil
    }
}

private func le64(_ b: [UInt8], _ at: Int) -> Int {
    var v: UInt64 = 0
    for i in 0..<8 { v |= UInt64(b[at + i]) << (8 * i) }
    return Int(v)
}

private func put32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
    for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) }
}

private func put64(_ b: inout [UInt8], _ at: Int, _ v: UInt64) {
    for i in 0..<8 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) }
}

private func crc(_ b: ArraySlice<UInt8>) -> UInt32 {
    b.withUnsafeBytes { aek_crc32(0, $0.baseAddress, $0.count) }
}

/// Recomputes the preamble, section and whole-file CRCs after a deliberate edit, so that only the
/// reader's structural checks can catch it. Section lengths must be intact.
private func reseal(_ b: inout [UInt8]) {
    put32(&b, 28, crc(b[0..<28]))
    var pos = 32
    for _ in 0..<3 {
        let len = le64(b, pos + 4)
        put32(&b, pos + 12 + len, crc(b[pos..<pos + 12 + len]))
        pos += 16 + len
    }
    put32(&b, b.count - 4, crc(b[0..<b.count - 4]))
}

/// Offsets of the sections of a well-formed file: (HEAD payload, TDIR payload, IDS payload, first tensor data).
private func sections(_ b: [UInt8]) -> (head: Int, dir: Int, ids: Int, data: Int) {
    let head = 32 + 12
    let dir = head + le64(b, 36) + 4 + 12
    let ids = dir + le64(b, dir - 8) + 4 + 12
    let data = (ids + le64(b, ids - 8) + 4 + 63) / 64 * 64
    return (head, dir, ids, data)
}

private struct Config: Codable, Equatable {
    var zeta: Int
    var alpha: [Int]
    var dropout: Double
    var name: String
}

private func sampleState(users: Bool = true, big: Bool = false) throws -> ModelState {
    let items = try IDMap(ids: ["i1", "ïtem-é", "商品", "🎬🍿", "e\u{301}x", "", "0001", "1", "שלום", "a\tb\nc"])
    var rng = SystemRandomNumberGenerator()
    let rows = big ? 256 : items.count
    var state = ModelState(
        kind: users ? .cdae : .multVAE, latentActivation: .temperedSigmoid(temperature: 0.5), itemIDs: items,
        userIDs: users ? try IDMap(ids: ["u-α", "u-β", "👤", "user 4"]) : nil,
        metadata: [ModelState.MetadataKey.seed: "42", ModelState.MetadataKey.dataPath: "/data/ml-20m/ratings.csv",
                   "note": "ünïcödé ✓", ModelState.MetadataKey.aerecVersion: AERecVersion.string, "": "empty key"])
    try state.setConfiguration(Config(zeta: 1, alpha: [600, 200], dropout: 0.5, name: "ünï"))
    try state.appendTensor(name: "encoder.weight", shape: [rows, 64],
                           data: (0..<rows * 64).map { _ in Float.random(in: -1...1, using: &rng) })
    try state.appendTensor(name: "encoder.bias", shape: [64], data: (0..<64).map { Float($0) / 7 })
    try state.appendTensor(name: "empty", shape: [0], data: [])
    try state.appendTensor(name: "empty2d", shape: [5, 0], data: [])
    try state.appendTensor(name: "scalar", shape: [], data: [42])
    try state.appendTensor(name: "spécial ✓", shape: [2, 3],
                           data: [.nan, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, Float(bitPattern: 0x7FC0_0123)])
    return state
}

// MARK: - Tests

@Suite("ModelFile: versioned binary model files")
struct ModelFileTests {
    @Test("round trip: tensors (empty, scalar, NaN payloads), unicode ids, metadata, configuration")
    func roundTrip() throws {
        let dir = Disk.tempDir()
        defer { Disk.remove(dir) }
        for users in [true, false] {
            let state = try sampleState(users: users)
            let path = dir + "/model ✓.aerec"
            try ModelFile.write(state, to: path)
            let back = try ModelFile.read(path: path)
            #expect(back == state)
            #expect(back.source == path)
            #expect(back.itemIDs.ids == state.itemIDs.ids)
            #expect(back.userIDs?.ids == state.userIDs?.ids)
            #expect(back.tensorNames == ["encoder.weight", "encoder.bias", "empty", "empty2d", "scalar", "spécial ✓"])
            let special = try back.tensor(named: "spécial ✓", shape: [2, 3]).data
            #expect(special.map(\.bitPattern) == state.tensors[5].data.map(\.bitPattern))
            #expect(try back.decodeConfiguration(Config.self) == Config(zeta: 1, alpha: [600, 200], dropout: 0.5, name: "ünï"))
            #expect(try back.latentActivation() == .temperedSigmoid(temperature: 0.5))
            #expect(back.metadata["note"] == "ünïcödé ✓" && back.metadata[""] == "empty key")
            #expect(try ModelFile.read(path: path, expecting: back.kind) == state)

            // Deterministic bytes: the same state gives the same file.
            let bytes = Disk.read(path)
            try ModelFile.write(back, to: path)
            #expect(Disk.read(path) == bytes)

            let info = try ModelFile.readHeader(path: path)
            #expect(info.kind == state.kind && info.formatVersion == 1 && info.fileSize == bytes.count)
            #expect(info.latentActivationName == "sigmoid:0.5")
            #expect(info.itemCount == 10 && info.userCount == (users ? 4 : nil))
            #expect(info.tensors.map(\.name) == state.tensorNames)
            #expect(info.tensors.map(\.shape) == state.tensors.map(\.shape))
            #expect(info.tensors.allSatisfy { $0.offset % 64 == 0 })
            #expect(info.parameterCount == state.parameterCount)
            #expect(info.metadata == state.metadata && info.configuration == state.configuration)
            #expect(info.description.contains(state.kind.rawValue))
            #expect(Disk.list(dir) == ["model ✓.aerec"])
        }
    }

    @Test("a state with no tensors, no activation and no metadata round-trips")
    func minimalRoundTrip() throws {
        let dir = Disk.tempDir()
        defer { Disk.remove(dir) }
        let state = ModelState(kind: .pop, itemIDs: IDMap(), metadata: [:])
        try ModelFile.write(state, to: dir + "/m")
        #expect(try ModelFile.read(path: dir + "/m") == state)
        // Temporaries go next to the target; a bare name means the current directory.
        #expect(try ModelFile.splitPath("model.aerec") == (".", "model.aerec"))
        #expect(try ModelFile.splitPath("/model.aerec") == ("/", "model.aerec"))
        #expect(try ModelFile.splitPath("a/b/m") == ("a/b", "m"))
        #expect(throws: AERecError.self) { try ModelFile.splitPath("a/b/") }
    }

    @Test("CRC combination matches a straight CRC")
    func crcCombine() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let a = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let b = (0..<Int.random(in: 0...3000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let whole = ModelFile.CRC.of(a + b)
            #expect(ModelFile.CRC.combine(ModelFile.CRC.of(a), ModelFile.CRC.of(b), lengthB: b.count) == whole)
            let z = Int.random(in: 0...700, using: &rng)
            #expect(ModelFile.CRC.zeros(ModelFile.CRC.of(a), z) == ModelFile.CRC.of(a + [UInt8](repeating: 0, count: z)))
        }
    }

    @Test("truncation at every header offset and sampled body offsets is a modelFile error")
    func truncation() throws {
        let dir = Disk.tempDir()
        defer { Disk.remove(dir) }
        let path = dir + "/m.aerec", cut = dir + "/cut.aerec"
        try ModelFile.write(try sampleState(big: true), to: path)
        let bytes = Disk.read(path)
        let dataStart = sections(bytes).data
        #expect(dataStart > 300 && bytes.count > 60_000)
        var offsets = Array(0..<dataStart)
        offsets += Array(stride(from: dataStart, to: bytes.count, by: 97)) + Array(bytes.count - 16..<bytes.count)
        var failures: [Int] = []
        Disk.write(cut, bytes)
        for n in offsets.sorted(by: >) {
            #expect(truncate(cut, off_t(n)) == 0)
            if modelFileMessage({ try ModelFile.read(path: cut) }) == nil { failures.append(n) }
            if modelFileMessage({ try ModelFile.readHeader(path: cut) }) == nil { failures.append(-n) }
        }
        #expect(failures.isEmpty, "truncations not reported: \(failures.prefix(20))")
        Disk.write(cut, Array(bytes[0..<bytes.count - 100]))
        #expect(modelFileMessage { try ModelFile.read(path: cut) }?.contains("truncated") == true)
    }

    @Test("single-bit flips: every bit of the header, every body byte of a small file, samples of a large one")
    func bitFlips() throws {
        let dir = Disk.tempDir()
        defer { Disk.remove(dir) }
        let path = dir + "/m.aerec", bad = dir + "/bad.aerec"
        for big in [false, true] {
            try ModelFile.write(try sampleState(big: big), to: path)
            let bytes = Disk.read(path)
            let s = sections(bytes)
            var rng = SystemRandomNumberGenerator()
            let positions: [(Int, Int)] = big
                ? (0..<600).map { _ in (Int.random(in: s.data..<bytes.count, using: &rng), Int.random(in: 0..<8, using: &rng)) }
                : (0..<s.data).flatMap { i in (0..<8).map { (i, $0) } }
                    + (s.data..<bytes.count).map { ($0, Int.random(in: 0..<8, using: &rng)) }
            var failures: [(Int, Int)] = []
            Disk.write(bad, bytes)
            let fd = open(bad, O_RDWR)
            defer { close(fd) }
            for (i, bit) in positions {
                // Flip in place (fast), check, restore.
                var flipped = bytes[i] ^ (UInt8(1) << bit), original = bytes[i]
                #expect(pwrite(fd, &flipped, 1, off_t(i)) == 1)
                if modelFileMessage({ try ModelFile.read(path: bad) }) == nil { failures.append((i, bit)) }
                // The header reader must catch flips in what it reads (before the ids payload) and never crash.
                let header = modelFileMessage { try ModelFile.readHeader(path: bad) }
                if i < s.ids && header == nil { failures.append((i, -bit - 1)) }
                #expect(pwrite(fd, &original, 1, off_t(i)) == 1)
            }
            #expect(failures.isEmpty, "undetected flips (offset, bit): \(failures.prefix(20))")
        }
    }

    @Test("wrong magic, text-mode line-ending conversions, empty and foreign files")
    func badMagic() throws {
        let dir = Disk.tempDir()
        defer { Disk.remove(dir) }
        let path = dir + "/m.aerec", bad = dir + "/bad"
        try ModelFile.write(try sampleState(), to: path)
        let bytes = Disk.read(path)

        Disk.write(bad, [])
        #expect(modelFileMessage { try ModelFile.read(path: bad) } != nil)
        Disk.write(bad, Array("user,item,rating\n1,2,5\n".utf8))
        #expect(modelFileMessage { try ModelFile.read(path: bad) }?.contains("not an AERec model file") == true)
        Disk.write(bad, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 100))
        #expect(modelFileMessage { try ModelFile.readHeader(path: bad) }?.contains("not an AERec model file") == true)

        // dos2unix: CR LF -> LF
        var unix: [UInt8] = []
        for (i, c) in bytes.enumerated() where !(c == 0x0D && i + 1 < bytes.count && bytes[i + 1] == 0x0A) { unix.append(c) }
        Disk.write(bad, unix)
        #expect(modelFileMessage { try ModelFile.read(path: bad) }?.contains("line endings") == true)
        // unix2dos: lone LF -> CR LF
        var dos: [UInt8] = []
        for (i, c) in bytes.enumerated() {
            if c == 0x0A && (i == 0 || bytes[i - 1] != 0x0D) { dos.append(0x0D) }
            dos.append(c)
        }
        Disk.write(bad, dos)
        #expect(modelFileMessage { try ModelFile.read(path: bad) }?.contains("line endings") == true)
    }

    @Test("a future format version is named in the error")
    func futureVersion() throws {
        let dir = Disk.tempDir()
        defer { Disk.remove(dir) }
        let path = dir + "/m.aerec"
        try ModelFile.write(try sampleState(), to: path)
        var b = Disk.read(path)
        put32(&b, 12, 3)
        reseal(&b)
        Disk.write(path, b)
        let m = modelFileMessage { try ModelFile.read(path: path) }
        #expect(m?.contains("written by format version 3, this AERec reads 1") == true, "\(m ?? "no error")")
        #expect(modelFileMessage { try ModelFile.readHeader(path: path) }?.contains("format version 3") == true)
        // Without resealing, a flipped version is plain corruption.
        put32(&b, 12, 2)
        Disk.write(path, b)
        #expect(modelFileMessage { try ModelFile.read(path: path) }?.contains("CRC") == true)
    }

    @Test("huge declared lengths and counts fail fast, without allocating")
    func hugeLengths() throws {
        let dir = Disk.tempDir()
        defer { Disk.remove(dir) }
        let path = dir + "/m.aerec", bad = dir + "/bad"
        let state = try sampleState()
        try ModelFile.write(state, to: path)
        let bytes = Disk.read(path)
        let s = sections(bytes)
        // HEAD payload: kind string, activation flag + string, configuration string.
        let kindLen = state.kind.rawValue.utf8.count, actLen = state.latentActivationName!.utf8.count
        let configAt = s.head + 4 + kindLen + 1 + 4 + actLen
        let itemCountAt = configAt + 4 + state.configuration.utf8.count
        // TDIR: first tensor's dims follow its name, dtype and rank.
        let dimsAt = s.dir + 8 + 4 + "encoder.weight".utf8.count + 2

        let edits: [(String, (inout [UInt8]) -> Void, Bool, String)] = [
            ("header section length", { put64(&$0, 36, 1 << 62) }, false, "runs past the end"),
            ("ids section length", { put64(&$0, s.ids - 8, UInt64.max) }, false, "ids section length"),
            ("header's ids section length", { put64(&$0, itemCountAt + 17, 1 << 62) }, true, "ids section length"),
            ("tensor directory length", { put64(&$0, s.dir - 8, 1 << 40) }, false, "runs past the end"),
            ("configuration string length", { put32(&$0, configAt, .max) }, true, "configuration"),
            ("header item count", { put64(&$0, itemCountAt, UInt64(Int32.max)) }, true, "cannot fit"),
            ("header item count above Int32", { put64(&$0, itemCountAt, 1 << 40) }, true, "item count"),
            ("ids item count", { put64(&$0, s.ids, 1 << 40) }, true, "item id count"),
            ("tensor count", { put64(&$0, s.dir, 1 << 50) }, true, "tensor count"),
            ("tensor dims", { put64(&$0, dimsAt, 1 << 31); put64(&$0, dimsAt + 8, 1 << 31) }, true, "encoder.weight"),
            ("tensor dims within the file size", { put64(&$0, dimsAt, 30); put64(&$0, dimsAt + 8, 30) }, true, "does not match"),
            ("tensor dims overflow", { put64(&$0, dimsAt, 1 << 40); put64(&$0, dimsAt + 8, 1 << 40) }, true, "encoder.weight"),
            ("tensor byte length", { put64(&$0, dimsAt + 24, 1 << 60) }, true, "encoder.weight"),
            ("first id length", { put32(&$0, s.ids + 8, .max) }, true, "item id 0"),
        ]
        let clock = ContinuousClock()
        for (what, edit, resealed, expected) in edits {
            var b = bytes
            edit(&b)
            if resealed { reseal(&b) }
            Disk.write(bad, b)
            var message: String?
            let elapsed = clock.measure { message = modelFileMessage { try ModelFile.read(path: bad) } }
            #expect(message?.contains(expected) == true, "\(what): \(message ?? "no error")")
            #expect(elapsed < .seconds(1), "\(what) took \(elapsed)")
        }
    }

    @Test("structural damage with valid CRCs is still caught: trailing bytes, padding, duplicates")
    func structural() throws {
        let dir = Disk.tempDir()
        defer { Disk.remove(dir) }
        let path = dir + "/m.aerec", bad = dir + "/bad"
        try ModelFile.write(try sampleState(), to: path)
        let bytes = Disk.read(path)
        let s = sections(bytes)

        Disk.write(bad, bytes + [0])
        #expect(modelFileMessage { try ModelFile.read(path: bad) }?.contains("trailing") == true)
        var b = bytes
        put64(&b, 16, UInt64(b.count + 1))
        b += [0]
        reseal(&b)
        Disk.write(bad, b)
        #expect(modelFileMessage { try ModelFile.read(path: bad) } != nil)

        // Non-zero padding between the ids section and the first tensor.
        b = bytes
        b[s.data - 1] = 7
        reseal(&b)
        Disk.write(bad, b)
        #expect(modelFileMessage { try ModelFile.read(path: bad) }?.contains("padding") == true)

        // A wrong kind name and an unknown activation, resealed.
        b = bytes
        b[s.head + 4] = UInt8(ascii: "x")
        reseal(&b)
        Disk.write(bad, b)
        #expect(modelFileMessage { try ModelFile.read(path: bad) }?.contains("unknown model kind 'xdae'") == true)
        #expect(modelFileMessage { try ModelFile.readHeader(path: bad) }?.contains("unknown model kind") == true)
        b = bytes
        let actAt = s.head + 4 + 4 + 1 + 4  // after "cdae" and the flag: "sigmoid:0.5"
        #expect(Array(b[actAt..<actAt + 7]) == Array("sigmoid".utf8))
        b[actAt] = UInt8(ascii: "x")
        reseal(&b)
        Disk.write(bad, b)
        #expect(modelFileMessage { try ModelFile.read(path: bad) }?.contains("unknown latent activation") == true)

        // A tensor moved off its canonical offset.
        b = bytes
        let offsetAt = s.dir + 8 + 4 + "encoder.weight".utf8.count + 2 + 16
        #expect(le64(b, offsetAt) == s.data)
        put64(&b, offsetAt, UInt64(s.data + 64))
        reseal(&b)
        Disk.write(bad, b)
        #expect(modelFileMessage { try ModelFile.read(path: bad) }?.contains("expected \(s.data)") == true)
    }

    @Test("duplicate ids in a file are rejected")
    func duplicateIDs() throws {
        let dir = Disk.tempDir()
        defer { Disk.remove(dir) }
        let path = dir + "/m.aerec"
        let state = ModelState(kind: .pop, itemIDs: try IDMap(ids: ["ab", "ac"]))
        try ModelFile.write(state, to: path)
        var b = Disk.read(path)
        let s = sections(b)
        // ids payload: u64 count, then u32 len + "ab", u32 len + "ac"
        #expect(Array(b[s.ids + 8 + 4 + 6..<s.ids + 8 + 4 + 8]) == Array("ac".utf8))
        b[s.ids + 8 + 4 + 7] = UInt8(ascii: "b")
        reseal(&b)
        Disk.write(path, b)
        let m = modelFileMessage { try ModelFile.read(path: path) }
        #expect(m?.contains("duplicate") == true, "\(m ?? "no error")")
    }

    @Test("kind mismatch, missing and non-regular files")
    func openErrors() throws {
        let dir = Disk.tempDir()
        defer { Disk.remove(dir) }
        let path = dir + "/m.aerec"
        try ModelFile.write(try sampleState(), to: path)
        let m = modelFileMessage { try ModelFile.read(path: path, expecting: .ease) }
        #expect(m?.contains("cdae") == true && m?.contains("ease") == true)
        #expect(throws: AERecError.self) { try ModelFile.read(path: dir + "/missing") }
        do {
            _ = try ModelFile.read(path: dir)
            Issue.record("reading a directory succeeded")
        } catch AERecError.io(let p, let message) {
            #expect(p == dir && message.contains("directory"))
        }
        do {
            _ = try ModelFile.read(path: dir + "/missing")
        } catch AERecError.io(_, let message) {
            #expect(message.contains("No such file"))
        }
        // A FIFO is refused without blocking on open.
        #expect(mkfifo(dir + "/fifo", 0o644) == 0)
        #expect(throws: AERecError.self) { try ModelFile.readHeader(path: dir + "/fifo") }
    }

    @Test("writing into a missing directory is an io error and leaves no temporary files")
    func missingDirectory() throws {
        let dir = Disk.tempDir()
        defer { Disk.remove(dir) }
        do {
            try ModelFile.write(try sampleState(), to: dir + "/missing/model.aerec")
            Issue.record("write into a missing directory succeeded")
        } catch AERecError.io(let p, _) {
            #expect(p == dir + "/missing/model.aerec")
        }
        #expect(Disk.list(dir).isEmpty)
        #expect(throws: AERecError.self) { try ModelFile.write(try sampleState(), to: dir + "/") }
        #expect(Disk.list(dir).isEmpty)
    }

    @Test("a rename onto a directory fails cleanly: the directory and its contents stay")
    func renameOntoDirectory() throws {
        let dir = Disk.tempDir()
        defer { Disk.remove(dir) }
        let target = dir + "/model.aerec"
        #expect(mkdir(target, 0o755) == 0)
        Disk.write(target + "/keep", [1, 2, 3])
        #expect(throws: AERecError.self) { try ModelFile.write(try sampleState(), to: target) }
        #expect(Disk.isDirectory(target) && Disk.read(target + "/keep") == [1, 2, 3])
        #expect(Disk.list(dir) == ["model.aerec"])
    }

    @Test("a failure at any step of a write leaves the existing file byte-identical and no temporaries")
    func failedWriteKeepsOldFile() throws {
        let dir = Disk.tempDir()
        defer { Disk.remove(dir) }
        let path = dir + "/model.aerec"
        let old = try sampleState(users: false)
        try ModelFile.write(old, to: path)
        #expect(chmod(path, 0o600) == 0)
        let before = Disk.read(path)
        let new = try sampleState(users: true, big: true)
        struct Injected: Error {}
        var steps: [ModelFile.WriteStep] = [.openedTemporary, .wroteSections, .wroteTrailer, .synced, .closed]
        steps += new.tensors.indices.map { .wroteTensor($0) }
        for step in steps {
            #expect(throws: Injected.self) {
                try ModelFile.write(new, to: path) { if $0 == step { throw Injected() } }
            }
            #expect(Disk.read(path) == before, "\(step)")
            #expect(Disk.list(dir) == ["model.aerec"], "\(step)")
        }
        // An invalid state fails before touching the disk.
        var invalid = new
        invalid.latentActivationName = "sigmoidd"
        #expect(throws: AERecError.self) { try ModelFile.write(invalid, to: path) }
        #expect(Disk.read(path) == before)

        // The same write without a failure replaces the file and keeps its permissions.
        try ModelFile.write(new, to: path)
        #expect(try ModelFile.read(path: path) == new)
        #expect(Disk.read(path) != before)
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(Disk.list(dir) == ["model.aerec"])
    }
}

@Suite("ModelState: tensors, lookups, configuration")
struct ModelStateTests {
    @Test("tensor validation")
    func tensorValidation() throws {
        #expect(throws: AERecError.self) { try ModelState.Tensor(name: "w", shape: [2, 3], data: [1, 2, 3, 4, 5]) }
        #expect(throws: AERecError.self) { try ModelState.Tensor(name: "w", shape: [-1, -3], data: [1, 2, 3]) }
        #expect(throws: AERecError.self) { try ModelState.Tensor(name: "", shape: [1], data: [1]) }
        #expect(throws: AERecError.self) { try ModelState.Tensor(name: "w", shape: Array(repeating: 1, count: 9), data: [1]) }
        #expect(throws: AERecError.self) { try ModelState.Tensor(name: "w", shape: [Int.max, 4], data: []) }
        #expect(throws: AERecError.self) {
            try ModelState.Tensor(name: String(repeating: "n", count: 1025), shape: [1], data: [1])
        }
        #expect(try ModelState.Tensor(name: "w", shape: [2, 0, 3], data: []).count == 0)
        #expect(try ModelState.Tensor(name: "s", shape: [], data: [3]).count == 1)
        #expect(ModelState.Tensor.elementCount(of: [Int.max, 2]) == nil)
        // Bitwise equality.
        let a = try ModelState.Tensor(name: "n", shape: [1], data: [.nan])
        #expect(a == a)
        #expect(try ModelState.Tensor(name: "z", shape: [1], data: [0]) != ModelState.Tensor(name: "z", shape: [1], data: [-0.0]))
    }

    @Test("lookups name the missing tensor and the wrong shape")
    func lookups() throws {
        var state = try sampleState()
        state.source = "/models/x.aerec"
        do {
            _ = try state.tensor(named: "decoder.weight")
            Issue.record("missing tensor found")
        } catch AERecError.modelFile(let p, let m) {
            #expect(p == "/models/x.aerec")
            #expect(m.contains("missing tensor 'decoder.weight'") && m.contains("'encoder.bias'"))
        }
        do {
            _ = try state.tensorData(named: "encoder.weight", shape: [64, 10])
            Issue.record("wrong shape accepted")
        } catch AERecError.modelFile(_, let m) {
            #expect(m.contains("'encoder.weight'") && m.contains("[10, 64]") && m.contains("expected [64, 10]"))
        }
        #expect(try state.tensor(named: "encoder.bias", shape: [64]).count == 64)
        #expect(state.tensorIfPresent(named: "nope") == nil)
        #expect(throws: AERecError.self) { try state.appendTensor(name: "scalar", shape: [], data: [1]) }
        state.tensors.append(state.tensors[0])
        #expect(throws: AERecError.self) { try state.validate() }
        #expect(throws: AERecError.self) { try ModelFile.write(state, to: "/tmp/never-written.aerec") }
        try state.requireKind(.cdae)
        #expect(throws: AERecError.self) { try state.requireKind(.ease) }
    }

    @Test("configuration: sorted keys, decoding errors name the key")
    func configuration() throws {
        let json = try ModelState.encodeConfiguration(Config(zeta: 3, alpha: [1], dropout: 0.25, name: "x"))
        #expect(json == #"{"alpha":[1],"dropout":0.25,"name":"x","zeta":3}"#)
        var state = ModelState(kind: .ease, itemIDs: IDMap())
        state.configuration = #"{"alpha":[1],"dropout":0.25,"name":"x"}"#
        do {
            _ = try state.decodeConfiguration(Config.self)
            Issue.record("decoded without 'zeta'")
        } catch AERecError.modelFile(_, let m) {
            #expect(m.contains("zeta"), "\(m)")
        }
        state.configuration = "not json"
        #expect(throws: AERecError.self) { try state.decodeConfiguration(Config.self) }
        #expect(try state.latentActivation() == nil)
        #expect(throws: AERecError.self) { try state.requireLatentActivation() }
        state.latentActivationName = "bogus"
        #expect(throws: AERecError.self) { try state.latentActivation() }
    }
}
