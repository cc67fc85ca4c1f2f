// Datasets: read from files, built from COO or CSR arrays, filtered, inspected, copied out.
import AERec

/// Reads an aerec_filter (NULL: keep everything).
func readFilter(_ raw: UnsafeRawPointer?, _ argument: String) throws -> InteractionFilter? {
    guard let raw else { return nil }
    let f = try inputStruct(raw, size: StructSize.filter, name: "aerec_filter", argument: argument)
    var threshold: Float? = nil
    if f.i64(8) != 0 {
        let t = try finite(f.f64(16), "\(argument).threshold")
        threshold = Float(t)
    }
    let minUser = f.i64(24), minItem = f.i64(32)
    guard minUser >= 0, minItem >= 0, minUser <= Int64(Int32.max), minItem <= Int64(Int32.max) else {
        throw CABIError.invalid("\(argument): minimum interaction counts must be in 0...\(Int32.max) (user \(minUser), item \(minItem))")
    }
    return InteractionFilter(threshold: threshold, minUserInteractions: Int(minUser), minItemInteractions: Int(minItem),
                             kCore: f.i64(40) != 0, binarize: f.i64(48) != 0)
}

/// An id map from caller strings, or "0", "1", ... when none are given.
func idMap(_ p: UnsafePointer<UnsafePointer<CChar>?>?, count: Int, _ argument: String) throws -> IDMap {
    if p == nil { return try IDMap(ids: (0..<count).map(String.init)) }
    do {
        return try IDMap(ids: try copyStrings(p, count: count, argument))
    } catch let e as AERecError {
        throw CABIError.invalid("\(argument): \(e.description)")
    }
}

@c(aerec_filter_init)
public func aerecFilterInit(_ filter: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let p = try required(filter, "filter")
        _ = initStruct(p, size: StructSize.filter)
        return Status.ok
    }
}

@c(aerec_dataset_read)
public func aerecDatasetRead(_ path: UnsafePointer<CChar>?, _ format: UnsafePointer<CChar>?,
                             _ filter: UnsafeRawPointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let out = try outHandle(out)
        let path = try requiredString(path, "path")
        let format = try Experiment.parseFormat(format.map { String(cString: $0) } ?? "auto")
        let f = try readFilter(filter, "filter")
        var data = try InteractionReader.read(path: path, format: format)
        if let f { data = try f.apply(to: data) }
        try newHandle(DatasetBox(data), .dataset, into: out)
        return Status.ok
    }
}

@c(aerec_dataset_from_coo)
public func aerecDatasetFromCOO(_ users: UnsafePointer<Int32>?, _ items: UnsafePointer<Int32>?,
                                _ values: UnsafePointer<Float>?, _ timestamps: UnsafePointer<Int64>?, _ count: Int64,
                                _ nUsers: Int64, _ nItems: Int64, _ userIDs: UnsafePointer<UnsafePointer<CChar>?>?,
                                _ itemIDs: UnsafePointer<UnsafePointer<CChar>?>?,
                                _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let out = try outHandle(out)
        guard count >= 0, count <= Int64(Int32.max) * 64 else { throw CABIError.invalid("count is \(count)") }
        guard count > 0 else { throw AERecError.data("a dataset needs at least one interaction (count is 0)") }
        let n = Int(count)
        let u = try copyArray(try required(users, "users"), count: n, "users")
        let i = try copyArray(try required(items, "items"), count: n, "items")
        var v = [Float](repeating: 1, count: n)
        if values != nil {
            v = try copyArray(values, count: n, "values")
            if let k = v.firstIndex(where: { !$0.isFinite }) {
                throw CABIError.invalid("values[\(k)] is \(v[k]); values must be finite")
            }
        }
        let t: [Int64]? = timestamps == nil ? nil : try copyArray(timestamps, count: n, "timestamps")
        func space(_ declared: Int64, _ idx: [Int32], _ name: String) throws -> Int {
            let lo = idx.min()!, hi = idx.max()!
            guard lo >= 0 else { throw CABIError.invalid("\(name) holds a negative index (\(lo))") }
            if declared == -1 { return Int(hi) + 1 }
            guard declared >= 1, declared <= Int64(Int32.max) else {
                throw CABIError.invalid("n_\(name) is \(declared); use AEREC_DEFAULT or a count in 1...\(Int32.max)")
            }
            guard Int64(hi) < declared else {
                throw CABIError.invalid("\(name) holds index \(hi), outside 0..<\(declared) (n_\(name))")
            }
            return Int(declared)
        }
        let userCount = try space(nUsers, u, "users"), itemCount = try space(nItems, i, "items")
        try requireMemory(96 * (userCount + itemCount), "id maps of \(userCount) users and \(itemCount) items")
        let data = Interactions(users: u, items: i, values: v, timestamps: t,
                                userIDs: try idMap(userIDs, count: userCount, "user_ids"),
                                itemIDs: try idMap(itemIDs, count: itemCount, "item_ids"))
        try newHandle(DatasetBox(data), .dataset, into: out)
        return Status.ok
    }
}

