//! The objects of a bare clone, read in-process: loose objects and packs (index version
//! 2, deltas by offset and by id), the bytes `git cat-file <type> <id>` prints.
//!
//! It saves a git process per read (`cat-file`, `archive`) on the cold path, where each
//! start costs more than the read. It reads only what it knows: a repository with
//! alternates, another object format, an index of another version or anything malformed
//! is [`OdbError::Unsupported`] or [`OdbError::Corrupt`], and the caller asks git, whose
//! answer (and error text) then stands. Objects are not re-hashed: the clone's packs were
//! checked by `index-pack` when they came, as `cat-file` trusts them too.
//!
//! Written here rather than taken from gitoxide: this needs a few hundred lines of its
//! object store, and the crate family would add some forty crates to the build.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// How many deltas deep a chain may go (git's own `pack.depth` is at most 4095).
const MAX_DEPTH: usize = 4096;
/// Bytes read from a pack at a time while inflating.
const CHUNK: usize = 16 << 10;

/// An object's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A commit.
    Commit,
    /// A tree.
    Tree,
    /// A blob.
    Blob,
    /// An annotated tag.
    Tag,
}

impl Kind {
    fn from_pack(t: u8) -> Option<Kind> {
        match t {
            1 => Some(Kind::Commit),
            2 => Some(Kind::Tree),
            3 => Some(Kind::Blob),
            4 => Some(Kind::Tag),
            _ => None,
        }
    }

    fn from_name(n: &[u8]) -> Option<Kind> {
        match n {
            b"commit" => Some(Kind::Commit),
            b"tree" => Some(Kind::Tree),
            b"blob" => Some(Kind::Blob),
            b"tag" => Some(Kind::Tag),
            _ => None,
        }
    }
}

/// An object: its type and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Its type.
    pub kind: Kind,
    /// Its content, as `git cat-file <type>` prints it.
    pub data: Vec<u8>,
}

/// Why an object could not be read here (git may still read it).
#[derive(Debug, thiserror::Error)]
pub enum OdbError {
    /// A file of the object store could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: io::Error,
    },
    /// The repository uses something this reader does not read.
    #[error("not read in-process: {0}")]
    Unsupported(&'static str),
    /// A file is not what its format says.
    #[error("{}: {what}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: &'static str,
    },
    /// The object is larger than the caller allows.
    #[error("object larger than {0} bytes")]
    TooLarge(u64),
}

/// One pack and its index. The index is read where a lookup needs it (its fan-out table
/// once, names and offsets by `pread`): a large repository's index (28 bytes an object)
/// is neither read whole per call nor held in memory.
struct Pack {
    path: PathBuf,
    file: fs::File,
    idx_path: PathBuf,
    idx: fs::File,
    fanout: Vec<u32>,
    count: usize,
}

const IDX_HEADER: usize = 8 + 256 * 4;

impl Pack {
    fn open(idx_path: &Path, pack_path: PathBuf) -> Result<Pack, OdbError> {
        let io = |source| OdbError::Io {
            path: idx_path.to_path_buf(),
            source,
        };
        let idx = fs::File::open(idx_path).map_err(io)?;
        let len = idx.metadata().map_err(io)?.len();
        let mut head = vec![0u8; IDX_HEADER];
        let n = read_full(&idx, &mut head, 0).map_err(io)?;
        if n < IDX_HEADER || head[..4] != [0xff, b't', b'O', b'c'] {
            return Err(OdbError::Unsupported("pack index version 1"));
        }
        if be32(&head[4..8]) != 2 {
            return Err(OdbError::Unsupported(
                "pack index of a version other than 2",
            ));
        }
        let fanout: Vec<u32> = head[8..].chunks(4).map(be32).collect();
        let count = fanout[255] as usize;
        let min = (IDX_HEADER + count * 28 + 40) as u64;
        if len < min || !(len - min).is_multiple_of(8) || fanout.windows(2).any(|w| w[0] > w[1]) {
            return Err(OdbError::Corrupt {
                path: idx_path.to_path_buf(),
                what: "pack index of the wrong size",
            });
        }
        let file = fs::File::open(&pack_path).map_err(|source| OdbError::Io {
            path: pack_path.clone(),
            source,
        })?;
        Ok(Pack {
            path: pack_path,
            file,
            idx_path: idx_path.to_path_buf(),
            idx,
            fanout,
            count,
        })
    }

