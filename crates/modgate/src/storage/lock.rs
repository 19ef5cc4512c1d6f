//! Single-flight locks: who may fetch an entry that is not stored yet. The cache takes
//! the lock named after the entry before it asks the source, then looks in the store
//! again (a holder before it may have stored it). In one process the cache's own flights
//! already share one fetch, so [`LocalLocks`] is never contended there; a shared
//! implementation (one lock for several replicas: `crate::cluster::RedisLocks`) plugs in
//! here; its lease can be lost (a holder stalled past it), which the holder must check
//! before it writes ([`Held::still_held`]).

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;

/// A held lock, released when dropped.
pub struct Held {
    _guard: Box<dyn Send + Sync>,
    lease: Option<Arc<dyn Lease>>,
}

/// A lock that may be lost before it is released (a lease that ran out).
#[async_trait]
pub trait Lease: Send + Sync {
    /// Whether this holder still holds the lock: false once another holder may have it.
    async fn still_held(&self) -> bool;
}

impl Held {
    /// A lock held until `guard` is dropped, never lost before.
    pub fn new(guard: Box<dyn Send + Sync>) -> Held {
        Held {
            _guard: guard,
            lease: None,
        }
    }

    /// A lock held until `guard` is dropped, or until `lease` says it is lost.
    pub fn leased(guard: Box<dyn Send + Sync>, lease: Arc<dyn Lease>) -> Held {
        Held {
            _guard: guard,
            lease: Some(lease),
        }
    }

    /// The lease, if the lock can be lost.
    pub fn lease(&self) -> Option<Arc<dyn Lease>> {
        self.lease.clone()
    }
}

/// Named locks.
#[async_trait]
pub trait Locks: Send + Sync {
    /// Waits until this caller holds the lock `name`.
    async fn lock(&self, name: &str) -> io::Result<Held>;
}

/// Locks within this process.
#[derive(Default)]
pub struct LocalLocks {
    held: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

/// Above this many names, names nobody holds are forgotten.
const SWEEP_AT: usize = 1024;

#[async_trait]
impl Locks for LocalLocks {
    async fn lock(&self, name: &str) -> io::Result<Held> {
        let m = {
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            if held.len() >= SWEEP_AT {
                held.retain(|_, w| w.strong_count() > 0);
            }
            match held.get(name).and_then(Weak::upgrade) {
                Some(m) => m,
                None => {
                    let m = Arc::new(tokio::sync::Mutex::new(()));
                    held.insert(name.to_string(), Arc::downgrade(&m));
                    m
                }
            }
        };
        Ok(Held::new(Box::new(m.lock_owned().await)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn one_holder_per_name_and_names_are_forgotten() {
        let locks = Arc::new(LocalLocks::default());
        let a = locks.lock("zip m@v1").await.unwrap();
        // Another name is free.
        let _b = locks.lock("zip m@v2").await.unwrap();
        let l = Arc::clone(&locks);
        let waiter = tokio::spawn(async move { l.lock("zip m@v1").await.map(|_| ()) });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        drop(a);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        for i in 0..SWEEP_AT + 1 {
            drop(locks.lock(&format!("n{i}")).await.unwrap());
        }
        // Swept when the 1,024th name came; `zip m@v2` (held) and the last three remain.
        assert_eq!(locks.held.lock().unwrap().len(), 4);
    }
}
