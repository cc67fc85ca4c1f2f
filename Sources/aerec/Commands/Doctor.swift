import AERec
import ArgumentParser

/// `aerec doctor`: the BLAS library and core in use, the CPU's SIMD level, and the fix for a slow core.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the BLAS core, thread count and CPU SIMD level; warn when BLAS runs on a slow core.",
        discussion: """
            Debian's OpenBLAS 0.3.21 does not recognise recent CPUs and falls back to a generic core \
            that is several times slower. aerec fixes this for itself by re-executing with \
            OPENBLAS_CORETYPE set; doctor shows what is in effect.

            Examples:
              aerec doctor
              aerec doctor --json
              aerec doctor --quiet; echo $?          # exit status only
              eval "$(aerec doctor --export)"   # give other programs the same fix
            """
    )

    @Flag(help: "Print a shell line `export OPENBLAS_CORETYPE=…` (nothing when no override is needed).")
    var export = false
    @OptionGroup var output: OutputOptions

    func run() throws {
        let s = BLAS.status
        let coreType = s.coreTypeOverride ?? s.recommendedCoreType
        if export {
            if let c = coreType { print("export OPENBLAS_CORETYPE=\(c)") }
            return
        }
        if output.json {
            if !output.quiet { printHuman(s) }
            var fields: [(String, String)] = [
                ("blas_core", jsonString(s.core)), ("blas_config", jsonString(s.config)),
                ("blas_threads", String(s.threads)), ("cpu_simd", jsonString(s.cpu.simdLevel)),
                ("fallback_core", s.isFallbackCore ? "true" : "false"),
            ]
            fields.append(("openblas_coretype", s.coreTypeOverride.map(jsonString) ?? "null"))
            fields.append(("recommended_coretype", s.recommendedCoreType.map(jsonString) ?? "null"))
            fields.append(("aerec_version", jsonString(AERecVersion.string)))
            fields.append(("builtin_dataset", (try? BuiltinDataset.locate()).map(jsonString) ?? "null"))
            print("{" + fields.map { "\(jsonString($0.0)): \($0.1)" }.joined(separator: ", ") + "}")
            return
        }
        if !output.quiet { printHuman(s) }
    }

    func printHuman(_ s: BLASStatus) {
        print("AERec \(AERecVersion.string)")
        print("BLAS library      OpenBLAS (\(s.config))")
        print("BLAS core         \(s.core)\(s.isFallbackCore ? "  (generic fallback!)" : "")")
        print("BLAS threads      \(s.threads)")
        print("CPU SIMD level    \(s.cpu.simdLevel)")
        print("OPENBLAS_CORETYPE \(s.coreTypeOverride ?? "(unset)")")
        print("built-in data     \((try? BuiltinDataset.locate()) ?? "not found (set \(BuiltinDataset.environmentVariable))")")
        if let w = s.warning { print("\nwarning: \(w)") } else { print("\nBLAS core fits this CPU.") }
    }
}
