//! Accepting and serving the client connections (in place of `axum::serve`, which has no
//! header timeout, no idle timeout and no cap on connections).
//!
//! Each connection is served by hyper (HTTP/1.1; HTTP/2 chosen by ALPN over TLS, or by its
//! preface in plain text) under a watchdog that sees the connection's requests and bytes:
//! - `header_timeout`: from the accept (the TLS handshake included) to the whole header of
//!   the first request, and from the first byte of a later HTTP/1.1 request to its whole
//!   header; past it the connection is closed;
//! - `idle_timeout`: a connection with no request in flight that has neither read a byte
//!   of a new request nor written anything for that long is closed (HTTP/2: GOAWAY).
//!
//! A request is in flight from its whole header to the end of its response body (a slow
//! zip download is never idle). hyper's own `header_read_timeout` is not used: it also
//! bounds the wait between keep-alive requests, so it would close idle HTTP/1.1
//! connections at the header timeout, whatever the idle timeout.
//!
//! Past `max_connections` open, or `max_connections_per_address` open from one IP address,
//! a new connection is accepted and closed at once (so that the listen backlog does not
//! fill), with a warning at most every 10 s for each kind. On shutdown the listener is
//! closed (new connections are refused), every connection is asked to finish (HTTP/1.1:
//! after the response in flight; HTTP/2: GOAWAY), and the open ones are waited for up to
//! `drain_timeout`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

use super::sendfile;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Bounds on the client connections (`[server]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// From a connection's accept (TLS handshake included) to its first request's whole
    /// header, and from the first byte of a later request to its whole header.
    pub header_timeout: Duration,
    /// How long a connection with no request in flight is kept open.
    pub idle_timeout: Duration,
    /// On SIGTERM/Ctrl-C, how long in-flight requests may take to finish.
    pub drain_timeout: Duration,
    /// Connections open at once; more are accepted and closed at once.
    pub max_connections: usize,
    /// Connections open at once from one client IP address.
    pub max_connections_per_address: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(30),
            max_connections: 4096,
            max_connections_per_address: 256,
        }
    }
}

/// At most one warning of each kind (limit reached, accept failing) per this long.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// How long an idle connection asked to close (HTTP/2: GOAWAY) may take before it is
/// dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` (HTTPS with `tls`) until `shutdown` completes, then drains.
pub async fn serve(
    listener: TcpListener,
    app: super::App,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: ServerLimits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let open = Arc::new(Open {
        limits,
        per_address: Mutex::new(HashMap::new()),
        total: watch::Sender::new(0),
    });
    let (stop, stopped) = watch::channel(false);
    let ctx = Arc::new(Ctx {
        app,
        limits,
        tls: tls.map(tokio_rustls::TlsAcceptor::from),
        builders: Builders::new(),
        stopped,
    });
    let mut warn_total = Throttle::default();
    let mut warn_address = Throttle::default();
    let mut warn_accept = Throttle::default();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            r = listener.accept() => r,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                if !crate::platform::net::is_out_of_resources(&e) {
                    // The client went away before the accept (ECONNABORTED) and the like.
                    tracing::debug!("accept: {e}");
                    continue;
                }
                if let Some(more) = warn_accept.hit() {
                    tracing::warn!(
                        "cannot accept connections: {e} ({} open); raise the open file limit (ulimit -n, LimitNOFILE=) or lower [server] max_connections{}",
                        *open.total.borrow(),
                        more_refused(more, "failed")
                    );
                }
                // The connection stays in the backlog: wait a moment rather than spin.
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                }
            }
        };
        match open.admit(peer.ip()) {
            Ok(slot) => {
                tokio::spawn(connection(tcp, peer, slot, Arc::clone(&ctx)));
            }
            // Dropping `tcp` closes it.
            Err(Refused::Total) => {
                if let Some(more) = warn_total.hit() {
                    tracing::warn!(
                        "connection limit reached: {} open; refusing new connections (raise [server] max_connections){}",
                        limits.max_connections,
                        more_refused(more, "refused")
                    );
                }
            }
            Err(Refused::Address(ip)) => {
                if let Some(more) = warn_address.hit() {
                    tracing::warn!(
                        "connection limit per address reached: {ip} has {} open; refusing its new connections (raise [server] max_connections_per_address){}",
                        limits.max_connections_per_address,
                        more_refused(more, "refused")
                    );
                }
            }
        }
    }
    drop(listener);
    let n = *open.total.borrow();
    tracing::info!(
        "modgate serve: stopped accepting; waiting up to {} s for {n} open connection(s) to finish ([server] drain_timeout)",
        limits.drain_timeout.as_secs()
    );
    let _ = stop.send(true);
    let mut total = open.total.subscribe();
    match tokio::time::timeout(limits.drain_timeout, total.wait_for(|n| *n == 0)).await {
        Ok(_) => tracing::info!("modgate serve: every connection finished"),
        Err(_) => tracing::warn!(
            "modgate serve: {} connection(s) still open after the {} s drain bound ([server] drain_timeout); closing them",
            *open.total.borrow(),
            limits.drain_timeout.as_secs()
        ),
    }
}

