//! Running a program with bounds: the one place modgate spawns a process (the proxy's git,
//! the doctor's `go env` and git). The program gets stdin closed (or the caller's input,
//! then closed) and its own process group;
//! its stdout goes to a sink up to an output bound, its stderr is kept (up to
//! [`MAX_STDERR`]); when it overruns its time bound or output bound, or the caller's stop
//! condition fires, its whole process group is killed (so a helper it started, such as
//! git-remote-https or ssh, cannot keep anyone waiting) and it is reaped. The environment
//! and arguments are the caller's: this module adds none.

use std::future::Future;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::process::{Child, Command};

/// The most stderr kept.
pub const MAX_STDERR: usize = 64 << 10;

/// How long the stderr of a killed program is still read (a process that left the group
/// may hold the pipe open).
const DRAIN_AFTER_KILL: Duration = Duration::from_millis(200);

/// The bounds of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Wall-clock time, from the spawn to the exit.
    pub time: Duration,
    /// Bytes of stdout.
    pub output: u64,
}

/// A program that ran to its exit, whatever its status.
#[derive(Debug)]
pub struct Exited {
    /// Its exit status.
    pub status: ExitStatus,
    /// How many bytes of stdout went to the sink.
    pub written: u64,
    /// Its stderr, as text (at most [`MAX_STDERR`] bytes of it).
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

/// A program that ran to its exit, with its stdout.
#[derive(Debug)]
pub struct Output {
    /// Its exit status.
    pub status: ExitStatus,
    /// Its stdout.
    pub stdout: Vec<u8>,
    /// Its stderr, as text (at most [`MAX_STDERR`] bytes of it).
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

/// Why a program did not run to its exit. Every variant but `Spawn` means it was killed,
/// with its process group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessError {
    /// It could not be started: the system's reason.
    Spawn(String),
    /// It was still running at its time bound.
    Timeout {
        /// The time bound.
        after: Duration,
        /// What it had written to stderr by then.
        stderr: String,
    },
    /// It wrote more than its output bound (the bound).
    TooLarge(u64),
    /// The caller's stop condition fired first.
    Stopped,
    /// Reading its output, writing it to the sink or waiting for it failed: the system's
    /// kind of error (a sink on a full disk is [`std::io::ErrorKind::StorageFull`]) and
    /// its text.
    Io(std::io::ErrorKind, String),
}

impl ProcessError {
    /// An [`ProcessError::Io`] of `e`.
    pub fn io(e: &std::io::Error) -> ProcessError {
        ProcessError::Io(e.kind(), e.to_string())
    }

    /// The I/O error, for [`ProcessError::Io`]: the same kind and text.
    pub fn io_error(&self) -> Option<std::io::Error> {
        match self {
            ProcessError::Io(kind, text) => Some(std::io::Error::new(*kind, text.clone())),
            _ => None,
        }
    }
}

impl std::fmt::Display for ProcessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProcessError::Spawn(e) => write!(f, "cannot start it: {e}"),
            ProcessError::Timeout { after, .. } => {
                write!(f, "timed out after {}s and was killed", after.as_secs())
            }
            ProcessError::TooLarge(n) => write!(f, "output exceeded {n} bytes and was stopped"),
            ProcessError::Stopped => write!(f, "stopped"),
            ProcessError::Io(_, e) => write!(f, "reading its output: {e}"),
        }
    }
}

impl std::error::Error for ProcessError {}

