//! The store: where what the sources gave is kept, behind one seam.
//!
//! - [`Key`] (`key.rs`): what is stored, typed (info / mod / zip / ziphash / list /
//!   latest / checksum database file), with the escaping inside. No caller builds a
//!   storage path.
//! - [`Blobs`] (`blob.rs`): the backend's interface: get, stat, put of a complete object,
//!   put of a staged file, read of a range. [`DiskBlobs`] (`disk.rs`) is the data
//!   directory in the GOMODCACHE layout, locked by `modgate.lock`.
//! - [`Staging`] (`staging.rs`): the local area where files are fetched and checked
//!   before they are stored.
//! - [`Hot`] (`memory.rs`): the in-memory copy of small immutable objects, wrapping any
//!   backend.
//! - [`Locks`] (`lock.rs`): single-flight locks; [`LocalLocks`] within one process.
//! - [`Ledger`] (`evict.rs`): the sizes and last uses of what is kept on the local disk
//!   (a directory store, the git clones), and least-recently-used eviction under
//!   `[cache] max_bytes`.
//!
//! [`Store`] puts them together; the cache, the checksum database proxy and verifier, and
//! the HTTP layer use only it.

mod aws_profile;
mod blob;
pub mod catalog;
#[cfg(test)]
mod contract;
mod disk;
mod evict;
pub mod file_range;
mod health;
mod key;
mod lock;
mod memory;
pub mod page_cache;
mod readers;
mod s3;
mod staging;

pub use blob::{Blob, Blobs, ByteStream, Listed, Stat};
pub use disk::{DiskBlobs, is_missing};
pub use evict::{Evicted, InUse, Ledger, Reservation, SizeError, SizeProblem, parse_size};
pub use file_range::FileSpan;
pub use health::{Health, is_unavailable, or_miss, or_skipped};
pub use key::{Key, KeyError, Kind, is_sha256_hex, is_tag_name};
pub use lock::{Held, Lease, LocalLocks, Locks};
pub use memory::Hot;
pub use readers::{Reader, Readers};
pub use s3::{S3Blobs, S3Error, S3Settings, S3Url, Secret};
pub use staging::{Staged, Staging};

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::TryStreamExt;
use tokio::io::AsyncWriteExt;

/// Below this many free bytes on the local disk, `/readyz` says not ready.
pub const MIN_FREE_BYTES: u64 = 16 << 20;

/// How long `/readyz` waits for the storage.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether a store can serve (`/readyz`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// It answers.
    Ready,
    /// A remote storage does not answer (why): the replica still serves from upstreams.
    Degraded(String),
    /// It cannot serve (why): the local disk under its floor, or a local store that
    /// does not answer.
    NotReady(String),
}

/// The store: a backend with its memory, a staging area and single-flight locks.
pub struct Store {
    blobs: Hot,
    staging: Arc<Staging>,
    locks: Arc<dyn Locks>,
    /// The lock on the local data directory (`modgate.lock`: its staging area and git
    /// clones) when the objects are elsewhere.
    _local: Option<std::fs::File>,
    /// The directory the objects are in, when they are in one.
    root: Option<PathBuf>,
    /// The size ledger of the local disk, if any.
    ledger: Option<Arc<Ledger>>,
    /// Whether the ledger counts the objects (they are in a directory); else it counts
    /// only the git clones, and is here to make room on the local disk when it is full.
    counted: bool,
    /// A remote storage's health (`None`: a local directory).
    health: Option<Arc<Health>>,
    /// The versions being read for clients now.
    readers: Arc<Readers>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.blobs.describe())
    }
}

impl Store {
    /// The data directory `dir` (created if needed, locked for this process; what a killed
    /// process left in its staging area is removed).
    pub fn open_dir(dir: &Path) -> io::Result<Store> {
        let disk = DiskBlobs::open(dir)?;
        let staging = Arc::clone(disk.staging());
        let mut store = Store::new(Box::new(disk), staging, Arc::new(LocalLocks::default()));
        store.root = Some(dir.to_path_buf());
        Ok(store)
    }

