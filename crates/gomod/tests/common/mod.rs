//! Test support shared by the zip integration tests: temporary directories, Go's txtar
//! format, fake files with sparse content, and a raw zip writer for malformed archives.

#![allow(dead_code)]

use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use gomod::zip::{File, FileInfo, FileKind};

pub mod rng;

/// Where Debian installs x/mod's test data.
pub const XMOD: &str = "/usr/share/gocode/src/golang.org/x/mod";

/// Panics with the install hint if x/mod's test data is missing.
pub fn testdata_dir(sub: &str) -> PathBuf {
    let dir = Path::new(XMOD).join("zip/testdata");
    assert!(
        dir.is_dir(),
        "x/mod test data missing: run scripts/install-deps (installs golang-golang-x-mod-dev)"
    );
    dir.join(sub)
}

/// A directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "gomod-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Extracted files are read-only; their directories are not, so removal works.
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A txtar archive (golang.org/x/tools/txtar), parsed exactly as Go parses it.
pub struct Archive {
    pub comment: Vec<u8>,
    pub files: Vec<(String, Vec<u8>)>,
}

fn fix_nl(mut data: Vec<u8>) -> Vec<u8> {
    if !data.is_empty() && data.last() != Some(&b'\n') {
        data.push(b'\n');
    }
    data
}

fn is_marker(data: &[u8]) -> Option<(String, &[u8])> {
    if !data.starts_with(b"-- ") {
        return None;
    }
    let (line, after) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[data.len()..]),
    };
    if !(line.ends_with(b" --") && line.len() >= 6) {
        return None;
    }
    let name = String::from_utf8_lossy(&line[3..line.len() - 3])
        .trim()
        .to_owned();
    Some((name, after))
}

fn find_file_marker(data: &[u8]) -> (Vec<u8>, Option<String>, &[u8]) {
    let mut i = 0;
    loop {
        if let Some((name, after)) = is_marker(&data[i..])
            && !name.is_empty()
        {
            return (data[..i].to_vec(), Some(name), after);
        }
        match data[i..].windows(4).position(|w| w == b"\n-- ") {
            Some(j) => i += j + 1,
            None => return (fix_nl(data.to_vec()), None, &[]),
        }
    }
}

pub fn parse_txtar(data: &[u8]) -> Archive {
    let (comment, mut name, mut rest) = find_file_marker(data);
    let mut files = Vec::new();
    while let Some(n) = name {
        let (d, next, after) = find_file_marker(rest);
        files.push((n, d));
        name = next;
        rest = after;
    }
    Archive { comment, files }
}

/// The key=value parameters of a zip test (zip_test.go's readTest). Values stay bytes:
/// one test gives a module path that is not UTF-8.
#[derive(Default)]
pub struct Params {
    pub path: Vec<u8>,
    pub version: Vec<u8>,
    pub want_err: String,
    pub hash: String,
}

pub fn read_test(file: &Path) -> (Params, Archive) {
    let data = fs::read(file).unwrap();
    let arc = parse_txtar(&data);
    let mut p = Params::default();
    for (n, line) in arc.comment.split(|&b| b == b'\n').enumerate() {
        let line = match line.iter().position(|&b| b == b'#') {
            Some(i) => &line[..i],
            None => line,
        };
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let eq = line
            .iter()
            .position(|&b| b == b'=')
            .unwrap_or_else(|| panic!("{}:{}: missing = separator", file.display(), n + 1));
        let key = String::from_utf8_lossy(line[..eq].trim_ascii()).into_owned();
        let value = line[eq + 1..].trim_ascii().to_vec();
        match key.as_str() {
            "path" => p.path = value,
            "version" => p.version = value,
            "wantErr" => p.want_err = String::from_utf8(value).unwrap(),
            "hash" => p.hash = String::from_utf8(value).unwrap(),
            k => panic!("{}:{}: unknown key {k:?}", file.display(), n + 1),
        }
    }
    (p, arc)
}

/// The `*.txt` files of a test data directory, sorted.
pub fn test_files(sub: &str) -> Vec<PathBuf> {
    let dir = testdata_dir(sub);
    let mut v: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    v.sort();
    v
}

/// zip_test.go's fakeFile: content given, or `size` zero bytes produced on the fly.
#[derive(Clone)]
pub struct FakeFile {
    pub name: String,
    pub size: u64,
    pub data: Option<Vec<u8>>,
}

impl FakeFile {
    pub fn data(name: &str, data: &[u8]) -> FakeFile {
        FakeFile {
            name: name.to_owned(),
            size: data.len() as u64,
            data: Some(data.to_vec()),
        }
    }
    pub fn zeros(name: &str, size: u64) -> FakeFile {
        FakeFile {
            name: name.to_owned(),
            size,
            data: None,
        }
    }
}

impl File for FakeFile {
    fn path(&self) -> &str {
        &self.name
    }
    fn lstat(&self) -> io::Result<FileInfo> {
        Ok(FileInfo {
            size: self.size,
            kind: FileKind::Regular,
        })
    }
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        match &self.data {
            Some(d) => Ok(Box::new(&d[..])),
            None => {
                if self.size >= 2 * gomod::zip::MAX_ZIP_FILE {
                    return Err(io::Error::other(format!(
                        "cannot open fakeFile of size {}",
                        self.size
                    )));
                }
                Ok(Box::new(io::repeat(0).take(self.size)))
            }
        }
    }
}

