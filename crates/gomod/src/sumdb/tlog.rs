//! The checksum database's transparency log (x/mod `sumdb/tlog`): record and node hashes,
//! the storage order of a tree's hashes, tree hashes, inclusion and consistency proofs,
//! tiles of stored hashes read and checked against a signed tree hash, and the text forms
//! of tree heads and records.
//!
//! A log of `n` records is a Merkle tree (RFC 6962 hashing: `0x00` before a record,
//! `0x01` before two children). Its hashes are stored in one sequence: after record `i`'s
//! hash come the hashes of the complete subtrees it closes, so that hash `(level, n)` has a
//! fixed index. Tiles cut that sequence into `2^h`-wide pieces; see [`super::tile`].

use base64::Engine;
use sha2::{Digest, Sha256};

use super::tile::Tile;

/// The size of a hash.
pub const HASH_SIZE: usize = 32;

/// A SHA-256 hash of the log.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Hash(pub [u8; HASH_SIZE]);

impl std::fmt::Display for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&base64::engine::general_purpose::STANDARD.encode(self.0))
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl Hash {
    /// Parses the base64 form.
    pub fn parse(s: &str) -> Result<Hash, TlogError> {
        let data = base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|_| TlogError::MalformedHash)?;
        let h: [u8; HASH_SIZE] = data.try_into().map_err(|_| TlogError::MalformedHash)?;
        Ok(Hash(h))
    }
}

/// Why a log operation failed, with x/mod's texts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlogError {
    /// Not a base64 SHA-256 hash.
    #[error("malformed hash")]
    MalformedHash,
    /// Not a tree head (`go.sum database tree\nN\nHASH\n`).
    #[error("malformed tree note")]
    MalformedTree,
    /// Not a record (`ID\nTEXT\n...`).
    #[error("malformed record data")]
    MalformedRecord,
    /// A proof that does not prove.
    #[error("invalid transparency proof")]
    ProofFailed,
    /// Anything else (bad arguments, a reader's error, an inconsistent tile).
    #[error("{0}")]
    Other(String),
}

fn other(m: impl Into<String>) -> TlogError {
    TlogError::Other(m.into())
}

/// The hash of a record.
pub fn record_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    Hash(h.finalize().into())
}

/// The hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// The hash of the empty tree.
const EMPTY_HASH: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// The largest power of two below `n` (for `n > 1`), and its log.
fn maxpow2(n: i64) -> (i64, u32) {
    let mut l = 0u32;
    while l < 62 && (1i64 << (l + 1)) < n {
        l += 1;
    }
    (1i64 << l, l)
}

/// Where hash `(level, n)` is in the storage sequence.
pub fn stored_hash_index(level: u32, n: i64) -> i64 {
    let mut n = n;
    for _ in 0..level {
        n = 2 * n + 1;
    }
    let mut i = 0i64;
    while n > 0 {
        i += n;
        n >>= 1;
    }
    i + i64::from(level)
}

/// The `(level, n)` of the hash at `index` of the storage sequence.
pub fn split_stored_hash_index(index: i64) -> (u32, i64) {
    let mut n = index / 2;
    let mut index_n = stored_hash_index(0, n);
    while index_n > index && n > 0 {
        // Not reached for valid indexes (x/mod panics "bad math" here).
        n -= 1;
        index_n = stored_hash_index(0, n);
    }
    loop {
        let x = index_n + 1 + i64::from((n + 1).trailing_zeros());
        if x > index {
            break;
        }
        n += 1;
        index_n = x;
    }
    let level = (index - index_n) as u32;
    (level, n >> level)
}

/// How many hashes a tree of `n` records stores.
pub fn stored_hash_count(n: i64) -> i64 {
    if n == 0 {
        return 0;
    }
    let mut num = stored_hash_index(0, n - 1) + 1;
    let mut i = (n - 1) as u64;
    while i & 1 != 0 {
        num += 1;
        i >>= 1;
    }
    num
}

/// Reads stored hashes by index.
pub trait HashReader {
    /// The hashes at `indexes`, in order.
    fn read_hashes(&self, indexes: &[i64]) -> Result<Vec<Hash>, TlogError>;
}

