// Splits: protocol configuration, creation, parts, ids, TSV export and load.
import AERec

/// aerec_protocol values, in enum order.
let protocolOrder: [SplitProtocol] = [.strong, .ratio, .loo, .explicit, .given]

func protocolFromC(_ v: Int64, _ argument: String) throws -> SplitProtocol {
    guard v >= 0, v < Int64(protocolOrder.count) else {
        throw CABIError.invalid("\(argument) is \(v); valid: AEREC_PROTOCOL_STRONG (0), _RATIO (1), _LOO (2), _EXPLICIT (3), _GIVEN (4)")
    }
    return protocolOrder[Int(v)]
}

func protocolToC(_ p: SplitProtocol) -> Int64 { Int64(protocolOrder.firstIndex(of: p)!) }

/// A fraction field: -1 → `fallback`, else a finite value in [0, 1].
private func fraction(_ x: Double, _ name: String, fallback: Double) throws -> Double {
    if x == -1 { return fallback }
    guard x.isFinite, x >= 0, x <= 1 else { throw CABIError.invalid("\(name) is \(x); it must be in [0, 1] or AEREC_DEFAULT") }
    return x
}

/// Reads an aerec_split_config into the library's configuration for `data`.
func readSplitConfig(_ raw: UnsafeRawPointer?, data: Interactions) throws -> SplitConfiguration {
    let c = try inputStruct(raw, size: StructSize.splitConfig, name: "aerec_split_config", argument: "config")
    let p = try protocolFromC(c.i64(8), "config.protocol")
    let seed = c.u64(16)
    switch p {
    case .strong:
        var held = c.i64(24)
        if held == -1 { held = Int64(max(1, data.userIDs.count / 10)) }
        guard held >= 1, held <= Int64(Int32.max) else {
            throw CABIError.invalid("config.held_out_users is \(held); it must be ≥ 1 or AEREC_DEFAULT")
        }
        let minItems = c.i64(40) == -1 ? 5 : c.i64(40)
        guard minItems >= 0, minItems <= Int64(Int32.max) else {
            throw CABIError.invalid("config.min_items_for_split is \(minItems); it must be ≥ 0")
        }
        return .strong(heldOutUsers: Int(held), targetFraction: try fraction(c.f64(32), "config.target_fraction", fallback: 0.2),
                       minItemsForSplit: Int(minItems), seed: seed)
    case .ratio:
        return .ratio(testFraction: try fraction(c.f64(48), "config.test_fraction", fallback: 0.2),
                      validationFraction: try fraction(c.f64(56), "config.validation_fraction", fallback: 0), seed: seed)
    case .explicit:
        return .explicit(testFraction: try fraction(c.f64(48), "config.test_fraction", fallback: 0.1),
                         validationFraction: try fraction(c.f64(56), "config.validation_fraction", fallback: 0),
                         seed: seed)
    case .loo:
        let v = c.i64(64)
        return .leaveOneOut(validation: v != 0 && v != -1, seed: seed)
    case .given:
        var s: SplitConfiguration
        if let h = c.pointer(72) {
            s = .given(test: try dataset(OpaquePointer(h), "config.given_test").data)
        } else if let path = c.string(80) {
            s = .given(testFile: path, format: try Experiment.parseFormat(c.string(88) ?? "auto"))
        } else {
            throw CABIError.invalid("the given protocol needs config.given_test or config.given_test_path")
        }
        s.seed = seed
        s.validationFraction = try fraction(c.f64(56), "config.validation_fraction", fallback: 0)
        return s
    }
}

@c(aerec_split_config_init)
public func aerecSplitConfigInit(_ config: UnsafeMutableRawPointer?, _ protocolKind: Int32) -> Int32 {
    guarded {
        let p = try protocolFromC(Int64(protocolKind), "protocol")
        let o = initStruct(try required(config, "config"), size: StructSize.splitConfig)
        o.set(8, protocolToC(p))
        o.set(16, UInt64(98765))
        o.set(24, Int64(-1))
        o.set(32, 0.2)
        o.set(40, Int64(5))
        o.set(48, p == .explicit ? 0.1 : 0.2)
        o.set(56, 0.0)
        o.set(64, Int64(0))
        return Status.ok
    }
}

@c(aerec_split_create)
public func aerecSplitCreate(_ ds: OpaquePointer?, _ config: UnsafeRawPointer?,
                             _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let out = try outHandle(out)
        let data = try dataset(ds).data
        let c = try readSplitConfig(config, data: data)
        try newHandle(SplitBox(try makeSplit(data, c)), .split, into: out)
        return Status.ok
    }
}