/// A `Write + Seek` that keeps nothing (io.Discard with a position).
#[derive(Default)]
pub struct Discard {
    pos: u64,
    len: u64,
}

impl Write for Discard {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pos += buf.len() as u64;
        self.len = self.len.max(self.pos);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for Discard {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::End(d) => self.len.saturating_add_signed(d),
            SeekFrom::Current(d) => self.pos.saturating_add_signed(d),
        };
        Ok(self.pos)
    }
}

/// Writes `files` into a zip at `path`, deflated as Go's zip.Writer.Create does, and like
/// it accepting duplicate names (the zip crate's writer refuses them).
pub fn write_zip(path: &Path, files: &[(String, Vec<u8>)]) {
    let entries: Vec<RawEntry> = files
        .iter()
        .map(|(n, d)| RawEntry::deflated(n.as_bytes(), d))
        .collect();
    fs::write(path, raw_zip(&entries)).unwrap();
}

/// One entry of a hand-made zip: the bytes stored, and the header fields, which may lie.
pub struct RawEntry {
    pub name: Vec<u8>,
    pub method: u16,
    pub crc32: u32,
    pub uncompressed_size: u32,
    pub stored: Vec<u8>,
}

impl RawEntry {
    /// An honest stored (uncompressed) entry.
    pub fn stored(name: &[u8], data: &[u8]) -> RawEntry {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        RawEntry {
            name: name.to_vec(),
            method: 0,
            crc32: crc.sum(),
            uncompressed_size: data.len() as u32,
            stored: data.to_vec(),
        }
    }
    /// An honest deflated entry.
    pub fn deflated(name: &[u8], data: &[u8]) -> RawEntry {
        let mut e = RawEntry::stored(name, data);
        let mut enc =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        e.stored = enc.finish().unwrap();
        e.method = 8;
        e
    }
    /// An honest deflated entry of `n` zero bytes, built without compressing `n` bytes.
    pub fn deflated_zeros(name: &[u8], n: u64) -> RawEntry {
        RawEntry {
            name: name.to_vec(),
            method: 8,
            crc32: crc_of_zeros(n),
            uncompressed_size: u32::try_from(n).unwrap(),
            stored: deflate_zeros(n),
        }
    }
}

/// CRC-32 of `n` zero bytes.
pub fn crc_of_zeros(n: u64) -> u32 {
    let buf = vec![0u8; 1 << 20];
    let mut crc = flate2::Crc::new();
    let mut left = n;
    while left > 0 {
        let k = left.min(buf.len() as u64) as usize;
        crc.update(&buf[..k]);
        left -= k as u64;
    }
    crc.sum()
}

/// A raw deflate stream of `n` zero bytes: one sync-flushed MiB of zeros replayed, then
/// the rest, finished. Blocks are byte-aligned after a sync flush, so they concatenate.
pub fn deflate_zeros(n: u64) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    const MIB: u64 = 1 << 20;
    let zeros = vec![0u8; MIB as usize];
    let compress = |data: &[u8], flush: FlushCompress| {
        let mut c = Compress::new(Compression::default(), false);
        let mut out = Vec::with_capacity(data.len() / 100 + 1024);
        c.compress_vec(data, &mut out, flush).unwrap();
        assert_eq!(c.total_in(), data.len() as u64);
        out
    };
    let chunk = compress(&zeros, FlushCompress::Sync);
    let mut out = Vec::new();
    for _ in 0..n / MIB {
        out.extend_from_slice(&chunk);
    }
    out.extend_from_slice(&compress(
        &zeros[..(n % MIB) as usize],
        FlushCompress::Finish,
    ));
    out
}

/// Writes a zip with local headers, central directory and end record, all taken from
/// `entries` as they are (sizes, CRCs, names may lie).
pub fn raw_zip(entries: &[RawEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for e in entries {
        offsets.push(out.len() as u32);
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0x0800u16.to_le_bytes()); // flags: UTF-8
        out.extend_from_slice(&e.method.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0x21, 0]); // time, date (1980-01-01)
        out.extend_from_slice(&e.crc32.to_le_bytes());
        out.extend_from_slice(&(e.stored.len() as u32).to_le_bytes());
        out.extend_from_slice(&e.uncompressed_size.to_le_bytes());
        out.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&e.name);
        out.extend_from_slice(&e.stored);
    }
    let dir_start = out.len() as u32;
    for (e, off) in entries.iter().zip(&offsets) {
        out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // made by
        out.extend_from_slice(&20u16.to_le_bytes()); // needed
        out.extend_from_slice(&0x0800u16.to_le_bytes());
        out.extend_from_slice(&e.method.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0x21, 0]);
        out.extend_from_slice(&e.crc32.to_le_bytes());
        out.extend_from_slice(&(e.stored.len() as u32).to_le_bytes());
        out.extend_from_slice(&e.uncompressed_size.to_le_bytes());
        out.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
        out.extend_from_slice(&[0; 8]); // extra len, comment len, disk, internal attrs
        out.extend_from_slice(&0u32.to_le_bytes()); // external attrs
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&e.name);
    }
    let dir_len = out.len() as u32 - dir_start;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&dir_len.to_le_bytes());
    out.extend_from_slice(&dir_start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// Lists everything under `dir`, relative, sorted ("" if empty).
pub fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        if let Ok(rd) = fs::read_dir(d) {
            for e in rd.flatten() {
                let p = e.path();
                out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
                if p.is_dir() {
                    walk(base, &p, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}
