//! `modgate serve`'s connections (http/listen.rs): half-sent headers and idle connections
//! closed, the caps on connections in all and per address, HTTPS for the real go command,
//! and a draining shutdown. Every wait is bounded; no test asserts how long anything took.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::serve_common::*;

const T1: &str = "2024-01-02T03:04:05Z";

/// `text` as the settings file `modgate.toml` in `dir`.
fn settings(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("modgate.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// Raises this process's soft open file limit to at least `want` (up to the hard limit).
fn raise_nofile(want: u64) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let l = getrlimit(Resource::Nofile);
    if l.current.is_some_and(|c| c < want) {
        let current = l.maximum.map_or(want, |m| m.min(want));
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(current),
                maximum: l.maximum,
            },
        )
        .unwrap();
    }
}

/// The number of open file descriptors of process `pid`.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// A TCP connection to `addr`, from the local address `from` when given (loopback answers
/// all of 127/8 on Linux) and with a receive buffer of `rcvbuf` bytes when given (no
/// autotuning: the server cannot write far ahead of what is read).
fn connect(addr: &str, from: Option<IpAddr>, rcvbuf: Option<u32>) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let addr: SocketAddr = addr.parse().unwrap();
    rt.block_on(async {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        if let Some(ip) = from {
            sock.bind(SocketAddr::new(ip, 0)).unwrap();
        }
        if let Some(n) = rcvbuf {
            sock.set_recv_buffer_size(n).unwrap();
        }
        let s = sock.connect(addr).await.unwrap().into_std().unwrap();
        s.set_nonblocking(false).unwrap();
        s
    })
}

/// Waits, at most `bound`, for the server to close `s` without sending a byte more.
fn server_closes(s: &mut TcpStream, bound: Duration) -> Result<(), String> {
    s.set_read_timeout(Some(bound.max(Duration::from_millis(1))))
        .unwrap();
    let mut buf = [0u8; 4096];
    match s.read(&mut buf) {
        Ok(0) => Ok(()),
        Ok(n) => Err(format!(
            "the server sent {n} bytes: {:?}",
            String::from_utf8_lossy(&buf[..n])
        )),
        Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => Ok(()),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Err(format!("still open after {bound:?}"))
        }
        Err(e) => Err(format!("read: {e}")),
    }
}

/// `modgate serve` over `tree` with the settings `text`, its data in `<dir>/data`.
fn serve_with(dir: &Path, tree: &Tree, text: &str) -> Server {
    let conf = settings(dir, text);
    let data = dir.join("data");
    Server::start(&[
        "--config",
        conf.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--upstream",
        &tree.url(),
    ])
}

/// One HTTP/1.1 keep-alive connection: requests one after another, answers read by their
/// Content-Length.
struct Conn {
    s: TcpStream,
    addr: String,
    /// Read and not yet consumed.
    buf: Vec<u8>,
}

impl Conn {
    fn new(addr: &str, s: TcpStream) -> Conn {
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        Conn {
            s,
            addr: addr.to_string(),
            buf: Vec::new(),
        }
    }

    fn open(addr: &str) -> Conn {
        Conn::new(addr, TcpStream::connect(addr).unwrap())
    }

    fn send(&mut self, path: &str) {
        let req = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.addr);
        self.s.write_all(req.as_bytes()).unwrap();
    }

    /// The status line and headers of the next answer.
    fn head(&mut self) -> Raw {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.buf.drain(..end + 4);
                let mut lines = head.split("\r\n");
                let status = lines
                    .next()
                    .and_then(|l| l.split(' ').nth(1))
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| panic!("bad status line in {head:?}"));
                let headers = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                return Raw {
                    status,
                    headers,
                    body: Vec::new(),
                };
            }
            self.fill(64 << 10);
        }
    }

    /// Reads at most `max` more bytes into the buffer; panics at the end of the stream.
    fn fill(&mut self, max: usize) {
        let mut chunk = vec![0u8; max];
        let n = self.s.read(&mut chunk).unwrap();
        assert!(n > 0, "the server closed the connection mid-answer");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    /// The next `n` bytes of the body, read `chunk` at a time with `pause` after each.
    fn body(&mut self, n: usize, chunk: usize, pause: Duration) -> Vec<u8> {
        while self.buf.len() < n {
            self.fill(chunk.min(n - self.buf.len()));
            if !pause.is_zero() {
                std::thread::sleep(pause);
            }
        }
        self.buf.drain(..n).collect()
    }

    fn length(r: &Raw) -> usize {
        r.header("content-length")
            .unwrap_or_else(|| panic!("no Content-Length: {:?}", r.headers))
            .parse()
            .unwrap()
    }

    /// GET `path`, the whole answer.
    fn get(&mut self, path: &str) -> Raw {
        self.send(path);
        let mut r = self.head();
        let n = Conn::length(&r);
        r.body = self.body(n, 64 << 10, Duration::ZERO);
        r
    }
}

