//! Stored zips sent straight from their files (`sendfile`) on plain-text HTTP/1.1
//! connections: the bytes go from the page cache to the socket without a copy through
//! this process, as nginx sends them.
//!
//! hyper has no way to hand a socket a file: it writes whatever bytes a body yields. So
//! when a response carries a [`FileSpan`] (`http/zip.rs`) and its connection can take it,
//! the body yields *stand-ins*: slices of one static buffer that is never written or
//! read, and queues on the connection the file range each one stands for. The
//! connection's stream ([`Spliced`]) knows a stand-in by its address when hyper writes
//! it, and sends the queued range with `sendfile` in its place.
//!
//! This relies on hyper's HTTP/1.1 "queue" write strategy, set explicitly on every
//! connection (`writev(true)` in `listen.rs`; never `pipeline_flush`, which copies): a
//! body's chunks are written in the order yielded, as they are, by vectored writes. A
//! stand-in written any other way, or with nothing queued for it, is an error that
//! closes the connection, so a client never gets a stand-in's bytes. HTTP/2 and TLS
//! connections get the ordinary stream (`file_range.rs`).
//!
//! A chunk is sent from the runtime's thread only when all of it is in the page cache
//! (`cachestat`, remembered for a moment: `storage/page_cache.rs`), so `sendfile` does
//! not wait for the disk there; a chunk that is not is read on the blocking pool and
//! written as bytes (which also brings the next ones into the cache). Kernels without
//! `cachestat` (before Linux 6.5) get the ordinary stream.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::storage::FileSpan;
use crate::storage::file_range::{CHUNK, ended_early, joined, owed, read_at};
use crate::storage::page_cache::{FileId, in_page_cache_lately, page_cache_known};

/// The most one stand-in stands for: one `sendfile` call's worth.
const STAND_IN_LEN: usize = 1 << 20;

/// The stand-ins' memory: never written nor read (zero pages the process never touches).
static STAND_IN: [u8; STAND_IN_LEN] = [0; STAND_IN_LEN];

/// Whether `buf` is (part of) a stand-in.
fn is_stand_in(buf: &[u8]) -> bool {
    let base = STAND_IN.as_ptr() as usize;
    let at = buf.as_ptr() as usize;
    !buf.is_empty() && at >= base && at < base + STAND_IN_LEN
}

/// Whether this kernel lets stored zips be sent from their files (see the module's
/// comment).
pub(super) fn available() -> bool {
    page_cache_known()
}

/// The file ranges a connection's stand-ins stand for, in the order they were yielded.
#[derive(Default)]
pub(super) struct Queue(Mutex<VecDeque<Range>>);

/// A range of a file still to send, for one stand-in of `len` bytes.
struct Range {
    file: Arc<File>,
    at: u64,
    len: usize,
    left: usize,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Range>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `span` as a body of stand-ins queued on `queue` (a connection's).
pub(super) fn body(span: FileSpan, queue: Arc<Queue>) -> axum::body::Body {
    axum::body::Body::new(SpanBody::new(span, queue, in_page_cache_lately))
}

/// Whether a range of a file (known as the id) is in the page cache (`None`: cannot
/// tell).
type Cached = fn(&File, Option<FileId>, u64, u64) -> Option<bool>;

struct SpanBody {
    /// Holds the file (and what keeps it) until the body is done.
    span: FileSpan,
    /// The next byte's offset.
    at: u64,
    /// Bytes still to yield.
    left: u64,
    queue: Arc<Queue>,
    /// A chunk not in the page cache, being read on the blocking pool.
    reading: Option<JoinHandle<io::Result<Bytes>>>,
    cached: Cached,
    /// The file's identity, for what is remembered of it in the page cache.
    id: Option<FileId>,
}

impl SpanBody {
    fn new(span: FileSpan, queue: Arc<Queue>, cached: Cached) -> SpanBody {
        SpanBody {
            id: FileId::of(&span.file),
            at: span.start,
            left: span.len,
            span,
            queue,
            reading: None,
            cached,
        }
    }

    fn took(&mut self, n: usize) {
        self.at += n as u64;
        self.left -= n as u64;
    }
}

impl Body for SpanBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if let Some(task) = &mut this.reading {
            let done = ready!(Pin::new(task).poll(cx));
            this.reading = None;
            let chunk = owed(joined(done), this.at, this.left);
            if let Ok(c) = &chunk {
                this.took(c.len());
            }
            return Poll::Ready(Some(chunk.map(Frame::data)));
        }
        if this.left == 0 {
            return Poll::Ready(None);
        }
        let n = STAND_IN_LEN.min(this.left as usize);
        if (this.cached)(&this.span.file, this.id, this.at, n as u64) == Some(false) {
            let (file, at) = (Arc::clone(&this.span.file), this.at);
            let n = CHUNK.min(n);
            this.reading = Some(tokio::task::spawn_blocking(move || read_at(&file, at, n)));
            // Polled again at once, so that the task's waker is this one.
            return Pin::new(this).poll_frame(cx);
        }
        this.queue.lock().push_back(Range {
            file: Arc::clone(&this.span.file),
            at: this.at,
            len: n,
            left: n,
        });
        this.took(n);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&STAND_IN[..n])))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0 && self.reading.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

