//! Prefetch: when the cache had to fetch a module's go.mod, it warms the cache, in the
//! background, with the `.mod` and `.info` (and, with [`Prefetch::All`], the `.zip`) of
//! every module version that go.mod `require`s, because the go command asks for them next
//! (it reads the graph's go.mod files level by level, so without this the upstream work
//! is serialized along the graph's depth).
//!
//! A go.mod that came from git (`direct`) also gets its own version's zip made ahead
//! ([`Cache::zip_ahead`]): the clone it was read from is on this machine, so the zip is
//! local work (`git archive` and the zip), done while the go command still reads the
//! graph, and ready when it downloads the module.
//!
//! - Requirements are taken as written: the go command reads a dependency's go.mod
//!   without its `replace` lines. Only canonical versions are prefetched.
//! - Prefetches go through the same single-flight paths as client requests (a client
//!   asking meanwhile joins the prefetch's fetch) and through the same chain (private
//!   modules still never reach a public upstream).
//! - Bounded: at most `prefetch_concurrency` prefetches run at once (the rest wait on
//!   their own semaphore, which client requests never touch), at most `prefetch_fanout`
//!   requirements per go.mod, at most `prefetch_depth` levels below a client request, at
//!   most [`MAX_PENDING`] prefetches queued; beyond that they are dropped.
//! - Errors of prefetches are only logged at debug level: a client asking for the same
//!   entry gets the real answer (a not-found is in the negative cache either way).

use std::collections::HashSet;
use std::sync::Mutex;

use serde::Deserialize;
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::{Cache, lock};
use crate::error::Error;
use gomod::module::is_canonical;

/// What the cache fetches ahead of the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prefetch {
    /// Nothing.
    Off,
    /// The `.mod` and `.info` of the requirements of a fetched go.mod.
    #[default]
    Mod,
    /// As `Mod`, and their `.zip` too.
    All,
}

/// Counts a prefetch's result (done, failed, dropped).
fn prefetched(result: &'static str) {
    crate::metrics::metrics()
        .prefetches
        .get_or_create(&crate::metrics::Outcome { result })
        .inc();
}

/// What a prefetch fetches.
#[derive(Debug, Clone, Copy)]
enum Ahead {
    /// A requirement's `.mod` and `.info` (and `.zip` with [`Prefetch::All`]), `depth`
    /// levels below a client's request.
    Requirement { depth: u32 },
    /// A version's `.zip`, made from a git clone already here ([`Cache::zip_ahead`]).
    Zip,
}

/// How many prefetches may be queued or running at once; more are dropped.
pub const MAX_PENDING: usize = 4096;

/// The prefetch state of a cache.
pub(super) struct Prefetcher {
    permits: Semaphore,
    /// `module@version` of every queued or running prefetch.
    pending: Mutex<HashSet<String>>,
}

impl Prefetcher {
    pub(super) fn new(concurrency: usize) -> Prefetcher {
        Prefetcher {
            permits: Semaphore::new(concurrency.max(1)),
            pending: Mutex::new(HashSet::new()),
        }
    }
}

impl Cache {
    /// Called after the go.mod `data` of `module@version` was fetched (not read from the
    /// store) for a request `depth` levels below a client's: queues the prefetch of its
    /// requirements.
    pub(super) fn prefetch_requirements(
        &self,
        module: &str,
        version: &str,
        data: &[u8],
        depth: u32,
    ) {
        let s = &self.inner.settings;
        if s.prefetch == Prefetch::Off || depth >= s.prefetch_depth {
            return;
        }
        let file = match gomod::modfile::parse_lax("go.mod", data, None) {
            Ok(f) => f,
            Err(e) => {
                tracing::debug!(module, version, error = %e, "prefetch: go.mod does not parse");
                return;
            }
        };
        let mut queued = 0;
        for r in &file.require {
            let (m, v) = (r.mod_.path.as_str(), r.mod_.version.as_str());
            if !is_canonical(v) || gomod::module::check(m, v).is_err() {
                continue;
            }
            if queued >= s.prefetch_fanout {
                tracing::debug!(
                    module,
                    version,
                    limit = s.prefetch_fanout,
                    "prefetch: fan-out limit reached, the other requirements are not prefetched"
                );
                break;
            }
            queued += 1;
            self.spawn_prefetch(m, v, Ahead::Requirement { depth: depth + 1 });
        }
    }

    /// Called after the go.mod of `module@version` was fetched from git (`direct`): queues
    /// the making of its zip from the clone (unless prefetch is off). The zip is asked of
    /// the source as a client's request would ask it: the chain that just answered the
    /// go.mod from git answers it from the same clone.
    pub(super) fn zip_ahead(&self, module: &str, version: &str) {
        if self.inner.settings.prefetch != Prefetch::Off {
            self.spawn_prefetch(module, version, Ahead::Zip);
        }
    }

