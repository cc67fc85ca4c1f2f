import Foundation
import Testing
import AERecKernels

fileprivate struct OptRng {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    /// Roughly symmetric in [-1, 1).
    mutating func signed() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
}

fileprivate func adamCfg(step: Int, decoupled: Bool, wd: Float = 0.1, lr: Float = 0.01) -> aek_adam {
    aek_adam(lr: lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: wd, decoupled: decoupled ? 1 : 0,
             step: Int64(step))
}

/// The published update in float64 (Kingma & Ba; AdamW per Loshchilov & Hutter as PyTorch applies it).
fileprivate func referenceAdam(_ p: inout [Double], _ g: [Double], _ m: inout [Double], _ v: inout [Double],
                               _ cfg: aek_adam) {
    let b1 = Double(cfg.beta1), b2 = Double(cfg.beta2), lr = Double(cfg.lr), eps = Double(cfg.eps)
    let wd = Double(cfg.weight_decay), t = Double(cfg.step)
    for i in p.indices {
        var gi = g[i]
        if cfg.decoupled == 0 { gi += wd * p[i] }
        m[i] = b1 * m[i] + (1 - b1) * gi
        v[i] = b2 * v[i] + (1 - b2) * gi * gi
        if cfg.decoupled == 1 { p[i] -= lr * wd * p[i] }
        let mhat = m[i] / (1 - pow(b1, t)), vhat = v[i] / (1 - pow(b2, t))
        p[i] -= lr * mhat / (vhat.squareRoot() + eps)
    }
}

fileprivate func adamDense(_ p: inout [Float], _ g: [Float], _ m: inout [Float], _ v: inout [Float], _ cfg: aek_adam,
                           threads: Int = 1) -> Int32 {
    let n = Int64(p.count)
    return p.withUnsafeMutableBufferPointer { pp in
        g.withUnsafeBufferPointer { gp in
            m.withUnsafeMutableBufferPointer { mp in
                v.withUnsafeMutableBufferPointer { vp in
                    aek_adam_dense(n, pp.baseAddress, gp.baseAddress, mp.baseAddress, vp.baseAddress, cfg, Int32(threads))
                }
            }
        }
    }
}

fileprivate func adamRows(_ rows: [Int32], nParamRows: Int, rowLen: Int, ld: Int, _ p: inout [Float], _ g: [Float],
                          _ m: inout [Float], _ v: inout [Float], _ cfg: aek_adam, threads: Int = 1) -> Int32 {
    rows.withUnsafeBufferPointer { rp in
        p.withUnsafeMutableBufferPointer { pp in
            g.withUnsafeBufferPointer { gp in
                m.withUnsafeMutableBufferPointer { mp in
                    v.withUnsafeMutableBufferPointer { vp in
                        aek_adam_rows(rp.baseAddress, Int64(rows.count), Int64(nParamRows), Int64(rowLen), pp.baseAddress,
                                      gp.baseAddress, mp.baseAddress, vp.baseAddress, Int64(ld), cfg, Int32(threads))
                    }
                }
            }
        }
    }
}

@Suite struct OptimTests {
    @Test(arguments: [false, true])
    func denseMatchesFloat64Reference(decoupled: Bool) {
        var rng = OptRng(state: decoupled ? 11 : 12)
        let n = 1037
        var p = (0..<n).map { _ in rng.signed() }
        var m = [Float](repeating: 0, count: n), v = [Float](repeating: 0, count: n)
        var pd = p.map(Double.init), md = [Double](repeating: 0, count: n), vd = md
        for step in 1...6 {
            // Gradients of varied magnitude, a few exactly zero.
            let g = (0..<n).map { i in i % 97 == 0 ? 0 : rng.signed() * (i % 3 == 0 ? 1e-3 : 1) }
            let cfg = adamCfg(step: step, decoupled: decoupled)
            #expect(adamDense(&p, g, &m, &v, cfg, threads: 2) == Int32(AEK_OK))
            referenceAdam(&pd, g.map(Double.init), &md, &vd, cfg)
            var worstP = 0.0, worstM = 0.0, worstV = 0.0
            for i in 0..<n {
                worstP = max(worstP, abs(Double(p[i]) - pd[i]))
                worstM = max(worstM, abs(Double(m[i]) - md[i])) // m may cancel to ~0: absolute
                worstV = max(worstV, abs(Double(v[i]) - vd[i]) / (abs(vd[i]) + 1e-30))
            }
            // Each step moves p by about lr = 0.01; float32 rounding of p (~1e-7) dominates the error.
            #expect(worstP < 2e-6, "step \(step): |p - ref| = \(worstP)")
            #expect(worstM < 1e-6, "step \(step): |m - ref| = \(worstM)")
            #expect(worstV < 1e-5, "step \(step): rel v error \(worstV)")
        }
    }

