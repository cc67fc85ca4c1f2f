import AERecKernels

/// The arithmetic of EASE's closed-form solve.
public enum EASEPrecision: String, Sendable, Codable, CaseIterable {
    /// `spotrf` + `spotri` in place in the item × item float32 weight buffer: I² floats in all,
    /// the fastest. The weights carry the float32 solve's error (≈ 10⁻⁶ of their scale).
    case float32
    /// `dpotrf` + `dpotri` in a temporary float64 copy (2 I² floats more while fitting, about twice
    /// the time), the weights rounded to float32 once (≤ ½ ulp each); scores are summed in float64
    /// (``aek_csr_dense_mm_f64``) and rounded once. float32 sums of a user's ~100 weights swap items
    /// whose float64 scores differ by ~10⁻⁶ of the row's scale (ml-latest-small: 2 of 300 top-100
    /// lists differed from numpy's float64 ones with float64 weights but float32 sums).
    case float64
}

/// EASE's hyperparameters.
public struct EASEConfiguration: Sendable, Codable, Equatable {
    /// L2 penalty λ on the item-item weights (Steck uses 500 on ML-20M; smaller data wants less).
    public var lambda: Float = 500
    /// The solve's arithmetic (float32 by default).
    public var precision: EASEPrecision = .float32
    public init(lambda: Float = 500, precision: EASEPrecision = .float32) {
        self.lambda = lambda
        self.precision = precision
    }

    private enum CodingKeys: String, CodingKey { case lambda, precision }

    /// Model files written before `precision` existed decode as float32.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        lambda = try c.decode(Float.self, forKey: .lambda)
        precision = try c.decodeIfPresent(EASEPrecision.self, forKey: .precision) ?? .float32
    }
}

/// EASE (Steck 2019), the linear reference: B = I − P·diag(1/diag P) with P = (XᵀX + λI)⁻¹ and
/// diag(B) = 0, fitted in closed form on binary data through LAPACK's Cholesky in OpenBLAS
/// (spotrf + spotri) in a single item × item float32 buffer: peak memory is I² floats plus the data;
/// with ``EASEPrecision/float64`` the solve runs in a temporary float64 copy (3 I² floats at the peak).
public final class EASE: TrainableRecommender, PersistableModel, @unchecked Sendable {
    public let kind = ModelKind.ease
    public let configuration: EASEConfiguration
    public let itemCount: Int
    /// The item-item weights (itemCount × itemCount, row-major).
    let weights: FloatBuffer
    public var itemIDs: IDMap?
    public var userIDs: IDMap?

    /// An unfitted model (all-zero weights). Checks that the weight matrix fits in memory first.
    public init(itemCount: Int, configuration: EASEConfiguration = EASEConfiguration()) throws {
        guard itemCount >= 1 else { throw AERecError.invalidArgument("EASE needs at least one item") }
        guard configuration.lambda >= 0, configuration.lambda.isFinite else {
            throw AERecError.invalidArgument("EASE's lambda must be ≥ 0, got \(configuration.lambda)")
        }
        let (_, overflow) = itemCount.multipliedReportingOverflow(by: itemCount * MemoryLayout<Float>.stride)
        guard !overflow else { throw AERecError.invalidArgument("EASE with \(itemCount) items is too large") }
        try Self.memoryEstimate(itemCount: itemCount, configuration: configuration).require()
        self.itemCount = itemCount
        self.configuration = configuration
        weights = FloatBuffer(itemCount * itemCount)
    }


    /// Fits in closed form (the options' epochs are ignored; `threads` sets OpenBLAS's and the Gram
    /// kernel's threads). The history holds one "epoch" with the validation metric when given.
    @discardableResult
    public func fit(_ train: InteractionMatrix, validation: HeldOutSet? = nil, options: TrainingOptions = TrainingOptions(),
                    callback: ((EpochReport) -> TrainingDecision)? = nil) throws -> TrainingHistory {
        guard train.columnCount == itemCount else {
            throw AERecError.invalidArgument("training matrix has \(train.columnCount) items, the model \(itemCount)")
        }
        try options.validate()
        let t0 = monotonicSeconds()
        BLAS.setThreads(options.threads)
        let x = train.binarized(), xt = x.transposed()
        try x.withKernelView { xv in
            try xt.withKernelView { xtv in
                try check(aek_csr_gram(xv, xtv, weights.p, Int64(itemCount), 0, Int32(options.threads)), "Gram matrix")
            }
        }
        let status: Int32
        switch configuration.precision {
        case .float32:
            status = aek_ease_solve(weights.p, Int64(itemCount), Int64(itemCount), configuration.lambda)
        case .float64:
            // the weights are resident by now (the Gram matrix is in them): only the copy is new
            try Self.solveWorkspaceEstimate(itemCount: itemCount, configuration: configuration).require()
            let work = UnsafeMutablePointer<Double>.allocate(capacity: itemCount * itemCount)
            defer { work.deallocate() }
            status = aek_ease_solve_f64(weights.p, Int64(itemCount), Int64(itemCount), configuration.lambda, work)
        }
        if status == Int32(AEK_ERR_NUMERIC) {
            throw AERecError.numerical("XᵀX + λI is not positive definite (λ = \(configuration.lambda)); use a larger λ")
        }
        try check(status, "EASE solve")
        var history = TrainingHistory()
        var report = EpochReport(epoch: 1, loss: 0, validation: nil, trainSeconds: monotonicSeconds() - t0,
                                 validationSeconds: 0, isBest: true, beta: nil)
        if let validation {
            let t1 = monotonicSeconds()
            let ev = Evaluator(metrics: [options.validationMetric], batchSize: options.batchSize, threads: options.threads)
            report.validation = try ev.evaluate(self, on: validation)[options.validationMetric]?.value
            report.validationSeconds = monotonicSeconds() - t1
            history.bestValidation = report.validation
        }
        history.epochs = [report]
        history.bestEpoch = 1
        _ = callback?(report)
        history.seconds = monotonicSeconds() - t0
        return history
    }

