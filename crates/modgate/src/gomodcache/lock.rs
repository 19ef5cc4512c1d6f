//! The locks of the module cache: a version's `.lock` file, and which process holds it
//! now (a go command stuck holding one makes every other that needs the version wait:
//! "go mod download hangs").

use std::path::{Path, PathBuf};

use gomod::layout::Ext;

use super::scan::Entry;

/// The process holding a lock on `path` now (pid and command line), from `/proc/locks`.
pub fn holder(path: &Path) -> Option<(u32, String)> {
    use std::os::unix::fs::MetadataExt;
    let f = std::fs::File::open(path).ok()?;
    match rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockShared) {
        Ok(()) => {
            let _ = rustix::fs::flock(&f, rustix::fs::FlockOperation::Unlock);
            return None;
        }
        Err(e) if e != rustix::io::Errno::WOULDBLOCK => return None,
        Err(_) => {}
    }
    let m = f.metadata().ok()?;
    let ino = m.ino();
    let (maj, min) = (rustix::fs::major(m.dev()), rustix::fs::minor(m.dev()));
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
    let pid = locks.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let id = f
            .iter()
            .position(|x| x.matches(':').count() == 2 && !x.ends_with(':'))?;
        let parts: Vec<&str> = f[id].split(':').collect();
        let same = u32::from_str_radix(parts[0], 16).ok()? == maj
            && u32::from_str_radix(parts[1], 16).ok()? == min
            && parts[2].parse::<u64>().ok()? == ino;
        if same {
            f[id - 1].parse::<u32>().ok()
        } else {
            None
        }
    })?;
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            String::from_utf8_lossy(&c)
                .split('\0')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    Some((pid, cmd))
}

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
    /// `flock` failed otherwise than because another process holds the lock.
    #[error("locking {}: {source}", file.display())]
    Lock {
        /// The `.lock` file.
        file: PathBuf,
        /// Why.
        #[source]
        source: rustix::io::Errno,
    },
}

/// The version's lock, taken as the go command takes it (an exclusive `flock` on
/// `<v>.lock`), without waiting: `None` when a running process holds it.
pub fn take(e: &Entry) -> Result<Option<std::fs::File>, Error> {
    std::fs::create_dir_all(&e.vdir).map_err(|source| Error::Dir {
        dir: e.vdir.clone(),
        source,
    })?;
    let p = e.file(Ext::Lock);
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&p)
        .map_err(|source| Error::Open {
            file: p.clone(),
            source,
        })?;
    match rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(f)),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
        Err(source) => Err(Error::Lock { file: p, source }),
    }
}
