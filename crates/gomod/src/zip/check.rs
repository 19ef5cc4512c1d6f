//! Checking sets of files, directories and zip files against the module zip rules.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::dir::{join_os, list_files_in_dir};
use super::reader::ZipReader;
use super::{
    CheckedFiles, Error, File, FileError, FileKind, MAX_GO_MOD, MAX_LICENSE, MAX_ZIP_FILE, gopath,
    is_vendored_package,
};
use crate::gostr::str_to_fold;
use crate::module::{self, Version};

/// Reports which of `files` belong in a module zip, which are left out on purpose and which
/// make it invalid (Go's `CheckFiles`). Files are not opened, only `lstat`ed, so
/// [`create`](super::create) may still fail on I/O errors or files larger than they claim.
pub fn check_files<F: File>(files: &[F]) -> CheckedFiles {
    check_files_sized(files).0
}

/// [`check_files`], also returning the index and declared size of every valid file.
pub(super) fn check_files_sized<F: File>(files: &[F]) -> (CheckedFiles, Vec<(usize, u64)>) {
    let mut out = Verdicts::default();
    let mut valid = Vec::new();
    let go_mod_dirs = go_mod_dirs(files, &mut out);
    let mut collisions = CollisionChecker::default();
    let mut max_size = MAX_ZIP_FILE;
    for (i, f) in files.iter().enumerate() {
        let p = f.path();
        let checked =
            check_path(f, p, &go_mod_dirs).and_then(|()| check_entry(f, p, &mut collisions));
        let size = match checked {
            Ok(size) => size,
            Err(why) => {
                out.reject(p, why);
                continue;
            }
        };
        if size <= max_size {
            max_size -= size;
        } else if out.cf.size_error.is_none() {
            out.cf.size_error = Some(Error::SourceTreeTooLarge);
        }
        if let Err(e) = check_special_size(p, size) {
            out.reject(p, Rejection::Invalid(e));
            continue;
        }
        out.cf.valid.push(p.to_owned());
        valid.push((i, size));
    }
    (out.cf, valid)
}

/// Why a file is not in a module zip.
enum Rejection {
    /// Left out on purpose.
    Omitted(Error),
    /// Makes the zip invalid.
    Invalid(Error),
}

/// The [`CheckedFiles`] being built by [`check_files_sized`], with the paths that already
/// have an error.
#[derive(Default)]
struct Verdicts {
    cf: CheckedFiles,
    err_paths: HashSet<String>,
}

impl Verdicts {
    /// Records why `path` is not in the zip, unless an error is already recorded for it.
    fn reject(&mut self, path: &str, why: Rejection) {
        if !self.err_paths.insert(path.to_owned()) {
            return;
        }
        let (list, err) = match why {
            Rejection::Omitted(err) => (&mut self.cf.omitted, err),
            Rejection::Invalid(err) => (&mut self.cf.invalid, err),
        };
        list.push(FileError {
            path: path.to_owned(),
            err,
        });
    }
}

/// The directories of `files` holding a regular go.mod file (in any case), recording
/// the files whose `lstat` fails in `out`.
fn go_mod_dirs<F: File>(files: &[F], out: &mut Verdicts) -> HashSet<String> {
    let mut dirs = HashSet::new();
    for f in files {
        let p = f.path();
        let (dir, base) = gopath::split(p);
        if eq_fold(base, "go.mod") {
            match f.lstat() {
                Ok(info) if info.kind == FileKind::Regular => {
                    dirs.insert(dir.to_owned());
                }
                Ok(_) => {}
                Err(e) => out.reject(p, Rejection::Invalid(e.into())),
            }
        }
    }
    dirs
}

/// Whether `p` lies in a directory other than the root that holds a go.mod file (one of
/// `go_mod_dirs`): such a file is another module's.
fn in_submodule(go_mod_dirs: &HashSet<String>, mut p: &str) -> bool {
    loop {
        let (dir, _) = gopath::split(p);
        if dir.is_empty() {
            return false;
        }
        if go_mod_dirs.contains(dir) {
            return true;
        }
        p = &dir[..dir.len() - 1];
    }
}

