//! go.sum against the checksum database: each requirement's go.sum lines compared with
//! the database's records, looked up on the route the go command takes to the database
//! and proven in its signed tree (gomod's client), whether or not the module cache holds
//! the module. A line the database contradicts makes the go command stop with "checksum
//! mismatch ... SECURITY ERROR" when it downloads the module; where the proxy's own bytes
//! were measured too (the requirements check's `.mod`), the finding says whether they agree
//! with the database, which tells a wrong go.sum from a proxy that serves other bytes.
//!
//! The doctor changes nothing: the tree head it trusts starts as the one the go command
//! trusts (`$GOPATH/pkg/sumdb/<name>/latest`, read, never written), so a database that
//! forked since the go command last read it is found as the go command finds it; tiles
//! and records come from the go command's copies in the module cache when it has them
//! (read only), else from the database, and are kept in memory.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use gomod::sumdb::client::{Client, ClientError, ClientOps};

use super::checked::Checked;
use super::checksum_db::Reached;
use super::deadline::Deadline;
use super::finding::{Finding, Group, Severity};
use super::go_sum::{self, Line};

/// How many lookups are fetched at once.
const AT_ONCE: usize = 8;

/// The host side of the client: the database on the route measured, lookups fetched
/// beforehand, everything else in memory.
struct Ops {
    db: Reached,
    handle: tokio::runtime::Handle,
    fetched: HashMap<String, Result<Vec<u8>, Error>>,
    latest: Mutex<Vec<u8>>,
    cache: Mutex<HashMap<String, Vec<u8>>>,
    /// The go command's own copies of what it proved
    /// (`$GOMODCACHE/cache/download/sumdb/`), read as it reads them, never written.
    go_cache: std::path::PathBuf,
    /// What the client reported of a misbehaving database, for the finding.
    security: Arc<Mutex<Vec<String>>>,
}

/// Why a file of the database could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No answer, or its body was cut short (the error with its causes).
    #[error("GET {url}: {}", crate::source::error_chain(source))]
    Transport {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// An answer other than a success.
    #[error("GET {url}: {status}{}{body}", if body.is_empty() { "" } else { " " })]
    Status {
        /// The URL.
        url: String,
        /// Its status.
        status: u16,
        /// The first line of its body, trimmed.
        body: String,
    },
}

async fn get(db: &Reached, path: &str) -> Result<Vec<u8>, Error> {
    let url = format!("{}{path}", db.base);
    match db.client.get(&url).send().await {
        Ok(r) if r.status().is_success() => r
            .bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|source| Error::Transport { url, source }),
        Ok(r) => {
            let status = r.status();
            let body = r.text().await.unwrap_or_default();
            let body = body.lines().next().unwrap_or("").trim().to_string();
            Err(Error::Status {
                url,
                status: status.as_u16(),
                body,
            })
        }
        Err(source) => Err(Error::Transport { url, source }),
    }
}

impl ClientOps for Ops {
    fn read_remote(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        // The client takes a lower layer's error as text.
        match self.fetched.get(path) {
            Some(Ok(b)) => Ok(b.clone()),
            Some(Err(e)) => Err(ClientError::Other(e.to_string())),
            None => self
                .handle
                .block_on(get(&self.db, path))
                .map_err(|e| ClientError::Other(e.to_string())),
        }
    }
    fn read_config(&self, file: &str) -> Result<Vec<u8>, ClientError> {
        if file == "key" {
            return Ok(self.db.key.clone().into_bytes());
        }
        Ok(self
            .latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone())
    }
    fn write_config(&self, _file: &str, old: &[u8], new: &[u8]) -> Result<(), ClientError> {
        let mut l = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        if *l != old {
            return Err(ClientError::WriteConflict);
        }
        *l = new.to_vec();
        Ok(())
    }
    fn read_cache(&self, file: &str) -> Option<Vec<u8>> {
        let mem = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(file)
            .cloned();
        mem.or_else(|| {
            crate::sumdb::verify::safe_cache_name(&self.db.name, file)
                .then(|| std::fs::read(self.go_cache.join(file)).ok())
                .flatten()
        })
    }
    fn write_cache(&self, file: &str, data: &[u8]) {
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(file.to_string(), data.to_vec());
    }
    fn security_error(&self, msg: &str) {
        self.security
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(msg.to_string());
    }
}

/// The size of the tree a note in the client's misbehavior report names after `label`
/// (`old database:` / `new database:`; the note's second line).
fn tree_size<'a>(report: &'a str, label: &str) -> Option<&'a str> {
    let rest = &report[report.find(label)? + label.len()..];
    rest.lines().nth(2).map(str::trim)
}

