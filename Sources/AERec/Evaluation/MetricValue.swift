/// One metric's value over the evaluated users, with a 95 % confidence interval and the per-user
/// values (aligned with ``EvaluationResult/users``, for paired tests between models).
///
/// Confidence intervals (normal approximation, z = ``z95`` = 1.96, never clamped to the metric's range):
/// - Per-user metrics (recall, ndcg, precision, hit rate, map, mrr): `value` is the mean x̄ of the n
///   per-user values, s their sample standard deviation (divisor n − 1), and the interval is
///   x̄ ± 1.96 · s / √n. Users are the independent units.
/// - ``Metric/rmse`` and ``Metric/mae``: `value` is pooled over all N target ratings, as the
///   literature reports it (MSE = Σ_u e_u / Σ_u m_u with e_u the user's summed squared (absolute)
///   error and m_u the user's rating count; RMSE = √MSE). Ratings of one user are not independent,
///   so the standard error treats users as clusters: the ratio estimator's delta-method variance
///   Var(MSE) ≈ s_d² / (n · m̄²), d_u = e_u − MSE · m_u, s_d² = Σ d_u² / (n − 1), m̄ = N / n; then
///   SE(RMSE) = SE(MSE) / (2 · RMSE) (delta method through the square root; 0 when RMSE = 0). MAE uses
///   the same ratio estimator without the square root. `perUser` holds each user's own RMSE
///   (resp. MAE) and `perUserWeights` each user's rating count m_u, so
///   value = √(Σ m_u x_u² / Σ m_u) for RMSE and Σ m_u x_u / Σ m_u for MAE.
/// - ``Metric/coverage(_:)`` is a property of the set of all users' lists: no per-user values, no
///   interval (`n` is still the number of users whose lists were pooled).
/// With n < 2 there is no standard deviation and no interval.
public struct MetricValue: Sendable, Codable, Equatable {
    /// The z quantile of the two-sided 95 % normal interval used everywhere (rounded, as is customary).
    public static let z95 = 1.96

    public var metric: Metric
    /// The metric's value: the mean over users, the pooled RMSE/MAE, or the set-level coverage.
    public var value: Double
    /// Number of users it was computed over.
    public var n: Int
    /// Sample standard deviation (divisor n − 1) of ``perUser``; nil when n < 2 or set-level.
    public var standardDeviation: Double?
    /// Standard error of ``value`` (see the type's documentation); nil when n < 2 or set-level.
    public var standardError: Double?
    /// value ± 1.96 · standardError; nil when n < 2 or set-level.
    public var confidenceInterval: ClosedRange<Double>?
    /// Per-user values, aligned with ``EvaluationResult/users``; empty for set-level metrics.
    public var perUser: [Double]
    /// For ``Metric/rmse`` and ``Metric/mae``: each user's number of target ratings; nil otherwise.
    public var perUserWeights: [Double]?

    public init(metric: Metric, value: Double, n: Int, standardDeviation: Double?, standardError: Double?,
                confidenceInterval: ClosedRange<Double>?, perUser: [Double], perUserWeights: [Double]?) {
        self.metric = metric
        self.value = value
        self.n = n
        self.standardDeviation = standardDeviation
        self.standardError = standardError
        self.confidenceInterval = confidenceInterval
        self.perUser = perUser
        self.perUserWeights = perUserWeights
    }

    /// Half the width of the confidence interval (1.96 · standard error), nil when there is none.
    public var halfWidth: Double? { standardError.map { MetricValue.z95 * $0 } }

    /// Mean of per-user values with x̄ ± 1.96 · s / √n.
    public static func mean(of perUser: [Double], metric: Metric) -> MetricValue {
        let n = perUser.count
        let mean = n == 0 ? 0 : perUser.reduce(0, +) / Double(n)
        let sd = sampleStandardDeviation(perUser, mean: mean)
        let se = sd.map { $0 / Double(n).squareRoot() }
        return MetricValue(metric: metric, value: mean, n: n, standardDeviation: sd, standardError: se,
                           confidenceInterval: se.map { interval(mean, $0) }, perUser: perUser, perUserWeights: nil)
    }

    /// A pooled rating error from per-user errors (each user's RMSE or MAE) and rating counts, with
    /// the user-clustered delta-method interval described on the type.
    public static func pooledRatingError(perUser: [Double], counts: [Double], metric: Metric) -> MetricValue {
        precondition(perUser.count == counts.count && metric.isRating)
        let n = perUser.count
        let squared = metric == .rmse
        // e_u: the user's summed squared (absolute) error
        let e = zip(perUser, counts).map { squared ? $1 * $0 * $0 : $1 * $0 }
        let total = counts.reduce(0, +)
        let ratio = total > 0 ? e.reduce(0, +) / total : 0
        let value = squared ? ratio.squareRoot() : ratio
        let sd = sampleStandardDeviation(perUser, mean: n == 0 ? 0 : perUser.reduce(0, +) / Double(n))
        var se: Double? = nil
        if n >= 2 && total > 0 {
            let mbar = total / Double(n)
            var ss = 0.0
            for u in 0..<n {
                let d = e[u] - ratio * counts[u]
                ss += d * d
            }
            let seRatio = (ss / Double(n - 1)).squareRoot() / (mbar * Double(n).squareRoot())
            se = squared ? (value > 0 ? seRatio / (2 * value) : 0) : seRatio
        }
        return MetricValue(metric: metric, value: value, n: n, standardDeviation: sd, standardError: se,
                           confidenceInterval: se.map { interval(value, $0) }, perUser: perUser,
                           perUserWeights: counts)
    }

    /// A set-level value (coverage): no per-user values, no interval.
    public static func setLevel(_ value: Double, n: Int, metric: Metric) -> MetricValue {
        MetricValue(metric: metric, value: value, n: n, standardDeviation: nil, standardError: nil,
                    confidenceInterval: nil, perUser: [], perUserWeights: nil)
    }

    static func sampleStandardDeviation(_ x: [Double], mean: Double) -> Double? {
        guard x.count >= 2 else { return nil }
        var ss = 0.0
        for v in x { ss += (v - mean) * (v - mean) }
        return (ss / Double(x.count - 1)).squareRoot()
    }

    private static func interval(_ center: Double, _ se: Double) -> ClosedRange<Double> {
        (center - z95 * se)...(center + z95 * se)
    }
}

extension MetricValue: CustomStringConvertible {
    /// "ndcg@100 = 0.4213 ± 0.0061 (n = 10000)".
    public var description: String {
        func f(_ x: Double) -> String {
            let scaled = (x * 10000).rounded() / 10000
            return "\(scaled)"
        }
        if let h = halfWidth { return "\(metric.name) = \(f(value)) ± \(f(h)) (n = \(n))" }
        return "\(metric.name) = \(f(value)) (n = \(n))"
    }
}
