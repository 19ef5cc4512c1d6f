//! Talking HTTP to one upstream proxy: the base URL (credentials split off and redacted as
//! Go's `url.URL.Redacted` does), one `reqwest::Client`, bounded concurrency, the connect /
//! first-byte / stall / whole-transfer timeouts, and the go command's reading of non-200
//! answers (cmd/go/internal/web: `HTTPError`, `formatErrorDetail`).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use tokio::io::AsyncWriteExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, timeout_at};

use super::ProxySettings;
use super::pace::{Outcome, Pace, Refusal, parse_retry_after};
use crate::error::{Error, Kind};

/// Go's `maxErrorDetailLines` and `maxErrorDetailBytes` (cmd/go/internal/web/api.go).
const MAX_ERROR_DETAIL_LINES: usize = 8;
const MAX_ERROR_DETAIL_BYTES: usize = MAX_ERROR_DETAIL_LINES * 81;

/// How much of an error body is read to find its detail.
const MAX_ERROR_BODY: usize = 16 << 10;

/// Go's `Redacted` replacement for a password.
const REDACTED_PASSWORD: &str = "xxxxx";

/// An HTTP(S) upstream: where it is, how to reach it, how much of it we may use at once.
pub(crate) struct Upstream {
    client: reqwest::Client,
    /// The base URL without credentials.
    base: Url,
    /// The base URL as logs and errors show it (password replaced by `xxxxx`).
    redacted: Url,
    /// Basic auth from the URL's userinfo (percent-decoded), if any.
    auth: Option<(String, Option<String>)>,
    permits: Arc<Semaphore>,
    first_byte_timeout: Duration,
    total_timeout: Duration,
    /// Rate, 429 pauses, circuit breaker.
    pace: Pace,
}

/// Why an upstream proxy's URL or client is not usable (the URL shown redacted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// The URL does not parse.
    #[error("invalid proxy URL {url}: {reason}; write it as https://host/path")]
    Invalid {
        /// The URL, redacted.
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The URL has no scheme.
    #[error("invalid proxy URL missing scheme: {0}")]
    MissingScheme(String),
    /// A file:// URL, which is the file source's.
    #[error("proxy URL {0} is a file:// tree, not an HTTP upstream; use the file source for it")]
    FileTree(String),
    /// Another scheme than http or https.
    #[error("invalid proxy URL scheme (must be https, http, file): {0}")]
    Scheme(String),
    /// No host.
    #[error("invalid proxy URL missing host: {0}")]
    MissingHost(String),
    /// A `#fragment`.
    #[error("invalid proxy URL with a #fragment: {0}; remove the fragment")]
    Fragment(String),
    /// Credentials for a plain-http URL that is not loopback (cmd/go/internal/web refuses).
    #[error("refusing to pass credentials to insecure URL: {0}; use https")]
    InsecureCredentials(String),
    /// `max_concurrency = 0`.
    #[error("proxy max_concurrency must be at least 1")]
    NoConcurrency,
    /// The HTTP proxy to reach it through is not usable.
    #[error("upstream {url}: http_proxy {proxy}: {reason}")]
    HttpProxy {
        /// The upstream, redacted.
        url: String,
        /// The HTTP proxy, redacted.
        proxy: String,
        /// Why.
        reason: String,
    },
    /// The HTTP client could not be built (TLS roots, the system).
    #[error("cannot set up an HTTP client for {url}: {reason}")]
    Client {
        /// The upstream, redacted.
        url: String,
        /// Why.
        reason: String,
    },
}

impl Upstream {
    /// Parses and checks `base_url` as the go command's `newProxyRepo` does (http and
    /// https only here; file:// upstreams are the file source's), and builds the client.
    pub(crate) fn new(base_url: &str, settings: &ProxySettings) -> Result<Upstream, UpstreamError> {
        let parsed = parse_base(base_url)?;
        let redacted = redact(&parsed);
        let auth = credentials(&parsed, settings)?;
        let mut base = parsed;
        // Both only fail for URLs that cannot have credentials, and ours has a host.
        let _ = base.set_username("");
        let _ = base.set_password(None);
        if settings.max_concurrency == 0 {
            return Err(UpstreamError::NoConcurrency);
        }
        crate::metrics::metrics().known_upstream(redacted.as_str());
        Ok(Upstream {
            client: client(settings, &redacted)?,
            base,
            redacted,
            auth,
            permits: Arc::new(Semaphore::new(settings.max_concurrency)),
            first_byte_timeout: settings.first_byte_timeout,
            total_timeout: settings.total_timeout,
            pace: Pace::new(settings.pace),
        })
    }

