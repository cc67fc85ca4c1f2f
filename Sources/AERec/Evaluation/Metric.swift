/// An evaluation metric. Ranking metrics are computed over the FULL item ranking (every item the
/// user has not interacted with in the fold-in part is a candidate); nothing is ever sampled.
///
/// Notation for one user: T is the set of target (held-out) items, rel_i ∈ {0, 1} says whether the
/// item at rank i (1-based, best first, fold-in items excluded) is in T, hits@k = Σ_{i≤k} rel_i.
/// Relevance is binary: every stored target entry is relevant, whatever its value.
///
/// | metric | name | per-user value |
/// |---|---|---|
/// | ``recall(_:)`` | `recall@k` | hits@k / min(k, \|T\|) — the vae_cf (Liang et al. 2018) form, reaches 1 |
/// | ``recallUncapped(_:)`` | `recall_uncapped@k` | hits@k / \|T\| — the LightGCN / RecBole form |
/// | ``ndcg(_:)`` | `ndcg@k` | DCG@k / IDCG@k, DCG@k = Σ_{i≤k} rel_i / log2(i + 1), IDCG@k = Σ_{i≤min(k,\|T\|)} 1 / log2(i + 1) |
/// | ``precision(_:)`` | `precision@k` | hits@k / k (k, even when fewer than k items could be ranked) |
/// | ``hitRate(_:)`` | `hit_rate@k` | 1 if hits@k > 0 else 0 |
/// | ``map(_:)`` | `map@k` | AP@k = Σ_{i≤k} P@i · rel_i / min(k, \|T\|), P@i = hits@i / i |
/// | ``mrr`` | `mrr` | 1 / rank of the first relevant item in the full ranking (0 if no target item can be ranked) |
/// | ``coverage(_:)`` | `coverage@k` | set level: \|∪_u top-k(u)\| / item count (no per-user value, no CI) |
/// | ``rmse`` | `rmse` | rating models: √(Σ (r̂ − r)² / N) over all N target ratings |
/// | ``mae`` | `mae` | rating models: Σ \|r̂ − r\| / N over all N target ratings |
///
/// MAP@k divides by min(k, |T|) (as RecBole and most implementations do), so a user whose top-k
/// holds min(k, |T|) relevant items at the top gets 1. MRR is not truncated at any k: a first
/// relevant item at rank 150 contributes 1/150 even when the largest k is 100.
public enum Metric: Hashable, Sendable {
    case recall(Int)
    case recallUncapped(Int)
    case ndcg(Int)
    case precision(Int)
    case hitRate(Int)
    case map(Int)
    case mrr
    case coverage(Int)
    case rmse
    case mae

    /// The cut-off k of a top-k metric, nil for ``mrr``, ``rmse``, ``mae``.
    public var k: Int? {
        switch self {
        case .recall(let k), .recallUncapped(let k), .ndcg(let k), .precision(let k), .hitRate(let k),
             .map(let k), .coverage(let k):
            return k
        case .mrr, .rmse, .mae:
            return nil
        }
    }

    /// True for the metrics computed from the item ranking (all but ``rmse`` and ``mae``).
    public var isRanking: Bool { !isRating }

    /// True for the rating-prediction metrics (``rmse``, ``mae``); they need a ``RatingPredictor``.
    public var isRating: Bool { self == .rmse || self == .mae }

    /// True for metrics defined on the set of all users (``coverage(_:)``): no per-user values.
    public var isSetLevel: Bool { if case .coverage = self { return true } else { return false } }

    /// False for the error metrics (``rmse``, ``mae``), where lower is better.
    public var higherIsBetter: Bool { !isRating }

    /// The metric's base name without the cut-off ("ndcg", "recall_uncapped", "mrr", ...).
    public var baseName: String {
        switch self {
        case .recall: return "recall"
        case .recallUncapped: return "recall_uncapped"
        case .ndcg: return "ndcg"
        case .precision: return "precision"
        case .hitRate: return "hit_rate"
        case .map: return "map"
        case .mrr: return "mrr"
        case .coverage: return "coverage"
        case .rmse: return "rmse"
        case .mae: return "mae"
        }
    }

