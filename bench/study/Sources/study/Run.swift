import AERec
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Seconds since the process started (for log lines).
let processStart = ContinuousClock.now
func elapsed() -> String {
    let d = processStart.duration(to: .now).components
    let s = Int(d.seconds)
    func two(_ x: Int) -> String { x < 10 ? "0\(x)" : "\(x)" }
    return "\(two(s / 3600)):\(two(s / 60 % 60)):\(two(s % 60))"
}

func log(_ s: String) {
    print("[\(elapsed())] \(s)")
    fflush(nil)
}

/// Reads and prepares a cell's data and split.
func prepare(_ cell: Cell) throws -> (split: Split, summary: DataSummary) {
    let d = cell.dataset
    var data = try InteractionReader.read(path: d.path, format: .auto)
    let raw = data.count
    if let keepUsers = d.subsampleUsers, keepUsers < data.userIDs.count {
        // a seeded random subset of users, chosen by hashing their index
        var order = Array(0..<data.userIDs.count)
        for i in 0..<min(keepUsers, order.count) {
            let j = i + Int(splitmix64(StudySettings.splitSeed &+ UInt64(i)) % UInt64(order.count - i))
            order.swapAt(i, j)
        }
        var chosen = [Bool](repeating: false, count: data.userIDs.count)
        for u in order.prefix(keepUsers) { chosen[u] = true }
        let keep = data.users.indices.filter { chosen[Int(data.users[$0])] }
        data = Interactions(users: keep.map { data.users[$0] }, items: keep.map { data.items[$0] },
                            values: keep.map { data.values[$0] }, timestamps: data.timestamps.map { t in keep.map { t[$0] } },
                            userIDs: data.userIDs, itemIDs: data.itemIDs, report: data.report)
    }
    let split: Split
    if cell.model.predictsRatings {
        let filtered = try InteractionFilter(minUserInteractions: d.minUser, minItemInteractions: d.minItem).apply(to: data)
        split = try makeSplit(filtered, .explicit(testFraction: 0.1, validationFraction: 0.1, seed: StudySettings.splitSeed))
        data = filtered
    } else {
        let filtered = try InteractionFilter(threshold: d.threshold, minUserInteractions: d.minUser,
                                             minItemInteractions: d.minItem, binarize: true).apply(to: data)
        split = try makeSplit(filtered, .strong(heldOutUsers: d.heldOut, seed: StudySettings.splitSeed))
        data = filtered
    }
    let summary = DataSummary(dataset: d.name, rawInteractions: raw, users: data.userIDs.count,
                              items: data.itemIDs.count, interactions: data.count, trainUsers: split.train.rowCount,
                              trainItems: split.train.columnCount, validationUsers: split.validation?.count ?? 0,
                              testUsers: split.test.count,
                              protocolName: cell.model.predictsRatings ? "explicit 80/10/10 (ratings)" : "strong generalisation, \(d.heldOut) + \(d.heldOut) held-out users, 80/20 fold-in/target",
                              note: cell.model.predictsRatings ? "raw ratings, users with ≥ \(d.minUser)" : d.note)
    return (split, summary)
}

/// The selection configured for a cell.
func selection(for cell: Cell, threads: Int) -> ActivationSelection {
    let d = cell.dataset
    var base = ExperimentConfiguration(dataPath: d.path, model: cell.model)
    switch cell.model {
    case .multDAE, .cdae: base.latent = d.latent
    case .multVAE: base.hidden = d.vaeHidden; base.latent = d.latent
    default: break
    }
    base.epochs = d.epochs
    base.patience = d.patience
    base.threads = threads
    var probe = StudySettings.probe
    probe.threads = threads
    return ActivationSelection(model: cell.model, candidates: ActivationSelection.studyCandidates,
                               learningRates: d.learningRates, regularizations: nil, seeds: StudySettings.seeds,
                               tuningSeed: StudySettings.tuningSeed, base: base, probe: probe)
}

