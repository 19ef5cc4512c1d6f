//! The local staging area: files being fetched and checked before they are stored (a zip
//! is written here whole, checked, hashed, then handed to the store). Whatever the
//! storage, staging is a local directory: `<data-dir>/tmp`.
//!
//! A staged file is removed when it is dropped, so an error path cannot leave one behind;
//! files left by a killed process are removed when the area is opened again.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::annotate;

/// The staging directory.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    counter: AtomicU64,
}

impl Staging {
    /// Opens (creating if needed) the staging directory `dir` and removes what a killed
    /// process left in it. The caller holds the directory's lock.
    pub fn open(dir: &Path) -> io::Result<Staging> {
        fs::create_dir_all(dir).map_err(|e| annotate(e, "creating", dir))?;
        for entry in fs::read_dir(dir).map_err(|e| annotate(e, "reading", dir))? {
            let entry = entry.map_err(|e| annotate(e, "reading", dir))?;
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
        Ok(Staging {
            dir: dir.to_path_buf(),
            counter: AtomicU64::new(0),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new staged file (not created yet), named after `hint`.
    pub fn file(&self, hint: &str) -> Staged {
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
        Staged {
            path: Some(
                self.dir
                    .join(format!("{}-{n}-{hint}.tmp", std::process::id())),
            ),
        }
    }
}

/// A file in the staging area, removed when dropped unless the store took it.
#[derive(Debug)]
pub struct Staged {
    path: Option<PathBuf>,
}

impl Staged {
    /// Where to write it.
    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// Takes the file over: it is no longer removed on drop.
    pub(super) fn into_path(mut self) -> PathBuf {
        self.path.take().unwrap_or_default()
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staged_file_is_removed_when_dropped_and_leftovers_when_opened() {
        let d = tempfile::tempdir().unwrap();
        let s = Staging::open(d.path()).unwrap();
        let f = s.file("v1.0.0.zip");
        fs::write(f.path(), b"half").unwrap();
        assert!(f.path().exists());
        let p = f.path().to_path_buf();
        drop(f);
        assert!(!p.exists());
        // A file left by a killed process.
        let f = s.file("v1.0.0/../zip");
        assert!(
            f.path()
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .ends_with("-v1.0.0_.._zip.tmp")
        );
        fs::write(f.path(), b"half").unwrap();
        let kept = f.into_path();
        assert!(kept.exists());
        Staging::open(d.path()).unwrap();
        assert!(!kept.exists());
    }
}
