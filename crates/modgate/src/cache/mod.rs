//! The cache over a source: single-flight, validation, negative and stale entries.
//!
//! - info/mod/zip of canonical versions are immutable once stored: they are served from
//!   the store without asking the source again.
//! - Concurrent requests for the same entry share one source call (single-flight); the
//!   call runs in its own task, so it completes (and is stored) even if the clients leave.
//! - What comes from the source is checked before it is stored: `.info` must carry a
//!   canonical version (the requested one, for canonical requests), `.mod` must parse
//!   with the go command's lax parser, a zip must pass the module zip checks; its `h1:`
//!   hash goes to `.ziphash` only after that. Bad bodies are never stored.
//! - "Not found" answers are remembered for a short time (negative cache).
//! - `@v/list`, `@latest` and non-canonical queries (`master`, `v1.2`, commit hashes) are
//!   fresh for a short time, then asked again; when the source fails they are served
//!   stale, flagged with the reason.
//! - When a go.mod had to be fetched, the `.mod` and `.info` of its requirements are
//!   fetched ahead in the background, bounded (see [`Prefetch`] and `prefetch.rs`).

mod check;
mod flight;
mod prefetch;

pub use prefetch::{MAX_PENDING, Prefetch};

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, Shared};

use check::check_info;

use crate::source::{Info, Source, SourceError};
use crate::store::{Ext, Store};

/// Lifetimes and bounds of the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    /// How long a "not found" from the source is remembered.
    pub negative_ttl: Duration,
    /// How long `@v/list`, `@latest` and non-canonical queries are fresh.
    pub list_ttl: Duration,
    /// Bound on one metadata call to the source.
    pub request_timeout: Duration,
    /// Bound on one zip transfer from the source.
    pub transfer_timeout: Duration,
    /// What is fetched ahead when a go.mod had to be fetched.
    pub prefetch: Prefetch,
    /// How many prefetches run at once.
    pub prefetch_concurrency: usize,
    /// How many levels below a client's request prefetches go (1: only the requirements
    /// of the go.mod the client asked for).
    pub prefetch_depth: u32,
    /// How many requirements of one go.mod are prefetched at most.
    pub prefetch_fanout: usize,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            negative_ttl: Duration::from_secs(60),
            list_ttl: Duration::from_secs(60),
            request_timeout: Duration::from_secs(120),
            transfer_timeout: Duration::from_secs(600),
            prefetch: Prefetch::Mod,
            prefetch_concurrency: 8,
            prefetch_depth: 2,
            prefetch_fanout: 200,
        }
    }
}

/// Why the cache could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// The source's answer (not found, failed, invalid, refused).
    #[error("{0}")]
    Source(SourceError),
    /// The source did not answer in time.
    #[error("{0}")]
    Timeout(String),
    /// Our own failure (disk, task).
    #[error("{0}")]
    Internal(String),
}

impl From<SourceError> for CacheError {
    fn from(e: SourceError) -> Self {
        CacheError::Source(e)
    }
}

impl CacheError {
    fn is_not_found(&self) -> bool {
        matches!(
            self,
            CacheError::Source(
                SourceError::NotFound(_) | SourceError::Invalid(_) | SourceError::Refused(_)
            )
        )
    }
}

/// A metadata answer, maybe stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta<T> {
    /// The answer.
    pub value: T,
    /// Set when the answer is a stale copy served because the source failed: why.
    pub stale: Option<String>,
    /// Until when a short-lived answer (`@v/list`, `@latest`) stays fresh: it may be
    /// given again until then without asking the cache. `None` where not tracked.
    pub fresh_until: Option<Instant>,
}

/// A stored, checked module zip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    /// Where it is on disk.
    pub path: PathBuf,
    /// Its `h1:` hash (from `.ziphash`).
    pub hash: String,
}

type Flight<T> = Shared<BoxFuture<'static, Result<T, CacheError>>>;

