//! The size ledger of what modgate keeps on the local disk, and its least-recently-used
//! eviction under `[cache] max_bytes`.
//!
//! What is counted: the directory store's files (when the objects are in a directory: the
//! data directory or another `--storage` directory) and the `direct` source's bare clones
//! under `<data-dir>/git`. With S3-compatible storage the bucket's lifecycle rules bound
//! the objects, and the ledger counts the clones only. The staging area (`tmp/`) is not
//! counted: what is there is being fetched, and is removed or stored when that ends.
//!
//! An entry is what is evicted whole: one module version's files (`.ziphash`, `.zip`,
//! `.info`, `.mod`) or one git clone directory. Other files (`@v/list`, `@latest`, the
//! checksum database's files and the verifier's state) count as bytes but are never
//! evicted: they are tiny, and the verifier's trusted tree head must stay.
//!
//! - Sizes are learnt once at start-up by a scan of the directories, on a blocking thread
//!   while the server already serves ([`Ledger::spawn_scan`]), then kept up to date by
//!   every write. Until the scan is done nothing is evicted for the bound (the total is
//!   not known yet); a full disk waits for it.
//! - Last use is kept in memory (a file's atime is unreliable under relatime/noatime):
//!   seeded from the newest mtime of an entry's files at the scan, updated on every hit
//!   of the store (get, stat, read of a range) and on every use of a clone.
//! - An entry in use is never evicted: an [`InUse`] guard is held while a zip is streamed
//!   (the store's `read_range` stream holds one), while a request is about to serve a
//!   version, while a version is written, and while a git source call works on a clone.
//! - When a write would bring the total over `max_bytes` ([`Ledger::reserve`]), or failed
//!   with a full disk ([`Ledger::free_after_full`]), least recently used entries are
//!   removed until the total is under 90% of `max_bytes` (hysteresis: not a round per
//!   write), and the failed write is tried once more by its caller.
//! - Removal is atomic per entry for what is served: a version's `.ziphash` goes first
//!   (the cache serves a zip only while its `.ziphash` exists, see the cache's
//!   `stored_zip`), then the `.zip`, then `.info` and `.mod`; a removal that fails stops
//!   there. A clone is renamed to a trash name in its directory (so that no git command
//!   sees half a clone), then removed. Removal happens under the ledger's lock, which
//!   [`InUse`] guards also take: a guard is either taken before (and the entry is kept)
//!   or after (and finds nothing, so the version is fetched again).
//! - Evicted versions are dropped from the store's in-memory copies ([`super::Hot`]).
//!   The HTTP layer's hot answers (`http/hot_answers.rs`, `.info`/`.mod` answers by request path)
//!   are left as they are: they are the same immutable bytes the upstream serves for good,
//!   checked once, and bounded by their own memory (16 MiB, least recently used out);
//!   serving them after the files left the disk is as correct as before, and costs no
//!   disk. A request for the zip finds it gone and fetches it again.
//! - One log line per eviction round: how many entries and bytes, and the new total.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::key::{Key, Kind};

/// After an eviction round the total is at most this share of `max_bytes` (percent).
const LOW_WATER_PERCENT: u64 = 90;

/// A version's file extensions in the order they are removed: the `.ziphash` before the
/// `.zip` (a zip without its hash is never served), `.info` and `.mod` last. The index is
/// the slot of the file in [`Entry::files`].
pub(crate) const REMOVAL_ORDER: [&str; 4] = ["ziphash", "zip", "info", "mod"];

/// The slot of a version file of `kind`.
fn slot(kind: Kind) -> Option<usize> {
    match kind {
        Kind::ZipHash => Some(0),
        Kind::Zip => Some(1),
        Kind::Info => Some(2),
        Kind::Mod => Some(3),
        _ => None,
    }
}

/// The version entry of `key` (its name without the extension) and the file's slot, for
/// the four files of a version.
fn version_of(key: &Key) -> Option<(&str, usize)> {
    Some((key.version_id()?, slot(key.kind())?))
}

/// The version entry and slot of a file found by the scan (`rel`: its path under the
/// store's root, `/`-separated), when it is one of a version's four files.
fn classify(rel: &str) -> Option<(&str, usize)> {
    let key = Key::parse(rel)?;
    let (id, slot) = version_of(&key)?;
    Some((&rel[..id.len()], slot))
}

/// Whether `name` is a clone's directory name (the SHA-256 of its URL, in hex).
fn is_clone_name(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What is evicted whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Class {
    /// One module version's files.
    Version,
    /// One git clone.
    Clone,
}

/// One entry: the sizes of its files, its last use, its guards.
#[derive(Debug, Default)]
struct Entry {
    /// A version's file sizes by slot ([`REMOVAL_ORDER`]); a clone's size in slot 0.
    files: [Option<u64>; 4],
    /// When it was last used (nanoseconds since the epoch, strictly increasing in memory).
    last_use: u64,
    /// How many [`InUse`] guards are held on it.
    in_use: u32,
}

impl Entry {
    fn stored(&self) -> bool {
        self.files.iter().any(Option::is_some)
    }
}

#[derive(Debug, Default)]
struct State {
    versions: HashMap<String, Entry>,
    clones: HashMap<String, Entry>,
    /// Files counted but never evicted (lists, `@latest`, checksum database files), by name.
    fixed: HashMap<String, u64>,
    /// Bytes of everything counted.
    total: u64,
    /// Entries that have files.
    count: u64,
    /// Bytes of writes under way (reserved, not recorded yet).
    pending: u64,
    /// The last time given out by [`State::tick`].
    clock: u64,
    /// Whether the start-up scan is done (before it, the total is not known).
    scanned: bool,
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().min(u64::MAX as u128) as u64)
}

