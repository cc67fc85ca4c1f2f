import Testing
@testable import AERec
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// MARK: - Helpers

enum SplitFixtures {
    /// A deterministic synthetic log: `users` users with 1…23 distinct items each, values 1…5,
    /// timestamps with ties, rows interleaved across users (so first appearance ≠ user order).
    static func synthetic(users: Int = 60, items: Int = 40) -> Interactions {
        var rows: [(key: UInt64, row: (String, String, Float, Int64))] = []
        for u in 0..<users {
            let n = 1 + (u * 7) % 23
            var chosen = Set<Int>()
            var x = UInt64(u) &* 2_654_435_761 &+ 1
            while chosen.count < min(n, items) {
                x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                chosen.insert(Int((x >> 33) % UInt64(items)))
            }
            for (k, i) in chosen.sorted().enumerated() {
                x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                rows.append((x >> 11, ("u\(u)", "i\(String(i))", Float(1 + (u + i) % 5), Int64((k * 3) % 7))))
            }
            if u % 6 == 0 { rows.append((x >> 13, ("u\(u)", "solo\(u)", 2, 3))) }   // an item only u has
        }
        rows.sort { $0.key < $1.key }
        return DataFixtures.interactions(rows.map(\.row))
    }

    /// user id → (item id → value) of a dataset.
    static func byUser(_ d: Interactions) -> [String: [String: Float]] {
        var out: [String: [String: Float]] = [:]
        for r in 0..<d.count { out[d.userIDs[Int(d.users[r])], default: [:]][d.itemIDs[Int(d.items[r])]] = d.values[r] }
        return out
    }

    /// item id → value of row r of m.
    static func row(_ m: InteractionMatrix, _ r: Int, _ items: IDMap) -> [String: Float] {
        var out: [String: Float] = [:]
        for k in Int(m.indptr[r])..<Int(m.indptr[r + 1]) { out[items[Int(m.indices[k])]] = m.value(at: k) }
        return out
    }

    /// Checks the structural invariants every split must satisfy.
    static func checkStructure(_ s: Split, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(s.train.rowCount == s.trainUsers.count, sourceLocation: sourceLocation)
        #expect(s.train.columnCount == s.itemIDs.count, sourceLocation: sourceLocation)
        #expect(Set(s.trainUsers).count == s.trainUsers.count, "train users repeat", sourceLocation: sourceLocation)
        for set in [s.validation, s.test].compactMap({ $0 }) {
            #expect(set.foldIn.rowCount == set.count && set.target.rowCount == set.count, sourceLocation: sourceLocation)
            #expect(set.trainRows.count == set.count, sourceLocation: sourceLocation)
            #expect(set.foldIn.columnCount == s.itemIDs.count && set.target.columnCount == s.itemIDs.count,
                    sourceLocation: sourceLocation)
            for r in 0..<set.count {
                let f = Set(set.foldIn.row(r).columns), t = Set(set.target.row(r).columns)
                #expect(f.isDisjoint(with: t), "fold-in and target overlap", sourceLocation: sourceLocation)
                let tr = Int(set.trainRows[r])
                if tr >= 0 { #expect(s.trainUsers[tr] == set.users[r], sourceLocation: sourceLocation) }
            }
            // each matrix passes the CSR checks
            for m in [set.foldIn, set.target] {
                #expect((try? InteractionMatrix(rowCount: m.rowCount, columnCount: m.columnCount, indptr: m.indptr,
                                                indices: m.indices, values: m.values)) != nil, sourceLocation: sourceLocation)
            }
        }
    }
}

// MARK: - Strong generalisation

@Suite("Split protocols")
struct SplitProtocolTests {
    let data = SplitFixtures.synthetic()

