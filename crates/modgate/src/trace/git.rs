//! Git commands the traced go command runs itself (`direct`, private modules), timed by
//! a stand-in: `modgate trace` puts a `git` on the front of the command's PATH that is
//! modgate itself; run as `git`, it runs the real git with the same arguments, standard
//! streams and directory, passes interrupts on, appends one JSON line per command to the
//! trace's log and exits with git's status. The command's output is untouched (the go
//! command's `-x` lines would have had to be filtered out of it).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The real git, for the stand-in.
pub const REAL_GIT: &str = "MODGATE_TRACE_REAL_GIT";
/// The log the stand-in appends to.
pub const GIT_LOG: &str = "MODGATE_TRACE_GIT_LOG";

/// One git command.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GitRecord {
    /// Its arguments (after `git`).
    pub args: Vec<String>,
    /// The directory it ran in (the go command's clone in GOMODCACHE/cache/vcs).
    pub dir: String,
    /// The repository, when known (its `origin` remote).
    #[serde(default)]
    pub repo: Option<String>,
    /// Since the trace began, in microseconds: when it started and when it ended.
    pub start_us: u64,
    /// When it ended.
    pub end_us: u64,
    /// Its exit code (`None`: killed by a signal).
    pub exit_code: Option<i32>,
}

/// Why the stand-in could not be set up, or could not run the real git.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The stand-in's async runtime could not start.
    #[error("{0}")]
    Runtime(#[source] std::io::Error),
    /// The real git could not be started.
    #[error("{0}")]
    Spawn(#[source] std::io::Error),
    /// Waiting for the real git (or listening for interrupts to pass on) failed.
    #[error("{0}")]
    Wait(#[source] std::io::Error),
    /// This program's own path (which the stand-in links to) is not known.
    #[error("this program's path: {0}")]
    CurrentExe(#[source] std::io::Error),
    /// The directory holding the stand-in could not be made.
    #[error("a directory for the git stand-in {}: {source}", dir.display())]
    Dir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The stand-in could not be linked to this program.
    #[error("linking the git stand-in: {0}")]
    Link(#[source] std::io::Error),
}

fn unix_us(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_micros() as u64
}

/// Whether this process was started as the stand-in (its name is `git` and the trace set
/// the real git).
pub fn is_stand_in() -> bool {
    let name = std::env::args_os().next().map(PathBuf::from);
    name.as_deref()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .is_some_and(|n| n == "git" || n == crate::platform::file_mode::program_name("git"))
        && std::env::var_os(REAL_GIT).is_some()
}

/// Runs the real git as the stand-in, which began at `started` (the first thing `main`
/// does, so that the record spans the stand-in's own start); its exit status.
pub fn stand_in(started: SystemTime) -> std::process::ExitCode {
    let real = std::env::var_os(REAL_GIT).unwrap_or_default();
    let log = std::env::var_os(GIT_LOG);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = std::env::current_dir().unwrap_or_default();
    let status = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
        .and_then(|rt| rt.block_on(run_passing_signals(&real, &args)))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("modgate trace (standing in for git): cannot run {real:?}: {e}");
            return std::process::ExitCode::from(127);
        }
    };
    if let Some(log) = log {
        let ended = SystemTime::now();
        let line = serde_json::json!({
            "args": args, "dir": dir.display().to_string(),
            "start_unix_us": unix_us(started), "end_unix_us": unix_us(ended),
            "exit_code": status.code(),
        });
        // One short line in append mode: lines of concurrent git commands do not mix.
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
    }
    std::process::ExitCode::from(status.code().map_or(1, |c| c.clamp(0, 255) as u8))
}

/// Runs `real ARGS`, passing SIGINT and SIGTERM on (the go command interrupts a git
/// command it gives up on).
async fn run_passing_signals(
    real: &std::ffi::OsStr,
    args: &[String],
) -> Result<std::process::ExitStatus, Error> {
    let mut child = tokio::process::Command::new(real)
        .args(args)
        .spawn()
        .map_err(Error::Spawn)?;
    crate::platform::process::wait_passing_interrupts(&mut child)
        .await
        .map_err(Error::Wait)
}

/// Sets up the stand-in for a command: a directory holding `git` (a link to this
/// program) to put first on its PATH, and the environment it needs. `None` when there
/// is no git on `path` (nothing to time).
pub struct StandIn {
    /// Removed when dropped.
    dir: PathBuf,
    real: PathBuf,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl StandIn {
    /// Prepares the stand-in for the real git found on `path` (the command's PATH).
    pub fn prepare(path: &std::ffi::OsStr) -> Result<Option<StandIn>, Error> {
        let Some(real) = std::env::split_paths(path)
            .map(|d| d.join(crate::platform::file_mode::program_name("git")))
            .find(|p| p.is_file())
        else {
            return Ok(None);
        };
        let me = std::env::current_exe().map_err(Error::CurrentExe)?;
        let dir = std::env::temp_dir().join(format!(
            "modgate-trace-{}-{}",
            std::process::id(),
            unix_us(SystemTime::now())
        ));
        if let Err(source) = std::fs::create_dir(&dir) {
            return Err(Error::Dir { dir, source });
        }
        let stand_in = StandIn { dir, real };
        crate::platform::process::link_program(
            &me,
            &stand_in
                .dir
                .join(crate::platform::file_mode::program_name("git")),
        )
        .map_err(Error::Link)?;
        Ok(Some(stand_in))
    }

    /// The environment of the command: PATH with the stand-in first, and where it logs.
    pub fn env(&self, path: &std::ffi::OsStr) -> Vec<(String, std::ffi::OsString)> {
        let mut dirs = vec![self.dir.clone()];
        dirs.extend(std::env::split_paths(path));
        vec![
            (
                "PATH".into(),
                std::env::join_paths(dirs).unwrap_or_else(|_| path.to_os_string()),
            ),
            (REAL_GIT.into(), self.real.clone().into_os_string()),
            (GIT_LOG.into(), self.log().into_os_string()),
        ]
    }

    fn log(&self) -> PathBuf {
        self.dir.join("git.log")
    }

    /// The git commands run, with times from `epoch` (a wall-clock instant), each with its
    /// repository where known.
    pub fn records(&self, epoch: SystemTime) -> Vec<GitRecord> {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        let base = unix_us(epoch);
        let mut out: Vec<GitRecord> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| GitRecord {
                args: v["args"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
                dir: v["dir"].as_str().unwrap_or("").to_string(),
                repo: None,
                start_us: v["start_unix_us"]
                    .as_u64()
                    .unwrap_or(0)
                    .saturating_sub(base),
                end_us: v["end_unix_us"].as_u64().unwrap_or(0).saturating_sub(base),
                exit_code: v["exit_code"].as_i64().map(|c| c as i32),
            })
            .collect();
        for r in &mut out {
            r.repo = origin(Path::new(&r.dir));
        }
        out.sort_by_key(|r| r.start_us);
        out
    }
}

/// The `origin` URL in the git config of the bare clone `dir`.
fn origin(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("config")).ok()?;
    let mut in_origin = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_origin = t == "[remote \"origin\"]";
        } else if in_origin
            && let Some((k, v)) = t.split_once('=')
            && k.trim() == "url"
        {
            return Some(v.trim().to_string());
        }
    }
    None
}

/// The git subcommand of `args` (`fetch` of `-c protocol.version=2 fetch ...`).
pub fn subcommand(args: &[String]) -> &str {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-c" | "-C" | "--git-dir" | "--work-tree" => {
                it.next();
            }
            a if a.starts_with('-') => {}
            a => return a,
        }
    }
    ""
}

/// How long a git command took.
pub fn took(r: &GitRecord) -> Duration {
    Duration::from_micros(r.end_us.saturating_sub(r.start_us))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subcommands() {
        let v = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            subcommand(&v("-c protocol.version=2 fetch -f origin")),
            "fetch"
        );
        assert_eq!(subcommand(&v("--git-dir /x cat-file blob")), "cat-file");
        assert_eq!(subcommand(&v("init --bare")), "init");
        assert_eq!(subcommand(&v("-c a=b")), "");
    }

    #[test]
    fn the_origin_of_a_clone() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("config"),
            "[core]\n\tbare = true\n[remote \"origin\"]\n\turl = https://github.com/acme/hello\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n",
        )
        .unwrap();
        assert_eq!(
            origin(d.path()).as_deref(),
            Some("https://github.com/acme/hello")
        );
        assert_eq!(origin(&d.path().join("none")), None);
    }
}
