//! Every key the settings file accepts, in one table: its kind, its default, and so its
//! environment variable (`MODGATE_<TABLE>_<KEY>`, `MODGATE_<KEY>` at the top). The layers
//! (`layers.rs`), `modgate config show` and the reference `modgate.example.toml` all read
//! this table, so a key cannot be in one and missing from another.

/// How a value is written in the environment (and checked there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    Str,
    /// A list of strings: comma-separated in the environment.
    List,
    /// A whole number.
    Int,
    /// A number.
    Float,
    /// `true`/`false` (`1`/`0` in the environment).
    Bool,
    /// A duration: Go's syntax or whole seconds (`config/file_duration.rs`).
    Duration,
    /// A size: bytes, or a number with a unit.
    Size,
    /// A TOML value written inline (arrays of tables: `[{ name = "corp", url = "…" }]`).
    Toml,
}

/// One key of the settings file.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// Its table (`None`: the top level).
    pub table: Option<&'static str>,
    /// Its name in the table.
    pub name: &'static str,
    /// Its kind.
    pub kind: Kind,
    /// Its default as a TOML value (`None`: unset by default).
    pub default: Option<&'static str>,
    /// Whether its value is a secret (redacted when shown).
    pub secret: bool,
}

impl Key {
    /// The dotted path: `server.max_connections`, `listen`.
    pub fn path(&self) -> String {
        match self.table {
            Some(t) => format!("{t}.{}", self.name),
            None => self.name.to_string(),
        }
    }

    /// Its environment variable: `MODGATE_SERVER_MAX_CONNECTIONS`, `MODGATE_LISTEN`.
    pub fn env(&self) -> String {
        format!("MODGATE_{}", self.path().replace('.', "_")).to_ascii_uppercase()
    }

    /// How it is named in the file: `[server] max_connections`, `listen`.
    pub fn in_file(&self) -> String {
        match self.table {
            Some(t) => format!("[{t}] {}", self.name),
            None => self.name.to_string(),
        }
    }
}

const fn key(
    table: Option<&'static str>,
    name: &'static str,
    kind: Kind,
    default: Option<&'static str>,
) -> Key {
    Key {
        table,
        name,
        kind,
        default,
        secret: false,
    }
}

const fn secret(mut k: Key) -> Key {
    k.secret = true;
    k
}

use Kind::*;

const T: Option<&str> = Some("timeouts");
const C: Option<&str> = Some("cache");
const D: Option<&str> = Some("direct");
const L: Option<&str> = Some("limits");
const H: Option<&str> = Some("hedge");
const S: Option<&str> = Some("server");
const S3: Option<&str> = Some("s3");
const A: Option<&str> = Some("auth");
const F: Option<&str> = Some("filter");
const W: Option<&str> = Some("warm");

