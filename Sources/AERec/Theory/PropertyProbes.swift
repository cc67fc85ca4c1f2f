import AERecKernels

/// The space in which the probes compare INPUT dot products: what the encoder actually sees.
public enum ProbeInputSpace: String, Sendable, Codable, CaseIterable {
    /// Binary rows scaled to unit L2 norm (Mult-DAE, Mult-VAE: the encoder's input is x/‖x‖, so
    /// ⟨x̂, û⟩ is the cosine of the binary histories).
    case normalizedBinary = "l2-normalised binary"
    /// Binary rows (CDAE: the encoder sees the 0/1 history; ⟨x, u⟩ counts common items).
    case binary
    /// The stored values (AutoRec: the encoder sees the ratings themselves).
    case values

    /// What `kind`'s encoder sees.
    public static func of(_ kind: ModelKind) -> ProbeInputSpace {
        switch kind {
        case .multDAE, .multVAE: return .normalizedBinary
        case .cdae: return .binary
        case .autoRecI, .autoRecU: return .values
        case .ease, .pop: return .binary
        }
    }
}

/// Pass/fail thresholds of the one-glance verdicts (heuristics of AERec, not of the paper, which
/// states P1–P3 as exact properties).
public struct ProbeThresholds: Sendable, Codable, Equatable {
    /// P1 passes when m < n and the codes' participation ratio is at least this (a constant or
    /// one-dimensional code cannot pass).
    public var minimumEffectiveRank = 2.0
    /// P2 passes when at least this fraction of triples with distinct input dot products keep
    /// their order strictly in the latent space.
    public var minimumOrderPreserved = 0.75
    /// P3 passes when at most this fraction of non-zero inputs (real users, one-hot items, negated
    /// users, each) get a code of norm ≤ ε.
    public var maximumZeroCodeFraction = 0.01

    public init(minimumEffectiveRank: Double = 2, minimumOrderPreserved: Double = 0.75,
                maximumZeroCodeFraction: Double = 0.01) {
        self.minimumEffectiveRank = minimumEffectiveRank
        self.minimumOrderPreserved = minimumOrderPreserved
        self.maximumZeroCodeFraction = maximumZeroCodeFraction
    }
}

/// Measures Susman's properties P1–P3 on a trained encoder (any ``Autoencoder``).
///
/// ```swift
/// let report = try PropertyProbe(seed: 7).probe(model, on: split.train)
/// print(report.summary)
/// ```
///
/// Definitions (n input width, m code width, enc the model's deterministic encoder):
/// - P1 (dimension reduction): m < n, and the participation ratio PR = tr(C)²/tr(C²) of the
///   codes' covariance C over the sampled users (1 ≤ PR ≤ m; 0 for a constant code), so that a
///   trivial encoder cannot pass on width alone.
/// - P2 (order): over `samples` seeded triples (x, u, v) of distinct sampled users, with
///   a = ⟨x,u⟩, b = ⟨x,v⟩ in the input space (``ProbeInputSpace``) and a′, b′ the same in the code
///   space: input ties (|a − b| ≤ 10⁻⁶·max(|a|,|b|)) are counted apart; among the others the order
///   is preserved when sign(a′ − b′) = sign(a − b), tied in the latent space, or reversed.
///   ``P2Report/orderPreserved`` is preserved/(non-tied) with a Wilson interval;
///   ``P2Report/satisfiedAsStated`` counts latent ties as satisfying the implication ⟨x,u⟩ ≤ ⟨x,v⟩ ⇒
///   ⟨enc x, enc u⟩ ≤ ⟨enc x, enc v⟩. Per anchor (`anchors` seeded users), Kendall's τ-b between
///   input and latent dot products over `candidates` seeded other users (mean ± 1.96·s/√anchors),
///   and the top-k neighbour overlap: the share of the anchor's k latent nearest neighbours (by dot
///   product, among all other sampled users) whose input dot product is at least the k-th largest
///   input dot product (ties at the boundary count as neighbours: binary histories tie a lot).
/// - P3 (non-zero codes): the share of non-zero inputs whose code has ‖enc x‖₂ ≤ ε, for (a) the
///   sampled real users, (b) one-hot item probes e_i (up to `itemProbes` seeded items), (c) the
///   negated users −x, fed through ``Autoencoder/encodeValues(_:rows:into:ld:threads:)`` so that the
///   sign survives the model's input normalisation; the share of latent units never active over
///   all these probes, a unit being active when |h − off| > ε with off the activation's "off"
///   value: 0 for every family (ReLU-like and sigmoid-like units are off at their lower bound 0,
///   tanh-like and identity units at their centre 0; a sigmoid unit is therefore essentially never
///   dead, and ``P3Report/constantUnitFraction`` — units whose value varies by ≤ ε over all probes —
///   is its saturation analogue); and whether enc(0) = 0 (the code of an empty row).
///
/// Input dot products come from the sparse rows through the sparse×dense kernel
/// (aek_csr_dense_mm against dense blocks of the transposed sample), code dot products from one
/// aek_sgemm; both Gram matrices are sampled users × sampled users. Deterministic given the seed
/// and the thread count.
public struct PropertyProbe: Sendable, Codable, Equatable {
    /// Triples (x, u, v) for the P2 order fraction.
    public var samples = 2000
    /// Real users sampled (encoded, and the pool of triples, anchors and neighbours).
    public var users = 1000
    /// Anchors for Kendall's τ and the neighbour overlap.
    public var anchors = 200
    /// Candidate-set size for Kendall's τ.
    public var candidates = 100
    /// k of the top-k neighbour overlap.
    public var neighbours = 10
    /// One-hot item probes for P3 (all items when there are fewer).
    public var itemProbes = 1000
    /// Norm at or below which a code counts as zero, and the activity threshold of a unit.
    public var epsilon: Float = 1e-6
    public var seed: UInt64 = 98765
    public var threads = 2
    /// The input space for dot products; nil = what the model's kind sees (``ProbeInputSpace/of(_:)``).
    public var inputSpace: ProbeInputSpace?
    public var thresholds = ProbeThresholds()

