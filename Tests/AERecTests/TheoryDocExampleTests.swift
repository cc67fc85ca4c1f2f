import Foundation
import Testing
@testable import AERec

/// The Swift examples of docs/theory.md, run on the built-in dataset (kept in step with the doc:
/// if one of these stops compiling or running, the doc is wrong too).
@Suite("Theory: docs/theory.md examples")
struct TheoryDocExampleTests {
    @Test("families, probes and selection as the doc shows them")
    func docExamples() throws {
        // --- families
        for c in ActivationClassifier.classifyAll() {
            _ = "\(c.activation.name): \(c.family), \(c.verdict) — \(c.reason)"
        }
        let hs = Activation.hardSigmoid.classify().properties
        #expect(hs.zeroSet == .leftHalfLine && hs.zeroSetBoundary == -3)

        // --- probes
        let raw = try InteractionReader.read(path: try BuiltinDataset.locate())
        let data = try InteractionFilter(threshold: 6, minUserInteractions: 5).apply(to: raw)
        let split = try makeSplit(data, .strong(heldOutUsers: 200, seed: 1))
        let model = try MultDAE(itemCount: split.train.columnCount,
                                configuration: .init(latentDimension: 64, latentActivation: .sigmoid,
                                                     optimizer: .init(learningRate: 3e-3)))
        try model.fit(split.train, validation: split.validation,
                      options: TrainingOptions(epochs: 3, batchSize: 100, seed: 1))
        let probe = PropertyProbe(samples: 2000, users: 500, seed: 7)
        let report = try probe.probe(model, on: split.train)
        #expect(report.summary.contains("P1 ") && report.summary.contains("P3 "))
        #expect(report.p3.verdict.passed)            // sigmoid codes are never zero
        let json = try JSONEncoder().encode(report)
        #expect(!json.isEmpty)

        // --- selection (tiny budget)
        var selection = ActivationSelection(model: .multDAE, candidates: [.sigmoid, .tanh],
                                            learningRates: [3e-3], regularizations: [0.001], seeds: [1, 2])
        selection.base.latent = 32
        selection.base.epochs = 3
        selection.base.batchSize = 100
        selection.probe = PropertyProbe(samples: 500, users: 300, anchors: 50)
        var lines: [String] = []
        let selected = try selection.run(on: split) { lines.append($0.line) }
        #expect(lines.count == 4)
        #expect(selected.markdown().contains("**Recommendation:"))
        #expect(selected.svg().hasPrefix("<svg"))
        _ = try selected.json()
    }
}
