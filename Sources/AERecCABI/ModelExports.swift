// Models: configuration, creation, training with a per-epoch callback, information, persistence.
import AERec

#if canImport(Glibc)
import Glibc
#endif

/// aerec_model_kind values, in enum order.
let modelKindOrder: [ModelKind] = [.multDAE, .multVAE, .cdae, .autoRecI, .autoRecU, .ease, .pop]

func modelKindFromC(_ v: Int64, _ argument: String) throws -> ModelKind {
    guard v >= 0, v < Int64(modelKindOrder.count) else {
        throw CABIError.invalid("\(argument) is \(v); valid: AEREC_MODEL_MULT_DAE (0), _MULT_VAE (1), _CDAE (2), _AUTOREC_I (3), _AUTOREC_U (4), _EASE (5), _POPULARITY (6)")
    }
    return modelKindOrder[Int(v)]
}

func modelKindToC(_ k: ModelKind) -> Int64 { Int64(modelKindOrder.firstIndex(of: k)!) }

/// The parsed aerec_model_config.
struct ParsedModelConfig {
    var experiment: ExperimentConfiguration
    var validationMetric: Metric?
    var earlyStopping: Bool
}

/// Reads and checks an aerec_model_config (every field; NaN and out-of-range values refused).
func readModelConfig(_ raw: UnsafeRawPointer?) throws -> ParsedModelConfig {
    let c = try inputStruct(raw, size: StructSize.modelConfig, name: "aerec_model_config", argument: "config")
    let kind = try modelKindFromC(c.i64(8), "config.kind")
    var e = ExperimentConfiguration(dataPath: "", model: kind)
    func count(_ o: Int, _ name: String, min: Int64, max: Int64 = Int64(Int32.max)) throws -> Int? {
        let v = c.i64(o)
        if v == -1 { return nil }
        guard v >= min, v <= max else {
            throw CABIError.invalid("config.\(name) is \(v); it must be in \(min)...\(max) or AEREC_DEFAULT (-1)")
        }
        return Int(v)
    }
    func real(_ o: Int, _ name: String, _ ok: (Double) -> Bool, _ range: String) throws -> Float? {
        let v = c.f64(o)
        if v == -1 { return nil }
        guard v.isFinite, ok(v) else {
            throw CABIError.invalid("config.\(name) is \(v); it must be \(range) or AEREC_DEFAULT (-1)")
        }
        return Float(v)
    }
    if let a = c.string(16) {
        guard kind.isAutoencoder else {
            throw CABIError.invalid("config.latent_activation is '\(a)' but \(kind.rawValue) has no latent activation (set it to NULL)")
        }
        e.activation = try Activation(name: a)
    }
    e.hidden = try count(24, "hidden", min: 1, max: 1 << 24)
    e.latent = try count(32, "latent", min: 1, max: 1 << 24)
    let optimizer = c.i64(40)
    guard optimizer == -1 || optimizer == 0 else {
        throw CABIError.invalid("config.optimizer is \(optimizer); valid: AEREC_OPTIMIZER_ADAM (0)")
    }
    e.learningRate = try real(48, "learning_rate", { $0 > 0 && $0 < 1e6 }, "in (0, 1e6)")
    e.epochs = try count(56, "epochs", min: 0, max: 10_000_000)
    e.batchSize = try count(64, "batch_size", min: 1)
    e.lambda = try real(72, "lambda", { $0 >= 0 && $0 < 1e30 }, "≥ 0")
    e.dropout = try real(80, "dropout", { $0 >= 0 && $0 < 1 }, "in [0, 1)")
    e.annealSteps = try count(88, "anneal_steps", min: 0, max: Int64(Int32.max))
    let patience = try count(96, "patience", min: 0, max: 10_000_000)
    e.patience = patience == 0 ? nil : patience
    e.seed = c.u64(104)
    e.threads = try count(112, "threads", min: 1, max: 256) ?? 2
    let metric = try c.string(120).map { try Metric(name: $0) }
    switch c.i64(128) {
    case -1: break
    case let bits where bits == 32 || bits == 64:
        guard kind == .ease else {
            throw CABIError.invalid("config.ease_precision is \(bits) but the model is \(kind.rawValue) (set it to AEREC_DEFAULT)")
        }
        e.easePrecision = bits == 64 ? .float64 : .float32
    case let v: throw CABIError.invalid("config.ease_precision is \(v); it must be 32, 64 or AEREC_DEFAULT (-1)")
    }
    if let b = try real(136, "beta_cap", { $0 >= 0 && $0 < 1e6 }, "in [0, 1e6)") {
        guard kind == .multVAE else {
            throw CABIError.invalid("config.beta_cap is \(b) but the model is \(kind.rawValue) (set it to AEREC_DEFAULT)")
        }
        e.betaCap = b
    }
    return ParsedModelConfig(experiment: e, validationMetric: metric, earlyStopping: patience != 0)
}

