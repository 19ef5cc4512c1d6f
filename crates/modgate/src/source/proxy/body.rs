//! Checking what an upstream answered before anyone stores it: `.info` / `@latest` JSON,
//! `@v/list` lines (read as proxy.go's `Versions` and `latestFromList` read them) and
//! `.mod` files.

use gomod::pseudo::{Timestamp, is_pseudo_version, pseudo_version_time};
use gomod::{module, semver};

use crate::source::Info;

/// Parses an `.info` or `@latest` body: JSON (keys matched case-insensitively, as Go's
/// `encoding/json` does) with a `Version` that is canonical and valid for `module_path`
/// and an RFC 3339 `Time`, normalized to UTC. `Origin` is kept when it is an object.
/// Errors are Go's `invalid response from proxy "<base>": ...`.
pub(super) fn parse_info(data: &[u8], module_path: &str, base: &str) -> Result<Info, String> {
    let invalid = |what: String| format!("invalid response from proxy {}: {what}", quote(base));
    let value: serde_json::Value =
        serde_json::from_slice(data).map_err(|e| invalid(e.to_string()))?;
    let serde_json::Value::Object(map) = value else {
        return Err(invalid("not a JSON object".to_string()));
    };
    let field = |name: &str| {
        map.get(name).or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    };
    let version = match field("Version") {
        Some(serde_json::Value::String(v)) if !v.is_empty() => v.clone(),
        Some(serde_json::Value::String(_)) | None | Some(serde_json::Value::Null) => {
            return Err(invalid("no Version".to_string()));
        }
        Some(other) => return Err(invalid(format!("Version is not a string: {other}"))),
    };
    if !semver::is_valid(&version) || module::canonical_version(&version) != version {
        return Err(invalid(format!(
            "Version {} is not a canonical semantic version",
            quote(&version)
        )));
    }
    if let Err(e) = module::check(module_path, &version) {
        return Err(invalid(format!("Version {}: {e}", quote(&version))));
    }
    let time = match field("Time") {
        Some(serde_json::Value::String(t)) => normalize_rfc3339(t)
            .ok_or_else(|| invalid(format!("Time {} is not an RFC 3339 time", quote(t))))?,
        None | Some(serde_json::Value::Null) => return Err(invalid("no Time".to_string())),
        Some(other) => return Err(invalid(format!("Time is not a string: {other}"))),
    };
    let origin = match field("Origin") {
        Some(o @ serde_json::Value::Object(_)) => Some(o.clone()),
        None | Some(serde_json::Value::Null) => None,
        Some(other) => return Err(invalid(format!("Origin is not an object: {other}"))),
    };
    Ok(Info {
        version,
        time,
        origin,
    })
}

/// The tagged versions in an `@v/list` body as proxy.go's `Versions` keeps them (first
/// field of each line, valid semver, not a pseudo-version), semver-sorted and without
/// duplicates. A body with non-blank lines of which not one starts with a valid version
/// is not a version list (an HTML page, say): that is an error.
pub(super) fn parse_list(data: &[u8], base: &str) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(data).map_err(|_| {
        format!(
            "invalid response from proxy {}: @v/list is not UTF-8 text",
            quote(base)
        )
    })?;
    let mut any_line = false;
    let mut any_valid = false;
    let mut list = Vec::new();
    for line in text.split('\n') {
        let Some(first) = line.split_whitespace().next() else {
            continue;
        };
        any_line = true;
        if semver::is_valid(first) {
            any_valid = true;
            if !is_pseudo_version(first) {
                list.push(first.to_string());
            }
        }
    }
    if any_line && !any_valid {
        return Err(format!(
            "invalid response from proxy {}: @v/list has no valid version on any line",
            quote(base)
        ));
    }
    semver::sort(&mut list);
    list.dedup();
    Ok(list)
}

/// The version `@latest` means given an `@v/list` body, when the upstream has no
/// `@latest` of its own: the highest release, else the highest prerelease (what the go
/// command's query picks from a version list), else proxy.go's `latestFromList` (the
/// newest by the time on the line or in the pseudo-version). `None` when the list has
/// no version at all (Go's "no commits").
pub(super) fn latest_from_list(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<Vec<&str>> = text
        .split('\n')
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.first().is_some_and(|v| semver::is_valid(v)))
        .collect();
    let tagged: Vec<&str> = lines
        .iter()
        .map(|f| f[0])
        .filter(|v| !is_pseudo_version(v))
        .collect();
    let release = tagged
        .iter()
        .copied()
        .filter(|v| semver::prerelease(v).is_empty());
    if let Some(v) = max_version(release) {
        return Some(v.to_string());
    }
    if let Some(v) = max_version(tagged.iter().copied()) {
        return Some(v.to_string());
    }
    // proxy.go's latestFromList: the newest time wins, ties keep the first.
    let mut best_time: Option<(i64, u32)> = None;
    let mut best_version = None;
    for f in &lines {
        let t = if f.len() >= 2 {
            parse_rfc3339(f[1])
        } else if is_pseudo_version(f[0]) {
            pseudo_version_time(f[0]).ok().map(|t| (t.unix, 0))
        } else {
            continue;
        };
        // Go's zero time for an unparseable one: never "after" anything.
        let Some(t) = t else { continue };
        if best_time.is_none_or(|b| b < t) {
            best_time = Some(t);
            best_version = Some(f[0].to_string());
        }
    }
    best_version
}