    @Test("strong: vae_cf partition, item space, 80/20 fold-in/target")
    func strong() throws {
        let n = 10
        let s = try makeSplit(data, .strong(heldOutUsers: n, seed: 7))
        SplitFixtures.checkStructure(s)
        let val = s.validation!
        #expect(s.protocolKind == .strong && s.seed == 7)
        #expect(s.trainUsers.count == 40 && val.count == n && s.test.count == n)
        let all = s.trainUsers + val.users + s.test.users
        #expect(Set(all).count == 60 && all.count == 60)
        #expect(val.trainRows == [Int32](repeating: -1, count: n) && s.test.trainRows == [Int32](repeating: -1, count: n))
        #expect(s.userIDs == data.userIDs)

        // item space: training items in order of first appearance among training interactions
        let trainSet = Set(s.trainUsers)
        var order: [String] = [], seen = Set<String>()
        for r in 0..<data.count where trainSet.contains(data.users[r]) {
            let id = data.itemIDs[Int(data.items[r])]
            if seen.insert(id).inserted { order.append(id) }
        }
        #expect(s.itemIDs.ids == order)
        #expect(s.itemIDs.count < data.itemIDs.count, "fixture should leave some items to held-out users only")

        let byUser = SplitFixtures.byUser(data)
        for (row, u) in s.trainUsers.enumerated() {
            #expect(SplitFixtures.row(s.train, row, s.itemIDs) == byUser[data.userIDs[Int(u)]]!)
        }
        var dropped = 0, targets = 0
        for set in [val, s.test] {
            for r in 0..<set.count {
                let user = byUser[data.userIDs[Int(set.users[r])]]!
                let inSpace = user.filter { seen.contains($0.key) }
                dropped += user.count - inSpace.count
                let f = SplitFixtures.row(set.foldIn, r, s.itemIDs), t = SplitFixtures.row(set.target, r, s.itemIDs)
                #expect(f.merging(t) { a, _ in a } == inSpace)
                let m = inSpace.count
                #expect(t.count == (m >= 5 ? m / 5 : 0), "user with \(m) items")
                targets += t.count
            }
        }
        #expect(dropped > 0 && targets > 0)
    }

    @Test("strong: deterministic per seed, different across seeds")
    func strongSeeds() throws {
        let a = try makeSplit(data, .strong(heldOutUsers: 10, seed: 1))
        let b = try makeSplit(data, .strong(heldOutUsers: 10, seed: 1))
        let c = try makeSplit(data, .strong(heldOutUsers: 10, seed: 2))
        #expect(a == b)
        #expect(a.test.users != c.test.users)
        #expect(a != c)
    }

    @Test("strong: a held-out user's items outside the training items are dropped")
    func strongRestriction() throws {
        // user x is the only one with item "rare"; find a seed that holds x out
        var rows: [(String, String, Float, Int64)] = [("x", "rare", 1, 0)]
        for u in 0..<8 { for i in 0..<6 { rows.append(("u\(u)", "i\(i)", 1, 0)) } }
        for i in 0..<6 { rows.append(("x", "i\(i)", 1, 0)) }
        let d = DataFixtures.interactions(rows)
        var found = false
        for seed in UInt64(0)..<200 {
            let s = try makeSplit(d, .strong(heldOutUsers: 2, seed: seed))
            guard let r = s.test.users.firstIndex(of: 0) else { continue }   // x is user 0
            found = true
            #expect(s.itemIDs.index(of: "rare") == nil)
            #expect(s.itemIDs.count == 6)
            // 6 items remain (rare dropped): target floor(0.2 · 6) = 1
            #expect(s.test.foldIn.count(ofRow: r) == 5 && s.test.target.count(ofRow: r) == 1)
            #expect(s.train.values == nil, "all-ones split is implicit")
            break
        }
        #expect(found)
    }

