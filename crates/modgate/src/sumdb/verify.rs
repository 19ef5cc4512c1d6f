//! Verification: before the cache stores a go.mod or zip of a public module, its `h1:`
//! hash is checked against the checksum database (gomod's client: the record proven in
//! the signed tree, the tree proven consistent with the one trusted before). A mismatch or
//! a misbehaving database refuses the entry: nothing is stored, the client gets an error
//! naming the module and both hashes, and it is logged and counted.
//!
//! Modules matching `--private` or `--nosumdb` are not looked up at all. The database is
//! read through [`SumdbProxy`] (the same route and on-disk copies as modgate's clients
//! use; the client checks all it reads). What the client has verified is kept apart, in
//! `<data>/sumdb/<name>/`: the tree head it trusts (`latest`, as the go command keeps
//! `$GOPATH/pkg/sumdb/<name>/latest`) and the lookups and tiles it proved, so that after a
//! restart a database that forked is measured against what was proven before. A database
//! that cannot be reached fails the fetch, as it fails the go command.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use gomod::sumdb::client::{Client, ClientError, ClientOps};

use super::proxy::SumdbProxy;
use crate::cache::SumCheck;
use crate::error::Error;
use crate::storage::{Key, Store};

/// Verified lookups and tiles kept in memory, at most this many.
const MAX_CACHED: usize = 8192;

/// Whether `file` (as the client names cache files) is `<name>/lookup/...` or
/// `<name>/tile/...` with no `..` or empty element: safe to join to a directory.
pub fn safe_cache_name(name: &str, file: &str) -> bool {
    let Some(rest) = file.strip_prefix(name).and_then(|r| r.strip_prefix('/')) else {
        return false;
    };
    (rest.starts_with("lookup/") || rest.starts_with("tile/"))
        && rest
            .split('/')
            .all(|e| !e.is_empty() && e != "." && e != "..")
}

/// The host side of the client: the database through the proxy, the trusted tree head on
/// disk, a memory of what was verified. Cheap to clone.
#[derive(Clone)]
struct Ops(Arc<OpsInner>);

struct OpsInner {
    proxy: Weak<SumdbProxy>,
    handle: tokio::runtime::Handle,
    key: String,
    name: String,
    store: Arc<Store>,
    config_lock: Mutex<()>,
    /// The trusted tree head as this process last read or wrote it: what is trusted
    /// while the storage does not answer.
    config: Mutex<Option<Vec<u8>>>,
    /// Set while the tree head trusted was not read from the storage (it did not
    /// answer): once it does, the client starts again from the stored head, and the
    /// database's tree is proven consistent with it.
    unproven: std::sync::atomic::AtomicBool,
    verified: Mutex<HashMap<String, Vec<u8>>>,
}

impl std::ops::Deref for Ops {
    type Target = OpsInner;
    fn deref(&self) -> &OpsInner {
        &self.0
    }
}

impl Ops {
    fn config_key(&self, file: &str) -> Result<Key, ClientError> {
        // The client only ever names `<name>/latest`.
        if file != format!("{}/latest", self.name) {
            return Err(ClientError::Other(format!(
                "unexpected config file {file:?}"
            )));
        }
        Key::sumdb_state(file).map_err(|e| ClientError::Other(e.to_string()))
    }

    /// The verifier's stored file `key` (called on a blocking thread).
    fn get(&self, key: &Key) -> std::io::Result<Option<bytes::Bytes>> {
        let b = self.handle.block_on(self.store.get(key))?;
        Ok(b.map(|b| b.data))
    }

    fn put(&self, key: &Key, data: &[u8]) -> std::io::Result<()> {
        self.handle
            .block_on(self.store.put(key, bytes::Bytes::copy_from_slice(data)))
    }
}

impl ClientOps for Ops {
    fn read_remote(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        let proxy = self
            .proxy
            .upgrade()
            .ok_or_else(|| ClientError::Other("the checksum database proxy is gone".into()))?;
        let rel = path.trim_start_matches('/').to_string();
        self.handle
            .block_on(async move { proxy.answer(&rel).await })
            .map(|a| a.body.to_vec())
            .map_err(|e| ClientError::Other(e.to_string()))
    }

