//! The `direct` source: modules fetched from git, as the go command does with
//! `GOPROXY=direct`, with no go toolchain.
//!
//! - [`resolve`]: module path -> repository root and URL (static host table, `.git`
//!   paths, `?go-get=1` discovery);
//! - [`cmd`]: running `git` without prompts, bounded in time and output;
//! - [`repo`]: one bare clone per repository under `<cache>/git/<sha256 of URL>`;
//! - [`objects`]: commit times and file contents, read once;
//! - [`versions`]: tags and commits -> module versions (coderepo.go);
//! - [`odb`], [`tree`]: the clone's objects and trees read in-process (a commit, a file,
//!   a module directory's files), where that is what git would give;
//! - [`attributes`]: whether gitattributes outside a commit could change an archive;
//! - [`zip`]: `git archive` (or the files read in-process) -> module zip.
//!
//! git runs with the environment of the process (so the user's `GIT_CONFIG_GLOBAL`,
//! credential helpers, `insteadOf` rules and ssh keys apply), minus anything that could
//! prompt.

mod attributes;
pub mod cmd;
mod formats;
mod leftovers;
pub mod objects;
pub mod odb;
pub mod origin;
pub mod repo;
pub mod resolve;
pub mod tree;
pub mod versions;
pub mod zip;

/// git for the unit tests of the in-process readers: the repository's own config only.
#[cfg(test)]
mod tests_git {
    use std::path::Path;

