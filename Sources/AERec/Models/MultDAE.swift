import AERecKernels

/// Mult-DAE's hyperparameters (Liang et al. 2018, [I-200-I]).
public struct MultDAEConfiguration: Sendable, Codable, Equatable {
    /// Width of the code (the single hidden layer).
    public var latentDimension = 200
    /// The code layer's activation (Liang et al. use tanh).
    public var latentActivation: Activation = .tanh
    /// Dropout probability on the L2-normalised input.
    public var dropout: Float = 0.5
    /// L2 penalty λ on the weights: the loss adds λ·Σw² (vae_cf's `2 * l2_regularizer(λ)`), λ = 0.01.
    public var l2: Float = 0.01
    /// Adam with learning rate 1e-3 (weight decay is set from `l2`).
    public var optimizer = AdamConfiguration()

    public init(latentDimension: Int = 200, latentActivation: Activation = .tanh, dropout: Float = 0.5,
                l2: Float = 0.01, optimizer: AdamConfiguration = AdamConfiguration()) {
        self.latentDimension = latentDimension
        self.latentActivation = latentActivation
        self.dropout = dropout
        self.l2 = l2
        self.optimizer = optimizer
    }

    func validate(itemCount: Int) throws {
        guard itemCount >= 1 else { throw AERecError.invalidArgument("Mult-DAE needs at least one item") }
        guard latentDimension >= 1 else {
            throw AERecError.invalidArgument("latent dimension must be ≥ 1, got \(latentDimension)")
        }
        try requireNarrowCode("mult-dae", code: latentDimension, codeName: "latent width", input: itemCount, inputName: "items")
        guard dropout >= 0, dropout < 1 else { throw AERecError.invalidArgument("dropout must be in [0, 1)") }
        try requireTrainingSettings(penalty: l2, optimizer: optimizer)
    }
}

/// Mult-DAE (Liang et al. 2018): L2-normalised binary input with dropout, one code layer with the
/// chosen latent activation, a linear decoder, multinomial log-likelihood, Adam.
///
/// ```swift
/// let model = try MultDAE(itemCount: split.train.columnCount,
///                         configuration: .init(latentActivation: .sigmoid))
/// let history = try model.fit(split.train, validation: split.validation)
/// ```
public final class MultDAE: Autoencoder, TrainableRecommender, PersistableModel, GradientTrainable, @unchecked Sendable {
    public let kind = ModelKind.multDAE
    public let configuration: MultDAEConfiguration
    public let itemCount: Int
    public var latentActivation: Activation { configuration.latentActivation }
    public var latentDimension: Int { configuration.latentDimension }
    public var inputDimension: Int { itemCount }
    /// External ids of the items (columns), saved with the model.
    public var itemIDs: IDMap?
    /// External ids of the training users, saved with the model.
    public var userIDs: IDMap?

    let W1: Parameter, b1: Parameter, W2: Parameter, b2: Parameter
    var parameters: [Parameter] { [W1, b1, W2, b2] }
    private var ws: Workspace?

    /// A model with freshly initialised weights (Xavier uniform weights, N(0, 0.001²) biases).
    public init(itemCount: Int, configuration: MultDAEConfiguration = MultDAEConfiguration(), seed: UInt64 = 98765) throws {
        try configuration.validate(itemCount: itemCount)
        try Self.memoryEstimate(itemCount: itemCount, configuration: configuration).require()
        self.itemCount = itemCount
        self.configuration = configuration
        let d = configuration.latentDimension
        W1 = Parameter(name: "encoder.weight", rows: itemCount, cols: d, lazyRows: true)
        b1 = Parameter(name: "encoder.bias", rows: 1, cols: d, decays: false)
        W2 = Parameter(name: "decoder.weight", rows: d, cols: itemCount)
        b2 = Parameter(name: "decoder.bias", rows: 1, cols: itemCount, decays: false)
        W2.fusedUpdate = true
        initialize(seed: seed)
    }

    func initialize(seed: UInt64) {
        let d = configuration.latentDimension
        W1.initXavier(seed: seed, fanIn: itemCount, fanOut: d)
        W2.initXavier(seed: seed, fanIn: d, fanOut: itemCount)
        b1.initNormal(seed: seed, std: 0.001)
        b2.initNormal(seed: seed, std: 0.001)
    }