    public init(samples: Int = 2000, users: Int = 1000, anchors: Int = 200, candidates: Int = 100,
                neighbours: Int = 10, itemProbes: Int = 1000, epsilon: Float = 1e-6, seed: UInt64 = 98765,
                threads: Int = 2, inputSpace: ProbeInputSpace? = nil, thresholds: ProbeThresholds = ProbeThresholds()) {
        self.samples = samples
        self.users = users
        self.anchors = anchors
        self.candidates = candidates
        self.neighbours = neighbours
        self.itemProbes = itemProbes
        self.epsilon = epsilon
        self.seed = seed
        self.threads = threads
        self.inputSpace = inputSpace
        self.thresholds = thresholds
    }

    func validate() throws {
        guard samples >= 0, users >= 3, anchors >= 0, candidates >= 2, neighbours >= 1, itemProbes >= 0 else {
            throw AERecError.invalidArgument(
                "probe: need users ≥ 3, candidates ≥ 2, neighbours ≥ 1 and non-negative samples/anchors/item probes")
        }
        guard epsilon >= 0, epsilon.isFinite else { throw AERecError.invalidArgument("probe: ε must be ≥ 0") }
        guard threads >= 1, threads <= 256 else { throw AERecError.invalidArgument("probe: threads in 1...256") }
    }

    // random streams
    static let sampleStream: UInt64 = 0x5052_4F42_0000_0001
    static let tripleStream: UInt64 = 0x5052_4F42_0000_0002
    static let anchorStream: UInt64 = 0x5052_4F42_0000_0003
    static let candidateStream: UInt64 = 0x5052_4F42_0000_0004
    static let itemStream: UInt64 = 0x5052_4F42_0000_0005
    static let tieTolerance = 1e-6