/// All the stored hashes of a tree, in storage order.
impl HashReader for [Hash] {
    fn read_hashes(&self, indexes: &[i64]) -> Result<Vec<Hash>, TlogError> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.get(i))
                    .copied()
                    .ok_or_else(|| other(format!("no stored hash {i}")))
            })
            .collect()
    }
}

impl HashReader for Vec<Hash> {
    fn read_hashes(&self, indexes: &[i64]) -> Result<Vec<Hash>, TlogError> {
        self.as_slice().read_hashes(indexes)
    }
}

fn read_exactly(r: &dyn HashReader, indexes: &[i64]) -> Result<Vec<Hash>, TlogError> {
    let hashes = r.read_hashes(indexes)?;
    if hashes.len() != indexes.len() {
        return Err(other(format!(
            "tlog: ReadHashes({} indexes) = {} hashes",
            indexes.len(),
            hashes.len()
        )));
    }
    Ok(hashes)
}

/// The hashes to store when record `n` (with `data`) is added to a tree of `n` records.
pub fn stored_hashes(n: i64, data: &[u8], r: &dyn HashReader) -> Result<Vec<Hash>, TlogError> {
    stored_hashes_for_record_hash(n, record_hash(data), r)
}

/// [`stored_hashes`] given the record's hash.
pub fn stored_hashes_for_record_hash(
    n: i64,
    h: Hash,
    r: &dyn HashReader,
) -> Result<Vec<Hash>, TlogError> {
    let mut hashes = vec![h];
    let m = (n + 1).trailing_zeros() as usize;
    let mut indexes = vec![0i64; m];
    for i in 0..m {
        indexes[m - 1 - i] = stored_hash_index(i as u32, (n >> i) - 1);
    }
    let old = read_exactly(r, &indexes)?;
    let mut h = h;
    for i in 0..m {
        h = node_hash(&old[m - 1 - i], &h);
        hashes.push(h);
    }
    Ok(hashes)
}

/// The indexes of the complete subtrees covering `[lo, hi)`.
fn sub_tree_index(mut lo: i64, hi: i64, need: &mut Vec<i64>) {
    while lo < hi {
        let (k, level) = maxpow2(hi - lo + 1);
        need.push(stored_hash_index(level, lo >> level));
        lo += k;
    }
}

/// The hash of `[lo, hi)` from the hashes of its complete subtrees; returns the rest.
fn sub_tree_hash(mut lo: i64, hi: i64, hashes: &[Hash]) -> Result<(Hash, &[Hash]), TlogError> {
    let mut num = 0;
    while lo < hi {
        let (k, _) = maxpow2(hi - lo + 1);
        num += 1;
        lo += k;
    }
    if num == 0 || hashes.len() < num {
        return Err(other("tlog: bad index math in subTreeHash"));
    }
    let mut h = hashes[num - 1];
    for i in (0..num - 1).rev() {
        h = node_hash(&hashes[i], &h);
    }
    Ok((h, &hashes[num..]))
}

/// The hash of the tree of the first `n` records.
pub fn tree_hash(n: i64, r: &dyn HashReader) -> Result<Hash, TlogError> {
    if n <= 0 {
        return Ok(EMPTY_HASH);
    }
    let mut indexes = Vec::new();
    sub_tree_index(0, n, &mut indexes);
    let hashes = read_exactly(r, &indexes)?;
    let (h, rest) = sub_tree_hash(0, n, &hashes)?;
    if !rest.is_empty() {
        return Err(other("tlog: bad index math in TreeHash"));
    }
    Ok(h)
}

/// A proof that a record is in a tree.
pub type RecordProof = Vec<Hash>;

/// A proof that a tree is a prefix of a bigger one.
pub type TreeProof = Vec<Hash>;

fn leaf_proof_index(lo: i64, hi: i64, n: i64, need: &mut Vec<i64>) {
    if lo + 1 >= hi {
        return;
    }
    let (k, _) = maxpow2(hi - lo);
    if n < lo + k {
        leaf_proof_index(lo, lo + k, n, need);
        sub_tree_index(lo + k, hi, need);
    } else {
        sub_tree_index(lo, lo + k, need);
        leaf_proof_index(lo + k, hi, n, need);
    }
}

