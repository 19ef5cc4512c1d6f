//! `ProxySource` against a fault-injecting HTTP server on loopback: error statuses and
//! their bodies, garbage bodies, oversized and invalid zips, hangs before the headers and
//! mid-body, slow trickles, refused connections, redirect loops, credentials, escaping,
//! the `@latest` fallback and the per-upstream concurrency bound.

use std::time::{Duration, Instant};

use crate::proxy_support::{FaultServer, Reply, module_zip};
use base64::Engine as _;
use modgate::error::{Error, Kind};
use modgate::source::proxy::{ProxySettings, ProxySource};
use modgate::source::{Info, Source};
use testkit::free_port;

const M: &str = "example.com/m";
const GARBAGE_HINT: &str = "(the upstream is broken or is not a Go module proxy; check --upstream, or add a fallback after `|`)";
const SLOW_HINT: &str = "(the upstream is slow or stalled; try again later, raise the timeout, or add a fallback after `|` in --upstream)";

fn fast() -> ProxySettings {
    ProxySettings {
        connect_timeout: Duration::from_secs(2),
        first_byte_timeout: Duration::from_millis(500),
        total_timeout: Duration::from_secs(3),
        max_concurrency: 16,
        ..ProxySettings::default()
    }
}

fn source(url: &str) -> ProxySource {
    ProxySource::new(url, &fast()).expect("proxy source")
}

fn info_json(version: &str) -> Reply {
    Reply::ok(format!(
        r#"{{"Version":"{version}","Time":"2021-03-04T05:06:07Z"}}"#
    ))
}

/// The `.info` [`info_json`] serves, as served.
fn info(version: &str) -> Info {
    Info::parse(format!(
        r#"{{"Version":"{version}","Time":"2021-03-04T05:06:07Z"}}"#
    ))
    .unwrap()
}

