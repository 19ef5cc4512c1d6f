//! What a trace shows: the summary printed at the end (wall time, requests by kind, the
//! slowest ten, the concurrency reached, the share of the wall time with a request in
//! flight, a one-line verdict), the raw records (`--json`) and the Trace Event format
//! that Perfetto and chrome://tracing open (`--chrome`).

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::git::{self, GitRecord};
use super::record::Record;
use super::sample::{Sample, cpu_between};

/// A finished trace.
#[derive(Debug, Clone, Serialize)]
pub struct Trace {
    /// The command run.
    pub command: Vec<String>,
    /// Its exit code (killed by a signal: 128 + the signal's number, as a shell says).
    pub exit_code: Option<i32>,
    /// From its start to its exit, in microseconds.
    pub wall_us: u64,
    /// Every request it made through the recorder.
    pub records: Vec<Record>,
    /// The git commands it ran.
    pub git: Vec<GitRecord>,
    /// How many module fetches the go command runs at once (GOMAXPROCS), if known.
    pub parallelism: Option<usize>,
    /// The CPU time the command's processes had used, read every 10 ms: (since the
    /// command's start, CPU time so far), both in microseconds (`sample.rs`).
    #[serde(rename = "cpu_samples")]
    pub cpu: Vec<Sample>,
}

/// How the wall time divides (`Trace::attribution`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    /// A request or git command was under way.
    pub named: Duration,
    /// None was, and the command used the CPU (its own work: resolving the graph,
    /// hashing, extracting, compiling).
    pub work: Duration,
    /// None was, and the command was idle: it waited on something the trace does not see.
    pub unaccounted: Duration,
    /// The longest such stretch: (its start, its length).
    pub longest_idle: Option<(Duration, Duration)>,
}

/// What the command may wait on that the trace does not see.
const IDLE_WHY: &str = "no request or git command under way and the command idle: its own connections (a GOSUMDB that names its URL, ?go-get=1 lookups of direct modules, other version control tools), a lock another go command holds, or the disk";

/// The kind of a request, by its path.
pub fn kind(path: &str) -> &'static str {
    if path.starts_with("/sumdb/") {
        return "sumdb";
    }
    if path.ends_with("/@latest") {
        return "latest";
    }
    match path.rsplit_once('.').map(|(_, e)| e) {
        _ if path.ends_with("/@v/list") => "list",
        Some("info") => "info",
        Some("mod") => "mod",
        Some("zip") => "zip",
        _ => "other",
    }
}