    fn spawn_prefetch(&self, module: &str, version: &str, what: Ahead) {
        if let Some(f) = self.inner.filter.get()
            && let Some(refusal) = f.load().version(module, version)
        {
            tracing::debug!(module, version, "not prefetched: {refusal}");
            return;
        }
        let key = match what {
            Ahead::Requirement { .. } => format!("{module}@{version}"),
            Ahead::Zip => format!("{module}@{version}.zip"),
        };
        {
            let mut pending = lock(&self.inner.prefetch.pending);
            if pending.contains(&key) {
                return;
            }
            if pending.len() >= MAX_PENDING {
                tracing::debug!(module, version, "prefetch: queue full, dropped");
                prefetched("dropped");
                return;
            }
            pending.insert(key.clone());
            crate::metrics::metrics().prefetch_pending.inc();
        }
        let cache = self.clone();
        let (m, v) = (module.to_string(), version.to_string());
        tokio::spawn(
            async move {
                if let Ok(_permit) = cache.inner.prefetch.permits.acquire().await {
                    let done = match what {
                        Ahead::Requirement { depth } => cache.prefetch_one(&m, &v, depth).await,
                        // No client waits for it yet: its CPU work yields to theirs.
                        Ahead::Zip => crate::platform::background::scope(cache.zip(&m, &v))
                            .await
                            .map(|_| ()),
                    };
                    match done {
                        Ok(()) => {
                            tracing::debug!(module = m, version = v, ?what, "prefetched");
                            prefetched("done");
                        }
                        Err(e) => {
                            tracing::debug!(
                                module = m,
                                version = v,
                                ?what,
                                error = %e,
                                "prefetch failed"
                            );
                            prefetched("failed");
                        }
                    }
                }
                lock(&cache.inner.prefetch.pending).remove(&key);
                crate::metrics::metrics().prefetch_pending.dec();
            }
            .instrument(tracing::debug_span!("prefetch")),
        );
    }

    async fn prefetch_one(&self, module: &str, version: &str, depth: u32) -> Result<(), Error> {
        self.go_mod_at(module, version, depth).await?;
        self.info(module, version).await?;
        if self.inner.settings.prefetch == Prefetch::All {
            self.zip(module, version).await?;
        }
        Ok(())
    }
}

impl Cache {
    /// Refused when `[filter]` refuses `module@version`: warm-ups (and the bundles made
    /// from them) never fetch, store or carry what clients may not download.
    fn not_filtered(&self, module: &str, version: &str) -> Result<(), Error> {
        match self.inner.filter.get() {
            Some(f) => match f.load().version(module, version) {
                Some(refusal) => Err(Error::refused(refusal.to_string())),
                None => Ok(()),
            },
            None => Ok(()),
        }
    }
}

/// What a warm-up did with a module version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Warmed {
    /// Its `.info`, `.mod` and `.zip` were all stored before.
    pub stored: bool,
    /// The zip's size.
    pub zip_bytes: u64,
}

impl Cache {
    /// Fetches `module@version`'s `.info`, `.mod` and `.zip` into the store as a client's
    /// requests would (the same single flight, checks and chain), under one of the
    /// prefetch permits: warm-ups (warm jobs, bundles on request) run no more fetches at
    /// once than prefetches do, and client requests never wait for them.
    pub async fn warm(&self, module: &str, version: &str) -> Result<Warmed, Error> {
        self.not_filtered(module, version)?;
        let _permit = self.inner.prefetch.permits.acquire().await;
        let store = self.store();
        let key = |k: Result<crate::storage::Key, crate::storage::KeyError>| {
            k.map_err(|e| Error::invalid(e.to_string()))
        };
        let (info, go_mod, zip) = (
            key(crate::storage::Key::info(module, version))?,
            key(crate::storage::Key::go_mod(module, version))?,
            key(crate::storage::Key::zip(module, version))?,
        );
        // The three files looked up in the store at once; then fetched one after the
        // other, so that a permit stands for one upstream request at most (the permits
        // are half the upstream's: the other half is left to client requests).
        let there = |k| async move { matches!(store.stat(k).await, Ok(Some(_))) };
        let (a, b, c) = futures_util::join!(there(&info), there(&go_mod), there(&zip));
        let stored = a && b && c;
        self.info(module, version).await?;
        self.go_mod(module, version).await?;
        let zip = self.zip(module, version).await?;
        Ok(Warmed {
            stored,
            zip_bytes: zip.size,
        })
    }

    /// The go.mod of `module@version` through the cache, under a prefetch permit (as
    /// [`Cache::warm`]).
    pub async fn warm_go_mod(&self, module: &str, version: &str) -> Result<bytes::Bytes, Error> {
        self.not_filtered(module, version)?;
        let _permit = self.inner.prefetch.permits.acquire().await;
        self.go_mod(module, version).await
    }
}
