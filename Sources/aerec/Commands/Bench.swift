import AERec
import ArgumentParser

/// `aerec bench`: engine micro-benchmarks in-process, through the public Swift API.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the engine in-process: reading, splitting, training epochs, EASE, full-ranking evaluation.",
        discussion: """
            Runs the steps a training job is made of on a dataset (default: the built-in one) in \
            this process, with the BLAS core and thread count shown by `aerec doctor`, and reports \
            the median and minimum of --repeat runs: reading + filtering, the strong split, one \
            Mult-DAE epoch and one Mult-VAE epoch (users/s), the EASE fit, and full-ranking \
            evaluation of the test users (users/s). Epoch timings exclude the first (warm-up) epoch.

            The kernel-level benchmark (each C kernel against numpy/scipy in the same run) is \
            `make bench` (bench/kernels.py → bench/results/kernels.json).

            Examples:
              aerec bench
              aerec bench --repeat 5 --threads 1
              aerec bench --data ../shared/data/ml-latest-small/ratings.tsv.gz \\
                          --threshold 3.5 --json --quiet > engine.json
            """
    )

    @Option(help: ArgumentHelp("Interaction file, or 'builtin'.", valueName: "path")) var data = BuiltinDataset.keyword
    @Option(help: ArgumentHelp("Keep only interactions with value > T.", valueName: "T")) var threshold: Float?
    @Option(name: .customLong("repeat"), help: "Timed repetitions of each step.") var repeats = 3
    @Option(help: "Threads for kernels and BLAS.") var threads = 2
    @Option(help: ArgumentHelp("Steps, comma-separated: read, split, mult-dae, mult-vae, ease, evaluate.", valueName: "list"))
    var steps = "read,split,mult-dae,mult-vae,ease,evaluate"
    @OptionGroup var output: OutputOptions

    struct Timing {
        var name: String
        var seconds: [Double]
        var work: Double
        var unit: String
        var median: Double { let s = seconds.sorted(); return s.isEmpty ? .nan : s[s.count / 2] }
        var minimum: Double { seconds.min() ?? .nan }
    }

    func run() throws {
        try runReportingErrors {
            guard repeats >= 1 else { throw usageError("--repeat must be ≥ 1, got \(repeats)") }
            guard (1...256).contains(threads) else { throw usageError("--threads must be in 1...256, got \(threads)") }
            let valid = ["read", "split", "mult-dae", "mult-vae", "ease", "evaluate"]
            let wanted = commaList([steps])
            for s in wanted where !valid.contains(s) {
                let hint = didYouMean(s, among: valid).map { " (did you mean '\($0)'?)" } ?? ""
                throw usageError("unknown step '\(s)'\(hint); valid: \(valid.joined(separator: ", "))")
            }
            var c = ExperimentConfiguration(dataPath: data, model: .multDAE)
            try resolveDataPath(&c)
            c.threshold = threshold
            c.threads = threads
            let status = BLAS.status
            output.note("aerec bench: \(c.dataPath), BLAS core \(status.core), \(threads) thread(s), \(repeats) repeat(s)")
            var timings: [Timing] = []
            func time(_ name: String, work: Double, unit: String, _ body: () throws -> Void) rethrows {
                var t = Timing(name: name, seconds: [], work: work, unit: unit)
                for _ in 0..<repeats {
                    let t0 = now()
                    try body()
                    t.seconds.append(now() - t0)
                }
                report(t)
                timings.append(t)
            }
            func report(_ t: Timing) {
                let rate = t.work > 0 ? "  \(grouped(Int((t.work / t.median).rounded()))) \(t.unit)/s" : ""
                output.say("\(t.name.padding(28))median \(fmt(t.median * 1000, 1).leftPadding(9)) ms   min \(fmt(t.minimum * 1000, 1).leftPadding(9)) ms\(rate)")
            }
            var dataset = try Experiment.loadData(c)
            if wanted.contains("read") {
                try time("read + filter", work: Double(dataset.count), unit: "interactions") { dataset = try Experiment.loadData(c) }
            }
            var split = try Experiment.makeSplit(dataset, c)
            if wanted.contains("split") {
                try time("strong split", work: Double(dataset.count), unit: "interactions") { split = try Experiment.makeSplit(dataset, c) }
            }
            let users = Double(split.train.rowCount)
            for kind in [ModelKind.multDAE, .multVAE] where wanted.contains(kind.rawValue) {
                var mc = c
                mc.model = kind
                mc.epochs = repeats + 1
                let model = try ModelFactory.make(mc, itemCount: split.train.columnCount, userCount: split.train.rowCount,
                                                  batchesPerEpoch: (split.train.rowCount + 499) / 500)
                let options = TrainingOptions(epochs: repeats + 1, batchSize: 500, seed: c.seed, threads: threads,
                                              earlyStoppingPatience: nil)
                let history = try model.fit(split.train, validation: nil, options: options, callback: nil)
                let t = Timing(name: "\(kind.rawValue) epoch", seconds: history.epochs.dropFirst().map(\.trainSeconds),
                               work: users, unit: "users")
                report(t)
                timings.append(t)
            }
            var fitted: (any TrainableRecommender)? = nil
            if wanted.contains("ease") || wanted.contains("evaluate") {
                var ec = c
                ec.model = .ease
                let model = try ModelFactory.make(ec, itemCount: split.train.columnCount, userCount: split.train.rowCount,
                                                  batchesPerEpoch: 1)
                let options = TrainingOptions(epochs: 1, batchSize: 500, seed: c.seed, threads: threads)
                if wanted.contains("ease") {
                    try time("ease fit (\(split.train.columnCount) items)", work: 0, unit: "") {
                        try model.fit(split.train, validation: nil, options: options, callback: nil)
                    }
                } else {
                    try model.fit(split.train, validation: nil, options: options, callback: nil)
                }
                fitted = model
            }
            if wanted.contains("evaluate"), let model = fitted {
                let evaluator = Evaluator(metrics: ExperimentConfiguration.defaultRankingMetrics, batchSize: 500,
                                          threads: threads)
                try time("evaluate (ease, full rank)", work: Double(split.test.count), unit: "users") {
                    _ = try evaluator.evaluate(model, on: split.test)
                }
            }
            output.say("kernel-level comparison with numpy/scipy: make bench")
            if output.json {
                try printJSON(jsonObject([
                    ("data", JSONValue(c.dataPath)), ("interactions", JSONValue(dataset.count)),
                    ("train_users", JSONValue(split.train.rowCount)), ("items", JSONValue(split.itemIDs.count)),
                    ("blas_core", JSONValue(status.core)), ("threads", JSONValue(threads)), ("repeat", JSONValue(repeats)),
                    ("results", .array(timings.map { t in
                        jsonObject([
                            ("name", JSONValue(t.name)), ("median_seconds", JSONValue(t.median)),
                            ("min_seconds", JSONValue(t.minimum)), ("seconds", .array(t.seconds.map(JSONValue.init))),
                            ("per_second", t.work > 0 ? JSONValue(t.work / t.median) : nil),
                            ("unit", t.unit.isEmpty ? nil : JSONValue(t.unit)),
                        ])
                    })),
                ]))
            }
        }
    }
}
