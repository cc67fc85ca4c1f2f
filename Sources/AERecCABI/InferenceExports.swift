// Inference on a fitted model: top-k recommendation with exclusions, raw scores, latent codes and
// full-ranking evaluation. Every call here is a reader: many may run at once on one model.
import AERec
import AERecKernels

/// Bytes of score buffer a batch may use.
private let scoreBufferBytes = 64 << 20

/// Rows per batch so that a batch's `width`-float buffer stays near `scoreBufferBytes`.
func batchRows(width: Int, total: Int) -> Int {
    max(1, min(total, scoreBufferBytes / max(1, width * 4)))
}

/// Checks optional per-row training rows against the model's training users.
func trainRowsArgument(_ p: UnsafePointer<Int32>?, rows: Int, userCount: Int) throws -> [Int32]? {
    guard let p else { return nil }
    let t = try copyArray(p, count: rows, "train_rows")
    for (i, u) in t.enumerated() where u < -1 || Int(u) >= userCount {
        throw CABIError.invalid("train_rows[\(i)] is \(u); it must be -1 or a training row in 0..<\(userCount)")
    }
    return t
}

/// Throws for a failed kernel call.
func kernelCheck(_ status: Int32, _ what: String) throws {
    if status != 0 {
        throw CABIError(status: Status.internal, message: "\(what): \(String(cString: aek_status_string(status)))")
    }
}

/// Row-aligned union of two sparse patterns (columns ascending, duplicates kept): the exclusion
/// lists of one batch.
func exclusionRows(_ a: InteractionMatrix?, _ b: InteractionMatrix?, rows: Range<Int>, columns: Int)
    -> (indptr: [Int64], indices: [Int32])
{
    var ptr = [Int64](repeating: 0, count: rows.count + 1)
    var idx: [Int32] = []
    for (j, r) in rows.enumerated() {
        let x = a?.row(r).columns ?? [], y = b?.row(r).columns ?? []
        var i = x.startIndex, k = y.startIndex
        while i < x.endIndex || k < y.endIndex {
            if k == y.endIndex || (i < x.endIndex && x[i] <= y[k]) { idx.append(x[i]); i += 1 } else {
                idx.append(y[k]); k += 1
            }
        }
        ptr[j + 1] = Int64(idx.count)
    }
    return (ptr, idx)
}

@c(aerec_model_recommend)
public func aerecModelRecommend(_ mh: OpaquePointer?, _ histories: UnsafeRawPointer?,
                                _ trainRows: UnsafePointer<Int32>?, _ k: Int64, _ flags: Int32,
                                _ exclude: UnsafeRawPointer?, _ threads: Int64,
                                _ outItems: UnsafeMutablePointer<Int32>?, _ outScores: UnsafeMutablePointer<Float>?)
    -> Int32
{
    guarded {
        let box = try model(mh)
        let x = try csrMatrix(histories, "histories")
        guard k >= 1, k <= Int64(Int32.max) else { throw CABIError.invalid("k is \(k); it must be ≥ 1") }
        guard flags == 0 || flags == 1 else {
            throw CABIError.invalid("flags is \(flags); valid: AEREC_EXCLUDE_NONE (0), AEREC_EXCLUDE_HISTORY (1)")
        }
        let ex = try optionalCSRMatrix(exclude, "exclude")
        let t = try threadsArgument(threads, fallback: box.defaultThreads)
        let items = try required(outItems, "out_items")
        return try box.read { m, s in
            guard x.columnCount == m.itemCount else {
                throw CABIError.invalid("histories has \(x.columnCount) columns; the model scores \(m.itemCount) items")
            }
            if let ex, ex.rowCount != x.rowCount || ex.columnCount != m.itemCount {
                throw CABIError.invalid("exclude is \(ex.rowCount) × \(ex.columnCount); expected \(x.rowCount) × \(m.itemCount)")
            }
            let tr = try trainRowsArgument(trainRows, rows: x.rowCount, userCount: s.trainUserCount)
            let n = x.rowCount, I = m.itemCount, kk = Int(k)
            _ = try byteCount(n, kk * 4, "out_items")
            let batch = batchRows(width: I, total: n)
            var scores = [Float](repeating: 0, count: max(1, batch * I))
            for lo in stride(from: 0, to: n, by: batch) {
                let hi = min(lo + batch, n)
                try scores.withUnsafeMutableBufferPointer { sp in
                    try m.scores(for: x, rows: lo..<hi, trainRows: tr.map { Array($0[lo..<hi]) }, into: sp.baseAddress!,
                                 ld: I, threads: t)
                }
                let (ptr, idx) = exclusionRows(flags == 1 ? x : nil, ex, rows: lo..<hi, columns: I)
                try ptr.withUnsafeBufferPointer { p in
                    try idx.withUnsafeBufferPointer { ix in
                        var view = aek_csr(n_rows: Int64(hi - lo), n_cols: Int64(I), indptr: p.baseAddress,
                                           indices: ix.baseAddress, values: nil)
                        try kernelCheck(aek_topk_rows(Int64(hi - lo), Int64(I), scores, Int64(I), &view, k,
                                                      items + lo * kk, outScores.map { $0 + lo * kk }, nil, Int32(t)),
                                        "top-\(k)")
                    }
                }
            }
            return Status.ok
        }
    }
}

