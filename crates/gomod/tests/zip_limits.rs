//! Size limits (zip_test.go TestCreateSizeLimits, TestUnzipSizeLimits,
//! TestUnzipSizeLimitsSpecial), TestCreateFromDirSpecial, and hostile zips: lying sizes,
//! path traversal, names outside the prefix, bombs, duplicates. Large contents are never
//! allocated: files are repeated zero bytes and deflate streams are replayed blocks.

mod common;

use std::fs;
use std::io::Cursor;

use common::{Discard, FakeFile, RawEntry, TempDir, raw_zip, tree};
use gomod::dirhash;
use gomod::module::Version;
use gomod::zip::{self, MAX_GO_MOD, MAX_LICENSE, MAX_ZIP_FILE};

const EMPTY_HASH: &str = "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

fn size_limit_version() -> Version {
    Version {
        path: "example.com/large".into(),
        version: "v1.0.0".into(),
    }
}

struct SizeLimitTest {
    desc: &'static str,
    files: Vec<FakeFile>,
    want_err: &'static str,
    want_check_files_err: &'static str,
    want_create_err: &'static str,
    want_check_zip_err: &'static str,
    want_unzip_err: &'static str,
}

impl SizeLimitTest {
    fn new(desc: &'static str, files: Vec<FakeFile>) -> Self {
        SizeLimitTest {
            desc,
            files,
            want_err: "",
            want_check_files_err: "",
            want_create_err: "",
            want_check_zip_err: "",
            want_unzip_err: "",
        }
    }
    fn all(mut self, e: &'static str) -> Self {
        self.want_err = e;
        self
    }
    fn too_large_tree(mut self) -> Self {
        self.want_check_files_err = "module source tree too large (max size is 524288000 bytes)";
        self.want_create_err =
            "create zip: module source tree too large (max size is 524288000 bytes)";
        self.want_check_zip_err =
            "total uncompressed size of module contents too large (max size is 524288000 bytes)";
        self.want_unzip_err =
            "total uncompressed size of module contents too large (max size is 524288000 bytes)";
        self
    }
    fn pick(&self, specific: &'static str) -> &'static str {
        if specific.is_empty() {
            self.want_err
        } else {
            specific
        }
    }
}

fn size_limit_tests() -> Vec<SizeLimitTest> {
    vec![
        SizeLimitTest::new("one_large", vec![FakeFile::zeros("large.go", MAX_ZIP_FILE)]),
        SizeLimitTest::new(
            "one_too_large",
            vec![FakeFile::zeros("large.go", MAX_ZIP_FILE + 1)],
        )
        .too_large_tree(),
        SizeLimitTest::new(
            "total_large",
            vec![
                FakeFile::zeros("small.go", 10),
                FakeFile::zeros("large.go", MAX_ZIP_FILE - 10),
            ],
        ),
        SizeLimitTest::new(
            "total_too_large",
            vec![
                FakeFile::zeros("small.go", 10),
                FakeFile::zeros("large.go", MAX_ZIP_FILE - 9),
            ],
        )
        .too_large_tree(),
        SizeLimitTest::new("large_gomod", vec![FakeFile::zeros("go.mod", MAX_GO_MOD)]),
        SizeLimitTest::new(
            "too_large_gomod",
            vec![FakeFile::zeros("go.mod", MAX_GO_MOD + 1)],
        )
        .all("go.mod file too large (max size is 16777216 bytes)"),
        SizeLimitTest::new(
            "large_license",
            vec![FakeFile::zeros("LICENSE", MAX_LICENSE)],
        ),
        SizeLimitTest::new(
            "too_large_license",
            vec![FakeFile::zeros("LICENSE", MAX_LICENSE + 1)],
        )
        .all("LICENSE file too large (max size is 16777216 bytes)"),
    ]
}

/// Checks `got` is Ok if `want` is empty, else an error whose text contains `want`.
fn expect(what: &str, desc: &str, got: Result<(), zip::Error>, want: &str) {
    match got {
        Ok(()) => assert!(
            want.is_empty(),
            "{desc}: {what}: unexpected success; want {want:?}"
        ),
        Err(e) => {
            assert!(
                !want.is_empty(),
                "{desc}: {what}: got error {:?}; want success",
                e.to_string()
            );
            assert!(
                e.to_string().contains(want),
                "{desc}: {what}: got error {:?}; want error containing {want:?}",
                e.to_string()
            );
        }
    }
}

#[test]
fn create_size_limits() {
    let mut tests = size_limit_tests();
    // A size that is negative as Go's int64.
    tests.push(
        SizeLimitTest::new(
            "negative",
            vec![FakeFile::zeros("neg.go", 0x8000_0000_0000_0000)],
        )
        .all("module source tree too large"),
    );
    let mut lie = SizeLimitTest::new(
        "size_is_a_lie",
        vec![FakeFile {
            name: "lie.go".into(),
            size: 1,
            data: Some(b"package large".to_vec()),
        }],
    );
    lie.want_create_err = r#"create zip: file "lie.go" is larger than declared size"#;
    tests.push(lie);

    let m = size_limit_version();
    for t in &tests {
        let cf = zip::check_files(&t.files);
        expect(
            "check_files",
            t.desc,
            cf.err(),
            t.pick(t.want_check_files_err),
        );
        let created = zip::create(Discard::default(), &m, &t.files);
        expect("create", t.desc, created, t.pick(t.want_create_err));
    }
}

/// Builds the zip TestUnzipSizeLimits builds, without deflating hundreds of MiB.
fn size_limit_zip(t: &SizeLimitTest) -> Vec<u8> {
    let m = size_limit_version();
    let entries: Vec<RawEntry> = t
        .files
        .iter()
        .map(|f| {
            RawEntry::deflated_zeros(
                format!("{}@{}/{}", m.path, m.version, f.name).as_bytes(),
                f.size,
            )
        })
        .collect();
    raw_zip(&entries)
}

#[test]
fn unzip_size_limits() {
    let m = size_limit_version();
    for t in size_limit_tests() {
        let data = size_limit_zip(&t);
        let tmp = TempDir::new("unzip-limits");
        let zip_path = tmp.path().join("large.zip");
        fs::write(&zip_path, &data).unwrap();

        let checked = zip::check_zip_file(&m, &zip_path).and_then(|cf| cf.err());
        expect("check_zip", t.desc, checked, t.pick(t.want_check_zip_err));

        let dir = tmp.path().join("out");
        let unzipped = zip::unzip(&dir, &m, &zip_path);
        let want = t.pick(t.want_unzip_err);
        expect("unzip", t.desc, unzipped, want);
        if want.is_empty() {
            let sizes: Vec<u64> = t
                .files
                .iter()
                .map(|f| fs::metadata(dir.join(&f.name)).unwrap().len())
                .collect();
            let want_sizes: Vec<u64> = t.files.iter().map(|f| f.size).collect();
            assert_eq!(sizes, want_sizes, "{}", t.desc);
        } else {
            assert!(!dir.exists(), "{}: failed unzip left {dir:?}", t.desc);
        }
    }
}

#[test]
fn unzip_size_limits_special() {
    let m = Version {
        path: "example.com/m".into(),
        version: "v1.0.0".into(),
    };
    let tmp = TempDir::new("unzip-special");

    // large_zip: a zip of exactly MAX_ZIP_FILE bytes (all zeros, sparse) is read, and is
    // not a zip.
    let large = tmp.path().join("large.zip");
    fs::File::create(&large)
        .unwrap()
        .set_len(MAX_ZIP_FILE)
        .unwrap();
    let err = zip::unzip(&tmp.path().join("a"), &m, &large).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("unzip {}: zip: not a valid zip file", large.display())
    );

