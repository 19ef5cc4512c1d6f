//! Opening a connection the way the go command's HTTP client does (net/http's
//! DefaultTransport), each phase timed: the name resolved, each address tried in turn
//! within the dial timeout (30 s, shared among the addresses as Go's dialer shares it),
//! for https a CONNECT tunnel through the HTTP proxy of the environment when one applies
//! (`via`, as `doctor::client::http_proxy_for` decides), then TLS with this machine's
//! roots offering h2 and http/1.1 (10 s handshake timeout). A plain-http target reached
//! through an HTTP proxy is a connection to the proxy, to which the request is sent in
//! absolute form.
//!
//! Hand-written rather than reqwest's connector because the trace needs each phase's time
//! and which request waited on the connection; reqwest's connector is opaque to both.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// net/http's DefaultTransport: `Dialer.Timeout`.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(30);
/// net/http's DefaultTransport: `TLSHandshakeTimeout`.
pub const TLS_TIMEOUT: Duration = Duration::from_secs(10);

/// A byte stream: plain TCP or TLS over it.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// How long each phase of opening a connection took.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Phases {
    /// Resolving the name (none for an IP address).
    #[serde(serialize_with = "micros_opt")]
    pub dns: Option<Duration>,
    /// The TCP connect (every address tried).
    #[serde(serialize_with = "micros")]
    pub connect: Duration,
    /// The CONNECT tunnel through the HTTP proxy, when there was one.
    #[serde(serialize_with = "micros_opt")]
    pub proxy: Option<Duration>,
    /// The TLS handshake, for https.
    #[serde(serialize_with = "micros_opt")]
    pub tls: Option<Duration>,
    /// The address connected to (the HTTP proxy's when there is one).
    pub peer: String,
    /// Whether TLS agreed on HTTP/2.
    pub h2: bool,
}

impl Phases {
    /// All the phases together.
    pub fn total(&self) -> Duration {
        self.dns.unwrap_or_default()
            + self.connect
            + self.proxy.unwrap_or_default()
            + self.tls.unwrap_or_default()
    }

    /// Adds another connection's phases (a redirect's) to these.
    pub fn add(&mut self, o: &Phases) {
        let sum = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or_default() + b.unwrap_or_default()),
        };
        self.dns = sum(self.dns, o.dns);
        self.connect += o.connect;
        self.proxy = sum(self.proxy, o.proxy);
        self.tls = sum(self.tls, o.tls);
        self.peer = o.peer.clone();
        self.h2 = o.h2;
    }
}

/// Durations as microseconds, in the trace's JSON.
pub fn micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_micros() as u64)
}

/// Optional durations as microseconds, in the trace's JSON.
pub fn micros_opt<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_u64(d.as_micros() as u64),
        None => s.serialize_none(),
    }
}

/// Why a connection could not be opened: the phase, the host, the cause.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    /// The name did not resolve.
    #[error("resolving {host}: {cause}")]
    Resolve {
        /// The name.
        host: String,
        /// Why.
        cause: String,
    },
    /// No address answered.
    #[error("connecting to {host} ({tried}): {cause}")]
    Connect {
        /// The name.
        host: String,
        /// The addresses tried.
        tried: String,
        /// The last failure.
        cause: String,
    },
    /// The HTTP proxy refused or failed the tunnel.
    #[error("the HTTP proxy {proxy}: {cause}")]
    Proxy {
        /// The proxy (without credentials).
        proxy: String,
        /// Why.
        #[source]
        cause: ProxyError,
    },
    /// The TLS handshake failed.
    #[error("TLS handshake with {host}: {cause}")]
    Tls {
        /// The name.
        host: String,
        /// Why.
        cause: String,
    },
}

