//! Whether gitattributes from outside a commit could change what `git archive` writes.
//!
//! A module zip read in-process ([`super::tree::files`]) is what `git archive` writes only
//! while no attribute applies: `text`/`eol`, `ident`, `filter` and `working-tree-encoding`
//! change a file on its way out. Inside the commit, a `.gitattributes` file sends the walk
//! to git. Outside it, git reads (highest first) the clone's `info/attributes` (modgate
//! writes it, as the go command does: export attributes off, nothing else), the global
//! file (`core.attributesFile`, else `$XDG_CONFIG_HOME/git/attributes`, else
//! `~/.config/git/attributes`) and the system file (`<sysconfdir>/gitattributes`, unless
//! `GIT_ATTR_NOSYSTEM`). git below 2.42 has no `git var GIT_ATTR_GLOBAL`, so the paths are
//! found as git finds them: `core.attributesFile` from git itself (in the clone, so every
//! config file and include that applies there counts), the system file at `/etc` and under
//! git's own prefix (from `git --exec-path`). Those two answers are asked again at most
//! every [`RECHECK`]; the files themselves are looked at on every zip. Configuration given
//! through the environment (`GIT_CONFIG_PARAMETERS`, `GIT_CONFIG_COUNT`) or
//! `GIT_ATTR_SOURCE` is not read here: then git always makes the zip.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::cmd::Runner;

/// How long git's answers about where attribute files are stay in use.
pub const RECHECK: Duration = Duration::from_secs(30);

/// What modgate writes to each clone's `info/attributes`.
pub const CLONE_ATTRIBUTES: &str = "\n* -export-subst -export-ignore\n";

/// The attribute files outside commits that git would read, found by asking git.
pub struct OutsideAttributes {
    runner: Runner,
    /// Held while git is asked, so that concurrent zips ask once.
    found: tokio::sync::Mutex<Option<(Instant, Vec<PathBuf>)>>,
}

impl OutsideAttributes {
    /// Asks git through `runner` (the git source's, with its environment).
    pub fn new(runner: Runner) -> OutsideAttributes {
        OutsideAttributes {
            runner,
            found: tokio::sync::Mutex::new(None),
        }
    }

    /// True when no attribute from outside a commit can apply to `git archive` in the
    /// clone `clone`; false when one may (or when this cannot tell).
    pub async fn none_apply(&self, clone: &Path) -> bool {
        match std::fs::read(clone.join("info").join("attributes")) {
            Ok(b) if b == CLONE_ATTRIBUTES.as_bytes() => {}
            _ => return false,
        }
        if self.configured_by_environment() {
            return false;
        }
        let paths = {
            let mut found = self.found.lock().await;
            match found.as_ref().filter(|(at, _)| at.elapsed() < RECHECK) {
                Some((_, p)) => p.clone(),
                None => match self.ask_git(clone).await {
                    Some(p) => {
                        *found = Some((Instant::now(), p.clone()));
                        p
                    }
                    None => return false,
                },
            }
        };
        paths.iter().all(|p| match std::fs::metadata(p) {
            Ok(m) => m.len() == 0,
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        })
    }

    fn env(&self, name: &str) -> Option<String> {
        match self.runner.env.iter().rev().find(|(k, _)| k == name) {
            Some((_, v)) => Some(v.clone()),
            None => std::env::var(name).ok(),
        }
    }

    fn configured_by_environment(&self) -> bool {
        [
            "GIT_CONFIG_PARAMETERS",
            "GIT_CONFIG_COUNT",
            "GIT_ATTR_SOURCE",
        ]
        .iter()
        .any(|k| self.env(k).is_some_and(|v| !v.is_empty()))
    }

    /// The global and system attribute files git would read in `clone`; `None` when git
    /// could not say.
    async fn ask_git(&self, clone: &Path) -> Option<Vec<PathBuf>> {
        let mut paths = Vec::new();
        let configured = self
            .runner
            .output(
                Some(clone),
                &[
                    "config",
                    "--includes",
                    "--type=path",
                    "--get",
                    "core.attributesFile",
                ],
                64 << 10,
            )
            .await;
        match configured {
            Ok(out) => {
                let p = String::from_utf8(out).ok()?;
                paths.push(PathBuf::from(p.trim_end_matches('\n')));
            }
            // Exit 1: not set.
            Err(e) if e.code() == Some(1) => {
                paths.extend(self.default_global());
            }
            Err(_) => return None,
        }
        if !self.env("GIT_ATTR_NOSYSTEM").is_some_and(|v| truthy(&v)) {
            let exec = self
                .runner
                .output(None, &["--exec-path"], 64 << 10)
                .await
                .ok()?;
            let exec = String::from_utf8(exec).ok()?;
            paths.extend(system_candidates(exec.trim_end())?);
        }
        Some(paths)
    }

