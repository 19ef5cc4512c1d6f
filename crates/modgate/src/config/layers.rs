//! The settings' layers merged into one TOML table, each key remembering where it came
//! from: flags over the environment (`MODGATE_<TABLE>_<KEY>`) over the settings file over
//! (for commands acting for the go command) the go command's own settings over the
//! defaults. The table is then read as the file is, so that every key means the same
//! wherever it was written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::ConfigError;
use super::keys::{KEYS, Key, Kind};

/// Other programs' variables read for a key, under its own `MODGATE_…` one.
const ALIASES: [(&str, &str); 1] = [("log_level", "RUST_LOG")];

/// Keys that are two spellings of one setting (a duration, and the older milliseconds).
pub const ALTERNATIVES: [(&str, &str); 2] = [
    ("hedge.min_delay", "hedge.min_delay_ms"),
    ("hedge.max_delay", "hedge.max_delay_ms"),
];

/// The other spelling of the setting at `path`, if it has one.
pub fn alternative(path: &str) -> Option<&'static str> {
    ALTERNATIVES.iter().find_map(|(a, b)| match path {
        p if p == *a => Some(*b),
        p if p == *b => Some(*a),
        _ => None,
    })
}

/// How high a layer is: a flag over the environment over the file over the go command's.
fn rank(o: &Origin) -> u8 {
    match o {
        Origin::Flag(_) => 4,
        Origin::Env(_) => 3,
        Origin::File(..) => 2,
        Origin::Go(_) => 1,
        Origin::Default => 0,
    }
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag (`--listen`).
    Flag(String),
    /// An environment variable.
    Env(String),
    /// The settings file, at this line.
    File(PathBuf, usize),
    /// The go command's setting of this name (`go env`).
    Go(String),
    /// Not set: the default.
    Default,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag(n) => write!(f, "flag {n}"),
            Origin::Env(n) => write!(f, "environment {n}"),
            Origin::File(p, l) => write!(f, "file {}:{l}", p.display()),
            Origin::Go(n) => write!(f, "go env {n}"),
            Origin::Default => write!(f, "default"),
        }
    }
}

/// A value given outside the file: by a flag, or by the go command's settings.
pub struct Given {
    /// The key's dotted path.
    pub path: &'static str,
    /// Its value.
    pub value: toml::Value,
    /// Where it came from.
    pub origin: Origin,
}

/// The merged settings and where each came from.
#[derive(Debug, Clone, Default)]
pub struct Layers {
    /// Every key set by some layer, as the file would have it.
    pub table: toml::Table,
    /// Dotted path -> where its value came from (absent: the default).
    pub origins: BTreeMap<String, Origin>,
}

impl Layers {
    /// Merges `below_file` (the go command's settings), the file's table (`file`: its path,
    /// text and table), the environment (`env`) and `flags`, each over the one before.
    pub fn build(
        below_file: Vec<Given>,
        file: Option<(&Path, &str, toml::Table)>,
        env: &dyn Fn(&str) -> Option<String>,
        flags: Vec<Given>,
    ) -> Result<Layers, ConfigError> {
        let mut l = Layers::default();
        for g in below_file {
            l.set_path(g.path, g.value, g.origin);
        }
        if let Some((path, text, table)) = file {
            for (name, value) in table {
                match value {
                    // A table of keys: each key on its own (arrays of tables are whole).
                    toml::Value::Table(t) if KEYS.iter().any(|k| k.table == Some(&name)) => {
                        if t.is_empty() {
                            l.table.entry(name.clone()).or_insert(toml::Value::Table(t));
                            continue;
                        }
                        for (k, v) in t {
                            let dotted = format!("{name}.{k}");
                            let line = line_of(text, Some(&name), &k);
                            l.set_path(&dotted, v, Origin::File(path.to_path_buf(), line));
                        }
                    }
                    v => {
                        let line = line_of(text, None, &name);
                        l.set_path(&name, v, Origin::File(path.to_path_buf(), line));
                    }
                }
            }
        }
        for k in KEYS {
            let path = k.path();
            let alias = ALIASES.iter().find(|(p, _)| *p == path).map(|(_, a)| *a);
            let found = std::iter::once(k.env())
                .chain(alias.map(str::to_string))
                .find_map(|var| Some((env(&var).filter(|v| !v.trim().is_empty())?, var)));
            if let Some((raw, var)) = found {
                let v = env_value(k, &var, &raw)?;
                l.set_path(&path, v, Origin::Env(var));
            }
        }
        for g in flags {
            l.set_path(g.path, g.value, g.origin);
        }
        // Two spellings of one setting given in different layers: the higher one alone.
        for (a, b) in ALTERNATIVES {
            if let (Some(oa), Some(ob)) = (l.origins.get(a), l.origins.get(b)) {
                let lower = match rank(oa).cmp(&rank(ob)) {
                    std::cmp::Ordering::Less => a,
                    std::cmp::Ordering::Greater => b,
                    std::cmp::Ordering::Equal => continue,
                };
                l.remove(lower);
            }
        }
        Ok(l)
    }