impl State {
    fn map(&mut self, class: Class) -> &mut HashMap<String, Entry> {
        match class {
            Class::Version => &mut self.versions,
            Class::Clone => &mut self.clones,
        }
    }

    /// Now, for a last use: never the same value twice, so the order of uses is exact.
    fn tick(&mut self) -> u64 {
        self.clock = nanos(SystemTime::now()).max(self.clock + 1);
        self.clock
    }

    /// Sets the size of one file of an entry (`None`: gone), keeping the totals; an entry
    /// left with no file and no guard is forgotten.
    fn set_file(&mut self, class: Class, name: &str, slot: usize, size: Option<u64>) {
        let map = self.map(class);
        if size.is_none() && !map.contains_key(name) {
            return;
        }
        let e = map.entry(name.to_string()).or_default();
        let was = e.stored();
        let old = std::mem::replace(&mut e.files[slot], size);
        let now = e.stored();
        let forget = !now && e.in_use == 0;
        if forget {
            map.remove(name);
        }
        self.total = self.total - old.unwrap_or(0) + size.unwrap_or(0);
        match (was, now) {
            (false, true) => self.count += 1,
            (true, false) => self.count -= 1,
            _ => {}
        }
    }

    fn set_fixed(&mut self, name: &str, size: u64) {
        let old = self.fixed.insert(name.to_string(), size).unwrap_or(0);
        self.total = self.total - old + size;
    }

    /// Marks an entry used now; before the scan an unknown entry is remembered (the scan
    /// fills in its files), after it only known entries are.
    fn touch(&mut self, class: Class, name: &str) {
        let t = self.tick();
        let scanned = self.scanned;
        let map = self.map(class);
        match map.get_mut(name) {
            Some(e) => e.last_use = t,
            None if !scanned => {
                map.insert(
                    name.to_string(),
                    Entry {
                        last_use: t,
                        ..Entry::default()
                    },
                );
            }
            None => {}
        }
    }
}

/// Bytes and counts of one eviction round.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Evicted {
    /// Entries removed whole.
    pub entries: u64,
    /// Bytes freed.
    pub bytes: u64,
}

/// What is told the id of each evicted version.
pub(super) type EvictedHook = Box<dyn Fn(&str) + Send + Sync>;

/// What the start-up scan found on the local disk.
#[derive(Default)]
struct Scanned {
    /// A version's files by slot (their sizes) and its newest modification time.
    versions: HashMap<String, ([Option<u64>; 4], u64)>,
    /// Files outside versions (checksum database files, lists) and their sizes.
    fixed: HashMap<String, u64>,
    /// Git clones: their size and newest modification time.
    clones: HashMap<String, (u64, u64)>,
}

/// The ledger: sizes and last uses of what is kept locally, and eviction. Shared by the
/// store and the git source.
pub struct Ledger {
    max_bytes: Option<u64>,
    /// The directory store's root, when the objects are in a directory.
    store_root: Option<PathBuf>,
    /// The directory of the git clones (`<data-dir>/git`).
    git_root: Option<PathBuf>,
    state: Mutex<State>,
    /// One eviction round at a time.
    round: Mutex<()>,
    scanned: tokio::sync::watch::Sender<bool>,
    /// Whether a scan was started (else nothing waits for one).
    scan_started: std::sync::atomic::AtomicBool,
    /// Told the id of every evicted version (the store drops its in-memory copies).
    evicted_hook: OnceLock<EvictedHook>,
    trash_seq: AtomicU64,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("max_bytes", &self.max_bytes)
            .field("store_root", &self.store_root)
            .field("git_root", &self.git_root)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the bound allows after a round: 90% of `max`.
fn low_water(max: u64) -> u64 {
    max / 100 * LOW_WATER_PERCENT + max % 100 * LOW_WATER_PERCENT / 100
}

impl Ledger {
    /// A ledger of the directory store at `store_root` (if the objects are in a directory)
    /// and the clones under `git_root`, evicting above `max_bytes` (`None`: counts only).
    pub fn new(
        max_bytes: Option<u64>,
        store_root: Option<PathBuf>,
        git_root: Option<PathBuf>,
    ) -> Arc<Ledger> {
        Arc::new(Ledger {
            max_bytes,
            store_root,
            git_root,
            state: Mutex::new(State::default()),
            round: Mutex::new(()),
            scanned: tokio::sync::watch::Sender::new(false),
            scan_started: std::sync::atomic::AtomicBool::new(false),
            evicted_hook: OnceLock::new(),
            trash_seq: AtomicU64::new(0),
        })
    }

    /// The bound, if any.
    pub fn max_bytes(&self) -> Option<u64> {
        self.max_bytes
    }

    /// Whether the store's objects are counted (they are in a directory).
    pub fn tracks_store(&self) -> bool {
        self.store_root.is_some()
    }

