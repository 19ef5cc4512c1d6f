//! Test support shared by the integration tests of every crate: the reference go command,
//! processes run with a time bound, git with a fixed identity, mounts (`mount`), Redis
//! and SeaweedFS started on loopback.

pub mod mount;
pub mod redis;
pub mod seaweed;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The reference go command: `$MODGATE_GO`, else Debian's golang-1.23-go.
pub fn go_binary() -> PathBuf {
    let go = std::env::var_os("MODGATE_GO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/go-1.23/bin/go"));
    assert!(
        go.is_file(),
        "the reference go command {} is missing: run scripts/install-deps (installs golang-1.23-go) or set MODGATE_GO",
        go.display()
    );
    go
}

/// Runs `cmd` to completion, killing it after `limit`; panics with its output when it overran.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let err = err_reader.join().unwrap_or_default();
            panic!(
                "{cmd:?} did not finish within {limit:?}; stderr:\n{}",
                String::from_utf8_lossy(&err)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

/// Runs git in `dir` with a fixed identity and commit date, and no user or system
/// configuration.
pub fn git(dir: &Path, args: &[&str]) {
    git_with(dir, args, None, "2024-01-02T03:04:05Z");
}

/// Runs git in `dir` with a fixed identity, the commit date `date`, no system
/// configuration and `config` as the user's (none when `None`); bounded to 60 s. Its
/// standard output, or a panic naming the command and git's error.
pub fn git_with(dir: &Path, args: &[&str], config: Option<&Path>, date: &str) -> String {
    let out = run_bounded(
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env(
                "GIT_CONFIG_GLOBAL",
                config.unwrap_or(Path::new("/dev/null")),
            )
            .env("GIT_AUTHOR_NAME", "gen")
            .env("GIT_AUTHOR_EMAIL", "gen@example.com")
            .env("GIT_COMMITTER_NAME", "gen")
            .env("GIT_COMMITTER_EMAIL", "gen@example.com")
            .env("GIT_AUTHOR_DATE", date)
            .env("GIT_COMMITTER_DATE", date),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "git {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A port on 127.0.0.1 that was free a moment ago (bound, then released): for a server a
/// test is about to start, or as a port nothing listens on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}
