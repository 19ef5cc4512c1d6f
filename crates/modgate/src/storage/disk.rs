//! The directory backend: objects are files under the data directory in the GOMODCACHE
//! layout (`<dir>/cache/download/...`, see `key.rs`), so the data directory is itself a
//! valid `GOPROXY=file://<dir>/cache/download` tree.
//!
//! Every object is written whole to a file in the staging area (`<dir>/tmp`, same file
//! system), fsynced, renamed into place and its directory fsynced, so that a reader (or
//! the go command on a `file://` proxy) sees the old object or the new one, never part of
//! one, whenever the process dies.
//!
//! One process owns a directory: [`DiskBlobs::open`] takes an exclusive lock on
//! `<dir>/modgate.lock` (released by the kernel however the process ends) and refuses a
//! directory another process holds, whose staged files and clones it would otherwise
//! disturb.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use super::annotate;
use super::blob::{Blob, Blobs, ByteStream, Listed, Stat};
use super::key::Key;
use super::staging::{Staged, Staging};
use crate::platform::file_lock;

/// A data directory.
#[derive(Debug)]
pub struct DiskBlobs {
    dir: PathBuf,
    staging: Arc<Staging>,
    /// Holds the lock on `<dir>/modgate.lock` while this lives.
    _lock: fs::File,
}

impl DiskBlobs {
    /// Opens (creating if needed) the data directory `dir`, locks it, and opens its
    /// staging area `<dir>/tmp` (removing what a killed process left there).
    pub fn open(dir: &Path) -> io::Result<DiskBlobs> {
        fs::create_dir_all(dir).map_err(|e| annotate(e, "creating", dir))?;
        let lock = lock_dir(dir)?;
        let download = dir.join("cache").join("download");
        fs::create_dir_all(&download).map_err(|e| annotate(e, "creating", &download))?;
        let staging = Staging::open(&dir.join("tmp"))?;
        Ok(DiskBlobs {
            dir: dir.to_path_buf(),
            staging: Arc::new(staging),
            _lock: lock,
        })
    }

    /// The staging area on this directory's file system.
    pub fn staging(&self) -> &Arc<Staging> {
        &self.staging
    }

    fn path(&self, key: &Key) -> PathBuf {
        self.dir.join(key.name())
    }
}

/// Moves the complete file `tmp` to `dest` (a path under the data directory): fsync of
/// the file, rename, fsync of the directory.
fn commit(tmp: &Path, dest: &Path) -> io::Result<()> {
    let f = fs::OpenOptions::new()
        .write(true)
        .open(tmp)
        .map_err(|e| annotate(e, "opening", tmp))?;
    f.sync_all().map_err(|e| annotate(e, "syncing", tmp))?;
    drop(f);
    let parent = dest.parent().unwrap_or(Path::new("/"));
    fs::create_dir_all(parent).map_err(|e| annotate(e, "creating", parent))?;
    fs::rename(tmp, dest).map_err(|e| annotate(e, "renaming into", dest))?;
    sync_dir(parent)
}

/// Opens `path` (`flags`, close-on-exec added) on the caller's thread when the kernel
/// can resolve it from its caches alone (`openat2` with `RESOLVE_CACHED`, Linux 5.12: no
/// disk I/O, so fit for the async threads): `Ok(None)` when it does not exist. `None`
/// when the kernel cannot tell that way (a lookup that would read the disk, or an older
/// kernel): then the blocking pool opens it. A hot zip's lookups cost no thread hop.
/// Other systems have no such open: always the blocking pool.
#[cfg(target_os = "linux")]
fn open_cached(path: &Path, to: OpenFor) -> Option<io::Result<Option<fs::File>>> {
    use rustix::fs::{CWD, Mode, OFlags, ResolveFlags};
    let flags = match to {
        OpenFor::Metadata => OFlags::PATH,
        OpenFor::Reading => OFlags::RDONLY,
    };
    match rustix::fs::openat2(
        CWD,
        path,
        flags | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::CACHED,
    ) {
        Ok(fd) => Some(Ok(Some(fs::File::from(fd)))),
        Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR) => Some(Ok(None)),
        Err(rustix::io::Errno::AGAIN | rustix::io::Errno::NOSYS | rustix::io::Errno::INVAL) => None,
        Err(e) => Some(Err(e.into())),
    }
}

