//! Every txtar case of golang.org/x/mod/zip's testdata, run through this crate as
//! zip_test.go runs it, with the same expected hashes, error texts and file lists.

mod common;

use std::fs;
use std::path::Path;

use common::{FakeFile, Params, TempDir, read_test, test_files, write_zip};
use gomod::dirhash;
use gomod::module::Version;
use gomod::zip::{self, CheckedFiles};

/// The only case whose input cannot be given to a `String` API: a module path that is
/// the single byte 0xFF. Rust's `Version { path: String }` makes it unrepresentable; the
/// test checks the case is exactly that and that Go's error is about the invalid UTF-8.
fn unrepresentable(p: &Params) -> bool {
    if std::str::from_utf8(&p.path).is_ok() && std::str::from_utf8(&p.version).is_ok() {
        return false;
    }
    assert_eq!(p.path, b"\xff");
    assert_eq!(p.want_err, r#"malformed module path "\xff": invalid UTF-8"#);
    true
}

fn version(p: &Params) -> Version {
    Version {
        path: String::from_utf8(p.path.clone()).unwrap(),
        version: String::from_utf8(p.version.clone()).unwrap(),
    }
}

fn format_checked_files(cf: &CheckedFiles) -> String {
    let mut s = String::from("valid:\n");
    for f in &cf.valid {
        s.push_str(f);
        s.push('\n');
    }
    s.push_str("\nomitted:\n");
    for f in &cf.omitted {
        s.push_str(&format!("{}: {}\n", f.path, f.err));
    }
    s.push_str("\ninvalid:\n");
    for f in &cf.invalid {
        s.push_str(&format!("{}: {}\n", f.path, f.err));
    }
    s
}

/// Outcome counts of a directory of cases.
struct Tally {
    dir: &'static str,
    run: usize,
    passed: usize,
    unrepresentable: usize,
    failures: Vec<String>,
}

impl Tally {
    fn new(dir: &'static str) -> Tally {
        Tally {
            dir,
            run: 0,
            passed: 0,
            unrepresentable: 0,
            failures: Vec::new(),
        }
    }
    fn record(&mut self, name: &str, result: Result<(), String>) {
        self.run += 1;
        match result {
            Ok(()) => self.passed += 1,
            Err(e) => self.failures.push(format!("{}/{name}: {e}", self.dir)),
        }
    }
    fn finish(self, want_run: usize, want_unrepresentable: usize) {
        eprintln!(
            "{}: {} cases run, {} passed, {} unrepresentable",
            self.dir, self.run, self.passed, self.unrepresentable
        );
        assert!(self.failures.is_empty(), "{}", self.failures.join("\n"));
        assert_eq!(
            (self.run, self.unrepresentable),
            (want_run, want_unrepresentable),
            "number of {} cases",
            self.dir
        );
    }
}

fn check_err(result: Result<(), zip::Error>, p: &Params) -> Result<bool, String> {
    match result {
        Err(e) if p.want_err.is_empty() => Err(format!("unexpected error: {e}")),
        Err(e) if !e.to_string().contains(&p.want_err) => Err(format!(
            "got error {:?}; want error containing {:?}",
            e.to_string(),
            p.want_err
        )),
        Err(_) => Ok(true),
        Ok(()) if !p.want_err.is_empty() => Err(format!(
            "unexpected success; wanted error containing {:?}",
            p.want_err
        )),
        Ok(()) => Ok(false),
    }
}

fn extract_txtar_to_dir(dir: &Path, files: &[(String, Vec<u8>)]) {
    for (name, data) in files {
        let p = dir.join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, data).unwrap();
    }
}

fn want_hash(zip_path: &Path, p: &Params) -> Result<(), String> {
    let hash = dirhash::hash_zip_file(zip_path).map_err(|e| e.to_string())?;
    if hash != p.hash {
        return Err(format!("got hash {hash:?}, want {:?}", p.hash));
    }
    Ok(())
}

#[test]
fn check_files_testdata() {
    let mut t = Tally::new("check_files");
    for path in test_files("check_files") {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let (_, arc) = read_test(&path);
        let mut want = String::new();
        let mut files = Vec::new();
        for (n, d) in &arc.files {
            if n == "want" {
                want = String::from_utf8(d.clone()).unwrap();
                continue;
            }
            files.push(FakeFile::data(n, d));
        }
        let cf = zip::check_files(&files);
        let got = format_checked_files(&cf);
        let result = if got != want {
            Err(format!("got:\n{got}\nwant:\n{want}"))
        } else {
            same_error_as_invalid_list(&cf)
        };
        t.record(&name, result);
    }
    t.finish(2, 0);
}

/// The error (if any) is just the list of invalid files.
fn same_error_as_invalid_list(cf: &CheckedFiles) -> Result<(), String> {
    let want_err = if cf.invalid.is_empty() {
        String::new()
    } else {
        zip::FileErrorList(cf.invalid.clone()).to_string()
    };
    let got_err = cf.err().err().map(|e| e.to_string()).unwrap_or_default();
    if got_err != want_err {
        return Err(format!("got error:\n{got_err}\nwant error:\n{want_err}"));
    }
    Ok(())
}