/// How the client showed that the database's log forked.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fork {
    /// Its misbehavior report (both notes and the proof), or, when it reported none, its
    /// error.
    Report(String),
    /// Tiles that do not hash to a signed tree head it holds (which the go command
    /// reports as "downloaded inconsistent tile" when it has not kept the tiles itself):
    /// its error.
    InconsistentTile(String),
}

/// Whether the client's error `e` shows the database's log forked, and how; `security`
/// holds what the client reported of a misbehaving database.
fn fork(e: &ClientError, security: &Mutex<Vec<String>>) -> Option<Fork> {
    let tile = match e {
        ClientError::Security => false,
        // gomod's tlog gives this failure as text only (`ClientError::Other`): its words
        // are matched here, once, and the kind is a `Fork` from here on.
        ClientError::Other(said) if said.contains("downloaded inconsistent tile") => true,
        _ => return None,
    };
    let report = security
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .join("\n");
    Some(match report.is_empty() {
        false => Fork::Report(report),
        true if tile => Fork::InconsistentTile(e.to_string()),
        true => Fork::Report(e.to_string()),
    })
}

/// The finding for a database whose tree forks from the one trusted before (the go
/// command's, or one it served earlier in this run), found while doing `what`, as the
/// client showed it (`fork`).
fn forked(db: &Reached, what: &str, fork: &Fork) -> Finding {
    let (said, tile) = match fork {
        Fork::Report(said) => (said, false),
        Fork::InconsistentTile(said) => (said, true),
    };
    let (old, new) = (
        tree_size(said, "old database:"),
        tree_size(said, "new database:"),
    );
    let against = match (&db.trusted, old, new) {
        (Some((file, _)), _, _) if tile => format!(
            ": its tiles do not hash to the tree head the go command trusts ({}): {said}",
            file.display()
        ),
        (Some((file, _)), Some(old), Some(new)) => format!(
            ": its tree of {new} does not contain the tree of {old} the go command trusts ({})",
            file.display()
        ),
        (_, Some(old), Some(new)) => {
            format!(": its tree of {new} does not contain the tree of {old} it served before")
        }
        _ => String::new(),
    };
    Finding {
        group: Group::Network,
        severity: Severity::Problem,
        measured: format!(
            "{} ({}) misbehaves, {what}{against}",
            db.name, db.how
        ),
        cause: "what answers for the checksum database serves a forked log (another history than the one proven before): the go command stops with \"SECURITY ERROR ... go.sum database server misbehavior detected!\" for every module it has to look up".into(),
        fix: Some(format!(
            "check what answers at {} (a proxy or TLS-inspecting device in between?) and read the database another way (GOPROXY, or GOSUMDB with its URL); report the proof the go command prints to the database's operators. Do not delete {}",
            db.base,
            db.trusted
                .as_ref()
                .map_or("the go command's trusted tree head".to_string(), |(f, _)| f
                    .display()
                    .to_string())
        )),
    }
}

/// The finding for a proxy serving a go.mod of `m@v` hashing to `h` where the database
/// recorded `db_hash` (and go.sum line `agreeing`, when it agrees with the database).
fn tampered(
    proxy: &str,
    m: &str,
    v: &str,
    h: &str,
    db_hash: &str,
    db: &str,
    agreeing: Option<&Line>,
) -> Finding {
    Finding {
        group: Group::Network,
        severity: Severity::Problem,
        measured: format!(
            "{proxy} serves a go.mod of {m}@{v} that hashes to {h}; the checksum database {db}{} {db_hash}",
            agreeing.map_or(" says".to_string(), |l| format!(" and {} say", l.at()))
        ),
        cause: "the proxy serves other bytes than the ones the checksum database recorded: the go command refuses them (\"verifying go.mod: checksum mismatch ... SECURITY ERROR\")".into(),
        fix: Some(format!(
            "go env -w GOPROXY=<another proxy>,direct  (another proxy for it; and tell the operators of {proxy})"
        )),
    }
}

/// What the comparison gives: findings and measurements, and the go.sum lines (`file:line`)
/// it judged that the cache check also names (the cache agreeing with the database).
#[derive(Debug, Default)]
pub struct Outcome {
    /// Findings and measurements.
    pub checked: Checked,
    /// Lines whose cache finding this one replaces.
    pub owned: Vec<String>,
}

impl std::ops::Deref for Outcome {
    type Target = Checked;
    fn deref(&self) -> &Checked {
        &self.checked
    }
}