    /// The objects in S3-compatible storage at `url` (settings from the AWS environment),
    /// with the local data directory `dir` for staging (locked for this process: several
    /// replicas share the bucket, each with its own directory).
    pub fn open_s3(dir: &Path, url: S3Url, settings: &S3Settings) -> Result<Store, S3Error> {
        let local = || -> io::Result<(std::fs::File, Staging)> {
            std::fs::create_dir_all(dir).map_err(|e| annotate(e, "creating", dir))?;
            let lock = disk::lock_dir(dir)?;
            Ok((lock, Staging::open(&dir.join("tmp"))?))
        };
        let (lock, staging) = local()?;
        let blobs = S3Blobs::open(url, settings, &|k| std::env::var(k).ok())?;
        let health = Arc::new(Health::default());
        let mut store = Store::new(
            Box::new(health::Guarded::new(Box::new(blobs), Arc::clone(&health))),
            Arc::new(staging),
            Arc::new(LocalLocks::default()),
        );
        store._local = Some(lock);
        store.health = Some(health);
        Ok(store)
    }

    /// A store on `blobs`, staging files in `staging`, locking with `locks`.
    pub fn new(blobs: Box<dyn Blobs>, staging: Arc<Staging>, locks: Arc<dyn Locks>) -> Store {
        Store {
            blobs: Hot::new(blobs),
            staging,
            locks,
            _local: None,
            root: None,
            ledger: None,
            counted: false,
            health: None,
            readers: Arc::new(Readers::default()),
        }
    }

    /// Whether the objects are in a remote storage (which may stop answering while
    /// modgate goes on: see `health.rs`).
    pub fn is_remote(&self) -> bool {
        self.health.is_some()
    }

    /// The directory the objects are in (`open_dir`), if they are in one.
    pub fn local_root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// Counts the objects in `ledger` from now on, when it was made for this store's
    /// directory, and drops the in-memory copies of the versions it evicts; a ledger of
    /// the git clones only (objects not in a directory) is used to make room after a
    /// full local disk (staging).
    pub fn set_ledger(&mut self, ledger: Arc<Ledger>) {
        self.counted = ledger.tracks_store();
        if !self.counted {
            self.ledger = Some(ledger);
            return;
        }
        let forget = self.blobs.forgetter();
        ledger.on_evicted(Box::new(move |id| {
            for kind in [Kind::ZipHash, Kind::Zip, Kind::Info, Kind::Mod] {
                forget(&Key::of_version(id, kind));
            }
            if let Some(k) = Key::fetched_of_version(id) {
                forget(&k);
            }
        }));
        self.ledger = Some(ledger);
    }

    /// The bound on the local disk's use (`[cache] max_bytes`), if any.
    pub fn max_bytes(&self) -> Option<u64> {
        self.ledger.as_ref().and_then(|l| l.max_bytes())
    }

    /// The bytes and entries (module versions, git clones) kept on the local disk, once
    /// the start-up scan has counted them; `None` when the objects are not in a directory
    /// (S3-compatible storage) or before that.
    pub fn usage(&self) -> Option<(u64, u64)> {
        self.counting()?.usage()
    }

    /// The ledger, when it counts the objects.
    fn counting(&self) -> Option<&Arc<Ledger>> {
        self.ledger.as_ref().filter(|_| self.counted)
    }

    /// Holds the version of `key` in use until the guard is dropped: taken by a request
    /// before it looks the version up, so that what it is about to serve stays (not
    /// evicted, not purged). `None` for keys that are not a version's file.
    pub fn in_use(&self, key: &Key) -> Option<Reader> {
        let id = key.version_id()?;
        let kept = self.counting().and_then(|l| l.in_use(key));
        Some(self.readers.read(id, kept))
    }

    /// Whether the version of `key` is being read for a client now.
    pub fn reading(&self, key: &Key) -> bool {
        key.version_id().is_some_and(|id| self.readers.busy(id))
    }

    /// Removes the object `key` (forgotten by the in-memory copy and the ledger); whether
    /// there was one.
    pub async fn delete(&self, key: &Key) -> io::Result<bool> {
        let gone = self.blobs.delete(key).await?;
        if let Some(l) = self.counting() {
            l.record(key, None);
        }
        Ok(gone)
    }

    /// After a write to the local disk failed with a full disk: evicts least recently
    /// used entries (when bounded: versions of a directory store, git clones); true when
    /// anything was freed, so that the write may be tried once more.
    pub async fn free_after_full(&self) -> bool {
        match &self.ledger {
            Some(l) => l.free_after_full(0).await > 0,
            None => false,
        }
    }

    fn touch(&self, key: &Key) {
        if let Some(l) = self.counting() {
            l.touch(key);
        }
    }

    /// The objects whose names start with `prefix`, in name order, after `after`, at
    /// most `limit`: names, sizes and times.
    pub async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> io::Result<Vec<Listed>> {
        self.blobs.list(prefix, after, limit).await
    }

