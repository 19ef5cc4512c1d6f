//! Purges (`POST /api/v1/purge`): a module's short-lived answers dropped on every
//! replica, so that the next request asks upstream again, and, with `force`, a stored
//! version removed.
//!
//! - `list`: the `@v/list` answer (in memory, stored, shared in Redis) and a remembered
//!   "not found" for it; `latest`: the same for `@latest`; `query`: the answers for
//!   non-canonical queries (`master`, `v1.2`) and their "not found"s; `negative`: every
//!   remembered "not found" of the module (with a version: that version's, and the
//!   module's list and `@latest`). Without `what`, all four.
//! - `force` with a version: its stored files too (`.ziphash`, `.zip`, `.mod`, `.info`,
//!   in that order: a zip is never left without its `.info` while its hash is gone, then
//!   the record of its fetch), and the in-memory copies. Refused while any replica is sending that version's zip:
//!   asked of the live replicas through Redis, who each answer from `Store::reading`.
//!   There is a window between the question and the removal in which a new download
//!   may start; it is then served from the open file (a directory) or fails and is
//!   asked again by the go command (S3), and the next request fetches the version anew.
//! - The replica that was asked drops its own answers and the Redis keys, then tells the
//!   others (`cluster/subscription.rs`: published, and logged for a replica that is
//!   reconnecting), who drop theirs, and remove stored ones from their own storage (the
//!   same objects again for a shared bucket: a removal of what is gone is no error).
//! - Each replica's HTTP layer drops its hot answers for the same paths (a hook).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Cache, Inner, lock, shared_key};
use crate::storage::Key;

/// What a purge drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum What {
    /// `@v/list`.
    List,
    /// `@latest`.
    Latest,
    /// Non-canonical queries (`master`, `v1.2`).
    Query,
    /// Remembered "not found" answers.
    Negative,
}

/// Every [`What`], the default.
pub const ALL: [What; 4] = [What::List, What::Latest, What::Query, What::Negative];

/// One purge, as the API takes it and replicas pass it on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purge {
    /// The module path.
    pub module: String,
    /// A canonical version: its "not found"s, and with `force` its stored files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// What to drop (all when absent).
    #[serde(default = "all")]
    pub what: Vec<What>,
    /// Remove the stored version too.
    #[serde(default)]
    pub force: bool,
}

fn all() -> Vec<What> {
    ALL.to_vec()
}

impl Purge {
    /// Reads and checks a purge from a JSON request body.
    pub fn parse(body: &[u8]) -> Result<Purge, String> {
        let mut p: Purge = serde_json::from_slice(body).map_err(|e| {
            format!(
                "the body is not a purge ({e}): want {{\"module\": M, \"version\": V (optional), \"what\": [\"list\", \"latest\", \"query\", \"negative\"] (optional, all by default), \"force\": true (optional, with a version: remove the stored version)}}"
            )
        })?;
        p.what.sort_unstable();
        p.what.dedup();
        p.check()?;
        Ok(p)
    }

    /// Whether it names a valid module (and canonical version), and something to drop.
    pub fn check(&self) -> Result<(), String> {
        gomod::module::check_path(&self.module).map_err(|e| e.to_string())?;
        if let Some(v) = &self.version {
            gomod::module::check(&self.module, v).map_err(|e| e.to_string())?;
            if !gomod::module::is_canonical(v) {
                return Err(format!(
                    "{}@{v}: not a canonical version (want the form the go command stores, such as {})",
                    self.module,
                    gomod::semver::canonical(v)
                ));
            }
        }
        if self.force && self.version.is_none() {
            return Err(format!(
                "{}: \"force\" removes one stored version: name it (\"version\")",
                self.module
            ));
        }
        if self.what.is_empty() && !self.force {
            return Err(format!("{}: \"what\" names nothing to purge", self.module));
        }
        Ok(())
    }

    fn has(&self, w: What) -> bool {
        self.what.contains(&w)
    }

    /// `module@version`, or the module.
    pub fn target(&self) -> String {
        match &self.version {
            Some(v) => format!("{}@{v}", self.module),
            None => self.module.clone(),
        }
    }

