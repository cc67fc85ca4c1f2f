import Testing
import AERecKernels

// Tests for CSources/AERecKernels/sparse.c: every kernel against a plain float64 reference written
// here, on random CSR blocks and edge shapes, plus bit-for-bit determinism across thread counts and
// argument errors that must leave the outputs untouched.

// MARK: - helpers

private let errArg = Int32(AEK_ERR_ARG)
private let ok = Int32(AEK_OK)

/// SplitMix64: deterministic, platform-independent test data.
private struct TestRNG {
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
    mutating func floats(_ n: Int) -> [Float] { (0..<n).map { _ in sym() } }
}

/// A CSR block owned by Swift arrays; `indptr` holds absolute offsets into `indices`/`values`
/// (so indptr[0] may be > 0 for a view into a larger block).
private struct CSR {
    var nRows: Int
    var nCols: Int
    var indptr: [Int64]
    var indices: [Int32]
    var values: [Float]?

    var first: Int { Int(indptr[0]) }
    var nnz: Int { Int(indptr[nRows] - indptr[0]) }
    func range(_ r: Int) -> Range<Int> { Int(indptr[r])..<Int(indptr[r + 1]) }
    func value(_ k: Int) -> Float { values?[k] ?? 1 }

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

    /// The same entries with every value dropped (implicit ones) or set to 1 explicitly.
    var implicit: CSR { var c = self; c.values = nil; return c }
    var explicitOnes: CSR { var c = self; c.values = [Float](repeating: 1, count: indices.count); return c }

    /// Rows [a, b) as a view: same entry arrays, indptr slice (indptr[0] != 0 unless a == 0).
    func view(_ a: Int, _ b: Int) -> CSR {
        CSR(nRows: b - a, nCols: nCols, indptr: Array(indptr[a...b]), indices: indices, values: values)
    }

    /// Random block: row r gets 0..maxPerRow distinct columns (ascending if sorted, else shuffled).
    static func random(rows: Int, cols: Int, maxPerRow: Int, explicit: Bool, sorted: Bool = true,
                       rng: inout TestRNG) -> CSR {
        var indptr: [Int64] = [0]
        var indices: [Int32] = []
        for _ in 0..<rows {
            let n = rng.int(min(maxPerRow, cols) + 1)
            var all = Array(0..<cols)
            for i in 0..<n { all.swapAt(i, i + rng.int(cols - i)) }
            var chosen = Array(all[0..<n])
            if sorted { chosen.sort() }
            indices += chosen.map { Int32($0) }
            indptr.append(Int64(indices.count))
        }
        let values: [Float]? = explicit ? (0..<indices.count).map { _ in rng.sym() * 2 } : nil
        return CSR(nRows: rows, nCols: cols, indptr: indptr, indices: indices, values: values)
    }
}

private func bits(_ a: [Float]) -> [UInt32] { a.map { $0.bitPattern } }

private let garbageNaN = Float(bitPattern: 0x7FC1_2345)

// MARK: - references (float64)

private func refDenseMM(_ x: CSR, _ W: [Float], ldw: Int, h: Int, bias: [Float]?, beta: Float, Y0: [Float],
                        ldy: Int) -> (value: [Double], scale: [Double]) {
    var out = [Double](repeating: 0, count: x.nRows * h)
    var mag = [Double](repeating: 0, count: x.nRows * h)
    for r in 0..<x.nRows {
        for c in 0..<h {
            var s = beta == 0 ? 0 : Double(beta) * Double(Y0[r * ldy + c])
            var m = abs(s)
            for k in x.range(r) {
                let t = Double(x.value(k)) * Double(W[Int(x.indices[k]) * ldw + c])
                s += t
                m += abs(t)
            }
            if let bias { s += Double(bias[c]); m += abs(Double(bias[c])) }
            out[r * h + c] = s
            mag[r * h + c] = m
        }
    }
    return (out, mag)
}

/// Runs aek_csr_dense_mm and checks it against the float64 reference; returns Y.
@discardableResult
private func checkDenseMM(_ x: CSR, h: Int, ldw: Int? = nil, ldy: Int? = nil, bias: Bool, beta: Float,
                          threads: Int = 1, Yinit: [Float]? = nil, seed: UInt64,
                          sourceLocation: SourceLocation = #_sourceLocation) -> [Float] {
    var rng = TestRNG(seed)
    let ldw = ldw ?? h, ldy = ldy ?? h
    let W = rng.floats(max(x.nCols * ldw, 1))
    let b: [Float]? = bias ? rng.floats(h) : nil
    var Y = Yinit ?? rng.floats(max(x.nRows * ldy, 1))
    let Y0 = Y
    let st = x.with { c in
        W.withUnsafeBufferPointer { w in
            aek_csr_dense_mm(c, w.baseAddress, Int64(ldw), Int64(h), b, beta, &Y, Int64(ldy), Int32(threads))
        }
    }
    #expect(st == ok, sourceLocation: sourceLocation)
    let (ref, mag) = refDenseMM(x, W, ldw: ldw, h: h, bias: b, beta: beta, Y0: Y0, ldy: ldy)
    var bad = 0
    for r in 0..<x.nRows {
        for c in 0..<h {
            let got = Double(Y[r * ldy + c])
            if !(abs(got - ref[r * h + c]) <= 1e-5 * mag[r * h + c] + 1e-6) { bad += 1 }
        }
        for c in h..<ldy where Y[r * ldy + c].bitPattern != Y0[r * ldy + c].bitPattern { bad += 1 }
    }
    #expect(bad == 0, "\(bad) wrong elements (rows \(x.nRows), h \(h), beta \(beta))", sourceLocation: sourceLocation)
    return Y
}

