// Reading and writing the structs of include/aerec.h. The Swift target cannot import the header,
// so fields are accessed at the byte offsets the header fixes (and static-asserts): every field is
// 8 bytes or a char array of a multiple of 8, so offsets are plain sums. Loads and stores are
// unaligned-safe.
import AERec

#if canImport(Glibc)
import Glibc
#endif

/// Sizes of the header's structs (aerec_struct_size and the struct_size checks).
enum StructSize {
    static let csr = 40
    static let filter = 56
    static let datasetInfo = 88
    static let matrixInfo = 40
    static let splitConfig = 96
    static let splitInfo = 80
    static let modelConfig = 144
    static let epochReport = 72
    static let fitSummary = 56
    static let modelInfo = 128
    static let metricValue = 96
    static let resultInfo = 40
    static let blasInfo = 136
    static let probeConfig = 112
    static let probeScores = 240
    static let selectionConfig = 80
    static let selectionProgress = 376
    static let selectionSummary = 168

    static func of(_ which: Int32) -> Int {
        switch which {
        case 1: return csr
        case 2: return filter
        case 3: return datasetInfo
        case 4: return matrixInfo
        case 5: return splitConfig
        case 6: return splitInfo
        case 7: return modelConfig
        case 8: return epochReport
        case 9: return fitSummary
        case 10: return modelInfo
        case 11: return metricValue
        case 12: return resultInfo
        case 13: return blasInfo
        case 14: return probeConfig
        case 15: return probeScores
        case 16: return selectionConfig
        case 17: return selectionProgress
        case 18: return selectionSummary
        default: return 0
        }
    }
}

/// A caller's input struct.
struct CIn {
    let p: UnsafeRawPointer
    func i64(_ o: Int) -> Int64 { p.loadUnaligned(fromByteOffset: o, as: Int64.self) }
    func u64(_ o: Int) -> UInt64 { p.loadUnaligned(fromByteOffset: o, as: UInt64.self) }
    func f64(_ o: Int) -> Double { p.loadUnaligned(fromByteOffset: o, as: Double.self) }
    func pointer(_ o: Int) -> UnsafeRawPointer? {
        UnsafeRawPointer(bitPattern: p.loadUnaligned(fromByteOffset: o, as: UInt.self))
    }
    func string(_ o: Int) -> String? { pointer(o).map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } }
}

/// A caller's output struct.
struct COut {
    let p: UnsafeMutableRawPointer
    func set(_ o: Int, _ v: Int64) { p.storeBytes(of: v, toByteOffset: o, as: Int64.self) }
    func set(_ o: Int, _ v: Int) { set(o, Int64(v)) }
    func set(_ o: Int, _ v: Bool) { set(o, Int64(v ? 1 : 0)) }
    func set(_ o: Int, _ v: UInt64) { p.storeBytes(of: v, toByteOffset: o, as: UInt64.self) }
    func set(_ o: Int, _ v: Double) { p.storeBytes(of: v, toByteOffset: o, as: Double.self) }
    /// A NUL-terminated string in a char[capacity] field, truncated on a UTF-8 boundary.
    func set(_ o: Int, _ s: String, capacity: Int) {
        var bytes = Array(s.utf8.prefix(capacity - 1))
        // drop a multi-byte sequence cut by the truncation
        while !bytes.isEmpty && String(validating: bytes, as: UTF8.self) == nil { bytes.removeLast() }
        (p + o).initializeMemory(as: UInt8.self, repeating: 0, count: capacity)
        bytes.withUnsafeBufferPointer { b in
            if let base = b.baseAddress { (p + o).copyMemory(from: base, byteCount: b.count) }
        }
    }
}

/// Checks an input struct pointer and its struct_size.
func inputStruct(_ p: UnsafeRawPointer?, size: Int, name: String, argument: String) throws -> CIn {
    guard let p else { throw CABIError.invalid("\(argument) is NULL (expected a \(name))") }
    let s = p.loadUnaligned(as: UInt64.self)
    guard s == UInt64(size) else {
        throw CABIError.invalid(
            "\(argument).struct_size is \(s), this library's \(name) has \(size) bytes (set it to sizeof(\(name)) or use the *_init function; a different size means a header/library mismatch)")
    }
    return CIn(p: p)
}

/// Checks an output struct pointer and its struct_size.
func outputStruct(_ p: UnsafeMutableRawPointer?, size: Int, name: String, argument: String) throws -> COut {
    guard let p else { throw CABIError.invalid("\(argument) is NULL (expected a \(name) to fill)") }
    let s = p.loadUnaligned(as: UInt64.self)
    guard s == UInt64(size) else {
        throw CABIError.invalid(
            "\(argument).struct_size is \(s), this library's \(name) has \(size) bytes (set it to sizeof(\(name)) before the call)")
    }
    return COut(p: p)
}