/// `n` bytes of text that deflate cannot shrink much (64 letters, 6 bits each), from a
/// fixed seed.
fn noise(n: usize, seed: u64) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut y = x;
        for _ in 0..8 {
            v.push(A[(y & 63) as usize]);
            y >>= 6;
        }
    }
    v.truncate(n);
    String::from_utf8(v).unwrap()
}

/// An upstream tree with the small module `example.com/a@v1.0.0`.
fn small(tmp: &Path) -> (Tree, Sums) {
    let tree = Tree::new(tmp.join("upstream"));
    let a = tree.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    (tree, a)
}

/// 2,000 connections that each send half a request header, against a cap of 1,000: those
/// over the cap are accepted and closed, one warning says so, the others are closed at the
/// header timeout without an answer, and all the while a connection opened before is
/// served (metadata and a zip fetched cold from the upstream). Then the descriptors are
/// back and a new connection is served.
#[test]
fn half_sent_headers_do_not_hold_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let (tree, a) = small(tmp.path());
    let server = serve_with(
        tmp.path(),
        &tree,
        "[server]\nheader_timeout = 5\nmax_connections = 1000\nmax_connections_per_address = 5000\n",
    );
    raise_nofile(2000 + 512);
    let pid = server.child.id();
    let mut before = Conn::open(&server.addr);
    let r = before.get("/healthz");
    assert_eq!((r.status, r.text().as_str()), (200, "ok\n"));
    let fds = open_fds(pid);

    let start = Instant::now();
    let mut flood: Vec<TcpStream> = (0..2000)
        .map(|_| {
            let mut s = TcpStream::connect(&server.addr).unwrap();
            // Refused ones may be closed (reset) already.
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHo");
            s
        })
        .collect();

    // The connection opened before is served all along.
    let r = before.get("/healthz");
    assert_eq!((r.status, r.text().as_str()), (200, "ok\n"));
    let r = before.get("/example.com/a/@v/v1.0.0.zip");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/zip"));
    assert!(
        r.body == a.zip,
        "zip: {} bytes, want {}",
        r.body.len(),
        a.zip.len()
    );

    // Every flood connection is closed by the server without an answer: at once over the
    // cap, at the header timeout (5 s) otherwise.
    let bound = Instant::now() + Duration::from_secs(60);
    for (i, s) in flood.iter_mut().enumerate() {
        if let Err(e) = server_closes(s, bound.saturating_duration_since(Instant::now())) {
            panic!("flood connection {i}: {e}\n{}", server.log_text());
        }
    }
    let elapsed = start.elapsed();
    drop(flood);

    // Their descriptors are closed (the connection opened before is still open).
    let bound = Instant::now() + Duration::from_secs(10);
    let mut now_open = open_fds(pid);
    while now_open > fds + 8 && Instant::now() < bound {
        std::thread::sleep(Duration::from_millis(50));
        now_open = open_fds(pid);
    }
    assert!(
        now_open <= fds + 8,
        "{now_open} descriptors open, {fds} before the flood"
    );
    let r = raw_get(&server.addr, "GET", "/healthz").unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "ok\n"));
    let r = before.get("/healthz");
    assert_eq!(r.status, 200);

    // One warning per 10 s at most, however many were refused.
    let line = "connection limit reached: 1000 open; refusing new connections (raise [server] max_connections)";
    let log = server.log_with(line);
    let n = log.matches(line).count() as u64;
    let most = 1 + elapsed.as_secs() / 10;
    assert!(
        (1..=most).contains(&n),
        "{n} limit lines (want 1 to {most} in {elapsed:?}):\n{log}"
    );
    assert!(!log.contains("connection limit per address"), "{log}");
}

