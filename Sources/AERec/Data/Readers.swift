// Interaction file readers: the staged TSV format, MovieLens u.data / ratings.dat / ratings.csv,
// and generic delimited files. One pass over the raw bytes of the (decompressed) file.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The layout of a generic delimited (CSV, TSV, semicolon…) interaction file.
///
/// Columns are chosen by 0-based index or by header name (names need `hasHeader`). Without a
/// `value` column every interaction gets the value 1; without a `timestamp` column the data have
/// no timestamps. Every line must have as many columns as the header (or, without a header, as
/// the first line). With `allowsQuotes`, a field that starts with `"` runs to the matching closing
/// quote (which may enclose separators; `""` inside stands for one quote), as in RFC 4180 minus
/// embedded line breaks.
public struct DelimitedFormat: Sendable, Equatable, Hashable {
    /// A column chosen by 0-based position or by its header name.
    public enum Column: Sendable, Equatable, Hashable {
        /// 0-based column position.
        case index(Int)
        /// Header name (exact match first, then case-insensitive). Needs a header line.
        case name(String)
    }

    /// The field separator: one or more bytes, e.g. `","`, `"\t"`, `";"`, `"::"`.
    public var separator: String
    /// Whether the first non-blank line is a header (skipped, and used to resolve `.name` columns).
    public var hasHeader: Bool
    /// The user id column.
    public var user: Column
    /// The item id column.
    public var item: Column
    /// The value (rating, count…) column, or nil: every value is 1.
    public var value: Column?
    /// The integer timestamp column, or nil.
    public var timestamp: Column?
    /// Whether `"…"`-quoted fields are understood.
    public var allowsQuotes: Bool

    /// A delimited layout; defaults describe `user,item,value` CSV with a header.
    public init(separator: String = ",", hasHeader: Bool = true, user: Column = .index(0), item: Column = .index(1),
                value: Column? = .index(2), timestamp: Column? = nil, allowsQuotes: Bool = true) {
        self.separator = separator
        self.hasHeader = hasHeader
        self.user = user
        self.item = item
        self.value = value
        self.timestamp = timestamp
        self.allowsQuotes = allowsQuotes
    }
}

/// The interaction file formats ``InteractionReader`` understands. Any of them may be gzip
/// compressed (detected from the magic bytes, not the name).
///
/// Common rules: lines end in `\n` or `\r\n`, the last line may lack its newline; a UTF-8 byte
/// order mark is skipped; blank lines are skipped (line numbers in errors still count them);
/// ASCII spaces around a field are trimmed; ids are kept as text (`"007"` ≠ `"7"`, `"-5"` is the
/// id "-5", a 40-digit id is kept whole: ids are never parsed as numbers, so they can be neither
/// negative nor too large) and must be valid UTF-8 without NUL bytes; values are decimal numbers
/// (correctly rounded to `Float`; negative values are allowed) and must be finite; timestamps are
/// integers.
public enum DataFormat: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Detect from the file name and the first line (see ``InteractionReader/detect(name:firstLine:)``).
    case auto
    /// The staged-data format (`../shared/data/*/ratings.tsv.gz`): tab-separated with a header
    /// line `user<TAB>item<TAB>value[<TAB>timestamp]` (the header's names are free, its column
    /// count is not). A 2-column header (`user<TAB>item`) gives value 1.
    case tsv
    /// MovieLens 100K `u.data`: `user<TAB>item<TAB>rating<TAB>timestamp`, no header.
    case movieLensUData
    /// MovieLens 1M/10M `ratings.dat`: `user::item::rating::timestamp`, no header.
    case movieLensDat
    /// MovieLens `ratings.csv` (ml-latest, 20M, 25M): header `userId,movieId,rating,timestamp`.
    case movieLensCSV
    /// Any other delimited layout.
    case delimited(DelimitedFormat)

    /// A short name for messages.
    public var description: String {
        switch self {
        case .auto: return "auto"
        case .tsv: return "tsv"
        case .movieLensUData: return "movielens-udata"
        case .movieLensDat: return "movielens-dat"
        case .movieLensCSV: return "movielens-csv"
        case .delimited(let d):
            let sep = d.separator == "\t" ? "tab" : "'\(d.separator)'"
            return "delimited(\(sep), \(d.hasHeader ? "header" : "no header"))"
        }
    }
}

