//! An upstream GOPROXY (http or https) as a [`Source`], read exactly as the go command's
//! `proxyRepo` reads one (cmd/go/internal/modfetch/proxy.go): `!`-escaped paths and
//! versions, `@v/list`, `@v/<query>.info`, `@latest` with its fallback to the list,
//! `.mod` and `.zip`; 404 and 410 mean "not found" (with the server's text/plain detail,
//! as cmd/go/internal/web reads it), anything else is a failure.
//!
//! Every body is checked as the go command checks it, and handed on as it was served
//! (never re-serialized): `.info` and `@latest` must be what Go's JSON decoding of a
//! `RevInfo` takes (no `Time`, extra fields and any spacing are fine), and the `.info` of
//! a canonical version valid for the path must name that version; a `.mod` must parse
//! with the lax go.mod parser; a list is any body (the go command takes the versions it
//! finds on its lines); a zip is at most [`gomod::zip::MAX_ZIP_FILE`] (a larger one is an
//! error, so a `|` chain moves on) and relayed: its content is checked once, by the cache,
//! after the chain, as the go command checks a zip after its proxy list (`downloadZip`
//! in cmd/go/internal/modfetch/fetch.go), so a bad zip does not fall through.
//! Credentials in the URL's userinfo are sent as basic auth and never shown: logs and
//! errors use the redacted URL (`https://user:xxxxx@host/`).

mod body;
pub(crate) mod http;

pub use http::UpstreamError;
pub mod netrc;
pub mod pace;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use gomod::module;
use gomod::pseudo::is_pseudo_version;

use self::http::{Upstream, path_escape};
use super::{Info, Source};
use crate::error::Error;

/// Largest `.info` / `@latest` body accepted.
const MAX_INFO: u64 = 1 << 20;
/// Largest `@v/list` body accepted.
const MAX_LIST: u64 = 16 << 20;

/// How an upstream is used: timeouts, concurrency and the User-Agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxySettings {
    /// Bound on establishing a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Bound on the wait for the response headers after the request starts, and on any
    /// stall while the body arrives (no data for this long fails the transfer).
    pub first_byte_timeout: Duration,
    /// Bound on a whole request: waiting for a connection slot, the headers and the body.
    pub total_timeout: Duration,
    /// Most requests in flight to this upstream at once.
    pub max_concurrency: usize,
    /// The User-Agent header sent.
    pub user_agent: String,
    /// Request rate, 429 pauses and the circuit breaker.
    pub pace: pace::PaceSettings,
    /// Basic-auth credentials for this upstream (from the config), used when its URL has
    /// none; else the netrc file's entry for its host, as the go command does.
    pub credentials: Option<(String, String)>,
    /// An HTTP proxy for this upstream (`http://host:port`), instead of the environment's.
    pub http_proxy: Option<String>,
}

impl Default for ProxySettings {
    /// 10 s to connect, 30 s to the first byte (and per stall), 10 min in all, 16 at once.
    fn default() -> Self {
        ProxySettings {
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(600),
            max_concurrency: 16,
            user_agent: format!("modgate/{}", env!("CARGO_PKG_VERSION")),
            pace: pace::PaceSettings::default(),
            credentials: None,
            http_proxy: None,
        }
    }
}

/// An HTTP(S) module proxy upstream (one entry of `--upstream`).
pub struct ProxySource {
    upstream: Upstream,
}

impl ProxySource {
    /// A source for the proxy at `base_url` (`http://` or `https://`; userinfo becomes
    /// basic auth, refused over plain http except to loopback). Fails with a message
    /// naming the (redacted) URL if it is not usable.
    pub fn new(base_url: &str, settings: &ProxySettings) -> Result<ProxySource, UpstreamError> {
        Ok(ProxySource {
            upstream: Upstream::new(base_url, settings)?,
        })
    }

    /// The base URL with any password replaced by `xxxxx`.
    pub fn redacted_url(&self) -> String {
        self.upstream.redacted_base()
    }

    fn escaped_path(&self, module_path: &str) -> Result<String, Error> {
        module::escape_path(module_path)
            .map(|e| path_escape(&e))
            .map_err(|e| Error::invalid(e.to_string()))
    }