@c(aerec_model_config_init)
public func aerecModelConfigInit(_ config: UnsafeMutableRawPointer?, _ kind: Int32) -> Int32 {
    guarded {
        let k = try modelKindFromC(Int64(kind), "kind")
        let o = initStruct(try required(config, "config"), size: StructSize.modelConfig)
        o.set(8, modelKindToC(k))
        for off in [24, 32, 40, 56, 64, 88, 96, 128] { o.set(off, Int64(-1)) }
        for off in [48, 72, 80, 136] { o.set(off, -1.0) }
        o.set(40, Int64(0))
        o.set(104, UInt64(98765))
        o.set(112, Int64(2))
        return Status.ok
    }
}

@c(aerec_model_create)
public func aerecModelCreate(_ config: UnsafeRawPointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let out = try outHandle(out)
        let p = try readModelConfig(config)
        // the item-independent weights (Mult-VAE's hidden × code layers); item-sized layers are
        // checked by fit, when the item count is known
        if p.experiment.model == .multVAE {
            let h = p.experiment.hidden ?? 600, d = p.experiment.latent ?? 200
            try requireMemory(16 * (3 * h * d + 4 * max(h, d)), "a mult-vae model with hidden width \(h) and code width \(d)")
        }
        // configuration errors surface at creation (the latent width against the item count at fit)
        try ModelFactory.validate(p.experiment)
        let box = ModelBox(kind: p.experiment.model, configuration: p.experiment, validationMetric: p.validationMetric,
                           earlyStopping: p.earlyStopping, slot: ModelSlot())
        try newHandle(box, .model, into: out)
        return Status.ok
    }
}

public typealias EpochCallback = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?) -> Int32

/// Writes an aerec_epoch_report.
func writeEpochReport(_ r: EpochReport, _ p: UnsafeMutableRawPointer) {
    let o = initStruct(p, size: StructSize.epochReport)
    o.set(8, r.epoch)
    o.set(16, r.loss)
    o.set(24, r.validation ?? .nan)
    o.set(32, r.validation != nil)
    o.set(40, r.trainSeconds)
    o.set(48, r.validationSeconds)
    o.set(56, r.isBest)
    o.set(64, r.beta ?? .nan)
}