fn more_refused(n: u64, what: &str) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(" ({n} more {what} since the last such warning)")
    }
}

/// A warning given at most once per [`WARN_EVERY`], counting what it left out.
#[derive(Default)]
struct Throttle {
    last: Option<Instant>,
    skipped: u64,
}

impl Throttle {
    /// `Some(skipped since the last warning)` when a warning is due now.
    fn hit(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < WARN_EVERY)
        {
            self.skipped += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.skipped))
    }
}

/// The open connections, in all and per client address.
struct Open {
    limits: ServerLimits,
    per_address: Mutex<HashMap<IpAddr, usize>>,
    /// The number open; a channel, so that the drain can wait for 0.
    total: watch::Sender<usize>,
}

enum Refused {
    Total,
    Address(IpAddr),
}

impl Open {
    /// A place for one more connection from `ip`, unless a limit is reached. Only the
    /// accept loop calls this, so the counts cannot pass the limits between its checks.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refused> {
        // An IPv4 client of a dual-stack listener is the same client as over IPv4.
        let ip = ip.to_canonical();
        let m = crate::metrics::metrics();
        let refused = |cap| {
            m.connections_refused
                .get_or_create(&crate::metrics::Cap { cap })
                .inc();
        };
        if *self.total.borrow() >= self.limits.max_connections {
            refused("max_connections");
            return Err(Refused::Total);
        }
        {
            let mut map = self.per_address.lock().unwrap_or_else(|e| e.into_inner());
            let n = map.entry(ip).or_insert(0);
            if *n >= self.limits.max_connections_per_address {
                refused("max_connections_per_address");
                return Err(Refused::Address(ip));
            }
            *n += 1;
        }
        self.total.send_modify(|n| *n += 1);
        m.connections_open.inc();
        Ok(Slot {
            open: Arc::clone(self),
            ip,
        })
    }
}

/// One admitted connection's place, given back when it is dropped.
struct Slot {
    open: Arc<Open>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        {
            let mut map = self
                .open
                .per_address
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(n) = map.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&self.ip);
                }
            }
        }
        self.open.total.send_modify(|n| *n -= 1);
        crate::metrics::metrics().connections_open.dec();
    }
}

/// What every connection task shares.
struct Ctx {
    app: super::App,
    limits: ServerLimits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    builders: Builders,
    /// Becomes true on shutdown.
    stopped: watch::Receiver<bool>,
}

/// What hyper buffers of a response per connection before it waits for the socket (its
/// default, about 400 KiB, let 64 clients of a large zip hold 25 MiB between them); a
/// body's chunk (`storage::file_range::CHUNK`) is the same size. Also the most it reads
/// of a request ahead (request headers are far smaller).
const WRITE_BUFFER: usize = 64 * 1024;

/// hyper's connection builders: HTTP/1.1 or HTTP/2 by what the client sends first, and
/// each alone (chosen by ALPN over TLS).
struct Builders {
    auto: auto::Builder<TokioExecutor>,
    http1: auto::Builder<TokioExecutor>,
    http2: auto::Builder<TokioExecutor>,
}

impl Builders {
    fn new() -> Builders {
        let mut auto = auto::Builder::new(TokioExecutor::new());
        // The watchdog bounds the header and idle waits (see the module's comment).
        auto.http1()
            .header_read_timeout(None)
            .keep_alive(true)
            .max_buf_size(WRITE_BUFFER)
            // A body's chunks written as yielded, never copied into one buffer: what
            // `sendfile.rs` relies on (and a zip's chunks are not copied either way).
            .writev(true);
        Builders {
            http1: auto.clone().http1_only(),
            http2: auto.clone().http2_only(),
            auto,
        }
    }
}

