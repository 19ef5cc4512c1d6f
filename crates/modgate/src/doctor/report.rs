//! The doctor's report for people: findings grouped network / configuration / git / cache
//! and disk / CPU, each with what was measured, the cause, and the fix to paste; then what
//! was measured where nothing was wrong; then the explanation asked for. And
//! [`fix_script`]: the fixes of a run as a shell script to read and run.

use std::fmt::Write;

use super::checked::{Measured, Series};
use super::explain::{Explanation, KindReport};
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

/// The lines of what was measured in one group: each line, or with `verbose` off, each
/// series of like measurements as one summary (how many, the range, the slowest).
fn measured_lines(seen: &[&Measured], verbose: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut series: Vec<(&str, Vec<&Series>)> = Vec::new();
    for m in seen {
        match &m.series {
            Some(x) if !verbose => match series.iter_mut().find(|(n, _)| *n == x.name) {
                Some((_, items)) => items.push(x),
                None => series.push((&x.name, vec![x])),
            },
            _ => out.push(m.text.clone()),
        }
    }
    for (name, items) in series {
        let min = items.iter().map(|x| x.ms).min().unwrap_or(0);
        let slowest = items.iter().max_by_key(|x| x.ms);
        let line = match (items.len(), slowest) {
            (1, Some(x)) => format!("{name}: 1 answered ({}), {} ms", x.item, x.ms),
            (n, Some(x)) => format!(
                "{name}: {n} answered, {min}-{} ms, the slowest {} (--verbose lists each)",
                x.ms, x.item
            ),
            _ => continue,
        };
        out.push(line);
    }
    out
}

/// The report as text; `verbose` lists every measurement instead of summarizing series.
pub fn render(r: &Report, verbose: bool) -> String {
    let mut s = String::new();
    header(&mut s, r);
    routes(&mut s, r);
    for (g, t) in GROUPS {
        group(&mut s, r, g, t, verbose);
    }
    if let Some(e) = &r.explanation {
        explanation(&mut s, r, e);
    }
    verdict(&mut s, r);
    s
}

/// The directory and its module, where the settings came from and those set, how many
/// modules were checked.
fn header(s: &mut String, r: &Report) {
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
}

/// The routes, modules with the same route together.
fn routes(s: &mut String, r: &Report) {
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
}

/// The group `g` titled `t`: its findings, then what was measured in it.
fn group(s: &mut String, r: &Report, g: Group, t: &str, verbose: bool) {
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
    for line in measured_lines(&seen, verbose) {
        let _ = writeln!(s, "  measured: {line}");
    }
}

/// The explanation asked for with `--explain`: each kind of error the text is, and the
/// modules it names.
fn explanation(s: &mut String, r: &Report, e: &Explanation) {
    let _ = writeln!(s, "\nexplain: {}", e.text.lines().next().unwrap_or(""));
    if e.kinds.is_empty() {
        let _ = writeln!(
            s,
            "  not an error the doctor knows; the checks above are all it can say"
        );
    }
    for k in &e.kinds {
        kind(s, r, k);
    }
    if !e.modules.is_empty() {
        let _ = writeln!(
            s,
            "  modules named, checked above: {}",
            e.modules.join(", ")
        );
    }
}