fn leaf_proof(
    lo: i64,
    hi: i64,
    n: i64,
    hashes: &[Hash],
) -> Result<(RecordProof, &[Hash]), TlogError> {
    if lo + 1 >= hi {
        return Ok((Vec::new(), hashes));
    }
    let (k, _) = maxpow2(hi - lo);
    let (mut p, th, rest) = if n < lo + k {
        let (p, rest) = leaf_proof(lo, lo + k, n, hashes)?;
        let (th, rest) = sub_tree_hash(lo + k, hi, rest)?;
        (p, th, rest)
    } else {
        let (th, rest) = sub_tree_hash(lo, lo + k, hashes)?;
        let (p, rest) = leaf_proof(lo + k, hi, n, rest)?;
        (p, th, rest)
    };
    p.push(th);
    Ok((p, rest))
}

/// The proof that record `n` is in the tree of size `t`.
pub fn prove_record(t: i64, n: i64, r: &dyn HashReader) -> Result<RecordProof, TlogError> {
    if t < 0 || n < 0 || n >= t {
        return Err(other("tlog: invalid inputs in ProveRecord"));
    }
    let mut indexes = Vec::new();
    leaf_proof_index(0, t, n, &mut indexes);
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = read_exactly(r, &indexes)?;
    let (p, rest) = leaf_proof(0, t, n, &hashes)?;
    if !rest.is_empty() {
        return Err(other("tlog: bad index math in ProveRecord"));
    }
    Ok(p)
}

fn run_record_proof(p: &[Hash], lo: i64, hi: i64, n: i64, leaf: Hash) -> Result<Hash, TlogError> {
    if lo + 1 >= hi {
        return if p.is_empty() {
            Ok(leaf)
        } else {
            Err(TlogError::ProofFailed)
        };
    }
    let Some((last, init)) = p.split_last() else {
        return Err(TlogError::ProofFailed);
    };
    let (k, _) = maxpow2(hi - lo);
    if n < lo + k {
        let th = run_record_proof(init, lo, lo + k, n, leaf)?;
        Ok(node_hash(&th, last))
    } else {
        let th = run_record_proof(init, lo + k, hi, n, leaf)?;
        Ok(node_hash(last, &th))
    }
}

/// Checks that `p` proves record `n` with hash `h` is in the tree of size `t` and hash `th`.
pub fn check_record(p: &[Hash], t: i64, th: &Hash, n: i64, h: &Hash) -> Result<(), TlogError> {
    if t < 0 || n < 0 || n >= t {
        return Err(other("tlog: invalid inputs in CheckRecord"));
    }
    if run_record_proof(p, 0, t, n, *h)? == *th {
        Ok(())
    } else {
        Err(TlogError::ProofFailed)
    }
}

fn tree_proof_index(lo: i64, hi: i64, n: i64, need: &mut Vec<i64>) {
    if n == hi {
        if lo != 0 {
            sub_tree_index(lo, hi, need);
        }
        return;
    }
    let (k, _) = maxpow2(hi - lo);
    if n <= lo + k {
        tree_proof_index(lo, lo + k, n, need);
        sub_tree_index(lo + k, hi, need);
    } else {
        sub_tree_index(lo, lo + k, need);
        tree_proof_index(lo + k, hi, n, need);
    }
}

fn tree_proof(
    lo: i64,
    hi: i64,
    n: i64,
    hashes: &[Hash],
) -> Result<(TreeProof, &[Hash]), TlogError> {
    if n == hi {
        if lo == 0 {
            return Ok((Vec::new(), hashes));
        }
        let (th, rest) = sub_tree_hash(lo, hi, hashes)?;
        return Ok((vec![th], rest));
    }
    let (k, _) = maxpow2(hi - lo);
    let (mut p, th, rest) = if n <= lo + k {
        let (p, rest) = tree_proof(lo, lo + k, n, hashes)?;
        let (th, rest) = sub_tree_hash(lo + k, hi, rest)?;
        (p, th, rest)
    } else {
        let (th, rest) = sub_tree_hash(lo, lo + k, hashes)?;
        let (p, rest) = tree_proof(lo + k, hi, n, rest)?;
        (p, th, rest)
    };
    p.push(th);
    Ok((p, rest))
}