    /// `buf.len()` bytes of the index at `at`.
    fn idx_bytes(&self, buf: &mut [u8], at: usize) -> Result<(), OdbError> {
        match read_full(&self.idx, buf, at as u64) {
            Ok(n) if n == buf.len() => Ok(()),
            Ok(_) => Err(OdbError::Corrupt {
                path: self.idx_path.clone(),
                what: "truncated pack index",
            }),
            Err(source) => Err(OdbError::Io {
                path: self.idx_path.clone(),
                source,
            }),
        }
    }

    /// The offset of object `id` in this pack.
    fn find(&self, id: &[u8; 20]) -> Result<Option<u64>, OdbError> {
        let first = id[0] as usize;
        let mut lo = if first == 0 {
            0
        } else {
            self.fanout[first - 1] as usize
        };
        let mut hi = (self.fanout[first] as usize).min(self.count);
        let mut name = [0u8; 20];
        while lo < hi {
            let mid = (lo + hi) / 2;
            self.idx_bytes(&mut name, IDX_HEADER + mid * 20)?;
            match name.cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return self.offset(mid).map(Some),
            }
        }
        Ok(None)
    }

    fn offset(&self, i: usize) -> Result<u64, OdbError> {
        let mut small = [0u8; 4];
        self.idx_bytes(&mut small, IDX_HEADER + self.count * 24 + i * 4)?;
        let small = u32::from_be_bytes(small);
        if small & 0x8000_0000 == 0 {
            return Ok(u64::from(small));
        }
        let mut large = [0u8; 8];
        let at = IDX_HEADER + self.count * 28 + (small & 0x7fff_ffff) as usize * 8;
        self.idx_bytes(&mut large, at)?;
        Ok(u64::from_be_bytes(large))
    }

    fn corrupt(&self, what: &'static str) -> OdbError {
        OdbError::Corrupt {
            path: self.path.clone(),
            what,
        }
    }

    fn read_at(&self, buf: &mut [u8], at: u64) -> Result<usize, OdbError> {
        read_at(&self.file, buf, at).map_err(|source| OdbError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// The entry at `at`: its header, and where its data (after the header) begins.
    fn entry(&self, at: u64) -> Result<Entry, OdbError> {
        let mut head = [0u8; 32];
        let n = self.read_at(&mut head, at)?;
        let (size, base, used) = parse_entry_header(&head[..n], at).map_err(|e| match e {
            ParseError::Bad(what) => self.corrupt(what),
            ParseError::TooLarge => self.corrupt("entry size overflows"),
        })?;
        Ok(Entry {
            size,
            base,
            data: at + used as u64,
        })
    }

    /// Inflates the `size` bytes whose zlib stream begins at `at`.
    fn inflate(&self, at: u64, size: u64) -> Result<Vec<u8>, OdbError> {
        // One spare byte: a stream longer than its header says is caught, not cut.
        let mut out = Vec::with_capacity(size as usize + 1);
        let mut z = flate2::Decompress::new(true);
        let mut buf = vec![0u8; CHUNK];
        let mut pos = at;
        loop {
            let n = self.read_at(&mut buf, pos)?;
            if n == 0 {
                return Err(self.corrupt("truncated object data"));
            }
            let (was_in, was_out) = (z.total_in(), z.total_out());
            let status = z
                .decompress_vec(&buf[..n], &mut out, flate2::FlushDecompress::None)
                .map_err(|_| self.corrupt("bad compressed data"))?;
            pos += z.total_in() - was_in;
            if out.len() as u64 > size {
                return Err(self.corrupt("object larger than its header says"));
            }
            if status == flate2::Status::StreamEnd {
                break;
            }
            if z.total_in() == was_in && z.total_out() == was_out {
                return Err(self.corrupt("bad compressed data"));
            }
        }
        if out.len() as u64 != size {
            return Err(self.corrupt("object smaller than its header says"));
        }
        Ok(out)
    }
}

/// What a pack entry is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// Nothing: it is a whole object of this type.
    None(Kind),
    /// A delta on the entry at this offset of the same pack.
    Offset(u64),
    /// A delta on the object with this id.
    Id([u8; 20]),
}

