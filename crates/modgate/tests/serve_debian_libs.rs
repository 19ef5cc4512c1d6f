//! `modgate serve --upstream direct` against the go command's own `GOPROXY=direct`, over real
//! Go libraries: the source Debian's golang-*-dev packages install under
//! /usr/share/gocode/src (scripts/install-deps installs them) becomes one local git repository
//! per library, tagged with the package's upstream version, reached through
//! `url.<file URL>.insteadOf` in a git config both the go command and modgate use.
//!
//! gopkg.in paths have no entry in the go command's static host table: the go command reaches
//! them through `?go-get=1` discovery on gopkg.in itself. Offline, both sides are pointed at a
//! loopback HTTP proxy (HTTP_PROXY/HTTPS_PROXY) that refuses CONNECT (so https discovery
//! fails) and answers the plain-http `?go-get=1` request with the meta tag gopkg.in serves;
//! GOINSECURE (modgate: `[direct] insecure`) allows that http fallback. The tag names
//! `https://gopkg.in/yaml.v3`, which the git config rewrites to the local repository.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::serve_common::*;

const GOCODE: &str = "/usr/share/gocode/src";

/// A library from Debian: its package, its directory under /usr/share/gocode/src (= the
/// repository's import path root), and the commit date of its one commit.
struct Lib {
    package: &'static str,
    root: &'static str,
    date: &'static str,
}

const LIBS: &[Lib] = &[
    Lib {
        package: "golang-github-stretchr-testify-dev",
        root: "github.com/stretchr/testify",
        date: "2022-10-17T10:00:00Z",
    },
    Lib {
        package: "golang-github-davecgh-go-spew-dev",
        root: "github.com/davecgh/go-spew",
        date: "2018-02-21T23:26:28Z",
    },
    Lib {
        package: "golang-github-pmezard-go-difflib-dev",
        root: "github.com/pmezard/go-difflib",
        date: "2016-01-10T10:55:54Z",
    },
    Lib {
        package: "golang-github-stretchr-objx-dev",
        root: "github.com/stretchr/objx",
        date: "2022-09-20T12:00:00Z",
    },
    Lib {
        package: "golang-gopkg-yaml.v3-dev",
        root: "gopkg.in/yaml.v3",
        date: "2022-05-27T08:35:30Z",
    },
    Lib {
        package: "golang-github-google-uuid-dev",
        root: "github.com/google/uuid",
        date: "2021-07-12T22:33:52Z",
    },
    Lib {
        package: "golang-github-pkg-errors-dev",
        root: "github.com/pkg/errors",
        date: "2020-01-14T19:47:44Z",
    },
    Lib {
        package: "golang-github-gorilla-mux-dev",
        root: "github.com/gorilla/mux",
        date: "2020-08-22T15:11:03Z",
    },
    // 1.0.6~git20210604-d5e0c0615ace: an untagged snapshot, reached by a pseudo-version.
    Lib {
        package: "golang-github-spf13-pflag-dev",
        root: "github.com/spf13/pflag",
        date: "2021-06-04T10:11:12Z",
    },
    // go.mod says github.com/cespare/xxhash/v2 at the repository root.
    Lib {
        package: "golang-github-cespare-xxhash-dev",
        root: "github.com/cespare/xxhash",
        date: "2019-10-29T01:42:51Z",
    },
    // go.mod says github.com/go-chi/chi/v5 at the repository root.
    Lib {
        package: "golang-github-go-chi-chi-dev",
        root: "github.com/go-chi/chi",
        date: "2021-11-19T15:38:27Z",
    },
    // v4.3.1 without a go.mod: v4.3.1+incompatible.
    Lib {
        package: "golang-github-gofrs-uuid-dev",
        root: "github.com/gofrs/uuid",
        date: "2022-10-05T17:00:00Z",
    },
    // go mod tidy loads the tests of every package in "all": yaml.v3's tests import
    // gopkg.in/check.v1 (0.0+git20200902.038fdea: an untagged snapshot, a pseudo-version, no
    // go.mod), which imports kr/pretty, which imports kr/text and go-internal/fmtsort.
    Lib {
        package: "golang-gopkg-check.v1-dev",
        root: "gopkg.in/check.v1",
        date: "2020-09-02T03:04:05Z",
    },
    Lib {
        package: "golang-github-kr-pretty-dev",
        root: "github.com/kr/pretty",
        date: "2021-07-20T08:00:00Z",
    },
    Lib {
        package: "golang-github-kr-text-dev",
        root: "github.com/kr/text",
        date: "2020-02-14T20:24:24Z",
    },
    Lib {
        package: "golang-github-rogpeppe-go-internal-dev",
        root: "github.com/rogpeppe/go-internal",
        date: "2022-08-24T09:00:00Z",
    },
];

