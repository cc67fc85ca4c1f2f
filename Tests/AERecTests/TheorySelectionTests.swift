import AERecKernels
import Foundation
import Testing
@testable import AERec

enum SelectionFixtures {
    /// A synthetic implicit dataset with structure: users belong to one of `groups` taste groups
    /// and pick mostly from their group's items.
    static func clustered(users: Int, items: Int, groups: Int, perUser: Int, seed: UInt64) throws -> Interactions {
        var u: [Int32] = [], i: [Int32] = []
        for user in 0..<users {
            let g = user % groups
            var chosen = Set<Int>()
            var c: UInt64 = 0
            while chosen.count < perUser {
                let inGroup = aek_uniform(seed, 1, UInt64(user) << 20 | c) < 0.85
                let h = aek_hash64(seed, 2, UInt64(user) << 20 | c)
                let item = inGroup ? (g * (items / groups) + Int(h % UInt64(items / groups))) : Int(h % UInt64(items))
                chosen.insert(item)
                c += 1
            }
            for item in chosen.sorted() { u.append(Int32(user)); i.append(Int32(item)) }
        }
        return Interactions(users: u, items: i, values: [Float](repeating: 1, count: u.count), timestamps: nil,
                            userIDs: try IDMap(ids: (0..<users).map { "u\($0)" }),
                            itemIDs: try IDMap(ids: (0..<items).map { "i\($0)" }))
    }
}

@Suite("Theory: activation selection")
struct ActivationSelectionTests {
    @Test("a small selection run: equal budgets, per-activation reports, recommendation, JSON/Markdown/SVG")
    func smallRun() throws {
        let data = try SelectionFixtures.clustered(users: 160, items: 60, groups: 4, perUser: 10, seed: 5)
        let split = try makeSplit(data, .strong(heldOutUsers: 25, seed: 3))
        var base = ExperimentConfiguration(dataPath: "", model: .multDAE)
        base.latent = 12
        base.epochs = 4
        base.batchSize = 50
        base.threads = 1
        var sel = ActivationSelection(model: .multDAE, candidates: [.sigmoid, .tanh, .relu], learningRates: [1e-3, 1e-2],
                                      regularizations: [0.01], seeds: [1, 2], tuningSeed: 1, base: base,
                                      probe: PropertyProbe(samples: 300, users: 100, anchors: 10, candidates: 20,
                                                           neighbours: 5, itemProbes: 60, threads: 1))
        sel.significanceLevel = 0.05
        var seen: [SelectionProgress] = []
        let report = try sel.run(on: split) { seen.append($0) }
        // equal budget: 2 grid runs + 1 extra seed per activation, progress after each trained run
        #expect(sel.runsPerCandidate == 3)
        #expect(seen.count == 9 && seen.last?.completed == 9 && seen.allSatisfy { $0.total == 9 })
        #expect(seen.filter { $0.phase == .tuning }.count == 6)
        for a in sel.candidates {
            #expect(seen.filter { $0.activation == a }.count == 3)
            #expect(report.grids[a.name]?.count == 2)
        }
        #expect(report.runs.count == 6)
        #expect(report.runs.filter(\.reusedTuningRun).count == 3)
        // summaries: family, verdict, chosen point = the best grid point on validation
        #expect(report.activations.map(\.activation) == [.sigmoid, .tanh, .relu])
        for s in report.activations {
            #expect(s.family == s.activation.family && s.theoryVerdict == s.family.verdict)
            let grid = report.grids[s.activation.name]!
            let best = grid.max { $0.validation < $1.validation }!
            #expect(s.chosenLearningRate == best.learningRate)
            #expect(s.validation["ndcg@100"]!.acrossSeeds.n == 2)
            #expect(s.test["recall@20"]!.acrossUsers!.n == split.test.count)
            #expect(s.probes.runs == 2)
        }
        // the reused tuning run's validation equals its grid point's value
        for run in report.runs where run.reusedTuningRun {
            let point = report.grids[run.activation.name]!.first { $0.learningRate == run.learningRate }!
            #expect(abs(run.validation["ndcg@100"]! - point.validation) < 1e-12)
        }
        // recommendation consistent with the rule
        let c = try #require(report.comparison)
        #expect(c.bestSigmoidLike == .sigmoid)
        let measured = report.activations.max { $0.validation["ndcg@100"]!.acrossSeeds.value < $1.validation["ndcg@100"]!.acrossSeeds.value }!
        #expect(report.recommendation.measuredBest == measured.activation)
        switch report.recommendation.basis {
        case .both: #expect(report.recommendation.activation == .sigmoid)
        case .theory: #expect(report.recommendation.activation == .sigmoid && c.validationTTest.pValue >= 0.05)
        case .measurement: #expect(report.recommendation.activation == measured.activation && c.validationTTest.pValue < 0.05)
        case .measurementOnly: Issue.record("there is a sigmoid-like candidate")
        }
        // outputs
        let json = try report.json()
        let back = try SelectionReport.decode(json: json)
        #expect(back.recommendation == report.recommendation && back.runs.count == 6)
        let md = report.markdown()
        #expect(md.contains("| sigmoid | sigmoid-like | viable |") && md.contains("**Recommendation:"))
        let svg = report.svg()
        #expect(svg.hasPrefix("<svg") && svg.contains("#1b9e77") && svg.contains("#d95f02") && svg.hasSuffix("</svg>\n"))
    }