#[tokio::test]
async fn not_found_carries_the_servers_text_as_go_reads_it() {
    let srv = FaultServer::start(|path| match path.split('/').nth(1).unwrap_or("") {
        "text" => Reply::text(404, "not found: example.com/m: no such module\n\nignored"),
        "html" => Reply::Status {
            status: 404,
            content_type: Some("text/html"),
            body: b"<html>not here</html>".to_vec(),
        },
        "gone" => Reply::text(410, "gone: line one\nline two\n"),
        "ctrl" => Reply::text(404, "evil \x1b[31m red"),
        _ => Reply::status(404),
    })
    .await;
    let o = &srv.origin;
    let list_err = |prefix: &str| {
        let p = source(&format!("{o}/{prefix}"));
        async move { p.list(M).await.unwrap_err() }
    };
    assert_eq!(
        list_err("text").await,
        Error::not_found(format!(
            "module {M}: reading {o}/text/{M}/@v/list: 404 Not Found\n\tserver response: not found: example.com/m: no such module"
        ))
    );
    assert_eq!(
        list_err("html").await,
        Error::not_found(format!(
            "module {M}: reading {o}/html/{M}/@v/list: 404 Not Found"
        ))
    );
    assert_eq!(
        list_err("gone").await,
        Error::not_found(format!(
            "module {M}: reading {o}/gone/{M}/@v/list: 410 Gone\n\tserver response:\n\tgone: line one\n\tline two"
        ))
    );
    assert_eq!(
        list_err("ctrl").await,
        Error::not_found(format!(
            "module {M}: reading {o}/ctrl/{M}/@v/list: 404 Not Found"
        ))
    );
    let p = source(&format!("{o}/plain"));
    assert_eq!(
        p.stat(M, "v1.0.0").await.unwrap_err(),
        Error::not_found(format!(
            "{M}@v1.0.0: reading {o}/plain/{M}/@v/v1.0.0.info: 404 Not Found"
        ))
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("z.zip");
    assert_eq!(
        p.zip(M, "v1.0.0", &dest).await.unwrap_err(),
        Error::not_found(format!(
            "{M}@v1.0.0: reading {o}/plain/{M}/@v/v1.0.0.zip: 404 Not Found"
        ))
    );
    assert!(!dest.exists());
}

#[tokio::test]
async fn other_statuses_fail_with_a_hint() {
    let srv = FaultServer::start(|path| match path.split('/').nth(1).unwrap_or("") {
        "500" => Reply::text(500, "database on fire\n"),
        "502" => Reply::status(502),
        "403" => Reply::text(403, "forbidden"),
        "302" => Reply::status(302),
        _ => Reply::status(503),
    })
    .await;
    let o = &srv.origin;
    let err = |prefix: &str| {
        let p = source(&format!("{o}/{prefix}"));
        async move { p.go_mod(M, "v1.0.0").await.unwrap_err() }
    };
    let at = |prefix: &str| format!("{M}@v1.0.0: reading {o}/{prefix}/{M}/@v/v1.0.0.mod");
    assert_eq!(
        err("500").await,
        Error::failed(format!(
            "{}: 500 Internal Server Error (the upstream failed; try again later, or add a fallback after `|` in --upstream)\n\tserver response: database on fire",
            at("500")
        ))
    );
    assert_eq!(
        err("502").await,
        Error::failed(format!(
            "{}: 502 Bad Gateway (the upstream failed; try again later, or add a fallback after `|` in --upstream)",
            at("502")
        ))
    );
    assert_eq!(
        err("403").await,
        Error::failed(format!(
            "{}: 403 Forbidden (the upstream refused access; check the credentials in the --upstream URL)\n\tserver response: forbidden",
            at("403")
        ))
    );
    assert_eq!(
        err("302").await,
        Error::failed(format!(
            "{}: 302 Found (the upstream redirected without a usable Location; check the URL in --upstream)",
            at("302")
        ))
    );
}

#[tokio::test]
async fn garbage_bodies_are_rejected() {
    let srv = FaultServer::start(|path| {
        let file = path.rsplit('/').next().unwrap_or("");
        match (path.split('/').nth(1).unwrap_or(""), file) {
            ("notjson", _) => Reply::ok("<html>hello</html>"),
            ("noncanon", _) => info_json("v1.0"),
            ("other", _) => info_json("v1.0.1"),
            ("major", _) => info_json("v2.0.0"),
            ("notime", _) => Reply::ok(r#"{"Version":"v1.0.0"}"#),
            ("badtime", _) => Reply::ok(r#"{"Version":"v1.0.0","Time":"2021-13-01T00:00:00Z"}"#),
            ("badmod", _) => Reply::ok("module example.com/m\nrequire (\n"),
            ("htmlmod", _) => Reply::ok("<html>\n"),
            ("badlist", _) => Reply::ok("<html>\n<body>nope</body>\n</html>\n"),
            _ => Reply::status(404),
        }
    })
    .await;
    let o = &srv.origin;
    let p = |prefix: &str| source(&format!("{o}/{prefix}"));
    let inv =
        |prefix: &str, what: &str| format!("invalid response from proxy \"{o}/{prefix}\": {what}");
    assert_eq!(
        p("notjson").stat(M, "v1.0.0").await.unwrap_err(),
        Error::failed(format!(
            "{M}@v1.0.0: {} {GARBAGE_HINT}",
            inv("notjson", "expected value at line 1 column 1")
        ))
    );
    assert_eq!(
        p("notjson").latest(M).await.unwrap_err(),
        Error::failed(format!(
            "module {M}: {} {GARBAGE_HINT}",
            inv("notjson", "expected value at line 1 column 1")
        ))
    );
    assert_eq!(
        p("other").stat(M, "v1.0.0").await.unwrap_err(),
        Error::failed(format!(
            "{M}@v1.0.0: proxy returned info for version v1.0.1 instead of requested version {GARBAGE_HINT}"
        ))
    );
    let served = |r: Result<Info, Error>| r.map(|i| (i.version, i.json));
    // A non-canonical query may resolve to any version, even one the go command will
    // refuse later (it reads such an answer without complaint, and so relays modgate).
    assert_eq!(p("other").stat(M, "v1.0").await.unwrap(), info("v1.0.1"));
    assert_eq!(p("other").stat(M, "main").await.unwrap(), info("v1.0.1"));
    for (prefix, version) in [("noncanon", "v1.0"), ("major", "v2.0.0")] {
        assert_eq!(
            served(p(prefix).stat(M, "main").await),
            Ok((
                version.to_string(),
                format!(r#"{{"Version":"{version}","Time":"2021-03-04T05:06:07Z"}}"#).into()
            )),
            "{prefix}"
        );
    }
    // A canonical version not valid for the path may come back as any version.
    assert_eq!(
        served(p("other").stat(M, "v2.0.0").await),
        Ok((
            "v1.0.1".to_string(),
            r#"{"Version":"v1.0.1","Time":"2021-03-04T05:06:07Z"}"#.into()
        ))
    );
    // No Time is Go's zero time: taken, and relayed as it came.
    assert_eq!(
        served(p("notime").stat(M, "v1.0.0").await),
        Ok(("v1.0.0".to_string(), r#"{"Version":"v1.0.0"}"#.into()))
    );
    let (Kind::Failed, msg) = p("badtime")
        .stat(M, "v1.0.0")
        .await
        .unwrap_err()
        .into_parts()
    else {
        panic!("badtime")
    };
    assert!(
        msg.starts_with(&format!(
            "{M}@v1.0.0: {}",
            inv(
                "badtime",
                "parsing time \"2021-13-01T00:00:00Z\" as \"2006-01-02T15:04:05Z07:00\": not an RFC 3339 time"
            )
        )),
        "{msg}"
    );
    assert_eq!(
        p("badmod").go_mod(M, "v1.0.0").await.unwrap_err(),
        Error::failed(format!(
            "{M}@v1.0.0: invalid go.mod from proxy: {M}@v1.0.0/go.mod:3: syntax error (unterminated block started at {M}@v1.0.0/go.mod:2:1) {GARBAGE_HINT}"
        ))
    );
    // What lax parsing reads (an unknown directive `<html>`) and a list without one
    // version: the go command takes both, so they are relayed as served.
    assert_eq!(
        p("htmlmod").go_mod(M, "v1.0.0").await.unwrap(),
        b"<html>\n".to_vec()
    );
    assert_eq!(
        p("badlist").list(M).await.unwrap(),
        "<html>\n<body>nope</body>\n</html>\n"
    );
}

#[tokio::test]
async fn zips_are_relayed_bounded_and_removed_when_cut() {
    let good = module_zip(M, "v1.0.0");
    let other = module_zip("example.com/other", "v1.0.0");
    let random = b"PK\x03\x04 this is not really a zip".to_vec();
    let (good2, other2, random2) = (good.clone(), other.clone(), random.clone());
    let srv = FaultServer::start(move |path| match path.split('/').nth(1).unwrap_or("") {
        "good" => Reply::ok(good2.clone()),
        "random" => Reply::ok(random2.clone()),
        "other" => Reply::ok(other2.clone()),
        "announced" => Reply::Huge {
            announced: gomod::zip::MAX_ZIP_FILE + 1,
        },
        _ => Reply::status(404),
    })
    .await;
    let o = &srv.origin;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("z.zip");
    let p = |prefix: &str| source(&format!("{o}/{prefix}"));

    let n = p("good").zip(M, "v1.0.0", &dest).await.unwrap();
    assert_eq!(n, good.len() as u64);
    assert_eq!(std::fs::read(&dest).unwrap(), good);

    // The content is the cache's to check (once, after the chain, as the go command
    // does): the source relays what was served.
    for (prefix, served) in [("random", &random), ("other", &other)] {
        let n = p(prefix).zip(M, "v1.0.0", &dest).await.unwrap();
        assert_eq!(n, served.len() as u64, "{prefix}");
        assert_eq!(&std::fs::read(&dest).unwrap(), served, "{prefix}");
        std::fs::remove_file(&dest).unwrap();
    }

    let started = Instant::now();
    let err = p("announced").zip(M, "v1.0.0", &dest).await.unwrap_err();
    assert_eq!(
        err,
        Error::failed(format!(
            "{M}@v1.0.0: reading {o}/announced/{M}/@v/v1.0.0.zip: response larger than the 524288000-byte limit (the upstream is broken or not a Go module proxy; check --upstream)"
        ))
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(!dest.exists());
}

/// A chunked body (no Content-Length) past the 500 MiB limit is cut off while streaming.
#[tokio::test]
async fn streamed_zip_over_the_limit_is_cut_off() {
    let chunk = vec![b'z'; 1 << 20];
    let count = (gomod::zip::MAX_ZIP_FILE >> 20) as usize + 1;
    let srv = FaultServer::start(move |_| Reply::Chunked {
        chunk: chunk.clone(),
        count,
    })
    .await;
    let p = ProxySource::new(
        &srv.origin,
        &ProxySettings {
            first_byte_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(120),
            ..fast()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("z.zip");
    let started = Instant::now();
    let err = p.zip(M, "v1.0.0", &dest).await.unwrap_err();
    eprintln!("streamed 500 MiB in {:?}", started.elapsed());
    assert_eq!(
        err,
        Error::failed(format!(
            "{M}@v1.0.0: reading {}/{M}/@v/v1.0.0.zip: response larger than the 524288000-byte limit (the upstream is broken or not a Go module proxy; check --upstream)",
            srv.origin
        ))
    );
    assert!(!dest.exists());
}

#[tokio::test]
async fn hangs_and_trickles_time_out() {
    let srv = FaultServer::start(|path| match path.split('/').nth(1).unwrap_or("") {
        "hang" => Reply::Hang,
        "midbody" => Reply::HangMidBody {
            announced: 1000,
            sent: b"v1.0.0\n".to_vec(),
        },
        "trickle" => Reply::Trickle {
            interval: Duration::from_millis(100),
            count: 100,
        },
        _ => Reply::status(404),
    })
    .await;
    let o = &srv.origin;
    let p = |prefix: &str| source(&format!("{o}/{prefix}"));

    let started = Instant::now();
    assert_eq!(
        p("hang").list(M).await.unwrap_err(),
        Error::timeout(format!(
            "module {M}: reading {o}/hang/{M}/@v/list: timed out: no response headers within 500ms (first-byte timeout) {SLOW_HINT}"
        ))
    );
    let t = started.elapsed();
    assert!(
        t >= Duration::from_millis(500) && t < Duration::from_secs(2),
        "{t:?}"
    );

    let started = Instant::now();
    assert_eq!(
        p("midbody").list(M).await.unwrap_err(),
        Error::timeout(format!(
            "module {M}: reading {o}/midbody/{M}/@v/list: timed out: the body stalled, no data for 500ms after 7 bytes {SLOW_HINT}"
        ))
    );
    assert!(started.elapsed() < Duration::from_secs(2));

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("z.zip");
    assert_eq!(
        p("midbody").zip(M, "v1.0.0", &dest).await.unwrap_err(),
        Error::timeout(format!(
            "{M}@v1.0.0: reading {o}/midbody/{M}/@v/v1.0.0.zip: timed out: the body stalled, no data for 500ms after 7 bytes {SLOW_HINT}"
        ))
    );
    assert!(!dest.exists());

    // One byte every 100 ms never stalls, but 100 of them take longer than the 3 s total.
    let started = Instant::now();
    let err = p("trickle").go_mod(M, "v1.0.0").await.unwrap_err();
    let t = started.elapsed();
    let (Kind::Timeout, msg) = err.clone().into_parts() else {
        panic!("{err:?}")
    };
    let want = format!(
        "{M}@v1.0.0: reading {o}/trickle/{M}/@v/v1.0.0.mod: timed out: transfer not finished within 3s (total timeout) after "
    );
    assert!(msg.starts_with(&want) && msg.ends_with(SLOW_HINT), "{msg}");
    assert!(
        t >= Duration::from_secs(3) && t < Duration::from_secs(5),
        "{t:?}"
    );
}

#[tokio::test]
async fn refused_connections_fail_naming_the_upstream() {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}/base");
    let p = source(&base);
    let err = p.list(M).await.unwrap_err();
    let (Kind::Failed, msg) = err.clone().into_parts() else {
        panic!("{err:?}")
    };
    let head = format!("module {M}: reading {base}/{M}/@v/list: cannot connect: ");
    assert!(msg.starts_with(&head), "{msg}");
    assert!(msg.contains("Connection refused"), "{msg}");
    assert!(
        msg.ends_with(
            "(check that the upstream is running and reachable and that its URL in --upstream is right)"
        ),
        "{msg}"
    );
}

#[tokio::test]
async fn redirect_loops_stop() {
    let srv = FaultServer::start(|path| Reply::Redirect {
        status: 302,
        location: path.to_string(),
    })
    .await;
    let err = source(&srv.origin).list(M).await.unwrap_err();
    assert!(
        matches!(err.clone().into_parts(), (Kind::Failed, m) if m.contains("stopped after 10 redirects")),
        "{err:?}"
    );
    assert_eq!(srv.paths().len(), 11);
}

#[tokio::test]
async fn latest_falls_back_to_the_list_on_404_only() {
    let srv = FaultServer::start(|path| {
        let mut parts = path.splitn(3, '/');
        let _ = parts.next();
        let mode = parts.next().unwrap_or("").to_string();
        let rest = format!("/{}", parts.next().unwrap_or(""));
        let list = |body: &str| {
            if rest == format!("/{M}/@v/list") {
                Reply::ok(body.to_string())
            } else if rest == format!("/{M}/@latest") {
                Reply::text(404, "no latest here")
            } else if let Some(v) = rest
                .strip_prefix(&format!("/{M}/@v/"))
                .and_then(|f| f.strip_suffix(".info"))
            {
                info_json(v)
            } else {
                Reply::status(404)
            }
        };
        match mode.as_str() {
            "tags" => list("v1.0.0\nv1.2.0-pre\nv1.1.0\n"),
            "pre" => list("v1.2.0-pre\nv1.2.0-alpha\n"),
            "pseudo" => list(
                "v0.0.0-20190101000000-aaaaaaaaaaaa\nv0.0.0-20200101000000-bbbbbbbbbbbb\nv0.0.0-20180101000000-cccccccccccc\n",
            ),
            "empty" => list(""),
            "fails" => Reply::status(500),
            _ => Reply::status(404),
        }
    })
    .await;
    let o = &srv.origin;
    let p = |prefix: &str| source(&format!("{o}/{prefix}"));
    assert_eq!(p("tags").latest(M).await.unwrap(), info("v1.1.0"));
    assert_eq!(
        srv.paths(),
        vec![
            format!("/tags/{M}/@latest"),
            format!("/tags/{M}/@v/list"),
            format!("/tags/{M}/@v/v1.1.0.info"),
        ]
    );
    assert_eq!(p("pre").latest(M).await.unwrap(), info("v1.2.0-pre"));
    assert_eq!(
        p("pseudo").latest(M).await.unwrap(),
        info("v0.0.0-20200101000000-bbbbbbbbbbbb")
    );
    assert_eq!(
        p("empty").latest(M).await.unwrap_err(),
        Error::not_found(format!("module {M}: no commits"))
    );
    let before = srv.paths().len();
    assert_eq!(
        p("fails").latest(M).await.unwrap_err(),
        Error::failed(format!(
            "module {M}: reading {o}/fails/{M}/@latest: 500 Internal Server Error (the upstream failed; try again later, or add a fallback after `|` in --upstream)"
        ))
    );
    assert_eq!(srv.paths()[before..], [format!("/fails/{M}/@latest")]);
}

#[tokio::test]
async fn credentials_are_sent_and_never_shown() {
    let srv = FaultServer::start(|_| Reply::text(404, "who are you")).await;
    let port = srv.origin.rsplit(':').next().unwrap().to_string();
    let base = format!("http://alice:s%3Acr%40t@127.0.0.1:{port}/private");
    let shown = format!("http://alice:xxxxx@127.0.0.1:{port}/private");
    let p = source(&base);
    assert_eq!(p.describe(), format!("proxy {shown}"));
    assert_eq!(p.redacted_url(), shown);
    let err = p.list(M).await.unwrap_err();
    assert_eq!(
        err,
        Error::not_found(format!(
            "module {M}: reading {shown}/{M}/@v/list: 404 Not Found\n\tserver response: who are you"
        ))
    );
    let seen = srv.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, format!("/private/{M}/@v/list"));
    assert_eq!(
        seen[0].header("authorization"),
        Some(
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("alice:s:cr@t")
            )
            .as_str()
        )
    );
    assert_eq!(
        seen[0].header("user-agent"),
        Some(format!("modgate/{}", env!("CARGO_PKG_VERSION")).as_str())
    );
}

#[tokio::test]
async fn paths_and_versions_are_escaped_as_the_go_command_does() {
    let srv = FaultServer::start(|_| Reply::status(404)).await;
    let p = source(&format!("{}/base/", srv.origin));
    let _ = p.stat("example.com/Upper/Case", "v1.0.0-RC").await;
    let _ = p.stat("example.com/m", "feature~x").await;
    let _ = p.go_mod("example.com/m", "v1.0.0+incompatible").await;
    assert_eq!(
        srv.paths(),
        vec![
            "/base/example.com/%21upper/%21case/@v/v1.0.0-%21r%21c.info",
            "/base/example.com/m/@v/feature~x.info",
            "/base/example.com/m/@v/v1.0.0+incompatible.mod",
        ]
    );
}

#[tokio::test]
async fn concurrency_is_bounded_per_upstream() {
    let srv = FaultServer::start(|_| {
        Reply::Delay(Duration::from_millis(200), Box::new(Reply::ok("v1.0.0\n")))
    })
    .await;
    let p = ProxySource::new(
        &srv.origin,
        &ProxySettings {
            max_concurrency: 2,
            first_byte_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(10),
            ..fast()
        },
    )
    .unwrap();
    let results = futures_util::future::join_all((0..6).map(|i| {
        let p = &p;
        async move { p.list(&format!("example.com/m{i}")).await }
    }))
    .await;
    for r in results {
        assert_eq!(r.unwrap(), "v1.0.0\n");
    }
    assert_eq!(srv.paths().len(), 6);
    assert_eq!(srv.max_in_flight(), 2);
}

#[tokio::test]
async fn bodies_cut_short_fail() {
    let srv = FaultServer::start(|_| Reply::ShortBody {
        announced: 1000,
        sent: b"v1.0.0\nv1.1".to_vec(),
    })
    .await;
    let o = &srv.origin;
    let err = source(o).list(M).await.unwrap_err();
    let (Kind::Failed, msg) = err.clone().into_parts() else {
        panic!("{err:?}")
    };
    let head = format!("module {M}: reading {o}/{M}/@v/list: reading the body after 11 bytes: ");
    assert!(msg.starts_with(&head), "{msg}");
    assert!(
        msg.ends_with("(try again later, or add a fallback after `|` in --upstream)"),
        "{msg}"
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("z.zip");
    assert!(matches!(
        source(o).zip(M, "v1.0.0", &dest).await.unwrap_err().kind(),
        Kind::Failed
    ));
    assert!(!dest.exists());
}

#[test]
fn default_settings() {
    let s = ProxySettings::default();
    assert_eq!(s.connect_timeout, Duration::from_secs(10));
    assert_eq!(s.first_byte_timeout, Duration::from_secs(30));
    assert_eq!(s.total_timeout, Duration::from_secs(600));
    assert_eq!(s.max_concurrency, 16);
    assert_eq!(
        s.user_agent,
        format!("modgate/{}", env!("CARGO_PKG_VERSION"))
    );
}
