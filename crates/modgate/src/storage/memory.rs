//! The in-memory hot cache, as a wrapper over any backend: small immutable objects
//! (`.info`, `.mod`, `.ziphash`, checksum database files) are kept in memory after their
//! first read or write, so that hot requests touch neither disk nor network. Zips and
//! short-lived entries always go to the backend.

use std::io;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;

use super::blob::{Blob, Blobs, ByteStream, Listed, Stat};
use super::key::{Key, Kind};
use super::staging::Staged;

/// Total bytes of the in-memory copies.
const HOT_BYTES: u64 = 64 << 20;

/// Weighs an in-memory entry by its size (and a little for the key and bookkeeping).
#[derive(Clone)]
struct ByteWeight;

impl quick_cache::Weighter<Key, Blob> for ByteWeight {
    fn weight(&self, key: &Key, val: &Blob) -> u64 {
        (val.data.len() + key.name().len() + 64) as u64
    }
}

/// A backend with a bounded memory of its small immutable objects.
pub struct Hot {
    inner: Box<dyn Blobs>,
    mem: Arc<Memory>,
}

type Memory = quick_cache::sync::Cache<Key, Blob, ByteWeight>;

/// Whether `key`'s object is kept in memory.
fn kept(key: &Key) -> bool {
    key.is_immutable() && key.kind() != Kind::Zip
}

impl Hot {
    /// `inner` with a memory in front.
    pub fn new(inner: Box<dyn Blobs>) -> Hot {
        Hot {
            inner,
            mem: Arc::new(quick_cache::sync::Cache::with_weighter(
                16_384, HOT_BYTES, ByteWeight,
            )),
        }
    }

    /// A function that drops the in-memory copy of a key (for objects removed from the
    /// backend behind this wrapper's back: evicted).
    pub(super) fn forgetter(&self) -> impl Fn(&Key) + Send + Sync + 'static {
        let mem = Arc::clone(&self.mem);
        move |k| {
            mem.remove(k);
        }
    }

    /// Like [`Blobs::get`], but what is read from the backend is kept (and returned) only
    /// when `valid` accepts it: what is in memory has been checked once, and is served
    /// without checking again.
    pub async fn get_checked(
        &self,
        key: &Key,
        valid: impl FnOnce(&[u8]) -> bool + Send,
    ) -> io::Result<Option<Blob>> {
        if let Some(b) = self.mem.get(key) {
            return Ok(Some(b));
        }
        let Some(b) = self.inner.get(key).await? else {
            return Ok(None);
        };
        if !valid(&b.data) {
            return Ok(None);
        }
        if kept(key) {
            self.mem.insert(key.clone(), b.clone());
        }
        Ok(Some(b))
    }
}

#[async_trait]
impl Blobs for Hot {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn get(&self, key: &Key) -> io::Result<Option<Blob>> {
        self.get_checked(key, |_| true).await
    }

    async fn stat(&self, key: &Key) -> io::Result<Option<Stat>> {
        self.inner.stat(key).await
    }

    async fn put(&self, key: &Key, data: Bytes) -> io::Result<()> {
        self.mem.remove(key);
        self.inner.put(key, data.clone()).await?;
        if kept(key) {
            let modified = SystemTime::now();
            self.mem.insert(key.clone(), Blob { data, modified });
        }
        Ok(())
    }

    async fn put_staged(&self, key: &Key, file: Staged) -> io::Result<()> {
        self.mem.remove(key);
        self.inner.put_staged(key, file).await
    }

    async fn delete(&self, key: &Key) -> io::Result<bool> {
        self.mem.remove(key);
        let r = self.inner.delete(key).await;
        // Read back by a racing request between the two: forgotten again.
        self.mem.remove(key);
        r
    }

    async fn read_range(&self, key: &Key, start: u64, len: u64) -> io::Result<Option<ByteStream>> {
        self.inner.read_range(key, start, len).await
    }

    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> io::Result<Vec<Listed>> {
        self.inner.list(prefix, after, limit).await
    }

    async fn local_file(&self, key: &Key) -> io::Result<Option<std::fs::File>> {
        self.inner.local_file(key).await
    }

    async fn presign(&self, key: &Key) -> io::Result<Option<String>> {
        self.inner.presign(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::disk::DiskBlobs;

    #[tokio::test]
    async fn only_checked_entries_are_kept_in_memory() {
        let d = tempfile::tempdir().unwrap();
        let s = Hot::new(Box::new(DiskBlobs::open(d.path()).unwrap()));
        let k = Key::info("example.com/m", "v1.0.0").unwrap();
        let p = d.path().join(k.name());
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"garbage").unwrap();
        let json = |d: &[u8]| d.starts_with(b"{");
        assert_eq!(s.get_checked(&k, json).await.unwrap(), None);
        std::fs::write(&p, b"{}").unwrap();
        let data = |b: Option<Blob>| b.map(|b| b.data);
        assert_eq!(
            data(s.get_checked(&k, json).await.unwrap()).as_deref(),
            Some(&b"{}"[..])
        );
        // Served from memory from now on, unchecked.
        std::fs::remove_file(&p).unwrap();
        assert_eq!(
            data(s.get_checked(&k, |_| false).await.unwrap()).as_deref(),
            Some(&b"{}"[..])
        );
        // What is written is kept too; short-lived entries never are.
        let m = Key::go_mod("example.com/m", "v1.0.0").unwrap();
        s.put(&m, Bytes::from_static(b"module example.com/m\n"))
            .await
            .unwrap();
        std::fs::remove_file(d.path().join(m.name())).unwrap();
        assert!(s.get(&m).await.unwrap().is_some());
        let l = Key::list("example.com/m").unwrap();
        s.put(&l, Bytes::from_static(b"v1.0.0\n")).await.unwrap();
        std::fs::remove_file(d.path().join(l.name())).unwrap();
        assert_eq!(s.get(&l).await.unwrap(), None);
    }
}
