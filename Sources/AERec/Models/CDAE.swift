import AERecKernels

/// CDAE's hyperparameters (Wu et al., WSDM 2016).
public struct CDAEConfiguration: Sendable, Codable, Equatable {
    /// Width of the hidden layer (the code). Wu et al. use 50–200; 200 here.
    public var hiddenDimension = 200
    /// The hidden layer's activation (the latent activation; Wu et al.'s best is sigmoid).
    public var latentActivation: Activation = .sigmoid
    /// Corruption level q: each observed item of the input is dropped with probability q and the
    /// kept ones are scaled by 1/(1 − q) (inverted dropout, the paper's unbiased corruption).
    public var corruption: Float = 0.5
    /// L2 penalty λ: the objective of one update is the batch's mean loss per user plus
    /// λ/2·(‖W‖² + ‖W′‖² + ‖V‖²) (biases are not penalised), i.e. Adam's weight decay is λ.
    /// As with the lazily updated rows, the decay of W and V reaches only the rows in the batch.
    /// 1e-5: Wu et al. tune λ in a small grid and find small values best; our default is their
    /// order of magnitude with a per-user mean loss.
    public var l2: Float = 1e-5
    /// Adam with learning rate 1e-3 (its weight decay is set from `l2`).
    public var optimizer = AdamConfiguration()

    public init(hiddenDimension: Int = 200, latentActivation: Activation = .sigmoid, corruption: Float = 0.5,
                l2: Float = 1e-5, optimizer: AdamConfiguration = AdamConfiguration()) {
        self.hiddenDimension = hiddenDimension
        self.latentActivation = latentActivation
        self.corruption = corruption
        self.l2 = l2
        self.optimizer = optimizer
    }

    func validate(itemCount: Int, userCount: Int) throws {
        guard itemCount >= 1 else { throw AERecError.invalidArgument("CDAE needs at least one item") }
        guard userCount >= 0 else { throw AERecError.invalidArgument("CDAE: user count must be ≥ 0") }
        guard hiddenDimension >= 1 else {
            throw AERecError.invalidArgument("hidden dimension must be ≥ 1, got \(hiddenDimension)")
        }
        try requireNarrowCode("cdae", code: hiddenDimension, codeName: "hidden (code) width", input: itemCount, inputName: "items")
        guard corruption >= 0, corruption < 1 else {
            throw AERecError.invalidArgument("corruption must be in [0, 1), got \(corruption)")
        }
        try requireTrainingSettings(penalty: l2, optimizer: optimizer)
    }
}

/// CDAE, the Collaborative Denoising Auto-Encoder (Wu et al., WSDM 2016).
///
/// For user u with binary history y_u (ratings are binarised):
/// - input ỹ_u: y_u corrupted by inverted dropout with probability q, a counter-based mask keyed by
///   (seed, epoch, user, item), so a run is reproducible whatever the batch order or thread count;
/// - hidden h_u = f(ỹ_u·W + V[u] + b), f the latent activation, V the per-user input node
///   (userCount × hidden; its rows are updated lazily, only for the users in the batch, like the
///   rows of W for the items in the batch); the first layer multiplies the sparse input;
/// - output ŷ_u = σ(h_u·W′ + b′);
/// - loss: sigmoid cross-entropy over ALL items of the user (absent items are negatives), averaged
///   over the users of the batch, plus the L2 penalty of ``CDAEConfiguration/l2``. We do not
///   negative-sample: the dense batch × items output is cheap next to the rest on the catalogues AERec
///   targets, and the full loss is exact.
///
/// Scoring: the user node exists only for training users. ``scores(for:rows:trainRows:into:ld:threads:)``
/// adds V[trainRows[r]] for rows with a training row (weak protocols pass it through
/// ``HeldOutSet/trainRows``) and uses V = 0 for users without one (trainRows −1 or nil: strong
/// generalisation). Scores are the output logits h·W′ + b′ (σ is monotone, so the ranking is the
/// same). ``encode(_:rows:into:ld:threads:)`` returns f(y·W + b), the hidden layer WITHOUT the user
/// node (what the P1–P3 probes study).
///
/// Initialisation: Xavier-uniform W and W′, N(0, 0.001²) biases, V = 0 (a training user starts
/// from the same code as an unseen one).
public final class CDAE: Autoencoder, TrainableRecommender, PersistableModel, GradientTrainable, @unchecked Sendable {
    public let kind = ModelKind.cdae
    public let configuration: CDAEConfiguration
    public let itemCount: Int
    /// Number of training users: rows of the user node V (= rows of the training matrix).
    public let userCount: Int
    public var latentActivation: Activation { configuration.latentActivation }
    public var latentDimension: Int { configuration.hiddenDimension }
    public var inputDimension: Int { itemCount }
    /// External ids of the items (columns), saved with the model.
    public var itemIDs: IDMap?
    /// External ids of the training users (rows of V), saved with the model.
    public var userIDs: IDMap?

