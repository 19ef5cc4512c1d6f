//! Directory hashes as recorded in go.sum files and the checksum database
//! (golang.org/x/mod/sumdb/dirhash): the `h1:` hash of a module zip, a directory or a
//! go.mod file, and the go.sum lines that record them.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::zip::reader::ZipReader;

/// An error computing a directory hash.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file name contains a newline, which the h1 summary format cannot represent.
    #[error("dirhash: filenames with newlines are not supported")]
    NewlineInName,
    /// The directory to hash is not a directory.
    #[error("{} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// A file name in the directory is not UTF-8.
    #[error("dirhash: file name is not valid UTF-8: {}", .0.display())]
    NameNotUtf8(PathBuf),
    /// The zip could not be read (Go's `archive/zip` texts, e.g. "zip: not a valid zip file").
    #[error(transparent)]
    Zip(#[from] crate::zip::Error),
    /// An I/O error (from `open` or while reading a file).
    #[error(transparent)]
    Io(io::Error),
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        if e.get_ref().is_some_and(|i| i.is::<crate::zip::Error>()) {
            return Error::Zip(crate::zip::Error::from(e));
        }
        Error::Io(e)
    }
}

/// The `h1:` hash (Go's `dirhash.Hash1`) of the files named `files`, read through `open`:
/// `"h1:"` and the standard base64 of the SHA-256 of the summary made of one line
/// `"{sha256 hex}  {name}\n"` per file, in sorted name order. Names containing a newline
/// are an error.
pub fn hash1<S, F, R>(files: &[S], mut open: F) -> Result<String, Error>
where
    S: AsRef<str>,
    F: FnMut(&str) -> io::Result<R>,
    R: Read,
{
    let names: Vec<&[u8]> = files.iter().map(|f| f.as_ref().as_bytes()).collect();
    hash1_bytes(names, |name| {
        // Names come from `files`, which are strings.
        let mut r = open(std::str::from_utf8(name).unwrap_or_default())?;
        sha256_of(&mut r)
    })
}

fn sha256_of<R: Read + ?Sized>(r: &mut R) -> Result<[u8; 32], Error> {
    let mut h = Sha256::new();
    io::copy(r, &mut HashWriter(&mut h))?;
    Ok(h.finalize().into())
}

/// [`hash1`] over byte names (Go hashes zip entry names, which need not be UTF-8), with
/// `digest` giving the SHA-256 of a file's content.
fn hash1_bytes<F>(mut names: Vec<&[u8]>, mut digest: F) -> Result<String, Error>
where
    F: FnMut(&[u8]) -> Result<[u8; 32], Error>,
{
    names.sort_unstable();
    let mut summary = Sha256::new();
    for name in names {
        if name.contains(&b'\n') {
            return Err(Error::NewlineInName);
        }
        let sum = digest(name)?;
        let mut line = String::with_capacity(64);
        for b in sum {
            let _ = write!(line, "{b:02x}");
        }
        summary.update(line.as_bytes());
        summary.update(b"  ");
        summary.update(name);
        summary.update(b"\n");
    }
    Ok(format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(summary.finalize())
    ))
}

struct HashWriter<'a>(&'a mut Sha256);

impl io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The `h1:` hash of the tree rooted at `dir`, with `dir` replaced by `prefix` in the names
/// hashed (Go's `dirhash.HashDir`). See [`dir_files`].
pub fn hash_dir(dir: &Path, prefix: &str) -> Result<String, Error> {
    let files = walk_files(dir, prefix)?;
    let by_name: HashMap<&str, &Path> = files
        .iter()
        .map(|(n, p)| (n.as_str(), p.as_path()))
        .collect();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    hash1(&names, |name| match by_name.get(name) {
        Some(p) => fs::File::open(p),
        None => Err(io::Error::new(io::ErrorKind::NotFound, name.to_owned())),
    })
}

