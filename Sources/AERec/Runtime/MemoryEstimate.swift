/// What a model needs in memory, estimated from its configuration and the data's shape before
/// anything is allocated, so that a configuration the machine cannot hold (EASE on a million
/// items, a Mult-VAE with a huge catalogue × batch) fails with
/// ``AERecError/insufficientMemory(needed:available:what:)`` instead of being killed by the kernel.
///
/// The estimate counts float32 arrays (a float64 scratch as two floats each): the weights; for
/// training also their gradients and Adam's two moments (3 × the weights) and the per-batch
/// workspace (batch × the widest layers, batch × items logits, the sparse-transpose scratch, the
/// output layer's per-thread scratch). The data matrices are not counted (they
/// exist already when a model is built). It is an upper bound within a few per cent for the
/// autoencoders; see docs/reliability.md.
public struct MemoryEstimate: Sendable, Equatable, CustomStringConvertible {
    /// Bytes of the weights (what a saved model holds).
    public var weights: Int
    /// Bytes of gradients and Adam moments (0 when not training).
    public var optimizer: Int
    /// Bytes of per-batch activations and scratch (0 when not training).
    public var workspace: Int
    /// What the estimate is for, in messages ("training mult-vae: 1,000,000 items, batch 500").
    public var what: String

    /// The sum, saturating at `Int.max / 2`.
    public var total: Int { MemoryEstimate.bytes(Double(weights) + Double(optimizer) + Double(workspace)) }

    public var description: String {
        "\(what): \(formatBytes(total)) (weights \(formatBytes(weights)), optimizer \(formatBytes(optimizer)), "
            + "workspace \(formatBytes(workspace)))"
    }

    /// An estimate from float32 element counts (Doubles, so that huge shapes cannot overflow).
    init(what: String, weightFloats: Double, training: Bool, workspaceFloats: Double) {
        self.what = what
        weights = Self.bytes(4 * weightFloats)
        optimizer = training ? Self.bytes(12 * weightFloats) : 0
        workspace = training ? Self.bytes(4 * workspaceFloats) : 0
    }

    /// Throws ``AERecError/insufficientMemory(needed:available:what:)`` when the total exceeds
    /// what ``SystemMemory`` says is available.
    public func require() throws {
        try SystemMemory.require(total, for: what)
    }

    static func bytes(_ x: Double) -> Int {
        guard x.isFinite, x >= 0 else { return Int.max / 2 }
        return x >= Double(Int.max / 2) ? Int.max / 2 : Int(x)
    }
}

/// Floats of the fused multinomial output layer's scratch on top of the logits: the weight-gradient
/// blocks and the backpropagated product's partial sums (``Parameter/fusedScratchFloats``, as the
/// workspaces allocate them) and the float64 column sums of the bias gradient, one items-wide row per
/// thread at most (2 floats per double; the kernel uses one per row part, and parts <= threads).
func outputLayerScratchFloats(hidden: Int, items: Int, batch: Int, threads: Int) -> Double {
    let t = max(1, threads)
    return Double(Parameter.fusedScratchFloats(rows: hidden, cols: items, batch: batch, threads: t))
        + 2 * Double(t) * Double(items)
}

extension MultDAE {
    /// Memory for a Mult-DAE on `itemCount` items; with `batchSize`, for training with that batch on
    /// `threads` threads.
    public static func memoryEstimate(itemCount: Int, configuration: MultDAEConfiguration,
                                      batchSize: Int? = nil, threads: Int = 1) -> MemoryEstimate {
        let i = Double(itemCount), d = Double(configuration.latentDimension), b = Double(batchSize ?? 0)
        let scratch = batchSize.map { outputLayerScratchFloats(hidden: configuration.latentDimension, items: itemCount,
                                                               batch: $0, threads: threads) } ?? 0
        return MemoryEstimate(what: "mult-dae with \(itemCount) items and code width \(configuration.latentDimension)"
                                  + (batchSize.map { ", training with batch \($0)" } ?? ""),
                              weightFloats: 2 * i * d + d + i, training: batchSize != nil,
                              workspaceFloats: b * (3 * d + i) + 2 * i + scratch)
    }
}

extension MultVAE {
    /// Memory for a Mult-VAE on `itemCount` items; with `batchSize`, for training with that batch on
    /// `threads` threads.
    public static func memoryEstimate(itemCount: Int, configuration: MultVAEConfiguration,
                                      batchSize: Int? = nil, threads: Int = 1) -> MemoryEstimate {
        let i = Double(itemCount), h = Double(configuration.hiddenDimension), d = Double(configuration.latentDimension)
        let b = Double(batchSize ?? 0)
        let scratch = batchSize.map { outputLayerScratchFloats(hidden: configuration.hiddenDimension, items: itemCount,
                                                               batch: $0, threads: threads) } ?? 0
        return MemoryEstimate(what: "mult-vae with \(itemCount) items, hidden width \(configuration.hiddenDimension) "
                                  + "and code width \(configuration.latentDimension)"
                                  + (batchSize.map { ", training with batch \($0)" } ?? ""),
                              weightFloats: 2 * i * h + 3 * h * d + 2 * h + 2 * d + i, training: batchSize != nil,
                              workspaceFloats: b * (6 * h + 7 * d + i) + 2 * i + scratch)
    }
}

