//! What several replicas share through Redis (`--redis`): the single-flight lock with a
//! lease and a fencing token (`redis_lock.rs`), "not found" answers and fresh `@v/list` /
//! `@latest` bodies (so one replica's fetch serves them all), and rate-limit counters.
//!
//! Redis is optional and never on the critical path of an answer: every call is bounded
//! (1 s), and when Redis fails the replica marks it down, says so once in the log (and on
//! `/readyz`), and works on its own: its own lock, its own memories; a probe each second
//! notices an outage on an idle replica too, and marks Redis up again, said once too. Each command touches one key (the lock and its
//! fence counter share a hash tag), so a Redis Cluster proxy can front it.

mod redis_lock;
mod subscription;
mod wake;

pub use redis_lock::RedisLocks;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Bound on one call to Redis.
const CALL_WITHIN: Duration = Duration::from_secs(1);
/// How often Redis is probed (so that an idle replica notices, and says, that it went
/// away or came back).
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// Why `--redis` is not usable (its URL shown with the password hidden).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedisError {
    /// Not a Redis URL.
    #[error("--redis {url}: {reason} (want redis://[USER:PASSWORD@]HOST:PORT/DB)")]
    Url {
        /// The URL, redacted.
        url: String,
        /// Why.
        reason: String,
    },
    /// The client could not be set up.
    #[error("--redis {url}: {reason}")]
    Client {
        /// The URL, redacted.
        url: String,
        /// Why.
        reason: String,
    },
}

/// Whether `url` is a Redis URL this program can use (checked at start-up).
pub fn check_url(url: &str) -> Result<(), RedisError> {
    redis::Client::open(url)
        .map(|_| ())
        .map_err(|e| RedisError::Url {
            url: redact(url),
            reason: e.to_string(),
        })
}

/// `url` with its password replaced, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:xxxxx{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The connection to Redis and whether it is working.
pub struct Shared {
    conn: ConnectionManager,
    url: String,
    up: AtomicBool,
    /// Names this replica in lock values (host name and process id).
    replica: String,
    /// This replica's lock waiters, woken when a holder anywhere releases.
    wakeups: Arc<wake::Wakeups>,
    /// Where broadcasts from the replicas go.
    broadcasts: Arc<subscription::Broadcasts>,
}