/// The files (everything that is not a directory; symbolic links are listed, not
/// followed) in the tree rooted at `dir`, in lexical walk order, each named
/// `prefix/relative/path` with forward slashes (Go's `dirhash.DirFiles`, which joins and
/// cleans with `filepath.Join`). `dir` itself must be a directory.
pub fn dir_files(dir: &Path, prefix: &str) -> Result<Vec<String>, Error> {
    Ok(walk_files(dir, prefix)?
        .into_iter()
        .map(|(n, _)| n)
        .collect())
}

fn walk_files(dir: &Path, prefix: &str) -> Result<Vec<(String, PathBuf)>, Error> {
    let md = fs::symlink_metadata(dir)?;
    if !md.is_dir() {
        return Err(Error::NotADirectory(dir.to_path_buf()));
    }
    let mut out = Vec::new();
    walk(dir, "", prefix, &mut out)?;
    Ok(out)
}

fn walk(
    dir: &Path,
    rel: &str,
    prefix: &str,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), Error> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        names.push(entry?.file_name());
    }
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let Some(name) = name.to_str() else {
            return Err(Error::NameNotUtf8(path));
        };
        let rel = if rel.is_empty() {
            name.to_owned()
        } else {
            format!("{rel}/{name}")
        };
        if fs::symlink_metadata(&path)?.is_dir() {
            walk(&path, &rel, prefix, out)?;
        } else {
            out.push((crate::zip::clean_path(&format!("{prefix}/{rel}")), path));
        }
    }
    Ok(())
}

/// The `h1:` hash of the content of the zip read from `zip` (Go's `dirhash.HashZip`): the
/// names and contents of all entries, in whatever format, compression, order or with
/// whatever times they are stored. Entry contents are streamed and checked against their
/// declared sizes and CRC-32s as Go checks them.
pub fn hash_zip<R: Read + Seek>(mut zip: R) -> Result<String, Error> {
    let size = zip.seek(SeekFrom::End(0))?;
    let mut z = ZipReader::new(zip, size)?;
    // Duplicate names hash the last entry of that name, as Go's map does.
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    let names: Vec<Vec<u8>> = z.entries().iter().map(|e| e.name.clone()).collect();
    for (i, n) in names.iter().enumerate() {
        index.insert(n.clone(), i);
    }
    let refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
    hash1_bytes(refs, |name| {
        let i = index.get(name).copied().unwrap_or_default();
        let mut r = z.open(i)?;
        sha256_of(&mut r)
    })
}

/// [`hash_zip`] of the zip file at `path`.
pub fn hash_zip_file(path: &Path) -> Result<String, Error> {
    hash_zip(fs::File::open(path)?)
}

/// The `h1:` hash of a go.mod file's content, as recorded in `/go.mod` go.sum lines: the
/// h1 hash of the single file named "go.mod".
pub fn hash_go_mod(data: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(data);
    let mut summary = String::with_capacity(76);
    for b in hash.finalize() {
        let _ = write!(summary, "{b:02x}");
    }
    summary.push_str("  go.mod\n");
    format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(summary.as_bytes()))
    )
}