/// The proof that the tree of size `n` is a prefix of the tree of size `t`.
pub fn prove_tree(t: i64, n: i64, r: &dyn HashReader) -> Result<TreeProof, TlogError> {
    if t < 1 || n < 1 || n > t {
        return Err(other("tlog: invalid inputs in ProveTree"));
    }
    let mut indexes = Vec::new();
    tree_proof_index(0, t, n, &mut indexes);
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = read_exactly(r, &indexes)?;
    let (p, rest) = tree_proof(0, t, n, &hashes)?;
    if !rest.is_empty() {
        return Err(other("tlog: bad index math in ProveTree"));
    }
    Ok(p)
}

fn run_tree_proof(
    p: &[Hash],
    lo: i64,
    hi: i64,
    n: i64,
    old: Hash,
) -> Result<(Hash, Hash), TlogError> {
    if n == hi {
        if lo == 0 {
            return if p.is_empty() {
                Ok((old, old))
            } else {
                Err(TlogError::ProofFailed)
            };
        }
        return match p {
            [h] => Ok((*h, *h)),
            _ => Err(TlogError::ProofFailed),
        };
    }
    let Some((last, init)) = p.split_last() else {
        return Err(TlogError::ProofFailed);
    };
    let (k, _) = maxpow2(hi - lo);
    if n <= lo + k {
        let (oh, th) = run_tree_proof(init, lo, lo + k, n, old)?;
        Ok((oh, node_hash(&th, last)))
    } else {
        let (oh, th) = run_tree_proof(init, lo + k, hi, n, old)?;
        Ok((node_hash(last, &oh), node_hash(last, &th)))
    }
}

/// Checks that `p` proves the tree of size `n` and hash `h` is a prefix of the tree of
/// size `t` and hash `th`.
pub fn check_tree(p: &[Hash], t: i64, th: &Hash, n: i64, h: &Hash) -> Result<(), TlogError> {
    if t < 1 || n < 1 || n > t {
        return Err(other("tlog: invalid inputs in CheckTree"));
    }
    let (h2, th2) = run_tree_proof(p, 0, t, n, *h)?;
    if th2 == *th && h2 == *h {
        Ok(())
    } else {
        Err(TlogError::ProofFailed)
    }
}

// ----------------------------------------------------------------------------- tiles

/// The tile of height `h` holding the stored hash `index` (its width reaching just that
/// hash), and where the hash's span starts and ends in the tile's data.
fn tile_for_index_span(h: u32, index: i64) -> (Tile, usize, usize) {
    let (level, n) = split_stored_hash_index(index);
    let l = level / h;
    let level = level - l * h;
    let tn = (n << level) >> h;
    let n = n - ((tn << h) >> level);
    let w = ((n + 1) << level) as u32;
    let t = Tile {
        h,
        l: i64::from(l),
        n: tn,
        w,
    };
    (
        t,
        ((n << level) as usize) * HASH_SIZE,
        (((n + 1) << level) as usize) * HASH_SIZE,
    )
}

/// The tile of height `h` holding stored hash `index`.
pub fn tile_for_index(h: u32, index: i64) -> Tile {
    tile_for_index_span(h, index).0
}

fn tile_hash(data: &[u8]) -> Hash {
    if data.len() <= HASH_SIZE {
        let mut h = [0u8; HASH_SIZE];
        h[..data.len()].copy_from_slice(data);
        return Hash(h);
    }
    let n = data.len() / 2;
    node_hash(&tile_hash(&data[..n]), &tile_hash(&data[n..]))
}

/// The stored hash `index` from tile `t`'s `data`.
pub fn hash_from_tile(t: &Tile, data: &[u8], index: i64) -> Result<Hash, TlogError> {
    if !(1..=30).contains(&t.h) || t.l < 0 || t.l >= 64 || t.w < 1 || u64::from(t.w) > 1u64 << t.h {
        return Err(other(format!("invalid tile {}", t.path())));
    }
    if data.len() < t.w as usize * HASH_SIZE {
        return Err(other(format!(
            "data len {} too short for tile {}",
            data.len(),
            t.path()
        )));
    }
    let (t1, start, end) = tile_for_index_span(t.h, index);
    if t.l != t1.l || t.n != t1.n || t.w < t1.w {
        return Err(other(format!(
            "index {index} is in {} not {}",
            t1.path(),
            t.path()
        )));
    }
    Ok(tile_hash(&data[start..end]))
}

