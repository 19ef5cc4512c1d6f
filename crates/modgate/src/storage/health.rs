//! A remote storage's health (S3-compatible storage): when it stops answering, every call
//! to it fails at once for a short while (instead of each waiting out its own retries)
//! with an [`Unavailable`] error, which the cache reads as "not stored" and answers from
//! the upstreams; the change is logged once each way and shown as `modgate_storage_up`.
//! After [`RETRY_AFTER`], the next call tries the storage again: when it answers, modgate
//! says so and stores again.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;

use super::blob::{Blob, Blobs, ByteStream, Listed, Stat};
use super::key::Key;
use super::staging::Staged;

/// How long calls fail at once after the storage failed, before one is tried again.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// The error of a call to a storage that does not answer (see [`is_unavailable`]).
#[derive(Debug)]
pub struct Unavailable(pub String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unavailable {}

/// Whether `e` says the storage does not answer (rather than that an object is bad, or
/// the local disk full).
pub fn is_unavailable(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|i| i.is::<Unavailable>())
}

/// A lookup's result with a storage that does not answer read as a miss: the caller
/// fetches (and checks) what it wanted, as for anything not stored.
pub fn or_miss<T>(r: io::Result<Option<T>>) -> io::Result<Option<T>> {
    match r {
        Err(e) if is_unavailable(&e) => Ok(None),
        r => r,
    }
}

/// A write's result with a storage that does not answer read as done: what was to be
/// stored is served all the same, and stored on a later fetch once the storage answers.
pub fn or_skipped(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if is_unavailable(&e) => {
            tracing::debug!(error = %e, "not stored");
            Ok(())
        }
        r => r,
    }
}

/// Whether the storage answers, as the last calls found.
#[derive(Debug, Default)]
pub struct Health {
    /// Since when it does not, the last failure's time, and why.
    down: Mutex<Option<(Instant, Instant, String)>>,
}

impl Health {
    /// `None` while the storage answers; else since how long it does not, and why.
    pub fn down(&self) -> Option<(Duration, String)> {
        let d = self.down.lock().unwrap_or_else(|p| p.into_inner());
        d.as_ref()
            .map(|(since, _, why)| (since.elapsed(), why.clone()))
    }

    /// The error for a call not made because the storage failed less than
    /// [`RETRY_AFTER`] ago, if so. Past that, one call goes through as the trial (the
    /// others keep failing at once while it runs: a storage that hangs does not hold
    /// every request).
    fn skip(&self, what: &dyn std::fmt::Display) -> Option<io::Error> {
        let mut d = self.down.lock().unwrap_or_else(|p| p.into_inner());
        let (since, last, why) = d.as_mut()?;
        if last.elapsed() >= RETRY_AFTER {
            *last = Instant::now();
            return None;
        }
        Some(unavailable(format!(
            "{what}: the storage does not answer (for {}s: {why})",
            since.elapsed().as_secs()
        )))
    }

    fn answered(&self, describe: &str) {
        let mut d = self.down.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((since, _, _)) = d.take() {
            tracing::warn!(
                storage = describe,
                "the storage answers again after {}s: what is fetched is stored again",
                since.elapsed().as_secs()
            );
            crate::metrics::metrics().storage_up.set(1);
        }
    }

    fn failed(&self, describe: &str, e: &io::Error) {
        let mut d = self.down.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match d.as_mut() {
            Some((_, last, why)) => {
                *last = now;
                *why = e.to_string();
            }
            None => {
                tracing::warn!(
                    storage = describe,
                    error = %e,
                    "the storage does not answer: modules are answered from the upstreams (checked as always) and not stored until it does; tried again every {}s",
                    RETRY_AFTER.as_secs()
                );
                crate::metrics::metrics().storage_up.set(0);
                *d = Some((now, now, e.to_string()));
            }
        }
    }
}

fn unavailable(m: String) -> io::Error {
    io::Error::other(Unavailable(m))
}

/// Whether `e`, from a remote storage, means it does not answer: not an answer about the
/// object (missing, already there, bad), not a refusal of these credentials, not the
/// local disk (a staged file that cannot be read, a full disk).
fn is_outage(e: &io::Error) -> bool {
    !matches!(
        e.kind(),
        io::ErrorKind::NotFound
            | io::ErrorKind::AlreadyExists
            | io::ErrorKind::InvalidData
            | io::ErrorKind::InvalidInput
            | io::ErrorKind::PermissionDenied
            | io::ErrorKind::StorageFull
            | io::ErrorKind::QuotaExceeded
    ) && !e.to_string().starts_with(LOCAL)
}

