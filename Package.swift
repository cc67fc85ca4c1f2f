// swift-tools-version:6.1
import PackageDescription

// AERec: autoencoder recommenders with the latent activation as a typed choice.
//
// Layers (dependencies point down only):
//   aerec (CLI)   AERecCABI (→ libAERecCABI.so / libaerec.so, include/aerec.h)
//            \      /
//             AERec          typed Swift API: data, protocols, models, training, metrics, theory
//               |
//          AERecKernels      C11 kernels on OpenBLAS (sparse×dense, activations, losses, Adam, top-k)
//
// No unsafeFlags anywhere, so the package stays usable as a versioned URL dependency. Build-only
// flags (static stdlib, -z nodelete) live on the Makefile's `swift build` line.
let package = Package(
    name: "AERec",
    products: [
        .library(name: "AERec", targets: ["AERec"]),
        // The C ABI. SwiftPM names the file libAERecCABI.so; `make lib` adds the libaerec.so link
        // that include/aerec.h documents (a product cannot share the executable's name "aerec").
        .library(name: "AERecCABI", type: .dynamic, targets: ["AERecCABI"]),
        .executable(name: "aerec", targets: ["aerec"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
    ],
    targets: [
        .target(
            name: "AERecKernels",
            path: "CSources/AERecKernels",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("openblas"), .linkedLibrary("z"), .linkedLibrary("m"), .linkedLibrary("pthread")]
        ),
        .target(name: "AERec", dependencies: ["AERecKernels"]),
        .target(name: "AERecCABI", dependencies: ["AERec", "AERecKernels"]),
        .executableTarget(
            name: "aerec",
            dependencies: ["AERec", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // libFuzzer harness for the data readers and the model-file loader (`make fuzz`; built with
        // --sanitize=fuzzer there, a corpus replay tool in ordinary builds). Not a product.
        .executableTarget(name: "AERecFuzz", dependencies: ["AERec", "AERecKernels"], path: "Tests/Fuzz/Harness"),
        .testTarget(name: "AERecKernelsTests", dependencies: ["AERecKernels"]),
        .testTarget(name: "AERecTests", dependencies: ["AERec"]),
        // End-to-end tests of the built `aerec` binary (run as a subprocess; see CLIHarness.swift).
        .testTarget(name: "AERecCLITests"),
    ],
    cLanguageStandard: .c11
)
