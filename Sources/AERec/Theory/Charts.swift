#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Colours of the families in every chart (colour-blind-safe Dark2 palette).
public enum FamilyColor {
    public static func of(_ f: ActivationFamily) -> String {
        switch f {
        case .sigmoidLike: return "#1b9e77"
        case .tanhLike: return "#d95f02"
        case .reluLike: return "#7570b3"
        case .identity: return "#666666"
        case .other: return "#e7298a"
        }
    }
}

/// Escapes text for SVG.
fileprivate func svgEscape(_ s: String) -> String {
    s.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;")
        .replacing("\"", with: "&quot;")
}

/// "Nice" axis ticks covering [lo, hi].
fileprivate func niceTicks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
    guard lo.isFinite, hi.isFinite, hi > lo else { return [lo] }
    let raw = (hi - lo) / Double(count)
    let mag = pow(10, floor(log10(raw)))
    let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? raw
    var t = ceil(lo / step) * step
    var out: [Double] = []
    while t <= hi + step * 1e-9 { out.append(t); t += step }
    return out
}

fileprivate func tickLabel(_ x: Double) -> String {
    if x == 0 { return "0" }
    if abs(x) >= 1000 || abs(x) < 0.001 { return Statistics.format(x) }
    var s = Statistics.format(x, digits: 4)
    while s.contains(".") && (s.hasSuffix("0") || s.hasSuffix(".")) { s.removeLast() }
    return s
}

/// Points with two nested intervals per category, coloured by family (hand-written SVG).
public struct IntervalChart: Sendable {
    public struct Item: Sendable {
        public var label: String
        public var value: Double
        public var low: Double
        public var high: Double
        public var outerLow: Double?
        public var outerHigh: Double?
        public var family: ActivationFamily
        public init(label: String, value: Double, low: Double, high: Double, outerLow: Double? = nil,
                    outerHigh: Double? = nil, family: ActivationFamily) {
            self.label = label
            self.value = value
            self.low = low
            self.high = high
            self.outerLow = outerLow
            self.outerHigh = outerHigh
            self.family = family
        }
    }

    public var title: String
    public var yLabel: String
    public var items: [Item]
    public var note: String?
    public var width = 640.0
    public var height = 360.0

    public init(title: String, yLabel: String, items: [Item], note: String? = nil) {
        self.title = title
        self.yLabel = yLabel
        self.items = items
        self.note = note
    }

