import AERecKernels
import Testing
@testable import AERec
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Shared fixtures for the CDAE and AutoRec tests

/// Helpers for the gradient checks and model tests of CDAE and AutoRec.
enum AEModelFixtures {
    /// A matrix from (row, column, value) triples.
    static func matrix(_ rows: Int, _ cols: Int, _ entries: [(Int, Int, Float)], implicit: Bool = false)
        -> InteractionMatrix {
        try! InteractionMatrix(rowCount: rows, columnCount: cols, rows: entries.map { Int32($0.0) },
                               columns: entries.map { Int32($0.1) }, values: implicit ? nil : entries.map(\.2))
    }

    /// A deterministic random matrix: each cell present with probability `density`, rating 1...5
    /// biased by a per-user and per-item offset (so there is something to learn). Every row and
    /// column gets at least one entry.
    static func random(users: Int, items: Int, density: Float, seed: UInt64) -> InteractionMatrix {
        var e: [(Int, Int, Float)] = []
        for u in 0..<users {
            let ub = aek_uniform(seed, 1, UInt64(u))
            for i in 0..<items {
                let c = UInt64(u * items + i)
                let present = aek_uniform(seed, 2, c) < density || i == u % items || u == i % users
                guard present else { continue }
                let ib = aek_uniform(seed, 3, UInt64(i))
                let r = (1 + 4 * (0.45 * ub + 0.45 * ib + 0.1 * aek_uniform(seed, 4, c))).rounded()
                e.append((u, i, r))
            }
        }
        return matrix(users, items, e)
    }

    static func values(_ p: Parameter) -> [Double] { (0..<p.count).map { Double(p.value.p[$0]) } }
    static func floats(_ p: Parameter) -> [Float] { p.value.array }
    static func grads(_ p: Parameter) -> [Float] { p.grad!.array }

    static func set(_ p: Parameter, _ v: [Double]) { for j in 0..<p.count { p.value.p[j] = Float(v[j]) } }

    /// Fills a parameter with U(−scale, scale) values (deterministic).
    static func randomize(_ p: Parameter, seed: UInt64, scale: Float) {
        for j in 0..<p.count { p.value.p[j] = (2 * aek_uniform(seed, 77, UInt64(j)) - 1) * scale }
    }

    /// f(x) in float64 for the activations the gradient checks use.
    static func activate(_ a: Activation, _ x: Double) -> Double {
        switch a {
        case .sigmoid: return 1 / (1 + exp(-x))
        case .tanh: return tanh(x)
        case .softplus: return x > 30 ? x : log1p(exp(x))
        case .identity: return x
        default: fatalError("no float64 reference for \(a)")
        }
    }

    /// Central finite differences of `loss` with respect to every entry of every parameter block.
    static func finiteDifferences(_ params: [[Double]], step: Double = 1e-6,
                                  loss: ([[Double]]) -> Double) -> [[Double]] {
        var p = params
        var g: [[Double]] = params.map { [Double](repeating: 0, count: $0.count) }
        for b in 0..<p.count {
            for j in 0..<p[b].count {
                let keep = p[b][j]
                p[b][j] = keep + step
                let up = loss(p)
                p[b][j] = keep - step
                let down = loss(p)
                p[b][j] = keep
                g[b][j] = (up - down) / (2 * step)
            }
        }
        return g
    }

    /// Records an issue for every entry where |got − want| > abs + rel·|want|.
    static func expectClose(_ got: [Float], _ want: [Double], rel: Double = 2e-3, abs: Double = 2e-5, _ what: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(got.count == want.count, "\(what): \(got.count) vs \(want.count) entries", sourceLocation: sourceLocation)
        var bad = 0
        for j in 0..<min(got.count, want.count) {
            let d = Swift.abs(Double(got[j]) - want[j])
            if d > abs + rel * Swift.abs(want[j]) {
                if bad < 5 {
                    Issue.record("\(what)[\(j)]: got \(got[j]), want \(want[j])", sourceLocation: sourceLocation)
                }
                bad += 1
            }
        }
        #expect(bad == 0, "\(what): \(bad) of \(got.count) entries differ", sourceLocation: sourceLocation)
    }

