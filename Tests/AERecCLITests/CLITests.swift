import Foundation
import Testing

/// End-to-end tests of the `aerec` binary: every subcommand's happy path, the JSON shape of
/// --json (the last stdout line), exit codes, and bad input with its one-line message.
@Suite("aerec CLI", .serialized)
struct CLITests {
    // MARK: - help, doctor

    @Test("every subcommand has --help with examples")
    func help() throws {
        for sub in ["demo", "train", "evaluate", "recommend", "probe", "select-activation", "split", "info", "bench",
                    "doctor"] {
            let r = try CLI.run([sub, "--help"])
            #expect(r.status == 0, "\(sub) --help: \(r.stderr)")
            #expect(r.stdout.contains("Examples:"), "\(sub) --help has no examples")
            #expect(r.stdout.contains("--json") && r.stdout.contains("--quiet"), "\(sub) lacks --json/--quiet")
        }
        let root = try CLI.run(["--help"])
        #expect(root.status == 0 && root.stdout.contains("recommend"))
    }

    @Test("doctor --json reports the BLAS core and SIMD level")
    func doctor() throws {
        let r = try CLI.run(["doctor", "--json"])
        #expect(r.status == 0)
        let j = try r.json()
        #expect(j["blas_core"] is String && j["cpu_simd"] is String && j["blas_threads"] is Int)
        let q = try CLI.run(["doctor", "--quiet"])
        #expect(q.status == 0 && q.stdout.isEmpty)
    }

    // MARK: - train, --out, --config, evaluate, recommend, info