// MARK: - validation

@Suite("aek_csr_validate")
struct CSRValidateTests {
    @Test func acceptsWellFormedBlocks() {
        var rng = TestRNG(1)
        let x = CSR.random(rows: 20, cols: 13, maxPerRow: 13, explicit: true, rng: &rng)
        #expect(x.with { aek_csr_validate($0, 1) } == ok)
        #expect(x.view(5, 17).with { aek_csr_validate($0, 1) } == ok)
        let empty = CSR(nRows: 0, nCols: 0, indptr: [0], indices: [], values: nil)
        #expect(empty.with { aek_csr_validate($0, 1) } == ok)
        let noEntries = CSR(nRows: 3, nCols: 5, indptr: [4, 4, 4, 4], indices: [], values: nil)
        #expect(noEntries.with { aek_csr_validate($0, 0) } == ok)
    }

    @Test func sortedness() {
        let unsorted = CSR(nRows: 2, nCols: 5, indptr: [0, 2, 4], indices: [1, 3, 4, 0], values: nil)
        #expect(unsorted.with { aek_csr_validate($0, 0) } == ok)
        #expect(unsorted.with { aek_csr_validate($0, 1) } == errArg)
        let dup = CSR(nRows: 1, nCols: 5, indptr: [0, 2], indices: [2, 2], values: nil)
        #expect(dup.with { aek_csr_validate($0, 0) } == ok)
        #expect(dup.with { aek_csr_validate($0, 1) } == errArg)
        // ascending within rows, not across them
        let rows = CSR(nRows: 2, nCols: 5, indptr: [0, 2, 4], indices: [3, 4, 0, 1], values: nil)
        #expect(rows.with { aek_csr_validate($0, 1) } == ok)
    }

    @Test func rejectsBrokenBlocks() {
        let base = CSR(nRows: 2, nCols: 5, indptr: [0, 2, 3], indices: [1, 3, 4], values: nil)
        var x = base
        x.indices[2] = 5
        #expect(x.with { aek_csr_validate($0, 0) } == errArg)
        x = base
        x.indices[0] = -1
        #expect(x.with { aek_csr_validate($0, 0) } == errArg)
        x = base
        x.indptr = [0, 3, 2]
        #expect(x.with { aek_csr_validate($0, 0) } == errArg)
        x = base
        x.indptr = [-1, 2, 3]
        #expect(x.with { aek_csr_validate($0, 0) } == errArg)
        x = base
        x.nRows = -1
        #expect(x.with { aek_csr_validate($0, 0) } == errArg)
        x = base
        x.nCols = -2
        #expect(x.with { aek_csr_validate($0, 0) } == errArg)
        let nullIndptr = aek_csr(n_rows: 0, n_cols: 3, indptr: nil, indices: nil, values: nil)
        #expect(aek_csr_validate(nullIndptr, 0) == errArg)
        let ip: [Int64] = [0, 2]
        ip.withUnsafeBufferPointer { p in
            let nullIndices = aek_csr(n_rows: 1, n_cols: 3, indptr: p.baseAddress, indices: nil, values: nil)
            #expect(aek_csr_validate(nullIndices, 0) == errArg)
        }
    }
}

// MARK: - CSR x dense

@Suite("aek_csr_dense_mm")
struct CSRDenseMMTests {
    @Test("random blocks against float64", arguments: [1, 2, 3, 15, 16, 17, 31, 40, 64, 100])
    func randomBlocks(h: Int) {
        var rng = TestRNG(UInt64(h) * 7919)
        for trial in 0..<6 {
            let explicit = trial % 2 == 0
            let x = CSR.random(rows: 1 + rng.int(30), cols: 1 + rng.int(60), maxPerRow: 1 + rng.int(25),
                               explicit: explicit, sorted: trial % 3 != 2, rng: &rng)
            let beta: Float = [0, 1, 0.5][trial % 3]
            checkDenseMM(x, h: h, ldw: h + trial % 2 * 5, ldy: h + trial % 3, bias: trial % 2 == 1, beta: beta,
                         threads: 1 + trial % 4, seed: UInt64(trial * 100 + h))
        }
    }

    @Test("edge shapes: empty rows, a full row, one column, h = 1, one row, views")
    func edgeShapes() {
        var rng = TestRNG(42)
        // empty rows and a row holding every item
        let base = CSR.random(rows: 7, cols: 37, maxPerRow: 6, explicit: true, rng: &rng)
        let gaps = CSR(nRows: 10, nCols: 37, indptr: [0, 0] + base.indptr + [base.indptr.last!],
                       indices: base.indices, values: base.values)  // rows 0, 1 and 9 empty
        checkDenseMM(gaps, h: 24, bias: true, beta: 0, threads: 2, seed: 12)
        checkDenseMM(gaps.implicit, h: 24, bias: true, beta: 1, seed: 13)
        let full = CSR(nRows: 3, nCols: 37, indptr: [0, 0, 37, 37], indices: (0..<37).map { Int32($0) },
                       values: rng.floats(37))
        for beta: Float in [0, 1] {
            checkDenseMM(full, h: 33, bias: true, beta: beta, seed: 1)
            checkDenseMM(full.implicit, h: 33, bias: false, beta: beta, seed: 2)
        }
        // one column
        let oneCol = CSR(nRows: 4, nCols: 1, indptr: [0, 1, 1, 2, 3], indices: [0, 0, 0], values: [2, -1, 0.5])
        checkDenseMM(oneCol, h: 19, bias: true, beta: 0, seed: 3)
        checkDenseMM(oneCol.implicit, h: 1, bias: false, beta: 1, seed: 4)
        // h = 1 on a random block, batch of one
        let r1 = CSR.random(rows: 12, cols: 50, maxPerRow: 50, explicit: true, rng: &rng)
        checkDenseMM(r1, h: 1, ldw: 3, ldy: 2, bias: true, beta: 0.25, seed: 5)
        checkDenseMM(r1.view(4, 5), h: 21, bias: true, beta: 0, seed: 6)
        // a view into a larger block (indptr[0] != 0), explicit and implicit
        let big = CSR.random(rows: 40, cols: 70, maxPerRow: 30, explicit: true, rng: &rng)
        let v = big.view(13, 31)
        #expect(v.indptr[0] != 0)
        checkDenseMM(v, h: 45, ldw: 48, ldy: 50, bias: true, beta: 0.5, threads: 3, seed: 7)
        checkDenseMM(v.implicit, h: 45, bias: false, beta: 0, threads: 2, seed: 8)
        // all rows empty: Y = beta Y + bias
        let none = CSR(nRows: 3, nCols: 10, indptr: [5, 5, 5, 5], indices: [], values: nil)
        checkDenseMM(none, h: 17, bias: true, beta: 0, seed: 9)
        checkDenseMM(none, h: 17, bias: false, beta: 2, seed: 10)
        // duplicated columns in a row are both added
        let dup = CSR(nRows: 1, nCols: 4, indptr: [0, 3], indices: [2, 2, 1], values: [1, 3, -2])
        checkDenseMM(dup, h: 20, bias: false, beta: 0, seed: 11)
    }

