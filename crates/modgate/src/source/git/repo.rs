//! One bare clone per repository, kept up to date on demand (the go command's
//! codehost/git.go `gitRepo`, with whole-repository fetches).
//!
//! The clone lives in `<cache>/git/<sha256 of the URL>`. A new clone is made with one
//! `git clone --bare` (heads, tags and the remote HEAD; built aside and renamed into
//! place) and its refs, read from the `packed-refs` file the clone writes, are the
//! remote's. After that, before answering, the remote's refs are listed with `git ls-remote`
//! (remembered for `refs_ttl`); when they differ from the clone's, the clone is fetched
//! again (`+refs/heads/*`, `+refs/tags/*`, pruned, plus the remote HEAD) and its refs
//! listed with `git for-each-ref`. One lock per repository makes concurrent requests share
//! one listing and one fetch. Everything else (cat-file, log, archive) reads the clone
//! without the lock. Commit times and file contents are immutable per commit and read
//! once ([`Objects`]): a commit and its root go.mod together, in-process from the clone's
//! objects ([`super::odb`], [`super::tree`]) or, when that cannot say, in one
//! `git cat-file --batch`. A module directory's files for its zip are read in-process too
//! when no attributes could apply ([`super::attributes`]), else `git archive` writes them.
//! So serving a module's first `.info`, `.mod` and `.zip` takes one `git clone`.
//! When the remote cannot be reached (a failure, not "no such repository"), a clone that
//! has refs answers from them, with a warning in the log.
//!
//! The lock is per process: two modgate processes sharing one data directory rely on
//! git's own ref locking.
//!
//! Under `[cache] max_bytes` the clone is counted in the store's ledger (`storage/evict.rs`)
//! after each fetch, held in use by every source call, and evicted when least recently
//! used; what was known of its refs is then forgotten and it is cloned again when next
//! needed. A fetch that fills the disk is tried once more after eviction made room.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::attributes::{CLONE_ATTRIBUTES, OutsideAttributes};
use super::cmd::{CmdError, Runner, dir_size};
use super::formats::{all_hex, batch_records, cloned_refs, committer_time};
use super::leftovers::TMP_PREFIX;
use super::objects::Objects;
use super::odb::{ObjectDb, OdbError};
use super::tree::{self, TreeFile, Walk};
use crate::error::{Error, Kind};
use crate::process::ProcessError;
use crate::storage::{InUse, Ledger};

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
    /// The remote's refs as last listed, and when.
    refs: Option<(Instant, Arc<Refs>)>,
    /// The clone's refs as last read or fetched (`HEAD`: the remote HEAD it fetched).
    local: Option<Refs>,
}

/// A bare clone of one remote repository.
pub struct GitRepo {
    dir: PathBuf,
    /// The clone's directory name (the SHA-256 of the URL), as the ledger names it.
    name: String,
    /// The size ledger (`[cache] max_bytes`), if the clone is counted.
    ledger: Option<Arc<Ledger>>,
    url: String,
    runner: Runner,
    refs_ttl: Duration,
    max_bytes: u64,
    objects: Arc<Objects>,
    attributes: Arc<OutsideAttributes>,
    state: tokio::sync::Mutex<State>,
}

const MAX_REFS_OUTPUT: u64 = 64 << 20;
/// Where the clone keeps the remote's HEAD commit.
const REMOTE_HEAD: &str = "refs/modgate/remote-head";
const REMOTE_HEAD_REFSPEC: &str = "+HEAD:refs/modgate/remote-head";
const MAX_SMALL_OUTPUT: u64 = 16 << 20;
/// The most a `cat-file --batch` of a commit and its go.mod may print.
const MAX_BATCH_OUTPUT: u64 = gomod::zip::MAX_GO_MOD + (1 << 20);

/// Why a fetch or clone failed.
enum FetchError {
    /// On the remote's side (unreachable, missing, refused, timed out): a listing says
    /// more.
    Remote(Error),
    /// On ours: too large, the disk full, the clone not writable. Nothing was kept.
    Local(Error),
}

fn is_hash_like(rev: &str) -> bool {
    (7..=40).contains(&rev.len()) && all_hex(rev)
}

