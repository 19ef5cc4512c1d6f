//! The checksum database's parsers: signed notes, tree heads, records, tile paths, verifier
//! keys never panic on any input; what parses formats back to itself.
#![no_main]

use gomod::sumdb::note::{self, Verifier};
use gomod::sumdb::tile::Tile;
use gomod::sumdb::tlog;
use libfuzzer_sys::fuzz_target;

const KEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

fuzz_target!(|data: &[u8]| {
    let v = Verifier::new(KEY).expect("x/mod's test key");
    let _ = note::open(data, &[v][..]);
    if let Ok(t) = tlog::parse_tree(data) {
        let text = tlog::format_tree(&t);
        assert_eq!(tlog::parse_tree(text.as_bytes()), Ok(t));
    }
    if let Ok((id, text, _)) = tlog::parse_record(data) {
        let msg = tlog::format_record(id, text).expect("a parsed record formats");
        assert_eq!(
            tlog::parse_record(&msg).map(|(i, t, _)| (i, t.to_vec())),
            Ok((id, text.to_vec()))
        );
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(t) = Tile::parse_path(s) {
            assert_eq!(t.path(), s);
        }
        let _ = Verifier::new(s);
        let _ = note::Signer::new(s);
    }
});
