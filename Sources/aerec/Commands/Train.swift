import AERec
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

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

            --checkpoint-every N (with --out DIR) writes DIR/checkpoint.aerec after every N-th epoch \
            (atomically: a killed run leaves the previous checkpoint intact). --resume DIR continues \
            the run of DIR/checkpoint.aerec (its configuration is stored in it) and gives the model an \
            uninterrupted run gives, bit for bit; the checkpoint is removed when the run completes.

            Examples:
              aerec train --data builtin --model mult-dae --activation tanh \\
                          --lr 0.01 --epochs 60
              aerec train --data ../shared/data/ml-100k/ratings.tsv.gz \\
                          --threshold 3.5 --model mult-dae --activation sigmoid \\
                          --heldout-users 94 --out runs/dae
              aerec train --config runs/dae/config.json --activation tanh \\
                          --out runs/dae-tanh
              aerec train --data ratings.tsv.gz --model ease --lambda 200 --json
              aerec train --data builtin --model mult-vae --epochs 200 \\
                          --checkpoint-every 5 --out runs/vae
              aerec train --resume runs/vae
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
    @Option(name: .customLong("checkpoint-every"),
            help: ArgumentHelp("Write DIR/checkpoint.aerec after every N-th epoch (needs --out DIR).", valueName: "N"))
    var checkpointEvery: Int?
    @Option(help: ArgumentHelp("Continue the interrupted run whose --out directory is DIR (from DIR/checkpoint.aerec).",
                               valueName: "dir"))
    var resume: String?
    @OptionGroup var output: OutputOptions

    /// The file name of the checkpoint in the output directory.
    static let checkpointFile = "checkpoint.aerec"
    /// Checkpoint metadata key: the interval the run was started with.
    static let everyKey = "aerec.checkpoint_every"

    /// The configuration: library defaults, then --config, then the flags.
    func resolvedConfiguration() throws -> ExperimentConfiguration {
        var c = try baseConfiguration(configFile: config)
        try dataOptions.apply(to: &c)
        try splitOptions.apply(to: &c)
        try modelOptions.apply(to: &c)
        try resolveDataPath(&c)
        return c
    }

    /// For --resume: the checkpoint's configuration, checked against any flags given.
    func resumedConfiguration(_ dir: String) throws -> (ExperimentConfiguration, checkpoint: String, every: Int, previous: [EpochReport]) {
        guard out == nil || out == dir else {
            throw usageError("--resume \(dir) writes into \(dir); drop --out \(out!) (or give the same directory)")
        }
        guard config == nil else { throw usageError("--resume takes the configuration from the checkpoint; drop --config") }
        let path = dir + "/" + Self.checkpointFile
        guard access(path, F_OK) == 0 else {
            throw AERecError.io(path: path, message: "no checkpoint to resume from (a run writes one with "
                + "--checkpoint-every N --out \(dir), and removes it when it completes)")
        }
        let stored = try Experiment.configuration(ofCheckpoint: path)
        var c = stored
        try dataOptions.apply(to: &c)
        try splitOptions.apply(to: &c)
        try modelOptions.apply(to: &c)
        if dataOptions.data != nil { try resolveDataPath(&c) }
        guard c == stored else {
            throw usageError("--resume continues the checkpoint's run exactly; flags that change its configuration "
                + "are not allowed (compare with \(dir)/\(RunOutput.configurationFile))")
        }
        let metadata = try TrainingCheckpoint.metadata(path: path)
        let every = checkpointEvery ?? metadata[Self.everyKey].flatMap { Int($0) } ?? 1
        return (c, path, every, try TrainingCheckpoint.history(path: path).epochs)
    }

    func run() throws {
        try runReportingErrors {
            if let n = checkpointEvery {
                guard n >= 1 else { throw usageError("--checkpoint-every must be ≥ 1, got \(n)") }
                guard out != nil || resume != nil else {
                    throw usageError("--checkpoint-every needs --out DIR (the checkpoint is DIR/\(Self.checkpointFile))")
                }
            }
            var c: ExperimentConfiguration
            var checkpoint: CheckpointOptions? = nil
            var previous: [EpochReport] = []
            let outDir = resume ?? out
            if let dir = resume {
                let r = try resumedConfiguration(dir)
                c = r.0
                previous = r.previous
                checkpoint = CheckpointOptions(path: r.checkpoint, every: r.every, resume: true,
                                               metadata: [Self.everyKey: String(r.every)])
            } else {
                c = try resolvedConfiguration()
                if let n = checkpointEvery, let out {
                    guard c.model != .ease && c.model != .pop else {
                        throw usageError("\(c.model.rawValue) is fitted in closed form in one step: it has no checkpoints")
                    }
                    checkpoint = CheckpointOptions(path: out + "/" + Self.checkpointFile, every: n,
                                                   metadata: [Self.everyKey: String(n)])
                }
            }
            var modelPath: String? = nil
            if let outDir {
                try makeDirectories(outDir)
                modelPath = outDir + "/" + RunOutput.modelFile
            }
            installInterruptHandler()
            output.note("aerec train: \(c.model.rawValue)\(c.activation.map { " (\($0.name) latent)" } ?? "") on \(c.dataPath), \(c.split.rawValue) protocol, seed \(c.seed)"
                        + (resume != nil ? ", resuming after epoch \(previous.count)" : ""))
            let data = try loadData(c, output: output)
            let split = try makeSplit(data, c, output: output)
            let run = try trainAndEvaluate(c, data: data, split: split, label: c.model.rawValue, output: output,
                                           saveTo: modelPath, checkpoint: checkpoint, previousEpochs: previous)
            var files: [String] = []
            if let out = outDir {
                let metric: Metric = c.model.predictsRatings ? .rmse : .ndcg(100)
                files = try RunOutput.write(to: out, configuration: run.resolved, epochs: run.epochs,
                                            validationMetric: metric, result: run.result)
                if let modelPath { files.append(modelPath) }
                // the run is complete: its checkpoint is stale
                if let checkpoint, interruptRequested == 0 { unlink(checkpoint.path) }
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
                o["out_dir"] = outDir.map(JSONValue.init) ?? .null
                o["resumed_after_epoch"] = resume != nil ? JSONValue(previous.count) : .null
                o["files"] = .array(files.map(JSONValue.init))
                o["stopped_by_interrupt"] = .bool(interruptRequested != 0)
                try printJSON(.object(o))
            }
        }
    }
}
