//! `ProxySource` against the go distribution's own test proxy (cmd/go/proxy_test.go,
//! serving cmd/go/testdata/mod), checked against the corpus, the test proxy's checksum
//! database and the go command itself.

use std::time::Duration;

use crate::proxy_support::{GoTestProxy, corpus_file, go_command};
use modgate::error::{Error, Kind};
use modgate::source::proxy::{ProxySettings, ProxySource};
use modgate::source::{Info, Source};

fn settings() -> ProxySettings {
    ProxySettings {
        connect_timeout: Duration::from_secs(5),
        first_byte_timeout: Duration::from_secs(20),
        total_timeout: Duration::from_secs(60),
        ..ProxySettings::default()
    }
}

fn source(url: &str) -> ProxySource {
    ProxySource::new(url, &settings()).expect("proxy source")
}

/// The `.info` the test proxy serves for the corpus file `archive`: its bytes, as served.
fn served_info(archive: &str) -> Info {
    Info::parse(corpus_file(archive, ".info")).unwrap()
}

/// An `@v/list` body of `versions`.
fn list_of(versions: &[&str]) -> String {
    versions.iter().map(|v| format!("{v}\n")).collect()
}

const QUOTE_VERSIONS: &[&str] = &[
    "v1.0.0",
    "v1.1.0",
    "v1.2.0",
    "v1.2.1",
    "v1.3.0",
    "v1.4.0",
    "v1.5.0",
    "v1.5.1",
    "v1.5.2",
    "v1.5.3-pre1",
];

#[tokio::test]
async fn list_stat_latest_and_go_mod() {
    let proxy = GoTestProxy::start();
    let p = source(&proxy.url());
    assert_eq!(p.describe(), format!("proxy {}", proxy.url()));

    assert_eq!(
        p.list("rsc.io/quote").await.unwrap(),
        list_of(QUOTE_VERSIONS)
    );
    assert_eq!(
        p.stat("rsc.io/quote", "v1.5.2").await.unwrap(),
        served_info("rsc.io_quote_v1.5.2.txt")
    );
    // A commit hash is forwarded and resolved by the upstream.
    assert_eq!(
        p.stat("rsc.io/quote", "c4d4236f9242").await.unwrap(),
        served_info("rsc.io_quote_v1.5.2.txt")
    );
    assert_eq!(
        p.stat("rsc.io/quote", "v0.0.0-20180628003336-dd9747d19b04")
            .await
            .unwrap(),
        served_info("rsc.io_quote_v0.0.0-20180628003336-dd9747d19b04.txt")
    );
    // The test proxy's @latest (it prefers what it prefers; we pass its answer on).
    assert_eq!(
        p.latest("rsc.io/quote").await.unwrap(),
        served_info("rsc.io_quote_v0.0.0-20180628003336-dd9747d19b04.txt")
    );
    assert_eq!(
        p.go_mod("rsc.io/quote", "v1.5.2").await.unwrap(),
        corpus_file("rsc.io_quote_v1.5.2.txt", ".mod")
    );
    assert_eq!(
        p.go_mod("rsc.io/quote", "v1.5.2").await.unwrap(),
        b"module \"rsc.io/quote\"\n\nrequire \"rsc.io/sampler\" v1.3.0\n"
    );
    assert_eq!(
        p.go_mod("rsc.io/sampler", "v1.3.0").await.unwrap(),
        corpus_file("rsc.io_sampler_v1.3.0.txt", ".mod")
    );
}

