import Testing
import AERecKernels

fileprivate func dropoutDense(_ a: inout [Float], rows: Int, cols: Int, lda: Int? = nil, p: Float, seed: UInt64,
                              stream: UInt64, keys: [Int64]? = nil, threads: Int = 1) -> Int32 {
    a.withUnsafeMutableBufferPointer { ap in
        if let keys {
            return keys.withUnsafeBufferPointer { kp in
                aek_dropout_dense(Int64(rows), Int64(cols), ap.baseAddress, Int64(lda ?? cols), p, seed, stream,
                                  kp.baseAddress, Int32(threads))
            }
        }
        return aek_dropout_dense(Int64(rows), Int64(cols), ap.baseAddress, Int64(lda ?? cols), p, seed, stream, nil,
                                 Int32(threads))
    }
}

fileprivate func normalFill(rows: Int, cols: Int, ld: Int, seed: UInt64, stream: UInt64, keys: [Int64]? = nil,
                            threads: Int) -> (Int32, [Float]) {
    var out = [Float](repeating: 1234, count: rows * ld)
    let st = out.withUnsafeMutableBufferPointer { op in
        if let keys {
            return keys.withUnsafeBufferPointer { kp in
                aek_normal_fill(Int64(rows), Int64(cols), op.baseAddress, Int64(ld), seed, stream, kp.baseAddress,
                                Int32(threads))
            }
        }
        return aek_normal_fill(Int64(rows), Int64(cols), op.baseAddress, Int64(ld), seed, stream, nil, Int32(threads))
    }
    return (st, out)
}

/// CSR dropout over `rows` (column lists); values nil = implicit ones. Returns (status, out_values).
fileprivate func dropoutCSR(_ rows: [[Int32]], nCols: Int, values: [Float]?, p: Float, seed: UInt64, stream: UInt64,
                            keys: [Int64]? = nil) -> (Int32, [Float]) {
    var indptr: [Int64] = [0]
    var indices: [Int32] = []
    for r in rows {
        indices += r
        indptr.append(Int64(indices.count))
    }
    var out = [Float](repeating: -7, count: indices.count)
    let vals = values ?? []
    let st = indptr.withUnsafeBufferPointer { ip in
        indices.withUnsafeBufferPointer { xp in
            vals.withUnsafeBufferPointer { vp in
                out.withUnsafeMutableBufferPointer { op in
                    let x = aek_csr(n_rows: Int64(rows.count), n_cols: Int64(nCols), indptr: ip.baseAddress,
                                    indices: xp.baseAddress, values: values == nil ? nil : vp.baseAddress)
                    if let keys {
                        return keys.withUnsafeBufferPointer { kp in
                            aek_dropout_csr(x, p, seed, stream, kp.baseAddress, op.baseAddress)
                        }
                    }
                    return aek_dropout_csr(x, p, seed, stream, nil, op.baseAddress)
                }
            }
        }
    }
    return (st, out)
}

fileprivate func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }

fileprivate func correlation(_ a: [Double], _ b: [Double]) -> Double {
    let ma = mean(a), mb = mean(b)
    var sab = 0.0, saa = 0.0, sbb = 0.0
    for i in a.indices {
        sab += (a[i] - ma) * (b[i] - mb)
        saa += (a[i] - ma) * (a[i] - ma)
        sbb += (b[i] - mb) * (b[i] - mb)
    }
    return sab / (saa * sbb).squareRoot()
}

@Suite struct RandomTests {
    @Test func hashIsAPureFunctionOfItsInputs() {
        #expect(aek_hash64(1, 2, 3) == aek_hash64(1, 2, 3))
        let base = aek_hash64(1, 2, 3)
        #expect(aek_hash64(2, 2, 3) != base)
        #expect(aek_hash64(1, 3, 3) != base)
        #expect(aek_hash64(1, 2, 4) != base)
        // Swapping roles of the inputs must not give the same value.
        #expect(aek_hash64(3, 2, 1) != base)
        #expect(aek_hash64(0, 0, 0) != 0)
        // uniform = top 24 bits of the hash.
        for c in UInt64(0)..<1000 {
            let h = aek_hash64(9, 8, c)
            #expect(aek_uniform(9, 8, c) == Float(h >> 40) / 16_777_216)
        }
    }