    /// Whether the single-flight key `key` (`kind rest`) names a "not found" this purge
    /// drops.
    fn drops_negative(&self, key: &str) -> bool {
        let Some((kind, rest)) = key.split_once(' ') else {
            return false;
        };
        let m = self.module.as_str();
        let of_version = |v: &str| {
            rest.strip_prefix(m)
                .and_then(|r| r.strip_prefix('@'))
                .is_some_and(|r| r == v)
        };
        let of_module = rest.strip_prefix(m).is_some_and(|r| r.starts_with('@'));
        match kind {
            "@v/list" => rest == m && (self.has(What::List) || self.has(What::Negative)),
            "@latest" => rest == m && (self.has(What::Latest) || self.has(What::Negative)),
            "query" => {
                of_module
                    && (self.has(What::Query)
                        || (self.has(What::Negative)
                            && self.version.as_deref().is_none_or(of_version)))
            }
            "info" | "mod" | "zip" => match &self.version {
                Some(v) => of_version(v) && (self.force || self.has(What::Negative)),
                None => of_module && self.has(What::Negative),
            },
            _ => false,
        }
    }

    /// The stored objects it removes, in order.
    fn stored(&self) -> Vec<Key> {
        let m = &self.module;
        let mut keys = Vec::new();
        if self.has(What::List) {
            keys.extend(Key::list(m).ok());
        }
        if self.has(What::Latest) {
            keys.extend(Key::latest(m).ok());
        }
        if let (true, Some(v)) = (self.force, &self.version) {
            keys.extend(
                [
                    Key::ziphash(m, v),
                    Key::zip(m, v),
                    Key::go_mod(m, v),
                    Key::info(m, v),
                    Key::fetched(m, v),
                ]
                .into_iter()
                .filter_map(Result::ok),
            );
        }
        keys
    }

    /// The Redis keys it removes, and the patterns of those found by a scan.
    fn shared(&self) -> (Vec<String>, Vec<String>) {
        let m = &self.module;
        let negative = |flight: &str| format!("modgate:negative:{flight}");
        let (mut keys, mut patterns) = (Vec::new(), Vec::new());
        if self.has(What::List) || self.has(What::Negative) {
            keys.push(negative(&format!("@v/list {m}")));
        }
        if self.has(What::Latest) || self.has(What::Negative) {
            keys.push(negative(&format!("@latest {m}")));
        }
        if self.has(What::List) {
            keys.push(shared_key("@v/list", m));
        }
        if self.has(What::Latest) {
            keys.push(shared_key("@latest", m));
        }
        let glob = crate::cluster::glob_literal(m);
        match &self.version {
            Some(v) => {
                if self.has(What::Negative) || self.force {
                    for kind in ["info", "mod", "zip"] {
                        keys.push(negative(&format!("{kind} {m}@{v}")));
                    }
                }
                if self.has(What::Negative) && !self.has(What::Query) {
                    keys.push(negative(&format!("query {m}@{v}")));
                }
                if self.has(What::Query) {
                    patterns.push(format!("modgate:negative:query {glob}@*"));
                }
            }
            None if self.has(What::Negative) => {
                patterns.push(format!("modgate:negative:* {glob}@*"));
            }
            None if self.has(What::Query) => {
                patterns.push(format!("modgate:negative:query {glob}@*"));
            }
            None => {}
        }
        (keys, patterns)
    }
}

/// What one replica dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dropped {
    /// Answers dropped from memory (the cache's; the HTTP layer's are not counted).
    pub memory: u64,
    /// The stored objects removed (their names in the storage).
    pub stored: Vec<String>,
}

/// How a purge went.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What was purged.
    pub purge: Purge,
    /// The replica that was asked.
    pub replica: String,
    /// What it dropped itself.
    pub dropped: Dropped,
    /// With Redis: the shared keys removed.
    pub shared_keys: Option<u64>,
    /// With Redis: how many replicas (this one included) were told.
    pub replicas_told: Option<u64>,
    /// Set when not every replica could be told: why (the purge was done here).
    pub incomplete: Option<String>,
}

/// Why a purge was not done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not a valid purge.
    #[error("bad request: {0}")]
    Invalid(String),
    /// The version is being downloaded from these replicas.
    #[error(
        "{target}: not removed: its zip is being downloaded from {} now; nothing was purged (try again when the downloads end)",
        .replicas.join(", ")
    )]
    Busy {
        /// The version.
        target: String,
        /// The replicas sending it.
        replicas: Vec<String>,
    },
    /// Not every replica could be asked whether it is sending the version.
    #[error("{target}: not removed: {why}; nothing was purged (try again)")]
    Unasked {
        /// The version.
        target: String,
        /// What is unknown.
        why: String,
    },
    /// Removing a stored object failed.
    #[error("{target}: {why}")]
    Storage {
        /// The version or module.
        target: String,
        /// What failed.
        why: String,
    },
}

/// A hook told of every purge done on this replica (the HTTP layer's hot answers).
pub type Hook = Box<dyn Fn(&Purge) + Send + Sync>;