    /// Trains from freshly initialised weights (seeded by `options.seed`) with mini-batches, validating
    /// on `validation` after each epoch and keeping the best epoch's weights.
    @discardableResult
    public func fit(_ train: InteractionMatrix, validation: HeldOutSet? = nil, options: TrainingOptions = TrainingOptions(),
                    callback: ((EpochReport) -> TrainingDecision)? = nil) throws -> TrainingHistory {
        guard train.columnCount == itemCount else {
            throw AERecError.invalidArgument("training matrix has \(train.columnCount) items, the model \(itemCount)")
        }
        initialize(seed: options.seed)
        return try Trainer.fit(self, train: train, validation: validation, options: options, callback: callback)
    }

    // MARK: training

    private final class Workspace {
        var batch: SparseBatch
        let z1: FloatBuffer, a1: FloatBuffer, da1: FloatBuffer, logits: FloatBuffer
        /// The decoder's weight-gradient column blocks of the fused update, one per thread, after the
        /// backpropagated product's partial sums of threads 2, 3, … (``Parameter/fusedScratchFloats``).
        let decoderBlock: FloatBuffer
        /// Per-thread float64 column sums of the output gradient (the output bias's gradient).
        let biasSums: DoubleBuffer
        /// Rows of `logits` that may hold non-zeros (see MultVAE's workspace).
        var logitsDirtyRows = 0
        let transpose: TransposeScratch
        var step = 0
        var previousTouched = 0
        let train: InteractionMatrix
        let options: TrainingOptions

        init(train: InteractionMatrix, options: TrainingOptions, d: Int) {
            let b = options.batchSize, i = train.columnCount
            batch = SparseBatch(columnCount: i, rowCapacity: b)
            z1 = FloatBuffer(b * d); a1 = FloatBuffer(b * d); da1 = FloatBuffer(b * d); logits = FloatBuffer(b * i)
            decoderBlock = FloatBuffer(Parameter.fusedScratchFloats(rows: d, cols: i, batch: b, threads: options.threads),
                                       zeroed: false)
            biasSums = DoubleBuffer(Int(aek_column_sums_scratch_doubles(Int64(b), Int64(i), Int32(options.threads))))
            // the largest batch: the batchSize longest rows
            transpose = TransposeScratch(train, batchSize: b, columns: i)
            self.train = train
            self.options = options
        }

        deinit {
            batch.free()
        }
    }

    func beginTraining(_ train: InteractionMatrix, trainRows: [Int32], options: TrainingOptions) throws {
        for p in parameters { p.prepareForTraining() }
        ws = Workspace(train: train.binarized(), options: options, d: configuration.latentDimension)
    }

    func endTraining() {
        ws = nil
        for p in parameters { p.finishTraining() }
    }

    func snapshot() -> [FloatBuffer] { parameters.map { FloatBuffer(copying: $0.value) } }

    var optimizerStep: Int {
        get { ws?.step ?? 0 }
        set { ws?.step = newValue }
    }

    func trainingMemoryEstimate(batchSize: Int, threads: Int) -> MemoryEstimate {
        Self.memoryEstimate(itemCount: itemCount, configuration: configuration, batchSize: batchSize, threads: threads)
    }

    func restore(_ s: [FloatBuffer]) { for (p, v) in zip(parameters, s) { p.value.copy(from: v) } }

    func trainBatch(_ rows: UnsafeBufferPointer<Int32>, epoch: Int) throws -> Double {
        let fused = kernelFusionEnabled
        let loss = try computeGradients(rows, epoch: epoch, fusedUpdate: fused)
        try applyUpdate(fusedUpdate: fused)
        return loss
    }

