//! `modgate serve`: builds the chain from the settings and runs the HTTP server.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Semaphore;

use crate::cache::{Cache, CacheSettings};
use crate::config::Settings;
use crate::error::Error;
use crate::http::{AppState, router};
use crate::source::chain::{Chain, ChainError, Entry, SourceSetupError};
use crate::source::file::FileSource;
use crate::source::git::{GitSettings, GitSource};
use crate::source::proxy::{ProxySettings, ProxySource, UpstreamError, redact_url};
use crate::source::{Info, Source};
use crate::storage::{Key, Ledger, Store};
use crate::sumdb::proxy::SumdbProxy;
use crate::sumdb::verify::SumVerifier;

/// A source with a bound on its concurrent calls (the per-upstream concurrency limit).
pub struct Limited {
    inner: Arc<dyn Source>,
    permits: Arc<Semaphore>,
}

impl Limited {
    /// `inner`, with at most `n` calls at a time.
    pub fn new(inner: Arc<dyn Source>, n: usize) -> Limited {
        Limited {
            inner,
            permits: Arc::new(Semaphore::new(n.max(1))),
        }
    }

    async fn permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, Error> {
        self.permits
            .acquire()
            .await
            .map_err(|e| Error::failed(format!("{}: {e}", self.inner.describe())))
    }
}

#[async_trait]
impl Source for Limited {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn fetches(&self) -> bool {
        self.inner.fetches()
    }
    async fn list(&self, module: &str) -> Result<bytes::Bytes, Error> {
        let _p = self.permit().await?;
        self.inner.list(module).await
    }
    async fn stat(&self, module: &str, query: &str) -> Result<Info, Error> {
        let _p = self.permit().await?;
        self.inner.stat(module, query).await
    }
    async fn latest(&self, module: &str) -> Result<Info, Error> {
        let _p = self.permit().await?;
        self.inner.latest(module).await
    }
    async fn go_mod(&self, module: &str, version: &str) -> Result<Vec<u8>, Error> {
        let _p = self.permit().await?;
        self.inner.go_mod(module, version).await
    }
    async fn zip(&self, module: &str, version: &str, dest: &Path) -> Result<u64, Error> {
        let _p = self.permit().await?;
        self.inner.zip(module, version, dest).await
    }
}

