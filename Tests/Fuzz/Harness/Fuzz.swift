// libFuzzer harness for AERec's data readers and model-file loader (issue 8).
//
// Built by `make fuzz` / `make fuzz-smoke` (product AERecFuzz) with
//     swift build -c release --product AERecFuzz --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address \
//         -Xcc -fsanitize=address --disable-dead-strip -Xswiftc -DAEREC_FUZZING ...
// (see FUZZ_FLAGS in the Makefile for why not SwiftPM's --sanitize; --disable-dead-strip keeps the
// coverage counters the linker would otherwise drop). The target
// is chosen by AEREC_FUZZ_TARGET:
//   reader     the first input byte picks a format (auto-detected, tsv, MovieLens u.data / .dat /
//              .csv, three delimited layouts) and a file name (auto-detection reads it); the rest
//              is the file's content (gzip is detected from its bytes). A file that reads is turned
//              into a matrix, then filtered (bit 6 of the first byte: a threshold and minimum counts
//              of 1, or minimum counts of 2 as a k-core) and turned into a matrix again.
//   modelfile  the first input byte's low bit says whether to recompute every CRC of the rest
//              before loading (so that mutations reach the structural checks behind the CRCs); the
//              rest is a model file. A file that reads is restored as its model, scored, and parsed
//              as a training checkpoint.
// Errors are expected; a crash, a sanitizer report, a leak or a timeout is a bug.
//
// In an ordinary build (without AEREC_FUZZING) this is a replay tool: `aerec-fuzz TARGET FILE...`
// runs each file once through the target and prints the outcome.

import AERec
import AERecKernels

#if canImport(Glibc)
import Glibc
#endif

enum FuzzTarget: String {
    case reader, modelfile
}

/// A per-process scratch file on tmpfs (the readers take paths).
nonisolated(unsafe) var scratchPath = ""
nonisolated(unsafe) var target: FuzzTarget = .reader

func prepare(_ name: String?) {
    let t = name ?? (getenv("AEREC_FUZZ_TARGET").map { String(cString: $0) } ?? "reader")
    guard let chosen = FuzzTarget(rawValue: t) else {
        printError("aerec-fuzz: unknown target '\(t)' (reader, modelfile)")
        exit(2)
    }
    target = chosen
    let dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    scratchPath = "\(dir)/aerec-fuzz-\(getpid())"
    mkdir(scratchPath, 0o700)
    atexit { removeScratch() }
}

/// Removes the scratch folder and the files the targets wrote into it (at exit; a run that dies on
/// a signal leaves it, and `Tests/Fuzz/run.sh` removes those of processes that no longer exist).
func removeScratch() {
    for name in names + ["model.aerec"] { unlink(scratchPath + "/" + name) }
    rmdir(scratchPath)
}

func printError(_ s: String) {
    let line = Array((s + "\n").utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func writeScratch(_ name: String, _ bytes: UnsafeBufferPointer<UInt8>) -> String {
    let path = scratchPath + "/" + name
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(fd >= 0, "cannot create \(path)")
    var done = 0
    while done < bytes.count {
        let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
        precondition(n > 0, "cannot write \(path)")
        done += n
    }
    close(fd)
    return path
}

// MARK: - reader

let names = ["ratings.tsv", "u.data", "ratings.dat", "ratings.csv", "data.txt", "x.tsv.gz", "r.csv", "log"]

func format(_ selector: UInt8) -> DataFormat {
    switch selector % 8 {
    case 0: return .auto
    case 1: return .tsv
    case 2: return .movieLensUData
    case 3: return .movieLensDat
    case 4: return .movieLensCSV
    case 5: return .delimited(DelimitedFormat(separator: ",", hasHeader: true, user: .name("user"), item: .name("item"),
                                              value: .name("rating"), timestamp: nil))
    case 6: return .delimited(DelimitedFormat(separator: ";", hasHeader: false, user: .index(1), item: .index(0),
                                              value: nil, allowsQuotes: true))
    default: return .delimited(DelimitedFormat(separator: "||", hasHeader: true, value: .index(2), timestamp: .index(3),
                                               allowsQuotes: false))
    }
}

func fuzzReader(_ input: UnsafeBufferPointer<UInt8>) -> String {
    guard let selector = input.first else { return "empty input" }
    let path = writeScratch(names[Int(selector >> 3) % names.count], UnsafeBufferPointer(rebasing: input.dropFirst()))
    do {
        let data = try InteractionReader.read(path: path, format: format(selector))
        let all = try data.matrix()
        var outcome = "read \(data.count) interactions, \(all.rowCount) × \(all.columnCount)"
        let filter = selector & 0x40 == 0
            ? InteractionFilter(threshold: 1.5, minUserInteractions: 1, minItemInteractions: 1, binarize: true)
            : InteractionFilter(minUserInteractions: 2, minItemInteractions: 2, kCore: true)
        do {
            let m = try filter.apply(to: data).matrix()
            outcome += ", filtered to \(m.rowCount) × \(m.columnCount) with \(m.nnz)"
        } catch AERecError.data(let message) {
            outcome += ", filtered to nothing (\(message))"
        }
        return outcome
    } catch {
        return "error: \(error)"
    }
}

// MARK: - model files

func le32(_ b: UnsafeMutableBufferPointer<UInt8>, _ at: Int) -> UInt32 {
    var v: UInt32 = 0
    for i in 0..<4 { v |= UInt32(b[at + i]) << (8 * i) }
    return v
}

func le64(_ b: UnsafeMutableBufferPointer<UInt8>, _ at: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in 0..<8 { v |= UInt64(b[at + i]) << (8 * i) }
    return v
}

func put32(_ b: UnsafeMutableBufferPointer<UInt8>, _ at: Int, _ v: UInt32) {
    for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) }
}

