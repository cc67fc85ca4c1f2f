// The evaluation protocols: strong generalisation (vae_cf), per-user ratio, leave-one-out,
// explicit rating triples, and a given test file. Every random choice comes from a SplitRandom
// generator keyed by (seed, protocol stream, user), so a split depends only on the data and the seed.

/// Where the test interactions of the ``SplitProtocol/given`` protocol come from.
public enum GivenTestSet: Sendable, Equatable {
    /// Interactions already read (ids are matched by their external text).
    case interactions(Interactions)
    /// A file to read; errors about unknown ids then name its line numbers.
    case file(path: String, format: DataFormat)
}

/// How to split a dataset: the protocol and its parameters. Build one with the static
/// constructors (``strong(heldOutUsers:targetFraction:minItemsForSplit:seed:)``,
/// ``ratio(testFraction:validationFraction:seed:)``, ``leaveOneOut(validation:seed:)``,
/// ``explicit(testFraction:validationFraction:seed:)``, ``given(test:)``) and pass it to
/// ``makeSplit(_:_:)``.
public struct SplitConfiguration: Sendable, Equatable {
    /// The protocol.
    public var protocolKind: SplitProtocol
    /// Seed of every random choice (default 98765, the seed of the vae_cf notebook).
    public var seed: UInt64
    /// Strong: users held out for validation and, as many again, for test.
    public var heldOutUsers: Int
    /// Strong: share of a held-out user's items that become the target (vae_cf: 0.2).
    public var targetFraction: Double
    /// Strong: held-out users with fewer items keep them all as fold-in (vae_cf: 5).
    public var minItemsForSplit: Int
    /// Ratio: share of each user's items held out for test; explicit: share of all ratings.
    public var testFraction: Double
    /// Ratio / explicit / given: share held out for validation (0: no validation set). For `given`
    /// it is a share of each user's training interactions (see ``given(test:validationFraction:seed:)``).
    public var validationFraction: Double
    /// Leave-one-out: also hold out the second-to-last interaction for validation.
    public var leaveOneOutValidation: Bool
    /// Given: the test interactions.
    public var givenTest: GivenTestSet?

    /// A configuration; `testFraction` defaults to 0.1 for ``SplitProtocol/explicit`` and 0.2 otherwise.
    public init(protocolKind: SplitProtocol, seed: UInt64 = 98765, heldOutUsers: Int = 0, targetFraction: Double = 0.2,
                minItemsForSplit: Int = 5, testFraction: Double? = nil, validationFraction: Double = 0,
                leaveOneOutValidation: Bool = false, givenTest: GivenTestSet? = nil) {
        self.protocolKind = protocolKind
        self.seed = seed
        self.heldOutUsers = heldOutUsers
        self.targetFraction = targetFraction
        self.minItemsForSplit = minItemsForSplit
        self.testFraction = testFraction ?? (protocolKind == .explicit ? 0.1 : 0.2)
        self.validationFraction = validationFraction
        self.leaveOneOutValidation = leaveOneOutValidation
        self.givenTest = givenTest
    }

    /// Strong generalisation exactly as Liang et al. 2018 (vae_cf preprocessing notebook):
    /// 1. the users (in index order) are shuffled; the last `2N` of the permutation are held out,
    ///    the first `N` of those for validation and the last `N` for test; the rest train;
    /// 2. the item space is the items of the training interactions, as columns **in order of first
    ///    appearance among the training interactions** (`pd.unique(train_plays['movieId'])`);
    ///    held-out interactions on other items are dropped;
    /// 3. each held-out user with `n ≥ minItemsForSplit` remaining items gets
    ///    `floor(targetFraction · n)` of them (computed in Double as numpy's `int(0.2 * n)`), chosen
    ///    uniformly at random, as target and the rest as fold-in; users with fewer keep everything
    ///    as fold-in and have an **empty target** (evaluation must skip them, as vae_cf's NaN rows).
    /// Held-out users keep their permutation order (vae_cf's `profile2id` order), as do training
    /// rows; ``HeldOutSet/trainRows`` is -1 for every held-out user. Every held-out user is listed,
    /// even one left with no interaction in the item space.
    public static func strong(heldOutUsers: Int, targetFraction: Double = 0.2, minItemsForSplit: Int = 5,
                              seed: UInt64 = 98765) -> SplitConfiguration {
        SplitConfiguration(protocolKind: .strong, seed: seed, heldOutUsers: heldOutUsers, targetFraction: targetFraction,
                           minItemsForSplit: minItemsForSplit)
    }

