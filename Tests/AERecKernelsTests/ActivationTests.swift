import Foundation
import Testing
import AERecKernels

// Tests for CSources/AERecKernels/activations.c: every activation against a float64 reference
// written here (values and derivatives, the reference derivatives themselves checked by central
// differences), the fused bias + forward and backward + dbias kernels against plain loops, in-place
// use, bit-identical results for every thread count, saturation at +-100 and beyond, edge shapes
// and argument errors.

// MARK: - helpers

private let errArg = Int32(AEK_ERR_ARG)
private let ok = Int32(AEK_OK)

/// SplitMix64: deterministic, platform-independent test data.
private struct ActRNG {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    mutating func sym() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
    /// Mostly moderate values, some large: the tails matter for these functions.
    mutating func input() -> Float {
        switch next() % 8 {
        case 0: return sym() * 100
        case 1: return sym() * 25
        case 2: return sym() * 1e-3
        default: return sym() * 8
        }
    }
    mutating func inputs(_ n: Int) -> [Float] { (0..<n).map { _ in input() } }
}

private let allKinds: [Int32] = Array(0..<Int32(AEK_ACT_COUNT.rawValue))

private func act(_ kind: Int32, alpha: Float? = nil, temperature: Float = 1) -> aek_activation {
    var a = aek_activation_default(aek_activation_kind(rawValue: UInt32(kind)))
    if let alpha { a.alpha = alpha }
    a.temperature = temperature
    return a
}

private let grid: [Float] = [0, -0.0, 1e-6, -1e-6, 1e-3, -1e-3, 0.5, -0.5, 1, -1, 2.9999, -2.9999, 3, -3, 3.0001, -3.0001,
                             20, -20, 100, -100, 1e4, -1e4]

private func bits(_ a: [Float]) -> [UInt32] { a.map { $0.bitPattern } }

// MARK: - float64 reference

private func refSigmoid(_ u: Double) -> Double {
    let e = exp(-abs(u))
    return u >= 0 ? 1 / (1 + e) : e / (1 + e)
}

/// f(u) for the activation (u = x / T already applied).
private func refValue(_ kind: Int32, _ u: Double, alpha a: Double) -> Double {
    let lambda = 1.0507009873554805, seluA = 1.6732632423543772
    switch UInt32(kind) {
    case AEK_ACT_IDENTITY.rawValue: return u
    case AEK_ACT_SIGMOID.rawValue: return refSigmoid(u)
    case AEK_ACT_TANH.rawValue: return tanh(u)
    case AEK_ACT_RELU.rawValue: return max(u, 0)
    case AEK_ACT_LEAKY_RELU.rawValue: return u >= 0 ? u : a * u
    case AEK_ACT_ELU.rawValue: return u >= 0 ? u : a * expm1(u)
    case AEK_ACT_SELU.rawValue: return lambda * (u >= 0 ? u : seluA * expm1(u))
    case AEK_ACT_SOFTPLUS.rawValue: return max(u, 0) + log1p(exp(-abs(u)))
    case AEK_ACT_SWISH.rawValue: return u * refSigmoid(u)
    case AEK_ACT_HARD_SIGMOID.rawValue: return min(max(u / 6 + 0.5, 0), 1)
    case AEK_ACT_SOFTSIGN01.rawValue: return (u / (1 + abs(u)) + 1) / 2
    case AEK_ACT_ATAN01.rawValue: return atan(u) / Double.pi + 0.5
    case AEK_ACT_SOFTSIGN.rawValue: return u / (1 + abs(u))
    default: return .nan
    }
}