    // too_large_zip: one byte more is refused before reading.
    let too_large = tmp.path().join("too_large.zip");
    fs::File::create(&too_large)
        .unwrap()
        .set_len(MAX_ZIP_FILE + 1)
        .unwrap();
    let err = zip::unzip(&tmp.path().join("b"), &m, &too_large).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "unzip {}: module zip file is too large (524288001 bytes; limit is 524288000 bytes)",
            too_large.display()
        )
    );
    let cf = zip::check_zip_file(&m, &too_large).unwrap();
    assert_eq!(
        cf.err().unwrap_err().to_string(),
        "module zip file is too large (524288001 bytes; limit is 524288000 bytes)"
    );

    // size_is_a_lie: go.mod of 0xBAD zero bytes declared as 0xAC. Go 1.19+'s archive/zip
    // reports this as ErrFormat while reading (x/mod's test accepts either text).
    let mut e = RawEntry::deflated(b"example.com/m@v1.0.0/go.mod", &[0u8; 0x0BAD]);
    e.uncompressed_size = 0xAC;
    let lie = tmp.path().join("lie.zip");
    fs::write(&lie, raw_zip(&[e])).unwrap();
    zip::check_zip_file(&m, &lie).unwrap().err().unwrap();
    let dir = tmp.path().join("c");
    let err = zip::unzip(&dir, &m, &lie).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("unzip {}: zip: not a valid zip file", lie.display())
    );
    assert!(!dir.exists());
}

