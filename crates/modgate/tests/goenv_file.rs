//! The go command's settings where `go env -w` puts them (the GOENV file), and nothing
//! exported: `modgate prefetch`, `trace` and `doctor` act on exactly those settings. A
//! project needs a public module (served by a recording upstream, the file's GOPROXY) and
//! a private one (`GOPRIVATE=github.com/corp` in the file, fetched with git from a local
//! repository). A dead HTTPS_PROXY catches what would go to the go command's default
//! proxy: neither it nor the upstream may ever see the private module.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::serve_common::upstream::Upstream;
use crate::serve_common::*;

const T1: &str = "2024-01-02T03:04:05Z";
const PUB_MOD: &str = "/example.com/pub/@v/v1.0.0.mod";

fn modgate() -> PathBuf {
    env!("CARGO_BIN_EXE_modgate").into()
}

/// A proxy that answers nothing: it counts the connections made to it and closes them.
struct DeadProxy {
    url: String,
    connections: Arc<AtomicUsize>,
}

impl DeadProxy {
    fn start() -> DeadProxy {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&connections);
        std::thread::spawn(move || {
            for conn in l.incoming() {
                c.fetch_add(1, Ordering::SeqCst);
                drop(conn);
            }
        });
        DeadProxy { url, connections }
    }
}

