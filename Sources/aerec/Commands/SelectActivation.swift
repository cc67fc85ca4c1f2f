import AERec
import ArgumentParser

/// `aerec select-activation`: the theory layer's ActivationSelection from the shell.
struct SelectActivation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "select-activation",
        abstract: "Choose a latent activation from theory plus validation, with equal budgets per candidate.",
        discussion: """
            For each candidate activation: a grid of learning rates × L2 weights tuned on the \
            validation users (seed --tuning-seed), then one run per --seeds at the chosen point, \
            each evaluated on validation and test users and probed for P1–P3. Every candidate gets \
            the same runs, epochs and patience. The recommendation is the best activation by mean \
            validation metric, unless it is not sigmoid-like and not significantly better (paired \
            t-test on validation users) than the best sigmoid-like one: then the theory's \
            sigmoid-like choice. The table, the recommendation and the paired tests are printed as \
            Markdown; --out DIR also writes selection.json, selection.md and selection.svg. \
            Progress: one line (or a bar on a terminal) per trained run, with an ETA.

            Examples:
              aerec select-activation --data builtin --model mult-dae \\
                  --candidates sigmoid,tanh --seeds 1 --lr 0.003 --epochs 20
              aerec select-activation --data ../shared/data/ml-100k/ratings.tsv.gz \\
                  --threshold 3.5 --model mult-vae --heldout-users 94 --out runs/select
            """
    )

    @Option(help: ArgumentHelp("Configuration file (JSON) for data, protocol and the runs' settings; flags win.",
                               valueName: "file"))
    var config: String?
    @OptionGroup(title: "Data") var dataOptions: DataOptions
    @OptionGroup(title: "Protocol") var splitOptions: SplitOptions
    @Option(help: ArgumentHelp("Model: mult-dae, mult-vae, cdae, autorec-i, autorec-u (default mult-dae).", valueName: "name"))
    var model: String?
    @Option(help: ArgumentHelp("Candidate activations, comma-separated (default: sigmoid, hard_sigmoid, softsign01, tanh, relu, identity).",
                               valueName: "list"))
    var candidates: [String] = []
    @Option(name: .customLong("lr"), help: ArgumentHelp("Learning-rate grid, comma-separated (default 0.001,0.003).", valueName: "list"))
    var learningRates: [String] = []
    @Option(name: .customLong("reg"), help: ArgumentHelp("L2 grid, comma-separated (default per model).", valueName: "list"))
    var regularizations: [String] = []
    @Option(help: ArgumentHelp("Seeds of the final runs, comma-separated (default 1,2,3).", valueName: "list"))
    var seeds: [String] = []
    @Option(name: .customLong("tuning-seed"), help: "Seed of the grid runs (default 1).") var tuningSeed: UInt64?
    @Option(help: "Maximum epochs per run.") var epochs: Int?
    @Option(help: "Early-stopping patience.") var patience: Int?
    @Option(help: "Hidden width.") var hidden: Int?
    @Option(help: "Latent (code) width.") var latent: Int?
    @Option(help: "Users per mini-batch.") var batch: Int?
    @Option(help: "Input dropout / corruption probability.") var dropout: Float?
    @Option(help: "Threads for kernels and BLAS.") var threads: Int?
    @Option(help: ArgumentHelp("Selection metric (default ndcg@100; rmse for AutoRec).", valueName: "name")) var metric: String?
    @Option(help: ArgumentHelp("Reported metrics, comma-separated.", valueName: "list")) var metrics: [String] = []
    @Option(help: "Significance level of the paired test.") var significance: Double = 0.05
    @Option(help: ArgumentHelp("Write selection.json, selection.md and selection.svg here.", valueName: "dir"))
    var out: String?
    @OptionGroup var output: OutputOptions

    func floats(_ values: [String], _ name: String) throws -> [Float]? {
        let items = commaList(values)
        if items.isEmpty { return nil }
        return try items.map { s in
            guard let v = Float(s), v.isFinite, v >= 0 else { throw usageError("--\(name): '\(s)' is not a non-negative number") }
            return v
        }
    }

    func run() throws {
        try runReportingErrors {
            var c = try baseConfiguration(configFile: config)
            if config == nil { c.model = .multDAE }
            try dataOptions.apply(to: &c)
            try splitOptions.apply(to: &c)
            if let model { c.model = try ModelKind(name: model) }
            guard c.model.isAutoencoder else {
                throw usageError("select-activation needs an autoencoder (mult-dae, mult-vae, cdae, autorec-i, autorec-u), got \(c.model.rawValue)")
            }
            if let v = try positiveFlag("epochs", epochs) { c.epochs = v }
            if let v = try positiveFlag("patience", patience) { c.patience = v }
            if let v = try positiveFlag("hidden", hidden) { c.hidden = v }
            if let v = try positiveFlag("latent", latent) { c.latent = v }
            if let v = try positiveFlag("batch", batch) { c.batchSize = v }
            if let v = try threadsFlag(threads) { c.threads = v }
            if let v = try dropoutFlag(dropout) { c.dropout = v }
            guard significance > 0, significance < 1 else { throw usageError("--significance must be in (0, 1)") }
            try resolveDataPath(&c)

            var selection = ActivationSelection(model: c.model, base: c)
            let names = commaList(candidates)
            if !names.isEmpty { selection.candidates = try names.map { try Activation(name: $0) } }
            if let lrs = try floats(learningRates, "lr") {
                guard lrs.allSatisfy({ $0 > 0 }) else { throw usageError("--lr: learning rates must be > 0") }
                selection.learningRates = lrs
            }
            if let regs = try floats(regularizations, "reg") { selection.regularizations = regs }
            let seedList = commaList(seeds)
            if !seedList.isEmpty {
                selection.seeds = try seedList.map { s in
                    guard let v = UInt64(s) else { throw usageError("--seeds: '\(s)' is not a non-negative integer") }
                    return v
                }
            }
            if let tuningSeed { selection.tuningSeed = tuningSeed }
            if let metric { selection.selectionMetric = try Metric(name: metric) }
            if let m = try parseMetrics(metrics) { selection.reportedMetrics = m }
            selection.significanceLevel = significance
            selection.probe.threads = c.threads

            output.note("aerec select-activation: \(c.model.rawValue), candidates \(selection.candidates.map(\.name).joined(separator: ", ")); \(selection.runsPerCandidate) runs each")
            let data = try loadData(c, output: output)
            let split = try makeSplit(data, c, output: output)
            let progress = RunProgress(total: selection.runsPerCandidate * selection.candidates.count, enabled: !output.quiet)
            var report = try selection.run(on: split) { p in progress.update(p) }
            progress.finish("selection: \(progress.total) runs in \(duration(now() - progress.started))")
            report.label = c.dataPath == (try? BuiltinDataset.locate()) ? "MovieTweetings 10-core" : c.dataPath
            var files: [String] = []
            if let out {
                try makeDirectories(out)
                for (name, text) in [("selection.json", try report.json() + "\n"), ("selection.md", report.markdown()),
                                     ("selection.svg", report.svg())] {
                    try RunOutput.writeFileAtomically(out + "/" + name, text)
                    files.append(out + "/" + name)
                }
            }
            output.say(report.markdown())
            if !files.isEmpty { output.say("wrote \(files.joined(separator: ", "))") }
            if output.json {
                guard case .object(var o) = try JSONValue(decodingJSON: try report.json(perUserValues: false)) else { return }
                o["files"] = .array(files.map(JSONValue.init))
                try printJSON(.object(o))
            }
        }
    }
}