/// df/du, with the kernel's conventions at the kinks (left derivative: "u > 0" is strict).
private func refDeriv(_ kind: Int32, _ u: Double, alpha a: Double) -> Double {
    let lambda = 1.0507009873554805, seluA = 1.6732632423543772
    switch UInt32(kind) {
    case AEK_ACT_IDENTITY.rawValue: return 1
    case AEK_ACT_SIGMOID.rawValue, AEK_ACT_SOFTPLUS.rawValue:
        if UInt32(kind) == AEK_ACT_SOFTPLUS.rawValue { return refSigmoid(u) }
        let e = exp(-abs(u))
        return e / ((1 + e) * (1 + e))
    case AEK_ACT_TANH.rawValue:
        let e = exp(-2 * abs(u))
        return 4 * e / ((1 + e) * (1 + e))
    case AEK_ACT_RELU.rawValue: return u > 0 ? 1 : 0
    case AEK_ACT_LEAKY_RELU.rawValue: return u > 0 ? 1 : a
    case AEK_ACT_ELU.rawValue: return u > 0 ? 1 : a * exp(u)
    case AEK_ACT_SELU.rawValue: return lambda * (u > 0 ? 1 : seluA * exp(u))
    case AEK_ACT_SWISH.rawValue:
        let s = refSigmoid(u), sn = refSigmoid(-u)
        return s + u * s * sn
    case AEK_ACT_HARD_SIGMOID.rawValue: return (u > -3 && u < 3) ? 1.0 / 6 : 0
    case AEK_ACT_SOFTSIGN01.rawValue: return 0.5 / ((1 + abs(u)) * (1 + abs(u)))
    case AEK_ACT_ATAN01.rawValue: return 1 / (Double.pi * (1 + u * u))
    case AEK_ACT_SOFTSIGN.rawValue: return 1 / ((1 + abs(u)) * (1 + abs(u)))
    default: return .nan
    }
}

/// Points where f is not differentiable, or (softsign: |u|) not twice differentiable, so that a
/// central difference is off by O(h) there: finite-difference checks skip their neighbourhood.
private func kinks(_ kind: Int32) -> [Double] {
    switch UInt32(kind) {
    case AEK_ACT_RELU.rawValue, AEK_ACT_LEAKY_RELU.rawValue, AEK_ACT_ELU.rawValue, AEK_ACT_SELU.rawValue,
         AEK_ACT_SOFTSIGN01.rawValue, AEK_ACT_SOFTSIGN.rawValue: return [0]
    case AEK_ACT_HARD_SIGMOID.rawValue: return [-3, 3]
    default: return []
    }
}

/// The kernel's scaled input: u = x * (1/T) in float (exact when T is a power of two).
private func kernelU(_ x: Float, _ a: aek_activation) -> Double { Double(x * (1 / a.temperature)) }

/// The kernels flush e^v below FLT_MIN (v < -87.34) to 0 rather than producing subnormals, e.g.
/// sigmoid(-100) = 0 where the exact value is 3.7e-44. The absolute error this causes is at most
/// FLT_MIN times the sensitivity to e: 1 for sigmoid/softplus, 4 for tanh', |u| for swish.
private func flushFloor(_ u: Double) -> Double { 1.1754944e-38 * (4 + abs(u)) }

/// |kernel - reference| allowed for a value: a few float ulps of the result, plus the flush floor.
private func valueTol(_ ref: Double, _ u: Double) -> Double { 3 * 0x1p-23 * abs(ref) + flushFloor(u) }

/// Same for a derivative, whose formulas (quotients of products) carry a few more roundings; swish'
/// is a sum whose terms can cancel, so its tolerance is relative to the terms.
private func derivTol(_ kind: Int32, _ u: Double, _ ref: Double) -> Double {
    var scale = abs(ref)
    if UInt32(kind) == AEK_ACT_SWISH.rawValue {
        scale = refSigmoid(u) + abs(u * refSigmoid(u) * refSigmoid(-u))
    }
    return 6 * 0x1p-23 * scale + flushFloor(u)
}

// MARK: - parameters and names

@Suite("activation parameters")
struct ActivationParameterTests {
    @Test func namesAreLowerCaseAndDistinct() {
        let expected = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "softplus", "swish",
                        "hard_sigmoid", "softsign01", "atan01", "softsign"]
        #expect(expected.count == allKinds.count)
        for k in allKinds {
            let p = aek_activation_name(k)
            #expect(p != nil)
            if let p { #expect(String(cString: p) == expected[Int(k)]) }
        }
        #expect(aek_activation_name(-1) == nil)
        #expect(aek_activation_name(Int32(AEK_ACT_COUNT.rawValue)) == nil)
    }

