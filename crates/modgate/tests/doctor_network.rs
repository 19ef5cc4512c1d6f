//! The doctor's network checks against real servers on loopback, one fault at a time: a
//! healthy proxy gives no finding; a refused connection, a proxy that accepts and never
//! answers, 401, 403, 429 and 500 each give one finding naming what was measured; the
//! throughput of a real zip; an HTTP proxy in the way (healthy, 407, down); the checksum
//! database's signed tree head (verified, another key, unreachable).

use std::time::Duration;

use crate::proxy_support::{FaultServer, Reply};
use modgate::doctor::checked::Checked;
use modgate::doctor::checksum_db;
use modgate::doctor::credentials::Credentials;
use modgate::doctor::finding::{Group, Severity};
use modgate::doctor::network::{check_proxy, probe_proxy};
use modgate::goenv::{GoSettings, Origin};
use testkit::free_port;

const PROBE: &str = "golang.org/x/mod/@v/list";

fn settings(pairs: &[(&str, &str)]) -> GoSettings {
    GoSettings {
        values: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        origin: Origin::Environment,
    }
}

#[tokio::test]
async fn each_fault_is_named() {
    let srv = FaultServer::start(|path| match path.split('/').nth(1).unwrap_or("") {
        "ok" => Reply::ok("v0.1.0\n"),
        "notfound" => Reply::status(404),
        "hang" => Reply::Hang,
        "forbidden" => Reply::status(403),
        "limited" => Reply::status(429),
        "broken" => Reply::status(500),
        "unauthorized" => Reply::status(401),
        _ => Reply::status(404),
    })
    .await;
    let o = &srv.origin;
    let limit = Duration::from_secs(1);
    assert_eq!(check_proxy(&format!("{o}/ok"), limit).await, []);
    assert_eq!(check_proxy(&format!("{o}/notfound"), limit).await, []);

    let measured = |f: &[modgate::doctor::finding::Finding]| {
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].group, f[0].severity),
            (Group::Network, Severity::Problem)
        );
        f[0].measured.clone()
    };
    let port = free_port();
    let f = check_proxy(&format!("http://127.0.0.1:{port}/p"), limit).await;
    assert_eq!(
        measured(&f),
        format!("connection to 127.0.0.1:{port} (127.0.0.1) refused")
    );
    let started = std::time::Instant::now();
    let f = check_proxy(&format!("{o}/hang"), limit).await;
    let m = measured(&f);
    assert!(
        m.starts_with("127.0.0.1 accepted the connection (DNS ")
            && m.ends_with(&format!(
                "but sent no answer to GET {o}/hang/{PROBE} within 1000 ms"
            )),
        "{m}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    for (name, status) in [
        ("unauthorized", "401 Unauthorized"),
        ("forbidden", "403 Forbidden"),
        ("limited", "429 Too Many Requests"),
        ("broken", "500"),
    ] {
        let f = check_proxy(&format!("{o}/{name}"), limit).await;
        let m = measured(&f);
        assert!(
            m.starts_with(&format!("GET {o}/{name}/{PROBE}: {status} (DNS ")),
            "{m}"
        );
    }
    // A 403 over http: credentials or a rule against this machine, and the go command
    // sends no credentials here, so the fix that tells them apart starts with https.
    let f = check_proxy(&format!("{o}/forbidden"), limit).await;
    let host = o.trim_start_matches("http://");
    assert!(
        f[0].cause.starts_with("the proxy refuses requests without credentials (many answer 403, not 401, to them) or refuses this machine"),
        "{}",
        f[0].cause
    );
    assert_eq!(
        f[0].fix.as_deref(),
        Some(format!(
            "serve {host} over https, then give the go command its credentials: printf 'machine {host} login <user> password <token>\\n' >> ~/.netrc"
        ).as_str())
    );
    // Over http the go command sends no netrc credentials: the fix is not a netrc line.
    let f = check_proxy(&format!("{o}/unauthorized"), limit).await;
    let host = o.trim_start_matches("http://");
    assert_eq!(
        f[0].fix.as_deref(),
        Some(format!(
            "serve {host} over https, then give the go command its credentials: printf 'machine {host} login <user> password <token>\\n' >> ~/.netrc"
        ).as_str())
    );
}

