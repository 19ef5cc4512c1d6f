//! Settings for `modgate serve` (and the data directories of `prefetch` and `bundle`), at
//! the top of the house: read here, converted into each part's own option types.
//!
//! Precedence: flags over the environment over the TOML file (`--config`,
//! `MODGATE_CONFIG`) over the defaults (`layers.rs`). Every key of the file
//! (`keys.rs`, one table) is also an environment variable, `MODGATE_<TABLE>_<KEY>`
//! (`MODGATE_<KEY>` at the top). The reference file, `modgate.example.toml` at the
//! repository's root, lists every key with its default. Durations are Go's
//! (`crate::duration`), listen addresses Go's (`listen.rs`).
//!
//! `mod.rs` turns the merged table into [`Settings`], checking each value and naming where
//! a bad one was set; `routes.rs` reads `[[upstreams]]` and `[[routes]]`, `auth.rs`
//! `[auth]`, `s3.rs` `[s3]`; `show.rs` prints the effective settings back.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::Deserialize;

use crate::cache::Prefetch;

mod auth;
pub mod file_duration;
pub mod keys;
pub mod layers;
pub mod listen;
mod routes;
mod s3;
pub mod show;
mod warm;

use file_duration::FileDuration;
pub use layers::{Given, Layers, Origin};

pub use crate::http::listen::ServerLimits;
pub use crate::http::tls::TlsFiles;
pub use auth::{AuthSettings, TokenSecret, TokenSettings, UserSettings};
pub use routes::{Route, UpstreamSettings, substitute};
pub use s3::{S3Settings, Secret};

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
/// The default data directory.
pub const DEFAULT_DATA_DIR: &str = "./modgate-data";
/// The default upstream chain (GOPROXY syntax), as the go command's default.
pub const DEFAULT_UPSTREAM: &str = crate::goenv::DEFAULT_GOPROXY;
/// The default checksum database, as the go command's.
pub const DEFAULT_SUMDB: &str = crate::goenv::DEFAULT_GOSUMDB;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// The flags of `modgate serve`.
#[derive(Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct ServeArgs {
    /// TOML settings file [env: MODGATE_CONFIG]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [env: MODGATE_LISTEN] [default: 127.0.0.1:3000]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Data directory: the module cache, in the GOMODCACHE/cache/download layout
    /// [env: MODGATE_DATA_DIR] [default: ./modgate-data]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where the module cache is kept: a directory, or s3://BUCKET/PREFIX (S3 settings
    /// from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL,
    /// AWS_ALLOW_HTTP; the data directory then holds only staging and git clones)
    /// [env: MODGATE_STORAGE] [default: the data directory]
    #[arg(long, value_name = "URL")]
    pub storage: Option<String>,
    /// The most the local disk keeps (bytes, or with a unit: 10GiB, 500MB): the directory
    /// store and the git clones; least recently used entries are evicted above it. With
    /// s3:// storage it bounds the git clones only [env: MODGATE_CACHE_MAX_BYTES]
    /// [default: none, unbounded]
    #[arg(long, value_name = "SIZE")]
    pub cache_max_bytes: Option<String>,
    /// Redis shared by several replicas (redis://HOST:PORT/DB, rediss:// for TLS): one
    /// fetch per module version across them (a leased lock), shared negative and
    /// list/@latest answers, shared rate-limit counters. Without it, or while it is
    /// unreachable, each replica works on its own [env: MODGATE_REDIS]
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Upstream chain in GOPROXY syntax [env: MODGATE_UPSTREAM]
    /// [default: https://proxy.golang.org,direct]
    #[arg(long, value_name = "LIST")]
    pub upstream: Option<String>,
    /// Private module patterns in GOPRIVATE syntax [env: MODGATE_PRIVATE]
    #[arg(long, value_name = "PATTERNS")]
    pub private: Option<String>,
    /// Checksum database in GOSUMDB syntax, proxied at /sumdb/<name>/ [env: MODGATE_SUMDB]
    /// [default: sum.golang.org]
    #[arg(long, value_name = "SPEC")]
    pub sumdb: Option<String>,
    /// Modules never looked up in the checksum database, GONOSUMDB syntax (--private
    /// modules never are either) [env: MODGATE_NOSUMDB]
    #[arg(long, value_name = "PATTERNS")]
    pub nosumdb: Option<String>,
    /// Log format [env: MODGATE_LOG_FORMAT] [default: human]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Log level: a level (error, warn, info, debug, trace) or tracing filter directives
    /// (`info,modgate::cache=debug`) [env: MODGATE_LOG_LEVEL, else RUST_LOG] [default: info]
    #[arg(long, value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Serve only what is stored, asking no upstream (an air-gapped site); everything
    /// else is a 404 that says so [env: MODGATE_OFFLINE=1]
    #[arg(long)]
    pub offline: bool,
    /// Serve HTTPS with this certificate chain (PEM; needs --tls-key) [env: MODGATE_TLS_CERT]
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1) [env: MODGATE_TLS_KEY]
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Import this bundle (`modgate bundle create`) into the data dir at start, checked,
    /// and serve it (with --offline: and its checksum database records)
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
}

/// Timeouts for upstream requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Connecting to an upstream.
    pub connect: Duration,
    /// From the request to the first byte of the answer.
    pub first_byte: Duration,
    /// A whole transfer (zips).
    pub transfer: Duration,
    /// A whole metadata request (list, info, mod, latest) through the chain.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(30),
            transfer: Duration::from_secs(600),
            request: Duration::from_secs(120),
        }
    }
}

