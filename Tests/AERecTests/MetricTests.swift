import Foundation
import Testing
@testable import AERec

// Hand-computed checks of every metric, the confidence intervals and the Evaluator pipeline.
// Notation: rel_i = 1 when the item at rank i (1-based) is a target item; gains 1/log2(i + 1).

private func close(_ a: Double?, _ b: Double, _ tol: Double = 1e-12) -> Bool {
    guard let a else { return false }
    return abs(a - b) <= tol
}

/// 1 / log2(i + 1), the DCG gain of rank i.
private func g(_ rank: Int) -> Double { 1 / log2(Double(rank + 1)) }

/// Value of one metric for one user through the pure function.
private func single(_ m: Metric, ranked: [Int], target: [Int], items: Int = 10) throws -> Double {
    let r = try Evaluator.evaluate(rankings: [ranked], targets: [target], itemCount: items, metrics: [m])
    return r[m]!.value
}

@Suite("Metric names")
struct MetricNameTests {
    @Test("name and init(name:) round-trip for every metric")
    func roundTrip() throws {
        let all: [Metric] = [.recall(20), .recallUncapped(20), .ndcg(100), .precision(5), .hitRate(10), .map(10), .mrr,
                             .coverage(100), .rmse, .mae]
        let names = ["recall@20", "recall_uncapped@20", "ndcg@100", "precision@5", "hit_rate@10", "map@10", "mrr",
                     "coverage@100", "rmse", "mae"]
        #expect(all.map(\.name) == names)
        for m in all { #expect(try Metric(name: m.name) == m) }
    }

    @Test("case, separators and aliases")
    func aliases() throws {
        #expect(try Metric(name: "NDCG@100") == .ndcg(100))
        #expect(try Metric(name: "recall-uncapped@20") == .recallUncapped(20))
        #expect(try Metric(name: "hr@10") == .hitRate(10))
        #expect(try Metric(name: "hitrate@10") == .hitRate(10))
        #expect(try Metric(name: " mrr ") == .mrr)
    }

    @Test("bad names: did-you-mean, missing or superfluous cut-off")
    func errors() {
        do {
            _ = try Metric(name: "ndgc@10")
            Issue.record("ndgc@10 parsed")
        } catch {
            #expect("\(error)".contains("did you mean 'ndcg'"), "\(error)")
        }
        #expect(throws: AERecError.self) { try Metric(name: "ndcg") }
        #expect(throws: AERecError.self) { try Metric(name: "ndcg@0") }
        #expect(throws: AERecError.self) { try Metric(name: "ndcg@x") }
        #expect(throws: AERecError.self) { try Metric(name: "mrr@10") }
        #expect(throws: AERecError.self) { try Metric(name: "rmse@5") }
        #expect(throws: AERecError.self) { try Evaluator.evaluate(rankings: [[1]], targets: [[1]], itemCount: 3,
                                                                  metrics: [.ndcg(0)]) }
    }
}

@Suite("Ranking metrics, hand-computed")
struct RankingMetricTests {
    // ranked [3, 1, 7, 2], target T = {1, 2, 9}, |T| = 3  →  rel = [0, 1, 0, 1]

    @Test("k = 2: one hit at rank 2")
    func kTwo() throws {
        let r = [3, 1, 7, 2], t = [1, 2, 9]
        // hits@2 = 1
        #expect(close(try single(.recall(2), ranked: r, target: t), 1.0 / 2))          // 1 / min(2, 3)
        #expect(close(try single(.recallUncapped(2), ranked: r, target: t), 1.0 / 3))  // 1 / |T|
        #expect(close(try single(.precision(2), ranked: r, target: t), 1.0 / 2))       // 1 / k
        #expect(close(try single(.hitRate(2), ranked: r, target: t), 1))
        // DCG = 1/log2(3); IDCG over min(2, 3) = 2 ranks = 1 + 1/log2(3)
        #expect(close(try single(.ndcg(2), ranked: r, target: t), (1 / log2(3.0)) / (1 + 1 / log2(3.0))))
        // AP@2 = P@2 · rel_2 / min(2, 3) = (1/2) / 2
        #expect(close(try single(.map(2), ranked: r, target: t), 1.0 / 4))
        // Metric.value gives the same
        #expect(close(Metric.ndcg(2).value(ranked: r, target: Set(t)), (1 / log2(3.0)) / (1 + 1 / log2(3.0))))
        #expect(close(Metric.recall(2).value(ranked: r, target: Set(t)), 1.0 / 2))
    }

