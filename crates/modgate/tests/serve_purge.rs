//! `POST /api/v1/purge` and `modgate admin purge` against real servers on loopback, in
//! front of an HTTP upstream that counts every request:
//! - one server on its data directory: a purge of a module drops its list, `@latest`
//!   and "not found" answers (in memory, in the hot answers, stored), so the next
//!   requests ask upstream again and see its new versions, while another module's
//!   answers stay; a forced purge of a version is refused while its zip is being sent,
//!   done once the download ends, and the version is fetched anew; bad requests get
//!   their status and reason; every purge writes an audit line;
//! - with `[auth]`, only admins purge, and `modgate admin purge` does it with a token;
//! - three replicas on SeaweedFS and Redis: one purge, and every replica answers the
//!   purged module's new list while keeping the other module's; a forced purge is
//!   refused while another replica sends the zip; a replica whose subscription was cut
//!   when the purge was published catches up from the broadcast log.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::serve_common::upstream::Upstream;
use crate::serve_common::*;

const T1: &str = "2024-01-02T03:04:05Z";
const T2: &str = "2024-02-03T04:05:06Z";

fn request(s: &Server, method: &str, path: &str, token: Option<&str>, body: &str) -> Raw {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    raw_request(
        &s.addr,
        format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap()
}

fn purge(s: &Server, body: &str) -> Raw {
    request(s, "POST", "/api/v1/purge", None, body)
}

fn get(s: &Server, path: &str) -> Raw {
    raw_get(&s.addr, "GET", path).unwrap()
}

fn json(r: &Raw) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.text()))
}

