//! The `Source` seam: where module data comes from, like the go command's `Repo` interface
//! (cmd/go/internal/modfetch/repo.go). The cache and the HTTP layer sit on top of it; the
//! implementations are an upstream GOPROXY (`proxy`), git (`git`, the `direct` entry) and a
//! chain of those with the go command's `,` / `|` fallback rules (`chain`).
//!
//! Module paths and versions cross this seam decoded (not `!`-escaped). Every method is
//! bounded in time by its implementation.

pub mod chain;
pub mod file;
pub mod git;
pub mod hedge;
pub mod offline;
pub mod proxy;
pub mod retract;
pub mod routes;
pub mod swap;

use std::path::Path;

use async_trait::async_trait;

use crate::error::Error;
use serde::Serialize;

tokio::task_local! {
    /// Which upstream answered the source call under way (set by the chain).
    static ANSWERED_BY: std::cell::RefCell<Option<String>>;
}

/// Runs `f` (source calls), and says which upstream (a chain entry: its URL with any
/// password hidden, `direct`, a `file://` tree) gave the last answer in it, if a chain
/// said so.
pub async fn answered_by<F: std::future::Future>(f: F) -> (F::Output, Option<String>) {
    ANSWERED_BY
        .scope(std::cell::RefCell::new(None), async {
            let out = f.await;
            (out, ANSWERED_BY.with(|a| a.borrow_mut().take()))
        })
        .await
}

/// Notes that `entry` answered (within [`answered_by`]; nothing otherwise).
pub(crate) fn note_answer(entry: &impl std::fmt::Display) {
    let _ = ANSWERED_BY.try_with(|a| *a.borrow_mut() = Some(entry.to_string()));
}

/// An `.info` or `@latest` answer: the body to serve, and the version it names.
///
/// From an upstream proxy or a `file://` tree the body is the bytes as served, checked
/// with the go command's own reading of them ([`Info::parse`]) and never re-serialized;
/// from git it is the JSON the go command writes for a revision ([`Info::made`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    /// The version the body names (`Version`; empty when it names none).
    pub version: String,
    /// The JSON body, as it is served.
    pub json: bytes::Bytes,
}

impl Info {
    /// Reads an `.info` body as the go command does (`json.Unmarshal` into `RevInfo`:
    /// [`gomod::info::parse`]); the body is kept as it is.
    pub fn parse(json: impl Into<bytes::Bytes>) -> Result<Info, gomod::info::InfoError> {
        let json = json.into();
        let info = gomod::info::parse(&json)?;
        Ok(Info {
            version: info.version,
            json,
        })
    }

    /// The `.info` of a revision found in version control: `Version`, `Time` (RFC 3339,
    /// UTC) and `Origin`, in the go command's field order.
    pub fn made(
        version: String,
        time: gomod::timestamp::Timestamp,
        origin: &impl Serialize,
    ) -> Info {
        #[derive(Serialize)]
        struct Made<'a, O: Serialize> {
            #[serde(rename = "Version")]
            version: &'a str,
            #[serde(rename = "Time")]
            time: String,
            #[serde(rename = "Origin")]
            origin: &'a O,
        }
        let json = serde_json::to_vec(&Made {
            version: &version,
            time: time.format_rfc3339(),
            origin,
        })
        .unwrap_or_default();
        Info {
            version,
            json: json.into(),
        }
    }
}

/// A place module data comes from. Implementations must be cheap to share (`Arc<dyn Source>`).
#[async_trait]
pub trait Source: Send + Sync {
    /// A short description for logs and errors: `proxy https://proxy.golang.org`, `direct`.
    fn describe(&self) -> String;

    /// Whether it can fetch anything at all (`off` and `--offline` cannot): what the
    /// store does not hold can still be answered.
    fn fetches(&self) -> bool {
        true
    }

    /// The upstreams it asks, and their state now (for `/api/v1/upstreams`).
    fn upstreams(&self) -> Vec<UpstreamState> {
        Vec::new()
    }

    /// The `@v/list` body: for an upstream proxy or a `file://` tree the bytes as served
    /// (the go command reads the first field of each line that is a valid version);
    /// from git the tagged versions (no pseudo-versions) in semver order, one a line. An
    /// empty list is an answer, not an error.
    async fn list(&self, module: &str) -> Result<bytes::Bytes, Error>;

    /// Resolves `query` (a canonical version, or anything the go command accepts in its
    /// place: a non-canonical semver, a branch, a tag, a commit hash) to its canonical
    /// version and time (`@v/<query>.info`).
    async fn stat(&self, module: &str, query: &str) -> Result<Info, Error>;

    /// The version the go command would pick for `module@latest` (`@latest`).
    async fn latest(&self, module: &str) -> Result<Info, Error>;

    /// The go.mod of `module@version` (`@v/<version>.mod`); `version` is canonical.
    async fn go_mod(&self, module: &str, version: &str) -> Result<Vec<u8>, Error>;

    /// Writes the module zip of `module@version` to the new file `dest` (streamed, never
    /// held whole in memory) and returns its size (`@v/<version>.zip`). `version` is
    /// canonical. Sources relay the bytes (bounded in size); the cache checks the file
    /// once, after the chain, as the go command checks a zip after its proxy list (so a
    /// bad zip does not fall through `|`), before it stores it, and removes it on error.
    async fn zip(&self, module: &str, version: &str, dest: &Path) -> Result<u64, Error>;
}

/// An upstream as `/api/v1/upstreams` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UpstreamState {
    /// As logs name it: its URL (password hidden), `direct`, a `file://` tree.
    pub upstream: String,
    /// `proxy`, `git` or `file`.
    pub kind: &'static str,
    /// Its circuit breaker is open (skipped, or one request probing it).
    pub breaker_open: bool,
    /// It asked to wait (429 Retry-After): for this many more milliseconds.
    pub rate_limited_for_ms: Option<u64>,
}

impl UpstreamState {
    /// An upstream with no pacing state of its own (git, a `file://` tree).
    pub fn plain(upstream: String, kind: &'static str) -> UpstreamState {
        UpstreamState {
            upstream,
            kind,
            breaker_open: false,
            rate_limited_for_ms: None,
        }
    }
}

/// Each upstream of `states` once, in order.
pub fn distinct(states: impl IntoIterator<Item = UpstreamState>) -> Vec<UpstreamState> {
    let mut out: Vec<UpstreamState> = Vec::new();
    for s in states {
        if !out.iter().any(|o| o.upstream == s.upstream) {
            out.push(s);
        }
    }
    out
}

/// An `@v/list` body of `versions`: one a line, each ended by a newline.
pub fn list_body(versions: &[String]) -> bytes::Bytes {
    let mut out = Vec::with_capacity(versions.iter().map(|v| v.len() + 1).sum());
    for v in versions {
        out.extend_from_slice(v.as_bytes());
        out.push(b'\n');
    }
    out.into()
}

/// An error and its sources, joined by `: ` (what a user needs from a failure several
/// layers deep: `error sending request: client error (Connect): dns error: ...`).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}