/// A plain-text connection that sends the stand-ins' file ranges in their place.
pub(super) struct Spliced {
    tcp: TcpStream,
    queue: Arc<Queue>,
}

impl Spliced {
    pub(super) fn new(tcp: TcpStream, queue: Arc<Queue>) -> Spliced {
        Spliced { tcp, queue }
    }

    /// Sends the front range of the queue in place of `stand_in` (the rest of the
    /// stand-in it was queued for, or the connection is closed).
    fn poll_send_file(&self, cx: &mut Context<'_>, stand_in: &[u8]) -> Poll<io::Result<usize>> {
        let mut queue = self.queue.lock();
        let Some(range) = queue.front_mut() else {
            return Poll::Ready(Err(io::Error::other(
                "internal error: a stand-in chunk with no file range queued for it (the connection is closed)",
            )));
        };
        let offset = stand_in.as_ptr() as usize - STAND_IN.as_ptr() as usize;
        if offset != range.len - range.left || stand_in.len() != range.left {
            return Poll::Ready(Err(io::Error::other(format!(
                "internal error: a stand-in chunk of {} bytes at {offset} where the rest of one of {} bytes was queued, {} of them left (the connection is closed)",
                stand_in.len(),
                range.len,
                range.left
            ))));
        }
        let (len, at) = (range.left, range.at);
        let sent = ready!(poll_write_io(&self.tcp, cx, || {
            send_file(&self.tcp, &range.file, at, len)
        }))?;
        if sent == 0 {
            return Poll::Ready(Err(ended_early(range.left as u64, at)));
        }
        range.at += sent as u64;
        range.left -= sent;
        if range.left == 0 {
            queue.pop_front();
        }
        Poll::Ready(Ok(sent))
    }
}

/// `io` on `tcp` once it is writable, waiting again when the socket's buffer is full.
fn poll_write_io<T>(
    tcp: &TcpStream,
    cx: &mut Context<'_>,
    mut io: impl FnMut() -> io::Result<T>,
) -> Poll<io::Result<T>> {
    loop {
        ready!(tcp.poll_write_ready(cx))?;
        match tcp.try_io(Interest::WRITABLE, &mut io) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            r => return Poll::Ready(r),
        }
    }
}

