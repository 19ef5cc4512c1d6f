//! `--html`: one self-contained file (no external script, style sheet or font) with the
//! waterfall: a row per request, its bar from when the command asked to when the body
//! ended, colored by phase (queue, DNS, connect, proxy CONNECT, TLS, waiting for the
//! first byte, transfer), and a row per git command, a hover box with the details, zoom with the mouse wheel (or the slider) and a drag to scroll. The records
//! are embedded as JSON; the page draws them with a few lines of plain JavaScript, and any
//! script error is shown on the page itself (`#errors`).

use super::report::{Trace, kind};

/// The page for `trace`.
pub fn page(trace: &Trace) -> String {
    let data = serde_json::json!({
        "command": trace.command.join(" "),
        "exit_code": trace.exit_code,
        "wall_us": trace.wall_us,
        "summary": trace.summary(),
        "rows": trace.records.iter().map(|r| serde_json::json!({
            "path": r.path,
            "kind": kind(&r.path),
            "upstream": r.upstream,
            "status": r.status,
            "bytes": r.bytes,
            "asked": r.asked.as_micros() as u64,
            "first_byte": r.first_byte.map(|d| d.as_micros() as u64),
            "done": r.done.map(|d| d.as_micros() as u64),
            "error": r.error,
            "here": r.answered_here,
            "phases": r.phase_spans().iter().map(|(n, a, b)| serde_json::json!(
                [n, a.as_micros() as u64, b.as_micros() as u64]
            )).collect::<Vec<_>>(),
            "cache": r.cache,
            "attempt": r.attempt,
            "redirects": r.redirects.len(),
            "peer": r.opened.as_ref().map(|p| p.peer.clone()),
        })).chain(trace.git.iter().map(|g| serde_json::json!({
            "path": format!("git {}", g.args.join(" ")),
            "kind": "git",
            "upstream": g.repo.clone().unwrap_or_else(|| g.dir.clone()),
            "status": g.exit_code,
            "bytes": 0,
            "asked": g.start_us,
            "first_byte": g.start_us,
            "done": g.end_us,
            "error": null,
            "here": false,
            "phases": [],
        }))).collect::<Vec<_>>(),
    });
    // Inside <script>: no "</" can end the element early.
    let json = data.to_string().replace("</", "<\\/");
    TEMPLATE.replace("/*DATA*/null", &json)
}

const TEMPLATE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>modgate trace</title>
<style>
body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 16px; margin: 0 0 4px; }
pre#summary { background: #f6f6f6; padding: 8px; overflow-x: auto; }
#controls { margin: 8px 0; }
#chart { position: relative; overflow-x: auto; border: 1px solid #ccc; cursor: grab; }
.row { position: relative; height: 18px; border-bottom: 1px solid #f0f0f0; white-space: nowrap; }
.label { position: sticky; left: 0; z-index: 2; display: inline-block; width: 360px; overflow: hidden;
  text-overflow: ellipsis; background: #fff; padding-right: 4px; box-sizing: border-box; }
.bar { position: absolute; top: 3px; height: 12px; }
.wait { background: #f4a261; } .transfer { background: #2a9d8f; } .here { background: #999; }
.queue { background: #c9ada7; } .dns { background: #4cc9f0; } .connect { background: #4361ee; }
.proxy { background: #b5179e; } .tls { background: #f72585; }
.failed { background: #e63946; } .git { background: #7b2cbf; }
#tip { position: fixed; display: none; background: #222; color: #fff; padding: 6px 8px; border-radius: 4px;
  white-space: pre; pointer-events: none; z-index: 10; }
#errors { color: #e63946; }
.legend span { display: inline-block; width: 12px; height: 12px; vertical-align: middle; margin: 0 4px 0 12px; }
</style></head>
<body>
<h1 id="title"></h1>
<pre id="summary"></pre>
<div id="controls">zoom <input id="zoom" type="range" min="1" max="200" value="1">
<span class="legend"><span class="queue"></span>queue<span class="dns"></span>DNS<span class="connect"></span>connect<span class="proxy"></span>proxy CONNECT<span class="tls"></span>TLS<span class="wait"></span>waiting for the first byte<span class="transfer"></span>transfer<span class="here"></span>answered by the recorder<span class="failed"></span>failed<span class="git"></span>git command</span></div>
<div id="chart"></div>
<div id="tip"></div>
<div id="errors"></div>
<script>
"use strict";
window.onerror = function (msg) { document.getElementById("errors").textContent += "script error: " + msg + "\n"; };
const data = /*DATA*/null;
const LABEL = 360, chart = document.getElementById("chart"), tip = document.getElementById("tip");
document.getElementById("title").textContent = data.command + " (exit " + data.exit_code + ")";
document.getElementById("summary").textContent = data.summary;
const ms = us => (us / 1000).toFixed(1) + " ms";
let scale = 1;
function draw() {
  const width = Math.max(chart.clientWidth - LABEL - 20, 200) * scale;
  const wall = Math.max(data.wall_us, 1);
  chart.textContent = "";
  const rows = data.rows.slice().sort((a, b) => a.asked - b.asked);
  for (const r of rows) {
    const row = document.createElement("div");
    row.className = "row";
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
        (r.error ? "\nerror: " + r.error : "");
    };
    row.onmouseleave = () => { tip.style.display = "none"; };
    chart.appendChild(row);
  }
}
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
window.onresize = draw;
draw();
</script></body></html>
"#;

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
        assert!(p.contains(r#""path":"/x<\/script><b>/@v/list""#), "{p}");
        assert_eq!(p.matches("</script>").count(), 1);
        // Self-contained: nothing fetched.
        for external in ["src=", "href=", "@import", "url("] {
            assert!(!p.contains(external), "{external}");
        }
    }
}
