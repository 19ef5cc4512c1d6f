//! The go command's file locks (cmd/go/internal/lockedfile): `flock` on Unix, `LockFileEx`
//! over the whole file on Windows; taken without waiting, and who holds one.

use std::fs::File;
use std::io;
use std::path::Path;

/// Which lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Many readers.
    Shared,
    /// One writer.
    Exclusive,
}

/// Takes a lock on `f` without waiting: `Ok(false)` when another open file holds one
/// that conflicts. The lock goes with the file (closing it, or the process ending).
#[cfg(unix)]
pub fn try_lock(f: &File, mode: Mode) -> io::Result<bool> {
    use rustix::fs::{FlockOperation, flock};
    let op = match mode {
        Mode::Shared => FlockOperation::NonBlockingLockShared,
        Mode::Exclusive => FlockOperation::NonBlockingLockExclusive,
    };
    match flock(f, op) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Takes a lock on `f` without waiting: `Ok(false)` when another open file holds one
/// that conflicts. The lock goes with the file (closing it, or the process ending).
#[cfg(windows)]
pub fn try_lock(f: &File, mode: Mode) -> io::Result<bool> {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Foundation::ERROR_LOCK_VIOLATION;
    use windows_sys::Win32::Storage::FileSystem::{
        LOCKFILE_EXCLUSIVE_LOCK, LOCKFILE_FAIL_IMMEDIATELY, LockFileEx,
    };
    let flags = LOCKFILE_FAIL_IMMEDIATELY
        | match mode {
            Mode::Shared => 0,
            Mode::Exclusive => LOCKFILE_EXCLUSIVE_LOCK,
        };
    // The whole file, as the go command locks it (offset 0, length 2^64-1).
    // SAFETY: an open handle and a zeroed OVERLAPPED that outlives the (synchronous) call.
    let ok = unsafe {
        let mut ov: windows_sys::Win32::System::IO::OVERLAPPED = std::mem::zeroed();
        LockFileEx(
            f.as_raw_handle() as _,
            flags,
            0,
            u32::MAX,
            u32::MAX,
            &mut ov,
        )
    };
    if ok != 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(ERROR_LOCK_VIOLATION as i32) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// Releases the lock taken on `f`.
#[cfg(unix)]
pub fn unlock(f: &File) -> io::Result<()> {
    Ok(rustix::fs::flock(f, rustix::fs::FlockOperation::Unlock)?)
}

/// Releases the lock taken on `f`.
#[cfg(windows)]
pub fn unlock(f: &File) -> io::Result<()> {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Storage::FileSystem::UnlockFileEx;
    // SAFETY: as in try_lock.
    let ok = unsafe {
        let mut ov: windows_sys::Win32::System::IO::OVERLAPPED = std::mem::zeroed();
        UnlockFileEx(f.as_raw_handle() as _, 0, u32::MAX, u32::MAX, &mut ov)
    };
    if ok == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Who holds a lock on a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The process, where the platform says (Linux: `/proc/locks`).
    pub pid: Option<u32>,
    /// Its command line, or why it is not known.
    pub command: String,
}

/// The process holding a lock on `path` now; `None` when nobody does (a shared lock
/// could be taken) or the file cannot be opened.
pub fn holder(path: &Path) -> Option<Holder> {
    let f = File::open(path).ok()?;
    match try_lock(&f, Mode::Shared) {
        Ok(true) => {
            let _ = unlock(&f);
            return None;
        }
        Ok(false) => {}
        Err(_) => return None,
    }
    Some(who_holds(&f).unwrap_or_else(|| Holder {
        pid: None,
        command: WHO_UNKNOWN.to_string(),
    }))
}

/// What [`holder`] says of a process it cannot name.
#[cfg(target_os = "linux")]
const WHO_UNKNOWN: &str = "a process /proc/locks does not name";
/// What [`holder`] says of a process it cannot name.
#[cfg(not(target_os = "linux"))]
const WHO_UNKNOWN: &str = "a process this system does not name (Linux's /proc/locks has no equivalent here; lsof or Resource Monitor shows it)";

/// The process holding the lock on `f`, from `/proc/locks`: matched by device and inode.
#[cfg(target_os = "linux")]
fn who_holds(f: &File) -> Option<Holder> {
    use std::os::unix::fs::MetadataExt;
    let m = f.metadata().ok()?;
    let ino = m.ino();
    let (maj, min) = (rustix::fs::major(m.dev()), rustix::fs::minor(m.dev()));
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let pid = lock_owner(&locks, maj, min, ino)?;
    let command = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            String::from_utf8_lossy(&c)
                .split('\0')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    Some(Holder {
        pid: Some(pid),
        command,
    })
}

#[cfg(not(target_os = "linux"))]
fn who_holds(_: &File) -> Option<Holder> {
    None
}

/// The process holding a lock on the file `maj:min:ino`, from the text of `/proc/locks`:
/// "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (a blocked waiter's line has `->`
/// before its fields).
#[cfg(any(target_os = "linux", test))]
fn lock_owner(locks: &str, maj: u32, min: u32, ino: u64) -> Option<u32> {
    locks.lines().find_map(|l| {
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_conflict_between_open_files() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("v1.0.0.lock");
        let a = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&p)
            .unwrap();
        let b = File::open(&p).unwrap();
        assert_eq!(holder(&p), None);
        assert!(try_lock(&a, Mode::Exclusive).unwrap());
        assert!(!try_lock(&b, Mode::Shared).unwrap());
        assert!(!try_lock(&b, Mode::Exclusive).unwrap());
        let h = holder(&p).unwrap();
        assert_eq!(h.pid, Some(std::process::id()));
        assert!(h.command.contains("modgate"), "{}", h.command);
        unlock(&a).unwrap();
        assert!(try_lock(&b, Mode::Shared).unwrap());
        assert!(!try_lock(&a, Mode::Exclusive).unwrap());
        drop(b);
        assert!(try_lock(&a, Mode::Exclusive).unwrap());
        assert_eq!(holder(&d.path().join("missing")), None);
    }

    #[test]
    fn proc_locks_lines() {
        let locks = "1: POSIX  ADVISORY  WRITE 99 08:01:77 0 EOF\n\
                     2: FLOCK  ADVISORY  WRITE 1234 fd:02:5678 0 EOF\n\
                     2: -> FLOCK  ADVISORY  READ 4321 fd:02:5678 0 EOF\n";
        assert_eq!(lock_owner(locks, 0xfd, 2, 5678), Some(1234));
        assert_eq!(lock_owner(locks, 8, 1, 77), Some(99));
        assert_eq!(lock_owner(locks, 8, 1, 78), None);
        assert_eq!(lock_owner("", 8, 1, 77), None);
    }
}
