//! What of a file the kernel holds in memory (the page cache), so that a send straight
//! from the file (`http/sendfile.rs`) is made from the runtime's thread only when it will
//! not wait for the disk.
//!
//! Asking (`cachestat`, Linux 6.5) walks the kernel's index of the file's pages: about
//! 4 µs a MiB, a twentieth of sending the MiB, the largest cost of a cached zip after
//! the send itself (in `perf`). So a range found in the page cache is remembered for
//! [`FRESH`]: a hot zip, asked for hundreds of times a second, is looked at a few times
//! a second, not on every request. Were its pages dropped within that moment (memory
//! pressure taking the pages just read, or an inode number reused by a new file), a send
//! would wait for the disk on the runtime's thread, as nginx's always may: slower for a
//! moment, never wrong.

use std::fs::File;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a range found in the page cache is taken to be there still.
const FRESH: Duration = Duration::from_millis(200);

/// A file, by its device and inode numbers: the same for every open of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// `file`'s identity (`None` when its metadata cannot be read).
    #[cfg(target_os = "linux")]
    pub fn of(file: &File) -> Option<FileId> {
        use std::os::unix::fs::MetadataExt;
        let m = file.metadata().ok()?;
        Some(FileId {
            dev: m.dev(),
            ino: m.ino(),
        })
    }

    /// Other systems never send from the page cache (no `cachestat`): no identity.
    #[cfg(not(target_os = "linux"))]
    pub fn of(_: &File) -> Option<FileId> {
        None
    }

    /// Its slot in the memory (a multiplicative hash of both numbers).
    fn slot(self) -> usize {
        let h = (self.ino ^ self.dev.rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h >> (64 - SLOTS.trailing_zeros())) as usize
    }
}

/// Whether all of `len` bytes of `file` (known as `id`) from `at` are in the page cache:
/// from the memory while fresh, else asked ([`in_page_cache`]) and remembered when so.
pub fn in_page_cache_lately(file: &File, id: Option<FileId>, at: u64, len: u64) -> Option<bool> {
    in_page_cache_lately_with(&LATELY, Instant::now(), file, id, at, len, in_page_cache)
}

fn in_page_cache_lately_with(
    lately: &Lately,
    now: Instant,
    file: &File,
    id: Option<FileId>,
    at: u64,
    len: u64,
    ask: fn(&File, u64, u64) -> Option<bool>,
) -> Option<bool> {
    if let Some(id) = id
        && lately.covers(id, now, at, len)
    {
        return Some(true);
    }
    let cached = ask(file, at, len);
    if let (Some(true), Some(id)) = (cached, id) {
        lately.saw(id, now, at, len);
    }
    cached
}

/// How many files the memory holds (direct-mapped: a file takes its slot from another).
const SLOTS: usize = 64;

/// The memory: per slot, a file whose first `upto` bytes were all found in the page
/// cache, each since `since`.
struct Lately(Mutex<[Option<Seen>; SLOTS]>);

#[derive(Debug, Clone, Copy)]
struct Seen {
    id: FileId,
    since: Instant,
    upto: u64,
}

static LATELY: Lately = Lately::new();

