//! Running the `git` binary through the one bounded runner ([`crate::process`]): in its own
//! process group with stdin closed, bounded in time and in output size, killed with its
//! whole process group (remote helpers, ssh) when it overruns either.
//!
//! What git may ask interactively is a setting, [`Prompting`]. The proxy's git never
//! prompts ([`Prompting::Never`]): every call gets an environment that forbids it
//! (`GIT_TERMINAL_PROMPT=0`, an empty `GIT_ASKPASS`, which git takes as "no askpass
//! program" and then refuses to prompt on the terminal, no `SSH_ASKPASS`,
//! `GCM_INTERACTIVE=never`), whatever the environment says. The doctor's git runs as the go
//! command runs it ([`Prompting::AsGoCommand`]): those defaults only where the user set
//! nothing, so that it sees what the go command's git sees. Either way ssh runs in
//! `BatchMode` unless the user chose an ssh command, and the user's git configuration
//! (credential helpers, `insteadOf` rules, ssh keys) is honoured: the environment is
//! inherited otherwise.

use std::path::Path;
use std::time::Duration;

use tokio::process::Command;

use crate::process::{self, Bounds, ProcessError};

/// Why a git command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdError {
    /// git did not run to its exit: it could not be started, or it was killed at its time
    /// or output bound ([`ProcessError::Timeout`] is the one kind of timeout).
    Run(ProcessError),
    /// The watched directory grew over its bound while git ran; git was killed.
    DiskLimit(u64),
    /// git exited unsuccessfully: its exit code (None when killed by a signal) and stderr.
    Exit(Option<i32>, String),
}

impl CmdError {
    /// The exit code, when git exited normally with a failure.
    pub fn code(&self) -> Option<i32> {
        match self {
            CmdError::Exit(c, _) => *c,
            _ => None,
        }
    }

    /// The stderr git wrote (empty for errors that are not exits).
    pub fn stderr(&self) -> &str {
        match self {
            CmdError::Exit(_, s) => s,
            _ => "",
        }
    }
}

impl std::fmt::Display for CmdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CmdError::Run(ProcessError::Spawn(e)) => {
                write!(f, "cannot run git: {e} (is git installed and on PATH?)")
            }
            CmdError::Run(ProcessError::Timeout { after, .. }) => {
                write!(f, "git timed out after {}s and was killed", after.as_secs())
            }
            CmdError::Run(ProcessError::TooLarge(n)) => {
                write!(f, "git output exceeded {n} bytes and was stopped")
            }
            CmdError::Run(ProcessError::Stopped) => write!(f, "git was stopped"),
            CmdError::Run(ProcessError::Io(_, e)) => write!(f, "reading git output: {e}"),
            CmdError::DiskLimit(n) => {
                write!(
                    f,
                    "the clone grew over {n} bytes while git ran; git was stopped"
                )
            }
            CmdError::Exit(code, stderr) => {
                let stderr = stderr.trim();
                match code {
                    Some(c) => write!(f, "git exited with status {c}")?,
                    None => write!(f, "git was killed by a signal")?,
                }
                if !stderr.is_empty() {
                    write!(f, ": {stderr}")?;
                }
                Ok(())
            }
        }
    }
}

/// What git may ask interactively, and how much of the caller's git environment it sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompting {
    /// The proxy's git: never prompts, whatever the environment (or [`Runner::env`]) says:
    /// `GIT_TERMINAL_PROMPT=0`, an empty `GIT_ASKPASS`, no `SSH_ASKPASS`,
    /// `GCM_INTERACTIVE=never`; the caller's `GIT_DIR`, `GIT_WORK_TREE` and
    /// `GIT_INDEX_FILE` removed.
    Never,
    /// As the go command runs git (the doctor, which must see what it sees):
    /// `GIT_TERMINAL_PROMPT=0` and `GCM_INTERACTIVE=never` only where the user set
    /// neither; the environment otherwise the user's.
    AsGoCommand,
}

/// How to run git: the time bound of one call, and its environment.
#[derive(Debug, Clone)]
pub struct Runner {
    /// The bound on each call's wall-clock time.
    pub timeout: Duration,
    /// Extra environment for every call, applied over the inherited one.
    pub env: Vec<(String, String)>,
    /// What git may ask interactively.
    pub prompting: Prompting,
}

impl Runner {
    /// The proxy's runner: calls bounded by `timeout`, `env` over the inherited
    /// environment, never a prompt ([`Prompting::Never`]).
    pub fn new(timeout: Duration, env: Vec<(String, String)>) -> Runner {
        Runner {
            timeout,
            env,
            prompting: Prompting::Never,
        }
    }