/// Every key, in the order `config show` and the example file list them.
pub const KEYS: &[Key] = &[
    key(None, "listen", Str, Some("\"127.0.0.1:3000\"")),
    key(None, "data_dir", Str, Some("\"./modgate-data\"")),
    key(None, "storage", Str, None),
    secret(key(None, "redis", Str, None)),
    key(
        None,
        "upstream",
        Str,
        Some("\"https://proxy.golang.org,direct\""),
    ),
    key(None, "private", Str, Some("\"\"")),
    key(None, "private_upstreams", List, Some("[]")),
    key(None, "sumdb", Str, Some("\"sum.golang.org\"")),
    key(None, "nosumdb", Str, Some("\"\"")),
    key(None, "upstream_concurrency", Int, Some("16")),
    key(None, "offline", Bool, Some("false")),
    key(None, "bundle", Str, None),
    key(None, "tls_cert", Str, None),
    key(None, "tls_key", Str, None),
    key(None, "log_format", Str, Some("\"human\"")),
    key(None, "log_level", Str, Some("\"info\"")),
    secret(key(None, "upstreams", Toml, None)),
    key(None, "routes", Toml, None),
    key(S, "header_timeout", Duration, Some("\"10s\"")),
    key(S, "idle_timeout", Duration, Some("\"1m0s\"")),
    key(S, "drain_timeout", Duration, Some("\"30s\"")),
    key(S, "max_connections", Int, Some("4096")),
    key(S, "max_connections_per_address", Int, Some("256")),
    key(T, "connect", Duration, Some("\"10s\"")),
    key(T, "first_byte", Duration, Some("\"30s\"")),
    key(T, "transfer", Duration, Some("\"10m0s\"")),
    key(T, "request", Duration, Some("\"2m0s\"")),
    key(C, "negative_ttl", Duration, Some("\"1m0s\"")),
    key(C, "list_ttl", Duration, Some("\"1m0s\"")),
    key(C, "prefetch", Str, Some("\"mod\"")),
    key(C, "max_bytes", Size, None),
    key(D, "insecure", Str, Some("\"\"")),
    key(D, "git_timeout", Duration, Some("\"2m0s\"")),
    key(L, "client_requests_per_second", Int, Some("0")),
    key(L, "client_burst", Int, None),
    key(L, "upstream_requests_per_second", Int, Some("0")),
    key(L, "breaker_failures", Int, Some("5")),
    key(L, "breaker_open", Duration, Some("\"30s\"")),
    key(H, "enabled", Bool, Some("true")),
    key(H, "quantile", Float, Some("0.95")),
    key(H, "min_delay", Duration, Some("\"50ms\"")),
    key(H, "max_delay", Duration, Some("\"2s\"")),
    key(H, "min_delay_ms", Int, None),
    key(H, "max_delay_ms", Int, None),
    key(S3, "endpoint", Str, None),
    key(S3, "region", Str, None),
    key(S3, "allow_http", Bool, None),
    key(S3, "virtual_hosted_style", Bool, None),
    key(S3, "access_key_id", Str, None),
    secret(key(S3, "secret_access_key", Str, None)),
    key(S3, "secret_access_key_file", Str, None),
    key(S3, "profile", Str, None),
    key(S3, "redirect_zips", Duration, None),
    key(S3, "connect_timeout", Duration, Some("\"5s\"")),
    key(S3, "read_timeout", Duration, Some("\"30s\"")),
    key(S3, "timeout", Duration, Some("\"10m0s\"")),
    key(S3, "retries", Int, Some("2")),
    key(A, "anonymous", List, None),
    key(A, "htpasswd", Str, None),
    secret(key(A, "token", Toml, None)),
    key(A, "user", Toml, None),
    key(F, "allow", List, Some("[]")),
    key(F, "deny", List, Some("[]")),
    key(W, "jobs", Int, Some("2")),
    key(W, "fetches", Int, Some("8")),
    key(W, "lease", Duration, Some("\"30s\"")),
    key(W, "callback_allow", List, Some("[]")),
    secret(key(W, "secret", Str, None)),
    key(W, "secret_file", Str, None),
    key(W, "callback_within", Duration, Some("\"10m0s\"")),
    key(W, "bundles_keep", Duration, Some("\"168h0m0s\"")),
];

