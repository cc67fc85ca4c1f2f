import Testing
@testable import AERec

/// Mult-DAE and Mult-VAE: gradients, determinism, persistence, early stopping.
@Suite("Mult-DAE and Mult-VAE")
struct AutoencoderModelTests {
    /// A small random binary users × items matrix (every row non-empty).
    static func matrix(users: Int, items: Int, density: Double, seed: UInt64) throws -> InteractionMatrix {
        var rows: [Int32] = [], cols: [Int32] = []
        var s = seed
        for u in 0..<users {
            var any = false
            for i in 0..<items {
                s = s &* 6364136223846793005 &+ 1442695040888963407
                if Double(s >> 11) / Double(1 << 53) < density || (!any && i == items - 1) {
                    rows.append(Int32(u)); cols.append(Int32(i)); any = true
                }
            }
        }
        return try InteractionMatrix(rowCount: users, columnCount: items, rows: rows, columns: cols, values: nil)
    }

    /// Central finite differences of the batch loss against the analytic gradient, on every
    /// parameter (all entries of small tensors; the rows of present items for the sparse layer).
    static func gradientCheck(_ model: some GradientTrainable, parameters: [Parameter], train: InteractionMatrix,
                              epoch: Int = 1, computeGradients: (UnsafeBufferPointer<Int32>) throws -> Double) throws {
        let rows = (0..<Int32(train.rowCount)).map { $0 }
        try rows.withUnsafeBufferPointer { r in
            _ = try computeGradients(r)
            let grads = parameters.map { $0.grad!.array }
            let present = Set(train.indices.map(Int.init))
            var checked = 0, worst = 0.0
            for (pi, p) in parameters.enumerated() {
                for idx in 0..<p.count {
                    if p.lazyRows && !present.contains(idx / p.cols) { continue }
                    let h: Float = 2e-3
                    let saved = p.value.p[idx]
                    p.value.p[idx] = saved + h
                    let up = try computeGradients(r) / Double(r.count)
                    p.value.p[idx] = saved - h
                    let down = try computeGradients(r) / Double(r.count)
                    p.value.p[idx] = saved
                    let numeric = (up - down) / Double(2 * h)
                    let analytic = Double(grads[pi][idx])
                    let err = abs(numeric - analytic) / max(1e-2, abs(numeric) + abs(analytic))
                    worst = max(worst, err)
                    #expect(err < 0.05, "\(p.name)[\(idx)]: numeric \(numeric) analytic \(analytic)")
                    checked += 1
                }
            }
            #expect(checked > 50)
            #expect(worst < 0.05)
        }
    }

    @Test("Mult-DAE gradients match finite differences", arguments: [Activation.tanh, .sigmoid, .relu, .atan01])
    func daeGradients(_ act: Activation) throws {
        let train = try Self.matrix(users: 7, items: 9, density: 0.35, seed: 3)
        let model = try MultDAE(itemCount: 9, configuration: .init(latentDimension: 4, latentActivation: act,
                                                                   dropout: 0.3, l2: 0))
        try model.beginTraining(train, trainRows: [], options: TrainingOptions(batchSize: 7, threads: 1))
        defer { model.endTraining() }
        try Self.gradientCheck(model, parameters: model.parameters, train: train) {
            try model.computeGradients($0, epoch: 1)
        }
    }

    @Test("ExperimentConfiguration.betaCap reaches Mult-VAE (annealed over 80 % of the run) and only Mult-VAE")
    func experimentBetaCap() throws {
        var c = ExperimentConfiguration(dataPath: "-", model: .multVAE)
        c.epochs = 10; c.hidden = 8; c.latent = 4
        func vae() throws -> MultVAEConfiguration {
            try #require(try ModelFactory.make(c, itemCount: 20, userCount: 30, batchesPerEpoch: 4) as? MultVAE).configuration
        }
        #expect(try vae().betaCap == 0.2 && vae().annealSteps == 160)   // 40 updates · 0.8 / 0.2
        c.betaCap = 0.5
        #expect(try vae().betaCap == 0.5 && vae().annealSteps == 64)    // 40 · 0.8 / 0.5
        c.annealSteps = 7
        #expect(try vae().annealSteps == 7)
        c.annealSteps = nil; c.betaCap = 0
        #expect(try vae().betaCap == 0 && vae().annealSteps == 0)
        c.betaCap = .nan
        #expect(throws: AERecError.self) { try ModelFactory.validate(c) }
        c.model = .multDAE; c.betaCap = 0.5
        #expect(throws: AERecError.self) { try ModelFactory.validate(c) }
        #expect(throws: AERecError.self) { try ModelFactory.make(c, itemCount: 20, userCount: 30, batchesPerEpoch: 4) }
        c.betaCap = nil
        #expect(try ModelFactory.make(c, itemCount: 20, userCount: 30, batchesPerEpoch: 4) is MultDAE)
    }