    /// Probes `model` on the rows of `users` (the vectors its encoder encodes: users × items for
    /// Mult-DAE, Mult-VAE, CDAE and U-AutoRec; items × users, e.g. `train.transposed()`, for
    /// I-AutoRec). Empty rows are skipped.
    public func probe(_ model: some Autoencoder, on users: InteractionMatrix) throws -> ProbeReport {
        try validate()
        let start = monotonicSeconds()
        let n = model.inputDimension, m = model.latentDimension
        guard users.columnCount == n else {
            throw AERecError.invalidArgument(
                "probe: the rows have \(users.columnCount) columns, the encoder's input \(n)")
        }
        BLAS.setThreads(threads)
        let space = inputSpace ?? ProbeInputSpace.of(model.kind)
        let nonEmpty = (0..<users.rowCount).filter { users.count(ofRow: $0) > 0 }
        guard nonEmpty.count >= 3 else {
            throw AERecError.data("probe: need at least 3 non-empty rows, got \(nonEmpty.count)")
        }
        let picks = sampleIndices(nonEmpty.count, self.users, stream: Self.sampleStream).sorted()
        let X = users.rows(picks.map { nonEmpty[$0] })
        let N = X.rowCount

        // codes of the real users
        let codes = FloatBuffer(N * m, zeroed: false)
        try encodeBlocks(model, X, into: codes, values: false)

        // Gram matrices
        let gIn = try inputGram(X, space: space)
        let gLat = FloatBuffer(N * N, zeroed: false)
        try check(aek_sgemm(0, 1, Int64(N), Int64(N), Int64(m), 1, codes.p, Int64(m), codes.p, Int64(m), 0, gLat.p,
                            Int64(N)), "code Gram matrix")

        let p1 = try measureP1(codes: codes, rows: N, m: m, n: n)
        let p2 = measureP2(gIn: gIn, gLat: gLat, N: N)
        let p3 = try measureP3(model, X: X, codes: codes)

        let c = model.latentActivation.classify()
        return ProbeReport(model: model.kind.rawValue, activation: model.latentActivation, family: c.family,
                           theoryVerdict: c.verdict, inputSpace: space, rowsProbed: N, configuration: self,
                           p1: p1, p2: p2, p3: p3, seconds: monotonicSeconds() - start)
    }

    // MARK: sampling

    /// `k` distinct indices of 0..<n (all when k ≥ n), by a partial Fisher–Yates on the seeded hash.
    func sampleIndices(_ n: Int, _ k: Int, stream: UInt64, counter: UInt64 = 0) -> [Int] {
        var p = Array(0..<n)
        let take = min(k, n)
        for i in 0..<take {
            let j = i + Int(aek_hash64(seed, stream, counter &* 0x1_0000_0000 &+ UInt64(i)) % UInt64(n - i))
            p.swapAt(i, j)
        }
        return Array(p[0..<take])
    }

    // MARK: encoding

    /// Codes of every row of `X` into `out` (rows × m), in blocks.
    func encodeBlocks(_ model: some Autoencoder, _ X: InteractionMatrix, into out: FloatBuffer, values: Bool) throws {
        let m = model.latentDimension, block = 512
        var lo = 0
        while lo < X.rowCount {
            let hi = min(lo + block, X.rowCount)
            if values {
                try encodeRawValues(model, X, rows: lo..<hi, into: out.p + lo * m, ld: m)
            } else {
                try model.encode(X, rows: lo..<hi, into: out.p + lo * m, ld: m, threads: threads)
            }
            lo = hi
        }
    }

    /// The encoder on the rows' own values. CDAE has no `encodeValues` of its own yet (the protocol's
    /// default binarises, which would erase the sign of a negated input), so its first layer
    /// f(x·W + b) is evaluated here on the raw values; every other model uses its encodeValues.
    func encodeRawValues(_ model: some Autoencoder, _ X: InteractionMatrix, rows: Range<Int>,
                         into out: UnsafeMutablePointer<Float>, ld: Int) throws {
        if let cdae = model as? CDAE {
            let h = cdae.latentDimension
            try X.withKernelView(rows: rows) { x in
                try check(aek_csr_dense_mm(x, cdae.W.value.p, Int64(h), Int64(h), cdae.b.value.p, 0, out, Int64(ld),
                                           Int32(threads)), "CDAE encoder on values")
            }
            try check(aek_bias_activation_forward(Int64(rows.count), Int64(h), nil, cdae.latentActivation.kernel, out,
                                                  Int64(ld), out, Int64(ld), Int32(threads)), "latent activation")
            return
        }
        try model.encodeValues(X, rows: rows, into: out, ld: ld, threads: threads)
    }

    // MARK: input Gram

