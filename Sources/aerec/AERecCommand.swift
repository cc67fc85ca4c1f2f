import AERec
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// The `aerec` command line.
struct AERecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aerec",
        abstract: "Autoencoder recommenders with the latent activation as a typed choice.",
        discussion: """
            Train, evaluate and inspect AutoRec, CDAE, Mult-DAE, Mult-VAE and EASE on CPU. \
            Every subcommand takes --help, --json (the last line of standard output is one JSON \
            object) and --quiet. Exit status: 0 ok, 1 runtime failure, 2 usage error, 3 bad input data. \
            'builtin' as a data path is the shipped MovieTweetings 10-core dataset.

            Examples:
              aerec demo
              aerec train --data builtin --model mult-dae --activation tanh --out runs/dae
              aerec evaluate runs/dae/model.aerec
              aerec recommend runs/dae/model.aerec --user 42
              aerec info runs/dae/model.aerec
              aerec doctor
            """,
        version: AERecVersion.string,
        subcommands: [Demo.self, Train.self, Evaluate.self, Recommend.self, Probe.self, SelectActivation.self, SplitCommand.self, Info.self, Bench.self,
                      Doctor.self]
    )

    /// Parses and runs, mapping ArgumentParser's usage errors (its exit code 64) to 2 with a
    /// one-line message; help and version exit 0; our own ExitCodes pass through.
    static func runMapped() -> Never {
        do {
            var command = try parseAsRoot()
            try command.run()
            Glibc.exit(0)
        } catch {
            let code = exitCode(for: error)
            if error is ExitCode { Glibc.exit(code.rawValue) }
            if code == .success { self.exit(withError: error) }   // --help, --version
            let message = oneLine(self.message(for: error))
            if code == .validationFailure {
                printErr("aerec: error: \(message)\(helpHint())")
                Glibc.exit(ExitStatus.usage)
            }
            printErr("aerec: error: \(message)")
            Glibc.exit(ExitStatus.runtime)
        }
    }

    /// " (see 'aerec train --help')" for the subcommand on the command line.
    static func helpHint() -> String {
        let names = configuration.subcommands.compactMap { $0.configuration.commandName ?? defaultName($0) }
        let sub = CommandLine.arguments.dropFirst().first { names.contains($0) }
        return " (see 'aerec\(sub.map { " " + $0 } ?? "") --help')"
    }

    static func defaultName(_ t: ParsableCommand.Type) -> String {
        t._commandName
    }
}
