#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Configuration files: ``ExperimentConfiguration`` as JSON, with the property names as keys
/// (`dataPath`, `model`, `activation`, `split`, `heldOutUsers`, `learningRate`, `epochs`, ...).
///
/// A file may hold any subset of the keys: missing keys keep the base configuration's value,
/// `null` clears an optional one. Unknown keys, wrong types and unknown model / activation /
/// protocol / metric names are errors that name the file, the line of the key and the key.
/// `aerec train --out DIR` writes the resolved configuration in this form (DIR/config.json), so a
/// run can be repeated with `--config DIR/config.json`.
extension ExperimentConfiguration {
    /// Every key a configuration file may hold (the stored properties, in declaration order).
    public static var keys: [String] {
        Mirror(reflecting: ExperimentConfiguration(dataPath: "")).children.compactMap(\.label)
    }

    /// Pretty-printed JSON with sorted keys (what `--out` writes as config.json).
    public func prettyJSON() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try e.encode(self), as: UTF8.self)
    }

    /// Reads the configuration file at `path` over `base`.
    public static func load(path: String, over base: ExperimentConfiguration) throws -> ExperimentConfiguration {
        let file = try FileBytes.read(path)
        let text = String(decoding: file.buffer, as: UTF8.self)
        return try decode(json: text, path: path, over: base)
    }

    /// Decodes configuration JSON (`path` names it in messages) over `base`.
    public static func decode(json text: String, path: String, over base: ExperimentConfiguration) throws -> ExperimentConfiguration {
        let decoder = JSONDecoder()
        let parsed: JSONValue
        do {
            parsed = try decoder.decode(JSONValue.self, from: Data(text.utf8))
        } catch let e as DecodingError {
            throw AERecError.parse(path: path, line: 1, field: "json", message: "not valid JSON: \(decodingMessage(e))")
        }
        guard case .object(let fields) = parsed else {
            throw AERecError.parse(path: path, line: 1, field: "json", message: "expected a JSON object {\"key\": value, ...}")
        }
        let valid = keys
        let bytes = Array(text.utf8)
        func line(of key: String) -> Int {
            let needle = Array("\"\(key)\"".utf8)
            guard needle.count <= bytes.count else { return 1 }
            var lineNo = 1
            for i in 0...(bytes.count - needle.count) {
                if bytes[i] == 10 { lineNo += 1 }
                if bytes[i] == needle[0] && Array(bytes[i..<(i + needle.count)]) == needle { return lineNo }
            }
            return 1
        }
        func fail(_ key: String, _ message: String) -> AERecError {
            .parse(path: path, line: line(of: key), field: key, message: message)
        }
        // the base as a JSON object, then the file's keys over it
        guard case .object(var merged) = try decoder.decode(JSONValue.self, from: JSONEncoder().encode(base)) else {
            throw AERecError.invalidArgument("configuration did not encode as an object")
        }
        for key in fields.keys.sorted() {
            guard valid.contains(key) else {
                let hint = didYouMean(key, among: valid).map { " (did you mean '\($0)'?)" } ?? ""
                throw fail(key, "unknown key\(hint); valid: \(valid.joined(separator: ", "))")
            }
            var value = fields[key]!
            // names get the library's parsers: aliases, and a did-you-mean on failure
            do {
                switch (key, value) {
                case ("model", .string(let s)): value = .string(try ModelKind(name: s).rawValue)
                case ("activation", .string(let s)): value = .string(try Activation(name: s).name)
                case ("split", .string(let s)): value = .string(try SplitProtocol(name: s).rawValue)
                case ("format", .string(let s)): _ = try Experiment.parseFormat(s)
                case ("metrics", .array(let a)):
                    value = .array(try a.map { v in
                        guard case .string(let s) = v else { throw AERecError.invalidArgument("expected metric names (strings)") }
                        return .string(try Metric(name: s).name)
                    })
                default: break
                }
            } catch let e as AERecError {
                if case .invalidArgument(let m) = e { throw fail(key, m) }
                throw e
            }
            if case .null = value { merged.removeValue(forKey: key) } else { merged[key] = value }
        }
        do {
            return try decoder.decode(ExperimentConfiguration.self, from: JSONEncoder().encode(JSONValue.object(merged)))
        } catch let e as DecodingError {
            let key = decodingKey(e) ?? "json"
            if case .keyNotFound(let k, _) = e {
                throw fail(k.stringValue, "required (null is not allowed for this key)")
            }
            throw fail(key, decodingMessage(e))
        } catch let e as AERecError {
            if case .invalidArgument(let m) = e { throw AERecError.parse(path: path, line: 1, field: "json", message: m) }
            throw e
        }
    }

    /// This configuration with every default spelled out as the run used it: epochs, batch size,
    /// patience, held-out users / fractions, metrics, and the model's own hyperparameters read
    /// from the trained `model` (activation, widths, learning rate, λ/L2, dropout, β annealing).
    public func resolved(split: Split, model: (any Recommender)? = nil) -> ExperimentConfiguration {
        var c = self
        let iterative = !(model?.kind == .ease || model?.kind == .pop || self.model == .ease || self.model == .pop)
        let defaults = TrainingOptions()
        c.epochs = resolvedEpochs
        c.batchSize = batchSize ?? defaults.batchSize
        if iterative { c.patience = patience ?? defaults.earlyStoppingPatience }
        c.metrics = resolvedMetrics
        switch split.protocolKind {
        case .strong: c.heldOutUsers = heldOutUsers ?? max(1, split.userIDs.count / 10)
        case .ratio:
            c.testFraction = testFraction ?? 0.2
            c.validationFraction = validationFraction ?? (iterative ? 0.1 : 0)
        case .explicit:
            c.testFraction = testFraction ?? 0.1
            c.validationFraction = validationFraction ?? (iterative ? 0.1 : 0)
        case .given: c.validationFraction = validationFraction ?? 0
        case .loo: break
        }
        switch model {
        case let m as MultDAE:
            let mc = m.configuration
            c.activation = mc.latentActivation; c.latent = mc.latentDimension; c.learningRate = mc.optimizer.learningRate
            c.lambda = mc.l2; c.dropout = mc.dropout
        case let m as MultVAE:
            let mc = m.configuration
            c.activation = mc.latentActivation; c.hidden = mc.hiddenDimension; c.latent = mc.latentDimension
            c.learningRate = mc.optimizer.learningRate; c.lambda = mc.l2; c.dropout = mc.dropout
            c.annealSteps = mc.annealSteps; c.betaCap = mc.betaCap
        case let m as CDAE:
            let mc = m.configuration
            c.activation = mc.latentActivation; c.latent = mc.hiddenDimension; c.learningRate = mc.optimizer.learningRate
            c.lambda = mc.l2; c.dropout = mc.corruption
        case let m as AutoRec:
            let mc = m.configuration
            c.activation = mc.latentActivation; c.latent = mc.hiddenDimension; c.learningRate = mc.optimizer.learningRate
            c.lambda = mc.lambda
        case let m as EASE:
            c.lambda = m.configuration.lambda
            if m.configuration.precision != .float32 { c.easePrecision = m.configuration.precision }
        default: break
        }
        return c
    }
}