/// The header of the pack entry at offset `at`, from its first bytes `head`: the size of
/// its (inflated) data, what it is made from, and the header's length.
pub fn parse_entry_header(head: &[u8], at: u64) -> Result<(u64, Base, usize), ParseError> {
    let bad = ParseError::Bad;
    let mut i = 0;
    let mut next = || {
        let b = *head.get(i).ok_or(bad("truncated entry header"))?;
        i += 1;
        Ok::<u8, ParseError>(b)
    };
    let mut c = next()?;
    let t = (c >> 4) & 7;
    let mut size = u64::from(c & 15);
    let mut shift = 4;
    while c & 0x80 != 0 {
        c = next()?;
        if shift > 57 {
            return Err(bad("entry size overflows"));
        }
        size |= u64::from(c & 0x7f) << shift;
        shift += 7;
    }
    let base = match t {
        6 => {
            let mut c = next()?;
            let mut off = u64::from(c & 0x7f);
            while c & 0x80 != 0 {
                c = next()?;
                if off >= 1 << 56 {
                    return Err(bad("delta offset overflows"));
                }
                off = ((off + 1) << 7) | u64::from(c & 0x7f);
            }
            if off == 0 || off > at {
                return Err(bad("delta base offset out of range"));
            }
            Base::Offset(at - off)
        }
        7 => {
            let mut id = [0u8; 20];
            for b in &mut id {
                *b = next()?;
            }
            Base::Id(id)
        }
        t => Base::None(Kind::from_pack(t).ok_or(bad("unknown entry type"))?),
    };
    Ok((size, base, i))
}

struct Entry {
    size: u64,
    base: Base,
    data: u64,
}

#[cfg(unix)]
fn read_at(f: &fs::File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(f, buf, at)
}

#[cfg(windows)]
fn read_at(f: &fs::File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(f, buf, at)
}