    fn command(&self, dir: Option<&Path>, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.args(args);
        if let Some(dir) = dir {
            cmd.current_dir(dir);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let set = |k: &str| std::env::var_os(k).is_some() || self.env.iter().any(|(n, _)| n == k);
        match self.prompting {
            // Applied last: nothing in the extra environment may turn prompting back on.
            Prompting::Never => {
                cmd.env("GIT_TERMINAL_PROMPT", "0")
                    .env("GIT_ASKPASS", "")
                    .env_remove("SSH_ASKPASS")
                    .env("GCM_INTERACTIVE", "never")
                    // Never let a GIT_DIR of the caller leak in.
                    .env_remove("GIT_DIR")
                    .env_remove("GIT_WORK_TREE")
                    .env_remove("GIT_INDEX_FILE");
            }
            Prompting::AsGoCommand => {
                for (k, v) in [("GIT_TERMINAL_PROMPT", "0"), ("GCM_INTERACTIVE", "never")] {
                    if !set(k) {
                        cmd.env(k, v);
                    }
                }
            }
        }
        if !set("GIT_SSH") && !set("GIT_SSH_COMMAND") {
            cmd.env(
                "GIT_SSH_COMMAND",
                "ssh -o ControlMaster=no -o BatchMode=yes",
            );
        }
        cmd
    }

    /// Runs `git args...` in `dir` and returns its stdout, at most `max_out` bytes.
    pub async fn output(
        &self,
        dir: Option<&Path>,
        args: &[&str],
        max_out: u64,
    ) -> Result<Vec<u8>, CmdError> {
        let mut out = Vec::new();
        self.run(dir, args, max_out, &mut out).await?;
        Ok(out)
    }

    /// Runs `git args...` in `dir` with `input` on its stdin (then closed) and returns its
    /// stdout, at most `max_out` bytes.
    pub async fn output_with_input(
        &self,
        dir: Option<&Path>,
        args: &[&str],
        input: &[u8],
        max_out: u64,
    ) -> Result<Vec<u8>, CmdError> {
        let mut out = Vec::new();
        self.run_watched(dir, args, input, max_out, &mut out, None)
            .await?;
        Ok(out)
    }

    /// Runs `git args...` in `dir` and returns what it gave, whatever its exit status:
    /// status, stdout (at most `max_out` bytes), stderr and time taken.
    pub async fn output_any_status(
        &self,
        dir: Option<&Path>,
        args: &[&str],
        max_out: u64,
    ) -> Result<process::Output, ProcessError> {
        let started = std::time::Instant::now();
        let out = process::output(
            self.command(dir, args),
            Bounds {
                time: self.timeout,
                output: max_out,
            },
        )
        .await;
        git_timed(args, started);
        out
    }

    /// Runs `git args...` in `dir`, streaming stdout into `sink`, at most `max_out` bytes;
    /// returns how many bytes were written.
    pub async fn run<W: tokio::io::AsyncWrite + Unpin>(
        &self,
        dir: Option<&Path>,
        args: &[&str],
        max_out: u64,
        sink: &mut W,
    ) -> Result<u64, CmdError> {
        self.run_watched(dir, args, &[], max_out, sink, None).await
    }

    /// Runs `git args...` in `dir` like [`Runner::output`], and also stops it when the
    /// directory `watch.0` grows over `watch.1` bytes (checked twice a second): the bound
    /// on what a fetch may write to disk.
    pub async fn output_watched(
        &self,
        dir: Option<&Path>,
        args: &[&str],
        max_out: u64,
        watch: (&Path, u64),
    ) -> Result<Vec<u8>, CmdError> {
        let mut out = Vec::new();
        self.run_watched(dir, args, &[], max_out, &mut out, Some(watch))
            .await?;
        Ok(out)
    }

    async fn run_watched<W: tokio::io::AsyncWrite + Unpin>(
        &self,
        dir: Option<&Path>,
        args: &[&str],
        input: &[u8],
        max_out: u64,
        sink: &mut W,
        watch: Option<(&Path, u64)>,
    ) -> Result<u64, CmdError> {
        let watcher = async {
            match watch {
                Some((path, max)) => loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    if dir_size(path).await > max {
                        return;
                    }
                },
                None => std::future::pending().await,
            }
        };
        let bounds = Bounds {
            time: self.timeout,
            output: max_out,
        };
        let started = std::time::Instant::now();
        let ran = process::run(self.command(dir, args), input, bounds, sink, watcher).await;
        git_timed(args, started);
        match ran {
            Ok(exited) if exited.status.success() => Ok(exited.written),
            Ok(exited) => Err(CmdError::Exit(exited.status.code(), exited.stderr)),
            Err(ProcessError::Stopped) => Err(CmdError::DiskLimit(watch.map_or(0, |w| w.1))),
            Err(e) => Err(CmdError::Run(e)),
        }
    }
}

