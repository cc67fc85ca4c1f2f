import AERecKernels

#if canImport(Glibc)
import Glibc
#endif

/// Mult-VAE's hyperparameters (Liang et al. 2018, [I-600-200-600-I]).
public struct MultVAEConfiguration: Sendable, Codable, Equatable {
    /// Width of the encoder's and decoder's hidden layers.
    public var hiddenDimension = 600
    /// Width of the code z (μ and log σ² each have this width).
    public var latentDimension = 200
    /// The encoder's hidden activation (the latent activation; Liang et al. use tanh). μ and log σ²
    /// are linear in it, as in the paper.
    public var latentActivation: Activation = .tanh
    /// The decoder's hidden activation.
    public var decoderActivation: Activation = .tanh
    /// Dropout probability on the L2-normalised input.
    public var dropout: Float = 0.5
    /// L2 penalty λ on the weights (loss + λ·Σw²); vae_cf uses 0 for Mult-VAE.
    public var l2: Float = 0
    /// The KL weight β grows linearly from 0 by 1/annealSteps per update up to betaCap.
    public var betaCap: Float = 0.2
    /// Updates over which β reaches 1 (vae_cf: 200,000); 0 means β = betaCap from the start.
    public var annealSteps = 200_000
    public var optimizer = AdamConfiguration()

    public init(hiddenDimension: Int = 600, latentDimension: Int = 200, latentActivation: Activation = .tanh,
                decoderActivation: Activation = .tanh, dropout: Float = 0.5, l2: Float = 0, betaCap: Float = 0.2,
                annealSteps: Int = 200_000, optimizer: AdamConfiguration = AdamConfiguration()) {
        self.hiddenDimension = hiddenDimension
        self.latentDimension = latentDimension
        self.latentActivation = latentActivation
        self.decoderActivation = decoderActivation
        self.dropout = dropout
        self.l2 = l2
        self.betaCap = betaCap
        self.annealSteps = annealSteps
        self.optimizer = optimizer
    }

    func validate(itemCount: Int) throws {
        guard itemCount >= 1 else { throw AERecError.invalidArgument("Mult-VAE needs at least one item") }
        guard hiddenDimension >= 1, latentDimension >= 1 else {
            throw AERecError.invalidArgument("hidden and latent dimensions must be ≥ 1")
        }
        try requireNarrowCode("mult-vae", code: latentDimension, codeName: "latent width", input: itemCount, inputName: "items")
        guard dropout >= 0, dropout < 1 else { throw AERecError.invalidArgument("dropout must be in [0, 1)") }
        guard betaCap >= 0, betaCap.isFinite, annealSteps >= 0 else {
            throw AERecError.invalidArgument("betaCap and annealSteps must be ≥ 0")
        }
        try requireTrainingSettings(penalty: l2, optimizer: optimizer)
    }
}

/// Mult-VAE (Liang et al. 2018): a variational autoencoder with a multinomial likelihood, KL
/// annealing to a cap, and μ used at inference.
public final class MultVAE: Autoencoder, TrainableRecommender, PersistableModel, GradientTrainable, @unchecked Sendable {
    public let kind = ModelKind.multVAE
    public let configuration: MultVAEConfiguration
    public let itemCount: Int
    public var latentActivation: Activation { configuration.latentActivation }
    public var latentDimension: Int { configuration.latentDimension }
    public var inputDimension: Int { itemCount }
    /// External ids of the items (columns), saved with the model.
    public var itemIDs: IDMap?
    /// External ids of the training users, saved with the model.
    public var userIDs: IDMap?

    let W1: Parameter, b1: Parameter  // input → hidden
    let Wq: Parameter, bq: Parameter  // hidden → [μ | log σ²]
    let Wp1: Parameter, bp1: Parameter  // z → hidden
    let Wp2: Parameter, bp2: Parameter  // hidden → items
    var parameters: [Parameter] { [W1, b1, Wq, bq, Wp1, bp1, Wp2, bp2] }
    private var ws: Workspace?
    /// Updates made so far in the current training run (drives β).
    var updateCount = 0