/// Runs `cmd` within `bounds`, with `input` written to its stdin, which is then closed
/// (with no input, stdin is closed from the start), streaming its stdout into `sink`;
/// `stop` is the caller's further reason to kill it (a future that completes when it
/// should stop; use [`std::future::pending`] for none). A failed exit status is not an
/// error here, nor a program that exits or closes its stdin before reading it all.
pub async fn run<W, S>(
    mut cmd: Command,
    input: &[u8],
    bounds: Bounds,
    sink: &mut W,
    stop: S,
) -> Result<Exited, ProcessError>
where
    W: AsyncWrite + Unpin,
    S: Future<Output = ()>,
{
    let start = Instant::now();
    let stdin = if input.is_empty() {
        Stdio::null()
    } else {
        Stdio::piped()
    };
    let mut child = crate::platform::process::own_group(&mut cmd)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ProcessError::Spawn(e.to_string()))?;
    let pid = child.id();
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let mut err = Vec::new();
    let result = {
        let work = async {
            let write_in = async {
                if let Some(mut w) = stdin {
                    // Closed when dropped, at the end of this block.
                    let _ = w.write_all(input).await;
                }
                Ok::<(), ProcessError>(())
            };
            let copy_out = async {
                match stdout {
                    Some(s) => copy_bounded(s, sink, bounds.output).await,
                    None => Ok(0),
                }
            };
            let read_err = async {
                if let Some(s) = stderr.as_mut() {
                    read_bounded(s, &mut err).await;
                }
                Ok(())
            };
            // An overrun of the output bound ends the wait at once.
            let ((), written, ()) = tokio::try_join!(write_in, copy_out, read_err)?;
            let status = child.wait().await.map_err(|e| ProcessError::io(&e))?;
            Ok((written, status))
        };
        let bounded = async {
            tokio::select! {
                r = work => r,
                () = stop => Err(ProcessError::Stopped),
            }
        };
        match tokio::time::timeout(bounds.time, bounded).await {
            Ok(r) => r,
            Err(_) => Err(ProcessError::Timeout {
                after: bounds.time,
                stderr: String::new(),
            }),
        }
    };
    match result {
        Ok((written, status)) => Ok(Exited {
            status,
            written,
            stderr: String::from_utf8_lossy(&err).into_owned(),
            elapsed: start.elapsed(),
        }),
        Err(e) => {
            kill_group(pid, &mut child).await;
            if let ProcessError::Timeout { after, .. } = e {
                // What it wrote until it was killed, which says what it waited for.
                if let Some(s) = stderr.as_mut() {
                    let _ = tokio::time::timeout(DRAIN_AFTER_KILL, read_bounded(s, &mut err)).await;
                }
                return Err(ProcessError::Timeout {
                    after,
                    stderr: String::from_utf8_lossy(&err).into_owned(),
                });
            }
            Err(e)
        }
    }
}

/// Runs `cmd` within `bounds` and collects its stdout (see [`run`]).
pub async fn output(cmd: Command, bounds: Bounds) -> Result<Output, ProcessError> {
    let mut stdout = Vec::new();
    let exited = run(cmd, &[], bounds, &mut stdout, std::future::pending()).await?;
    Ok(Output {
        status: exited.status,
        stdout,
        stderr: exited.stderr,
        elapsed: exited.elapsed,
    })
}

/// The async runtime could not be started (threads, file descriptors).
#[derive(Debug, thiserror::Error)]
#[error("cannot start the async runtime: {0}")]
pub struct RuntimeError(#[source] pub std::io::Error);

/// Runs `f` to its end from synchronous code (a command's main, or a blocking thread of the
/// runtime): on the runtime this thread belongs to, else on one of its own.
pub fn block_on<F: Future>(f: F) -> Result<F::Output, RuntimeError> {
    match tokio::runtime::Handle::try_current() {
        Ok(h) => Ok(h.block_on(f)),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|rt| rt.block_on(f))
            .map_err(RuntimeError),
    }
}

/// [`output`] from synchronous code (see [`block_on`]).
pub fn output_blocking(cmd: std::process::Command, bounds: Bounds) -> Result<Output, ProcessError> {
    block_on(output(Command::from(cmd), bounds))
        .map_err(|e| ProcessError::Io(e.0.kind(), e.to_string()))?
}

/// Reads `r` to its end into `buf`, keeping at most [`MAX_STDERR`] bytes in all.
async fn read_bounded<R: AsyncRead + Unpin>(r: &mut R, buf: &mut Vec<u8>) {
    let mut chunk = vec![0u8; 8192];
    loop {
        match r.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let take = n.min(MAX_STDERR.saturating_sub(buf.len()));
                buf.extend_from_slice(&chunk[..take]);
            }
        }
    }
}

async fn copy_bounded<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    mut r: R,
    w: &mut W,
    max: u64,
) -> Result<u64, ProcessError> {
    let io = |e: std::io::Error| ProcessError::io(&e);
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = r.read(&mut buf).await.map_err(io)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > max {
            return Err(ProcessError::TooLarge(max));
        }
        w.write_all(&buf[..n]).await.map_err(io)?;
    }
    w.flush().await.map_err(io)?;
    Ok(total)
}

