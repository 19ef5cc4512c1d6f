//! The GOPROXY protocol details of `modgate serve`, with exact values: status codes,
//! headers, bodies, Range, ETag/304, HEAD, request ids, and trick inputs that must get a
//! clear 400/404 and touch nothing on disk.

use crate::serve_common::*;

const T1: &str = "2024-01-02T03:04:05Z";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

struct Fixture {
    _tmp: tempfile::TempDir,
    tree: Tree,
    data: std::path::PathBuf,
    server: Server,
    a: Sums,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("upstream"));
    tree.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    let a = tree.add(
        "example.com/a",
        "v1.1.0",
        T1,
        &[("a.go", "package a\n\n// v1.1.0\n"), ("LICENSE", "MIT\n")],
    );
    std::fs::copy(
        tree.vfile("example.com/a", "v1.1.0", "info"),
        tree.vdir("example.com/a").join("master.info"),
    )
    .unwrap();
    let data = tmp.path().join("data");
    let server = Server::over(&data, &tree.url());
    Fixture {
        _tmp: tmp,
        tree,
        data,
        server,
        a,
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// One request and the answer it must get, like the tables of x/mod's tests: the status,
/// each header named (`<none>`: absent), and the body (`None`: not compared).
#[derive(Clone)]
struct Case {
    method: &'static str,
    path: String,
    send: Vec<(&'static str, String)>,
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
}

fn case(method: &'static str, path: &str, status: u16) -> Case {
    Case {
        method,
        path: path.to_string(),
        send: Vec::new(),
        status,
        headers: Vec::new(),
        body: None,
    }
}

impl Case {
    fn send(mut self, name: &'static str, value: impl Into<String>) -> Case {
        self.send.push((name, value.into()));
        self
    }
    fn header(mut self, name: &'static str, value: impl Into<String>) -> Case {
        self.headers.push((name, value.into()));
        self
    }
    fn body(mut self, body: impl Into<Vec<u8>>) -> Case {
        self.body = Some(body.into());
        self
    }
}

/// Sends each case in order (later ones may rely on what earlier ones cached) and
/// compares the whole answer.
fn check(base: &str, cases: Vec<Case>) {
    rt().block_on(async {
        let c = client();
        for case in cases {
            let what = format!("{} {} {:?}", case.method, case.path, case.send);
            let method = reqwest::Method::from_bytes(case.method.as_bytes()).unwrap();
            let mut req = c.request(method, format!("{base}{}", case.path));
            for (k, v) in &case.send {
                req = req.header(*k, v);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status().as_u16(), case.status, "{what}");
            for (name, want) in &case.headers {
                let got = r
                    .headers()
                    .get(*name)
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_else(|| "<none>".to_string());
                assert_eq!(&got, want, "{what}: header {name}");
            }
            let body = r.bytes().await.unwrap();
            if let Some(want) = &case.body {
                assert_eq!(
                    String::from_utf8_lossy(&body),
                    String::from_utf8_lossy(want),
                    "{what}: body"
                );
                assert_eq!(&body[..], &want[..], "{what}: body bytes");
            }
        }
    });
}

const TEXT: &str = "text/plain; charset=UTF-8";
const SHORT: &str = "public, max-age=60";

#[test]
fn metadata_answers_have_exact_types_lengths_and_cache_headers() {
    let f = fixture();
    let info = "{\"Version\":\"v1.1.0\",\"Time\":\"2024-01-02T03:04:05Z\"}";
    let go_mod = "module example.com/a\n\ngo 1.21\n";
    check(
        &f.server.url(),
        vec![
            case("GET", "/example.com/a/@v/list", 200)
                .header("content-type", TEXT)
                .header("cache-control", SHORT)
                .header("content-length", "14")
                .header("x-modgate-stale", "<none>")
                .body("v1.0.0\nv1.1.0\n"),
            case("GET", "/example.com/a/@v/v1.1.0.info", 200)
                .header("content-type", "application/json")
                .header("cache-control", IMMUTABLE)
                .header("content-length", info.len().to_string())
                .body(info),
            // A branch name resolves to the canonical version, cached briefly.
            case("GET", "/example.com/a/@v/master.info", 200)
                .header("content-type", "application/json")
                .header("cache-control", SHORT)
                .body(info),
            case("GET", "/example.com/a/@latest", 200)
                .header("content-type", "application/json")
                .header("cache-control", SHORT)
                .body(info),
            case("GET", "/example.com/a/@v/v1.1.0.mod", 200)
                .header("content-type", TEXT)
                .header("cache-control", IMMUTABLE)
                .header("content-length", "30")
                .body(go_mod),
            case("HEAD", "/example.com/a/@v/v1.1.0.mod", 200)
                .header("content-type", TEXT)
                .header("content-length", "30")
                .body(""),
            case("GET", "/example.com/a/@v/v1.9.9.info", 404)
                .header("content-type", TEXT)
                .body("not found: example.com/a@v1.9.9\n"),
            case("GET", "/example.com/nope/@v/list", 404)
                .header("content-type", TEXT)
                .body("not found: example.com/nope@v/list\n"),
            case("GET", "/healthz", 200).body("ok\n"),
            case("GET", "/readyz", 200)
                .header("cache-control", "no-store")
                .body("ready\n"),
            case("POST", "/example.com/a/@v/list", 405)
                .header("allow", "GET, HEAD")
                .body("method not allowed: the GOPROXY protocol is GET and HEAD only\n"),
        ],
    );
}

/// Immutable answers given again (from the HTTP layer's memory of them) are the first
/// answer to the byte: status, type, length, caching, body; HEAD the same without body.
#[test]
fn repeated_immutable_answers_are_the_same() {
    let f = fixture();
    let answer = |method: &str, path: &str| {
        let r = raw_get(&f.server.addr, method, path).unwrap();
        let keep = ["content-type", "content-length", "cache-control"];
        let headers: Vec<(String, String)> = r
            .headers
            .iter()
            .filter(|(k, _)| keep.contains(&k.as_str()))
            .cloned()
            .collect();
        (r.status, headers, r.body)
    };
    for path in [
        "/example.com/a/@v/v1.1.0.info",
        "/example.com/a/@v/v1.1.0.mod",
        "/example.com/a/@v/v1.0.0.info",
    ] {
        let first = answer("GET", path);
        assert_eq!(first.0, 200, "{path}");
        assert!(!first.2.is_empty());
        for _ in 0..3 {
            assert_eq!(answer("GET", path), first, "{path}");
        }
        let head = answer("HEAD", path);
        assert_eq!((head.0, &head.1), (first.0, &first.1), "HEAD {path}");
        assert!(head.2.is_empty(), "HEAD {path}");
    }
    // Each request still has its own id and its own log line.
    let ids: std::collections::BTreeSet<String> = (0..3)
        .map(|_| {
            raw_get(&f.server.addr, "GET", "/example.com/a/@v/v1.1.0.mod")
                .unwrap()
                .header("x-request-id")
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), 3);
    let last = ids.iter().next_back().unwrap();
    assert!(
        f.server
            .log_with(last)
            .contains(&format!("request{{id={last}}}"))
    );
}

/// The answers about a stored zip, each with what it must get.
fn zip_cases(url: &str, zip: &[u8], etag: &str) -> Vec<Case> {
    let size = zip.len();
    vec![
        case("GET", url, 200)
            .header("content-type", "application/zip")
            .header("cache-control", IMMUTABLE)
            .header("etag", etag)
            .header("accept-ranges", "bytes")
            .header("content-length", size.to_string())
            .body(zip.to_vec()),
        case("HEAD", url, 200)
            .header("content-length", size.to_string())
            .header("etag", etag)
            .body(""),
        case("GET", url, 304)
            .send("if-none-match", etag)
            .header("etag", etag)
            .body(""),
        case("GET", url, 200)
            .send("if-none-match", "\"h1:other\"")
            .body(zip.to_vec()),
        case("GET", url, 206)
            .send("range", "bytes=0-9")
            .header("content-range", format!("bytes 0-9/{size}"))
            .header("content-length", "10")
            .body(&zip[..10]),
        case("GET", url, 206)
            .send("range", "bytes=-5")
            .header(
                "content-range",
                format!("bytes {}-{}/{size}", size - 5, size - 1),
            )
            .body(&zip[size - 5..]),
        case("GET", url, 206)
            .send("range", "bytes=100-")
            .header("content-range", format!("bytes 100-{}/{size}", size - 1))
            .body(&zip[100..]),
        case("GET", url, 416)
            .send("range", format!("bytes={size}-"))
            .header("content-range", format!("bytes */{size}"))
            .body(format!("range not satisfiable: the zip is {size} bytes\n")),
        // If-Range with another ETag: the whole zip.
        case("GET", url, 200)
            .send("range", "bytes=0-9")
            .send("if-range", "\"h1:other\"")
            .body(zip.to_vec()),
    ]
}

#[test]
fn zips_have_etag_range_304_and_head() {
    let f = fixture();
    let url = "/example.com/a/@v/v1.1.0.zip";
    let etag = format!("\"{}\"", f.a.zip_h1);
    // After the first GET, a zip is sent again by its path alone (`http/hot_answers.rs`):
    // every answer but the first (and HEAD's) comes that way.
    check(&f.server.url(), zip_cases(url, &f.a.zip, &etag));
    // Each as the first request of a new process (the zip stored, nothing remembered):
    // through the cache. Then once more: by its path, when the first sent the zip.
    let Fixture {
        _tmp,
        tree,
        data,
        server,
        a,
    } = f;
    drop(server);
    for c in zip_cases(url, &a.zip, &etag) {
        let server = Server::over(&data, &tree.url());
        let twice = vec![c.clone(), c];
        check(&server.url(), twice);
    }
    // The stored entry is the zip, and its hash.
    assert_eq!(
        std::fs::read(data.join("cache/download/example.com/a/@v/v1.1.0.zip")).unwrap(),
        a.zip
    );
    assert_eq!(
        std::fs::read_to_string(data.join("cache/download/example.com/a/@v/v1.1.0.ziphash"))
            .unwrap(),
        a.zip_h1
    );
}

/// A zip sent again by its path is sent from its stored file while there is one; once it
/// is gone (evicted, or removed under the server), the cache is asked as for a new one,
/// and fetches it again.
#[test]
fn a_zip_sent_again_by_its_path_is_fetched_anew_when_its_file_is_gone() {
    let f = fixture();
    let url = "/example.com/a/@v/v1.1.0.zip";
    let etag = format!("\"{}\"", f.a.zip_h1);
    let stored = f.data.join("cache/download/example.com/a/@v/v1.1.0.zip");
    let whole = || {
        case("GET", url, 200)
            .header("etag", &etag)
            .header("content-length", f.a.zip.len().to_string())
            .body(f.a.zip.clone())
    };
    check(&f.server.url(), vec![whole(), whole()]);
    std::fs::remove_file(&stored).unwrap();
    check(&f.server.url(), vec![whole(), whole()]);
    // Fetched and stored again.
    assert_eq!(std::fs::read(&stored).unwrap(), f.a.zip);
}

#[test]
fn every_request_has_its_own_id_in_the_header_and_the_log() {
    let f = fixture();
    let r1 = raw_get(&f.server.addr, "GET", "/example.com/a/@v/list").unwrap();
    let r2 = raw_get(&f.server.addr, "GET", "/example.com/a/@v/v1.0.0.info").unwrap();
    let (id1, id2) = (
        r1.header("x-request-id").unwrap(),
        r2.header("x-request-id").unwrap(),
    );
    assert_ne!(id1, id2);
    // What the cache had (for a trace in front): the first .info fetched, the same again
    // served from the cache.
    assert_eq!(r2.header("x-cache"), Some("MISS"));
    let r3 = raw_get(&f.server.addr, "GET", "/example.com/a/@v/v1.0.0.info").unwrap();
    assert_eq!(r3.header("x-cache"), Some("HIT"));
    std::thread::sleep(std::time::Duration::from_millis(200));
    let log = f.server.log_text();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&format!("request{{id={id2}}}")))
        .collect();
    // The upstream fetch (in the chain) and the request's outcome, both under its id.
    assert!(
        lines.iter().any(|l| l.contains("modgate::source::chain")
            && l.contains("op=\"info\" version=\"v1.0.0\"")),
        "{log}"
    );
    let line = lines
        .iter()
        .find(|l| l.contains("modgate::http: request "))
        .unwrap_or_else(|| panic!("no request line with id={id2}:\n{log}"));
    assert!(
        line.contains("method=GET path=/example.com/a/@v/v1.0.0.info status=200"),
        "{line}"
    );
    assert!(!log.contains(&format!("request{{id={id1}}}: modgate::source::chain: answered module=\"example.com/a\" op=\"info\"")), "{log}");
    // A path refused before any lookup: why, under its id too.
    let r = raw_get(&f.server.addr, "GET", "/example.com/a/@v/v1.0.0.tar").unwrap();
    assert_eq!(r.status, 404);
    let id = r.header("x-request-id").unwrap();
    let log = f
        .server
        .log_with(&format!("request{{id={id}}}: modgate::http: rejected"));
    assert!(
        log.contains(&format!(
            "request{{id={id}}}: modgate::http: rejected reason="
        )),
        "{log}"
    );
}

