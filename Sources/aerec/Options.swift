import AERec
import ArgumentParser

/// `--json` and `--quiet`, shared by every subcommand.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print one JSON object as the last line of standard output.") var json = false
    @Flag(name: [.customShort("q"), .long], help: "Print nothing but errors (and the --json line).") var quiet = false

    /// Human-readable output goes to stdout unless --quiet.
    func say(_ s: String) { if !quiet { print(s) } }
    /// Progress and phase messages go to stderr unless --quiet.
    func note(_ s: String) { if !quiet { printErr(s) } }
}

/// Where the interactions come from and how they are filtered. Every field is optional so that a
/// configuration file can supply it and an explicit flag can override it.
struct DataOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Interaction file: the ../shared/data TSV format, u.data, ratings.dat, ratings.csv or any CSV/TSV (gzip or plain); 'builtin' = the shipped MovieTweetings 10-core.",
        valueName: "path"))
    var data: String?
    @Option(help: "Data format: auto, tsv, movielens-udata, movielens-dat, movielens-csv.") var format: String?
    @Option(help: ArgumentHelp("Keep only interactions with value > T (vae_cf uses 3.5 on MovieLens).", valueName: "T"))
    var threshold: Float?
    @Option(name: .customLong("min-user"), help: "Drop users with fewer interactions.") var minUser: Int?
    @Option(name: .customLong("min-item"), help: "Drop items with fewer interactions.") var minItem: Int?
    @Flag(name: .customLong("k-core"), inversion: .prefixedNo,
          help: "Apply --min-user/--min-item repeatedly until stable.")
    var kCore: Bool?

    func apply(to c: inout ExperimentConfiguration) throws {
        if let data { c.dataPath = data }
        if let format { _ = try Experiment.parseFormat(format); c.format = format }
        if let threshold { c.threshold = threshold }
        if let minUser {
            guard minUser >= 0 else { throw usageError("--min-user must be ≥ 0, got \(minUser)") }
            c.minUserInteractions = minUser
        }
        if let minItem {
            guard minItem >= 0 else { throw usageError("--min-item must be ≥ 0, got \(minItem)") }
            c.minItemInteractions = minItem
        }
        if let kCore { c.kCore = kCore }
    }
}

/// The evaluation protocol and its parameters.
struct SplitOptions: ParsableArguments {
    @Option(name: [.customLong("split"), .customLong("protocol")],
            help: "Protocol: strong, ratio, loo, explicit, given (--protocol is the same option).")
    var split: String?
    @Option(help: ArgumentHelp("Test file for --split given (its users' other interactions in --data are their history).",
                               valueName: "path"))
    var test: String?
    @Option(name: .customLong("heldout-users"), help: "strong: validation users, and as many test users (default 10 % each).")
    var heldoutUsers: Int?
    @Option(name: .customLong("test-fraction"), help: "ratio/explicit: share held out for test.") var testFraction: Double?
    @Option(name: .customLong("validation-fraction"),
            help: "ratio/explicit: share held out for validation; given: share of each user's training interactions (default 0).")
    var validationFraction: Double?
    @Option(help: "Random seed (split, initialisation, shuffling, dropout; default 98765).") var seed: UInt64?

    func apply(to c: inout ExperimentConfiguration) throws {
        if let split { c.split = try SplitProtocol(name: split) }
        if let test {
            c.testPath = test
            if split == nil { c.split = .given }
        }
        if let heldoutUsers {
            guard heldoutUsers >= 1 else { throw usageError("--heldout-users must be ≥ 1, got \(heldoutUsers)") }
            c.heldOutUsers = heldoutUsers
        }
        for (name, v) in [("--test-fraction", testFraction), ("--validation-fraction", validationFraction)] {
            if let v, !(v >= 0 && v < 1) { throw usageError("\(name) must be in [0, 1), got \(v)") }
        }
        if let testFraction { c.testFraction = testFraction }
        if let validationFraction { c.validationFraction = validationFraction }
        if let seed { c.seed = seed }
    }
}