    @Test("k = 4: hits at ranks 2 and 4")
    func kFour() throws {
        let r = [3, 1, 7, 2], t = [1, 2, 9]
        #expect(close(try single(.recall(4), ranked: r, target: t), 2.0 / 3))          // 2 / min(4, 3)
        #expect(close(try single(.recallUncapped(4), ranked: r, target: t), 2.0 / 3))  // 2 / 3
        #expect(close(try single(.precision(4), ranked: r, target: t), 2.0 / 4))
        #expect(close(try single(.hitRate(4), ranked: r, target: t), 1))
        // DCG = 1/log2(3) + 1/log2(5); IDCG over min(4, 3) = 3 ranks = 1 + 1/log2(3) + 1/log2(4)
        let ndcg = (1 / log2(3.0) + 1 / log2(5.0)) / (1 + 1 / log2(3.0) + 0.5)
        #expect(close(try single(.ndcg(4), ranked: r, target: t), ndcg))
        // AP@4 = (P@2 + P@4) / min(4, 3) = (1/2 + 2/4) / 3 = 1/3
        #expect(close(try single(.map(4), ranked: r, target: t), 1.0 / 3))
        // first relevant item at rank 2
        #expect(close(try single(.mrr, ranked: r, target: t), 1.0 / 2))
        #expect(close(Metric.mrr.value(ranked: r, target: Set(t)), 1.0 / 2))
        #expect(Metric.coverage(4).value(ranked: r, target: Set(t)) == nil)
        #expect(Metric.ndcg(4).value(ranked: r, target: []) == nil)
    }

    @Test("the two recall forms differ when |T| > k")
    func recallForms() throws {
        // ranked [1, 2, 3, ...], T = {1, 2, 5, 6, 8}: both top-2 items hit
        let r = [1, 2, 3, 4, 0], t = [1, 2, 5, 6, 8]
        #expect(close(try single(.recall(2), ranked: r, target: t), 1))                // 2 / min(2, 5)
        #expect(close(try single(.recallUncapped(2), ranked: r, target: t), 2.0 / 5))  // 2 / 5
        // ndcg@2 = 1 (both ideal ranks filled); map@2 = (1/1 + 2/2) / 2 = 1
        #expect(close(try single(.ndcg(2), ranked: r, target: t), 1))
        #expect(close(try single(.map(2), ranked: r, target: t), 1))
    }

    @Test("k larger than the catalogue")
    func kBeyondCatalogue() throws {
        // 5 items, item 0 seen, so the whole ranking is [3, 1, 4, 2]; T = {2, 4}; k = 10; rel = [0, 0, 1, 1]
        let r = [3, 1, 4, 2], t = [2, 4]
        #expect(close(try single(.recall(10), ranked: r, target: t, items: 5), 1))            // 2 / min(10, 2)
        #expect(close(try single(.recallUncapped(10), ranked: r, target: t, items: 5), 1))
        #expect(close(try single(.precision(10), ranked: r, target: t, items: 5), 2.0 / 10))  // divides by k
        // DCG = 1/log2(4) + 1/log2(5); IDCG = 1 + 1/log2(3)
        #expect(close(try single(.ndcg(10), ranked: r, target: t, items: 5), (0.5 + 1 / log2(5.0)) / (1 + 1 / log2(3.0))))
        // AP = (1/3 + 2/4) / min(10, 2) = 5/12
        #expect(close(try single(.map(10), ranked: r, target: t, items: 5), 5.0 / 12))
        #expect(close(try single(.coverage(10), ranked: r, target: t, items: 5), 4.0 / 5))
    }

    @Test("MRR is over the full ranking, not truncated at k")
    func mrrFullRanking() throws {
        let ranking = Array(0..<300)
        let r = try Evaluator.evaluate(rankings: [ranking], targets: [[149]], itemCount: 300,
                                       metrics: [.ndcg(100), .mrr])
        #expect(close(r[.mrr]?.value, 1.0 / 150))
        #expect(close(r[.ndcg(100)]?.value, 0))
        // a list that does not reach any target item gives 0
        #expect(close(try single(.mrr, ranked: [0, 1, 2], target: [5]), 0))
    }

