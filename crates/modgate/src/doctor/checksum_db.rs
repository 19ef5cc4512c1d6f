//! The checksum database as the go command reaches it (cmd/go/internal/modfetch
//! `sumdb.go`): through the first GOPROXY entry that serves `/sumdb/<name>/supported`
//! (404/410 move on, as does any error after `|`; another error after `,` stops there and
//! the database is not asked), else the database's own URL; then its `latest` signed tree
//! head, fetched and verified against GOSUMDB's key.

use std::time::Instant;

use super::checked::Checked;
use super::client::{client, http_proxy_for, ms, problem};
use super::deadline::Deadline;
use super::finding::Group;
use crate::goenv::GoSettings;
use crate::source::chain::{Entry, parse_list};
use crate::source::error_chain;

/// The checksum database as it was reached, its signed tree head verified.
#[derive(Debug, Clone)]
pub struct Reached {
    /// Its name (GOSUMDB's).
    pub name: String,
    /// GOSUMDB's verifier key.
    pub key: String,
    /// Its base URL on the route taken (`<proxy>/sumdb/<name>` or its own URL).
    pub base: String,
    /// That route in words.
    pub how: String,
    /// The client for that route.
    pub client: reqwest::Client,
    /// The signed tree head the go command trusts for it, and its file
    /// (`$GOPATH/pkg/sumdb/<name>/latest`, as cmd/go's `SumdbDir` names it), when it has
    /// one: a database whose tree does not extend it is the one the go command refuses.
    pub trusted: Option<(std::path::PathBuf, Vec<u8>)>,
    /// The signed tree head it serves now (its `/latest`, verified with the key).
    pub latest: Vec<u8>,
}

/// The tree head the go command under `settings` trusts for the database `name`.
fn trusted_by_go(settings: &GoSettings, name: &str) -> Option<(std::path::PathBuf, Vec<u8>)> {
    let first = std::env::split_paths(settings.get("GOPATH")).next()?;
    // A name may hold a `/` (`localhost.localdev/sumdb`): cmd/go joins `<name>/latest`.
    if first.as_os_str().is_empty() {
        return None;
    }
    let file = first
        .join("pkg/sumdb")
        .join(gomod::layout::plain(name).ok()?)
        .join("latest");
    let data = std::fs::read(&file).ok()?;
    Some((file, data))
}

/// What the database check gives: its findings, and the database when it answered.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Findings and measurements.
    pub checked: Checked,
    /// The database, reached and its tree head verified.
    pub reached: Option<Reached>,
}

/// The checksum database: through the first GOPROXY entry that serves
/// `/sumdb/<name>/supported` (404/410 move on; `direct` means the database itself), its
/// `latest` signed tree head, verified against GOSUMDB's key. Nothing when GOPROXY cannot
/// be parsed (the configuration check says why).
pub async fn check(settings: &GoSettings, dl: Deadline) -> Outcome {
    let mut reached = None;
    let checked = check_into(settings, dl, &mut reached).await;
    Outcome { checked, reached }
}

/// The route the go command takes to the database `db`: the first GOPROXY entry that
/// serves `/sumdb/<name>/supported` (404/410 move on; `|` falls through on any error),
/// else the database itself; its base URL and the route in words. `None` when the go
/// command stops at a proxy's error (after `,`) and never asks the database.
async fn route_to_db(
    settings: &GoSettings,
    entries: &[(Entry, bool)],
    db: &crate::sumdb::spec::SumDb,
    dl: Deadline,
    out: &mut Checked,
) -> Option<(String, String)> {
    let name = &db.name;
    if db.url.is_some() {
        return Some((db.direct_url(), "the database itself".to_string()));
    }
    for (e, fallback) in entries {
        let Entry::Url(u) = e else { break };
        let via = http_proxy_for(u, settings);
        let Ok(c) = client(via.as_deref(), dl.left()) else {
            break;
        };
        let sup = format!("{}/sumdb/{name}/supported", u.trim_end_matches('/'));
        match c.get(&sup).send().await {
            Ok(r) if r.status().is_success() => {
                out.measure(
                    Group::Network,
                    format!("GET {sup}: {}", r.status().as_u16()),
                );
                return Some((
                    format!("{}/sumdb/{name}", u.trim_end_matches('/')),
                    format!("proxied by {u}"),
                ));
            }
            Ok(r) if matches!(r.status().as_u16(), 404 | 410) => {
                out.measure(
                    Group::Network,
                    format!(
                        "GET {sup}: {} (the go command goes on)",
                        r.status().as_u16()
                    ),
                );
            }
            // `|` falls through on any error; after `,` the go command stops at the error
            // (the proxy's own check reports it) and never asks the database.
            _ if *fallback => continue,
            _ => return None,
        }
    }
    Some((db.direct_url(), "the database itself".to_string()))
}