    /// One Adam step from zero moments (step 1) in float64: θ − lr·m̂/(√v̂ + ε) on the rows in
    /// `rows` (nil: all), with g = grad + decay·θ; other rows unchanged.
    static func adamFirstStep(theta: [Float], grad: [Float], decay: Float, cols: Int, rows: Set<Int>?,
                              lr: Float = 1e-3) -> [Double] {
        var out = theta.map(Double.init)
        for j in 0..<theta.count where rows == nil || rows!.contains(j / cols) {
            let g = Double(grad[j]) + Double(decay) * Double(theta[j])
            let m = 0.1 * g / 0.1, v = 0.001 * g * g / 0.001
            out[j] -= Double(lr) * m / (v.squareRoot() + 1e-8)
        }
        return out
    }

    /// Bit patterns of every parameter.
    static func bits(_ params: [Parameter]) -> [[UInt32]] { params.map { $0.value.array.map(\.bitPattern) } }

    /// Scores of rows 0..<n of `input` into an array.
    static func scores(_ model: any Recommender, _ input: InteractionMatrix, trainRows: [Int32]?, threads: Int = 1)
        throws -> [Float] {
        var out = [Float](repeating: .nan, count: input.rowCount * model.itemCount)
        try out.withUnsafeMutableBufferPointer {
            try model.scores(for: input, rows: 0..<input.rowCount, trainRows: trainRows, into: $0.baseAddress!,
                             ld: model.itemCount, threads: threads)
        }
        return out
    }

    static func tempPath(_ name: String) -> String {
        var template = Array("/tmp/aerec-models-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(p != nil, "mkdtemp failed")
        return String(cString: p!) + "/" + name
    }
}

/// Item popularity (training counts) as a ranking baseline, computed here so the test does not
/// depend on the library's Popularity model.
final class TrainingCountBaseline: Recommender, @unchecked Sendable {
    let kind = ModelKind.pop
    let itemCount: Int
    let counts: [Float]
    init(_ train: InteractionMatrix) {
        itemCount = train.columnCount
        counts = train.columnCounts.map(Float.init)
    }
    func scores(for input: InteractionMatrix, rows: Range<Int>, trainRows: [Int32]?,
                into out: UnsafeMutablePointer<Float>, ld: Int, threads: Int) throws {
        for r in 0..<rows.count { for i in 0..<itemCount { out[r * ld + i] = counts[i] } }
    }
}

// MARK: - CDAE

@Suite("CDAE")
struct CDAETests {
    /// 6 users × 5 items, binary (values are ignored by CDAE).
    static let tiny = AEModelFixtures.matrix(6, 5, [
        (0, 0, 1), (0, 2, 1), (0, 3, 1), (1, 1, 1), (1, 4, 1), (2, 0, 1), (2, 1, 1), (2, 2, 1), (2, 4, 1),
        (3, 3, 1), (4, 0, 1), (4, 2, 1), (4, 4, 1), (5, 1, 1), (5, 2, 1),
    ], implicit: true)

    /// CDAE's objective on batch rows `users` in float64 (mean sigmoid cross-entropy over all items),
    /// the parameters in the model's order W (I×h), V (U×h), b (h), W′ (h×I), b′ (I).
    static func referenceLoss(_ p: [[Double]], h: Int, items: Int, users: [Int], input: [[Double]],
                              targets: [[Double]], f: Activation) -> Double {
        let (W, V, b, W2, b2) = (p[0], p[1], p[2], p[3], p[4])
        var total = 0.0
        for (r, u) in users.enumerated() {
            var a = [Double](repeating: 0, count: h)
            for j in 0..<h {
                var z = V[u * h + j] + b[j]
                for i in 0..<items { z += input[r][i] * W[i * h + j] }
                a[j] = AEModelFixtures.activate(f, z)
            }
            for i in 0..<items {
                var o = b2[i]
                for j in 0..<h { o += a[j] * W2[j * items + i] }
                let softplus = o > 0 ? o + log1p(exp(-o)) : log1p(exp(o))
                total += softplus - targets[r][i] * o
            }
        }
        return total / Double(users.count)
    }