impl Shared {
    /// Connects lazily to the Redis at `url` (start-up does not wait for it: a replica
    /// starts and serves while Redis is down) and starts the probe that notices when
    /// Redis goes away or comes back.
    pub fn connect(url: &str) -> Result<Arc<Shared>, RedisError> {
        let failed = |e: redis::RedisError| RedisError::Client {
            url: redact(url),
            reason: e.to_string(),
        };
        let client = redis::Client::open(url).map_err(failed)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CALL_WITHIN))
            .set_response_timeout(Some(CALL_WITHIN))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let wakeups = Arc::new(wake::Wakeups::default());
        let broadcasts = Arc::new(subscription::Broadcasts::default());
        tokio::spawn(subscription::keep(
            client.clone(),
            Arc::downgrade(&wakeups),
            Arc::clone(&broadcasts),
        ));
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(failed)?;
        let shared = Arc::new(Shared {
            conn,
            url: redact(url),
            up: AtomicBool::new(true),
            replica: replica_name(),
            wakeups,
            broadcasts,
        });
        let weak = Arc::downgrade(&shared);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                let Some(s) = weak.upgrade() else { return };
                let _: Option<String> = s.call("PING", redis::cmd("PING")).await;
            }
        });
        crate::metrics::metrics().enable_redis();
        Ok(shared)
    }

    /// Where Redis is (password hidden).
    pub fn describe(&self) -> &str {
        &self.url
    }

    /// This replica's name among the others (host name and process id).
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// Hands every broadcast (this replica's own too) to `listener` from now on (set
    /// once). It is called on the subscription's task: it must not wait.
    pub fn on_broadcast(&self, listener: impl Fn(&[u8]) + Send + Sync + 'static) {
        let _ = self.broadcasts.listener.set(Box::new(listener));
    }

    /// Sends `body` to every replica listening now (this one too); with `logged`, also
    /// kept in the broadcast log, for replicas that reconnect after missing it. How many
    /// replicas received it; `None` when Redis is not usable.
    pub async fn broadcast(&self, body: &[u8], logged: bool) -> Option<u64> {
        if !self.usable() {
            return None;
        }
        let mut payload = b"-".to_vec();
        if logged {
            let id: String = self
                .call(
                    "XADD",
                    redis::cmd("XADD")
                        .arg(subscription::LOG)
                        .arg("MAXLEN")
                        .arg("~")
                        .arg(subscription::LOG_ENTRIES)
                        .arg("*")
                        .arg("m")
                        .arg(body)
                        .clone(),
                )
                .await?;
            payload = id.into_bytes();
        }
        payload.push(b'\n');
        payload.extend_from_slice(body);
        self.call(
            "PUBLISH",
            redis::cmd("PUBLISH")
                .arg(subscription::BROADCASTS)
                .arg(payload)
                .clone(),
        )
        .await
    }

    /// How many replicas (this one included) listen to the broadcasts now; `None` when
    /// Redis is not usable.
    pub async fn listening(&self) -> Option<u64> {
        if !self.usable() {
            return None;
        }
        let (_, n): (String, u64) = self
            .call(
                "PUBSUB",
                redis::cmd("PUBSUB")
                    .arg("NUMSUB")
                    .arg(subscription::BROADCASTS)
                    .clone(),
            )
            .await?;
        Some(n)
    }

    /// Appends `value` to the list `key`, which lives `ttl` (best effort).
    pub async fn push(&self, key: &str, value: &[u8], ttl: Duration) {
        if !self.usable() {
            return;
        }
        static PUSH: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
            redis::Script::new(
                "redis.call('RPUSH', KEYS[1], ARGV[1]) \
                 redis.call('PEXPIRE', KEYS[1], ARGV[2]) \
                 return 1",
            )
        });
        let ms = ttl.as_millis().max(1).to_string();
        let _: Option<i64> = self
            .script("RPUSH", &PUSH, &[key], &[value, ms.as_bytes()])
            .await;
    }

    /// The values of the list `key` (empty when there is none); `None` when Redis is not
    /// usable.
    pub async fn pushed(&self, key: &str) -> Option<Vec<Vec<u8>>> {
        if !self.usable() {
            return None;
        }
        self.call(
            "LRANGE",
            redis::cmd("LRANGE").arg(key).arg(0).arg(-1).clone(),
        )
        .await
    }

    /// Removes `keys` (one command each: a Redis Cluster proxy may hold them on different
    /// nodes); how many there were, `None` when Redis is not usable or failed.
    pub async fn delete(&self, keys: &[String]) -> Option<u64> {
        if !self.usable() {
            return None;
        }
        let mut n = 0;
        for k in keys {
            n += self
                .call::<u64>("DEL", redis::cmd("DEL").arg(k).clone())
                .await?;
        }
        Some(n)
    }

    /// Removes every key matching the glob `pattern` (found with SCAN, each call
    /// bounded); how many, `None` when Redis is not usable or failed.
    pub async fn delete_matching(&self, pattern: &str) -> Option<u64> {
        let mut cursor: u64 = 0;
        let mut n = 0;
        loop {
            if !self.usable() {
                return None;
            }
            let (next, keys): (u64, Vec<String>) = self
                .call(
                    "SCAN",
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(1000)
                        .clone(),
                )
                .await?;
            n += self.delete(&keys).await?;
            if next == 0 {
                return Some(n);
            }
            cursor = next;
        }
    }

    /// False while Redis is marked down: callers then work on their own without asking.
    pub fn usable(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// `None` when Redis answers; else why not (for `/readyz`).
    pub async fn check(&self) -> Option<String> {
        match self.call::<String>("PING", redis::cmd("PING")).await {
            Some(_) => None,
            None => Some(format!(
                "Redis at {} is unreachable: this replica serves on its own (its own single-flight lock and caches) until it is back",
                self.url
            )),
        }
    }

    fn went_down(&self, what: &str, e: &dyn std::fmt::Display) {
        let m = crate::metrics::metrics();
        m.redis_up.set(0);
        if self.up.swap(false, Ordering::Relaxed) {
            m.redis_degradations.inc();
            tracing::warn!(
                redis = %self.url,
                error = %e,
                "Redis failed ({what}): serving on this replica's own (single-flight lock, negative and list caches, rate limits per replica) until it is back"
            );
        }
    }

    fn came_back(&self) {
        crate::metrics::metrics().redis_up.set(1);
        if !self.up.swap(true, Ordering::Relaxed) {
            tracing::info!(redis = %self.url, "Redis is back: replicas share locks and caches again");
        }
    }

    /// Runs `cmd`, bounded; `None` (and Redis marked down) when it fails.
    async fn call<T: redis::FromRedisValue>(&self, what: &str, cmd: redis::Cmd) -> Option<T> {
        let mut conn = self.conn.clone();
        let started = std::time::Instant::now();
        let r = tokio::time::timeout(CALL_WITHIN, cmd.query_async::<T>(&mut conn)).await;
        self.settle(what, started, r)
    }

    /// Runs `script` with `keys` and `args`, bounded, as [`Shared::call`].
    async fn script<T: redis::FromRedisValue>(
        &self,
        what: &str,
        script: &redis::Script,
        keys: &[&str],
        args: &[&[u8]],
    ) -> Option<T> {
        let mut inv = script.prepare_invoke();
        for k in keys {
            inv.key(*k);
        }
        for a in args {
            inv.arg(*a);
        }
        let mut conn = self.conn.clone();
        let started = std::time::Instant::now();
        let r = tokio::time::timeout(CALL_WITHIN, inv.invoke_async::<T>(&mut conn)).await;
        self.settle(what, started, r)
    }

    /// The round trip's value, counted in the metrics; `None` (and Redis marked down)
    /// when it failed.
    fn settle<T>(
        &self,
        what: &str,
        started: std::time::Instant,
        r: Result<redis::RedisResult<T>, tokio::time::error::Elapsed>,
    ) -> Option<T> {
        let outcome = match &r {
            Ok(Ok(_)) => "ok",
            Ok(Err(_)) => "error",
            Err(_) => "timeout",
        };
        crate::metrics::metrics().redis(operation(what), outcome, started.elapsed());
        match r {
            Ok(Ok(v)) => {
                self.came_back();
                Some(v)
            }
            Ok(Err(e)) => {
                self.went_down(what, &e);
                None
            }
            Err(_) => {
                self.went_down(what, &format!("no answer within {CALL_WITHIN:?}"));
                None
            }
        }
    }

    /// Runs `cmd` for the warm jobs' queue (`fleet/`), bounded as every call; `None` when
    /// Redis is not usable or the call failed.
    pub async fn jobs<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Option<T> {
        if !self.usable() {
            return None;
        }
        self.call("jobs", cmd).await
    }

    /// Runs `pipe` as one transaction (MULTI/EXEC) for the warm jobs' queue, bounded.
    pub async fn jobs_atomically(&self, pipe: &redis::Pipeline) -> Option<()> {
        if !self.usable() {
            return None;
        }
        let mut conn = self.conn.clone();
        let started = std::time::Instant::now();
        let r =
            tokio::time::timeout(CALL_WITHIN, pipe.query_async::<redis::Value>(&mut conn)).await;
        self.settle("jobs", started, r).map(|_| ())
    }

    /// Runs `script` for the warm jobs' queue, bounded.
    pub async fn jobs_script<T: redis::FromRedisValue>(
        &self,
        script: &redis::Script,
        keys: &[&str],
        args: &[&[u8]],
    ) -> Option<T> {
        if !self.usable() {
            return None;
        }
        self.script("jobs", script, keys, args).await
    }

    /// The value of `key`, if Redis is usable and has it.
    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        if !self.usable() {
            return None;
        }
        self.call::<Option<Vec<u8>>>("GET", redis::cmd("GET").arg(key).clone())
            .await
            .flatten()
    }

    /// Sets `key` to `value` for `ttl` (best effort).
    pub async fn put(&self, key: &str, value: &[u8], ttl: Duration) {
        if !self.usable() || ttl.is_zero() {
            return;
        }
        let ms = ttl.as_millis().max(1) as u64;
        let _: Option<()> = self
            .call(
                "SET",
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("PX")
                    .arg(ms)
                    .clone(),
            )
            .await;
    }

    /// Adds one to the counter `key` (created to live `ttl`) and returns its new value;
    /// `None` when Redis is not usable.
    pub async fn count(&self, key: &str, ttl: Duration) -> Option<u64> {
        if !self.usable() {
            return None;
        }
        static COUNT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
            redis::Script::new(
                "local n = redis.call('INCR', KEYS[1]) \
                 if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end \
                 return n",
            )
        });
        let ms = ttl.as_millis().max(1).to_string();
        self.script("INCR", &COUNT, &[key], &[ms.as_bytes()]).await
    }
}

