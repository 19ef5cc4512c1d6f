//! Why a proxy answered 404 or 410 for a module, told apart before it is named:
//! - the checksum database knows that module version: it is public, and the proxy lacks it
//!   (not mirrored, filtered). Making it private would send it around the proxy and break
//!   the build: no GOPRIVATE fix is printed;
//! - the database does not know it either: it looks private (or the version does not
//!   exist), and its name leaked to the proxy: GOPRIVATE is the fix;
//! - the proxy answers 404 for a module every proxy has (`golang.org/x/mod`'s list): the
//!   URL serves nothing (a wrong path), whatever the module;
//! - no database can say (GOSUMDB off, GONOSUMDB covers it, the database did not answer):
//!   both candidates are listed with what tells them apart, and no fix is printed.

use std::collections::HashMap;

use super::checked::Checked;
use super::checksum_db::Reached;
use super::client::{client, http_proxy_for};
use super::deadline::Deadline;
use super::finding::{Finding, Group, Severity};
use super::requirements::NotFound;
use super::routing::route;
use crate::goenv::GoSettings;
use crate::source::chain::Entry;

/// A module every proxy serves.
const WELL_KNOWN: &str = "golang.org/x/mod/@v/list";

/// What the checksum database said about a module version.
enum DbSays {
    Knows(String),
    DoesNotKnow(String),
    CannotTell(String),
}

async fn ask_db(db: Option<&Reached>, settings: &GoSettings, nf: &NotFound) -> DbSays {
    let Some(db) = db else {
        return DbSays::CannotTell("no checksum database answered (GOSUMDB, or see above)".into());
    };
    if route(settings, &nf.module).is_ok_and(|r| r.sumdb.is_none()) {
        return DbSays::CannotTell(format!(
            "the checksum database is not asked about it (GONOSUMDB={})",
            settings.get("GONOSUMDB")
        ));
    }
    let (Ok(ep), Ok(ev)) = (
        gomod::module::escape_path(&nf.module),
        gomod::module::escape_version(&nf.version),
    ) else {
        return DbSays::CannotTell("the module path or version cannot be escaped".into());
    };
    let url = format!("{}/lookup/{ep}@{ev}", db.base);
    match db.client.get(&url).send().await {
        Ok(r) if r.status().is_success() => {
            DbSays::Knows(format!("GET {url}: {}", r.status().as_u16()))
        }
        Ok(r) if matches!(r.status().as_u16(), 404 | 410) => {
            let status = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            let first = body.lines().next().unwrap_or("").trim().to_string();
            DbSays::DoesNotKnow(if first.is_empty() {
                format!("GET {url}: {status}")
            } else {
                format!("GET {url}: {status} {first}")
            })
        }
        Ok(r) => DbSays::CannotTell(format!("GET {url}: {}", r.status().as_u16())),
        Err(e) => DbSays::CannotTell(format!("GET {url}: {}", crate::source::error_chain(&e))),
    }
}

/// The status `proxy` answers for a module every proxy has, and the URL asked.
async fn well_known(settings: &GoSettings, proxy: &str, dl: Deadline) -> Option<(u16, String)> {
    let url = format!("{}/{WELL_KNOWN}", proxy.trim_end_matches('/'));
    let c = client(http_proxy_for(proxy, settings).as_deref(), dl.left()).ok()?;
    let r = c.get(&url).send().await.ok()?;
    Some((r.status().as_u16(), url))
}

/// Whether `proxy` answers 404/410 for a module every proxy has, and what it answered.
async fn serves_nothing(settings: &GoSettings, proxy: &str, dl: Deadline) -> Option<String> {
    let (status, url) = well_known(settings, proxy, dl).await?;
    matches!(status, 404 | 410).then(|| format!("GET {url}: {status}"))
}

/// The URLs above `proxy` (its path cut one element at a time, nearest first), at most a
/// few: where a proxy mounted under a path usually is, when the path was mistyped.
fn ancestors(proxy: &str) -> Vec<String> {
    let Some((scheme, rest)) = proxy.trim_end_matches('/').split_once("://") else {
        return Vec::new();
    };
    let mut parts: Vec<&str> = rest.split('/').collect();
    let mut out = Vec::new();
    while parts.len() > 1 && out.len() < 4 {
        parts.pop();
        out.push(format!("{scheme}://{}", parts.join("/")));
    }
    out
}

/// The nearest URL above `proxy` that serves the well-known module (200), with what it
/// answered.
async fn right_url(settings: &GoSettings, proxy: &str, dl: Deadline) -> Option<(String, String)> {
    for up in ancestors(proxy) {
        if let Some((200, url)) = well_known(settings, &up, dl).await {
            return Some((up, format!("GET {url}: 200")));
        }
    }
    None
}

fn then(nf: &NotFound) -> String {
    match &nf.next {
        Some(Entry::Direct) => "then fetches it direct with git".to_string(),
        Some(Entry::Url(u)) => format!("then asks {u}"),
        _ => "then fails: there is no next entry".to_string(),
    }
}