    @Test("one training step: loss and every gradient match float64 finite differences; Adam applies λ to the touched rows",
          arguments: [Activation.sigmoid, .tanh])
    func gradientCheck(activation: Activation) throws {
        let train = Self.tiny
        let I = 5, U = 6, h = 3, q: Float = 0.4, l2: Float = 0.01, seed: UInt64 = 4242, epoch = 3
        let config = CDAEConfiguration(hiddenDimension: h, latentActivation: activation, corruption: q, l2: l2)
        let model = try CDAE(itemCount: I, userCount: U, configuration: config, seed: 7)
        // a nonzero user node so its gradient path is exercised
        AEModelFixtures.randomize(model.V, seed: 11, scale: 0.5)
        let options = TrainingOptions(epochs: 1, batchSize: 6, seed: seed, threads: 1)
        let batch: [Int32] = [4, 1, 2, 0]   // unsorted: the user-node rows are sorted internally
        let users = batch.map(Int.init)
        // the corrupted input, rebuilt from the documented mask: keep iff uniform(seed, stream, u·I + i) ≥ q
        let stream = CDAE.corruptionStream(epoch: epoch)
        var input = [[Double]](repeating: [Double](repeating: 0, count: I), count: users.count)
        var targets = input
        for (r, u) in users.enumerated() {
            for c in train.row(u).columns {
                targets[r][Int(c)] = 1
                let keep = aek_uniform(seed, stream, UInt64(u * I + Int(c))) >= q
                input[r][Int(c)] = keep ? 1 / Double(1 - q) : 0
            }
        }
        let before = model.parameters.map(AEModelFixtures.values)
        let beforeFloats = model.parameters.map(AEModelFixtures.floats)
        let ref = { (p: [[Double]]) in
            Self.referenceLoss(p, h: h, items: I, users: users, input: input, targets: targets, f: activation)
        }

        try model.beginTraining(train, trainRows: (0..<Int32(U)).map { $0 }, options: options)
        defer { model.endTraining() }
        let loss = try batch.withUnsafeBufferPointer { try model.computeGradients($0, epoch: epoch) }
        #expect(Swift.abs(loss / Double(users.count) - ref(before)) < 1e-5 * max(1, ref(before)),
                "loss \(loss / Double(users.count)) vs reference \(ref(before))")
        let fd = AEModelFixtures.finiteDifferences(before, loss: ref)
        for (p, want) in zip(model.parameters, fd) {
            AEModelFixtures.expectClose(AEModelFixtures.grads(p), want, "∂L/∂\(p.name) (\(activation))")
        }
        // the touched rows: items stored in the batch's rows, and the batch's users
        #expect(Array(model.V.touched[0..<model.V.touchedCount]) == users.sorted().map(Int32.init))
        let present = Set(users.flatMap { train.row($0).columns.map(Int.init) })
        #expect(Set(model.W.touched[0..<model.W.touchedCount].map(Int.init)) == present)

        // the full step: Adam (step 1) with g + λθ on the touched rows of W and V, all of W′, no decay on biases
        let grads = model.parameters.map(AEModelFixtures.grads)
        _ = try batch.withUnsafeBufferPointer { try model.trainBatch($0, epoch: epoch) }
        let expected = [
            AEModelFixtures.adamFirstStep(theta: beforeFloats[0], grad: grads[0], decay: l2, cols: h, rows: present),
            AEModelFixtures.adamFirstStep(theta: beforeFloats[1], grad: grads[1], decay: l2, cols: h, rows: Set(users)),
            AEModelFixtures.adamFirstStep(theta: beforeFloats[2], grad: grads[2], decay: 0, cols: h, rows: nil),
            AEModelFixtures.adamFirstStep(theta: beforeFloats[3], grad: grads[3], decay: l2, cols: I, rows: nil),
            AEModelFixtures.adamFirstStep(theta: beforeFloats[4], grad: grads[4], decay: 0, cols: I, rows: nil),
        ]
        for (p, want) in zip(model.parameters, expected) {
            AEModelFixtures.expectClose(AEModelFixtures.floats(p), want, rel: 1e-5, abs: 1e-7, "step of \(p.name)")
        }
        // rows outside the batch did not move at all
        for u in 0..<U where !users.contains(u) {
            #expect((0..<h).allSatisfy { model.V.value.p[u * h + $0] == beforeFloats[1][u * h + $0] })
        }
    }

    @Test("same seed and threads ⇒ bit-identical parameters and history; another seed differs")
    func determinism() throws {
        let train = AEModelFixtures.random(users: 120, items: 60, density: 0.15, seed: 3).binarized()
        let config = CDAEConfiguration(hiddenDimension: 16)
        let options = TrainingOptions(epochs: 3, batchSize: 32, seed: 99, threads: 2, earlyStoppingPatience: nil)
        func run(_ seed: UInt64) throws -> ([[UInt32]], [Double]) {
            let m = try CDAE(itemCount: 60, userCount: 120, configuration: config)
            var o = options
            o.seed = seed
            let history = try m.fit(train, options: o)
            return (AEModelFixtures.bits(m.parameters), history.epochs.map(\.loss))
        }
        let a = try run(99), b = try run(99), c = try run(100)
        #expect(a.0 == b.0)
        #expect(a.1 == b.1)
        #expect(a.0 != c.0)
        #expect(a.1.last! < a.1.first!, "loss should fall: \(a.1)")
    }

