import Testing
@testable import AERec

@Test func version() { #expect(!AERecVersion.string.isEmpty) }
