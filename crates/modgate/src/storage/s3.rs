//! The object storage backend: S3-compatible storage through `object_store` (AWS S3,
//! MinIO, SeaweedFS, Ceph, R2 ...). Objects are named `<prefix>/<key name>`, the same
//! GOMODCACHE layout as the directory backend.
//!
//! - An object is visible only once complete: a small one is one PUT, a zip is streamed
//!   from the staging area as a multipart upload that S3 assembles at its completion.
//! - Immutable entries are written with `PutMode::Create`: when several replicas store
//!   the same module version at once, the first writer wins and the others keep its
//!   bytes (they passed the same checks).
//! - Settings from the standard AWS variables (`AWS_ACCESS_KEY_ID`,
//!   `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP=true` for
//!   a plain-http endpoint), then the settings file's `[s3]` table for what they do not
//!   say, then the shared credentials and config files (`aws_profile.rs`); path-style
//!   requests unless told otherwise.
//! - Zip downloads may be answered with a redirect to a presigned URL (`[s3]
//!   redirect_zips`): the client then reads the object from the storage itself.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{
    GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    WriteMultipart,
};
use tokio::io::AsyncReadExt;

use super::aws_profile;
use super::blob::{Blob, Blobs, ByteStream, Listed, Stat};
use super::key::Key;
use super::staging::Staged;

/// `[s3]`, checked (secrets read when the storage is opened).
#[derive(Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// The endpoint URL.
    pub endpoint: Option<String>,
    /// The region.
    pub region: Option<String>,
    /// Plain http allowed.
    pub allow_http: Option<bool>,
    /// Virtual-hosted-style requests (bucket in the host name) instead of path-style.
    pub virtual_hosted_style: Option<bool>,
    /// The access key id.
    pub access_key_id: Option<String>,
    /// The secret access key, or the file that holds it.
    pub secret: Option<Secret>,
    /// The section of the shared credentials and config files.
    pub profile: Option<String>,
    /// Zip downloads answered with a redirect to a presigned URL valid this long.
    pub redirect_zips: Option<Duration>,
    /// The bound on connecting to the storage.
    pub connect_timeout: Duration,
    /// The bound on each read of an answer: the first byte, and every wait after.
    pub read_timeout: Duration,
    /// The bound on a whole call, its body included (a zip streamed to a client).
    pub timeout: Duration,
    /// How many times a failed call is tried again, within `timeout`.
    pub retries: usize,
}

impl Default for S3Settings {
    /// No settings of its own; a call bounded to 5 s to connect, 30 s a read, 10 minutes
    /// in all, tried again twice.
    fn default() -> Self {
        S3Settings {
            endpoint: None,
            region: None,
            allow_http: None,
            virtual_hosted_style: None,
            access_key_id: None,
            secret: None,
            profile: None,
            redirect_zips: None,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(30),
            timeout: Duration::from_secs(600),
            retries: 2,
        }
    }
}

/// Where a secret is. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// Given in the file.
    Value(String),
    /// The text of this file, trimmed.
    File(std::path::PathBuf),
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("allow_http", &self.allow_http)
            .field("virtual_hosted_style", &self.virtual_hosted_style)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret",
                &match &self.secret {
                    None => "none".to_string(),
                    Some(Secret::Value(_)) => "<redacted>".to_string(),
                    Some(Secret::File(p)) => p.display().to_string(),
                },
            )
            .field("profile", &self.profile)
            .field("redirect_zips", &self.redirect_zips)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish()
    }
}

/// Above this size a staged file is sent as a multipart upload (parts of this size).
const PART: usize = 8 << 20;

/// `s3://BUCKET/PREFIX`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    /// The bucket.
    pub bucket: String,
    /// The prefix inside it (no leading or trailing `/`; may be empty).
    pub prefix: String,
}

