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
                let ask = Ask {
                    module: module.clone(),
                    version: version.to_string(),
                    proxy: proxy.clone(),
                    next,
                    url,
                    no_db: r.sumdb.is_none(),
                };
                asks.push(tokio::spawn(async move {
                    let resp = client.get(&ask.url).send().await;
                    Asked { ask, resp }
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
        let Ok(asked) = ask.await else {
            continue;
        };
        // Failures of the proxy itself are the network check's.
        if let Ok(resp) = asked.resp {
            answered(&mut out, asked.ask, resp, modcache, sums).await;
        }
    }
    out
}

/// An [`Ask`] and what came back.
struct Asked {
    ask: Ask,
    resp: reqwest::Result<reqwest::Response>,
}

/// One `.mod` asked of a module's first proxy.
struct Ask {
    module: String,
    version: String,
    proxy: String,
    /// The entry after the proxy in the module's route.
    next: Option<Entry>,
    url: String,
    /// Whether no checksum database is asked about the module.
    no_db: bool,
}

/// What a proxy answered for `ask`: a 404/410 kept for the judgement of why; a `.mod`
/// checked for the path it declares, kept with its hash, and compared with go.sum when
/// no database is asked about the module.
async fn answered(
    out: &mut Outcome,
    ask: Ask,
    resp: reqwest::Response,
    modcache: &Path,
    sums: &[Line],
) {
    let Ask {
        module,
        version,
        proxy,
        next,
        url,
        no_db,
    } = ask;
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
        return;
    }
    if !resp.status().is_success() {
        return;
    }
    let Ok(data) = resp.bytes().await else {
        return;
    };
    let declared = gomod::modfile::module_path(&data);
    if !declared.is_empty() && declared != module {
        out.checked
            .find(declared_path_finding(&module, &version, &declared, &proxy));
    }
    let h = gomod::dirhash::hash_go_mod(&data);
    if no_db {
        for l in go_sum::of(sums, &module, &version) {
            if l.go_mod && l.hash != h {
                against_go_sum(out, l, &proxy, &h, modcache);
            }
        }
    }
    out.served.insert((module, version), (proxy, h));
}

/// The finding for go.sum line `l` that the proxy's go.mod (hashing to `h`) contradicts,
/// for a module no database is asked about.
fn against_go_sum(out: &mut Outcome, l: &Line, proxy: &str, h: &str, modcache: &Path) {
    // The module cache's copy agreeing with the proxy: two copies against go.sum's line
    // (this finding replaces the cache check's for it).
    let cache_agrees = l.cached_hash(modcache).as_deref() == Some(h);
    if cache_agrees {
        out.owned.push(l.at());
    }
    let sources = if cache_agrees {
        format!("{proxy} serves, and the module cache holds, a go.mod that hashes to")
    } else {
        format!("{proxy} serves a go.mod that hashes to")
    };
    let doubt = format!(
        "No checksum database is asked about {}: go.sum or the proxy is wrong{}; compare with another copy of the module before changing go.sum",
        l.module,
        if cache_agrees {
            " (the module cache, filled earlier, agrees with the proxy)"
        } else {
            ""
        }
    );
    out.checked
        .find(go_sum::mismatch(l, h, &sources, Some(&doubt)));
}
