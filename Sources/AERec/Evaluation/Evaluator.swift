import AERecKernels
import Dispatch

/// Full-ranking evaluation of a trained model on held-out users. Exact: every item the user did not
/// interact with in the fold-in part is ranked; nothing is sampled.
///
/// For each batch of ``batchSize`` users the model's scores go into one reused
/// `batch × itemCount` buffer; `aek_topk_rows` takes the top max-k items per user with the user's
/// fold-in items excluded (seen items never appear in a list, however high they score) and ties
/// broken by the lower item index (NaN scores rank as −∞). Every metric is then computed per user
/// (see ``Metric`` for the definitions). Users with an empty target are left out and counted in
/// ``EvaluationResult/usersSkipped``. Target items that also occur in the user's fold-in cannot be
/// ranked but still count in |T| (a correct split has none).
///
/// MRR uses the FULL ranking without sorting it: when no target item is in the top max-k, the rank
/// of the best-scoring non-excluded target item i* (score s*) is 1 + #{non-excluded j : s_j > s* or
/// (s_j = s* and j < i*)}, one vectorised counting pass over the user's scores (users spread over
/// ``threads``). The metric arithmetic itself is serial, O(max-k) per user.
///
/// ``Metric/rmse`` and ``Metric/mae`` need a ``RatingPredictor``: its predictions for the target
/// entries, given the fold-in entries as history, against the stored target values.
public struct Evaluator: Sendable {
    /// The metrics to compute (duplicates are computed once).
    public var metrics: [Metric]
    /// Users scored at once; the score buffer holds batchSize × itemCount floats.
    public var batchSize: Int
    /// Threads for scoring, top-k and the MRR rank counts (results do not depend on it).
    public var threads: Int

    public init(metrics: [Metric], batchSize: Int = 500, threads: Int = 1) {
        self.metrics = metrics
        self.batchSize = batchSize
        self.threads = threads
    }