/// Trains `box` on `train` (validating on `validation`) exactly as Experiment.run does.
func fitModel(_ box: ModelBox, train: InteractionMatrix, validation: HeldOutSet?, callback: EpochCallback?,
              userData: UnsafeMutableRawPointer?, summary: UnsafeMutableRawPointer?, itemIDs: IDMap?,
              userIDs: IDMap?, metadata: [String: String]) throws -> Int32 {
    let summaryOut: COut? = try summary.map {
        try outputStruct($0, size: StructSize.fitSummary, name: "aerec_fit_summary", argument: "summary")
    }
    guard var config = box.configuration else {
        throw CABIError.state("a loaded model cannot be re-trained; create a new model with aerec_model_create")
    }
    // a batch larger than the training set is the whole set: identical batches and results, but
    // workspaces sized for the users that exist
    if config.resolvedBatchSize > train.rowCount { config.batchSize = max(1, train.rowCount) }
    guard train.rowCount > 0, train.columnCount > 0 else {
        throw AERecError.data("the training matrix is empty (\(train.rowCount) × \(train.columnCount))")
    }
    if let v = validation, v.foldIn.columnCount != train.columnCount || v.target.columnCount != train.columnCount {
        throw CABIError.invalid("validation has \(v.foldIn.columnCount) / \(v.target.columnCount) columns, train \(train.columnCount)")
    }
    // the library's estimate, checked before anything is allocated (AEREC_ERR_OUT_OF_MEMORY)
    try ModelFactory.requireMemory(config, itemCount: train.columnCount, userCount: train.rowCount)
    try box.beginTraining()
    var installed = false
    defer { if !installed { box.endTraining(nil) } }

    // the same computation as Experiment.run (and so `aerec train`)
    let batch = config.resolvedBatchSize
    let batchesPerEpoch = (train.rowCount + batch - 1) / batch
    let model = try ModelFactory.make(config, itemCount: train.columnCount, userCount: train.rowCount,
                                      batchesPerEpoch: batchesPerEpoch)
    var options = TrainingOptions(epochs: config.resolvedEpochs, batchSize: batch, seed: config.seed,
                                  threads: config.threads)
    if let p = config.patience { options.earlyStoppingPatience = p }
    if !box.earlyStopping { options.earlyStoppingPatience = nil }
    if config.model.predictsRatings { options.validationMetric = .rmse }
    if let m = box.validationMetric { options.validationMetric = m }
    let checkpointing = box.checkpointing.withLock { $0 }
    if let c = checkpointing, config.model != .ease && config.model != .pop {
        try RunOutput.createDirectories(c.directory)
        let exists = access(c.path, F_OK) == 0
        if c.resume == 1 && !exists {
            throw AERecError.io(path: c.path, message: "no checkpoint to resume from")
        }
        options.checkpoint = CheckpointOptions(path: c.path, every: c.every, resume: c.resume != 0 && exists)
    }

    let report = UnsafeMutableRawPointer.allocate(byteCount: StructSize.epochReport, alignment: 8)
    defer { report.deallocate() }
    let history = try model.fit(train, validation: validation, options: options) { r in
        var stop = box.stopRequested.load(ordering: .sequentiallyConsistent)
        if let callback {
            writeEpochReport(r, report)
            if callback(UnsafeRawPointer(report), userData) != 0 { stop = true }
        }
        return stop ? .stop : .proceed
    }
    // a completed run's checkpoint is stale (an interrupted one stays, to be resumed)
    if let c = options.checkpoint, !history.stoppedByCallback { unlink(c.path) }
    var meta = metadata
    meta[ModelState.MetadataKey.seed] = String(config.seed)
    meta[ModelState.MetadataKey.epochs] = String(history.epochs.count)
    meta[ModelState.MetadataKey.bestEpoch] = String(history.bestEpoch)
    box.endTraining { s in
        s.model = model
        s.history = history
        s.itemIDs = itemIDs
        s.userIDs = userIDs
        s.trainUserCount = train.rowCount
        s.metadata = meta
        s.trainMatrix = train
    }
    installed = true
    if let o = summaryOut {
        o.set(8, history.epochs.count)
        o.set(16, history.bestEpoch)
        o.set(24, history.bestValidation ?? .nan)
        o.set(32, history.stoppedEarly)
        o.set(40, history.stoppedByCallback)
        o.set(48, history.seconds)
    }
    return Status.ok
}

@c(aerec_model_fit)
public func aerecModelFit(_ mh: OpaquePointer?, _ sp: OpaquePointer?, _ callback: EpochCallback?,
                          _ userData: UnsafeMutableRawPointer?, _ summary: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let box = try model(mh)
        let s = try split(sp).split
        let users = try? IDMap(ids: s.trainUsers.map { s.userIDs[Int($0)] })
        return try fitModel(box, train: s.train, validation: s.validation, callback: callback, userData: userData,
                            summary: summary, itemIDs: s.itemIDs, userIDs: users,
                            metadata: [ModelState.MetadataKey.split: s.protocolKind.rawValue])
    }
}