/// Serves one connection: the TLS handshake (bounded by the header timeout), then HTTP.
async fn connection(tcp: TcpStream, peer: SocketAddr, slot: Slot, ctx: Arc<Ctx>) {
    let _ = tcp.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let Some(acceptor) = &ctx.tls else {
        let builder = &ctx.builders.auto;
        if !sendfile::available() {
            return serve_connection(tcp, None, slot, builder, peer, activity, &ctx).await;
        }
        let queue = Arc::new(sendfile::Queue::default());
        let tcp = sendfile::Spliced::new(tcp, Arc::clone(&queue));
        return serve_connection(tcp, Some(queue), slot, builder, peer, activity, &ctx).await;
    };
    let mut stopped = ctx.stopped.clone();
    let handshake = tokio::select! {
        r = tokio::time::timeout(ctx.limits.header_timeout, acceptor.accept(tcp)) => r,
        _ = stopped.wait_for(|s| *s) => return,
    };
    let tls = match handshake {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!(%peer, "TLS handshake failed: {e}");
            return;
        }
        Err(_) => {
            tracing::debug!(
                %peer,
                "closing the connection: no TLS handshake within {} s ([server] header_timeout)",
                ctx.limits.header_timeout.as_secs()
            );
            return;
        }
    };
    let builder = match tls.get_ref().1.alpn_protocol() {
        Some(b"h2") => &ctx.builders.http2,
        Some(_) => &ctx.builders.http1,
        None => &ctx.builders.auto,
    };
    serve_connection(tls, None, slot, builder, peer, activity, &ctx).await;
}

/// Serves HTTP on `io` under the watchdog, until the client closes, a timeout closes it,
/// or (on shutdown) its requests in flight are answered. `sendfile`: the queue of `io`
/// when it sends files in place of stand-ins (`sendfile.rs`).
async fn serve_connection<I>(
    io: I,
    sendfile: Option<Arc<sendfile::Queue>>,
    slot: Slot,
    builder: &auto::Builder<TokioExecutor>,
    peer: SocketAddr,
    activity: Arc<Activity>,
    ctx: &Ctx,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = &ctx.limits;
    let io = TokioIo::new(Watched {
        slot: Some(slot),
        io,
        activity: Arc::clone(&activity),
    });
    let service = Tracked {
        app: ctx.app.clone(),
        activity: Arc::clone(&activity),
        peer,
        sendfile,
    };
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut stopped = ctx.stopped.clone();
    let mut stopping = false;
    let expired = loop {
        let sleep = tokio::time::sleep_until(activity.deadline(limits).0.into());
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%peer, "connection: {e}");
                }
                return;
            }
            () = sleep => {
                let (at, why) = activity.deadline(limits);
                if at <= Instant::now() {
                    break why;
                }
            }
            _ = stopped.wait_for(|s| *s), if !stopping => {
                stopping = true;
                // HTTP/1.1: closed now if idle, else after the response in flight (or
                // the request being read); HTTP/2: GOAWAY.
                conn.as_mut().graceful_shutdown();
                if activity.untouched() {
                    // Not a byte of a request yet: nothing to wait for.
                    return;
                }
            }
        }
    };
    match expired {
        Expired::Header => {
            tracing::debug!(
                %peer,
                "closing the connection: no whole request header within {} s ([server] header_timeout)",
                limits.header_timeout.as_secs()
            );
            // Dropped, so closed, at once: there is nothing to finish.
        }
        Expired::Idle => {
            tracing::debug!(
                %peer,
                "closing the connection: idle for {} s ([server] idle_timeout)",
                limits.idle_timeout.as_secs()
            );
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(CLOSE_GRACE, conn).await;
        }
    }
}

/// Which bound a connection passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expired {
    Header,
    Idle,
}

/// No time recorded (`first_byte`).
const NONE: u64 = u64::MAX;

