//! `modgate serve` with upstream chains: `,` fall-through over two file:// trees, an
//! http upstream (another modgate), `off`, private modules kept from public upstreams,
//! and startup errors.

use crate::serve_common::*;

const T1: &str = "2024-01-02T03:04:05Z";

#[test]
fn comma_chain_falls_through_to_the_second_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let t1 = Tree::new(tmp.path().join("one"));
    let t2 = Tree::new(tmp.path().join("two"));
    t1.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    t2.add("example.com/b", "v1.0.0", T1, &[("b.go", "package b\n")]);
    let data = tmp.path().join("data");
    let server = Server::start(&[
        "--data-dir",
        data.to_str().unwrap(),
        "--upstream",
        &format!("{},{}", t1.url(), t2.url()),
    ]);
    let mods = ["example.com/a@v1.0.0", "example.com/b@v1.0.0"];
    let through: Vec<_> = GoEnv::new()
        .download(&server.url(), &mods)
        .iter()
        .map(summary)
        .collect();
    let direct: Vec<_> = GoEnv::new()
        .download(&format!("{},{}", t1.url(), t2.url()), &mods)
        .iter()
        .map(summary)
        .collect();
    assert_eq!(through, direct);
    let r = raw_get(&server.addr, "GET", "/example.com/c/@v/list").unwrap();
    assert_eq!(
        (r.status, r.text().as_str()),
        (404, "not found: example.com/c@v/list\n")
    );
}

#[test]
fn http_upstream_is_another_modgate() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    let sums = tree.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    let inner = Server::start(&[
        "--data-dir",
        tmp.path().join("d1").to_str().unwrap(),
        "--upstream",
        &tree.url(),
    ]);
    let outer = Server::start(&[
        "--data-dir",
        tmp.path().join("d2").to_str().unwrap(),
        "--upstream",
        &inner.url(),
    ]);
    let got = GoEnv::new().download(&outer.url(), &["example.com/a@v1.0.0"]);
    assert_eq!(
        summary(&got[0]),
        (
            "example.com/a".to_string(),
            "v1.0.0".to_string(),
            sums.zip_h1,
            sums.mod_h1
        )
    );
    let r = raw_get(&outer.addr, "GET", "/example.com/a/@v/list").unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "v1.0.0\n"));
}

#[test]
fn off_refuses_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&[
        "--data-dir",
        tmp.path().join("d").to_str().unwrap(),
        "--upstream",
        "off",
    ]);
    let r = raw_get(&server.addr, "GET", "/example.com/a/@v/list").unwrap();
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            404,
            "not found: module example.com/a: module lookup disabled by GOPROXY=off\n"
        )
    );
}

#[test]
fn private_modules_are_not_asked_of_public_upstreams() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    tree.add(
        "corp.example.com/secret",
        "v1.0.0",
        T1,
        &[("s.go", "package s\n")],
    );
    tree.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    let public = Server::start(&[
        "--data-dir",
        tmp.path().join("d1").to_str().unwrap(),
        "--upstream",
        &tree.url(),
        "--private",
        "corp.example.com",
    ]);
    let r = raw_get(
        &public.addr,
        "GET",
        "/corp.example.com/secret/@v/v1.0.0.info",
    )
    .unwrap();
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            404,
            "not found: corp.example.com/secret is private (--private) and no private source serves it; add `direct` to --upstream or list a private upstream\n"
        )
    );
    let r = raw_get(&public.addr, "GET", "/example.com/a/@v/v1.0.0.info").unwrap();
    assert_eq!(r.status, 200);
    // Marked private in the settings file: served.
    let config = tmp.path().join("modgate.toml");
    std::fs::write(
        &config,
        format!("private_upstreams = [\"{}\"]\n", tree.url()),
    )
    .unwrap();
    let private = Server::start_env(
        &["--data-dir", tmp.path().join("d2").to_str().unwrap()],
        &[
            ("MODGATE_CONFIG", config.to_str().unwrap()),
            ("MODGATE_UPSTREAM", &tree.url()),
            ("MODGATE_PRIVATE", "corp.example.com"),
        ],
    );
    let r = raw_get(
        &private.addr,
        "GET",
        "/corp.example.com/secret/@v/v1.0.0.info",
    )
    .unwrap();
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            200,
            "{\"Version\":\"v1.0.0\",\"Time\":\"2024-01-02T03:04:05Z\"}"
        )
    );
}