    @Test("float64 sums: each row's sum in float64 in entry order, rounded once; any thread count the same bits",
          arguments: [1, 2, 3, 8])
    func float64Sums(threads: Int) {
        var rng = TestRNG(UInt64(threads) * 31)
        for trial in 0..<4 {
            let x = CSR.random(rows: 1 + rng.int(40), cols: 1 + rng.int(80), maxPerRow: 1 + rng.int(60),
                               explicit: trial % 2 == 0, sorted: trial != 3, rng: &rng)
            let h = [1, 17, 64, 100][trial], ldw = h + trial, ldy = h + 2 * trial
            let W = rng.floats(x.nCols * ldw)
            var Y = [Float](repeating: .nan, count: max(1, x.nRows * ldy))
            var work = [Double](repeating: .nan, count: threads * h)
            let st = x.with { xv in aek_csr_dense_mm_f64(xv, W, Int64(ldw), Int64(h), &Y, Int64(ldy), &work, Int32(threads)) }
            #expect(st == ok)
            for r in 0..<x.nRows {
                for j in 0..<h {
                    var s = 0.0
                    for k in x.range(r) { s += Double(x.value(k)) * Double(W[Int(x.indices[k]) * ldw + j]) }
                    #expect(Y[r * ldy + j].bitPattern == Float(s).bitPattern, "row \(r) col \(j)")
                }
            }
        }
        // a row whose float32 sum loses the small terms: 1e8 + 1 + 1 - 1e8
        let x = CSR(nRows: 1, nCols: 4, indptr: [0, 4], indices: [0, 1, 2, 3], values: [1, 1, 1, -1])
        let W: [Float] = [1e8, 1, 1, 1e8]
        var Y: [Float] = [0]
        var work: [Double] = [0]
        #expect(x.with { aek_csr_dense_mm_f64($0, W, 1, 1, &Y, 1, &work, 1) } == ok && Y == [2])
        // arguments
        #expect(x.with { aek_csr_dense_mm_f64($0, W, 1, 1, &Y, 1, nil, 1) } == errArg)
        #expect(x.with { aek_csr_dense_mm_f64($0, W, 0, 1, &Y, 1, &work, 1) } == errArg)
    }