impl std::ops::DerefMut for Outcome {
    fn deref_mut(&mut self) -> &mut Checked {
        &mut self.checked
    }
}

/// Compares the go.sum lines of `modules` (module, version: those looked up in the
/// database) with the database's records. `served` holds the hash of the `.mod` each
/// module's proxy served, by (module, version), with the proxy's URL.
pub async fn check(
    db: &Reached,
    modules: &[(String, String)],
    lines: &[Line],
    served: &HashMap<(String, String), (String, String)>,
    modcache: &Path,
    dl: Deadline,
) -> Outcome {
    let mut out = Outcome::default();
    let asked: Vec<(String, String)> = modules
        .iter()
        .filter(|(m, v)| !go_sum::of(lines, m, v).is_empty())
        .cloned()
        .collect();
    if asked.is_empty() && db.trusted.is_none() {
        return out;
    }
    // The lookups at once (a few at a time), then the proofs on a blocking thread.
    let fetched = fetch_lookups(db, &asked).await;
    let security: Arc<Mutex<Vec<String>>> = Default::default();
    let ops = Ops {
        db: db.clone(),
        handle: tokio::runtime::Handle::current(),
        fetched,
        latest: Mutex::new(
            db.trusted
                .as_ref()
                .map(|(_, head)| head.clone())
                .unwrap_or_default(),
        ),
        cache: Mutex::default(),
        go_cache: modcache.join(gomod::layout::SUMDB),
        security: security.clone(),
    };
    let (latest, nothing_asked) = (db.latest.clone(), asked.is_empty());
    let task = tokio::task::spawn_blocking(move || prove(ops, &latest, &asked));
    let Ok(Ok(Proved { size, results })) = tokio::time::timeout(dl.left(), task).await else {
        out.measure(
            Group::Configuration,
            format!(
                "go.sum against {}: the lookups did not finish within the time left",
                db.name
            ),
        );
        return out;
    };
    let size = match size {
        Ok(n) => n,
        Err((what, e)) => {
            match fork(&e, &security) {
                Some(f) => out.find(forked(db, what, &f)),
                None => out.measure(
                    Group::Configuration,
                    format!("go.sum against {}: {e}", db.name),
                ),
            }
            return out;
        }
    };
    let judge = Judge {
        db,
        size,
        served,
        modcache,
    };
    let (mut agreed, mut unchecked) = (0usize, Vec::new());
    for (m, v, go_mod, r) in results {
        let lines_here: Vec<&Line> = go_sum::of(lines, &m, &v)
            .into_iter()
            .filter(|l| l.go_mod == go_mod)
            .collect();
        if lines_here.is_empty() {
            continue;
        }
        let db_lines = match r {
            Ok(l) => l,
            Err(e) => {
                match fork(&e, &security) {
                    Some(f) => {
                        let what = format!("proving the record of {m}@{v}");
                        out.find(forked(db, &what, &f));
                    }
                    None => unchecked.push(format!("{m}@{v}: {e}")),
                }
                continue;
            }
        };
        let db_hash = db_lines
            .iter()
            .find_map(|l| l.split_whitespace().nth(2).map(str::to_string));
        let Some(db_hash) = db_hash else { continue };
        for l in lines_here {
            agreed += usize::from(judge.line(&mut out, (&m, &v), go_mod, l, &db_hash));
        }
    }
    if !nothing_asked {
        out.measure(Group::Configuration, summary(db, agreed, &unchecked));
    }
    out
}

/// Each looked-up module's lookups, fetched a few at a time, by path.
async fn fetch_lookups(
    db: &Reached,
    asked: &[(String, String)],
) -> HashMap<String, Result<Vec<u8>, Error>> {
    use futures_util::StreamExt;
    let paths: Vec<String> = asked
        .iter()
        .filter_map(|(m, v)| {
            Some(format!(
                "/lookup/{}@{}",
                gomod::module::escape_path(m).ok()?,
                gomod::module::escape_version(v).ok()?
            ))
        })
        .collect();
    futures_util::stream::iter(paths.into_iter().map(|p| async move {
        let r = get(db, &p).await;
        (p, r)
    }))
    .buffer_unordered(AT_ONCE)
    .collect()
    .await
}

/// One lookup's answer: module, version, whether it is the go.mod's, the record's lines.
type Looked = (String, String, bool, Result<Vec<String>, ClientError>);

