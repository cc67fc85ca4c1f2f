/// The evaluation protocols AERec implements.
public enum SplitProtocol: String, Sendable, CaseIterable, Codable {
    /// Strong generalisation exactly as Liang et al. 2018 (vae_cf): held-out users are unseen in
    /// training; each held-out user's items split 80 % fold-in / 20 % target.
    case strong
    /// Weak generalisation: a random fraction of every user's items held out.
    case ratio
    /// Leave the last interaction (by timestamp) of each user out.
    case loo
    /// A random 90/10 split of rating triples, for rating-prediction (RMSE) models.
    case explicit
    /// Train and test files supplied by the user.
    case given
}

/// Users held out for validation or testing: what a model may see of them (`foldIn`) and what it
/// must rank (`target`). Rows are aligned: row r of both belongs to `users[r]`.
public struct HeldOutSet: Sendable, Equatable {
    /// Dataset user index (into ``Split/userIDs``) of each row.
    public var users: [Int32]
    /// Row of each user in ``Split/train``, or -1 when the user has no training row (strong
    /// generalisation). Models with per-user parameters (CDAE) use it.
    public var trainRows: [Int32]
    /// The interactions the model is given (its input); excluded from the ranking.
    public var foldIn: InteractionMatrix
    /// The interactions to predict.
    public var target: InteractionMatrix

    public init(users: [Int32], trainRows: [Int32], foldIn: InteractionMatrix, target: InteractionMatrix) {
        self.users = users
        self.trainRows = trainRows
        self.foldIn = foldIn
        self.target = target
    }

    public var count: Int { users.count }
}

/// A dataset split under one protocol. Deterministic given the seed; exportable as TSV files.
public struct Split: Sendable, Equatable {
    public var protocolKind: SplitProtocol
    /// Training interactions: one row per training user, columns in the split's item space.
    public var train: InteractionMatrix
    /// Dataset user index (into ``userIDs``) of each training row.
    public var trainUsers: [Int32]
    public var validation: HeldOutSet?
    public var test: HeldOutSet
    /// All users of the dataset.
    public var userIDs: IDMap
    /// The split's items (for `strong`, only those seen in training), in column order.
    public var itemIDs: IDMap
    public var seed: UInt64

    public init(protocolKind: SplitProtocol, train: InteractionMatrix, trainUsers: [Int32], validation: HeldOutSet?,
                test: HeldOutSet, userIDs: IDMap, itemIDs: IDMap, seed: UInt64) {
        self.protocolKind = protocolKind
        self.train = train
        self.trainUsers = trainUsers
        self.validation = validation
        self.test = test
        self.userIDs = userIDs
        self.itemIDs = itemIDs
        self.seed = seed
    }
}
