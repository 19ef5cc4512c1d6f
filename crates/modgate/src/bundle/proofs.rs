//! What the go command will read of the checksum database to verify a bundle's lookups
//! offline, and the check of it.
//!
//! The go command's client (x/mod `sumdb.Client`) takes each lookup's signed tree head as
//! its latest when it is newer than the one it has, proves that the older is contained in
//! the newer (`checkTrees`: the older tree's hash from the newer tree's tiles), and proves
//! each record against the latest tree it has at that moment (`checkRecord`). Lookups run
//! in parallel, in any order; so a bundle holds, for every tree head found in its lookups
//! (and the database's latest), the tiles proving every record of an earlier index in it,
//! and the tiles proving every earlier tree head contained in it. Which tiles those are
//! comes from running the proofs themselves (gomod's `TileHashReader`), which asks for
//! exactly the tiles the go command will ask for.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use gomod::sumdb::note::NoteError;
use gomod::sumdb::tile::Tile;
use gomod::sumdb::tlog::{self, HashReader, TileHashReader, TileReader, TlogError, Tree};

/// Why a lookup, a signed tree head or a proof of the checksum database does not hold.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A lookup (`path@version`) that cannot be read.
    #[error("lookup {name}: {source}")]
    Lookup {
        /// `path@version`.
        name: String,
        /// Why.
        #[source]
        source: Box<Error>,
    },
    /// Not a lookup's record.
    #[error(transparent)]
    Record(TlogError),
    /// A signed tree head whose signature does not verify.
    #[error("the signed tree head: {0}")]
    Signature(#[source] NoteError),
    /// A signed tree head whose text is not a tree.
    #[error("the signed tree head: {0}")]
    TreeHead(#[source] TlogError),
    /// Two tree heads of one size, with different hashes.
    #[error("two signed tree heads of size {size} with different hashes: the database forked")]
    Forked {
        /// The trees' size.
        size: i64,
    },
    /// A lookup's record is not the one a tree holds at its id.
    #[error("lookup {name}: the record is not the one in the tree of size {size}")]
    WrongRecord {
        /// `path@version`.
        name: String,
        /// The tree's size.
        size: i64,
    },
    /// A lookup's record cannot be proven in a tree (strict: a tile is missing or bad).
    #[error("lookup {name}: cannot prove it in the tree of size {size}: {source}")]
    RecordUnproven {
        /// `path@version`.
        name: String,
        /// The tree's size.
        size: i64,
        /// Why.
        #[source]
        source: TlogError,
    },
    /// An older tree is not contained in a newer one.
    #[error(
        "the tree of size {older} is not contained in the tree of size {newer}: the database forked"
    )]
    NotContained {
        /// The older tree's size.
        older: i64,
        /// The newer tree's size.
        newer: i64,
    },
    /// That an older tree is contained in a newer one cannot be proven (strict).
    #[error(
        "cannot prove the tree of size {older} contained in the tree of size {newer}: {source}"
    )]
    ContainmentUnproven {
        /// The older tree's size.
        older: i64,
        /// The newer tree's size.
        newer: i64,
        /// Why.
        #[source]
        source: TlogError,
    },
    /// Several proofs that fail, by their text, one a line.
    #[error("{}", lines(.0))]
    Failures(Vec<Error>),
}

/// `errors`, one a line.
fn lines(errors: &[Error]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A lookup of the bundle: its record id and text, and the tree head it came with.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// `path@version`.
    pub name: String,
    /// The record id.
    pub id: i64,
    /// The record text (go.sum lines).
    pub text: Vec<u8>,
    /// The tree its signed note names.
    pub tree: Tree,
}

/// Parses a lookup answer and opens its note with `verifier`.
pub fn parse_lookup(
    name: &str,
    data: &[u8],
    verifier: &gomod::sumdb::note::Verifier,
) -> Result<Lookup, Error> {
    let in_lookup = |e: Error| Error::Lookup {
        name: name.to_string(),
        source: Box::new(e),
    };
    let (id, text, note) = tlog::parse_record(data).map_err(|e| in_lookup(Error::Record(e)))?;
    let tree = open_tree(note, verifier).map_err(in_lookup)?;
    Ok(Lookup {
        name: name.to_string(),
        id,
        text: text.to_vec(),
        tree,
    })
}

