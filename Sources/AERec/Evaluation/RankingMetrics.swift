#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Accumulates the ranking metrics (everything but rmse/mae) user by user.
///
/// Each user is described by the relevance of its ranked list (best first, fold-in items already
/// removed, at most max-k long: shorter only when fewer items could be ranked), its target size |T|
/// and the full-ranking rank of its first relevant item (for MRR). Prefix sums of hits, DCG and
/// precision·rel make every per-user metric O(1) after one O(list length) pass.
struct RankingAccumulator {
    /// The per-user ranking metrics, in request order.
    let perUserMetrics: [Metric]
    /// The coverage metrics, in request order.
    let coverageMetrics: [Metric]
    let itemCount: Int
    /// discount[i] = 1 / log2(i + 2): the DCG gain of rank i + 1.
    private let discount: [Double]
    /// idealPrefix[m] = Σ_{i<m} discount[i].
    private let idealPrefix: [Double]
    private(set) var values: [[Double]]
    /// Best (smallest) 1-based rank at which each item appeared in any user's list; Int32.max if never.
    private var bestRank: [Int32]
    private(set) var users = 0
    // reusable prefix sums: cum*[i] covers ranks 1...i
    private var cumHits: [Int]
    private var cumDCG: [Double]
    private var cumAP: [Double]

    /// `maxLength`: the largest k (the tables then cover min(max k, item count) ranks, which reaches
    /// min(k, |T|) for every k since |T| ≤ item count). Lists longer than the tables are cut.
    init(metrics: [Metric], itemCount: Int, maxLength: Int) {
        perUserMetrics = metrics.filter { $0.isRanking && !$0.isSetLevel }
        coverageMetrics = metrics.filter { $0.isSetLevel }
        self.itemCount = itemCount
        let n = max(0, min(maxLength, itemCount))
        discount = (0..<n).map { 1 / log2(Double($0 + 2)) }
        var ideal = [Double](repeating: 0, count: n + 1)
        for i in 0..<n { ideal[i + 1] = ideal[i] + discount[i] }
        idealPrefix = ideal
        values = Array(repeating: [], count: perUserMetrics.count)
        bestRank = coverageMetrics.isEmpty ? [] : [Int32](repeating: Int32.max, count: itemCount)
        cumHits = [Int](repeating: 0, count: n + 1)
        cumDCG = [Double](repeating: 0, count: n + 1)
        cumAP = [Double](repeating: 0, count: n + 1)
    }

    /// Adds one user. `items[j]` is the item at rank j + 1 and `isRelevant(item)` says whether it is a
    /// target item; `targetCount` = |T| ≥ 1; `firstRelevantRank` is the 1-based full-ranking rank of
    /// the best-ranked target item, nil when no target item can be ranked.
    mutating func add(items: UnsafeBufferPointer<Int32>, isRelevant: (Int32) -> Bool, targetCount: Int,
                      firstRelevantRank: Int?) {
        precondition(targetCount >= 1)
        let length = min(items.count, discount.count)
        var hits = 0, dcg = 0.0, ap = 0.0
        for j in 0..<length {
            let item = items[j]
            if isRelevant(item) {
                hits += 1
                dcg += discount[j]
                ap += Double(hits) / Double(j + 1)
            }
            cumHits[j + 1] = hits
            cumDCG[j + 1] = dcg
            cumAP[j + 1] = ap
            if !bestRank.isEmpty && Int32(j + 1) < bestRank[Int(item)] { bestRank[Int(item)] = Int32(j + 1) }
        }
        for (m, metric) in perUserMetrics.enumerated() {
            let v: Double
            if metric == .mrr {
                v = firstRelevantRank.map { 1 / Double($0) } ?? 0
            } else {
                let k = metric.k!
                let l = min(k, length)            // ranks actually filled within the cut-off
                let capped = Double(min(k, targetCount))
                switch metric {
                case .recall: v = Double(cumHits[l]) / capped
                case .recallUncapped: v = Double(cumHits[l]) / Double(targetCount)
                case .ndcg: v = cumDCG[l] / idealPrefix[min(k, targetCount)]
                case .precision: v = Double(cumHits[l]) / Double(k)
                case .hitRate: v = cumHits[l] > 0 ? 1 : 0
                case .map: v = cumAP[l] / capped
                default: preconditionFailure("not a per-user ranking metric: \(metric)")
                }
            }
            values[m].append(v)
        }
        users += 1
    }

    /// Catalogue coverage at k: distinct items in the users' top-k lists / item count.
    func coverage(at k: Int) -> Double {
        guard itemCount > 0 else { return 0 }
        var n = 0
        let bound = Int32(clamping: k)
        for r in bestRank where r <= bound { n += 1 }
        return Double(n) / Double(itemCount)
    }

    /// The metric values (per-user means with CIs; coverage set-level).
    func results() -> [Metric: MetricValue] {
        var out: [Metric: MetricValue] = [:]
        for (m, metric) in perUserMetrics.enumerated() { out[metric] = .mean(of: values[m], metric: metric) }
        for metric in coverageMetrics { out[metric] = .setLevel(coverage(at: metric.k!), n: users, metric: metric) }
        return out
    }
}

/// Accumulates rmse/mae user by user.
struct RatingAccumulator {
    let metrics: [Metric]
    private(set) var rmse: [Double] = []
    private(set) var mae: [Double] = []
    private(set) var counts: [Double] = []

    init(metrics: [Metric]) { self.metrics = metrics.filter(\.isRating) }

    /// Adds one user's predictions and true ratings (same length ≥ 1).
    mutating func add(predicted: some Collection<Float>, actual: some Collection<Float>) {
        precondition(predicted.count == actual.count && !actual.isEmpty)
        var se = 0.0, ae = 0.0
        for (p, a) in zip(predicted, actual) {
            let d = Double(p) - Double(a)
            se += d * d
            ae += abs(d)
        }
        let n = Double(actual.count)
        rmse.append((se / n).squareRoot())
        mae.append(ae / n)
        counts.append(n)
    }

    func results() -> [Metric: MetricValue] {
        var out: [Metric: MetricValue] = [:]
        for metric in metrics {
            out[metric] = .pooledRatingError(perUser: metric == .rmse ? rmse : mae, counts: counts, metric: metric)
        }
        return out
    }
}

extension Metric {
    /// This metric for one user, from a ranked list (best first, seen items already removed) and the
    /// user's target set. The list is taken as the user's whole ranking: MRR is exact only when it
    /// holds every candidate (or at least reaches the first target item), the top-k metrics when it
    /// holds at least k items or every candidate. Nil for set-level (coverage) and rating metrics
    /// and for an empty target. Duplicate items in `ranked` are the caller's error (not checked here).
    public func value<I: BinaryInteger>(ranked: [I], target: Set<I>) -> Double? {
        guard isRanking, !isSetLevel, !target.isEmpty else { return nil }
        let items = ranked.map { Int32(truncatingIfNeeded: $0) }
        let relevant = Set(target.map { Int32(truncatingIfNeeded: $0) })
        let length = min(items.count, k ?? items.count)
        // the table must reach min(k, |T|) for the ideal DCG, and the list length
        let universe = max(items.count, relevant.count)
        var acc = RankingAccumulator(metrics: [self], itemCount: universe, maxLength: k ?? items.count)
        let first = items.firstIndex(where: relevant.contains).map { $0 + 1 }
        items.withUnsafeBufferPointer { buf in
            acc.add(items: UnsafeBufferPointer(rebasing: buf[0..<length]), isRelevant: relevant.contains,
                    targetCount: relevant.count, firstRelevantRank: first)
        }
        return acc.values[0][0]
    }
}