    /// Its state now, for `/api/v1/upstreams`.
    pub(crate) fn state(&self) -> crate::source::UpstreamState {
        crate::source::UpstreamState {
            upstream: self.redacted_base(),
            kind: "proxy",
            breaker_open: self.pace.breaker_open(),
            rate_limited_for_ms: self.pace.paused_for().map(|d| d.as_millis() as u64),
        }
    }

    /// The base URL as logs and errors may show it (Go's `redactedBase`).
    pub(crate) fn redacted_base(&self) -> String {
        self.redacted.to_string()
    }

    /// The URL of `rel` (already escaped, relative to the base) and its redacted form.
    fn url_for(&self, rel: &str) -> (Url, String) {
        let join = |u: &Url| {
            let mut u = u.clone();
            let path = format!("{}/{}", u.path().trim_end_matches('/'), rel);
            u.set_path(&path);
            u
        };
        (join(&self.base), join(&self.redacted).to_string())
    }

    /// GETs `rel` and returns its body, at most `limit` bytes.
    pub(crate) async fn get_bytes(&self, rel: &str, limit: u64) -> Result<Vec<u8>, Error> {
        let (started, mut headers) = (Instant::now(), None);
        let r = self.read_bytes(rel, limit, &mut headers).await;
        let bytes = r.as_ref().map_or(0, |b| b.len() as u64);
        self.measured(started, headers, &r, bytes);
        r.map_err(|f| f.error)
    }

    /// Records a request's outcome, times (`headers`: when its response headers came)
    /// and bytes in the metrics, and its failure or answer in the circuit breaker.
    fn measured<T>(
        &self,
        started: Instant,
        headers: Option<Instant>,
        r: &Result<T, Failure>,
        bytes: u64,
    ) {
        let outcome = match r {
            Ok(_) => "ok",
            Err(f) if !f.sent => "skipped",
            Err(f) => match f.error.kind() {
                Kind::NotFound | Kind::Refused | Kind::Invalid => "not_found",
                Kind::Timeout => "timeout",
                _ => "error",
            },
        };
        let m = crate::metrics::metrics();
        m.upstream(
            self.redacted.as_str(),
            outcome,
            started.elapsed(),
            headers.map(|h| h.duration_since(started)),
            bytes,
        );
        let pace = match outcome {
            "ok" | "not_found" => Outcome::Answered,
            "skipped" => return,
            // Our own disk (full, unwritable) says nothing about the upstream.
            _ if matches!(r, Err(f) if matches!(f.error.kind(), Kind::StorageFull | Kind::Internal)) =>
            {
                return;
            }
            _ => Outcome::Failed,
        };
        let opened = self.pace.record(pace, None);
        m.breaker(self.redacted.as_str(), self.pace.breaker_open());
        if opened {
            tracing::warn!(
                upstream = %self.redacted,
                failures = self.pace.settings().breaker_failures,
                open_for_s = self.pace.settings().breaker_open.as_secs(),
                "circuit breaker open: the upstream failed too many times in a row; it is skipped for a while, then probed with one request"
            );
        }
    }

