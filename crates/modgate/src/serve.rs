//! `modgate serve`: builds the chain from the settings and runs the HTTP server.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Semaphore;

use crate::cache::{Cache, CacheSettings};
use crate::config::Settings;
use crate::error::Error;
use crate::http::{AppState, router};
use crate::source::chain::{Chain, Entry};
use crate::source::file::FileSource;
use crate::source::git::{GitSettings, GitSource};
use crate::source::proxy::{ProxySettings, ProxySource, redact_url};
use crate::source::{Info, Source};
use crate::store::Store;
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

/// The local directory of a `file://` URL (`file:///srv/proxy` -> `/srv/proxy`).
pub fn file_url_path(url: &str) -> Result<PathBuf, String> {
    let rest = url
        .strip_prefix("file://")
        .ok_or_else(|| format!("{url:?} is not a file:// URL"))?;
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return Err(format!(
            "upstream {url:?}: a file:// URL needs an absolute path, like file:///srv/goproxy"
        ));
    }
    Ok(PathBuf::from(path))
}

/// Builds the source of one chain entry: `file://` -> [`FileSource`], `http(s)://` ->
/// [`ProxySource`] (with the settings' timeouts and concurrency), `direct` ->
/// [`GitSource`] (bare clones under `<data-dir>/git`). `off` needs no source.
pub fn make_source(entry: &Entry, settings: &Settings) -> Result<Arc<dyn Source>, String> {
    let limit = settings.upstream_concurrency;
    match entry {
        Entry::Url(url) if url.starts_with("file://") => Ok(Arc::new(Limited::new(
            Arc::new(FileSource::new(file_url_path(url)?)),
            limit,
        ))),
        Entry::Url(url) => Ok(Arc::new(ProxySource::new(url, &proxy_settings(settings))?)),
        Entry::Direct => {
            let mut gs = GitSettings::new(settings.data_dir.clone());
            gs.insecure = settings.insecure.clone();
            gs.command_timeout = settings.git_timeout;
            let git = GitSource::new(gs)?;
            Ok(Arc::new(Limited::new(Arc::new(git), limit)))
        }
        Entry::Off => Err("internal error: no source is built for `off`".to_string()),
    }
}

/// Builds the upstream chain from the settings (`--upstream`, `--private`,
/// `private_upstreams`).
pub fn build_source(settings: &Settings) -> Result<Arc<Chain>, String> {
    let chain = Chain::parse(
        &settings.upstream,
        &settings.private,
        &settings.private_upstreams,
        &|e: &Entry| make_source(e, settings),
    )?;
    Ok(Arc::new(chain))
}

/// The settings of upstream HTTP requests.
fn proxy_settings(settings: &Settings) -> ProxySettings {
    let t = &settings.timeouts;
    ProxySettings {
        connect_timeout: t.connect,
        first_byte_timeout: t.first_byte,
        total_timeout: t.transfer,
        max_concurrency: settings.upstream_concurrency,
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
) -> Result<Option<Arc<SumdbProxy>>, String> {
    let Some(db) = crate::sumdb::spec::parse(&settings.sumdb)? else {
        return Ok(None);
    };
    let key = db.key.clone();
    let entries: Vec<(Entry, bool)> = chain
        .entries_with_fallback()
        .map(|(e, pipe)| (e.clone(), pipe))
        .collect();
    let excluded = [settings.private.as_str(), settings.nosumdb.as_str()]
        .iter()
        .filter(|p| !p.trim().is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(",");
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

/// The upstream list with any password in its URLs replaced (for logs).
pub fn redact_list(list: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.contains("://") {
            out.push_str(&redact_url(word.trim()));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in list.chars() {
        if c == ',' || c == '|' {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The store `--storage` names: the data directory (default), another directory, or
/// S3-compatible storage (with the data directory for staging and git clones).
pub fn open_store(settings: &Settings) -> Result<Store, String> {
    match settings.storage.as_deref() {
        Some(url) if url.starts_with("s3://") => {
            let url = crate::store::S3Url::parse(url)?;
            Store::open_s3(&settings.data_dir, url).map_err(|e| {
                format!("cannot open the storage: {e} (check --storage / MODGATE_STORAGE and the AWS_* settings)")
            })
        }
        Some(url) if url.contains("://") => Err(format!(
            "--storage {url}: want a directory or s3://BUCKET/PREFIX"
        )),
        other => {
            let dir = other.map_or(settings.data_dir.clone(), std::path::PathBuf::from);
            Store::open_dir(&dir).map_err(|e| {
                format!(
                    "cannot open the data dir {}: {e} (check --data-dir / MODGATE_DATA_DIR, --storage / MODGATE_STORAGE)",
                    dir.display()
                )
            })
        }
    }
}

/// Runs the server until interrupted (Ctrl-C or SIGTERM).
pub async fn run(settings: Settings) -> Result<(), String> {
    // Credentials and access rules first: a mistake there stops the start before anything
    // is opened.
    let auth = match &settings.auth {
        Some(a) => Some(Arc::new(crate::http::Auth::open(a).map_err(
            |e| match &settings.config_file {
                Some(f) => format!("{}: {e}", f.display()),
                None => e,
            },
        )?)),
        None => None,
    };
    let store = open_store(&settings)?;
    let store_description = store.describe();
    let store = Arc::new(store);
    // Offline: no upstream, no checksum database proxy.
    let chain = if settings.offline {
        None
    } else {
        Some(build_source(&settings)?)
    };
    let source: Arc<dyn Source> = match &chain {
        Some(c) => Arc::clone(c) as Arc<dyn Source>,
        None => Arc::new(crate::source::offline::Offline),
    };
    let cache = Cache::new(
        source,
        Arc::clone(&store),
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
    let sumdb = match &chain {
        Some(chain) => build_sumdb(&settings, chain, &cache, &store)?,
        None => None,
    };
    let state = Arc::new(AppState {
        cache,
        short_max_age: settings.list_ttl,
        sumdb,
        auth: auth.clone(),
    });
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {}: {e} (check --listen / MODGATE_LISTEN)",
                settings.listen
            )
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    tracing::info!(
        "modgate serve listening on http://{addr} (data dir {}, storage {}, upstream {}, checksum database {})",
        settings.data_dir.display(),
        store_description,
        if settings.offline {
            "none (--offline)".to_string()
        } else {
            redact_list(&settings.upstream)
        },
        if settings.offline {
            "off (--offline)"
        } else {
            settings.sumdb.as_str()
        }
    );
    match &auth {
        Some(a) => tracing::info!("{}", a.describe()),
        None => {
            tracing::info!("auth off: no [auth] in the settings, every client reads every module")
        }
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| format!("serving on {addr}: {e}"))
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
        assert_eq!(
            file_url_path("file:///srv/up"),
            Ok(PathBuf::from("/srv/up"))
        );
        assert_eq!(
            file_url_path("file://localhost/srv/up"),
            Ok(PathBuf::from("/srv/up"))
        );
        assert_eq!(
            file_url_path("file://srv/up"),
            Err("upstream \"file://srv/up\": a file:// URL needs an absolute path, like file:///srv/goproxy".to_string())
        );
    }
}