    /// Weak generalisation by ratio. For a user with `n` interactions, `floor(testFraction · n)`
    /// (1e-9 tolerance) random items go to test, raised to 1 when `n ≥ 2` and capped at `n − 1`, so
    /// a user keeps at least one training item and users with one item are never tested. With
    /// `validationFraction > 0`, `floor(validationFraction · n)` of the remaining items (at least 1,
    /// keeping at least one for training, so only users with ≥ 3 items) go to validation. The
    /// train matrix has one row per user of the data (row = user index); each held-out set lists
    /// the users with at least one target item, in user order, with their training row as fold-in.
    public static func ratio(testFraction: Double = 0.2, validationFraction: Double = 0,
                             seed: UInt64 = 98765) -> SplitConfiguration {
        SplitConfiguration(protocolKind: .ratio, seed: seed, testFraction: testFraction,
                           validationFraction: validationFraction)
    }

    /// Leave-one-out: each user's last interaction by timestamp is the test target (equal
    /// timestamps: the later line of the file is later); with `validation`, the second-to-last is
    /// the validation target for users with ≥ 3 interactions. Users with one interaction stay
    /// train-only. Needs timestamps. Train rows and fold-ins as in ``ratio(testFraction:validationFraction:seed:)``.
    public static func leaveOneOut(validation: Bool = false, seed: UInt64 = 98765) -> SplitConfiguration {
        SplitConfiguration(protocolKind: .loo, seed: seed, leaveOneOutValidation: validation)
    }

    /// A random split of the rating triples (for rating prediction): of `n` ratings,
    /// `floor(testFraction · n)` chosen uniformly at random go to test and then
    /// `floor(validationFraction · n)` to validation (1e-9 tolerance). Targets hold the ratings;
    /// fold-in is the user's training row; train has one row per user of the data.
    public static func explicit(testFraction: Double = 0.1, validationFraction: Double = 0,
                                seed: UInt64 = 98765) -> SplitConfiguration {
        SplitConfiguration(protocolKind: .explicit, seed: seed, testFraction: testFraction,
                           validationFraction: validationFraction)
    }

    /// A supplied test set: train = the data minus the test (user, item) pairs; test targets = the
    /// test pairs (with the test file's values), fold-in = the user's training row.
    /// Test users and items are matched to the data by external id; **any unknown user or item is
    /// an error** (``AERecError/data(_:)`` with the counts and the first example and its line). Test
    /// pairs absent from the data are fine (they are targets all the same).
    ///
    /// With `validationFraction` f > 0, a validation set is carved out of the training
    /// interactions, as the ratio protocol does: a user with n ≥ 2 of them has `floor(f · n)` (at
    /// least 1, at most n − 1) chosen at random (seeded per user) as validation targets, the rest
    /// stay in training and are the validation fold-in. The test fold-in is then the user's whole
    /// history (training + validation interactions), so the test ranking sees, and excludes, the
    /// same history as without a validation set; only the model's training data shrink. Tune on
    /// the validation set (early stopping, hyperparameters), then retrain with f = 0 for the
    /// published protocol's figure.
    public static func given(test: Interactions, validationFraction: Double = 0, seed: UInt64 = 98765) -> SplitConfiguration {
        SplitConfiguration(protocolKind: .given, seed: seed, validationFraction: validationFraction,
                           givenTest: .interactions(test))
    }

