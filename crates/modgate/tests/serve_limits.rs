//! Limits and what /metrics says of them, against real upstreams on loopback:
//! - an upstream that answers `429 Too Many Requests` with `Retry-After`: modgate pauses
//!   and asks again, and the go command's download succeeds;
//! - a client over its request limit gets 429 with `Retry-After`; health checks never do;
//! - an upstream that keeps failing opens its circuit breaker: it is skipped (the `|`
//!   fallback answers) until its open time is over;
//! - /metrics: the Prometheus names, and never a module path.

use std::sync::Arc;
use std::time::Duration;

use crate::serve_common::upstream::{Answer, Upstream};
use crate::serve_common::*;

const T1: &str = "2024-01-02T03:04:05Z";

fn metric_lines(addr: &str) -> Vec<String> {
    let r = raw_get(addr, "GET", "/metrics").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    r.text().lines().map(str::to_string).collect()
}

#[test]
fn an_upstream_429_slows_modgate_down_instead_of_failing_the_client() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    let a = tree.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    let b = tree.add("example.com/b", "v1.1.0", T1, &[("b.go", "package b\n")]);
    // The first request of each file: 429, Retry-After: 1.
    let up = Upstream::start_with(
        &tree.root,
        Arc::new(|_: &str, n: usize| {
            if n == 1 {
                Answer::Status(
                    429,
                    vec![("Retry-After".into(), "1".into())],
                    "slow down\n".into(),
                )
            } else {
                Answer::Serve(Duration::ZERO)
            }
        }),
    );
    let s = Server::start(&[
        "--data-dir",
        tmp.path().join("d").to_str().unwrap(),
        "--upstream",
        &up.url,
    ]);
    let got = downloaded(&s.url(), &["example.com/a@v1.0.0", "example.com/b@v1.1.0"]);
    assert_eq!(
        got,
        [
            (
                "example.com/a".to_string(),
                "v1.0.0".to_string(),
                a.zip_h1.clone(),
                a.mod_h1.clone()
            ),
            (
                "example.com/b".to_string(),
                "v1.1.0".to_string(),
                b.zip_h1.clone(),
                b.mod_h1.clone()
            ),
        ]
    );
    // Each file asked twice: the 429, then the answer.
    let mut want = Vec::new();
    for (m, v) in [("example.com/a", "v1.0.0"), ("example.com/b", "v1.1.0")] {
        for ext in ["info", "mod", "zip"] {
            want.push((format!("/{m}/@v/{v}.{ext}"), 2));
        }
    }
    want.sort();
    assert_eq!(up.counts(), want);
    assert!(
        s.log_with("429 Too Many Requests").contains(
            "the upstream answered 429 Too Many Requests: pausing requests to it, then asking again"
        ),
        "{}",
        s.log_text()
    );
    let lines = metric_lines(&s.addr);
    // The local disk's bytes: every file the store keeps (not the downloads in tmp/, nor
    // the records of fetches: a few dozen bytes a version, not counted, removed with it).
    let files = files_under(&tmp.path().join("d"));
    assert!(
        files.iter().any(|f| f.starts_with("modgate/fetched/")),
        "{files:?}"
    );
    let stored: u64 = files
        .iter()
        .filter(|f| {
            !f.starts_with("tmp/") && !f.ends_with("modgate.lock") && !f.starts_with("modgate/")
        })
        .map(|f| {
            std::fs::metadata(tmp.path().join("d").join(f))
                .unwrap()
                .len()
        })
        .sum();
    let bytes_line = format!("modgate_store_bytes{{scope=\"local_disk\"}} {stored}");
    assert!(
        lines.contains(&bytes_line),
        "{bytes_line} not in:\n{}\n{:?}",
        lines.join("\n"),
        files_under(&tmp.path().join("d"))
    );
    let upstream = format!("{}/", up.url);
    for want in [
        format!(
            "modgate_upstream_requests_total{{upstream=\"{upstream}\",outcome=\"rate_limited\"}} 6"
        ),
        format!("modgate_upstream_requests_total{{upstream=\"{upstream}\",outcome=\"ok\"}} 6"),
        "modgate_cache_lookups_total{kind=\"zip\",result=\"miss\"} 2".to_string(),
        "modgate_store_writes_total{kind=\"zip\"} 2".to_string(),
        "modgate_store_entries{scope=\"local_disk\"} 2".to_string(),
        "modgate_http_requests_total{endpoint=\"zip\",code=\"200\"} 2".to_string(),
        "modgate_http_requests_in_flight 1".to_string(),
        "modgate_build_info{version=\"0.1.0\"} 1".to_string(),
        "# EOF".to_string(),
    ] {
        assert!(
            lines.contains(&want),
            "{want} not in:\n{}",
            lines.join("\n")
        );
    }
    let all = lines.join("\n");
    assert!(
        !all.contains("example.com"),
        "a module path in /metrics:\n{all}"
    );
    // modgate's own names, and the process's as every Prometheus client names them.
    for l in &lines {
        if let Some(name) = l.split(['{', ' ']).next()
            && !l.starts_with('#')
        {
            assert!(
                name.starts_with("modgate_") || name.starts_with("process_"),
                "{l}"
            );
        }
    }
    // Each answered upstream request's time to its headers and its transfer, apart;
    // the 429s are counted, not timed.
    for (family, n) in [
        ("upstream_first_byte_seconds_count", 6),
        ("upstream_transfer_seconds_count", 6),
        ("upstream_request_duration_seconds_count", 6),
    ] {
        let want = if family.starts_with("upstream_request") {
            format!("modgate_{family}{{upstream=\"{upstream}\"}} {n}")
        } else {
            format!("modgate_{family}{{upstream=\"{upstream}\",outcome=\"ok\"}} {n}")
        };
        assert!(lines.contains(&want), "{want} not in:\n{all}");
    }
}

