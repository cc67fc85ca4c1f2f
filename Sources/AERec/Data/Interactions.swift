/// What reading and filtering did to a dataset: every row accounted for.
public struct DataReport: Sendable, Equatable, Codable {
    /// Data lines read (header excluded).
    public var linesRead = 0
    /// Rows dropped because the same (user, item) pair occurred again later (the last one is kept).
    public var duplicatesDropped = 0
    /// Rows dropped by the rating threshold (value ≤ t).
    public var belowThreshold = 0
    /// Rows dropped by the minimum-count / k-core filters.
    public var droppedByCountFilter = 0
    /// Users and items dropped by the filters.
    public var usersDropped = 0
    public var itemsDropped = 0
    public init() {}
}

/// A dataset as a log of (user, item, value, timestamp) interactions with dense indices and the
/// id maps back to the file's ids. Readers produce it; filters and split protocols consume it.
public struct Interactions: Sendable, Equatable {
    public var users: [Int32]
    public var items: [Int32]
    public var values: [Float]
    /// Unix timestamps (or any orderable time), when the source has them.
    public var timestamps: [Int64]?
    public var userIDs: IDMap
    public var itemIDs: IDMap
    public var report: DataReport

    public init(users: [Int32], items: [Int32], values: [Float], timestamps: [Int64]?, userIDs: IDMap,
                itemIDs: IDMap, report: DataReport = DataReport()) {
        self.users = users
        self.items = items
        self.values = values
        self.timestamps = timestamps
        self.userIDs = userIDs
        self.itemIDs = itemIDs
        self.report = report
    }

    /// Number of interactions.
    public var count: Int { users.count }

    /// The users × items matrix (explicit values; `.binarized()` for implicit models).
    public func matrix() throws -> InteractionMatrix {
        try InteractionMatrix(rowCount: userIDs.count, columnCount: itemIDs.count, rows: users, columns: items,
                              values: values)
    }
}