    /// Forward and backward pass on the rows: fills every parameter's gradient (of the mean loss
    /// over the batch, without the L2 term, which Adam adds) and returns the summed loss.
    /// With `fusedUpdate` the decoder's weights get no gradient but are updated right away, a column
    /// block at a time, as the next ``applyUpdate(fusedUpdate:)`` would have (same bits; see MultVAE).
    func computeGradients(_ rows: UnsafeBufferPointer<Int32>, epoch: Int, fusedUpdate: Bool = false) throws -> Double {
        guard let ws else { throw AERecError.invalidArgument("trainBatch outside training") }
        let t = Int32(ws.options.threads)
        let B = rows.count, d = configuration.latentDimension, I = itemCount
        let act = configuration.latentActivation.kernel
        ws.batch.load(ws.train, rows: rows)
        try ws.batch.normalizeInput(binary: true)
        try ws.batch.dropoutInput(configuration.dropout, seed: ws.options.seed, stream: UInt64(epoch))
        let x = ws.batch.inputView
        // forward
        try check(aek_csr_dense_mm(x, W1.value.p, Int64(d), Int64(d), b1.value.p, 0, ws.z1.p, Int64(d), t), "encoder")
        try check(aek_bias_activation_forward(Int64(B), Int64(d), nil, act, ws.z1.p, Int64(d), ws.a1.p, Int64(d), t),
                  "latent activation")
        // onto zeros a fused update left (beta = 1: the same bits as beta = 0 without the zeroing pass)
        try check(gemm(t, 0, 0, Int64(B), Int64(I), Int64(d), 1, ws.a1.p, Int64(d), W2.value.p, Int64(I),
                            ws.logitsDirtyRows == 0 ? 1 : 0, ws.logits.p, Int64(I)), "decoder")
        ws.logitsDirtyRows = max(ws.logitsDirtyRows, B)
        // multinomial log-likelihood, the output bias and its gradient (fused: in one pass, the same
        // bits); the logits become dL/dlogits (mean over the batch)
        let nll = try multinomialLikelihood(targets: ws.batch.patternView, logits: ws.logits.p, rows: B, items: I,
                                            bias: b2, scale: 1 / Float(B), fused: fusedUpdate, sums: ws.biasSums,
                                            threads: t)
        // backward
        if fusedUpdate {
            // the weight gradient, Adam and the backpropagated product, column block by column block
            try W2.fusedProductAdam(a: ws.a1.p, n: B, g: ws.logits.p, ldg: I, da: ws.da1.p, scratch: ws.decoderBlock,
                                    cfg: adamConfiguration(step: ws.step + 1), threads: Int(t), clearing: true)
            if ws.logitsDirtyRows <= B { ws.logitsDirtyRows = 0 }
        } else {
            try W2.backpropProduct(g: ws.logits.p, n: B, ldg: I, da: ws.da1.p, scratch: ws.decoderBlock, threads: Int(t))
            W2.ensureGradient()
            try check(gemm(t, 1, 0, Int64(d), Int64(I), Int64(B), 1, ws.a1.p, Int64(d), ws.logits.p, Int64(I), 0,
                                W2.grad!.p, Int64(I)), "decoder gradient")
        }
        b1.grad!.zero()
        try check(aek_activation_backward(Int64(B), Int64(d), act, ws.z1.p, Int64(d), ws.a1.p, Int64(d), ws.da1.p,
                                          Int64(d), b1.grad!.p, t), "latent activation gradient")
        try sparseInputGradient(W1, x: x, dz: ws.da1, scratch: ws.transpose,
                                previousTouched: &ws.previousTouched, lazy: configuration.optimizer.lazy, threads: t)
        return nll * Double(B)
    }

    /// One Adam step with the gradients of the last computeGradients.
    /// With `fusedUpdate` the decoder's weights, already updated, are left alone.
    func applyUpdate(fusedUpdate: Bool = false) throws {
        guard let ws else { return }
        ws.step += 1
        let cfg = adamConfiguration(step: ws.step)
        for p in parameters where !(fusedUpdate && p === W2) {
            try p.adamStep(cfg, threads: ws.options.threads, lazy: configuration.optimizer.lazy)
        }
    }

    func adamConfiguration(step: Int) -> aek_adam {
        var adam = configuration.optimizer
        adam.weightDecay = 2 * configuration.l2
        return adam.kernel(step: step)
    }

    // MARK: inference

    /// Writes the codes tanh/σ/…(x̂ W1 + b1) of rows `rows` of `input` (x̂ = L2-normalised binary input).
    public func encode(_ input: InteractionMatrix, rows: Range<Int>, into out: UnsafeMutablePointer<Float>, ld: Int,
                       threads: Int) throws {
        try encode(input, rows: rows, into: out, ld: ld, threads: threads, binary: true)
    }

    /// The encoder on the input's own values (L2-normalised, not binarised).
    public func encodeValues(_ input: InteractionMatrix, rows: Range<Int>, into out: UnsafeMutablePointer<Float>,
                             ld: Int, threads: Int) throws {
        try encode(input, rows: rows, into: out, ld: ld, threads: threads, binary: false)
    }

    func encode(_ input: InteractionMatrix, rows: Range<Int>, into out: UnsafeMutablePointer<Float>, ld: Int,
                threads: Int, binary: Bool) throws {
        try checkInput(input, rows: rows, ld: ld, width: latentDimension)
        var batch = SparseBatch(columnCount: itemCount, rowCapacity: rows.count)
        defer { batch.free() }
        batch.load(input, range: rows)
        try batch.normalizeInput(binary: binary)
        let d = latentDimension
        try check(aek_csr_dense_mm(batch.inputView, W1.value.p, Int64(d), Int64(d), b1.value.p, 0, out, Int64(ld),
                                   Int32(threads)), "encoder")
        try check(aek_bias_activation_forward(Int64(rows.count), Int64(d), nil, latentActivation.kernel, out, Int64(ld),
                                              out, Int64(ld), Int32(threads)), "latent activation")
    }