#[test]
fn trick_inputs_get_a_clear_400_or_404_and_touch_nothing() {
    let f = fixture();
    let before_data = files_under(&f.data);
    let before_tree = files_under(&f.tree.root);
    let long = format!("/example.com/{}/@v/list", "a".repeat(3000));
    let cases: &[(&str, u16, &str)] = &[
        (
            "/example.com/../../etc/@v/list",
            400,
            "bad request: invalid escaped module path \"example.com/../../etc\": malformed module path \"example.com/../../etc\": invalid path element \"..\"\n",
        ),
        (
            "/example.com/%2e%2e/%2e%2e/etc/@v/list",
            400,
            "bad request: invalid escaped module path \"example.com/../../etc\": malformed module path \"example.com/../../etc\": invalid path element \"..\"\n",
        ),
        (
            "/example.com/a/@v/..%2f..%2f..%2fetc%2fpasswd.info",
            400,
            "bad request: invalid escaped version \"../../../etc/passwd\": invalid char '/'\n",
        ),
        (
            "/example.com/a/@v/v1.0.0%00.info",
            400,
            "bad request: the path contains a control character\n",
        ),
        (
            "/example.com/a%00/@v/list",
            400,
            "bad request: the path contains a control character\n",
        ),
        (
            "/example.com/a/@v/%zz.info",
            400,
            "bad request: malformed percent escape in the path\n",
        ),
        (
            "/github.com/Foo/bar/@v/list",
            400,
            "bad request: invalid escaped module path \"github.com/Foo/bar\"\n",
        ),
        (
            "/github.com/!!foo/bar/@v/list",
            400,
            "bad request: invalid escaped module path \"github.com/!!foo/bar\"\n",
        ),
        (
            "/example.com/a/@v/v1.0.0-!!r.info",
            400,
            "bad request: invalid escaped version \"v1.0.0-!!r\"\n",
        ),
        (
            "/example.com/a/@v/V1.0.0.info",
            400,
            "bad request: invalid escaped version \"V1.0.0\"\n",
        ),
        (
            &long,
            400,
            "bad request: the path is 3021 bytes long, over the limit of 2048\n",
        ),
        (
            "/example.com/a/@v/master.zip",
            404,
            "not found: example.com/a@master: .zip needs a canonical version; resolve master with @v/master.info first\n",
        ),
        // Asked of the upstream (proxy.go asks too; some serve it), which has none.
        (
            "/example.com/a/@v/v2.0.0.mod",
            404,
            "not found: example.com/a@v2.0.0: go.mod\n",
        ),
        (
            "/example.com/a/@v/",
            404,
            "not found: unknown path \"/example.com/a/@v/\": the GOPROXY protocol serves /<module>/@v/list, /<module>/@v/<version>.info, .mod, .zip and /<module>/@latest\n",
        ),
        (
            "/etc/passwd",
            404,
            "not found: unknown path \"/etc/passwd\": the GOPROXY protocol serves /<module>/@v/list, /<module>/@v/<version>.info, .mod, .zip and /<module>/@latest\n",
        ),
    ];
    for (path, status, body) in cases {
        let r = raw_get(&f.server.addr, "GET", path).unwrap();
        assert_eq!(
            (r.status, r.text().as_str()),
            (*status, *body),
            "GET {path}"
        );
        assert_eq!(
            r.header("content-type"),
            Some("text/plain; charset=UTF-8"),
            "{path}"
        );
    }
    // A raw NUL byte in the request line: hyper refuses the request itself.
    let r = raw_request(
        &f.server.addr,
        b"GET /example.com/a\0/@v/list HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(files_under(&f.data), before_data);
    assert_eq!(files_under(&f.tree.root), before_tree);
}
