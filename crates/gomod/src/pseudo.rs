//! Pseudo-versions (golang.org/x/mod/module pseudo.go): versions naming an untagged
//! commit, ordered relative to tagged versions.
//!
//! The forms are:
//!
//! 1. `vX.0.0-yyyymmddhhmmss-abcdef123456` — no earlier tag with major version `vX`;
//! 2. `vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdef123456` — after release tag `vX.Y.Z`;
//! 3. the same with `+incompatible` — after `vX.Y.Z+incompatible`;
//! 4. `vX.Y.Z-pre.0.yyyymmddhhmmss-abcdef123456` — after prerelease tag `vX.Y.Z-pre`;
//! 5. the same with `+incompatible` — after `vX.Y.Z-pre+incompatible`.
//!
//! Times are UTC with whole seconds, carried by [`Timestamp`].

use crate::gostr::quote;
use crate::module::Error;
use crate::semver;

pub use crate::timestamp::Timestamp;

/// Go's `PseudoVersionTimestampFormat` layout.
pub const PSEUDO_VERSION_TIMESTAMP_FORMAT: &str = "20060102150405";

/// Returns the pseudo-version for major version `major` (`""` means `"v0"`), the most
/// recent older tag `older` (`""` for none, or e.g. `"v1.2.3"`, `"v1.2.3-pre"`, with an
/// optional build suffix such as `+incompatible` that is carried over), the commit
/// time `time` and the revision `rev` (usually a 12-character commit hash prefix).
pub fn pseudo_version(major: &str, older: &str, time: Timestamp, rev: &str) -> String {
    let major = if major.is_empty() { "v0" } else { major };
    let segment = format!("{}-{rev}", time.format_pseudo());
    let build = semver::build(older);
    let older = semver::canonical(older);
    if older.is_empty() {
        return format!("{major}.0.0-{segment}"); // form (1)
    }
    if !semver::prerelease(&older).is_empty() {
        return format!("{older}.0.{segment}{build}"); // forms (4), (5)
    }
    // Forms (2), (3): bump the patch of vMAJOR.MINOR.PATCH.
    let i = older.rfind('.').map_or(0, |i| i + 1);
    let (v, patch) = older.split_at(i);
    format!("{v}{}-0.{segment}{build}", inc_decimal(patch))
}

/// Returns the placeholder pseudo-version of major version `major` with zero base,
/// time and revision: `vX.0.0-00010101000000-000000000000`.
pub fn zero_pseudo_version(major: &str) -> String {
    pseudo_version(major, "", Timestamp::ZERO, "000000000000")
}

/// The decimal string plus one (`"99"` → `"100"`).
fn inc_decimal(decimal: &str) -> String {
    let mut digits = decimal.as_bytes().to_vec();
    let mut i = digits.len();
    while i > 0 && digits[i - 1] == b'9' {
        digits[i - 1] = b'0';
        i -= 1;
    }
    if i > 0 {
        digits[i - 1] += 1;
    } else {
        // All nines (now zeros), or empty.
        digits.insert(0, b'1');
    }
    String::from_utf8(digits).unwrap_or_default()
}

/// The decimal string minus one (`"100"` → `"99"`), or `""` if it is all zeros.
fn dec_decimal(decimal: &str) -> String {
    let mut digits = decimal.as_bytes().to_vec();
    let mut i = digits.len();
    while i > 0 && digits[i - 1] == b'0' {
        digits[i - 1] = b'9';
        i -= 1;
    }
    if i == 0 {
        return String::new();
    }
    if i == 1 && digits[0] == b'1' && digits.len() > 1 {
        digits.remove(0);
    } else {
        digits[i - 1] -= 1;
    }
    String::from_utf8(digits).unwrap_or_default()
}

/// Matches Go's `pseudoVersionRE`:
/// `^v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`
fn matches_pseudo_re(v: &str) -> bool {
    let b = v.as_bytes();
    let Some(rest) = b.strip_prefix(b"v") else {
        return false;
    };
    let Some(rest) = skip_digits(rest).and_then(|r| r.strip_prefix(b".")) else {
        return false;
    };
    // First alternative: "0.0-".
    if let Some(tail) = rest.strip_prefix(b"0.0-")
        && matches_time_rev_build(tail)
    {
        return true;
    }
    // Second alternative: \d+\.\d+-([^+]*\.)?0\.
    let Some(tail) = skip_digits(rest)
        .and_then(|r| r.strip_prefix(b"."))
        .and_then(skip_digits)
        .and_then(|r| r.strip_prefix(b"-"))
    else {
        return false;
    };
    // The optional group is empty or ends in '.', and contains no '+'.
    for k in 0..tail.len() {
        if k > 0 {
            if tail[k - 1] == b'+' {
                break;
            }
            if tail[k - 1] != b'.' {
                continue;
            }
        }
        if let Some(after) = tail[k..].strip_prefix(b"0.")
            && matches_time_rev_build(after)
        {
            return true;
        }
    }
    false
}

/// One or more ASCII digits, then the rest.
fn skip_digits(b: &[u8]) -> Option<&[u8]> {
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 { None } else { Some(&b[n..]) }
}