/// The semver tag for a Debian package version: epoch, Debian revision and repack suffixes
/// (`+ds`, `+dfsg`) dropped; `None` for snapshots of untagged commits (`~git`).
fn upstream_tag(deb: &str) -> Option<String> {
    let v = deb.split_once(':').map_or(deb, |(_, v)| v);
    let v = v.rsplit_once('-').map_or(v, |(u, _)| u);
    if v.contains("~git") || v.contains("+git") {
        return None;
    }
    let v = v.split('+').next().unwrap_or(v);
    let tag = format!("v{v}");
    assert!(
        gomod::semver::is_valid(&tag) && gomod::semver::canonical(&tag) == tag,
        "Debian version {deb} does not map to a canonical semver tag ({tag})"
    );
    Some(tag)
}

fn deb_version(package: &str) -> String {
    let out = run_bounded(
        Command::new("dpkg-query").args(["-W", "-f=${Version}", package]),
        Duration::from_secs(30),
    );
    assert!(
        out.status.success(),
        "{package} is not installed: run scripts/install-deps ({})",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn git(dir: &Path, config: &Path, args: &[&str], date: &str) -> String {
    testkit::git_with(dir, args, Some(config), date)
}

/// Copies the Debian tree of `lib` into `repos/<root>`, commits it with `lib.date` and tags it.
/// Returns the tag (or None) and the commit hash.
fn make_repo(repos: &Path, config: &Path, lib: &Lib) -> (Option<String>, String) {
    let src = Path::new(GOCODE).join(lib.root);
    assert!(
        src.is_dir(),
        "{} is missing: run scripts/install-deps ({})",
        src.display(),
        lib.package
    );
    let dst = repos.join(lib.root);
    std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
    let out = run_bounded(
        Command::new("cp").arg("-a").arg(&src).arg(&dst),
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "cp {}: {out:?}", src.display());
    let tag = upstream_tag(&deb_version(lib.package));
    git(&dst, config, &["init", "-q"], lib.date);
    git(&dst, config, &["add", "-A", "."], lib.date);
    git(
        &dst,
        config,
        &["commit", "-qm", &format!("{} from Debian", lib.package)],
        lib.date,
    );
    if let Some(t) = &tag {
        git(&dst, config, &["tag", t], lib.date);
    }
    let rev = git(&dst, config, &["rev-parse", "HEAD"], lib.date);
    (tag, rev.trim().to_string())
}

/// A loopback HTTP proxy standing in for gopkg.in's `?go-get=1` pages: CONNECT (https) is
/// refused; `GET http://gopkg.in/NAME?go-get=1` answers the go-import meta tag gopkg.in
/// serves. Records each request line with its User-Agent.
fn start_discovery_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let seen = seen2.clone();
            std::thread::spawn(move || {
                let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
                let mut buf = Vec::new();
                let mut b = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match c.read(&mut b) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&b[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let line = head.lines().next().unwrap_or("").to_string();
                let agent = head
                    .lines()
                    .find_map(|l| {
                        l.split_once(':')
                            .filter(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
                            .map(|(_, v)| v.trim().to_string())
                    })
                    .unwrap_or_default();
                seen.lock().unwrap().push(format!("{line} | {agent}"));
                let mut parts = line.split(' ');
                let method = parts.next().unwrap_or("");
                let target = parts.next().unwrap_or("");
                let resp = match target
                    .strip_prefix("http://gopkg.in/")
                    .and_then(|t| t.strip_suffix("?go-get=1"))
                {
                    Some(name) if method == "GET" && !name.contains(['"', '<', '>']) => {
                        let body = format!(
                            "<html><head>\n<meta name=\"go-import\" content=\"gopkg.in/{name} git https://gopkg.in/{name}\">\n</head><body>go get gopkg.in/{name}</body></html>\n"
                        );
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        )
                    }
                    _ => "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_string(),
                };
                let _ = c.write_all(resp.as_bytes());
            });
        }
    });
    (addr, seen)
}