impl GitRepo {
    /// A handle on the clone of `url` under `cache_dir/git`; nothing is run yet. `objects`
    /// is the memo of commit times and file contents, shared by all repositories.
    pub fn new(
        cache_dir: &Path,
        url: &str,
        runner: Runner,
        refs_ttl: Duration,
        max_bytes: u64,
        objects: Arc<Objects>,
    ) -> GitRepo {
        let hash = Sha256::digest(url.as_bytes());
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        GitRepo {
            dir: cache_dir.join("git").join(&hex),
            name: hex,
            ledger: None,
            url: url.to_string(),
            refs_ttl,
            max_bytes,
            objects,
            attributes: Arc::new(OutsideAttributes::new(runner.clone())),
            runner,
            state: tokio::sync::Mutex::new(State {
                refs: None,
                local: None,
            }),
        }
    }

    /// The same, asking `attributes` whether an in-process zip is git's (one answer
    /// shared by every repository of a source).
    pub fn with_attributes(mut self, attributes: Arc<OutsideAttributes>) -> GitRepo {
        self.attributes = attributes;
        self
    }

    /// The same, counted in `ledger` (eviction under `[cache] max_bytes`).
    pub fn with_ledger(mut self, ledger: Option<Arc<Ledger>>) -> GitRepo {
        self.ledger = ledger;
        self
    }

    /// Holds the clone in use until the guard is dropped: it is not evicted meanwhile
    /// (taken for the whole of a source call, so that no git command finds it gone); a
    /// use of it. `None` when it is not counted.
    pub fn in_use(&self) -> Option<InUse> {
        Some(self.ledger.as_ref()?.clone_in_use(&self.name))
    }

    /// Removes the clone (too large, or it filled the disk), and tells the ledger.
    async fn remove(&self) {
        let _ = tokio::fs::remove_dir_all(&self.dir).await;
        if let Some(l) = &self.ledger {
            l.clone_removed(&self.name);
        }
    }

