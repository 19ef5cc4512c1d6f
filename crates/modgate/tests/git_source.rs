//! The `direct` (git) source against real git repositories made here, reached as the go
//! command reaches them offline (a git configuration with `insteadOf` rules to `file://`
//! URLs), and checked against the real go command (`GOPROXY=direct`): same version, time,
//! go.mod bytes and hashes, zip hash.
//!
//! The git configuration reaches our source through `GitSettings::git_env`
//! (`GIT_CONFIG_GLOBAL`), and the go command through its environment.

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use modgate::error::{Error, Kind};
use modgate::source::git::{GitSettings, GitSource};
use modgate::source::{Info, Source};
use serde_json::Value;

const T0: i64 = 1_700_000_000;

fn go_bin() -> PathBuf {
    testkit::go_binary()
}

/// Runs a command with a deadline; kills it when it overruns.
fn run_bounded(mut cmd: Command, limit: Duration) -> std::process::Output {
    testkit::run_bounded(&mut cmd, limit)
}

struct World {
    tmp: tempfile::TempDir,
    clock: Cell<i64>,
    seq: Cell<u32>,
}

impl World {
    fn new() -> World {
        let w = World {
            tmp: tempfile::tempdir().expect("tempdir"),
            clock: Cell::new(T0),
            seq: Cell::new(0),
        };
        for d in ["repos", "home", "work", "zips", "gopath", "gocache"] {
            std::fs::create_dir_all(w.path(d)).unwrap();
        }
        let cfg = format!(
            "[url \"file://{repos}/\"]\n\tinsteadOf = https://github.com/gen/\n[protocol \"file\"]\n\tallow = always\n[user]\n\tname = Gen\n\temail = gen@example.com\n[init]\n\tdefaultBranch = master\n[tag]\n\tgpgSign = false\n[commit]\n\tgpgSign = false\n",
            repos = w.path("repos").display()
        );
        std::fs::write(w.gitconfig(), cfg).unwrap();
        w
    }

    fn path(&self, p: &str) -> PathBuf {
        self.tmp.path().join(p)
    }

    fn gitconfig(&self) -> PathBuf {
        self.path("gitconfig")
    }

    fn add_config(&self, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.gitconfig())
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    fn git_env(&self) -> Vec<(String, String)> {
        vec![
            (
                "GIT_CONFIG_GLOBAL".into(),
                self.gitconfig().display().to_string(),
            ),
            ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
        ]
    }

    fn git(&self, repo: &str, args: &[&str]) -> String {
        let date = format!("@{} +0000", self.clock.get());
        let dir = self.path("repos").join(repo);
        testkit::git_with(&dir, args, Some(&self.gitconfig()), &date)
            .trim()
            .to_string()
    }

    fn init(&self, repo: &str) {
        std::fs::create_dir_all(self.path("repos").join(repo)).unwrap();
        self.git(repo, &["init", "-q"]);
    }

