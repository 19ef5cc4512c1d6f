//! `deploy/grafana/modgate.json` against a real `/metrics`: a replica on S3-compatible
//! storage (SeaweedFS) with Redis, an upstream proxy and `direct`, and one on the local
//! disk, so that every family is exported. Every expression of the dashboard (its panels' and its variables') names
//! metrics that `/metrics` exports, with labels they have (or that Prometheus adds:
//! `instance`, `job`), label values that occur, and every family is on the dashboard.

use std::collections::{BTreeMap, BTreeSet};

use crate::serve_common::upstream::Upstream;
use crate::serve_common::*;

/// Labels Prometheus adds to every series it scrapes.
const TARGET_LABELS: [&str; 2] = ["instance", "job"];

/// Each sample name of `/metrics` text, with its labels and the values each takes.
fn samples(text: &str) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => (&line[..i], &line[i..]),
            None => continue,
        };
        let labels = out.entry(name.to_string()).or_default();
        if let Some(inner) = rest.strip_prefix('{').and_then(|r| r.split_once('}')) {
            for (k, v) in matchers(inner.0) {
                labels.entry(k).or_default().insert(v);
            }
        }
    }
    out
}

/// The `label OP "value"` pairs of a selector's or a sample's braces (the operator
/// dropped).
fn matchers(inner: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = inner.trim();
    while !rest.is_empty() {
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        let after = rest[name_end..].trim_start_matches(['=', '!', '~', ' ']);
        let after = after.strip_prefix('"').expect(inner);
        let close = after.find('"').expect(inner);
        out.push((name.to_string(), after[..close].to_string()));
        rest = after[close + 1..].trim_start_matches([',', ' ']);
    }
    out
}

/// A metric named in an expression: its name, its selector's matchers.
struct Named {
    name: String,
    matchers: Vec<(String, String)>,
}

/// The metrics an expression names, and the labels of its `by (...)`, `without (...)`
/// and `label_values(m, label)`.
fn parse(expr: &str) -> (Vec<Named>, Vec<String>) {
    let b = expr.as_bytes();
    let (mut named, mut grouped) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if !(c.is_ascii_alphabetic() || c == '_') || (i > 0 && is_ident(b[i - 1] as char)) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_ident(b[i] as char) {
            i += 1;
        }
        let word = &expr[start..i];
        let rest = expr[i..].trim_start();
        if word.starts_with("modgate_") || word.starts_with("process_") {
            let mut m = Vec::new();
            if let Some(r) = expr[i..].strip_prefix('{') {
                let close = r.find('}').expect(expr);
                m = matchers(&r[..close]);
                i += close + 2;
            }
            named.push(Named {
                name: word.to_string(),
                matchers: m,
            });
        } else if matches!(word, "by" | "without") && rest.starts_with('(') {
            let close = rest.find(')').expect(expr);
            grouped.extend(rest[1..close].split(',').map(|l| l.trim().to_string()));
        } else if word == "label_values" && rest.starts_with('(') {
            let close = rest.find(')').expect(expr);
            if let Some((_, label)) = rest[1..close].split_once(',') {
                grouped.push(label.trim().to_string());
            }
        }
    }
    (named, grouped)
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every expression of the dashboard: its panels' targets and its variables' queries.
fn expressions(dash: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut panels: Vec<&serde_json::Value> = dash["panels"].as_array().unwrap().iter().collect();
    while let Some(p) = panels.pop() {
        if let Some(inner) = p["panels"].as_array() {
            panels.extend(inner);
        }
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push(t["expr"].as_str().unwrap().to_string());
        }
    }
    for v in dash["templating"]["list"].as_array().unwrap() {
        if let Some(q) = v["definition"].as_str() {
            out.push(q.to_string());
        }
    }
    out
}

