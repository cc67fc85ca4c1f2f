/// A bijection between external ids (as they appear in the data file, kept as text so that
/// "0001" and "1" stay apart) and dense indices 0..<count.
public struct IDMap: Sendable, Equatable, Hashable {
    /// External id of each index.
    public private(set) var ids: [String]
    private var lookup: [String: Int32]

    public init() { ids = []; lookup = [:] }

    /// A map over the given ids in this order. Throws on duplicates.
    public init(ids: [String]) throws {
        self.ids = ids
        lookup = Dictionary(minimumCapacity: ids.count)
        for (i, id) in ids.enumerated() {
            if lookup.updateValue(Int32(i), forKey: id) != nil {
                throw AERecError.data("duplicate id '\(id)' in id map")
            }
        }
    }

    public var count: Int { ids.count }

    /// The index of `id`, or nil.
    public func index(of id: String) -> Int32? { lookup[id] }

    /// The index of `id`, adding it when new.
    public mutating func intern(_ id: String) -> Int32 {
        if let i = lookup[id] { return i }
        let i = Int32(ids.count)
        ids.append(id)
        lookup[id] = i
        return i
    }

    /// The external id of index `i`.
    public subscript(i: Int) -> String { ids[i] }

    /// A map keeping only `keep` (old indices, in their new order).
    public func subset(_ keep: [Int32]) -> IDMap {
        // ids are unique, so this cannot throw
        try! IDMap(ids: keep.map { ids[Int($0)] })
    }

    public static func == (a: IDMap, b: IDMap) -> Bool { a.ids == b.ids }
    public func hash(into h: inout Hasher) { h.combine(ids) }
}
