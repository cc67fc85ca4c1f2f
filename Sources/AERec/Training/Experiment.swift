#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything `aerec train` does, as one value: data, filters, protocol, model, training and
/// evaluation settings. Fields left nil take the model's or protocol's defaults.
public struct ExperimentConfiguration: Sendable, Codable, Equatable {
    // data
    public var dataPath: String
    /// "auto", "tsv", "movielens-udata", "movielens-dat", "movielens-csv".
    public var format = "auto"
    /// Keep only interactions with value > threshold (vae_cf uses 3.5 on MovieLens).
    public var threshold: Float?
    public var minUserInteractions = 0
    public var minItemInteractions = 0
    public var kCore = false
    // protocol
    public var split: SplitProtocol = .strong
    /// The test file of the `given` protocol.
    public var testPath: String?
    /// Strong generalisation: users held out for validation and as many for test (default 10 % each).
    public var heldOutUsers: Int?
    /// ratio / explicit: share held out for test.
    public var testFraction: Double?
    /// ratio / explicit: share held out for validation (default 0.1 for models that train iteratively);
    /// given: share of each user's training interactions held out for validation (default 0: none).
    public var validationFraction: Double?
    public var seed: UInt64 = 98765
    // model
    public var model: ModelKind = .multVAE
    public var activation: Activation?
    public var hidden: Int?
    public var latent: Int?
    public var learningRate: Float?
    public var batchSize: Int?
    /// EASE's λ, or the L2 penalty of the neural models.
    public var lambda: Float?
    /// EASE: the solve's arithmetic (default float32).
    public var easePrecision: EASEPrecision?
    public var dropout: Float?
    /// Mult-VAE: updates over which β grows to its cap (default: reach the cap at 80 % of the run).
    public var annealSteps: Int?
    /// Mult-VAE: the largest KL weight β (default 0.2; 0 trains without the KL term's gradient).
    public var betaCap: Float?
    public var epochs: Int?
    public var patience: Int?
    public var threads = 2
    /// Metrics reported on the test users (default: the ranking set, or rmse/mae for AutoRec).
    public var metrics: [Metric]?

    public init(dataPath: String, model: ModelKind = .multVAE) {
        self.dataPath = dataPath
        self.model = model
    }

    /// The metrics reported when none are given.
    public static let defaultRankingMetrics: [Metric] = [
        .ndcg(100), .ndcg(20), .recall(20), .recall(50), .recallUncapped(20), .precision(20), .hitRate(20), .map(100),
        .mrr, .coverage(100),
    ]
    public var resolvedMetrics: [Metric] {
        metrics ?? (model.predictsRatings ? [.rmse, .mae] : Self.defaultRankingMetrics)
    }

    public var resolvedEpochs: Int { epochs ?? (model == .ease || model == .pop ? 1 : 100) }

    /// Users (or, for I-AutoRec, items) per mini-batch: 500 as Liang et al., 100 for CDAE (whose
    /// per-user node needs more updates per epoch to converge within 100 epochs on small data).
    public var resolvedBatchSize: Int { batchSize ?? (model == .cdae ? 100 : 500) }
}

/// The outcome of an experiment, with the JSON shape of `aerec train --json`.
public struct ExperimentResult: Sendable, Codable, Equatable {
    public var model: String
    public var activation: String?
    /// Test metric means by name ("ndcg@100": 0.42, ...).
    public var metrics: [String: Double]
    /// 95 % confidence intervals by name ([low, high]).
    public var metricsCI: [String: [Double]]
    public var usersEvaluated: Int
    public var usersSkipped: Int
    public var epochsRun: Int
    public var bestEpoch: Int
    public var bestValidation: Double?
    public var epochSeconds: [Double]
    public var trainSeconds: Double
    public var modelPath: String?
    public var data: DataSummary
    public var configuration: ExperimentConfiguration

    public struct DataSummary: Sendable, Codable, Equatable {
        public var users: Int
        public var items: Int
        public var interactions: Int
        public var trainUsers: Int
        public var validationUsers: Int
        public var testUsers: Int
        public var report: DataReport
    }

    enum CodingKeys: String, CodingKey {
        case model, activation, metrics, metricsCI = "metrics_ci", usersEvaluated = "users_evaluated"
        case usersSkipped = "users_skipped", epochsRun = "epochs_run", bestEpoch = "best_epoch"
        case bestValidation = "best_validation", epochSeconds = "epoch_seconds", trainSeconds = "train_seconds"
        case modelPath = "model_path", data, configuration
    }

    /// One-line JSON (sorted keys).
    public func json() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(self), as: UTF8.self)
    }
}

