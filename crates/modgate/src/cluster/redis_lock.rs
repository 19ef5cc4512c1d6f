//! The single-flight lock across replicas: a Redis key per entry, taken with `SET NX`
//! for a lease (10 s) that the holder renews every 3 s while it works, released when
//! the holder is done. A holder killed mid-fetch stops renewing; its lease runs out and
//! the next waiter takes the lock, looks in the store, and fetches.
//!
//! Fencing: each taking of a lock gets the next number of that lock's counter (in the
//! same hash slot), written into the lock's value. Before the holder stores anything it
//! asks whether the lock still carries its number ([`Lease::still_held`]); a holder that
//! stalled past its lease (and was succeeded) stores nothing. Immutable entries are also
//! created only once by the storage itself (S3 `PutMode::Create`), so even a write racing
//! that check cannot replace what a successor stored.
//!
//! Within one process the [`LocalLocks`] are taken first, so one task per process polls
//! Redis; a release is announced on a channel that wakes the waiters of every replica at
//! once (`wake.rs`), the polling being the fallback. When Redis is down, the local lock alone is held: each replica fetches on its
//! own, as it would without `--redis`.

use std::io;
use std::sync::Arc;
use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;

use super::Shared;
use crate::storage::{Held, Lease, LocalLocks, Locks};

/// How long a lock lives without renewal.
pub const LEASE: Duration = Duration::from_secs(10);
/// How often its holder renews it.
const RENEW_EVERY: Duration = Duration::from_secs(3);
/// How long a fence counter is kept after the lock was last taken.
const FENCE_KEPT: Duration = Duration::from_secs(24 * 3600);

/// Takes the lock `KEYS[1]` (value `ARGV[1]/<n>`, lease `ARGV[2]` ms) when free, `n`
/// the next number of the counter `KEYS[2]`; returns `n`, or 0 when the lock is held.
static TAKE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end \
         local n = redis.call('INCR', KEYS[2]) \
         redis.call('PEXPIRE', KEYS[2], ARGV[3]) \
         redis.call('SET', KEYS[1], ARGV[1] .. '/' .. n, 'PX', ARGV[2]) \
         return n",
    )
});
/// Extends the lease when the lock still has this holder's value: 1, else 0.
static RENEW: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then \
           return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end \
         return 0",
    )
});
/// Deletes the lock when it still has this holder's value, and announces it on the
/// channel `ARGV[2]` (its waiters in other replicas try again at once).
static RELEASE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then \
           redis.call('DEL', KEYS[1]) \
           redis.call('PUBLISH', ARGV[2], KEYS[1]) \
           return 1 end \
         return 0",
    )
});

/// Single-flight locks shared by the replicas using one Redis.
pub struct RedisLocks {
    shared: Arc<Shared>,
    local: LocalLocks,
}

impl RedisLocks {
    /// Locks through `shared`.
    pub fn new(shared: Arc<Shared>) -> RedisLocks {
        RedisLocks {
            shared,
            local: LocalLocks::default(),
        }
    }
}

/// The Redis keys of the lock `name` and of its fence counter (one hash tag: one slot).
fn keys(name: &str) -> (String, String) {
    // `{` and `}` would end the hash tag early; lock names are module paths, versions
    // and queries, where they are rare, but keep the tag whole.
    let tag = name.replace(['{', '}'], "_");
    (
        format!("modgate:lock:{{{tag}}}"),
        format!("modgate:fence:{{{tag}}}"),
    )
}

/// A lock held in Redis, as its holder's lease.
struct Leased {
    shared: Arc<Shared>,
    key: String,
    value: String,
}

#[async_trait]
impl Lease for Leased {
    async fn still_held(&self) -> bool {
        if !self.shared.usable() {
            // Redis is down: nobody can take the lock from us through it.
            return true;
        }
        match self
            .shared
            .call::<Option<String>>("GET", redis::cmd("GET").arg(&self.key).clone())
            .await
        {
            Some(v) => v.as_deref() == Some(self.value.as_str()),
            // Failed just now: as when down.
            None => true,
        }
    }
}

/// Renews a [`Leased`] lock until dropped, then releases it.
struct Renewed {
    lock: Arc<Leased>,
    renew: tokio::task::JoinHandle<()>,
}

impl Drop for Renewed {
    fn drop(&mut self) {
        self.renew.abort();
        let lock = Arc::clone(&self.lock);
        // Released in the background: the holder's answer does not wait for it. Should
        // it fail, the lease runs out.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _: Option<i64> = lock
                    .shared
                    .script(
                        "release lock",
                        &RELEASE,
                        &[&lock.key],
                        &[lock.value.as_bytes(), super::wake::CHANNEL.as_bytes()],
                    )
                    .await;
            });
        }
    }
}

