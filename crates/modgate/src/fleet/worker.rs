//! A replica's warm workers: each takes a job from the board, keeps its lease while it
//! runs, reads its graph and fetches every version through the cache (its single
//! flight: a version asked by a client, another job or another replica meanwhile is
//! fetched once), writes its progress, then delivers its callbacks and lets it go.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::Fleet;
use super::board::Taken;
use super::job::{Job, State, now};

/// How often an idle worker looks for a job (a job submitted to this replica wakes it
/// at once).
const POLL: Duration = Duration::from_millis(250);
/// How often a running job's progress is written.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// go.mod files read at once while a job reads its graph.
const GRAPH_PARALLEL: usize = 8;

/// Runs one worker for good.
pub(super) async fn work(fleet: Arc<Fleet>) {
    loop {
        let Some(taken) = fleet.board.take().await else {
            fleet.board.wait(POLL).await;
            continue;
        };
        let lease = Lease::keep(&fleet, &taken);
        let mut job = taken.job.clone();
        if !job.state.is_final() {
            let m = crate::metrics::metrics();
            m.warm_jobs_running.inc();
            job = run(&fleet, &taken, job, &lease).await;
            m.warm_jobs_running.dec();
            match job.state {
                State::Done => crate::metrics::count(&m.warm_jobs, "done"),
                State::Failed => crate::metrics::count(&m.warm_jobs, "failed"),
                _ => {}
            }
        }
        if lease.lost() {
            tracing::warn!(job = %job.id, "warm job: another replica took it over (this one did not keep its lease); leaving it");
            continue;
        }
        fleet.board.close(&job).await;
        // Callbacks and the acknowledgement on their own task (callbacks may be retried
        // for minutes): the worker takes its next job.
        let fleet2 = Arc::clone(&fleet);
        tokio::spawn(async move {
            let mut job = fleet2.board.with_callbacks(job).await;
            let board = Arc::clone(&fleet2.board);
            fleet2
                .caller
                .deliver(&mut job, |j| {
                    let board = Arc::clone(&board);
                    async move { board.save(&j).await }
                })
                .await;
            drop(lease);
            fleet2.board.ack(&taken).await;
        });
    }
}

/// Keeps the lease on a taken job until dropped.
struct Lease {
    lost: Arc<std::sync::atomic::AtomicBool>,
    keeper: tokio::task::JoinHandle<()>,
}

impl Lease {
    fn keep(fleet: &Arc<Fleet>, taken: &Taken) -> Lease {
        let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (board, taken, every) = (
            Arc::clone(&fleet.board),
            taken.clone(),
            fleet.settings.lease / 3,
        );
        let flag = Arc::clone(&lost);
        let keeper = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if !board.renew(&taken).await {
                    flag.store(true, std::sync::atomic::Ordering::Relaxed);
                    return;
                }
            }
        });
        Lease { lost, keeper }
    }

    fn lost(&self) -> bool {
        self.lost.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.keeper.abort();
    }
}

/// Runs `job`: its graph, then every version; the final record.
async fn run(fleet: &Fleet, taken: &Taken, mut job: Job, lease: &Lease) -> Job {
    job.state = State::Running;
    job.started = Some(now());
    job.replica = Some(fleet.replica.clone());
    job.attempts += 1;
    job.fetched = 0;
    job.stored = 0;
    job.failed.clear();
    fleet.board.save(&job).await;
    let cache = &fleet.cache;
    let needs = match taken.request.needs(cache, GRAPH_PARALLEL).await {
        Ok(n) => n,
        Err(e) => {
            job.state = State::Failed;
            job.error = Some(format!("reading the module graph: {e}"));
            job.finished = Some(now());
            fleet.board.save(&job).await;
            tracing::warn!(job = %job.id, error = %e, "warm job failed");
            return job;
        }
    };
    job.graph = Some(needs.versions.len());
    job.go_mods = Some(needs.go_mods.len());
    fleet.board.save(&job).await;
    let mut results = std::pin::pin!(fleet.warm_versions(&needs));
    let mut saved = Instant::now();
    while let Some((p, v, r)) = results.next().await {
        let versions = &crate::metrics::metrics().warm_versions;
        match r {
            Ok(w) if w.stored => {
                job.stored += 1;
                crate::metrics::count(versions, "stored");
            }
            Ok(_) => {
                job.fetched += 1;
                crate::metrics::count(versions, "fetched");
            }
            Err(e) => {
                job.failed.insert(format!("{p}@{v}"), e.to_string());
                crate::metrics::count(versions, "failed");
            }
        }
        if saved.elapsed() >= PROGRESS_EVERY && !lease.lost() {
            fleet.board.save(&job).await;
            saved = Instant::now();
        }
        if lease.lost() {
            return job;
        }
    }
    job.failed.extend(fleet.warm_go_mods(&needs).await);
    job.state = State::Done;
    job.finished = Some(now());
    fleet.board.save(&job).await;
    tracing::info!(
        job = %job.id,
        graph = needs.versions.len(),
        fetched = job.fetched,
        stored = job.stored,
        failed = job.failed.len(),
        "warm job done"
    );
    job
}
