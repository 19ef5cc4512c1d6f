//! Settings for `modgate serve`: flags, environment, TOML file.
//!
//! Precedence: flags over environment (`MODGATE_LISTEN`, `MODGATE_DATA_DIR`,
//! `MODGATE_UPSTREAM`, `MODGATE_PRIVATE`, `MODGATE_SUMDB`, `MODGATE_NOSUMDB`,
//! `MODGATE_CONFIG`) over the TOML file (`--config`)
//! over the defaults. Some settings are only in the file: `private_upstreams`, the
//! `[timeouts]`, the `[cache]` lifetimes, `upstream_concurrency` and `[auth]`.
//!
//! ```toml
//! listen = "127.0.0.1:3000"
//! data_dir = "/var/lib/modgate"
//! upstream = "https://proxy.golang.org,direct"
//! private = "*.corp.example.com"
//! private_upstreams = ["https://goproxy.corp.example.com"]
//! sumdb = "sum.golang.org"           # GOSUMDB syntax, or "off"
//! nosumdb = "github.com/corp"        # GONOSUMDB syntax (private modules are never asked)
//! upstream_concurrency = 16
//!
//! [timeouts]          # seconds
//! connect = 10
//! first_byte = 30
//! transfer = 600
//! request = 120
//!
//! [cache]             # seconds
//! negative_ttl = 60
//! list_ttl = 60
//! prefetch = "mod"    # "off" | "mod" | "all": what to fetch ahead of the go command
//!
//! [direct]            # the git source
//! insecure = "git.lan.example.com"   # GOINSECURE syntax: plain http allowed
//! git_timeout = 120                  # seconds, per git command
//!
//! # Who may read what (http/auth.rs). Without an [auth] table everyone reads every
//! # module and an Authorization header is ignored.
//! [auth]
//! anonymous = ["example.com/*"]       # GOPRIVATE-syntax patterns anyone may read; "*" is
//!                                     # every module; [] (the default once [auth] exists)
//!                                     # is none
//! htpasswd = "/etc/modgate/htpasswd"  # optional: users, bcrypt lines only (htpasswd -B)
//!
//! [[auth.token]]      # a Bearer token, or the password of Basic auth (any user name)
//! name = "ci"         # for the logs
//! token = "s3cret"    # or token_file = "/path" (trimmed), or token_sha256 = "<hex>"
//! read = ["*"]        # patterns this token may read
//!
//! [[auth.user]]       # a user of the htpasswd file (one listed there but not here
//! name = "alice"      # reads only what anonymous may)
//! read = ["corp.example.com/*"]
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::Deserialize;

use crate::cache::Prefetch;

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
/// The default data directory.
pub const DEFAULT_DATA_DIR: &str = "./modgate-data";
/// The default upstream chain (GOPROXY syntax), as the go command's default.
pub const DEFAULT_UPSTREAM: &str = "https://proxy.golang.org,direct";
/// The default checksum database, as the go command's.
pub const DEFAULT_SUMDB: &str = "sum.golang.org";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
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
    /// Log format (the level comes from RUST_LOG, default info)
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// Serve only what is stored, asking no upstream (an air-gapped site); everything
    /// else is a 404 that says so [env: MODGATE_OFFLINE=1]
    #[arg(long)]
    pub offline: bool,
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
    /// The upstream chain, GOPROXY syntax.
    pub upstream: String,
    /// GOPRIVATE-style patterns.
    pub private: String,
    /// Upstream URLs allowed to serve private modules (file only).
    pub private_upstreams: Vec<String>,
    /// The checksum database, GOSUMDB syntax (`off`: none).
    pub sumdb: String,
    /// GONOSUMDB-style patterns.
    pub nosumdb: String,
    /// Upstream timeouts (file only).
    pub timeouts: Timeouts,
    /// How long a "not found" is remembered (file only).
    pub negative_ttl: Duration,
    /// How long `@v/list`, `@latest` and non-canonical queries are fresh (file only).
    pub list_ttl: Duration,
    /// Concurrent requests per upstream (file only).
    pub upstream_concurrency: usize,
    /// What is fetched ahead when a go.mod had to be fetched (file only).
    pub prefetch: Prefetch,
    /// GOINSECURE-style patterns: module paths whose `direct` discovery and git remotes
    /// may use plain http (file only).
    pub insecure: String,
    /// Bound on each git command of the `direct` source (file only).
    pub git_timeout: Duration,
    /// Log format.
    pub log_format: LogFormat,
    /// `--offline`: no upstream, no checksum database; what is stored is served.
    pub offline: bool,
    /// The settings file read, if any.
    pub config_file: Option<PathBuf>,
    /// `[auth]` (file only): `None` without the table, when everyone reads everything.
    pub auth: Option<AuthSettings>,
}