    /// ⟨x_i, x_j⟩ in the input space for all sampled rows (N × N), through aek_csr_dense_mm against
    /// dense blocks of the transposed sample.
    func inputGram(_ X: InteractionMatrix, space: ProbeInputSpace) throws -> FloatBuffer {
        let N = X.rowCount, I = X.columnCount
        var vals = [Float](repeating: 1, count: X.nnz)
        for r in 0..<N {
            let lo = Int(X.indptr[r]), hi = Int(X.indptr[r + 1])
            switch space {
            case .binary: break
            case .normalizedBinary:
                let s = 1 / Float(hi - lo).squareRoot()
                for k in lo..<hi { vals[k] = s }
            case .values:
                for k in lo..<hi { vals[k] = X.value(at: k) }
            }
        }
        let rep = try InteractionMatrix(rowCount: N, columnCount: I, indptr: X.indptr, indices: X.indices,
                                        values: vals)
        let g = FloatBuffer(N * N, zeroed: false)
        let block = min(N, max(16, min(256, (1 << 24) / max(I, 1))))
        let dense = FloatBuffer(I * block)
        var j0 = 0
        while j0 < N {
            let bb = min(block, N - j0)
            for j in j0..<(j0 + bb) {
                for k in Int(rep.indptr[j])..<Int(rep.indptr[j + 1]) {
                    dense.p[Int(rep.indices[k]) * block + (j - j0)] = vals[k]
                }
            }
            try rep.withKernelView { x in
                try check(aek_csr_dense_mm(x, dense.p, Int64(block), Int64(bb), nil, 0, g.p + j0, Int64(N),
                                           Int32(threads)), "input Gram matrix")
            }
            for j in j0..<(j0 + bb) {
                for k in Int(rep.indptr[j])..<Int(rep.indptr[j + 1]) { dense.p[Int(rep.indices[k]) * block + (j - j0)] = 0 }
            }
            j0 += bb
        }
        return g
    }

    // MARK: P1

    func measureP1(codes: FloatBuffer, rows N: Int, m: Int, n: Int) throws -> P1Report {
        var mean = [Double](repeating: 0, count: m)
        for r in 0..<N { for j in 0..<m { mean[j] += Double(codes.p[r * m + j]) } }
        var meanSquare = 0.0
        for j in 0..<m { mean[j] /= Double(N); meanSquare += mean[j] * mean[j] }
        let centred = FloatBuffer(N * m, zeroed: false)
        for r in 0..<N { for j in 0..<m { centred.p[r * m + j] = codes.p[r * m + j] - Float(mean[j]) } }
        let cov = FloatBuffer(m * m, zeroed: false)
        try check(aek_sgemm(1, 0, Int64(m), Int64(m), Int64(N), Float(1) / Float(max(N - 1, 1)), centred.p, Int64(m),
                            centred.p, Int64(m), 0, cov.p, Int64(m)), "code covariance")
        var trace = 0.0, traceSquare = 0.0
        for i in 0..<m {
            trace += Double(cov.p[i * m + i])
            for j in 0..<m { traceSquare += Double(cov.p[i * m + j]) * Double(cov.p[i * m + j]) }
        }
        // a constant code (covariance at float round-off of the codes' size) has effective rank 0
        let constant = trace <= 1e-10 * (meanSquare + 1e-20) || traceSquare <= 0
        let pr = constant ? 0 : trace * trace / traceSquare
        let passed = m < n && pr >= thresholds.minimumEffectiveRank
        let verdict = PropertyVerdict(
            passed: passed, value: pr,
            rule: "m < n and effective rank ≥ \(Statistics.format(thresholds.minimumEffectiveRank, digits: 2))",
            detail: "m = \(m) \(m < n ? "<" : "≥") n = \(n); effective rank \(Statistics.format(pr, digits: 2)) of at most \(min(m, max(N - 1, 1)))")
        return P1Report(latentDimension: m, inputDimension: n, reducesDimension: m < n, effectiveRank: pr,
                        effectiveRankFraction: pr / Double(max(1, min(m, N - 1))), codeVarianceTotal: trace,
                        verdict: verdict)
    }

    // MARK: P2