    @Test("empty targets are skipped and counted")
    func emptyTargetSkipped() throws {
        let r = try Evaluator.evaluate(rankings: [[1, 2], [3, 4], [2, 1]], targets: [[2], [], [1, 2]], itemCount: 5,
                                       metrics: [.recall(1), .coverage(1)], users: [7, 8, 9])
        #expect(r.usersEvaluated == 2)
        #expect(r.usersSkipped == 1)
        #expect(r.users == [7, 9])
        // recall@1: user 7 → 0 (item 1 ∉ {2}); user 9 → 1 / min(1, 2) = 1
        #expect(r.perUser(.recall(1)) == [0, 1])
        #expect(close(r[.recall(1)]?.value, 0.5))
        // coverage@1 over the evaluated users only: {1, 2} / 5 (the skipped user's item 3 is not counted)
        #expect(close(r[.coverage(1)]?.value, 2.0 / 5))
        #expect(throws: AERecError.self) {
            try Evaluator.evaluate(rankings: [[1]], targets: [[Int]()], itemCount: 3, metrics: [.mrr])
        }
    }

    @Test("catalogue coverage is set-level")
    func coverage() throws {
        // 10 items; top-3 lists [0,1,2], [1,2,3], [0,4,5]
        let r = try Evaluator.evaluate(rankings: [[0, 1, 2], [1, 2, 3], [0, 4, 5]], targets: [[9], [9], [9]],
                                       itemCount: 10, metrics: [.coverage(2), .coverage(3), .coverage(1)])
        #expect(close(r[.coverage(1)]?.value, 2.0 / 10))  // {0, 1}
        #expect(close(r[.coverage(2)]?.value, 4.0 / 10))  // {0, 1, 2, 4}
        #expect(close(r[.coverage(3)]?.value, 6.0 / 10))  // {0, 1, 2, 3, 4, 5}
        #expect(r[.coverage(2)]?.confidenceInterval == nil)
        #expect(r[.coverage(2)]?.perUser == [])
        #expect(r[.coverage(2)]?.n == 3)
    }

    @Test("malformed rankings are rejected")
    func malformed() {
        #expect(throws: AERecError.self) {
            try Evaluator.evaluate(rankings: [[1, 1]], targets: [[1]], itemCount: 3, metrics: [.mrr])
        }
        #expect(throws: AERecError.self) {
            try Evaluator.evaluate(rankings: [[5]], targets: [[1]], itemCount: 3, metrics: [.mrr])
        }
        #expect(throws: AERecError.self) {
            try Evaluator.evaluate(rankings: [[1]], targets: [[1]], itemCount: 3, metrics: [.rmse])
        }
    }
}

@Suite("Confidence intervals and rating errors")
struct IntervalTests {
    @Test("mean ± 1.96 s/√n on a known sample")
    func knownSample() {
        // x = [2, 4, 4, 4, 5, 5, 7, 9]: mean 5, Σ(x − 5)² = 32, s² = 32/7, SE = √(32/7 / 8) = √(4/7)
        let v = MetricValue.mean(of: [2, 4, 4, 4, 5, 5, 7, 9], metric: .ndcg(10))
        #expect(close(v.value, 5))
        #expect(close(v.standardDeviation, (32.0 / 7).squareRoot()))
        #expect(close(v.standardError, (4.0 / 7).squareRoot()))
        #expect(close(v.halfWidth, 1.96 * 2 / 7.0.squareRoot()))
        #expect(close(v.confidenceInterval?.lowerBound, 5 - 1.96 * 2 / 7.0.squareRoot()))
        #expect(close(v.confidenceInterval?.upperBound, 5 + 1.96 * 2 / 7.0.squareRoot()))
        #expect(v.n == 8)
        // one value: no interval
        let one = MetricValue.mean(of: [0.3], metric: .mrr)
        #expect(one.confidenceInterval == nil && one.standardDeviation == nil && one.value == 0.3)
    }

    @Test("hit rate 4 of 5: CI 0.8 ± 0.392, not clamped to [0, 1]")
    func hitRateInterval() throws {
        // values [1, 1, 1, 1, 0]: s² = (4 · 0.2² + 0.8²) / 4 = 0.2, SE = √(0.2 / 5) = 0.2
        let r = try Evaluator.evaluate(rankings: [[1], [1], [1], [1], [2]], targets: [[1], [1], [1], [1], [1]],
                                       itemCount: 3, metrics: [.hitRate(1)])
        let v = try #require(r[.hitRate(1)])
        #expect(close(v.value, 0.8))
        #expect(close(v.standardError, 0.2))
        #expect(close(v.confidenceInterval?.lowerBound, 0.408))
        #expect(close(v.confidenceInterval?.upperBound, 1.192))
    }