#[tokio::test]
async fn throughput_on_a_real_zip() {
    let zip = vec![0x5au8; 200_000];
    let srv = FaultServer::start(move |path| match path {
        "/golang.org/x/mod/@v/list" => Reply::ok("v0.1.0\nv0.2.0\n"),
        "/golang.org/x/mod/@v/v0.2.0.zip" => Reply::ok(zip.clone()),
        _ => Reply::status(404),
    })
    .await;
    let (f, m) = probe_proxy(
        &srv.origin,
        None,
        &Credentials::default(),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(f, []);
    let m = m.unwrap();
    assert!(
        m.starts_with(&format!("{}: 200 for {PROBE} (DNS ", srv.origin))
            && m.contains("; resolved to 127.0.0.1; golang.org/x/mod@v0.2.0.zip: 200000 bytes in "),
        "{m}"
    );
}

/// A warning never ends the probe: with the clock two hours off the proxy's, the skew is
/// reported and the zip's throughput is still measured.
#[tokio::test]
async fn a_skewed_clock_is_a_warning_and_the_probe_goes_on() {
    let zip = vec![0x5au8; 200_000];
    let date = httpdate::fmt_http_date(std::time::SystemTime::now() - Duration::from_secs(7200));
    let list = format!(
        "HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Length: 7\r\nConnection: close\r\n\r\nv0.2.0\n"
    );
    let srv = FaultServer::start(move |path| match path {
        "/golang.org/x/mod/@v/list" => Reply::Raw(list.clone().into_bytes()),
        "/golang.org/x/mod/@v/v0.2.0.zip" => Reply::ok(zip.clone()),
        _ => Reply::status(404),
    })
    .await;
    let (f, m) = probe_proxy(
        &srv.origin,
        None,
        &Credentials::default(),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].severity, Severity::Warning);
    assert!(
        f[0].measured.starts_with("this machine's clock is 72")
            && f[0].measured.ends_with(" s off the proxy's (127.0.0.1)"),
        "{}",
        f[0].measured
    );
    let m = m.expect("measured despite the warning");
    assert!(
        m.contains("; golang.org/x/mod@v0.2.0.zip: 200000 bytes in "),
        "{m}"
    );
}

#[tokio::test]
async fn through_the_http_proxy_of_the_environment() {
    // The HTTP proxy gets the absolute URL; the module proxy's name is never resolved here.
    let fwd = FaultServer::start(|path| match path {
        "http://proxy.corp.invalid/golang.org/x/mod/@v/list" => Reply::ok(""),
        _ => Reply::status(407),
    })
    .await;
    let via = fwd.origin.clone();
    let limit = Duration::from_secs(5);
    let (f, m) = probe_proxy(
        "http://proxy.corp.invalid",
        Some(&via),
        &Credentials::default(),
        limit,
    )
    .await;
    assert_eq!(f, []);
    let m = m.unwrap();
    assert!(m.ends_with(&format!(", through {via}")), "{m}");
    let (f, _) = probe_proxy(
        "http://other.corp.invalid",
        Some(&via),
        &Credentials::default(),
        limit,
    )
    .await;
    assert!(
        f[0].measured
            .starts_with("GET http://other.corp.invalid/golang.org/x/mod/@v/list: 407 Proxy Authentication Required"),
        "{f:?}"
    );
    // A proxy that is down is named as the HTTP proxy, with the NO_PROXY way out.
    let port = free_port();
    let (f, _) = probe_proxy(
        "http://proxy.corp.invalid",
        Some(&format!("http://127.0.0.1:{port}")),
        &Credentials::default(),
        limit,
    )
    .await;
    assert_eq!(
        f[0].measured,
        format!("connection to 127.0.0.1:{port} (127.0.0.1) refused")
    );
    assert_eq!(
        f[0].fix.as_deref(),
        Some("fix or unset HTTPS_PROXY/HTTP_PROXY, or add proxy.corp.invalid to NO_PROXY")
    );
    assert_eq!(fwd.paths().len(), 2);
}