    /// The remote URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn fail(&self, what: &str, e: CmdError) -> Error {
        let m = format!("{what} {}: {e}", self.url);
        match e {
            CmdError::Run(ProcessError::Timeout { .. }) => Error::timeout(m),
            _ => Error::failed(m),
        }
    }

    async fn git(&self, args: &[&str], max: u64) -> Result<Vec<u8>, CmdError> {
        self.runner.output(Some(&self.dir), args, max).await
    }

    /// A new directory name beside the clones, for one being built (then renamed into
    /// place): `.tmp-<pid>-<n>-<name>`, so that a later start can tell a dead process's
    /// leftovers ([`super::leftovers::sweep_leftovers`]).
    async fn aside(&self) -> Result<PathBuf, Error> {
        if self.url.starts_with('-') {
            return Err(Error::failed(format!(
                "refusing git URL {:?}: it would be read as an option",
                self.url
            )));
        }
        let parent = self.dir.parent().unwrap_or(Path::new("."));
        tokio::fs::create_dir_all(parent).await.map_err(|e| {
            Error::failed(format!(
                "creating git cache directory {}: {e}",
                parent.display()
            ))
        })?;
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let tmp = parent.join(format!(
            "{TMP_PREFIX}{}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            self.name
        ));
        let _ = tokio::fs::remove_dir_all(&tmp).await;
        Ok(tmp)
    }

    /// Moves the clone built in `tmp` into place, with the attributes every archive needs;
    /// false when another process put one there first (then `tmp` is removed).
    async fn put_in_place(&self, tmp: &Path) -> Result<bool, Error> {
        // As the go command does: archives must not expand or drop anything.
        let info = tmp.join("info");
        let _ = tokio::fs::create_dir_all(&info).await;
        tokio::fs::write(info.join("attributes"), CLONE_ATTRIBUTES)
            .await
            .map_err(|e| Error::failed(format!("writing {}: {e}", info.display())))?;
        match tokio::fs::rename(tmp, &self.dir).await {
            Ok(()) => Ok(true),
            Err(_) if self.dir.join("HEAD").exists() => {
                let _ = tokio::fs::remove_dir_all(tmp).await;
                Ok(false)
            }
            Err(e) => {
                let _ = tokio::fs::remove_dir_all(tmp).await;
                Err(Error::failed(format!(
                    "creating the clone {}: {e}",
                    self.dir.display()
                )))
            }
        }
    }

    /// Creates an empty bare clone if it is missing (atomically: built aside, then
    /// renamed), for a listing and a fetch to follow. The remote is named by its URL on
    /// every call, so the clone needs no remote configured.
    async fn ensure_init(&self) -> Result<(), Error> {
        if self.dir.join("HEAD").exists() {
            return Ok(());
        }
        let tmp = self.aside().await?;
        let tmp_s = tmp.to_string_lossy().into_owned();
        self.runner
            .output(
                None,
                // No template: a clone needs no sample hooks, description or excludes.
                &["init", "--bare", "--quiet", "--template=", &tmp_s],
                MAX_SMALL_OUTPUT,
            )
            .await
            .map_err(|e| self.fail("initializing the clone of", e))?;
        self.put_in_place(&tmp).await.map(|_| ())
    }

    /// Clones the remote into a new bare clone, built aside and then renamed into place:
    /// its heads, tags and HEAD (as `refs/modgate/remote-head`), as a first fetch into an
    /// empty clone brings them, in one git process instead of an init and a fetch. A clone
    /// also checks what it receives as one self-contained pack, where a fetch starts a
    /// `rev-list` over it. The remote config the clone writes is never used: later
    /// fetches name the URL.
    async fn clone_new(&self) -> Result<(), FetchError> {
        let tmp = self.aside().await.map_err(FetchError::Local)?;
        let tmp_s = tmp.to_string_lossy().into_owned();
        let head = format!("remote.origin.fetch={REMOTE_HEAD_REFSPEC}");
        let args = [
            "-c",
            "protocol.version=2",
            // One pack arrives; nothing for git's automatic maintenance to do.
            "-c",
            "maintenance.auto=false",
            "clone",
            "--bare",
            "--quiet",
            "--template=",
            // Named here: the user's clone.defaultRemoteName would not match the config.
            "--origin",
            "origin",
            "--config",
            &head,
            "--",
            &self.url,
            &tmp_s,
        ];
        let fetched = self.run_fetch(None, &args, &tmp).await;
        let size = match fetched {
            Ok(size) => size,
            Err(e) => {
                let _ = tokio::fs::remove_dir_all(&tmp).await;
                return Err(e);
            }
        };
        if self.put_in_place(&tmp).await.map_err(FetchError::Local)?
            && let Some(l) = &self.ledger
        {
            l.clone_grew(&self.name, size).await;
        }
        Ok(())
    }

    fn classify_remote_error(&self, e: CmdError) -> Error {
        let stderr = e.stderr().to_ascii_lowercase();
        if stderr.contains("could not read username")
            || stderr.contains("could not read password")
            || stderr.contains("terminal prompts disabled")
            || stderr.contains("permission denied (publickey")
            || stderr.contains("authentication failed")
        {
            return Error::failed(format!(
                "git ls-remote {}: the remote asks for credentials, and modgate never prompts: configure a git credential helper or ssh key for the user running modgate ({e})",
                self.url
            ));
        }
        if stderr.contains("does not appear to be a git repository")
            || stderr.contains("repository not found")
            || (stderr.contains("repository '") && stderr.contains("' not found"))
            || stderr.contains("does not exist")
        {
            return Error::not_found(format!(
                "git ls-remote {}: repository not found ({e})",
                self.url
            ));
        }
        self.fail("git ls-remote", e)
    }

    async fn ls_remote(&self) -> Result<Refs, Error> {
        let out = self
            .git(&["ls-remote", "-q", &self.url], MAX_REFS_OUTPUT)
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

    /// The clone's refs: heads and tags (annotated tags peeled), and as `HEAD` the remote
    /// HEAD it last fetched. The commit times of the commits they name go to the memo on
    /// the way, so that stating a tag or branch needs no `git log`.
    async fn local_refs(&self) -> Result<Refs, Error> {
        let out = self
            .git(
                &[
                    "for-each-ref",
                    "--format=%(objectname) %(objecttype) %(committerdate:unix) %(*objectname) %(*objecttype) %(*committerdate:unix) %(refname)",
                    "refs/heads",
                    "refs/tags",
                    REMOTE_HEAD,
                ],
                MAX_REFS_OUTPUT,
            )
            .await
            .map_err(|e| self.fail("listing the refs of the clone of", e))?;
        let mut refs = Refs::new();
        let mut nested = Vec::new();
        for line in String::from_utf8_lossy(&out).lines() {
            let f: Vec<&str> = line.split(' ').collect();
            let [obj, kind, time, peeled, peeled_kind, peeled_time, name] = f[..] else {
                continue;
            };
            let name = if name == REMOTE_HEAD { "HEAD" } else { name };
            let (hash, kind, time) = if peeled.is_empty() {
                (obj, kind, time)
            } else {
                (peeled, peeled_kind, peeled_time)
            };
            if kind == "tag" {
                // A tag of a tag: peeled fully below, as `git ls-remote` shows it.
                nested.push(name.to_string());
            } else if kind == "commit"
                && let Ok(t) = time.parse::<i64>()
            {
                self.objects.set_commit_time(hash, t);
            }
            refs.insert(name.to_string(), hash.to_string());
        }
        if !nested.is_empty() {
            let mut args = vec!["rev-parse".to_string()];
            args.extend(nested.iter().map(|n| format!("{n}^{{}}")));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = self
                .git(&args, MAX_REFS_OUTPUT)
                .await
                .map_err(|e| self.fail("peeling the tags of the clone of", e))?;
            for (name, hash) in nested.iter().zip(String::from_utf8_lossy(&out).lines()) {
                refs.insert(name.clone(), hash.trim().to_string());
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
    pub async fn refs(&self) -> Result<Arc<Refs>, Error> {
        let mut st = self.state.lock().await;
        if st.refs.is_some() && !self.dir.join("HEAD").exists() {
            // Evicted (or removed) since: what was known of it is fetched again.
            st.refs = None;
            st.local = None;
        }
        if let Some((at, refs)) = &st.refs
            && at.elapsed() < self.refs_ttl
        {
            return Ok(refs.clone());
        }
        if !self.dir.join("HEAD").exists() {
            // Nothing to compare a listing with: clone everything straight away, and the
            // clone's refs are then the remote's. When that fails on the remote's side
            // (an unreachable or missing repository), an empty clone is made and the
            // listing below says why.
            match self.clone_new().await {
                Ok(()) => {
                    let dir = self.dir.clone();
                    let local =
                        match tokio::task::spawn_blocking(move || cloned_refs(&dir, REMOTE_HEAD))
                            .await
                        {
                            Ok(Some(refs)) => refs,
                            _ => self.local_refs().await?,
                        };
                    let refs = Arc::new(local.clone());
                    st.local = Some(local);
                    st.refs = Some((Instant::now(), refs.clone()));
                    return Ok(refs);
                }
                // Too large, the disk full: nothing was kept, and listing would not help.
                Err(FetchError::Local(e)) => return Err(e),
                // The remote hangs: listing would not do better.
                Err(FetchError::Remote(e)) if e.kind() == Kind::Timeout => return Err(e),
                Err(FetchError::Remote(_)) => {}
            }
            self.ensure_init().await?;
        }
        let remote = match self.ls_remote().await {
            Ok(r) => r,
            Err(e) if matches!(e.kind(), Kind::Failed | Kind::Timeout) => {
                // The remote is unreachable (not gone): answer from the clone when it has
                // anything, as the go command answers from its cache.
                let local = self.local_refs().await?;
                if local.keys().all(|k| k == "HEAD") {
                    return Err(e);
                }
                tracing::warn!(
                    url = %self.url,
                    error = %e,
                    "git remote unreachable; answering from the local clone"
                );
                let refs = Arc::new(local.clone());
                st.local = Some(local);
                return Ok(refs);
            }
            Err(e) => return Err(e),
        };
        let local = match st.local.take() {
            Some(l) => l,
            None => self.local_refs().await?,
        };
        let same_refs = remote
            .iter()
            .filter(|(k, _)| *k != "HEAD")
            .eq(local.iter().filter(|(k, _)| *k != "HEAD"));
        let head = remote.get("HEAD");
        let head_missing = match head {
            Some(h) => !local.values().any(|v| v == h) && !self.has_commit(h).await,
            None => false,
        };
        st.local = if !same_refs || head_missing {
            self.fetch(head.is_some(), local.is_empty()).await?;
            Some(self.local_refs().await?)
        } else {
            Some(local)
        };
        let refs = Arc::new(remote);
        st.refs = Some((Instant::now(), refs.clone()));
        Ok(refs)
    }

    /// Fetches the remote's heads and tags (and HEAD) into the clone; `first` for the
    /// fetch into an empty clone.
    async fn fetch(&self, with_head: bool, first: bool) -> Result<(), Error> {
        // What arrives is kept as one pack (not an object file per object: on a busy file
        // system creating files is what a small fetch spends its time on), and no
        // FETCH_HEAD is written. A first fetch leaves one pack: nothing for git's automatic
        // maintenance to do, so it is not started; later fetches let it pack up.
        let mut args = vec!["-c", "protocol.version=2", "-c", "fetch.unpackLimit=1"];
        if first {
            args.extend(["-c", "maintenance.auto=false"]);
        }
        args.extend([
            "fetch",
            "-f",
            "--prune",
            "--no-tags",
            "--no-write-fetch-head",
            "--quiet",
            &self.url,
            "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*",
        ]);
        if with_head {
            args.push(REMOTE_HEAD_REFSPEC);
        }
        let size = self
            .run_fetch(Some(&self.dir), &args, &self.dir)
            .await
            .map_err(|e| match e {
                FetchError::Local(e) => e,
                // A repository that was listed cannot be gone: a fetch error is a failure.
                FetchError::Remote(e) => {
                    let kind = match e.kind() {
                        Kind::Timeout => Kind::Timeout,
                        _ => Kind::Failed,
                    };
                    Error::new(kind, e.message().replacen("git ls-remote", "git fetch", 1))
                }
            })?;
        if let Some(l) = &self.ledger {
            l.clone_grew(&self.name, size).await;
        }
        Ok(())
    }

    /// Runs `git args` (a fetch or a clone, in `cwd`) writing into the clone `dir`,
    /// bounded by `max_repo_bytes` while it runs and after; its size on disk when it
    /// succeeded. A fetch that fills the disk is tried once more after eviction made
    /// room; a clone over its bound or that filled the disk is removed.
    async fn run_fetch(
        &self,
        cwd: Option<&Path>,
        args: &[&str],
        dir: &Path,
    ) -> Result<u64, FetchError> {
        let run = || {
            self.runner
                .output_watched(cwd, args, MAX_SMALL_OUTPUT, (dir, self.max_bytes))
        };
        let no_space = |r: &Result<Vec<u8>, CmdError>| {
            r.as_ref().is_err_and(|e| {
                e.stderr()
                    .to_ascii_lowercase()
                    .contains("no space left on device")
            })
        };
        let mut fetched = run().await;
        if no_space(&fetched)
            && let Some(l) = &self.ledger
            && l.free_after_full(0).await > 0
        {
            // Least recently used entries made room (this clone is in use): once more,
            // a clone into an empty directory again.
            if dir != self.dir {
                let _ = tokio::fs::remove_dir_all(dir).await;
            }
            fetched = run().await;
        }
        if let Err(CmdError::DiskLimit(_)) = fetched {
            self.discard(dir).await;
            return Err(FetchError::Local(Error::failed(format!(
                "git fetch {}: the repository takes more than the limit of {} bytes; the fetch was stopped and the clone removed (raise max_repo_bytes to serve it)",
                self.url, self.max_bytes
            ))));
        }
        if no_space(&fetched) {
            // A clone that filled the disk would keep it full for every later fetch.
            self.discard(dir).await;
            let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
            return Err(FetchError::Local(Error::storage(&full, dir).map_message(
                |m| format!("git fetch {}: {m}; the partial clone was removed", self.url),
            )));
        }
        fetched.map_err(|e| FetchError::Remote(self.classify_remote_error(e)))?;
        let size = dir_size(dir).await;
        if size > self.max_bytes {
            self.discard(dir).await;
            return Err(FetchError::Local(Error::failed(format!(
                "git fetch {}: the repository takes {size} bytes, more than the limit of {} bytes; the clone was removed (raise max_repo_bytes to serve it)",
                self.url, self.max_bytes
            ))));
        }
        Ok(size)
    }

    /// Removes `dir`: the clone (then the ledger is told), or one being built aside.
    async fn discard(&self, dir: &Path) {
        if dir == self.dir {
            self.remove().await;
        } else {
            let _ = tokio::fs::remove_dir_all(dir).await;
        }
    }

    /// The commit `rev` names in the clone (the go command's `statLocal`): its hash and
    /// time from the memo when `rev` is a full hash or a ref in `refs`, else from `git log`;
    /// its tags from `refs` (the clone's tags are the remote's).
    async fn stat_local(&self, version: &str, rev: &str, refs: &Refs) -> Result<RevInfo, Error> {
        let known = if rev.len() == 40 && all_hex(rev) {
            Some(rev)
        } else {
            refs.get(rev).map(String::as_str)
        };
        let memo = known.and_then(|h| Some((h.to_string(), self.objects.commit_time(h)?)));
        let (hash, time) = match memo {
            Some(ht) => ht,
            None => {
                let ht = self.load_commit(known.unwrap_or(rev)).await?;
                self.objects.set_commit_time(&ht.0, ht.1);
                ht
            }
        };
        let tags: Vec<String> = refs
            .iter()
            .filter(|(_, h)| **h == hash)
            .filter_map(|(r, _)| r.strip_prefix("refs/tags/").map(str::to_string))
            .collect();
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

    /// The commit `rev` names: its full hash and commit time, with its root `go.mod` read
    /// on the way into the memo (what is asked next nearly every time): in-process for a
    /// full hash ([`Self::load_commit_here`]), else (or when that cannot say) in one
    /// `git cat-file --batch`. Falls back to `git log` when that cannot say.
    async fn load_commit(&self, rev: &str) -> Result<(String, i64), Error> {
        if rev.contains(['\n', '\r', '\0']) {
            return Err(Error::not_found(format!("unknown revision {rev}")));
        }
        if rev.len() == 40
            && all_hex(rev)
            && let Some(found) = self.load_commit_here(rev).await
        {
            return Ok(found);
        }
        let input = format!("{rev}^{{commit}}\n{rev}^{{commit}}:go.mod\n");
        let out = match self
            .runner
            .output_with_input(
                Some(&self.dir),
                &["cat-file", "--batch"],
                input.as_bytes(),
                MAX_BATCH_OUTPUT,
            )
            .await
        {
            Ok(out) => out,
            // A go.mod too large to read here: `git log` says what the commit is.
            Err(CmdError::Run(ProcessError::TooLarge(_))) => return self.log_commit(rev).await,
            Err(e) => return Err(self.fail("git cat-file in the clone of", e)),
        };
        let records = match batch_records(&out, 2) {
            Some(r) => r,
            None => {
                return Err(Error::failed(format!(
                    "unexpected response from git cat-file --batch in the clone of {}",
                    self.url
                )));
            }
        };
        let Some((hash, "commit", commit)) = records[0] else {
            return Err(Error::not_found(format!("unknown revision {rev}")));
        };
        let Some(time) = committer_time(commit) else {
            // A commit whose committer line this cannot read: as `git log` tells it.
            return self.log_commit(rev).await;
        };
        let go_mod = match records[1] {
            Some((_, "blob", content)) => Some(Arc::from(content)),
            _ => None,
        };
        self.objects.set_file(hash, "go.mod", go_mod);
        Ok((hash.to_string(), time))
    }

    /// [`Self::load_commit`] of the full hash `id` read in-process, with no git process;
    /// `None` when git must say.
    async fn load_commit_here(&self, id: &str) -> Option<(String, i64)> {
        let id = id.to_string();
        let found = self
            .read_here(move |db| {
                let (hash, commit) = match tree::commit(db, &id)? {
                    Walk::Found(c) => c,
                    _ => return Ok(Walk::AskGit),
                };
                let Some(time) = committer_time(&commit) else {
                    return Ok(Walk::AskGit);
                };
                let go_mod = match tree::read_file(db, &hash, "go.mod", gomod::zip::MAX_GO_MOD) {
                    Ok(Walk::Found(b)) => Some(Some(b)),
                    Ok(Walk::Missing) => Some(None),
                    // Too large or unsure: left for a later read to report.
                    Ok(Walk::AskGit) | Err(_) => None,
                };
                Ok(Walk::Found((hash, time, go_mod)))
            })
            .await;
        let Walk::Found((hash, time, go_mod)) = found.ok()? else {
            return None;
        };
        if let Some(g) = go_mod {
            self.objects.set_file(&hash, "go.mod", g.map(Arc::from));
        }
        Some((hash, time))
    }

    /// Runs `read` on the clone's object store (opened for this call, as the clone is
    /// now) where blocking is allowed (at low priority for work done ahead).
    async fn read_here<T: Send + 'static>(
        &self,
        read: impl FnOnce(&ObjectDb) -> Result<Walk<T>, OdbError> + Send + 'static,
    ) -> Result<Walk<T>, OdbError> {
        let dir = self.dir.clone();
        let done =
            crate::platform::background::run_blocking(move || read(&ObjectDb::open(&dir)?)).await;
        let result = done.unwrap_or(Ok(Walk::AskGit));
        if let Err(e) = &result
            && !matches!(e, OdbError::TooLarge(_))
        {
            tracing::debug!(clone = %self.dir.display(), error = %e, "asking git instead");
        }
        result
    }

    /// The files of `subdir` (empty: all) at commit `hash`, read in-process, when that
    /// gives what `git archive` would ([`tree::files`]: no attributes, nothing unusual,
    /// at most `max` bytes); `None` when git must make the archive.
    pub async fn tree_files(&self, hash: &str, subdir: &str, max: u64) -> Option<Vec<TreeFile>> {
        if !self.attributes.none_apply(&self.dir).await {
            return None;
        }
        let (hash, subdir) = (hash.to_string(), subdir.to_string());
        match self
            .read_here(move |db| tree::files(db, &hash, &subdir, max))
            .await
        {
            Ok(Walk::Found(files)) => Some(files),
            _ => None,
        }
    }

    /// `git log -1` of `rev`: its full hash and commit time.
    async fn log_commit(&self, rev: &str) -> Result<(String, i64), Error> {
        let out = self
            .git(
                &[
                    "-c",
                    "log.showsignature=false",
                    "log",
                    "--no-decorate",
                    "-n1",
                    "--format=format:%H %ct",
                    rev,
                    "--",
                ],
                MAX_SMALL_OUTPUT,
            )
            .await
            .map_err(|e| match e {
                CmdError::Exit(..) => Error::not_found(format!("unknown revision {rev}")),
                other => self.fail("git log in the clone of", other),
            })?;
        let text = String::from_utf8_lossy(&out);
        let f: Vec<&str> = text.split_whitespace().collect();
        if f.len() != 2 || f[0].len() != 40 || !all_hex(f[0]) {
            return Err(Error::failed(format!(
                "unexpected response from git log: {text:?}"
            )));
        }
        let time: i64 = f[1]
            .parse()
            .map_err(|_| Error::failed(format!("invalid time from git log: {text:?}")))?;
        Ok((f[0].to_string(), time))
    }

    /// Resolves `rev` (tag, branch, `HEAD`, hash or hash prefix) to a commit of the clone,
    /// as the go command's `gitRepo.stat` does.
    pub async fn stat(&self, rev: &str) -> Result<RevInfo, Error> {
        let refs = self.refs().await?;
        if rev.starts_with('-') || rev.is_empty() {
            return Err(Error::not_found(format!("unknown revision {rev}")));
        }
        if is_hash_like(rev)
            && let Ok(info) = self.stat_local(rev, rev, &refs).await
        {
            return Ok(info);
        }
        let tag_ref = format!("refs/tags/{rev}");
        let head_ref = format!("refs/heads/{rev}");
        if refs.contains_key(&tag_ref) {
            return self.stat_local(rev, &tag_ref, &refs).await;
        }
        if let Some(h) = refs.get(&head_ref) {
            return self.stat_local(h, h, &refs).await;
        }
        if rev == "HEAD"
            && let Some(h) = refs.get("HEAD")
        {
            return self.stat_local(h, h, &refs).await;
        }
        if is_hash_like(rev) {
            let mut hash: Option<&String> = None;
            for h in refs.values() {
                if h.starts_with(rev) {
                    if hash.is_some_and(|x| x != h) {
                        return Err(Error::not_found(format!("ambiguous revision {rev}")));
                    }
                    hash = Some(h);
                }
            }
            if let Some(h) = hash {
                return self.stat_local(h, h, &refs).await;
            }
            return self.stat_local(rev, rev, &refs).await;
        }
        Err(Error::not_found(format!("unknown revision {rev}")))
    }

    /// The remote's tags starting with `prefix`, sorted by name: (name, commit hash).
    pub async fn tags(&self, prefix: &str) -> Result<Vec<(String, String)>, Error> {
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
    ) -> Result<Option<Vec<u8>>, Error> {
        let too_large = |n: u64| {
            Error::failed(format!(
                "{} at {hash}: {file} is larger than {n} bytes",
                self.url
            ))
        };
        let memo = hash.len() == 40 && all_hex(hash);
        if memo && let Some(known) = self.objects.file(hash, file) {
            return match known {
                Some(b) if b.len() as u64 > max => Err(too_large(max)),
                other => Ok(other.map(|b| b.to_vec())),
            };
        }
        if memo {
            let (h, f) = (hash.to_string(), file.to_string());
            match self
                .read_here(move |db| tree::read_file(db, &h, &f, max))
                .await
            {
                Ok(Walk::Found(b)) => {
                    self.objects.set_file(hash, file, Some(Arc::from(&b[..])));
                    return Ok(Some(b));
                }
                Ok(Walk::Missing) => {
                    self.objects.set_file(hash, file, None);
                    return Ok(None);
                }
                Err(OdbError::TooLarge(_)) => return Err(too_large(max)),
                Ok(Walk::AskGit) | Err(_) => {}
            }
        }
        match self
            .git(&["cat-file", "blob", &format!("{hash}:{file}")], max)
            .await
        {
            Ok(b) => {
                if memo {
                    self.objects.set_file(hash, file, Some(Arc::from(&b[..])));
                }
                Ok(Some(b))
            }
            Err(CmdError::Run(ProcessError::TooLarge(n))) => Err(too_large(n)),
            Err(CmdError::Run(ProcessError::Timeout { after: d, .. })) => {
                Err(Error::timeout(format!(
                    "git cat-file in the clone of {} timed out after {}s",
                    self.url,
                    d.as_secs()
                )))
            }
            Err(CmdError::Exit(..)) => {
                if memo {
                    self.objects.set_file(hash, file, None);
                }
                Ok(None)
            }
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
    ) -> Result<String, Error> {
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
    pub async fn descends_from(&self, hash: &str, tag: &str) -> Result<bool, Error> {
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
    ) -> Result<u64, Error> {
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
        let mut f = tokio::fs::File::create(dest).await.map_err(|e| {
            Error::storage(&e, dest).map_message(|m| format!("creating {}: {m}", dest.display()))
        })?;
        self.runner
            .run(Some(&self.dir), &args, max, &mut f)
            .await
            .map_err(|e| {
                let written = match &e {
                    CmdError::Run(p) => p.io_error(),
                    _ => None,
                };
                match written {
                    // The tar is written into the data directory: a full disk there is
                    // local (507), not the repository's failure.
                    Some(io) if crate::error::is_full(&io) => Error::storage(&io, dest)
                        .map_message(|m| format!("git archive in the clone of {}: {m}", self.url)),
                    _ if e.stderr().contains("did not match any files") => {
                        Error::not_found(format!("{subdir}: no files at {hash}"))
                    }
                    _ => self.fail("git archive in the clone of", e),
                }
            })
    }
}