@c(aerec_dataset_from_csr)
public func aerecDatasetFromCSR(_ matrix: UnsafeRawPointer?, _ userIDs: UnsafePointer<UnsafePointer<CChar>?>?,
                                _ itemIDs: UnsafePointer<UnsafePointer<CChar>?>?,
                                _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let out = try outHandle(out)
        let m = try CSRArrays(matrix, "matrix")
        guard m.nnz > 0 else { throw AERecError.data("a dataset needs at least one interaction (the matrix is empty)") }
        var users = [Int32](repeating: 0, count: m.nnz)
        for r in 0..<m.rows { for k in m.row(r) { users[k] = Int32(r) } }
        let data = Interactions(users: users, items: m.indices, values: m.values ?? [Float](repeating: 1, count: m.nnz),
                                timestamps: nil, userIDs: try idMap(userIDs, count: m.rows, "user_ids"),
                                itemIDs: try idMap(itemIDs, count: m.cols, "item_ids"))
        try newHandle(DatasetBox(data), .dataset, into: out)
        return Status.ok
    }
}

@c(aerec_dataset_filter)
public func aerecDatasetFilter(_ ds: OpaquePointer?, _ filter: UnsafeRawPointer?,
                               _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let out = try outHandle(out)
        let d = try dataset(ds)
        let f = try required(try readFilter(filter, "filter"), "filter")
        try newHandle(DatasetBox(try f.apply(to: d.data)), .dataset, into: out)
        return Status.ok
    }
}

@c(aerec_dataset_info_get)
public func aerecDatasetInfoGet(_ ds: OpaquePointer?, _ out: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let d = try dataset(ds).data
        let o = try outputStruct(out, size: StructSize.datasetInfo, name: "aerec_dataset_info", argument: "out")
        o.set(8, d.userIDs.count)
        o.set(16, d.itemIDs.count)
        o.set(24, d.count)
        o.set(32, d.timestamps != nil)
        o.set(40, d.report.linesRead)
        o.set(48, d.report.duplicatesDropped)
        o.set(56, d.report.belowThreshold)
        o.set(64, d.report.droppedByCountFilter)
        o.set(72, d.report.usersDropped)
        o.set(80, d.report.itemsDropped)
        return Status.ok
    }
}

@c(aerec_dataset_matrix_info)
public func aerecDatasetMatrixInfo(_ ds: OpaquePointer?, _ out: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        try writeMatrixInfo(try dataset(ds).matrix(), out)
        return Status.ok
    }
}

@c(aerec_dataset_matrix_copy)
public func aerecDatasetMatrixCopy(_ ds: OpaquePointer?, _ indptr: UnsafeMutablePointer<Int64>?,
                                   _ indices: UnsafeMutablePointer<Int32>?, _ values: UnsafeMutablePointer<Float>?)
    -> Int32
{
    guarded {
        try copyMatrix(try dataset(ds).matrix(), indptr: indptr, indices: indices, values: values)
        return Status.ok
    }
}

@c(aerec_dataset_ids)
public func aerecDatasetIDs(_ ds: OpaquePointer?, _ which: Int32, _ buf: UnsafeMutablePointer<CChar>?,
                            _ capacity: Int, _ needed: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded {
        let d = try dataset(ds).data
        return try writeIDs(try idsSelector(which) ? d.userIDs.ids : d.itemIDs.ids, buf: buf, capacity: capacity,
                            needed: needed)
    }
}

@c(aerec_dataset_free)
public func aerecDatasetFree(_ ds: OpaquePointer?) -> Int32 {
    guarded {
        _ = try HandleTable.shared.remove(ds, kind: .dataset, argument: "dataset")
        return Status.ok
    }
}