    /// Where the objects are, for logs and errors.
    pub fn describe(&self) -> String {
        self.blobs.describe()
    }

    /// The object `key`, or `None`.
    pub async fn get(&self, key: &Key) -> io::Result<Option<Blob>> {
        let got = self.blobs.get(key).await?;
        if got.is_some() {
            self.touch(key);
        }
        Ok(got)
    }

    /// The object `key` if `valid` accepts it when first read (see [`Hot::get_checked`]).
    pub async fn get_checked(
        &self,
        key: &Key,
        valid: impl FnOnce(&[u8]) -> bool + Send,
    ) -> io::Result<Option<Blob>> {
        let got = self.blobs.get_checked(key, valid).await?;
        if got.is_some() {
            self.touch(key);
        }
        Ok(got)
    }

    /// The size and time of the object `key`, or `None`.
    pub async fn stat(&self, key: &Key) -> io::Result<Option<Stat>> {
        let got = self.blobs.stat(key).await?;
        if got.is_some() {
            self.touch(key);
        }
        Ok(got)
    }

    /// Stores `data` as the object `key`, whole or not at all. With a bound, least
    /// recently used entries are evicted first when it would be exceeded, and when the
    /// disk is full (then the write is tried once more).
    pub async fn put(&self, key: &Key, data: Bytes) -> io::Result<()> {
        let len = data.len() as u64;
        // A fetch's record is not counted: a few dozen bytes beside its version's files,
        // removed with them; nor are bundles and their names (not module files: see
        // `Kind::Bundle`).
        let counting = self.counting().filter(|_| counted(key));
        let Some(ledger) = counting else {
            self.blobs.put(key, data).await?;
            written(key, len);
            return Ok(());
        };
        let _use = ledger.in_use(key);
        let _room = ledger.reserve(len).await;
        let mut r = self.blobs.put(key, data.clone()).await;
        if let Err(e) = &r
            && crate::error::is_full(e)
            && ledger.free_after_full(len).await > 0
        {
            r = self.blobs.put(key, data).await;
        }
        if r.is_ok() {
            ledger.record(key, Some(len));
            written(key, len);
        }
        r
    }

    /// The local directory of the staging area (on the data directory's disk).
    pub fn staging_dir(&self) -> &Path {
        self.staging.dir()
    }

    /// A new file in the staging area, for a fetch to write to.
    pub fn stage(&self, hint: &str) -> Staged {
        self.staging.file(hint)
    }

    /// Stores the complete staged file as the object `key` (with a bound: as
    /// [`Store::put`]).
    pub async fn put_staged(&self, key: &Key, file: Staged) -> io::Result<()> {
        let Some(ledger) = self.counting().filter(|_| counted(key)) else {
            let n = tokio::fs::metadata(file.path())
                .await
                .map_or(0, |m| m.len());
            self.blobs.put_staged(key, file).await?;
            written(key, n);
            return Ok(());
        };
        let len = match tokio::fs::metadata(file.path()).await {
            Ok(m) => m.len(),
            // Missing: the backend says so.
            Err(_) => return self.blobs.put_staged(key, file).await,
        };
        let _use = ledger.in_use(key);
        let _room = ledger.reserve(len).await;
        // A second name for the file, to try again with after a full disk (the backend
        // consumes the first either way); removed when dropped.
        let spare = self.staging.file(key.file_name());
        let spare = tokio::fs::hard_link(file.path(), spare.path())
            .await
            .is_ok()
            .then_some(spare);
        let mut r = self.blobs.put_staged(key, file).await;
        if let (Err(e), Some(spare)) = (&r, spare)
            && crate::error::is_full(e)
            && ledger.free_after_full(len).await > 0
        {
            r = self.blobs.put_staged(key, spare).await;
        }
        if r.is_ok() {
            ledger.record(key, Some(len));
            written(key, len);
        }
        r
    }

    /// A URL the client may read the object `key` from itself, when the backend hands
    /// them out (S3 with `[s3] redirect_zips`).
    pub async fn presign(&self, key: &Key) -> io::Result<Option<String>> {
        self.blobs.presign(key).await
    }

    /// `len` bytes of the object `key` from `start` on, or `None`.
    pub async fn read_range(
        &self,
        key: &Key,
        start: u64,
        len: u64,
    ) -> io::Result<Option<ByteStream>> {
        // Held until the stream is dropped (the whole response, for a zip being served):
        // the version is not evicted while it is read.
        let held = self.in_use(key);
        let Some(stream) = self.blobs.read_range(key, start, len).await? else {
            return Ok(None);
        };
        Ok(Some(match held {
            Some(held) => Box::pin(Holding {
                stream,
                _held: held,
            }),
            None => stream,
        }))
    }

