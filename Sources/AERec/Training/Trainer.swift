#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How to run training (the model's own configuration holds architecture and optimiser).
public struct TrainingOptions: Sendable, Codable, Equatable {
    /// Maximum number of passes over the training users.
    public var epochs = 100
    /// Users per mini-batch.
    public var batchSize = 500
    /// Seed of every random choice (initialisation, shuffling, dropout, sampling).
    public var seed: UInt64 = 98765
    /// Threads for the C kernels and OpenBLAS. Same seed and thread count ⇒ bit-identical model.
    public var threads = 2
    /// Stop when the validation metric has not improved for this many validations (nil: never).
    public var earlyStoppingPatience: Int? = 20
    /// The metric early stopping watches and the best epoch is chosen by.
    public var validationMetric: Metric = .ndcg(100)
    /// Validate every this many epochs.
    public var validateEvery = 1
    /// Checkpoints: where, how often, and whether to continue from one (nil: none). Only the
    /// gradient-trained models (Mult-DAE, Mult-VAE, CDAE, AutoRec) write checkpoints.
    public var checkpoint: CheckpointOptions? = nil

    public init(epochs: Int = 100, batchSize: Int = 500, seed: UInt64 = 98765, threads: Int = 2,
                earlyStoppingPatience: Int? = 20, validationMetric: Metric = .ndcg(100), validateEvery: Int = 1,
                checkpoint: CheckpointOptions? = nil) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.seed = seed
        self.threads = threads
        self.earlyStoppingPatience = earlyStoppingPatience
        self.validationMetric = validationMetric
        self.validateEvery = validateEvery
        self.checkpoint = checkpoint
    }

    func validate() throws {
        guard epochs >= 0 else { throw AERecError.invalidArgument("epochs must be ≥ 0, got \(epochs)") }
        guard batchSize >= 1 else { throw AERecError.invalidArgument("batch size must be ≥ 1, got \(batchSize)") }
        guard threads >= 1, threads <= 256 else {
            throw AERecError.invalidArgument("threads must be in 1...256, got \(threads)")
        }
        guard validateEvery >= 1 else { throw AERecError.invalidArgument("validateEvery must be ≥ 1") }
        if let p = earlyStoppingPatience, p < 1 {
            throw AERecError.invalidArgument("early-stopping patience must be ≥ 1, got \(p)")
        }
        if let c = checkpoint {
            guard c.every >= 1 else { throw AERecError.invalidArgument("checkpoint interval must be ≥ 1 epoch, got \(c.every)") }
            guard !c.path.isEmpty else { throw AERecError.invalidArgument("checkpoint path is empty") }
        }
    }
}

/// What happened in one epoch, as passed to the per-epoch callback.
public struct EpochReport: Sendable, Codable, Equatable {
    /// 1-based epoch number.
    public var epoch: Int
    /// Mean training loss per user (including regularisation terms).
    public var loss: Double
    /// The validation metric after this epoch, when validated.
    public var validation: Double?
    /// Seconds spent training this epoch (validation excluded).
    public var trainSeconds: Double
    /// Seconds spent on validation.
    public var validationSeconds: Double
    /// True when this epoch is the best so far.
    public var isBest: Bool
    /// Mult-VAE's KL weight at the end of the epoch.
    public var beta: Double?
    /// The checkpoint file written after this epoch (before the callback sees the report), or nil.
    public var checkpointPath: String? = nil
}

/// A per-epoch callback's answer.
public enum TrainingDecision: Sendable {
    case proceed
    case stop
}

/// The record of a training run.
public struct TrainingHistory: Sendable, Codable, Equatable {
    public var epochs: [EpochReport] = []
    /// The epoch whose parameters the model holds after training (the best validated one, or the last).
    public var bestEpoch = 0
    public var bestValidation: Double?
    /// True when early stopping ended the run.
    public var stoppedEarly = false
    /// True when the callback asked to stop.
    public var stoppedByCallback = false
    public var seconds = 0.0
    public init() {}
}

/// A model trained by mini-batch gradient descent (internal protocol of the trainer).
protocol GradientTrainable: PersistableModel {
    /// Allocates optimiser state and workspaces for `train` (initialising weights from the seed).
    func beginTraining(_ train: InteractionMatrix, trainRows: [Int32], options: TrainingOptions) throws
    /// One optimisation step on the given training rows; returns the summed loss over those rows.
    func trainBatch(_ rows: UnsafeBufferPointer<Int32>, epoch: Int) throws -> Double
    /// Frees workspaces and optimiser state.
    func endTraining()
    /// A copy of the parameters, and restoring one.
    func snapshot() -> [FloatBuffer]
    func restore(_ s: [FloatBuffer])
    /// Mult-VAE's current KL weight (others: nil).
    var currentBeta: Double? { get }
    /// The trainable parameters, in a fixed order (checkpoints store them by name).
    var parameters: [Parameter] { get }
    /// Adam's step count (updates made in this run; Mult-VAE's β follows it). Settable while training.
    var optimizerStep: Int { get set }
    /// Called after parameters were overwritten (by a checkpoint): drop anything derived from them.
    func parametersChanged()
    /// Memory needed to train with batches of `batchSize` rows on `threads` threads (checked before
    /// ``beginTraining``).
    func trainingMemoryEstimate(batchSize: Int, threads: Int) -> MemoryEstimate
}

extension GradientTrainable {
    var currentBeta: Double? { nil }
    func parametersChanged() {}
}

