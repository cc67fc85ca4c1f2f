/// The families of latent activations that Susman's paper ("Theoretically informed selection of
/// latent activation in autoencoder based recommender systems", arXiv 2411.04315) reasons about,
/// and a classifier that assigns every ``Activation`` to one of them from MEASURED properties of
/// f, evaluated through the same code as the fused kernels (`activation(x)`,
/// `activation.derivative(x)`), never from a hand-written label.
///
/// Family rules (first match wins):
/// 1. identity: f(x) = x (|f(x) − x| ≤ 1e-6·max(1, |x|) on the grid and at the far points).
/// 2. ReLU-like: f(0) = 0 and f ≡ 0 on a half-line (the zero set is (−∞, c] or [c, ∞) with c = 0).
/// 3. tanh-like: f(0) = 0, odd, bounded above and below.
/// 4. sigmoid-like: f ≥ 0, f(0) > 0, bounded above, monotone non-decreasing and not constant.
/// 5. other: none of the above (``ActivationClassification/misses`` says which requirement fails).
///
/// Zero is EXACT zero as float32 computes it: a unit whose value is exactly 0 passes no signal
/// forward and (for ReLU) no gradient back. Values that are merely small are not zero: leaky
/// ReLU's 0.01·x is non-zero for every x < 0, so it has no zero half-line and is not ReLU-like
/// (it keeps non-zero pre-activations non-zero, which is exactly what the paper's P3 argument
/// against ReLU needs to fail). To keep underflow from creating zeros, the zero set is measured
/// on the dense grid [−20, 20], where none of the smooth activations underflows (sigmoid(−20) ≈
/// 2·10⁻⁹); far-out values (±10², …, ±10³⁰) only decide boundedness and the limits.
/// "Positive" for sigmoid-like is read as f ≥ 0 with f(0) > 0, so that hard sigmoid (exactly 0 for
/// x ≤ −3, 1 for x ≥ 3) belongs with the sigmoids; its zero half-line is reported in
/// ``ActivationProperties/zeroSet`` and matters for P3 (see ``ActivationClassification/reason``).
public enum ActivationFamily: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case sigmoidLike = "sigmoid-like"
    case tanhLike = "tanh-like"
    case reluLike = "relu-like"
    case identity
    case other

    public var description: String { rawValue }

    /// What the theory says about latent activations of this family.
    public var verdict: TheoryVerdict {
        switch self {
        case .sigmoidLike: return .viable
        case .tanhLike: return .failsP2WithP1
        case .reluLike: return .failsP3
        case .identity: return .linear
        case .other: return .notCovered
        }
    }

    /// One line: why the theory gives this family its verdict (AERec's reading of the paper).
    public var verdictReason: String {
        switch self {
        case .sigmoidLike:
            return "f > 0 at the origin and never negative: the kernel of the weights (non-trivial once m < n) maps to f(b) ≠ 0 and no half-space of inputs is sent to the zero code, so P1–P3 can hold together"
        case .tanhLike:
            return "odd with f(0) = 0: once m < n (P1) the weights have a kernel; preserving dot-product order through it (P2) forces ⟨enc x, enc v⟩ to ignore v, and with enc(0) = 0 the codes collapse to 0"
        case .reluLike:
            return "f ≡ 0 on a half-line: every input whose pre-activations all fall there (e.g. the negation of an input with positive pre-activations) gets the zero code, so P3 fails"
        case .identity:
            return "a linear encoder: with m < n its kernel is mapped to the bias alone and dot products are those of a projection; the linear reference, not a family the theory ranks"
        case .other:
            return "fits none of the paper's families (sigmoid-, tanh-, ReLU-like), so the theory makes no claim"
        }
    }
}

/// The theory's verdict on a family (Susman, arXiv 2411.04315).
public enum TheoryVerdict: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// P1–P3 can hold jointly (sigmoid-like).
    case viable
    /// Non-zero inputs reach the zero code (ReLU-like).
    case failsP3 = "fails P3"
    /// P2 cannot hold together with P1 without collapsing the code (tanh-like).
    case failsP2WithP1 = "fails P2 with P1"
    /// The linear encoder (identity).
    case linear
    /// The paper's families do not cover the activation.
    case notCovered = "not covered"

    public var description: String { rawValue }
}

