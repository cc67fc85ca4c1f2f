import AERec
import ArgumentParser

/// `aerec train`: read data, split it under a protocol, train a model, evaluate it on the test users.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model on a dataset and evaluate it on held-out users.",
        discussion: """
            Reads the data, applies the filters, splits it under the chosen protocol, trains with \
            early stopping on validation NDCG@100 (RMSE for AutoRec), restores the best epoch and \
            evaluates on the test users (full ranking, 95 % confidence intervals).

            With --out DIR it writes DIR/config.json (the resolved configuration), DIR/epochs.csv \
            (per-epoch loss and validation metric), DIR/training_curve.svg, DIR/result.json and \
            DIR/model.aerec. --config FILE reads a configuration in the same JSON form (any subset of \
            its keys); flags given on the command line win over the file. Ctrl-C stops training \
            after the current epoch and still evaluates (and saves) the best epoch.

            Examples:
              aerec train --data builtin --model mult-dae --activation tanh \\
                          --lr 0.01 --epochs 60
              aerec train --data ../shared/data/ml-100k/ratings.tsv.gz \\
                          --threshold 3.5 --model mult-dae --activation sigmoid \\
                          --heldout-users 94 --out runs/dae
              aerec train --config runs/dae/config.json --activation tanh \\
                          --out runs/dae-tanh
              aerec train --data ratings.tsv.gz --model ease --lambda 200 --json
              aerec train --data ../shared/data/gowalla-lightgcn/ratings.tsv.gz \\
                          --split given --model mult-vae \\
                          --test ../shared/data/gowalla-lightgcn/test.tsv.gz
            """
    )

    @Option(help: ArgumentHelp("Configuration file (JSON, the keys of DIR/config.json); flags win.", valueName: "file"))
    var config: String?
    @OptionGroup(title: "Data") var dataOptions: DataOptions
    @OptionGroup(title: "Protocol") var splitOptions: SplitOptions
    @OptionGroup(title: "Model and training") var modelOptions: ModelOptions
    @Option(help: ArgumentHelp("Write config.json, epochs.csv, training_curve.svg, result.json and model.aerec here.",
                               valueName: "dir"))
    var out: String?
    @OptionGroup var output: OutputOptions

    /// The configuration: library defaults, then --config, then the flags.
    func resolvedConfiguration() throws -> ExperimentConfiguration {
        var c = try baseConfiguration(configFile: config)
        try dataOptions.apply(to: &c)
        try splitOptions.apply(to: &c)
        try modelOptions.apply(to: &c)
        try resolveDataPath(&c)
        return c
    }

    func run() throws {
        try runReportingErrors {
            let c = try resolvedConfiguration()
            var modelPath: String? = nil
            if let out {
                try makeDirectories(out)
                modelPath = out + "/" + RunOutput.modelFile
            }
            installInterruptHandler()
            output.note("aerec train: \(c.model.rawValue)\(c.activation.map { " (\($0.name) latent)" } ?? "") on \(c.dataPath), \(c.split.rawValue) protocol, seed \(c.seed)")
            let data = try loadData(c, output: output)
            let split = try makeSplit(data, c, output: output)
            let run = try trainAndEvaluate(c, data: data, split: split, label: c.model.rawValue, output: output,
                                           saveTo: modelPath)
            var files: [String] = []
            if let out {
                let metric: Metric = c.model.predictsRatings ? .rmse : .ndcg(100)
                files = try RunOutput.write(to: out, configuration: run.resolved, epochs: run.epochs,
                                            validationMetric: metric, result: run.result)
                if let modelPath { files.append(modelPath) }
            }
            let r = run.result
            if !output.quiet {
                print("model \(r.model)  activation \(r.activation ?? "-")  epochs \(r.epochsRun)  best epoch \(r.bestEpoch)  "
                      + "training \(duration(r.trainSeconds))")
                print("test users \(r.usersEvaluated) (skipped \(r.usersSkipped) with an empty target)")
                let order = (run.resolved.metrics ?? []).map(\.name).filter { r.metrics[$0] != nil }
                for name in order + r.metrics.keys.sorted().filter({ !order.contains($0) }) {
                    let ci = r.metricsCI[name].map { "  [\(fmt($0[0], 4)), \(fmt($0[1], 4))]" } ?? ""
                    print("  \(name.padding(20))\(fmt(r.metrics[name]!, 4))\(ci)")
                }
                if !files.isEmpty { print("wrote \(files.joined(separator: ", "))") }
            }
            if output.json {
                guard case .object(var o) = try JSONValue(encoding: r) else { return }
                o["out_dir"] = out.map(JSONValue.init) ?? .null
                o["files"] = .array(files.map(JSONValue.init))
                o["stopped_by_interrupt"] = .bool(interruptRequested != 0)
                try printJSON(.object(o))
            }
        }
    }
}