/// Monotonic seconds.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// The shared training loop: shuffled mini-batches, per-epoch validation and callback, early
/// stopping on the validation metric, restoring the best epoch, checkpoints.
///
/// Everything random is keyed by (seed, epoch): the shuffle of epoch e is permutation(seed, e),
/// dropout and the VAE's noise are keyed by seed, epoch and user. A run continued from the
/// checkpoint of epoch e (weights, Adam moments and step, best weights, counters) therefore
/// computes exactly what the uninterrupted run computes from epoch e + 1 on.
enum Trainer {
    static func fit(_ model: some GradientTrainable, train: InteractionMatrix, validation: HeldOutSet?,
                    options: TrainingOptions, callback: ((EpochReport) -> TrainingDecision)?) throws -> TrainingHistory {
        try options.validate()
        guard train.rowCount > 0, train.nnz > 0 else { throw AERecError.data("the training matrix is empty") }
        let start = monotonicSeconds()
        // Workspaces for the batches that exist: a batch larger than the training rows is all of
        // them (the same batches, so the same model), without allocating for rows that do not exist.
        var workspaceOptions = options
        workspaceOptions.batchSize = min(options.batchSize, train.rowCount)
        try model.trainingMemoryEstimate(batchSize: workspaceOptions.batchSize, threads: options.threads).require()
        let resumed = try options.checkpoint.flatMap { c in c.resume ? try TrainingCheckpoint.read(path: c.path) : nil }
        if let resumed { try resumed.check(model, options: options) }
        BLAS.setThreads(options.threads)
        let allRows = (0..<train.rowCount).map { Int32($0) }
        try model.beginTraining(train, trainRows: allRows, options: workspaceOptions)
        defer { model.endTraining() }
        var history = TrainingHistory()
        var best: [FloatBuffer]? = nil
        var bestValue = -Double.infinity
        var sinceBest = 0
        var firstEpoch = 1
        var previousSeconds = 0.0
        if let resumed {
            best = try resumed.restore(into: model)
            history = resumed.history
            bestValue = resumed.bestValue
            sinceBest = resumed.sinceBest
            firstEpoch = resumed.epoch + 1
            previousSeconds = resumed.history.seconds
        }
        let evaluator = Evaluator(metrics: [options.validationMetric], batchSize: options.batchSize,
                                  threads: options.threads)
        if firstEpoch <= options.epochs {
            for epoch in firstEpoch...options.epochs {
                let t0 = monotonicSeconds()
                let order = DeterministicRandom.permutation(train.rowCount, seed: options.seed,
                                                            stream: 0x5348_5546_0000_0000 &+ UInt64(epoch))
                var lossSum = 0.0
                try order.withUnsafeBufferPointer { o in
                    var lo = 0
                    while lo < o.count {
                        let hi = min(lo + options.batchSize, o.count)
                        lossSum += try model.trainBatch(UnsafeBufferPointer(rebasing: o[lo..<hi]), epoch: epoch)
                        lo = hi
                    }
                }
                let loss = lossSum / Double(train.rowCount)
                guard loss.isFinite else {
                    throw AERecError.numerical("training loss became \(loss) in epoch \(epoch); lower the learning rate")
                }
                let t1 = monotonicSeconds()
                var report = EpochReport(epoch: epoch, loss: loss, validation: nil, trainSeconds: t1 - t0,
                                         validationSeconds: 0, isBest: false, beta: model.currentBeta)
                if let validation, epoch % options.validateEvery == 0 || epoch == options.epochs {
                    let value = try evaluator.evaluate(model, on: validation)[options.validationMetric]?.value ?? .nan
                    report.validation = value
                    report.validationSeconds = monotonicSeconds() - t1
                    // compare with the sign that makes larger better (RMSE: lower is better)
                    let signed = options.validationMetric.higherIsBetter ? value : -value
                    if signed > bestValue {
                        bestValue = signed
                        best = model.snapshot()
                        history.bestEpoch = epoch
                        history.bestValidation = value
                        report.isBest = true
                        sinceBest = 0
                    } else {
                        sinceBest += 1
                    }
                } else if validation == nil {
                    history.bestEpoch = epoch
                    report.isBest = true
                }
                let stopsEarly = options.earlyStoppingPatience.map { validation != nil && sinceBest >= $0 } ?? false
                // A checkpoint when the run goes on (as far as the trainer knows: the callback may
                // still stop it, and a later resume then continues where the uninterrupted run would).
                let checkpoint = options.checkpoint.flatMap { c in
                    epoch % c.every == 0 && epoch < options.epochs && !stopsEarly ? c : nil
                }
                report.checkpointPath = checkpoint?.path
                history.epochs.append(report)
                history.seconds = previousSeconds + monotonicSeconds() - start
                if let c = checkpoint {
                    try TrainingCheckpoint.capture(model, epoch: epoch, best: best, bestValue: bestValue,
                                                   sinceBest: sinceBest, history: history, options: options,
                                                   metadata: c.metadata).write(to: c.path)
                }
                if callback?(report) == .stop {
                    history.stoppedByCallback = true
                    break
                }
                if stopsEarly {
                    history.stoppedEarly = true
                    break
                }
            }
        }
        if let best, history.bestEpoch != history.epochs.last?.epoch { model.restore(best) }
        history.seconds = previousSeconds + monotonicSeconds() - start
        return history
    }
}