    /// Evaluates `model` on `heldOut` (fold-in = the model's input and the exclusion list, target =
    /// the items to rank / ratings to predict).
    public func evaluate(_ model: Recommender, on heldOut: HeldOutSet) throws -> EvaluationResult {
        let start = ContinuousClock.now
        let metrics = try Evaluator.normalized(self.metrics)
        guard batchSize >= 1 else { throw AERecError.invalidArgument("batch size must be >= 1, got \(batchSize)") }
        let threads = max(1, threads)
        let items = model.itemCount
        let m = heldOut.count
        guard heldOut.foldIn.rowCount == m, heldOut.target.rowCount == m, heldOut.trainRows.count == m else {
            throw AERecError.invalidArgument(
                "held-out set: \(m) users but \(heldOut.foldIn.rowCount) fold-in rows, \(heldOut.target.rowCount) target rows, \(heldOut.trainRows.count) train rows")
        }
        guard heldOut.foldIn.columnCount == items, heldOut.target.columnCount == items else {
            throw AERecError.invalidArgument(
                "held-out set has \(heldOut.foldIn.columnCount) fold-in / \(heldOut.target.columnCount) target columns; the model scores \(items) items")
        }
        let ratingMetrics = metrics.filter(\.isRating)
        let rankingMetrics = metrics.filter(\.isRanking)
        var rater: RatingPredictor? = nil
        if !ratingMetrics.isEmpty {
            guard let r = model as? RatingPredictor else {
                throw AERecError.invalidArgument(
                    "\(ratingMetrics.map(\.name).joined(separator: ", ")) need a rating model; \(model.kind.rawValue) ranks items")
            }
            rater = r
        }

        // users with a target; the others are skipped
        let keep = (0..<m).filter { heldOut.target.count(ofRow: $0) > 0 }
        let skipped = m - keep.count
        guard !keep.isEmpty else {
            throw AERecError.data("none of the \(m) held-out users has a target item")
        }
        let all = keep.count == m
        let foldIn = all ? heldOut.foldIn : heldOut.foldIn.rows(keep)
        let target = all ? heldOut.target : heldOut.target.rows(keep)
        let trainRows = all ? heldOut.trainRows : keep.map { heldOut.trainRows[$0] }
        let users = all ? heldOut.users : keep.map { heldOut.users[$0] }
        let n = keep.count
        let batch = min(batchSize, n)

        var ranking = RankingAccumulator(metrics: rankingMetrics, itemCount: items,
                                         maxLength: rankingMetrics.compactMap(\.k).max() ?? 0)
        var rating = RatingAccumulator(metrics: ratingMetrics)

        if !rankingMetrics.isEmpty {
            let maxK = rankingMetrics.compactMap(\.k).max() ?? 0
            let slots = min(maxK, items)      // top-k slots per user (k may exceed the catalogue)
            let needsMRR = rankingMetrics.contains(.mrr)
            let (cells, overflow) = batch.multipliedReportingOverflow(by: items)
            guard !overflow else { throw AERecError.invalidArgument("batch \(batch) × \(items) items overflows") }
            var scores = [Float](repeating: 0, count: cells)
            var topIdx = [Int32](repeating: -1, count: batch * slots)
            var topCount = [Int64](repeating: 0, count: batch)
            var mark = [Bool](repeating: false, count: items)
            var firstRank = [Int](repeating: 0, count: needsMRR ? batch : 0)
            for lo in stride(from: 0, to: n, by: batch) {
                let hi = min(lo + batch, n)
                let rows = hi - lo
                try scores.withUnsafeMutableBufferPointer { s in
                    try model.scores(for: foldIn, rows: lo..<hi, trainRows: Array(trainRows[lo..<hi]),
                                     into: s.baseAddress!, ld: items, threads: threads)
                }
                if slots > 0 {
                    try foldIn.withKernelView(rows: lo..<hi) { view in
                        var exclude = view
                        let status = aek_topk_rows(Int64(rows), Int64(items), scores, Int64(items), &exclude,
                                                   Int64(slots), &topIdx, nil, &topCount, Int32(threads))
                        try check(status, "top-\(slots) of \(rows) users")
                    }
                }
                for b in 0..<rows where topCount[b] < 0 || topCount[b] > Int64(slots) {
                    throw AERecError.numerical("top-k reported \(topCount[b]) items for a \(slots)-slot list")
                }
                // MRR: the first target item's rank, from the list when it holds one, else from the
                // full-ranking count (O(item count) per user, so spread over the threads)
                if needsMRR {
                    scores.withUnsafeBufferPointer { s in
                        topIdx.withUnsafeBufferPointer { top in
                            firstRank.withUnsafeMutableBufferPointer { out in
                                Evaluator.firstRelevantRanks(scores: s.baseAddress!, itemCount: items, rows: lo..<hi,
                                                             lists: top.baseAddress!, slots: slots, counts: topCount,
                                                             target: target, foldIn: foldIn, into: out.baseAddress!,
                                                             threads: threads)
                            }
                        }
                    }
                }
                topIdx.withUnsafeBufferPointer { top in
                    for r in lo..<hi {
                        let b = r - lo
                        let targetItems = target.row(r).columns
                        for c in targetItems { mark[Int(c)] = true }
                        let filled = slots > 0 ? Int(topCount[b]) : 0
                        let list = UnsafeBufferPointer(rebasing: top[(b * slots)..<(b * slots + filled)])
                        ranking.add(items: list, isRelevant: { mark[Int($0)] }, targetCount: targetItems.count,
                                    firstRelevantRank: needsMRR && firstRank[b] > 0 ? firstRank[b] : nil)
                        for c in targetItems { mark[Int(c)] = false }
                    }
                }
            }
        }

        if let rater {
            for lo in stride(from: 0, to: n, by: batch) {
                let hi = min(lo + batch, n)
                let sel = Array(lo..<hi)
                let history = all && lo == 0 && hi == n ? foldIn : foldIn.rows(sel)
                let queries = all && lo == 0 && hi == n ? target : target.rows(sel)
                let predicted = try rater.predictRatings(history: history, queries: queries,
                                                         trainRows: Array(trainRows[lo..<hi]), threads: threads)
                guard predicted.count == queries.nnz else {
                    throw AERecError.invalidArgument(
                        "\(model.kind.rawValue) returned \(predicted.count) predictions for \(queries.nnz) target ratings")
                }
                for r in 0..<(hi - lo) {
                    let a = Int(queries.indptr[r]), b = Int(queries.indptr[r + 1])
                    let p = predicted[a..<b]
                    guard p.allSatisfy(\.isFinite) else {
                        throw AERecError.numerical("\(model.kind.rawValue) predicted a non-finite rating for user \(users[lo + r])")
                    }
                    rating.add(predicted: p, actual: (a..<b).map { queries.value(at: $0) })
                }
            }
        }

        var values = ranking.results()
        values.merge(rating.results()) { a, _ in a }
        let elapsed = start.duration(to: .now).components
        return EvaluationResult(metrics: metrics, values: values, users: users, usersEvaluated: n,
                                usersSkipped: skipped,
                                seconds: Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18)
    }

