//! Each required module, asked for as the go command asks: its `.mod` from the first proxy
//! of its route (or, for modules fetched direct, the copy in the module cache). Finds
//! modules a proxy does not know (`not_found.rs` tells whether they are private or the
//! proxy lacks them), go.mod files that declare another module path than the one required,
//! and go.sum lines the proxy's go.mod contradicts for modules no database is asked about.

use std::collections::HashMap;
use std::path::Path;

use gomod::layout::{self, Ext};

use super::checked::Checked;
use super::client::{client, http_proxy_for};
use super::deadline::Deadline;
use super::finding::{Finding, Group, Severity};
use super::go_sum::{self, Line};
use super::routing::route;
use crate::goenv::GoSettings;
use crate::source::chain::Entry;

/// What the requirements check gives.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The findings (it measures nothing).
    pub checked: Checked,
    /// Modules a proxy did not know and the go command will fetch direct.
    pub to_direct: Vec<String>,
    /// The `h1:` hash of the `.mod` each proxy served, by (module, version), with the
    /// proxy's URL.
    pub served: HashMap<(String, String), (String, String)>,
    /// The modules a proxy answered 404 or 410 for (`not_found::judge` tells why).
    pub not_found: Vec<NotFound>,
    /// go.sum lines (`file:line`) judged here that the cache check also names.
    pub owned: Vec<String>,
}

/// A module version a proxy does not have.
#[derive(Debug, Clone)]
pub struct NotFound {
    /// The module path.
    pub module: String,
    /// The version asked for.
    pub version: String,
    /// The proxy asked.
    pub proxy: String,
    /// The URL asked.
    pub url: String,
    /// Its answer (404 or 410).
    pub status: u16,
    /// The entry the go command tries next, if any.
    pub next: Option<Entry>,
}

fn declared_path_finding(module: &str, version: &str, declared: &str, from: &str) -> Finding {
    Finding {
        group: Group::Configuration,
        severity: Severity::Problem,
        measured: format!("the go.mod of {module}@{version} ({from}) declares module {declared}"),
        cause: "the go command stops with \"module declares its path as ... but was required as ...\": the module moved or is required by the wrong name".into(),
        fix: Some(format!(
            "go mod edit -droprequire {module} && go get {declared}@{version}  (and import {declared})"
        )),
    }
}

/// Checks `targets` (module, version) under `settings`; `modcache` is GOMODCACHE,
/// `sums` the project's go.sum lines (the `.mod` a proxy serves for a module not looked up
/// in a checksum database is compared with them; the database check does the others).
pub async fn check(
    settings: &GoSettings,
    targets: &[(String, Option<String>)],
    modcache: &Path,
    sums: &[Line],
    dl: Deadline,
) -> Outcome {
    let mut out = Outcome::default();
    // One client per proxy, through the HTTP proxy the go command would use for it.
    let mut clients: HashMap<String, reqwest::Client> = HashMap::new();
    let mut asks = Vec::new();
    for (module, version) in targets {
        let Some(version) = version
            .as_deref()
            .filter(|v| gomod::semver::is_valid(v) && gomod::semver::canonical(v) == **v)
        else {
            continue;
        };
        let Ok(r) = route(settings, module) else {
            continue;
        };
        let (Ok(served), Ok(cached)) = (
            layout::proxy_version_file(module, version, Ext::Mod),
            layout::version_file(module, version, Ext::Mod),
        ) else {
            continue;
        };
        match r.entries.first() {
            Some((Entry::Url(proxy), _)) => {
                let url = format!("{}/{served}", proxy.trim_end_matches('/'));
                let next = r.entries.get(1).map(|(e, _)| e.clone());
                let client = match clients.get(proxy) {
                    Some(c) => c.clone(),
                    None => {
                        let Ok(c) = client(http_proxy_for(proxy, settings).as_deref(), dl.left())
                        else {
                            continue;
                        };
                        clients.insert(proxy.clone(), c.clone());
                        c
                    }
                };
                let (module, version, proxy) = (module.clone(), version.to_string(), proxy.clone());
                let no_db = r.sumdb.is_none();
                asks.push(tokio::spawn(async move {
                    let resp = client.get(&url).send().await;
                    (module, version, proxy, next, url, no_db, resp)
                }));
            }
            Some((Entry::Direct, _)) => {
                let cached = modcache.join(cached);
                if let Ok(data) = std::fs::read(&cached) {
                    let declared = gomod::modfile::module_path(&data);
                    if !declared.is_empty() && declared != *module {
                        out.checked.find(declared_path_finding(
                            module,
                            version,
                            &declared,
                            &cached.display().to_string(),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    for ask in asks {
        let Ok((module, version, proxy, next, url, no_db, resp)) = ask.await else {
            continue;
        };
        // Failures of the proxy itself are the network check's.
        let Ok(resp) = resp else { continue };
        let status = resp.status().as_u16();
        if status == 404 || status == 410 {
            if matches!(next, Some(Entry::Direct)) {
                out.to_direct.push(module.clone());
            }
            out.not_found.push(NotFound {
                module,
                version,
                proxy,
                url,
                status,
                next,
            });
        } else if resp.status().is_success() {
            let Ok(data) = resp.bytes().await else {
                continue;
            };
            let declared = gomod::modfile::module_path(&data);
            if !declared.is_empty() && declared != module {
                out.checked
                    .find(declared_path_finding(&module, &version, &declared, &proxy));
            }
            let h = gomod::dirhash::hash_go_mod(&data);
            if no_db {
                for l in go_sum::of(sums, &module, &version) {
                    if !l.go_mod || l.hash == h {
                        continue;
                    }
                    // The module cache's copy agreeing with the proxy: two copies against
                    // go.sum's line (this finding replaces the cache check's for it).
                    let cache_agrees = l.cached_hash(modcache).as_deref() == Some(h.as_str());
                    if cache_agrees {
                        out.owned.push(l.at());
                    }
                    let sources = if cache_agrees {
                        format!(
                            "{proxy} serves, and the module cache holds, a go.mod that hashes to"
                        )
                    } else {
                        format!("{proxy} serves a go.mod that hashes to")
                    };
                    let doubt = format!(
                        "No checksum database is asked about {module}: go.sum or the proxy is wrong{}; compare with another copy of the module before changing go.sum",
                        if cache_agrees {
                            " (the module cache, filled earlier, agrees with the proxy)"
                        } else {
                            ""
                        }
                    );
                    out.checked
                        .find(go_sum::mismatch(l, &h, &sources, Some(&doubt)));
                }
            }
            out.served.insert((module, version), (proxy, h));
        }
    }
    out
}
