// swift-tools-version:6.1
// A program that uses AERec as a package dependency (here by path; by URL in your own project:
// .package(url: "https://…/AERec.git", from: "0.1.0")).
import PackageDescription

let package = Package(
    name: "SwiftQuickstart",
    dependencies: [.package(name: "AERec", path: "../..")],
    targets: [
        .executableTarget(name: "SwiftQuickstart", dependencies: [.product(name: "AERec", package: "AERec")])
    ]
)
