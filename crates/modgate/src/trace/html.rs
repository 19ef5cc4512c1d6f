//! `--html`: one self-contained file (no external script, style sheet or font):
//! - the summary as a table (each line of the printed summary, by section);
//! - an overview timeline, one lane each: requests in flight, git commands, the
//!   command's CPU (cores busy), the time not accounted for (no request nor git command
//!   under way and the command idle: the darker, the idler), and the critical path;
//!   drawn with the dashboard's plotting code (`assets/plot.js`, inlined);
//! - the waterfall: a row per request and git command, its bar from when it was asked to
//!   when it ended, colored by phase (queue, DNS, connect, proxy CONNECT, TLS, waiting
//!   for the first byte, transfer), those on the critical path marked; grouped by kind,
//!   by module, or slowest first, and filtered by a text (also from the page's address:
//!   `#group=module&filter=golang.org/x/`); a hover box with the details, zoom with the
//!   mouse wheel (or the slider) and a drag to scroll.
//!
//! The records are embedded as JSON; any script error is shown on the page (`#errors`).

use std::time::Duration;

use super::report::{Trace, kind};

/// At most this many points in the CPU lane.
const CPU_POINTS: u64 = 600;

/// The module a request's path names (escaped, as written), or where it went.
fn module_of(path: &str) -> String {
    if path.starts_with("/sumdb/") {
        return "checksum database".into();
    }
    let p = path.strip_prefix('/').unwrap_or(path);
    match p.split_once("/@v/").or_else(|| p.split_once("/@latest")) {
        Some((m, _)) => m.to_string(),
        None => p.to_string(),
    }
}

/// The summary's lines as table rows: (section, detail); a line indented under a
/// section is a row of its own with an empty section.
fn summary_rows(summary: &str) -> Vec<(String, String)> {
    summary
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            if l.starts_with(' ') {
                return (String::new(), l.trim().to_string());
            }
            match l.split_once(": ") {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (l.trim_end_matches(':').to_string(), String::new()),
            }
        })
        .collect()
}

/// Requests in flight over time: (since the start, how many), at each change.
fn in_flight(trace: &Trace) -> Vec<(u64, i64)> {
    let mut edges: Vec<(u64, i64)> = Vec::new();
    for r in trace.records.iter().filter(|r| !r.answered_here) {
        edges.push((r.asked.as_micros() as u64, 1));
        edges.push((r.done.unwrap_or(r.asked).as_micros() as u64, -1));
    }
    edges.sort();
    let mut out: Vec<(u64, i64)> = Vec::new();
    let mut now = 0;
    for (t, d) in edges {
        now += d;
        match out.last_mut() {
            Some(last) if last.0 == t => last.1 = now,
            _ => out.push((t, now)),
        }
    }
    out
}

/// The command's CPU use over time: (since the start, cores busy), in at most
/// [`CPU_POINTS`] steps.
fn cpu_use(trace: &Trace) -> Vec<(u64, f64)> {
    if trace.cpu.is_empty() || trace.wall_us == 0 {
        return Vec::new();
    }
    let step = trace.wall_us.div_ceil(CPU_POINTS).max(1_000);
    (0..trace.wall_us)
        .step_by(step as usize)
        .map(|a| {
            let b = (a + step).min(trace.wall_us);
            let used = super::sample::cpu_between(&trace.cpu, a, b);
            (a, used as f64 / (b - a).max(1) as f64)
        })
        .collect()
}

fn us(d: Duration) -> u64 {
    d.as_micros() as u64
}

