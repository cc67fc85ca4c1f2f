// A Split as a directory of plain TSV files, and back.

extension Split {
    /// Writes the split into `directory` (created if needed; existing files of the same names are
    /// replaced) as plain TSV files that a numpy/pandas reference can read directly.
    ///
    /// Every file is UTF-8, tab-separated, `\n`-terminated, with one header line; ids are the
    /// data's external ids, written verbatim (an id containing a tab, `\r` or `\n` is refused).
    /// Values are written as integers when integral (`3`), otherwise as the shortest decimal that
    /// reads back as the same float32 (`3.5`, `0.1`).
    ///
    /// | file | header | rows |
    /// |---|---|---|
    /// | `split.tsv` | `key value` | `format aerec-split`, `version 1`, `protocol`, `seed`, `users`, `items`, `train_rows`, `validation` (`yes`/`no`) |
    /// | `users.tsv` | `index user` | every user of the dataset (``userIDs``) in index order |
    /// | `items.tsv` | `column item` | the item space in column order (``itemIDs``) |
    /// | `train_users.tsv` | `row user` | the user of each training row, in row order |
    /// | `train.tsv` | `user item value` | training interactions, by row then ascending column |
    /// | `test_users.tsv` | `row user train_row` | the held-out users in row order (`train_row` -1: none) |
    /// | `test_fold_in.tsv` | `user item value` | what the model is given for each test user |
    /// | `test_target.tsv` | `user item value` | what it must rank / predict |
    /// | `validation_users.tsv`, `validation_fold_in.tsv`, `validation_target.tsv` | as for test | only when the split has validation |
    ///
    /// Interaction files list rows in row order and columns ascending within a row, so a user's
    /// rows are contiguous. Users with an empty row appear only in the `*_users.tsv` files. For
    /// example, in pandas: `items = pd.read_csv(d+"/items.tsv", sep="\t", dtype=str)["item"]`
    /// gives the column order; map each file's `item` through it.
    public func export(to directory: String) throws {
        for (name, ids) in [("user", userIDs.ids), ("item", itemIDs.ids)] {
            if let bad = ids.first(where: { $0.utf8.contains { $0 == TextByte.tab || $0 == TextByte.newline || $0 == TextByte.carriageReturn } }) {
                throw AERecError.invalidArgument("cannot export \(name) id \(bad.debugDescription): ids must not contain tabs or line breaks")
            }
        }
        try makeDirectories(directory)
        let dir = directory.hasSuffix("/") ? String(directory.dropLast()) : directory

        var w = try TextFileWriter(path: dir + "/split.tsv")
        try w.write("key\tvalue\nformat\taerec-split\nversion\t1\nprotocol\t\(protocolKind.rawValue)\nseed\t\(seed)\n")
        try w.write("users\t\(userIDs.count)\nitems\t\(itemIDs.count)\ntrain_rows\t\(train.rowCount)\n")
        try w.write("validation\t\(validation == nil ? "no" : "yes")\n")
        try w.close()

        w = try TextFileWriter(path: dir + "/users.tsv")
        try w.write("index\tuser\n")
        for (k, id) in userIDs.ids.enumerated() { try w.write("\(k)\t"); try w.write(id); try w.write("\n") }
        try w.close()

        w = try TextFileWriter(path: dir + "/items.tsv")
        try w.write("column\titem\n")
        for (k, id) in itemIDs.ids.enumerated() { try w.write("\(k)\t"); try w.write(id); try w.write("\n") }
        try w.close()

        w = try TextFileWriter(path: dir + "/train_users.tsv")
        try w.write("row\tuser\n")
        for (k, u) in trainUsers.enumerated() { try w.write("\(k)\t"); try w.write(userIDs[Int(u)]); try w.write("\n") }
        try w.close()
        try writeInteractions(dir + "/train.tsv", train, trainUsers)

        for (name, set) in [("validation", validation), ("test", test)] {
            guard let set else { continue }
            w = try TextFileWriter(path: dir + "/\(name)_users.tsv")
            try w.write("row\tuser\ttrain_row\n")
            for (k, u) in set.users.enumerated() {
                try w.write("\(k)\t"); try w.write(userIDs[Int(u)]); try w.write("\t\(set.trainRows[k])\n")
            }
            try w.close()
            try writeInteractions(dir + "/\(name)_fold_in.tsv", set.foldIn, set.users)
            try writeInteractions(dir + "/\(name)_target.tsv", set.target, set.users)
        }
    }

    private func writeInteractions(_ path: String, _ m: InteractionMatrix, _ users: [Int32]) throws {
        let w = try TextFileWriter(path: path)
        try w.write("user\titem\tvalue\n")
        for r in 0..<m.rowCount {
            let user = userIDs[Int(users[r])]
            for k in Int(m.indptr[r])..<Int(m.indptr[r + 1]) {
                try w.write(user); try w.write("\t")
                try w.write(itemIDs[Int(m.indices[k])]); try w.write("\t")
                try w.write(formatExportValue(m.value(at: k))); try w.write("\n")
            }
        }
        try w.close()
    }

