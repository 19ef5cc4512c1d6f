//! A full disk is a local fault: a data directory on a small tmpfs, filled by a module
//! larger than it, answers 507 naming the directory and its free bytes (not a 502
//! "upstream error"), stores nothing partial, keeps no staged file, and goes on serving
//! and fetching smaller modules.

use std::path::Path;

use crate::serve_common::*;
use testkit::mount::{Mount, noise};

const T1: &str = "2024-01-02T03:04:05Z";

#[test]
fn a_full_disk_is_a_507_and_nothing_partial_is_kept() {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test mounts a tmpfs: run it as root (CI does)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("upstream"));
    let big_code = format!("package big\n\nconst S = `{}`\n", noise(3 << 20, 0));
    tree.add(
        "example.com/big",
        "v1.0.0",
        T1,
        &[("big.go", big_code.as_str())],
    );
    let small = tree.add(
        "example.com/small",
        "v1.0.0",
        T1,
        &[("s.go", "package small\n")],
    );
    let data = tmp.path().join("data");
    let _fs = Mount::tmpfs(&data, "2m");
    let server = Server::over(&data, &tree.url());
    let r = raw_get(&server.addr, "GET", "/example.com/big/@v/v1.0.0.zip").unwrap();
    assert_eq!(r.status, 507, "{}", r.text());
    let body = r.text();
    assert!(body.starts_with("insufficient storage: "), "{body}");
    assert!(
        body.contains(&format!(" ({} has ", data.join("tmp").display()))
            && body.contains(" bytes free); modgate still serves what it stored: free space there or move --data-dir to a larger disk\n"),
        "{body}"
    );
    // Nothing partial: no zip, no hash, no staged file left to keep the disk full.
    let vdir = data.join("cache/download/example.com/big/@v");
    assert!(!vdir.join("v1.0.0.zip").exists());
    assert!(!vdir.join("v1.0.0.ziphash").exists());
    assert_eq!(staged_after_writes(&data.join("tmp")), Vec::<String>::new());
    // A smaller module still comes, and is served.
    let r = raw_get(&server.addr, "GET", "/example.com/small/@v/v1.0.0.zip").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, small.zip);
    // Not ready: the disk is under the free-space floor.
    let r = raw_get(&server.addr, "GET", "/readyz").unwrap();
    assert_eq!(r.status, 503);
    assert!(
        r.text().starts_with(&format!("not ready: {} has ", data.join("tmp").display()))
            && r.text().ends_with(" bytes free, under the floor of 16777216: fetches would fail with a full disk (what is stored is still served)\n"),
        "{}",
        r.text()
    );
    // The log names the fault as the disk's, not an upstream's.
    let log = server.log_with("status=507");
    let line = log
        .lines()
        .find(|l| l.contains("status=507"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("local error"), "{line}");
}

fn git(dir: &Path, config: &Path, args: &[&str]) {
    testkit::git_with(dir, args, Some(config), T1);
}

/// A repository at github.com/acme/NAME (through insteadOf to a local directory) with one
/// tagged commit of `files`.
fn repo(repos: &Path, config: &Path, name: &str, files: &[(&str, &str)]) {
    let dir = repos.join("acme").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, config, &["init", "-q"]);
    for (f, body) in files {
        std::fs::write(dir.join(f), body).unwrap();
    }
    git(&dir, config, &["add", "."]);
    git(&dir, config, &["commit", "-qm", "one"]);
    git(&dir, config, &["tag", "v1.0.0"]);
}

/// A `direct` server whose data directory is a 2 MiB tmpfs, over local repositories at
/// github.com/acme/NAME: `name` with `files`, and `small`, a module that fits.
struct SmallDisk {
    server: Server,
    data: std::path::PathBuf,
    _fs: Mount,
    _tmp: tempfile::TempDir,
}