    @Test("beta 0 overwrites garbage (NaN included); beta 1 accumulates")
    func betaSemantics() {
        var rng = TestRNG(7)
        let x = CSR.random(rows: 25, cols: 40, maxPerRow: 12, explicit: true, rng: &rng)
        let h = 37, ldy = 40
        let nanY = [Float](repeating: garbageNaN, count: x.nRows * ldy)
        let Y = checkDenseMM(x, h: h, ldy: ldy, bias: true, beta: 0, threads: 2, Yinit: nanY, seed: 3)
        for r in 0..<x.nRows {
            for c in 0..<h { #expect(Y[r * ldy + c].isFinite) }
            // padding keeps its (NaN) garbage bit for bit
            for c in h..<ldy { #expect(Y[r * ldy + c].bitPattern == garbageNaN.bitPattern) }
        }
        let infY = [Float](repeating: .infinity, count: x.nRows * ldy)
        let Y2 = checkDenseMM(x.implicit, h: h, ldy: ldy, bias: false, beta: 0, Yinit: infY, seed: 4)
        #expect(Y2.enumerated().allSatisfy { $0.offset % ldy >= h || $0.element.isFinite })
        // beta = 1 on a row without entries leaves Y (plus nothing) unchanged
        let none = CSR(nRows: 2, nCols: 3, indptr: [0, 0, 0], indices: [], values: nil)
        let Y0: [Float] = (0..<2 * h).map { Float($0) }
        let Y3 = checkDenseMM(none, h: h, bias: false, beta: 1, Yinit: Y0, seed: 5)
        #expect(bits(Y3) == bits(Y0))
    }

    @Test("thread counts 1...4 give identical bits; implicit equals explicit ones")
    func determinism() {
        var rng = TestRNG(99)
        // large enough for four parts ((nnz + rows) * h >= 4 * 65536)
        let x = CSR.random(rows: 300, cols: 500, maxPerRow: 60, explicit: true, rng: &rng)
        let h = 80
        let W = rng.floats(x.nCols * h)
        let bias = rng.floats(h)
        func run(_ x: CSR, _ threads: Int, beta: Float) -> [Float] {
            var Y = [Float](repeating: 0.5, count: x.nRows * h)
            let st = x.with { aek_csr_dense_mm($0, W, Int64(h), Int64(h), bias, beta, &Y, Int64(h), Int32(threads)) }
            #expect(st == ok)
            return Y
        }
        for beta: Float in [0, 1, 0.75] {
            let one = bits(run(x, 1, beta: beta))
            for t in 2...4 { #expect(bits(run(x, t, beta: beta)) == one, "threads \(t) beta \(beta)") }
            let imp = bits(run(x.implicit, 1, beta: beta))
            #expect(bits(run(x.explicitOnes, 1, beta: beta)) == imp)
            for t in 2...4 { #expect(bits(run(x.implicit, t, beta: beta)) == imp) }
        }
        checkDenseMM(x, h: h, bias: true, beta: 0.75, threads: 4, seed: 12)
    }

    @Test("entries are summed in stored order")
    func summationOrder() {
        // W rows 1, 1e8, -1e8: in order ((0 + 1) + 1e8) - 1e8 == 0 in float32 (the exact sum is 1).
        // Powers of two / ones make every product exact, so FMA or not does not matter.
        let h = 35
        var W = [Float](repeating: 0, count: 3 * h)
        for c in 0..<h { W[c] = 1; W[h + c] = 1e8; W[2 * h + c] = -1e8 }
        for n in 1...3 {  // 3, 6, 9 entries per row: crosses the groups of four
            let idx = [Int32]([0, 1, 2]).cycled(n)
            let x = CSR(nRows: 1, nCols: 3, indptr: [0, Int64(idx.count)], indices: idx, values: nil)
            var Y = [Float](repeating: garbageNaN, count: h)
            #expect(x.with { aek_csr_dense_mm($0, W, Int64(h), Int64(h), nil, 0, &Y, Int64(h), 1) } == ok)
            #expect(Y.allSatisfy { $0 == 0 }, "n \(n): \(Y[0])")
            let xe = x.explicitOnes
            Y = [Float](repeating: garbageNaN, count: h)
            #expect(xe.with { aek_csr_dense_mm($0, W, Int64(h), Int64(h), nil, 0, &Y, Int64(h), 1) } == ok)
            #expect(Y.allSatisfy { $0 == 0 })
        }
    }

    @Test("argument errors leave Y untouched")
    func argumentErrors() {
        var rng = TestRNG(5)
        let x = CSR.random(rows: 4, cols: 6, maxPerRow: 4, explicit: true, rng: &rng)
        let h = 8
        let W = rng.floats(6 * h)
        var Y = rng.floats(4 * h)
        let Y0 = bits(Y)
        func call(_ x: CSR, W: [Float]? = nil, ldw: Int = h, h: Int = h, ldy: Int = h) -> Int32 {
            let Wp = W
            return x.with { c in
                if let Wp { return aek_csr_dense_mm(c, Wp, Int64(ldw), Int64(h), nil, 0, &Y, Int64(ldy), 2) }
                return aek_csr_dense_mm(c, nil, Int64(ldw), Int64(h), nil, 0, &Y, Int64(ldy), 2)
            }
        }
        #expect(call(x, W: W, ldw: h - 1) == errArg)
        #expect(call(x, W: W, ldy: h - 1) == errArg)
        #expect(call(x, W: W, h: -1) == errArg)
        #expect(call(x, W: nil) == errArg)
        var bad = x
        bad.indices[1] = 6
        #expect(call(bad, W: W) == errArg)
        bad = x
        bad.indptr[2] = bad.indptr[1] - 1
        #expect(call(bad, W: W) == errArg)
        bad = x
        bad.nRows = -1
        #expect(call(bad, W: W) == errArg)
        #expect(bits(Y) == Y0)
        let nullY = x.with { aek_csr_dense_mm($0, W, Int64(h), Int64(h), nil, 0, nil, Int64(h), 1) }
        #expect(nullY == errArg)
        // h == 0 is a valid no-op
        #expect(call(x, W: W, ldw: 0, h: 0, ldy: 0) == ok)
        #expect(bits(Y) == Y0)
    }
}

private extension Array {
    /// The array repeated n times.
    func cycled(_ n: Int) -> [Element] { (0..<n).flatMap { _ in self } }
}

// MARK: - CSR^T x dense

private struct TransposeResult {
    var dW: [Float]
    var touched: [Int32]
    var status: Int32
}

private func runTranspose(_ x: CSR, G: [Float], ldg: Int, h: Int, beta: Float, dW: [Float], ldw: Int,
                          threads: Int, workspaceSlack: Int = 0, workspaceOffset: Int = 0) -> TransposeResult {
    var dW = dW
    let need = aek_csr_transpose_workspace_size(Int64(x.nCols), Int64(x.nnz))
    var ws = [UInt8](repeating: 0xA5, count: need + max(workspaceSlack, 0) + workspaceOffset + 1)
    let wsBytes = need + workspaceSlack
    var touched = [Int32](repeating: -7, count: Swift.max(Swift.min(x.nCols, x.nnz), 1))
    var nTouched: Int64 = -3
    let st = x.with { c in
        ws.withUnsafeMutableBytes { raw in
            aek_csr_transpose_dense_mm(c, G, Int64(ldg), Int64(h), beta, &dW, Int64(ldw), &touched, &nTouched,
                                       raw.baseAddress! + workspaceOffset, wsBytes, Int32(threads))
        }
    }
    if st != ok {
        #expect(nTouched == -3)
        #expect(touched.allSatisfy { $0 == -7 })
        return TransposeResult(dW: dW, touched: [], status: st)
    }
    return TransposeResult(dW: dW, touched: Array(touched.prefix(Int(nTouched))), status: st)
}

/// Checks one transpose call against the float64 reference; returns dW.
@discardableResult
private func checkTranspose(_ x: CSR, h: Int, ldg: Int? = nil, ldw: Int? = nil, beta: Float, threads: Int = 1,
                            nanGarbage: Bool = false, workspaceOffset: Int = 0, seed: UInt64,
                            sourceLocation: SourceLocation = #_sourceLocation) -> [Float] {
    var rng = TestRNG(seed)
    let ldg = ldg ?? h, ldw = ldw ?? h
    let G = rng.floats(max(x.nRows * ldg, 1))
    var dW0 = rng.floats(max(x.nCols * ldw, 1))
    // present columns
    var present = Set<Int32>()
    for k in x.first..<(x.first + x.nnz) { present.insert(x.indices[k]) }
    if nanGarbage {
        for i in 0..<x.nCols where beta == 0 || !present.contains(Int32(i)) {
            for c in 0..<ldw { dW0[i * ldw + c] = garbageNaN }
        }
    }
    let res = runTranspose(x, G: G, ldg: ldg, h: h, beta: beta, dW: dW0, ldw: ldw, threads: threads,
                           workspaceOffset: workspaceOffset)
    #expect(res.status == ok, sourceLocation: sourceLocation)
    #expect(res.touched == present.sorted(), sourceLocation: sourceLocation)
    // entries of every column, rows ascending
    var byColumn = [[(row: Int, k: Int)]](repeating: [], count: x.nCols)
    for r in 0..<x.nRows {
        for k in x.range(r) { byColumn[Int(x.indices[k])].append((r, k)) }
    }
    var bad = 0
    for i in 0..<x.nCols {
        if !present.contains(Int32(i)) {
            for c in 0..<ldw where res.dW[i * ldw + c].bitPattern != dW0[i * ldw + c].bitPattern { bad += 1 }
            continue
        }
        for c in 0..<h {
            var s = beta == 0 ? 0 : Double(beta) * Double(dW0[i * ldw + c])
            var m = abs(s)
            for (r, k) in byColumn[i] {
                let t = Double(x.value(k)) * Double(G[r * ldg + c])
                s += t
                m += abs(t)
            }
            if !(abs(Double(res.dW[i * ldw + c]) - s) <= 1e-5 * m + 1e-6) { bad += 1 }
        }
        for c in h..<ldw where res.dW[i * ldw + c].bitPattern != dW0[i * ldw + c].bitPattern { bad += 1 }
    }
    #expect(bad == 0, "\(bad) wrong elements (rows \(x.nRows), cols \(x.nCols), h \(h))",
            sourceLocation: sourceLocation)
    return res.dW
}

@Suite("aek_csr_transpose_dense_mm")
struct CSRTransposeTests {
    @Test("random blocks against float64", arguments: [1, 2, 7, 16, 17, 33, 64, 100])
    func randomBlocks(h: Int) {
        var rng = TestRNG(UInt64(h) &* 104_729)
        for trial in 0..<6 {
            let x = CSR.random(rows: 1 + rng.int(30), cols: 1 + rng.int(80), maxPerRow: 1 + rng.int(20),
                               explicit: trial % 2 == 0, sorted: trial % 3 != 1, rng: &rng)
            checkTranspose(x, h: h, ldg: h + trial % 3, ldw: h + trial % 2 * 3, beta: [0, 1, 0.5][trial % 3],
                           threads: 1 + trial % 4, nanGarbage: trial % 2 == 1, workspaceOffset: trial,
                           seed: UInt64(trial + 10 * h))
        }
    }

    @Test("edge shapes: empty rows, a full row, one column, h = 1, one row, views, duplicates")
    func edgeShapes() {
        var rng = TestRNG(3)
        let full = CSR(nRows: 4, nCols: 29, indptr: [0, 0, 29, 29, 31], indices: (0..<29).map { Int32($0) } + [3, 28],
                       values: rng.floats(31))
        for beta: Float in [0, 1] {
            checkTranspose(full, h: 20, beta: beta, nanGarbage: true, seed: 1)
            checkTranspose(full.implicit, h: 20, beta: beta, threads: 3, seed: 2)
        }
        let oneCol = CSR(nRows: 5, nCols: 1, indptr: [0, 1, 1, 2, 3, 3], indices: [0, 0, 0], values: [2, -1, 0.5])
        checkTranspose(oneCol, h: 18, beta: 0, nanGarbage: true, seed: 3)
        checkTranspose(oneCol.implicit, h: 1, beta: 1, seed: 4)
        let big = CSR.random(rows: 50, cols: 90, maxPerRow: 25, explicit: true, rng: &rng)
        checkTranspose(big, h: 1, ldg: 2, ldw: 4, beta: 0.25, threads: 2, seed: 5)
        checkTranspose(big.view(20, 21), h: 40, beta: 0, nanGarbage: true, seed: 6)
        let v = big.view(11, 37)
        #expect(v.indptr[0] != 0)
        checkTranspose(v, h: 45, ldg: 47, ldw: 50, beta: 0.5, threads: 4, nanGarbage: true, seed: 7)
        checkTranspose(v.implicit, h: 45, beta: 0, threads: 2, nanGarbage: true, seed: 8)
        let dup = CSR(nRows: 2, nCols: 4, indptr: [0, 3, 4], indices: [2, 2, 1, 2], values: [1, 3, -2, 0.5])
        checkTranspose(dup, h: 20, beta: 0, seed: 9)
        // no entries: nothing touched, dW unchanged
        let none = CSR(nRows: 3, nCols: 10, indptr: [2, 2, 2, 2], indices: [9, 9], values: nil)
        checkTranspose(none, h: 17, beta: 0, nanGarbage: true, seed: 10)
        // h == 0 still reports the present columns
        let res = runTranspose(v, G: [0], ldg: 0, h: 0, beta: 0, dW: [0], ldw: 0, threads: 2)
        #expect(res.status == ok)
        #expect(res.touched == Set(v.indices[v.first..<(v.first + v.nnz)]).sorted())
    }

    @Test("thread counts 1...4 give identical bits; rows summed in ascending order")
    func determinism() {
        var rng = TestRNG(11)
        let x = CSR.random(rows: 400, cols: 300, maxPerRow: 50, explicit: true, rng: &rng)
        let h = 70
        let G = rng.floats(x.nRows * h)
        let dW0 = rng.floats(x.nCols * h)
        for beta: Float in [0, 1, -0.5] {
            let one = runTranspose(x, G: G, ldg: h, h: h, beta: beta, dW: dW0, ldw: h, threads: 1)
            for t in 2...4 {
                let other = runTranspose(x, G: G, ldg: h, h: h, beta: beta, dW: dW0, ldw: h, threads: t)
                #expect(bits(other.dW) == bits(one.dW), "threads \(t)")
                #expect(other.touched == one.touched)
            }
            let imp = runTranspose(x.implicit, G: G, ldg: h, h: h, beta: beta, dW: dW0, ldw: h, threads: 1)
            let ones = runTranspose(x.explicitOnes, G: G, ldg: h, h: h, beta: beta, dW: dW0, ldw: h, threads: 3)
            #expect(bits(imp.dW) == bits(ones.dW))
        }
        checkTranspose(x, h: h, beta: 1, threads: 4, nanGarbage: true, seed: 77)

        // G rows 1, 1e8, -1e8 (rows 0, 1, 2 all holding column 1): ascending order gives exactly 0.
        let hh = 33
        var G2 = [Float](repeating: 0, count: 9 * hh)
        for r in 0..<9 {
            for c in 0..<hh { G2[r * hh + c] = [1, 1e8, -1e8][r % 3] }
        }
        let col = CSR(nRows: 9, nCols: 3, indptr: (0...9).map { Int64($0) }, indices: [Int32](repeating: 1, count: 9),
                      values: nil)
        for rows in [3, 6, 9] {
            let v = col.view(0, rows)
            for t in [1, 2] {
                let res = runTranspose(v, G: G2, ldg: hh, h: hh, beta: 0,
                                       dW: [Float](repeating: garbageNaN, count: 3 * hh), ldw: hh, threads: t)
                #expect(res.touched == [1])
                #expect(res.dW[hh..<(2 * hh)].allSatisfy { $0 == 0 }, "rows \(rows): \(res.dW[hh])")
                #expect(res.dW[0..<hh].allSatisfy { $0.bitPattern == garbageNaN.bitPattern })
            }
        }
    }

    @Test("workspace size, argument errors leave everything untouched")
    func argumentErrors() {
        #expect(aek_csr_transpose_workspace_size(-1, 3) == 0 || aek_csr_transpose_workspace_size(-1, 3) == Int.max)
        let s1 = aek_csr_transpose_workspace_size(100, 10), s2 = aek_csr_transpose_workspace_size(200, 10)
        let s3 = aek_csr_transpose_workspace_size(100, 1000)
        #expect(s1 > 0 && s2 > s1 && s3 > s1)
        var rng = TestRNG(8)
        let x = CSR.random(rows: 6, cols: 9, maxPerRow: 5, explicit: true, rng: &rng)
        let h = 8
        let G = rng.floats(6 * h)
        let dW0 = rng.floats(9 * h)
        func expectUntouched(_ r: TransposeResult, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(r.status == errArg, sourceLocation: sourceLocation)
            #expect(bits(r.dW) == bits(dW0), sourceLocation: sourceLocation)
        }
        expectUntouched(runTranspose(x, G: G, ldg: h, h: h, beta: 0, dW: dW0, ldw: h, threads: 2, workspaceSlack: -1))
        expectUntouched(runTranspose(x, G: G, ldg: h - 1, h: h, beta: 0, dW: dW0, ldw: h, threads: 2))
        expectUntouched(runTranspose(x, G: G, ldg: h, h: h, beta: 0, dW: dW0, ldw: h - 1, threads: 2))
        expectUntouched(runTranspose(x, G: G, ldg: h, h: -1, beta: 0, dW: dW0, ldw: h, threads: 2))
        var bad = x
        bad.indices[3] = 9
        expectUntouched(runTranspose(bad, G: G, ldg: h, h: h, beta: 0, dW: dW0, ldw: h, threads: 2))
        bad = x
        bad.indices[0] = -4
        expectUntouched(runTranspose(bad, G: G, ldg: h, h: h, beta: 1, dW: dW0, ldw: h, threads: 1))
        bad = x
        bad.indptr[3] = bad.indptr[4] + 1
        expectUntouched(runTranspose(bad, G: G, ldg: h, h: h, beta: 0, dW: dW0, ldw: h, threads: 2))
        // null pointers
        var dW = dW0
        var touched = [Int32](repeating: -7, count: 9)
        var nT: Int64 = -3
        var ws = [UInt8](repeating: 0, count: aek_csr_transpose_workspace_size(9, Int64(x.nnz)))
        let n = ws.count
        ws.withUnsafeMutableBytes { raw in
            x.with { c in
                #expect(aek_csr_transpose_dense_mm(c, nil, Int64(h), Int64(h), 0, &dW, Int64(h), &touched, &nT,
                                                   raw.baseAddress, n, 1) == errArg)
                #expect(aek_csr_transpose_dense_mm(c, G, Int64(h), Int64(h), 0, nil, Int64(h), &touched, &nT,
                                                   raw.baseAddress, n, 1) == errArg)
                #expect(aek_csr_transpose_dense_mm(c, G, Int64(h), Int64(h), 0, &dW, Int64(h), nil, &nT,
                                                   raw.baseAddress, n, 1) == errArg)
                #expect(aek_csr_transpose_dense_mm(c, G, Int64(h), Int64(h), 0, &dW, Int64(h), &touched, nil,
                                                   raw.baseAddress, n, 1) == errArg)
                #expect(aek_csr_transpose_dense_mm(c, G, Int64(h), Int64(h), 0, &dW, Int64(h), &touched, &nT,
                                                   nil, n, 1) == errArg)
            }
        }
        #expect(bits(dW) == bits(dW0))
        #expect(nT == -3)
        #expect(touched.allSatisfy { $0 == -7 })
    }
}