/// The findings for the modules proxies did not have, each cause checked first.
pub async fn judge(
    not_found: &[NotFound],
    db: Option<&Reached>,
    settings: &GoSettings,
    dl: Deadline,
) -> Checked {
    let mut out = Checked::default();
    // A proxy that serves nothing is one finding, whatever the modules.
    let mut nothing: HashMap<&str, Option<String>> = HashMap::new();
    for nf in not_found {
        let (m, v, proxy) = (&nf.module, &nf.version, &nf.proxy);
        let head = format!("GET {}: {}", nf.url, nf.status);
        if !nothing.contains_key(proxy.as_str()) {
            let answer = serves_nothing(settings, proxy, dl).await;
            if let Some(a) = &answer {
                let right = right_url(settings, proxy, dl).await;
                out.find(serves_nothing_finding(
                    &head,
                    a,
                    proxy,
                    right,
                    settings.get("GOPROXY"),
                ));
            }
            nothing.insert(proxy, answer);
        }
        if nothing[proxy.as_str()].is_some() {
            continue;
        }
        let host = m.split('/').next().unwrap_or(m);
        let gopriv = match settings.get("GOPRIVATE") {
            "" => format!("go env -w GOPRIVATE={host}"),
            p => format!("go env -w GOPRIVATE={p},{host}"),
        };
        let finding = match ask_db(db, settings, nf).await {
            DbSays::Knows(measured) => {
                // A public module: never make it private.
                let severity = if nf.next.is_some() {
                    Severity::Warning
                } else {
                    Severity::Problem
                };
                Finding {
                    group: Group::Configuration,
                    severity,
                    measured: format!(
                        "{head}; the checksum database knows {m}@{v} ({measured}): a public module"
                    ),
                    cause: format!(
                        "{proxy} does not have this public module version (not mirrored yet, or filtered out): the go command {}. It is not private: GOPRIVATE would send it around every proxy",
                        then(nf)
                    ),
                    fix: match &nf.next {
                        Some(_) => None,
                        None => Some(format!(
                            "go env -w GOPROXY={},direct  (or ask the operators of {proxy} to mirror it)",
                            settings.get("GOPROXY")
                        )),
                    },
                }
            }
            DbSays::DoesNotKnow(measured) => Finding {
                group: Group::Configuration,
                severity: Severity::Problem,
                measured: format!(
                    "{head}; {m} is not covered by GOPRIVATE or GONOPROXY, and the checksum database does not know it either ({measured})"
                ),
                cause: format!(
                    "{m} looks private (or {v} does not exist): the go command sent its name to {proxy}, {}. A private module's name leaks this way, on every download",
                    then(nf)
                ),
                fix: Some(gopriv),
            },
            DbSays::CannotTell(why) => Finding {
                group: Group::Configuration,
                severity: Severity::Problem,
                measured: format!(
                    "{head}; {m} is not covered by GOPRIVATE or GONOPROXY, and whether it is public cannot be told: {why}"
                ),
                cause: format!(
                    "either {m} is private (its name goes to {proxy} on every download; the fix would be {gopriv}), or {proxy} lacks this public version (then the go command {}; making it private would break that). A lookup of {m}@{v} in a checksum database tells them apart",
                    then(nf)
                ),
                fix: None,
            },
        };
        out.find(finding);
    }
    out
}

fn serves_nothing_finding(
    head: &str,
    nothing: &str,
    proxy: &str,
    right: Option<(String, String)>,
    goproxy: &str,
) -> Finding {
    let (measured, fix) = match right {
        Some((up, answered)) => {
            let list = goproxy.replacen(proxy, &up, 1);
            let quote = if list.contains('|') { "'" } else { "" };
            (
                format!("{head}; {nothing} too; {answered}"),
                format!("go env -w {quote}GOPROXY={list}{quote}  ({up} serves modules)"),
            )
        }
        None => (
            format!("{head}; {nothing} too"),
            format!(
                "check the GOPROXY URL (curl {proxy}/{WELL_KNOWN} must list versions), then go env -w GOPROXY=<the right URL>,direct"
            ),
        ),
    };
    Finding {
        group: Group::Configuration,
        severity: Severity::Problem,
        measured,
        cause: format!(
            "{proxy} answers 404 for a module every proxy has: the URL is wrong (a missing or extra path) or it serves nothing, whatever the module"
        ),
        fix: Some(fix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_urls_above_a_proxy() {
        assert_eq!(
            ancestors("https://a.corp/api/go/modules/"),
            [
                "https://a.corp/api/go",
                "https://a.corp/api",
                "https://a.corp"
            ]
        );
        assert!(ancestors("https://a.corp").is_empty());
        assert!(ancestors("off").is_empty());
    }

    #[test]
    fn the_right_url_replaces_the_wrong_one_in_the_list() {
        let f = serves_nothing_finding(
            "GET h: 404",
            "GET w: 404",
            "https://a.corp/wrong",
            Some(("https://a.corp".into(), "GET r: 200".into())),
            "https://a.corp/wrong|https://b.corp,direct",
        );
        assert_eq!(
            f.fix_commands(),
            ["go env -w 'GOPROXY=https://a.corp|https://b.corp,direct'"]
        );
        assert_eq!(f.measured, "GET h: 404; GET w: 404 too; GET r: 200");
    }
}