/// Starts a GET of `path` and reads only its first bytes: the server is then sending
/// it (for as long as the returned connection is open and not read).
fn slow_download(s: &Server, path: &str) -> std::net::TcpStream {
    let mut c = std::net::TcpStream::connect(&s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(c, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut first = [0u8; 64];
    c.read_exact(&mut first).unwrap();
    assert!(first.starts_with(b"HTTP/1.1 200"), "{first:?}");
    c
}

fn replica_name(s: &Server) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    format!("{}/{}", host.trim(), s.child.id())
}

/// The upstream of these tests: `example.com/a` and `b` at v1.0.0, and `example.com/big`,
/// whose 24 MB zip the socket buffers cannot hold at once.
fn upstream(dir: &std::path::Path) -> (Tree, Upstream) {
    let tree = Tree::new(dir.join("up"));
    tree.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    tree.add("example.com/b", "v1.0.0", T1, &[("b.go", "package b\n")]);
    let big = testkit::mount::noise(24 << 20, 1);
    tree.add(
        "example.com/big",
        "v1.0.0",
        T1,
        &[("big.txt", big.as_str())],
    );
    let up = Upstream::start(&tree.root);
    (tree, up)
}

/// POSTs the forced purge `body` until no download holds its version (at most 10 s).
fn purge_when_free(s: &Server, body: &str) -> Raw {
    let start = Instant::now();
    loop {
        let r = purge(s, body);
        if r.status != 409 || start.elapsed() > Duration::from_secs(10) {
            return r;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until replica `i` answers `want` for example.com/a's list (at most `limit`).
fn wait_for_list(r: &Server, i: usize, want: &str, limit: Duration) {
    let start = Instant::now();
    while get(r, "/example.com/a/@v/list").text() != want {
        assert!(
            start.elapsed() < limit,
            "replica {i} does not answer the purged list anew"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A server with its lists and "not found"s fresh for an hour: only a purge makes it
/// ask upstream again.
const LONG: [(&str, &str); 2] = [
    ("MODGATE_CACHE_LIST_TTL", "1h"),
    ("MODGATE_CACHE_NEGATIVE_TTL", "1h"),
];

#[test]
fn a_purge_drops_a_modules_short_lived_answers_and_a_forced_one_waits_for_downloads() {
    let tmp = tempfile::tempdir().unwrap();
    let (tree, up) = upstream(tmp.path());
    let data = tmp.path().join("d");
    let s = Server::start_env(
        &["--data-dir", data.to_str().unwrap(), "--upstream", &up.url],
        &LONG,
    );

    for p in ["/example.com/a/@v/list", "/example.com/b/@v/list"] {
        assert_eq!(get(&s, p).text(), "v1.0.0\n");
    }
    // (The upstream has no @latest: the list answers it, as the go command does.)
    assert!(
        get(&s, "/example.com/a/@latest")
            .text()
            .contains("\"v1.0.0\"")
    );
    assert_eq!(get(&s, "/example.com/a/@v/v1.1.0.info").status, 404);
    // Upstream moves on; the server still answers from what it remembers.
    tree.add("example.com/a", "v1.1.0", T2, &[("a.go", "package a\n")]);
    tree.add("example.com/b", "v1.1.0", T2, &[("b.go", "package b\n")]);
    assert_eq!(get(&s, "/example.com/a/@v/list").text(), "v1.0.0\n");
    assert_eq!(get(&s, "/example.com/a/@v/v1.1.0.info").status, 404);
    assert_eq!(up.count("/example.com/a/@v/list"), 2);
    assert_eq!(up.count("/example.com/a/@v/v1.1.0.info"), 1);

    // Bad requests: their status and reason; nothing purged.
    let r = request(&s, "GET", "/api/v1/purge", None, "");
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
    let r = request(&s, "POST", "/api/v1/status", None, "{}");
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
    let r = request(&s, "POST", "/api/v1/nothing", None, "{}");
    assert_eq!(r.status, 404, "{}", r.text());
    let r = request(&s, "POST", "/example.com/a/@v/list", None, "{}");
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
    let r = purge(&s, r#"{"module": "example.com/a", "version": "v1.1"}"#);
    assert_eq!(
        (r.status, r.text()),
        (
            400,
            "bad request: example.com/a@v1.1: not a canonical version (want the form the go command stores, such as v1.1.0)\n".to_string()
        )
    );
    let r = purge(&s, r#"{"module": "example.com/a", "force": true}"#);
    assert_eq!(r.status, 400, "{}", r.text());
    let r = purge(&s, &format!("{{\"module\": \"{}\"}}", "x".repeat(70_000)));
    assert_eq!(
        (r.status, r.text()),
        (
            413,
            "payload too large: the request body is over 65536 bytes\n".to_string()
        )
    );
    assert_eq!(get(&s, "/example.com/a/@v/list").text(), "v1.0.0\n");

    // The purge: a's list, @latest and "not found" go, from memory and storage.
    let r = purge(&s, r#"{"module": "example.com/a"}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    let report = json(&r);
    assert_eq!(
        report["purge"],
        serde_json::json!({"module": "example.com/a", "what": ["list", "latest", "query", "negative"], "force": false})
    );
    assert_eq!(report["dropped"]["memory"], 3, "{report}");
    assert_eq!(
        report["dropped"]["stored"],
        serde_json::json!([
            "cache/download/example.com/a/@v/list",
            "cache/download/example.com/a/@latest"
        ])
    );
    assert_eq!(report["shared_keys"], serde_json::Value::Null);
    assert_eq!(report["replicas_told"], serde_json::Value::Null);
    assert_eq!(report["incomplete"], serde_json::Value::Null);
    assert_eq!(get(&s, "/example.com/a/@v/list").text(), "v1.0.0\nv1.1.0\n");
    assert!(
        get(&s, "/example.com/a/@latest")
            .text()
            .contains("\"v1.1.0\"")
    );
    assert_eq!(get(&s, "/example.com/a/@v/v1.1.0.info").status, 200);
    // Asked again: the list twice (for itself and for @latest), the .info twice (for
    // @latest's version and for itself).
    assert_eq!(up.count("/example.com/a/@v/list"), 4);
    assert_eq!(up.count("/example.com/a/@v/v1.1.0.info"), 3);
    // b was not purged: its old list, upstream not asked.
    assert_eq!(get(&s, "/example.com/b/@v/list").text(), "v1.0.0\n");
    assert_eq!(up.count("/example.com/b/@v/list"), 1);
    let line = "admin purge by anonymous: example.com/a [list,latest,query,negative]: 200 done: 3 answers dropped from memory here, stored objects removed: [cache/download/example.com/a/@v/list, cache/download/example.com/a/@latest], shared keys removed: none (no Redis), replicas told: none (no Redis)";
    let log = s.log_with(line);
    assert!(log.contains(line), "{log}");

    // A forced purge while the zip is being sent: refused, nothing removed.
    let zip = "/example.com/big/@v/v1.0.0.zip";
    assert_eq!(get(&s, "/example.com/big/@v/v1.0.0.info").status, 200);
    assert_eq!(get(&s, "/example.com/big/@v/v1.0.0.mod").status, 200);
    let downloading = slow_download(&s, zip);
    let forced = r#"{"module": "example.com/big", "version": "v1.0.0", "what": [], "force": true}"#;
    let r = purge(&s, forced);
    assert_eq!(
        (r.status, r.text()),
        (
            409,
            format!(
                "example.com/big@v1.0.0: not removed: its zip is being downloaded from {} now; nothing was purged (try again when the downloads end)\n",
                replica_name(&s)
            )
        )
    );
    let vdir = data.join("cache/download/example.com/big/@v");
    assert!(vdir.join("v1.0.0.zip").exists());
    let record = data.join("modgate/fetched/example.com/big/@v/v1.0.0");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(r["upstream"], format!("{}/", up.url));
    // The download ends: the purge is done, the version fetched anew.
    drop(downloading);
    let r = purge_when_free(&s, forced);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        json(&r)["dropped"]["stored"],
        serde_json::json!([
            "cache/download/example.com/big/@v/v1.0.0.ziphash",
            "cache/download/example.com/big/@v/v1.0.0.zip",
            "cache/download/example.com/big/@v/v1.0.0.mod",
            "cache/download/example.com/big/@v/v1.0.0.info",
            "modgate/fetched/example.com/big/@v/v1.0.0",
        ])
    );
    let mut left: Vec<_> = std::fs::read_dir(&vdir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, Vec::<String>::new());
    assert!(!record.exists());
    assert_eq!(up.count("/example.com/big/@v/v1.0.0.info"), 1);
    assert_eq!(get(&s, "/example.com/big/@v/v1.0.0.info").status, 200);
    assert_eq!(up.count("/example.com/big/@v/v1.0.0.info"), 2);
    let z = get(&s, zip);
    assert_eq!(z.status, 200);
    assert_eq!(up.count(zip), 2);
    let log = s.log_with("force: 200 done");
    assert!(
        log.contains("admin purge by anonymous: example.com/big@v1.0.0 [] force: 409 example.com/big@v1.0.0: not removed"),
        "{log}"
    );
    assert!(
        log.contains("admin purge by anonymous: example.com/big@v1.0.0 [] force: 200 done"),
        "{log}"
    );
    assert!(
        log.contains("admin purge by anonymous: : 413 payload too large"),
        "{log}"
    );
}

#[test]
fn with_auth_only_admins_purge_and_the_admin_command_does_it_with_a_token() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    tree.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    let up = Upstream::start(&tree.root);
    let s = Server::with_config(
        tmp.path(),
        "[auth]\nanonymous = [\"*\"]\n[[auth.token]]\nname = \"ops\"\ntoken = \"ops-secret\"\nadmin = true\n[[auth.token]]\nname = \"ci\"\ntoken = \"ci-secret\"\nread = [\"*\"]\n",
        &up.url,
    );
    let body = r#"{"module": "example.com/a", "what": ["list"]}"#;
    assert_eq!(request(&s, "POST", "/api/v1/purge", None, body).status, 401);
    assert_eq!(
        request(&s, "POST", "/api/v1/purge", Some("ci-secret"), body).status,
        403
    );
    assert_eq!(get(&s, "/example.com/a/@v/list").text(), "v1.0.0\n");
    tree.add("example.com/a", "v1.1.0", T2, &[("a.go", "package a\n")]);

    let admin = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_modgate"))
            .arg("admin")
            .arg("purge")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let url = s.url();
    let (code, out, err) = admin(&["example.com/a", "--url", &url, "--what", "list"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.starts_with("modgate admin purge: 401 "), "{err}");
    let token = tmp.path().join("token");
    std::fs::write(&token, "ops-secret\n").unwrap();
    let (code, out, err) = admin(&[
        "example.com/a",
        "--url",
        &url,
        "--what",
        "list",
        "--token-file",
        token.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    let replica = replica_name(&s);
    assert_eq!(
        out,
        format!(
            "purged example.com/a on {replica}: 1 answers dropped from its memory, 1 stored objects removed, shared keys removed: none (no Redis), replicas told: none (no Redis)\n  removed cache/download/example.com/a/@v/list\n"
        )
    );
    assert_eq!(get(&s, "/example.com/a/@v/list").text(), "v1.0.0\nv1.1.0\n");
    let (code, out, _) = admin(&[
        "example.com/a@v1.0.0",
        "--url",
        &url,
        "--what",
        "negative",
        "--token",
        "ops-secret",
        "--json",
    ]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["purge"],
        serde_json::json!({"module": "example.com/a", "version": "v1.0.0", "what": ["negative"], "force": false})
    );
    // Bad targets never reach the server; an unreachable server is said.
    let (code, _, err) = admin(&["Example.com/a", "--url", &url]);
    assert_eq!(code, Some(2));
    assert!(err.contains("malformed module path"), "{err}");
    let dead = format!("http://127.0.0.1:{}", free_port());
    let (code, _, err) = admin(&["example.com/a", "--url", &dead]);
    assert_eq!(code, Some(2));
    assert!(
        err.starts_with(&format!(
            "modgate admin purge: {dead}/api/v1/purge: no answer: "
        )),
        "{err}"
    );
    let log = s.log_with("[negative]: 200 done");
    assert!(
        log.contains("admin purge by ops: example.com/a [list]: 200 done"),
        "{log}"
    );
    assert!(
        log.contains("admin purge by ops: example.com/a@v1.0.0 [negative]: 200 done"),
        "{log}"
    );
}

#[test]
fn three_replicas_one_purge_every_replica_asks_again_for_that_list_only() {
    let sw = testkit::seaweed::Seaweed::start();
    sw.create_bucket("modules");
    let redis = testkit::redis::Redis::start();
    let tmp = tempfile::tempdir().unwrap();
    let (tree, up) = upstream(tmp.path());
    let mut env: Vec<(&str, String)> = sw.env();
    env.extend(LONG.iter().map(|(k, v)| (*k, v.to_string())));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let replicas: Vec<Server> = (0..3)
        .map(|i| {
            start_replica(
                &tmp.path().join(format!("r{i}")),
                &up.url,
                &redis.url(),
                &env,
            )
        })
        .collect();
    // Each replica's subscription is up before the first purge (of a module nobody
    // asked for: told to every replica).
    let start = Instant::now();
    loop {
        let r = purge(&replicas[0], r#"{"module": "example.com/none"}"#);
        assert_eq!(r.status, 200, "{}", r.text());
        if json(&r)["replicas_told"] == 3 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "subscriptions");
        std::thread::sleep(Duration::from_millis(50));
    }
    for r in &replicas {
        for p in ["/example.com/a/@v/list", "/example.com/b/@v/list"] {
            assert_eq!(get(r, p).text(), "v1.0.0\n");
        }
    }
    let asked = |p: &str| up.count(p);
    let (a0, b0) = (
        asked("/example.com/a/@v/list"),
        asked("/example.com/b/@v/list"),
    );
    tree.add("example.com/a", "v1.1.0", T2, &[("a.go", "package a\n")]);
    tree.add("example.com/b", "v1.1.0", T2, &[("b.go", "package b\n")]);
    for r in &replicas {
        assert_eq!(get(r, "/example.com/a/@v/list").text(), "v1.0.0\n");
    }

    let r = purge(
        &replicas[0],
        r#"{"module": "example.com/a", "what": ["list"]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let report = json(&r);
    assert_eq!(report["replicas_told"], 3, "{report}");
    assert_eq!(report["incomplete"], serde_json::Value::Null);
    assert_eq!(report["replica"], replica_name(&replicas[0]));
    // Every replica: a's new list (each told, within moments), b's old one.
    for (i, r) in replicas.iter().enumerate() {
        wait_for_list(r, i, "v1.0.0\nv1.1.0\n", Duration::from_secs(5));
        assert_eq!(get(r, "/example.com/b/@v/list").text(), "v1.0.0\n");
    }
    assert!(asked("/example.com/a/@v/list") > a0);
    assert_eq!(asked("/example.com/b/@v/list"), b0);
    // The bucket is shared: the replica asked removed the stored list.
    for r in &replicas[1..] {
        let line = format!(
            "purged as replica {} asked: 1 answers dropped from memory, 0 stored objects removed",
            replica_name(&replicas[0])
        );
        assert!(r.log_with(&line).contains(&line), "{}", r.log_text());
    }

    // A forced purge while replica 2 sends the zip: refused, naming it.
    let zip = "/example.com/big/@v/v1.0.0.zip";
    assert_eq!(get(&replicas[1], zip).status, 200);
    let downloading = slow_download(&replicas[2], zip);
    let forced = r#"{"module": "example.com/big", "version": "v1.0.0", "what": [], "force": true}"#;
    let r = purge(&replicas[0], forced);
    assert_eq!(
        (r.status, r.text()),
        (
            409,
            format!(
                "example.com/big@v1.0.0: not removed: its zip is being downloaded from {} now; nothing was purged (try again when the downloads end)\n",
                replica_name(&replicas[2])
            )
        )
    );
    assert!(
        sw.object(
            "modules",
            "shared/cache/download/example.com/big/@v/v1.0.0.zip"
        )
        .is_some()
    );
    drop(downloading);
    let r = purge_when_free(&replicas[0], forced);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        sw.object(
            "modules",
            "shared/modgate/fetched/example.com/big/@v/v1.0.0"
        )
        .is_none()
    );
    for ext in ["zip", "ziphash", "mod", "info"] {
        let name = format!("shared/cache/download/example.com/big/@v/v1.0.0.{ext}");
        assert!(sw.object("modules", &name).is_none(), "{name}");
    }
    let zips = asked(zip);
    for r in &replicas {
        assert_eq!(get(r, "/example.com/big/@v/v1.0.0.mod").status, 200);
    }
    assert_eq!(get(&replicas[2], zip).status, 200);
    assert_eq!(asked(zip), zips + 1);

    // Every subscription cut just before a purge is published: nobody hears it, and each
    // replica reads it from the broadcast log once subscribed again.
    tree.add("example.com/a", "v1.2.0", T2, &[("a.go", "package a\n")]);
    for r in &replicas {
        assert_eq!(get(r, "/example.com/a/@v/list").text(), "v1.0.0\nv1.1.0\n");
    }
    redis.command(&["CLIENT", "KILL", "TYPE", "pubsub"]);
    let r = purge(
        &replicas[1],
        r#"{"module": "example.com/a", "what": ["list"]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(json(&r)["replicas_told"], 0, "{}", r.text());
    // (Each replica reads it from the log once subscribed again.)
    for (i, r) in replicas.iter().enumerate() {
        wait_for_list(r, i, "v1.0.0\nv1.1.0\nv1.2.0\n", Duration::from_secs(10));
    }
}
