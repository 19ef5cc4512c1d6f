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
        // The other spelling of this setting is set: its default is not in force.
        let other = super::layers::alternative(&path).filter(|a| layers.value(a).is_some());
        let line = match (layers.value(&path), k.default, other) {
            (Some(v), _, _) => format!("{} = {}  # {}", k.name, shown(k, v), layers.origin(&path)),
            (None, Some(d), Some(a)) => {
                format!("# {} = {d}  # default, not in force: {a} is set", k.name)
            }
            (None, Some(d), None) => format!("{} = {d}  # {}", k.name, Origin::Default),
            (None, None, _) => format!("# {} is not set  ({})", k.name, k.env()),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `v` as TOML, secrets redacted: every password written in a URL (any setting: an
/// upstream list, `[[upstreams]] url` or `http_proxy`, Redis), a secret setting's value,
/// and in tables `password` and `secret_access_key` fields; a token is shown as its
/// `token_sha256`, which reads back as the same token.
fn shown(k: &Key, v: &toml::Value) -> String {
    match (k.secret, k.kind, v) {
        (true, Kind::Str, toml::Value::String(_)) if k.name != "redis" => {
            inline(&toml::Value::String(REDACTED.into()))
        }
        _ => inline(&redact(v.clone())),
    }
}

/// `v` with every secret in it redacted (see [`shown`]).
fn redact(v: toml::Value) -> toml::Value {
    match v {
        toml::Value::String(s) => toml::Value::String(redact_urls(&s)),
        toml::Value::Array(a) => toml::Value::Array(a.into_iter().map(redact).collect()),
        toml::Value::Table(t) => {
            let mut out = toml::Table::new();
            for (k, v) in t {
                match (k.as_str(), v) {
                    ("token", toml::Value::String(tok)) => {
                        use sha2::Digest;
                        let hex: String = sha2::Sha256::digest(tok.as_bytes())
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect();
                        out.insert("token_sha256".into(), toml::Value::String(hex));
                    }
                    ("password" | "secret_access_key", _) => {
                        out.insert(k, toml::Value::String(REDACTED.into()));
                    }
                    (_, v) => {
                        out.insert(k, redact(v));
                    }
                }
            }
            toml::Value::Table(out)
        }
        v => v,
    }
}

/// `text` with the password of every `scheme://user:password@host` in it, and every
/// `pass=` / `password=` query value, redacted.
fn redact_urls(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, after) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends at the first '/', '?', '#', ',' or '|' (a GOPROXY list).
        let end = after.find(['/', '?', '#', ',', '|']).unwrap_or(after.len());
        let (authority, tail) = after.split_at(end);
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _)) => out.push_str(&format!("{user}:{REDACTED}@{host}")),
                None => out.push_str(authority),
            },
            None => out.push_str(authority),
        }
        rest = tail;
    }
    out.push_str(rest);
    redact_query(&out)
}

/// `text` with the values of `pass=` and `password=` query parameters redacted.
fn redact_query(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    loop {
        let at = ["?pass=", "&pass=", "?password=", "&password="]
            .iter()
            .filter_map(|p| rest.find(p).map(|i| (i, p.len())))
            .min();
        let Some((i, n)) = at else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..i + n]);
        out.push_str(REDACTED);
        let after = &rest[i + n..];
        let end = after.find(['&', '#', ',', '|']).unwrap_or(after.len());
        rest = &after[end..];
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(
            redact_urls("redis://u:pw@10.0.0.5:6379/0"),
            "redis://u:<redacted>@10.0.0.5:6379/0"
        );
        assert_eq!(
            redact_urls("redis://10.0.0.5:6379/0"),
            "redis://10.0.0.5:6379/0"
        );
        assert_eq!(
            redact_urls("https://ci:s3cret@goproxy.corp/x,https://a:b@c|direct"),
            "https://ci:<redacted>@goproxy.corp/x,https://a:<redacted>@c|direct"
        );
        assert_eq!(
            redact_urls("redis+unix:///run/redis.sock?db=1&pass=s3cret"),
            "redis+unix:///run/redis.sock?db=1&pass=<redacted>"
        );
        let t: toml::Table = toml::from_str(
            "v = [{ name = \"ci\", token = \"s3cret\", read = [\"*\"] }, { name = \"u\", url = \"https://u:p@h\", password = \"p\" }]",
        )
        .unwrap();
        use sha2::Digest;
        let sum: String = sha2::Sha256::digest(b"s3cret")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            inline(&redact(t["v"].clone())),
            format!(
                "[{{ name = \"ci\", read = [\"*\"], token_sha256 = \"{sum}\" }}, {{ name = \"u\", password = \"<redacted>\", url = \"https://u:<redacted>@h\" }}]"
            )
        );
    }
}