impl Lately {
    const fn new() -> Lately {
        Lately(Mutex::new([None; SLOTS]))
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, [Option<Seen>; SLOTS]> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `len` bytes from `at` of `id` were found in the page cache less than
    /// [`FRESH`] before `now`.
    fn covers(&self, id: FileId, now: Instant, at: u64, len: u64) -> bool {
        self.slots()[id.slot()].is_some_and(|s| {
            s.id == id
                && now.saturating_duration_since(s.since) < FRESH
                && at.checked_add(len).is_some_and(|end| end <= s.upto)
        })
    }

    /// `len` bytes from `at` of `id` were just found in the page cache: they extend what
    /// is remembered when they follow on from it while it is fresh; a range from the
    /// start begins anew; any other range is not remembered (a file is looked at from its
    /// start, as a client downloads it).
    fn saw(&self, id: FileId, now: Instant, at: u64, len: u64) {
        let mut slots = self.slots();
        let slot = &mut slots[id.slot()];
        let end = at.saturating_add(len);
        match slot {
            Some(s)
                if s.id == id && now.saturating_duration_since(s.since) < FRESH && at <= s.upto =>
            {
                s.upto = s.upto.max(end);
            }
            _ if at == 0 => {
                *slot = Some(Seen {
                    id,
                    since: now,
                    upto: end,
                })
            }
            _ => {}
        }
    }
}

/// Whether all of `len` bytes of `file` from `at` are in the page cache (`cachestat`,
/// Linux 6.5): `None` when the kernel cannot tell. Reading a cached range never waits for
/// the disk.
#[cfg(target_os = "linux")]
pub fn in_page_cache(file: &File, at: u64, len: u64) -> Option<bool> {
    use std::os::fd::AsRawFd;
    /// `cachestat`'s number: the same on every architecture (new system calls share
    /// their numbers since Linux 5.1).
    const SYS_CACHESTAT: libc::c_long = 451;
    #[repr(C)]
    struct Range {
        off: u64,
        len: u64,
    }
    #[repr(C)]
    #[derive(Default)]
    struct Stat {
        nr_cache: u64,
        nr_dirty: u64,
        nr_writeback: u64,
        nr_evicted: u64,
        nr_recently_evicted: u64,
    }
    if len == 0 {
        return Some(true);
    }
    let page = page_size();
    let first = at / page;
    let pages = (at + len).div_ceil(page) - first;
    let range = Range {
        off: first * page,
        len: pages * page,
    };
    let mut stat = Stat::default();
    // SAFETY: both structures are the kernel's layout, live for the call, and the kernel
    // writes only `stat`.
    let r = unsafe {
        libc::syscall(
            SYS_CACHESTAT,
            file.as_raw_fd(),
            &range as *const Range,
            &mut stat as *mut Stat,
            0,
        )
    };
    (r == 0).then_some(stat.nr_cache >= pages)
}

/// Other systems cannot tell (macOS's `mincore` needs a mapping; Windows has no such
/// call): every file is read on the blocking pool or with [`read_into`]'s `nowait`.
#[cfg(not(target_os = "linux"))]
pub fn in_page_cache(_: &File, _: u64, _: u64) -> Option<bool> {
    None
}

/// Whether the kernel answers [`in_page_cache`] (asked once).
pub fn page_cache_known() -> bool {
    static KNOWN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *KNOWN.get_or_init(|| {
        std::env::current_exe()
            .and_then(File::open)
            .is_ok_and(|f| in_page_cache(&f, 0, 1).is_some())
    })
}

#[cfg(target_os = "linux")]
fn page_size() -> u64 {
    static SIZE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *SIZE.get_or_init(|| match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as u64,
        _ => 4096,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};

    const A: FileId = FileId { dev: 1, ino: 10 };
    const B: FileId = FileId { dev: 1, ino: 11 };
    const MIB: u64 = 1 << 20;

    #[test]
    fn a_file_seen_from_its_start_is_remembered_as_far_as_seen_while_fresh() {
        let lately = Lately::new();
        let t = Instant::now();
        assert!(!lately.covers(A, t, 0, MIB));
        lately.saw(A, t, 0, MIB);
        lately.saw(A, t, MIB, MIB);
        assert!(lately.covers(A, t, 0, 2 * MIB));
        assert!(lately.covers(A, t, MIB / 2, MIB));
        assert!(!lately.covers(A, t, MIB, MIB + 1));
        assert!(!lately.covers(A, t, u64::MAX, 2));
        // Not another file, nor after FRESH (from the first look, not the last).
        assert!(!lately.covers(B, t, 0, 1));
        lately.saw(A, t + FRESH / 2, 2 * MIB, MIB);
        assert!(lately.covers(A, t + FRESH / 2, 0, 3 * MIB));
        assert!(!lately.covers(A, t + FRESH, 0, 1));
    }

    #[test]
    fn a_range_not_following_on_is_not_remembered_and_a_stale_file_begins_anew() {
        let lately = Lately::new();
        let t = Instant::now();
        lately.saw(A, t, MIB, MIB);
        assert!(!lately.covers(A, t, MIB, MIB));
        lately.saw(A, t, 0, MIB);
        lately.saw(A, t, 2 * MIB, MIB);
        assert!(!lately.covers(A, t, 2 * MIB, MIB));
        assert!(lately.covers(A, t, 0, MIB));
        // Stale: a range from the start begins anew, from its own time and length.
        let later = t + FRESH;
        lately.saw(A, later, MIB, MIB);
        assert!(!lately.covers(A, later, 0, 1));
        lately.saw(A, later, 0, MIB / 2);
        assert!(lately.covers(A, later, 0, MIB / 2));
        assert!(!lately.covers(A, later, 0, MIB));
        assert!(lately.covers(A, later + FRESH / 2, 0, 1));
    }

    #[test]
    fn a_file_in_another_s_slot_takes_it() {
        let lately = Lately::new();
        let t = Instant::now();
        let other = (0..)
            .map(|ino| FileId { dev: 1, ino })
            .find(|f| *f != A && f.slot() == A.slot())
            .unwrap();
        lately.saw(A, t, 0, MIB);
        lately.saw(other, t, 0, MIB);
        assert!(lately.covers(other, t, 0, MIB));
        assert!(!lately.covers(A, t, 0, MIB));
    }

    static ASKED: AtomicUsize = AtomicUsize::new(0);
    fn cached(_: &File, _: u64, _: u64) -> Option<bool> {
        ASKED.fetch_add(1, Ordering::SeqCst);
        Some(true)
    }
    fn not_cached(_: &File, _: u64, _: u64) -> Option<bool> {
        ASKED.fetch_add(1, Ordering::SeqCst);
        Some(false)
    }

    #[test]
    fn the_kernel_is_asked_only_for_what_is_not_remembered() {
        let f = tempfile::tempfile().unwrap();
        let lately = Lately::new();
        let t = Instant::now();
        let ask = |at, len, id, with| {
            let before = ASKED.load(Ordering::SeqCst);
            let r = in_page_cache_lately_with(&lately, t, &f, id, at, len, with);
            (r, ASKED.load(Ordering::SeqCst) - before)
        };
        assert_eq!(ask(0, MIB, Some(A), not_cached), (Some(false), 1));
        assert_eq!(ask(0, MIB, Some(A), not_cached), (Some(false), 1));
        assert_eq!(ask(0, MIB, Some(A), cached), (Some(true), 1));
        assert_eq!(ask(0, MIB, Some(A), not_cached), (Some(true), 0));
        assert_eq!(ask(MIB, MIB, Some(A), not_cached), (Some(false), 1));
        // No identity: always asked, never remembered.
        assert_eq!(ask(0, MIB, None, cached), (Some(true), 1));
        assert_eq!(ask(0, MIB, None, cached), (Some(true), 1));
    }

    #[test]
    fn a_file_just_read_is_in_the_page_cache_and_has_an_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&vec![7u8; 3 * 4096 + 5])
            .unwrap();
        let mut f = File::open(&path).unwrap();
        f.read_to_end(&mut Vec::new()).unwrap();
        let id = FileId::of(&f);
        if cfg!(target_os = "linux") {
            assert!(id.is_some());
            assert_eq!(id, FileId::of(&File::open(&path).unwrap()));
            assert_ne!(id, FileId::of(&tempfile::tempfile().unwrap()));
        }
        if page_cache_known() {
            assert_eq!(in_page_cache(&f, 0, 3 * 4096 + 5), Some(true));
            assert_eq!(in_page_cache(&f, 4095, 2), Some(true));
            assert_eq!(in_page_cache_lately(&f, id, 0, 3 * 4096 + 5), Some(true));
        }
        assert_ne!(in_page_cache(&f, 0, 0), Some(false));
    }
}
