//! The checksum database client (x/mod `sumdb.Client`), synchronous: "is `module version
//! h1:…` in the log, and is the log consistent with the tree I trusted before".
//!
//! A lookup reads `/lookup/<module>@<version>` (a record id, the record's go.sum lines and
//! the database's signed tree head), opens the tree head with the database's key, checks
//! that it is consistent with the latest tree head trusted so far (the one kept in the
//! config file `<name>/latest`; a newer one replaces it once proven to extend it), and
//! proves the record is in the tree by reading tiles (`/tile/...`), whose hashes are checked
//! against the signed tree hash. A tree that is not consistent with the trusted one is a
//! fork: reported through [`ClientOps::security_error`] with both notes and the proof.
//!
//! Left out from Go's client: its concurrency (parallel tile reads, per-lookup
//! de-duplication); callers serialize lookups. Tiles are kept in memory (bounded), and
//! through [`ClientOps::write_cache`] once verified.

use std::collections::{HashMap, HashSet};

use super::note::{self, Verifier};
use super::tile::Tile;
use super::tlog::{self, Hash, HashReader, TileHashReader, TileReader, Tree};

/// Why a lookup failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The module matches the GONOSUMDB patterns: nothing was asked.
    #[error("skipped (listed in GONOSUMDB)")]
    Gonosumdb,
    /// A compare-and-swap of the config file lost to another writer.
    #[error("write conflict")]
    WriteConflict,
    /// The database misbehaved (a fork); the details went to `security_error`.
    #[error("security error: misbehaving server")]
    Security,
    /// Anything else, with its message (network, bad data, a record that does not prove).
    #[error("{0}")]
    Other(String),
}

/// What the client needs from its host: the database, a config store and a cache.
pub trait ClientOps {
    /// The database's file at `path` (`/lookup/...`, `/tile/...`, `/latest`).
    fn read_remote(&self, path: &str) -> Result<Vec<u8>, ClientError>;
    /// A config file: `key` (the verifier key) or `<name>/latest` (empty when none).
    fn read_config(&self, file: &str) -> Result<Vec<u8>, ClientError>;
    /// Replaces config `file` with `new` if it still holds `old`, else
    /// [`ClientError::WriteConflict`].
    fn write_config(&self, file: &str, old: &[u8], new: &[u8]) -> Result<(), ClientError>;
    /// A cached file (`<name>/lookup/...`, `<name>/tile/...`), only ever written by this
    /// client after verification.
    fn read_cache(&self, file: &str) -> Option<Vec<u8>>;
    /// Caches a verified file.
    fn write_cache(&self, file: &str, data: &[u8]);
    /// Reports a database that misbehaves.
    fn security_error(&self, msg: &str);
}

/// The most tiles kept in memory.
const MAX_TILES: usize = 4096;

/// The client.
pub struct Client<O: ClientOps> {
    ops: O,
    name: String,
    verifiers: Vec<Verifier>,
    latest: Tree,
    latest_msg: Vec<u8>,
    tile_height: u32,
    nosumdb: String,
    tiles: std::cell::RefCell<HashMap<Tile, Vec<u8>>>,
    saved: std::cell::RefCell<HashSet<Tile>>,
}

/// Where a tree head stands against the trusted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    Past,
    Now,
    Future,
}