    /// Bytes and entries (versions and clones) counted, once the start-up scan is done.
    pub fn usage(&self) -> Option<(u64, u64)> {
        let st = lock(&self.state);
        st.scanned.then_some((st.total, st.count))
    }

    /// Calls `hook` with the id of each evicted version (set once).
    pub(super) fn on_evicted(&self, hook: EvictedHook) {
        let _ = self.evicted_hook.set(hook);
    }

    /// Scans the directories in the background (a blocking thread); the server does not
    /// wait for it.
    pub fn spawn_scan(self: &Arc<Self>) {
        self.scan_started.store(true, Ordering::Relaxed);
        let me = Arc::clone(self);
        tokio::task::spawn_blocking(move || me.scan());
    }

    /// Scans the directories (blocking): each entry's size and newest mtime; merges what
    /// writes recorded meanwhile (theirs is newer); then evicts if over the bound.
    pub fn scan(&self) {
        self.scan_started.store(true, Ordering::Relaxed);
        let started = Instant::now();
        let mut found = Scanned::default();
        self.scan_store(&mut found);
        self.scan_clones(&mut found);
        let (total, count) = self.learn(found);
        self.scanned.send_replace(true);
        tracing::info!(
            bytes = total,
            entries = count,
            ms = started.elapsed().as_millis() as u64,
            "local storage scanned: {total} bytes in {count} entries{}",
            match self.max_bytes {
                Some(m) => format!(" (max_bytes {m})"),
                None => " (no max_bytes: nothing is evicted)".to_string(),
            }
        );
        if let Some(max) = self.max_bytes
            && total > max
        {
            self.evict_to(low_water(max), "over max_bytes at start-up");
        }
    }

    /// The directory store's versions and fixed files, into `found`.
    fn scan_store(&self, found: &mut Scanned) {
        let Some(root) = &self.store_root else {
            return;
        };
        for top in ["cache/download", "sumdb"] {
            walk(
                &root.join(top),
                top,
                &mut |rel, size, mtime| match classify(rel) {
                    Some((id, slot)) => {
                        let v = found.versions.entry(id.to_string()).or_default();
                        v.0[slot] = Some(size);
                        v.1 = v.1.max(mtime);
                    }
                    None => {
                        found.fixed.insert(rel.to_string(), size);
                    }
                },
            );
        }
    }

    /// The git clones, into `found`; the leftovers of an interrupted removal removed.
    fn scan_clones(&self, found: &mut Scanned) {
        let Some(Ok(rd)) = self.git_root.as_ref().map(std::fs::read_dir) else {
            return;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".trash-") {
                // Left by a process killed while removing an evicted clone.
                let _ = std::fs::remove_dir_all(e.path());
                continue;
            }
            if !is_clone_name(&name) || !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let (mut size, mut newest) = (0, 0);
            walk(&e.path(), "", &mut |_, s, m| {
                size += s;
                newest = newest.max(m);
            });
            found.clones.insert(name, (size, newest));
        }
    }

    /// Adds what the scan found to what writes and hits taught meanwhile (those win);
    /// returns the total bytes and entries.
    fn learn(&self, found: Scanned) -> (u64, u64) {
        let mut st = lock(&self.state);
        for (id, (files, mtime)) in found.versions {
            for (slot, size) in files.iter().enumerate() {
                let known = st
                    .versions
                    .get(&id)
                    .is_some_and(|e| e.files[slot].is_some());
                if size.is_some() && !known {
                    st.set_file(Class::Version, &id, slot, *size);
                }
            }
            if let Some(e) = st.versions.get_mut(&id) {
                e.last_use = e.last_use.max(mtime);
            }
        }
        for (name, size) in found.fixed {
            if !st.fixed.contains_key(&name) {
                st.set_fixed(&name, size);
            }
        }
        for (name, (size, mtime)) in found.clones {
            let known = st.clones.get(&name).is_some_and(|e| e.files[0].is_some());
            // A clone removed (too large, disk full) while the scan ran is not there.
            let there = self
                .git_root
                .as_ref()
                .is_some_and(|g| g.join(&name).join("HEAD").exists());
            if !known && there {
                st.set_file(Class::Clone, &name, 0, Some(size));
            }
            if let Some(e) = st.clones.get_mut(&name) {
                e.last_use = e.last_use.max(mtime);
            }
        }
        // Entries touched before the scan whose files it did not find.
        st.versions.retain(|_, e| e.stored() || e.in_use > 0);
        st.clones.retain(|_, e| e.stored() || e.in_use > 0);
        st.scanned = true;
        (st.total, st.count)
    }

    /// Waits until the start-up scan is done (not at all when none was started).
    async fn scan_done(&self) {
        if !self.scan_started.load(Ordering::Relaxed) {
            return;
        }
        let mut rx = self.scanned.subscribe();
        let _ = rx.wait_for(|done| *done).await;
    }

    /// Marks the entry of `key` used now (a hit of the store).
    pub fn touch(&self, key: &Key) {
        if let Some((id, _)) = version_of(key) {
            lock(&self.state).touch(Class::Version, id);
        }
    }

    /// Holds the version of `key` (any of its files) in use until the guard is dropped:
    /// it is not evicted meanwhile. Also a use of it. `None` for keys that are not a
    /// version's.
    pub fn in_use(self: &Arc<Self>, key: &Key) -> Option<InUse> {
        let (id, _) = version_of(key)?;
        Some(self.hold(Class::Version, id))
    }

