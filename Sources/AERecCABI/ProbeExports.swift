// The Theory layer's probes of Susman's properties P1–P3 on a trained encoder.
import AERec

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A probe report behind a handle (immutable), with its JSON made once.
final class ProbeBox: Sendable {
    let report: ProbeReport
    let json: String
    init(_ report: ProbeReport) throws {
        self.report = report
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity",
                                                                negativeInfinity: "-Infinity", nan: "NaN")
        let body = String(decoding: try e.encode(report), as: UTF8.self)
        let summary = String(decoding: try e.encode(report.summary), as: UTF8.self)
        json = "{\"report\": \(body), \"summary\": \(summary)}"
    }
}

/// aerec_probe_config values the caller left at AEREC_DEFAULT keep the library's.
func readProbeConfig(_ raw: UnsafeRawPointer?) throws -> PropertyProbe {
    var p = PropertyProbe()
    guard let raw else { return p }
    let c = try inputStruct(raw, size: StructSize.probeConfig, name: "aerec_probe_config", argument: "config")
    func count(_ o: Int, _ name: String, min: Int64, max: Int64 = 10_000_000) throws -> Int? {
        let v = c.i64(o)
        if v == -1 { return nil }
        guard v >= min, v <= max else {
            throw CABIError.invalid("config.\(name) is \(v); it must be in \(min)...\(max) or AEREC_DEFAULT (-1)")
        }
        return Int(v)
    }
    func real(_ o: Int, _ name: String, _ ok: (Double) -> Bool, _ range: String) throws -> Double? {
        let v = c.f64(o)
        if v == -1 { return nil }
        guard v.isFinite, ok(v) else { throw CABIError.invalid("config.\(name) is \(v); it must be \(range)") }
        return v
    }
    if let v = try count(8, "users", min: 3, max: 100_000) { p.users = v }
    if let v = try count(16, "samples", min: 0) { p.samples = v }
    if let v = try count(24, "anchors", min: 0, max: 100_000) { p.anchors = v }
    if let v = try count(32, "candidates", min: 2, max: 100_000) { p.candidates = v }
    if let v = try count(40, "neighbours", min: 1, max: 100_000) { p.neighbours = v }
    if let v = try count(48, "item_probes", min: 0) { p.itemProbes = v }
    if let v = try real(56, "epsilon", { $0 >= 0 && $0 < 1e30 }, "≥ 0") { p.epsilon = Float(v) }
    p.seed = c.u64(64)
    if let v = try count(72, "threads", min: 1, max: 256) { p.threads = v }
    switch c.i64(80) {
    case -1: p.inputSpace = nil
    case 0: p.inputSpace = .normalizedBinary
    case 1: p.inputSpace = .binary
    case 2: p.inputSpace = .values
    case let v:
        throw CABIError.invalid("config.input_space is \(v); valid: AEREC_DEFAULT, AEREC_PROBE_INPUT_NORMALIZED_BINARY (0), _BINARY (1), _VALUES (2)")
    }
    if let v = try real(88, "min_effective_rank", { $0 >= 0 && $0 < 1e9 }, "≥ 0") { p.thresholds.minimumEffectiveRank = v }
    if let v = try real(96, "min_order_preserved", { $0 >= 0 && $0 <= 1 }, "in [0, 1]") {
        p.thresholds.minimumOrderPreserved = v
    }
    if let v = try real(104, "max_zero_code_fraction", { $0 >= 0 && $0 <= 1 }, "in [0, 1]") {
        p.thresholds.maximumZeroCodeFraction = v
    }
    return p
}

@c(aerec_probe_config_init)
public func aerecProbeConfigInit(_ config: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let o = initStruct(try required(config, "config"), size: StructSize.probeConfig)
        for off in [8, 16, 24, 32, 40, 48, 80] { o.set(off, Int64(-1)) }
        for off in [56, 88, 96, 104] { o.set(off, -1.0) }
        o.set(64, UInt64(98765))
        o.set(72, Int64(2))
        return Status.ok
    }
}

@c(aerec_model_probe)
public func aerecModelProbe(_ mh: OpaquePointer?, _ input: UnsafeRawPointer?, _ config: UnsafeRawPointer?,
                            _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let out = try outHandle(out)
        let box = try model(mh)
        guard box.kind.isAutoencoder else {
            throw CABIError.unsupported("\(box.kind.rawValue) has no encoder: the probes need an autoencoder")
        }
        let probe = try readProbeConfig(config)
        let given = try optionalCSRMatrix(input, "input")
        let report: ProbeReport = try box.read { m, s in
            guard let ae = m as? any Autoencoder else { throw CABIError.unsupported("\(box.kind.rawValue) has no encoder") }
            var rows: InteractionMatrix
            if let given {
                rows = given
            } else {
                guard let train = s.trainMatrix else {
                    throw CABIError.state("no input: pass the rows to probe (a loaded model has no training matrix)")
                }
                rows = box.kind == .autoRecI ? train.transposed() : train
            }
            guard rows.columnCount == ae.inputDimension else {
                throw CABIError.invalid("input has \(rows.columnCount) columns; the encoder takes \(ae.inputDimension)")
            }
            try requireMemory(8 * min(probe.users, rows.rowCount) * max(min(probe.users, rows.rowCount), ae.latentDimension),
                              "the probes' Gram matrices")
            return try probe.probe(ae, on: rows)
        }
        try newHandle(try ProbeBox(report), .probe, into: out)
        return Status.ok
    }
}

@c(aerec_probe_scores_get)
public func aerecProbeScoresGet(_ ph: OpaquePointer?, _ out: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let r = try probeReport(ph).report
        let o = try outputStruct(out, size: StructSize.probeScores, name: "aerec_probe_scores", argument: "out")
        o.set(8, r.rowsProbed)
        o.set(16, r.seconds)
        o.set(24, r.family.rawValue, capacity: 32)
        o.set(56, r.theoryVerdict.rawValue, capacity: 32)
        o.set(88, r.p1.verdict.passed)
        o.set(96, r.p1.latentDimension)
        o.set(104, r.p1.inputDimension)
        o.set(112, r.p1.effectiveRank)
        o.set(120, r.p1.effectiveRankFraction)
        o.set(128, r.p2.verdict.passed)
        o.set(136, r.p2.triples)
        o.set(144, r.p2.orderPreserved.value)
        o.set(152, r.p2.orderPreserved.low)
        o.set(160, r.p2.orderPreserved.high)
        o.set(168, r.p2.kendallTau.value)
        o.set(176, r.p2.neighbourOverlap.value)
        o.set(184, r.p3.verdict.passed)
        o.set(192, r.p3.zeroCodeUsers.value)
        o.set(200, r.p3.zeroCodeItems.value)
        o.set(208, r.p3.zeroCodeNegatedUsers.value)
        o.set(216, r.p3.deadUnitFraction)
        o.set(224, r.p3.constantUnitFraction)
        o.set(232, r.p3.zeroMapsToZero)
        return Status.ok
    }
}

@c(aerec_probe_json)
public func aerecProbeJSON(_ ph: OpaquePointer?, _ buf: UnsafeMutablePointer<CChar>?, _ capacity: Int,
                           _ needed: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded { try writeIDs([try probeReport(ph).json], buf: buf, capacity: capacity, needed: needed) }
}

@c(aerec_probe_free)
public func aerecProbeFree(_ ph: OpaquePointer?) -> Int32 {
    guarded {
        _ = try HandleTable.shared.remove(ph, kind: .probe, argument: "probe")
        return Status.ok
    }
}