#[cfg(not(target_os = "linux"))]
fn open_cached(_: &Path, _: OpenFor) -> Option<io::Result<Option<fs::File>>> {
    None
}

/// What [`open_cached`] opens a file for.
#[derive(Debug, Clone, Copy)]
enum OpenFor {
    /// Its metadata only (`O_PATH`).
    Metadata,
    /// Its bytes.
    Reading,
}

/// Adds to `out` the files under `root`/`rel` whose names (relative to `root`) start with
/// `prefix` and sort after `after`, in name order, until it holds `limit`. Entries are
/// visited in the order of their whole names (a directory's as its name and `/`), which
/// is the bytewise order S3 lists keys in; a directory that holds no such name is not
/// entered. Names that are not UTF-8, and the store's own files (`tmp/`, the lock), are
/// skipped.
fn list_under(
    root: &Path,
    rel: &str,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
    out: &mut Vec<Listed>,
) -> io::Result<()> {
    let dir = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if is_missing(&e) => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut children = Vec::new();
    for e in entries {
        let e = e?;
        let Ok(name) = e.file_name().into_string() else {
            continue;
        };
        let is_dir = e.file_type()?.is_dir();
        let whole = match (rel.is_empty(), is_dir) {
            (true, true) => format!("{name}/"),
            (true, false) => name,
            (false, true) => format!("{rel}/{name}/"),
            (false, false) => format!("{rel}/{name}"),
        };
        children.push((whole, is_dir));
    }
    children.sort_unstable();
    for (whole, is_dir) in children {
        if out.len() >= limit {
            return Ok(());
        }
        if is_dir {
            let inside = whole.trim_end_matches('/');
            // Every name inside starts with `whole`: none matches the prefix, or all sort
            // at or before `after`.
            if !(whole.starts_with(prefix) || prefix.starts_with(&whole)) {
                continue;
            }
            if after.is_some_and(|a| a > whole.as_str() && !a.starts_with(&whole)) {
                continue;
            }
            if rel.is_empty() && whole == "tmp/" {
                continue;
            }
            list_under(root, inside, prefix, after, limit, out)?;
        } else if whole.starts_with(prefix)
            && after.is_none_or(|a| whole.as_str() > a)
            && whole != "modgate.lock"
        {
            let meta = fs::metadata(root.join(&whole))?;
            out.push(Listed {
                size: meta.len(),
                modified: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
                name: whole,
            });
        }
    }
    Ok(())
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| io::Error::other(format!("storage task failed: {e}")))?
}

#[async_trait]
impl Blobs for DiskBlobs {
    fn describe(&self) -> String {
        format!("directory {}", self.dir.display())
    }

    async fn get(&self, key: &Key) -> io::Result<Option<Blob>> {
        let path = self.path(key);
        blocking(move || {
            let mut f = match fs::File::open(&path) {
                Ok(f) => f,
                Err(e) if is_missing(&e) => return Ok(None),
                Err(e) => return Err(annotate(e, "reading", &path)),
            };
            let meta = f.metadata().map_err(|e| annotate(e, "reading", &path))?;
            let mut data = Vec::with_capacity(meta.len() as usize);
            f.read_to_end(&mut data)
                .map_err(|e| annotate(e, "reading", &path))?;
            Ok(Some(Blob {
                data: data.into(),
                modified: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
            }))
        })
        .await
    }

    async fn stat(&self, key: &Key) -> io::Result<Option<Stat>> {
        let path = self.path(key);
        let stat = |m: fs::Metadata| Stat {
            size: m.len(),
            modified: m.modified().unwrap_or(std::time::UNIX_EPOCH),
        };
        if let Some(found) = open_cached(&path, OpenFor::Metadata) {
            return match found.and_then(|f| f.map(|f| f.metadata()).transpose()) {
                Ok(m) => Ok(m.map(stat)),
                Err(e) => Err(annotate(e, "reading", &path)),
            };
        }
        match tokio::fs::metadata(&path).await {
            Ok(m) => Ok(Some(stat(m))),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(annotate(e, "reading", &path)),
        }
    }

    async fn put(&self, key: &Key, data: Bytes) -> io::Result<()> {
        let dest = self.path(key);
        let staged = self.staging.file(key.file_name());
        blocking(move || {
            let tmp = staged.path();
            let mut f = fs::File::create_new(tmp).map_err(|e| annotate(e, "creating", tmp))?;
            f.write_all(&data)
                .map_err(|e| annotate(e, "writing", tmp))?;
            drop(f);
            commit(tmp, &dest)?;
            staged.into_path();
            Ok(())
        })
        .await
    }