// MARK: - SDDMM

@Suite("aek_csr_sddmm")
struct CSRSDDMMTests {
    private func check(_ x: CSR, h: Int, lda: Int, ldb: Int, bias: Bool, threads: Int, seed: UInt64,
                       sourceLocation: SourceLocation = #_sourceLocation) -> [Float] {
        var rng = TestRNG(seed)
        let A = rng.floats(max(x.nRows * lda, 1)), B = rng.floats(max(x.nCols * ldb, 1))
        let b: [Float]? = bias ? rng.floats(x.nCols) : nil
        var out = [Float](repeating: garbageNaN, count: x.first + x.nnz + 2)
        let st = x.with { aek_csr_sddmm($0, A, Int64(lda), B, Int64(ldb), Int64(h), b, &out, Int32(threads)) }
        #expect(st == ok, sourceLocation: sourceLocation)
        var bad = 0
        for k in 0..<x.first where out[k].bitPattern != garbageNaN.bitPattern { bad += 1 }
        for k in (x.first + x.nnz)..<out.count where out[k].bitPattern != garbageNaN.bitPattern { bad += 1 }
        for r in 0..<x.nRows {
            for k in x.range(r) {
                let j = Int(x.indices[k])
                var s = 0.0, m = 0.0
                for c in 0..<h {
                    let t = Double(A[r * lda + c]) * Double(B[j * ldb + c])
                    s += t
                    m += abs(t)
                }
                if let b { s += Double(b[j]); m += abs(Double(b[j])) }
                if !(abs(Double(out[k]) - s) <= 1e-5 * m + 1e-6) { bad += 1 }
            }
        }
        #expect(bad == 0, "\(bad) wrong entries (h \(h))", sourceLocation: sourceLocation)
        return out
    }