    let W: Parameter, V: Parameter, b: Parameter, W2: Parameter, b2: Parameter
    var parameters: [Parameter] { [W, V, b, W2, b2] }
    private var ws: Workspace?

    /// A model with freshly initialised weights for `itemCount` items and `userCount` training users.
    public init(itemCount: Int, userCount: Int, configuration: CDAEConfiguration = CDAEConfiguration(),
                seed: UInt64 = 98765) throws {
        try configuration.validate(itemCount: itemCount, userCount: userCount)
        try Self.memoryEstimate(itemCount: itemCount, userCount: userCount, configuration: configuration).require()
        self.itemCount = itemCount
        self.userCount = userCount
        self.configuration = configuration
        let h = configuration.hiddenDimension
        W = Parameter(name: "encoder.weight", rows: itemCount, cols: h, lazyRows: true)
        V = Parameter(name: "user.weight", rows: userCount, cols: h, lazyRows: true)
        b = Parameter(name: "encoder.bias", rows: 1, cols: h, decays: false)
        W2 = Parameter(name: "decoder.weight", rows: h, cols: itemCount)
        b2 = Parameter(name: "decoder.bias", rows: 1, cols: itemCount, decays: false)
        initialize(seed: seed)
    }

    func initialize(seed: UInt64) {
        let h = configuration.hiddenDimension
        W.initXavier(seed: seed, fanIn: itemCount, fanOut: h)
        W2.initXavier(seed: seed, fanIn: h, fanOut: itemCount)
        V.value.zero()
        b.initNormal(seed: seed, std: 0.001)
        b2.initNormal(seed: seed, std: 0.001)
    }

    /// The random stream of the input corruption in `epoch` (keyed further by user and item).
    static func corruptionStream(epoch: Int) -> UInt64 { 0x4344_4145_0000_0000 &+ UInt64(epoch) }

    /// Trains from freshly initialised weights (seeded by `options.seed`). `train` is users × items
    /// with exactly ``userCount`` rows: training row r is user r of the user node.
    @discardableResult
    public func fit(_ train: InteractionMatrix, validation: HeldOutSet? = nil, options: TrainingOptions = TrainingOptions(),
                    callback: ((EpochReport) -> TrainingDecision)? = nil) throws -> TrainingHistory {
        guard train.columnCount == itemCount else {
            throw AERecError.invalidArgument("training matrix has \(train.columnCount) items, the model \(itemCount)")
        }
        guard train.rowCount == userCount else {
            throw AERecError.invalidArgument(
                "training matrix has \(train.rowCount) users, the model's user node \(userCount)")
        }
        initialize(seed: options.seed)
        return try Trainer.fit(self, train: train, validation: validation, options: options, callback: callback)
    }

    // MARK: training