#[test]
fn create_from_dir_special() {
    let m = Version {
        path: "example.com/m".into(),
        version: "v1.0.0".into(),
    };
    let hash_of = |dir: &std::path::Path| {
        let tmp = TempDir::new("cfd-out");
        let zip_path = tmp.path().join("out.zip");
        zip::create_from_dir(fs::File::create(&zip_path).unwrap(), &m, dir).unwrap();
        dirhash::hash_zip_file(&zip_path).unwrap()
    };

    let empty_dir = TempDir::new("ignore-empty-dir");
    fs::create_dir(empty_dir.path().join("empty")).unwrap();
    assert_eq!(hash_of(empty_dir.path()), EMPTY_HASH);

    let symlink = TempDir::new("ignore-symlink");
    #[cfg(unix)]
    std::os::unix::fs::symlink(symlink.path(), symlink.path().join("link")).unwrap();
    assert_eq!(hash_of(symlink.path()), EMPTY_HASH);
    let cf = zip::check_dir(symlink.path()).unwrap();
    assert_eq!(
        cf.omitted.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
        [format!(
            "{}/link: not a regular file",
            symlink.path().display()
        )]
    );

    let vendor = TempDir::new("dir-is-vendor");
    let vendor_dir = vendor.path().join("vendor");
    fs::create_dir(&vendor_dir).unwrap();
    fs::write(
        vendor_dir.join("go.mod"),
        "module example.com/m\n\ngo 1.13\n",
    )
    .unwrap();
    assert_eq!(
        hash_of(&vendor_dir),
        "h1:XduFAgX/GaspZa8Jv4pfzoGEzNaU/r88PiCunijw5ok="
    );

    let missing = vendor.path().join("missing");
    let err = zip::create_from_dir(Discard::default(), &m, &missing).unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "create zip from directory {}: ",
            missing.display()
        )),
        "{err}"
    );
}

/// A directory entry whose name is not UTF-8 is invalid, with Go's text (the go command
/// prints the name lossily where it is not quoted, and byte-escaped where it is). (Unix:
/// Windows names are UTF-16, read as Go reads them.)
#[cfg(unix)]
#[test]
fn create_from_dir_non_utf8_name() {
    use std::os::unix::ffi::OsStrExt;
    let dir = TempDir::new("non-utf8");
    fs::write(dir.path().join("a.go"), "package a\n").unwrap();
    fs::create_dir(dir.path().join(std::ffi::OsStr::from_bytes(b"d\xfe"))).unwrap();
    fs::write(
        dir.path()
            .join(std::ffi::OsStr::from_bytes(b"d\xfe"))
            .join("x.go"),
        "package d\n",
    )
    .unwrap();
    let err = zip::create_from_dir(Discard::default(), &m(), dir.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "create zip {}: d\u{fffd}/x.go: malformed file path \"d\\xfe/x.go\": invalid UTF-8",
            dir.path().display()
        )
    );
    let cf = zip::check_dir(dir.path()).unwrap();
    assert_eq!(cf.valid.len(), 1);
    assert_eq!(cf.invalid.len(), 1);
}

fn m() -> Version {
    Version {
        path: "example.com/m".into(),
        version: "v1.0.0".into(),
    }
}

