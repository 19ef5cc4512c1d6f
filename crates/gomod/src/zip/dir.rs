//! Listing a module directory as x/mod's `listFilesInDir` does.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::{Error, File, FileError, FileInfo, FileKind, gopath, is_vendored_package};

/// A file found in a directory: its path relative to the module root, its location on disk
/// and what `lstat` said when it was listed.
#[derive(Debug, Clone)]
pub(super) struct DirFile {
    os_path: PathBuf,
    slash_path: String,
    /// The path as bytes, when it is not UTF-8 (`slash_path` is then its lossy form).
    raw_path: Option<Vec<u8>>,
    info: FileInfo,
}

impl File for DirFile {
    fn path(&self) -> &str {
        &self.slash_path
    }
    fn raw_path(&self) -> Option<&[u8]> {
        self.raw_path.as_deref()
    }
    fn lstat(&self) -> io::Result<FileInfo> {
        Ok(self.info)
    }
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(fs::File::open(&self.os_path)?))
    }
}

pub(super) fn file_info(md: &fs::Metadata) -> FileInfo {
    let ft = md.file_type();
    let kind = if ft.is_symlink() {
        FileKind::Symlink
    } else if ft.is_dir() {
        FileKind::Dir
    } else if ft.is_file() {
        FileKind::Regular
    } else {
        FileKind::Other
    };
    FileInfo {
        size: md.len(),
        kind,
    }
}

/// Go's `filepath.Join(dir, p)` for display: the cleaned slash-joined path.
pub(super) fn join_os(dir: &Path, p: &str) -> String {
    gopath::clean(&format!("{}/{}", dir.to_string_lossy(), p))
}

/// Walks `dir` in lexical order without following links (Go's `filepath.Walk`) and returns
/// the files to zip, and the files and directories left out: VCS directories, nested
/// modules (directories with a go.mod), vendored packages (kept as x/mod keeps them, see
/// [`is_vendored_package`]) and irregular files.
pub(super) fn list_files_in_dir(dir: &Path) -> Result<(Vec<DirFile>, Vec<FileError>), Error> {
    let mut files = Vec::new();
    let mut omitted = Vec::new();
    let md = fs::symlink_metadata(dir)?;
    walk(dir, b".", true, &md, &mut files, &mut omitted)?;
    Ok((files, omitted))
}

fn walk(
    os_path: &Path,
    slash_raw: &[u8],
    is_root: bool,
    md: &fs::Metadata,
    files: &mut Vec<DirFile>,
    omitted: &mut Vec<FileError>,
) -> Result<(), Error> {
    let info = file_info(md);
    if info.kind == FileKind::Dir {
        // Go reads the names before calling the walk function on the directory.
        let mut names = Vec::new();
        for entry in fs::read_dir(os_path)? {
            let name = entry?.file_name();
            names.push((name_bytes(&name), name));
        }
        names.sort();
        if !visit(os_path, slash_raw, is_root, info, files, omitted)? {
            return Ok(());
        }
        for (bytes, name) in names {
            let child_os = os_path.join(&name);
            let child_slash = if is_root {
                bytes
            } else {
                [slash_raw, b"/", &bytes].concat()
            };
            let md = fs::symlink_metadata(&child_os)?;
            walk(&child_os, &child_slash, false, &md, files, omitted)?;
        }
        return Ok(());
    }
    visit(os_path, slash_raw, is_root, info, files, omitted)?;
    Ok(())
}

/// A directory entry's name as Go's `filepath.Walk` sees it: its bytes on Unix; on
/// Windows the UTF-16 name decoded, a lone surrogate as U+FFFD (Go's
/// `syscall.UTF16ToString`).
fn name_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        name.as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        name.to_string_lossy().into_owned().into_bytes()
    }
}

/// The walk function of x/mod's `listFilesInDir`; false means skip this directory.
fn visit(
    os_path: &Path,
    slash_raw: &[u8],
    is_root: bool,
    info: FileInfo,
    files: &mut Vec<DirFile>,
    omitted: &mut Vec<FileError>,
) -> Result<bool, Error> {
    let slash_path = String::from_utf8_lossy(slash_raw);
    let slash_path = slash_path.as_ref();
    // Vendored packages are left out file by file (directories are still walked), to
    // match what Create does with the same files.
    if is_vendored_package(slash_path) {
        omitted.push(FileError {
            path: slash_path.to_owned(),
            err: Error::Vendored,
        });
        return Ok(true);
    }
    if info.kind == FileKind::Dir {
        if is_root {
            return Ok(true);
        }
        if matches!(gopath::base(slash_path), ".bzr" | ".git" | ".hg" | ".svn") {
            omitted.push(FileError {
                path: slash_path.to_owned(),
                err: Error::Vcs,
            });
            return Ok(false);
        }
        if let Ok(md) = fs::symlink_metadata(os_path.join("go.mod"))
            && !md.is_dir()
        {
            omitted.push(FileError {
                path: slash_path.to_owned(),
                err: Error::SubmoduleDir,
            });
            return Ok(false);
        }
        return Ok(true);
    }
    if info.kind != FileKind::Regular {
        omitted.push(FileError {
            path: slash_path.to_owned(),
            err: Error::NotRegular,
        });
        return Ok(true);
    }
    files.push(DirFile {
        os_path: os_path.to_path_buf(),
        slash_path: slash_path.to_owned(),
        raw_path: std::str::from_utf8(slash_raw)
            .is_err()
            .then(|| slash_raw.to_vec()),
        info,
    });
    Ok(true)
}
