//! The doctor's network checks against real servers on loopback, one fault at a time: a
//! healthy proxy gives no finding; a refused connection, a proxy that accepts and never
//! answers, 403, 429 and 500 each give one finding naming what was measured.

mod proxy_support;

use std::time::Duration;

use modgate::doctor::finding::{Group, Severity};
use modgate::doctor::network::check_proxy;
use proxy_support::{FaultServer, Reply, closed_port};

const PROBE: &str = "golang.org/x/mod/@v/list";

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
    let port = closed_port();
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
    let f = check_proxy(&format!("{o}/forbidden"), limit).await;
    assert_eq!(
        f[0].fix.as_deref(),
        Some("check the credentials for it (~/.netrc, GOAUTH) and the proxy's access rules")
    );
    let f = check_proxy(&format!("{o}/unauthorized"), limit).await;
    assert_eq!(
        f[0].fix.as_deref(),
        Some(
            "printf 'machine 127.0.0.1 login <user> password <token>\\n' >> ~/.netrc  (the go command sends ~/.netrc credentials to proxies)"
        )
    );
}