/// Reads interaction files into ``Interactions``.
///
/// - External ids are interned into ``IDMap``s in order of first appearance in the file.
/// - **Duplicates:** when the same (user, item) pair occurs on several lines, the LAST line wins
///   (its value and timestamp are kept, at its own position in the row order); the earlier ones
///   are dropped and counted in ``DataReport/duplicatesDropped``.
/// - ``DataReport/linesRead`` counts data lines (header and blank lines excluded).
/// - Errors: ``AERecError/io(path:message:)`` when the file cannot be read (missing, unreadable,
///   corrupt or truncated gzip); ``AERecError/parse(path:line:field:message:)`` with the 1-based
///   line and the field (`user`, `item`, `value`, `timestamp`, or `header`) for a wrong column
///   count, an empty field, a non-numeric or non-finite value, a non-integer timestamp, an id that
///   is not UTF-8, a bad header; ``AERecError/data(_:)`` for an empty file or one without data rows.
public enum InteractionReader {
    /// Reads `path` in `format` (``DataFormat/auto`` by default).
    public static func read(path: String, format: DataFormat = .auto) throws -> Interactions {
        try readWithLineNumbers(path: path, format: format).data
    }

    /// The format `.auto` would choose for `path` (reads the file).
    public static func detectFormat(path: String) throws -> DataFormat {
        let file = try FileBytes.read(path)
        guard let first = firstLine(file.buffer) else { throw AERecError.data("\(path): empty file") }
        return try detectOrThrow(path: path, firstLine: first)
    }

