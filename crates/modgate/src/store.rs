//! The on-disk store in the GOMODCACHE/cache/download layout.
//!
//! `<dir>/cache/download/<escaped module>/@v/<escaped version>.{info,mod,zip,ziphash}`,
//! `<dir>/cache/download/<escaped module>/@v/list` and `<dir>/cache/download/<escaped
//! module>/@latest`: the data dir is itself a valid `GOPROXY=file://<dir>/cache/download`
//! tree.
//!
//! Every entry is written whole to a new file in `<dir>/tmp`, fsynced, renamed into place
//! and its directory fsynced, so that a reader (or the go command on a `file://` proxy)
//! sees the old entry or the new one, never part of one, whenever the process dies.
//! Temp files left by a killed process are never served (they are not in the tree) and
//! are removed by [`Store::open`].
//!
//! One process owns a data directory: [`Store::open`] takes an exclusive lock on
//! `<dir>/modgate.lock` (released by the kernel however the process ends) and refuses a
//! directory another process holds, whose temp files and clones it would otherwise
//! disturb.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use gomod::module;

/// The files kept for one module version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ext {
    /// `.info`: the JSON `{"Version", "Time"}`.
    Info,
    /// `.mod`: the go.mod file.
    Mod,
    /// `.zip`: the module zip.
    Zip,
    /// `.ziphash`: the `h1:` hash of the zip, written after the zip was checked.
    ZipHash,
}

impl Ext {
    fn as_str(self) -> &'static str {
        match self {
            Ext::Info => "info",
            Ext::Mod => "mod",
            Ext::Zip => "zip",
            Ext::ZipHash => "ziphash",
        }
    }
}

/// Why a store path could not be formed: the module path or version is not valid (the
/// caller answers 400/404; nothing on disk is touched).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PathError(pub String);

/// The data directory.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    download: PathBuf,
    tmp: PathBuf,
    counter: AtomicU64,
    /// Holds the lock on `<dir>/modgate.lock` while the store lives.
    _lock: fs::File,
    /// Immutable small entries (`.info`, `.mod`, `.ziphash` of canonical versions) kept in
    /// memory after their first read, so that hot requests touch no disk.
    hot: quick_cache::sync::Cache<PathBuf, Arc<[u8]>, ByteWeight>,
}

/// Total bytes of the in-memory copies of immutable entries.
const HOT_BYTES: u64 = 64 << 20;

/// Weighs an in-memory entry by its size (and a little for the key and bookkeeping).
#[derive(Clone)]
struct ByteWeight;

impl quick_cache::Weighter<PathBuf, Arc<[u8]>> for ByteWeight {
    fn weight(&self, key: &PathBuf, val: &Arc<[u8]>) -> u64 {
        (val.len() + key.as_os_str().len() + 64) as u64
    }
}