    fn default_global(&self) -> Option<PathBuf> {
        match self.env("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
            Some(x) => Some(Path::new(&x).join("git").join("attributes")),
            None => self
                .env("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| Path::new(&h).join(".config").join("git").join("attributes")),
        }
    }
}

/// git's boolean spelling of true, as `GIT_ATTR_NOSYSTEM` is read.
fn truthy(v: &str) -> bool {
    let v = v.to_ascii_lowercase();
    matches!(v.as_str(), "1" | "true" | "yes" | "on") || v.parse::<i64>().is_ok_and(|n| n != 0)
}

/// Where the system attribute file may be for a git whose exec path is `exec`:
/// `/etc/gitattributes`, and `<prefix>/etc/gitattributes` for the prefix that holds
/// `libexec/git-core` or `lib/git-core`. `None` for any other layout (and on Windows,
/// where Git for Windows finds it relative to its install): then git makes every zip.
fn system_candidates(exec: &str) -> Option<Vec<PathBuf>> {
    if cfg!(windows) {
        return None;
    }
    let prefix = exec
        .strip_suffix("/libexec/git-core")
        .or_else(|| exec.strip_suffix("/lib/git-core"))?;
    let mut out = vec![PathBuf::from("/etc/gitattributes")];
    if prefix != "/usr" && !prefix.is_empty() {
        out.push(Path::new(prefix).join("etc").join("gitattributes"));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_files_are_looked_for_where_git_is_built_to_read_them() {
        assert_eq!(
            system_candidates("/usr/lib/git-core"),
            Some(vec![PathBuf::from("/etc/gitattributes")])
        );
        assert_eq!(
            system_candidates("/usr/local/libexec/git-core"),
            Some(vec![
                PathBuf::from("/etc/gitattributes"),
                PathBuf::from("/usr/local/etc/gitattributes")
            ])
        );
        assert_eq!(system_candidates("/opt/git/bin"), None);
        assert!(truthy("1") && truthy("TRUE") && truthy("yes") && truthy("2"));
        assert!(!truthy("0") && !truthy("false") && !truthy(""));
    }

    fn git(dir: &Path, env: &[(String, String)], args: &[&str]) -> std::process::Output {
        std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .envs(env.iter().cloned())
            .output()
            .unwrap()
    }

    /// The global file is the one git names (`git var GIT_ATTR_GLOBAL`, git 2.42 and
    /// later), by default and through `core.attributesFile`; the system file is among
    /// those looked at; a file there, or a clone without modgate's own attributes, turns
    /// the in-process zip off.
    #[tokio::test]
    async fn finds_the_files_git_reads() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        let env = vec![
            ("HOME".to_string(), h.display().to_string()),
            ("XDG_CONFIG_HOME".to_string(), String::new()),
            (
                "GIT_CONFIG_GLOBAL".to_string(),
                h.join("gitconfig").display().to_string(),
            ),
            ("GIT_CONFIG_NOSYSTEM".to_string(), "1".to_string()),
        ];
        std::fs::write(h.join("gitconfig"), "").unwrap();
        assert!(
            git(h, &env, &["init", "-q", "--bare", "--template=", "c"])
                .status
                .success()
        );
        let clone = h.join("c");
        std::fs::create_dir_all(clone.join("info")).unwrap();
        std::fs::write(clone.join("info/attributes"), CLONE_ATTRIBUTES).unwrap();
        let runner = Runner::new(Duration::from_secs(30), env.clone());
        let o = OutsideAttributes::new(runner.clone());
        let paths = o.ask_git(&clone).await.unwrap();
        let default = h.join(".config/git/attributes");
        assert_eq!(paths[0], default);
        let var = |name: &str| {
            let out = git(&clone, &env, &["var", name]);
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8(out.stdout).unwrap().trim_end()))
        };
        if let Some(g) = var("GIT_ATTR_GLOBAL") {
            assert_eq!(paths[0], g);
        }
        if let Some(s) = var("GIT_ATTR_SYSTEM") {
            assert!(paths[1..].contains(&s), "{s:?} not in {paths:?}");
        }
        assert_eq!(
            o.none_apply(&clone).await,
            !paths[1..].iter().any(|p| p.exists())
        );
        let system_free = o.none_apply(&clone).await;

        // core.attributesFile, with ~ expanded, read by git from the config.
        std::fs::write(h.join("gitconfig"), "[core]\n\tattributesFile = ~/attrs\n").unwrap();
        let o = OutsideAttributes::new(runner.clone());
        let paths = o.ask_git(&clone).await.unwrap();
        assert_eq!(paths[0], h.join("attrs"));
        if let Some(g) = var("GIT_ATTR_GLOBAL") {
            assert_eq!(paths[0], g);
        }
        if system_free {
            assert!(o.none_apply(&clone).await);
            std::fs::write(h.join("attrs"), "* eol=crlf\n").unwrap();
            assert!(
                !o.none_apply(&clone).await,
                "the global file is looked at on every call"
            );
            std::fs::write(h.join("attrs"), "").unwrap();
            assert!(o.none_apply(&clone).await, "an empty file changes nothing");
            std::fs::write(clone.join("info/attributes"), "* text\n").unwrap();
            assert!(!o.none_apply(&clone).await);
        }
        // Configuration through the environment is not read here.
        let mut with_env = env.clone();
        with_env.push(("GIT_CONFIG_COUNT".to_string(), "1".to_string()));
        std::fs::write(clone.join("info/attributes"), CLONE_ATTRIBUTES).unwrap();
        let o = OutsideAttributes::new(Runner::new(Duration::from_secs(30), with_env));
        assert!(!o.none_apply(&clone).await);
    }
}
