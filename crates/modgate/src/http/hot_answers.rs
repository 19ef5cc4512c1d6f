//! Answers given again by the request path that got them.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

use super::reply::bytes;
use crate::cache::Meta;
use crate::storage::Key;

/// Answers by the request path that got them, so that a hot one is answered without
/// parsing the path, building the store's file name or consulting the cache: immutable
/// ones (the `.info` of a canonical version, `.mod`) for good, fresh short-lived ones
/// (`@v/list`, `@latest`) until the cache's lifetime for them ends. Bounded by bytes; the
/// bodies are shared with the cache's memory, not copied. An immutable answer stays here
/// when its files are evicted from the disk (`storage/evict.rs` says why: the same checked
/// bytes, in bounded memory). A zip sent from a file of the store is remembered as where
/// it is, its size and its ETag, and sent again from the file while the store keeps it
/// (`zip::serve_again`; a use of the version for eviction all the same).
pub(super) struct HotAnswers(quick_cache::sync::Cache<String, Hot, HotWeight>);

/// What is remembered for a path.
#[derive(Clone)]
pub(super) enum Hot {
    Answer(HotAnswer),
    Zip(Arc<HotZip>),
}

/// One answer to give again.
#[derive(Clone)]
pub(super) struct HotAnswer {
    ctype: &'static str,
    cache: HeaderValue,
    body: bytes::Bytes,
    /// When a short-lived answer stops being fresh.
    until: Option<std::time::Instant>,
}

/// A zip to send again from its file in the store.
pub(super) struct HotZip {
    pub(super) key: Key,
    pub(super) size: u64,
    pub(super) etag: String,
}

#[derive(Clone)]
pub(super) struct HotWeight;

impl quick_cache::Weighter<String, Hot> for HotWeight {
    fn weight(&self, key: &String, val: &Hot) -> u64 {
        let own = match val {
            Hot::Answer(a) => a.body.len(),
            Hot::Zip(z) => z.key.name().len() + z.etag.len() + 32,
        };
        (key.len() + own + 64) as u64
    }
}

/// How much the hot answers may hold.
const HOT_ANSWER_BYTES: u64 = 16 << 20;

impl HotAnswers {
    pub(super) fn new() -> HotAnswers {
        HotAnswers(quick_cache::sync::Cache::with_weighter(
            16_384,
            HOT_ANSWER_BYTES,
            HotWeight,
        ))
    }

    pub(super) fn get(&self, path: &str) -> Option<Hot> {
        let hot = self.0.get(path)?;
        if let Hot::Answer(a) = &hot
            && a.until.is_some_and(|t| t <= std::time::Instant::now())
        {
            self.0.remove(path);
            return None;
        }
        Some(hot)
    }

    /// Remembers the zip `key` (`size` bytes, ETag `etag`), just sent from its file in the
    /// store for `path`.
    pub(super) fn remember_zip(&self, path: &str, key: &Key, size: u64, etag: &str) {
        let zip = HotZip {
            key: key.clone(),
            size,
            etag: etag.to_string(),
        };
        self.0.insert(path.to_string(), Hot::Zip(Arc::new(zip)));
    }

    /// Forgets what is remembered for `path` (a zip no longer in the store).
    pub(super) fn forget_path(&self, path: &str) {
        self.0.remove(path);
    }

    pub(super) fn remember(
        &self,
        path: &str,
        ctype: &'static str,
        cache: HeaderValue,
        body: &bytes::Bytes,
        until: Option<std::time::Instant>,
    ) {
        self.0.insert(
            path.to_string(),
            Hot::Answer(HotAnswer {
                ctype,
                cache,
                body: body.clone(),
                until,
            }),
        );
    }

    /// Drops the answers `purge` names: the module's list and `@latest`, and with `force`
    /// its version's `.info`, `.mod` and zip.
    pub(super) fn forget(&self, purge: &crate::cache::Purge) {
        use crate::cache::purge::What;
        let Ok(m) = gomod::module::escape_path(&purge.module) else {
            return;
        };
        if purge.what.contains(&What::List) {
            self.0.remove(&format!("/{m}/@v/list"));
        }
        if purge.what.contains(&What::Latest) {
            self.0.remove(&format!("/{m}/@latest"));
        }
        if let (true, Some(v)) = (purge.force, &purge.version)
            && let Ok(v) = gomod::module::escape_version(v)
        {
            self.0.remove(&format!("/{m}/@v/{v}.info"));
            self.0.remove(&format!("/{m}/@v/{v}.mod"));
            self.0.remove(&format!("/{m}/@v/{v}.zip"));
        }
    }

    /// A fresh short-lived answer, until it is no longer fresh (stale ones never).
    pub(super) fn remember_fresh<T>(
        &self,
        path: &str,
        ctype: &'static str,
        cache: &HeaderValue,
        body: &bytes::Bytes,
        meta: &Meta<T>,
    ) {
        if let (None, Some(until)) = (&meta.stale, meta.fresh_until) {
            self.remember(path, ctype, cache.clone(), body, Some(until));
        }
    }
}

impl HotAnswer {
    pub(super) fn respond(self, head: bool) -> Response {
        bytes(
            StatusCode::OK,
            self.ctype,
            self.cache,
            self.body,
            head,
            None,
        )
    }
}
