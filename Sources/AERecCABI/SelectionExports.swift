// The Theory layer's activation selection: equal-budget tuning and seeds per candidate, probes,
// and a recommendation by theory plus measurement.
import AERec

/// A selection report behind a handle (immutable).
final class SelectionBox: Sendable {
    let report: SelectionReport
    init(_ report: SelectionReport) { self.report = report }
}

func selectionReport(_ h: OpaquePointer?, _ argument: String = "selection") throws -> SelectionBox {
    try HandleTable.shared.object(h, kind: .selection, argument: argument) as! SelectionBox
}

/// The items of a comma-separated list field (nil when the field is NULL).
private func list(_ c: CIn, _ o: Int, _ name: String) throws -> [String]? {
    guard let s = c.string(o) else { return nil }
    let items = s.split(separator: ",", omittingEmptySubsequences: false).map {
        String($0.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
    guard !items.isEmpty, !items.contains(where: \.isEmpty) else {
        throw CABIError.invalid("config.\(name) '\(s)' has an empty item")
    }
    guard items.count <= 1000 else { throw CABIError.invalid("config.\(name) has \(items.count) items; at most 1000") }
    return items
}

private func floats(_ items: [String], _ name: String, positive: Bool) throws -> [Float] {
    try items.map { t in
        guard let v = Float(t), v.isFinite, positive ? v > 0 : v >= 0 else {
            throw CABIError.invalid("config.\(name): '\(t)' is not a \(positive ? "positive" : "non-negative") finite number")
        }
        return v
    }
}

/// Reads an aerec_selection_config into a selection for `base`.
func readSelection(_ raw: UnsafeRawPointer?, base: ParsedModelConfig) throws -> ActivationSelection {
    var s = ActivationSelection(model: base.experiment.model, base: base.experiment)
    guard let raw else { return s }
    let c = try inputStruct(raw, size: StructSize.selectionConfig, name: "aerec_selection_config", argument: "config")
    if let a = try list(c, 8, "candidates") { s.candidates = try a.map { try Activation(name: $0) } }
    if let l = try list(c, 16, "learning_rates") { s.learningRates = try floats(l, "learning_rates", positive: true) }
    if let r = try list(c, 24, "regularizations") { s.regularizations = try floats(r, "regularizations", positive: false) }
    if let seeds = try list(c, 32, "seeds") {
        s.seeds = try seeds.map { t in
            guard let v = UInt64(t) else { throw CABIError.invalid("config.seeds: '\(t)' is not an unsigned integer") }
            return v
        }
    }
    s.tuningSeed = c.u64(40)
    if let m = c.string(48) { s.selectionMetric = try Metric(name: m) }
    if let r = try list(c, 56, "reported_metrics") { s.reportedMetrics = try r.map { try Metric(name: $0) } }
    let alpha = c.f64(64)
    if alpha != -1 {
        guard alpha.isFinite, alpha > 0, alpha < 1 else {
            throw CABIError.invalid("config.significance_level is \(alpha); it must be in (0, 1) or AEREC_DEFAULT")
        }
        s.significanceLevel = alpha
    }
    if let p = c.pointer(72) { s.probe = try readProbeConfig(p) }
    return s
}

@c(aerec_selection_config_init)
public func aerecSelectionConfigInit(_ config: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let o = initStruct(try required(config, "config"), size: StructSize.selectionConfig)
        o.set(40, UInt64(1))
        o.set(64, -1.0)
        return Status.ok
    }
}

public typealias SelectionCallback = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?) -> Void

@c(aerec_select_activation)
public func aerecSelectActivation(_ sp: OpaquePointer?, _ base: UnsafeRawPointer?, _ config: UnsafeRawPointer?,
                                  _ progress: SelectionCallback?, _ userData: UnsafeMutableRawPointer?,
                                  _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let out = try outHandle(out)
        let s = try split(sp).split
        let parsed = try readModelConfig(base)
        guard parsed.experiment.model.isAutoencoder else {
            throw CABIError.invalid("base.kind is \(parsed.experiment.model.rawValue); activation selection needs an autoencoder")
        }
        var selection = try readSelection(config, base: parsed)
        // patience 0 (never stop early) as a patience no run reaches
        if !parsed.earlyStopping { selection.base.patience = max(1, selection.base.resolvedEpochs) }
        if let b = selection.base.batchSize, b > s.train.rowCount { selection.base.batchSize = max(1, s.train.rowCount) }
        try ModelFactory.requireMemory(selection.base, itemCount: s.train.columnCount, userCount: s.train.rowCount)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: StructSize.selectionProgress, alignment: 8)
        defer { buffer.deallocate() }
        let report = try selection.run(on: s) { p in
            guard let progress else { return }
            let o = initStruct(buffer, size: StructSize.selectionProgress)
            o.set(8, Int64(p.phase == .tuning ? 0 : 1))
            o.set(16, p.completed)
            o.set(24, p.total)
            o.set(32, Double(p.learningRate))
            o.set(40, Double(p.regularization))
            o.set(48, p.seed)
            o.set(56, p.validation)
            o.set(64, p.seconds)
            o.set(72, p.activation.name, capacity: 48)
            o.set(120, p.line, capacity: 256)
            progress(UnsafeRawPointer(buffer), userData)
        }
        try newHandle(SelectionBox(report), .selection, into: out)
        return Status.ok
    }
}

@c(aerec_selection_summary_get)
public func aerecSelectionSummaryGet(_ sh: OpaquePointer?, _ out: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let r = try selectionReport(sh).report
        let o = try outputStruct(out, size: StructSize.selectionSummary, name: "aerec_selection_summary", argument: "out")
        o.set(8, r.recommendation.theoryAgrees)
        o.set(16, r.activations.count)
        o.set(24, r.runs.count)
        o.set(32, r.seconds)
        o.set(40, r.recommendation.activation.name, capacity: 48)
        o.set(88, r.recommendation.measuredBest.name, capacity: 48)
        o.set(136, r.recommendation.basis.rawValue, capacity: 32)
        return Status.ok
    }
}

@c(aerec_selection_render)
public func aerecSelectionRender(_ sh: OpaquePointer?, _ format: Int32, _ buf: UnsafeMutablePointer<CChar>?,
                                 _ capacity: Int, _ needed: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded {
        let r = try selectionReport(sh).report
        let text: String
        switch format {
        case 0: text = try r.json(perUserValues: true)
        case 1: text = try r.json(perUserValues: false)
        case 2: text = r.markdown()
        case 3: text = r.svg()
        default:
            throw CABIError.invalid("format is \(format); valid: AEREC_REPORT_JSON (0), _JSON_COMPACT (1), _MARKDOWN (2), _SVG (3)")
        }
        return try writeIDs([text], buf: buf, capacity: capacity, needed: needed)
    }
}

@c(aerec_selection_free)
public func aerecSelectionFree(_ sh: OpaquePointer?) -> Int32 {
    guarded {
        _ = try HandleTable.shared.remove(sh, kind: .selection, argument: "selection")
        return Status.ok
    }
}
