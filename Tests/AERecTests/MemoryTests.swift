import Testing
@testable import AERec

#if canImport(Glibc)
import Glibc
#endif

/// The package root, from this file's path (Tests/AERecTests/MemoryTests.swift).
func packageRoot(_ file: String = #filePath) -> String {
    var parts = file.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}

/// Runs a program and returns its exit status and the peak resident memory (KiB) of the child.
func spawnMeasuringMemory(_ argv: [String], environment: [String: String] = [:]) throws -> (status: Int32, maxRSSKiB: Int) {
    var pid: pid_t = 0
    var cargs = argv.map { strdup($0) } + [nil]
    defer { for p in cargs { free(p) } }
    var envList: [String] = []
    var e = environ
    while let p = e.pointee { envList.append(String(cString: p)); e += 1 }
    for (k, v) in environment { envList.append("\(k)=\(v)") }
    var cenv = envList.map { strdup($0) } + [nil]
    defer { for p in cenv { free(p) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    defer { posix_spawn_file_actions_destroy(&actions) }
    let rc = posix_spawn(&pid, argv[0], &actions, nil, &cargs, &cenv)
    guard rc == 0 else { throw AERecError.io(path: argv[0], message: "cannot spawn (\(rc))") }
    var status: Int32 = 0
    var usage = rusage()
    wait4(pid, &status, 0, &usage)
    return ((status >> 8) & 0xff, usage.ru_maxrss)
}

@Suite("Memory")
struct MemoryTests {
    @Test("training on gowalla never holds a dense users × items matrix")
    func gowallaTrainingMemory() throws {
        let root = packageRoot()
        let data = root + "/../shared/data/gowalla-lightgcn"
        guard access(data + "/ratings.tsv.gz", R_OK) == 0 else {
            Issue.record("SKIPPED: \(data) is missing; the gowalla memory test did not run")
            return
        }
        let binary = root + "/.build/release/aerec"
        guard access(binary, X_OK) == 0 else {
            Issue.record("\(binary) is missing: `make test` builds it before running the tests")
            return
        }
        // 29,858 users × 40,981 items: a dense float32 copy alone would take 4.9 GB.
        let denseBytes = 29_858 * 40_981 * 4
        let (status, rssKiB) = try spawnMeasuringMemory([
            binary, "train", "--data", data + "/ratings.tsv.gz", "--split", "given", "--test", data + "/test.tsv.gz",
            "--model", "mult-dae", "--latent", "64", "--epochs", "1", "--threads", "2", "--quiet",
        ])
        #expect(status == 0)
        let rss = rssKiB * 1024
        // parameters + Adam state (2 × 40,981 × 64 × 4 floats ≈ 84 MB), one 500 × 40,981 batch of
        // logits (82 MB), the data and the evaluation buffers: well under a quarter of the dense matrix.
        #expect(rss < denseBytes / 4, "peak RSS \(rss / (1 << 20)) MiB")
        #expect(rss > 100 << 20)  // it did train (and measured the child)
    }
}