    async fn read_bytes(
        &self,
        rel: &str,
        limit: u64,
        headers: &mut Option<Instant>,
    ) -> Result<Vec<u8>, Failure> {
        let mut req = self.start(rel, headers).await?;
        req.check_length(limit)?;
        let mut out = Vec::new();
        while let Some(chunk) = req.chunk().await? {
            if out.len() as u64 + chunk.len() as u64 > limit {
                return Err(req.too_large(limit).into());
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// GETs `rel` and streams its body into the new file `dest`, at most `limit` bytes.
    /// On error `dest` may be left partly written; the caller removes it.
    pub(super) async fn get_to_file(
        &self,
        rel: &str,
        dest: &Path,
        limit: u64,
    ) -> Result<u64, Error> {
        let (started, mut headers) = (Instant::now(), None);
        let r = self.read_to_file(rel, dest, limit, &mut headers).await;
        self.measured(started, headers, &r, *r.as_ref().unwrap_or(&0));
        r.map_err(|f| f.error)
    }

    async fn read_to_file(
        &self,
        rel: &str,
        dest: &Path,
        limit: u64,
        headers: &mut Option<Instant>,
    ) -> Result<u64, Failure> {
        let mut req = self.start(rel, headers).await?;
        req.check_length(limit)?;
        let write_err = |url: &str, e: std::io::Error| {
            let local = Error::storage(&e, dest);
            if local.kind() == crate::error::Kind::StorageFull {
                return local.map_message(|m| format!("downloading {url}: {m}"));
            }
            Error::failed(format!(
                "writing {} (downloading {url}): {e}; check the data directory's disk space and permissions",
                dest.display()
            ))
        };
        let mut file = tokio::fs::File::create(dest)
            .await
            .map_err(|e| write_err(&req.url, e))?;
        let mut n: u64 = 0;
        while let Some(chunk) = req.chunk().await? {
            n += chunk.len() as u64;
            if n > limit {
                return Err(req.too_large(limit).into());
            }
            file.write_all(&chunk)
                .await
                .map_err(|e| write_err(&req.url, e))?;
        }
        file.flush().await.map_err(|e| write_err(&req.url, e))?;
        file.sync_data().await.map_err(|e| write_err(&req.url, e))?;
        Ok(n)
    }

    /// Sends the request and waits for a 200, under the pace (breaker, 429 pauses, rate),
    /// the concurrency bound and timeouts. A 429 pauses this upstream for its
    /// `Retry-After` and the request is sent again, while the total deadline allows.
    /// `headers`: when the last response headers came.
    async fn start(&self, rel: &str, headers: &mut Option<Instant>) -> Result<Request, Failure> {
        let (url, shown) = self.url_for(rel);
        let deadline = Instant::now() + self.total_timeout;
        loop {
            if let Err(refusal) = self.pace.admit(deadline).await {
                return Err(match refusal {
                    Refusal::Open(left) => Failure {
                        error: failed(
                            &shown,
                            &format!(
                                "skipped: its circuit breaker is open after {} failures in a row (probed again in {})",
                                self.pace.settings().breaker_failures,
                                fmt_duration(left)
                            ),
                            HINT_BREAKER,
                        ),
                        sent: false,
                    },
                    Refusal::TooLate(wait) => timed_out(
                        &shown,
                        &format!(
                            "the upstream asked to wait {} (429 Retry-After) or its request rate is used up, past this request's total timeout of {}",
                            fmt_duration(wait),
                            fmt_duration(self.total_timeout)
                        ),
                        "the upstream rate-limits modgate; lower requests_per_second for it, or try again later",
                    )
                    .into(),
                });
            }
            match self.attempt(&url, &shown, deadline, headers).await {
                Ok(req) => return Ok(req),
                Err(Attempt::Failed(e)) => return Err(e.into()),
                Err(Attempt::Throttled(retry_after)) => {
                    crate::metrics::metrics().upstream(
                        self.redacted.as_str(),
                        "rate_limited",
                        Duration::ZERO,
                        None,
                        0,
                    );
                    tracing::warn!(
                        upstream = %self.redacted,
                        retry_after_ms = retry_after.map(|d| d.as_millis() as u64),
                        "the upstream answered 429 Too Many Requests: pausing requests to it, then asking again"
                    );
                    self.pace.record(Outcome::Throttled, retry_after);
                }
            }
        }
    }

    /// One attempt at the request; `headers` set when its response headers come.
    async fn attempt(
        &self,
        url: &Url,
        shown: &str,
        deadline: Instant,
        headers: &mut Option<Instant>,
    ) -> Result<Request, Attempt> {
        let (url, shown) = (url.clone(), shown.to_string());
        let total = self.total_timeout;
        let permit = match timeout_at(deadline, self.permits.clone().acquire_owned()).await {
            Ok(Ok(p)) => p,
            Ok(Err(_)) => {
                return Err(Attempt::Failed(failed(
                    &shown,
                    "the upstream's connection limit was shut down",
                    HINT_RETRY,
                )));
            }
            Err(_) => {
                return Err(Attempt::Failed(timed_out(
                    &shown,
                    &format!(
                        "timed out after {} waiting for one of the upstream's connection slots (max_concurrency)",
                        fmt_duration(total)
                    ),
                    "the upstream is busy or slow; try again later or raise max_concurrency",
                )));
            }
        };
        let mut builder = self.client.get(url);
        if let Some((user, pass)) = &self.auth {
            builder = builder.basic_auth(user, pass.as_deref());
        }
        let first_byte = (Instant::now() + self.first_byte_timeout).min(deadline);
        let resp = match timeout_at(first_byte, builder.send()).await {
            Err(_) => {
                let what = if first_byte == deadline {
                    format!(
                        "timed out: no answer within {} (total timeout)",
                        fmt_duration(total)
                    )
                } else {
                    format!(
                        "timed out: no response headers within {} (first-byte timeout)",
                        fmt_duration(self.first_byte_timeout)
                    )
                };
                return Err(Attempt::Failed(timed_out(&shown, &what, HINT_SLOW)));
            }
            Ok(Err(e)) => return Err(Attempt::Failed(transport_error(&shown, e))),
            Ok(Ok(resp)) => resp,
        };
        *headers = Some(Instant::now());
        let status = resp.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            return Err(Attempt::Throttled(retry_after));
        }
        let mut req = Request {
            resp,
            url: shown,
            deadline,
            idle: self.first_byte_timeout,
            total,
            received: 0,
            _permit: permit,
        };
        if status == StatusCode::OK {
            return Ok(req);
        }
        Err(Attempt::Failed(req.status_error(status).await))
    }
}

/// Why an attempt gave no request to read.
enum Attempt {
    /// 429, with its `Retry-After` if usable: pause, then ask again.
    Throttled(Option<Duration>),
    /// Any other failure, as the go command would report it.
    Failed(Error),
}

/// A request's failure, and whether the request was sent at all (not when the breaker is
/// open: the metrics count it as skipped, and the breaker learns nothing from it).
struct Failure {
    error: Error,
    sent: bool,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure { error, sent: true }
    }
}

/// A request whose response headers have arrived: its body is read chunk by chunk, each
/// chunk bounded by the stall timeout and the whole by the total deadline.
struct Request {
    resp: reqwest::Response,
    url: String,
    deadline: Instant,
    idle: Duration,
    total: Duration,
    received: u64,
    _permit: OwnedSemaphorePermit,
}

impl Request {
    async fn chunk(&mut self) -> Result<Option<bytes::Bytes>, Error> {
        let until = (Instant::now() + self.idle).min(self.deadline);
        match timeout_at(until, self.resp.chunk()).await {
            Err(_) => {
                let what = if until == self.deadline {
                    format!(
                        "timed out: transfer not finished within {} (total timeout) after {} bytes",
                        fmt_duration(self.total),
                        self.received
                    )
                } else {
                    format!(
                        "timed out: the body stalled, no data for {} after {} bytes",
                        fmt_duration(self.idle),
                        self.received
                    )
                };
                Err(timed_out(&self.url, &what, HINT_SLOW))
            }
            Ok(Err(e)) => Err(Error::failed(format!(
                "reading {}: reading the body after {} bytes: {} ({HINT_RETRY})",
                self.url,
                self.received,
                error_chain(&e)
            ))),
            Ok(Ok(Some(c))) => {
                self.received += c.len() as u64;
                Ok(Some(c))
            }
            Ok(Ok(None)) => Ok(None),
        }
    }

