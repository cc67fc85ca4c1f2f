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

    public init(epochs: Int = 100, batchSize: Int = 500, seed: UInt64 = 98765, threads: Int = 2,
                earlyStoppingPatience: Int? = 20, validationMetric: Metric = .ndcg(100), validateEvery: Int = 1) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.seed = seed
        self.threads = threads
        self.earlyStoppingPatience = earlyStoppingPatience
        self.validationMetric = validationMetric
        self.validateEvery = validateEvery
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
protocol GradientTrainable: Recommender {
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
}

extension GradientTrainable {
    var currentBeta: Double? { nil }
}

/// Monotonic seconds.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// The shared training loop: shuffled mini-batches, per-epoch validation and callback, early
/// stopping on the validation metric, restoring the best epoch.
enum Trainer {
    static func fit(_ model: some GradientTrainable, train: InteractionMatrix, validation: HeldOutSet?,
                    options: TrainingOptions, callback: ((EpochReport) -> TrainingDecision)?) throws -> TrainingHistory {
        try options.validate()
        guard train.rowCount > 0, train.nnz > 0 else { throw AERecError.data("the training matrix is empty") }
        let start = monotonicSeconds()
        BLAS.setThreads(options.threads)
        let allRows = (0..<train.rowCount).map { Int32($0) }
        try model.beginTraining(train, trainRows: allRows, options: options)
        defer { model.endTraining() }
        var history = TrainingHistory()
        var best: [FloatBuffer]? = nil
        var bestValue = -Double.infinity
        var sinceBest = 0
        let evaluator = Evaluator(metrics: [options.validationMetric], batchSize: options.batchSize,
                                  threads: options.threads)
        for epoch in 1...max(options.epochs, 1) where options.epochs > 0 {
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
            history.epochs.append(report)
            if callback?(report) == .stop {
                history.stoppedByCallback = true
                break
            }
            if let p = options.earlyStoppingPatience, validation != nil, sinceBest >= p {
                history.stoppedEarly = true
                break
            }
        }
        if let best, history.bestEpoch != history.epochs.last?.epoch { model.restore(best) }
        history.seconds = monotonicSeconds() - start
        return history
    }
}