    /// Auto-detection rules, applied to the file's base name (without `.gz`) and its first
    /// non-blank line:
    /// 1. a first line containing `::` → ``DataFormat/movieLensDat``;
    /// 2. a name `u.data` → ``DataFormat/movieLensUData``;
    /// 3. a tab in the first line: a header (third field not a number; with two fields, neither
    ///    contains a digit) with 2–4 columns → ``DataFormat/tsv``; no header and 4 columns →
    ///    ``DataFormat/movieLensUData``; otherwise tab-``DataFormat/delimited(_:)`` with columns
    ///    0, 1, 2 (value), 3 (timestamp) as far as they exist;
    /// 4. a comma: header `userId,movieId,rating,timestamp` (any case) → ``DataFormat/movieLensCSV``,
    ///    otherwise comma-delimited as in 3; 5. a semicolon: semicolon-delimited as in 3.
    /// Returns nil when no separator is recognised.
    public static func detect(name: String, firstLine: String) -> DataFormat? {
        var base = String(name.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
        if base.hasSuffix(".gz") { base.removeLast(3) }
        if firstLine.contains("::") { return .movieLensDat }
        if base == "u.data" { return .movieLensUData }
        func fields(_ sep: Character) -> [String] {
            firstLine.split(separator: sep, omittingEmptySubsequences: false).map {
                var s = String($0).trimmingSpaces()
                if s.count >= 2, s.hasPrefix("\""), s.hasSuffix("\"") { s = String(s.dropFirst().dropLast()) }
                return s
            }
        }
        func generic(_ sep: String, _ f: [String]) -> DataFormat {
            .delimited(DelimitedFormat(separator: sep, hasHeader: looksLikeHeader(f), user: .index(0), item: .index(1),
                                       value: f.count >= 3 ? .index(2) : nil, timestamp: f.count >= 4 ? .index(3) : nil))
        }
        if firstLine.contains("\t") {
            let f = fields("\t")
            let header = looksLikeHeader(f)
            if header && (2...4).contains(f.count) { return .tsv }
            if !header && f.count == 4 { return .movieLensUData }
            return generic("\t", f)
        }
        if firstLine.contains(",") {
            let f = fields(",")
            if f.map({ $0.lowercased() }) == ["userid", "movieid", "rating", "timestamp"] { return .movieLensCSV }
            return generic(",", f)
        }
        if firstLine.contains(";") { return generic(";", fields(";")) }
        return nil
    }

    static func looksLikeHeader(_ f: [String]) -> Bool {
        if f.count >= 3 { return !isDecimalNumber(f[2]) }
        return f.allSatisfy { !$0.contains(where: { $0.isASCII && $0.isNumber }) }
    }

    static func detectOrThrow(path: String, firstLine: (line: Int, text: String)) throws -> DataFormat {
        guard let f = detect(name: path, firstLine: firstLine.text) else {
            throw AERecError.parse(path: path, line: firstLine.line, field: "user",
                                   message: "cannot detect the format: expected a tab, comma, semicolon or '::' separator")
        }
        return f
    }

    /// First non-blank line (1-based number, lossy text), skipping a BOM.
    static func firstLine(_ buf: UnsafeBufferPointer<UInt8>) -> (line: Int, text: String)? {
        guard let p = buf.baseAddress else { return nil }
        var pos = hasBOM(buf) ? 3 : 0
        var line = 0
        while pos < buf.count {
            line += 1
            let nl = findByte(p, pos, buf.count, TextByte.newline)
            var e = nl
            if e > pos && p[e - 1] == TextByte.carriageReturn { e -= 1 }
            if e > pos {
                return (line, String(decoding: UnsafeBufferPointer(start: p + pos, count: e - pos), as: UTF8.self))
            }
            pos = nl + 1
        }
        return nil
    }

    static func hasBOM(_ buf: UnsafeBufferPointer<UInt8>) -> Bool {
        buf.count >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF
    }

    /// Reads a file and also returns the 1-based line number of every kept row.
    static func readWithLineNumbers(path: String, format: DataFormat) throws -> (data: Interactions, lines: [Int32]) {
        let file = try FileBytes.read(path)
        let buf = file.buffer
        guard let first = firstLine(buf) else { throw AERecError.data("\(path): empty file") }
        let concrete = format == .auto ? try detectOrThrow(path: path, firstLine: first) : format
        var parser = try LineParser(path: path, format: concrete, buffer: buf)
        return try parser.run()
    }
}

/// Whether `s` parses as a number (NaN and infinities included).
func isDecimalNumber(_ s: String) -> Bool {
    var s = s
    return s.withUTF8 { b in !b.isEmpty && parseDecimalFloat(b.baseAddress!, b.count) != nil }
}

/// A growable byte buffer for unquoting fields.
final class ByteScratch {
    private var storage: UnsafeMutablePointer<UInt8>?
    private var capacity = 0
    init() {}
    deinit { storage?.deallocate() }
    /// At least n writable bytes (contents not preserved).
    func reserve(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        if n > capacity || storage == nil {
            storage?.deallocate()
            capacity = max(n, 64)
            storage = .allocate(capacity: capacity)
        }
        return storage!
    }
}

extension String {
    /// Without leading and trailing ASCII spaces.
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}

/// The single-pass parser behind ``InteractionReader``.
private struct LineParser {
    let path: String
    let format: DataFormat
    let base: UnsafePointer<UInt8>
    let end: Int
    var separator: [UInt8]
    var quotes: Bool
    var hasHeader: Bool
    var columnCount = 0
    var userColumn = 0, itemColumn = 1
    var valueColumn: Int? = nil, timestampColumn: Int? = nil
    var headerNames: [String]? = nil

