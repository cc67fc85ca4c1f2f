/// Chooses a latent activation for one model on one split, with an EQUAL tuning budget for every
/// candidate, and reports theory and measurement side by side.
///
/// Procedure, for each candidate activation:
/// 1. tuning: one run per point of the grid ``learningRates`` × ``regularizations`` (the model's L2
///    weight: Mult-DAE/Mult-VAE `l2`, CDAE `l2`, AutoRec `λ`), seeded with ``tuningSeed``, early
///    stopping and best-epoch selection on the validation users; the point with the best validation
///    ``selectionMetric`` is chosen (ties: the earlier point);
/// 2. final: one run per seed in ``seeds`` at the chosen point (the tuning run is reused when its
///    seed is in ``seeds``), each evaluated on the validation and the test users (per-user values
///    kept) and probed for P1–P3 (``probe``) on ``probeRows``.
/// Every candidate gets the same number of runs, epochs and patience.
///
/// Recommendation: the best activation by mean validation metric over the seeds ("measurement");
/// sigmoid-like activations are the theory's choice. When the measured best is sigmoid-like, both
/// agree. Otherwise the best sigmoid-like and the best other activation are compared by a paired
/// t-test on the validation users' seed-averaged per-user values: without a significant difference
/// (p ≥ ``significanceLevel``) the theory breaks the tie and the sigmoid-like one is recommended;
/// with one, measurement wins and the disagreement is stated. The same paired tests (t and
/// Wilcoxon) on the TEST users are reported as the confirmation; they do not drive the choice.
///
/// ```swift
/// var selection = ActivationSelection(model: .multDAE)
/// selection.base.epochs = 50
/// let report = try selection.run(on: split) { print($0.line) }
/// print(report.markdown())
/// ```
public struct ActivationSelection: Sendable, Codable, Equatable {
    public var model: ModelKind
    public var candidates: [Activation]
    public var learningRates: [Float]
    /// The L2 grid; nil = ``defaultRegularizations(for:)``.
    public var regularizations: [Float]?
    /// Seeds of the final runs.
    public var seeds: [UInt64]
    /// Seed of the grid runs.
    public var tuningSeed: UInt64
    /// Everything else about the runs: dimensions, dropout, epochs, patience, batch size, threads
    /// (data fields are ignored; activation, learning rate, λ and seed are set per run).
    public var base: ExperimentConfiguration
    public var probe: PropertyProbe
    /// The validation metric of early stopping and of the choices; nil = NDCG@100 (RMSE for AutoRec).
    public var selectionMetric: Metric?
    /// Metrics reported on validation and test; nil = NDCG@100 and Recall@20 (RMSE and MAE for AutoRec).
    public var reportedMetrics: [Metric]?
    public var significanceLevel = 0.05

    /// The activations of the study: three sigmoid-like, tanh, ReLU and identity.
    public static let studyCandidates: [Activation] = [.sigmoid, .hardSigmoid, .softsign01, .tanh, .relu, .identity]

    public init(model: ModelKind, candidates: [Activation] = ActivationSelection.studyCandidates,
                learningRates: [Float] = [1e-3, 3e-3], regularizations: [Float]? = nil, seeds: [UInt64] = [1, 2, 3],
                tuningSeed: UInt64 = 1, base: ExperimentConfiguration? = nil, probe: PropertyProbe = PropertyProbe()) {
        self.model = model
        self.candidates = candidates
        self.learningRates = learningRates
        self.regularizations = regularizations
        self.seeds = seeds
        self.tuningSeed = tuningSeed
        self.base = base ?? ExperimentConfiguration(dataPath: "", model: model)
        self.probe = probe
    }

    /// The default L2 grid: Mult-DAE {0.001, 0.01} (vae_cf: 0.01), Mult-VAE {0, 0.01} (vae_cf: 0),
    /// CDAE {1e-5, 1e-4}, AutoRec λ {50, 200}.
    public static func defaultRegularizations(for model: ModelKind) -> [Float] {
        switch model {
        case .multDAE: return [0.001, 0.01]
        case .multVAE: return [0, 0.01]
        case .cdae: return [1e-5, 1e-4]
        case .autoRecI, .autoRecU: return [50, 200]
        case .ease: return [500]
        case .pop: return [0]
        }
    }

    public var resolvedRegularizations: [Float] { regularizations ?? Self.defaultRegularizations(for: model) }
    public var resolvedSelectionMetric: Metric { selectionMetric ?? (model.predictsRatings ? .rmse : .ndcg(100)) }
    public var resolvedReportedMetrics: [Metric] {
        var m = reportedMetrics ?? (model.predictsRatings ? [.rmse, .mae] : [.ndcg(100), .recall(20)])
        if !m.contains(resolvedSelectionMetric) { m.insert(resolvedSelectionMetric, at: 0) }
        return m
    }

