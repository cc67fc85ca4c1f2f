#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A metric over the final runs of one activation: the mean over seeds with a Student-t interval
/// (n = seeds) and the mean over users of the seed-averaged per-user values with a normal interval
/// (n = users).
public struct MetricSummary: Sendable, Codable, Equatable {
    public var acrossSeeds: Estimate
    public var acrossUsers: Estimate?
}

/// Means over an activation's final runs of the probe numbers, and how many runs passed each property.
public struct ProbeSummary: Sendable, Codable, Equatable {
    public var runs: Int
    public var effectiveRank: Double
    public var orderPreserved: Double
    public var satisfiedAsStated: Double
    public var kendallTau: Double
    public var neighbourOverlap: Double
    public var chanceOverlap: Double
    public var zeroCodeUsers: Double
    public var zeroCodeItems: Double
    public var zeroCodeNegatedUsers: Double
    public var deadUnitFraction: Double
    public var constantUnitFraction: Double
    /// enc(0) = 0 in every run.
    public var zeroMapsToZero: Bool
    public var p1Passes: Int
    public var p2Passes: Int
    public var p3Passes: Int

    init(_ reports: [ProbeReport]) {
        func avg(_ f: (ProbeReport) -> Double) -> Double { Statistics.mean(reports.map(f)) }
        runs = reports.count
        effectiveRank = avg { $0.p1.effectiveRank }
        orderPreserved = avg { $0.p2.orderPreserved.value }
        satisfiedAsStated = avg { $0.p2.satisfiedAsStated.value }
        kendallTau = avg { $0.p2.kendallTau.value }
        neighbourOverlap = avg { $0.p2.neighbourOverlap.value }
        chanceOverlap = avg { $0.p2.chanceOverlap }
        zeroCodeUsers = avg { $0.p3.zeroCodeUsers.value }
        zeroCodeItems = avg { $0.p3.zeroCodeItems.n > 0 ? $0.p3.zeroCodeItems.value : 0 }
        zeroCodeNegatedUsers = avg { $0.p3.zeroCodeNegatedUsers.value }
        deadUnitFraction = avg { $0.p3.deadUnitFraction }
        constantUnitFraction = avg { $0.p3.constantUnitFraction }
        zeroMapsToZero = reports.allSatisfy { $0.p3.zeroMapsToZero }
        p1Passes = reports.filter { $0.p1.verdict.passed }.count
        p2Passes = reports.filter { $0.p2.verdict.passed }.count
        p3Passes = reports.filter { $0.p3.verdict.passed }.count
    }
}

/// One candidate's outcome.
public struct ActivationSummary: Sendable, Codable, Equatable {
    public var activation: Activation
    public var family: ActivationFamily
    public var theoryVerdict: TheoryVerdict
    public var theoryReason: String
    public var chosenLearningRate: Float
    public var chosenRegularization: Float
    /// Metric name → summary.
    public var validation: [String: MetricSummary]
    public var test: [String: MetricSummary]
    public var probes: ProbeSummary
    /// Training seconds per final run (mean over seeds, Student-t interval) and of the whole grid.
    public var trainSecondsPerRun: Estimate
    public var tuningSeconds: Double
    public var meanEpochsRun: Double
}

/// The paired comparison of the best sigmoid-like activation with the best other one (best by
/// mean validation metric). Differences are sigmoid-like − other in the metric's units.
public struct FamilyComparison: Sendable, Codable, Equatable {
    public var metric: String
    public var higherIsBetter: Bool
    public var bestSigmoidLike: Activation
    public var bestOther: Activation
    public var validationTTest: PairedTTest
    public var validationWilcoxon: WilcoxonSignedRankTest
    public var testTTest: PairedTTest
    public var testWilcoxon: WilcoxonSignedRankTest
}

/// What the selection recommends, and on what basis.
public struct Recommendation: Sendable, Codable, Equatable {
    public enum Basis: String, Sendable, Codable {
        /// The measured best is sigmoid-like: theory and measurement agree.
        case both = "theory and measurement"
        /// The measured best is not sigmoid-like, but not significantly better than the best sigmoid-like one.
        case theory
        /// The measured best is significantly better than every sigmoid-like candidate: measurement wins.
        case measurement
        /// No sigmoid-like candidate (or only sigmoid-like ones): measurement alone.
        case measurementOnly = "measurement only"
    }
    public var activation: Activation
    public var family: ActivationFamily
    public var basis: Basis
    /// The activation with the best mean validation metric.
    public var measuredBest: Activation
    /// True when the measured best is sigmoid-like (what the theory predicts).
    public var theoryAgrees: Bool
    public var reason: String
}