    init(path: String, format: DataFormat, buffer: UnsafeBufferPointer<UInt8>) throws {
        self.path = path
        self.format = format
        self.base = buffer.baseAddress!   // non-empty: checked by the caller
        self.end = buffer.count
        switch format {
        case .auto: preconditionFailure("format resolved by the caller")
        case .tsv: separator = [TextByte.tab]; quotes = false; hasHeader = true
        case .movieLensUData: separator = [TextByte.tab]; quotes = false; hasHeader = false
        case .movieLensDat: separator = [TextByte.colon, TextByte.colon]; quotes = false; hasHeader = false
        case .movieLensCSV: separator = [TextByte.comma]; quotes = true; hasHeader = true
        case .delimited(let d):
            guard !d.separator.isEmpty, !d.separator.utf8.contains(TextByte.newline),
                  !d.separator.utf8.contains(TextByte.carriageReturn) else {
                throw AERecError.invalidArgument("delimited format: the separator must be non-empty and contain no line break")
            }
            if d.allowsQuotes && d.separator.utf8.contains(TextByte.quote) {
                throw AERecError.invalidArgument("delimited format: a separator containing '\"' needs allowsQuotes: false")
            }
            separator = Array(d.separator.utf8); quotes = d.allowsQuotes; hasHeader = d.hasHeader
        }
    }

    /// Name of column c in messages.
    func fieldName(_ c: Int) -> String {
        if c == userColumn { return "user" }
        if c == itemColumn { return "item" }
        if c == valueColumn { return "value" }
        if c == timestampColumn { return "timestamp" }
        if let h = headerNames, c < h.count, !h[c].isEmpty { return h[c] }
        return "column \(c + 1)"
    }

    var layoutDescription: String {
        let names = (0..<columnCount).map { fieldName($0) }.joined(separator: ", ")
        let sep: String
        switch separator {
        case [TextByte.tab]: sep = "tab"
        case [TextByte.colon, TextByte.colon]: sep = "'::'"
        default: sep = "'" + String(decoding: separator, as: UTF8.self) + "'"
        }
        return "\(columnCount) \(sep)-separated columns (\(names))"
    }

    // MARK: field splitting

    /// Splits p[lo..<hi] into fields; stores (start, end) pairs (raw, quotes included) for the
    /// first `capacity` fields. Returns the field count, or -(k+1) when field k has a broken quote.
    @inline(__always)
    func split(_ lo: Int, _ hi: Int, _ out: UnsafeMutablePointer<Int>, _ capacity: Int) -> Int {
        let p = base
        let sepLen = separator.count
        let s0 = separator[0]
        var f = 0
        var s = lo
        while true {
            var fieldEnd: Int
            var q = s
            while q < hi && p[q] == TextByte.space { q += 1 }
            if quotes && q < hi && p[q] == TextByte.quote {
                var j = q + 1
                while j < hi {
                    if p[j] == TextByte.quote {
                        if j + 1 < hi && p[j + 1] == TextByte.quote { j += 2; continue }
                        break
                    }
                    j += 1
                }
                if j >= hi { return -(f + 1) }   // no closing quote
                fieldEnd = j + 1
                while fieldEnd < hi && p[fieldEnd] == TextByte.space { fieldEnd += 1 }
                if fieldEnd < hi && !matchesSeparator(fieldEnd, hi) { return -(f + 1) }
            } else if sepLen == 1 {
                fieldEnd = findByte(p, s, hi, s0)
            } else {
                fieldEnd = hi
                var j = s
                while true {
                    j = findByte(p, j, hi, s0)
                    if j >= hi { break }
                    if matchesSeparator(j, hi) { fieldEnd = j; break }
                    j += 1
                }
            }
            if f < capacity { out[2 * f] = s; out[2 * f + 1] = fieldEnd }
            f += 1
            if fieldEnd >= hi { return f }
            s = fieldEnd + sepLen
        }
    }

    @inline(__always)
    func matchesSeparator(_ at: Int, _ hi: Int) -> Bool {
        let n = separator.count
        if at + n > hi { return false }
        for k in 0..<n where base[at + k] != separator[k] { return false }
        return true
    }

