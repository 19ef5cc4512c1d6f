//! The go distribution's whole test-proxy corpus (`src/cmd/go/testdata/mod`) through
//! `modgate serve`: every module's `@v/list` and `@latest`, every version's `.info`,
//! `.mod` and `.zip`, asked of modgate (cold, then again from its cache) and of the test
//! proxy itself; the answers must be the same status and, for 200, the same bytes. The
//! few answers that differ are listed in [`EXCEPTIONS`], each with the go command's own
//! reason for refusing what the test proxy serves. Then `go mod download -json` of every
//! module version, with the test checksum database on, through modgate and straight from
//! the test proxy: the same results.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::proxy_support::GoTestProxy;
use crate::serve_common::{GoEnv, Server, raw_get, run_bounded};
use gomod::module;

/// The test database's verifier key (cmd/go/proxy_test.go).
const KEY: &str = "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";

/// The module versions of the corpus, read from its file names exactly as the test proxy
/// reads them (`readModList` in cmd/go/proxy_test.go): `<escaped path with _ for />_<escaped
/// version>.txt`; names whose path or version does not unescape are not served.
fn corpus() -> Vec<(String, String)> {
    let dir = corpus_dir();
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let Some(name) = name.strip_suffix(".txt") else {
            continue;
        };
        let Some(i) = name.rfind("_v") else { continue };
        let Ok(path) = module::unescape_path(&name[..i].replace('_', "/")) else {
            continue;
        };
        let Ok(version) = module::unescape_version(&name[i + 1..]) else {
            continue;
        };
        out.push((path, version));
    }
    out.sort();
    out
}

fn corpus_dir() -> PathBuf {
    let out = run_bounded(
        std::process::Command::new(crate::serve_common::go_binary())
            .env("GOTOOLCHAIN", "local")
            .args(["env", "GOROOT"]),
        std::time::Duration::from_secs(60),
    );
    let root = String::from_utf8_lossy(&out.stdout).trim().to_string();
    PathBuf::from(root).join("src/cmd/go/testdata/mod")
}

/// Every request of the walk: `<escaped path>/@v/list`, `/@latest`, and each version's
/// `.info`, `.mod`, `.zip`.
fn requests(corpus: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (path, version) in corpus {
        let p = module::escape_path(path).unwrap();
        if seen.insert(p.clone()) {
            out.push(format!("{p}/@v/list"));
            out.push(format!("{p}/@latest"));
        }
        let v = module::escape_version(version).unwrap();
        for ext in ["info", "mod", "zip"] {
            out.push(format!("{p}/@v/{v}.{ext}"));
        }
    }
    out
}

/// Answers that differ from the test proxy's, on purpose: zips the go command itself
/// refuses when it fetches them straight from the test proxy (with its checksum database
/// on). modgate refuses them before storing them, with 502. Each: the module, the version,
/// and the go command's own reason (a piece of its `go mod download -json` error).
const EXCEPTIONS: &[(&str, &str, &str)] = &[
    // The database hashes the archive's files without `.dot/dot.go` (the test proxy's
    // `proxyGoSum` skips names starting with a dot), the zip holds it.
    ("example.com/dotname", "v1.0.0", "checksum mismatch"),
    // `.gitignore` files, likewise left out of the database's hash.
    ("rsc.io/badfile1", "v1.0.0", "checksum mismatch"),
    (
        "rsc.io/badfile2",
        "v1.0.0",
        "malformed file path \"☺.go\": invalid char '☺'",
    ),
    (
        "rsc.io/badfile3",
        "v1.0.0",
        "malformed file path \"x?y.go\": invalid char '?'",
    ),
    (
        "rsc.io/badfile4",
        "v1.0.0",
        "case-insensitive file name collision: \"x/Y.go\" and \"x/y.go\"",
    ),
    (
        "rsc.io/badfile5",
        "v1.0.0",
        "case-insensitive file name collision: \"x/y\" and \"x/Y\"",
    ),
    (
        "rsc.io/badzip",
        "v1.0.0",
        "zip for rsc.io/badzip@v1.0.0 has unexpected file rsc.io/badzip@v1.0.0.txt",
    ),
];

/// The request for an exception's zip.
fn exception_request(module_path: &str, version: &str) -> String {
    format!(
        "{}/@v/{}.zip",
        module::escape_path(module_path).unwrap(),
        module::escape_version(version).unwrap()
    )
}