    /// Fails at once when the announced Content-Length is over `limit`.
    fn check_length(&self, limit: u64) -> Result<(), Error> {
        match self.resp.content_length() {
            Some(n) if n > limit => Err(self.too_large(limit)),
            _ => Ok(()),
        }
    }

    fn too_large(&self, limit: u64) -> Error {
        failed(
            &self.url,
            &format!("response larger than the {limit}-byte limit"),
            HINT_BROKEN,
        )
    }

    /// The go command's `HTTPError` for a non-200 answer: `reading URL: STATUS`, then the
    /// detail of a text/plain body. 404 and 410 are "not found", everything else failed.
    async fn status_error(&mut self, status: StatusCode) -> Error {
        let text_plain = self
            .resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_plain_text_utf8);
        let mut body = Vec::new();
        // The detail is a courtesy: wait for it at most 5 s.
        self.idle = self.idle.min(Duration::from_secs(5));
        self.deadline = self.deadline.min(Instant::now() + Duration::from_secs(5));
        if text_plain {
            // Best effort: a slow or broken error body just has no detail.
            while body.len() < MAX_ERROR_BODY {
                match self.chunk().await {
                    Ok(Some(c)) => body.extend_from_slice(&c),
                    _ => break,
                }
            }
        }
        let detail = format_error_detail(&body);
        let status_text = match status.canonical_reason() {
            Some(r) => format!("{} {r}", status.as_u16()),
            None => status.as_u16().to_string(),
        };
        let with_detail = |head: String| {
            if detail.is_empty() {
                head
            } else if detail.contains('\n') {
                format!("{head}\n\tserver response:\n\t{detail}")
            } else {
                format!("{head}\n\tserver response: {detail}")
            }
        };
        if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            return Error::not_found(with_detail(format!("reading {}: {status_text}", self.url)));
        }
        let hint = match status.as_u16() {
            401 | 403 | 407 => HINT_ACCESS,
            300..=399 => HINT_REDIRECTED,
            500..=599 => HINT_FAILED,
            _ => HINT_STATUS,
        };
        Error::failed(with_detail(format!(
            "reading {}: {status_text} ({hint})",
            self.url
        )))
    }
}

