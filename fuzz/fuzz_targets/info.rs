//! `.info` bodies (gomod::info) and RFC 3339 times (gomod::timestamp): no panic on any
//! input; what is accepted keeps its time in range and formats back to a time that parses
//! to the same instant.
#![no_main]

use gomod::timestamp::Instant;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = gomod::info::parse(data)
        && let Some(t) = info.time
    {
        assert!(t.nanos < 1_000_000_000);
        let again = Instant::parse_rfc3339(&t.format_rfc3339_nano());
        assert_eq!(again, Some(t));
    }
    if let Ok(s) = std::str::from_utf8(data)
        && let Some(t) = Instant::parse_rfc3339(s)
    {
        assert_eq!(Instant::parse_rfc3339(&t.format_rfc3339_nano()), Some(t));
    }
});
