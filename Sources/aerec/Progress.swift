import AERec
import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// Per-epoch training progress on stderr: on a terminal one bar redrawn in place (epoch, ETA,
/// loss, validation metric, best so far); otherwise one plain line per epoch.
final class TrainingProgress {
    let label: String
    let totalEpochs: Int
    let metricName: String
    let enabled: Bool
    let tty: Bool
    private var started = now()
    private var lastLine = ""
    private var best: (epoch: Int, value: Double)? = nil
    private var drawn = false

    init(label: String, totalEpochs: Int, metricName: String, enabled: Bool, tty: Bool = stderrIsTerminal) {
        self.label = label
        self.totalEpochs = max(1, totalEpochs)
        self.metricName = metricName
        self.enabled = enabled
        self.tty = tty
    }

    /// Restarts the clock (call just before training starts).
    func start() { started = now() }

    func epoch(_ r: EpochReport) {
        guard enabled else { return }
        if r.isBest, let v = r.validation { best = (r.epoch, v) }
        let elapsed = now() - started
        let remaining = Double(totalEpochs - r.epoch) * elapsed / Double(max(r.epoch, 1))
        let eta = r.epoch >= totalEpochs ? "" : "  ETA \(duration(remaining))"
        let val = r.validation.map { "  val \(metricName) \(fmt($0, 4))" } ?? ""
        let bestText = best.map { "  best \(fmt($0.value, 4))@\($0.epoch)" } ?? ""
        let width = String(totalEpochs).count
        if tty {
            let barWidth = 16
            let filled = min(barWidth, Int((Double(r.epoch) / Double(totalEpochs) * Double(barWidth)).rounded(.down)))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: barWidth - filled)
            let timing = r.epoch >= totalEpochs ? duration(elapsed) : "\(duration(elapsed)) ETA \(duration(remaining))"
            var line = "\(label) \(bar) \(String(r.epoch).leftPadding(width))/\(totalEpochs)  \(timing)  loss \(fmt(r.loss, 3))\(val)\(bestText)"
            let cols = terminalWidth - 1
            if line.count > cols { line = String(line.prefix(cols)) }
            writeAll(2, "\r\u{1B}[2K" + line)
            drawn = true
        } else {
            let star = r.isBest && r.validation != nil ? " *" : ""
            printErr("\(label) epoch \(String(r.epoch).leftPadding(width))/\(totalEpochs)  loss \(fmt(r.loss, 4))\(val)\(star)  \(fmt(r.trainSeconds, 2))s (+\(fmt(r.validationSeconds, 2))s val)\(eta)")
        }
    }

    /// A line of its own between epoch lines (the terminal bar is redrawn by the next epoch).
    func note(_ text: String) {
        guard enabled else { return }
        if tty && drawn { writeAll(2, "\n"); drawn = false }
        printErr(text)
    }

    /// Ends the bar's line (terminal) and prints a summary line.
    func finish(_ summary: String? = nil) {
        guard enabled else { return }
        if tty && drawn { writeAll(2, "\n"); drawn = false }
        if let summary { printErr(summary) }
    }
}

/// A phase with a spinner on a terminal (elapsed time redrawn every 100 ms) and plain start/done
/// lines otherwise. Used for reading data, splitting, long closed-form fits and scoring.
final class Phase: @unchecked Sendable {
    private static let frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
    private let lock = NSLockLite()
    private var message: String
    private var running = false
    private var timer: DispatchSourceTimer?
    private let tty: Bool
    private let enabled: Bool
    private var t0 = now()
    private var frame = 0

    init(_ message: String, enabled: Bool, tty: Bool = stderrIsTerminal, announce: Bool = true) {
        self.message = message
        self.enabled = enabled
        self.tty = tty
        guard enabled else { return }
        if tty {
            running = true
            let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "aerec.spinner"))
            t.schedule(deadline: .now(), repeating: .milliseconds(100))
            t.setEventHandler { [weak self] in self?.draw() }
            timer = t
            t.resume()
        } else if announce {
            printErr(message + " …")
        }
    }

    private func draw() {
        lock.locked {
            guard running else { return }
            frame = (frame + 1) % Phase.frames.count
            var line = "\(Phase.frames[frame]) \(message)  \(duration(now() - t0))"
            let cols = terminalWidth - 1
            if line.count > cols { line = String(line.prefix(cols)) }
            writeAll(2, "\r\u{1B}[2K" + line)
        }
    }

    /// Changes the message (the spinner keeps turning; plain output prints the new phase).
    func update(_ m: String) {
        guard enabled else { return }
        lock.locked {
            message = m
            t0 = now()
        }
        if !tty { printErr(m + " …") }
    }

    /// Stops the spinner and prints `done` (with the elapsed time) as a plain line.
    func finish(_ done: String?) {
        guard enabled else { return }
        let elapsed = now() - t0
        if let timer {
            lock.locked { running = false }
            timer.cancel()
            self.timer = nil
            writeAll(2, "\r\u{1B}[2K")
        }
        if let done { printErr("\(done) (\(duration(elapsed)))") }
    }

    /// Runs `body` inside a phase, finishing with `done(result)`.
    static func run<T>(_ message: String, enabled: Bool, done: (T) -> String?, _ body: () throws -> T) rethrows -> T {
        let p = Phase(message, enabled: enabled)
        do {
            let r = try body()
            p.finish(done(r))
            return r
        } catch {
            p.finish(nil)
            throw error
        }
    }
}

/// A pthread mutex (Foundation-free).
final class NSLockLite: @unchecked Sendable {
    private var m = pthread_mutex_t()
    init() { pthread_mutex_init(&m, nil) }
    deinit { pthread_mutex_destroy(&m) }
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&m)
        defer { pthread_mutex_unlock(&m) }
        return try body()
    }
}
