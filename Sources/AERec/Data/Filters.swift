// Rating threshold, minimum-count and k-core filters over an interaction log.

/// Filters applied to ``Interactions`` before splitting, in this order:
///
/// 1. **threshold** `t`: keep interactions with value **strictly greater** than `t` (vae_cf keeps
///    `rating > 3.5`); the dropped ones are counted in ``DataReport/belowThreshold``.
/// 2. **minimum counts**: without `kCore`, one pass of each, items first and then users, as in
///    vae_cf's `filter_triplets` (keep items with ≥ `minItemInteractions` interactions, then users
///    with ≥ `minUserInteractions` among what is left; an item may fall below its minimum again).
///    With `kCore`, both passes repeat until nothing changes, so every remaining user and item
///    meets its minimum. Dropped rows are counted in ``DataReport/droppedByCountFilter``.
/// 3. **binarize**: every remaining value becomes 1.
///
/// The id maps are compacted: users and items without any remaining interaction are removed
/// (``DataReport/usersDropped``, ``DataReport/itemsDropped``), the others keep their relative order,
/// so indices stay in order of first appearance. Interactions keep their relative order too.
/// Report counters add to those already in the input's report.
public struct InteractionFilter: Sendable, Equatable, Hashable, Codable {
    /// Keep values `> threshold` (strictly); nil keeps every value.
    public var threshold: Float?
    /// Minimum number of interactions per user (0 or 1: no minimum).
    public var minUserInteractions: Int
    /// Minimum number of interactions per item (0 or 1: no minimum).
    public var minItemInteractions: Int
    /// Repeat the user and item minimums until both hold everywhere (k-core).
    public var kCore: Bool
    /// Replace every remaining value by 1 (implicit feedback).
    public var binarize: Bool

    /// A filter; the defaults keep everything.
    public init(threshold: Float? = nil, minUserInteractions: Int = 0, minItemInteractions: Int = 0,
                kCore: Bool = false, binarize: Bool = false) {
        self.threshold = threshold
        self.minUserInteractions = minUserInteractions
        self.minItemInteractions = minItemInteractions
        self.kCore = kCore
        self.binarize = binarize
    }

    /// The preprocessing of Liang et al. 2018 (vae_cf) for MovieLens: ratings > 3.5, users with
    /// at least 5 remaining ratings, no item minimum, values binarized.
    public static let liang2018 = InteractionFilter(threshold: 3.5, minUserInteractions: 5, binarize: true)

    /// Applies the filter. Throws ``AERecError/data(_:)`` naming the filter that left nothing,
    /// and ``AERecError/invalidArgument(_:)`` for a NaN threshold or negative minimums.
    public func apply(to data: Interactions) throws -> Interactions {
        if let t = threshold, t.isNaN { throw AERecError.invalidArgument("threshold is NaN") }
        guard minUserInteractions >= 0, minItemInteractions >= 0 else {
            throw AERecError.invalidArgument("minimum interaction counts must be ≥ 0 (user \(minUserInteractions), item \(minItemInteractions))")
        }
        try data.validateIndices()
        let n = data.count
        var keep = [Bool](repeating: true, count: n)
        var report = data.report
        let userCount = data.userIDs.count, itemCount = data.itemIDs.count

        keep.withUnsafeMutableBufferPointer { k in
            data.values.withUnsafeBufferPointer { v in
                if let t = threshold {
                    var dropped = 0
                    for r in 0..<n where !(v[r] > t) { k[r] = false; dropped += 1 }
                    report.belowThreshold += dropped
                }
            }
        }
        var alive = keep.reduce(0) { $0 + ($1 ? 1 : 0) }
        if alive == 0 {
            throw AERecError.data("the threshold (value > \(threshold!)) left no interactions: all \(n) have value ≤ \(threshold!)")
        }

        if minUserInteractions > 1 || minItemInteractions > 1 {
            var userCounts = [Int](repeating: 0, count: userCount)
            var itemCounts = [Int](repeating: 0, count: itemCount)
            var countDropped = 0
            data.users.withUnsafeBufferPointer { us in
                data.items.withUnsafeBufferPointer { its in
                    keep.withUnsafeMutableBufferPointer { k in
                        userCounts.withUnsafeMutableBufferPointer { uc in
                            itemCounts.withUnsafeMutableBufferPointer { ic in
                                for r in 0..<n where k[r] { uc[Int(us[r])] += 1; ic[Int(its[r])] += 1 }
                                // one pass of `minimum` on `counts` (by `key`), updating both tallies
                                func pass(_ minimum: Int, byUser: Bool) -> Int {
                                    guard minimum > 1 else { return 0 }
                                    var removed = 0
                                    for r in 0..<n where k[r] {
                                        let u = Int(us[r]), i = Int(its[r])
                                        let c = byUser ? uc[u] : ic[i]
                                        if c < minimum {
                                            k[r] = false
                                            removed += 1
                                        }
                                    }
                                    // recount (the tallies must reflect the pass as a whole)
                                    if removed > 0 {
                                        for x in 0..<uc.count { uc[x] = 0 }
                                        for x in 0..<ic.count { ic[x] = 0 }
                                        for r in 0..<n where k[r] { uc[Int(us[r])] += 1; ic[Int(its[r])] += 1 }
                                    }
                                    return removed
                                }
                                repeat {
                                    let a = pass(minItemInteractions, byUser: false)
                                    let b = pass(minUserInteractions, byUser: true)
                                    countDropped += a + b
                                    if a + b == 0 { break }
                                } while kCore
                            }
                        }
                    }
                }
            }
            report.droppedByCountFilter += countDropped
            alive -= countDropped
            if alive == 0 {
                var what: [String] = []
                if minUserInteractions > 1 { what.append("users with ≥ \(minUserInteractions) interactions") }
                if minItemInteractions > 1 { what.append("items with ≥ \(minItemInteractions) interactions") }
                throw AERecError.data("the count filter (\(what.joined(separator: ", "))\(kCore ? ", k-core" : "")) left no interactions")
            }
        }

        var out = data.compacted(keep: keep)
        report.usersDropped += userCount - out.userIDs.count
        report.itemsDropped += itemCount - out.itemIDs.count
        out.report = report
        if binarize { out = out.binarized() }
        return out
    }
}

