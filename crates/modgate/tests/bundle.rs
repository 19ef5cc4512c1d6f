//! Bundles: made on the connected side from the go command's test proxy and its real
//! checksum database, checked, and served on the air-gapped side (nothing but loopback,
//! the proxy gone) with GOSUMDB on: the go command verifies every module against the
//! checksum database records inside the bundle.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::serve_common::*;

pub(crate) const KEY: &str =
    "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";

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
pub(crate) fn project(dir: &Path) -> PathBuf {
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

/// `modgate bundle create FILE APP --upstream PROXY --sumdb KEY --json` in `tmp`: the
/// project, the bundle, the go command's test proxy (its checksum database too), and
/// the report.
fn bundled(
    tmp: &Path,
) -> (
    PathBuf,
    PathBuf,
    crate::proxy_support::GoTestProxy,
    serde_json::Value,
) {
    let app = project(tmp);
    let file = tmp.join("mods.bundle");
    let proxy = crate::proxy_support::GoTestProxy::start();
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
    (app, file, proxy, made)
}

#[test]
fn a_bundle_is_served_offline_with_its_checksum_database_records() {
    let tmp = tempfile::tempdir().unwrap();
    // The connected side.
    let (app, file, proxy, made) = bundled(tmp.path());
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

/// The module cache's files under `cache/download` (name, bytes), the go command's own
/// lock files left out.
/// `go build ./...` and `go mod verify` of `app` in `env` with no proxy at all.
pub(crate) fn builds_offline(env: &GoEnv, app: &Path) {
    let out = env.go(app, "off", &["build", "./..."]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env.go(app, "off", &["mod", "verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "all modules verified\n"
    );
}

fn download_files(modcache: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let root = modcache.join("cache/download");
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.to_string_lossy().ends_with(".lock") {
                let name = p
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(name, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn a_bundle_imported_into_an_empty_module_cache_builds_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let (app, file, proxy, _) = bundled(tmp.path());
    // The reference: the go command's own download of the same graph.
    let direct = GoEnv::with_env(&[("GOSUMDB", KEY), ("GOFLAGS", "-mod=mod")]);
    let out = direct.go(&app, &proxy.url(), &["mod", "download", "all"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(app.join("go.sum")).unwrap();
    drop(proxy);

    // A CI job: an empty module cache, one import, then the build with no network.
    let env = GoEnv::with_env(&[("GOSUMDB", KEY), ("GOFLAGS", "-mod=mod")]);
    let import = |env: &GoEnv| {
        run_bounded(
            env.command(&modgate(), &app, "off")
                .args(["bundle", "import", "--json", "--gomodcache"])
                .arg(env.modcache())
                .arg(&file),
            Duration::from_secs(120),
        )
    };
    let out = import(&env);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    let files = v["bundle"]["files"].as_u64().unwrap();
    // Every file but the bundle's @v/lists (rewritten as the go command writes them).
    let lists = download_files(&env.modcache())
        .keys()
        .filter(|k| k.ends_with("/@v/list"))
        .count() as u64;
    assert_eq!(
        v["placed"]["written"].as_u64().unwrap(),
        files - lists,
        "{v:#}"
    );
    assert_eq!(v["placed"]["kept"], 0, "{v:#}");
    let latest = env
        .dir
        .path()
        .join("gopath/pkg/sumdb/localhost.localdev/sumdb/latest");
    assert_eq!(v["placed"]["latest"], latest.to_str().unwrap(), "{v:#}");
    builds_offline(&env, &app);
    // The same files, byte for byte, as the go command's own download of the graph
    // (module files, lists, the checksum database's lookups and tiles); the bundle's
    // tree head went to $GOPATH/pkg/sumdb.
    let (theirs, ours) = (
        download_files(&direct.modcache()),
        download_files(&env.modcache()),
    );
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    for (name, data) in &ours {
        assert!(
            theirs[name] == *data,
            "{name} differs from the go command's"
        );
    }
    assert_eq!(ours.len() as u64, files - 1);

    // Again, from standard input (as from curl): everything is there already.
    let out = run_bounded(
        env.command(Path::new("/bin/sh"), &app, "off")
            .arg("-c")
            .arg("exec \"$0\" bundle import - --json --gomodcache \"$1\" < \"$2\"")
            .arg(modgate())
            .arg(env.modcache())
            .arg(&file),
        Duration::from_secs(120),
    );
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    assert_eq!(
        (&v["placed"]["written"], &v["placed"]["latest"]),
        (&0.into(), &serde_json::Value::Null),
        "{v:#}"
    );

    // A module cache holding another zip hash for a version: refused, nothing moved.
    let other = GoEnv::with_env(&[("GOSUMDB", KEY)]);
    let ziphash = other
        .modcache()
        .join("cache/download/rsc.io/quote/@v/v1.5.2.ziphash");
    std::fs::create_dir_all(ziphash.parent().unwrap()).unwrap();
    std::fs::write(&ziphash, "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
    let out = import(&other);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "modgate bundle import: {} holds another zip hash for rsc.io/quote@v1.5.2 than the bundle: nothing was imported (modgate cache verify says which is damaged)\n",
            ziphash.display()
        )
    );
    assert_eq!(download_files(&other.modcache()).len(), 1);
    assert!(
        !other.modcache().join("cache").read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("modgate-import"))
    );
}