/// Model and training hyperparameters.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Model: \(ModelKind.allCases.map(\.rawValue).joined(separator: ", ")) (default mult-vae).",
                               valueName: "name"))
    var model: String?
    @Option(help: ArgumentHelp("Latent activation: \(Activation.names.joined(separator: ", ")).", valueName: "name"))
    var activation: String?
    @Option(help: "Maximum epochs.") var epochs: Int?
    @Option(help: "Early-stopping patience in epochs (default 20).") var patience: Int?
    @Option(help: "Hidden width (Mult-VAE's 600 layer; the code width of the one-layer models).") var hidden: Int?
    @Option(help: "Latent (code) width.") var latent: Int?
    @Option(help: "Learning rate (Adam).") var lr: Float?
    @Option(help: "Users per mini-batch (default 500).") var batch: Int?
    @Option(help: "EASE's λ, or the L2 penalty of the neural models.") var lambda: Float?
    @Option(help: ArgumentHelp("EASE's solve: float32 (default; fastest, I² floats) or float64 (3 I² floats while "
                               + "fitting, about twice the time; the weights rounded to float32 once, scores summed in float64).",
                               valueName: "float32|float64"))
    var precision: String?
    @Option(help: "Input dropout / corruption probability.") var dropout: Float?
    @Option(name: .customLong("anneal-steps"), help: "Mult-VAE: updates over which β grows to its cap.") var annealSteps: Int?
    @Option(name: .customLong("beta-cap"),
            help: ArgumentHelp("Mult-VAE: the KL weight's cap β (default 0.2; reached at 80 % of the epochs unless --anneal-steps).",
                               valueName: "β"))
    var betaCap: Float?
    @Option(help: "Threads for kernels and BLAS (default 2).") var threads: Int?
    @Option(help: ArgumentHelp("Test metrics, comma-separated (e.g. ndcg@100,recall@20,mrr).", valueName: "list"))
    var metrics: [String] = []

    func apply(to c: inout ExperimentConfiguration) throws {
        if let model { c.model = try ModelKind(name: model) }
        if let activation { c.activation = try Activation(name: activation) }
        if let v = try positiveFlag("epochs", epochs) { c.epochs = v }
        if let v = try positiveFlag("patience", patience) { c.patience = v }
        if let v = try positiveFlag("hidden", hidden) { c.hidden = v }
        if let v = try positiveFlag("latent", latent) { c.latent = v }
        if let v = try positiveFlag("batch", batch) { c.batchSize = v }
        if let v = try positiveFlag("anneal-steps", annealSteps) { c.annealSteps = v }
        if let v = try threadsFlag(threads) { c.threads = v }
        if let lr {
            guard lr > 0, lr.isFinite else { throw usageError("--lr must be a positive number, got \(lr)") }
            c.learningRate = lr
        }
        if let lambda {
            guard lambda >= 0, lambda.isFinite else { throw usageError("--lambda must be ≥ 0, got \(lambda)") }
            c.lambda = lambda
        }
        if let v = try dropoutFlag(dropout) { c.dropout = v }
        if let betaCap {
            guard betaCap >= 0, betaCap.isFinite else { throw usageError("--beta-cap must be ≥ 0, got \(betaCap)") }
            c.betaCap = betaCap
        }
        if let m = try parseMetrics(metrics) { c.metrics = m }
        if let precision {
            guard let p = EASEPrecision(rawValue: precision) else {
                throw usageError("--precision must be float32 or float64, got '\(precision)'")
            }
            c.easePrecision = p
        }
        if c.easePrecision != nil && c.model != .ease {
            throw usageError("--precision applies to --model ease only (this run trains \(c.model.rawValue))")
        }
        if c.betaCap != nil && c.model != .multVAE {
            throw usageError("--beta-cap applies to --model mult-vae only (this run trains \(c.model.rawValue))")
        }
    }
}

/// A count flag (`--epochs`, `--batch`, …): nil when not given, else at least 1.
func positiveFlag(_ name: String, _ v: Int?) throws -> Int? {
    if let v, v < 1 { throw usageError("--\(name) must be ≥ 1, got \(v)") }
    return v
}

/// `--threads`: nil when not given, else in 1...256.
func threadsFlag(_ v: Int?) throws -> Int? {
    if let v, !(1...256).contains(v) { throw usageError("--threads must be in 1...256, got \(v)") }
    return v
}

/// `--dropout`: nil when not given, else in [0, 1).
func dropoutFlag(_ v: Float?) throws -> Float? {
    if let v, !(v >= 0 && v < 1) { throw usageError("--dropout must be in [0, 1), got \(v)") }
    return v
}

/// Resolves `--data builtin` and checks that a data path is set.
func resolveDataPath(_ c: inout ExperimentConfiguration, default fallback: String? = nil) throws {
    if c.dataPath.isEmpty, let fallback { c.dataPath = fallback }
    guard !c.dataPath.isEmpty else {
        throw usageError("no data: give --data PATH (or --data builtin for the shipped dataset), or a --config file with \"dataPath\"")
    }
    c.dataPath = try BuiltinDataset.resolve(c.dataPath)
}

/// The base configuration: the --config file over the library defaults (empty data path).
func baseConfiguration(configFile: String?) throws -> ExperimentConfiguration {
    let defaults = ExperimentConfiguration(dataPath: "")
    guard let configFile else { return defaults }
    return try ExperimentConfiguration.load(path: configFile, over: defaults)
}