    /// Scores x·B for the rows' binary histories.
    public func scores(for input: InteractionMatrix, rows: Range<Int>, trainRows: [Int32]?,
                       into out: UnsafeMutablePointer<Float>, ld: Int, threads: Int) throws {
        guard input.columnCount == itemCount else {
            throw AERecError.invalidArgument("input has \(input.columnCount) items, the model \(itemCount)")
        }
        guard rows.lowerBound >= 0, rows.upperBound <= input.rowCount, ld >= itemCount else {
            throw AERecError.invalidArgument("rows \(rows) / leading dimension \(ld) do not fit")
        }
        let x = input.binarized()
        try x.withKernelView(rows: rows) { xv in
            switch configuration.precision {
            case .float32:
                try check(aek_csr_dense_mm(xv, weights.p, Int64(itemCount), Int64(itemCount), nil, 0, out, Int64(ld),
                                           Int32(threads)), "EASE scores")
            case .float64:
                // the sums in float64: float32 sums of ~100 weights swap items whose float64 scores
                // differ by ~1e-6 of the row's scale, which the float64 solve exists to avoid
                let t = max(1, threads)
                let work = UnsafeMutablePointer<Double>.allocate(capacity: t * itemCount)
                defer { work.deallocate() }
                try check(aek_csr_dense_mm_f64(xv, weights.p, Int64(itemCount), Int64(itemCount), out, Int64(ld), work,
                                               Int32(t)), "EASE scores (float64 sums)")
            }
        }
    }

    public func modelState() throws -> ModelState {
        var state = ModelState(kind: kind, itemIDs: ModelState.itemMap(itemIDs, count: itemCount), userIDs: userIDs)
        try state.setConfiguration(configuration)
        try state.appendTensor(name: "B", shape: [itemCount, itemCount], data: weights.array)
        return state
    }

    public static func restore(from state: ModelState) throws -> EASE {
        try state.requireKind(.ease)
        let model = try EASE(itemCount: state.itemIDs.count, configuration: state.decodeConfiguration())
        let b = try state.tensorData(named: "B", shape: [model.itemCount, model.itemCount])
        b.withUnsafeBufferPointer { model.weights.p.update(from: $0.baseAddress!, count: $0.count) }
        model.itemIDs = state.itemIDs
        model.userIDs = state.userIDs
        return model
    }
}

/// The popularity baseline: every user gets the items ranked by their number of training interactions.
public final class Popularity: TrainableRecommender, PersistableModel, @unchecked Sendable {
    public let kind = ModelKind.pop
    public let itemCount: Int
    /// Training interactions per item.
    public private(set) var counts: [Float]
    public var itemIDs: IDMap?
    public var userIDs: IDMap?

    public init(itemCount: Int) throws {
        guard itemCount >= 1 else { throw AERecError.invalidArgument("Popularity needs at least one item") }
        self.itemCount = itemCount
        counts = [Float](repeating: 0, count: itemCount)
    }

    @discardableResult
    public func fit(_ train: InteractionMatrix, validation: HeldOutSet? = nil, options: TrainingOptions = TrainingOptions(),
                    callback: ((EpochReport) -> TrainingDecision)? = nil) throws -> TrainingHistory {
        guard train.columnCount == itemCount else {
            throw AERecError.invalidArgument("training matrix has \(train.columnCount) items, the model \(itemCount)")
        }
        let t0 = monotonicSeconds()
        counts = train.columnCounts.map(Float.init)
        var history = TrainingHistory()
        var report = EpochReport(epoch: 1, loss: 0, validation: nil, trainSeconds: monotonicSeconds() - t0,
                                 validationSeconds: 0, isBest: true, beta: nil)
        if let validation {
            let ev = Evaluator(metrics: [options.validationMetric], batchSize: options.batchSize, threads: options.threads)
            report.validation = try ev.evaluate(self, on: validation)[options.validationMetric]?.value
            history.bestValidation = report.validation
        }
        history.epochs = [report]
        history.bestEpoch = 1
        _ = callback?(report)
        history.seconds = monotonicSeconds() - t0
        return history
    }

    public func scores(for input: InteractionMatrix, rows: Range<Int>, trainRows: [Int32]?,
                       into out: UnsafeMutablePointer<Float>, ld: Int, threads: Int) throws {
        guard input.columnCount == itemCount, ld >= itemCount, rows.lowerBound >= 0, rows.upperBound <= input.rowCount else {
            throw AERecError.invalidArgument("input does not fit the popularity model")
        }
        counts.withUnsafeBufferPointer { c in
            for r in 0..<rows.count { (out + r * ld).update(from: c.baseAddress!, count: itemCount) }
        }
    }

    public func modelState() throws -> ModelState {
        var state = ModelState(kind: kind, itemIDs: ModelState.itemMap(itemIDs, count: itemCount), userIDs: userIDs)
        try state.appendTensor(name: "counts", shape: [itemCount], data: counts)
        return state
    }

    public static func restore(from state: ModelState) throws -> Popularity {
        try state.requireKind(.pop)
        let model = try Popularity(itemCount: state.itemIDs.count)
        model.counts = try state.tensorData(named: "counts", shape: [model.itemCount])
        model.itemIDs = state.itemIDs
        model.userIDs = state.userIDs
        return model
    }
}