/// `[auth]`: client credentials and what each may read (checked by `http/auth.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthSettings {
    /// Module path patterns (GOPRIVATE syntax, `*` alone for every module) anyone may read.
    pub anonymous: Vec<String>,
    /// The htpasswd file of the users (bcrypt lines only).
    pub htpasswd: Option<PathBuf>,
    /// `[[auth.token]]`.
    pub tokens: Vec<TokenSettings>,
    /// `[[auth.user]]`.
    pub users: Vec<UserSettings>,
}

/// One `[[auth.token]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    /// Its name, for the logs.
    pub name: String,
    /// The secret, or where it is.
    pub secret: TokenSecret,
    /// Module path patterns it may read.
    pub read: Vec<String>,
}

/// Where a token's secret is. `Debug` never shows a secret.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenSecret {
    /// `token = "..."`.
    Value(String),
    /// `token_file = "/path"`: the file's text, trimmed (read at start).
    File(PathBuf),
    /// `token_sha256 = "<64 hex digits>"`: the SHA-256 of the token.
    Sha256([u8; 32]),
}

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSecret::Value(_) => f.write_str("Value(<redacted>)"),
            TokenSecret::File(p) => f.debug_tuple("File").field(p).finish(),
            TokenSecret::Sha256(_) => f.write_str("Sha256(<redacted>)"),
        }
    }
}

