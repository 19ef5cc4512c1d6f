//! The doctor's readers of text from outside: `?go-get=1` pages, git's insteadOf rules, GOENV
//! files, pasted error texts (`--explain`), tags; none panics on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate::doctor::{explain, git, settings};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let (a, b) = s.split_at(s.char_indices().nth(s.chars().count() / 2).map_or(0, |(i, _)| i));
    let _ = git::go_import(a, b);
    let _ = git::rewrite(b, a);
    let _ = git::static_root(s);
    let _ = git::tag_for(a, b, s);
    let tags: Vec<String> = a.lines().map(str::to_string).collect();
    let _ = git::near_misses(b, &tags);
    let _ = settings::parse_env_file(s);
    for m in explain::modules_named(s) {
        assert!(m.contains('@'));
    }
    let _ = explain::explain(s, &[]);
});
