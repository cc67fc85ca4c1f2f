// Temporary dispatch for the models still being written (EASE, Pop, CDAE, AutoRec).
extension ModelFactory {
    static func makeOther(_ config: ExperimentConfiguration, itemCount: Int, userCount: Int,
                          adam: AdamConfiguration) throws -> any TrainableRecommender {
        throw AERecError.invalidArgument("model '\(config.model.rawValue)' is not available yet")
    }
}

extension Experiment {
    static func setOtherIDs(_ model: any Recommender, items: IDMap, users: IDMap?) {}
}

extension AnyModel {
    static func restoreOther(_ state: ModelState) throws -> any Recommender {
        throw AERecError.modelFile(path: state.source, message: "model kind '\(state.kind.rawValue)' is not available yet")
    }
}
