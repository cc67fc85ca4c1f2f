import Testing
import AERecKernels

/// Deterministic test-data generator (SplitMix64), private to this file.
fileprivate struct TKRng {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }
}

fileprivate struct TKResult: Equatable {
    var idx: [Int32]
    var scoreBits: [UInt32]
    var count: [Int64]
}

/// Runs aek_topk_rows. `exclude` is one ascending (duplicates allowed) list per row, or nil.
fileprivate func runTopK(_ scores: [Float], rows: Int, cols: Int, lds: Int? = nil, exclude: [[Int32]]?, k: Int,
                         threads: Int) -> (Int32, TKResult) {
    let ld = lds ?? cols
    var idx = [Int32](repeating: 7777, count: rows * k)
    var sc = [Float](repeating: 7777, count: rows * k)
    var cnt = [Int64](repeating: 7777, count: rows)
    var indptr: [Int64] = [0]
    var indices: [Int32] = []
    if let ex = exclude {
        for r in ex {
            indices += r
            indptr.append(Int64(indices.count))
        }
    }
    let st: Int32 = scores.withUnsafeBufferPointer { sp in
        indptr.withUnsafeBufferPointer { ip in
            indices.withUnsafeBufferPointer { xp in
                idx.withUnsafeMutableBufferPointer { op in
                    sc.withUnsafeMutableBufferPointer { sop in
                        cnt.withUnsafeMutableBufferPointer { cp in
                            var csr = aek_csr(n_rows: Int64(exclude?.count ?? 0), n_cols: Int64(cols),
                                              indptr: ip.baseAddress, indices: xp.baseAddress, values: nil)
                            if exclude != nil {
                                return aek_topk_rows(Int64(rows), Int64(cols), sp.baseAddress, Int64(ld), &csr, Int64(k),
                                                     op.baseAddress, sop.baseAddress, cp.baseAddress, Int32(threads))
                            }
                            return aek_topk_rows(Int64(rows), Int64(cols), sp.baseAddress, Int64(ld), nil, Int64(k),
                                                 op.baseAddress, sop.baseAddress, cp.baseAddress, Int32(threads))
                        }
                    }
                }
            }
        }
    }
    return (st, TKResult(idx: idx, scoreBits: sc.map(\.bitPattern), count: cnt))
}

/// Plain reference: full sort of the candidates by (score desc, column asc), NaN as -inf.
fileprivate func referenceTopK(_ scores: [Float], rows: Int, cols: Int, lds: Int? = nil, exclude: [[Int32]]?,
                               k: Int) -> TKResult {
    let ld = lds ?? cols
    var idx: [Int32] = []
    var sc: [UInt32] = []
    var cnt: [Int64] = []
    for r in 0..<rows {
        let ex = Set(exclude?[r] ?? [])
        var cand: [(Float, Int)] = []
        for c in 0..<cols where !ex.contains(Int32(c)) {
            let s = scores[r * ld + c]
            cand.append((s.isNaN ? -.infinity : s, c))
        }
        cand.sort { a, b in a.0 > b.0 || (a.0 == b.0 && a.1 < b.1) }
        let n = min(k, cand.count)
        for j in 0..<k {
            if j < n {
                idx.append(Int32(cand[j].1))
                let orig = scores[r * ld + cand[j].1]
                sc.append((orig.isNaN ? -Float.infinity : orig).bitPattern)
            } else {
                idx.append(-1)
                sc.append((-Float.infinity).bitPattern)
            }
        }
        cnt.append(Int64(n))
    }
    return TKResult(idx: idx, scoreBits: sc, count: cnt)
}

fileprivate func randomExclusions(_ rng: inout TKRng, rows: Int, cols: Int, maxPerRow: Int) -> [[Int32]] {
    (0..<rows).map { _ in
        let n = rng.int(maxPerRow + 1)
        return (0..<n).map { _ in Int32(rng.int(cols)) }.sorted() // duplicates likely kept on purpose
    }
}

@Suite struct TopKTests {
    @Test(arguments: [1, 2, 5, 40, 299, 300, 301, 450])
    func tiesAndExclusionsMatchReference(k: Int) {
        var rng = TKRng(state: 42 &+ UInt64(k))
        let rows = 23, cols = 300
        // Few distinct values: ties everywhere.
        let scores = (0..<rows * cols).map { _ in Float(rng.int(4)) * 0.5 - 1 }
        let ex = randomExclusions(&rng, rows: rows, cols: cols, maxPerRow: 60)
        let ref = referenceTopK(scores, rows: rows, cols: cols, exclude: ex, k: k)
        for t in 1...4 {
            let (st, got) = runTopK(scores, rows: rows, cols: cols, exclude: ex, k: k, threads: t)
            #expect(st == Int32(AEK_OK))
            #expect(got == ref, "k=\(k) threads=\(t)")
        }
    }

