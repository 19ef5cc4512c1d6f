//! Bundles on request: one file per dependency set, for CI jobs. `POST /api/v1/bundle`
//! with a project's files (or module versions) fetches its graph through the cache, as
//! a warm job does, then writes the bundle `modgate bundle create` would write, from the
//! store, and keeps it as `modgate/bundles/<request hash>.bundle` (immutable: every
//! replica and the next CI job take it as it is). A go.sum sent with it must agree with
//! every hash in the bundle, and names it too, so that a CI job can ask for
//! `GET /api/v1/bundles/$(sha256sum go.sum)`; tags (`stable`) name bundles for people.

use std::collections::BTreeMap;

use super::Fleet;
use super::request::Request;
use crate::storage::Key;

/// A stored bundle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stored {
    /// Its name: the hash of the request it answers.
    pub sha256: String,
    /// Its size.
    pub size: u64,
}

/// Why a bundle was not made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The graph could not be read (400: the request's files, or 502: an upstream).
    #[error("reading the module graph: {0}")]
    Graph(crate::graph::Error),
    /// Versions could not be fetched (502).
    #[error("{} module versions could not be fetched: {}", .0.len(), first(.0))]
    Fetch(BTreeMap<String, String>),
    /// The go.sum sent disagrees with what the bundle holds (409).
    #[error(
        "go.sum disagrees with the checked module files ({} lines; first: {}): fix go.sum (go mod tidy, go mod verify) or find out why the module's content changed",
        .0.len(), .0.first().map(String::as_str).unwrap_or("")
    )]
    GoSum(Vec<String>),
    /// The bundle could not be written or stored (500).
    #[error("writing the bundle: {0}")]
    Write(String),
}

fn first(m: &BTreeMap<String, String>) -> String {
    m.iter()
        .next()
        .map(|(k, v)| format!("{k}: {v}"))
        .unwrap_or_default()
}

impl Fleet {
    /// The bundle for `request`: the stored one, or one made now (one at a time per
    /// request, across replicas: the store's lock).
    pub async fn bundle(&self, request: &Request) -> Result<Stored, Error> {
        let made = std::sync::atomic::AtomicBool::new(false);
        let r = self.bundle_of(request, &made).await;
        let result = match (&r, made.into_inner()) {
            (Err(_), _) => "failed",
            (Ok(_), true) => "made",
            (Ok(_), false) => "stored",
        };
        crate::metrics::count(&crate::metrics::metrics().bundles, result);
        r
    }

    async fn bundle_of(
        &self,
        request: &Request,
        made: &std::sync::atomic::AtomicBool,
    ) -> Result<Stored, Error> {
        let id = request.hash();
        let key = Key::bundle(&id).map_err(|e| Error::Write(e.to_string()))?;
        let store = self.cache.store();
        let stored = match self.stored(&key, &id).await {
            Some(s) => s,
            None => {
                let _held = store
                    .lock(&format!("bundle/{id}"))
                    .await
                    .map_err(|e| Error::Write(e.to_string()))?;
                match self.stored(&key, &id).await {
                    Some(s) => s,
                    None => {
                        made.store(true, std::sync::atomic::Ordering::Relaxed);
                        self.make(request, &key, &id).await?
                    }
                }
            }
        };
        if let Some(h) = request.go_sum_hash()
            && let Ok(k) = Key::bundle_of_go_sum(&h)
            && let Err(e) = store.put(&k, id.clone().into()).await
        {
            tracing::warn!(go_sum = %h, error = %e, "bundle: its go.sum name not stored");
        }
        Ok(stored)
    }

    async fn stored(&self, key: &Key, id: &str) -> Option<Stored> {
        let stat = self.cache.store().stat(key).await.ok().flatten()?;
        Some(Stored {
            sha256: id.to_string(),
            size: stat.size,
        })
    }