#[tokio::test]
async fn upper_case_paths_and_versions_are_escaped() {
    let proxy = GoTestProxy::start();
    let p = source(&proxy.url());
    assert_eq!(
        p.stat("rsc.io/QUOTE", "v1.5.3-PRE").await.unwrap(),
        served_info("rsc.io_!q!u!o!t!e_v1.5.3-!p!r!e.txt")
    );
    assert_eq!(
        p.go_mod("rsc.io/QUOTE", "v1.5.3-PRE").await.unwrap(),
        b"module rsc.io/QUOTE\n\nrequire rsc.io/quote v1.5.2\n"
    );
    assert_eq!(
        p.list("rsc.io/QUOTE").await.unwrap(),
        list_of(&["v1.5.2", "v1.5.3-PRE"])
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("z.zip");
    p.zip("rsc.io/QUOTE", "v1.5.3-PRE", &dest).await.unwrap();
    assert_eq!(
        gomod::dirhash::hash_zip_file(&dest).unwrap(),
        sumdb_line(&proxy, "rsc.io/QUOTE", "v1.5.3-PRE").0
    );
}

/// The test proxy's checksum database lookup: (zip h1, go.mod h1).
fn sumdb_line(proxy: &GoTestProxy, path: &str, version: &str) -> (String, String) {
    let url = format!(
        "{}/mod/sumdb/localhost.localdev/sumdb/lookup/{}@{}",
        proxy.origin,
        gomod::module::escape_path(path).unwrap(),
        gomod::module::escape_version(version).unwrap()
    );
    let body = fixture_http::get_text(&url);
    let mut zip = String::new();
    let mut modh = String::new();
    for line in body.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() == 3 && f[0] == path && f[1] == version {
            zip = f[2].to_string();
        }
        if f.len() == 3 && f[0] == path && f[1] == format!("{version}/go.mod") {
            modh = f[2].to_string();
        }
    }
    assert!(
        !zip.is_empty() && !modh.is_empty(),
        "sumdb lookup {url}: {body}"
    );
    (zip, modh)
}

mod fixture_http {
    /// A tiny blocking GET for test fixtures (the sumdb lookup).
    pub fn get_text(url: &str) -> String {
        let url = url.to_string();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let resp =
                    tokio::time::timeout(std::time::Duration::from_secs(30), reqwest::get(&url))
                        .await
                        .expect("sumdb lookup timed out")
                        .expect("sumdb lookup");
                assert_eq!(resp.status(), 200, "{url}");
                resp.text().await.unwrap()
            })
        })
        .join()
        .unwrap()
    }
}

#[tokio::test]
async fn zips_match_the_checksum_database() {
    let proxy = GoTestProxy::start();
    let p = source(&proxy.url());
    let dir = tempfile::tempdir().unwrap();
    for (path, version) in [
        ("rsc.io/quote", "v1.5.2"),
        ("rsc.io/quote", "v1.0.0"),
        ("rsc.io/quote", "v0.0.0-20180628003336-dd9747d19b04"),
        ("rsc.io/sampler", "v1.3.0"),
        ("rsc.io/quote/v3", "v3.0.0"),
        ("golang.org/x/text", "v0.0.0-20170915032832-14c0d48ead0c"),
    ] {
        let dest = dir.path().join(format!("{}.zip", path.replace('/', "_")));
        let size = p.zip(path, version, &dest).await.unwrap();
        assert_eq!(size, std::fs::metadata(&dest).unwrap().len());
        let (zip_h1, mod_h1) = sumdb_line(&proxy, path, version);
        assert_eq!(
            gomod::dirhash::hash_zip_file(&dest).unwrap(),
            zip_h1,
            "{path}@{version}"
        );
        let gomod_bytes = p.go_mod(path, version).await.unwrap();
        assert_eq!(
            gomod::dirhash::hash_go_mod(&gomod_bytes),
            mod_h1,
            "{path}@{version}"
        );
    }
    // Fixed values, as the corpus defines them.
    let dest = dir.path().join("rsc.io_quote.zip");
    p.zip("rsc.io/quote", "v1.5.2", &dest).await.unwrap();
    assert_eq!(
        gomod::dirhash::hash_zip_file(&dest).unwrap(),
        "h1:3fEykkD9k7lYzXqCYrwGAf7iNhbk4yCjHmKBN9td4L0="
    );
}

