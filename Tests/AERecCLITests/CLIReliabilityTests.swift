import Foundation
import Testing

/// Reliability of `aerec train` and friends (issue 8): configurations the machine cannot hold,
/// codes as wide as the input, ids that look like numbers, unknown ids in a test file, users the
/// filters leave without interactions, and a training run killed with SIGKILL that `--resume`
/// continues to the model an uninterrupted run gives, byte for byte.
@Suite("aerec CLI reliability", .serialized)
struct CLIReliabilityTests {
    let dir: String
    let data: String

    init() throws {
        dir = try CLI.tempDirectory("reliability")
        data = try CLI.smallDataset(in: dir)
    }

    /// `users` users × `itemsPerUser` items each, every item distinct: users × itemsPerUser items.
    func wideDataset(users: Int, itemsPerUser: Int) throws -> String {
        var text = "user\titem\tvalue\n"
        text.reserveCapacity(users * itemsPerUser * 16)
        for u in 0..<users {
            for j in 0..<itemsPerUser { text += "u\(u)\ti\(u * itemsPerUser + j)\t1\n" }
        }
        return try CLI.write(text, to: dir, name: "wide-\(users)x\(itemsPerUser).tsv")
    }

    @Test("a code at least as wide as the input is a usage error (2) naming both widths")
    func latentWidth() throws {
        let base = ["train", "--data", data, "--epochs", "1", "--heldout-users", "10"]
        expectFailure(try CLI.run(base + ["--model", "mult-dae", "--latent", "40"]), status: 2,
                      contains: ["mult-dae", "latent width 40", "smaller than the 40 items", "P1"])
        expectFailure(try CLI.run(base + ["--model", "mult-vae", "--latent", "64"]), status: 2,
                      contains: ["mult-vae", "latent width 64", "40 items"])
        expectFailure(try CLI.run(base + ["--model", "cdae", "--hidden", "200"]), status: 2, contains: ["cdae", "200", "40 items"])
        expectFailure(try CLI.run(base + ["--model", "autorec-u", "--hidden", "41", "--split", "explicit"]), status: 2,
                      contains: ["autorec-u", "41"])
    }

    @Test("a configuration whose memory estimate exceeds the machine's is refused before allocating (exit 2)")
    func memory() throws {
        // 200,000 items (160,000 in training): EASE's item × item matrix alone is 95 GiB (the
        // library's tests refuse a million items; here the CLI's path and exit status are checked)
        let wide = try wideDataset(users: 100, itemsPerUser: 2_000)
        let t0 = Date()
        let ease = try CLI.run(["train", "--data", wide, "--model", "ease", "--quiet"], timeout: 300)
        expectFailure(ease, status: 2, contains: ["EASE's 160000 × 160000 weight matrix needs about", "GiB", "is available"])
        // Mult-VAE with a huge catalogue and a wide hidden layer: the estimate names the shape
        let vae = try CLI.run(["train", "--data", wide, "--model", "mult-vae", "--hidden", "20000", "--quiet"], timeout: 300)
        expectFailure(vae, status: 2, contains: ["mult-vae with 160000 items, hidden width 20000", "training with batch",
                                                 "needs about"])
        #expect(Date().timeIntervalSince(t0) < 120, "refusing took \(Date().timeIntervalSince(t0)) s")
        // a cap from the environment (shared machines, tests)
        let capped = try CLI.run(["train", "--data", data, "--model", "mult-dae", "--latent", "8", "--epochs", "1",
                                  "--heldout-users", "10"], environment: ["AEREC_MEMORY_LIMIT": "4K"])
        expectFailure(capped, status: 2, contains: ["mult-dae with 40 items", "only 4.0 KiB is available"])
    }