    @Test("encode: width = hidden, no user node; scores use V[trainRow] only when given")
    func encodeAndUserNode() throws {
        let h = 4, I = 5, U = 6
        let model = try CDAE(itemCount: I, userCount: U, configuration: CDAEConfiguration(hiddenDimension: h))
        AEModelFixtures.randomize(model.V, seed: 5, scale: 2)
        var codes = [Float](repeating: .nan, count: U * (h + 2))
        try codes.withUnsafeMutableBufferPointer {
            try model.encode(Self.tiny, rows: 0..<U, into: $0.baseAddress!, ld: h + 2, threads: 1)
        }
        #expect(model.latentDimension == h && model.inputDimension == I)
        // f(y·W + b) by hand, without V
        for u in 0..<U {
            for j in 0..<h {
                var z = Double(model.b.value.p[j])
                for c in Self.tiny.row(u).columns { z += Double(model.W.value.p[Int(c) * h + j]) }
                #expect(Swift.abs(Double(codes[u * (h + 2) + j]) - 1 / (1 + exp(-z))) < 1e-5)
            }
            #expect(codes[u * (h + 2) + h].isNaN && codes[u * (h + 2) + h + 1].isNaN, "ld padding untouched")
        }
        // encode is independent of V
        let saved = AEModelFixtures.floats(model.V)
        AEModelFixtures.randomize(model.V, seed: 6, scale: 3)
        var codes2 = [Float](repeating: .nan, count: U * (h + 2))
        try codes2.withUnsafeMutableBufferPointer {
            try model.encode(Self.tiny, rows: 0..<U, into: $0.baseAddress!, ld: h + 2, threads: 1)
        }
        #expect(codes.map(\.bitPattern) == codes2.map(\.bitPattern))
        for j in 0..<saved.count { model.V.value.p[j] = saved[j] }
        // scores: nil trainRows == all −1 == decoder(encode); real trainRows change them
        let none = try AEModelFixtures.scores(model, Self.tiny, trainRows: nil)
        let minus = try AEModelFixtures.scores(model, Self.tiny, trainRows: [Int32](repeating: -1, count: U))
        let own = try AEModelFixtures.scores(model, Self.tiny, trainRows: (0..<Int32(U)).map { $0 })
        #expect(none == minus)
        #expect(none != own)
        for u in 0..<U {
            for i in 0..<I {
                var o = Double(model.b2.value.p[i])
                for j in 0..<h { o += Double(codes[u * (h + 2) + j]) * Double(model.W2.value.p[j * I + i]) }
                #expect(Swift.abs(Double(none[u * I + i]) - o) < 1e-5)
            }
        }
        #expect(throws: AERecError.self) { _ = try AEModelFixtures.scores(model, Self.tiny, trainRows: [Int32](repeating: 6, count: U)) }
        // encodeValues: the encoder on the stored values (here −2 and 0.5), not the binary pattern
        let signed = AEModelFixtures.matrix(2, I, [(0, 1, -2), (0, 3, 0.5), (1, 4, -1)])
        var raw = [Float](repeating: .nan, count: 2 * h), binary = raw
        try raw.withUnsafeMutableBufferPointer {
            try model.encodeValues(signed, rows: 0..<2, into: $0.baseAddress!, ld: h, threads: 1)
        }
        try binary.withUnsafeMutableBufferPointer {
            try model.encode(signed, rows: 0..<2, into: $0.baseAddress!, ld: h, threads: 1)
        }
        for r in 0..<2 {
            let (c, v) = signed.row(r)
            for j in 0..<h {
                var z = Double(model.b.value.p[j]), zb = z
                for (i, x) in zip(c, v!) {
                    z += Double(x) * Double(model.W.value.p[Int(i) * h + j])
                    zb += Double(model.W.value.p[Int(i) * h + j])
                }
                #expect(Swift.abs(Double(raw[r * h + j]) - 1 / (1 + exp(-z))) < 1e-5)
                #expect(Swift.abs(Double(binary[r * h + j]) - 1 / (1 + exp(-zb))) < 1e-5)
            }
        }
    }