/// Builds models from an ExperimentConfiguration.
public enum ModelFactory {
    /// A fresh, untrained model of `config.model` for `itemCount` items (and `userCount` training
    /// users, for models with per-user parameters).
    public static func make(_ config: ExperimentConfiguration, itemCount: Int, userCount: Int,
                            batchesPerEpoch: Int) throws -> any TrainableRecommender {
        try requireModelSpecificOptionsApply(config)
        switch config.model {
        case .multDAE:
            return try MultDAE(itemCount: itemCount, configuration: try multDAEConfiguration(config), seed: config.seed)
        case .multVAE:
            return try MultVAE(itemCount: itemCount,
                               configuration: try multVAEConfiguration(config, batchesPerEpoch: batchesPerEpoch),
                               seed: config.seed)
        case .ease:
            return try EASE(itemCount: itemCount, configuration: easeConfiguration(config))
        case .pop:
            return try Popularity(itemCount: itemCount)
        default:
            return try makeOther(config, itemCount: itemCount, userCount: userCount)
        }
    }

    /// Checks every setting of `config` that does not depend on the data (unknown or out-of-range
    /// values), without building a model. The latent width against the item count is checked when
    /// the model is built.
    public static func validate(_ config: ExperimentConfiguration) throws {
        let many = Int(Int32.max)
        try requireModelSpecificOptionsApply(config)
        switch config.model {
        case .multDAE: try multDAEConfiguration(config).validate(itemCount: many)
        case .multVAE: try multVAEConfiguration(config, batchesPerEpoch: 1).validate(itemCount: many)
        case .cdae: try cdaeConfiguration(config).validate(itemCount: many, userCount: many)
        case .autoRecI, .autoRecU: try autoRecConfiguration(config).validate(itemCount: many, userCount: many)
        case .ease:
            let lambda = config.lambda ?? 500
            guard lambda >= 0, lambda.isFinite else { throw AERecError.invalidArgument("EASE's lambda must be ≥ 0, got \(lambda)") }
        case .pop: break
        }
    }

    /// The latent activation the model of `config` will use (nil for EASE and popularity).
    public static func latentActivation(_ config: ExperimentConfiguration) throws -> Activation? {
        switch config.model {
        case .multDAE: return try multDAEConfiguration(config).latentActivation
        case .multVAE: return try multVAEConfiguration(config, batchesPerEpoch: 1).latentActivation
        case .cdae: return try cdaeConfiguration(config).latentActivation
        case .autoRecI, .autoRecU: return try autoRecConfiguration(config).latentActivation
        case .ease, .pop: return nil
        }
    }

    static func adam(_ config: ExperimentConfiguration) -> AdamConfiguration {
        var adam = AdamConfiguration()
        if let lr = config.learningRate { adam.learningRate = lr }
        return adam
    }

    /// An EASE precision or a β cap on another model is a mistake (a config file edited for another model),
    /// not something to ignore.
    static func requireModelSpecificOptionsApply(_ config: ExperimentConfiguration) throws {
        if let p = config.easePrecision, config.model != .ease {
            throw AERecError.invalidArgument("easePrecision (\(p.rawValue)) applies to EASE only, not \(config.model.rawValue)")
        }
        if let b = config.betaCap, config.model != .multVAE {
            throw AERecError.invalidArgument("betaCap (\(b)) applies to Mult-VAE only, not \(config.model.rawValue)")
        }
    }

    static func easeConfiguration(_ config: ExperimentConfiguration) -> EASEConfiguration {
        EASEConfiguration(lambda: config.lambda ?? 500, precision: config.easePrecision ?? .float32)
    }

    static func multDAEConfiguration(_ config: ExperimentConfiguration) throws -> MultDAEConfiguration {
        var c = MultDAEConfiguration(optimizer: adam(config))
        if let a = config.activation { c.latentActivation = a }
        if let d = config.latent ?? config.hidden { c.latentDimension = d }
        if let l = config.lambda { c.l2 = l }
        if let p = config.dropout { c.dropout = p }
        return c
    }

    static func multVAEConfiguration(_ config: ExperimentConfiguration, batchesPerEpoch: Int) throws -> MultVAEConfiguration {
        var c = MultVAEConfiguration(optimizer: adam(config))
        if let a = config.activation { c.latentActivation = a }
        if let h = config.hidden { c.hiddenDimension = h }
        if let d = config.latent { c.latentDimension = d }
        if let l = config.lambda { c.l2 = l }
        if let p = config.dropout { c.dropout = p }
        if let b = config.betaCap { c.betaCap = b }
        // β reaches its cap at 80 % of the planned updates unless told otherwise (β = 0: no annealing)
        let planned = max(1, config.resolvedEpochs * batchesPerEpoch)
        c.annealSteps = config.annealSteps
            ?? (c.betaCap > 0 ? max(1, Int((Double(planned) * 0.8 / Double(c.betaCap)).rounded())) : 0)
        return c
    }
}