    /// The escaped form of a version for `.mod` and `.zip`: canonical, as proxy.go's
    /// `GoMod` and `Zip` require (not necessarily valid for the module path: an upstream
    /// may serve `rsc.io/quote/@v/v2.0.0.mod`, and it is relayed as served).
    fn escaped_canonical(&self, module_path: &str, version: &str) -> Result<String, Error> {
        if version.is_empty() || version != module::canonical_version(version) {
            return Err(Error::invalid(version_error(
                module_path,
                version,
                "internal error: version passed to the proxy source is not canonical",
            )));
        }
        let enc = module::escape_version(version)
            .map_err(|e| Error::invalid(version_error(module_path, version, &e.to_string())))?;
        Ok(path_escape(&enc))
    }

    /// `reason` for an answer that came back but is unusable.
    fn garbage(&self, module_path: &str, version: &str, reason: &str) -> Error {
        Error::failed(version_error(
            module_path,
            version,
            &format!(
                "{reason} (the upstream is broken or is not a Go module proxy; check --upstream, or add a fallback after `|`)"
            ),
        ))
    }

    /// An `.info` or `@latest` body as proxy.go reads it.
    fn parse_info(&self, data: Vec<u8>, module_path: &str, query: &str) -> Result<Info, Error> {
        Info::parse(data).map_err(|e| {
            self.garbage(
                module_path,
                query,
                &format!(
                    "invalid response from proxy {}: {e}",
                    gomod::quote(&self.upstream.redacted_base())
                ),
            )
        })
    }

    async fn get(
        &self,
        rel: &str,
        limit: u64,
        module_path: &str,
        version: &str,
    ) -> Result<Vec<u8>, Error> {
        self.upstream
            .get_bytes(rel, limit)
            .await
            .map_err(|e| fetch_error(e, module_path, version))
    }
}

/// `url` as logs and errors may show it: any password replaced by `xxxxx` (Go's
/// `url.URL.Redacted`), also for strings that do not parse as URLs.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) if u.password().is_some() => http::redact(&u).to_string(),
        _ => http::redact_str(url),
    }
}

/// Go's `proxyRepo.versionError`, as text: `module M: err`, `M@v: err`, or
/// `M@q: invalid version: err` for a non-canonical query `q`.
fn version_error(module_path: &str, version: &str, err: &str) -> String {
    let err = module::Error::msg(err);
    let e = if !version.is_empty() && version != module::canonical_version(version) {
        module::Error::module(
            module_path,
            "",
            module::Error::invalid_version(version, is_pseudo_version(version), err),
        )
    } else {
        module::Error::module(module_path, version, err)
    };
    e.to_string()
}

fn fetch_error(e: Error, module_path: &str, version: &str) -> Error {
    e.map_message(|m| version_error(module_path, version, m))
}

#[async_trait]
impl Source for ProxySource {
    fn describe(&self) -> String {
        format!("proxy {}", self.upstream.redacted_base())
    }

    fn upstreams(&self) -> Vec<super::UpstreamState> {
        vec![self.upstream.state()]
    }

    async fn list(&self, module_path: &str) -> Result<bytes::Bytes, Error> {
        let rel = format!("{}/@v/list", self.escaped_path(module_path)?);
        Ok(self.get(&rel, MAX_LIST, module_path, "").await?.into())
    }

    async fn stat(&self, module_path: &str, query: &str) -> Result<Info, Error> {
        let enc_path = self.escaped_path(module_path)?;
        let enc_rev = module::escape_version(query)
            .map_err(|e| Error::invalid(version_error(module_path, query, &e.to_string())))?;
        let rel = format!("{enc_path}/@v/{}.info", path_escape(&enc_rev));
        let data = self.get(&rel, MAX_INFO, module_path, query).await?;
        let info = self.parse_info(data, module_path, query)?;
        if info.version != query
            && query == module::canonical_version(query)
            && module::check(module_path, query).is_ok()
        {
            // proxy.go: a correct, appropriate version asked for must come back exactly.
            return Err(self.garbage(
                module_path,
                query,
                &format!(
                    "proxy returned info for version {} instead of requested version",
                    info.version
                ),
            ));
        }
        Ok(info)
    }