    @Test("ids are text: '-5', '5', '007' and a 40-digit id are four users; --user=-5 selects one")
    func idsAreText() throws {
        let forty = String(repeating: "9", count: 40)
        var text = "user\titem\tvalue\n"
        for (u, id) in ["-5", "5", "007", forty].enumerated() {
            for i in 0..<6 { text += "\(id)\t\((u * 3 + i) % 10)\t1\n" }
        }
        for u in 0..<12 { for i in 0..<5 { text += "x\(u)\t\((u + i) % 10)\t1\n" } }
        let path = try CLI.write(text, to: dir, name: "ids.tsv")
        let out = dir + "/ids"
        let t = try CLI.run(["train", "--data", path, "--model", "pop", "--heldout-users", "2", "--out", out, "--json",
                             "--quiet"])
        #expect(t.status == 0, "\(t.stderr)")
        let users = (try t.json()["data"] as? [String: Any])?["users"] as? Int
        #expect(users == 16)
        for id in ["-5", forty, "007"] {
            let r = try CLI.run(["recommend", out + "/model.aerec", "--user=\(id)", "-k", "3", "--json", "--quiet"])
            #expect(r.status == 0, "\(id): \(r.stderr)")
            let lists = try r.json()["users"] as? [[String: Any]]
            #expect(lists?.first?["user"] as? String == id)
        }
        // "7" is not "007"
        expectFailure(try CLI.run(["recommend", out + "/model.aerec", "--user", "7"]), status: 3, contains: ["user '7'"])
    }

    @Test("a test file with unknown users or items names the file and the first line of each (exit 3)")
    func unknownTestIDs() throws {
        let test = try CLI.write("user\titem\trating\ttimestamp\nu1\ti1\t4\t1\nghost\ti1\t4\t1\nu2\tnot-an-item\t3\t1\n",
                                 to: dir, name: "test.tsv")
        expectFailure(try CLI.run(["train", "--data", data, "--split", "given", "--test", test, "--model", "pop"]),
                      status: 3, contains: [test, "user 'ghost' at line 3", "item 'not-an-item' at line 4"])
    }

    @Test("a user the filters leave without interactions is named (exit 3); k ≤ 0 and @0 cut-offs are usage errors")
    func filteredUserAndK() throws {
        // "low" rated everything 1 or 2: a threshold of 3 leaves them nothing, the others keep their 4s and 5s
        var text = "user\titem\tvalue\n"
        for u in 0..<12 { for i in 0..<6 { text += "u\(u)\ti\((u + i) % 10)\t\(4 + (u + i) % 2)\n" } }
        for i in 0..<5 { text += "low\ti\(i)\t\(1 + i % 2)\n" }
        let path = try CLI.write(text, to: dir, name: "low.tsv")
        let out = dir + "/pop"
        let t = try CLI.run(["train", "--data", path, "--model", "pop", "--heldout-users", "2", "--out", out, "--quiet"])
        #expect(t.status == 0, "\(t.stderr)")
        expectFailure(try CLI.run(["recommend", out + "/model.aerec", "--user", "low", "--threshold", "3"]), status: 3,
                      contains: ["user 'low'", "no interactions left", "after the filters"])
        let ok = try CLI.run(["recommend", out + "/model.aerec", "--user", "u1", "--threshold", "3", "--quiet"])
        #expect(ok.status == 0, "\(ok.stderr)")
        expectFailure(try CLI.run(["recommend", out + "/model.aerec", "--user", "u1", "-k", "-3"]), status: 2, contains: ["-k"])
        expectFailure(try CLI.run(["train", "--data", data, "--model", "pop", "--metrics", "ndcg@0"]), status: 2,
                      contains: ["ndcg@0", "positive integer"])
    }

    @Test("SIGKILL after a checkpoint, then --resume: the model file equals the uninterrupted run's, byte for byte")
    func killAndResume() throws {
        let common = ["train", "--data", "builtin", "--model", "mult-vae", "--epochs", "14", "--patience", "100",
                      "--seed", "11", "--threads", "2", "--checkpoint-every", "3"]
        let full = dir + "/full", killed = dir + "/killed"
        let a = try CLI.run(common + ["--out", full, "--json"], timeout: 600)
        #expect(a.status == 0, "\(a.stderr)")
        #expect(a.stderr.contains("checkpoint after epoch 3 written to \(full)/checkpoint.aerec"))
        // the completed run removed its checkpoint and left no temporaries
        #expect(try FileManager.default.contentsOfDirectory(atPath: full).sorted()
                == ["config.json", "epochs.csv", "model.aerec", "result.json", "training_curve.svg"])