/// What the report needs to know about a cell's data.
struct DataSummary: Codable, Sendable {
    var dataset: String
    var rawInteractions: Int
    var users: Int
    var items: Int
    var interactions: Int
    var trainUsers: Int
    var trainItems: Int
    var validationUsers: Int
    var testUsers: Int
    var protocolName: String
    var note: String
}

/// A cell's result file: the data summary and the selection report.
struct CellResult: Codable, Sendable {
    var cell: String
    var dataset: String
    var model: String
    var data: DataSummary
    var report: SelectionReport
    var wallSeconds: Double
}

func runCell(_ cell: Cell, threads: Int, outDir: String) throws {
    let t0 = ContinuousClock.now
    let (split, summary) = try prepare(cell)
    log("\(cell.id): \(summary.users) users × \(summary.items) items, \(summary.interactions) interactions; train \(summary.trainUsers) × \(summary.trainItems), validation \(summary.validationUsers), test \(summary.testUsers)")
    let sel = selection(for: cell, threads: threads)
    var report = try sel.run(on: split) { p in log("\(cell.id) \(p.line)") }
    report.label = cell.dataset.name
    let wall = t0.duration(to: .now).components
    let result = CellResult(cell: cell.id, dataset: cell.dataset.name, model: cell.model.rawValue, data: summary,
                            report: report, wallSeconds: Double(wall.seconds) + Double(wall.attoseconds) * 1e-18)
    try writeJSON(result, to: "\(outDir)/\(cell.id).json")
    log("\(cell.id): done in \(Int(result.wallSeconds)) s — recommends \(report.recommendation.activation.name) (\(report.recommendation.basis.rawValue))")
}

func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    var v = value
    if var r = v as? CellResult {
        // per-user values are summarised in the report; drop them to keep the files small
        for i in r.report.runs.indices {
            r.report.runs[i].validationPerUser = [:]; r.report.runs[i].testPerUser = [:]
            r.report.runs[i].validationUsers = []; r.report.runs[i].testUsers = []
        }
        v = r as! T
    }
    let data = try e.encode(v)
    let tmp = path + ".tmp"
    try data.write(to: URL(fileURLWithPath: tmp))
    _ = try? FileManager.default.removeItem(atPath: path)
    try FileManager.default.moveItem(atPath: tmp, toPath: path)
}

/// Times one short run per cell (sigmoid, 2 epochs, no early stopping) to plan the budget.
func calibrate(_ cells: [Cell], threads: Int) throws {
    for cell in cells {
        let (split, s) = try prepare(cell)
        let sel = selection(for: cell, threads: threads)
        var config = sel.base
        config.epochs = 2
        config.activation = .sigmoid
        let batch = config.resolvedBatchSize
        let model = try ModelFactory.make(config, itemCount: split.train.columnCount, userCount: split.train.rowCount,
                                          batchesPerEpoch: (split.train.rowCount + batch - 1) / batch)
        var options = TrainingOptions(epochs: 2, batchSize: batch, seed: 1, threads: threads, earlyStoppingPatience: nil)
        options.validationMetric = sel.resolvedSelectionMetric
        let t0 = ContinuousClock.now
        let history = try model.fit(split.train, validation: split.validation, options: options, callback: nil)
        let d = t0.duration(to: .now).components
        let total = Double(d.seconds) + Double(d.attoseconds) * 1e-18
        let perEpoch = history.epochs.map { $0.trainSeconds + $0.validationSeconds }.reduce(0, +) / Double(max(history.epochs.count, 1))
        log("\(cell.id): \(s.trainUsers) × \(s.trainItems); \(fixed(perEpoch, 2)) s/epoch (incl. validation), 2 epochs \(fixed(total, 1)) s; cap \(cell.dataset.epochs) epochs → ≤ \(Int(perEpoch * Double(cell.dataset.epochs))) s/run, \(sel.runsPerCandidate * sel.candidates.count) runs")
    }
}

/// SplitMix64: a seeded 64-bit hash for the user subsample.
func splitmix64(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

func fixed(_ x: Double, _ digits: Int) -> String {
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    return "\((x * p).rounded() / p)"
}