/// The checks on the path `p` of `f`, made before the file is `lstat`ed.
fn check_path<F: File>(f: &F, p: &str, go_mod_dirs: &HashSet<String>) -> Result<(), Rejection> {
    use Rejection::{Invalid, Omitted};
    if p != gopath::clean(p) {
        return Err(Invalid(Error::PathNotClean));
    }
    if p.starts_with('/') {
        return Err(Invalid(Error::PathNotRelative));
    }
    if is_vendored_package(p) {
        return Err(Omitted(Error::Vendored));
    }
    if in_submodule(go_mod_dirs, p) {
        return Err(Omitted(Error::SubmoduleFile));
    }
    if p == ".hg_archival.txt" {
        // Inserted by hg archive; the go command drops it whatever the VCS.
        return Err(Omitted(Error::HgArchivalTxt));
    }
    if let Some(raw) = f.raw_path() {
        return Err(Invalid(Error::FilePathNotUtf8 { name: raw.to_vec() }));
    }
    if let Err(e) = module::check_file_path(p) {
        return Err(Invalid(e.into()));
    }
    if p.to_lowercase() == "go.mod" && p != "go.mod" {
        return Err(Invalid(Error::GoModCase));
    }
    Ok(())
}

/// The checks on what `f` (at path `p`) is: no collision with an earlier path, a regular
/// file. Returns its declared size.
fn check_entry<F: File>(
    f: &F,
    p: &str,
    collisions: &mut CollisionChecker,
) -> Result<u64, Rejection> {
    let info = f.lstat().map_err(|e| Rejection::Invalid(e.into()))?;
    collisions
        .check(p, info.kind == FileKind::Dir)
        .map_err(Rejection::Invalid)?;
    if info.kind == FileKind::Symlink {
        // golang.org/issue/27093.
        return Err(Rejection::Omitted(Error::Symlink));
    }
    if info.kind != FileKind::Regular {
        return Err(Rejection::Omitted(Error::NotRegular));
    }
    Ok(info.size)
}

/// The size limits on particular files: go.mod and LICENSE.
fn check_special_size(p: &str, size: u64) -> Result<(), Error> {
    if p == "go.mod" && size > MAX_GO_MOD {
        return Err(Error::GoModSize);
    }
    if p == "LICENSE" && size > MAX_LICENSE {
        return Err(Error::LicenseSize);
    }
    Ok(())
}

/// Go's `strings.EqualFold`.
fn eq_fold(a: &str, b: &str) -> bool {
    str_to_fold(a) == str_to_fold(b)
}

/// Checks the files in `dir` as [`create_from_dir`](super::create_from_dir) would list them
/// (Go's `CheckDir`). Paths in the result are OS paths under `dir`; an omitted directory
/// (nested module, VCS directory, vendored package) is listed without its files.
///
/// `Err` only for I/O errors while listing `dir`; check [`CheckedFiles::err`] too.
pub fn check_dir(dir: &Path) -> Result<CheckedFiles, Error> {
    let (files, omitted) = list_files_in_dir(dir)?;
    let mut cf = check_files(&files);
    for p in &mut cf.valid {
        *p = join_os(dir, p);
    }
    cf.omitted.extend(omitted);
    for fe in cf.omitted.iter_mut().chain(cf.invalid.iter_mut()) {
        fe.path = join_os(dir, &fe.path);
    }
    Ok(cf)
}

/// Checks the entries of the module zip read from `zip` for module `m` (Go's `CheckZip`).
/// Entry contents are not read, so [`unzip`](super::unzip) may still fail (on entries whose
/// content does not match their declared size, for one).
///
/// `Err` if the module path or version is invalid, or the zip cannot be read; otherwise
/// check [`CheckedFiles::err`], which includes a zip file over [`MAX_ZIP_FILE`].
pub fn check_zip<R: Read + Seek>(m: &Version, zip: R) -> Result<CheckedFiles, Error> {
    check_version(m)?;
    match check_zip_reader(m, zip)? {
        Checked::TooLarge(cf) => Ok(cf),
        Checked::Read(_, cf) => Ok(cf),
    }
}

/// [`check_zip`] on the zip file at `path`.
pub fn check_zip_file(m: &Version, path: &Path) -> Result<CheckedFiles, Error> {
    let f = std::fs::File::open(path)?;
    check_zip(m, f)
}

