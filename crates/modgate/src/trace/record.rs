//! The recording proxy: on 127.0.0.1, `GET /p/N/<path>` is relayed to upstream N
//! (`rewrite.rs`) and answered with the upstream's status, type and bytes, streamed; each
//! request is recorded with when it was asked, when the upstream's headers came (the
//! first byte) and when its body ended, its status and size.
//!
//! The checksum database: the go command sends all of its traffic to the first GOPROXY
//! entry that answers `/sumdb/<name>/supported` (cmd/go/internal/modfetch/sumdb.go), so
//! the recorder claims it at `/p/0/...` and relays each request where the go command
//! would have sent it without the recorder: to the first upstream that supports it
//! (asked once, in order, as the go command asks), else to the database itself.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;
use serde::Serialize;
use tokio::sync::OnceCell;

use super::client::Client;
use crate::dial::{Phases, micros, micros_opt};
use crate::goenv::GoSettings;

/// One request the traced command made.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Record {
    /// In the order they were asked.
    pub id: u64,
    /// The path asked for (`/example.com/m/@v/v1.0.0.zip`, `/sumdb/<name>/lookup/...`).
    pub path: String,
    /// Where it was relayed to (the full URL).
    pub upstream: String,
    /// What the recorder answered itself instead (`sumdb supported`), if it did.
    pub answered_here: bool,
    /// The status given to the command, if the upstream answered.
    pub status: Option<u16>,
    /// Body bytes relayed.
    pub bytes: u64,
    /// Since the trace began: when the command asked.
    #[serde(serialize_with = "micros")]
    pub asked: Duration,
    /// When the upstream's headers came.
    #[serde(serialize_with = "micros_opt")]
    pub first_byte: Option<Duration>,
    /// When the body ended (or the relay failed).
    #[serde(serialize_with = "micros_opt")]
    pub done: Option<Duration>,
    /// Why the relay failed, if it did.
    pub error: Option<String>,
    /// Time waiting on a connection another request was opening.
    #[serde(serialize_with = "micros")]
    pub queue: Duration,
    /// The phases of the connection this request opened (none: it reused one).
    pub opened: Option<Phases>,
    /// The URLs the upstream redirected to, in order.
    pub redirects: Vec<String>,
    /// Sent again on a new connection after a kept one failed.
    pub resent: bool,
    /// Which time the command asked this path of this upstream (1: the first; more:
    /// the command's retries).
    pub attempt: u32,
    /// `hit` or `miss`, where the upstream says so (X-Cache, X-Cache-Status,
    /// CF-Cache-Status; else an Age header means a hit).
    pub cache: Option<String>,
    /// The phase a connection failed in (`dns`, `connect`, `proxy`, `tls`), when the
    /// request failed opening one.
    pub failed_in: Option<&'static str>,
}

impl Record {
    /// The request's phases in order, each `(name, from, to)` on the trace's clock:
    /// `queue` (a connection another request was opening), `dns`, `connect`, `proxy`,
    /// `tls` (the connection it opened itself), `wait` (for the first byte), `transfer`;
    /// the empty ones left out. A request that failed opening its connection spent the
    /// rest in the phase that failed, not waiting for a first byte.
    pub fn phase_spans(&self) -> Vec<(&'static str, Duration, Duration)> {
        let end = self.done.unwrap_or(self.asked);
        let first = self.first_byte.unwrap_or(end);
        let mut out = Vec::new();
        let mut at = self.asked;
        let mut push = |name: &'static str, d: Duration| {
            let to = (at + d).min(first);
            if to > at {
                out.push((name, at, to));
                at = to;
            }
        };
        push("queue", self.queue);
        if let Some(p) = &self.opened {
            push("dns", p.dns.unwrap_or_default());
            push("connect", p.connect);
            push("proxy", p.proxy.unwrap_or_default());
            push("tls", p.tls.unwrap_or_default());
        }
        if first > at {
            let rest = match (self.first_byte, self.failed_in) {
                (None, Some(phase)) => phase,
                _ => "wait",
            };
            out.push((rest, at, first));
        }
        if end > first {
            out.push(("transfer", first, end));
        }
        out
    }
}