/// The metrics' `operation` label of a round trip named `what`.
fn operation(what: &str) -> &'static str {
    match what {
        "PING" => "ping",
        "GET" => "get",
        "SET" => "set",
        "INCR" => "incr",
        "take lock" => "lock_take",
        "renew lock" => "lock_renew",
        "release lock" => "lock_release",
        "XADD" => "log_append",
        "PUBLISH" => "publish",
        "RPUSH" => "push",
        "LRANGE" => "read_list",
        "DEL" => "delete",
        "SCAN" => "scan",
        "PUBSUB" => "replicas",
        "jobs" => "jobs",
        _ => "other",
    }
}

/// A value with the time it was made, as kept in Redis: milliseconds since the epoch (8
/// bytes, big-endian), then the body.
pub fn stamped(body: &[u8]) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut v = Vec::with_capacity(8 + body.len());
    v.extend_from_slice(&now.to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// The body of a [`stamped`] value and its age (`None`: not such a value).
pub fn unstamp(value: &[u8]) -> Option<(&[u8], Duration)> {
    let (head, body) = value.split_at_checked(8)?;
    let made = u64::from_be_bytes(head.try_into().ok()?);
    let at = UNIX_EPOCH + Duration::from_millis(made);
    Some((
        body,
        SystemTime::now().duration_since(at).unwrap_or_default(),
    ))
}

/// This process's name among replicas: its host name and process id (in lock values,
/// purges and the dashboard).
pub fn replica_name() -> String {
    let host = crate::platform::process::host_name();
    format!("{host}/{}", std::process::id())
}

/// `s` with the glob characters of Redis' MATCH escaped, so that it matches itself.
pub fn glob_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(check_url("redis://127.0.0.1:6379/0"), Ok(()));
        assert_eq!(
            redact("redis://user:secret@10.0.0.5:6379/0"),
            "redis://user:xxxxx@10.0.0.5:6379/0"
        );
        assert_eq!(redact("redis://10.0.0.5:6379"), "redis://10.0.0.5:6379");
        let e = check_url("http://x:y@127.0.0.1/").unwrap_err().to_string();
        assert!(e.starts_with("--redis http://x:xxxxx@127.0.0.1/: "), "{e}");
        assert!(!e.contains(":y@"));
    }

    #[test]
    fn every_round_trip_has_an_operation_label_the_metrics_list() {
        for what in [
            "PING",
            "GET",
            "SET",
            "INCR",
            "take lock",
            "renew lock",
            "release lock",
            "XADD",
            "PUBLISH",
            "RPUSH",
            "LRANGE",
            "DEL",
            "SCAN",
            "PUBSUB",
        ] {
            assert!(
                crate::metrics::REDIS_OPERATIONS.contains(&operation(what)),
                "{what}"
            );
        }
    }

    #[test]
    fn stamps() {
        let v = stamped(b"v1.0.0\n");
        let (body, age) = unstamp(&v).unwrap();
        assert_eq!(body, b"v1.0.0\n");
        assert!(age < Duration::from_secs(5));
        assert_eq!(unstamp(b"short"), None);
    }
}