    /// Writes files (an empty content removes the file), commits; returns (hash, time).
    fn commit(&self, repo: &str, files: &[(&str, &str)]) -> (String, i64) {
        let t = self.clock.get() + 3600;
        self.clock.set(t);
        for (name, content) in files {
            let p = self.path("repos").join(repo).join(name);
            if content.is_empty() {
                let _ = std::fs::remove_file(&p);
            } else {
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, content).unwrap();
            }
        }
        self.git(repo, &["add", "-A"]);
        self.git(repo, &["commit", "-q", "--allow-empty", "-m", "change"]);
        (self.git(repo, &["rev-parse", "HEAD"]), t)
    }

    fn settings(&self) -> GitSettings {
        let mut s = GitSettings::new(self.path("cache"));
        s.refs_ttl = Duration::ZERO;
        s.command_timeout = Duration::from_secs(60);
        s.git_env = self.git_env();
        s
    }

    fn source(&self) -> GitSource {
        GitSource::new(self.settings()).expect("git source")
    }

    fn go_cmd(&self, args: &[&str], extra: &[(&str, &str)]) -> std::process::Output {
        let n = self.seq.get() + 1;
        self.seq.set(n);
        let modcache = self.path(&format!("modcache{n}"));
        let mut cmd = Command::new(go_bin());
        cmd.args(args)
            .current_dir(self.path("work"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.path("home"))
            .env("GOPROXY", "direct")
            .env("GOSUMDB", "off")
            .env("GOFLAGS", "-modcacherw")
            .env("GOMODCACHE", &modcache)
            .env("GOPATH", self.path("gopath"))
            .env("GOCACHE", self.path("gocache"))
            .env("GOTOOLCHAIN", "local")
            .env("GO111MODULE", "on")
            .env("HTTPS_PROXY", "http://127.0.0.1:1")
            .env("HTTP_PROXY", "http://127.0.0.1:1");
        for (k, v) in self.git_env() {
            cmd.env(k, v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        run_bounded(cmd, Duration::from_secs(120))
    }

    fn go_json(&self, args: &[&str], extra: &[(&str, &str)]) -> Value {
        let out = self.go_cmd(args, extra);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "go {args:?}: {e}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// `go mod download -json path@query`'s Error.
    fn go_error(&self, path: &str, query: &str) -> String {
        let v = self.go_json(
            &["mod", "download", "-json", &format!("{path}@{query}")],
            &[],
        );
        v["Error"]
            .as_str()
            .unwrap_or_else(|| panic!("go succeeded on {path}@{query}: {v}"))
            .to_string()
    }

    /// Our stat/go_mod/zip for `path@query` equal the go command's.
    async fn same_as_go(&self, src: &GitSource, path: &str, query: &str) -> Info {
        self.same_as_go_env(src, path, query, &[]).await
    }

    async fn same_as_go_env(
        &self,
        src: &GitSource,
        path: &str,
        query: &str,
        extra: &[(&str, &str)],
    ) -> Info {
        let pq = format!("{path}@{query}");
        let ours = match query {
            "latest" => src.latest(path).await,
            _ => src.stat(path, query).await,
        }
        .unwrap_or_else(|e| panic!("our stat {pq}: {e:?}"));
        let dl = self.go_json(&["mod", "download", "-json", &pq], extra);
        assert!(dl.get("Error").is_none(), "go mod download {pq}: {dl}");
        assert_eq!(
            ours.version,
            dl["Version"].as_str().unwrap(),
            "version of {pq}"
        );
        let info_file = std::fs::read(dl["Info"].as_str().unwrap()).unwrap();
        let info: Value = serde_json::from_slice(&info_file).unwrap();
        assert_eq!(time(&ours), info["Time"].as_str().unwrap(), "time of {pq}");
        // The .info itself, byte for byte as the go command keeps it in its module cache:
        // the Origin's fields (VCS, URL, Subdir, Hash, Ref) and their order.
        assert_eq!(
            String::from_utf8_lossy(&ours.json),
            String::from_utf8_lossy(&info_file),
            ".info of {pq}"
        );
        let list = self.go_json(&["list", "-m", "-json", &pq], extra);
        assert_eq!(
            ours.version,
            list["Version"].as_str().unwrap(),
            "go list {pq}"
        );
        assert_eq!(time(&ours), list["Time"].as_str().unwrap(), "go list {pq}");

        let gomod = src
            .go_mod(path, &ours.version)
            .await
            .unwrap_or_else(|e| panic!("our go.mod {pq}: {e:?}"));
        let go_gomod = std::fs::read(dl["GoMod"].as_str().unwrap()).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&gomod),
            String::from_utf8_lossy(&go_gomod),
            "go.mod of {pq}"
        );
        assert_eq!(
            gomod::dirhash::hash_go_mod(&gomod),
            dl["GoModSum"].as_str().unwrap(),
            "go.mod hash of {pq}"
        );

        let n = self.seq.get() + 1;
        self.seq.set(n);
        let dest = self.path("zips").join(format!("{n}.zip"));
        let size = src
            .zip(path, &ours.version, &dest)
            .await
            .unwrap_or_else(|e| panic!("our zip {pq}: {e:?}"));
        assert_eq!(size, std::fs::metadata(&dest).unwrap().len());
        assert_eq!(
            gomod::dirhash::hash_zip_file(&dest).unwrap(),
            dl["Sum"].as_str().unwrap(),
            "zip hash of {pq}"
        );
        // The zip itself, byte for byte as the go command made it.
        let (zip, go_zip) = (
            std::fs::read(&dest).unwrap(),
            std::fs::read(dl["Zip"].as_str().unwrap()).unwrap(),
        );
        assert!(
            zip == go_zip,
            "zip of {pq}: go {} bytes, ours {} (first difference at {:?})",
            go_zip.len(),
            zip.len(),
            zip.iter().zip(&go_zip).position(|(a, b)| a != b)
        );
        ours
    }
}

fn stamp(t: i64) -> String {
    gomod::pseudo::Timestamp::from_unix(t).format_pseudo()
}

fn rfc(t: i64) -> String {
    gomod::pseudo::Timestamp::from_unix(t).format_rfc3339()
}

#[tokio::test]
async fn semver_tags_branches_hashes_and_latest() {
    let w = World::new();
    w.init("basic");
    let (a, ta) = w.commit(
        "basic",
        &[
            ("go.mod", "module github.com/gen/basic\n\ngo 1.20\n"),
            ("a.go", "package basic\n"),
        ],
    );
    w.git("basic", &["tag", "v1.0.0"]);
    w.git("basic", &["tag", "release-1"]);
    w.git("basic", &["tag", "v2"]);
    let (_b, tb) = w.commit("basic", &[("b.go", "package basic\n\nvar B = 1\n")]);
    w.git("basic", &["tag", "-a", "-m", "annotated", "v1.1.0"]);
    w.git("basic", &["tag", "v1.1"]);
    let (c, tc) = w.commit("basic", &[("c.go", "package basic\n\nvar C = 2\n")]);
    let src = w.source();
    let path = "github.com/gen/basic";

    assert_eq!(src.describe(), "direct");
    assert_eq!(lines(src.list(path).await.unwrap()), ["v1.0.0", "v1.1.0"]);
    let versions = w.go_json(&["list", "-m", "-versions", "-json", path], &[]);
    assert_eq!(
        versions["Versions"],
        serde_json::json!(["v1.0.0", "v1.1.0"])
    );

    let i = w.same_as_go(&src, path, "v1.0.0").await;
    assert_eq!((i.version.as_str(), time(&i)), ("v1.0.0", rfc(ta)));
    let i = w.same_as_go(&src, path, "v1.1.0").await;
    assert_eq!((i.version.as_str(), time(&i)), ("v1.1.0", rfc(tb)));
    assert_eq!(w.same_as_go(&src, path, "v1.1").await.version, "v1.1.0");
    assert_eq!(
        w.same_as_go(&src, path, "release-1").await.version,
        "v1.0.0"
    );
    assert_eq!(w.same_as_go(&src, path, &a).await.version, "v1.0.0");
    assert_eq!(w.same_as_go(&src, path, &a[..7]).await.version, "v1.0.0");
    let pseudo = format!("v1.1.1-0.{}-{}", stamp(tc), &c[..12]);
    let i = w.same_as_go(&src, path, "master").await;
    assert_eq!((i.version.clone(), time(&i)), (pseudo.clone(), rfc(tc)));
    assert_eq!(w.same_as_go(&src, path, &c[..12]).await.version, pseudo);
    assert_eq!(w.same_as_go(&src, path, &c).await.version, pseudo);
    assert_eq!(w.same_as_go(&src, path, &pseudo).await.version, pseudo);
    assert_eq!(w.same_as_go(&src, path, "latest").await.version, "v1.1.0");
    assert_eq!(
        src.stat(path, "HEAD").await.unwrap().version,
        pseudo,
        "HEAD is the master commit"
    );
}

#[tokio::test]
async fn pseudo_versions_in_all_three_forms() {
    let w = World::new();
    let src = w.source();
    // (1) no tag at all: vX.0.0-yyyymmddhhmmss-abcdefabcdef
    w.init("notag");
    w.commit("notag", &[("go.mod", "module github.com/gen/notag\n")]);
    let (c, tc) = w.commit("notag", &[("x.go", "package notag\n")]);
    let p1 = format!("v0.0.0-{}-{}", stamp(tc), &c[..12]);
    assert_eq!(
        w.same_as_go(&src, "github.com/gen/notag", "master")
            .await
            .version,
        p1
    );
    assert_eq!(
        w.same_as_go(&src, "github.com/gen/notag", &p1)
            .await
            .version,
        p1
    );
    assert_eq!(
        lines(src.list("github.com/gen/notag").await.unwrap()),
        Vec::<String>::new()
    );
    // @latest with no tags is the HEAD commit.
    assert_eq!(
        w.same_as_go(&src, "github.com/gen/notag", "latest")
            .await
            .version,
        p1
    );

    // (2) after a release tag: vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdefabcdef
    w.init("rel");
    w.commit("rel", &[("go.mod", "module github.com/gen/rel\n")]);
    w.git("rel", &["tag", "v0.3.4"]);
    let (c, tc) = w.commit("rel", &[("x.go", "package rel\n")]);
    let p2 = format!("v0.3.5-0.{}-{}", stamp(tc), &c[..12]);
    assert_eq!(
        w.same_as_go(&src, "github.com/gen/rel", &c[..10])
            .await
            .version,
        p2
    );

    // (3) after a prerelease tag: vX.Y.Z-pre.0.yyyymmddhhmmss-abcdefabcdef
    w.init("pre");
    w.commit("pre", &[("go.mod", "module github.com/gen/pre\n")]);
    w.git("pre", &["tag", "v1.0.0-rc.1"]);
    let (c, tc) = w.commit("pre", &[("x.go", "package pre\n")]);
    let p3 = format!("v1.0.0-rc.1.0.{}-{}", stamp(tc), &c[..12]);
    assert_eq!(
        w.same_as_go(&src, "github.com/gen/pre", "master")
            .await
            .version,
        p3
    );
    assert_eq!(
        w.same_as_go(&src, "github.com/gen/pre", &p3).await.version,
        p3
    );
    assert_eq!(
        w.same_as_go(&src, "github.com/gen/pre", "latest")
            .await
            .version,
        "v1.0.0-rc.1"
    );

    // A pseudo-version whose time does not match the commit: the go command's error.
    let bad = format!("v1.0.0-rc.1.0.{}-{}", stamp(tc + 1), &c[..12]);
    let err = src.stat("github.com/gen/pre", &bad).await.unwrap_err();
    assert_eq!(
        err,
        Error::invalid(format!(
            "github.com/gen/pre@{bad}: invalid pseudo-version: does not match version-control timestamp (expected {})",
            stamp(tc)
        ))
    );
    assert_eq!(w.go_error("github.com/gen/pre", &bad), err.to_string());
}

#[tokio::test]
async fn major_version_two_in_root_and_in_subdirectory() {
    let w = World::new();
    let src = w.source();
    w.init("majroot");
    w.commit(
        "majroot",
        &[
            ("go.mod", "module github.com/gen/majroot/v2\n"),
            ("m.go", "package m\n"),
        ],
    );
    w.git("majroot", &["tag", "v2.0.0"]);
    w.git("majroot", &["tag", "v1.9.0"]);
    let (c, tc) = w.commit("majroot", &[("n.go", "package m\n")]);
    let p = "github.com/gen/majroot/v2";
    assert_eq!(lines(src.list(p).await.unwrap()), ["v2.0.0"]);
    assert_eq!(w.same_as_go(&src, p, "v2.0.0").await.version, "v2.0.0");
    let pseudo = format!("v2.0.1-0.{}-{}", stamp(tc), &c[..12]);
    assert_eq!(w.same_as_go(&src, p, "master").await.version, pseudo);
    // v1.9.0 does not match the /v2 suffix.
    let err = src.stat(p, "v1.9.0").await.unwrap_err();
    assert_eq!(
        err,
        Error::invalid(
            "github.com/gen/majroot/v2@v1.9.0: invalid version: module path includes a major version suffix, so major version must match"
        )
    );
    assert_eq!(w.go_error(p, "v1.9.0"), err.to_string());

    w.init("majsub");
    w.commit(
        "majsub",
        &[
            ("go.mod", "module github.com/gen/majsub\n"),
            ("a.go", "package a\n"),
            ("LICENSE", "root license\n"),
        ],
    );
    w.git("majsub", &["tag", "v1.0.0"]);
    w.commit(
        "majsub",
        &[
            ("v2/go.mod", "module github.com/gen/majsub/v2\n"),
            ("v2/a.go", "package a\n\nconst V = 2\n"),
        ],
    );
    w.git("majsub", &["tag", "v2.0.0"]);
    let p = "github.com/gen/majsub/v2";
    assert_eq!(lines(src.list(p).await.unwrap()), ["v2.0.0"]);
    assert_eq!(
        lines(src.list("github.com/gen/majsub").await.unwrap()),
        ["v1.0.0"]
    );
    assert_eq!(w.same_as_go(&src, p, "v2.0.0").await.version, "v2.0.0");
    assert_eq!(
        w.same_as_go(&src, "github.com/gen/majsub", "v1.0.0")
            .await
            .version,
        "v1.0.0"
    );
    assert_eq!(
        src.go_mod(p, "v2.0.0").await.unwrap(),
        b"module github.com/gen/majsub/v2\n"
    );
}

#[tokio::test]
async fn incompatible_versions_without_go_mod() {
    let w = World::new();
    let src = w.source();
    w.init("incompat");
    w.commit("incompat", &[("a.go", "package a\n")]);
    w.git("incompat", &["tag", "v1.0.0"]);
    w.commit("incompat", &[("b.go", "package a\n")]);
    w.git("incompat", &["tag", "v2.0.0"]);
    w.commit("incompat", &[("c.go", "package a\n")]);
    w.git("incompat", &["tag", "v3.1.0"]);
    let (c, tc) = w.commit("incompat", &[("d.go", "package a\n")]);
    let p = "github.com/gen/incompat";
    assert_eq!(
        lines(src.list(p).await.unwrap()),
        ["v1.0.0", "v2.0.0+incompatible", "v3.1.0+incompatible"]
    );
    assert_eq!(w.same_as_go(&src, p, "v1.0.0").await.version, "v1.0.0");
    assert_eq!(
        w.same_as_go(&src, p, "v2.0.0").await.version,
        "v2.0.0+incompatible"
    );
    assert_eq!(
        w.same_as_go(&src, p, "v3.1.0+incompatible").await.version,
        "v3.1.0+incompatible"
    );
    let pseudo = format!("v3.1.1-0.{}-{}+incompatible", stamp(tc), &c[..12]);
    assert_eq!(w.same_as_go(&src, p, "master").await.version, pseudo);
    assert_eq!(
        w.same_as_go(&src, p, "latest").await.version,
        "v3.1.0+incompatible"
    );
    // No go.mod in the tree: synthesized.
    assert_eq!(
        src.go_mod(p, "v2.0.0+incompatible").await.unwrap(),
        b"module github.com/gen/incompat\n"
    );
}

#[tokio::test]
async fn subdirectory_module_with_prefixed_tags_gets_the_root_license() {
    let w = World::new();
    let src = w.source();
    w.init("mono");
    w.commit(
        "mono",
        &[
            ("go.mod", "module github.com/gen/mono\n"),
            ("root.go", "package mono\n"),
            ("LICENSE", "BSD, at the root\n"),
            ("sub/go.mod", "module github.com/gen/mono/sub\n"),
            ("sub/s.go", "package sub\n"),
            ("sub/inner/i.go", "package inner\n"),
        ],
    );
    w.git("mono", &["tag", "v1.0.0"]);
    w.git("mono", &["tag", "sub/v1.2.3"]);
    w.git("mono", &["tag", "sub/v1.3"]);
    let (c, tc) = w.commit("mono", &[("sub/t.go", "package sub\n")]);
    let p = "github.com/gen/mono/sub";
    assert_eq!(lines(src.list(p).await.unwrap()), ["v1.2.3"]);
    assert_eq!(
        lines(src.list("github.com/gen/mono").await.unwrap()),
        ["v1.0.0"]
    );
    assert_eq!(w.same_as_go(&src, p, "v1.2.3").await.version, "v1.2.3");
    let pseudo = format!("v1.2.4-0.{}-{}", stamp(tc), &c[..12]);
    assert_eq!(w.same_as_go(&src, p, "master").await.version, pseudo);
    // The root module's zip leaves the nested module out.
    assert_eq!(
        w.same_as_go(&src, "github.com/gen/mono", "v1.0.0")
            .await
            .version,
        "v1.0.0"
    );
    // The zip has the root's LICENSE.
    let dest = w.path("zips").join("sub.zip");
    src.zip(p, "v1.2.3", &dest).await.unwrap();
    let zip = std::fs::read(&dest).unwrap();
    let needle = b"github.com/gen/mono/sub@v1.2.3/LICENSE";
    assert!(zip.windows(needle.len()).any(|x| x == needle));
}

#[tokio::test]
async fn a_moved_tag_is_followed() {
    let w = World::new();
    let src = w.source();
    w.init("moved");
    let (a, ta) = w.commit("moved", &[("go.mod", "module github.com/gen/moved\n")]);
    w.git("moved", &["tag", "v1.0.0"]);
    let p = "github.com/gen/moved";
    let i = w.same_as_go(&src, p, "v1.0.0").await;
    assert_eq!(time(&i), rfc(ta));
    assert_eq!(origin_hash(&i), a.as_str());
    let (b, tb) = w.commit("moved", &[("x.go", "package moved\n")]);
    w.git("moved", &["tag", "-f", "v1.0.0", &b]);
    let i = w.same_as_go(&src, p, "v1.0.0").await;
    assert_eq!(time(&i), rfc(tb));
    assert_eq!(origin_hash(&i), b.as_str());
}

#[tokio::test]
async fn unknown_revisions_missing_repositories_and_wrong_module_paths() {
    let w = World::new();
    let src = w.source();
    w.init("wrong");
    w.commit(
        "wrong",
        &[
            ("go.mod", "module example.com/other\n"),
            ("x.go", "package x\n"),
        ],
    );
    w.git("wrong", &["tag", "v1.0.0"]);
    w.commit(
        "wrong",
        &[("v2/go.mod", "module github.com/gen/wrong/v3\n")],
    );
    w.git("wrong", &["tag", "v2.0.0"]);

    // Unknown revision.
    let err = src
        .stat("github.com/gen/wrong", "nosuch")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::not_found("github.com/gen/wrong@nosuch: invalid version: unknown revision nosuch")
    );
    assert_eq!(
        w.go_error("github.com/gen/wrong", "nosuch"),
        err.to_string()
    );
    let err = src
        .stat("github.com/gen/wrong", "v9.9.9")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(
        w.go_error("github.com/gen/wrong", "v9.9.9"),
        err.to_string()
    );

    // A repository that does not exist.
    let err = src
        .stat("github.com/gen/missing", "v1.0.0")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(err.to_string().contains("repository not found"), "{err}");
    assert!(
        src.list("github.com/gen/missing")
            .await
            .unwrap_err()
            .is_not_found()
    );

    // A go.mod at the root declaring another path is served as it is (the go command
    // only complains when it builds).
    let i = w.same_as_go(&src, "github.com/gen/wrong", "v1.0.0").await;
    assert_eq!(i.version, "v1.0.0");
    // v2/go.mod declaring /v3: the go command's error.
    let err = src
        .stat("github.com/gen/wrong/v2", "v2.0.0")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::not_found(
            "github.com/gen/wrong/v2@v2.0.0: invalid version: github.com/gen/wrong/v2/go.mod has non-.../v2 module path \"github.com/gen/wrong/v3\" at revision v2.0.0"
        )
    );
    assert_eq!(
        w.go_error("github.com/gen/wrong/v2", "v2.0.0"),
        err.to_string()
    );
    let err = src
        .go_mod("github.com/gen/wrong/v2", "v2.0.0")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("has non-.../v2 module path"),
        "{err}"
    );

    // Malformed requests.
    assert!(matches!(
        src.go_mod("github.com/gen/wrong", "master").await,
        Err(e) if e.kind() == Kind::Invalid
    ));
    assert!(matches!(
        src.stat("github.com/gen/../x", "v1.0.0").await,
        Err(e) if e.kind() == Kind::Invalid
    ));
}

