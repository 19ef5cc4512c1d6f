//! Running a program (`go`, `git`) with a deadline: its whole process group is killed when
//! the deadline passes, so a helper it started (git-remote-https, ssh) cannot keep the
//! doctor waiting.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What a finished program gave.
#[derive(Debug)]
pub struct Ran {
    /// Its exit status.
    pub status: ExitStatus,
    /// Its standard output.
    pub stdout: Vec<u8>,
    /// Its standard error, as text.
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

/// Why a program gave nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// It could not be started.
    Spawn(String),
    /// It was still running at the deadline (and was killed); what it had written to stderr.
    Timeout(String),
}

/// Runs `cmd` with stdin closed, for at most `limit`.
pub fn run(cmd: &mut Command, limit: Duration) -> Result<Ran, RunError> {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| RunError::Spawn(format!("cannot run {:?}: {e}", cmd.get_program())))?;
    let drain = |s: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(mut s) = s {
                let _ = s.read_to_end(&mut out);
            }
            out
        })
    };
    let out = drain(child.stdout.take().map(|s| Box::new(s) as _));
    let err = drain(child.stderr.take().map(|s| Box::new(s) as _));
    let pgid = rustix::process::Pid::from_child(&child);
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if start.elapsed() >= limit => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(RunError::Spawn(e.to_string())),
        }
    };
    if status.is_none() {
        let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
        let _ = child.wait();
    }
    let stdout = out.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    match status {
        Some(status) => Ok(Ran {
            status,
            stdout,
            stderr,
            elapsed: start.elapsed(),
        }),
        None => Err(RunError::Timeout(stderr)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_status_and_a_deadline_that_kills_the_group() {
        let r = run(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(
            (r.status.code(), r.stdout.as_slice(), r.stderr.as_str()),
            (Some(3), &b"out\n"[..], "err\n")
        );
        // A grandchild holding the pipes open is killed with the group.
        let t = Instant::now();
        let e = run(
            Command::new("sh").args(["-c", "echo waiting >&2; sleep 30 & wait"]),
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert_eq!(e, RunError::Timeout("waiting\n".into()));
        assert!(t.elapsed() < Duration::from_secs(10));
        assert!(matches!(
            run(
                &mut Command::new("/nonexistent/prog"),
                Duration::from_secs(1)
            ),
            Err(RunError::Spawn(_))
        ));
    }
}
