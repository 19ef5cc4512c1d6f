//! Write permission as the go command leaves it: an extracted module tree is read-only
//! (directories 0555 and files 0444 on Unix, the read-only attribute on Windows), and
//! whether a program on the search path can be run.

use std::fs::Metadata;
use std::io;
use std::path::Path;

/// Whether the owner may write `md`'s file or directory (`0o200`; Windows: not
/// read-only).
pub fn owner_can_write(md: &Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        md.permissions().mode() & 0o200 != 0
    }
    #[cfg(not(unix))]
    {
        !md.permissions().readonly()
    }
}

/// Whether anyone may write `md`'s file or directory (any of `0o222`; Windows: not
/// read-only).
pub fn anyone_can_write(md: &Metadata) -> bool {
    !md.permissions().readonly()
}

/// Whether this process may write `path` (`access(W_OK)`, which counts root's right to
/// write anything; Windows: not read-only).
pub fn may_write(path: &Path) -> bool {
    #[cfg(unix)]
    {
        rustix::fs::access(path, rustix::fs::Access::WRITE_OK).is_ok()
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path).is_ok_and(|m| !m.permissions().readonly())
    }
}

/// Takes away everyone's write permission from `path` (its other bits kept).
pub fn make_read_only(path: &Path, md: &Metadata) -> io::Result<()> {
    let mut p = md.permissions();
    p.set_readonly(true);
    std::fs::set_permissions(path, p)
}

/// Gives the owner write permission on `path`, and for a directory the right to list and
/// enter it (`u+w`, `u+rwx`; Windows: clears read-only).
pub fn make_owner_writable(path: &Path, md: &Metadata) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let add = if md.is_dir() { 0o700 } else { 0o200 };
        std::fs::set_permissions(
            path,
            std::fs::Permissions::from_mode(md.permissions().mode() | add),
        )
    }
    #[cfg(not(unix))]
    {
        let mut p = md.permissions();
        #[allow(clippy::permissions_set_readonly_false)] // Windows: one attribute, no bits
        p.set_readonly(false);
        std::fs::set_permissions(path, p)
    }
}

/// The file name of program `name` on this platform (`go.exe` on Windows).
pub fn program_name(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

/// Whether `md` is a file this process could run as a program (any `x` bit; Windows: a
/// file, its name saying it is a program).
pub fn is_program(md: &Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        md.is_file() && md.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        md.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn read_only_and_back() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, b"x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o664)).unwrap();
        let md = f.metadata().unwrap();
        assert!(owner_can_write(&md) && anyone_can_write(&md));
        make_read_only(&f, &md).unwrap();
        assert_eq!(mode(&f), 0o444);
        let md = f.metadata().unwrap();
        assert!(!owner_can_write(&md) && !anyone_can_write(&md));
        make_owner_writable(&f, &md).unwrap();
        assert_eq!(mode(&f), 0o644);

        let sub = d.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o555)).unwrap();
        let md = sub.metadata().unwrap();
        assert!(!owner_can_write(&md));
        make_owner_writable(&sub, &md).unwrap();
        assert_eq!(mode(&sub), 0o755);
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o070)).unwrap();
        make_owner_writable(&sub, &sub.metadata().unwrap()).unwrap();
        assert_eq!(mode(&sub), 0o770);
        // Group-writable only: someone may write, the owner may not.
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o464)).unwrap();
        let md = f.metadata().unwrap();
        assert!(!owner_can_write(&md) && anyone_can_write(&md));
        assert!(may_write(d.path()));
    }

    #[test]
    fn programs() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("go");
        std::fs::write(&f, b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(!is_program(&f.metadata().unwrap()));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(is_program(&f.metadata().unwrap()));
        assert!(!is_program(&d.path().metadata().unwrap()));
        assert_eq!(program_name("go"), "go");
    }
}