#[tokio::test]
async fn a_hanging_remote_fails_within_the_timeout() {
    let w = World::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept and never speak; keep the sockets open until the test ends.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().take(16).flatten() {
            held.push(s);
        }
    });
    w.add_config(&format!(
        "[url \"http://127.0.0.1:{port}/\"]\n\tinsteadOf = https://github.com/hang/\n"
    ));
    let mut s = w.settings();
    s.command_timeout = Duration::from_secs(3);
    let src = GitSource::new(s).unwrap();
    let start = Instant::now();
    let err = src
        .stat("github.com/hang/repo", "v1.0.0")
        .await
        .unwrap_err();
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(8),
        "{took:?}"
    );
    match err.clone().into_parts() {
        (Kind::Timeout, m) => {
            assert!(m.contains("timed out after 3s"), "{m}");
            assert!(
                m.contains(&format!("http://127.0.0.1:{port}/repo"))
                    || m.contains("https://github.com/hang/repo"),
                "{m}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// A server that answers every request with 401 and a Basic challenge.
fn auth_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().take(32).flatten() {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = "credentials required\n";
            let _ = write!(
                s,
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[tokio::test]
async fn a_remote_asking_for_credentials_fails_fast_without_prompting() {
    let w = World::new();
    let port = auth_server();
    w.add_config(&format!(
        "[url \"http://127.0.0.1:{port}/\"]\n\tinsteadOf = https://github.com/private/\n"
    ));
    let src = w.source();
    let start = Instant::now();
    let err = src
        .stat("github.com/private/repo", "v1.0.0")
        .await
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    match err.clone().into_parts() {
        (Kind::Failed, m) => {
            assert!(m.contains("asks for credentials"), "{m}");
            assert!(m.contains("terminal prompts disabled"), "{m}");
        }
        other => panic!("{other:?}"),
    }
}

/// A go-get discovery server: `/x...?go-get=1` pages naming `example.com/x` at `repo_url`.
/// Plain HTTP; anything else (TLS handshakes, CONNECT) is answered 400.
fn discovery_server(repo_url_of: impl Fn(u16) -> String + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let repo_url = repo_url_of(port);
    std::thread::spawn(move || {
        for mut s in listener.incoming().take(64).flatten() {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 8192];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let line = req.lines().next().unwrap_or("").to_string();
            let parts: Vec<&str> = line.split(' ').collect();
            let ok = parts.len() == 3
                && parts[0] == "GET"
                && parts[1].contains("?go-get=1")
                && (parts[1].starts_with("/x") || parts[1].starts_with("http://example.com/x"));
            let (status, body) = if ok {
                (
                    "200 OK",
                    format!(
                        "<!DOCTYPE html>\n<html><head>\n<meta name=\"go-import\" content=\"example.com/x git {repo_url}\">\n</head><body>hi</body></html>\n"
                    ),
                )
            } else {
                ("400 Bad Request", "no\n".to_string())
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[tokio::test]
async fn go_get_discovery_over_insecure_http() {
    let w = World::new();
    let port = discovery_server(|port| format!("http://127.0.0.1:{port}/x.git"));
    w.add_config(&format!(
        "[url \"file://{}/x/\"]\n\tinsteadOf = http://127.0.0.1:{port}/x.git\n",
        w.path("repos").display()
    ));
    w.init("x");
    w.commit(
        "x",
        &[
            ("go.mod", "module example.com/x\n"),
            ("x.go", "package x\n"),
            ("sub/go.mod", "module example.com/x/sub\n"),
            ("sub/s.go", "package sub\n"),
        ],
    );
    w.git("x", &["tag", "v1.4.0"]);
    w.git("x", &["tag", "sub/v0.1.0"]);

    let mut s = w.settings();
    s.insecure = "example.com".into();
    s.resolve = vec![(
        "example.com".into(),
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
    )];
    let src = GitSource::new(s).unwrap();
    // The go command reaches the same server as its HTTP proxy.
    let proxy = format!("http://127.0.0.1:{port}");
    let env = [
        ("GOINSECURE", "example.com"),
        ("HTTP_PROXY", proxy.as_str()),
        ("HTTPS_PROXY", proxy.as_str()),
    ];
    assert_eq!(lines(src.list("example.com/x").await.unwrap()), ["v1.4.0"]);
    let i = w
        .same_as_go_env(&src, "example.com/x", "v1.4.0", &env)
        .await;
    assert_eq!(i.version, "v1.4.0");
    let i = w
        .same_as_go_env(&src, "example.com/x/sub", "v0.1.0", &env)
        .await;
    assert_eq!(i.version, "v0.1.0");

    // Without GOINSECURE, discovery needs https, which this server does not speak.
    let mut s = w.settings();
    s.resolve = vec![(
        "example.com".into(),
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
    )];
    let src = GitSource::new(s).unwrap();
    let err = src.stat("example.com/x", "v1.4.0").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("unrecognized import path \"example.com/x\": https fetch: "),
        "{err}"
    );
}

#[tokio::test]
async fn concurrent_requests_share_one_clone() {
    let w = World::new();
    w.init("busy");
    w.commit("busy", &[("go.mod", "module github.com/gen/busy\n")]);
    w.git("busy", &["tag", "v0.1.0"]);
    w.commit("busy", &[("a.go", "package busy\n")]);
    w.git("busy", &["tag", "v0.2.0"]);
    let src = std::sync::Arc::new(w.source());
    let mut tasks = Vec::new();
    for i in 0..8 {
        let src = src.clone();
        let q = if i % 2 == 0 { "v0.1.0" } else { "v0.2.0" };
        tasks.push(tokio::spawn(async move {
            (q, src.stat("github.com/gen/busy", q).await)
        }));
    }
    for t in tasks {
        let (q, r) = t.await.unwrap();
        assert_eq!(r.unwrap().version, q);
    }
    // One bare clone for the repository, whatever the module path asked.
    let clones: Vec<_> = std::fs::read_dir(w.path("cache").join("git"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("HEAD").exists())
        .collect();
    assert_eq!(clones.len(), 1);
    src.stat("github.com/gen/busy/v2", "master")
        .await
        .unwrap_err();
    let clones = std::fs::read_dir(w.path("cache").join("git"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("HEAD").exists())
        .count();
    assert_eq!(clones, 1);
}

#[tokio::test]
async fn a_repository_over_the_size_bound_is_refused() {
    let w = World::new();
    w.init("big");
    let blob: String = (0..200_000u32)
        .map(|i| format!("{:x}", i.wrapping_mul(2_654_435_761)))
        .collect();
    w.commit(
        "big",
        &[
            ("go.mod", "module github.com/gen/big\n"),
            ("blob.txt", &blob),
        ],
    );
    w.git("big", &["tag", "v1.0.0"]);
    let mut s = w.settings();
    s.max_repo_bytes = 64 << 10;
    let src = GitSource::new(s).unwrap();
    let err = src.stat("github.com/gen/big", "v1.0.0").await.unwrap_err();
    match err.clone().into_parts() {
        (Kind::Failed, m) => {
            assert!(m.contains("more than the limit of 65536 bytes"), "{m}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn semver_prefix_and_non_canonical_queries_and_retractions() {
    let w = World::new();
    let src = w.source();
    w.init("ret");
    w.commit("ret", &[("go.mod", "module github.com/gen/ret\n")]);
    w.git("ret", &["tag", "v1.0.0"]);
    w.commit("ret", &[("a.go", "package ret\n")]);
    w.git("ret", &["tag", "v1.1.0"]);
    w.commit("ret", &[("b.go", "package ret\n")]);
    w.git("ret", &["tag", "v1.2.0-pre"]);
    w.commit(
        "ret",
        &[(
            "go.mod",
            "module github.com/gen/ret\n\nretract v1.1.0 // broken\n",
        )],
    );
    w.git("ret", &["tag", "v1.1.1"]);
    w.git("ret", &["tag", "v1.3.0"]);
    w.commit(
        "ret",
        &[(
            "go.mod",
            "module github.com/gen/ret\n\nretract (\n\tv1.1.0 // broken\n\tv1.3.0 // also\n)\n",
        )],
    );
    w.git("ret", &["tag", "v1.3.1"]);
    w.git("ret", &["tag", "v1.4.0"]);
    w.git("ret", &["tag", "-d", "v1.4.0"]);
    let (c, tc) = w.commit("ret", &[("c.go", "package ret\n")]);
    let p = "github.com/gen/ret";
    assert_eq!(
        lines(src.list(p).await.unwrap()),
        [
            "v1.0.0",
            "v1.1.0",
            "v1.1.1",
            "v1.2.0-pre",
            "v1.3.0",
            "v1.3.1"
        ]
    );
    assert_eq!(w.same_as_go(&src, p, "latest").await.version, "v1.3.1");
    assert_eq!(w.same_as_go(&src, p, "v1").await.version, "v1.3.1");
    assert_eq!(w.same_as_go(&src, p, "v1.1").await.version, "v1.1.1");
    // A prefix query wants versions at or above it: v1.2.0-pre is below v1.2.
    let err = src.stat(p, "v1.2").await.unwrap_err();
    assert_eq!(
        err,
        Error::not_found("module github.com/gen/ret: no matching versions for query \"v1.2\"")
    );
    assert_eq!(w.go_error(p, "v1.2"), err.to_string());
    assert_eq!(w.same_as_go(&src, p, "v1.0").await.version, "v1.0.0");
    assert_eq!(w.same_as_go(&src, p, "v1.1.1+meta").await.version, "v1.1.1");
    // A retracted version is still served when asked for.
    assert_eq!(w.same_as_go(&src, p, "v1.1.0").await.version, "v1.1.0");
    let pseudo = format!("v1.3.2-0.{}-{}", stamp(tc), &c[..12]);
    assert_eq!(w.same_as_go(&src, p, "master").await.version, pseudo);
    let err = src.stat(p, "v1.9").await.unwrap_err();
    assert_eq!(w.go_error(p, "v1.9"), err.to_string());
}

#[tokio::test]
async fn zips_follow_git_archive_and_module_zip_rules() {
    let w = World::new();
    let src = w.source();
    w.init("tree");
    w.commit(
        "tree",
        &[
            ("go.mod", "module github.com/gen/tree\n"),
            (
                ".gitattributes",
                "*.txt text eol=crlf\nignored.go export-ignore\nsubst.go export-subst\n",
            ),
            ("lf.txt", "one\ntwo\n"),
            ("crlf.go", "package tree\r\n\r\nvar X = 1\r\n"),
            ("ignored.go", "package tree\n"),
            ("subst.go", "package tree\n\n// $Format:%H$\n"),
            ("vendor/modules.txt", "# vendored\n"),
            ("vendor/example.com/v/v.go", "package v\n"),
            ("inner/vendor/x/x.go", "package x\n"),
            ("nested/go.mod", "module github.com/gen/tree/nested\n"),
            ("nested/n.go", "package nested\n"),
            ("deep/dir/with space/ünïcode.go", "package dir\n"),
            (".hidden/h.go", "package hidden\n"),
            ("bin.dat", "\u{0}\u{1}\u{2}binary\u{0}"),
        ],
    );
    std::os::unix::fs::symlink("lf.txt", w.path("repos/tree/link.txt")).unwrap();
    w.commit("tree", &[]);
    w.git("tree", &["tag", "v0.5.0"]);
    assert_eq!(
        w.same_as_go(&src, "github.com/gen/tree", "v0.5.0")
            .await
            .version,
        "v0.5.0"
    );
    // Our zip has the files the go command's has, and they read back as module files.
    let dest = w.path("zips").join("tree.zip");
    src.zip("github.com/gen/tree", "v0.5.0", &dest)
        .await
        .unwrap();
    let v = gomod::module::Version::new("github.com/gen/tree", "v0.5.0");
    let checked = gomod::zip::check_zip(&v, std::fs::File::open(&dest).unwrap()).unwrap();
    checked.err().unwrap();
    let prefix = "github.com/gen/tree@v0.5.0/";
    let mut valid: Vec<&str> = checked
        .valid
        .iter()
        .map(|p| p.strip_prefix(prefix).unwrap())
        .collect();
    valid.sort();
    assert_eq!(
        valid,
        [
            ".gitattributes",
            ".hidden/h.go",
            "bin.dat",
            "crlf.go",
            "deep/dir/with space/ünïcode.go",
            "go.mod",
            "ignored.go",
            "lf.txt",
            "subst.go",
            "vendor/modules.txt",
        ]
    );
}

/// The same tree as above without a `.gitattributes` file is read in-process (no
/// `git archive`), with a link, an executable, a submodule and files the module zip
/// rules drop: byte for byte the go command's zip. Then an attributes file named by
/// `core.attributesFile` applies (`eol=crlf`): git makes the archive, and the zip is again
/// the go command's.
#[tokio::test]
async fn zips_read_in_process_are_the_go_commands() {
    let w = World::new();
    w.init("plain");
    w.commit(
        "plain",
        &[
            ("go.mod", "module github.com/gen/plain\n"),
            ("lf.txt", "one\ntwo\n"),
            ("crlf.go", "package plain\r\n\r\nvar X = 1\r\n"),
            ("vendor/modules.txt", "# vendored\n"),
            ("vendor/example.com/v/v.go", "package v\n"),
            ("inner/vendor/x/x.go", "package x\n"),
            ("nested/go.mod", "module github.com/gen/plain/nested\n"),
            ("nested/n.go", "package nested\n"),
            ("deep/dir/with space/ünïcode.go", "package dir\n"),
            (".hidden/h.go", "package hidden\n"),
            ("bin.dat", "\u{0}\u{1}\u{2}binary\u{0}"),
            ("run.sh", "#!/bin/sh\necho hi\n"),
            ("a-b/c.go", "package ab\n"),
            ("a/b.go", "package a\n"),
        ],
    );
    use std::os::unix::fs::PermissionsExt;
    let script = w.path("repos/plain/run.sh");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("lf.txt", w.path("repos/plain/link.txt")).unwrap();
    let sub = w.git("plain", &["rev-parse", "HEAD"]);
    w.git(
        "plain",
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{},sub", sub.trim()),
        ],
    );
    w.commit("plain", &[]);
    w.git("plain", &["tag", "v0.5.0"]);
    let (env, log) = counting_git(&w);
    let mut s = w.settings();
    s.git_env = env.clone();
    let src = GitSource::new(s).unwrap();
    let p = "github.com/gen/plain";
    w.same_as_go(&src, p, "v0.5.0").await;
    let ran = git_commands(&log);
    assert!(
        !ran.iter().any(|c| c == "archive" || c == "cat-file"),
        "{ran:?}"
    );

    // Attributes from outside the commit: git's archive, with CRLF, as the go command's.
    let attrs = w.path("attributes");
    std::fs::write(&attrs, "*.txt text eol=crlf\n").unwrap();
    w.add_config(&format!("[core]\n\tattributesFile = {}\n", attrs.display()));
    let mut s = w.settings();
    s.git_env = env;
    let src = GitSource::new(s).unwrap();
    std::fs::remove_file(&log).unwrap();
    w.same_as_go(&src, p, "v0.5.0").await;
    let ran = git_commands(&log);
    assert_eq!(ran.iter().filter(|c| *c == "archive").count(), 1, "{ran:?}");
}

/// A clone the in-process reader does not read (here: it has an alternates file) is read
/// by git, as before: the commit and its go.mod by `cat-file --batch`, another file by
/// `cat-file blob`, the zip by `git archive`; every answer the go command's.
#[tokio::test]
async fn a_clone_not_read_in_process_is_read_by_git() {
    let w = World::new();
    w.init("oldway");
    // A commit no ref names: its time is not known from the listing, so it is read.
    let (first, _) = w.commit("oldway", &[("go.mod", "module github.com/gen/oldway\n")]);
    w.commit(
        "oldway",
        &[
            ("a.go", "package oldway\n"),
            ("LICENSE", "the root's license\n"),
            ("sub/go.mod", "module github.com/gen/oldway/sub\n"),
            ("sub/s.go", "package sub\n"),
        ],
    );
    w.git("oldway", &["tag", "v1.0.0"]);
    w.git("oldway", &["tag", "sub/v1.0.0"]);
    let p = "github.com/gen/oldway";
    w.source().stat(p, "v1.0.0").await.unwrap();
    let clones: Vec<_> = std::fs::read_dir(w.path("cache/git"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|d| d.join("HEAD").exists())
        .collect();
    assert_eq!(clones.len(), 1, "{clones:?}");
    std::fs::write(clones[0].join("objects/info/alternates"), "").unwrap();

    let (env, log) = counting_git(&w);
    let mut s = w.settings();
    s.git_env = env;
    let src = GitSource::new(s).unwrap();
    w.same_as_go(&src, p, "v1.0.0").await;
    w.same_as_go(&src, &format!("{p}/sub"), "v1.0.0").await;
    w.same_as_go(&src, p, &first).await;
    let text = std::fs::read_to_string(&log).unwrap();
    for run in ["cat-file --batch", "cat-file blob", "archive"] {
        assert!(text.contains(run), "{run} not in {text}");
    }
}

#[tokio::test]
async fn paths_with_a_dot_git_element() {
    let w = World::new();
    w.add_config(&format!(
        "[url \"file://{}/\"]\n\tinsteadOf = https://example.org/gen/\n\tinsteadOf = ssh://example.org/gen/\n\tinsteadOf = git+ssh://example.org/gen/\n",
        w.path("repos").display()
    ));
    w.init("r");
    w.commit(
        "r",
        &[
            ("go.mod", "module example.org/gen/r.git\n"),
            ("r.go", "package r\n"),
            ("sub/go.mod", "module example.org/gen/r.git/sub\n"),
            ("sub/s.go", "package sub\n"),
        ],
    );
    w.git("r", &["tag", "v1.0.0"]);
    w.git("r", &["tag", "sub/v1.0.1"]);
    let src = w.source();
    assert_eq!(
        lines(src.list("example.org/gen/r.git").await.unwrap()),
        ["v1.0.0"]
    );
    assert_eq!(
        w.same_as_go(&src, "example.org/gen/r.git", "v1.0.0")
            .await
            .version,
        "v1.0.0"
    );
    assert_eq!(
        w.same_as_go(&src, "example.org/gen/r.git/sub", "v1.0.1")
            .await
            .version,
        "v1.0.1"
    );
    // No secure scheme reaches a repository that does not exist (every scheme's URL is
    // rewritten to a local path, so nothing leaves the machine).
    let err = src.list("example.org/gen/none.git").await.unwrap_err();
    assert_eq!(
        err,
        Error::not_found("example.org/gen/none.git: no secure protocol found for repository")
    );
}

#[tokio::test]
async fn an_empty_repository_has_no_versions_until_it_gets_some() {
    let w = World::new();
    w.init("empty");
    let src = w.source();
    let p = "github.com/gen/empty";
    // The clone of an empty repository succeeds with nothing in it: no versions, no
    // latest (the go command's codehost says "no commits", which it takes as not found:
    // "no matching versions for query"), and the go command's answer for a version.
    assert!(lines(src.list(p).await.unwrap()).is_empty());
    let err = src.latest(p).await.unwrap_err();
    assert_eq!(
        err,
        Error::not_found("github.com/gen/empty: no commits in https://github.com/gen/empty")
    );
    assert_eq!(
        w.go_error(p, "latest"),
        "module github.com/gen/empty: no matching versions for query \"latest\""
    );
    let err = src.stat(p, "v1.0.0").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(w.go_error(p, "v1.0.0"), err.to_string());
    // Then it gets a commit and a tag: the clone fetches them.
    w.commit("empty", &[("go.mod", "module github.com/gen/empty\n")]);
    w.git("empty", &["tag", "v1.0.0"]);
    assert_eq!(lines(src.list(p).await.unwrap()), ["v1.0.0"]);
    w.same_as_go(&src, p, "v1.0.0").await;
    w.same_as_go(&src, p, "latest").await;
}

#[tokio::test]
async fn an_unreachable_remote_is_a_failure_not_a_missing_module() {
    let w = World::new();
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    w.add_config(&format!(
        "[url \"http://127.0.0.1:{port}/\"]\n\tinsteadOf = https://github.com/down/\n"
    ));
    let src = w.source();
    let err = src
        .stat("github.com/down/repo", "v1.0.0")
        .await
        .unwrap_err();
    match err.clone().into_parts() {
        (Kind::Failed, m) => {
            assert!(
                m.starts_with(
                    "github.com/down/repo@v1.0.0: invalid version: git ls-remote https://github.com/down/repo: git exited with status 128: "
                ),
                "{m}"
            );
            assert!(m.contains(&format!("127.0.0.1 port {port}")), "{m}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_not_found());
}

#[tokio::test]
async fn an_unreachable_remote_is_answered_from_the_clone() {
    let w = World::new();
    w.init("kept");
    let (_, t) = w.commit("kept", &[("go.mod", "module github.com/gen/kept\n")]);
    w.git("kept", &["tag", "v1.0.0"]);
    let src = w.source();
    let p = "github.com/gen/kept";
    assert_eq!(time(&src.stat(p, "v1.0.0").await.unwrap()), rfc(t));
    // Now the remote cannot be reached at all.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    std::fs::write(
        w.gitconfig(),
        format!("[url \"http://127.0.0.1:{port}/\"]\n\tinsteadOf = https://github.com/gen/\n"),
    )
    .unwrap();
    assert_eq!(time(&src.stat(p, "v1.0.0").await.unwrap()), rfc(t));
    assert_eq!(lines(src.list(p).await.unwrap()), ["v1.0.0"]);
    assert_eq!(
        src.go_mod(p, "v1.0.0").await.unwrap(),
        b"module github.com/gen/kept\n"
    );
    let dest = w.path("zips").join("kept.zip");
    src.zip(p, "v1.0.0", &dest).await.unwrap();
    // A repository never cloned still fails.
    let err = src
        .stat("github.com/gen/other", "v1.0.0")
        .await
        .unwrap_err();
    assert!(err.kind() == Kind::Failed, "{err:?}");
}

/// Counts the git commands the source runs: a `git` on PATH (through `git_env`) that logs
/// its arguments and runs the real one.
fn counting_git(w: &World) -> (Vec<(String, String)>, PathBuf) {
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let bin = w.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = w.path("git.log");
    let script = format!(
        "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
        log.display(),
        real.trim()
    );
    let wrapper = bin.join("git");
    std::fs::write(&wrapper, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let mut env = w.git_env();
    env.push(("PATH".into(), path));
    (env, log)
}

fn git_commands(log: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .map(|l| {
            // The subcommand: the first word after the `-c name=value` pairs.
            let words: Vec<&str> = l.split(' ').collect();
            let mut i = 0;
            while words.get(i) == Some(&"-c") {
                i += 2;
            }
            words.get(i).unwrap_or(&"").to_string()
        })
        .collect()
}

#[tokio::test]
async fn a_cold_module_costs_one_git_process_and_a_second_version_none() {
    let w = World::new();
    w.init("cheap");
    let (a, ta) = w.commit("cheap", &[("go.mod", "module github.com/gen/cheap\n")]);
    w.git("cheap", &["tag", "-a", "-m", "release", "v1.0.0"]);
    let (b, tb) = w.commit("cheap", &[("x.go", "package cheap\n")]);
    w.git("cheap", &["tag", "v1.1.0"]);
    // A tag of an annotated tag: listed peeled to its commit, as git ls-remote shows it.
    w.commit("cheap", &[("y.go", "package cheap\n")]);
    w.git("cheap", &["tag", "-a", "-m", "inner", "inner"]);
    w.git("cheap", &["tag", "-a", "-m", "outer", "v1.2.0", "inner"]);
    let (env, log) = counting_git(&w);
    let mut s = w.settings();
    s.refs_ttl = Duration::from_secs(600);
    s.git_env = env.clone();
    let src = GitSource::new(s).unwrap();
    let p = "github.com/gen/cheap";

    let i = src.stat(p, "v1.0.0").await.unwrap();
    assert_eq!((i.version.as_str(), time(&i)), ("v1.0.0", rfc(ta)));
    assert_eq!(origin_hash(&i), a.as_str());
    assert_eq!(
        src.go_mod(p, "v1.0.0").await.unwrap(),
        b"module github.com/gen/cheap\n"
    );
    src.zip(p, "v1.0.0", &w.path("zips").join("a.zip"))
        .await
        .unwrap();
    // The clone's refs come from its packed-refs file, the tag of a tag peeled fully there;
    // the commit, its go.mod and the zip's files are read in-process. Where attribute files
    // are is asked of git once per source (and again after 30 s).
    assert_eq!(
        git_commands(&log),
        ["clone", "config", "--exec-path"],
        "clone (the refs read from its packed-refs), where attribute files are"
    );

    std::fs::remove_file(&log).unwrap();
    let i = src.stat(p, "v1.1.0").await.unwrap();
    assert_eq!((i.version.as_str(), time(&i)), ("v1.1.0", rfc(tb)));
    assert_eq!(origin_hash(&i), b.as_str());
    src.go_mod(p, "v1.1.0").await.unwrap();
    src.zip(p, "v1.1.0", &w.path("zips").join("b.zip"))
        .await
        .unwrap();
    assert_eq!(git_commands(&log), Vec::<String>::new());

    // A commit with a .gitattributes file: git makes its archive.
    w.commit("cheap", &[(".gitattributes", "*.go ident\n")]);
    w.git("cheap", &["tag", "v1.3.0"]);
    let mut s = w.settings();
    s.git_env = env;
    let src = GitSource::new(s).unwrap();
    let _ = std::fs::remove_file(&log);
    src.zip(p, "v1.3.0", &w.path("zips").join("c.zip"))
        .await
        .unwrap();
    let ran = git_commands(&log);
    assert_eq!(ran.iter().filter(|c| *c == "archive").count(), 1, "{ran:?}");
    // The only cat-file is the fetch's check for the remote's commits (`-e`).
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("cat-file --batch") && !text.contains("cat-file blob"),
        "{text}"
    );

    // Everything answered agrees with the go command, the tag of a tag included.
    let src = w.source();
    w.same_as_go(&src, p, "v1.0.0").await;
    w.same_as_go(&src, p, "v1.1.0").await;
    w.same_as_go(&src, p, "v1.2.0").await;
    w.same_as_go(&src, p, "v1.3.0").await;
    assert_eq!(
        lines(src.list(p).await.unwrap()),
        ["v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0"]
    );
}

/// The versions of an `@v/list` body, a line each.
fn lines(body: bytes::Bytes) -> Vec<String> {
    String::from_utf8(body.to_vec())
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// The `Time` of an `.info` body, as RFC 3339 in UTC.
fn time(i: &Info) -> String {
    gomod::info::parse(&i.json)
        .unwrap()
        .time
        .map(gomod::timestamp::Instant::format_rfc3339_nano)
        .unwrap_or_default()
}

/// The `Origin.Hash` of an `.info` body.
fn origin_hash(i: &Info) -> String {
    gomod::info::parse(&i.json)
        .unwrap()
        .origin
        .map(|o| o.hash)
        .unwrap_or_default()
}

#[tokio::test]
async fn a_clone_keeping_its_refs_in_a_reftable_is_listed_by_git() {
    let w = World::new();
    w.init("table");
    let (a, ta) = w.commit("table", &[("go.mod", "module github.com/gen/table\n")]);
    w.git("table", &["tag", "-a", "-m", "release", "v1.0.0"]);
    w.commit("table", &[("x.go", "package table\n")]);
    w.git("table", &["tag", "v1.1.0"]);
    // The user's git makes reftable repositories (git 2.45 and later; older ones keep
    // packed-refs whatever this says): no packed-refs file to read, so git lists them.
    let probe = w.path("probe");
    let reftable = Command::new("git")
        .args(["init", "-q", "--ref-format=reftable"])
        .arg(&probe)
        .output()
        .unwrap()
        .status
        .success();
    w.add_config("[init]\n\tdefaultRefFormat = reftable\n");
    let (env, log) = counting_git(&w);
    let mut s = w.settings();
    s.refs_ttl = Duration::from_secs(600);
    s.git_env = env;
    let src = GitSource::new(s).unwrap();
    let p = "github.com/gen/table";
    let i = src.stat(p, "v1.0.0").await.unwrap();
    assert_eq!((i.version.as_str(), time(&i)), ("v1.0.0", rfc(ta)));
    assert_eq!(origin_hash(&i), a.as_str());
    assert_eq!(
        src.go_mod(p, "v1.0.0").await.unwrap(),
        b"module github.com/gen/table\n"
    );
    // The commit and its go.mod are read in-process from either.
    let want: &[&str] = match reftable {
        true => &["clone", "for-each-ref"],
        false => &["clone"],
    };
    assert_eq!(git_commands(&log), want, "reftable known: {reftable}");
    w.same_as_go(&src, p, "v1.0.0").await;
    w.same_as_go(&src, p, "v1.1.0").await;
    assert_eq!(lines(src.list(p).await.unwrap()), ["v1.0.0", "v1.1.0"]);
}

#[tokio::test]
async fn a_remote_whose_head_names_no_branch_is_served_from_its_tags() {
    let w = World::new();
    w.init("headless");
    let (a, ta) = w.commit(
        "headless",
        &[("go.mod", "module github.com/gen/headless\n")],
    );
    w.git("headless", &["tag", "v1.0.0"]);
    // HEAD names a branch that does not exist: a clone asking for HEAD fails, and the
    // source lists the remote and fetches what it has.
    w.git("headless", &["symbolic-ref", "HEAD", "refs/heads/gone"]);
    let src = w.source();
    let p = "github.com/gen/headless";
    let i = src.stat(p, "v1.0.0").await.unwrap();
    assert_eq!((i.version.as_str(), time(&i)), ("v1.0.0", rfc(ta)));
    assert_eq!(origin_hash(&i), a.as_str());
    assert_eq!(lines(src.list(p).await.unwrap()), ["v1.0.0"]);
    w.same_as_go(&src, p, "v1.0.0").await;
    w.same_as_go(&src, p, "latest").await;
}
