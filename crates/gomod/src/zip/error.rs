//! Errors of module zip creation, checking and extraction, with Go's texts.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use super::{MAX_GO_MOD, MAX_LICENSE, MAX_ZIP_FILE};
use crate::gostr::{quote, quote_bytes};
use crate::module;

/// An error from this module. `Display` gives the text x/mod/zip (and Go's `archive/zip`)
/// gives for the same failure; I/O errors print as Rust prints them.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file path that `path.Clean` would change.
    #[error("file path is not clean")]
    PathNotClean,
    /// An absolute file path.
    #[error("file path is not relative")]
    PathNotRelative,
    /// A file named like go.mod in another case.
    #[error("go.mod files must have lowercase names")]
    GoModCase,
    /// go.mod larger than [`MAX_GO_MOD`].
    #[error("go.mod file too large (max size is {MAX_GO_MOD} bytes)")]
    GoModSize,
    /// LICENSE larger than [`MAX_LICENSE`].
    #[error("LICENSE file too large (max size is {MAX_LICENSE} bytes)")]
    LicenseSize,
    /// Omitted: a `.bzr`, `.git`, `.hg` or `.svn` directory.
    #[error("directory is a version control repository")]
    Vcs,
    /// Omitted: a file in a vendored package.
    #[error("file is in vendor directory")]
    Vendored,
    /// Omitted: a file in a nested module.
    #[error("file is in another module")]
    SubmoduleFile,
    /// Omitted: a directory holding a nested module.
    #[error("directory is in another module")]
    SubmoduleDir,
    /// Omitted: `.hg_archival.txt` at the root.
    #[error("file is inserted by 'hg archive' and is always omitted")]
    HgArchivalTxt,
    /// Omitted: a symbolic link.
    #[error("file is a symbolic link")]
    Symlink,
    /// Omitted: neither a regular file, a directory nor a symbolic link.
    #[error("not a regular file")]
    NotRegular,
    /// A go.mod (in any case) below the module root, in a zip.
    #[error("go.mod file not in module root directory")]
    GoModNotInRoot,
    /// A zip entry outside `path@version/`.
    #[error("path does not have prefix {}", quote(prefix))]
    MissingPrefix {
        /// The required prefix, `path@version/`.
        prefix: String,
    },
    /// Two paths equal under Unicode case folding.
    #[error(
        "case-insensitive file name collision: {} and {}",
        quote(first),
        quote(second)
    )]
    CaseCollision {
        /// The path seen first.
        first: String,
        /// The path seen second.
        second: String,
    },
    /// A path that is both a file and a directory.
    #[error("entry {} is both a file and a directory", quote(path))]
    FileAndDir {
        /// The path.
        path: String,
    },
    /// A file listed more than once.
    #[error("multiple entries for file {}", quote(path))]
    MultipleEntries {
        /// The path.
        path: String,
    },
    /// A module path, version or file path rejected by [`crate::module`].
    #[error(transparent)]
    Module(Arc<module::Error>),
    /// A zip entry name that is not UTF-8 (Go's `module.CheckFilePath` text).
    #[error("malformed file path {}: invalid UTF-8", quote_bytes(name))]
    FilePathNotUtf8 {
        /// The name after the prefix, as bytes.
        name: Vec<u8>,
    },
    /// The declared sizes of the files to zip exceed [`MAX_ZIP_FILE`].
    #[error("module source tree too large (max size is {MAX_ZIP_FILE} bytes)")]
    SourceTreeTooLarge,
    /// The zip file itself exceeds [`MAX_ZIP_FILE`].
    #[error("module zip file is too large ({size} bytes; limit is {MAX_ZIP_FILE} bytes)")]
    ZipFileTooLarge {
        /// The zip file's size.
        size: u64,
    },
    /// The declared uncompressed sizes in a zip exceed [`MAX_ZIP_FILE`].
    #[error(
        "total uncompressed size of module contents too large (max size is {MAX_ZIP_FILE} bytes)"
    )]
    ContentsTooLarge,
    /// A version that is not in canonical form.
    #[error(
        "version {} is not canonical (should be {})",
        quote(version),
        quote(canonical)
    )]
    NotCanonical {
        /// The version given.
        version: String,
        /// Its canonical form.
        canonical: String,
    },
    /// The invalid files of a [`CheckedFiles`](super::CheckedFiles), one per line.
    #[error("{0}")]
    Files(FileErrorList),
    /// A file to zip had more bytes than its `lstat` size.
    #[error("file {} is larger than declared size", quote(path))]
    LargerThanDeclared {
        /// The file's path.
        path: String,
    },
    /// A zip entry had more bytes than its declared uncompressed size.
    #[error("uncompressed size of file {name} is larger than declared size ({size} bytes)")]
    UnzipLargerThanDeclared {
        /// The entry name.
        name: String,
        /// Its declared uncompressed size.
        size: u64,
    },
    /// [`unzip`](super::unzip) was given a directory with something in it.
    #[error("target directory {} exists and is not empty", dir.display())]
    TargetNotEmpty {
        /// The target directory.
        dir: PathBuf,
    },
    /// Go's `zip.ErrFormat`.
    #[error("zip: not a valid zip file")]
    Format,
    /// Go's `zip.ErrAlgorithm`: a compression method other than store and deflate.
    #[error("zip: unsupported compression algorithm")]
    Algorithm,
    /// Go's `zip.ErrChecksum`.
    #[error("zip: checksum error")]
    Checksum,
    /// The end-of-directory comment length runs past the end of the file.
    #[error("zip: invalid comment length")]
    CommentLength,
    /// Go's `io.ErrUnexpectedEOF`.
    #[error("unexpected EOF")]
    UnexpectedEof,
    /// Go's `io.EOF` (a header lies past the end of the zip file).
    #[error("EOF")]
    Eof,
    /// The deflate stream of an entry is corrupt.
    #[error("flate: {0}")]
    Flate(String),
    /// An I/O error.
    #[error(transparent)]
    Io(Arc<io::Error>),
    /// An error from the zip writer.
    #[error(transparent)]
    Write(Arc<::zip::result::ZipError>),
    /// An error wrapped with the operation and path, as Go's `zipError`:
    /// `"{verb} {path}: {err}"`, or `"{verb}: {err}"` without a path.
    #[error("{verb}{}: {source}", path.as_ref().map(|p| format!(" {p}")).unwrap_or_default())]
    Op {
        /// `create zip`, `create zip from directory` or `unzip`.
        verb: &'static str,
        /// The directory or zip file, when known.
        path: Option<String>,
        /// The underlying error.
        source: Box<Error>,
    },
}

