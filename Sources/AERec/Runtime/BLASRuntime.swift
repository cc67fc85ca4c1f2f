import AERecKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// SIMD features of the CPU this process runs on.
public struct CPUFeatures: Sendable, Equatable, CustomStringConvertible {
    public var sse4_2 = false, avx = false, avx2 = false, fma = false
    public var avx512f = false, avx512dq = false, avx512bw = false, avx512vl = false, avx512bf16 = false

    public init() {}

    /// The features of the running CPU (including OS support for the wide registers).
    public static var current: CPUFeatures { CPUFeatures(aek_cpu_detect()) }

    init(_ c: aek_cpu_features) {
        sse4_2 = c.sse4_2 != 0; avx = c.avx != 0; avx2 = c.avx2 != 0; fma = c.fma != 0
        avx512f = c.avx512f != 0; avx512dq = c.avx512dq != 0; avx512bw = c.avx512bw != 0
        avx512vl = c.avx512vl != 0; avx512bf16 = c.avx512_bf16 != 0
    }

    var raw: aek_cpu_features {
        func b(_ x: Bool) -> Int32 { x ? 1 : 0 }
        return aek_cpu_features(sse4_2: b(sse4_2), avx: b(avx), avx2: b(avx2), fma: b(fma), avx512f: b(avx512f),
                                avx512dq: b(avx512dq), avx512bw: b(avx512bw), avx512vl: b(avx512vl),
                                avx512_bf16: b(avx512bf16))
    }

    /// The best SIMD level: "avx512", "avx2", "avx", "sse4.2" or "baseline".
    public var simdLevel: String { String(cString: aek_cpu_simd_level(raw)) }

    public var description: String { simdLevel }
}

/// What AERec knows about the BLAS library it runs on.
///
/// Debian 12's OpenBLAS 0.3.21 does not recognise recent CPUs and falls back to its slowest core
/// ("Prescott": SGEMM ≈ 25 GFLOP/s instead of ≈ 130 on an AVX-512 machine). The core can only be
/// chosen through the `OPENBLAS_CORETYPE` environment variable *before* OpenBLAS loads, so a
/// running process cannot fix itself in place: ``BLAS/relaunchOnFastCoreIfNeeded()`` re-executes
/// the program with the variable set (the `aerec` CLI does this), and the Python package sets it
/// before loading the library.
public struct BLASStatus: Sendable, Equatable {
    /// The OpenBLAS core in use, e.g. "SkylakeX" or "Prescott".
    public let core: String
    /// OpenBLAS's build configuration string.
    public let config: String
    /// OpenBLAS's thread count.
    public let threads: Int
    /// The CPU's SIMD features.
    public let cpu: CPUFeatures
    /// `OPENBLAS_CORETYPE` as found in this process's environment, if set.
    public let coreTypeOverride: String?

    /// True when ``core`` is a fallback that does not use what the CPU offers.
    public var isFallbackCore: Bool { BLAS.isFallback(core: core, cpu: cpu) }
    /// The `OPENBLAS_CORETYPE` value that would put OpenBLAS on a core matching the CPU, or nil.
    public var recommendedCoreType: String? { BLAS.recommendedCoreType(core: core, cpu: cpu) }

    /// A one-paragraph warning with the fix, or nil when the core is fine.
    public var warning: String? {
        guard let rec = recommendedCoreType else { return nil }
        return "OpenBLAS runs on its generic '\(core)' core, which ignores this CPU's \(cpu.simdLevel) units "
            + "(dense products run several times slower). Set OPENBLAS_CORETYPE=\(rec) in the environment "
            + "before the program starts (the aerec CLI and the Python package do this automatically)."
    }
}

/// Access to the BLAS runtime and the OpenBLAS core-selection fix.
public enum BLAS {
    /// The environment variable that marks a process as already re-executed (prevents loops).
    public static let relaunchMarker = "AEREC_BLAS_RELAUNCHED"

    /// The current status of the BLAS library.
    public static var status: BLASStatus {
        let env = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
        return BLASStatus(core: String(cString: aek_blas_corename()), config: String(cString: aek_blas_config()),
                          threads: Int(aek_blas_get_num_threads()), cpu: .current, coreTypeOverride: env)
    }

    /// Sets OpenBLAS's thread count (values below 1 mean 1).
    public static func setThreads(_ n: Int) { aek_blas_set_num_threads(Int32(clamping: max(1, n))) }

    /// Pure decision: is `core` a fallback for a CPU with `cpu`'s features?
    public static func isFallback(core: String, cpu: CPUFeatures) -> Bool {
        aek_blas_core_is_fallback(core, cpu.raw) != 0
    }

    /// Pure decision: the `OPENBLAS_CORETYPE` to use for `cpu` when running on `core`, or nil.
    public static func recommendedCoreType(core: String, cpu: CPUFeatures) -> String? {
        aek_blas_recommended_coretype(core, cpu.raw).map { String(cString: $0) }
    }

    /// The environment change an executable needs before start-up, or nil when none is needed.
    ///
    /// Nil when the core already fits, when the user set `OPENBLAS_CORETYPE` themselves (their choice
    /// wins), or when this process is itself a relaunch.
    public static func relaunchEnvironment(status: BLASStatus = BLAS.status,
                                           environment: [String: String]) -> (key: String, value: String)? {
        if environment["OPENBLAS_CORETYPE"] != nil || environment[relaunchMarker] != nil { return nil }
        guard let rec = status.recommendedCoreType else { return nil }
        return ("OPENBLAS_CORETYPE", rec)
    }

    /// For executables: if OpenBLAS loaded on a fallback core, re-executes this program (same
    /// arguments) with `OPENBLAS_CORETYPE` set, so the new process loads the fast core. Returns
    /// normally when no relaunch is needed or the relaunch is impossible (then ``BLASStatus/warning``
    /// tells what to do). Call it first thing in `main`, before any work or threads.
    public static func relaunchOnFastCoreIfNeeded() {
        #if os(Linux)
        var env: [String: String] = [:]
        if let v = getenv("OPENBLAS_CORETYPE") { env["OPENBLAS_CORETYPE"] = String(cString: v) }
        if let v = getenv(relaunchMarker) { env[relaunchMarker] = String(cString: v) }
        guard let change = relaunchEnvironment(environment: env) else { return }
        setenv(change.key, change.value, 1)
        setenv(relaunchMarker, "1", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv only returns on failure: carry on (slowly) in this process.
        unsetenv(change.key)
        #endif
    }
}