/// Reads until `buf` is full or the file ends; how many bytes were read.
fn read_full(f: &fs::File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match read_at(f, &mut buf[got..], at + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// The object store of one repository: its packs, opened once, and its loose objects.
pub struct ObjectDb {
    objects: PathBuf,
    packs: Vec<Pack>,
}

impl ObjectDb {
    /// Opens the object store of the bare repository `git_dir`.
    pub fn open(git_dir: &Path) -> Result<ObjectDb, OdbError> {
        let objects = git_dir.join("objects");
        if objects.join("info").join("alternates").exists() {
            return Err(OdbError::Unsupported("alternates"));
        }
        let config = git_dir.join("config");
        match fs::read(&config) {
            Ok(c)
                if c.to_ascii_lowercase()
                    .windows(12)
                    .any(|w| w == b"objectformat") =>
            {
                return Err(OdbError::Unsupported(
                    "an object format named in the config",
                ));
            }
            Ok(_) => {}
            Err(source) => {
                return Err(OdbError::Io {
                    path: config,
                    source,
                });
            }
        }
        let pack_dir = objects.join("pack");
        let mut packs = Vec::new();
        let entries = match fs::read_dir(&pack_dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(ObjectDb { objects, packs });
            }
            Err(source) => {
                return Err(OdbError::Io {
                    path: pack_dir,
                    source,
                });
            }
        };
        for e in entries {
            let e = e.map_err(|source| OdbError::Io {
                path: pack_dir.clone(),
                source,
            })?;
            let path = e.path();
            if path.extension().is_none_or(|x| x != "idx") {
                continue;
            }
            let pack = path.with_extension("pack");
            if pack.exists() {
                packs.push(Pack::open(&path, pack)?);
            }
        }
        Ok(ObjectDb { objects, packs })
    }

    /// The object `id` (40 hex digits), or `None` when the store does not have it. An
    /// object (or a delta on the way to it) larger than `max` bytes is
    /// [`OdbError::TooLarge`].
    pub fn read(&self, id: &str, max: u64) -> Result<Option<Object>, OdbError> {
        let Some(raw) = parse_id(id) else {
            return Ok(None);
        };
        self.read_raw(&raw, max)
    }

    fn read_raw(&self, id: &[u8; 20], max: u64) -> Result<Option<Object>, OdbError> {
        match self.find_packed(id)? {
            Some((p, at)) => self.read_packed(p, at, max).map(Some),
            None => self.read_loose(id, max),
        }
    }

    /// The pack holding `id`, and its offset there.
    fn find_packed(&self, id: &[u8; 20]) -> Result<Option<(&Pack, u64)>, OdbError> {
        for p in &self.packs {
            if let Some(at) = p.find(id)? {
                return Ok(Some((p, at)));
            }
        }
        Ok(None)
    }

    fn read_loose(&self, id: &[u8; 20], max: u64) -> Result<Option<Object>, OdbError> {
        let hex = hex(id);
        let path = self.objects.join(&hex[..2]).join(&hex[2..]);
        let mut f = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(OdbError::Io { path, source }),
        };
        // zlib grows what it cannot compress by a few bytes per 16 KiB block at most.
        let bound = max.saturating_add(max / 64).saturating_add(1024);
        let mut file = Vec::new();
        let read = io::Read::read_to_end(&mut io::Read::take(&mut f, bound + 1), &mut file);
        if let Err(source) = read {
            return Err(OdbError::Io { path, source });
        }
        if file.len() as u64 > bound {
            return Err(OdbError::TooLarge(max));
        }
        parse_loose(&file, max).map(Some).map_err(|e| match e {
            ParseError::TooLarge => OdbError::TooLarge(max),
            ParseError::Bad(what) => OdbError::Corrupt { path, what },
        })
    }

    /// The object at `at` in `pack`: its delta chain walked down to the base, then the
    /// deltas applied from the base up.
    fn read_packed(&self, pack: &Pack, at: u64, max: u64) -> Result<Object, OdbError> {
        // A delta is at most a copy instruction per 64 KiB of output plus inserted bytes.
        let max_delta = max.saturating_mul(2).saturating_add(1 << 16);
        let mut deltas: Vec<Vec<u8>> = Vec::new();
        let (mut p, mut at) = (pack, at);
        let base = loop {
            if deltas.len() > MAX_DEPTH {
                return Err(p.corrupt("delta chain too deep"));
            }
            let e = p.entry(at)?;
            match e.base {
                Base::None(kind) => {
                    if e.size > max {
                        return Err(OdbError::TooLarge(max));
                    }
                    break Object {
                        kind,
                        data: p.inflate(e.data, e.size)?,
                    };
                }
                Base::Offset(base) => {
                    if e.size > max_delta {
                        return Err(OdbError::TooLarge(max));
                    }
                    deltas.push(p.inflate(e.data, e.size)?);
                    at = base;
                }
                Base::Id(id) => {
                    if e.size > max_delta {
                        return Err(OdbError::TooLarge(max));
                    }
                    deltas.push(p.inflate(e.data, e.size)?);
                    match self.find_packed(&id)? {
                        Some((q, off)) => (p, at) = (q, off),
                        None => match self.read_loose(&id, max)? {
                            Some(o) => break o,
                            None => return Err(p.corrupt("delta base missing")),
                        },
                    }
                }
            }
        };
        let mut obj = base;
        for d in deltas.iter().rev() {
            obj.data = apply_delta(&obj.data, d, max).map_err(|e| match e {
                ParseError::TooLarge => OdbError::TooLarge(max),
                ParseError::Bad(what) => p.corrupt(what),
            })?;
        }
        Ok(obj)
    }
}

