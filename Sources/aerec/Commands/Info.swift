import AERec
import ArgumentParser

/// `aerec info`: what a model file holds, from its header (weights are not read unless --verify).
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a model file holds: kind, activation, sizes, hyperparameters, tensors, metadata.",
        discussion: """
            Reads only the file's header and tensor directory (checked against their CRCs), so it \
            is instant even for large EASE models. --verify reads the whole file and checks every \
            checksum, the id maps and the weights' shapes.

            Examples:
              aerec info runs/dae/model.aerec
              aerec info runs/dae/model.aerec --verify
              aerec info runs/dae/model.aerec --json --quiet | python3 -m json.tool
            """
    )

    @Argument(help: ArgumentHelp("The model file (model.aerec).", valueName: "model-file")) var modelFile: String
    @Flag(help: "Read the whole file and verify every checksum and the weights.") var verify = false
    @OptionGroup var output: OutputOptions

    func run() throws {
        try runReportingErrors {
            let info = try ModelFile.readHeader(path: modelFile)
            var verified = false
            if verify {
                _ = try SavedModel.load(path: modelFile)
                verified = true
            }
            output.say(info.description)
            if verify { output.say("verified      every checksum, id map and tensor shape") }
            if output.json {
                let configuration = (try? JSONValue(decodingJSON: info.configuration)) ?? JSONValue(info.configuration)
                var metadata: [String: JSONValue] = [:]
                for (k, v) in info.metadata { metadata[k] = .string(v) }
                try printJSON(jsonObject([
                    ("path", JSONValue(info.path)), ("file_size", JSONValue(info.fileSize)),
                    ("format_version", JSONValue(info.formatVersion)), ("kind", JSONValue(info.kind.rawValue)),
                    ("activation", info.latentActivationName.map(JSONValue.init)),
                    ("items", JSONValue(info.itemCount)), ("users", info.userCount.map(JSONValue.init)),
                    ("parameters", JSONValue(info.parameterCount)), ("configuration", configuration),
                    ("tensors", .array(info.tensors.map {
                        jsonObject([("name", JSONValue($0.name)), ("shape", .array($0.shape.map(JSONValue.init)))])
                    })),
                    ("metadata", .object(metadata)), ("verified", .bool(verified)),
                ]))
            }
        }
    }
}