    /// The content of a raw field: spaces trimmed, quotes removed (`""` → `"`, into `scratch`).
    @inline(__always)
    func content(_ s: Int, _ e: Int, _ scratch: ByteScratch) -> (UnsafePointer<UInt8>, Int) {
        var a = s, b = e
        while a < b && base[a] == TextByte.space { a += 1 }
        while b > a && base[b - 1] == TextByte.space { b -= 1 }
        if quotes && b - a >= 2 && base[a] == TextByte.quote && base[b - 1] == TextByte.quote {
            a += 1; b -= 1
            if findByte(base, a, b, TextByte.quote) == b { return (base + a, b - a) }
            let out = scratch.reserve(b - a)
            var j = a, k = 0
            while j < b {
                out[k] = base[j]
                k += 1
                j += base[j] == TextByte.quote ? 2 : 1
            }
            return (UnsafePointer(out), k)
        }
        return (base + a, b - a)
    }

    func text(_ s: Int, _ e: Int) -> String {
        let scratch = ByteScratch()
        return withExtendedLifetime(scratch) {
            let (p, n) = content(s, e, scratch)
            return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
        }
    }

    // MARK: layout

    /// Resolves the columns from the first non-blank line (header or first data row).
    mutating func resolveLayout(firstLo: Int, firstHi: Int, line: Int) throws {
        let cap = 4096
        let fields = UnsafeMutablePointer<Int>.allocate(capacity: 2 * cap)
        defer { fields.deallocate() }
        let n = split(firstLo, firstHi, fields, cap)
        guard n > 0 else {
            throw AERecError.parse(path: path, line: line, field: hasHeader ? "header" : "user",
                                   message: "unterminated or malformed quoted field \(-n)")
        }
        guard n <= cap else {
            throw AERecError.parse(path: path, line: line, field: "header", message: "more than \(cap) columns")
        }
        let texts = (0..<n).map { text(fields[2 * $0], fields[2 * $0 + 1]) }
        columnCount = n
        if hasHeader { headerNames = texts }
        switch format {
        case .auto: break
        case .tsv:
            guard (2...4).contains(n) else {
                throw AERecError.parse(path: path, line: line, field: "header",
                                       message: "expected a header user<TAB>item<TAB>value[<TAB>timestamp], found \(n) columns")
            }
            if n >= 3, isDecimalNumber(texts[2]) {
                throw AERecError.parse(path: path, line: line, field: "header",
                                       message: "expected a header user<TAB>item<TAB>value[<TAB>timestamp], found a data line (use movieLensUData or delimited without header)")
            }
            valueColumn = n >= 3 ? 2 : nil
            timestampColumn = n >= 4 ? 3 : nil
        case .movieLensUData, .movieLensDat:
            columnCount = 4; valueColumn = 2; timestampColumn = 3
        case .movieLensCSV:
            guard texts.map({ $0.lowercased() }) == ["userid", "movieid", "rating", "timestamp"] else {
                throw AERecError.parse(path: path, line: line, field: "header",
                                       message: "expected the header userId,movieId,rating,timestamp, found '\(texts.joined(separator: ","))'")
            }
            valueColumn = 2; timestampColumn = 3
        case .delimited(let d):
            func resolve(_ c: DelimitedFormat.Column?, _ role: String) throws -> Int? {
                guard let c else { return nil }
                switch c {
                case .index(let i):
                    guard i >= 0 else { throw AERecError.invalidArgument("delimited format: \(role) column index \(i) is negative") }
                    guard i < n else {
                        throw AERecError.parse(path: path, line: line, field: role,
                                               message: "expected at least \(i + 1) columns (\(role) is column index \(i)), found \(n)")
                    }
                    return i
                case .name(let name):
                    guard hasHeader else {
                        throw AERecError.invalidArgument("delimited format: column '\(name)' is chosen by name but the format has no header")
                    }
                    if let i = texts.firstIndex(of: name) ?? texts.firstIndex(where: { $0.lowercased() == name.lowercased() }) {
                        return i
                    }
                    throw AERecError.parse(path: path, line: line, field: role,
                                           message: "no header column named '\(name)' (columns: \(texts.joined(separator: ", ")))")
                }
            }
            userColumn = try resolve(d.user, "user")!
            itemColumn = try resolve(d.item, "item")!
            valueColumn = try resolve(d.value, "value")
            timestampColumn = try resolve(d.timestamp, "timestamp")
            let chosen = [userColumn, itemColumn] + [valueColumn, timestampColumn].compactMap { $0 }
            guard Set(chosen).count == chosen.count else {
                throw AERecError.invalidArgument("delimited format: the user, item, value and timestamp columns must differ")
            }
        }
    }

