//! Network checks, per GOPROXY entry: name resolution, TCP connect (to the HTTP proxy of
//! the environment when HTTPS_PROXY / HTTP_PROXY apply and NO_PROXY does not exclude the
//! host, as the go command connects), the TLS handshake (unknown issuer or self-signed,
//! expired, another name, with the clock checked against the server's), a real request of
//! the protocol (`<proxy>/golang.org/x/mod/@v/list`) and the throughput of a real zip;
//! each bounded in time and measured.

use std::time::{Duration, Instant};

use super::checked::Checked;
use super::client::{client, http_proxy_for, ms, problem};
use super::credentials::Credentials;
use super::deadline::Deadline;
use super::finding::{Finding, Group, Severity};
use super::tls;
use crate::goenv::GoSettings;
use crate::source::chain::{Entry, parse_list};
use crate::source::error_chain;

/// A proxy's certificate expiring sooner than this (days) is a warning.
const CERT_WARN_DAYS: i64 = 14;

/// The probe request: a module every public proxy serves, and every proxy answers for.
const PROBE: &str = "golang.org/x/mod/@v/list";

/// What the network checks give.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The findings, and a line per proxy that answered.
    pub checked: Checked,
    /// The best download rate of a real zip (bytes per second), when one was measured.
    pub zip_rate: Option<f64>,
}

/// The findings for every http(s) entry of GOPROXY, run at once, with what was measured.
pub async fn check(settings: &GoSettings, dl: Deadline) -> Outcome {
    let mut out = Outcome::default();
    let Ok(entries) = parse_list(settings.get("GOPROXY")) else {
        return out;
    };
    let urls: Vec<String> = entries
        .iter()
        .filter_map(|(e, _)| match e {
            Entry::Url(u) if u.starts_with("https://") || u.starts_with("http://") => {
                Some(u.clone())
            }
            _ => None,
        })
        .collect();
    let via: Vec<Option<String>> = urls.iter().map(|u| http_proxy_for(u, settings)).collect();
    let creds = Credentials::of(settings);
    let probes = urls
        .iter()
        .zip(&via)
        .map(|(u, v)| probe(u, v.as_deref(), &creds, dl));
    for r in futures_util::future::join_all(probes).await {
        match r {
            Ok(p) => {
                out.checked.measure(Group::Network, p.line);
                out.checked.findings.extend(p.warnings);
                out.zip_rate = match (out.zip_rate, p.zip_rate) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
            Err(f) => out.checked.find(f),
        }
    }
    out
}

/// The findings for one proxy URL, reached without an HTTP proxy and with no credentials,
/// within `limit`.
pub async fn check_proxy(url: &str, limit: Duration) -> Vec<Finding> {
    probe_proxy(url, None, &Credentials::default(), limit)
        .await
        .0
}

/// The findings for one proxy URL reached through `via` (an HTTP proxy) when given, with
/// the credentials the go command would send; and a line of what was measured when it
/// answered; all within `limit`.
pub async fn probe_proxy(
    url: &str,
    via: Option<&str>,
    creds: &Credentials,
    limit: Duration,
) -> (Vec<Finding>, Option<String>) {
    match probe(url, via, creds, Deadline::after(limit)).await {
        Ok(p) => (p.warnings, Some(p.line)),
        Err(f) => (vec![f], None),
    }
}

/// What one proxy's probe measured: the report's line, the warnings found on the way
/// (each a finding; no warning stops the probe: a skewed clock still lets the
/// certificate's expiry and the throughput be measured), the zip download rate.
struct Probed {
    line: String,
    warnings: Vec<Finding>,
    zip_rate: Option<f64>,
}

/// Resolves and connects to `host:port`: the address and the two times, or the finding.
async fn connect(
    host: &str,
    port: u16,
    what: &str,
    fix: &str,
    dl: Deadline,
) -> Result<(Vec<std::net::SocketAddr>, Duration, Duration), Finding> {
    let t0 = Instant::now();
    let limit = dl.left();
    let addrs = match tokio::time::timeout(limit, tokio::net::lookup_host((host, port))).await {
        Err(_) => {
            return Err(problem(
                format!("resolving {host} took over {}", ms(limit)),
                &format!("name resolution hangs: every download through {what} waits for it"),
                "check the DNS servers in /etc/resolv.conf",
            ));
        }
        Ok(Err(e)) => {
            return Err(problem(
                format!("{host} does not resolve: {e}"),
                &format!(
                    "no download through {what} can start (\"dial tcp: lookup {host}: no such host\")"
                ),
                fix,
            ));
        }
        Ok(Ok(a)) => a.collect::<Vec<_>>(),
    };
    let Some(addr) = addrs.first().copied() else {
        return Err(problem(
            format!("{host} resolves to no address"),
            &format!("no download through {what} can start"),
            fix,
        ));
    };
    let dns = t0.elapsed();
    let t1 = Instant::now();
    let limit = dl.left();
    match tokio::time::timeout(limit, tokio::net::TcpStream::connect(addr)).await {
        Err(_) => Err(problem(
            format!("connecting to {addr} ({host}) took over {}", ms(limit)),
            &format!(
                "{what} is unreachable (a firewall dropping packets looks like this): downloads hang until the go command gives up (\"dial tcp {addr}: i/o timeout\")"
            ),
            fix,
        )),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Err(problem(
            format!("connection to {addr} ({host}) refused"),
            &format!("nothing listens there: {what} is down or the port is wrong"),
            fix,
        )),
        Ok(Err(e)) => Err(problem(
            format!("connecting to {addr} ({host}): {e}"),
            &format!("{what} cannot be reached"),
            fix,
        )),
        Ok(Ok(_)) => Ok((addrs, dns, t1.elapsed())),
    }
}

/// One proxy as probed: its URL and host, the HTTP proxy in the way, the credentials the
/// go command would send it.
struct Target<'a> {
    url: &'a str,
    /// `url` without a trailing `/`.
    base: &'a str,
    host: String,
    /// The port the URL names or its scheme's.
    port: u16,
    via: Option<&'a str>,
    creds: &'a Credentials,
    /// The fix when the proxy cannot be used at all.
    fix_other: String,
}

