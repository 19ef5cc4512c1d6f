//! Module zips from `git archive`, as the go command's `codeRepo.Zip` makes them: the
//! archive of the module directory at the commit (with `core.autocrlf=input`,
//! `core.eol=lf` and no export attributes), the module directory's files re-rooted, the
//! repository root's LICENSE added to subdirectory modules that have none, then the module
//! zip rules of `gomod::zip::create`.
//!
//! The archive is taken as a tar file on disk (streamed, bounded), indexed, and each file
//! is read from it when the zip writer wants it: nothing is held whole in memory. A
//! small module with no attributes that could apply comes read in-process instead
//! ([`super::tree::files`], held in memory up to `IN_MEMORY_BYTES` of the git source):
//! the same files in the same order, without a git process.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use gomod::zip::{DataFile, File, FileInfo, FileKind};

/// One file of a tar archive on disk.
#[derive(Debug, Clone)]
pub struct TarFile {
    tar: PathBuf,
    path: String,
    offset: u64,
    size: u64,
    kind: FileKind,
}

impl File for TarFile {
    fn path(&self) -> &str {
        &self.path
    }
    fn lstat(&self) -> io::Result<FileInfo> {
        Ok(FileInfo {
            size: self.size,
            kind: self.kind,
        })
    }
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        let mut f = fs::File::open(&self.tar)?;
        f.seek(SeekFrom::Start(self.offset))?;
        Ok(Box::new(f.take(self.size)))
    }
}

/// An entry of a tar archive: its full path, kind, data offset and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry {
    /// The path as stored (pax `path` applied).
    pub path: String,
    /// Regular file, directory, symbolic link or other.
    pub kind: FileKind,
    /// Offset of the data in the archive.
    pub offset: u64,
    /// Size of the data.
    pub size: u64,
}

fn octal(field: &[u8]) -> io::Result<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        // base-256
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for b in &field[1..] {
            v = v
                .checked_mul(256)
                .and_then(|v| v.checked_add(u64::from(*b)))
                .ok_or_else(|| bad("size overflow"))?;
        }
        return Ok(v);
    }
    let s: String = field
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as char)
        .collect();
    let s = s.trim();
    if s.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(s, 8).map_err(|_| bad("invalid octal number"))
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("git archive: {msg}"))
}

fn cstr(field: &[u8]) -> Vec<u8> {
    field.iter().take_while(|b| **b != 0).copied().collect()
}

/// Lists the entries of the tar archive `r` (ustar with pax headers, as `git archive`
/// writes it).
pub fn read_tar_index<R: Read + Seek>(r: &mut R) -> io::Result<Vec<TarEntry>> {
    let mut out = Vec::new();
    let mut pos: u64 = 0;
    let mut pax_path: Option<String> = None;
    let mut pax_size: Option<u64> = None;
    let mut hdr = [0u8; 512];
    loop {
        r.seek(SeekFrom::Start(pos))?;
        let mut got = 0;
        while got < 512 {
            let n = r.read(&mut hdr[got..])?;
            if n == 0 {
                break;
            }
            got += n;
        }
        if got == 0 {
            break;
        }
        if got < 512 {
            return Err(bad("truncated tar header"));
        }
        if hdr.iter().all(|b| *b == 0) {
            break;
        }
        let size = octal(&hdr[124..136])?;
        let typeflag = hdr[156];
        let data = pos + 512;
        let padded = size.div_ceil(512) * 512;
        match typeflag {
            b'x' | b'g' => {
                if size > 1 << 20 {
                    return Err(bad("pax header too large"));
                }
                let mut buf = vec![0u8; size as usize];
                r.seek(SeekFrom::Start(data))?;
                r.read_exact(&mut buf)?;
                if typeflag == b'x' {
                    parse_pax(&buf, &mut pax_path, &mut pax_size)?;
                }
            }
            _ => {
                let size = pax_size.take().unwrap_or(size);
                let name = match pax_path.take() {
                    Some(p) => p,
                    None => {
                        let name = cstr(&hdr[0..100]);
                        let prefix = if &hdr[257..262] == b"ustar" {
                            cstr(&hdr[345..500])
                        } else {
                            Vec::new()
                        };
                        let full = if prefix.is_empty() {
                            name
                        } else {
                            let mut p = prefix;
                            p.push(b'/');
                            p.extend_from_slice(&name);
                            p
                        };
                        String::from_utf8_lossy(&full).into_owned()
                    }
                };
                let kind = match typeflag {
                    b'0' | 0 | b'7' => FileKind::Regular,
                    b'5' => FileKind::Dir,
                    b'2' => FileKind::Symlink,
                    _ => FileKind::Other,
                };
                out.push(TarEntry {
                    path: name,
                    kind,
                    offset: data,
                    size: if kind == FileKind::Regular { size } else { 0 },
                });
                pos = data + size.div_ceil(512) * 512;
                continue;
            }
        }
        pos = data + padded;
    }
    Ok(out)
}