/// Whether an answer came from the upstream's cache, where its headers say so.
pub fn cache_state(headers: &axum::http::HeaderMap) -> Option<String> {
    for name in [
        "x-cache",
        "x-cache-status",
        "cf-cache-status",
        "x-proxy-cache",
    ] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            let up = v.to_ascii_uppercase();
            return Some(if up.contains("HIT") {
                "hit".into()
            } else if up.contains("MISS") || up.contains("EXPIRED") || up.contains("BYPASS") {
                "miss".into()
            } else {
                v.to_ascii_lowercase()
            });
        }
    }
    headers
        .get(header::AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|_| "hit".into())
}

/// The records so far, shared with the relays still under way.
#[derive(Clone)]
pub struct Records {
    epoch: Instant,
    all: Arc<Mutex<Vec<Record>>>,
}

impl Records {
    fn new() -> Records {
        Records {
            epoch: Instant::now(),
            all: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Record>> {
        self.all.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new record; its index.
    fn open(&self, path: &str, upstream: &str) -> usize {
        let mut all = self.lock();
        let id = all.len();
        let attempt = 1 + all
            .iter()
            .filter(|r| r.path == path && r.upstream == upstream)
            .count() as u32;
        all.push(Record {
            id: id as u64,
            path: path.to_string(),
            upstream: upstream.to_string(),
            answered_here: false,
            status: None,
            bytes: 0,
            asked: self.epoch.elapsed(),
            first_byte: None,
            done: None,
            error: None,
            queue: Duration::ZERO,
            opened: None,
            redirects: Vec::new(),
            resent: false,
            attempt,
            cache: None,
            failed_in: None,
        });
        id
    }

    fn update(&self, i: usize, f: impl FnOnce(&mut Record, Duration)) {
        let now = self.epoch.elapsed();
        if let Some(r) = self.lock().get_mut(i) {
            f(r, now);
        }
    }

    /// A copy of every record.
    pub fn snapshot(&self) -> Vec<Record> {
        self.lock().clone()
    }

    /// When the trace began.
    pub fn epoch(&self) -> Instant {
        self.epoch
    }
}

/// Where the checksum database's requests go.
struct SumdbRoute {
    /// Its name (`sum.golang.org`; it may have slashes).
    name: String,
    /// The database's own URL (GOSUMDB's, else `https://<name>`).
    direct: String,
    /// Decided at the first request: the base its paths are relayed under.
    chosen: OnceCell<String>,
}

struct Relay {
    upstreams: Vec<String>,
    sumdb: Option<SumdbRoute>,
    client: Client,
    records: Records,
}

/// Why the recorder could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// It could not listen on loopback.
    #[error("cannot listen on 127.0.0.1 for the recorder: {0}")]
    Listen(#[source] std::io::Error),
    /// Its listening address could not be read.
    #[error("the recorder's address: {0}")]
    Address(#[source] std::io::Error),
}

/// A running recorder.
pub struct Recorder {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// What it recorded.
    pub records: Records,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Recorder {
    /// Starts a recorder relaying to `upstreams` (see `rewrite.rs`), claiming the checksum
    /// database `sumdb`: its name and its own URL (`None`: GOSUMDB=off, nothing claimed);
    /// reaching HTTP proxies as `settings` say (HTTPS_PROXY, HTTP_PROXY, NO_PROXY).
    pub async fn start(
        upstreams: Vec<String>,
        sumdb: Option<(String, String)>,
        settings: GoSettings,
    ) -> Result<Recorder, Error> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(Error::Listen)?;
        let addr = listener.local_addr().map_err(Error::Address)?;
        let client = Client::new(settings);
        let records = Records::new();
        let relay = Arc::new(Relay {
            upstreams,
            sumdb: sumdb.map(|(name, direct)| SumdbRoute {
                name,
                direct,
                chosen: OnceCell::new(),
            }),
            client,
            records: records.clone(),
        });
        let app = Router::new().fallback(handle).with_state(relay);
        // No Nagle: a body written after its header would otherwise wait for the go
        // command's delayed ACK (40 ms a request).
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Recorder {
            url: format!("http://{addr}"),
            records,
            server,
        })
    }
}

fn text(status: StatusCode, body: &str) -> Response {
    let mut r = Response::new(Body::from(format!("{body}\n")));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

async fn handle(State(relay): State<Arc<Relay>>, req: Request) -> Response {
    let path_q = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    // The command's own User-Agent goes on to the upstream, as without the trace.
    let agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some((n, rest)) = path_q
        .strip_prefix("/p/")
        .and_then(|r| r.split_once('/'))
        .and_then(|(n, rest)| Some((n.parse::<usize>().ok()?, rest)))
    else {
        return text(
            StatusCode::NOT_FOUND,
            "not a path of the modgate trace recorder",
        );
    };
    let Some(base) = relay.upstreams.get(n) else {
        return text(StatusCode::NOT_FOUND, "no such upstream in the recorder");
    };
    let path = format!("/{rest}");
    let claimed = relay.sumdb.as_ref().and_then(|route| {
        rest.strip_prefix("sumdb/")?
            .strip_prefix(route.name.as_str())?
            .strip_prefix('/')
            .map(|what| (route, what))
    });
    let agent = agent.as_deref();
    if let Some((route, what)) = claimed {
        // `<name>/supported`: claimed by the first entry, so that the go command sends the
        // database's traffic here.
        if what == "supported" {
            let i = relay.records.open(&path, "");
            let status = if n == 0 { 200 } else { 404 };
            relay.records.update(i, |r, now| {
                r.answered_here = true;
                r.status = Some(status);
                r.first_byte = Some(now);
                r.done = Some(now);
            });
            return if n == 0 {
                text(StatusCode::OK, "")
            } else {
                text(StatusCode::NOT_FOUND, "")
            };
        }
        let base = route
            .chosen
            .get_or_init(|| choose_sumdb(&relay, &route.name, &route.direct, agent))
            .await;
        return forward(&relay, &path, &format!("{base}/{what}"), agent).await;
    }
    forward(&relay, &path, &format!("{base}{path}"), agent).await
}

/// Asks each upstream in order whether it proxies the database `name`, as the go command
/// would have: the first that answers 200 is the base; 404 and 410 move on; anything else
/// (or none) means the database itself.
async fn choose_sumdb(relay: &Relay, name: &str, direct: &str, agent: Option<&str>) -> String {
    for up in &relay.upstreams {
        let url = format!("{up}/sumdb/{name}/supported");
        let i = relay
            .records
            .open(&format!("/sumdb/{name}/supported"), &url);
        let status = match relay.client.get(&url, &headers(&url, agent)).await {
            Ok(answer) => {
                let status = answer.response.status().as_u16();
                relay.records.update(i, |r, now| {
                    answered(r, &answer);
                    r.first_byte = Some(now);
                });
                let (response, lease) = (answer.response, answer.lease);
                let read = response
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes().len() as u64);
                relay.records.update(i, |r, now| {
                    match &read {
                        Ok(n) => r.bytes = *n,
                        Err(e) => r.error = Some(e.to_string()),
                    }
                    r.done = Some(now);
                });
                if read.is_ok() {
                    lease.release();
                }
                Some(status)
            }
            Err(f) => {
                relay.records.update(i, |r, now| failed(r, f, now));
                None
            }
        };
        match status {
            Some(200) => return format!("{up}/sumdb/{name}"),
            Some(404 | 410) => continue,
            _ => break,
        }
    }
    direct.trim_end_matches('/').to_string()
}

/// What an answer says about its request, into its record.
fn answered(r: &mut Record, a: &super::client::Answer) {
    r.status = Some(a.response.status().as_u16());
    r.queue = a.queue;
    r.opened = a.opened.clone();
    r.redirects = a.redirects.clone();
    r.resent = a.resent;
    r.cache = cache_state(a.response.headers());
}

/// A request that got no answer, into its record.
fn failed(r: &mut Record, f: super::client::Failure, now: Duration) {
    r.failed_in = f.failed_in();
    r.error = Some(f.error.to_string());
    r.queue = f.queue;
    r.opened = f.opened;
    r.done = Some(now);
}

/// The headers a request to `url` carries: the command's User-Agent, and the credentials
/// the go command would have sent: over https, the netrc entry of its host (with the port
/// when the URL names one), as the go command reads it (`source::proxy::netrc`); the
/// command itself now talks plain http to the recorder and sends none. Credentials in
/// the URL itself are the client's to send.
fn headers(url: &str, agent: Option<&str>) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(a) = agent {
        out.push(("user-agent", a.to_string()));
    }
    let Ok(u) = reqwest::Url::parse(url) else {
        return out;
    };
    if u.scheme() != "https" || !u.username().is_empty() {
        return out;
    }
    let host = match (u.host_str(), u.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => return out,
    };
    if let Some((login, password)) = crate::source::proxy::netrc::lookup(&host) {
        use base64::Engine;
        out.push((
            "authorization",
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{login}:{password}"))
            ),
        ));
    }
    out
}

/// Relays `GET url` for the command's `path`, recording it.
async fn forward(relay: &Arc<Relay>, path: &str, url: &str, agent: Option<&str>) -> Response {
    let i = relay.records.open(path, url);
    let answer = match relay.client.get(url, &headers(url, agent)).await {
        Ok(a) => a,
        Err(f) => {
            let msg = format!("modgate trace: relaying to {url}: {}", f.error);
            relay.records.update(i, |r, now| failed(r, f, now));
            return text(StatusCode::BAD_GATEWAY, &msg);
        }
    };
    relay.records.update(i, |r, now| {
        answered(r, &answer);
        r.first_byte = Some(now);
    });
    let (resp, lease) = (answer.response, answer.lease);
    let mut out = Response::builder().status(resp.status().as_u16());
    for h in [
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::CACHE_CONTROL,
    ] {
        if let Some(v) = resp.headers().get(&h) {
            out = out.header(h, v.clone());
        }
    }
    let records = relay.records.clone();
    let mut upstream = resp.into_body();
    let mut lease = Some(lease);
    let body = async_stream_body(move |tx| async move {
        use hyper::body::Body as _;
        // The end, as soon as it is known: the record is done and the connection free
        // before the command has the last bytes (it may ask again at once).
        let mut end = |records: &Records| {
            records.update(i, |r, now| r.done = Some(now));
            if let Some(l) = lease.take() {
                l.release();
            }
        };
        while let Some(frame) = upstream.frame().await {
            match frame {
                Ok(f) => {
                    let Ok(b) = f.into_data() else { continue };
                    let n = b.len() as u64;
                    records.update(i, |r, _| r.bytes += n);
                    let last = upstream.is_end_stream();
                    if last {
                        end(&records);
                    }
                    if tx.send(Ok(b)).await.is_err() && !last {
                        records.update(i, |r, now| {
                            r.error = Some("the command went away".into());
                            r.done = Some(now);
                        });
                        return;
                    }
                    if last {
                        return;
                    }
                }
                Err(e) => {
                    records.update(i, |r, now| {
                        r.error = Some(e.to_string());
                        r.done = Some(now);
                    });
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return;
                }
            }
        }
        end(&records);
    });
    out.body(body)
        .unwrap_or_else(|_| text(StatusCode::BAD_GATEWAY, "modgate trace: a bad header"))
}

type Chunk = Result<bytes::Bytes, std::io::Error>;

/// A body fed by a task that sends its chunks (the task runs while the body is read).
fn async_stream_body<F, Fut>(produce: F) -> Body
where
    F: FnOnce(tokio::sync::mpsc::Sender<Chunk>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(4);
    tokio::spawn(produce(tx));
    Body::from_stream(tokio_stream_from(rx))
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Chunk>,
) -> impl futures_util::Stream<Item = Chunk> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upstream on loopback: `routes` (path → status, body); 404 for the rest.
    async fn upstream(routes: Vec<(&'static str, u16, &'static str)>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let routes = Arc::new(routes);
        let app = Router::new().fallback(move |req: Request| {
            let routes = Arc::clone(&routes);
            async move {
                let p = req.uri().path().to_string();
                match routes.iter().find(|(path, _, _)| *path == p) {
                    Some((_, status, body)) => Response::builder()
                        .status(*status)
                        .header("content-type", "text/plain")
                        .body(Body::from(*body))
                        .unwrap(),
                    None => text(StatusCode::NOT_FOUND, "not found"),
                }
            }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    }

    async fn get(url: &str) -> (u16, String) {
        let r = reqwest::get(url).await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    #[tokio::test]
    async fn relays_records_and_claims_the_checksum_database() {
        let a = upstream(vec![("/example.com/m/@v/list", 200, "v1.0.0\nv1.1.0\n")]).await;
        let b = upstream(vec![
            ("/sumdb/sum.example/supported", 200, ""),
            (
                "/sumdb/sum.example/lookup/example.com/m@v1.0.0",
                200,
                "record",
            ),
        ])
        .await;
        let rec = Recorder::start(
            vec![a.clone(), b.clone()],
            Some(("sum.example".into(), "http://127.0.0.1:9".into())),
            GoSettings::from_environment(&|_| None),
        )
        .await
        .unwrap();
        let u = &rec.url;
        assert_eq!(
            get(&format!("{u}/p/0/example.com/m/@v/list")).await,
            (200, "v1.0.0\nv1.1.0\n".into())
        );
        assert_eq!(get(&format!("{u}/p/0/example.com/x/@v/list")).await.0, 404);
        // Claimed by the first entry only.
        assert_eq!(
            get(&format!("{u}/p/0/sumdb/sum.example/supported")).await.0,
            200
        );
        assert_eq!(
            get(&format!("{u}/p/1/sumdb/sum.example/supported")).await.0,
            404
        );
        // Relayed where the go command would have sent it: a says 404, b supports it.
        assert_eq!(
            get(&format!(
                "{u}/p/0/sumdb/sum.example/lookup/example.com/m@v1.0.0"
            ))
            .await,
            (200, "record".into())
        );
        assert_eq!(get(&format!("{u}/p/9/x")).await.0, 404);
        let got: Vec<_> = rec
            .records
            .snapshot()
            .into_iter()
            .map(|r| {
                (
                    r.path,
                    r.upstream,
                    r.answered_here,
                    r.status,
                    r.bytes,
                    r.done.is_some(),
                )
            })
            .collect();
        let s = |x: &str| x.to_string();
        assert_eq!(
            got,
            vec![
                (
                    s("/example.com/m/@v/list"),
                    format!("{a}/example.com/m/@v/list"),
                    false,
                    Some(200),
                    14,
                    true
                ),
                (
                    s("/example.com/x/@v/list"),
                    format!("{a}/example.com/x/@v/list"),
                    false,
                    Some(404),
                    10,
                    true
                ),
                (
                    s("/sumdb/sum.example/supported"),
                    s(""),
                    true,
                    Some(200),
                    0,
                    true
                ),
                (
                    s("/sumdb/sum.example/supported"),
                    s(""),
                    true,
                    Some(404),
                    0,
                    true
                ),
                (
                    s("/sumdb/sum.example/supported"),
                    format!("{a}/sumdb/sum.example/supported"),
                    false,
                    Some(404),
                    10,
                    true
                ),
                (
                    s("/sumdb/sum.example/supported"),
                    format!("{b}/sumdb/sum.example/supported"),
                    false,
                    Some(200),
                    0,
                    true
                ),
                (
                    s("/sumdb/sum.example/lookup/example.com/m@v1.0.0"),
                    format!("{b}/sumdb/sum.example/lookup/example.com/m@v1.0.0"),
                    false,
                    Some(200),
                    6,
                    true
                ),
            ]
        );
        // The first request to `a` opened a connection (to an address: no DNS); the
        // next ones to it reused it. The one to `b` opened its own.
        let all = rec.records.snapshot();
        let opened: Vec<(Option<bool>, u32)> = all
            .iter()
            .map(|r| {
                (
                    r.opened
                        .as_ref()
                        .map(|p| p.dns.is_none() && p.tls.is_none()),
                    r.attempt,
                )
            })
            .collect();
        assert_eq!(
            opened,
            [
                (Some(true), 1),
                (None, 1),
                (None, 1),
                (None, 2),
                (None, 1),
                (Some(true), 1),
                (None, 1)
            ]
        );
        // Times in order.
        for r in rec.records.snapshot() {
            assert!(r.first_byte.unwrap() >= r.asked && r.done.unwrap() >= r.first_byte.unwrap());
        }
    }
}
