import AERecKernels

/// A latent (or hidden-layer) activation function: the typed choice at the heart of AERec.
///
/// Names (for the CLI, config files, Python and model files) are the lower-case forms in
/// ``name``; `sigmoid:T` is a sigmoid with temperature T, f(x) = 1 / (1 + e^(−x/T)).
public enum Activation: Sendable, Hashable, CustomStringConvertible {
    case identity
    case sigmoid
    /// Sigmoid of x / temperature (temperature > 0).
    case temperedSigmoid(temperature: Float)
    /// clamp(x/6 + 1/2, 0, 1).
    case hardSigmoid
    /// (x / (1 + |x|) + 1) / 2.
    case softsign01
    /// atan(x) / π + 1/2.
    case atan01
    case tanh
    /// x / (1 + |x|).
    case softsign
    case relu
    /// x ≥ 0 ? x : 0.01 x.
    case leakyReLU
    /// x ≥ 0 ? x : e^x − 1.
    case elu
    case selu
    /// log(1 + e^x).
    case softplus
    /// x · sigmoid(x).
    case swish

    /// Every activation (the tempered sigmoid with T = 2 as its representative).
    public static let all: [Activation] = [
        .identity, .sigmoid, .temperedSigmoid(temperature: 2), .hardSigmoid, .softsign01, .atan01, .tanh, .softsign,
        .relu, .leakyReLU, .elu, .selu, .softplus, .swish,
    ]

    /// The canonical name: "sigmoid", "hard_sigmoid", "softsign01", "atan01", "leaky_relu", "sigmoid:2", ...
    public var name: String {
        switch self {
        case .identity: return "identity"
        case .sigmoid: return "sigmoid"
        case .temperedSigmoid(let t): return "sigmoid:\(formatShort(t))"
        case .hardSigmoid: return "hard_sigmoid"
        case .softsign01: return "softsign01"
        case .atan01: return "atan01"
        case .tanh: return "tanh"
        case .softsign: return "softsign"
        case .relu: return "relu"
        case .leakyReLU: return "leaky_relu"
        case .elu: return "elu"
        case .selu: return "selu"
        case .softplus: return "softplus"
        case .swish: return "swish"
        }
    }

    public var description: String { name }

    /// Base names accepted by ``init(name:)``.
    public static let names: [String] = [
        "identity", "sigmoid", "sigmoid:T", "hard_sigmoid", "softsign01", "atan01", "tanh", "softsign", "relu",
        "leaky_relu", "elu", "selu", "softplus", "swish",
    ]

    /// Parses a name (case-insensitive; "-" and "_" are interchangeable; "linear" = identity,
    /// "silu" = swish, "hardsigmoid" = hard_sigmoid). Throws with the valid names and a
    /// did-you-mean suggestion.
    public init(name raw: String) throws {
        let s = raw.lowercased().replacing("-", with: "_")
        if s.hasPrefix("sigmoid:") {
            let t = Float(s.dropFirst("sigmoid:".count))
            guard let t, t.isFinite, t > 0 else {
                throw AERecError.invalidArgument("activation '\(raw)': temperature must be a positive number")
            }
            self = t == 1 ? .sigmoid : .temperedSigmoid(temperature: t)
            return
        }
        let table: [String: Activation] = [
            "identity": .identity, "linear": .identity, "none": .identity, "sigmoid": .sigmoid,
            "hard_sigmoid": .hardSigmoid, "hardsigmoid": .hardSigmoid, "softsign01": .softsign01, "atan01": .atan01,
            "tanh": .tanh, "softsign": .softsign, "relu": .relu, "leaky_relu": .leakyReLU, "leakyrelu": .leakyReLU,
            "elu": .elu, "selu": .selu, "softplus": .softplus, "swish": .swish, "silu": .swish,
        ]
        if let a = table[s] { self = a; return }
        let hint = didYouMean(s, among: Activation.names).map { " (did you mean '\($0)'?)" } ?? ""
        throw AERecError.invalidArgument(
            "unknown activation '\(raw)'\(hint); valid: \(Activation.names.joined(separator: ", "))")
    }

    /// The kernel descriptor.
    public var kernel: aek_activation {
        func make(_ k: aek_activation_kind, alpha: Float = 0, t: Float = 1) -> aek_activation {
            var a = aek_activation_default(k)
            if alpha != 0 { a.alpha = alpha }
            a.temperature = t
            return a
        }
        switch self {
        case .identity: return make(AEK_ACT_IDENTITY)
        case .sigmoid: return make(AEK_ACT_SIGMOID)
        case .temperedSigmoid(let t): return make(AEK_ACT_SIGMOID, t: t)
        case .hardSigmoid: return make(AEK_ACT_HARD_SIGMOID)
        case .softsign01: return make(AEK_ACT_SOFTSIGN01)
        case .atan01: return make(AEK_ACT_ATAN01)
        case .tanh: return make(AEK_ACT_TANH)
        case .softsign: return make(AEK_ACT_SOFTSIGN)
        case .relu: return make(AEK_ACT_RELU)
        case .leakyReLU: return make(AEK_ACT_LEAKY_RELU)
        case .elu: return make(AEK_ACT_ELU)
        case .selu: return make(AEK_ACT_SELU)
        case .softplus: return make(AEK_ACT_SOFTPLUS)
        case .swish: return make(AEK_ACT_SWISH)
        }
    }

    /// f(x), evaluated by the same code as the fused kernels.
    public func callAsFunction(_ x: Float) -> Float { aek_activation_value(kernel, x) }

    /// f′(x).
    public func derivative(_ x: Float) -> Float { aek_activation_derivative(kernel, x) }
}

/// "2", "0.5", "1.25" (no trailing zeros).
func formatShort(_ x: Float) -> String {
    if x == x.rounded() && abs(x) < 1e7 { return String(Int(x)) }
    return String(x)
}

/// The closest candidate by edit distance, if it is close enough to be a likely typo.
public func didYouMean(_ s: String, among candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count), cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
    let a = Array(s)
    let best = candidates.map { ($0, distance(a, Array($0.lowercased()))) }.min { $0.1 < $1.1 }
    guard let best, best.1 <= max(2, s.count / 3) else { return nil }
    return best.0
}

extension Activation: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        self = try Activation(name: c.decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(name)
    }
}