extension Interactions {
    /// The same interactions with every value 1 (implicit feedback).
    public func binarized() -> Interactions {
        var out = self
        out.values = [Float](repeating: 1, count: count)
        return out
    }

    /// Applies `filter` (see ``InteractionFilter``).
    public func filtered(_ filter: InteractionFilter) throws -> Interactions {
        try filter.apply(to: self)
    }

    /// Checks that the arrays are aligned and every index lies inside its id map.
    func validateIndices() throws {
        guard items.count == users.count, values.count == users.count,
              timestamps == nil || timestamps!.count == users.count else {
            throw AERecError.invalidArgument("interactions: users, items, values and timestamps differ in length")
        }
        let uc = Int32(userIDs.count), ic = Int32(itemIDs.count)
        let ok = users.withUnsafeBufferPointer { us in
            items.withUnsafeBufferPointer { its in
                var ok = true
                for r in 0..<us.count where us[r] < 0 || us[r] >= uc || its[r] < 0 || its[r] >= ic { ok = false; break }
                return ok
            }
        }
        guard ok else { throw AERecError.invalidArgument("interactions: a user or item index lies outside its id map") }
    }

    /// The rows with `keep[r]`, in order, with the id maps compacted to the users and items that
    /// still occur (relative order kept).
    func compacted(keep: [Bool]) -> Interactions {
        let n = count
        var userMap = [Int32](repeating: -1, count: userIDs.count)
        var itemMap = [Int32](repeating: -1, count: itemIDs.count)
        var newUsers = [Int32](), newItems = [Int32](), newValues = [Float]()
        var newTimes: [Int64]? = timestamps == nil ? nil : []
        let kept = keep.reduce(0) { $0 + ($1 ? 1 : 0) }
        newUsers.reserveCapacity(kept); newItems.reserveCapacity(kept); newValues.reserveCapacity(kept)
        newTimes?.reserveCapacity(kept)
        // mark survivors, then number them in their old order
        users.withUnsafeBufferPointer { us in
            items.withUnsafeBufferPointer { its in
                keep.withUnsafeBufferPointer { k in
                    userMap.withUnsafeMutableBufferPointer { um in
                        itemMap.withUnsafeMutableBufferPointer { im in
                            for r in 0..<n where k[r] { um[Int(us[r])] = 0; im[Int(its[r])] = 0 }
                            var next: Int32 = 0
                            for u in 0..<um.count where um[u] == 0 { um[u] = next; next += 1 }
                            next = 0
                            for i in 0..<im.count where im[i] == 0 { im[i] = next; next += 1 }
                            for r in 0..<n where k[r] {
                                newUsers.append(um[Int(us[r])])
                                newItems.append(im[Int(its[r])])
                            }
                        }
                    }
                }
            }
        }
        values.withUnsafeBufferPointer { v in
            keep.withUnsafeBufferPointer { k in for r in 0..<n where k[r] { newValues.append(v[r]) } }
        }
        if let t = timestamps {
            t.withUnsafeBufferPointer { tp in
                keep.withUnsafeBufferPointer { k in for r in 0..<n where k[r] { newTimes!.append(tp[r]) } }
            }
        }
        let keptUsers = (0..<userMap.count).filter { userMap[$0] >= 0 }.map { Int32($0) }
        let keptItems = (0..<itemMap.count).filter { itemMap[$0] >= 0 }.map { Int32($0) }
        return Interactions(users: newUsers, items: newItems, values: newValues, timestamps: newTimes,
                            userIDs: userIDs.subset(keptUsers), itemIDs: itemIDs.subset(keptItems), report: report)
    }
}
