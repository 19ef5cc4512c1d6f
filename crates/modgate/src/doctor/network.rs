//! Network checks, per GOPROXY entry: name resolution, TCP connect, and a real request of
//! the protocol (`<proxy>/golang.org/x/mod/@v/list`), each bounded in time and measured:
//! names that do not resolve, refused connections, proxies that accept and never answer,
//! 403, 407, 429 and 5xx answers, TLS failures. (TLS details, throughput, the checksum
//! database and HTTP_PROXY are to come.)

use std::time::{Duration, Instant};

use super::finding::{Finding, Group, Severity};
use super::settings::GoSettings;
use crate::source::chain::{Entry, parse_list};

/// The probe request: a module every public proxy serves, and every proxy answers for.
const PROBE: &str = "golang.org/x/mod/@v/list";

fn problem(measured: String, cause: &str, fix: &str) -> Finding {
    Finding {
        group: Group::Network,
        severity: Severity::Problem,
        measured,
        cause: cause.to_string(),
        fix: Some(fix.to_string()),
    }
}

/// The findings for every http(s) entry of GOPROXY.
pub async fn check(settings: &GoSettings, limit: Duration) -> Vec<Finding> {
    let mut out = Vec::new();
    let Ok(entries) = parse_list(settings.get("GOPROXY")) else {
        return out;
    };
    for (entry, _) in entries {
        if let Entry::Url(u) = entry
            && (u.starts_with("https://") || u.starts_with("http://"))
        {
            out.extend(check_proxy(&u, limit).await);
        }
    }
    out
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// The findings for one proxy URL.
pub async fn check_proxy(url: &str, limit: Duration) -> Vec<Finding> {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return vec![problem(
            format!("GOPROXY entry {url} is not a URL"),
            "the go command cannot use it",
            "go env -w GOPROXY=https://proxy.golang.org,direct",
        )];
    };
    let host = parsed.host_str().unwrap_or_default().to_string();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let fix_other =
        format!("check the URL, or go env -w GOPROXY=<another proxy>,direct (now {url})");
    // Name resolution.
    let t0 = Instant::now();
    let addrs =
        match tokio::time::timeout(limit, tokio::net::lookup_host((host.as_str(), port))).await {
            Err(_) => {
                return vec![problem(
                    format!("resolving {host} took over {}", ms(limit)),
                    "name resolution hangs: every download through this proxy waits for it",
                    "check the DNS servers in /etc/resolv.conf",
                )];
            }
            Ok(Err(e)) => {
                return vec![problem(
                    format!("{host} does not resolve: {e}"),
                    "no download through this proxy can start",
                    &fix_other,
                )];
            }
            Ok(Ok(a)) => a.collect::<Vec<_>>(),
        };
    let Some(addr) = addrs.first().copied() else {
        return vec![problem(
            format!("{host} resolves to no address"),
            "no download through this proxy can start",
            &fix_other,
        )];
    };
    let dns = t0.elapsed();
    // TCP.
    let t1 = Instant::now();
    match tokio::time::timeout(limit, tokio::net::TcpStream::connect(addr)).await {
        Err(_) => {
            return vec![problem(
                format!("connecting to {addr} ({host}) took over {}", ms(limit)),
                "the proxy is unreachable (a firewall dropping packets looks like this): downloads hang until the go command gives up",
                &fix_other,
            )];
        }
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return vec![problem(
                format!("connection to {addr} ({host}) refused"),
                "nothing listens there: the proxy is down or the port is wrong",
                &fix_other,
            )];
        }
        Ok(Err(e)) => {
            return vec![problem(
                format!("connecting to {addr} ({host}): {e}"),
                "the proxy cannot be reached",
                &fix_other,
            )];
        }
        Ok(Ok(_)) => {}
    }
    let tcp = t1.elapsed();
    // The protocol.
    let client = match reqwest::Client::builder()
        .connect_timeout(limit)
        .timeout(limit)
        .redirect(reqwest::redirect::Policy::limited(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return vec![problem(
                format!("cannot set up an HTTP client: {e}"),
                "the doctor cannot measure this proxy",
                "report this",
            )];
        }
    };
    let probe = format!("{}/{PROBE}", url.trim_end_matches('/'));
    let t2 = Instant::now();
    let resp = match client.get(&probe).send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return vec![problem(
                format!(
                    "{host} accepted the connection (DNS {}, TCP {}) but sent no answer to GET {probe} within {}",
                    ms(dns),
                    ms(tcp),
                    ms(limit)
                ),
                "the proxy hangs: downloads through it wait until the go command gives up",
                &format!(
                    "go env -w GOPROXY=<another proxy>|{url},direct (| falls through on errors)"
                ),
            )];
        }
        Err(e) => {
            let chain = std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(": ");
            let tls =
                chain.contains("certificate") || chain.contains("tls") || chain.contains("TLS");
            return vec![problem(
                format!("GET {probe}: {chain}"),
                if tls {
                    "the TLS handshake failed: the go command refuses the proxy's certificate"
                } else {
                    "the request failed"
                },
                &fix_other,
            )];
        }
    };
    let first_byte = t2.elapsed();
    let status = resp.status().as_u16();
    let timing = format!(
        "DNS {}, TCP {}, first byte {}",
        ms(dns),
        ms(tcp),
        ms(first_byte)
    );
    match status {
        200..=299 | 404 | 410 => Vec::new(),
        403 => vec![problem(
            format!("GET {probe}: 403 Forbidden ({timing})"),
            "the proxy refuses this machine or these credentials",
            "check the credentials for it (~/.netrc, GOAUTH) and the proxy's access rules",
        )],
        407 => vec![problem(
            format!("GET {probe}: 407 Proxy Authentication Required ({timing})"),
            "an HTTP proxy between here and the module proxy wants credentials",
            "set credentials in HTTPS_PROXY (https://user:password@host:port), or NO_PROXY for this host",
        )],
        429 => {
            let retry = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(|v| format!(", Retry-After: {v}"))
                .unwrap_or_default();
            vec![problem(
                format!("GET {probe}: 429 Too Many Requests{retry} ({timing})"),
                "the proxy rate-limits this machine: downloads fail until it lets up",
                &format!("wait and retry, or go env -w GOPROXY=<another proxy>|{url},direct"),
            )]
        }
        s => vec![problem(
            format!("GET {probe}: {s} ({timing})"),
            if s >= 500 {
                "the proxy fails: with `,` after it the go command stops there"
            } else {
                "the proxy answers the protocol with an unexpected status"
            },
            &format!("go env -w GOPROXY={url}|<another proxy>,direct (| falls through on errors)"),
        )],
    }
}
