//! Where prefetched modules go: a running modgate (or any GOPROXY: each file is asked
//! of it, which fills its cache), or a data directory (modgate's own cache over the
//! upstream chain: each file fetched, checked as `serve` checks it, against the checksum
//! database too when one is set, and stored). Both also give the graph its go.mod files,
//! so that what the graph reads is fetched as well.

use std::path::PathBuf;
use std::sync::Arc;

use crate::cache::Cache;
use crate::error::Error;
use crate::graph::GoMods;
use crate::source::Source;
use crate::source::proxy::{ProxySettings, ProxySource};

/// A destination of prefetched module versions.
#[async_trait::async_trait]
pub trait Target: GoMods {
    /// Fetches the `.info`, `.mod` and `.zip` of `path@version`; the zip's size (or the
    /// error of the first that failed, with its kind).
    async fn version(&self, path: &str, version: &str) -> Result<u64, Error>;
    /// What it is, for people.
    fn describe(&self) -> String;
}

/// Why a GOPROXY server cannot be fetched from: its URL is not usable (the message names
/// it, its password redacted).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct BadUrl(Box<dyn std::error::Error + Send + Sync>);

/// A GOPROXY server (a modgate to warm).
pub struct Server {
    url: String,
    source: ProxySource,
    scratch: PathBuf,
}

impl Server {
    /// The server at `url`; zips are read through `scratch` (a directory, emptied).
    pub fn new(url: &str, scratch: PathBuf) -> Result<Server, BadUrl> {
        let settings = ProxySettings {
            max_concurrency: 64,
            ..ProxySettings::default()
        };
        Ok(Server {
            url: url.to_string(),
            source: ProxySource::new(url, &settings).map_err(|e| BadUrl(e.into()))?,
            scratch,
        })
    }
}

#[async_trait::async_trait]
impl GoMods for Server {
    async fn go_mod(&self, path: &str, version: &str) -> Result<Vec<u8>, Error> {
        self.source.go_mod(path, version).await
    }
}

#[async_trait::async_trait]
impl Target for Server {
    async fn version(&self, path: &str, version: &str) -> Result<u64, Error> {
        self.source.stat(path, version).await?;
        self.go_mod(path, version).await?;
        let dest = self.scratch.join(format!(
            "{}.zip",
            gomod::module::escape_path(path)
                .unwrap_or_else(|_| path.to_string())
                .replace('/', "_")
                + "@"
                + version
        ));
        let size = self.source.zip(path, version, &dest).await;
        let _ = std::fs::remove_file(&dest);
        size
    }

    fn describe(&self) -> String {
        format!("the proxy at {}", self.url)
    }
}

/// A data directory, filled through modgate's cache.
pub struct DataDir {
    dir: PathBuf,
    cache: Cache,
}

impl DataDir {
    /// The cache over the data directory `dir`.
    pub fn new(dir: PathBuf, cache: Cache) -> DataDir {
        DataDir { dir, cache }
    }
}

#[async_trait::async_trait]
impl GoMods for DataDir {
    async fn go_mod(&self, path: &str, version: &str) -> Result<Vec<u8>, Error> {
        self.cache.go_mod(path, version).await.map(|b| b.to_vec())
    }
}

#[async_trait::async_trait]
impl Target for DataDir {
    async fn version(&self, path: &str, version: &str) -> Result<u64, Error> {
        self.cache.info(path, version).await?;
        self.go_mod(path, version).await?;
        Ok(self.cache.zip(path, version).await?.size)
    }

    fn describe(&self) -> String {
        format!("the data directory {}", self.dir.display())
    }
}

/// A target whose requests wait for a rate limit.
pub struct Paced {
    inner: Arc<dyn Target>,
    limiter: Option<governor::DefaultDirectRateLimiter>,
}

impl Paced {
    /// `inner`, at most `per_second` requests a second (none: no limit).
    pub fn new(inner: Arc<dyn Target>, per_second: Option<u32>) -> Paced {
        let limiter = per_second
            .and_then(std::num::NonZeroU32::new)
            .map(|n| governor::RateLimiter::direct(governor::Quota::per_second(n)));
        Paced { inner, limiter }
    }

    async fn wait(&self) {
        if let Some(l) = &self.limiter {
            l.until_ready().await;
        }
    }
}

#[async_trait::async_trait]
impl GoMods for Paced {
    async fn go_mod(&self, path: &str, version: &str) -> Result<Vec<u8>, Error> {
        self.wait().await;
        self.inner.go_mod(path, version).await
    }
}

#[async_trait::async_trait]
impl Target for Paced {
    async fn version(&self, path: &str, version: &str) -> Result<u64, Error> {
        self.wait().await;
        self.inner.version(path, version).await
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}
