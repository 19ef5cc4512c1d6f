//! What a fleet of CI jobs and builders asks of the proxy besides modules:
//! - warm jobs (`POST /api/v1/warm`): a project's whole module graph fetched into the
//!   store before the builders ask, queued on a [`board::Board`] (in this process, or a
//!   Redis Stream every replica works from with `--redis`), run by each replica's
//!   workers (`worker.rs`) through the cache's single flight, with signed callbacks
//!   (`callback.rs`);
//! - bundles on request (`bundles.rs`): one file with a project's whole graph, made from
//!   the store and kept by its request's hash.
//!
//! The graph is computed as `modgate prefetch` computes it (`graph/`), from the files the
//! client sent (`request.rs`) and go.mod files read through the cache.

pub mod board;
pub mod bundles;
pub mod callback;
pub mod job;
pub mod redis_board;
pub mod request;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use crate::cache::Cache;

/// `[warm]`: how warm jobs run and call back.
#[derive(Clone, PartialEq, Eq)]
pub struct WarmSettings {
    /// Jobs run at once by each replica.
    pub jobs: usize,
    /// Versions fetched at once by a job (each also under the cache's prefetch permits).
    pub fetches: usize,
    /// After how long without a sign of life a job's worker is taken for dead (Redis).
    pub lease: Duration,
    /// URL patterns callbacks may go to (Go's `path.Match` over the whole URL).
    pub callback_allow: Vec<String>,
    /// The callbacks' HMAC key.
    pub secret: Vec<u8>,
    /// How long a callback is retried.
    pub callback_within: Duration,
    /// How long a bundle made on request is kept (`None`: for good); a tagged one is
    /// kept whatever its age.
    pub bundles_keep: Option<Duration>,
}

impl std::fmt::Debug for WarmSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WarmSettings")
            .field("jobs", &self.jobs)
            .field("fetches", &self.fetches)
            .field("lease", &self.lease)
            .field("callback_allow", &self.callback_allow)
            .field("secret", &"<redacted>")
            .field("callback_within", &self.callback_within)
            .field("bundles_keep", &self.bundles_keep)
            .finish()
    }
}

impl Default for WarmSettings {
    fn default() -> Self {
        WarmSettings {
            jobs: 2,
            fetches: 8,
            lease: Duration::from_secs(30),
            callback_allow: Vec::new(),
            secret: Vec::new(),
            callback_within: Duration::from_secs(600),
            bundles_keep: Some(Duration::from_secs(7 * 24 * 3600)),
        }
    }
}

/// How often old bundles are looked for (every replica does; a removal done twice is
/// harmless).
const EXPIRE_EVERY: Duration = Duration::from_secs(3600);

/// Warm jobs and bundles on request, over one cache.
pub struct Fleet {
    board: Arc<dyn board::Board>,
    cache: Cache,
    settings: WarmSettings,
    caller: callback::Caller,
    /// The checksum database a bundle carries, as `modgate bundle create` carries it.
    db: Option<crate::bundle::DbSource>,
    /// This replica's name, in the jobs it runs.
    replica: String,
}

impl Fleet {
    /// The fleet over `cache` (jobs in Redis when `shared` is given, else in memory),
    /// with `settings.jobs` workers started.
    pub fn start(
        cache: Cache,
        shared: Option<Arc<crate::cluster::Shared>>,
        settings: WarmSettings,
        db: Option<crate::bundle::DbSource>,
    ) -> Arc<Fleet> {
        let replica = match &shared {
            Some(s) => s.replica().to_string(),
            None => crate::cluster::replica_name(),
        };
        let board: Arc<dyn board::Board> = match shared {
            Some(s) => Arc::new(redis_board::RedisBoard::new(s, settings.lease)),
            None => Arc::new(board::Memory::default()),
        };
        let caller = callback::Caller::new(
            settings.callback_allow.clone(),
            settings.secret.clone(),
            settings.callback_within,
        );
        let fleet = Arc::new(Fleet {
            board,
            cache,
            caller,
            db,
            replica,
            settings,
        });
        for _ in 0..fleet.settings.jobs.max(1) {
            tokio::spawn(worker::work(Arc::clone(&fleet)));
        }
        if let Some(keep) = fleet.settings.bundles_keep {
            let weak = Arc::downgrade(&fleet);
            tokio::spawn(async move {
                let mut every = tokio::time::interval(EXPIRE_EVERY.min(keep));
                loop {
                    every.tick().await;
                    let Some(f) = weak.upgrade() else { return };
                    if let Err(e) = f.expire_bundles(keep).await {
                        tracing::warn!(error = %e, storage = %f.store().describe(), "removing old bundles failed; tried again later");
                    }
                }
            });
        }
        fleet
    }

    /// Queues a warm job for `request` (or joins the identical one queued or running):
    /// the job and whether it is new.
    pub async fn submit(&self, request: &request::Request) -> Result<(job::Job, bool), Submit> {
        let callback = match &request.body().callback_url {
            Some(url) => Some(self.caller.check(url).map_err(Submit::Callback)?),
            None => None,
        };
        self.board
            .submit(request, callback.as_deref())
            .await
            .map_err(Submit::Unavailable)
    }

    /// The job `id`.
    pub async fn job(&self, id: &str) -> Result<board::Lookup, board::Unavailable> {
        self.board.get(id).await
    }

    /// The recent jobs, of `state` if given.
    pub async fn jobs(
        &self,
        state: Option<job::State>,
        limit: usize,
    ) -> Result<Vec<job::Job>, board::Unavailable> {
        self.board.recent(state, limit).await
    }

    /// The store bundles are kept in.
    pub fn store(&self) -> &Arc<crate::storage::Store> {
        self.cache.store()
    }

    /// Every version `needs` wants whole, warmed `[warm] fetches` at once: each result as
    /// it comes.
    fn warm_versions(
        &self,
        needs: &crate::graph::Needs,
    ) -> impl futures_util::Stream<
        Item = (
            String,
            String,
            Result<crate::cache::Warmed, crate::error::Error>,
        ),
    > + use<> {
        use futures_util::StreamExt;
        let cache = self.cache.clone();
        futures_util::stream::iter(needs.versions.clone())
            .map(move |(p, v)| {
                let cache = cache.clone();
                async move {
                    let r = cache.warm(&p, &v).await;
                    (p, v, r)
                }
            })
            .buffer_unordered(self.settings.fetches.max(1))
    }

    /// The go.mod files `needs` read (in the cache already, as the graph read them
    /// through it), checked stored: the failures, by `path@version/go.mod`.
    async fn warm_go_mods(
        &self,
        needs: &crate::graph::Needs,
    ) -> std::collections::BTreeMap<String, String> {
        let mut failed = std::collections::BTreeMap::new();
        for (p, v) in &needs.go_mods {
            if let Err(e) = self.cache.warm_go_mod(p, v).await {
                failed.insert(format!("{p}@{v}/go.mod"), e.to_string());
            }
        }
        failed
    }
}

/// Why a warm job was not queued.
#[derive(Debug, thiserror::Error)]
pub enum Submit {
    /// Its callback URL is refused (400).
    #[error(transparent)]
    Callback(callback::Refused),
    /// The queue is not reachable (503).
    #[error(transparent)]
    Unavailable(board::Unavailable),
}
