//! `--sumdb SPEC`: which checksum database, in the go command's `GOSUMDB` syntax
//! (cmd/go/internal/modfetch/sumdb.go `dbDial`): `off`; a known name (`sum.golang.org`,
//! and `sum.golang.google.cn`, an alias of it reached at its own URL); a verifier key
//! `name+hash+key`; either followed by the URL to reach it at.

use gomod::sumdb::note::Verifier;

/// The go command's built-in verifier keys.
const KNOWN: [(&str, &str); 1] = [(
    "sum.golang.org",
    "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8",
)];

/// A checksum database: its name, verifier key and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumDb {
    /// The name (`sum.golang.org`), as in `/sumdb/<name>/...`.
    pub name: String,
    /// The verifier key.
    pub key: String,
    /// The URL given in the spec, which bypasses the proxies; else `None` (proxies that
    /// support it, then `https://<name>`).
    pub url: Option<String>,
}

impl SumDb {
    /// The database's own URL: the spec's, else `https://<name>`.
    pub fn direct_url(&self) -> String {
        self.url
            .clone()
            .unwrap_or_else(|| format!("https://{}", self.name))
    }
}

/// Why a GOSUMDB value (`--sumdb`) is not usable; the value as written in each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Empty.
    #[error("missing GOSUMDB (--sumdb): give a database such as sum.golang.org, or off")]
    Missing,
    /// More than a key and a URL.
    #[error("invalid GOSUMDB (--sumdb {0:?}): too many fields")]
    TooManyFields(String),
    /// Neither a known name nor a verifier key.
    #[error(
        "invalid GOSUMDB (--sumdb {spec:?}): {reason} (a known name such as sum.golang.org, or a verifier key name+hash+key)"
    )]
    Key {
        /// The value.
        spec: String,
        /// Why the key does not parse.
        reason: String,
    },
    /// The key's name is not `host[/path]`.
    #[error("invalid sumdb name (must be host[/path]): {0}")]
    Name(String),
    /// The URL does not parse.
    #[error("invalid GOSUMDB URL {url:?} (--sumdb): {reason}")]
    Url {
        /// The URL.
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The URL is neither https nor http.
    #[error("invalid GOSUMDB URL {0:?} (--sumdb): the scheme must be https or http")]
    Scheme(String),
}

/// Parses a GOSUMDB value: `None` for `off`.
pub fn parse(spec: &str) -> Result<Option<SumDb>, SpecError> {
    let spec = spec.trim();
    let spec = if spec == "sum.golang.google.cn" {
        "sum.golang.org https://sum.golang.google.cn"
    } else {
        spec
    };
    if spec == "off" {
        return Ok(None);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.is_empty() {
        return Err(SpecError::Missing);
    }
    if fields.len() > 2 {
        return Err(SpecError::TooManyFields(spec.to_string()));
    }
    let key = KNOWN
        .iter()
        .find(|(n, _)| *n == fields[0])
        .map_or(fields[0], |(_, k)| k);
    let v = Verifier::new(key).map_err(|e| SpecError::Key {
        spec: spec.to_string(),
        reason: e.to_string(),
    })?;
    let name = v.name().to_string();
    let clean = !name.ends_with('/')
        && !name.starts_with('/')
        && !name.contains("//")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | ':'));
    if !clean {
        return Err(SpecError::Name(name));
    }
    let url = match fields.get(1) {
        Some(u) => {
            let parsed = reqwest::Url::parse(u).map_err(|e| SpecError::Url {
                url: u.to_string(),
                reason: e.to_string(),
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(SpecError::Scheme(u.to_string()));
            }
            Some(u.trim_end_matches('/').to_string())
        }
        None => None,
    };
    Ok(Some(SumDb {
        name,
        key: key.to_string(),
        url,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_DB: &str =
        "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";

    #[test]
    fn the_go_command_forms() {
        assert_eq!(parse("off"), Ok(None));
        let db = parse("sum.golang.org").unwrap().unwrap();
        assert_eq!(db.name, "sum.golang.org");
        assert_eq!(db.key, KNOWN[0].1);
        assert_eq!(db.direct_url(), "https://sum.golang.org");
        let db = parse("sum.golang.google.cn").unwrap().unwrap();
        assert_eq!(
            (db.name.as_str(), db.direct_url()),
            ("sum.golang.org", "https://sum.golang.google.cn".to_string())
        );
        let db = parse(TEST_DB).unwrap().unwrap();
        assert_eq!(db.name, "localhost.localdev/sumdb");
        assert_eq!(db.direct_url(), "https://localhost.localdev/sumdb");
        let db = parse(&format!("{TEST_DB} http://127.0.0.1:8080/db/"))
            .unwrap()
            .unwrap();
        assert_eq!(db.direct_url(), "http://127.0.0.1:8080/db");
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        assert_eq!(parse("  ").unwrap_err(), SpecError::Missing);
        assert_eq!(
            parse("  ").unwrap_err().to_string(),
            "missing GOSUMDB (--sumdb): give a database such as sum.golang.org, or off"
        );
        assert_eq!(
            parse("a b c").unwrap_err().to_string(),
            "invalid GOSUMDB (--sumdb \"a b c\"): too many fields"
        );
        assert_eq!(
            parse("sum.example.com").unwrap_err().to_string(),
            "invalid GOSUMDB (--sumdb \"sum.example.com\"): malformed verifier id (a known name such as sum.golang.org, or a verifier key name+hash+key)"
        );
        assert_eq!(
            parse(&format!("{TEST_DB} ftp://x"))
                .unwrap_err()
                .to_string(),
            "invalid GOSUMDB URL \"ftp://x\" (--sumdb): the scheme must be https or http"
        );
    }
}