    /// Strict avalanche: flipping any one input bit (of counter, stream or seed) flips each output bit
    /// with probability 1/2.
    @Test func avalanche() {
        let samples = 2000
        // flips[input][inBit * 64 + outBit]
        var flips = [[Int]](repeating: [Int](repeating: 0, count: 64 * 64), count: 3)
        for s in 0..<samples {
            let c = UInt64(s) &* 0x2545_f491_4f6c_dd1d, stream = UInt64(s % 7), seed = UInt64(77 + s % 5)
            let h = aek_hash64(seed, stream, c)
            for bit in 0..<64 {
                let f = UInt64(1) << UInt64(bit)
                let d = [h ^ aek_hash64(seed, stream, c ^ f), h ^ aek_hash64(seed, stream ^ f, c),
                         h ^ aek_hash64(seed ^ f, stream, c)]
                for input in 0..<3 {
                    var x = d[input]
                    while x != 0 {
                        flips[input][bit * 64 + x.trailingZeroBitCount] += 1
                        x &= x - 1
                    }
                }
            }
        }
        // sd of one frequency: 0.5 / sqrt(2000) = 0.011; 12288 pairs, so allow ~6 sd.
        for input in 0..<3 {
            let worst = flips[input].map { abs(Double($0) / Double(samples) - 0.5) }.max()!
            #expect(worst < 0.07, "input \(input): worst flip-probability deviation \(worst)")
        }
    }

