import Testing
@testable import AERec
#if canImport(Glibc)
import Glibc
#endif

/// Issue 8's bad-input rules that DataTests, SplitTests and ModelFileTests do not already cover:
/// ids are text, malformed lines, NUL bytes, users the filters empty, k ≤ 0, codes as wide as the
/// input, memory estimates checked before allocating, temporaries of killed writers.
@Suite("Reliability: bad input and resource rules")
struct ReliabilityTests {
    let dir = DataFixtures.tempDir()

    func file(_ name: String, _ text: String) -> String {
        let p = dir + "/" + name
        DataFixtures.write(p, text)
        return p
    }

    // MARK: ids

    @Test("ids are text: '-5', '5', '05', '+5', a 40-digit and a 10,000-byte id are distinct ids, kept whole")
    func idsAreText() throws {
        let forty = String(repeating: "1234567890", count: 4)
        let long = String(repeating: "x", count: 10_000)
        let ids = ["-5", "5", "05", "+5", forty, long, "5.0", "1e3"]
        let p = file("ids.tsv", "user\titem\tvalue\n" + ids.enumerated().map { "\($1)\titem\($0)\t1" }.joined(separator: "\n"))
        let d = try InteractionReader.read(path: p)
        #expect(d.userIDs.ids == ids)
        #expect(d.userIDs.index(of: "5") != d.userIDs.index(of: "-5"))
        // through a model file and back
        let model = try Popularity(itemCount: d.itemIDs.count)
        let m = try d.matrix()
        try model.fit(m)
        model.userIDs = d.userIDs
        model.itemIDs = d.itemIDs
        try model.save(to: dir + "/pop.aerec")
        #expect(try ModelFile.read(path: dir + "/pop.aerec").userIDs?.ids == ids)
    }

    @Test("NUL bytes in an id are parse errors naming file, line and field")
    func nulInIDs() {
        let p = dir + "/nul.tsv"
        DataFixtures.write(p, Array("user\titem\tvalue\nu1\ti1\t1\n".utf8) + [0x75, 0x00, 0x32, 0x09, 0x69, 0x09, 0x31, 0x0A])
        let e = parseError { try InteractionReader.read(path: p) }
        #expect(e?.path == p && e?.line == 3 && e?.field == "user")
        #expect(e?.message == "expected an id without NUL bytes, found one at byte 2 of the field")
        let p2 = dir + "/nul2.csv"
        DataFixtures.write(p2, Array("a,b\n1,".utf8) + [0x00] + Array("\n".utf8))
        let e2 = parseError { try InteractionReader.read(path: p2, format: .delimited(DelimitedFormat(value: nil))) }
        #expect(e2?.line == 2 && e2?.field == "item")
    }

    // MARK: malformed lines

    @Test("malformed lines: spaces only, a trailing separator, a stray quote, a lone CR, a missing item", arguments: [
        ("user\titem\tvalue\n1\t2\t3\n   \n", 3, "item", "found 1 column"),
        ("user\titem\tvalue\n1\t2\t3\n1\t2\t3\t\n", 3, "value", "found 4 columns"),
        ("user\titem\tvalue\n1\t2\t3\n1\r2\t3\n", 3, "value", "found 2 columns"),
        ("userId,movieId,rating,timestamp\n1,2,3,4\n1,\"2,3,4\n", 3, "item", "malformed quoted field"),
        ("1::2::3::4\n1::::3::4\n", 2, "item", "empty field, expected an item id"),
        ("196\t242\t3\t881250949\n196\t242\t3 \t88125x\n", 2, "timestamp", "expected an integer timestamp, found '88125x'"),
    ])
    func malformedLines(text: String, line: Int, field: String, fragment: String) {
        let ext = text.hasPrefix("userId") ? "csv" : text.contains("::") ? "dat" : "tsv"
        let p = file("malformed-\(line)-\(field)-\(text.count).\(ext)", text)
        let e = parseError { try InteractionReader.read(path: p) }
        #expect(e?.path == p && e?.line == line && e?.field == field, "\(String(describing: e))")
        #expect(e?.message.contains(fragment) == true, "\(e?.message ?? "no error")")
    }