/// Kills the program and everything it started (it leads its own process group), then
/// reaps it.
async fn kill_group(pid: Option<u32>, child: &mut Child) {
    if let Some(pid) = pid {
        crate::platform::process::kill_tree(pid);
    }
    let _ = child.kill().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    fn bounds(time: Duration, output: u64) -> Bounds {
        Bounds { time, output }
    }

    #[tokio::test]
    async fn input_is_written_to_stdin_and_then_closed() {
        // 200 KiB: more than a pipe holds, read while it is written.
        let input: Vec<u8> = (0..200 << 10).map(|i| (i % 251) as u8).collect();
        let with_input = |script: &str| {
            let cmd = sh(script);
            let input = input.clone();
            async move {
                let mut out = Vec::new();
                let bounds = bounds(Duration::from_secs(10), 1 << 20);
                let exited = run(cmd, &input, bounds, &mut out, std::future::pending())
                    .await
                    .unwrap();
                assert!(exited.status.success());
                out
            }
        };
        let out = with_input("cat; echo end").await;
        assert_eq!(out.len(), input.len() + 4);
        assert_eq!(&out[..input.len()], &input[..]);
        assert_eq!(&out[input.len()..], b"end\n");
        // A program that reads none of it: not an error.
        assert_eq!(with_input("exec 0<&-; echo done").await, b"done\n");
    }

    #[tokio::test]
    async fn output_status_and_stderr_of_a_failed_exit() {
        let r = output(
            sh("echo out; echo err >&2; exit 3"),
            bounds(Duration::from_secs(10), 1 << 20),
        )
        .await
        .unwrap();
        assert_eq!(
            (r.status.code(), r.stdout.as_slice(), r.stderr.as_str()),
            (Some(3), &b"out\n"[..], "err\n")
        );
        assert!(matches!(
            output(
                Command::new("/nonexistent/prog"),
                bounds(Duration::from_secs(1), 1 << 20)
            )
            .await,
            Err(ProcessError::Spawn(_))
        ));
    }

    #[tokio::test]
    async fn a_deadline_kills_the_group_and_keeps_stderr() {
        // A grandchild holding the pipes open is killed with the group.
        let t = Instant::now();
        let e = output(
            sh("echo waiting >&2; sleep 30 & wait"),
            bounds(Duration::from_millis(300), 1 << 20),
        )
        .await
        .unwrap_err();
        assert_eq!(
            e,
            ProcessError::Timeout {
                after: Duration::from_millis(300),
                stderr: "waiting\n".into()
            }
        );
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    }

    #[tokio::test]
    async fn the_output_bound_kills_at_once() {
        // The shell ignores SIGPIPE in a subshell that keeps stderr open: only the kill
        // ends it before its time bound.
        let t = Instant::now();
        let e = output(
            sh("trap '' PIPE; (yes || true; sleep 30) & wait"),
            bounds(Duration::from_secs(20), 4096),
        )
        .await
        .unwrap_err();
        assert_eq!(e, ProcessError::TooLarge(4096));
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        let r = output(sh("printf 1234"), bounds(Duration::from_secs(10), 4))
            .await
            .unwrap();
        assert_eq!(r.stdout, b"1234");
    }

    #[tokio::test]
    async fn the_callers_stop_condition_kills() {
        let t = Instant::now();
        let mut sink = Vec::new();
        let e = run(
            sh("sleep 30 & wait"),
            &[],
            bounds(Duration::from_secs(20), 1 << 20),
            &mut sink,
            tokio::time::sleep(Duration::from_millis(200)),
        )
        .await
        .unwrap_err();
        assert_eq!(e, ProcessError::Stopped);
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    }

    #[tokio::test]
    async fn stderr_is_bounded() {
        let r = output(
            sh("head -c 100000 /dev/zero >&2"),
            bounds(Duration::from_secs(10), 1 << 20),
        )
        .await
        .unwrap();
        assert_eq!(r.stderr.len(), MAX_STDERR);
    }
}