#[tokio::test]
async fn the_checksum_database_signed_tree_head() {
    use gomod::sumdb::note::{Note, Signer, sign};
    let (signer, vkey) = Signer::from_seed("sum.test", [7; 32]).unwrap();
    let (other, _) = Signer::from_seed("sum.test", [8; 32]).unwrap();
    let note = |s: Signer| {
        sign(
            &Note {
                text: "go.sum database tree\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
                    .into(),
                sigs: vec![],
                unverified_sigs: vec![],
            },
            &[s],
        )
        .unwrap()
    };
    let (good, bad) = (note(signer), note(other));
    let srv = FaultServer::start(move |path| match path {
        "/good/latest" => Reply::ok(good.clone()),
        "/bad/latest" => Reply::ok(bad.clone()),
        _ => Reply::status(404),
    })
    .await;
    let limit = Duration::from_secs(5);
    let check = |db: String| {
        let s = settings(&[("GOSUMDB", &db), ("GOPROXY", "direct")]);
        async move {
            checksum_db::check(&s, modgate::doctor::deadline::Deadline::after(limit))
                .await
                .checked
        }
    };
    let Checked {
        findings: f,
        measured: m,
    } = check(format!("{vkey} {}/good", srv.origin)).await;
    assert_eq!(f, []);
    assert!(
        m[0].text.starts_with(&format!(
            "{}/good/latest (the database itself): signed tree head verified with sum.test's key in ",
            srv.origin
        )),
        "{m:?}"
    );
    let f = check(format!("{vkey} {}/bad", srv.origin)).await.findings;
    assert!(
        f[0].measured.starts_with(&format!(
            "{}/bad/latest (the database itself) does not verify with the key of GOSUMDB: ",
            srv.origin
        )),
        "{f:?}"
    );
    let port = free_port();
    let f = check(format!("{vkey} http://127.0.0.1:{port}"))
        .await
        .findings;
    assert!(
        f[0].measured.starts_with(&format!(
            "GET http://127.0.0.1:{port}/latest (the database itself): "
        )),
        "{f:?}"
    );
}

/// An HTTP proxy that tunnels CONNECT requests (and counts them).
async fn connect_proxy() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let c = c.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if conn.read(&mut b).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(b[0]);
                }
                let line = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                let Some(target) = line
                    .strip_prefix("CONNECT ")
                    .and_then(|l| l.split(' ').next())
                else {
                    let _ = conn
                        .write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                        .await;
                    return;
                };
                let Ok(mut up) = tokio::net::TcpStream::connect(target).await else {
                    let _ = conn
                        .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                        .await;
                    return;
                };
                c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = conn
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await;
                let _ = tokio::io::copy_bidirectional(&mut conn, &mut up).await;
            });
        }
    });
    (origin, count)
}

#[tokio::test]
async fn a_refused_certificate_is_inspected_through_the_http_proxy() {
    use crate::doctor_support::{TlsServer, certs};
    let dir = tempfile::tempdir().unwrap();
    let srv = TlsServer::start(&certs::openssl_req_x509(dir.path(), "127.0.0.1"), &[]).await;
    let (via, tunnels) = connect_proxy().await;
    let (f, m) = probe_proxy(
        &srv.origin,
        Some(&via),
        &Credentials::default(),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(m, None);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        f[0].cause,
        "the proxy's certificate is self-signed (CN=127.0.0.1, CA:TRUE, as `openssl req -x509` makes it) and this machine does not trust it: the go command fails with \"x509: certificate signed by unknown authority\""
    );
    // The request, then the inspection: both through the tunnel.
    assert_eq!(tunnels.load(std::sync::atomic::Ordering::SeqCst), 2);
}