    /// Runs per candidate: the grid plus the final seeds not covered by the tuning run.
    public var runsPerCandidate: Int {
        let grid = learningRates.count * resolvedRegularizations.count
        return grid + seeds.filter { $0 != tuningSeed }.count
    }

    func validate(_ split: Split) throws {
        guard model.isAutoencoder else {
            throw AERecError.invalidArgument("activation selection needs an autoencoder, got \(model.rawValue)")
        }
        guard !candidates.isEmpty, !learningRates.isEmpty, !resolvedRegularizations.isEmpty, !seeds.isEmpty else {
            throw AERecError.invalidArgument("activation selection needs candidates, a grid and seeds")
        }
        guard Set(seeds).count == seeds.count else { throw AERecError.invalidArgument("seeds must be distinct") }
        guard split.validation != nil else {
            throw AERecError.invalidArgument("activation selection chooses on validation users: the split has none")
        }
        for lr in learningRates where !(lr > 0 && lr.isFinite) {
            throw AERecError.invalidArgument("learning rates must be > 0, got \(lr)")
        }
    }

    /// The rows the probes encode: the training users (items × users for I-AutoRec).
    public func probeRows(_ split: Split) -> InteractionMatrix {
        model == .autoRecI ? split.train.transposed() : split.train
    }

    /// Trains, evaluates and probes every candidate; `progress` is called after every trained run.
    public func run(on split: Split, progress: ((SelectionProgress) -> Void)? = nil) throws -> SelectionReport {
        try validate(split)
        let start = monotonicSeconds()
        let validation = split.validation!
        let metrics = resolvedReportedMetrics, key = resolvedSelectionMetric
        let regs = resolvedRegularizations
        let total = runsPerCandidate * candidates.count
        let probeInput = probeRows(split)
        var completed = 0
        var runs: [SelectionRun] = []
        var grids: [String: [GridPoint]] = [:]
        let evaluator = Evaluator(metrics: metrics, batchSize: base.resolvedBatchSize, threads: base.threads)

        for activation in candidates {
            // 1. tuning
            var points: [GridPoint] = []
            var bestModel: (any TrainableRecommender)? = nil
            var bestHistory: TrainingHistory? = nil
            var bestIndex = -1
            for lr in learningRates {
                for reg in regs {
                    let (model, history) = try train(activation, lr: lr, reg: reg, seed: tuningSeed, split: split)
                    let v = try evaluator.evaluate(model, on: validation)[key]?.value ?? .nan
                    let point = GridPoint(learningRate: lr, regularization: reg, validation: v,
                                          epochsRun: history.epochs.count, bestEpoch: history.bestEpoch,
                                          seconds: history.seconds)
                    points.append(point)
                    let better = bestIndex < 0 || Self.better(v, than: points[bestIndex].validation, key)
                    if better {
                        bestIndex = points.count - 1
                        bestModel = model
                        bestHistory = history
                    }
                    completed += 1
                    progress?(SelectionProgress(phase: .tuning, activation: activation, learningRate: lr,
                                                regularization: reg, seed: tuningSeed, completed: completed, total: total,
                                                validation: v, metric: key, seconds: history.seconds))
                }
            }
            grids[activation.name] = points
            let chosen = points[bestIndex]
            // 2. final runs at the chosen point
            for seed in seeds {
                let model: any TrainableRecommender, history: TrainingHistory
                let reused = seed == tuningSeed
                if reused {
                    model = bestModel!
                    history = bestHistory!
                } else {
                    (model, history) = try train(activation, lr: chosen.learningRate, reg: chosen.regularization,
                                                 seed: seed, split: split)
                }
                let v = try evaluator.evaluate(model, on: validation)
                let t = try evaluator.evaluate(model, on: split.test)
                guard let ae = model as? any Autoencoder else {
                    throw AERecError.invalidArgument("\(model.kind.rawValue) has no encoder to probe")
                }
                var p = probe
                p.seed = probe.seed &+ seed
                let report = try p.probe(ae, on: probeInput)
                let run = SelectionRun(
                    activation: activation, family: activation.family, seed: seed, learningRate: chosen.learningRate,
                    regularization: chosen.regularization, reusedTuningRun: reused, epochsRun: history.epochs.count,
                    bestEpoch: history.bestEpoch, trainSeconds: history.seconds,
                    validation: Self.values(v, metrics), test: Self.values(t, metrics),
                    validationPerUser: Self.perUser(v, metrics), testPerUser: Self.perUser(t, metrics),
                    validationUsers: v.users, testUsers: t.users, probe: report)
                runs.append(run)
                if !reused {
                    completed += 1
                    progress?(SelectionProgress(phase: .final, activation: activation, learningRate: chosen.learningRate,
                                                regularization: chosen.regularization, seed: seed, completed: completed,
                                                total: total, validation: run.validation[key.name] ?? .nan, metric: key,
                                                seconds: history.seconds))
                }
            }
        }
        return try SelectionReport.assemble(selection: self, runs: runs, grids: grids,
                                            seconds: monotonicSeconds() - start)
    }