    // MARK: main loop

    mutating func run() throws -> (data: Interactions, lines: [Int32]) {
        let p = base
        var pos = 0
        if end >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF { pos = 3 }
        // upper bound on rows: newline count + 1
        var maxRows = 1
        do {
            var j = pos
            while true {
                j = findByte(p, j, end, TextByte.newline)
                if j >= end { break }
                maxRows += 1
                j += 1
            }
        }
        var lineNumber = 0
        var layoutDone = false
        let fieldCap = 64
        let fields = UnsafeMutablePointer<Int>.allocate(capacity: 2 * fieldCap)
        defer { fields.deallocate() }
        let users = UnsafeMutablePointer<Int32>.allocate(capacity: maxRows)
        let items = UnsafeMutablePointer<Int32>.allocate(capacity: maxRows)
        let values = UnsafeMutablePointer<Float>.allocate(capacity: maxRows)
        let lines = UnsafeMutablePointer<Int32>.allocate(capacity: maxRows)
        var times: UnsafeMutablePointer<Int64>? = nil
        defer {
            users.deallocate(); items.deallocate(); values.deallocate(); lines.deallocate(); times?.deallocate()
        }
        let userIDs = ByteInterner(expected: 1024), itemIDs = ByteInterner(expected: 1024)
        var rows = 0
        let scratch = ByteScratch()

        while pos < end {
            lineNumber += 1
            let nl = findByte(p, pos, end, TextByte.newline)
            var lineEnd = nl
            if lineEnd > pos && p[lineEnd - 1] == TextByte.carriageReturn { lineEnd -= 1 }
            let lineStart = pos
            pos = nl + 1
            if lineEnd == lineStart { continue }   // blank line
            if !layoutDone {
                try resolveLayout(firstLo: lineStart, firstHi: lineEnd, line: lineNumber)
                layoutDone = true
                guard columnCount <= fieldCap else {
                    throw AERecError.parse(path: path, line: lineNumber, field: "header",
                                           message: "more than \(fieldCap) columns are not supported")
                }
                if timestampColumn != nil { times = .allocate(capacity: maxRows) }
                if hasHeader { continue }
            }
            let n = split(lineStart, lineEnd, fields, fieldCap)
            if n < 0 {
                throw AERecError.parse(path: path, line: lineNumber, field: fieldName(-n - 1),
                                       message: "malformed quoted field (a closing quote must end the field)")
            }
            if n != columnCount {
                let field = n < columnCount ? fieldName(n) : fieldName(columnCount - 1)
                throw AERecError.parse(path: path, line: lineNumber, field: field,
                                       message: "expected \(layoutDescription), found \(n) column\(n == 1 ? "" : "s")")
            }
            // user
            var (fp, fn) = content(fields[2 * userColumn], fields[2 * userColumn + 1], scratch)
            if fn == 0 { throw emptyField(lineNumber, "user", "a user id") }
            if memchr(fp, 0, fn) != nil { throw nulInID(lineNumber, "user", fp, fn) }
            let u = userIDs.intern(fp, fn)
            if u < 0 { throw notUTF8(lineNumber, "user", fp, fn) }
            // item
            (fp, fn) = content(fields[2 * itemColumn], fields[2 * itemColumn + 1], scratch)
            if fn == 0 { throw emptyField(lineNumber, "item", "an item id") }
            if memchr(fp, 0, fn) != nil { throw nulInID(lineNumber, "item", fp, fn) }
            let i = itemIDs.intern(fp, fn)
            if i < 0 { throw notUTF8(lineNumber, "item", fp, fn) }
            // value
            var v: Float = 1
            if let vc = valueColumn {
                (fp, fn) = content(fields[2 * vc], fields[2 * vc + 1], scratch)
                if fn == 0 { throw emptyField(lineNumber, "value", "a number") }
                guard let x = parseDecimalFloat(fp, fn) else {
                    throw AERecError.parse(path: path, line: lineNumber, field: "value",
                                           message: "expected a number, found \(quotedForMessage(fp, fn))")
                }
                guard x.isFinite else {
                    throw AERecError.parse(path: path, line: lineNumber, field: "value",
                                           message: "expected a finite number, found \(quotedForMessage(fp, fn))\(x.isNaN ? " (NaN)" : " (infinite as a 32-bit float)")")
                }
                v = x
            }
            if let tc = timestampColumn, let times {
                (fp, fn) = content(fields[2 * tc], fields[2 * tc + 1], scratch)
                if fn == 0 { throw emptyField(lineNumber, "timestamp", "an integer timestamp") }
                guard let t = parseDecimalInt64(fp, fn) else {
                    throw AERecError.parse(path: path, line: lineNumber, field: "timestamp",
                                           message: "expected an integer timestamp, found \(quotedForMessage(fp, fn))")
                }
                times[rows] = t
            }
            users[rows] = u
            items[rows] = i
            values[rows] = v
            lines[rows] = Int32(truncatingIfNeeded: lineNumber)
            rows += 1
        }
        guard rows > 0 else {
            if hasHeader { throw AERecError.data("\(path): header only, no data rows") }
            throw AERecError.data("\(path): no data rows")
        }

        // duplicates: keep the last occurrence of each (user, item) pair
        let (keep, duplicates) = lastOccurrenceMask(rows: UnsafeBufferPointer(start: users, count: rows),
                                                    columns: UnsafeBufferPointer(start: items, count: rows))
        var kept = rows
        if duplicates > 0 {
            kept = 0
            keep.withUnsafeBufferPointer { k in
                for r in 0..<rows where k[r] {
                    users[kept] = users[r]; items[kept] = items[r]; values[kept] = values[r]; lines[kept] = lines[r]
                    if let times { times[kept] = times[r] }
                    kept += 1
                }
            }
        }
        var report = DataReport()
        report.linesRead = rows
        report.duplicatesDropped = duplicates
        let data = Interactions(
            users: Array(UnsafeBufferPointer(start: users, count: kept)),
            items: Array(UnsafeBufferPointer(start: items, count: kept)),
            values: Array(UnsafeBufferPointer(start: values, count: kept)),
            timestamps: times.map { Array(UnsafeBufferPointer(start: $0, count: kept)) },
            userIDs: userIDs.idMap(), itemIDs: itemIDs.idMap(), report: report)
        return (data, Array(UnsafeBufferPointer(start: lines, count: kept)))
    }

    func emptyField(_ line: Int, _ field: String, _ expected: String) -> AERecError {
        AERecError.parse(path: path, line: line, field: field, message: "empty field, expected \(expected)")
    }

    /// Ids travel as C strings through the C ABI, where a NUL byte would cut them.
    func nulInID(_ line: Int, _ field: String, _ p: UnsafePointer<UInt8>, _ n: Int) -> AERecError {
        let at = memchr(p, 0, n).map { p.distance(to: $0.assumingMemoryBound(to: UInt8.self)) } ?? 0
        return AERecError.parse(path: path, line: line, field: field,
                                message: "expected an id without NUL bytes, found one at byte \(at + 1) of the field")
    }

    func notUTF8(_ line: Int, _ field: String, _ p: UnsafePointer<UInt8>, _ n: Int) -> AERecError {
        let hex = (0..<min(n, 16)).map { b -> String in
            let s = String(p[b], radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined(separator: " ")
        return AERecError.parse(path: path, line: line, field: field,
                                message: "expected a UTF-8 id, found invalid bytes \(hex)\(n > 16 ? " …" : "")")
    }
}
