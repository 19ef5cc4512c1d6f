//! Hedged upstream requests, against two real HTTP upstreams on loopback: a request the
//! first is slow to answer also goes to the second and the first good answer wins, while
//! the list keeps the go command's meaning (the second's "not found" decides nothing
//! while the first is out; the first's slow "not found" falls through to the second).

use std::sync::Arc;
use std::time::Duration;

use crate::serve_common::upstream::{Answer, Upstream};
use crate::serve_common::*;

const T1: &str = "2024-01-02T03:04:05Z";

#[test]
fn a_slow_first_upstream_is_hedged_and_the_list_keeps_its_meaning() {
    let tmp = tempfile::tempdir().unwrap();
    // The first upstream has everything but example.com/only2; the second lacks
    // example.com/only1.
    let one = Tree::new(tmp.path().join("one"));
    let two = Tree::new(tmp.path().join("two"));
    let mut zips = std::collections::HashMap::new();
    for m in ["slow", "fast", "only1", "only2"] {
        let path = format!("example.com/{m}");
        let files = [("x.go", "package x\n")];
        if m != "only2" {
            zips.insert(m, one.add(&path, "v1.0.0", T1, &files).zip);
        }
        if m != "only1" {
            zips.insert(m, two.add(&path, "v1.0.0", T1, &files).zip);
        }
    }
    // The first upstream takes 3 s over example.com/slow and example.com/only2 (whose
    // answer is a 404), and over example.com/only1.
    let first = Upstream::start_with(
        &one.root,
        Arc::new(|path: &str, _| {
            if path.starts_with("/example.com/fast/") {
                Answer::Serve(Duration::ZERO)
            } else {
                Answer::Serve(Duration::from_secs(3))
            }
        }),
    );
    let second = Upstream::start(&two.root);
    let config = tmp.path().join("modgate.toml");
    std::fs::write(&config, "[hedge]\nmin_delay_ms = 10\nmax_delay_ms = 200\n").unwrap();
    let s = Server::start(&[
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        tmp.path().join("d").to_str().unwrap(),
        "--upstream",
        &format!("{},{}", first.url, second.url),
    ]);
    let get = |path: &str| {
        let r = raw_get(&s.addr, "GET", path).unwrap();
        (r.status, r.body)
    };
    // Fast: no hedge.
    assert_eq!(
        get("/example.com/fast/@v/v1.0.0.zip"),
        (200, zips["fast"].clone())
    );
    assert_eq!(second.count("/example.com/fast/@v/v1.0.0.zip"), 0);
    // Slow: hedged; the second's zip wins, moved into place whole.
    assert_eq!(
        get("/example.com/slow/@v/v1.0.0.zip"),
        (200, zips["slow"].clone())
    );
    assert_eq!(second.count("/example.com/slow/@v/v1.0.0.zip"), 1);
    // The first has it, slowly; the second's quick 404 decides nothing.
    assert_eq!(
        get("/example.com/only1/@v/v1.0.0.zip"),
        (200, zips["only1"].clone())
    );
    assert_eq!(second.count("/example.com/only1/@v/v1.0.0.zip"), 1);
    assert_eq!(first.count("/example.com/only1/@v/v1.0.0.zip"), 1);
    // The first's slow 404 falls through to the second's answer (already asked once).
    assert_eq!(
        get("/example.com/only2/@v/v1.0.0.zip"),
        (200, zips["only2"].clone())
    );
    assert_eq!(second.count("/example.com/only2/@v/v1.0.0.zip"), 1);
    let log = s.log_with("hedging");
    assert_eq!(
        log.matches("hedging: the first upstream is slow, asking the next one too")
            .count(),
        3,
        "{log}"
    );
    // No hedge file left behind in the staging area (once the records of the fetches,
    // written in the background, are stored).
    let staged = staged_after_writes(&tmp.path().join("d").join("tmp"));
    assert!(staged.is_empty(), "{staged:?}");
    let metrics = raw_get(&s.addr, "GET", "/metrics").unwrap().text();
    for want in [
        "modgate_upstream_hedges_total{result=\"won\"} 2",
        "modgate_upstream_hedges_total{result=\"lost\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == want),
            "{want} not in:\n{metrics}"
        );
    }
}