/// The tiles of height `h` that change when a tree grows from `old` to `new` records.
pub fn new_tiles(h: u32, old: i64, new: i64) -> Vec<Tile> {
    let mut tiles = Vec::new();
    let mut level = 0u32;
    while h * level < 63 && new >> (h * level) > 0 {
        let old_n = old >> (h * level);
        let new_n = new >> (h * level);
        if old_n != new_n {
            for n in (old_n >> h)..(new_n >> h) {
                tiles.push(Tile {
                    h,
                    l: i64::from(level),
                    n,
                    w: 1 << h,
                });
            }
            let n = new_n >> h;
            let w = new_n - (n << h);
            if w > 0 {
                tiles.push(Tile {
                    h,
                    l: i64::from(level),
                    n,
                    w: w as u32,
                });
            }
        }
        level += 1;
    }
    tiles
}

/// The data of tile `t`, from the stored hashes.
pub fn read_tile_data(t: &Tile, r: &dyn HashReader) -> Result<Vec<u8>, TlogError> {
    let size = if t.w == 0 { 1u32 << t.h } else { t.w };
    let start = t.n << t.h;
    let level = (t.h as i64 * t.l) as u32;
    let indexes: Vec<i64> = (0..i64::from(size))
        .map(|i| stored_hash_index(level, start + i))
        .collect();
    let hashes = read_exactly(r, &indexes)?;
    Ok(hashes.iter().flat_map(|h| h.0).collect())
}

/// Reads tiles (from a database, a cache).
pub trait TileReader {
    /// The tiles' height.
    fn height(&self) -> u32;
    /// The data of each tile, in order.
    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, TlogError>;
    /// Called with tiles whose data was verified, to keep them.
    fn save_tiles(&self, tiles: &[Tile], data: &[Vec<u8>]);
}

/// A signed tree head's size and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tree {
    /// The number of records.
    pub n: i64,
    /// The tree hash.
    pub hash: Hash,
}

/// Reads stored hashes of `tree` from tiles, checking every tile it reads against the
/// tree's hash (x/mod's `TileHashReader`): a tile that does not agree is refused, and
/// only checked tiles are passed to `save_tiles`.
pub struct TileHashReader<'a> {
    tree: Tree,
    tr: &'a dyn TileReader,
}

impl<'a> TileHashReader<'a> {
    /// A reader of `tree`'s hashes through `tr`.
    pub fn new(tree: Tree, tr: &'a dyn TileReader) -> TileHashReader<'a> {
        TileHashReader { tree, tr }
    }
}

/// The tile `k` levels above `t` in a tree of `n` records, cut to what exists (`None`:
/// nothing).
fn tile_parent(t: &Tile, k: i64, n: i64) -> Option<Tile> {
    let mut t = *t;
    t.l += k;
    t.n >>= (k * i64::from(t.h)) as u32;
    t.w = 1 << t.h;
    let max = n >> (t.l * i64::from(t.h)) as u32;
    if (t.n << t.h) + i64::from(t.w) >= max {
        if t.n << t.h >= max {
            return None;
        }
        t.w = (max - (t.n << t.h)) as u32;
    }
    Some(t)
}

/// The tiles [`TileHashReader`] reads for one call, in the order they are checked: first
/// those holding the tree's complete subtrees, then every other one after its parent.
#[derive(Default)]
struct TilePlan {
    tiles: Vec<Tile>,
    /// The position of each tile in `tiles`.
    order: std::collections::HashMap<Tile, usize>,
}

impl TilePlan {
    /// Plans the tiles holding the stored hashes `stx` of the complete subtrees of a tree
    /// of `n` records, with tiles of height `h`; returns the position of each one's tile.
    fn add_subtrees(&mut self, h: u32, n: i64, stx: &[i64]) -> Result<Vec<usize>, TlogError> {
        let mut stx_order = Vec::with_capacity(stx.len());
        for &x in stx {
            let tile = tile_parent(&tile_for_index(h, x), 0, n)
                .ok_or_else(|| other("bad math in tileHashReader"))?;
            let j = *self.order.entry(tile).or_insert_with(|| {
                self.tiles.push(tile);
                self.tiles.len() - 1
            });
            stx_order.push(j);
        }
        Ok(stx_order)
    }