impl Error {
    /// The underlying error of an [`Error::Op`] (recursively); `self` otherwise.
    pub fn root(&self) -> &Error {
        match self {
            Error::Op { source, .. } => source.root(),
            e => e,
        }
    }

    pub(crate) fn op(verb: &'static str, path: Option<String>, err: Error) -> Error {
        Error::Op {
            verb,
            path,
            source: Box::new(err),
        }
    }
}

impl From<module::Error> for Error {
    fn from(e: module::Error) -> Self {
        Error::Module(Arc::new(e))
    }
}

impl From<io::Error> for Error {
    /// Unwraps errors of this module carried through `io::Read`, maps `UnexpectedEof`.
    fn from(e: io::Error) -> Self {
        if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            if let Some(inner) = e.into_inner()
                && let Ok(err) = inner.downcast::<Error>()
            {
                return *err;
            }
            return Error::Format;
        }
        if e.kind() == io::ErrorKind::UnexpectedEof {
            return Error::UnexpectedEof;
        }
        Error::Io(Arc::new(e))
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(inner) => match Arc::try_unwrap(inner) {
                Ok(inner) => inner,
                Err(inner) => io::Error::new(inner.kind(), Error::Io(inner)),
            },
            e => io::Error::other(e),
        }
    }
}

impl From<::zip::result::ZipError> for Error {
    fn from(e: ::zip::result::ZipError) -> Self {
        match e {
            ::zip::result::ZipError::Io(e) => Error::from(e),
            e => Error::Write(Arc::new(e)),
        }
    }
}

/// A file and why it is omitted from or invalid in a module zip (Go's `FileError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The file's path (slash-separated relative path, zip entry name, or OS path for
    /// [`check_dir`](super::check_dir)).
    pub path: String,
    /// The reason.
    pub err: Error,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.err)
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.err)
    }
}

/// A list of invalid files; `Display` puts one [`FileError`] per line (Go's
/// `FileErrorList`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileErrorList(pub Vec<FileError>);

impl fmt::Display for FileErrorList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl PartialEq for Error {
    /// Errors compare by their text (I/O errors have no other equality).
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for Error {}