    async fn make(&self, request: &Request, key: &Key, id: &str) -> Result<Stored, Error> {
        let started = std::time::Instant::now();
        let cache = &self.cache;
        let needs = request.needs(cache, 8).await.map_err(Error::Graph)?;
        let mut failed = BTreeMap::new();
        {
            use futures_util::StreamExt;
            let mut results = std::pin::pin!(self.warm_versions(&needs));
            while let Some((p, v, r)) = results.next().await {
                if let Err(e) = r {
                    failed.insert(format!("{p}@{v}"), e.to_string());
                }
            }
        }
        failed.extend(self.warm_go_mods(&needs).await);
        if !failed.is_empty() {
            return Err(Error::Fetch(failed));
        }
        let store = cache.store();
        let staged = store.stage("bundle");
        let contents = crate::bundle::Contents {
            versions: needs.versions.iter().cloned().collect(),
            go_mods: needs.go_mods.iter().cloned().collect(),
        };
        let summary = crate::bundle::create(store, &contents, self.db.as_ref(), staged.path())
            .await
            .map_err(|e| Error::Write(e.to_string()))?;
        if let Some(go_sum) = request.go_sum() {
            let wrong = disagreements(go_sum, &summary.modules);
            if !wrong.is_empty() {
                return Err(Error::GoSum(wrong));
            }
        }
        let size = std::fs::metadata(staged.path()).map_or(0, |m| m.len());
        // Its modules first: a bundle is never there without them.
        let modules: std::collections::BTreeSet<&str> = contents
            .versions
            .iter()
            .chain(&contents.go_mods)
            .map(|(p, _)| p.as_str())
            .collect();
        let listed = Key::bundle_modules(id).map_err(|e| Error::Write(e.to_string()))?;
        store
            .put(
                &listed,
                serde_json::to_vec(&modules).unwrap_or_default().into(),
            )
            .await
            .map_err(|e| Error::Write(e.to_string()))?;
        store
            .put_staged(key, staged)
            .await
            .map_err(|e| Error::Write(e.to_string()))?;
        tracing::info!(
            bundle = %id,
            versions = summary.versions,
            go_mods = summary.go_mods,
            bytes = size,
            ms = started.elapsed().as_millis() as u64,
            "bundle made on request"
        );
        Ok(Stored {
            sha256: id.to_string(),
            size,
        })
    }

    /// The module paths the stored bundle `sha256` holds (`None`: not known).
    pub async fn bundle_modules(&self, sha256: &str) -> Option<Vec<String>> {
        let key = Key::bundle_modules(sha256).ok()?;
        let got = self.cache.store().get(&key).await.ok().flatten()?;
        serde_json::from_slice(&got.data).ok()
    }

    /// The bundle named `name`: a bundle's own hash, or the hash of a go.sum sent with
    /// the request that made it.
    pub async fn bundle_named(&self, name: &str) -> Option<Stored> {
        let store = self.cache.store();
        if let Ok(k) = Key::bundle(name)
            && let Some(s) = self.stored(&k, name).await
        {
            return Some(s);
        }
        let by_sum = Key::bundle_of_go_sum(name).ok()?;
        let id = store.get(&by_sum).await.ok().flatten()?;
        let id = String::from_utf8(id.data.to_vec()).ok()?;
        self.stored(&Key::bundle(&id).ok()?, &id).await
    }

    /// The bundle the tag `name` points at.
    pub async fn tagged(&self, name: &str) -> Option<Stored> {
        let key = Key::bundle_tag(name).ok()?;
        let id = self.cache.store().get(&key).await.ok().flatten()?;
        let id = String::from_utf8(id.data.to_vec()).ok()?;
        self.stored(&Key::bundle(&id).ok()?, &id).await
    }

    /// Points the tag `name` at the stored bundle `sha256`; `None` when there is no such
    /// bundle.
    pub async fn tag(&self, name: &str, sha256: &str) -> Result<Option<Stored>, Error> {
        let Some(stored) = self.bundle_named(sha256).await else {
            return Ok(None);
        };
        let key = Key::bundle_tag(name).map_err(|e| Error::Write(e.to_string()))?;
        self.cache
            .store()
            .put(&key, stored.sha256.clone().into())
            .await
            .map_err(|e| Error::Write(e.to_string()))?;
        Ok(Some(stored))
    }
}