    fn hold(self: &Arc<Self>, class: Class, name: &str) -> InUse {
        let mut st = lock(&self.state);
        let t = st.tick();
        let e = st.map(class).entry(name.to_string()).or_default();
        e.in_use += 1;
        e.last_use = t;
        InUse {
            ledger: Arc::clone(self),
            class,
            name: name.to_string(),
        }
    }

    /// Records that the object `key` is now `size` bytes (`None`: removed); a write is a
    /// use.
    pub fn record(&self, key: &Key, size: Option<u64>) {
        let mut st = lock(&self.state);
        match version_of(key) {
            Some((id, slot)) => {
                st.set_file(Class::Version, id, slot, size);
                st.touch(Class::Version, id);
            }
            None => match size {
                Some(s) => st.set_fixed(key.name(), s),
                None => {
                    if let Some(old) = st.fixed.remove(key.name()) {
                        st.total -= old;
                    }
                }
            },
        }
    }

    /// Room for `bytes` more: counted as under way until the reservation is dropped (the
    /// write then recorded); when that brings the total over the bound, least recently
    /// used entries not in use are evicted first (on a blocking thread).
    pub async fn reserve(self: &Arc<Self>, bytes: u64) -> Reservation {
        let over = {
            let mut st = lock(&self.state);
            st.pending += bytes;
            st.scanned
                && self
                    .max_bytes
                    .is_some_and(|max| st.total + st.pending > max)
        };
        let r = Reservation {
            ledger: Arc::clone(self),
            bytes,
        };
        if over && let Some(max) = self.max_bytes {
            let me = Arc::clone(self);
            let _ = tokio::task::spawn_blocking(move || {
                me.evict_to(low_water(max), "a write would exceed max_bytes")
            })
            .await;
        }
        r
    }

    /// After a write failed with a full disk: evicts least recently used entries, down to
    /// 90% of the bound or of what is counted, whichever is lower, less `needed` bytes;
    /// returns the bytes freed (0: nothing was, so trying again is useless). Nothing is
    /// evicted without a bound.
    pub async fn free_after_full(self: &Arc<Self>, needed: u64) -> u64 {
        let Some(max) = self.max_bytes else {
            return 0;
        };
        self.scan_done().await;
        let total = lock(&self.state).total;
        let target = low_water(max).min(low_water(total)).saturating_sub(needed);
        let me = Arc::clone(self);
        tokio::task::spawn_blocking(move || me.evict_to(target, "the disk is full"))
            .await
            .map_or(0, |e| e.bytes)
    }

    /// Holds the clone `name` (its directory name under the git root) in use until the
    /// guard is dropped; also a use of it.
    pub fn clone_in_use(self: &Arc<Self>, name: &str) -> InUse {
        self.hold(Class::Clone, name)
    }

    /// Records the clone `name` at `size` bytes (after a fetch), and evicts others when
    /// that brings the total over the bound.
    pub async fn clone_grew(self: &Arc<Self>, name: &str, size: u64) {
        let over = {
            let mut st = lock(&self.state);
            st.set_file(Class::Clone, name, 0, Some(size));
            st.touch(Class::Clone, name);
            st.scanned
                && self
                    .max_bytes
                    .is_some_and(|max| st.total + st.pending > max)
        };
        if over && let Some(max) = self.max_bytes {
            let me = Arc::clone(self);
            let _ = tokio::task::spawn_blocking(move || {
                me.evict_to(
                    low_water(max),
                    "a git fetch brought the total over max_bytes",
                )
            })
            .await;
        }
    }

    /// Records that the clone `name` was removed (by the git source itself).
    pub fn clone_removed(&self, name: &str) {
        lock(&self.state).set_file(Class::Clone, name, 0, None);
    }

