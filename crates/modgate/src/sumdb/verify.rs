//! Verification: before the cache stores a go.mod or zip of a public module, its `h1:`
//! hash is checked against the checksum database (gomod's client: the record proven in
//! the signed tree, the tree proven consistent with the one trusted before). A mismatch or
//! a misbehaving database refuses the entry: nothing is stored, the client gets an error
//! naming the module and both hashes, and it is logged and counted.
//!
//! Modules matching `--private` or `--nosumdb` are not looked up at all. The database is
//! read through [`SumdbProxy`] (the same route and on-disk copies as modgate's clients
//! use; what the client trusts it checks itself); the tree head it trusts is kept in
//! `<data>/sumdb/<name>/latest`, as the go command keeps `$GOPATH/pkg/sumdb/<name>/latest`.
//! A database that cannot be reached fails the fetch, as it fails the go command.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use gomod::sumdb::client::{Client, ClientError, ClientOps};

use super::proxy::SumdbProxy;
use crate::cache::{CacheError, SumCheck};
use crate::source::SourceError;
use crate::store::Store;

/// Verified lookups and tiles kept in memory, at most this many.
const MAX_CACHED: usize = 8192;

/// The host side of the client: the database through the proxy, the trusted tree head on
/// disk, a memory of what was verified.
struct Ops {
    proxy: Weak<SumdbProxy>,
    handle: tokio::runtime::Handle,
    key: String,
    name: String,
    store: Arc<Store>,
    config_dir: PathBuf,
    config_lock: Mutex<()>,
    verified: Mutex<HashMap<String, Vec<u8>>>,
}

impl Ops {
    fn config_path(&self, file: &str) -> Result<PathBuf, ClientError> {
        // The client only ever names `<name>/latest`.
        if file != format!("{}/latest", self.name) {
            return Err(ClientError::Other(format!("unexpected config file {file:?}")));
        }
        Ok(self.config_dir.join(file))
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
        let path = self.config_path(file)?;
        match std::fs::read(&path) {
            Ok(d) => Ok(d),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(ClientError::Other(format!(
                "reading {}: {e}",
                path.display()
            ))),
        }
    }

    fn write_config(&self, file: &str, old: &[u8], new: &[u8]) -> Result<(), ClientError> {
        let _held = self.config_lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.read_config(file)? != old {
            return Err(ClientError::WriteConflict);
        }
        let path = self.config_path(file)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| ClientError::Other(format!("creating {}: {e}", dir.display())))?;
        }
        self.store
            .write(&path, new)
            .map_err(|e| ClientError::Other(e.to_string()))
    }

    fn read_cache(&self, file: &str) -> Option<Vec<u8>> {
        self.verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(file)
            .cloned()
    }

    fn write_cache(&self, file: &str, data: &[u8]) {
        let mut m = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() >= MAX_CACHED {
            m.clear();
        }
        m.insert(file.to_string(), data.to_vec());
    }

    fn security_error(&self, msg: &str) {
        tracing::error!(db = %self.name, "{msg}");
    }
}

/// The checksum database check of the cache.
pub struct SumVerifier {
    name: String,
    excluded: String,
    client: Arc<Mutex<Client<Ops>>>,
    refused: AtomicU64,
}

impl SumVerifier {
    /// A verifier for the database `proxy` serves, with verifier key `key`, skipping
    /// modules matching `excluded`, trusting the tree head kept under `data_dir/sumdb`
    /// (read now: a damaged one is an error at start). Call within the runtime.
    pub fn new(
        proxy: &Arc<SumdbProxy>,
        key: &str,
        excluded: &str,
        store: Arc<Store>,
        data_dir: PathBuf,
    ) -> Result<SumVerifier, String> {
        let name = proxy.name().to_string();
        let config_dir = data_dir.join("sumdb");
        let ops = Ops {
            proxy: Arc::downgrade(proxy),
            handle: tokio::runtime::Handle::current(),
            key: key.to_string(),
            name: name.clone(),
            store,
            config_dir: config_dir.clone(),
            config_lock: Mutex::new(()),
            verified: Mutex::new(HashMap::new()),
        };
        let client = Client::new(ops).map_err(|e| {
            format!(
                "checksum database {name}: {e} (the trusted tree head is kept in {}; remove it only if you trust the database again)",
                config_dir.join(&name).join("latest").display()
            )
        })?;
        Ok(SumVerifier {
            name,
            excluded: excluded.to_string(),
            client: Arc::new(Mutex::new(client)),
            refused: AtomicU64::new(0),
        })
    }

    /// How many entries were refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    fn refuse(&self, module: &str, version: &str, why: String) -> CacheError {
        let n = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::error!(module, version, db = %self.name, refused_total = n, "{why}");
        CacheError::Source(SourceError::Failed(why))
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
    ) -> Result<(), CacheError> {
        if gomod::module::match_prefix_patterns(&self.excluded, module) {
            return Ok(());
        }
        let vers = if go_mod {
            format!("{version}/go.mod")
        } else {
            version.to_string()
        };
        let (client, m, v) = (Arc::clone(&self.client), module.to_string(), vers.clone());
        let looked = tokio::task::spawn_blocking(move || {
            client
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .lookup(&m, &v)
        })
        .await
        .map_err(|e| CacheError::Internal(format!("checksum database task: {e}")))?;
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
                return Err(CacheError::Source(SourceError::Failed(format!(
                    "verifying {module}@{vers}: {e} (the checksum database {} must confirm every public module before modgate stores it; add the module to --nosumdb to skip it)",
                    self.name
                ))));
            }
        };
        let have = format!("{module} {vers} {h1}");
        let prefix = format!("{module} {vers} h1:");
        for line in &lines {
            if *line == have {
                return Ok(());
            }
            if let Some(theirs) = line.strip_prefix(&format!("{module} {vers} ")) {
                if line.starts_with(&prefix) {
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
        }
        // As the go command: a record without a line for this hash accepts it.
        Ok(())
    }
}
