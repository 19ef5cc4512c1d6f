//! One bare clone per repository, kept up to date on demand (the go command's
//! codehost/git.go `gitRepo`, with whole-repository fetches).
//!
//! The clone lives in `<cache>/git/<sha256 of the URL>`. Before answering, the remote's refs
//! are listed with `git ls-remote` (remembered for `refs_ttl`); when they differ from the
//! clone's, the clone is fetched (`+refs/heads/*`, `+refs/tags/*`, pruned, plus the remote
//! HEAD). One lock per repository makes concurrent requests share one listing and one
//! fetch. Everything else (log, cat-file, archive) reads the clone without the lock.
//! When the remote cannot be reached (a failure, not "no such repository"), a clone that
//! has refs answers from them, with a warning in the log.
//!
//! The lock is per process: two modgate processes sharing one data directory rely on
//! git's own ref locking.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::cmd::{CmdError, Runner, dir_size};

/// Why a repository operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitError {
    /// The repository, revision or file does not exist.
    NotFound(String),
    /// Anything else (network, timeout, bounds, git errors).
    Failed(String),
}

impl std::fmt::Display for GitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitError::NotFound(m) | GitError::Failed(m) => f.write_str(m),
        }
    }
}

/// A commit as `git log` describes it (the go command's `codehost.RevInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevInfo {
    /// The full commit hash.
    pub name: String,
    /// Its 12-character prefix.
    pub short: String,
    /// The commit (committer) time, Unix seconds.
    pub time: i64,
    /// The revision as asked for when it is a tag on this commit, else the hash.
    pub version: String,
    /// The tags on this commit, sorted.
    pub tags: Vec<String>,
}

/// The remote's refs: `HEAD`, `refs/heads/*`, `refs/tags/*` -> commit hash (annotated
/// tags peeled), as the go command's `loadRefs` keeps them.
pub type Refs = BTreeMap<String, String>;

struct State {
    refs: Option<(Instant, Arc<Refs>)>,
}

/// A bare clone of one remote repository.
pub struct GitRepo {
    dir: PathBuf,
    url: String,
    runner: Runner,
    refs_ttl: Duration,
    max_bytes: u64,
    state: tokio::sync::Mutex<State>,
}

const MAX_REFS_OUTPUT: u64 = 64 << 20;
const MAX_SMALL_OUTPUT: u64 = 16 << 20;

fn all_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn is_hash_like(rev: &str) -> bool {
    (7..=40).contains(&rev.len()) && all_hex(rev)
}

impl GitRepo {
    /// A handle on the clone of `url` under `cache_dir/git`; nothing is run yet.
    pub fn new(
        cache_dir: &Path,
        url: &str,
        runner: Runner,
        refs_ttl: Duration,
        max_bytes: u64,
    ) -> GitRepo {
        let hash = Sha256::digest(url.as_bytes());
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        GitRepo {
            dir: cache_dir.join("git").join(hex),
            url: url.to_string(),
            runner,
            refs_ttl,
            max_bytes,
            state: tokio::sync::Mutex::new(State { refs: None }),
        }
    }