/// Runs experiments: read → filter → split → train → evaluate → save.
public enum Experiment {
    /// Reads and filters the configured data.
    public static func loadData(_ config: ExperimentConfiguration) throws -> Interactions {
        let data = try InteractionReader.read(path: config.dataPath, format: try parseFormat(config.format))
        let filter = InteractionFilter(threshold: config.threshold, minUserInteractions: config.minUserInteractions,
                                       minItemInteractions: config.minItemInteractions, kCore: config.kCore)
        return try filter.apply(to: data)
    }

    /// The data format for a name ("auto", "tsv", "movielens-udata", "movielens-dat", "movielens-csv").
    public static func parseFormat(_ name: String) throws -> DataFormat {
        let table: [String: DataFormat] = [
            "auto": .auto, "tsv": .tsv, "movielens-udata": .movieLensUData, "udata": .movieLensUData,
            "movielens-dat": .movieLensDat, "dat": .movieLensDat, "movielens-csv": .movieLensCSV, "csv": .movieLensCSV,
        ]
        if let f = table[name.lowercased()] { return f }
        let hint = didYouMean(name.lowercased(), among: Array(table.keys)).map { " (did you mean '\($0)'?)" } ?? ""
        throw AERecError.invalidArgument("unknown data format '\(name)'\(hint); valid: \(table.keys.sorted().joined(separator: ", "))")
    }

    /// The split the configuration asks for.
    public static func makeSplit(_ data: Interactions, _ config: ExperimentConfiguration) throws -> Split {
        let iterative = !(config.model == .ease || config.model == .pop)
        var s: SplitConfiguration
        switch config.split {
        case .strong:
            let n = config.heldOutUsers ?? max(1, data.userIDs.count / 10)
            s = .strong(heldOutUsers: n, seed: config.seed)
        case .ratio:
            s = .ratio(testFraction: config.testFraction ?? 0.2,
                       validationFraction: config.validationFraction ?? (iterative ? 0.1 : 0), seed: config.seed)
        case .loo:
            s = .leaveOneOut(validation: iterative, seed: config.seed)
        case .explicit:
            s = .explicit(testFraction: config.testFraction ?? 0.1,
                          validationFraction: config.validationFraction ?? (iterative ? 0.1 : 0), seed: config.seed)
        case .given:
            guard let t = config.testPath else {
                throw AERecError.invalidArgument("the 'given' protocol needs a test file (--test PATH)")
            }
            s = .given(testFile: t, format: try parseFormat(config.format),
                       validationFraction: config.validationFraction ?? 0, seed: config.seed)
        }
        return try AERec.makeSplit(data, s)
    }

    /// Runs the whole job. `onEpoch` sees every epoch report and may stop training.
    public static func run(_ config: ExperimentConfiguration, saveTo modelPath: String? = nil,
                           checkpoint: CheckpointOptions? = nil,
                           onEpoch: ((EpochReport) -> TrainingDecision)? = nil) throws -> (any TrainableRecommender, ExperimentResult) {
        let data = try loadData(config)
        let split = try makeSplit(data, config)
        return try run(config, split: split, data: data, saveTo: modelPath, checkpoint: checkpoint, onEpoch: onEpoch)
    }

    /// The metadata key under which ``run(_:split:data:saveTo:checkpoint:onEpoch:)`` stores the
    /// configuration (JSON) in its checkpoints.
    public static let checkpointConfigurationKey = "experiment.configuration"

    /// The configuration of the run whose checkpoint is at `path` (read from the file's header).
    public static func configuration(ofCheckpoint path: String) throws -> ExperimentConfiguration {
        let metadata = try TrainingCheckpoint.metadata(path: path)
        guard let json = metadata[checkpointConfigurationKey] else {
            throw AERecError.modelFile(path: path, message: "checkpoint without an experiment configuration "
                + "(not written by Experiment.run / aerec train)")
        }
        return try TrainingCheckpoint.decodeJSON(ExperimentConfiguration.self, json, key: checkpointConfigurationKey,
                                                 path: path)
    }

