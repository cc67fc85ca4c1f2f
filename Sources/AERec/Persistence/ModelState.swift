#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything a model file holds: what the model is, how it was configured, its id spaces and its
/// weights, plus free-form training information.
///
/// A model turns itself into a state with ``PersistableModel/modelState()`` and is rebuilt with
/// ``PersistableModel/restore(from:)``; ``ModelFile`` writes and reads states. The state is plain
/// data: it does not know the models, and every model uses the same container.
///
/// Equality compares every field bit for bit (tensor values by their bit patterns, so NaN payloads
/// and −0 count) except ``source``, which only says where the state came from.
public struct ModelState: Sendable, Equatable {
    /// The model.
    public var kind: ModelKind
    /// The model file format version the state was read from (``ModelFile/formatVersion`` for a
    /// state built in memory). ``ModelFile/write(_:to:)`` always writes the current version.
    public var formatVersion: Int
    /// The model's configuration/hyper-parameters as JSON with sorted keys (see
    /// ``encodeConfiguration(_:)`` and ``decodeConfiguration(_:)``).
    public var configuration: String
    /// The name of the latent activation (``Activation/name``) for autoencoders, nil otherwise.
    public var latentActivationName: String?
    /// The item space: external item id of each item index.
    public var itemIDs: IDMap
    /// The user space, for models with per-user parameters (CDAE, AutoRec-U); nil otherwise.
    public var userIDs: IDMap?
    /// The weights, in the order the model wrote them. Names are unique.
    public var tensors: [Tensor]
    /// Training information (see ``MetadataKey``): seed, epochs, best epoch, AERec version, data path...
    public var metadata: [String: String]
    /// Where the state came from (the file path for a state read from disk), used in error
    /// messages. Not part of equality and not written.
    public var source: String

    /// Conventional ``metadata`` keys. Any other key is allowed.
    public enum MetadataKey {
        public static let aerecVersion = "aerec_version"
        public static let seed = "seed"
        public static let epochs = "epochs"
        public static let bestEpoch = "best_epoch"
        public static let dataPath = "data_path"
        public static let split = "split"
        public static let created = "created"
        public static let validationMetric = "validation_metric"
    }

    /// A state. `metadata` starts with the AERec version unless the caller passes its own.
    public init(kind: ModelKind, configuration: String = "{}", latentActivation: Activation? = nil,
                itemIDs: IDMap, userIDs: IDMap? = nil, tensors: [Tensor] = [],
                metadata: [String: String] = [MetadataKey.aerecVersion: AERecVersion.string]) {
        self.kind = kind
        self.formatVersion = Int(ModelFile.formatVersion)
        self.configuration = configuration
        self.latentActivationName = latentActivation?.name
        self.itemIDs = itemIDs
        self.userIDs = userIDs
        self.tensors = tensors
        self.metadata = metadata
        self.source = "<model state>"
    }

    public static func == (a: ModelState, b: ModelState) -> Bool {
        a.kind == b.kind && a.formatVersion == b.formatVersion && a.configuration == b.configuration
            && a.latentActivationName == b.latentActivationName && a.itemIDs == b.itemIDs && a.userIDs == b.userIDs
            && a.tensors == b.tensors && a.metadata == b.metadata
    }

    // MARK: Errors

    /// A `modelFile` error about this state (naming ``source``).
    func error(_ message: String) -> AERecError { .modelFile(path: source, message: message) }

    /// Throws unless the state holds a model of `expected` kind.
    public func requireKind(_ expected: ModelKind) throws {
        guard kind == expected else {
            throw error("holds a \(kind.rawValue) model, expected \(expected.rawValue)")
        }
    }

    // MARK: Latent activation

    /// The parsed latent activation, nil when none is stored. Throws a `modelFile` error on a name
    /// this AERec does not know.
    public func latentActivation() throws -> Activation? {
        guard let name = latentActivationName else { return nil }
        do { return try Activation(name: name) } catch let e as AERecError {
            if case .invalidArgument(let m) = e { throw error("latent activation: \(m)") }
            throw e
        }
    }

