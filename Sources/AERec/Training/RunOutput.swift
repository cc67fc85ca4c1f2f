#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a training run leaves in its output directory (`aerec train --out DIR`), as plain files any
/// tool can read:
///
/// | file | content |
/// | --- | --- |
/// | `config.json` | the resolved ``ExperimentConfiguration`` (loadable again with `--config`) |
/// | `epochs.csv` | one row per epoch: loss, validation metric, best flag, seconds, β |
/// | `training_curve.svg` | loss and validation metric against the epoch (hand-written SVG) |
/// | `result.json` | the ``ExperimentResult`` (test metrics with confidence intervals) |
/// | `model.aerec` | the model file (written by ``Experiment/run(_:saveTo:onEpoch:)``) |
public enum RunOutput {
    public static let configurationFile = "config.json"
    public static let epochsFile = "epochs.csv"
    public static let curveFile = "training_curve.svg"
    public static let resultFile = "result.json"
    public static let modelFile = "model.aerec"

    /// Writes config.json, epochs.csv, training_curve.svg and (when given) result.json into
    /// `directory` (created when missing), each atomically. Returns the paths written.
    @discardableResult
    public static func write(to directory: String, configuration: ExperimentConfiguration, epochs: [EpochReport],
                             validationMetric: Metric = .ndcg(100), result: ExperimentResult? = nil,
                             title: String? = nil) throws -> [String] {
        try createDirectories(directory)
        var written: [String] = []
        func put(_ name: String, _ text: String) throws {
            let p = directory + "/" + name
            try writeFileAtomically(p, text)
            written.append(p)
        }
        try put(configurationFile, try configuration.prettyJSON() + "\n")
        try put(epochsFile, epochCSV(epochs, validationMetric: validationMetric))
        let t = title ?? "\(configuration.model.rawValue)\(configuration.activation.map { " (\($0.name) latent)" } ?? "")"
        try put(curveFile, trainingCurveSVG(epochs, validationMetric: validationMetric, title: t))
        if let result {
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            try put(resultFile, String(decoding: try e.encode(result), as: UTF8.self) + "\n")
        }
        return written
    }

    /// The per-epoch table as CSV with a header:
    /// `epoch,loss,validation_<metric>,best,train_seconds,validation_seconds,beta` (empty cells
    /// where an epoch was not validated or the model has no β).
    public static func epochCSV(_ epochs: [EpochReport], validationMetric: Metric = .ndcg(100)) -> String {
        var out = "epoch,loss,validation_\(validationMetric.name),best,train_seconds,validation_seconds,beta\n"
        for r in epochs {
            let cells = [
                String(r.epoch), numberText(r.loss), r.validation.map(numberText) ?? "", r.isBest ? "1" : "0",
                numberText(r.trainSeconds), numberText(r.validationSeconds), r.beta.map(numberText) ?? "",
            ]
            out += cells.joined(separator: ",") + "\n"
        }
        return out
    }

