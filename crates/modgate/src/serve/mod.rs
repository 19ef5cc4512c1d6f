//! `modgate serve`: builds the chain from the settings and runs the HTTP server.
//! `sources.rs` builds the upstream sources and chains, `reload.rs` applies SIGHUP,
//! `error.rs` says why the set-up failed.

mod error;
mod reload;
mod sources;

use std::path::Path;
use std::sync::Arc;

use crate::cache::{Cache, CacheSettings};
use crate::config::Settings;
use crate::http::{App, AppState};
use crate::source::Source;
use crate::source::chain::{Chain, Entry};
use crate::storage::{Key, Ledger, Store};
use crate::sumdb::proxy::SumdbProxy;
use crate::sumdb::verify::SumVerifier;
pub use error::SetupError;
pub use reload::Reread;
use reload::{Reloading, reload_on_sighup};
use sources::proxy_settings;
use sources::{Sources, build_sources, private_patterns, redact_list};

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
pub(super) fn open_auth(settings: &Settings) -> Result<Option<Arc<crate::http::Auth>>, SetupError> {
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
            reason: Box::new(reason),
        })
}

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
    let filter = Arc::new(arc_swap::ArcSwap::from_pointee(settings.filter.clone()));
    cache.set_filter(Arc::clone(&filter));
    let sumdb = match &chain {
        Some(chain) => build_sumdb(&settings, chain, &cache, &store)?,
        None => offline_sumdb(&settings, &cache, &store).await?,
    };
    // What a bundle made on request carries of the checksum database, as `modgate
    // bundle create` carries it.
    let bundle_db = match (&sumdb, crate::sumdb::spec::parse(&settings.sumdb)) {
        (Some(proxy), Ok(Some(spec))) => Some(crate::bundle::DbSource {
            db: spec,
            proxy: Arc::clone(proxy),
            excluded: sumdb_excluded(&settings),
        }),
        _ => None,
    };
    let fleet = crate::fleet::Fleet::start(
        cache.clone(),
        shared.clone(),
        settings.warm.clone(),
        bundle_db,
    );
    let state = Arc::new(AppState {
        fleet: Some(fleet),
        cache,
        short_max_age: settings.list_ttl,
        sumdb,
        shared: shared.clone(),
        limiter: Arc::new(crate::http::limit::Limiter::new(
            settings.limits.client,
            shared.clone(),
        )),
        auth: arc_swap::ArcSwapOption::new(auth.clone()),
        filter: Arc::clone(&filter),
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
    // The dashboard's last hour.
    crate::metrics::metrics().recent.start_ticking();
    crate::http::listen::serve(listener, App::new(state), tls, settings.server, shutdown()).await;
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
    // Windows: the console closing, or the system shutting down.
    #[cfg(windows)]
    let term = async {
        use tokio::signal::windows::{ctrl_close, ctrl_shutdown};
        match (ctrl_close(), ctrl_shutdown()) {
            (Ok(mut close), Ok(mut down)) => {
                tokio::select! {
                    _ = close.recv() => {},
                    _ = down.recv() => {},
                }
            }
            _ => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("modgate serve: shutting down");
}
