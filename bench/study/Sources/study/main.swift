import AERec
#if canImport(Glibc)
import Glibc
#endif
import Foundation

// The activation study driver.
//
//   study run [--cells ID,ID|all] [--out DIR] [--threads N] [--force]   train, evaluate, probe; one JSON per cell
//                                        (several processes may run at once: they share the cells)
//   study report [--out DIR] [--docs DIR]                                docs/results.md + docs/figures/*.svg
//   study calibrate [--cells ...] [--threads N]                          seconds per epoch of every cell
//   study list                                                           the cells
BLAS.relaunchOnFastCoreIfNeeded()

let command = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "help"
let args = Array(CommandLine.arguments.dropFirst(2))
func option(_ name: String) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}
let flags = Set(args.filter { $0.hasPrefix("--") })
let outDir = option("--out") ?? "results"
let threads = Int(option("--threads") ?? "2") ?? 2
let cells: [Cell] = {
    guard let list = option("--cells"), list != "all" else { return allCells }
    let wanted = list.split(separator: ",").map(String.init)
    return allCells.filter { c in wanted.contains { c.id == $0 || c.dataset.name == $0 || c.model.rawValue == $0 } }
}()
// cells in the run order (most expensive first)
let orderedCells = runOrder.filter { c in cells.contains { $0.id == c.id } }

do {
    switch command {
    case "list":
        for c in allCells { print(c.id) }
    case "calibrate":
        try calibrate(cells, threads: threads)
    case "run":
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        // Several processes may share the queue: a cell is claimed by creating its .lock file
        // exclusively; a finished cell has its .json (skipped unless --force).
        for c in orderedCells {
            let path = "\(outDir)/\(c.id).json"
            if !flags.contains("--force") && FileManager.default.fileExists(atPath: path) {
                log("\(c.id): \(path) exists, skipped (--force reruns)")
                continue
            }
            let lock = "\(outDir)/\(c.id).lock"
            let fd = open(lock, O_CREAT | O_EXCL | O_WRONLY, 0o644)
            if fd < 0 { continue }  // another process has it
            close(fd)
            try runCell(c, threads: threads, outDir: outDir)
            unlink(lock)
        }
    case "report":
        try writeReport(resultsDir: outDir, docsDir: option("--docs") ?? "../../docs")
    default:
        print("usage: study run|report|calibrate|list [--cells ID,...|all] [--out DIR] [--docs DIR] [--threads N] [--force]")
    }
} catch {
    log("error: \(error)")
    exit(1)
}
