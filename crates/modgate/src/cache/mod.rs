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
//!   fetched ahead in the background, bounded (see [`Prefetch`] and `fetch_ahead.rs`).

mod check;
mod fetch_ahead;
mod flight;
pub mod purge;

pub use fetch_ahead::{MAX_PENDING, Prefetch, Warmed};
pub use purge::{Purge, Refused, Report};

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, Shared};

use check::check_info;

use crate::error::{Error, Kind};
use crate::source::{Info, Source};
use crate::storage::{Key, Staged, Store};

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
    /// `--offline`: stored lists and `@latest` are served however old (nothing newer
    /// can be had).
    pub offline: bool,
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
            offline: false,
        }
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
#[derive(Debug, Clone)]
pub struct ZipEntry {
    /// Its name in the store.
    pub key: Key,
    /// Its size in bytes.
    pub size: u64,
    /// Its `h1:` hash (from `.ziphash`).
    pub hash: String,
    /// When the storage did not answer: the checked file in the staging area, served
    /// instead of the stored object (removed once the last answer using it is sent).
    pub local: Option<Arc<Staged>>,
    /// The version held in use (not evicted) for whoever asked, from before the lookup
    /// until this entry is dropped (a stream of its body holds it on its own after that).
    pub held: Option<Arc<crate::storage::Reader>>,
}

type Flight<T> = Shared<BoxFuture<'static, Result<T, Error>>>;

struct Inner {
    source: Arc<dyn Source>,
    store: Arc<Store>,
    settings: CacheSettings,
    flights: Mutex<HashMap<String, Box<dyn Any + Send + Sync>>>,
    // The three memories below are bounded in entries, so that a flood of distinct
    // requests cannot grow the process without limit.
    negative: Memo<Error>,
    queries: Memo<bytes::Bytes>,
    /// Fresh `@v/list` and `@latest` answers, so that a hot one touches no disk (nor
    /// parser) within its lifetime.
    lists: Memo<bytes::Bytes>,
    latests: Memo<Info>,
    prefetch: fetch_ahead::Prefetcher,
    /// Checks hashes against the checksum database before anything is stored.
    sum_check: std::sync::OnceLock<Arc<dyn SumCheck>>,
    /// What replicas share through Redis (`--redis`): "not found" answers and fresh
    /// lists and `@latest` answers.
    shared: std::sync::OnceLock<Arc<crate::cluster::Shared>>,
    /// `[filter]`: what is never prefetched.
    filter: std::sync::OnceLock<Arc<arc_swap::ArcSwap<crate::filter::Filter>>>,
    /// Told of every purge done here (the HTTP layer's hot answers).
    purge_hooks: Mutex<Vec<purge::Hook>>,
}

/// A check of a module's `h1:` hashes before its go.mod or zip is stored: the checksum
/// database (`crate::sumdb::verify`). An error refuses the entry.
#[async_trait::async_trait]
pub trait SumCheck: Send + Sync {
    /// Checks the hash `h1` of `module@version`'s go.mod (`go_mod`) or zip.
    async fn check(&self, module: &str, version: &str, go_mod: bool, h1: &str)
    -> Result<(), Error>;
}

/// Runs the cache's hash check, when it has one.
async fn check_sum(
    inner: &Inner,
    module: &str,
    version: &str,
    go_mod: bool,
    h1: &str,
) -> Result<(), Error> {
    match inner.sum_check.get() {
        Some(c) => c.check(module, version, go_mod, h1).await,
        None => Ok(()),
    }
}

/// What a short-lived entry is in memory, and on disk.
trait ShortLived: Clone + Send + Sync + 'static {
    /// The entry read back from the store (`None`: not usable, as if absent).
    fn decode(data: bytes::Bytes) -> Option<Self>;
    /// What is written to its file and served.
    fn body(&self) -> &[u8];
}

