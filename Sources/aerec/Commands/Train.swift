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
            Reads the data, applies the filters, splits it under the chosen protocol, trains with
            early stopping on validation NDCG@100, evaluates on the test users and (with --out)
            writes DIR/model.aerec.

            Examples:
              aerec train --data ../shared/data/ml-100k/ratings.tsv.gz --threshold 3.5 \\
                          --model mult-dae --activation sigmoid --heldout-users 94 --out runs/dae
              aerec train --data ratings.tsv.gz --model ease --lambda 200 --json
              aerec train --data ../shared/data/gowalla-lightgcn/ratings.tsv.gz --split given \\
                          --test ../shared/data/gowalla-lightgcn/test.tsv.gz --model mult-vae
            """
    )

    @Option(help: "Interaction file (the ../shared/data TSV format, u.data, ratings.dat, ratings.csv; gzip or plain).")
    var data: String
    @Option(help: "Data format: auto, tsv, movielens-udata, movielens-dat, movielens-csv.") var format = "auto"
    @Option(help: "Keep only interactions with value > T (e.g. 3.5 for MovieLens, as vae_cf).") var threshold: Float?
    @Option(name: .customLong("min-user"), help: "Drop users with fewer interactions.") var minUser = 0
    @Option(name: .customLong("min-item"), help: "Drop items with fewer interactions.") var minItem = 0
    @Flag(name: .customLong("k-core"), help: "Apply --min-user/--min-item repeatedly until stable.") var kCore = false
    @Option(help: "Model: \(ModelKind.allCases.map(\.rawValue).joined(separator: ", ")).") var model: String
    @Option(help: "Latent activation: \(Activation.names.joined(separator: ", ")).") var activation: String?
    @Option(help: "Protocol: strong, ratio, loo, explicit, given.") var split = "strong"
    @Option(help: "Test file for --split given.") var test: String?
    @Option(name: .customLong("heldout-users"), help: "Strong protocol: validation users (and as many test users).")
    var heldoutUsers: Int?
    @Option(name: .customLong("test-fraction"), help: "ratio/explicit: share held out for test.") var testFraction: Double?
    @Option(help: "Random seed (splits, initialisation, shuffling, dropout).") var seed: UInt64 = 98765
    @Option(help: "Maximum epochs.") var epochs: Int?
    @Option(help: "Early-stopping patience in epochs.") var patience: Int?
    @Option(help: "Hidden width (Mult-VAE's 600 layer, AutoRec's hidden layer).") var hidden: Int?
    @Option(help: "Latent (code) width.") var latent: Int?
    @Option(help: "Learning rate.") var lr: Float?
    @Option(help: "Users per mini-batch.") var batch: Int?
    @Option(help: "EASE's λ, or the L2 penalty of the neural models.") var lambda: Float?
    @Option(help: "Input dropout / corruption probability.") var dropout: Float?
    @Option(name: .customLong("anneal-steps"), help: "Mult-VAE: updates over which β grows to its cap.") var annealSteps: Int?
    @Option(help: "Threads for kernels and BLAS.") var threads = 2
    @Option(help: "Write the model (model.aerec) into this directory.") var out: String?
    @Flag(help: "Print one JSON object as the last line.") var json = false
    @Flag(help: "Print nothing but errors (and --json output).") var quiet = false

    func configuration() throws -> ExperimentConfiguration {
        var c = ExperimentConfiguration(dataPath: data, model: try ModelKind(name: model))
        c.format = format
        c.threshold = threshold
        c.minUserInteractions = minUser
        c.minItemInteractions = minItem
        c.kCore = kCore
        guard let p = SplitProtocol(rawValue: split.lowercased()) else {
            throw AERecError.invalidArgument("unknown protocol '\(split)'; valid: \(SplitProtocol.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        c.split = p
        c.testPath = test
        c.heldOutUsers = heldoutUsers
        c.testFraction = testFraction
        c.seed = seed
        c.activation = try activation.map { try Activation(name: $0) }
        c.epochs = epochs
        c.patience = patience
        c.hidden = hidden
        c.latent = latent
        c.learningRate = lr
        c.batchSize = batch
        c.lambda = lambda
        c.dropout = dropout
        c.annealSteps = annealSteps
        c.threads = threads
        return c
    }

    func run() throws {
        try runReportingErrors {
            let config = try configuration()
            var modelPath: String? = nil
            if let out {
                try makeDirectories(out)
                modelPath = out + "/model.aerec"
            }
            let log = { (s: String) in if !quiet { printErr(s) } }
            log("aerec train: \(config.model.rawValue) on \(config.dataPath) (\(config.split.rawValue) protocol)")
            let (_, result) = try Experiment.run(config, saveTo: modelPath) { r in
                var line = "epoch \(r.epoch)  loss \(fmt(r.loss, 4))"
                if let v = r.validation { line += "  val \(fmt(v, 4))\(r.isBest ? " *" : "")" }
                line += "  \(fmt(r.trainSeconds, 2))s"
                log(line)
                return .proceed
            }
            if !quiet {
                print("model \(result.model)  activation \(result.activation ?? "-")  epochs \(result.epochsRun)  best epoch \(result.bestEpoch)")
                print("test users \(result.usersEvaluated) (skipped \(result.usersSkipped) with an empty target)")
                for name in result.metrics.keys.sorted() {
                    let ci = result.metricsCI[name].map { "  [\(fmt($0[0], 4)), \(fmt($0[1], 4))]" } ?? ""
                    print("  \(name.padding(18))\(fmt(result.metrics[name]!, 4))\(ci)")
                }
                if let modelPath { print("model written to \(modelPath)") }
            }
            if json { print(try result.json()) }
        }
    }
}