    public init(itemCount: Int, configuration: MultVAEConfiguration = MultVAEConfiguration(), seed: UInt64 = 98765) throws {
        try configuration.validate(itemCount: itemCount)
        try Self.memoryEstimate(itemCount: itemCount, configuration: configuration).require()
        self.itemCount = itemCount
        self.configuration = configuration
        let h = configuration.hiddenDimension, d = configuration.latentDimension
        W1 = Parameter(name: "encoder.0.weight", rows: itemCount, cols: h, lazyRows: true)
        b1 = Parameter(name: "encoder.0.bias", rows: 1, cols: h, decays: false)
        Wq = Parameter(name: "encoder.1.weight", rows: h, cols: 2 * d)
        bq = Parameter(name: "encoder.1.bias", rows: 1, cols: 2 * d, decays: false)
        Wp1 = Parameter(name: "decoder.0.weight", rows: d, cols: h)
        bp1 = Parameter(name: "decoder.0.bias", rows: 1, cols: h, decays: false)
        Wp2 = Parameter(name: "decoder.1.weight", rows: h, cols: itemCount)
        bp2 = Parameter(name: "decoder.1.bias", rows: 1, cols: itemCount, decays: false)
        Wp2.fusedUpdate = true
        initialize(seed: seed)
    }

    func initialize(seed: UInt64) {
        for p in parameters {
            if p.rows == 1 { p.initNormal(seed: seed, std: 0.001) } else {
                p.initXavier(seed: seed, fanIn: p.rows, fanOut: p.cols)
            }
        }
        updateCount = 0
    }

    /// The KL weight for the next update.
    var beta: Float {
        configuration.annealSteps > 0
            ? min(configuration.betaCap, Float(updateCount) / Float(configuration.annealSteps)) : configuration.betaCap
    }

    var currentBeta: Double? { Double(beta) }

    /// Trains from freshly initialised weights (see ``MultDAE/fit(_:validation:options:callback:)``).
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
        let z1, a1, da1, q, dq, eps, z, dz, z2, a2, da2, logits: FloatBuffer
        /// The output layer's weight-gradient column blocks of the fused update, one per thread, after the
        /// backpropagated product's partial sums of threads 2, 3, … (``Parameter/fusedScratchFloats``).
        let decoderBlock: FloatBuffer
        /// Per-thread float64 column sums of the output gradient (the output bias's gradient).
        let biasSums: DoubleBuffer
        /// Rows of `logits` from 0 that may hold non-zeros; 0 when the whole buffer is zero (a fused
        /// update clears the rows it used), and the next forward product then accumulates onto it
        /// (beta = 1, the same bits as beta = 0) instead of zeroing it first.
        var logitsDirtyRows = 0
        let transpose: TransposeScratch
        var previousTouched = 0
        let train: InteractionMatrix
        let options: TrainingOptions

        init(train: InteractionMatrix, options: TrainingOptions, h: Int, d: Int) {
            let b = options.batchSize, i = train.columnCount
            batch = SparseBatch(columnCount: i, rowCapacity: b)
            z1 = FloatBuffer(b * h); a1 = FloatBuffer(b * h); da1 = FloatBuffer(b * h)
            q = FloatBuffer(b * 2 * d); dq = FloatBuffer(b * 2 * d); eps = FloatBuffer(b * d)
            z = FloatBuffer(b * d); dz = FloatBuffer(b * d)
            z2 = FloatBuffer(b * h); a2 = FloatBuffer(b * h); da2 = FloatBuffer(b * h)
            logits = FloatBuffer(b * i)
            decoderBlock = FloatBuffer(Parameter.fusedScratchFloats(rows: h, cols: i, batch: b, threads: options.threads),
                                       zeroed: false)
            biasSums = DoubleBuffer(Int(aek_column_sums_scratch_doubles(Int64(b), Int64(i), Int32(options.threads))))
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
        ws = Workspace(train: train.binarized(), options: options, h: configuration.hiddenDimension,
                       d: configuration.latentDimension)
        updateCount = 0
    }

    func endTraining() {
        ws = nil
        for p in parameters { p.finishTraining() }
    }

    func snapshot() -> [FloatBuffer] { parameters.map { FloatBuffer(copying: $0.value) } }

