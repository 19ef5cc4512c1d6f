//! The readers of text from outside that the doctor uses: `?go-get=1` pages (the proxy's
//! resolver, which the doctor shares), git's insteadOf rules, GOENV
//! files, pasted error texts (`--explain`), tags; none panics on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate::doctor::{explain, git};
use modgate::goenv;
use modgate::source::git::resolve;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let (a, b) = s.split_at(
        s.char_indices()
            .nth(s.chars().count() / 2)
            .map_or(0, |(i, _)| i),
    );
    let imports = resolve::parse_meta_go_imports(a);
    let _ = resolve::match_go_import(&imports, b);
    let _ = git::rewrite(b, a);
    let _ = resolve::vcs_suffix_path(s);
    let _ = git::tag_for(a, b, s);
    let tags: Vec<String> = a.lines().map(str::to_string).collect();
    let _ = git::near_misses(b, &tags);
    let _ = goenv::parse_env_file(s);
    for m in explain::modules_named(s) {
        assert!(m.contains('@'));
    }
    let _ = explain::explain(s, &[]);
});
