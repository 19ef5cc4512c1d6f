//! The readers of outside input in `trace`, `prefetch` and `bundle`: `/proc` stat lines,
//! HTTP proxy settings, and whole bundle files (zstd, tar, the index, every check); none
//! panics on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = modgate::platform::cpu::parse_ppid(&text);
    let _ = modgate::dial::proxy_url(&text);
    // A bundle: the bytes as they are, and compressed (so that the tar and index are
    // reached too).
    let dir = std::env::temp_dir().join(format!("modgate-fuzz-bundle-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join("b");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for bytes in [data.to_vec(), zstd::stream::encode_all(data, 1).unwrap()] {
        std::fs::write(&file, &bytes).unwrap();
        let _ = rt.block_on(modgate::bundle::verify(&file));
    }
});