/// `\d{14}-[A-Za-z0-9]+(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`
fn matches_time_rev_build(b: &[u8]) -> bool {
    if b.len() < 16 || !b[..14].iter().all(u8::is_ascii_digit) || b[14] != b'-' {
        return false;
    }
    let rest = &b[15..];
    let n = rest
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    if n == 0 {
        return false;
    }
    let rest = &rest[n..];
    if rest.is_empty() {
        return true;
    }
    let Some(build) = rest.strip_prefix(b"+") else {
        return false;
    };
    build
        .split(|&c| c == b'.')
        .all(|id| !id.is_empty() && id.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-'))
}

/// Reports whether `v` is a pseudo-version.
pub fn is_pseudo_version(v: &str) -> bool {
    v.bytes().filter(|&c| c == b'-').count() >= 2 && semver::is_valid(v) && matches_pseudo_re(v)
}

/// Reports whether `v` is a zero pseudo-version, as returned by [`zero_pseudo_version`].
pub fn is_zero_pseudo_version(v: &str) -> bool {
    v == zero_pseudo_version(&semver::major(v))
}

fn pseudo_error(v: &str, msg: String) -> Error {
    Error::invalid_version(v, true, Error::Msg(msg))
}

/// The parts of a pseudo-version.
struct PseudoParts<'a> {
    /// `vX.0.0`, `vX.Y.Z-pre.0` or `vX.Y.(Z+1)-0`.
    base: &'a str,
    timestamp: &'a str,
    rev: &'a str,
    build: String,
}

fn parse_pseudo_version(v: &str) -> Result<PseudoParts<'_>, Error> {
    let syntax = || pseudo_error(v, "syntax error".into());
    if !is_pseudo_version(v) {
        return Err(syntax());
    }
    let build = semver::build(v);
    let core = &v[..v.len() - build.len()];
    let j = core.rfind('-').ok_or_else(syntax)?;
    let (core, rev) = (&core[..j], &core[j + 1..]);
    let i = core.rfind('-').ok_or_else(syntax)?;
    let (base, timestamp) = match core.rfind('.') {
        Some(d) if d > i => (&core[..d], &core[d + 1..]),
        _ => (&core[..i], &core[i + 1..]),
    };
    Ok(PseudoParts {
        base,
        timestamp,
        rev,
        build,
    })
}

/// Returns the commit time embedded in pseudo-version `v`; fails if `v` is not a
/// pseudo-version or its time is not a valid date and time.
pub fn pseudo_version_time(v: &str) -> Result<Timestamp, Error> {
    let p = parse_pseudo_version(v)?;
    Timestamp::parse_pseudo(p.timestamp)
        .ok_or_else(|| pseudo_error(v, format!("malformed time {}", quote(p.timestamp))))
}

/// Returns the revision identifier of pseudo-version `v`; fails if `v` is not a
/// pseudo-version.
pub fn pseudo_version_rev(v: &str) -> Result<String, Error> {
    parse_pseudo_version(v).map(|p| p.rev.to_string())
}

