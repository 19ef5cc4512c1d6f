//! Where a project's own files are read from: the disk (`modgate prefetch`), or only the
//! files a client sent (a warm job, a bundle request), so that a request never makes the
//! server read a file of its own.

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

/// A project's go.mod, go.work and replaced directories' go.mod files.
pub trait ProjectFiles: Send + Sync + std::fmt::Debug {
    /// The bytes of the file at `path`.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Whether `path` is a file.
    fn is_file(&self, path: &Path) -> bool;
    /// Whether `path` is a directory.
    fn is_dir(&self, path: &Path) -> bool;
}

/// The local file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct Disk;

impl ProjectFiles for Disk {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
}

/// Where sent files are: their names (relative to the project's directory) are read under
/// it. A relative replacement such as `../lib` lands beside it, as on the client's disk.
pub const SENT_ROOT: &str = "/project";

/// Files sent by a client, by name; nothing else exists.
#[derive(Debug, Clone, Default)]
pub struct Sent {
    files: BTreeMap<PathBuf, Vec<u8>>,
}

/// Why a sent file's name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("file name {name:?}: {why}")]
pub struct BadName {
    /// The name, as sent.
    pub name: String,
    /// Why.
    pub why: &'static str,
}

impl Sent {
    /// The files `named` (`/`-separated names relative to the project's directory, `..`
    /// allowed: the project's directory is [`SENT_ROOT`]; or absolute).
    pub fn new<I>(named: I) -> Result<Sent, BadName>
    where
        I: IntoIterator<Item = (String, Vec<u8>)>,
    {
        let mut files = BTreeMap::new();
        for (name, data) in named {
            let bad = |why| BadName {
                name: name.clone(),
                why,
            };
            if name.is_empty() || name.len() > 4096 {
                return Err(bad("empty, or longer than 4096 bytes"));
            }
            if name.contains(['\0', '\\']) {
                return Err(bad("contains a NUL or a backslash (names are /-separated)"));
            }
            if !(name == "go.mod"
                || name == "go.sum"
                || name == "go.work"
                || name == "go.work.sum"
                || name.ends_with("/go.mod")
                || name.ends_with("/go.sum"))
            {
                return Err(bad(
                    "only go.mod, go.sum, go.work and go.work.sum files are read (in subdirectories: go.mod and go.sum)",
                ));
            }
            let path = normal(&Path::new(SENT_ROOT).join(&name));
            if files.insert(path, data).is_some() {
                return Err(bad("sent twice (the same file under two names)"));
            }
        }
        Ok(Sent { files })
    }
}

/// `path` with `.` and `..` resolved by name (`..` at the root stays at the root).
fn normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

impl ProjectFiles for Sent {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.files.get(&normal(path)).cloned().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "not among the files sent with the request",
            )
        })
    }

    fn is_file(&self, path: &Path) -> bool {
        self.files.contains_key(&normal(path))
    }

    fn is_dir(&self, path: &Path) -> bool {
        let dir = normal(path);
        self.files.keys().any(|f| f.starts_with(&dir) && *f != dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_files_are_read_by_their_names_and_nothing_else() {
        let sent = Sent::new([
            ("go.mod".to_string(), b"module m\n".to_vec()),
            ("../lib/go.mod".to_string(), b"module lib\n".to_vec()),
            ("tools/./go.mod".to_string(), b"module tools\n".to_vec()),
        ])
        .unwrap();
        let root = Path::new(SENT_ROOT);
        assert_eq!(sent.read(&root.join("go.mod")).unwrap(), b"module m\n");
        assert_eq!(
            sent.read(&root.join("../lib/go.mod")).unwrap(),
            b"module lib\n"
        );
        assert_eq!(
            sent.read(Path::new("/lib/go.mod")).unwrap(),
            b"module lib\n"
        );
        assert_eq!(
            sent.read(&root.join("tools/go.mod")).unwrap(),
            b"module tools\n"
        );
        assert!(sent.is_dir(root));
        assert!(sent.is_dir(&root.join("tools")));
        assert!(!sent.is_dir(&root.join("go.mod")));
        assert!(sent.is_file(&root.join("go.mod")));
        assert!(!sent.is_file(&root.join("go.work")));
        // Never the server's own files, however the name is written.
        let e = sent.read(Path::new("/etc/passwd")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn bad_names_are_refused() {
        for (name, why) in [
            ("", "empty, or longer than 4096 bytes"),
            (
                "a\\go.mod",
                "contains a NUL or a backslash (names are /-separated)",
            ),
            (
                "../../etc/passwd",
                "only go.mod, go.sum, go.work and go.work.sum files are read (in subdirectories: go.mod and go.sum)",
            ),
            (
                "main.go",
                "only go.mod, go.sum, go.work and go.work.sum files are read (in subdirectories: go.mod and go.sum)",
            ),
        ] {
            assert_eq!(
                Sent::new([(name.to_string(), Vec::new())]).unwrap_err(),
                BadName {
                    name: name.to_string(),
                    why
                }
            );
        }
        let twice = Sent::new([
            ("go.mod".to_string(), Vec::new()),
            ("./go.mod".to_string(), Vec::new()),
        ]);
        assert_eq!(
            twice.unwrap_err().why,
            "sent twice (the same file under two names)"
        );
    }
}
