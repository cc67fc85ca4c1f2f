import Foundation
import Testing
import AERecKernels

// Tests for CSources/AERecKernels/losses.c: every loss and gradient against a float64 reference
// written here (random blocks with an empty target row, a row holding every item, implicit and
// explicit values, duplicates, unsorted rows), finite-difference checks of every gradient, extreme
// logits, thread-count behaviour, edge shapes and argument errors that must touch nothing.

// MARK: - helpers

private let errArg = Int32(AEK_ERR_ARG)
private let ok = Int32(AEK_OK)
private let fltMin = 1.1754944e-38

/// SplitMix64: deterministic, platform-independent test data.
private struct LossRNG {
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
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func floats(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in sym() * scale } }
}

/// A CSR block owned by Swift arrays; indptr holds absolute offsets (indptr[0] may be > 0).
private struct Block {
    var nRows: Int
    var nCols: Int
    var indptr: [Int64]
    var indices: [Int32]
    var values: [Float]?

    func range(_ r: Int) -> Range<Int> { Int(indptr[r])..<Int(indptr[r + 1]) }
    func value(_ k: Int) -> Double { Double(values?[k] ?? 1) }
    var implicit: Block { var b = self; b.values = nil; return b }
    var explicitOnes: Block { var b = self; b.values = [Float](repeating: 1, count: indices.count); return b }

    func with<R>(_ body: (aek_csr) -> R) -> R {
        indptr.withUnsafeBufferPointer { ip in
            indices.withUnsafeBufferPointer { ix in
                if let values {
                    return values.withUnsafeBufferPointer { v in
                        body(aek_csr(n_rows: Int64(nRows), n_cols: Int64(nCols), indptr: ip.baseAddress,
                                     indices: ix.baseAddress, values: v.baseAddress))
                    }
                }
                return body(aek_csr(n_rows: Int64(nRows), n_cols: Int64(nCols), indptr: ip.baseAddress,
                                    indices: ix.baseAddress, values: nil))
            }
        }
    }

    /// Row 0 has no targets, row 1 (if any) holds every item, the others random subsets (plus one
    /// repeated column each if `duplicates`); values are counts in 1...5 (explicit) or implicit ones.
    /// indptr starts at `offset`: the `offset` entries before it belong to no row.
    static func random(rows: Int, cols: Int, maxPerRow: Int, explicit: Bool, sorted: Bool = true, duplicates: Bool = false,
                       offset: Int = 0, rng: inout LossRNG) -> Block {
        var indices: [Int32] = (0..<offset).map { _ in Int32(rng.int(cols)) }
        var indptr: [Int64] = [Int64(offset)]
        for r in 0..<rows {
            var chosen: [Int]
            if r == 0 {
                chosen = []
            } else if r == 1 {
                chosen = Array(0..<cols)
            } else {
                let n = rng.int(min(maxPerRow, cols) + 1)
                var all = Array(0..<cols)
                for i in 0..<n { all.swapAt(i, i + rng.int(cols - i)) }
                chosen = Array(all[0..<n])
                if duplicates && n > 0 { chosen.append(chosen[rng.int(n)]) }
            }
            if sorted { chosen.sort() } else { chosen.shuffle(using: &rng) }
            indices += chosen.map { Int32($0) }
            indptr.append(Int64(indices.count))
        }
        let values: [Float]? = explicit ? (0..<indices.count).map { _ in Float(1 + rng.int(5)) } : nil
        return Block(nRows: rows, nCols: cols, indptr: indptr, indices: indices, values: values)
    }

    /// Dense targets y[r][c] (duplicates summed).
    func dense() -> [[Double]] {
        var y = [[Double]](repeating: [Double](repeating: 0, count: nCols), count: nRows)
        for r in 0..<nRows { for k in range(r) { y[r][Int(indices[k])] += value(k) } }
        return y
    }
}

extension LossRNG: RandomNumberGenerator {}

private func bits(_ a: [Float]) -> [UInt32] { a.map { $0.bitPattern } }
private let sentinel = Float(bitPattern: 0x7FC1_2345)

/// Logits rows x cols in a block with leading dimension ld (padding = sentinel).
private func logits(rows: Int, cols: Int, ld: Int, scale: Float, rng: inout LossRNG) -> [Float] {
    var Z = [Float](repeating: sentinel, count: max(rows * ld, 1))
    for r in 0..<rows { for c in 0..<cols { Z[r * ld + c] = rng.sym() * scale } }
    return Z
}

private enum DenseLoss { case multinomial, bce, mse }

/// Runs one of the dense-logit losses; returns (status, loss, Z after).
private func run(_ which: DenseLoss, _ x: Block, _ Z0: [Float], ld: Int, scale: Float, grad: Bool, threads: Int = 1,
                 loss0: Double = 0) -> (Int32, Double, [Float]) {
    var Z = Z0
    var loss = loss0
    let st = x.with { c in
        Z.withUnsafeMutableBufferPointer { z in
            switch which {
            case .multinomial: return aek_multinomial_nll(c, z.baseAddress, Int64(ld), scale, grad ? 1 : 0, &loss, Int32(threads))
            case .bce: return aek_sigmoid_bce(c, z.baseAddress, Int64(ld), scale, grad ? 1 : 0, &loss, Int32(threads))
            case .mse: return aek_masked_squared_error_dense(c, z.baseAddress, Int64(ld), scale, grad ? 1 : 0, &loss, Int32(threads))
            }
        }
    }
    return (st, loss, Z)
}

// MARK: - float64 references

/// Multinomial NLL: (loss, gradient, loss magnitude for the tolerance).
private func refMultinomial(_ x: Block, _ Z: [Float], ld: Int, scale: Double) -> (Double, [[Double]], Double) {
    let y = x.dense()
    var loss = 0.0, mag = 0.0
    var g = [[Double]](repeating: [], count: x.nRows)
    for r in 0..<x.nRows {
        let z = (0..<x.nCols).map { Double(Z[r * ld + $0]) }
        let m = z.max() ?? 0
        let S = z.reduce(0.0) { $0 + exp($1 - m) }
        let n = y[r].reduce(0, +)
        // -log_softmax = (m - z) + log S, never m + log S (which loses log S when |m| is huge)
        for c in 0..<x.nCols where y[r][c] != 0 {
            loss += y[r][c] * ((m - z[c]) + log(S))
            mag += abs(y[r][c]) * (1 + (m - z[c]) + log(S))
        }
        g[r] = (0..<x.nCols).map { scale * (n * exp(z[$0] - m) / S - y[r][$0]) }
    }
    return (scale * loss, g, abs(scale) * mag)
}