/// Where f is exactly zero on the measuring grid [−20, 20].
public enum ZeroSet: String, Sendable, Codable, CustomStringConvertible {
    /// f ≠ 0 everywhere on the grid.
    case empty
    /// f = 0 at x = 0 only.
    case origin
    /// f = 0 on (−∞, c] (c in ``ActivationProperties/zeroSetBoundary``), including the far negative points.
    case leftHalfLine = "left half-line"
    /// f = 0 on [c, ∞), including the far positive points.
    case rightHalfLine = "right half-line"
    /// Some other set (isolated points, intervals).
    case other

    public var description: String { rawValue }
}

/// Properties of f measured numerically.
public struct ActivationProperties: Sendable, Codable, Equatable {
    /// f(0).
    public var valueAtZero: Float
    /// f′(0) as the kernel computes it.
    public var derivativeAtZero: Float
    /// min f over the grid and the far points.
    public var minimum: Float
    /// max f over the grid and the far points.
    public var maximum: Float
    /// f(−10³⁰) and f(+10³⁰) (the limits as float32 sees them).
    public var limitAtMinusInfinity: Float
    public var limitAtPlusInfinity: Float
    /// f(−20)/(−20) and f(20)/20: the slope of the tails (leaky ReLU's left slope is 0.01).
    public var leftTailSlope: Float
    public var rightTailSlope: Float
    /// f′(−20): equal to the left tail slope when the left tail is linear (leaky ReLU), ≈ 0 when f
    /// flattens out (ELU, sigmoid).
    public var leftTailDerivative: Float
    /// f stops growing (resp. decreasing) far out: |f(±10³⁰) − f(±10¹⁵)| ≤ 10⁻³·(1 + |f(±10¹⁵)|) and finite.
    public var boundedAbove: Bool
    public var boundedBelow: Bool
    /// Non-decreasing on the grid and at the far points (steps down by at most 10⁻⁶·max(1, |f|)),
    /// and f′ ≥ −10⁻⁶ on the grid.
    public var monotone: Bool
    /// f(−x) = −f(x) within 10⁻⁶·max(1, |f(x)|) on the grid and at the far points.
    public var odd: Bool
    /// f ≥ 0 on the grid and at the far points.
    public var nonNegative: Bool
    /// f > 0 on the grid (strict).
    public var positive: Bool
    /// f(x) = x within 10⁻⁶·max(1, |x|) everywhere measured.
    public var isIdentity: Bool
    /// Where f is exactly 0 on the grid.
    public var zeroSet: ZeroSet
    /// For a half-line zero set, its finite end c (ReLU: 0, hard sigmoid: −3).
    public var zeroSetBoundary: Float?
    /// Number of grid points and the grid's range.
    public var gridPoints: Int
    public var gridRange: ClosedRange<Float>
}

/// An activation's family, measured properties and the theory's verdict.
public struct ActivationClassification: Sendable, Codable, Equatable {
    public var activation: Activation
    public var family: ActivationFamily
    public var verdict: TheoryVerdict
    /// One line: the verdict's reason, with activation-specific remarks (hard sigmoid's zero
    /// half-line, leaky ReLU's leak, …).
    public var reason: String
    public var properties: ActivationProperties
    /// For every family, the requirements this activation fails (empty for its own family).
    /// Keys are ``ActivationFamily`` raw values.
    public var misses: [String: [String]]
}

extension Activation {
    /// The activation's family, measured (see ``ActivationFamily``).
    public var family: ActivationFamily { classify().family }

    /// Measures f and classifies it.
    public func classify() -> ActivationClassification { ActivationClassifier.classify(self) }
}

/// Measures an activation's properties on a dense grid and at far points and assigns its family.
public enum ActivationClassifier {
    /// The dense grid's half-width and step.
    public static let gridRadius: Float = 20
    public static let gridStep: Float = 1.0 / 1024  // exact in binary: x = k/1024 hits 0, ±3, ±20 exactly
    /// The far points (both signs) used for limits and boundedness.
    public static let farPoints: [Float] = [1e2, 1e3, 1e4, 1e6, 1e8, 1e10, 1e15, 1e20, 1e30]
    /// Relative tolerance for equalities (odd, identity, monotone steps).
    public static let tolerance: Float = 1e-6

