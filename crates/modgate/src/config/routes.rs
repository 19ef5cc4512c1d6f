//! Named upstreams and routes by module path (the settings file's `[[upstreams]]` and
//! `[[routes]]` tables), in the manner of verdaccio's `packages:` blocks:
//!
//! ```toml
//! [[upstreams]]
//! name = "corp"
//! url = "https://goproxy.corp.example.com"
//! connect_timeout = "5s"      # durations (Go syntax, or seconds); these default to
//!                             # [timeouts] and [limits]
//! first_byte_timeout = 10
//! transfer_timeout = 300
//! concurrency = 8
//! requests_per_second = 20
//! breaker_failures = 3
//! breaker_open = 60
//! username = "modgate"        # basic auth; else the URL's userinfo, else netrc (https)
//! password_file = "/etc/modgate/corp.password"   # or password = "..."
//! http_proxy = "http://squid.corp.example.com:3128"
//!
//! [[routes]]                  # the first route whose pattern matches wins
//! pattern = "corp.example.com"   # GOPRIVATE syntax
//! upstream = "corp|direct"       # GOPROXY syntax; upstream names or URLs
//! private = true                 # never asked of another upstream nor of the checksum database
//! read = ["ci", "alice"]         # who may read these modules (with [auth])
//! ```
//!
//! Modules no route matches go to `--upstream` (which may name upstreams too).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, Settings};
use crate::source::proxy::pace::PaceSettings;

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct FileUpstream {
    name: String,
    url: String,
    connect_timeout: Option<super::FileDuration>,
    first_byte_timeout: Option<super::FileDuration>,
    transfer_timeout: Option<super::FileDuration>,
    concurrency: Option<usize>,
    requests_per_second: Option<u32>,
    breaker_failures: Option<u32>,
    breaker_open: Option<super::FileDuration>,
    username: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    http_proxy: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct FileRoute {
    pattern: String,
    upstream: String,
    #[serde(default)]
    private: bool,
    #[serde(default)]
    read: Vec<String>,
}

/// One upstream's own settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamSettings {
    /// Its name in routes and `--upstream`.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// Bound on connecting.
    pub connect_timeout: Duration,
    /// Bound on the first byte, and on any stall.
    pub first_byte_timeout: Duration,
    /// Bound on a whole transfer.
    pub transfer_timeout: Duration,
    /// Requests at once.
    pub concurrency: usize,
    /// Rate, 429 pauses and circuit breaker.
    pub pace: PaceSettings,
    /// Basic-auth user and password.
    pub credentials: Option<(String, String)>,
    /// An HTTP proxy to reach it through.
    pub http_proxy: Option<String>,
}

/// A route: modules matching `pattern` go to `upstream`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// GOPRIVATE-syntax patterns.
    pub pattern: String,
    /// GOPROXY-syntax list, upstream names replaced by their URLs.
    pub upstream: String,
    /// Private: never asked of any other upstream nor of the checksum database.
    pub private: bool,
    /// The names (tokens, users) that may read these modules.
    pub read: Vec<String>,
}

/// `list` (GOPROXY syntax) with each entry that names an upstream replaced by its URL.
pub fn substitute(list: &str, upstreams: &[UpstreamSettings]) -> String {
    crate::source::chain::map_entries(list, |w| {
        upstreams
            .iter()
            .find(|u| u.name == w)
            .map(|u| u.url.clone())
    })
}

/// What is wrong with an `[[upstreams]]` or `[[routes]]` entry.
#[derive(Debug, thiserror::Error)]
pub enum RoutesError {
    /// An upstream's name could be taken for a URL or a GOPROXY keyword.
    #[error(
        "[[upstreams]] name {name:?}: want a word without '.', ':', '/', ',', '|' or spaces, other than direct and off"
    )]
    BadName {
        /// The name.
        name: String,
    },
    /// Two upstreams have one name.
    #[error("[[upstreams]] name {name:?} is used twice")]
    NameTwice {
        /// The name.
        name: String,
    },
    /// An upstream's URL is not http(s).
    #[error("[[upstreams]] {name}: url {url:?} must be an http:// or https:// GOPROXY")]
    BadUrl {
        /// The upstream.
        name: String,
        /// Its URL.
        url: String,
    },
    /// Both `password` and `password_file`.
    #[error("[[upstreams]] {name}: password and password_file both set; keep one")]
    TwoPasswords {
        /// The upstream.
        name: String,
    },
    /// The `password_file` could not be read.
    #[error("[[upstreams]] {name}: password_file {}: {error}", path.display())]
    PasswordFile {
        /// The upstream.
        name: String,
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        error: std::io::Error,
    },
    /// A user name without a password, or a password without a user name.
    #[error("[[upstreams]] {name}: username and a password go together")]
    HalfCredentials {
        /// The upstream.
        name: String,
    },
    /// `concurrency = 0`.
    #[error("[[upstreams]] {name}: concurrency must be at least 1")]
    NoConcurrency {
        /// The upstream.
        name: String,
    },
    /// A route without a pattern.
    #[error("[[routes]] with an empty pattern")]
    EmptyPattern,
    /// A route's upstream list is not GOPROXY syntax.
    #[error("[[routes]] {pattern}: upstream: {why}")]
    BadRouteUpstream {
        /// The route's pattern.
        pattern: String,
        /// What is wrong with the list.
        #[source]
        why: crate::source::proxy::UpstreamError,
    },
}

