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
pub mod proxy;
pub mod retract;

use std::path::Path;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// What `@v/<version>.info` and `@latest` carry (the go command's `RevInfo` as a proxy
/// serves it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// The canonical version (a semver tag or a pseudo-version).
    #[serde(rename = "Version")]
    pub version: String,
    /// The commit time, RFC 3339 in UTC (`2006-01-02T15:04:05Z`).
    #[serde(rename = "Time")]
    pub time: String,
    /// Provenance (VCS, URL, hash, ref) as the go command writes it, when known.
    #[serde(rename = "Origin", default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<serde_json::Value>,
}

/// Why a source could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The module or version does not exist at this source (an upstream's 404 or 410, an
    /// unknown revision in git). A `,` chain moves on to the next entry; the HTTP layer
    /// answers 404 with the message as the body.
    #[error("{0}")]
    NotFound(String),
    /// The source failed (refused connection, 5xx, garbage, git error). A `,` chain stops
    /// here; a `|` chain moves on. The HTTP layer answers 502.
    #[error("{0}")]
    Failed(String),
    /// The source did not answer in time (connect, first byte, stalled or overlong
    /// transfer, a git command over its bound). A failure like `Failed` for the chain
    /// rules; the HTTP layer answers 504.
    #[error("{0}")]
    Timeout(String),
    /// The request itself is invalid for this module (bad version for the path's major
    /// version, and the like): 404 with the message, as the go command expects.
    #[error("{0}")]
    Invalid(String),
    /// Refused by policy (for example a private module asked of a public source): 404
    /// with the message; a chain moves on as for `NotFound`.
    #[error("{0}")]
    Refused(String),
}

impl SourceError {
    /// True where a `,` chain falls through to the next entry (the go command's
    /// `errors.Is(err, fs.ErrNotExist)`).
    pub fn is_not_found(&self) -> bool {
        matches!(self, SourceError::NotFound(_) | SourceError::Refused(_))
    }
}

/// A place module data comes from. Implementations must be cheap to share (`Arc<dyn Source>`).
#[async_trait]
pub trait Source: Send + Sync {
    /// A short description for logs and errors: `proxy https://proxy.golang.org`, `direct`.
    fn describe(&self) -> String;

    /// The tagged versions of `module` (no pseudo-versions), sorted in semver order
    /// (`@v/list`). An empty list is an answer, not an error.
    async fn list(&self, module: &str) -> Result<Vec<String>, SourceError>;

    /// Resolves `query` (a canonical version, or anything the go command accepts in its
    /// place: a non-canonical semver, a branch, a tag, a commit hash) to its canonical
    /// version and time (`@v/<query>.info`).
    async fn stat(&self, module: &str, query: &str) -> Result<Info, SourceError>;

    /// The version the go command would pick for `module@latest` (`@latest`).
    async fn latest(&self, module: &str) -> Result<Info, SourceError>;

    /// The go.mod of `module@version` (`@v/<version>.mod`); `version` is canonical.
    async fn go_mod(&self, module: &str, version: &str) -> Result<Vec<u8>, SourceError>;

    /// Writes the module zip of `module@version` to the new file `dest` (streamed, never
    /// held whole in memory) and returns its size (`@v/<version>.zip`). `version` is
    /// canonical. The caller validates the file before it stores it, and removes it on error.
    async fn zip(&self, module: &str, version: &str, dest: &Path) -> Result<u64, SourceError>;
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
