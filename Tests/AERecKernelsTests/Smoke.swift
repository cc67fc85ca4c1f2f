import Testing
import AERecKernels

@Test func statusStrings() { #expect(aek_status_string(0) != nil) }
