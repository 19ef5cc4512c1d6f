//! The go command's effective settings, read as it reads them: `go env -json` (through the
//! bounded runner) when a go command is on PATH; else the process environment over the
//! `$GOENV` file (default `go/env` in the user's configuration directory: on Linux
//! `$XDG_CONFIG_HOME/go/env`, else `$HOME/.config/go/env`; lines `NAME=VALUE`, as
//! `go env -w` writes them) over the go command's defaults, in
//! cmd/go/internal/cfg's order, with GONOPROXY and GONOSUMDB defaulting to GOPRIVATE.
//!
//! This is the one reader of the go command's settings: every command that acts on the go
//! command's behalf (doctor, trace, prefetch, bundle, cache verify and repair) reads them
//! here, so that each sees exactly what the go command sees, the GOENV file included. No
//! other module reads a `GO*` variable.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::{self, Bounds, ProcessError};

/// The most `go env -json` may print.
const GO_ENV_OUTPUT: u64 = 16 << 20;

/// The go command's settings read (`go env` names).
pub const NAMES: [&str; 15] = [
    "GOPROXY",
    "GOPRIVATE",
    "GONOPROXY",
    "GONOSUMDB",
    "GOSUMDB",
    "GOINSECURE",
    "GOFLAGS",
    "GOMODCACHE",
    "GOTOOLCHAIN",
    "GO111MODULE",
    "GOAUTH",
    "GOPATH",
    "GOVERSION",
    "GOWORK",
    "GOENV",
];

/// Settings of the environment only (not `go env`): git's prompt, the HTTP proxy in the
/// way, the go command's parallelism and its netrc file.
pub const ENV_NAMES: [&str; 6] = [
    "GIT_TERMINAL_PROMPT",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "GOMAXPROCS",
    "NETRC",
];

/// The go command's default GOPROXY.
pub const DEFAULT_GOPROXY: &str = "https://proxy.golang.org,direct";
/// The go command's default GOSUMDB.
pub const DEFAULT_GOSUMDB: &str = "sum.golang.org";

/// How long `go env -json` may take by default (it may fetch a toolchain).
pub const GO_ENV_WITHIN: Duration = Duration::from_secs(60);

/// Why the go command's settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The go command could not be started (the system's reason).
    #[error("cannot run {:?}: {reason}", go.as_os_str())]
    Spawn {
        /// The go command.
        go: PathBuf,
        /// The system's reason.
        reason: String,
    },
    /// `go env -json` was still running at its time bound (and was killed).
    #[error("{} env -json did not finish within {}s", go.display(), after.as_secs())]
    Timeout {
        /// The go command.
        go: PathBuf,
        /// The time bound.
        after: Duration,
    },
    /// `go env -json` did not run to its exit otherwise (too much output, its output
    /// unreadable).
    #[error("{} env -json: {source}", go.display())]
    Run {
        /// The go command.
        go: PathBuf,
        /// Why.
        #[source]
        source: ProcessError,
    },
    /// `go env -json` exited with a failure.
    #[error("{} env -json failed ({status}): {stderr}", go.display())]
    Failed {
        /// The go command.
        go: PathBuf,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it said on standard error (trimmed).
        stderr: String,
    },
    /// `go env -json` printed something else than a JSON object of strings.
    #[error("{} env -json printed something else than JSON: {source}", go.display())]
    NotJson {
        /// The go command.
        go: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The async runtime to read them from synchronous code could not start
    /// ([`process::block_on`]).
    #[error("cannot read the go command's settings: {0}")]
    Runtime(#[source] crate::process::RuntimeError),
}

/// Where the values came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `go env -json` of this go command.
    GoEnv(PathBuf),
    /// The environment, the GOENV file and the defaults (no go command found).
    Environment,
}

/// The effective settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoSettings {
    /// NAME -> value (empty when unset), for every name in [`NAMES`].
    pub values: BTreeMap<String, String>,
    /// How they were read.
    pub origin: Origin,
}

