import AERecKernels

/// A model loaded from a model file together with its id maps: what `aerec evaluate` and
/// `aerec recommend` work with. Everything here speaks external ids (as in the data files).
public struct SavedModel: Sendable {
    public let path: String
    public let model: any Recommender
    /// The model's items, in its column order.
    public let itemIDs: IDMap
    /// The training users (row order of per-user parameters), when the file has them.
    public let userIDs: IDMap?
    public let metadata: [String: String]

    public init(path: String, model: any Recommender, itemIDs: IDMap, userIDs: IDMap?, metadata: [String: String]) {
        self.path = path
        self.model = model
        self.itemIDs = itemIDs
        self.userIDs = userIDs
        self.metadata = metadata
    }

    /// Reads and checks the model file at `path` (every CRC, shape and id map) and restores the model.
    public static func load(path: String) throws -> SavedModel {
        let state = try ModelFile.read(path: path)
        let model: any Recommender
        switch state.kind {
        case .multDAE: model = try MultDAE.restore(from: state)
        case .multVAE: model = try MultVAE.restore(from: state)
        case .ease: model = try EASE.restore(from: state)
        case .pop: model = try Popularity.restore(from: state)
        default: model = try AnyModel.restoreOther(state)
        }
        return SavedModel(path: path, model: model, itemIDs: state.itemIDs, userIDs: state.userIDs,
                          metadata: state.metadata)
    }

    /// The seed the model was trained with (from its metadata), when recorded.
    public var trainingSeed: UInt64? { metadata[ModelState.MetadataKey.seed].flatMap { UInt64($0) } }
    /// The protocol the model was trained under (from its metadata), when recorded.
    public var trainingSplit: SplitProtocol? { metadata[ModelState.MetadataKey.split].flatMap { SplitProtocol(rawValue: $0) } }

    // MARK: - recommending

    /// Top-`k` lists for users given by external id, each from the user's history in `history`
    /// (any dataset whose item ids are the model's external item ids): items the user has
    /// interacted with are never recommended; history items the model does not know are ignored
    /// and counted. Throws ``AERecError/data(_:)`` for a user with no interactions in `history`.
    /// Items a user has in `alsoExclude` (e.g. the unfiltered data, with ratings below a threshold)
    /// are excluded too.
    public func recommend(users: [String], history: Interactions, alsoExclude: Interactions? = nil, k: Int,
                          threads: Int = 2) throws -> [UserRecommendations] {
        guard k >= 1 else { throw AERecError.invalidArgument("k must be ≥ 1, got \(k)") }
        guard !users.isEmpty else { throw AERecError.invalidArgument("no users given") }
        // each requested user's history, in the model's item space
        var requestRows: [Int32: [Int]] = [:]
        for (r, u) in users.enumerated() {
            guard let idx = history.userIDs.index(of: u) else {
                throw AERecError.data("user '\(u)' has no interactions in the history data (\(history.userIDs.count) users)")
            }
            requestRows[idx, default: []].append(r)
        }
        var itemMap = [Int32](repeating: -1, count: history.itemIDs.count)
        for i in 0..<history.itemIDs.count { itemMap[i] = itemIDs.index(of: history.itemIDs[i]) ?? -1 }
        var rows: [Int32] = [], cols: [Int32] = [], vals: [Float] = []
        var known = [Int](repeating: 0, count: users.count), unknown = [Int](repeating: 0, count: users.count)
        for e in 0..<history.count {
            guard let rs = requestRows[history.users[e]] else { continue }
            let c = itemMap[Int(history.items[e])]
            for r in rs {
                if c < 0 { unknown[r] += 1; continue }
                known[r] += 1
                rows.append(Int32(r)); cols.append(c); vals.append(history.values[e])
            }
        }
        let input = try InteractionMatrix(rowCount: users.count, columnCount: model.itemCount, rows: rows, columns: cols,
                                          values: vals)
        var exclude: InteractionMatrix? = nil
        if let extra = alsoExclude {
            var xr = rows, xc = cols
            var extraRows: [Int32: [Int]] = [:]
            for (r, u) in users.enumerated() {
                if let i = extra.userIDs.index(of: u) { extraRows[i, default: []].append(r) }
            }
            for e in 0..<extra.count {
                guard let rs = extraRows[extra.users[e]], let c = itemIDs.index(of: extra.itemIDs[Int(extra.items[e])]) else {
                    continue
                }
                for r in rs { xr.append(Int32(r)); xc.append(c) }
            }
            exclude = try InteractionMatrix(rowCount: users.count, columnCount: model.itemCount, rows: xr, columns: xc,
                                            values: nil)
        }
        let trainRows: [Int32] = users.map { u in userIDs?.index(of: u) ?? -1 }
        let lists = try Recommendations.topK(model, history: input, exclude: exclude, trainRows: trainRows, k: k,
                                             threads: threads)
        return users.indices.map { r in
            UserRecommendations(user: users[r], historyItems: known[r], unknownHistoryItems: unknown[r],
                                items: lists[r].enumerated().map { j, e in
                                    RecommendedItem(rank: j + 1, item: itemIDs[Int(e.item)], score: e.score)
                                })
        }
    }