@c(aerec_model_fit_csr)
public func aerecModelFitCSR(_ mh: OpaquePointer?, _ train: UnsafeRawPointer?, _ valFoldIn: UnsafeRawPointer?,
                             _ valTarget: UnsafeRawPointer?, _ callback: EpochCallback?,
                             _ userData: UnsafeMutableRawPointer?, _ summary: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let box = try model(mh)
        let x = try csrMatrix(train, "train")
        var validation: HeldOutSet? = nil
        switch (valFoldIn, valTarget) {
        case (nil, nil): break
        case (.some, .some):
            let f = try csrMatrix(valFoldIn, "validation_fold_in"), t = try csrMatrix(valTarget, "validation_target")
            guard f.rowCount == t.rowCount else {
                throw CABIError.invalid("validation_fold_in has \(f.rowCount) rows, validation_target \(t.rowCount)")
            }
            validation = HeldOutSet(users: (0..<f.rowCount).map { Int32($0) },
                                    trainRows: [Int32](repeating: -1, count: f.rowCount), foldIn: f, target: t)
        default:
            throw CABIError.invalid("give both validation_fold_in and validation_target, or neither")
        }
        return try fitModel(box, train: x, validation: validation, callback: callback, userData: userData,
                            summary: summary, itemIDs: nil, userIDs: nil, metadata: [:])
    }
}

@c(aerec_model_set_checkpointing)
public func aerecModelSetCheckpointing(_ mh: OpaquePointer?, _ directory: UnsafePointer<CChar>?, _ every: Int64,
                                       _ resume: Int32) -> Int32 {
    guarded {
        let box = try model(mh)
        guard let directory else {
            box.checkpointing.withLock { $0 = nil }
            return Status.ok
        }
        let dir = String(cString: directory)
        guard !dir.isEmpty else { throw CABIError.invalid("directory is empty (NULL turns checkpoints off)") }
        guard every >= 1, every <= 10_000_000 else { throw CABIError.invalid("every is \(every); it must be ≥ 1") }
        guard (0...2).contains(resume) else {
            throw CABIError.invalid("resume is \(resume); valid: 0 (start afresh), 1 (continue), 2 (continue if a checkpoint exists)")
        }
        guard box.configuration != nil else {
            throw CABIError.state("a loaded model cannot be trained, so it has no checkpoints")
        }
        guard box.kind != .ease && box.kind != .pop else {
            throw CABIError.unsupported("\(box.kind.rawValue) is fitted in closed form in one step: it has no checkpoints")
        }
        box.checkpointing.withLock { $0 = ModelBox.Checkpointing(directory: dir, every: Int(every), resume: Int(resume)) }
        return Status.ok
    }
}

@c(aerec_model_request_stop)
public func aerecModelRequestStop(_ mh: OpaquePointer?) -> Int32 {
    guarded {
        try model(mh).stopRequested.store(true, ordering: .sequentiallyConsistent)
        return Status.ok
    }
}

@c(aerec_model_info_get)
public func aerecModelInfoGet(_ mh: OpaquePointer?, _ out: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let box = try model(mh)
        let o = try outputStruct(out, size: StructSize.modelInfo, name: "aerec_model_info", argument: "out")
        let s = box.slot.withLock { $0 }
        let ae = s.model as? any Autoencoder
        o.set(8, modelKindToC(box.kind))
        o.set(16, s.model != nil)
        o.set(24, box.kind.isAutoencoder)
        o.set(32, box.kind.predictsRatings)
        o.set(40, s.model?.itemCount ?? 0)
        o.set(48, s.trainUserCount)
        o.set(56, ae?.latentDimension ?? 0)
        o.set(64, ae?.inputDimension ?? s.model?.itemCount ?? 0)
        o.set(72, s.history?.epochs.count ?? 0)
        let activation = ae?.latentActivation.name ?? box.configuration?.activation?.name
            ?? (box.kind.isAutoencoder ? defaultActivationName(box) : "")
        o.set(80, activation, capacity: 48)
        return Status.ok
    }
}

/// The latent activation a created (unfitted) model will use.
private func defaultActivationName(_ box: ModelBox) -> String {
    guard let c = box.configuration, let a = (try? ModelFactory.latentActivation(c)) ?? nil else { return "" }
    return a.name
}