fn max_version<'a>(versions: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    versions.fold(None, |best, v| match best {
        Some(b) if semver::compare(b, v).is_ge() => Some(b),
        _ => Some(v),
    })
}

/// Checks a `.mod` body with the lax parser the go command uses for dependencies, and
/// that it has a `module` directive (every go.mod the go command serves or synthesizes
/// for a dependency has one; a body without one is not a go.mod: an error page, say).
/// The path in it is not compared with `module_path`: a mismatch is a real answer that
/// the go command reports to its user itself.
pub(super) fn check_go_mod(data: &[u8], module_path: &str, version: &str) -> Result<(), String> {
    let name = format!("{module_path}@{version}/go.mod");
    let file = gomod::modfile::parse_lax(&name, data, None)
        .map_err(|e| format!("invalid go.mod from proxy: {e}"))?;
    if file.module.is_none() {
        return Err(format!(
            "invalid go.mod from proxy: {name}: no module directive"
        ));
    }
    Ok(())
}

/// Parses an RFC 3339 time (`2006-01-02T15:04:05[.999999999](Z|±hh:mm)`, what Go's JSON
/// decoding of a `time.Time` accepts) into Unix seconds and nanoseconds.
pub(super) fn parse_rfc3339(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let d = b.get(r)?;
        if !d.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(d.iter().fold(0, |n, &c| n * 10 + u32::from(c - b'0')))
    };
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let ts = Timestamp::from_civil(
        i64::from(num(0..4)?),
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    )?;
    let mut i = 19;
    let mut nanos: u32 = 0;
    if b[i] == b'.' {
        let start = i + 1;
        let mut end = start;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
        if end == start || end - start > 9 {
            return None;
        }
        let digits = &s[start..end];
        nanos = digits.parse::<u32>().ok()? * 10u32.pow(9 - (end - start) as u32);
        i = end;
    }
    let offset: i64 = match &b[i..] {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let h = num(i + 1..i + 3)?;
            let m = num(i + 4..i + 6)?;
            if h > 23 || m > 59 {
                return None;
            }
            let off = i64::from(h * 3600 + m * 60);
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    Some((ts.unix - offset, nanos))
}

/// An RFC 3339 time in UTC: `2006-01-02T15:04:05Z`, with the fraction of a second kept
/// (trailing zeros dropped, as Go's `RFC3339Nano`).
pub(super) fn normalize_rfc3339(s: &str) -> Option<String> {
    let (unix, nanos) = parse_rfc3339(s)?;
    let base = Timestamp::from_unix(unix).format_rfc3339();
    if nanos == 0 {
        return Some(base);
    }
    let frac = format!("{nanos:09}");
    let frac = frac.trim_end_matches('0');
    Some(format!("{}.{frac}Z", base.trim_end_matches('Z')))
}

