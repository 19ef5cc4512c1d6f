//! `/sumdb/<name>/...`: the checksum database proxied for modgate's clients, as the go
//! command expects of a GOPROXY that answers `/sumdb/<name>/supported` (design 25530,
//! "proxying a checksum database"), so that `GOSUMDB` stays on behind a firewall that only
//! reaches modgate.
//!
//! - `supported`: 200 for the configured database, 404 for any other name;
//! - `lookup/<module>@<version>`: refused (404, with why) for modules matching `--private`
//!   or `--nosumdb`, which never reach the database; else fetched and kept on disk;
//! - `tile/...`: full tiles never change and are kept on disk; partial tiles are kept in
//!   memory for the short lifetime;
//! - `latest`: kept in memory for the short lifetime, and served stale (with
//!   `X-Modgate-Stale`) when the database cannot be reached.
//!
//! What is kept on disk lives under `<data>/cache/download/sumdb/<name>/`, where the go
//! command keeps its own copy. The database is reached as the go command reaches it
//! (`dbClient.initBase`): through the first upstream proxy that answers its `supported`
//! with 200 (404/410, or any error after `|`, moves on; another error stops), else at the
//! database's own URL once `direct` or `off` is reached or the list ends. A URL in
//! `--sumdb` bypasses the proxies. `file://` upstreams are passed over.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use gomod::sumdb::tile::Tile;

use super::spec::SumDb;
use crate::cache::Cache;
use crate::error::{Error, Kind};
use crate::source::chain::Entry;
use crate::source::proxy::ProxySettings;
use crate::source::proxy::http::Upstream;
use crate::storage::{Key, Store};

/// The largest lookup answer accepted (a record and a signed tree head: a few hundred bytes).
const MAX_LOOKUP: u64 = 1 << 20;
/// The largest `latest` accepted.
const MAX_LATEST: u64 = 64 << 10;
/// The largest data tile accepted (records of up to `2^h` modules).
const MAX_DATA_TILE: u64 = 64 << 20;

/// One file of the database's protocol, parsed from the path after `/sumdb/<name>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbFile {
    /// `supported`.
    Supported,
    /// `latest`: the signed tree head.
    Latest,
    /// `lookup/<escaped module>@<escaped version>`.
    Lookup {
        /// The module path (decoded).
        module: String,
        /// The version (decoded).
        version: String,
        /// The path as asked (escaped).
        rel: String,
    },
    /// `tile/...`.
    Tile(Tile),
}

/// Why a path under `/sumdb/<name>/` is none of the protocol's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbPathError {
    /// A `lookup/` path that is not `<module>@<version>` with a canonical version.
    #[error("malformed lookup {lookup:?}: {reason}")]
    Lookup {
        /// What follows `lookup/`.
        lookup: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `tile/` path that does not parse.
    #[error("{0}")]
    Tile(String),
    /// Another path (as asked).
    #[error(
        "unknown checksum database path {0:?}: the protocol serves supported, latest, lookup/<module>@<version> and tile/..."
    )]
    Unknown(String),
}

impl DbFile {
    /// Parses `rel`, the path after `/sumdb/<name>/`.
    pub fn parse(rel: &str) -> Result<DbFile, DbPathError> {
        match rel {
            "supported" => return Ok(DbFile::Supported),
            "latest" => return Ok(DbFile::Latest),
            _ => {}
        }
        if let Some(mv) = rel.strip_prefix("lookup/") {
            let bad = |reason: String| DbPathError::Lookup {
                lookup: mv.to_string(),
                reason,
            };
            let (m, v) = mv
                .rsplit_once('@')
                .ok_or_else(|| bad("want <module>@<version>".into()))?;
            let module = gomod::module::unescape_path(m).map_err(|e| bad(e.to_string()))?;
            let version = gomod::module::unescape_version(v).map_err(|e| bad(e.to_string()))?;
            // Not module::check: x/mod's client and server look up any canonical version,
            // and a proxy may serve `rsc.io/quote@v2.0.0`, whose hashes are checked too.
            if gomod::module::canonical_version(&version) != version {
                return Err(bad("the database records canonical versions only".into()));
            }
            return Ok(DbFile::Lookup {
                module,
                version,
                rel: rel.to_string(),
            });
        }
        if rel.starts_with("tile/") {
            return Tile::parse_path(rel)
                .map(DbFile::Tile)
                .map_err(|e| DbPathError::Tile(e.to_string()));
        }
        Err(DbPathError::Unknown(rel.to_string()))
    }
}