/// The outcome of ``ActivationSelection/run(on:progress:)``: JSON (Codable), Markdown and SVG.
public struct SelectionReport: Sendable, Codable, Equatable {
    public var model: String
    public var selectionMetric: String
    public var reportedMetrics: [String]
    public var selection: ActivationSelection
    public var activations: [ActivationSummary]
    public var grids: [String: [GridPoint]]
    public var runs: [SelectionRun]
    public var comparison: FamilyComparison?
    public var recommendation: Recommendation
    public var seconds: Double
    /// Free-form label for reports (e.g. the dataset name); not used by the computation.
    public var label: String?

    static func assemble(selection: ActivationSelection, runs: [SelectionRun], grids: [String: [GridPoint]],
                         seconds: Double) throws -> SelectionReport {
        let key = selection.resolvedSelectionMetric
        let metrics = selection.resolvedReportedMetrics
        var summaries: [ActivationSummary] = []
        for a in selection.candidates {
            let rs = runs.filter { $0.activation == a }
            guard let first = rs.first else { continue }
            let c = a.classify()
            func summarize(_ pick: (SelectionRun) -> [String: Double], _ users: (SelectionRun) -> [String: [Double]])
                -> [String: MetricSummary] {
                var out: [String: MetricSummary] = [:]
                for m in metrics {
                    let seedValues = rs.compactMap { pick($0)[m.name] }
                    guard seedValues.count == rs.count else { continue }
                    let perUser = seedAveraged(rs.map { users($0)[m.name] ?? [] })
                    out[m.name] = MetricSummary(acrossSeeds: Estimate.studentMean(seedValues),
                                                acrossUsers: perUser.map { Estimate.mean($0) })
                }
                return out
            }
            let points = grids[a.name] ?? []
            summaries.append(ActivationSummary(
                activation: a, family: c.family, theoryVerdict: c.verdict, theoryReason: c.reason,
                chosenLearningRate: first.learningRate, chosenRegularization: first.regularization,
                validation: summarize({ $0.validation }, { $0.validationPerUser }),
                test: summarize({ $0.test }, { $0.testPerUser }),
                probes: ProbeSummary(rs.map(\.probe)),
                trainSecondsPerRun: Estimate.studentMean(rs.map(\.trainSeconds)),
                tuningSeconds: points.reduce(0) { $0 + $1.seconds },
                meanEpochsRun: Statistics.mean(rs.map { Double($0.epochsRun) })))
        }
        func val(_ s: ActivationSummary) -> Double { s.validation[key.name]?.acrossSeeds.value ?? .nan }
        func best(_ list: [ActivationSummary]) -> ActivationSummary? {
            list.reduce(nil) { acc, s in
                guard let acc else { return s }
                return ActivationSelection.better(val(s), than: val(acc), key) ? s : acc
            }
        }
        guard let measured = best(summaries) else { throw AERecError.data("activation selection: no runs") }
        let sig = best(summaries.filter { $0.family == .sigmoidLike })
        let oth = best(summaries.filter { $0.family != .sigmoidLike })
        var comparison: FamilyComparison? = nil
        if let sig, let oth {
            func perUser(_ a: Activation, test: Bool) -> [Double] {
                let rs = runs.filter { $0.activation == a }
                return seedAveraged(rs.map { (test ? $0.testPerUser : $0.validationPerUser)[key.name] ?? [] }) ?? []
            }
            let sv = perUser(sig.activation, test: false), ov = perUser(oth.activation, test: false)
            let st = perUser(sig.activation, test: true), ot = perUser(oth.activation, test: true)
            if sv.count == ov.count, st.count == ot.count, sv.count > 1, st.count > 1 {
                comparison = FamilyComparison(
                    metric: key.name, higherIsBetter: key.higherIsBetter, bestSigmoidLike: sig.activation,
                    bestOther: oth.activation, validationTTest: Statistics.pairedTTest(sv, ov),
                    validationWilcoxon: Statistics.wilcoxonSignedRank(sv, ov),
                    testTTest: Statistics.pairedTTest(st, ot), testWilcoxon: Statistics.wilcoxonSignedRank(st, ot))
            }
        }
        let recommendation = recommend(measured: measured, sig: sig, comparison: comparison, key: key,
                                       alpha: selection.significanceLevel, value: val)
        return SelectionReport(model: selection.model.rawValue, selectionMetric: key.name,
                               reportedMetrics: metrics.map(\.name), selection: selection, activations: summaries,
                               grids: grids, runs: runs, comparison: comparison, recommendation: recommendation,
                               seconds: seconds, label: nil)
    }