    @Test("strong: held-out users with fewer than 5 items keep all as fold-in; bad arguments")
    func strongSmallUsers() throws {
        var rows: [(String, String, Float, Int64)] = []
        for u in 0..<10 { for i in 0..<(u % 2 == 0 ? 4 : 10) { rows.append(("u\(u)", "i\(i)", 1, 0)) } }
        let d = DataFixtures.interactions(rows)
        let s = try makeSplit(d, .strong(heldOutUsers: 3, seed: 3))
        for set in [s.validation!, s.test] {
            for r in 0..<set.count {
                let n = set.foldIn.count(ofRow: r) + set.target.count(ofRow: r)
                #expect(set.target.count(ofRow: r) == (n >= 5 ? n / 5 : 0))
            }
        }
        #expect(throws: AERecError.self) { try makeSplit(d, .strong(heldOutUsers: 5)) }
        #expect(throws: AERecError.self) { try makeSplit(d, .strong(heldOutUsers: 0)) }
        #expect(throws: AERecError.self) { try makeSplit(d, .strong(heldOutUsers: 1, targetFraction: 1.5)) }
    }

    // MARK: ratio

    @Test("ratio: per-user counts, rounding, disjoint and complete")
    func ratio() throws {
        let s = try makeSplit(data, .ratio(testFraction: 0.2, validationFraction: 0.1, seed: 5))
        SplitFixtures.checkStructure(s)
        #expect(s.trainUsers == (0..<Int32(60)).map { $0 } && s.itemIDs == data.itemIDs)
        let val = s.validation!
        let byUser = SplitFixtures.byUser(data)
        for u in 0..<60 {
            let id = data.userIDs[u], user = byUser[id]!
            let n = user.count
            let kTest = n >= 2 ? min(max(Int(0.2 * Double(n) + 1e-9), 1), n - 1) : 0
            let kVal = n - kTest >= 2 ? min(max(Int(0.1 * Double(n) + 1e-9), 1), n - kTest - 1) : 0
            let train = SplitFixtures.row(s.train, u, s.itemIDs)
            let t = s.test.users.firstIndex(of: Int32(u)).map { SplitFixtures.row(s.test.target, $0, s.itemIDs) } ?? [:]
            let v = val.users.firstIndex(of: Int32(u)).map { SplitFixtures.row(val.target, $0, s.itemIDs) } ?? [:]
            #expect(t.count == kTest && v.count == kVal, "user \(u) n \(n)")
            #expect(train.count == n - kTest - kVal)
            #expect(train.merging(t) { a, _ in a }.merging(v) { a, _ in a } == user)
            if let r = s.test.users.firstIndex(of: Int32(u)) {
                #expect(SplitFixtures.row(s.test.foldIn, r, s.itemIDs) == train)
                #expect(s.test.trainRows[r] == Int32(u))
            }
        }
        #expect(s.test.users.count == byUser.values.filter { $0.count >= 2 }.count)
        #expect(try makeSplit(data, .ratio(seed: 5)) == (try makeSplit(data, .ratio(seed: 5))))
        #expect(try makeSplit(data, .ratio(seed: 5)) != (try makeSplit(data, .ratio(seed: 6))))
        #expect(try makeSplit(data, .ratio(seed: 5)).validation == nil)
        #expect(throws: AERecError.self) { try makeSplit(data, .ratio(testFraction: 0.6, validationFraction: 0.5)) }
        #expect(throws: AERecError.self) { try makeSplit(data, .ratio(testFraction: 0)) }
    }

    // MARK: leave-one-out

