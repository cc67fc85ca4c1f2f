import Testing
@testable import AERec
#if canImport(Glibc)
import Glibc
#endif

/// Interrupted training: a run continued from the checkpoint of any epoch gives the model of the
/// uninterrupted run bit for bit (Mult-DAE, Mult-VAE, CDAE, I- and U-AutoRec; lazy and dense Adam;
/// checkpoints before and after the best epoch; early stopping), and damaged or mismatched
/// checkpoints are refused with a clear error.
@Suite("Checkpoints and resume")
struct CheckpointTests {
    /// A weak-generalisation split (I-AutoRec needs training rows) of a synthetic rating log.
    static let split: Split = try! makeSplit(SplitFixtures.synthetic(users: 150, items: 50),
                                             .ratio(testFraction: 0.2, validationFraction: 0.15, seed: 3))

    static func configuration(_ kind: ModelKind, lazy: Bool = true) -> ExperimentConfiguration {
        var c = ExperimentConfiguration(dataPath: "-", model: kind)
        c.epochs = 12
        c.patience = 3
        c.seed = 77
        c.threads = 2
        c.batchSize = 32
        c.learningRate = kind.predictsRatings ? 0.01 : 0.03
        switch kind {
        case .multVAE: c.hidden = 16; c.latent = 6
        default: c.latent = 8
        }
        _ = lazy
        return c
    }

    /// Trains `config` through Experiment.run with checkpoints every epoch; `stopAt` ends the run
    /// after that epoch (the checkpoint of that epoch is then the last one written), like a kill.
    static func train(_ config: ExperimentConfiguration, checkpoint: CheckpointOptions?,
                      stopAt: Int? = nil) throws -> (ModelState, TrainingHistory?) {
        var reports: [EpochReport] = []
        let (model, _) = try Experiment.run(config, split: split, checkpoint: checkpoint) { r in
            reports.append(r)
            return r.epoch == stopAt ? .stop : .proceed
        }
        let state = try (model as! any PersistableModel).modelState()
        var h = TrainingHistory()
        h.epochs = reports
        return (state, h)
    }

    static func tempDir() -> String { DataFixtures.tempDir() }

    @Test("resuming from the checkpoint of epoch k gives the uninterrupted model, bit for bit",
          arguments: [ModelKind.multDAE, .multVAE, .cdae, .autoRecI, .autoRecU])
    func bitIdentical(kind: ModelKind) throws {
        let dir = Self.tempDir()
        let config = Self.configuration(kind)
        // the reference: no checkpoints at all
        let (reference, refReports) = try Self.train(config, checkpoint: nil)
        let epochs = refReports!.epochs
        #expect(epochs.count >= 3)
        // checkpoints do not change the run
        let (withCheckpoints, _) = try Self.train(config, checkpoint: CheckpointOptions(path: dir + "/all.aerec", every: 1))
        #expect(withCheckpoints == reference)
        // interrupt after epoch k (checkpoint k is the last one), resume from it
        let best = epochs.last(where: { $0.isBest })?.epoch ?? 1
        let points = Set([1, best, min(best + 1, epochs.count - 1), epochs.count - 1]).filter { $0 >= 1 && $0 < epochs.count }
        for k in points.sorted() {
            let path = dir + "/ckpt-\(k).aerec"
            let (_, partial) = try Self.train(config, checkpoint: CheckpointOptions(path: path, every: 1), stopAt: k)
            #expect(partial!.epochs.count == k)
            let stored = try TrainingCheckpoint.read(path: path)
            #expect(stored.epoch == k)
            #expect(stored.history.epochs.map(\.loss) == Array(epochs.prefix(k)).map(\.loss))
            var resumedReports: [EpochReport] = []
            let (model, result) = try Experiment.run(config, split: Self.split,
                                                     checkpoint: CheckpointOptions(path: path, every: 1, resume: true)) { r in
                resumedReports.append(r)
                return .proceed
            }
            let resumed = try (model as! any PersistableModel).modelState()
            #expect(resumed == reference, "\(kind.rawValue): resumed after epoch \(k) differs from the uninterrupted run")
            #expect(resumedReports.map(\.epoch) == Array(epochs.dropFirst(k)).map(\.epoch))
            #expect(resumedReports.map(\.loss) == Array(epochs.dropFirst(k)).map(\.loss))
            #expect(resumedReports.map(\.validation) == Array(epochs.dropFirst(k)).map(\.validation))
            #expect(result.epochsRun == epochs.count)
            #expect(result.bestEpoch == best)
        }
    }