    static func recommend(measured: ActivationSummary, sig: ActivationSummary?, comparison: FamilyComparison?,
                          key: Metric, alpha: Double, value: (ActivationSummary) -> Double) -> Recommendation {
        let f = { (x: Double) in Statistics.format(x) }
        if measured.family == .sigmoidLike {
            var reason = "\(measured.activation.name) (sigmoid-like) has the best mean validation \(key.name), \(f(value(measured))): theory and measurement agree"
            if let c = comparison {
                reason += "; against the best other activation \(c.bestOther.name): validation Δ = \(f(c.validationTTest.meanDifference)), p = \(f(c.validationTTest.pValue))"
            }
            return Recommendation(activation: measured.activation, family: .sigmoidLike, basis: .both,
                                  measuredBest: measured.activation, theoryAgrees: true, reason: reason)
        }
        guard let sig, let c = comparison else {
            return Recommendation(activation: measured.activation, family: measured.family, basis: .measurementOnly,
                                  measuredBest: measured.activation, theoryAgrees: false,
                                  reason: "\(measured.activation.name) has the best mean validation \(key.name), \(f(value(measured))); no sigmoid-like candidate to compare with the theory")
        }
        let p = c.validationTTest.pValue
        let gap = "\(measured.activation.name) (\(measured.family)) leads the best sigmoid-like \(sig.activation.name) on validation by \(f(abs(c.validationTTest.meanDifference))) \(key.name) (paired t-test over \(c.validationTTest.n) users, p = \(f(p)))"
        if p >= alpha {
            return Recommendation(activation: sig.activation, family: .sigmoidLike, basis: .theory,
                                  measuredBest: measured.activation, theoryAgrees: false,
                                  reason: "\(gap), not significant at \(f(alpha)): measurement cannot separate them, so the theory's choice stands")
        }
        return Recommendation(activation: measured.activation, family: measured.family, basis: .measurement,
                              measuredBest: measured.activation, theoryAgrees: false,
                              reason: "\(gap), significant at \(f(alpha)): measurement disagrees with the theory and wins")
    }

    /// The element-wise mean of per-user arrays (nil when they are missing or misaligned).
    static func seedAveraged(_ arrays: [[Double]]) -> [Double]? {
        guard let n = arrays.first?.count, n > 0, arrays.allSatisfy({ $0.count == n }) else { return nil }
        var out = [Double](repeating: 0, count: n)
        for a in arrays { for i in 0..<n { out[i] += a[i] } }
        return out.map { $0 / Double(arrays.count) }
    }

    // MARK: outputs

    /// Pretty-printed JSON with sorted keys.
    public func json(perUserValues: Bool = true) throws -> String {
        var copy = self
        if !perUserValues {
            for i in copy.runs.indices {
                copy.runs[i].validationPerUser = [:]; copy.runs[i].testPerUser = [:]
                copy.runs[i].validationUsers = []; copy.runs[i].testUsers = []
            }
        }
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        return String(decoding: try e.encode(copy), as: UTF8.self)
    }

    public static func decode(json: String) throws -> SelectionReport {
        try JSONDecoder().decode(SelectionReport.self, from: Data(json.utf8))
    }

