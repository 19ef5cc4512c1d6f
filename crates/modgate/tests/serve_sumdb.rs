//! `modgate serve` proxies the checksum database: the go command, with `GOSUMDB` on and
//! `GOPROXY` pointing at modgate only, verifies what it downloads through modgate's
//! `/sumdb/<name>/...` (the database is the go distribution's test database, served by
//! its test proxy on loopback). A database that signs other hashes makes the go command
//! refuse the module through modgate as it would directly; lookups of private modules
//! never leave modgate.

mod proxy_support;
mod serve_common;

use proxy_support::{FaultServer, GoTestProxy, Reply};
use serve_common::{GoEnv, Server, raw_get};

/// The test database's verifier key (cmd/go/proxy_test.go).
const KEY: &str = "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";
const NAME: &str = "localhost.localdev/sumdb";

fn files_under(dir: &std::path::Path) -> Vec<String> {
    serve_common::files_under(dir)
}

#[test]
fn the_go_command_verifies_through_modgate() {
    let proxy = GoTestProxy::start();
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let mg = Server::start(&["--data-dir", d, "--upstream", &proxy.url(), "--sumdb", KEY]);

    let go = GoEnv::with_env(&[("GOSUMDB", KEY)]);
    let got = go.download(&mg.url(), &["rsc.io/quote@v1.5.2", "rsc.io/sampler@v1.3.0"]);
    assert_eq!(got.len(), 2);
    for v in &got {
        assert!(v.get("Error").is_none(), "{v}");
    }
    // The go command asked modgate's database, and modgate kept the immutable answers
    // where the go command keeps its own.
    let log = mg.log_text();
    assert!(
        log.contains(&format!("path=/sumdb/{NAME}/supported status=200")),
        "{log}"
    );
    let kept = files_under(&data.path().join("cache/download/sumdb"));
    for want in [
        format!("{NAME}/lookup/rsc.io/quote@v1.5.2"),
        format!("{NAME}/lookup/rsc.io/sampler@v1.3.0"),
    ] {
        assert!(kept.contains(&want), "{want} not in {kept:?}");
    }
    // The test database is smaller than one tile: its tiles are partial, served but kept
    // in memory only.
    assert!(
        log.contains(&format!("path=/sumdb/{NAME}/tile/8/0/000.p/")),
        "{log}"
    );
    assert!(!kept.iter().any(|f| f.contains("/tile/")), "{kept:?}");
    // A second client is answered from what modgate kept (same bytes, immutable).
    let lookup = raw_get(
        &mg.addr,
        "GET",
        &format!("/sumdb/{NAME}/lookup/rsc.io/quote@v1.5.2"),
    )
    .unwrap();
    assert_eq!(lookup.status, 200);
    assert_eq!(
        lookup.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        lookup.body,
        std::fs::read(
            data.path()
                .join("cache/download/sumdb")
                .join(NAME)
                .join("lookup/rsc.io/quote@v1.5.2")
        )
        .unwrap()
    );
    let go2 = GoEnv::with_env(&[("GOSUMDB", KEY)]);
    go2.download(&mg.url(), &["rsc.io/quote@v1.5.2"]);

    // Another database's name, and paths that are not of the protocol.
    let other = raw_get(&mg.addr, "GET", "/sumdb/sum.golang.org/supported").unwrap();
    assert_eq!(other.status, 404);
    assert_eq!(
        other.text(),
        format!(
            "not found: this modgate proxies the checksum database {NAME}, not /sumdb/sum.golang.org/supported\n"
        )
    );
    let bad = raw_get(&mg.addr, "GET", &format!("/sumdb/{NAME}/tile/8/0/1")).unwrap();
    assert_eq!(
        (bad.status, bad.text()),
        (
            404,
            "not found: malformed tile path \"tile/8/0/1\"\n".to_string()
        )
    );
}

#[test]
fn a_database_with_other_hashes_makes_the_go_command_refuse() {
    let proxy = GoTestProxy::start();
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    // The test proxy's second database signs, with the same key, wrong hashes.
    let wrong = format!("{KEY} {}/sumdb-wrong", proxy.url());
    let mg = Server::start(&[
        "--data-dir",
        d,
        "--upstream",
        &proxy.url(),
        "--sumdb",
        &wrong,
    ]);
    let go = GoEnv::with_env(&[("GOSUMDB", KEY)]);
    let cwd = go.dir.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let out = go.go(&cwd, &mg.url(), &["mod", "download", "rsc.io/quote@v1.5.2"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rsc.io/quote@v1.5.2: verifying go.mod: checksum mismatch")
            && stderr.contains(&format!("{NAME}: h1:wrong")),
        "{stderr}"
    );
}

#[test]
fn private_modules_are_never_looked_up() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // A recording database that answers every lookup the same.
    let db = rt.block_on(FaultServer::start(|path| {
        if path.contains("/lookup/") {
            Reply::ok("1\nexample.com/pub v1.0.0 h1:x=\n")
        } else {
            Reply::status(404)
        }
    }));
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let spec = format!("{KEY} {}/db", db.origin);
    let mg = Server::start(&[
        "--data-dir",
        d,
        "--upstream",
        "off",
        "--sumdb",
        &spec,
        "--private",
        "corp.example.com",
        "--nosumdb",
        "example.com/secret*",
    ]);
    for (module, refused) in [
        ("corp.example.com/app", true),
        ("corp.example.com/app/sub", true),
        ("example.com/secret-tool", true),
        ("example.com/pub", false),
    ] {
        let r = raw_get(
            &mg.addr,
            "GET",
            &format!("/sumdb/{NAME}/lookup/{module}@v1.0.0"),
        )
        .unwrap();
        if refused {
            assert_eq!(
                (r.status, r.text()),
                (
                    404,
                    format!(
                        "not found: modgate does not look up {module}@v1.0.0 in the checksum database {NAME}: it matches --private or --nosumdb, and asking would leak its name; set GONOSUMDB (or GOPRIVATE) for it on the client\n"
                    )
                )
            );
        } else {
            assert_eq!(r.status, 200, "{}", r.text());
        }
    }
    assert_eq!(db.paths(), ["/db/lookup/example.com/pub@v1.0.0"]);

    // With --sumdb off there is no database at all.
    let data2 = tempfile::tempdir().unwrap();
    let off = Server::start(&[
        "--data-dir",
        data2.path().to_str().unwrap(),
        "--upstream",
        "off",
        "--sumdb",
        "off",
    ]);
    let r = raw_get(&off.addr, "GET", &format!("/sumdb/{NAME}/supported")).unwrap();
    assert_eq!(
        (r.status, r.text()),
        (
            404,
            "not found: this modgate proxies no checksum database (--sumdb off)\n".to_string()
        )
    );
}