impl ShortLived for bytes::Bytes {
    fn decode(data: bytes::Bytes) -> Option<Self> {
        Some(data)
    }
    fn body(&self) -> &[u8] {
        self
    }
}

impl ShortLived for Info {
    fn decode(data: bytes::Bytes) -> Option<Self> {
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

/// Records a cache hit of `kind` (misses, joins and negative answers are recorded by
/// the single-flight).
fn hit(kind: &'static str) {
    looked(kind, "hit");
}

tokio::task_local! {
    /// What the current request's first cache lookup found.
    static LOOKED: std::cell::Cell<Option<&'static str>>;
}

/// Records a cache lookup of `kind` that found `result` (hit, miss, stale, negative):
/// in the metrics, and for the request's log line.
pub(crate) fn looked(kind: &'static str, result: &'static str) {
    crate::metrics::metrics().lookup(kind, result);
    let _ = LOOKED.try_with(|c| {
        if c.get().is_none() {
            c.set(Some(result));
        }
    });
}

/// Runs `f` (a request), and says what its first cache lookup found, if it made one.
///
/// Not an `async fn`: a future passed into one (or moved into an `async` block and
/// awaited) is laid out two or three times over in the caller's state, and this wraps
/// every request (its future was three times the request's, 7.3 KB, moved and boxed
/// per request).
pub fn noting<F: Future>(f: F) -> impl Future<Output = (F::Output, Option<&'static str>)> {
    LOOKED.scope(std::cell::Cell::new(None), Noted { f })
}

pin_project_lite::pin_project! {
    /// A request's future that says, when it is done, what its first cache lookup found
    /// (read within the task-local scope it runs in).
    struct Noted<F> {
        #[pin]
        f: F,
    }
}

impl<F: Future> Future for Noted<F> {
    type Output = (F::Output, Option<&'static str>);

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let out = std::task::ready!(self.project().f.poll(cx));
        std::task::Poll::Ready((out, LOOKED.with(std::cell::Cell::get)))
    }
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::internal(e.to_string())
}

/// A store lookup's result: a storage that does not answer is a miss (the source is
/// asked, its answer checked as always, and served); other failures are the store's.
fn looked_up<T>(r: std::io::Result<Option<T>>) -> Result<Option<T>, Error> {
    crate::storage::or_miss(r).map_err(internal)
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
                prefetch: fetch_ahead::Prefetcher::new(settings.prefetch_concurrency),
                sum_check: std::sync::OnceLock::new(),
                shared: std::sync::OnceLock::new(),
                filter: std::sync::OnceLock::new(),
                purge_hooks: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Sets the check every go.mod and zip passes before it is stored (once).
    pub fn set_sum_check(&self, check: Arc<dyn SumCheck>) {
        let _ = self.inner.sum_check.set(check);
    }

    /// Shares "not found" answers and fresh lists and `@latest` answers with the other
    /// replicas through `shared`, and takes part in their purges (once).
    pub fn set_shared(&self, shared: Arc<crate::cluster::Shared>) {
        self.listen_for_purges(&shared);
        let _ = self.inner.shared.set(shared);
    }

    /// The upstreams behind it, and their state now.
    pub fn upstreams(&self) -> Vec<crate::source::UpstreamState> {
        self.inner.source.upstreams()
    }

    /// Prefetches nothing `filter` refuses from now on (set once, at start; its rules
    /// are replaced by a reload).
    pub fn set_filter(&self, filter: Arc<arc_swap::ArcSwap<crate::filter::Filter>>) {
        let _ = self.inner.filter.set(filter);
    }

    /// Whether it answers only from the store (`--offline`, `--upstream off`): no
    /// upstream to fall back on.
    pub fn offline(&self) -> bool {
        !self.inner.source.fetches()
    }

    /// The store under it.
    pub fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }

    async fn bounded<T>(
        limit: Duration,
        what: String,
        fut: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(limit, fut).await {
            Ok(r) => r,
            Err(_) => Err(Error::timeout(format!(
                "{what}: no answer from the upstream within {limit:?}"
            ))),
        }
    }

    /// `@v/list`: the body as the source gave it.
    pub async fn list(&self, module: &str) -> Result<Meta<bytes::Bytes>, Error> {
        let key = Key::list(module).map_err(internal)?;
        self.short_lived(
            module,
            "@v/list",
            key,
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

    /// A short-lived entry of `module` (`@v/list`, `@latest`) stored as `key`: from memory
    /// while it is fresh (no storage, no parse: what a busy proxy answers most), else from
    /// the store while fresh, else from the source (stored and remembered), else the stale
    /// copy when the source fails.
    async fn short_lived<T, F, Fut>(
        &self,
        module: &str,
        what: &'static str,
        key: Key,
        memo: fn(&Inner) -> &Memo<T>,
        fetch: F,
    ) -> Result<Meta<T>, Error>
    where
        T: ShortLived,
        F: FnOnce(Arc<Inner>, String) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, Error>> + Send + 'static,
    {
        let ttl = self.inner.settings.list_ttl;
        let kind = if what == "@v/list" { "list" } else { "latest" };
        if let Some((at, value)) = memo(&self.inner).get(module)
            && at.elapsed() < ttl
        {
            hit(kind);
            return Ok(Meta {
                value,
                stale: None,
                fresh_until: at.checked_add(ttl),
            });
        }
        if let Some(value) = shared_fresh(&self.inner, what, module, memo).await {
            hit(kind);
            return Ok(value);
        }
        let cached = looked_up(self.inner.store.get(&key).await)?
            .and_then(|b| Some((T::decode(b.data.clone())?, b.age())));
        if let Some((value, age)) = &cached
            && (*age < ttl || self.inner.settings.offline)
        {
            hit(kind);
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
                // Fetched by another replica while this one waited for the lock.
                if let Some(meta) = shared_fresh(&inner, what, &m, memo).await {
                    return Ok(meta.value);
                }
                let value = fetch(Arc::clone(&inner), m.clone()).await?;
                write_entry(&inner, &key, bytes::Bytes::copy_from_slice(value.body())).await?;
                memo(&inner).insert(m.clone(), (Instant::now(), value.clone()));
                if let Some(s) = inner.shared.get() {
                    let body = crate::cluster::stamped(value.body());
                    s.put(&shared_key(what, &m), &body, inner.settings.list_ttl)
                        .await;
                }
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
        r: Result<T, Error>,
        cached: Option<T>,
    ) -> Result<Meta<T>, Error> {
        match (r, cached) {
            (Ok(value), _) => Ok(Meta {
                value,
                stale: None,
                fresh_until: None,
            }),
            (Err(e), Some(value)) if !e.is_not_found() => {
                looked(
                    match what {
                        "@v/list" => "list",
                        "@latest" => "latest",
                        _ => "query",
                    },
                    "stale",
                );
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
    pub async fn latest(&self, module: &str) -> Result<Meta<Info>, Error> {
        let key = Key::latest(module).map_err(internal)?;
        self.short_lived(
            module,
            "@latest",
            key,
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
    pub async fn info(&self, module: &str, query: &str) -> Result<Meta<bytes::Bytes>, Error> {
        if gomod::module::is_canonical(query) {
            let key = Key::info(module, query).map_err(internal)?;
            let valid = |d: &[u8]| gomod::info::parse(d).is_ok();
            // Read as the go command reads it once, when first read from the store.
            if let Some(b) = looked_up(self.inner.store.get_checked(&key, valid).await)? {
                hit("info");
                return Ok(Meta {
                    value: b.data,
                    stale: None,
                    fresh_until: None,
                });
            }
            let inner = Arc::clone(&self.inner);
            let (m, q) = (module.to_string(), query.to_string());
            let info = self
                .single_flight(format!("info {module}@{query}"), async move {
                    if let Some(b) = looked_up(inner.store.get_checked(&key, valid).await)? {
                        // Stored by the lock's previous holder.
                        return Info::parse(b.data).map_err(internal);
                    }
                    let (info, by) = crate::source::answered_by(Self::bounded(
                        inner.settings.request_timeout,
                        format!("{m}@{q}"),
                        inner.source.stat(&m, &q),
                    ))
                    .await;
                    let info = info?;
                    check_info(&inner, &m, &q, &info)?;
                    write_entry(&inner, &key, info.json.clone()).await?;
                    record_fetch(&inner, &m, &q, by);
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
            hit("query");
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
    pub async fn go_mod(&self, module: &str, version: &str) -> Result<bytes::Bytes, Error> {
        self.go_mod_at(module, version, 0).await
    }

    /// [`Cache::go_mod`] for a request `depth` levels of prefetch below a client's.
    async fn go_mod_at(
        &self,
        module: &str,
        version: &str,
        depth: u32,
    ) -> Result<bytes::Bytes, Error> {
        let key = Key::go_mod(module, version).map_err(internal)?;
        if let Some(b) = looked_up(self.inner.store.get(&key).await)? {
            hit("mod");
            return Ok(b.data);
        }
        let inner = Arc::clone(&self.inner);
        let (m, v) = (module.to_string(), version.to_string());
        let data = self
            .single_flight(format!("mod {module}@{version}"), async move {
                if let Some(b) = looked_up(inner.store.get(&key).await)? {
                    // Stored by the lock's previous holder.
                    return Ok(b.data);
                }
                let (data, by) = crate::source::answered_by(Self::bounded(
                    inner.settings.request_timeout,
                    format!("{m}@{v}: go.mod"),
                    inner.source.go_mod(&m, &v),
                ))
                .await;
                let data = bytes::Bytes::from(data?);
                if let Err(e) = gomod::modfile::parse_lax("go.mod", &data, None) {
                    return Err(Error::failed(format!(
                        "{}: {m}@{v}: the go.mod does not parse ({}); not stored",
                        inner.source.describe(),
                        e.to_string().replace('\n', "; ")
                    )));
                }
                check_sum(&inner, &m, &v, true, &gomod::dirhash::hash_go_mod(&data)).await?;
                write_entry(&inner, &key, data.clone()).await?;
                let from_git = by.as_deref() == Some(crate::source::chain::DIRECT);
                record_fetch(&inner, &m, &v, by);
                if from_git {
                    Cache { inner }.zip_ahead(&m, &v);
                }
                Ok(data)
            })
            .await?;
        self.prefetch_requirements(module, version, &data, depth);
        Ok(data)
    }

    /// `@v/<version>.zip` of a canonical version: fetched to the staging area, checked
    /// (here, once: sources relay the bytes, as the go command checks a zip after its
    /// proxy list, so a bad zip does not move on to the next entry), hashed, then stored
    /// (zip first, then `.ziphash`). The entry holds the version in use.
    pub async fn zip(&self, module: &str, version: &str) -> Result<ZipEntry, Error> {
        let zip_key = Key::zip(module, version).map_err(internal)?;
        let hash_key = Key::ziphash(module, version).map_err(internal)?;
        let held = self.inner.store.in_use(&zip_key).map(Arc::new);
        if let Some(z) = Self::stored_zip(&self.inner, &zip_key, &hash_key).await? {
            hit("zip");
            return Ok(ZipEntry { held, ..z });
        }
        let inner = Arc::clone(&self.inner);
        let (m, v) = (module.to_string(), version.to_string());
        self.single_flight(format!("zip {module}@{version}"), async move {
            // Not evicted between the zip's write and its .ziphash's.
            let _held = inner.store.in_use(&zip_key);
            if let Some(z) = Self::stored_zip(&inner, &zip_key, &hash_key).await? {
                // Stored by the lock's previous holder.
                return Ok(z);
            }
            let store = &inner.store;
            // A zip stored without its .ziphash (a crash between the two) is hashed again;
            // it was checked before it was stored.
            let copy = match looked_up(store.stat(&zip_key).await)? {
                Some(stat) => match store.stage_copy(&zip_key).await {
                    Ok(copy) => copy.map(|c| (c, stat.size)),
                    Err(e) if crate::storage::is_unavailable(&e) => None,
                    Err(e) => return Err(Error::storage(&e, store.staging_dir())),
                },
                None => None,
            };
            let (hash, size, local) = match copy {
                Some((copy, size)) => (hash_staged(copy).await?, size, None),
                None => Self::fetch_zip(&inner, &m, &v, &zip_key).await?,
            };
            if local.is_none() {
                write_entry(&inner, &hash_key, hash.clone().into()).await?;
            }
            Ok(ZipEntry {
                key: zip_key,
                size,
                hash,
                local,
                held: None,
            })
        })
        .await
        .map(|z| ZipEntry { held, ..z })
    }

    /// The stored zip `zip_key`, when both it and its `.ziphash` are stored.
    async fn stored_zip(
        inner: &Inner,
        zip_key: &Key,
        hash_key: &Key,
    ) -> Result<Option<ZipEntry>, Error> {
        let store = &inner.store;
        let Some(hash) = looked_up(store.get(hash_key).await)? else {
            return Ok(None);
        };
        let Some(stat) = looked_up(store.stat(zip_key).await)? else {
            return Ok(None);
        };
        Ok(Some(ZipEntry {
            key: zip_key.clone(),
            size: stat.size,
            hash: String::from_utf8_lossy(&hash.data).trim().to_string(),
            local: None,
            held: None,
        }))
    }
}

/// The `h1:` hash of a staged zip.
async fn hash_staged(file: Staged) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || {
        gomod::dirhash::hash_zip_file(file.path())
            .map_err(|e| internal(format!("hashing {}: {e}", file.path().display())))
    })
    .await
    .map_err(internal)?
}

impl Cache {
    /// Fetches the zip of `m@v` to the staging area, checks it, hashes it, has the hash
    /// checked (checksum database), and stores it as `zip_key`; returns its hash and size,
    /// and, when the storage did not answer, the checked file to serve instead (not
    /// stored).
    async fn fetch_zip(
        inner: &Arc<Inner>,
        m: &str,
        v: &str,
        zip_key: &Key,
    ) -> Result<(String, u64, Option<Arc<Staged>>), Error> {
        let fetch = |staged: Staged| async move {
            let (r, by) = crate::source::answered_by(Self::bounded(
                inner.settings.transfer_timeout,
                format!("{m}@{v}: zip"),
                inner.source.zip(m, v, staged.path()),
            ))
            .await;
            (r, staged, by)
        };
        let (mut size, mut staged, mut by) = fetch(inner.store.stage(zip_key.file_name())).await;
        if let Err(e) = &size
            && e.kind() == Kind::StorageFull
        {
            // The disk filled up: with a bound, least recently used entries make room
            // (the partial download's space first), then it is tried once more.
            let e = e.clone();
            drop(staged);
            if !inner.store.free_after_full().await {
                return Err(e);
            }
            (size, staged, by) = fetch(inner.store.stage(zip_key.file_name())).await;
        }
        let size = size?;
        let (mv, desc) = (
            gomod::module::Version::new(m.to_string(), v.to_string()),
            inner.source.describe(),
        );
        let (h1, staged) = crate::platform::background::run_blocking(
            move || -> Result<(String, Staged), Error> {
                let t = staged.path();
                let bad = |e: String| {
                    Error::failed(format!(
                        "{desc}: {mv}: the zip is not a valid module zip ({e}); not stored"
                    ))
                };
                let cf =
                    gomod::zip::check_served_zip_file(&mv, t).map_err(|e| bad(e.to_string()))?;
                cf.err()
                    .map_err(|e| bad(e.to_string().replace('\n', "; ")))?;
                let h1 = gomod::dirhash::hash_zip_file(t)
                    .map_err(|e| internal(format!("hashing {}: {e}", t.display())))?;
                Ok((h1, staged))
            },
        )
        .await
        .map_err(internal)??;
        check_sum(inner, m, v, false, &h1).await?;
        let store = &inner.store;
        // A second name for the checked file, served when a remote storage does not
        // take it (the storage consumes the first either way).
        let spare = match store.is_remote() {
            true => {
                let spare = store.stage(zip_key.file_name());
                tokio::fs::hard_link(staged.path(), spare.path())
                    .await
                    .is_ok()
                    .then_some(spare)
            }
            false => None,
        };
        match store.put_staged(zip_key, staged).await {
            Ok(()) => {
                record_fetch(inner, m, v, by);
                Ok((h1, size, None))
            }
            Err(e) if crate::storage::is_unavailable(&e) && spare.is_some() => {
                tracing::debug!(zip = %zip_key, error = %e, "not stored: served from staging");
                Ok((h1, size, spare.map(Arc::new)))
            }
            Err(e) => Err(Error::storage(&e, store.staging_dir())),
        }
    }
}

/// The Redis key of a short-lived entry (`what` of `module`) shared by replicas.
fn shared_key(what: &str, module: &str) -> String {
    format!("modgate:{what}:{module}")
}

/// A fresh short-lived entry another replica shared through Redis, remembered here too.
async fn shared_fresh<T: ShortLived>(
    inner: &Inner,
    what: &str,
    module: &str,
    memo: fn(&Inner) -> &Memo<T>,
) -> Option<Meta<T>> {
    let ttl = inner.settings.list_ttl;
    let value = inner.shared.get()?.get(&shared_key(what, module)).await?;
    let (body, age) = crate::cluster::unstamp(&value)?;
    if age >= ttl {
        return None;
    }
    let value = T::decode(bytes::Bytes::copy_from_slice(body))?;
    let at = Instant::now().checked_sub(age)?;
    memo(inner).insert(module.to_string(), (at, value.clone()));
    Some(Meta {
        value,
        stale: None,
        fresh_until: at.checked_add(ttl),
    })
}

/// Records when `m@v` was fetched and from which upstream (`by`), unless a record is
/// stored already (the first of its files to be fetched names it). In the background
/// (the answer does not wait for it), and best effort: the catalog shows no upstream
/// where it failed.
fn record_fetch(inner: &Arc<Inner>, m: &str, v: &str, by: Option<String>) {
    let (Some(upstream), Ok(key)) = (by, Key::fetched(m, v)) else {
        return;
    };
    let store = Arc::clone(&inner.store);
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (m, v) = (m.to_string(), v.to_string());
    tokio::spawn(async move {
        if let Ok(Some(_)) = store.stat(&key).await {
            return;
        }
        let record = serde_json::json!({
            "upstream": upstream,
            "fetched": gomod::timestamp::Timestamp::from_unix(secs).format_rfc3339(),
        });
        if let Err(e) = store.put(&key, record.to_string().into()).await {
            tracing::debug!(module = m, version = v, error = %e, "the record of this fetch was not stored");
        }
    });
}

/// Stores an entry, whole or not at all. A short-lived entry (list, `@latest`) is not
/// stored when this fetch's shared lock was lost to another replica, whose newer answer
/// it could replace; immutable entries are created once by the storage, so a late copy
/// (the same checked bytes) replaces nothing.
async fn write_entry(inner: &Inner, key: &Key, data: bytes::Bytes) -> Result<(), Error> {
    if !key.is_immutable() && !flight::may_store(key.file_name()).await {
        return Ok(());
    }
    let store = &inner.store;
    // Served all the same when the storage does not answer; stored once it does.
    crate::storage::or_skipped(store.put(key, data).await)
        .map_err(|e| Error::storage(&e, store.staging_dir()))
}