/// With `idle_timeout = 1`: a connection idle after a request is closed, as is one that
/// never sends a byte (`header_timeout = 2`); a download that pauses longer than both,
/// with the server's writes blocked on the full socket, is in flight and completes.
#[test]
fn idle_connections_are_closed_and_downloads_in_flight_are_not() {
    let tmp = tempfile::tempdir().unwrap();
    let (tree, _) = small(tmp.path());
    // About 8 MB of zip: more than the socket buffers hold.
    let big = tree.add(
        "example.com/medium",
        "v1.0.0",
        T1,
        &[("data.txt", &noise(11 << 20, 1))],
    );
    assert!(big.zip.len() > 7 << 20, "{}", big.zip.len());
    let server = serve_with(
        tmp.path(),
        &tree,
        "[server]\nheader_timeout = 2\nidle_timeout = 1\n",
    );
    let bound = Duration::from_secs(30);

    let mut c = Conn::open(&server.addr);
    let r = c.get("/healthz");
    assert_eq!((r.status, r.text().as_str()), (200, "ok\n"));
    server_closes(&mut c.s, bound).unwrap();

    let mut silent = TcpStream::connect(&server.addr).unwrap();
    server_closes(&mut silent, bound).unwrap();

    // Fetched and stored first, so that the download below is all streaming.
    let r = Conn::open(&server.addr).get("/example.com/medium/@v/v1.0.0.zip");
    assert_eq!(r.status, 200);
    assert!(r.body == big.zip);
    let mut d = Conn::new(&server.addr, connect(&server.addr, None, Some(128 << 10)));
    d.send("/example.com/medium/@v/v1.0.0.zip");
    let head = d.head();
    assert_eq!(head.status, 200);
    let n = Conn::length(&head);
    assert_eq!(n, big.zip.len());
    let mut body = d.body(1 << 20, 64 << 10, Duration::ZERO);
    // Longer than the idle and header timeouts, with the server blocked on writing.
    std::thread::sleep(Duration::from_millis(2500));
    body.extend(d.body(n - body.len(), 256 << 10, Duration::ZERO));
    assert!(
        body == big.zip,
        "{} bytes, want {}",
        body.len(),
        big.zip.len()
    );
    // Idle again once the answer is whole.
    server_closes(&mut d.s, bound).unwrap();
}

/// A kept-alive connection that begins a request's header after an answer and never
/// finishes it is closed at the header timeout, long before the idle timeout: right after
/// the answer, and after being idle for longer than the header timeout. (The connection's
/// watchdog is not woken by the first byte: it looks at least once per header timeout
/// while the connection is idle, which finds the header's deadline in time.)
#[test]
fn a_header_begun_on_a_kept_alive_connection_is_due_at_the_header_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let (tree, _) = small(tmp.path());
    let server = serve_with(
        tmp.path(),
        &tree,
        "[server]\nheader_timeout = 1\nidle_timeout = 300\n",
    );
    for idle_first in [Duration::ZERO, Duration::from_millis(2500)] {
        let mut c = Conn::open(&server.addr);
        let r = c.get("/healthz");
        assert_eq!((r.status, r.text().as_str()), (200, "ok\n"));
        std::thread::sleep(idle_first);
        c.s.write_all(b"GET /healthz HTTP/1.1\r\nHo").unwrap();
        let begun = Instant::now();
        // Well under the idle timeout (300 s): the header timeout (1 s), and at most one
        // more for the watchdog's next look.
        if let Err(e) = server_closes(&mut c.s, Duration::from_secs(30)) {
            panic!("after {idle_first:?} idle: {e}\n{}", server.log_text());
        }
        let took = begun.elapsed();
        assert!(
            took >= Duration::from_millis(900),
            "after {idle_first:?} idle: closed {took:?} after the header began"
        );
    }
}