    private final class Workspace {
        var batch: SparseBatch
        let z: FloatBuffer, a: FloatBuffer, da: FloatBuffer, logits: FloatBuffer
        let transpose: TransposeScratch
        var step = 0
        var previousTouched = 0
        var previousUsers = 0
        var byUser: [Int] = []
        let train: InteractionMatrix
        let options: TrainingOptions

        init(train: InteractionMatrix, options: TrainingOptions, h: Int) {
            let b = options.batchSize, i = train.columnCount
            batch = SparseBatch(columnCount: i, rowCapacity: b)
            z = FloatBuffer(b * h); a = FloatBuffer(b * h); da = FloatBuffer(b * h); logits = FloatBuffer(b * i)
            transpose = TransposeScratch(train, batchSize: b, columns: i)
            byUser.reserveCapacity(b)
            self.train = train
            self.options = options
        }

        deinit {
            batch.free()
        }
    }

    func beginTraining(_ train: InteractionMatrix, trainRows: [Int32], options: TrainingOptions) throws {
        guard train.rowCount == userCount, train.columnCount == itemCount else {
            throw AERecError.invalidArgument(
                "CDAE for \(userCount) users × \(itemCount) items got a \(train.rowCount) × \(train.columnCount) matrix")
        }
        for p in parameters { p.prepareForTraining() }
        ws = Workspace(train: train.binarized(), options: options, h: configuration.hiddenDimension)
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
        Self.memoryEstimate(itemCount: itemCount, userCount: userCount, configuration: configuration, batchSize: batchSize)
    }

    func restore(_ s: [FloatBuffer]) { for (p, v) in zip(parameters, s) { p.value.copy(from: v) } }

    func trainBatch(_ rows: UnsafeBufferPointer<Int32>, epoch: Int) throws -> Double {
        let loss = try computeGradients(rows, epoch: epoch)
        try applyUpdate()
        return loss
    }

    /// One Adam step with the gradients of the last computeGradients (weight decay λ on W, V, W′).
    func applyUpdate() throws {
        guard let ws else { throw AERecError.invalidArgument("applyUpdate outside training") }
        ws.step += 1
        var adam = configuration.optimizer
        adam.weightDecay = configuration.l2
        let cfg = adam.kernel(step: ws.step)
        for p in parameters {
            try p.adamStep(cfg, threads: ws.options.threads, lazy: configuration.optimizer.lazy)
        }
    }

