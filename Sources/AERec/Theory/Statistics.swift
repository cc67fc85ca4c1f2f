#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point estimate with a two-sided 95 % confidence interval.
public struct Estimate: Sendable, Codable, Equatable, CustomStringConvertible {
    public var value: Double
    public var low: Double
    public var high: Double
    /// The number of independent units behind it (users, anchors, triples, seeds).
    public var n: Int

    public init(value: Double, low: Double, high: Double, n: Int) {
        self.value = value
        self.low = low
        self.high = high
        self.n = n
    }

    /// Half the interval's width.
    public var halfWidth: Double { (high - low) / 2 }

    /// A proportion s/n with the Wilson score interval (z = 1.96); n = 0 gives NaN.
    public static func proportion(_ successes: Int, of n: Int) -> Estimate {
        guard n > 0 else { return Estimate(value: .nan, low: .nan, high: .nan, n: 0) }
        let z = 1.96, p = Double(successes) / Double(n), nn = Double(n)
        let denom = 1 + z * z / nn
        let center = (p + z * z / (2 * nn)) / denom
        let half = z * (p * (1 - p) / nn + z * z / (4 * nn * nn)).squareRoot() / denom
        return Estimate(value: p, low: max(0, center - half), high: min(1, center + half), n: n)
    }

    /// The mean of `values` with x̄ ± 1.96·s/√n (normal interval, for many units such as users).
    /// Fewer than two values: the interval is the point.
    public static func mean(_ values: [Double]) -> Estimate {
        let n = values.count
        guard n > 0 else { return Estimate(value: .nan, low: .nan, high: .nan, n: 0) }
        let m = Statistics.mean(values)
        guard n > 1 else { return Estimate(value: m, low: m, high: m, n: 1) }
        let h = 1.96 * Statistics.standardDeviation(values) / Double(n).squareRoot()
        return Estimate(value: m, low: m - h, high: m + h, n: n)
    }

    /// The mean of a few values (seeds) with the Student-t interval x̄ ± t(0.975, n−1)·s/√n.
    public static func studentMean(_ values: [Double]) -> Estimate {
        let n = values.count
        guard n > 1 else { return mean(values) }
        let m = Statistics.mean(values)
        let h = Statistics.studentTQuantile(0.975, degreesOfFreedom: Double(n - 1)) *
            Statistics.standardDeviation(values) / Double(n).squareRoot()
        return Estimate(value: m, low: m - h, high: m + h, n: n)
    }

    /// "0.4213 [0.4101, 0.4325]".
    public var description: String {
        "\(Statistics.format(value)) [\(Statistics.format(low)), \(Statistics.format(high))]"
    }
}

/// Two-sided paired t-test on differences d = a − b.
public struct PairedTTest: Sendable, Codable, Equatable {
    public var n: Int
    public var meanDifference: Double
    public var standardDeviation: Double
    public var t: Double
    public var degreesOfFreedom: Double
    /// Two-sided p-value.
    public var pValue: Double
    /// 95 % interval of the mean difference (Student t).
    public var confidenceInterval: Estimate
}

/// Wilcoxon signed-rank test on paired differences (zeros dropped, Wilcoxon's convention).
public struct WilcoxonSignedRankTest: Sendable, Codable, Equatable {
    /// Non-zero differences used.
    public var n: Int
    /// Zero differences dropped.
    public var zeros: Int
    /// Sum of the ranks of positive (resp. negative) differences (average ranks for ties).
    public var wPlus: Double
    public var wMinus: Double
    /// min(W+, W−) (the statistic scipy reports for the two-sided test).
    public var statistic: Double
    /// The normal approximation's z (tie-corrected variance, no continuity correction).
    public var z: Double
    /// Two-sided p-value.
    public var pValue: Double
    /// "exact" (n ≤ 50 and no tied |d|: the null distribution of W+ counted exactly) or "normal".
    public var method: String
}

/// Spearman's rank correlation with a two-sided p-value (t approximation with n − 2 df).
public struct RankCorrelation: Sendable, Codable, Equatable {
    public var n: Int
    public var rho: Double
    public var pValue: Double
}

/// The statistics the probes and the activation selection use, implemented here (no dependency).
public enum Statistics {
    public static func mean(_ x: [Double]) -> Double { x.isEmpty ? .nan : x.reduce(0, +) / Double(x.count) }

    /// Sample standard deviation (divisor n − 1); 0 for fewer than two values.
    public static func standardDeviation(_ x: [Double]) -> Double {
        guard x.count > 1 else { return 0 }
        let m = mean(x)
        var ss = 0.0
        for v in x { ss += (v - m) * (v - m) }
        return (ss / Double(x.count - 1)).squareRoot()
    }

