import Foundation
import Testing

/// Bad input: each case ends with one "aerec: error:" line naming what is wrong, the right exit
/// code (2 usage, 3 bad data), and no stack trace.
@Suite("aerec CLI errors", .serialized)
struct CLIErrorTests {
    let dir: String
    let data: String

    init() throws {
        dir = try CLI.tempDirectory("errors")
        data = try CLI.smallDataset(in: dir)
    }

    func train(_ extra: [String], data: String? = nil) throws -> CLI.Result {
        try CLI.run(["train", "--data", data ?? self.data, "--epochs", "1", "--latent", "8", "--heldout-users", "10"] + extra)
    }

    @Test("missing data file → 3, names the file")
    func missingFile() throws {
        let r = try train(["--model", "mult-dae"], data: dir + "/nope.tsv")
        expectFailure(r, status: 3, contains: [dir + "/nope.tsv"])
    }

    @Test("unreadable gzip → 3, names the file")
    func badGzip() throws {
        var bytes: [UInt8] = [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03]
        bytes += Array(repeating: 0xAB, count: 64)
        let path = dir + "/broken.tsv.gz"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        expectFailure(try train([], data: path), status: 3, contains: [path])
    }

    @Test("empty dataset → 3")
    func emptyFile() throws {
        let path = try CLI.write("", to: dir, name: "empty.tsv")
        expectFailure(try train([], data: path), status: 3, contains: ["empty"])
        let headerOnly = try CLI.write("user\titem\trating\ttimestamp\n", to: dir, name: "header.tsv")
        expectFailure(try train([], data: headerOnly), status: 3, contains: [headerOnly])
    }

    @Test("a non-numeric value names file, line and field → 3")
    func badValue() throws {
        let path = try CLI.write("user\titem\trating\ttimestamp\nu1\ti1\t4\t1\nu1\ti2\tfive\t2\n", to: dir, name: "bad.tsv")
        expectFailure(try train([], data: path), status: 3, contains: [path + ":3", "value"])
    }

    @Test("a wrong column count names file, line and field → 3")
    func badColumns() throws {
        let path = try CLI.write("user\titem\trating\ttimestamp\nu1\ti1\t4\t1\nu2\ti2\n", to: dir, name: "cols.tsv")
        expectFailure(try train([], data: path), status: 3, contains: [path + ":3"])
    }

    @Test("unknown model → 2 with the valid names and a did-you-mean")
    func unknownModel() throws {
        expectFailure(try train(["--model", "mult-dea"]), status: 2,
                      contains: ["unknown model 'mult-dea'", "did you mean 'mult-dae'", "valid:", "ease"])
    }

    @Test("unknown activation → 2 with the valid names and a did-you-mean")
    func unknownActivation() throws {
        expectFailure(try train(["--model", "mult-dae", "--activation", "tahn"]), status: 2,
                      contains: ["unknown activation 'tahn'", "did you mean 'tanh'", "valid:", "sigmoid"])
        expectFailure(try CLI.run(["demo", "--activations", "sigmoid,sigmod"]), status: 2, contains: ["did you mean 'sigmoid'"])
    }

    @Test("unknown protocol → 2 with a did-you-mean")
    func unknownProtocol() throws {
        expectFailure(try train(["--split", "strnog"]), status: 2, contains: ["unknown protocol 'strnog'", "did you mean 'strong'"])
    }

    @Test("bad flag values and ArgumentParser's own usage errors → 2, one line")
    func badFlags() throws {
        expectFailure(try train(["--epochs", "abc"]), status: 2, contains: ["abc", "--epochs", "aerec train --help"])
        expectFailure(try train(["--lr", "-0.5"]), status: 2, contains: ["--lr"])
        expectFailure(try train(["--dropout", "1.5"]), status: 2, contains: ["--dropout"])
        expectFailure(try train(["--threads", "0"]), status: 2, contains: ["--threads"])
        expectFailure(try train(["--bogus"]), status: 2, contains: ["--bogus"])
        expectFailure(try CLI.run(["split", "--data", data]), status: 2, contains: ["--out"])
        expectFailure(try CLI.run(["train", "--model", "ease"]), status: 2, contains: ["no data"])
        expectFailure(try CLI.run(["frobnicate"]), status: 2, contains: ["frobnicate"])
        expectFailure(try CLI.run(["recommend", dir + "/x.aerec"]), status: 2, contains: ["--user"])
        expectFailure(try CLI.run(["select-activation", "--data", data, "--model", "ease"]), status: 2,
                      contains: ["autoencoder", "ease"])
        expectFailure(try CLI.run(["select-activation", "--data", data, "--lr", "fast"]), status: 2, contains: ["--lr", "fast"])
    }

    @Test("filters that leave nothing → 3")
    func filteredAway() throws {
        expectFailure(try train(["--model", "ease", "--threshold", "9"]), status: 3, contains: [])
    }

    @Test("corrupt and missing model files → 3, naming the file")
    func badModelFile() throws {
        let garbage = try CLI.write(String(repeating: "not a model file\n", count: 20), to: dir, name: "garbage.aerec")
        expectFailure(try CLI.run(["info", garbage]), status: 3, contains: [garbage])
        expectFailure(try CLI.run(["evaluate", garbage, "--data", data]), status: 3, contains: [garbage])
        expectFailure(try CLI.run(["info", dir + "/missing.aerec"]), status: 3, contains: [dir + "/missing.aerec"])
    }

    @Test("recommend for an unknown user → 3")
    func unknownUser() throws {
        let out = dir + "/pop"
        let t = try train(["--model", "pop", "--out", out, "--quiet"])
        #expect(t.status == 0, "\(t.stderr)")
        expectFailure(try CLI.run(["recommend", out + "/model.aerec", "--user", "nobody"]), status: 3,
                      contains: ["user 'nobody'", data])
        expectFailure(try CLI.run(["recommend", out + "/model.aerec", "--user", "u1", "-k", "0"]), status: 2, contains: ["-k"])
        // the popularity model has no encoder to probe
        expectFailure(try CLI.run(["probe", out + "/model.aerec"]), status: 2, contains: ["pop", "no encoder"])
    }

    @Test("bad configuration files → 3 naming file, line and key")
    func badConfig() throws {
        let unknown = try CLI.write("{\n  \"model\": \"ease\",\n  \"learningrate\": 0.1\n}\n", to: dir, name: "unknown.json")
        expectFailure(try CLI.run(["train", "--config", unknown, "--data", data]), status: 3,
                      contains: [unknown + ":3", "learningrate", "did you mean 'learningRate'"])
        let wrongType = try CLI.write("{\"epochs\": \"ten\"}", to: dir, name: "type.json")
        expectFailure(try CLI.run(["train", "--config", wrongType, "--data", data]), status: 3,
                      contains: [wrongType, "epochs", "integer"])
        let badModel = try CLI.write("{\"model\": \"easy\"}", to: dir, name: "model.json")
        expectFailure(try CLI.run(["train", "--config", badModel, "--data", data]), status: 3,
                      contains: [badModel, "did you mean 'ease'"])
        let notJSON = try CLI.write("model = ease\n", to: dir, name: "toml.json")
        expectFailure(try CLI.run(["train", "--config", notJSON, "--data", data]), status: 3,
                      contains: [notJSON, "not valid JSON"])
        expectFailure(try CLI.run(["train", "--config", dir + "/none.json"]), status: 3, contains: [dir + "/none.json"])
    }
}