    /// With a zero gradient from fresh moments, the two decays act differently:
    /// L2 makes g = wd p, so Adam's normalised step is ~ -lr sign(p); AdamW only shrinks p by lr wd p.
    @Test func adamWAndL2Differ() {
        let p0: [Float] = [2, -0.5, 1e-3, 0]
        let g = [Float](repeating: 0, count: 4)
        var pl = p0, ml = [Float](repeating: 0, count: 4), vl = ml
        var pw = p0, mw = ml, vw = ml
        #expect(adamDense(&pl, g, &ml, &vl, adamCfg(step: 1, decoupled: false)) == Int32(AEK_OK))
        #expect(adamDense(&pw, g, &mw, &vw, adamCfg(step: 1, decoupled: true)) == Int32(AEK_OK))
        for i in 0..<3 {
            let s: Float = p0[i] > 0 ? 1 : -1
            #expect(abs(pl[i] - (p0[i] - 0.01 * s)) < 1e-5, "L2 step at \(i): \(pl[i])")
            #expect(abs(pw[i] - p0[i] * (1 - 0.01 * 0.1)) < 1e-7, "AdamW decay at \(i): \(pw[i])")
            #expect(ml[i] != 0 && mw[i] == 0)
        }
        #expect(pl[3] == 0 && pw[3] == 0)
        // Without weight decay the two modes are the same update, bit for bit.
        var rng = OptRng(state: 3)
        let g2 = (0..<100).map { _ in rng.signed() }
        var a = (0..<100).map { _ in rng.signed() }, am = [Float](repeating: 0, count: 100), av = am
        var b = a, bm = am, bv = am
        for step in 1...3 {
            _ = adamDense(&a, g2, &am, &av, adamCfg(step: step, decoupled: false, wd: 0))
            _ = adamDense(&b, g2, &bm, &bv, adamCfg(step: step, decoupled: true, wd: 0))
        }
        #expect(a.map(\.bitPattern) == b.map(\.bitPattern))
    }