    /// Φ(z), the standard normal CDF.
    public static func normalCDF(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }

    /// The regularised incomplete beta function I_x(a, b) (continued fraction, Numerical Recipes' betacf).
    public static func regularizedIncompleteBeta(_ a: Double, _ b: Double, _ x: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let lbeta = lgamma(a + b) - lgamma(a) - lgamma(b)
        let front = exp(lbeta + a * log(x) + b * log1p(-x))
        if x < (a + 1) / (a + b + 2) { return front * betaContinuedFraction(a, b, x) / a }
        return 1 - front * betaContinuedFraction(b, a, 1 - x) / b
    }

    private static func betaContinuedFraction(_ a: Double, _ b: Double, _ x: Double) -> Double {
        let tiny = 1e-300, eps = 1e-15
        let qab = a + b, qap = a + 1, qam = a - 1
        var c = 1.0, d = 1 - qab * x / qap
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...10_000 {
            let m2 = Double(2 * m), md = Double(m)
            var aa = md * (b - md) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + md) * (qab + md) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let del = d * c
            h *= del
            if abs(del - 1) < eps { break }
        }
        return h
    }

    /// P(|T| ≥ |t|) for Student's t with `df` degrees of freedom.
    public static func studentTTwoSidedP(_ t: Double, degreesOfFreedom df: Double) -> Double {
        guard t.isFinite else { return t.isNaN ? .nan : 0 }
        return regularizedIncompleteBeta(df / 2, 0.5, df / (df + t * t))
    }

    /// P(T ≤ t).
    public static func studentTCDF(_ t: Double, degreesOfFreedom df: Double) -> Double {
        let tail = 0.5 * studentTTwoSidedP(t, degreesOfFreedom: df)
        return t >= 0 ? 1 - tail : tail
    }

    /// The p-quantile of Student's t (bisection on the CDF; |error| < 1e-10).
    public static func studentTQuantile(_ p: Double, degreesOfFreedom df: Double) -> Double {
        precondition(p > 0 && p < 1 && df > 0)
        var lo = -1e4, hi = 1e4
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if studentTCDF(mid, degreesOfFreedom: df) < p { lo = mid } else { hi = mid }
            if hi - lo < 1e-12 { break }
        }
        return (lo + hi) / 2
    }

    /// Paired t-test of a − b (two-sided). Needs at least two pairs.
    public static func pairedTTest(_ a: [Double], _ b: [Double]) -> PairedTTest {
        precondition(a.count == b.count)
        let d = zip(a, b).map { $0 - $1 }
        let n = d.count
        let m = mean(d), s = standardDeviation(d)
        let df = Double(max(n - 1, 1))
        let se = s / Double(max(n, 1)).squareRoot()
        let t = se > 0 ? m / se : (m == 0 ? 0 : (m > 0 ? .infinity : -.infinity))
        let p = n > 1 ? (se > 0 ? studentTTwoSidedP(t, degreesOfFreedom: df) : (m == 0 ? 1 : 0)) : .nan
        let q = n > 1 ? studentTQuantile(0.975, degreesOfFreedom: df) : .nan
        return PairedTTest(n: n, meanDifference: m, standardDeviation: s, t: t, degreesOfFreedom: df, pValue: p,
                           confidenceInterval: Estimate(value: m, low: m - q * se, high: m + q * se, n: n))
    }

    /// Average ranks (1-based) of `x`, ties sharing the mean of their positions.
    public static func ranks(_ x: [Double]) -> [Double] {
        let order = x.indices.sorted { x[$0] < x[$1] || (x[$0] == x[$1] && $0 < $1) }
        var r = [Double](repeating: 0, count: x.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && x[order[j + 1]] == x[order[i]] { j += 1 }
            let avg = Double(i + j) / 2 + 1
            for k in i...j { r[order[k]] = avg }
            i = j + 1
        }
        return r
    }

    /// Wilcoxon signed-rank test of a − b (two-sided; zeros dropped).
    public static func wilcoxonSignedRank(_ a: [Double], _ b: [Double]) -> WilcoxonSignedRankTest {
        precondition(a.count == b.count)
        let all = zip(a, b).map { $0 - $1 }
        let d = all.filter { $0 != 0 }
        let n = d.count
        let r = ranks(d.map { abs($0) })
        var wPlus = 0.0, wMinus = 0.0
        for (x, rk) in zip(d, r) { if x > 0 { wPlus += rk } else { wMinus += rk } }
        let stat = min(wPlus, wMinus)
        let nn = Double(n)
        let meanW = nn * (nn + 1) / 4
        // tie correction: Σ (t³ − t) / 48 over groups of tied |d|
        var tieTerm = 0.0
        var hasTies = false
        let sortedAbs = d.map { abs($0) }.sorted()
        var i = 0
        while i < sortedAbs.count {
            var j = i
            while j + 1 < sortedAbs.count && sortedAbs[j + 1] == sortedAbs[i] { j += 1 }
            let t = Double(j - i + 1)
            if t > 1 { hasTies = true; tieTerm += (t * t * t - t) / 48 }
            i = j + 1
        }
        let varW = nn * (nn + 1) * (2 * nn + 1) / 24 - tieTerm
        let z = varW > 0 ? (wPlus - meanW) / varW.squareRoot() : 0
        if n == 0 {
            return WilcoxonSignedRankTest(n: 0, zeros: all.count, wPlus: 0, wMinus: 0, statistic: 0, z: 0, pValue: 1,
                                          method: "exact")
        }
        if n <= 50 && !hasTies {
            // exact: count subsets of {1..n} by sum; P(W+ ≤ stat) doubled
            let maxSum = n * (n + 1) / 2
            var counts = [Double](repeating: 0, count: maxSum + 1)
            counts[0] = 1
            for k in 1...n {
                for s in stride(from: maxSum, through: k, by: -1) { counts[s] += counts[s - k] }
            }
            let total = pow(2.0, nn)
            let lower = Int(stat.rounded())
            var cum = 0.0
            for s in 0...min(lower, maxSum) { cum += counts[s] }
            let p = min(1, 2 * cum / total)
            return WilcoxonSignedRankTest(n: n, zeros: all.count - n, wPlus: wPlus, wMinus: wMinus, statistic: stat,
                                          z: z, pValue: p, method: "exact")
        }
        let p = min(1, 2 * (1 - normalCDF(abs(z))))
        return WilcoxonSignedRankTest(n: n, zeros: all.count - n, wPlus: wPlus, wMinus: wMinus, statistic: stat, z: z,
                                      pValue: p, method: "normal")
    }

    /// Pearson correlation (NaN when either side is constant).
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count)
        let mx = mean(x), my = mean(y)
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) {
            sxy += (a - mx) * (b - my)
            sxx += (a - mx) * (a - mx)
            syy += (b - my) * (b - my)
        }
        guard sxx > 0, syy > 0 else { return .nan }
        return sxy / (sxx * syy).squareRoot()
    }

    /// Spearman's ρ (Pearson on average ranks) with a two-sided p-value from t = ρ·√((n−2)/(1−ρ²)).
    public static func spearman(_ x: [Double], _ y: [Double]) -> RankCorrelation {
        let n = x.count
        let rho = pearson(ranks(x), ranks(y))
        var p = Double.nan
        if n > 2 && rho.isFinite {
            if abs(rho) >= 1 { p = 0 } else {
                let t = rho * (Double(n - 2) / (1 - rho * rho)).squareRoot()
                p = studentTTwoSidedP(t, degreesOfFreedom: Double(n - 2))
            }
        }
        return RankCorrelation(n: n, rho: rho, pValue: p)
    }

    /// Kendall's τ-b of paired values, ties counted with a relative tolerance (nil when a side is
    /// all ties).
    public static func kendallTauB(_ x: [Double], _ y: [Double], tolerance: Double = 0) -> Double? {
        precondition(x.count == y.count)
        func tie(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= tolerance * max(abs(a), abs(b)) }
        var concordant = 0.0, discordant = 0.0, tiesX = 0.0, tiesY = 0.0
        let n = x.count
        for i in 0..<n {
            for j in (i + 1)..<max(i + 1, n) {
                let tx = tie(x[i], x[j]), ty = tie(y[i], y[j])
                if tx && ty { continue }
                if tx { tiesX += 1; continue }
                if ty { tiesY += 1; continue }
                if (x[i] < x[j]) == (y[i] < y[j]) { concordant += 1 } else { discordant += 1 }
            }
        }
        let denom = ((concordant + discordant + tiesX) * (concordant + discordant + tiesY)).squareRoot()
        guard denom > 0 else { return nil }
        return (concordant - discordant) / denom
    }

    /// "0.4213" (4 decimals), "1.2e-05" for tiny values.
    static func format(_ x: Double, digits: Int = 4) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
        if x != 0 && abs(x) < 1e-3 {
            var e = 0
            var m = abs(x)
            while m < 1 { m *= 10; e += 1 }
            let mant = (m * 10).rounded() / 10
            return "\(x < 0 ? "-" : "")\(mant)e-\(e < 10 ? "0" : "")\(e)"
        }
        var s = "\((x * pow(10, Double(digits))).rounded() / pow(10, Double(digits)))"
        if let dot = s.firstIndex(of: ".") {
            let decimals = s.distance(from: dot, to: s.endIndex) - 1
            if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
        }
        return s
    }
}