/// How long the replicas have to say whether they are sending a version.
const ASK_WITHIN: Duration = Duration::from_secs(3);

/// A message between replicas.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Message {
    /// "Are you sending this version's zip?": answered in the list `answers`.
    Ask {
        from: String,
        answers: String,
        module: String,
        version: String,
    },
    /// "Drop these": done by every replica but `from`.
    Purge { from: String, purge: Purge },
}

impl Cache {
    /// Calls `hook` with every purge done on this replica from now on.
    pub fn on_purge(&self, hook: Hook) {
        lock(&self.inner.purge_hooks).push(hook);
    }

    /// Purges on every replica: here first, then the shared keys, then the others told
    /// through Redis (when configured). With `force`, refused while any replica sends
    /// the version.
    pub async fn purge(&self, purge: Purge) -> Result<Report, Refused> {
        purge.check().map_err(Refused::Invalid)?;
        let shared = self.inner.shared.get();
        let replica = shared.map_or_else(crate::cluster::replica_name, |s| s.replica().to_string());
        if let (true, Some(v)) = (purge.force, &purge.version) {
            self.ask_replicas(&purge.module, v, &replica).await?;
        }
        let dropped = purge_here(&self.inner, &purge).await?;
        let mut report = Report {
            purge,
            replica,
            dropped,
            shared_keys: None,
            replicas_told: None,
            incomplete: None,
        };
        let Some(s) = shared else {
            return Ok(report);
        };
        let down = || {
            format!(
                "Redis at {} is unreachable: purged on this replica only; the others drop their copies when their lifetime ends (purge again once Redis is back)",
                s.describe()
            )
        };
        let (keys, patterns) = report.purge.shared();
        let mut n = s.delete(&keys).await;
        for p in &patterns {
            n = match (n, s.delete_matching(p).await) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
        }
        report.shared_keys = n;
        let message = Message::Purge {
            from: report.replica.clone(),
            purge: report.purge.clone(),
        };
        let body = serde_json::to_vec(&message).unwrap_or_default();
        report.replicas_told = s.broadcast(&body, true).await;
        if n.is_none() || report.replicas_told.is_none() {
            report.incomplete = Some(down());
        }
        Ok(report)
    }

