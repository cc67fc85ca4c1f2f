import Testing
@testable import AERec
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// MARK: - Helpers shared by DataTests and SplitTests

enum DataFixtures {
    /// A fresh temporary directory.
    static func tempDir() -> String {
        var template = Array("/tmp/aerec-data-tests-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(p != nil, "mkdtemp failed")
        return String(cString: p!)
    }

    static func write(_ path: String, _ bytes: [UInt8]) {
        let f = fopen(path, "wb")!
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
    }

    static func write(_ path: String, _ text: String) { write(path, Array(text.utf8)) }

    static func readBytes(_ path: String) -> [UInt8] {
        guard let f = fopen(path, "rb") else { return [] }
        defer { fclose(f) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    static func readText(_ path: String) -> String { String(decoding: readBytes(path), as: UTF8.self) }

    /// Runs /usr/bin/gzip with `args` (stdout optionally to a file); returns the exit status.
    @discardableResult
    static func gzip(_ args: [String], stdout: String? = nil) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdout { posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        let argv: [UnsafeMutablePointer<CChar>?] = (["/usr/bin/gzip"] + args).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/usr/bin/gzip", &actions, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return status
    }

    /// Writes `text` to `path` and gzips it into `path.gz` (the plain file is kept).
    static func writeGzip(_ path: String, _ text: String) -> String {
        write(path, text)
        let rc = gzip(["-k", "-n", "-f", path])
        precondition(rc == 0, "gzip failed")
        return path + ".gz"
    }

    /// The staged data directory (`<package root>/../shared/data`), or nil when missing.
    static func sharedData(_ relative: String) -> String? {
        let testFile = #filePath   // <root>/Tests/AERecTests/DataTests.swift
        var parts = testFile.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        parts.removeLast(3)
        let path = parts.joined(separator: "/") + "/../shared/data/" + relative
        return access(path, R_OK) == 0 ? path : nil
    }

    /// A small hand-made dataset: (user, item, value, timestamp) rows.
    static func interactions(_ rows: [(String, String, Float, Int64)]) -> Interactions {
        var users = IDMap(), items = IDMap()
        var u: [Int32] = [], i: [Int32] = [], v: [Float] = [], t: [Int64] = []
        for r in rows {
            u.append(users.intern(r.0)); i.append(items.intern(r.1)); v.append(r.2); t.append(r.3)
        }
        return Interactions(users: u, items: i, values: v, timestamps: t, userIDs: users, itemIDs: items)
    }
}

/// The parse error thrown by `body`, recording an issue when it throws anything else.
func parseError(_ body: () throws -> Any, sourceLocation: SourceLocation = #_sourceLocation)
    -> (path: String, line: Int, field: String, message: String)? {
    do {
        _ = try body()
        Issue.record("expected a parse error, got success", sourceLocation: sourceLocation)
    } catch let AERecError.parse(path, line, field, message) {
        return (path, line, field, message)
    } catch {
        Issue.record("expected a parse error, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// The message of the `AERecError.data` thrown by `body`.
func dataError(_ body: () throws -> Any, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
    do {
        _ = try body()
        Issue.record("expected a data error, got success", sourceLocation: sourceLocation)
    } catch let AERecError.data(message) {
        return message
    } catch {
        Issue.record("expected a data error, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

// MARK: - Readers

@Suite("Data readers")
struct DataReaderTests {
    let dir = DataFixtures.tempDir()

    /// The logical content every format test writes: ids with leading zeros, a decimal value.
    var expected: Interactions {
        var report = DataReport()
        report.linesRead = 4
        return Interactions(users: [0, 0, 1, 2], items: [0, 1, 0, 2], values: [4, 3.5, 5, 1],
                            timestamps: [100, 90, 80, 70],
                            userIDs: try! IDMap(ids: ["10", "2", "u 3"]), itemIDs: try! IDMap(ids: ["007", "7", "x"]),
                            report: report)
    }
    let rows = [("10", "007", "4", "100"), ("10", "7", "3.5", "90"), ("2", "007", "5", "80"), ("u 3", "x", "1", "70")]

    func text(_ sep: String, header: String? = nil, crlf: Bool = false, trailingNewline: Bool = true) -> String {
        let nl = crlf ? "\r\n" : "\n"
        var lines = rows.map { [$0.0, $0.1, $0.2, $0.3].joined(separator: sep) }
        if let header { lines.insert(header, at: 0) }
        return lines.joined(separator: nl) + (trailingNewline ? nl : "")
    }

    @Test("tsv: plain and gzip, header, ids kept as text in order of first appearance")
    func tsv() throws {
        let plain = dir + "/ratings.tsv"
        let gz = DataFixtures.writeGzip(plain, text("\t", header: "user\titem\trating\ttimestamp"))
        for (path, format) in [(plain, DataFormat.tsv), (gz, .tsv), (gz, .auto), (plain, .auto)] {
            let d = try InteractionReader.read(path: path, format: format)
            #expect(d == expected, "\(path) \(format)")
        }
        #expect(try InteractionReader.detectFormat(path: gz) == .tsv)
    }

    @Test("tsv without timestamp column and with only user/item columns")
    func tsvShort() throws {
        let p3 = dir + "/three.tsv"
        DataFixtures.write(p3, "user\titem\tvalue\n1\ta\t2.5\n2\tb\t1\n")
        let d3 = try InteractionReader.read(path: p3, format: .tsv)
        #expect(d3.timestamps == nil)
        #expect(d3.values == [2.5, 1])
        let p2 = dir + "/two.tsv"
        DataFixtures.write(p2, "user\titem\n1\ta\n2\tb\n1\tb\n")
        let d2 = try InteractionReader.read(path: p2)
        #expect(d2.values == [1, 1, 1])
        #expect(d2.users == [0, 1, 0] && d2.items == [0, 1, 1])
        #expect(d2.timestamps == nil)
    }

    @Test("MovieLens u.data, ratings.dat and ratings.csv, plain and gzip")
    func movieLens() throws {
        let udata = dir + "/u.data"
        let udataGz = DataFixtures.writeGzip(udata, text("\t"))
        let dat = dir + "/ratings.dat"
        DataFixtures.write(dat, text("::"))
        let csv = dir + "/ratings.csv"
        DataFixtures.write(csv, text(",", header: "userId,movieId,rating,timestamp"))
        let cases: [(String, DataFormat)] = [(udata, .movieLensUData), (udata, .auto), (udataGz, .auto), (dat, .movieLensDat),
                                             (dat, .auto), (csv, .movieLensCSV), (csv, .auto)]
        for (path, format) in cases {
            #expect(try InteractionReader.read(path: path, format: format) == expected, "\(path) \(format)")
        }
        #expect(try InteractionReader.detectFormat(path: udata) == .movieLensUData)
        #expect(try InteractionReader.detectFormat(path: dat) == .movieLensDat)
        #expect(try InteractionReader.detectFormat(path: csv) == .movieLensCSV)
    }

    @Test("Windows line endings, missing final newline, blank lines and a BOM")
    func lineEndings() throws {
        let variants = [text("\t", header: "user\titem\tr\tt", crlf: true),
                        text("\t", header: "user\titem\tr\tt", crlf: true, trailingNewline: false),
                        text("\t", header: "user\titem\tr\tt", trailingNewline: false),
                        "\u{FEFF}" + text("\t", header: "user\titem\tr\tt"),
                        "\n\r\n" + text("\t", header: "user\titem\tr\tt").replacingFirstNewline(with: "\n\n") + "\n\r\n"]
        for (k, v) in variants.enumerated() {
            let p = dir + "/le\(k).tsv"
            DataFixtures.write(p, v)
            #expect(try InteractionReader.read(path: p, format: .tsv) == expected, "variant \(k)")
            #expect(try InteractionReader.read(path: p) == expected, "variant \(k), auto")
        }
    }

    @Test("delimited: columns by index and by name, value column optional, quotes")
    func delimited() throws {
        // by index, semicolon, no header, columns reordered: item;value;user;time
        let p1 = dir + "/semi.txt"
        DataFixtures.write(p1, rows.map { "\($0.1);\($0.2);\($0.0);\($0.3)" }.joined(separator: "\n"))
        let f1 = DelimitedFormat(separator: ";", hasHeader: false, user: .index(2), item: .index(0), value: .index(1),
                                 timestamp: .index(3))
        #expect(try InteractionReader.read(path: p1, format: .delimited(f1)) == expected)

        // by name with an extra column and a multi-byte separator
        let p2 = dir + "/named.txt"
        DataFixtures.write(p2, "ts||extra||Rating||UserId||item\n" + rows.map { "\($0.3)||z||\($0.2)||\($0.0)||\($0.1)" }.joined(separator: "\n"))
        let f2 = DelimitedFormat(separator: "||", hasHeader: true, user: .name("userid"), item: .name("item"),
                                 value: .name("Rating"), timestamp: .name("ts"))
        #expect(try InteractionReader.read(path: p2, format: .delimited(f2)) == expected)

        // no value column: every value 1; quoted fields with separators and doubled quotes inside
        let p3 = dir + "/quoted.csv"
        DataFixtures.write(p3, "user,item\n\"a,1\",\"say \"\"hi\"\"\"\n b , c \n\"a,1\",c\n")
        let f3 = DelimitedFormat(separator: ",", hasHeader: true, value: nil)
        let d3 = try InteractionReader.read(path: p3, format: .delimited(f3))
        #expect(d3.userIDs.ids == ["a,1", "b"])
        #expect(d3.itemIDs.ids == ["say \"hi\"", "c"])
        #expect(d3.values == [1, 1, 1])
        #expect(d3.users == [0, 1, 0] && d3.items == [0, 1, 1])
        #expect(d3.timestamps == nil)
    }

    @Test("auto-detection from the name and the first line")
    func detection() {
        #expect(InteractionReader.detect(name: "x/ratings.dat", firstLine: "1::2::3::4") == .movieLensDat)
        #expect(InteractionReader.detect(name: "u.data", firstLine: "196\t242\t3\t881250949") == .movieLensUData)
        #expect(InteractionReader.detect(name: "a.tsv.gz", firstLine: "196\t242\t3\t881250949") == .movieLensUData)
        #expect(InteractionReader.detect(name: "a.tsv.gz", firstLine: "user\titem\trating\ttimestamp") == .tsv)
        #expect(InteractionReader.detect(name: "a.tsv", firstLine: "user\titem") == .tsv)
        #expect(InteractionReader.detect(name: "ratings.csv", firstLine: "userId,movieId,rating,timestamp") == .movieLensCSV)
        #expect(InteractionReader.detect(name: "r.csv", firstLine: "u,i,score") ==
                .delimited(DelimitedFormat(separator: ",", hasHeader: true, value: .index(2))))
        #expect(InteractionReader.detect(name: "r.csv", firstLine: "1,2,5") ==
                .delimited(DelimitedFormat(separator: ",", hasHeader: false, value: .index(2))))
        #expect(InteractionReader.detect(name: "r.txt", firstLine: "\"u\";\"i\";\"r\";\"t\"") ==
                .delimited(DelimitedFormat(separator: ";", hasHeader: true, value: .index(2), timestamp: .index(3))))
        #expect(InteractionReader.detect(name: "r.txt", firstLine: "1 2 3") == nil)
    }

    @Test("duplicates: the last occurrence wins and is counted")
    func duplicates() throws {
        let p = dir + "/dups.tsv"
        DataFixtures.write(p, "user\titem\tvalue\tts\n1\ta\t1\t10\n2\tb\t2\t20\n1\ta\t3\t30\n3\tc\t4\t40\n1\ta\t5\t50\n2\tb\t6\t60\n")
        let (d, lines) = try InteractionReader.readWithLineNumbers(path: p, format: .auto)
        #expect(d.userIDs.ids == ["1", "2", "3"])
        #expect(d.users == [2, 0, 1] && d.items == [2, 0, 1])
        #expect(d.values == [4, 5, 6])
        #expect(d.timestamps == [40, 50, 60])
        #expect(lines == [5, 6, 7])
        #expect(d.report.linesRead == 6)
        #expect(d.report.duplicatesDropped == 3)
    }

    // MARK: errors

    func bad(_ name: String, _ content: String) -> String {
        let p = dir + "/" + name
        DataFixtures.write(p, content)
        return p
    }

    @Test("wrong column count names file, line and the first missing field")
    func columnCount() {
        let p = bad("cols.tsv", "user\titem\tvalue\tts\n1\t2\t3\t4\n\n1\t2\n")
        let e = parseError { try InteractionReader.read(path: p) }
        #expect(e?.path == p && e?.line == 4 && e?.field == "value")
        #expect(e?.message == "expected 4 tab-separated columns (user, item, value, timestamp), found 2 columns")
        let p2 = bad("cols2.dat", "1::2::3::4\n1::2::3::4::5\n")
        let e2 = parseError { try InteractionReader.read(path: p2) }
        #expect(e2?.line == 2 && e2?.field == "timestamp")
        #expect(e2?.message == "expected 4 '::'-separated columns (user, item, value, timestamp), found 5 columns")
        let p3 = bad("cols3.csv", "userId,movieId,rating,timestamp\n1,2,3,4\n1,2,3\n")
        let e3 = parseError { try InteractionReader.read(path: p3) }
        #expect(e3?.line == 3 && e3?.field == "timestamp")
        #expect(AERecError.parse(path: p3, line: 3, field: "timestamp", message: e3?.message ?? "").description
                == "\(p3):3: field 'timestamp': expected 4 ','-separated columns (user, item, value, timestamp), found 3 columns")
    }

    @Test("empty fields", arguments: [
        ("user\titem\tvalue\tts\n\t2\t3\t4\n", "user", "empty field, expected a user id"),
        ("user\titem\tvalue\tts\n1\t \t3\t4\n", "item", "empty field, expected an item id"),
        ("user\titem\tvalue\tts\n1\t2\t\t4\n", "value", "empty field, expected a number"),
        ("user\titem\tvalue\tts\n1\t2\t3\t\n", "timestamp", "empty field, expected an integer timestamp"),
    ])
    func emptyField(content: String, field: String, message: String) {
        let p = bad("empty-\(field).tsv", content)
        let e = parseError { try InteractionReader.read(path: p) }
        #expect(e?.path == p && e?.line == 2 && e?.field == field && e?.message == message)
    }

    @Test("non-numeric and non-finite values and timestamps", arguments: [
        ("abc", "4", "value", "expected a number, found 'abc'"),
        ("3,5", "4", "value", "expected a number, found '3,5'"),
        ("nan", "4", "value", "expected a finite number, found 'nan' (NaN)"),
        ("NaN", "4", "value", "expected a finite number, found 'NaN' (NaN)"),
        ("inf", "4", "value", "expected a finite number, found 'inf' (infinite as a 32-bit float)"),
        ("-Infinity", "4", "value", "expected a finite number, found '-Infinity' (infinite as a 32-bit float)"),
        ("1e39", "4", "value", "expected a finite number, found '1e39' (infinite as a 32-bit float)"),
        ("3", "12x", "timestamp", "expected an integer timestamp, found '12x'"),
        ("3", "1.5", "timestamp", "expected an integer timestamp, found '1.5'"),
        ("3", "99999999999999999999", "timestamp", "expected an integer timestamp, found '99999999999999999999'"),
    ])
    func badNumbers(value: String, time: String, field: String, message: String) {
        let p = bad("num-\(field)-\(value.count)-\(time.count).tsv", "user\titem\tvalue\tts\n1\t2\t3\t4\n\n1\t3\t\(value)\t\(time)\n")
        let e = parseError { try InteractionReader.read(path: p) }
        #expect(e?.path == p && e?.line == 4 && e?.field == field && e?.message == message)
    }

    @Test("ids must be UTF-8")
    func nonUTF8() {
        let p = dir + "/latin1.tsv"
        DataFixtures.write(p, Array("user\titem\tvalue\n1\t2\t3\n".utf8) + [0x31, 0x09, 0x63, 0x61, 0x66, 0xE9, 0x09, 0x33, 0x0A])
        let e = parseError { try InteractionReader.read(path: p) }
        #expect(e?.path == p && e?.line == 3 && e?.field == "item")
        #expect(e?.message == "expected a UTF-8 id, found invalid bytes 63 61 66 e9")
        let p2 = dir + "/latin1u.tsv"
        DataFixtures.write(p2, Array("user\titem\tvalue\n".utf8) + [0xFF, 0x09, 0x32, 0x09, 0x33, 0x0A])
        let e2 = parseError { try InteractionReader.read(path: p2) }
        #expect(e2?.line == 2 && e2?.field == "user")
    }

    @Test("empty file, header only, blank lines only")
    func emptyFiles() {
        let p1 = bad("empty.tsv", "")
        #expect(dataError { try InteractionReader.read(path: p1) } == "\(p1): empty file")
        let p2 = bad("header.tsv", "user\titem\tvalue\n\n")
        #expect(dataError { try InteractionReader.read(path: p2) } == "\(p2): header only, no data rows")
        let p3 = bad("blank.tsv", "\n\r\n\n")
        #expect(dataError { try InteractionReader.read(path: p3) } == "\(p3): empty file")
        let gz = DataFixtures.writeGzip(dir + "/empty2.tsv", "")
        #expect(dataError { try InteractionReader.read(path: gz) } == "\(gz): empty file")
    }

    @Test("bad headers and layouts")
    func headers() {
        let p1 = bad("noheader.tsv", "1\t2\t3\n4\t5\t6\n")
        let e1 = parseError { try InteractionReader.read(path: p1, format: .tsv) }
        #expect(e1?.line == 1 && e1?.field == "header")
        #expect(e1?.message.hasPrefix("expected a header user<TAB>item<TAB>value[<TAB>timestamp], found a data line") == true)
        let p2 = bad("wide.tsv", "a\tb\tc\td\te\n1\t2\t3\t4\t5\n")
        let e2 = parseError { try InteractionReader.read(path: p2, format: .tsv) }
        #expect(e2?.line == 1 && e2?.field == "header"
                && e2?.message == "expected a header user<TAB>item<TAB>value[<TAB>timestamp], found 5 columns")
        let p3 = bad("ml.csv", "user,item,rating,timestamp\n1,2,3,4\n")
        let e3 = parseError { try InteractionReader.read(path: p3, format: .movieLensCSV) }
        #expect(e3?.field == "header"
                && e3?.message == "expected the header userId,movieId,rating,timestamp, found 'user,item,rating,timestamp'")
        let p4 = bad("named.csv", "a,b,c\n1,2,3\n")
        let e4 = parseError { try InteractionReader.read(path: p4, format: .delimited(DelimitedFormat(value: .name("rating")))) }
        #expect(e4?.line == 1 && e4?.field == "value" && e4?.message == "no header column named 'rating' (columns: a, b, c)")
        let p5 = bad("quote.csv", "a,b\n\"1,2\n")
        let e5 = parseError { try InteractionReader.read(path: p5, format: .delimited(DelimitedFormat(value: nil))) }
        #expect(e5?.line == 2 && e5?.field == "user")
        let p6 = bad("sep.txt", "1 2 3\n")
        let e6 = parseError { try InteractionReader.read(path: p6) }
        #expect(e6?.line == 1 && e6?.message.hasPrefix("cannot detect the format") == true)
        #expect(throws: AERecError.self) {
            try InteractionReader.read(path: p4, format: .delimited(DelimitedFormat(hasHeader: false, user: .name("a"))))
        }
    }

    @Test("missing file and truncated gzip are I/O errors naming the file")
    func ioErrors() throws {
        let missing = dir + "/nope.tsv.gz"
        do {
            _ = try InteractionReader.read(path: missing)
            Issue.record("expected an error")
        } catch let AERecError.io(path, message) {
            #expect(path == missing)
            #expect(message == "cannot open: No such file or directory")
        }
        var text = "user\titem\tvalue\n"
        for k in 0..<2000 { text += "\(k % 97)\t\(k * 7919 % 1013)\t\(k % 5 + 1)\n" }
        let gz = DataFixtures.writeGzip(dir + "/big.tsv", text)
        #expect(try InteractionReader.read(path: gz).report.linesRead == 2000)
        let bytes = DataFixtures.readBytes(gz)
        let cut = dir + "/cut.tsv.gz"
        DataFixtures.write(cut, Array(bytes[0..<(bytes.count / 2)]))
        do {
            _ = try InteractionReader.read(path: cut)
            Issue.record("expected an error")
        } catch let AERecError.io(path, message) {
            #expect(path == cut)
            #expect(message.hasPrefix("truncated gzip file"), "\(message)")
        }
    }

    // MARK: real data

    @Test("ml-100k: counts, and threshold 3.5 against an independent count")
    func movieLens100K() throws {
        guard let path = DataFixtures.sharedData("ml-100k/ratings.tsv.gz") else {
            Issue.record("SKIPPED: ../shared/data/ml-100k/ratings.tsv.gz not found relative to the package root")
            return
        }
        let d = try InteractionReader.read(path: path)
        #expect(d.count == 100_000 && d.userIDs.count == 943 && d.itemIDs.count == 1682)
        #expect(d.report.linesRead == 100_000 && d.report.duplicatesDropped == 0)
        #expect(d.timestamps?.count == 100_000)
        #expect(d.userIDs[0] == "196" && d.itemIDs[0] == "242" && d.values[0] == 3 && d.timestamps?[0] == 881250949)

        // independent: gzip -dc + String splitting
        let plain = DataFixtures.tempDir() + "/ml100k.tsv"
        #expect(DataFixtures.gzip(["-dc", path], stdout: plain) == 0)
        let lines = DataFixtures.readText(plain).split(separator: "\n").dropFirst()
        var users = Set<Substring>(), items = Set<Substring>(), kept = 0, sum = 0.0
        for line in lines {
            let f = line.split(separator: "\t")
            guard let r = Double(f[2]) else { Issue.record("bad line \(line)"); continue }
            if r > 3.5 { kept += 1; users.insert(f[0]); items.insert(f[1]); sum += r }
        }
        let t = try InteractionFilter(threshold: 3.5).apply(to: d)
        #expect(t.count == kept && t.userIDs.count == users.count && t.itemIDs.count == items.count)
        #expect(Set(t.userIDs.ids) == Set(users.map(String.init)))
        #expect(abs(t.values.reduce(0.0) { $0 + Double($1) } - sum) < 1e-6)
        #expect(t.report.belowThreshold == 100_000 - kept)
        #expect(t.report.usersDropped == 943 - users.count && t.report.itemsDropped == 1682 - items.count)
        print("ml-100k after threshold > 3.5: \(t.count) interactions, \(t.userIDs.count) users, \(t.itemIDs.count) items")
    }
}

extension String {
    func replacingFirstNewline(with s: String) -> String {
        guard let r = firstIndex(of: "\n") else { return self }
        return String(self[..<r]) + s + String(self[index(after: r)...])
    }
}

// MARK: - Filters

@Suite("Interaction filters")
struct FilterTests {
    /// users a..e, items 1..5
    let data = DataFixtures.interactions([
        ("a", "1", 5, 1), ("a", "2", 3.5, 2), ("a", "3", 4, 3), ("b", "1", 4, 4), ("b", "2", 2, 5),
        ("c", "1", 3.6, 6), ("c", "4", 5, 7), ("d", "5", 1, 8), ("e", "3", 4.5, 9), ("e", "1", 4, 10),
    ])

    @Test("threshold keeps values strictly greater and compacts the id maps")
    func threshold() throws {
        let t = try InteractionFilter(threshold: 3.5).apply(to: data)
        #expect(t.userIDs.ids == ["a", "b", "c", "e"])
        #expect(t.itemIDs.ids == ["1", "3", "4"])
        #expect(t.users == [0, 0, 1, 2, 2, 3, 3] && t.items == [0, 1, 0, 0, 2, 1, 0])
        #expect(t.values == [5, 4, 4, 3.6, 5, 4.5, 4])
        #expect(t.timestamps == [1, 3, 4, 6, 7, 9, 10])
        #expect(t.report.belowThreshold == 3 && t.report.usersDropped == 1 && t.report.itemsDropped == 2)
        #expect(t.report.droppedByCountFilter == 0)
        let b = try InteractionFilter(threshold: 3.5, binarize: true).apply(to: data)
        #expect(b.values == [Float](repeating: 1, count: 7))
        #expect(data.binarized().values.allSatisfy { $0 == 1 })
    }

    @Test("minimum counts: items first, then users, one pass each (vae_cf)")
    func minimumCounts() throws {
        // item counts: 1→4, 2→2, 3→2, 4→1, 5→1. Items ≥ 2 drop (c,4),(d,5); then users ≥ 2:
        // a 3, b 2, c 1 (dropped), e 2 → item 1 now has 3 and item 2 has 2, item 3 has 2.
        let f = InteractionFilter(minUserInteractions: 2, minItemInteractions: 2)
        let t = try f.apply(to: data)
        #expect(t.userIDs.ids == ["a", "b", "e"])
        #expect(t.itemIDs.ids == ["1", "2", "3"])
        #expect(t.count == 7)
        #expect(t.report.droppedByCountFilter == 3 && t.report.usersDropped == 2 && t.report.itemsDropped == 2)
        let u = try InteractionFilter(minUserInteractions: 3).apply(to: data)
        #expect(u.userIDs.ids == ["a"] && u.count == 3)
    }

    @Test("k-core iterates until every user and item meets its minimum")
    func kCore() throws {
        // a chain: removing item 4 removes user c, which removes item 1's 4th user... built so that
        // one pass is not enough.
        let chain = DataFixtures.interactions([
            ("u1", "i1", 1, 0), ("u1", "i2", 1, 0), ("u2", "i1", 1, 0), ("u2", "i2", 1, 0),
            ("u3", "i2", 1, 0), ("u3", "i3", 1, 0), ("u4", "i3", 1, 0), ("u4", "i4", 1, 0),
        ])
        // 2-core: i4 (1) goes → u4 has 1 → goes → i3 has 1 → goes → u3 has 1 → goes → i2 has 2.
        let once = try InteractionFilter(minUserInteractions: 2, minItemInteractions: 2).apply(to: chain)
        #expect(once.userIDs.ids == ["u1", "u2", "u3"] && once.itemIDs.ids == ["i1", "i2", "i3"])
        #expect(once.count == 6)
        let core = try InteractionFilter(minUserInteractions: 2, minItemInteractions: 2, kCore: true).apply(to: chain)
        #expect(core.userIDs.ids == ["u1", "u2"] && core.itemIDs.ids == ["i1", "i2"])
        #expect(core.count == 4)
        #expect(core.report.droppedByCountFilter == 4 && core.report.usersDropped == 2 && core.report.itemsDropped == 2)
        let counts = Dictionary(grouping: core.users, by: { $0 }).mapValues(\.count)
        #expect(counts.values.allSatisfy { $0 >= 2 })
    }

    @Test("a filter that leaves nothing says which one")
    func emptied() {
        #expect(dataError { try InteractionFilter(threshold: 5).apply(to: data) }
                == "the threshold (value > 5.0) left no interactions: all 10 have value ≤ 5.0")
        #expect(dataError { try InteractionFilter(minUserInteractions: 4).apply(to: data) }
                == "the count filter (users with ≥ 4 interactions) left no interactions")
        #expect(dataError { try InteractionFilter(minUserInteractions: 3, minItemInteractions: 3, kCore: true).apply(to: data) }
                == "the count filter (users with ≥ 3 interactions, items with ≥ 3 interactions, k-core) left no interactions")
        #expect(throws: AERecError.self) { try InteractionFilter(threshold: .nan).apply(to: data) }
    }

    @Test("report counters accumulate over the reader's")
    func accumulate() throws {
        var d = data
        d.report.linesRead = 12
        d.report.duplicatesDropped = 2
        // > 3.5 drops 3 rows (and user d, items 2 and 5); then b has one row left and goes
        let t = try InteractionFilter(threshold: 3.5, minUserInteractions: 2).apply(to: d)
        #expect(t.report.linesRead == 12 && t.report.duplicatesDropped == 2)
        #expect(t.report.belowThreshold == 3 && t.report.droppedByCountFilter == 1)
        #expect(t.report.usersDropped == 2 && t.report.itemsDropped == 2)
        #expect(t.userIDs.ids == ["a", "c", "e"] && t.itemIDs.ids == ["1", "3", "4"] && t.count == 6)
        #expect(InteractionFilter.liang2018 == InteractionFilter(threshold: 3.5, minUserInteractions: 5, binarize: true))
    }
}

extension DataFixtures {
    /// The names in a directory (sorted, without "." and "..").
    static func listDirectory(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
