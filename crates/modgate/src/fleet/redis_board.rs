//! The board in Redis (`--redis`): every replica is a worker of one queue, a Redis
//! Stream read through a consumer group. A worker keeps its job's entry pending and
//! claims it again every third of the lease (`XCLAIM … JUSTID`, which resets its idle
//! time); a worker that dies stops doing so, and after the lease another replica takes
//! the entry over (`XAUTOCLAIM`). The entry is acknowledged and removed only after the
//! job's callbacks were delivered, so a replica that dies after finishing a job leaves
//! its callbacks to the next one, which finds the job's record final and only delivers
//! what was not delivered yet.
//!
//! Keys, all in one hash slot (`{modgate-warm}`): the stream `queue`; `job:<id>` (the
//! record, JSON), `request:<id>` (what it warms), `callbacks:<id>` (callbacks added by
//! identical requests), each kept 7 days; `active:<hash>` (the job queued or running for
//! a request's hash); `recent` (ids by creation time, the last 1,000).

use std::sync::Arc;
use std::time::Duration;

use redis::Value;

use super::board::{Board, KEEP_RECENT, Lookup, Taken, Unavailable, new_id, random_hex};
use super::job::{Job, State};
use super::request::Request;
use crate::cluster::Shared;

const PREFIX: &str = "{modgate-warm}:";
const GROUP: &str = "workers";
/// How long a job's records are kept.
const KEEP: Duration = Duration::from_secs(7 * 24 * 3600);

fn key(rest: &str) -> String {
    format!("{PREFIX}{rest}")
}

/// The board in Redis.
pub struct RedisBoard {
    shared: Arc<Shared>,
    /// This replica's name as a consumer of the group.
    consumer: String,
    /// After how long without a claim a job is taken over.
    lease: Duration,
    notify: tokio::sync::Notify,
}

impl RedisBoard {
    /// The board on `shared`, taking jobs over after `lease`.
    pub fn new(shared: Arc<Shared>, lease: Duration) -> RedisBoard {
        RedisBoard {
            consumer: shared.replica().to_string(),
            shared,
            lease,
            notify: tokio::sync::Notify::new(),
        }
    }

    fn down(&self) -> Unavailable {
        Unavailable(format!(
            "Redis at {} does not answer: warm jobs are queued and kept there (try again when it is back)",
            self.shared.describe()
        ))
    }

    async fn job(&self, id: &str) -> Result<Option<Job>, Unavailable> {
        let got: Option<Option<Vec<u8>>> = self
            .shared
            .jobs(redis::cmd("GET").arg(key(&format!("job:{id}"))).clone())
            .await;
        let got = got.ok_or_else(|| self.down())?;
        Ok(got.and_then(|b| serde_json::from_slice(&b).ok()))
    }

    async fn callbacks_added(&self, id: &str) -> Vec<String> {
        self.shared
            .jobs::<Vec<String>>(
                redis::cmd("LRANGE")
                    .arg(key(&format!("callbacks:{id}")))
                    .arg(0)
                    .arg(-1)
                    .clone(),
            )
            .await
            .unwrap_or_default()
    }

    /// The job of a stream entry `[id, [field, value, ...]]`, with its request.
    async fn taken(&self, entry: &Value) -> Option<Taken> {
        let Value::Array(parts) = entry else {
            return None;
        };
        let entry_id = text(parts.first()?)?;
        let fields = match parts.get(1)? {
            Value::Array(f) => f,
            _ => return None,
        };
        let id = fields
            .chunks(2)
            .find(|kv| text(&kv[0]).as_deref() == Some("id"))
            .and_then(|kv| kv.get(1).and_then(text))?;
        let job = self.job(&id).await.ok().flatten();
        let request: Option<Option<Vec<u8>>> = self
            .shared
            .jobs(redis::cmd("GET").arg(key(&format!("request:{id}"))).clone())
            .await;
        let request = request.flatten().and_then(|b| Request::parse(&b).ok());
        match (job, request) {
            (Some(job), Some(request)) => Some(Taken {
                job,
                request,
                entry: entry_id,
            }),
            // Its records expired or were never written: nothing to do.
            _ => {
                self.forget(&entry_id).await;
                None
            }
        }
    }

    /// Removes the claim `active` if it still names the job `id`.
    async fn release(&self, active: &str, id: &str) {
        static RELEASE: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
            redis::Script::new(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then \
                 return redis.call('DEL', KEYS[1]) end return 0",
            )
        });
        let _: Option<i64> = self
            .shared
            .jobs_script(&RELEASE, &[active], &[id.as_bytes()])
            .await;
    }

    async fn forget(&self, entry: &str) {
        let _: Option<i64> = self
            .shared
            .jobs_script(
                &ACK,
                &[&key("queue")],
                &[GROUP.as_bytes(), entry.as_bytes()],
            )
            .await;
    }
}