const HINT_BREAKER: &str =
    "the upstream keeps failing; check it, or add a fallback after `|` in --upstream";
const HINT_BROKEN: &str = "the upstream is broken or not a Go module proxy; check --upstream";
const HINT_ACCESS: &str =
    "the upstream refused access; check the credentials in the --upstream URL";
const HINT_REDIRECTED: &str =
    "the upstream redirected without a usable Location; check the URL in --upstream";
const HINT_FAILED: &str =
    "the upstream failed; try again later, or add a fallback after `|` in --upstream";
const HINT_STATUS: &str = "the upstream answered an unexpected status; check the URL in --upstream";
const HINT_REDIRECT: &str = "fix the redirect at the upstream or point --upstream at the final URL";
const HINT_RETRY: &str = "try again later, or add a fallback after `|` in --upstream";
const HINT_SLOW: &str = "the upstream is slow or stalled; try again later, raise the timeout, or add a fallback after `|` in --upstream";
const HINT_CONNECT: &str =
    "check that the upstream is running and reachable and that its URL in --upstream is right";

/// Every hint an upstream's error ends with, in parentheses.
const HINTS: [&str; 10] = [
    HINT_BREAKER,
    HINT_BROKEN,
    HINT_ACCESS,
    HINT_REDIRECTED,
    HINT_FAILED,
    HINT_STATUS,
    HINT_REDIRECT,
    HINT_RETRY,
    HINT_SLOW,
    HINT_CONNECT,
];

/// `message` (an upstream's error) with its hint, which speaks of `--upstream`, replaced
/// by `hint`: for a server reached for another reason (the checksum database at its own
/// URL). A message with no such hint gets `hint` added.
pub fn with_hint(message: &str, hint: &str) -> String {
    for h in HINTS {
        if let Some(head) = message.strip_suffix(&format!(" ({h})")) {
            return format!("{head} ({hint})");
        }
        // The go command's detail lines come after the hint.
        if let Some((head, tail)) = message.split_once(&format!(" ({h})\n")) {
            return format!("{head} ({hint})\n{tail}");
        }
    }
    format!("{message} ({hint})")
}

fn failed(url: &str, what: &str, hint: &str) -> Error {
    Error::failed(format!("reading {url}: {what} ({hint})"))
}

fn timed_out(url: &str, what: &str, hint: &str) -> Error {
    Error::timeout(format!("reading {url}: {what} ({hint})"))
}