    @Test("a gzip file with a corrupt body, trailing garbage, or only a header is an io error naming it")
    func brokenGzip() throws {
        let gz = DataFixtures.writeGzip(dir + "/g.tsv", "user\titem\tvalue\n1\t2\t3\n4\t5\t6\n")
        var bytes = DataFixtures.readBytes(gz)
        let good = bytes
        bytes[12] ^= 0xFF
        DataFixtures.write(dir + "/corrupt.tsv.gz", bytes)
        DataFixtures.write(dir + "/garbage.tsv.gz", good + Array("garbage".utf8))
        DataFixtures.write(dir + "/header.tsv.gz", Array(good.prefix(10)))
        // two members (as `cat a.gz b.gz` makes) are one file
        DataFixtures.write(dir + "/two.tsv.gz", good + DataFixtures.readBytes(DataFixtures.writeGzip(dir + "/h.tsv", "7\t8\t9\n")))
        #expect(try InteractionReader.read(path: dir + "/two.tsv.gz").count == 3)
        for name in ["corrupt.tsv.gz", "garbage.tsv.gz", "header.tsv.gz"] {
            do {
                _ = try InteractionReader.read(path: dir + "/" + name)
                Issue.record("\(name) was read")
            } catch AERecError.io(let path, let message) {
                #expect(path == dir + "/" + name)
                #expect(message.contains("gzip"), "\(message)")
            }
        }
    }

    // MARK: filtering, unknown users, k

