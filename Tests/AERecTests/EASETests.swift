import Foundation
import Testing
@testable import AERec

/// EASE's closed form against a plain float64 Gauss-Jordan reference on small random data: the
/// sparse Gram matrix, both solves (float32 in place, float64 in a copy), diag(B) = 0, the scores,
/// the memory estimate of each precision, and the configuration in model files.
@Suite("EASE")
struct EASETests {
    /// B = I − P·diag(1/diag P), P = (XᵀX + λI)⁻¹, diag(B) = 0, in float64 from the dense matrix.
    static func reference(_ x: InteractionMatrix, lambda: Double) -> [Double] {
        let n = x.columnCount
        var g = [Double](repeating: 0, count: n * n)
        for u in 0..<x.rowCount {
            let items = x.row(u).columns
            for a in items { for b in items { g[Int(a) * n + Int(b)] += 1 } }
        }
        for i in 0..<n { g[i * n + i] += lambda }
        // Gauss-Jordan with partial pivoting on [G | I]
        var aug = [Double](repeating: 0, count: n * 2 * n)
        for i in 0..<n {
            for j in 0..<n { aug[i * 2 * n + j] = g[i * n + j] }
            aug[i * 2 * n + n + i] = 1
        }
        for c in 0..<n {
            var p = c
            for r in c..<n where abs(aug[r * 2 * n + c]) > abs(aug[p * 2 * n + c]) { p = r }
            if p != c { for j in 0..<(2 * n) { aug.swapAt(c * 2 * n + j, p * 2 * n + j) } }
            let d = aug[c * 2 * n + c]
            for j in 0..<(2 * n) { aug[c * 2 * n + j] /= d }
            for r in 0..<n where r != c {
                let f = aug[r * 2 * n + c]
                if f != 0 { for j in 0..<(2 * n) { aug[r * 2 * n + j] -= f * aug[c * 2 * n + j] } }
            }
        }
        var b = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n where i != j { b[i * n + j] = -aug[i * 2 * n + n + j] / aug[j * 2 * n + n + j] }
        }
        return b
    }

    static func fitted(_ x: InteractionMatrix, lambda: Float, precision: EASEPrecision, threads: Int = 2) throws -> EASE {
        let m = try EASE(itemCount: x.columnCount, configuration: EASEConfiguration(lambda: lambda, precision: precision))
        try m.fit(x, options: TrainingOptions(epochs: 1, seed: 1, threads: threads))
        return m
    }

    @Test("both solves match the float64 reference; float64 to float32 rounding, float32 to ~1e-5 of the scale",
          arguments: [(users: 80, items: 30, density: 0.2, lambda: Float(3)), (users: 200, items: 64, density: 0.1, lambda: Float(0.5)),
                      (users: 5, items: 17, density: 0.5, lambda: Float(10))])
    func solves(users: Int, items: Int, density: Double, lambda: Float) throws {
        let x = try AutoencoderModelTests.matrix(users: users, items: items, density: density, seed: UInt64(items))
        let ref = Self.reference(x, lambda: Double(lambda))
        let scale = ref.map(abs).max()!
        #expect(scale > 0)
        var err32 = 0.0, err64 = 0.0, roundingOK = true
        let b32 = try Self.fitted(x, lambda: lambda, precision: .float32).weights.array
        let b64 = try Self.fitted(x, lambda: lambda, precision: .float64).weights.array
        for k in 0..<(items * items) {
            err32 = max(err32, abs(Double(b32[k]) - ref[k]))
            err64 = max(err64, abs(Double(b64[k]) - ref[k]))
            // float64 solve: B rounded to float32 once, so within one float32 ulp of the exact value
            if abs(Double(b64[k]) - ref[k]) > max(Double(Float(ref[k]).ulp), 1e-12 * scale) { roundingOK = false }
        }
        for i in 0..<items { #expect(b32[i * items + i] == 0 && b64[i * items + i] == 0) }
        #expect(roundingOK, "float64 solve off by more than one float32 ulp (max error \(err64))")
        #expect(err32 <= 1e-5 * scale, "float32 solve error \(err32) vs scale \(scale)")
        #expect(err64 <= err32)
    }

    @Test("refits with the same thread count give the same bits (OpenBLAS's LAPACK rounds differently per thread count); the scores are x·B")
    func threadsAndScores() throws {
        let x = try AutoencoderModelTests.matrix(users: 120, items: 40, density: 0.15, seed: 9)
        for precision in EASEPrecision.allCases {
            let m1 = try Self.fitted(x, lambda: 2, precision: precision, threads: 1)
            let m2 = try Self.fitted(x, lambda: 2, precision: precision, threads: 2)
            let again = try Self.fitted(x, lambda: 2, precision: precision, threads: 2)
            let same = again.weights.array == m2.weights.array
            #expect(same, "\(precision): two fits with 2 threads differ")
            let gap = zip(m1.weights.array, m2.weights.array).map { abs(Double($0) - Double($1)) }.max() ?? 0
            #expect(gap <= 1e-5, "\(precision): 1 and 2 threads differ by \(gap)")
            let b = m2.weights.array
            var out = [Float](repeating: .nan, count: 7 * 40)
            try out.withUnsafeMutableBufferPointer { o in
                try m2.scores(for: x, rows: 3..<10, trainRows: nil, into: o.baseAddress!, ld: 40, threads: 2)
            }
            var worst = 0.0, exact = true
            for (r, u) in (3..<10).enumerated() {
                for j in 0..<40 {
                    var s = 0.0
                    for i in x.row(u).columns { s += Double(b[Int(i) * 40 + j]) }
                    worst = max(worst, abs(Double(out[r * 40 + j]) - s))
                    if out[r * 40 + j].bitPattern != Float(s).bitPattern { exact = false }
                }
            }
            #expect(worst <= 1e-5, "\(precision): scores differ from x·B by \(worst)")
            // the float64 model sums its float32 weights in float64 and rounds once
            if precision == .float64 { #expect(exact, "float64 scores are not the rounded float64 sums") }
        }
    }

    @Test("a singular Gram matrix with λ = 0 is a numerical error in both precisions, not NaN weights")
    func singular() throws {
        // item 2 is never seen: its Gram row and column are zero
        let x = try InteractionMatrix(rowCount: 3, columnCount: 3, rows: [0, 1, 2], columns: [0, 1, 0], values: nil)
        for precision in EASEPrecision.allCases {
            #expect(throws: AERecError.self, "\(precision)") { try Self.fitted(x, lambda: 0, precision: precision) }
        }
    }

    @Test("the float64 solve's memory estimate adds the float64 copy; precision travels in model files")
    func memoryAndFiles() throws {
        let e32 = EASE.memoryEstimate(itemCount: 1000)
        let e64 = EASE.memoryEstimate(itemCount: 1000, configuration: EASEConfiguration(lambda: 1, precision: .float64))
        #expect(e32.total == 4_000_000 && e64.total == 12_000_000)
        // what fit adds to the resident weights: the float64 copy only
        #expect(EASE.solveWorkspaceEstimate(itemCount: 1000, configuration: EASEConfiguration(lambda: 1, precision: .float64)).total
                == 8_000_000)
        #expect(EASE.solveWorkspaceEstimate(itemCount: 1000, configuration: EASEConfiguration(lambda: 1)).total == 0)
        let x = try AutoencoderModelTests.matrix(users: 50, items: 12, density: 0.3, seed: 4)
        let m = try Self.fitted(x, lambda: 1, precision: .float64)
        let path = DataFixtures.tempDir() + "/e.aerec"
        try m.save(to: path)
        let back = try EASE.restore(from: ModelFile.read(path: path))
        #expect(back.configuration == m.configuration && back.configuration.precision == .float64)
        #expect(back.weights.array == m.weights.array)
        // a precision on another model is refused, not ignored
        var c = ExperimentConfiguration(dataPath: "-", model: .multDAE)
        c.easePrecision = .float64
        #expect(throws: AERecError.self) { try ModelFactory.validate(c) }
        #expect(throws: AERecError.self) { try ModelFactory.make(c, itemCount: 12, userCount: 50, batchesPerEpoch: 1) }
        c.model = .ease
        #expect((try ModelFactory.make(c, itemCount: 12, userCount: 50, batchesPerEpoch: 1) as? EASE)?.configuration.precision == .float64)
        // configurations written before the precision existed read as float32
        let old = try JSONDecoder().decode(EASEConfiguration.self, from: Data(#"{"lambda":200}"#.utf8))
        #expect(old == EASEConfiguration(lambda: 200, precision: .float32))
    }
}
