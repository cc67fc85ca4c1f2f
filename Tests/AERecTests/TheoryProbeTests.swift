import AERecKernels
import Testing
@testable import AERec
#if canImport(Glibc)
import Glibc
#endif

/// A hand-built encoder enc(x) = f(x·W + b) on the rows' stored values (W: n × m, row-major),
/// so the probes can be checked where the answer is known.
final class HandBuiltEncoder: Autoencoder, @unchecked Sendable {
    let kind: ModelKind
    let itemCount: Int
    let latentActivation: Activation
    let latentDimension: Int
    var inputDimension: Int { itemCount }
    let W: [Float]
    let b: [Float]

    init(n: Int, m: Int, activation: Activation, kind: ModelKind = .autoRecU, W: [Float], b: [Float]? = nil) {
        precondition(W.count == n * m)
        self.kind = kind
        itemCount = n
        latentDimension = m
        latentActivation = activation
        self.W = W
        self.b = b ?? [Float](repeating: 0, count: m)
    }

    /// W = [I_m; 0]: keeps the first m coordinates.
    static func selection(n: Int, m: Int, activation: Activation) -> HandBuiltEncoder {
        var W = [Float](repeating: 0, count: n * m)
        for j in 0..<m { W[j * m + j] = 1 }
        return HandBuiltEncoder(n: n, m: m, activation: activation, W: W)
    }

    func encode(_ input: InteractionMatrix, rows: Range<Int>, into out: UnsafeMutablePointer<Float>, ld: Int,
                threads: Int) throws {
        let m = latentDimension
        for (o, r) in rows.enumerated() {
            var z = b.map(Double.init)
            let (cols, vals) = input.row(r)
            for (k, c) in cols.enumerated() {
                let v = Double(vals?[vals!.startIndex + k] ?? 1)
                for j in 0..<m { z[j] += v * Double(W[Int(c) * m + j]) }
            }
            for j in 0..<m { out[o * ld + j] = latentActivation(Float(z[j])) }
        }
    }

    func scores(for input: InteractionMatrix, rows: Range<Int>, trainRows: [Int32]?,
                into out: UnsafeMutablePointer<Float>, ld: Int, threads: Int) throws {
        for r in 0..<rows.count { (out + r * ld).update(repeating: 0, count: itemCount) }
    }
}

enum ProbeFixtures {
    /// `users` rows with values in U(0.1, 1) on ~`perRow` random columns among the first `span`.
    static func positiveRows(users: Int, columns: Int, span: Int, perRow: Int, seed: UInt64) -> InteractionMatrix {
        var rows: [Int32] = [], cols: [Int32] = [], vals: [Float] = []
        for u in 0..<users {
            var chosen = Set<Int>()
            var c: UInt64 = 0
            while chosen.count < perRow {
                chosen.insert(Int(aek_hash64(seed, UInt64(u), c) % UInt64(span)))
                c += 1
            }
            for j in chosen.sorted() {
                rows.append(Int32(u)); cols.append(Int32(j))
                vals.append(0.1 + 0.9 * aek_uniform(seed, 99, UInt64(u * columns + j)))
            }
        }
        return try! InteractionMatrix(rowCount: users, columnCount: columns, rows: rows, columns: cols, values: vals)
    }
}

@Suite("Theory: property probes")
struct PropertyProbeTests {
    let probe = PropertyProbe(samples: 3000, users: 300, anchors: 50, candidates: 40, neighbours: 5, itemProbes: 1000,
                              seed: 11, threads: 2, inputSpace: .values)

    @Test("identity-like linear encoder on inputs in its span: P2 = 1, τ = 1, overlap = 1; its kernel fails P3")
    func identityLike() throws {
        let n = 40, m = 12
        let X = ProbeFixtures.positiveRows(users: 200, columns: n, span: m, perRow: 4, seed: 3)
        let enc = HandBuiltEncoder.selection(n: n, m: m, activation: .identity)
        let r = try probe.probe(enc, on: X)
        #expect(r.p2.reversed == 0 && r.p2.latentTies == 0)
        #expect(r.p2.orderPreserved.value == 1)
        #expect(r.p2.inputTiesKeptTied == r.p2.inputTies)
        #expect(r.p2.kendallTau.value == 1)
        #expect(r.p2.neighbourOverlap.value == 1)
        #expect(r.p2.verdict.passed)
        // P1: m < n, and the codes (= the inputs) spread over many directions
        #expect(r.p1.reducesDimension && r.p1.effectiveRank > 5 && r.p1.effectiveRank <= Double(m))
        #expect(r.p1.verdict.passed)
        // P3: users and negated users keep non-zero codes, but the n − m one-hot items in the kernel
        // of W map to 0 (the linear encoder's kernel), and enc(0) = 0
        #expect(r.p3.zeroCodeUsers.value == 0 && r.p3.zeroCodeNegatedUsers.value == 0)
        #expect(r.p3.itemsProbed == n)
        #expect(abs(r.p3.zeroCodeItems.value - Double(n - m) / Double(n)) < 1e-12)
        #expect(r.p3.zeroMapsToZero)
        #expect(!r.p3.verdict.passed)
        #expect(r.family == .identity && r.theoryVerdict == .linear)
    }