#[test]
fn startup_errors_say_what_to_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("modgate.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:1\"\nlisten_addr = \"x\"\n").unwrap();
    let out = run_bounded(
        std::process::Command::new(env!("CARGO_BIN_EXE_modgate")).args([
            "serve",
            "--config",
            config.to_str().unwrap(),
        ]),
        std::time::Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "modgate serve: {}:2: unknown field `listen_addr`",
            config.display()
        )),
        "{err}"
    );
    // The port is taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run_bounded(
        std::process::Command::new(env!("CARGO_BIN_EXE_modgate"))
            .args([
                "serve",
                "--listen",
                &addr,
                "--upstream",
                "off",
                "--data-dir",
            ])
            .arg(tmp.path().join("d"))
            .env("RUST_LOG", "info"),
        std::time::Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "modgate serve: cannot listen on {addr}: Address already in use (os error 98) (check --listen / MODGATE_LISTEN)"
        )),
        "{err}"
    );
}

/// A fault-injecting upstream on loopback: every request gets `status` (with a one-line
/// body), or no answer at all when `status` is 0. Runs until the test process ends.
fn fault_server(status: u16) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                if status == 0 {
                    std::thread::sleep(std::time::Duration::from_secs(20));
                    return;
                }
                let body = "upstream broke\n";
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    format!("http://{addr}")
}

#[test]
fn upstream_failures_are_502_hangs_are_504_and_pipe_falls_through() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    tree.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    let broken = fault_server(500);
    let hang = fault_server(0);
    let config = tmp.path().join("modgate.toml");
    std::fs::write(&config, "[timeouts]\nfirst_byte = 1\ntransfer = 2\n").unwrap();
    let start = |n: &str, upstream: &str| {
        Server::start(&[
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            tmp.path().join(n).to_str().unwrap(),
            "--upstream",
            upstream,
        ])
    };
    let comma = start("d1", &format!("{broken},{}", tree.url()));
    let r = raw_get(&comma.addr, "GET", "/example.com/a/@v/v1.0.0.info").unwrap();
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(
        r.text(),
        format!(
            "example.com/a@v1.0.0: reading {broken}/example.com/a/@v/v1.0.0.info: 500 Internal Server Error (the upstream failed; try again later, or add a fallback after `|` in --upstream)\n"
        )
    );
    let pipe = start("d2", &format!("{broken}|{}", tree.url()));
    let r = raw_get(&pipe.addr, "GET", "/example.com/a/@v/v1.0.0.info").unwrap();
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            200,
            "{\"Version\":\"v1.0.0\",\"Time\":\"2024-01-02T03:04:05Z\"}"
        )
    );
    let hung = start("d3", &hang);
    let t = std::time::Instant::now();
    let r = raw_get(&hung.addr, "GET", "/example.com/a/@v/v1.0.0.mod").unwrap();
    assert_eq!(r.status, 504, "{}", r.text());
    assert_eq!(
        r.text(),
        format!(
            "example.com/a@v1.0.0: reading {hang}/example.com/a/@v/v1.0.0.mod: timed out: no response headers within 1s (first-byte timeout) (the upstream is slow or stalled; try again later, raise the timeout, or add a fallback after `|` in --upstream)\n"
        )
    );
    assert!(t.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn json_logs_carry_the_start_line_and_request_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let server = Server::start(&[
        "--log-format",
        "json",
        "--data-dir",
        data.to_str().unwrap(),
        "--upstream",
        "off",
    ]);
    let r = raw_get(&server.addr, "GET", "/example.com/a/@v/list").unwrap();
    let id = r.header("x-request-id").unwrap().to_string();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let lines: Vec<serde_json::Value> = server
        .log_text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let start = lines
        .iter()
        .find(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("modgate serve listening"))
        })
        .unwrap();
    assert_eq!(
        start["fields"]["message"],
        format!(
            "modgate serve listening on http://{} (data dir {}, storage directory {}, max_bytes none, redis none, upstream off, checksum database off)",
            server.addr,
            data.display(),
            data.display()
        )
    );
    let req = lines
        .iter()
        .find(|l| l["span"]["id"] == id.as_str() && l["fields"]["message"] == "request")
        .unwrap_or_else(|| panic!("no line for request {id}: {lines:?}"));
    assert_eq!(req["fields"]["status"], 404);
    assert_eq!(req["fields"]["path"], "/example.com/a/@v/list");
    assert_eq!(req["fields"]["module"], "example.com/a");
    assert_eq!(req["fields"]["version"], "");
    assert_eq!(req["fields"]["cache"], "miss");
    assert!(req["fields"]["ms"].is_u64());
    // Asked again: the "not found" remembered.
    let r = raw_get(&server.addr, "GET", "/example.com/a/@v/list").unwrap();
    let id = r.header("x-request-id").unwrap().to_string();
    let log = server.log_with(&format!("\"id\":\"{id}\""));
    let req: serde_json::Value = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["span"]["id"] == id.as_str() && l["fields"]["message"] == "request")
        .unwrap();
    assert_eq!(req["fields"]["cache"], "negative");
}