    async fn latest(&self, module_path: &str) -> Result<Info, Error> {
        let enc_path = self.escaped_path(module_path)?;
        let base = self.upstream.redacted_base();
        match self
            .upstream
            .get_bytes(&format!("{enc_path}/@latest"), MAX_INFO)
            .await
        {
            Ok(data) => return self.parse_info(data, module_path, ""),
            Err(e) if !e.is_not_found() => return Err(fetch_error(e, module_path, "")),
            Err(e) => {
                tracing::debug!(upstream = %base, module = module_path, error = e.message(), "no @latest; reading @v/list");
            }
        }
        let data = self
            .get(&format!("{enc_path}/@v/list"), MAX_LIST, module_path, "")
            .await?;
        match body::latest_from_list(&data) {
            Some(v) => self.stat(module_path, &v).await,
            // codehost.ErrNoCommits, which is fs.ErrNotExist.
            None => Err(Error::not_found(version_error(
                module_path,
                "",
                "no commits",
            ))),
        }
    }

    async fn go_mod(&self, module_path: &str, version: &str) -> Result<Vec<u8>, Error> {
        let enc_path = self.escaped_path(module_path)?;
        let enc_ver = self.escaped_canonical(module_path, version)?;
        let rel = format!("{enc_path}/@v/{enc_ver}.mod");
        let data = self
            .get(&rel, gomod::zip::MAX_GO_MOD, module_path, version)
            .await?;
        body::check_go_mod(&data, module_path, version)
            .map_err(|e| self.garbage(module_path, version, &e.to_string()))?;
        Ok(data)
    }

    async fn zip(&self, module_path: &str, version: &str, dest: &Path) -> Result<u64, Error> {
        let enc_path = self.escaped_path(module_path)?;
        let enc_ver = self.escaped_canonical(module_path, version)?;
        let rel = format!("{enc_path}/@v/{enc_ver}.zip");
        let result = self.download_zip(&rel, module_path, version, dest).await;
        if result.is_err() {
            match tokio::fs::remove_file(dest).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(path = %dest.display(), error = %e, "cannot remove a failed zip download")
                }
            }
        }
        result
    }
}

impl ProxySource {
    async fn download_zip(
        &self,
        rel: &str,
        module_path: &str,
        version: &str,
        dest: &Path,
    ) -> Result<u64, Error> {
        self.upstream
            .get_to_file(rel, dest, gomod::zip::MAX_ZIP_FILE)
            .await
            .map_err(|e| fetch_error(e, module_path, version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_errors_like_go() {
        assert_eq!(
            version_error("rsc.io/quote", "", "x"),
            "module rsc.io/quote: x"
        );
        assert_eq!(
            version_error("rsc.io/quote", "v1.5.2", "x"),
            "rsc.io/quote@v1.5.2: x"
        );
        assert_eq!(
            version_error("rsc.io/quote", "master", "x"),
            "rsc.io/quote@master: invalid version: x"
        );
    }

    #[test]
    fn new_checks_urls() {
        let s = ProxySettings::default();
        let err = |u: &str| ProxySource::new(u, &s).err().unwrap().to_string();
        assert_eq!(err("noproxy"), "invalid proxy URL missing scheme: noproxy");
        assert_eq!(
            err("ftp://u:pw@host/x"),
            "invalid proxy URL scheme (must be https, http, file): ftp://u:xxxxx@host/x"
        );
        assert_eq!(
            err("http://u:pw@example.com/x"),
            "refusing to pass credentials to insecure URL: http://u:xxxxx@example.com/x; use https"
        );
        assert!(matches!(
            ProxySource::new("file:///tmp/x", &s),
            Err(UpstreamError::FileTree(u)) if u == "file:///tmp/x"
        ));
        let p = ProxySource::new("https://u:pw@example.com/base/", &s).unwrap();
        assert_eq!(p.describe(), "proxy https://u:xxxxx@example.com/base/");
        assert!(ProxySource::new("http://u:pw@127.0.0.1:1/", &s).is_ok());
        let zero = ProxySettings {
            max_concurrency: 0,
            ..ProxySettings::default()
        };
        assert!(ProxySource::new("https://example.com", &zero).is_err());
    }
}
