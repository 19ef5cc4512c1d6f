//! The cache behind `modgate serve`: single-flight (50 concurrent requests, one upstream
//! call), bad upstream bodies never stored, the negative cache, timeouts, stale lists
//! when the upstream disappears, and temp files cleaned at start.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::serve_common::counting::Counting;
use crate::serve_common::*;
use modgate::cache::{Cache, CacheSettings};
use modgate::http::{App, AppState};
use modgate::source::Source;
use modgate::source::file::FileSource;
use modgate::storage::Store;

const T1: &str = "2024-01-02T03:04:05Z";

/// Serves `source` in this process on a loopback port; returns the base URL.
async fn serve_in_process(source: Arc<dyn Source>, data: &Path, settings: CacheSettings) -> String {
    let store = Arc::new(Store::open_dir(data).unwrap());
    let state = Arc::new(AppState {
        sumdb: None,
        auth: Default::default(),
        filter: Default::default(),
        fleet: None,
        cache: Cache::new(source, store, settings),
        short_max_age: settings.list_ttl,
        shared: None,
        limiter: Arc::new(modgate::http::limit::Limiter::new(None, None)),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        modgate::http::listen::serve(
            listener,
            App::new(state),
            None,
            Default::default(),
            std::future::pending(),
        )
        .await;
    });
    format!("http://{addr}")
}

#[test]
fn fifty_concurrent_requests_share_one_upstream_fetch() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    let sums = tree.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    let source = Counting::new(&tree.root, Duration::from_millis(300));
    rt().block_on(async {
        let base = serve_in_process(
            source.clone(),
            &tmp.path().join("data"),
            CacheSettings::default(),
        )
        .await;
        let c = client();
        for (ext, want) in [
            ("zip", sums.zip.clone()),
            ("mod", b"module example.com/a\n\ngo 1.21\n".to_vec()),
            (
                "info",
                format!("{{\"Version\":\"v1.0.0\",\"Time\":\"{T1}\"}}").into_bytes(),
            ),
        ] {
            let url = format!("{base}/example.com/a/@v/v1.0.0.{ext}");
            let tasks: Vec<_> = (0..50)
                .map(|_| {
                    let (c, url) = (c.clone(), url.clone());
                    tokio::spawn(async move {
                        let r = c.get(url).send().await.unwrap();
                        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
                    })
                })
                .collect();
            for t in tasks {
                assert_eq!(t.await.unwrap(), (200, want.clone()), "{ext}");
            }
        }
        // And 50 more for the list: one call while it is fresh.
        let url = format!("{base}/example.com/a/@v/list");
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (c, url) = (c.clone(), url.clone());
                tokio::spawn(async move { c.get(url).send().await.unwrap().text().await.unwrap() })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), "v1.0.0\n");
        }
    });
    assert_eq!(
        source.calls(),
        [
            ("list example.com/a".to_string(), 1),
            ("mod example.com/a@v1.0.0".to_string(), 1),
            ("stat example.com/a@v1.0.0".to_string(), 1),
            ("zip example.com/a@v1.0.0".to_string(), 1),
        ]
    );
}