    // MARK: - encoder input

    /// The rows the model's encoder encodes, built from `data` by external id (what
    /// ``PropertyProbe/probe(_:on:)`` takes): users × the model's items for Mult-DAE, Mult-VAE,
    /// CDAE and U-AutoRec; the model's items × its training users for I-AutoRec (whose encoder
    /// reads an item's ratings by the training users). Interactions with unknown items (or, for
    /// I-AutoRec, unknown users) are left out; rows left empty stay empty (the probes skip them).
    public func encoderInput(from data: Interactions) throws -> InteractionMatrix {
        var itemMap = [Int32](repeating: -1, count: data.itemIDs.count)
        for i in 0..<data.itemIDs.count { itemMap[i] = itemIDs.index(of: data.itemIDs[i]) ?? -1 }
        var rows: [Int32] = [], cols: [Int32] = [], vals: [Float] = []
        if model.kind == .autoRecI {
            guard let users = userIDs else {
                throw AERecError.modelFile(path: path, message: "an I-AutoRec model file needs its training user ids")
            }
            var userMap = [Int32](repeating: -1, count: data.userIDs.count)
            for u in 0..<data.userIDs.count { userMap[u] = users.index(of: data.userIDs[u]) ?? -1 }
            for e in 0..<data.count {
                let i = itemMap[Int(data.items[e])], u = userMap[Int(data.users[e])]
                if i < 0 || u < 0 { continue }
                rows.append(i); cols.append(u); vals.append(data.values[e])
            }
            return try InteractionMatrix(rowCount: itemIDs.count, columnCount: users.count, rows: rows, columns: cols,
                                         values: vals)
        }
        for e in 0..<data.count {
            let i = itemMap[Int(data.items[e])]
            if i < 0 { continue }
            rows.append(data.users[e]); cols.append(i); vals.append(data.values[e])
        }
        return try InteractionMatrix(rowCount: data.userIDs.count, columnCount: itemIDs.count, rows: rows, columns: cols,
                                     values: vals)
    }

    // MARK: - evaluating

    /// `set` (from a split of some dataset, columns in `split`'s item space, training rows in
    /// `split`'s training matrix) moved into the model's item space and user rows: columns by
    /// external item id (items the model does not know are dropped and counted), training rows by
    /// external user id through the model's user map (unknown users get -1).
    public func heldOut(_ set: HeldOutSet, of split: Split) throws -> (set: HeldOutSet, droppedInteractions: Int) {
        var colMap = [Int32](repeating: -1, count: split.itemIDs.count)
        var identity = split.itemIDs.count == itemIDs.count
        for i in 0..<split.itemIDs.count {
            colMap[i] = itemIDs.index(of: split.itemIDs[i]) ?? -1
            if colMap[i] != Int32(i) { identity = false }
        }
        var dropped = 0
        func remap(_ m: InteractionMatrix) throws -> InteractionMatrix {
            if identity { return m }
            var rows: [Int32] = [], cols: [Int32] = [], vals: [Float] = []
            for r in 0..<m.rowCount {
                let row = m.row(r)
                for (j, c) in row.columns.enumerated() {
                    let mc = colMap[Int(c)]
                    if mc < 0 { dropped += 1; continue }
                    rows.append(Int32(r)); cols.append(mc)
                    vals.append(row.values.map { $0[$0.startIndex + j] } ?? 1)
                }
            }
            return try InteractionMatrix(rowCount: m.rowCount, columnCount: model.itemCount, rows: rows, columns: cols,
                                         values: m.values == nil ? nil : vals)
        }
        let trainRows: [Int32] = set.trainRows.map { tr in
            guard tr >= 0, let users = userIDs else { return -1 }
            let ext = split.userIDs[Int(split.trainUsers[Int(tr)])]
            return users.index(of: ext) ?? -1
        }
        let moved = HeldOutSet(users: set.users, trainRows: trainRows, foldIn: try remap(set.foldIn),
                               target: try remap(set.target))
        return (moved, dropped)
    }

