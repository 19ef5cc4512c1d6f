//! Bundles: made on the connected side from the go command's test proxy and its real
//! checksum database, checked, and served on the air-gapped side (nothing but loopback,
//! the proxy gone) with GOSUMDB on: the go command verifies every module against the
//! checksum database records inside the bundle.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::serve_common::*;

const KEY: &str = "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";

fn modgate() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_modgate"))
}

fn run(args: &[&str]) -> std::process::Output {
    run_bounded(
        std::process::Command::new(modgate())
            .args(args)
            .env_remove("GOPROXY")
            .env_remove("GOSUMDB"),
        Duration::from_secs(300),
    )
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A project requiring rsc.io/quote v1.5.2 (and through it rsc.io/sampler and
/// golang.org/x/text), with no go.sum: every hash is checked against the database.
fn project(dir: &Path) -> PathBuf {
    let p = dir.join("app");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(
        p.join("go.mod"),
        "module example.com/app\n\ngo 1.21\n\nrequire rsc.io/quote v1.5.2\n",
    )
    .unwrap();
    std::fs::write(
        p.join("main.go"),
        "package main\n\nimport \"rsc.io/quote\"\n\nfunc main() { println(quote.Hello()) }\n",
    )
    .unwrap();
    p
}

#[test]
fn a_bundle_is_served_offline_with_its_checksum_database_records() {
    let tmp = tempfile::tempdir().unwrap();
    let app = project(tmp.path());
    let file = tmp.path().join("mods.bundle");
    let proxy = crate::proxy_support::GoTestProxy::start();

    // The connected side.
    let out = run(&[
        "bundle",
        "create",
        file.to_str().unwrap(),
        app.to_str().unwrap(),
        "--upstream",
        &proxy.url(),
        "--sumdb",
        KEY,
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made = json(&out);
    let b = &made["bundle"];
    assert_eq!(b["sumdb"], "localhost.localdev/sumdb");
    assert_eq!(b["versions"], made["fetched"]);
    assert_eq!(b["versions"], 3, "{made:#}");
    // A lookup for each module version whose go.mod or zip the bundle holds.
    assert_eq!(
        b["lookups"],
        b["versions"].as_u64().unwrap() + b["go_mods"].as_u64().unwrap()
    );
    assert!(b["tiles"].as_u64().unwrap() >= 1, "{made:#}");

    let out = run(&["bundle", "verify", file.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!((&v["files"], &v["lookups"]), (&b["files"], &b["lookups"]));

    // A damaged copy is refused, naming the file.
    let mut data = std::fs::read(&file).unwrap();
    let bad = tmp.path().join("bad.bundle");
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    std::fs::write(&bad, &data).unwrap();
    let out = run(&["bundle", "verify", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("modgate bundle verify: "), "{err}");

    // The air-gapped side: the proxy gone, a modgate serving the bundle offline.
    drop(proxy);
    let data_dir = tmp.path().join("gapped");
    let server = Server::start(&[
        "--offline",
        "--bundle",
        file.to_str().unwrap(),
        "--sumdb",
        KEY,
        "--data-dir",
        data_dir.to_str().unwrap(),
    ]);
    // Waited for by the start line's own words: the import's line, written before it,
    // names the database too.
    assert!(
        server
            .log_with("(what the data dir holds, --offline)")
            .contains(
                "checksum database localhost.localdev/sumdb (what the data dir holds, --offline)"
            ),
        "{}",
        server.log_text()
    );
    let env = GoEnv::with_env(&[("GOSUMDB", KEY), ("GOFLAGS", "-mod=mod")]);
    let out = env.go(&app, &server.url(), &["mod", "download", "-x", "all"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    // Verified against the database through modgate: the lookups were asked.
    for m in ["rsc.io/quote@v1.5.2", "rsc.io/sampler@v1.3.0"] {
        assert!(
            said.contains(&format!(
                "/sumdb/localhost.localdev/sumdb/lookup/{m}: 200 OK"
            )),
            "{said}"
        );
    }
    let sum = std::fs::read_to_string(app.join("go.sum")).unwrap();
    assert!(sum.contains("rsc.io/quote v1.5.2 h1:"), "{sum}");
    let out = env.go(&app, &server.url(), &["build", "./..."]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `@v/list` holds what the bundle holds, and `@latest` is found from it.
    let out = env.go(
        &app,
        &server.url(),
        &["list", "-m", "-versions", "rsc.io/quote"],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "rsc.io/quote v1.5.2\n"
    );
    let out = env.go(
        &app,
        &server.url(),
        &["list", "-m", "rsc.io/sampler@latest"],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "rsc.io/sampler v1.3.0\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A database record the bundle does not hold is a clear 404.
    let r = raw_get(
        &server.addr,
        "GET",
        "/sumdb/localhost.localdev/sumdb/lookup/rsc.io/quote@v1.5.1",
    )
    .unwrap();
    assert_eq!(r.status, 404);
    assert!(
        r.text()
            .contains("not in the data directory, and modgate serves --offline"),
        "{}",
        r.text()
    );

    // `bundle import` into another data directory: the same files.
    let other = tmp.path().join("imported");
    let out = run(&[
        "bundle",
        "import",
        file.to_str().unwrap(),
        "--data-dir",
        other.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let quote = "cache/download/rsc.io/quote/@v/v1.5.2.zip";
    assert_eq!(
        std::fs::read(other.join(quote)).unwrap(),
        std::fs::read(data_dir.join(quote)).unwrap()
    );
}