/// The checks a module proxy applies to a zip it serves for `m`: [`check_zip_file`];
/// except that a zip served under a canonical version that is not valid for the module
/// path (`rsc.io/quote` at `v2.0.0`, where the go command would ask for
/// `v2.0.0+incompatible` or `rsc.io/quote/v2`, but which an upstream may serve) gets every
/// rule on its entries (prefix, names, sizes, case-fold collisions, the zip's size)
/// without the one on the version. The version must be canonical.
pub fn check_served_zip_file(m: &Version, path: &Path) -> Result<CheckedFiles, Error> {
    if module::check(&m.path, &m.version).is_ok() {
        return check_zip_file(m, path);
    }
    let canonical = module::canonical_version(&m.version);
    if canonical != m.version {
        return Err(Error::NotCanonical {
            version: m.version.clone(),
            canonical,
        });
    }
    let f = std::io::BufReader::new(std::fs::File::open(path)?);
    match check_zip_reader(m, f)? {
        Checked::TooLarge(cf) => Ok(cf),
        Checked::Read(_, cf) => Ok(cf),
    }
}

pub(super) enum Checked<R> {
    /// The zip file itself is too large to be read.
    TooLarge(CheckedFiles),
    Read(ZipReader<R>, CheckedFiles),
}

/// Checks the module version: canonical and valid for the path.
pub(super) fn check_version(m: &Version) -> Result<(), Error> {
    let canonical = module::canonical_version(&m.version);
    if canonical != m.version {
        return Err(Error::NotCanonical {
            version: m.version.clone(),
            canonical,
        });
    }
    module::check(&m.path, &m.version)?;
    Ok(())
}

pub(super) fn check_zip_reader<R: Read + Seek>(
    m: &Version,
    mut zip: R,
) -> Result<Checked<R>, Error> {
    let zip_size = zip.seek(SeekFrom::End(0))?;
    if zip_size > MAX_ZIP_FILE {
        return Ok(Checked::TooLarge(CheckedFiles {
            size_error: Some(Error::ZipFileTooLarge { size: zip_size }),
            ..CheckedFiles::default()
        }));
    }
    let z = ZipReader::new(zip, zip_size)?;
    let mut cf = CheckedFiles::default();
    let prefix = format!("{}@{}/", m.path, m.version);
    let mut collisions = CollisionChecker::default();
    let mut size: u64 = 0;
    for zf in z.entries() {
        let add_error = |cf: &mut CheckedFiles, err: Error| {
            cf.invalid.push(FileError {
                path: zf.display_name(),
                err,
            });
        };
        let Some(name) = zf.name.strip_prefix(prefix.as_bytes()) else {
            add_error(
                &mut cf,
                Error::MissingPrefix {
                    prefix: prefix.clone(),
                },
            );
            continue;
        };
        if name.is_empty() {
            continue;
        }
        let (name, is_dir) = match name.strip_suffix(b"/") {
            Some(n) => (n, true),
            None => (name, false),
        };
        if gopath::clean_bytes(name) != name {
            add_error(&mut cf, Error::PathNotClean);
            continue;
        }
        let Ok(name) = std::str::from_utf8(name) else {
            add_error(
                &mut cf,
                Error::FilePathNotUtf8 {
                    name: name.to_vec(),
                },
            );
            continue;
        };
        if let Err(e) = module::check_file_path(name) {
            add_error(&mut cf, e.into());
            continue;
        }
        if let Err(e) = collisions.check(name, is_dir) {
            add_error(&mut cf, e);
            continue;
        }
        if is_dir {
            continue;
        }
        let base = gopath::base(name);
        if eq_fold(base, "go.mod") {
            if base != name {
                add_error(&mut cf, Error::GoModNotInRoot);
                continue;
            }
            if name != "go.mod" {
                add_error(&mut cf, Error::GoModCase);
                continue;
            }
        }
        let sz = zf.uncompressed_size;
        if sz <= MAX_ZIP_FILE - size {
            size += sz;
        } else if cf.size_error.is_none() {
            cf.size_error = Some(Error::ContentsTooLarge);
        }
        if name == "go.mod" && sz > MAX_GO_MOD {
            add_error(&mut cf, Error::GoModSize);
            continue;
        }
        if name == "LICENSE" && sz > MAX_LICENSE {
            add_error(&mut cf, Error::LicenseSize);
            continue;
        }
        cf.valid.push(zf.display_name());
    }
    Ok(Checked::Read(z, cf))
}