    /// Plans the tile holding stored hash `x` of a tree of `n` records and those between
    /// it and its nearest planned ancestor, each after its parent; returns the position
    /// of `x`'s tile.
    fn add_index(&mut self, h: u32, n: i64, x: i64) -> Result<usize, TlogError> {
        if x < 0 || x >= stored_hash_index(0, n) {
            return Err(other("indexes not in tree"));
        }
        let tile = tile_for_index(h, x);
        let mut k = 0i64;
        loop {
            let p = tile_parent(&tile, k, n);
            if let Some(j) = p.and_then(|p| self.order.get(&p).copied()) {
                if k == 0 {
                    return Ok(j);
                }
                break;
            }
            k += 1;
            if k > 64 {
                return Err(other(format!(
                    "bad math in tileHashReader: {n} {x}: no parent tile"
                )));
            }
        }
        for k in (0..k).rev() {
            let p = tile_parent(&tile, k, n).ok_or_else(|| other("bad math in tileHashReader"))?;
            if u64::from(p.w) != 1u64 << p.h {
                return Err(other(format!(
                    "bad math in tileHashReader: {n} {x} {}",
                    p.path()
                )));
            }
            self.order.insert(p, self.tiles.len());
            self.tiles.push(p);
        }
        // The last tile planned is the one at k = 0: `x`'s own.
        Ok(self.tiles.len() - 1)
    }
}

/// Checks that the [`TileReader`] gave data of the right length for each of `tiles`.
fn check_tile_lengths(tiles: &[Tile], data: &[Vec<u8>]) -> Result<(), TlogError> {
    if data.len() != tiles.len() {
        return Err(other(format!(
            "TileReader returned bad result slice (len={}, want {})",
            data.len(),
            tiles.len()
        )));
    }
    for (t, d) in tiles.iter().zip(data) {
        if d.len() != t.w as usize * HASH_SIZE {
            return Err(other(format!(
                "TileReader returned bad result slice ({} len={}, want {})",
                t.path(),
                d.len(),
                t.w as usize * HASH_SIZE
            )));
        }
    }
    Ok(())
}

/// Checks that the complete subtrees' hashes `stx`, read from the tiles at `stx_order`,
/// give the tree hash `want`.
fn check_subtree_tiles(
    tiles: &[Tile],
    data: &[Vec<u8>],
    stx: &[i64],
    stx_order: &[usize],
    want: &Hash,
) -> Result<(), TlogError> {
    let Some(last) = stx.len().checked_sub(1) else {
        return Err(other("indexes not in tree"));
    };
    let mut th = hash_from_tile(&tiles[stx_order[last]], &data[stx_order[last]], stx[last])?;
    for i in (0..last).rev() {
        let hi = hash_from_tile(&tiles[stx_order[i]], &data[stx_order[i]], stx[i])?;
        th = node_hash(&hi, &th);
    }
    if th != *want {
        return Err(other("downloaded inconsistent tile"));
    }
    Ok(())
}

/// Checks that every tile of `plan` from position `first` on hashes to its entry in its
/// parent tile, checked before it (`n` and `indexes` are for error messages).
fn check_child_tiles(
    plan: &TilePlan,
    data: &[Vec<u8>],
    first: usize,
    n: i64,
    indexes: &[i64],
) -> Result<(), TlogError> {
    for i in first..plan.tiles.len() {
        let tile = plan.tiles[i];
        let p = tile_parent(&tile, 1, n).ok_or_else(|| other("bad math in tileHashReader"))?;
        let j = *plan.order.get(&p).ok_or_else(|| {
            other(format!(
                "bad math in tileHashReader {n} {indexes:?}: lost parent of {}",
                tile.path()
            ))
        })?;
        let ph = hash_from_tile(
            &p,
            &data[j],
            stored_hash_index((p.l * i64::from(p.h)) as u32, tile.n),
        )
        .map_err(|e| {
            other(format!(
                "bad math in tileHashReader {n} {indexes:?}: lost hash of {}: {e}",
                tile.path()
            ))
        })?;
        if ph != tile_hash(&data[i]) {
            return Err(other("downloaded inconsistent tile"));
        }
    }
    Ok(())
}

impl HashReader for TileHashReader<'_> {
    fn read_hashes(&self, indexes: &[i64]) -> Result<Vec<Hash>, TlogError> {
        let h = self.tr.height();
        if !(1..=30).contains(&h) {
            return Err(other(format!("invalid tile height {h}")));
        }
        let n = self.tree.n;
        let mut plan = TilePlan::default();
        let mut stx = Vec::new();
        sub_tree_index(0, n, &mut stx);
        let stx_order = plan.add_subtrees(h, n, &stx)?;
        let index_order = indexes
            .iter()
            .map(|&x| plan.add_index(h, n, x))
            .collect::<Result<Vec<usize>, _>>()?;
        let tiles = &plan.tiles;
        let data = self.tr.read_tiles(tiles)?;
        check_tile_lengths(tiles, &data)?;
        // The tiles holding the complete subtrees must give the tree's hash.
        check_subtree_tiles(tiles, &data, &stx, &stx_order, &self.tree.hash)?;
        // Every other tile must hash to its entry in its (already checked) parent.
        check_child_tiles(&plan, &data, stx.len(), n, indexes)?;
        self.tr.save_tiles(tiles, &data);
        indexes
            .iter()
            .zip(&index_order)
            .map(|(&x, &j)| hash_from_tile(&tiles[j], &data[j], x))
            .collect()
    }
}