struct Inner {
    source: Arc<dyn Source>,
    store: Arc<Store>,
    settings: CacheSettings,
    flights: Mutex<HashMap<String, Box<dyn Any + Send + Sync>>>,
    // The three memories below are bounded in entries, so that a flood of distinct
    // requests cannot grow the process without limit.
    negative: Memo<CacheError>,
    queries: Memo<bytes::Bytes>,
    /// Fresh `@v/list` and `@latest` answers, so that a hot one touches no disk (nor
    /// parser) within its lifetime.
    lists: Memo<bytes::Bytes>,
    latests: Memo<Info>,
    prefetch: prefetch::Prefetcher,
    /// Checks hashes against the checksum database before anything is stored.
    sum_check: std::sync::OnceLock<Arc<dyn SumCheck>>,
}

/// A check of a module's `h1:` hashes before its go.mod or zip is stored: the checksum
/// database (`crate::sumdb::verify`). An error refuses the entry.
#[async_trait::async_trait]
pub trait SumCheck: Send + Sync {
    /// Checks the hash `h1` of `module@version`'s go.mod (`go_mod`) or zip.
    async fn check(
        &self,
        module: &str,
        version: &str,
        go_mod: bool,
        h1: &str,
    ) -> Result<(), CacheError>;
}

/// Runs the cache's hash check, when it has one.
async fn check_sum(
    inner: &Inner,
    module: &str,
    version: &str,
    go_mod: bool,
    h1: &str,
) -> Result<(), CacheError> {
    match inner.sum_check.get() {
        Some(c) => c.check(module, version, go_mod, h1).await,
        None => Ok(()),
    }
}

/// What a short-lived entry is in memory, and on disk.
trait ShortLived: Clone + Send + Sync + 'static {
    /// The entry read back from its file (`None`: not usable, as if absent).
    fn decode(data: Vec<u8>) -> Option<Self>;
    /// What is written to its file and served.
    fn body(&self) -> &[u8];
}

impl ShortLived for bytes::Bytes {
    fn decode(data: Vec<u8>) -> Option<Self> {
        Some(data.into())
    }
    fn body(&self) -> &[u8] {
        self
    }
}

impl ShortLived for Info {
    fn decode(data: Vec<u8>) -> Option<Self> {
        Info::parse(data).ok()
    }
    fn body(&self) -> &[u8] {
        &self.json
    }
}

/// A bounded memory of recent answers with the time each was made.
type Memo<T> = quick_cache::sync::Cache<String, (Instant, T)>;

/// How many entries each memory keeps.
const MEMO_ENTRIES: usize = 100_000;

/// The cache: the store in front of a source. Cheap to clone.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn internal(e: impl std::fmt::Display) -> CacheError {
    CacheError::Internal(e.to_string())
}