/// With `max_connections_per_address = 5`, five connections from 127.0.0.1 are served, the
/// sixth is closed at once without an answer, while 127.0.0.2 is still served; the warning
/// names the address; once one of the five closes, 127.0.0.1 is served again.
#[test]
fn the_cap_per_address() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = settings(tmp.path(), "[server]\nmax_connections_per_address = 5\n");
    let data = tmp.path().join("data");
    let server = Server::start(&[
        "--config",
        conf.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--upstream",
        "off",
    ]);
    let one: IpAddr = "127.0.0.1".parse().unwrap();
    let two: IpAddr = "127.0.0.2".parse().unwrap();
    let mut five: Vec<Conn> = (0..5)
        .map(|_| {
            let mut c = Conn::new(&server.addr, connect(&server.addr, Some(one), None));
            assert_eq!(c.get("/healthz").status, 200);
            c
        })
        .collect();

    let mut sixth = connect(&server.addr, Some(one), None);
    let _ = sixth
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr).as_bytes());
    server_closes(&mut sixth, Duration::from_secs(30)).unwrap();

    let mut other = Conn::new(&server.addr, connect(&server.addr, Some(two), None));
    let r = other.get("/healthz");
    assert_eq!((r.status, r.text().as_str()), (200, "ok\n"));
    for c in &mut five {
        assert_eq!(c.get("/healthz").status, 200);
    }
    // Counted by cap; the six served connections are open, the refused one is not (the
    // start's health checks are closed by then: asked again until they are, bounded).
    let mut metrics = String::new();
    for _ in 0..50 {
        metrics = other.get("/metrics").text();
        if metrics.lines().any(|l| l == "modgate_connections_open 6") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for want in [
        "modgate_connections_refused_total{cap=\"max_connections_per_address\"} 1",
        "modgate_connections_refused_total{cap=\"max_connections\"} 0",
        "modgate_connections_open 6",
    ] {
        assert!(
            metrics.lines().any(|l| l == want),
            "{want} not in:\n{metrics}"
        );
    }

    let line = "connection limit per address reached: 127.0.0.1 has 5 open; refusing its new connections (raise [server] max_connections_per_address)";
    let log = server.log_with(line);
    assert_eq!(log.matches(line).count(), 1, "{log}");
    assert!(!log.contains("connection limit reached"), "{log}");

    // One of the five closes; its place is free once the server has closed its side.
    let mut gone = five.pop().unwrap();
    gone.s.shutdown(std::net::Shutdown::Write).unwrap();
    server_closes(&mut gone.s, Duration::from_secs(30)).unwrap();
    let mut again = Conn::new(&server.addr, connect(&server.addr, Some(one), None));
    let r = again.get("/healthz");
    assert_eq!((r.status, r.text().as_str()), (200, "ok\n"));
}

/// A TLS handshake with `addr` trusting `ca_der`, offering `alpn`; then, if `request`,
/// `GET /healthz` over HTTP/1.1. The protocol the server chose and what it answered.
fn tls_client(
    addr: &str,
    ca_der: &[u8],
    alpn: &[&[u8]],
    request: bool,
) -> (Option<Vec<u8>>, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(ca_der.to_vec()))
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(30), async {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
            let mut tls = connector.connect(name, tcp).await.unwrap();
            let chosen = tls.get_ref().1.alpn_protocol().map(|p| p.to_vec());
            let mut answer = Vec::new();
            if request {
                tls.write_all(
                    format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                        .as_bytes(),
                )
                .await
                .unwrap();
                tls.read_to_end(&mut answer).await.unwrap();
            }
            (chosen, answer)
        })
        .await
        .expect("the TLS exchange took over 30 s")
    })
}

