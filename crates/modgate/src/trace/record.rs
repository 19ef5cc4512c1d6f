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
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::OnceCell;

/// One request the traced command made.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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
}

fn micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_micros() as u64)
}

fn micros_opt<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_u64(d.as_micros() as u64),
        None => s.serialize_none(),
    }
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
    client: reqwest::Client,
    records: Records,
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
    /// database `sumdb`: its name and its own URL (`None`: GOSUMDB=off, nothing claimed).
    pub async fn start(
        upstreams: Vec<String>,
        sumdb: Option<(String, String)>,
    ) -> Result<Recorder, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1 for the recorder: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("the recorder's address: {e}"))?;
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| format!("the recorder's HTTP client: {e}"))?;
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
            .get_or_init(|| choose_sumdb(&relay, &route.name, &route.direct))
            .await;
        return forward(&relay, &path, &format!("{base}/{what}")).await;
    }
    forward(&relay, &path, &format!("{base}{path}")).await
}

/// Asks each upstream in order whether it proxies the database `name`, as the go command
/// would have: the first that answers 200 is the base; 404 and 410 move on; anything else
/// (or none) means the database itself.
async fn choose_sumdb(relay: &Relay, name: &str, direct: &str) -> String {
    for up in &relay.upstreams {
        let url = format!("{up}/sumdb/{name}/supported");
        let i = relay
            .records
            .open(&format!("/sumdb/{name}/supported"), &url);
        match get(&relay.client, &url).send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                relay.records.update(i, |r, now| {
                    r.status = Some(status);
                    r.first_byte = Some(now);
                    r.done = Some(now);
                });
                match status {
                    200 => return format!("{up}/sumdb/{name}"),
                    404 | 410 => continue,
                    _ => break,
                }
            }
            Err(e) => {
                relay.records.update(i, |r, now| {
                    r.error = Some(e.to_string());
                    r.done = Some(now);
                });
                break;
            }
        }
    }
    direct.trim_end_matches('/').to_string()
}

/// `GET url` with the credentials the go command would have sent to it: over https, the
/// netrc entry of its host (with the port when the URL names one), as the go command reads
/// it (`source::proxy::netrc`); the command itself now talks plain http to the recorder
/// and sends none. Credentials in the URL itself are reqwest's to send.
fn get(client: &reqwest::Client, url: &str) -> reqwest::RequestBuilder {
    let req = client.get(url);
    let Ok(u) = reqwest::Url::parse(url) else {
        return req;
    };
    if u.scheme() != "https" || !u.username().is_empty() {
        return req;
    }
    let host = match (u.host_str(), u.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => return req,
    };
    match crate::source::proxy::netrc::lookup(&host) {
        Some((login, password)) => req.basic_auth(login, Some(password)),
        None => req,
    }
}

/// Relays `GET url` for the command's `path`, recording it.
async fn forward(relay: &Arc<Relay>, path: &str, url: &str) -> Response {
    let i = relay.records.open(path, url);
    let resp = match get(&relay.client, url).send().await {
        Ok(r) => r,
        Err(e) => {
            let msg = format!("modgate trace: relaying to {url}: {e}");
            relay.records.update(i, |r, now| {
                r.error = Some(e.to_string());
                r.done = Some(now);
            });
            return text(StatusCode::BAD_GATEWAY, &msg);
        }
    };
    let status = resp.status();
    relay.records.update(i, |r, now| {
        r.status = Some(status.as_u16());
        r.first_byte = Some(now);
    });
    let mut out = Response::builder().status(status.as_u16());
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
    let mut upstream = resp.bytes_stream();
    let body = async_stream_body(move |tx| async move {
        while let Some(chunk) = upstream.next().await {
            match chunk {
                Ok(b) => {
                    let n = b.len() as u64;
                    records.update(i, |r, _| r.bytes += n);
                    if tx.send(Ok(b)).await.is_err() {
                        records.update(i, |r, now| {
                            r.error = Some("the command went away".into());
                            r.done = Some(now);
                        });
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
        records.update(i, |r, now| r.done = Some(now));
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
                    0,
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
        // Times in order.
        for r in rec.records.snapshot() {
            assert!(r.first_byte.unwrap() >= r.asked && r.done.unwrap() >= r.first_byte.unwrap());
        }
    }
}
