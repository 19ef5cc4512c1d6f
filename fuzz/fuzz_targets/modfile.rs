//! go.mod and go.work parsing: never panic, the lax parser accepts whatever the strict one
//! does, and formatting never panics. (Formatting is not a fixed point: a quoted version
//! holding a control character formats unquoted, as in Go; see the oracle cases.)
#![no_main]

use gomod::modfile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let strict = modfile::parse("go.mod", data, None);
    let lax = modfile::parse_lax("go.mod", data, None);
    if strict.is_ok() {
        assert!(
            lax.is_ok(),
            "strict accepts what lax rejects: {:?}",
            lax.err()
        );
    }
    if let Ok(f) = strict {
        let _ = modfile::parse("go.mod", &f.format(), None);
    }
    if let Ok(f) = lax {
        let _ = f.format();
    }
    if let Ok(w) = modfile::parse_work("go.work", data, None) {
        let _ = modfile::parse_work("go.work", &w.format(), None);
    }
});