    /// The parsed latent activation; throws when the state has none (autoencoders must have one).
    public func requireLatentActivation() throws -> Activation {
        guard let a = try latentActivation() else {
            throw error("\(kind.rawValue) model without a latent activation")
        }
        return a
    }

    // MARK: Configuration

    /// JSON (sorted keys, so equal configurations give equal strings) of a Codable configuration.
    public static func encodeConfiguration<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw AERecError.invalidArgument("cannot encode the configuration \(T.self): \(error)")
        }
    }

    /// Stores `value` as the configuration.
    public mutating func setConfiguration<T: Encodable>(_ value: T) throws {
        configuration = try Self.encodeConfiguration(value)
    }

    /// The configuration decoded as `T`; a `modelFile` error saying which key is missing or
    /// mistyped when it does not decode.
    public func decodeConfiguration<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(configuration.utf8))
        } catch {
            throw self.error("configuration of this \(kind.rawValue) model does not decode as \(T.self): "
                + Self.describe(error))
        }
    }

    /// One line for a DecodingError.
    static func describe(_ error: any Error) -> String {
        func path(_ c: [any CodingKey]) -> String {
            c.isEmpty ? "top level" : "'" + c.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
                .joined(separator: ".") + "'"
        }
        guard let e = error as? DecodingError else { return "\(error)" }
        switch e {
        case .keyNotFound(let key, let c):
            return "missing key '\(key.stringValue)' at \(path(c.codingPath))"
        case .typeMismatch(let t, let c):
            return "wrong type at \(path(c.codingPath)) (expected \(t)): \(c.debugDescription)"
        case .valueNotFound(let t, let c):
            return "null value at \(path(c.codingPath)) (expected \(t))"
        case .dataCorrupted(let c):
            return "invalid JSON at \(path(c.codingPath)): \(c.debugDescription)"
        @unknown default:
            return "\(e)"
        }
    }

    // MARK: Tensors

    /// The names of the tensors, in order.
    public var tensorNames: [String] { tensors.map(\.name) }

    /// The tensor called `name`, or nil.
    public func tensorIfPresent(named name: String) -> Tensor? { tensors.first { $0.name == name } }

    /// The tensor called `name`; a `modelFile` error naming it (and the tensors present) when missing.
    public func tensor(named name: String) throws -> Tensor {
        guard let t = tensorIfPresent(named: name) else {
            let present = tensors.isEmpty ? "none" : tensorNames.map { "'\($0)'" }.joined(separator: ", ")
            throw error("\(kind.rawValue) model: missing tensor '\(name)' (present: \(present))")
        }
        return t
    }

    /// The tensor called `name`, which must have exactly `shape`.
    public func tensor(named name: String, shape: [Int]) throws -> Tensor {
        let t = try tensor(named: name)
        guard t.shape == shape else {
            throw error("\(kind.rawValue) model: tensor '\(name)' has shape \(t.shape), expected \(shape)")
        }
        return t
    }

    /// The values of the tensor called `name`, which must have exactly `shape`.
    public func tensorData(named name: String, shape: [Int]) throws -> [Float] {
        try tensor(named: name, shape: shape).data
    }

    /// Appends a tensor; throws when the name is taken.
    public mutating func append(_ tensor: Tensor) throws {
        if tensorIfPresent(named: tensor.name) != nil {
            throw AERecError.invalidArgument("model state already has a tensor named '\(tensor.name)'")
        }
        tensors.append(tensor)
    }

    /// Appends a tensor built from its parts (validated).
    public mutating func appendTensor(name: String, shape: [Int], data: [Float]) throws {
        try append(Tensor(name: name, shape: shape, data: data))
    }

    /// Checks everything a model file needs: unique tensor names, a known latent activation.
    /// ``ModelFile/write(_:to:)`` calls it before touching the disk.
    public func validate() throws {
        var seen = Set<String>()
        for t in tensors where !seen.insert(t.name).inserted {
            throw AERecError.invalidArgument("model state has two tensors named '\(t.name)'")
        }
        if let name = latentActivationName {
            _ = try Activation(name: name)
        }
    }

    /// Total number of stored parameters.
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.count } }

    // MARK: Tensor

    /// A named float32 array with a shape (row-major; `[]` is a scalar of one value).
    public struct Tensor: Sendable, Equatable, CustomStringConvertible {
        /// Longest tensor name, in UTF-8 bytes.
        public static let maxNameBytes = 1024
        /// Largest rank.
        public static let maxRank = 8

        public let name: String
        public let shape: [Int]
        public let data: [Float]

        /// A tensor; throws when the name is empty or too long, the rank is above ``maxRank``, a
        /// dimension is negative, or the shape's element count differs from `data.count`.
        public init(name: String, shape: [Int], data: [Float]) throws {
            try Self.validate(name: name, shape: shape, count: data.count)
            self.name = name
            self.shape = shape
            self.data = data
        }

        /// For the reader, which has validated the parts already.
        init(validatedName name: String, shape: [Int], data: [Float]) {
            self.name = name
            self.shape = shape
            self.data = data
        }

        /// Number of values.
        public var count: Int { data.count }

        public var description: String { "\(name) \(shape)" }

        /// The number of elements of `shape`, or nil when a dimension is negative or the product overflows.
        public static func elementCount(of shape: [Int]) -> Int? {
            var n = 1
            for d in shape {
                guard d >= 0 else { return nil }
                let (p, overflow) = n.multipliedReportingOverflow(by: d)
                if overflow { return nil }
                n = p
            }
            return n
        }

        static func validate(name: String, shape: [Int], count: Int) throws {
            if name.isEmpty { throw AERecError.invalidArgument("tensor with an empty name") }
            if name.utf8.count > maxNameBytes {
                throw AERecError.invalidArgument("tensor name longer than \(maxNameBytes) bytes: '\(name.prefix(40))...'")
            }
            if shape.count > maxRank {
                throw AERecError.invalidArgument("tensor '\(name)': rank \(shape.count) above the maximum \(maxRank)")
            }
            guard let n = elementCount(of: shape) else {
                throw AERecError.invalidArgument("tensor '\(name)': invalid shape \(shape)")
            }
            guard n == count else {
                throw AERecError.invalidArgument("tensor '\(name)': shape \(shape) holds \(n) values but data has \(count)")
            }
        }

        /// Bitwise equality of the values (NaN == NaN with the same payload, −0 ≠ +0).
        public static func == (a: Tensor, b: Tensor) -> Bool {
            a.name == b.name && a.shape == b.shape
                && a.data.withUnsafeBytes { x in b.data.withUnsafeBytes { y in x.elementsEqual(y) } }
        }
    }
}

/// A model that can be saved to and restored from a ``ModelFile``.
public protocol PersistableModel: Recommender {
    /// Everything needed to rebuild the model (a copy: later training does not change it).
    func modelState() throws -> ModelState
    /// The model described by `state`. Implementations check the kind (``ModelState/requireKind(_:)``),
    /// decode their configuration and look their tensors up by name and exact shape.
    static func restore(from state: ModelState) throws -> Self
}

extension PersistableModel {
    /// Writes the model to `path` atomically, with `metadata` added to (and overriding) the state's.
    public func save(to path: String, metadata: [String: String] = [:]) throws {
        var state = try modelState()
        state.metadata.merge(metadata) { _, new in new }
        try ModelFile.write(state, to: path)
    }

    /// The model stored at `path`.
    public static func load(from path: String) throws -> Self {
        try restore(from: ModelFile.read(path: path))
    }
}
