import AERecKernels
import Testing
@testable import AERec
#if canImport(Glibc)
import Glibc
#endif

@Suite("AutoRec")
struct AutoRecTests {
    /// 6 users × 5 items with ratings 1–5.
    static let tiny = AEModelFixtures.matrix(6, 5, [
        (0, 0, 5), (0, 2, 3), (0, 3, 4), (1, 1, 2), (1, 4, 1), (2, 0, 4), (2, 1, 3), (2, 2, 5), (2, 4, 2),
        (3, 3, 1), (4, 0, 2), (4, 2, 4), (4, 4, 5), (5, 1, 3), (5, 2, 2),
    ])

    /// AutoRec's objective on the sample rows `batch` of `samples` in float64: the mean over the rows of
    /// Σ_observed (W[c]·g(r V + μ) + b[c] − r_c)²; parameters in the model's order V (n×h), μ (h),
    /// W (n×h, by output unit), b (n).
    static func referenceLoss(_ p: [[Double]], h: Int, samples: InteractionMatrix, batch: [Int], f: Activation)
        -> Double {
        let (V, mu, W, b) = (p[0], p[1], p[2], p[3])
        var sse = 0.0
        for s in batch {
            let (cols, vals) = samples.row(s)
            let entries = zip(cols.map(Int.init), vals!.map(Double.init))
            var a = [Double](repeating: 0, count: h)
            for j in 0..<h {
                var z = mu[j]
                for (c, v) in entries { z += v * V[c * h + j] }
                a[j] = AEModelFixtures.activate(f, z)
            }
            for (c, v) in entries {
                var o = b[c]
                for j in 0..<h { o += a[j] * W[c * h + j] }
                sse += (o - v) * (o - v)
            }
        }
        return sse / Double(batch.count)
    }

    @Test("one training step: loss and every gradient match float64 finite differences; Adam applies λ/n to the touched rows",
          arguments: [(AutoRecOrientation.item, Activation.sigmoid), (.user, .sigmoid), (.item, .tanh), (.user, .softplus)])
    func gradientCheck(orientation: AutoRecOrientation, activation: Activation) throws {
        let h = 3, lambda: Float = 0.5
        let config = AutoRecConfiguration(orientation: orientation, hiddenDimension: h, latentActivation: activation,
                                          lambda: lambda)
        let model = try AutoRec(itemCount: 5, userCount: 6, configuration: config, seed: 21)
        AEModelFixtures.randomize(model.bOut, seed: 3, scale: 1)   // nonzero output biases
        AEModelFixtures.randomize(model.V, seed: 4, scale: 0.3)   // keep g(·) away from saturation
        let samples = orientation == .item ? Self.tiny.transposed() : Self.tiny
        let n = samples.rowCount, width = samples.columnCount
        let batch: [Int32] = orientation == .item ? [3, 0, 4] : [5, 2, 0, 3]
        let rows = batch.map(Int.init)
        let before = model.parameters.map(AEModelFixtures.values)
        let beforeFloats = model.parameters.map(AEModelFixtures.floats)
        let ref = { (p: [[Double]]) in Self.referenceLoss(p, h: h, samples: samples, batch: rows, f: activation) }

        try model.beginTraining(samples, trainRows: (0..<Int32(n)).map { $0 },
                                options: TrainingOptions(epochs: 1, batchSize: 8, seed: 5, threads: 1))
        defer { model.endTraining() }
        #expect(model.weightDecay == lambda / Float(n))
        let loss = try batch.withUnsafeBufferPointer { try model.computeGradients($0) }
        #expect(Swift.abs(loss / Double(rows.count) - ref(before)) < 1e-5 * max(1, ref(before)),
                "loss \(loss / Double(rows.count)) vs reference \(ref(before))")
        let fd = AEModelFixtures.finiteDifferences(before, loss: ref)
        for (p, want) in zip(model.parameters, fd) {
            AEModelFixtures.expectClose(AEModelFixtures.grads(p), want, "∂L/∂\(p.name) (\(orientation), \(activation))")
        }
        // the observed inputs/outputs of the batch are exactly the touched rows of V and W
        let present = Set(rows.flatMap { samples.row($0).columns.map(Int.init) })
        #expect(Set(model.V.touched[0..<model.V.touchedCount].map(Int.init)) == present)
        #expect(Set(model.W.touched[0..<model.W.touchedCount].map(Int.init)) == present)
        #expect(present.count < width || orientation == .user)