/// The stream's commands run as scripts that make the consumer group when it is missing
/// (a new Redis, or one restarted without its data) and never answer with an error: a
/// `NOGROUP` or `BUSYGROUP` reply would count as Redis failing, and stop the replicas
/// sharing their locks.
///
/// The next entry for consumer ARGV[2] of group ARGV[1]: one idle longer than ARGV[3]
/// ms (its worker stopped claiming it) as `{"claimed", entry}`, else a new one as
/// `{"new", entry}`, else nil; an entry is `{id, {field, value, ...}}`.
static TAKE: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
        redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
        local c = redis.pcall('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], '0-0', 'COUNT', 1)
        if type(c) == 'table' and not c.err and type(c[2]) == 'table' and type(c[2][1]) == 'table' then
            return {'claimed', c[2][1]}
        end
        local r = redis.pcall('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1, 'STREAMS', KEYS[1], '>')
        if type(r) == 'table' and not r.err and type(r[1]) == 'table' and type(r[1][2]) == 'table' and type(r[1][2][1]) == 'table' then
            return {'new', r[1][2][1]}
        end
        return false
        ",
    )
});

/// Claims entry ARGV[3] for consumer ARGV[2] of group ARGV[1] again (its idle time back
/// to 0): 1, or 0 when it is no longer pending (acknowledged, or the group is gone).
static RENEW: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
        local c = redis.pcall('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
        if type(c) == 'table' and not c.err and c[1] then return 1 end
        return 0
        ",
    )
});

/// Acknowledges entry ARGV[2] of group ARGV[1] and removes it.
static ACK: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
        redis.pcall('XACK', KEYS[1], ARGV[1], ARGV[2])
        redis.pcall('XDEL', KEYS[1], ARGV[2])
        return 1
        ",
    )
});

/// A bulk or simple string's text.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// The entry of a [`TAKE`] reply and whether it was taken over from another worker.
fn taken_entry(v: &Value) -> Option<(bool, &Value)> {
    let Value::Array(parts) = v else {
        return None;
    };
    let how = text(parts.first()?)?;
    Some((how == "claimed", parts.get(1)?))
}