    /// Runs training and evaluation on a prepared split. With `checkpoint`, the gradient-trained
    /// models write checkpoints (the configuration is stored in them), and with
    /// ``CheckpointOptions/resume`` continue the run of the checkpoint: the model and the result are
    /// bit-identical to an uninterrupted run.
    public static func run(_ config: ExperimentConfiguration, split: Split, data: Interactions? = nil,
                           saveTo modelPath: String? = nil, checkpoint: CheckpointOptions? = nil,
                           onEpoch: ((EpochReport) -> TrainingDecision)? = nil) throws -> (any TrainableRecommender, ExperimentResult) {
        let batch = config.resolvedBatchSize
        let batchesPerEpoch = (split.train.rowCount + batch - 1) / batch
        // refuse before allocating anything when the machine cannot hold the model and its training
        try ModelFactory.requireMemory(config, itemCount: split.train.columnCount, userCount: split.train.rowCount)
        let model = try ModelFactory.make(config, itemCount: split.train.columnCount, userCount: split.train.rowCount,
                                          batchesPerEpoch: batchesPerEpoch)
        var options = TrainingOptions(epochs: config.resolvedEpochs, batchSize: batch, seed: config.seed,
                                      threads: config.threads)
        if let p = config.patience { options.earlyStoppingPatience = p }
        if config.model.predictsRatings { options.validationMetric = .rmse }
        // The id maps and the protocol go on the model before training, so that checkpoints carry
        // them too: `aerec evaluate checkpoint.aerec` then matches items by external id and
        // recreates the same split, as with the final model file.
        setIDs(model, items: split.itemIDs, users: split.trainUsers.map { split.userIDs[Int($0)] })
        if var c = checkpoint {
            c.metadata[checkpointConfigurationKey] = try TrainingCheckpoint.jsonText(config)
            c.metadata[ModelState.MetadataKey.seed] = String(config.seed)
            c.metadata[ModelState.MetadataKey.dataPath] = config.dataPath
            c.metadata[ModelState.MetadataKey.split] = config.split.rawValue
            options.checkpoint = c
        }
        let history = try model.fit(split.train, validation: split.validation, options: options, callback: onEpoch)
        let evaluator = Evaluator(metrics: config.resolvedMetrics, batchSize: batch, threads: config.threads)
        let eval = try evaluator.evaluate(model, on: split.test)
        var metrics: [String: Double] = [:], cis: [String: [Double]] = [:]
        for m in config.resolvedMetrics {
            guard let v = eval[m] else { continue }
            metrics[m.name] = v.value
            if let ci = v.confidenceInterval { cis[m.name] = [ci.lowerBound, ci.upperBound] }
        }
        if let path = modelPath, let p = model as? any PersistableModel {
            try p.save(to: path, metadata: [
                ModelState.MetadataKey.seed: String(config.seed), ModelState.MetadataKey.epochs: String(history.epochs.count),
                ModelState.MetadataKey.bestEpoch: String(history.bestEpoch), ModelState.MetadataKey.dataPath: config.dataPath,
                ModelState.MetadataKey.split: config.split.rawValue,
            ])
        }
        let summary = ExperimentResult.DataSummary(
            users: split.userIDs.count, items: split.itemIDs.count, interactions: data?.count ?? split.train.nnz,
            trainUsers: split.train.rowCount, validationUsers: split.validation?.count ?? 0, testUsers: split.test.count,
            report: data?.report ?? DataReport())
        let result = ExperimentResult(
            model: config.model.rawValue, activation: (model as? any Autoencoder)?.latentActivation.name,
            metrics: metrics, metricsCI: cis, usersEvaluated: eval.usersEvaluated, usersSkipped: eval.usersSkipped,
            epochsRun: history.epochs.count, bestEpoch: history.bestEpoch, bestValidation: history.bestValidation,
            epochSeconds: history.epochs.map(\.trainSeconds), trainSeconds: history.seconds, modelPath: modelPath,
            data: summary, configuration: config)
        return (model, result)
    }

    static func setIDs(_ model: any Recommender, items: IDMap, users: [String]) {
        let userMap = try? IDMap(ids: users)
        if let m = model as? MultDAE { m.itemIDs = items; m.userIDs = userMap }
        if let m = model as? MultVAE { m.itemIDs = items; m.userIDs = userMap }
        if let m = model as? EASE { m.itemIDs = items; m.userIDs = userMap }
        if let m = model as? Popularity { m.itemIDs = items; m.userIDs = userMap }
        setOtherIDs(model, items: items, users: userMap)
    }
}

/// Loads any model file, whatever its kind.
public enum AnyModel {
    public static func load(path: String) throws -> any Recommender {
        let state = try ModelFile.read(path: path)
        switch state.kind {
        case .multDAE: return try MultDAE.restore(from: state)
        case .multVAE: return try MultVAE.restore(from: state)
        case .ease: return try EASE.restore(from: state)
        case .pop: return try Popularity.restore(from: state)
        default: return try restoreOther(state)
        }
    }
}