    @Test("random blocks against float64", arguments: [1, 3, 15, 16, 17, 40, 64, 101])
    func randomBlocks(h: Int) {
        var rng = TestRNG(UInt64(h) &* 31)
        for trial in 0..<5 {
            let x = CSR.random(rows: 1 + rng.int(25), cols: 1 + rng.int(50), maxPerRow: 1 + rng.int(20),
                               explicit: trial % 2 == 0, sorted: trial != 3, rng: &rng)
            _ = check(x, h: h, lda: h + trial % 3, ldb: h + trial % 2, bias: trial % 2 == 1, threads: 1 + trial % 4,
                      seed: UInt64(trial))
        }
    }

    @Test("views, empty rows, a full row, one row, h = 0; thread counts give identical bits")
    func edgesAndDeterminism() {
        var rng = TestRNG(17)
        let big = CSR.random(rows: 300, cols: 200, maxPerRow: 40, explicit: false, rng: &rng)
        let v = big.view(37, 260)
        let one = check(v, h: 64, lda: 64, ldb: 70, bias: true, threads: 1, seed: 1)
        for t in 2...4 {
            #expect(bits(check(v, h: 64, lda: 64, ldb: 70, bias: true, threads: t, seed: 1)) == bits(one))
        }
        let full = CSR(nRows: 3, nCols: 23, indptr: [0, 23, 23, 25], indices: (0..<23).map { Int32($0) } + [0, 22],
                       values: nil)
        _ = check(full, h: 33, lda: 33, ldb: 33, bias: false, threads: 2, seed: 2)
        _ = check(big.view(5, 6), h: 1, lda: 1, ldb: 1, bias: true, threads: 1, seed: 3)
        // h == 0: out = bias (or 0)
        let b: [Float] = (0..<23).map { Float($0) }
        var out = [Float](repeating: garbageNaN, count: 25)
        #expect(full.with { aek_csr_sddmm($0, nil, 0, nil, 0, 0, b, &out, 1) } == ok)
        #expect(out == (0..<23).map { Float($0) } + [0, 22])
        // errors
        let A = [Float](repeating: 1, count: 3 * 8), B = [Float](repeating: 1, count: 23 * 8)
        out = [Float](repeating: garbageNaN, count: 25)
        #expect(full.with { aek_csr_sddmm($0, A, 7, B, 8, 8, nil, &out, 1) } == errArg)
        #expect(full.with { aek_csr_sddmm($0, A, 8, B, 7, 8, nil, &out, 1) } == errArg)
        #expect(full.with { aek_csr_sddmm($0, A, 8, B, 8, 8, nil, nil, 1) } == errArg)
        #expect(full.with { aek_csr_sddmm($0, nil, 8, B, 8, 8, nil, &out, 1) } == errArg)
        var bad = full
        bad.indices[24] = 23
        #expect(bad.with { aek_csr_sddmm($0, A, 8, B, 8, 8, nil, &out, 1) } == errArg)
        #expect(out.allSatisfy { $0.bitPattern == garbageNaN.bitPattern })
    }
}