extension CDAE {
    /// Memory for a CDAE on `itemCount` items and `userCount` training users (the user node); with
    /// `batchSize`, for training with that batch.
    public static func memoryEstimate(itemCount: Int, userCount: Int, configuration: CDAEConfiguration,
                                      batchSize: Int? = nil) -> MemoryEstimate {
        let i = Double(itemCount), u = Double(userCount), h = Double(configuration.hiddenDimension)
        let b = Double(batchSize ?? 0)
        return MemoryEstimate(what: "cdae with \(itemCount) items, \(userCount) users and hidden width "
                                  + "\(configuration.hiddenDimension)" + (batchSize.map { ", training with batch \($0)" } ?? ""),
                              weightFloats: 2 * i * h + u * h + h + i, training: batchSize != nil,
                              workspaceFloats: b * (3 * h + i) + 2 * i)
    }
}

extension AutoRec {
    /// Memory for an AutoRec on `itemCount` items and `userCount` training users; with
    /// `batchSize`, for training with that batch (of items for I-AutoRec, users for U-AutoRec).
    public static func memoryEstimate(itemCount: Int, userCount: Int, configuration: AutoRecConfiguration,
                                      batchSize: Int? = nil) -> MemoryEstimate {
        let item = configuration.orientation == .item
        let n = Double(item ? userCount : itemCount), h = Double(configuration.hiddenDimension)
        let codes = item ? Double(itemCount) * h : 0, b = Double(batchSize ?? 0)
        return MemoryEstimate(what: "\(item ? "autorec-i" : "autorec-u") with \(itemCount) items, \(userCount) users "
                                  + "and hidden width \(configuration.hiddenDimension)"
                                  + (batchSize.map { ", training with batch \($0)" } ?? ""),
                              weightFloats: 2 * n * h + h + n + codes, training: batchSize != nil,
                              workspaceFloats: b * (3 * h + n) + 2 * n)
    }
}

extension EASE {
    /// Memory for EASE on `itemCount` items: the item × item float32 matrix (the Gram matrix and the
    /// solution share it), and for a float64 solve its float64 copy while fitting.
    public static func memoryEstimate(itemCount: Int, configuration: EASEConfiguration = EASEConfiguration())
        -> MemoryEstimate {
        let i = Double(itemCount)
        var e = MemoryEstimate(what: "EASE's \(itemCount) × \(itemCount) weight matrix", weightFloats: i * i,
                               training: false, workspaceFloats: 0)
        if configuration.precision == .float64 {
            e.workspace = MemoryEstimate.bytes(8 * i * i)
            e.what += " and its float64 solve"
        }
        return e
    }

    /// What ``EASE/fit(_:validation:options:callback:)`` allocates beyond the weights, which exist
    /// by then: the float64 copy of a float64 solve (8 I² bytes), nothing for float32. Checked
    /// against the memory available at that moment, which no longer counts the weights.
    public static func solveWorkspaceEstimate(itemCount: Int, configuration: EASEConfiguration) -> MemoryEstimate {
        let i = Double(itemCount)
        var e = MemoryEstimate(what: "EASE's float64 solve on \(itemCount) items", weightFloats: 0, training: false,
                               workspaceFloats: 0)
        if configuration.precision == .float64 { e.workspace = MemoryEstimate.bytes(8 * i * i) }
        return e
    }
}

extension ModelFactory {
    /// What the model `config` asks for needs in memory on `itemCount` items and `userCount`
    /// training users: the weights, and with `training` the optimiser state and a workspace for
    /// the batch the trainer will use (the configured batch, at most the training users).
    public static func memoryEstimate(_ config: ExperimentConfiguration, itemCount: Int, userCount: Int,
                                      training: Bool = true) throws -> MemoryEstimate {
        let samples = config.model == .autoRecI ? itemCount : userCount
        let batch: Int? = training ? max(1, min(config.resolvedBatchSize, samples)) : nil
        switch config.model {
        case .multDAE:
            return MultDAE.memoryEstimate(itemCount: itemCount, configuration: try multDAEConfiguration(config),
                                          batchSize: batch, threads: config.threads)
        case .multVAE:
            return MultVAE.memoryEstimate(itemCount: itemCount,
                                          configuration: try multVAEConfiguration(config, batchesPerEpoch: 1),
                                          batchSize: batch, threads: config.threads)
        case .cdae:
            return CDAE.memoryEstimate(itemCount: itemCount, userCount: userCount,
                                       configuration: try cdaeConfiguration(config), batchSize: batch)
        case .autoRecI, .autoRecU:
            return AutoRec.memoryEstimate(itemCount: itemCount, userCount: userCount,
                                          configuration: try autoRecConfiguration(config), batchSize: batch)
        case .ease:
            return EASE.memoryEstimate(itemCount: itemCount, configuration: easeConfiguration(config))
        case .pop:
            return MemoryEstimate(what: "popularity on \(itemCount) items", weightFloats: Double(itemCount),
                                  training: false, workspaceFloats: 0)
        }
    }

    /// Throws ``AERecError/insufficientMemory(needed:available:what:)`` when training `config` on
    /// `itemCount` × `userCount` data would need more memory than is available.
    public static func requireMemory(_ config: ExperimentConfiguration, itemCount: Int, userCount: Int) throws {
        try memoryEstimate(config, itemCount: itemCount, userCount: userCount).require()
    }
}