// ----------------------------------------------------------------------------- notes

const TREE_PREFIX: &str = "go.sum database tree\n";

/// The text of a tree head, as signed: `go.sum database tree\n<n>\n<hash>\n`.
pub fn format_tree(tree: &Tree) -> String {
    format!("{TREE_PREFIX}{}\n{}\n", tree.n, tree.hash)
}

/// Parses the text of a tree head (x/mod's rules: more lines may follow).
pub fn parse_tree(text: &[u8]) -> Result<Tree, TlogError> {
    if !text.starts_with(TREE_PREFIX.as_bytes())
        || text.iter().filter(|&&b| b == b'\n').count() < 3
        || text.len() > 1_000_000
    {
        return Err(TlogError::MalformedTree);
    }
    let mut lines = text.splitn(4, |&b| b == b'\n');
    let (_, n, h) = (lines.next(), lines.next(), lines.next());
    let n = n
        .and_then(|n| std::str::from_utf8(n).ok())
        .ok_or(TlogError::MalformedTree)?;
    let parsed: i64 = n.parse().map_err(|_| TlogError::MalformedTree)?;
    if parsed < 0 || n != parsed.to_string() {
        return Err(TlogError::MalformedTree);
    }
    let hash = h
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or(TlogError::MalformedTree)
        .and_then(|h| Hash::parse(h).map_err(|_| TlogError::MalformedTree))?;
    Ok(Tree { n: parsed, hash })
}

/// Whether `text` can be a record's text: UTF-8 lines, no control characters, no empty
/// line, ending in a newline.
pub fn is_valid_record_text(text: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(text) else {
        return false;
    };
    let mut last = '\0';
    for c in s.chars() {
        if (c < ' ' && c != '\n') || (last == '\n' && c == '\n') {
            return false;
        }
        last = c;
    }
    last == '\n'
}

/// A record as the database serves it: `<id>\n<text>\n`.
pub fn format_record(id: i64, text: &[u8]) -> Result<Vec<u8>, TlogError> {
    if !is_valid_record_text(text) {
        return Err(TlogError::MalformedRecord);
    }
    let mut msg = format!("{id}\n").into_bytes();
    msg.extend_from_slice(text);
    msg.push(b'\n');
    Ok(msg)
}

/// Splits a lookup answer into the record id, its text and what follows (the signed tree
/// head), as x/mod's `ParseRecord`.
pub fn parse_record(msg: &[u8]) -> Result<(i64, &[u8], &[u8]), TlogError> {
    let i = msg
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(TlogError::MalformedRecord)?;
    let id: i64 = std::str::from_utf8(&msg[..i])
        .ok()
        .and_then(super::tile::go_atoi)
        .ok_or(TlogError::MalformedRecord)?;
    let rest = &msg[i + 1..];
    let j = rest
        .windows(2)
        .position(|w| w == b"\n\n")
        .ok_or(TlogError::MalformedRecord)?;
    let (text, tree) = (&rest[..j + 1], &rest[j + 2..]);
    if !is_valid_record_text(text) {
        return Err(TlogError::MalformedRecord);
    }
    Ok((id, text, tree))
}

#[cfg(test)]
#[path = "tlog_tests.rs"]
mod tests;
