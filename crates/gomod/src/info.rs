//! The `.info` JSON of the GOPROXY protocol (`@v/<query>.info` and `@latest`), read
//! exactly as the go command reads one: `json.Unmarshal` into cmd/go's `RevInfo`
//! (cmd/go/internal/modfetch/repo.go, proxy.go).
//!
//! Go's decoder is lenient where a stricter reader would refuse real answers: keys match
//! field names case-insensitively (with Go's folding: `ſ` is `S`, `K` is `K`), the last
//! of duplicate keys wins (a second `Origin` object is merged into the first, as Go decodes
//! into what a pointer already points to), unknown keys (`Name` and `Short` among them:
//! they are `json:"-"` in `RevInfo`) are skipped whatever their value, `null` leaves a
//! string or the time as it is and clears `Origin`, and `Time` may be missing. It is strict where this module is too: `Version`
//! must be a string, `Time` a JSON string holding an RFC 3339 time as Go's
//! `time.Parse(time.RFC3339, …)` reads it (the raw bytes between the quotes: an escape
//! inside makes it fail, as in Go), `Origin` an object of string fields, and nothing but
//! white space may follow the value.
//!
//! Known differences from Go's decoder, all on bodies no proxy serves: a lone UTF-16
//! surrogate escape (`"\ud800"`) is refused where Go substitutes U+FFFD, and unknown
//! values nested deeper than 128 levels are refused where Go allows 10000.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::timestamp::Instant;

/// What a `.info` body says, as the go command's `RevInfo` holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevInfo {
    /// `Version`: empty when absent (the go command then compares `""` with what it asked).
    pub version: String,
    /// `Time`: `None` when absent or `null` (Go's zero time).
    pub time: Option<Instant>,
    /// `Origin`: provenance, when given.
    pub origin: Option<Origin>,
}

/// cmd/go's `codehost.Origin`: where a version came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// `VCS`: `git` and the like.
    pub vcs: String,
    /// `URL` of the repository.
    pub url: String,
    /// `Subdir`: the module's directory in the repository.
    pub subdir: String,
    /// `Hash`: the commit.
    pub hash: String,
    /// `TagPrefix`.
    pub tag_prefix: String,
    /// `TagSum`.
    pub tag_sum: String,
    /// `Ref`.
    pub ref_name: String,
    /// `RepoSum`.
    pub repo_sum: String,
}

/// Why a body is not a `.info` the go command would read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InfoError(String);

/// Reads a `.info` body as `json.Unmarshal(data, new(RevInfo))` does.
pub fn parse(data: &[u8]) -> Result<RevInfo, InfoError> {
    // Go replaces invalid UTF-8 inside strings with U+FFFD; outside strings it is a
    // syntax error either way.
    let text = String::from_utf8_lossy(data);
    let mut de = serde_json::Deserializer::from_str(&text);
    let info = de
        .deserialize_any(RevInfoVisitor)
        .map_err(|e| InfoError(e.to_string()))?;
    de.end().map_err(|e| InfoError(e.to_string()))?;
    Ok(info)
}

/// Go's `encoding/json` `foldName`: ASCII letters upper-cased, other letters mapped to
/// the upper case of their lower case (so `ſ` folds to `S` and `K` to `K`).
fn fold(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_ascii_uppercase()
            } else {
                let mut lower = c.to_lowercase();
                let l = match (lower.next(), lower.next()) {
                    (Some(l), None) => l,
                    _ => c,
                };
                let mut upper = l.to_uppercase();
                match (upper.next(), upper.next()) {
                    (Some(u), None) => u,
                    _ => l,
                }
            }
        })
        .collect()
}

/// A Go `string` field: a JSON string, or `null` for "leave it".
fn string_field<'de, A: MapAccess<'de>>(map: &mut A, field: &mut String) -> Result<(), A::Error> {
    if let Some(s) = map.next_value::<Option<String>>()? {
        *field = s;
    }
    Ok(())
}