    /// Evaluates the model on `split`'s test users (fold-in as input and exclusions, target to rank
    /// or rate), after moving them into the model's item space (see ``heldOut(_:of:)``).
    public func evaluate(on split: Split, metrics: [Metric], batchSize: Int = 500,
                         threads: Int = 2) throws -> (result: EvaluationResult, droppedInteractions: Int) {
        let (set, dropped) = try heldOut(split.test, of: split)
        let result = try Evaluator(metrics: metrics, batchSize: batchSize, threads: threads).evaluate(model, on: set)
        return (result, dropped)
    }

    /// The metrics reported for this model when none are asked for (as `aerec train` reports).
    public var defaultMetrics: [Metric] {
        model.kind.predictsRatings ? [.rmse, .mae] : ExperimentConfiguration.defaultRankingMetrics
    }
}

/// One recommended item.
public struct RecommendedItem: Sendable, Codable, Equatable {
    /// 1-based position in the list.
    public var rank: Int
    /// External item id.
    public var item: String
    public var score: Float
}

/// A user's top-k list.
public struct UserRecommendations: Sendable, Codable, Equatable {
    /// External user id.
    public var user: String
    /// History items the model knows (its input, excluded from the list).
    public var historyItems: Int
    /// History items outside the model's item space (ignored).
    public var unknownHistoryItems: Int
    public var items: [RecommendedItem]

    enum CodingKeys: String, CodingKey {
        case user, historyItems = "history_items", unknownHistoryItems = "unknown_history_items", items
    }
}

/// Top-k lists from any model.
public enum Recommendations {
    /// For every row of `history` (users × the model's items): the `k` best-scoring items, best
    /// first, with the row's own items excluded when `excludeSeen` (ties: lower item index first).
    /// `exclude` (same shape) replaces the history as the exclusion list when given.
    /// `trainRows` as in ``Recommender/scores(for:rows:trainRows:into:ld:threads:)``.
    public static func topK(_ model: any Recommender, history: InteractionMatrix, exclude: InteractionMatrix? = nil,
                            trainRows: [Int32]?, k: Int,
                            excludeSeen: Bool = true, batchSize: Int = 500,
                            threads: Int = 2) throws -> [[(item: Int32, score: Float)]] {
        guard k >= 1 else { throw AERecError.invalidArgument("k must be ≥ 1, got \(k)") }
        guard history.columnCount == model.itemCount else {
            throw AERecError.invalidArgument("history has \(history.columnCount) items, the model \(model.itemCount)")
        }
        if let exclude, exclude.rowCount != history.rowCount || exclude.columnCount != history.columnCount {
            throw AERecError.invalidArgument("the exclusion matrix's shape differs from the history's")
        }
        let excluded = exclude ?? history
        let n = history.rowCount, items = model.itemCount
        guard n > 0 else { return [] }
        let batch = max(1, min(batchSize, n))
        let slots = min(k, items)
        var scores = [Float](repeating: 0, count: batch * items)
        var idx = [Int32](repeating: -1, count: batch * slots)
        var best = [Float](repeating: 0, count: batch * slots)
        var count = [Int64](repeating: 0, count: batch)
        var out: [[(item: Int32, score: Float)]] = []
        out.reserveCapacity(n)
        for lo in stride(from: 0, to: n, by: batch) {
            let hi = min(lo + batch, n)
            try scores.withUnsafeMutableBufferPointer { s in
                try model.scores(for: history, rows: lo..<hi, trainRows: trainRows.map { Array($0[lo..<hi]) },
                                 into: s.baseAddress!, ld: items, threads: threads)
            }
            let status: Int32 = excluded.withKernelView(rows: lo..<hi) { view in
                var exclude = view
                return excludeSeen
                    ? aek_topk_rows(Int64(hi - lo), Int64(items), scores, Int64(items), &exclude, Int64(slots), &idx, &best,
                                    &count, Int32(threads))
                    : aek_topk_rows(Int64(hi - lo), Int64(items), scores, Int64(items), nil, Int64(slots), &idx, &best,
                                    &count, Int32(threads))
            }
            try check(status, "top-\(slots) of \(hi - lo) users")
            for b in 0..<(hi - lo) {
                let filled = Int(max(0, min(count[b], Int64(slots))))
                out.append((0..<filled).map { j in (idx[b * slots + j], best[b * slots + j]) })
            }
        }
        return out
    }
}
