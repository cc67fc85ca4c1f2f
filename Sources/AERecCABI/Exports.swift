// Library-wide entry points of include/aerec.h: versions, errors, runtime information.
import AERec

#if canImport(Glibc)
import Glibc
#endif

/// The ABI version of include/aerec.h (AEREC_ABI_VERSION).
let abiVersion: Int32 = 2

private let versionString = StaticCString(stringLiteral: AERecVersion.string)
private let unknownStatus: StaticCString = "unknown status"

@c(aerec_version)
public func aerecVersion() -> UnsafePointer<CChar> { versionString.pointer }

@c(aerec_abi_version)
public func aerecABIVersion() -> Int32 { abiVersion }

@c(aerec_last_error)
public func aerecLastError() -> UnsafePointer<CChar> { lastErrorPointer() }

@c(aerec_status_string)
public func aerecStatusString(_ status: Int32) -> UnsafePointer<CChar> {
    (Status.descriptions[status] ?? unknownStatus).pointer
}

@c(aerec_struct_size)
public func aerecStructSize(_ which: Int32) -> Int64 { Int64(StructSize.of(which)) }

@c(aerec_blas_info_get)
public func aerecBLASInfoGet(_ out: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        let o = try outputStruct(out, size: StructSize.blasInfo, name: "aerec_blas_info", argument: "out")
        let s = BLAS.status
        o.set(8, s.threads)
        o.set(16, s.isFallbackCore)
        o.set(24, s.core, capacity: 32)
        o.set(56, s.recommendedCoreType ?? "", capacity: 32)
        o.set(88, s.cpu.simdLevel, capacity: 16)
        o.set(104, s.coreTypeOverride ?? "", capacity: 32)
        return Status.ok
    }
}