    /// Writes the decoder's logits (the ranking scores) for rows `rows` of `input`.
    public func scores(for input: InteractionMatrix, rows: Range<Int>, trainRows: [Int32]?,
                       into out: UnsafeMutablePointer<Float>, ld: Int, threads: Int) throws {
        try checkInput(input, rows: rows, ld: ld, width: itemCount)
        let B = rows.count, d = latentDimension
        let codes = FloatBuffer(B * d, zeroed: false)
        try encode(input, rows: rows, into: codes.p, ld: d, threads: threads)
        try check(gemm(Int32(threads), 0, 0, Int64(B), Int64(itemCount), Int64(d), 1, codes.p, Int64(d), W2.value.p,
                            Int64(itemCount), 0, out, Int64(ld)), "decoder")
        try check(aek_bias_activation_forward(Int64(B), Int64(itemCount), b2.value.p,
                                              aek_activation_default(AEK_ACT_IDENTITY), out, Int64(ld), out, Int64(ld),
                                              Int32(threads)), "decoder bias")
    }

    // MARK: persistence

    public func modelState() throws -> ModelState {
        var state = ModelState(kind: kind, latentActivation: latentActivation,
                               itemIDs: ModelState.itemMap(itemIDs, count: itemCount), userIDs: userIDs)
        try state.setConfiguration(configuration)
        try state.appendParameters(parameters)
        return state
    }

    public static func restore(from state: ModelState) throws -> MultDAE {
        try state.requireKind(.multDAE)
        let config: MultDAEConfiguration = try state.decodeConfiguration()
        let model = try MultDAE(itemCount: state.itemIDs.count, configuration: config)
        try state.loadParameters(model.parameters)
        model.itemIDs = state.itemIDs
        model.userIDs = state.userIDs
        return model
    }

    private func checkInput(_ input: InteractionMatrix, rows: Range<Int>, ld: Int, width: Int) throws {
        guard input.columnCount == itemCount else {
            throw AERecError.invalidArgument("input has \(input.columnCount) items, the model \(itemCount)")
        }
        guard rows.lowerBound >= 0, rows.upperBound <= input.rowCount else {
            throw AERecError.invalidArgument("rows \(rows) outside the input's \(input.rowCount) rows")
        }
        guard ld >= width else { throw AERecError.invalidArgument("leading dimension \(ld) < \(width)") }
    }
}

/// The scratch memory of `aek_csr_transpose_dense_mm` for the sparse first layer's gradient, sized
/// once per fit for the largest possible batch: the `batchSize` longest rows of `train`.
final class TransposeScratch {
    let pointer: UnsafeMutableRawPointer
    let bytes: Int
    /// Non-zeros of the largest batch (the `batchSize` longest rows).
    let maxBatchNNZ: Int

    init(_ train: InteractionMatrix, batchSize: Int, columns: Int) {
        maxBatchNNZ = train.rowCounts.sorted(by: >).prefix(batchSize).reduce(0, +)
        bytes = aek_csr_transpose_workspace_size(Int64(columns), Int64(maxBatchNNZ))
        pointer = .allocate(byteCount: max(bytes, 1), alignment: 64)
    }

    deinit { pointer.deallocate() }
}

/// dW (rows of the items in the batch) = xᵀ·dz through the sparse first layer. For dense (non-lazy)
/// Adam the rows touched by the previous batch are cleared first, so untouched rows hold zero.
func sparseInputGradient(_ W: Parameter, x: aek_csr, dz: FloatBuffer, scratch: TransposeScratch,
                         previousTouched: inout Int, lazy: Bool, threads: Int32) throws {
    let h = W.cols
    guard let g = W.grad else { return }
    if !lazy {
        for j in 0..<previousTouched { (g.p + Int(W.touched[j]) * h).update(repeating: 0, count: h) }
    }
    var n: Int64 = 0
    try W.touched.withUnsafeMutableBufferPointer { t in
        try check(aek_csr_transpose_dense_mm(x, dz.p, Int64(h), Int64(h), 0, g.p, Int64(h), t.baseAddress, &n,
                                             scratch.pointer, scratch.bytes, threads), "encoder gradient")
    }
    W.touchedCount = Int(n)
    previousTouched = Int(n)
}
