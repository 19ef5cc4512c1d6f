//! `modgate serve` proxies the checksum database: the go command, with `GOSUMDB` on and
//! `GOPROXY` pointing at modgate only, verifies what it downloads through modgate's
//! `/sumdb/<name>/...` (the database is the go distribution's test database, served by
//! its test proxy on loopback). A database that signs other hashes makes the go command
//! refuse the module through modgate as it would directly; lookups of private modules
//! never leave modgate.

use crate::proxy_support::{FaultServer, GoTestProxy, Reply};
use crate::serve_common::{GoEnv, Server, raw_get};

/// The test database's verifier key (cmd/go/proxy_test.go).
const KEY: &str = "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";
const NAME: &str = "localhost.localdev/sumdb";

fn files_under(dir: &std::path::Path) -> Vec<String> {
    crate::serve_common::files_under(dir)
}

/// `modgate serve --data-dir DATA --upstream UPSTREAM --sumdb SUMDB`.
fn serve(data: &str, upstream: &str, sumdb: &str) -> Server {
    Server::start(&["--data-dir", data, "--upstream", upstream, "--sumdb", sumdb])
}

#[test]
fn the_go_command_verifies_through_modgate() {
    let proxy = GoTestProxy::start();
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let mg = serve(d, &proxy.url(), KEY);

    let go = GoEnv::with_env(&[("GOSUMDB", KEY)]);
    let got = go.download(&mg.url(), &["rsc.io/quote@v1.5.2", "rsc.io/sampler@v1.3.0"]);
    assert_eq!(got.len(), 2);
    for v in &got {
        assert!(v.get("Error").is_none(), "{v}");
    }
    // The go command asked modgate's database, and modgate kept the immutable answers
    // where the go command keeps its own.
    let log = mg.log_with(&format!("path=/sumdb/{NAME}/tile/8/0/000.p/"));
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

/// modgate checks against the database it is given: one that records other hashes makes
/// it refuse what the upstream serves, and the go command gets that refusal.
#[test]
fn a_database_with_other_hashes_makes_modgate_refuse() {
    let proxy = GoTestProxy::start();
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    // The test proxy's second database signs, with the same key, wrong hashes.
    let wrong = format!("{KEY} {}/sumdb-wrong", proxy.url());
    let mg = serve(d, &proxy.url(), &wrong);
    let go = GoEnv::with_env(&[("GOSUMDB", KEY)]);
    let cwd = go.dir.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let out = go.go(&cwd, &mg.url(), &["mod", "download", "rsc.io/quote@v1.5.2"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("502 Bad Gateway")
            && stderr.contains(
                "verifying rsc.io/quote@v1.5.2/go.mod: checksum mismatch: the upstream served h1:"
            )
            && stderr.contains(&format!(
                "the checksum database {NAME} has h1:wrong: SECURITY ERROR"
            )),
        "{stderr}"
    );
    assert!(
        !data
            .path()
            .join("cache/download/rsc.io/quote/@v/v1.5.2.mod")
            .exists()
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
    let off = serve(data2.path().to_str().unwrap(), "off", "off");
    let r = raw_get(&off.addr, "GET", &format!("/sumdb/{NAME}/supported")).unwrap();
    assert_eq!(
        (r.status, r.text()),
        (
            404,
            "not found: this modgate proxies no checksum database (--sumdb off)\n".to_string()
        )
    );
}

/// A file:// upstream holding `rsc.io/quote@v1.5.2` with its real go.mod but a changed
/// file in its zip, and `rsc.io/sampler@v1.3.0` with a changed go.mod: the test
/// database knows both.
fn tampered_tree(root: std::path::PathBuf) -> crate::serve_common::Tree {
    let tree = crate::serve_common::Tree::new(root);
    let quote_mod = String::from_utf8(crate::proxy_support::corpus_file(
        "rsc.io_quote_v1.5.2.txt",
        ".mod",
    ))
    .unwrap();
    tree.add(
        "rsc.io/quote",
        "v1.5.2",
        "2018-02-14T15:44:20Z",
        &[
            ("go.mod", &quote_mod),
            ("quote.go", "package quote // planted\n"),
        ],
    );
    tree.add(
        "rsc.io/sampler",
        "v1.3.0",
        "2018-02-13T19:05:03Z",
        &[
            ("go.mod", "module rsc.io/sampler // planted\n"),
            ("s.go", "package sampler\n"),
        ],
    );
    tree
}

#[test]
fn tampered_modules_are_refused_and_never_stored() {
    let proxy = GoTestProxy::start();
    let tmp = tempfile::tempdir().unwrap();
    let tree = tampered_tree(tmp.path().join("up"));
    let data = tmp.path().join("data");
    let db = format!("{KEY} {}/sumdb-direct", proxy.url());
    let mg = serve(data.to_str().unwrap(), &tree.url(), &db);
    // The go.mod is the real one: verified and served.
    let m = raw_get(&mg.addr, "GET", "/rsc.io/quote/@v/v1.5.2.mod").unwrap();
    assert_eq!(m.status, 200, "{}", m.text());
    // The zip is not.
    let z = raw_get(&mg.addr, "GET", "/rsc.io/quote/@v/v1.5.2.zip").unwrap();
    assert_eq!(z.status, 502);
    let text = z.text();
    assert!(
        text.starts_with("verifying rsc.io/quote@v1.5.2: checksum mismatch: the upstream served h1:")
            && text.contains(&format!("the checksum database {NAME} has h1:"))
            && text.contains("SECURITY ERROR: this zip differs from the one everyone else gets; it was not stored"),
        "{text}"
    );
    let s = raw_get(&mg.addr, "GET", "/rsc.io/sampler/@v/v1.3.0.mod").unwrap();
    assert_eq!(s.status, 502);
    assert!(
        s.text()
            .starts_with("verifying rsc.io/sampler@v1.3.0/go.mod: checksum mismatch"),
        "{}",
        s.text()
    );
    // Nothing of either was stored (the .info is not a hash-checked file).
    let stored = files_under(&data.join("cache/download/rsc.io"));
    assert_eq!(stored, ["quote/@v/v1.5.2.mod"], "stored: {stored:?}");
    let log = mg.log_with("refused_total=2");
    assert!(log.contains("refused_total=2"), "{log}");
    // And the go command gets the refusal, with GOSUMDB off on its side.
    let go = GoEnv::new();
    let cwd = go.dir.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let out = go.go(&cwd, &mg.url(), &["mod", "download", "rsc.io/quote@v1.5.2"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("checksum mismatch"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The trusted tree head is kept, signed.
    let latest = std::fs::read_to_string(data.join("sumdb").join(NAME).join("latest")).unwrap();
    assert!(latest.starts_with("go.sum database tree\n"), "{latest}");
}

#[test]
fn a_database_that_forks_is_refused() {
    let proxy = GoTestProxy::start();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    // First the real database: rsc.io/quote verifies, its tree head is trusted.
    let good = format!("{KEY} {}/sumdb-direct", proxy.url());
    let mg = serve(d, &proxy.url(), &good);
    assert_eq!(
        raw_get(&mg.addr, "GET", "/rsc.io/quote/@v/v1.5.2.mod")
            .unwrap()
            .status,
        200
    );
    drop(mg);
    // Then a database signed with the same key whose log differs: a fork.
    let wrong = format!("{KEY} {}/sumdb-wrong", proxy.url());
    let mg = serve(d, &proxy.url(), &wrong);
    let r = raw_get(&mg.addr, "GET", "/rsc.io/sampler/@v/v1.3.0.mod").unwrap();
    assert_eq!(r.status, 502);
    assert!(
        r.text().starts_with(&format!(
            "verifying rsc.io/sampler@v1.3.0/go.mod: SECURITY ERROR: the checksum database {NAME} misbehaves"
        )),
        "{}",
        r.text()
    );
    let log = mg.log_with("go.sum database server misbehavior detected!");
    assert!(
        log.contains("go.sum database server misbehavior detected!"),
        "{log}"
    );
    assert!(!data.join("cache/download/rsc.io/sampler").exists());
}

#[test]
fn private_and_nosumdb_modules_are_stored_without_a_lookup() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(FaultServer::start(|_| Reply::status(500)));
    let tmp = tempfile::tempdir().unwrap();
    let tree = crate::serve_common::Tree::new(tmp.path().join("up"));
    tree.add(
        "corp.example.com/lib",
        "v1.0.0",
        "2024-01-01T00:00:00Z",
        &[],
    );
    tree.add(
        "example.org/internal",
        "v1.0.0",
        "2024-01-01T00:00:00Z",
        &[],
    );
    tree.add("example.com/public", "v1.0.0", "2024-01-01T00:00:00Z", &[]);
    let data = tmp.path().join("data");
    // The tree may serve private modules (private_upstreams, in the settings file).
    let config = tmp.path().join("modgate.toml");
    std::fs::write(
        &config,
        format!("private_upstreams = [\"{}\"]\n", tree.url()),
    )
    .unwrap();
    let spec = format!("{KEY} {}/db", db.origin);
    let mg = Server::start(&[
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--upstream",
        &tree.url(),
        "--sumdb",
        &spec,
        "--private",
        "corp.example.com",
        "--nosumdb",
        "example.org",
    ]);
    for m in ["corp.example.com/lib", "example.org/internal"] {
        for ext in ["mod", "zip"] {
            let r = raw_get(&mg.addr, "GET", &format!("/{m}/@v/v1.0.0.{ext}")).unwrap();
            assert_eq!(r.status, 200, "{m} {ext}: {}", r.text());
        }
    }
    assert_eq!(db.paths(), Vec::<String>::new());
    // A public module needs the database, which fails here: nothing is stored.
    let r = raw_get(&mg.addr, "GET", "/example.com/public/@v/v1.0.0.mod").unwrap();
    assert_eq!(r.status, 502);
    assert!(
        r.text()
            .starts_with("verifying example.com/public@v1.0.0/go.mod: "),
        "{}",
        r.text()
    );
    assert_eq!(db.paths(), ["/db/lookup/example.com/public@v1.0.0"]);
    assert!(
        !data
            .join("cache/download/example.com/public/@v/v1.0.0.mod")
            .exists()
    );
}

/// A database whose tree heads are signed by another key than the one modgate was given
/// is not trusted: nothing is stored.
#[test]
fn a_database_signing_with_another_key_is_refused() {
    let proxy = GoTestProxy::start();
    let data = tempfile::tempdir().unwrap();
    let (_, other_key) = gomod::sumdb::note::Signer::from_seed(NAME, [42u8; 32]).unwrap();
    let spec = format!("{other_key} {}/sumdb-direct", proxy.url());
    let mg = serve(data.path().to_str().unwrap(), &proxy.url(), &spec);
    let r = raw_get(&mg.addr, "GET", "/rsc.io/quote/@v/v1.5.2.mod").unwrap();
    assert_eq!(r.status, 502);
    assert!(
        r.text().starts_with(
            "verifying rsc.io/quote@v1.5.2/go.mod: reading tree note: note has no verifiable signatures"
        ),
        "{}",
        r.text()
    );
    assert!(!data.path().join("cache/download/rsc.io").exists());
}

/// `latest` is kept for the short lifetime, and served stale, saying so, when the
/// database cannot be reached.
#[test]
fn latest_is_short_lived_and_served_stale_when_the_database_is_down() {
    let proxy = GoTestProxy::start();
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("modgate.toml");
    std::fs::write(&config, "[cache]\nlist_ttl = 1\n").unwrap();
    let spec = format!("{KEY} {}/sumdb-direct", proxy.url());
    let mg = Server::start(&[
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        tmp.path().join("data").to_str().unwrap(),
        "--upstream",
        "off",
        "--sumdb",
        &spec,
    ]);
    let path = format!("/sumdb/{NAME}/latest");
    let fresh = raw_get(&mg.addr, "GET", &path).unwrap();
    assert_eq!(fresh.status, 200);
    assert!(
        fresh.text().starts_with("go.sum database tree\n"),
        "{}",
        fresh.text()
    );
    assert_eq!(fresh.header("cache-control"), Some("public, max-age=1"));
    assert_eq!(fresh.header("x-modgate-stale"), None);
    drop(proxy);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let stale = raw_get(&mg.addr, "GET", &path).unwrap();
    assert_eq!((stale.status, &stale.body), (200, &fresh.body));
    let why = stale.header("x-modgate-stale").unwrap_or_default();
    assert!(
        why.starts_with("the checksum database could not be reached"),
        "{why}"
    );
}

#[test]
fn a_database_reached_at_its_own_url_names_sumdb_in_its_hint() {
    let tmp = tempfile::tempdir().unwrap();
    // A port nobody listens on: the database's own URL cannot be reached.
    let port = testkit::free_port();
    let spec = format!("{KEY} http://127.0.0.1:{port}/sumdb");
    let mg = serve(tmp.path().to_str().unwrap(), "off", &spec);
    let r = raw_get(&mg.addr, "GET", &format!("/sumdb/{NAME}/latest")).unwrap();
    assert_eq!(r.status, 502, "{}", r.text());
    let text = r.text();
    assert!(
        text.starts_with(&format!(
            "checksum database {NAME}: reading http://127.0.0.1:{port}/sumdb/latest: cannot connect: "
        )),
        "{text}"
    );
    assert!(
        text.trim_end().ends_with(" (the checksum database is reached at its own URL: check that this machine reaches it, or name another URL for it in --sumdb (GOSUMDB syntax: NAME+KEY URL), or --sumdb off)"),
        "{text}"
    );
    assert!(!text.contains("--upstream"), "{text}");
}