/// A request that got no response: connection refused, DNS, TLS, connect timeout, a
/// refused redirect.
fn transport_error(url: &str, e: reqwest::Error) -> Error {
    let chain = error_chain(&e);
    if e.is_connect() {
        if e.is_timeout() {
            return timed_out(url, &format!("timed out connecting: {chain}"), HINT_CONNECT);
        }
        return failed(url, &format!("cannot connect: {chain}"), HINT_CONNECT);
    }
    if e.is_timeout() {
        return timed_out(url, &format!("timed out: {chain}"), HINT_SLOW);
    }
    if e.is_redirect() {
        return failed(url, &chain, HINT_REDIRECT);
    }
    failed(url, &chain, HINT_RETRY)
}

/// `e` and its sources, `: `-joined, without repeating a URL (ours is in the message).
fn error_chain(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&dyn std::error::Error> = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    if parts.is_empty() {
        // reqwest's own text names the URL it was given; it has no credentials.
        return e.to_string();
    }
    parts.join(": ")
}

/// `base_url` parsed and checked as an upstream's: http or https, a host, no fragment.
fn parse_base(base_url: &str) -> Result<Url, UpstreamError> {
    let base_url = base_url.trim();
    let parsed = Url::parse(base_url).map_err(|e| {
        if has_scheme(base_url) {
            UpstreamError::Invalid {
                url: redact_str(base_url),
                reason: e.to_string(),
            }
        } else {
            UpstreamError::MissingScheme(redact_str(base_url))
        }
    })?;
    let redacted = || redact(&parsed).to_string();
    match parsed.scheme() {
        "http" | "https" => {}
        "file" => return Err(UpstreamError::FileTree(redacted())),
        _ => return Err(UpstreamError::Scheme(redacted())),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(UpstreamError::MissingHost(redacted()));
    }
    if parsed.fragment().is_some() {
        return Err(UpstreamError::Fragment(redacted()));
    }
    Ok(parsed)
}

/// The basic auth for `url`: its userinfo (percent-decoded), else the settings'
/// credentials, else the netrc file's as the go command reads it (cmd/go/internal/web:
/// https only, the machine matched against the URL's host and port as written). None is
/// sent over plain http except to loopback.
fn credentials(
    url: &Url,
    settings: &ProxySettings,
) -> Result<Option<(String, Option<String>)>, UpstreamError> {
    let insecure = url.scheme() == "http" && !is_loopback(url);
    let refused = || UpstreamError::InsecureCredentials(redact(url).to_string());
    if !url.username().is_empty() || url.password().is_some() {
        if insecure {
            return Err(refused());
        }
        let pass = url.password().map(percent_decode);
        return Ok(Some((percent_decode(url.username()), pass)));
    }
    let netrc = || {
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => String::new(),
        };
        (url.scheme() == "https")
            .then(|| super::netrc::lookup(&host))
            .flatten()
    };
    let auth = settings.credentials.clone().or_else(netrc);
    if auth.is_some() && insecure {
        return Err(refused());
    }
    Ok(auth.map(|(u, p)| (u, Some(p))))
}

/// The HTTP client of the upstream `redacted`: its user agent, connect timeout, redirect
/// rules and HTTP proxy.
fn client(settings: &ProxySettings, redacted: &Url) -> Result<reqwest::Client, UpstreamError> {
    let mut client = reqwest::Client::builder()
        .user_agent(settings.user_agent.clone())
        .connect_timeout(settings.connect_timeout)
        .redirect(redirect_policy());
    if let Some(p) = &settings.http_proxy {
        let proxy = reqwest::Proxy::all(p.as_str()).map_err(|e| UpstreamError::HttpProxy {
            url: redacted.to_string(),
            proxy: redact_str(p),
            reason: e.to_string(),
        })?;
        client = client.proxy(proxy);
    }
    client.build().map_err(|e| UpstreamError::Client {
        url: redacted.to_string(),
        reason: e.to_string(),
    })
}

/// Follow at most 10 redirects (Go's default) and never from https to http (cmd/go's
/// `securityPreservingHTTPClient`).
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() > 10 {
            return attempt.error("stopped after 10 redirects");
        }
        let from_https = attempt
            .previous()
            .first()
            .is_some_and(|u| u.scheme() == "https");
        if from_https && attempt.url().scheme() != "https" {
            let to = redact(attempt.url());
            return attempt.error(format!("redirected from secure URL to insecure URL {to}"));
        }
        attempt.follow()
    })
}