    /// The remote URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn fail(&self, what: &str, e: CmdError) -> GitError {
        GitError::Failed(format!("{what} {}: {e}", self.url))
    }

    async fn git(&self, args: &[&str], max: u64) -> Result<Vec<u8>, CmdError> {
        self.runner.output(Some(&self.dir), args, max).await
    }

    /// Creates the bare clone if it is missing (atomically: built aside, then renamed).
    async fn ensure_init(&self) -> Result<(), GitError> {
        if self.dir.join("HEAD").exists() {
            return Ok(());
        }
        let parent = self.dir.parent().unwrap_or(Path::new("."));
        tokio::fs::create_dir_all(parent).await.map_err(|e| {
            GitError::Failed(format!(
                "creating git cache directory {}: {e}",
                parent.display()
            ))
        })?;
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let tmp = parent.join(format!(
            ".tmp-{}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            self.dir
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("repo")
        ));
        let _ = tokio::fs::remove_dir_all(&tmp).await;
        let tmp_s = tmp.to_string_lossy().into_owned();
        self.runner
            .output(
                None,
                &["init", "--bare", "--quiet", &tmp_s],
                MAX_SMALL_OUTPUT,
            )
            .await
            .map_err(|e| self.fail("initializing the clone of", e))?;
        self.runner
            .output(
                Some(&tmp),
                &["remote", "add", "origin", "--", &self.url],
                MAX_SMALL_OUTPUT,
            )
            .await
            .map_err(|e| self.fail("configuring the clone of", e))?;
        // As the go command does: archives must not expand or drop anything.
        let info = tmp.join("info");
        let _ = tokio::fs::create_dir_all(&info).await;
        tokio::fs::write(
            info.join("attributes"),
            "\n* -export-subst -export-ignore\n",
        )
        .await
        .map_err(|e| GitError::Failed(format!("writing {}: {e}", info.display())))?;
        match tokio::fs::rename(&tmp, &self.dir).await {
            Ok(()) => Ok(()),
            Err(_) if self.dir.join("HEAD").exists() => {
                let _ = tokio::fs::remove_dir_all(&tmp).await;
                Ok(())
            }
            Err(e) => Err(GitError::Failed(format!(
                "creating the clone {}: {e}",
                self.dir.display()
            ))),
        }
    }

    fn classify_remote_error(&self, e: CmdError) -> GitError {
        let stderr = e.stderr().to_ascii_lowercase();
        if stderr.contains("could not read username")
            || stderr.contains("could not read password")
            || stderr.contains("terminal prompts disabled")
            || stderr.contains("permission denied (publickey")
            || stderr.contains("authentication failed")
        {
            return GitError::Failed(format!(
                "git ls-remote {}: the remote asks for credentials, and modgate never prompts: configure a git credential helper or ssh key for the user running modgate ({e})",
                self.url
            ));
        }
        if stderr.contains("does not appear to be a git repository")
            || stderr.contains("repository not found")
            || (stderr.contains("repository '") && stderr.contains("' not found"))
            || stderr.contains("does not exist")
        {
            return GitError::NotFound(format!(
                "git ls-remote {}: repository not found ({e})",
                self.url
            ));
        }
        self.fail("git ls-remote", e)
    }

    async fn ls_remote(&self) -> Result<Refs, GitError> {
        let out = self
            .git(&["ls-remote", "-q", "origin"], MAX_REFS_OUTPUT)
            .await
            .map_err(|e| self.classify_remote_error(e))?;
        let text = String::from_utf8_lossy(&out);
        let mut refs = Refs::new();
        let mut peeled = Vec::new();
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() != 2 {
                continue;
            }
            let (hash, name) = (f[0], f[1]);
            if let Some(base) = name.strip_suffix("^{}") {
                if base.starts_with("refs/tags/") {
                    peeled.push((base.to_string(), hash.to_string()));
                }
                continue;
            }
            if name == "HEAD" || name.starts_with("refs/heads/") || name.starts_with("refs/tags/") {
                refs.insert(name.to_string(), hash.to_string());
            }
        }
        for (k, h) in peeled {
            refs.insert(k, h);
        }
        Ok(refs)
    }

    async fn local_refs(&self) -> Result<Refs, GitError> {
        let out = self
            .git(
                &[
                    "for-each-ref",
                    "--format=%(objectname) %(*objectname) %(refname)",
                    "refs/heads",
                    "refs/tags",
                ],
                MAX_REFS_OUTPUT,
            )
            .await
            .map_err(|e| self.fail("listing the refs of the clone of", e))?;
        let mut refs = Refs::new();
        for line in String::from_utf8_lossy(&out).lines() {
            let f: Vec<&str> = line.split(' ').collect();
            if f.len() == 3 {
                let hash = if f[1].is_empty() { f[0] } else { f[1] };
                refs.insert(f[2].to_string(), hash.to_string());
            }
        }
        Ok(refs)
    }

    async fn has_commit(&self, hash: &str) -> bool {
        self.git(
            &["cat-file", "-e", &format!("{hash}^{{commit}}")],
            MAX_SMALL_OUTPUT,
        )
        .await
        .is_ok()
    }

    /// The remote's refs, with the clone brought up to date with them.
    pub async fn refs(&self) -> Result<Arc<Refs>, GitError> {
        let mut st = self.state.lock().await;
        if let Some((at, refs)) = &st.refs
            && at.elapsed() < self.refs_ttl
        {
            return Ok(refs.clone());
        }
        self.ensure_init().await?;
        let remote = match self.ls_remote().await {
            Ok(r) => r,
            Err(GitError::Failed(m)) => {
                // The remote is unreachable (not gone): answer from the clone when it has
                // anything, as the go command answers from its cache.
                let mut local = self.local_refs().await?;
                if local.is_empty() {
                    return Err(GitError::Failed(m));
                }
                if let Ok(out) = self
                    .git(
                        &["rev-parse", "--verify", "-q", "refs/modgate/remote-head"],
                        MAX_SMALL_OUTPUT,
                    )
                    .await
                {
                    let h = String::from_utf8_lossy(&out).trim().to_string();
                    if !h.is_empty() {
                        local.insert("HEAD".into(), h);
                    }
                }
                tracing::warn!(
                    url = %self.url,
                    error = %m,
                    "git remote unreachable; answering from the local clone"
                );
                return Ok(Arc::new(local));
            }
            Err(e) => return Err(e),
        };
        let local = self.local_refs().await?;
        let mut want: Refs = remote.clone();
        let head = want.remove("HEAD");
        let head_missing = match &head {
            Some(h) => !self.has_commit(h).await,
            None => false,
        };
        if want != local || head_missing {
            self.fetch(head.is_some()).await?;
        }
        let refs = Arc::new(remote);
        st.refs = Some((Instant::now(), refs.clone()));
        Ok(refs)
    }

    async fn fetch(&self, with_head: bool) -> Result<(), GitError> {
        let mut args = vec![
            "-c",
            "protocol.version=2",
            "fetch",
            "-f",
            "--prune",
            "--no-tags",
            "--quiet",
            "origin",
            "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*",
        ];
        if with_head {
            args.push("+HEAD:refs/modgate/remote-head");
        }
        let fetched = self
            .runner
            .output_watched(
                Some(&self.dir),
                &args,
                MAX_SMALL_OUTPUT,
                (&self.dir, self.max_bytes),
            )
            .await;
        if let Err(CmdError::DiskLimit(_)) = fetched {
            let _ = tokio::fs::remove_dir_all(&self.dir).await;
            return Err(GitError::Failed(format!(
                "git fetch {}: the repository takes more than the limit of {} bytes; the fetch was stopped and the clone removed (raise max_repo_bytes to serve it)",
                self.url, self.max_bytes
            )));
        }
        fetched
            .map_err(|e| self.classify_remote_error(e))
            .map_err(|e| match e {
                GitError::Failed(m) | GitError::NotFound(m) => {
                    GitError::Failed(m.replacen("git ls-remote", "git fetch", 1))
                }
            })?;
        let size = dir_size(&self.dir).await;
        if size > self.max_bytes {
            let _ = tokio::fs::remove_dir_all(&self.dir).await;
            return Err(GitError::Failed(format!(
                "git fetch {}: the repository takes {size} bytes, more than the limit of {} bytes; the clone was removed (raise max_repo_bytes to serve it)",
                self.url, self.max_bytes
            )));
        }
        Ok(())
    }

    /// `git log -1` of `rev` in the clone (the go command's `statLocal`).
    async fn stat_local(&self, version: &str, rev: &str) -> Result<RevInfo, GitError> {
        let out = self
            .git(
                &[
                    "-c",
                    "log.showsignature=false",
                    "log",
                    "--no-decorate",
                    "-n1",
                    "--format=format:%H %ct %D",
                    rev,
                    "--",
                ],
                MAX_SMALL_OUTPUT,
            )
            .await
            .map_err(|e| match e {
                CmdError::Exit(..) => GitError::NotFound(format!("unknown revision {rev}")),
                other => self.fail("git log in the clone of", other),
            })?;
        let text = String::from_utf8_lossy(&out);
        let f: Vec<&str> = text.split_whitespace().collect();
        if f.len() < 2 {
            return Err(GitError::Failed(format!(
                "unexpected response from git log: {text:?}"
            )));
        }
        let hash = f[0].to_string();
        let time: i64 = f[1]
            .parse()
            .map_err(|_| GitError::Failed(format!("invalid time from git log: {text:?}")))?;
        let mut tags = Vec::new();
        let mut i = 2;
        while i < f.len() {
            if f[i] == "tag:" {
                i += 1;
                if i < f.len() {
                    tags.push(f[i].trim_end_matches(',').to_string());
                }
            }
            i += 1;
        }
        tags.sort();
        let version = if hash.starts_with(version) {
            hash.clone()
        } else {
            version.to_string()
        };
        let version = if tags.contains(&version) {
            version
        } else {
            hash.clone()
        };
        Ok(RevInfo {
            short: hash.chars().take(12).collect(),
            name: hash,
            time,
            version,
            tags,
        })
    }

    /// Resolves `rev` (tag, branch, `HEAD`, hash or hash prefix) to a commit of the clone,
    /// as the go command's `gitRepo.stat` does.
    pub async fn stat(&self, rev: &str) -> Result<RevInfo, GitError> {
        let refs = self.refs().await?;
        if rev.starts_with('-') || rev.is_empty() {
            return Err(GitError::NotFound(format!("unknown revision {rev}")));
        }
        if is_hash_like(rev)
            && let Ok(info) = self.stat_local(rev, rev).await
        {
            return Ok(info);
        }
        let tag_ref = format!("refs/tags/{rev}");
        let head_ref = format!("refs/heads/{rev}");
        if refs.contains_key(&tag_ref) {
            return self.stat_local(rev, &tag_ref).await;
        }
        if let Some(h) = refs.get(&head_ref) {
            return self.stat_local(h, h).await;
        }
        if rev == "HEAD"
            && let Some(h) = refs.get("HEAD")
        {
            return self.stat_local(h, h).await;
        }
        if is_hash_like(rev) {
            let mut hash: Option<&String> = None;
            for h in refs.values() {
                if h.starts_with(rev) {
                    if hash.is_some_and(|x| x != h) {
                        return Err(GitError::NotFound(format!("ambiguous revision {rev}")));
                    }
                    hash = Some(h);
                }
            }
            if let Some(h) = hash {
                return self.stat_local(h, h).await;
            }
            return self.stat_local(rev, rev).await;
        }
        Err(GitError::NotFound(format!("unknown revision {rev}")))
    }

    /// The remote's tags starting with `prefix`, sorted by name: (name, commit hash).
    pub async fn tags(&self, prefix: &str) -> Result<Vec<(String, String)>, GitError> {
        let refs = self.refs().await?;
        Ok(refs
            .iter()
            .filter_map(|(r, h)| {
                let t = r.strip_prefix("refs/tags/")?;
                t.starts_with(prefix).then(|| (t.to_string(), h.clone()))
            })
            .collect())
    }

    /// The content of `file` at commit `hash`, or `None` when it does not exist there.
    pub async fn read_file(
        &self,
        hash: &str,
        file: &str,
        max: u64,
    ) -> Result<Option<Vec<u8>>, GitError> {
        match self
            .git(&["cat-file", "blob", &format!("{hash}:{file}")], max)
            .await
        {
            Ok(b) => Ok(Some(b)),
            Err(CmdError::TooLarge(n)) => Err(GitError::Failed(format!(
                "{} at {hash}: {file} is larger than {n} bytes",
                self.url
            ))),
            Err(CmdError::Timeout(d)) => Err(GitError::Failed(format!(
                "git cat-file in the clone of {} timed out after {}s",
                self.url,
                d.as_secs()
            ))),
            Err(_) => Ok(None),
        }
    }

    /// The highest semver tag `prefix+vX.Y.Z` merged into `hash` that `allowed` accepts
    /// (the go command's `RecentTag`).
    pub async fn recent_tag(
        &self,
        hash: &str,
        prefix: &str,
        allowed: impl Fn(&str) -> bool,
    ) -> Result<String, GitError> {
        let out = self
            .git(
                &[
                    "for-each-ref",
                    "--format",
                    "%(refname)",
                    "refs/tags",
                    "--merged",
                    hash,
                ],
                MAX_REFS_OUTPUT,
            )
            .await
            .map_err(|e| self.fail("listing tags merged into a commit of", e))?;
        let mut highest = String::new();
        for line in String::from_utf8_lossy(&out).lines() {
            let Some(t) = line.trim().strip_prefix("refs/tags/") else {
                continue;
            };
            if !t.starts_with(prefix) || !allowed(t) {
                continue;
            }
            let sem = &t[prefix.len()..];
            if gomod::semver::compare(sem, &highest) == std::cmp::Ordering::Greater {
                highest = sem.to_string();
            }
        }
        Ok(if highest.is_empty() {
            String::new()
        } else {
            format!("{prefix}{highest}")
        })
    }

    /// Whether tag `tag` is an ancestor of commit `hash`.
    pub async fn descends_from(&self, hash: &str, tag: &str) -> Result<bool, GitError> {
        match self
            .git(
                &["merge-base", "--is-ancestor", "--", tag, hash],
                MAX_SMALL_OUTPUT,
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some(1) => Ok(false),
            Err(e) => Err(self.fail("git merge-base in the clone of", e)),
        }
    }

    /// Writes `git archive --format=tar` of `subdir` (or everything) at `hash` to `dest`.
    pub async fn archive_tar(
        &self,
        hash: &str,
        subdir: &str,
        dest: &Path,
        max: u64,
    ) -> Result<u64, GitError> {
        let mut args = vec![
            "-c",
            "core.autocrlf=input",
            "-c",
            "core.eol=lf",
            "archive",
            "--format=tar",
            "--prefix=prefix/",
            hash,
        ];
        if !subdir.is_empty() {
            args.push("--");
            args.push(subdir);
        }
        let mut f = tokio::fs::File::create(dest)
            .await
            .map_err(|e| GitError::Failed(format!("creating {}: {e}", dest.display())))?;
        self.runner
            .run(Some(&self.dir), &args, max, &mut f)
            .await
            .map_err(|e| {
                if e.stderr().contains("did not match any files") {
                    GitError::NotFound(format!("{subdir}: no files at {hash}"))
                } else {
                    self.fail("git archive in the clone of", e)
                }
            })
    }
}