private func softplus(_ z: Double) -> Double { max(z, 0) + log1p(exp(-abs(z))) }
private func sigmoid(_ z: Double) -> Double { z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)) }

private func refBCE(_ x: Block, _ Z: [Float], ld: Int, scale: Double) -> (Double, [[Double]], Double) {
    let y = x.dense()
    var loss = 0.0, mag = 0.0
    var g = [[Double]](repeating: [], count: x.nRows)
    for r in 0..<x.nRows {
        g[r] = [Double](repeating: 0, count: x.nCols)
        for c in 0..<x.nCols {
            let z = Double(Z[r * ld + c])
            loss += softplus(z) - y[r][c] * z
            mag += softplus(z) + abs(y[r][c] * z)
            g[r][c] = scale * (sigmoid(z) - y[r][c])
        }
    }
    return (scale * loss, g, abs(scale) * mag)
}

/// Masked squared error over the stored entries (duplicates are separate terms); also returns the
/// per-element sum of |gradient terms| (duplicates can cancel).
private func refMSEDense(_ x: Block, _ Z: [Float], ld: Int, scale: Double) -> (Double, [[Double]], Double, [[Double]]) {
    var loss = 0.0, mag = 0.0
    var g = [[Double]](repeating: [Double](repeating: 0, count: x.nCols), count: x.nRows)
    var gmag = g
    for r in 0..<x.nRows {
        for k in x.range(r) {
            let c = Int(x.indices[k])
            let d = Double(Z[r * ld + c]) - x.value(k)
            loss += d * d
            mag += d * d
            g[r][c] += 2 * scale * d
            gmag[r][c] += abs(2 * scale * d)
        }
    }
    return (scale * loss, g, abs(scale) * mag, gmag)
}

/// Compares a dense gradient with the reference: |g - ref| <= rel * gscale + floor.
private func gradMismatches(_ Z: [Float], ld: Int, _ ref: [[Double]], cols: Int, rel: Double, gscale: (Int, Int) -> Double,
                            floor: Double) -> Int {
    var bad = 0
    for r in 0..<ref.count {
        for c in 0..<cols where !(abs(Double(Z[r * ld + c]) - ref[r][c]) <= rel * gscale(r, c) + floor) { bad += 1 }
        for c in cols..<ld where Z[r * ld + c].bitPattern != sentinel.bitPattern { bad += 1 }
    }
    return bad
}

// MARK: - multinomial NLL

@Suite("aek_multinomial_nll")
struct LossMultinomialTests {
    @Test(arguments: [false, true])
    func matchesFloat64(explicit: Bool) {
        var rng = LossRNG(explicit ? 11 : 12)
        let x = Block.random(rows: 9, cols: 257, maxPerRow: 40, explicit: explicit, offset: 3, rng: &rng)
        let ld = 260
        let Z0 = logits(rows: x.nRows, cols: x.nCols, ld: ld, scale: 6, rng: &rng)
        let scale: Float = 0.37
        let (st, loss, Z) = run(.multinomial, x, Z0, ld: ld, scale: scale, grad: true, loss0: 1.5)
        #expect(st == ok)
        let (refLoss, g, mag) = refMultinomial(x, Z0, ld: ld, scale: Double(scale))
        #expect(abs((loss - 1.5) - refLoss) <= 1e-6 * mag + 1e-12, "loss \(loss - 1.5) vs \(refLoss)")
        let y = x.dense()
        let n = y.map { $0.reduce(0, +) }
        // the gradient: scale (n p - y), relative to its two terms (n p = g / scale + y)
        let bad = gradMismatches(Z, ld: ld, g, cols: x.nCols, rel: 1e-6,
                                 gscale: { r, c in abs(g[r][c]) + 2 * Double(scale) * abs(y[r][c]) },
                                 floor: Double(scale) * (n.max() ?? 0) * 4 * fltMin)
        #expect(bad == 0)
        // the empty row's gradient is exactly 0
        #expect((0..<x.nCols).allSatisfy { Z[$0] == 0 })
        // the loss alone: Z untouched, the same loss bit for bit (same sums)
        let (st2, loss2, Z2) = run(.multinomial, x, Z0, ld: ld, scale: scale, grad: false, loss0: 1.5)
        #expect(st2 == ok && bits(Z2) == bits(Z0) && loss2 == loss)
        // implicit data == explicit ones
        if !explicit {
            let (_, l3, Z3) = run(.multinomial, x.explicitOnes, Z0, ld: ld, scale: scale, grad: true, loss0: 1.5)
            #expect(l3 == loss && bits(Z3) == bits(Z))
        }
    }

    @Test("the fused output bias gives the bits of a separate bias pass", arguments: [1, 3])
    func fusedBias(threads: Int) {
        var rng = LossRNG(21)
        let x = Block.random(rows: 11, cols: 203, maxPerRow: 30, explicit: false, offset: 0, rng: &rng)
        let ld = 210
        let Z0 = logits(rows: x.nRows, cols: x.nCols, ld: ld, scale: 5, rng: &rng)
        let bias = (0..<x.nCols).map { _ in rng.sym() * 2 }
        // separate pass: Z + bias, then the plain kernel
        var biased = Z0
        for r in 0..<x.nRows { for c in 0..<x.nCols { biased[r * ld + c] = Z0[r * ld + c] + bias[c] } }
        for grad in [true, false] {
            let (st, want, wantZ) = run(.multinomial, x, biased, ld: ld, scale: 0.25, grad: grad, threads: threads)
            var Z = Z0
            var loss = 0.0
            let st2 = x.with { c in
                Z.withUnsafeMutableBufferPointer { z in
                    bias.withUnsafeBufferPointer { b in
                        aek_multinomial_nll_bias(c, z.baseAddress, Int64(ld), b.baseAddress, 0.25, grad ? 1 : 0, &loss,
                                                 Int32(threads))
                    }
                }
            }
            #expect(st == ok && st2 == ok)
            #expect(loss == want)
            #expect(bits(Z) == bits(wantZ), "grad \(grad): Z differs from the two-pass result")
        }
        // no bias: the plain kernel
        var Z = Z0
        var loss = 0.0
        let st3 = x.with { c in
            Z.withUnsafeMutableBufferPointer { aek_multinomial_nll_bias(c, $0.baseAddress, Int64(ld), nil, 0.25, 1, &loss, 1) }
        }
        let (_, plain, plainZ) = run(.multinomial, x, Z0, ld: ld, scale: 0.25, grad: true)
        #expect(st3 == ok && loss == plain && bits(Z) == bits(plainZ))
    }