    /// Forward and backward pass on the training rows `rows` (= users): leaves ∂(mean data loss)/∂θ
    /// in the parameters' gradients (the L2 term is Adam's weight decay) and returns the summed
    /// cross-entropy of the rows. Lazily updated W and V hold gradients on their touched rows only.
    func computeGradients(_ rows: UnsafeBufferPointer<Int32>, epoch: Int) throws -> Double {
        guard let ws else { throw AERecError.invalidArgument("trainBatch outside training") }
        let t = Int32(ws.options.threads)
        let B = rows.count, h = configuration.hiddenDimension, I = itemCount
        let B64 = Int64(B), h64 = Int64(h), I64 = Int64(I)
        let act = configuration.latentActivation.kernel, identity = aek_activation_default(AEK_ACT_IDENTITY)
        guard B <= ws.options.batchSize else { throw AERecError.invalidArgument("batch of \(B) rows > batch size") }
        for r in rows where r < 0 || Int(r) >= userCount {
            throw AERecError.invalidArgument("training row \(r) outside the \(userCount) users")
        }
        ws.batch.load(ws.train, rows: rows)
        ws.batch.copyInput(binary: true)
        try ws.batch.dropoutInput(configuration.corruption, seed: ws.options.seed,
                                  stream: Self.corruptionStream(epoch: epoch))
        let x = ws.batch.inputView
        // forward: z = V[u] + x̃·W + b, a = f(z)
        for r in 0..<B { (ws.z.p + r * h).update(from: V.value.p + Int(rows[r]) * h, count: h) }
        try check(aek_csr_dense_mm(x, W.value.p, h64, h64, b.value.p, 1, ws.z.p, h64, t), "encoder")
        try check(aek_bias_activation_forward(B64, h64, nil, act, ws.z.p, h64, ws.a.p, h64, t), "latent activation")
        try check(gemm(t, 0, 0, B64, I64, h64, 1, ws.a.p, h64, W2.value.p, I64, 0, ws.logits.p, I64), "decoder")
        try check(aek_bias_activation_forward(B64, I64, b2.value.p, identity, ws.logits.p, I64, ws.logits.p, I64, t),
                  "decoder bias")
        // sigmoid cross-entropy over every item; the logits become dL/dlogits (mean over the batch)
        var bce = 0.0
        try check(aek_sigmoid_bce(ws.batch.patternView, ws.logits.p, I64, 1 / Float(B), 1, &bce, t),
                  "sigmoid cross-entropy")
        // backward
        b2.grad!.zero()
        try check(aek_activation_backward(B64, I64, identity, ws.logits.p, I64, nil, 0, ws.logits.p, I64,
                                          b2.grad!.p, t), "decoder bias gradient")
        try check(gemm(t, 1, 0, h64, I64, B64, 1, ws.a.p, h64, ws.logits.p, I64, 0, W2.grad!.p, I64),
                  "decoder gradient")
        try check(gemm(t, 0, 1, B64, h64, I64, 1, ws.logits.p, I64, W2.value.p, I64, 0, ws.da.p, h64),
                  "decoder backprop")
        b.grad!.zero()
        try check(aek_activation_backward(B64, h64, act, ws.z.p, h64, ws.a.p, h64, ws.da.p, h64, b.grad!.p, t),
                  "latent activation gradient")
        try sparseInputGradient(W, x: x, dz: ws.da, scratch: ws.transpose,
                                previousTouched: &ws.previousTouched, lazy: configuration.optimizer.lazy, threads: t)
        userNodeGradient(rows, dz: ws.da, ws: ws)
        return bce * Double(B)
    }

    /// dV[u] = dz of u's batch row; the touched rows are the batch's users in ascending order (as
    /// lazy Adam wants). For dense Adam the previous batch's rows are cleared first.
    private func userNodeGradient(_ rows: UnsafeBufferPointer<Int32>, dz: FloatBuffer, ws: Workspace) {
        let h = configuration.hiddenDimension
        guard let g = V.grad else { return }
        if !configuration.optimizer.lazy {
            for j in 0..<ws.previousUsers { (g.p + Int(V.touched[j]) * h).update(repeating: 0, count: h) }
        }
        ws.byUser.removeAll(keepingCapacity: true)
        ws.byUser.append(contentsOf: 0..<rows.count)
        ws.byUser.sort { rows[$0] < rows[$1] }
        var n = 0
        for r in ws.byUser {
            let u = Int(rows[r])
            if n > 0 && Int(V.touched[n - 1]) == u {  // a user twice in one batch: sum
                for j in 0..<h { g.p[u * h + j] += dz.p[r * h + j] }
                continue
            }
            V.touched[n] = Int32(u)
            (g.p + u * h).update(from: dz.p + r * h, count: h)
            n += 1
        }
        V.touchedCount = n
        ws.previousUsers = n
    }

    // MARK: inference

    /// Writes f(y·W + b) for rows `rows` of `input` (binarised): the hidden layer WITHOUT the user node.
    public func encode(_ input: InteractionMatrix, rows: Range<Int>, into out: UnsafeMutablePointer<Float>, ld: Int,
                       threads: Int) throws {
        try checkInput(input, rows: rows, ld: ld, width: latentDimension)
        try hidden(input.binarized(), rows: rows, trainRows: nil, into: out, ld: ld, threads: threads)
    }