    /// `len` bytes of the object `key` from `start` on as a span of a local file (which a
    /// connection may send straight from the file), when the storage keeps files; `None`
    /// otherwise, or when there is no such object. The span holds the version in use.
    pub async fn file_span(&self, key: &Key, start: u64, len: u64) -> io::Result<Option<FileSpan>> {
        let held = self.in_use(key);
        let Some(file) = self.blobs.local_file(key).await? else {
            return Ok(None);
        };
        Ok(Some(FileSpan::new(file, start, len, held)))
    }

    /// A copy of the object `key` in the staging area (for work that needs a local file,
    /// such as hashing a zip), or `None`.
    pub async fn stage_copy(&self, key: &Key) -> io::Result<Option<Staged>> {
        let Some(stat) = self.stat(key).await? else {
            return Ok(None);
        };
        let Some(mut stream) = self.read_range(key, 0, stat.size).await? else {
            return Ok(None);
        };
        let staged = self.stage(key.file_name());
        let mut f = tokio::fs::File::create_new(staged.path())
            .await
            .map_err(|e| annotate(e, "creating", staged.path()))?;
        while let Some(chunk) = stream.try_next().await? {
            f.write_all(&chunk)
                .await
                .map_err(|e| annotate(e, "writing", staged.path()))?;
        }
        f.flush()
            .await
            .map_err(|e| annotate(e, "writing", staged.path()))?;
        Ok(Some(staged))
    }

    /// Whether the storage answers: a lookup of an object that is never stored, bounded
    /// to 5 s (a hung mount is not ready). A remote storage that does not answer is
    /// [`Readiness::Degraded`], as modules are still answered from the upstreams.
    pub async fn ready(&self) -> Readiness {
        // The local disk (staging, and the store itself for a directory): below the
        // floor, a fetch would fail with a full disk.
        if let Ok(st) = crate::platform::disk::space(self.staging.dir()) {
            let free = st.avail;
            if free < MIN_FREE_BYTES {
                return Readiness::NotReady(format!(
                    "{} has {free} bytes free, under the floor of {MIN_FREE_BYTES}: fetches would fail with a full disk (what is stored is still served)",
                    self.staging.dir().display()
                ));
            }
        }
        let probe = match Key::list("modgate.readyz/probe") {
            Ok(k) => k,
            Err(e) => return Readiness::NotReady(e.to_string()),
        };
        let why = match tokio::time::timeout(READY_WITHIN, self.blobs.stat(&probe)).await {
            Ok(Ok(_)) => return Readiness::Ready,
            Ok(Err(e)) => format!("the storage ({}) fails: {e}", self.describe()),
            Err(_) => format!(
                "the storage ({}) did not answer within {}s",
                self.describe(),
                READY_WITHIN.as_secs()
            ),
        };
        match self.is_remote() {
            true => Readiness::Degraded(why),
            false => Readiness::NotReady(why),
        }
    }

    /// Takes the single-flight locks from `locks` from now on (a shared lock for several
    /// replicas, set at start-up).
    pub fn set_locks(&mut self, locks: Arc<dyn Locks>) {
        self.locks = locks;
    }

    /// Waits until this caller holds the single-flight lock `name`.
    pub async fn lock(&self, name: &str) -> io::Result<Held> {
        self.locks.lock(name).await
    }
}

/// Whether the ledger counts `key` under `max_bytes`: module files and checksum
/// database files; not a fetch's record, nor bundles made on request and their names
/// (kept outside the module tree, `modgate/`, which the eviction scan does not walk).
fn counted(key: &Key) -> bool {
    !matches!(key.kind(), Kind::Fetched | Kind::Bundle | Kind::BundleName)
}

/// Records a write of `n` bytes as `key` in the metrics.
fn written(key: &Key, n: u64) {
    let kind = crate::metrics::StoreKind {
        kind: key.kind().label(),
    };
    let m = crate::metrics::metrics();
    m.store_writes.get_or_create(&kind).inc();
    m.store_written_bytes.get_or_create(&kind).inc_by(n);
}

/// A stream that holds its version in use until it is dropped.
struct Holding {
    stream: ByteStream,
    _held: Reader,
}

impl futures_util::Stream for Holding {
    type Item = io::Result<Bytes>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.get_mut().stream.as_mut().poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

/// `e` with what was done and on which file.
pub(crate) fn annotate(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}