    @Test("train → --out files → evaluate / recommend / info on the saved model; --config replays the run")
    func trainEvaluateRecommendInfo() throws {
        let dir = try CLI.tempDirectory("train")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try CLI.smallDataset(in: dir)
        let out = dir + "/run"
        let r = try CLI.run(["train", "--data", data, "--model", "mult-dae", "--activation", "tanh", "--epochs", "4",
                             "--latent", "16", "--lr", "0.01", "--heldout-users", "10", "--out", out, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try r.json()
        #expect(j["model"] as? String == "mult-dae")
        #expect(j["activation"] as? String == "tanh")
        let metrics = try #require(j["metrics"] as? [String: Double])
        for m in ["ndcg@100", "recall@20", "recall@50", "mrr"] { #expect(metrics[m] != nil, "no \(m)") }
        #expect((j["metrics_ci"] as? [String: [Double]])?["ndcg@100"]?.count == 2)
        #expect(j["epochs_run"] as? Int == 4)
        #expect((j["best_epoch"] as? Int).map { (1...4).contains($0) } == true)
        #expect((j["epoch_seconds"] as? [Double])?.count == 4)
        #expect(j["model_path"] as? String == out + "/model.aerec")
        // non-TTY progress: one plain line per epoch
        #expect(r.stderrLines.filter { $0.contains("epoch") && $0.contains("/4") && $0.contains("loss") }.count == 4)

        // the output directory
        let fm = FileManager.default
        for f in ["config.json", "epochs.csv", "training_curve.svg", "result.json", "model.aerec"] {
            #expect(fm.fileExists(atPath: out + "/" + f), "missing \(f)")
        }
        let csv = try String(contentsOfFile: out + "/epochs.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.first == "epoch,loss,validation_ndcg@100,best,train_seconds,validation_seconds,beta")
        #expect(csv.count == 5)
        let svg = try String(contentsOfFile: out + "/training_curve.svg", encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n") && svg.contains("<polyline"))
        #expect(svg.contains("validation ndcg@100") && svg.contains("training loss"))
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as? [String: Any]
        #expect(config?["model"] as? String == "mult-dae")
        #expect(config?["learningRate"] as? Double == 0.01)
        #expect(config?["latent"] as? Int == 16)
        #expect(config?["heldOutUsers"] as? Int == 10)

        // --config replays the run exactly (same seed, same threads ⇒ the same model and numbers)
        let replay = try CLI.run(["train", "--config", out + "/config.json", "--json", "--quiet"])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(try replay.json()["metrics"] as? [String: Double] == metrics)
        #expect(replay.stdoutLines.count == 1, "--quiet --json prints only the JSON line")
        // ... and flags win over the file
        let over = try CLI.run(["train", "--config", out + "/config.json", "--activation", "sigmoid", "--epochs", "2",
                                "--json", "--quiet"])
        #expect(over.status == 0, "\(over.stderr)")
        #expect(try over.json()["activation"] as? String == "sigmoid")
        #expect(try over.json()["epochs_run"] as? Int == 2)

        // evaluate recreates the test split from config.json beside the model: identical metrics
        let ev = try CLI.run(["evaluate", out + "/model.aerec", "--json"])
        #expect(ev.status == 0, "\(ev.stderr)")
        let evj = try ev.json()
        #expect(evj["metrics"] as? [String: Double] == metrics)
        #expect(evj["users_evaluated"] as? Int == j["users_evaluated"] as? Int)
        #expect(evj["protocol"] as? String == "strong")

        // evaluate with explicit flags and chosen metrics
        let ev2 = try CLI.run(["evaluate", out + "/model.aerec", "--data", data, "--heldout-users", "10",
                               "--metrics", "ndcg@10,recall@5", "--json", "--quiet"])
        #expect(ev2.status == 0, "\(ev2.stderr)")
        #expect(Set((try ev2.json()["metrics"] as? [String: Double])?.keys ?? [:].keys) == ["ndcg@10", "recall@5"])

        // recommend: top-k by external id, the user's items excluded
        let rec = try CLI.run(["recommend", out + "/model.aerec", "--user", "u3", "--users", "u4,u5", "-k", "7", "--json"])
        #expect(rec.status == 0, "\(rec.stderr)")
        let users = try #require(try rec.json()["users"] as? [[String: Any]])
        #expect(users.map { $0["user"] as? String } == ["u3", "u4", "u5"])
        let history = try historyOf("u3", in: data)
        let items = try #require(users[0]["items"] as? [[String: Any]])
        #expect(items.count == 7)
        #expect(items.map { $0["rank"] as? Int } == Array(1...7))
        for item in items {
            let id = try #require(item["item"] as? String)
            #expect(id.hasPrefix("i") && !history.contains(id), "recommended a seen or unknown item \(id)")
        }
        #expect(users[0]["history_items"] as? Int == history.count)
        #expect(rec.stdout.contains("user u3"))

        // info: the header
        let info = try CLI.run(["info", out + "/model.aerec", "--verify", "--json"])
        #expect(info.status == 0, "\(info.stderr)")
        let ij = try info.json()
        #expect(ij["kind"] as? String == "mult-dae" && ij["activation"] as? String == "tanh")
        #expect(ij["items"] as? Int == 40 && ij["verified"] as? Bool == true)
        #expect((ij["tensors"] as? [[String: Any]])?.isEmpty == false)
        #expect((ij["configuration"] as? [String: Any])?["latentDimension"] as? Int == 16)
        #expect(info.stdout.contains("kind          mult-dae"))

        // probe: P1–P3 of the saved encoder, users from the run's data
        let probe = try CLI.run(["probe", out + "/model.aerec", "--users", "60", "--json"])
        #expect(probe.status == 0, "\(probe.stderr)")
        let pj = try probe.json()
        #expect(pj["activation"] as? String == "tanh" && pj["family"] as? String == "tanh-like")
        for p in ["p1", "p2", "p3"] {
            #expect(((pj[p] as? [String: Any])?["verdict"] as? [String: Any])?["passed"] is Bool, "no \(p) verdict")
        }
        #expect(probe.stdout.contains("P1 ") && probe.stdout.contains("P2 ") && probe.stdout.contains("P3 "))
    }

    /// The items of `user` in the small TSV.
    func historyOf(_ user: String, in path: String) throws -> Set<String> {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return Set(text.split(separator: "\n").dropFirst().compactMap { line -> String? in
            let f = line.split(separator: "\t")
            return f[0] == user ? String(f[1]) : nil
        })
    }

    @Test("EASE shows its fit phases; the given protocol and evaluate --test")
    func easeAndGiven() throws {
        let dir = try CLI.tempDirectory("ease")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try CLI.smallDataset(in: dir)
        // a test file: the last two items of the first 20 users
        let testPath = try CLI.givenTestFile(for: data, in: dir)
        let out = dir + "/ease"
        let r = try CLI.run(["train", "--data", data, "--test", testPath, "--model", "ease", "--lambda", "10",
                             "--out", out, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("Gram") && r.stderr.contains("Cholesky") && r.stderr.contains("scoring"))
        let j = try r.json()
        #expect(j["model"] as? String == "ease" && j["users_evaluated"] as? Int == 20)
        let ev = try CLI.run(["evaluate", out + "/model.aerec", "--json", "--quiet"])
        #expect(ev.status == 0, "\(ev.stderr)")
        #expect(try ev.json()["metrics"] as? [String: Double] == j["metrics"] as? [String: Double])
        #expect(try ev.json()["protocol"] as? String == "given")
        // the float64 solve: the same metrics up to near-ties, recorded in the model file
        let r64 = try CLI.run(["train", "--data", data, "--test", testPath, "--model", "ease", "--lambda", "10",
                               "--precision", "float64", "--out", out + "64", "--json", "--quiet"])
        #expect(r64.status == 0, "\(r64.stderr)")
        let m32 = j["metrics"] as? [String: Double] ?? [:], m64 = try r64.json()["metrics"] as? [String: Double] ?? [:]
        #expect(!m64.isEmpty && m64.keys == m32.keys)
        for (name, v) in m32 { #expect(abs((m64[name] ?? -1) - v) < 0.02, "\(name): \(v) vs \(m64[name] ?? -1)") }
        let info = try CLI.run(["info", out + "64/model.aerec"])
        #expect(info.status == 0 && info.stdout.contains("float64"), "\(info.stdout)")
        for (args, needle) in [(["--model", "ease", "--precision", "float16"], "float32 or float64"),
                               (["--model", "mult-dae", "--precision", "float64"], "--model ease only")] {
            let bad = try CLI.run(["train", "--data", data, "--epochs", "1"] + args)
            #expect(bad.status == 2 && bad.stderr.contains(needle), "\(args): \(bad.status) \(bad.stderr)")
        }
    }

    @Test("given with --validation-fraction early-stops on a validation share; --beta-cap reaches Mult-VAE only")
    func givenValidationAndBetaCap() throws {
        let dir = try CLI.tempDirectory("givenval")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try CLI.smallDataset(in: dir)
        let testPath = try CLI.givenTestFile(for: data, in: dir)
        let r = try CLI.run(["train", "--data", data, "--test", testPath, "--validation-fraction", "0.2",
                             "--model", "mult-vae", "--hidden", "16", "--latent", "8", "--epochs", "3",
                             "--beta-cap", "0.5", "--out", dir + "/vae", "--json", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try r.json()
        let summary = j["data"] as? [String: Any] ?? [:], config = j["configuration"] as? [String: Any] ?? [:]
        #expect((summary["validationUsers"] as? Int ?? 0) > 0, "\(summary)")
        #expect(j["best_validation"] as? Double != nil)
        #expect(config["betaCap"] as? Double == 0.5 && config["validationFraction"] as? Double == 0.2, "\(config)")
        // without the flag: no validation set, as the published protocol has none
        let plain = try CLI.run(["train", "--data", data, "--test", testPath, "--model", "mult-vae", "--hidden", "16",
                                 "--latent", "8", "--epochs", "2", "--json", "--quiet"])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect((try plain.json()["data"] as? [String: Any])?["validationUsers"] as? Int == 0)
        for (args, needle) in [(["--model", "mult-dae", "--beta-cap", "0.5"], "--model mult-vae only"),
                               (["--model", "mult-vae", "--beta-cap", "nan"], "--beta-cap must be ≥ 0"),
                               (["--model", "mult-vae", "--test", testPath, "--validation-fraction", "1"], "[0, 1)")] {
            let bad = try CLI.run(["train", "--data", data, "--epochs", "1"] + args)
            #expect(bad.status == 2 && bad.stderr.contains(needle), "\(args): \(bad.status) \(bad.stderr)")
        }
    }

    @Test("a terminal gets a redrawn progress bar with ETA")
    func progressBar() throws {
        let dir = try CLI.tempDirectory("tty")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try CLI.smallDataset(in: dir)
        let r = try CLI.run(["train", "--data", data, "--model", "mult-dae", "--epochs", "3", "--latent", "8",
                             "--heldout-users", "10"], environment: ["AEREC_PROGRESS": "tty"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("\r\u{1B}[2K"), "no in-place redraw")
        #expect(r.stderr.contains("█") && r.stderr.contains("ETA") && r.stderr.contains("val ndcg@100"))
    }

    @Test("Ctrl-C stops training after the current epoch; the best epoch is still evaluated and saved")
    func interrupt() throws {
        let dir = try CLI.tempDirectory("sigint")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try CLI.smallDataset(in: dir)
        let r = try CLI.run(["train", "--data", data, "--model", "mult-dae", "--epochs", "1000000", "--patience", "1000000",
                             "--latent", "8", "--heldout-users", "10", "--out", dir + "/run", "--json"],
                            interruptAfter: " 3/1000000 ")
        #expect(r.status == 0, "\(r.stderr)")
        let j = try r.json()
        #expect(j["stopped_by_interrupt"] as? Bool == true)
        #expect((j["epochs_run"] as? Int).map { $0 >= 3 && $0 < 1000000 } == true)
        #expect(FileManager.default.fileExists(atPath: dir + "/run/model.aerec"))
        #expect(r.stderr.contains("stopped by Ctrl-C"))
    }

    @Test("select-activation: equal-budget study with progress per run, report files, recommendation")
    func selectActivation() throws {
        let dir = try CLI.tempDirectory("select")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try CLI.smallDataset(in: dir)
        let r = try CLI.run(["select-activation", "--data", data, "--heldout-users", "10", "--model", "mult-dae",
                             "--candidates", "sigmoid,tanh", "--lr", "0.01", "--reg", "0.01", "--seeds", "1",
                             "--epochs", "2", "--latent", "8", "--out", dir + "/sel", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try r.json()
        let rec = try #require(j["recommendation"] as? [String: Any])
        #expect(["sigmoid", "tanh"].contains(rec["activation"] as? String ?? ""))
        #expect((j["activations"] as? [[String: Any]])?.count == 2)
        #expect(r.stderrLines.filter { $0.contains("tuning") && $0.contains("/2]") }.count == 2, "\(r.stderr)")
        for f in ["selection.json", "selection.md", "selection.svg"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/sel/" + f), "missing \(f)")
        }
        #expect(r.stdout.contains("Recommendation:"))
    }

    // MARK: - split, bench, demo

    @Test("split exports the protocol's files")
    func split() throws {
        let dir = try CLI.tempDirectory("split")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try CLI.smallDataset(in: dir)
        let r = try CLI.run(["split", "--data", data, "--protocol", "ratio", "--out", dir + "/s", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try r.json()
        #expect(j["protocol"] as? String == "ratio" && j["items"] as? Int == 40)
        #expect(FileManager.default.fileExists(atPath: dir + "/s/train.tsv"))
        #expect(FileManager.default.fileExists(atPath: dir + "/s/test_target.tsv"))
    }

    @Test("bench times engine steps")
    func bench() throws {
        let r = try CLI.run(["bench", "--steps", "read,split,ease", "--repeat", "1", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let results = try #require(try r.json()["results"] as? [[String: Any]])
        #expect(results.count == 3)
        #expect(results.allSatisfy { ($0["median_seconds"] as? Double).map { $0 >= 0 } == true })
    }

    @Test("demo on the built-in dataset: counts, table, top-10")
    func demo() throws {
        let r = try CLI.run(["demo", "--epochs", "2", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try r.json()
        let ds = try #require(j["dataset"] as? [String: Any])
        #expect(ds["users"] as? Int == 2059 && ds["items"] as? Int == 1099 && ds["interactions"] as? Int == 44613)
        #expect(ds["builtin"] as? Bool == true)
        let runs = try #require(j["runs"] as? [[String: Any]])
        #expect(runs.map { $0["label"] as? String } == ["mult-dae/sigmoid", "mult-dae/tanh", "popularity", "ease"])
        #expect(runs.allSatisfy { ($0["metrics"] as? [String: Double])?["ndcg@100"] != nil })
        #expect((j["recommendations"] as? [[String: Any]])?.count == 10)
        #expect(r.stdout.contains("Top-10 from") && r.stdout.contains("ndcg@100"))
    }

    @Test("AEREC_DATA_DIR locates the built-in dataset")
    func dataDir() throws {
        let r = try CLI.run(["split", "--data", "builtin", "--out", try CLI.tempDirectory("dd"), "--json", "--quiet"],
                            environment: ["AEREC_DATA_DIR": CLI.packageRoot + "/data"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try r.json()["train_users"] as? Int == 1649)
        let bad = try CLI.run(["demo", "--epochs", "1"], environment: ["AEREC_DATA_DIR": "/nonexistent-aerec"])
        expectFailure(bad, status: 3, contains: ["/nonexistent-aerec", "AEREC_DATA_DIR"])
    }
}
