// Dispatch for the models outside Mult-DAE/Mult-VAE: CDAE and AutoRec (EASE and Pop are
// dispatched in Experiment.swift).
extension ModelFactory {
    /// CDAE and AutoRec from an ExperimentConfiguration. Fields left nil keep the model's defaults.
    ///
    /// - CDAE: `latent ?? hidden` → ``CDAEConfiguration/hiddenDimension`` (its one hidden layer is the
    ///   code), `activation` → latent activation, `lambda` → ``CDAEConfiguration/l2`` (λ of
    ///   λ/2·‖θ‖²), `dropout` → ``CDAEConfiguration/corruption``, `learningRate` → Adam's; the user
    ///   node gets one row per training user (`userCount`).
    /// - AutoRec (`autorec-i` / `autorec-u`): `latent ?? hidden` → ``AutoRecConfiguration/hiddenDimension``,
    ///   `activation` → latent activation (the hidden layer g), `lambda` → the paper's
    ///   ``AutoRecConfiguration/lambda``, `learningRate` → Adam's. AutoRec has no dropout: a
    ///   `dropout` setting is rejected rather than silently ignored.
    static func makeOther(_ config: ExperimentConfiguration, itemCount: Int, userCount: Int) throws -> any TrainableRecommender {
        switch config.model {
        case .cdae:
            return try CDAE(itemCount: itemCount, userCount: userCount, configuration: try cdaeConfiguration(config),
                            seed: config.seed)
        case .autoRecI, .autoRecU:
            return try AutoRec(itemCount: itemCount, userCount: userCount, configuration: try autoRecConfiguration(config),
                               seed: config.seed)
        default:
            throw AERecError.invalidArgument("model '\(config.model.rawValue)' is not available yet")
        }
    }

    static func cdaeConfiguration(_ config: ExperimentConfiguration) throws -> CDAEConfiguration {
        var c = CDAEConfiguration(optimizer: adam(config))
        if let a = config.activation { c.latentActivation = a }
        if let d = config.latent ?? config.hidden { c.hiddenDimension = d }
        if let l = config.lambda { c.l2 = l }
        if let p = config.dropout { c.corruption = p }
        return c
    }

    static func autoRecConfiguration(_ config: ExperimentConfiguration) throws -> AutoRecConfiguration {
        var c = AutoRecConfiguration(orientation: config.model == .autoRecI ? .item : .user, optimizer: adam(config))
        if let a = config.activation { c.latentActivation = a }
        if let d = config.latent ?? config.hidden { c.hiddenDimension = d }
        if let l = config.lambda { c.lambda = l }
        if let p = config.dropout, p != 0 {
            throw AERecError.invalidArgument("AutoRec has no dropout (got dropout \(p))")
        }
        return c
    }
}

extension Experiment {
    static func setOtherIDs(_ model: any Recommender, items: IDMap, users: IDMap?) {
        if let m = model as? CDAE { m.itemIDs = items; m.userIDs = users }
        if let m = model as? AutoRec { m.itemIDs = items; m.userIDs = users }
    }
}

extension AnyModel {
    static func restoreOther(_ state: ModelState) throws -> any Recommender {
        switch state.kind {
        case .cdae: return try CDAE.restore(from: state)
        case .autoRecI, .autoRecU: return try AutoRec.restore(from: state)
        default:
            throw AERecError.modelFile(path: state.source, message: "model kind '\(state.kind.rawValue)' is not available yet")
        }
    }
}
