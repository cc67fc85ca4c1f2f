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

/// The exclusion matrix for `rows` users: the history's pattern (when `history` is given) and
/// `extra`'s, merged (duplicates are merged by the matrix constructor).
func exclusionMatrix(_ history: InteractionMatrix?, _ extra: InteractionMatrix, columns: Int) throws -> InteractionMatrix {
    var r: [Int32] = [], c: [Int32] = []
    for m in [history, extra].compactMap({ $0 }) {
        for row in 0..<m.rowCount {
            for col in m.row(row).columns { r.append(Int32(row)); c.append(col) }
        }
    }
    return try InteractionMatrix(rowCount: extra.rowCount, columnCount: columns, rows: r, columns: c, values: nil)
}

/// Writes top-k lists (each possibly shorter than k) into n × k arrays, padding with -1 / -inf.
func writeLists(_ lists: [[(item: Int32, score: Float)]], k: Int, items: UnsafeMutablePointer<Int32>,
                scores: UnsafeMutablePointer<Float>?) {
    for (r, list) in lists.enumerated() {
        for j in 0..<k {
            let e = j < list.count ? list[j] : (item: Int32(-1), score: -Float.infinity)
            items[r * k + j] = e.item
            scores?[r * k + j] = e.score
        }
    }
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
            _ = try byteCount(x.rowCount, Int(k) * 4, "out_items")
            // the library's top-k: exclusions = the history (flag), plus `exclude`
            let excluded = try ex.map { try exclusionMatrix(flags == 1 ? x : nil, $0, columns: m.itemCount) }
            let lists = try Recommendations.topK(m, history: x, exclude: excluded, trainRows: tr, k: Int(k),
                                                 excludeSeen: flags == 1 || ex != nil,
                                                 batchSize: batchRows(width: m.itemCount, total: x.rowCount), threads: t)
            writeLists(lists, k: Int(k), items: items, scores: outScores)
            return Status.ok
        }
    }
}

@c(aerec_model_recommend_ids)
public func aerecModelRecommendIDs(_ mh: OpaquePointer?, _ history: OpaquePointer?, _ alsoExclude: OpaquePointer?,
                                   _ users: UnsafePointer<UnsafePointer<CChar>?>?, _ nUsers: Int64, _ k: Int64,
                                   _ threads: Int64, _ outItems: UnsafeMutablePointer<Int32>?,
                                   _ outScores: UnsafeMutablePointer<Float>?,
                                   _ outHistoryItems: UnsafeMutablePointer<Int64>?,
                                   _ outUnknownItems: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        let box = try model(mh)
        let h = try dataset(history, "history").data
        let extra = try alsoExclude.map { try dataset($0, "also_exclude").data }
        guard nUsers >= 1, nUsers <= Int64(Int32.max) else { throw CABIError.invalid("n_users is \(nUsers); it must be ≥ 1") }
        let ids = try copyStrings(users, count: Int(nUsers), "users")
        guard k >= 1, k <= Int64(Int32.max) else { throw CABIError.invalid("k is \(k); it must be ≥ 1") }
        let t = try threadsArgument(threads, fallback: box.defaultThreads)
        let items = try required(outItems, "out_items")
        _ = try byteCount(Int(nUsers), Int(k) * 4, "out_items")
        return try box.read { m, s in
            let itemIDs = try s.itemIDs ?? IDMap(ids: (0..<m.itemCount).map(String.init))
            guard itemIDs.count == m.itemCount else {
                throw CABIError.state("the model's item ids do not match its \(m.itemCount) items")
            }
            let saved = SavedModel(path: "", model: m, itemIDs: itemIDs, userIDs: s.userIDs, metadata: s.metadata)
            let lists = try saved.recommend(users: ids, history: h, alsoExclude: extra, k: Int(k), threads: t)
            for (r, u) in lists.enumerated() {
                for j in 0..<Int(k) {
                    let rec = j < u.items.count ? u.items[j] : nil
                    items[r * Int(k) + j] = rec.flatMap { itemIDs.index(of: $0.item) } ?? -1
                    outScores?[r * Int(k) + j] = rec?.score ?? -Float.infinity
                }
                outHistoryItems?[r] = Int64(u.historyItems)
                outUnknownItems?[r] = Int64(u.unknownHistoryItems)
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