/// One kind of error of the explanation: what it means, its causes, and the findings
/// that confirm one (or the checks that ruled them out).
fn kind(s: &mut String, r: &Report, k: &KindReport) {
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

/// The last line: how many problems and warnings.
fn verdict(s: &mut String, r: &Report) {
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
}

/// The fixes of `r` as a POSIX shell script, problems first: each finding as a comment
/// (what was measured, the cause), then its command lines. A command with a placeholder
/// (`<user>`) is left commented out, to fill in; a fix that is advice stays a comment.
/// Nothing is run by the doctor.
pub fn fix_script(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/sh");
    let _ = writeln!(
        s,
        "# The fixes modgate doctor proposes for {}: read each before running it.",
        r.dir.display()
    );
    let _ = writeln!(s, "set -eu");
    let mut findings: Vec<_> = r.findings.iter().collect();
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    if findings.is_empty() {
        let _ = writeln!(s, "# nothing to fix: no finding");
    }
    for f in findings {
        let comment = |s: &mut String, text: &str| {
            for line in text.lines() {
                let _ = writeln!(s, "# {line}");
            }
        };
        let _ = writeln!(s);
        let sev = match f.severity {
            Severity::Problem => "problem",
            Severity::Warning => "warning",
        };
        comment(
            &mut s,
            &format!("{sev} ({}): {}", title(f.group), f.measured),
        );
        comment(&mut s, &format!("cause: {}", f.cause));
        let commands = f.fix_commands();
        if commands.is_empty() {
            match &f.fix {
                Some(fix) => comment(&mut s, &format!("fix (by hand): {fix}")),
                None => comment(&mut s, "no fix to run: see the cause"),
            }
            continue;
        }
        for c in commands {
            if has_placeholder(&c) {
                let _ = writeln!(s, "# fill in the <...> and uncomment:");
                let _ = writeln!(s, "# {c}");
            } else {
                let _ = writeln!(s, "{c}");
            }
        }
    }
    s
}

/// Whether `c` holds a placeholder: `<` followed by a word and `>` (not a redirection).
fn has_placeholder(c: &str) -> bool {
    let mut rest = c;
    while let Some(i) = rest.find('<') {
        let after = &rest[i + 1..];
        if let Some(j) = after.find('>')
            && j > 0
            && after[..j]
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, ' ' | '-' | '_' | '.'))
        {
            return true;
        }
        rest = after;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::finding::Finding;

    fn report(findings: Vec<Finding>) -> Report {
        Report {
            dir: "/p".into(),
            module: None,
            settings_from: String::new(),
            settings: Default::default(),
            modules: Vec::new(),
            routes: Vec::new(),
            findings,
            measured: Vec::new(),
            explanation: None,
        }
    }

    fn finding(severity: Severity, fix: Option<&str>) -> Finding {
        Finding {
            group: Group::Configuration,
            severity,
            measured: "what was seen".into(),
            cause: "why".into(),
            fix: fix.map(String::from),
        }
    }

    #[test]
    fn series_print_as_one_line_unless_verbose() {
        let mut c = crate::doctor::checked::Checked::default();
        c.measure(Group::Git, "insteadOf rules: 1");
        for (m, ms) in [
            ("a.example/x", 40),
            ("b.example/y", 900),
            ("c.example/z", 120),
        ] {
            c.measure_item(Group::Git, "git ls-remote", m, ms, format!("{m}: {ms} ms"));
        }
        let seen: Vec<&Measured> = c.measured.iter().collect();
        assert_eq!(
            measured_lines(&seen, false),
            [
                "insteadOf rules: 1",
                "git ls-remote: 3 answered, 40-900 ms, the slowest b.example/y (--verbose lists each)"
            ]
        );
        assert_eq!(measured_lines(&seen, true).len(), 4);
    }

    #[test]
    fn fix_script_runs_commands_and_leaves_the_rest_as_comments() {
        let s = fix_script(&report(vec![
            finding(Severity::Warning, Some("check the URL")),
            finding(
                Severity::Problem,
                Some("go env -w GOPRIVATE=corp.example.com  (a note)"),
            ),
            finding(
                Severity::Problem,
                Some("printf 'machine h login <user> password <token>\\n' >> /h/.netrc"),
            ),
            finding(
                Severity::Problem,
                Some("sed -i '/x/d' go.sum && go mod download a@v1.0.0 2>&1"),
            ),
        ]));
        assert_eq!(
            s,
            "#!/bin/sh\n# The fixes modgate doctor proposes for /p: read each before running it.\nset -eu\n\
             \n# problem (configuration): what was seen\n# cause: why\ngo env -w GOPRIVATE=corp.example.com\n\
             \n# problem (configuration): what was seen\n# cause: why\n# fill in the <...> and uncomment:\n# printf 'machine h login <user> password <token>\\n' >> /h/.netrc\n\
             \n# problem (configuration): what was seen\n# cause: why\nsed -i '/x/d' go.sum\ngo mod download a@v1.0.0 2>&1\n\
             \n# warning (configuration): what was seen\n# cause: why\n# fix (by hand): check the URL\n"
        );
        assert_eq!(
            fix_script(&report(vec![])),
            "#!/bin/sh\n# The fixes modgate doctor proposes for /p: read each before running it.\nset -eu\n# nothing to fix: no finding\n"
        );
    }
}
