import AERecKernels

/// A mini-batch of rows gathered from an InteractionMatrix into reused buffers (no allocation per
/// batch once the buffers have grown to the largest batch), plus a second value array for the
/// transformed input (L2-normalised, dropped out, corrupted...).
struct SparseBatch {
    private(set) var rowCount = 0
    private(set) var nnz = 0
    let columnCount: Int
    var indptr: Scratch<Int64>
    var indices: Scratch<Int32>
    /// The rows' stored values (1 for implicit matrices).
    var values: Scratch<Float>
    /// The model's input values (same pattern), filled by the model.
    var input: Scratch<Float>
    /// Row keys for counter-based randomness (the rows' indices in the source matrix).
    var keys: Scratch<Int64>

    init(columnCount: Int, rowCapacity: Int = 512, nnzCapacity: Int = 4096) {
        self.columnCount = columnCount
        indptr = Scratch(rowCapacity + 1, fill: 0)
        indices = Scratch(nnzCapacity, fill: 0)
        values = Scratch(nnzCapacity, fill: 0)
        input = Scratch(nnzCapacity, fill: 0)
        keys = Scratch(rowCapacity, fill: 0)
    }

    func free() {
        indptr.free(); indices.free(); values.free(); input.free(); keys.free()
    }

    /// Loads the given rows of m (in the given order).
    mutating func load(_ m: InteractionMatrix, rows: UnsafeBufferPointer<Int32>) {
        var total = 0
        m.indptr.withUnsafeBufferPointer { p in
            for r in rows { total += Int(p[Int(r) + 1] - p[Int(r)]) }
        }
        indptr.reserve(rows.count + 1, fill: 0)
        keys.reserve(rows.count, fill: 0)
        indices.reserve(total, fill: 0)
        values.reserve(total, fill: 0)
        input.reserve(total, fill: 0)
        rowCount = rows.count
        nnz = total
        let ip = indptr.storage, ix = indices.storage, vv = values.storage, ks = keys.storage
        m.indptr.withUnsafeBufferPointer { p in
            m.indices.withUnsafeBufferPointer { idx in
                var pos = 0
                ip[0] = 0
                for (j, r) in rows.enumerated() {
                    let lo = Int(p[Int(r)]), hi = Int(p[Int(r) + 1])
                    (ix + pos).update(from: idx.baseAddress! + lo, count: hi - lo)
                    if let mv = m.values {
                        mv.withUnsafeBufferPointer { (vv + pos).update(from: $0.baseAddress! + lo, count: hi - lo) }
                    } else {
                        (vv + pos).update(repeating: 1, count: hi - lo)
                    }
                    pos += hi - lo
                    ip[j + 1] = Int64(pos)
                    ks[j] = Int64(r)
                }
            }
        }
    }

    /// Loads rows lo..<hi of m.
    mutating func load(_ m: InteractionMatrix, range: Range<Int>) {
        let rows = range.map { Int32($0) }
        rows.withUnsafeBufferPointer { load(m, rows: $0) }
    }

    /// Kernel view with the stored values.
    var valuesView: aek_csr {
        aek_csr(n_rows: Int64(rowCount), n_cols: Int64(columnCount), indptr: indptr.storage,
                indices: indices.storage, values: values.storage)
    }

    /// Kernel view with the model-input values.
    var inputView: aek_csr {
        aek_csr(n_rows: Int64(rowCount), n_cols: Int64(columnCount), indptr: indptr.storage,
                indices: indices.storage, values: input.storage)
    }

    /// Kernel view with implicit ones.
    var patternView: aek_csr {
        aek_csr(n_rows: Int64(rowCount), n_cols: Int64(columnCount), indptr: indptr.storage,
                indices: indices.storage, values: nil)
    }

    /// input = values / ‖row‖₂ (as Liang et al.'s tf.nn.l2_normalize), on binarized values if `binary`.
    mutating func normalizeInput(binary: Bool) throws {
        let view = binary ? patternView : valuesView
        try check(aek_csr_row_l2_normalize(view, 1e-12, input.storage), "l2 normalize")
    }

    /// input = values (or 1s when `binary`).
    mutating func copyInput(binary: Bool) {
        if binary { input.storage.update(repeating: 1, count: nnz) } else {
            input.storage.update(from: values.storage, count: nnz)
        }
    }

    /// Inverted dropout on the input, keyed by (seed, stream, source row, column).
    mutating func dropoutInput(_ p: Float, seed: UInt64, stream: UInt64) throws {
        guard p > 0 else { return }
        try check(aek_dropout_csr(inputView, p, seed, stream, keys.storage, input.storage), "dropout")
    }
}