/// What the watchdog of one connection sees: its requests in flight, and when it last
/// read or wrote. Times are milliseconds since the accept.
struct Activity {
    start: Instant,
    /// `start` on the cheap clock (`platform::clock`), which times are read from.
    start_ms: u64,
    /// Requests whose header is read and whose response body is not yet done.
    in_flight: AtomicUsize,
    /// Requests whose header was read.
    requests: AtomicU64,
    /// When the last request in flight ended.
    idle_since: AtomicU64,
    /// The first byte read with no request in flight (a new request's header begins).
    first_byte: AtomicU64,
    /// The last write.
    last_write: AtomicU64,
    /// HTTP/2: bytes with no request in flight are control frames (PING, SETTINGS), not
    /// the start of a request.
    http2: AtomicBool,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            start_ms: crate::platform::clock::coarse_millis(),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            first_byte: AtomicU64::new(NONE),
            last_write: AtomicU64::new(0),
            http2: AtomicBool::new(false),
        }
    }

    /// Milliseconds since the accept, read from the cheap clock (a tick late at most:
    /// deadlines are a few milliseconds early or late, of seconds).
    fn now(&self) -> u64 {
        crate::platform::clock::coarse_millis().saturating_sub(self.start_ms)
    }

    /// When the connection is to be closed, and why; or a time to look again, so that
    /// nothing a request does wakes the watchdog:
    /// - while a request is in flight, the idle timeout from now (the earliest the
    ///   connection can be idle that long);
    /// - while idle, no later than the header timeout from now: a request's first byte
    ///   may come meanwhile, and its header is due a header timeout after it (looking at
    ///   least that often finds it in time).
    fn deadline(&self, limits: &ServerLimits) -> (Instant, Expired) {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return (Instant::now() + limits.idle_timeout, Expired::Idle);
        }
        let at = |ms: u64, d: Duration| self.start + Duration::from_millis(ms) + d;
        if self.requests.load(Ordering::SeqCst) == 0 {
            return (at(0, limits.header_timeout), Expired::Header);
        }
        let first_byte = self.first_byte.load(Ordering::SeqCst);
        if first_byte != NONE && !self.http2.load(Ordering::SeqCst) {
            return (at(first_byte, limits.header_timeout), Expired::Header);
        }
        let last = self
            .idle_since
            .load(Ordering::SeqCst)
            .max(self.last_write.load(Ordering::SeqCst));
        let look_again = Instant::now() + limits.header_timeout;
        (at(last, limits.idle_timeout).min(look_again), Expired::Idle)
    }

    /// No request yet, and not a byte of one.
    fn untouched(&self) -> bool {
        self.requests.load(Ordering::SeqCst) == 0 && self.first_byte.load(Ordering::SeqCst) == NONE
    }

    fn read(&self) {
        if self.in_flight.load(Ordering::SeqCst) == 0
            && self.first_byte.load(Ordering::SeqCst) == NONE
        {
            let _ = self.first_byte.compare_exchange(
                NONE,
                self.now(),
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
        }
    }

    fn wrote(&self) {
        self.last_write.store(self.now(), Ordering::SeqCst);
    }

    /// A request's header is read: it is in flight until the returned guard is dropped.
    fn begin(self: &Arc<Self>, http2: bool) -> InFlight {
        if http2 {
            self.http2.store(true, Ordering::SeqCst);
        }
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.first_byte.store(NONE, Ordering::SeqCst);
        InFlight(Arc::clone(self))
    }
}

/// A request in flight; dropped with its response body (sent whole, or abandoned).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.0;
        a.idle_since.store(a.now(), Ordering::SeqCst);
        a.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The app as hyper's service, marking each request in flight until its response body
/// is done.
#[derive(Clone)]
struct Tracked {
    app: super::App,
    activity: Arc<Activity>,
    /// The client's address (per-client limits count by it).
    peer: SocketAddr,
    /// Where stand-ins for a file's bytes are queued, on a connection that sends files.
    sendfile: Option<Arc<sendfile::Queue>>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Tracked {
    type Response = hyper::Response<InFlightBody>;
    type Error = Infallible;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.begin(req.version() == hyper::Version::HTTP_2);
        // HTTP/2 over a plain-text connection gets the stream: only hyper's HTTP/1.1
        // writes stand-ins as `sendfile.rs` needs.
        let sendfile = self.sendfile.clone().filter(|_| {
            matches!(
                req.version(),
                hyper::Version::HTTP_10 | hyper::Version::HTTP_11
            )
        });
        // A combinator, not an `async` block: a future moved into a block and awaited
        // there is laid out twice in the block's state (this one is boxed per request).
        let answer = self.app.answer(req, self.peer);
        Box::pin(futures_util::FutureExt::map(answer, move |mut resp| {
            let span = resp.extensions_mut().remove::<crate::storage::FileSpan>();
            if let (Some(span), Some(queue)) = (span, sendfile) {
                resp = resp.map(|_| sendfile::body(span, queue));
            }
            Ok(resp.map(|body| InFlightBody {
                body,
                _in_flight: in_flight,
            }))
        }))
    }
}

/// A response body that keeps its request in flight.
struct InFlightBody {
    body: axum::body::Body,
    _in_flight: InFlight,
}