/// Where bundles and their names are kept.
const BUNDLES: &str = "modgate/bundles/";

impl Fleet {
    /// Removes the bundles made more than `keep` ago that no tag points at, and the
    /// go.sum names of bundles no longer there; how many bundles were removed.
    pub async fn expire_bundles(&self, keep: std::time::Duration) -> std::io::Result<usize> {
        let store = self.cache.store();
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let batch = store.list(BUNDLES, after.as_deref(), 1000).await?;
            let Some(last) = batch.last() else { break };
            after = Some(last.name.clone());
            all.extend(batch);
        }
        let mut tagged = std::collections::HashSet::new();
        for l in all
            .iter()
            .filter(|l| l.name.starts_with("modgate/bundles/tags/"))
        {
            if let Some(k) = Key::parse(&l.name)
                && let Ok(Some(b)) = store.get(&k).await
            {
                tagged.insert(String::from_utf8_lossy(&b.data).into_owned());
            }
        }
        let now = std::time::SystemTime::now();
        let mut kept = std::collections::HashSet::new();
        let mut removed = 0;
        for l in &all {
            let Some(id) = l
                .name
                .strip_prefix(BUNDLES)
                .and_then(|n| n.strip_suffix(".bundle"))
            else {
                continue;
            };
            let old = now.duration_since(l.modified).is_ok_and(|age| age > keep);
            if old && !tagged.contains(id) {
                if let Some(k) = Key::parse(&l.name)
                    && store.delete(&k).await?
                {
                    if let Ok(listed) = Key::bundle_modules(id) {
                        store.delete(&listed).await?;
                    }
                    removed += 1;
                    tracing::info!(bundle = %id, "bundle removed: made more than [warm] bundles_keep ago, and no tag points at it");
                }
            } else {
                kept.insert(id.to_string());
            }
        }
        for l in all
            .iter()
            .filter(|l| l.name.starts_with("modgate/bundles/go.sum/"))
        {
            if let Some(k) = Key::parse(&l.name)
                && let Ok(Some(b)) = store.get(&k).await
                && !kept.contains(String::from_utf8_lossy(&b.data).as_ref())
            {
                store.delete(&k).await?;
            }
        }
        Ok(removed)
    }
}

/// The go.sum lines that name a module version of `modules` with another hash than
/// the bundle's.
fn disagreements(go_sum: &str, modules: &[crate::bundle::Module]) -> Vec<String> {
    let mut by: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for m in modules {
        if let Some(h) = &m.h1 {
            by.insert((&m.path, &m.version), h);
        }
    }
    let mods: BTreeMap<(&str, &str), &str> = modules
        .iter()
        .map(|m| ((m.path.as_str(), m.version.as_str()), m.go_mod_h1.as_str()))
        .collect();
    let mut wrong = Vec::new();
    for line in go_sum.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [path, version, hash] = f[..] else {
            continue;
        };
        let want = match version.strip_suffix("/go.mod") {
            Some(v) => mods.get(&(path, v)),
            None => by.get(&(path, version)),
        };
        if let Some(want) = want
            && *want != hash
        {
            wrong.push(format!("{line} (the module's is {want})"));
        }
    }
    wrong
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_sum_lines_that_disagree_are_named() {
        let m = crate::bundle::Module {
            path: "example.com/a".into(),
            version: "v1.0.0".into(),
            h1: Some("h1:zip=".into()),
            go_mod_h1: "h1:mod=".into(),
        };
        let sum = "example.com/a v1.0.0 h1:zip=\nexample.com/a v1.0.0/go.mod h1:other=\nexample.com/b v1.0.0 h1:x=\n";
        assert_eq!(
            disagreements(sum, std::slice::from_ref(&m)),
            ["example.com/a v1.0.0/go.mod h1:other= (the module's is h1:mod=)"]
        );
        assert!(disagreements("example.com/a v1.0.0 h1:zip=\n", &[m]).is_empty());
    }
}