extension SplitProtocol {
    /// Parses a protocol name (case-insensitive), with the valid names and a did-you-mean on failure.
    public init(name: String) throws {
        let s = name.lowercased()
        if let p = SplitProtocol(rawValue: s) { self = p; return }
        let aliases: [String: SplitProtocol] = ["leave-one-out": .loo, "leaveoneout": .loo, "weak": .ratio]
        if let p = aliases[s] { self = p; return }
        let valid = SplitProtocol.allCases.map(\.rawValue)
        let hint = didYouMean(s, among: valid).map { " (did you mean '\($0)'?)" } ?? ""
        throw AERecError.invalidArgument("unknown protocol '\(name)'\(hint); valid: \(valid.joined(separator: ", "))")
    }
}

/// The key a decoding error is about (the first key of its coding path).
private func decodingKey(_ e: DecodingError) -> String? {
    let path: [any CodingKey]
    switch e {
    case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): path = c.codingPath
    case .keyNotFound(let k, let c): path = c.codingPath + [k]
    @unknown default: return nil
    }
    return path.first?.stringValue
}

/// A one-line description of a decoding error.
private func decodingMessage(_ e: DecodingError) -> String {
    switch e {
    case .typeMismatch(let t, _): return "expected \(typeName(t))"
    case .valueNotFound(let t, _): return "expected \(typeName(t)), got null"
    case .keyNotFound(let k, _): return "missing key '\(k.stringValue)'"
    case .dataCorrupted(let c):
        var m = c.debugDescription
        if let u = c.underlyingError { m += " \(u)" }
        return m.split(separator: "\n").joined(separator: " ")
    @unknown default: return "\(e)"
    }
}

private func typeName(_ t: Any.Type) -> String {
    switch t {
    case is Bool.Type: return "true or false"
    case is String.Type: return "a string"
    case is Float.Type, is Double.Type: return "a number"
    case is Int.Type, is UInt64.Type, is Int64.Type: return "an integer"
    default: return "a value of type \(t)"
    }
}

/// Any JSON value (integers kept exact), for configuration files and for output that extends a
/// typed result with extra keys.
public enum JSONValue: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case unsigned(UInt64)
    case signed(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let u = try? c.decode(UInt64.self) { self = .unsigned(u); return }
        if let i = try? c.decode(Int64.self) { self = .signed(i); return }
        if let d = try? c.decode(Double.self) { self = .number(d); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([JSONValue].self) { self = .array(a); return }
        self = .object(try c.decode([String: JSONValue].self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .unsigned(let u): try c.encode(u)
        case .signed(let i): try c.encode(i)
        case .number(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

extension JSONValue {
    /// The JSON value of any Encodable (through JSONEncoder).
    public init<T: Encodable>(encoding value: T) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
    }

    /// Parses JSON text.
    public init(decodingJSON text: String) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    /// One-line JSON text with sorted keys.
    public func jsonText() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(self), as: UTF8.self)
    }
}