    /// For each row r in `rows` (batch row b = r − rows.lowerBound): the 1-based full-ranking rank of
    /// the user's first target item, 0 when no target item can be ranked. From the top-k list
    /// (`lists[b * slots ..< b * slots + counts[b]]`) when it holds a target item, else
    /// ``fullRank(scores:itemCount:target:excluded:)``. Rows are split into `threads` contiguous parts.
    static func firstRelevantRanks(scores: UnsafePointer<Float>, itemCount: Int, rows: Range<Int>,
                                   lists: UnsafePointer<Int32>, slots: Int, counts: [Int64],
                                   target: InteractionMatrix, foldIn: InteractionMatrix,
                                   into out: UnsafeMutablePointer<Int>, threads: Int) {
        // The parts write disjoint entries of `out` and only read the rest: safe to share.
        nonisolated(unsafe) let work = { (part: Range<Int>) in
            for b in part {
                let r = rows.lowerBound + b
                let t = target.row(r).columns
                var rank = 0
                if slots > 0 {
                    for j in 0..<Int(counts[b]) where t.binarySearchContains(lists[b * slots + j]) {
                        rank = j + 1
                        break
                    }
                }
                if rank == 0 {
                    rank = fullRank(scores: scores + b * itemCount, itemCount: itemCount, target: t,
                                    excluded: foldIn.row(r).columns) ?? 0
                }
                out[b] = rank
            }
        }
        let parts = max(1, min(threads, rows.count))
        if parts == 1 { work(0..<rows.count); return }
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            work((rows.count * p / parts)..<(rows.count * (p + 1) / parts))
        }
    }

    /// 1-based rank in the full ranking (excluded items removed; ties → lower index; NaN as −∞) of the
    /// best non-excluded target item, nil when every target item is excluded. No sorting: one pass.
    /// `target` and `excluded` are ascending.
    static func fullRank(scores: UnsafePointer<Float>, itemCount: Int, target: ArraySlice<Int32>,
                         excluded: ArraySlice<Int32>) -> Int? {
        @inline(__always) func score(_ j: Int) -> Float { let v = scores[j]; return v.isNaN ? -.infinity : v }
        // best non-excluded target item (ascending walk: a tie keeps the lower index)
        var best = -1
        var bestScore = -Float.infinity
        var e = excluded.startIndex
        for t in target {
            while e < excluded.endIndex && excluded[e] < t { e += 1 }
            if e < excluded.endIndex && excluded[e] == t { continue }
            let v = score(Int(t))
            if best < 0 || v > bestScore { best = Int(t); bestScore = v }
        }
        guard best >= 0 else { return nil }
        // items that beat it: a score >= s* at a lower index, a score > s* at a higher index (NaN
        // compares false both ways, so it only needs counting when s* = −∞, where it ties)
        var ahead = bestScore == -.infinity
            ? best                                                    // every lower index ties or beats it
            : countAtLeast(scores, 0..<best, bestScore)
        ahead += countAbove(scores, (best + 1)..<itemCount, bestScore)
        // minus the excluded ones among them
        for x in excluded {
            let j = Int(x), v = score(j)
            if v > bestScore || (v == bestScore && j < best) { ahead -= 1 }
        }
        return ahead + 1
    }

    /// #{j in range : x[j] > t} (NaN never counts), 16 lanes at a time.
    static func countAbove(_ x: UnsafePointer<Float>, _ range: Range<Int>, _ t: Float) -> Int {
        count(x, range, t) { $0 .> $1 } scalar: { $0 > $1 }
    }

    /// #{j in range : x[j] >= t} (NaN never counts), 16 lanes at a time.
    static func countAtLeast(_ x: UnsafePointer<Float>, _ range: Range<Int>, _ t: Float) -> Int {
        count(x, range, t) { $0 .>= $1 } scalar: { $0 >= $1 }
    }

    @inline(__always)
    private static func count(_ x: UnsafePointer<Float>, _ range: Range<Int>, _ t: Float,
                              _ test: (SIMD16<Float>, SIMD16<Float>) -> SIMDMask<SIMD16<Int32>>,
                              scalar: (Float, Float) -> Bool) -> Int {
        let raw = UnsafeRawPointer(x)
        let tv = SIMD16<Float>(repeating: t)
        var acc = SIMD16<Int32>.zero
        var j = range.lowerBound
        // per-lane counts stay below 2^31: flush every 2^20 blocks
        var blocks = 0
        var total = 0
        while j + 16 <= range.upperBound {
            let v = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)
            acc &-= unsafeBitCast(test(v, tv), to: SIMD16<Int32>.self)   // true lanes are −1
            j += 16
            blocks += 1
            if blocks == 1 << 20 { total += Int(acc.wrappedSum()); acc = .zero; blocks = 0 }
        }
        total += Int(acc.wrappedSum())
        while j < range.upperBound {
            if scalar(x[j], t) { total += 1 }
            j += 1
        }
        return total
    }

    /// Checks and de-duplicates a metric list (order kept).
    static func normalized(_ metrics: [Metric]) throws -> [Metric] {
        guard !metrics.isEmpty else { throw AERecError.invalidArgument("no metrics to compute") }
        var seen = Set<Metric>(), out: [Metric] = []
        for m in metrics {
            try m.validate()
            if seen.insert(m).inserted { out.append(m) }
        }
        return out
    }

    /// Ranking metrics from given ranked lists and target sets, without a model.
    ///
    /// `rankings[u]` is user u's ranking, best first, with the user's seen items already removed: it
    /// must hold at least max-k items or every candidate item (top-k metrics), and reach the first
    /// target item for an exact MRR (a list without any target item gives reciprocal rank 0).
    /// `targets[u]` is the user's target items (duplicates ignored); users with an empty target are
    /// skipped and counted. Items must lie in `0..<itemCount` (the catalogue, for coverage) and a
    /// ranking must not repeat an item. `users` labels the rows (default 0, 1, 2, ...).
    public static func evaluate<I: BinaryInteger>(rankings: [[I]], targets: [[I]], itemCount: Int,
                                                  metrics: [Metric], users: [Int32]? = nil) throws -> EvaluationResult {
        let metrics = try normalized(metrics)
        if let bad = metrics.first(where: \.isRating) {
            throw AERecError.invalidArgument("\(bad.name) needs rating predictions, not rankings")
        }
        guard itemCount >= 0, itemCount <= Int(Int32.max) else { throw AERecError.invalidArgument("item count \(itemCount)") }
        guard rankings.count == targets.count, users == nil || users!.count == rankings.count else {
            throw AERecError.invalidArgument(
                "\(rankings.count) rankings, \(targets.count) target sets\(users.map { ", \($0.count) users" } ?? "")")
        }
        let maxK = metrics.compactMap(\.k).max() ?? 0
        var acc = RankingAccumulator(metrics: metrics, itemCount: itemCount, maxLength: maxK)
        let cut = min(maxK, itemCount)
        var stamp = [Int](repeating: -1, count: itemCount)   // stamp[i] == u: i in user u's ranking
        var relevant = [Int](repeating: -1, count: itemCount) // relevant[i] == u: i in user u's target
        var evaluated: [Int32] = [], skipped = 0
        for u in 0..<rankings.count {
            var t = 0
            for x in targets[u] {
                guard x >= 0, x < itemCount else {
                    throw AERecError.invalidArgument("user \(u): target item \(x) outside 0..<\(itemCount)")
                }
                if relevant[Int(x)] != u { relevant[Int(x)] = u; t += 1 }
            }
            var first: Int? = nil
            var list: [Int32] = []
            list.reserveCapacity(min(cut, rankings[u].count))
            for (j, x) in rankings[u].enumerated() {
                guard x >= 0, x < itemCount else {
                    throw AERecError.invalidArgument("user \(u): ranked item \(x) outside 0..<\(itemCount)")
                }
                guard stamp[Int(x)] != u else { throw AERecError.invalidArgument("user \(u): item \(x) ranked twice") }
                stamp[Int(x)] = u
                if first == nil && relevant[Int(x)] == u { first = j + 1 }
                if j < cut { list.append(Int32(x)) }
            }
            guard t > 0 else { skipped += 1; continue }
            list.withUnsafeBufferPointer { buf in
                acc.add(items: buf, isRelevant: { relevant[Int($0)] == u }, targetCount: t, firstRelevantRank: first)
            }
            evaluated.append(users?[u] ?? Int32(u))
        }
        guard !evaluated.isEmpty else {
            throw AERecError.data("none of the \(rankings.count) users has a target item")
        }
        return EvaluationResult(metrics: metrics, values: acc.results(), users: evaluated,
                                usersEvaluated: evaluated.count, usersSkipped: skipped, seconds: 0)
    }

    /// RMSE/MAE from given predictions and true ratings, user by user (aligned arrays), without a
    /// model. Users without ratings are skipped and counted.
    public static func evaluate(predictedRatings: [[Float]], actualRatings: [[Float]], metrics: [Metric],
                                users: [Int32]? = nil) throws -> EvaluationResult {
        let metrics = try normalized(metrics)
        if let bad = metrics.first(where: \.isRanking) {
            throw AERecError.invalidArgument("\(bad.name) needs rankings, not rating predictions")
        }
        guard predictedRatings.count == actualRatings.count, users == nil || users!.count == actualRatings.count else {
            throw AERecError.invalidArgument("\(predictedRatings.count) prediction rows, \(actualRatings.count) rating rows")
        }
        var acc = RatingAccumulator(metrics: metrics)
        var evaluated: [Int32] = [], skipped = 0
        for u in 0..<actualRatings.count {
            guard predictedRatings[u].count == actualRatings[u].count else {
                throw AERecError.invalidArgument(
                    "user \(u): \(predictedRatings[u].count) predictions for \(actualRatings[u].count) ratings")
            }
            guard (predictedRatings[u] + actualRatings[u]).allSatisfy(\.isFinite) else {
                throw AERecError.invalidArgument("user \(u): non-finite rating or prediction")
            }
            if actualRatings[u].isEmpty { skipped += 1; continue }
            acc.add(predicted: predictedRatings[u], actual: actualRatings[u])
            evaluated.append(users?[u] ?? Int32(u))
        }
        guard !evaluated.isEmpty else { throw AERecError.data("no user has a rating") }
        return EvaluationResult(metrics: metrics, values: acc.results(), users: evaluated,
                                usersEvaluated: evaluated.count, usersSkipped: skipped, seconds: 0)
    }
}

private extension ArraySlice where Element == Int32 {
    /// Membership in an ascending slice.
    func binarySearchContains(_ x: Int32) -> Bool {
        var a = startIndex, b = endIndex
        while a < b {
            let m = (a + b) / 2
            if self[m] < x { a = m + 1 } else { b = m }
        }
        return a < endIndex && self[a] == x
    }
}