/// Why bytes of the object store do not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// What they describe is larger than the caller allows.
    TooLarge,
    /// They are not what the format says.
    Bad(&'static str),
}

/// `base` changed by the delta `delta` (git's copy and insert instructions); a result
/// larger than `max` is [`ParseError::TooLarge`].
pub fn apply_delta(base: &[u8], delta: &[u8], max: u64) -> Result<Vec<u8>, ParseError> {
    let mut i = 0;
    let mut varint = || {
        let mut v: u64 = 0;
        let mut shift = 0;
        loop {
            let b = *delta.get(i).ok_or(ParseError::Bad("truncated delta"))?;
            i += 1;
            if shift > 63 {
                return Err(ParseError::Bad("delta size overflows"));
            }
            v |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
    };
    let src = varint()?;
    let dst = varint()?;
    if src != base.len() as u64 {
        return Err(ParseError::Bad("delta for a base of another size"));
    }
    if dst > max {
        return Err(ParseError::TooLarge);
    }
    let mut out = Vec::with_capacity(dst as usize);
    while i < delta.len() {
        let op = delta[i];
        i += 1;
        if op & 0x80 != 0 {
            let mut field = |bits: u8, shift: u32| -> Result<usize, ParseError> {
                if op & bits == 0 {
                    return Ok(0);
                }
                let b = *delta.get(i).ok_or(ParseError::Bad("truncated delta"))?;
                i += 1;
                Ok((b as usize) << shift)
            };
            let off = field(0x01, 0)? | field(0x02, 8)? | field(0x04, 16)? | field(0x08, 24)?;
            let mut len = field(0x10, 0)? | field(0x20, 8)? | field(0x40, 16)?;
            if len == 0 {
                len = 0x10000;
            }
            let part = off
                .checked_add(len)
                .and_then(|end| base.get(off..end))
                .ok_or(ParseError::Bad("delta copies from outside its base"))?;
            out.extend_from_slice(part);
        } else if op != 0 {
            let part = delta
                .get(i..i + op as usize)
                .ok_or(ParseError::Bad("truncated delta"))?;
            out.extend_from_slice(part);
            i += op as usize;
        } else {
            return Err(ParseError::Bad("delta instruction 0"));
        }
        if out.len() as u64 > dst {
            return Err(ParseError::Bad("delta larger than it says"));
        }
    }
    if out.len() as u64 != dst {
        return Err(ParseError::Bad("delta of another size than it says"));
    }
    Ok(out)
}

/// A loose object's file: zlib over `<type> <size>\0<content>`. Content over `max`
/// bytes is [`ParseError::TooLarge`].
pub fn parse_loose(file: &[u8], max: u64) -> Result<Object, ParseError> {
    let bad = ParseError::Bad;
    // The header first, then exactly the size it gives.
    let mut z = flate2::Decompress::new(true);
    let mut head = Vec::with_capacity(64);
    let first = z
        .decompress_vec(file, &mut head, flate2::FlushDecompress::None)
        .map_err(|_| bad("bad compressed data"))?;
    let nul = head
        .iter()
        .position(|b| *b == 0)
        .ok_or(bad("bad object header"))?;
    let sp = head[..nul]
        .iter()
        .position(|b| *b == b' ')
        .ok_or(bad("bad object header"))?;
    let kind = Kind::from_name(&head[..sp]).ok_or(bad("unknown object type"))?;
    let size: u64 = std::str::from_utf8(&head[sp + 1..nul])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(bad("bad object size"))?;
    if size > max {
        return Err(ParseError::TooLarge);
    }
    let mut data = Vec::with_capacity(size as usize + 1);
    data.extend_from_slice(&head[nul + 1..]);
    if first != flate2::Status::StreamEnd {
        let used = z.total_in() as usize;
        let status = z
            .decompress_vec(&file[used..], &mut data, flate2::FlushDecompress::Finish)
            .map_err(|_| bad("bad compressed data"))?;
        if status != flate2::Status::StreamEnd {
            return Err(bad("object larger than its header says"));
        }
    }
    if data.len() as u64 != size {
        return Err(bad("object of another size than its header says"));
    }
    Ok(Object { kind, data })
}

/// The 20 bytes of a 40-digit lower-case hex id.
pub fn parse_id(id: &str) -> Option<[u8; 20]> {
    let b = id.as_bytes();
    if b.len() != 40 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 20];
    for (i, o) in out.iter_mut().enumerate() {
        *o = digit(b[2 * i])? << 4 | digit(b[2 * i + 1])?;
    }
    Some(out)
}

