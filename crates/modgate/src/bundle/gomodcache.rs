//! `bundle import --gomodcache DIR`: a bundle into the go command's own module cache, so
//! that `GOFLAGS=-mod=mod GOPROXY=off go build` finds everything at once.
//!
//! The whole bundle is read and checked first (every file, hash and proof, as `verify`
//! does), each file written into a staging directory inside the module cache
//! (`cache/modgate-import-<pid>`, outside `cache/download`, on the same disk). Only
//! then is anything moved into `cache/download`, a version at a time under its `.lock`
//! (taken without waiting, as the go command takes it): its `.mod`, `.info` and `.zip`
//! renamed into place, its `.ziphash` last (the go command takes a zip with a
//! `.ziphash` as complete; an `.info` written as the go command writes it), and its
//! `@v/list` rewritten as the go command rewrites it
//! (`rewriteVersionList`: every canonical version with a `.mod`, semver-sorted). Files
//! the cache already has are left alone; a `.mod` or `.ziphash` that differs from the
//! bundle's stops the import before anything moves. The checksum database's lookups and
//! tiles go where the go command caches them (`cache/download/sumdb/<db>/`), its signed
//! tree head to `$GOPATH/pkg/sumdb/<db>/latest` when there is none there yet (one the
//! go command already trusts is never replaced).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gomod::layout::Ext;

use super::{Error, Index, Summary};
use crate::platform::path::native;

/// The staging directory of an import, removed when dropped (also when it fails).
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn io(name: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Store {
        name: name.display().to_string(),
        source,
    }
}

/// What an import into a module cache did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Placed {
    /// Files moved into the module cache.
    pub written: usize,
    /// Files the module cache already had (left alone).
    pub kept: usize,
    /// The tree head written to `$GOPATH/pkg/sumdb`, if one was.
    pub latest: Option<PathBuf>,
}