    @Test("the output bias's gradient summed inside the likelihood pass: the separate column sums' bits, a float64 reference's values",
          arguments: [1, 2, 3])
    func fusedColumnSums(threads: Int) {
        var rng = LossRNG(29)
        // wide enough rows that every thread gets rows (parts = threads); row 1 targets every column, so
        // its group of four takes the path for groups with more targets than the kernel saves, the
        // other groups (4, 3, 2 or 1 rows) the one-pass scaling and sums
        let rows = 11, cols = 33_000, ld = 33_005
        let x = Block.random(rows: rows, cols: cols, maxPerRow: 30, explicit: true, duplicates: true, offset: 2, rng: &rng)
        checkFusedColumnSums(x, ld: ld, threads: threads, rng: &rng)
        #expect(aek_column_sums_scratch_doubles(Int64(rows), Int64(cols), Int32(threads)) == Int64(threads * cols))
    }

    @Test("fused column sums when the rows of a group share target columns (re-summed from saved values)")
    func fusedColumnSumsSharedTargets() {
        var rng = LossRNG(31)
        // 40 columns, up to 25 targets per row (+ a duplicate): columns repeat across each group's rows
        let x = Block.random(rows: 10, cols: 40, maxPerRow: 25, explicit: true, duplicates: true, offset: 0, rng: &rng)
        checkFusedColumnSums(x, ld: 43, threads: 1, rng: &rng)
        let y = Block.random(rows: 7, cols: 40, maxPerRow: 40, explicit: false, sorted: false, duplicates: true,
                             offset: 1, rng: &rng)
        checkFusedColumnSums(y, ld: 40, threads: 1, rng: &rng)
    }

