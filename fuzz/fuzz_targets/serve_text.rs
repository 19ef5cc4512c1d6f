//! The readers of outside text in `modgate serve`: request paths, `Authorization` headers,
//! htpasswd files, `.netrc` files, `Retry-After` values, sizes (`max_bytes`), `[filter]`
//! rules and the modules and versions they are matched with; none panics on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate::http;
use modgate::source::proxy::{netrc, pace};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = http::read_untrusted_auth(data, &text);
    let _ = http::parse(&text);
    for line in netrc::parse(&text) {
        assert!(!line.machine.is_empty());
    }
    if let Some(d) = pace::parse_retry_after(&text) {
        let _ = d.as_secs();
    }
    let _ = modgate::storage::parse_size(&text);
    let rules: Vec<String> = text.split(',').map(String::from).collect();
    if let Ok(f) = modgate::filter::Filter::parse(&rules, &rules) {
        for r in &rules {
            let (m, v) = r.split_once('@').unwrap_or((r, r));
            let _ = f.module(m);
            let _ = f.version(m, v);
        }
    }
});