/// Imports bundle `file` into the module cache `modcache`; `sumdb_dir` is the go
/// command's `$GOPATH/pkg/sumdb` (none without a GOPATH: the tree head is not written).
pub async fn import(
    file: &Path,
    modcache: &Path,
    sumdb_dir: Option<&Path>,
) -> Result<(Index, Summary, Placed), Error> {
    let staging = Staging(modcache.join("cache").join(format!(
        "modgate-import-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    )));
    std::fs::create_dir_all(&staging.0).map_err(io(&staging.0))?;
    let dir = staging.0.clone();
    // Each file staged flat, under its number (no directory tree to make twice), and
    // where it went by its name in the module cache.
    let mut staged: std::collections::HashMap<String, PathBuf> = std::collections::HashMap::new();
    let (index, summary) = super::read(file, |key, data| {
        let to = dir.join(staged.len().to_string());
        // An `.info` as the go command writes it into its cache (checked by `read`;
        // one with an `Origin` as the bundle has it).
        let data = match key.name().ends_with(".info") {
            true => gomod::info::parse(&data)
                .ok()
                .and_then(|i| gomod::info::cache_file(&i))
                .map_or(data, bytes::Bytes::from),
            false => data,
        };
        // Written here, on the one task of a command that does nothing else meanwhile:
        // a hop to the blocking pool per file cost more than the small write itself.
        // A zip is synced before its name moves in: after a crash, a `.ziphash` (which
        // the go command takes as "this zip is complete") must never stand beside a zip
        // whose bytes did not reach the disk. The small files are not (as the go command
        // writes them): one that a crash cut short does not parse, and `cache verify`
        // names it.
        let sync = key.name().ends_with(".zip");
        let written = (|| {
            use std::io::Write as _;
            let mut f = std::fs::File::create_new(&to)?;
            f.write_all(&data)?;
            if sync {
                f.sync_all()?;
            }
            Ok(())
        })()
        .map_err(io(&to));
        if written.is_ok() {
            staged.insert(key.name().to_string(), to);
        }
        async move { written }
    })
    .await?;
    let db = index.sumdb.as_ref().map(|d| d.name.clone());
    let placed = tokio::task::spawn_blocking({
        let modcache = modcache.to_path_buf();
        let sumdb_dir = sumdb_dir.map(Path::to_path_buf);
        let index = index.clone();
        move || {
            place(
                &index,
                &staged,
                &modcache,
                db.as_deref(),
                sumdb_dir.as_deref(),
            )
        }
    })
    .await
    .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))??;
    drop(staging);
    Ok((index, summary, placed))
}

/// A version's staged files, in the order they move in.
struct Moving {
    path: String,
    version: String,
    /// Their names in the module cache.
    files: Vec<String>,
}

/// Where each file of the bundle was staged, by its name in the module cache.
type Staged = std::collections::HashMap<String, PathBuf>;

/// Moves what was staged into the module cache (module docs).
fn place(
    index: &Index,
    staged: &Staged,
    modcache: &Path,
    db: Option<&str>,
    sumdb_dir: Option<&Path>,
) -> Result<Placed, Error> {
    let mut placed = Placed::default();
    let at = |root: &Path, name: &str| root.join(native(name));
    // Every version's files, checked against what the cache has before anything moves.
    let mut versions: Vec<Moving> = Vec::new();
    for m in &index.modules {
        let mut files = Vec::new();
        for ext in [Ext::Mod, Ext::Info, Ext::Zip, Ext::ZipHash] {
            let name = gomod::layout::version_file(&m.path, &m.version, ext)?;
            let Some(from) = staged.get(&name) else {
                continue;
            };
            let what = match ext {
                Ext::Mod => "go.mod",
                Ext::ZipHash => "zip hash",
                _ => "",
            };
            let have = at(modcache, &name);
            if !what.is_empty()
                && let Ok(theirs) = std::fs::read(&have)
                && theirs != std::fs::read(from).map_err(io(&have))?
            {
                return Err(Error::Conflict {
                    file: have,
                    what,
                    path: m.path.clone(),
                    version: m.version.clone(),
                });
            }
            files.push(name);
        }
        versions.push(Moving {
            path: m.path.clone(),
            version: m.version.clone(),
            files,
        });
    }
    let mut vdirs = BTreeSet::new();
    let mut made = Made::default();
    for Moving {
        path,
        version,
        files,
    } in &versions
    {
        let Some(first) = files.first() else {
            continue;
        };
        let vdir = at(modcache, first).parent().map(Path::to_path_buf);
        let Some(vdir) = vdir else { continue };
        let lock_file = at(
            modcache,
            &gomod::layout::version_file(path, version, Ext::Lock)?,
        );
        let Some(lock) = crate::gomodcache::lock::take_at(&vdir, &lock_file)? else {
            return Err(Error::Locked {
                file: lock_file,
                path: path.clone(),
                version: version.clone(),
            });
        };
        // The version's directory is synced before its `.ziphash` (last) moves in, and
        // after: the go command never finds the hash of a zip that is not there.
        for name in files {
            let to = at(modcache, name);
            if name.ends_with(".ziphash") {
                crate::platform::disk::sync_dir(&vdir).map_err(io(&vdir))?;
            }
            move_in(&staged[name], &to, &mut placed, &mut made)?;
        }
        crate::platform::disk::sync_dir(&vdir).map_err(io(&vdir))?;
        drop(lock);
        vdirs.insert(vdir);
    }
    for vdir in &vdirs {
        rewrite_version_list(vdir)?;
    }
    // The checksum database's files: lookups and tiles where the go command caches them.
    if let Some(db) = db {
        let prefix = gomod::layout::sumdb_file(db, "x")?;
        let prefix = prefix.trim_end_matches('x');
        let mut dirs = BTreeSet::new();
        let mut files: Vec<(&String, &PathBuf)> = staged
            .iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .collect();
        files.sort();
        for (name, from) in files {
            let rel = &name[prefix.len()..];
            if rel == "latest" {
                let Some(dir) = sumdb_dir else { continue };
                let to = dir.join(db).join("latest");
                if !to.exists() {
                    move_in(from, &to, &mut placed, &mut made)?;
                    sync_parent(&to)?;
                    placed.latest = Some(to);
                }
                continue;
            }
            let to = at(modcache, name);
            move_in(from, &to, &mut placed, &mut made)?;
            if let Some(parent) = to.parent() {
                dirs.insert(parent.to_path_buf());
            }
        }
        for d in dirs {
            crate::platform::disk::sync_dir(&d).map_err(io(&d))?;
        }
    }
    Ok(placed)
}

/// The directories an import made or found (each made once).
#[derive(Default)]
struct Made(BTreeSet<PathBuf>);

/// Renames `from` to `to` unless `to` is there already (its directory made if need be;
/// the caller syncs it).
fn move_in(from: &Path, to: &Path, placed: &mut Placed, made: &mut Made) -> Result<(), Error> {
    if to.exists() {
        placed.kept += 1;
        return Ok(());
    }
    if let Some(parent) = to.parent()
        && !made.0.contains(parent)
    {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
        made.0.insert(parent.to_path_buf());
    }
    std::fs::rename(from, to).map_err(io(to))?;
    placed.written += 1;
    Ok(())
}

/// Syncs the directory `file` is in.
fn sync_parent(file: &Path) -> Result<(), Error> {
    match file.parent() {
        Some(p) => crate::platform::disk::sync_dir(p).map_err(io(p)),
        None => Ok(()),
    }
}

/// Writes `vdir/list` as the go command's `rewriteVersionList` does: every file name
/// `<v>.mod` whose `v` is a canonical version, semver-sorted, a line each; left alone
/// when it already says that.
fn rewrite_version_list(vdir: &Path) -> Result<(), Error> {
    let mut list: Vec<String> = std::fs::read_dir(vdir)
        .map_err(io(vdir))?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let v = name.strip_suffix(".mod")?;
            (!v.is_empty() && gomod::module::canonical_version(v) == v).then(|| v.to_string())
        })
        .collect();
    gomod::semver::sort(&mut list);
    let text: String = list.iter().map(|v| format!("{v}\n")).collect();
    let file = vdir.join("list");
    if std::fs::read(&file).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(());
    }
    let tmp = vdir.join(format!("list.modgate-{}", std::process::id()));
    std::fs::write(&tmp, &text).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &file).map_err(io(&file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_list_is_written_as_the_go_command_writes_it() {
        let d = tempfile::tempdir().unwrap();
        let vdir = d.path().join("@v");
        std::fs::create_dir(&vdir).unwrap();
        // Canonical versions with a .mod, in semver order; not an .info alone, not a
        // non-canonical or escaped (upper-case) name, not a .mod named ".mod".
        for f in [
            "v1.10.0.mod",
            "v1.2.0.mod",
            "v1.2.0-pre.mod",
            "v2.0.0+incompatible.mod",
            "v0.0.0-20170915032832-14c0d48ead0c.mod",
            "v1.3.0.info",
            "v1.4.mod",
            "v1.5.0-!r!c1.mod",
            ".mod",
            "v1.2.0.zip",
        ] {
            std::fs::write(vdir.join(f), "").unwrap();
        }
        rewrite_version_list(&vdir).unwrap();
        assert_eq!(
            std::fs::read_to_string(vdir.join("list")).unwrap(),
            "v0.0.0-20170915032832-14c0d48ead0c\nv1.2.0-pre\nv1.2.0\nv1.10.0\nv2.0.0+incompatible\n"
        );
        // Unchanged: left alone (its time too).
        let before = std::fs::metadata(vdir.join("list"))
            .unwrap()
            .modified()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        rewrite_version_list(&vdir).unwrap();
        let after = std::fs::metadata(vdir.join("list"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(before, after);
        assert_eq!(std::fs::read_dir(&vdir).unwrap().count(), 11);
    }
}
