// The object behind a model handle: the configuration it was created with, the trained model (once
// fitted or loaded), and the reader/trainer accounting that makes concurrent use safe: any number
// of readers (recommend, scores, encode, evaluate, save) at once, or one fit alone. Nobody waits:
// a call that cannot proceed returns AEREC_ERR_BUSY.
import AERec
import Synchronization

/// What a model handle holds besides its configuration.
struct ModelSlot: Sendable {
    var model: (any Recommender)?
    var training = false
    var readers = 0
    /// The last fit's history (nil for a loaded model).
    var history: TrainingHistory?
    /// External ids of the items (columns) and training users, when known.
    var itemIDs: IDMap?
    var userIDs: IDMap?
    /// Training users known to the model (the valid train_rows are 0..<trainUserCount).
    var trainUserCount = 0
    /// Metadata written with the model (seed, epochs, split...).
    var metadata: [String: String] = [:]
    /// The training matrix of the last fit in this process (the probes' default input).
    var trainMatrix: InteractionMatrix?
}

final class ModelBox: Sendable {
    let kind: ModelKind
    /// The configuration of a created model; nil for a loaded one (it cannot be re-trained).
    let configuration: ExperimentConfiguration?
    /// The metric fit validates on (nil: the CLI's choice for the kind).
    let validationMetric: Metric?
    /// Patience 0 in the C config: no early stopping.
    let earlyStopping: Bool
    let slot: Mutex<ModelSlot>
    let stopRequested = Atomic<Bool>(false)
    /// aerec_model_set_checkpointing's setting for the next fits (nil: no checkpoints).
    let checkpointing = Mutex<Checkpointing?>(nil)

    /// Checkpoints of a model handle's fits: directory/checkpoint.aerec every `every` epochs.
    struct Checkpointing: Sendable {
        var directory: String
        var every: Int
        /// 0: start afresh, 1: continue (the checkpoint must exist), 2: continue when it exists.
        var resume: Int
        var path: String { directory + "/checkpoint.aerec" }
    }

    init(kind: ModelKind, configuration: ExperimentConfiguration?, validationMetric: Metric?, earlyStopping: Bool,
         slot: ModelSlot) {
        self.kind = kind
        self.configuration = configuration
        self.validationMetric = validationMetric
        self.earlyStopping = earlyStopping
        self.slot = Mutex(slot)
    }

    /// Threads for inference when the caller passes AEREC_DEFAULT.
    var defaultThreads: Int { configuration?.threads ?? 2 }
    /// Batch size for evaluation when the caller passes AEREC_DEFAULT.
    var defaultBatch: Int { configuration?.resolvedBatchSize ?? 500 }

    /// Runs `body` as a reader of the fitted model: fails with AEREC_ERR_BUSY while the model
    /// trains and AEREC_ERR_STATE before it is fitted.
    func read<R>(_ body: (any Recommender, ModelSlot) throws -> R) throws -> R {
        let acquired: Result<(any Recommender, ModelSlot), CABIError> = slot.withLock { s in
            if s.training { return .failure(.busy("the model is being trained (fit is running)")) }
            guard let m = s.model else { return .failure(.state("the model is not fitted; call aerec_model_fit first")) }
            s.readers += 1
            return .success((m, s))
        }
        let (m, s) = try acquired.get()
        defer { slot.withLock { $0.readers -= 1 } }
        return try body(m, s)
    }

    /// Marks the model as training: fails with AEREC_ERR_BUSY when it trains already or readers use it.
    func beginTraining() throws {
        let error: CABIError? = slot.withLock { s in
            if s.training { return .busy("the model is already being trained") }
            if s.readers > 0 { return .busy("the model is in use by \(s.readers) other call(s); fit needs it alone") }
            s.training = true
            return nil
        }
        if let error { throw error }
        stopRequested.store(false, ordering: .sequentiallyConsistent)
    }

    /// Ends training, installing `update` when training succeeded.
    func endTraining(_ update: ((inout ModelSlot) -> Void)?) {
        slot.withLock { s in
            update?(&s)
            s.training = false
        }
    }
}