impl Target<'_> {
    /// A GET of `url` with the credentials the go command would send, and only those.
    fn get(&self, client: &reqwest::Client, url: &str) -> reqwest::RequestBuilder {
        let req = client.get(url);
        match self.creds.sent_for(self.url) {
            Some(l) => req.basic_auth(&l.login, Some(&l.password)),
            None => req,
        }
    }
}

/// What answered the probe request, and when.
struct Answered {
    resp: reqwest::Response,
    /// "DNS …, TCP …, first byte …".
    timing: String,
    addrs: Vec<std::net::SocketAddr>,
}

async fn probe(
    url: &str,
    via: Option<&str>,
    creds: &Credentials,
    dl: Deadline,
) -> Result<Probed, Finding> {
    if let Some(f) = Credentials::refused_in_url(url) {
        return Err(f);
    }
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Err(problem(
            format!("GOPROXY entry {url} is not a URL"),
            "the go command cannot use it",
            "go env -w GOPROXY=https://proxy.golang.org,direct",
        ));
    };
    let t = Target {
        url,
        base: url.trim_end_matches('/'),
        host: parsed.host_str().unwrap_or_default().to_string(),
        port: parsed.port_or_known_default().unwrap_or(443),
        via,
        creds,
        fix_other: format!(
            "go env -w GOPROXY=<another proxy>,direct  (or check the URL first: now {url})"
        ),
    };
    let (addrs, dns, tcp) = reach(&t, dl).await?;
    let client = client(via, dl.left())?;
    let probe = format!("{}/{PROBE}", t.base);
    let a = ask(&t, &client, &probe, (addrs, dns, tcp), dl).await?;
    let status = a.resp.status().as_u16();
    judge_status(&t, &a, &probe)?;
    let mut warnings = clock_and_certificate(&t.host, &a.resp);
    let versions = if status == 200 {
        a.resp.text().await.unwrap_or_default()
    } else {
        String::new()
    };
    let answers = a
        .addrs
        .iter()
        .map(|a| a.ip().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let mut line = format!(
        "{url}: {status} for {PROBE} ({}); resolved to {answers}",
        a.timing
    );
    if let Some(via) = via {
        line.push_str(&format!(", through {via}"));
    }
    let zip_rate = throughput(&t, &client, &versions, &mut line, &mut warnings).await;
    Ok(Probed {
        line,
        warnings,
        zip_rate,
    })
}