    fn read_config(&self, file: &str) -> Result<Vec<u8>, ClientError> {
        if file == "key" {
            return Ok(self.key.clone().into_bytes());
        }
        let key = self.config_key(file)?;
        let mut mem = self.config.lock().unwrap_or_else(|e| e.into_inner());
        match self.get(&key) {
            Ok(d) => {
                let d = d.map(|d| d.to_vec()).unwrap_or_default();
                *mem = Some(d.clone());
                Ok(d)
            }
            // The storage does not answer: the tree head this process trusts, every new
            // one proven consistent with it; none yet, as a new go command starts (the
            // signature is checked; the stored head is compared again, as a write
            // conflict, once the storage answers).
            Err(e) if crate::storage::is_unavailable(&e) => {
                self.unproven.store(true, Ordering::Relaxed);
                if mem.is_none() {
                    tracing::warn!(db = %self.name, error = %e, "the trusted tree head cannot be read from the storage: trusting the database's signed tree from here, as a new go command does");
                }
                Ok(mem.clone().unwrap_or_default())
            }
            Err(e) => Err(ClientError::Other(e.to_string())),
        }
    }

    fn write_config(&self, file: &str, old: &[u8], new: &[u8]) -> Result<(), ClientError> {
        let _held = self.config_lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.read_config(file)? != old {
            return Err(ClientError::WriteConflict);
        }
        let key = self.config_key(file)?;
        // Kept in memory when the storage does not answer; stored with the next advance.
        crate::storage::or_skipped(self.put(&key, new))
            .map_err(|e| ClientError::Other(e.to_string()))?;
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = Some(new.to_vec());
        Ok(())
    }

    fn read_cache(&self, file: &str) -> Option<Vec<u8>> {
        if let Some(d) = self
            .verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(file)
        {
            return Some(d.clone());
        }
        if !safe_cache_name(&self.name, file) {
            return None;
        }
        let key = Key::sumdb_state(file).ok()?;
        self.get(&key).ok().flatten().map(|d| d.to_vec())
    }

    fn write_cache(&self, file: &str, data: &[u8]) {
        {
            let mut m = self.verified.lock().unwrap_or_else(|e| e.into_inner());
            if m.len() >= MAX_CACHED {
                m.clear();
            }
            m.insert(file.to_string(), data.to_vec());
        }
        if !safe_cache_name(&self.name, file) {
            return;
        }
        let written = Key::sumdb_state(file)
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|key| crate::storage::or_skipped(self.put(&key, data)));
        if let Err(e) = written {
            // Kept in memory still; proven again after a restart.
            tracing::warn!(file, error = %e, "cannot keep a verified checksum database file");
        }
    }

    fn security_error(&self, msg: &str) {
        tracing::error!(db = %self.name, "{msg}");
    }
}

/// A checksum database's verifier key that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("checksum database {name}: {reason}")]
pub struct KeyError {
    /// The database.
    pub name: String,
    /// Why the key does not parse.
    pub reason: String,
}

/// The checksum database check of the cache.
pub struct SumVerifier {
    name: String,
    excluded: String,
    ops: Ops,
    /// Started on the first check (it may read the database, which must not hold up
    /// start-up), and again after a failed start.
    client: Arc<Mutex<Option<Client<Ops>>>>,
    refused: AtomicU64,
}

impl SumVerifier {
    /// A verifier for the database `proxy` serves, with verifier key `key`, skipping
    /// modules matching `excluded`, trusting the tree head kept in `store`
    /// (`sumdb/<name>/latest`).
    /// Call within the runtime.
    pub fn new(
        proxy: &Arc<SumdbProxy>,
        key: &str,
        excluded: &str,
        store: Arc<Store>,
    ) -> Result<SumVerifier, KeyError> {
        let name = proxy.name().to_string();
        gomod::sumdb::note::Verifier::new(key).map_err(|e| KeyError {
            name: name.clone(),
            reason: e.to_string(),
        })?;
        let ops = Ops(Arc::new(OpsInner {
            proxy: Arc::downgrade(proxy),
            handle: tokio::runtime::Handle::current(),
            key: key.to_string(),
            name: name.clone(),
            store,
            config_lock: Mutex::new(()),
            config: Mutex::new(None),
            unproven: std::sync::atomic::AtomicBool::new(false),
            verified: Mutex::new(HashMap::new()),
        }));
        Ok(SumVerifier {
            name,
            excluded: excluded.to_string(),
            ops,
            client: Arc::new(Mutex::new(None)),
            refused: AtomicU64::new(0),
        })
    }

    /// How many entries were refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    fn refuse(&self, module: &str, version: &str, why: String) -> Error {
        verification("refused");
        let n = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::error!(module, version, db = %self.name, refused_total = n, "{why}");
        Error::failed(why)
    }
}

