//! Semantic versions as the go command orders them (golang.org/x/mod/semver).
//!
//! Versions carry a leading `v`: `vMAJOR[.MINOR[.PATCH[-PRERELEASE][+BUILD]]]`.
//! `vMAJOR` and `vMAJOR.MINOR` (with neither prerelease nor build) are shorthands for
//! `vMAJOR.0.0` and `vMAJOR.MINOR.0`. Numbers have no leading zeros; prerelease and
//! build are dot-separated non-empty identifiers over `[0-9A-Za-z-]`, and numeric
//! prerelease identifiers have no leading zeros either.
//!
//! Functions that return a string return `""` for an invalid version, as Go does.

use std::cmp::Ordering;

/// The pieces of a valid version, borrowed from the input.
#[derive(Debug, Default, Clone, Copy)]
struct Parsed<'a> {
    major: &'a str,
    minor: &'a str,
    patch: &'a str,
    /// What canonicalisation appends for a shorthand (`".0.0"`, `".0"` or `""`).
    short: &'static str,
    prerelease: &'a str,
    build: &'a str,
}

fn parse(v: &str) -> Option<Parsed<'_>> {
    let rest = v.strip_prefix('v')?;
    let mut p = Parsed::default();
    let (major, rest) = parse_int(rest)?;
    p.major = major;
    if rest.is_empty() {
        p.minor = "0";
        p.patch = "0";
        p.short = ".0.0";
        return Some(p);
    }
    let rest = rest.strip_prefix('.')?;
    let (minor, rest) = parse_int(rest)?;
    p.minor = minor;
    if rest.is_empty() {
        p.patch = "0";
        p.short = ".0";
        return Some(p);
    }
    let rest = rest.strip_prefix('.')?;
    let (patch, mut rest) = parse_int(rest)?;
    p.patch = patch;
    if rest.starts_with('-') {
        let (pre, r) = parse_prerelease(rest)?;
        p.prerelease = pre;
        rest = r;
    }
    if rest.starts_with('+') {
        let (build, r) = parse_build(rest)?;
        p.build = build;
        rest = r;
    }
    if !rest.is_empty() {
        return None;
    }
    Some(p)
}

/// Splits a leading decimal number (no extra leading zeros) off `v`.
fn parse_int(v: &str) -> Option<(&str, &str)> {
    let b = v.as_bytes();
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || (b[0] == b'0' && n != 1) {
        return None;
    }
    // The first n bytes are ASCII digits, so n is a char boundary.
    Some(v.split_at(n))
}

/// Splits `-PRERELEASE` off `v` (up to a `+` or the end).
fn parse_prerelease(v: &str) -> Option<(&str, &str)> {
    let b = v.as_bytes();
    if b.first() != Some(&b'-') {
        return None;
    }
    let mut i = 1;
    let mut start = 1;
    while i < b.len() && b[i] != b'+' {
        let c = b[i];
        if !is_ident_char(c) && c != b'.' {
            return None;
        }
        if c == b'.' {
            if start == i || is_bad_num(&b[start..i]) {
                return None;
            }
            start = i + 1;
        }
        i += 1;
    }
    if start == i || is_bad_num(&b[start..i]) {
        return None;
    }
    // b[..i] is ASCII (or i stops at the ASCII '+'), so i is a char boundary.
    Some(v.split_at(i))
}