    @Test("a user the filters leave without interactions is dropped and counted; recommending for them names them")
    func filteredAwayUser() throws {
        let data = DataFixtures.interactions([
            ("a", "1", 5, 0), ("a", "2", 4, 0), ("b", "1", 2, 0), ("b", "3", 1, 0), ("c", "2", 5, 0), ("c", "3", 4, 0),
        ])
        let f = try InteractionFilter(threshold: 3).apply(to: data)
        #expect(f.userIDs.ids == ["a", "c"] && f.report.usersDropped == 1)
        let model = try Popularity(itemCount: f.itemIDs.count)
        try model.fit(try f.matrix())
        let saved = SavedModel(path: "-", model: model, itemIDs: f.itemIDs, userIDs: nil, metadata: [:])
        #expect(dataError { try saved.recommend(users: ["b"], history: f, k: 2) }?.contains("user 'b'") == true)
        #expect(throws: AERecError.invalidArgument("k must be ≥ 1, got 0")) { try saved.recommend(users: ["a"], history: f, k: 0) }
        #expect(throws: AERecError.self) { try saved.recommend(users: ["a"], history: f, k: -1) }
        for bad in ["ndcg@0", "recall@-1", "ndcg@", "precision@x"] {
            #expect(throws: AERecError.self, "\(bad)") { try Metric(name: bad) }
        }
        #expect(throws: AERecError.self) { try Evaluator(metrics: [.ndcg(10)], batchSize: 0).evaluate(model, on: HeldOutSet(
            users: [0], trainRows: [-1], foldIn: try f.matrix().rows([0]), target: try f.matrix().rows([0]))) }
    }

    // MARK: latent width

    @Test("every autoencoder refuses a code at least as wide as its input (P1: m < n)")
    func latentWidth() throws {
        func message(_ body: () throws -> Any) -> String? {
            do { _ = try body(); return nil } catch AERecError.invalidArgument(let m) { return m } catch { return "\(error)" }
        }
        #expect(message { try MultDAE(itemCount: 40, configuration: .init(latentDimension: 40)) }
                == "mult-dae: the latent width 40 must be smaller than the 40 items (an autoencoder's code must reduce dimension: P1, m < n)")
        #expect(message { try MultDAE(itemCount: 40, configuration: .init(latentDimension: 39)) } == nil)
        #expect(message { try MultVAE(itemCount: 10, configuration: .init(hiddenDimension: 64, latentDimension: 10)) }?
            .hasPrefix("mult-vae: the latent width 10 must be smaller than the 10 items") == true)
        // Mult-VAE's hidden layer may be wider than the catalogue: only the code counts
        #expect(message { try MultVAE(itemCount: 10, configuration: .init(hiddenDimension: 64, latentDimension: 4)) } == nil)
        #expect(message { try CDAE(itemCount: 8, userCount: 3, configuration: .init(hiddenDimension: 200)) }?
            .hasPrefix("cdae: the hidden (code) width 200 must be smaller than the 8 items") == true)
        #expect(message { try AutoRec(itemCount: 900, userCount: 300) }?
            .hasPrefix("autorec-i: the hidden (code) width 500 must be smaller than the 300 training users") == true)
        #expect(message { try AutoRec(itemCount: 300, userCount: 900, configuration: .init(orientation: .user)) }?
            .hasPrefix("autorec-u: the hidden (code) width 500 must be smaller than the 300 items") == true)
        // the factory checks what does not depend on the data, without building anything
        var c = ExperimentConfiguration(dataPath: "-", model: .multDAE)
        c.latent = 1 << 24
        try ModelFactory.validate(c)
        c.dropout = 1
        #expect(throws: AERecError.self) { try ModelFactory.validate(c) }
    }

    // MARK: memory

    @Test("memory estimates: exact weight counts, training adds Adam state and the batch workspace")
    func estimates() throws {
        let dae = MultDAE.memoryEstimate(itemCount: 1000, configuration: .init(latentDimension: 100))
        #expect(dae.weights == 4 * (2 * 1000 * 100 + 100 + 1000) && dae.optimizer == 0 && dae.workspace == 0)
        let model = try MultDAE(itemCount: 1000, configuration: .init(latentDimension: 100))
        #expect(try model.modelState().parameterCount * 4 == dae.weights)
        let training = MultDAE.memoryEstimate(itemCount: 1000, configuration: .init(latentDimension: 100), batchSize: 50)
        #expect(training.optimizer == 3 * training.weights && training.workspace >= 4 * 50 * 1000)
        // more threads: the backprop product's partial sums (batch × width each) and the bias
        // gradient's float64 column sums (items each) of every thread beyond the first
        let four = MultDAE.memoryEstimate(itemCount: 1000, configuration: .init(latentDimension: 100), batchSize: 50,
                                          threads: 4)
        #expect(four.workspace - training.workspace == 4 * 3 * (50 * 100 + 2 * 1000))
        #expect(model.trainingMemoryEstimate(batchSize: 50, threads: 4) == four)
        let vaeTraining = MultVAE.memoryEstimate(itemCount: 300, configuration: .init(hiddenDimension: 40, latentDimension: 10),
                                                 batchSize: 20, threads: 2)
        #expect(vaeTraining.workspace - MultVAE.memoryEstimate(itemCount: 300, configuration: .init(hiddenDimension: 40,
                latentDimension: 10), batchSize: 20).workspace == 4 * (20 * 40 + 2 * 300))
        let vae = try MultVAE(itemCount: 300, configuration: .init(hiddenDimension: 40, latentDimension: 10))
        #expect(try vae.modelState().parameterCount * 4
                == MultVAE.memoryEstimate(itemCount: 300, configuration: vae.configuration).weights)
        let cdae = try CDAE(itemCount: 300, userCount: 70, configuration: .init(hiddenDimension: 20))
        #expect(try cdae.modelState().parameterCount * 4
                == CDAE.memoryEstimate(itemCount: 300, userCount: 70, configuration: cdae.configuration).weights)
        // huge shapes saturate instead of overflowing
        let huge = EASE.memoryEstimate(itemCount: Int(Int32.max))
        #expect(huge.total > 1 << 60)
        #expect(SystemMemory.parseByteCount("512M") == 512 << 20 && SystemMemory.parseByteCount("2g") == 2 << 30)
        #expect(SystemMemory.parseByteCount("64KiB") == 64 << 10 && SystemMemory.parseByteCount("1000") == 1000)
        #expect(SystemMemory.parseByteCount("lots") == nil && SystemMemory.parseByteCount("-1") == nil)
        #expect((SystemMemory.availableBytes ?? 0) > 1 << 20)
    }

    @Test("configurations the machine cannot hold fail before allocating: EASE on a million items, a wide Mult-VAE, a huge batch")
    func refusedBeforeAllocating() throws {
        let t0 = monotonicSeconds()
        func insufficient(_ body: () throws -> Any) -> String? {
            do { _ = try body(); return nil } catch let e as AERecError {
                if case .insufficientMemory = e { return e.description }
                return "wrong error: \(e)"
            } catch { return "wrong error: \(error)" }
        }
        let ease = insufficient { try EASE(itemCount: 1_000_000) }
        #expect(ease?.hasPrefix("EASE's 1000000 × 1000000 weight matrix needs about 3.6 TiB but only") == true, "\(ease ?? "")")
        let vae = insufficient { try MultVAE(itemCount: 1_000_000, configuration: .init(hiddenDimension: 8000)) }
        #expect(vae?.contains("mult-vae with 1000000 items, hidden width 8000") == true, "\(vae ?? "")")
        // the training estimate catches the catalogue × batch workspace that the weights alone do not show
        var c = ExperimentConfiguration(dataPath: "-", model: .multVAE)
        c.batchSize = 100_000
        #expect(try ModelFactory.memoryEstimate(c, itemCount: 200_000, userCount: 100_000, training: false).total < 1 << 30)
        let batch = insufficient { try ModelFactory.requireMemory(c, itemCount: 200_000, userCount: 100_000) }
        #expect(batch?.contains("training with batch 100000") == true, "\(batch ?? "")")
        // the batch is at most the training rows: 10⁷ on 3 users is a batch of 3
        #expect(try ModelFactory.memoryEstimate(c, itemCount: 200, userCount: 3).what.contains("batch 3"))
        #expect(monotonicSeconds() - t0 < 5, "the refusals allocated something")
    }

    @Test("a batch far larger than the training set trains with workspaces for the rows that exist")
    func hugeBatch() throws {
        let train = try AutoencoderModelTests.matrix(users: 30, items: 20, density: 0.3, seed: 2)
        let a = try MultDAE(itemCount: 20, configuration: .init(latentDimension: 4))
        try a.fit(train, options: TrainingOptions(epochs: 2, batchSize: 1 << 40, threads: 1))
        let b = try MultDAE(itemCount: 20, configuration: .init(latentDimension: 4))
        try b.fit(train, options: TrainingOptions(epochs: 2, batchSize: 30, threads: 1))
        #expect(try a.modelState() == b.modelState())
    }

    // MARK: model files

    @Test("the next save removes temporaries of killed writers, and only theirs")
    func staleTemporaries() throws {
        // a pid that certainly is dead: a child that has exited and been reaped
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { free(argv[0]) }
        #expect(posix_spawn(&pid, "/bin/true", nil, nil, argv, environ) == 0)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let dead = dir + "/.m.aerec.tmp-\(pid)-k3x9q", live = dir + "/.m.aerec.tmp-1-abc", other = dir + "/.n.aerec.tmp-\(pid)-abc"
        let odd = dir + "/.m.aerec.tmp-\(pid)-ABC!"
        for p in [dead, live, other, odd] { DataFixtures.write(p, "half a model") }
        try ModelFile.write(ModelState(kind: .pop, itemIDs: IDMap()), to: dir + "/m.aerec")
        #expect(DataFixtures.listDirectory(dir) == [".m.aerec.tmp-\(pid)-ABC!", ".m.aerec.tmp-1-abc",
                                                    ".n.aerec.tmp-\(pid)-abc", "m.aerec"].sorted())
        _ = (live, other, odd)
    }
}
