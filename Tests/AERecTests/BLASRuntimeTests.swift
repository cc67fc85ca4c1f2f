import Testing
@testable import AERec

@Suite("OpenBLAS core detection")
struct BLASRuntimeTests {
    static func cpu(_ tier: Int) -> CPUFeatures {
        var c = CPUFeatures()
        if tier >= 1 { c.sse4_2 = true }
        if tier >= 2 { c.avx = true }
        if tier >= 3 { c.avx2 = true; c.fma = true }
        if tier >= 4 { c.avx512f = true; c.avx512dq = true; c.avx512bw = true; c.avx512vl = true }
        return c
    }

    @Test("generic cores on an AVX-512 CPU are fallbacks and get SkylakeX")
    func fallbackOnAVX512() {
        for core in ["Prescott", "prescott", "Core2", "Nehalem", "Sandybridge", "Haswell", "Zen", "Katmai"] {
            #expect(BLAS.isFallback(core: core, cpu: Self.cpu(4)), "\(core)")
            #expect(BLAS.recommendedCoreType(core: core, cpu: Self.cpu(4)) == "SkylakeX", "\(core)")
        }
    }

    @Test("matching or better cores are left alone")
    func matchingCores() {
        for core in ["SkylakeX", "Cooperlake", "SapphireRapids"] {
            #expect(!BLAS.isFallback(core: core, cpu: Self.cpu(4)))
            #expect(BLAS.recommendedCoreType(core: core, cpu: Self.cpu(4)) == nil)
        }
        #expect(BLAS.recommendedCoreType(core: "Haswell", cpu: Self.cpu(3)) == nil)
        #expect(BLAS.recommendedCoreType(core: "SkylakeX", cpu: Self.cpu(3)) == nil)
        #expect(BLAS.recommendedCoreType(core: "Sandybridge", cpu: Self.cpu(2)) == nil)
    }

    @Test("each CPU tier gets the core of its tier")
    func tiers() {
        #expect(BLAS.recommendedCoreType(core: "Prescott", cpu: Self.cpu(3)) == "Haswell")
        #expect(BLAS.recommendedCoreType(core: "Prescott", cpu: Self.cpu(2)) == "Sandybridge")
        #expect(BLAS.recommendedCoreType(core: "Prescott", cpu: Self.cpu(1)) == "Nehalem")
        #expect(BLAS.recommendedCoreType(core: "Prescott", cpu: Self.cpu(0)) == nil)
        // AVX-512F alone (no BW/VL, e.g. Knights Landing) is not the SkylakeX tier.
        var knl = Self.cpu(3); knl.avx512f = true
        #expect(BLAS.recommendedCoreType(core: "Prescott", cpu: knl) == "Haswell")
    }

    @Test("unknown core names are trusted (a newer OpenBLAS, another architecture)")
    func unknownCores() {
        for core in ["Zen5", "ARMV8SVE", "", "unknown"] {
            #expect(!BLAS.isFallback(core: core, cpu: Self.cpu(4)))
            #expect(BLAS.recommendedCoreType(core: core, cpu: Self.cpu(4)) == nil)
        }
    }

    @Test("relaunch only when needed, never over the user's own choice, never twice")
    func relaunchDecision() {
        let slow = BLASStatus(core: "Prescott", config: "", threads: 2, cpu: Self.cpu(4), coreTypeOverride: nil)
        let fast = BLASStatus(core: "SkylakeX", config: "", threads: 2, cpu: Self.cpu(4), coreTypeOverride: nil)
        let change = BLAS.relaunchEnvironment(status: slow, environment: [:])
        #expect(change?.key == "OPENBLAS_CORETYPE" && change?.value == "SkylakeX")
        #expect(BLAS.relaunchEnvironment(status: fast, environment: [:]) == nil)
        #expect(BLAS.relaunchEnvironment(status: slow, environment: ["OPENBLAS_CORETYPE": "Haswell"]) == nil)
        #expect(BLAS.relaunchEnvironment(status: slow, environment: [BLAS.relaunchMarker: "1"]) == nil)
        #expect(slow.warning?.contains("OPENBLAS_CORETYPE=SkylakeX") == true)
        #expect(fast.warning == nil)
    }

    @Test("the live status is self-consistent")
    func liveStatus() {
        let s = BLAS.status
        #expect(!s.core.isEmpty)
        #expect(s.threads >= 1)
        #expect(s.isFallbackCore == (s.recommendedCoreType != nil))
        // When the test runner was started with the override (make test does this), it took effect.
        if let forced = s.coreTypeOverride, ["SkylakeX", "Haswell"].contains(forced) {
            #expect(s.core == forced)
        }
    }
}
