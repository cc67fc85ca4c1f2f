import AERec
import ArgumentParser

/// `aerec demo`: the main job on the built-in dataset, with no arguments.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare a sigmoid and a tanh latent (Mult-DAE) on the built-in dataset; show a top-10.",
        discussion: """
            Trains Mult-DAE [I-200-I] twice on the built-in MovieTweetings 10-core (2,059 users × \
            1,099 items × 44,613 ratings, strong generalisation, 205 validation and 205 test users) \
            with equal budgets — the same epochs, learning rate, seed and data order, early stopping \
            off, the best validation epoch kept — once with a sigmoid latent and once with tanh, \
            adds the popularity and EASE baselines, prints the test metrics (mean ± 95 % CI \
            half-width) and the better model's top-10 for one test user (items by IMDb id; ✓ marks \
            the user's held-out items). Takes well under a minute on two cores.

            Examples:
              aerec demo
              aerec demo --activations sigmoid,tanh,relu --epochs 100
              aerec demo --user 100 --out runs/demo
              aerec demo --data ../shared/data/ml-100k/ratings.tsv.gz \\
                         --threshold 3.5 --json
            """
    )

    @Option(help: ArgumentHelp("Interaction file, or 'builtin'.", valueName: "path")) var data = BuiltinDataset.keyword
    @Option(help: ArgumentHelp("Keep only interactions with value > T.", valueName: "T")) var threshold: Float?
    @Option(help: ArgumentHelp("Latent activations to compare, comma-separated.", valueName: "list"))
    var activations = "sigmoid,tanh"
    @Option(help: "Epochs per model (the same budget for every activation).") var epochs = 60
    @Option(help: "Learning rate (Adam; 0.01 suits this dataset for both activations).") var lr: Float = 0.01
    @Option(help: "Random seed.") var seed: UInt64 = 98765
    @Option(help: ArgumentHelp("Show the top-10 of this user (external id; default: the first test user).", valueName: "id"))
    var user: String?
    @Flag(inversion: .prefixedNo, help: "Add the popularity and EASE baselines to the table.") var baselines = true
    @Option(help: "Threads for kernels and BLAS.") var threads = 2
    @Option(help: ArgumentHelp("Write each run's config, epochs.csv, training curve, result and model under DIR/<run>/.",
                               valueName: "dir"))
    var out: String?
    @OptionGroup var output: OutputOptions

    func run() throws {
        try runReportingErrors {
            let start = now()
            guard epochs >= 1 else { throw usageError("--epochs must be ≥ 1, got \(epochs)") }
            guard lr > 0, lr.isFinite else { throw usageError("--lr must be a positive number, got \(lr)") }
            guard (1...256).contains(threads) else { throw usageError("--threads must be in 1...256, got \(threads)") }
            let acts = try commaList([activations]).map { try Activation(name: $0) }
            guard !acts.isEmpty else { throw usageError("--activations needs at least one name") }
            var base = ExperimentConfiguration(dataPath: data, model: .multDAE)
            try resolveDataPath(&base)
            base.threshold = threshold
            base.seed = seed
            base.threads = threads
            let isBuiltin = data == BuiltinDataset.keyword
            installInterruptHandler()
            output.note("aerec demo: Mult-DAE with a \(acts.map(\.name).joined(separator: " / ")) latent on \(isBuiltin ? "the built-in MovieTweetings 10-core" : base.dataPath)")
            let dataset = try loadData(base, output: output)
            let split = try makeSplit(dataset, base, output: output)
            if let user, split.userIDs.index(of: user) == nil {
                throw AERecError.data("user '\(user)' is not in \(base.dataPath) (\(grouped(split.userIDs.count)) users)")
            }

            var runs: [(label: String, run: RunOutcome)] = []
            var configs: [(String, ExperimentConfiguration)] = acts.map { a in
                var c = base
                c.activation = a
                c.epochs = epochs
                c.patience = epochs      // equal budgets: no early stopping, best validation epoch kept
                c.learningRate = lr
                return ("mult-dae/\(a.name)", c)
            }
            if baselines {
                var pop = base; pop.model = .pop
                var ease = base; ease.model = .ease
                configs += [("popularity", pop), ("ease", ease)]
            }
            for (label, c) in configs {
                var modelPath: String? = nil
                let dir = out.map { $0 + "/" + label.replacing("/", with: "-") }
                if let dir {
                    try makeDirectories(dir)
                    modelPath = dir + "/" + RunOutput.modelFile
                }
                let r = try trainAndEvaluate(c, data: dataset, split: split, label: label, output: output, saveTo: modelPath)
                if let dir {
                    try RunOutput.write(to: dir, configuration: r.resolved, epochs: r.epochs, result: r.result,
                                        title: "\(label) on \(isBuiltin ? "MovieTweetings 10-core" : base.dataPath)")
                }
                runs.append((label, r))
            }

            // the better activation by test NDCG@100 shows its top-10
            let neural = runs.prefix(acts.count)
            let best = neural.max { ($0.run.result.metrics["ndcg@100"] ?? 0) < ($1.run.result.metrics["ndcg@100"] ?? 0) }!
            let shown = try topTen(best.run, split: split, data: dataset)

            let columns = ["ndcg@100", "recall@20", "recall@50", "ndcg@20", "mrr"]
            if !output.quiet {
                print("")
                print("Test metrics on \(grouped(split.test.count)) held-out users (mean ±95 % CI half-width), "
                      + "\(epochs) epochs each, lr \(fmt(Double(lr), 4)), seed \(seed):")
                print(metricsTable(runs.map { ($0.label, $0.run.result) }, metrics: columns), terminator: "")
                print("")
                let userText = "user \(shown.user) (\(shown.testUser ? "a held-out test user: \(shown.historyCount) items as input, \(shown.targetCount) held out" : "a training user, \(shown.historyCount) items in the data"))"
                print("Top-10 from \(best.label) for \(userText):")
                for r in shown.items {
                    let link = isBuiltin ? "  imdb.com/title/tt\(r.item)" : ""
                    print("  \(String(r.rank).leftPadding(2))  \(r.item.padding(10)) score \(fmt(Double(r.score), 4).leftPadding(8))\(r.hit ? "  ✓" : "   ")\(link)")
                }
                if shown.testUser {
                    print("  (\(shown.items.filter(\.hit).count) of the user's \(shown.targetCount) held-out items in the top-10)")
                }
                print("\ndemo finished in \(duration(now() - start))")
            }
            if output.json {
                let runJSON: [JSONValue] = try runs.map { label, r in
                    jsonObject([
                        ("label", JSONValue(label)), ("model", JSONValue(r.result.model)),
                        ("activation", r.result.activation.map(JSONValue.init)),
                        ("metrics", try JSONValue(encoding: r.result.metrics)),
                        ("metrics_ci", try JSONValue(encoding: r.result.metricsCI)),
                        ("epochs_run", JSONValue(r.result.epochsRun)), ("best_epoch", JSONValue(r.result.bestEpoch)),
                        ("train_seconds", JSONValue(r.result.trainSeconds)),
                    ])
                }
                try printJSON(jsonObject([
                    ("dataset", jsonObject([
                        ("path", JSONValue(base.dataPath)), ("builtin", JSONValue(isBuiltin)),
                        ("users", JSONValue(dataset.userIDs.count)), ("items", JSONValue(dataset.itemIDs.count)),
                        ("interactions", JSONValue(dataset.count)),
                    ])),
                    ("split", jsonObject([
                        ("protocol", JSONValue(split.protocolKind.rawValue)), ("train_users", JSONValue(split.train.rowCount)),
                        ("validation_users", JSONValue(split.validation?.count ?? 0)),
                        ("test_users", JSONValue(split.test.count)), ("items", JSONValue(split.itemIDs.count)),
                    ])),
                    ("epochs", JSONValue(epochs)), ("lr", JSONValue(Double(lr))), ("seed", .unsigned(seed)),
                    ("runs", .array(runJSON)), ("best", JSONValue(best.label)),
                    ("user", JSONValue(shown.user)), ("test_user", JSONValue(shown.testUser)),
                    ("recommendations", .array(shown.items.map {
                        jsonObject([("rank", JSONValue($0.rank)), ("item", JSONValue($0.item)),
                                    ("score", JSONValue(Double($0.score))), ("held_out", JSONValue($0.hit))])
                    })),
                    ("seconds", JSONValue(now() - start)), ("out_dir", out.map(JSONValue.init)),
                ]))
            }
        }
    }

    struct Shown {
        var user: String
        var testUser: Bool
        var historyCount: Int
        var targetCount: Int
        var items: [(rank: Int, item: String, score: Float, hit: Bool)]
    }

    /// The top-10 of the chosen user: a test user from their fold-in (held-out items marked), or
    /// any other user from their whole history in the data.
    func topTen(_ run: RunOutcome, split: Split, data: Interactions) throws -> Shown {
        let testRow: Int?
        if let user {
            guard let idx = split.userIDs.index(of: user) else {
                throw AERecError.data("user '\(user)' is not in the dataset (\(split.userIDs.count) users)")
            }
            testRow = split.test.users.firstIndex(of: idx)
        } else {
            // the first test user with at least 3 held-out items
            testRow = (0..<split.test.count).first { split.test.target.count(ofRow: $0) >= 3 } ?? 0
        }
        if let r = testRow {
            let foldIn = split.test.foldIn.rows([r])
            let lists = try Recommendations.topK(run.model, history: foldIn, trainRows: [split.test.trainRows[r]], k: 10,
                                                 threads: threads)
            let target = Set(split.test.target.row(r).columns)
            return Shown(user: split.userIDs[Int(split.test.users[r])], testUser: true, historyCount: foldIn.nnz,
                         targetCount: target.count,
                         items: lists[0].enumerated().map { j, e in
                             (j + 1, split.itemIDs[Int(e.item)], e.score, target.contains(e.item))
                         })
        }
        let saved = SavedModel(path: "", model: run.model, itemIDs: split.itemIDs, userIDs: nil, metadata: [:])
        let l = try saved.recommend(users: [user!], history: data, k: 10, threads: threads)[0]
        return Shown(user: user!, testUser: false, historyCount: l.historyItems, targetCount: 0,
                     items: l.items.map { ($0.rank, $0.item, $0.score, false) })
    }
}