impl Body for InFlightBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A connection's byte stream, telling its [`Activity`] of reads and writes.
struct Watched<I> {
    /// Given back when the stream is shut down, or dropped (declared first: before the
    /// stream closes), so that a client that saw the close finds its place free.
    slot: Option<Slot>,
    io: I,
    activity: Arc<Activity>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        r
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.slot = None;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ServerLimits {
        ServerLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(30),
            max_connections: 3,
            max_connections_per_address: 2,
        }
    }

    fn open() -> Arc<Open> {
        Arc::new(Open {
            limits: limits(),
            per_address: Mutex::new(HashMap::new()),
            total: watch::Sender::new(0),
        })
    }

    #[test]
    fn the_caps_count_open_connections_in_all_and_per_address() {
        let open = open();
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let first = open.admit(a).ok().unwrap();
        let _second = open.admit(mapped).ok().unwrap();
        assert!(matches!(open.admit(a), Err(Refused::Address(ip)) if ip == a));
        let _third = open.admit(b).ok().unwrap();
        assert_eq!(*open.total.borrow(), 3);
        assert!(matches!(open.admit(b), Err(Refused::Total)));
        drop(first);
        assert_eq!(*open.total.borrow(), 2);
        let _again = open.admit(a).ok().unwrap();
        drop(_again);
        drop(_second);
        drop(_third);
        assert_eq!(*open.total.borrow(), 0);
        assert!(open.per_address.lock().unwrap().is_empty());
    }

    #[test]
    fn a_warning_at_most_every_ten_seconds_counting_the_rest() {
        let mut t = Throttle::default();
        assert_eq!(t.hit(), Some(0));
        assert_eq!(t.hit(), None);
        assert_eq!(t.hit(), None);
        t.last = Some(Instant::now() - WARN_EVERY);
        assert_eq!(t.hit(), Some(2));
        assert_eq!(t.hit(), None);
    }

    #[test]
    fn the_deadline_follows_the_requests() {
        let l = limits();
        let a = Arc::new(Activity::new());
        let at = |ms: u64, d: Duration| a.start + Duration::from_millis(ms) + d;
        // A new connection: its first request's header within the header timeout, bytes
        // or not.
        assert_eq!(a.deadline(&l), (at(0, l.header_timeout), Expired::Header));
        a.first_byte.store(5, Ordering::SeqCst);
        assert_eq!(a.deadline(&l), (at(0, l.header_timeout), Expired::Header));
        // In flight: nothing due, however long; a look again an idle timeout from now.
        let req = a.begin(false);
        assert_eq!(a.first_byte.load(Ordering::SeqCst), NONE);
        a.read();
        assert_eq!(a.first_byte.load(Ordering::SeqCst), NONE);
        let before = Instant::now();
        let (look, why) = a.deadline(&l);
        assert_eq!(why, Expired::Idle);
        assert!(look >= before + l.idle_timeout && look <= Instant::now() + l.idle_timeout);
        // Done: idle since then, or since the last write; looked at again a header
        // timeout from now at the latest (a new request's first byte wakes nothing).
        a.idle_since.store(0, Ordering::SeqCst);
        drop(req);
        let idle = a.idle_since.load(Ordering::SeqCst);
        a.last_write.store(idle, Ordering::SeqCst);
        let before = Instant::now();
        let (look, why) = a.deadline(&l);
        assert_eq!(why, Expired::Idle);
        assert!(look >= before + l.header_timeout && look <= Instant::now() + l.header_timeout);
        // With an idle timeout shorter than the header timeout, the idle deadline itself.
        let short = ServerLimits {
            idle_timeout: Duration::from_secs(2),
            ..limits()
        };
        assert_eq!(
            a.deadline(&short),
            (at(idle, short.idle_timeout), Expired::Idle)
        );
        a.last_write.store(idle + 7, Ordering::SeqCst);
        assert_eq!(
            a.deadline(&short),
            (at(idle + 7, short.idle_timeout), Expired::Idle)
        );
        // Past due: the idle deadline, whatever the look again.
        a.last_write.store(idle, Ordering::SeqCst);
        let past = ServerLimits {
            idle_timeout: Duration::ZERO,
            ..limits()
        };
        assert_eq!(a.deadline(&past), (at(idle, Duration::ZERO), Expired::Idle));
        a.last_write.store(idle + 7, Ordering::SeqCst);
        // A new request's first byte: its header within the header timeout from it.
        a.first_byte.store(idle + 9, Ordering::SeqCst);
        assert_eq!(
            a.deadline(&l),
            (at(idle + 9, l.header_timeout), Expired::Header)
        );
        // HTTP/2: bytes between requests are control frames; idle still.
        let req = a.begin(true);
        drop(req);
        let idle = a.idle_since.load(Ordering::SeqCst).max(idle + 7);
        a.first_byte.store(idle + 1, Ordering::SeqCst);
        assert_eq!(
            a.deadline(&short),
            (at(idle, short.idle_timeout), Expired::Idle)
        );
    }
}
