//! What the cache checks in the source's answers before it stores them.

use gomod::module;

use super::{CacheError, Inner};
use crate::source::{Info, SourceError};

/// Is `v` a canonical semantic version (what `@v/<v>.mod` and `.zip` require)?
pub fn is_canonical(v: &str) -> bool {
    !v.is_empty() && module::canonical_version(v) == v
}

/// Checks an `.info` answer: a canonical version (equal to `query` when that is a
/// canonical version valid for the module) and an RFC 3339 time.
pub(super) fn check_info(
    inner: &Inner,
    module: &str,
    query: Option<&str>,
    info: &Info,
) -> Result<(), CacheError> {
    let bad = |why: String| {
        CacheError::Source(SourceError::Failed(format!(
            "{}: {module}@{}: invalid .info ({why}); not stored",
            inner.source.describe(),
            query.unwrap_or("latest")
        )))
    };
    if !is_canonical(&info.version) {
        return Err(bad(format!("version {:?} is not canonical", info.version)));
    }
    if let Some(q) = query {
        if is_canonical(q) && info.version != q && module::check(module, q).is_ok() {
            return Err(bad(format!(
                "the upstream returned version {} instead of the requested {q}",
                info.version
            )));
        }
    }
    if module::check(module, &info.version).is_err() {
        return Err(bad(format!(
            "version {} is not valid for module {module}",
            info.version
        )));
    }
    if !looks_rfc3339(&info.time) {
        return Err(bad(format!("time {:?} is not RFC 3339", info.time)));
    }
    Ok(())
}

/// `2006-01-02T15:04:05` followed by optional fraction and a zone (`Z` or `±hh:mm`).
fn looks_rfc3339(t: &str) -> bool {
    let b = t.as_bytes();
    if b.len() < 20 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19))
    {
        return false;
    }
    let mut rest = &t[19..];
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &r[n..];
    }
    rest == "Z"
        || (rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && rest.as_bytes()[3] == b':'
            && rest[1..3].bytes().all(|c| c.is_ascii_digit())
            && rest[4..6].bytes().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times() {
        assert!(looks_rfc3339("2019-01-02T03:04:05Z"));
        assert!(looks_rfc3339("2019-01-02T03:04:05.123Z"));
        assert!(looks_rfc3339("2019-01-02T03:04:05+01:00"));
        assert!(!looks_rfc3339("2019-01-02 03:04:05Z"));
        assert!(!looks_rfc3339("2019-01-02T03:04:05"));
        assert!(!looks_rfc3339(""));
    }

    #[test]
    fn canonical_versions() {
        assert!(is_canonical("v1.2.3"));
        assert!(is_canonical("v2.0.0+incompatible"));
        assert!(is_canonical("v0.0.0-20190101000000-abcdefabcdef"));
        assert!(!is_canonical("v1.2"));
        assert!(!is_canonical("master"));
        assert!(!is_canonical("v1.2.3+meta"));
        assert!(!is_canonical(""));
    }
}
