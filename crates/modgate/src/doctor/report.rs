//! The doctor's report for people: findings grouped network / configuration / git / cache
//! and disk / CPU, each with what was measured, the cause, and the fix to paste; then what
//! was measured where nothing was wrong; then the explanation asked for.

use std::fmt::Write;

use super::finding::{Group, Severity};
use super::run::Report;

/// The groups in the order they are printed, with their titles.
const GROUPS: [(Group, &str); 5] = [
    (Group::Network, "network"),
    (Group::Configuration, "configuration"),
    (Group::Git, "git"),
    (Group::Cache, "cache and disk"),
    (Group::Cpu, "CPU"),
];

fn title(g: Group) -> &'static str {
    GROUPS.iter().find(|(x, _)| *x == g).map_or("", |(_, t)| t)
}

/// The report as text.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "modgate doctor: {}{}",
        r.dir.display(),
        r.module
            .as_deref()
            .map(|m| format!(" (module {m})"))
            .unwrap_or_default()
    );
    let _ = writeln!(s, "settings from {}", r.settings_from);
    for k in [
        "GOPROXY",
        "GOPRIVATE",
        "GONOPROXY",
        "GONOSUMDB",
        "GOSUMDB",
        "GOFLAGS",
    ] {
        let v = r.settings.get(k).map_or("", String::as_str);
        if !v.is_empty() {
            let _ = writeln!(s, "  {k}={v}");
        }
    }
    if !r.modules.is_empty() {
        let _ = writeln!(s, "modules checked: {}", r.modules.len());
    }
    // Routes, modules with the same route together.
    let mut by_route: Vec<(&str, Vec<&str>)> = Vec::new();
    for (m, route) in &r.routes {
        match by_route.iter_mut().find(|(x, _)| x == route) {
            Some((_, ms)) => ms.push(m),
            None => by_route.push((route, vec![m])),
        }
    }
    for (route, ms) in by_route {
        let who = if ms.len() <= 3 {
            ms.join(", ")
        } else {
            format!("{} and {} more", ms[..2].join(", "), ms.len() - 2)
        };
        let _ = writeln!(s, "  route of {who}: {route}");
    }
    for (g, t) in GROUPS {
        let found: Vec<_> = r.findings.iter().filter(|f| f.group == g).collect();
        let seen: Vec<_> = r.measured.iter().filter(|m| m.group == g).collect();
        let _ = writeln!(s, "\n{t}:{}", if found.is_empty() { " ok" } else { "" });
        for f in found {
            let mark = match f.severity {
                Severity::Problem => "PROBLEM",
                Severity::Warning => "warning",
            };
            let _ = writeln!(s, "  {mark}: {}", f.measured);
            let _ = writeln!(s, "    cause: {}", f.cause);
            if let Some(fix) = &f.fix {
                let _ = writeln!(s, "    fix:   {fix}");
            }
        }
        for m in seen {
            let _ = writeln!(s, "  measured: {}", m.text);
        }
    }
    if let Some(e) = &r.explanation {
        let _ = writeln!(s, "\nexplain: {}", e.text.lines().next().unwrap_or(""));
        if e.kinds.is_empty() {
            let _ = writeln!(
                s,
                "  not an error the doctor knows; the checks above are all it can say"
            );
        }
        for k in &e.kinds {
            let _ = writeln!(s, "  {}: {}", k.name, k.meaning);
            if k.stated {
                let _ = writeln!(s, "    the text says the cause: {}", k.causes.join("; "));
            } else {
                let _ = writeln!(s, "    possible causes: {}", k.causes.join("; "));
            }
            if k.confirmed_by.is_empty() {
                let _ = writeln!(
                    s,
                    "    on this machine: no cause found now by the {} checks (ruled out as they stand; it may be the server's side or already fixed)",
                    k.checked
                        .iter()
                        .map(|g| title(*g))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            } else {
                for i in &k.confirmed_by {
                    if let Some(f) = r.findings.get(*i) {
                        let _ = writeln!(s, "    confirmed: {} ({})", f.measured, title(f.group));
                        if let Some(fix) = &f.fix {
                            let _ = writeln!(s, "      fix: {fix}");
                        }
                    }
                }
            }
        }
        if !e.modules.is_empty() {
            let _ = writeln!(
                s,
                "  modules named, checked above: {}",
                e.modules.join(", ")
            );
        }
    }
    let (p, w) = (r.count(Severity::Problem), r.count(Severity::Warning));
    let _ = writeln!(
        s,
        "\n{}",
        match (p, w) {
            (0, 0) => "healthy: no finding".to_string(),
            (0, w) => format!("{w} warning(s), no problem"),
            (p, w) => format!("{p} problem(s), {w} warning(s)"),
        }
    );
    s
}
