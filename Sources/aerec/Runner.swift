import AERec

#if canImport(Glibc)
import Glibc
#endif

/// What one training run produced.
struct RunOutcome {
    var model: any TrainableRecommender
    var result: ExperimentResult
    var epochs: [EpochReport]
    var split: Split
    var data: Interactions
    /// The configuration with every default spelled out.
    var resolved: ExperimentConfiguration
}

/// Set by the SIGINT handler: the epoch callback then asks the trainer to stop.
nonisolated(unsafe) var interruptRequested: sig_atomic_t = 0

/// First Ctrl-C: stop after the current epoch (the best epoch is kept, evaluated and saved);
/// second Ctrl-C: the default action.
func installInterruptHandler() {
    let previous = signal(SIGINT) { _ in
        interruptRequested = 1
        signal(SIGINT, SIG_DFL)
    }
    // started with SIGINT ignored (e.g. in the background of a non-interactive shell): keep it so
    if unsafeBitCast(previous, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) { signal(SIGINT, SIG_IGN) }
}

/// Reads and filters the data, with a phase line.
func loadData(_ c: ExperimentConfiguration, output: OutputOptions) throws -> Interactions {
    try Phase.run("reading \(c.dataPath)", enabled: !output.quiet, done: { (d: Interactions) in
        "read \(grouped(d.count)) interactions: \(grouped(d.userIDs.count)) users × \(grouped(d.itemIDs.count)) items"
            + (d.report.duplicatesDropped > 0 ? ", \(grouped(d.report.duplicatesDropped)) duplicates dropped" : "")
            + (d.report.linesRead > d.count ? " (\(grouped(d.report.linesRead)) lines read)" : "")
    }) { try Experiment.loadData(c) }
}

/// Splits under the configured protocol, with a phase line.
func makeSplit(_ data: Interactions, _ c: ExperimentConfiguration, output: OutputOptions) throws -> Split {
    try Phase.run("splitting (\(c.split.rawValue) protocol)", enabled: !output.quiet, done: { (s: Split) in
        "\(s.protocolKind.rawValue) split: \(grouped(s.train.rowCount)) training users × \(grouped(s.itemIDs.count)) items, "
            + "\(grouped(s.validation?.count ?? 0)) validation users, \(grouped(s.test.count)) test users"
    }) { try Experiment.makeSplit(data, c) }
}

/// Trains and evaluates one configuration on a prepared split, showing progress.
func trainAndEvaluate(_ c: ExperimentConfiguration, data: Interactions, split: Split, label: String,
                      output: OutputOptions, saveTo: String?, checkpoint: CheckpointOptions? = nil,
                      previousEpochs: [EpochReport] = []) throws -> RunOutcome {
    let iterative = c.model != .ease && c.model != .pop
    var epochs: [EpochReport] = previousEpochs
    let validationMetric: Metric = c.model.predictsRatings ? .rmse : .ndcg(100)
    let progress = TrainingProgress(label: label, totalEpochs: c.resolvedEpochs, metricName: validationMetric.name,
                                    enabled: !output.quiet && iterative)
    var phase: Phase? = nil
    if !iterative {
        let what = c.model == .ease
            ? "\(label): EASE fit (Gram XᵀX, Cholesky factorisation, inverse; \(grouped(split.itemIDs.count)) items)"
            : "\(label): counting item popularity"
        phase = Phase(what, enabled: !output.quiet)
    }
    progress.start()
    let t0 = now()
    let (model, result) = try Experiment.run(c, split: split, data: data, saveTo: saveTo, checkpoint: checkpoint) { r in
        epochs.append(r)
        progress.epoch(r)
        if let path = r.checkpointPath { progress.note("\(label): checkpoint after epoch \(r.epoch) written to \(path)") }
        if let phase {
            phase.finish("\(label): fitted\(r.validation.map { ", validation \(validationMetric.name) \(fmt($0, 4))" } ?? "")")
            phase.update("\(label): scoring \(grouped(split.test.count)) test users")
        }
        return interruptRequested != 0 ? .stop : .proceed
    }
    if let phase {
        phase.finish(nil)
    } else {
        let stopped = interruptRequested != 0 ? " (stopped by Ctrl-C)" : ""
        progress.finish("\(label): \(result.epochsRun) epochs in \(duration(now() - t0))\(stopped), best epoch \(result.bestEpoch)"
                        + (result.bestValidation.map { " (validation \(validationMetric.name) \(fmt($0, 4)))" } ?? ""))
    }
    var r = result
    let resolved = c.resolved(split: split, model: model)
    r.configuration = resolved
    return RunOutcome(model: model, result: r, epochs: epochs, split: split, data: data, resolved: resolved)
}

/// The metrics table (one row per run): name, value and 95 % CI half-width of each metric.
func metricsTable(_ rows: [(label: String, result: ExperimentResult)], metrics: [String]) -> String {
    let labelWidth = max(10, rows.map(\.label.count).max() ?? 0) + 1
    var out = "".padding(labelWidth) + metrics.map { $0.leftPadding(16) }.joined() + "\n"
    for row in rows {
        var line = row.label.padding(labelWidth)
        for m in metrics {
            if let v = row.result.metrics[m] {
                let half = row.result.metricsCI[m].map { "±" + fmt(($0[1] - $0[0]) / 2, 3) } ?? ""
                line += (fmt(v, 4) + half).leftPadding(16)
            } else {
                line += "-".leftPadding(16)
            }
        }
        out += line + "\n"
    }
    return out
}