/// The key at dotted `path`, if there is one.
pub fn find(path: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.path() == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_names() {
        let env = |p: &str| find(p).unwrap().env();
        assert_eq!(env("listen"), "MODGATE_LISTEN");
        assert_eq!(
            env("server.max_connections"),
            "MODGATE_SERVER_MAX_CONNECTIONS"
        );
        assert_eq!(env("cache.max_bytes"), "MODGATE_CACHE_MAX_BYTES");
        assert_eq!(env("tls_cert"), "MODGATE_TLS_CERT");
        assert_eq!(env("s3.secret_access_key"), "MODGATE_S3_SECRET_ACCESS_KEY");
        assert_eq!(env("upstreams"), "MODGATE_UPSTREAMS");
        // Each variable names one key.
        let mut all: Vec<String> = KEYS.iter().map(Key::env).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), KEYS.len());
    }

    /// The reference file shipped beside the README.
    const EXAMPLE: &str = include_str!("../../../../modgate.example.toml");

    /// (table, key) of the lines `key = …` (`commented`: of `# key = …`), tables from the
    /// headers, commented or not.
    fn lines(commented: bool) -> Vec<(Option<String>, String)> {
        let mut table = None;
        let mut out = Vec::new();
        for line in EXAMPLE.lines() {
            let (is_comment, l) = match line.strip_prefix('#') {
                Some(rest) => (true, rest.trim()),
                None => (false, line.trim()),
            };
            if let Some(h) = l.strip_prefix('[') {
                table = Some(h.split(']').next().unwrap().to_string());
                continue;
            }
            let Some((k, _)) = l.split_once('=') else {
                continue;
            };
            let k = k.trim();
            if is_comment == commented
                && !k.is_empty()
                && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            {
                out.push((table.clone(), k.to_string()));
            }
        }
        out
    }

    #[test]
    fn the_example_file_names_every_key_with_its_default() {
        let active: toml::Table = toml::from_str(EXAMPLE).unwrap();
        let value_of = |k: &Key| match k.table {
            Some(t) => active.get(t).and_then(|t| t.get(k.name)).cloned(),
            None => active.get(k.name).cloned(),
        };
        let set = lines(false);
        let commented = lines(true);
        for k in KEYS {
            let place = (k.table.map(str::to_string), k.name.to_string());
            match k.default {
                Some(d) => {
                    let want: toml::Table = toml::from_str(&format!("v = {d}")).unwrap();
                    assert_eq!(value_of(k), Some(want["v"].clone()), "{}", k.path());
                    assert!(set.contains(&place), "{}", k.path());
                }
                None => {
                    assert_eq!(value_of(k), None, "{} has no default: commented", k.path());
                    assert!(commented.contains(&place), "{} is not named", k.path());
                }
            }
        }
        // Nothing else: every key written is one the settings accept.
        for (t, k) in set.iter().chain(&commented) {
            let path = t.as_ref().map_or(k.clone(), |t| format!("{t}.{k}"));
            assert!(find(&path).is_some(), "{path} is not a key");
        }
    }

    #[test]
    fn the_example_file_resolves_to_the_defaults() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../modgate.example.toml");
        let args = super::super::ServeArgs {
            config: Some(path.clone()),
            ..Default::default()
        };
        let s = super::super::Settings::resolve(&args, &|_| None).unwrap();
        assert_eq!(
            s,
            super::super::Settings {
                config_file: Some(path),
                ..Default::default()
            }
        );
    }

    #[test]
    fn config_show_is_a_settings_file_of_the_same_settings() {
        use super::super::{ServeArgs, Settings, show};
        let env = |k: &str| match k {
            "MODGATE_SERVER_IDLE_TIMEOUT" => Some("1m30s".to_string()),
            "MODGATE_CACHE_MAX_BYTES" => Some("2GiB".to_string()),
            "MODGATE_HEDGE_MIN_DELAY_MS" => Some("100".to_string()),
            "MODGATE_REDIS" => Some("redis://u:pw@127.0.0.1:6379/0".to_string()),
            "MODGATE_UPSTREAMS" => {
                Some("[{ name = \"corp\", url = \"https://c.example\" }]".to_string())
            }
            _ => None,
        };
        let args = ServeArgs {
            listen: Some(":3000".into()),
            upstream: Some("corp,direct".into()),
            ..Default::default()
        };
        let (want, layers) = Settings::resolve_layers(&args, &env, Vec::new()).unwrap();
        let text = show::render(&layers);
        assert!(
            text.contains("\nlisten = \":3000\"  # flag --listen\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "\nidle_timeout = \"1m30s\"  # environment MODGATE_SERVER_IDLE_TIMEOUT\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("\ndata_dir = \"./modgate-data\"  # default\n"),
            "{text}"
        );
        assert!(
            text.contains("\n# storage is not set  (MODGATE_STORAGE)\n"),
            "{text}"
        );
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("shown.toml");
        std::fs::write(&p, &text).unwrap();
        let again = ServeArgs {
            config: Some(p.clone()),
            ..Default::default()
        };
        let got = Settings::resolve(&again, &|_| None).unwrap();
        // The same settings, the redacted password aside.
        assert_eq!(
            got.redis.as_deref(),
            Some("redis://u:<redacted>@127.0.0.1:6379/0")
        );
        assert_eq!(
            got,
            Settings {
                config_file: Some(p),
                redis: got.redis.clone(),
                ..want
            }
        );
        assert!(!text.contains("pw@"), "{text}");
    }

    #[test]
    fn the_readme_table_names_every_key_and_its_variable() {
        let readme = include_str!("../../../../README.md");
        for k in KEYS {
            let row = format!("| `{}` | `{}` |", k.in_file(), k.env());
            assert!(readme.contains(&row), "README.md has no row {row}");
            let default = match k.default {
                Some("\"\"") => "empty".to_string(),
                Some(d) => format!("`{d}`"),
                None => "none".to_string(),
            };
            assert!(
                readme
                    .lines()
                    .any(|l| l.starts_with(&row) && l.ends_with(&format!("| {default} |"))),
                "README.md: {row} does not give the default {default}"
            );
        }
    }
}