#[test]
fn bad_upstream_bodies_are_refused_and_never_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    let m = "example.com/bad";
    tree.add(m, "v1.0.0", T1, &[("a.go", "package a\n")]);
    // .info naming another version, .mod that does not parse, a zip that is not a zip.
    std::fs::write(
        tree.vfile(m, "v1.0.0", "info"),
        format!("{{\"Version\":\"v1.0.1\",\"Time\":\"{T1}\"}}"),
    )
    .unwrap();
    std::fs::write(
        tree.vfile(m, "v1.0.0", "mod"),
        "module example.com/bad\nrequire (\n",
    )
    .unwrap();
    std::fs::write(tree.vfile(m, "v1.0.0", "zip"), "not a zip").unwrap();
    // A real zip, but of another module.
    let other = Tree::new(tmp.path().join("other"));
    other.add(
        "example.com/other",
        "v1.1.0",
        T1,
        &[("a.go", "package a\n")],
    );
    tree.add(m, "v1.1.0", T1, &[("a.go", "package a\n")]);
    std::fs::copy(
        other.vfile("example.com/other", "v1.1.0", "zip"),
        tree.vfile(m, "v1.1.0", "zip"),
    )
    .unwrap();
    // .info with a time that is not RFC 3339 and a non-canonical version.
    tree.add(m, "v1.2.0", T1, &[("a.go", "package a\n")]);
    std::fs::write(
        tree.vfile(m, "v1.2.0", "info"),
        "{\"Version\":\"v1.2.0\",\"Time\":\"yesterday\"}",
    )
    .unwrap();
    std::fs::write(
        tree.vdir(m).join("main.info"),
        format!("{{\"Version\":\"v1.2\",\"Time\":\"{T1}\"}}"),
    )
    .unwrap();
    let data = tmp.path().join("data");
    let up = format!("file://{}", tree.root.display());
    rt().block_on(async {
        let base = serve_in_process(
            Arc::new(FileSource::new(tree.root.clone())),
            &data,
            CacheSettings::default(),
        )
        .await;
        let c = client();
        let get = |p: &str| {
            let (c, url) = (c.clone(), format!("{base}/{m}/@v/{p}"));
            async move {
                let r = c.get(url).send().await.unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        assert_eq!(
            get("v1.0.0.info").await,
            (502, format!("{up}: {m}@v1.0.0: invalid .info (the upstream returned version v1.0.1 instead of the requested v1.0.0); not stored\n"))
        );
        assert_eq!(
            get("v1.0.0.mod").await,
            (502, format!("{up}: {m}@v1.0.0: the go.mod does not parse (go.mod:3: syntax error (unterminated block started at go.mod:2:1)); not stored\n"))
        );
        assert_eq!(
            get("v1.0.0.zip").await,
            (502, format!("{up}: {m}@v1.0.0: the zip is not a valid module zip (zip: not a valid zip file); not stored\n"))
        );
        assert_eq!(
            get("v1.1.0.zip").await,
            (502, format!("{up}: {m}@v1.1.0: the zip is not a valid module zip (example.com/other@v1.1.0/a.go: path does not have prefix \"{m}@v1.1.0/\"; example.com/other@v1.1.0/go.mod: path does not have prefix \"{m}@v1.1.0/\"); not stored\n"))
        );
        assert_eq!(
            get("v1.2.0.info").await,
            (502, format!("{up}: {}/example.com/bad/@v/v1.2.0.info is not valid .info JSON: parsing time \"yesterday\" as \"2006-01-02T15:04:05Z07:00\": not an RFC 3339 time at line 1 column 39\n", tree.root.display()))
        );
        // The go command reads a non-canonical Version in a query's answer without
        // complaint (and refuses to use it later): relayed as served, never stored.
        assert_eq!(
            get("main.info").await,
            (200, format!("{{\"Version\":\"v1.2\",\"Time\":\"{T1}\"}}"))
        );
    });
    let stored: Vec<String> = files_under(&data)
        .into_iter()
        .filter(|f| !f.ends_with("/list") && f != "modgate.lock")
        .collect();
    assert_eq!(stored, Vec::<String>::new());
}

#[test]
fn not_found_is_remembered_briefly_and_timeouts_are_504() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    tree.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    let source = Counting::new(&tree.root, Duration::from_millis(0));
    let slow = Counting::new(&tree.root, Duration::from_secs(5));
    rt().block_on(async {
        let base = serve_in_process(
            source.clone(),
            &tmp.path().join("d1"),
            CacheSettings::default(),
        )
        .await;
        let c = client();
        for _ in 0..3 {
            let r = c
                .get(format!("{base}/example.com/a/@v/v1.0.1.info"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 404);
            assert_eq!(r.text().await.unwrap(), "not found: example.com/a@v1.0.1\n");
        }
        let settings = CacheSettings {
            request_timeout: Duration::from_millis(200),
            ..CacheSettings::default()
        };
        let base = serve_in_process(slow.clone(), &tmp.path().join("d2"), settings).await;
        let r = c
            .get(format!("{base}/example.com/a/@v/v1.0.0.mod"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 504);
        assert_eq!(
            r.text().await.unwrap(),
            "example.com/a@v1.0.0: go.mod: no answer from the upstream within 200ms\n"
        );
    });
    assert_eq!(
        source.calls(),
        [("stat example.com/a@v1.0.1".to_string(), 1)]
    );
}

/// `modgate serve` of `tree`, data in `<dir>/data`, lists and `@latest` fresh for
/// `list_ttl` seconds (set in a config file, as a user would).
fn serve_with_list_ttl(dir: &Path, tree: &Tree, list_ttl: u64) -> Server {
    let config = dir.join("modgate.toml");
    std::fs::write(&config, format!("[cache]\nlist_ttl = {list_ttl}\n")).unwrap();
    Server::start(&[
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        dir.join("data").to_str().unwrap(),
        "--upstream",
        &tree.url(),
    ])
}

#[test]
fn stale_list_and_latest_are_served_with_a_header_when_the_upstream_disappears() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    tree.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    let data = tmp.path().join("data");
    // A temp file left by a killed run: removed at start, never served.
    std::fs::create_dir_all(data.join("tmp")).unwrap();
    std::fs::write(data.join("tmp/1-0-v1.0.0.zip.tmp"), "half").unwrap();
    let server = serve_with_list_ttl(tmp.path(), &tree, 0);
    assert_eq!(staged_after_writes(&data.join("tmp")), Vec::<String>::new());
    let list = raw_get(&server.addr, "GET", "/example.com/a/@v/list").unwrap();
    assert_eq!((list.status, list.text().as_str()), (200, "v1.0.0\n"));
    assert_eq!(list.header("x-modgate-stale"), None);
    let latest = raw_get(&server.addr, "GET", "/example.com/a/@latest").unwrap();
    assert_eq!(latest.status, 200);
    let zip = raw_get(&server.addr, "GET", "/example.com/a/@v/v1.0.0.zip").unwrap();
    assert_eq!(zip.status, 200);

    let gone = tmp.path().join("gone");
    std::fs::rename(&tree.root, &gone).unwrap();
    let reason = format!(
        "{}: the directory {} does not exist; check the upstream setting",
        tree.url(),
        tree.root.display()
    );
    let list = raw_get(&server.addr, "GET", "/example.com/a/@v/list").unwrap();
    assert_eq!((list.status, list.text().as_str()), (200, "v1.0.0\n"));
    assert_eq!(list.header("x-modgate-stale"), Some(reason.as_str()));
    let l2 = raw_get(&server.addr, "GET", "/example.com/a/@latest").unwrap();
    assert_eq!((l2.status, l2.body.clone()), (200, latest.body.clone()));
    assert_eq!(l2.header("x-modgate-stale"), Some(reason.as_str()));
    // Stored immutable entries are still served; what was never stored is a 502.
    let z2 = raw_get(&server.addr, "GET", "/example.com/a/@v/v1.0.0.zip").unwrap();
    assert_eq!((z2.status, z2.body == zip.body), (200, true));
    let mod_ = raw_get(&server.addr, "GET", "/example.com/a/@v/v1.0.0.mod").unwrap();
    assert_eq!((mod_.status, mod_.text()), (502, format!("{reason}\n")));
    std::thread::sleep(Duration::from_millis(200));
    let log = server.log_text();
    assert!(
        log.contains("serving a stale copy: the upstream failed")
            && log.contains("what=\"@v/list\""),
        "{log}"
    );
    // Back again: fresh answers, no header.
    std::fs::rename(&gone, &tree.root).unwrap();
    let list = raw_get(&server.addr, "GET", "/example.com/a/@v/list").unwrap();
    assert_eq!(list.header("x-modgate-stale"), None);
}

#[test]
fn a_fetch_completes_and_is_stored_when_the_client_leaves() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    let sums = tree.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    let source = Counting::new(&tree.root, Duration::from_millis(600));
    let data = tmp.path().join("data");
    rt().block_on(async {
        let base = serve_in_process(source.clone(), &data, CacheSettings::default()).await;
        let url = format!("{base}/example.com/a/@v/v1.0.0.zip");
        let impatient = reqwest::Client::builder()
            .timeout(Duration::from_millis(100))
            .build()
            .unwrap();
        assert!(impatient.get(&url).send().await.unwrap_err().is_timeout());
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            std::fs::read(data.join("cache/download/example.com/a/@v/v1.0.0.zip")).unwrap(),
            sums.zip
        );
        let r = client().get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.unwrap().to_vec(), sums.zip);
    });
    assert_eq!(
        source.calls(),
        [("zip example.com/a@v1.0.0".to_string(), 1)]
    );
}

