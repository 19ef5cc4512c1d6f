//! SIGHUP reloads the settings without dropping connections: a keep-alive connection
//! opened before the reload is still answered after it; the new upstream list and client
//! limits apply at once; a setting that needs a restart is named and left alone; a broken
//! file is refused and the running settings stay.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::serve_common::*;

const T1: &str = "2024-01-02T03:04:05Z";

/// One request on a kept-alive connection: its status and body.
fn ask(conn: &mut BufReader<TcpStream>, path: &str) -> (u16, String) {
    write!(conn.get_mut(), "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut status = String::new();
    conn.read_line(&mut status).unwrap();
    let mut len = 0;
    loop {
        let mut line = String::new();
        conn.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; len];
    conn.read_exact(&mut body).unwrap();
    (
        status.split_whitespace().nth(1).unwrap().parse().unwrap(),
        String::from_utf8(body).unwrap(),
    )
}

fn hup(s: &Server) {
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&s.child),
        rustix::process::Signal::HUP,
    )
    .unwrap();
}

#[test]
fn sighup_reloads_without_dropping_connections() {
    let tmp = tempfile::tempdir().unwrap();
    let one = Tree::new(tmp.path().join("one"));
    let two = Tree::new(tmp.path().join("two"));
    one.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    one.add("example.com/c", "v1.0.0", T1, &[("c.go", "package c\n")]);
    two.add("example.com/b", "v1.2.0", T1, &[("b.go", "package b\n")]);
    let config = tmp.path().join("modgate.toml");
    std::fs::write(&config, format!("upstream = \"{}\"\n", one.url())).unwrap();
    let s = Server::start(&[
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        tmp.path().join("d").to_str().unwrap(),
    ]);
    let mut conn = BufReader::new(TcpStream::connect(&s.addr).unwrap());
    conn.get_mut()
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    assert_eq!(
        ask(&mut conn, "/example.com/a/@v/list"),
        (200, "v1.0.0\n".into())
    );
    assert_eq!(ask(&mut conn, "/example.com/a/@v/v1.0.0.info").0, 200);

    // The other upstream, a client limit, and a cache lifetime (needs a restart).
    std::fs::write(
        &config,
        format!(
            "upstream = \"{}\"\n[cache]\nlist_ttl = 5\n[limits]\nclient_requests_per_second = 1\nclient_burst = 3\n",
            two.url()
        ),
    )
    .unwrap();
    hup(&s);
    let log = s.log_with("settings reloaded");
    assert!(
        log.contains(&format!(
            "settings reloaded from {}: upstream {}, 0 route(s), 0 named upstream(s), auth off, no [filter]; not applied until a restart: [cache]",
            config.display(),
            two.url()
        )),
        "{log}"
    );
    // The same connection, still open: now served by the second upstream (and what the
    // first served is still stored).
    assert_eq!(
        ask(&mut conn, "/example.com/b/@v/list"),
        (200, "v1.2.0\n".into())
    );
    let got = ask(&mut conn, "/example.com/a/@v/v1.0.0.info");
    assert_eq!(got.0, 200, "{}", got.1);
    // The first upstream is no longer asked; the limit (bursts of 3) applies.
    assert_eq!(ask(&mut conn, "/example.com/c/@v/list").0, 404);
    assert_eq!(ask(&mut conn, "/example.com/c/@v/list").0, 429);

    // A broken file: refused, the running settings stay.
    std::fs::write(&config, "upstream = [\n").unwrap();
    hup(&s);
    let log = s.log_with("settings reload failed");
    assert!(
        log.contains("settings reload failed, the running settings stay: "),
        "{log}"
    );
    assert_eq!(raw_get(&s.addr, "GET", "/healthz").unwrap().status, 200);
}