impl Store {
    /// Opens (creating if needed) the data directory `dir`, and removes the temp files
    /// left behind by a process that was killed mid-write.
    pub fn open(dir: &Path) -> io::Result<Store> {
        let download = dir.join("cache").join("download");
        let tmp = dir.join("tmp");
        fs::create_dir_all(dir).map_err(|e| annotate(e, "creating", dir))?;
        let lock = lock_dir(dir)?;
        fs::create_dir_all(&download).map_err(|e| annotate(e, "creating", &download))?;
        fs::create_dir_all(&tmp).map_err(|e| annotate(e, "creating", &tmp))?;
        for entry in fs::read_dir(&tmp).map_err(|e| annotate(e, "reading", &tmp))? {
            let entry = entry.map_err(|e| annotate(e, "reading", &tmp))?;
            let path = entry.path();
            let removed = if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            match removed {
                Ok(()) => tracing::info!(
                    "removed temp file {} left by an earlier run",
                    path.display()
                ),
                Err(e) => tracing::warn!("cannot remove temp file {}: {e}", path.display()),
            }
        }
        Ok(Store {
            dir: dir.to_path_buf(),
            download,
            tmp,
            counter: AtomicU64::new(0),
            _lock: lock,
            hot: quick_cache::sync::Cache::with_weighter(16_384, HOT_BYTES, ByteWeight),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `<dir>/cache/download`: a GOPROXY tree.
    pub fn download_dir(&self) -> &Path {
        &self.download
    }

    /// `<dir>/cache/download/<escaped module>`.
    pub fn module_dir(&self, module: &str) -> Result<PathBuf, PathError> {
        let escaped = module::escape_path(module)
            .map_err(|e| PathError(format!("invalid module path {module:?}: {e}")))?;
        Ok(self.download.join(escaped))
    }

    /// `<dir>/cache/download/<escaped module>/@v/<escaped version>.<ext>`.
    pub fn version_path(
        &self,
        module: &str,
        version: &str,
        ext: Ext,
    ) -> Result<PathBuf, PathError> {
        let v = module::escape_version(version)
            .map_err(|e| PathError(format!("invalid version {version:?}: {e}")))?;
        Ok(self
            .module_dir(module)?
            .join("@v")
            .join(format!("{v}.{}", ext.as_str())))
    }

    /// `<dir>/cache/download/<escaped module>/@v/list`.
    pub fn list_path(&self, module: &str) -> Result<PathBuf, PathError> {
        Ok(self.module_dir(module)?.join("@v").join("list"))
    }

    /// `<dir>/cache/download/<escaped module>/@latest`.
    pub fn latest_path(&self, module: &str) -> Result<PathBuf, PathError> {
        Ok(self.module_dir(module)?.join("@latest"))
    }

    /// A fresh path in `<dir>/tmp` for a file about to be written (not created yet).
    pub fn temp_path(&self, hint: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let hint: String = hint
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        self.tmp
            .join(format!("{}-{n}-{hint}.tmp", std::process::id()))
    }

    /// Writes `data` to `dest` atomically (temp file, fsync, rename, fsync of the directory).
    pub fn write(&self, dest: &Path, data: &[u8]) -> io::Result<()> {
        let tmp = self.temp_path(&file_name(dest));
        let result = (|| {
            let mut f = fs::File::create_new(&tmp).map_err(|e| annotate(e, "creating", &tmp))?;
            f.write_all(data)
                .map_err(|e| annotate(e, "writing", &tmp))?;
            f.sync_all().map_err(|e| annotate(e, "syncing", &tmp))?;
            drop(f);
            self.commit(&tmp, dest)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Moves the complete temp file `tmp` (in `<dir>/tmp`, written by the caller) to
    /// `dest`: fsync of the file, rename, fsync of the directory. On error `tmp` is left
    /// for the caller to remove.
    pub fn commit(&self, tmp: &Path, dest: &Path) -> io::Result<()> {
        let f = fs::OpenOptions::new()
            .write(true)
            .open(tmp)
            .map_err(|e| annotate(e, "opening", tmp))?;
        f.sync_all().map_err(|e| annotate(e, "syncing", tmp))?;
        drop(f);
        let parent = dest.parent().unwrap_or(&self.download);
        fs::create_dir_all(parent).map_err(|e| annotate(e, "creating", parent))?;
        fs::rename(tmp, dest).map_err(|e| annotate(e, "renaming into", dest))?;
        sync_dir(parent)?;
        Ok(())
    }

    /// The content of a stored entry, or `None` if there is none.
    pub async fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        match tokio::fs::read(path).await {
            Ok(d) => Ok(Some(d)),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(annotate(e, "reading", path)),
        }
    }

    /// The content of a stored entry that never changes once written (the `.info`, `.mod`
    /// and `.ziphash` of a canonical version), served from memory after the first read.
    pub async fn read_immutable(&self, path: &Path) -> io::Result<Option<Arc<[u8]>>> {
        self.read_immutable_checked(path, |_| true).await
    }

    /// Like [`Store::read_immutable`], but what is read from disk is kept (and returned)
    /// only when `valid` accepts it: what is in memory has been checked once, and is
    /// served without checking again.
    pub async fn read_immutable_checked(
        &self,
        path: &Path,
        valid: impl FnOnce(&[u8]) -> bool,
    ) -> io::Result<Option<Arc<[u8]>>> {
        if let Some(data) = self.hot.get(path) {
            return Ok(Some(data));
        }
        let Some(data) = self.read(path).await? else {
            return Ok(None);
        };
        if !valid(&data) {
            return Ok(None);
        }
        let data: Arc<[u8]> = data.into();
        self.hot.insert(path.to_path_buf(), Arc::clone(&data));
        Ok(Some(data))
    }

    /// The content of a stored entry and how long ago it was written, or `None`.
    pub async fn read_with_age(&self, path: &Path) -> io::Result<Option<(Vec<u8>, Duration)>> {
        let Some(data) = self.read(path).await? else {
            return Ok(None);
        };
        let age = match tokio::fs::metadata(path).await {
            Ok(m) => m
                .modified()
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .unwrap_or_default(),
            Err(_) => Duration::MAX,
        };
        Ok(Some((data, age)))
    }
}

/// Takes the exclusive lock on `<dir>/modgate.lock` and writes this process's id into it.
fn lock_dir(dir: &Path) -> io::Result<fs::File> {
    let path = dir.join("modgate.lock");
    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| annotate(e, "opening", &path))?;
    if let Err(e) = rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        if e != rustix::io::Errno::WOULDBLOCK {
            return Err(annotate(e.into(), "locking", &path));
        }
        let holder = fs::read_to_string(&path).unwrap_or_default();
        let holder = holder.trim();
        let who = if holder.is_empty() {
            String::new()
        } else {
            format!(" (pid {holder})")
        };
        return Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            format!(
                "{} is in use by another modgate process{who}: one process per data directory; stop that one or give this one another --data-dir",
                dir.display()
            ),
        ));
    }
    f.set_len(0).map_err(|e| annotate(e, "writing", &path))?;
    writeln!(f, "{}", std::process::id()).map_err(|e| annotate(e, "writing", &path))?;
    Ok(f)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Is `e` "no such file" (including a path component that is a file)?
pub fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    let d = fs::File::open(dir).map_err(|e| annotate(e, "opening", dir))?;
    d.sync_all().map_err(|e| annotate(e, "syncing", dir))
}

fn annotate(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_store_per_data_directory() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        let err = Store::open(d.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(
            err.to_string(),
            format!(
                "{} is in use by another modgate process (pid {}): one process per data directory; stop that one or give this one another --data-dir",
                d.path().display(),
                std::process::id()
            )
        );
        drop(s);
        Store::open(d.path()).unwrap();
    }

    #[tokio::test]
    async fn only_checked_entries_are_kept_in_memory() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        let p = s
            .version_path("example.com/m", "v1.0.0", Ext::Info)
            .unwrap();
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"garbage").unwrap();
        let json = |d: &[u8]| d.starts_with(b"{");
        assert_eq!(s.read_immutable_checked(&p, json).await.unwrap(), None);
        std::fs::write(&p, b"{}").unwrap();
        assert_eq!(
            s.read_immutable_checked(&p, json).await.unwrap().as_deref(),
            Some(&b"{}"[..])
        );
        // Served from memory from now on, unchecked.
        std::fs::remove_file(&p).unwrap();
        assert_eq!(
            s.read_immutable_checked(&p, |_| false)
                .await
                .unwrap()
                .as_deref(),
            Some(&b"{}"[..])
        );
    }

    #[test]
    fn layout_is_the_gomodcache_download_layout() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        assert_eq!(
            s.version_path("github.com/Foo/bar", "v1.0.0-RC", Ext::ZipHash)
                .unwrap(),
            d.path()
                .join("cache/download/github.com/!foo/bar/@v/v1.0.0-!r!c.ziphash")
        );
        assert_eq!(
            s.list_path("example.com/m").unwrap(),
            d.path().join("cache/download/example.com/m/@v/list")
        );
        assert_eq!(
            s.latest_path("example.com/m").unwrap(),
            d.path().join("cache/download/example.com/m/@latest")
        );
        assert!(
            s.version_path("example.com/../x", "v1.0.0", Ext::Mod)
                .is_err()
        );
        assert!(s.version_path("example.com/m", "../v1", Ext::Mod).is_err());
        assert!(s.version_path("example.com/m", "a/b", Ext::Mod).is_err());
    }

    #[test]
    fn write_is_atomic_and_leaves_no_temp_file() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        let p = s.version_path("example.com/m", "v1.0.0", Ext::Mod).unwrap();
        s.write(&p, b"module example.com/m\n").unwrap();
        s.write(&p, b"module example.com/m // again\n").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"module example.com/m // again\n");
        assert_eq!(fs::read_dir(d.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn temp_files_left_behind_are_never_served_and_removed_at_open() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        // A write killed after the temp file was written but before the rename.
        let tmp = s.temp_path("v1.0.0.zip");
        fs::write(&tmp, b"half a zip").unwrap();
        let dest = s.version_path("example.com/m", "v1.0.0", Ext::Zip).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert_eq!(rt.block_on(s.read(&dest)).unwrap(), None);
        drop(s);
        let s = Store::open(d.path()).unwrap();
        assert!(!tmp.exists());
        assert_eq!(fs::read_dir(d.path().join("tmp")).unwrap().count(), 0);
        assert_eq!(rt.block_on(s.read(&dest)).unwrap(), None);
    }
}