#[test]
fn a_client_over_its_limit_gets_429_with_retry_after() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    tree.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    let s = Server::with_config(
        tmp.path(),
        "[limits]\nclient_requests_per_second = 1\nclient_burst = 2\n",
        &tree.url(),
    );
    // Health checks (Server::start made some already) are never limited.
    for _ in 0..5 {
        assert_eq!(raw_get(&s.addr, "GET", "/healthz").unwrap().status, 200);
        assert_eq!(raw_get(&s.addr, "GET", "/metrics").unwrap().status, 200);
    }
    let got: Vec<_> = (0..3)
        .map(|_| raw_get(&s.addr, "GET", "/example.com/a/@v/list").unwrap())
        .collect();
    assert_eq!(got[0].status, 200);
    assert_eq!(got[1].status, 200);
    assert_eq!(got[2].status, 429);
    assert_eq!(got[2].header("retry-after"), Some("1"));
    assert_eq!(
        got[2].text(),
        "too many requests: over 1 a second (bursts of 2); retry after 1s\n"
    );
    // Logged under the request's id.
    let id = got[2].header("x-request-id").unwrap();
    assert!(
        s.log_with("client over its request limit").contains(&format!(
            "request{{id={id}}}: modgate::http::limit: client over its request limit: 429 client=127.0.0.1 retry_after_s=1"
        )),
        "{}",
        s.log_text()
    );
}