/// HTTPS with --tls-cert/--tls-key: the go command downloads a module through it (the CA
/// in SSL_CERT_FILE) with the right hashes; ALPN offers h2 and http/1.1; a plain HTTP
/// request and a silent connection are closed without holding the server.
#[test]
fn https_for_the_go_command() {
    let tmp = tempfile::tempdir().unwrap();
    let (tree, a) = small(tmp.path());
    let pki = pki(tmp.path());
    let conf = settings(tmp.path(), "[server]\nheader_timeout = 2\n");
    let data = tmp.path().join("data");
    let server = Server::start_https(
        &[
            "--config",
            conf.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--upstream",
            &tree.url(),
        ],
        &pki,
    );

    // Plain HTTP to the TLS port: no HTTP answer, and the connection ends.
    let mut plain = TcpStream::connect(&server.addr).unwrap();
    plain
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr).as_bytes())
        .unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut got = Vec::new();
    match plain.read_to_end(&mut got) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("plain HTTP to the TLS port: {e} (after {got:?})"),
    }
    assert!(
        !got.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    // A connection that never starts its handshake is closed at the header timeout.
    let mut silent = TcpStream::connect(&server.addr).unwrap();
    server_closes(&mut silent, Duration::from_secs(30)).unwrap();

    assert_eq!(
        tls_client(&server.addr, &pki.ca_der, &[b"h2", b"http/1.1"], false).0,
        Some(b"h2".to_vec())
    );
    let (chosen, answer) = tls_client(&server.addr, &pki.ca_der, &[b"http/1.1"], true);
    assert_eq!(chosen, Some(b"http/1.1".to_vec()));
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nok\n"), "{answer}");

    let go = GoEnv::with_env(&[("SSL_CERT_FILE", pki.ca_pem.to_str().unwrap())]);
    let proxy = format!("https://{}", server.addr);
    let got: Vec<_> = go
        .download(&proxy, &["example.com/a@v1.0.0"])
        .iter()
        .map(summary)
        .collect();
    assert_eq!(
        got,
        vec![(
            "example.com/a".to_string(),
            "v1.0.0".to_string(),
            a.zip_h1.clone(),
            a.mod_h1.clone()
        )]
    );
    let log = server.log_with("path=/example.com/a/@v/v1.0.0.zip status=200");
    assert!(
        log.contains("path=/example.com/a/@v/v1.0.0.zip status=200"),
        "{log}"
    );
}

/// `modgate serve` with `args`: its exit status and what it wrote (it must stop at once).
fn serve_fails(args: &[&str]) -> (Option<i32>, String) {
    let out = run_bounded(
        std::process::Command::new(env!("CARGO_BIN_EXE_modgate"))
            .arg("serve")
            .args(args)
            .env_remove("MODGATE_TLS_CERT")
            .env_remove("MODGATE_TLS_KEY")
            .env_remove("MODGATE_CONFIG")
            .env("RUST_LOG", "info"),
        Duration::from_secs(60),
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A certificate without its key, or a file that is not one, stops the start naming the
/// flags or the file and what is wrong.
#[test]
fn tls_files_are_checked_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = pki(tmp.path());
    let data = tmp.path().join("data");
    let listen = format!("127.0.0.1:{}", free_port());
    let (code, stderr) = serve_fails(&[
        "--listen",
        &listen,
        "--data-dir",
        data.to_str().unwrap(),
        "--tls-cert",
        pki.cert.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2));
    assert_eq!(
        stderr,
        "modgate serve: --tls-cert without --tls-key: serving HTTPS needs both --tls-cert FILE and --tls-key FILE (or MODGATE_TLS_CERT and MODGATE_TLS_KEY, or tls_cert and tls_key in the settings file)\n"
    );
    let garbage = tmp.path().join("garbage.pem");
    std::fs::write(&garbage, "not a key\n").unwrap();
    let (code, stderr) = serve_fails(&[
        "--listen",
        &listen,
        "--data-dir",
        data.to_str().unwrap(),
        "--tls-cert",
        pki.cert.to_str().unwrap(),
        "--tls-key",
        garbage.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2));
    let want = format!(
        "modgate serve: --tls-key {}: no private key in it (want PEM: -----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)\n",
        garbage.display()
    );
    assert!(stderr.ends_with(&want), "{stderr}");
    // Nothing was opened: the data dir is not even made.
    assert!(!data.exists());
}

/// SIGTERM during a 50 MB zip download read slowly: no new connection is taken, the
/// download completes with every byte, then the process exits 0.
#[test]
fn sigterm_drains_downloads_in_flight() {
    use rustix::process::{Pid, Signal, kill_process};
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("upstream"));
    let big = tree.add(
        "example.com/big",
        "v1.0.0",
        T1,
        &[("data.txt", &noise(66 << 20, 2))],
    );
    assert!(big.zip.len() > 48 << 20, "{}", big.zip.len());
    let data = tmp.path().join("data");
    let mut server = Server::over(&data, &tree.url());
    let mut d = Conn::new(&server.addr, connect(&server.addr, None, Some(256 << 10)));
    d.send("/example.com/big/@v/v1.0.0.zip");
    let head = d.head();
    assert_eq!(head.status, 200);
    let n = Conn::length(&head);
    assert_eq!(n, big.zip.len());
    let mut body = d.body(1 << 20, 64 << 10, Duration::ZERO);

    kill_process(Pid::from_child(&server.child), Signal::TERM).unwrap();
    // The listener is closed: a new connection is refused. The download is the one
    // connection waited for.
    let stopped = "modgate serve: stopped accepting; waiting up to 30 s for 1 open connection(s) to finish ([server] drain_timeout)";
    let log = server.log_with(stopped);
    assert!(log.contains(stopped), "{log}");
    let e = TcpStream::connect(&server.addr).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
    assert!(server.child.try_wait().unwrap().is_none());
    // The rest, slowly.
    body.extend(d.body(n - body.len(), 256 << 10, Duration::from_millis(2)));
    assert!(
        body == big.zip,
        "{} bytes, want {}",
        body.len(),
        big.zip.len()
    );
    // The answer is whole: the server closes the connection, then exits 0.
    server_closes(&mut d.s, Duration::from_secs(30)).unwrap();
    let bound = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(st) = server.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < bound,
            "still running 30 s after its last connection:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = server.log_text();
    assert_eq!(status.code(), Some(0), "{log}");
    for line in [
        "modgate serve: shutting down",
        "modgate serve: every connection finished",
    ] {
        assert!(log.contains(line), "no {line:?} in:\n{log}");
    }
}

