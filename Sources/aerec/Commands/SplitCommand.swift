import AERec
import ArgumentParser

/// `aerec split`: export a protocol's files, so other tools evaluate on exactly AERec's split.
struct SplitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Split a dataset under a protocol and export the parts as TSV files.",
        discussion: """
            Writes train.tsv, validation_fold_in.tsv, validation_target.tsv, test_fold_in.tsv,
            test_target.tsv, items.tsv (column order), users and split metadata, all with external
            ids and a header line. The same seed always gives the same files.

            Examples:
              aerec split --data ../shared/data/ml-100k/ratings.tsv.gz --threshold 3.5 \\
                          --protocol strong --heldout-users 94 --out splits/ml-100k
              aerec split --data ratings.tsv.gz --protocol loo --out splits/loo --json
            """
    )

    @Option(help: "Interaction file.") var data: String
    @Option(help: "Data format: auto, tsv, movielens-udata, movielens-dat, movielens-csv.") var format = "auto"
    @Option(help: "Keep only interactions with value > T.") var threshold: Float?
    @Option(name: .customLong("min-user"), help: "Drop users with fewer interactions.") var minUser = 0
    @Option(name: .customLong("min-item"), help: "Drop items with fewer interactions.") var minItem = 0
    @Flag(name: .customLong("k-core"), help: "Apply the minimum counts repeatedly until stable.") var kCore = false
    @Option(name: .customLong("protocol"), help: "strong, ratio, loo, explicit, given.") var splitProtocol = "strong"
    @Option(help: "Test file for --protocol given.") var test: String?
    @Option(name: .customLong("heldout-users"), help: "Strong: validation users (and as many test users).")
    var heldoutUsers: Int?
    @Option(name: .customLong("test-fraction"), help: "ratio/explicit: share held out for test.") var testFraction: Double?
    @Option(name: .customLong("validation-fraction"), help: "ratio/explicit: share held out for validation.")
    var validationFraction: Double?
    @Option(help: "Random seed.") var seed: UInt64 = 98765
    @Option(help: "Output directory.") var out: String
    @Flag(help: "Print one JSON object as the last line.") var json = false
    @Flag(help: "Print nothing but errors.") var quiet = false

    func run() throws {
        try runReportingErrors {
            var c = ExperimentConfiguration(dataPath: data, model: .ease)
            c.format = format
            c.threshold = threshold
            c.minUserInteractions = minUser
            c.minItemInteractions = minItem
            c.kCore = kCore
            guard let p = SplitProtocol(rawValue: splitProtocol.lowercased()) else {
                throw AERecError.invalidArgument("unknown protocol '\(splitProtocol)'; valid: \(SplitProtocol.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.split = p
            c.testPath = test
            c.heldOutUsers = heldoutUsers
            c.testFraction = testFraction
            c.validationFraction = validationFraction ?? (p == .ratio || p == .explicit ? 0.1 : 0)
            c.seed = seed
            c.model = .multDAE  // iterative: strong/loo also export a validation part
            let interactions = try Experiment.loadData(c)
            let split = try Experiment.makeSplit(interactions, c)
            try makeDirectories(out)
            try split.export(to: out)
            if !quiet {
                print("\(p.rawValue) split of \(data): \(split.train.rowCount) train users × \(split.itemIDs.count) items, "
                      + "\(split.validation?.count ?? 0) validation users, \(split.test.count) test users → \(out)")
            }
            if json {
                print("{\"protocol\": \"\(p.rawValue)\", \"train_users\": \(split.train.rowCount), \"items\": \(split.itemIDs.count), "
                      + "\"train_interactions\": \(split.train.nnz), \"validation_users\": \(split.validation?.count ?? 0), "
                      + "\"test_users\": \(split.test.count), \"out\": \(jsonString(out))}")
            }
        }
    }
}