    static func better(_ a: Double, than b: Double, _ metric: Metric) -> Bool {
        if a.isNaN { return false }
        if b.isNaN { return true }
        return metric.higherIsBetter ? a > b : a < b
    }

    static func values(_ r: EvaluationResult, _ metrics: [Metric]) -> [String: Double] {
        var out: [String: Double] = [:]
        for m in metrics { if let v = r[m]?.value { out[m.name] = v } }
        return out
    }

    static func perUser(_ r: EvaluationResult, _ metrics: [Metric]) -> [String: [Double]] {
        var out: [String: [Double]] = [:]
        for m in metrics { if let v = r[m]?.perUser, !v.isEmpty { out[m.name] = v } }
        return out
    }

    /// One training run through the model factory and the shared trainer.
    func train(_ activation: Activation, lr: Float, reg: Float, seed: UInt64,
               split: Split) throws -> (any TrainableRecommender, TrainingHistory) {
        var config = base
        config.model = model
        config.activation = activation
        config.learningRate = lr
        config.lambda = reg
        config.seed = seed
        let batch = config.resolvedBatchSize
        let batchesPerEpoch = (split.train.rowCount + batch - 1) / batch
        let m = try ModelFactory.make(config, itemCount: split.train.columnCount, userCount: split.train.rowCount,
                                      batchesPerEpoch: batchesPerEpoch)
        var options = TrainingOptions(epochs: config.resolvedEpochs, batchSize: batch, seed: seed,
                                      threads: config.threads)
        if let p = config.patience { options.earlyStoppingPatience = p }
        options.validationMetric = resolvedSelectionMetric
        let history = try m.fit(split.train, validation: split.validation, options: options, callback: nil)
        return (m, history)
    }
}

/// One step of the selection, passed to the progress callback after every trained run.
public struct SelectionProgress: Sendable, Codable, Equatable {
    public enum Phase: String, Sendable, Codable { case tuning, final }
    public var phase: Phase
    public var activation: Activation
    public var learningRate: Float
    public var regularization: Float
    public var seed: UInt64
    /// Runs finished so far and in all.
    public var completed: Int
    public var total: Int
    /// The run's validation value of `metric`.
    public var validation: Double
    public var metric: Metric
    public var seconds: Double

    /// "[7/48] tuning sigmoid lr 0.003 reg 0.01 seed 1: ndcg@100 0.4123 (12.3 s)".
    public var line: String {
        "[\(completed)/\(total)] \(phase.rawValue) \(activation.name) lr \(formatProperty(learningRate)) reg \(formatProperty(regularization)) seed \(seed): \(metric.name) \(Statistics.format(validation)) (\(Statistics.format(seconds, digits: 1)) s)"
    }
}

/// One point of the tuning grid.
public struct GridPoint: Sendable, Codable, Equatable {
    public var learningRate: Float
    public var regularization: Float
    /// Validation value of the selection metric.
    public var validation: Double
    public var epochsRun: Int
    public var bestEpoch: Int
    public var seconds: Double
}

/// One final run: its metrics (with per-user values for paired tests) and its probe report.
public struct SelectionRun: Sendable, Codable, Equatable {
    public var activation: Activation
    public var family: ActivationFamily
    public var seed: UInt64
    public var learningRate: Float
    public var regularization: Float
    public var reusedTuningRun: Bool
    public var epochsRun: Int
    public var bestEpoch: Int
    public var trainSeconds: Double
    /// Metric name → mean over users.
    public var validation: [String: Double]
    public var test: [String: Double]
    /// Metric name → per-user values (aligned with validationUsers / testUsers).
    public var validationPerUser: [String: [Double]]
    public var testPerUser: [String: [Double]]
    public var validationUsers: [Int32]
    public var testUsers: [Int32]
    public var probe: ProbeReport
}
