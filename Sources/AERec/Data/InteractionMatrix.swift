import AERecKernels

/// A sparse users × items matrix in compressed sparse row (CSR) form. Never densified.
///
/// Invariants (checked on construction): `indptr` has `rowCount + 1` non-decreasing entries from 0
/// to `nnz`; each row's column indices are strictly ascending and in `0..<columnCount`; `values`
/// is nil (every stored entry is 1: implicit feedback) or has `nnz` finite entries.
public struct InteractionMatrix: Sendable, Equatable {
    public let rowCount: Int
    public let columnCount: Int
    public private(set) var indptr: [Int64]
    public private(set) var indices: [Int32]
    /// Stored values, or nil for implicit ones.
    public private(set) var values: [Float]?

    /// Number of stored entries.
    public var nnz: Int { indices.count }

    /// Builds a matrix from CSR arrays, checking every invariant.
    public init(rowCount: Int, columnCount: Int, indptr: [Int64], indices: [Int32], values: [Float]?) throws {
        guard rowCount >= 0, columnCount >= 0, columnCount <= Int(Int32.max) else {
            throw AERecError.invalidArgument("matrix shape \(rowCount) × \(columnCount)")
        }
        guard indptr.count == rowCount + 1, indptr.first == 0, indptr.last == Int64(indices.count) else {
            throw AERecError.invalidArgument("indptr must have \(rowCount + 1) entries from 0 to nnz \(indices.count)")
        }
        if let v = values {
            guard v.count == indices.count else {
                throw AERecError.invalidArgument("values has \(v.count) entries, indices \(indices.count)")
            }
            guard v.allSatisfy({ $0.isFinite }) else { throw AERecError.invalidArgument("non-finite value in matrix") }
        }
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.indptr = indptr
        self.indices = indices
        self.values = values
        let ok = withKernelView { aek_csr_validate($0, 1) == 0 }
        guard ok else {
            throw AERecError.invalidArgument("CSR rows must hold strictly ascending column indices in 0..<\(columnCount)")
        }
    }

    /// Builds without checks (internal: callers guarantee the invariants).
    init(unchecked rowCount: Int, _ columnCount: Int, _ indptr: [Int64], _ indices: [Int32], _ values: [Float]?) {
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.indptr = indptr
        self.indices = indices
        self.values = values
    }

    /// An empty rowCount × columnCount matrix.
    public static func empty(rowCount: Int, columnCount: Int) -> InteractionMatrix {
        InteractionMatrix(unchecked: rowCount, columnCount, [Int64](repeating: 0, count: rowCount + 1), [], nil)
    }

    /// Builds from coordinate triples. When a (row, column) pair occurs more than once the last
    /// occurrence wins; `duplicates` (if given) receives how many were dropped.
    public init(rowCount: Int, columnCount: Int, rows: [Int32], columns: [Int32], values: [Float]?,
                duplicates: UnsafeMutablePointer<Int>? = nil) throws {
        guard rows.count == columns.count, values == nil || values!.count == rows.count else {
            throw AERecError.invalidArgument("coordinate arrays differ in length")
        }
        let n = rows.count
        var counts = [Int64](repeating: 0, count: rowCount + 1)
        for i in 0..<n {
            let r = Int(rows[i]), c = Int(columns[i])
            guard r >= 0, r < rowCount, c >= 0, c < columnCount else {
                throw AERecError.invalidArgument("coordinate (\(r), \(c)) outside \(rowCount) × \(columnCount)")
            }
            counts[r + 1] += 1
        }
        for r in 0..<rowCount { counts[r + 1] += counts[r] }
        // stable bucket by row: entries of a row keep their input order
        var order = [Int32](repeating: 0, count: n)
        var next = counts
        for i in 0..<n {
            let r = Int(rows[i])
            order[Int(next[r])] = Int32(i)
            next[r] += 1
        }
        var outPtr = [Int64](repeating: 0, count: rowCount + 1)
        var outIdx = [Int32](); outIdx.reserveCapacity(n)
        var outVal: [Float]? = values == nil ? nil : []
        outVal?.reserveCapacity(n)
        var dropped = 0
        var scratch: [(col: Int32, pos: Int32)] = []
        for r in 0..<rowCount {
            let lo = Int(counts[r]), hi = Int(counts[r + 1])
            scratch.removeAll(keepingCapacity: true)
            for p in lo..<hi { scratch.append((columns[Int(order[p])], order[p])) }
            // sort by column, later input position last, then keep the last of each column
            scratch.sort { $0.col != $1.col ? $0.col < $1.col : $0.pos < $1.pos }
            var j = 0
            while j < scratch.count {
                var last = j
                while last + 1 < scratch.count && scratch[last + 1].col == scratch[j].col { last += 1 }
                dropped += last - j
                outIdx.append(scratch[last].col)
                if let v = values { outVal!.append(v[Int(scratch[last].pos)]) }
                j = last + 1
            }
            outPtr[r + 1] = Int64(outIdx.count)
        }
        duplicates?.pointee = dropped
        try self.init(rowCount: rowCount, columnCount: columnCount, indptr: outPtr, indices: outIdx, values: outVal)
    }