/// What the client proved: the size of the tree it trusts at the end (or what stopped it,
/// and at which step), and each lookup.
struct Proved {
    size: Result<i64, (&'static str, ClientError)>,
    results: Vec<Looked>,
}

/// The client's work (blocking): from the head the go command trusts, the head the
/// database serves now merged (as the go command's next lookup will check), then every
/// lookup proven.
fn prove(ops: Ops, latest: &[u8], asked: &[(String, String)]) -> Proved {
    let mut results = Vec::new();
    let mut client = match Client::new(ops) {
        Ok(c) => c,
        Err(e) => {
            return Proved {
                size: Err(("checking the tree head it trusts", e)),
                results,
            };
        }
    };
    if let Err(e) = client.merge_signed_tree(latest) {
        return Proved {
            size: Err(("checking the tree head it serves now", e)),
            results,
        };
    }
    for (m, v) in asked {
        for suffix in ["", "/go.mod"] {
            let r = client.lookup(m, &format!("{v}{suffix}"));
            results.push((m.clone(), v.clone(), !suffix.is_empty(), r));
        }
    }
    Proved {
        size: Ok(client.latest().n),
        results,
    }
}

/// How a go.sum line is judged against the database's record.
struct Judge<'a> {
    db: &'a Reached,
    /// The size of the tree the records were proven in.
    size: i64,
    served: &'a HashMap<(String, String), (String, String)>,
    modcache: &'a Path,
}

impl Judge<'_> {
    /// Judges line `l` of `m@v` (its go.mod's when `go_mod`) against the database's hash;
    /// true when they agree. A proxy serving other go.mod bytes is named either way.
    fn line(
        &self,
        out: &mut Outcome,
        (m, v): (&str, &str),
        go_mod: bool,
        l: &Line,
        db_hash: &str,
    ) -> bool {
        let db = self.db;
        let served = go_mod
            .then(|| self.served.get(&(m.to_string(), v.to_string())))
            .flatten();
        if l.hash == db_hash {
            // go.sum and the database agree; the proxy's bytes must too, or the go
            // command refuses what it downloads.
            if let Some((proxy, h)) = served
                && h != db_hash
            {
                out.find(tampered(proxy, m, v, h, db_hash, &db.name, Some(l)));
            }
            return true;
        }
        // The module cache's copy agreeing with the database tells that go.sum is the
        // one that is wrong: this finding replaces the cache check's for the line (whose
        // fix, fetching the cache entry again, would change nothing).
        let cache_agrees = l.cached_hash(self.modcache).as_deref() == Some(db_hash);
        if cache_agrees {
            out.owned.push(l.at());
        }
        let mut sources = format!(
            "the checksum database {} (its record proven in its tree of {}, read {}){}",
            db.name,
            self.size,
            db.how,
            if cache_agrees {
                " and the module cache say"
            } else {
                " says"
            }
        );
        if let Some((proxy, h)) = served {
            if h != db_hash {
                // The proxy's bytes and the database disagree too: the proxy serves
                // other bytes than the world has.
                out.find(tampered(proxy, m, v, h, db_hash, &db.name, None));
                return false;
            }
            sources = format!("{proxy} serves the go.mod it records, and {sources}");
        }
        out.find(go_sum::mismatch(l, db_hash, &sources, None));
        false
    }
}

/// The measurement: how many lines agree, and what could not be checked.
fn summary(db: &Reached, agreed: usize, unchecked: &[String]) -> String {
    format!(
        "go.sum against {} ({}): {agreed} line(s) agree with its records{}",
        db.name,
        db.how,
        if unchecked.is_empty() {
            String::new()
        } else {
            format!(
                "; {} module version(s) not checked: {}",
                unchecked.len(),
                unchecked.join("; ")
            )
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fork_is_told_by_the_clients_error_kind() {
        let none = Mutex::new(Vec::new());
        let tile = ClientError::Other("checking tree#5: downloaded inconsistent tile".into());
        assert_eq!(
            fork(&tile, &none),
            Some(Fork::InconsistentTile(
                "checking tree#5: downloaded inconsistent tile".into()
            ))
        );
        assert_eq!(
            fork(&ClientError::Security, &none),
            Some(Fork::Report("security error: misbehaving server".into()))
        );
        assert_eq!(fork(&ClientError::Other("GET x: 500".into()), &none), None);
        assert_eq!(fork(&ClientError::WriteConflict, &none), None);
        // The misbehavior report, when the client made one, is what is shown.
        let reported = Mutex::new(vec!["SECURITY ERROR".to_string(), "proof".to_string()]);
        assert_eq!(
            fork(&tile, &reported),
            Some(Fork::Report("SECURITY ERROR\nproof".into()))
        );
    }
}