/// What went wrong with an HTTP proxy: its setting, or the CONNECT tunnel through it.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The setting is not a URL.
    #[error("not a URL: {0}")]
    NotUrl(#[source] <reqwest::Url as std::str::FromStr>::Err),
    /// The setting names another scheme than `http`.
    #[error("a {0}:// proxy: only http:// proxies are spoken here")]
    Scheme(String),
    /// The setting names no host.
    #[error("no host")]
    NoHost,
    /// The setting names no port, and its scheme has none by default.
    #[error("no port")]
    NoPort,
    /// The proxy itself could not be reached (only from [`tunnel`], which connects to
    /// it; [`dial`] says so as a [`DialError`] of its own).
    #[error(transparent)]
    Unreachable(Box<DialError>),
    /// Sending the CONNECT request failed.
    #[error("sending CONNECT: {0}")]
    Send(#[source] std::io::Error),
    /// Reading the answer to CONNECT failed.
    #[error("reading the answer to CONNECT: {0}")]
    Read(#[source] std::io::Error),
    /// The answer's head did not end within 16 KiB.
    #[error("an answer to CONNECT longer than 16 KiB")]
    TooLong,
    /// The proxy closed the connection before its answer's head ended.
    #[error("closed the connection before answering CONNECT")]
    Closed,
    /// The proxy answered CONNECT with another status than 200.
    #[error("answered CONNECT with {status_line:?}")]
    Refused {
        /// Its answer's status line.
        status_line: String,
    },
    /// No answer to CONNECT within the dial timeout.
    #[error("no answer to CONNECT within {0:?}")]
    Timeout(Duration),
}

/// Why the TLS client configuration could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    /// No trusted root was found; the first error of reading them, if any.
    #[error(
        "no trusted roots found (the system store, SSL_CERT_FILE, SSL_CERT_DIR){}",
        first.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
    )]
    NoRoots {
        /// The first error of reading the roots.
        first: Option<rustls_native_certs::Error>,
    },
    /// rustls refused the configuration.
    #[error("{0}")]
    Rustls(#[source] rustls::Error),
}

impl DialError {
    /// The phase it failed in, as the trace names phases: `dns`, `connect`, `proxy`,
    /// `tls`.
    pub fn phase(&self) -> &'static str {
        match self {
            DialError::Resolve { .. } => "dns",
            DialError::Connect { .. } => "connect",
            DialError::Proxy { .. } => "proxy",
            DialError::Tls { .. } => "tls",
        }
    }
}

/// Where to connect: `https` or not, the host (brackets kept off IPv6), the port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// TLS or not.
    pub https: bool,
    /// The host name or address.
    pub host: String,
    /// The port.
    pub port: u16,
}

impl Target {
    /// The target of an `http(s)://` URL.
    pub fn of(url: &reqwest::Url) -> Option<Target> {
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        Some(Target {
            https,
            host: url
                .host_str()?
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port: url.port_or_known_default()?,
        })
    }
}

/// An open connection and how it was opened.
pub struct Dialed {
    /// The stream to speak HTTP on.
    pub io: Box<dyn Io>,
    /// The phases' times.
    pub phases: Phases,
    /// Requests go to an HTTP proxy in absolute form (plain http through a proxy), with
    /// this `Proxy-Authorization` when the proxy URL had credentials.
    pub absolute_form: Option<Option<String>>,
}

/// The `Proxy-Authorization` value for a proxy URL's credentials, if it has some.
fn proxy_authorization(u: &reqwest::Url) -> Option<String> {
    use base64::Engine;
    if u.username().is_empty() && u.password().is_none() {
        return None;
    }
    let creds = format!("{}:{}", u.username(), u.password().unwrap_or(""));
    let creds = percent_encoding::percent_decode_str(&creds).decode_utf8_lossy();
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(creds.as_bytes())
    ))
}