    /// aek_multinomial_nll_grad_colsum on x against aek_multinomial_nll_bias + aek_column_sums_row_parts (the
    /// same bits), a float64 reference (1e-7) and, on one thread, aek_activation_backward's bias sums; errors.
    private func checkFusedColumnSums(_ x: Block, ld: Int, threads: Int, rng: inout LossRNG) {
        let rows = x.nRows, cols = x.nCols
        let Z0 = logits(rows: rows, cols: cols, ld: ld, scale: 5, rng: &rng)
        let bias = (0..<cols).map { _ in rng.sym() * 2 }
        let need = aek_column_sums_scratch_doubles(Int64(rows), Int64(cols), Int32(threads))
        var Z = Z0, loss = 0.0
        var sums = [Float](repeating: .nan, count: cols)
        var scratch = [Double](repeating: .nan, count: Int(need))
        let st = x.with { c in
            aek_multinomial_nll_grad_colsum(c, &Z, Int64(ld), bias, 0.25, &loss, &sums, &scratch, need, Int32(threads))
        }
        #expect(st == ok)
        // the gradient and the loss: aek_multinomial_nll_bias's bits
        var Zb = Z0, lossB = 0.0
        let stB = x.with { c in aek_multinomial_nll_bias(c, &Zb, Int64(ld), bias, 0.25, 1, &lossB, Int32(threads)) }
        #expect(stB == ok && loss == lossB && bits(Z) == bits(Zb))
        // the separate column sums of that gradient: the same bits
        var sums2 = [Float](repeating: .nan, count: cols)
        var scratch2 = [Double](repeating: .nan, count: Int(need))
        #expect(aek_column_sums_row_parts(Int64(rows), Int64(cols), Zb, Int64(ld), &sums2, &scratch2, need,
                                          Int32(threads)) == ok)
        #expect(bits(sums) == bits(sums2))
        // the values: a float64 reference
        var worst = 0.0
        for j in 0..<cols {
            var ref = 0.0, mag = 0.0
            for r in 0..<rows { ref += Double(Zb[r * ld + j]); mag += abs(Double(Zb[r * ld + j])) }
            worst = max(worst, abs(Double(sums[j]) - ref) / max(mag, 1e-30))
        }
        #expect(worst <= 1e-7, "relative error \(worst)")
        // one thread: the row-order float64 sums of aek_activation_backward's bias gradient
        if threads == 1 {
            var b = [Float](repeating: 0, count: cols)
            var G = Zb
            #expect(aek_activation_backward(Int64(rows), Int64(cols), aek_activation_default(AEK_ACT_IDENTITY), G, Int64(ld),
                                            nil, 0, &G, Int64(ld), &b, 1) == ok)
            #expect(bits(b) == bits(sums))
        }
        // refused: a scratch one double short, no output; no rows: zero sums
        var Z3 = Z0, l3 = 0.0
        #expect(x.with { c in
            aek_multinomial_nll_grad_colsum(c, &Z3, Int64(ld), bias, 0.25, &l3, &sums, &scratch, need - 1, Int32(threads))
        } == Int32(AEK_ERR_ARG))
        #expect(bits(Z3) == bits(Z0), "nothing written on error")
        #expect(aek_column_sums_row_parts(Int64(rows), Int64(cols), Zb, Int64(ld), nil, &scratch2, need, Int32(threads))
                == Int32(AEK_ERR_ARG))
        #expect(aek_column_sums_row_parts(0, Int64(cols), Zb, Int64(ld), &sums2, nil, 0, Int32(threads)) == ok)
        #expect(sums2.allSatisfy { $0 == 0 })
    }

    @Test func duplicatesActAsSummedCounts() {
        let x = Block(nRows: 1, nCols: 6, indptr: [0, 3], indices: [4, 1, 4], values: [2, 1, 3])
        let merged = Block(nRows: 1, nCols: 6, indptr: [0, 2], indices: [1, 4], values: [1, 5])
        let Z0: [Float] = [0.1, -2, 3, 0.5, 1.25, -0.75]
        let (_, l1, Z1) = run(.multinomial, x, Z0, ld: 6, scale: 1, grad: true)
        let (_, l2, Z2) = run(.multinomial, merged, Z0, ld: 6, scale: 1, grad: true)
        #expect(abs(l1 - l2) <= 1e-12 * abs(l2))
        #expect(zip(Z1, Z2).allSatisfy { abs($0 - $1) <= 1e-6 })
    }

    @Test func gradientMatchesFiniteDifferences() {
        var rng = LossRNG(13)
        let x = Block.random(rows: 4, cols: 11, maxPerRow: 6, explicit: true, rng: &rng)
        let Z0 = logits(rows: 4, cols: 11, ld: 11, scale: 3, rng: &rng)
        let scale: Float = 0.7
        let (_, _, G) = run(.multinomial, x, Z0, ld: 11, scale: scale, grad: true)
        checkFiniteDifferences(G, Z0) { Z in run(.multinomial, x, Z, ld: 11, scale: scale, grad: false).1 }
    }

    @Test func extremeLogitsStayFinite() {
        // rows: +-100, huge spread, all equal and huge, the full float range, a target at -FLT_MAX
        let rows: [[Float]] = [
            [100, -100, 0, 100, -100, 5],
            [1e4, -1e4, 0, 3, -3, 1e4],
            [1e30, 1e30, 1e30, 1e30, 1e30, 1e30],
            [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, 0, 1, -1, 2],
            [-100, -100, -100, -100, -100, -99],
        ]
        let x = Block(nRows: 5, nCols: 6, indptr: [0, 2, 4, 6, 8, 10], indices: [1, 0, 1, 2, 0, 5, 1, 3, 0, 5],
                      values: [1, 2, 3, 1, 1, 1, 2, 1, 1, 1])
        let Z0 = rows.flatMap { $0 }
        let (st, loss, Z) = run(.multinomial, x, Z0, ld: 6, scale: 0.5, grad: true)
        #expect(st == ok && loss.isFinite && Z.allSatisfy { $0.isFinite })
        let (ref, g, mag) = refMultinomial(x, Z0, ld: 6, scale: 0.5)
        #expect(ref.isFinite && abs(loss - ref) <= 1e-6 * mag, "\(loss) vs \(ref)")
        let y = x.dense(), n = y.map { $0.reduce(0, +) }
        let bad = gradMismatches(Z, ld: 6, g, cols: 6, rel: 1e-6, gscale: { r, c in 0.5 * (n[r] + abs(y[r][c])) },
                                 floor: 1e-30)
        #expect(bad == 0)
    }

    @Test func threadCounts() {
        var rng = LossRNG(14)
        // 8000 columns: 8 rows per part minimum, so 4 threads really split the 40 rows
        let x = Block.random(rows: 40, cols: 8000, maxPerRow: 300, explicit: true, rng: &rng)
        let Z0 = logits(rows: 40, cols: 8000, ld: 8000, scale: 4, rng: &rng)
        let (_, l1, G1) = run(.multinomial, x, Z0, ld: 8000, scale: 0.1, grad: true, threads: 1)
        let (ref, _, mag) = refMultinomial(x, Z0, ld: 8000, scale: 0.1)
        #expect(abs(l1 - ref) <= 1e-6 * mag)
        for t in 2...4 {
            let (st, l, G) = run(.multinomial, x, Z0, ld: 8000, scale: 0.1, grad: true, threads: t)
            let (_, lAgain, _) = run(.multinomial, x, Z0, ld: 8000, scale: 0.1, grad: false, threads: t)
            #expect(st == ok && bits(G) == bits(G1), "\(t) threads: gradient bits")
            #expect(l == lAgain, "\(t) threads: loss is deterministic")
            #expect(abs(l - l1) <= 1e-12 * abs(l1), "\(t) threads: loss \(l) vs \(l1)")
        }
    }
}

/// Central differences (float perturbations, float64 loss) against a gradient G of the loss at Z0.
private func checkFiniteDifferences(_ G: [Float], _ Z0: [Float], only: [Int]? = nil,
                                    sourceLocation: SourceLocation = #_sourceLocation, loss: ([Float]) -> Double) {
    var bad: [(Int, Double, Float)] = []
    for i in only ?? Array(0..<Z0.count) {
        let h = Float(1.0 / 64)
        var zp = Z0, zm = Z0
        zp[i] += h
        zm[i] -= h
        let fd = (loss(zp) - loss(zm)) / Double(zp[i] - zm[i])
        if !(abs(fd - Double(G[i])) <= 2e-3 * max(abs(Double(G[i])), 0.1)) { bad.append((i, fd, G[i])) }
    }
    #expect(bad.isEmpty, "finite differences disagree: \(bad.prefix(4))", sourceLocation: sourceLocation)
}

// MARK: - sigmoid BCE