    @Test("leave-one-out: last by timestamp, ties by file order, validation, single-item users")
    func leaveOneOut() throws {
        let d = DataFixtures.interactions([
            ("a", "1", 1, 5), ("b", "1", 2, 9), ("a", "2", 1, 3), ("a", "3", 1, 5), ("c", "2", 4, 1),
            ("a", "4", 1, 1), ("c", "3", 5, 2),
        ])
        let s = try makeSplit(d, .leaveOneOut(validation: true))
        SplitFixtures.checkStructure(s)
        // a: (1,t5) (2,t3) (3,t5 later line) (4,t1) → test 3, validation 1; b: train only; c: test 3
        #expect(s.test.users == [0, 2])
        #expect(SplitFixtures.row(s.test.target, 0, s.itemIDs) == ["3": 1])
        #expect(SplitFixtures.row(s.test.target, 1, s.itemIDs) == ["3": 5])
        #expect(s.validation!.users == [0])
        #expect(SplitFixtures.row(s.validation!.target, 0, s.itemIDs) == ["1": 1])
        #expect(SplitFixtures.row(s.train, 0, s.itemIDs) == ["2": 1, "4": 1])
        #expect(SplitFixtures.row(s.train, 1, s.itemIDs) == ["1": 2])
        #expect(SplitFixtures.row(s.train, 2, s.itemIDs) == ["2": 4])
        #expect(SplitFixtures.row(s.test.foldIn, 0, s.itemIDs) == ["2": 1, "4": 1])
        let noVal = try makeSplit(d, .leaveOneOut())
        #expect(noVal.validation == nil)
        #expect(SplitFixtures.row(noVal.train, 0, s.itemIDs) == ["1": 1, "2": 1, "4": 1])

        var untimed = d
        untimed.timestamps = nil
        #expect(dataError { try makeSplit(untimed, .leaveOneOut()) }
                == "leave-one-out needs timestamps, and these data have none (read a file with a timestamp column)")
    }

    // MARK: explicit

    @Test("explicit: random 10 % of rating triples, values kept")
    func explicit() throws {
        let s = try makeSplit(data, .explicit(validationFraction: 0.05, seed: 9))
        SplitFixtures.checkStructure(s)
        #expect(s.test.target.nnz == data.count / 10)
        #expect(s.validation!.target.nnz == Int(Double(data.count) * 0.05 + 1e-9))
        #expect(s.train.nnz + s.test.target.nnz + s.validation!.target.nnz == data.count)
        #expect(s.train.values != nil)
        let byUser = SplitFixtures.byUser(data)
        for u in 0..<60 {
            var all = SplitFixtures.row(s.train, u, s.itemIDs)
            for set in [s.test, s.validation!] {
                if let r = set.users.firstIndex(of: Int32(u)) {
                    let t = SplitFixtures.row(set.target, r, s.itemIDs)
                    #expect(Set(t.keys).isDisjoint(with: all.keys))
                    all.merge(t) { a, _ in a }
                    #expect(SplitFixtures.row(set.foldIn, r, s.itemIDs) == SplitFixtures.row(s.train, u, s.itemIDs))
                }
            }
            #expect(all == byUser[data.userIDs[u]]!)
        }
        #expect(try makeSplit(data, .explicit(seed: 9)) != (try makeSplit(data, .explicit(seed: 10))))
    }

    // MARK: given

    @Test("given: train = data minus test pairs; unknown ids are errors with their line")
    func given() throws {
        let d = DataFixtures.interactions([
            ("a", "1", 1, 0), ("a", "2", 1, 0), ("b", "1", 1, 0), ("b", "3", 1, 0), ("c", "2", 1, 0),
        ])
        let dir = DataFixtures.tempDir()
        let testPath = dir + "/test.tsv"
        DataFixtures.write(testPath, "user\titem\tvalue\nb\t3\t1\na\t3\t1\n")   // (a,3) is not in the data
        let s = try makeSplit(d, .given(testFile: testPath))
        SplitFixtures.checkStructure(s)
        #expect(s.protocolKind == .given && s.validation == nil)
        #expect(s.test.users == [0, 1])
        #expect(SplitFixtures.row(s.test.target, 0, s.itemIDs) == ["3": 1])
        #expect(SplitFixtures.row(s.test.target, 1, s.itemIDs) == ["3": 1])
        #expect(SplitFixtures.row(s.train, 1, s.itemIDs) == ["1": 1])
        #expect(SplitFixtures.row(s.test.foldIn, 1, s.itemIDs) == ["1": 1])
        #expect(s.train.nnz == 4)

        let badPath = dir + "/bad.tsv"
        DataFixtures.write(badPath, "user\titem\tvalue\na\t1\t1\n\nz\t1\t1\na\t9\t1\nz\t8\t1\n")
        #expect(dataError { try makeSplit(d, .given(testFile: badPath)) }
                == "\(badPath): 2 rows have users not in the data (first: user 'z' at line 4); 2 rows have items not in the data (first: item '9' at line 5)")
        let t = DataFixtures.interactions([("a", "1", 1, 0), ("q", "1", 1, 0)])
        #expect(dataError { try makeSplit(d, .given(test: t)) }
                == "the test set: 1 row has a user not in the data (first: user 'q' at row 2)")
    }

    @Test("given with a validation share: carved from each user's training part, test fold-in = whole history")
    func givenValidation() throws {
        // a test set: the ratio protocol's test part of the synthetic log
        let r = try makeSplit(data, .ratio(testFraction: 0.2, seed: 3))
        var rows: [(String, String, Float, Int64)] = []
        for k in 0..<r.test.count {
            for (item, v) in SplitFixtures.row(r.test.target, k, r.itemIDs) {
                rows.append((data.userIDs[Int(r.test.users[k])], item, v, 0))
            }
        }
        let t = DataFixtures.interactions(rows)
        let plain = try makeSplit(data, .given(test: t))
        let f = 0.25
        let s = try makeSplit(data, .given(test: t, validationFraction: f, seed: 5))
        SplitFixtures.checkStructure(s)
        let val = try #require(s.validation)
        #expect(plain.validation == nil && s.protocolKind == .given && s.seed == 5)
        // the test set is unchanged: same users, targets and fold-in (the whole history)
        #expect(s.test == plain.test)
        #expect(s.train.nnz + val.target.nnz == plain.train.nnz)
        var valRow: [Int32: Int] = [:]
        for (k, u) in val.users.enumerated() { valRow[u] = k }
        var carved = 0
        for u in 0..<plain.train.rowCount {
            let all = SplitFixtures.row(plain.train, u, plain.itemIDs), kept = SplitFixtures.row(s.train, u, s.itemIDs)
            let n = all.count
            let expected = n >= 2 ? min(max(Int(f * Double(n) + 1e-9), 1), n - 1) : 0
            guard let k = valRow[Int32(u)] else {
                #expect(expected == 0 && kept == all, "user \(u)")
                continue
            }
            let target = SplitFixtures.row(val.target, k, s.itemIDs)
            #expect(target.count == expected, "user \(u): \(target.count) validation items of \(n)")
            #expect(kept.merging(target) { a, _ in a } == all && Set(kept.keys).isDisjoint(with: target.keys))
            #expect(SplitFixtures.row(val.foldIn, k, s.itemIDs) == kept, "validation fold-in = the training row")
            carved += target.count
        }
        #expect(carved == val.target.nnz && carved > 0)
        // deterministic per seed, different across seeds; exported and reloaded intact
        #expect(try makeSplit(data, .given(test: t, validationFraction: f, seed: 5)) == s)
        #expect(try makeSplit(data, .given(test: t, validationFraction: f, seed: 6)).validation != val)
        let dir = DataFixtures.tempDir() + "/split"
        try s.export(to: dir)
        #expect(try Split.load(from: dir) == s)
        // a fraction outside [0, 1) is refused
        #expect(throws: AERecError.self) { try makeSplit(data, .given(test: t, validationFraction: 1)) }
    }

    @Test("given: gowalla (LightGCN) ratings minus test")
    func gowalla() throws {
        guard let ratings = DataFixtures.sharedData("gowalla-lightgcn/ratings.tsv.gz"),
              let test = DataFixtures.sharedData("gowalla-lightgcn/test.tsv.gz") else {
            Issue.record("SKIPPED: ../shared/data/gowalla-lightgcn not found relative to the package root")
            return
        }
        let d = try InteractionReader.read(path: ratings)
        let s = try makeSplit(d, .given(testFile: test))
        #expect(s.train.nnz == 810_128 && s.test.target.nnz == 217_242)
        #expect(s.train.rowCount == 29_858 && s.test.count == 29_858 && s.itemIDs.count == 40_981)
        #expect(s.train.values == nil)
        // with a 10 % validation share: carved from the 810,128 training pairs, the test set unchanged
        let v = try makeSplit(d, .given(testFile: test, validationFraction: 0.1))
        let val = try #require(v.validation)
        #expect(v.train.nnz + val.target.nnz == 810_128 && val.target.nnz > 60_000 && val.target.nnz < 81_013)
        #expect(v.test == s.test)
    }
}

