//! Where warm jobs wait and what is known of them: the [`Board`] trait, and its
//! in-process form (no `--redis`): a queue and records in this process's memory, lost
//! with it (a job of an earlier run of the server is answered as `lost`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use super::job::{Job, State};
use super::request::Request;

/// How many finished jobs a board remembers for `GET /api/v1/jobs`.
pub const KEEP_RECENT: usize = 1000;

/// The board cannot be reached (Redis is down): the request is answered 503.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// What a lookup of a job found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The job.
    Found(Box<Job>),
    /// A job of an earlier run of this server, which kept its jobs in memory.
    Lost,
    /// No such job.
    Unknown,
}

/// A job a worker took, with its request.
#[derive(Debug, Clone)]
pub struct Taken {
    /// The job as taken.
    pub job: Job,
    /// What it warms.
    pub request: Request,
    /// Its entry in the queue (Redis: the stream entry).
    pub entry: String,
}

/// Where jobs wait and their records live.
#[async_trait::async_trait]
pub trait Board: Send + Sync {
    /// Queues a job for `request` with the callback `callback`, or joins the identical
    /// job queued or running (adding the callback): the job, and whether it is new.
    async fn submit(
        &self,
        request: &Request,
        callback: Option<&str>,
    ) -> Result<(Job, bool), Unavailable>;
    /// The job `id`.
    async fn get(&self, id: &str) -> Result<Lookup, Unavailable>;
    /// The most recent jobs first, of `state` if given, at most `limit`.
    async fn recent(&self, state: Option<State>, limit: usize) -> Result<Vec<Job>, Unavailable>;
    /// The next job for a worker of this replica: a new one, or one whose worker stopped
    /// keeping its lease. `None`: nothing now.
    async fn take(&self) -> Option<Taken>;
    /// Keeps the lease on `taken`; false when the job is no longer this worker's.
    async fn renew(&self, taken: &Taken) -> bool;
    /// Writes the job's record.
    async fn save(&self, job: &Job);
    /// The job with the callbacks that identical requests added since it was taken.
    async fn with_callbacks(&self, job: Job) -> Job;
    /// The job is over: an identical request now starts a new job.
    async fn close(&self, job: &Job);
    /// The job and its callbacks are done with: out of the queue.
    async fn ack(&self, taken: &Taken);
    /// Waits until a job may be waiting (one submitted here), at most `within`.
    async fn wait(&self, within: Duration);
}

/// The id of a new job of `request`: the start of its hash, then `tail`.
pub fn new_id(request: &Request, tail: &str) -> String {
    format!("{}-{tail}", &request.hash()[..12])
}

/// 16 random hex digits.
pub fn random_hex() -> String {
    let mut b = [0u8; 8];
    // The system's random source; the time if it ever fails (ids must only not repeat).
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        b = (t ^ u64::from(std::process::id())).to_le_bytes();
    }
    super::request::hex(&b)
}

#[derive(Default)]
struct Mem {
    jobs: HashMap<String, Job>,
    requests: HashMap<String, Request>,
    /// Ids by creation, oldest first.
    order: VecDeque<String>,
    /// The job queued or running for each hash.
    active: HashMap<String, String>,
    queue: VecDeque<String>,
}

/// Jobs in this process's memory.
pub struct Memory {
    /// Names this run of the server in its jobs' ids.
    run: String,
    next: std::sync::atomic::AtomicU64,
    state: Mutex<Mem>,
    notify: tokio::sync::Notify,
}

impl Default for Memory {
    fn default() -> Self {
        Memory {
            run: random_hex()[..8].to_string(),
            next: std::sync::atomic::AtomicU64::new(1),
            state: Mutex::new(Mem::default()),
            notify: tokio::sync::Notify::new(),
        }
    }
}

impl Memory {
    fn lock(&self) -> std::sync::MutexGuard<'_, Mem> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl Board for Memory {
    async fn submit(
        &self,
        request: &Request,
        callback: Option<&str>,
    ) -> Result<(Job, bool), Unavailable> {
        let hash = request.hash();
        let mut st = self.lock();
        if let Some(id) = st.active.get(&hash).cloned()
            && let Some(job) = st.jobs.get_mut(&id)
        {
            if let Some(url) = callback {
                job.add_callback(url);
            }
            return Ok((job.clone(), false));
        }
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = new_id(request, &format!("{}{n:06}", self.run));
        let job = Job::new(id.clone(), hash.clone(), callback);
        st.jobs.insert(id.clone(), job.clone());
        st.requests.insert(id.clone(), request.clone());
        st.order.push_back(id.clone());
        st.active.insert(hash, id.clone());
        st.queue.push_back(id);
        // Forget the oldest finished jobs past the bound.
        while st.order.len() > KEEP_RECENT {
            let Some(pos) = st
                .order
                .iter()
                .position(|i| st.jobs.get(i).is_none_or(|j| j.state.is_final()))
            else {
                break;
            };
            if let Some(old) = st.order.remove(pos) {
                st.jobs.remove(&old);
                st.requests.remove(&old);
            }
        }
        drop(st);
        self.notify.notify_one();
        Ok((job, true))
    }