    public func svg() -> String {
        let left = 72.0, right = 16.0, top = 40.0, bottom = 78.0
        let plotW = width - left - right, plotH = height - top - bottom
        let values = items.flatMap { [$0.low, $0.high, $0.value, $0.outerLow ?? $0.low, $0.outerHigh ?? $0.high] }
            .filter(\.isFinite)
        var lo = values.min() ?? 0, hi = values.max() ?? 1
        if hi - lo < 1e-9 { lo -= 0.5; hi += 0.5 }
        let pad = (hi - lo) * 0.08
        lo -= pad; hi += pad
        let ticks = niceTicks(lo, hi)
        func y(_ v: Double) -> Double { top + plotH * (1 - (v - lo) / (hi - lo)) }
        let step = plotW / Double(max(items.count, 1))
        func x(_ i: Int) -> Double { left + step * (Double(i) + 0.5) }
        var s: [String] = []
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">")
        s.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>")
        s.append("<text x=\"\(width / 2)\" y=\"22\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(svgEscape(title))</text>")
        for t in ticks where t >= lo && t <= hi {
            let yy = y(t)
            s.append("<line x1=\"\(left)\" y1=\"\(svgNumber(yy))\" x2=\"\(left + plotW)\" y2=\"\(svgNumber(yy))\" stroke=\"#e5e5e5\"/>")
            s.append("<text x=\"\(left - 6)\" y=\"\(svgNumber(yy + 4))\" text-anchor=\"end\">\(tickLabel(t))</text>")
        }
        s.append("<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotH)\" stroke=\"black\"/>")
        s.append("<line x1=\"\(left)\" y1=\"\(top + plotH)\" x2=\"\(left + plotW)\" y2=\"\(top + plotH)\" stroke=\"black\"/>")
        s.append("<text transform=\"translate(16 \(svgNumber(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(svgEscape(yLabel))</text>")
        for (i, it) in items.enumerated() {
            let c = FamilyColor.of(it.family), xx = x(i)
            if let ol = it.outerLow, let oh = it.outerHigh, ol.isFinite, oh.isFinite {
                s.append("<line x1=\"\(svgNumber(xx))\" y1=\"\(svgNumber(y(ol)))\" x2=\"\(svgNumber(xx))\" y2=\"\(svgNumber(y(oh)))\" stroke=\"\(c)\" stroke-width=\"1\"/>")
                s.append("<line x1=\"\(svgNumber(xx - 6))\" y1=\"\(svgNumber(y(ol)))\" x2=\"\(svgNumber(xx + 6))\" y2=\"\(svgNumber(y(ol)))\" stroke=\"\(c)\"/>")
                s.append("<line x1=\"\(svgNumber(xx - 6))\" y1=\"\(svgNumber(y(oh)))\" x2=\"\(svgNumber(xx + 6))\" y2=\"\(svgNumber(y(oh)))\" stroke=\"\(c)\"/>")
            }
            if it.low.isFinite && it.high.isFinite {
                s.append("<line x1=\"\(svgNumber(xx))\" y1=\"\(svgNumber(y(it.low)))\" x2=\"\(svgNumber(xx))\" y2=\"\(svgNumber(y(it.high)))\" stroke=\"\(c)\" stroke-width=\"5\" stroke-opacity=\"0.6\"/>")
            }
            if it.value.isFinite {
                s.append("<circle cx=\"\(svgNumber(xx))\" cy=\"\(svgNumber(y(it.value)))\" r=\"4.5\" fill=\"\(c)\" stroke=\"black\" stroke-width=\"0.6\"><title>\(svgEscape(it.label)): \(Statistics.format(it.value)) [\(Statistics.format(it.low)), \(Statistics.format(it.high))]</title></circle>")
            }
            s.append("<text x=\"\(svgNumber(xx))\" y=\"\(svgNumber(top + plotH + 16))\" text-anchor=\"middle\">\(svgEscape(it.label))</text>")
        }
        // legend of the families present
        var lx = left
        let ly = height - 22
        var seen: [ActivationFamily] = []
        for it in items where !seen.contains(it.family) { seen.append(it.family) }
        for f in seen {
            s.append("<rect x=\"\(svgNumber(lx))\" y=\"\(svgNumber(ly - 9))\" width=\"10\" height=\"10\" fill=\"\(FamilyColor.of(f))\"/>")
            s.append("<text x=\"\(svgNumber(lx + 14))\" y=\"\(svgNumber(ly))\">\(f.rawValue)</text>")
            lx += 24 + Double(f.rawValue.count) * 6.6
        }
        if let note {
            s.append("<text x=\"\(width - right)\" y=\"\(svgNumber(ly))\" text-anchor=\"end\" fill=\"#555\" font-size=\"11\">\(svgEscape(note))</text>")
        }
        s.append("</svg>")
        return s.joined(separator: "\n") + "\n"
    }
}