/// How the database is reached: where to ask, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    /// An upstream proxy (`<url>/sumdb/<name>`), and whether any error moves on (`|`).
    Proxy(String, bool),
    /// The database's own URL.
    Direct(String),
}

/// Where to ask for `db`, in order, given the upstream list: each http(s) upstream before
/// `direct`/`off` (unless the spec named a URL), then the database itself.
fn routes(db: &SumDb, entries: &[(Entry, bool)]) -> Vec<Route> {
    let mut routes = Vec::new();
    if db.url.is_none() {
        for (entry, pipe) in entries {
            match entry {
                Entry::Url(u) if u.starts_with("http://") || u.starts_with("https://") => {
                    routes.push(Route::Proxy(
                        format!("{}/sumdb/{}", u.trim_end_matches('/'), db.name),
                        *pipe,
                    ));
                }
                Entry::Url(_) => {}
                Entry::Direct | Entry::Off => break,
            }
        }
    }
    routes.push(Route::Direct(db.direct_url()));
    routes
}

/// The checksum database proxy.
pub struct SumdbProxy {
    db: SumDb,
    /// `--private` and `--nosumdb` patterns: never looked up.
    excluded: String,
    routes: Vec<Route>,
    settings: ProxySettings,
    /// Where the database is reached, and whether that is its own URL.
    base: tokio::sync::Mutex<Option<(Arc<Upstream>, bool)>>,
    cache: Cache,
    store: Arc<Store>,
    short: quick_cache::sync::Cache<String, (Instant, Bytes)>,
    ttl: Duration,
    /// `--offline`: nothing is fetched; what the data directory holds (a bundle's
    /// lookups, tiles and `latest`) is served.
    offline: bool,
}

/// An answer: the body, whether it is immutable, and why it is stale (if it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbAnswer {
    /// The body.
    pub body: Bytes,
    /// Whether it never changes (full tiles and lookups).
    pub immutable: bool,
    /// Set when a stale copy is served because the database could not be reached: why.
    pub stale: Option<String>,
}

impl SumdbProxy {
    /// A proxy for `db`, reached through the upstream `entries` (the `--upstream` list, each
    /// with whether `|` follows it), never looking up modules matching `excluded`. Answers
    /// share `cache`'s single-flight and negative cache, and `store`'s data directory;
    /// `ttl` is the lifetime of `latest` and partial tiles.
    pub fn new(
        db: SumDb,
        entries: &[(Entry, bool)],
        excluded: String,
        settings: ProxySettings,
        cache: Cache,
        store: Arc<Store>,
        ttl: Duration,
    ) -> SumdbProxy {
        let routes = routes(&db, entries);
        SumdbProxy {
            db,
            excluded,
            routes,
            settings,
            base: tokio::sync::Mutex::new(None),
            cache,
            store,
            short: quick_cache::sync::Cache::new(4096),
            ttl,
            offline: false,
        }
    }