    @Test("recommendation rule: both / theory / measurement")
    func recommendationRule() throws {
        func summary(_ a: Activation, _ v: Double) -> ActivationSummary {
            let e = Estimate(value: v, low: v, high: v, n: 3)
            return ActivationSummary(activation: a, family: a.family, theoryVerdict: a.family.verdict, theoryReason: "",
                                     chosenLearningRate: 1e-3, chosenRegularization: 0,
                                     validation: ["ndcg@100": MetricSummary(acrossSeeds: e, acrossUsers: e)], test: [:],
                                     probes: ProbeSummary([]), trainSecondsPerRun: e, tuningSeconds: 0, meanEpochsRun: 1)
        }
        func comparison(p: Double) -> FamilyComparison {
            var t = Statistics.pairedTTest([1, 2, 3], [0, 2, 3])
            t.pValue = p
            let w = Statistics.wilcoxonSignedRank([1, 2], [0, 1])
            return FamilyComparison(metric: "ndcg@100", higherIsBetter: true, bestSigmoidLike: .sigmoid,
                                    bestOther: .relu, validationTTest: t, validationWilcoxon: w, testTTest: t,
                                    testWilcoxon: w)
        }
        let value = { (s: ActivationSummary) in s.validation["ndcg@100"]!.acrossSeeds.value }
        let sig = summary(.sigmoid, 0.40), relu = summary(.relu, 0.41)
        let both = SelectionReport.recommend(measured: summary(.sigmoid, 0.42), sig: sig, comparison: comparison(p: 0.5),
                                             key: .ndcg(100), alpha: 0.05, value: value)
        #expect(both.basis == .both && both.activation == .sigmoid && both.theoryAgrees)
        let theory = SelectionReport.recommend(measured: relu, sig: sig, comparison: comparison(p: 0.2), key: .ndcg(100),
                                               alpha: 0.05, value: value)
        #expect(theory.basis == .theory && theory.activation == .sigmoid && theory.measuredBest == .relu)
        let measured = SelectionReport.recommend(measured: relu, sig: sig, comparison: comparison(p: 0.01),
                                                 key: .ndcg(100), alpha: 0.05, value: value)
        #expect(measured.basis == .measurement && measured.activation == .relu && !measured.theoryAgrees)
        let alone = SelectionReport.recommend(measured: relu, sig: nil, comparison: nil, key: .ndcg(100), alpha: 0.05,
                                              value: value)
        #expect(alone.basis == .measurementOnly)
        // lower-is-better metrics choose the minimum
        #expect(ActivationSelection.better(0.8, than: 0.9, .rmse) && !ActivationSelection.better(0.8, than: 0.9, .ndcg(10)))
    }

    @Test("argument errors: no validation users, duplicate seeds, non-autoencoder")
    func errors() throws {
        let data = try SelectionFixtures.clustered(users: 60, items: 30, groups: 3, perUser: 6, seed: 1)
        var split = try makeSplit(data, .strong(heldOutUsers: 10, seed: 1))
        var sel = ActivationSelection(model: .multDAE, seeds: [1, 1])
        #expect(throws: AERecError.self) { try sel.run(on: split) }
        sel.seeds = [1]
        split.validation = nil
        #expect(throws: AERecError.self) { try sel.run(on: split) }
        #expect(throws: AERecError.self) { try ActivationSelection(model: .ease).run(on: split) }
    }

    @Test("seed-averaged per-user values, and the SVG/chart helpers")
    func helpers() {
        #expect(SelectionReport.seedAveraged([[1, 2], [3, 4]]) == [2, 3])
        #expect(SelectionReport.seedAveraged([[1, 2], [3]]) == nil)
        let chart = IntervalChart(title: "t <&>", yLabel: "y", items: [
            .init(label: "sigmoid", value: 0.4, low: 0.39, high: 0.41, outerLow: 0.38, outerHigh: 0.42, family: .sigmoidLike),
            .init(label: "relu", value: 0.41, low: 0.40, high: 0.42, family: .reluLike),
        ])
        let svg = chart.svg()
        #expect(svg.contains("t &lt;&amp;&gt;") && svg.contains("#7570b3") && svg.contains("<circle"))
        let scatter = ScatterChart(title: "s", xLabel: "x", yLabel: "y",
                                   points: [.init(x: 1, y: 2, family: .tanhLike, label: "a")]).svg()
        #expect(scatter.contains("#d95f02"))
    }
}
