import AERec
import ArgumentParser

/// The `aerec` command line.
struct AERecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aerec",
        abstract: "Autoencoder recommenders with the latent activation as a typed choice.",
        discussion: """
            Train, evaluate and inspect AutoRec, CDAE, Mult-DAE, Mult-VAE and EASE on CPU.

            Examples:
              aerec doctor
            """,
        version: AERecVersion.string,
        subcommands: [Train.self, SplitCommand.self, Doctor.self]
    )
}
