//! Real servers for the doctor's fault matrix: git's own `git http-backend` behind HTTP basic
//! auth on loopback, and a network namespace whose resolv.conf names a DNS responder on
//! that namespace's own loopback (every query is answered there, NXDOMAIN; none leaves the
//! machine).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine;

/// `git http-backend` serving the bare repositories under `root` at
/// `http://127.0.0.1:<port>/<name>`, to clients that send `user:password`.
pub struct GitHttp {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl GitHttp {
    pub fn start(root: &Path, user: &str, password: &str) -> GitHttp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let want = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let (root, stop2) = (root.to_path_buf(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let (root, want) = (root.clone(), want.clone());
                    std::thread::spawn(move || {
                        let _ = serve(conn, &root, &want);
                    });
                }
            }
        });
        GitHttp {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for GitHttp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One request: basic auth, then the CGI.
fn serve(conn: TcpStream, root: &Path, want_auth: &str) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut r = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("GET").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let mut w = conn;
    if header("authorization").as_deref() != Some(want_auth) {
        w.write_all(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
        return Ok(());
    }
    let len: usize = header("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut cgi = Command::new("git")
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("REQUEST_METHOD", &method)
        .env("CONTENT_TYPE", header("content-type").unwrap_or_default())
        .env("CONTENT_LENGTH", len.to_string())
        .env(
            "HTTP_GIT_PROTOCOL",
            header("git-protocol").unwrap_or_default(),
        )
        .env("REMOTE_USER", "git")
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    cgi.stdin.take().unwrap().write_all(&body)?;
    let out = cgi.wait_with_output()?.stdout;
    let split = out
        .windows(4)
        .position(|x| x == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| out.windows(2).position(|x| x == b"\n\n").map(|i| (i, 2)))
        .unwrap_or((out.len(), 0));
    let head = String::from_utf8_lossy(&out[..split.0]).into_owned();
    let body = &out[(split.0 + split.1).min(out.len())..];
    let mut status = "200 OK".to_string();
    let mut resp = String::new();
    for h in head.lines() {
        match h.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("status") => status = v.trim().to_string(),
            Some(_) => resp.push_str(&format!("{h}\r\n")),
            None => {}
        }
    }
    w.write_all(
        format!(
            "HTTP/1.1 {status}\r\n{resp}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )?;
    w.write_all(body)
}

/// A network namespace with only loopback, whose resolv.conf names a DNS responder
/// running on that loopback; every name it is asked for does not exist.
pub struct NetNs {
    pub name: String,
    queries: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap_or_else(|e| {
        panic!("cannot run ip {args:?} ({e}): scripts/install-deps installs iproute2")
    });
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl NetNs {
    pub fn create(tag: &str) -> NetNs {
        let name = format!("mgdoc-{tag}-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        ip(&["netns", "add", &name]);
        ip(&["-n", &name, "link", "set", "lo", "up"]);
        let etc = PathBuf::from("/etc/netns").join(&name);
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(
            etc.join("resolv.conf"),
            "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
        )
        .unwrap();
        let queries = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (q, s, n) = (queries.clone(), stop.clone(), name.clone());
        let thread = std::thread::spawn(move || {
            // This thread alone enters the namespace; its socket stays there.
            let ns = std::fs::File::open(format!("/run/netns/{n}")).unwrap();
            rustix::thread::move_into_link_name_space(
                std::os::fd::AsFd::as_fd(&ns),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .unwrap();
            let sock = UdpSocket::bind("127.0.0.1:53").unwrap();
            sock.set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            ready_tx.send(()).unwrap();
            let mut buf = [0u8; 512];
            while !s.load(Ordering::SeqCst) {
                let Ok((len, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                if len < 12 {
                    continue;
                }
                q.fetch_add(1, Ordering::SeqCst);
                // The question back, with QR, RD and RA set and RCODE 3 (NXDOMAIN).
                let mut resp = buf[..len].to_vec();
                resp[2] = 0x80 | (buf[2] & 0x79);
                resp[3] = 0x83;
                resp[6..12].fill(0);
                let _ = sock.send_to(&resp, from);
            }
        });
        ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        NetNs {
            name,
            queries,
            stop,
            thread: Some(thread),
        }
    }

    /// How many queries the responder answered.
    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }

    /// `cmd` run inside the namespace.
    pub fn command(&self, program: &Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
        let _ = std::fs::remove_dir_all(PathBuf::from("/etc/netns").join(&self.name));
    }
}

pub use testkit::mount::Mount;

/// Certificates for the TLS rows: a CA, and leaf certificates it or nobody signs.
pub mod certs {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

    /// A certificate (DER), its key (PKCS#8 DER), and the certificates the server sends
    /// after it (intermediates, DER).
    #[derive(Clone)]
    pub struct Leaf {
        pub cert: Vec<u8>,
        pub key: Vec<u8>,
        pub chain: Vec<Vec<u8>>,
    }

    /// The DER of the first PEM block of `pem`.
    fn pem_der(pem: &str) -> Vec<u8> {
        use base64::Engine;
        let b64: String = pem
            .lines()
            .skip_while(|l| !l.starts_with("-----BEGIN"))
            .skip(1)
            .take_while(|l| !l.starts_with("-----END"))
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    }

    /// A certificate made the common way, with Debian's openssl:
    /// `openssl req -x509 -newkey rsa:2048 -nodes` (CA:TRUE, used as the server's own).
    pub fn openssl_req_x509(dir: &std::path::Path, name: &str) -> Leaf {
        let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
        let out = std::process::Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .args(["-subj", &format!("/CN={name}")])
            .args(["-addext", &format!("subjectAltName=IP:{name}")])
            .output()
            .expect("openssl (Debian's openssl package) must be installed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Leaf {
            cert: pem_der(&std::fs::read_to_string(cert).unwrap()),
            key: pem_der(&std::fs::read_to_string(key).unwrap()),
            chain: Vec::new(),
        }
    }

    /// A CA: its PEM (for SSL_CERT_FILE) and what signs with it.
    pub struct Ca {
        pub pem: String,
        pub der: Vec<u8>,
        issuer: Issuer<'static, KeyPair>,
    }

    impl Ca {
        pub fn new() -> Ca {
            Ca::named("modgate test CA")
        }

        /// A root CA named `cn`.
        pub fn named(cn: &str) -> Ca {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.distinguished_name.push(rcgen::DnType::CommonName, cn);
            let key = KeyPair::generate().unwrap();
            let cert = p.self_signed(&key).unwrap();
            Ca {
                pem: cert.pem(),
                der: cert.der().to_vec(),
                issuer: Issuer::new(p, key),
            }
        }

        /// An intermediate CA named `cn`, signed by this one.
        pub fn intermediate(&self, cn: &str) -> Ca {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.distinguished_name.push(rcgen::DnType::CommonName, cn);
            let key = KeyPair::generate().unwrap();
            let cert = p.signed_by(&key, &self.issuer).unwrap();
            Ca {
                pem: cert.pem(),
                der: cert.der().to_vec(),
                issuer: Issuer::new(p, key),
            }
        }

        /// A certificate for `name`, signed by this CA, whose Authority Information Access
        /// names `url` as where its issuer's certificate is (caIssuers).
        pub fn leaf_with_ca_issuers(&self, name: &str, url: &str) -> Leaf {
            let key = KeyPair::generate().unwrap();
            let mut p = CertificateParams::new(vec![name.to_string()]).unwrap();
            // AuthorityInfoAccessSyntax ::= SEQUENCE OF AccessDescription; one
            // AccessDescription { id-ad-caIssuers, uniformResourceIdentifier [6] url }.
            let u = url.as_bytes();
            let oid = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02];
            let mut desc = vec![0x30, (oid.len() + 2 + u.len()) as u8];
            desc.extend(oid);
            desc.extend([0x86, u.len() as u8]);
            desc.extend(u);
            let mut aia = vec![0x30, desc.len() as u8];
            aia.extend(desc);
            p.custom_extensions
                .push(rcgen::CustomExtension::from_oid_content(
                    &[1, 3, 6, 1, 5, 5, 7, 1, 1],
                    aia,
                ));
            let cert = p.signed_by(&key, &self.issuer).unwrap();
            Leaf {
                cert: cert.der().to_vec(),
                key: key.serialize_der(),
                chain: Vec::new(),
            }
        }

        /// A certificate for `name`, signed by this CA.
        pub fn leaf(&self, name: &str) -> Leaf {
            self.leaf_for_days(name, None)
        }

        /// A certificate for `name`, signed by this CA, that expires in `days` days and a
        /// half when given (the half keeps whole days from sitting on a boundary).
        pub fn leaf_for_days(&self, name: &str, days: Option<i64>) -> Leaf {
            let key = KeyPair::generate().unwrap();
            let mut p = CertificateParams::new(vec![name.to_string()]).unwrap();
            if let Some(d) = days {
                p.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
                p.not_after = time::OffsetDateTime::now_utc()
                    + time::Duration::days(d)
                    + time::Duration::hours(12);
            }
            let cert = p.signed_by(&key, &self.issuer).unwrap();
            Leaf {
                cert: cert.der().to_vec(),
                key: key.serialize_der(),
                chain: Vec::new(),
            }
        }
    }

    /// A self-signed certificate for `name`; expired when `expired`.
    pub fn self_signed(name: &str, expired: bool) -> Leaf {
        let mut p = CertificateParams::new(vec![name.to_string()]).unwrap();
        if expired {
            p.not_before = rcgen::date_time_ymd(2020, 1, 1);
            p.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap();
        Leaf {
            cert: cert.der().to_vec(),
            key: key.serialize_der(),
            chain: Vec::new(),
        }
    }
}

/// An HTTPS server on 127.0.0.1 presenting `leaf`, answering the paths of `answers` 200
/// with their bodies and every other request 404.
pub struct TlsServer {
    pub origin: String,
    task: tokio::task::JoinHandle<()>,
}

impl TlsServer {
    pub async fn start(leaf: &certs::Leaf, answers: &[(&'static str, &'static str)]) -> TlsServer {
        Self::start_with_auth(leaf, answers, None).await
    }

    /// As [`start`](Self::start), answering 401 to a request without `Authorization:
    /// Basic <user:password>` when `basic` is given.
    pub async fn start_with_auth(
        leaf: &certs::Leaf,
        answers: &[(&'static str, &'static str)],
        basic: Option<(&str, &str)>,
    ) -> TlsServer {
        Self::serve(Some(leaf), answers, basic, 401).await
    }

    /// As [`start_with_auth`](Self::start_with_auth), answering 403 (no
    /// `WWW-Authenticate`) instead of 401, as many proxies answer anonymous requests.
    pub async fn start_forbidding(
        leaf: &certs::Leaf,
        answers: &[(&'static str, &'static str)],
        basic: (&str, &str),
    ) -> TlsServer {
        Self::serve(Some(leaf), answers, Some(basic), 403).await
    }

    /// The same answers over plain HTTP (`http://` origin), with `basic` required.
    pub async fn plain_with_auth(
        answers: &[(&'static str, &'static str)],
        basic: Option<(&str, &str)>,
    ) -> TlsServer {
        Self::serve(None, answers, basic, 401).await
    }

    async fn serve(
        leaf: Option<&certs::Leaf>,
        answers: &[(&'static str, &'static str)],
        basic: Option<(&str, &str)>,
        refusal: u16,
    ) -> TlsServer {
        use base64::Engine as _;
        let want = basic.map(|(u, p)| {
            format!(
                "authorization: basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
            .to_ascii_lowercase()
        });
        let answers: Arc<Vec<(&'static str, &'static str)>> = Arc::new(answers.to_vec());
        let acceptor = leaf.map(|leaf| {
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let config = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(
                    std::iter::once(&leaf.cert)
                        .chain(&leaf.chain)
                        .map(|c| rustls::pki_types::CertificateDer::from(c.clone()))
                        .collect(),
                    rustls::pki_types::PrivateKeyDer::Pkcs8(leaf.key.clone().into()),
                )
                .unwrap();
            tokio_rustls::TlsAcceptor::from(Arc::new(config))
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!(
            "{}://127.0.0.1:{}",
            if acceptor.is_some() { "https" } else { "http" },
            listener.local_addr().unwrap().port()
        );
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (acceptor, answers, want) = (acceptor.clone(), answers.clone(), want.clone());
                tokio::spawn(async move {
                    match acceptor {
                        Some(a) => {
                            if let Ok(tls) = a.accept(conn).await {
                                answer(tls, &answers, want.as_deref(), refusal).await;
                            }
                        }
                        None => answer(conn, &answers, want.as_deref(), refusal).await,
                    }
                });
            }
        });
        TlsServer { origin, task }
    }
}

/// Reads one request from `stream` and answers it from `answers` (`refusal`, 401 or 403,
/// without the `authorization` header line `want`, when given; 404 for other paths).
async fn answer<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    answers: &[(&'static str, &'static str)],
    want: Option<&str>,
    refusal: u16,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]).into_owned();
    let path = head.split(' ').nth(1).unwrap_or("");
    let authorized = want.is_none_or(|w| head.lines().any(|l| l.trim().to_ascii_lowercase() == w));
    let reply = match answers.iter().find(|(p, _)| *p == path) {
        _ if !authorized && refusal == 403 => "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
        _ if !authorized => "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"modules\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
        Some((_, body)) => format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
        None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
    };
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An HTTP server on 127.0.0.1 answering every request with `body` (a CA's certificate
/// at its caIssuers URL); its thread ends with the test process.
pub fn serve_bytes(body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/ca.der", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-cert\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(&body);
        }
    });
    url
}
