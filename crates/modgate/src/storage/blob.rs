//! The storage backend's interface: whole objects by [`Key`], written complete or not at
//! all. A directory (`disk.rs`) implements it; object storage will.

use std::io;
use std::pin::Pin;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;

use super::key::Key;
use super::staging::Staged;

/// A stored object's content and when it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// The content.
    pub data: Bytes,
    /// When it was written (for the age of short-lived entries).
    pub modified: SystemTime,
}

impl Blob {
    /// How long ago it was written (zero for a time in the future).
    pub fn age(&self) -> std::time::Duration {
        SystemTime::now()
            .duration_since(self.modified)
            .unwrap_or_default()
    }
}

/// A stored object's size and time, without its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Its size in bytes.
    pub size: u64,
    /// When it was written.
    pub modified: SystemTime,
}

/// An object found by [`Blobs::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its name (as [`Key::name`] gives it).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was written.
    pub modified: std::time::SystemTime,
}

/// Part of an object, as it is read.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// Where the entries are kept. A reader sees a complete object or none: `put` and
/// `put_staged` make an object visible only once all of it is written. Errors are
/// `io::Error`s whose text says what failed, on which object, where.
#[async_trait]
pub trait Blobs: Send + Sync {
    /// Where this is, for logs and errors (`directory /srv/modgate`).
    fn describe(&self) -> String;

    /// The object named `key`, or `None` when there is none.
    async fn get(&self, key: &Key) -> io::Result<Option<Blob>>;

    /// The size and time of the object named `key`, or `None`.
    async fn stat(&self, key: &Key) -> io::Result<Option<Stat>>;

    /// Stores `data` as the whole object `key`, replacing any.
    async fn put(&self, key: &Key, data: Bytes) -> io::Result<()>;

    /// Stores the complete staged file as the object `key` (streamed, never held in
    /// memory), replacing any. The staged file is consumed either way.
    async fn put_staged(&self, key: &Key, file: Staged) -> io::Result<()>;

    /// Removes the object `key`; whether there was one. Removing what is not there is no
    /// error. (Required, so that a wrapper cannot forget to forward it.)
    async fn delete(&self, key: &Key) -> io::Result<bool>;

    /// `len` bytes of the object `key` from byte `start` on, streamed; `None` when there
    /// is no such object.
    async fn read_range(&self, key: &Key, start: u64, len: u64) -> io::Result<Option<ByteStream>>;

    /// The objects whose names start with `prefix` (a name prefix, not only whole path
    /// elements), in name order (bytewise, as S3 lists), those after `after` only, at
    /// most `limit` of them: their names and sizes.
    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> io::Result<Vec<Listed>>;

    /// The object `key` as an open local file, when this backend keeps objects in files
    /// (so that a response may be sent straight from it); `None` otherwise, or when there
    /// is no such object.
    /// (Required, so that a wrapper cannot forget to forward it.)
    async fn local_file(&self, key: &Key) -> io::Result<Option<std::fs::File>>;

    /// A URL a client may GET the object `key` from itself (a presigned URL), when this
    /// backend is set to hand them out; `None` otherwise.
    async fn presign(&self, _key: &Key) -> io::Result<Option<String>> {
        Ok(None)
    }
}
