//! The in-process git object readers (modgate `source::git::odb` and `tree`): loose object
//! files, pack entry headers, deltas and tree objects. No panic on any input, nothing
//! larger than the limit given, and a delta's result is as long as it says.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate::source::git::{odb, tree};

const MAX: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(o) = odb::parse_loose(rest, MAX) {
                assert!(o.data.len() as u64 <= MAX);
            }
        }
        1 => {
            let at = u64::from(rest.first().copied().unwrap_or(0)) << 8;
            if let Ok((_, base, used)) = odb::parse_entry_header(rest, at) {
                assert!(used <= rest.len());
                if let odb::Base::Offset(o) = base {
                    assert!(o < at);
                }
            }
        }
        2 => {
            // The first byte splits the rest into a base and a delta.
            let Some((&cut, rest)) = rest.split_first() else {
                return;
            };
            let (base, delta) = rest.split_at((cut as usize).min(rest.len()));
            if let Ok(out) = odb::apply_delta(base, delta, MAX) {
                assert!(out.len() as u64 <= MAX);
            }
        }
        _ => {
            if let Some(entries) = tree::entries(rest) {
                let total: usize = entries
                    .iter()
                    .map(|e| e.mode.len() + e.name.len() + 22)
                    .sum();
                assert_eq!(total, rest.len());
            }
        }
    }
});