/// Reads the `[[upstreams]]` and `[[routes]]` tables of `file` over the defaults in `s`.
pub(super) fn resolve(
    ups: Vec<FileUpstream>,
    routes: Vec<FileRoute>,
    s: &Settings,
    file: &Path,
) -> Result<(Vec<UpstreamSettings>, Vec<Route>), ConfigError> {
    tables(ups, routes, s).map_err(|e| ConfigError(format!("{}: {e}", file.display())))
}

/// [`resolve`], its errors without the file.
fn tables(
    ups: Vec<FileUpstream>,
    routes: Vec<FileRoute>,
    s: &Settings,
) -> Result<(Vec<UpstreamSettings>, Vec<Route>), RoutesError> {
    let mut out: Vec<UpstreamSettings> = Vec::new();
    for u in ups {
        let up = upstream(u, s, &out)?;
        out.push(up);
    }
    let rs = routes
        .into_iter()
        .map(|r| route(r, &out))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((out, rs))
}

/// One `[[upstreams]]` entry over the defaults in `s`, checked against those before it
/// (`before`).
fn upstream(
    u: FileUpstream,
    s: &Settings,
    before: &[UpstreamSettings],
) -> Result<UpstreamSettings, RoutesError> {
    check_name(&u.name, before)?;
    if !(u.url.starts_with("https://") || u.url.starts_with("http://")) {
        return Err(RoutesError::BadUrl {
            name: u.name,
            url: u.url,
        });
    }
    let credentials = credentials(&u.name, u.username, u.password, u.password_file)?;
    if u.concurrency == Some(0) {
        return Err(RoutesError::NoConcurrency { name: u.name });
    }
    let secs = |v: Option<super::FileDuration>, d: Duration| v.map_or(d, |v| v.0);
    let mut pace = s.limits.upstream;
    if let Some(r) = u.requests_per_second {
        pace.requests_per_second = std::num::NonZeroU32::new(r);
    }
    if let Some(n) = u.breaker_failures {
        pace.breaker_failures = n;
    }
    if let Some(o) = u.breaker_open {
        pace.breaker_open = o.0;
    }
    Ok(UpstreamSettings {
        name: u.name,
        url: u.url.trim_end_matches('/').to_string(),
        connect_timeout: secs(u.connect_timeout, s.timeouts.connect),
        first_byte_timeout: secs(u.first_byte_timeout, s.timeouts.first_byte),
        transfer_timeout: secs(u.transfer_timeout, s.timeouts.transfer),
        concurrency: u.concurrency.unwrap_or(s.upstream_concurrency),
        pace,
        credentials,
        http_proxy: u.http_proxy,
    })
}

/// Whether `name` may name an upstream: a word no GOPROXY list could take for something
/// else, not used `before`.
fn check_name(name: &str, before: &[UpstreamSettings]) -> Result<(), RoutesError> {
    if name.is_empty()
        || name.contains([',', '|', ' '])
        || matches!(name, "direct" | "off")
        || name.contains(['.', ':', '/'])
    {
        return Err(RoutesError::BadName {
            name: name.to_string(),
        });
    }
    if before.iter().any(|o| o.name == name) {
        return Err(RoutesError::NameTwice {
            name: name.to_string(),
        });
    }
    Ok(())
}

/// The basic-auth user and password of the upstream `name`: both or neither, the password
/// given or read (trimmed) from its file.
fn credentials(
    name: &str,
    username: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
) -> Result<Option<(String, String)>, RoutesError> {
    let name = || name.to_string();
    let password = match (password, password_file) {
        (Some(_), Some(_)) => return Err(RoutesError::TwoPasswords { name: name() }),
        (Some(p), None) => Some(p),
        (None, Some(f)) => Some(
            std::fs::read_to_string(&f)
                .map_err(|error| RoutesError::PasswordFile {
                    name: name(),
                    path: f,
                    error,
                })?
                .trim()
                .to_string(),
        ),
        (None, None) => None,
    };
    match (username, password) {
        (Some(user), Some(p)) => Ok(Some((user, p))),
        (None, None) => Ok(None),
        _ => Err(RoutesError::HalfCredentials { name: name() }),
    }
}

/// One `[[routes]]` entry, the names of `upstreams` replaced by their URLs.
fn route(r: FileRoute, upstreams: &[UpstreamSettings]) -> Result<Route, RoutesError> {
    if r.pattern.trim().is_empty() {
        return Err(RoutesError::EmptyPattern);
    }
    let upstream = substitute(&r.upstream, upstreams);
    if let Err(why) = crate::source::chain::parse_list(&upstream) {
        return Err(RoutesError::BadRouteUpstream {
            pattern: r.pattern,
            why,
        });
    }
    Ok(Route {
        pattern: r.pattern,
        upstream,
        private: r.private,
        read: r.read,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(name: &str, url: &str) -> UpstreamSettings {
        UpstreamSettings {
            name: name.into(),
            url: url.into(),
            connect_timeout: Duration::ZERO,
            first_byte_timeout: Duration::ZERO,
            transfer_timeout: Duration::ZERO,
            concurrency: 1,
            pace: PaceSettings::default(),
            credentials: None,
            http_proxy: None,
        }
    }

    #[test]
    fn names_become_urls() {
        let ups = [
            up("corp", "https://corp.example"),
            up("pub", "https://pub.example"),
        ];
        assert_eq!(
            substitute("corp|pub,direct", &ups),
            "https://corp.example|https://pub.example,direct"
        );
        assert_eq!(
            substitute(" corp , https://other.example|off", &ups),
            "https://corp.example, https://other.example|off"
        );
    }
}