/// A scatter plot coloured by family (probe score against test metric, hand-written SVG).
public struct ScatterChart: Sendable {
    public struct Point: Sendable {
        public var x: Double
        public var y: Double
        public var family: ActivationFamily
        public var label: String
        public init(x: Double, y: Double, family: ActivationFamily, label: String) {
            self.x = x
            self.y = y
            self.family = family
            self.label = label
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var points: [Point]
    public var note: String?
    public var width = 480.0
    public var height = 360.0

    public init(title: String, xLabel: String, yLabel: String, points: [Point], note: String? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.points = points
        self.note = note
    }

    public func svg() -> String {
        let left = 64.0, right = 16.0, top = 40.0, bottom = 76.0
        let plotW = width - left - right, plotH = height - top - bottom
        let pts = points.filter { $0.x.isFinite && $0.y.isFinite }
        func range(_ v: [Double]) -> (Double, Double) {
            var lo = v.min() ?? 0, hi = v.max() ?? 1
            if hi - lo < 1e-9 { lo -= 0.5; hi += 0.5 }
            let pad = (hi - lo) * 0.06
            return (lo - pad, hi + pad)
        }
        let (xlo, xhi) = range(pts.map(\.x)), (ylo, yhi) = range(pts.map(\.y))
        func px(_ v: Double) -> Double { left + plotW * (v - xlo) / (xhi - xlo) }
        func py(_ v: Double) -> Double { top + plotH * (1 - (v - ylo) / (yhi - ylo)) }
        var s: [String] = []
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\">")
        s.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>")
        s.append("<text x=\"\(width / 2)\" y=\"20\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">\(svgEscape(title))</text>")
        for t in niceTicks(ylo, yhi) where t >= ylo && t <= yhi {
            s.append("<line x1=\"\(left)\" y1=\"\(svgNumber(py(t)))\" x2=\"\(left + plotW)\" y2=\"\(svgNumber(py(t)))\" stroke=\"#eee\"/>")
            s.append("<text x=\"\(left - 5)\" y=\"\(svgNumber(py(t) + 4))\" text-anchor=\"end\">\(tickLabel(t))</text>")
        }
        for t in niceTicks(xlo, xhi) where t >= xlo && t <= xhi {
            s.append("<line x1=\"\(svgNumber(px(t)))\" y1=\"\(top)\" x2=\"\(svgNumber(px(t)))\" y2=\"\(top + plotH)\" stroke=\"#eee\"/>")
            s.append("<text x=\"\(svgNumber(px(t)))\" y=\"\(svgNumber(top + plotH + 14))\" text-anchor=\"middle\">\(tickLabel(t))</text>")
        }
        s.append("<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"black\"/>")
        s.append("<text x=\"\(svgNumber(left + plotW / 2))\" y=\"\(svgNumber(top + plotH + 32))\" text-anchor=\"middle\">\(svgEscape(xLabel))</text>")
        s.append("<text transform=\"translate(14 \(svgNumber(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(svgEscape(yLabel))</text>")
        for p in pts {
            s.append("<circle cx=\"\(svgNumber(px(p.x)))\" cy=\"\(svgNumber(py(p.y)))\" r=\"3\" fill=\"\(FamilyColor.of(p.family))\" fill-opacity=\"0.75\"><title>\(svgEscape(p.label))</title></circle>")
        }
        var lx = left
        let ly = height - 12
        var seen: [ActivationFamily] = []
        for p in pts where !seen.contains(p.family) { seen.append(p.family) }
        for f in seen {
            s.append("<rect x=\"\(svgNumber(lx))\" y=\"\(svgNumber(ly - 9))\" width=\"9\" height=\"9\" fill=\"\(FamilyColor.of(f))\"/>")
            s.append("<text x=\"\(svgNumber(lx + 12))\" y=\"\(svgNumber(ly))\">\(f.rawValue)</text>")
            lx += 20 + Double(f.rawValue.count) * 6
        }
        if let note {
            s.append("<text x=\"\(width - right)\" y=\"\(svgNumber(ly))\" text-anchor=\"end\" fill=\"#555\">\(svgEscape(note))</text>")
        }
        s.append("</svg>")
        return s.joined(separator: "\n") + "\n"
    }
}

/// Rounds SVG coordinates to 0.1.
fileprivate func svgNumber(_ x: Double) -> String {
    let v = (x * 10).rounded() / 10
    return v == v.rounded() ? String(Int(v)) : String(v)
}
