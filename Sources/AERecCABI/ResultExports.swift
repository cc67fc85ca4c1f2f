// Evaluation results and the model-free metric entry points (AERec's own metric code on given
// rankings or predictions).
import AERec

@c(aerec_result_info_get)
public func aerecResultInfoGet(_ rh: OpaquePointer?, _ out: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let r = try result(rh).result
        let o = try outputStruct(out, size: StructSize.resultInfo, name: "aerec_result_info", argument: "out")
        o.set(8, r.metrics.count)
        o.set(16, r.usersEvaluated)
        o.set(24, r.usersSkipped)
        o.set(32, r.seconds)
        return Status.ok
    }
}

private func metricAt(_ r: EvaluationResult, _ index: Int64) throws -> MetricValue {
    guard index >= 0, index < Int64(r.metrics.count) else {
        throw CABIError.invalid("index is \(index); the result has \(r.metrics.count) metrics")
    }
    guard let v = r[r.metrics[Int(index)]] else {
        throw CABIError(status: Status.internal, message: "metric \(r.metrics[Int(index)].name) has no value")
    }
    return v
}

@c(aerec_result_metric)
public func aerecResultMetric(_ rh: OpaquePointer?, _ index: Int64, _ out: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let v = try metricAt(try result(rh).result, index)
        let o = try outputStruct(out, size: StructSize.metricValue, name: "aerec_metric_value", argument: "out")
        o.set(8, v.metric.name, capacity: 40)
        o.set(48, v.value)
        o.set(56, v.confidenceInterval?.lowerBound ?? .nan)
        o.set(64, v.confidenceInterval?.upperBound ?? .nan)
        o.set(72, v.standardError ?? .nan)
        o.set(80, v.n)
        o.set(88, v.confidenceInterval != nil)
        return Status.ok
    }
}

/// Copies min(capacity, n) elements and reports n.
private func copyOut<T>(_ a: [T], _ out: UnsafeMutablePointer<T>?, _ capacity: Int64,
                        _ count: UnsafeMutablePointer<Int64>?) throws {
    let n = try required(count, "count")
    guard capacity >= 0 else { throw CABIError.invalid("capacity is \(capacity)") }
    if capacity > 0 && out == nil { throw CABIError.invalid("out is NULL but capacity is \(capacity)") }
    n.pointee = Int64(a.count)
    let m = Int(min(capacity, Int64(a.count)))
    if let out, m > 0 { a.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: m) } }
}

@c(aerec_result_per_user)
public func aerecResultPerUser(_ rh: OpaquePointer?, _ index: Int64, _ out: UnsafeMutablePointer<Double>?,
                               _ capacity: Int64, _ count: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        try copyOut(try metricAt(try result(rh).result, index).perUser, out, capacity, count)
        return Status.ok
    }
}

@c(aerec_result_users)
public func aerecResultUsers(_ rh: OpaquePointer?, _ out: UnsafeMutablePointer<Int32>?, _ capacity: Int64,
                             _ count: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        try copyOut(try result(rh).result.users, out, capacity, count)
        return Status.ok
    }
}

@c(aerec_result_free)
public func aerecResultFree(_ rh: OpaquePointer?) -> Int32 {
    guarded {
        _ = try HandleTable.shared.remove(rh, kind: .result, argument: "result")
        return Status.ok
    }
}

@c(aerec_metrics_from_rankings)
public func aerecMetricsFromRankings(_ rankings: UnsafeRawPointer?, _ targets: UnsafeRawPointer?, _ itemCount: Int64,
                                     _ metrics: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?)
    -> Int32
{
    guarded {
        let out = try outHandle(out)
        let r = try CSRArrays(rankings, "rankings"), t = try CSRArrays(targets, "targets")
        guard r.rows == t.rows else { throw CABIError.invalid("rankings has \(r.rows) rows, targets \(t.rows)") }
        guard itemCount >= 1, itemCount <= Int64(Int32.max) else {
            throw CABIError.invalid("item_count is \(itemCount); it must be ≥ 1")
        }
        guard r.cols <= Int(itemCount), t.cols <= Int(itemCount) else {
            throw CABIError.invalid("rankings / targets have \(r.cols) / \(t.cols) columns, more than item_count \(itemCount)")
        }
        try requireMemory(16 * Int(itemCount), "rank tables for \(itemCount) items")
        let lists = (0..<r.rows).map { Array(r.indices[r.row($0)]) }
        let sets = (0..<t.rows).map { Array(t.indices[t.row($0)]) }
        let list = try metricList(metrics, kind: nil)
        let e = try Evaluator.evaluate(rankings: lists, targets: sets, itemCount: Int(itemCount), metrics: list)
        try newHandle(ResultBox(e), .result, into: out)
        return Status.ok
    }
}

@c(aerec_metrics_from_ratings)
public func aerecMetricsFromRatings(_ nUsers: Int64, _ indptr: UnsafePointer<Int64>?,
                                    _ predicted: UnsafePointer<Float>?, _ actual: UnsafePointer<Float>?,
                                    _ metrics: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?)
    -> Int32
{
    guarded {
        let out = try outHandle(out)
        guard nUsers >= 0, nUsers <= Int64(Int32.max) else { throw CABIError.invalid("n_users is \(nUsers)") }
        let n = Int(nUsers)
        let ptr = try copyArray(try required(indptr, "indptr"), count: n + 1, "indptr")
        guard ptr[0] == 0 else { throw CABIError.invalid("indptr[0] is \(ptr[0]), expected 0") }
        for u in 0..<n where ptr[u + 1] < ptr[u] { throw CABIError.invalid("indptr decreases at user \(u)") }
        guard ptr[n] <= Int64(Int32.max) * 64 else { throw CABIError.invalid("too many ratings (\(ptr[n]))") }
        let p = try copyArray(predicted, count: Int(ptr[n]), "predicted")
        let a = try copyArray(actual, count: Int(ptr[n]), "actual")
        if let k = (p + a).firstIndex(where: { !$0.isFinite }) {
            throw CABIError.invalid("\(k < p.count ? "predicted" : "actual")[\(k % max(p.count, 1))] is not finite")
        }
        var list = [Metric.rmse, .mae]
        if metrics != nil { list = try metricList(metrics, kind: nil) }
        let rows = (0..<n).map { Int(ptr[$0])..<Int(ptr[$0 + 1]) }
        let e = try Evaluator.evaluate(predictedRatings: rows.map { Array(p[$0]) }, actualRatings: rows.map { Array(a[$0]) },
                                       metrics: list)
        try newHandle(ResultBox(e), .result, into: out)
        return Status.ok
    }
}