#[test]
fn the_negative_cache_expires() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    tree.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    let source = Counting::new(&tree.root, Duration::from_millis(0));
    rt().block_on(async {
        let settings = CacheSettings {
            negative_ttl: Duration::from_millis(300),
            ..CacheSettings::default()
        };
        let base = serve_in_process(source.clone(), &tmp.path().join("d"), settings).await;
        let url = format!("{base}/example.com/a/@v/v1.0.1.info");
        for _ in 0..2 {
            assert_eq!(client().get(&url).send().await.unwrap().status(), 404);
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        // Published meanwhile: found once the "not found" has expired.
        tree.add("example.com/a", "v1.0.1", T1, &[("a.go", "package a\n")]);
        assert_eq!(client().get(&url).send().await.unwrap().status(), 200);
    });
    assert_eq!(
        source.calls(),
        [("stat example.com/a@v1.0.1".to_string(), 2)]
    );
}

#[test]
fn stored_versions_are_immutable_and_queries_are_not_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    tree.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    std::fs::copy(
        tree.vfile("example.com/a", "v1.0.0", "info"),
        tree.vdir("example.com/a").join("main.info"),
    )
    .unwrap();
    let source = Counting::new(&tree.root, Duration::from_millis(0));
    let data = tmp.path().join("data");
    let info = format!("{{\"Version\":\"v1.0.0\",\"Time\":\"{T1}\"}}");
    rt().block_on(async {
        let settings = CacheSettings {
            list_ttl: Duration::from_millis(0),
            ..CacheSettings::default()
        };
        let base = serve_in_process(source.clone(), &data, settings).await;
        let get = |p: &str| {
            let url = format!("{base}/example.com/a/@v/{p}");
            async move {
                client()
                    .get(url)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }
        };
        // A branch name: asked of the source each time (list_ttl 0), and not stored (an
        // upstream's answer for `main` need not be what it serves for the version).
        assert_eq!(get("main.info").await, info);
        assert_eq!(get("main.info").await, info);
        let stored_info = data.join("cache/download/example.com/a/@v/v1.0.0.info");
        assert!(!stored_info.exists());
        assert_eq!(get("v1.0.0.mod").await, "module example.com/a\n\ngo 1.21\n");
        assert_eq!(get("v1.0.0.info").await, info);
        assert_eq!(std::fs::read_to_string(&stored_info).unwrap(), info);
        // The upstream changes its mind: what is stored stays.
        std::fs::write(
            tree.vfile("example.com/a", "v1.0.0", "mod"),
            "module example.com/a\n\ngo 1.22\n",
        )
        .unwrap();
        std::fs::write(
            tree.vfile("example.com/a", "v1.0.0", "info"),
            format!("{{\"Version\":\"v1.0.0\",\"Time\":\"{T1}\",\"Name\":\"x\"}}"),
        )
        .unwrap();
        assert_eq!(get("v1.0.0.mod").await, "module example.com/a\n\ngo 1.21\n");
        assert_eq!(get("v1.0.0.info").await, info);
    });
    assert_eq!(
        source.calls(),
        [
            ("mod example.com/a@v1.0.0".to_string(), 1),
            ("stat example.com/a@main".to_string(), 2),
            ("stat example.com/a@v1.0.0".to_string(), 1),
        ]
    );
}