#[test]
fn a_failing_upstream_is_skipped_by_its_circuit_breaker() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    for m in ["a", "b", "c", "d", "e"] {
        tree.add(
            &format!("example.com/{m}"),
            "v1.0.0",
            T1,
            &[("x.go", "package x\n")],
        );
    }
    let broken = Upstream::start_with(
        &tree.root,
        Arc::new(|_: &str, _| Answer::Status(500, vec![], "broken\n".into())),
    );
    let good = Upstream::start(&tree.root);
    let s = Server::with_config(
        tmp.path(),
        "[limits]\nbreaker_failures = 2\nbreaker_open = 300\n",
        &format!("{}|{}", broken.url, good.url),
    );
    for m in ["a", "b", "c", "d", "e"] {
        let r = raw_get(&s.addr, "GET", &format!("/example.com/{m}/@v/v1.0.0.info")).unwrap();
        assert_eq!(r.status, 200, "{m}: {}", r.text());
    }
    // Two failures opened the breaker; the next three went to the fallback alone.
    assert_eq!(
        broken.counts(),
        [
            ("/example.com/a/@v/v1.0.0.info".to_string(), 1),
            ("/example.com/b/@v/v1.0.0.info".to_string(), 1)
        ]
    );
    assert_eq!(good.counts().len(), 5);
    let log = s.log_with("circuit breaker open");
    assert_eq!(log.matches("circuit breaker open").count(), 1, "{log}");
    let lines = metric_lines(&s.addr);
    for want in [
        format!(
            "modgate_upstream_requests_total{{upstream=\"{}/\",outcome=\"skipped\"}} 3",
            broken.url
        ),
        format!(
            "modgate_upstream_requests_total{{upstream=\"{}/\",outcome=\"error\"}} 2",
            broken.url
        ),
        format!(
            "modgate_upstream_breaker_open{{upstream=\"{}/\"}} 1",
            broken.url
        ),
        format!(
            "modgate_upstream_breaker_open{{upstream=\"{}/\"}} 0",
            good.url
        ),
        // The 500s came with headers: their time to them is counted as errors.
        format!(
            "modgate_upstream_first_byte_seconds_count{{upstream=\"{}/\",outcome=\"error\"}} 2",
            broken.url
        ),
    ] {
        assert!(
            lines.contains(&want),
            "{want} not in:\n{}",
            lines.join("\n")
        );
    }
}

#[test]
fn every_family_is_on_metrics_from_the_start_with_its_known_label_sets() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    let up = Upstream::start(&tree.root);
    let s = Server::start(&[
        "--data-dir",
        tmp.path().join("d").to_str().unwrap(),
        "--upstream",
        &format!("{}|direct", up.url),
    ]);
    let lines = metric_lines(&s.addr);
    let all = lines.join("\n");
    let upstream = format!("{}/", up.url);
    let mut want: Vec<String> = [
        "modgate_cache_lookups_total{kind=\"zip\",result=\"hit\"} 0",
        "modgate_cache_lookups_total{kind=\"query\",result=\"stale\"} 0",
        "modgate_http_requests_total{endpoint=\"zip\",code=\"200\"} 0",
        "modgate_connections_refused_total{cap=\"max_connections\"} 0",
        "modgate_prefetches_total{result=\"done\"} 0",
        "modgate_prefetches_pending 0",
        "modgate_warm_jobs_total{result=\"failed\"} 0",
        "modgate_warm_jobs_running 0",
        "modgate_warm_versions_total{result=\"stored\"} 0",
        "modgate_warm_callbacks_total{result=\"refused\"} 0",
        "modgate_bundles_total{result=\"made\"} 0",
        "modgate_sumdb_verifications_total{result=\"ok\"} 0",
        "modgate_store_writes_total{kind=\"zip\"} 0",
        "modgate_evictions_total 0",
        "modgate_evicted_bytes_total 0",
        "modgate_upstream_hedges_total{result=\"lost\"} 0",
        "modgate_git_command_duration_seconds_count{command=\"clone\"} 0",
        "modgate_git_command_duration_seconds_count{command=\"archive\"} 0",
    ]
    .map(String::from)
    .to_vec();
    for outcome in [
        "ok",
        "not_found",
        "error",
        "timeout",
        "rate_limited",
        "skipped",
    ] {
        want.push(format!(
            "modgate_upstream_requests_total{{upstream=\"{upstream}\",outcome=\"{outcome}\"}} 0"
        ));
    }
    want.push(format!(
        "modgate_upstream_first_byte_seconds_count{{upstream=\"{upstream}\",outcome=\"timeout\"}} 0"
    ));
    want.push(format!(
        "modgate_upstream_breaker_open{{upstream=\"{upstream}\"}} 0"
    ));
    for w in &want {
        assert!(lines.contains(w), "{w} not in:\n{all}");
    }
    for family in [
        "modgate_connections_open",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_start_time_seconds",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(&format!("{family} "))),
            "{family} not in:\n{all}"
        );
    }
    // No Redis, no S3: their families are not shown.
    for absent in ["modgate_redis_", "modgate_s3_"] {
        assert!(!all.contains(absent), "{absent} in:\n{all}");
    }
    // Every family says what its label values are.
    for l in lines.iter().filter(|l| l.starts_with("# HELP ")) {
        assert!(l.split(' ').count() > 4, "{l}");
    }
}