/// Splits `+BUILD` off `v`; the build runs to the end of `v`.
fn parse_build(v: &str) -> Option<(&str, &str)> {
    let b = v.as_bytes();
    if b.first() != Some(&b'+') {
        return None;
    }
    let mut start = 1;
    for (i, &c) in b.iter().enumerate().skip(1) {
        if !is_ident_char(c) && c != b'.' {
            return None;
        }
        if c == b'.' {
            if start == i {
                return None;
            }
            start = i + 1;
        }
    }
    if start == b.len() {
        return None;
    }
    Some((v, ""))
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// An all-digit identifier with a leading zero (and more than one digit).
fn is_bad_num(v: &[u8]) -> bool {
    v.len() > 1 && v[0] == b'0' && v.iter().all(u8::is_ascii_digit)
}

fn is_num(v: &str) -> bool {
    v.bytes().all(|c| c.is_ascii_digit())
}

/// Reports whether `v` is a valid semantic version string.
pub fn is_valid(v: &str) -> bool {
    parse(v).is_some()
}

/// Returns the canonical form of `v`: missing `.MINOR` / `.PATCH` filled in, build
/// metadata dropped. Two versions compare equal exactly when their canonical forms are
/// identical. Returns `""` for an invalid version.
pub fn canonical(v: &str) -> String {
    let Some(p) = parse(v) else {
        return String::new();
    };
    if !p.build.is_empty() {
        return v[..v.len() - p.build.len()].to_string();
    }
    let mut s = v.to_string();
    s.push_str(p.short);
    s
}

/// Returns the major version prefix of `v` (`"v2"` for `"v2.1.0"`), or `""` if `v` is
/// invalid.
pub fn major(v: &str) -> String {
    match parse(v) {
        Some(p) => v[..1 + p.major.len()].to_string(),
        None => String::new(),
    }
}

/// Returns the `vMAJOR.MINOR` prefix of `v` (`"v2.1"` for `"v2.1.0"`, `"v2.0"` for
/// `"v2"`), or `""` if `v` is invalid.
pub fn major_minor(v: &str) -> String {
    let Some(p) = parse(v) else {
        return String::new();
    };
    let i = 1 + p.major.len();
    let j = i + 1 + p.minor.len();
    if j <= v.len() && v.as_bytes().get(i) == Some(&b'.') && v.get(i + 1..j) == Some(p.minor) {
        return v[..j].to_string();
    }
    format!("{}.{}", &v[..i], p.minor)
}

/// Returns the prerelease suffix of `v` including its `-` (`"-pre"` for
/// `"v2.1.0-pre+meta"`), or `""` if there is none or `v` is invalid.
pub fn prerelease(v: &str) -> String {
    parse(v)
        .map(|p| p.prerelease.to_string())
        .unwrap_or_default()
}

/// Returns the build suffix of `v` including its `+` (`"+meta"` for `"v2.1.0+meta"`),
/// or `""` if there is none or `v` is invalid.
pub fn build(v: &str) -> String {
    parse(v).map(|p| p.build.to_string()).unwrap_or_default()
}

/// Compares two versions by semantic version precedence.
///
/// An invalid version is less than any valid one, and all invalid versions are equal
/// to each other. Build metadata is ignored.
pub fn compare(v: &str, w: &str) -> Ordering {
    match (parse(v), parse(w)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(pv), Some(pw)) => compare_int(pv.major, pw.major)
            .then_with(|| compare_int(pv.minor, pw.minor))
            .then_with(|| compare_int(pv.patch, pw.patch))
            .then_with(|| compare_prerelease(pv.prerelease, pw.prerelease)),
    }
}

/// Returns whichever of `v` and `w` compares greater (`w` when they compare equal).
///
/// Deviation from Go's `semver.Max`: the argument is returned as given, not
/// canonicalised (the signature borrows from the inputs). Use [`max_canonical`] for
/// Go's exact result.
pub fn max<'a>(v: &'a str, w: &'a str) -> &'a str {
    if compare(v, w) == Ordering::Greater {
        v
    } else {
        w
    }
}

/// Exactly Go's `semver.Max`: canonicalises both arguments and returns the greater
/// canonical form (`""` when both are invalid).
pub fn max_canonical(v: &str, w: &str) -> String {
    let v = canonical(v);
    let w = canonical(w);
    if compare(&v, &w) == Ordering::Greater {
        v
    } else {
        w
    }
}

/// Sorts versions as Go's `semver.Sort`: by [`compare`], ties (including all invalid
/// versions, which come first) broken by plain string order.
pub fn sort(list: &mut [String]) {
    list.sort_by(|a, b| compare(a, b).then_with(|| a.cmp(b)));
}

