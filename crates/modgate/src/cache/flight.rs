//! Single-flight: concurrent requests for the same entry share one source call, which
//! runs in its own task under the store's lock for that entry (so it completes, and is stored, even if every client leaves), and
//! a "not found" answer is remembered for the negative-cache lifetime.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;
use tracing::Instrument;

use super::{Cache, Flight, internal, lock};
use crate::error::Error;

impl Cache {
    /// Runs `work` once for all concurrent callers with the same `key`, in its own task,
    /// remembering a not-found answer for the negative-cache lifetime.
    pub(crate) async fn single_flight<T, F>(&self, key: String, work: F) -> Result<T, Error>
    where
        T: Clone + Send + Sync + 'static,
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        if let Some((at, e)) = self.inner.negative.get(&key)
            && at.elapsed() < self.inner.settings.negative_ttl
        {
            return Err(e.clone());
        }
        let flight: Flight<T> = {
            let mut flights = lock(&self.inner.flights);
            match flights
                .get(&key)
                .and_then(|f| f.downcast_ref::<Flight<T>>())
            {
                Some(f) => f.clone(),
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
                                Ok(_held) => work.await,
                                Err(e) => Err(internal(format!("single-flight lock {k}: {e}"))),
                            };
                            if let Err(e) = &r
                                && e.is_not_found()
                            {
                                inner
                                    .negative
                                    .insert(k.clone(), (Instant::now(), e.clone()));
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