    @Test("RMSE and MAE pooled over ratings, user-clustered delta-method CI")
    func ratingErrors() throws {
        // errors: user 0 [−1, 0], user 1 [−3], user 2 [0, −1, −2]
        let r = try Evaluator.evaluate(predictedRatings: [[3, 4], [2], [], [1, 2, 3]],
                                       actualRatings: [[4, 4], [5], [], [1, 3, 5]], metrics: [.rmse, .mae])
        Self.checkRatingExample(r)
        #expect(r.users == [0, 1, 3])
    }

    /// SSE per user e = [1, 9, 5], counts m = [2, 1, 3], N = 6: MSE = 15/6 = 2.5, RMSE = √2.5.
    /// d = e − 2.5 m = [−4, 6.5, −2.5], Σd² = 64.5, s_d² = 32.25, m̄ = 2:
    /// SE(MSE) = √32.25 / (2 √3), SE(RMSE) = SE(MSE) / (2 √2.5).
    /// Absolute: e = [1, 3, 3], MAE = 7/6, d = [−4/3, 11/6, −1/2], Σd² = 194/36, s_d² = 97/36,
    /// SE(MAE) = (√97 / 6) / (2 √3).
    static func checkRatingExample(_ r: EvaluationResult) {
        #expect(r.usersEvaluated == 3 && r.usersSkipped == 1)
        let rmse = r[.rmse]!, mae = r[.mae]!
        #expect(close(rmse.value, 2.5.squareRoot()))
        #expect(close(mae.value, 7.0 / 6))
        #expect(rmse.perUserWeights == [2, 1, 3])
        #expect(close(rmse.perUser[0], 0.5.squareRoot()) && close(rmse.perUser[1], 3)
                && close(rmse.perUser[2], (5.0 / 3).squareRoot()))
        #expect(close(mae.perUser[0], 0.5) && close(mae.perUser[1], 3) && close(mae.perUser[2], 1))
        let root3: Double = 3.0.squareRoot()
        let seMSE: Double = 32.25.squareRoot() / (2 * root3)
        let seRMSE: Double = seMSE / (2 * 2.5.squareRoot())
        let seMAE: Double = (97.0.squareRoot() / 6) / (2 * root3)
        #expect(close(rmse.standardError, seRMSE))
        #expect(close(rmse.halfWidth, 1.96 * seRMSE))
        #expect(close(mae.standardError, seMAE))
        let maeLower: Double = 7.0 / 6 - 1.96 * seMAE
        #expect(close(mae.confidenceInterval?.lowerBound, maeLower))
    }
}

// MARK: - the Evaluator pipeline with fake models

/// Scores every user by a fixed row, looked up through the train row the evaluator passes (the
/// held-out sets below use the user's index as its train row). Checks that the fold-in rows it gets
/// are the user's.
final class FixedScoreModel: Recommender, @unchecked Sendable {
    let kind = ModelKind.multDAE
    let scoreRows: [[Float]]
    let foldIns: [[Int32]]
    var batches: [Range<Int>] = []
    var wrongInput = false
    var itemCount: Int { scoreRows[0].count }

    init(scores: [[Float]], foldIns: [[Int32]]) {
        scoreRows = scores
        self.foldIns = foldIns
    }

    func scores(for input: InteractionMatrix, rows: Range<Int>, trainRows: [Int32]?,
                into out: UnsafeMutablePointer<Float>, ld: Int, threads: Int) throws {
        batches.append(rows)
        for (b, r) in rows.enumerated() {
            let user = Int(trainRows![b])
            if Array(input.row(r).columns) != foldIns[user] { wrongInput = true }
            for j in 0..<itemCount { out[b * ld + j] = scoreRows[user][j] }
            // garbage past the row end must not matter
            for j in itemCount..<ld { out[b * ld + j] = .infinity }
        }
    }
}

/// Predicts fixed ratings (by train row and item).
final class FixedRatingModel: RatingPredictor, @unchecked Sendable {
    let kind = ModelKind.autoRecI
    let predictions: [[Float]]
    var itemCount: Int { predictions[0].count }
    init(_ p: [[Float]]) { predictions = p }