    /// Reads a directory written by ``export(to:)`` back into the identical split. Every file is
    /// checked: headers, column counts, ids known to `users.tsv` / `items.tsv` / the set's user
    /// list, numbers; problems are ``AERecError/parse(path:line:field:message:)`` naming the file,
    /// line and field. Values are implicit (`nil`) again exactly when every stored value is 1.
    public static func load(from directory: String) throws -> Split {
        let dir = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        // split.tsv
        let metaPath = dir + "/split.tsv"
        var meta: [String: String] = [:], metaLine: [String: Int] = [:]
        try readTable(metaPath, ["key", "value"]) { t, line in meta[t.text(0)] = t.text(1); metaLine[t.text(0)] = line }
        func metaValue(_ key: String) throws -> String {
            guard let v = meta[key] else {
                throw AERecError.parse(path: metaPath, line: 1, field: "key", message: "missing key '\(key)'")
            }
            return v
        }
        func metaError(_ key: String, _ message: String) -> AERecError {
            AERecError.parse(path: metaPath, line: metaLine[key] ?? 1, field: "value", message: "\(key): \(message)")
        }
        guard try metaValue("format") == "aerec-split" else { throw metaError("format", "expected aerec-split") }
        guard try metaValue("version") == "1" else { throw metaError("version", "expected 1") }
        guard let kind = SplitProtocol(rawValue: try metaValue("protocol")) else {
            throw metaError("protocol", "unknown protocol '\(meta["protocol"]!)' (expected one of \(SplitProtocol.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let seed = UInt64(try metaValue("seed")) else { throw metaError("seed", "expected an unsigned integer") }
        let hasValidation = try metaValue("validation") == "yes"

        let userIDs = try readIDList(dir + "/users.tsv", ["index", "user"])
        let itemIDs = try readIDList(dir + "/items.tsv", ["column", "item"])
        guard String(userIDs.count) == meta["users"], String(itemIDs.count) == meta["items"] else {
            throw AERecError.data("\(dir): users.tsv / items.tsv hold \(userIDs.count) / \(itemIDs.count) ids, split.tsv says \(meta["users"] ?? "?") / \(meta["items"] ?? "?")")
        }
        let userLookup = ByteInterner(expected: userIDs.count)
        for id in userIDs.ids { _ = userLookup.intern(id) }
        let itemLookup = ByteInterner(expected: itemIDs.count)
        for id in itemIDs.ids { _ = itemLookup.intern(id) }

        // train
        var trainUsers: [Int32] = []
        try readTable(dir + "/train_users.tsv", ["row", "user"]) { t, line in
            guard t.int(0) == trainUsers.count else { throw t.error(0, "expected row \(trainUsers.count)") }
            guard let u = t.lookup(1, userLookup) else { throw t.error(1, "user \(t.quoted(1)) is not in users.tsv") }
            trainUsers.append(u)
        }
        guard String(trainUsers.count) == meta["train_rows"] else {
            throw AERecError.data("\(dir)/train_users.tsv: \(trainUsers.count) rows, split.tsv says \(meta["train_rows"] ?? "?")")
        }
        let train = try readInteractions(dir + "/train.tsv", rowUsers: trainUsers, userLookup, itemLookup, itemIDs.count)

        func heldOut(_ name: String) throws -> HeldOutSet {
            var users: [Int32] = [], trainRows: [Int32] = []
            try readTable(dir + "/\(name)_users.tsv", ["row", "user", "train_row"]) { t, line in
                guard t.int(0) == users.count else { throw t.error(0, "expected row \(users.count)") }
                guard let u = t.lookup(1, userLookup) else { throw t.error(1, "user \(t.quoted(1)) is not in users.tsv") }
                guard let tr = t.int(2), tr >= -1, tr < trainUsers.count, tr < 0 || trainUsers[tr] == u else {
                    throw t.error(2, "expected -1 or the training row of this user")
                }
                users.append(u); trainRows.append(Int32(tr))
            }
            let foldIn = try readInteractions(dir + "/\(name)_fold_in.tsv", rowUsers: users, userLookup, itemLookup, itemIDs.count)
            let target = try readInteractions(dir + "/\(name)_target.tsv", rowUsers: users, userLookup, itemLookup, itemIDs.count)
            return HeldOutSet(users: users, trainRows: trainRows, foldIn: foldIn, target: target)
        }
        let validation = hasValidation ? try heldOut("validation") : nil
        let test = try heldOut("test")
        var split = Split(protocolKind: kind, train: train, trainUsers: trainUsers, validation: validation, test: test,
                          userIDs: userIDs, itemIDs: itemIDs, seed: seed)
        // values as written; implicit again when every value is 1 (as makeSplit does)
        split.makeImplicitWhenAllOnes()
        return split
    }

    private static func readIDList(_ path: String, _ header: [String]) throws -> IDMap {
        var ids: [String] = []
        try readTable(path, header) { t, _ in
            guard t.int(0) == ids.count else { throw t.error(0, "expected \(ids.count)") }
            guard let s = t.string(1) else { throw t.error(1, "expected a UTF-8 id") }
            ids.append(s)
        }
        do { return try IDMap(ids: ids) } catch { throw AERecError.data("\(path): \(error)") }
    }

    /// An interaction file whose users are the rows' users (`rowUsers`, unique).
    private static func readInteractions(_ path: String, rowUsers: [Int32], _ users: ByteInterner, _ items: ByteInterner,
                                         _ itemCount: Int) throws -> InteractionMatrix {
        var rowOf = [Int32](repeating: -1, count: users.count)
        for (r, u) in rowUsers.enumerated() {
            guard rowOf[Int(u)] < 0 else { throw AERecError.data("\(path): user listed twice in its users file") }
            rowOf[Int(u)] = Int32(r)
        }
        var m = MatrixAssembler(rowCount: rowUsers.count, columnCount: itemCount)
        var lines = 0
        try readTable(path, ["user", "item", "value"]) { t, _ in
            guard let u = t.lookup(0, users) else { throw t.error(0, "user \(t.quoted(0)) is not in users.tsv") }
            let row = rowOf[Int(u)]
            guard row >= 0 else { throw t.error(0, "user \(t.quoted(0)) is not listed in this set's users file") }
            guard let i = t.lookup(1, items) else { throw t.error(1, "item \(t.quoted(1)) is not in items.tsv") }
            guard let v = t.float(2) else { throw t.error(2, "expected a finite number, found \(t.quoted(2))") }
            m.append(row, i, v)
            lines += 1
        }
        let matrix = m.build()
        guard matrix.nnz == lines else {
            throw AERecError.data("\(path): \(lines - matrix.nnz) repeated (user, item) pairs")
        }
        return matrix
    }
}

/// One line of a TSV table during ``readTable(_:_:_:)``.
private struct TableLine {
    let path: String
    let line: Int
    let header: [String]
    let base: UnsafePointer<UInt8>
    let fields: UnsafePointer<Int>   // (start, end) pairs

    func bytes(_ c: Int) -> (UnsafePointer<UInt8>, Int) { (base + fields[2 * c], fields[2 * c + 1] - fields[2 * c]) }
    func text(_ c: Int) -> String { let (p, n) = bytes(c); return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self) }
    func string(_ c: Int) -> String? { let (p, n) = bytes(c); return String(validating: UnsafeBufferPointer(start: p, count: n), as: UTF8.self) }
    func quoted(_ c: Int) -> String { let (p, n) = bytes(c); return quotedForMessage(p, n) }
    func int(_ c: Int) -> Int? { let (p, n) = bytes(c); return parseDecimalInt64(p, n).map { Int($0) } }
    func float(_ c: Int) -> Float? {
        let (p, n) = bytes(c)
        guard let v = parseDecimalFloat(p, n), v.isFinite else { return nil }
        return v
    }
    func lookup(_ c: Int, _ ids: ByteInterner) -> Int32? { let (p, n) = bytes(c); return ids.find(p, n) }
    func error(_ c: Int, _ message: String) -> AERecError {
        AERecError.parse(path: path, line: line, field: header[c], message: message)
    }
}

/// Reads a tab-separated file with exactly the given header, calling `body` for each data line.
private func readTable(_ path: String, _ header: [String], _ body: (TableLine, Int) throws -> Void) throws {
    let file = try FileBytes.read(path)
    let buf = file.buffer
    guard let p = buf.baseAddress, buf.count > 0 else { throw AERecError.data("\(path): empty file") }
    let columns = header.count
    let fields = UnsafeMutablePointer<Int>.allocate(capacity: 2 * columns)
    defer { fields.deallocate() }
    var pos = 0, lineNumber = 0
    var sawHeader = false
    while pos < buf.count {
        lineNumber += 1
        let nl = findByte(p, pos, buf.count, TextByte.newline)
        var end = nl
        if end > pos && p[end - 1] == TextByte.carriageReturn { end -= 1 }
        let start = pos
        pos = nl + 1
        if end == start { continue }
        var n = 0, s = start
        while true {
            let e = findByte(p, s, end, TextByte.tab)
            if n < columns { fields[2 * n] = s; fields[2 * n + 1] = e }
            n += 1
            if e >= end { break }
            s = e + 1
        }
        if !sawHeader {
            let found = (0..<min(n, columns)).map {
                String(decoding: UnsafeBufferPointer(start: p + fields[2 * $0], count: fields[2 * $0 + 1] - fields[2 * $0]), as: UTF8.self)
            }
            guard n == columns, found == header else {
                throw AERecError.parse(path: path, line: lineNumber, field: "header",
                                       message: "expected the header '\(header.joined(separator: "\\t"))'")
            }
            sawHeader = true
            continue
        }
        guard n == columns else {
            throw AERecError.parse(path: path, line: lineNumber, field: header[min(n, columns - 1)],
                                   message: "expected \(columns) tab-separated columns (\(header.joined(separator: ", "))), found \(n)")
        }
        try body(TableLine(path: path, line: lineNumber, header: header, base: p, fields: fields), lineNumber)
    }
    guard sawHeader else { throw AERecError.data("\(path): empty file") }
}