    @Test("ReLU encoder: negated non-negative inputs get the zero code, so P3 fails")
    func reluNegated() throws {
        let n = 30, m = 10
        let X = ProbeFixtures.positiveRows(users: 150, columns: n, span: m, perRow: 3, seed: 5)
        let enc = HandBuiltEncoder.selection(n: n, m: m, activation: .relu)
        let r = try probe.probe(enc, on: X)
        #expect(r.p3.zeroCodeNegatedUsers.value == 1)
        #expect(r.p3.zeroCodeUsers.value == 0)
        #expect(!r.p3.verdict.passed)
        #expect(r.p3.verdict.value == 1)
        // the same encoder with sigmoid keeps every code away from 0 (σ(0) = 1/2 per unit)
        let sig = HandBuiltEncoder.selection(n: n, m: m, activation: .sigmoid)
        let s = try probe.probe(sig, on: X)
        #expect(s.p3.zeroCodeNegatedUsers.value == 0 && s.p3.zeroCodeItems.value == 0 && s.p3.zeroCodeUsers.value == 0)
        #expect(s.p3.verdict.passed)
        #expect(!s.p3.zeroMapsToZero && abs(s.p3.zeroInputCodeNorm - 0.5 * Double(m).squareRoot()) < 1e-6)
        #expect(s.p3.deadUnitFraction == 0)
        // relu keeps the positive inputs' order exactly (the codes are the inputs)
        #expect(r.p2.orderPreserved.value == 1)
    }

    @Test("constant encoder: effective rank 0, every code dot product tied, all units constant")
    func constantEncoder() throws {
        let n = 30, m = 8
        let X = ProbeFixtures.positiveRows(users: 120, columns: n, span: n, perRow: 5, seed: 7)
        let enc = HandBuiltEncoder(n: n, m: m, activation: .sigmoid, W: [Float](repeating: 0, count: n * m),
                                   b: (0..<m).map { Float($0) / 4 - 1 })
        let r = try probe.probe(enc, on: X)
        #expect(r.p1.effectiveRank == 0)
        #expect(!r.p1.verdict.passed)
        #expect(r.p2.preserved == 0 && r.p2.reversed == 0)
        #expect(r.p2.latentTies == r.p2.triples - r.p2.inputTies)
        #expect(r.p2.orderPreserved.value == 0)
        // P2 read as a ≤-implication is "satisfied" by ties: why ties are counted apart
        #expect(r.p2.satisfiedAsStated.value == 1)
        #expect(!r.p2.verdict.passed)
        #expect(r.p3.constantUnitFraction == 1 && r.p3.deadUnitFraction == 0)
        // a rank-one encoder (all codes on a line) scores ≈ 1
        var W = [Float](repeating: 0, count: n * m)
        for i in 0..<n { for j in 0..<m { W[i * m + j] = Float(j + 1) * 0.01 * Float(i % 3 + 1) } }
        let line = try probe.probe(HandBuiltEncoder(n: n, m: m, activation: .identity, W: W), on: X)
        #expect(abs(line.p1.effectiveRank - 1) < 1e-3)
    }

    @Test("input Gram matrix: every input space against a float64 reference")
    func inputGram() throws {
        let X = ProbeFixtures.positiveRows(users: 37, columns: 50, span: 50, perRow: 6, seed: 9)
        for space in ProbeInputSpace.allCases {
            let g = try probe.inputGram(X, space: space)
            for i in 0..<X.rowCount {
                for j in 0..<X.rowCount {
                    var s = 0.0
                    let (ci, vi) = X.row(i), (cj, vj) = X.row(j)
                    let ni = Double(ci.count).squareRoot(), nj = Double(cj.count).squareRoot()
                    for (a, c) in ci.enumerated() {
                        guard let bIdx = cj.firstIndex(of: c) else { continue }
                        let b = bIdx - cj.startIndex
                        switch space {
                        case .binary: s += 1
                        case .normalizedBinary: s += 1 / (ni * nj)
                        case .values: s += Double(vi![vi!.startIndex + a]) * Double(vj![vj!.startIndex + b])
                        }
                    }
                    #expect(abs(Double(g.p[i * X.rowCount + j]) - s) < 1e-5, "\(space) (\(i), \(j))")
                }
            }
        }
    }

