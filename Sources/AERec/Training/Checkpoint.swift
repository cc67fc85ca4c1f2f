#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where and how often the trainer writes checkpoints, and whether it continues from one.
///
/// A checkpoint is written after every `every`-th epoch that the run continues past (never after
/// the last epoch, nor after an epoch that ends the run by early stopping or by the callback): one
/// file at `path`, replaced atomically each time (``ModelFile/write(_:to:)``), so that a process
/// killed at any moment leaves either the previous checkpoint or the new one.
public struct CheckpointOptions: Sendable, Codable, Equatable {
    /// The checkpoint file.
    public var path: String
    /// Write a checkpoint every this many epochs (≥ 1).
    public var every: Int
    /// Continue the run saved at `path` (which must exist) instead of starting afresh. The
    /// continued run is bit-identical to an uninterrupted one with the same seed and threads.
    public var resume: Bool
    /// Strings stored with every checkpoint (``Experiment`` stores its configuration here, so that
    /// `aerec train --resume DIR` needs nothing else).
    public var metadata: [String: String]

    public init(path: String, every: Int = 1, resume: Bool = false, metadata: [String: String] = [:]) {
        self.path = path
        self.every = every
        self.resume = resume
        self.metadata = metadata
    }
}

/// Everything a gradient-trained model's training run needs to continue exactly where it stopped:
/// the weights after the last completed epoch, Adam's moments and step count, the epoch (which is
/// also the position of every random stream: shuffling, dropout and the VAE's noise are keyed by
/// seed and epoch), the best epoch's weights, the early-stopping counters and the history so far.
///
/// It is stored as an ordinary model file (``ModelFile``, same format, no new version): the
/// model's own ``ModelState`` (so `aerec info` reads it and `AnyModel.load` gives the weights of
/// the last completed epoch) plus tensors named `optimizer.m:<parameter>`,
/// `optimizer.v:<parameter>` and `best:<parameter>`, and `checkpoint.*` metadata keys.
public struct TrainingCheckpoint: Sendable {
    /// The metadata key marking a checkpoint (its value is the checkpoint layout version, "1").
    public static let marker = "checkpoint.version"

    enum Key {
        static let epoch = "checkpoint.epoch"
        static let step = "checkpoint.step"
        static let bestValue = "checkpoint.best_value_bits"
        static let sinceBest = "checkpoint.since_best"
        static let history = "checkpoint.history"
        static let options = "checkpoint.options"
    }

    /// The whole checkpoint as a model state (what is written).
    public private(set) var state: ModelState
    /// Epochs completed.
    public let epoch: Int
    /// Adam's step count (updates made).
    let step: Int
    /// The best validation value so far with the sign that makes larger better (−∞: none yet).
    let bestValue: Double
    /// Validations since the best one (the early-stopping counter).
    let sinceBest: Int
    /// The history of the completed epochs.
    public let history: TrainingHistory
    /// The training options the run was started with (checked on resume).
    let options: RunIdentity

    /// The options that must not change between a run and its continuation.
    struct RunIdentity: Codable, Equatable, Sendable {
        var epochs: Int
        var batchSize: Int
        var seed: UInt64
        var threads: Int
        var earlyStoppingPatience: Int?
        var validationMetric: String
        var validateEvery: Int

        init(_ o: TrainingOptions) {
            epochs = o.epochs
            batchSize = o.batchSize
            seed = o.seed
            threads = o.threads
            earlyStoppingPatience = o.earlyStoppingPatience
            validationMetric = o.validationMetric.name
            validateEvery = o.validateEvery
        }
    }

    /// The metadata the caller stored (``CheckpointOptions/metadata``), without the checkpoint's own keys.
    public var userMetadata: [String: String] {
        state.metadata.filter { !$0.key.hasPrefix("checkpoint.") }
    }

    // MARK: building