/// Sends `len` bytes of `file` from `at` on `tcp` (`sendfile`); how many went.
#[cfg(target_os = "linux")]
fn send_file(tcp: &TcpStream, file: &File, at: u64, len: usize) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let mut offset =
        libc::off_t::try_from(at).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: both descriptors are open for the call (the caller holds the file); the
    // kernel writes only `offset`.
    let n = unsafe { libc::sendfile(tcp.as_raw_fd(), file.as_raw_fd(), &mut offset, len) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// Other systems never send files in place of stand-ins: [`available`] is false there
/// (no `cachestat` to tell that a send would not wait for the disk).
#[cfg(not(target_os = "linux"))]
fn send_file(_: &TcpStream, _: &File, _: u64, _: usize) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Writes `bufs` with `MSG_MORE` (more follows at once: the kernel waits for it to fill
/// a packet, so a response's header and its first bytes go out together).
#[cfg(not(target_os = "linux"))]
fn send_more(_: &TcpStream, _: &[IoSlice<'_>]) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Writes `bufs` with `MSG_MORE` (more follows at once: the kernel waits for it to fill
/// a packet, so a response's header and its first bytes go out together).
#[cfg(target_os = "linux")]
fn send_more(tcp: &TcpStream, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    // SAFETY: a zeroed msghdr is valid (no name, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // `IoSlice` is ABI-compatible with `iovec` on unix; the kernel only reads them.
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len() as _;
    // SAFETY: `msg` points to `bufs`, alive for the call.
    let n = unsafe { libc::sendmsg(tcp.as_raw_fd(), &msg, libc::MSG_MORE | libc::MSG_NOSIGNAL) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

impl AsyncRead for Spliced {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Spliced {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if is_stand_in(buf) {
            return Poll::Ready(Err(io::Error::other(
                "internal error: a stand-in chunk written as bytes (the connection is closed)",
            )));
        }
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let Some(i) = bufs.iter().position(|b| is_stand_in(b)) else {
            return Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        };
        if i == 0 {
            return self.poll_send_file(cx, &bufs[0]);
        }
        let before = &bufs[..i];
        let want: usize = before.iter().map(|b| b.len()).sum();
        let n = ready!(poll_write_io(&self.tcp, cx, || send_more(
            &self.tcp, before
        )))?;
        if n < want {
            return Poll::Ready(Ok(n));
        }
        // What was written is told now; a wait or an error of the file's is met again
        // when hyper writes the rest.
        match self.poll_send_file(cx, &bufs[i]) {
            Poll::Ready(Ok(sent)) => Poll::Ready(Ok(n + sent)),
            _ => Poll::Ready(Ok(n)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::file_range::FileSpan;
    use hyper_util::rt::TokioIo;
    use tokio::io::AsyncWriteExt;

    /// Bytes that are never a stand-in's zeros.
    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8 | 1).collect()
    }

    fn file_of(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.zip");
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    /// Serves HTTP/1.1 connections on loopback as `listen.rs` does (the queue write
    /// strategy), each request answered with the range `(start, len)` of `path` that its
    /// `x-range` header names, as a body of stand-ins whose page cache residency is
    /// `cached`'s answer.
    async fn server(path: std::path::PathBuf, cached: Cached) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let queue = Arc::new(Queue::default());
                let io = TokioIo::new(Spliced::new(tcp, Arc::clone(&queue)));
                let path = path.clone();
                let service = hyper::service::service_fn(move |req: hyper::Request<_>| {
                    let (start, len) = req.headers()["x-range"]
                        .to_str()
                        .unwrap()
                        .split_once(' ')
                        .map(|(a, b)| (a.parse().unwrap(), b.parse().unwrap()))
                        .unwrap();
                    let span = FileSpan::new(File::open(&path).unwrap(), start, len, ());
                    let body = SpanBody::new(span, Arc::clone(&queue), cached);
                    let resp = hyper::Response::builder()
                        .header("content-length", len)
                        .body(body)
                        .unwrap();
                    async move { Ok::<_, Infallible>(resp) }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .writev(true)
                        .max_buf_size(64 * 1024)
                        .serve_connection(io, service),
                );
            }
        });
        addr
    }

    use std::convert::Infallible;

    async fn get(
        client: &reqwest::Client,
        addr: std::net::SocketAddr,
        start: usize,
        len: usize,
    ) -> reqwest::Result<Vec<u8>> {
        let r = client
            .get(format!("http://{addr}/"))
            .header("x-range", format!("{start} {len}"))
            .send()
            .await?;
        Ok(r.bytes().await?.to_vec())
    }

    fn always(_: &File, _: Option<FileId>, _: u64, _: u64) -> Option<bool> {
        Some(true)
    }

    /// Every other chunk "not in the page cache" (read and written as bytes).
    fn every_other(_: &File, _: Option<FileId>, at: u64, _: u64) -> Option<bool> {
        Some((at / CHUNK as u64).is_multiple_of(2))
    }

    #[tokio::test]
    async fn a_span_is_sent_from_the_file_byte_for_byte_over_one_connection() {
        let data = pattern(3 * STAND_IN_LEN + 12345);
        let (_d, path) = file_of(&data);
        for cached in [always as Cached, every_other, |_: &File, _, _, _| None] {
            let addr = server(path.clone(), cached).await;
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            for (start, len) in [
                (0, data.len()),
                (1, 1),
                (12345, 2 * STAND_IN_LEN + 7),
                (STAND_IN_LEN - 3, STAND_IN_LEN + 6),
                (data.len() - 1, 1),
                (0, data.len()),
            ] {
                let got = get(&client, addr, start, len).await.unwrap();
                assert!(got == data[start..start + len], "{start}+{len}");
            }
        }
    }

    #[tokio::test]
    async fn a_file_shorter_than_its_span_ends_the_connection_not_with_zeros() {
        let data = pattern(100_000);
        let (_d, path) = file_of(&data);
        let addr = server(path.clone(), always).await;
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nx-range: 99000 2000\r\n\r\n")
            .await
            .unwrap();
        let mut got = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut tcp, &mut got)
            .await
            .unwrap();
        let body_at = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n"));
        // The file's last 1000 bytes, then the connection closed: 1000 short.
        assert!(got[body_at..] == data[99000..], "{}", got.len() - body_at);
    }

    #[tokio::test]
    async fn a_stand_in_written_any_other_way_is_an_error_never_its_bytes() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (tcp, _) = listener.accept().await.unwrap();
        let queue = Arc::new(Queue::default());
        let mut io = Spliced::new(tcp, Arc::clone(&queue));
        let err = io.write(&STAND_IN[..10]).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "internal error: a stand-in chunk written as bytes (the connection is closed)"
        );
        let err = io
            .write_vectored(&[IoSlice::new(&STAND_IN[..10])])
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "internal error: a stand-in chunk with no file range queued for it (the connection is closed)"
        );
        let (_d, path) = file_of(&pattern(100));
        queue.lock().push_back(Range {
            file: Arc::new(File::open(&path).unwrap()),
            at: 0,
            len: 20,
            left: 20,
        });
        let err = io
            .write_vectored(&[IoSlice::new(b"head"), IoSlice::new(&STAND_IN[..10])])
            .await;
        // The head is written; the stand-in of the wrong length is refused next.
        assert_eq!(err.unwrap(), 4);
        let err = io
            .write_vectored(&[IoSlice::new(&STAND_IN[..10])])
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "internal error: a stand-in chunk of 10 bytes at 0 where the rest of one of 20 bytes was queued, 20 of them left (the connection is closed)"
        );
        assert_eq!(
            io.write_vectored(&[IoSlice::new(&STAND_IN[..20])])
                .await
                .unwrap(),
            20
        );
        assert!(queue.lock().is_empty());
    }
}