    var optimizerStep: Int {
        get { updateCount }
        set { updateCount = newValue }
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
    /// With `fusedUpdate` the output layer's weights are not given a gradient but updated by Adam
    /// right away, a column block at a time (``Parameter/fusedProductAdam``), as the next
    /// ``applyUpdate(fusedUpdate:)`` would have: the same bits, without the 4·hidden·items-byte
    /// gradient buffer and its write and read.
    func computeGradients(_ rows: UnsafeBufferPointer<Int32>, epoch: Int, fusedUpdate: Bool = false) throws -> Double {
        guard let ws else { throw AERecError.invalidArgument("trainBatch outside training") }
        let t = Int32(ws.options.threads)
        let B = rows.count, h = configuration.hiddenDimension, d = configuration.latentDimension, I = itemCount
        let B64 = Int64(B), h64 = Int64(h), d64 = Int64(d), d2 = Int64(2 * d), I64 = Int64(I)
        let f = configuration.latentActivation.kernel, g = configuration.decoderActivation.kernel
        let identity = aek_activation_default(AEK_ACT_IDENTITY)
        let beta = self.beta
        ws.batch.load(ws.train, rows: rows)
        try ws.batch.normalizeInput(binary: true)
        try ws.batch.dropoutInput(configuration.dropout, seed: ws.options.seed, stream: UInt64(epoch))
        let x = ws.batch.inputView
        // encoder
        try check(aek_csr_dense_mm(x, W1.value.p, h64, h64, b1.value.p, 0, ws.z1.p, h64, t), "encoder")
        try check(aek_bias_activation_forward(B64, h64, nil, f, ws.z1.p, h64, ws.a1.p, h64, t), "latent activation")
        try check(gemm(t, 0, 0, B64, d2, h64, 1, ws.a1.p, h64, Wq.value.p, d2, 0, ws.q.p, d2), "encoder output")
        try check(aek_bias_activation_forward(B64, d2, bq.value.p, identity, ws.q.p, d2, ws.q.p, d2, t), "encoder bias")
        // reparameterisation z = μ + σ·ε, ε keyed by (seed, epoch, user, unit)
        try ws.batch.keys.storage.withMemoryRebound(to: Int64.self, capacity: B) { keys in
            try check(aek_normal_fill(B64, d64, ws.eps.p, d64, ws.options.seed, 0x4550_5300_0000_0000 &+ UInt64(epoch),
                                      keys, t), "noise")
        }
        for r in 0..<B {
            let q = ws.q.p + r * 2 * d, e = ws.eps.p + r * d, z = ws.z.p + r * d
            for j in 0..<d { z[j] = q[j] + expf(0.5 * q[d + j]) * e[j] }
        }
        // decoder
        try check(gemm(t, 0, 0, B64, h64, d64, 1, ws.z.p, d64, Wp1.value.p, h64, 0, ws.z2.p, h64), "decoder")
        try check(aek_bias_activation_forward(B64, h64, bp1.value.p, g, ws.z2.p, h64, ws.a2.p, h64, t),
                  "decoder activation")
        // the logits: onto the zeros a fused update left (the same bits as beta = 0)
        try check(gemm(t, 0, 0, B64, I64, h64, 1, ws.a2.p, h64, Wp2.value.p, I64, ws.logitsDirtyRows == 0 ? 1 : 0,
                            ws.logits.p, I64), "decoder out")
        ws.logitsDirtyRows = max(ws.logitsDirtyRows, B)
        // the likelihood, the output bias and its gradient (fused: in one pass, the same bits)
        let nll = try multinomialLikelihood(targets: ws.batch.patternView, logits: ws.logits.p, rows: B, items: I,
                                            bias: bp2, scale: 1 / Float(B), fused: fusedUpdate, sums: ws.biasSums,
                                            threads: t)
        var kl = 0.0
        // KL term: gradients go straight into dq = [dμ | dlog σ²]
        ws.dq.zero()
        try check(aek_gaussian_kl(B64, d64, ws.q.p, d2, ws.q.p + d, d2, beta / Float(B), ws.dq.p, d2, ws.dq.p + d, d2,
                                  &kl), "KL")
        // backward through the decoder
        if fusedUpdate {
            // the weight gradient, Adam and dA2, column block by column block
            try Wp2.fusedProductAdam(a: ws.a2.p, n: B, g: ws.logits.p, ldg: I, da: ws.da2.p, scratch: ws.decoderBlock,
                                     cfg: adamConfiguration(step: updateCount + 1), threads: Int(t), clearing: true)
            if ws.logitsDirtyRows <= B { ws.logitsDirtyRows = 0 }
        } else {
            try Wp2.backpropProduct(g: ws.logits.p, n: B, ldg: I, da: ws.da2.p, scratch: ws.decoderBlock, threads: Int(t))
            Wp2.ensureGradient()
            try check(gemm(t, 1, 0, h64, I64, B64, 1, ws.a2.p, h64, ws.logits.p, I64, 0, Wp2.grad!.p, I64), "dWp2")
        }
        bp1.grad!.zero()
        try check(aek_activation_backward(B64, h64, g, ws.z2.p, h64, ws.a2.p, h64, ws.da2.p, h64, bp1.grad!.p, t),
                  "decoder activation gradient")
        try check(gemm(t, 1, 0, d64, h64, B64, 1, ws.z.p, d64, ws.da2.p, h64, 0, Wp1.grad!.p, h64), "dWp1")
        try check(gemm(t, 0, 1, B64, d64, h64, 1, ws.da2.p, h64, Wp1.value.p, h64, 0, ws.dz.p, d64), "dz")
        // through the reparameterisation: dμ += dz, dlog σ² += dz·ε·σ/2
        for r in 0..<B {
            let q = ws.q.p + r * 2 * d, e = ws.eps.p + r * d, dzr = ws.dz.p + r * d, dqr = ws.dq.p + r * 2 * d
            for j in 0..<d {
                dqr[j] += dzr[j]
                dqr[d + j] += dzr[j] * e[j] * 0.5 * expf(0.5 * q[d + j])
            }
        }
        // backward through the encoder
        bq.grad!.zero()
        try check(aek_activation_backward(B64, d2, identity, ws.q.p, d2, nil, 0, ws.dq.p, d2, bq.grad!.p, t),
                  "encoder bias gradient")
        try check(gemm(t, 1, 0, h64, d2, B64, 1, ws.a1.p, h64, ws.dq.p, d2, 0, Wq.grad!.p, d2), "dWq")
        try check(gemm(t, 0, 1, B64, h64, d2, 1, ws.dq.p, d2, Wq.value.p, d2, 0, ws.da1.p, h64), "dA1")
        b1.grad!.zero()
        try check(aek_activation_backward(B64, h64, f, ws.z1.p, h64, ws.a1.p, h64, ws.da1.p, h64, b1.grad!.p, t),
                  "latent activation gradient")
        try sparseInputGradient(W1, x: x, dz: ws.da1, scratch: ws.transpose,
                                previousTouched: &ws.previousTouched, lazy: configuration.optimizer.lazy, threads: t)
        return (nll + kl) * Double(B)
    }

    /// One Adam step with the gradients of the last computeGradients (and β moves on); with
    /// `fusedUpdate` the output layer's weights, already updated, are left alone.
    func applyUpdate(fusedUpdate: Bool = false) throws {
        guard let ws else { return }
        updateCount += 1
        let cfg = adamConfiguration(step: updateCount)
        for p in parameters where !(fusedUpdate && p === Wp2) {
            try p.adamStep(cfg, threads: ws.options.threads, lazy: configuration.optimizer.lazy)
        }
    }

    func adamConfiguration(step: Int) -> aek_adam {
        var adam = configuration.optimizer
        adam.weightDecay = 2 * configuration.l2
        return adam.kernel(step: step)
    }

    // MARK: inference

    /// Writes μ (the code used at inference) for rows `rows` of `input`.
    public func encode(_ input: InteractionMatrix, rows: Range<Int>, into out: UnsafeMutablePointer<Float>, ld: Int,
                       threads: Int) throws {
        try encodeMu(input, rows: rows, into: out, ld: ld, threads: threads, binary: true)
    }

    /// μ of the encoder on the input's own values (L2-normalised, not binarised).
    public func encodeValues(_ input: InteractionMatrix, rows: Range<Int>, into out: UnsafeMutablePointer<Float>,
                             ld: Int, threads: Int) throws {
        try encodeMu(input, rows: rows, into: out, ld: ld, threads: threads, binary: false)
    }

    func encodeMu(_ input: InteractionMatrix, rows: Range<Int>, into out: UnsafeMutablePointer<Float>, ld: Int,
                  threads: Int, binary: Bool) throws {
        try checkInput(input, rows: rows, ld: ld, width: latentDimension)
        let B = rows.count, d = latentDimension
        let q = FloatBuffer(B * 2 * d, zeroed: false)
        try encodeFull(input, rows: rows, into: q, threads: threads, binary: binary)
        for r in 0..<B { (out + r * ld).update(from: q.p + r * 2 * d, count: d) }
    }

    /// [μ | log σ²] for the rows.
    func encodeFull(_ input: InteractionMatrix, rows: Range<Int>, into q: FloatBuffer, threads: Int,
                    binary: Bool = true) throws {
        let B = rows.count, h = configuration.hiddenDimension, d2 = 2 * latentDimension, t = Int32(threads)
        var batch = SparseBatch(columnCount: itemCount, rowCapacity: B)
        defer { batch.free() }
        batch.load(input, range: rows)
        try batch.normalizeInput(binary: binary)
        let a1 = FloatBuffer(B * h, zeroed: false)
        try check(aek_csr_dense_mm(batch.inputView, W1.value.p, Int64(h), Int64(h), b1.value.p, 0, a1.p, Int64(h), t),
                  "encoder")
        try check(aek_bias_activation_forward(Int64(B), Int64(h), nil, latentActivation.kernel, a1.p, Int64(h), a1.p,
                                              Int64(h), t), "latent activation")
        try check(gemm(Int32(threads), 0, 0, Int64(B), Int64(d2), Int64(h), 1, a1.p, Int64(h), Wq.value.p, Int64(d2), 0, q.p,
                            Int64(d2)), "encoder output")
        try check(aek_bias_activation_forward(Int64(B), Int64(d2), bq.value.p, aek_activation_default(AEK_ACT_IDENTITY),
                                              q.p, Int64(d2), q.p, Int64(d2), t), "encoder bias")
    }

    /// Writes the decoder's logits at z = μ for rows `rows` of `input`.
    public func scores(for input: InteractionMatrix, rows: Range<Int>, trainRows: [Int32]?,
                       into out: UnsafeMutablePointer<Float>, ld: Int, threads: Int) throws {
        try checkInput(input, rows: rows, ld: ld, width: itemCount)
        let B = rows.count, h = configuration.hiddenDimension, d = latentDimension, t = Int32(threads)
        let q = FloatBuffer(B * 2 * d, zeroed: false)
        try encodeFull(input, rows: rows, into: q, threads: threads)
        let a2 = FloatBuffer(B * h, zeroed: false)
        try check(gemm(Int32(threads), 0, 0, Int64(B), Int64(h), Int64(d), 1, q.p, Int64(2 * d), Wp1.value.p, Int64(h), 0, a2.p,
                            Int64(h)), "decoder")
        try check(aek_bias_activation_forward(Int64(B), Int64(h), bp1.value.p, configuration.decoderActivation.kernel,
                                              a2.p, Int64(h), a2.p, Int64(h), t), "decoder activation")
        try check(gemm(Int32(threads), 0, 0, Int64(B), Int64(itemCount), Int64(h), 1, a2.p, Int64(h), Wp2.value.p,
                            Int64(itemCount), 0, out, Int64(ld)), "decoder out")
        try check(aek_bias_activation_forward(Int64(B), Int64(itemCount), bp2.value.p,
                                              aek_activation_default(AEK_ACT_IDENTITY), out, Int64(ld), out, Int64(ld),
                                              t), "decoder bias")
    }

    // MARK: persistence

    public func modelState() throws -> ModelState {
        var state = ModelState(kind: kind, latentActivation: latentActivation,
                               itemIDs: ModelState.itemMap(itemIDs, count: itemCount), userIDs: userIDs)
        try state.setConfiguration(configuration)
        try state.appendParameters(parameters)
        return state
    }

    public static func restore(from state: ModelState) throws -> MultVAE {
        try state.requireKind(.multVAE)
        let config: MultVAEConfiguration = try state.decodeConfiguration()
        let model = try MultVAE(itemCount: state.itemIDs.count, configuration: config)
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