    func measureP2(gIn: FloatBuffer, gLat: FloatBuffer, N: Int) -> P2Report {
        func tie(_ a: Float, _ b: Float) -> Bool {
            Double(abs(a - b)) <= Self.tieTolerance * Double(max(abs(a), abs(b)))
        }
        // triples
        var inputTies = 0, tiesKept = 0, preserved = 0, latentTies = 0, reversed = 0
        for t in 0..<samples {
            var counter = UInt64(t) &* 16
            func draw() -> Int {
                defer { counter &+= 1 }
                return Int(aek_hash64(seed, Self.tripleStream, counter) % UInt64(N))
            }
            let x = draw()
            var u = draw()
            while u == x { u = draw() }
            var v = draw()
            while v == x || v == u { v = draw() }
            let a = gIn.p[x * N + u], b = gIn.p[x * N + v]
            let la = gLat.p[x * N + u], lb = gLat.p[x * N + v]
            if tie(a, b) {
                inputTies += 1
                if tie(la, lb) { tiesKept += 1 }
                continue
            }
            if tie(la, lb) { latentTies += 1 } else if (a < b) == (la < lb) { preserved += 1 } else { reversed += 1 }
        }
        let ordered = samples - inputTies
        let orderPreserved = Estimate.proportion(preserved, of: ordered)
        let asStated = Estimate.proportion(preserved + latentTies, of: ordered)

        // Kendall τ-b and top-k overlap per anchor
        let anchorList = sampleIndices(N, anchors, stream: Self.anchorStream)
        var taus: [Double] = [], overlaps: [Double] = [], chance: [Double] = []
        var undefinedTau = 0
        let k = min(neighbours, N - 1)
        var inRow = [Float](repeating: 0, count: N - 1)
        for (ai, x) in anchorList.enumerated() {
            // τ over a seeded candidate set (excluding the anchor)
            let cands = sampleIndices(N - 1, candidates, stream: Self.candidateStream, counter: UInt64(ai) &+ 1)
                .map { $0 >= x ? $0 + 1 : $0 }
            let xi = cands.map { Double(gIn.p[x * N + $0]) }, yi = cands.map { Double(gLat.p[x * N + $0]) }
            if let tau = Statistics.kendallTauB(xi, yi, tolerance: Self.tieTolerance) { taus.append(tau) } else {
                undefinedTau += 1
            }
            // top-k overlap over every other sampled row
            var idx = 0
            for j in 0..<N where j != x { inRow[idx] = gIn.p[x * N + j]; idx += 1 }
            let kth = inRow.sorted(by: >)[k - 1]
            let threshold = kth - Float(Self.tieTolerance) * abs(kth)
            let eligible = inRow.reduce(0) { $0 + ($1 >= threshold ? 1 : 0) }
            var latent: [(Float, Int)] = []
            latent.reserveCapacity(N - 1)
            for j in 0..<N where j != x { latent.append((gLat.p[x * N + j], j)) }
            latent.sort { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
            var hits = 0
            for (_, j) in latent.prefix(k) where gIn.p[x * N + j] >= threshold { hits += 1 }
            overlaps.append(Double(hits) / Double(k))
            chance.append(min(1, Double(eligible) / Double(N - 1)))
        }
        let preservedValue = orderPreserved.value
        let passed = ordered > 0 && preservedValue >= thresholds.minimumOrderPreserved
        let verdict = PropertyVerdict(
            passed: passed, value: preservedValue,
            rule: "order preserved in ≥ \(Statistics.format(thresholds.minimumOrderPreserved, digits: 2)) of triples with distinct input dot products",
            detail: "\(preserved) preserved, \(latentTies) tied in the code, \(reversed) reversed of \(ordered) ordered triples (\(inputTies) input ties set apart); τ-b \(Statistics.format(Statistics.mean(taus), digits: 3)), top-\(k) overlap \(Statistics.format(Statistics.mean(overlaps), digits: 3)) (chance \(Statistics.format(Statistics.mean(chance), digits: 3)))")
        return P2Report(triples: samples, inputTies: inputTies, inputTiesKeptTied: tiesKept, preserved: preserved,
                        latentTies: latentTies, reversed: reversed, orderPreserved: orderPreserved,
                        satisfiedAsStated: asStated, kendallTau: Estimate.mean(taus), anchorsWithoutTau: undefinedTau,
                        neighbourOverlap: Estimate.mean(overlaps), chanceOverlap: Statistics.mean(chance),
                        neighbours: k, verdict: verdict)
    }

    // MARK: P3

    func measureP3(_ model: some Autoencoder, X: InteractionMatrix, codes: FloatBuffer) throws -> P3Report {
        let m = model.latentDimension, n = model.inputDimension, N = X.rowCount
        let eps = epsilon
        func norms(_ buf: FloatBuffer, rows: Int) -> [Float] {
            (0..<rows).map { r in
                var s = 0.0
                for j in 0..<m { s += Double(buf.p[r * m + j]) * Double(buf.p[r * m + j]) }
                return Float(s.squareRoot())
            }
        }
        // (a) real users
        let userNorms = norms(codes, rows: N)
        // (b) one-hot items
        let items = sampleIndices(n, itemProbes, stream: Self.itemStream).sorted()
        let oneHot = try InteractionMatrix(rowCount: items.count, columnCount: n,
                                           indptr: (0...items.count).map { Int64($0) },
                                           indices: items.map { Int32($0) }, values: nil)
        let itemCodes = FloatBuffer(max(items.count, 1) * m, zeroed: false)
        if !items.isEmpty { try encodeBlocks(model, oneHot, into: itemCodes, values: false) }
        let itemNorms = items.isEmpty ? [] : norms(itemCodes, rows: items.count)
        // (c) negated users, through the encoder on values
        let negated = try InteractionMatrix(rowCount: N, columnCount: n, indptr: X.indptr, indices: X.indices,
                                            values: (0..<X.nnz).map { -X.value(at: $0) })
        let negCodes = FloatBuffer(N * m, zeroed: false)
        try encodeBlocks(model, negated, into: negCodes, values: true)
        let negNorms = norms(negCodes, rows: N)
        // (d) units never active / constant over all probes
        var active = [Bool](repeating: false, count: m)
        var lo = [Float](repeating: .infinity, count: m), hi = [Float](repeating: -.infinity, count: m)
        let off: Float = 0
        for (buf, rows) in [(codes, N), (itemCodes, items.count), (negCodes, N)] {
            for r in 0..<rows {
                for j in 0..<m {
                    let h = buf.p[r * m + j]
                    if abs(h - off) > eps { active[j] = true }
                    lo[j] = min(lo[j], h); hi[j] = max(hi[j], h)
                }
            }
        }
        let dead = active.filter { !$0 }.count
        let constant = (0..<m).filter { hi[$0] - lo[$0] <= eps }.count
        // (e) enc(0)
        let empty = InteractionMatrix.empty(rowCount: 1, columnCount: n)
        let zeroCode = FloatBuffer(m, zeroed: false)
        try model.encode(empty, rows: 0..<1, into: zeroCode.p, ld: m, threads: 1)
        let zeroNorm = norms(zeroCode, rows: 1)[0]

        func zeroFraction(_ v: [Float]) -> Estimate { Estimate.proportion(v.filter { $0 <= eps }.count, of: v.count) }
        let fu = zeroFraction(userNorms), fi = zeroFraction(itemNorms), fn = zeroFraction(negNorms)
        let worst = [fu, fi, fn].filter { $0.n > 0 }.map(\.value).max() ?? 0
        let limit = thresholds.maximumZeroCodeFraction
        let verdict = PropertyVerdict(
            passed: worst <= limit, value: worst,
            rule: "≤ \(Statistics.format(limit * 100, digits: 1)) % of non-zero inputs (real users, one-hot items, negated users, each) have ‖code‖ ≤ ε = \(formatProperty(eps))",
            detail: "zero codes: users \(Statistics.format(fu.value * 100, digits: 2)) %, items \(Statistics.format(fi.value * 100, digits: 2)) %, negated users \(Statistics.format(fn.value * 100, digits: 2)) %; \(dead) of \(m) units never active, \(constant) constant; ‖enc(0)‖ = \(formatProperty(zeroNorm))")
        func median(_ v: [Float]) -> Double {
            guard !v.isEmpty else { return .nan }
            let s = v.sorted()
            return Double(s[s.count / 2])
        }
        return P3Report(
            epsilon: eps, zeroCodeUsers: fu, zeroCodeItems: fi, zeroCodeNegatedUsers: fn,
            medianCodeNormUsers: median(userNorms), medianCodeNormItems: median(itemNorms),
            medianCodeNormNegatedUsers: median(negNorms), itemsProbed: items.count,
            deadUnitFraction: Double(dead) / Double(m), constantUnitFraction: Double(constant) / Double(m),
            activeDefinition: "a unit is active on a probe when |h − 0| > ε (0 is the off value of every family: the lower bound of ReLU- and sigmoid-like units, the centre of tanh-like and identity units)",
            zeroInputCodeNorm: Double(zeroNorm), zeroMapsToZero: zeroNorm <= eps, verdict: verdict)
    }
}

/// A property's one-glance verdict with its threshold stated.
public struct PropertyVerdict: Sendable, Codable, Equatable {
    public var passed: Bool
    /// The number the rule is applied to.
    public var value: Double
    /// The rule, with its threshold ("order preserved in ≥ 0.75 of …").
    public var rule: String
    /// What was measured, in one line.
    public var detail: String