/// Name resolution and TCP, to the HTTP proxy when the request goes through one: the
/// addresses and the two times, or the finding.
async fn reach(
    t: &Target<'_>,
    dl: Deadline,
) -> Result<(Vec<std::net::SocketAddr>, Duration, Duration), Finding> {
    match t.via.and_then(|v| reqwest::Url::parse(v).ok()) {
        Some(v) => {
            let vh = v.host_str().unwrap_or_default().to_string();
            let what = format!(
                "the HTTP proxy {} (HTTPS_PROXY/HTTP_PROXY)",
                t.via.unwrap_or("")
            );
            let fix = format!(
                "fix or unset HTTPS_PROXY/HTTP_PROXY, or add {} to NO_PROXY",
                t.host
            );
            connect(
                &vh,
                v.port_or_known_default().unwrap_or(80),
                &what,
                &fix,
                dl,
            )
            .await
        }
        None => connect(&t.host, t.port, "this proxy", &t.fix_other, dl).await,
    }
}

/// The probe request: its answer, or the finding for a proxy that hangs, fails, or whose
/// certificate is refused (judged from the chain it presents, as the go command judges
/// it).
async fn ask(
    t: &Target<'_>,
    client: &reqwest::Client,
    probe: &str,
    (addrs, dns, tcp): (Vec<std::net::SocketAddr>, Duration, Duration),
    dl: Deadline,
) -> Result<Answered, Finding> {
    let t2 = Instant::now();
    match t.get(client, probe).send().await {
        Ok(resp) => Ok(Answered {
            resp,
            timing: format!(
                "DNS {}, TCP {}, first byte {}",
                ms(dns),
                ms(tcp),
                ms(t2.elapsed())
            ),
            addrs,
        }),
        Err(e) if e.is_timeout() => Err(problem(
            format!(
                "{} accepted the connection (DNS {}, TCP {}) but sent no answer to GET {probe} within {}",
                t.host,
                ms(dns),
                ms(tcp),
                ms(dl.whole())
            ),
            "the proxy hangs: downloads through it wait until the go command gives up",
            &format!(
                "go env -w 'GOPROXY=<another proxy>|{},direct'  (| falls through on errors)",
                t.url
            ),
        )),
        Err(e) => {
            let measured = format!("GET {probe}: {}", error_chain(&e));
            let Some(refusal) = tls::rustls_error(&e) else {
                return Err(problem(measured, "the request failed", &t.fix_other));
            };
            // Measured: the chain the proxy presents (through the HTTP proxy in the way,
            // as the go command connects), judged as the go command judges it.
            let host = &t.host;
            Err(match tls::inspect(host, t.port, t.via, dl).await {
                Some((cause, _)) => Finding {
                    severity: match cause {
                        tls::Cause::TrustedCaAsLeaf { .. } => Severity::Warning,
                        _ => Severity::Problem,
                    },
                    ..problem(measured, &cause.explain(host), &cause.fix(host))
                },
                None => {
                    let (cause, fix) = tls::from_rustls(refusal, host);
                    problem(measured, &cause, &fix)
                }
            })
        }
    }
}

/// The probe's status as the go command reads it: 2xx, 404 and 410 are answers of the
/// protocol; anything else is the finding.
fn judge_status(t: &Target<'_>, a: &Answered, probe: &str) -> Result<(), Finding> {
    let (status, timing, url) = (a.resp.status().as_u16(), &a.timing, t.url);
    match status {
        200..=299 | 404 | 410 => Ok(()),
        401 | 403 => {
            let reason = if status == 401 {
                "Unauthorized"
            } else {
                "Forbidden"
            };
            Err(t.creds.refused(
                url,
                status,
                format!("GET {probe}: {status} {reason} ({timing})"),
            ))
        }
        407 => Err(problem(
            format!("GET {probe}: 407 Proxy Authentication Required ({timing})"),
            "an HTTP proxy between here and the module proxy wants credentials",
            "set credentials in HTTPS_PROXY (https://user:password@host:port), or NO_PROXY for this host",
        )),
        429 => {
            let retry = a
                .resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(|v| format!(", Retry-After: {v}"))
                .unwrap_or_default();
            Err(problem(
                format!("GET {probe}: 429 Too Many Requests{retry} ({timing})"),
                "the proxy rate-limits this machine: downloads fail until it lets up",
                &format!(
                    "go env -w 'GOPROXY=<another proxy>|{url},direct'  (or wait and retry after the Retry-After)"
                ),
            ))
        }
        s => Err(problem(
            format!("GET {probe}: {s} ({timing})"),
            if s >= 500 {
                "the proxy fails: with `,` after it the go command stops there"
            } else {
                "the proxy answers the protocol with an unexpected status"
            },
            &format!(
                "go env -w 'GOPROXY={url}|<another proxy>,direct'  (| falls through on errors)"
            ),
        )),
    }
}

