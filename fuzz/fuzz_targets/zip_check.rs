//! Module zip checking and extraction on arbitrary bytes: never panic, never write outside
//! the target directory, extract only what checks clean (as Go, `check_zip` looks at names
//! and declared sizes only, so a clean check may still fail to inflate), and leave nothing
//! behind when extraction fails.
#![no_main]

use std::io::Cursor;

use gomod::module::Version;
use gomod::zip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let m = Version {
        path: "example.com/m".to_owned(),
        version: "v1.0.0".to_owned(),
    };
    let clean = matches!(zip::check_zip(&m, Cursor::new(data)), Ok(cf) if cf.err().is_ok());
    let _ = gomod::dirhash::hash_zip(Cursor::new(data));
    let base = std::env::temp_dir().join(format!("gomod-fuzz-unzip-{}", std::process::id()));
    let out = base.join("out");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&out).expect("create fuzz output dir");
    let unzipped = zip::unzip_reader(&out, &m, Cursor::new(data));
    if unzipped.is_ok() {
        assert!(clean, "unzip extracted a zip that check_zip refuses");
    } else {
        let left = std::fs::read_dir(&out)
            .expect("read fuzz output dir")
            .count();
        assert_eq!(left, 0, "a failed unzip left {left} entries behind");
    }
    // Nothing may land beside the target directory.
    let beside: Vec<_> = std::fs::read_dir(&base)
        .expect("read fuzz base dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert_eq!(beside, [std::ffi::OsString::from("out")]);
    let _ = std::fs::remove_dir_all(&base);
});