    /// The checkpoint of `model` after `epoch` completed epochs.
    static func capture(_ model: some GradientTrainable, epoch: Int, best: [FloatBuffer]?, bestValue: Double,
                        sinceBest: Int, history: TrainingHistory, options: TrainingOptions,
                        metadata: [String: String]) throws -> TrainingCheckpoint {
        var state = try model.modelState()
        for p in model.parameters {
            guard let m = p.m, let v = p.v else { throw AERecError.invalidArgument("checkpoint outside training") }
            let shape = p.rows == 1 ? [p.cols] : [p.rows, p.cols]
            try state.appendTensor(name: "optimizer.m:" + p.name, shape: shape, data: m.array)
            try state.appendTensor(name: "optimizer.v:" + p.name, shape: shape, data: v.array)
        }
        if let best {
            for (p, b) in zip(model.parameters, best) {
                try state.appendTensor(name: "best:" + p.name, shape: p.rows == 1 ? [p.cols] : [p.rows, p.cols],
                                       data: b.array)
            }
        }
        state.metadata.merge(metadata) { _, new in new }
        let identity = RunIdentity(options)
        state.metadata[marker] = "1"
        state.metadata[Key.epoch] = String(epoch)
        state.metadata[Key.step] = String(model.optimizerStep)
        state.metadata[Key.bestValue] = String(bestValue.bitPattern, radix: 16)
        state.metadata[Key.sinceBest] = String(sinceBest)
        state.metadata[Key.history] = try jsonText(history)
        state.metadata[Key.options] = try jsonText(identity)
        return TrainingCheckpoint(state: state, epoch: epoch, step: model.optimizerStep, bestValue: bestValue,
                                  sinceBest: sinceBest, history: history, options: identity)
    }

    private init(state: ModelState, epoch: Int, step: Int, bestValue: Double, sinceBest: Int, history: TrainingHistory,
                 options: RunIdentity) {
        self.state = state
        self.epoch = epoch
        self.step = step
        self.bestValue = bestValue
        self.sinceBest = sinceBest
        self.history = history
        self.options = options
    }

    // MARK: files

    /// Writes the checkpoint to `path` atomically.
    public func write(to path: String) throws {
        try ModelFile.write(state, to: path)
    }

    /// Reads and checks the checkpoint at `path` (every CRC of the model file, the checkpoint keys).
    public static func read(path: String) throws -> TrainingCheckpoint {
        try TrainingCheckpoint(state: ModelFile.read(path: path))
    }

    /// The metadata of the checkpoint at `path` (the caller's keys included), read from the file's
    /// header without loading the weights.
    public static func metadata(path: String) throws -> [String: String] {
        let info = try ModelFile.readHeader(path: path)
        guard info.metadata[marker] != nil else {
            throw AERecError.modelFile(path: path, message: "a \(info.kind.rawValue) model file, not a training checkpoint")
        }
        return info.metadata
    }

    /// The history stored in the checkpoint at `path` (from its header).
    public static func history(path: String) throws -> TrainingHistory {
        let m = try metadata(path: path)
        return try decodeJSON(TrainingHistory.self, m[Key.history], key: Key.history, path: path)
    }

    /// A checkpoint from a state read from a file.
    public init(state: ModelState) throws {
        let path = state.source
        guard let version = state.metadata[Self.marker] else {
            throw AERecError.modelFile(path: path, message: "a \(state.kind.rawValue) model file, not a training checkpoint")
        }
        guard version == "1" else {
            throw AERecError.modelFile(path: path, message: "checkpoint layout version \(version), this AERec reads 1")
        }
        func integer(_ key: String) throws -> Int {
            guard let s = state.metadata[key], let v = Int(s), v >= 0 else {
                throw AERecError.modelFile(path: path, message: "checkpoint: missing or invalid '\(key)'")
            }
            return v
        }
        self.state = state
        epoch = try integer(Key.epoch)
        step = try integer(Key.step)
        sinceBest = try integer(Key.sinceBest)
        guard let bits = state.metadata[Key.bestValue].flatMap({ UInt64($0, radix: 16) }) else {
            throw AERecError.modelFile(path: path, message: "checkpoint: missing or invalid '\(Key.bestValue)'")
        }
        bestValue = Double(bitPattern: bits)
        history = try Self.decodeJSON(TrainingHistory.self, state.metadata[Key.history], key: Key.history, path: path)
        options = try Self.decodeJSON(RunIdentity.self, state.metadata[Key.options], key: Key.options, path: path)
        guard history.epochs.count == epoch, history.epochs.last.map({ $0.epoch == epoch }) ?? (epoch == 0) else {
            throw AERecError.modelFile(path: path, message: "checkpoint: the history has \(history.epochs.count) epochs, "
                + "the checkpoint says \(epoch)")
        }
    }

