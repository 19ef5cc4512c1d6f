//! The GOPROXY protocol over HTTP (hyper, with axum's response types).
//!
//! `GET|HEAD /<module>/@v/list`, `/@v/<version>.info|.mod|.zip`, `/<module>/@latest` and
//! `GET /healthz`. Each request gets an id (`X-Request-Id`), and every log line of the
//! request carries it (a tracing span). With `[auth]`, `auth.rs` decides who may read
//! what before the handler (and its hot answers) sees the request.

mod api;
mod auth;
pub mod auth_settings;
mod filtered;
mod fleet_api;
mod hot_answers;
pub mod limit;
pub mod listen;
mod path;
mod reply;
mod request_span;
mod respond;
mod sendfile;
pub mod tls;
mod ui;
mod zip;

pub use auth::{
    Auth, AuthError, FORBIDDEN, HtLine, UNAUTHORIZED, read_untrusted as read_untrusted_auth,
};
pub use path::{MAX_PATH, Reject, Request, parse};

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use tracing::Instrument;

use crate::cache::Cache;
use request_span::RequestSpan;

/// What the handlers share.
pub struct AppState {
    /// The cache in front of the upstream chain.
    pub cache: Cache,
    /// `max-age` for list, @latest and non-canonical .info answers.
    pub short_max_age: Duration,
    /// The checksum database proxy (`None`: `--sumdb off`).
    pub sumdb: Option<Arc<crate::sumdb::proxy::SumdbProxy>>,
    /// Redis shared with other replicas (`--redis`), reported by `/readyz`.
    pub shared: Option<Arc<crate::cluster::Shared>>,
    /// Per-client request limits (`[limits] client_requests_per_second`; none by
    /// default).
    pub limiter: Arc<limit::Limiter>,
    /// Who may read what (`None`: no `[auth]`, everyone reads everything); replaced by
    /// a reload.
    pub auth: arc_swap::ArcSwapOption<Auth>,
    /// `[filter]`: which modules and versions are served; replaced by a reload (shared
    /// with the cache, which prefetches nothing it refuses).
    pub filter: Arc<arc_swap::ArcSwap<crate::filter::Filter>>,
    /// Warm jobs and bundles on request (`None`: not offered).
    pub fleet: Option<Arc<crate::fleet::Fleet>>,
}

/// The GOPROXY protocol and the operations endpoints as one service: each request goes
/// through the request id and log line, then the access check (which names the client),
/// then the limit (which counts by that name), then the handler. Plain calls, no layers:
/// nothing is boxed or cloned per request but the request's own future.
#[derive(Clone)]
pub struct App(Arc<Served>);

/// What the handler holds: the shared state, and the immutable answers it gave lately.
struct Served {
    state: Arc<AppState>,
    hot: Arc<hot_answers::HotAnswers>,
}

impl App {
    /// The service over `state`.
    pub fn new(state: Arc<AppState>) -> App {
        api::started();
        let hot = Arc::new(hot_answers::HotAnswers::new());
        // A purge (here, or told by another replica) drops the answers it names.
        let weak = Arc::downgrade(&hot);
        state.cache.on_purge(Box::new(move |p| {
            if let Some(hot) = weak.upgrade() {
                hot.forget(p);
            }
        }));
        App(Arc::new(Served { state, hot }))
    }