/// Unzips `data` into a fresh directory: the error text, and what was left behind.
fn unzip_hostile(data: &[u8]) -> (String, Vec<String>) {
    let tmp = TempDir::new("hostile");
    let dir = tmp.path().join("out");
    fs::create_dir(&dir).unwrap();
    let err = zip::unzip_reader(&dir, &m(), Cursor::new(data)).unwrap_err();
    let left = tree(tmp.path());
    (err.to_string(), left)
}

#[test]
fn hostile_declared_size_smaller_than_real() {
    for method in [0u16, 8] {
        let data = b"package m\n\nfunc F() {}\n";
        let mut e = if method == 0 {
            RawEntry::stored(b"example.com/m@v1.0.0/m.go", data)
        } else {
            RawEntry::deflated(b"example.com/m@v1.0.0/m.go", data)
        };
        e.uncompressed_size = 5;
        let ok = RawEntry::stored(b"example.com/m@v1.0.0/a.go", b"package m\n");
        let (err, left) = unzip_hostile(&raw_zip(&[ok, e]));
        assert_eq!(err, "unzip: zip: not a valid zip file", "method {method}");
        assert_eq!(left, ["out"], "method {method}");
    }
    // Declared larger than real: the entry ends early.
    let mut e = RawEntry::stored(b"example.com/m@v1.0.0/m.go", b"package m\n");
    e.uncompressed_size = 100;
    let (err, left) = unzip_hostile(&raw_zip(&[e]));
    assert_eq!(err, "unzip: unexpected EOF");
    assert_eq!(left, ["out"]);
    // Right size, wrong CRC-32.
    let mut e = RawEntry::stored(b"example.com/m@v1.0.0/m.go", b"package m\n");
    e.crc32 ^= 1;
    let (err, left) = unzip_hostile(&raw_zip(&[e]));
    assert_eq!(err, "unzip: zip: checksum error");
    assert_eq!(left, ["out"]);
}

#[test]
fn hostile_traversal_and_prefix() {
    let cases: [(&[u8], &str); 6] = [
        (
            b"example.com/m@v1.0.0/../../evil.go",
            r#"unzip: example.com/m@v1.0.0/../../evil.go: malformed file path "../../evil.go": invalid path element "..""#,
        ),
        (
            b"example.com/m@v1.0.0/a/../../evil.go",
            "unzip: example.com/m@v1.0.0/a/../../evil.go: file path is not clean",
        ),
        (
            b"../evil.go",
            r#"unzip: ../evil.go: path does not have prefix "example.com/m@v1.0.0/""#,
        ),
        (
            b"/etc/evil",
            r#"unzip: /etc/evil: path does not have prefix "example.com/m@v1.0.0/""#,
        ),
        (
            b"example.com/m@v1.0.0//etc/evil",
            r#"unzip: example.com/m@v1.0.0//etc/evil: malformed file path "/etc/evil": empty path element"#,
        ),
        (
            b"example.com/other@v1.0.0/x.go",
            r#"unzip: example.com/other@v1.0.0/x.go: path does not have prefix "example.com/m@v1.0.0/""#,
        ),
    ];
    for (name, want) in cases {
        let ok = RawEntry::stored(b"example.com/m@v1.0.0/ok.go", b"package m\n");
        let bad = RawEntry::stored(name, b"x");
        let (err, left) = unzip_hostile(&raw_zip(&[ok, bad]));
        assert_eq!(err, want);
        assert_eq!(left, ["out"], "{want}");
    }
    // Backslashes and absolute-looking names after the prefix fail check_file_path.
    let bad = RawEntry::stored(br"example.com/m@v1.0.0/..\evil.go", b"x");
    let (err, left) = unzip_hostile(&raw_zip(&[bad]));
    assert_eq!(
        err,
        r#"unzip: example.com/m@v1.0.0/..\evil.go: malformed file path "..\\evil.go": invalid char '\\'"#
    );
    assert_eq!(left, ["out"]);
    // Names that are not UTF-8.
    let bad = RawEntry::stored(b"example.com/m@v1.0.0/\xff.go", b"x");
    let (err, _) = unzip_hostile(&raw_zip(&[bad]));
    assert_eq!(
        err,
        "unzip: example.com/m@v1.0.0/\u{FFFD}.go: malformed file path \"\\xff.go\": invalid UTF-8"
    );
}