    /// Runs git in `dir` with no global or system config; its stdout (it must succeed).
    pub fn git(dir: &Path, args: &[&str]) -> Vec<u8> {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use gomod::pseudo::Timestamp;

use super::{Info, Source};
use crate::error::{Error, Kind};
use cmd::Runner;
use objects::Objects;
use repo::GitRepo;
use resolve::{RepoRoot, ResolveError, Resolver};
use versions::{CodeRepo, Resolved};

/// Settings of the git source.
#[derive(Debug, Clone)]
pub struct GitSettings {
    /// Where bare clones live (`<cache_dir>/git/...`).
    pub cache_dir: PathBuf,
    /// Bound on each git command and each discovery request.
    pub command_timeout: Duration,
    /// GOINSECURE patterns: paths whose discovery may fall back to plain http (and whose
    /// `.git` paths may use the git:// and http:// schemes).
    pub insecure: String,
    /// Host -> address pins for go-get discovery (split-horizon DNS, tests).
    pub resolve: Vec<(String, SocketAddr)>,
    /// The largest a bare clone may grow; a bigger one is removed and the request fails.
    pub max_repo_bytes: u64,
    /// How long the remote's ref listing is reused before `git ls-remote` runs again.
    pub refs_ttl: Duration,
    /// How long a path -> repository resolution is reused.
    pub resolve_ttl: Duration,
    /// Extra environment for every git command, over the process's own (for example
    /// `GIT_CONFIG_GLOBAL` for a dedicated git configuration). Empty by default.
    pub git_env: Vec<(String, String)>,
    /// The size ledger of the local disk (`[cache] max_bytes`): clones are counted, held
    /// in use while a call works on them, and evicted when least recently used. `None`
    /// by default (nothing counted).
    pub ledger: Option<Arc<crate::storage::Ledger>>,
}

impl GitSettings {
    /// Defaults: 120 s per git command, no GOINSECURE, no pins, 2 GiB per repository,
    /// refs reused for 2 s, resolutions for 10 min.
    pub fn new(cache_dir: PathBuf) -> GitSettings {
        GitSettings {
            cache_dir,
            command_timeout: Duration::from_secs(120),
            insecure: String::new(),
            resolve: Vec::new(),
            max_repo_bytes: 2 << 30,
            refs_ttl: Duration::from_secs(2),
            resolve_ttl: Duration::from_secs(600),
            git_env: Vec::new(),
            ledger: None,
        }
    }
}

type RootMemo = HashMap<String, (Instant, RepoRoot)>;

/// The most file content a module zip made in-process holds in memory; a larger module
/// goes through `git archive` and a tar on disk.
const IN_MEMORY_BYTES: u64 = 8 << 20;

/// The `direct` source.
pub struct GitSource {
    settings: GitSettings,
    resolver: Resolver,
    runner: Runner,
    repos: std::sync::Mutex<HashMap<String, Arc<GitRepo>>>,
    objects: Arc<Objects>,
    attributes: Arc<attributes::OutsideAttributes>,
    roots: tokio::sync::Mutex<RootMemo>,
    tmp_seq: AtomicU64,
}

/// The directory of the git clones could not be created.
#[derive(Debug, thiserror::Error)]
#[error("creating the git cache directory {}: {source}", dir.display())]
pub struct GitDirError {
    /// The directory.
    pub dir: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

impl GitSource {
    /// A git source keeping its clones under `settings.cache_dir/git`.
    pub fn new(settings: GitSettings) -> Result<GitSource, GitDirError> {
        let dir = settings.cache_dir.join("git");
        if let Err(source) = std::fs::create_dir_all(&dir) {
            return Err(GitDirError { dir, source });
        }
        leftovers::sweep_leftovers(&dir, settings.command_timeout + Duration::from_secs(60));
        crate::metrics::metrics().known_git();
        let runner = Runner::new(settings.command_timeout, settings.git_env.clone());
        let resolver = Resolver {
            insecure: settings.insecure.clone(),
            pins: settings.resolve.clone(),
            timeout: settings.command_timeout,
            runner: runner.clone(),
        };
        Ok(GitSource {
            settings,
            resolver,
            repos: std::sync::Mutex::new(HashMap::new()),
            objects: Arc::default(),
            attributes: Arc::new(attributes::OutsideAttributes::new(runner.clone())),
            runner,
            roots: tokio::sync::Mutex::new(HashMap::new()),
            tmp_seq: AtomicU64::new(0),
        })
    }

    /// The repository of `module`. Successful resolutions are reused for `resolve_ttl`;
    /// failures are not remembered. The memo's lock is not held while resolving, so a
    /// slow discovery delays no other module.
    async fn root(&self, module: &str) -> Result<RepoRoot, Error> {
        {
            let memo = self.roots.lock().await;
            if let Some((at, r)) = memo.get(module)
                && at.elapsed() < self.settings.resolve_ttl
            {
                return Ok(r.clone());
            }
        }
        let r = self.resolver.resolve(module).await.map_err(|e| match e {
            ResolveError::NotFound(m) | ResolveError::Unsupported(m) => Error::not_found(m),
        })?;
        self.roots
            .lock()
            .await
            .insert(module.to_string(), (Instant::now(), r.clone()));
        Ok(r)
    }

    async fn code(&self, module: &str) -> Result<CodeRepo, Error> {
        gomod::module::check_path(module)
            .map_err(|e| Error::invalid(format!("malformed module path {module:?}: {e}")))?;
        let root = self.root(module).await?;
        let repo = {
            let mut repos = self
                .repos
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            repos
                .entry(root.url.clone())
                .or_insert_with(|| {
                    Arc::new(
                        GitRepo::new(
                            &self.settings.cache_dir,
                            &root.url,
                            self.runner.clone(),
                            self.settings.refs_ttl,
                            self.settings.max_repo_bytes,
                            self.objects.clone(),
                        )
                        .with_ledger(self.settings.ledger.clone())
                        .with_attributes(self.attributes.clone()),
                    )
                })
                .clone()
        };
        CodeRepo::new(repo, &root.root, module)
    }

    fn info(&self, code: &CodeRepo, r: Resolved) -> Info {
        let origin = origin::Origin {
            vcs: "git".into(),
            url: code.repo.url().to_string(),
            ..r.origin
        };
        Info::made(r.version, Timestamp::from_unix(r.time), &origin)
    }
}

#[async_trait]
impl Source for GitSource {
    fn describe(&self) -> String {
        "direct".to_string()
    }

    fn upstreams(&self) -> Vec<crate::source::UpstreamState> {
        vec![crate::source::UpstreamState::plain(self.describe(), "git")]
    }

    async fn list(&self, module: &str) -> Result<bytes::Bytes, Error> {
        let code = self.code(module).await?;
        // Each call holds its clone in use: not evicted while git works on it.
        let _held = code.repo.in_use();
        let versions = code.versions().await?;
        Ok(super::list_body(&versions))
    }

    async fn stat(&self, module: &str, query: &str) -> Result<Info, Error> {
        let code = self.code(module).await?;
        let _held = code.repo.in_use();
        let r = code.query(query).await?;
        Ok(self.info(&code, r))
    }

    async fn latest(&self, module: &str) -> Result<Info, Error> {
        let code = self.code(module).await?;
        let _held = code.repo.in_use();
        let r = code.latest().await?;
        Ok(self.info(&code, r))
    }

    async fn go_mod(&self, module: &str, version: &str) -> Result<Vec<u8>, Error> {
        let code = self.code(module).await?;
        let _held = code.repo.in_use();
        code.go_mod(version).await
    }

    async fn zip(&self, module: &str, version: &str, dest: &Path) -> Result<u64, Error> {
        let code = self.code(module).await?;
        let _held = code.repo.in_use();
        let (hash, dir) = code.zip_source(version).await?;
        let license = async {
            if dir.is_empty() {
                return None;
            }
            code.repo
                .read_file(&hash, "LICENSE", gomod::zip::MAX_LICENSE)
                .await
                .ok()
                .flatten()
        };
        if let Some(files) = code.repo.tree_files(&hash, &dir, IN_MEMORY_BYTES).await {
            let license = license.await;
            let (dir2, module2, version2, dest2) = (
                dir.clone(),
                module.to_string(),
                version.to_string(),
                dest.to_path_buf(),
            );
            let made = crate::platform::background::run_blocking(move || {
                zip::zip_from_tree(files, &dir2, license, &module2, &version2, &dest2)
            })
            .await;
            return zip_made(made, module, version, dest);
        }
        let tmp_dir = self.settings.cache_dir.join("git").join("tmp");
        tokio::fs::create_dir_all(&tmp_dir).await.map_err(|e| {
            Error::storage(&e, &tmp_dir)
                .map_message(|m| format!("creating {}: {m}", tmp_dir.display()))
        })?;
        let tar = tmp_dir.join(format!(
            "{}-{}.tar",
            std::process::id(),
            self.tmp_seq.fetch_add(1, Ordering::Relaxed)
        ));
        let result = async {
            code.repo
                .archive_tar(&hash, &dir, &tar, 2 * gomod::zip::MAX_ZIP_FILE)
                .await
                .map_err(|e| {
                    // Each kind kept but not-found: this version exists, its files must too.
                    let kind = match e.kind() {
                        Kind::NotFound => Kind::Failed,
                        k => k,
                    };
                    Error::new(kind, format!("{module}@{version}: {}", e.message()))
                })?;
            let license = license.await;
            let (tar2, dir2, module2, version2, dest2) = (
                tar.clone(),
                dir.clone(),
                module.to_string(),
                version.to_string(),
                dest.to_path_buf(),
            );
            let made = crate::platform::background::run_blocking(move || {
                zip::zip_from_tar(&tar2, &dir2, license, &module2, &version2, &dest2)
            })
            .await;
            zip_made(made, module, version, dest)
        }
        .await;
        let _ = tokio::fs::remove_file(&tar).await;
        result
    }
}

/// The result of a zip task, its errors said for `module@version` (a full disk as the
/// data directory's).
fn zip_made(
    made: Result<Result<u64, zip::TarZipError>, crate::platform::background::TaskError>,
    module: &str,
    version: &str,
    dest: &Path,
) -> Result<u64, Error> {
    made.map_err(|e| Error::failed(format!("{module}@{version}: zip task: {e}")))?
        .map_err(|e| match e.io().filter(|io| crate::error::is_full(io)) {
            Some(io) => Error::storage(io, dest)
                .map_message(|m| format!("{module}@{version}: building the zip: {m}")),
            None => Error::failed(format!("{module}@{version}: {e}")),
        })
}
