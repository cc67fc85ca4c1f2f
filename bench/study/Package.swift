// swift-tools-version:6.1
import PackageDescription

// The activation study (issue 4): `make study` builds this driver in release mode and runs it.
// It depends on the AERec package two levels up (the library only; no CLI).
let package = Package(
    name: "AERecStudy",
    dependencies: [.package(name: "AERec", path: "../..")],
    targets: [
        .executableTarget(name: "study", dependencies: [.product(name: "AERec", package: "AERec")]),
    ]
)