    // MARK: resuming

    /// Checks that `model` and `options` continue the run this checkpoint belongs to.
    func check(_ model: some GradientTrainable, options: TrainingOptions) throws {
        let path = state.source
        guard state.kind == model.kind else {
            throw AERecError.modelFile(path: path, message: "checkpoint of a \(state.kind.rawValue) run, "
                + "cannot continue a \(model.kind.rawValue) run")
        }
        let mine = try model.modelState()
        guard mine.configuration == state.configuration, mine.latentActivationName == state.latentActivationName else {
            throw AERecError.modelFile(path: path, message: "checkpoint of a run with another model configuration "
                + "(\(state.configuration)); this run has \(mine.configuration)")
        }
        let now = RunIdentity(options)
        let fields: [(String, String, String)] = [
            ("epochs", "\(self.options.epochs)", "\(now.epochs)"), ("batch size", "\(self.options.batchSize)", "\(now.batchSize)"),
            ("seed", "\(self.options.seed)", "\(now.seed)"), ("threads", "\(self.options.threads)", "\(now.threads)"),
            ("early-stopping patience", "\(self.options.earlyStoppingPatience.map(String.init) ?? "none")",
             "\(now.earlyStoppingPatience.map(String.init) ?? "none")"),
            ("validation metric", self.options.validationMetric, now.validationMetric),
            ("validation interval", "\(self.options.validateEvery)", "\(now.validateEvery)"),
        ]
        for (name, was, is_) in fields where was != is_ {
            throw AERecError.invalidArgument("\(path): the checkpoint's run has \(name) \(was), this run \(is_); "
                + "a continued run must use the same settings to give the same model")
        }
        guard epoch < options.epochs else {
            throw AERecError.invalidArgument("\(path): the checkpoint is after epoch \(epoch) of \(options.epochs): "
                + "nothing left to train")
        }
    }

    /// Puts the checkpoint's weights, Adam state and step into `model` (which is training) and
    /// returns the best epoch's weights, when stored.
    func restore(into model: some GradientTrainable) throws -> [FloatBuffer]? {
        try state.loadParameters(model.parameters)
        var best: [FloatBuffer] = []
        for p in model.parameters {
            let shape = p.rows == 1 ? [p.cols] : [p.rows, p.cols]
            try p.restoreMoments(m: try state.tensorData(named: "optimizer.m:" + p.name, shape: shape),
                                 v: try state.tensorData(named: "optimizer.v:" + p.name, shape: shape))
            if let b = state.tensorIfPresent(named: "best:" + p.name) {
                guard b.shape == shape else {
                    throw AERecError.modelFile(path: state.source, message: "checkpoint: tensor '\(b.name)' has shape "
                        + "\(b.shape), expected \(shape)")
                }
                best.append(FloatBuffer(b.data))
            }
        }
        guard best.isEmpty || best.count == model.parameters.count else {
            throw AERecError.modelFile(path: state.source, message: "checkpoint: the best epoch's weights are incomplete")
        }
        model.optimizerStep = step
        model.parametersChanged()
        return best.isEmpty ? nil : best
    }

    // MARK: JSON

    static func jsonText<T: Encodable>(_ value: T) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try e.encode(value), as: UTF8.self)
    }

    static func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String?, key: String, path: String) throws -> T {
        guard let text else { throw AERecError.modelFile(path: path, message: "checkpoint: missing '\(key)'") }
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { return try d.decode(T.self, from: Data(text.utf8)) } catch {
            throw AERecError.modelFile(path: path, message: "checkpoint: '\(key)' does not decode: \(ModelState.describe(error))")
        }
    }
}
