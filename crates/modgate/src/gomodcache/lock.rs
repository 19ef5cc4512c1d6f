//! The locks of the module cache: a version's `.lock` file, and which process holds it
//! now (a go command stuck holding one makes every other that needs the version wait:
//! "go mod download hangs").

use std::path::{Path, PathBuf};

use gomod::layout::Ext;

use super::scan::Entry;
use crate::platform::file_lock;

pub use crate::platform::file_lock::{Holder, holder};

/// Why a version's lock could not be taken (a running process holding it is not an
/// error).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The version's directory could not be made.
    #[error("{}: {source}", dir.display())]
    Dir {
        /// The `@v` directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The lock file could not be opened (or made).
    #[error("{}: {source}", file.display())]
    Open {
        /// The `.lock` file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The lock failed otherwise than because another process holds it.
    #[error("locking {}: {source}", file.display())]
    Lock {
        /// The `.lock` file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The version's lock, taken as the go command takes it (an exclusive lock on
/// `<v>.lock`: `flock`, `LockFileEx`), without waiting: `None` when a running process holds it.
pub fn take(e: &Entry) -> Result<Option<std::fs::File>, Error> {
    take_at(&e.vdir, &e.file(Ext::Lock))
}

/// [`take`] of the lock file `lock` in the `@v` directory `vdir` (made when missing).
pub fn take_at(vdir: &Path, lock: &Path) -> Result<Option<std::fs::File>, Error> {
    std::fs::create_dir_all(vdir).map_err(|source| Error::Dir {
        dir: vdir.to_path_buf(),
        source,
    })?;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(lock)
        .map_err(|source| Error::Open {
            file: lock.to_path_buf(),
            source,
        })?;
    match file_lock::try_lock(&f, file_lock::Mode::Exclusive) {
        Ok(true) => Ok(Some(f)),
        Ok(false) => Ok(None),
        Err(source) => Err(Error::Lock {
            file: lock.to_path_buf(),
            source,
        }),
    }
}