    /// Classifies every activation in ``Activation/all``.
    public static func classifyAll() -> [ActivationClassification] { Activation.all.map(classify) }

    public static func measure(_ f: Activation) -> ActivationProperties {
        let n = Int((gridRadius / gridStep).rounded())
        let xs: [Float] = (-n...n).map { Float($0) * gridStep }
        let ys = xs.map { f($0) }
        let farNeg = farPoints.reversed().map { -$0 }, farPos = farPoints
        let yNeg = farNeg.map { f($0) }, yPos = farPos.map { f($0) }
        let tol = tolerance
        func close(_ a: Float, _ b: Float, scale: Float) -> Bool { abs(a - b) <= tol * max(1, abs(scale)) }

        let all = yNeg + ys + yPos
        let finite = all.filter(\.isFinite)
        let minimum = finite.min() ?? .nan, maximum = finite.max() ?? .nan

        // identity
        var isIdentity = true
        for (x, y) in zip(farNeg + xs + farPos, all) where !close(y, x, scale: x) { isIdentity = false; break }

        // monotone: values along the ordered points, and the derivative on the grid
        var monotone = true
        for i in 1..<all.count where all[i] < all[i - 1] - tol * max(1, abs(all[i - 1])) || all[i].isNaN {
            monotone = false
            break
        }
        if monotone {
            for x in xs where f.derivative(x) < -tol { monotone = false; break }
        }

        // odd
        var odd = true
        for i in 0..<xs.count where !close(ys[i], -ys[xs.count - 1 - i], scale: ys[i]) { odd = false; break }
        if odd {
            for (a, b) in zip(yNeg, yPos.reversed()) where !close(a, -b, scale: b) { odd = false; break }
        }

        // boundedness: the far values stop moving between 1e15 and 1e30
        func settles(_ a: Float, _ b: Float) -> Bool { a.isFinite && b.isFinite && abs(b - a) <= 1e-3 * (1 + abs(a)) }
        let i15 = farPoints.firstIndex(of: 1e15)!, i30 = farPoints.count - 1
        let boundedAbove = settles(yPos[i15], yPos[i30])
        let boundedBelow = settles(f(-farPoints[i15]), f(-farPoints[i30]))

        let nonNegative = all.allSatisfy { $0 >= 0 }
        let positive = ys.allSatisfy { $0 > 0 }

        // exact zero set on the grid
        let zeroIdx = ys.indices.filter { ys[$0] == 0 }
        var zeroSet = ZeroSet.empty
        var boundary: Float? = nil
        if !zeroIdx.isEmpty {
            let contiguous = zeroIdx.last! - zeroIdx.first! + 1 == zeroIdx.count
            if zeroIdx == [n] {
                zeroSet = .origin
            } else if contiguous && zeroIdx.first == 0 && yNeg.allSatisfy({ $0 == 0 }) {
                zeroSet = .leftHalfLine
                boundary = xs[zeroIdx.last!]
            } else if contiguous && zeroIdx.last == xs.count - 1 && yPos.allSatisfy({ $0 == 0 }) {
                zeroSet = .rightHalfLine
                boundary = xs[zeroIdx.first!]
            } else {
                zeroSet = .other
            }
        }
        return ActivationProperties(
            valueAtZero: f(0), derivativeAtZero: f.derivative(0), minimum: minimum, maximum: maximum,
            limitAtMinusInfinity: f(-1e30), limitAtPlusInfinity: f(1e30),
            leftTailSlope: f(-gridRadius) / -gridRadius, rightTailSlope: f(gridRadius) / gridRadius,
            leftTailDerivative: f.derivative(-gridRadius),
            boundedAbove: boundedAbove, boundedBelow: boundedBelow, monotone: monotone, odd: odd,
            nonNegative: nonNegative, positive: positive, isIdentity: isIdentity, zeroSet: zeroSet,
            zeroSetBoundary: boundary, gridPoints: xs.count, gridRange: -gridRadius...gridRadius)
    }