    func scores(for input: InteractionMatrix, rows: Range<Int>, trainRows: [Int32]?,
                into out: UnsafeMutablePointer<Float>, ld: Int, threads: Int) throws {
        for (b, _) in rows.enumerated() {
            for j in 0..<itemCount { out[b * ld + j] = predictions[Int(trainRows![b])][j] }
        }
    }

    func predictRatings(history: InteractionMatrix, queries: InteractionMatrix, trainRows: [Int32]?,
                        threads: Int) throws -> [Float] {
        var out: [Float] = []
        for r in 0..<queries.rowCount {
            for c in queries.row(r).columns { out.append(predictions[Int(trainRows![r])][Int(c)]) }
        }
        return out
    }
}

private func csr(_ rows: [[Int32]], items: Int, values: [[Float]]? = nil) throws -> InteractionMatrix {
    var r: [Int32] = [], c: [Int32] = [], v: [Float] = []
    for (u, row) in rows.enumerated() {
        for (j, i) in row.enumerated() {
            r.append(Int32(u)); c.append(i)
            if let values { v.append(values[u][j]) }
        }
    }
    return try InteractionMatrix(rowCount: rows.count, columnCount: items, rows: r, columns: c,
                                 values: values == nil ? nil : v)
}

private func heldOut(foldIn: [[Int32]], target: [[Int32]], items: Int, users: [Int32]? = nil,
                     targetValues: [[Float]]? = nil) throws -> HeldOutSet {
    HeldOutSet(users: users ?? (0..<Int32(foldIn.count)).map { $0 },
               trainRows: (0..<Int32(foldIn.count)).map { $0 },
               foldIn: try csr(foldIn, items: items), target: try csr(target, items: items, values: targetValues))
}