#[async_trait::async_trait]
impl SumCheck for SumVerifier {
    async fn check(
        &self,
        module: &str,
        version: &str,
        go_mod: bool,
        h1: &str,
    ) -> Result<(), Error> {
        if gomod::module::match_prefix_patterns(&self.excluded, module) {
            verification("skipped");
            return Ok(());
        }
        let vers = if go_mod {
            format!("{version}/go.mod")
        } else {
            version.to_string()
        };
        let (client, m, v) = (Arc::clone(&self.client), module.to_string(), vers.clone());
        let ops = self.ops.clone();
        let latest = format!("{} as sumdb/{}/latest", ops.store.describe(), self.name);
        let looked = tokio::task::spawn_blocking(move || {
            let mut c = client.lock().unwrap_or_else(|e| e.into_inner());
            // The storage answers again after the trusted head was held in memory only:
            // start again from the stored head (a fork in between is found there).
            if c.is_some()
                && ops.unproven.load(Ordering::Relaxed)
                && let Ok(key) = ops.config_key(&format!("{}/latest", ops.name))
                && ops.get(&key).is_ok()
            {
                ops.unproven.store(false, Ordering::Relaxed);
                *ops.config.lock().unwrap_or_else(|e| e.into_inner()) = None;
                *c = None;
                tracing::info!(db = %ops.name, "the storage answers again: the checksum database's tree is proven against the stored tree head");
            }
            if c.is_none() {
                *c = Some(Client::new(ops).map_err(|e| match e {
                    ClientError::Other(m) => ClientError::Other(format!(
                        "{m} (the tree head modgate trusts is kept in {latest})"
                    )),
                    other => other,
                })?);
            }
            match c.as_mut() {
                Some(c) => c.lookup(&m, &v),
                None => Err(ClientError::Other("no checksum database client".into())),
            }
        })
        .await
        .map_err(|e| Error::internal(format!("checksum database task: {e}")))?;
        let what = if go_mod { "go.mod" } else { "zip" };
        let lines = match looked {
            Ok(lines) => lines,
            Err(ClientError::Security) => {
                return Err(self.refuse(
                    module,
                    version,
                    format!(
                        "verifying {module}@{vers}: SECURITY ERROR: the checksum database {} misbehaves (its tree is not consistent with the one trusted before; details in modgate's log); the {what} was not stored",
                        self.name
                    ),
                ));
            }
            Err(e) => {
                verification("error");
                // The client's errors already name the module and version.
                let e = e.to_string();
                let e = e.strip_prefix(&format!("{module}@{vers}: ")).unwrap_or(&e);
                return Err(Error::failed(format!(
                    "verifying {module}@{vers}: {e} (the checksum database {} must confirm every public module before modgate stores it; add the module to --nosumdb to skip it)",
                    self.name
                )));
            }
        };
        let have = format!("{module} {vers} {h1}");
        let prefix = format!("{module} {vers} h1:");
        for line in &lines {
            if *line == have {
                verification("ok");
                return Ok(());
            }
            if let Some(theirs) = line.strip_prefix(&format!("{module} {vers} "))
                && line.starts_with(&prefix)
            {
                return Err(self.refuse(
                        module,
                        version,
                        format!(
                            "verifying {module}@{vers}: checksum mismatch: the upstream served {h1}, the checksum database {} has {theirs}: SECURITY ERROR: this {what} differs from the one everyone else gets; it was not stored; check the upstream (--upstream) for tampering",
                            self.name
                        ),
                    ));
            }
        }
        // As the go command: a record without a line for this hash accepts it.
        Ok(())
    }
}

/// Records a verification's result (ok, refused, error, skipped).
fn verification(result: &'static str) {
    crate::metrics::metrics()
        .sumdb_verifications
        .get_or_create(&crate::metrics::Outcome { result })
        .inc();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_names_stay_inside() {
        let n = "sum.golang.org";
        assert!(safe_cache_name(n, "sum.golang.org/tile/8/0/x001/234.p/7"));
        assert!(safe_cache_name(
            n,
            "sum.golang.org/lookup/rsc.io/quote@v1.5.2"
        ));
        for bad in [
            "sum.golang.org/latest",
            "sum.golang.org/lookup/../../etc",
            "sum.golang.org/tile//x",
            "other.example/tile/8/0/000",
            "sum.golang.orgx/tile/8/0/000",
        ] {
            assert!(!safe_cache_name(n, bad), "{bad}");
        }
    }
}