    /// The requirements of each family that `p` fails.
    public static func misses(_ p: ActivationProperties) -> [ActivationFamily: [String]] {
        var m: [ActivationFamily: [String]] = [:]
        func fmt(_ x: Float) -> String { formatProperty(x) }
        m[.identity] = p.isIdentity ? [] : ["f(x) ≠ x"]
        var relu: [String] = []
        if p.valueAtZero != 0 { relu.append("f(0) = \(fmt(p.valueAtZero)) ≠ 0") }
        let halfLine = p.zeroSet == .leftHalfLine || p.zeroSet == .rightHalfLine
        if !halfLine {
            var s = "no exact zero half-line (zero set: \(p.zeroSet))"
            let leftValue = -gridRadius * p.leftTailSlope
            let linearTail = abs(p.leftTailDerivative - p.leftTailSlope) <= 1e-3 * abs(p.leftTailSlope)
            if p.leftTailSlope != 0 && linearTail && abs(p.leftTailSlope) < 0.1 {
                s += "; f(x) = \(fmt(p.leftTailSlope))·x on the left: small but never zero"
            } else if leftValue != 0 && abs(leftValue) < 1e-3 {
                s += "; f → 0 as x → −∞ but never reaches it (f(−20) = \(String(leftValue)))"
            }
            relu.append(s)
        } else if let c = p.zeroSetBoundary, c != 0 {
            relu.append("the zero half-line ends at \(fmt(c)), not at 0")
        }
        m[.reluLike] = relu
        var tanh: [String] = []
        if p.valueAtZero != 0 { tanh.append("f(0) = \(fmt(p.valueAtZero)) ≠ 0") }
        if !p.odd { tanh.append("not odd") }
        if !p.boundedAbove { tanh.append("unbounded above") }
        if !p.boundedBelow { tanh.append("unbounded below") }
        m[.tanhLike] = tanh
        var sig: [String] = []
        if !p.nonNegative { sig.append("takes negative values (min \(fmt(p.minimum)))") }
        if !(p.valueAtZero > 0) { sig.append("f(0) = \(fmt(p.valueAtZero)) is not > 0") }
        if !p.boundedAbove { sig.append("unbounded above") }
        if !p.monotone { sig.append("not monotone") }
        if p.maximum == p.minimum { sig.append("constant") }
        m[.sigmoidLike] = sig
        return m
    }

    /// The family from measured properties (the rules on ``ActivationFamily``).
    public static func family(of p: ActivationProperties) -> ActivationFamily {
        let m = misses(p)
        for family in [ActivationFamily.identity, .reluLike, .tanhLike, .sigmoidLike] where m[family]!.isEmpty {
            return family
        }
        return .other
    }

    public static func classify(_ f: Activation) -> ActivationClassification {
        let p = measure(f)
        let family = family(of: p)
        let m = misses(p)
        var reason = family.verdictReason
        switch family {
        case .sigmoidLike where p.zeroSet != .empty:
            reason += ". Caveat: f is exactly 0 on \(p.zeroSet == .leftHalfLine ? "(−∞, \(formatProperty(p.zeroSetBoundary ?? 0))]" : "\(p.zeroSet)"), so a unit can still be switched off exactly; measure P3 on the trained model"
        case .other:
            let nearest = [ActivationFamily.sigmoidLike, .tanhLike, .reluLike].min { m[$0]!.count < m[$1]!.count }!
            reason += ". Nearest: \(nearest) (fails: \(m[nearest]!.joined(separator: "; ")))"
            if (p.zeroSet == .empty || p.zeroSet == .origin) && !p.nonNegative {
                reason += "; f ≠ 0 off the origin, so non-zero pre-activations stay non-zero"
            }
        default: break
        }
        var keyed: [String: [String]] = [:]
        for (k, v) in m { keyed[k.rawValue] = v }
        return ActivationClassification(activation: f, family: family, verdict: family.verdict, reason: reason,
                                        properties: p, misses: keyed)
    }
}

/// Compact float formatting for property reports ("0.5", "-3", "0.01", "1.7581").
func formatProperty(_ x: Float) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x > 0 ? "inf" : "-inf" }
    if x == x.rounded() && abs(x) < 1e7 { return String(Int(x)) }
    let r = (Double(x) * 10000).rounded() / 10000
    if r != 0 { return String(r) }
    return String(Double(x))
}