/// How a backend's error about a local file (the staged file it sends) begins: never an
/// outage of the storage.
pub const LOCAL: &str = "local file: ";

/// A remote backend whose calls go through its [`Health`].
pub struct Guarded {
    inner: Box<dyn Blobs>,
    health: Arc<Health>,
}

impl Guarded {
    /// `inner`, watched by `health`.
    pub fn new(inner: Box<dyn Blobs>, health: Arc<Health>) -> Guarded {
        crate::metrics::metrics().storage_up.set(1);
        Guarded { inner, health }
    }

    async fn call<T>(
        &self,
        what: &str,
        key: &(dyn std::fmt::Display + Sync),
        f: impl std::future::Future<Output = io::Result<T>>,
    ) -> io::Result<T> {
        // Formatted only when the call is not made: no work on the way of every call.
        struct Call<'a>(&'a str, &'a (dyn std::fmt::Display + Sync));
        impl std::fmt::Display for Call<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{} {}", self.0, self.1)
            }
        }
        if let Some(e) = self.health.skip(&Call(what, key)) {
            return Err(e);
        }
        match f.await {
            Ok(v) => {
                self.health.answered(&self.inner.describe());
                Ok(v)
            }
            Err(e) if is_outage(&e) => {
                self.health.failed(&self.inner.describe(), &e);
                Err(unavailable(e.to_string()))
            }
            Err(e) => {
                self.health.answered(&self.inner.describe());
                Err(e)
            }
        }
    }
}

#[async_trait]
impl Blobs for Guarded {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn get(&self, key: &Key) -> io::Result<Option<Blob>> {
        self.call("reading", key, self.inner.get(key)).await
    }

    async fn stat(&self, key: &Key) -> io::Result<Option<Stat>> {
        self.call("looking up", key, self.inner.stat(key)).await
    }

    async fn put(&self, key: &Key, data: Bytes) -> io::Result<()> {
        self.call("writing", key, self.inner.put(key, data)).await
    }

    async fn put_staged(&self, key: &Key, file: Staged) -> io::Result<()> {
        self.call("writing", key, self.inner.put_staged(key, file))
            .await
    }

    async fn delete(&self, key: &Key) -> io::Result<bool> {
        self.call("removing", key, self.inner.delete(key)).await
    }

    async fn read_range(&self, key: &Key, start: u64, len: u64) -> io::Result<Option<ByteStream>> {
        self.call("reading", key, self.inner.read_range(key, start, len))
            .await
    }

    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> io::Result<Vec<Listed>> {
        self.call("listing", &prefix, self.inner.list(prefix, after, limit))
            .await
    }

    async fn local_file(&self, key: &Key) -> io::Result<Option<std::fs::File>> {
        self.call("reading", key, self.inner.local_file(key)).await
    }

    async fn presign(&self, key: &Key) -> io::Result<Option<String>> {
        self.inner.presign(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_told_from_an_answer_about_the_object() {
        let h = Health::default();
        assert_eq!(h.down(), None);
        assert!(h.skip(&"reading k").is_none());
        h.failed("s3://b", &io::Error::other("connection refused"));
        let e = h.skip(&"reading k").unwrap();
        assert!(!is_outage(&io::Error::other(format!(
            "{LOCAL}reading /tmp/x: EIO"
        ))));
        assert!(!is_outage(&io::Error::new(
            io::ErrorKind::PermissionDenied,
            "403"
        )));
        assert!(is_unavailable(&e));
        assert!(
            e.to_string()
                .starts_with("reading k: the storage does not answer (for 0s: connection refused)"),
            "{e}"
        );
        assert_eq!(
            h.down().map(|(_, why)| why),
            Some("connection refused".into())
        );
        // Past the pause one call is let through as the trial; the next still fails.
        if let Some((_, last, _)) = h.down.lock().unwrap().as_mut() {
            *last = Instant::now() - RETRY_AFTER;
        }
        assert!(h.skip(&"reading k").is_none());
        assert!(h.skip(&"reading k").is_some());
        h.answered("s3://b");
        assert_eq!(h.down(), None);
        assert!(!is_unavailable(&io::Error::other("x")));
        assert!(is_outage(&io::Error::other("timed out")));
        assert!(!is_outage(&io::Error::new(
            io::ErrorKind::NotFound,
            "no such key"
        )));
    }
}