@c(aerec_model_history)
public func aerecModelHistory(_ mh: OpaquePointer?, _ out: UnsafeMutableRawPointer?, _ capacity: Int64,
                              _ count: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        let box = try model(mh)
        let n = try required(count, "count")
        guard capacity >= 0 else { throw CABIError.invalid("capacity is \(capacity)") }
        if capacity > 0 && out == nil { throw CABIError.invalid("out is NULL but capacity is \(capacity)") }
        let epochs = box.slot.withLock { $0.history?.epochs ?? [] }
        n.pointee = Int64(epochs.count)
        if let out {
            for (i, r) in epochs.prefix(Int(min(capacity, Int64(epochs.count)))).enumerated() {
                writeEpochReport(r, out + i * StructSize.epochReport)
            }
        }
        return Status.ok
    }
}

@c(aerec_model_save)
public func aerecModelSave(_ mh: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    guarded {
        let box = try model(mh)
        let path = try requiredString(path, "path")
        try box.read { m, s in
            guard let p = m as? any PersistableModel else {
                throw CABIError.unsupported("\(box.kind.rawValue) models cannot be saved")
            }
            var state = try p.modelState()
            if let ids = s.itemIDs, ids.count == state.itemIDs.count { state.itemIDs = ids }
            if let users = s.userIDs, users.count == s.trainUserCount,
               state.userIDs == nil || state.userIDs!.count == users.count {
                state.userIDs = users
            }
            state.metadata.merge(s.metadata) { _, new in new }
            try ModelFile.write(state, to: path)
        }
        return Status.ok
    }
}

/// Rebuilds a model from a file's state (the state also gives the ids and metadata, so the file is
/// read once).
func restoreModel(_ state: ModelState, path: String) throws -> any Recommender {
    switch state.kind {
    case .multDAE: return try MultDAE.restore(from: state)
    case .multVAE: return try MultVAE.restore(from: state)
    case .cdae: return try CDAE.restore(from: state)
    case .autoRecI, .autoRecU: return try AutoRec.restore(from: state)
    case .ease: return try EASE.restore(from: state)
    case .pop: return try Popularity.restore(from: state)
    }
}

@c(aerec_model_load)
public func aerecModelLoad(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let out = try outHandle(out)
        let path = try requiredString(path, "path")
        let state = try ModelFile.read(path: path)
        let m = try restoreModel(state, path: path)
        var slot = ModelSlot()
        slot.model = m
        slot.itemIDs = state.itemIDs
        slot.userIDs = state.userIDs
        slot.trainUserCount = state.userIDs?.count ?? 0
        slot.metadata = state.metadata
        let box = ModelBox(kind: state.kind, configuration: nil, validationMetric: nil, earlyStopping: true, slot: slot)
        try newHandle(box, .model, into: out)
        return Status.ok
    }
}

@c(aerec_model_ids)
public func aerecModelIDs(_ mh: OpaquePointer?, _ which: Int32, _ buf: UnsafeMutablePointer<CChar>?, _ capacity: Int,
                          _ needed: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded {
        let box = try model(mh)
        let users = try idsSelector(which)
        let s = box.slot.withLock { $0 }
        guard let m = s.model else { throw CABIError.state("the model is not fitted") }
        var ids: [String]
        if users {
            ids = s.userIDs?.ids ?? (0..<s.trainUserCount).map(String.init)
        } else {
            ids = s.itemIDs?.ids ?? (0..<m.itemCount).map(String.init)
        }
        if !users && ids.count != m.itemCount { ids = (0..<m.itemCount).map(String.init) }
        return try writeIDs(ids, buf: buf, capacity: capacity, needed: needed)
    }
}

@c(aerec_model_free)
public func aerecModelFree(_ mh: OpaquePointer?) -> Int32 {
    guarded {
        if let box = try HandleTable.shared.remove(mh, kind: .model, argument: "model") as? ModelBox {
            box.stopRequested.store(true, ordering: .sequentiallyConsistent)
        }
        return Status.ok
    }
}