const MAIN_GO: &str = r#"package main

import (
	"fmt"

	xxhash "github.com/cespare/xxhash/v2"
	chi "github.com/go-chi/chi/v5"
	gofrsuuid "github.com/gofrs/uuid"
	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/pkg/errors"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"gopkg.in/yaml.v3"
)

func main() {
	fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
	name := fs.String("name", "debian", "a name")
	_ = fs.Parse(nil)
	out, _ := yaml.Marshal(map[string]string{"name": *name})
	fmt.Print(string(out))
	fmt.Println(xxhash.Sum64String(*name), uuid.NewSHA1(uuid.NameSpaceURL, []byte(*name)))
	fmt.Println(gofrsuuid.NewV5(gofrsuuid.NamespaceURL, *name))
	fmt.Println(errors.Wrap(fmt.Errorf("inner"), "outer"))
	_ = mux.NewRouter()
	_ = chi.NewRouter()
	_ = assert.ObjectsAreEqual(1, 1)
}
"#;

/// go.mod of the main module before tidy. The excludes drop the requirements in the graph
/// that name versions Debian does not package (requirements on excluded versions are
/// ignored): objx v0.5.0 requires testify v1.8.0 (v1.8.1 is packaged); yaml.v3 v3.0.1
/// requires a check.v1 pseudo-version of another commit than the packaged snapshot; kr/pretty
/// v0.3.0 requires go-internal v1.6.1 (v1.9.0 is packaged); kr/text v0.2.0 requires
/// creack/pty v1.1.9; go-internal v1.9.0 requires a pkg/diff pseudo-version.
const MAIN_GO_MOD: &str = "module example.com/debianlibs

go 1.21

exclude (
	github.com/creack/pty v1.1.9
	github.com/pkg/diff v0.0.0-20210226163009-20ebb0f2a09e
	github.com/rogpeppe/go-internal v1.6.1
	github.com/stretchr/testify v1.8.0
	gopkg.in/check.v1 v0.0.0-20161208181325-20d25e280405
)
";