@c(aerec_model_scores)
public func aerecModelScores(_ mh: OpaquePointer?, _ histories: UnsafeRawPointer?, _ trainRows: UnsafePointer<Int32>?,
                             _ threads: Int64, _ out: UnsafeMutablePointer<Float>?) -> Int32 {
    guarded {
        let box = try model(mh)
        let x = try csrMatrix(histories, "histories")
        let t = try threadsArgument(threads, fallback: box.defaultThreads)
        let out = try required(out, "out")
        return try box.read { m, s in
            guard x.columnCount == m.itemCount else {
                throw CABIError.invalid("histories has \(x.columnCount) columns; the model scores \(m.itemCount) items")
            }
            let tr = try trainRowsArgument(trainRows, rows: x.rowCount, userCount: s.trainUserCount)
            let n = x.rowCount, I = m.itemCount
            let batch = batchRows(width: I, total: n)
            for lo in stride(from: 0, to: n, by: batch) {
                let hi = min(lo + batch, n)
                try m.scores(for: x, rows: lo..<hi, trainRows: tr.map { Array($0[lo..<hi]) }, into: out + lo * I, ld: I,
                             threads: t)
            }
            return Status.ok
        }
    }
}

@c(aerec_model_encode)
public func aerecModelEncode(_ mh: OpaquePointer?, _ input: UnsafeRawPointer?, _ threads: Int64,
                             _ out: UnsafeMutablePointer<Float>?) -> Int32 {
    guarded {
        let box = try model(mh)
        guard box.kind.isAutoencoder else {
            throw CABIError.unsupported("\(box.kind.rawValue) has no encoder (encode needs an autoencoder)")
        }
        let x = try csrMatrix(input, "input")
        let t = try threadsArgument(threads, fallback: box.defaultThreads)
        let out = try required(out, "out")
        return try box.read { m, _ in
            guard let ae = m as? any Autoencoder else { throw CABIError.unsupported("\(box.kind.rawValue) has no encoder") }
            guard x.columnCount == ae.inputDimension else {
                throw CABIError.invalid("input has \(x.columnCount) columns; the encoder takes \(ae.inputDimension)")
            }
            let n = x.rowCount, d = ae.latentDimension
            let batch = batchRows(width: max(d, ae.inputDimension / 8), total: n)
            for lo in stride(from: 0, to: n, by: batch) {
                let hi = min(lo + batch, n)
                try ae.encode(x, rows: lo..<hi, into: out + lo * d, ld: d, threads: t)
            }
            return Status.ok
        }
    }
}

