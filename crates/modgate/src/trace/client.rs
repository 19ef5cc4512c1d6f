//! The recorder's HTTP client: GET as the go command's client does it (net/http's
//! DefaultTransport under cmd/go/internal/web), on connections of its own (`dial.rs`), so
//! that each request knows what it waited on: a connection another request was opening
//! (queue), or the phases of the one it opened itself (DNS, connect, CONNECT, TLS).
//!
//! As Go's transport: one HTTP/2 connection per host shared by every request (requests
//! that come while it is being opened wait for it); HTTP/1.1 connections kept idle after
//! their body was read, at most two per host (`DefaultMaxIdleConnsPerHost`); a request
//! that fails on a kept connection before any answer is sent again on a new one; up to
//! 10 redirects followed, none from https to http (cmd/go/internal/web), Authorization
//! kept only to the same host or its subdomains (net/http).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::{Notify, OnceCell};

use crate::dial::{self, Phases, Target};
use crate::doctor::client::http_proxy_for;
use crate::goenv::GoSettings;

/// net/http's `DefaultMaxIdleConnsPerHost`.
const IDLE_PER_HOST: usize = 2;
/// cmd/go/internal/web's redirect limit (net/http's default).
const MAX_REDIRECTS: usize = 10;

type H1 = http1::SendRequest<Empty<Bytes>>;
type H2 = http2::SendRequest<Empty<Bytes>>;

/// A kept HTTP/1.1 connection: its sender and how requests go on it.
struct Kept {
    sender: H1,
    /// Absolute-form requests to an HTTP proxy, with its authorization.
    absolute_form: Option<Option<String>>,
}

/// The connections to one `scheme://host:port`.
#[derive(Default)]
struct Slot {
    h2: Option<H2>,
    idle: Vec<Kept>,
    /// An https connection being opened that may turn out HTTP/2: others wait for it.
    opening: Option<Arc<Notify>>,
    /// The host answered TLS with HTTP/1.1: no waiting for an opening connection.
    h1_only: bool,
    /// Connections that failed to open: a request woken by one opens its own at once,
    /// as Go's transport dials for each waiting request, instead of queueing behind the
    /// next opener.
    failures: u64,
}

type Pool = Mutex<HashMap<String, Slot>>;

/// The client.
pub struct Client {
    settings: GoSettings,
    tls: OnceCell<Arc<rustls::ClientConfig>>,
    pool: Arc<Pool>,
}

/// A connection an answer's body is read from; `release` once it was read to its end
/// (an HTTP/1.1 connection then goes back to the pool; dropped, it is closed).
pub struct Lease {
    pool: Arc<Pool>,
    key: String,
    kept: Option<Kept>,
}

impl Lease {
    /// The body was read to its end: the connection may serve another request.
    pub fn release(mut self) {
        let Some(k) = self.kept.take() else { return };
        if k.sender.is_closed() {
            return;
        }
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        let slot = pool.entry(self.key.clone()).or_default();
        if slot.idle.len() < IDLE_PER_HOST {
            slot.idle.push(k);
        }
    }
}

