//! Three replicas of `modgate serve` sharing S3-compatible storage (SeaweedFS) and Redis,
//! all real servers on loopback, in front of one HTTP upstream that counts every request:
//! - 50 go commands at once, spread over the replicas, download the same cold modules:
//!   the upstream sees exactly one request per file of each module version;
//! - a replica killed (SIGKILL) in the middle of a slow zip fetch: its lease runs out, the
//!   others complete with the right bytes, and the bucket never holds a partial object;
//! - Redis stopped during the run: replicas keep serving on their own and say so; started
//!   again: they share the lock again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::serve_common::upstream::{Answer, Upstream};
use crate::serve_common::*;

const T1: &str = "2024-01-02T03:04:05Z";

/// GETs `path` of each replica at once; the status and body of each.
fn at_once(replicas: &[&Server], path: &str) -> Vec<(u16, Vec<u8>)> {
    std::thread::scope(|s| {
        let hs: Vec<_> = replicas
            .iter()
            .map(|r| s.spawn(move || raw_get(&r.addr, "GET", path).unwrap()))
            .collect();
        hs.into_iter()
            .map(|h| {
                let r = h.join().unwrap();
                (r.status, r.body)
            })
            .collect()
    })
}

fn wait_until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn replicas_fetch_each_version_once_survive_a_killed_replica_and_redis_outages() {
    let sw = testkit::seaweed::Seaweed::start();
    sw.create_bucket("modules");
    let mut redis = testkit::redis::Redis::start();
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("upstream"));
    let mut sums = std::collections::HashMap::new();
    for (m, files) in [
        (
            "example.com/a",
            vec![
                (
                    "go.mod",
                    "module example.com/a\n\ngo 1.21\n\nrequire (\n\texample.com/b v1.0.0\n\texample.com/c v1.0.0\n)\n",
                ),
                ("a.go", "package a\n"),
            ],
        ),
        ("example.com/b", vec![("b.go", "package b\n")]),
        ("example.com/c", vec![("c.go", "package c\n")]),
        ("example.com/slow", vec![("s.go", "package slow\n")]),
        ("example.com/e", vec![("e.go", "package e\n")]),
        ("example.com/f", vec![("f.go", "package f\n")]),
    ] {
        sums.insert(m, tree.add(m, "v1.0.0", T1, &files));
    }
    // The slow module's zip takes 4 s the first time it is asked.
    let up = Upstream::start_with(
        &tree.root,
        Arc::new(|path: &str, n: usize| {
            if path == "/example.com/slow/@v/v1.0.0.zip" && n == 1 {
                Answer::Serve(Duration::from_secs(4))
            } else {
                Answer::Serve(Duration::from_millis(100))
            }
        }),
    );
    let env: Vec<(&str, String)> = sw.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dirs: Vec<_> = (0..3).map(|i| tmp.path().join(format!("r{i}"))).collect();
    let mut replicas: Vec<Server> = dirs
        .iter()
        .map(|d| start_replica(d, &up.url, &redis.url(), &env))
        .collect();

    // 50 go commands at once, round robin over the replicas.
    let mods = [
        "example.com/a@v1.0.0",
        "example.com/b@v1.0.0",
        "example.com/c@v1.0.0",
    ];
    let want: Vec<_> = ["example.com/a", "example.com/b", "example.com/c"]
        .iter()
        .map(|m| {
            (
                m.to_string(),
                "v1.0.0".to_string(),
                sums[m].zip_h1.clone(),
                sums[m].mod_h1.clone(),
            )
        })
        .collect();
    let urls: Vec<String> = replicas.iter().map(Server::url).collect();
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..50)
            .map(|i| {
                let url = &urls[i % 3];
                s.spawn(move || downloaded(url, &mods))
            })
            .collect();
        for h in hs {
            assert_eq!(h.join().unwrap(), want);
        }
    });
    let mut expected = Vec::new();
    for m in ["example.com/a", "example.com/b", "example.com/c"] {
        for ext in ["info", "mod", "zip"] {
            expected.push((format!("/{m}/@v/v1.0.0.{ext}"), 1));
        }
    }
    expected.sort();
    assert_eq!(up.counts(), expected, "one upstream request per file");

    // A replica killed in the middle of the slow zip's fetch.
    let slow = "/example.com/slow/@v/v1.0.0.zip";
    let victim_addr = replicas[0].addr.clone();
    let victim = std::thread::spawn(move || raw_get(&victim_addr, "GET", slow));
    wait_until(
        "the upstream was asked for the slow zip",
        Duration::from_secs(20),
        || up.count(slow) == 1,
    );
    replicas[0].child.kill().unwrap();
    replicas[0].child.wait().unwrap();
    let answered = victim.join().unwrap();
    assert!(
        answered.as_ref().map_or(true, |r| r.status != 200),
        "the killed replica answered {:?}",
        answered.map(|r| r.status)
    );
    // The other two wait for the lease to run out (10 s at most), then one fetches.
    let start = Instant::now();
    let answers = at_once(&[&replicas[1], &replicas[2]], slow);
    for (status, body) in &answers {
        assert_eq!(*status, 200);
        assert_eq!(body, &sums["example.com/slow"].zip);
    }
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(
        up.count(slow),
        2,
        "the killed replica's request and one more"
    );
    assert_eq!(
        sw.object(
            "modules",
            "shared/cache/download/example.com/slow/@v/v1.0.0.zip"
        )
        .unwrap(),
        sums["example.com/slow"].zip
    );
    // The killed replica comes back on the same directory (its staging is cleaned).
    replicas[0] = start_replica(&dirs[0], &up.url, &redis.url(), &env);

    // Redis gone: each replica serves on its own, and says so.
    redis.stop();
    let e = "/example.com/e/@v/v1.0.0.zip";
    for r in &replicas {
        let got = raw_get(&r.addr, "GET", e).unwrap();
        assert_eq!(
            (got.status, got.body.clone()),
            (200, sums["example.com/e"].zip.clone())
        );
    }
    for r in &replicas {
        let log = r.log_with("Redis failed");
        assert!(
            log.contains(&format!("redis=\"redis://127.0.0.1:{}/0\"", redis.port))
                || log.contains(&format!("redis=redis://127.0.0.1:{}/0", redis.port)),
            "{log}"
        );
        let ready = raw_get(&r.addr, "GET", "/readyz").unwrap();
        assert_eq!(ready.status, 200);
        assert_eq!(
            ready.text(),
            format!(
                "ready, degraded: Redis at redis://127.0.0.1:{}/0 is unreachable: this replica serves on its own (its own single-flight lock and caches) until it is back\n",
                redis.port
            )
        );
        let m = raw_get(&r.addr, "GET", "/metrics").unwrap().text();
        for want in ["modgate_redis_up 0", "modgate_redis_degradations_total 1"] {
            assert!(m.lines().any(|l| l == want), "{want} not in:\n{m}");
        }
    }
    // Back: the replicas notice (probed every second) and share the lock again.
    redis.restart();
    for r in &replicas {
        r.log_with("Redis is back");
        wait_until("/readyz says ready", Duration::from_secs(10), || {
            raw_get(&r.addr, "GET", "/readyz").ok().map(|x| x.text()) == Some("ready\n".to_string())
        });
    }
    let f = "/example.com/f/@v/v1.0.0.zip";
    for (status, body) in at_once(&[&replicas[0], &replicas[1], &replicas[2]], f) {
        assert_eq!((status, body), (200, sums["example.com/f"].zip.clone()));
    }
    assert_eq!(
        up.count(f),
        1,
        "one fetch across replicas once Redis is back"
    );
    // Counted: Redis's round trips and the S3 storage's requests, by operation.
    let value = |m: &str, line: &str| -> u64 {
        m.lines()
            .find_map(|l| l.strip_prefix(line)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{line} not in:\n{m}"))
    };
    for r in &replicas {
        let m = raw_get(&r.addr, "GET", "/metrics").unwrap().text();
        assert!(m.lines().any(|l| l == "modgate_redis_up 1"), "{m}");
        for line in [
            "modgate_redis_requests_total{operation=\"lock_take\",outcome=\"ok\"}",
            "modgate_redis_requests_total{operation=\"ping\",outcome=\"ok\"}",
            "modgate_redis_request_duration_seconds_count{operation=\"lock_take\"}",
        ] {
            assert!(value(&m, line) > 0, "{line} is 0:\n{m}");
        }
        // Which S3 requests a replica made depends on what it found stored: some did.
        let s3_ok: u64 = m
            .lines()
            .filter(|l| {
                l.starts_with("modgate_s3_requests_total{") && l.contains("outcome=\"ok\"}")
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum();
        assert!(s3_ok > 0, "no S3 request answered:\n{m}");
    }
    // What went through the lock left no lock behind (released in the background).
    wait_until("every lock released", Duration::from_secs(10), || {
        redis.command(&["KEYS", "modgate:lock:*"]).as_deref() == Some("*0")
    });
}