#[test]
fn every_expression_of_the_grafana_dashboard_names_what_metrics_exports() {
    let sw = testkit::seaweed::Seaweed::start();
    sw.create_bucket("modules");
    let redis = testkit::redis::Redis::start();
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("upstream"));
    tree.add(
        "example.com/a",
        "v1.0.0",
        "2024-01-02T03:04:05Z",
        &[("a.go", "package a\n")],
    );
    let up = Upstream::start(&tree.root);
    let env: Vec<(&str, String)> = sw.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let s = Server::start_env(
        &[
            "--data-dir",
            tmp.path().join("d").to_str().unwrap(),
            "--storage",
            "s3://modules/dash",
            "--redis",
            &redis.url(),
            "--upstream",
            &format!("{}|direct", up.url),
        ],
        &env,
    );
    let r = raw_get(&s.addr, "GET", "/example.com/a/@v/v1.0.0.zip").unwrap();
    assert_eq!(r.status, 200);
    // And one on the local disk, whose usage is counted (not with S3 storage), once its
    // start-up scan is done.
    let disk = Server::start(&[
        "--data-dir",
        tmp.path().join("disk").to_str().unwrap(),
        "--upstream",
        &up.url,
    ]);
    let mut disk_text = String::new();
    for _ in 0..100 {
        disk_text = raw_get(&disk.addr, "GET", "/metrics").unwrap().text();
        if disk_text.contains("\nmodgate_store_bytes{") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let text = raw_get(&s.addr, "GET", "/metrics").unwrap().text() + &disk_text;
    let exported = samples(&text);

    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/grafana/modgate.json"
    );
    let dash: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let exprs = expressions(&dash);
    assert!(exprs.len() > 30, "{exprs:?}");
    let mut on_dashboard = BTreeSet::new();
    for expr in &exprs {
        let (named, grouped) = parse(expr);
        assert!(!named.is_empty(), "{expr}: names no metric");
        let mut labels: BTreeSet<String> = TARGET_LABELS.map(String::from).into();
        for n in &named {
            let Some(has) = exported.get(&n.name) else {
                panic!("{expr}: {} is not on /metrics:\n{text}", n.name)
            };
            on_dashboard.insert(n.name.clone());
            labels.extend(has.keys().cloned());
            for (label, value) in &n.matchers {
                if TARGET_LABELS.contains(&label.as_str()) {
                    continue;
                }
                let Some(values) = has.get(label) else {
                    panic!("{expr}: {} has no label {label}:\n{text}", n.name)
                };
                // A value (or each alternative of a regular expression) occurs.
                for v in value.split('|') {
                    assert!(
                        values.contains(v),
                        "{expr}: {}{{{label}}} never is {v:?} (it is {values:?})",
                        n.name
                    );
                }
            }
        }
        for g in &grouped {
            assert!(
                labels.contains(g),
                "{expr}: no metric of it has the label {g}"
            );
        }
    }
    // Every family on /metrics is on the dashboard (by one of its sample names).
    for line in text.lines() {
        let Some(family) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let (family, kind) = family.split_once(' ').unwrap();
        let names: Vec<String> = match kind {
            "counter" => vec![format!("{family}_total")],
            "histogram" => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|s| format!("{family}{s}"))
                .collect(),
            _ => vec![family.to_string()],
        };
        assert!(
            names.iter().any(|n| on_dashboard.contains(n)),
            "{family} is not on the dashboard"
        );
    }
}

#[test]
fn the_dashboard_s_expressions_are_read_as_prometheus_reads_them() {
    let (named, grouped) = parse(
        "histogram_quantile(0.99, sum by (le, upstream) (rate(modgate_upstream_first_byte_seconds_bucket{instance=~\"$instance\",outcome=\"ok\"}[5m]))) / process_max_fds",
    );
    let names: Vec<&str> = named.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "modgate_upstream_first_byte_seconds_bucket",
            "process_max_fds"
        ]
    );
    assert_eq!(
        named[0].matchers,
        [
            ("instance".to_string(), "$instance".to_string()),
            ("outcome".to_string(), "ok".to_string())
        ]
    );
    assert_eq!(grouped, ["le", "upstream"]);
    let (named, grouped) = parse("label_values(modgate_build_info, instance)");
    assert_eq!(named[0].name, "modgate_build_info");
    assert_eq!(grouped, ["instance"]);
}