/// Records how long `git args...` took, by subcommand (the first argument that is not
/// an option: `-c` values and the like are skipped).
fn git_timed(args: &[&str], started: std::time::Instant) {
    let mut it = args.iter();
    let mut command = "unknown";
    while let Some(a) = it.next() {
        if *a == "-c" || *a == "-C" {
            it.next();
        } else if !a.starts_with('-') {
            command = a;
            break;
        }
    }
    crate::metrics::metrics()
        .git_seconds
        .get_or_create(&crate::metrics::GitCommand {
            command: command.to_string(),
        })
        .observe(started.elapsed().as_secs_f64());
}

/// The total size of the files under `dir` (0 for what cannot be read).
pub async fn dir_size(dir: &Path) -> u64 {
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(mut rd) = tokio::fs::read_dir(&d).await else {
            continue;
        };
        while let Ok(Some(e)) = rd.next_entry().await {
            let Ok(md) = e.metadata().await else { continue };
            if md.is_dir() {
                stack.push(e.path());
            } else {
                total += md.len();
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runner(secs: u64) -> Runner {
        Runner::new(Duration::from_secs(secs), Vec::new())
    }

    #[tokio::test]
    async fn output_is_bounded() {
        let out = runner(30)
            .output(None, &["version"], 1 << 20)
            .await
            .unwrap();
        assert!(out.starts_with(b"git version "));
        let err = runner(30).output(None, &["version"], 4).await.unwrap_err();
        assert_eq!(err, CmdError::Run(ProcessError::TooLarge(4)));
        assert_eq!(
            err.to_string(),
            "git output exceeded 4 bytes and was stopped"
        );
    }

    #[tokio::test]
    async fn failures_carry_status_and_stderr() {
        let err = runner(30)
            .output(None, &["no-such-subcommand"], 1 << 20)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(1));
        assert!(err.stderr().contains("no-such-subcommand"), "{err}");
    }

    #[tokio::test]
    async fn prompting_is_disabled() {
        let r = Runner::new(
            Duration::from_secs(30),
            vec![("GIT_TERMINAL_PROMPT".into(), "1".into())],
        );
        let out = r
            .output(None, &["var", "GIT_EDITOR"], 1 << 20)
            .await
            .map(|_| ());
        assert_eq!(out, Ok(()));
        // The guard wins over the extra environment.
        let cmd = r.command(None, &["version"]);
        let envs: Vec<_> = cmd.as_std().get_envs().collect();
        assert!(envs.contains(&(
            std::ffi::OsStr::new("GIT_TERMINAL_PROMPT"),
            Some(std::ffi::OsStr::new("0"))
        )));
        assert!(envs.contains(&(
            std::ffi::OsStr::new("GIT_ASKPASS"),
            Some(std::ffi::OsStr::new(""))
        )));
    }

    #[test]
    fn the_go_commands_prompting_leaves_the_users_choice() {
        let r = Runner {
            prompting: Prompting::AsGoCommand,
            ..Runner::new(
                Duration::from_secs(30),
                vec![("GIT_TERMINAL_PROMPT".into(), "1".into())],
            )
        };
        let cmd = r.command(None, &["version"]);
        let envs: Vec<_> = cmd.as_std().get_envs().collect();
        assert!(envs.contains(&(
            std::ffi::OsStr::new("GIT_TERMINAL_PROMPT"),
            Some(std::ffi::OsStr::new("1"))
        )));
        assert!(
            !envs
                .iter()
                .any(|(k, _)| *k == "GIT_ASKPASS" || *k == "GIT_DIR"),
            "{envs:?}"
        );
    }

    #[tokio::test]
    async fn a_growing_directory_stops_git() {
        // A remote that never answers keeps git running; the watched directory is
        // already over its bound, so the watcher stops git within a second.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hold = std::thread::spawn(move || {
            let s = listener.accept();
            std::thread::sleep(Duration::from_secs(3));
            drop(s);
        });
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big"), vec![0u8; 4096]).unwrap();
        let start = std::time::Instant::now();
        let err = runner(30)
            .output_watched(
                None,
                &["ls-remote", &format!("http://127.0.0.1:{port}/r")],
                1 << 20,
                (dir.path(), 1024),
            )
            .await
            .unwrap_err();
        assert_eq!(err, CmdError::DiskLimit(1024));
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        hold.join().unwrap();
    }

    #[tokio::test]
    async fn a_slow_git_is_killed_at_its_timeout() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hold = std::thread::spawn(move || {
            let s = listener.accept();
            std::thread::sleep(Duration::from_secs(3));
            drop(s);
        });
        let start = std::time::Instant::now();
        let err = runner(1)
            .output(
                None,
                &["ls-remote", &format!("http://127.0.0.1:{port}/r")],
                1 << 20,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, CmdError::Run(ProcessError::Timeout { after, .. }) if after == Duration::from_secs(1)),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "git timed out after 1s and was killed");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        hold.join().unwrap();
    }
}