/// Progress over the runs of a study: a bar on a terminal, one line per run otherwise, with ETA.
final class RunProgress {
    let total: Int
    let enabled: Bool
    let tty = stderrIsTerminal
    let started = now()
    private var drawn = false

    init(total: Int, enabled: Bool) {
        self.total = max(1, total)
        self.enabled = enabled
    }

    func update(_ p: SelectionProgress) {
        guard enabled else { return }
        let elapsed = now() - started
        let eta = p.completed >= total ? "" : "  ETA \(duration(Double(total - p.completed) * elapsed / Double(max(1, p.completed))))"
        if tty {
            let width = 16
            let filled = min(width, p.completed * width / total)
            var line = "\(String(repeating: "█", count: filled))\(String(repeating: "░", count: width - filled)) \(p.completed)/\(total)\(eta)  \(p.phase.rawValue) \(p.activation.name) lr \(p.learningRate) seed \(p.seed): \(p.metric.name) \(fmt(p.validation, 4))"
            let cols = terminalWidth - 1
            if line.count > cols { line = String(line.prefix(cols)) }
            writeAll(2, "\r\u{1B}[2K" + line)
            drawn = true
        } else {
            printErr(p.line + eta)
        }
    }

    func finish(_ summary: String) {
        guard enabled else { return }
        if drawn { writeAll(2, "\n") }
        printErr(summary)
    }
}