fn take_want(files: &mut Vec<(String, Vec<u8>)>) -> String {
    match files.iter().position(|(n, _)| n == "want") {
        Some(i) => String::from_utf8(files.remove(i).1).unwrap(),
        None => String::new(),
    }
}

#[test]
fn check_dir_testdata() {
    let mut t = Tally::new("check_dir");
    for path in test_files("check_dir") {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let (_, mut arc) = read_test(&path);
        let want = take_want(&mut arc.files);
        let tmp = TempDir::new("check-dir");
        extract_txtar_to_dir(tmp.path(), &arc.files);
        let result = match zip::check_dir(tmp.path()) {
            Err(e) => Err(format!("I/O error: {e}")),
            Ok(cf) => {
                let got =
                    format_checked_files(&cf).replace(&tmp.path().display().to_string(), "$work");
                if got != want {
                    Err(format!("got:\n{got}\nwant:\n{want}"))
                } else {
                    same_error_as_invalid_list(&cf)
                }
            }
        };
        t.record(&name, result);
    }
    t.finish(2, 0);
}

#[test]
fn check_zip_testdata() {
    let mut t = Tally::new("check_zip");
    for path in test_files("check_zip") {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let (p, mut arc) = read_test(&path);
        let want = take_want(&mut arc.files);
        let tmp = TempDir::new("check-zip");
        let zip_path = tmp.path().join("txtar.zip");
        write_zip(&zip_path, &arc.files);
        let result = match zip::check_zip_file(&version(&p), &zip_path) {
            Err(e) => Err(format!("I/O error: {e}")),
            Ok(cf) => {
                let got = format_checked_files(&cf);
                if got != want {
                    Err(format!("got:\n{got}\nwant:\n{want}"))
                } else {
                    same_error_as_invalid_list(&cf)
                }
            }
        };
        t.record(&name, result);
    }
    t.finish(2, 0);
}

#[test]
fn create_testdata() {
    let mut t = Tally::new("create");
    for path in test_files("create") {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let (p, arc) = read_test(&path);
        if unrepresentable(&p) {
            t.unrepresentable += 1;
            continue;
        }
        let tmp = TempDir::new("create");
        let zip_path = tmp.path().join("out.zip");
        let files: Vec<FakeFile> = arc
            .files
            .iter()
            .map(|(n, d)| FakeFile::data(n, d))
            .collect();
        let out = fs::File::create(&zip_path).unwrap();
        let result = check_err(zip::create(out, &version(&p), &files), &p).and_then(|failed| {
            if failed {
                Ok(())
            } else {
                want_hash(&zip_path, &p)
            }
        });
        t.record(&name, result);
    }
    t.finish(14, 1);
}

#[test]
fn create_from_dir_testdata() {
    let mut t = Tally::new("create_from_dir");
    for path in test_files("create_from_dir") {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let (p, arc) = read_test(&path);
        if unrepresentable(&p) {
            t.unrepresentable += 1;
            continue;
        }
        let tmp = TempDir::new("create-from-dir");
        let src = tmp.path().join("src");
        fs::create_dir(&src).unwrap();
        extract_txtar_to_dir(&src, &arc.files);
        let zip_path = tmp.path().join("out.zip");
        let out = fs::File::create(&zip_path).unwrap();
        let result =
            check_err(zip::create_from_dir(out, &version(&p), &src), &p).and_then(|failed| {
                if failed {
                    Ok(())
                } else {
                    want_hash(&zip_path, &p)
                }
            });
        t.record(&name, result);
    }
    t.finish(11, 1);
}

#[test]
fn unzip_testdata() {
    let mut t = Tally::new("unzip");
    for path in test_files("unzip") {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let (p, arc) = read_test(&path);
        if unrepresentable(&p) {
            t.unrepresentable += 1;
            continue;
        }
        let tmp = TempDir::new("unzip");
        let zip_path = tmp.path().join("txtar.zip");
        write_zip(&zip_path, &arc.files);
        let dir = tmp.path().join("out");
        fs::create_dir(&dir).unwrap();
        let m = version(&p);
        let result = check_err(zip::unzip(&dir, &m, &zip_path), &p).and_then(|failed| {
            if failed {
                // Nothing may be left behind by a failed unzip.
                let left = common::tree(&dir);
                return if left.is_empty() {
                    Ok(())
                } else {
                    Err(format!("failed unzip left {left:?}"))
                };
            }
            let prefix = format!("{}@{}/", m.path, m.version);
            let hash = dirhash::hash_dir(&dir, &prefix).map_err(|e| e.to_string())?;
            if hash != p.hash {
                return Err(format!("got hash {hash:?}, want {:?}", p.hash));
            }
            Ok(())
        });
        t.record(&name, result);
    }
    t.finish(14, 1);
}