    @Test("Mult-VAE gradients (likelihood + β·KL through the reparameterisation) match finite differences")
    func vaeGradients() throws {
        let train = try Self.matrix(users: 6, items: 8, density: 0.4, seed: 5)
        let model = try MultVAE(itemCount: 8, configuration: .init(hiddenDimension: 5, latentDimension: 3,
                                                                   latentActivation: .sigmoid, dropout: 0.2,
                                                                   betaCap: 0.5, annealSteps: 0))
        try model.beginTraining(train, trainRows: [], options: TrainingOptions(batchSize: 6, threads: 1))
        defer { model.endTraining() }
        #expect(model.beta == 0.5)
        try Self.gradientCheck(model, parameters: model.parameters, train: train) {
            try model.computeGradients($0, epoch: 2)
        }
    }

    static func scores(_ m: some Recommender, _ x: InteractionMatrix) throws -> [Float] {
        var out = [Float](repeating: 0, count: x.rowCount * m.itemCount)
        try out.withUnsafeMutableBufferPointer {
            try m.scores(for: x, rows: 0..<x.rowCount, trainRows: nil, into: $0.baseAddress!, ld: m.itemCount, threads: 2)
        }
        return out
    }

    @Test("same seed and threads give bit-identical models; another seed differs")
    func determinism() throws {
        let train = try Self.matrix(users: 60, items: 40, density: 0.2, seed: 11)
        func run(_ seed: UInt64, threads: Int) throws -> ([Float], [Float]) {
            let dae = try MultDAE(itemCount: 40, configuration: .init(latentDimension: 8))
            try dae.fit(train, options: .init(epochs: 3, batchSize: 16, seed: seed, threads: threads))
            let vae = try MultVAE(itemCount: 40, configuration: .init(hiddenDimension: 12, latentDimension: 6, annealSteps: 10))
            try vae.fit(train, options: .init(epochs: 3, batchSize: 16, seed: seed, threads: threads))
            return (dae.W1.value.array + dae.W2.value.array, vae.parameters.flatMap { $0.value.array })
        }
        let a = try run(7, threads: 2), b = try run(7, threads: 2), c = try run(8, threads: 2)
        #expect(a.0 == b.0)
        #expect(a.1 == b.1)
        #expect(a.0 != c.0)
        #expect(a.1 != c.1)
    }

    @Test("the fused output-layer update (bias in the likelihood, gradient and Adam block by block) gives the unfused bits")
    func fusedUpdateIsBitIdentical() throws {
        // more items than one fused block holds, so the update really runs block by block
        let items = decoderBlockFloats / 12 + 37
        let train = try Self.matrix(users: 40, items: items, density: 0.004, seed: 5)
        let options = TrainingOptions(epochs: 1, batchSize: 16, seed: 3, threads: 2)
        // batches of 16, 16, 8, then 16 again (a shorter batch between full ones); modes per batch:
        // unfused, fused, and a mix (an unfused batch leaves logits rows a later fused one must not trust)
        let spans = [(0, 16), (16, 32), (32, 40), (0, 16)]
        let modes: [[Bool]] = [[false, false, false, false], [true, true, true, true], [true, false, true, true]]
        func batches(_ model: some GradientTrainable, modes: [Bool],
                     step: (UnsafeBufferPointer<Int32>, Bool) throws -> Void) throws {
            try model.beginTraining(train, trainRows: [], options: options)
            let rows = (0..<Int32(train.rowCount)).map { $0 }
            try rows.withUnsafeBufferPointer { r in
                for ((lo, hi), fused) in zip(spans, modes) { try step(UnsafeBufferPointer(rebasing: r[lo..<hi]), fused) }
            }
        }
        for useDAE in [true, false] {
            var results: [[Float]] = []
            var losses: [[Double]] = []
            for mode in modes {
                var l: [Double] = []
                if useDAE {
                    let m = try MultDAE(itemCount: items, configuration: .init(latentDimension: 12, l2: 0.01))
                    try batches(m, modes: mode) { r, f in
                        l.append(try m.computeGradients(r, epoch: 1, fusedUpdate: f))
                        try m.applyUpdate(fusedUpdate: f)
                    }
                    results.append(m.parameters.flatMap { $0.value.array })
                    m.endTraining()
                } else {
                    let m = try MultVAE(itemCount: items, configuration: .init(hiddenDimension: 12, latentDimension: 5))
                    try batches(m, modes: mode) { r, f in
                        l.append(try m.computeGradients(r, epoch: 1, fusedUpdate: f))
                        try m.applyUpdate(fusedUpdate: f)
                    }
                    results.append(m.parameters.flatMap { $0.value.array })
                    m.endTraining()
                }
                losses.append(l)
            }
            let name = useDAE ? "Mult-DAE" : "Mult-VAE"
            for k in 1..<modes.count {
                #expect(losses[k] == losses[0], "\(name) losses, modes \(modes[k])")
                #expect(results[k].map(\.bitPattern) == results[0].map(\.bitPattern), "\(name) weights, modes \(modes[k])")
            }
        }
    }