    async fn put_staged(&self, key: &Key, file: Staged) -> io::Result<()> {
        let dest = self.path(key);
        blocking(move || {
            commit(file.path(), &dest)?;
            file.into_path();
            Ok(())
        })
        .await
    }

    async fn delete(&self, key: &Key) -> io::Result<bool> {
        let path = self.path(key);
        blocking(move || {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if is_missing(&e) => return Ok(false),
                Err(e) => return Err(annotate(e, "removing", &path)),
            }
            // The removal is durable before it is reported.
            if let Some(dir) = path.parent() {
                crate::platform::disk::sync_dir(dir).map_err(|e| annotate(e, "syncing", dir))?;
            }
            Ok(true)
        })
        .await
    }

    async fn read_range(&self, key: &Key, start: u64, len: u64) -> io::Result<Option<ByteStream>> {
        let file = self.local_file(key).await?;
        Ok(file.map(|f| super::file_range::stream(f, start, len, ())))
    }

    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> io::Result<Vec<Listed>> {
        let (dir, prefix, after) = (
            self.dir.clone(),
            prefix.to_string(),
            after.map(String::from),
        );
        blocking(move || {
            let mut out = Vec::new();
            list_under(&dir, "", &prefix, after.as_deref(), limit, &mut out)
                .map_err(|e| annotate(e, "listing", &dir))?;
            Ok(out)
        })
        .await
    }

    async fn local_file(&self, key: &Key) -> io::Result<Option<fs::File>> {
        let path = self.path(key);
        if let Some(found) = open_cached(&path, OpenFor::Reading) {
            return found.map_err(|e| annotate(e, "opening", &path));
        }
        blocking(move || match fs::File::open(&path) {
            Ok(f) => Ok(Some(f)),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(annotate(e, "opening", &path)),
        })
        .await
    }
}