#[test]
fn the_whole_test_proxy_corpus_through_modgate() {
    let proxy = GoTestProxy::start();
    let data = tempfile::tempdir().unwrap();
    let mg = Server::start(&[
        "--data-dir",
        data.path().to_str().unwrap(),
        "--upstream",
        &proxy.url(),
        "--sumdb",
        KEY,
    ]);
    let corpus = corpus();
    assert!(corpus.len() > 200, "corpus: {} versions", corpus.len());
    let upstream_addr = proxy.origin.trim_start_matches("http://").to_string();
    let exceptions: BTreeMap<String, &str> = EXCEPTIONS
        .iter()
        .map(|(m, v, why)| (exception_request(m, v), *why))
        .collect();

    // 1. Every answer, cold and then from modgate's cache.
    let mut diffs = Vec::new();
    let mut seen_exceptions = std::collections::BTreeSet::new();
    for pass in ["cold", "cached"] {
        for req in requests(&corpus) {
            let want = raw_get(&upstream_addr, "GET", &format!("/mod/{req}")).unwrap();
            let got = raw_get(&mg.addr, "GET", &format!("/{req}")).unwrap();
            if exceptions.contains_key(&req) {
                seen_exceptions.insert(req.clone());
                if (want.status, got.status) != (200, 502) {
                    diffs.push(format!(
                        "{pass} {req}: an exception: want the test proxy's 200 and modgate's 502, got {} and {} {:?}",
                        want.status,
                        got.status,
                        short(&got.body)
                    ));
                }
                continue;
            }
            if want.status != got.status || (want.status == 200 && want.body != got.body) {
                diffs.push(format!(
                    "{pass} {req}: test proxy {} {:?} / modgate {} {:?}",
                    want.status,
                    short(&want.body),
                    got.status,
                    short(&got.body)
                ));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "{} answers differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    assert_eq!(seen_exceptions.len(), EXCEPTIONS.len());

    // 2. The go command, checksum database on: `go mod download -json` of every module
    // version through modgate and straight from the test proxy.
    let args: Vec<String> = corpus.iter().map(|(p, v)| format!("{p}@{v}")).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let direct = download_all(&proxy.url(), &args);
    let through = download_all(&mg.url(), &args);
    assert_eq!(direct.len(), through.len());
    let mut differ = Vec::new();
    let mut failed = Vec::new();
    for (d, t) in direct.iter().zip(&through) {
        let id = format!("{}@{}", d.path, d.version);
        if let Some(err) = &d.error {
            failed.push(id.clone());
            let why = EXCEPTIONS
                .iter()
                .find(|(m, v, _)| format!("{m}@{v}") == id)
                .map(|(_, _, why)| *why);
            match why {
                Some(why) => {
                    if !err.contains(why) {
                        differ.push(format!(
                            "{id}: the go command's reason is not {why:?}: {err}"
                        ));
                    }
                    if t.error.is_none() {
                        differ.push(format!("{id}: the go command took it through modgate"));
                    }
                }
                // Failures that do not depend on the proxy (a go line newer than this
                // go): the same text through modgate.
                None if t.error.as_deref() != Some(err.as_str()) => differ.push(format!(
                    "{id}: direct: {err}\nthrough modgate: {:?}",
                    t.error
                )),
                None => {}
            }
        } else if d != t {
            differ.push(format!("{id}: direct {d:?}\nthrough modgate {t:?}"));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    let mut want_failed: Vec<String> = EXCEPTIONS
        .iter()
        .map(|(m, v, _)| format!("{m}@{v}"))
        .collect();
    // Failing the same way through either: the zip of a version not valid for its path
    // (the go command refuses to extract it), an archive with no .mod (404), and go.mod
    // files asking for a newer go than this one.
    want_failed.extend(
        [
            "example.com/downgrade@v2.0.0",
            "example.com/retract/missingmod@v1.9.0",
            "rsc.io/future@v1.0.0",
            "rsc.io/needgo124@v0.0.1",
        ]
        .map(String::from),
    );
    want_failed.sort();
    failed.sort();
    assert_eq!(failed, want_failed);
}

/// What `go mod download -json` says of one module version.
#[derive(Debug, PartialEq, Eq)]
struct Downloaded {
    path: String,
    version: String,
    sum: String,
    go_mod_sum: String,
    error: Option<String>,
}

/// `go mod download -json ARGS` through `proxy` with the test checksum database on, in a
/// fresh module cache: one result per argument, in the order given.
fn download_all(proxy: &str, args: &[&str]) -> Vec<Downloaded> {
    let go = GoEnv::with_env(&[("GOSUMDB", KEY)]);
    let cwd = go.dir.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let mut all = vec!["mod", "download", "-json"];
    all.extend_from_slice(args);
    let out = go.go(&cwd, proxy, &all);
    let mut got: Vec<Downloaded> = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<serde_json::Value>()
        .map(|v| {
            let v = v.unwrap();
            let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
            Downloaded {
                path: s("Path"),
                version: s("Version"),
                sum: s("Sum"),
                go_mod_sum: s("GoModSum"),
                error: v["Error"].as_str().map(|e| {
                    // The server's own words for a 404 are the server's (modgate says
                    // why); the go command's words around them must be the same.
                    let e = e.split("\n\tserver response:").next().unwrap_or(e);
                    e.replace(proxy, "<proxy>")
                        .replace(go.dir.path().to_str().unwrap(), "<dir>")
                }),
            }
        })
        .collect();
    assert_eq!(
        got.len(),
        args.len(),
        "go mod download via {proxy}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    got.sort_by(|a, b| (&a.path, &a.version).cmp(&(&b.path, &b.version)));
    got
}
fn short(b: &[u8]) -> String {
    let s: String = String::from_utf8_lossy(b).chars().take(120).collect();
    s
}