#[async_trait::async_trait]
impl Board for RedisBoard {
    async fn submit(
        &self,
        request: &Request,
        callback: Option<&str>,
    ) -> Result<(Job, bool), Unavailable> {
        let hash = request.hash();
        let active = key(&format!("active:{hash}"));
        for _ in 0..3 {
            let id = new_id(request, &random_hex());
            let claimed: Option<Option<String>> = self
                .shared
                .jobs(
                    redis::cmd("SET")
                        .arg(&active)
                        .arg(&id)
                        .arg("NX")
                        .arg("EX")
                        .arg(KEEP.as_secs())
                        .clone(),
                )
                .await;
            match claimed.ok_or_else(|| self.down())? {
                Some(_) => {
                    let job = Job::new(id.clone(), hash.clone(), callback);
                    let body = serde_json::to_vec(request.body()).unwrap_or_default();
                    let record = serde_json::to_vec(&job).unwrap_or_default();
                    let created = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as u64);
                    let mut pipe = redis::pipe();
                    pipe.atomic()
                        .cmd("SET")
                        .arg(key(&format!("job:{id}")))
                        .arg(record)
                        .arg("EX")
                        .arg(KEEP.as_secs())
                        .ignore()
                        .cmd("SET")
                        .arg(key(&format!("request:{id}")))
                        .arg(body)
                        .arg("EX")
                        .arg(KEEP.as_secs())
                        .ignore()
                        .cmd("ZADD")
                        .arg(key("recent"))
                        .arg(created)
                        .arg(&id)
                        .ignore()
                        .cmd("ZREMRANGEBYRANK")
                        .arg(key("recent"))
                        .arg(0)
                        .arg(-(KEEP_RECENT as i64) - 1)
                        .ignore()
                        .cmd("XADD")
                        .arg(key("queue"))
                        .arg("*")
                        .arg("id")
                        .arg(&id)
                        .ignore();
                    if self.shared.jobs_atomically(&pipe).await.is_none() {
                        let _: Option<Value> = self
                            .shared
                            .jobs(redis::cmd("DEL").arg(&active).clone())
                            .await;
                        return Err(self.down());
                    }
                    self.notify.notify_one();
                    return Ok((job, true));
                }
                None => {
                    let existing: Option<Option<String>> = self
                        .shared
                        .jobs(redis::cmd("GET").arg(&active).clone())
                        .await;
                    let Some(existing) = existing.ok_or_else(|| self.down())? else {
                        // Finished meanwhile: make a new one.
                        continue;
                    };
                    match self.job(&existing).await? {
                        Some(mut job) if !job.state.is_final() => {
                            if let Some(url) = callback {
                                let _: Option<Value> = self
                                    .shared
                                    .jobs(
                                        redis::cmd("RPUSH")
                                            .arg(key(&format!("callbacks:{existing}")))
                                            .arg(url)
                                            .clone(),
                                    )
                                    .await;
                                let _: Option<Value> = self
                                    .shared
                                    .jobs(
                                        redis::cmd("EXPIRE")
                                            .arg(key(&format!("callbacks:{existing}")))
                                            .arg(KEEP.as_secs())
                                            .clone(),
                                    )
                                    .await;
                                job.add_callback(url);
                            }
                            return Ok((job, false));
                        }
                        // A claim whose job was never written (its replica died between
                        // the two), or that outlived its job: released, and tried again.
                        _ => self.release(&active, &existing).await,
                    }
                }
            }
        }
        Err(Unavailable(
            "identical jobs kept starting and ending while this one was submitted: try again"
                .into(),
        ))
    }

    async fn get(&self, id: &str) -> Result<Lookup, Unavailable> {
        Ok(match self.job(id).await? {
            Some(mut j) => {
                for url in self.callbacks_added(id).await {
                    j.add_callback(&url);
                }
                Lookup::Found(Box::new(j))
            }
            None => Lookup::Unknown,
        })
    }

    async fn recent(&self, state: Option<State>, limit: usize) -> Result<Vec<Job>, Unavailable> {
        let ids: Option<Vec<String>> = self
            .shared
            .jobs(
                redis::cmd("ZREVRANGE")
                    .arg(key("recent"))
                    .arg(0)
                    .arg(KEEP_RECENT - 1)
                    .clone(),
            )
            .await;
        let ids = ids.ok_or_else(|| self.down())?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut get = redis::cmd("MGET");
        for id in &ids {
            get.arg(key(&format!("job:{id}")));
        }
        let records: Option<Vec<Option<Vec<u8>>>> = self.shared.jobs(get).await;
        let records = records.ok_or_else(|| self.down())?;
        Ok(records
            .into_iter()
            .flatten()
            .filter_map(|b| serde_json::from_slice::<Job>(&b).ok())
            .filter(|j| state.is_none_or(|s| j.state == s))
            .take(limit)
            .collect())
    }

    async fn take(&self) -> Option<Taken> {
        let lease_ms = self.lease.as_millis().to_string();
        let got: Option<Value> = self
            .shared
            .jobs_script(
                &TAKE,
                &[&key("queue")],
                &[
                    GROUP.as_bytes(),
                    self.consumer.as_bytes(),
                    lease_ms.as_bytes(),
                ],
            )
            .await;
        let (claimed, entry) = got.as_ref().and_then(taken_entry)?;
        let t = self.taken(entry).await?;
        if claimed {
            tracing::info!(job = %t.job.id, replica = %self.consumer, "warm job taken over: its worker stopped keeping its lease");
        }
        Some(t)
    }

    async fn renew(&self, taken: &Taken) -> bool {
        let got: Option<i64> = self
            .shared
            .jobs_script(
                &RENEW,
                &[&key("queue")],
                &[
                    GROUP.as_bytes(),
                    self.consumer.as_bytes(),
                    taken.entry.as_bytes(),
                ],
            )
            .await;
        // Redis did not answer: keep working; the lease says who has it once it is back.
        got.is_none_or(|n| n == 1)
    }

    async fn save(&self, job: &Job) {
        let record = serde_json::to_vec(job).unwrap_or_default();
        let _: Option<Value> = self
            .shared
            .jobs(
                redis::cmd("SET")
                    .arg(key(&format!("job:{}", job.id)))
                    .arg(record)
                    .arg("EX")
                    .arg(KEEP.as_secs())
                    .clone(),
            )
            .await;
    }

    async fn with_callbacks(&self, mut job: Job) -> Job {
        for url in self.callbacks_added(&job.id).await {
            job.add_callback(&url);
        }
        job
    }

    async fn close(&self, job: &Job) {
        self.release(&key(&format!("active:{}", job.hash)), &job.id)
            .await;
    }

    async fn ack(&self, taken: &Taken) {
        self.forget(&taken.entry).await;
    }

    async fn wait(&self, within: Duration) {
        let _ = tokio::time::timeout(within, self.notify.notified()).await;
    }
}