/// An answer, with what the request waited on before it.
pub struct Answer {
    /// The last hop's answer (its body still to read).
    pub response: hyper::Response<Incoming>,
    /// Its connection.
    pub lease: Lease,
    /// Time waiting on connections other requests were opening.
    pub queue: Duration,
    /// The phases of the connections this request opened itself (summed over
    /// redirects), if it opened any.
    pub opened: Option<Phases>,
    /// The URLs redirected to, in order.
    pub redirects: Vec<String>,
    /// Whether a request on a kept connection failed and was sent again.
    pub resent: bool,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL asked for is not one.
    #[error("{url} is not a URL: {source}")]
    NotUrl {
        /// What was asked for.
        url: String,
        /// Why.
        #[source]
        source: <reqwest::Url as std::str::FromStr>::Err,
    },
    /// The URL (asked for, or redirected to) is not an http(s) one.
    #[error("{url}: not an http(s) URL")]
    NotHttp {
        /// The URL.
        url: reqwest::Url,
    },
    /// Redirected more times than net/http follows.
    #[error("stopped after {MAX_REDIRECTS} redirects (at {next})")]
    TooManyRedirects {
        /// Where the last redirect pointed.
        next: reqwest::Url,
    },
    /// Redirected from https to http, which cmd/go/internal/web refuses.
    #[error("redirected from secure URL {from} to insecure URL {to}")]
    Insecure {
        /// The https URL.
        from: reqwest::Url,
        /// The http URL it redirected to.
        to: reqwest::Url,
    },
    /// The TLS configuration could not be made.
    #[error(transparent)]
    TlsConfig(#[from] dial::TlsConfigError),
    /// The task making the TLS configuration failed.
    #[error("{0}")]
    Task(#[source] tokio::task::JoinError),
    /// A connection could not be opened.
    #[error(transparent)]
    Dial(#[from] dial::DialError),
    /// HTTP/2 could not be spoken on a new connection.
    #[error("HTTP/2 with {host}: {source}")]
    Http2 {
        /// The host.
        host: String,
        /// Why.
        #[source]
        source: hyper::Error,
    },
    /// HTTP/1.1 could not be spoken on a new connection.
    #[error("HTTP/1.1 with {host}: {source}")]
    Http1 {
        /// The host.
        host: String,
        /// Why.
        #[source]
        source: hyper::Error,
    },
    /// The request could not be made (a header value HTTP does not allow).
    #[error("{url}: {source}")]
    Request {
        /// The URL.
        url: reqwest::Url,
        /// Why.
        #[source]
        source: hyper::http::Error,
    },
    /// The request got no answer.
    #[error("GET {url}: {source}")]
    Send {
        /// The URL.
        url: reqwest::Url,
        /// Why.
        #[source]
        source: hyper::Error,
    },
}

/// A failed request, with what it waited on before failing.
#[derive(Debug)]
pub struct Failure {
    /// What failed, where.
    pub error: Error,
    /// As `Answer`'s.
    pub queue: Duration,
    /// As `Answer`'s.
    pub opened: Option<Phases>,
}

impl Failure {
    /// The phase a connection failed in (`dns`, `connect`, `proxy`, `tls`), when opening
    /// one failed.
    pub fn failed_in(&self) -> Option<&'static str> {
        match &self.error {
            Error::Dial(e) => Some(e.phase()),
            _ => None,
        }
    }
}

/// How one hop went.
struct Hop {
    response: hyper::Response<Incoming>,
    lease: Lease,
    resent: bool,
}

/// What one hop waited on, filled as it goes (kept when it fails).
#[derive(Default)]
struct Waited {
    queue: Duration,
    opened: Option<Phases>,
}

impl Waited {
    fn opened(&mut self, p: &Phases) {
        match &mut self.opened {
            Some(o) => o.add(p),
            None => self.opened = Some(p.clone()),
        }
    }
}

enum Conn {
    H1(Kept),
    H2(H2),
}

impl Client {
    /// A client reaching HTTP proxies as `settings` say (HTTPS_PROXY, HTTP_PROXY,
    /// NO_PROXY).
    pub fn new(settings: GoSettings) -> Client {
        Client {
            settings,
            tls: OnceCell::new(),
            pool: Arc::default(),
        }
    }

    async fn tls(&self) -> Result<&Arc<rustls::ClientConfig>, Error> {
        self.tls
            .get_or_try_init(|| async {
                Ok(tokio::task::spawn_blocking(dial::tls_config)
                    .await
                    .map_err(Error::Task)??)
            })
            .await
    }

    /// `GET url` with the headers `headers` (Authorization among them, for the first
    /// host), redirects followed.
    pub async fn get(&self, url: &str, headers: &[(&str, String)]) -> Result<Answer, Failure> {
        let mut waited = Waited::default();
        let mut redirects = Vec::new();
        let mut resent = false;
        let mut url = reqwest::Url::parse(url).map_err(|source| Failure {
            error: Error::NotUrl {
                url: url.to_string(),
                source,
            },
            queue: Duration::ZERO,
            opened: None,
        })?;
        let first_host = url.host_str().unwrap_or("").to_ascii_lowercase();
        let first_https = url.scheme() == "https";
        // Once a redirect left the host, Authorization stays off (net/http since
        // go1.23.5: coming back does not bring it back).
        let mut stripped = false;
        loop {
            let host = url.host_str().unwrap_or("").to_ascii_lowercase();
            stripped |= host != first_host && !host.ends_with(&format!(".{first_host}"));
            let sent: Vec<(&str, String)> = headers
                .iter()
                .filter(|(k, _)| !stripped || !k.eq_ignore_ascii_case("authorization"))
                .cloned()
                .collect();
            let hop = match self.hop(&url, &sent, &mut waited).await {
                Ok(h) => h,
                Err(error) => {
                    return Err(Failure {
                        error,
                        queue: waited.queue,
                        opened: waited.opened,
                    });
                }
            };
            resent |= hop.resent;
            let status = hop.response.status().as_u16();
            let location = hop
                .response
                .headers()
                .get(hyper::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let next = match (status, location) {
                (301 | 302 | 303 | 307 | 308, Some(l)) => url.join(&l).ok(),
                _ => None,
            };
            let Some(next) = next else {
                return Ok(Answer {
                    response: hop.response,
                    lease: hop.lease,
                    queue: waited.queue,
                    opened: waited.opened,
                    redirects,
                    resent,
                });
            };
            let fail = |error: Error| Failure {
                error,
                queue: waited.queue,
                opened: waited.opened.clone(),
            };
            // net/http: the 11th request is refused (10 before it).
            if redirects.len() + 1 >= MAX_REDIRECTS {
                return Err(fail(Error::TooManyRedirects { next }));
            }
            if first_https && next.scheme() != "https" {
                return Err(fail(Error::Insecure {
                    from: url,
                    to: next,
                }));
            }
            redirects.push(next.to_string());
            url = next;
        }
    }

    /// One request, on a kept connection or a new one.
    async fn hop(
        &self,
        url: &reqwest::Url,
        headers: &[(&str, String)],
        waited: &mut Waited,
    ) -> Result<Hop, Error> {
        let to = Target::of(url).ok_or_else(|| Error::NotHttp { url: url.clone() })?;
        let key = format!(
            "{}://{}:{}",
            if to.https { "https" } else { "http" },
            to.host,
            to.port
        );
        let mut resent = false;
        let mut fresh_only = false;
        loop {
            let (conn, kept) = self.connection(&key, &to, url, fresh_only, waited).await?;
            let req = request(url, headers, &conn).map_err(|source| Error::Request {
                url: url.clone(),
                source,
            })?;
            let sent = match conn {
                Conn::H2(mut s) => {
                    let r = s.send_request(req).await;
                    r.map(|resp| (resp, None))
                }
                Conn::H1(mut k) => {
                    let r = match k.sender.ready().await {
                        Ok(()) => k.sender.send_request(req).await,
                        Err(e) => Err(e),
                    };
                    r.map(|resp| (resp, Some(k)))
                }
            };
            match sent {
                Ok((response, kept)) => {
                    return Ok(Hop {
                        response,
                        lease: Lease {
                            pool: Arc::clone(&self.pool),
                            key,
                            kept,
                        },
                        resent,
                    });
                }
                // A kept connection the server had closed: again, on a new one.
                Err(_) if kept && !fresh_only => {
                    resent = true;
                    fresh_only = true;
                }
                Err(source) => {
                    return Err(Error::Send {
                        url: url.clone(),
                        source,
                    });
                }
            }
        }
    }

    /// A connection to `key`: (it, whether it was kept from before).
    async fn connection(
        &self,
        key: &str,
        to: &Target,
        url: &reqwest::Url,
        fresh_only: bool,
        waited: &mut Waited,
    ) -> Result<(Conn, bool), Error> {
        // Woken by a failed open: open one's own, waiting on no one.
        let mut alone = false;
        loop {
            let wait = {
                let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
                let slot = pool.entry(key.to_string()).or_default();
                if let Some(h2) = &slot.h2 {
                    if !h2.is_closed() && !fresh_only {
                        return Ok((Conn::H2(h2.clone()), true));
                    }
                    if h2.is_closed() {
                        slot.h2 = None;
                    }
                }
                if !fresh_only {
                    while let Some(k) = slot.idle.pop() {
                        if !k.sender.is_closed() {
                            return Ok((Conn::H1(k), true));
                        }
                    }
                }
                match &slot.opening {
                    _ if alone => Err(None),
                    Some(n) if to.https && !slot.h1_only && !fresh_only => {
                        Ok((Arc::clone(n), slot.failures))
                    }
                    _ if to.https && !slot.h1_only && slot.opening.is_none() => {
                        let mine = Arc::new(Notify::new());
                        slot.opening = Some(Arc::clone(&mine));
                        Err(Some(mine))
                    }
                    _ => Err(None),
                }
            };
            match wait {
                Ok((n, failures)) => {
                    let t = Instant::now();
                    let notified = n.notified();
                    tokio::pin!(notified);
                    notified.as_mut().enable();
                    // Re-check: it may have been opened between the lock and here.
                    let still = self
                        .pool
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get(key)
                        .and_then(|s| s.opening.as_ref())
                        .is_some_and(|o| Arc::ptr_eq(o, &n));
                    if still {
                        notified.await;
                    }
                    waited.queue += t.elapsed();
                    alone = self
                        .pool
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get(key)
                        .is_some_and(|s| s.failures > failures);
                }
                Err(mine) => {
                    return self
                        .open(key, to, url, mine, waited)
                        .await
                        .map(|c| (c, false));
                }
            }
        }
    }

    /// Opens a connection to `key` (this request's own), recording its phases; `mine`:
    /// the token others wait on while it opens, if they do.
    async fn open(
        &self,
        key: &str,
        to: &Target,
        url: &reqwest::Url,
        mine: Option<Arc<Notify>>,
        waited: &mut Waited,
    ) -> Result<Conn, Error> {
        // Waiters are woken however this ends (an error, or this request cancelled).
        struct Wake(Option<Arc<Notify>>, Arc<Pool>, String);
        impl Drop for Wake {
            fn drop(&mut self) {
                let Some(n) = self.0.take() else { return };
                let mut pool = self.1.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(slot) = pool.get_mut(&self.2)
                    && slot.opening.as_ref().is_some_and(|o| Arc::ptr_eq(o, &n))
                {
                    slot.opening = None;
                }
                drop(pool);
                n.notify_waiters();
            }
        }
        let wake = Wake(mine, Arc::clone(&self.pool), key.to_string());
        let opened = self.open_timed(to, url, waited).await;
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        let slot = pool.entry(key.to_string()).or_default();
        if opened.is_err() {
            slot.failures += 1;
        }
        let conn = opened?;
        match &conn {
            Conn::H2(s) => slot.h2 = Some(s.clone()),
            Conn::H1(_) if to.https => slot.h1_only = true,
            Conn::H1(_) => {}
        }
        drop(pool);
        drop(wake);
        Ok(conn)
    }

    async fn open_timed(
        &self,
        to: &Target,
        url: &reqwest::Url,
        waited: &mut Waited,
    ) -> Result<Conn, Error> {
        let via = http_proxy_for(url.as_str(), &self.settings);
        let tls = match to.https {
            true => Arc::clone(self.tls().await?),
            false => Arc::new(plain_config()),
        };
        let dialed = dial::dial(to, via.as_deref(), &tls).await?;
        waited.opened(&dialed.phases);
        let io = TokioIo::new(dialed.io);
        if dialed.phases.h2 {
            let (sender, conn) =
                http2::handshake(TokioExecutor::new(), io)
                    .await
                    .map_err(|source| Error::Http2 {
                        host: to.host.clone(),
                        source,
                    })?;
            tokio::spawn(conn);
            Ok(Conn::H2(sender))
        } else {
            let (sender, conn) = http1::handshake(io).await.map_err(|source| Error::Http1 {
                host: to.host.clone(),
                source,
            })?;
            tokio::spawn(conn);
            Ok(Conn::H1(Kept {
                sender,
                absolute_form: dialed.absolute_form,
            }))
        }
    }
}

/// A TLS configuration never used (plain http): `dial` takes one.
fn plain_config() -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap_or_else(|_| unreachable!("the default provider supports the default versions"))
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth()
}

/// The request for `url` on `conn`: HTTP/2 and proxied HTTP/1.1 in absolute form, direct
/// HTTP/1.1 in origin form with Host.
fn request(
    url: &reqwest::Url,
    headers: &[(&str, String)],
    conn: &Conn,
) -> Result<hyper::Request<Empty<Bytes>>, hyper::http::Error> {
    let origin = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let mut authority = url.host_str().unwrap_or("").to_string();
    if let Some(p) = url.port() {
        authority.push_str(&format!(":{p}"));
    }
    let mut absolute = url.clone();
    let _ = absolute.set_username("");
    let _ = absolute.set_password(None);
    absolute.set_fragment(None);
    let mut b = hyper::Request::get(match conn {
        Conn::H2(_)
        | Conn::H1(Kept {
            absolute_form: Some(_),
            ..
        }) => absolute.to_string(),
        Conn::H1(_) => origin,
    });
    if let Conn::H1(k) = conn {
        b = b.header(hyper::header::HOST, &authority);
        if let Some(Some(a)) = &k.absolute_form {
            b = b.header(hyper::header::PROXY_AUTHORIZATION, a);
        }
    }
    if !url.username().is_empty() {
        use base64::Engine;
        let creds = format!("{}:{}", url.username(), url.password().unwrap_or(""));
        let creds = percent_encoding::percent_decode_str(&creds).decode_utf8_lossy();
        b = b.header(
            hyper::header::AUTHORIZATION,
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(creds.as_bytes())
            ),
        );
    }
    for (k, v) in headers {
        b = b.header(*k, v);
    }
    b.body(Empty::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server on loopback: `/r/N` redirects to `/r/N-1` (to `other` at 0 when given,
    /// else answers 200), and says whether it was sent an Authorization header.
    async fn redirecting(other: Option<String>) -> String {
        use axum::extract::Request;
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let app = axum::Router::new().fallback(move |req: Request| {
            let other = other.clone();
            async move {
                let n: u32 = req
                    .uri()
                    .path()
                    .trim_start_matches("/r/")
                    .parse()
                    .unwrap_or(0);
                let auth = req.headers().contains_key("authorization");
                let mut r =
                    axum::response::Response::new(axum::body::Body::from(format!("auth={auth}")));
                let to = match (n, &other) {
                    (0, Some(o)) => Some(o.clone()),
                    (0, None) => None,
                    (n, _) => Some(format!("/r/{}", n - 1)),
                };
                if let Some(to) = to {
                    *r.status_mut() = axum::http::StatusCode::FOUND;
                    r.headers_mut().insert("location", to.parse().unwrap());
                }
                r
            }
        });
        tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
        format!("http://{addr}")
    }

    async fn body(a: Answer) -> String {
        use http_body_util::BodyExt;
        String::from_utf8(
            a.response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_failed_connection_names_the_phase_it_failed_in() {
        let c = Client::new(GoSettings::from_environment(&|_| None));
        // A port nobody listens on: the connect fails.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = c
            .get(&format!("http://127.0.0.1:{port}/m/@v/list"), &[])
            .await
            .err()
            .unwrap();
        assert!(matches!(e.error, Error::Dial(_)), "{}", e.error);
        assert_eq!(e.failed_in(), Some("connect"), "{}", e.error);
        // (A name that does not resolve would ask the machine's resolver, off loopback:
        // dial.rs's phase() maps it to "dns", and the report test covers its verdict.)
        assert_eq!(
            crate::dial::DialError::Resolve {
                host: "h".into(),
                cause: "c".into()
            }
            .phase(),
            "dns"
        );
    }

    #[tokio::test]
    async fn redirects_as_net_http_follows_them() {
        let c = Client::new(GoSettings::from_environment(&|_| None));
        let up = redirecting(None).await;
        // Nine redirects: ten requests, the most net/http sends.
        let a = c.get(&format!("{up}/r/9"), &[]).await.unwrap();
        assert_eq!(a.redirects.len(), 9);
        assert_eq!(body(a).await, "auth=false");
        let e = c.get(&format!("{up}/r/10"), &[]).await.err().unwrap();
        assert!(
            matches!(e.error, Error::TooManyRedirects { .. }),
            "{}",
            e.error
        );
        assert!(
            e.error
                .to_string()
                .starts_with("stopped after 10 redirects"),
            "{}",
            e.error
        );
        // Authorization goes to the first host, not to another, nor back to the first
        // after another.
        let auth = [("authorization", "Basic eDp5".to_string())];
        let a = c.get(&format!("{up}/r/0"), &auth).await.unwrap();
        assert_eq!(body(a).await, "auth=true");
        let back = format!("{up}/r/0");
        let other = redirecting(Some(back))
            .await
            .replace("127.0.0.1", "localhost");
        let first = redirecting(Some(format!("{other}/r/0"))).await;
        let a = c.get(&format!("{first}/r/0"), &auth).await.unwrap();
        assert_eq!(a.redirects.len(), 2);
        assert_eq!(body(a).await, "auth=false");
    }
}