    /// A self-contained SVG chart of a run: the training loss (top panel) and the validation
    /// metric (bottom panel, best epoch marked) against the epoch. No scripts, no external fonts.
    public static func trainingCurveSVG(_ epochs: [EpochReport], validationMetric: Metric = .ndcg(100),
                                        title: String = "training curve") -> String {
        let width = 720.0, panelHeight = 220.0, top = 44.0, gap = 56.0, left = 74.0, right = 24.0
        let height = top + 2 * panelHeight + gap + 44
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(fmtSVG(width / 2))" y="24" text-anchor="middle" font-size="15" font-weight="bold">\(xmlEscaped(title))</text>

            """
        let xs = epochs.map { Double($0.epoch) }
        let xMin = xs.min() ?? 1, xMax = xs.max() ?? 1
        let loss = epochs.compactMap { r in r.loss.isFinite ? (Double(r.epoch), r.loss) : nil }
        let val = epochs.compactMap { r in r.validation.flatMap { $0.isFinite ? (Double(r.epoch), $0) : nil } }
        let best = epochs.last(where: { $0.isBest && $0.validation != nil })
        svg += panel(points: loss, label: "training loss", colour: "#1f77b4", x0: left, y0: top,
                     w: width - left - right, h: panelHeight, xRange: (xMin, xMax), best: nil)
        svg += panel(points: val, label: "validation \(validationMetric.name)", colour: "#d62728", x0: left,
                     y0: top + panelHeight + gap, w: width - left - right, h: panelHeight, xRange: (xMin, xMax),
                     best: best.flatMap { b in b.validation.map { (Double(b.epoch), $0) } })
        svg += "<text x=\"\(fmtSVG(left + (width - left - right) / 2))\" y=\"\(fmtSVG(height - 10))\" text-anchor=\"middle\">epoch</text>\n"
        svg += "</svg>\n"
        return svg
    }

    // MARK: - SVG pieces

    private static func panel(points: [(Double, Double)], label: String, colour: String, x0: Double, y0: Double,
                              w: Double, h: Double, xRange: (Double, Double), best: (Double, Double)?) -> String {
        var s = "<g>\n"
        s += "<rect x=\"\(fmtSVG(x0))\" y=\"\(fmtSVG(y0))\" width=\"\(fmtSVG(w))\" height=\"\(fmtSVG(h))\" fill=\"none\" stroke=\"#888\"/>\n"
        s += "<text x=\"\(fmtSVG(x0))\" y=\"\(fmtSVG(y0 - 8))\" font-weight=\"bold\" fill=\"\(colour)\">\(xmlEscaped(label))</text>\n"
        guard !points.isEmpty else {
            s += "<text x=\"\(fmtSVG(x0 + w / 2))\" y=\"\(fmtSVG(y0 + h / 2))\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n</g>\n"
            return s
        }
        var (yLo, yHi) = (points.map(\.1).min()!, points.map(\.1).max()!)
        if yHi - yLo < 1e-12 * max(1, abs(yHi)) { yLo -= max(abs(yLo) * 0.05, 1e-3); yHi += max(abs(yHi) * 0.05, 1e-3) }
        let yTicks = niceTicks(yLo, yHi, count: 5)
        yLo = min(yLo, yTicks.first!); yHi = max(yHi, yTicks.last!)
        var (xLo, xHi) = xRange
        if xHi - xLo < 1 { xLo -= 0.5; xHi += 0.5 }
        let xTicks = niceTicks(xLo, xHi, count: 8).filter { $0 >= xLo - 1e-9 && $0 <= xHi + 1e-9 && $0 == $0.rounded() }
        func px(_ x: Double) -> Double { x0 + (x - xLo) / (xHi - xLo) * w }
        func py(_ y: Double) -> Double { y0 + h - (y - yLo) / (yHi - yLo) * h }
        for t in yTicks {
            let y = py(t)
            s += "<line x1=\"\(fmtSVG(x0))\" y1=\"\(fmtSVG(y))\" x2=\"\(fmtSVG(x0 + w))\" y2=\"\(fmtSVG(y))\" stroke=\"#eee\"/>\n"
            s += "<text x=\"\(fmtSVG(x0 - 6))\" y=\"\(fmtSVG(y + 4))\" text-anchor=\"end\">\(tickLabel(t, step: yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1))</text>\n"
        }
        for t in xTicks {
            let x = px(t)
            s += "<line x1=\"\(fmtSVG(x))\" y1=\"\(fmtSVG(y0 + h))\" x2=\"\(fmtSVG(x))\" y2=\"\(fmtSVG(y0 + h + 5))\" stroke=\"#888\"/>\n"
            s += "<text x=\"\(fmtSVG(x))\" y=\"\(fmtSVG(y0 + h + 18))\" text-anchor=\"middle\">\(Int(t))</text>\n"
        }
        if points.count > 1 {
            let pts = points.map { "\(fmtSVG(px($0.0))),\(fmtSVG(py($0.1)))" }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(pts)\"/>\n"
        }
        if points.count <= 30 {
            for p in points {
                s += "<circle cx=\"\(fmtSVG(px(p.0)))\" cy=\"\(fmtSVG(py(p.1)))\" r=\"2.5\" fill=\"\(colour)\"/>\n"
            }
        }
        if let b = best {
            let bx = px(b.0), by = py(b.1)
            s += "<circle cx=\"\(fmtSVG(bx))\" cy=\"\(fmtSVG(by))\" r=\"5\" fill=\"none\" stroke=\"black\" stroke-width=\"1.5\"/>\n"
            let anchor = bx > x0 + w * 0.7 ? "end" : "start"
            let dx = anchor == "end" ? -8.0 : 8.0
            s += "<text x=\"\(fmtSVG(bx + dx))\" y=\"\(fmtSVG(max(y0 + 14, by - 8)))\" text-anchor=\"\(anchor)\">best \(numberText(b.1, digits: 4)) @ epoch \(Int(b.0))</text>\n"
        }
        s += "</g>\n"
        return s
    }

    /// About `count` round tick values covering [lo, hi].
    static func niceTicks(_ lo: Double, _ hi: Double, count: Int) -> [Double] {
        let span = max(hi - lo, 1e-12)
        let raw = span / Double(max(count, 1))
        let mag = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        let first = (lo / step).rounded(.down) * step
        var ticks: [Double] = []
        var t = first
        while t <= hi + step * 1e-9, ticks.count < 50 {
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        if ticks.last! < hi { ticks.append(t) }
        return ticks
    }

    static func tickLabel(_ v: Double, step: Double) -> String {
        var digits = 0
        while digits < 6 {
            let scaled = step * pow(10, Double(digits))
            if abs(scaled - scaled.rounded()) < 1e-6 * max(1, scaled) { break }
            digits += 1
        }
        return numberText(v, digits: digits)
    }

    static func fmtSVG(_ x: Double) -> String { numberText(x, digits: 1) }

    static func xmlEscaped(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            default: o.append(c)
            }
        }
        return o
    }

    /// Decimal text of a finite number: shortest round-trip form by default, or fixed `digits`.
    static func numberText(_ x: Double) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return String(x)
    }

    static func numberText(_ x: Double, digits: Int) -> String {
        guard x.isFinite else { return numberText(x) }
        var p = 1.0
        for _ in 0..<digits { p *= 10 }
        let v = (abs(x) * p).rounded()
        var s = String(Int64(v / p))
        if digits > 0 {
            let f = String(Int64(v.truncatingRemainder(dividingBy: p)))
            s += "." + String(repeating: "0", count: max(0, digits - f.count)) + f
        }
        return (x < 0 && v != 0 ? "-" : "") + s
    }

    // MARK: - files

    /// Writes `text` to `path` through a temporary file in the same directory and a rename.
    public static func writeFileAtomically(_ path: String, _ text: String) throws {
        let tmp = path + ".tmp\(getpid())"
        guard let f = fopen(tmp, "wb") else {
            throw AERecError.io(path: path, message: "cannot write: \(String(cString: strerror(errno)))")
        }
        var bytes = Array(text.utf8)
        let n = bytes.isEmpty ? 0 : fwrite(&bytes, 1, bytes.count, f)
        let flushed = fflush(f) == 0 && fsync(fileno(f)) == 0
        fclose(f)
        guard n == bytes.count, flushed, rename(tmp, path) == 0 else {
            let msg = String(cString: strerror(errno))
            unlink(tmp)
            throw AERecError.io(path: path, message: "cannot write: \(msg)")
        }
    }

    /// `mkdir -p`.
    public static func createDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            current += (current.isEmpty || current.hasSuffix("/") ? "" : "/") + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw AERecError.io(path: current, message: "cannot create directory: \(String(cString: strerror(errno)))")
            }
            var st = stat()
            if stat(current, &st) != 0 || (st.st_mode & S_IFMT) != S_IFDIR {
                throw AERecError.io(path: current, message: "exists and is not a directory")
            }
        }
    }
}