/// The page for `trace`.
pub fn page(trace: &Trace) -> String {
    let critical = trace.critical_path();
    let on_path = |what: &str, start: u64| {
        critical
            .iter()
            .any(|s| s.what == what && us(s.start) == start)
    };
    let summary = trace.summary();
    let data = serde_json::json!({
        "command": trace.command.join(" "),
        "exit_code": trace.exit_code,
        "wall_us": trace.wall_us,
        "table": summary_rows(&summary),
        "overview": {
            "requests": in_flight(trace),
            "git": trace.git.iter().map(|g| [g.start_us, g.end_us]).collect::<Vec<_>>(),
            "cpu": cpu_use(trace),
            "unaccounted": trace.gaps().iter().filter_map(|(a, b, cpu)| {
                let len = b.saturating_sub(*a);
                let idle = len.saturating_sub(*cpu);
                (!idle.is_zero()).then(|| serde_json::json!(
                    [us(*a), us(*b), (idle.as_secs_f64() / len.as_secs_f64() * 100.0).round() / 100.0]
                ))
            }).collect::<Vec<_>>(),
            "critical": critical.iter().map(|s| [us(s.start), us(s.end)]).collect::<Vec<_>>(),
        },
        "rows": trace.records.iter().map(|r| serde_json::json!({
            "path": r.path,
            "kind": kind(&r.path),
            "module": module_of(&r.path),
            "upstream": r.upstream,
            "status": r.status,
            "bytes": r.bytes,
            "asked": us(r.asked),
            "first_byte": r.first_byte.map(us),
            "done": r.done.map(us),
            "error": r.error,
            "here": r.answered_here,
            "critical": !r.answered_here && on_path(&format!("GET {}", r.path), us(r.asked)),
            "phases": r.phase_spans().iter().map(|(n, a, b)| serde_json::json!(
                [n, us(*a), us(*b)]
            )).collect::<Vec<_>>(),
            "cache": r.cache,
            "attempt": r.attempt,
            "redirects": r.redirects.len(),
            "peer": r.opened.as_ref().map(|p| p.peer.clone()),
        })).chain(trace.git.iter().map(|g| {
            let repo = g.repo.clone().unwrap_or_else(|| g.dir.clone());
            let step = format!("git {} ({repo})", super::git::subcommand(&g.args));
            serde_json::json!({
                "path": format!("git {}", g.args.join(" ")),
                "kind": "git",
                "module": repo,
                "upstream": repo,
                "status": g.exit_code,
                "bytes": 0,
                "asked": g.start_us,
                "first_byte": g.start_us,
                "done": g.end_us,
                "error": null,
                "here": false,
                "critical": on_path(&step, g.start_us),
                "phases": [],
            })
        })).collect::<Vec<_>>(),
    });
    // Inside <script>: no "</" can end the element early.
    let json = data.to_string().replace("</", "<\\/");
    TEMPLATE
        .replace("/*PLOT*/", &PLOT.replace("</", "<\\/"))
        .replace("/*DATA*/null", &json)
}

/// The dashboard's plotting code, inlined.
const PLOT: &str = include_str!("../../assets/plot.js");

