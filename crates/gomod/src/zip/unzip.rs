//! Extracting module zips safely.

use std::fs;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};

use super::Error;
use super::check::{Checked, check_version, check_zip_reader};
use crate::module::Version;

/// Extracts the module zip file at `zipfile` of module `m` into `dir` (Go's `Unzip`).
///
/// `dir` may not exist yet (it is created with its parents) but if it exists it must be
/// empty. The zip is checked first ([`check_zip`](super::check_zip)): an invalid zip
/// extracts nothing. Entry contents are then counted while they are written and an entry
/// with more (or fewer) bytes than declared, or a bad checksum, fails; in that case,
/// unlike Go, everything extracted so far is removed again, so a failed unzip leaves `dir`
/// as it found it. Files are created read-only, never overwriting anything.
///
/// Errors are wrapped as `unzip {zipfile}: ...`.
pub fn unzip(dir: &Path, m: &Version, zipfile: &Path) -> Result<(), Error> {
    let wrap = |e| Error::op("unzip", Some(zipfile.display().to_string()), e);
    ensure_empty(dir).map_err(wrap)?;
    let f = fs::File::open(zipfile).map_err(|e| wrap(e.into()))?;
    unzip_inner(dir, m, f).map_err(wrap)
}

/// [`unzip`] reading the zip from `zip`; errors are wrapped as `unzip: ...`.
pub fn unzip_reader<R: Read + Seek>(dir: &Path, m: &Version, zip: R) -> Result<(), Error> {
    let wrap = |e| Error::op("unzip", None, e);
    ensure_empty(dir).map_err(wrap)?;
    unzip_inner(dir, m, zip).map_err(wrap)
}

/// Go checks only that reading the directory yields no entries (a missing or unreadable
/// directory passes; creating it later reports the problem).
fn ensure_empty(dir: &Path) -> Result<(), Error> {
    if let Ok(mut entries) = fs::read_dir(dir)
        && entries.next().is_some()
    {
        return Err(Error::TargetNotEmpty {
            dir: dir.to_path_buf(),
        });
    }
    Ok(())
}

fn unzip_inner<R: Read + Seek>(dir: &Path, m: &Version, zip: R) -> Result<(), Error> {
    check_version(m)?;
    let (mut z, cf) = match check_zip_reader(m, zip)? {
        Checked::TooLarge(cf) => {
            cf.err()?;
            return Err(Error::Format);
        }
        Checked::Read(z, cf) => (z, cf),
    };
    cf.err()?;

    let existed = dir.exists();
    fs::create_dir_all(dir)?;
    let mut created = Created {
        dir: dir.to_path_buf(),
        existed,
        done: false,
    };

    let prefix_len = m.path.len() + 1 + m.version.len() + 1;
    for i in 0..z.entries().len() {
        let (name, declared, display) = {
            let zf = &z.entries()[i];
            (
                zf.name.get(prefix_len..).unwrap_or_default().to_vec(),
                zf.uncompressed_size,
                zf.display_name(),
            )
        };
        if name.is_empty() || name.ends_with(b"/") {
            continue;
        }
        // check_zip accepted the name: UTF-8, clean, relative, no "..", no backslash.
        let name = String::from_utf8(name).map_err(|_| Error::Format)?;
        let dst = dir.join(&name);
        if let Some(parent) = dst.parent() {
            fs::create_dir_all(parent)?;
        }
        let mut w = create_new_read_only(&dst)?;
        let r = z.open(i)?;
        let mut lr = r.take(declared.saturating_add(1));
        io::copy(&mut lr, &mut w)?;
        drop(w);
        if lr.limit() == 0 {
            return Err(Error::UnzipLargerThanDeclared {
                name: display,
                size: declared,
            });
        }
    }
    created.done = true;
    Ok(())
}

fn create_new_read_only(path: &Path) -> io::Result<fs::File> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o444);
    }
    opts.open(path)
}

/// Removes what an unfinished unzip extracted: the whole directory if unzip created it,
/// its contents otherwise (it was empty before).
struct Created {
    dir: PathBuf,
    existed: bool,
    done: bool,
}

impl Drop for Created {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if !self.existed {
            let _ = fs::remove_dir_all(&self.dir);
            return;
        }
        if let Ok(entries) = fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                let p = entry.path();
                let _ = match entry.file_type() {
                    Ok(t) if t.is_dir() => fs::remove_dir_all(&p),
                    _ => fs::remove_file(&p),
                };
            }
        }
    }
}
