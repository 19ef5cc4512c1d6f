//! Module zip files: creation, checking and safe extraction with every rule of
//! golang.org/x/mod/zip (v0.19.0, as vendored in go 1.23).
//!
//! - Every entry is named `<module>@<version>/<file>`; the module path must be valid, the
//!   version canonical with a major version matching the path, and every file path valid
//!   ([`crate::module::check_file_path`]).
//! - No two paths may be equal under Unicode case folding; no path may be both a file and a
//!   directory, or be listed twice.
//! - `go.mod` may only appear at the root, in lower case.
//! - The zip file and the total uncompressed content are at most [`MAX_ZIP_FILE`] bytes;
//!   `go.mod` and `LICENSE` at most [`MAX_GO_MOD`] and [`MAX_LICENSE`].
//! - Every entry's real uncompressed size must equal its declared size: sizes are never
//!   trusted, bytes are counted while reading.
//! - Files of nested modules (directories with a go.mod) and of vendored packages, symbolic
//!   links and irregular files are left out when creating.
//!
//! Zips are read from `Read + Seek` values with a reader that follows Go's `archive/zip`
//! reader (see `reader.rs` for why the `zip` crate's reader is not used) and written as Go's
//! `archive/zip` writes them, deflated by Go's `compress/flate` algorithm
//! ([`crate::flate`]): the same files give the go command's bytes. File contents are
//! streamed.

mod check;
mod create;
mod dir;
mod error;
mod format;
mod gopath;
pub(crate) mod reader;
mod unzip;
mod writer;

use std::io::{self, Read};

pub use check::{check_dir, check_files, check_served_zip_file, check_zip, check_zip_file};
pub use create::{create, create_from_dir};
pub use error::{Error, FileError, FileErrorList};
pub use unzip::{unzip, unzip_reader};
pub use writer::Writer;

pub(crate) use gopath::clean as clean_path;

/// The maximum size in bytes of a module zip file, and of its uncompressed content
/// (500 MiB).
pub const MAX_ZIP_FILE: u64 = 500 << 20;

/// The maximum size in bytes of a go.mod file within a module zip file (16 MiB).
pub const MAX_GO_MOD: u64 = 16 << 20;

/// The maximum size in bytes of a LICENSE file within a module zip file (16 MiB).
pub const MAX_LICENSE: u64 = 16 << 20;

/// What kind of file a [`File`] is, as `lstat` sees it (links are not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A regular file.
    Regular,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// Anything else (device, socket, fifo, ...).
    Other,
}

/// The result of [`File::lstat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileInfo {
    /// The size in bytes the file claims to have. It is a declaration only: reading never
    /// trusts it, and a file with more bytes makes [`create`] fail.
    pub size: u64,
    /// The kind of file.
    pub kind: FileKind,
}

/// A file in a directory, a zip, memory, or anything else that looks like a file (Go's
/// `zip.File`).
pub trait File {
    /// A clean slash-separated path relative to the module root.
    fn path(&self) -> &str;

    /// The path as bytes when it is not UTF-8 (a name read from a directory or archive);
    /// [`File::path`] is then its lossy form. Such a file is invalid, as in Go.
    fn raw_path(&self) -> Option<&[u8]> {
        None
    }

    /// Information about the file itself (a symbolic link is not followed).
    fn lstat(&self) -> io::Result<FileInfo>;

    /// The content of a regular file. May fail for directories and symbolic links.
    fn open(&self) -> io::Result<Box<dyn Read + '_>>;
}

/// Forwards every [`File`] method (the defaulted ones too, so that none silently falls
/// back to its default) through a pointer type.
macro_rules! forward_file {
    ($($ptr:ty),*) => {$(
        impl<T: File + ?Sized> File for $ptr {
            fn path(&self) -> &str {
                (**self).path()
            }
            fn raw_path(&self) -> Option<&[u8]> {
                (**self).raw_path()
            }
            fn lstat(&self) -> io::Result<FileInfo> {
                (**self).lstat()
            }
            fn open(&self) -> io::Result<Box<dyn Read + '_>> {
                (**self).open()
            }
        }
    )*};
}
forward_file!(&T, Box<T>);

/// A regular file held in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    /// Its path relative to the module root.
    pub path: String,
    /// Its content.
    pub data: Vec<u8>,
}

impl File for DataFile {
    fn path(&self) -> &str {
        &self.path
    }
    fn lstat(&self) -> io::Result<FileInfo> {
        Ok(FileInfo {
            size: self.data.len() as u64,
            kind: FileKind::Regular,
        })
    }
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(&self.data[..]))
    }
}

/// Which files of a set satisfy the module zip rules (Go's `CheckedFiles`). Every file
/// given to a check lands in exactly one of `valid`, `omitted` and `invalid`.
///
/// A check that returns `Ok(CheckedFiles)` has still found the files invalid if
/// [`CheckedFiles::err`] is an error: always look at it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct CheckedFiles {
    /// Paths of the files that belong in the zip.
    pub valid: Vec<String>,
    /// Files left out of a zip on purpose, and why.
    pub omitted: Vec<FileError>,
    /// Files that make a module zip invalid, and why.
    pub invalid: Vec<FileError>,
    /// Set when the total size is over [`MAX_ZIP_FILE`] (or the zip file itself is).
    pub size_error: Option<Error>,
}

impl CheckedFiles {
    /// `Err` if these files do not make a valid module zip: the size error if any, else
    /// [`Error::Files`] listing the invalid files (Go's `CheckedFiles.Err`).
    pub fn err(&self) -> Result<(), Error> {
        if let Some(e) = &self.size_error {
            return Err(e.clone());
        }
        if !self.invalid.is_empty() {
            return Err(Error::Files(FileErrorList(self.invalid.clone())));
        }
        Ok(())
    }
}

/// Whether `name` is in a package whose import path contains (but does not end with) the
/// component "vendor", with x/mod's deliberate false positives for non-top-level packages
/// whose path ends in "vendor" (golang.org/issue/31562, golang.org/issue/37397): those
/// cannot be fixed without changing module checksums.
pub fn is_vendored_package(name: &str) -> bool {
    let i = if name.starts_with("vendor/") {
        "vendor/".len()
    } else if name.contains("/vendor/") {
        // The offset x/mod uses: the length of "/vendor/" from the start of the name, not
        // from the match. Kept for checksum compatibility.
        "/vendor/".len()
    } else {
        return false;
    };
    name.as_bytes()[i..].contains(&b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x/mod's vendor_test.go, including the two known false positives.
    #[test]
    fn vendored_package() {
        for (path, want) in [
            ("vendor/foo/foo.go", true),
            ("pkg/vendor/foo/foo.go", true),
            ("longpackagename/vendor/foo/foo.go", true),
            ("vendor/vendor.go", false),
            // golang.org/issue/37397 false positives, kept as in x/mod.
            ("pkg/vendor/vendor.go", true),
            ("longpackagename/vendor/vendor.go", true),
        ] {
            assert_eq!(is_vendored_package(path), want, "{path}");
        }
        // The offset bug: the rest is taken from byte 8 of the name, which for any
        // relative name still includes the slash ending "/vendor/".
        assert!(is_vendored_package("a/vendor/x"));
        assert!(is_vendored_package("abcdefghijk/vendor/x"));
        assert!(!is_vendored_package("/vendor/x"));
        assert!(!is_vendored_package("vendor/modules.txt"));
        assert!(!is_vendored_package("x/vendor"));
    }
}
