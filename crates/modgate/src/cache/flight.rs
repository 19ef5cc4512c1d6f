//! Single-flight: concurrent requests for the same entry share one source call, which
//! runs in its own task under the store's lock for that entry (so it completes, and is stored, even if every client leaves), and
//! a "not found" answer is remembered for the negative-cache lifetime.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;
use tracing::Instrument;

use super::{Cache, Flight, Inner, internal, lock};
use crate::error::{Error, Kind};
use crate::storage::Lease;

tokio::task_local! {
    /// The lease of the single-flight lock the current fetch holds, when it can be lost
    /// (a lock shared through Redis): checked before anything is stored.
    static LEASE: Option<Arc<dyn Lease>>;
}

/// Whether the current fetch may store a short-lived entry it got: false when its shared
/// lock's lease was lost to another replica (which then stores its own, newer answer).
pub(super) async fn may_store(what: &str) -> bool {
    let Ok(Some(lease)) = LEASE.try_with(Clone::clone) else {
        return true;
    };
    let held = lease.still_held().await;
    if !held {
        tracing::warn!(
            entry = what,
            "not storing: this replica's single-flight lease ran out and another replica holds it now"
        );
    }
    held
}

/// The `kind` label of a flight's key (`zip m@v`, `@v/list m`, ...).
fn lookup_kind(key: &str) -> &'static str {
    match key.split(' ').next() {
        Some("zip") => "zip",
        Some("mod") => "mod",
        Some("info") => "info",
        Some("query") => "query",
        Some("@v/list") => "list",
        Some("@latest") => "latest",
        _ => "sumdb",
    }
}

/// The Redis key of a shared "not found" answer for the flight `key`.
fn negative_key(key: &str) -> String {
    format!("modgate:negative:{key}")
}

fn encode_negative(e: &Error) -> Vec<u8> {
    let kind = if e.kind() == Kind::Refused {
        b'r'
    } else {
        b'n'
    };
    let mut v = vec![kind];
    v.extend_from_slice(e.message().as_bytes());
    v
}

/// A "not found" another replica remembered for the flight `key`, if any.
async fn shared_negative(inner: &Inner, key: &str) -> Option<Error> {
    let v = inner.shared.get()?.get(&negative_key(key)).await?;
    let (kind, message) = v.split_first()?;
    let message = String::from_utf8_lossy(message).into_owned();
    Some(match kind {
        b'r' => Error::refused(message),
        _ => Error::not_found(message),
    })
}

impl Cache {
    /// Runs `work` once for all concurrent callers with the same `key`, in its own task,
    /// remembering a not-found answer for the negative-cache lifetime.
    pub(crate) async fn single_flight<T, F>(&self, key: String, work: F) -> Result<T, Error>
    where
        T: Clone + Send + Sync + 'static,
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        let m = crate::metrics::metrics();
        if let Some((at, e)) = self.inner.negative.get(&key)
            && at.elapsed() < self.inner.settings.negative_ttl
        {
            super::looked(lookup_kind(&key), "negative");
            return Err(e.clone());
        }
        super::looked(lookup_kind(&key), "miss");
        let flight: Flight<T> = {
            let mut flights = lock(&self.inner.flights);
            match flights
                .get(&key)
                .and_then(|f| f.downcast_ref::<Flight<T>>())
            {
                Some(f) => {
                    m.single_flight_joins.inc();
                    f.clone()
                }
                None => {
                    let inner = Arc::clone(&self.inner);
                    let k = key.clone();
                    // The task removes its own entry; it cannot do so before the entry is
                    // inserted, because that needs the lock held here.
                    let task = tokio::spawn(
                        async move {
                            // The store's lock for this entry: with a shared store, one
                            // holder fetches; the others then find it stored.
                            let r = match inner.store.lock(&k).await {
                                Ok(held) => match shared_negative(&inner, &k).await {
                                    // Another replica found it missing just now.
                                    Some(e) => Err(e),
                                    None => LEASE.scope(held.lease(), work).await,
                                },
                                Err(e) => Err(internal(format!("single-flight lock {k}: {e}"))),
                            };
                            if let Err(e) = &r
                                && e.is_not_found()
                            {
                                inner
                                    .negative
                                    .insert(k.clone(), (Instant::now(), e.clone()));
                                if let Some(s) = inner.shared.get() {
                                    s.put(
                                        &negative_key(&k),
                                        &encode_negative(e),
                                        inner.settings.negative_ttl,
                                    )
                                    .await;
                                }
                            }
                            lock(&inner.flights).remove(&k);
                            r
                        }
                        // The fetch logs under the span (request id) of the request that
                        // started it.
                        .instrument(tracing::Span::current()),
                    );
                    let f: Flight<T> = async move {
                        task.await
                            .unwrap_or_else(|e| Err(internal(format!("fetch task failed: {e}"))))
                    }
                    .boxed()
                    .shared();
                    flights.insert(key, Box::new(f.clone()));
                    f
                }
            }
        };
        flight.await
    }
}