fn ok(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What one run of the go command produced.
struct Run {
    go_mod: String,
    go_sum: String,
    /// Path, Version, Sum, GoModSum, Time of every module of `go mod download -json all`.
    downloads: Vec<[String; 5]>,
    /// Path, Version, Versions, Time, Indirect of `go list -m -versions -json` of them.
    listed: Vec<String>,
    times: Vec<(String, Duration)>,
    /// The files the go command keeps per version in its module cache (`.info`, `.mod`,
    /// `.zip`, `.ziphash` under `cache/download`), by path.
    cached: std::collections::BTreeMap<String, Vec<u8>>,
}

/// The `.info`, `.mod`, `.zip` and `.ziphash` files under `modcache/cache/download`.
fn cached_files(modcache: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let root = modcache.join("cache/download");
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .is_some_and(|x| ["info", "mod", "zip", "ziphash"].iter().any(|w| x == *w))
            {
                let rel = p.strip_prefix(&root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// `go mod tidy`, `go mod download -json all` and, if `build`, `go build ./...` in a new main
/// module under `base`, with a fresh module cache.
fn run_go(env: &[(&str, &str)], proxy: &str, base: &Path, build: bool) -> Run {
    let goenv = GoEnv::with_env(env);
    eprintln!("GOPROXY={proxy}: GOMODCACHE {}", goenv.modcache().display());
    let main = base.join("main");
    std::fs::create_dir_all(&main).unwrap();
    std::fs::write(main.join("go.mod"), MAIN_GO_MOD).unwrap();
    std::fs::write(main.join("main.go"), MAIN_GO).unwrap();
    let mut times = Vec::new();
    let t = Instant::now();
    ok(
        &goenv.go(&main, proxy, &["mod", "tidy"]),
        &format!("go mod tidy via {proxy}"),
    );
    times.push(("go mod tidy".to_string(), t.elapsed()));
    let t = Instant::now();
    let out = goenv.go(&main, proxy, &["mod", "download", "-json", "all"]);
    ok(&out, &format!("go mod download -json all via {proxy}"));
    times.push(("go mod download all".to_string(), t.elapsed()));
    let mut downloads: Vec<[String; 5]> = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<serde_json::Value>()
        .map(|v| {
            let v = v.unwrap();
            let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
            assert!(v.get("Error").is_none(), "download error via {proxy}: {v}");
            let info: serde_json::Value =
                serde_json::from_slice(&std::fs::read(s("Info")).unwrap()).unwrap();
            [
                s("Path"),
                s("Version"),
                s("Sum"),
                s("GoModSum"),
                info["Time"].as_str().unwrap_or("").to_string(),
            ]
        })
        .collect();
    downloads.sort();
    // Lists (`@v/list`) and .info of every module of the build list but the main one.
    let mut args = vec!["list", "-m", "-versions", "-json"];
    args.extend(downloads.iter().map(|d| d[0].as_str()));
    let out = goenv.go(&main, proxy, &args);
    ok(&out, &format!("go list -m -versions -json via {proxy}"));
    let listed: Vec<String> = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<serde_json::Value>()
        .map(|v| {
            let v = v.unwrap();
            format!(
                "{} {} {} {} {}",
                v["Path"], v["Version"], v["Versions"], v["Time"], v["Indirect"]
            )
        })
        .collect();
    if build {
        let t = Instant::now();
        ok(
            &goenv.go(&main, proxy, &["build", "./..."]),
            &format!("go build ./... via {proxy}"),
        );
        times.push(("go build".to_string(), t.elapsed()));
    }
    Run {
        go_mod: std::fs::read_to_string(main.join("go.mod")).unwrap(),
        go_sum: std::fs::read_to_string(main.join("go.sum")).unwrap(),
        downloads,
        listed,
        times,
        cached: cached_files(&goenv.modcache()),
    }
}

#[test]
fn debian_libraries_through_modgate_equal_go_direct() {
    let start = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let repos = tmp.path().join("repos");
    let config = tmp.path().join("gitconfig");
    std::fs::write(
        &config,
        format!(
            "[url \"file://{r}/github.com/\"]\n\tinsteadOf = https://github.com/\n[url \"file://{r}/gopkg.in/\"]\n\tinsteadOf = https://gopkg.in/\n[init]\n\tdefaultBranch = master\n[protocol \"file\"]\n\tallow = always\n",
            r = repos.display()
        ),
    )
    .unwrap();
    let mut revs = Vec::new();
    for lib in LIBS {
        revs.push((lib.root, make_repo(&repos, &config, lib)));
    }
    let setup = start.elapsed();

    let (proxy_addr, seen) = start_discovery_proxy();
    let proxy_url = format!("http://{proxy_addr}");
    let cfg = config.to_str().unwrap();
    let env = [
        ("GIT_CONFIG_GLOBAL", cfg),
        ("GIT_CONFIG_NOSYSTEM", "1"),
        ("HTTP_PROXY", proxy_url.as_str()),
        ("HTTPS_PROXY", proxy_url.as_str()),
        ("NO_PROXY", "127.0.0.1,localhost,::1"),
    ];
    // Its own build cache, kept out of the per-run directories (only the modgate run builds).
    let gocache = tmp.path().join("gocache");
    let gocache = gocache.to_str().unwrap();
    let mut go_env = env.to_vec();
    go_env.push(("GOINSECURE", "gopkg.in"));
    go_env.push(("GOCACHE", gocache));

    let t = Instant::now();
    let direct = run_go(&go_env, "direct", &tmp.path().join("direct"), false);
    let direct_total = t.elapsed();

    let data = tmp.path().join("data");
    let conf = tmp.path().join("modgate.toml");
    std::fs::write(&conf, "[direct]\ninsecure = \"gopkg.in\"\n").unwrap();
    let server = Server::start_env(
        &[
            "--config",
            conf.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--upstream",
            "direct",
        ],
        &env,
    );
    let t = Instant::now();
    let through = run_go(&go_env, &server.url(), &tmp.path().join("through"), true);
    let through_total = t.elapsed();

    eprintln!(
        "repos {setup:?}; GOPROXY=direct {direct_total:?} {:?}; modgate {through_total:?} {:?}",
        direct.times, through.times
    );
    assert_eq!(
        through.go_mod,
        direct.go_mod,
        "go.mod differs\n{}",
        server.log_text()
    );
    assert_eq!(
        through.go_sum,
        direct.go_sum,
        "go.sum differs\n{}",
        server.log_text()
    );
    assert_eq!(through.downloads, direct.downloads);
    assert_eq!(through.listed, direct.listed);
    // The module cache the go command keeps: the same files, byte for byte (the .info
    // files with the go command's whole Origin: VCS, URL, Subdir, Hash, TagPrefix,
    // TagSum, Ref).
    assert_eq!(
        through.cached.keys().collect::<Vec<_>>(),
        direct.cached.keys().collect::<Vec<_>>()
    );
    // Zips too: modgate builds them from git as the go command does, with Go's archive/zip
    // layout and compress/flate bytes.
    for (path, want) in &direct.cached {
        let got = &through.cached[path];
        if got == want {
            continue;
        }
        if path.ends_with(".zip") {
            panic!(
                "{path} differs: go {} bytes, modgate {} (first difference at {:?})",
                want.len(),
                got.len(),
                got.iter().zip(want).position(|(a, b)| a != b)
            );
        }
        assert_eq!(
            String::from_utf8_lossy(got),
            String::from_utf8_lossy(want),
            "{path} differs"
        );
        panic!("{path} differs in bytes that are not UTF-8");
    }
    // Among them, what -reuse needs: a tag's ref, and a pseudo-version's tags.
    let info = |p: &str| String::from_utf8_lossy(&direct.cached[p]).into_owned();
    assert!(
        info("github.com/google/uuid/@v/v1.3.0.info").contains(r#","Ref":"refs/tags/v1.3.0"}"#),
        "{}",
        info("github.com/google/uuid/@v/v1.3.0.info")
    );
    assert_eq!(direct.listed.len(), 16, "{:#?}", direct.listed);
    let rev12 = |root: &str| revs.iter().find(|(r, _)| *r == root).unwrap().1.1[..12].to_string();
    let check_v1 = info(&format!(
        "gopkg.in/check.v1/@v/v1.0.0-20200902030405-{}.info",
        rev12("gopkg.in/check.v1")
    ));
    // A pseudo-version: the go command keeps neither its tags nor a ref (writeDiskStat).
    assert!(
        check_v1.ends_with(&format!(
            r#""Origin":{{"VCS":"git","URL":"https://gopkg.in/check.v1","Hash":"{}"}}}}"#,
            revs.iter()
                .find(|(r, _)| *r == "gopkg.in/check.v1")
                .unwrap()
                .1
                .1
        )),
        "{check_v1}"
    );
    let pflag = info(&format!(
        "github.com/spf13/pflag/@v/v0.0.0-20210604101112-{}.info",
        rev12("github.com/spf13/pflag")
    ));
    assert!(!pflag.contains("TagSum"), "{pflag}");
    // +incompatible in the list; Time from the tagged commit; imported directly.
    assert_eq!(
        direct.listed[3],
        r#""github.com/gofrs/uuid" "v4.3.1+incompatible" ["v4.3.1+incompatible"] "2022-10-05T17:00:00Z" null"#
    );
    // An untagged gopkg.in .v1 snapshot: no versions listed, a pseudo-version, indirect.
    assert_eq!(
        direct.listed[14],
        format!(
            r#""gopkg.in/check.v1" "v1.0.0-20200902030405-{}" null "2020-09-02T03:04:05Z" true"#,
            rev12("gopkg.in/check.v1")
        )
    );

    // The graph really was fetched: exact versions, including the pseudo-version of the
    // untagged pflag snapshot, /vN at the repository root and +incompatible.
    let versions: Vec<(String, String)> = direct
        .downloads
        .iter()
        .map(|d| (d[0].clone(), d[1].clone()))
        .collect();
    let want = |p: &str, v: &str| (p.to_string(), v.to_string());
    assert_eq!(
        versions,
        vec![
            want("github.com/cespare/xxhash/v2", "v2.1.1"),
            want("github.com/davecgh/go-spew", "v1.1.1"),
            want("github.com/go-chi/chi/v5", "v5.0.7"),
            want("github.com/gofrs/uuid", "v4.3.1+incompatible"),
            want("github.com/google/uuid", "v1.3.0"),
            want("github.com/gorilla/mux", "v1.8.0"),
            want("github.com/kr/pretty", "v0.3.0"),
            want("github.com/kr/text", "v0.2.0"),
            want("github.com/pkg/errors", "v0.9.1"),
            want("github.com/pmezard/go-difflib", "v1.0.0"),
            want("github.com/rogpeppe/go-internal", "v1.9.0"),
            want(
                "github.com/spf13/pflag",
                &format!("v0.0.0-20210604101112-{}", rev12("github.com/spf13/pflag"))
            ),
            want("github.com/stretchr/objx", "v0.5.0"),
            want("github.com/stretchr/testify", "v1.8.1"),
            // gopkg.in .v1: the pseudo-version of an untagged commit is based on v1.0.0.
            want(
                "gopkg.in/check.v1",
                &format!("v1.0.0-20200902030405-{}", rev12("gopkg.in/check.v1"))
            ),
            want("gopkg.in/yaml.v3", "v3.0.1"),
        ]
    );
    assert_eq!(direct.go_sum.lines().count(), 32, "{}", direct.go_sum);
    // Both the go command and modgate discovered the gopkg.in modules through the loopback
    // proxy, after https (CONNECT) failed.
    let seen = seen.lock().unwrap().clone();
    for name in ["yaml.v3", "check.v1"] {
        for agent in ["Go-http-client/", "modgate/"] {
            assert!(
                seen.iter().any(|l| l
                    .starts_with(&format!("GET http://gopkg.in/{name}?go-get=1 HTTP/1.1 | "))
                    && l.contains(agent)),
                "no discovery of gopkg.in/{name} by {agent}: {seen:?}"
            );
        }
    }
    assert!(
        seen.iter().any(|l| l.starts_with("CONNECT gopkg.in:443 ")),
        "{seen:?}"
    );
    assert!(data.join("git").is_dir());
}

#[test]
fn debian_versions_map_to_semver_tags() {
    assert_eq!(upstream_tag("1.8.1-1").as_deref(), Some("v1.8.1"));
    assert_eq!(upstream_tag("2.0.2+ds1-1").as_deref(), Some("v2.0.2"));
    assert_eq!(upstream_tag("1:4.3.1-1").as_deref(), Some("v4.3.1"));
    assert_eq!(upstream_tag("1.0.6~git20210604-d5e0c0615ace-1"), None);
    assert_eq!(upstream_tag("0.0+git20200902.038fdea-1"), None);
}