    /// Long rows go through the threshold scan and several buffer compactions.
    @Test(arguments: [(1, 4), (100, 4), (100, 1000), (700, 13), (3000, 1000)])
    func longRowsMatchReference(k: Int, levels: Int) {
        var rng = TKRng(state: 7 &+ UInt64(k * 31 + levels))
        let rows = 9, cols = 6011, lds = 6020
        var scores = (0..<rows * lds).map { _ in Float(rng.int(levels)) / Float(levels) }
        for r in 0..<rows { for c in cols..<lds { scores[r * lds + c] = .infinity } } // padding must be ignored
        // Row 3 ascending (every column beats the threshold), row 4 descending.
        for c in 0..<cols {
            scores[3 * lds + c] = Float(c)
            scores[4 * lds + c] = -Float(c)
        }
        let ex = randomExclusions(&rng, rows: rows, cols: cols, maxPerRow: 80)
        let ref = referenceTopK(scores, rows: rows, cols: cols, lds: lds, exclude: ex, k: k)
        for t in [1, 2, 3, 4] {
            let (st, got) = runTopK(scores, rows: rows, cols: cols, lds: lds, exclude: ex, k: k, threads: t)
            #expect(st == Int32(AEK_OK))
            #expect(got == ref, "k=\(k) levels=\(levels) threads=\(t)")
        }
        let (st, got) = runTopK(scores, rows: rows, cols: cols, lds: lds, exclude: nil, k: k, threads: 2)
        #expect(st == Int32(AEK_OK))
        #expect(got == referenceTopK(scores, rows: rows, cols: cols, lds: lds, exclude: nil, k: k))
    }

