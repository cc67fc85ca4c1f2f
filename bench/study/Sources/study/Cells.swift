import AERec

/// Where the staged datasets live (override with AEREC_DATA).
let dataRoot: String = {
    if let p = getenvString("AEREC_DATA") { return p }
    return "/work/shared/data"
}()

/// One dataset of the study and how it is prepared.
struct DatasetSpec: Sendable {
    var name: String
    var file: String
    /// Implicit models: keep value > threshold, then binarise (nil: keep every interaction).
    var threshold: Float?
    var minUser = 5
    var minItem = 0
    /// Keep a seeded random subset of this many users before the count filters (nil: all).
    var subsampleUsers: Int?
    /// Users held out for validation and as many for test (strong generalisation).
    var heldOut: Int
    /// Latent width of Mult-DAE/CDAE and Mult-VAE's (hidden, latent) — kept below the item count (P1).
    var latent = 200
    var vaeHidden = 600
    /// Epochs of every run on this dataset. There is no early stopping (patience = epochs): every run
    /// trains exactly this long and keeps its best validation epoch, so every activation gets the
    /// same compute (sigmoid-like codes start on a popularity-like plateau that a short patience
    /// mistakes for convergence).
    var epochs: Int
    var patience: Int { epochs }
    /// The learning-rate grid (the L2 grid is the library's default per model).
    var learningRates: [Float] = [1e-3, 3e-3, 1e-2]
    /// True when the ratings are explicit: AutoRec (I-AutoRec) runs on the raw ratings.
    var explicit: Bool
    /// What was done to the data, for the report.
    var note: String

    var path: String { "\(dataRoot)/\(name)/\(file)" }
}

/// The study's datasets. Smaller epoch caps on the larger sets keep `make study` under 3 hours on
/// two cores; the report states them.
let datasets: [DatasetSpec] = [
    DatasetSpec(name: "ml-100k", file: "ratings.tsv.gz", threshold: 3.5, heldOut: 100, epochs: 100,
                explicit: true, note: "ratings > 3.5 binarised, users with ≥ 5 (Liang et al. 2018)"),
    DatasetSpec(name: "ml-latest-small", file: "ratings.tsv.gz", threshold: 3.5, heldOut: 60, epochs: 80,
                explicit: true, note: "ratings > 3.5 binarised, users with ≥ 5"),
    DatasetSpec(name: "lastfm-hetrec2011", file: "ratings.tsv.gz", threshold: nil, minItem: 5, heldOut: 150,
                epochs: 60, explicit: false,
                note: "every (user, artist) pair binarised; artists with ≥ 5 listeners, users with ≥ 5 artists"),
    DatasetSpec(name: "jester5k", file: "ratings.tsv.gz", threshold: 5, heldOut: 400, latent: 50, vaeHidden: 100,
                epochs: 50, explicit: true,
                note: "ratings > 5 on the −10…10 scale binarised, users with ≥ 5; latent width 50 (< 100 jokes, so m < n)"),
    DatasetSpec(name: "gowalla-lightgcn", file: "ratings.tsv.gz", threshold: nil, minUser: 10, minItem: 10,
                subsampleUsers: 6000, heldOut: 300, epochs: 40, explicit: false,
                note: "seeded random 6,000 of 29,858 users, then locations with ≥ 10 and users with ≥ 10 check-ins (one pass each)"),
]

/// One cell of the study: a dataset and a model.
struct Cell: Sendable {
    var dataset: DatasetSpec
    var model: ModelKind
    var id: String { "\(dataset.name)__\(model.rawValue)" }
}

/// Mult-DAE, CDAE and Mult-VAE on every dataset; I-AutoRec on the explicit ones.
let allCells: [Cell] = datasets.flatMap { d in
    [ModelKind.multDAE, .cdae, .multVAE].map { Cell(dataset: d, model: $0) }
        + (d.explicit ? [Cell(dataset: d, model: .autoRecI)] : [])
}

/// The order in which `run` takes cells: the most expensive first, so that two processes sharing
/// the queue finish together.
let runOrder: [Cell] = {
    let first = ["gowalla-lightgcn__mult-vae", "lastfm-hetrec2011__mult-vae", "ml-latest-small__mult-vae",
                 "ml-100k__mult-vae", "ml-latest-small__autorec-i", "gowalla-lightgcn__cdae",
                 "gowalla-lightgcn__mult-dae", "jester5k__autorec-i", "ml-latest-small__cdae",
                 "ml-latest-small__mult-dae", "lastfm-hetrec2011__mult-dae", "lastfm-hetrec2011__cdae"]
    let head = first.compactMap { id in allCells.first { $0.id == id } }
    return head + allCells.filter { c in !first.contains(c.id) }
}()

/// The study's common settings.
enum StudySettings {
    static let seeds: [UInt64] = [1, 2, 3, 4, 5]
    static let tuningSeed: UInt64 = 1
    static let splitSeed: UInt64 = 98765
    static let probe = PropertyProbe(samples: 2000, users: 1000, anchors: 200, candidates: 100, neighbours: 10,
                                     itemProbes: 1000, epsilon: 1e-6, seed: 2024, threads: 2)
}

#if canImport(Glibc)
import Glibc
#endif

func getenvString(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    return String(cString: p)
}