#[test]
fn hostile_duplicates() {
    let a = RawEntry::stored(b"example.com/m@v1.0.0/dup.go", b"package a\n");
    let b = RawEntry::stored(b"example.com/m@v1.0.0/dup.go", b"package b\n");
    let (err, left) = unzip_hostile(&raw_zip(&[a, b]));
    assert_eq!(
        err,
        r#"unzip: example.com/m@v1.0.0/dup.go: multiple entries for file "dup.go""#
    );
    assert_eq!(left, ["out"]);
    // dirhash, like Go's HashZip, hashes the last of the duplicates for both names.
    let a = RawEntry::stored(b"p/x", b"a");
    let b = RawEntry::stored(b"p/x", b"b");
    let c = RawEntry::stored(b"p/x", b"b");
    let d = RawEntry::stored(b"p/x", b"b");
    assert_eq!(
        dirhash::hash_zip(Cursor::new(raw_zip(&[a, b]))).unwrap(),
        dirhash::hash_zip(Cursor::new(raw_zip(&[c, d]))).unwrap()
    );
}

#[test]
fn hostile_bombs() {
    // Honest sizes past the limit: refused from the directory, nothing inflated.
    let entries: Vec<RawEntry> = (0..3)
        .map(|i| {
            let mut e = RawEntry::deflated(format!("example.com/m@v1.0.0/{i}.go").as_bytes(), b"");
            e.uncompressed_size = 200 << 20;
            e
        })
        .collect();
    let (err, left) = unzip_hostile(&raw_zip(&entries));
    assert_eq!(
        err,
        "unzip: total uncompressed size of module contents too large (max size is 524288000 bytes)"
    );
    assert_eq!(left, ["out"]);

    // A high-ratio entry (600 MiB of zeros in well under 1 MiB) declared as 1 KiB: reading
    // stops right after the declared size.
    let mut bomb = RawEntry::deflated_zeros(b"example.com/m@v1.0.0/bomb.go", 600 << 20);
    assert!(bomb.stored.len() < 1 << 20);
    bomb.uncompressed_size = 1024;
    let (err, left) = unzip_hostile(&raw_zip(&[bomb]));
    assert_eq!(err, "unzip: zip: not a valid zip file");
    assert_eq!(left, ["out"]);

    // The same declared honestly (600 MiB, past MAX_ZIP_FILE).
    let bomb = RawEntry::deflated_zeros(b"example.com/m@v1.0.0/bomb.go", 600 << 20);
    let (err, left) = unzip_hostile(&raw_zip(&[bomb]));
    assert_eq!(
        err,
        "unzip: total uncompressed size of module contents too large (max size is 524288000 bytes)"
    );
    assert_eq!(left, ["out"]);
}

#[test]
fn unzip_refuses_non_empty_dir() {
    let tmp = TempDir::new("nonempty");
    fs::write(tmp.path().join("x"), "x").unwrap();
    let ok = RawEntry::stored(b"example.com/m@v1.0.0/ok.go", b"package m\n");
    let err = zip::unzip_reader(tmp.path(), &m(), Cursor::new(raw_zip(&[ok]))).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "unzip: target directory {} exists and is not empty",
            tmp.path().display()
        )
    );
    assert_eq!(tree(tmp.path()), ["x"]);
}

#[test]
fn create_then_unzip_round_trip() {
    let files = vec![
        FakeFile::data("go.mod", b"module example.com/m\n"),
        FakeFile::data("a/b.go", b"package a\n"),
        FakeFile::data("vendor/modules.txt", b"# x\n"),
        FakeFile::data("vendor/x/y.go", b"package y\n"),
        FakeFile::data("sub/go.mod", b"module example.com/m/sub\n"),
        FakeFile::data("sub/s.go", b"package s\n"),
    ];
    let mut buf = Cursor::new(Vec::new());
    zip::create(&mut buf, &m(), &files).unwrap();
    let data = buf.into_inner();
    let cf = zip::check_zip(&m(), Cursor::new(&data)).unwrap();
    assert_eq!(
        cf.valid,
        [
            "example.com/m@v1.0.0/go.mod",
            "example.com/m@v1.0.0/a/b.go",
            "example.com/m@v1.0.0/vendor/modules.txt"
        ]
    );
    cf.err().unwrap();
    let tmp = TempDir::new("round-trip");
    let dir = tmp.path().join("out");
    zip::unzip_reader(&dir, &m(), Cursor::new(&data)).unwrap();
    assert_eq!(
        tree(&dir),
        ["a", "a/b.go", "go.mod", "vendor", "vendor/modules.txt"]
    );
    assert_eq!(
        dirhash::hash_dir(&dir, "example.com/m@v1.0.0").unwrap(),
        dirhash::hash_zip(Cursor::new(&data)).unwrap()
    );
}