    @Test(arguments: [false, true])
    func rowsAgreeWithDenseAndLeaveOthersAlone(decoupled: Bool) {
        var rng = OptRng(state: 77)
        let nParamRows = 50, rowLen = 33, ld = 40
        let total = nParamRows * ld
        var p = (0..<total).map { _ in rng.signed() }
        var m = (0..<total).map { _ in rng.signed() * 0.01 }
        var v = (0..<total).map { _ in abs(rng.signed()) * 1e-4 }
        let touched: [Int32] = [0, 1, 4, 5, 17, 48, 49]
        let (p0, m0, v0) = (p, m, v)
        for step in 3...5 {
            let g = (0..<total).map { _ in rng.signed() }
            let cfg = adamCfg(step: step, decoupled: decoupled)
            // Expected: the dense kernel on each touched row separately.
            var pe = p, me = m, ve = v
            for r in touched.map(Int.init) {
                var pr = Array(pe[r * ld..<r * ld + rowLen]), mr = Array(me[r * ld..<r * ld + rowLen])
                var vr = Array(ve[r * ld..<r * ld + rowLen])
                #expect(adamDense(&pr, Array(g[r * ld..<r * ld + rowLen]), &mr, &vr, cfg) == Int32(AEK_OK))
                pe.replaceSubrange(r * ld..<r * ld + rowLen, with: pr)
                me.replaceSubrange(r * ld..<r * ld + rowLen, with: mr)
                ve.replaceSubrange(r * ld..<r * ld + rowLen, with: vr)
            }
            #expect(adamRows(touched, nParamRows: nParamRows, rowLen: rowLen, ld: ld, &p, g, &m, &v, cfg,
                             threads: step - 2) == Int32(AEK_OK))
            #expect(p.map(\.bitPattern) == pe.map(\.bitPattern))
            #expect(m.map(\.bitPattern) == me.map(\.bitPattern))
            #expect(v.map(\.bitPattern) == ve.map(\.bitPattern))
        }
        // Untouched rows and the padding columns of touched rows: bit-for-bit unchanged.
        for r in 0..<nParamRows {
            for c in 0..<ld where !(touched.contains(Int32(r)) && c < rowLen) {
                let i = r * ld + c
                #expect(p[i].bitPattern == p0[i].bitPattern && m[i].bitPattern == m0[i].bitPattern
                        && v[i].bitPattern == v0[i].bitPattern, "row \(r) col \(c) changed")
            }
        }
    }

    @Test func threadCountsGiveIdenticalResults() {
        var rng = OptRng(state: 5)
        let n = 400_003
        let p0 = (0..<n).map { _ in rng.signed() }
        let g = (0..<n).map { _ in rng.signed() }
        var results: [[UInt32]] = []
        for t in 1...4 {
            var p = p0, m = [Float](repeating: 0, count: n), v = m
            #expect(adamDense(&p, g, &m, &v, adamCfg(step: 1, decoupled: true), threads: t) == Int32(AEK_OK))
            results.append(p.map(\.bitPattern) + m.map(\.bitPattern) + v.map(\.bitPattern))
        }
        #expect(results.allSatisfy { $0 == results[0] })
        // Rows variant across thread counts (wide enough rows to split).
        let rows: [Int32] = Array(stride(from: 0, to: 400, by: 3))
        var rowResults: [[UInt32]] = []
        for t in 1...4 {
            var p = Array(p0[0..<400 * 1000]), m = [Float](repeating: 0, count: 400 * 1000), v = m
            #expect(adamRows(rows, nParamRows: 400, rowLen: 1000, ld: 1000, &p, Array(g[0..<400 * 1000]), &m, &v,
                             adamCfg(step: 2, decoupled: false), threads: t) == Int32(AEK_OK))
            rowResults.append(p.map(\.bitPattern))
        }
        #expect(rowResults.allSatisfy { $0 == rowResults[0] })
    }

    @Test func argumentErrorsTouchNothing() {
        let arg = Int32(AEK_ERR_ARG)
        let p0: [Float] = [1, 2, 3, 4, 5, 6]
        var p = p0, m = [Float](repeating: 0, count: 6), v = m
        let g = [Float](repeating: 1, count: 6)
        var bad = adamCfg(step: 0, decoupled: false)
        #expect(adamDense(&p, g, &m, &v, bad) == arg)
        bad = adamCfg(step: 1, decoupled: false, lr: .nan)
        #expect(adamDense(&p, g, &m, &v, bad) == arg)
        bad = adamCfg(step: 1, decoupled: false, lr: .infinity)
        #expect(adamDense(&p, g, &m, &v, bad) == arg)
        bad = adamCfg(step: 1, decoupled: false); bad.eps = .infinity
        #expect(adamDense(&p, g, &m, &v, bad) == arg)
        bad = adamCfg(step: 1, decoupled: false); bad.eps = .nan
        #expect(adamDense(&p, g, &m, &v, bad) == arg)
        bad = adamCfg(step: 1, decoupled: false); bad.beta2 = 1
        #expect(adamDense(&p, g, &m, &v, bad) == arg)
        bad = adamCfg(step: 1, decoupled: false); bad.decoupled = 2
        #expect(adamDense(&p, g, &m, &v, bad) == arg)
        #expect(aek_adam_dense(-1, nil, nil, nil, nil, adamCfg(step: 1, decoupled: false), 1) == arg)
        #expect(aek_adam_dense(6, nil, nil, nil, nil, adamCfg(step: 1, decoupled: false), 1) == arg)
        let ok = adamCfg(step: 1, decoupled: false)
        // 3 rows of 2: out of range, negative, unsorted, duplicated, ld too small.
        #expect(adamRows([3], nParamRows: 3, rowLen: 2, ld: 2, &p, g, &m, &v, ok) == arg)
        #expect(adamRows([-1], nParamRows: 3, rowLen: 2, ld: 2, &p, g, &m, &v, ok) == arg)
        #expect(adamRows([2, 0], nParamRows: 3, rowLen: 2, ld: 2, &p, g, &m, &v, ok) == arg)
        #expect(adamRows([1, 1], nParamRows: 3, rowLen: 2, ld: 2, &p, g, &m, &v, ok) == arg)
        #expect(adamRows([0], nParamRows: 3, rowLen: 2, ld: 1, &p, g, &m, &v, ok) == arg)
        #expect(adamRows([0], nParamRows: 3, rowLen: 2, ld: 2, &p, g, &m, &v, bad) == arg)
        #expect(p == p0 && m.allSatisfy { $0 == 0 } && v.allSatisfy { $0 == 0 })
        // Empty work is fine.
        #expect(adamRows([], nParamRows: 3, rowLen: 2, ld: 2, &p, g, &m, &v, ok) == Int32(AEK_OK))
        #expect(aek_adam_dense(0, nil, nil, nil, nil, ok, 1) == Int32(AEK_OK))
    }
}