    async fn get(&self, id: &str) -> Result<Lookup, Unavailable> {
        if let Some(j) = self.lock().jobs.get(id) {
            return Ok(Lookup::Found(Box::new(j.clone())));
        }
        // `<hash12>-<run8><n>`: a job of another run of this server.
        let run = id.split_once('-').map(|(_, t)| t.get(..8).unwrap_or(t));
        Ok(match run {
            Some(r) if r.len() == 8 && r != self.run => Lookup::Lost,
            _ => Lookup::Unknown,
        })
    }

    async fn recent(&self, state: Option<State>, limit: usize) -> Result<Vec<Job>, Unavailable> {
        let st = self.lock();
        Ok(st
            .order
            .iter()
            .rev()
            .filter_map(|id| st.jobs.get(id))
            .filter(|j| state.is_none_or(|s| j.state == s))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn take(&self) -> Option<Taken> {
        let mut st = self.lock();
        while let Some(id) = st.queue.pop_front() {
            if let (Some(job), Some(request)) = (st.jobs.get(&id), st.requests.get(&id)) {
                return Some(Taken {
                    job: job.clone(),
                    request: request.clone(),
                    entry: id,
                });
            }
        }
        None
    }

    async fn renew(&self, _taken: &Taken) -> bool {
        true
    }

    async fn save(&self, job: &Job) {
        let mut st = self.lock();
        if let Some(j) = st.jobs.get_mut(&job.id) {
            // Callbacks added meanwhile are kept.
            let mut saved = job.clone();
            for c in &j.callbacks {
                if !saved.callbacks.iter().any(|s| s.url == c.url) {
                    saved.callbacks.push(c.clone());
                }
            }
            *j = saved;
        }
    }

    async fn with_callbacks(&self, mut job: Job) -> Job {
        if let Some(j) = self.lock().jobs.get(&job.id) {
            for c in &j.callbacks {
                job.add_callback(&c.url);
            }
        }
        job
    }

    async fn close(&self, job: &Job) {
        let mut st = self.lock();
        if st.active.get(&job.hash) == Some(&job.id) {
            st.active.remove(&job.hash);
        }
    }

    async fn ack(&self, taken: &Taken) {
        self.lock().requests.remove(&taken.entry);
    }

    async fn wait(&self, within: Duration) {
        let _ = tokio::time::timeout(within, self.notify.notified()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(m: &str) -> Request {
        Request::parse(format!(r#"{{"modules":["{m}"]}}"#).as_bytes()).unwrap()
    }

    #[tokio::test]
    async fn identical_jobs_at_once_are_one_and_a_finished_one_is_not_joined() {
        let b = Memory::default();
        let (a, new_a) = b
            .submit(&req("a.io/m@v1.0.0"), Some("http://x/1"))
            .await
            .unwrap();
        let (a2, new_a2) = b
            .submit(&req("a.io/m@v1.0.0"), Some("http://x/2"))
            .await
            .unwrap();
        assert!(new_a && !new_a2);
        assert_eq!(a.id, a2.id);
        assert_eq!(a2.callbacks.len(), 2);
        let (c, _) = b.submit(&req("a.io/m@v1.0.1"), None).await.unwrap();
        assert_ne!(c.id, a.id);
        let t = b.take().await.unwrap();
        assert_eq!(t.job.id, a.id);
        let mut done = b.with_callbacks(t.job.clone()).await;
        assert_eq!(done.callbacks.len(), 2);
        done.state = State::Done;
        b.save(&done).await;
        b.close(&done).await;
        b.ack(&t).await;
        let (again, new) = b.submit(&req("a.io/m@v1.0.0"), None).await.unwrap();
        assert!(new);
        assert_ne!(again.id, a.id);
        assert_eq!(b.take().await.unwrap().job.id, c.id);
        let ids: Vec<String> = b
            .recent(None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(ids, [again.id.clone(), c.id.clone(), a.id.clone()]);
        let done_ids: Vec<String> = b
            .recent(Some(State::Done), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(done_ids, std::slice::from_ref(&a.id));
    }

    #[tokio::test]
    async fn a_job_of_an_earlier_run_is_lost_and_a_made_up_one_unknown() {
        let before = Memory::default();
        let (j, _) = before.submit(&req("a.io/m@v1.0.0"), None).await.unwrap();
        let now = Memory::default();
        assert_eq!(now.get(&j.id).await.unwrap(), Lookup::Lost);
        assert_eq!(now.get("nothing").await.unwrap(), Lookup::Unknown);
        assert!(matches!(before.get(&j.id).await.unwrap(), Lookup::Found(_)));
    }
}