    /// Column indices and values (nil: implicit ones) of row r.
    public func row(_ r: Int) -> (columns: ArraySlice<Int32>, values: ArraySlice<Float>?) {
        let lo = Int(indptr[r]), hi = Int(indptr[r + 1])
        return (indices[lo..<hi], values?[lo..<hi])
    }

    /// Number of stored entries in row r.
    public func count(ofRow r: Int) -> Int { Int(indptr[r + 1] - indptr[r]) }

    /// Entries per row.
    public var rowCounts: [Int] { (0..<rowCount).map { count(ofRow: $0) } }

    /// Entries per column.
    public var columnCounts: [Int] {
        var c = [Int](repeating: 0, count: columnCount)
        indices.withUnsafeBufferPointer { idx in for i in idx { c[Int(i)] += 1 } }
        return c
    }

    /// The value at (r, c) or 0.
    public subscript(r: Int, c: Int) -> Float {
        let lo = Int(indptr[r]), hi = Int(indptr[r + 1])
        var a = lo, b = hi
        while a < b {
            let m = (a + b) / 2
            if indices[m] < Int32(c) { a = m + 1 } else { b = m }
        }
        guard a < hi, indices[a] == Int32(c) else { return 0 }
        return values?[a] ?? 1
    }

    /// The same pattern with every value 1 (implicit feedback).
    public func binarized() -> InteractionMatrix {
        InteractionMatrix(unchecked: rowCount, columnCount, indptr, indices, nil)
    }

    /// The value of entry k (1 for implicit matrices).
    @inline(__always) public func value(at k: Int) -> Float { values?[k] ?? 1 }

    /// A new matrix holding the given rows in the given order.
    public func rows(_ selected: [Int]) -> InteractionMatrix {
        var ptr = [Int64](repeating: 0, count: selected.count + 1)
        for (j, r) in selected.enumerated() { ptr[j + 1] = ptr[j] + indptr[r + 1] - indptr[r] }
        let total = Int(ptr[selected.count])
        var idx = [Int32](repeating: 0, count: total)
        var val: [Float]? = values == nil ? nil : [Float](repeating: 0, count: total)
        for (j, r) in selected.enumerated() {
            let lo = Int(indptr[r]), hi = Int(indptr[r + 1]), dst = Int(ptr[j])
            for p in lo..<hi {
                idx[dst + p - lo] = indices[p]
                if let v = values { val![dst + p - lo] = v[p] }
            }
        }
        return InteractionMatrix(unchecked: selected.count, columnCount, ptr, idx, val)
    }

    /// The transpose (items × users), still CSR.
    public func transposed() -> InteractionMatrix {
        var ptr = [Int64](repeating: 0, count: columnCount + 1)
        for c in indices { ptr[Int(c) + 1] += 1 }
        for c in 0..<columnCount { ptr[c + 1] += ptr[c] }
        var next = ptr
        var idx = [Int32](repeating: 0, count: nnz)
        var val: [Float]? = values == nil ? nil : [Float](repeating: 0, count: nnz)
        for r in 0..<rowCount {
            for p in Int(indptr[r])..<Int(indptr[r + 1]) {
                let c = Int(indices[p])
                let dst = Int(next[c])
                idx[dst] = Int32(r)
                if let v = values { val![dst] = v[p] }
                next[c] += 1
            }
        }
        return InteractionMatrix(unchecked: columnCount, rowCount, ptr, idx, val)
    }

    /// Keeps the columns with `keep[c]`, renumbered in order; rows are kept (possibly emptied).
    public func keepingColumns(_ keep: [Bool]) -> InteractionMatrix {
        var remap = [Int32](repeating: -1, count: columnCount)
        var n: Int32 = 0
        for c in 0..<columnCount where keep[c] { remap[c] = n; n += 1 }
        var ptr = [Int64](repeating: 0, count: rowCount + 1)
        var idx = [Int32](); idx.reserveCapacity(nnz)
        var val: [Float]? = values == nil ? nil : []
        for r in 0..<rowCount {
            for p in Int(indptr[r])..<Int(indptr[r + 1]) {
                let m = remap[Int(indices[p])]
                if m >= 0 {
                    idx.append(m)
                    if let v = values { val!.append(v[p]) }
                }
            }
            ptr[r + 1] = Int64(idx.count)
        }
        return InteractionMatrix(unchecked: rowCount, Int(n), ptr, idx, val)
    }

    /// Calls `body` with a kernel view of rows `rows` (all rows by default). The view is only
    /// valid inside `body`.
    public func withKernelView<R>(rows: Range<Int>? = nil, _ body: (aek_csr) throws -> R) rethrows -> R {
        let range = rows ?? 0..<rowCount
        return try indptr.withUnsafeBufferPointer { p in
            try indices.withUnsafeBufferPointer { i in
                if let values {
                    return try values.withUnsafeBufferPointer { v in
                        try body(aek_csr(n_rows: Int64(range.count), n_cols: Int64(columnCount),
                                         indptr: p.baseAddress! + range.lowerBound, indices: i.baseAddress,
                                         values: v.baseAddress))
                    }
                }
                return try body(aek_csr(n_rows: Int64(range.count), n_cols: Int64(columnCount),
                                        indptr: p.baseAddress! + range.lowerBound, indices: i.baseAddress,
                                        values: nil))
            }
        }
    }
}