@Suite("aek_sigmoid_bce")
struct LossSigmoidBCETests {
    @Test(arguments: [false, true])
    func matchesFloat64(explicit: Bool) {
        var rng = LossRNG(explicit ? 21 : 22)
        let x = Block.random(rows: 8, cols: 131, maxPerRow: 30, explicit: explicit, duplicates: true, offset: 2, rng: &rng)
        let ld = 133
        var Z0 = logits(rows: x.nRows, cols: x.nCols, ld: ld, scale: 10, rng: &rng)
        for (i, v) in [Float(100), -100, 1e4, -1e4, 0, 30, -30].enumerated() { Z0[2 * ld + i] = v; Z0[1 * ld + i] = v }
        let scale: Float = 0.25
        let (st, loss, Z) = run(.bce, x, Z0, ld: ld, scale: scale, grad: true, loss0: -2)
        #expect(st == ok)
        let (refLoss, g, mag) = refBCE(x, Z0, ld: ld, scale: Double(scale))
        #expect(abs((loss + 2) - refLoss) <= 1e-6 * mag, "loss \(loss + 2) vs \(refLoss)")
        let y = x.dense()
        let bad = gradMismatches(Z, ld: ld, g, cols: x.nCols, rel: 1e-6,
                                 gscale: { r, c in Double(scale) * (1 + abs(y[r][c])) / 4 }, floor: Double(scale) * 2 * fltMin)
        #expect(bad == 0)
        let (st2, loss2, Z2) = run(.bce, x, Z0, ld: ld, scale: scale, grad: false, loss0: -2)
        #expect(st2 == ok && bits(Z2) == bits(Z0) && loss2 == loss)
        if !explicit {
            let (_, l3, Z3) = run(.bce, x.explicitOnes, Z0, ld: ld, scale: scale, grad: true, loss0: -2)
            #expect(l3 == loss && bits(Z3) == bits(Z))
        }
    }

    @Test func gradientMatchesFiniteDifferences() {
        var rng = LossRNG(23)
        let x = Block.random(rows: 3, cols: 17, maxPerRow: 8, explicit: true, rng: &rng)
        let Z0 = logits(rows: 3, cols: 17, ld: 17, scale: 4, rng: &rng)
        let (_, _, G) = run(.bce, x, Z0, ld: 17, scale: 1.3, grad: true)
        checkFiniteDifferences(G, Z0) { Z in run(.bce, x, Z, ld: 17, scale: 1.3, grad: false).1 }
    }

    @Test func extremeLogitsAndThreads() {
        var rng = LossRNG(24)
        // 5000 columns: 13 rows per part minimum, so 4 threads really split the 60 rows
        let x = Block.random(rows: 60, cols: 5000, maxPerRow: 50, explicit: false, rng: &rng)
        var Z0 = logits(rows: 60, cols: 5000, ld: 5000, scale: 100, rng: &rng)
        Z0[7] = .greatestFiniteMagnitude
        Z0[8] = -.greatestFiniteMagnitude
        Z0[5000 + 3] = -.greatestFiniteMagnitude // row 1 holds every item: a target at -FLT_MAX
        let (st, l1, G1) = run(.bce, x, Z0, ld: 5000, scale: 0.01, grad: true, threads: 1)
        #expect(st == ok && l1.isFinite && G1.allSatisfy { $0.isFinite })
        let (ref, _, mag) = refBCE(x, Z0, ld: 5000, scale: 0.01)
        #expect(abs(l1 - ref) <= 1e-6 * mag)
        for t in 2...4 {
            let (_, l, G) = run(.bce, x, Z0, ld: 5000, scale: 0.01, grad: true, threads: t)
            #expect(bits(G) == bits(G1) && abs(l - l1) <= 1e-12 * abs(l1), "\(t) threads")
        }
    }
}

// MARK: - masked squared error

@Suite("aek_masked_squared_error")
struct LossMaskedSquaredErrorTests {
    @Test(arguments: [false, true])
    func sparsePredictions(explicit: Bool) {
        var rng = LossRNG(explicit ? 31 : 32)
        let x = Block.random(rows: 7, cols: 40, maxPerRow: 12, explicit: explicit, duplicates: true, offset: 5, rng: &rng)
        let pred = rng.floats(x.indices.count, scale: 3)
        let scale: Float = 0.6
        var refLoss = 0.0
        var refGrad = [Double](repeating: 0, count: pred.count)
        for k in Int(x.indptr[0])..<Int(x.indptr[x.nRows]) {
            let d = Double(pred[k]) - x.value(k)
            refLoss += Double(scale) * d * d
            refGrad[k] = 2 * Double(scale) * d
        }
        var grad = [Float](repeating: sentinel, count: pred.count)
        var loss = 0.25
        let st = x.with { c in aek_masked_squared_error(c, pred, scale, &grad, &loss) }
        #expect(st == ok && abs((loss - 0.25) - refLoss) <= 1e-12 * refLoss)
        for k in 0..<pred.count {
            if k < Int(x.indptr[0]) {
                #expect(grad[k].bitPattern == sentinel.bitPattern) // entries before indptr[0] are not ours
            } else {
                #expect(abs(Double(grad[k]) - refGrad[k]) <= 1e-7 * abs(refGrad[k]), "entry \(k)")
            }
        }
        // grad may be NULL, or the prediction buffer itself
        var loss2 = 0.25
        #expect(x.with { c in aek_masked_squared_error(c, pred, scale, nil, &loss2) } == ok && loss2 == loss)
        var inPlace = pred
        var loss3 = 0.25
        let st3 = x.with { c in
            inPlace.withUnsafeMutableBufferPointer { p in aek_masked_squared_error(c, p.baseAddress, scale, p.baseAddress, &loss3) }
        }
        #expect(st3 == ok && loss3 == loss)
        #expect((Int(x.indptr[0])..<pred.count).allSatisfy { inPlace[$0] == grad[$0] })
        // finite differences of the loss in the predictions
        checkFiniteDifferences(grad, pred, only: Array(Int(x.indptr[0])..<pred.count)) { p in
            var l = 0.0
            _ = x.with { c in aek_masked_squared_error(c, p, scale, nil, &l) }
            return l
        }
    }