fn parse_pax(buf: &[u8], path: &mut Option<String>, size: &mut Option<u64>) -> io::Result<()> {
    let mut rest = buf;
    while !rest.is_empty() {
        let sp = rest
            .iter()
            .position(|b| *b == b' ')
            .ok_or_else(|| bad("bad pax record"))?;
        let len: usize = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("bad pax record length"))?;
        if len <= sp + 1 || len > rest.len() {
            return Err(bad("bad pax record length"));
        }
        let rec = &rest[sp + 1..len];
        let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
        if let Some(eq) = rec.iter().position(|b| *b == b'=') {
            let (k, v) = (&rec[..eq], &rec[eq + 1..]);
            match k {
                b"path" => *path = Some(String::from_utf8_lossy(v).into_owned()),
                b"size" => {
                    *size = std::str::from_utf8(v).ok().and_then(|s| s.parse().ok());
                }
                _ => {}
            }
        }
        rest = &rest[len..];
    }
    Ok(())
}

/// Why a module zip could not be built from `git archive`'s tar (or the files read
/// in-process).
#[derive(Debug, thiserror::Error)]
pub enum TarZipError {
    /// The tar could not be opened.
    #[error("opening {}: {source}", path.display())]
    Open {
        /// The tar.
        path: PathBuf,
        /// The system's reason.
        source: io::Error,
    },
    /// The tar could not be read or is malformed.
    #[error("{0}")]
    Tar(#[source] io::Error),
    /// An entry lies outside the archive's one top-level directory.
    #[error("zip file contains more than one top-level directory")]
    TopLevel,
    /// The zip could not be created.
    #[error("creating {}: {source}", path.display())]
    Create {
        /// The zip.
        path: PathBuf,
        /// The system's reason.
        source: io::Error,
    },
    /// The files do not make a module zip, or writing it failed.
    #[error("{0}")]
    Zip(#[from] gomod::zip::Error),
    /// The zip could not be written to its disk.
    #[error("writing {}: {source}", path.display())]
    Write {
        /// The zip.
        path: PathBuf,
        /// The system's reason.
        source: io::Error,
    },
}

impl TarZipError {
    /// The system's I/O error underneath, where there is one (a full disk is the data
    /// directory's, where both the tar and the zip are).
    pub fn io(&self) -> Option<&io::Error> {
        match self {
            TarZipError::Open { source, .. }
            | TarZipError::Create { source, .. }
            | TarZipError::Write { source, .. }
            | TarZipError::Tar(source) => Some(source),
            TarZipError::Zip(gomod::zip::Error::Io(e)) => Some(e),
            TarZipError::TopLevel | TarZipError::Zip(_) => None,
        }
    }
}

/// Builds the module zip of `module@version` at `dest` from the `git archive` tar `tar`
/// of module directory `subdir` (entries under `prefix/`), adding `license` (the
/// repository root's LICENSE) when the module directory has none. Returns the zip's size.
pub fn zip_from_tar(
    tar: &Path,
    subdir: &str,
    license: Option<Vec<u8>>,
    module: &str,
    version: &str,
    dest: &Path,
) -> Result<u64, TarZipError> {
    let mut f = fs::File::open(tar).map_err(|source| TarZipError::Open {
        path: tar.to_path_buf(),
        source,
    })?;
    let entries = read_tar_index(&mut f).map_err(TarZipError::Tar)?;
    let mut sub = subdir.trim_matches('/').to_string();
    if !sub.is_empty() {
        sub.push('/');
    }
    let mut files: Vec<Box<dyn File>> = Vec::new();
    for e in entries {
        let Some(name) = e.path.strip_prefix("prefix/") else {
            return Err(TarZipError::TopLevel);
        };
        let Some(name) = name.strip_prefix(&sub) else {
            continue;
        };
        if name.is_empty() || name.ends_with('/') || e.kind == FileKind::Dir {
            continue;
        }
        files.push(Box::new(TarFile {
            tar: tar.to_path_buf(),
            path: name.to_string(),
            offset: e.offset,
            size: e.size,
            kind: e.kind,
        }));
    }
    write_zip(files, !sub.is_empty(), license, module, version, dest)
}

/// Builds the module zip of `module@version` at `dest` from the module directory's
/// files as `git archive` would list them, read in-process ([`super::tree::files`]);
/// `license` as for [`zip_from_tar`].
pub fn zip_from_tree(
    files: Vec<super::tree::TreeFile>,
    subdir: &str,
    license: Option<Vec<u8>>,
    module: &str,
    version: &str,
    dest: &Path,
) -> Result<u64, TarZipError> {
    let files = files
        .into_iter()
        .map(|f| Box::new(f) as Box<dyn File>)
        .collect();
    let in_subdir = !subdir.trim_matches('/').is_empty();
    write_zip(files, in_subdir, license, module, version, dest)
}

/// The module zip of `files` (the module directory's, in archive order) at `dest`, with
/// the repository root's `license` added when the module lies in a subdirectory and has
/// no LICENSE of its own (the go command's `codeRepo.Zip`).
fn write_zip(
    mut files: Vec<Box<dyn File>>,
    in_subdir: bool,
    license: Option<Vec<u8>>,
    module: &str,
    version: &str,
    dest: &Path,
) -> Result<u64, TarZipError> {
    let have_license = files.iter().any(|f| f.path() == "LICENSE");
    if !have_license
        && in_subdir
        && let Some(data) = license
    {
        files.push(Box::new(DataFile {
            path: "LICENSE".into(),
            data,
        }));
    }
    let out = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(dest)
        .map_err(|source| TarZipError::Create {
            path: dest.to_path_buf(),
            source,
        })?;
    let mut w = io::BufWriter::new(out);
    gomod::zip::create(
        &mut w,
        &gomod::module::Version::new(module, version),
        &files,
    )?;
    let write = |source| TarZipError::Write {
        path: dest.to_path_buf(),
        source,
    };
    let out = w.into_inner().map_err(|e| write(e.into_error()))?;
    out.sync_all().map_err(write)?;
    Ok(out.metadata().map_err(write)?.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn header(name: &str, size: u64, typeflag: u8) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        let s = format!("{size:011o}");
        h[124..135].copy_from_slice(s.as_bytes());
        h[156] = typeflag;
        h[257..263].copy_from_slice(b"ustar\0");
        h
    }

    #[test]
    fn reads_ustar_and_pax() {
        let mut t = Vec::new();
        let rec = "29 path=prefix/long/name.txt\n";
        t.extend(header("pax", rec.len() as u64, b'x'));
        let mut d = rec.as_bytes().to_vec();
        d.resize(512, 0);
        t.extend(d);
        t.extend(header("ignored", 3, b'0'));
        let mut d = b"abc".to_vec();
        d.resize(512, 0);
        t.extend(d);
        t.extend(header("prefix/dir/", 0, b'5'));
        t.extend(header("prefix/link", 0, b'2'));
        t.extend(vec![0u8; 1024]);
        let idx = read_tar_index(&mut Cursor::new(t)).unwrap();
        assert_eq!(
            idx,
            vec![
                TarEntry {
                    path: "prefix/long/name.txt".into(),
                    kind: FileKind::Regular,
                    offset: 1536,
                    size: 3
                },
                TarEntry {
                    path: "prefix/dir/".into(),
                    kind: FileKind::Dir,
                    offset: 2560,
                    size: 0
                },
                TarEntry {
                    path: "prefix/link".into(),
                    kind: FileKind::Symlink,
                    offset: 3072,
                    size: 0
                },
            ]
        );
    }
}