/// Why `serve` (or a data directory's cache) could not be set up: what was being set up,
/// and what to check. Printed at start; a reload that fails logs it and keeps running.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// An upstream `file://` URL that names no local directory (the URL).
    #[error("upstream {0:?}: a file:// URL needs an absolute path, like file:///srv/goproxy")]
    FileUrl(String),
    /// The upstream list.
    #[error("{0}")]
    Chain(#[from] ChainError),
    /// A route's upstream list.
    #[error("route {pattern}: {source}")]
    Route {
        /// The route's pattern.
        pattern: String,
        /// What is wrong with its list.
        source: ChainError,
    },
    /// A URL of a route's upstream list.
    #[error("{0}")]
    Upstream(#[from] UpstreamError),
    /// `--sumdb`.
    #[error("{0}")]
    SumDb(#[from] crate::sumdb::spec::SpecError),
    /// The checksum database's key.
    #[error("{0}")]
    SumKey(#[from] crate::sumdb::verify::KeyError),
    /// `--storage` names neither a directory nor S3 (the URL).
    #[error("--storage {0}: want a directory or s3://BUCKET/PREFIX")]
    StorageUrl(String),
    /// `--storage s3://…` is not a bucket and prefix.
    #[error("{0}")]
    S3Url(#[source] crate::storage::S3Error),
    /// The S3 storage could not be opened.
    #[error(
        "cannot open the storage: {0} (check --storage / MODGATE_STORAGE and the AWS_* settings)"
    )]
    S3(#[source] crate::storage::S3Error),
    /// The data directory could not be opened.
    #[error(
        "cannot open the data dir {}: {source} (check --data-dir / MODGATE_DATA_DIR, --storage / MODGATE_STORAGE)",
        dir.display()
    )]
    DataDir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `[auth]` (its token or htpasswd files), with the settings file when there is one.
    #[error("{}{reason}", file.as_ref().map(|f| format!("{}: ", f.display())).unwrap_or_default())]
    Auth {
        /// The settings file.
        file: Option<PathBuf>,
        /// What is wrong.
        reason: crate::http::AuthError,
    },
    /// The TLS certificate or key.
    #[error("{0}")]
    Tls(#[from] crate::http::tls::TlsError),
    /// `--redis`.
    #[error("{0}")]
    Redis(#[from] crate::cluster::RedisError),
    /// The bundle to import at start.
    #[error("{0}")]
    Bundle(#[from] crate::bundle::Error),
    /// `--listen`.
    #[error("{0}")]
    Listen(#[from] crate::config::listen::ListenError),
    /// The listener could not be bound.
    #[error("cannot listen on {listen}: {source} (check --listen / MODGATE_LISTEN)")]
    Bind {
        /// `--listen` as written.
        listen: String,
        /// Why.
        source: std::io::Error,
    },
    /// The bound address could not be read.
    #[error("cannot read the listening address: {0}")]
    LocalAddr(#[source] std::io::Error),
    /// The settings, read again for a reload.
    #[error("{0}")]
    Settings(#[from] crate::config::ConfigError),
}

/// The local directory of a `file://` URL (`file:///srv/proxy` -> `/srv/proxy`).
pub fn file_url_path(url: &str) -> Result<PathBuf, SetupError> {
    let rest = url.strip_prefix("file://").unwrap_or(url);
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !url.starts_with("file://") || !path.starts_with('/') {
        return Err(SetupError::FileUrl(url.to_string()));
    }
    Ok(PathBuf::from(path))
}

/// The sources built so far, by entry: one per upstream however many chains name it
/// (so that its concurrency, pace and breaker are one), one `direct` for the data dir.
#[derive(Default)]
pub struct Sources {
    built: std::sync::Mutex<std::collections::HashMap<String, Arc<dyn Source>>>,
    /// Counts `direct`'s clones, when given.
    ledger: Option<Arc<Ledger>>,
}

impl Sources {
    /// Sources whose `direct` clones are counted in `ledger`.
    pub fn new(ledger: Option<Arc<Ledger>>) -> Sources {
        Sources {
            built: Default::default(),
            ledger,
        }
    }

    /// Uses `source` for `entry` (a reload keeps the `direct` source).
    pub fn seed(&self, entry: &Entry, source: Arc<dyn Source>) {
        self.built
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(entry.to_string(), source);
    }

    /// The `direct` source, if one was built.
    pub fn direct(&self) -> Option<Arc<dyn Source>> {
        self.built
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&Entry::Direct.to_string())
            .cloned()
    }

    /// The source of `entry`, built once.
    pub fn get(
        &self,
        entry: &Entry,
        settings: &Settings,
    ) -> Result<Arc<dyn Source>, SourceSetupError> {
        let key = match entry {
            Entry::Url(u) => u.trim_end_matches('/').to_string(),
            other => other.to_string(),
        };
        let mut m = self.built.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = m.get(&key) {
            return Ok(Arc::clone(s));
        }
        let s = make_source(entry, settings, self.ledger.as_ref())?;
        m.insert(key, Arc::clone(&s));
        Ok(s)
    }
}

/// Builds the source of one chain entry: `file://` -> [`FileSource`], `http(s)://` ->
/// [`ProxySource`] (with the settings' timeouts and concurrency, or its own from
/// `[[upstreams]]`), `direct` -> [`GitSource`] (bare clones under `<data-dir>/git`,
/// counted in `ledger` when given). `off` needs no source.
pub fn make_source(
    entry: &Entry,
    settings: &Settings,
    ledger: Option<&Arc<Ledger>>,
) -> Result<Arc<dyn Source>, SourceSetupError> {
    let limit = settings.upstream_concurrency;
    match entry {
        Entry::Url(url) if url.starts_with("file://") => Ok(Arc::new(Limited::new(
            Arc::new(FileSource::new(file_url_path(url)?)),
            limit,
        ))),
        Entry::Url(url) => Ok(Arc::new(ProxySource::new(
            url,
            &upstream_settings(settings, url),
        )?)),
        Entry::Direct => {
            let mut gs = GitSettings::new(settings.data_dir.clone());
            gs.insecure = settings.insecure.clone();
            gs.command_timeout = settings.git_timeout;
            gs.ledger = ledger.cloned();
            let git = GitSource::new(gs)?;
            Ok(Arc::new(Limited::new(Arc::new(git), limit)))
        }
        Entry::Off => Err("internal error: no source is built for `off`".into()),
    }
}

/// Builds the upstream chain from the settings (`--upstream`, `--private`,
/// `private_upstreams`).
pub fn build_source(settings: &Settings) -> Result<Arc<Chain>, SetupError> {
    build_sources(settings, &Sources::default()).map(|(chain, _)| chain)
}

/// The default chain and, when there are routes, the source that routes by module.
pub type Built = (Arc<Chain>, Option<Arc<dyn Source>>);

/// The patterns of private modules: `--private` and the private routes'.
pub fn private_patterns(settings: &Settings) -> String {
    std::iter::once(settings.private.as_str())
        .chain(
            settings
                .routes
                .iter()
                .filter(|r| r.private)
                .map(|r| r.pattern.as_str()),
        )
        .filter(|p| !p.trim().is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

/// Builds the default chain (`--upstream`, `--private`, `private_upstreams`) and, when
/// there are `[[routes]]`, the source that routes each module to its route's chain. A
/// private route's upstreams may serve its (private) modules.
pub fn build_sources(settings: &Settings, sources: &Sources) -> Result<Built, SetupError> {
    let private = private_patterns(settings);
    let make = |e: &Entry| sources.get(e, settings);
    let default = Arc::new(
        Chain::parse(
            &settings.upstream,
            &private,
            &settings.private_upstreams,
            &make,
        )?
        .with_hedging(settings.hedge),
    );
    if settings.routes.is_empty() {
        return Ok((default, None));
    }
    let mut routes = Vec::new();
    for r in &settings.routes {
        let own: Vec<String> = crate::source::chain::parse_list(&r.upstream)?
            .into_iter()
            .filter_map(|(e, _)| match e {
                Entry::Url(u) => Some(u),
                _ => None,
            })
            .collect();
        let allowed = if r.private {
            own
        } else {
            settings.private_upstreams.clone()
        };
        let chain = Chain::parse(&r.upstream, &private, &allowed, &make)
            .map_err(|source| SetupError::Route {
                pattern: r.pattern.clone(),
                source,
            })?
            .with_hedging(settings.hedge);
        routes.push((r.pattern.clone(), Arc::new(chain)));
    }
    let routed = crate::source::routes::Routed::new(routes, Arc::clone(&default));
    Ok((default, Some(Arc::new(routed))))
}

/// The settings of requests to the upstream `url`: its own (`[[upstreams]]`), else the
/// common ones.
fn upstream_settings(settings: &Settings, url: &str) -> ProxySettings {
    let url = url.trim_end_matches('/');
    match settings.upstreams.iter().find(|u| u.url == url) {
        Some(u) => ProxySettings {
            connect_timeout: u.connect_timeout,
            first_byte_timeout: u.first_byte_timeout,
            total_timeout: u.transfer_timeout,
            max_concurrency: u.concurrency,
            pace: u.pace,
            credentials: u.credentials.clone(),
            http_proxy: u.http_proxy.clone(),
            ..ProxySettings::default()
        },
        None => proxy_settings(settings),
    }
}

/// The common settings of upstream HTTP requests.
fn proxy_settings(settings: &Settings) -> ProxySettings {
    let t = &settings.timeouts;
    ProxySettings {
        connect_timeout: t.connect,
        first_byte_timeout: t.first_byte,
        total_timeout: t.transfer,
        max_concurrency: settings.upstream_concurrency,
        pace: settings.limits.upstream,
        ..ProxySettings::default()
    }
}

/// The checksum database proxy of `--sumdb` (`None` for `off`), reached through `chain`'s
/// upstreams, never asked about `--private` or `--nosumdb` modules; it also becomes the
/// check `cache` runs on every public go.mod and zip before storing it.
pub fn build_sumdb(
    settings: &Settings,
    chain: &Chain,
    cache: &Cache,
    store: &Arc<Store>,
) -> Result<Option<Arc<SumdbProxy>>, SetupError> {
    let Some(db) = crate::sumdb::spec::parse(&settings.sumdb)? else {
        return Ok(None);
    };
    let key = db.key.clone();
    let entries: Vec<(Entry, bool)> = chain
        .entries_with_fallback()
        .map(|(e, pipe)| (e.clone(), pipe))
        .collect();
    let excluded = sumdb_excluded(settings);
    let proxy = Arc::new(SumdbProxy::new(
        db,
        &entries,
        excluded.clone(),
        proxy_settings(settings),
        cache.clone(),
        Arc::clone(store),
        settings.list_ttl,
    ));
    let verifier = SumVerifier::new(&proxy, &key, &excluded, Arc::clone(store))?;
    cache.set_sum_check(Arc::new(verifier));
    Ok(Some(proxy))
}

/// The patterns of modules never looked up in the checksum database: the private ones
/// and `--nosumdb`'s.
pub fn sumdb_excluded(settings: &Settings) -> String {
    let private = private_patterns(settings);
    [private.as_str(), settings.nosumdb.as_str()]
        .iter()
        .filter(|p| !p.trim().is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(",")
}

/// Offline, the checksum database is served from what the data directory holds of it (an
/// imported bundle's lookups, tiles and `latest`), when it holds its `latest`; else
/// there is none.
async fn offline_sumdb(
    settings: &Settings,
    cache: &Cache,
    store: &Arc<Store>,
) -> Result<Option<Arc<SumdbProxy>>, SetupError> {
    let Some(db) = crate::sumdb::spec::parse(&settings.sumdb)? else {
        return Ok(None);
    };
    // A name the spec accepted always makes a key; none is no database held here.
    let Ok(key) = Key::sumdb(&db.name, "latest") else {
        return Ok(None);
    };
    if store.stat(&key).await.ok().flatten().is_none() {
        return Ok(None);
    }
    Ok(Some(Arc::new(SumdbProxy::offline(
        db,
        cache.clone(),
        Arc::clone(store),
    ))))
}

/// A data directory's cache, its store, and the checksum database proxy (if one is set).
pub type DataDirCache = (Cache, Arc<Store>, Option<Arc<SumdbProxy>>);

/// The cache `serve` would have over `settings`' data directory and upstream chain (and
/// checksum database), for filling it without serving (`modgate prefetch --data-dir`):
/// no background prefetches, no Redis.
pub fn data_dir_cache(settings: &Settings) -> Result<DataDirCache, SetupError> {
    let store = Arc::new(open_store(settings)?);
    // The routes' chains when there are routes, as `serve` answers.
    let (chain, routed) = build_sources(settings, &Sources::default())?;
    let cache = Cache::new(
        routed.unwrap_or_else(|| Arc::clone(&chain) as Arc<dyn Source>),
        Arc::clone(&store),
        CacheSettings {
            request_timeout: settings.timeouts.request,
            transfer_timeout: settings.timeouts.transfer,
            prefetch: crate::cache::Prefetch::Off,
            ..CacheSettings::default()
        },
    );
    let sumdb = build_sumdb(settings, &chain, &cache, &store)?;
    Ok((cache, store, sumdb))
}

/// The upstream list with any password in its URLs replaced (for logs).
pub fn redact_list(list: &str) -> String {
    crate::source::chain::map_entries(list, |w| w.contains("://").then(|| redact_url(w)))
}

/// The store `--storage` names: the data directory (default), another directory, or
/// S3-compatible storage (with the data directory for staging and git clones).
pub fn open_store(settings: &Settings) -> Result<Store, SetupError> {
    match settings.storage.as_deref() {
        Some(url) if url.starts_with("s3://") => {
            let url = crate::storage::S3Url::parse(url).map_err(SetupError::S3Url)?;
            Store::open_s3(&settings.data_dir, url, &settings.s3).map_err(SetupError::S3)
        }
        Some(url) if url.contains("://") => Err(SetupError::StorageUrl(url.to_string())),
        other => {
            let dir = other.map_or(settings.data_dir.clone(), std::path::PathBuf::from);
            Store::open_dir(&dir).map_err(|source| SetupError::DataDir { dir, source })
        }
    }
}

/// Opens `[auth]` (reading its token and htpasswd files), with the routes' `read` lists:
/// `None` without the table.
fn open_auth(settings: &Settings) -> Result<Option<Arc<crate::http::Auth>>, SetupError> {
    let Some(a) = &settings.auth else {
        return Ok(None);
    };
    let readers: Vec<crate::http::auth_settings::RouteReaders> = settings
        .routes
        .iter()
        .map(|r| crate::http::auth_settings::RouteReaders {
            pattern: r.pattern.clone(),
            read: r.read.clone(),
        })
        .collect();
    crate::http::Auth::open(a, &readers)
        .map(|a| Some(Arc::new(a)))
        .map_err(|reason| SetupError::Auth {
            file: settings.config_file.clone(),
            reason,
        })
}

/// Reads the settings again (for a reload): the same flags, environment and file.
pub type Reread = Box<dyn Fn() -> Result<Settings, crate::config::ConfigError> + Send + Sync>;

/// Runs the server until interrupted (Ctrl-C or SIGTERM); on SIGHUP, `reread` gives the
/// settings to reload (see [`reload`]).
pub async fn run(settings: Settings, reread: Reread) -> Result<(), SetupError> {
    let opened = open(&settings).await?;
    let store_description = opened.store.describe();
    let Opened {
        auth,
        tls,
        store,
        ledger,
        shared,
    } = opened;
    let (cache, chain, swappable, sources) = build_cache(&settings, &store, &ledger, &shared)?;
    let sumdb = match &chain {
        Some(chain) => build_sumdb(&settings, chain, &cache, &store)?,
        None => offline_sumdb(&settings, &cache, &store).await?,
    };
    let state = Arc::new(AppState {
        cache,
        short_max_age: settings.list_ttl,
        sumdb,
        shared: shared.clone(),
        limiter: Arc::new(crate::http::limit::Limiter::new(
            settings.limits.client,
            shared.clone(),
        )),
        auth: arc_swap::ArcSwapOption::new(auth.clone()),
    });
    let reloading = Reloading {
        running: std::sync::Mutex::new(settings.clone()),
        reread,
        source: swappable,
        direct: sources.direct(),
        state: Arc::clone(&state),
    };
    tokio::spawn(reload_on_sighup(reloading));
    let listen = crate::config::listen::parse(&settings.listen)?;
    let listener = crate::config::listen::bind(&listen)
        .await
        .map_err(|source| SetupError::Bind {
            listen: settings.listen.clone(),
            source,
        })?;
    let addr = listener.local_addr().map_err(SetupError::LocalAddr)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    log_start(
        &settings,
        &format!("{scheme}://{addr}"),
        &store_description,
        &state,
    );
    match &auth {
        Some(a) => tracing::info!("{}", a.describe()),
        None => {
            tracing::info!("auth off: no [auth] in the settings, every client reads every module")
        }
    }
    // Not awaited: a large cache must not delay serving (nor /healthz).
    ledger.spawn_scan();
    crate::http::listen::serve(listener, router(state), tls, settings.server, shutdown()).await;
    Ok(())
}

/// What `serve` opens before it builds its sources.
struct Opened {
    auth: Option<Arc<crate::http::Auth>>,
    tls: Option<Arc<rustls::ServerConfig>>,
    store: Arc<Store>,
    ledger: Arc<Ledger>,
    shared: Option<Arc<crate::cluster::Shared>>,
}

/// Opens the credentials, the certificate and key (first: a bad file stops the start
/// before anything is opened), the store (importing `--bundle` into it, every file
/// checked, before anything is served), the ledger of the local disk, and Redis.
async fn open(settings: &Settings) -> Result<Opened, SetupError> {
    let auth = open_auth(settings)?;
    let tls = match &settings.tls {
        Some(files) => Some(crate::http::tls::server_config(files)?),
        None => None,
    };
    let mut store = open_store(settings)?;
    if let Some(b) = &settings.bundle {
        let (_, summary) = crate::bundle::import(b, &store).await?;
        tracing::info!("{}", summary.render("imported").trim_end());
    }
    // What the local disk keeps (a directory store, the git clones), counted by a scan in
    // the background, and bounded by `max_bytes` when set.
    let ledger = Ledger::new(
        settings.max_bytes,
        store.local_root().map(Path::to_path_buf),
        Some(settings.data_dir.join("git")),
    );
    store.set_ledger(Arc::clone(&ledger));
    // With Redis, replicas share the single-flight lock (and the cache's short answers);
    // Redis being down at start is not an error: it is retried, and each replica works
    // on its own meanwhile.
    let shared = match &settings.redis {
        Some(url) => {
            let shared = crate::cluster::Shared::connect(url)?;
            let locks = crate::cluster::RedisLocks::new(Arc::clone(&shared));
            store.set_locks(Arc::new(locks));
            Some(shared)
        }
        None => None,
    };
    Ok(Opened {
        auth,
        tls,
        store: Arc::new(store),
        ledger,
        shared,
    })
}

/// What [`build_cache`] builds: the cache, the default chain (none offline), the source
/// a reload replaces, and the sources built.
type CacheParts = (
    Cache,
    Option<Arc<Chain>>,
    Arc<crate::source::swap::Swappable>,
    Sources,
);

/// The cache over the upstream sources (none offline), the source swappable by a reload.
fn build_cache(
    settings: &Settings,
    store: &Arc<Store>,
    ledger: &Arc<Ledger>,
    shared: &Option<Arc<crate::cluster::Shared>>,
) -> Result<CacheParts, SetupError> {
    let sources = Sources::new(Some(Arc::clone(ledger)));
    let built = if settings.offline {
        None
    } else {
        Some(build_sources(settings, &sources)?)
    };
    let chain = built.as_ref().map(|(c, _)| Arc::clone(c));
    let source: Arc<dyn Source> = match built {
        Some((_, Some(routed))) => routed,
        Some((c, None)) => c as Arc<dyn Source>,
        None => Arc::new(crate::source::offline::Offline),
    };
    let swappable = Arc::new(crate::source::swap::Swappable::new(source));
    let cache = Cache::new(
        Arc::clone(&swappable) as Arc<dyn Source>,
        Arc::clone(store),
        CacheSettings {
            negative_ttl: settings.negative_ttl,
            list_ttl: settings.list_ttl,
            request_timeout: settings.timeouts.request,
            transfer_timeout: settings.timeouts.transfer,
            prefetch: settings.prefetch,
            // At most half of each upstream's permits go to prefetches, so that client
            // requests always find room.
            prefetch_concurrency: (settings.upstream_concurrency / 2).clamp(1, 8),
            offline: settings.offline,
            ..CacheSettings::default()
        },
    );
    if let Some(shared) = shared {
        cache.set_shared(Arc::clone(shared));
    }
    Ok((cache, chain, swappable, sources))
}

/// The start line: where it listens, what it stores where, and what it asks.
fn log_start(settings: &Settings, listening: &str, storage: &str, state: &AppState) {
    tracing::info!(
        "modgate serve listening on {listening} (data dir {}, storage {storage}, max_bytes {}, redis {}, upstream {}, checksum database {})",
        settings.data_dir.display(),
        settings
            .max_bytes
            .map_or("none".to_string(), |m| m.to_string()),
        state.shared.as_ref().map_or("none", |s| s.describe()),
        if settings.offline {
            "none (--offline)".to_string()
        } else {
            redact_list(&settings.upstream)
        },
        match (settings.offline, &state.sumdb) {
            (true, Some(db)) => format!("{} (what the data dir holds, --offline)", db.name()),
            (true, None) => "off (--offline)".to_string(),
            (false, _) => settings.sumdb.clone(),
        }
    );
}

/// What a reload replaces, and what it needs.
struct Reloading {
    running: std::sync::Mutex<Settings>,
    reread: Reread,
    source: Arc<crate::source::swap::Swappable>,
    /// The `direct` source (kept: its clones and their locks are the data dir's).
    direct: Option<Arc<dyn Source>>,
    state: Arc<AppState>,
}

/// Reloads the settings at each SIGHUP.
async fn reload_on_sighup(r: Reloading) {
    #[cfg(unix)]
    {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            match reload(&r) {
                Ok(note) => tracing::info!("{note}"),
                Err(e) => tracing::error!("settings reload failed, the running settings stay: {e}"),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = r;
}

/// Settings a reload cannot change (the listener, storage, Redis, the checksum database
/// and its exclusions, the git source): their names, where `new` differs from `old`.
fn needs_restart(old: &Settings, new: &Settings) -> Vec<&'static str> {
    let mut v = Vec::new();
    let mut check = |name, changed: bool| {
        if changed {
            v.push(name);
        }
    };
    check("listen", old.listen != new.listen);
    check("data_dir", old.data_dir != new.data_dir);
    check("storage", old.storage != new.storage);
    check("[s3]", old.s3 != new.s3);
    check("redis", old.redis != new.redis);
    check("tls", old.tls != new.tls);
    check("server", old.server != new.server);
    check("offline", old.offline != new.offline);
    check("sumdb", old.sumdb != new.sumdb);
    check(
        "private/nosumdb (the checksum database's exclusions)",
        private_patterns(old) != private_patterns(new) || old.nosumdb != new.nosumdb,
    );
    check(
        "[direct]",
        old.insecure != new.insecure || old.git_timeout != new.git_timeout,
    );
    check(
        "[cache]",
        old.negative_ttl != new.negative_ttl || old.list_ttl != new.list_ttl,
    );
    v
}

/// Reads the settings again and applies what can change while serving: the upstream
/// list, routes, named upstreams (fresh clients, pace and breakers), hedging, client
/// limits. Connections and requests under way are kept (a request finishes on the chain
/// it started with). Returns what was done, for the log.
fn reload(r: &Reloading) -> Result<String, SetupError> {
    let new = (r.reread)()?;
    // Credentials and access rules (token and htpasswd files read again): a mistake
    // refuses the whole reload.
    let auth = open_auth(&new)?;
    let mut running = r.running.lock().unwrap_or_else(|p| p.into_inner());
    let fixed = needs_restart(&running, &new);
    let later = if fixed.is_empty() {
        String::new()
    } else {
        format!("; not applied until a restart: {}", fixed.join(", "))
    };
    if running.offline || new.offline {
        r.state.limiter.set(new.limits.client);
        r.state.auth.store(auth);
        *running = new;
        return Ok(format!(
            "settings reloaded: client limits and [auth] only (--offline asks no upstream){later}"
        ));
    }
    let sources = Sources::default();
    if let Some(d) = &r.direct {
        sources.seed(&Entry::Direct, Arc::clone(d));
    }
    let (chain, routed) = build_sources(&new, &sources)?;
    r.source.set(routed.unwrap_or(chain as Arc<dyn Source>));
    r.state.limiter.set(new.limits.client);
    let auth_note = match &auth {
        Some(a) => a.describe(),
        None => "auth off".to_string(),
    };
    r.state.auth.store(auth);
    let note = format!(
        "settings reloaded{}: upstream {}, {} route(s), {} named upstream(s), {auth_note}{later}",
        new.config_file
            .as_ref()
            .map(|f| format!(" from {}", f.display()))
            .unwrap_or_default(),
        redact_list(&new.upstream),
        new.routes.len(),
        new.upstreams.len(),
    );
    *running = new;
    Ok(note)
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("modgate serve: shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_passwords_are_not_logged() {
        assert_eq!(
            redact_list("https://u:secret@goproxy.corp|https://proxy.golang.org,direct"),
            "https://u:xxxxx@goproxy.corp/|https://proxy.golang.org,direct"
        );
        assert_eq!(redact_list("file:///srv/up,off"), "file:///srv/up,off");
    }

    #[test]
    fn file_urls() {
        let path = |u: &str| file_url_path(u).map_err(|e| e.to_string());
        assert_eq!(path("file:///srv/up"), Ok(PathBuf::from("/srv/up")));
        assert_eq!(
            path("file://localhost/srv/up"),
            Ok(PathBuf::from("/srv/up"))
        );
        assert_eq!(
            path("file://srv/up"),
            Err("upstream \"file://srv/up\": a file:// URL needs an absolute path, like file:///srv/goproxy".to_string())
        );
    }
}