    /// "ndcg@100", "recall_uncapped@20", "mrr", "rmse", ...
    public var name: String {
        if let k { return "\(baseName)@\(k)" }
        return baseName
    }

    /// The base names ``init(name:)`` accepts (without aliases).
    public static let baseNames = ["recall", "recall_uncapped", "ndcg", "precision", "hit_rate", "map", "mrr",
                                   "coverage", "rmse", "mae"]

    private static let needsK: Set<String> = ["recall", "recall_uncapped", "ndcg", "precision", "hit_rate", "map",
                                              "coverage"]

    private static let aliases: [String: String] = [
        "recall_uncapped": "recall_uncapped", "recalluncapped": "recall_uncapped",
        "hit_rate": "hit_rate", "hitrate": "hit_rate", "hr": "hit_rate", "hit": "hit_rate",
        "prec": "precision",
    ]

    /// Parses a metric name: "ndcg@100", "recall@20", "recall_uncapped@20", "precision@10",
    /// "hit_rate@10" (or "hr@10"), "map@10", "mrr", "coverage@100", "rmse", "mae". Case-insensitive;
    /// '-' and '_' are interchangeable. Throws ``AERecError/invalidArgument(_:)`` with the valid names
    /// and a did-you-mean for an unknown name, a missing, superfluous or non-positive cut-off.
    public init(name: String) throws {
        let s = name.trimmingWhitespace().lowercased().replacing("-", with: "_")
        let parts = s.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        var base = String(parts[0])
        if let a = Metric.aliases[base] ?? Metric.aliases[base.replacing("_", with: "")] { base = a }
        guard Metric.baseNames.contains(base) else {
            let hint = didYouMean(base, among: Metric.baseNames).map { " (did you mean '\($0)'?)" } ?? ""
            throw AERecError.invalidArgument(
                "unknown metric '\(name)'\(hint); valid: \(Metric.baseNames.map { Metric.needsK.contains($0) ? $0 + "@k" : $0 }.joined(separator: ", "))")
        }
        var k: Int? = nil
        if parts.count == 2 {
            guard let v = Int(parts[1]), v >= 1 else {
                throw AERecError.invalidArgument("metric '\(name)': the cut-off after '@' must be a positive integer")
            }
            k = v
        }
        if Metric.needsK.contains(base) {
            guard let k else {
                throw AERecError.invalidArgument("metric '\(name)' needs a cut-off, e.g. '\(base)@100'")
            }
            switch base {
            case "recall": self = .recall(k)
            case "recall_uncapped": self = .recallUncapped(k)
            case "ndcg": self = .ndcg(k)
            case "precision": self = .precision(k)
            case "hit_rate": self = .hitRate(k)
            case "map": self = .map(k)
            default: self = .coverage(k)
            }
        } else {
            guard k == nil else {
                throw AERecError.invalidArgument("metric '\(base)' takes no cut-off; write '\(base)'")
            }
            switch base {
            case "mrr": self = .mrr
            case "rmse": self = .rmse
            default: self = .mae
            }
        }
    }

    /// Throws unless the metric is well-formed (k ≥ 1).
    func validate() throws {
        if let k, k < 1 { throw AERecError.invalidArgument("metric \(baseName): k must be >= 1, got \(k)") }
    }
}

extension Metric: CustomStringConvertible {
    public var description: String { name }
}

/// Encoded as its ``Metric/name`` ("ndcg@100"); dictionaries keyed by metrics encode as JSON
/// objects keyed by name.
extension Metric: Codable, CodingKeyRepresentable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        do { try self.init(name: s) } catch {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "\(error)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(name)
    }

    public var codingKey: CodingKey { MetricCodingKey(stringValue: name) }

    public init?<T: CodingKey>(codingKey: T) {
        guard let m = try? Metric(name: codingKey.stringValue) else { return nil }
        self = m
    }
}

private struct MetricCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

private extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