mod never_panic {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn check_zip_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = zip::check_zip(&m(), Cursor::new(&data)).map(|cf| cf.err());
            let _ = dirhash::hash_zip(Cursor::new(&data));
        }

        #[test]
        fn check_zip_on_mangled_zip(
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            let ok = RawEntry::deflated(b"example.com/m@v1.0.0/go.mod", b"module example.com/m\n");
            let other = RawEntry::stored(b"example.com/m@v1.0.0/a.go", b"package m\n");
            let mut data = raw_zip(&[ok, other]);
            for (i, b) in flips {
                let i = i.index(data.len());
                data[i] = b;
            }
            if let Ok(cf) = zip::check_zip(&m(), Cursor::new(&data)) {
                let _ = cf.err();
            }
            let _ = dirhash::hash_zip(Cursor::new(&data));
            let tmp = TempDir::new("prop");
            let _ = zip::unzip_reader(&tmp.path().join("out"), &m(), Cursor::new(&data));
        }

        #[test]
        fn check_files_on_arbitrary_names(names in proptest::collection::vec(".{0,12}", 0..12)) {
            let files: Vec<FakeFile> = names.iter().map(|n| FakeFile::data(n, b"x")).collect();
            let cf = zip::check_files(&files);
            prop_assert_eq!(cf.valid.len() + cf.omitted.len() + cf.invalid.len() <= files.len(), true);
            let _ = cf.err();
        }

        #[test]
        fn check_zip_on_arbitrary_names(names in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..24), 0..8)) {
            let entries: Vec<RawEntry> = names
                .iter()
                .map(|n| {
                    let mut name = b"example.com/m@v1.0.0/".to_vec();
                    name.extend_from_slice(n);
                    RawEntry::stored(&name, b"x")
                })
                .collect();
            let data = raw_zip(&entries);
            let cf = zip::check_zip(&m(), Cursor::new(&data)).unwrap();
            let _ = cf.err();
        }
    }
}

/// A zip written by Go's archive/zip (tests/testdata/go-writer.go): data descriptors, a
/// directory entry, a non-ASCII name. Hash as printed by x/mod's dirhash.HashZip.
#[test]
fn go_written_zip() {
    let data = fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/testdata/go-writer.zip"
    ))
    .unwrap();
    assert_eq!(
        dirhash::hash_zip(Cursor::new(&data)).unwrap(),
        "h1:0Hg7gMRm8NFQ7Y495Eb6cP8gFuphir0ZujVQtz//nxk="
    );
    let cf = zip::check_zip(&m(), Cursor::new(&data)).unwrap();
    cf.err().unwrap();
    assert_eq!(
        cf.valid,
        [
            "example.com/m@v1.0.0/go.mod",
            "example.com/m@v1.0.0/dir/é.go"
        ]
    );
    let tmp = TempDir::new("go-written");
    let dir = tmp.path().join("out");
    zip::unzip_reader(&dir, &m(), Cursor::new(&data)).unwrap();
    assert_eq!(tree(&dir), ["dir", "dir/é.go", "go.mod"]);
    assert_eq!(
        fs::read(dir.join("dir/é.go")).unwrap(),
        "package dir\n".repeat(50).into_bytes()
    );
    // A flipped CRC in the data descriptor is a checksum error, as in Go.
    let mut bad = data.clone();
    let dd = bad
        .windows(4)
        .position(|w| w == [0x50, 0x4b, 0x07, 0x08])
        .unwrap();
    bad[dd + 4] ^= 0xff;
    let err = dirhash::hash_zip(Cursor::new(&bad)).unwrap_err();
    assert_eq!(err.to_string(), "zip: checksum error");
}