// MARK: - Export

@Suite("Split export")
struct SplitExportTests {
    let data = SplitFixtures.synthetic()

    @Test("every protocol round-trips through the TSV directory", arguments: [
        SplitConfiguration.strong(heldOutUsers: 8, seed: 4),
        .ratio(testFraction: 0.25, validationFraction: 0.1, seed: 4),
        .leaveOneOut(validation: true, seed: 4),
        .explicit(validationFraction: 0.1, seed: 4),
    ])
    func roundTrip(config: SplitConfiguration) throws {
        let s = try makeSplit(data, config)
        let dir = DataFixtures.tempDir() + "/split"
        try s.export(to: dir)
        let back = try Split.load(from: dir)
        #expect(back == s)
        // implicit variant
        let i = try makeSplit(data.binarized(), config)
        #expect(i.train.values == nil)
        try i.export(to: dir)
        #expect(try Split.load(from: dir) == i)
    }

    @Test("file layout of a small split")
    func layout() throws {
        let d = DataFixtures.interactions([
            ("007", "x", 4, 0), ("007", "y", 3.5, 0), ("8", "x", 1, 0), ("9", "z", 2, 0),
        ])
        let t = DataFixtures.interactions([("007", "y", 3.5, 0), ("9", "x", 0.1, 0)])
        let s = try makeSplit(d, .given(test: t))
        let dir = DataFixtures.tempDir()
        try s.export(to: dir)
        #expect(DataFixtures.readText(dir + "/split.tsv")
                == "key\tvalue\nformat\taerec-split\nversion\t1\nprotocol\tgiven\nseed\t98765\nusers\t3\nitems\t3\ntrain_rows\t3\nvalidation\tno\n")
        #expect(DataFixtures.readText(dir + "/users.tsv") == "index\tuser\n0\t007\n1\t8\n2\t9\n")
        #expect(DataFixtures.readText(dir + "/items.tsv") == "column\titem\n0\tx\n1\ty\n2\tz\n")
        #expect(DataFixtures.readText(dir + "/train_users.tsv") == "row\tuser\n0\t007\n1\t8\n2\t9\n")
        #expect(DataFixtures.readText(dir + "/train.tsv") == "user\titem\tvalue\n007\tx\t4\n8\tx\t1\n9\tz\t2\n")
        #expect(DataFixtures.readText(dir + "/test_users.tsv") == "row\tuser\ttrain_row\n0\t007\t0\n1\t9\t2\n")
        #expect(DataFixtures.readText(dir + "/test_fold_in.tsv") == "user\titem\tvalue\n007\tx\t4\n9\tz\t2\n")
        #expect(DataFixtures.readText(dir + "/test_target.tsv") == "user\titem\tvalue\n007\ty\t3.5\n9\tx\t0.1\n")
        #expect(access(dir + "/validation_users.tsv", F_OK) != 0)
        #expect(try Split.load(from: dir) == s)
    }

    @Test("loading checks ids and numbers, naming file, line and field")
    func loadErrors() throws {
        let s = try makeSplit(data, .ratio(seed: 1))
        let dir = DataFixtures.tempDir()
        try s.export(to: dir)
        let path = dir + "/test_target.tsv"
        var text = DataFixtures.readText(path)
        text += s.userIDs[Int(s.test.users[0])] + "\tnot-an-item\t1\n"
        DataFixtures.write(path, text)
        let lines = text.split(separator: "\n").count
        let e = parseError { try Split.load(from: dir) }
        #expect(e?.path == path && e?.line == lines && e?.field == "item"
                && e?.message == "item 'not-an-item' is not in items.tsv")
        try s.export(to: dir)
        DataFixtures.write(dir + "/train.tsv", "user\titem\tvalue\nu0\ti1\tx\n")
        let e2 = parseError { try Split.load(from: dir) }
        #expect(e2?.line == 2 && e2?.field == "value")
        var tabbed = s
        tabbed.itemIDs = try IDMap(ids: ["a\tb"] + s.itemIDs.ids.dropFirst())
        #expect(throws: AERecError.self) { try tabbed.export(to: dir) }
    }
}