impl Cache {
    /// A cache storing in `store` what it gets from `source`.
    pub fn new(source: Arc<dyn Source>, store: Arc<Store>, settings: CacheSettings) -> Cache {
        Cache {
            inner: Arc::new(Inner {
                source,
                store,
                settings,
                flights: Mutex::new(HashMap::new()),
                negative: Memo::new(MEMO_ENTRIES),
                queries: Memo::new(MEMO_ENTRIES),
                lists: Memo::new(MEMO_ENTRIES),
                latests: Memo::new(MEMO_ENTRIES),
                prefetch: prefetch::Prefetcher::new(settings.prefetch_concurrency),
                sum_check: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Sets the check every go.mod and zip passes before it is stored (once).
    pub fn set_sum_check(&self, check: Arc<dyn SumCheck>) {
        let _ = self.inner.sum_check.set(check);
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }

    async fn bounded<T>(
        limit: Duration,
        what: String,
        fut: impl Future<Output = Result<T, SourceError>>,
    ) -> Result<T, CacheError> {
        match tokio::time::timeout(limit, fut).await {
            Ok(r) => r.map_err(CacheError::Source),
            Err(_) => Err(CacheError::Timeout(format!(
                "{what}: no answer from the upstream within {limit:?}"
            ))),
        }
    }

    /// `@v/list`: the body as the source gave it.
    pub async fn list(&self, module: &str) -> Result<Meta<bytes::Bytes>, CacheError> {
        let path = self.inner.store.list_path(module).map_err(internal)?;
        self.short_lived(
            module,
            "@v/list",
            path,
            |i| &i.lists,
            |inner, m| async move {
                Self::bounded(
                    inner.settings.request_timeout,
                    format!("{m}/@v/list"),
                    inner.source.list(&m),
                )
                .await
            },
        )
        .await
    }

    /// A short-lived entry of `module` (`@v/list`, `@latest`) kept at `path`: from memory
    /// while it is fresh (no disk, no parse: what a busy proxy answers most), else from
    /// disk while fresh, else from the source (stored and remembered), else the stale
    /// copy when the source fails.
    async fn short_lived<T, F, Fut>(
        &self,
        module: &str,
        what: &'static str,
        path: PathBuf,
        memo: fn(&Inner) -> &Memo<T>,
        fetch: F,
    ) -> Result<Meta<T>, CacheError>
    where
        T: ShortLived,
        F: FnOnce(Arc<Inner>, String) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, CacheError>> + Send + 'static,
    {
        let ttl = self.inner.settings.list_ttl;
        if let Some((at, value)) = memo(&self.inner).get(module)
            && at.elapsed() < ttl
        {
            return Ok(Meta {
                value,
                stale: None,
                fresh_until: at.checked_add(ttl),
            });
        }
        let cached = self
            .inner
            .store
            .read_with_age(&path)
            .await
            .map_err(internal)?
            .and_then(|(d, age)| Some((T::decode(d)?, age)));
        if let Some((value, age)) = &cached
            && *age < ttl
        {
            let at = Instant::now().checked_sub(*age);
            if let Some(at) = at {
                memo(&self.inner).insert(module.to_string(), (at, value.clone()));
            }
            return Ok(Meta {
                value: value.clone(),
                stale: None,
                fresh_until: at.and_then(|at| at.checked_add(ttl)),
            });
        }
        let inner = Arc::clone(&self.inner);
        let m = module.to_string();
        let r = self
            .single_flight(format!("{what} {module}"), async move {
                let value = fetch(Arc::clone(&inner), m.clone()).await?;
                write_entry(&inner, path, value.body().to_vec()).await?;
                memo(&inner).insert(m, (Instant::now(), value.clone()));
                Ok(value)
            })
            .await;
        let mut meta = Self::fresh_or_stale(module, what, r, cached.map(|(v, _)| v))?;
        if meta.stale.is_none() {
            meta.fresh_until = Instant::now().checked_add(ttl);
        }
        Ok(meta)
    }

    fn fresh_or_stale<T>(
        module: &str,
        what: &str,
        r: Result<T, CacheError>,
        cached: Option<T>,
    ) -> Result<Meta<T>, CacheError> {
        match (r, cached) {
            (Ok(value), _) => Ok(Meta {
                value,
                stale: None,
                fresh_until: None,
            }),
            (Err(e), Some(value)) if !e.is_not_found() => {
                let reason = e.to_string().replace(['\r', '\n'], " ");
                tracing::warn!(
                    module,
                    what,
                    reason,
                    "serving a stale copy: the upstream failed"
                );
                Ok(Meta {
                    value,
                    stale: Some(reason),
                    fresh_until: None,
                })
            }
            (Err(e), _) => Err(e),
        }
    }

    /// `@latest`: the version the go command would pick for `module@latest`, the body as
    /// the source gave it.
    pub async fn latest(&self, module: &str) -> Result<Meta<Info>, CacheError> {
        let path = self.inner.store.latest_path(module).map_err(internal)?;
        self.short_lived(
            module,
            "@latest",
            path,
            |i| &i.latests,
            |inner, m| async move {
                Self::bounded(
                    inner.settings.request_timeout,
                    format!("{m}/@latest"),
                    inner.source.latest(&m),
                )
                .await
            },
        )
        .await
    }

    /// `@v/<query>.info`. For a canonical version, the stored (immutable) entry, served as
    /// stored (read as the go command reads it once, when first read from disk); for any
    /// other query, the source's answer, fresh for the list lifetime and not stored (an
    /// upstream's answer for `master` need not be the bytes it serves for the version
    /// `master` names).
    pub async fn info(&self, module: &str, query: &str) -> Result<Meta<bytes::Bytes>, CacheError> {
        if gomod::module::is_canonical(query) {
            let path = self
                .inner
                .store
                .version_path(module, query, Ext::Info)
                .map_err(internal)?;
            // Read as the go command reads it once, when first read from disk.
            if let Some(data) = self
                .inner
                .store
                .read_immutable_checked(&path, |d| gomod::info::parse(d).is_ok())
                .await
                .map_err(internal)?
            {
                return Ok(Meta {
                    value: bytes::Bytes::from_owner(data),
                    stale: None,
                    fresh_until: None,
                });
            }
            let inner = Arc::clone(&self.inner);
            let (m, q) = (module.to_string(), query.to_string());
            let info = self
                .single_flight(format!("info {module}@{query}"), async move {
                    let info = Self::bounded(
                        inner.settings.request_timeout,
                        format!("{m}@{q}"),
                        inner.source.stat(&m, &q),
                    )
                    .await?;
                    check_info(&inner, &m, &q, &info)?;
                    write_entry(&inner, path, info.json.to_vec()).await?;
                    Ok(info)
                })
                .await?;
            return Ok(Meta {
                value: info.json,
                stale: None,
                fresh_until: None,
            });
        }
        let key = format!("query {module}@{query}");
        let cached = self.inner.queries.get(&key);
        if let Some((at, json)) = &cached
            && at.elapsed() < self.inner.settings.list_ttl
        {
            return Ok(Meta {
                value: json.clone(),
                stale: None,
                fresh_until: None,
            });
        }
        let inner = Arc::clone(&self.inner);
        let (m, q, k) = (module.to_string(), query.to_string(), key.clone());
        let r = self
            .single_flight(key, async move {
                let json = Self::bounded(
                    inner.settings.request_timeout,
                    format!("{m}@{q}"),
                    inner.source.stat(&m, &q),
                )
                .await?
                .json;
                inner.queries.insert(k, (Instant::now(), json.clone()));
                Ok(json)
            })
            .await;
        Self::fresh_or_stale(module, query, r, cached.map(|(_, i)| i))
    }

    /// `@v/<version>.mod` of a canonical version. When it had to be fetched, its
    /// requirements are prefetched (per the settings).
    pub async fn go_mod(&self, module: &str, version: &str) -> Result<bytes::Bytes, CacheError> {
        self.go_mod_at(module, version, 0).await
    }

    /// [`Cache::go_mod`] for a request `depth` levels of prefetch below a client's.
    async fn go_mod_at(
        &self,
        module: &str,
        version: &str,
        depth: u32,
    ) -> Result<bytes::Bytes, CacheError> {
        let path = self
            .inner
            .store
            .version_path(module, version, Ext::Mod)
            .map_err(internal)?;
        if let Some(data) = self
            .inner
            .store
            .read_immutable(&path)
            .await
            .map_err(internal)?
        {
            return Ok(bytes::Bytes::from_owner(data));
        }
        let inner = Arc::clone(&self.inner);
        let (m, v) = (module.to_string(), version.to_string());
        let data = self
            .single_flight(format!("mod {module}@{version}"), async move {
                let data = Self::bounded(
                    inner.settings.request_timeout,
                    format!("{m}@{v}: go.mod"),
                    inner.source.go_mod(&m, &v),
                )
                .await?;
                if let Err(e) = gomod::modfile::parse_lax("go.mod", &data, None) {
                    return Err(CacheError::Source(SourceError::Failed(format!(
                        "{}: {m}@{v}: the go.mod does not parse ({}); not stored",
                        inner.source.describe(),
                        e.to_string().replace('\n', "; ")
                    ))));
                }
                check_sum(&inner, &m, &v, true, &gomod::dirhash::hash_go_mod(&data)).await?;
                write_entry(&inner, path, data.clone()).await?;
                Ok(data)
            })
            .await?;
        self.prefetch_requirements(module, version, &data, depth);
        Ok(data.into())
    }

    /// `@v/<version>.zip` of a canonical version: fetched to a temp file, checked, hashed,
    /// then stored (zip first, then `.ziphash`).
    pub async fn zip(&self, module: &str, version: &str) -> Result<ZipEntry, CacheError> {
        let store = &self.inner.store;
        let zip_path = store
            .version_path(module, version, Ext::Zip)
            .map_err(internal)?;
        let hash_path = store
            .version_path(module, version, Ext::ZipHash)
            .map_err(internal)?;
        if let Some(hash) = store.read_immutable(&hash_path).await.map_err(internal)?
            && tokio::fs::metadata(&zip_path).await.is_ok()
        {
            return Ok(ZipEntry {
                path: zip_path,
                hash: String::from_utf8_lossy(&hash).trim().to_string(),
            });
        }
        let inner = Arc::clone(&self.inner);
        let (m, v) = (module.to_string(), version.to_string());
        self.single_flight(format!("zip {module}@{version}"), async move {
            let store = Arc::clone(&inner.store);
            // A zip on disk without its .ziphash (a crash between the two) is hashed again;
            // it was checked before it was committed.
            let hash = if tokio::fs::metadata(&zip_path).await.is_ok() {
                let zp = zip_path.clone();
                tokio::task::spawn_blocking(move || {
                    gomod::dirhash::hash_zip_file(&zp)
                        .map_err(|e| internal(format!("hashing {}: {e}", zp.display())))
                })
                .await
                .map_err(internal)??
            } else {
                let tmp = store.temp_path(&format!("{v}.zip"));
                let stored = Self::fetch_zip(&inner, &m, &v, &tmp, &zip_path).await;
                if stored.is_err() {
                    let _ = tokio::fs::remove_file(&tmp).await;
                }
                stored?
            };
            let (h, hp) = (hash.clone(), hash_path.clone());
            tokio::task::spawn_blocking(move || store.write(&hp, h.as_bytes()).map_err(internal))
                .await
                .map_err(internal)??;
            Ok(ZipEntry {
                path: zip_path,
                hash,
            })
        })
        .await
    }
}

impl Cache {
    /// Fetches the zip of `m@v` to `tmp`, checks it, hashes it, has the hash checked
    /// (checksum database), and commits it to `zip_path`; returns its hash. The caller
    /// removes `tmp` on error.
    async fn fetch_zip(
        inner: &Arc<Inner>,
        m: &str,
        v: &str,
        tmp: &Path,
        zip_path: &Path,
    ) -> Result<String, CacheError> {
        Self::bounded(
            inner.settings.transfer_timeout,
            format!("{m}@{v}: zip"),
            inner.source.zip(m, v, tmp),
        )
        .await?;
        let (t, mv, desc) = (
            tmp.to_path_buf(),
            gomod::module::Version::new(m.to_string(), v.to_string()),
            inner.source.describe(),
        );
        let h1 = tokio::task::spawn_blocking(move || -> Result<String, CacheError> {
            let bad = |e: String| {
                CacheError::Source(SourceError::Failed(format!(
                    "{desc}: {mv}: the zip is not a valid module zip ({e}); not stored"
                )))
            };
            let cf = gomod::zip::check_served_zip_file(&mv, &t).map_err(|e| bad(e.to_string()))?;
            cf.err()
                .map_err(|e| bad(e.to_string().replace('\n', "; ")))?;
            gomod::dirhash::hash_zip_file(&t)
                .map_err(|e| internal(format!("hashing {}: {e}", t.display())))
        })
        .await
        .map_err(internal)??;
        check_sum(inner, m, v, false, &h1).await?;
        let (st, t, zp) = (
            Arc::clone(&inner.store),
            tmp.to_path_buf(),
            zip_path.to_path_buf(),
        );
        tokio::task::spawn_blocking(move || st.commit(&t, &zp).map_err(internal))
            .await
            .map_err(internal)??;
        Ok(h1)
    }
}

/// Writes a stored entry atomically (temp, fsync, rename) off the async threads.
async fn write_entry(inner: &Inner, path: PathBuf, data: Vec<u8>) -> Result<(), CacheError> {
    let store = Arc::clone(&inner.store);
    tokio::task::spawn_blocking(move || store.write(&path, &data))
        .await
        .map_err(internal)?
        .map_err(internal)
}
