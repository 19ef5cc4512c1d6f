//! What was read of immutable objects, kept so that each is read once: a commit's
//! time, and a file's content at a commit (`<hash>:<path>`, or its absence). Both are fixed
//! by the commit hash, so they never go stale; the go command's `cachingRepo` keeps the same.
//! Shared by every repository of a git source, bounded in entries and bytes.

use std::sync::Arc;

/// Bytes of file contents kept (go.mod files, LICENSEs: small).
const FILE_BYTES: u64 = 32 << 20;
/// Commit times kept.
const COMMITS: usize = 200_000;

#[derive(Clone)]
struct FileWeight;

impl quick_cache::Weighter<String, Option<Arc<[u8]>>> for FileWeight {
    fn weight(&self, key: &String, val: &Option<Arc<[u8]>>) -> u64 {
        (key.len() + val.as_ref().map_or(0, |v| v.len()) + 64) as u64
    }
}

/// The memo of commit times and file contents.
pub struct Objects {
    commits: quick_cache::sync::Cache<String, i64>,
    files: quick_cache::sync::Cache<String, Option<Arc<[u8]>>, FileWeight>,
}

impl Default for Objects {
    fn default() -> Objects {
        Objects {
            commits: quick_cache::sync::Cache::new(COMMITS),
            files: quick_cache::sync::Cache::with_weighter(16_384, FILE_BYTES, FileWeight),
        }
    }
}

impl Objects {
    /// The commit time (Unix seconds) of the full hash `hash`, when known.
    pub fn commit_time(&self, hash: &str) -> Option<i64> {
        self.commits.get(hash)
    }

    /// Remembers the commit time of the full hash `hash`.
    pub fn set_commit_time(&self, hash: &str, time: i64) {
        self.commits.insert(hash.to_string(), time);
    }

    /// The content of `file` at commit `hash` (`Some(None)`: known to be absent).
    pub fn file(&self, hash: &str, file: &str) -> Option<Option<Arc<[u8]>>> {
        self.files.get(&file_key(hash, file))
    }

    /// Remembers the content (or absence) of `file` at commit `hash`.
    pub fn set_file(&self, hash: &str, file: &str, content: Option<Arc<[u8]>>) {
        self.files.insert(file_key(hash, file), content);
    }
}

fn file_key(hash: &str, file: &str) -> String {
    format!("{hash}:{file}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_times_contents_and_absences() {
        let o = Objects::default();
        let h = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(o.commit_time(h), None);
        o.set_commit_time(h, 1_700_000_000);
        assert_eq!(o.commit_time(h), Some(1_700_000_000));
        assert_eq!(o.file(h, "go.mod"), None);
        o.set_file(h, "go.mod", Some(Arc::from(&b"module m\n"[..])));
        o.set_file(h, "v2/go.mod", None);
        assert_eq!(
            o.file(h, "go.mod"),
            Some(Some(Arc::from(&b"module m\n"[..])))
        );
        assert_eq!(o.file(h, "v2/go.mod"), Some(None));
        assert_eq!(o.file(h, "LICENSE"), None);
    }
}