    @Test(arguments: [true, false])
    func densePredictions(sorted: Bool) {
        var rng = LossRNG(sorted ? 33 : 34)
        let x = Block.random(rows: 10, cols: 90, maxPerRow: 30, explicit: true, sorted: sorted, duplicates: !sorted,
                             offset: 1, rng: &rng)
        let ld = 93
        let Z0 = logits(rows: x.nRows, cols: x.nCols, ld: ld, scale: 4, rng: &rng)
        let scale: Float = 1.5
        let (st, loss, Z) = run(.mse, x, Z0, ld: ld, scale: scale, grad: true)
        #expect(st == ok)
        let (refLoss, g, mag, gmag) = refMSEDense(x, Z0, ld: ld, scale: Double(scale))
        #expect(abs(loss - refLoss) <= 1e-12 * mag)
        let bad = gradMismatches(Z, ld: ld, g, cols: x.nCols, rel: 1.5e-7, gscale: { r, c in gmag[r][c] }, floor: 0)
        #expect(bad == 0)
        // unobserved entries are exactly 0 (the empty row entirely)
        #expect((0..<x.nCols).allSatisfy { Z[$0] == 0 && Z[$0].sign == .plus })
        let (st2, loss2, Z2) = run(.mse, x, Z0, ld: ld, scale: scale, grad: false)
        #expect(st2 == ok && loss2 == loss && bits(Z2) == bits(Z0))
        let fx = Block(nRows: 2, nCols: 5, indptr: [0, 3, 5], indices: sorted ? [0, 2, 4, 1, 3] : [4, 0, 4, 3, 1],
                       values: [1, -2, 0.5, 3, 1])
        let f0 = logits(rows: 2, cols: 5, ld: 5, scale: 2, rng: &rng)
        let (_, _, G) = run(.mse, fx, f0, ld: 5, scale: 0.8, grad: true)
        checkFiniteDifferences(G, f0) { Z in run(.mse, fx, Z, ld: 5, scale: 0.8, grad: false).1 }
    }

    @Test func denseThreadCounts() {
        var rng = LossRNG(35)
        let x = Block.random(rows: 280, cols: 1000, maxPerRow: 40, explicit: true, sorted: false, duplicates: true, rng: &rng)
        let Z0 = logits(rows: 280, cols: 1000, ld: 1000, scale: 3, rng: &rng)
        let (_, l1, G1) = run(.mse, x, Z0, ld: 1000, scale: 0.5, grad: true, threads: 1)
        for t in 2...4 {
            let (st, l, G) = run(.mse, x, Z0, ld: 1000, scale: 0.5, grad: true, threads: t)
            #expect(st == ok && bits(G) == bits(G1) && abs(l - l1) <= 1e-12 * l1, "\(t) threads")
        }
    }
}

// MARK: - Gaussian KL

/// Runs aek_gaussian_kl; the gradient buffers are optional and come back updated.
private func runKL(rows: Int, cols: Int, mu: [Float], ldmu: Int, lv: [Float], ldlv: Int, scale: Float,
                   dmu: [Float]? = nil, lddmu: Int = 0, dlv: [Float]? = nil, lddlv: Int = 0, loss: inout Double)
    -> (Int32, [Float]?, [Float]?) {
    var gm = dmu ?? [], gl = dlv ?? []
    let st = gm.withUnsafeMutableBufferPointer { pm in
        gl.withUnsafeMutableBufferPointer { pl in
            aek_gaussian_kl(Int64(rows), Int64(cols), mu, Int64(ldmu), lv, Int64(ldlv), scale, dmu == nil ? nil : pm.baseAddress,
                            Int64(lddmu), dlv == nil ? nil : pl.baseAddress, Int64(lddlv), &loss)
        }
    }
    return (st, dmu == nil ? nil : gm, dlv == nil ? nil : gl)
}

@Suite("aek_gaussian_kl")
struct LossGaussianKLTests {
    @Test func matchesFloat64AndAccumulates() {
        var rng = LossRNG(41)
        let rows = 9, cols = 37, ldmu = 40, ldlv = 38, ld = 39
        let mu = logits(rows: rows, cols: cols, ld: ldmu, scale: 2, rng: &rng)
        var lv = logits(rows: rows, cols: cols, ld: ldlv, scale: 3, rng: &rng)
        for (i, v) in [Float(0), 1e-6, -1e-6, 1e-3, 40, -40].enumerated() { lv[i] = v }
        let scale: Float = 0.3
        let dmu0 = logits(rows: rows, cols: cols, ld: ld, scale: 1, rng: &rng)
        let dlv0 = logits(rows: rows, cols: cols, ld: ld, scale: 1, rng: &rng)
        var loss = 3.0
        let (st, dmuOut, dlvOut) = runKL(rows: rows, cols: cols, mu: mu, ldmu: ldmu, lv: lv, ldlv: ldlv, scale: scale, dmu: dmu0,
                                         lddmu: ld, dlv: dlv0, lddlv: ld, loss: &loss)
        #expect(st == ok)
        let dmu = dmuOut!, dlv = dlvOut!
        var ref = 0.0, mag = 0.0, bad = 0
        for r in 0..<rows {
            for c in 0..<cols {
                let m = Double(mu[r * ldmu + c]), l = Double(lv[r * ldlv + c])
                let term = -0.5 * (1 + l - m * m - exp(l))
                ref += Double(scale) * term
                mag += Double(scale) * (0.5 * m * m + 0.5 * abs(expm1(l) - l) + 1e-7 * abs(l))
                let gm = Double(dmu0[r * ld + c]) + Double(scale) * m
                let gl = Double(dlv0[r * ld + c]) + Double(scale) * 0.5 * expm1(l)
                if !(abs(Double(dmu[r * ld + c]) - gm) <= 1e-7 * (abs(gm) + abs(Double(scale) * m))) { bad += 1 }
                if !(abs(Double(dlv[r * ld + c]) - gl) <= 3e-7 * (abs(gl) + abs(Double(scale) * 0.5 * expm1(l)))) { bad += 1 }
            }
            for c in cols..<ld where dmu[r * ld + c].bitPattern != sentinel.bitPattern || dlv[r * ld + c].bitPattern != sentinel.bitPattern {
                bad += 1
            }
        }
        #expect(abs((loss - 3) - ref) <= 1e-6 * mag, "\(loss - 3) vs \(ref)")
        #expect(bad == 0)
        // each gradient is optional; the loss does not depend on them
        var l2 = 3.0, l3 = 3.0
        #expect(runKL(rows: rows, cols: cols, mu: mu, ldmu: ldmu, lv: lv, ldlv: ldlv, scale: scale, loss: &l2).0 == ok)
        #expect(l2 == loss)
        let (st3, onlyMu, noLv) = runKL(rows: rows, cols: cols, mu: mu, ldmu: ldmu, lv: lv, ldlv: ldlv, scale: scale, dmu: dmu0,
                                        lddmu: ld, loss: &l3)
        #expect(st3 == ok && l3 == loss && noLv == nil && bits(onlyMu!) == bits(dmu))
    }