struct RevInfoVisitor;

impl<'de> Visitor<'de> for RevInfoVisitor {
    type Value = RevInfo;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object (Go's RevInfo)")
    }

    fn visit_unit<E: de::Error>(self) -> Result<RevInfo, E> {
        // `null`: json.Unmarshal leaves the RevInfo zero.
        Ok(RevInfo::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RevInfo, A::Error> {
        let mut info = RevInfo::default();
        while let Some(key) = map.next_key::<String>()? {
            match fold(&key).as_str() {
                "VERSION" => string_field(&mut map, &mut info.version)?,
                "TIME" => {
                    let raw = map.next_value::<&RawValue>()?.get();
                    if raw == "null" {
                        continue;
                    }
                    let inner = raw
                        .strip_prefix('"')
                        .and_then(|r| r.strip_suffix('"'))
                        .filter(|_| raw.len() >= 2)
                        .ok_or_else(|| {
                            de::Error::custom("Time.UnmarshalJSON: input is not a JSON string")
                        })?;
                    let t = Instant::parse_rfc3339(inner).ok_or_else(|| {
                        de::Error::custom(format!(
                            "parsing time {raw} as \"2006-01-02T15:04:05Z07:00\": not an RFC 3339 time"
                        ))
                    })?;
                    info.time = Some(t);
                }
                // A pointer field: `null` clears it; an object is decoded into the
                // Origin already there (a second "Origin" key merges into the first).
                "ORIGIN" => {
                    let base = info.origin.take().unwrap_or_default();
                    info.origin = map.next_value_seed(OriginSeed(base))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(info)
    }
}

/// Decodes an `Origin` value (`null` or an object) onto `.0`, as Go decodes into the
/// struct a pointer already points to.
struct OriginSeed(Origin);

impl<'de> DeserializeSeed<'de> for OriginSeed {
    type Value = Option<Origin>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Origin>, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OriginSeed {
    type Value = Option<Origin>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object (Go's codehost.Origin) or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<Origin>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<Origin>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<Origin>, D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Origin>, A::Error> {
        let mut o = self.0;
        while let Some(key) = map.next_key::<String>()? {
            let field = match fold(&key).as_str() {
                "VCS" => &mut o.vcs,
                "URL" => &mut o.url,
                "SUBDIR" => &mut o.subdir,
                "HASH" => &mut o.hash,
                "TAGPREFIX" => &mut o.tag_prefix,
                "TAGSUM" => &mut o.tag_sum,
                "REF" => &mut o.ref_name,
                "REPOSUM" => &mut o.repo_sum,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            string_field(&mut map, field)?;
        }
        Ok(Some(o))
    }
}

/// The `.info` file the go command writes into its module cache for `info`
/// (cmd/go's `writeDiskStat`: `json.Marshal` of its `RevInfo`), as `{"Version":…,"Time":…}`
/// with the time in UTC as `RFC3339Nano` writes it (Go's zero time when there is none;
/// Go would keep an offset other than `Z` the time was given with, which proxies do not
/// send); `None` when `info` has an `Origin`, whose cleaned form is not written here.
pub fn cache_file(info: &RevInfo) -> Option<Vec<u8>> {
    if info.origin.is_some() {
        return None;
    }
    let time = info.time.map_or_else(
        || "0001-01-01T00:00:00Z".to_string(),
        Instant::format_rfc3339_nano,
    );
    let version = serde_json::to_string(&info.version).ok()?;
    Some(format!("{{\"Version\":{version},\"Time\":\"{time}\"}}").into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_go_command_s_cache_file() {
        let got = |body: &str| {
            cache_file(&parse(body.as_bytes()).unwrap()).map(|b| String::from_utf8(b).unwrap())
        };
        assert_eq!(
            got(r#"{"Version":"v0.0.0-20170915032832-14c0d48ead0c","Name":"x","Short":"14c0d48ead0c","Time":"2017-09-15T03:28:32Z"}"#).unwrap(),
            r#"{"Version":"v0.0.0-20170915032832-14c0d48ead0c","Time":"2017-09-15T03:28:32Z"}"#
        );
        assert_eq!(
            got(r#"{"version":"v1.0.0","time":"2018-02-14T17:44:20.500+02:00"}"#).unwrap(),
            r#"{"Version":"v1.0.0","Time":"2018-02-14T15:44:20.5Z"}"#
        );
        assert_eq!(
            got(r#"{"Version":"v1.0.0"}"#).unwrap(),
            r#"{"Version":"v1.0.0","Time":"0001-01-01T00:00:00Z"}"#
        );
        assert_eq!(got(r#"{"Version":"v1.0.0","Origin":{"VCS":"git"}}"#), None);
    }

    fn ok(body: &str) -> (String, Option<String>, Option<Origin>) {
        let i = parse(body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e}"));
        (
            i.version,
            i.time.map(Instant::format_rfc3339_nano),
            i.origin,
        )
    }

    #[test]
    fn what_go_reads() {
        // Each verdict checked with go 1.23's json.Unmarshal into modfetch.RevInfo.
        let t = |s: &str| Some(s.to_string());
        assert_eq!(ok(r#"{"Version":"v1.0.0"}"#), ("v1.0.0".into(), None, None));
        assert_eq!(
            ok(
                "{\"Version\":\"v1.0.0\", \"Name\": 7, \"Short\": [1,{\"a\":null}], \"Time\":\"2018-02-14T15:44:20Z\"}\n"
            ),
            ("v1.0.0".into(), t("2018-02-14T15:44:20Z"), None)
        );
        assert_eq!(
            ok(r#"{"version":"v1.0.0","TIME":"2018-02-14T16:44:20+01:00","Version":"v1.1.0"}"#),
            ("v1.1.0".into(), t("2018-02-14T15:44:20Z"), None)
        );
        assert_eq!(
            ok("{\"Ver\u{17f}ion\":\"v1.0.0\",\"Time\":null,\"Version\":null}"),
            ("v1.0.0".into(), None, None)
        );
        assert_eq!(ok("null"), (String::new(), None, None));
        assert_eq!(ok(" {} "), (String::new(), None, None));
        assert_eq!(
            ok(r#"{"Version":"v1.0.0","Origin":{"vcs":"git","Hash":"abc","Extra":1,"Ref":null}}"#),
            (
                "v1.0.0".into(),
                None,
                Some(Origin {
                    vcs: "git".into(),
                    hash: "abc".into(),
                    ..Origin::default()
                })
            )
        );
        assert_eq!(
            ok(r#"{"Version":"v1.0.0","Origin":null}"#),
            ("v1.0.0".into(), None, None)
        );
        assert_eq!(
            parse(b"{\"Version\":\"v1.0.0\xff\"}").unwrap().version,
            "v1.0.0\u{fffd}"
        );
    }

    #[test]
    fn what_go_refuses() {
        for body in [
            "",
            "invalid",
            "[]",
            "\"v1.0.0\"",
            "1",
            "true",
            r#"{"Version":1}"#,
            r#"{"Version":"v1.0.0"} x"#,
            r#"{"Version":"v1.0.0"}{}"#,
            r#"{"Version":"v1.0.0","Time":""}"#,
            r#"{"Version":"v1.0.0","Time":1}"#,
            r#"{"Version":"v1.0.0","Time":"yesterday"}"#,
            r#"{"Version":"v1.0.0","Time":"2018-02-14T15:44:20\u005a"}"#,
            r#"{"Version":"v1.0.0","Origin":"git"}"#,
            r#"{"Version":"v1.0.0","Origin":{"VCS":1}}"#,
            r#"{"Version":"v1.0.0""#,
            "{\"Version\":\"v1.0.0\u{1}\"}",
        ] {
            assert!(parse(body.as_bytes()).is_err(), "{body}");
        }
    }
}