impl GoSettings {
    /// The value of `name` (empty when unset).
    pub fn get(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// The settings the go command on this process's PATH would use here (run in `dir`
    /// when given: GOWORK and a project's toolchain depend on it), read within `limit`.
    /// When the go command fails there (a project asking for a toolchain it cannot
    /// fetch: `go env` itself tries to switch), its settings outside any project (in the
    /// temporary directory) are read instead, within what is left of `limit`: that
    /// failure is the project's, for the doctor to name.
    pub async fn current(dir: Option<&Path>, limit: Duration) -> Result<GoSettings, Error> {
        let env = |k: &str| std::env::var(k).ok();
        let go = go_on_path(std::env::var_os("PATH").as_deref());
        let started = std::time::Instant::now();
        match Self::read(go.as_deref(), dir, &env, limit).await {
            Err(e) if go.is_some() => {
                tracing::debug!(error = %e, "go env failed here: read outside any project");
                let left = limit.saturating_sub(started.elapsed());
                let outside = std::env::temp_dir();
                Self::read(go.as_deref(), Some(&outside), &env, left)
                    .await
                    .map_err(|_| e)
            }
            r => r,
        }
    }

    /// [`GoSettings::current`] for code outside the async runtime.
    pub fn current_blocking(dir: Option<&Path>, limit: Duration) -> Result<GoSettings, Error> {
        crate::process::block_on(Self::current(dir, limit)).map_err(Error::Runtime)?
    }

    /// Reads the settings: through `go` when given (`go env -json` in `dir`, at most
    /// `limit`: it may reach the network, to fetch a toolchain), else from `env` (a
    /// variable's value) and the GOENV file it names.
    pub async fn read(
        go: Option<&Path>,
        dir: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
        limit: Duration,
    ) -> Result<GoSettings, Error> {
        let mut s = match go {
            Some(go) => Self::from_go(go, dir, limit).await?,
            None => Self::from_environment(env),
        };
        for n in ENV_NAMES {
            // The lower-case spellings count too (curl's and Go's net/http rule).
            let v = env(n)
                .filter(|v| !v.is_empty())
                .or_else(|| env(&n.to_ascii_lowercase()).filter(|v| !v.is_empty()))
                .unwrap_or_default();
            s.values.insert(n.to_string(), v);
        }
        Ok(s)
    }

    async fn from_go(go: &Path, dir: Option<&Path>, limit: Duration) -> Result<GoSettings, Error> {
        let mut cmd = tokio::process::Command::new(go);
        cmd.args(["env", "-json"]);
        if let Some(d) = dir {
            cmd.current_dir(d);
        }
        let bounds = Bounds {
            time: limit,
            output: GO_ENV_OUTPUT,
        };
        let ran = process::output(cmd, bounds).await.map_err(|e| match e {
            ProcessError::Spawn(reason) => Error::Spawn {
                go: go.to_path_buf(),
                reason,
            },
            ProcessError::Timeout { after, .. } => Error::Timeout {
                go: go.to_path_buf(),
                after,
            },
            source => Error::Run {
                go: go.to_path_buf(),
                source,
            },
        })?;
        if !ran.status.success() {
            return Err(Error::Failed {
                go: go.to_path_buf(),
                status: ran.status,
                stderr: ran.stderr.trim().to_string(),
            });
        }
        let all: BTreeMap<String, String> =
            serde_json::from_slice(&ran.stdout).map_err(|source| Error::NotJson {
                go: go.to_path_buf(),
                source,
            })?;
        let values = NAMES
            .iter()
            .map(|n| (n.to_string(), all.get(*n).cloned().unwrap_or_default()))
            .collect();
        Ok(GoSettings {
            values,
            origin: Origin::GoEnv(go.to_path_buf()),
        })
    }

    /// The settings without a go command, as cmd/go/internal/cfg computes them.
    pub fn from_environment(env: &dyn Fn(&str) -> Option<String>) -> GoSettings {
        let file = goenv_file(env).and_then(|p| std::fs::read_to_string(p).ok());
        let from_file: BTreeMap<String, String> =
            file.as_deref().map(parse_env_file).unwrap_or_default();
        let raw = |n: &str| -> Option<String> {
            env(n)
                .filter(|v| !v.is_empty())
                .or_else(|| from_file.get(n).cloned().filter(|v| !v.is_empty()))
        };
        // go/build's default GOPATH: the home directory's go, none without a home.
        let home = env(crate::platform::path::HOME_VAR).filter(|h| !h.is_empty());
        let gopath = raw("GOPATH")
            .or_else(|| home.map(|h| Path::new(&h).join("go").display().to_string()))
            .unwrap_or_default();
        let first_gopath = gopath
            .split(LIST_SEPARATOR)
            .next()
            .unwrap_or_default()
            .to_string();
        let private = raw("GOPRIVATE").unwrap_or_default();
        let mut values = BTreeMap::new();
        for n in NAMES {
            let v = match n {
                "GOPROXY" => raw(n).unwrap_or_else(|| DEFAULT_GOPROXY.into()),
                "GOSUMDB" => raw(n).unwrap_or_else(|| DEFAULT_GOSUMDB.into()),
                "GONOPROXY" | "GONOSUMDB" => raw(n).unwrap_or_else(|| private.clone()),
                "GOMODCACHE" => raw(n).unwrap_or_else(|| match first_gopath.as_str() {
                    "" => String::new(),
                    p => Path::new(p).join("pkg").join("mod").display().to_string(),
                }),
                "GOPATH" => gopath.clone(),
                "GOTOOLCHAIN" => raw(n).unwrap_or_else(|| "auto".into()),
                "GOENV" => goenv_file(env)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "off".into()),
                _ => raw(n).unwrap_or_default(),
            };
            values.insert(n.to_string(), v);
        }
        GoSettings {
            values,
            origin: Origin::Environment,
        }
    }
}