/// Every setting of `modgate serve`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The listen address (`host:port`).
    pub listen: String,
    /// The data directory.
    pub data_dir: PathBuf,
    /// `--storage`: `None` for the data directory, else a directory or `s3://...` URL.
    pub storage: Option<String>,
    /// `--cache-max-bytes` / `[cache] max_bytes`: the bound on the local disk's cache,
    /// `None` for none.
    pub max_bytes: Option<u64>,
    /// `--redis`: the Redis URL shared by replicas, if any.
    pub redis: Option<String>,
    /// The upstream chain, GOPROXY syntax.
    pub upstream: String,
    /// GOPRIVATE-style patterns.
    pub private: String,
    /// Upstream URLs allowed to serve private modules (no flag).
    pub private_upstreams: Vec<String>,
    /// The checksum database, GOSUMDB syntax (`off`: none).
    pub sumdb: String,
    /// GONOSUMDB-style patterns.
    pub nosumdb: String,
    /// Upstream timeouts (no flag).
    pub timeouts: Timeouts,
    /// How long a "not found" is remembered (no flag).
    pub negative_ttl: Duration,
    /// How long `@v/list`, `@latest` and non-canonical queries are fresh (no flag).
    pub list_ttl: Duration,
    /// Concurrent requests per upstream (no flag).
    pub upstream_concurrency: usize,
    /// Request limits for clients and upstreams (no flag).
    pub limits: Limits,
    /// Hedged upstream requests (no flag).
    pub hedge: crate::source::hedge::HedgeSettings,
    /// Named upstreams with their own settings (`[[upstreams]]`).
    pub upstreams: Vec<UpstreamSettings>,
    /// Routes by module path (`[[routes]]`).
    pub routes: Vec<Route>,
    /// What is fetched ahead when a go.mod had to be fetched (no flag).
    pub prefetch: Prefetch,
    /// GOINSECURE-style patterns: module paths whose `direct` discovery and git remotes
    /// may use plain http (no flag).
    pub insecure: String,
    /// Bound on each git command of the `direct` source (no flag).
    pub git_timeout: Duration,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter (tracing's `EnvFilter` directives).
    pub log_level: String,
    /// `--offline`: no upstream, no checksum database but what is stored; what is stored
    /// is served.
    pub offline: bool,
    /// `--bundle`: imported into the data directory at start.
    pub bundle: Option<PathBuf>,
    /// Bounds on the client connections (no flag).
    pub server: ServerLimits,
    /// `--tls-cert` and `--tls-key`: serve HTTPS (`None`: plain HTTP).
    pub tls: Option<TlsFiles>,
    /// The settings file read, if any.
    pub config_file: Option<PathBuf>,
    /// `[auth]`: `None` without the table, when everyone reads everything.
    pub auth: Option<AuthSettings>,
    /// `[s3]` (the AWS environment wins where both say).
    pub s3: S3Settings,
    /// `[filter]`: which modules and versions are served (empty: all); replaced by a
    /// reload.
    pub filter: crate::filter::Filter,
    /// `[warm]`: warm jobs and their callbacks.
    pub warm: warm::WarmSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: DEFAULT_LISTEN.to_string(),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            storage: None,
            max_bytes: None,
            redis: None,
            upstream: DEFAULT_UPSTREAM.to_string(),
            private: String::new(),
            private_upstreams: Vec::new(),
            sumdb: DEFAULT_SUMDB.to_string(),
            nosumdb: String::new(),
            timeouts: Timeouts::default(),
            negative_ttl: Duration::from_secs(60),
            list_ttl: Duration::from_secs(60),
            upstream_concurrency: 16,
            limits: Limits::default(),
            hedge: crate::source::hedge::HedgeSettings::default(),
            upstreams: Vec::new(),
            routes: Vec::new(),
            prefetch: Prefetch::Mod,
            insecure: String::new(),
            git_timeout: Duration::from_secs(120),
            log_format: LogFormat::Human,
            log_level: "info".to_string(),
            offline: false,
            bundle: None,
            server: ServerLimits::default(),
            tls: None,
            config_file: None,
            auth: None,
            s3: S3Settings::default(),
            filter: crate::filter::Filter::default(),
            warm: warm::WarmSettings::default(),
        }
    }
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileTimeouts {
    connect: Option<FileDuration>,
    first_byte: Option<FileDuration>,
    transfer: Option<FileDuration>,
    request: Option<FileDuration>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileCache {
    negative_ttl: Option<FileDuration>,
    list_ttl: Option<FileDuration>,
    prefetch: Option<Prefetch>,
    max_bytes: Option<FileSize>,
}

/// A size in the file: bytes, or a string with a unit.
#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum FileSize {
    Bytes(i64),
    Text(String),
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileHedge {
    enabled: Option<bool>,
    quantile: Option<f64>,
    min_delay: Option<FileDuration>,
    max_delay: Option<FileDuration>,
    min_delay_ms: Option<u64>,
    max_delay_ms: Option<u64>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    client_requests_per_second: Option<u32>,
    client_burst: Option<u32>,
    upstream_requests_per_second: Option<u32>,
    breaker_failures: Option<u32>,
    breaker_open: Option<FileDuration>,
}

/// Request limits (`[limits]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// Per client: `None` for no limit.
    pub client: Option<crate::http::limit::ClientLimit>,
    /// The pacing of every HTTP upstream.
    pub upstream: crate::source::proxy::pace::PaceSettings,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileDirect {
    insecure: Option<String>,
    git_timeout: Option<FileDuration>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileServer {
    header_timeout: Option<FileDuration>,
    idle_timeout: Option<FileDuration>,
    drain_timeout: Option<FileDuration>,
    max_connections: Option<usize>,
    max_connections_per_address: Option<usize>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    storage: Option<String>,
    redis: Option<String>,
    offline: Option<bool>,
    upstream: Option<String>,
    private: Option<String>,
    private_upstreams: Option<Vec<String>>,
    sumdb: Option<String>,
    nosumdb: Option<String>,
    upstream_concurrency: Option<usize>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    bundle: Option<PathBuf>,
    log_format: Option<LogFormat>,
    log_level: Option<String>,
    #[serde(default)]
    timeouts: FileTimeouts,
    #[serde(default)]
    cache: FileCache,
    #[serde(default)]
    direct: FileDirect,
    #[serde(default)]
    limits: FileLimits,
    #[serde(default)]
    hedge: FileHedge,
    #[serde(default)]
    upstreams: Vec<routes::FileUpstream>,
    #[serde(default)]
    routes: Vec<routes::FileRoute>,
    #[serde(default)]
    server: FileServer,
    auth: Option<auth::FileAuth>,
    #[serde(default)]
    s3: s3::FileS3,
    #[serde(default)]
    filter: FileFilter,
    #[serde(default)]
    warm: warm::FileWarm,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileFilter {
    allow: Option<Vec<String>>,
    deny: Option<Vec<String>>,
}

/// Why the settings could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Settings {
    /// Resolves the settings from the flags, the environment (`env` returns a variable's
    /// value; pass `|k| std::env::var(k).ok()`) and the settings file they name.
    pub fn resolve(
        args: &ServeArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        Self::resolve_layers(args, env, Vec::new()).map(|(s, _)| s)
    }

    /// [`Settings::resolve`] with `go` (the go command's settings, for a command acting
    /// for it) under the file and over the defaults; the settings and their layers.
    pub fn resolve_layers(
        args: &ServeArgs,
        env: &dyn Fn(&str) -> Option<String>,
        go: Vec<Given>,
    ) -> Result<(Settings, Layers), ConfigError> {
        let env = |k: &str| env(k).filter(|v| !v.is_empty());
        let config_file = args
            .config
            .clone()
            .or_else(|| env("MODGATE_CONFIG").map(PathBuf::from));
        let file = match &config_file {
            Some(path) => Some(read_file(path)?),
            None => None,
        };
        let layers = Layers::build(
            go,
            file.as_ref()
                .zip(config_file.as_deref())
                .map(|((text, table), p)| (p, text.as_str(), table.clone())),
            &env,
            flags(args),
        )?;
        // The file alone was checked when read: what fails now came from a variable or a
        // flag (a table written inline).
        let file: FileSettings = toml::Value::Table(layers.table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| {
                let given: Vec<String> = layers
                    .origins
                    .values()
                    .filter_map(|o| match o {
                        Origin::Env(n) | Origin::Flag(n) => Some(n.clone()),
                        _ => None,
                    })
                    .collect();
                ConfigError(format!("{}: {}", given.join(", "), e.message()))
            })?;
        let s = settings(file, &layers, config_file)?;
        Ok((s, layers))
    }
}

/// The flags given, as keys of the file.
fn flags(args: &ServeArgs) -> Vec<Given> {
    let mut out = Vec::new();
    let mut put = |path: &'static str, flag: &str, value: Option<toml::Value>| {
        if let Some(value) = value {
            out.push(Given {
                path,
                value,
                origin: Origin::Flag(flag.to_string()),
            });
        }
    };
    let text = |v: &Option<String>| v.clone().map(toml::Value::String);
    let file = |v: &Option<PathBuf>| {
        v.as_ref()
            .map(|p| toml::Value::String(p.display().to_string()))
    };
    put("listen", "--listen", text(&args.listen));
    put("data_dir", "--data-dir", file(&args.data_dir));
    put("storage", "--storage", text(&args.storage));
    put(
        "cache.max_bytes",
        "--cache-max-bytes",
        text(&args.cache_max_bytes),
    );
    put("redis", "--redis", text(&args.redis));
    put("upstream", "--upstream", text(&args.upstream));
    put("private", "--private", text(&args.private));
    put("sumdb", "--sumdb", text(&args.sumdb));
    put("nosumdb", "--nosumdb", text(&args.nosumdb));
    put(
        "log_format",
        "--log-format",
        args.log_format.map(|f| {
            toml::Value::String(match f {
                LogFormat::Human => "human".into(),
                LogFormat::Json => "json".into(),
            })
        }),
    );
    put("log_level", "--log-level", text(&args.log_level));
    put(
        "offline",
        "--offline",
        args.offline.then_some(toml::Value::Boolean(true)),
    );
    put("tls_cert", "--tls-cert", file(&args.tls_cert));
    put("tls_key", "--tls-key", file(&args.tls_key));
    put("bundle", "--bundle", file(&args.bundle));
    out
}

/// The merged table `file` (whose keys came from `layers`), checked and converted.
fn settings(
    mut file: FileSettings,
    layers: &Layers,
    config_file: Option<PathBuf>,
) -> Result<Settings, ConfigError> {
    let mut s = Settings::default();
    listen_and_upstream(&mut s, &mut file, layers)?;
    storage_keys(&mut s, &mut file, layers)?;
    if let Some(p) = file.private_upstreams {
        s.private_upstreams = p;
    }
    let key = layers.name("upstream_concurrency");
    if let Some(n) = nonzero(&key, file.upstream_concurrency)? {
        s.upstream_concurrency = n;
    }
    s.timeouts = timeouts_table(&file.timeouts);
    cache_table(&mut s, &file.cache);
    direct_table(&mut s, file.direct);
    s.limits = limits(&file.limits, layers)?;
    s.hedge = hedge(&file.hedge, layers)?;
    let file_name = config_file.as_deref().unwrap_or(Path::new(""));
    let (ups, rs) = routes::resolve(file.upstreams, file.routes, &s, file_name)?;
    s.upstream = substitute(&s.upstream, &ups);
    s.upstreams = ups;
    s.routes = rs;
    s.server = server_table(&file.server, layers)?;
    s.tls = tls(file.tls_cert, file.tls_key, layers)?;
    s.log_format = file.log_format.unwrap_or_default();
    s.log_level = file.log_level.unwrap_or(s.log_level);
    check_log_level(&s.log_level, layers)?;
    s.bundle = file.bundle;
    s.offline = file.offline.unwrap_or(false);
    s.s3 = s3::s3_settings(file.s3)
        .map_err(|e| ConfigError(format!("{}: {e}", layers.table_name("s3"))))?;
    s.auth = auth_table(file.auth, &s.routes, layers, file_name)?;
    s.filter = crate::filter::Filter::parse(
        file.filter.allow.as_deref().unwrap_or_default(),
        file.filter.deny.as_deref().unwrap_or_default(),
    )
    .map_err(|e| ConfigError(format!("{}: {e}", layers.table_name("filter"))))?;
    s.warm = warm::warm_settings(file.warm)
        .map_err(|e| ConfigError(format!("{}: {e}", layers.table_name("warm"))))?;
    s.config_file = config_file;
    Ok(s)
}

/// `v`, else the default `d`.
fn duration_or(v: Option<FileDuration>, d: Duration) -> Duration {
    v.map_or(d, |v| v.0)
}

/// Where modgate listens and whom it asks: `listen`, `upstream`, `private`, `sumdb` and
/// `nosumdb`, taken from `file` into `s`, checked.
fn listen_and_upstream(
    s: &mut Settings,
    file: &mut FileSettings,
    layers: &Layers,
) -> Result<(), ConfigError> {
    let given = |v: &mut Option<String>, d: &mut String| {
        if let Some(v) = v.take() {
            *d = v;
        }
    };
    given(&mut file.listen, &mut s.listen);
    listen::parse(&s.listen)
        .map_err(|e| ConfigError(format!("{}{e}", layers.name_eq("listen"))))?;
    given(&mut file.upstream, &mut s.upstream);
    given(&mut file.private, &mut s.private);
    given(&mut file.sumdb, &mut s.sumdb);
    given(&mut file.nosumdb, &mut s.nosumdb);
    crate::sumdb::spec::parse(&s.sumdb).map_err(|e| ConfigError(e.to_string()))?;
    Ok(())
}

/// Where modules are kept: `data_dir`, `storage`, `[cache] max_bytes` and `redis`, taken
/// from `file` into `s`, checked.
fn storage_keys(
    s: &mut Settings,
    file: &mut FileSettings,
    layers: &Layers,
) -> Result<(), ConfigError> {
    if let Some(d) = file.data_dir.take() {
        s.data_dir = d;
    }
    s.storage = file.storage.take().filter(|v| !v.trim().is_empty());
    if let Some(url) = s.storage.as_deref().filter(|u| u.contains("://")) {
        crate::storage::S3Url::parse(url).map_err(|e| ConfigError(e.to_string()))?;
    }
    s.max_bytes = file
        .cache
        .max_bytes
        .as_ref()
        .map(|size| max_bytes(size, layers))
        .transpose()?;
    s.redis = file.redis.take().filter(|v| !v.trim().is_empty());
    if let Some(url) = &s.redis {
        crate::cluster::check_url(url).map_err(|e| ConfigError(e.to_string()))?;
    }
    Ok(())
}

/// `[cache] max_bytes`, checked: more than 0 bytes.
fn max_bytes(size: &FileSize, layers: &Layers) -> Result<u64, ConfigError> {
    let name = || layers.name_eq("cache.max_bytes");
    match size {
        FileSize::Bytes(n) if *n > 0 => Ok(*n as u64),
        FileSize::Bytes(n) => Err(ConfigError(format!(
            "{}{n}: must be more than 0 bytes",
            name()
        ))),
        FileSize::Text(t) => {
            crate::storage::parse_size(t).map_err(|e| ConfigError(format!("{}{e}", name())))
        }
    }
}

/// The `[timeouts]` table.
fn timeouts_table(f: &FileTimeouts) -> Timeouts {
    let d = Timeouts::default();
    Timeouts {
        connect: duration_or(f.connect, d.connect),
        first_byte: duration_or(f.first_byte, d.first_byte),
        transfer: duration_or(f.transfer, d.transfer),
        request: duration_or(f.request, d.request),
    }
}

/// The `[cache]` table but `max_bytes` (read with the storage), into `s`.
fn cache_table(s: &mut Settings, f: &FileCache) {
    s.negative_ttl = duration_or(f.negative_ttl, s.negative_ttl);
    s.list_ttl = duration_or(f.list_ttl, s.list_ttl);
    if let Some(p) = f.prefetch {
        s.prefetch = p;
    }
}

/// The `[direct]` table, into `s`.
fn direct_table(s: &mut Settings, f: FileDirect) {
    if let Some(i) = f.insecure {
        s.insecure = i;
    }
    s.git_timeout = duration_or(f.git_timeout, s.git_timeout);
}

/// The `[server]` table, checked: counts and the header and idle bounds at least 1.
fn server_table(f: &FileServer, layers: &Layers) -> Result<ServerLimits, ConfigError> {
    let d = ServerLimits::default();
    let at_least_1 = |key: &str, v: Option<usize>| nonzero(&layers.name(key), v);
    let dur_of = |key: &str, v: Option<FileDuration>| nonzero(&layers.name(key), v);
    Ok(ServerLimits {
        header_timeout: duration_or(
            dur_of("server.header_timeout", f.header_timeout)?,
            d.header_timeout,
        ),
        idle_timeout: duration_or(
            dur_of("server.idle_timeout", f.idle_timeout)?,
            d.idle_timeout,
        ),
        // 0: in-flight requests are cut at once.
        drain_timeout: duration_or(f.drain_timeout, d.drain_timeout),
        max_connections: at_least_1("server.max_connections", f.max_connections)?
            .unwrap_or(d.max_connections),
        max_connections_per_address: at_least_1(
            "server.max_connections_per_address",
            f.max_connections_per_address,
        )?
        .unwrap_or(d.max_connections_per_address),
    })
}

/// `tls_cert` and `tls_key`: both (HTTPS), or neither (plain HTTP).
fn tls(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    layers: &Layers,
) -> Result<Option<TlsFiles>, ConfigError> {
    match (cert, key) {
        (Some(cert), Some(key)) => Ok(Some(TlsFiles { cert, key })),
        (None, None) => Ok(None),
        (cert, _) => {
            let (given, missing) = match cert {
                Some(_) => (layers.name("tls_cert"), "--tls-key"),
                None => (layers.name("tls_key"), "--tls-cert"),
            };
            Err(ConfigError(format!(
                "{given} without {missing}: serving HTTPS needs both --tls-cert FILE and --tls-key FILE (or MODGATE_TLS_CERT and MODGATE_TLS_KEY, or tls_cert and tls_key in the settings file)"
            )))
        }
    }
}

/// Whether tracing reads `level` (the `log_level` key).
fn check_log_level(level: &str, layers: &Layers) -> Result<(), ConfigError> {
    tracing_subscriber::EnvFilter::try_new(level).map_err(|e| {
        ConfigError(format!(
            "{}{:?}: {e} (want error, warn, info, debug or trace, or tracing filter directives such as info,modgate::cache=debug)",
            layers.name_eq("log_level"),
            level
        ))
    })?;
    Ok(())
}

/// `[auth]`, checked; without it no route (of `routes`, from `file_name`) may have a
/// `read` list.
fn auth_table(
    auth: Option<auth::FileAuth>,
    routes: &[Route],
    layers: &Layers,
    file_name: &Path,
) -> Result<Option<AuthSettings>, ConfigError> {
    if let Some(auth) = auth {
        return auth::auth_settings(auth)
            .map(Some)
            .map_err(|e| ConfigError(format!("{}: {e}", layers.table_name("auth"))));
    }
    match routes.iter().find(|r| !r.read.is_empty()) {
        Some(r) => Err(ConfigError(format!(
            "{}: [[routes]] {}: read needs an [auth] table (without one every client reads every module)",
            file_name.display(),
            r.pattern
        ))),
        None => Ok(None),
    }
}

/// The `[hedge]` table, checked.
fn hedge(
    f: &FileHedge,
    layers: &Layers,
) -> Result<crate::source::hedge::HedgeSettings, ConfigError> {
    let mut h = crate::source::hedge::HedgeSettings::default();
    if let Some(e) = f.enabled {
        h.enabled = e;
    }
    if let Some(q) = f.quantile {
        if !(q > 0.0 && q <= 1.0) {
            return Err(ConfigError(format!(
                "{}{q}: want a number in (0, 1]",
                layers.name_eq("hedge.quantile")
            )));
        }
        h.quantile = q;
    }
    // `min_delay` (a duration), or the older `min_delay_ms`; not both.
    let delay = |d: Option<FileDuration>, ms: Option<u64>, key: &str| match (d, ms) {
        (Some(_), Some(_)) => Err(ConfigError(format!(
            "{} and {}: want one of them (the duration: {key} = \"250ms\")",
            layers.name(&format!("hedge.{key}")),
            layers.name(&format!("hedge.{key}_ms")),
        ))),
        (Some(d), None) => Ok(Some(d.0)),
        (None, Some(ms)) => Ok(Some(Duration::from_millis(ms))),
        (None, None) => Ok(None),
    };
    if let Some(d) = delay(f.min_delay, f.min_delay_ms, "min_delay")? {
        h.min_delay = d;
    }
    if let Some(d) = delay(f.max_delay, f.max_delay_ms, "max_delay")? {
        h.max_delay = d;
    }
    if h.min_delay > h.max_delay {
        return Err(ConfigError(format!(
            "[hedge] min_delay ({}) is over max_delay ({})",
            file_duration::format(h.min_delay),
            file_duration::format(h.max_delay)
        )));
    }
    Ok(h)
}

/// The `[limits]` table, checked.
fn limits(f: &FileLimits, layers: &Layers) -> Result<Limits, ConfigError> {
    use std::num::NonZeroU32;
    let mut l = Limits::default();
    if let Some(rps) = f.client_requests_per_second.and_then(NonZeroU32::new) {
        let burst = match f.client_burst {
            Some(b) => NonZeroU32::new(b).ok_or_else(|| {
                ConfigError(format!(
                    "{} must be at least 1",
                    layers.name("limits.client_burst")
                ))
            })?,
            None => rps.saturating_mul(NonZeroU32::MIN.saturating_add(1)),
        };
        l.client = Some(crate::http::limit::ClientLimit {
            requests_per_second: rps,
            burst,
        });
    }
    l.upstream.requests_per_second = f.upstream_requests_per_second.and_then(NonZeroU32::new);
    if let Some(n) = f.breaker_failures {
        l.upstream.breaker_failures = n;
    }
    if let Some(s) = f.breaker_open {
        l.upstream.breaker_open = s.0;
    }
    Ok(l)
}

/// `v`, unless it is 0: an error naming the key where it was set (`name`).
fn nonzero<T: Default + PartialEq>(name: &str, v: Option<T>) -> Result<Option<T>, ConfigError> {
    match v {
        Some(n) if n == T::default() => Err(ConfigError(format!("{name} must be at least 1"))),
        v => Ok(v),
    }
}

/// The settings file's text and table, checked as the settings read it (an unknown key,
/// a wrong type: the file, the line and what is wrong).
fn read_file(path: &Path) -> Result<(String, toml::Table), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError(format!(
            "reading settings file {}: {e} (check --config / MODGATE_CONFIG)",
            path.display()
        ))
    })?;
    let checked = toml::from_str::<FileSettings>(&text).and_then(|_| toml::from_str(&text));
    checked.map(|t| (text.clone(), t)).map_err(|e| {
        // toml's message names the unknown key and where it is.
        let msg = e.message().to_string();
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        match line {
            Some(l) => ConfigError(format!("{}:{l}: {msg}", path.display())),
            None => ConfigError(format!("{}: {msg}", path.display())),
        }
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::collections::HashMap;

    pub(super) fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    /// The settings of the file `text` alone: its directory, its path, the result.
    fn from_file(text: &str) -> (tempfile::TempDir, PathBuf, Result<Settings, ConfigError>) {
        let (d, p) = file(text);
        let args = ServeArgs {
            config: Some(p.clone()),
            ..Default::default()
        };
        let r = Settings::resolve(&args, &env_of(&[]));
        (d, p, r)
    }

    pub(super) fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("modgate.toml");
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    #[test]
    fn defaults() {
        let s = Settings::resolve(&ServeArgs::default(), &env_of(&[])).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.listen, "127.0.0.1:3000");
        assert_eq!(s.data_dir, PathBuf::from("./modgate-data"));
        assert_eq!(s.upstream, "https://proxy.golang.org,direct");
        assert_eq!(s.private, "");
        assert_eq!(s.negative_ttl, Duration::from_secs(60));
        assert_eq!(s.prefetch, Prefetch::Mod);
        assert_eq!(
            s.server,
            ServerLimits {
                header_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(60),
                drain_timeout: Duration::from_secs(30),
                max_connections: 4096,
                max_connections_per_address: 256,
            }
        );
        assert_eq!(s.tls, None);
        assert_eq!(
            (s.sumdb.as_str(), s.nosumdb.as_str()),
            ("sum.golang.org", "")
        );
    }

    #[test]
    fn a_bad_sumdb_spec_is_refused_at_start() {
        let args = ServeArgs {
            sumdb: Some("sum.example.com".into()),
            ..Default::default()
        };
        assert_eq!(
            Settings::resolve(&args, &env_of(&[]))
                .unwrap_err()
                .to_string(),
            "invalid GOSUMDB (--sumdb \"sum.example.com\"): malformed verifier id (a known name such as sum.golang.org, or a verifier key name+hash+key)"
        );
    }

    const FULL: &str = r#"
listen = "127.0.0.1:1001"
data_dir = "/file/data"
storage = "s3://modules/file"
redis = "redis://10.0.0.5:6379/2"
offline = true
upstream = "file:///file/up"
private = "file.example.com"
private_upstreams = ["https://private.example.com"]
sumdb = "off"
nosumdb = "file.example.org"
upstream_concurrency = 3
tls_cert = "/file/cert.pem"
tls_key = "/file/key.pem"
[timeouts]
connect = 1
first_byte = 2
transfer = 3
request = 4
[cache]
negative_ttl = 5
list_ttl = 6
prefetch = "all"
max_bytes = "8MiB"
[direct]
insecure = "git.lan.example.com"
git_timeout = 7
[limits]
client_requests_per_second = 8
upstream_requests_per_second = 9
breaker_failures = 10
breaker_open = 11
[server]
header_timeout = 8
idle_timeout = 9
drain_timeout = 10
max_connections = 11
max_connections_per_address = 12
"#;

    #[test]
    fn file_over_defaults() {
        let (_d, p) = file(FULL);
        let args = ServeArgs {
            config: Some(p.clone()),
            ..Default::default()
        };
        let s = Settings::resolve(&args, &env_of(&[])).unwrap();
        assert_eq!(
            s,
            Settings {
                listen: "127.0.0.1:1001".into(),
                data_dir: "/file/data".into(),
                storage: Some("s3://modules/file".into()),
                max_bytes: Some(8 << 20),
                redis: Some("redis://10.0.0.5:6379/2".into()),
                upstream: "file:///file/up".into(),
                private: "file.example.com".into(),
                private_upstreams: vec!["https://private.example.com".into()],
                sumdb: "off".into(),
                nosumdb: "file.example.org".into(),
                timeouts: Timeouts {
                    connect: Duration::from_secs(1),
                    first_byte: Duration::from_secs(2),
                    transfer: Duration::from_secs(3),
                    request: Duration::from_secs(4),
                },
                negative_ttl: Duration::from_secs(5),
                list_ttl: Duration::from_secs(6),
                upstream_concurrency: 3,
                limits: Limits {
                    client: Some(crate::http::limit::ClientLimit {
                        requests_per_second: std::num::NonZeroU32::new(8).unwrap(),
                        burst: std::num::NonZeroU32::new(16).unwrap(),
                    }),
                    upstream: crate::source::proxy::pace::PaceSettings {
                        requests_per_second: std::num::NonZeroU32::new(9),
                        breaker_failures: 10,
                        breaker_open: Duration::from_secs(11),
                    },
                },
                prefetch: Prefetch::All,
                insecure: "git.lan.example.com".into(),
                git_timeout: Duration::from_secs(7),
                log_format: LogFormat::Human,
                log_level: "info".into(),
                offline: true,
                bundle: None,
                hedge: crate::source::hedge::HedgeSettings::default(),
                upstreams: Vec::new(),
                routes: Vec::new(),
                server: ServerLimits {
                    header_timeout: Duration::from_secs(8),
                    idle_timeout: Duration::from_secs(9),
                    drain_timeout: Duration::from_secs(10),
                    max_connections: 11,
                    max_connections_per_address: 12,
                },
                tls: Some(TlsFiles {
                    cert: "/file/cert.pem".into(),
                    key: "/file/key.pem".into(),
                }),
                config_file: Some(p),
                auth: None,
                s3: S3Settings::default(),
                filter: crate::filter::Filter::default(),
                warm: crate::fleet::WarmSettings::default(),
            }
        );
    }

    #[test]
    fn filter_rules_come_from_the_file_and_the_environment_checked() {
        let (_d, p) = file(
            "[filter]\nallow = [\"corp.example.com\"]\ndeny = [\"corp.example.com/x@<v1.0.0\"]\n",
        );
        let args = ServeArgs {
            config: Some(p.clone()),
            ..ServeArgs::default()
        };
        let s = Settings::resolve(&args, &|_| None).unwrap();
        let rules = |a: &[&str], d: &[&str]| {
            let v = |l: &[&str]| l.iter().map(|x| x.to_string()).collect::<Vec<_>>();
            crate::filter::Filter::parse(&v(a), &v(d)).unwrap()
        };
        assert_eq!(
            s.filter,
            rules(&["corp.example.com"], &["corp.example.com/x@<v1.0.0"])
        );
        let env = env_of(&[(
            "MODGATE_FILTER_DENY",
            "github.com/evil/*,example.com/lib@v1.4.0",
        )]);
        let s = Settings::resolve(&args, &env).unwrap();
        assert_eq!(
            s.filter,
            rules(
                &["corp.example.com"],
                &["github.com/evil/*", "example.com/lib@v1.4.0"]
            )
        );
        let env = env_of(&[("MODGATE_FILTER_DENY", "example.com/lib@v1.4")]);
        let err = Settings::resolve(&args, &env).unwrap_err().to_string();
        assert!(
            err.ends_with("[filter]: deny rule \"example.com/lib@v1.4\": \"v1.4\" is not a canonical semantic version (write it as v1.2.3)"),
            "{err}"
        );
    }

    #[test]
    fn env_over_file_and_flags_over_env() {
        let (_d, p) = file(FULL);
        let env = env_of(&[
            ("MODGATE_CONFIG", p.to_str().unwrap()),
            ("MODGATE_LISTEN", "127.0.0.1:2002"),
            ("MODGATE_DATA_DIR", "/env/data"),
            ("MODGATE_UPSTREAM", "file:///env/up"),
            ("MODGATE_PRIVATE", "env.example.com"),
            ("MODGATE_SUMDB", "sum.golang.org"),
            ("MODGATE_NOSUMDB", "env.example.org"),
        ]);
        // Env over file (the file named by MODGATE_CONFIG).
        let s = Settings::resolve(&ServeArgs::default(), &env).unwrap();
        assert_eq!(s.listen, "127.0.0.1:2002");
        assert_eq!(s.data_dir, PathBuf::from("/env/data"));
        assert_eq!(s.upstream, "file:///env/up");
        assert_eq!(s.private, "env.example.com");
        assert_eq!(
            (s.sumdb.as_str(), s.nosumdb.as_str()),
            ("sum.golang.org", "env.example.org")
        );
        assert_eq!(s.upstream_concurrency, 3);
        assert_eq!(s.config_file, Some(p.clone()));
        // Flags over env; one flag given leaves the others to env.
        let args = ServeArgs {
            listen: Some("127.0.0.1:3003".into()),
            private: Some("flag.example.com".into()),
            ..Default::default()
        };
        let s = Settings::resolve(&args, &env).unwrap();
        assert_eq!(s.listen, "127.0.0.1:3003");
        assert_eq!(s.private, "flag.example.com");
        assert_eq!(s.data_dir, PathBuf::from("/env/data"));
        assert_eq!(s.upstream, "file:///env/up");
        let args = ServeArgs {
            data_dir: Some("/flag/data".into()),
            upstream: Some("off".into()),
            ..Default::default()
        };
        let s = Settings::resolve(&args, &env).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("/flag/data"));
        assert_eq!(s.upstream, "off");
        assert_eq!(s.listen, "127.0.0.1:2002");
    }

    #[test]
    fn config_flag_over_config_env() {
        let (_d1, p1) = file("listen = \"127.0.0.1:1111\"\n");
        let (_d2, p2) = file("listen = \"127.0.0.1:2222\"\n");
        let env = env_of(&[("MODGATE_CONFIG", p2.to_str().unwrap())]);
        let args = ServeArgs {
            config: Some(p1),
            ..Default::default()
        };
        assert_eq!(
            Settings::resolve(&args, &env).unwrap().listen,
            "127.0.0.1:1111"
        );
    }

    #[test]
    fn unknown_key_names_key_and_file() {
        let (_d, p) = file("listen = \"127.0.0.1:1\"\nupstrem = \"x\"\n");
        let args = ServeArgs {
            config: Some(p.clone()),
            ..Default::default()
        };
        let e = Settings::resolve(&args, &env_of(&[])).unwrap_err();
        assert!(
            e.0.starts_with(&format!("{}:2: unknown field `upstrem`", p.display())),
            "{e}"
        );
        let (_d, p) = file("[timeouts]\nconect = 1\n");
        let args = ServeArgs {
            config: Some(p.clone()),
            ..Default::default()
        };
        let e = Settings::resolve(&args, &env_of(&[])).unwrap_err();
        assert!(
            e.0.starts_with(&format!("{}:2: unknown field `conect`", p.display())),
            "{e}"
        );
    }

    #[test]
    fn missing_file_says_so() {
        let args = ServeArgs {
            config: Some("/nonexistent/modgate.toml".into()),
            ..Default::default()
        };
        let e = Settings::resolve(&args, &env_of(&[])).unwrap_err();
        assert_eq!(
            e.0,
            "reading settings file /nonexistent/modgate.toml: No such file or directory (os error 2) (check --config / MODGATE_CONFIG)"
        );
    }

    #[test]
    fn storage_is_a_directory_or_an_s3_url() {
        let args = |v: &str| ServeArgs {
            storage: Some(v.into()),
            ..Default::default()
        };
        let s = Settings::resolve(&args("s3://modules/prod"), &env_of(&[])).unwrap();
        assert_eq!(s.storage.as_deref(), Some("s3://modules/prod"));
        let s = Settings::resolve(
            &ServeArgs::default(),
            &env_of(&[("MODGATE_STORAGE", "/srv/m")]),
        )
        .unwrap();
        assert_eq!(s.storage.as_deref(), Some("/srv/m"));
        assert_eq!(
            Settings::resolve(&args("s3://Modules/x"), &env_of(&[]))
                .unwrap_err()
                .to_string(),
            "--storage s3://Modules/x: \"Modules\" is not a bucket name (3 to 63 lower-case letters, digits, '-' and '.')"
        );
    }

    #[test]
    fn redis_from_the_flag_or_the_environment_checked_at_start() {
        let s = Settings::resolve(
            &ServeArgs::default(),
            &env_of(&[("MODGATE_REDIS", "redis://127.0.0.1:6379/0")]),
        )
        .unwrap();
        assert_eq!(s.redis.as_deref(), Some("redis://127.0.0.1:6379/0"));
        let args = ServeArgs {
            redis: Some("redis://:pw@127.0.0.1:6380/1".into()),
            ..Default::default()
        };
        let s = Settings::resolve(&args, &env_of(&[("MODGATE_REDIS", "redis://x:1/0")])).unwrap();
        assert_eq!(s.redis.as_deref(), Some("redis://:pw@127.0.0.1:6380/1"));
        let args = ServeArgs {
            redis: Some("http://u:pw@127.0.0.1/".into()),
            ..Default::default()
        };
        let e = Settings::resolve(&args, &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--redis http://u:xxxxx@127.0.0.1/: "), "{e}");
        assert!(
            e.ends_with(" (want redis://[USER:PASSWORD@]HOST:PORT/DB)"),
            "{e}"
        );
    }

    #[test]
    fn max_bytes_from_the_flag_the_environment_or_the_file_with_units() {
        let resolve = |args: &ServeArgs, env: &[(&str, &str)]| {
            Settings::resolve(args, &env_of(env)).map(|s| s.max_bytes)
        };
        let flag = |v: &str| ServeArgs {
            cache_max_bytes: Some(v.into()),
            ..Default::default()
        };
        assert_eq!(resolve(&ServeArgs::default(), &[]), Ok(None));
        // The file: a string with a unit, or bytes.
        let (_d, p) = file("[cache]\nmax_bytes = \"10GiB\"\n");
        let with_file = ServeArgs {
            config: Some(p.clone()),
            ..Default::default()
        };
        assert_eq!(resolve(&with_file, &[]), Ok(Some(10 << 30)));
        let (_d2, p2) = file("[cache]\nmax_bytes = 1234\n");
        let bytes = ServeArgs {
            config: Some(p2),
            ..Default::default()
        };
        assert_eq!(resolve(&bytes, &[]), Ok(Some(1234)));
        // Env over the file, the flag over env.
        let env = [("MODGATE_CACHE_MAX_BYTES", "500MB")];
        assert_eq!(resolve(&with_file, &env), Ok(Some(500_000_000)));
        let both = ServeArgs {
            cache_max_bytes: Some("1KiB".into()),
            ..with_file
        };
        assert_eq!(resolve(&both, &env), Ok(Some(1024)));
        // Errors name the setting, and the file.
        assert_eq!(
            resolve(&flag("10XB"), &[]).unwrap_err().to_string(),
            "--cache-max-bytes \"10XB\": unknown unit \"XB\" (want bytes, or a number with B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"
        );
        assert_eq!(
            resolve(
                &ServeArgs::default(),
                &[("MODGATE_CACHE_MAX_BYTES", "lots")]
            )
            .unwrap_err()
            .to_string(),
            "MODGATE_CACHE_MAX_BYTES=\"lots\": unknown unit \"lots\" (want bytes, or a number with B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"
        );
        for (text, why) in [
            (
                "\"ten\"",
                "\"ten\": unknown unit \"ten\" (want bytes, or a number with B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)",
            ),
            ("0", "0: must be more than 0 bytes"),
            ("-1", "-1: must be more than 0 bytes"),
        ] {
            let (_d, p) = file(&format!("[cache]\nmax_bytes = {text}\n"));
            let args = ServeArgs {
                config: Some(p.clone()),
                ..Default::default()
            };
            assert_eq!(
                resolve(&args, &[]).unwrap_err().to_string(),
                format!("{}:2: [cache] max_bytes = {why}", p.display())
            );
        }
        // Not a number or a string: toml's error, with the file and line.
        let (_d, p) = file("[cache]\nmax_bytes = true\n");
        let args = ServeArgs {
            config: Some(p.clone()),
            ..Default::default()
        };
        let e = resolve(&args, &[]).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}:2: ", p.display())), "{e}");
    }

    #[test]
    fn offline_from_the_flag_the_environment_or_the_file() {
        let on = |args: &ServeArgs, env: &[(&str, &str)]| {
            Settings::resolve(args, &env_of(env)).map(|s| s.offline)
        };
        let flag = ServeArgs {
            offline: true,
            ..Default::default()
        };
        assert_eq!(on(&ServeArgs::default(), &[]), Ok(false));
        assert_eq!(on(&flag, &[]), Ok(true));
        assert_eq!(
            on(&ServeArgs::default(), &[("MODGATE_OFFLINE", "1")]),
            Ok(true)
        );
        assert_eq!(
            on(&ServeArgs::default(), &[("MODGATE_OFFLINE", "yes")])
                .unwrap_err()
                .to_string(),
            "MODGATE_OFFLINE=yes: want 1 or true, 0 or false"
        );
    }

    #[test]
    fn tls_files_from_flags_the_environment_or_the_file() {
        let (_d, p) = file(FULL);
        let tls = |args: &ServeArgs, env: &[(&str, &str)]| {
            Settings::resolve(args, &env_of(env)).map(|s| s.tls)
        };
        let files = |cert: &str, key: &str| {
            Some(TlsFiles {
                cert: cert.into(),
                key: key.into(),
            })
        };
        let with_file = ServeArgs {
            config: Some(p.clone()),
            ..Default::default()
        };
        assert_eq!(
            tls(&with_file, &[]),
            Ok(files("/file/cert.pem", "/file/key.pem"))
        );
        // Each from its own best source: the flag's cert, the environment's key.
        let env = [
            ("MODGATE_TLS_CERT", "/env/cert.pem"),
            ("MODGATE_TLS_KEY", "/env/key.pem"),
        ];
        assert_eq!(
            tls(&with_file, &env),
            Ok(files("/env/cert.pem", "/env/key.pem"))
        );
        let flag_cert = ServeArgs {
            tls_cert: Some("/flag/cert.pem".into()),
            ..with_file.clone()
        };
        assert_eq!(
            tls(&flag_cert, &env),
            Ok(files("/flag/cert.pem", "/env/key.pem"))
        );
    }

    #[test]
    fn a_tls_cert_without_its_key_is_refused_at_start() {
        let both = "serving HTTPS needs both --tls-cert FILE and --tls-key FILE (or MODGATE_TLS_CERT and MODGATE_TLS_KEY, or tls_cert and tls_key in the settings file)";
        let cert_only = ServeArgs {
            tls_cert: Some("/c.pem".into()),
            ..Default::default()
        };
        assert_eq!(
            Settings::resolve(&cert_only, &env_of(&[]))
                .unwrap_err()
                .to_string(),
            format!("--tls-cert without --tls-key: {both}")
        );
        assert_eq!(
            Settings::resolve(
                &ServeArgs::default(),
                &env_of(&[("MODGATE_TLS_KEY", "/k.pem")])
            )
            .unwrap_err()
            .to_string(),
            format!("MODGATE_TLS_KEY without --tls-cert: {both}")
        );
    }

    #[test]
    fn server_limits_must_be_positive() {
        for (key, text) in [
            ("max_connections", "[server]\nmax_connections = 0\n"),
            (
                "max_connections_per_address",
                "[server]\nmax_connections_per_address = 0\n",
            ),
            ("header_timeout", "[server]\nheader_timeout = 0\n"),
            ("idle_timeout", "[server]\nidle_timeout = 0\n"),
        ] {
            let (_d, p) = file(text);
            let args = ServeArgs {
                config: Some(p.clone()),
                ..Default::default()
            };
            assert_eq!(
                Settings::resolve(&args, &env_of(&[]))
                    .unwrap_err()
                    .to_string(),
                format!("{}:2: [server] {key} must be at least 1", p.display())
            );
        }
        // A drain bound of 0 is allowed: in-flight requests are cut at once.
        let (_d, p) = file("[server]\ndrain_timeout = 0\n");
        let args = ServeArgs {
            config: Some(p),
            ..Default::default()
        };
        let s = Settings::resolve(&args, &env_of(&[])).unwrap();
        assert_eq!(s.server.drain_timeout, Duration::ZERO);
        let (_d, p) = file("[server]\nmax_conections = 5\n");
        let args = ServeArgs {
            config: Some(p.clone()),
            ..Default::default()
        };
        let e = Settings::resolve(&args, &env_of(&[])).unwrap_err();
        assert!(
            e.0.starts_with(&format!(
                "{}:2: unknown field `max_conections`",
                p.display()
            )),
            "{e}"
        );
    }

    #[test]
    fn every_key_has_its_environment_variable() {
        use keys::{KEYS, Kind};
        for k in KEYS {
            let raw = match k.kind {
                Kind::Str => "x",
                Kind::List => "a,b",
                Kind::Int => "7",
                Kind::Float => "0.5",
                Kind::Bool => "true",
                Kind::Duration => "1m30s",
                Kind::Size => "2GiB",
                Kind::Toml => "[{ name = \"n\" }]",
            };
            let var = k.env();
            let l = Layers::build(
                Vec::new(),
                None,
                &|v| (v == var).then(|| raw.to_string()),
                Vec::new(),
            )
            .unwrap();
            assert_eq!(l.origin(&k.path()), Origin::Env(var.clone()), "{var}");
            let want = layers::env_value(k, &var, raw).unwrap();
            assert_eq!(l.value(&k.path()), Some(&want), "{var}");
        }
    }

    #[test]
    fn environment_variables_reach_the_settings() {
        let env = env_of(&[
            ("MODGATE_SERVER_MAX_CONNECTIONS", "100"),
            ("MODGATE_SERVER_IDLE_TIMEOUT", "1m30s"),
            ("MODGATE_TIMEOUTS_CONNECT", "300ms"),
            ("MODGATE_CACHE_LIST_TTL", "45"),
            ("MODGATE_CACHE_PREFETCH", "off"),
            ("MODGATE_HEDGE_MIN_DELAY", "10ms"),
            ("MODGATE_HEDGE_ENABLED", "0"),
            ("MODGATE_LIMITS_CLIENT_REQUESTS_PER_SECOND", "5"),
            (
                "MODGATE_PRIVATE_UPSTREAMS",
                "https://a.example, https://b.example",
            ),
            (
                "MODGATE_UPSTREAMS",
                "[{ name = \"corp\", url = \"https://c.example\" }]",
            ),
            ("MODGATE_UPSTREAM", "corp,direct"),
            ("MODGATE_LOG_FORMAT", "json"),
            ("MODGATE_LOG_LEVEL", "warn,modgate::cache=debug"),
            ("MODGATE_DIRECT_GIT_TIMEOUT", "1h"),
            ("MODGATE_S3_REGION", "eu-west-1"),
        ]);
        let s = Settings::resolve(&ServeArgs::default(), &env).unwrap();
        assert_eq!(s.server.max_connections, 100);
        assert_eq!(s.server.idle_timeout, Duration::from_secs(90));
        assert_eq!(s.timeouts.connect, Duration::from_millis(300));
        assert_eq!(s.list_ttl, Duration::from_secs(45));
        assert_eq!(s.prefetch, Prefetch::Off);
        assert_eq!(s.hedge.min_delay, Duration::from_millis(10));
        assert!(!s.hedge.enabled);
        assert_eq!(
            s.limits.client.map(|c| c.requests_per_second.get()),
            Some(5)
        );
        assert_eq!(
            s.private_upstreams,
            ["https://a.example", "https://b.example"]
        );
        assert_eq!(s.upstream, "https://c.example,direct");
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.log_level, "warn,modgate::cache=debug");
        assert_eq!(s.git_timeout, Duration::from_secs(3600));
        assert_eq!(s.s3.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn durations_as_go_writes_them_in_the_file() {
        let (_d, p) = file(
            "[timeouts]\nconnect = \"10s\"\nfirst_byte = 20\ntransfer = \"1h\"\n[server]\nidle_timeout = \"1m30s\"\n[hedge]\nmin_delay = \"20ms\"\nmax_delay_ms = 900\n[s3]\nredirect_zips = \"5m\"\n",
        );
        let args = ServeArgs {
            config: Some(p.clone()),
            ..Default::default()
        };
        let s = Settings::resolve(&args, &env_of(&[])).unwrap();
        assert_eq!(s.timeouts.connect, Duration::from_secs(10));
        assert_eq!(s.timeouts.first_byte, Duration::from_secs(20));
        assert_eq!(s.timeouts.transfer, Duration::from_secs(3600));
        assert_eq!(s.server.idle_timeout, Duration::from_secs(90));
        assert_eq!(s.hedge.min_delay, Duration::from_millis(20));
        assert_eq!(s.hedge.max_delay, Duration::from_millis(900));
        assert_eq!(s.s3.redirect_zips, Some(Duration::from_secs(300)));
        // The duration and its older _ms spelling: one of them.
        let (_d, p, r) = from_file("[hedge]\nmin_delay = \"20ms\"\nmin_delay_ms = 20\n");
        assert_eq!(
            r.unwrap_err().0,
            format!(
                "{0}:2: [hedge] min_delay and {0}:3: [hedge] min_delay_ms: want one of them (the duration: min_delay = \"250ms\")",
                p.display()
            )
        );
        // A bad duration: the file, the line, the syntax.
        let (_d, p, r) = from_file("[server]\nidle_timeout = \"90 seconds\"\n");
        assert_eq!(
            r.unwrap_err().0,
            format!(
                "{}:2: \"90 seconds\": not a duration ({})",
                p.display(),
                file_duration::SYNTAX
            )
        );
    }

    #[test]
    fn listen_addresses_as_go_servers_read_them() {
        for (text, ok) in [
            (":3000", true),
            ("[::]:3000", true),
            ("[::1]:3000", true),
            ("localhost:3000", true),
            ("3000", false),
            ("::1:3000", false),
        ] {
            let args = ServeArgs {
                listen: Some(text.into()),
                ..Default::default()
            };
            let r = Settings::resolve(&args, &env_of(&[]));
            assert_eq!(r.is_ok(), ok, "{text}: {r:?}");
        }
        let e = Settings::resolve(
            &ServeArgs::default(),
            &env_of(&[("MODGATE_LISTEN", "3000")]),
        )
        .unwrap_err();
        assert!(
            e.0.starts_with("MODGATE_LISTEN=\"3000\": missing port in address"),
            "{e}"
        );
    }

    #[test]
    fn the_log_level_is_checked() {
        let e = Settings::resolve(&ServeArgs::default(), &env_of(&[("RUST_LOG", "info,[")]))
            .unwrap_err();
        assert!(e.0.starts_with("RUST_LOG=\"info,[\": "), "{e}");
        let s = Settings::resolve(
            &ServeArgs::default(),
            &env_of(&[("RUST_LOG", "debug"), ("MODGATE_LOG_LEVEL", "warn")]),
        )
        .unwrap();
        assert_eq!(s.log_level, "warn");
    }

    #[test]
    fn a_bad_table_in_a_variable_names_the_variable() {
        let e = Settings::resolve(
            &ServeArgs::default(),
            &env_of(&[("MODGATE_UPSTREAMS", "[{ nme = \"corp\" }]")]),
        )
        .unwrap_err();
        assert!(
            e.0.starts_with("MODGATE_UPSTREAMS: unknown field `nme`"),
            "{e}"
        );
    }
}