func crc(_ b: UnsafeMutableBufferPointer<UInt8>, _ from: Int, _ to: Int) -> UInt32 {
    aek_crc32(0, b.baseAddress! + from, to - from)
}

/// Recomputes what CRCs it can find (preamble, the three sections, every tensor of the directory,
/// the whole file), so that the structural checks behind them get exercised. Best effort: stops at
/// the first length that does not fit.
func reseal(_ b: UnsafeMutableBufferPointer<UInt8>) {
    let n = b.count
    guard n >= 40 else { return }
    put32(b, 28, crc(b, 0, 28))
    var pos = 32
    var sections: [(start: Int, payload: Int, length: Int)] = []
    for _ in 0..<3 {
        guard pos + 12 <= n else { break }
        let length = le64(b, pos + 4)
        guard length <= UInt64(n), pos + 16 + Int(length) <= n else { break }
        sections.append((pos, pos + 12, Int(length)))
        pos += 16 + Int(length)
    }
    // tensor CRCs: walk the directory (name, dtype, rank, dims, offset, byte length, crc)
    if sections.count >= 2, sections[1].length >= 8 {
        let d = sections[1]
        var p = d.payload + 8, count = le64(b, d.payload)
        let end = d.payload + d.length
        while count > 0, p + 4 <= end {
            count -= 1
            let nameLength = Int(le32(b, p))
            p += 4 + nameLength + 1
            guard nameLength <= end, p + 1 <= end else { break }
            let rank = Int(b[p])
            p += 1 + 8 * rank
            guard p + 20 <= end else { break }
            let offset = le64(b, p), length = le64(b, p + 8)
            if offset <= UInt64(n), length <= UInt64(n), Int(offset) + Int(length) <= n {
                put32(b, p + 16, crc(b, Int(offset), Int(offset) + Int(length)))
            }
            p += 20
        }
    }
    for s in sections { put32(b, s.payload + s.length, crc(b, s.start, s.payload + s.length)) }
    put32(b, n - 4, crc(b, 0, n - 4))
}

func fuzzModelFile(_ input: UnsafeBufferPointer<UInt8>) -> String {
    guard let flag = input.first else { return "empty input" }
    var bytes = Array(input.dropFirst())
    if flag & 1 == 1 { bytes.withUnsafeMutableBufferPointer { reseal($0) } }
    let path = bytes.withUnsafeBufferPointer { writeScratch("model.aerec", $0) }
    var outcome = ""
    if let info = try? ModelFile.readHeader(path: path) { outcome += "header \(info.kind.rawValue); " }
    do {
        let state = try ModelFile.read(path: path)
        outcome += "read \(state.kind.rawValue) with \(state.tensors.count) tensors"
        let saved = try SavedModel.load(path: path)
        let items = saved.model.itemCount
        if items > 0 && items <= 4096 {
            let input = try InteractionMatrix(rowCount: 1, columnCount: items, rows: [0], columns: [0], values: nil)
            var scores = [Float](repeating: 0, count: items)
            let trainRows: [Int32] = saved.userIDs == nil ? [-1] : [0]
            try scores.withUnsafeMutableBufferPointer {
                try saved.model.scores(for: input, rows: 0..<1, trainRows: trainRows, into: $0.baseAddress!, ld: items,
                                       threads: 1)
            }
            outcome += ", scored"
        }
        if let checkpoint = try? TrainingCheckpoint(state: state) { outcome += ", checkpoint after \(checkpoint.epoch)" }
    } catch {
        outcome += "error: \(error)"
    }
    return outcome
}

func run(_ input: UnsafeBufferPointer<UInt8>) -> String {
    switch target {
    case .reader: return fuzzReader(input)
    case .modelfile: return fuzzModelFile(input)
    }
}

// MARK: - entry points

#if AEREC_FUZZING
@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>)
    -> Int32 {
    prepare(nil)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    _ = run(UnsafeBufferPointer(start: data, count: size))
    return 0
}
#else
/// Replay: `aerec-fuzz reader|modelfile FILE...` runs each file once and prints the outcome.
@main
struct Replay {
    static func main() {
        let args = CommandLine.arguments
        guard args.count >= 2 else {
            printError("usage: AERecFuzz reader|modelfile FILE...")
            exit(2)
        }
        prepare(args[1])
        for file in args.dropFirst(2) {
            guard let f = fopen(file, "rb") else { print("\(file): cannot open"); continue }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let k = fread(&chunk, 1, chunk.count, f)
                if k == 0 { break }
                bytes += chunk[0..<k]
            }
            fclose(f)
            print("\(file): " + bytes.withUnsafeBufferPointer { run($0) })
        }
    }
}
#endif