    @Test func defaults() {
        for k in allKinds {
            let a = aek_activation_default(aek_activation_kind(rawValue: UInt32(k)))
            #expect(a.kind == k)
            #expect(a.temperature == 1)
            #expect(a.alpha == (UInt32(k) == AEK_ACT_LEAKY_RELU.rawValue ? 0.01 : 1))
            #expect(aek_activation_validate(a) == ok)
        }
    }

    @Test func validation() {
        #expect(aek_activation_validate(act(1, temperature: 0.25)) == ok)
        #expect(aek_activation_validate(act(1, temperature: 0)) == errArg)
        #expect(aek_activation_validate(act(1, temperature: -1)) == errArg)
        #expect(aek_activation_validate(act(1, temperature: .nan)) == errArg)
        #expect(aek_activation_validate(act(1, temperature: .infinity)) == errArg)
        // a subnormal temperature would make 1/T infinite
        #expect(aek_activation_validate(act(1, temperature: Float.leastNonzeroMagnitude)) == errArg)
        #expect(aek_activation_validate(act(4, alpha: .nan)) == errArg)
        #expect(aek_activation_validate(act(4, alpha: .infinity)) == errArg)
        var bad = act(1)
        bad.kind = Int32(AEK_ACT_COUNT.rawValue)
        #expect(aek_activation_validate(bad) == errArg)
        bad.kind = -1
        #expect(aek_activation_validate(bad) == errArg)
        #expect(aek_activation_value(bad, 1).isNaN)
        #expect(aek_activation_derivative(bad, 1).isNaN)
    }
}

// MARK: - scalar values and derivatives

@Suite("activation math")
struct ActivationMathTests {
    /// Every kind at several temperatures and alphas: the value within a few ulps of float64.
    @Test(arguments: allKinds)
    func valuesMatchFloat64(kind: Int32) {
        var rng = ActRNG(100 + UInt64(kind))
        let xs = grid + rng.inputs(4000)
        for (alpha, temperature) in [(nil, Float(1)), (Float(0.2), Float(0.5)), (Float(1.7), Float(2)), (nil, Float(1.3))] {
            let a = act(kind, alpha: alpha, temperature: temperature)
            var worst = 0.0, worstX: Float = 0
            for x in xs {
                let u = kernelU(x, a)
                let ref = refValue(kind, u, alpha: Double(a.alpha))
                let got = Double(aek_activation_value(a, x))
                let err = abs(got - ref) / valueTol(ref, u)
                if !(err <= worst) { worst = err; worstX = x }
            }
            #expect(worst <= 1, "kind \(kind) T \(temperature): error \(worst) x tolerance at x = \(worstX)")
        }
    }

    /// The reference derivative agrees with central differences of the reference value (so the
    /// derivative formulas in this file are right), and the kernel's derivative agrees with it.
    @Test(arguments: allKinds)
    func derivativesMatchFloat64(kind: Int32) {
        var rng = ActRNG(200 + UInt64(kind))
        let xs = grid + rng.inputs(3000)
        for (alpha, temperature) in [(nil, Float(1)), (Float(0.3), Float(0.5)), (nil, Float(1.3))] {
            let a = act(kind, alpha: alpha, temperature: temperature)
            let invT = Double(1 / a.temperature)
            var worst = 0.0, worstX: Float = 0, fdBad = 0
            for x in xs {
                let u = kernelU(x, a)
                let dref = refDeriv(kind, u, alpha: Double(a.alpha))
                let got = Double(aek_activation_derivative(a, x))
                let err = abs(got - dref * invT) / (derivTol(kind, u, dref) * invT)
                if !(err <= worst) { worst = err; worstX = x }
                // central difference of the float64 reference, away from kinks
                let h = 1e-5 * max(1, abs(u))
                if kinks(kind).contains(where: { abs($0 - u) < 2 * h }) { continue }
                let fd = (refValue(kind, u + h, alpha: Double(a.alpha)) - refValue(kind, u - h, alpha: Double(a.alpha))) / (2 * h)
                let scale = max(abs(dref), abs(refValue(kind, u, alpha: Double(a.alpha))) / max(1, abs(u)), 1e-300)
                if !(abs(fd - dref) <= 1e-6 * max(scale, 1e-3) + 1e-12) { fdBad += 1 }
            }
            #expect(worst <= 1, "kind \(kind) T \(temperature): derivative error \(worst) x tolerance at x = \(worstX)")
            #expect(fdBad == 0, "kind \(kind) T \(temperature): \(fdBad) reference derivatives disagree with finite differences")
        }
    }