        let grads = model.parameters.map(AEModelFixtures.grads)
        _ = try batch.withUnsafeBufferPointer { try model.trainBatch($0, epoch: 1) }
        let wd = lambda / Float(n)
        let expected = [
            AEModelFixtures.adamFirstStep(theta: beforeFloats[0], grad: grads[0], decay: wd, cols: h, rows: present),
            AEModelFixtures.adamFirstStep(theta: beforeFloats[1], grad: grads[1], decay: 0, cols: h, rows: nil),
            AEModelFixtures.adamFirstStep(theta: beforeFloats[2], grad: grads[2], decay: wd, cols: h, rows: present),
            AEModelFixtures.adamFirstStep(theta: beforeFloats[3], grad: grads[3], decay: 0, cols: 1, rows: present),
        ]
        for (p, want) in zip(model.parameters, expected) {
            AEModelFixtures.expectClose(AEModelFixtures.floats(p), want, rel: 1e-5, abs: 1e-7, "step of \(p.name)")
        }
    }

    @Test("same seed and threads ⇒ bit-identical parameters; another seed differs", arguments: AutoRecOrientation.allCases)
    func determinism(orientation: AutoRecOrientation) throws {
        let train = AEModelFixtures.random(users: 90, items: 70, density: 0.15, seed: 12)
        let config = AutoRecConfiguration(orientation: orientation, hiddenDimension: 24, lambda: 1)
        func run(_ seed: UInt64) throws -> ([[UInt32]], [Double], [UInt32]) {
            let m = try AutoRec(itemCount: 70, userCount: 90, configuration: config)
            let h = try m.fit(train, options: TrainingOptions(epochs: 4, batchSize: 16, seed: seed, threads: 2,
                                                              earlyStoppingPatience: nil))
            let s = try AEModelFixtures.scores(m, train, trainRows: (0..<Int32(90)).map { $0 }, threads: 2)
            return (AEModelFixtures.bits(m.parameters), h.epochs.map(\.loss), s.map(\.bitPattern))
        }
        let a = try run(7), b = try run(7), c = try run(8)
        #expect(a.0 == b.0 && a.1 == b.1 && a.2 == b.2)
        #expect(a.0 != c.0)
        #expect(a.1.last! < a.1.first!, "loss should fall: \(a.1)")
    }

    @Test("I-AutoRec: the rating of (u, i) is output u of item i's reconstruction; predictRatings matches scores")
    func itemBasedSemantics() throws {
        let train = AEModelFixtures.random(users: 30, items: 20, density: 0.3, seed: 2)
        let model = try AutoRec(itemCount: 20, userCount: 30,
                                configuration: AutoRecConfiguration(hiddenDimension: 6, lambda: 1))
        try model.fit(train, options: TrainingOptions(epochs: 3, batchSize: 8, seed: 3, threads: 1))
        #expect(model.kind == .autoRecI && model.inputDimension == 30 && model.latentDimension == 6)
        // item codes from encode() on the items × users matrix
        let items = train.transposed()
        var codes = [Float](repeating: 0, count: 20 * 6)
        try codes.withUnsafeMutableBufferPointer {
            try model.encode(items, rows: 0..<20, into: $0.baseAddress!, ld: 6, threads: 1)
        }
        let users: [Int32] = [4, 0, 17, 29]
        let history = train.rows(users.map(Int.init))
        let scores = try AEModelFixtures.scores(model, history, trainRows: users)
        for (r, u) in users.enumerated() {
            for i in 0..<20 {
                var o = Double(model.bOut.value.p[Int(u)])
                for j in 0..<6 { o += Double(codes[i * 6 + j]) * Double(model.W.value.p[Int(u) * 6 + j]) }
                #expect(Swift.abs(Double(scores[r * 20 + i]) - o) < 1e-4)
            }
        }
        // predictions at some query entries: aligned, clipped scores
        let queries = AEModelFixtures.matrix(4, 20, [(0, 1, 3), (0, 19, 4), (1, 5, 1), (3, 0, 5), (3, 7, 2), (3, 8, 2)])
        let predicted = try model.predictRatings(history: history, queries: queries, trainRows: users, threads: 1)
        #expect(predicted.count == queries.nnz)
        let range = try #require(model.ratingRange)
        for r in 0..<4 {
            for k in Int(queries.indptr[r])..<Int(queries.indptr[r + 1]) {
                let s = scores[r * 20 + Int(queries.indices[k])]
                #expect(predicted[k] == min(max(s, range.lowerBound), range.upperBound))
            }
        }
        // users without a training row cannot be scored
        #expect(throws: AERecError.self) { _ = try AEModelFixtures.scores(model, history, trainRows: [0, -1, 2, 3]) }
        #expect(throws: AERecError.self) { _ = try AEModelFixtures.scores(model, history, trainRows: nil) }
        #expect(throws: AERecError.self) {
            _ = try model.predictRatings(history: history, queries: queries, trainRows: [0, 1, 2, 30], threads: 1)
        }
    }

    @Test("U-AutoRec: reconstructs the given history (any user); predictRatings is aligned with the queries")
    func userBasedSemantics() throws {
        let train = AEModelFixtures.random(users: 30, items: 20, density: 0.3, seed: 4)
        let model = try AutoRec(itemCount: 20, userCount: 30,
                                configuration: AutoRecConfiguration(orientation: .user, hiddenDimension: 5, lambda: 1))
        try model.fit(train, options: TrainingOptions(epochs: 3, batchSize: 8, seed: 3, threads: 1))
        #expect(model.kind == .autoRecU && model.inputDimension == 20)
        // a new user (no training row): scores from the history alone
        let newUser = AEModelFixtures.matrix(1, 20, [(0, 2, 5), (0, 3, 1), (0, 11, 4)])
        let s = try AEModelFixtures.scores(model, newUser, trainRows: nil)
        #expect(s == (try AEModelFixtures.scores(model, newUser, trainRows: [-1])))
        var a = [Float](repeating: 0, count: 5)
        try a.withUnsafeMutableBufferPointer { try model.encode(newUser, rows: 0..<1, into: $0.baseAddress!, ld: 5, threads: 1) }
        for i in 0..<20 {
            var o = Double(model.bOut.value.p[i])
            for j in 0..<5 { o += Double(a[j]) * Double(model.W.value.p[i * 5 + j]) }
            #expect(Swift.abs(Double(s[i]) - o) < 1e-4)
        }
        let queries = AEModelFixtures.matrix(1, 20, [(0, 0, 3), (0, 9, 4), (0, 19, 1)])
        let p = try model.predictRatings(history: newUser, queries: queries, trainRows: nil, threads: 1)
        #expect(p.count == 3)
        for (k, i) in [0, 9, 19].enumerated() { #expect(p[k] == min(max(s[i], 1), 5)) }
        #expect(throws: AERecError.self) {
            _ = try model.predictRatings(history: train.rows([0, 1]), queries: queries, trainRows: nil, threads: 1)
        }
    }

    @Test("save → load round trip: identical scores and predictions", arguments: AutoRecOrientation.allCases)
    func roundTrip(orientation: AutoRecOrientation) throws {
        let train = AEModelFixtures.random(users: 25, items: 15, density: 0.3, seed: 9)
        let model = try AutoRec(itemCount: 15, userCount: 25,
                                configuration: AutoRecConfiguration(orientation: orientation, hiddenDimension: 7,
                                                                    latentActivation: .elu, lambda: 2))
        try model.fit(train, options: TrainingOptions(epochs: 2, batchSize: 10, seed: 1, threads: 1))
        let path = AEModelFixtures.tempPath("autorec.aerec")
        try model.save(to: path)
        let loaded = try AutoRec.load(from: path)
        let any = try AnyModel.load(path: path)
        #expect(any.kind == model.kind && loaded.kind == model.kind)
        #expect(loaded.configuration == model.configuration && loaded.ratingRange == model.ratingRange)
        let rows = (0..<Int32(25)).map { $0 }
        let a = try AEModelFixtures.scores(model, train, trainRows: rows)
        #expect(a.map(\.bitPattern) == (try AEModelFixtures.scores(loaded, train, trainRows: rows)).map(\.bitPattern))
        #expect(a.map(\.bitPattern) == (try AEModelFixtures.scores(any, train, trainRows: rows)).map(\.bitPattern))
        let p1 = try model.predictRatings(history: train, queries: train, trainRows: rows, threads: 1)
        let p2 = try loaded.predictRatings(history: train, queries: train, trainRows: rows, threads: 1)
        #expect(p1.map(\.bitPattern) == p2.map(\.bitPattern) && p1.count == train.nnz)
        #expect(try loaded.modelState() == model.modelState())
    }

    @Test("configuration checks and the factory's mapping")
    func configuration() throws {
        #expect(throws: AERecError.self) { _ = try AutoRec(itemCount: 5, userCount: 0) }
        #expect(throws: AERecError.self) { _ = try AutoRec(itemCount: 5, userCount: 3, configuration: .init(lambda: -1)) }
        let model = try AutoRec(itemCount: 5, userCount: 4, configuration: .init(hiddenDimension: 3))
        #expect(throws: AERecError.self) { try model.fit(Self.tiny) }   // 6 users, I-AutoRec for 4
        // the code must be narrower than the input (P1): I-AutoRec's input is the training users
        #expect(throws: AERecError.self) { _ = try AutoRec(itemCount: 50, userCount: 4, configuration: .init(hiddenDimension: 4)) }
        #expect(throws: AERecError.self) {
            _ = try AutoRec(itemCount: 4, userCount: 50, configuration: .init(orientation: .user, hiddenDimension: 4))
        }
        var config = ExperimentConfiguration(dataPath: "-", model: .autoRecU)
        config.hidden = 50; config.activation = .relu; config.lambda = 3; config.learningRate = 0.005
        let made = try #require(try ModelFactory.make(config, itemCount: 60, userCount: 60, batchesPerEpoch: 1) as? AutoRec)
        #expect(made.configuration == AutoRecConfiguration(orientation: .user, hiddenDimension: 50, latentActivation: .relu,
                                                           lambda: 3, optimizer: AdamConfiguration(learningRate: 0.005)))
        config.model = .autoRecI
        #expect((try ModelFactory.make(config, itemCount: 60, userCount: 60, batchesPerEpoch: 1)).kind == .autoRecI)
        config.dropout = 0.5
        #expect(throws: AERecError.self) { _ = try ModelFactory.make(config, itemCount: 5, userCount: 6, batchesPerEpoch: 1) }
    }

    /// Global mean + damped user and item biases (Koren 2010: item damping 25, user damping 10),
    /// clipped to [1, 5], evaluated on the test targets.
    static func biasedBaselineRMSE(_ split: Split) -> Double {
        let train = split.train
        var sum = 0.0
        for k in 0..<train.nnz { sum += Double(train.value(at: k)) }
        let mean = sum / Double(train.nnz)
        var itemSum = [Double](repeating: 0, count: train.columnCount), itemN = itemSum
        for k in 0..<train.nnz {
            itemSum[Int(train.indices[k])] += Double(train.value(at: k)) - mean
            itemN[Int(train.indices[k])] += 1
        }
        let bi = (0..<train.columnCount).map { itemSum[$0] / (25 + itemN[$0]) }
        var bu = [Double](repeating: 0, count: train.rowCount)
        for u in 0..<train.rowCount {
            let (c, v) = train.row(u)
            var s = 0.0
            for (i, r) in zip(c, v!) { s += Double(r) - mean - bi[Int(i)] }
            bu[u] = s / (10 + Double(c.count))
        }
        var se = 0.0, n = 0
        let test = split.test
        for r in 0..<test.count {
            let u = Int(test.trainRows[r])
            let (c, v) = test.target.row(r)
            for (i, y) in zip(c, v!) {
                let p = min(max(mean + bu[u] + bi[Int(i)], 1), 5)
                se += (p - Double(y)) * (p - Double(y)); n += 1
            }
        }
        return (se / Double(n)).squareRoot()
    }

    @Test("ml-100k (explicit 80/10/10): I-AutoRec's test RMSE beats global mean + user/item biases")
    func movieLens() throws {
        guard let path = DataFixtures.sharedData("ml-100k/ratings.tsv.gz") else {
            Issue.record("SKIPPED (data missing): ../shared/data/ml-100k/ratings.tsv.gz not found relative to the package root")
            return
        }
        let data = try InteractionReader.read(path: path)
        let split = try makeSplit(data, .explicit(testFraction: 0.1, validationFraction: 0.1, seed: 98765))
        let model = try AutoRec(itemCount: split.train.columnCount, userCount: split.train.rowCount)
        // default options: NDCG validation is replaced by RMSE for a rating model
        let history = try model.fit(split.train, validation: split.validation,
                                    options: TrainingOptions(epochs: 35, batchSize: 500, seed: 98765, threads: 2,
                                                             earlyStoppingPatience: 8))
        let result = try Evaluator(metrics: [.rmse, .mae], threads: 2).evaluate(model, on: split.test)
        let rmse = result[.rmse]!.value, baseline = Self.biasedBaselineRMSE(split)
        print("ml-100k explicit: I-AutoRec test RMSE \(rmse) (MAE \(result[.mae]!.value), best epoch "
              + "\(history.bestEpoch) of \(history.epochs.count), validation RMSE \(history.bestValidation ?? .nan)); "
              + "biased baseline \(baseline)")
        #expect(history.bestValidation! < 1.5, "validation is RMSE")
        #expect(rmse < baseline - 0.01, "I-AutoRec \(rmse) vs biased baseline \(baseline)")
    }
}