    /// A proxy for `db` that reaches nothing: it serves what `store` holds of it (the
    /// files of an imported bundle), for `serve --offline`.
    pub fn offline(db: SumDb, cache: Cache, store: Arc<Store>) -> SumdbProxy {
        SumdbProxy {
            routes: Vec::new(),
            offline: true,
            ..SumdbProxy::new(
                db,
                &[],
                String::new(),
                ProxySettings::default(),
                cache,
                store,
                Duration::from_secs(60),
            )
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.db.name
    }

    fn failed(&self, m: String) -> Error {
        Error::failed(m)
    }

    /// A failed fetch from the database, reached at its own URL (`direct`) or through an
    /// upstream proxy: at its own URL, the hint names what sets that URL.
    fn fetch_error(&self, e: Error, direct: bool) -> Error {
        e.map_message(|m| {
            let m = match direct {
                true => crate::source::proxy::http::with_hint(
                    m,
                    "the checksum database is reached at its own URL: check that this machine reaches it, or name another URL for it in --sumdb (GOSUMDB syntax: NAME+KEY URL), or --sumdb off",
                ),
                false => m.to_string(),
            };
            format!("checksum database {}: {m}", self.db.name)
        })
    }

    /// Where the database is reached, found once (and again after a failure).
    async fn base(&self) -> Result<(Arc<Upstream>, bool), Error> {
        let mut base = self.base.lock().await;
        if let Some((b, direct)) = &*base {
            return Ok((Arc::clone(b), *direct));
        }
        let mut last_err = None;
        for route in &self.routes {
            match route {
                Route::Proxy(url, pipe) => {
                    let up = Upstream::new(url, &self.settings)
                        .map_err(|e| self.failed(e.to_string()))?;
                    match up.get_bytes("supported", MAX_LATEST).await {
                        Ok(_) => {
                            tracing::info!(db = %self.db.name, via = %up.redacted_base(), "checksum database reached through an upstream proxy");
                            let up = Arc::new(up);
                            *base = Some((Arc::clone(&up), false));
                            return Ok((up, false));
                        }
                        Err(e) if e.is_not_found() || *pipe => last_err = Some(e),
                        Err(e) => return Err(self.fetch_error(e, false)),
                    }
                }
                Route::Direct(url) => {
                    let up = Arc::new(Upstream::new(url, &self.settings).map_err(|e| {
                        self.failed(format!("checksum database {}: {e}", self.db.name))
                    })?);
                    if let Some(e) = last_err {
                        tracing::info!(db = %self.db.name, url = %up.redacted_base(), last = %e.message(), "no upstream proxies the checksum database; reaching it directly");
                    }
                    *base = Some((Arc::clone(&up), true));
                    return Ok((up, true));
                }
            }
        }
        Err(self.failed(format!(
            "checksum database {}: no way to reach it",
            self.db.name
        )))
    }

    /// Answers `rel`, the path after `/sumdb/<name>/`.
    pub async fn answer(&self, rel: &str) -> Result<DbAnswer, Error> {
        let file = DbFile::parse(rel).map_err(|e| Error::invalid(e.to_string()))?;
        match file {
            DbFile::Supported => Ok(DbAnswer {
                body: Bytes::new(),
                immutable: false,
                stale: None,
            }),
            DbFile::Latest => self.short_lived(rel, MAX_LATEST, |_| Ok(())).await,
            DbFile::Lookup {
                module, version, ..
            } => {
                if gomod::module::match_prefix_patterns(&self.excluded, &module) {
                    tracing::warn!(module = %module, version = %version, "checksum database lookup of a private module refused");
                    return Err(Error::refused(format!(
                        "modgate does not look up {module}@{version} in the checksum database {}: it matches --private or --nosumdb, and asking would leak its name; set GONOSUMDB (or GOPRIVATE) for it on the client",
                        self.db.name
                    )));
                }
                self.kept(rel, MAX_LOOKUP, |_| Ok(())).await
            }
            DbFile::Tile(t) => {
                let check = move |b: &[u8]| check_tile(&t, b);
                let max = if t.is_data() {
                    MAX_DATA_TILE
                } else {
                    32 * u64::from(t.w)
                };
                if t.is_full() {
                    self.kept(rel, max, check).await
                } else {
                    self.short_lived(rel, max, check).await
                }
            }
        }
    }

    /// Fetches `rel` from the database, at most `max` bytes, checked by `check`.
    async fn fetch(
        &self,
        rel: &str,
        max: u64,
        check: impl Fn(&[u8]) -> Result<(), TileSizeError>,
    ) -> Result<Bytes, Error> {
        if self.offline {
            return Err(Error::not_found(format!(
                "checksum database {}: {rel} is not in the data directory, and modgate serves --offline (it asks nothing of the database)",
                self.db.name
            )));
        }
        let (base, direct) = self.base().await?;
        let body = base.get_bytes(rel, max).await.map_err(|e| {
            if !e.is_not_found() {
                // Look for the database again next time: the proxy may have gone.
                if let Ok(mut b) = self.base.try_lock() {
                    *b = None;
                }
            }
            self.fetch_error(e, direct)
        })?;
        check(&body).map_err(|m| {
            self.failed(format!(
                "checksum database {}: {rel}: {m}; not kept",
                self.db.name
            ))
        })?;
        tracing::info!(db = %self.db.name, file = rel, bytes = body.len(), "checksum database fetched");
        Ok(Bytes::from(body))
    }

    /// An immutable file: from disk, else fetched once (single-flight) and stored.
    async fn kept(
        &self,
        rel: &str,
        max: u64,
        check: impl Fn(&[u8]) -> Result<(), TileSizeError> + Send + Sync + 'static,
    ) -> Result<DbAnswer, Error> {
        let key = Key::sumdb(&self.db.name, rel).map_err(|e| Error::invalid(e.to_string()))?;
        let answer = |body: Bytes| DbAnswer {
            body,
            immutable: true,
            stale: None,
        };
        // A storage that does not answer: fetched, checked and served, not kept.
        if let Some(b) = crate::storage::or_miss(self.store.get(&key).await)
            .map_err(|e| Error::internal(e.to_string()))?
        {
            return Ok(answer(b.data));
        }
        let body = self.fetch(rel, max, &check).await?;
        crate::storage::or_skipped(self.store.put(&key, body.clone()).await)
            .map_err(|e| Error::internal(e.to_string()))?;
        Ok(answer(body))
    }

    /// A file that changes (`latest`, partial tiles): fresh for the lifetime, then fetched
    /// again; a stale copy is served when the database cannot be reached.
    async fn short_lived(
        &self,
        rel: &str,
        max: u64,
        check: impl Fn(&[u8]) -> Result<(), TileSizeError>,
    ) -> Result<DbAnswer, Error> {
        let cached = self.short.get(rel);
        if let Some((at, body)) = &cached
            && at.elapsed() < self.ttl
        {
            return Ok(DbAnswer {
                body: body.clone(),
                immutable: false,
                stale: None,
            });
        }
        // Offline: the copy the data directory holds (an imported bundle's).
        if self.offline {
            let key = Key::sumdb(&self.db.name, rel).map_err(|e| Error::invalid(e.to_string()))?;
            if let Some(b) = self
                .store
                .get(&key)
                .await
                .map_err(|e| Error::internal(e.to_string()))?
            {
                return Ok(DbAnswer {
                    body: b.data,
                    immutable: false,
                    stale: None,
                });
            }
        }
        match self.fetch(rel, max, check).await {
            Ok(body) => {
                self.short
                    .insert(rel.to_string(), (Instant::now(), body.clone()));
                Ok(DbAnswer {
                    body,
                    immutable: false,
                    stale: None,
                })
            }
            Err(e) => match cached {
                Some((at, body)) if e.kind() != Kind::NotFound => {
                    let why = format!(
                        "the checksum database could not be reached ({e}); this copy is {}s old",
                        at.elapsed().as_secs()
                    );
                    tracing::warn!(db = %self.db.name, file = rel, "{why}");
                    Ok(DbAnswer {
                        body,
                        immutable: false,
                        stale: Some(why),
                    })
                }
                _ => Err(e),
            },
        }
    }

    /// Shares `cache`'s single-flight for `rel`.
    pub async fn answer_shared(self: &Arc<Self>, rel: &str) -> Result<DbAnswer, Error> {
        let me = Arc::clone(self);
        let r = rel.to_string();
        self.cache
            .single_flight(format!("sumdb {} {rel}", self.db.name), async move {
                me.answer(&r).await
            })
            .await
    }
}

/// A tile whose size cannot be its width's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileSizeError {
    /// A data tile with no bytes.
    #[error("empty data tile")]
    EmptyData,
    /// A hash tile of another size than 32 bytes per hash.
    #[error("a tile of width {width} must be {want} bytes, got {got}")]
    Hashes {
        /// Its width.
        width: u32,
        /// 32 × width.
        want: usize,
        /// Its size.
        got: usize,
    },
}