/// Whether a Content-Type is text/plain in UTF-8 or a subset (where the go command looks
/// for an error detail).
fn is_plain_text_utf8(content_type: &str) -> bool {
    let mut parts = content_type.split(';');
    let media = parts.next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("text/plain") {
        return false;
    }
    for p in parts {
        if let Some((k, v)) = p.split_once('=')
            && k.trim().eq_ignore_ascii_case("charset")
        {
            let v = v.trim().trim_matches('"').to_ascii_lowercase();
            return matches!(v.as_str(), "us-ascii" | "utf-8" | "");
        }
    }
    true
}

/// Go's `formatErrorDetail`: the body's lines up to the first blank one, at most 8 lines
/// and 648 bytes, joined by `\n\t`; nothing for bodies that are not UTF-8 or hold
/// control characters.
pub(super) fn format_error_detail(body: &[u8]) -> String {
    // Go only keeps the first 9 lines of the body.
    let mut end = body.len();
    let mut lines = 0;
    for (i, &b) in body.iter().enumerate() {
        if b == b'\n' {
            lines += 1;
            if lines > MAX_ERROR_DETAIL_LINES {
                end = i + 1;
                break;
            }
        }
    }
    let Ok(s) = std::str::from_utf8(&body[..end]) else {
        return String::new();
    };
    if s.chars().any(|c| !is_graphic(c) && !c.is_whitespace()) {
        return String::new();
    }
    let mut detail = String::new();
    for (i, line) in s.split('\n').enumerate() {
        if line.trim().is_empty() {
            break;
        }
        if i > 0 {
            detail.push_str("\n\t");
        }
        if i >= MAX_ERROR_DETAIL_LINES {
            detail.push_str("[Truncated: too many lines.]");
            break;
        }
        if detail.len() + line.len() > MAX_ERROR_DETAIL_BYTES {
            detail.push_str("[Truncated: too long.]");
            break;
        }
        detail.push_str(line);
    }
    detail
}

/// Approximates Go's `unicode.IsGraphic`: letters, marks, numbers, punctuation, symbols
/// and the space separator; not control, format, private-use or unassigned characters.
fn is_graphic(c: char) -> bool {
    if c.is_control() {
        return false;
    }
    let u = c as u32;
    // Format characters (Cf) that matter for terminals: bidi controls, zero-width ones.
    let format = matches!(u, 0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB);
    let private = matches!(u, 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD);
    let separators = matches!(u, 0x2028 | 0x2029);
    !(format || private || separators)
}

/// `u` with its password replaced by `xxxxx` (Go's `url.URL.Redacted`).
pub(super) fn redact(u: &Url) -> Url {
    let mut r = u.clone();
    if r.password().is_some() {
        let _ = r.set_password(Some(REDACTED_PASSWORD));
    }
    r
}

/// Redacts a URL we could not parse: drops everything between `://` and the last `@`
/// of the authority except the user name.
pub(super) fn redact_str(s: &str) -> String {
    let Some(scheme_end) = s.find("://") else {
        return s.to_string();
    };
    let rest = &s[scheme_end + 3..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    let Some(at) = authority.rfind('@') else {
        return s.to_string();
    };
    let userinfo = &authority[..at];
    let shown = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:{REDACTED_PASSWORD}"),
        None => userinfo.to_string(),
    };
    format!("{}{shown}{}", &s[..scheme_end + 3], &rest[at..])
}