/// One `[[auth.user]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSettings {
    /// The user's name in the htpasswd file.
    pub name: String,
    /// Module path patterns the user may read.
    pub read: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: DEFAULT_LISTEN.to_string(),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            storage: None,
            upstream: DEFAULT_UPSTREAM.to_string(),
            private: String::new(),
            private_upstreams: Vec::new(),
            sumdb: DEFAULT_SUMDB.to_string(),
            nosumdb: String::new(),
            timeouts: Timeouts::default(),
            negative_ttl: Duration::from_secs(60),
            list_ttl: Duration::from_secs(60),
            upstream_concurrency: 16,
            prefetch: Prefetch::Mod,
            insecure: String::new(),
            git_timeout: Duration::from_secs(120),
            log_format: LogFormat::Human,
            offline: false,
            config_file: None,
            auth: None,
        }
    }
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileTimeouts {
    connect: Option<u64>,
    first_byte: Option<u64>,
    transfer: Option<u64>,
    request: Option<u64>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileCache {
    negative_ttl: Option<u64>,
    list_ttl: Option<u64>,
    prefetch: Option<Prefetch>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileDirect {
    insecure: Option<String>,
    git_timeout: Option<u64>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileAuth {
    anonymous: Option<Vec<String>>,
    htpasswd: Option<PathBuf>,
    #[serde(default)]
    token: Vec<FileToken>,
    #[serde(default)]
    user: Vec<FileUser>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct FileToken {
    name: String,
    token: Option<String>,
    token_file: Option<PathBuf>,
    token_sha256: Option<String>,
    #[serde(default)]
    read: Vec<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct FileUser {
    name: String,
    #[serde(default)]
    read: Vec<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    storage: Option<String>,
    offline: Option<bool>,
    upstream: Option<String>,
    private: Option<String>,
    private_upstreams: Option<Vec<String>>,
    sumdb: Option<String>,
    nosumdb: Option<String>,
    upstream_concurrency: Option<usize>,
    #[serde(default)]
    timeouts: FileTimeouts,
    #[serde(default)]
    cache: FileCache,
    #[serde(default)]
    direct: FileDirect,
    auth: Option<FileAuth>,
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
        let env = |k: &str| env(k).filter(|v| !v.is_empty());
        let config_file = args
            .config
            .clone()
            .or_else(|| env("MODGATE_CONFIG").map(PathBuf::from));
        let file = match &config_file {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        let mut s = Settings::default();
        let pick = |flag: &Option<String>, var: &str, file: &Option<String>, default: String| {
            flag.clone()
                .or_else(|| env(var))
                .or_else(|| file.clone())
                .unwrap_or(default)
        };
        s.listen = pick(&args.listen, "MODGATE_LISTEN", &file.listen, s.listen);
        s.upstream = pick(
            &args.upstream,
            "MODGATE_UPSTREAM",
            &file.upstream,
            s.upstream,
        );
        s.private = pick(&args.private, "MODGATE_PRIVATE", &file.private, s.private);
        s.sumdb = pick(&args.sumdb, "MODGATE_SUMDB", &file.sumdb, s.sumdb);
        s.nosumdb = pick(&args.nosumdb, "MODGATE_NOSUMDB", &file.nosumdb, s.nosumdb);
        crate::sumdb::spec::parse(&s.sumdb).map_err(ConfigError)?;
        s.data_dir = args
            .data_dir
            .clone()
            .or_else(|| env("MODGATE_DATA_DIR").map(PathBuf::from))
            .or(file.data_dir)
            .unwrap_or(s.data_dir);
        s.storage = args
            .storage
            .clone()
            .or_else(|| env("MODGATE_STORAGE"))
            .or(file.storage)
            .filter(|v| !v.trim().is_empty());
        if let Some(url) = s.storage.as_deref().filter(|u| u.contains("://")) {
            crate::store::S3Url::parse(url).map_err(ConfigError)?;
        }
        if let Some(p) = file.private_upstreams {
            s.private_upstreams = p;
        }
        if let Some(n) = file.upstream_concurrency {
            if n == 0 {
                return Err(ConfigError(format!(
                    "{}: upstream_concurrency must be at least 1",
                    config_file.as_deref().unwrap_or(Path::new("")).display()
                )));
            }
            s.upstream_concurrency = n;
        }
        let secs = |v: Option<u64>, d: Duration| v.map(Duration::from_secs).unwrap_or(d);
        s.timeouts = Timeouts {
            connect: secs(file.timeouts.connect, s.timeouts.connect),
            first_byte: secs(file.timeouts.first_byte, s.timeouts.first_byte),
            transfer: secs(file.timeouts.transfer, s.timeouts.transfer),
            request: secs(file.timeouts.request, s.timeouts.request),
        };
        s.negative_ttl = secs(file.cache.negative_ttl, s.negative_ttl);
        s.list_ttl = secs(file.cache.list_ttl, s.list_ttl);
        if let Some(p) = file.cache.prefetch {
            s.prefetch = p;
        }
        if let Some(i) = file.direct.insecure {
            s.insecure = i;
        }
        s.git_timeout = secs(file.direct.git_timeout, s.git_timeout);
        s.log_format = args.log_format;
        s.offline = args.offline
            || match env("MODGATE_OFFLINE").as_deref() {
                Some("1" | "true") => true,
                Some("" | "0" | "false") | None => file.offline.unwrap_or(false),
                Some(v) => {
                    return Err(ConfigError(format!(
                        "MODGATE_OFFLINE={v}: want 1 or true, 0 or false"
                    )));
                }
            };
        if let Some(auth) = file.auth {
            let file_name = config_file.as_deref().unwrap_or(Path::new(""));
            s.auth = Some(
                auth_settings(auth)
                    .map_err(|e| ConfigError(format!("{}: [auth]: {e}", file_name.display())))?,
            );
        }
        s.config_file = config_file;
        Ok(s)
    }
}

/// Checks and resolves `[auth]` (its files are read when the server starts).
fn auth_settings(file: FileAuth) -> Result<AuthSettings, String> {
    let patterns = |what: &str, list: Vec<String>| -> Result<Vec<String>, String> {
        for p in &list {
            if p.trim().is_empty() || p.contains(',') || p.trim() != p {
                return Err(format!(
                    "{what}: pattern {p:?}: want one module path pattern (GOPRIVATE syntax, such as \"corp.example.com/*\", or \"*\" for every module), one per list item"
                ));
            }
        }
        Ok(list)
    };
    let anonymous = patterns("anonymous", file.anonymous.unwrap_or_default())?;
    let mut names = std::collections::HashSet::new();
    let mut tokens = Vec::new();
    for (i, t) in file.token.into_iter().enumerate() {
        let what = format!("[[auth.token]] #{} ({:?})", i + 1, t.name);
        if t.name.trim().is_empty() {
            return Err(format!(
                "[[auth.token]] #{}: name is empty (it names the token in the logs)",
                i + 1
            ));
        }
        if !names.insert(t.name.clone()) {
            return Err(format!("{what}: another token has the same name"));
        }
        let secret = match (t.token, t.token_file, t.token_sha256) {
            (Some(v), None, None) if v.trim().is_empty() => {
                return Err(format!("{what}: token is empty"));
            }
            (Some(v), None, None) => TokenSecret::Value(v),
            (None, Some(p), None) => TokenSecret::File(p),
            (None, None, Some(h)) => TokenSecret::Sha256(sha256_hex(&h).ok_or_else(|| {
                format!(
                    "{what}: token_sha256 is not a SHA-256 in hex (64 hex digits, as `printf %s TOKEN | sha256sum` prints)"
                )
            })?),
            _ => {
                return Err(format!(
                    "{what}: want exactly one of token, token_file, token_sha256"
                ));
            }
        };
        tokens.push(TokenSettings {
            read: patterns(&format!("{what} read"), t.read)?,
            name: t.name,
            secret,
        });
    }
    let mut users = Vec::new();
    let mut user_names = std::collections::HashSet::new();
    for (i, u) in file.user.into_iter().enumerate() {
        let what = format!("[[auth.user]] #{} ({:?})", i + 1, u.name);
        if file.htpasswd.is_none() {
            return Err(format!(
                "{what}: users need an htpasswd file (htpasswd = \"/path\" in [auth])"
            ));
        }
        if u.name.is_empty() || u.name.contains(':') {
            return Err(format!("{what}: not a user name of an htpasswd file"));
        }
        if !user_names.insert(u.name.clone()) {
            return Err(format!("{what}: the user is listed twice"));
        }
        users.push(UserSettings {
            read: patterns(&format!("{what} read"), u.read)?,
            name: u.name,
        });
    }
    Ok(AuthSettings {
        anonymous,
        htpasswd: file.htpasswd,
        tokens,
        users,
    })
}

/// The 32 bytes of a SHA-256 written in hex (either case).
fn sha256_hex(h: &str) -> Option<[u8; 32]> {
    let h = h.trim().as_bytes();
    if h.len() != 64 || !h.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(h.chunks(2)) {
        let s = std::str::from_utf8(pair).ok()?;
        *o = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError(format!(
            "reading settings file {}: {e} (check --config / MODGATE_CONFIG)",
            path.display()
        ))
    })?;
    toml::from_str(&text).map_err(|e| {
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
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
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
offline = true
upstream = "file:///file/up"
private = "file.example.com"
private_upstreams = ["https://private.example.com"]
sumdb = "off"
nosumdb = "file.example.org"
upstream_concurrency = 3
[timeouts]
connect = 1
first_byte = 2
transfer = 3
request = 4
[cache]
negative_ttl = 5
list_ttl = 6
prefetch = "all"
[direct]
insecure = "git.lan.example.com"
git_timeout = 7
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
                prefetch: Prefetch::All,
                insecure: "git.lan.example.com".into(),
                git_timeout: Duration::from_secs(7),
                log_format: LogFormat::Human,
                offline: true,
                config_file: Some(p),
                auth: None,
            }
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
        let (_d, p) = file("listen = \"127.0.0.1:1\"\nupstreams = \"x\"\n");
        let args = ServeArgs {
            config: Some(p.clone()),
            ..Default::default()
        };
        let e = Settings::resolve(&args, &env_of(&[])).unwrap_err();
        assert!(
            e.0.starts_with(&format!("{}:2: unknown field `upstreams`", p.display())),
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

    fn auth_of(text: &str) -> Result<Option<AuthSettings>, String> {
        let (_d, p) = file(text);
        let args = ServeArgs {
            config: Some(p.clone()),
            ..Default::default()
        };
        Settings::resolve(&args, &env_of(&[]))
            .map(|s| s.auth)
            .map_err(|e| e.0.replace(&p.display().to_string(), "FILE"))
    }

    #[test]
    fn auth_absent_empty_and_full() {
        assert_eq!(auth_of("listen = \"127.0.0.1:1\"\n"), Ok(None));
        assert_eq!(Settings::default().auth, None);
        // The table without `anonymous`: nobody reads anonymously.
        assert_eq!(
            auth_of("[auth]\n"),
            Ok(Some(AuthSettings {
                anonymous: vec![],
                htpasswd: None,
                tokens: vec![],
                users: vec![],
            }))
        );
        let full = r#"
[auth]
anonymous = ["example.com/*", "*"]
htpasswd = "/etc/modgate/htpasswd"
[[auth.token]]
name = "ci"
token = "s3cret"
read = ["*"]
[[auth.token]]
name = "deploy"
token_file = "/run/secrets/deploy"
[[auth.token]]
name = "hashed"
token_sha256 = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
read = ["corp.example.com/*"]
[[auth.user]]
name = "alice"
read = ["corp.example.com/*", "*"]
"#;
        let mut sha = [0u8; 32];
        sha.copy_from_slice(&[
            0x9f, 0x86, 0xd0, 0x81, 0x88, 0x4c, 0x7d, 0x65, 0x9a, 0x2f, 0xea, 0xa0, 0xc5, 0x5a,
            0xd0, 0x15, 0xa3, 0xbf, 0x4f, 0x1b, 0x2b, 0x0b, 0x82, 0x2c, 0xd1, 0x5d, 0x6c, 0x15,
            0xb0, 0xf0, 0x0a, 0x08,
        ]);
        assert_eq!(
            auth_of(full),
            Ok(Some(AuthSettings {
                anonymous: vec!["example.com/*".into(), "*".into()],
                htpasswd: Some("/etc/modgate/htpasswd".into()),
                tokens: vec![
                    TokenSettings {
                        name: "ci".into(),
                        secret: TokenSecret::Value("s3cret".into()),
                        read: vec!["*".into()],
                    },
                    TokenSettings {
                        name: "deploy".into(),
                        secret: TokenSecret::File("/run/secrets/deploy".into()),
                        read: vec![],
                    },
                    TokenSettings {
                        name: "hashed".into(),
                        secret: TokenSecret::Sha256(sha),
                        read: vec!["corp.example.com/*".into()],
                    },
                ],
                users: vec![UserSettings {
                    name: "alice".into(),
                    read: vec!["corp.example.com/*".into(), "*".into()],
                }],
            }))
        );
        // Debug never shows a secret.
        let shown = format!("{:?}", auth_of(full));
        assert!(
            !shown.contains("s3cret") && !shown.contains("9f86"),
            "{shown}"
        );
    }

    #[test]
    fn auth_mistakes_are_refused_at_start() {
        let cases: &[(&str, &str)] = &[
            (
                "[auth]\nanonymus = []\n",
                "FILE:2: unknown field `anonymus`",
            ),
            (
                "[auth]\n[[auth.token]]\nname = \"ci\"\ntoken = \"x\"\nreads = [\"*\"]\n",
                "FILE:5: unknown field `reads`",
            ),
            (
                "[auth]\n[[auth.token]]\nname = \"ci\"\n",
                "FILE: [auth]: [[auth.token]] #1 (\"ci\"): want exactly one of token, token_file, token_sha256",
            ),
            (
                "[auth]\n[[auth.token]]\nname = \"ci\"\ntoken = \"x\"\ntoken_file = \"/f\"\n",
                "FILE: [auth]: [[auth.token]] #1 (\"ci\"): want exactly one of token, token_file, token_sha256",
            ),
            (
                "[auth]\n[[auth.token]]\nname = \"ci\"\ntoken = \" \"\n",
                "FILE: [auth]: [[auth.token]] #1 (\"ci\"): token is empty",
            ),
            (
                "[auth]\n[[auth.token]]\nname = \"ci\"\ntoken_sha256 = \"abc\"\n",
                "FILE: [auth]: [[auth.token]] #1 (\"ci\"): token_sha256 is not a SHA-256 in hex (64 hex digits, as `printf %s TOKEN | sha256sum` prints)",
            ),
            (
                "[auth]\n[[auth.token]]\nname = \"\"\ntoken = \"x\"\n",
                "FILE: [auth]: [[auth.token]] #1: name is empty (it names the token in the logs)",
            ),
            (
                "[auth]\n[[auth.token]]\nname = \"ci\"\ntoken = \"x\"\n[[auth.token]]\nname = \"ci\"\ntoken = \"y\"\n",
                "FILE: [auth]: [[auth.token]] #2 (\"ci\"): another token has the same name",
            ),
            (
                "[auth]\n[[auth.user]]\nname = \"alice\"\n",
                "FILE: [auth]: [[auth.user]] #1 (\"alice\"): users need an htpasswd file (htpasswd = \"/path\" in [auth])",
            ),
            (
                "[auth]\nhtpasswd = \"/h\"\n[[auth.user]]\nname = \"alice\"\n[[auth.user]]\nname = \"alice\"\n",
                "FILE: [auth]: [[auth.user]] #2 (\"alice\"): the user is listed twice",
            ),
            (
                "[auth]\nanonymous = [\"a.example.com,b.example.com\"]\n",
                "FILE: [auth]: anonymous: pattern \"a.example.com,b.example.com\": want one module path pattern (GOPRIVATE syntax, such as \"corp.example.com/*\", or \"*\" for every module), one per list item",
            ),
            (
                "[auth]\n[[auth.token]]\nname = \"ci\"\ntoken = \"x\"\nread = [\"\"]\n",
                "FILE: [auth]: [[auth.token]] #1 (\"ci\") read: pattern \"\": want one module path pattern (GOPRIVATE syntax, such as \"corp.example.com/*\", or \"*\" for every module), one per list item",
            ),
        ];
        for (text, want) in cases {
            let got = auth_of(text).unwrap_err();
            assert!(got.starts_with(want), "{text}\ngot:  {got}\nwant: {want}");
        }
    }
}