const TEMPLATE: &str = r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>modgate trace</title>
<style>
body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 16px; margin: 0 0 8px; }
h2 { font-size: 14px; margin: 14px 0 4px; }
table#summary { border-collapse: collapse; font-size: 12px; }
table#summary td { border-bottom: 1px solid #eee; padding: 2px 8px; vertical-align: top; }
table#summary td.section { font-weight: 600; white-space: nowrap; }
table#summary tr.verdict td { background: #fff3cd; font-weight: 600; }
#overview svg .lane-bg { fill: #f7f7f7; }
#overview svg .lane-name, svg .tick { font-size: 11px; fill: #555; }
#controls { margin: 8px 0; display: flex; gap: 14px; align-items: center; flex-wrap: wrap; }
#chart { position: relative; overflow-x: auto; border: 1px solid #ccc; cursor: grab; }
.row { position: relative; height: 18px; border-bottom: 1px solid #f0f0f0; white-space: nowrap; }
.row.critical .label { border-left: 3px solid #d62828; }
.group { position: sticky; left: 0; background: #eef3f6; font-weight: 600; padding: 2px 6px; border-bottom: 1px solid #d5dde2; }
.label { position: sticky; left: 0; z-index: 2; display: inline-block; width: 360px; overflow: hidden;
  text-overflow: ellipsis; background: #fff; padding-right: 4px; box-sizing: border-box; }
.bar { position: absolute; top: 3px; height: 12px; }
.wait { background: #f4a261; } .transfer { background: #2a9d8f; } .here { background: #999; }
.queue { background: #c9ada7; } .dns { background: #4cc9f0; } .connect { background: #4361ee; }
.proxy { background: #b5179e; } .tls { background: #f72585; }
.failed { background: #e63946; } .git { background: #7b2cbf; }
#tip { position: fixed; display: none; background: #222; color: #fff; padding: 6px 8px; border-radius: 4px;
  white-space: pre; pointer-events: none; z-index: 10; }
#errors { color: #e63946; white-space: pre-wrap; }
.legend span { display: inline-block; width: 12px; height: 12px; vertical-align: middle; margin: 0 4px 0 12px; }
</style></head>
<body>
<h1 id="title"></h1>
<div id="errors"></div>
<table id="summary"></table>
<h2>Overview</h2>
<div id="overview"></div>
<h2>Requests and git commands</h2>
<div id="controls">
<label>group <select id="group">
<option value="time">none (in the order asked)</option>
<option value="kind">by kind</option>
<option value="module">by module</option>
<option value="slowest">slowest first</option>
</select></label>
<label>filter <input id="filter" size="30" placeholder="path, upstream or status"></label>
<span id="shown"></span>
<label>zoom <input id="zoom" type="range" min="1" max="200" value="1"></label>
<span class="legend"><span class="queue"></span>queue<span class="dns"></span>DNS<span class="connect"></span>connect<span class="proxy"></span>proxy CONNECT<span class="tls"></span>TLS<span class="wait"></span>waiting for the first byte<span class="transfer"></span>transfer<span class="here"></span>answered by the recorder<span class="failed"></span>failed<span class="git"></span>git command; a red edge: on the critical path</span></div>
<div id="chart"></div>
<div id="tip"></div>
<script>
// Before the others: a syntax error in them is shown too.
window.onerror = function (msg) { document.getElementById("errors").textContent += "script error: " + msg + "\n"; };
</script>
<script>
/*PLOT*/
</script>
<script>
"use strict";
const data = /*DATA*/null;
const LABEL = 360, chart = document.getElementById("chart"), tip = document.getElementById("tip");
// Long texts (a command naming hundreds of modules) cut, whole on hover.
const cut = (el, text, n) => {
  el.textContent = text.length > n ? text.slice(0, n) + " …" : text;
  if (text.length > n) el.title = text;
};
cut(document.getElementById("title"), data.command + " (exit " + data.exit_code + ")", 160);
const ms = us => (us / 1000).toFixed(1) + " ms";
const took = r => (r.done === null ? r.asked : r.done) - r.asked;

// The summary, as a table.
const table = document.getElementById("summary");
for (const [section, detail] of data.table) {
  const tr = table.insertRow();
  if (section === "verdict") tr.className = "verdict";
  const a = tr.insertCell(), b = tr.insertCell();
  a.className = "section";
  a.textContent = section;
  cut(b, detail, 240);
}

// The overview timeline.
function overview() {
  const o = data.overview, wall = Math.max(data.wall_us, 1);
  const width = Math.max(document.body.clientWidth - 10, 600);
  ModgatePlot.lanes(document.getElementById("overview"), {
    from: 0, to: wall, unit: "us", width: width,
    lanes: [
      { name: "requests", title: "requests in flight", color: "#457b9d", steps: o.requests },
      { name: "git", title: "git commands", color: "#7b2cbf", spans: o.git },
      { name: "cpu", title: "command's CPU", color: "#e9c46a", steps: o.cpu, unit: " cores" },
      { name: "unaccounted", title: "not accounted for", color: "#6c757d", spans: o.unaccounted },
      { name: "critical", title: "critical path", color: "#d62828", spans: o.critical },
    ],
  });
}

// The rows: grouped, filtered, then drawn.
const params = new URLSearchParams(location.hash.slice(1));
const groupSel = document.getElementById("group"), filterBox = document.getElementById("filter");
if (params.get("group")) groupSel.value = params.get("group");
if (params.get("filter")) filterBox.value = params.get("filter");
let scale = 1;

function groups() {
  const f = filterBox.value.trim().toLowerCase();
  const rows = data.rows.filter(r => !f ||
    (r.path + " " + (r.upstream || "") + " " + (r.status === null ? "" : r.status)).toLowerCase().includes(f));
  const by = groupSel.value;
  if (by === "slowest") return [[null, rows.slice().sort((a, b) => took(b) - took(a))]];
  const sorted = rows.slice().sort((a, b) => a.asked - b.asked);
  if (by === "time") return [[null, sorted]];
  const m = new Map();
  for (const r of sorted) {
    const k = by === "kind" ? r.kind : r.module;
    if (!m.has(k)) m.set(k, []);
    m.get(k).push(r);
  }
  const total = rs => rs.reduce((s, r) => s + took(r), 0);
  return [...m.entries()].sort((a, b) => total(b[1]) - total(a[1]));
}

function draw() {
  const width = Math.max(chart.clientWidth - LABEL - 20, 200) * scale;
  const wall = Math.max(data.wall_us, 1);
  chart.textContent = "";
  let shown = 0;
  for (const [name, rows] of groups()) {
    if (name !== null) {
      const g = document.createElement("div");
      g.className = "group";
      g.dataset.group = name;
      g.style.width = (LABEL + width + 10) + "px";
      g.textContent = name + ": " + rows.length + " (" + ms(rows.reduce((s, r) => s + took(r), 0)) + " in all)";
      chart.appendChild(g);
    }
    for (const r of rows) {
      shown++;
      const row = document.createElement("div");
      row.className = "row" + (r.critical ? " critical" : "");
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = r.path;
      row.appendChild(label);
      const end = r.done === null ? r.asked : r.done;
      // Bars start past the label (which stays in view over them when scrolled).
      const x = us => LABEL + 8 + us / wall * width;
      const bar = (cls, from, to) => {
        const b = document.createElement("div");
        b.className = "bar " + cls;
        // Whole pixels, at least two: a short request stays visible and crisp.
        b.style.left = Math.round(x(from)) + "px";
        b.style.width = Math.max(Math.round(x(to) - x(from)), 2) + "px";
        row.appendChild(b);
      };
      if (r.kind === "git") bar("git", r.asked, end);
      else if (r.here) bar("here", r.asked, end);
      else if (r.error) bar("failed", r.asked, end);
      else for (const [name, from, to] of r.phases) bar(name, from, to);
      row.style.width = (LABEL + width + 10) + "px";
      row.onmousemove = e => {
        tip.style.display = "block";
        tip.style.left = (e.clientX + 12) + "px";
        tip.style.top = (e.clientY + 12) + "px";
        tip.textContent = r.path + "\n" + (r.upstream || "answered by the recorder") +
          "\nstatus " + (r.status === null ? "-" : r.status) + ", " + r.bytes + " bytes" +
          "\nasked at " + ms(r.asked) + ", total " + ms(end - r.asked) +
          (r.phases.length ? "\n" + r.phases.map(p => p[0] + " " + ms(p[2] - p[1])).join(", ") : "") +
          (r.peer ? "\nopened a connection to " + r.peer : (r.kind === "git" || r.here ? "" : "\non a connection already open")) +
          (r.cache ? "\ncache " + r.cache : "") + (r.attempt > 1 ? "\nattempt " + r.attempt : "") +
          (r.redirects ? "\n" + r.redirects + " redirects" : "") +
          (r.critical ? "\non the critical path" : "") +
          (r.error ? "\nerror: " + r.error : "");
      };
      row.onmouseleave = () => { tip.style.display = "none"; };
      chart.appendChild(row);
    }
  }
  document.getElementById("shown").textContent = shown + " of " + data.rows.length + " shown";
}
function changed() {
  const p = new URLSearchParams();
  if (groupSel.value !== "time") p.set("group", groupSel.value);
  if (filterBox.value) p.set("filter", filterBox.value);
  history.replaceState(null, "", p.toString() ? "#" + p.toString() : location.pathname);
  draw();
}
groupSel.onchange = changed;
filterBox.oninput = changed;
document.getElementById("zoom").oninput = e => { scale = Number(e.target.value); draw(); };
chart.addEventListener("wheel", e => {
  if (!e.ctrlKey && !e.altKey) return;
  e.preventDefault();
  scale = Math.min(200, Math.max(1, scale * (e.deltaY < 0 ? 1.25 : 0.8)));
  document.getElementById("zoom").value = scale;
  draw();
}, { passive: false });
let drag = null;
chart.onmousedown = e => { drag = { x: e.clientX, left: chart.scrollLeft }; };
window.onmouseup = () => { drag = null; };
window.onmousemove = e => { if (drag) chart.scrollLeft = drag.left - (e.clientX - drag.x); };
window.onresize = () => { overview(); draw(); };
overview();
draw();
</script></body></html>
"##;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::record::Record;
    use std::time::Duration;

    #[test]
    fn the_data_is_embedded_and_cannot_end_the_script() {
        let t = Trace {
            command: vec!["go".into(), "mod".into(), "download".into()],
            exit_code: Some(0),
            wall_us: 1000,
            git: vec![],
            parallelism: None,
            cpu: vec![],
            records: vec![Record {
                id: 0,
                path: "/x</script><b>/@v/list".into(),
                upstream: "http://up".into(),
                answered_here: false,
                status: Some(200),
                bytes: 3,
                asked: Duration::from_micros(10),
                first_byte: Some(Duration::from_micros(20)),
                done: Some(Duration::from_micros(30)),
                ..Record::default()
            }],
        };
        let p = page(&t);
        assert!(!p.contains("/*DATA*/null"));
        assert!(!p.contains("/*PLOT*/"));
        assert!(p.contains("var ModgatePlot"));
        assert!(p.contains(r#""path":"/x<\/script><b>/@v/list""#), "{p}");
        assert_eq!(p.matches("</script>").count(), 3);
        // Self-contained: nothing fetched.
        for external in ["src=", "href=", "@import", "url("] {
            assert!(!p.contains(external), "{external}");
        }
    }
}

#[cfg(test)]
mod overview_tests {
    use super::*;

    #[test]
    fn the_summary_becomes_rows_by_section() {
        let rows = summary_rows(
            "modgate trace: go mod download in 1.00s (exit 0), 3 requests\n  list      1 requests, 5 ms in all\nslowest requests:\n  5 ms  /a/@v/list\nverdict: 90% of the time was the go command's own work\n",
        );
        let want: Vec<(String, String)> = [
            (
                "modgate trace",
                "go mod download in 1.00s (exit 0), 3 requests",
            ),
            ("", "list      1 requests, 5 ms in all"),
            ("slowest requests", ""),
            ("", "5 ms  /a/@v/list"),
            ("verdict", "90% of the time was the go command's own work"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(rows, want);
    }

    #[test]
    fn modules_of_paths() {
        assert_eq!(
            module_of("/github.com/!foo/bar/@v/v1.0.0.zip"),
            "github.com/!foo/bar"
        );
        assert_eq!(module_of("/example.com/m/@latest"), "example.com/m");
        assert_eq!(
            module_of("/sumdb/sum.golang.org/lookup/x@v1"),
            "checksum database"
        );
    }

    #[test]
    fn requests_in_flight_at_each_change() {
        use crate::trace::record::Record;
        let r = |a: u64, b: u64| Record {
            asked: Duration::from_micros(a),
            done: Some(Duration::from_micros(b)),
            ..Record::default()
        };
        let t = Trace {
            command: vec![],
            exit_code: Some(0),
            wall_us: 100,
            git: vec![],
            parallelism: None,
            cpu: vec![(0, 0), (50, 25), (100, 100)],
            records: vec![r(0, 30), r(10, 30), r(40, 60)],
        };
        assert_eq!(in_flight(&t), [(0, 1), (10, 2), (30, 0), (40, 1), (60, 0)]);
        let cpu = cpu_use(&t);
        assert_eq!(cpu.len(), 1);
        assert_eq!(cpu[0].0, 0);
    }
}
