import AERecKernels

/// Which vectors AutoRec reconstructs.
public enum AutoRecOrientation: String, Sendable, Codable, CaseIterable {
    /// I-AutoRec: each item's ratings over the training users (the paper's better variant).
    case item
    /// U-AutoRec: each user's ratings over the items.
    case user
}

/// AutoRec's hyperparameters (Sedhain et al., WWW 2015).
public struct AutoRecConfiguration: Sendable, Codable, Equatable {
    /// I-AutoRec (`.item`) or U-AutoRec (`.user`).
    public var orientation: AutoRecOrientation = .item
    /// Width of the hidden layer (the paper's k = 500).
    public var hiddenDimension = 500
    /// The hidden layer's activation g (the paper: sigmoid; the output f is the identity).
    public var latentActivation: Activation = .sigmoid
    /// The paper's λ in  Σ_samples ‖(r − h(r)) ⊙ observed‖² + λ/2·(‖W‖² + ‖V‖²)  (biases are not
    /// penalised). We minimise that objective divided by the number n of training samples (items
    /// for I-AutoRec, users for U-AutoRec), so each update takes the batch's MEAN squared error per
    /// sample and Adam's weight decay is λ/n; λ keeps the paper's meaning whatever the batch size.
    /// As for the lazily updated rows, the decay reaches only the rows of the batch's observed
    /// inputs/outputs. Default 200: the paper tunes λ in {0.001, 0.01, 0.1, 1, 100, 1000}; on
    /// ml-100k (explicit 80/10/10, hidden 500, Adam 1e-3, batch 500) the validation RMSE of
    /// λ = 30/100/200/300/500 was 0.913/0.899/0.892/0.893/0.907.
    public var lambda: Float = 200
    /// Adam with learning rate 1e-3 (its weight decay is set from `lambda`).
    public var optimizer = AdamConfiguration()
    /// Clip predicted ratings to the range of the training ratings (as the reference implementations
    /// do at test time). Ranking scores are never clipped.
    public var clipPredictions = true

    public init(orientation: AutoRecOrientation = .item, hiddenDimension: Int = 500,
                latentActivation: Activation = .sigmoid, lambda: Float = 200,
                optimizer: AdamConfiguration = AdamConfiguration(), clipPredictions: Bool = true) {
        self.orientation = orientation
        self.hiddenDimension = hiddenDimension
        self.latentActivation = latentActivation
        self.lambda = lambda
        self.optimizer = optimizer
        self.clipPredictions = clipPredictions
    }

    func validate(itemCount: Int, userCount: Int) throws {
        guard itemCount >= 1 else { throw AERecError.invalidArgument("AutoRec needs at least one item") }
        guard userCount >= (orientation == .item ? 1 : 0) else {
            throw AERecError.invalidArgument("I-AutoRec needs at least one training user")
        }
        guard hiddenDimension >= 1 else {
            throw AERecError.invalidArgument("hidden dimension must be ≥ 1, got \(hiddenDimension)")
        }
        if orientation == .item {
            try requireNarrowCode("autorec-i", code: hiddenDimension, codeName: "hidden (code) width", input: userCount,
                                  inputName: "training users (I-AutoRec's input width)")
        } else {
            try requireNarrowCode("autorec-u", code: hiddenDimension, codeName: "hidden (code) width", input: itemCount,
                                  inputName: "items")
        }
        try requireTrainingSettings(penalty: lambda, penaltyName: "lambda", optimizer: optimizer)
    }
}

