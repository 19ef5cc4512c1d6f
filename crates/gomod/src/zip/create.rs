//! Creating module zips.

use std::io::{Read, Write};
use std::path::Path;

use super::check::{check_files_sized, check_version};
use super::dir::list_files_in_dir;
use super::writer::Writer;
use super::{Error, File};
use crate::module::Version;

/// Writes the module zip of module `m` made of `files` to `w` (Go's `Create`).
///
/// The version must be canonical and match the path's major version suffix; files are
/// checked with [`check_files`](super::check_files): omitted files (nested modules,
/// vendored packages, links, irregular files) are left out, and any invalid file or a total
/// over [`MAX_ZIP_FILE`](super::MAX_ZIP_FILE) is an error. Contents are streamed and
/// deflated; a file yielding more bytes than its `lstat` size is an error. The bytes are
/// the go command's: the zip is laid out as Go's `archive/zip` writes it and deflated as
/// its `compress/flate` does ([`Writer`](super::Writer)).
///
/// Errors are wrapped as `create zip: ...`.
pub fn create<W, F>(w: W, m: &Version, files: &[F]) -> Result<(), Error>
where
    W: Write,
    F: File,
{
    create_inner(w, m, files).map_err(|e| Error::op("create zip", None, e))
}

fn create_inner<W, F>(w: W, m: &Version, files: &[F]) -> Result<(), Error>
where
    W: Write,
    F: File,
{
    check_version(m)?;
    let (cf, valid) = check_files_sized(files);
    cf.err()?;

    let mut zw = Writer::new(w);
    let prefix = format!("{}@{}/", m.path, m.version);
    for (i, size) in valid {
        let Some(f) = files.get(i) else { continue };
        let path = f.path();
        let rc = f.open()?;
        let mut lr = rc.take(size.saturating_add(1));
        zw.add(&format!("{prefix}{path}"), &mut lr)?;
        if lr.limit() == 0 {
            return Err(Error::LargerThanDeclared {
                path: path.to_owned(),
            });
        }
    }
    zw.finish()?;
    Ok(())
}

/// Writes the module zip of module `m` made of the files in directory `dir` to `w` (Go's
/// `CreateFromDir`). As [`create`], and also leaves out `.bzr`, `.git`, `.hg` and `.svn`
/// directories and directories holding another module's go.mod.
///
/// Errors are wrapped as `create zip {dir}: ...`, or `create zip from directory {dir}: ...`
/// when the directory could not be listed.
pub fn create_from_dir<W: Write>(w: W, m: &Version, dir: &Path) -> Result<(), Error> {
    let shown = Some(dir.display().to_string());
    let (files, _) = list_files_in_dir(dir)
        .map_err(|e| Error::op("create zip from directory", shown.clone(), e))?;
    create(w, m, &files).map_err(|e| match e {
        Error::Op { verb, source, .. } => Error::Op {
            verb,
            path: shown,
            source,
        },
        e => e,
    })
}