    /// Refuses while this replica, or any replica reached through Redis, is sending a
    /// zip of `module@version`.
    async fn ask_replicas(&self, module: &str, version: &str, me: &str) -> Result<(), Refused> {
        let target = format!("{module}@{version}");
        let zip = Key::zip(module, version).map_err(|e| Refused::Invalid(e.to_string()))?;
        // This replica knows for itself, whatever its subscription's state.
        if self.inner.store.reading(&zip) {
            return Err(Refused::Busy {
                target,
                replicas: vec![me.to_string()],
            });
        }
        let Some(s) = self.inner.shared.get() else {
            return Ok(());
        };
        let answers = format!("modgate:purge-answers:{}", unique());
        let ask = Message::Ask {
            from: me.to_string(),
            answers: answers.clone(),
            module: module.to_string(),
            version: version.to_string(),
        };
        let body = serde_json::to_vec(&ask).unwrap_or_default();
        let unasked = |why: String| Refused::Unasked {
            target: target.clone(),
            why,
        };
        let Some(asked) = s.broadcast(&body, false).await else {
            return Err(unasked(format!(
                "Redis at {} is unreachable, so the other replicas cannot be asked whether they are sending it",
                s.describe()
            )));
        };
        if asked == 0 {
            // Not even this replica's subscription heard it: it is being made again.
            return Err(unasked(
                "no replica listens to purges at this moment (their subscriptions are being made again)".to_string(),
            ));
        }
        let start = Instant::now();
        let got = loop {
            let got = s.pushed(&answers).await.unwrap_or_default();
            if got.len() as u64 >= asked || start.elapsed() >= ASK_WITHIN {
                break got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let _ = s.delete(&[answers]).await;
        let mut busy = Vec::new();
        for a in &got {
            let a = String::from_utf8_lossy(a);
            if let Some(r) = a.strip_suffix("\tbusy") {
                busy.push(r.to_string());
            }
        }
        if !busy.is_empty() {
            busy.sort();
            return Err(Refused::Busy {
                target,
                replicas: busy,
            });
        }
        if (got.len() as u64) < asked {
            return Err(unasked(format!(
                "{} of the {asked} replicas listening answered within {ASK_WITHIN:?} whether they are sending it",
                got.len()
            )));
        }
        Ok(())
    }

    /// Listens to the other replicas' purges and questions (set with the shared Redis).
    pub(super) fn listen_for_purges(&self, shared: &crate::cluster::Shared) {
        let inner = Arc::downgrade(&self.inner);
        shared.on_broadcast(move |body| {
            let Ok(message) = serde_json::from_slice::<Message>(body) else {
                return;
            };
            let Some(inner) = inner.upgrade() else { return };
            tokio::spawn(async move {
                let Some(s) = inner.shared.get() else { return };
                match message {
                    Message::Ask {
                        answers,
                        module,
                        version,
                        ..
                    } => {
                        let busy = Key::zip(&module, &version)
                            .is_ok_and(|k| inner.store.reading(&k));
                        let state = if busy { "busy" } else { "free" };
                        let answer = format!("{}\t{state}", s.replica());
                        s.push(&answers, answer.as_bytes(), Duration::from_secs(60))
                            .await;
                    }
                    Message::Purge { from, purge } => {
                        if from == s.replica() || purge.check().is_err() {
                            return;
                        }
                        match purge_here(&inner, &purge).await {
                            Ok(d) => tracing::info!(
                                purged = %purge.target(),
                                from = %from,
                                memory = d.memory,
                                stored = d.stored.len(),
                                "purged as replica {from} asked: {} answers dropped from memory, {} stored objects removed",
                                d.memory,
                                d.stored.len()
                            ),
                            Err(e) => tracing::warn!(from = %from, "a purge replica {from} asked for failed here: {e}"),
                        }
                    }
                }
            });
        });
    }
}

/// Drops on this replica what `purge` names: the cache's memories, the stored objects,
/// then the hooks' copies.
async fn purge_here(inner: &Inner, purge: &Purge) -> Result<Dropped, Refused> {
    let mut dropped = Dropped::default();
    let m = purge.module.as_str();
    let mut forget = |gone: bool| dropped.memory += u64::from(gone);
    if purge.has(What::List) {
        forget(inner.lists.remove(m).is_some());
    }
    if purge.has(What::Latest) {
        forget(inner.latests.remove(m).is_some());
    }
    if purge.has(What::Query) {
        let prefix = format!("query {m}@");
        let before = inner.queries.len();
        inner.queries.retain(|k, _| !k.starts_with(&prefix));
        dropped.memory += before.saturating_sub(inner.queries.len()) as u64;
    }
    let before = inner.negative.len();
    inner.negative.retain(|k, _| !purge.drops_negative(k));
    dropped.memory += before.saturating_sub(inner.negative.len()) as u64;
    for key in purge.stored() {
        match inner.store.delete(&key).await {
            Ok(true) => dropped.stored.push(key.name().to_string()),
            Ok(false) => {}
            Err(e) => {
                return Err(Refused::Storage {
                    target: purge.target(),
                    why: format!(
                        "removing {} failed ({e}); what was listed before it is removed ({})",
                        key.name(),
                        dropped.stored.join(", ")
                    ),
                });
            }
        }
    }
    for hook in lock(&inner.purge_hooks).iter() {
        hook(purge);
    }
    Ok(dropped)
}

/// A name no other purge of any replica has (time, process, count).
fn unique() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{now:x}-{:x}-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        crate::cluster::replica_name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(body: &str) -> Result<Purge, String> {
        Purge::parse(body.as_bytes())
    }

    #[test]
    fn a_purge_is_read_checked_and_defaults_to_every_short_lived_answer() {
        let all = p(r#"{"module": "example.com/m"}"#).unwrap();
        assert_eq!(all.what, ALL);
        assert_eq!((all.version, all.force), (None, false));
        let some = p(r#"{"module": "example.com/m", "what": ["latest", "list", "list"]}"#).unwrap();
        assert_eq!(some.what, [What::List, What::Latest]);
        let forced =
            p(r#"{"module": "example.com/m", "version": "v1.2.3", "what": [], "force": true}"#)
                .unwrap();
        assert!(forced.force && forced.what.is_empty());
        for (body, want) in [
            (r#"{"module": "Example.com/m"}"#, "malformed module path"),
            (
                r#"{"module": "example.com/m", "version": "v1.2"}"#,
                "not a canonical version (want the form the go command stores, such as v1.2.0)",
            ),
            (
                r#"{"module": "example.com/m", "version": "latest"}"#,
                "not a semantic version",
            ),
            (
                r#"{"module": "example.com/m/v2", "version": "v1.0.0"}"#,
                "should be v2",
            ),
            (
                r#"{"module": "example.com/m", "force": true}"#,
                "\"force\" removes one stored version: name it (\"version\")",
            ),
            (
                r#"{"module": "example.com/m", "what": []}"#,
                "\"what\" names nothing to purge",
            ),
            (
                r#"{"module": "example.com/m", "what": ["zip"]}"#,
                "unknown variant `zip`",
            ),
            (
                r#"{"module": "example.com/m", "versions": "v1.0.0"}"#,
                "unknown field `versions`",
            ),
            ("[]", "the body is not a purge"),
        ] {
            let e = p(body).unwrap_err();
            assert!(e.contains(want), "{body}: {e}");
        }
    }

    #[test]
    fn which_not_founds_a_purge_drops() {
        let m = |s: &str| p(s).unwrap();
        let module = m(r#"{"module": "example.com/m", "what": ["negative"]}"#);
        let version =
            m(r#"{"module": "example.com/m", "version": "v1.0.0", "what": ["negative"]}"#);
        let list = m(r#"{"module": "example.com/m", "what": ["list"]}"#);
        let query = m(r#"{"module": "example.com/m", "what": ["query"]}"#);
        let forced =
            m(r#"{"module": "example.com/m", "version": "v1.0.0", "what": [], "force": true}"#);
        let keys = [
            "@v/list example.com/m",
            "@latest example.com/m",
            "info example.com/m@v1.0.0",
            "zip example.com/m@v1.0.0",
            "mod example.com/m@v1.1.0",
            "query example.com/m@master",
            "query example.com/m@v1.0.0",
            "@v/list example.com/m/v2",
            "info example.com/m/v2@v2.0.0",
            "info example.com/mm@v1.0.0",
            "sumdb sum.golang.org lookup/example.com/m@v1.0.0",
        ];
        let dropped = |p: &Purge| {
            keys.iter()
                .filter(|k| p.drops_negative(k))
                .copied()
                .collect::<Vec<_>>()
        };
        assert_eq!(dropped(&module), keys[..7]);
        assert_eq!(
            dropped(&version),
            [
                "@v/list example.com/m",
                "@latest example.com/m",
                "info example.com/m@v1.0.0",
                "zip example.com/m@v1.0.0",
                "query example.com/m@v1.0.0",
            ]
        );
        assert_eq!(dropped(&list), ["@v/list example.com/m"]);
        assert_eq!(
            dropped(&query),
            ["query example.com/m@master", "query example.com/m@v1.0.0"]
        );
        assert_eq!(
            dropped(&forced),
            ["info example.com/m@v1.0.0", "zip example.com/m@v1.0.0"]
        );
    }

    #[test]
    fn what_a_purge_removes_from_storage_and_redis() {
        let names = |p: &Purge| {
            p.stored()
                .iter()
                .map(|k| k.name().to_string())
                .collect::<Vec<_>>()
        };
        let all = p(r#"{"module": "example.com/M"}"#).unwrap();
        assert_eq!(
            names(&all),
            [
                "cache/download/example.com/!m/@v/list",
                "cache/download/example.com/!m/@latest"
            ]
        );
        assert_eq!(
            all.shared(),
            (
                vec![
                    "modgate:negative:@v/list example.com/M".to_string(),
                    "modgate:negative:@latest example.com/M".to_string(),
                    "modgate:@v/list:example.com/M".to_string(),
                    "modgate:@latest:example.com/M".to_string(),
                ],
                vec!["modgate:negative:* example.com/M@*".to_string()]
            )
        );
        let forced = p(
            r#"{"module": "example.com/m", "version": "v1.0.0", "what": ["negative"], "force": true}"#,
        )
        .unwrap();
        assert_eq!(
            names(&forced),
            [
                "cache/download/example.com/m/@v/v1.0.0.ziphash",
                "cache/download/example.com/m/@v/v1.0.0.zip",
                "cache/download/example.com/m/@v/v1.0.0.mod",
                "cache/download/example.com/m/@v/v1.0.0.info",
                "modgate/fetched/example.com/m/@v/v1.0.0",
            ]
        );
        assert_eq!(
            forced.shared(),
            (
                vec![
                    "modgate:negative:@v/list example.com/m".to_string(),
                    "modgate:negative:@latest example.com/m".to_string(),
                    "modgate:negative:info example.com/m@v1.0.0".to_string(),
                    "modgate:negative:mod example.com/m@v1.0.0".to_string(),
                    "modgate:negative:zip example.com/m@v1.0.0".to_string(),
                    "modgate:negative:query example.com/m@v1.0.0".to_string(),
                ],
                vec![]
            )
        );
        let q = p(r#"{"module": "example.com/a*b", "what": ["query"]}"#);
        assert!(q.is_err(), "{q:?}");
        assert_eq!(
            crate::cluster::glob_literal("a*b?[c]\\"),
            "a\\*b\\?\\[c\\]\\\\"
        );
    }
}