    @Test("save and load give identical scores and codes")
    func persistence() throws {
        let train = try Self.matrix(users: 30, items: 25, density: 0.25, seed: 2)
        let dir = "/tmp/aerec-test-\(getpid())-models"
        try? makeTestDirectory(dir)
        let dae = try MultDAE(itemCount: 25, configuration: .init(latentDimension: 5, latentActivation: .softsign01))
        try dae.fit(train, options: .init(epochs: 2, batchSize: 8))
        try dae.save(to: dir + "/dae.aerec")
        let dae2 = try MultDAE.load(from: dir + "/dae.aerec")
        #expect(dae2.latentActivation == .softsign01)
        #expect(try Self.scores(dae, train) == Self.scores(dae2, train))
        let vae = try MultVAE(itemCount: 25, configuration: .init(hiddenDimension: 7, latentDimension: 3))
        try vae.fit(train, options: .init(epochs: 2, batchSize: 8))
        try vae.save(to: dir + "/vae.aerec")
        let any = try AnyModel.load(path: dir + "/vae.aerec")
        #expect(any.kind == .multVAE)
        #expect(try Self.scores(vae, train) == Self.scores(any, train))
    }

    @Test("early stopping restores the best epoch; the callback can stop training")
    func earlyStopping() throws {
        let train = try Self.matrix(users: 80, items: 30, density: 0.2, seed: 9)
        let heldOut = HeldOutSet(users: Array(0..<20), trainRows: Array(repeating: -1, count: 20),
                                 foldIn: train.rows(Array(0..<20)), target: try Self.matrix(users: 20, items: 30, density: 0.1, seed: 4))
        let model = try MultDAE(itemCount: 30, configuration: .init(latentDimension: 6))
        var seen: [EpochReport] = []
        let h = try model.fit(train, validation: heldOut, options: .init(epochs: 30, batchSize: 16, earlyStoppingPatience: 3)) {
            seen.append($0); return .proceed
        }
        #expect(h.epochs.count == seen.count)
        let best = h.epochs.max { ($0.validation ?? -1) < ($1.validation ?? -1) }!
        #expect(h.bestEpoch == best.epoch)
        // the model holds the best epoch's weights: re-validating gives the best value
        let v = try Evaluator(metrics: [.ndcg(100)], threads: 2).evaluate(model, on: heldOut)[.ndcg(100)]!.value
        #expect(abs(v - best.validation!) < 1e-9)
        if h.stoppedEarly { #expect(h.epochs.count - h.bestEpoch == 3) }
        let stopped = try model.fit(train, validation: heldOut, options: .init(epochs: 30, batchSize: 16)) { r in
            r.epoch == 2 ? .stop : .proceed
        }
        #expect(stopped.epochs.count == 2 && stopped.stoppedByCallback)
    }

    @Test("dense (non-lazy) Adam trains too, and differs from lazy Adam")
    func denseAdam() throws {
        let train = try Self.matrix(users: 40, items: 30, density: 0.2, seed: 13)
        var cfg = MultDAEConfiguration(latentDimension: 6)
        let lazy = try MultDAE(itemCount: 30, configuration: cfg)
        let hl = try lazy.fit(train, options: .init(epochs: 5, batchSize: 10))
        cfg.optimizer.lazy = false
        let dense = try MultDAE(itemCount: 30, configuration: cfg)
        let hd = try dense.fit(train, options: .init(epochs: 5, batchSize: 10))
        #expect(hd.epochs.last!.loss < hd.epochs.first!.loss)
        #expect(hl.epochs.last!.loss < hl.epochs.first!.loss)
        #expect(lazy.W1.value.array != dense.W1.value.array)
    }

    @Test("bad configurations are rejected with a clear message")
    func badConfigurations() {
        #expect(throws: AERecError.self) { try MultDAE(itemCount: 0) }
        #expect(throws: AERecError.self) { try MultDAE(itemCount: 5, configuration: .init(dropout: 1)) }
        #expect(throws: AERecError.self) { try MultVAE(itemCount: 5, configuration: .init(latentDimension: 0)) }
        #expect(throws: AERecError.self) {
            try MultDAE(itemCount: 5).fit(try Self.matrix(users: 3, items: 6, density: 0.5, seed: 1))
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

func makeTestDirectory(_ path: String) throws {
    if mkdir(path, 0o755) != 0 && errno != EEXIST { throw AERecError.io(path: path, message: "mkdir failed") }
}