/// AutoRec (Sedhain et al., WWW 2015): one hidden layer h(r) = W·g(V r + μ) + b reconstructing a
/// vector r of OBSERVED ratings (values kept, not binarised; unobserved entries are 0 in the input
/// and absent from the loss), g the latent activation, identity output. I-AutoRec reconstructs each
/// item's ratings over the training users, U-AutoRec each user's ratings over the items.
///
/// Training never computes an output at an unobserved entry: the outputs at the batch's observed
/// entries come from `aek_csr_sddmm`, the decoder's gradient from `aek_csr_transpose_dense_mm` (rows
/// of the observed output units only) and the backpropagated error from `aek_csr_dense_mm`; the
/// encoder multiplies the sparse batch. The decoder is stored by output unit (`decoder.weight` is
/// outputs × hidden) so its rows, like the encoder's, are updated lazily.
///
/// Predictions:
/// - U-AutoRec is inductive: a user's ratings come from reconstructing the `history` row given to
///   ``predictRatings(history:queries:trainRows:threads:)`` / ``scores(for:rows:trainRows:into:ld:threads:)``
///   (any user, training rows not needed).
/// - I-AutoRec is transductive in users: the rating of item i by user u is output unit u of item i's
///   reconstruction, u being the user's TRAINING ROW (``HeldOutSet/trainRows``, weak protocols only:
///   explicit, ratio, loo, given). The item codes g(r_i V + μ), r_i item i's column of the training
///   matrix, are computed once after training and saved with the model (`item.codes`), so a user's
///   scores are one product with the codes. The `history` argument only fixes the row count (a
///   user's history is already inside the codes); users without a training row (−1 or nil trainRows:
///   strong generalisation) are an error.
/// Predicted ratings are clipped to the training ratings' range (``AutoRecConfiguration/clipPredictions``);
/// scores (for ranking) are the raw outputs.
///
/// Initialisation: Xavier-uniform weights, N(0, 0.001²) encoder bias, decoder bias = the training
/// ratings' global mean (so the first updates need not climb from 0 to the rating scale).
public final class AutoRec: Autoencoder, TrainableRecommender, RatingPredictor, PersistableModel, GradientTrainable,
    @unchecked Sendable {
    public var kind: ModelKind { configuration.orientation == .item ? .autoRecI : .autoRecU }
    public let configuration: AutoRecConfiguration
    public let itemCount: Int
    /// Number of training users (I-AutoRec's input width; informational for U-AutoRec).
    public let userCount: Int
    public var latentActivation: Activation { configuration.latentActivation }
    public var latentDimension: Int { configuration.hiddenDimension }
    /// Width of a reconstructed vector: ``userCount`` for I-AutoRec, ``itemCount`` for U-AutoRec.
    /// ``encode(_:rows:into:ld:threads:)``'s input has this many columns.
    public var inputDimension: Int { configuration.orientation == .item ? userCount : itemCount }
    /// External ids of the items, saved with the model.
    public var itemIDs: IDMap?
    /// External ids of the training users, saved with the model.
    public var userIDs: IDMap?
    /// The range predicted ratings are clipped to (the training ratings' range; nil: no clipping).
    public private(set) var ratingRange: ClosedRange<Float>?

    let V: Parameter, mu: Parameter, W: Parameter, bOut: Parameter
    var parameters: [Parameter] { [V, mu, W, bOut] }
    /// I-AutoRec's item codes g(r_i V + μ) (itemCount × hidden), valid unless `codesStale`.
    private(set) var itemCodes: FloatBuffer?
    private var codesStale = false
    private var ws: Workspace?

    /// A model with freshly initialised weights. `userCount` is the number of training users (rows of
    /// the matrix `fit` gets); I-AutoRec's input has that width.
    public init(itemCount: Int, userCount: Int, configuration: AutoRecConfiguration = AutoRecConfiguration(),
                seed: UInt64 = 98765) throws {
        try configuration.validate(itemCount: itemCount, userCount: userCount)
        try Self.memoryEstimate(itemCount: itemCount, userCount: userCount, configuration: configuration).require()
        self.itemCount = itemCount
        self.userCount = userCount
        self.configuration = configuration
        let n = configuration.orientation == .item ? userCount : itemCount, h = configuration.hiddenDimension
        V = Parameter(name: "encoder.weight", rows: n, cols: h, lazyRows: true)
        mu = Parameter(name: "encoder.bias", rows: 1, cols: h, decays: false)
        W = Parameter(name: "decoder.weight", rows: n, cols: h, lazyRows: true)
        bOut = Parameter(name: "decoder.bias", rows: 1, cols: n, decays: false)
        if configuration.orientation == .item { itemCodes = FloatBuffer(itemCount * h) }
        initialize(seed: seed, mean: 0)
    }

    func initialize(seed: UInt64, mean: Float) {
        let n = inputDimension, h = configuration.hiddenDimension
        V.initXavier(seed: seed, fanIn: n, fanOut: h)
        W.initXavier(seed: seed, fanIn: h, fanOut: n)
        mu.initNormal(seed: seed, std: 0.001)
        bOut.value.p.update(repeating: mean, count: n)
        codesStale = true
    }

    /// Trains from freshly initialised weights (seeded by `options.seed`) on `train`, users × items
    /// with its rating values (I-AutoRec transposes it internally and needs exactly ``userCount``
    /// rows). Validation and early stopping use `options.validationMetric` when it is a rating metric
    /// (RMSE or MAE), else RMSE.
    @discardableResult
    public func fit(_ train: InteractionMatrix, validation: HeldOutSet? = nil, options: TrainingOptions = TrainingOptions(),
                    callback: ((EpochReport) -> TrainingDecision)? = nil) throws -> TrainingHistory {
        guard train.columnCount == itemCount else {
            throw AERecError.invalidArgument("training matrix has \(train.columnCount) items, the model \(itemCount)")
        }
        if configuration.orientation == .item, train.rowCount != userCount {
            throw AERecError.invalidArgument("training matrix has \(train.rowCount) users, I-AutoRec \(userCount)")
        }
        if configuration.orientation == .item, let validation, validation.trainRows.contains(where: { $0 < 0 }) {
            throw AERecError.invalidArgument(
                "I-AutoRec predicts only users with a training row; the validation set has users without one (use a weak-generalisation protocol: explicit, ratio, loo, given)")
        }
        var options = options
        if !options.validationMetric.isRating { options.validationMetric = .rmse }
        // global mean and range of the training ratings
        var sum = 0.0, lo = Float.infinity, hi = -Float.infinity
        for k in 0..<train.nnz {
            let v = train.value(at: k)
            sum += Double(v); lo = min(lo, v); hi = max(hi, v)
        }
        ratingRange = train.nnz > 0 && lo < hi && configuration.clipPredictions ? lo...hi : nil
        initialize(seed: options.seed, mean: train.nnz > 0 ? Float(sum / Double(train.nnz)) : 0)
        let samples = configuration.orientation == .item ? train.transposed() : train
        return try Trainer.fit(self, train: samples, validation: validation, options: options, callback: callback)
    }

    // MARK: training

    private final class Workspace {
        var batch: SparseBatch
        let z: FloatBuffer, a: FloatBuffer, da: FloatBuffer
        /// Outputs at the batch's observed entries, then their error gradients (aligned with the entries).
        let grad: FloatBuffer
        let transpose: TransposeScratch
        var step = 0
        var previousTouchedV = 0
        var previousTouchedW = 0
        /// The samples × inputs training matrix (I-AutoRec: items × users).
        let train: InteractionMatrix
        let options: TrainingOptions

        init(train: InteractionMatrix, options: TrainingOptions, h: Int) {
            let b = options.batchSize, n = train.columnCount
            batch = SparseBatch(columnCount: n, rowCapacity: b)
            z = FloatBuffer(b * h); a = FloatBuffer(b * h); da = FloatBuffer(b * h)
            transpose = TransposeScratch(train, batchSize: b, columns: n)
            grad = FloatBuffer(transpose.maxBatchNNZ)
            self.train = train
            self.options = options
        }

        deinit {
            batch.free()
        }
    }

    /// `train` is the samples × inputs matrix (I-AutoRec: items × users).
    func beginTraining(_ train: InteractionMatrix, trainRows: [Int32], options: TrainingOptions) throws {
        guard train.columnCount == inputDimension else {
            throw AERecError.invalidArgument("AutoRec's input has \(inputDimension) entries, the samples \(train.columnCount)")
        }
        for p in parameters { p.prepareForTraining() }
        ws = Workspace(train: train, options: options, h: configuration.hiddenDimension)
        codesStale = true
    }

    func endTraining() {
        if let ws, configuration.orientation == .item { try? computeItemCodes(from: ws.train, threads: ws.options.threads) }
        ws = nil
        for p in parameters { p.finishTraining() }
    }

    func snapshot() -> [FloatBuffer] { parameters.map { FloatBuffer(copying: $0.value) } }

    var optimizerStep: Int {
        get { ws?.step ?? 0 }
        set { ws?.step = newValue }
    }

    func parametersChanged() { codesStale = true }

    func trainingMemoryEstimate(batchSize: Int, threads: Int) -> MemoryEstimate {
        Self.memoryEstimate(itemCount: itemCount, userCount: userCount, configuration: configuration, batchSize: batchSize)
    }

    func restore(_ s: [FloatBuffer]) {
        for (p, v) in zip(parameters, s) { p.value.copy(from: v) }
        codesStale = true
    }

    /// Adam's weight decay for one update: λ / (number of training samples).
    var weightDecay: Float {
        let n = ws?.train.rowCount ?? 1
        return configuration.lambda / Float(max(n, 1))
    }

    func trainBatch(_ rows: UnsafeBufferPointer<Int32>, epoch: Int) throws -> Double {
        let loss = try computeGradients(rows)
        try applyUpdate()
        return loss
    }

    /// One Adam step with the gradients of the last computeGradients (weight decay λ/n on V and W).
    func applyUpdate() throws {
        guard let ws else { throw AERecError.invalidArgument("applyUpdate outside training") }
        ws.step += 1
        var adam = configuration.optimizer
        adam.weightDecay = weightDecay
        let cfg = adam.kernel(step: ws.step)
        let lazy = configuration.optimizer.lazy, t = ws.options.threads
        try V.adamStep(cfg, threads: t, lazy: lazy)
        try mu.adamStep(cfg, threads: t, lazy: lazy)
        try W.adamStep(cfg, threads: t, lazy: lazy)
        // the output bias follows the decoder's rows: lazily, only the observed output units
        var c = cfg
        c.weight_decay = 0
        if lazy {
            if W.touchedCount > 0 {
                try W.touched.withUnsafeBufferPointer { tt in
                    try check(aek_adam_rows(tt.baseAddress, Int64(W.touchedCount), Int64(bOut.cols), 1, bOut.value.p,
                                            bOut.grad!.p, bOut.m!.p, bOut.v!.p, 1, c, Int32(t)), "adam(decoder.bias)")
                }
            }
        } else {
            try bOut.adamStep(c, threads: t, lazy: false)
        }
        codesStale = true
    }

    /// Forward and backward pass on training samples `rows`: leaves ∂(mean squared error per
    /// sample)/∂θ in the gradients (the L2 term is Adam's weight decay, ``weightDecay``) and returns
    /// the summed squared error of the rows. W, V and the output bias hold gradients on the rows of
    /// the batch's observed entries only.
    func computeGradients(_ rows: UnsafeBufferPointer<Int32>) throws -> Double {
        guard let ws else { throw AERecError.invalidArgument("trainBatch outside training") }
        let t = Int32(ws.options.threads)
        let B = rows.count, h = configuration.hiddenDimension
        let B64 = Int64(B), h64 = Int64(h)
        let act = configuration.latentActivation.kernel
        guard B <= ws.options.batchSize else { throw AERecError.invalidArgument("batch of \(B) rows > batch size") }
        ws.batch.load(ws.train, rows: rows)
        ws.batch.copyInput(binary: false)
        let x = ws.batch.inputView
        let nnz = ws.batch.nnz
        // forward: a = g(r V + μ); outputs only at the observed entries
        try check(aek_csr_dense_mm(x, V.value.p, h64, h64, mu.value.p, 0, ws.z.p, h64, t), "encoder")
        try check(aek_bias_activation_forward(B64, h64, nil, act, ws.z.p, h64, ws.a.p, h64, t), "latent activation")
        try check(aek_csr_sddmm(x, ws.a.p, h64, W.value.p, h64, h64, bOut.value.p, ws.grad.p, t), "observed outputs")
        var sse = 0.0
        try check(aek_masked_squared_error(ws.batch.valuesView, ws.grad.p, 1 / Float(B), ws.grad.p, &sse),
                  "squared error")
        // backward: e = ∂L/∂output at the observed entries, as a CSR block with the batch's pattern
        let e = aek_csr(n_rows: B64, n_cols: x.n_cols, indptr: x.indptr, indices: x.indices, values: ws.grad.p)
        try sparseInputGradient(W, x: e, dz: ws.a, scratch: ws.transpose,
                                previousTouched: &ws.previousTouchedW, lazy: configuration.optimizer.lazy, threads: t)
        let gb = bOut.grad!
        if configuration.optimizer.lazy {
            for j in 0..<W.touchedCount { gb.p[Int(W.touched[j])] = 0 }
        } else {
            gb.zero()
        }
        for k in 0..<nnz { gb.p[Int(x.indices[k])] += ws.grad.p[k] }
        try check(aek_csr_dense_mm(e, W.value.p, h64, h64, nil, 0, ws.da.p, h64, t), "decoder backprop")
        mu.grad!.zero()
        try check(aek_activation_backward(B64, h64, act, ws.z.p, h64, ws.a.p, h64, ws.da.p, h64, mu.grad!.p, t),
                  "latent activation gradient")
        try sparseInputGradient(V, x: x, dz: ws.da, scratch: ws.transpose,
                                previousTouched: &ws.previousTouchedV, lazy: configuration.optimizer.lazy, threads: t)
        return sse * Double(B)
    }

    /// I-AutoRec: itemCodes = g(R_items V + μ) for every item, from the items × users training matrix.
    private func computeItemCodes(from itemsByUsers: InteractionMatrix, threads: Int) throws {
        guard let codes = itemCodes else { return }
        let h = Int64(configuration.hiddenDimension), t = Int32(threads)
        try itemsByUsers.withKernelView { x in
            try check(aek_csr_dense_mm(x, V.value.p, h, h, mu.value.p, 0, codes.p, h, t), "item codes")
        }
        try check(aek_bias_activation_forward(Int64(itemCount), h, nil, latentActivation.kernel, codes.p, h, codes.p,
                                              h, t), "item codes activation")
        codesStale = false
    }

    /// Recomputes I-AutoRec's codes when training changed the weights since the last computation
    /// (validation during training; the trainer calls it from one thread).
    private func currentItemCodes(threads: Int) throws -> FloatBuffer {
        guard let codes = itemCodes else { throw AERecError.invalidArgument("U-AutoRec has no item codes") }
        if codesStale, let ws { try computeItemCodes(from: ws.train, threads: threads) }
        return codes
    }

    // MARK: inference

    /// Writes g(r V + μ) for rows `rows` of `input`, whose rows are vectors to reconstruct with
    /// ``inputDimension`` columns: users' ratings over the items (U-AutoRec) or items' ratings over
    /// the training users (I-AutoRec, e.g. rows of `train.transposed()`). Values are kept (an
    /// implicit matrix counts as ratings of 1).
    public func encode(_ input: InteractionMatrix, rows: Range<Int>, into out: UnsafeMutablePointer<Float>, ld: Int,
                       threads: Int) throws {
        try checkRows(input, rows: rows, columns: inputDimension)
        guard ld >= latentDimension else { throw AERecError.invalidArgument("leading dimension \(ld) < \(latentDimension)") }
        let h = Int64(latentDimension), t = Int32(threads)
        try input.withKernelView(rows: rows) { x in
            try check(aek_csr_dense_mm(x, V.value.p, h, h, mu.value.p, 0, out, Int64(ld), t), "encoder")
        }
        try check(aek_bias_activation_forward(Int64(rows.count), h, nil, latentActivation.kernel, out, Int64(ld), out,
                                              Int64(ld), t), "latent activation")
    }

    /// Writes every item's predicted rating (unclipped) for rows `rows` of `input` (users × items):
    /// U-AutoRec reconstructs the input rows; I-AutoRec reads output unit `trainRows[r]` of every
    /// item's reconstruction (see the type's documentation; every row needs a training row).
    public func scores(for input: InteractionMatrix, rows: Range<Int>, trainRows: [Int32]?,
                       into out: UnsafeMutablePointer<Float>, ld: Int, threads: Int) throws {
        try checkRows(input, rows: rows, columns: itemCount)
        guard ld >= itemCount else { throw AERecError.invalidArgument("leading dimension \(ld) < \(itemCount)") }
        let B = rows.count, h = latentDimension, I = itemCount, t = Int32(threads)
        switch configuration.orientation {
        case .user:
            let a = FloatBuffer(B * h, zeroed: false)
            try encode(input, rows: rows, into: a.p, ld: h, threads: threads)
            try check(gemm(t, 0, 1, Int64(B), Int64(I), Int64(h), 1, a.p, Int64(h), W.value.p, Int64(h), 0, out,
                                Int64(ld)), "decoder")
            try check(aek_bias_activation_forward(Int64(B), Int64(I), bOut.value.p,
                                                  aek_activation_default(AEK_ACT_IDENTITY), out, Int64(ld), out,
                                                  Int64(ld), t), "decoder bias")
        case .item:
            let users = try userUnits(trainRows, count: B)
            let codes = try currentItemCodes(threads: threads)
            let a = gatherDecoderRows(users)
            try check(gemm(t, 0, 1, Int64(B), Int64(I), Int64(h), 1, a.p, Int64(h), codes.p, Int64(h), 0, out,
                                Int64(ld)), "item reconstructions")
            for r in 0..<B {
                let bias = bOut.value.p[users[r]], row = out + r * ld
                for i in 0..<I { row[i] += bias }
            }
        }
    }

    /// Predicted ratings for the stored entries of `queries` (clipped to ``ratingRange``): U-AutoRec
    /// reconstructs each `history` row; I-AutoRec reads the users' training rows (`trainRows`).
    /// Only the queried outputs are computed.
    public func predictRatings(history: InteractionMatrix, queries: InteractionMatrix, trainRows: [Int32]?,
                               threads: Int) throws -> [Float] {
        guard history.rowCount == queries.rowCount else {
            throw AERecError.invalidArgument("\(history.rowCount) history rows, \(queries.rowCount) query rows")
        }
        guard queries.columnCount == itemCount else {
            throw AERecError.invalidArgument("queries have \(queries.columnCount) items, the model \(itemCount)")
        }
        let B = queries.rowCount, h = latentDimension, h64 = Int64(h), t = Int32(threads)
        var out = [Float](repeating: 0, count: queries.nnz)
        if B == 0 || queries.nnz == 0 { return out }
        switch configuration.orientation {
        case .user:
            try checkRows(history, rows: 0..<B, columns: itemCount)
            let a = FloatBuffer(B * h, zeroed: false)
            try encode(history, rows: 0..<B, into: a.p, ld: h, threads: threads)
            try queries.withKernelView { q in
                try out.withUnsafeMutableBufferPointer { o in
                    try check(aek_csr_sddmm(q, a.p, h64, W.value.p, h64, h64, bOut.value.p, o.baseAddress, t),
                              "predictions")
                }
            }
        case .item:
            let users = try userUnits(trainRows, count: B)
            let codes = try currentItemCodes(threads: threads)
            let a = gatherDecoderRows(users)
            try queries.withKernelView { q in
                try out.withUnsafeMutableBufferPointer { o in
                    try check(aek_csr_sddmm(q, a.p, h64, codes.p, h64, h64, nil, o.baseAddress, t), "predictions")
                }
            }
            for r in 0..<B {
                let bias = bOut.value.p[users[r]]
                for k in Int(queries.indptr[r])..<Int(queries.indptr[r + 1]) { out[k] += bias }
            }
        }
        if let range = ratingRange {
            for k in out.indices { out[k] = min(max(out[k], range.lowerBound), range.upperBound) }
        }
        return out
    }

    /// I-AutoRec: the output unit (training row) of each user, checked.
    private func userUnits(_ trainRows: [Int32]?, count: Int) throws -> [Int] {
        guard let trainRows else {
            throw AERecError.invalidArgument(
                "I-AutoRec needs each user's training row (trainRows); it cannot score users unseen in training")
        }
        guard trainRows.count == count else {
            throw AERecError.invalidArgument("\(trainRows.count) training rows for \(count) users")
        }
        return try trainRows.map { u in
            guard u >= 0, Int(u) < userCount else {
                throw AERecError.invalidArgument(u < 0
                    ? "I-AutoRec cannot score a user without a training row (strong generalisation); use a weak protocol or U-AutoRec"
                    : "training row \(u) outside I-AutoRec's \(userCount) users")
            }
            return Int(u)
        }
    }

    /// Rows `units` of the decoder (one per user), packed.
    private func gatherDecoderRows(_ units: [Int]) -> FloatBuffer {
        let h = latentDimension
        let a = FloatBuffer(units.count * h, zeroed: false)
        for (r, u) in units.enumerated() { (a.p + r * h).update(from: W.value.p + u * h, count: h) }
        return a
    }

    // MARK: persistence

    public func modelState() throws -> ModelState {
        var state = ModelState(kind: kind, latentActivation: latentActivation,
                               itemIDs: ModelState.itemMap(itemIDs, count: itemCount),
                               userIDs: ModelState.itemMap(userIDs, count: userCount))
        try state.setConfiguration(configuration)
        try state.appendParameters(parameters)
        if let codes = try itemCodesForSaving() {
            try state.appendTensor(name: "item.codes", shape: [itemCount, latentDimension], data: codes.array)
        }
        let range = ratingRange.map { [$0.lowerBound, $0.upperBound] } ?? []
        try state.appendTensor(name: "prediction.range", shape: [range.count], data: range)
        return state
    }

    private func itemCodesForSaving() throws -> FloatBuffer? {
        guard configuration.orientation == .item else { return nil }
        return try currentItemCodes(threads: 1)
    }

    /// The model in `state` (kind autorec-i or autorec-u); the user count is the length of its user map.
    public static func restore(from state: ModelState) throws -> AutoRec {
        guard state.kind == .autoRecI || state.kind == .autoRecU else {
            throw state.error("holds a \(state.kind.rawValue) model, expected autorec-i or autorec-u")
        }
        let config: AutoRecConfiguration = try state.decodeConfiguration()
        guard (config.orientation == .item) == (state.kind == .autoRecI) else {
            throw state.error("\(state.kind.rawValue) model with a \(config.orientation.rawValue)-based configuration")
        }
        guard let users = state.userIDs else { throw state.error("AutoRec model without a user map") }
        let model = try AutoRec(itemCount: state.itemIDs.count, userCount: users.count, configuration: config)
        try state.loadParameters(model.parameters)
        if let codes = model.itemCodes {
            let data = try state.tensorData(named: "item.codes", shape: [model.itemCount, model.latentDimension])
            data.withUnsafeBufferPointer { if $0.count > 0 { codes.p.update(from: $0.baseAddress!, count: $0.count) } }
        }
        model.codesStale = false
        let range = try state.tensor(named: "prediction.range").data
        switch range.count {
        case 0: model.ratingRange = nil
        case 2 where range[0] <= range[1]: model.ratingRange = range[0]...range[1]
        default: throw state.error("AutoRec model: 'prediction.range' must hold 0 or 2 ordered values")
        }
        model.itemIDs = state.itemIDs
        model.userIDs = users
        return model
    }

    private func checkRows(_ input: InteractionMatrix, rows: Range<Int>, columns: Int) throws {
        guard input.columnCount == columns else {
            throw AERecError.invalidArgument("input has \(input.columnCount) columns, the model expects \(columns)")
        }
        guard rows.lowerBound >= 0, rows.upperBound <= input.rowCount else {
            throw AERecError.invalidArgument("rows \(rows) outside the input's \(input.rowCount) rows")
        }
    }
}
