import AERecKernels

/// A trainable rows × cols float32 tensor with its gradient and Adam moments.
final class Parameter: @unchecked Sendable {
    let name: String
    let rows: Int
    let cols: Int
    var value: FloatBuffer
    /// Gradient, first and second moments: allocated by `prepareForTraining`, freed by `finishTraining`.
    private(set) var grad: FloatBuffer?
    private(set) var m: FloatBuffer?
    private(set) var v: FloatBuffer?
    /// Row-sparse (lazy) updates: only the rows listed in `touched[0..<touchedCount]` have a gradient.
    let lazyRows: Bool
    var touched: [Int32] = []
    var touchedCount = 0
    /// Whether weight decay applies (weights yes, biases no, as in Liang et al.).
    let decays: Bool

    init(name: String, rows: Int, cols: Int, lazyRows: Bool = false, decays: Bool = true) {
        self.name = name
        self.rows = rows
        self.cols = cols
        self.lazyRows = lazyRows
        self.decays = decays
        value = FloatBuffer(rows * cols)
    }

    var count: Int { rows * cols }

    /// Glorot/Xavier uniform initialisation U(±√(6 / (fan_in + fan_out))), as tf's xavier_initializer.
    func initXavier(seed: UInt64, fanIn: Int, fanOut: Int) {
        let limit = (6.0 / Float(fanIn + fanOut)).squareRoot()
        let s = DeterministicRandom.stream(name)
        for i in 0..<count { value.p[i] = (2 * aek_uniform(seed, s, UInt64(i)) - 1) * limit }
    }

    /// Normal(0, std²) initialisation (Liang et al. initialise biases with std 0.001).
    func initNormal(seed: UInt64, std: Float) {
        let s = DeterministicRandom.stream(name)
        for i in 0..<count { value.p[i] = aek_normal(seed, s, UInt64(i)) * std }
    }

    func prepareForTraining() {
        if grad == nil { grad = FloatBuffer(count) }
        if m == nil { m = FloatBuffer(count) }
        if v == nil { v = FloatBuffer(count) }
        if lazyRows && touched.count < rows { touched = [Int32](repeating: 0, count: rows) }
    }

    /// Sets Adam's moments (a checkpoint's); the parameter must be prepared for training.
    func restoreMoments(m mValues: [Float], v vValues: [Float]) throws {
        guard let m, let v, mValues.count == count, vValues.count == count else {
            throw AERecError.invalidArgument("restoring Adam's moments of '\(name)' outside training or with the wrong size")
        }
        mValues.withUnsafeBufferPointer { if $0.count > 0 { m.p.update(from: $0.baseAddress!, count: $0.count) } }
        vValues.withUnsafeBufferPointer { if $0.count > 0 { v.p.update(from: $0.baseAddress!, count: $0.count) } }
    }

    /// Frees the optimiser state (keeps the value).
    func finishTraining() {
        grad = nil; m = nil; v = nil
        touched = []
        touchedCount = 0
    }

    /// Applies one Adam step with this parameter's gradient.
    /// With `lazy == false` a row-sparse parameter gets the dense update (its gradient must then be
    /// zero on the rows absent from the batch).
    func adamStep(_ cfg: aek_adam, threads: Int, lazy: Bool = true) throws {
        guard let g = grad, let m, let v else { return }
        var c = cfg
        if !decays { c.weight_decay = 0 }
        if lazyRows && lazy {
            if touchedCount == 0 { return }
            try touched.withUnsafeBufferPointer { t in
                try check(aek_adam_rows(t.baseAddress, Int64(touchedCount), Int64(rows), Int64(cols), value.p, g.p,
                                        m.p, v.p, Int64(cols), c, Int32(threads)), "adam(\(name))")
            }
        } else {
            try check(aek_adam_dense(Int64(count), value.p, g.p, m.p, v.p, c, Int32(threads)), "adam(\(name))")
        }
    }

    /// Σ value² (for the L2 penalty in the reported loss), in float64.
    func squaredNorm() -> Double {
        var s = 0.0
        for i in 0..<count { s += Double(value.p[i]) * Double(value.p[i]) }
        return s
    }
}

/// Adam hyperparameters (Kingma & Ba); `weightDecay` is an L2 penalty added to the gradient, or
/// decoupled AdamW decay when `decoupled`.
public struct AdamConfiguration: Sendable, Codable, Equatable {
    public var learningRate: Float = 1e-3
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var weightDecay: Float = 0
    public var decoupled = false
    /// Row-sparse updates for the input layer's weights (only the rows of items in the batch), as
    /// TensorFlow's LazyAdam. Much faster on large catalogues; `false` gives textbook dense Adam.
    public var lazy = true

    public init(learningRate: Float = 1e-3, weightDecay: Float = 0, decoupled: Bool = false, lazy: Bool = true) {
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.decoupled = decoupled
        self.lazy = lazy
    }

    func kernel(step: Int) -> aek_adam {
        aek_adam(lr: learningRate, beta1: beta1, beta2: beta2, eps: epsilon, weight_decay: weightDecay,
                 decoupled: decoupled ? 1 : 0, step: Int64(step))
    }
}