/// Fills an output struct of `size` bytes with zeros and sets its struct_size (the *_init functions
/// and structs the library hands to callbacks).
func initStruct(_ p: UnsafeMutableRawPointer, size: Int) -> COut {
    p.initializeMemory(as: UInt8.self, repeating: 0, count: size)
    p.storeBytes(of: UInt64(size), as: UInt64.self)
    return COut(p: p)
}

// MARK: - argument checks

/// A required non-NULL pointer.
func required<T>(_ p: T?, _ argument: String) throws -> T {
    guard let p else { throw CABIError.invalid("\(argument) is NULL") }
    return p
}

/// A non-NULL C string argument.
func requiredString(_ p: UnsafePointer<CChar>?, _ argument: String) throws -> String {
    guard let p else { throw CABIError.invalid("\(argument) is NULL") }
    return String(cString: p)
}

/// A finite float field.
func finite(_ x: Double, _ name: String) throws -> Double {
    guard x.isFinite else { throw CABIError.invalid("\(name) is \(x); it must be a finite number") }
    return x
}

/// Threads argument: AEREC_DEFAULT (or 0) → `fallback`, else 1...256.
func threadsArgument(_ t: Int64, fallback: Int) throws -> Int {
    if t == -1 || t == 0 { return fallback }
    guard t >= 1, t <= 256 else { throw CABIError.invalid("threads must be in 1...256 or AEREC_DEFAULT, got \(t)") }
    return Int(t)
}

/// Refuses allocations the machine cannot hold (a Swift allocation failure would abort the host).
func requireMemory(_ bytes: Int, _ what: String) throws {
    if bytes < 64 << 20 { return }
    try SystemMemory.require(bytes, for: what)
}

/// bytes = count × stride, refusing overflow.
func byteCount(_ count: Int, _ stride: Int, _ what: String) throws -> Int {
    let (b, o) = count.multipliedReportingOverflow(by: stride)
    guard !o else { throw CABIError.invalid("\(what): \(count) elements is too many") }
    return b
}

/// Copies `count` elements from a C array (NULL allowed only when count is 0).
func copyArray<T>(_ p: UnsafePointer<T>?, count: Int, _ argument: String) throws -> [T] {
    guard count > 0 else { return [] }
    guard let p else { throw CABIError.invalid("\(argument) is NULL but \(count) elements are expected") }
    try requireMemory(try byteCount(count, MemoryLayout<T>.stride, argument), "copying \(argument)")
    return Array(UnsafeBufferPointer(start: p, count: count))
}

/// Reads `count` C strings (each non-NULL) from an array of string pointers.
func copyStrings(_ p: UnsafePointer<UnsafePointer<CChar>?>?, count: Int, _ argument: String) throws -> [String] {
    guard count > 0 else { return [] }
    guard let p else { throw CABIError.invalid("\(argument) is NULL") }
    var out: [String] = []
    out.reserveCapacity(count)
    for i in 0..<count {
        guard let s = p[i] else { throw CABIError.invalid("\(argument)[\(i)] is NULL") }
        out.append(String(cString: s))
    }
    return out
}

// MARK: - CSR views

/// The arrays of an aerec_csr, copied and structurally checked (shape, indptr, index ranges,
/// finite values), but not checked for ascending columns.
struct CSRArrays {
    var rows: Int
    var cols: Int
    var indptr: [Int64]
    var indices: [Int32]
    var values: [Float]?

    var nnz: Int { indices.count }

    /// Reads an aerec_csr.
    init(_ raw: UnsafeRawPointer?, _ argument: String) throws {
        guard let raw else { throw CABIError.invalid("\(argument) is NULL (expected an aerec_csr)") }
        let s = CIn(p: raw)
        let rows = s.i64(0), cols = s.i64(8)
        guard rows >= 0, rows <= Int64(Int32.max) else {
            throw CABIError.invalid("\(argument).n_rows is \(rows); it must be in 0...\(Int32.max)")
        }
        guard cols >= 0, cols <= Int64(Int32.max) else {
            throw CABIError.invalid("\(argument).n_cols is \(cols); it must be in 0...\(Int32.max)")
        }
        self.rows = Int(rows)
        self.cols = Int(cols)
        let ptrP = s.pointer(16)?.assumingMemoryBound(to: Int64.self)
        guard let ptrP else { throw CABIError.invalid("\(argument).indptr is NULL") }
        indptr = try copyArray(ptrP, count: self.rows + 1, "\(argument).indptr")
        guard indptr[0] == 0 else { throw CABIError.invalid("\(argument).indptr[0] is \(indptr[0]), expected 0") }
        for r in 0..<self.rows where indptr[r + 1] < indptr[r] {
            throw CABIError.invalid("\(argument).indptr decreases at row \(r) (\(indptr[r]) > \(indptr[r + 1]))")
        }
        let nnz = indptr[self.rows]
        guard nnz <= Int64(Int32.max) * 64 else { throw CABIError.invalid("\(argument): nnz \(nnz) is too large") }
        indices = try copyArray(s.pointer(24)?.assumingMemoryBound(to: Int32.self), count: Int(nnz),
                                "\(argument).indices")
        let c = Int32(self.cols)
        for (k, j) in indices.enumerated() where j < 0 || j >= c {
            throw CABIError.invalid("\(argument).indices[\(k)] is \(j), outside 0..<\(c)")
        }
        if let vp = s.pointer(32)?.assumingMemoryBound(to: Float.self) {
            let v = try copyArray(vp, count: Int(nnz), "\(argument).values")
            if let k = v.firstIndex(where: { !$0.isFinite }) {
                throw CABIError.invalid("\(argument).values[\(k)] is \(v[k]); values must be finite")
            }
            values = v
        } else {
            values = nil
        }
    }