    /// f(x·W + b) on the input's stored values as they are (not binarised; CDAE has no other input
    /// normalisation), without the user node: the encoder as a function of arbitrary vectors.
    public func encodeValues(_ input: InteractionMatrix, rows: Range<Int>, into out: UnsafeMutablePointer<Float>,
                             ld: Int, threads: Int) throws {
        try checkInput(input, rows: rows, ld: ld, width: latentDimension)
        try hidden(input, rows: rows, trainRows: nil, into: out, ld: ld, threads: threads)
    }

    /// f(x·W + V[trainRow] + b) on `input`'s values as given (callers binarise), V = 0 for rows
    /// without a training row.
    private func hidden(_ input: InteractionMatrix, rows: Range<Int>, trainRows: [Int32]?,
                        into out: UnsafeMutablePointer<Float>, ld: Int, threads: Int) throws {
        let h = latentDimension, B = rows.count
        for r in 0..<B {
            let u = trainRows.map { Int($0[r]) } ?? -1
            if u >= 0 { (out + r * ld).update(from: V.value.p + u * h, count: h) } else {
                (out + r * ld).update(repeating: 0, count: h)
            }
        }
        try input.withKernelView(rows: rows) { x in
            try check(aek_csr_dense_mm(x, W.value.p, Int64(h), Int64(h), b.value.p, 1, out, Int64(ld),
                                       Int32(threads)), "encoder")
        }
        try check(aek_bias_activation_forward(Int64(B), Int64(h), nil, latentActivation.kernel, out, Int64(ld), out,
                                              Int64(ld), Int32(threads)), "latent activation")
    }

    /// Writes the output logits h·W′ + b′ for rows `rows` of `input`, with the user node of
    /// `trainRows[r]` when it is ≥ 0 and V = 0 otherwise (nil: no user has a training row).
    public func scores(for input: InteractionMatrix, rows: Range<Int>, trainRows: [Int32]?,
                       into out: UnsafeMutablePointer<Float>, ld: Int, threads: Int) throws {
        try checkInput(input, rows: rows, ld: ld, width: itemCount)
        let B = rows.count, h = latentDimension
        if let trainRows {
            guard trainRows.count == B else {
                throw AERecError.invalidArgument("\(trainRows.count) training rows for \(B) users")
            }
            for u in trainRows where u < -1 || Int(u) >= userCount {
                throw AERecError.invalidArgument("training row \(u) outside the model's \(userCount) users")
            }
        }
        let codes = FloatBuffer(B * h, zeroed: false)
        try hidden(input.binarized(), rows: rows, trainRows: trainRows, into: codes.p, ld: h, threads: threads)
        try check(aek_sgemm(0, 0, Int64(B), Int64(itemCount), Int64(h), 1, codes.p, Int64(h), W2.value.p,
                            Int64(itemCount), 0, out, Int64(ld)), "decoder")
        try check(aek_bias_activation_forward(Int64(B), Int64(itemCount), b2.value.p,
                                              aek_activation_default(AEK_ACT_IDENTITY), out, Int64(ld), out, Int64(ld),
                                              Int32(threads)), "decoder bias")
    }

    // MARK: persistence

    public func modelState() throws -> ModelState {
        var state = ModelState(kind: kind, latentActivation: latentActivation,
                               itemIDs: ModelState.itemMap(itemIDs, count: itemCount),
                               userIDs: ModelState.itemMap(userIDs, count: userCount))
        try state.setConfiguration(configuration)
        try state.appendParameters(parameters)
        return state
    }

    /// The model in `state`; the user count is the length of its user map (the rows of V).
    public static func restore(from state: ModelState) throws -> CDAE {
        try state.requireKind(.cdae)
        let config: CDAEConfiguration = try state.decodeConfiguration()
        guard let users = state.userIDs else { throw state.error("CDAE model without a user map (the user node's rows)") }
        let model = try CDAE(itemCount: state.itemIDs.count, userCount: users.count, configuration: config)
        try state.loadParameters(model.parameters)
        model.itemIDs = state.itemIDs
        model.userIDs = users
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
