import AERec
import ArgumentParser

/// `aerec doctor`: the BLAS library and core in use, the CPU's SIMD level, and the fix for a slow core.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the BLAS core, thread count and CPU SIMD level; warn when BLAS runs on a slow core.",
        discussion: """
            Debian's OpenBLAS 0.3.21 does not recognise recent CPUs and falls back to a generic core
            that is several times slower. aerec fixes this for itself by re-executing with
            OPENBLAS_CORETYPE set; doctor shows what is in effect.

            Examples:
              aerec doctor
              aerec doctor --json
              eval "$(aerec doctor --export)"   # give other programs the same fix
            """
    )

    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Print a shell line `export OPENBLAS_CORETYPE=…` (nothing when no override is needed).")
    var export = false

    func run() throws {
        let s = BLAS.status
        let coreType = s.coreTypeOverride ?? s.recommendedCoreType
        if export {
            if let c = coreType { print("export OPENBLAS_CORETYPE=\(c)") }
            return
        }
        if json {
            var fields: [(String, String)] = [
                ("blas_core", jsonString(s.core)), ("blas_config", jsonString(s.config)),
                ("blas_threads", String(s.threads)), ("cpu_simd", jsonString(s.cpu.simdLevel)),
                ("fallback_core", s.isFallbackCore ? "true" : "false"),
            ]
            fields.append(("openblas_coretype", s.coreTypeOverride.map(jsonString) ?? "null"))
            fields.append(("recommended_coretype", s.recommendedCoreType.map(jsonString) ?? "null"))
            print("{" + fields.map { "\(jsonString($0.0)): \($0.1)" }.joined(separator: ", ") + "}")
            return
        }
        print("AERec \(AERecVersion.string)")
        print("BLAS library      OpenBLAS (\(s.config))")
        print("BLAS core         \(s.core)\(s.isFallbackCore ? "  (generic fallback!)" : "")")
        print("BLAS threads      \(s.threads)")
        print("CPU SIMD level    \(s.cpu.simdLevel)")
        print("OPENBLAS_CORETYPE \(s.coreTypeOverride ?? "(unset)")")
        if let w = s.warning { print("\nwarning: \(w)") } else { print("\nBLAS core fits this CPU.") }
    }
}

/// A JSON string literal with the required escapes.
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { let h = String(u.value, radix: 16); out += "\\u" + String(repeating: "0", count: 4 - h.count) + h } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}