/// Parses a comma-separated metric list (nil: the CLI's default set for the kind).
func metricList(_ p: UnsafePointer<CChar>?, kind: ModelKind?) throws -> [Metric] {
    guard let p else {
        if let kind { return ExperimentConfiguration(dataPath: "", model: kind).resolvedMetrics }
        return ExperimentConfiguration.defaultRankingMetrics
    }
    let parts = String(cString: p).split(separator: ",", omittingEmptySubsequences: false)
    var out: [Metric] = []
    for part in parts {
        let name = part.trimmingCharacters(in: " \t")
        guard !name.isEmpty else { throw CABIError.invalid("metrics '\(String(cString: p))' has an empty name") }
        out.append(try Metric(name: name))
    }
    return out
}

private extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

/// Evaluates with the model's defaults for batch and threads.
func evaluate(_ box: ModelBox, on heldOut: HeldOutSet, metrics: UnsafePointer<CChar>?, batchSize: Int64,
              threads: Int64, out: UnsafeMutablePointer<OpaquePointer?>) throws -> Int32 {
    let list = try metricList(metrics, kind: box.kind)
    let t = try threadsArgument(threads, fallback: box.defaultThreads)
    var batch = box.defaultBatch
    if batchSize != -1 && batchSize != 0 {
        guard batchSize >= 1, batchSize <= Int64(Int32.max) else { throw CABIError.invalid("batch_size is \(batchSize)") }
        batch = Int(batchSize)
    }
    let r = try box.read { m, s in
        if heldOut.trainRows.contains(where: { Int($0) >= s.trainUserCount }) {
            throw CABIError.invalid("the held-out set refers to training rows the model does not have (\(s.trainUserCount) training users)")
        }
        try requireMemory(try byteCount(min(batch, heldOut.count), m.itemCount * 4, "score buffer"), "evaluation score buffer")
        return try Evaluator(metrics: list, batchSize: batch, threads: t).evaluate(m, on: heldOut)
    }
    try newHandle(ResultBox(r), .result, into: out)
    return Status.ok
}

@c(aerec_model_evaluate)
public func aerecModelEvaluate(_ mh: OpaquePointer?, _ sp: OpaquePointer?, _ heldout: Int32,
                               _ metrics: UnsafePointer<CChar>?, _ batchSize: Int64, _ threads: Int64,
                               _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let out = try outHandle(out)
        let box = try model(mh)
        let h = try heldOutSet(try split(sp).split, heldout)
        return try evaluate(box, on: h, metrics: metrics, batchSize: batchSize, threads: threads, out: out)
    }
}

@c(aerec_model_evaluate_csr)
public func aerecModelEvaluateCSR(_ mh: OpaquePointer?, _ foldIn: UnsafeRawPointer?, _ target: UnsafeRawPointer?,
                                  _ trainRows: UnsafePointer<Int32>?, _ metrics: UnsafePointer<CChar>?,
                                  _ batchSize: Int64, _ threads: Int64,
                                  _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let out = try outHandle(out)
        let box = try model(mh)
        let f = try csrMatrix(foldIn, "fold_in"), t = try csrMatrix(target, "target")
        guard f.rowCount == t.rowCount, f.columnCount == t.columnCount else {
            throw CABIError.invalid("fold_in is \(f.rowCount) × \(f.columnCount), target \(t.rowCount) × \(t.columnCount); they must match")
        }
        let tr = try trainRows.map { try copyArray($0, count: f.rowCount, "train_rows") }
            ?? [Int32](repeating: -1, count: f.rowCount)
        if let bad = tr.firstIndex(where: { $0 < -1 }) { throw CABIError.invalid("train_rows[\(bad)] is \(tr[bad])") }
        let h = HeldOutSet(users: (0..<f.rowCount).map { Int32($0) }, trainRows: tr, foldIn: f, target: t)
        return try evaluate(box, on: h, metrics: metrics, batchSize: batchSize, threads: threads, out: out)
    }
}
