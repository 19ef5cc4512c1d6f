//! A checksum database in memory (x/mod's `sumdb.TestServer` behind `sumdb.Server`): for
//! tests and test set-ups. A lookup of a module version not yet in the log appends the
//! record the `gosum` function gives for it; the tree head is signed on every answer.
//! [`TestServer::handle`] answers one request path (`/lookup/...`, `/latest`, `/tile/...`),
//! so that an HTTP wrapper is a few lines.

use std::collections::HashMap;
use std::sync::Mutex;

use super::note::{self, Note, Signer};
use super::tile::Tile;
use super::tlog::{self, Hash, Tree};

/// An answer's failure: the HTTP status and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// 400, 404 or 500.
    pub status: u16,
    /// Why.
    pub message: String,
}

fn err(status: u16, message: impl Into<String>) -> ServerError {
    ServerError {
        status,
        message: message.into(),
    }
}

/// The go.sum lines of a module version (`None`: not found).
pub type GoSum = Box<dyn Fn(&str, &str) -> Option<String> + Send + Sync>;

#[derive(Default)]
struct Log {
    hashes: Vec<Hash>,
    records: Vec<Vec<u8>>,
    ids: HashMap<String, i64>,
}

/// The database.
pub struct TestServer {
    signer: Signer,
    gosum: GoSum,
    log: Mutex<Log>,
}

impl TestServer {
    /// A database signing with `signer`, whose records come from `gosum`.
    pub fn new(signer: Signer, gosum: GoSum) -> TestServer {
        TestServer {
            signer,
            gosum,
            log: Mutex::new(Log::default()),
        }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The signed tree head.
    pub fn signed(&self) -> Vec<u8> {
        let log = self.log();
        let n = log.records.len() as i64;
        let hash = tlog::tree_hash(n, &log.hashes).unwrap_or_default();
        let text = tlog::format_tree(&Tree { n, hash });
        note::sign(
            &Note {
                text,
                sigs: Vec::new(),
                unverified_sigs: Vec::new(),
            },
            std::slice::from_ref(&self.signer),
        )
        .unwrap_or_default()
    }

    /// The id of `path@vers`'s record, appending it when new.
    pub fn lookup(&self, path: &str, vers: &str) -> Result<i64, ServerError> {
        let key = format!("{path}@{vers}");
        if let Some(id) = self.log().ids.get(&key) {
            return Ok(*id);
        }
        let data = (self.gosum)(path, vers)
            .ok_or_else(|| err(404, format!("{key}: not found")))?
            .into_bytes();
        let mut log = self.log();
        if let Some(id) = log.ids.get(&key) {
            return Ok(*id);
        }
        let id = log.records.len() as i64;
        let hashes = tlog::stored_hashes_for_record_hash(id, tlog::record_hash(&data), &log.hashes)
            .map_err(|e| err(500, e.to_string()))?;
        log.hashes.extend(hashes);
        log.records.push(data);
        log.ids.insert(key, id);
        Ok(id)
    }

    /// Answers the request for `path`.
    pub fn handle(&self, path: &str) -> Result<Vec<u8>, ServerError> {
        if path == "/latest" {
            return Ok(self.signed());
        }
        if let Some(mv) = path.strip_prefix("/lookup/") {
            let (p, v) = mv
                .split_once('@')
                .ok_or_else(|| err(400, "invalid module@version syntax"))?;
            let p = crate::module::unescape_path(p).map_err(|e| err(400, e.to_string()))?;
            let v = crate::module::unescape_version(v).map_err(|e| err(400, e.to_string()))?;
            let id = self.lookup(&p, &v)?;
            let record = self.log().records[id as usize].clone();
            let mut msg = tlog::format_record(id, &record).map_err(|e| err(500, e.to_string()))?;
            msg.extend(self.signed());
            return Ok(msg);
        }
        if let Some(rel) = path.strip_prefix('/')
            && rel.starts_with("tile/")
        {
            let t = Tile::parse_path(rel).map_err(|_| err(400, "invalid tile syntax"))?;
            let log = self.log();
            if t.is_data() {
                let start = t.n << t.h;
                let mut data = Vec::new();
                for i in 0..i64::from(t.w) {
                    let rec = log
                        .records
                        .get((start + i) as usize)
                        .ok_or_else(|| err(404, "missing records"))?;
                    data.extend(
                        tlog::format_record(start + i, rec).map_err(|e| err(500, e.to_string()))?,
                    );
                }
                return Ok(data);
            }
            let end = (t.n << t.h) + i64::from(t.w);
            if end > log.records.len() as i64 >> (t.l * i64::from(t.h)) as u32 {
                return Err(err(404, "tile not yet in the log"));
            }
            return tlog::read_tile_data(&t, &log.hashes).map_err(|e| err(404, e.to_string()));
        }
        Err(err(404, "404 page not found"))
    }
}
