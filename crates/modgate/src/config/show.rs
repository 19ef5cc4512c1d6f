//! `modgate config show`: the effective settings as a TOML file, each value followed by
//! where it came from, secrets redacted.

use super::keys::{KEYS, Key, Kind};
use super::layers::{Layers, Origin};

/// What stands for a secret.
pub const REDACTED: &str = "<redacted>";

/// The effective settings of `layers` as TOML: every key of the file, in the reference
/// file's order, with its origin (`# flag --listen`, `# environment MODGATE_…`, `# file
/// PATH:LINE`, `# default`); keys with no value and no default as comments.
pub fn render(layers: &Layers) -> String {
    let mut out = String::from(
        "# modgate serve's effective settings: flags over environment over file over defaults.\n",
    );
    let mut table: Option<&str> = None;
    for k in KEYS {
        if k.table != table {
            table = k.table;
            if let Some(t) = table {
                // A table with nothing in it is written as a comment: an empty [auth]
                // would turn authentication on.
                let used = layers.table.contains_key(t)
                    || KEYS
                        .iter()
                        .filter(|o| o.table == Some(t))
                        .any(|o| o.default.is_some() || layers.value(&o.path()).is_some());
                let mark = if used { "" } else { "# " };
                out.push_str(&format!("\n{mark}[{t}]\n"));
            }
        }
        let path = k.path();
        let line = match (layers.value(&path), k.default) {
            (Some(v), _) => format!("{} = {}  # {}", k.name, shown(k, v), layers.origin(&path)),
            (None, Some(d)) => format!("{} = {d}  # {}", k.name, Origin::Default),
            (None, None) => format!("# {} is not set  ({})", k.name, k.env()),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `v` as TOML, a secret redacted.
fn shown(k: &Key, v: &toml::Value) -> String {
    if !k.secret {
        return inline(v);
    }
    match (k.kind, v) {
        (Kind::Str, toml::Value::String(s)) if k.name == "redis" => {
            inline(&toml::Value::String(redact_url(s)))
        }
        (Kind::Toml, v) => inline(&redact_fields(v.clone())),
        _ => inline(&toml::Value::String(REDACTED.into())),
    }
}

/// A TOML value on one line (tables inline).
fn inline(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(t) => {
            let fields: Vec<String> = t
                .iter()
                .map(|(k, v)| format!("{} = {}", toml_key(k), inline(v)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        toml::Value::Array(a) => {
            let items: Vec<String> = a.iter().map(inline).collect();
            format!("[{}]", items.join(", "))
        }
        v => v.to_string(),
    }
}

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        k.to_string()
    } else {
        toml::Value::String(k.to_string()).to_string()
    }
}

/// The password of a `scheme://user:password@host` URL redacted.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some(p) => p,
        None => return url.to_string(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:{REDACTED}@{host}"),
        None => url.to_string(),
    }
}

/// Fields that hold a secret (`token`, `password`, `secret_access_key`) redacted, at any
/// depth.
fn redact_fields(v: toml::Value) -> toml::Value {
    match v {
        toml::Value::Table(t) => toml::Value::Table(
            t.into_iter()
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        "token" | "password" | "secret_access_key" => {
                            toml::Value::String(REDACTED.into())
                        }
                        _ => redact_fields(v),
                    };
                    (k, v)
                })
                .collect(),
        ),
        toml::Value::Array(a) => toml::Value::Array(a.into_iter().map(redact_fields).collect()),
        v => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(
            redact_url("redis://u:pw@10.0.0.5:6379/0"),
            "redis://u:<redacted>@10.0.0.5:6379/0"
        );
        assert_eq!(
            redact_url("redis://10.0.0.5:6379/0"),
            "redis://10.0.0.5:6379/0"
        );
        let t: toml::Table = toml::from_str(
            "v = [{ name = \"ci\", token = \"s3cret\", read = [\"*\"] }, { name = \"u\", password = \"p\" }]",
        )
        .unwrap();
        assert_eq!(
            inline(&redact_fields(t["v"].clone())),
            "[{ name = \"ci\", read = [\"*\"], token = \"<redacted>\" }, { name = \"u\", password = \"<redacted>\" }]"
        );
    }
}
