import AERec
import ArgumentParser

/// `aerec recommend`: top-k items for users given by external id, from their history in a data file.
struct Recommend: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recommend the top-k items for users (by external id), their seen items excluded.",
        discussion: """
            Each user's history is read from --data (default: the data of the run whose config.json \
            sits beside the model file, or the path recorded in the model file), filtered as in \
            training (--threshold etc.); it is the model's input. Every item the user has in the data \
            file — also those removed by the filters, e.g. low ratings — is excluded from the list. \
            Users and items are external ids as in the data file; history items the model does not \
            know are ignored and counted. A user without interactions in the data is an error (exit 3).

            Examples:
              aerec recommend runs/dae/model.aerec --user 42
              aerec recommend runs/dae/model.aerec --data builtin \\
                              --user 42 --user 7 -k 20
              aerec recommend runs/ease/model.aerec --data ratings.tsv.gz \\
                              --users 1,2,3 --json --quiet
            """
    )

    @Argument(help: ArgumentHelp("The model file (model.aerec).", valueName: "model-file")) var modelFile: String
    @Option(name: [.customLong("user"), .customLong("users")],
            help: ArgumentHelp("External user id(s); repeat the option or separate ids by commas.", valueName: "id"))
    var users: [String] = []
    @Option(name: [.customShort("k"), .long], help: "Items per user.") var top = 10
    @Option(help: ArgumentHelp("Configuration file (JSON) for the data path and filters; default: config.json beside the model file.",
                               valueName: "file"))
    var config: String?
    @OptionGroup(title: "Data") var dataOptions: DataOptions
    @Option(help: "Threads for scoring.") var threads = 2
    @OptionGroup var output: OutputOptions

    func run() throws {
        try runReportingErrors {
            let ids = commaList(users)
            guard !ids.isEmpty else { throw usageError("give at least one user: --user ID (repeatable) or --users ID,ID,...") }
            guard top >= 1 else { throw usageError("-k must be ≥ 1, got \(top)") }
            guard (1...256).contains(threads) else { throw usageError("--threads must be in 1...256, got \(threads)") }
            let saved = try Phase.run("loading \(modelFile)", enabled: !output.quiet, done: { (s: SavedModel) in
                "loaded \(s.model.kind.rawValue) model: \(grouped(s.itemIDs.count)) items"
            }) { try SavedModel.load(path: modelFile) }
            var c = try evaluationConfiguration(for: saved, modelFile: modelFile, configFile: config, output: output)
            try dataOptions.apply(to: &c)
            try resolveDataPath(&c, default: saved.metadata[ModelState.MetadataKey.dataPath])
            // the raw file (for exclusions) and the filtered histories (the model's input)
            let raw = try Phase.run("reading \(c.dataPath)", enabled: !output.quiet, done: { (d: Interactions) in
                "read \(grouped(d.count)) interactions: \(grouped(d.userIDs.count)) users × \(grouped(d.itemIDs.count)) items"
            }) { try InteractionReader.read(path: c.dataPath, format: try Experiment.parseFormat(c.format)) }
            let filter = InteractionFilter(threshold: c.threshold, minUserInteractions: c.minUserInteractions,
                                           minItemInteractions: c.minItemInteractions, kCore: c.kCore)
            let history = filter == InteractionFilter() ? raw : try filter.apply(to: raw)
            for u in ids where history.userIDs.index(of: u) == nil {
                if raw.userIDs.index(of: u) == nil {
                    throw AERecError.data("user '\(u)' is not in \(c.dataPath) (\(grouped(raw.userIDs.count)) users)")
                }
                throw AERecError.data("user '\(u)' has no interactions left in \(c.dataPath) after the filters")
            }
            let lists = try saved.recommend(users: ids, history: history, alsoExclude: raw, k: top, threads: threads)
            if !output.quiet {
                for l in lists {
                    let unknown = l.unknownHistoryItems > 0 ? ", \(l.unknownHistoryItems) unknown to the model" : ""
                    print("user \(l.user)  (history: \(l.historyItems) items\(unknown))")
                    for r in l.items {
                        print("  \(String(r.rank).leftPadding(3))  \(r.item.padding(14)) \(fmt(Double(r.score), 4).leftPadding(10))")
                    }
                }
            }
            if output.json {
                try printJSON(jsonObject([
                    ("model_file", JSONValue(modelFile)), ("model", JSONValue(saved.model.kind.rawValue)),
                    ("data", JSONValue(c.dataPath)), ("k", JSONValue(top)), ("users", try JSONValue(encoding: lists)),
                ]))
            }
        }
    }
}