/// The 40-digit hex of an id.
pub fn hex(id: &[u8; 20]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(40);
    for b in id {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_refuse_what_is_not_one() {
        let h = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(hex(&parse_id(h).unwrap()), h);
        assert_eq!(parse_id(&h.to_uppercase()), None);
        assert_eq!(parse_id(&h[..39]), None);
        assert_eq!(parse_id("g123456789abcdef0123456789abcdef01234567"), None);
    }

    #[test]
    fn deltas_copy_and_insert() {
        let base = b"hello, world";
        // Copy "hello" (offset 0, length 5), insert " you", copy "ld" (offset 10, length 2).
        let delta = [12, 11, 0x90, 5, 4, b' ', b'y', b'o', b'u', 0x91, 10, 2];
        assert_eq!(apply_delta(base, &delta, 100).ok().unwrap(), b"hello yould");
        // A copy past the base's end, a base of another size, and output over the limit.
        assert!(matches!(
            apply_delta(base, &[12, 5, 0x91, 10, 5], 100),
            Err(ParseError::Bad("delta copies from outside its base"))
        ));
        assert!(matches!(
            apply_delta(base, &[11, 1, 1, b'x'], 100),
            Err(ParseError::Bad("delta for a base of another size"))
        ));
        assert!(matches!(
            apply_delta(base, &[12, 11, 0x90, 5], 10),
            Err(ParseError::TooLarge)
        ));
        // A size of 0 in a copy means 64 KiB.
        let big = vec![7u8; 0x10000];
        let d = [0x80, 0x80, 4, 0x80, 0x80, 4, 0x80];
        assert_eq!(apply_delta(&big, &d, 1 << 20).ok().unwrap(), big);
    }

    use super::super::tests_git::git;

    /// A repository with deltas (a file grown over 30 commits), nested trees, an
    /// annotated tag and an empty blob.
    fn history(dir: &Path) {
        git(dir, &["init", "-q", "--template=", "."]);
        fs::create_dir_all(dir.join("a/b")).unwrap();
        fs::write(dir.join("empty"), "").unwrap();
        let mut text = String::new();
        for i in 0..30 {
            for j in 0..200 {
                text.push_str(&format!("line {j} of version {}\n", j % (i + 1)));
            }
            fs::write(dir.join("a/b/grows.txt"), &text).unwrap();
            fs::write(
                dir.join("go.mod"),
                format!("module example.com/m\n// {i}\n"),
            )
            .unwrap();
            git(dir, &["add", "-A"]);
            git(dir, &["commit", "-q", "-m", &format!("commit {i}")]);
        }
        git(dir, &["tag", "-a", "-m", "a tag", "v1.0.0"]);
    }

    /// Every object of the repository at `git_dir`: the in-process read equals git's.
    fn same_as_git(git_dir: &Path) -> usize {
        let db = ObjectDb::open(git_dir).unwrap();
        let all = git(
            git_dir,
            &[
                "cat-file",
                "--batch-all-objects",
                "--batch-check=%(objectname) %(objecttype)",
            ],
        );
        let mut n = 0;
        for line in String::from_utf8(all).unwrap().lines() {
            let (id, kind) = line.split_once(' ').unwrap();
            let want = git(git_dir, &["cat-file", kind, id]);
            let got = db.read(id, 1 << 30).unwrap().unwrap();
            assert_eq!(got.data, want, "{id}");
            let kind = Kind::from_name(kind.as_bytes()).unwrap();
            assert_eq!(got.kind, kind, "{id}");
            n += 1;
        }
        let missing = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(db.read(missing, 1 << 30).unwrap(), None);
        n
    }

    fn packs(git_dir: &Path) -> usize {
        fs::read_dir(git_dir.join("objects/pack"))
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .path()
                        .extension()
                        .is_some_and(|x| x == "pack")
                })
                .count()
            })
            .unwrap_or(0)
    }

    #[test]
    fn reads_loose_objects_as_git_does() {
        let d = tempfile::tempdir().unwrap();
        history(d.path());
        let git_dir = d.path().join(".git");
        assert_eq!(packs(&git_dir), 0);
        assert_eq!(same_as_git(&git_dir), 30 * 6 + 2);
    }

    #[test]
    fn reads_packs_with_deltas_by_offset_and_by_id_as_git_does() {
        let d = tempfile::tempdir().unwrap();
        history(d.path());
        let git_dir = d.path().join(".git");
        // Deltas by id (REF_DELTA) in one pack...
        git(
            d.path(),
            &[
                "-c",
                "repack.useDeltaBaseOffset=false",
                "repack",
                "-a",
                "-d",
                "-f",
                "-q",
            ],
        );
        assert_eq!(packs(&git_dir), 1);
        let n = same_as_git(&git_dir);
        // ... then by offset (OFS_DELTA), with loose objects beside the pack.
        git(d.path(), &["repack", "-a", "-d", "-f", "-q", "--depth=50"]);
        fs::write(d.path().join("go.mod"), "module example.com/m\n// loose\n").unwrap();
        git(d.path(), &["commit", "-q", "-am", "loose"]);
        assert_eq!(same_as_git(&git_dir), n + 3);
        let deltas = git(
            &git_dir,
            &[
                "verify-pack",
                "-v",
                &format!(
                    "{}",
                    fs::read_dir(git_dir.join("objects/pack"))
                        .unwrap()
                        .map(|e| e.unwrap().path())
                        .find(|p| p.extension().is_some_and(|x| x == "idx"))
                        .unwrap()
                        .display()
                ),
            ],
        );
        assert!(
            String::from_utf8_lossy(&deltas).contains("chain length = 2"),
            "the pack has delta chains"
        );
    }

    #[test]
    fn reads_a_bare_clone_as_git_does() {
        let d = tempfile::tempdir().unwrap();
        history(d.path());
        let url = format!("file://{}", d.path().display());
        let clone = tempfile::tempdir().unwrap();
        git(
            clone.path(),
            &["clone", "-q", "--bare", "--template=", &url, "c"],
        );
        let git_dir = clone.path().join("c");
        assert_eq!(packs(&git_dir), 1);
        assert_eq!(same_as_git(&git_dir), 30 * 6 + 2);
        // A limit below an object's size refuses it; a commit is small.
        let db = ObjectDb::open(&git_dir).unwrap();
        let head = String::from_utf8(git(&git_dir, &["rev-parse", "HEAD:a/b/grows.txt"])).unwrap();
        assert!(matches!(
            db.read(head.trim(), 1000),
            Err(OdbError::TooLarge(1000))
        ));
    }

    #[test]
    fn refuses_what_it_does_not_read() {
        let d = tempfile::tempdir().unwrap();
        git(d.path(), &["init", "-q", "--bare", "--template=", "r"]);
        let r = d.path().join("r");
        fs::create_dir_all(r.join("objects/info")).unwrap();
        fs::write(r.join("objects/info/alternates"), "/elsewhere\n").unwrap();
        assert!(matches!(
            ObjectDb::open(&r),
            Err(OdbError::Unsupported("alternates"))
        ));
        git(
            d.path(),
            &[
                "init",
                "-q",
                "--bare",
                "--template=",
                "--object-format=sha256",
                "s",
            ],
        );
        assert!(matches!(
            ObjectDb::open(&d.path().join("s")),
            Err(OdbError::Unsupported(_))
        ));
    }
}