// MARK: - Real data

@Suite("Splits on ml-100k")
struct RealSplitTests {
    @Test("ml-100k, ratings > 3.5, strong N = 94: counts match an independent computation")
    func movieLensStrong() throws {
        guard let path = DataFixtures.sharedData("ml-100k/ratings.tsv.gz") else {
            Issue.record("SKIPPED: ../shared/data/ml-100k/ratings.tsv.gz not found relative to the package root")
            return
        }
        let data = try InteractionFilter(threshold: 3.5).apply(to: InteractionReader.read(path: path))
        let s = try makeSplit(data, .strong(heldOutUsers: 94, seed: 98765))
        SplitFixtures.checkStructure(s)

        // independent: raw lines through gzip -dc and String splitting
        let plain = DataFixtures.tempDir() + "/ml100k.tsv"
        #expect(DataFixtures.gzip(["-dc", path], stdout: plain) == 0)
        var rows: [(u: String, i: String)] = []
        for line in DataFixtures.readText(plain).split(separator: "\n").dropFirst() {
            let f = line.split(separator: "\t")
            if Double(f[2])! > 3.5 { rows.append((String(f[0]), String(f[1]))) }
        }
        let users = Set(rows.map(\.u))
        let trainUsers = Set(s.trainUsers.map { s.userIDs[Int($0)] })
        let valUsers = Set(s.validation!.users.map { s.userIDs[Int($0)] })
        let testUsers = Set(s.test.users.map { s.userIDs[Int($0)] })
        #expect(trainUsers.count == users.count - 188 && valUsers.count == 94 && testUsers.count == 94)
        #expect(trainUsers.union(valUsers).union(testUsers) == users)
        var space: [String] = [], seen = Set<String>()
        var trainCount = 0
        var heldOut: [String: Set<String>] = [:]
        for r in rows where trainUsers.contains(r.u) {
            trainCount += 1
            if seen.insert(r.i).inserted { space.append(r.i) }
        }
        for r in rows where !trainUsers.contains(r.u) && seen.contains(r.i) { heldOut[r.u, default: []].insert(r.i) }
        #expect(s.itemIDs.ids == space)
        #expect(s.train.nnz == trainCount)
        func expectedSizes(_ who: Set<String>) -> (foldIn: Int, target: Int) {
            var f = 0, t = 0
            for u in who {
                let n = heldOut[u]?.count ?? 0
                let k = n >= 5 ? n / 5 : 0
                t += k; f += n - k
            }
            return (f, t)
        }
        let ev = expectedSizes(valUsers), et = expectedSizes(testUsers)
        #expect(s.validation!.foldIn.nnz == ev.foldIn && s.validation!.target.nnz == ev.target)
        #expect(s.test.foldIn.nnz == et.foldIn && s.test.target.nnz == et.target)
        for set in [s.validation!, s.test] {
            for r in 0..<set.count {
                let u = s.userIDs[Int(set.users[r])]
                let got = Set(set.foldIn.row(r).columns.map { s.itemIDs[Int($0)] })
                    .union(set.target.row(r).columns.map { s.itemIDs[Int($0)] })
                #expect(got == (heldOut[u] ?? []))
            }
        }
        print("ml-100k > 3.5, strong N=94 seed 98765: \(users.count) users, \(rows.count) interactions; "
              + "train \(s.trainUsers.count) users × \(s.itemIDs.count) items, \(s.train.nnz) interactions; "
              + "validation fold-in \(ev.foldIn) target \(ev.target); test fold-in \(et.foldIn) target \(et.target); "
              + "held-out interactions dropped (items unseen in training): "
              + "\(rows.count - trainCount - ev.foldIn - ev.target - et.foldIn - et.target)")
    }
}
