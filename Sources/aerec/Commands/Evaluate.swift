import AERec
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// `aerec evaluate`: a saved model on data — the training protocol's test users recreated from
/// the same data, protocol and seed, or a given test file.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a saved model on data: the recreated test split, or a given test file.",
        discussion: """
            The test users come from splitting --data under the protocol and seed (the same data, \
            filters, protocol and seed as in training give the same test users). When the model \
            file sits beside the config.json that `train --out` wrote, that configuration is the \
            default, so `aerec evaluate DIR/model.aerec` alone re-evaluates the run; otherwise the \
            model file's recorded protocol and seed are used. With --test FILE the test file's \
            interactions are the targets and each test user's other interactions in --data the \
            history (the `given` protocol). Items are matched by external id: test interactions on \
            items the model does not know are dropped and counted. Full ranking, seen items \
            excluded, 95 % confidence intervals.

            Examples:
              aerec evaluate runs/dae/model.aerec
              aerec evaluate runs/dae/model.aerec --data builtin --seed 98765
              aerec evaluate runs/vae/model.aerec \\
                  --data ../shared/data/gowalla-lightgcn/ratings.tsv.gz \\
                  --test ../shared/data/gowalla-lightgcn/test.tsv.gz \\
                  --metrics recall_uncapped@20,ndcg@20
            """
    )

    @Argument(help: ArgumentHelp("The model file (model.aerec).", valueName: "model-file")) var modelFile: String
    @Option(help: ArgumentHelp("Configuration file (JSON) for data, filters and protocol; default: config.json beside the model file.",
                               valueName: "file"))
    var config: String?
    @OptionGroup(title: "Data") var dataOptions: DataOptions
    @OptionGroup(title: "Protocol") var splitOptions: SplitOptions
    @Option(help: ArgumentHelp("Metrics, comma-separated (default: those train reports).", valueName: "list"))
    var metrics: [String] = []
    @Option(help: "Users scored per batch.") var batch = 500
    @Option(help: "Threads for scoring and top-k.") var threads = 2
    @OptionGroup var output: OutputOptions

    func run() throws {
        try runReportingErrors {
            guard batch >= 1 else { throw usageError("--batch must be ≥ 1, got \(batch)") }
            guard (1...256).contains(threads) else { throw usageError("--threads must be in 1...256, got \(threads)") }
            let saved = try Phase.run("loading \(modelFile)", enabled: !output.quiet, done: { (s: SavedModel) in
                "loaded \(s.model.kind.rawValue) model: \(grouped(s.itemIDs.count)) items"
            }) { try SavedModel.load(path: modelFile) }
            var c = try evaluationConfiguration(for: saved, modelFile: modelFile, configFile: config, output: output)
            try dataOptions.apply(to: &c)
            try splitOptions.apply(to: &c)
            try resolveDataPath(&c, default: saved.metadata[ModelState.MetadataKey.dataPath])
            let wanted = try parseMetrics(metrics) ?? c.metrics ?? saved.defaultMetrics
            let data = try loadData(c, output: output)
            let split = try makeSplit(data, c, output: output)
            let (eval, dropped) = try Phase.run("scoring \(grouped(split.test.count)) test users", enabled: !output.quiet,
                                                done: { (_: (EvaluationResult, Int)) in "scored" }) {
                try saved.evaluate(on: split, metrics: wanted, batchSize: batch, threads: threads)
            }
            if dropped > 0 {
                output.note("note: \(grouped(dropped)) test interactions on items the model does not know were left out")
            }
            if !output.quiet {
                let activation = (saved.model as? any Autoencoder)?.latentActivation.name ?? "-"
                print("model \(saved.model.kind.rawValue)  activation \(activation)  on \(c.dataPath) (\(split.protocolKind.rawValue), seed \(c.seed))")
                print("test users \(eval.usersEvaluated) (skipped \(eval.usersSkipped) with an empty target)")
                for m in wanted {
                    guard let v = eval[m] else { continue }
                    let ci = v.confidenceInterval.map { "  [\(fmt($0.lowerBound, 4)), \(fmt($0.upperBound, 4))]" } ?? ""
                    print("  \(m.name.padding(20))\(fmt(v.value, 4))\(ci)")
                }
            }
            if output.json {
                let (m, ci) = metricsJSON(eval, wanted)
                try printJSON(jsonObject([
                    ("model_file", JSONValue(modelFile)), ("model", JSONValue(saved.model.kind.rawValue)),
                    ("activation", (saved.model as? any Autoencoder).map { JSONValue($0.latentActivation.name) }),
                    ("data", JSONValue(c.dataPath)), ("protocol", JSONValue(split.protocolKind.rawValue)),
                    ("seed", .unsigned(c.seed)), ("test_path", c.testPath.map(JSONValue.init)),
                    ("users_evaluated", JSONValue(eval.usersEvaluated)), ("users_skipped", JSONValue(eval.usersSkipped)),
                    ("dropped_interactions", JSONValue(dropped)), ("metrics", m), ("metrics_ci", ci),
                ]))
            }
        }
    }
}

/// The base configuration for evaluating or recommending with a saved model: --config, else the
/// config.json beside the model file, else the defaults with the model's recorded protocol and seed.
func evaluationConfiguration(for saved: SavedModel, modelFile: String, configFile: String?,
                             output: OutputOptions) throws -> ExperimentConfiguration {
    var c: ExperimentConfiguration
    if let configFile {
        c = try baseConfiguration(configFile: configFile)
    } else {
        let dir = modelFile.contains("/") ? String(modelFile[..<modelFile.lastIndex(of: "/")!]) : "."
        let beside = (dir.isEmpty ? "/" : dir) + "/" + RunOutput.configurationFile
        if access(beside, R_OK) == 0 {
            output.note("using \(beside) (data, filters, protocol, seed); flags override it")
            c = try baseConfiguration(configFile: beside)
        } else {
            c = ExperimentConfiguration(dataPath: "")
            if let s = saved.trainingSplit { c.split = s }
            if let seed = saved.trainingSeed { c.seed = seed }
        }
    }
    c.model = saved.model.kind   // the split's validation part depends on the kind of model
    return c
}