    @Test func fullyExcludedRowAndShortRows() {
        let cols = 5
        let scores: [Float] = [1, 2, 3, 4, 5,
                               5, 4, 3, 2, 1,
                               0, 0, 0, 0, 0]
        let ex: [[Int32]] = [[0, 1, 1, 2, 3, 4, 4], [1, 3], []]
        let (st, got) = runTopK(scores, rows: 3, cols: cols, exclude: ex, k: 4, threads: 3)
        #expect(st == Int32(AEK_OK))
        #expect(got.count == [0, 3, 4])
        #expect(got.idx == [-1, -1, -1, -1, 0, 2, 4, -1, 0, 1, 2, 3])
        let ninf = (-Float.infinity).bitPattern
        #expect(got.scoreBits == [ninf, ninf, ninf, ninf, Float(5).bitPattern, Float(3).bitPattern,
                                  Float(1).bitPattern, ninf, 0, 0, 0, 0])
    }

    @Test func nanRanksAsMinusInfinity() {
        let nan = Float.nan
        let scores: [Float] = [nan, 1, -.infinity, nan, 2, -1, nan, -.infinity]
        let (st, got) = runTopK(scores, rows: 1, cols: 8, exclude: [[5]], k: 8, threads: 1)
        #expect(st == Int32(AEK_OK))
        // 2, 1, then the -inf/NaN columns in column order, then padding (7 candidates).
        #expect(got.idx == [4, 1, 0, 2, 3, 6, 7, -1])
        #expect(got.count == [7])
        #expect(got.scoreBits.allSatisfy { !Float(bitPattern: $0).isNaN })
        #expect(got == referenceTopK(scores, rows: 1, cols: 8, exclude: [[5]], k: 8))
        // A long NaN-heavy row through the scan path.
        var rng = TKRng(state: 99)
        let long = (0..<3000).map { _ in rng.int(3) == 0 ? Float.nan : rng.unit() }
        for k in [10, 1500, 2500] {
            let (s2, g2) = runTopK(long, rows: 1, cols: 3000, exclude: nil, k: k, threads: 1)
            #expect(s2 == Int32(AEK_OK))
            #expect(g2 == referenceTopK(long, rows: 1, cols: 3000, exclude: nil, k: k))
        }
    }

    @Test func signedZerosTieByColumn() {
        let scores: [Float] = [-0.0, 0.0, -0.0, 0.0]
        let (_, got) = runTopK(scores, rows: 1, cols: 4, exclude: nil, k: 4, threads: 1)
        #expect(got.idx == [0, 1, 2, 3])
    }

    @Test func edgeShapes() {
        // One column.
        let one: [Float] = [3, .nan, -2]
        let (s1, g1) = runTopK(one, rows: 3, cols: 1, exclude: [[], [0], []], k: 2, threads: 2)
        #expect(s1 == Int32(AEK_OK))
        #expect(g1.idx == [0, -1, -1, -1, 0, -1])
        #expect(g1.count == [1, 0, 1])
        // Batch of one, k = 1 and k = n_cols.
        var rng = TKRng(state: 5)
        let row = (0..<257).map { _ in Float(rng.int(9)) }
        for k in [1, 257, 258, 1000] {
            let (s, g) = runTopK(row, rows: 1, cols: 257, exclude: [[0, 0, 256]], k: k, threads: 4)
            #expect(s == Int32(AEK_OK))
            #expect(g == referenceTopK(row, rows: 1, cols: 257, exclude: [[0, 0, 256]], k: k))
            #expect(g.count == [Int64(min(k, 255))])
        }
        // k = 0 writes only the counts.
        let (s0, g0) = runTopK(row, rows: 1, cols: 257, exclude: nil, k: 0, threads: 1)
        #expect(s0 == Int32(AEK_OK))
        #expect(g0.count == [0])
        // Zero columns: every slot is padding.
        let (sz, gz) = runTopK([], rows: 2, cols: 0, exclude: nil, k: 2, threads: 1)
        #expect(sz == Int32(AEK_OK))
        #expect(gz.idx == [-1, -1, -1, -1])
        #expect(gz.count == [0, 0])
    }

    @Test func nullableOutputs() {
        let scores: [Float] = [1, 5, 3, 4]
        var idx = [Int32](repeating: 0, count: 2)
        let st = scores.withUnsafeBufferPointer { sp in
            idx.withUnsafeMutableBufferPointer { ip in
                aek_topk_rows(1, 4, sp.baseAddress, 4, nil, 2, ip.baseAddress, nil, nil, 1)
            }
        }
        #expect(st == Int32(AEK_OK))
        #expect(idx == [1, 3])
    }

    @Test func argumentErrorsTouchNothing() {
        let scores = [Float](repeating: 1, count: 12)
        let untouched = TKResult(idx: .init(repeating: 7777, count: 6), scoreBits: .init(repeating: Float(7777).bitPattern, count: 6),
                                 count: .init(repeating: 7777, count: 2))
        let arg = Int32(AEK_ERR_ARG)
        // Unsorted exclusions.
        var (st, got) = runTopK(scores, rows: 2, cols: 6, exclude: [[0, 2], [3, 1]], k: 3, threads: 1)
        #expect(st == arg)
        #expect(got == untouched)
        // Out-of-range exclusions.
        (st, got) = runTopK(scores, rows: 2, cols: 6, exclude: [[6], []], k: 3, threads: 1)
        #expect(st == arg)
        #expect(got == untouched)
        (st, got) = runTopK(scores, rows: 2, cols: 6, exclude: [[-1, 2], []], k: 3, threads: 1)
        #expect(st == arg)
        // Exclusion row count mismatch.
        (st, _) = runTopK(scores, rows: 2, cols: 6, exclude: [[1]], k: 3, threads: 1)
        #expect(st == arg)
        // lds too small.
        (st, _) = runTopK(scores, rows: 2, cols: 6, lds: 5, exclude: nil, k: 3, threads: 1)
        #expect(st == arg)
        // Negative sizes, null outputs.
        #expect(aek_topk_rows(-1, 6, nil, 6, nil, 1, nil, nil, nil, 1) == arg)
        scores.withUnsafeBufferPointer { sp in
            #expect(aek_topk_rows(2, 6, sp.baseAddress, 6, nil, -1, nil, nil, nil, 1) == arg)
            #expect(aek_topk_rows(2, 6, sp.baseAddress, 6, nil, 3, nil, nil, nil, 1) == arg)
            var idx = [Int32](repeating: 0, count: 6)
            idx.withUnsafeMutableBufferPointer { ip in
                #expect(aek_topk_rows(2, 6, nil, 6, nil, 3, ip.baseAddress, nil, nil, 1) == arg)
            }
        }
    }
}