    fn remove(&mut self, path: &str) {
        if let Some((t, k)) = path.split_once('.')
            && let Some(toml::Value::Table(tt)) = self.table.get_mut(t)
        {
            tt.remove(k);
        } else {
            self.table.remove(path);
        }
        self.origins.remove(path);
    }

    fn set_path(&mut self, path: &str, value: toml::Value, origin: Origin) {
        match path.split_once('.') {
            Some((t, k)) => {
                let table = self
                    .table
                    .entry(t.to_string())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                if let toml::Value::Table(tt) = table {
                    tt.insert(k.to_string(), value);
                }
            }
            None => {
                self.table.insert(path.to_string(), value);
            }
        }
        self.origins.insert(path.to_string(), origin);
    }

    /// Where the key at `path` came from.
    pub fn origin(&self, path: &str) -> Origin {
        self.origins.get(path).cloned().unwrap_or(Origin::Default)
    }

    /// The value set for `path`, if any.
    pub fn value(&self, path: &str) -> Option<&toml::Value> {
        match path.split_once('.') {
            Some((t, k)) => self.table.get(t)?.as_table()?.get(k),
            None => self.table.get(path),
        }
    }

    /// How an error names the key at `path`, after where it was set: `--listen`,
    /// `MODGATE_SERVER_IDLE_TIMEOUT`, `modgate.toml:4: [server] idle_timeout`, `GOPROXY (go
    /// env)`; `[server] idle_timeout` for a default.
    pub fn name(&self, path: &str) -> String {
        let in_file = super::keys::find(path).map_or_else(|| path.to_string(), Key::in_file);
        match self.origin(path) {
            Origin::Flag(f) => f,
            Origin::Env(v) => v,
            Origin::File(p, line) => format!("{}:{line}: {in_file}", p.display()),
            Origin::Go(n) => format!("{n} (go env)"),
            Origin::Default => in_file,
        }
    }

    /// How an error names the table `table` after where its keys were set: the file
    /// (`modgate.toml: [s3]`), else the variables and flags that gave them
    /// (`MODGATE_S3_ENDPOINT: [s3]`).
    pub fn table_name(&self, table: &str) -> String {
        let mut given: Vec<String> = Vec::new();
        let mut file = None;
        for (path, o) in &self.origins {
            if path.split_once('.').map(|(t, _)| t) != Some(table) {
                continue;
            }
            match o {
                Origin::Env(n) | Origin::Flag(n) if !given.contains(n) => given.push(n.clone()),
                Origin::File(p, _) => file = Some(p.clone()),
                _ => {}
            }
        }
        match (given.is_empty(), file) {
            (true, Some(p)) => format!("{}: [{table}]", p.display()),
            (true, None) => format!("[{table}]"),
            (false, _) => format!("{}: [{table}]", given.join(", ")),
        }
    }