/// Returns the canonical tag a pseudo-version is based on (with its `+incompatible`
/// or other build suffix), or `""` for the form `vX.0.0-yyyymmddhhmmss-abcdef123456`
/// with no base. Fails if `v` is not a pseudo-version, if a base-less pseudo-version
/// carries build metadata, or if the base would have a negative patch number.
pub fn pseudo_version_base(v: &str) -> Result<String, Error> {
    let p = parse_pseudo_version(v)?;
    let pre = semver::prerelease(p.base);
    match pre.as_str() {
        "" => {
            if !p.build.is_empty() {
                return Err(pseudo_error(
                    v,
                    format!(
                        "lacks base version, but has build metadata {}",
                        quote(&p.build)
                    ),
                ));
            }
            Ok(String::new())
        }
        "-0" => {
            // vX.Y.(Z+1)-0.yyyymmddhhmmss-rev → vX.Y.Z
            let base = &p.base[..p.base.len() - pre.len()];
            let Some(i) = base.rfind('.') else {
                return Err(pseudo_error(v, "syntax error".into()));
            };
            let patch = dec_decimal(&base[i + 1..]);
            if patch.is_empty() {
                return Err(pseudo_error(
                    v,
                    format!("version before {base} would have negative patch number"),
                ));
            }
            Ok(format!("{}{patch}{}", &base[..=i], p.build))
        }
        _ => {
            // vX.Y.Z-pre.0.yyyymmddhhmmss-rev → vX.Y.Z-pre
            match p.base.strip_suffix(".0") {
                Some(b) => Ok(format!("{b}{}", p.build)),
                None => Err(pseudo_error(v, "syntax error".into())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Outcome = Result<&'static str, &'static str>;

    fn outcome<T: ToString>(r: Result<T, Error>) -> Result<String, String> {
        r.map(|x| x.to_string()).map_err(|e| e.to_string())
    }

    fn owned(o: Outcome) -> Result<String, String> {
        o.map(str::to_string).map_err(str::to_string)
    }

    /// 2006-01-02T15:04:05Z, the time of x/mod's `pseudoTests`.
    const PSEUDO_TIME: Timestamp = Timestamp {
        unix: 1_136_214_245,
    };

    /// `pseudoTests` from x/mod pseudo_test.go: (major, older, version), with time
    /// [`PSEUDO_TIME`] and revision "hash".
    #[rustfmt::skip]
    const PSEUDO_TESTS: &[(&str, &str, &str)] = &[
        ("", "", "v0.0.0-20060102150405-hash"),
        ("v0", "", "v0.0.0-20060102150405-hash"),
        ("v1", "", "v1.0.0-20060102150405-hash"),
        ("v2", "", "v2.0.0-20060102150405-hash"),
        ("unused", "v0.0.0", "v0.0.1-0.20060102150405-hash"),
        ("unused", "v1.2.3", "v1.2.4-0.20060102150405-hash"),
        ("unused", "v1.2.99999999999999999", "v1.2.100000000000000000-0.20060102150405-hash"),
        ("unused", "v1.2.3-pre", "v1.2.3-pre.0.20060102150405-hash"),
        ("unused", "v1.3.0-pre", "v1.3.0-pre.0.20060102150405-hash"),
        ("unused", "v0.0.0--", "v0.0.0--.0.20060102150405-hash"),
        ("unused", "v1.0.0+metadata", "v1.0.1-0.20060102150405-hash+metadata"),
        ("unused", "v2.0.0+incompatible", "v2.0.1-0.20060102150405-hash+incompatible"),
        ("unused", "v2.3.0-pre+incompatible", "v2.3.0-pre.0.20060102150405-hash+incompatible"),
    ];

    /// The inputs of x/mod's TestInvalidPseudoVersionBase, with go 1.23's error texts.
    #[rustfmt::skip]
    const INVALID_PSEUDO_BASE: &[(&str, Outcome)] = &[
        ("v0.0.0", Err("pseudo-version \"v0.0.0\" invalid: syntax error")),
        ("v0.0.0-", Err("pseudo-version \"v0.0.0-\" invalid: syntax error")),
        ("v0.0.0-0.20060102150405-hash", Err("pseudo-version \"v0.0.0-0.20060102150405-hash\" invalid: version before v0.0.0 would have negative patch number")),
        ("v0.1.0-0.20060102150405-hash", Err("pseudo-version \"v0.1.0-0.20060102150405-hash\" invalid: version before v0.1.0 would have negative patch number")),
        ("v1.0.0-0.20060102150405-hash", Err("pseudo-version \"v1.0.0-0.20060102150405-hash\" invalid: version before v1.0.0 would have negative patch number")),
        ("v0.0.0-20060102150405-hash+incompatible", Err("pseudo-version \"v0.0.0-20060102150405-hash+incompatible\" invalid: lacks base version, but has build metadata \"+incompatible\"")),
        ("v0.0.0-20060102150405-hash+metadata", Err("pseudo-version \"v0.0.0-20060102150405-hash+metadata\" invalid: lacks base version, but has build metadata \"+metadata\"")),
    ];

    /// x/mod's TestIncDecimal.
    const INC_DECIMAL: &[(&str, &str)] = &[
        ("0", "1"),
        ("1", "2"),
        ("99", "100"),
        ("100", "101"),
        ("101", "102"),
    ];

    /// x/mod's TestDecDecimal.
    const DEC_DECIMAL: &[(&str, &str)] = &[
        ("", ""),
        ("0", ""),
        ("00", ""),
        ("1", "0"),
        ("2", "1"),
        ("99", "98"),
        ("100", "99"),
        ("101", "100"),
    ];

    /// Pseudo-versions and near misses, with go 1.23's results:
    /// (v, is_pseudo_version, is_zero_pseudo_version, time as RFC 3339, rev, base).
    /// Includes the pseudo-versions and tags of cmd/go/internal/modfetch's
    /// coderepo_test.go.
    #[rustfmt::skip]
    const PSEUDO_EXTRA: &[(&str, bool, bool, Outcome, Outcome, Outcome)] = &[
        ("v0.0.0-20060102150405-hash", true, false, Ok("2006-01-02T15:04:05Z"), Ok("hash"), Ok("")),
        ("v0.0.1-0.20060102150405-hash", true, false, Ok("2006-01-02T15:04:05Z"), Ok("hash"), Ok("v0.0.0")),
        ("v1.2.3-pre.0.20060102150405-hash", true, false, Ok("2006-01-02T15:04:05Z"), Ok("hash"), Ok("v1.2.3-pre")),
        ("v1.0.1-0.20060102150405-hash+metadata", true, false, Ok("2006-01-02T15:04:05Z"), Ok("hash"), Ok("v1.0.0+metadata")),
        ("v2.0.1-0.20060102150405-hash+incompatible", true, false, Ok("2006-01-02T15:04:05Z"), Ok("hash"), Ok("v2.0.0+incompatible")),
        ("v2.3.0-pre.0.20060102150405-hash+incompatible", true, false, Ok("2006-01-02T15:04:05Z"), Ok("hash"), Ok("v2.3.0-pre+incompatible")),
        ("v0.0.0", false, false, Err("pseudo-version \"v0.0.0\" invalid: syntax error"), Err("pseudo-version \"v0.0.0\" invalid: syntax error"), Err("pseudo-version \"v0.0.0\" invalid: syntax error")),
        ("v0.0.0-", false, false, Err("pseudo-version \"v0.0.0-\" invalid: syntax error"), Err("pseudo-version \"v0.0.0-\" invalid: syntax error"), Err("pseudo-version \"v0.0.0-\" invalid: syntax error")),
        ("v0.0.0-0.20060102150405-hash", true, false, Ok("2006-01-02T15:04:05Z"), Ok("hash"), Err("pseudo-version \"v0.0.0-0.20060102150405-hash\" invalid: version before v0.0.0 would have negative patch number")),
        ("v0.1.0-0.20060102150405-hash", true, false, Ok("2006-01-02T15:04:05Z"), Ok("hash"), Err("pseudo-version \"v0.1.0-0.20060102150405-hash\" invalid: version before v0.1.0 would have negative patch number")),
        ("v1.0.0-0.20060102150405-hash", true, false, Ok("2006-01-02T15:04:05Z"), Ok("hash"), Err("pseudo-version \"v1.0.0-0.20060102150405-hash\" invalid: version before v1.0.0 would have negative patch number")),
        ("v0.0.0-20060102150405-hash+incompatible", true, false, Ok("2006-01-02T15:04:05Z"), Ok("hash"), Err("pseudo-version \"v0.0.0-20060102150405-hash+incompatible\" invalid: lacks base version, but has build metadata \"+incompatible\"")),
        ("v0.0.0-20060102150405-hash+metadata", true, false, Ok("2006-01-02T15:04:05Z"), Ok("hash"), Err("pseudo-version \"v0.0.0-20060102150405-hash+metadata\" invalid: lacks base version, but has build metadata \"+metadata\"")),
        ("---", false, false, Err("pseudo-version \"---\" invalid: syntax error"), Err("pseudo-version \"---\" invalid: syntax error"), Err("pseudo-version \"---\" invalid: syntax error")),
        ("v0.0.0-00010101000000-000000000000", true, true, Ok("0001-01-01T00:00:00Z"), Ok("000000000000"), Ok("")),
        ("v2.0.0-00010101000000-000000000000", true, true, Ok("0001-01-01T00:00:00Z"), Ok("000000000000"), Ok("")),
        ("v2.0.0-00010101000000-000000000000+incompatible", true, false, Ok("0001-01-01T00:00:00Z"), Ok("000000000000"), Err("pseudo-version \"v2.0.0-00010101000000-000000000000+incompatible\" invalid: lacks base version, but has build metadata \"+incompatible\"")),
        ("v0.0.0-00010101000000-000000000001", true, false, Ok("0001-01-01T00:00:00Z"), Ok("000000000001"), Ok("")),
        ("v0.0.0-20181313000000-abcdef123456", true, false, Err("pseudo-version \"v0.0.0-20181313000000-abcdef123456\" invalid: malformed time \"20181313000000\""), Ok("abcdef123456"), Ok("")),
        ("v0.0.0-20180230000000-abcdef123456", true, false, Err("pseudo-version \"v0.0.0-20180230000000-abcdef123456\" invalid: malformed time \"20180230000000\""), Ok("abcdef123456"), Ok("")),
        ("v0.0.0-20200229000000-abcdef123456", true, false, Ok("2020-02-29T00:00:00Z"), Ok("abcdef123456"), Ok("")),
        ("v0.0.0-21000229000000-abcdef123456", true, false, Err("pseudo-version \"v0.0.0-21000229000000-abcdef123456\" invalid: malformed time \"21000229000000\""), Ok("abcdef123456"), Ok("")),
        ("v0.0.0-20000229235959-abcdef123456", true, false, Ok("2000-02-29T23:59:59Z"), Ok("abcdef123456"), Ok("")),
        ("v0.0.0-20000229240000-abcdef123456", true, false, Err("pseudo-version \"v0.0.0-20000229240000-abcdef123456\" invalid: malformed time \"20000229240000\""), Ok("abcdef123456"), Ok("")),
        ("v0.0.0-20000229236000-abcdef123456", true, false, Err("pseudo-version \"v0.0.0-20000229236000-abcdef123456\" invalid: malformed time \"20000229236000\""), Ok("abcdef123456"), Ok("")),
        ("v0.0.0-20000229235960-abcdef123456", true, false, Err("pseudo-version \"v0.0.0-20000229235960-abcdef123456\" invalid: malformed time \"20000229235960\""), Ok("abcdef123456"), Ok("")),
        ("v0.0.0-00000101000000-abcdef123456", true, false, Ok("0000-01-01T00:00:00Z"), Ok("abcdef123456"), Ok("")),
        ("v0.0.0-99991231235959-abcdef123456", true, false, Ok("9999-12-31T23:59:59Z"), Ok("abcdef123456"), Ok("")),
        ("v0.0.0-20000000000000-abcdef123456", true, false, Err("pseudo-version \"v0.0.0-20000000000000-abcdef123456\" invalid: malformed time \"20000000000000\""), Ok("abcdef123456"), Ok("")),
        ("v0.0.0-2006010215040-hash", false, false, Err("pseudo-version \"v0.0.0-2006010215040-hash\" invalid: syntax error"), Err("pseudo-version \"v0.0.0-2006010215040-hash\" invalid: syntax error"), Err("pseudo-version \"v0.0.0-2006010215040-hash\" invalid: syntax error")),
        ("v0.0.0-200601021504055-hash", false, false, Err("pseudo-version \"v0.0.0-200601021504055-hash\" invalid: syntax error"), Err("pseudo-version \"v0.0.0-200601021504055-hash\" invalid: syntax error"), Err("pseudo-version \"v0.0.0-200601021504055-hash\" invalid: syntax error")),
        ("v0.0.0-20060102150405-", false, false, Err("pseudo-version \"v0.0.0-20060102150405-\" invalid: syntax error"), Err("pseudo-version \"v0.0.0-20060102150405-\" invalid: syntax error"), Err("pseudo-version \"v0.0.0-20060102150405-\" invalid: syntax error")),
        ("v0.0.0-20060102150405-ab_c", false, false, Err("pseudo-version \"v0.0.0-20060102150405-ab_c\" invalid: syntax error"), Err("pseudo-version \"v0.0.0-20060102150405-ab_c\" invalid: syntax error"), Err("pseudo-version \"v0.0.0-20060102150405-ab_c\" invalid: syntax error")),
        ("v0.0.0-20060102150405-abc-def", false, false, Err("pseudo-version \"v0.0.0-20060102150405-abc-def\" invalid: syntax error"), Err("pseudo-version \"v0.0.0-20060102150405-abc-def\" invalid: syntax error"), Err("pseudo-version \"v0.0.0-20060102150405-abc-def\" invalid: syntax error")),
        ("v1.2.3-pre.1.0.20060102150405-hash", true, false, Ok("2006-01-02T15:04:05Z"), Ok("hash"), Ok("v1.2.3-pre.1")),
        ("v1.2.3-0.0.20060102150405-hash", true, false, Ok("2006-01-02T15:04:05Z"), Ok("hash"), Ok("v1.2.3-0")),
        ("v1.2.3-pre.00.20060102150405-hash", false, false, Err("pseudo-version \"v1.2.3-pre.00.20060102150405-hash\" invalid: syntax error"), Err("pseudo-version \"v1.2.3-pre.00.20060102150405-hash\" invalid: syntax error"), Err("pseudo-version \"v1.2.3-pre.00.20060102150405-hash\" invalid: syntax error")),
        ("v1.2.3-20060102150405-hash", false, false, Err("pseudo-version \"v1.2.3-20060102150405-hash\" invalid: syntax error"), Err("pseudo-version \"v1.2.3-20060102150405-hash\" invalid: syntax error"), Err("pseudo-version \"v1.2.3-20060102150405-hash\" invalid: syntax error")),
        ("v1.2.3-x.20060102150405-hash", false, false, Err("pseudo-version \"v1.2.3-x.20060102150405-hash\" invalid: syntax error"), Err("pseudo-version \"v1.2.3-x.20060102150405-hash\" invalid: syntax error"), Err("pseudo-version \"v1.2.3-x.20060102150405-hash\" invalid: syntax error")),
        ("v1.10.0-0.20060102150405-hash", true, false, Ok("2006-01-02T15:04:05Z"), Ok("hash"), Err("pseudo-version \"v1.10.0-0.20060102150405-hash\" invalid: version before v1.10.0 would have negative patch number")),
        ("v1.2.10-0.20060102150405-hash", true, false, Ok("2006-01-02T15:04:05Z"), Ok("hash"), Ok("v1.2.9")),
        ("v1.2.100-0.20060102150405-hash", true, false, Ok("2006-01-02T15:04:05Z"), Ok("hash"), Ok("v1.2.99")),
        ("v1.0.0-20060102150405-hash", true, false, Ok("2006-01-02T15:04:05Z"), Ok("hash"), Ok("")),
        ("v1.1.0-20060102150405-hash", false, false, Err("pseudo-version \"v1.1.0-20060102150405-hash\" invalid: syntax error"), Err("pseudo-version \"v1.1.0-20060102150405-hash\" invalid: syntax error"), Err("pseudo-version \"v1.1.0-20060102150405-hash\" invalid: syntax error")),
        ("v0.0.0-20180219231006-80d85c5d4d17", true, false, Ok("2018-02-19T23:10:06Z"), Ok("80d85c5d4d17"), Ok("")),
        ("v0.0.1-0.20180219231006-80d85c5d4d17", true, false, Ok("2018-02-19T23:10:06Z"), Ok("80d85c5d4d17"), Ok("v0.0.0")),
        ("v0.1.1-0.20220223184835-9d863d525bbf", true, false, Ok("2022-02-23T18:48:35Z"), Ok("9d863d525bbf"), Ok("v0.1.0")),
        ("v0.3.1-0.20180208041248-4e4a3210bb54", true, false, Ok("2018-02-08T04:12:48Z"), Ok("4e4a3210bb54"), Ok("v0.3.0")),
        ("v1.0.0-20161208181325-20d25e280405", true, false, Ok("2016-12-08T18:13:25Z"), Ok("20d25e280405"), Ok("")),
        ("v1.0.1-0.20190715211727-b325d8217783", true, false, Ok("2019-07-15T21:17:27Z"), Ok("b325d8217783"), Ok("v1.0.0")),
        ("v2.0.0-20170531160350-a96e63847dc3", true, false, Ok("2017-05-31T16:03:50Z"), Ok("a96e63847dc3"), Ok("")),
        ("v2.0.1-0.20220222205507-80beb17a1603+incompatible", true, false, Ok("2022-02-22T20:55:07Z"), Ok("80beb17a1603"), Ok("v2.0.0+incompatible")),
        ("v2.0.1-0.20220223184802-12d19af20458+incompatible", true, false, Ok("2022-02-23T18:48:02Z"), Ok("12d19af20458"), Ok("v2.0.0+incompatible")),
        ("v3.0.0-20220223184802-12d19af20458", true, false, Ok("2022-02-23T18:48:02Z"), Ok("12d19af20458"), Ok("")),
        ("v3.0.0-20220223184802-12d19af20458+incompatible", true, false, Ok("2022-02-23T18:48:02Z"), Ok("12d19af20458"), Err("pseudo-version \"v3.0.0-20220223184802-12d19af20458+incompatible\" invalid: lacks base version, but has build metadata \"+incompatible\"")),
        ("v54321.0.0-20180219231006-80d85c5d4d17", true, false, Ok("2018-02-19T23:10:06Z"), Ok("80d85c5d4d17"), Ok("")),
        ("v3.0.0-devel", false, false, Err("pseudo-version \"v3.0.0-devel\" invalid: syntax error"), Err("pseudo-version \"v3.0.0-devel\" invalid: syntax error"), Err("pseudo-version \"v3.0.0-devel\" invalid: syntax error")),
        ("v1.2.4-annotated", false, false, Err("pseudo-version \"v1.2.4-annotated\" invalid: syntax error"), Err("pseudo-version \"v1.2.4-annotated\" invalid: syntax error"), Err("pseudo-version \"v1.2.4-annotated\" invalid: syntax error")),
        ("v0.1.0+build-metadata", false, false, Err("pseudo-version \"v0.1.0+build-metadata\" invalid: syntax error"), Err("pseudo-version \"v0.1.0+build-metadata\" invalid: syntax error"), Err("pseudo-version \"v0.1.0+build-metadata\" invalid: syntax error")),
        ("v1.0.0-20060102150405-hash+a.b-c", true, false, Ok("2006-01-02T15:04:05Z"), Ok("hash"), Err("pseudo-version \"v1.0.0-20060102150405-hash+a.b-c\" invalid: lacks base version, but has build metadata \"+a.b-c\"")),
        ("v1.0.0-20060102150405-hash+a..b", false, false, Err("pseudo-version \"v1.0.0-20060102150405-hash+a..b\" invalid: syntax error"), Err("pseudo-version \"v1.0.0-20060102150405-hash+a..b\" invalid: syntax error"), Err("pseudo-version \"v1.0.0-20060102150405-hash+a..b\" invalid: syntax error")),
        ("v1.0.0-20060102150405-hash+", false, false, Err("pseudo-version \"v1.0.0-20060102150405-hash+\" invalid: syntax error"), Err("pseudo-version \"v1.0.0-20060102150405-hash+\" invalid: syntax error"), Err("pseudo-version \"v1.0.0-20060102150405-hash+\" invalid: syntax error")),
        ("v1.0.0-rc+1.0.20060102150405-hash", false, false, Err("pseudo-version \"v1.0.0-rc+1.0.20060102150405-hash\" invalid: syntax error"), Err("pseudo-version \"v1.0.0-rc+1.0.20060102150405-hash\" invalid: syntax error"), Err("pseudo-version \"v1.0.0-rc+1.0.20060102150405-hash\" invalid: syntax error")),
        ("v1.0.0-a.b+c.0.20060102150405-hash", false, false, Err("pseudo-version \"v1.0.0-a.b+c.0.20060102150405-hash\" invalid: syntax error"), Err("pseudo-version \"v1.0.0-a.b+c.0.20060102150405-hash\" invalid: syntax error"), Err("pseudo-version \"v1.0.0-a.b+c.0.20060102150405-hash\" invalid: syntax error")),
        ("v01.0.0-20060102150405-hash", false, false, Err("pseudo-version \"v01.0.0-20060102150405-hash\" invalid: syntax error"), Err("pseudo-version \"v01.0.0-20060102150405-hash\" invalid: syntax error"), Err("pseudo-version \"v01.0.0-20060102150405-hash\" invalid: syntax error")),
        ("v1.0-20060102150405-hash", false, false, Err("pseudo-version \"v1.0-20060102150405-hash\" invalid: syntax error"), Err("pseudo-version \"v1.0-20060102150405-hash\" invalid: syntax error"), Err("pseudo-version \"v1.0-20060102150405-hash\" invalid: syntax error")),
        ("V1.0.0-20060102150405-hash", false, false, Err("pseudo-version \"V1.0.0-20060102150405-hash\" invalid: syntax error"), Err("pseudo-version \"V1.0.0-20060102150405-hash\" invalid: syntax error"), Err("pseudo-version \"V1.0.0-20060102150405-hash\" invalid: syntax error")),
        ("v1.0.0-x.y.0.20060102150405-hash", true, false, Ok("2006-01-02T15:04:05Z"), Ok("hash"), Ok("v1.0.0-x.y")),
        ("v1.0.0-0.20060102150405-HASH", true, false, Ok("2006-01-02T15:04:05Z"), Ok("HASH"), Err("pseudo-version \"v1.0.0-0.20060102150405-HASH\" invalid: version before v1.0.0 would have negative patch number")),
        ("v0.0.0-20060102150405-hash-more", false, false, Err("pseudo-version \"v0.0.0-20060102150405-hash-more\" invalid: syntax error"), Err("pseudo-version \"v0.0.0-20060102150405-hash-more\" invalid: syntax error"), Err("pseudo-version \"v0.0.0-20060102150405-hash-more\" invalid: syntax error")),
        ("", false, false, Err("pseudo-version \"\" invalid: syntax error"), Err("pseudo-version \"\" invalid: syntax error"), Err("pseudo-version \"\" invalid: syntax error")),
    ];

    /// More `pseudo_version` cases: (major, older, time "yyyymmddhhmmss", rev, want).
    #[rustfmt::skip]
    const PSEUDO_VERSION_EXTRA: &[(&str, &str, &str, &str, &str)] = &[
        ("v3", "bad", "20220223184802", "12d19af20458", "v3.0.0-20220223184802-12d19af20458"),
        ("v1", "v1.2", "20180219231006", "80d85c5d4d17", "v1.2.1-0.20180219231006-80d85c5d4d17"),
        ("v1", "v1", "20180219231006", "80d85c5d4d17", "v1.0.1-0.20180219231006-80d85c5d4d17"),
        ("v1", "v1.2.9", "20180219231006", "80d85c5d4d17", "v1.2.10-0.20180219231006-80d85c5d4d17"),
        ("v1", "v1.2.19", "20180219231006", "80d85c5d4d17", "v1.2.20-0.20180219231006-80d85c5d4d17"),
        ("v1", "v1.2.3+incompatible.x", "20180219231006", "80d85c5d4d17", "v1.2.4-0.20180219231006-80d85c5d4d17+incompatible.x"),
        ("v1", "v1.2.3-rc.1+meta", "20180219231006", "80d85c5d4d17", "v1.2.3-rc.1.0.20180219231006-80d85c5d4d17+meta"),
        ("v0", "", "00010101000000", "000000000000", "v0.0.0-00010101000000-000000000000"),
        ("v0", "", "00000101000000", "000000000000", "v0.0.0-00000101000000-000000000000"),
        ("v0", "", "99991231235959", "abc", "v0.0.0-99991231235959-abc"),
        ("v2", "", "20000229120000", "abcdef123456", "v2.0.0-20000229120000-abcdef123456"),
    ];

    #[test]
    fn pseudo_version_table() {
        for &(major, older, want) in PSEUDO_TESTS {
            assert_eq!(
                pseudo_version(major, older, PSEUDO_TIME, "hash"),
                want,
                "{major:?} {older:?}"
            );
        }
    }

    #[test]
    fn is_pseudo_version_table() {
        for &(_, older, version) in PSEUDO_TESTS {
            assert!(is_pseudo_version(version), "{version:?}");
            assert!(!is_pseudo_version(older), "{older:?}");
        }
    }

    #[test]
    fn pseudo_version_time_table() {
        for &(_, older, version) in PSEUDO_TESTS {
            assert_eq!(pseudo_version_time(version), Ok(PSEUDO_TIME), "{version:?}");
            assert_eq!(
                outcome(pseudo_version_time(older)),
                Err(format!(
                    "pseudo-version {} invalid: syntax error",
                    quote(older)
                )),
            );
        }
    }

    #[test]
    fn invalid_pseudo_version_time() {
        assert_eq!(
            outcome(pseudo_version_time("---")),
            Err("pseudo-version \"---\" invalid: syntax error".to_string())
        );
    }

    #[test]
    fn pseudo_version_rev_table() {
        for &(_, older, version) in PSEUDO_TESTS {
            assert_eq!(
                pseudo_version_rev(version),
                Ok("hash".to_string()),
                "{version:?}"
            );
            assert_eq!(
                outcome(pseudo_version_rev(older)),
                Err(format!(
                    "pseudo-version {} invalid: syntax error",
                    quote(older)
                )),
            );
        }
    }

    #[test]
    fn pseudo_version_base_table() {
        for &(_, older, version) in PSEUDO_TESTS {
            assert_eq!(
                pseudo_version_base(version),
                Ok(older.to_string()),
                "{version:?}"
            );
        }
    }

    #[test]
    fn invalid_pseudo_version_base() {
        for &(v, want) in INVALID_PSEUDO_BASE {
            assert_eq!(outcome(pseudo_version_base(v)), owned(want), "{v:?}");
        }
    }

    #[test]
    fn inc_decimal_table() {
        for &(input, want) in INC_DECIMAL {
            assert_eq!(inc_decimal(input), want, "inc_decimal({input:?})");
        }
    }

    #[test]
    fn dec_decimal_table() {
        for &(input, want) in DEC_DECIMAL {
            assert_eq!(dec_decimal(input), want, "dec_decimal({input:?})");
        }
    }

    #[test]
    fn pseudo_extra_table() {
        for &(v, is_pseudo, is_zero, time, rev, base) in PSEUDO_EXTRA {
            assert_eq!(is_pseudo_version(v), is_pseudo, "is_pseudo_version({v:?})");
            assert_eq!(
                is_zero_pseudo_version(v),
                is_zero,
                "is_zero_pseudo_version({v:?})"
            );
            let got = pseudo_version_time(v).map(Timestamp::format_rfc3339);
            assert_eq!(outcome(got), owned(time), "pseudo_version_time({v:?})");
            assert_eq!(
                outcome(pseudo_version_rev(v)),
                owned(rev),
                "pseudo_version_rev({v:?})"
            );
            assert_eq!(
                outcome(pseudo_version_base(v)),
                owned(base),
                "pseudo_version_base({v:?})"
            );
        }
    }

    #[test]
    fn pseudo_version_extra() {
        for &(major, older, time, rev, want) in PSEUDO_VERSION_EXTRA {
            let Some(t) = Timestamp::parse_pseudo(time) else {
                panic!("bad time {time:?} in table");
            };
            assert_eq!(
                pseudo_version(major, older, t, rev),
                want,
                "{major:?} {older:?} {time:?}"
            );
        }
    }

    #[test]
    fn zero_pseudo_versions() {
        let cases: &[(&str, &str)] = &[
            ("", "v0.0.0-00010101000000-000000000000"),
            ("v0", "v0.0.0-00010101000000-000000000000"),
            ("v1", "v1.0.0-00010101000000-000000000000"),
            ("v2", "v2.0.0-00010101000000-000000000000"),
        ];
        for &(major, want) in cases {
            assert_eq!(zero_pseudo_version(major), want);
            assert!(is_zero_pseudo_version(want));
        }
        assert!(!is_zero_pseudo_version(""));
        assert!(!is_zero_pseudo_version("v1.0.0"));
    }

    #[test]
    fn timestamp_conversions() {
        // (unix seconds, "yyyymmddhhmmss", RFC 3339), values from Go's time package.
        let cases: &[(i64, &str, &str)] = &[
            (0, "19700101000000", "1970-01-01T00:00:00Z"),
            (1_136_214_245, "20060102150405", "2006-01-02T15:04:05Z"),
            (-62_135_596_800, "00010101000000", "0001-01-01T00:00:00Z"),
            (-62_167_219_200, "00000101000000", "0000-01-01T00:00:00Z"),
            (253_402_300_799, "99991231235959", "9999-12-31T23:59:59Z"),
            (951_868_799, "20000229235959", "2000-02-29T23:59:59Z"),
            (1_582_934_400, "20200229000000", "2020-02-29T00:00:00Z"),
            (-1, "19691231235959", "1969-12-31T23:59:59Z"),
            (4_107_542_400, "21000301000000", "2100-03-01T00:00:00Z"),
        ];
        for &(unix, pseudo, rfc) in cases {
            let t = Timestamp::from_unix(unix);
            assert_eq!(t.format_pseudo(), pseudo, "{unix}");
            assert_eq!(t.format_rfc3339(), rfc, "{unix}");
            assert_eq!(t.to_string(), rfc, "{unix}");
            assert_eq!(Timestamp::parse_pseudo(pseudo), Some(t), "{pseudo}");
        }
        // Years outside 0..=9999 format as Go's appendInt(year, 4) does.
        assert_eq!(
            Timestamp::from_unix(-62_167_219_201).format_rfc3339(),
            "-0001-12-31T23:59:59Z"
        );
        assert_eq!(
            Timestamp::from_unix(253_402_300_800).format_pseudo(),
            "100000101000000"
        );
        assert_eq!(Timestamp::default(), Timestamp::ZERO);
        assert_eq!(Timestamp::ZERO.format_rfc3339(), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn timestamp_parse_rejects() {
        for s in [
            "",
            "2006010215040",
            "200601021504050",
            "2006-1-02150405",
            "20061302150405",
            "20060002150405",
            "20060100150405",
            "20060132150405",
            "20060230150405",
            "21000229000000",
            "20060102240000",
            "20060102156000",
            "20060102150460",
            "+0060102150405",
            "2006010215040\u{0665}",
        ] {
            assert_eq!(Timestamp::parse_pseudo(s), None, "{s:?}");
        }
    }

    #[test]
    fn timestamp_civil() {
        assert_eq!(
            Timestamp::from_civil(2006, 1, 2, 15, 4, 5),
            Some(PSEUDO_TIME)
        );
        assert_eq!(PSEUDO_TIME.to_civil(), (2006, 1, 2, 15, 4, 5));
        assert_eq!(Timestamp::from_civil(2006, 2, 29, 0, 0, 0), None);
        assert_eq!(Timestamp::from_civil(i64::MAX, 1, 1, 0, 0, 0), None);
        assert_eq!(Timestamp::from_civil(i64::MIN, 1, 1, 0, 0, 0), None);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use crate::module::canonical_version;
    use proptest::prelude::*;

    /// Instants in years 0000 through 9999, the range the pseudo-version form holds.
    fn instant() -> impl Strategy<Value = Timestamp> {
        (-62_167_219_200i64..=253_402_300_799).prop_map(Timestamp::from_unix)
    }

    proptest! {
        #[test]
        fn timestamp_round_trip(t in instant()) {
            prop_assert_eq!(Timestamp::parse_pseudo(&t.format_pseudo()), Some(t));
            let (y, mo, d, h, mi, s) = t.to_civil();
            prop_assert_eq!(Timestamp::from_civil(y, mo, d, h, mi, s), Some(t));
        }

        #[test]
        fn pseudo_version_parts(
            major in "v(0|[1-9][0-9]?)",
            older in "|v(0|[1-9][0-9]?)\\.(0|[1-9][0-9]?)\\.(0|[1-9]9?)(-[a-z0-9]{1,3})?(\\+incompatible|\\+meta)?",
            t in instant(),
            rev in "[0-9a-f]{12}",
        ) {
            let v = pseudo_version(&major, &older, t, &rev);
            prop_assert!(is_pseudo_version(&v), "{}", v);
            prop_assert_eq!(pseudo_version_time(&v), Ok(t));
            prop_assert_eq!(pseudo_version_rev(&v), Ok(rev));
            if semver::is_valid(&older) {
                prop_assert_eq!(pseudo_version_base(&v), Ok(format!("{}{}", semver::canonical(&older), semver::build(&older))));
                prop_assert_eq!(semver::compare(&v, &older), std::cmp::Ordering::Greater);
                prop_assert_eq!(canonical_version(&v), format!("{}{}", semver::canonical(&v), if semver::build(&older) == "+incompatible" { "+incompatible" } else { "" }));
            } else {
                prop_assert_eq!(pseudo_version_base(&v), Ok(String::new()));
            }
        }

        #[test]
        fn never_panics(s in any::<String>(), n in any::<i64>()) {
            let _ = (is_pseudo_version(&s), is_zero_pseudo_version(&s), zero_pseudo_version(&s));
            let _ = (pseudo_version_time(&s), pseudo_version_rev(&s), pseudo_version_base(&s));
            let t = Timestamp::from_unix(n);
            let _ = (t.format_pseudo(), t.format_rfc3339(), t.to_civil(), Timestamp::parse_pseudo(&s));
            let _ = pseudo_version(&s, &s, t, &s);
        }

        #[test]
        fn pseudo_like_never_panics(s in "v[0-9]\\.[0-9]\\.[0-9]-[0-9a-z.+-]{0,30}") {
            let _ = (pseudo_version_time(&s), pseudo_version_rev(&s), pseudo_version_base(&s));
        }
    }
}
