import Testing
import AERecKernels

@Suite("aek_sgemm")
struct SGEMMTests {
    /// Deterministic pseudo-random floats in [-1, 1).
    static func randoms(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed &+ 0x9E37_79B9_7F4A_7C15
        return (0..<n).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float((s >> 40) & 0xFFFFFF) / Float(1 << 23) - 1
        }
    }

    @Test("matches a float64 reference for every transpose combination and odd leading dimensions",
          arguments: [(false, false), (true, false), (false, true), (true, true)])
    func reference(ta: Bool, tb: Bool) {
        let m = 7, n = 5, k = 9
        let lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 1
        let A = Self.randoms((ta ? k : m) * lda, seed: 1), B = Self.randoms((tb ? n : k) * ldb, seed: 2)
        var C = Self.randoms(m * ldc, seed: 3)
        let C0 = C
        let alpha: Float = 0.75, beta: Float = -0.5
        let st = aek_sgemm(ta ? 1 : 0, tb ? 1 : 0, Int64(m), Int64(n), Int64(k), alpha, A, Int64(lda), B, Int64(ldb),
                           beta, &C, Int64(ldc))
        #expect(st == 0)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let a = ta ? A[p * lda + i] : A[i * lda + p]
                    let b = tb ? B[j * ldb + p] : B[p * ldb + j]
                    s += Double(a) * Double(b)
                }
                let want = Double(alpha) * s + Double(beta) * Double(C0[i * ldc + j])
                #expect(abs(Double(C[i * ldc + j]) - want) < 1e-5, "C[\(i),\(j)]")
            }
            // the padding column beyond n is untouched
            #expect(C[i * ldc + n] == C0[i * ldc + n])
        }
    }

    @Test("aek_sgemm_mt gives aek_sgemm's bits on every thread count, split by columns or rows",
          arguments: [(false, false), (true, false), (false, true), (true, true)])
    func multithreaded(ta: Bool, tb: Bool) {
        // wide (column split), tall (row split) and small (one thread) shapes
        for (m, n, k) in [(37, 700, 150), (900, 45, 120), (5, 7, 3)] {
            let lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2, ldc = n + 3
            let A = Self.randoms((ta ? k : m) * lda, seed: 4), B = Self.randoms((tb ? n : k) * ldb, seed: 5)
            let C0 = Self.randoms(m * ldc, seed: 6)
            var want = C0
            #expect(aek_sgemm(ta ? 1 : 0, tb ? 1 : 0, Int64(m), Int64(n), Int64(k), 0.5, A, Int64(lda), B, Int64(ldb),
                              0.25, &want, Int64(ldc)) == 0)
            for threads in [1, 2, 3, 8] {
                var C = C0
                #expect(aek_sgemm_mt(ta ? 1 : 0, tb ? 1 : 0, Int64(m), Int64(n), Int64(k), 0.5, A, Int64(lda), B,
                                     Int64(ldb), 0.25, &C, Int64(ldc), Int32(threads)) == 0)
                // on these shapes OpenBLAS's blocked kernel runs for the whole and for each slice, and it
                // splits rows and columns, never the sum: the same bits (on other shapes a single-threaded
                // call may take OpenBLAS's small-matrix path and round differently)
                #expect(C.map(\.bitPattern) == want.map(\.bitPattern), "\(m)x\(n)x\(k) on \(threads) threads")
            }
        }
        var C: [Float] = [1, 2, 3, 4]
        #expect(aek_sgemm_mt(0, 0, 2, 2, 0, 1, [0], 1, [0], 2, 0.5, &C, 2, 2) == 0 && C == [0.5, 1, 1.5, 2])
        #expect(aek_sgemm_mt(0, 0, 2, 2, 3, 1, [0], 1, [0], 2, 0, &C, 2, 2) == Int32(AEK_ERR_ARG))
    }

    @Test("k == 0 scales C by beta; bad leading dimensions are rejected")
    func edges() {
        var C: [Float] = [1, 2, 3, 4]
        let A: [Float] = [0], B: [Float] = [0]
        #expect(aek_sgemm(0, 0, 2, 2, 0, 1, A, 1, B, 2, 0.5, &C, 2) == 0)
        #expect(C == [0.5, 1, 1.5, 2])
        #expect(aek_sgemm(0, 0, 2, 2, 3, 1, A, 1, B, 2, 0, &C, 2) == Int32(AEK_ERR_ARG))
        #expect(aek_sgemm(0, 0, -1, 2, 3, 1, A, 3, B, 2, 0, &C, 2) == Int32(AEK_ERR_ARG))
        #expect(C == [0.5, 1, 1.5, 2])
    }

    @Test("CPU detection agrees with itself and the SIMD level is named")
    func cpu() {
        let f = aek_cpu_detect()
        let level = String(cString: aek_cpu_simd_level(f))
        #expect(["avx512", "avx2", "avx", "sse4.2", "baseline"].contains(level))
        if f.avx512f != 0 && f.avx512bw != 0 && f.avx512vl != 0 && f.avx512dq != 0 { #expect(level == "avx512") }
    }
}
