import AERec
import ArgumentParser

/// `aerec split`: export a protocol's files, so other tools evaluate on exactly AERec's split.
struct SplitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Split a dataset under a protocol and export the parts as TSV files.",
        discussion: """
            Writes train.tsv, validation_fold_in.tsv, validation_target.tsv, test_fold_in.tsv, \
            test_target.tsv, items.tsv (column order), users and split metadata, all with external \
            ids and a header line. The same data, filters, protocol and seed always give the same \
            files (the split `aerec train` trains on; validation parts as for the neural models).

            Examples:
              aerec split --data builtin --out splits/builtin
              aerec split --data ../shared/data/ml-100k/ratings.tsv.gz \\
                          --threshold 3.5 --protocol strong --heldout-users 94 \\
                          --out splits/ml-100k
              aerec split --data ratings.tsv.gz --protocol loo --out splits/loo --json
            """
    )

    @Option(help: ArgumentHelp("Configuration file (JSON, as written by train --out); flags win.", valueName: "file"))
    var config: String?
    @OptionGroup(title: "Data") var dataOptions: DataOptions
    @OptionGroup(title: "Protocol") var splitOptions: SplitOptions
    @Option(help: ArgumentHelp("Output directory.", valueName: "dir")) var out: String
    @OptionGroup var output: OutputOptions

    func run() throws {
        try runReportingErrors {
            var c = try baseConfiguration(configFile: config)
            try dataOptions.apply(to: &c)
            try splitOptions.apply(to: &c)
            try resolveDataPath(&c)
            // without a configuration: split as for an iterative model (every protocol then has a
            // validation part); with one: exactly the split its model trains on
            if config == nil { c.model = .multDAE }
            let data = try loadData(c, output: output)
            let split = try makeSplit(data, c, output: output)
            try makeDirectories(out)
            try split.export(to: out)
            output.say("\(split.protocolKind.rawValue) split of \(c.dataPath): \(split.train.rowCount) train users × "
                       + "\(split.itemIDs.count) items, \(split.validation?.count ?? 0) validation users, "
                       + "\(split.test.count) test users → \(out)")
            if output.json {
                try printJSON(jsonObject([
                    ("protocol", JSONValue(split.protocolKind.rawValue)), ("data", JSONValue(c.dataPath)),
                    ("seed", .unsigned(c.seed)), ("train_users", JSONValue(split.train.rowCount)),
                    ("items", JSONValue(split.itemIDs.count)), ("train_interactions", JSONValue(split.train.nnz)),
                    ("validation_users", JSONValue(split.validation?.count ?? 0)),
                    ("test_users", JSONValue(split.test.count)), ("out", JSONValue(out)),
                ]))
            }
        }
    }
}