/// Compares decimal strings without leading zeros.
fn compare_int(x: &str, y: &str) -> Ordering {
    x.len().cmp(&y.len()).then_with(|| x.cmp(y))
}

fn compare_prerelease(x: &str, y: &str) -> Ordering {
    if x == y {
        return Ordering::Equal;
    }
    if x.is_empty() {
        return Ordering::Greater;
    }
    if y.is_empty() {
        return Ordering::Less;
    }
    // Both start with '-'; identifiers are separated by '.'.
    let mut xs = x[1..].split('.');
    let mut ys = y[1..].split('.');
    loop {
        match (xs.next(), ys.next()) {
            (Some(dx), Some(dy)) => {
                if dx == dy {
                    continue;
                }
                let (ix, iy) = (is_num(dx), is_num(dy));
                if ix != iy {
                    return if ix {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    };
                }
                if ix {
                    return compare_int(dx, dy);
                }
                return dx.cmp(dy);
            }
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (None, None) => return Ordering::Equal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering::{Equal, Greater, Less};

    /// `tests` from x/mod semver_test.go: (input, canonical form or "" if invalid),
    /// listed in increasing order (entries with equal canonical forms are equal).
    #[rustfmt::skip]
    const TESTS: &[(&str, &str)] = &[
        ("bad", ""),
        ("v1-alpha.beta.gamma", ""),
        ("v1-pre", ""),
        ("v1+meta", ""),
        ("v1-pre+meta", ""),
        ("v1.2-pre", ""),
        ("v1.2+meta", ""),
        ("v1.2-pre+meta", ""),
        ("v1.0.0-alpha", "v1.0.0-alpha"),
        ("v1.0.0-alpha.1", "v1.0.0-alpha.1"),
        ("v1.0.0-alpha.beta", "v1.0.0-alpha.beta"),
        ("v1.0.0-beta", "v1.0.0-beta"),
        ("v1.0.0-beta.2", "v1.0.0-beta.2"),
        ("v1.0.0-beta.11", "v1.0.0-beta.11"),
        ("v1.0.0-rc.1", "v1.0.0-rc.1"),
        ("v1", "v1.0.0"),
        ("v1.0", "v1.0.0"),
        ("v1.0.0", "v1.0.0"),
        ("v1.2", "v1.2.0"),
        ("v1.2.0", "v1.2.0"),
        ("v1.2.3-456", "v1.2.3-456"),
        ("v1.2.3-456.789", "v1.2.3-456.789"),
        ("v1.2.3-456-789", "v1.2.3-456-789"),
        ("v1.2.3-456a", "v1.2.3-456a"),
        ("v1.2.3-pre", "v1.2.3-pre"),
        ("v1.2.3-pre+meta", "v1.2.3-pre"),
        ("v1.2.3-pre.1", "v1.2.3-pre.1"),
        ("v1.2.3-zzz", "v1.2.3-zzz"),
        ("v1.2.3", "v1.2.3"),
        ("v1.2.3+meta", "v1.2.3"),
        ("v1.2.3+meta-pre", "v1.2.3"),
        ("v1.2.3+meta-pre.sha.256a", "v1.2.3"),
    ];

    /// Extra cases, expected values printed by x/mod (go 1.23):
    /// (input, is_valid, canonical, major, major_minor, prerelease, build).
    #[rustfmt::skip]
    const EXTRA: &[(&str, bool, &str, &str, &str, &str, &str)] = &[
        ("v01", false, "", "", "", "", ""),
        ("v1.02", false, "", "", "", "", ""),
        ("v1.2.03", false, "", "", "", "", ""),
        ("v1.2.3-01", false, "", "", "", "", ""),
        ("v1.2.3-", false, "", "", "", "", ""),
        ("v1.2.3+", false, "", "", "", "", ""),
        ("v1.2.3-a..b", false, "", "", "", "", ""),
        ("v1.2.3+a..b", false, "", "", "", "", ""),
        ("v1.2.3-.a", false, "", "", "", "", ""),
        ("v1.2.3-a.", false, "", "", "", "", ""),
        ("1.2.3", false, "", "", "", "", ""),
        ("", false, "", "", "", "", ""),
        ("v", false, "", "", "", "", ""),
        ("v1.", false, "", "", "", "", ""),
        ("v1.2.", false, "", "", "", "", ""),
        ("v1.2.3.4", false, "", "", "", "", ""),
        ("v1.2.3-a_b", false, "", "", "", "", ""),
        ("V1.2.3", false, "", "", "", "", ""),
        ("v1.2.3-0", true, "v1.2.3-0", "v1", "v1.2", "-0", ""),
        ("v1.2.3-00", false, "", "", "", "", ""),
        ("v1.2.3+00", true, "v1.2.3", "v1", "v1.2", "", "+00"),
        ("v1.2.3-0a", true, "v1.2.3-0a", "v1", "v1.2", "-0a", ""),
        ("v1.2.3-01a", true, "v1.2.3-01a", "v1", "v1.2", "-01a", ""),
        ("v1.2.3-a-", true, "v1.2.3-a-", "v1", "v1.2", "-a-", ""),
        ("v1.2.3--", true, "v1.2.3--", "v1", "v1.2", "--", ""),
        ("v1.2.3+-", true, "v1.2.3", "v1", "v1.2", "", "+-"),
        ("v0", true, "v0.0.0", "v0", "v0.0", "", ""),
        ("v0.0", true, "v0.0.0", "v0", "v0.0", "", ""),
        ("v10.20.30", true, "v10.20.30", "v10", "v10.20", "", ""),
        ("v18446744073709551616.0.0", true, "v18446744073709551616.0.0", "v18446744073709551616", "v18446744073709551616.0", "", ""),
        ("v1.2.3-rc.1+build.5", true, "v1.2.3-rc.1", "v1", "v1.2", "-rc.1", "+build.5"),
        ("v1.2.3+build+more", false, "", "", "", "", ""),
        ("v1.2.3-é", false, "", "", "", "", ""),
        ("v1.2.3 ", false, "", "", "", "", ""),
        (" v1.2.3", false, "", "", "", "", ""),
        ("v2.0.0+incompatible", true, "v2.0.0", "v2", "v2.0", "", "+incompatible"),
        ("v1-0", false, "", "", "", "", ""),
        ("v1.2+incompatible", false, "", "", "", "", ""),
    ];

    /// Extra comparisons: (v, w, compare(v, w), Go's Max(v, w)).
    #[rustfmt::skip]
    const COMPARE_EXTRA: &[(&str, &str, Ordering, &str)] = &[
        ("v1.0.0-alpha", "v1.0.0-alpha.1", Less, "v1.0.0-alpha.1"),
        ("v1.0.0-alpha.1", "v1.0.0-alpha.beta", Less, "v1.0.0-alpha.beta"),
        ("v1.0.0-alpha.beta", "v1.0.0-beta", Less, "v1.0.0-beta"),
        ("v1.0.0-beta.2", "v1.0.0-beta.11", Less, "v1.0.0-beta.11"),
        ("v1.0.0-rc.1", "v1.0.0", Less, "v1.0.0"),
        ("v1.0.0-1", "v1.0.0-a", Less, "v1.0.0-a"),
        ("v1.0.0-a", "v1.0.0-1", Greater, "v1.0.0-a"),
        ("v1.0.0-9", "v1.0.0-10", Less, "v1.0.0-10"),
        ("v1.0.0-A", "v1.0.0-a", Less, "v1.0.0-a"),
        ("v1.0.0-a-b", "v1.0.0-a.b", Greater, "v1.0.0-a-b"),
        ("v1.0.0-0", "v1.0.0-0.0", Less, "v1.0.0-0.0"),
        ("v1", "v1.0.0", Equal, "v1.0.0"),
        ("v1.0.0+a", "v1.0.0+b", Equal, "v1.0.0"),
        ("v1.0.0+a", "v1", Equal, "v1.0.0"),
        ("v2", "v10", Less, "v10.0.0"),
        ("v1.10.0", "v1.9.0", Greater, "v1.10.0"),
        ("v1.0.10", "v1.0.9", Greater, "v1.0.10"),
        ("bad", "v0.0.0", Less, "v0.0.0"),
        ("v0.0.0", "bad", Greater, "v0.0.0"),
        ("bad", "worse", Equal, ""),
        ("", "", Equal, ""),
        ("v18446744073709551616.0.0", "v18446744073709551615.0.0", Greater, "v18446744073709551616.0.0"),
        ("v1.0.0-x.7.z.92", "v1.0.0-x.7.z.100", Less, "v1.0.0-x.7.z.100"),
        ("v1.2.3-pre", "v1.2.3-pre+meta", Equal, "v1.2.3-pre"),
        ("v1.2", "v1.2.0+x", Equal, "v1.2.0"),
    ];

    #[test]
    fn is_valid_table() {
        for &(input, out) in TESTS {
            assert_eq!(is_valid(input), !out.is_empty(), "is_valid({input:?})");
        }
    }

    #[test]
    fn canonical_table() {
        for &(input, out) in TESTS {
            assert_eq!(canonical(input), out, "canonical({input:?})");
        }
    }

    #[test]
    fn major_table() {
        for &(input, out) in TESTS {
            let want = out.find('.').map_or("", |i| &out[..i]);
            assert_eq!(major(input), want, "major({input:?})");
        }
    }

    #[test]
    fn major_minor_table() {
        for &(input, out) in TESTS {
            let mut want = String::new();
            if !out.is_empty() {
                let mut w = input;
                if let Some(i) = w.find('+') {
                    w = &w[..i];
                }
                if let Some(i) = w.find('-') {
                    w = &w[..i];
                }
                want = match w.matches('.').count() {
                    0 => format!("{w}.0"),
                    1 => w.to_string(),
                    _ => w[..w.rfind('.').unwrap_or(w.len())].to_string(),
                };
            }
            assert_eq!(major_minor(input), want, "major_minor({input:?})");
        }
    }

    #[test]
    fn prerelease_table() {
        for &(input, out) in TESTS {
            let want = out.find('-').map_or("", |i| &out[i..]);
            assert_eq!(prerelease(input), want, "prerelease({input:?})");
        }
    }

    #[test]
    fn build_table() {
        for &(input, out) in TESTS {
            let want = if out.is_empty() {
                ""
            } else {
                input.find('+').map_or("", |i| &input[i..])
            };
            assert_eq!(build(input), want, "build({input:?})");
        }
    }

    #[test]
    fn compare_table() {
        for (i, &(vi, oi)) in TESTS.iter().enumerate() {
            for (j, &(vj, oj)) in TESTS.iter().enumerate() {
                let want = if oi == oj { Equal } else { i.cmp(&j) };
                assert_eq!(compare(vi, vj), want, "compare({vi:?}, {vj:?})");
            }
        }
    }

    #[test]
    fn max_table() {
        for (i, &(vi, oi)) in TESTS.iter().enumerate() {
            for (j, &(vj, oj)) in TESTS.iter().enumerate() {
                // Go's TestMax, for max_canonical.
                let want = if i < j { canonical(vj) } else { canonical(vi) };
                assert_eq!(max_canonical(vi, vj), want, "max_canonical({vi:?}, {vj:?})");
                // max returns the argument itself: v only when strictly greater.
                let want = if oi != oj && i > j { vi } else { vj };
                assert_eq!(max(vi, vj), want, "max({vi:?}, {vj:?})");
            }
        }
    }

    #[test]
    fn sort_table() {
        let mut versions: Vec<String> = TESTS.iter().map(|(v, _)| v.to_string()).collect();
        // A fixed shuffle instead of Go's rand.Shuffle.
        versions.reverse();
        versions.rotate_left(7);
        sort(&mut versions);
        for w in versions.windows(2) {
            let c = compare(&w[0], &w[1]);
            assert!(
                c == Less || (c == Equal && w[0] <= w[1]),
                "not sorted: {w:?}"
            );
        }
        // The invalid ones come first, by string order.
        let want_head = [
            "bad",
            "v1+meta",
            "v1-alpha.beta.gamma",
            "v1-pre",
            "v1-pre+meta",
            "v1.2+meta",
            "v1.2-pre",
            "v1.2-pre+meta",
            "v1.0.0-alpha",
        ];
        assert_eq!(versions[..want_head.len()], want_head);
        // Equal versions are ordered by string.
        let want_tail = [
            "v1.2.3-zzz",
            "v1.2.3",
            "v1.2.3+meta",
            "v1.2.3+meta-pre",
            "v1.2.3+meta-pre.sha.256a",
        ];
        assert_eq!(versions[versions.len() - want_tail.len()..], want_tail);
    }

    #[test]
    fn extra_table() {
        for &(v, valid, canon, maj, mm, pre, bld) in EXTRA {
            assert_eq!(is_valid(v), valid, "is_valid({v:?})");
            assert_eq!(canonical(v), canon, "canonical({v:?})");
            assert_eq!(major(v), maj, "major({v:?})");
            assert_eq!(major_minor(v), mm, "major_minor({v:?})");
            assert_eq!(prerelease(v), pre, "prerelease({v:?})");
            assert_eq!(build(v), bld, "build({v:?})");
        }
    }

    #[test]
    fn compare_extra_table() {
        for &(v, w, want, go_max) in COMPARE_EXTRA {
            assert_eq!(compare(v, w), want, "compare({v:?}, {w:?})");
            assert_eq!(compare(w, v), want.reverse(), "compare({w:?}, {v:?})");
            assert_eq!(max_canonical(v, w), go_max, "max_canonical({v:?}, {w:?})");
        }
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// Mostly valid versions, with some near misses.
    fn version() -> impl Strategy<Value = String> {
        prop_oneof![
            "v(0|[1-9][0-9]{0,2})(\\.(0|[1-9][0-9]{0,2})(\\.(0|[1-9][0-9]{0,2})(-[0-9A-Za-z-]{1,3}(\\.[0-9A-Za-z-]{1,3}){0,2})?(\\+[0-9A-Za-z.-]{1,4})?)?)?",
            "v[0-9.+a-z-]{0,8}",
            any::<String>(),
        ]
    }

    proptest! {
        #[test]
        fn canonical_is_idempotent(v in version()) {
            let c = canonical(&v);
            prop_assert_eq!(canonical(&c), c.clone());
            prop_assert_eq!(is_valid(&v), !c.is_empty());
            prop_assert_eq!(is_valid(&c), is_valid(&v));
        }

        #[test]
        fn compare_agrees_with_canonical(v in version(), w in version()) {
            let c = compare(&v, &w);
            prop_assert_eq!(c == Ordering::Equal, canonical(&v) == canonical(&w));
            prop_assert_eq!(compare(&w, &v), c.reverse());
            prop_assert_eq!(compare(&canonical(&v), &canonical(&w)), c);
        }

        #[test]
        fn compare_is_transitive(a in version(), b in version(), c in version()) {
            let mut l = [a, b, c];
            l.sort_by(|x, y| compare(x, y));
            prop_assert_ne!(compare(&l[0], &l[2]), Ordering::Greater);
            prop_assert_ne!(compare(&l[0], &l[1]), Ordering::Greater);
            prop_assert_ne!(compare(&l[1], &l[2]), Ordering::Greater);
        }

        #[test]
        fn sort_orders(mut list in proptest::collection::vec(version(), 0..12)) {
            sort(&mut list);
            for w in list.windows(2) {
                let c = compare(&w[0], &w[1]);
                prop_assert!(c == Ordering::Less || (c == Ordering::Equal && w[0] <= w[1]));
            }
        }

        #[test]
        fn never_panics(v in any::<String>(), w in version()) {
            let _ = (is_valid(&v), canonical(&v), major(&v), major_minor(&v));
            let _ = (prerelease(&v), build(&v), compare(&v, &w), max(&v, &w));
            let _ = max_canonical(&v, &w);
        }
    }
}