    /// Evicts least recently used entries not in use until the total (with the writes
    /// under way) is at most `target`; one log line. Blocking.
    fn evict_to(&self, target: u64, cause: &str) -> Evicted {
        let _round = lock(&self.round);
        let mut candidates: Vec<(u64, Class, String)> = {
            let st = lock(&self.state);
            if st.total + st.pending <= target {
                return Evicted::default();
            }
            let of = |class: Class, map: &HashMap<String, Entry>| {
                map.iter()
                    .filter(|(_, e)| e.in_use == 0 && e.stored())
                    .map(move |(n, e)| (e.last_use, class, n.clone()))
                    .collect::<Vec<_>>()
            };
            let mut c = of(Class::Version, &st.versions);
            c.extend(of(Class::Clone, &st.clones));
            c
        };
        candidates.sort_unstable();
        let mut done = Evicted::default();
        let mut trash = Vec::new();
        let mut versions = Vec::new();
        for (_, class, name) in candidates {
            let mut st = lock(&self.state);
            if st.total + st.pending <= target {
                break;
            }
            let Some(e) = st.map(class).get(&name) else {
                continue;
            };
            if e.in_use > 0 {
                // Taken in use since the candidates were listed.
                continue;
            }
            let files = e.files;
            let before = st.total;
            let whole = match class {
                Class::Version => {
                    let Some(root) = &self.store_root else {
                        continue;
                    };
                    let removed =
                        remove_version(root, &name, &files, &mut |p| std::fs::remove_file(p));
                    for (slot, gone) in removed.iter().enumerate() {
                        if *gone {
                            st.set_file(Class::Version, &name, slot, None);
                        }
                    }
                    let whole = removed.iter().zip(&files).all(|(r, f)| *r || f.is_none());
                    if whole {
                        // The record of its fetch goes with it (not counted).
                        if let Some(k) = Key::fetched_of_version(&name) {
                            let _ = std::fs::remove_file(root.join(k.name()));
                        }
                        versions.push(name.clone());
                    }
                    whole
                }
                Class::Clone => match self.trash_clone(&name) {
                    Ok(t) => {
                        st.set_file(Class::Clone, &name, 0, None);
                        trash.extend(t);
                        true
                    }
                    Err(e) => {
                        tracing::warn!("cannot evict the git clone {name}: {e}");
                        false
                    }
                },
            };
            done.bytes += before - st.total;
            done.entries += u64::from(whole);
        }
        let (total, count, pending) = {
            let st = lock(&self.state);
            (st.total, st.count, st.pending)
        };
        for t in trash {
            if let Err(e) = std::fs::remove_dir_all(&t) {
                tracing::warn!("cannot remove the evicted git clone {}: {e}", t.display());
            }
        }
        if let Some(hook) = self.evicted_hook.get() {
            for v in &versions {
                hook(v);
            }
        }
        let still = if total + pending > target {
            " (still over: the rest is in use or never evicted)"
        } else {
            ""
        };
        let m = crate::metrics::metrics();
        m.evictions.inc();
        m.evicted_entries.inc_by(done.entries);
        m.evicted_bytes.inc_by(done.bytes);
        tracing::info!(
            entries = done.entries,
            bytes = done.bytes,
            total,
            "evicted {} least recently used entries ({} bytes): {cause}; now {total} bytes in {count} entries{still}",
            done.entries,
            done.bytes,
        );
        done
    }

    /// Renames the clone `name` to a trash name in the same directory (no git command can
    /// see it half removed); its new path, or `None` when it was already gone.
    fn trash_clone(&self, name: &str) -> io::Result<Option<PathBuf>> {
        let Some(git) = &self.git_root else {
            return Ok(None);
        };
        let trash = git.join(format!(
            ".trash-{name}-{}-{}",
            std::process::id(),
            self.trash_seq.fetch_add(1, Ordering::Relaxed)
        ));
        match std::fs::rename(git.join(name), &trash) {
            Ok(()) => Ok(Some(trash)),
            Err(e) if super::is_missing(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Removes the files of the version `id` under `root` that `files` says exist, in
/// [`REMOVAL_ORDER`], with `remove`; a removal that fails (other than "already gone")
/// stops there (a `.ziphash` that stays keeps its zip, `.info` and `.mod` whole).
/// Returns which slots are gone.
fn remove_version(
    root: &Path,
    id: &str,
    files: &[Option<u64>; 4],
    remove: &mut dyn FnMut(&Path) -> io::Result<()>,
) -> [bool; 4] {
    let mut gone = [false; 4];
    for (slot, ext) in REMOVAL_ORDER.iter().enumerate() {
        if files[slot].is_none() {
            continue;
        }
        let path = root.join(format!("{id}.{ext}"));
        match remove(&path) {
            Ok(()) => gone[slot] = true,
            Err(e) if super::is_missing(&e) => gone[slot] = true,
            Err(e) => {
                tracing::warn!("cannot evict {}: {e}", path.display());
                break;
            }
        }
    }
    gone
}

/// Calls `f(rel, size, mtime)` for every regular file under `dir` (`rel`: `prefix/...`,
/// `/`-separated); symbolic links are not followed; what cannot be read is skipped.
fn walk(dir: &Path, prefix: &str, f: &mut dyn FnMut(&str, u64, u64)) {
    let mut stack = vec![(dir.to_path_buf(), prefix.to_string())];
    while let Some((d, rel)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(md) = e.metadata() else { continue };
            let name = e.file_name();
            let name = name.to_string_lossy();
            let r = if rel.is_empty() {
                name.into_owned()
            } else {
                format!("{rel}/{name}")
            };
            if md.is_dir() {
                stack.push((e.path(), r));
            } else if md.is_file() {
                f(&r, md.len(), md.modified().map_or(0, nanos));
            }
        }
    }
}

/// A guard: the entry is not evicted while it is held.
pub struct InUse {
    ledger: Arc<Ledger>,
    class: Class,
    name: String,
}

impl std::fmt::Debug for InUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InUse({:?} {})", self.class, self.name)
    }
}

impl Drop for InUse {
    fn drop(&mut self) {
        let mut st = lock(&self.ledger.state);
        let map = st.map(self.class);
        if let Some(e) = map.get_mut(&self.name) {
            e.in_use = e.in_use.saturating_sub(1);
            if e.in_use == 0 && !e.stored() {
                map.remove(&self.name);
            }
        }
    }
}

/// Bytes of a write under way, counted until dropped.
pub struct Reservation {
    ledger: Arc<Ledger>,
    bytes: u64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut st = lock(&self.ledger.state);
        st.pending = st.pending.saturating_sub(self.bytes);
    }
}