    @Test("deterministic given the seed; another seed samples other triples")
    func determinism() throws {
        let n = 40, m = 6
        let X = ProbeFixtures.positiveRows(users: 200, columns: n, span: n, perRow: 5, seed: 13)
        var W = [Float](repeating: 0, count: n * m)
        for k in 0..<(n * m) { W[k] = 2 * aek_uniform(17, 1, UInt64(k)) - 1 }
        let enc = HandBuiltEncoder(n: n, m: m, activation: .tanh, W: W)
        var a = try probe.probe(enc, on: X), b = try probe.probe(enc, on: X)
        a.seconds = 0; b.seconds = 0
        #expect(a == b)
        var other = probe
        other.seed = 12
        let c = try other.probe(enc, on: X)
        #expect(c.p2.preserved != a.p2.preserved || c.p2.kendallTau.value != a.p2.kendallTau.value)
        // a random tanh projection to 6 of 40 dimensions preserves order only partly
        #expect(a.p2.orderPreserved.value > 0.5 && a.p2.orderPreserved.value < 0.95)
        #expect(a.p2.orderPreserved.low < a.p2.orderPreserved.value && a.p2.orderPreserved.high > a.p2.orderPreserved.value)
    }

    @Test("trained Mult-DAE, CDAE and Mult-VAE: input spaces, sigmoid codes never zero, CDAE negation on values")
    func trainedModels() throws {
        let data = ProbeFixtures.positiveRows(users: 120, columns: 60, span: 60, perRow: 8, seed: 21).binarized()
        let opts = TrainingOptions(epochs: 3, batchSize: 40, seed: 1, threads: 1, earlyStoppingPatience: nil)
        let p = PropertyProbe(samples: 500, users: 100, anchors: 20, candidates: 30, neighbours: 5, seed: 3, threads: 1)
        for act in [Activation.sigmoid, .relu] {
            let dae = try MultDAE(itemCount: 60, configuration: .init(latentDimension: 16, latentActivation: act))
            try dae.fit(data, options: opts)
            let r = try p.probe(dae, on: data)
            #expect(r.inputSpace == .normalizedBinary && r.rowsProbed == 100)
            #expect(r.p1.latentDimension == 16 && r.p1.inputDimension == 60 && r.p1.effectiveRank > 1)
            if act == .sigmoid { #expect(r.p3.verdict.passed && !r.p3.zeroMapsToZero) }
        }
        // CDAE: the probe's encoder on values keeps the sign (identity: enc(x) + enc(−x) = 2b)
        let cdae = try CDAE(itemCount: 60, userCount: 120,
                            configuration: .init(hiddenDimension: 16, latentActivation: .identity))
        try cdae.fit(data, options: opts)
        let c = try p.probe(cdae, on: data)
        #expect(c.inputSpace == .binary && c.family == .identity)
        let rows = data.rows(Array(0..<10))
        let negated = try InteractionMatrix(rowCount: 10, columnCount: 60, indptr: rows.indptr, indices: rows.indices,
                                            values: [Float](repeating: -1, count: rows.nnz))
        let pos = FloatBuffer(10 * 16), neg = FloatBuffer(10 * 16)
        try cdae.encode(rows, rows: 0..<10, into: pos.p, ld: 16, threads: 1)
        try p.encodeRawValues(cdae, negated, rows: 0..<10, into: neg.p, ld: 16)
        for r in 0..<10 {
            for j in 0..<16 { #expect(abs(pos.p[r * 16 + j] + neg.p[r * 16 + j] - 2 * cdae.b.value.p[j]) < 1e-5) }
        }
        let vae = try MultVAE(itemCount: 60, configuration: .init(hiddenDimension: 24, latentDimension: 8))
        try vae.fit(data, options: opts)
        let v = try p.probe(vae, on: data)
        #expect(v.p1.latentDimension == 8 && v.rowsProbed == 100 && v.inputSpace == .normalizedBinary)
    }

    @Test("argument errors")
    func errors() throws {
        let enc = HandBuiltEncoder.selection(n: 10, m: 3, activation: .identity)
        let wrong = ProbeFixtures.positiveRows(users: 10, columns: 11, span: 11, perRow: 2, seed: 1)
        #expect(throws: AERecError.self) { try probe.probe(enc, on: wrong) }
        let tiny = ProbeFixtures.positiveRows(users: 2, columns: 10, span: 10, perRow: 2, seed: 1)
        #expect(throws: AERecError.self) { try probe.probe(enc, on: tiny) }
        var bad = probe
        bad.users = 2
        #expect(throws: AERecError.self) { try bad.probe(enc, on: wrong) }
    }
}

@Suite("Theory: statistics against hand-computed and scipy values")
struct TheoryStatisticsTests {
    let a = [0.42, 0.51, 0.38, 0.47, 0.55, 0.40, 0.49, 0.44, 0.61, 0.33]
    let b = [0.40, 0.47, 0.39, 0.41, 0.50, 0.43, 0.45, 0.37, 0.52, 0.335]

    @Test("paired t-test (scipy.stats.ttest_rel: t = 2.68741924943285, p = 0.024901563233557553)")
    func pairedT() {
        let t = Statistics.pairedTTest(a, b)
        #expect(t.n == 10 && t.degreesOfFreedom == 9)
        #expect(abs(t.t - 2.68741924943285) < 1e-10)
        #expect(abs(t.pValue - 0.024901563233557553) < 1e-10)
        #expect(abs(t.meanDifference - 0.0325) < 1e-12)
        #expect(abs(t.confidenceInterval.low - 0.005142858829541668) < 1e-9)
        #expect(abs(t.confidenceInterval.high - 0.05985714117045833) < 1e-9)
        // by hand: d = (1, 2, 3), mean 2, s = 1, t = 2√3, df 2, p = 1 − 2/√... = 0.0741799...
        let h = Statistics.pairedTTest([2, 4, 6], [1, 2, 3])
        #expect(abs(h.t - 2 * 3.0.squareRoot()) < 1e-12)
        // P(|T₂| ≥ t) = 1 − t/√(t² + 2) for 2 df
        #expect(abs(h.pValue - (1 - h.t / (h.t * h.t + 2).squareRoot())) < 1e-12)
    }

    @Test("Wilcoxon signed-rank: exact (W− = 7, p = 2·19/1024) and tie-corrected normal")
    func wilcoxon() {
        let w = Statistics.wilcoxonSignedRank(a, b)
        #expect(w.method == "exact" && w.n == 10)
        #expect(w.statistic == 7 && w.wMinus == 7 && w.wPlus == 48)
        #expect(w.pValue == 2.0 * 19 / 1024)  // = 0.037109375 (scipy method='exact')
        let x: [Double] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], y: [Double] = [0, 3, 1, 2, 5, 4, 9, 8, 6, 12, 10, 11]
        let v = Statistics.wilcoxonSignedRank(x, y)
        #expect(v.method == "normal" && v.n == 10 && v.zeros == 2)
        #expect(v.statistic == 16.5)
        // z = (38.5 − 27.5)/√(96.25 − 3.75); scipy approx, correction=False: p = 0.252737478544408
        #expect(abs(v.z - 11 / 92.5.squareRoot()) < 1e-12)
        #expect(abs(v.pValue - 0.252737478544408) < 1e-9)
    }

    @Test("Student t quantiles and tails, Spearman, Kendall τ-b, Wilson")
    func distributions() {
        #expect(abs(Statistics.studentTQuantile(0.975, degreesOfFreedom: 4) - 2.7764451051977934) < 1e-8)
        #expect(abs(Statistics.studentTQuantile(0.975, degreesOfFreedom: 1) - 12.706204736174694) < 1e-7)
        #expect(abs(Statistics.studentTQuantile(0.975, degreesOfFreedom: 30) - 2.0422724563012378) < 1e-8)
        #expect(abs(Statistics.studentTTwoSidedP(2, degreesOfFreedom: 5) - 0.10193947882985835) < 1e-10)
        let s = Statistics.spearman(a, b)
        #expect(abs(s.rho - 0.8787878787878788) < 1e-12 && abs(s.pValue - 0.0008138621117322101) < 1e-10)
        let st = Statistics.spearman([1, 2, 2, 3, 5, 4], [2, 1, 3, 3, 6, 5])
        #expect(abs(st.rho - 0.8676470588235294) < 1e-12 && abs(st.pValue - 0.025116718400162802) < 1e-10)
        #expect(abs(Statistics.kendallTauB([1, 2, 2, 3, 4], [1, 3, 2, 2, 5])! - 2.0 / 3.0) < 1e-12)
        #expect(Statistics.kendallTauB([1, 1, 1], [1, 2, 3]) == nil)
        #expect(Statistics.ranks([10, 20, 20, 5]) == [2, 3.5, 3.5, 1])
        // Wilson, 8 of 10: centre (0.8 + 1.96²/20)/(1 + 1.96²/10)
        let w = Estimate.proportion(8, of: 10)
        let z2 = 1.96 * 1.96, c = (0.8 + z2 / 20) / (1 + z2 / 10)
        let h = 1.96 * (0.8 * 0.2 / 10 + z2 / 400).squareRoot() / (1 + z2 / 10)
        #expect(abs(w.low - (c - h)) < 1e-12 && abs(w.high - (c + h)) < 1e-12 && w.value == 0.8)
        let m = Estimate.studentMean([1, 2, 3, 4, 5])
        #expect(abs(m.high - (3 + 2.7764451051977934 * 2.5.squareRoot() / 5.0.squareRoot())) < 1e-7)
    }
}