/// Takes the exclusive lock on `<dir>/modgate.lock` and writes this process's id into it.
pub(super) fn lock_dir(dir: &Path) -> io::Result<fs::File> {
    let path = dir.join("modgate.lock");
    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| annotate(e, "opening", &path))?;
    let taken = file_lock::try_lock(&f, file_lock::Mode::Exclusive)
        .map_err(|e| annotate(e, "locking", &path))?;
    if !taken {
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

/// Is `e` "no such file" (including a path component that is a file)?
pub fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    crate::platform::disk::sync_dir(dir).map_err(|e| annotate(e, "syncing", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(d: &Path) -> DiskBlobs {
        DiskBlobs::open(d).unwrap()
    }

    #[test]
    fn a_path_in_the_kernel_s_caches_is_opened_on_the_caller_s_thread() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("a.zip");
        fs::write(&file, b"zip").unwrap();
        let got = open_cached(&file, OpenFor::Reading)
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(std::io::read_to_string(got).unwrap(), "zip");
        let meta = open_cached(&file, OpenFor::Metadata)
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(meta.metadata().unwrap().len(), 3);
        // Missing, under a missing directory, under a file: not there (as `is_missing`),
        // once the kernel has looked the name up (a first lookup of a missing name reads
        // the directory: the pool's).
        for missing in ["b.zip", "x/b.zip"] {
            let path = d.path().join(missing);
            assert!(fs::metadata(&path).is_err());
            let got = open_cached(&path, OpenFor::Reading);
            assert!(matches!(got, Some(Ok(None))), "{missing}: {got:?}");
        }
        // (A kernel may leave a name under a file to the pool, which says missing too.)
        let got = open_cached(&d.path().join("a.zip/b.zip"), OpenFor::Reading);
        assert!(matches!(got, None | Some(Ok(None))), "{got:?}");
        // Any other error is told, not taken for a miss.
        // (A socket cannot be opened: ENXIO.)
        let socket = d.path().join("s");
        let _listening = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let got = open_cached(&socket, OpenFor::Reading);
        assert_eq!(got.unwrap().unwrap_err().raw_os_error(), Some(libc::ENXIO));
    }

    #[tokio::test]
    async fn stat_and_open_answer_the_same_from_the_caches_and_from_the_pool() {
        let d = tempfile::tempdir().unwrap();
        let s = open(d.path());
        let k = Key::zip("example.com/m", "v1.0.0").unwrap();
        assert_eq!(s.stat(&k).await.unwrap(), None);
        assert!(s.local_file(&k).await.unwrap().is_none());
        s.put(&k, Bytes::from_static(b"PK zip")).await.unwrap();
        let stat = s.stat(&k).await.unwrap().unwrap();
        let meta = fs::metadata(s.path(&k)).unwrap();
        assert_eq!((stat.size, stat.modified), (6, meta.modified().unwrap()));
        let f = s.local_file(&k).await.unwrap().unwrap();
        assert_eq!(std::io::read_to_string(f).unwrap(), "PK zip");
    }

    #[test]
    fn one_process_per_data_directory() {
        let d = tempfile::tempdir().unwrap();
        let s = DiskBlobs::open(d.path()).unwrap();
        let err = DiskBlobs::open(d.path()).unwrap_err();
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
        DiskBlobs::open(d.path()).unwrap();
    }

    #[tokio::test]
    async fn objects_are_files_in_the_gomodcache_layout_written_atomically() {
        let d = tempfile::tempdir().unwrap();
        let s = open(d.path());
        let k = Key::go_mod("github.com/Foo/bar", "v1.0.0").unwrap();
        assert_eq!(s.get(&k).await.unwrap(), None);
        assert_eq!(s.stat(&k).await.unwrap(), None);
        s.put(&k, Bytes::from_static(b"module a\n")).await.unwrap();
        s.put(&k, Bytes::from_static(b"module github.com/Foo/bar\n"))
            .await
            .unwrap();
        let file = d
            .path()
            .join("cache/download/github.com/!foo/bar/@v/v1.0.0.mod");
        assert_eq!(fs::read(&file).unwrap(), b"module github.com/Foo/bar\n");
        let got = s.get(&k).await.unwrap().unwrap();
        assert_eq!(&got.data[..], b"module github.com/Foo/bar\n");
        assert!(got.age() < std::time::Duration::from_secs(60));
        assert_eq!(s.stat(&k).await.unwrap().unwrap().size, 26);
        assert_eq!(fs::read_dir(d.path().join("tmp")).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn staged_files_are_committed_and_read_by_range() {
        let d = tempfile::tempdir().unwrap();
        let s = open(d.path());
        let k = Key::zip("example.com/m", "v1.0.0").unwrap();
        let f = s.staging().file("v1.0.0.zip");
        fs::write(f.path(), b"0123456789").unwrap();
        s.put_staged(&k, f).await.unwrap();
        assert_eq!(fs::read_dir(d.path().join("tmp")).unwrap().count(), 0);
        let part = crate::storage::contract::range(&s, &k, 3, 4).await;
        assert_eq!(part.as_deref(), Some(&b"3456"[..]));
        let missing = Key::zip("example.com/m", "v2.0.0").unwrap();
        assert!(s.read_range(&missing, 0, 1).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_failed_commit_leaves_no_staged_file() {
        let d = tempfile::tempdir().unwrap();
        let s = open(d.path());
        // A file where the module's directory would go: the rename cannot happen.
        fs::create_dir_all(d.path().join("cache/download/example.com")).unwrap();
        fs::write(d.path().join("cache/download/example.com/m"), b"").unwrap();
        let k = Key::go_mod("example.com/m", "v1.0.0").unwrap();
        let err = s.put(&k, Bytes::from_static(b"x")).await.unwrap_err();
        assert!(err.to_string().starts_with("creating "), "{err}");
        assert_eq!(fs::read_dir(d.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn files_left_by_a_killed_write_are_never_served_and_removed_at_open() {
        let d = tempfile::tempdir().unwrap();
        let s = open(d.path());
        // A write killed after the staged file was written but before the rename.
        let kept = s.staging().file("v1.0.0.zip").into_path();
        fs::write(&kept, b"half a zip").unwrap();
        let k = Key::zip("example.com/m", "v1.0.0").unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert_eq!(rt.block_on(s.get(&k)).unwrap(), None);
        drop(s);
        let s = open(d.path());
        assert!(!kept.exists());
        assert_eq!(fs::read_dir(d.path().join("tmp")).unwrap().count(), 0);
        assert_eq!(rt.block_on(s.get(&k)).unwrap(), None);
    }
}