    /// Central differences of the kernel's own forward values (evaluated at float points, differenced
    /// in float64) agree with the kernel's derivative.
    @Test(arguments: allKinds)
    func kernelDerivativeMatchesKernelDifferences(kind: Int32) {
        var rng = ActRNG(300 + UInt64(kind))
        let a = act(kind, alpha: 0.25, temperature: 1)
        var bad: [Float] = []
        for x in [Float(0.3), -0.7, 1.5, -2.2, 4, -5, 9] + (0..<500).map({ _ in rng.sym() * 10 }) {
            let hf = Float(1.0 / 256) * max(1, abs(x))
            if kinks(kind).contains(where: { abs($0 - Double(x)) < 2 * Double(hf) }) { continue }
            let xp = x + hf, xm = x - hf
            let fd = (Double(aek_activation_value(a, xp)) - Double(aek_activation_value(a, xm))) / Double(xp - xm)
            let d = Double(aek_activation_derivative(a, x))
            // truncation error ~ h^2 f''' / 6 (h <= 0.04 here) plus rounding ~ 1e-7 / h
            if !(abs(fd - d) <= 2e-3 * max(abs(d), 0.05) + 1e-5) { bad.append(x) }
        }
        #expect(bad.isEmpty, "kind \(kind): derivative disagrees with finite differences at \(bad.prefix(5))")
    }