@Suite("aek_adam_block")
struct AdamBlockTests {
    @Test("a column block with its own gradient buffer updates exactly as dense Adam", arguments: [1, 2])
    func matchesDense(threads: Int) {
        var rng = OptRng(state: 99)
        let rows = 7, cols = 45, block = 16
        let p0 = (0..<rows * cols).map { _ in rng.signed() }
        let g = (0..<rows * cols).map { _ in rng.signed() * 0.1 }
        var m0 = (0..<rows * cols).map { _ in rng.signed() * 0.01 }
        var v0 = (0..<rows * cols).map { _ in abs(rng.signed()) * 1e-3 }
        for decoupled in [false, true] {
            let cfg = adamCfg(step: 3, decoupled: decoupled)
            var p = p0, m = m0, v = v0
            #expect(adamDense(&p, g, &m, &v, cfg) == Int32(AEK_OK))
            var q = p0, mq = m0, vq = v0
            var c0 = 0
            while c0 < cols {
                let w = min(block, cols - c0)
                // the block's gradient in its own w-wide buffer
                var gb = [Float](repeating: 0, count: rows * w)
                for r in 0..<rows { for c in 0..<w { gb[r * w + c] = g[r * cols + c0 + c] } }
                let st = q.withUnsafeMutableBufferPointer { qp in
                    mq.withUnsafeMutableBufferPointer { mp in
                        vq.withUnsafeMutableBufferPointer { vp in
                            gb.withUnsafeBufferPointer { gp in
                                aek_adam_block(Int64(rows), Int64(w), qp.baseAddress! + c0, mp.baseAddress! + c0,
                                               vp.baseAddress! + c0, Int64(cols), gp.baseAddress, Int64(w), cfg,
                                               Int32(threads))
                            }
                        }
                    }
                }
                #expect(st == Int32(AEK_OK))
                c0 += w
            }
            #expect(q.map(\.bitPattern) == p.map(\.bitPattern))
            #expect(mq.map(\.bitPattern) == m.map(\.bitPattern))
            #expect(vq.map(\.bitPattern) == v.map(\.bitPattern))
        }
        m0[0] = 0; v0[0] = 0
        // argument checks: ld < cols, ldg < cols
        var p = p0
        let bad = p.withUnsafeMutableBufferPointer { pp in
            aek_adam_block(2, 10, pp.baseAddress, pp.baseAddress, pp.baseAddress, 9, pp.baseAddress, 10,
                           adamCfg(step: 1, decoupled: false), 1)
        }
        #expect(bad == Int32(AEK_ERR_ARG))
    }
}

@Suite("aek_outer_product_adam")
struct OuterProductAdamTests {
    /// A layer's input a (n × rows), output gradient g (n × cols, leading dimension ldg), parameter
    /// p and Adam moments m, v (rows × cols), drawn in that order from OptRng(seed).
    static func problem(seed: UInt64, rows: Int, cols: Int, n: Int, ldg: Int)
        -> (a: [Float], g: [Float], p: [Float], m: [Float], v: [Float]) {
        var rng = OptRng(state: seed)
        let a = (0..<n * rows).map { _ in rng.signed() }
        let g = (0..<n * ldg).map { _ in rng.signed() * 0.1 }
        let p = (0..<rows * cols).map { _ in rng.signed() }
        let m = (0..<rows * cols).map { _ in rng.signed() * 0.01 }
        let v = (0..<rows * cols).map { _ in abs(rng.signed()) * 1e-3 }
        return (a, g, p, m, v)
    }