/// Finds case-insensitive name collisions and paths listed as both files and directories
/// (Go's `collisionChecker`): folded path -> (original path, is directory).
#[derive(Default)]
struct CollisionChecker(HashMap<String, (String, bool)>);

impl CollisionChecker {
    fn check(&mut self, p: &str, is_dir: bool) -> Result<(), Error> {
        let mut p = p.to_owned();
        let mut is_dir = is_dir;
        loop {
            let fold = str_to_fold(&p);
            if let Some((other, other_is_dir)) = self.0.get(&fold) {
                if p != *other {
                    return Err(Error::CaseCollision {
                        first: other.clone(),
                        second: p,
                    });
                }
                if is_dir != *other_is_dir {
                    return Err(Error::FileAndDir { path: p });
                }
                if !is_dir {
                    return Err(Error::MultipleEntries { path: p });
                }
                // The same directory again: parents are checked for every file in them.
            } else {
                self.0.insert(fold, (p.clone(), is_dir));
            }
            let parent = gopath::dir(&p);
            if parent == "." {
                return Ok(());
            }
            p = parent;
            is_dir = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A zip of `files` (name, content), written with the `zip` crate, not by our checker's
    /// own writer (which refuses versions not valid for the path).
    fn zip_file(dir: &Path, files: &[(&str, &str)]) -> std::path::PathBuf {
        let path = dir.join("m.zip");
        let mut w = ::zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        for (name, data) in files {
            w.start_file(*name, ::zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(data.as_bytes()).unwrap();
        }
        w.finish().unwrap();
        path
    }

    #[test]
    fn served_zips_under_a_version_not_valid_for_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let m = Version::new("rsc.io/quote", "v2.0.0");
        let good = zip_file(
            dir.path(),
            &[
                ("rsc.io/quote@v2.0.0/go.mod", "module rsc.io/quote\n"),
                ("rsc.io/quote@v2.0.0/quote.go", "package quote\n"),
            ],
        );
        // The go command's own check refuses the version; as a served zip it passes.
        assert_eq!(
            check_zip_file(&m, &good).unwrap_err().to_string(),
            "rsc.io/quote@v2.0.0: invalid version: should be v0 or v1, not v2"
        );
        let cf = check_served_zip_file(&m, &good).unwrap();
        assert!(cf.err().is_ok());
        assert_eq!(
            cf.valid,
            ["rsc.io/quote@v2.0.0/go.mod", "rsc.io/quote@v2.0.0/quote.go"]
        );
        // Every rule on the files still holds.
        let bad = zip_file(
            dir.path(),
            &[
                ("rsc.io/quote@v2.0.0/x/Y.go", "package x\n"),
                ("rsc.io/quote@v2.0.0/x/y.go", "package x\n"),
                ("rsc.io/other@v2.0.0/a.go", "package a\n"),
            ],
        );
        assert_eq!(
            check_served_zip_file(&m, &bad)
                .unwrap()
                .err()
                .unwrap_err()
                .to_string(),
            "rsc.io/quote@v2.0.0/x/y.go: case-insensitive file name collision: \"x/Y.go\" and \"x/y.go\"\nrsc.io/other@v2.0.0/a.go: path does not have prefix \"rsc.io/quote@v2.0.0/\""
        );
        // A version valid for the path gets the go command's whole check; a
        // non-canonical one is refused either way.
        let v1 = Version::new("rsc.io/quote", "v1.5.2");
        assert!(check_served_zip_file(&v1, &good).unwrap().err().is_err());
        assert_eq!(
            check_served_zip_file(&Version::new("rsc.io/quote", "v2.0"), &good)
                .unwrap_err()
                .to_string(),
            "version \"v2.0\" is not canonical (should be \"v2.0.0\")"
        );
    }
}
