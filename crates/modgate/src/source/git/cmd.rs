//! Running the `git` binary: never interactive, bounded in time and in output size.
//!
//! Every call gets an environment that forbids prompting (`GIT_TERMINAL_PROMPT=0`, an empty
//! `GIT_ASKPASS`, which git takes as "no askpass program" and then refuses to prompt on the
//! terminal, no `SSH_ASKPASS`, `GCM_INTERACTIVE=never`, and ssh in `BatchMode` unless the
//! user chose an ssh command), runs in its own process group with stdin closed, and is
//! killed with its whole process group (remote helpers, ssh) when it overruns its time or
//! output bound. The user's git configuration (credential helpers, `insteadOf` rules, ssh
//! keys) is honoured: the environment is inherited otherwise.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

/// The most stderr kept for error messages.
const MAX_STDERR: usize = 64 << 10;

/// Why a git command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdError {
    /// git could not be started at all.
    Spawn(String),
    /// git ran longer than its time bound and was killed.
    Timeout(Duration),
    /// git wrote more than the output bound and was killed.
    TooLarge(u64),
    /// The watched directory grew over its bound while git ran; git was killed.
    DiskLimit(u64),
    /// git exited unsuccessfully: its exit code (None when killed by a signal) and stderr.
    Exit(Option<i32>, String),
    /// Reading git's output or writing it to a file failed.
    Io(String),
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
            CmdError::Spawn(e) => write!(f, "cannot run git: {e} (is git installed and on PATH?)"),
            CmdError::Timeout(d) => {
                write!(f, "git timed out after {}s and was killed", d.as_secs())
            }
            CmdError::TooLarge(n) => write!(f, "git output exceeded {n} bytes and was stopped"),
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
            CmdError::Io(e) => write!(f, "reading git output: {e}"),
        }
    }
}

/// How to run git: the time bound of one call.
#[derive(Debug, Clone)]
pub struct Runner {
    /// The bound on each call's wall-clock time.
    pub timeout: Duration,
    /// Extra environment for every call, applied over the inherited one.
    pub env: Vec<(String, String)>,
}

impl Runner {
    fn command(&self, dir: Option<&Path>, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.args(args);
        if let Some(dir) = dir {
            cmd.current_dir(dir);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        // Applied last: nothing in the extra environment may turn prompting back on.
        cmd.env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ASKPASS", "")
            .env_remove("SSH_ASKPASS")
            .env("GCM_INTERACTIVE", "never")
            // Never let a GIT_DIR of the caller leak in.
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE");
        let set = |k: &str| std::env::var_os(k).is_some() || self.env.iter().any(|(n, _)| n == k);
        if !set("GIT_SSH") && !set("GIT_SSH_COMMAND") {
            cmd.env(
                "GIT_SSH_COMMAND",
                "ssh -o ControlMaster=no -o BatchMode=yes",
            );
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
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

    /// Runs `git args...` in `dir`, streaming stdout into `sink`, at most `max_out` bytes;
    /// returns how many bytes were written.
    pub async fn run<W: tokio::io::AsyncWrite + Unpin>(
        &self,
        dir: Option<&Path>,
        args: &[&str],
        max_out: u64,
        sink: &mut W,
    ) -> Result<u64, CmdError> {
        self.run_watched(dir, args, max_out, sink, None).await
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
        self.run_watched(dir, args, max_out, &mut out, Some(watch))
            .await?;
        Ok(out)
    }

    async fn run_watched<W: tokio::io::AsyncWrite + Unpin>(
        &self,
        dir: Option<&Path>,
        args: &[&str],
        max_out: u64,
        sink: &mut W,
        watch: Option<(&Path, u64)>,
    ) -> Result<u64, CmdError> {
        let mut child = self
            .command(dir, args)
            .spawn()
            .map_err(|e| CmdError::Spawn(e.to_string()))?;
        let pid = child.id();
        let watcher = async {
            match watch {
                Some((path, max)) => loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    let size = dir_size(path).await;
                    if size > max {
                        return CmdError::DiskLimit(max);
                    }
                },
                None => std::future::pending().await,
            }
        };
        let work = async {
            tokio::select! {
                r = drive(&mut child, max_out, sink) => r,
                e = watcher => Err(e),
            }
        };
        let result = match tokio::time::timeout(self.timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(CmdError::Timeout(self.timeout)),
        };
        if result.is_err() {
            kill_group(pid, &mut child).await;
        }
        result
    }
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

async fn drive<W: tokio::io::AsyncWrite + Unpin>(
    child: &mut Child,
    max_out: u64,
    sink: &mut W,
) -> Result<u64, CmdError> {
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let copy_out = async {
        match stdout {
            Some(s) => copy_bounded(s, sink, max_out).await,
            None => Ok(0),
        }
    };
    let read_err = async {
        let mut buf = Vec::new();
        if let Some(s) = stderr {
            let mut s = s;
            let mut chunk = [0u8; 8192];
            loop {
                match s.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if buf.len() < MAX_STDERR {
                            let take = n.min(MAX_STDERR - buf.len());
                            buf.extend_from_slice(&chunk[..take]);
                        }
                    }
                }
            }
        }
        buf
    };
    let (copied, err_bytes) = tokio::join!(copy_out, read_err);
    let n = copied?;
    let status = child
        .wait()
        .await
        .map_err(|e| CmdError::Io(e.to_string()))?;
    if !status.success() {
        return Err(CmdError::Exit(
            status.code(),
            String::from_utf8_lossy(&err_bytes).into_owned(),
        ));
    }
    Ok(n)
}

async fn copy_bounded<R: AsyncRead + Unpin, W: tokio::io::AsyncWrite + Unpin>(
    mut r: R,
    w: &mut W,
    max: u64,
) -> Result<u64, CmdError> {
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = r
            .read(&mut buf)
            .await
            .map_err(|e| CmdError::Io(e.to_string()))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > max {
            return Err(CmdError::TooLarge(max));
        }
        w.write_all(&buf[..n])
            .await
            .map_err(|e| CmdError::Io(e.to_string()))?;
    }
    w.flush().await.map_err(|e| CmdError::Io(e.to_string()))?;
    Ok(total)
}

/// Kills git and everything it started (it leads its own process group), then reaps it.
async fn kill_group(pid: Option<u32>, child: &mut Child) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok())
        && let Some(pid) = rustix::process::Pid::from_raw(pid)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runner(secs: u64) -> Runner {
        Runner {
            timeout: Duration::from_secs(secs),
            env: Vec::new(),
        }
    }

    #[tokio::test]
    async fn output_is_bounded() {
        let out = runner(30)
            .output(None, &["version"], 1 << 20)
            .await
            .unwrap();
        assert!(out.starts_with(b"git version "));
        let err = runner(30).output(None, &["version"], 4).await.unwrap_err();
        assert_eq!(err, CmdError::TooLarge(4));
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
        let r = Runner {
            timeout: Duration::from_secs(30),
            env: vec![("GIT_TERMINAL_PROMPT".into(), "1".into())],
        };
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
        assert_eq!(err, CmdError::Timeout(Duration::from_secs(1)));
        assert_eq!(err.to_string(), "git timed out after 1s and was killed");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        hold.join().unwrap();
    }
}