/// Parses a size in bytes: digits with an optional unit, `B`, `kB`/`KB`, `MB`, `GB`,
/// `TB` (powers of 1000) or `KiB`, `MiB`, `GiB`, `TiB` (powers of 1024), case not
/// minded, a fraction allowed with a unit (`1.5GiB`); more than 0.
pub fn parse_size(s: &str) -> Result<u64, SizeError> {
    let err = |why| SizeError {
        text: s.to_string(),
        why,
    };
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = (&t[..split], t[split..].trim());
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "ki" | "kib" => 1 << 10,
        "mi" | "mib" => 1 << 20,
        "gi" | "gib" => 1 << 30,
        "ti" | "tib" => 1 << 40,
        _ => {
            return Err(err(SizeProblem::Unit(unit.to_string())));
        }
    };
    let bad = || err(SizeProblem::NotASize);
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() || frac.contains('.') {
        return Err(bad());
    }
    let too_big = || err(SizeProblem::TooLarge);
    let whole = if int.is_empty() {
        0
    } else {
        int.parse::<u64>().map_err(|_| too_big())?
    };
    let mut n = whole.checked_mul(mult).ok_or_else(too_big)?;
    if !frac.is_empty() {
        // Fractions of the unit, to the byte (rounded down).
        let digits = frac.len().min(18) as u32;
        let f: u64 = frac[..digits as usize].parse().map_err(|_| bad())?;
        let part = (u128::from(f) * u128::from(mult)) / 10u128.pow(digits);
        n = n.checked_add(part as u64).ok_or_else(too_big)?;
    }
    if n == 0 {
        return Err(err(SizeProblem::Zero));
    }
    Ok(n)
}

/// A text that is not a size: the text, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?}: {why}")]
pub struct SizeError {
    /// The text as given.
    pub text: String,
    /// Why.
    pub why: SizeProblem,
}