    @Test func gradientsMatchFiniteDifferences() {
        var rng = LossRNG(42)
        let rows = 2, cols = 7
        let mu = rng.floats(rows * cols, scale: 2), lv = rng.floats(rows * cols, scale: 2)
        let zeros = [Float](repeating: 0, count: rows * cols)
        var l = 0.0
        let (_, dmu, dlv) = runKL(rows: rows, cols: cols, mu: mu, ldmu: cols, lv: lv, ldlv: cols, scale: 0.9, dmu: zeros,
                                  lddmu: cols, dlv: zeros, lddlv: cols, loss: &l)
        func loss(_ m: [Float], _ v: [Float]) -> Double {
            var s = 0.0
            _ = runKL(rows: rows, cols: cols, mu: m, ldmu: cols, lv: v, ldlv: cols, scale: 0.9, loss: &s)
            return s
        }
        checkFiniteDifferences(dmu!, mu) { loss($0, lv) }
        checkFiniteDifferences(dlv!, lv) { loss(mu, $0) }
    }

    @Test func extremeLogVariancesStayFinite() {
        let lv: [Float] = [100, -100, 1e4, -1e4, 88.7, 89, -87, 0, .greatestFiniteMagnitude, -.greatestFiniteMagnitude]
        let mu: [Float] = [1e4, -1e4, 0, 1, 1e18, -1e18, 3, 0, 0, 0]
        let zeros = [Float](repeating: 0, count: 10)
        var loss = 0.0
        let (st, dmu, dlv) = runKL(rows: 2, cols: 5, mu: mu, ldmu: 5, lv: lv, ldlv: 5, scale: 0.5, dmu: zeros, lddmu: 5,
                                   dlv: zeros, lddlv: 5, loss: &loss)
        #expect(st == ok)
        #expect(loss.isFinite && dmu!.allSatisfy { $0.isFinite } && dlv!.allSatisfy { $0.isFinite })
        #expect(dlv![3] == -0.25 && dlv![7] == 0) // 0.5 scale (e^lv - 1) at lv = -1e4 and 0
    }

    @Test func edgeShapesAndErrors() {
        var loss = 1.0
        #expect(runKL(rows: 0, cols: 5, mu: [], ldmu: 5, lv: [], ldlv: 5, scale: 1, loss: &loss).0 == ok)
        #expect(loss == 1)
        let one: [Float] = [0.5]
        #expect(runKL(rows: 1, cols: 1, mu: one, ldmu: 1, lv: one, ldlv: 1, scale: 1, loss: &loss).0 == ok)
        #expect(abs((loss - 1) - (-0.5 * (1 + 0.5 - 0.25 - exp(0.5)))) <= 1e-7)
        let mu: [Float] = [1, 2, 3, 4], lv: [Float] = [0, 0, 0, 0]
        var g: [Float] = [9, 9, 9, 9]
        loss = 7
        func call(_ rows: Int64, _ cols: Int64, ldmu: Int64 = 2, ldlv: Int64 = 2, lddmu: Int64 = 2, nullMu: Bool = false,
                  nullLoss: Bool = false) -> Int32 {
            g.withUnsafeMutableBufferPointer { gp in
                mu.withUnsafeBufferPointer { m in
                    nullLoss ? aek_gaussian_kl(rows, cols, m.baseAddress, ldmu, lv, ldlv, 1, gp.baseAddress, lddmu, nil, 0, nil)
                        : aek_gaussian_kl(rows, cols, nullMu ? nil : m.baseAddress, ldmu, lv, ldlv, 1, gp.baseAddress, lddmu, nil,
                                          0, &loss)
                }
            }
        }
        #expect(call(-1, 2) == errArg)
        #expect(call(2, -2) == errArg)
        #expect(call(2, 2, ldmu: 1) == errArg)
        #expect(call(2, 2, ldlv: 1) == errArg)
        #expect(call(2, 2, lddmu: 1) == errArg)
        #expect(call(2, 2, nullMu: true) == errArg)
        #expect(call(2, 2, nullLoss: true) == errArg)
        #expect(loss == 7 && g == [9, 9, 9, 9])
        #expect(call(2, 2) == ok)
        #expect(loss != 7 && g != [9, 9, 9, 9])
    }
}

// MARK: - shapes and argument errors shared by the CSR losses

@Suite("loss arguments")
struct LossArgumentTests {
    @Test(arguments: [DenseLossCase.multinomial, .bce, .mse])
    func edgeShapes(which: DenseLossCase) {
        var rng = LossRNG(51)
        // one column; one row; no rows; no columns
        let oneCol = Block(nRows: 3, nCols: 1, indptr: [0, 1, 1, 2], indices: [0, 0], values: [2, 1])
        let Z1: [Float] = [0.5, -1, 2]
        let (s1, l1, G1) = run(which.kind, oneCol, Z1, ld: 1, scale: 1, grad: true)
        #expect(s1 == ok && l1.isFinite && G1.allSatisfy { $0.isFinite })
        if which == .multinomial {
            // a single column has softmax 1: loss 0, gradient n - x = 0
            #expect(l1 == 0 && G1 == [0, 0, 0])
        }
        let oneRow = Block.random(rows: 2, cols: 300, maxPerRow: 20, explicit: true, rng: &rng)
        let row = Block(nRows: 1, nCols: 300, indptr: [oneRow.indptr[1], oneRow.indptr[2]], indices: oneRow.indices,
                        values: oneRow.values)
        let Zr = logits(rows: 1, cols: 300, ld: 300, scale: 5, rng: &rng)
        let (s2, l2, _) = run(which.kind, row, Zr, ld: 300, scale: 1, grad: true, threads: 3)
        let ref: Double
        switch which {
        case .multinomial: ref = refMultinomial(row, Zr, ld: 300, scale: 1).0
        case .bce: ref = refBCE(row, Zr, ld: 300, scale: 1).0
        case .mse: ref = refMSEDense(row, Zr, ld: 300, scale: 1).0
        }
        #expect(s2 == ok && abs(l2 - ref) <= 1e-6 * max(abs(ref), 1))
        let empty = Block(nRows: 0, nCols: 10, indptr: [0], indices: [], values: nil)
        #expect(run(which.kind, empty, [], ld: 10, scale: 1, grad: true, loss0: 4) == (ok, 4, []))
        let noCols = Block(nRows: 2, nCols: 0, indptr: [0, 0, 0], indices: [], values: nil)
        #expect(run(which.kind, noCols, [], ld: 0, scale: 1, grad: true, loss0: 4) == (ok, 4, []))
    }

