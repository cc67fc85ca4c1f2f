import AERecKernels
#if canImport(Glibc)
import Glibc
#endif

/// Floats in one block of a fused output-layer update (``Parameter/fusedProductAdam``): 2.4 MB,
/// e.g. 1,024 items × 600 hidden units, which stays in cache until Adam consumes it.
let decoderBlockFloats = 614_400

/// The fused training paths (output bias inside the likelihood kernel, the forward product onto
/// logits a fused update left zeroed, the output layer's gradient and Adam step block by block)
/// are on unless the environment has AEREC_FUSION=0, a diagnostic switch for measuring what they
/// gain (bench/perf.py): both paths give the same bits. Read at every batch.
var kernelFusionEnabled: Bool {
    guard let v = getenv("AEREC_FUSION") else { return true }
    return String(cString: v) != "0"
}

/// Dense products in the models run on AERec's own threads (``aek_sgemm_mt``: each thread a
/// single-threaded OpenBLAS call on a slice of the output) unless the environment has
/// AEREC_GEMM_THREADS=openblas, a diagnostic switch (bench/perf.py) for OpenBLAS's own threads.
/// Read at every call.
var ownGEMMThreads: Bool {
    guard let v = getenv("AEREC_GEMM_THREADS") else { return true }
    return String(cString: v) != "openblas"
}

/// Row-major C = alpha op(A) op(B) + beta C on `threads` threads (see ``ownGEMMThreads``).
@inline(__always)
func gemm(_ threads: Int32, _ ta: Int32, _ tb: Int32, _ m: Int64, _ n: Int64, _ k: Int64, _ alpha: Float,
          _ A: UnsafePointer<Float>?, _ lda: Int64, _ B: UnsafePointer<Float>?, _ ldb: Int64, _ beta: Float,
          _ C: UnsafeMutablePointer<Float>?, _ ldc: Int64) -> Int32 {
    ownGEMMThreads ? aek_sgemm_mt(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, threads)
        : aek_sgemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
}