    @Test("dense (non-lazy) Adam and a validation interval also resume exactly")
    func denseAdam() throws {
        let dir = Self.tempDir()
        let train = Self.split.train.binarized()
        func make() throws -> MultDAE {
            try MultDAE(itemCount: train.columnCount,
                        configuration: .init(latentDimension: 8, optimizer: AdamConfiguration(learningRate: 0.02, lazy: false)))
        }
        var options = TrainingOptions(epochs: 9, batchSize: 40, seed: 5, threads: 2, earlyStoppingPatience: nil,
                                      validateEvery: 2)
        let reference = try make()
        let h = try reference.fit(train, validation: Self.split.validation, options: options)
        options.checkpoint = CheckpointOptions(path: dir + "/dense.aerec", every: 3)
        let interrupted = try make()
        _ = try interrupted.fit(train, validation: Self.split.validation, options: options) { $0.epoch == 7 ? .stop : .proceed }
        #expect(try TrainingCheckpoint.read(path: dir + "/dense.aerec").epoch == 6)
        options.checkpoint?.resume = true
        let resumed = try make()
        let h2 = try resumed.fit(train, validation: Self.split.validation, options: options)
        #expect(try resumed.modelState() == reference.modelState())
        #expect(h2.epochs.count == h.epochs.count && h2.bestEpoch == h.bestEpoch && h2.bestValidation == h.bestValidation)
    }

    @Test("a checkpoint is an ordinary model file: info reads it, its weights load, extra tensors are named")
    func fileLayout() throws {
        let dir = Self.tempDir()
        let path = dir + "/c.aerec"
        _ = try Self.train(Self.configuration(.multDAE), checkpoint: CheckpointOptions(path: path, every: 2), stopAt: 3)
        let info = try ModelFile.readHeader(path: path)
        #expect(info.kind == .multDAE)
        #expect(info.metadata[TrainingCheckpoint.marker] == "1" && info.metadata["checkpoint.epoch"] == "2")
        #expect(info.tensors.map(\.name).contains("optimizer.m:encoder.weight"))
        #expect(info.tensors.map(\.name).contains("best:decoder.bias"))
        #expect(try Experiment.configuration(ofCheckpoint: path) == Self.configuration(.multDAE))
        let model = try AnyModel.load(path: path)
        #expect(model.kind == .multDAE)
        // it carries the external id maps and the protocol like the final model file, so that
        // `aerec evaluate` / `recommend` on a checkpoint match items by id and recreate the split
        let state = try ModelFile.read(path: path)
        #expect(state.itemIDs == Self.split.itemIDs)
        #expect(state.userIDs?.ids == Self.split.trainUsers.map { Self.split.userIDs[Int($0)] })
        #expect(info.metadata[ModelState.MetadataKey.split] == Self.configuration(.multDAE).split.rawValue)
        #expect(info.metadata[ModelState.MetadataKey.seed] == "77")
        // only the checkpoint file and no temporaries are left in the directory
        #expect(DataFixtures.listDirectory(dir) == ["c.aerec"])
    }

    @Test("mismatched, missing, damaged and foreign checkpoints are refused naming the reason")
    func refusals() throws {
        let dir = Self.tempDir()
        let path = dir + "/c.aerec"
        let config = Self.configuration(.multDAE)
        _ = try Self.train(config, checkpoint: CheckpointOptions(path: path, every: 1), stopAt: 2)
        let resume = CheckpointOptions(path: path, every: 1, resume: true)
        func message(_ c: ExperimentConfiguration, _ options: CheckpointOptions = CheckpointOptions(path: "", every: 1,
                                                                                                    resume: true)) -> String? {
            var o = options
            if o.path.isEmpty { o.path = path }
            do {
                _ = try Experiment.run(c, split: Self.split, checkpoint: o)
                return nil
            } catch { return "\(error)" }
        }
        var seed = config
        seed.seed = 78
        #expect(message(seed)?.contains("seed 77, this run 78") == true)
        var threads = config
        threads.threads = 1
        #expect(message(threads)?.contains("threads 2, this run 1") == true)
        var latent = config
        latent.latent = 7
        #expect(message(latent)?.contains("another model configuration") == true)
        var other = config
        other.model = .cdae
        #expect(message(other)?.contains("checkpoint of a mult-dae run, cannot continue a cdae run") == true)
        #expect(message(config, CheckpointOptions(path: dir + "/none.aerec", every: 1, resume: true))?.contains("none.aerec") == true)
        // a single flipped bit in the weights
        var bytes = DataFixtures.readBytes(path)
        bytes[bytes.count - 100] ^= 0x10
        DataFixtures.write(dir + "/flipped.aerec", bytes)
        #expect(message(config, CheckpointOptions(path: dir + "/flipped.aerec", every: 1, resume: true))?.contains("CRC") == true)
        // a model file that is not a checkpoint
        let (_, _) = try Self.train(config, checkpoint: nil)
        let model = try MultDAE(itemCount: Self.split.train.columnCount, configuration: .init(latentDimension: 8))
        try model.save(to: dir + "/plain.aerec")
        #expect(message(config, CheckpointOptions(path: dir + "/plain.aerec", every: 1, resume: true))?
            .contains("not a training checkpoint") == true)
        #expect(throws: AERecError.self) { try Experiment.configuration(ofCheckpoint: dir + "/plain.aerec") }
        // bad options
        #expect(message(config, CheckpointOptions(path: path, every: 0))?.contains("≥ 1") == true)
        _ = resume
    }
}