fn took(r: &Record) -> Duration {
    r.done.unwrap_or(r.asked).saturating_sub(r.asked)
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// The most requests in flight at once.
pub fn concurrency(records: &[Record]) -> usize {
    let mut edges: Vec<(Duration, i32)> = Vec::new();
    for r in records.iter().filter(|r| !r.answered_here) {
        edges.push((r.asked, 1));
        edges.push((r.done.unwrap_or(r.asked), -1));
    }
    // Ends before starts at the same instant.
    edges.sort();
    let (mut now, mut most) = (0i32, 0i32);
    for (_, d) in edges {
        now += d;
        most = most.max(now);
    }
    most as usize
}

/// The stretches when at least one request or git command was under way, merged, in
/// order.
pub fn under_way(records: &[Record], gits: &[GitRecord]) -> Vec<(Duration, Duration)> {
    let mut spans: Vec<(Duration, Duration)> = records
        .iter()
        .filter(|r| !r.answered_here)
        .map(|r| (r.asked, r.done.unwrap_or(r.asked)))
        .chain(gits.iter().map(|g| {
            (
                Duration::from_micros(g.start_us),
                Duration::from_micros(g.end_us),
            )
        }))
        .collect();
    spans.sort();
    let mut out: Vec<(Duration, Duration)> = Vec::new();
    for (s, e) in spans {
        match out.last_mut() {
            Some((_, ce)) if s <= *ce => *ce = (*ce).max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// How long at least one request or git command was under way.
pub fn busy(records: &[Record], gits: &[GitRecord]) -> Duration {
    under_way(records, gits).iter().map(|(s, e)| *e - *s).sum()
}

/// The phases summed over `records`, in the order of a request.
pub fn phase_totals(records: &[&Record]) -> Vec<(&'static str, Duration)> {
    let mut out: Vec<(&'static str, Duration)> = [
        "queue", "dns", "connect", "proxy", "tls", "wait", "transfer",
    ]
    .iter()
    .map(|n| (*n, Duration::ZERO))
    .collect();
    for r in records {
        for (name, from, to) in r.phase_spans() {
            if let Some(e) = out.iter_mut().find(|(n, _)| *n == name) {
                e.1 += to - from;
            }
        }
    }
    out
}

/// What a phase is called in the summary.
fn phase_words(name: &str) -> &'static str {
    match name {
        "queue" => "waiting for a connection another request was opening",
        "dns" => "resolving the name",
        "connect" => "connecting",
        "proxy" => "the CONNECT through the HTTP proxy",
        "tls" => "the TLS handshake",
        "wait" => "waiting for the first byte",
        _ => "the transfer",
    }
}

/// One step of the critical path: a request or git command, from start to end (since
/// the command's start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// `GET /path` or `git fetch (repo)`.
    pub what: String,
    /// When it started.
    pub start: Duration,
    /// When it ended.
    pub end: Duration,
}

impl Trace {
    /// The critical path, first step first: from the last thing to end, back through the
    /// one that ended last before it began, and so on (what the go command was waiting on,
    /// one thing after another; the gaps between steps are its own work).
    pub fn critical_path(&self) -> Vec<Step> {
        let mut all: Vec<Step> = self
            .records
            .iter()
            .filter(|r| !r.answered_here)
            .map(|r| Step {
                what: format!("GET {}", r.path),
                start: r.asked,
                end: r.done.unwrap_or(r.asked),
            })
            .chain(self.git.iter().map(|g| Step {
                what: format!(
                    "git {} ({})",
                    git::subcommand(&g.args),
                    g.repo.as_deref().unwrap_or(&g.dir)
                ),
                start: Duration::from_micros(g.start_us),
                end: Duration::from_micros(g.end_us),
            }))
            .collect();
        all.sort_by_key(|s| (s.end, s.start));
        let mut path = Vec::new();
        let mut before = Duration::MAX;
        while let Some(i) = all.iter().rposition(|s| s.end <= before) {
            let step = all.remove(i);
            before = step.start;
            path.push(step);
            // Only what ended before this step began can have held it up.
            all.retain(|s| s.end <= before);
        }
        path.reverse();
        path
    }

    /// The stretches with no request nor git command under way, in order, each with the
    /// CPU time the command used in it (at most its length).
    pub fn gaps(&self) -> Vec<(Duration, Duration, Duration)> {
        let wall = Duration::from_micros(self.wall_us);
        let mut at = Duration::ZERO;
        under_way(&self.records, &self.git)
            .into_iter()
            .chain([(wall, wall)])
            .filter_map(|(s, e)| {
                let gap = (at < s).then_some((at, s.min(wall)));
                at = at.max(e);
                gap
            })
            .map(|(a, b)| {
                let cpu = Duration::from_micros(cpu_between(
                    &self.cpu,
                    a.as_micros() as u64,
                    b.as_micros() as u64,
                ))
                .min(b.saturating_sub(a));
                (a, b, cpu)
            })
            .collect()
    }

    /// How the wall time divides: a request or git command under way; else the command
    /// working (the CPU it used in that stretch, at most the stretch); else idle.
    /// `None` when the CPU time could not be read.
    pub fn attribution(&self) -> Option<Attribution> {
        if self.cpu.is_empty() {
            return None;
        }
        let spans = under_way(&self.records, &self.git);
        let mut out = Attribution {
            named: spans.iter().map(|(s, e)| *e - *s).sum(),
            work: Duration::ZERO,
            unaccounted: Duration::ZERO,
            longest_idle: None,
        };
        for (a, b, cpu) in self.gaps() {
            let len = b.saturating_sub(a);
            out.work += cpu;
            let idle = len - cpu;
            out.unaccounted += idle;
            if idle > out.longest_idle.map_or(Duration::ZERO, |(_, l)| l) {
                out.longest_idle = Some((a, idle));
            }
        }
        Some(out)
    }

    /// The summary for people.
    pub fn summary(&self) -> String {
        let wall = Duration::from_micros(self.wall_us);
        let share = Share(wall);
        let relayed: Vec<&Record> = self.records.iter().filter(|r| !r.answered_here).collect();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "modgate trace: {} in {:.2}s (exit {}), {} requests through the recorder, {} bytes",
            self.command.join(" "),
            wall.as_secs_f64(),
            self.exit_code
                .map_or("by a signal".to_string(), |c| c.to_string()),
            relayed.len(),
            relayed.iter().map(|r| r.bytes).sum::<u64>()
        );
        write_kinds(&mut out, &relayed);
        let mut slow = relayed.clone();
        slow.sort_by_key(|r| std::cmp::Reverse(took(r)));
        write_slowest(&mut out, &slow);
        self.write_git(&mut out);
        let busy = busy(&self.records, &self.git);
        self.write_concurrency(&mut out, share, busy);
        let attribution = self.attribution();
        if let Some(a) = &attribution {
            write_attribution(&mut out, share, a);
        }
        let verdict = self.verdict(share, &slow, busy, attribution.as_ref(), relayed.len());
        self.write_critical_path(&mut out, share);
        let _ = writeln!(out, "verdict: {verdict}");
        out
    }

    fn write_git(&self, out: &mut String) {
        if self.git.is_empty() {
            return;
        }
        let total: Duration = self.git.iter().map(git::took).sum();
        let _ = writeln!(
            out,
            "git: {} commands, {} in all; the slowest:",
            self.git.len(),
            ms(total)
        );
        let mut slow_git: Vec<&GitRecord> = self.git.iter().collect();
        slow_git.sort_by_key(|g| std::cmp::Reverse(git::took(g)));
        for g in slow_git.iter().take(5) {
            let _ = writeln!(
                out,
                "  {:>8}  git {}  ({})",
                ms(git::took(g)),
                g.args.join(" "),
                g.repo.as_deref().unwrap_or(&g.dir)
            );
        }
    }

    fn write_concurrency(&self, out: &mut String, share: Share, busy: Duration) {
        let reached = concurrency(&self.records);
        let limit = match self.parallelism {
            Some(p) if reached >= p => format!(
                " (the go command's own limit, GOMAXPROCS = {p}: it would ask more at once with a higher one)"
            ),
            Some(p) => format!(" (the go command allows {p}: GOMAXPROCS)"),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "concurrency: at most {reached} at once{limit}; a request or git command was under way {:.0}% of the time",
            share.of(busy)
        );
    }

    /// What the time mostly went to, in one sentence.
    fn verdict(
        &self,
        share: Share,
        slow: &[&Record],
        busy: Duration,
        attribution: Option<&Attribution>,
        requests: usize,
    ) -> String {
        let slowest_git = self.git.iter().max_by_key(|g| git::took(g));
        let slowest_http = slow.first().map_or(Duration::ZERO, |r| took(r));
        let idle = attribution.map_or(Duration::ZERO, |a| a.unaccounted);
        match (slow.first(), slowest_git) {
            _ if share.of(idle) >= 25.0 && idle > slowest_http && idle > busy => format!(
                "{:.0}% of the time the command waited on something the trace does not see ({IDLE_WHY})",
                share.of(idle)
            ),
            (_, Some(g)) if git::took(g) > slowest_http && share.of(git::took(g)) >= 25.0 => {
                format!(
                    "{:.0}% of the time waited on git {} of {}",
                    share.of(git::took(g)),
                    git::subcommand(&g.args),
                    g.repo.as_deref().unwrap_or(&g.dir)
                )
            }
            (Some(r), _) if share.of(took(r)) >= 25.0 => format!(
                "{:.0}% of the time waited on {} from {}{}",
                share.of(took(r)),
                r.path,
                r.upstream,
                r.phase_spans()
                    .iter()
                    .max_by_key(|(_, a, b)| *b - *a)
                    .map(|(n, a, b)| format!(", mostly {} ({})", phase_words(n), ms(*b - *a)))
                    .unwrap_or_default()
            ),
            _ if share.of(busy) >= 50.0 => format!(
                "{:.0}% of the time waited on the module proxies and git, spread over {requests} requests and {} git commands",
                share.of(busy),
                self.git.len()
            ),
            _ => match attribution {
                Some(a) => format!(
                    "{:.0}% of the time was the go command's own work (its CPU, with no request nor git command under way)",
                    share.of(a.work)
                ),
                None => format!(
                    "{:.0}% of the time was the go command's own work (no request nor git command under way)",
                    100.0 - share.of(busy)
                ),
            },
        }
    }

    fn write_critical_path(&self, out: &mut String, share: Share) {
        let path = self.critical_path();
        if path.is_empty() {
            return;
        }
        let on: Duration = path.iter().map(|s| s.end - s.start).sum();
        let _ = writeln!(
            out,
            "critical path: {} steps, {} of waiting ({:.0}% of the time; the rest is between them):",
            path.len(),
            ms(on),
            share.of(on)
        );
        for s in path.iter().rev().take(10).rev() {
            let _ = writeln!(
                out,
                "  {:>8} at {:>8}  {}",
                ms(s.end - s.start),
                ms(s.start),
                s.what
            );
        }
        if path.len() > 10 {
            let _ = writeln!(
                out,
                "  (the {} steps before these are in --json)",
                path.len() - 10
            );
        }
    }

    /// The Trace Event format (JSON object form): one complete event per request on the
    /// first free lane, and one for the whole command.
    pub fn chrome(&self) -> serde_json::Value {
        let mut lanes: Vec<Duration> = Vec::new();
        let mut events = vec![serde_json::json!({
            "name": self.command.join(" "), "cat": "command", "ph": "X",
            "ts": 0, "dur": self.wall_us, "pid": 1, "tid": 0,
            "args": {"exit_code": self.exit_code},
        })];
        let mut sorted: Vec<&Record> = self.records.iter().collect();
        sorted.sort_by_key(|r| r.asked);
        for r in sorted {
            let end = r.done.unwrap_or(r.asked);
            let lane = match lanes.iter().position(|free| *free <= r.asked) {
                Some(i) => {
                    lanes[i] = end;
                    i
                }
                None => {
                    lanes.push(end);
                    lanes.len() - 1
                }
            };
            events.push(serde_json::json!({
                "name": r.path, "cat": kind(&r.path), "ph": "X",
                "ts": r.asked.as_micros() as u64,
                "dur": end.saturating_sub(r.asked).as_micros() as u64,
                "pid": 1, "tid": lane + 1,
                "args": {
                    "upstream": r.upstream, "status": r.status, "bytes": r.bytes,
                    "first_byte_us": r.first_byte.map(|f| f.saturating_sub(r.asked).as_micros() as u64),
                    "error": r.error, "cache": r.cache, "attempt": r.attempt,
                    "redirects": r.redirects,
                    "peer": r.opened.as_ref().map(|p| p.peer.clone()),
                },
            }));
            // Its phases, nested in it on the same lane.
            for (name, from, to) in r.phase_spans() {
                events.push(serde_json::json!({
                    "name": name, "cat": "phase", "ph": "X",
                    "ts": from.as_micros() as u64,
                    "dur": (to - from).as_micros() as u64,
                    "pid": 1, "tid": lane + 1,
                }));
            }
        }
        for g in &self.git {
            let start = Duration::from_micros(g.start_us);
            let lane = match lanes.iter().position(|free| *free <= start) {
                Some(i) => {
                    lanes[i] = Duration::from_micros(g.end_us);
                    i
                }
                None => {
                    lanes.push(Duration::from_micros(g.end_us));
                    lanes.len() - 1
                }
            };
            events.push(serde_json::json!({
                "name": format!("git {}", g.args.join(" ")), "cat": "git", "ph": "X",
                "ts": g.start_us, "dur": g.end_us.saturating_sub(g.start_us),
                "pid": 1, "tid": lane + 1,
                "args": {"repo": g.repo, "dir": g.dir, "exit_code": g.exit_code},
            }));
        }
        serde_json::json!({ "traceEvents": events, "displayTimeUnit": "ms" })
    }
}

/// A duration as a percentage of the command's wall time.
#[derive(Clone, Copy)]
struct Share(Duration);

impl Share {
    fn of(self, d: Duration) -> f64 {
        if self.0.is_zero() {
            0.0
        } else {
            100.0 * d.as_secs_f64() / self.0.as_secs_f64()
        }
    }
}

/// Requests by kind (list, info, mod, zip, ...), the costliest first; then the phases
/// summed over them and how many connections were opened.
fn write_kinds(out: &mut String, relayed: &[&Record]) {
    let mut kinds: Vec<(&str, usize, Duration)> = Vec::new();
    for r in relayed {
        let k = kind(&r.path);
        match kinds.iter_mut().find(|(n, _, _)| *n == k) {
            Some(e) => {
                e.1 += 1;
                e.2 += took(r);
            }
            None => kinds.push((k, 1, took(r))),
        }
    }
    kinds.sort_by_key(|k| std::cmp::Reverse(k.2));
    for (k, n, t) in &kinds {
        let _ = writeln!(out, "  {k:<7} {n:>5} requests, {} in all", ms(*t));
    }
    if relayed.is_empty() {
        return;
    }
    let opened = relayed.iter().filter(|r| r.opened.is_some()).count();
    let phases: Vec<String> = phase_totals(relayed)
        .into_iter()
        .filter(|(n, d)| !d.is_zero() || matches!(*n, "wait" | "transfer"))
        .map(|(n, d)| format!("{n} {}", ms(d)))
        .collect();
    let _ = writeln!(
        out,
        "phases, summed over requests: {}; {opened} connections opened, {} requests on one already open",
        phases.join(", "),
        relayed.len() - opened
    );
}

/// The ten slowest requests, a line each.
fn write_slowest(out: &mut String, slow: &[&Record]) {
    if !slow.is_empty() {
        let _ = writeln!(out, "slowest requests:");
    }
    for r in slow.iter().take(10) {
        let status = match (&r.status, &r.error) {
            (_, Some(e)) => format!("error: {e}"),
            (Some(s), None) => s.to_string(),
            (None, None) => "-".into(),
        };
        let phases: Vec<String> = r
            .phase_spans()
            .iter()
            .map(|(n, a, b)| format!("{n} {}", ms(*b - *a)))
            .collect();
        let mut notes = Vec::new();
        if let Some(c) = &r.cache {
            notes.push(format!("cache {c}"));
        }
        if r.attempt > 1 {
            notes.push(format!("attempt {}", r.attempt));
        }
        if !r.redirects.is_empty() {
            notes.push(format!("{} redirects", r.redirects.len()));
        }
        if r.resent {
            notes.push("sent again on a new connection".into());
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(", {}", notes.join(", "))
        };
        let _ = writeln!(
            out,
            "  {:>8}  {}  {status}, {} bytes{notes}; {}  ({})",
            ms(took(r)),
            r.path,
            r.bytes,
            phases.join(", "),
            r.upstream
        );
    }
}

/// Where the wall time went: requests and git, the command's own work, the rest; and the
/// longest stretch of the rest when it matters.
fn write_attribution(out: &mut String, share: Share, a: &Attribution) {
    let _ = writeln!(
        out,
        "time: {:.0}% a request or git command under way, {:.0}% the command's own work (its CPU), {:.0}% not accounted for",
        share.of(a.named),
        share.of(a.work),
        share.of(a.unaccounted)
    );
    if let Some((at, len)) = a.longest_idle
        && share.of(a.unaccounted) >= 5.0
    {
        let _ = writeln!(
            out,
            "  the longest stretch not accounted for: {} at {} ({IDLE_WHY})",
            ms(len),
            ms(at)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: u64, path: &str, asked_ms: u64, done_ms: u64) -> Record {
        Record {
            id,
            path: path.into(),
            upstream: "http://up".into(),
            answered_here: false,
            status: Some(200),
            bytes: 10,
            asked: Duration::from_millis(asked_ms),
            first_byte: Some(Duration::from_millis(asked_ms)),
            done: Some(Duration::from_millis(done_ms)),
            ..Record::default()
        }
    }

    #[test]
    fn a_request_that_failed_resolving_its_host_is_named_by_that_phase() {
        let mut r = rec(0, "/a/@v/list", 0, 4);
        r.status = None;
        r.first_byte = None;
        r.error = Some("resolving proxy.corp.example: no such host".into());
        r.failed_in = Some("dns");
        let spans: Vec<(&str, u64, u64)> = r
            .phase_spans()
            .into_iter()
            .map(|(n, a, b)| (n, a.as_millis() as u64, b.as_millis() as u64))
            .collect();
        assert_eq!(spans, [("dns", 0, 4)]);
        let t = Trace {
            command: vec!["go".into(), "mod".into(), "download".into()],
            exit_code: Some(1),
            wall_us: 5_000,
            records: vec![r],
            git: vec![],
            parallelism: Some(2),
            cpu: vec![],
        };
        let s = t.summary();
        assert!(
            s.ends_with("verdict: 80% of the time waited on /a/@v/list from http://up, mostly resolving the name (4 ms)\n"),
            "{s}"
        );
    }

    #[test]
    fn kinds_concurrency_busy_lanes_and_verdict() {
        assert_eq!(kind("/example.com/m/@v/list"), "list");
        assert_eq!(kind("/example.com/m/@v/v1.0.0.info"), "info");
        assert_eq!(kind("/example.com/m/@v/v1.0.0.mod"), "mod");
        assert_eq!(kind("/example.com/m/@v/v1.0.0.zip"), "zip");
        assert_eq!(kind("/example.com/m/@latest"), "latest");
        assert_eq!(kind("/sumdb/sum.golang.org/lookup/x@v1"), "sumdb");
        let mut zip = rec(2, "/a/@v/v1.0.0.zip", 150, 900);
        // It opened its connection: DNS 10 ms, connect 5, TLS 100; the first byte 400 ms
        // after it was asked.
        zip.opened = Some(crate::dial::Phases {
            dns: Some(Duration::from_millis(10)),
            connect: Duration::from_millis(5),
            tls: Some(Duration::from_millis(100)),
            ..Default::default()
        });
        zip.first_byte = Some(Duration::from_millis(550));
        let phases: Vec<(&str, u64, u64)> = zip
            .phase_spans()
            .into_iter()
            .map(|(n, a, b)| (n, a.as_millis() as u64, b.as_millis() as u64))
            .collect();
        assert_eq!(
            phases,
            [
                ("dns", 150, 160),
                ("connect", 160, 165),
                ("tls", 165, 265),
                ("wait", 265, 550),
                ("transfer", 550, 900)
            ]
        );
        let records = vec![
            rec(0, "/a/@v/list", 0, 100),
            rec(1, "/a/@v/v1.0.0.mod", 50, 150),
            zip,
            rec(3, "/b/@v/list", 950, 1000),
        ];
        assert_eq!(concurrency(&records), 2);
        assert_eq!(busy(&records, &[]), Duration::from_millis(950));
        let t = Trace {
            command: vec!["go".into(), "mod".into(), "download".into()],
            exit_code: Some(0),
            wall_us: 1_000_000,
            records,
            git: vec![],
            parallelism: Some(4),
            // Nothing under way from 900 to 950 ms; the command used 20 ms of CPU then.
            cpu: vec![(0, 0), (900_000, 0), (925_000, 20_000), (1_000_000, 20_000)],
        };
        assert_eq!(
            t.attribution(),
            Some(Attribution {
                named: Duration::from_millis(950),
                work: Duration::from_millis(20),
                unaccounted: Duration::from_millis(30),
                longest_idle: Some((Duration::from_millis(900), Duration::from_millis(30))),
            })
        );
        let s = t.summary();
        assert!(
            s.ends_with("verdict: 75% of the time waited on /a/@v/v1.0.0.zip from http://up, mostly the transfer (350 ms)\n"),
            "{s}"
        );
        assert!(
            s.contains("\nphases, summed over requests: dns 10 ms, connect 5 ms, tls 100 ms, wait 285 ms, transfer 600 ms; 1 connections opened, 3 requests on one already open\n"),
            "{s}"
        );
        assert!(
            s.contains("\ntime: 95% a request or git command under way, 2% the command's own work (its CPU), 3% not accounted for\n"),
            "{s}"
        );
        assert!(
            s.contains("concurrency: at most 2 at once (the go command allows 4: GOMAXPROCS); a request or git command was under way 95% of the time\n"),
            "{s}"
        );
        let cp: Vec<(String, u64, u64)> = t
            .critical_path()
            .into_iter()
            .map(|s| (s.what, s.start.as_millis() as u64, s.end.as_millis() as u64))
            .collect();
        // The last list; before it the zip; before that the .mod, which ended as the zip
        // began (the first list ended after the .mod began: not before it).
        assert_eq!(
            cp,
            vec![
                ("GET /a/@v/v1.0.0.mod".to_string(), 50, 150),
                ("GET /a/@v/v1.0.0.zip".to_string(), 150, 900),
                ("GET /b/@v/list".to_string(), 950, 1000),
            ]
        );
        assert!(
            s.contains("critical path: 3 steps, 900 ms of waiting (90% of the time"),
            "{s}"
        );
        let c = t.chrome();
        let events = c["traceEvents"].as_array().unwrap();
        let lanes: Vec<(&str, u64)> = events
            .iter()
            .map(|e| (e["name"].as_str().unwrap(), e["tid"].as_u64().unwrap()))
            .collect();
        // The command, then: list on lane 1, mod overlapping it on lane 2, the zip back on
        // lane 1 (free again at 150 ms) with its phases nested in it, the last list on
        // lane 1; each request's phases on its lane.
        assert_eq!(
            lanes,
            [
                ("go mod download", 0),
                ("/a/@v/list", 1),
                ("transfer", 1),
                ("/a/@v/v1.0.0.mod", 2),
                ("transfer", 2),
                ("/a/@v/v1.0.0.zip", 1),
                ("dns", 1),
                ("connect", 1),
                ("tls", 1),
                ("wait", 1),
                ("transfer", 1),
                ("/b/@v/list", 1),
                ("transfer", 1)
            ]
        );
        assert_eq!(events[5]["dur"], 750_000);
        assert_eq!(
            (&events[8]["ts"], &events[8]["dur"]),
            (&165_000.into(), &100_000.into())
        );
    }
}