/// The world of one test: the upstream, the dead proxy, the private repository and the
/// project, and a home whose GOENV file the real go command wrote.
struct World {
    dir: tempfile::TempDir,
    upstream: Upstream,
    proxy: DeadProxy,
    gitconfig: PathBuf,
    project: PathBuf,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let tree = Tree::new(d.join("up"));
        tree.add(
            "example.com/pub",
            "v1.0.0",
            T1,
            &[("pub.go", "package pub\n")],
        );
        let upstream = Upstream::start(&tree.root);
        let proxy = DeadProxy::start();
        let (repo, gitconfig) = local_github_repo(d, "corp/lib");
        std::fs::write(
            repo.join("go.mod"),
            "module github.com/corp/lib\n\ngo 1.21\n",
        )
        .unwrap();
        std::fs::write(repo.join("lib.go"), "package lib\n").unwrap();
        for args in [
            &["add", "."][..],
            &["commit", "-qm", "lib"],
            &["tag", "v1.0.0"],
        ] {
            testkit::git_with(&repo, args, Some(&gitconfig), T1);
        }
        let project = d.join("app");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::write(
            project.join("go.mod"),
            "module example.com/app\n\ngo 1.21\n\nrequire (\n\texample.com/pub v1.0.0\n\tgithub.com/corp/lib v1.0.0\n)\n",
        )
        .unwrap();
        let w = World {
            dir,
            upstream,
            proxy,
            gitconfig,
            project,
        };
        // The settings, written by the go command itself into $HOME/.config/go/env.
        let out = run_bounded(
            w.command(&go_binary(), true).args([
                "env",
                "-w",
                &format!("GOPROXY={}", w.upstream.url),
                "GOPRIVATE=github.com/corp",
                "GOSUMDB=off",
                "GOTOOLCHAIN=local",
                "GOFLAGS=-modcacherw",
            ]),
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let file = std::fs::read_to_string(w.home().join(".config/go/env")).unwrap();
        assert!(file.contains("GOPRIVATE=github.com/corp\n"), "{file}");
        w
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `program` with nothing of the go command's settings in its environment: a home,
    /// git's config, the dead proxy, and a PATH with the go command on it or not.
    fn command(&self, program: &Path, go_on_path: bool) -> Command {
        let mut c = Command::new(program);
        let go_dir = go_binary().parent().unwrap().display().to_string();
        c.env_clear()
            .current_dir(&self.project)
            .env(
                "PATH",
                match go_on_path {
                    true => format!("{go_dir}:/usr/bin:/bin"),
                    false => "/usr/bin:/bin".into(),
                },
            )
            .env("HOME", self.home())
            .env("GIT_CONFIG_GLOBAL", &self.gitconfig)
            .env("HTTPS_PROXY", &self.proxy.url);
        c
    }

    fn run(&self, args: &[&str], go_on_path: bool) -> Output {
        run_bounded(
            self.command(&modgate(), go_on_path).args(args),
            Duration::from_secs(120),
        )
    }

    /// Nothing saw the private module, nothing reached the dead proxy.
    fn nothing_leaked(&self, what: &str) {
        let corp: Vec<_> = self
            .upstream
            .counts()
            .into_iter()
            .filter(|(p, _)| p.contains("corp"))
            .collect();
        assert_eq!(
            corp,
            Vec::new(),
            "{what}: the upstream was asked for the private module"
        );
        assert_eq!(
            self.proxy.connections.load(Ordering::SeqCst),
            0,
            "{what}: a request went to HTTPS_PROXY (the go command's default GOPROXY)"
        );
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn prefetch_uses_the_goenv_files_settings_with_and_without_a_go_command() {
    let w = World::new();
    for go_on_path in [true, false] {
        let data = w.dir.path().join(format!("data-{go_on_path}"));
        let before = w.upstream.count(PUB_MOD);
        let out = w.run(
            &["prefetch", "--data-dir", data.to_str().unwrap(), "--json"],
            go_on_path,
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["errors"], serde_json::json!({}), "{report}");
        // The file's GOPROXY served the public module; git the private one.
        assert_eq!(
            w.upstream.count(PUB_MOD),
            before + 1,
            "go on PATH: {go_on_path}"
        );
        let download = data.join("cache/download");
        for f in [
            "example.com/pub/@v/v1.0.0.zip",
            "github.com/corp/lib/@v/v1.0.0.zip",
            "github.com/corp/lib/@v/v1.0.0.mod",
        ] {
            assert!(download.join(f).is_file(), "{f}, go on PATH: {go_on_path}");
        }
        w.nothing_leaked(&format!("prefetch, go on PATH: {go_on_path}"));
    }
}

#[test]
fn trace_uses_the_goenv_files_goproxy() {
    let w = World::new();
    let records = w.dir.path().join("t.json");
    let out = w.run(
        &[
            "trace",
            "--json",
            records.to_str().unwrap(),
            "--",
            go_binary().to_str().unwrap(),
            "mod",
            "download",
        ],
        true,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(w.upstream.count(PUB_MOD), 1);
    assert_eq!(w.upstream.count("/example.com/pub/@v/v1.0.0.zip"), 1);
    let records: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&records).unwrap()).unwrap();
    let paths: Vec<String> = records["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(paths.iter().any(|p| p.ends_with(PUB_MOD)), "{paths:?}");
    assert!(!paths.iter().any(|p| p.contains("corp")), "{paths:?}");
    w.nothing_leaked("trace");
}

#[test]
fn doctor_uses_the_goenv_files_settings() {
    let w = World::new();
    let out = w.run(&["doctor", "--json", "--timeout", "30s"], true);
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    // The file's GOPROXY was asked for the public requirement.
    assert_eq!(w.upstream.count(PUB_MOD), 1, "{report:#}");
    w.nothing_leaked("doctor");
}

/// A project asking for a Go the go command cannot fetch (GOTOOLCHAIN=auto, GOPROXY=off):
/// `go env` itself fails in the project (it tries to switch toolchains); the doctor reads
/// the settings where it was started instead, and names the cause.
#[test]
fn doctor_names_a_toolchain_the_go_command_cannot_fetch() {
    let w = World::new();
    let project = w.dir.path().join("newer");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("go.mod"),
        "module example.com/newer\n\ngo 1.99\n",
    )
    .unwrap();
    // Started elsewhere, and in the project itself.
    for cwd in [w.dir.path(), project.as_path()] {
        let out = run_bounded(
            w.command(&modgate(), true)
                .current_dir(cwd)
                .env("GOTOOLCHAIN", "auto")
                .env("GOPROXY", "off")
                .args(["doctor", "--json", "--timeout", "30s"])
                .arg(&project),
            Duration::from_secs(120),
        );
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            report.contains("go.mod asks for go1.99; this go is go1.23")
                && report.contains("and GOPROXY=off"),
            "{report}"
        );
    }
}