    /// Answers one request from `peer`. Only a `POST` or `PUT` (to the operations API) has
    /// its body read; any other body is not. Not an `async fn`: the request would be kept
    /// in its future beside the answer's own copy of it.
    pub fn answer<B>(
        &self,
        req: axum::http::Request<B>,
        peer: SocketAddr,
    ) -> impl Future<Output = Response> + Send + 'static
    where
        B: hyper::body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<axum::BoxError>,
    {
        let (req, body) = req.into_parts();
        let body = (req.method == Method::POST || req.method == Method::PUT)
            .then(|| axum::body::Body::new(body));
        logged(self.0.clone(), req, body, peer)
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The headers every answer gets, named once (a name given as text is parsed per use).
static X_REQUEST_ID: axum::http::HeaderName = axum::http::HeaderName::from_static("x-request-id");
static X_CACHE: axum::http::HeaderName = axum::http::HeaderName::from_static("x-cache");

/// A request's id: this process's id in 8 hex digits, `-`, and the request's number
/// (`0001a2b3-42`); made without the formatting machinery or an allocation.
struct RequestId {
    buf: [u8; 29],
    len: usize,
}

impl RequestId {
    fn next() -> RequestId {
        static PREFIX: std::sync::LazyLock<[u8; 9]> = std::sync::LazyLock::new(|| {
            let mut p = [b'-'; 9];
            p[..8].copy_from_slice(format!("{:08x}", std::process::id()).as_bytes());
            p
        });
        let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let mut buf = [0u8; 29];
        buf[..9].copy_from_slice(&*PREFIX);
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(n).as_bytes();
        buf[9..9 + digits.len()].copy_from_slice(digits);
        RequestId {
            buf,
            len: 9 + digits.len(),
        }
    }

    fn as_str(&self) -> &str {
        // ASCII digits and '-' only.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

/// Gives the request an id, runs it under its span (made only when something is logged or
/// awaited under it), logs its outcome (with
/// the client: a token's or user's name, `anonymous`, or `refused` for credentials that
/// did not check; never a secret) and sets `X-Request-Id`.
async fn logged(
    served: Arc<Served>,
    req: Parts,
    body: Option<axum::body::Body>,
    peer: SocketAddr,
) -> Response {
    let id = RequestId::next();
    let id = id.as_str();
    let span = request_span::RequestSpan::new(id);
    let start = Instant::now();
    let m = crate::metrics::metrics();
    // At most 300 characters of the path in the log line.
    let path = req.uri.path();
    let path = match path.char_indices().nth(300) {
        Some((i, _)) => &path[..i],
        None => path,
    };
    let endpoint = crate::metrics::endpoint(path);
    let in_flight = InFlight::new();
    let ((mut resp, client), cache) =
        crate::cache::noting(checked(&served, &req, body, peer, &span)).await;
    drop(in_flight);
    let took = start.elapsed();
    let status = resp.status().as_u16();
    m.answered(endpoint, status, took);
    if status >= 400 {
        keep_refusal(&resp, path, status, client.as_deref());
    }
    crate::logging::RequestLine {
        id,
        method: req.method.as_str(),
        path,
        status,
        ms: took.as_millis() as u64,
        module_version: module_version(path),
        cache: cache.unwrap_or(""),
        client: client.as_deref().unwrap_or(auth::ANONYMOUS),
    }
    .log(|| span.get());
    if let Ok(v) = HeaderValue::from_str(id) {
        resp.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    // What the cache had, for whoever is in front (`modgate trace` shows it).
    if let Some(c) = cache {
        let v = match c {
            "hit" | "negative" => "HIT",
            "stale" => "STALE",
            _ => "MISS",
        };
        resp.headers_mut()
            .insert(X_CACHE.clone(), HeaderValue::from_static(v));
    }
    resp
}

/// The access check, the limit, then the handler; with the client's name for the log.
async fn checked(
    served: &Served,
    req: &Parts,
    body: Option<axum::body::Body>,
    peer: SocketAddr,
    span: &RequestSpan<'_>,
) -> (Response, Option<Arc<str>>) {
    let access = auth::authorize(&served.state, req, span).await;
    if let Some(refused) = access.refused {
        return (refused, access.client);
    }
    let limited = limit::refuse(
        &served.state.limiter,
        req,
        access.client.as_deref(),
        peer,
        span,
    );
    if let Some(over) = limited.await {
        return (over, access.client);
    }
    let caller = api::Caller {
        client: access.client.as_deref().unwrap_or(auth::ANONYMOUS),
        body,
        reader: access.reader,
    };
    (
        handle(served, req, access.parsed, span, caller).await,
        access.client,
    )
}

/// Keeps an answer of 400 and up for the dashboard's list of recent refusals and errors.
fn keep_refusal(resp: &Response, path: &str, status: u16, client: Option<&str>) {
    let reason = match resp.extensions().get::<reply::Why>() {
        Some(why) => why.0.to_string(),
        None => StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("")
            .to_string(),
    };
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    crate::metrics::metrics()
        .recent
        .refused(crate::metrics::recent::Refusal {
            at: gomod::timestamp::Timestamp::from_unix(secs).format_rfc3339(),
            status,
            path: path.to_string(),
            module: module_version(path).map(|(m, _)| m.to_string()),
            client: client.unwrap_or(auth::ANONYMOUS).to_string(),
            reason,
        });
}

/// The module path and version (or query; empty for a list or `@latest`) of a protocol
/// request's path, as written in it (escaped), for the log line.
fn module_version(path: &str) -> Option<(&str, &str)> {
    let path = path.strip_prefix('/')?;
    if let Some((module, file)) = path.split_once("/@v/") {
        let version = match file.rsplit_once('.') {
            Some((v, "info" | "mod" | "zip")) => v,
            _ => "",
        };
        return Some((module, version));
    }
    path.strip_suffix("/@latest").map(|m| (m, ""))
}

/// Counts a request in flight until dropped (also when the client leaves mid-way).
struct InFlight;

impl InFlight {
    fn new() -> InFlight {
        crate::metrics::metrics().in_flight.inc();
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        crate::metrics::metrics().in_flight.dec();
    }
}

/// Answers a request that may be answered: `checked` is its path as the access check
/// parsed it, if it did.
async fn handle(
    served: &Served,
    req: &Parts,
    checked: Option<Result<Request, Reject>>,
    span: &RequestSpan<'_>,
    caller: api::Caller<'_>,
) -> Response {
    let head = req.method == Method::HEAD;
    let raw = req.uri.path();
    // Warm jobs and bundles, whatever the method (the path parsed once, kept for what
    // follows).
    let mut checked = checked;
    if raw.starts_with(api::PREFIX) {
        let parsed = checked.take().unwrap_or_else(|| parse(raw));
        if let Ok(Request::Api { endpoint }) = &parsed
            && path::is_fleet(endpoint)
        {
            return Box::pin(fleet_api::answer(
                &served.state,
                &req.method,
                endpoint,
                req.uri.query(),
                caller,
            ))
            .instrument(span.get().clone())
            .await;
        }
        checked = Some(parsed);
    }
    if req.method != Method::GET && !head {
        // Only the operations API takes a POST.
        if req.method == Method::POST && raw.starts_with(api::PREFIX) {
            let parsed = checked.unwrap_or_else(|| parse(raw));
            if let Ok(Request::Api { endpoint }) = parsed {
                // Boxed, as the answers below: its future would otherwise make every
                // request's larger.
                return Box::pin(api::post(&served.state, &endpoint, caller))
                    .instrument(span.get().clone())
                    .await;
            }
        }
        let mut r = reply::text(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: the GOPROXY protocol is GET and HEAD only",
            false,
        );
        r.headers_mut()
            .insert("allow", HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    // With [filter] rules, every request is parsed and checked first (a hot answer
    // included: the rules may have changed since it was given).
    {
        // A guard of the rules, not held across the handler's awaits.
        let filter = served.state.filter.load();
        if !filter.is_empty() {
            let parsed = checked.take().unwrap_or_else(|| parse(raw));
            if let Ok(r) = &parsed
                && let Some(refusal) = filtered::refused(&filter, r)
            {
                return span.get().in_scope(|| filtered::forbidden(&refusal, head));
            }
            checked = Some(parsed);
        }
    }
    // An immutable answer given before for this very path: nothing to parse or look up.
    // A zip's is sent again from its file while the store keeps it (a GET: a HEAD's
    // answer would not look at the file), else the cache is asked as for a new one.
    match served.hot.get(raw) {
        Some(hot_answers::Hot::Answer(hot)) => {
            crate::cache::looked(crate::metrics::endpoint(raw), "hit");
            return hot.respond(head);
        }
        Some(hot_answers::Hot::Zip(z)) if !head => {
            // Boxed, as the answers below. Nothing under it logs: no request span.
            let store = served.state.cache.store();
            let again = zip::serve_again(store, &z.key, z.size, &z.etag, &req.headers);
            match Box::pin(again).await {
                Some(r) => {
                    crate::cache::looked("zip", "hit");
                    return r;
                }
                None => served.hot.forget_path(raw),
            }
        }
        _ => {}
    }
    let parsed = checked.unwrap_or_else(|| parse(raw));
    match parsed {
        Err(reject) => {
            span.get()
                .in_scope(|| tracing::info!(reason = %reject.reason, "rejected"));
            let status = StatusCode::from_u16(reject.status).unwrap_or(StatusCode::BAD_REQUEST);
            reply::text(status, &reject.reason, head)
        }
        // Boxed: the future of a fetch through the cache is tens of kilobytes, which a hot
        // answer would otherwise carry (and move) too.
        Ok(r) => {
            Box::pin(respond::answer(
                &served.state,
                r,
                (&req.headers, req.uri.query()),
                head,
                (&served.hot, raw),
            ))
            .instrument(span.get().clone())
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// hyper boxes each request's future (`listen.rs`), and the box is filled by a copy
    /// of the whole future: it holds only what every answer needs, and the larger, rarer
    /// answers (a fetch through the cache, the operations API) are boxed inside it. It
    /// was 8.8 KB while a wrapper (`cache::noting`) laid it out three times over and the
    /// operations API's answer was not boxed; 1.4 KB since.
    #[tokio::test]
    async fn a_request_future_stays_small() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(crate::storage::Store::open_dir(dir.path()).unwrap());
        let cache = Cache::new(
            Arc::new(crate::source::offline::Offline),
            store,
            Default::default(),
        );
        let app = App::new(Arc::new(AppState {
            cache,
            short_max_age: Duration::from_secs(60),
            sumdb: None,
            shared: None,
            limiter: Arc::new(limit::Limiter::new(None, None)),
            auth: arc_swap::ArcSwapOption::empty(),
            filter: Arc::new(arc_swap::ArcSwap::from_pointee(
                crate::filter::Filter::default(),
            )),
            fleet: None,
        }));
        let req = axum::http::Request::get("/example.com/m/@v/list")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let answer = app.answer(req, "127.0.0.1:1".parse().unwrap());
        let size = std::mem::size_of_val(&answer);
        assert!(size <= 2048, "a request's future is {size} bytes");
        assert_eq!(answer.await.status(), StatusCode::NOT_FOUND);
    }
}