    /// ``given(test:validationFraction:seed:)`` with the test set read from a file.
    public static func given(testFile path: String, format: DataFormat = .auto, validationFraction: Double = 0,
                             seed: UInt64 = 98765) -> SplitConfiguration {
        SplitConfiguration(protocolKind: .given, seed: seed, validationFraction: validationFraction,
                           givenTest: .file(path: path, format: format))
    }
}

/// Splits `data` under `config`'s protocol (see the ``SplitConfiguration`` constructors for each
/// protocol's exact rules). Deterministic: equal data and seed give an equal split.
///
/// Common rules: duplicate (user, item) pairs are first reduced to their last occurrence; the
/// matrices carry the values, except that when every stored value of the whole split is 1 they
/// are all implicit (`values == nil`); columns are ascending within each row; ``Split/userIDs``
/// is the data's user map; ``Split/itemIDs`` is the data's item map (strong: the training items).
public func makeSplit(_ data: Interactions, _ config: SplitConfiguration) throws -> Split {
    try data.validateIndices()
    guard data.count > 0 else { throw AERecError.data("cannot split an empty dataset") }
    let data = data.lastOccurrences()
    var split: Split
    switch config.protocolKind {
    case .strong: split = try strongGeneralizationSplit(data, config)
    case .ratio: split = try ratioSplit(data, config)
    case .loo: split = try leaveOneOutSplit(data, config)
    case .explicit: split = try explicitSplit(data, config)
    case .given: split = try givenSplit(data, config)
    }
    split.makeImplicitWhenAllOnes()
    return split
}

// MARK: - Randomness

/// SplitRandom (Steele, Lea & Flood 2014) started from a hash of (seed, stream, key): independent
/// sequences per protocol step and per user.
struct SplitRandom {
    private var state: UInt64

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    init(seed: UInt64, stream: UInt64, key: UInt64 = 0) {
        let a = Self.mix(seed &+ 0x9e37_79b9_7f4a_7c15)
        let b = Self.mix(a ^ (stream &* 0xd1b5_4a32_d192_ed03))
        state = Self.mix(b ^ (key &* 0x8cb9_2ba7_2f3d_8dd7))
    }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        return Self.mix(state)
    }

    /// Uniform in 0..<n (Lemire's multiply-and-reject: exactly uniform).
    mutating func below(_ n: Int) -> Int {
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }

    /// Moves a uniformly random k-subset of `a` (order random too) to its front (partial Fisher–Yates).
    mutating func selectFront<T>(_ a: UnsafeMutableBufferPointer<T>, _ k: Int) {
        let n = a.count
        for i in 0..<min(k, max(n - 1, 0)) { a.swapAt(i, i + below(n - i)) }
    }
}

/// Streams separating the random choices of the protocols.
enum SplitStream: UInt64 {
    case strongUsers = 1, strongTarget, ratio, explicit, givenValidation
}

// MARK: - Building blocks

/// The interactions grouped by user: rows of user u are order[start[u]..<start[u+1]], in data order.
struct UserGroups {
    var start: [Int]
    var order: [Int32]

    init(_ data: Interactions) {
        let userCount = data.userIDs.count
        var start = [Int](repeating: 0, count: userCount + 1)
        var order = [Int32](repeating: 0, count: data.count)
        data.users.withUnsafeBufferPointer { us in
            start.withUnsafeMutableBufferPointer { st in
                order.withUnsafeMutableBufferPointer { od in
                    for u in us { st[Int(u) + 1] += 1 }
                    for u in 0..<userCount { st[u + 1] += st[u] }
                    var next = Array(st[0..<userCount])
                    next.withUnsafeMutableBufferPointer { nx in
                        for r in 0..<us.count {
                            let u = Int(us[r])
                            od[nx[u]] = Int32(r)
                            nx[u] += 1
                        }
                    }
                }
            }
        }
        self.start = start
        self.order = order
    }

    func rows(of u: Int) -> ArraySlice<Int32> { order[start[u]..<start[u + 1]] }
}