/// Warnings from the answer's headers and certificate: this machine's clock against the
/// proxy's `Date`, a certificate that expires soon.
fn clock_and_certificate(host: &str, resp: &reqwest::Response) -> Vec<Finding> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut warnings = Vec::new();
    let skew = resp
        .headers()
        .get("date")
        .and_then(|d| d.to_str().ok())
        .and_then(httpdate_seconds)
        .map(|server| now - server);
    if let Some(skew) = skew.filter(|s| s.abs() > 300) {
        warnings.push(Finding {
            group: Group::Network,
            severity: Severity::Warning,
            measured: format!("this machine's clock is {skew} s off the proxy's ({host})"),
            cause: "certificates are judged by this clock: a skewed clock makes valid ones look expired or not yet valid".into(),
            fix: Some("timedatectl set-ntp true  (then date -u)".into()),
        });
    }
    let expires = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|t| t.peer_certificate())
        .and_then(|der| x509_parser::parse_x509_certificate(der).ok())
        .map(|(_, c)| c.validity().not_after.timestamp());
    if let Some(not_after) = expires {
        let days = (not_after - now) / 86_400;
        if days < CERT_WARN_DAYS {
            warnings.push(Finding {
                group: Group::Network,
                severity: Severity::Warning,
                measured: format!("the certificate of {host} expires in {days} day(s)"),
                cause: "when it expires every download through this proxy fails (\"x509: certificate has expired\")".into(),
                fix: Some(format!("renew the certificate of {host} now")),
            });
        }
    }
    warnings
}

/// Throughput on a real zip, the newest version `versions` names: the rate (bytes a
/// second), added to `line`, with a warning when it is slow.
async fn throughput(
    t: &Target<'_>,
    client: &reqwest::Client,
    versions: &str,
    line: &mut String,
    warnings: &mut Vec<Finding>,
) -> Option<f64> {
    let v = versions
        .lines()
        .filter(|v| gomod::semver::is_valid(v))
        .max_by(|a, b| gomod::semver::compare(a, b))?;
    let zip = format!("{}/golang.org/x/mod/@v/{v}.zip", t.base);
    let started = Instant::now();
    let r = t.get(client, &zip).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    let body = r.bytes().await.ok()?;
    let rate = body.len() as f64 / started.elapsed().as_secs_f64().max(1e-6);
    line.push_str(&format!(
        "; golang.org/x/mod@{v}.zip: {} bytes in {}, {:.1} MB/s",
        body.len(),
        ms(started.elapsed()),
        rate / 1e6
    ));
    if rate < 100_000.0 && body.len() > 50_000 {
        warnings.push(Finding {
            group: Group::Network,
            severity: Severity::Warning,
            measured: line.clone(),
            cause: "downloads from this proxy are slow (under 100 KB/s)".into(),
            fix: Some(format!(
                "go env -w GOPROXY=<a nearer proxy>|{},direct",
                t.url
            )),
        });
    }
    Some(rate)
}

/// Seconds since the epoch of an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn httpdate_seconds(d: &str) -> Option<i64> {
    let t = httpdate::parse_http_date(d).ok()?;
    t.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goenv::test_settings;

    #[test]
    fn which_http_proxy_the_go_command_goes_through() {
        let s = test_settings(&[
            ("HTTPS_PROXY", "http://squid.corp:3128"),
            ("HTTP_PROXY", "http://plain.corp:8080"),
            ("NO_PROXY", "internal.corp, .lan:8443"),
        ]);
        let via = |u: &str| http_proxy_for(u, &s);
        assert_eq!(
            via("https://proxy.golang.org").as_deref(),
            Some("http://squid.corp:3128")
        );
        assert_eq!(
            via("http://goproxy.example").as_deref(),
            Some("http://plain.corp:8080")
        );
        assert_eq!(via("https://internal.corp/x"), None);
        assert_eq!(via("https://goproxy.internal.corp"), None);
        assert_eq!(via("https://git.lan"), None);
        assert_eq!(
            via("https://xinternal.corp"),
            Some("http://squid.corp:3128".into())
        );
        assert_eq!(via("http://127.0.0.1:3000"), None);
        assert_eq!(via("http://[::1]:3000"), None);
        assert_eq!(via("http://localhost:3000"), None);
        let all = test_settings(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", "*")]);
        assert_eq!(http_proxy_for("https://a.example", &all), None);
        assert_eq!(
            http_proxy_for("https://a.example", &test_settings(&[])),
            None
        );
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            httpdate_seconds("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            httpdate_seconds("Sun, 22 Nov 2026 15:38:00 GMT"),
            Some(1_795_361_880)
        );
        assert_eq!(httpdate_seconds("yesterday"), None);
    }
}