/// A list and `@latest` are given again from memory only while fresh: once their lifetime
/// is over, what the upstream published meanwhile is there.
#[test]
fn lists_and_latest_are_asked_again_when_their_lifetime_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    tree.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    let server = serve_with_list_ttl(tmp.path(), &tree, 1);
    let get = |p: &str| {
        let r = raw_get(&server.addr, "GET", p).unwrap();
        (r.status, r.text())
    };
    let latest_of = |v: &str| (200, format!("{{\"Version\":\"{v}\",\"Time\":\"{T1}\"}}"));
    let started = std::time::Instant::now();
    for _ in 0..3 {
        assert_eq!(get("/example.com/a/@v/list"), (200, "v1.0.0\n".to_string()));
        assert_eq!(get("/example.com/a/@latest"), latest_of("v1.0.0"));
    }
    tree.add("example.com/a", "v1.1.0", T1, &[("a.go", "package a\n")]);
    if started.elapsed() < Duration::from_millis(900) {
        // Still fresh: the answer given before.
        assert_eq!(get("/example.com/a/@v/list"), (200, "v1.0.0\n".to_string()));
    }
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        get("/example.com/a/@v/list"),
        (200, "v1.0.0\nv1.1.0\n".to_string())
    );
    assert_eq!(get("/example.com/a/@latest"), latest_of("v1.1.0"));
}