// MARK: - L2 normalisation

@Suite("row L2 normalisation")
struct RowNormalizeTests {
    @Test("CSR rows: explicit, implicit, in place, views, zero rows")
    func csr() {
        var rng = TestRNG(23)
        var x = CSR.random(rows: 30, cols: 40, maxPerRow: 20, explicit: true, rng: &rng)
        // a row of zeros (norm 0 <= eps) and a tiny row below eps
        let r0 = x.range(3), r1 = x.range(4)
        for k in r0 { x.values![k] = 0 }
        for k in r1 { x.values![k] = 1e-9 }
        let v = x.view(2, 28)
        let eps: Float = 1e-6
        var out = [Float](repeating: garbageNaN, count: x.indices.count)
        #expect(v.with { aek_csr_row_l2_normalize($0, eps, &out) } == ok)
        var bad = 0
        for k in 0..<v.first where out[k].bitPattern != garbageNaN.bitPattern { bad += 1 }
        for r in 0..<v.nRows {
            let ks = v.range(r)
            let norm = ks.reduce(0.0) { $0 + Double(v.value($1)) * Double(v.value($1)) }.squareRoot()
            for k in ks {
                let want = norm <= Double(eps) ? 0 : Double(v.value(k)) / norm
                if !(abs(Double(out[k]) - want) <= 1e-6) { bad += 1 }
            }
        }
        #expect(bad == 0)
        #expect(x.range(3).allSatisfy { out[$0] == 0 } && x.range(4).allSatisfy { out[$0] == 0 })
        // in place equals out of place
        var inPlace = x.values!
        let st = inPlace.withUnsafeMutableBufferPointer { p in
            v.implicit.with { c in
                var c2 = c
                c2.values = UnsafePointer(p.baseAddress)
                return aek_csr_row_l2_normalize(c2, eps, p.baseAddress)
            }
        }
        #expect(st == ok)
        #expect(bits(Array(inPlace[v.first..<(v.first + v.nnz)])) == bits(Array(out[v.first..<(v.first + v.nnz)])))
        // implicit: every entry 1 / sqrt(n_r)
        var outI = [Float](repeating: garbageNaN, count: x.indices.count)
        #expect(v.implicit.with { aek_csr_row_l2_normalize($0, eps, &outI) } == ok)
        for r in 0..<v.nRows {
            let n = v.range(r).count
            for k in v.range(r) { #expect(abs(Double(outI[k]) - 1 / Double(n).squareRoot()) <= 1e-7) }
        }
        // errors
        var bad2 = x
        bad2.indices[0] = 40
        var o2 = [Float](repeating: garbageNaN, count: x.indices.count)
        #expect(bad2.with { aek_csr_row_l2_normalize($0, eps, &o2) } == errArg)
        #expect(x.with { aek_csr_row_l2_normalize($0, eps, nil) } == errArg)
        #expect(o2.allSatisfy { $0.bitPattern == garbageNaN.bitPattern })
    }

    @Test("dense rows: float64 norms, small rows untouched, padding untouched, thread counts agree",
          arguments: [1, 7, 8, 9, 600])
    func dense(cols: Int) {
        var rng = TestRNG(UInt64(cols))
        let rows = 257, lda = cols + 3
        var A = rng.floats(rows * lda)
        for c in 0..<cols { A[5 * lda + c] = 0; A[6 * lda + c] = 1e-8 }
        let A0 = A
        let eps: Float = 1e-5
        var norms = [Float](repeating: garbageNaN, count: rows)
        #expect(aek_dense_row_l2_normalize(Int64(rows), Int64(cols), &A, Int64(lda), eps, &norms, 1) == ok)
        var bad = 0
        for r in 0..<rows {
            var s = 0.0
            for c in 0..<cols { s += Double(A0[r * lda + c]) * Double(A0[r * lda + c]) }
            let n = s.squareRoot()
            if !(abs(Double(norms[r]) - n) <= 1e-6 * n + 1e-30) { bad += 1 }
            for c in 0..<cols {
                let want = n <= Double(eps) ? Double(A0[r * lda + c]) : Double(A0[r * lda + c]) / n
                if !(abs(Double(A[r * lda + c]) - want) <= 1e-6) { bad += 1 }
            }
            for c in cols..<lda where A[r * lda + c].bitPattern != A0[r * lda + c].bitPattern { bad += 1 }
        }
        #expect(bad == 0)
        #expect(bits(Array(A[(5 * lda)..<(7 * lda)])) == bits(Array(A0[(5 * lda)..<(7 * lda)])))
        for t in 2...4 {
            var B = A0
            var nb = [Float](repeating: 0, count: rows)
            #expect(aek_dense_row_l2_normalize(Int64(rows), Int64(cols), &B, Int64(lda), eps, &nb, Int32(t)) == ok)
            #expect(bits(B) == bits(A) && bits(nb) == bits(norms))
        }
        var C = A0
        #expect(aek_dense_row_l2_normalize(Int64(rows), Int64(cols), &C, Int64(lda), eps, nil, 2) == ok)
        #expect(bits(C) == bits(A))
        // errors
        var D = A0
        #expect(aek_dense_row_l2_normalize(Int64(rows), Int64(cols), &D, Int64(cols - 1), eps, nil, 2) == errArg)
        #expect(aek_dense_row_l2_normalize(-1, Int64(cols), &D, Int64(lda), eps, nil, 2) == errArg)
        #expect(aek_dense_row_l2_normalize(Int64(rows), Int64(cols), nil, Int64(lda), eps, nil, 2) == errArg)
        #expect(bits(D) == bits(A0))
    }
}
