//! Semantic and pseudo-versions: never panic; canonical forms are fixed points and ordering
//! agrees with them.
#![no_main]

use std::cmp::Ordering;

use gomod::{module, pseudo, semver};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let (v, w) = s.split_once(' ').unwrap_or((s, "v1.0.0"));
    let c = semver::canonical(v);
    if semver::is_valid(v) {
        assert_eq!(semver::canonical(&c), c);
        assert_eq!(semver::compare(v, &c), Ordering::Equal);
    } else {
        assert_eq!(c, "");
    }
    assert_eq!(semver::compare(v, w), semver::compare(w, v).reverse());
    let _ = (
        semver::major(v),
        semver::major_minor(v),
        semver::prerelease(v),
        semver::build(v),
    );
    let _ = module::canonical_version(v);
    let _ = module::escape_version(v);
    let _ = module::unescape_version(v);
    let _ = module::check_path_major(v, w);
    let _ = module::check(w, v);
    if pseudo::is_pseudo_version(v) {
        // The time can still be invalid (month 22), as in Go.
        let _ = pseudo::pseudo_version_time(v);
        let _ = pseudo::pseudo_version_rev(v).expect("a pseudo-version has a revision");
        let _ = pseudo::pseudo_version_base(v);
    }
    let _ = pseudo::is_zero_pseudo_version(v);
});