    public var label: String { passed ? "pass" : "fail" }
}

public struct P1Report: Sendable, Codable, Equatable {
    public var latentDimension: Int
    public var inputDimension: Int
    public var reducesDimension: Bool
    /// Participation ratio tr(C)²/tr(C²) of the codes' covariance (0 for a constant code).
    public var effectiveRank: Double
    /// effectiveRank / min(m, rows − 1).
    public var effectiveRankFraction: Double
    /// tr(C): total variance of the codes.
    public var codeVarianceTotal: Double
    public var verdict: PropertyVerdict
}

public struct P2Report: Sendable, Codable, Equatable {
    public var triples: Int
    /// Triples with ⟨x,u⟩ = ⟨x,v⟩ in the input space (set apart).
    public var inputTies: Int
    /// Of those, the ones whose code dot products are tied too (what P2 as stated requires).
    public var inputTiesKeptTied: Int
    public var preserved: Int
    public var latentTies: Int
    public var reversed: Int
    /// preserved / (triples − inputTies), Wilson 95 % interval.
    public var orderPreserved: Estimate
    /// (preserved + latentTies) / (triples − inputTies): the implication with ≤.
    public var satisfiedAsStated: Estimate
    /// Mean Kendall τ-b per anchor (n = anchors with a defined τ).
    public var kendallTau: Estimate
    public var anchorsWithoutTau: Int
    /// Mean top-k neighbour overlap per anchor.
    public var neighbourOverlap: Estimate
    /// The overlap a random code would get on average (share of eligible neighbours).
    public var chanceOverlap: Double
    public var neighbours: Int
    public var verdict: PropertyVerdict
}

public struct P3Report: Sendable, Codable, Equatable {
    public var epsilon: Float
    /// Share of codes with norm ≤ ε (Wilson 95 % intervals).
    public var zeroCodeUsers: Estimate
    public var zeroCodeItems: Estimate
    public var zeroCodeNegatedUsers: Estimate
    public var medianCodeNormUsers: Double
    public var medianCodeNormItems: Double
    public var medianCodeNormNegatedUsers: Double
    public var itemsProbed: Int
    /// Share of latent units never active over all probes.
    public var deadUnitFraction: Double
    /// Share of latent units whose value varies by ≤ ε over all probes.
    public var constantUnitFraction: Double
    public var activeDefinition: String
    /// ‖enc(0)‖ (the code of an empty row) and whether it is ≤ ε.
    public var zeroInputCodeNorm: Double
    public var zeroMapsToZero: Bool
    public var verdict: PropertyVerdict
}

/// Everything the probes measured on one encoder.
public struct ProbeReport: Sendable, Codable, Equatable {
    public var model: String
    public var activation: Activation
    public var family: ActivationFamily
    public var theoryVerdict: TheoryVerdict
    public var inputSpace: ProbeInputSpace
    public var rowsProbed: Int
    public var configuration: PropertyProbe
    public var p1: P1Report
    public var p2: P2Report
    public var p3: P3Report
    public var seconds: Double

    /// One line per property: "P1 pass — m < n and effective rank ≥ 2: m = 200 < n = 1682; …".
    public var summary: String {
        [
            "\(model) / \(activation.name) (\(family), theory: \(theoryVerdict)); input space: \(inputSpace.rawValue); \(rowsProbed) rows",
            "P1 \(p1.verdict.label) — \(p1.verdict.rule): \(p1.verdict.detail)",
            "P2 \(p2.verdict.label) — \(p2.verdict.rule): \(p2.verdict.detail)",
            "P3 \(p3.verdict.label) — \(p3.verdict.rule): \(p3.verdict.detail)",
        ].joined(separator: "\n")
    }
}