#[async_trait]
impl Locks for RedisLocks {
    async fn lock(&self, name: &str) -> io::Result<Held> {
        let local = self.local.lock(name).await?;
        let (key, fence) = keys(name);
        let lease_ms = LEASE.as_millis().to_string();
        let kept_ms = FENCE_KEPT.as_millis().to_string();
        // Polls from 10 ms up to 200 ms; a release announced meanwhile ends a pause.
        let mut pause = Duration::from_millis(10);
        let waiter = self.shared.wakeups.waiter(&key);
        loop {
            if !self.shared.usable() {
                return Ok(local);
            }
            let taken: Option<i64> = self
                .shared
                .script(
                    "take lock",
                    &TAKE,
                    &[&key, &fence],
                    &[
                        self.shared.replica.as_bytes(),
                        lease_ms.as_bytes(),
                        kept_ms.as_bytes(),
                    ],
                )
                .await;
            match taken {
                // Redis failed: on our own.
                None => return Ok(local),
                Some(0) => {
                    waiter.wait(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
                Some(n) => {
                    let lock = Arc::new(Leased {
                        shared: Arc::clone(&self.shared),
                        key,
                        value: format!("{}/{n}", self.shared.replica),
                    });
                    let renewed = Renewed {
                        lock: Arc::clone(&lock),
                        renew: tokio::spawn(renew(Arc::clone(&lock))),
                    };
                    // Released (in Redis, then in this process) when the holder drops it.
                    return Ok(Held::leased(Box::new((renewed, local)), lock));
                }
            }
        }
    }
}

/// Renews `lock`'s lease until aborted, or until the lock is found lost.
async fn renew(lock: Arc<Leased>) {
    let lease_ms = LEASE.as_millis().to_string();
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        if !lock.shared.usable() {
            continue;
        }
        let r: Option<i64> = lock
            .shared
            .script(
                "renew lock",
                &RENEW,
                &[&lock.key],
                &[lock.value.as_bytes(), lease_ms.as_bytes()],
            )
            .await;
        if r == Some(0) {
            tracing::warn!(
                lock = %lock.key,
                "the single-flight lease ran out before this replica renewed it; another replica may fetch the same entry, and this one will store no short-lived entry"
            );
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_and_fence_share_a_hash_tag() {
        assert_eq!(
            keys("zip example.com/m@v1.0.0"),
            (
                "modgate:lock:{zip example.com/m@v1.0.0}".to_string(),
                "modgate:fence:{zip example.com/m@v1.0.0}".to_string()
            )
        );
        assert_eq!(keys("q m@{x}").0, "modgate:lock:{q m@_x_}");
    }

    /// Against a real Redis: one holder across two replicas, the next one in when it is
    /// released, fencing numbers that grow, a lost lease seen, and each replica on its
    /// own when Redis is gone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_holder_across_replicas() {
        let mut redis = testkit::redis::Redis::start();
        let (one, two) = (
            RedisLocks::new(Shared::connect(&redis.url()).unwrap()),
            RedisLocks::new(Shared::connect(&redis.url()).unwrap()),
        );
        let name = "zip example.com/m@v1.0.0";
        let held = one.lock(name).await.unwrap();
        let lease = held.lease().expect("a leased lock");
        assert!(lease.still_held().await);
        let value = redis.command(&["GET", "modgate:lock:{zip example.com/m@v1.0.0}"]);
        assert!(value.as_deref().unwrap().ends_with("/1"), "{value:?}");
        let two = Arc::new(two);
        let t = Arc::clone(&two);
        let waiter = tokio::spawn(async move { t.lock(name).await.map(|h| h.lease().is_some()) });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiter.is_finished(), "two holders at once");
        drop(held);
        let leased = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(leased);
        // The waiter got the next fencing number; then its lease is taken from it (as
        // when it stalled past it and another replica took the lock).
        let held = two.lock("other").await.unwrap();
        let lease = held.lease().unwrap();
        assert_eq!(
            redis
                .command(&["SET", "modgate:lock:{other}", "someone-else/9"])
                .as_deref(),
            Some("+OK")
        );
        assert!(!lease.still_held().await);
        drop(held);
        // Released only by its holder: someone else's lock stays.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            redis.command(&["GET", "modgate:lock:{other}"]).as_deref(),
            Some("someone-else/9")
        );
        // Redis gone: at once, a local lock.
        redis.stop();
        let held = tokio::time::timeout(Duration::from_secs(5), one.lock("third"))
            .await
            .unwrap()
            .unwrap();
        assert!(held.lease().is_none());
    }

    /// A release is announced on the wake-up channel with the lock's key; someone else's
    /// lock, not released, is not.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_release_is_announced() {
        use futures_util::StreamExt;
        let redis = testkit::redis::Redis::start();
        let mut pubsub = redis::Client::open(redis.url())
            .unwrap()
            .get_async_pubsub()
            .await
            .unwrap();
        pubsub.subscribe(super::super::wake::CHANNEL).await.unwrap();
        let locks = RedisLocks::new(Shared::connect(&redis.url()).unwrap());
        let held = locks.lock("zip example.com/m@v1.0.0").await.unwrap();
        drop(held);
        let mut messages = pubsub.on_message();
        let msg = tokio::time::timeout(Duration::from_secs(5), messages.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            msg.get_payload::<String>().unwrap(),
            "modgate:lock:{zip example.com/m@v1.0.0}"
        );
    }
}