/// The tree of a signed tree head, its signature checked.
pub fn open_tree(note: &[u8], verifier: &gomod::sumdb::note::Verifier) -> Result<Tree, Error> {
    let n =
        gomod::sumdb::note::open(note, std::slice::from_ref(verifier)).map_err(Error::Signature)?;
    tlog::parse_tree(n.text.as_bytes()).map_err(Error::TreeHead)
}

/// A tile reader over known tiles; it notes the ones it was asked for and does not have.
#[derive(Default)]
pub struct Tiles {
    /// Tile path → data.
    pub have: HashMap<String, Vec<u8>>,
    missing: Mutex<BTreeSet<String>>,
}

impl Tiles {
    /// The tiles asked for and not had, since the last call.
    pub fn take_missing(&self) -> BTreeSet<String> {
        std::mem::take(&mut *self.missing.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl TileReader for Tiles {
    fn height(&self) -> u32 {
        8
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, TlogError> {
        let mut out = Vec::new();
        let mut missing = Vec::new();
        for t in tiles {
            match self.have.get(&t.path()) {
                Some(d) => out.push(d.clone()),
                None => missing.push(t.path()),
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        self.missing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(missing);
        Err(TlogError::Other("tiles missing".into()))
    }

    fn save_tiles(&self, _: &[Tile], _: &[Vec<u8>]) {}
}

/// The proofs a bundle must hold: each lookup against each tree at least its size, each
/// tree against each bigger one. Runs them over `tiles`: `Ok(missing)` the tiles still
/// to get; `Err` a proof that fails (several: [`Error::Failures`], by their text).
/// `strict`: every tile is there, and a proof that cannot be made fails too.
pub fn prove_all(
    lookups: &[Lookup],
    extra: &[Tree],
    tiles: &Tiles,
    strict: bool,
) -> Result<BTreeSet<String>, Error> {
    let mut trees: BTreeMap<i64, Tree> = BTreeMap::new();
    for t in lookups.iter().map(|l| l.tree).chain(extra.iter().copied()) {
        if let Some(old) = trees.insert(t.n, t)
            && old.hash != t.hash
        {
            return Err(Error::Forked { size: t.n });
        }
    }
    let mut failures = Vec::new();
    let mut note = |r: Result<(), Error>| {
        if let Err(e) = r {
            failures.push(e);
        }
    };
    for l in lookups {
        for t in trees.values().filter(|t| t.n > l.id && t.n >= l.tree.n) {
            let r = TileHashReader::new(*t, tiles).read_hashes(&[tlog::stored_hash_index(0, l.id)]);
            note(match r {
                Ok(h) if h.first() == Some(&tlog::record_hash(&l.text)) => Ok(()),
                Ok(_) => Err(Error::WrongRecord {
                    name: l.name.clone(),
                    size: t.n,
                }),
                Err(source) if strict => Err(Error::RecordUnproven {
                    name: l.name.clone(),
                    size: t.n,
                    source,
                }),
                Err(_) => Ok(()),
            });
        }
    }
    let sizes: Vec<&Tree> = trees.values().collect();
    for (i, older) in sizes.iter().enumerate() {
        for newer in &sizes[i + 1..] {
            match tlog::tree_hash(older.n, &TileHashReader::new(**newer, tiles)) {
                Ok(h) if h == older.hash => {}
                Ok(_) => note(Err(Error::NotContained {
                    older: older.n,
                    newer: newer.n,
                })),
                Err(source) if strict => note(Err(Error::ContainmentUnproven {
                    older: older.n,
                    newer: newer.n,
                    source,
                })),
                Err(_) => {}
            }
        }
    }
    // By their text, each once.
    let mut failures: Vec<(String, Error)> =
        failures.into_iter().map(|e| (e.to_string(), e)).collect();
    failures.sort_by(|a, b| a.0.cmp(&b.0));
    failures.dedup_by(|a, b| a.0 == b.0);
    let mut failures: Vec<Error> = failures.into_iter().map(|(_, e)| e).collect();
    match failures.len() {
        0 => {}
        1 => return Err(failures.remove(0)),
        _ => return Err(Error::Failures(failures)),
    }
    Ok(tiles.take_missing())
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use gomod::sumdb::client::{Client, ClientError, ClientOps};
    use gomod::sumdb::note::{Signer, Verifier};
    use gomod::sumdb::server::TestServer;

    use super::*;

    /// The go command's client, reading only `files` (a bundle's): nothing trusted
    /// before, nothing cached.
    struct Offline {
        files: HashMap<String, Vec<u8>>,
        key: String,
        config: RefCell<HashMap<String, Vec<u8>>>,
    }

    impl ClientOps for Offline {
        fn read_remote(&self, path: &str) -> Result<Vec<u8>, ClientError> {
            self.files
                .get(path.trim_start_matches('/'))
                .cloned()
                .ok_or_else(|| ClientError::Other(format!("{path}: not in the bundle")))
        }
        fn read_config(&self, file: &str) -> Result<Vec<u8>, ClientError> {
            if file == "key" {
                return Ok(self.key.clone().into_bytes());
            }
            Ok(self.config.borrow().get(file).cloned().unwrap_or_default())
        }
        fn write_config(&self, file: &str, _: &[u8], new: &[u8]) -> Result<(), ClientError> {
            self.config.borrow_mut().insert(file.into(), new.to_vec());
            Ok(())
        }
        fn read_cache(&self, _: &str) -> Option<Vec<u8>> {
            None
        }
        fn write_cache(&self, _: &str, _: &[u8]) {}
        fn security_error(&self, msg: &str) {
            panic!("security error: {msg}");
        }
    }

    #[test]
    fn lookups_of_many_tree_sizes_verify_offline_in_any_order() {
        let (signer, vkey) = Signer::from_seed("sum.example.com", [7; 32]).unwrap();
        let db = TestServer::new(
            signer,
            Box::new(|p: &str, v: &str| {
                Some(format!(
                    "{p} {v} h1:zip-{p}-{v}=\n{p} {v}/go.mod h1:mod-{p}-{v}=\n"
                ))
            }),
        );
        let verifier = Verifier::new(&vkey).unwrap();
        // Lookups made while the log grows past full tiles at two levels: each comes
        // with another tree head.
        let mut files: HashMap<String, Vec<u8>> = HashMap::new();
        let mut lookups = Vec::new();
        let mut wanted = Vec::new();
        for round in 0..6 {
            for i in 0..70 {
                db.lookup(&format!("filler.example.com/m{round}x{i}"), "v1.0.0")
                    .unwrap();
            }
            let m = format!("example.com/m{round}");
            let rel = format!("lookup/{m}@v1.0.0");
            let body = db.handle(&format!("/{rel}")).unwrap();
            lookups.push(parse_lookup(&m, &body, &verifier).unwrap());
            files.insert(rel, body);
            wanted.push(m);
        }
        let latest_note = db.handle("/latest").unwrap();
        let latest = open_tree(&latest_note, &verifier).unwrap();
        files.insert("latest".into(), latest_note);
        let trees: BTreeSet<i64> = lookups.iter().map(|l| l.tree.n).collect();
        assert_eq!(trees.len(), 6);
        // The tiles, as the bundle gathers them.
        let mut tiles = Tiles::default();
        loop {
            let missing = prove_all(&lookups, &[latest], &tiles, false).unwrap();
            if missing.is_empty() {
                break;
            }
            for p in missing {
                tiles
                    .have
                    .insert(p.clone(), db.handle(&format!("/{p}")).unwrap());
            }
        }
        prove_all(&lookups, &[latest], &tiles, true).unwrap();
        assert!(
            tiles.have.keys().any(|p| p.contains(".p/")),
            "partial tiles too"
        );
        assert!(
            tiles.have.keys().any(|p| p.starts_with("tile/8/1/")),
            "level 1 too"
        );
        files.extend(tiles.have.iter().map(|(p, d)| (p.clone(), d.clone())));
        // The go command's client finds all it needs in the bundle, in any order.
        let orders: [Vec<usize>; 3] = [
            (0..6).collect(),
            (0..6).rev().collect(),
            vec![3, 0, 5, 1, 4, 2],
        ];
        for order in orders {
            let mut c = Client::new(Offline {
                files: files.clone(),
                key: vkey.clone(),
                config: RefCell::default(),
            })
            .unwrap();
            for i in order {
                let m = &wanted[i];
                assert_eq!(
                    c.lookup(m, "v1.0.0").unwrap(),
                    [format!("{m} v1.0.0 h1:zip-{m}-v1.0.0=")]
                );
            }
        }
        // A tile that does not agree with the tree heads is found.
        let (p, d) = tiles
            .have
            .iter()
            .next()
            .map(|(p, d)| (p.clone(), d.clone()))
            .unwrap();
        let mut bad = d;
        bad[0] ^= 1;
        tiles.have.insert(p, bad);
        assert!(prove_all(&lookups, &[latest], &tiles, true).is_err());
    }
}