    @Test("save → load round trip: identical scores (with and without the user node)")
    func roundTrip() throws {
        let train = AEModelFixtures.random(users: 40, items: 30, density: 0.2, seed: 8)
        let model = try CDAE(itemCount: 30, userCount: 40, configuration: CDAEConfiguration(hiddenDimension: 8,
                                                                                              latentActivation: .tanh))
        try model.fit(train, options: TrainingOptions(epochs: 2, batchSize: 16, seed: 1, threads: 1))
        let path = AEModelFixtures.tempPath("cdae.aerec")
        try model.save(to: path)
        let loaded = try CDAE.load(from: path)
        let any = try AnyModel.load(path: path)
        #expect(any.kind == .cdae)
        #expect(loaded.configuration == model.configuration && loaded.userCount == 40)
        let rows = (0..<Int32(40)).map { $0 }
        for tr in [nil, rows] {
            let a = try AEModelFixtures.scores(model, train, trainRows: tr)
            let b = try AEModelFixtures.scores(loaded, train, trainRows: tr)
            let c = try AEModelFixtures.scores(any, train, trainRows: tr)
            #expect(a.map(\.bitPattern) == b.map(\.bitPattern))
            #expect(a.map(\.bitPattern) == c.map(\.bitPattern))
        }
        #expect(try loaded.modelState() == model.modelState())
    }

    @Test("configuration checks and the factory's mapping")
    func configuration() throws {
        #expect(throws: AERecError.self) { _ = try CDAE(itemCount: 5, userCount: 2, configuration: .init(corruption: 1)) }
        #expect(throws: AERecError.self) { _ = try CDAE(itemCount: 5, userCount: 2, configuration: .init(hiddenDimension: 0)) }
        let model = try CDAE(itemCount: 5, userCount: 3, configuration: .init(hiddenDimension: 4))
        #expect(throws: AERecError.self) { try model.fit(Self.tiny) }   // 6 users, node for 3
        // the code must be narrower than the input (P1): hidden 5 on 5 items is refused
        #expect(throws: AERecError.invalidArgument("cdae: the hidden (code) width 5 must be smaller than the 5 items "
                                                   + "(an autoencoder's code must reduce dimension: P1, m < n)")) {
            _ = try CDAE(itemCount: 5, userCount: 3, configuration: .init(hiddenDimension: 5))
        }
        var config = ExperimentConfiguration(dataPath: "-", model: .cdae)
        config.hidden = 20; config.activation = .tanh; config.lambda = 0.5; config.dropout = 0.3
        config.learningRate = 0.01
        let made = try ModelFactory.make(config, itemCount: 25, userCount: 6, batchesPerEpoch: 1)
        let cdae = try #require(made as? CDAE)
        #expect(cdae.configuration == CDAEConfiguration(hiddenDimension: 20, latentActivation: .tanh, corruption: 0.3,
                                                        l2: 0.5, optimizer: AdamConfiguration(learningRate: 0.01)))
        #expect(cdae.userCount == 6)
    }

    @Test("ml-100k (> 3.5, strong, 94 held-out users): CDAE beats popularity on NDCG@100")
    func movieLens() throws {
        guard let path = DataFixtures.sharedData("ml-100k/ratings.tsv.gz") else {
            Issue.record("SKIPPED (data missing): ../shared/data/ml-100k/ratings.tsv.gz not found relative to the package root")
            return
        }
        let data = try InteractionFilter(threshold: 3.5).apply(to: InteractionReader.read(path: path))
        let split = try makeSplit(data, .strong(heldOutUsers: 94, seed: 98765))
        let config = CDAEConfiguration(hiddenDimension: 100, optimizer: AdamConfiguration(learningRate: 3e-3))
        let model = try CDAE(itemCount: split.train.columnCount, userCount: split.train.rowCount,
                             configuration: config)
        let options = TrainingOptions(epochs: 40, batchSize: 100, seed: 98765, threads: 2, earlyStoppingPatience: 10)
        let history = try model.fit(split.train, validation: split.validation, options: options)
        let evaluator = Evaluator(metrics: [.ndcg(100)], batchSize: 500, threads: 2)
        let cdae = try evaluator.evaluate(model, on: split.test)[.ndcg(100)]!
        let pop = try evaluator.evaluate(TrainingCountBaseline(split.train), on: split.test)[.ndcg(100)]!
        print("ml-100k strong: CDAE NDCG@100 \(cdae.value) \(cdae.confidenceInterval.map { "\($0)" } ?? "") "
              + "(best epoch \(history.bestEpoch) of \(history.epochs.count)), popularity \(pop.value)")
        #expect(cdae.value > pop.value + 0.05, "CDAE \(cdae.value) vs popularity \(pop.value)")
    }
}