/// Collects (row, column, value) entries in any order and builds a CSR matrix with ascending
/// columns per row (a repeated (row, column) keeps its last entry).
struct MatrixAssembler {
    let rowCount: Int
    let columnCount: Int
    private var rows: [Int32] = []
    private var columns: [Int32] = []
    private var values: [Float] = []

    init(rowCount: Int, columnCount: Int, expected: Int = 0) {
        self.rowCount = rowCount
        self.columnCount = columnCount
        rows.reserveCapacity(expected); columns.reserveCapacity(expected); values.reserveCapacity(expected)
    }

    mutating func append(_ row: Int32, _ column: Int32, _ value: Float) {
        rows.append(row); columns.append(column); values.append(value)
    }

    func build() -> InteractionMatrix {
        let n = rows.count
        var indptr = [Int64](repeating: 0, count: rowCount + 1)
        var keys = [UInt64](repeating: 0, count: n)
        var outIdx = [Int32](repeating: 0, count: n)
        var outVal = [Float](repeating: 0, count: n)
        var written = 0
        rows.withUnsafeBufferPointer { rs in
            columns.withUnsafeBufferPointer { cs in
                values.withUnsafeBufferPointer { vs in
                    indptr.withUnsafeMutableBufferPointer { ptr in
                        keys.withUnsafeMutableBufferPointer { ks in
                            outIdx.withUnsafeMutableBufferPointer { oi in
                                outVal.withUnsafeMutableBufferPointer { ov in
                                    for r in rs { ptr[Int(r) + 1] += 1 }
                                    for r in 0..<rowCount { ptr[r + 1] += ptr[r] }
                                    var next = Array(ptr[0..<rowCount])
                                    next.withUnsafeMutableBufferPointer { nx in
                                        for k in 0..<n {
                                            let r = Int(rs[k])
                                            ks[Int(nx[r])] = UInt64(UInt32(bitPattern: cs[k])) << 32 | UInt64(k)
                                            nx[r] += 1
                                        }
                                    }
                                    var start = 0
                                    for r in 0..<rowCount {
                                        let lo = start, hi = Int(ptr[r + 1])
                                        start = hi
                                        var segment = UnsafeMutableBufferPointer(rebasing: ks[lo..<hi])
                                        segment.sort()
                                        var j = lo
                                        while j < hi {
                                            let col = ks[j] >> 32
                                            if j + 1 < hi && ks[j + 1] >> 32 == col { j += 1; continue }  // keep the last
                                            oi[written] = Int32(truncatingIfNeeded: col)
                                            ov[written] = vs[Int(ks[j] & 0xffff_ffff)]
                                            written += 1
                                            j += 1
                                        }
                                        ptr[r + 1] = Int64(written)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if written < n { outIdx.removeLast(n - written); outVal.removeLast(n - written) }
        return InteractionMatrix(unchecked: rowCount, columnCount, indptr, outIdx, outVal)
    }
}

extension Interactions {
    /// The interactions with every repeated (user, item) pair reduced to its last occurrence.
    func lastOccurrences() -> Interactions {
        let (keep, dups) = users.withUnsafeBufferPointer { us in
            items.withUnsafeBufferPointer { its in lastOccurrenceMask(rows: us, columns: its) }
        }
        guard dups > 0 else { return self }
        var out = self
        out.users = (0..<count).filter { keep[$0] }.map { users[$0] }
        out.items = (0..<count).filter { keep[$0] }.map { items[$0] }
        out.values = (0..<count).filter { keep[$0] }.map { values[$0] }
        out.timestamps = timestamps.map { t in (0..<count).filter { keep[$0] }.map { t[$0] } }
        out.report.duplicatesDropped += dups
        return out
    }
}

extension Split {
    /// Drops the values of every matrix when all stored values of the split are 1.
    mutating func makeImplicitWhenAllOnes() {
        func ones(_ m: InteractionMatrix) -> Bool {
            guard let v = m.values else { return true }
            return v.withUnsafeBufferPointer { b in !b.contains { $0 != 1 } }
        }
        var all = ones(train) && ones(test.foldIn) && ones(test.target)
        if let v = validation { all = all && ones(v.foldIn) && ones(v.target) }
        guard all else { return }
        train = train.binarized()
        test.foldIn = test.foldIn.binarized()
        test.target = test.target.binarized()
        if var v = validation {
            v.foldIn = v.foldIn.binarized()
            v.target = v.target.binarized()
            validation = v
        }
    }
}

/// floor(f · n) with a tolerance for values like 0.29 · 100 = 28.999999999999996.
@inline(__always)
private func floorFraction(_ f: Double, _ n: Int) -> Int { Int((f * Double(n) + 1e-9).rounded(.down)) }

private func checkFraction(_ f: Double, _ name: String, allowZero: Bool) throws {
    guard f.isFinite, f < 1, allowZero ? f >= 0 : f > 0 else {
        throw AERecError.invalidArgument("\(name) must lie in \(allowZero ? "[0, 1)" : "(0, 1)"), got \(f)")
    }
}

// MARK: - Strong generalisation

private func strongGeneralizationSplit(_ data: Interactions, _ config: SplitConfiguration) throws -> Split {
    let userCount = data.userIDs.count
    let heldOut = config.heldOutUsers
    guard heldOut >= 1 else { throw AERecError.invalidArgument("strong generalisation needs heldOutUsers ≥ 1, got \(heldOut)") }
    guard 2 * heldOut < userCount else {
        throw AERecError.invalidArgument("strong generalisation: 2 × \(heldOut) held-out users leave no training user among \(userCount)")
    }
    try checkFraction(config.targetFraction, "targetFraction", allowZero: true)
    guard config.minItemsForSplit >= 1 else { throw AERecError.invalidArgument("minItemsForSplit must be ≥ 1") }

    var permutation = (0..<userCount).map { Int32($0) }
    var rng = SplitRandom(seed: config.seed, stream: SplitStream.strongUsers.rawValue)
    permutation.withUnsafeMutableBufferPointer { rng.selectFront($0, userCount) }
    let trainCount = userCount - 2 * heldOut
    var trainRow = [Int32](repeating: -1, count: userCount)
    for (row, u) in permutation[0..<trainCount].enumerated() { trainRow[Int(u)] = Int32(row) }

    // item space: items of training interactions, in order of first appearance
    var column = [Int32](repeating: -1, count: data.itemIDs.count)
    var itemOrder: [Int32] = []
    var trainEntries: [(Int32, Int32, Float)] = []
    trainEntries.reserveCapacity(data.count)
    data.users.withUnsafeBufferPointer { us in
        data.items.withUnsafeBufferPointer { its in
            data.values.withUnsafeBufferPointer { vs in
                trainRow.withUnsafeBufferPointer { tr in
                    column.withUnsafeMutableBufferPointer { col in
                        for r in 0..<us.count {
                            let row = tr[Int(us[r])]
                            if row < 0 { continue }
                            let i = Int(its[r])
                            if col[i] < 0 { col[i] = Int32(itemOrder.count); itemOrder.append(Int32(i)) }
                            trainEntries.append((row, col[i], vs[r]))
                        }
                    }
                }
            }
        }
    }
    let itemCount = itemOrder.count
    var train = MatrixAssembler(rowCount: trainCount, columnCount: itemCount, expected: trainEntries.count)
    for (r, c, v) in trainEntries { train.append(r, c, v) }
    trainEntries = []

    let groups = UserGroups(data)
    func heldOutSet(_ users: ArraySlice<Int32>) -> HeldOutSet {
        var foldIn = MatrixAssembler(rowCount: users.count, columnCount: itemCount)
        var target = MatrixAssembler(rowCount: users.count, columnCount: itemCount)
        var positions: [Int32] = []
        for (row, u) in users.enumerated() {
            positions.removeAll(keepingCapacity: true)
            for r in groups.rows(of: Int(u)) where column[Int(data.items[Int(r)])] >= 0 { positions.append(r) }
            let n = positions.count
            var k = 0
            if n >= config.minItemsForSplit {
                k = Int(config.targetFraction * Double(n))   // numpy: int(test_prop * n_items_u)
                var userRNG = SplitRandom(seed: config.seed, stream: SplitStream.strongTarget.rawValue, key: UInt64(u))
                positions.withUnsafeMutableBufferPointer { userRNG.selectFront($0, k) }
            }
            for (j, r) in positions.enumerated() {
                let c = column[Int(data.items[Int(r)])], v = data.values[Int(r)]
                if j < k { target.append(Int32(row), c, v) } else { foldIn.append(Int32(row), c, v) }
            }
        }
        return HeldOutSet(users: Array(users), trainRows: [Int32](repeating: -1, count: users.count),
                          foldIn: foldIn.build(), target: target.build())
    }
    let validation = heldOutSet(permutation[trainCount..<(trainCount + heldOut)])
    let test = heldOutSet(permutation[(trainCount + heldOut)...])
    return Split(protocolKind: .strong, train: train.build(), trainUsers: Array(permutation[0..<trainCount]),
                 validation: validation, test: test, userIDs: data.userIDs,
                 itemIDs: data.itemIDs.subset(itemOrder), seed: config.seed)
}

// MARK: - Weak generalisation (ratio, leave-one-out, explicit, given)

/// What happens to each interaction in a weak-generalisation split.
private enum Role: UInt8 { case train = 0, validation, test }

/// Builds a split whose train matrix has one row per user (row = user index) from a role per
/// interaction; held-out sets list the users with at least one target, fold-in = training row
/// (with `testFoldInIncludesValidation`, the test fold-in is training + validation interactions).
private func weakSplit(_ data: Interactions, _ role: [Role], _ kind: SplitProtocol, seed: UInt64,
                       withValidation: Bool, testTargets: (users: [Int32], items: [Int32], values: [Float])? = nil,
                       testFoldInIncludesValidation: Bool = false) -> Split {
    let userCount = data.userIDs.count, itemCount = data.itemIDs.count
    var train = MatrixAssembler(rowCount: userCount, columnCount: itemCount, expected: data.count)
    var valEntries: [(u: Int32, i: Int32, v: Float)] = []
    var testEntries: [(u: Int32, i: Int32, v: Float)] = []
    role.withUnsafeBufferPointer { ro in
        data.users.withUnsafeBufferPointer { us in
            data.items.withUnsafeBufferPointer { its in
                data.values.withUnsafeBufferPointer { vs in
                    for r in 0..<ro.count {
                        switch ro[r] {
                        case .train: train.append(us[r], its[r], vs[r])
                        case .validation: valEntries.append((us[r], its[r], vs[r]))
                        case .test: testEntries.append((us[r], its[r], vs[r]))
                        }
                    }
                }
            }
        }
    }
    if let t = testTargets {
        testEntries = (0..<t.users.count).map { (t.users[$0], t.items[$0], t.values[$0]) }
    }
    let trainMatrix = train.build()
    // the history a test user is given: the training row, or training + validation interactions
    var history = trainMatrix
    if testFoldInIncludesValidation && !valEntries.isEmpty {
        var all = MatrixAssembler(rowCount: userCount, columnCount: itemCount, expected: data.count)
        for r in 0..<role.count where role[r] != .test { all.append(data.users[r], data.items[r], data.values[r]) }
        history = all.build()
    }
    func heldOutSet(_ entries: [(u: Int32, i: Int32, v: Float)], foldInFrom source: InteractionMatrix) -> HeldOutSet {
        var has = [Bool](repeating: false, count: userCount)
        for e in entries { has[Int(e.u)] = true }
        let users = (0..<userCount).filter { has[$0] }.map { Int32($0) }
        var rowOf = [Int32](repeating: -1, count: userCount)
        for (row, u) in users.enumerated() { rowOf[Int(u)] = Int32(row) }
        var target = MatrixAssembler(rowCount: users.count, columnCount: itemCount, expected: entries.count)
        for e in entries { target.append(rowOf[Int(e.u)], e.i, e.v) }
        return HeldOutSet(users: users, trainRows: users, foldIn: source.rows(users.map { Int($0) }),
                          target: target.build())
    }
    return Split(protocolKind: kind, train: trainMatrix, trainUsers: (0..<userCount).map { Int32($0) },
                 validation: withValidation ? heldOutSet(valEntries, foldInFrom: trainMatrix) : nil,
                 test: heldOutSet(testEntries, foldInFrom: history),
                 userIDs: data.userIDs, itemIDs: data.itemIDs, seed: seed)
}

private func ratioSplit(_ data: Interactions, _ config: SplitConfiguration) throws -> Split {
    try checkFraction(config.testFraction, "testFraction", allowZero: false)
    try checkFraction(config.validationFraction, "validationFraction", allowZero: true)
    guard config.testFraction + config.validationFraction < 1 else {
        throw AERecError.invalidArgument("testFraction + validationFraction must be < 1")
    }
    let groups = UserGroups(data)
    var role = [Role](repeating: .train, count: data.count)
    var positions: [Int32] = []
    for u in 0..<data.userIDs.count {
        positions.removeAll(keepingCapacity: true)
        positions.append(contentsOf: groups.rows(of: u))
        let n = positions.count
        guard n >= 2 else { continue }
        let kTest = min(max(floorFraction(config.testFraction, n), 1), n - 1)
        var kVal = 0
        if config.validationFraction > 0 && n - kTest >= 2 {
            kVal = min(max(floorFraction(config.validationFraction, n), 1), n - kTest - 1)
        }
        var rng = SplitRandom(seed: config.seed, stream: SplitStream.ratio.rawValue, key: UInt64(u))
        positions.withUnsafeMutableBufferPointer { rng.selectFront($0, kTest + kVal) }
        for j in 0..<kTest { role[Int(positions[j])] = .test }
        for j in kTest..<(kTest + kVal) { role[Int(positions[j])] = .validation }
    }
    return weakSplit(data, role, .ratio, seed: config.seed, withValidation: config.validationFraction > 0)
}

private func leaveOneOutSplit(_ data: Interactions, _ config: SplitConfiguration) throws -> Split {
    guard let times = data.timestamps else {
        throw AERecError.data("leave-one-out needs timestamps, and these data have none (read a file with a timestamp column)")
    }
    let groups = UserGroups(data)
    var role = [Role](repeating: .train, count: data.count)
    for u in 0..<data.userIDs.count {
        let rows = groups.rows(of: u)
        guard rows.count >= 2 else { continue }
        // latest = largest (timestamp, row); rows are in file order
        var last = -1, second = -1
        for r32 in rows {
            let r = Int(r32)
            if last < 0 || (times[r], r) > (times[last], last) {
                second = last; last = r
            } else if second < 0 || (times[r], r) > (times[second], second) {
                second = r
            }
        }
        role[last] = .test
        if config.leaveOneOutValidation && rows.count >= 3 { role[second] = .validation }
    }
    return weakSplit(data, role, .loo, seed: config.seed, withValidation: config.leaveOneOutValidation)
}

private func explicitSplit(_ data: Interactions, _ config: SplitConfiguration) throws -> Split {
    try checkFraction(config.testFraction, "testFraction", allowZero: false)
    try checkFraction(config.validationFraction, "validationFraction", allowZero: true)
    guard config.testFraction + config.validationFraction < 1 else {
        throw AERecError.invalidArgument("testFraction + validationFraction must be < 1")
    }
    let n = data.count
    let nTest = floorFraction(config.testFraction, n), nVal = floorFraction(config.validationFraction, n)
    guard nTest >= 1 else {
        throw AERecError.data("explicit split: \(config.testFraction) of \(n) ratings is no test rating")
    }
    var order = (0..<n).map { Int32($0) }
    var rng = SplitRandom(seed: config.seed, stream: SplitStream.explicit.rawValue)
    order.withUnsafeMutableBufferPointer { rng.selectFront($0, nTest + nVal) }
    var role = [Role](repeating: .train, count: n)
    for j in 0..<nTest { role[Int(order[j])] = .test }
    for j in nTest..<(nTest + nVal) { role[Int(order[j])] = .validation }
    return weakSplit(data, role, .explicit, seed: config.seed, withValidation: config.validationFraction > 0)
}

private func givenSplit(_ data: Interactions, _ config: SplitConfiguration) throws -> Split {
    guard let source = config.givenTest else {
        throw AERecError.invalidArgument("the given protocol needs a test set (SplitConfiguration.given(test:))")
    }
    try checkFraction(config.validationFraction, "validationFraction", allowZero: true)
    let test: Interactions
    var lines: [Int32]? = nil
    var origin = "the test set"
    switch source {
    case .interactions(let t): test = t.lastOccurrences()
    case .file(let path, let format):
        (test, lines) = try InteractionReader.readWithLineNumbers(path: path, format: format)
        origin = path
    }
    try test.validateIndices()
    guard test.count > 0 else { throw AERecError.data("\(origin) holds no interaction") }
    // match external ids
    let userMap = test.userIDs.ids.map { data.userIDs.index(of: $0) ?? -1 }
    let itemMap = test.itemIDs.ids.map { data.itemIDs.index(of: $0) ?? -1 }
    var unknownUsers = 0, unknownItems = 0
    var firstUser: Int? = nil, firstItem: Int? = nil
    for r in 0..<test.count {
        if userMap[Int(test.users[r])] < 0 { unknownUsers += 1; if firstUser == nil { firstUser = r } }
        if itemMap[Int(test.items[r])] < 0 { unknownItems += 1; if firstItem == nil { firstItem = r } }
    }
    if unknownUsers + unknownItems > 0 {
        func place(_ r: Int) -> String { lines.map { "line \($0[r])" } ?? "row \(r + 1)" }
        var parts: [String] = []
        if let r = firstUser {
            parts.append("\(unknownUsers) row\(unknownUsers == 1 ? " has a user" : "s have users") not in the data (first: user '\(test.userIDs[Int(test.users[r])])' at \(place(r)))")
        }
        if let r = firstItem {
            parts.append("\(unknownItems) row\(unknownItems == 1 ? " has an item" : "s have items") not in the data (first: item '\(test.itemIDs[Int(test.items[r])])' at \(place(r)))")
        }
        throw AERecError.data("\(origin): " + parts.joined(separator: "; "))
    }
    let tu = test.users.map { userMap[Int($0)] }, ti = test.items.map { itemMap[Int($0)] }
    var testPairs = Set<UInt64>(minimumCapacity: test.count)
    for r in 0..<test.count { testPairs.insert(UInt64(UInt32(tu[r])) << 32 | UInt64(UInt32(ti[r]))) }
    var role = [Role](repeating: .train, count: data.count)
    for r in 0..<data.count
    where testPairs.contains(UInt64(UInt32(data.users[r])) << 32 | UInt64(UInt32(data.items[r]))) {
        role[r] = .test
    }
    let f = config.validationFraction
    if f > 0 {
        // a validation share of each user's remaining (training) interactions, as ratio does
        let groups = UserGroups(data)
        var positions: [Int32] = []
        for u in 0..<data.userIDs.count {
            positions.removeAll(keepingCapacity: true)
            for r in groups.rows(of: u) where role[Int(r)] == .train { positions.append(r) }
            let n = positions.count
            guard n >= 2 else { continue }
            let k = min(max(floorFraction(f, n), 1), n - 1)
            var rng = SplitRandom(seed: config.seed, stream: SplitStream.givenValidation.rawValue, key: UInt64(u))
            positions.withUnsafeMutableBufferPointer { rng.selectFront($0, k) }
            for j in 0..<k { role[Int(positions[j])] = .validation }
        }
    }
    return weakSplit(data, role, .given, seed: config.seed, withValidation: f > 0,
                     testTargets: (tu, ti, test.values), testFoldInIncludesValidation: true)
}
