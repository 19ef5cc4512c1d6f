//! What a trace shows: the summary printed at the end (wall time, requests by kind, the
//! slowest ten, the concurrency reached, the share of the wall time with a request in
//! flight, a one-line verdict), the raw records (`--json`) and the Trace Event format
//! that Perfetto and chrome://tracing open (`--chrome`).

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::git::{self, GitRecord};
use super::record::Record;

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
}

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

/// How long at least one request or git command was under way.
pub fn busy(records: &[Record], gits: &[GitRecord]) -> Duration {
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
    let mut total = Duration::ZERO;
    let mut cur: Option<(Duration, Duration)> = None;
    for (s, e) in spans {
        cur = match cur {
            Some((cs, ce)) if s <= ce => Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += ce - cs;
                Some((s, e))
            }
            None => Some((s, e)),
        };
    }
    if let Some((cs, ce)) = cur {
        total += ce - cs;
    }
    total
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

    /// The summary for people.
    pub fn summary(&self) -> String {
        let wall = Duration::from_micros(self.wall_us);
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
        let mut kinds: Vec<(&str, usize, Duration)> = Vec::new();
        for r in &relayed {
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
        let mut slow = relayed.clone();
        slow.sort_by_key(|r| std::cmp::Reverse(took(r)));
        if !slow.is_empty() {
            let _ = writeln!(out, "slowest requests:");
        }
        for r in slow.iter().take(10) {
            let status = match (&r.status, &r.error) {
                (_, Some(e)) => format!("error: {e}"),
                (Some(s), None) => s.to_string(),
                (None, None) => "-".into(),
            };
            let _ = writeln!(
                out,
                "  {:>8}  {}  {status}, {} bytes, first byte after {}  ({})",
                ms(took(r)),
                r.path,
                r.bytes,
                ms(r.first_byte.unwrap_or(r.asked).saturating_sub(r.asked)),
                r.upstream
            );
        }
        if !self.git.is_empty() {
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
        let busy = busy(&self.records, &self.git);
        let share = |d: Duration| {
            if wall.is_zero() {
                0.0
            } else {
                100.0 * d.as_secs_f64() / wall.as_secs_f64()
            }
        };
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
            share(busy)
        );
        let slowest_git = self.git.iter().max_by_key(|g| git::took(g));
        let slowest_http = slow.first().map_or(Duration::ZERO, |r| took(r));
        let verdict = match (slow.first(), slowest_git) {
            (_, Some(g)) if git::took(g) > slowest_http && share(git::took(g)) >= 25.0 => format!(
                "{:.0}% of the time waited on git {} of {}",
                share(git::took(g)),
                git::subcommand(&g.args),
                g.repo.as_deref().unwrap_or(&g.dir)
            ),
            (Some(r), _) if share(took(r)) >= 25.0 => format!(
                "{:.0}% of the time waited on {} from {}",
                share(took(r)),
                r.path,
                r.upstream
            ),
            _ if share(busy) >= 50.0 => format!(
                "{:.0}% of the time waited on the module proxies and git, spread over {} requests and {} git commands",
                share(busy),
                relayed.len(),
                self.git.len()
            ),
            _ => format!(
                "{:.0}% of the time was the go command's own work (no request nor git command under way)",
                100.0 - share(busy)
            ),
        };
        let path = self.critical_path();
        if !path.is_empty() {
            let on: Duration = path.iter().map(|s| s.end - s.start).sum();
            let _ = writeln!(
                out,
                "critical path: {} steps, {} of waiting ({:.0}% of the time; the rest is the go command's own work between them):",
                path.len(),
                ms(on),
                share(on)
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
        let _ = writeln!(out, "verdict: {verdict}");
        out
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
                    "error": r.error,
                },
            }));
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
    fn kinds_concurrency_busy_lanes_and_verdict() {
        assert_eq!(kind("/example.com/m/@v/list"), "list");
        assert_eq!(kind("/example.com/m/@v/v1.0.0.info"), "info");
        assert_eq!(kind("/example.com/m/@v/v1.0.0.mod"), "mod");
        assert_eq!(kind("/example.com/m/@v/v1.0.0.zip"), "zip");
        assert_eq!(kind("/example.com/m/@latest"), "latest");
        assert_eq!(kind("/sumdb/sum.golang.org/lookup/x@v1"), "sumdb");
        let records = vec![
            rec(0, "/a/@v/list", 0, 100),
            rec(1, "/a/@v/v1.0.0.mod", 50, 150),
            rec(2, "/a/@v/v1.0.0.zip", 150, 900),
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
        };
        let s = t.summary();
        assert!(
            s.ends_with("verdict: 75% of the time waited on /a/@v/v1.0.0.zip from http://up\n"),
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
        let lanes: Vec<u64> = c["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["tid"].as_u64().unwrap())
            .collect();
        // The command, then: list on lane 1, mod overlapping it on lane 2, the zip back on
        // lane 1 (free again at 150 ms), the last list on lane 1.
        assert_eq!(lanes, [0, 1, 2, 1, 1]);
        assert_eq!(c["traceEvents"][3]["dur"], 750_000);
    }
}