/// Resolves and connects to `host:port`, timed: (stream, DNS time or none for an
/// address, connect time, the address connected to).
async fn tcp(
    host: &str,
    port: u16,
) -> Result<(TcpStream, Option<Duration>, Duration, String), DialError> {
    let began = Instant::now();
    let (addrs, dns) = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => (vec![std::net::SocketAddr::new(ip, port)], None),
        Err(_) => {
            let found = tokio::time::timeout(DIAL_TIMEOUT, tokio::net::lookup_host((host, port)))
                .await
                .map_err(|_| DialError::Resolve {
                    host: host.into(),
                    cause: format!("no answer within {DIAL_TIMEOUT:?}"),
                })?
                .map_err(|e| DialError::Resolve {
                    host: host.into(),
                    cause: e.to_string(),
                })?
                .collect::<Vec<_>>();
            (found, Some(began.elapsed()))
        }
    };
    if addrs.is_empty() {
        return Err(DialError::Resolve {
            host: host.into(),
            cause: "no addresses".into(),
        });
    }
    let start = Instant::now();
    let deadline = began + DIAL_TIMEOUT;
    // Go's dialer: the first address's family first; the other family 300 ms later if
    // the first has not connected by then ("Happy Eyeballs"); within a family, the
    // addresses in turn, each with an equal share of the time left (at least 2 s).
    let first_v6 = addrs[0].is_ipv6();
    let (primary, fallback): (Vec<_>, Vec<_>) =
        addrs.iter().copied().partition(|a| a.is_ipv6() == first_v6);
    let serial = |list: Vec<std::net::SocketAddr>| async move {
        let mut cause = String::new();
        for (i, addr) in list.iter().enumerate() {
            let left = deadline.saturating_duration_since(Instant::now());
            let share = (left / (list.len() - i) as u32).max(Duration::from_secs(2).min(left));
            match tokio::time::timeout(share, TcpStream::connect(addr)).await {
                Ok(Ok(s)) => return Ok((s, *addr)),
                Ok(Err(e)) => cause = format!("{addr}: {e}"),
                Err(_) => cause = format!("{addr}: no answer within {share:?}"),
            }
        }
        Err(cause)
    };
    let raced = if fallback.is_empty() {
        serial(primary).await
    } else {
        let first = serial(primary);
        let second = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            serial(fallback).await
        };
        tokio::pin!(first, second);
        let mut failed: Option<String> = None;
        loop {
            tokio::select! {
                r = &mut first, if failed.as_deref() != Some("first") => match r {
                    Ok(s) => break Ok(s),
                    Err(e) if failed.is_some() => break Err(e),
                    Err(_) => failed = Some("first".into()),
                },
                r = &mut second, if failed.as_deref() != Some("second") => match r {
                    Ok(s) => break Ok(s),
                    Err(e) if failed.is_some() => break Err(e),
                    Err(_) => failed = Some("second".into()),
                },
            }
        }
    };
    match raced {
        Ok((s, addr)) => {
            let _ = s.set_nodelay(true);
            // net/http's dialer: keep-alive probes after 30 s idle, so that a dead
            // connection ends in an error rather than a hang.
            let _ = socket2::SockRef::from(&s).set_tcp_keepalive(
                &socket2::TcpKeepalive::new()
                    .with_time(Duration::from_secs(30))
                    .with_interval(Duration::from_secs(30)),
            );
            Ok((s, dns, start.elapsed(), addr.to_string()))
        }
        Err(cause) => Err(DialError::Connect {
            host: host.into(),
            tried: addrs
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            cause,
        }),
    }
}