impl S3Url {
    /// Parses `s3://BUCKET[/PREFIX]`.
    pub fn parse(url: &str) -> Result<S3Url, S3Error> {
        let bad = |reason: String| S3Error::Url {
            url: url.to_string(),
            reason,
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("want a directory or s3://BUCKET/PREFIX".into()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid_bucket {
            return Err(bad(format!(
                "{bucket:?} is not a bucket name (3 to 63 lower-case letters, digits, '-' and '.')"
            )));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|e| e == "." || e == "..") || prefix.contains("//") {
            return Err(bad(format!("the prefix {prefix:?} is not a plain path")));
        }
        Ok(S3Url {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

/// Why S3-compatible storage cannot be used (`--storage`, `[s3]`, the AWS settings).
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// `--storage` is not `s3://BUCKET[/PREFIX]` (the URL, and why).
    #[error("--storage {url}: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// `[s3] secret_access_key_file` cannot be read.
    #[error("--storage {url}: reading [s3] secret_access_key_file {}: {source}", file.display())]
    SecretFile {
        /// The storage URL.
        url: String,
        /// The file.
        file: std::path::PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The AWS credentials file's profile has no static keys.
    #[error("--storage {url}: {source}")]
    Profile {
        /// The storage URL.
        url: String,
        /// What is missing.
        source: aws_profile::IncompleteProfile,
    },
    /// The client could not be built from the settings.
    #[error(
        "--storage {url}: {reason} (S3 settings come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL, AWS_ALLOW_HTTP, the settings file's [s3], and the AWS credentials and config files)"
    )]
    Client {
        /// The storage URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The local data directory (staging, the lock) cannot be used.
    #[error("{0}")]
    Local(#[from] io::Error),
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// An error reading the local staged file being sent: never an outage of the storage.
fn local(e: io::Error, path: &std::path::Path) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("{}reading {}: {e}", super::health::LOCAL, path.display()),
    )
}

/// A bucket (and prefix) of S3-compatible storage.
#[derive(Debug)]
pub struct S3Blobs {
    store: Arc<dyn ObjectStore>,
    url: S3Url,
    /// With `[s3] redirect_zips`: the signer of zip URLs and how long they live.
    presign: Option<(Arc<object_store::aws::AmazonS3>, Duration)>,
}

fn storage_error(url: &S3Url, what: &str, key: &Key, e: object_store::Error) -> io::Error {
    let kind = match &e {
        object_store::Error::NotFound { .. } => io::ErrorKind::NotFound,
        object_store::Error::AlreadyExists { .. } => io::ErrorKind::AlreadyExists,
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => io::ErrorKind::PermissionDenied,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, format!("{what} {url}/{key}: {e}"))
}

impl S3Blobs {
    /// The bucket of `url`, reached with the settings of the standard AWS environment
    /// (`env` reads a variable), then `[s3]`, then the AWS shared files.
    pub fn open(
        url: S3Url,
        settings: &S3Settings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<S3Blobs, S3Error> {
        let env = |k: &str| env(k).filter(|v| !v.is_empty());
        let shown = url.to_string();
        let mut b = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(&url.bucket);
        if env("AWS_ENDPOINT_URL").is_none()
            && env("AWS_ENDPOINT").is_none()
            && let Some(e) = &settings.endpoint
        {
            b = b.with_endpoint(e);
        }
        if env("AWS_ALLOW_HTTP").is_none()
            && let Some(a) = settings.allow_http
        {
            b = b.with_allow_http(a);
        }
        // Path-style requests (bucket in the path) unless asked otherwise: what
        // self-hosted S3 servers expect.
        if env("AWS_VIRTUAL_HOSTED_STYLE_REQUEST").is_none() {
            b = b.with_virtual_hosted_style_request(settings.virtual_hosted_style.unwrap_or(false));
        }
        let profile = aws_profile::profile_name(&env, settings.profile.as_deref());
        if env("AWS_REGION").is_none()
            && env("AWS_DEFAULT_REGION").is_none()
            && let Some(r) = settings
                .region
                .clone()
                .or_else(|| aws_profile::region(&env, &profile))
        {
            b = b.with_region(r);
        }
        if env("AWS_ACCESS_KEY_ID").is_none() {
            if let (Some(id), Some(secret)) = (&settings.access_key_id, &settings.secret) {
                let secret = match secret {
                    Secret::Value(v) => v.clone(),
                    Secret::File(p) => std::fs::read_to_string(p)
                        .map_err(|source| S3Error::SecretFile {
                            url: shown.clone(),
                            file: p.clone(),
                            source,
                        })?
                        .trim()
                        .to_string(),
                };
                b = b.with_access_key_id(id).with_secret_access_key(secret);
            } else if let Some(c) =
                aws_profile::credentials(&env, &profile).map_err(|source| S3Error::Profile {
                    url: shown.clone(),
                    source,
                })?
            {
                b = b
                    .with_access_key_id(c.key_id)
                    .with_secret_access_key(c.secret);
                if let Some(t) = c.token {
                    b = b.with_token(t);
                }
            }
        }
        // Each call bounded (connect, each read, the whole), and tried again at most
        // `retries` times: a storage that does not answer is found out quickly, and the
        // store's health (`health.rs`) then answers from the upstreams.
        use object_store::ClientConfigKey as C;
        use object_store::aws::AmazonS3ConfigKey as K;
        let ms = |d: Duration| format!("{}ms", d.as_millis());
        b = b
            .with_config(K::Client(C::ConnectTimeout), ms(settings.connect_timeout))
            .with_config(K::Client(C::ReadTimeout), ms(settings.read_timeout))
            .with_config(K::Client(C::Timeout), ms(settings.timeout))
            .with_retry(object_store::RetryConfig {
                max_retries: settings.retries,
                retry_timeout: settings.timeout,
                backoff: object_store::BackoffConfig::default(),
            });
        let store = Arc::new(b.build().map_err(|e| S3Error::Client {
            url: shown.clone(),
            reason: e.to_string(),
        })?);
        let mut blobs = S3Blobs::new(Arc::clone(&store) as Arc<dyn ObjectStore>, url);
        blobs.presign = settings.redirect_zips.map(|d| (store, d));
        Ok(blobs)
    }

    /// The objects of `store` under `url`'s prefix.
    pub fn new(store: Arc<dyn ObjectStore>, url: S3Url) -> S3Blobs {
        crate::metrics::metrics().enable_s3();
        S3Blobs {
            store,
            url,
            presign: None,
        }
    }

    fn path(&self, key: &Key) -> ObjectPath {
        if self.url.prefix.is_empty() {
            ObjectPath::from(key.name())
        } else {
            ObjectPath::from(format!("{}/{}", self.url.prefix, key.name()))
        }
    }

    fn err(&self, what: &str, key: &Key, e: object_store::Error) -> io::Error {
        storage_error(&self.url, what, key, e)
    }

    /// Put options: first writer wins for what never changes.
    fn put_options(key: &Key) -> PutOptions {
        PutOptions {
            mode: if key.is_immutable() {
                PutMode::Create
            } else {
                PutMode::Overwrite
            },
            ..PutOptions::default()
        }
    }
}

/// Counts a request of `operation` begun at `started` in the metrics, by its outcome.
fn measured<T>(operation: &'static str, started: Instant, r: &Result<T, object_store::Error>) {
    let outcome = match r {
        Ok(_) => "ok",
        Err(object_store::Error::NotFound { .. }) => "not_found",
        Err(object_store::Error::AlreadyExists { .. }) => "exists",
        Err(_) => "error",
    };
    crate::metrics::metrics().s3(operation, outcome, started.elapsed());
}

/// A time object_store gives (seconds and nanoseconds since the epoch).
fn system_time(secs: i64, nanos: u32) -> std::time::SystemTime {
    match u64::try_from(secs) {
        Ok(s) => std::time::UNIX_EPOCH + std::time::Duration::new(s, nanos),
        Err(_) => std::time::UNIX_EPOCH,
    }
}

#[async_trait]
impl Blobs for S3Blobs {
    fn describe(&self) -> String {
        self.url.to_string()
    }

    async fn get(&self, key: &Key) -> io::Result<Option<Blob>> {
        let started = Instant::now();
        let r = self.store.get(&self.path(key)).await;
        measured("get", started, &r);
        match r {
            Ok(r) => {
                let t = r.meta.last_modified;
                let modified = system_time(t.timestamp(), t.timestamp_subsec_nanos());
                let data = r.bytes().await.map_err(|e| self.err("reading", key, e))?;
                Ok(Some(Blob { data, modified }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err("reading", key, e)),
        }
    }

    async fn stat(&self, key: &Key) -> io::Result<Option<Stat>> {
        let started = Instant::now();
        let r = self.store.head(&self.path(key)).await;
        measured("head", started, &r);
        match r {
            Ok(m) => Ok(Some(Stat {
                size: m.size,
                modified: system_time(
                    m.last_modified.timestamp(),
                    m.last_modified.timestamp_subsec_nanos(),
                ),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err("reading", key, e)),
        }
    }

    async fn put(&self, key: &Key, data: Bytes) -> io::Result<()> {
        let started = Instant::now();
        let r = self
            .store
            .put_opts(
                &self.path(key),
                PutPayload::from(data),
                Self::put_options(key),
            )
            .await;
        measured("put", started, &r);
        match r {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(self.err("writing", key, e)),
        }
    }

    async fn delete(&self, key: &Key) -> io::Result<bool> {
        // S3 answers a removal alike whether or not the object was there: asked first.
        if self.stat(key).await?.is_none() {
            return Ok(false);
        }
        let started = Instant::now();
        let r = self.store.delete(&self.path(key)).await;
        measured("delete", started, &r);
        match r {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(true),
            Err(e) => Err(self.err("removing", key, e)),
        }
    }

    async fn put_staged(&self, key: &Key, file: Staged) -> io::Result<()> {
        let path = self.path(key);
        let mut f = tokio::fs::File::open(file.path())
            .await
            .map_err(|e| local(e, file.path()))?;
        let size = f.metadata().await.map_err(|e| local(e, file.path()))?.len();
        if size <= PART as u64 {
            let mut data = Vec::with_capacity(size as usize);
            f.read_to_end(&mut data)
                .await
                .map_err(|e| local(e, file.path()))?;
            return self.put(key, data.into()).await;
        }
        let started = Instant::now();
        let upload = self.store.put_multipart(&path).await;
        if upload.is_err() {
            measured("put_multipart", started, &upload);
        }
        let upload = upload.map_err(|e| self.err("writing", key, e))?;
        let mut w = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut buf = vec![0u8; PART];
        let sent = async {
            loop {
                let n = f.read(&mut buf).await.map_err(|e| local(e, file.path()))?;
                if n == 0 {
                    return Ok(());
                }
                // At most a couple of parts in flight: memory stays bounded whatever the
                // size.
                w.wait_for_capacity(2)
                    .await
                    .map_err(|e| self.err("writing", key, e))?;
                w.write(&buf[..n]);
            }
        }
        .await;
        match sent {
            Ok(()) => {
                let r = w.finish().await;
                measured("put_multipart", started, &r);
                r.map(|_| ()).map_err(|e| self.err("writing", key, e))
            }
            // Never completed, the object never appears; its parts are let go of (best
            // effort: a storage that is gone drops them by its lifecycle rules).
            Err(e) => {
                crate::metrics::metrics().s3("put_multipart", "error", started.elapsed());
                let _ = w.abort().await;
                Err(e)
            }
        }
    }

    async fn presign(&self, key: &Key) -> io::Result<Option<String>> {
        use object_store::signer::Signer;
        let Some((signer, lives)) = &self.presign else {
            return Ok(None);
        };
        let url = signer
            .signed_url(axum::http::Method::GET, &self.path(key), *lives)
            .await
            .map_err(|e| self.err("presigning", key, e))?;
        Ok(Some(url.to_string()))
    }

    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> io::Result<Vec<Listed>> {
        // S3 lists by whole path elements: the prefix's last element is matched here.
        let full = |name: &str| match self.url.prefix.is_empty() {
            true => name.to_string(),
            false => format!("{}/{name}", self.url.prefix),
        };
        let dir = prefix.rsplit_once('/').map_or("", |(d, _)| d);
        let dir = ObjectPath::from(full(dir));
        let started = Instant::now();
        let mut listing = match after {
            Some(a) => self
                .store
                .list_with_offset(Some(&dir), &ObjectPath::from(full(a))),
            None => self.store.list(Some(&dir)),
        };
        let skip = match self.url.prefix.is_empty() {
            true => 0,
            false => self.url.prefix.len() + 1,
        };
        let mut out = Vec::new();
        while out.len() < limit {
            let meta = match listing.next().await {
                None => break,
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    crate::metrics::metrics().s3("list", "error", started.elapsed());
                    return Err(io::Error::other(format!(
                        "listing {prefix:?} in {}: {e}",
                        self.url
                    )));
                }
            };
            let Some(name) = meta.location.as_ref().get(skip..) else {
                continue;
            };
            if !name.starts_with(prefix) {
                // Names are listed in order: past the prefix, nothing more matches.
                if name > prefix {
                    break;
                }
                continue;
            }
            let t = meta.last_modified;
            out.push(Listed {
                name: name.to_string(),
                size: meta.size,
                modified: system_time(t.timestamp(), t.timestamp_subsec_nanos()),
            });
        }
        crate::metrics::metrics().s3("list", "ok", started.elapsed());
        Ok(out)
    }

    async fn local_file(&self, _key: &Key) -> io::Result<Option<std::fs::File>> {
        Ok(None)
    }

    async fn read_range(&self, key: &Key, start: u64, len: u64) -> io::Result<Option<ByteStream>> {
        if len == 0 {
            return match self.stat(key).await? {
                Some(_) => Ok(Some(Box::pin(futures_util::stream::empty()))),
                None => Ok(None),
            };
        }
        let opts = GetOptions {
            range: Some(GetRange::Bounded(start..start + len)),
            ..GetOptions::default()
        };
        let started = Instant::now();
        let r = self.store.get_opts(&self.path(key), opts).await;
        measured("get_range", started, &r);
        match r {
            Ok(r) => {
                let (url, key) = (self.url.clone(), key.clone());
                let stream = r
                    .into_stream()
                    .map_err(move |e| storage_error(&url, "reading", &key, e))
                    .boxed();
                Ok(Some(stream))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err("reading", key, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_urls() {
        assert_eq!(
            S3Url::parse("s3://modules/prod/cache").unwrap(),
            S3Url {
                bucket: "modules".into(),
                prefix: "prod/cache".into()
            }
        );
        assert_eq!(
            S3Url::parse("s3://modules").unwrap().to_string(),
            "s3://modules"
        );
        assert_eq!(
            S3Url::parse("s3://modules/p/").unwrap().to_string(),
            "s3://modules/p"
        );
        for bad in [
            "s3://",
            "s3://UPPER/x",
            "s3://m/../x",
            "s3://mo/a//b",
            "gs://x/y",
        ] {
            assert!(S3Url::parse(bad).is_err(), "{bad}");
        }
    }

    /// The backend against a real S3 server (SeaweedFS on loopback): the contract every
    /// backend keeps, a zip large enough for a multipart upload, and the first writer of
    /// an immutable entry winning.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_s3_backend_keeps_the_contract() {
        let sw = tokio::task::spawn_blocking(testkit::seaweed::Seaweed::start)
            .await
            .unwrap();
        sw.create_bucket("contract");
        let store = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&sw.endpoint)
            .with_allow_http(true)
            .with_bucket_name("contract")
            .with_access_key_id("modgate-test")
            .with_secret_access_key("modgate-test-secret")
            .with_region("us-east-1")
            .with_virtual_hosted_style_request(false)
            .build()
            .unwrap();
        let url = S3Url::parse("s3://contract/p/q").unwrap();
        let b = S3Blobs::new(Arc::new(store), url);
        let d = tempfile::tempdir().unwrap();
        let staging = super::super::Staging::open(d.path()).unwrap();
        super::super::contract::check(&b, &staging).await;
        // Stored under the prefix, in the GOMODCACHE layout.
        let name = "p/q/cache/download/example.com/!contract/@v/v1.0.0-!r!c.mod";
        assert_eq!(
            sw.object("contract", name).as_deref(),
            Some(&b"module example.com/Contract\n"[..])
        );
        // First writer wins for what never changes.
        let k = Key::go_mod("example.com/Contract", "v1.0.0-RC").unwrap();
        b.put(&k, Bytes::from_static(b"other\n")).await.unwrap();
        assert_eq!(
            &b.get(&k).await.unwrap().unwrap().data[..],
            b"module example.com/Contract\n"
        );
        // 20 MB: three parts of a multipart upload, visible whole once complete.
        let z = Key::zip("example.com/big", "v1.0.0").unwrap();
        let f = staging.file("big.zip");
        let zip: Vec<u8> = (0..20_000_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(f.path(), &zip).unwrap();
        b.put_staged(&z, f).await.unwrap();
        assert_eq!(b.stat(&z).await.unwrap().unwrap().size, 20_000_000);
        let tail = super::super::contract::range(&b, &z, 19_999_000, 1000).await;
        assert_eq!(tail.as_deref(), Some(&zip[19_999_000..]));
    }
}
