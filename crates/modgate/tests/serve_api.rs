//! The operations API (`/api/v1/`) of a real `modgate serve`, after the go command
//! downloaded modules through it:
//! - the catalog lists every stored version with its sizes and links, by module prefix,
//!   page by page (cursor), on the local disk and on S3-compatible storage (SeaweedFS);
//! - with `[auth]`, only `admin = true` tokens use it (401 without credentials, 403 for a
//!   reader); without `[auth]` it is open, like `/metrics`.

use crate::serve_common::*;

const T1: &str = "2024-01-02T03:04:05Z";

fn get(s: &Server, path: &str, token: Option<&str>) -> Raw {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    raw_request(
        &s.addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n").as_bytes(),
    )
    .unwrap()
}

/// Every page of the catalog of `prefix`, `limit` at a time: (module, version, zip
/// bytes), and the number of pages.
fn catalog(s: &Server, prefix: &str, limit: usize) -> (Vec<(String, String, u64)>, usize) {
    let (mut out, mut pages, mut cursor) = (Vec::new(), 0, String::new());
    loop {
        let r = get(
            s,
            &format!("/api/v1/catalog?prefix={prefix}&limit={limit}&cursor={cursor}"),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"));
        let page: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        pages += 1;
        for m in page["modules"].as_array().unwrap() {
            let (module, version) = (
                m["module"].as_str().unwrap(),
                m["version"].as_str().unwrap(),
            );
            // The links answer as the protocol does.
            let info = get(s, m["info"].as_str().unwrap(), None);
            assert_eq!(info.status, 200, "{m}");
            assert!(m["stored"].as_str().unwrap().ends_with('Z'), "{m}");
            out.push((
                module.to_string(),
                version.to_string(),
                m["zip_bytes"].as_u64().unwrap(),
            ));
        }
        match page["next"].as_str() {
            Some(n) => cursor = encoded(n),
            None => return (out, pages),
        }
    }
}

/// `s` percent-encoded for a query string.
fn encoded(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn tree(dir: &std::path::Path) -> (Tree, Vec<(String, String, u64)>) {
    let tree = Tree::new(dir.join("up"));
    let mut want = Vec::new();
    for (m, v) in [
        ("example.com/Big", "v1.0.0"),
        ("example.com/a", "v1.0.0"),
        ("example.com/a", "v1.1.0"),
        ("example.com/a/v2", "v2.0.0"),
        ("golang.org/x/y", "v0.1.0"),
    ] {
        let sums = tree.add(m, v, T1, &[("x.go", "package x\n")]);
        want.push((m.to_string(), v.to_string(), sums.zip.len() as u64));
    }
    (tree, want)
}

fn download_all(s: &Server) {
    GoEnv::new().download(
        &s.url(),
        &[
            "example.com/Big@v1.0.0",
            "example.com/a@v1.0.0",
            "example.com/a@v1.1.0",
            "example.com/a/v2@v2.0.0",
            "golang.org/x/y@v0.1.0",
        ],
    );
}

#[test]
fn the_catalog_lists_stored_versions_page_by_page_on_disk_and_on_s3() {
    let tmp = tempfile::tempdir().unwrap();
    let (tree, want) = tree(tmp.path());
    let disk = Server::start(&[
        "--data-dir",
        tmp.path().join("d").to_str().unwrap(),
        "--upstream",
        &tree.url(),
    ]);
    let sw = testkit::seaweed::Seaweed::start();
    sw.create_bucket("modules");
    let env: Vec<(&str, String)> = sw.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let s3 = Server::start_env(
        &[
            "--data-dir",
            tmp.path().join("s").to_str().unwrap(),
            "--storage",
            "s3://modules/cat",
            "--upstream",
            &tree.url(),
        ],
        &env,
    );
    for s in [&disk, &s3] {
        download_all(s);
        let (got, pages) = catalog(s, "", 100);
        assert_eq!((got.clone(), pages), (want.clone(), 1));
        let (got, pages) = catalog(s, "", 2);
        assert_eq!((got, pages), (want.clone(), 3));
        let (got, _) = catalog(s, "example.com/a", 1);
        assert_eq!(got, want[1..4]);
        let (got, _) = catalog(s, "example.com/a/", 10);
        assert_eq!(got, want[3..4]);
        let (got, _) = catalog(s, "example.com/B", 10);
        assert_eq!(got, want[..1]);
        // Each version with the upstream it came from, and when.
        let page: serde_json::Value =
            serde_json::from_slice(&get(s, "/api/v1/catalog", None).body).unwrap();
        for m in page["modules"].as_array().unwrap() {
            assert_eq!(m["upstream"].as_str(), Some(tree.url().as_str()), "{m}");
            assert!(m["fetched"].as_str().unwrap().ends_with('Z'), "{m}");
        }
        let r = get(s, "/api/v1/catalog?limit=0", None);
        assert_eq!(
            (r.status, r.text()),
            (
                400,
                "bad request: limit=\"0\" is not a whole number from 1\n".to_string()
            )
        );
        let r = get(s, "/api/v1/nothing", None);
        assert_eq!(r.status, 404);
    }
}

#[test]
fn with_auth_only_admins_use_the_api() {
    let tmp = tempfile::tempdir().unwrap();
    let (tree, want) = tree(tmp.path());
    let s = Server::with_config(
        tmp.path(),
        "[auth]\nanonymous = [\"*\"]\n[[auth.token]]\nname = \"ops\"\ntoken = \"ops-secret\"\nadmin = true\n[[auth.token]]\nname = \"ci\"\ntoken = \"ci-secret\"\nread = [\"*\"]\n",
        &tree.url(),
    );
    download_all(&s);
    assert_eq!(get(&s, "/api/v1/catalog", None).status, 401);
    let r = get(&s, "/api/v1/catalog", Some("ci-secret"));
    assert_eq!(r.status, 403);
    let r = get(&s, "/api/v1/catalog", Some("ops-secret"));
    assert_eq!(r.status, 200, "{}", r.text());
    let page: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(page["modules"].as_array().unwrap().len(), want.len());
    assert_eq!(page["next"], serde_json::Value::Null);
    // The admin token reads no module it was not given.
    let r = get(&s, "/example.com/a/@v/list", Some("ops-secret"));
    assert_eq!(r.status, 200, "anonymous may read every module here");
}

#[test]
fn status_and_upstreams_say_what_the_overview_shows() {
    use crate::serve_common::upstream::{Answer, Upstream};
    use std::sync::Arc;
    let tmp = tempfile::tempdir().unwrap();
    let (tree, _) = tree(tmp.path());
    let broken = Upstream::start_with(
        &tree.root,
        Arc::new(|_: &str, _| Answer::Status(500, vec![], "broken\n".into())),
    );
    let s = Server::with_config(
        tmp.path(),
        "[limits]\nbreaker_failures = 1\nbreaker_open = 300\n[cache]\nmax_bytes = \"1GB\"\n[filter]\ndeny = [\"example.com/evil\"]\n",
        &format!("{}|{}", broken.url, tree.url()),
    );
    let r = get(&s, "/example.com/a/@v/v1.0.0.info", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = get(&s, "/api/v1/upstreams", None);
    assert_eq!(r.status, 200);
    let ups: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        ups,
        serde_json::json!([
            {"upstream": format!("{}/", broken.url), "kind": "proxy", "breaker_open": true, "rate_limited_for_ms": null},
            {"upstream": format!("file://{}", tree.root.display()), "kind": "file", "breaker_open": false, "rate_limited_for_ms": null},
        ])
    );
    let r = get(&s, "/api/v1/status", None);
    assert_eq!(r.status, 200);
    let st: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(st["version"], "0.1.0");
    assert_eq!(st["upstreams"], ups);
    assert_eq!(st["filter_rules"], 1);
    assert_eq!(st["auth"], false);
    assert_eq!(st["redis"], serde_json::Value::Null);
    assert_eq!(st["storage"]["state"], "ready");
    assert_eq!(st["storage"]["remote"], false);
    assert_eq!(st["storage"]["max_bytes"], 1_000_000_000u64);
    assert!(
        st["storage"]["describe"]
            .as_str()
            .unwrap()
            .starts_with("directory "),
        "{st}"
    );
    assert!(st["started"].as_str().unwrap().ends_with('Z'), "{st}");
    assert!(st["uptime_seconds"].as_u64().unwrap() < 600, "{st}");
}