/// What `go mod download -json` fetched through the same test proxy (with its checksum
/// database verifying) is byte for byte what we fetched.
#[tokio::test]
async fn same_bytes_as_go_mod_download() {
    let proxy = GoTestProxy::start();
    let p = source(&proxy.url());
    let home = tempfile::tempdir().unwrap();
    let work = home.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let url = proxy.url();
    let out = tokio::task::spawn_blocking({
        let home = home.path().to_path_buf();
        move || {
            go_command(&home)
                .current_dir(&work)
                .env("GOPROXY", &url)
                .env(
                    "GOSUMDB",
                    "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6",
                )
                .env("GO111MODULE", "on")
                .args(["mod", "download", "-json", "rsc.io/quote@v1.5.2"])
                .output()
                .expect("run go mod download")
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "go mod download: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dest = home.path().join("ours.zip");
    p.zip("rsc.io/quote", "v1.5.2", &dest).await.unwrap();
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        std::fs::read(j["Zip"].as_str().unwrap()).unwrap()
    );
    assert_eq!(
        gomod::dirhash::hash_zip_file(&dest).unwrap(),
        j["Sum"].as_str().unwrap()
    );
    let ours_mod = p.go_mod("rsc.io/quote", "v1.5.2").await.unwrap();
    assert_eq!(
        ours_mod,
        std::fs::read(j["GoMod"].as_str().unwrap()).unwrap()
    );
    assert_eq!(
        gomod::dirhash::hash_go_mod(&ours_mod),
        j["GoModSum"].as_str().unwrap()
    );
    // The go command writes its own .info (json.Marshal of what it read): the same
    // version and time as what we relay.
    let go_info = gomod::info::parse(&std::fs::read(j["Info"].as_str().unwrap()).unwrap()).unwrap();
    let ours = gomod::info::parse(&p.stat("rsc.io/quote", "v1.5.2").await.unwrap().json).unwrap();
    assert_eq!((ours.version, ours.time), (go_info.version, go_info.time));
}

#[tokio::test]
async fn not_found_and_status_answers() {
    let proxy = GoTestProxy::start();
    let base = proxy.url();
    let p = source(&base);
    // Go's http.NotFound: text/plain "404 page not found".
    assert_eq!(
        p.list("rsc.io/nonexistent").await.unwrap_err(),
        Error::not_found(format!(
            "module rsc.io/nonexistent: reading {base}/rsc.io/nonexistent/@v/list: 404 Not Found\n\tserver response: 404 page not found"
        ))
    );
    assert_eq!(
        p.stat("rsc.io/quote", "v1.9.9").await.unwrap_err(),
        Error::not_found(format!(
            "rsc.io/quote@v1.9.9: reading {base}/rsc.io/quote/@v/v1.9.9.info: 404 Not Found\n\tserver response: 404 page not found"
        ))
    );
    assert_eq!(
        p.stat("rsc.io/quote", "master").await.unwrap_err(),
        Error::not_found(format!(
            "rsc.io/quote@master: invalid version: reading {base}/rsc.io/quote/@v/master.info: 404 Not Found\n\tserver response: 404 page not found"
        ))
    );
    // /mod/<status>/... answers that status with no body.
    let p404 = source(&format!("{base}/404"));
    assert_eq!(
        p404.go_mod("rsc.io/quote", "v1.5.2").await.unwrap_err(),
        Error::not_found(format!(
            "rsc.io/quote@v1.5.2: reading {base}/404/rsc.io/quote/@v/v1.5.2.mod: 404 Not Found"
        ))
    );
    let p410 = source(&format!("{base}/410"));
    assert_eq!(
        p410.list("rsc.io/quote").await.unwrap_err(),
        Error::not_found(format!(
            "module rsc.io/quote: reading {base}/410/rsc.io/quote/@v/list: 410 Gone"
        ))
    );
    let p500 = source(&format!("{base}/500"));
    assert_eq!(
        p500.list("rsc.io/quote").await.unwrap_err(),
        Error::failed(format!(
            "module rsc.io/quote: reading {base}/500/rsc.io/quote/@v/list: 500 Internal Server Error (the upstream failed; try again later, or add a fallback after `|` in --upstream)"
        ))
    );
    // @latest: a 500 is an error, no fallback to the list.
    assert!(matches!(
        p500.latest("rsc.io/quote").await.unwrap_err().into_parts(),
        (Kind::Failed, _)
    ));
    // A 404 on @latest and on the list: the list's error.
    assert_eq!(
        p.latest("rsc.io/nonexistent").await.unwrap_err(),
        Error::not_found(format!(
            "module rsc.io/nonexistent: reading {base}/rsc.io/nonexistent/@v/list: 404 Not Found\n\tserver response: 404 page not found"
        ))
    );
}

#[tokio::test]
async fn garbage_from_the_test_proxys_invalid_mode() {
    let proxy = GoTestProxy::start();
    let base = format!("{}/invalid", proxy.url());
    let p = source(&base);
    let hint = "(the upstream is broken or is not a Go module proxy; check --upstream, or add a fallback after `|`)";
    // As a list and as a go.mod (lax parsing skips the unknown directive `invalid`), the
    // go command takes the body: relayed as served.
    assert_eq!(p.list("rsc.io/quote").await.unwrap(), "invalid");
    assert_eq!(
        p.go_mod("rsc.io/quote", "v1.5.2").await.unwrap(),
        b"invalid"
    );
    assert_eq!(
        p.stat("rsc.io/quote", "v1.5.2").await.unwrap_err(),
        Error::failed(format!(
            "rsc.io/quote@v1.5.2: invalid response from proxy \"{base}\": expected value at line 1 column 1 {hint}"
        ))
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("z.zip");
    // A zip is relayed as served: the cache checks it (once, after the chain).
    assert_eq!(p.zip("rsc.io/quote", "v1.5.2", &dest).await.unwrap(), 7);
    assert_eq!(std::fs::read(&dest).unwrap(), b"invalid");
}

#[tokio::test]
async fn redirects_are_followed() {
    let proxy = GoTestProxy::start();
    let p = source(&format!("{}/redirect/3", proxy.url()));
    assert_eq!(
        p.list("rsc.io/quote").await.unwrap(),
        list_of(QUOTE_VERSIONS)
    );
    assert_eq!(
        p.stat("rsc.io/quote", "v1.5.2").await.unwrap(),
        served_info("rsc.io_quote_v1.5.2.txt")
    );
}

#[tokio::test]
async fn requests_outside_the_module_rules_are_invalid_without_a_request() {
    // Nothing listens here: any request would fail with a connection error.
    let p = source(&format!("http://127.0.0.1:{}/", testkit::free_port()));
    // A canonical version not valid for the path is asked (proxy.go asks it too: an
    // upstream may answer `v2.0.0+incompatible`); here nothing answers.
    assert!(matches!(
        p.stat("rsc.io/quote", "v2.0.0").await.unwrap_err().into_parts(),
        (Kind::Failed, m) if m.starts_with("rsc.io/quote@v2.0.0: ")
    ));
    assert_eq!(
        p.go_mod("rsc.io/quote", "v1.5").await.unwrap_err(),
        Error::invalid(
            "rsc.io/quote@v1.5: invalid version: internal error: version passed to the proxy source is not canonical"
                .to_string()
        )
    );
    assert_eq!(
        p.list("Rsc.io/quote//x").await.unwrap_err(),
        Error::invalid("malformed module path \"Rsc.io/quote//x\": double slash".to_string())
    );
    assert!(matches!(
        p.stat("rsc.io/quote", "feature/x")
            .await
            .unwrap_err()
            .into_parts(),
        (Kind::Invalid, _)
    ));
}