/// Why a text is not a size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeProblem {
    /// An unknown unit.
    #[error(
        "unknown unit {0:?} (want bytes, or a number with B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"
    )]
    Unit(String),
    /// No number.
    #[error("not a size (want bytes, like 1073741824, or \"10GiB\", \"500MB\")")]
    NotASize,
    /// Over 2^64 bytes.
    #[error("too large")]
    TooLarge,
    /// Zero.
    #[error("must be more than 0 bytes")]
    Zero,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger(max: Option<u64>, d: &Path) -> Arc<Ledger> {
        let l = Ledger::new(max, Some(d.to_path_buf()), Some(d.join("git")));
        l.scan();
        l
    }

    fn zip(m: &str) -> Key {
        Key::zip(m, "v1.0.0").unwrap()
    }

    /// Writes `n` bytes as the object `key` under `d` and records it.
    fn put(l: &Ledger, d: &Path, key: &Key, n: usize) {
        let p = d.join(key.name());
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, vec![b'x'; n]).unwrap();
        l.record(key, Some(n as u64));
    }

    fn stored(d: &Path, key: &Key) -> bool {
        d.join(key.name()).exists()
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn the_scan_knows_a_versions_four_files_by_their_names() {
        let v = "cache/download/m.io/!a/@v/v1.0.0";
        for (ext, slot) in [("ziphash", 0), ("zip", 1), ("info", 2), ("mod", 3)] {
            assert_eq!(classify(&format!("{v}.{ext}")), Some((v, slot)), "{ext}");
        }
        for rel in [
            "cache/download/m.io/!a/@v/v1.0.0.lock",
            "cache/download/m.io/!a/@v/list",
            "cache/download/m.io/!a/@latest",
            "cache/download/sumdb/sum.golang.org/tile/8/0/000",
            "sumdb/sum.golang.org/lookup/m.io/a@v1.0.0",
            "cache/download/m.io/A/@v/v1.0.0.zip",
        ] {
            assert_eq!(classify(rel), None, "{rel}");
        }
    }

    #[test]
    fn least_recently_used_first_and_what_is_in_use_is_skipped() {
        let d = tempfile::tempdir().unwrap();
        let rt = runtime();
        let l = ledger(Some(1000), d.path());
        for m in ["m.io/a", "m.io/b", "m.io/c", "m.io/d"] {
            put(&l, d.path(), &zip(m), 200);
        }
        // b is taken in use, then a, c and d are used: b is the least recently used.
        let guard = l.in_use(&zip("m.io/b")).unwrap();
        for m in ["m.io/a", "m.io/c", "m.io/d"] {
            l.touch(&zip(m));
        }
        assert_eq!(l.usage(), Some((800, 4)));
        // 800 + 300 under way > 1000: down to 900 with the 300, so one entry goes: not b
        // (in use) but the next least recently used, a.
        let r = rt.block_on(l.reserve(300));
        assert!(stored(d.path(), &zip("m.io/b")));
        assert!(!stored(d.path(), &zip("m.io/a")));
        assert!(stored(d.path(), &zip("m.io/c")) && stored(d.path(), &zip("m.io/d")));
        assert_eq!(l.usage(), Some((600, 3)));
        put(&l, d.path(), &zip("m.io/e"), 300);
        drop(r);
        assert_eq!(l.usage(), Some((900, 4)));
        // Once b's guard is dropped it goes first: it is the least recently used.
        drop(guard);
        let _r = rt.block_on(l.reserve(200));
        assert!(!stored(d.path(), &zip("m.io/b")));
        assert!(stored(d.path(), &zip("m.io/c")));
        assert_eq!(l.usage(), Some((700, 3)));
    }

    #[test]
    fn hysteresis_evicts_to_ninety_percent_then_not_again_until_over() {
        let d = tempfile::tempdir().unwrap();
        let l = ledger(Some(10_000), d.path());
        let rt = runtime();
        for i in 0..10 {
            let k = zip(&format!("m.io/n{i}"));
            let r = rt.block_on(l.reserve(1000));
            put(&l, d.path(), &k, 1000);
            drop(r);
        }
        assert_eq!(l.usage(), Some((10_000, 10)));
        // The 11th write: over, so down to 9,000 with it: two go at once.
        let r = rt.block_on(l.reserve(1000));
        put(&l, d.path(), &zip("m.io/n10"), 1000);
        drop(r);
        assert_eq!(l.usage(), Some((9_000, 9)));
        assert!(!stored(d.path(), &zip("m.io/n0")));
        assert!(!stored(d.path(), &zip("m.io/n1")));
        assert!(stored(d.path(), &zip("m.io/n2")));
        // The next one fits under the bound: no round.
        let r = rt.block_on(l.reserve(1000));
        put(&l, d.path(), &zip("m.io/n11"), 1000);
        drop(r);
        assert_eq!(l.usage(), Some((10_000, 10)));
        assert!(stored(d.path(), &zip("m.io/n2")));
        // No bound: counted, never evicted.
        let free = ledger(None, d.path());
        assert_eq!(free.usage(), Some((10_000, 10)));
        let _r = rt.block_on(free.reserve(1 << 40));
        assert_eq!(rt.block_on(free.free_after_full(0)), 0);
        assert!(stored(d.path(), &zip("m.io/n2")));
    }

    #[test]
    fn the_ziphash_goes_before_the_zip_and_a_failed_removal_stops_there() {
        let files = [Some(1), Some(2), Some(3), Some(4)];
        let mut order = Vec::new();
        let gone = remove_version(
            Path::new("/r"),
            "cache/download/m.io/a/@v/v1.0.0",
            &files,
            &mut |p| {
                order.push(p.display().to_string());
                Ok(())
            },
        );
        assert_eq!(gone, [true; 4]);
        assert_eq!(
            order,
            [
                "/r/cache/download/m.io/a/@v/v1.0.0.ziphash",
                "/r/cache/download/m.io/a/@v/v1.0.0.zip",
                "/r/cache/download/m.io/a/@v/v1.0.0.info",
                "/r/cache/download/m.io/a/@v/v1.0.0.mod",
            ]
        );
        // The .ziphash cannot be removed: the zip stays (with its hash), nothing else goes.
        let mut tried = 0;
        let gone = remove_version(Path::new("/r"), "x/@v/v1", &files, &mut |_| {
            tried += 1;
            Err(io::Error::from(io::ErrorKind::PermissionDenied))
        });
        assert_eq!((gone, tried), ([false; 4], 1));
        // Already gone counts as removed; absent files are not tried.
        let mut seen = Vec::new();
        let gone = remove_version(
            Path::new("/r"),
            "x/@v/v1",
            &[None, Some(1), None, Some(1)],
            &mut |p| {
                seen.push(p.display().to_string());
                Err(io::Error::from(io::ErrorKind::NotFound))
            },
        );
        assert_eq!(gone, [false, true, false, true]);
        assert_eq!(seen, ["/r/x/@v/v1.zip", "/r/x/@v/v1.mod"]);
    }

    #[test]
    fn the_scan_finds_versions_other_files_and_clones_and_seeds_last_use_from_mtime() {
        let d = tempfile::tempdir().unwrap();
        let old = Key::zip("m.io/old", "v1.0.0").unwrap();
        let new = Key::zip("m.io/new", "v1.0.0").unwrap();
        let write = |k: &Key, n: usize, age_s: u64| {
            let p = d.path().join(k.name());
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, vec![0; n]).unwrap();
            let t = SystemTime::now() - std::time::Duration::from_secs(age_s);
            std::fs::File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(t)
                .unwrap();
        };
        write(&old, 400, 3600);
        write(&Key::ziphash("m.io/old", "v1.0.0").unwrap(), 50, 3600);
        write(&new, 400, 60);
        write(&Key::info("m.io/new", "v1.0.0").unwrap(), 50, 60);
        write(&Key::list("m.io/new").unwrap(), 7, 0);
        write(&Key::sumdb_state("db/latest").unwrap(), 100, 0);
        let clone = d.path().join("git").join("a".repeat(64));
        std::fs::create_dir_all(clone.join("objects")).unwrap();
        std::fs::write(clone.join("HEAD"), b"ref: x\n").unwrap();
        std::fs::write(clone.join("objects/p"), vec![0; 93]).unwrap();
        std::fs::create_dir_all(d.path().join("git/tmp")).unwrap();
        std::fs::write(d.path().join("git/tmp/x.tar"), vec![0; 1000]).unwrap();
        std::fs::create_dir_all(d.path().join("git/.trash-x")).unwrap();
        let l = ledger(Some(1107), d.path());
        // 450 + 450 + 7 + 100 + 100 (the clone); not git/tmp; the trash is removed.
        assert_eq!(l.usage(), Some((1107, 3)));
        assert!(!d.path().join("git/.trash-x").exists());
        // One more byte is over: the clone was used just now (its newest mtime), new a
        // minute ago, old an hour ago: old goes, whole.
        let _r = runtime().block_on(l.reserve(1));
        assert!(!stored(d.path(), &old));
        assert!(!stored(
            d.path(),
            &Key::ziphash("m.io/old", "v1.0.0").unwrap()
        ));
        assert!(stored(d.path(), &new) && clone.exists());
        assert_eq!(l.usage(), Some((657, 2)));
    }

    #[test]
    fn a_clone_is_renamed_away_then_removed_and_one_in_use_stays() {
        let d = tempfile::tempdir().unwrap();
        let git = d.path().join("git");
        let (a, b) = ("a".repeat(64), "b".repeat(64));
        for n in [&a, &b] {
            std::fs::create_dir_all(git.join(n)).unwrap();
            std::fs::write(git.join(n).join("HEAD"), vec![0; 500]).unwrap();
        }
        let l = Ledger::new(Some(1200), None, Some(git.clone()));
        l.scan();
        assert_eq!(l.usage(), Some((1000, 2)));
        // a grows while a fetch works on it: over the bound; a is in use, b goes.
        let guard = l.clone_in_use(&a);
        runtime().block_on(l.clone_grew(&a, 800));
        assert!(git.join(&a).exists());
        assert!(!git.join(&b).exists());
        assert_eq!(std::fs::read_dir(&git).unwrap().count(), 1);
        assert_eq!(l.usage(), Some((800, 1)));
        drop(guard);
        l.clone_removed(&a);
        assert_eq!(l.usage(), Some((0, 0)));
    }

    #[tokio::test]
    async fn the_store_counts_its_writes_forgets_evicted_copies_and_holds_what_is_read() {
        use bytes::Bytes;
        let d = tempfile::tempdir().unwrap();
        let mut store = super::super::Store::open_dir(d.path()).unwrap();
        let l = Ledger::new(Some(1000), Some(d.path().to_path_buf()), None);
        store.set_ledger(Arc::clone(&l));
        l.scan();
        let info = Key::info("m.io/a", "v1.0.0").unwrap();
        store
            .put(&info, Bytes::from(vec![b'{'; 500]))
            .await
            .unwrap();
        // In memory now (Hot), and counted.
        assert!(store.get(&info).await.unwrap().is_some());
        assert_eq!(store.usage(), Some((500, 1)));
        let b = zip("m.io/b");
        store.put(&b, Bytes::from(vec![0; 600])).await.unwrap();
        // a was evicted: its in-memory copy too.
        assert!(!stored(d.path(), &info));
        assert_eq!(store.get(&info).await.unwrap(), None);
        assert_eq!(store.usage(), Some((600, 1)));
        // b is being read: a write over the bound cannot evict it.
        let stream = store.read_range(&b, 0, 600).await.unwrap().unwrap();
        store
            .put(&zip("m.io/c"), Bytes::from(vec![0; 600]))
            .await
            .unwrap();
        assert!(stored(d.path(), &b));
        assert_eq!(store.usage(), Some((1200, 2)));
        let read: Vec<Bytes> = futures_util::TryStreamExt::try_collect(stream)
            .await
            .unwrap();
        assert_eq!(read.concat().len(), 600);
        // Read to the end and dropped: the next write evicts it (least recently used).
        store
            .put(&zip("m.io/d"), Bytes::from(vec![0; 100]))
            .await
            .unwrap();
        assert!(!stored(d.path(), &b));
        assert!(stored(d.path(), &zip("m.io/c")));
        assert_eq!(store.usage(), Some((700, 2)));
    }

    #[test]
    fn sizes_with_and_without_units() {
        assert_eq!(parse_size("1234"), Ok(1234));
        assert_eq!(parse_size("10GiB"), Ok(10 << 30));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size(" 8 MiB "), Ok(8 << 20));
        assert_eq!(parse_size("1.5kib"), Ok(1536));
        assert_eq!(parse_size("2KB"), Ok(2000));
        assert_eq!(parse_size("7b"), Ok(7));
        assert_eq!(
            parse_size("10XB").map_err(|e| e.to_string()),
            Err("\"10XB\": unknown unit \"XB\" (want bytes, or a number with B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)".into())
        );
        assert_eq!(
            parse_size("0").map(|_| ()).unwrap_err().why,
            SizeProblem::Zero
        );
        assert_eq!(
            parse_size("0").map_err(|e| e.to_string()),
            Err("\"0\": must be more than 0 bytes".into())
        );
        assert!(parse_size("GiB").is_err());
        assert!(parse_size("1.2.3MB").is_err());
        assert!(parse_size("-5").is_err());
        assert_eq!(
            parse_size("99999999999TiB").map_err(|e| e.to_string()),
            Err("\"99999999999TiB\": too large".into())
        );
        assert_eq!(low_water(10_000), 9_000);
        assert_eq!(low_water(8 << 20), 7_549_747);
        assert_eq!(low_water(u64::MAX), u64::MAX / 100 * 90 + 15 * 90 / 100);
    }
}
