//! Paths as each system writes them: the module cache's names (always `/`-separated)
//! under a directory, canonical paths as people type them, and where the home directory
//! and the netrc file are.

use std::io;
use std::path::{Path, PathBuf};

/// The `/`-separated relative name `rel` (a module cache's or a store's) as this
/// system's path, so that it is shown with one kind of separator.
pub fn native(rel: &str) -> PathBuf {
    rel.split('/').filter(|c| !c.is_empty()).collect()
}

/// `p` made absolute with every link resolved; on Windows without the `\\?\` prefix
/// where the plain form names the same file (`C:\src\app`, not `\\?\C:\src\app`).
pub fn canonical(p: &Path) -> io::Result<PathBuf> {
    dunce::canonicalize(p)
}

/// The path of a `file://` URL's decoded path `p` (it starts with `/`): itself on Unix;
/// on Windows the drive's path (`/C:/proxy` -> `C:\proxy`), as the go command's
/// `urlToFilePath` reads it.
pub fn from_url_path(p: &str) -> PathBuf {
    if cfg!(windows) {
        let b = p.as_bytes();
        let p = if b.len() >= 3 && b[0] == b'/' && b[1].is_ascii_alphabetic() && b[2] == b':' {
            &p[1..]
        } else {
            p
        };
        PathBuf::from(p.replace('/', "\\"))
    } else {
        PathBuf::from(p)
    }
}

/// The variable that names the user's home directory (os.UserHomeDir): `USERPROFILE` on
/// Windows, `HOME` elsewhere.
pub const HOME_VAR: &str = if cfg!(windows) { "USERPROFILE" } else { "HOME" };

/// The netrc file's name in the home directory, as the go command looks for it
/// (`_netrc` on Windows).
pub const NETRC_NAME: &str = if cfg!(windows) { "_netrc" } else { ".netrc" };

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_canonical_paths() {
        assert_eq!(
            native("cache/download"),
            Path::new("cache").join("download")
        );
        assert_eq!(
            native("example.com/a/@v"),
            PathBuf::from("example.com/a/@v")
        );
        assert_eq!(native(""), PathBuf::new());
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("x")).unwrap();
        let c = canonical(&d.path().join("x/../x")).unwrap();
        assert_eq!(c, std::fs::canonicalize(d.path()).unwrap().join("x"));
        assert!(canonical(&d.path().join("missing")).is_err());
        assert_eq!(from_url_path("/srv/go proxy"), Path::new("/srv/go proxy"));
    }
}
