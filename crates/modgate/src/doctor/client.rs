//! What the doctor's network checks share (`network`, `checksum_db`, `git`,
//! `requirements`): an HTTP client as the go command's (its deadline, redirects, the HTTP
//! proxy of the environment it would use), and the shape of a network problem. A leaf:
//! it imports none of the checks.

use std::time::Duration;

use super::finding::{Finding, Group, Severity};
use crate::goenv::GoSettings;

/// A network finding that is a problem, with its fix.
pub(crate) fn problem(measured: String, cause: &str, fix: &str) -> Finding {
    Finding {
        group: Group::Network,
        severity: Severity::Problem,
        measured,
        cause: cause.to_string(),
        fix: Some(fix.to_string()),
    }
}

/// The HTTP proxy the go command goes through for `url`: HTTPS_PROXY for https, HTTP_PROXY
/// for http, unless NO_PROXY names the host (a domain suffix, `*`, or the exact host; as
/// Go's golang.org/x/net/http/httpproxy, loopback hosts never use a proxy).
pub fn http_proxy_for(url: &str, settings: &GoSettings) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    let host = u.host_str()?.trim_matches(['[', ']']).to_ascii_lowercase();
    if host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback())
    {
        return None;
    }
    let proxy = match u.scheme() {
        "https" => settings.get("HTTPS_PROXY"),
        _ => settings.get("HTTP_PROXY"),
    };
    if proxy.is_empty() {
        return None;
    }
    let excluded = settings.get("NO_PROXY").split(',').map(str::trim).any(|n| {
        let n = n.split(':').next().unwrap_or(n).to_ascii_lowercase();
        n == "*"
            || (!n.is_empty()
                && (host == n.trim_start_matches('.')
                    || host.ends_with(&format!(".{}", n.trim_start_matches('.')))))
    });
    (!excluded).then(|| proxy.to_string())
}

/// A duration as the report prints it.
pub(crate) fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// An HTTP client as the go command's: its deadline, redirects followed, the HTTP proxy
/// `via` or none.
pub(crate) fn client(via: Option<&str>, limit: Duration) -> Result<reqwest::Client, Finding> {
    let mut b = reqwest::Client::builder()
        .tls_info(true)
        .connect_timeout(limit)
        .timeout(limit)
        .redirect(reqwest::redirect::Policy::limited(10))
        .no_proxy();
    if let Some(v) = via {
        let p = reqwest::Proxy::all(v).map_err(|e| {
            problem(
                format!("the HTTP proxy {v} is not a URL: {e}"),
                "the go command cannot use it",
                &super::commands::set_env("HTTPS_PROXY", "http://<host>:<port>"),
            )
        })?;
        b = b.proxy(p);
    }
    b.build().map_err(|e| {
        problem(
            format!("cannot set up an HTTP client: {e}"),
            "the doctor cannot measure this",
            "report this",
        )
    })
}
