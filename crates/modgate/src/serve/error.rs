//! Why `serve` could not be set up: each part's own error, held with what was being set
//! up.

use std::path::PathBuf;

use crate::source::chain::ChainError;
use crate::source::proxy::UpstreamError;

/// Why `serve` (or a data directory's cache) could not be set up: what was being set up,
/// and what to check. Printed at start; a reload that fails logs it and keeps running.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// An upstream `file://` URL that names no local directory (the URL).
    #[error("upstream {0:?}: a file:// URL needs an absolute path, like file:///srv/goproxy")]
    FileUrl(String),
    /// The upstream list.
    #[error("{0}")]
    Chain(#[from] ChainError),
    /// A route's upstream list.
    #[error("route {pattern}: {source}")]
    Route {
        /// The route's pattern.
        pattern: String,
        /// What is wrong with its list.
        source: ChainError,
    },
    /// A URL of a route's upstream list.
    #[error("{0}")]
    Upstream(#[from] UpstreamError),
    /// `--sumdb`.
    #[error("{0}")]
    SumDb(#[from] crate::sumdb::spec::SpecError),
    /// The checksum database's key.
    #[error("{0}")]
    SumKey(#[from] crate::sumdb::verify::KeyError),
    /// `--storage` names neither a directory nor S3 (the URL).
    #[error("--storage {0}: want a directory or s3://BUCKET/PREFIX")]
    StorageUrl(String),
    /// `--storage s3://…` is not a bucket and prefix.
    #[error("{0}")]
    S3Url(#[source] crate::storage::S3Error),
    /// The S3 storage could not be opened.
    #[error(
        "cannot open the storage: {0} (check --storage / MODGATE_STORAGE and the AWS_* settings)"
    )]
    S3(#[source] crate::storage::S3Error),
    /// The data directory could not be opened.
    #[error(
        "cannot open the data dir {}: {source} (check --data-dir / MODGATE_DATA_DIR, --storage / MODGATE_STORAGE)",
        dir.display()
    )]
    DataDir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `[auth]` (its token or htpasswd files), with the settings file when there is one.
    #[error("{}{reason}", file.as_ref().map(|f| format!("{}: ", f.display())).unwrap_or_default())]
    Auth {
        /// The settings file.
        file: Option<PathBuf>,
        /// What is wrong (boxed: the largest variant, with Windows' larger paths).
        reason: Box<crate::http::AuthError>,
    },
    /// The TLS certificate or key.
    #[error("{0}")]
    Tls(#[from] crate::http::tls::TlsError),
    /// `--redis`.
    #[error("{0}")]
    Redis(#[from] crate::cluster::RedisError),
    /// The bundle to import at start.
    #[error("{0}")]
    Bundle(#[from] crate::bundle::Error),
    /// `--listen`.
    #[error("{0}")]
    Listen(#[from] crate::config::listen::ListenError),
    /// The listener could not be bound.
    #[error("cannot listen on {listen}: {source} (check --listen / MODGATE_LISTEN)")]
    Bind {
        /// `--listen` as written.
        listen: String,
        /// Why.
        source: std::io::Error,
    },
    /// The bound address could not be read.
    #[error("cannot read the listening address: {0}")]
    LocalAddr(#[source] std::io::Error),
    /// The settings, read again for a reload.
    #[error("{0}")]
    Settings(#[from] crate::config::ConfigError),
}