/// A zip is checked once, after the chain, as the go command checks it after its proxy
/// list: a bad zip from the first upstream does not fall through `|` to the second, for
/// the go command (`GOPROXY=bad|good`) or for modgate (`--upstream bad|good`). The first
/// upstream serves random bytes for one version and a zip of another module for the
/// other; modgate answers 502 with what was wrong and stores nothing.
#[test]
fn a_bad_zip_does_not_fall_through_pipe_as_for_the_go_command() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = Tree::new(tmp.path().join("bad"));
    let good = Tree::new(tmp.path().join("good"));
    let m = "example.com/a";
    for t in [&bad, &good] {
        t.add(m, "v1.0.0", T1, &[("a.go", "package a\n")]);
        t.add(m, "v1.1.0", T1, &[("a.go", "package a\n")]);
    }
    std::fs::write(bad.vfile(m, "v1.0.0", "zip"), b"PK\x03\x04 not a zip").unwrap();
    let other = Tree::new(tmp.path().join("other"));
    other.add(
        "example.com/other",
        "v1.1.0",
        T1,
        &[("a.go", "package a\n")],
    );
    std::fs::copy(
        other.vfile("example.com/other", "v1.1.0", "zip"),
        bad.vfile(m, "v1.1.0", "zip"),
    )
    .unwrap();
    let chain = format!("{}|{}", bad.url(), good.url());
    let data = tmp.path().join("data");
    let server = Server::over(&data, &chain);
    let env = GoEnv::new();
    let cwd = tmp.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    for (v, says, go_says) in [
        (
            "v1.0.0",
            "zip: not a valid zip file",
            "zip: not a valid zip file",
        ),
        (
            "v1.1.0",
            "path does not have prefix",
            "has unexpected file example.com/other@v1.1.0/",
        ),
    ] {
        let arg = format!("{m}@{v}");
        for (proxy, text) in [(chain.clone(), go_says), (server.url(), "502 Bad Gateway")] {
            let out = env.go(&cwd, &proxy, &["mod", "download", &arg]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                !out.status.success() && stderr.contains(text),
                "{proxy} {arg}: {stderr}"
            );
        }
        let r = raw_get(&server.addr, "GET", &format!("/{m}/@v/{v}.zip")).unwrap();
        assert_eq!(r.status, 502, "{v}: {}", r.text());
        assert!(
            r.text().contains("the zip is not a valid module zip") && r.text().contains(says),
            "{v}: {}",
            r.text()
        );
        assert!(
            !data.join(format!("cache/download/{m}/@v/{v}.zip")).exists(),
            "{v}: stored"
        );
    }
}