@Suite("Evaluator")
struct EvaluatorTests {
    // 6 items, 4 users (labels 10...13):
    //  u10 scores [.9 .8 .7 .6 .5 .4], fold-in {0}, target {2, 5}: ranking [1, 2, 3, 4, 5], rel [0,1,0,0,1]
    //  u11 scores [.1 .2 .3 .4 .5 .6], fold-in {4, 5}, target {3}: ranking [3, 2, 1, 0], rel [1,0,0,0]
    //  u12 fold-in {1}, target {}: skipped
    //  u13 scores [.5 .5 .9 .5 .1 .5], fold-in {2} (its best score: excluded), target {3, 4}:
    //      ties at .5 → lower index first: ranking [0, 1, 3, 5, 4], rel [0,0,1,0,1]
    static let scores: [[Float]] = [[0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
                                    [1, 1, 1, 1, 1, 1], [0.5, 0.5, 0.9, 0.5, 0.1, 0.5]]
    static let foldIn: [[Int32]] = [[0], [4, 5], [1], [2]]
    static let target: [[Int32]] = [[2, 5], [3], [], [3, 4]]
    static let metrics: [Metric] = [.recall(2), .recallUncapped(2), .precision(2), .hitRate(1), .ndcg(3), .map(3),
                                    .mrr, .coverage(2)]

    static func run(batchSize: Int, threads: Int = 1) throws -> (EvaluationResult, FixedScoreModel) {
        let model = FixedScoreModel(scores: scores, foldIns: foldIn)
        let h = try heldOut(foldIn: foldIn, target: target, items: 6, users: [10, 11, 12, 13])
        let r = try Evaluator(metrics: metrics, batchSize: batchSize, threads: threads).evaluate(model, on: h)
        #expect(!model.wrongInput)
        return (r, model)
    }

    @Test("hand-built held-out set: every metric through the pipeline")
    func pipeline() throws {
        let (r, _) = try Self.run(batchSize: 500)
        #expect(r.usersEvaluated == 3 && r.usersSkipped == 1)
        #expect(r.users == [10, 11, 13])
        #expect(r.metrics == Self.metrics)
        // recall@2: u10 [1, 2] → 1/min(2,2); u11 [3, 2] → 1/min(2,1); u13 [0, 1] → 0
        #expect(r.perUser(.recall(2)) == [0.5, 1, 0])
        #expect(close(r[.recall(2)]?.value, 0.5))
        // recall_uncapped@2: 1/2, 1/1, 0
        #expect(r.perUser(.recallUncapped(2)) == [0.5, 1, 0])
        // precision@2: 1/2, 1/2, 0
        #expect(close(r[.precision(2)]?.value, 1.0 / 3))
        // hit_rate@1: 0, 1, 0 (u13's seen item 2 would have hit nothing anyway; its top-1 is item 0)
        #expect(r.perUser(.hitRate(1)) == [0, 1, 0])
        // ndcg@3: u10 rel [0,1,0] → g(2) / (1 + g(2)); u11 → 1; u13 rel [0,0,1] → g(3) / (1 + g(2))
        let ndcg = [g(2) / (1 + g(2)), 1, g(3) / (1 + g(2))]
        for (a, b) in zip(r.perUser(.ndcg(3))!, ndcg) { #expect(close(a, b)) }
        #expect(close(r[.ndcg(3)]?.value, ndcg.reduce(0, +) / 3))
        // map@3: u10 (1/2) / 2 = 1/4; u11 1; u13 (1/3) / 2 = 1/6 → mean 17/36
        #expect(close(r[.map(3)]?.value, 17.0 / 36))
        // mrr: 1/2, 1, 1/3 → 11/18
        #expect(close(r[.mrr]?.value, 11.0 / 18))
        // coverage@2: {1, 2} ∪ {3, 2} ∪ {0, 1} = 4 of 6 items
        #expect(close(r[.coverage(2)]?.value, 4.0 / 6))
        // CI of mrr: values [1/2, 1, 1/3], mean 11/18
        let mrr = [0.5, 1, 1.0 / 3], mean = 11.0 / 18
        let s = (mrr.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 2).squareRoot()
        #expect(close(r[.mrr]?.halfWidth, 1.96 * s / 3.0.squareRoot()))
    }

    @Test("batch sizes smaller than the user count give identical results", arguments: [1, 2, 3, 4, 500])
    func batching(batchSize: Int) throws {
        let (reference, _) = try Self.run(batchSize: 500)
        let (r, model) = try Self.run(batchSize: batchSize, threads: 2)
        #expect(r.values == reference.values)
        #expect(r.users == reference.users)
        // the 3 evaluated users in ⌈3 / batch⌉ contiguous batches
        let b = min(batchSize, 3)
        #expect(model.batches == stride(from: 0, to: 3, by: b).map { $0..<min($0 + b, 3) })
    }

    @Test("seen items are excluded even when they score highest")
    func seenExcluded() throws {
        // scores [10, 5, 7], fold-in {0}, target {1}: ranking [2, 1] (item 0 never appears)
        let model = FixedScoreModel(scores: [[10, 5, 7]], foldIns: [[0]])
        let h = try heldOut(foldIn: [[0]], target: [[1]], items: 3)
        let r = try Evaluator(metrics: [.hitRate(1), .recall(2), .mrr, .coverage(3)]).evaluate(model, on: h)
        #expect(r[.hitRate(1)]?.value == 0)
        #expect(r[.recall(2)]?.value == 1)
        #expect(close(r[.mrr]?.value, 0.5))      // rank 2, not 3
        #expect(close(r[.coverage(3)]?.value, 2.0 / 3)) // only 2 candidates
    }

    @Test("ties go to the lower item index")
    func ties() throws {
        // all scores equal: ranking [0, 1, 2, 3, 4]; target {2} → rank 3
        let model = FixedScoreModel(scores: [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]], foldIns: [[], []])
        let h = try heldOut(foldIn: [[], []], target: [[2], [0]], items: 5)
        let r = try Evaluator(metrics: [.hitRate(2), .hitRate(3), .ndcg(3), .mrr, .ndcg(1)]).evaluate(model, on: h)
        #expect(r.perUser(.hitRate(2)) == [0, 1])
        #expect(r.perUser(.hitRate(3)) == [1, 1])
        #expect(close(r.perUser(.ndcg(3))?[0], 0.5))   // g(3) / g(1) = 1/log2(4)
        #expect(r.perUser(.ndcg(1)) == [0, 1])
        #expect(close(r.perUser(.mrr)?[0], 1.0 / 3))
    }

    @Test("MRR beyond k: relevant item at rank 150 with k = 100")
    func mrrBeyondK() throws {
        // user 0: scores 300 − j, target {149}: 149 items score higher → rank 150
        // user 1: same scores, fold-in {0, 5} (both score higher) → rank 148
        // user 2: constant scores, fold-in {3}, target {150}: ties → 1 + #{j < 150, j ≠ 3} = 150
        // user 3: target scored NaN (ranks as −∞) among 299 finite scores → rank 300
        // user 4: constant scores, target {160, 150} tie: the lower index 150 is first → 1 + 150 = 151
        // user 5: every score NaN (all −∞, a 300-way tie), target {150} → 151
        let desc = (0..<300).map { Float(300 - $0) }
        var nanRow = desc; nanRow[299] = .nan
        let flat = [Float](repeating: 1, count: 300), nans = [Float](repeating: .nan, count: 300)
        let model = FixedScoreModel(scores: [desc, desc, flat, nanRow, flat, nans],
                                    foldIns: [[], [0, 5], [3], [], [], []])
        let h = try heldOut(foldIn: [[], [0, 5], [3], [], [], []],
                            target: [[149], [149], [150], [299], [150, 160], [150]], items: 300)
        let r = try Evaluator(metrics: [.ndcg(100), .mrr]).evaluate(model, on: h)
        #expect(r.perUser(.ndcg(100)) == [0, 0, 0, 0, 0, 0])
        let mrr = try #require(r.perUser(.mrr))
        #expect(close(mrr[0], 1.0 / 150))
        #expect(close(mrr[1], 1.0 / 148))
        #expect(close(mrr[2], 1.0 / 150))
        #expect(close(mrr[3], 1.0 / 300))
        #expect(close(mrr[4], 1.0 / 151))
        #expect(close(mrr[5], 1.0 / 151))
        // with mrr alone (no top-k at all) the same
        let alone = try Evaluator(metrics: [.mrr]).evaluate(model, on: h)
        #expect(alone.perUser(.mrr) == mrr)
    }

    @Test("k larger than the catalogue through the kernel")
    func kBeyondCatalogue() throws {
        // 5 items, fold-in {0}, scores make the ranking [3, 1, 4, 2], T = {2, 4}
        let model = FixedScoreModel(scores: [[9, 4, 1, 5, 3]], foldIns: [[0]])
        let h = try heldOut(foldIn: [[0]], target: [[2, 4]], items: 5)
        let r = try Evaluator(metrics: [.recall(10), .precision(10), .ndcg(10), .map(10), .coverage(10)])
            .evaluate(model, on: h)
        #expect(close(r[.recall(10)]?.value, 1))
        #expect(close(r[.precision(10)]?.value, 0.2))
        #expect(close(r[.ndcg(10)]?.value, (0.5 + 1 / log2(5.0)) / (1 + 1 / log2(3.0))))
        #expect(close(r[.map(10)]?.value, 5.0 / 12))
        #expect(close(r[.coverage(10)]?.value, 0.8))
    }

    @Test("RMSE/MAE through a RatingPredictor, in batches")
    func ratings() throws {
        // the IntervalTests example: predictions by user row; targets hold the true ratings
        let model = FixedRatingModel([[3, 4, 0, 0], [0, 0, 2, 0], [0, 0, 0, 0], [1, 2, 0, 3]])
        let h = try heldOut(foldIn: [[3], [0], [1], [2]], target: [[0, 1], [2], [], [0, 1, 3]], items: 4,
                            targetValues: [[4, 4], [5], [], [1, 3, 5]])
        for batch in [1, 2, 500] {
            let r = try Evaluator(metrics: [.rmse, .mae], batchSize: batch).evaluate(model, on: h)
            IntervalTests.checkRatingExample(r)
        }
        // a ranking model cannot give rmse
        let ranker = FixedScoreModel(scores: [[1, 2, 3, 4]], foldIns: [[]])
        let h1 = try heldOut(foldIn: [[]], target: [[1]], items: 4)
        #expect(throws: AERecError.self) { try Evaluator(metrics: [.rmse]).evaluate(ranker, on: h1) }
    }

    @Test("shape errors and all-empty targets throw")
    func errors() throws {
        let model = FixedScoreModel(scores: [[1, 2, 3]], foldIns: [[]])
        #expect(throws: AERecError.self) {
            try Evaluator(metrics: [.mrr]).evaluate(model, on: try heldOut(foldIn: [[]], target: [[1]], items: 4))
        }
        #expect(throws: AERecError.self) {
            try Evaluator(metrics: [.mrr]).evaluate(model, on: try heldOut(foldIn: [[]], target: [[]], items: 3))
        }
        #expect(throws: AERecError.self) {
            try Evaluator(metrics: []).evaluate(model, on: try heldOut(foldIn: [[]], target: [[1]], items: 3))
        }
        #expect(throws: AERecError.self) {
            try Evaluator(metrics: [.mrr], batchSize: 0).evaluate(model, on: try heldOut(foldIn: [[]], target: [[1]], items: 3))
        }
    }

    @Test("randomised: the pipeline equals a sort-based reference ranking")
    func randomisedAgainstSort() throws {
        var rng = SplitMix(seed: 42)
        let users = 37, items = 41
        var scores: [[Float]] = [], foldIn: [[Int32]] = [], target: [[Int32]] = [], reference: [[Int]] = []
        for _ in 0..<users {
            // few distinct values: many ties; a few NaNs
            var row = (0..<items).map { _ in Float(rng.next() % 6) }
            if rng.next() % 3 == 0 { row[Int(rng.next() % UInt64(items))] = .nan }
            var f: [Int32] = [], t: [Int32] = []
            for i in 0..<Int32(items) {
                switch rng.next() % 10 {
                case 0, 1: f.append(i)
                case 2: t.append(i)
                default: break
                }
            }
            if rng.next() % 7 == 0 { t = [] }
            scores.append(row); foldIn.append(f); target.append(t)
            // reference: sort the non-excluded items by (score desc, NaN as −∞; index asc)
            let key = { (j: Int) -> Float in row[j].isNaN ? -.infinity : row[j] }
            let cand = (0..<items).filter { !f.contains(Int32($0)) }
            reference.append(cand.sorted { key($0) != key($1) ? key($0) > key($1) : $0 < $1 })
        }
        let metrics: [Metric] = [.recall(1), .recall(5), .recallUncapped(5), .ndcg(10), .ndcg(50), .precision(5),
                                 .hitRate(3), .map(10), .map(50), .mrr, .coverage(5), .coverage(50)]
        let model = FixedScoreModel(scores: scores, foldIns: foldIn)
        let h = try heldOut(foldIn: foldIn, target: target, items: items)
        let expected = try Evaluator.evaluate(rankings: reference, targets: target.map { $0.map(Int.init) },
                                              itemCount: items, metrics: metrics)
        #expect(expected.usersSkipped > 0)
        // small k only: most users' MRR then comes from the sort-free full-rank count
        let small: [Metric] = [.recall(2), .ndcg(1), .mrr]
        let expectedSmall = try Evaluator.evaluate(rankings: reference, targets: target.map { $0.map(Int.init) },
                                                   itemCount: items, metrics: small)
        for (batch, threads, ms, exp) in [(500, 1, metrics, expected), (4, 2, metrics, expected), (1, 1, metrics, expected),
                                          (500, 1, small, expectedSmall), (5, 2, small, expectedSmall)] {
            let r = try Evaluator(metrics: ms, batchSize: batch, threads: threads).evaluate(model, on: h)
            #expect(r.users == exp.users)
            #expect(r.usersSkipped == exp.usersSkipped)
            for m in ms {
                let a = try #require(r[m]), b = try #require(exp[m])
                #expect(close(a.value, b.value), "\(m)")
                #expect(a.perUser.count == b.perUser.count, "\(m)")
                for (x, y) in zip(a.perUser, b.perUser) { #expect(close(x, y), "\(m)") }
            }
        }
    }

    @Test("vectorised full-rank counts equal scalar counts (NaN never counts)")
    func simdCounts() {
        var rng = SplitMix(seed: 7)
        for length in [0, 1, 15, 16, 17, 33, 100, 1000] {
            var x = (0..<length).map { _ in Float(rng.next() % 9) - 4 }
            for i in stride(from: 0, to: length, by: 7) { x[i] = .nan }
            for t: Float in [-5, -1, 0, 0.5, 3, 4, -.infinity] {
                for lo in [0, min(3, length)] {
                    x.withUnsafeBufferPointer { p in
                        let base = p.baseAddress ?? UnsafePointer(bitPattern: 16)!
                        #expect(Evaluator.countAbove(base, lo..<length, t) == x[lo...].filter { $0 > t }.count)
                        #expect(Evaluator.countAtLeast(base, lo..<length, t) == x[lo...].filter { $0 >= t }.count)
                    }
                }
            }
        }
    }

    @Test("EvaluationResult round-trips through JSON keyed by metric name")
    func codable() throws {
        let (r, _) = try Self.run(batchSize: 2)
        let data = try JSONEncoder().encode(r)
        let json = String(decoding: data, as: UTF8.self)
        #expect(json.contains("\"ndcg@3\""))
        #expect(json.contains("\"coverage@2\""))
        let back = try JSONDecoder().decode(EvaluationResult.self, from: data)
        #expect(back == r)
    }
}

/// Deterministic test randomness.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
