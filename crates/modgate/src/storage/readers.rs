//! Which module versions this process is reading for a client now (a zip being sent),
//! whatever the backend: a forced purge is refused for them (`cache/purge.rs`), on this
//! replica and, asked through Redis, on the others. On a counted local disk the reader
//! also holds the version in the ledger, so that it is not evicted meanwhile.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::evict::InUse;

/// The versions being read, each with how many readers it has.
#[derive(Debug, Default)]
pub struct Readers(Mutex<HashMap<String, usize>>);

impl Readers {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a reader of the version `id` (a version's name in the store, without its
    /// file's extension) until the returned guard is dropped; `kept` is held as long.
    pub fn read(self: &Arc<Self>, id: &str, kept: Option<InUse>) -> Reader {
        *self.lock().entry(id.to_string()).or_default() += 1;
        Reader {
            readers: Arc::clone(self),
            id: id.to_string(),
            _kept: kept,
        }
    }

    /// Whether the version `id` has a reader now.
    pub fn busy(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }
}

/// One reader of a version (see [`Readers::read`]).
pub struct Reader {
    readers: Arc<Readers>,
    id: String,
    _kept: Option<InUse>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Reader({})", self.id)
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let mut map = self.readers.lock();
        if let Some(n) = map.get_mut(&self.id) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_busy_while_any_reader_lives() {
        let r = Arc::new(Readers::default());
        assert!(!r.busy("m/@v/v1.0.0"));
        let a = r.read("m/@v/v1.0.0", None);
        let b = r.read("m/@v/v1.0.0", None);
        assert!(r.busy("m/@v/v1.0.0"));
        assert!(!r.busy("m/@v/v1.0.1"));
        drop(a);
        assert!(r.busy("m/@v/v1.0.0"));
        drop(b);
        assert!(!r.busy("m/@v/v1.0.0"));
        assert!(r.lock().is_empty());
    }
}