        let k = try CLI.run(common + ["--out", killed], timeout: 600, killAfter: "checkpoint after epoch 6 written")
        #expect(k.status != 0)
        #expect(!FileManager.default.fileExists(atPath: killed + "/model.aerec"))
        #expect(FileManager.default.fileExists(atPath: killed + "/checkpoint.aerec"))
        // `aerec info` reads a checkpoint like any model file
        let info = try CLI.run(["info", killed + "/checkpoint.aerec", "--json", "--quiet"])
        #expect(info.status == 0, "\(info.stderr)")

        let r = try CLI.run(["train", "--resume", killed, "--json"], timeout: 600)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("resuming after epoch"))
        let j = try r.json()
        #expect((j["resumed_after_epoch"] as? Int).map { $0 >= 6 && $0 < 14 } == true)
        #expect(j["epochs_run"] as? Int == 14)
        let fullModel = FileManager.default.contents(atPath: full + "/model.aerec")
        let resumedModel = FileManager.default.contents(atPath: killed + "/model.aerec")
        #expect(fullModel != nil && fullModel == resumedModel, "the resumed model differs from the uninterrupted one")
        let ja = try a.json()
        #expect((ja["metrics"] as? [String: Double]) == (j["metrics"] as? [String: Double]))
        // epochs.csv has every epoch, the losses of both runs agree
        func losses(_ d: String) -> [String] {
            CLI.readText(d + "/epochs.csv").split(separator: "\n").dropFirst().map { String($0.split(separator: ",")[1]) }
        }
        #expect(losses(full).count == 14 && losses(full) == losses(killed))
        #expect(!FileManager.default.fileExists(atPath: killed + "/checkpoint.aerec"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: killed).allSatisfy { !$0.hasPrefix(".") })
    }

    @Test("resume and checkpoint usage errors")
    func resumeErrors() throws {
        expectFailure(try CLI.run(["train", "--resume", dir + "/nowhere"]), status: 3,
                      contains: ["checkpoint.aerec", "no checkpoint to resume from"])
        expectFailure(try CLI.run(["train", "--data", data, "--checkpoint-every", "2"]), status: 2, contains: ["--out"])
        expectFailure(try CLI.run(["train", "--data", data, "--checkpoint-every", "0", "--out", dir + "/x"]), status: 2,
                      contains: ["--checkpoint-every"])
        expectFailure(try CLI.run(["train", "--data", data, "--model", "ease", "--checkpoint-every", "1", "--out", dir + "/e"]),
                      status: 2, contains: ["ease", "no checkpoints"])
        let out = dir + "/stopped"
        let k = try CLI.run(["train", "--data", data, "--model", "mult-dae", "--latent", "8", "--epochs", "1000000",
                             "--patience", "1000000",
                             "--heldout-users", "10", "--checkpoint-every", "1", "--out", out],
                            killAfter: "checkpoint after epoch 2 written")
        #expect(k.status != 0)
        expectFailure(try CLI.run(["train", "--resume", out, "--latent", "9"]), status: 2, contains: ["--resume", "configuration"])
        expectFailure(try CLI.run(["train", "--resume", out, "--out", dir + "/elsewhere"]), status: 2, contains: ["--out"])
        // a damaged checkpoint is a model-file error naming it
        var bytes = [UInt8](FileManager.default.contents(atPath: out + "/checkpoint.aerec")!)
        bytes[bytes.count - 64] ^= 1
        FileManager.default.createFile(atPath: out + "/checkpoint.aerec", contents: Data(bytes))
        expectFailure(try CLI.run(["train", "--resume", out]), status: 3, contains: ["checkpoint.aerec", "CRC"])
    }
}