    @Test("Adam with the gradient aᵀg formed block by block per thread = product, then dense Adam; g cleared",
          arguments: [1, 2, 3])
    func matchesProductThenAdam(threads: Int) {
        let rows = 6, cols = 700, n = 9, ldg = cols + 5
        let (a, g0, p0, m0, v0) = Self.problem(seed: 7, rows: rows, cols: cols, n: n, ldg: ldg)
        let cfg = adamCfg(step: 4, decoupled: false)
        // reference: the full gradient by a single-threaded aek_sgemm, then dense Adam
        var grad = [Float](repeating: 0, count: rows * cols)
        #expect(aek_sgemm(1, 0, Int64(rows), Int64(cols), Int64(n), 1, a, Int64(rows), g0, Int64(ldg), 0, &grad,
                          Int64(cols)) == 0)
        var p = p0, m = m0, v = v0
        #expect(adamDense(&p, grad, &m, &v, cfg) == Int32(AEK_OK))
        for scratchFloats in [rows * 1000, rows * 37, rows] {   // one block per thread, many blocks, one column
            var q = p0, mq = m0, vq = v0, g = g0
            var scratch = [Float](repeating: .nan, count: scratchFloats)
            #expect(aek_outer_product_adam(Int64(rows), Int64(cols), Int64(n), a, Int64(rows), &g, Int64(ldg), &q, &mq,
                                           &vq, Int64(cols), &scratch, Int64(scratchFloats), cfg, 1, Int32(threads))
                    == Int32(AEK_OK))
            #expect(q.map(\.bitPattern) == p.map(\.bitPattern), "scratch \(scratchFloats)")
            #expect(mq.map(\.bitPattern) == m.map(\.bitPattern) && vq.map(\.bitPattern) == v.map(\.bitPattern))
            // the consumed columns of g are zero, the padding beyond cols untouched
            for i in 0..<n {
                #expect(g[(i * ldg)..<(i * ldg + cols)].allSatisfy { $0 == 0 })
                #expect(Array(g[(i * ldg + cols)..<(i * ldg + ldg)]) == Array(g0[(i * ldg + cols)..<(i * ldg + ldg)]))
            }
        }
        // without clearing, g is left alone; a scratch smaller than one column is refused
        var q = p0, mq = m0, vq = v0, g = g0
        var scratch = [Float](repeating: 0, count: rows)
        #expect(aek_outer_product_adam(Int64(rows), Int64(cols), Int64(n), a, Int64(rows), &g, Int64(ldg), &q, &mq, &vq,
                                       Int64(cols), &scratch, Int64(rows), cfg, 0, Int32(threads)) == Int32(AEK_OK))
        #expect(g == g0 && q.map(\.bitPattern) == p.map(\.bitPattern))
        #expect(aek_outer_product_adam(Int64(rows), Int64(cols), Int64(n), a, Int64(rows), &g, Int64(ldg), &q, &mq, &vq,
                                       Int64(cols), &scratch, Int64(rows - 1), cfg, 0, Int32(threads))
                == Int32(AEK_ERR_ARG))
    }

    @Test("the backpropagated product fused in: da = g·Wᵀ with W before the step, the same update; da alone gives the same bits",
          arguments: [1, 2, 3, 8])
    func backpropFusedIn(threads: Int) {
        let rows = 5, cols = 900, n = 7, ldg = cols + 3, ldda = rows + 2
        let (a, g0, p0, m0, v0) = Self.problem(seed: 11, rows: rows, cols: cols, n: n, ldg: ldg)
        let cfg = adamCfg(step: 3, decoupled: true)
        // plain reference: da[i][j] = sum_c g[i][c] p0[j][c] in float64
        var ref = [Double](repeating: 0, count: n * rows)
        for i in 0..<n { for j in 0..<rows { for c in 0..<cols { ref[i * rows + j] += Double(g0[i * ldg + c]) * Double(p0[j * cols + c]) } } }
        // the update alone (no da), the reference for the parameters
        var pRef = p0, mRef = m0, vRef = v0, gRef = g0
        var s0 = [Float](repeating: 0, count: rows * 64)
        #expect(aek_outer_product_adam(Int64(rows), Int64(cols), Int64(n), a, Int64(rows), &gRef, Int64(ldg), &pRef,
                                       &mRef, &vRef, Int64(cols), &s0, Int64(s0.count), cfg, 0, Int32(threads)) == Int32(AEK_OK))
        // scratch: partials of parts 2.. plus one block per part / many blocks / a single column each
        let partials = max(0, threads - 1) * n * rows
        for perPart in [rows * 1000, rows * 37, rows * 64] {
            let scratchFloats = partials + perPart * max(1, min(threads, cols / 256))
            var q = p0, mq = m0, vq = v0, g = g0
            var da = [Float](repeating: .nan, count: n * ldda)
            var scratch = [Float](repeating: .nan, count: scratchFloats)
            #expect(aek_outer_product_adam_da(Int64(rows), Int64(cols), Int64(n), a, Int64(rows), &g, Int64(ldg), &q, &mq,
                                              &vq, Int64(cols), &da, Int64(ldda), &scratch, Int64(scratchFloats), cfg, 1, 0,
                                              Int32(threads)) == Int32(AEK_OK))
            #expect(q.map(\.bitPattern) == pRef.map(\.bitPattern), "the same update as without da")
            #expect(mq.map(\.bitPattern) == mRef.map(\.bitPattern) && vq.map(\.bitPattern) == vRef.map(\.bitPattern))
            #expect(g == g0)
            for i in 0..<n {
                for j in 0..<rows {
                    let x = Double(da[i * ldda + j]), r = ref[i * rows + j]
                    #expect(abs(x - r) <= 1e-5 * max(1, abs(r)), "da[\(i)][\(j)] \(x) vs \(r), scratch \(scratchFloats)")
                }
                #expect(da[(i * ldda + rows)..<(i * ldda + ldda)].allSatisfy { $0.isNaN }, "padding untouched")
            }
            // da alone (the unfused path): the same bits, the parameter unchanged
            var da2 = [Float](repeating: .nan, count: n * ldda)
            var p2 = p0, g2 = g0
            var scratch2 = [Float](repeating: .nan, count: scratchFloats)
            #expect(aek_outer_product_adam_da(Int64(rows), Int64(cols), Int64(n), nil, Int64(rows), &g2, Int64(ldg), &p2,
                                              nil, nil, Int64(cols), &da2, Int64(ldda), &scratch2, Int64(scratchFloats),
                                              aek_adam(), 0, 0, Int32(threads)) == Int32(AEK_OK))
            #expect(da2.map(\.bitPattern) == da.map(\.bitPattern), "da alone = fused da, scratch \(scratchFloats)")
            #expect(p2 == p0 && g2 == g0)
        }
        // refused: da alone without da; a scratch that cannot hold one column per part
        var q = p0, g = g0
        var da = [Float](repeating: 0, count: n * ldda)
        var small = [Float](repeating: 0, count: rows - 1)
        #expect(aek_outer_product_adam_da(Int64(rows), Int64(cols), Int64(n), nil, Int64(rows), &g, Int64(ldg), &q, nil,
                                          nil, Int64(cols), nil, 0, &small, Int64(small.count), aek_adam(), 0, 0,
                                          Int32(threads)) == Int32(AEK_ERR_ARG))
        #expect(aek_outer_product_adam_da(Int64(rows), Int64(cols), Int64(n), nil, Int64(rows), &g, Int64(ldg), &q, nil,
                                          nil, Int64(cols), &da, Int64(ldda), &small, Int64(small.count), aek_adam(), 0, 0,
                                          Int32(threads)) == Int32(AEK_ERR_ARG))
        #expect(aek_outer_product_adam_da(Int64(rows), Int64(cols), Int64(n), nil, Int64(rows), &g, Int64(ldg), &q, nil,
                                          nil, Int64(cols), &da, Int64(rows - 1), &small, Int64(small.count), aek_adam(), 0,
                                          0, Int32(threads)) == Int32(AEK_ERR_ARG))
    }
}
