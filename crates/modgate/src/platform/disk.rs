//! Disks: the space left where a directory is, the space a file takes, the root of the
//! file system holding a path, and which errors mean a read-only file system.

use std::io;
use std::path::{Path, PathBuf};

/// The space left on the file system of a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// Bytes an unprivileged user may still write.
    pub avail: u64,
    /// Files (inodes) an unprivileged user may still create, where the file system counts
    /// them (not on Windows).
    pub files_avail: Option<u64>,
}

/// The space left on the file system holding `dir` (`statvfs`, `GetDiskFreeSpaceExW`).
#[cfg(unix)]
pub fn space(dir: &Path) -> io::Result<Space> {
    let st = rustix::fs::statvfs(dir)?;
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Ok(Space {
        avail: (st.f_bavail as u64).saturating_mul(st.f_frsize as u64),
        files_avail: (st.f_files > 0).then_some(st.f_favail as u64),
    })
}

/// The space left on the file system holding `dir` (`statvfs`, `GetDiskFreeSpaceExW`).
#[cfg(windows)]
pub fn space(dir: &Path) -> io::Result<Space> {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Storage::FileSystem::GetDiskFreeSpaceExW;
    let wide: Vec<u16> = dir.as_os_str().encode_wide().chain(Some(0)).collect();
    let mut avail = 0u64;
    // SAFETY: a NUL-terminated path; the call writes only the one value asked for.
    let ok = unsafe {
        GetDiskFreeSpaceExW(
            wide.as_ptr(),
            &mut avail,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Space {
        avail,
        files_avail: None,
    })
}

/// The bytes a file takes on its disk: its blocks where the platform says (a sparse or
/// compressed file takes less than its length), else its length.
pub fn allocated(md: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        md.blocks().saturating_mul(512)
    }
    #[cfg(not(unix))]
    {
        md.len()
    }
}

/// The root of the file system holding `dir`: its highest ancestor on the same device
/// (Unix), or its volume's root (Windows: `C:\`, `\\server\share\`).
pub fn mount_point(dir: &Path) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let Ok(dev) = dir.metadata().map(|m| m.dev()) else {
            return dir.to_path_buf();
        };
        let mut top = dir.to_path_buf();
        for a in dir.ancestors().skip(1) {
            match a.metadata() {
                Ok(m) if m.dev() == dev => top = a.to_path_buf(),
                _ => break,
            }
        }
        top
    }
    #[cfg(not(unix))]
    {
        dir.ancestors().last().unwrap_or(dir).to_path_buf()
    }
}

/// Whether `e` says the file system is read-only (`EROFS`; Windows: the medium is
/// write-protected).
pub fn is_read_only_fs(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(rustix::io::Errno::ROFS.raw_os_error())
    }
    #[cfg(windows)]
    {
        e.raw_os_error() == Some(windows_sys::Win32::Foundation::ERROR_WRITE_PROTECT as i32)
    }
}

/// Makes the entries of directory `dir` (a file renamed into it, one removed) durable:
/// `fsync` of the directory on Unix. Windows has no such call (a directory handle cannot
/// be flushed) and NTFS journals its directory entries itself: nothing to do there.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_sync() {
        let d = tempfile::tempdir().unwrap();
        sync_dir(d.path()).unwrap();
        assert!(sync_dir(&d.path().join("missing")).is_err());
    }

    #[test]
    fn space_of_a_directory() {
        let d = tempfile::tempdir().unwrap();
        let s = space(d.path()).unwrap();
        assert!(s.avail > 0);
        assert!(space(&d.path().join("missing")).is_err());
    }

    #[test]
    fn allocated_counts_blocks() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, vec![1u8; 10_000]).unwrap();
        let n = allocated(&p.metadata().unwrap());
        // Whole blocks: at least the length, within a few blocks of it.
        assert!((10_000..10_000 + 65_536).contains(&n), "{n}");
    }

    #[test]
    fn mount_point_is_an_ancestor() {
        let d = tempfile::tempdir().unwrap();
        let m = mount_point(d.path());
        assert!(d.path().starts_with(&m), "{}", m.display());
        assert!(mount_point(Path::new("/")) == Path::new("/"));
    }

    #[test]
    fn read_only_errors() {
        assert!(is_read_only_fs(&io::Error::from_raw_os_error(libc::EROFS)));
        assert!(!is_read_only_fs(&io::Error::from_raw_os_error(
            libc::EACCES
        )));
        assert!(!is_read_only_fs(&io::Error::other("x")));
    }
}