fn direct_on_small_disk(name: &str, files: &[(&str, &str)]) -> SmallDisk {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test mounts a tmpfs: run it as root (CI does)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let repos = tmp.path().join("repos");
    let config = tmp.path().join("gitconfig");
    github_to_local(&config, &repos);
    repo(&repos, &config, name, files);
    let small = [
        ("go.mod", "module github.com/acme/small\n"),
        ("s.go", "package small\n"),
    ];
    repo(&repos, &config, "small", &small);
    let data = tmp.path().join("data");
    let fs = Mount::tmpfs(&data, "2m");
    let cfg = config.to_str().unwrap();
    let server = Server::start_env(
        &["--data-dir", data.to_str().unwrap(), "--upstream", "direct"],
        &[("GIT_CONFIG_GLOBAL", cfg), ("GIT_CONFIG_NOSYSTEM", "1")],
    );
    SmallDisk {
        server,
        data,
        _fs: fs,
        _tmp: tmp,
    }
}

/// The same from git (`--upstream direct`): a clone that fills the disk is removed, so
/// that the next fetch has room; the answer is a 507, not an upstream's failure.
#[test]
fn a_clone_that_fills_the_disk_is_removed_and_named() {
    let big_code = format!("package big\n\nconst S = `{}`\n", noise(4 << 20, 0));
    let d = direct_on_small_disk(
        "big",
        &[
            ("go.mod", "module github.com/acme/big\n"),
            ("big.go", &big_code),
        ],
    );
    let r = raw_get(&d.server.addr, "GET", "/github.com/acme/big/@v/v1.0.0.info").unwrap();
    assert_eq!(r.status, 507, "{}", r.text());
    assert!(
        r.text().contains("insufficient storage: ")
            && r.text().contains("the partial clone was removed"),
        "{}",
        r.text()
    );
    // The clone is gone: the small module fits, and is served.
    let r = raw_get(
        &d.server.addr,
        "GET",
        "/github.com/acme/small/@v/v1.0.0.mod",
    )
    .unwrap();
    assert_eq!(
        (r.status, r.text()),
        (200, "module github.com/acme/small\n".to_string())
    );
}

/// A clone that fits but whose `git archive` does not (8 MiB of one repeated line packs
/// into a few KiB): the tar is written into the data directory, so its full disk is a
/// 507 too, not a 502 "reading git output"; nothing is stored and no tar is left.
#[test]
fn a_git_archive_that_fills_the_disk_is_a_507() {
    let wide = format!("package wide\n\nconst S = `{}`\n", "a".repeat(8 << 20));
    let d = direct_on_small_disk(
        "wide",
        &[("go.mod", "module github.com/acme/wide\n"), ("w.go", &wide)],
    );
    let r = raw_get(&d.server.addr, "GET", "/github.com/acme/wide/@v/v1.0.0.mod").unwrap();
    assert_eq!(
        (r.status, r.text()),
        (200, "module github.com/acme/wide\n".to_string())
    );
    let r = raw_get(&d.server.addr, "GET", "/github.com/acme/wide/@v/v1.0.0.zip").unwrap();
    assert_eq!(r.status, 507, "{}", r.text());
    let tmp_dir = d.data.join("git/tmp");
    assert!(
        r.text().starts_with("github.com/acme/wide@v1.0.0: git archive in the clone of https://github.com/acme/wide: insufficient storage: ")
            && r.text().contains(&format!(" ({} has ", tmp_dir.display()))
            && r.text().ends_with(" bytes free); modgate still serves what it stored: free space there or move --data-dir to a larger disk\n"),
        "{}",
        r.text()
    );
    assert_eq!(files_under(&tmp_dir), Vec::<String>::new());
    let vdir = d.data.join("cache/download/github.com/acme/wide/@v");
    assert!(!vdir.join("v1.0.0.zip").exists());
    assert!(!vdir.join("v1.0.0.ziphash").exists());
    // The disk has room again: the small module's zip is built and served.
    let r = raw_get(
        &d.server.addr,
        "GET",
        "/github.com/acme/small/@v/v1.0.0.zip",
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
}