/// A CONNECT tunnel to `host:port` over `tcp`, a connection to the HTTP proxy `via`.
pub async fn tunnel_over(
    mut tcp: TcpStream,
    via: &reqwest::Url,
    host: &str,
    port: u16,
) -> Result<TcpStream, ProxyError> {
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut req = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(a) = proxy_authorization(via) {
        req.push_str(&format!("Proxy-Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    tcp.write_all(req.as_bytes())
        .await
        .map_err(ProxyError::Send)?;
    // The proxy's answer, up to its blank line, a byte at a time (the tunnel's bytes
    // follow it).
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 << 10 {
            return Err(ProxyError::TooLong);
        }
        let mut b = [0u8; 1];
        if tcp.read(&mut b).await.map_err(ProxyError::Read)? == 0 {
            return Err(ProxyError::Closed);
        }
        head.push(b[0]);
    }
    let status = String::from_utf8_lossy(&head);
    let line = status.lines().next().unwrap_or("").trim().to_string();
    // net/http: 200 and nothing else.
    match line.split_whitespace().nth(1) {
        Some("200") => Ok(tcp),
        _ => Err(ProxyError::Refused { status_line: line }),
    }
}

/// A CONNECT tunnel to `host:port` through the HTTP proxy `via` (`http://[user:pass@]h:p`).
pub async fn tunnel(via: &str, host: &str, port: u16) -> Result<TcpStream, ProxyError> {
    let u = proxy_url(via)?;
    let (ph, pp) = (
        u.host_str().ok_or(ProxyError::NoHost)?.to_string(),
        u.port_or_known_default().ok_or(ProxyError::NoPort)?,
    );
    let (tcp, _, _, _) = tcp(ph.trim_start_matches('[').trim_end_matches(']'), pp)
        .await
        .map_err(|e| ProxyError::Unreachable(Box::new(e)))?;
    tunnel_over(tcp, &u, host, port).await
}

/// An HTTP proxy setting as net/http reads it: without a scheme, `http://` is meant;
/// an `https://` or `socks5://` proxy is refused (not spoken here).
pub fn proxy_url(via: &str) -> Result<reqwest::Url, ProxyError> {
    let full = if via.contains("://") {
        via.to_string()
    } else {
        format!("http://{via}")
    };
    let u = reqwest::Url::parse(&full).map_err(ProxyError::NotUrl)?;
    match u.scheme() {
        "http" => {}
        s => return Err(ProxyError::Scheme(s.to_string())),
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(ProxyError::NoHost);
    }
    Ok(u)
}

/// Opens a connection to `to`, through the HTTP proxy `via` when given; TLS with
/// `tls` for https.
pub async fn dial(
    to: &Target,
    via: Option<&str>,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<Dialed, DialError> {
    let via = match via {
        Some(v) => Some(proxy_url(v).map_err(|cause| DialError::Proxy {
            proxy: v.to_string(),
            cause,
        })?),
        None => None,
    };
    let shown = |u: &reqwest::Url| {
        let mut u = u.clone();
        let _ = u.set_username("");
        let _ = u.set_password(None);
        u.to_string()
    };
    let (stream, dns, connect, peer) = match &via {
        Some(u) => {
            let h = u.host_str().unwrap_or("");
            let h = h.trim_start_matches('[').trim_end_matches(']').to_string();
            let p = u.port_or_known_default().unwrap_or(80);
            tcp(&h, p).await?
        }
        None => tcp(&to.host, to.port).await?,
    };
    let mut phases = Phases {
        dns,
        connect,
        peer,
        ..Phases::default()
    };
    if !to.https {
        return Ok(Dialed {
            io: Box::new(stream),
            phases,
            absolute_form: via.as_ref().map(proxy_authorization),
        });
    }
    let stream = match &via {
        Some(u) => {
            let t = Instant::now();
            let s = tokio::time::timeout(DIAL_TIMEOUT, tunnel_over(stream, u, &to.host, to.port))
                .await
                .map_err(|_| DialError::Proxy {
                    proxy: shown(u),
                    cause: ProxyError::Timeout(DIAL_TIMEOUT),
                })?
                .map_err(|cause| DialError::Proxy {
                    proxy: shown(u),
                    cause,
                })?;
            phases.proxy = Some(t.elapsed());
            s
        }
        None => stream,
    };
    let name = ServerName::try_from(to.host.clone()).map_err(|e| DialError::Tls {
        host: to.host.clone(),
        cause: e.to_string(),
    })?;
    let t = Instant::now();
    let s = tokio::time::timeout(
        TLS_TIMEOUT,
        tokio_rustls::TlsConnector::from(Arc::clone(tls)).connect(name, stream),
    )
    .await
    .map_err(|_| DialError::Tls {
        host: to.host.clone(),
        cause: format!("no handshake within {TLS_TIMEOUT:?}"),
    })?
    .map_err(|e| DialError::Tls {
        host: to.host.clone(),
        cause: e.to_string(),
    })?;
    phases.tls = Some(t.elapsed());
    phases.h2 = s.get_ref().1.alpn_protocol() == Some(b"h2");
    Ok(Dialed {
        io: Box::new(s),
        phases,
        absolute_form: None,
    })
}

/// A TLS client configuration as the go command's: this machine's roots (the system
/// store, SSL_CERT_FILE, SSL_CERT_DIR), offering h2 then http/1.1. Blocking (reads the
/// roots).
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, TlsConfigError> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for c in found.certs {
        let _ = roots.add(c);
    }
    if roots.is_empty() {
        return Err(TlsConfigError::NoRoots {
            first: found.errors.into_iter().next(),
        });
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsConfigError::Rustls)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn plain_connections_are_timed_and_refusals_named() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let tls = Arc::new(
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
        );
        let to = Target {
            https: false,
            host: "127.0.0.1".into(),
            port,
        };
        let d = dial(&to, None, &tls).await.unwrap();
        assert_eq!(d.phases.dns, None);
        assert_eq!(d.phases.tls, None);
        assert_eq!(d.phases.peer, format!("127.0.0.1:{port}"));
        assert!(d.absolute_form.is_none());
        // Through a proxy: the connection is the proxy's, requests in absolute form with
        // its credentials.
        let d = dial(
            &Target {
                https: false,
                host: "example.invalid".into(),
                port: 80,
            },
            Some(&format!("http://u:p%40ss@127.0.0.1:{port}")),
            &tls,
        )
        .await
        .unwrap();
        assert_eq!(d.absolute_form, Some(Some("Basic dTpwQHNz".to_string())));
        drop(l);
        let e = dial(&to, None, &tls).await.err().unwrap().to_string();
        assert!(
            e.starts_with(&format!(
                "connecting to 127.0.0.1 (127.0.0.1:{port}): 127.0.0.1:{port}: "
            )),
            "{e}"
        );
    }

    #[test]
    fn proxy_settings_as_net_http_reads_them() {
        assert_eq!(
            proxy_url("proxy.corp:3128").unwrap().as_str(),
            "http://proxy.corp:3128/"
        );
        let e = proxy_url("socks5://p:1080").unwrap_err();
        assert!(
            matches!(&e, ProxyError::Scheme(s) if s == "socks5"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "a socks5:// proxy: only http:// proxies are spoken here"
        );
        let e = proxy_url("http://").unwrap_err();
        assert!(matches!(e, ProxyError::NotUrl(_)), "{e:?}");
        assert_eq!(e.to_string(), "not a URL: empty host");
        // A password alone is still sent.
        let u = proxy_url("http://:secret@p:1").unwrap();
        assert_eq!(
            proxy_authorization(&u).as_deref(),
            Some("Basic OnNlY3JldA==")
        );
    }

    #[tokio::test]
    async fn a_proxy_refusing_connect_is_named() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = vec![0u8; 1024];
            let _ = s.read(&mut buf).await;
            s.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
                .await
                .unwrap();
        });
        let e = tunnel(&format!("http://127.0.0.1:{port}"), "example.invalid", 443)
            .await
            .err()
            .unwrap();
        assert!(
            matches!(&e, ProxyError::Refused { status_line } if status_line.contains(" 407 ")),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "answered CONNECT with \"HTTP/1.1 407 Proxy Authentication Required\""
        );
    }
}