impl<O: ClientOps> Client<O> {
    /// A client over `ops`: reads the key and the trusted tree head from its config.
    pub fn new(ops: O) -> Result<Client<O>, ClientError> {
        let init = |e: String| ClientError::Other(format!("initializing sumdb.Client: {e}"));
        let vkey = ops.read_config("key")?;
        let vkey = String::from_utf8_lossy(&vkey).trim().to_string();
        let v = Verifier::new(&vkey).map_err(|e| init(e.to_string()))?;
        let mut c = Client {
            name: v.name().to_string(),
            verifiers: vec![v],
            latest: Tree {
                n: 0,
                hash: tlog::tree_hash(0, &Vec::<Hash>::new()).map_err(|e| init(e.to_string()))?,
            },
            latest_msg: Vec::new(),
            tile_height: 8,
            nosumdb: String::new(),
            tiles: Default::default(),
            saved: Default::default(),
            ops,
        };
        let data = c.ops.read_config(&format!("{}/latest", c.name))?;
        c.merge_latest(&data).map_err(|e| match e {
            ClientError::Other(m) => init(m),
            other => other,
        })?;
        Ok(c)
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tiles' height (8 for sum.golang.org; the default).
    pub fn set_tile_height(&mut self, h: u32) {
        self.tile_height = h;
    }

    /// GONOSUMDB patterns: lookups of matching modules fail with
    /// [`ClientError::Gonosumdb`] and ask nothing.
    pub fn set_gonosumdb(&mut self, patterns: &str) {
        self.nosumdb = patterns.to_string();
    }

    /// The trusted tree head.
    pub fn latest(&self) -> &Tree {
        &self.latest
    }

    /// The go.sum lines of `path` `vers` (`vers` may end in `/go.mod`), proven to be in
    /// the log.
    pub fn lookup(&mut self, path: &str, vers: &str) -> Result<Vec<String>, ClientError> {
        if crate::module::match_prefix_patterns(&self.nosumdb, path) {
            return Err(ClientError::Gonosumdb);
        }
        let wrap = |e: ClientError| match e {
            ClientError::Other(m) => ClientError::Other(format!("{path}@{vers}: {m}")),
            other => other,
        };
        let epath = crate::module::escape_path(path)
            .map_err(|e| wrap(ClientError::Other(e.to_string())))?;
        let evers = crate::module::escape_version(vers.trim_end_matches("/go.mod"))
            .map_err(|e| wrap(ClientError::Other(e.to_string())))?;
        let remote = format!("/lookup/{epath}@{evers}");
        let file = format!("{}{remote}", self.name);
        let (data, cached) = match self.ops.read_cache(&file) {
            Some(d) => (d, true),
            None => (self.ops.read_remote(&remote).map_err(wrap)?, false),
        };
        let (id, text, tree_msg) =
            tlog::parse_record(&data).map_err(|e| wrap(ClientError::Other(e.to_string())))?;
        self.merge_latest(tree_msg).map_err(wrap)?;
        self.check_record(id, text).map_err(wrap)?;
        if !cached {
            self.ops.write_cache(&file, &data);
        }
        let prefix = format!("{path} {vers} ");
        Ok(String::from_utf8_lossy(text)
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .map(str::to_string)
            .collect())
    }

    /// Merges a signed tree head the database served (its `/latest`) into the trusted
    /// one, proving that either contains the other: a fork is a security error, as for
    /// the heads that come with lookups. The go command does this for each lookup; a
    /// checker that wants to know whether the database forked before any lookup calls it.
    pub fn merge_signed_tree(&mut self, msg: &[u8]) -> Result<(), ClientError> {
        self.merge_latest(msg)
    }

    /// Merges a signed tree head into the trusted one (and the config file).
    fn merge_latest(&mut self, msg: &[u8]) -> Result<(), ClientError> {
        let when = self.merge_latest_mem(msg)?;
        if when != When::Future {
            return Ok(());
        }
        let file = format!("{}/latest", self.name);
        loop {
            let on_disk = self.ops.read_config(&file)?;
            if self.merge_latest_mem(&on_disk)? != When::Past {
                return Ok(());
            }
            match self
                .ops
                .write_config(&file, &on_disk, &self.latest_msg.clone())
            {
                Err(ClientError::WriteConflict) => continue,
                other => return other,
            }
        }
    }

    fn merge_latest_mem(&mut self, msg: &[u8]) -> Result<When, ClientError> {
        if msg.is_empty() {
            return Ok(if self.latest.n == 0 {
                When::Now
            } else {
                When::Past
            });
        }
        let n = note::open(msg, &self.verifiers[..]).map_err(|e| {
            ClientError::Other(format!(
                "reading tree note: {e}\nnote:\n{}",
                String::from_utf8_lossy(msg)
            ))
        })?;
        let tree = tlog::parse_tree(n.text.as_bytes())
            .map_err(|e| ClientError::Other(format!("reading tree: {e}\ntree:\n{}", n.text)))?;
        let (latest, latest_msg) = (self.latest, self.latest_msg.clone());
        if tree.n <= latest.n {
            self.check_trees(&tree, msg, &latest, &latest_msg)?;
            return Ok(if tree.n < latest.n {
                When::Past
            } else {
                When::Now
            });
        }
        self.check_trees(&latest, &latest_msg, &tree, msg)?;
        self.latest = tree;
        self.latest_msg = msg.to_vec();
        Ok(When::Future)
    }

    /// Checks that `older` is a prefix of `newer`; reports a fork otherwise.
    fn check_trees(
        &self,
        older: &Tree,
        older_note: &[u8],
        newer: &Tree,
        newer_note: &[u8],
    ) -> Result<(), ClientError> {
        let thr = TileHashReader::new(*newer, self);
        let h = tlog::tree_hash(older.n, &thr).map_err(|e| {
            ClientError::Other(if older.n == newer.n {
                format!("checking tree#{}: {e}", older.n)
            } else {
                format!("checking tree#{} against tree#{}: {e}", older.n, newer.n)
            })
        })?;
        if h == older.hash {
            return Ok(());
        }
        let indent = |b: &[u8]| String::from_utf8_lossy(b).replace('\n', "\n\t");
        let mut report = format!(
            "SECURITY ERROR\ngo.sum database server misbehavior detected!\n\nold database:\n\t{}\nnew database:\n\t{}\nproof of misbehavior:\n\t{h}",
            indent(older_note),
            indent(newer_note)
        );
        match tlog::prove_tree(newer.n, older.n, &thr) {
            Err(e) => report.push_str(&format!("\tinternal error: {e}\n")),
            Ok(p) => match tlog::check_tree(&p, newer.n, &newer.hash, older.n, &h) {
                Err(_) => report.push_str("\tinternal error: generated inconsistent proof\n"),
                Ok(()) => {
                    for h in &p {
                        report.push_str(&format!("\n\t{h}"));
                    }
                }
            },
        }
        self.ops.security_error(&report);
        Err(ClientError::Security)
    }

    /// Proves that record `id` with `data` is in the trusted tree.
    fn check_record(&self, id: i64, data: &[u8]) -> Result<(), ClientError> {
        if id >= self.latest.n {
            return Err(ClientError::Other(format!(
                "cannot validate record {id} in tree of size {}",
                self.latest.n
            )));
        }
        let thr = TileHashReader::new(self.latest, self);
        let hashes = thr
            .read_hashes(&[tlog::stored_hash_index(0, id)])
            .map_err(|e| ClientError::Other(e.to_string()))?;
        if hashes.first() == Some(&tlog::record_hash(data)) {
            return Ok(());
        }
        Err(ClientError::Other(
            "cannot authenticate record data in server response".into(),
        ))
    }

    fn tile_key(&self, t: &Tile) -> String {
        format!("{}/{}", self.name, t.path())
    }

    /// A tile from memory, the cache (a full tile cut down to it) or the database (the
    /// tile, else the full tile cut down: a partial tile that was completed is gone).
    fn read_tile(&self, t: &Tile) -> Result<Vec<u8>, ClientError> {
        if let Some(d) = self.tiles.borrow().get(t) {
            return Ok(d.clone());
        }
        let mut full = *t;
        full.w = 1 << t.h;
        let cut = |d: Vec<u8>| -> Vec<u8> {
            let keep = d.len() / full.w as usize * t.w as usize;
            d[..keep.min(d.len())].to_vec()
        };
        let data = if let Some(d) = self.ops.read_cache(&self.tile_key(t)) {
            self.saved.borrow_mut().insert(*t);
            d
        } else if let Some(d) = (full != *t)
            .then(|| self.ops.read_cache(&self.tile_key(&full)))
            .flatten()
        {
            self.saved.borrow_mut().insert(*t);
            cut(d)
        } else {
            match self.ops.read_remote(&format!("/{}", t.path())) {
                Ok(d) => d,
                Err(e) if full != *t => match self.ops.read_remote(&format!("/{}", full.path())) {
                    Ok(d) => cut(d),
                    Err(_) => return Err(e),
                },
                Err(e) => return Err(e),
            }
        };
        let mut tiles = self.tiles.borrow_mut();
        if tiles.len() >= MAX_TILES {
            tiles.clear();
        }
        tiles.insert(*t, data.clone());
        Ok(data)
    }
}

impl<O: ClientOps> TileReader for Client<O> {
    fn height(&self) -> u32 {
        self.tile_height
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, tlog::TlogError> {
        tiles
            .iter()
            .map(|t| {
                self.read_tile(t)
                    .map_err(|e| tlog::TlogError::Other(e.to_string()))
            })
            .collect()
    }

    fn save_tiles(&self, tiles: &[Tile], data: &[Vec<u8>]) {
        for (t, d) in tiles.iter().zip(data) {
            if self.saved.borrow_mut().insert(*t) {
                self.ops.write_cache(&self.tile_key(t), d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::collections::HashMap;
    use std::rc::Rc;

    use super::*;
    use crate::sumdb::note::Signer;
    use crate::sumdb::server::TestServer;

    fn gosum(path: &str, vers: &str) -> Option<String> {
        (path != "missing.example.com").then(|| {
            format!(
                "{path} {vers} h1:zip-{path}-{vers}=\n{path} {vers}/go.mod h1:mod-{path}-{vers}=\n"
            )
        })
    }

    fn server(seed: u8, planted: bool) -> (Rc<TestServer>, String) {
        let (signer, vkey) = Signer::from_seed("sum.example.com", [seed; 32]).unwrap();
        let gosum: crate::sumdb::server::GoSum = if planted {
            Box::new(|p: &str, v: &str| Some(format!("{p} {v} h1:planted=\n")))
        } else {
            Box::new(gosum)
        };
        (Rc::new(TestServer::new(signer, gosum)), vkey)
    }

    /// Ops over a server in memory: config and cache in maps, calls counted.
    #[derive(Clone)]
    struct Ops {
        db: Rc<RefCell<Rc<TestServer>>>,
        key: String,
        config: Rc<RefCell<HashMap<String, Vec<u8>>>>,
        cache: Rc<RefCell<HashMap<String, Vec<u8>>>>,
        remote: Rc<RefCell<Vec<String>>>,
        security: Rc<RefCell<Vec<String>>>,
        tamper: Rc<Cell<bool>>,
    }

    impl Ops {
        fn new(db: Rc<TestServer>, key: &str) -> Ops {
            Ops {
                db: Rc::new(RefCell::new(db)),
                key: key.into(),
                config: Default::default(),
                cache: Default::default(),
                remote: Default::default(),
                security: Default::default(),
                tamper: Default::default(),
            }
        }
    }

    impl ClientOps for Ops {
        fn read_remote(&self, path: &str) -> Result<Vec<u8>, ClientError> {
            self.remote.borrow_mut().push(path.to_string());
            let mut data = self
                .db
                .borrow()
                .handle(path)
                .map_err(|e| ClientError::Other(e.message))?;
            if self.tamper.get() && path.starts_with("/lookup/") {
                // The record text changed after the fact: its hash is not in the log.
                let i = data.iter().position(|&b| b == b'h').unwrap();
                data[i + 3] ^= 1;
            }
            Ok(data)
        }
        fn read_config(&self, file: &str) -> Result<Vec<u8>, ClientError> {
            if file == "key" {
                return Ok(self.key.clone().into_bytes());
            }
            Ok(self.config.borrow().get(file).cloned().unwrap_or_default())
        }
        fn write_config(&self, file: &str, old: &[u8], new: &[u8]) -> Result<(), ClientError> {
            let mut c = self.config.borrow_mut();
            if c.get(file).map(Vec::as_slice).unwrap_or_default() != old {
                return Err(ClientError::WriteConflict);
            }
            c.insert(file.into(), new.to_vec());
            Ok(())
        }
        fn read_cache(&self, file: &str) -> Option<Vec<u8>> {
            self.cache.borrow().get(file).cloned()
        }
        fn write_cache(&self, file: &str, data: &[u8]) {
            self.cache.borrow_mut().insert(file.into(), data.to_vec());
        }
        fn security_error(&self, msg: &str) {
            self.security.borrow_mut().push(msg.into());
        }
    }

    // The cases of x/mod's client_test.go (lookups, GONOSUMDB, data that does not prove,
    // forks), over the in-memory test server.
    #[test]
    fn lookups_are_proven_and_cached() {
        let (db, vkey) = server(1, false);
        for (p, v) in [("a.example.com/x", "v1.0.0"), ("b.example.com/y", "v1.2.3")] {
            db.lookup(p, v).unwrap();
        }
        let ops = Ops::new(db, &vkey);
        let mut c = Client::new(ops.clone()).unwrap();
        assert_eq!(
            c.lookup("rsc.io/quote", "v1.5.2").unwrap(),
            ["rsc.io/quote v1.5.2 h1:zip-rsc.io/quote-v1.5.2="]
        );
        assert_eq!(
            c.lookup("rsc.io/quote", "v1.5.2/go.mod").unwrap(),
            ["rsc.io/quote v1.5.2/go.mod h1:mod-rsc.io/quote-v1.5.2="]
        );
        assert_eq!(c.latest().n, 3);
        // The trusted tree head went to the config file, signed.
        let latest = ops.config.borrow()["sum.example.com/latest"].clone();
        assert!(latest.starts_with(b"go.sum database tree\n3\n"));
        // The lookup and its tiles were cached once verified; a new client over the same
        // cache and config asks the database nothing for it.
        assert!(
            ops.cache
                .borrow()
                .contains_key("sum.example.com/lookup/rsc.io/quote@v1.5.2")
        );
        assert!(
            ops.cache
                .borrow()
                .keys()
                .any(|k| k.starts_with("sum.example.com/tile/8/0/"))
        );
        let remote_before = ops.remote.borrow().len();
        let mut c2 = Client::new(ops.clone()).unwrap();
        c2.lookup("rsc.io/quote", "v1.5.2").unwrap();
        assert_eq!(ops.remote.borrow().len(), remote_before);
        // Not found.
        let e = c.lookup("missing.example.com", "v1.0.0").unwrap_err();
        assert_eq!(
            e.to_string(),
            "missing.example.com@v1.0.0: missing.example.com@v1.0.0: not found"
        );
    }

    #[test]
    fn gonosumdb_asks_nothing() {
        let (db, vkey) = server(2, false);
        let ops = Ops::new(db, &vkey);
        let mut c = Client::new(ops.clone()).unwrap();
        c.set_gonosumdb("corp.example.com,*.private");
        assert_eq!(
            c.lookup("corp.example.com/x", "v1.0.0"),
            Err(ClientError::Gonosumdb)
        );
        assert_eq!(
            c.lookup("a.private/x", "v1.0.0"),
            Err(ClientError::Gonosumdb)
        );
        assert!(ops.remote.borrow().is_empty());
    }

    #[test]
    fn a_record_that_is_not_in_the_log_is_refused() {
        let (db, vkey) = server(3, false);
        let ops = Ops::new(db, &vkey);
        ops.tamper.set(true);
        let mut c = Client::new(ops.clone()).unwrap();
        let e = c.lookup("rsc.io/quote", "v1.5.2").unwrap_err();
        assert_eq!(
            e.to_string(),
            "rsc.io/quote@v1.5.2: cannot authenticate record data in server response"
        );
        assert!(!ops.cache.borrow().keys().any(|k| k.contains("/lookup/")));
    }

    #[test]
    fn another_key_is_refused() {
        let (db, _) = server(4, false);
        let (_, other_key) = server(5, false);
        let mut c = Client::new(Ops::new(db, &other_key)).unwrap();
        let e = c.lookup("rsc.io/quote", "v1.5.2").unwrap_err().to_string();
        assert!(
            e.starts_with(
                "rsc.io/quote@v1.5.2: reading tree note: note has no verifiable signatures"
            ),
            "{e}"
        );
    }

    #[test]
    fn a_fork_is_a_security_error() {
        // Two databases with the same key but different records.
        let (signer, vkey) = Signer::from_seed("sum.example.com", [6; 32]).unwrap();
        let a = Rc::new(TestServer::new(signer.clone(), Box::new(gosum)));
        let b = Rc::new(TestServer::new(
            signer,
            Box::new(|p: &str, v: &str| Some(format!("{p} {v} h1:other=\n"))),
        ));
        for s in [&a, &b] {
            s.lookup("a.example.com/x", "v1.0.0").unwrap();
        }
        let ops = Ops::new(Rc::clone(&a), &vkey);
        let mut c = Client::new(ops.clone()).unwrap();
        c.lookup("rsc.io/quote", "v1.5.2").unwrap();
        *ops.db.borrow_mut() = b;
        let mut c = Client::new(ops.clone()).unwrap();
        assert_eq!(
            c.lookup("rsc.io/sampler", "v1.3.0"),
            Err(ClientError::Security)
        );
        let report = ops.security.borrow().join("\n");
        assert!(
            report.starts_with("SECURITY ERROR\ngo.sum database server misbehavior detected!\n\nold database:\n\tgo.sum database tree\n"),
            "{report}"
        );
        assert!(report.contains("proof of misbehavior:"), "{report}");
    }
}