/// The two go.sum lines of a module version: `"{path} {version} {zip_h1}"` and
/// `"{path} {version}/go.mod {mod_h1}"` (without newlines).
pub fn go_sum_lines(path: &str, version: &str, zip_h1: &str, mod_h1: &str) -> [String; 2] {
    [
        format!("{path} {version} {zip_h1}"),
        format!("{path} {version}/go.mod {mod_h1}"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn h(s: &str) -> String {
        Sha256::digest(s.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn htop(k: &str, s: &str) -> String {
        format!(
            "{k}:{}",
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s.as_bytes()))
        )
    }

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let p =
                std::env::temp_dir().join(format!("gomod-dirhash-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn open_data(name: &str) -> io::Result<io::Cursor<Vec<u8>>> {
        Ok(io::Cursor::new(format!("data for {name}").into_bytes()))
    }

    /// hash_test.go TestHash1.
    #[test]
    fn hash1_sorts_and_formats() {
        let want = htop(
            "h1",
            &format!(
                "{}  {}\n{}  {}\n",
                h("data for abc"),
                "abc",
                h("data for xyz"),
                "xyz"
            ),
        );
        assert_eq!(hash1(&["xyz", "abc"], open_data).unwrap(), want);
        let err = hash1(&["xyz", "a\nbc"], open_data).unwrap_err();
        assert_eq!(
            err.to_string(),
            "dirhash: filenames with newlines are not supported"
        );
    }

    #[test]
    fn hash1_empty_and_open_error() {
        let none: [&str; 0] = [];
        assert_eq!(
            hash1(&none, open_data).unwrap(),
            "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        let err = hash1(&["a"], |_| -> io::Result<&[u8]> {
            Err(io::Error::other("boom"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "boom");
    }

    /// The h1 hash of `prefix/abc` and `prefix/xyz` holding "data for abc" and "data
    /// for xyz", the tree of hash_test.go's TestHashDir and TestHashZip.
    fn prefix_abc_xyz_hash() -> String {
        htop(
            "h1",
            &format!(
                "{}  {}\n{}  {}\n",
                h("data for abc"),
                "prefix/abc",
                h("data for xyz"),
                "prefix/xyz"
            ),
        )
    }

    /// hash_test.go TestHashDir and TestDirFiles.
    #[test]
    fn hash_dir_and_dir_files() {
        let dir = TempDir::new("hashdir");
        fs::write(dir.0.join("xyz"), "data for xyz").unwrap();
        fs::write(dir.0.join("abc"), "data for abc").unwrap();
        let want = prefix_abc_xyz_hash();
        assert_eq!(hash_dir(&dir.0, "prefix").unwrap(), want);
        // A trailing slash on the prefix is cleaned away, as filepath.Join does.
        assert_eq!(hash_dir(&dir.0, "prefix/").unwrap(), want);

        fs::create_dir(dir.0.join("subdir")).unwrap();
        fs::write(dir.0.join("subdir/xyz"), "data for subdir xyz").unwrap();
        assert_eq!(
            dir_files(&dir.0, "foo/bar@v2.3.4").unwrap(),
            [
                "foo/bar@v2.3.4/abc",
                "foo/bar@v2.3.4/subdir/xyz",
                "foo/bar@v2.3.4/xyz"
            ]
        );
        let file = dir.0.join("abc");
        assert_eq!(
            dir_files(&file, "p").unwrap_err().to_string(),
            format!("{} is not a directory", file.display())
        );
    }

    /// hash_test.go TestHashZip, with the zip written by the zip crate.
    #[test]
    fn hash_zip_of_written_zip() {
        let mut zw = ::zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let opts = ::zip::write::SimpleFileOptions::default();
        zw.start_file("prefix/xyz", opts).unwrap();
        zw.write_all(b"data for xyz").unwrap();
        zw.start_file("prefix/abc", opts).unwrap();
        zw.write_all(b"data for abc").unwrap();
        let data = zw.finish().unwrap().into_inner();
        let want = prefix_abc_xyz_hash();
        assert_eq!(hash_zip(io::Cursor::new(&data)).unwrap(), want);
        assert_eq!(
            hash_zip(io::Cursor::new(b"not a zip"))
                .unwrap_err()
                .to_string(),
            "zip: not a valid zip file"
        );
    }

    #[test]
    fn go_mod_hash_and_go_sum_lines() {
        // rsc.io/quote v1.5.2's go.mod and its line in every go.sum.
        let m = hash_go_mod(b"module \"rsc.io/quote\"\n\nrequire \"rsc.io/sampler\" v1.3.0\n");
        assert_eq!(m, "h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=");
        assert_eq!(
            hash1(&["go.mod"], |_| Ok(
                &b"module \"rsc.io/quote\"\n\nrequire \"rsc.io/sampler\" v1.3.0\n"[..]
            ))
            .unwrap(),
            m
        );
        assert_eq!(
            go_sum_lines(
                "rsc.io/quote",
                "v1.5.2",
                "h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=",
                &m
            ),
            [
                "rsc.io/quote v1.5.2 h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=",
                "rsc.io/quote v1.5.2/go.mod h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0="
            ]
        );
    }
}