    @Test(arguments: allKinds)
    func saturationAndZerosStayFinite(kind: Int32) {
        for temperature in [Float(1), 0.01, 100] {
            let a = act(kind, temperature: temperature)
            for x in grid + [Float(-50), 50, 89, -89, 1e6, -1e6, 1e30, -1e30, .greatestFiniteMagnitude, -.greatestFiniteMagnitude] {
                let v = aek_activation_value(a, x), d = aek_activation_derivative(a, x)
                #expect(!v.isNaN && !d.isNaN, "kind \(kind) T \(temperature) x \(x): \(v) \(d)")
                // only the unbounded activations may overflow, and only where the exact value does
                let exact = refValue(kind, Double(x) / Double(temperature), alpha: Double(a.alpha))
                if abs(exact) < 3e38 { #expect(v.isFinite, "kind \(kind) T \(temperature) x \(x): \(v)") }
                #expect(d.isFinite, "kind \(kind) T \(temperature) x \(x): derivative \(d)")
            }
        }
    }

    @Test func limitsAndSpecialValues() {
        let s = act(Int32(AEK_ACT_SIGMOID.rawValue)), t = act(Int32(AEK_ACT_TANH.rawValue))
        #expect(aek_activation_value(s, 0) == 0.5)
        #expect(aek_activation_value(s, 100) == 1)
        #expect(aek_activation_value(s, -100) == 0)
        #expect(aek_activation_value(s, -80) > 0) // e^-80 = 1.8e-35 is still a normal float
        #expect(abs(Double(aek_activation_value(s, -80)) - exp(-80.0)) <= 4e-7 * exp(-80.0))
        #expect(aek_activation_value(t, 100) == 1 && aek_activation_value(t, -100) == -1)
        #expect(aek_activation_value(t, 1e-6) == 1e-6 && aek_activation_value(t, -1e-6) == -1e-6)
        #expect(aek_activation_value(t, 0) == 0)
        // derivatives in the tails keep their relative accuracy (not 0 from 1 - s or 1 - t^2)
        let ds = Double(aek_activation_derivative(s, 30)), dt = Double(aek_activation_derivative(t, 15))
        #expect(abs(ds - exp(-30.0)) <= 1e-6 * exp(-30.0))
        #expect(abs(dt - 4 * exp(-30.0)) <= 1e-6 * 4 * exp(-30.0))
        let sp = act(Int32(AEK_ACT_SOFTPLUS.rawValue))
        #expect(aek_activation_value(sp, 100) == 100)
        #expect(abs(Double(aek_activation_value(sp, -30)) - exp(-30.0)) <= 3e-7 * exp(-30.0))
        let a01 = act(Int32(AEK_ACT_ATAN01.rawValue)), ss01 = act(Int32(AEK_ACT_SOFTSIGN01.rawValue))
        // no cancellation for x -> -inf: 1/(pi 1e4) and 1/(2 (1 + 1e4)) to full relative precision
        #expect(abs(Double(aek_activation_value(a01, -1e4)) - atan(1e-4) / Double.pi) <= 3e-7 * 3.2e-5)
        #expect(abs(Double(aek_activation_value(ss01, -1e4)) - 0.5 / 10001) <= 3e-7 * 0.5 / 10001)
        let elu = act(Int32(AEK_ACT_ELU.rawValue))
        #expect(abs(Double(aek_activation_value(elu, -1e-5)) - expm1(-1e-5)) <= 3e-7 * 1e-5)
        // kink conventions
        #expect(aek_activation_derivative(act(Int32(AEK_ACT_RELU.rawValue)), 0) == 0)
        #expect(aek_activation_derivative(act(Int32(AEK_ACT_LEAKY_RELU.rawValue)), 0) == 0.01)
        let hs = act(Int32(AEK_ACT_HARD_SIGMOID.rawValue))
        #expect(aek_activation_derivative(hs, 3) == 0 && aek_activation_derivative(hs, -3) == 0)
        #expect(aek_activation_derivative(hs, 2.99) == Float(1.0 / 6) && aek_activation_value(hs, 3) == 1)
        #expect(aek_activation_value(hs, -3) == 0 && aek_activation_value(hs, 0) == 0.5)
        // temperature: f(x / T), derivative f'(x / T) / T
        let s2 = act(Int32(AEK_ACT_SIGMOID.rawValue), temperature: 2)
        #expect(aek_activation_value(s2, 2) == aek_activation_value(s, 1))
        #expect(aek_activation_derivative(s2, 2) == aek_activation_derivative(s, 1) / 2)
    }
}

// MARK: - fused kernels

/// Runs the forward kernel on a random block; returns (Z after, A after).
private func runForward(rows: Int, cols: Int, ldz: Int, lda: Int, bias: [Float]?, a: aek_activation, threads: Int,
                        Z0: [Float], A0: [Float]) -> (Int32, [Float], [Float]) {
    var Z = Z0, A = A0
    let st = Z.withUnsafeMutableBufferPointer { z in
        A.withUnsafeMutableBufferPointer { ap in
            aek_bias_activation_forward(Int64(rows), Int64(cols), bias, a, z.baseAddress, Int64(ldz), ap.baseAddress,
                                        Int64(lda), Int32(threads))
        }
    }
    return (st, Z, A)
}

private let sentinel = Float(bitPattern: 0x7FC1_2345) // NaN payload that must survive in the padding

@Suite("aek_bias_activation_forward / aek_activation_backward")
struct ActivationKernelTests {
    @Test(arguments: allKinds)
    func forwardMatchesScalarReference(kind: Int32) {
        var rng = ActRNG(400 + UInt64(kind))
        let rows = 37, cols = 53, ldz = 60, lda = 57
        let a = act(kind, alpha: 0.3, temperature: 1.3)
        var Z0 = [Float](repeating: sentinel, count: rows * ldz)
        for r in 0..<rows { for c in 0..<cols { Z0[r * ldz + c] = rng.input() } }
        for c in 0..<cols { Z0[c] = grid[c % grid.count] }
        let bias = (0..<cols).map { _ in rng.sym() }
        let A0 = [Float](repeating: sentinel, count: rows * lda)
        let (st, Z, A) = runForward(rows: rows, cols: cols, ldz: ldz, lda: lda, bias: bias, a: a, threads: 1, Z0: Z0, A0: A0)
        #expect(st == ok)
        var badZ = 0, badA = 0, badRef = 0, badPad = 0
        for r in 0..<rows {
            for c in 0..<cols {
                let z = Z0[r * ldz + c] + bias[c]
                if Z[r * ldz + c].bitPattern != z.bitPattern { badZ += 1 }
                let v = A[r * lda + c]
                if v.bitPattern != aek_activation_value(a, z).bitPattern { badA += 1 }
                let u = kernelU(z, a)
                let ref = refValue(kind, u, alpha: Double(a.alpha))
                if !(abs(Double(v) - ref) <= valueTol(ref, u)) { badRef += 1 }
            }
            for c in cols..<ldz where Z[r * ldz + c].bitPattern != sentinel.bitPattern { badPad += 1 }
            for c in cols..<lda where A[r * lda + c].bitPattern != sentinel.bitPattern { badPad += 1 }
        }
        #expect(badZ == 0 && badA == 0 && badRef == 0 && badPad == 0,
                "kind \(kind): Z+bias \(badZ), A vs scalar \(badA), A vs float64 \(badRef), padding \(badPad)")