async fn check_into(settings: &GoSettings, dl: Deadline, reached: &mut Option<Reached>) -> Checked {
    let mut out = Checked::default();
    let Ok(entries) = parse_list(settings.get("GOPROXY")) else {
        return out;
    };
    let gosumdb = settings.get("GOSUMDB");
    let db = match crate::sumdb::spec::parse(gosumdb) {
        Ok(Some(db)) => db,
        Ok(None) => return out,
        Err(e) => {
            out.find(problem(
                format!("GOSUMDB={gosumdb}: {e}"),
                "the go command cannot verify any module",
                "go env -u GOSUMDB",
            ));
            return out;
        }
    };
    let name = &db.name;
    let Some((base, how)) = route_to_db(settings, &entries, &db, dl, &mut out).await else {
        return out;
    };
    let via = http_proxy_for(&base, settings);
    let c = match client(via.as_deref(), dl.left()) {
        Ok(c) => c,
        Err(f) => {
            out.find(f);
            return out;
        }
    };
    let latest = format!("{base}/latest");
    let t = Instant::now();
    let fail = |measured: String, cause: &str| {
        problem(
            measured,
            cause,
            &format!(
                "if {name} is blocked here, go env -w GOPROXY=<a proxy that serves /sumdb/{name}/>; for private modules, go env -w GONOSUMDB=<their patterns>"
            ),
        )
    };
    let body = match c.get(&latest).send().await {
        Ok(r) if r.status().is_success() => r.bytes().await.unwrap_or_default(),
        Ok(r) => {
            out.find(fail(
                format!("GET {latest} ({how}): {}", r.status().as_u16()),
                "the checksum database cannot be read: every module not in go.sum fails to verify",
            ));
            return out;
        }
        Err(e) => {
            let chain = error_chain(&e);
            out.find(fail(
                format!("GET {latest} ({how}): {chain}"),
                "the checksum database cannot be reached: every module not in go.sum fails to verify (\"verifying module: ... dial tcp\")",
            ));
            return out;
        }
    };
    let verified = gomod::sumdb::note::Verifier::new(&db.key)
        .map_err(|e| e.to_string())
        .and_then(|v| {
            gomod::sumdb::note::open(&body, std::slice::from_ref(&v)).map_err(|e| e.to_string())
        });
    match verified {
        Ok(_) => {
            out.measure(
                Group::Network,
                format!(
                    "{latest} ({how}): signed tree head verified with {name}'s key in {}",
                    ms(t.elapsed())
                ),
            );
            *reached = Some(Reached {
                name: name.clone(),
                key: db.key.clone(),
                base,
                how,
                client: c,
                trusted: trusted_by_go(settings, name),
                latest: body.to_vec(),
            });
        }
        Err(e) => out.find(problem(
            format!("{latest} ({how}) does not verify with the key of GOSUMDB: {e}"),
            "something between here and the database answers in its place, or GOSUMDB names the wrong key: the go command refuses it",
            "check GOSUMDB's key (go env GOSUMDB) and what answers at that URL",
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trusted_head_is_where_the_go_command_keeps_it() {
        let gp = tempfile::tempdir().unwrap();
        let dir = gp.path().join("pkg/sumdb/localhost.localdev/sumdb");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("latest"), b"head").unwrap();
        let s = crate::goenv::test_settings(&[("GOPATH", gp.path().to_str().unwrap())]);
        assert_eq!(
            trusted_by_go(&s, "localhost.localdev/sumdb"),
            Some((dir.join("latest"), b"head".to_vec()))
        );
        assert_eq!(trusted_by_go(&s, "sum.golang.org"), None);
        assert_eq!(trusted_by_go(&s, "../x"), None);
    }
}