    @Test(arguments: [DenseLossCase.multinomial, .bce, .mse])
    func argumentErrorsTouchNothing(which: DenseLossCase) {
        let good = Block(nRows: 2, nCols: 3, indptr: [0, 2, 3], indices: [0, 2, 1], values: [1, 2, 3])
        let Z0: [Float] = [1, 2, 3, 4, 5, 6]
        func expectRejected(_ x: Block, ld: Int = 3, _ note: String) {
            let (st, loss, Z) = run(which.kind, x, Z0, ld: ld, scale: 1, grad: true, loss0: 5)
            #expect(st == errArg && loss == 5 && bits(Z) == bits(Z0), "\(which): \(note)")
        }
        var x = good
        x.indices[1] = 3
        expectRejected(x, "column == n_cols")
        x = good
        x.indices[2] = -1
        expectRejected(x, "negative column")
        x = good
        x.indptr = [0, 3, 2]
        expectRejected(x, "decreasing indptr")
        x = good
        x.indptr = [-1, 2, 3]
        expectRejected(x, "negative indptr[0]")
        x = good
        x.nRows = -1
        expectRejected(x, "negative rows")
        x = good
        x.nCols = -1
        expectRejected(x, "negative columns")
        expectRejected(good, ld: 2, "ld < n_cols")
        // null pointers: Z, loss, indptr, indices with entries
        var loss = 5.0
        let st1 = good.with { c in
            switch which {
            case .multinomial: return aek_multinomial_nll(c, nil, 3, 1, 1, &loss, 1)
            case .bce: return aek_sigmoid_bce(c, nil, 3, 1, 1, &loss, 1)
            case .mse: return aek_masked_squared_error_dense(c, nil, 3, 1, 1, &loss, 1)
            }
        }
        #expect(st1 == errArg && loss == 5)
        var Z = Z0
        let st2 = good.with { c in
            Z.withUnsafeMutableBufferPointer { z in
                switch which {
                case .multinomial: return aek_multinomial_nll(c, z.baseAddress, 3, 1, 1, nil, 1)
                case .bce: return aek_sigmoid_bce(c, z.baseAddress, 3, 1, 1, nil, 1)
                case .mse: return aek_masked_squared_error_dense(c, z.baseAddress, 3, 1, 1, nil, 1)
                }
            }
        }
        #expect(st2 == errArg && bits(Z) == bits(Z0))
        let ip: [Int64] = [0, 2, 3]
        for (indptr, hasIndices) in [(false, true), (true, false)] {
            let st3 = ip.withUnsafeBufferPointer { p in
                good.indices.withUnsafeBufferPointer { ix in
                    Z.withUnsafeMutableBufferPointer { z in
                        let c = aek_csr(n_rows: 2, n_cols: 3, indptr: indptr ? p.baseAddress : nil,
                                        indices: hasIndices ? ix.baseAddress : nil, values: nil)
                        switch which {
                        case .multinomial: return aek_multinomial_nll(c, z.baseAddress, 3, 1, 1, &loss, 1)
                        case .bce: return aek_sigmoid_bce(c, z.baseAddress, 3, 1, 1, &loss, 1)
                        case .mse: return aek_masked_squared_error_dense(c, z.baseAddress, 3, 1, 1, &loss, 1)
                        }
                    }
                }
            }
            #expect(st3 == errArg && loss == 5 && bits(Z) == bits(Z0))
        }
        // and the good block is accepted
        #expect(run(which.kind, good, Z0, ld: 3, scale: 1, grad: true).0 == ok)
    }

    @Test func sparseSquaredErrorArguments() {
        let x = Block(nRows: 2, nCols: 3, indptr: [0, 2, 3], indices: [0, 2, 1], values: [1, 2, 3])
        let pred: [Float] = [1, 1, 1]
        var grad: [Float] = [7, 7, 7]
        var loss = 5.0
        #expect(x.with { aek_masked_squared_error($0, nil, 1, &grad, &loss) } == errArg)
        #expect(x.with { aek_masked_squared_error($0, pred, 1, &grad, nil) } == errArg)
        var bad = x
        bad.indptr = [0, 3, 2]
        #expect(bad.with { aek_masked_squared_error($0, pred, 1, &grad, &loss) } == errArg)
        bad = x
        bad.nRows = -3
        #expect(bad.with { aek_masked_squared_error($0, pred, 1, &grad, &loss) } == errArg)
        #expect(loss == 5 && grad == [7, 7, 7])
        // no entries: pred may be NULL
        let none = Block(nRows: 2, nCols: 3, indptr: [1, 1, 1], indices: [], values: nil)
        #expect(none.with { aek_masked_squared_error($0, nil, 1, nil, &loss) } == ok && loss == 5)
        #expect(x.with { aek_masked_squared_error($0, pred, 1, &grad, &loss) } == ok && loss == 5 + 0 + 1 + 4)
        #expect(grad == [0, -2, -4])
    }
}

enum DenseLossCase: CustomStringConvertible, Sendable {
    case multinomial, bce, mse
    fileprivate var kind: DenseLoss {
        switch self {
        case .multinomial: return .multinomial
        case .bce: return .bce
        case .mse: return .mse
        }
    }
    var description: String {
        switch self {
        case .multinomial: return "multinomial"
        case .bce: return "bce"
        case .mse: return "mse"
        }
    }
}