        // without bias Z is left as it is
        let (st2, Z2, A2) = runForward(rows: rows, cols: cols, ldz: ldz, lda: lda, bias: nil, a: a, threads: 1, Z0: Z0, A0: A0)
        #expect(st2 == ok && bits(Z2) == bits(Z0))
        var bad2 = 0
        for r in 0..<rows { for c in 0..<cols where A2[r * lda + c].bitPattern != aek_activation_value(a, Z0[r * ldz + c]).bitPattern { bad2 += 1 } }
        #expect(bad2 == 0)
    }

    @Test(arguments: allKinds)
    func inPlaceAndThreadCountsGiveIdenticalBits(kind: Int32) {
        var rng = ActRNG(500 + UInt64(kind))
        // large enough that 4 threads really split the rows (>= 64Ki elements per part)
        let rows = 280, cols = 1000, ld = 1003
        let a = act(kind, alpha: 0.1, temperature: 0.75)
        let Z0 = (0..<rows * ld).map { _ in rng.input() }
        let bias = (0..<cols).map { _ in rng.sym() }
        let A0 = [Float](repeating: 0, count: rows * ld)
        let (st, Zref, Aref) = runForward(rows: rows, cols: cols, ldz: ld, lda: ld, bias: bias, a: a, threads: 1, Z0: Z0, A0: A0)
        #expect(st == ok)
        for threads in 2...4 {
            let (s, Z, A) = runForward(rows: rows, cols: cols, ldz: ld, lda: ld, bias: bias, a: a, threads: threads, Z0: Z0, A0: A0)
            #expect(s == ok && bits(Z) == bits(Zref) && bits(A) == bits(Aref), "kind \(kind), \(threads) threads")
        }
        // in place: A == Z gives A's bits (padding untouched)
        for threads in 1...4 {
            var Z = Z0
            let s = Z.withUnsafeMutableBufferPointer { z in
                aek_bias_activation_forward(Int64(rows), Int64(cols), bias, a, z.baseAddress, Int64(ld), z.baseAddress,
                                            Int64(ld), Int32(threads))
            }
            var same = s == ok
            for r in 0..<rows {
                for c in 0..<cols where Z[r * ld + c].bitPattern != Aref[r * ld + c].bitPattern { same = false }
                for c in cols..<ld where Z[r * ld + c].bitPattern != Z0[r * ld + c].bitPattern { same = false }
            }
            #expect(same, "kind \(kind): in place, \(threads) threads")
        }
    }