    /// The matrix (checks strictly ascending columns per row).
    func matrix(_ argument: String) throws -> InteractionMatrix {
        do {
            return try InteractionMatrix(rowCount: rows, columnCount: cols, indptr: indptr, indices: indices,
                                         values: values)
        } catch let e as AERecError {
            throw CABIError.invalid("\(argument): \(e.description) (sort each row's columns and merge duplicates, e.g. scipy's sum_duplicates())")
        }
    }

    /// Row r's entries.
    func row(_ r: Int) -> Range<Int> { Int(indptr[r])..<Int(indptr[r + 1]) }
}

/// An aerec_csr as a checked matrix.
func csrMatrix(_ raw: UnsafeRawPointer?, _ argument: String) throws -> InteractionMatrix {
    try CSRArrays(raw, argument).matrix(argument)
}

/// An optional aerec_csr.
func optionalCSRMatrix(_ raw: UnsafeRawPointer?, _ argument: String) throws -> InteractionMatrix? {
    guard let raw else { return nil }
    return try csrMatrix(raw, argument)
}

// MARK: - matrices and ids out

/// Fills an aerec_matrix_info.
func writeMatrixInfo(_ m: InteractionMatrix, _ out: UnsafeMutableRawPointer?) throws {
    let o = try outputStruct(out, size: StructSize.matrixInfo, name: "aerec_matrix_info", argument: "out")
    o.set(8, m.rowCount)
    o.set(16, m.columnCount)
    o.set(24, m.nnz)
    o.set(32, m.values != nil)
}

/// Copies a matrix into caller arrays sized from its aerec_matrix_info.
func copyMatrix(_ m: InteractionMatrix, indptr: UnsafeMutablePointer<Int64>?, indices: UnsafeMutablePointer<Int32>?,
                values: UnsafeMutablePointer<Float>?) throws {
    let ip = try required(indptr, "indptr")
    m.indptr.withUnsafeBufferPointer { ip.update(from: $0.baseAddress!, count: $0.count) }
    if m.nnz > 0 {
        let ix = try required(indices, "indices")
        m.indices.withUnsafeBufferPointer { ix.update(from: $0.baseAddress!, count: $0.count) }
        if let values {
            if let v = m.values {
                v.withUnsafeBufferPointer { values.update(from: $0.baseAddress!, count: $0.count) }
            } else {
                values.update(repeating: 1, count: m.nnz)
            }
        }
    }
}

/// Writes ids as consecutive NUL-terminated strings (the aerec_*_ids buffer rules).
func writeIDs(_ ids: [String], buf: UnsafeMutablePointer<CChar>?, capacity: Int, needed: UnsafeMutablePointer<Int>?)
    throws -> Int32
{
    let n = try required(needed, "needed")
    var total = 0
    for s in ids { total += s.utf8.count + 1 }
    n.pointee = total
    if buf == nil && capacity == 0 { return Status.ok }
    guard let buf, capacity >= total else {
        return fail(Status.bufferTooSmall, "the id buffer holds \(capacity) bytes, \(total) are needed")
    }
    var at = 0
    for s in ids {
        for b in s.utf8 { buf[at] = CChar(bitPattern: b); at += 1 }
        buf[at] = 0
        at += 1
    }
    return Status.ok
}

/// The id-map selector.
func idsSelector(_ which: Int32) throws -> Bool {
    switch which {
    case 0: return true  // users
    case 1: return false  // items
    default: throw CABIError.invalid("which is \(which); use AEREC_IDS_USERS (0) or AEREC_IDS_ITEMS (1)")
    }
}