    /// [`Layers::name`] followed by how a value is joined to it there: `--listen `,
    /// `MODGATE_LISTEN=`, `modgate.toml:2: listen = `.
    pub fn name_eq(&self, path: &str) -> String {
        let n = self.name(path);
        match self.origin(path) {
            Origin::Flag(_) => format!("{n} "),
            Origin::Env(_) => format!("{n}="),
            _ => format!("{n} = "),
        }
    }
}

/// The line (from 1) of `key` in `table` of the file `text`, 1 when it is not found.
pub fn line_of(text: &str, table: Option<&str>, key: &str) -> usize {
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if let Some(h) = l.strip_prefix('[') {
            let h = h.trim_start_matches('[');
            let name = h.split(']').next().unwrap_or("").trim();
            if table.is_none() && (name == key || name.starts_with(&format!("{key}."))) {
                return i + 1;
            }
            current = Some(name.to_string());
            continue;
        }
        let here = match (&current, table) {
            (None, None) => true,
            (Some(c), Some(t)) => c == t,
            _ => false,
        };
        if here
            && let Some((k, _)) = l.split_once('=')
            && k.trim().trim_matches('"') == key
        {
            return i + 1;
        }
        // A dotted key at the top: `server.idle_timeout = 5`.
        if current.is_none()
            && let Some(t) = table
            && let Some((k, _)) = l.split_once('=')
            && k.trim() == format!("{t}.{key}")
        {
            return i + 1;
        }
    }
    1
}