/// Go's `%q` for the plain ASCII strings we quote (JSON-style escaping otherwise).
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://proxy.example";

    #[test]
    fn info_ok_and_normalized() {
        let info = parse_info(
            br#"{"Version":"v1.5.2","Name":"c4d4","Short":"c4d4","Time":"2018-02-14T15:44:20Z"}"#,
            "rsc.io/quote",
            BASE,
        )
        .unwrap();
        assert_eq!(info.version, "v1.5.2");
        assert_eq!(info.time, "2018-02-14T15:44:20Z");
        assert_eq!(info.origin, None);
        let info = parse_info(
            br#"{"version":"v0.0.0-20180628003336-dd9747d19b04","time":"2018-06-28T02:33:36.500+02:00","Origin":{"VCS":"git"}}"#,
            "rsc.io/quote",
            BASE,
        )
        .unwrap();
        assert_eq!(info.version, "v0.0.0-20180628003336-dd9747d19b04");
        assert_eq!(info.time, "2018-06-28T00:33:36.5Z");
        assert_eq!(info.origin, Some(serde_json::json!({"VCS": "git"})));
    }

    #[test]
    fn info_rejected() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"not json",
                "invalid response from proxy \"https://proxy.example\": expected ident at line 1 column 2",
            ),
            (
                b"[1]",
                "invalid response from proxy \"https://proxy.example\": not a JSON object",
            ),
            (
                br#"{"Time":"2018-02-14T15:44:20Z"}"#,
                "invalid response from proxy \"https://proxy.example\": no Version",
            ),
            (
                br#"{"Version":"v1.5","Time":"2018-02-14T15:44:20Z"}"#,
                "invalid response from proxy \"https://proxy.example\": Version \"v1.5\" is not a canonical semantic version",
            ),
            (
                br#"{"Version":"master","Time":"2018-02-14T15:44:20Z"}"#,
                "invalid response from proxy \"https://proxy.example\": Version \"master\" is not a canonical semantic version",
            ),
            (
                br#"{"Version":"v2.0.0","Time":"2018-02-14T15:44:20Z"}"#,
                "invalid response from proxy \"https://proxy.example\": Version \"v2.0.0\": rsc.io/quote@v2.0.0: invalid version: should be v0 or v1, not v2",
            ),
            (
                br#"{"Version":"v1.5.2"}"#,
                "invalid response from proxy \"https://proxy.example\": no Time",
            ),
            (
                br#"{"Version":"v1.5.2","Time":"yesterday"}"#,
                "invalid response from proxy \"https://proxy.example\": Time \"yesterday\" is not an RFC 3339 time",
            ),
            (
                br#"{"Version":"v1.5.2","Time":"2018-02-14T15:44:20Z","Origin":"x"}"#,
                "invalid response from proxy \"https://proxy.example\": Origin is not an object: \"x\"",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                parse_info(body, "rsc.io/quote", BASE).unwrap_err(),
                *want,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn list_like_proxy_go() {
        let body = b"v1.1.0\nv1.0.0 2018-01-01T00:00:00Z\n\ngarbage\nv0.0.0-20180628003336-dd9747d19b04\nv1.0.0\nv1.2\n";
        assert_eq!(
            parse_list(body, BASE).unwrap(),
            vec!["v1.0.0", "v1.1.0", "v1.2"]
        );
        assert_eq!(parse_list(b"", BASE).unwrap(), Vec::<String>::new());
        assert_eq!(parse_list(b"\n \n", BASE).unwrap(), Vec::<String>::new());
        assert_eq!(
            parse_list(b"v0.0.0-20180628003336-dd9747d19b04\n", BASE).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            parse_list(b"<html>\n<body>hi</body>\n", BASE).unwrap_err(),
            "invalid response from proxy \"https://proxy.example\": @v/list has no valid version on any line"
        );
        assert!(parse_list(b"\xff\n", BASE).is_err());
    }

    #[test]
    fn latest_from_lists() {
        assert_eq!(
            latest_from_list(b"v1.0.0\nv1.2.0\nv1.3.0-pre\n").as_deref(),
            Some("v1.2.0")
        );
        assert_eq!(
            latest_from_list(b"v1.3.0-pre\nv1.3.0-alpha\n").as_deref(),
            Some("v1.3.0-pre")
        );
        assert_eq!(
            latest_from_list(
                b"v0.0.0-20180628003336-dd9747d19b04\nv0.0.0-20180709153244-fd906ed3b100\nv0.0.0-20180214005133-e7a685a342c0\n"
            )
            .as_deref(),
            Some("v0.0.0-20180709153244-fd906ed3b100")
        );
        assert_eq!(
            latest_from_list(
                b"v0.0.0-20180628003336-dd9747d19b04 2017-01-01T00:00:00Z\nv0.0.0-20180214005133-e7a685a342c0 2019-01-01T00:00:00Z\n"
            )
            .as_deref(),
            Some("v0.0.0-20180214005133-e7a685a342c0")
        );
        assert_eq!(latest_from_list(b""), None);
        assert_eq!(latest_from_list(b"junk\n"), None);
    }

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339("2018-02-14T15:44:20Z"), Some((1518623060, 0)));
        assert_eq!(
            parse_rfc3339("2018-02-14T16:44:20+01:00"),
            Some((1518623060, 0))
        );
        assert_eq!(
            parse_rfc3339("2018-02-14T15:44:20.25Z"),
            Some((1518623060, 250_000_000))
        );
        for bad in [
            "2018-02-14 15:44:20Z",
            "2018-02-14T15:44:20",
            "2018-02-30T15:44:20Z",
            "2018-02-14T15:44:20.Z",
            "2018-02-14T15:44:20+0100",
            "2018-02-14T15:44:20z",
            "2018-02-14T15:44:20.1234567890Z",
            "",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        assert_eq!(
            normalize_rfc3339("2018-02-14T10:44:20.120-05:00").as_deref(),
            Some("2018-02-14T15:44:20.12Z")
        );
    }

    #[test]
    fn go_mod_check() {
        assert!(
            check_go_mod(
                b"module \"rsc.io/quote\"\n\nrequire \"rsc.io/sampler\" v1.3.0\n",
                "rsc.io/quote",
                "v1.5.2"
            )
            .is_ok()
        );
        assert_eq!(
            check_go_mod(b"", "m", "v1.0.0").unwrap_err(),
            "invalid go.mod from proxy: m@v1.0.0/go.mod: no module directive"
        );
        assert!(check_go_mod(b"<html>\n", "m", "v1.0.0").is_err());
        assert!(check_go_mod(b"module other/path\n", "m", "v1.0.0").is_ok());
        assert_eq!(
            check_go_mod(b"module x\nrequire (\n", "m", "v1.0.0").unwrap_err(),
            "invalid go.mod from proxy: m@v1.0.0/go.mod:3: syntax error (unterminated block started at m@v1.0.0/go.mod:2:1)"
        );
    }
}