fn is_loopback(u: &Url) -> bool {
    let Some(host) = u.host_str() else {
        return false;
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let ip = host.trim_start_matches('[').trim_end_matches(']');
    ip.parse::<std::net::IpAddr>()
        .is_ok_and(|a| a.is_loopback())
}

/// Whether `s` starts with a URL scheme (`letter *(letter / digit / + - .)` and `:`).
fn has_scheme(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Userinfo as given in the URL, `%XX` decoded (malformed escapes left as they are).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Go's `url.PathEscape` with `%2F` turned back into `/` (proxy.go's `pathEscape`).
pub(super) fn path_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_' | b'.' | b'~' | b'$' | b'&' | b'+' | b'=' | b':' | b'@' | b'/'
            );
        if keep {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A duration as Go prints it for whole seconds and minutes (`30s`, `10m0s`), else ms.
pub(super) fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{}m{}s", s / 3600, s / 60 % 60, s % 60)
    } else if s >= 60 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upstream_hint_is_replaced_whole() {
        let h = "NEW";
        assert_eq!(
            with_hint(
                &format!("reading u: cannot connect: refused ({HINT_CONNECT})"),
                h
            ),
            "reading u: cannot connect: refused (NEW)"
        );
        assert_eq!(
            with_hint(
                &format!(
                    "reading u: 500 Internal Server Error ({HINT_FAILED})\n\tserver response: down"
                ),
                h
            ),
            "reading u: 500 Internal Server Error (NEW)\n\tserver response: down"
        );
        assert_eq!(
            with_hint("reading u: odd (x)", h),
            "reading u: odd (x) (NEW)"
        );
        for hint in HINTS {
            assert!(hint.contains("--upstream"), "{hint}");
        }
    }

    #[test]
    fn error_detail_like_go() {
        assert_eq!(format_error_detail(b"not found: x\n"), "not found: x");
        assert_eq!(format_error_detail(b"a\nb\n\nc\n"), "a\n\tb");
        assert_eq!(format_error_detail(b"\xff\xfe"), "");
        assert_eq!(format_error_detail(b"bell\x07"), "");
        assert_eq!(format_error_detail(b"tab\tok\r\n"), "tab\tok\r");
        let many = "l\n".repeat(12);
        assert_eq!(
            format_error_detail(many.as_bytes()),
            "l\n\tl\n\tl\n\tl\n\tl\n\tl\n\tl\n\tl\n\t[Truncated: too many lines.]"
        );
        let long = format!("{}\n{}\n", "a".repeat(600), "b".repeat(100));
        assert_eq!(
            format_error_detail(long.as_bytes()),
            format!("{}\n\t[Truncated: too long.]", "a".repeat(600))
        );
    }

    #[test]
    fn plain_text_content_types() {
        assert!(is_plain_text_utf8("text/plain"));
        assert!(is_plain_text_utf8("text/plain; charset=utf-8"));
        assert!(is_plain_text_utf8("Text/Plain; charset=\"US-ASCII\""));
        assert!(!is_plain_text_utf8("text/plain; charset=latin1"));
        assert!(!is_plain_text_utf8("text/html; charset=utf-8"));
        assert!(!is_plain_text_utf8("application/json"));
    }

    #[test]
    fn redaction() {
        let u = Url::parse("https://user:secret@example.com/p").unwrap();
        assert_eq!(redact(&u).as_str(), "https://user:xxxxx@example.com/p");
        let u = Url::parse("https://token@example.com/p").unwrap();
        assert_eq!(redact(&u).as_str(), "https://token@example.com/p");
        assert_eq!(redact_str("https://u:p@w@host/x"), "https://u:xxxxx@host/x");
        assert_eq!(redact_str("no scheme"), "no scheme");
    }

    #[test]
    fn path_escape_like_go() {
        // url.PathEscape escapes '!': the go command asks for /github.com/%21burnt%21sushi/...
        assert_eq!(
            path_escape("rsc.io/!q!u!o!t!e"),
            "rsc.io/%21q%21u%21o%21t%21e"
        );
        assert_eq!(path_escape("a$&+=:@~_-.Z9"), "a$&+=:@~_-.Z9");
        assert_eq!(path_escape("a b?c#d%e;f,g"), "a%20b%3Fc%23d%25e%3Bf%2Cg");
        assert_eq!(path_escape("v1.0.0+incompatible"), "v1.0.0+incompatible");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%40b%3a"), "a@b:");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn durations() {
        assert_eq!(fmt_duration(Duration::from_secs(30)), "30s");
        assert_eq!(fmt_duration(Duration::from_secs(600)), "10m0s");
        assert_eq!(fmt_duration(Duration::from_millis(250)), "250ms");
    }
}
