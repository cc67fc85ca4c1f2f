/// The models AERec trains.
public enum ModelKind: String, Sendable, CaseIterable, Codable {
    case multDAE = "mult-dae"
    case multVAE = "mult-vae"
    case cdae
    case autoRecI = "autorec-i"
    case autoRecU = "autorec-u"
    case ease
    case pop

    /// Parses a model name, with the list of valid names and a did-you-mean on failure.
    public init(name: String) throws {
        let s = name.lowercased().replacing("_", with: "-")
        if let k = ModelKind(rawValue: s) { self = k; return }
        let aliases: [String: ModelKind] = ["multdae": .multDAE, "multvae": .multVAE, "vae": .multVAE,
                                            "dae": .multDAE, "autorec": .autoRecI, "popularity": .pop]
        if let k = aliases[s.replacing("-", with: "")] ?? aliases[s] { self = k; return }
        let valid = ModelKind.allCases.map(\.rawValue)
        let hint = didYouMean(s, among: valid).map { " (did you mean '\($0)'?)" } ?? ""
        throw AERecError.invalidArgument("unknown model '\(name)'\(hint); valid: \(valid.joined(separator: ", "))")
    }

    /// True for the models that predict ratings (evaluated with RMSE/MAE) rather than rank items.
    public var predictsRatings: Bool { self == .autoRecI || self == .autoRecU }
    /// True for the autoencoders (they have an encoder, a latent activation and P1–P3 probes).
    public var isAutoencoder: Bool { self != .ease && self != .pop }
}

/// A trained recommender: scores every item for users given their interaction histories.
///
/// Scoring is safe to call from several threads at once on the same model.
public protocol Recommender: AnyObject, Sendable {
    var kind: ModelKind { get }
    /// Number of items the model scores (its item space).
    var itemCount: Int { get }
    /// Writes the scores of every item for rows `rows` of `input` (the users' histories in the
    /// model's item space) into `out`: `rows.count` rows of `itemCount` floats, leading dimension `ld`.
    /// `trainRows[r - rows.lowerBound]` is the user's row in the training matrix or -1 (used by
    /// models with per-user parameters; nil means unknown for all).
    func scores(for input: InteractionMatrix, rows: Range<Int>, trainRows: [Int32]?,
                into out: UnsafeMutablePointer<Float>, ld: Int, threads: Int) throws
}

/// An autoencoder: it has an encoder whose latent activation is a typed choice.
public protocol Autoencoder: Recommender {
    /// The activation of the encoder (the code layer for Mult-DAE/CDAE/AutoRec; the encoder's
    /// hidden layer for Mult-VAE, whose code μ is linear as in Liang et al.).
    var latentActivation: Activation { get }
    /// Width of the code.
    var latentDimension: Int { get }
    /// Width of the input.
    var inputDimension: Int { get }
    /// Writes the codes of rows `rows` of `input` into `out` (`rows.count` × ``latentDimension``,
    /// leading dimension `ld`): Mult-DAE's hidden layer, Mult-VAE's μ, CDAE's hidden layer without
    /// the user node, AutoRec's hidden layer. Deterministic (no dropout, no sampling).
    func encode(_ input: InteractionMatrix, rows: Range<Int>, into out: UnsafeMutablePointer<Float>, ld: Int,
                threads: Int) throws

    /// Like ``encode(_:rows:into:ld:threads:)`` but feeding the encoder the input's stored values
    /// as they are (negative values included) instead of the binarised pattern the model trains on,
    /// after the model's own input normalisation. The property probes use it to evaluate the encoder
    /// as a function on arbitrary vectors (e.g. negated users). Models that never binarise
    /// (AutoRec) get the default implementation, which is ``encode(_:rows:into:ld:threads:)``.
    func encodeValues(_ input: InteractionMatrix, rows: Range<Int>, into out: UnsafeMutablePointer<Float>, ld: Int,
                      threads: Int) throws
}

extension Autoencoder {
    public func encodeValues(_ input: InteractionMatrix, rows: Range<Int>, into out: UnsafeMutablePointer<Float>,
                             ld: Int, threads: Int) throws {
        try encode(input, rows: rows, into: out, ld: ld, threads: threads)
    }
}

/// A model that predicts explicit ratings (AutoRec).
public protocol RatingPredictor: Recommender {
    /// Predicted ratings for the stored entries of `queries` (rows = users of `history`, same row
    /// order), given each user's training history. Output aligned with `queries`' entries.
    func predictRatings(history: InteractionMatrix, queries: InteractionMatrix, trainRows: [Int32]?,
                        threads: Int) throws -> [Float]
}

/// A model that learns from a training matrix.
public protocol TrainableRecommender: Recommender {
    /// Fits the model to `train` (users × items; the model's item space), validating on
    /// `validation` when given (early stopping and best-epoch selection for iterative models).
    /// Closed-form models ignore the epoch-related options and report one "epoch".
    @discardableResult
    func fit(_ train: InteractionMatrix, validation: HeldOutSet?, options: TrainingOptions,
             callback: ((EpochReport) -> TrainingDecision)?) throws -> TrainingHistory
}

/// The rule behind every autoencoder's configuration check: the code must be narrower than the
/// input (the paper's property P1, m < n). A code at least as wide as the input can copy it and is
/// refused with an error naming both widths.
func requireNarrowCode(_ model: String, code: Int, codeName: String, input: Int, inputName: String) throws {
    guard code < input else {
        throw AERecError.invalidArgument(
            "\(model): the \(codeName) \(code) must be smaller than the \(input) \(inputName) "
                + "(an autoencoder's code must reduce dimension: P1, m < n)")
    }
}

/// The checks every gradient-trained model makes on its penalty and optimiser: `penalty` (named
/// `penaltyName` in the message) finite and ≥ 0, a finite learning rate > 0.
func requireTrainingSettings(penalty: Float, penaltyName: String = "l2", optimizer: AdamConfiguration) throws {
    guard penalty >= 0, penalty.isFinite else { throw AERecError.invalidArgument("\(penaltyName) must be ≥ 0") }
    guard optimizer.learningRate > 0, optimizer.learningRate.isFinite else {
        throw AERecError.invalidArgument("learning rate must be > 0")
    }
}
