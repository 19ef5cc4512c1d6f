//! The upstream sources of `serve`: one per upstream however many chains name it, the
//! default chain and the routes' chains, each with its settings.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Semaphore;

use super::SetupError;
use crate::config::Settings;
use crate::error::Error;
use crate::source::chain::{Chain, Entry, SourceSetupError};
use crate::source::file::FileSource;
use crate::source::git::{GitSettings, GitSource};
use crate::source::proxy::{ProxySettings, ProxySource, redact_url};
use crate::source::{Info, Source};
use crate::storage::Ledger;

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

    fn upstreams(&self) -> Vec<crate::source::UpstreamState> {
        self.inner.upstreams()
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

/// The local directory of a `file://` URL, percent-decoded as the go command reads it
/// (`file:///srv/proxy` -> `/srv/proxy`; on Windows `file:///C:/proxy` -> `C:\proxy`).
pub fn file_url_path(url: &str) -> Result<PathBuf, SetupError> {
    let bad = || SetupError::FileUrl(url.to_string());
    let rest = url.strip_prefix("file://").ok_or_else(bad)?;
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return Err(bad());
    }
    let path = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| bad())?;
    Ok(crate::platform::path::from_url_path(&path))
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
pub(super) fn proxy_settings(settings: &Settings) -> ProxySettings {
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

/// The upstream list with any password in its URLs replaced (for logs).
pub fn redact_list(list: &str) -> String {
    crate::source::chain::map_entries(list, |w| w.contains("://").then(|| redact_url(w)))
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
        // Decoded as the go command decodes it.
        assert_eq!(
            path("file:///srv/go%20proxy"),
            Ok(PathBuf::from("/srv/go proxy"))
        );
        assert!(path("file:///srv/%ff").is_err());
        assert!(path("/srv/up").is_err());
    }
}