    /// A Markdown section: the per-activation table, the recommendation and the paired tests.
    public func markdown(title: String? = nil) -> String {
        let f = { (x: Double) in Statistics.format(x) }
        let pct = { (x: Double) in Statistics.format(x * 100, digits: 1) + " %" }
        let key = selectionMetric
        let second = reportedMetrics.first { $0 != key }
        let s = selection
        var lines: [String] = []
        lines.append("### \(title ?? "\(model): latent activation selection\(label.map { " on \($0)" } ?? "")")")
        lines.append("")
        lines.append("Grid lr ∈ {\(s.learningRates.map { formatProperty($0) }.joined(separator: ", "))} × reg ∈ {\(s.resolvedRegularizations.map { formatProperty($0) }.joined(separator: ", "))} chosen on validation \(key) (seed \(s.tuningSeed)), then seeds {\(s.seeds.map(String.init).joined(separator: ", "))}; \(s.runsPerCandidate) runs per activation, \(s.base.patience.map { $0 >= s.base.resolvedEpochs } ?? false ? "\(s.base.resolvedEpochs) epochs each (no early stopping), best validation epoch kept" : "≤ \(s.base.resolvedEpochs) epochs, early-stopping patience \(s.base.patience.map(String.init) ?? "20")"). Intervals: 95 %, across seeds (Student t) and across users (normal, seed-averaged per-user values).")
        lines.append("")
        var header = "| activation | family | theory | lr | reg | val \(key) | test \(key) (seeds) | test \(key) (users)"
        if let second { header += " | test \(second)" }
        header += " | P1 eff. rank | P2 order kept | P2 τ | top-k overlap | P3 zero codes users / items / −users | s / run |"
        lines.append(header)
        lines.append("|" + String(repeating: " --- |", count: header.split(separator: "|").count))
        for a in activations {
            let v = a.validation[key]?.acrossSeeds, t = a.test[key]
            var row = "| \(a.activation.name) | \(a.family) | \(a.theoryVerdict) | \(formatProperty(a.chosenLearningRate)) | \(formatProperty(a.chosenRegularization)) | \(v.map { "\(f($0.value)) ± \(f($0.halfWidth))" } ?? "–") | \(t.map { "\(f($0.acrossSeeds.value)) ± \(f($0.acrossSeeds.halfWidth))" } ?? "–") | \(t?.acrossUsers.map { "± \(f($0.halfWidth))" } ?? "–")"
            if let second { row += " | \(a.test[second].map { "\(f($0.acrossSeeds.value)) ± \(f($0.acrossSeeds.halfWidth))" } ?? "–")" }
            let p = a.probes
            row += " | \(Statistics.format(p.effectiveRank, digits: 1)) | \(pct(p.orderPreserved)) | \(Statistics.format(p.kendallTau, digits: 3)) | \(Statistics.format(p.neighbourOverlap, digits: 3)) | \(pct(p.zeroCodeUsers)) / \(pct(p.zeroCodeItems)) / \(pct(p.zeroCodeNegatedUsers)) | \(Statistics.format(a.trainSecondsPerRun.value, digits: 1)) |"
            lines.append(row)
        }
        lines.append("")
        lines.append("**Recommendation: \(recommendation.activation.name)** (\(recommendation.family); basis: \(recommendation.basis.rawValue)). \(recommendation.reason).")
        if let c = comparison {
            lines.append("")
            lines.append("Paired tests, best sigmoid-like \(c.bestSigmoidLike.name) − best other \(c.bestOther.name), per-user \(c.metric) averaged over seeds (\(c.higherIsBetter ? "higher" : "lower") is better):")
            lines.append("")
            lines.append("| users | n | mean Δ [95 % CI] | paired t (p) | Wilcoxon W (p, method) |")
            lines.append("| --- | --- | --- | --- | --- |")
            for (name, t, w) in [("validation", c.validationTTest, c.validationWilcoxon), ("test", c.testTTest, c.testWilcoxon)] {
                lines.append("| \(name) | \(t.n) | \(f(t.meanDifference)) [\(f(t.confidenceInterval.low)), \(f(t.confidenceInterval.high))] | \(Statistics.format(t.t, digits: 2)) (\(f(t.pValue))) | \(Statistics.format(w.statistic, digits: 1)) (\(f(w.pValue)), \(w.method)) |")
            }
        }
        lines.append("")
        lines.append("P1 passes when m < n and the effective rank ≥ \(formatProperty(Float(s.probe.thresholds.minimumEffectiveRank))); P2 when ≥ \(pct(s.probe.thresholds.minimumOrderPreserved)) of ordered triples keep their order; P3 when ≤ \(pct(s.probe.thresholds.maximumZeroCodeFraction)) of codes are zero (ε = \(formatProperty(s.probe.epsilon))). Passes per activation (of \(s.seeds.count) seeds): " +
            activations.map { "\($0.activation.name) \($0.probes.p1Passes)/\($0.probes.p2Passes)/\($0.probes.p3Passes)" }.joined(separator: ", ") + ".")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A hand-written SVG: test value of the selection metric per activation, mean over seeds with
    /// its 95 % interval across seeds (thick) and across users (thin), coloured by family.
    public func svg(title: String? = nil) -> String {
        let key = selectionMetric
        let items = activations.compactMap { a -> IntervalChart.Item? in
            guard let t = a.test[key] else { return nil }
            return IntervalChart.Item(label: a.activation.name, value: t.acrossSeeds.value, low: t.acrossSeeds.low,
                                      high: t.acrossSeeds.high, outerLow: t.acrossUsers?.low,
                                      outerHigh: t.acrossUsers?.high, family: a.family)
        }
        let chart = IntervalChart(title: title ?? "\(model)\(label.map { " on \($0)" } ?? ""): test \(key) by latent activation",
                                  yLabel: "test \(key)", items: items,
                                  note: "thick: 95 % CI across seeds; thin: across users")
        return chart.svg()
    }
}