/// `--listen` as Go servers read it: `:PORT` is every interface (dual-stack where the
/// machine has IPv6), `[::1]:PORT` the IPv6 loopback alone.
#[test]
fn listen_addresses_as_go_servers_read_them() {
    let tmp = tempfile::tempdir().unwrap();
    let ipv6 = std::net::TcpListener::bind("[::1]:0").is_ok();
    let healthz = |addr: &str| matches!(raw_get(addr, "GET", "/healthz"), Ok(r) if r.status == 200);
    for (listen, reached, logged) in [
        (
            ":{port}",
            vec!["127.0.0.1:{port}", "[::1]:{port}"],
            "[::]:{port}",
        ),
        ("[::1]:{port}", vec!["[::1]:{port}"], "[::1]:{port}"),
    ] {
        if listen.starts_with("[::1]") && !ipv6 {
            continue;
        }
        let port = free_port().to_string();
        let at = |s: &str| s.replace("{port}", &port);
        let log = tmp.path().join(format!("{port}.log"));
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_modgate"))
            .args(["serve", "--upstream", "off", "--sumdb", "off", "--listen"])
            .arg(at(listen))
            .arg("--data-dir")
            .arg(tmp.path().join(&port))
            .env_remove("MODGATE_LISTEN")
            .env_remove("MODGATE_CONFIG")
            .env("RUST_LOG", "info")
            .stdin(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let first = at(reached[0]);
        let started = Instant::now();
        while !healthz(&first) && started.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(50));
        }
        for addr in &reached {
            let addr = at(addr);
            if addr.starts_with('[') && !ipv6 {
                continue;
            }
            assert!(healthz(&addr), "--listen {}: {addr}", at(listen));
        }
        let text = std::fs::read_to_string(&log).unwrap();
        // Without IPv6, every interface is 0.0.0.0.
        let want = match (listen.starts_with(':'), ipv6) {
            (true, false) => at("0.0.0.0:{port}"),
            _ => at(logged),
        };
        assert!(
            text.contains(&format!("listening on http://{want} ")),
            "--listen {}: {text}",
            at(listen)
        );
        let _ = child.kill();
        let _ = child.wait();
    }
}