/// The multinomial log-likelihood of a batch's `rows` × `items` logits (without the output bias yet)
/// against `targets`, scaled by `scale`: the logits become dL/dlogits and `bias`'s gradient their
/// column sums. `fused`: one pass (the bias added and the column sums formed inside the likelihood
/// kernel, ``aek_multinomial_nll_grad_colsum``); otherwise three (bias, likelihood, column sums), with
/// the same bits. `sums`: ``aek_column_sums_scratch_doubles`` doubles for this batch and thread count.
func multinomialLikelihood(targets: aek_csr, logits: UnsafeMutablePointer<Float>, rows: Int, items: Int,
                           bias: Parameter, scale: Float, fused: Bool, sums: DoubleBuffer, threads: Int32) throws -> Double {
    guard let grad = bias.grad else { throw AERecError.invalidArgument("\(bias.name): no gradient buffer") }
    var nll = 0.0
    let r = Int64(rows), i = Int64(items)
    if fused {
        try check(aek_multinomial_nll_grad_colsum(targets, logits, i, bias.value.p, scale, &nll, grad.p, sums.p,
                                                  Int64(sums.count), threads), "multinomial likelihood")
    } else {
        try check(aek_bias_activation_forward(r, i, bias.value.p, aek_activation_default(AEK_ACT_IDENTITY), logits, i,
                                              logits, i, threads), "output bias")
        try check(aek_multinomial_nll_bias(targets, logits, i, nil, scale, 1, &nll, threads), "multinomial likelihood")
        try check(aek_column_sums_row_parts(r, i, logits, i, grad.p, sums.p, Int64(sums.count), threads),
                  "output bias gradient")
    }
    return nll
}

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
    /// Updated block by block from a product (``fusedProductAdam``) during training: no gradient
    /// buffer is allocated for it unless ``ensureGradient()`` asks for one.
    var fusedUpdate = false

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
        if grad == nil && !fusedUpdate { grad = FloatBuffer(count) }
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

    /// Allocates the gradient buffer if training has not (a fused parameter's unfused path).
    func ensureGradient() {
        if grad == nil { grad = FloatBuffer(count) }
    }

    /// The gradient of a dense layer's weights, G_W = Aᵀ·G (A: the layer's n × rows input at `a`,
    /// G: the n × cols output gradient at `g`, leading dimension `ldg`), applied by Adam a block
    /// of columns at a time: each block of G_W goes into `scratch` (rows × (scratch.count / rows)
    /// floats, cache-sized) and is consumed at once, so the full rows × cols gradient is never
    /// written to memory nor read back. Bit-identical to the product into a full gradient followed
    /// by ``adamStep`` (a column block of a product is computed exactly as in the whole product).
    /// With `clearing`, each block of G is zeroed once used (it is dead by then), which spares the
    /// next forward product's zeroing pass. With `da`, the backpropagated product da = G·Wᵀ (n × rows,
    /// with the weights before the step) is formed in the same pass, block by block while each block
    /// of G is in cache (``aek_outer_product_adam_da``): the same bits as ``backpropProduct(g:n:ldg:da:scratch:threads:)``
    /// with the same scratch and threads, which the unfused path uses.
    func fusedProductAdam(a: UnsafePointer<Float>, n: Int, g: UnsafeMutablePointer<Float>, ldg: Int,
                          da: UnsafeMutablePointer<Float>? = nil, scratch: FloatBuffer, cfg: aek_adam, threads: Int,
                          clearing: Bool) throws {
        guard let m, let v else { throw AERecError.invalidArgument("\(name): no optimiser state") }
        var c = cfg
        if !decays { c.weight_decay = 0 }
        if ownGEMMThreads {
            // per thread: its own columns, scratch slice and single-threaded products, no barrier
            try check(aek_outer_product_adam_da(Int64(rows), Int64(cols), Int64(n), a, Int64(rows), g, Int64(ldg),
                                                value.p, m.p, v.p, Int64(cols), da, Int64(rows), scratch.p,
                                                Int64(scratch.count), c, 1, clearing ? 1 : 0, Int32(threads)),
                      "\(name) gradient + adam")
            return
        }
        if let da {
            try check(aek_sgemm(0, 1, Int64(n), Int64(rows), Int64(cols), 1, g, Int64(ldg), value.p, Int64(cols), 0, da,
                                Int64(rows)), "\(name) backprop")
        }
        let width = max(1, min(cols, scratch.count / max(rows, 1)))
        var c0 = 0
        while c0 < cols {
            let w = min(width, cols - c0)
            try check(aek_sgemm(1, 0, Int64(rows), Int64(w), Int64(n), 1, a, Int64(rows), g + c0, Int64(ldg), 0,
                                scratch.p, Int64(w)), "\(name) gradient")
            try check(aek_adam_block(Int64(rows), Int64(w), value.p + c0, m.p + c0, v.p + c0, Int64(cols), scratch.p,
                                     Int64(w), c, Int32(threads)), "adam(\(name))")
            if clearing {
                for r in 0..<n { (g + r * ldg + c0).update(repeating: 0, count: w) }
            }
            c0 += w
        }
    }

    /// da = G·Wᵀ (G: n × cols at `g`, da: n × rows) summed over the column blocks that
    /// ``fusedProductAdam(a:n:g:ldg:da:scratch:cfg:threads:clearing:)`` uses for this scratch and thread
    /// count, so that the unfused path gives the fused path's bits.
    func backpropProduct(g: UnsafeMutablePointer<Float>, n: Int, ldg: Int, da: UnsafeMutablePointer<Float>,
                         scratch: FloatBuffer, threads: Int) throws {
        if ownGEMMThreads {
            try check(aek_outer_product_adam_da(Int64(rows), Int64(cols), Int64(n), nil, Int64(rows), g, Int64(ldg),
                                                value.p, nil, nil, Int64(cols), da, Int64(rows), scratch.p,
                                                Int64(scratch.count), aek_adam(), 0, 0, Int32(threads)),
                      "\(name) backprop")
        } else {
            try check(aek_sgemm(0, 1, Int64(n), Int64(rows), Int64(cols), 1, g, Int64(ldg), value.p, Int64(cols), 0, da,
                                Int64(rows)), "\(name) backprop")
        }
    }

    /// Scratch floats for the fused output-layer update of a `rows` × `cols` parameter with batches
    /// of `batch` rows on `threads` threads: a cache-sized gradient block per thread (``decoderBlockFloats`` in
    /// all) plus the backpropagated product's partial sums of threads 2, 3, ….
    static func fusedScratchFloats(rows: Int, cols: Int, batch: Int, threads: Int) -> Int {
        min(rows * cols, max(rows, decoderBlockFloats)) + max(0, threads - 1) * batch * rows
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
