//! `modgate prefetch` for real projects: Debian's packaged Go libraries
//! (/usr/share/gocode/src, installed by scripts/install-deps) published as a GOPROXY tree
//! at every version any of their go.mod files requires. The graph prefetch computes
//! equals `go list -m all`; afterwards, with the upstream gone, `go mod download all` and
//! `go build` succeed through the warmed modgate, or a modgate serving the filled data
//! directory offline.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::serve_common::*;

const GOCODE: &str = "/usr/share/gocode/src";
const T1: &str = "2024-01-02T03:04:05Z";

fn modgate() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_modgate"))
}

/// The go.mod of a Debian module directory, or the one the go command makes for a
/// module without one.
fn go_mod_of(dir: &Path, path: &str) -> Vec<u8> {
    std::fs::read(dir.join("go.mod")).unwrap_or_else(|_| gomod::modfile::legacy_go_mod(path))
}

/// Publishes into a GOPROXY tree at `root` every module reachable from `roots`' go.mod
/// files among Debian's packaged sources, at every version required of it.
fn debian_tree(root: &Path, roots: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let mut versions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut todo: Vec<String> = roots.iter().map(|s| s.to_string()).collect();
    let mut seen = BTreeSet::new();
    while let Some(path) = todo.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let dir = Path::new(GOCODE).join(&path);
        assert!(
            dir.is_dir(),
            "{} is not installed: scripts/install-deps installs the Debian packages",
            dir.display()
        );
        let f = gomod::modfile::parse_lax("go.mod", &go_mod_of(&dir, &path), None).unwrap();
        for r in f.require {
            versions
                .entry(r.mod_.path.clone())
                .or_default()
                .insert(r.mod_.version.clone());
            todo.push(r.mod_.path);
        }
    }
    for (path, vs) in &versions {
        let dir = Path::new(GOCODE).join(path);
        let esc = gomod::module::escape_path(path).unwrap();
        let vdir = root.join(&esc).join("@v");
        std::fs::create_dir_all(&vdir).unwrap();
        let mut list = String::new();
        for v in vs {
            let ev = gomod::module::escape_version(v).unwrap();
            let mut zip = std::fs::File::create(vdir.join(format!("{ev}.zip"))).unwrap();
            gomod::zip::create_from_dir(&mut zip, &gomod::module::Version::new(path, v), &dir)
                .unwrap_or_else(|e| panic!("{path}@{v}: {e}"));
            std::fs::write(vdir.join(format!("{ev}.mod")), go_mod_of(&dir, path)).unwrap();
            std::fs::write(
                vdir.join(format!("{ev}.info")),
                format!("{{\"Version\":\"{v}\",\"Time\":\"{T1}\"}}"),
            )
            .unwrap();
            list.push_str(v);
            list.push('\n');
        }
        std::fs::write(vdir.join("list"), list).unwrap();
    }
    versions
}

/// A copy of a Debian module's source as a project of its own (without its go.sum).
fn project(dir: &Path, path: &str) -> PathBuf {
    let to = dir.join(path.replace('/', "_"));
    let out = std::process::Command::new("cp")
        .arg("-r")
        .arg(Path::new(GOCODE).join(path))
        .arg(&to)
        .output()
        .unwrap();
    assert!(out.status.success());
    let _ = std::process::Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(&to)
        .status();
    // Its go.sum has the real modules' hashes; the tree's are made here.
    let _ = std::fs::remove_file(to.join("go.sum"));
    to
}

