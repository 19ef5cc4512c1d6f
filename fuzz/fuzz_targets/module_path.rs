//! Module, import and file path checks and `!` escaping: never panic, and escaping
//! round-trips for every path the checks accept.
#![no_main]

use gomod::module;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let path_ok = module::check_path(s).is_ok();
    let import_ok = module::check_import_path(s).is_ok();
    let _ = module::check_file_path(s);
    if path_ok {
        assert!(
            import_ok,
            "a valid module path {s:?} must be a valid import path"
        );
    }
    if let Ok(escaped) = module::escape_path(s) {
        assert_eq!(module::unescape_path(&escaped).as_deref(), Ok(s));
    }
    if let Ok(unescaped) = module::unescape_path(s) {
        let _ = module::escape_path(&unescaped);
    }
    let _ = module::split_path_version(s);
    if let Some((pattern, target)) = s.split_once('\n') {
        let _ = module::match_prefix_patterns(pattern, target);
    }
});