@c(aerec_split_info_get)
public func aerecSplitInfoGet(_ sp: OpaquePointer?, _ out: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let s = try split(sp).split
        let o = try outputStruct(out, size: StructSize.splitInfo, name: "aerec_split_info", argument: "out")
        o.set(8, protocolToC(s.protocolKind))
        o.set(16, s.seed)
        o.set(24, s.userIDs.count)
        o.set(32, s.itemIDs.count)
        o.set(40, s.train.rowCount)
        o.set(48, s.train.nnz)
        o.set(56, s.validation != nil)
        o.set(64, s.validation?.count ?? 0)
        o.set(72, s.test.count)
        return Status.ok
    }
}

/// A part of a split: the matrix, each row's dataset user, each row's training row.
func splitPart(_ s: Split, _ part: Int32) throws -> (InteractionMatrix, [Int32], [Int32]) {
    func heldOut(_ h: HeldOutSet?, _ name: String) throws -> HeldOutSet {
        guard let h else { throw CABIError.state("this \(s.protocolKind.rawValue) split has no \(name) set") }
        return h
    }
    switch part {
    case 0: return (s.train, s.trainUsers, (0..<s.train.rowCount).map { Int32($0) })
    case 1: let h = try heldOut(s.validation, "validation"); return (h.foldIn, h.users, h.trainRows)
    case 2: let h = try heldOut(s.validation, "validation"); return (h.target, h.users, h.trainRows)
    case 3: return (s.test.foldIn, s.test.users, s.test.trainRows)
    case 4: return (s.test.target, s.test.users, s.test.trainRows)
    default:
        throw CABIError.invalid("part is \(part); valid: AEREC_PART_TRAIN (0), _VALIDATION_FOLD_IN (1), _VALIDATION_TARGET (2), _TEST_FOLD_IN (3), _TEST_TARGET (4)")
    }
}

/// The held-out set selected by AEREC_HELDOUT_VALIDATION / _TEST.
func heldOutSet(_ s: Split, _ which: Int32) throws -> HeldOutSet {
    switch which {
    case 1:
        guard let v = s.validation else { throw CABIError.state("this \(s.protocolKind.rawValue) split has no validation set") }
        return v
    case 3: return s.test
    default: throw CABIError.invalid("heldout is \(which); use AEREC_HELDOUT_VALIDATION (1) or AEREC_HELDOUT_TEST (3)")
    }
}

@c(aerec_split_part_info)
public func aerecSplitPartInfo(_ sp: OpaquePointer?, _ part: Int32, _ out: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let (m, _, _) = try splitPart(try split(sp).split, part)
        try writeMatrixInfo(m, out)
        return Status.ok
    }
}

@c(aerec_split_part_copy)
public func aerecSplitPartCopy(_ sp: OpaquePointer?, _ part: Int32, _ indptr: UnsafeMutablePointer<Int64>?,
                               _ indices: UnsafeMutablePointer<Int32>?, _ values: UnsafeMutablePointer<Float>?,
                               _ rowUsers: UnsafeMutablePointer<Int32>?, _ trainRows: UnsafeMutablePointer<Int32>?)
    -> Int32
{
    guarded {
        let (m, users, rows) = try splitPart(try split(sp).split, part)
        try copyMatrix(m, indptr: indptr, indices: indices, values: values)
        if let rowUsers, !users.isEmpty { users.withUnsafeBufferPointer { rowUsers.update(from: $0.baseAddress!, count: $0.count) } }
        if let trainRows, !rows.isEmpty { rows.withUnsafeBufferPointer { trainRows.update(from: $0.baseAddress!, count: $0.count) } }
        return Status.ok
    }
}

@c(aerec_split_ids)
public func aerecSplitIDs(_ sp: OpaquePointer?, _ which: Int32, _ buf: UnsafeMutablePointer<CChar>?, _ capacity: Int,
                          _ needed: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded {
        let s = try split(sp).split
        return try writeIDs(try idsSelector(which) ? s.userIDs.ids : s.itemIDs.ids, buf: buf, capacity: capacity,
                            needed: needed)
    }
}

@c(aerec_split_export)
public func aerecSplitExport(_ sp: OpaquePointer?, _ directory: UnsafePointer<CChar>?) -> Int32 {
    guarded {
        let s = try split(sp).split
        let dir = try requiredString(directory, "directory")
        try s.export(to: dir)
        return Status.ok
    }
}

@c(aerec_split_load)
public func aerecSplitLoad(_ directory: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let out = try outHandle(out)
        let s = try Split.load(from: try requiredString(directory, "directory"))
        try newHandle(SplitBox(s), .split, into: out)
        return Status.ok
    }
}

@c(aerec_split_free)
public func aerecSplitFree(_ sp: OpaquePointer?) -> Int32 {
    guarded {
        _ = try HandleTable.shared.remove(sp, kind: .split, argument: "split")
        return Status.ok
    }
}