/// The value of `key` written as `raw` in its environment variable `var`, checked.
pub fn env_value(key: &Key, var: &str, raw: &str) -> Result<toml::Value, ConfigError> {
    let bad = |want: &str| ConfigError(format!("{var}={raw}: {want}"));
    Ok(match key.kind {
        Kind::Str => toml::Value::String(raw.to_string()),
        Kind::List => toml::Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_string()))
                .collect(),
        ),
        Kind::Int => {
            toml::Value::Integer(raw.trim().parse().map_err(|_| bad("want a whole number"))?)
        }
        Kind::Float => toml::Value::Float(raw.trim().parse().map_err(|_| bad("want a number"))?),
        Kind::Bool => match raw.trim() {
            "1" | "true" => toml::Value::Boolean(true),
            "0" | "false" => toml::Value::Boolean(false),
            _ => return Err(bad("want 1 or true, 0 or false")),
        },
        Kind::Duration => {
            super::file_duration::parse(raw).map_err(|e| ConfigError(format!("{var}={e}")))?;
            toml::Value::String(raw.trim().to_string())
        }
        Kind::Size => {
            crate::storage::parse_size(raw).map_err(|e| ConfigError(format!("{var}={e}")))?;
            toml::Value::String(raw.trim().to_string())
        }
        Kind::Toml => {
            let doc = format!("v = {raw}");
            let mut t: toml::Table = toml::from_str(&doc).map_err(|e| {
                ConfigError(format!(
                    "{var}: not a TOML value ({}); write it as in the file, inline: [{{ name = \"corp\", url = \"https://goproxy.corp.example\" }}]",
                    e.message()
                ))
            })?;
            t.remove("v").unwrap_or(toml::Value::Array(Vec::new()))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_higher_layer_of_two_spellings_wins() {
        let text = "[hedge]\nmin_delay_ms = 100\n";
        let table: toml::Table = toml::from_str(text).unwrap();
        let p = std::path::Path::new("m.toml");
        let env = |k: &str| (k == "MODGATE_HEDGE_MIN_DELAY").then(|| "20ms".to_string());
        let l =
            Layers::build(Vec::new(), Some((p, text, table.clone())), &env, Vec::new()).unwrap();
        assert_eq!(l.value("hedge.min_delay_ms"), None);
        assert_eq!(
            l.origin("hedge.min_delay"),
            Origin::Env("MODGATE_HEDGE_MIN_DELAY".into())
        );
        // In one layer both: left for the settings to refuse.
        let text = "[hedge]\nmin_delay_ms = 100\nmin_delay = \"1s\"\n";
        let table: toml::Table = toml::from_str(text).unwrap();
        let l = Layers::build(Vec::new(), Some((p, text, table)), &|_| None, Vec::new()).unwrap();
        assert!(l.value("hedge.min_delay_ms").is_some() && l.value("hedge.min_delay").is_some());
    }

    #[test]
    fn a_table_is_named_where_its_keys_were_set() {
        let text = "[s3]\nregion = \"r\"\n";
        let table: toml::Table = toml::from_str(text).unwrap();
        let p = std::path::Path::new("m.toml");
        let l = Layers::build(Vec::new(), Some((p, text, table)), &|_| None, Vec::new()).unwrap();
        assert_eq!(l.table_name("s3"), "m.toml: [s3]");
        let env = |k: &str| (k == "MODGATE_S3_ENDPOINT").then(|| "minio:9000".to_string());
        let l = Layers::build(Vec::new(), None, &env, Vec::new()).unwrap();
        assert_eq!(l.table_name("s3"), "MODGATE_S3_ENDPOINT: [s3]");
        assert_eq!(l.table_name("auth"), "[auth]");
    }

    #[test]
    fn lines_of_keys() {
        let text = "listen = \":1\"\n\n[server]\n# c\nidle_timeout = \"5s\"\n[cache]\nmax_bytes = 1\n[[upstreams]]\nname = \"a\"\n";
        assert_eq!(line_of(text, None, "listen"), 1);
        assert_eq!(line_of(text, Some("server"), "idle_timeout"), 5);
        assert_eq!(line_of(text, Some("cache"), "max_bytes"), 7);
        assert_eq!(line_of(text, None, "upstreams"), 8);
        assert_eq!(
            line_of("server.idle_timeout = 3\n", Some("server"), "idle_timeout"),
            1
        );
    }

    #[test]
    fn env_values_by_kind() {
        let k = |p: &str| super::super::keys::find(p).unwrap();
        let v = |p: &str, raw: &str| env_value(k(p), &k(p).env(), raw);
        assert_eq!(
            v("listen", ":3000"),
            Ok(toml::Value::String(":3000".into()))
        );
        assert_eq!(
            v("private_upstreams", "https://a, https://b,"),
            Ok(toml::Value::Array(vec![
                toml::Value::String("https://a".into()),
                toml::Value::String("https://b".into())
            ]))
        );
        assert_eq!(
            v("server.max_connections", "100"),
            Ok(toml::Value::Integer(100))
        );
        assert_eq!(
            v("server.max_connections", "lots").unwrap_err().0,
            "MODGATE_SERVER_MAX_CONNECTIONS=lots: want a whole number"
        );
        assert_eq!(v("hedge.quantile", "0.9"), Ok(toml::Value::Float(0.9)));
        assert_eq!(v("offline", "1"), Ok(toml::Value::Boolean(true)));
        assert_eq!(
            v("offline", "yes").unwrap_err().0,
            "MODGATE_OFFLINE=yes: want 1 or true, 0 or false"
        );
        assert_eq!(
            v("timeouts.connect", "1m30s"),
            Ok(toml::Value::String("1m30s".into()))
        );
        assert_eq!(
            v("timeouts.connect", "soon").unwrap_err().0,
            format!(
                "MODGATE_TIMEOUTS_CONNECT=\"soon\": not a duration ({})",
                super::super::file_duration::SYNTAX
            )
        );
        let up = v("upstreams", "[{ name = \"corp\", url = \"https://c\" }]").unwrap();
        assert_eq!(up.as_array().unwrap()[0]["name"].as_str(), Some("corp"));
        assert!(
            v("upstreams", "[{ name = ")
                .unwrap_err()
                .0
                .starts_with("MODGATE_UPSTREAMS: not a TOML value (")
        );
    }
}