    @Test(arguments: allKinds)
    func backwardAndBiasGradient(kind: Int32) {
        var rng = ActRNG(600 + UInt64(kind))
        // large enough that 4 threads split the columns (dbias) and the rows (no dbias)
        let rows = 150, cols = 2000, ldz = 2003, ldg = 2001
        let a = act(kind, alpha: 0.2, temperature: 1.3)
        var Z = [Float](repeating: sentinel, count: rows * ldz)
        for r in 0..<rows { for c in 0..<cols { Z[r * ldz + c] = rng.input() } }
        for c in 0..<cols { Z[c] = grid[c % grid.count] }
        let G0 = (0..<rows * ldg).map { _ in rng.sym() }
        let db0 = (0..<cols).map { _ in rng.sym() }
        // plain reference: G * f'(Z), dbias = float(double(dbias) + sum over rows in order)
        var Gref = G0
        var dbRef = db0
        var badRef = 0
        for c in 0..<cols {
            var s = 0.0
            for r in 0..<rows {
                let z = Z[r * ldz + c]
                let g = G0[r * ldg + c] * aek_activation_derivative(a, z)
                Gref[r * ldg + c] = g
                s += Double(g)
                let invT = Double(1 / a.temperature)
                let u = kernelU(z, a), du = refDeriv(kind, u, alpha: Double(a.alpha)), d = du * invT
                let exact = Double(G0[r * ldg + c]) * d
                let tol = abs(Double(G0[r * ldg + c])) * (derivTol(kind, u, du) * invT + 0x1p-23 * abs(d))
                if !(abs(Double(g) - exact) <= tol) { badRef += 1 }
            }
            dbRef[c] = Float(Double(db0[c]) + s)
        }
        #expect(badRef == 0, "kind \(kind): \(badRef) backward values off the float64 derivative")
        for threads in 1...4 {
            for withA in [false, true] {
                var G = G0, db = db0
                let A = [Float](repeating: 0, count: rows * ldz) // ignored contents: derivatives come from Z
                let st = G.withUnsafeMutableBufferPointer { g in
                    db.withUnsafeMutableBufferPointer { d in
                        A.withUnsafeBufferPointer { ap in
                            aek_activation_backward(Int64(rows), Int64(cols), a, Z, Int64(ldz), withA ? ap.baseAddress : nil,
                                                    Int64(ldz), g.baseAddress, Int64(ldg), d.baseAddress, Int32(threads))
                        }
                    }
                }
                #expect(st == ok && bits(G) == bits(Gref) && bits(db) == bits(dbRef),
                        "kind \(kind), \(threads) threads, A \(withA)")
                // without dbias: the same G
                var G2 = G0
                let st2 = G2.withUnsafeMutableBufferPointer { g in
                    aek_activation_backward(Int64(rows), Int64(cols), a, Z, Int64(ldz), nil, 0, g.baseAddress, Int64(ldg), nil,
                                            Int32(threads))
                }
                #expect(st2 == ok && bits(G2) == bits(Gref), "kind \(kind), \(threads) threads, no dbias")
            }
        }
    }

    @Test func edgeShapes() {
        let a = act(Int32(AEK_ACT_SWISH.rawValue))
        for (rows, cols) in [(1, 1), (1, 300), (300, 1), (0, 5), (5, 0), (0, 0), (3, 17)] {
            var rng = ActRNG(UInt64(rows * 1000 + cols))
            let Z0 = (0..<max(rows * cols, 1)).map { _ in rng.input() }
            let bias = (0..<max(cols, 1)).map { _ in rng.sym() }
            for threads in [1, 3] {
                let (st, Z, A) = runForward(rows: rows, cols: cols, ldz: cols, lda: cols, bias: bias, a: a, threads: threads,
                                            Z0: Z0, A0: Z0.map { _ in 0 })
                #expect(st == ok)
                var bad = 0
                for i in 0..<rows * cols {
                    let z = Z0[i] + bias[i % cols]
                    if Z[i] != z || A[i].bitPattern != aek_activation_value(a, z).bitPattern { bad += 1 }
                }
                #expect(bad == 0, "\(rows)x\(cols)")
                var G = Z0, db = bias
                let st2 = G.withUnsafeMutableBufferPointer { g in
                    db.withUnsafeMutableBufferPointer { d in
                        aek_activation_backward(Int64(rows), Int64(cols), a, Z, Int64(cols), A, Int64(cols), g.baseAddress,
                                                Int64(cols), d.baseAddress, Int32(threads))
                    }
                }
                #expect(st2 == ok)
                for c in 0..<cols {
                    var s = 0.0
                    for r in 0..<rows { s += Double(Z0[r * cols + c] * aek_activation_derivative(a, Z[r * cols + c])) }
                    #expect(db[c] == Float(Double(bias[c]) + s), "\(rows)x\(cols) column \(c)")
                }
                if cols == 0 || rows == 0 { #expect(bits(db) == bits(bias)) }
            }
        }
        // 0 rows / 0 columns accept null pointers
        #expect(aek_bias_activation_forward(0, 4, nil, a, nil, 4, nil, 4, 1) == ok)
        #expect(aek_bias_activation_forward(4, 0, nil, a, nil, 0, nil, 0, 1) == ok)
        #expect(aek_activation_backward(0, 4, a, nil, 4, nil, 4, nil, 4, nil, 2) == ok)
    }

    @Test func argumentErrorsTouchNothing() {
        let a = act(Int32(AEK_ACT_SIGMOID.rawValue))
        var Z: [Float] = [1, 2, 3, 4, 5, 6], A = [Float](repeating: 9, count: 6), G: [Float] = [1, 1, 1, 1, 1, 1]
        var db: [Float] = [7, 7, 7]
        let Z0 = Z, A0 = A, G0 = G, db0 = db
        func fwd(_ rows: Int64, _ cols: Int64, _ ldz: Int64, _ lda: Int64, _ act: aek_activation, nullZ: Bool = false,
                 inPlace: Bool = false) -> Int32 {
            Z.withUnsafeMutableBufferPointer { z in
                A.withUnsafeMutableBufferPointer { ap in
                    aek_bias_activation_forward(rows, cols, nil, act, nullZ ? nil : z.baseAddress, ldz,
                                                inPlace ? z.baseAddress : ap.baseAddress, lda, 2)
                }
            }
        }
        #expect(fwd(-1, 3, 3, 3, a) == errArg)
        #expect(fwd(2, -3, 3, 3, a) == errArg)
        #expect(fwd(2, 3, 2, 3, a) == errArg)
        #expect(fwd(2, 3, 3, 2, a) == errArg)
        #expect(fwd(2, 3, 3, 3, a, nullZ: true) == errArg)
        #expect(fwd(2, 3, 3, 3, act(1, temperature: 0)) == errArg)
        #expect(fwd(2, 3, 3, 3, act(99)) == errArg)
        #expect(fwd(1, 3, 3, 4, a, inPlace: true) == errArg) // in place needs lda == ldz
        #expect(bits(Z) == bits(Z0) && bits(A) == bits(A0))
        func bwd(_ rows: Int64, _ cols: Int64, _ ldz: Int64, _ ldg: Int64, _ act: aek_activation, lda: Int64 = 3,
                 nullG: Bool = false, withA: Bool = false) -> Int32 {
            let Zc = Z, Ac = A
            return G.withUnsafeMutableBufferPointer { g in
                db.withUnsafeMutableBufferPointer { d in
                    Ac.withUnsafeBufferPointer { ap in
                        aek_activation_backward(rows, cols, act, Zc, ldz, withA ? ap.baseAddress : nil, lda,
                                                nullG ? nil : g.baseAddress, ldg, d.baseAddress, 2)
                    }
                }
            }
        }
        #expect(bwd(-2, 3, 3, 3, a) == errArg)
        #expect(bwd(2, 3, 2, 3, a) == errArg)
        #expect(bwd(2, 3, 3, 1, a) == errArg)
        #expect(bwd(2, 3, 3, 3, a, lda: 2, withA: true) == errArg)
        #expect(bwd(2, 3, 3, 3, a, nullG: true) == errArg)
        #expect(bwd(2, 3, 3, 3, act(1, temperature: -2)) == errArg)
        #expect(bits(G) == bits(G0) && bits(db) == bits(db0))
        #expect(bwd(2, 3, 3, 3, a) == ok)
        #expect(bits(G) != bits(G0) && bits(db) != bits(db0))
    }
}