    @Test func uniformMomentsAndChiSquare() {
        let n = 200_000
        let u = (0..<n).map { Double(aek_uniform(12345, 1, UInt64($0))) }
        #expect(u.allSatisfy { $0 >= 0 && $0 < 1 })
        let m = mean(u)
        let varU = u.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n)
        #expect(abs(m - 0.5) < 5 * (1.0 / 12 / Double(n)).squareRoot(), "mean \(m)")
        #expect(abs(varU - 1.0 / 12) < 0.002, "variance \(varU)")
        // 100 buckets: chi-square with 99 degrees of freedom (mean 99, sd 14); 170 is beyond p = 1e-5.
        var buckets = [Int](repeating: 0, count: 100)
        for x in u { buckets[Int(x * 100)] += 1 }
        let expected = Double(n) / 100
        let chi2 = buckets.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        #expect(chi2 < 170, "chi-square \(chi2)")
        #expect(chi2 > 40, "chi-square \(chi2) too small to be random")
    }

    @Test func noCorrelationAcrossNeighbours() {
        let n = 50_000
        let bound = 5 / Double(n).squareRoot()
        let a = (0..<n).map { Double(aek_uniform(1, 0, UInt64($0))) }
        let nextCounter = (0..<n).map { Double(aek_uniform(1, 0, UInt64($0) + 1)) }
        let nextStream = (0..<n).map { Double(aek_uniform(1, 1, UInt64($0))) }
        let nextSeed = (0..<n).map { Double(aek_uniform(2, 0, UInt64($0))) }
        #expect(abs(correlation(a, nextCounter)) < bound)
        #expect(abs(correlation(a, nextStream)) < bound)
        #expect(abs(correlation(a, nextSeed)) < bound)
        // Low bits of the raw hash over consecutive counters: balanced.
        var ones = 0
        for c in UInt64(0)..<UInt64(n) { ones += Int(aek_hash64(3, 3, c) & 1) }
        #expect(abs(Double(ones) / Double(n) - 0.5) < 5 * 0.5 / Double(n).squareRoot())
    }

    @Test func normalMoments() {
        let n = 200_000
        let z = (0..<n).map { Double(aek_normal(2024, 3, UInt64($0))) }
        #expect(z.allSatisfy { $0.isFinite && abs($0) < 7 })
        let m = mean(z)
        let c2 = z.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n)
        let c4 = z.reduce(0) { $0 + pow4($1 - m) } / Double(n)
        let kurtosis = c4 / (c2 * c2)
        #expect(abs(m) < 5 / Double(n).squareRoot(), "mean \(m)")
        #expect(abs(c2 - 1) < 0.02, "variance \(c2)")
        #expect(abs(kurtosis - 3) < 0.1, "kurtosis \(kurtosis)")
        // Symmetry and tails: P(|z| > 2) ~ 0.0455.
        let tail = Double(z.filter { abs($0) > 2 }.count) / Double(n)
        #expect(abs(tail - 0.0455) < 0.003, "tail \(tail)")
    }

    @Test func normalFillKeyingAndThreads() {
        let rows = 300, cols = 77, ld = 80
        let (st, ref) = normalFill(rows: rows, cols: cols, ld: ld, seed: 5, stream: 6, threads: 1)
        #expect(st == Int32(AEK_OK))
        for r in [0, 1, 150, 299] {
            for c in [0, 1, 76] {
                #expect(ref[r * ld + c] == aek_normal(5, 6, UInt64(r * cols + c)))
            }
            for c in cols..<ld { #expect(ref[r * ld + c] == 1234) } // padding untouched
        }
        for t in 2...4 {
            let (_, o) = normalFill(rows: rows, cols: cols, ld: ld, seed: 5, stream: 6, threads: t)
            #expect(o.map(\.bitPattern) == ref.map(\.bitPattern), "threads \(t)")
        }
        let keys: [Int64] = [150, 0]
        let (_, k) = normalFill(rows: 2, cols: cols, ld: ld, seed: 5, stream: 6, keys: keys, threads: 2)
        #expect(Array(k[0..<cols]) == Array(ref[150 * ld..<150 * ld + cols]))
        #expect(Array(k[ld..<ld + cols]) == Array(ref[0..<cols]))
    }

    @Test(arguments: [Float(0.1), 0.3, 0.5, 0.9])
    func dropoutDenseKeepRateScaleAndDefinition(p: Float) {
        let rows = 400, cols = 500, lda = 503
        var a = [Float](repeating: 1, count: rows * lda)
        #expect(dropoutDense(&a, rows: rows, cols: cols, lda: lda, p: p, seed: 11, stream: 4, threads: 2) == Int32(AEK_OK))
        let scale = Float(1) / (1 - p)
        var kept = 0
        for r in 0..<rows {
            for c in 0..<cols {
                let x = a[r * lda + c]
                let keep = aek_uniform(11, 4, UInt64(r * cols + c)) >= p
                #expect(x == (keep ? scale : 0))
                if x != 0 { kept += 1 }
            }
            for c in cols..<lda { #expect(a[r * lda + c] == 1) }
        }
        let n = Double(rows * cols), q = Double(1 - p)
        let sd = (n * q * (1 - q)).squareRoot()
        #expect(abs(Double(kept) - n * q) < 5 * sd, "kept \(kept) of \(n), expected \(n * q)")
    }

    @Test func dropoutMaskIndependentOfThreadsAndBatch() {
        let rows = 257, cols = 300
        var rng: UInt64 = 1
        let x0 = (0..<rows * cols).map { _ -> Float in
            rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(rng >> 40) / 1e6 + 0.5
        }
        var ref = x0
        #expect(dropoutDense(&ref, rows: rows, cols: cols, p: 0.4, seed: 9, stream: 2, threads: 1) == Int32(AEK_OK))
        for t in 2...4 {
            var y = x0
            _ = dropoutDense(&y, rows: rows, cols: cols, p: 0.4, seed: 9, stream: 2, threads: t)
            #expect(y.map(\.bitPattern) == ref.map(\.bitPattern), "threads \(t)")
        }
        // The same rows inside other batches (keys = their global row ids) get the same masks.
        let batchA: [Int64] = [200, 3, 77], batchB: [Int64] = [77, 256]
        for batch in [batchA, batchB] {
            var y = batch.flatMap { Array(x0[Int($0) * cols..<(Int($0) + 1) * cols]) }
            _ = dropoutDense(&y, rows: batch.count, cols: cols, p: 0.4, seed: 9, stream: 2, keys: batch, threads: 2)
            for (i, key) in batch.enumerated() {
                #expect(Array(y[i * cols..<(i + 1) * cols]) == Array(ref[Int(key) * cols..<(Int(key) + 1) * cols]))
            }
        }
        // Another stream or seed gives another mask.
        var other = x0
        _ = dropoutDense(&other, rows: rows, cols: cols, p: 0.4, seed: 9, stream: 3, threads: 1)
        #expect(other != ref)
        // Backward: the same call on the gradient zeroes exactly the dropped entries and scales the rest.
        var grad = [Float](repeating: 2, count: rows * cols)
        _ = dropoutDense(&grad, rows: rows, cols: cols, p: 0.4, seed: 9, stream: 2, threads: 3)
        let scale = Float(2) / (1 - Float(0.4))
        for i in 0..<rows * cols { #expect((ref[i] == 0) == (grad[i] == 0) && (grad[i] == 0 || grad[i] == scale)) }
        // p = 0 is a no-op.
        var same = x0
        #expect(dropoutDense(&same, rows: rows, cols: cols, p: 0, seed: 9, stream: 2) == Int32(AEK_OK))
        #expect(same == x0)
    }

    @Test func dropoutCSRMatchesDenseKeying() {
        let cols = 50
        let rows: [[Int32]] = [[0, 3, 49], [], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], [49]]
        let keys: [Int64] = [10, 11, 12, 13]
        // Dense reference: a block of ones with the same keys.
        var dense = [Float](repeating: 1, count: 4 * cols)
        _ = dropoutDense(&dense, rows: 4, cols: cols, p: 0.5, seed: 1, stream: 7, keys: keys, threads: 1)
        let (st, implicitOut) = dropoutCSR(rows, nCols: cols, values: nil, p: 0.5, seed: 1, stream: 7, keys: keys)
        #expect(st == Int32(AEK_OK))
        let vals = (0..<rows.joined().count).map { Float($0) + 1 }
        let (st2, valOut) = dropoutCSR(rows, nCols: cols, values: vals, p: 0.5, seed: 1, stream: 7, keys: keys)
        #expect(st2 == Int32(AEK_OK))
        var k = 0
        for (r, cs) in rows.enumerated() {
            for c in cs {
                #expect(implicitOut[k] == dense[r * cols + Int(c)])
                #expect(valOut[k] == (dense[r * cols + Int(c)] == 0 ? 0 : vals[k] / 0.5))
                k += 1
            }
        }
        // Without keys the row number is the key.
        var denseNoKeys = [Float](repeating: 1, count: 4 * cols)
        _ = dropoutDense(&denseNoKeys, rows: 4, cols: cols, p: 0.5, seed: 1, stream: 7, threads: 1)
        let (_, noKeys) = dropoutCSR(rows, nCols: cols, values: nil, p: 0.5, seed: 1, stream: 7)
        #expect(noKeys[0] == denseNoKeys[0] && noKeys[2] == denseNoKeys[49])
        // p = 0 copies the values.
        let (_, copy) = dropoutCSR(rows, nCols: cols, values: vals, p: 0, seed: 1, stream: 7)
        #expect(copy == vals)
    }

    @Test func argumentErrors() {
        let arg = Int32(AEK_ERR_ARG)
        var a = [Float](repeating: 1, count: 12)
        for p in [Float(1), 1.5, -0.1, .nan, .infinity] {
            #expect(dropoutDense(&a, rows: 3, cols: 4, p: p, seed: 0, stream: 0) == arg)
            #expect(dropoutCSR([[0]], nCols: 4, values: nil, p: p, seed: 0, stream: 0).0 == arg)
        }
        #expect(dropoutDense(&a, rows: 3, cols: 4, lda: 3, p: 0.5, seed: 0, stream: 0) == arg)
        #expect(dropoutDense(&a, rows: -1, cols: 4, p: 0.5, seed: 0, stream: 0) == arg)
        #expect(aek_dropout_dense(3, 4, nil, 4, 0.5, 0, 0, nil, 1) == arg)
        #expect(a.allSatisfy { $0 == 1 })
        // CSR: index out of range, decreasing indptr.
        let (st, out) = dropoutCSR([[0, 4]], nCols: 4, values: nil, p: 0.5, seed: 0, stream: 0)
        #expect(st == arg)
        #expect(out.allSatisfy { $0 == -7 })
        let indptr: [Int64] = [0, 2, 1]
        let indices: [Int32] = [0, 1]
        var o = [Float](repeating: 0, count: 2)
        indptr.withUnsafeBufferPointer { ip in
            indices.withUnsafeBufferPointer { xp in
                o.withUnsafeMutableBufferPointer { op in
                    let x = aek_csr(n_rows: 2, n_cols: 4, indptr: ip.baseAddress, indices: xp.baseAddress, values: nil)
                    #expect(aek_dropout_csr(x, 0.5, 0, 0, nil, op.baseAddress) == arg)
                }
            }
        }
        #expect(normalFill(rows: 2, cols: 3, ld: 2, seed: 0, stream: 0, threads: 1).0 == arg)
        #expect(aek_normal_fill(2, 3, nil, 3, 0, 0, nil, 1) == arg)
    }
}

fileprivate func pow4(_ x: Double) -> Double { let y = x * x; return y * y }
