import AERec
import ArgumentParser

/// `aerec probe`: P1–P3 of the theory, measured on a saved autoencoder's encoder.
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the latent properties P1–P3 of a saved autoencoder's encoder.",
        discussion: """
            Encodes users from --data (default: the data of the run whose config.json sits beside \
            the model file, or the path the model file records; filtered as in training) and \
            reports, after Susman (arXiv 2411.04315): P1 dimension reduction (m < n and the \
            codes' participation ratio), P2 preservation of the order of input dot products \
            (sampled triples, Kendall τ, top-k neighbour overlap), P3 no zero codes (users, \
            one-hot items, negated users; dead and constant units; enc(0)). The activation's \
            family and the theory's verdict come with it. Deterministic given --seed and --threads. \
            EASE and popularity have no encoder.

            Examples:
              aerec probe runs/dae/model.aerec
              aerec probe runs/dae/model.aerec --data builtin --users 500 --json
            """
    )

    @Argument(help: ArgumentHelp("The model file (model.aerec) of an autoencoder.", valueName: "model-file"))
    var modelFile: String
    @Option(help: ArgumentHelp("Configuration file (JSON) for the data path and filters; default: config.json beside the model file.",
                               valueName: "file"))
    var config: String?
    @OptionGroup(title: "Data") var dataOptions: DataOptions
    @Option(help: "Users sampled and encoded.") var users = 1000
    @Option(help: "Triples (x, u, v) for P2's order fraction.") var samples = 2000
    @Option(help: "Anchors for Kendall's τ and the neighbour overlap.") var anchors = 200
    @Option(help: "Candidate-set size for Kendall's τ.") var candidates = 100
    @Option(help: "k of the top-k neighbour overlap.") var neighbours = 10
    @Option(name: .customLong("item-probes"), help: "One-hot item probes for P3.") var itemProbes = 1000
    @Option(help: "Norm at or below which a code counts as zero.") var epsilon: Float = 1e-6
    @Option(help: "Random seed of the samples.") var seed: UInt64 = 98765
    @Option(help: "Threads.") var threads = 2
    @OptionGroup var output: OutputOptions

    func run() throws {
        try runReportingErrors {
            let saved = try Phase.run("loading \(modelFile)", enabled: !output.quiet, done: { (s: SavedModel) in
                "loaded \(s.model.kind.rawValue) model: \(grouped(s.itemIDs.count)) items"
            }) { try SavedModel.load(path: modelFile) }
            guard let encoder = saved.model as? any Autoencoder else {
                throw AERecError.invalidArgument("\(saved.model.kind.rawValue) has no encoder to probe; probe an autoencoder (mult-dae, mult-vae, cdae, autorec-i, autorec-u)")
            }
            var c = try evaluationConfiguration(for: saved, modelFile: modelFile, configFile: config, output: output)
            try dataOptions.apply(to: &c)
            try resolveDataPath(&c, default: saved.metadata[ModelState.MetadataKey.dataPath])
            let data = try loadData(c, output: output)
            let rows = try saved.encoderInput(from: data)
            let probe = PropertyProbe(samples: samples, users: users, anchors: anchors, candidates: candidates,
                                      neighbours: neighbours, itemProbes: itemProbes, epsilon: epsilon, seed: seed,
                                      threads: threads)
            let report = try Phase.run("probing the \(encoder.latentActivation.name) encoder (P1–P3)", enabled: !output.quiet,
                                       done: { (r: ProbeReport) in "probed \(grouped(r.rowsProbed)) rows" }) {
                try probe.probe(encoder, on: rows)
            }
            output.say(report.summary)
            if output.json {
                guard case .object(var o) = try JSONValue(encoding: report) else { return }
                o["model_file"] = JSONValue(modelFile)
                o["data"] = JSONValue(c.dataPath)
                try printJSON(.object(o))
            }
        }
    }
}