/// A hash tile holds exactly `w` hashes of 32 bytes; a data tile, `w` records separated
/// by blank lines (not checked further here).
fn check_tile(t: &Tile, body: &[u8]) -> Result<(), TileSizeError> {
    if t.is_data() {
        return if body.is_empty() {
            Err(TileSizeError::EmptyData)
        } else {
            Ok(())
        };
    }
    let want = 32 * t.w as usize;
    if body.len() != want {
        return Err(TileSizeError::Hashes {
            width: t.w,
            want,
            got: body.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_paths() {
        assert_eq!(DbFile::parse("supported"), Ok(DbFile::Supported));
        assert_eq!(DbFile::parse("latest"), Ok(DbFile::Latest));
        assert_eq!(
            DbFile::parse("lookup/github.com/!azure/x@v1.0.0"),
            Ok(DbFile::Lookup {
                module: "github.com/Azure/x".into(),
                version: "v1.0.0".into(),
                rel: "lookup/github.com/!azure/x@v1.0.0".into()
            })
        );
        assert!(matches!(
            DbFile::parse("tile/8/0/x001/234.p/5"),
            Ok(DbFile::Tile(Tile {
                h: 8,
                l: 0,
                n: 1234,
                w: 5
            }))
        ));
        assert_eq!(
            DbFile::parse("tile/8/0/1"),
            Err(DbPathError::Tile(
                "malformed tile path \"tile/8/0/1\"".into()
            ))
        );
        assert!(DbFile::parse("lookup/github.com/Azure/x@v1.0.0").is_err());
        assert!(DbFile::parse("lookup/example.com/m").is_err());
        assert!(DbFile::parse("lookup/example.com/m@v1").is_err());
        assert_eq!(
            DbFile::parse("../latest"),
            Err(DbPathError::Unknown("../latest".into()))
        );
        assert_eq!(
            DbFile::parse("lookup/example.com/m@v1").map_err(|e| e.to_string()),
            Err("malformed lookup \"example.com/m@v1\": the database records canonical versions only".into())
        );
    }

    #[test]
    fn routes_as_the_go_command_tries_them() {
        let db = crate::sumdb::spec::parse("sum.golang.org")
            .unwrap()
            .unwrap();
        let url = |u: &str| Entry::Url(u.to_string());
        let entries = [
            (url("https://a.example/p/"), false),
            (url("file:///srv/goproxy"), false),
            (url("http://b.example"), true),
            (Entry::Direct, false),
            (url("https://never.example"), false),
        ];
        assert_eq!(
            routes(&db, &entries),
            [
                Route::Proxy("https://a.example/p/sumdb/sum.golang.org".into(), false),
                Route::Proxy("http://b.example/sumdb/sum.golang.org".into(), true),
                Route::Direct("https://sum.golang.org".into()),
            ]
        );
        let own = crate::sumdb::spec::parse("sum.golang.org https://mirror.example/db")
            .unwrap()
            .unwrap();
        assert_eq!(
            routes(&own, &entries),
            [Route::Direct("https://mirror.example/db".into())]
        );
    }

    #[test]
    fn tiles_are_checked_by_size() {
        let t = Tile::parse_path("tile/8/0/000.p/2").unwrap();
        assert_eq!(check_tile(&t, &[0u8; 64]), Ok(()));
        assert_eq!(
            check_tile(&t, &[0u8; 63]).map_err(|e| e.to_string()),
            Err("a tile of width 2 must be 64 bytes, got 63".into())
        );
        let d = Tile::parse_path("tile/8/data/000.p/2").unwrap();
        assert_eq!(check_tile(&d, b""), Err(TileSizeError::EmptyData));
    }
}