fn ok(out: std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `modgate prefetch ARGS --json`: its report.
fn prefetch(args: &[&str], projects: &[PathBuf]) -> serde_json::Value {
    let out = run_bounded(
        std::process::Command::new(modgate())
            .arg("prefetch")
            .args(projects)
            .args(args)
            .arg("--json")
            .env("GOSUMDB", "off"),
        Duration::from_secs(300),
    );
    let text = ok(out, "modgate prefetch");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn prefetch_computes_the_go_commands_graph_and_warms_modgate_for_offline_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let up = tmp.path().join("up");
    // testify (go 1.13: unpruned), kr/pretty (1.12), go-internal (1.17: pruned); and
    // what of each is built (go-internal's testscript, the user of pkg/diff, no longer
    // compiles with go 1.23).
    let names = [
        "github.com/stretchr/testify",
        "github.com/kr/pretty",
        "github.com/rogpeppe/go-internal",
    ];
    let builds: [&[&str]; 3] = [
        &["./..."],
        &["./..."],
        &[
            "./txtar",
            "./semver",
            "./cache",
            "./lockedfile",
            "./fmtsort",
        ],
    ];
    let published = debian_tree(&up, &names);
    assert!(published.len() >= 8, "{published:?}");
    let mut projects: Vec<PathBuf> = names.iter().map(|n| project(tmp.path(), n)).collect();
    let upstream = format!("file://{}", up.display());
    // One build cache for all the go commands here (the module caches are each their own).
    let gocache = tmp.path().join("gocache");
    let gocache = gocache.to_str().unwrap();
    let go_env = |flags: &str| GoEnv::with_env(&[("GOFLAGS", flags), ("GOCACHE", gocache)]);

    // What the go command itself says of each project (its go.sum written as it goes).
    let mut want: Vec<Vec<String>> = projects
        .iter()
        .map(|p| {
            let out = ok(
                go_env("-mod=mod").go(p, &upstream, &["list", "-m", "all"]),
                "go list -m all",
            );
            out.lines().map(str::to_string).collect()
        })
        .collect();
    // And of a workspace of two of them (go.work).
    let ws = tmp.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::write(
        ws.join("go.work"),
        format!(
            "go 1.21\n\nuse (\n\t{}\n\t{}\n)\n",
            projects[0].display(),
            projects[1].display()
        ),
    )
    .unwrap();
    let out = ok(
        go_env("").go(&ws, &upstream, &["list", "-m", "all"]),
        "go list -m all (go.work)",
    );
    want.push(out.lines().map(str::to_string).collect());
    projects.push(ws);

    // A modgate in front of the upstream, warmed by prefetch.
    let data = tmp.path().join("data");
    let server = Server::start(&[
        "--upstream",
        &upstream,
        "--sumdb",
        "off",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let report = prefetch(&["--to", &server.url()], &projects);
    let got: Vec<Vec<String>> = report["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["build_list"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(report["errors"], serde_json::json!({}));
    let wanted: BTreeSet<&String> = want
        .iter()
        .flat_map(|w| w.iter().filter(|l| l.contains(' ')))
        .collect();
    assert_eq!(report["fetched"], wanted.len());

    // The upstream gone: everything comes from modgate's cache.
    let gone = tmp.path().join("up-gone");
    std::fs::rename(&up, &gone).unwrap();
    let build = |env: &GoEnv, p: &Path, proxy: &str, pkgs: &[&str]| {
        let mut args = vec!["build"];
        args.extend_from_slice(pkgs);
        ok(env.go(p, proxy, &args), "go build");
    };
    for (p, pkgs) in projects.iter().zip(builds) {
        let env = go_env("-mod=mod");
        ok(
            env.go(p, &server.url(), &["mod", "download", "all"]),
            "go mod download all",
        );
        build(&env, p, &server.url(), pkgs);
    }
    std::fs::rename(&gone, &up).unwrap();

    // Into a data directory; then served offline.
    let filled = tmp.path().join("filled");
    let report = prefetch(
        &[
            "--data-dir",
            filled.to_str().unwrap(),
            "--upstream",
            &upstream,
            "--sumdb",
            "off",
        ],
        &projects,
    );
    assert_eq!(report["errors"], serde_json::json!({}));
    assert_eq!(report["fetched"], wanted.len());
    std::fs::rename(&up, &gone).unwrap();
    let offline = Server::start(&["--offline", "--data-dir", filled.to_str().unwrap()]);
    for (p, pkgs) in projects.iter().zip(builds) {
        let env = go_env("-mod=mod");
        ok(
            env.go(p, &offline.url(), &["mod", "download", "all"]),
            "go mod download all (offline modgate)",
        );
        build(&env, p, &offline.url(), pkgs);
    }
}
