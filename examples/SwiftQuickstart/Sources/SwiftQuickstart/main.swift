import AERec

// OpenBLAS reads OPENBLAS_CORETYPE only when it loads: re-execute on the fast core if needed.
BLAS.relaunchOnFastCoreIfNeeded()

let path = CommandLine.arguments.dropFirst().first ?? "../../data/movietweetings-10core/ratings.tsv.gz"
do {
    // 1. data: read, keep ratings > 3.5... here the built-in MovieTweetings subset (ratings 0-10: keep > 6)
    let raw = try InteractionReader.read(path: path)
    let data = try InteractionFilter(threshold: 6).apply(to: raw)
    // 2. the strong-generalisation protocol of Liang et al. (held-out users unseen in training)
    let split = try makeSplit(data, .strong(heldOutUsers: data.userIDs.count / 10, seed: 1))
    // 3. two latent activations, same budget
    for activation in [Activation.tanh, .sigmoid] {
        let model = try MultDAE(itemCount: split.train.columnCount,
                                configuration: .init(latentActivation: activation,
                                                     optimizer: .init(learningRate: 3e-3)))
        let history = try model.fit(split.train, validation: split.validation,
                                    options: TrainingOptions(epochs: 30, batchSize: 100, seed: 1))
        // 4. full-ranking metrics on the test users, seen items excluded
        let result = try Evaluator(metrics: [.ndcg(100), .recall(20)], threads: 2).evaluate(model, on: split.test)
        let ndcg = result[.ndcg(100)]!
        print("\(activation.name): NDCG@100 \(ndcg.value) ± \(ndcg.halfWidth ?? 0), best epoch \(history.bestEpoch)")
        try model.save(to: "/tmp/quickstart-\(activation.name).aerec")
    }
} catch {
    print("error: \(error)")
}
