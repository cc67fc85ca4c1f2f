/// The outcome of one evaluation: every requested metric with its confidence interval and per-user
/// values, and how many held-out users were evaluated or skipped.
public struct EvaluationResult: Sendable, Codable, Equatable {
    /// The metrics, in the order they were requested (duplicates removed).
    public var metrics: [Metric]
    /// Value of each metric. Encoded as a JSON object keyed by metric name.
    public var values: [Metric: MetricValue]
    /// Dataset user index (``HeldOutSet/users``) of each evaluated user: the order of every
    /// ``MetricValue/perUser`` array, so two results on the same held-out set pair up user by user.
    public var users: [Int32]
    /// Users with at least one target item (the n of every per-user metric).
    public var usersEvaluated: Int
    /// Users with an empty target, left out of every metric.
    public var usersSkipped: Int
    /// Wall-clock seconds the evaluation took (0 for the pure functions).
    public var seconds: Double

    public init(metrics: [Metric], values: [Metric: MetricValue], users: [Int32], usersEvaluated: Int,
                usersSkipped: Int, seconds: Double) {
        self.metrics = metrics
        self.values = values
        self.users = users
        self.usersEvaluated = usersEvaluated
        self.usersSkipped = usersSkipped
        self.seconds = seconds
    }

    /// The value of `metric`, nil if it was not requested.
    public subscript(metric: Metric) -> MetricValue? { values[metric] }

    /// The per-user values of `metric` (aligned with ``users``), nil if it was not requested; empty
    /// for set-level metrics.
    public func perUser(_ metric: Metric) -> [Double]? { values[metric]?.perUser }
}

extension EvaluationResult: CustomStringConvertible {
    /// One metric per line, then the user counts.
    public var description: String {
        var lines = metrics.compactMap { values[$0]?.description }
        lines.append("users evaluated \(usersEvaluated), skipped \(usersSkipped) (empty target)")
        return lines.joined(separator: "\n")
    }
}