/// Settings for tests: the go command's GOPROXY and GOSUMDB defaults, then `pairs`.
#[cfg(test)]
pub(crate) fn test_settings(pairs: &[(&str, &str)]) -> GoSettings {
    let mut values: BTreeMap<String, String> = [
        ("GOPROXY", "https://proxy.golang.org,direct"),
        ("GOSUMDB", "sum.golang.org"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in pairs {
        values.insert(k.to_string(), v.to_string());
    }
    GoSettings {
        values,
        origin: Origin::Environment,
    }
}

/// The go command on the search path `path` (a `PATH` value), if any: the first `go`
/// there that is an executable file.
pub fn go_on_path(path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .map(|d| d.join(crate::platform::file_mode::program_name("go")))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| crate::platform::file_mode::is_program(&m))
        })
}

/// Whether the GOFLAGS value `goflags` has `-modcacherw`.
pub fn has_modcacherw(goflags: &str) -> bool {
    goflags
        .split_whitespace()
        .any(|x| matches!(x, "-modcacherw" | "--modcacherw" | "-modcacherw=true"))
}

/// What separates the directories of a GOPATH list (filepath.ListSeparator).
const LIST_SEPARATOR: char = if cfg!(windows) { ';' } else { ':' };

/// The GOENV file: `$GOENV`, else `go/env` in the user's configuration directory
/// (`GOENV=off`: none).
fn goenv_file(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    match env("GOENV").filter(|v| !v.is_empty()) {
        Some(v) if v == "off" => None,
        Some(v) => Some(PathBuf::from(v)),
        None => user_config_dir(env).map(|d| d.join("go").join("env")),
    }
}

/// The user's configuration directory, as os.UserConfigDir finds it: `%AppData%` on
/// Windows, `$HOME/Library/Application Support` on macOS, else `$XDG_CONFIG_HOME` or
/// `$HOME/.config`.
fn user_config_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let set = |n: &str| env(n).filter(|v| !v.is_empty());
    if cfg!(windows) {
        set("AppData").map(PathBuf::from)
    } else if cfg!(target_os = "macos") {
        set("HOME").map(|h| Path::new(&h).join("Library").join("Application Support"))
    } else {
        set("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| set("HOME").map(|h| Path::new(&h).join(".config")))
    }
}

/// The lines `NAME=VALUE` of a GOENV file (`go env -w` writes them); others are skipped.
pub fn parse_env_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            let k = k.trim();
            (!k.is_empty() && !k.starts_with('#')).then(|| (k.to_string(), v.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn defaults_without_go_are_the_go_commands() {
        let s = GoSettings::from_environment(&env_of(&[("HOME", "/home/u"), ("GOENV", "off")]));
        assert_eq!(s.get("GOPROXY"), "https://proxy.golang.org,direct");
        assert_eq!(s.get("GOSUMDB"), "sum.golang.org");
        assert_eq!(s.get("GOMODCACHE"), "/home/u/go/pkg/mod");
        assert_eq!(s.get("GOTOOLCHAIN"), "auto");
        assert_eq!((s.get("GONOPROXY"), s.get("GONOSUMDB")), ("", ""));
        // No home and no GOPATH: no module cache either (cache commands then ask for
        // --gomodcache, as the old reader did).
        let s = GoSettings::from_environment(&env_of(&[("GOENV", "off")]));
        assert_eq!((s.get("GOPATH"), s.get("GOMODCACHE")), ("", ""));
        assert_eq!(s.origin, Origin::Environment);
    }

    #[test]
    fn environment_over_the_goenv_file_and_goprivate_as_default() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("env");
        std::fs::write(
            &file,
            "GOPRIVATE=corp.example.com\nGOPROXY=https://file.example\nGOSUMDB=off\n",
        )
        .unwrap();
        let f = file.to_str().unwrap().to_string();
        let env = move |k: &str| match k {
            "GOENV" => Some(f.clone()),
            "GOPROXY" => Some("https://env.example,direct".to_string()),
            "GOPATH" => Some("/gp1:/gp2".to_string()),
            _ => None,
        };
        let s = GoSettings::from_environment(&env);
        assert_eq!(s.get("GOPROXY"), "https://env.example,direct");
        assert_eq!(s.get("GOSUMDB"), "off");
        assert_eq!(s.get("GONOPROXY"), "corp.example.com");
        assert_eq!(s.get("GONOSUMDB"), "corp.example.com");
        assert_eq!(s.get("GOMODCACHE"), "/gp1/pkg/mod");
    }

    #[tokio::test]
    async fn go_env_json_of_the_real_go_command() {
        let go = testkit::go_binary();
        let s = GoSettings::read(
            Some(&go),
            None,
            &|k| (k == "https_proxy").then(|| "http://127.0.0.1:3128".to_string()),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
        assert_eq!(s.get("HTTPS_PROXY"), "http://127.0.0.1:3128");
        assert_eq!(s.get("GIT_TERMINAL_PROMPT"), "");
        assert!(s.get("GOVERSION").starts_with("go1."), "{s:?}");
        assert!(!s.get("GOMODCACHE").is_empty());
        assert_eq!(s.origin, Origin::GoEnv(go));
    }
}
