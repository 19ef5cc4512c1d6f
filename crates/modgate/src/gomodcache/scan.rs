//! Finding what a module cache holds, as cmd/go/internal/modfetch lays it out: under
//! `cache/download/<escaped path>/@v/` each version's `.info`, `.mod`, `.zip`,
//! `.ziphash`, `.partial` (an extraction under way or cut short) and `.lock` (the
//! version's lock file, left in place by design), and the temporary files of writes cut
//! short (`<name><digits>.tmp`); at the top, each extracted tree
//! `<escaped path>@<escaped version>` (and `<tree>.tmp-*` directories of go before 1.16).
//! `cache/download/sumdb` (the checksum database's cache) and `cache/vcs` are not
//! module entries and are left out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gomod::layout::{self, Ext};

use crate::platform::path::native;

/// The files of one version in `cache/download/.../@v`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Files {
    /// `<v>.info`.
    pub info: bool,
    /// `<v>.mod`.
    pub gomod: bool,
    /// `<v>.zip`.
    pub zip: bool,
    /// `<v>.ziphash`.
    pub ziphash: bool,
    /// `<v>.partial`.
    pub partial: bool,
    /// `<v>.lock`.
    pub lock: bool,
}

/// One module version in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The module path.
    pub path: String,
    /// The version.
    pub version: String,
    /// Its `cache/download/<escaped path>/@v` directory.
    pub vdir: PathBuf,
    /// Its escaped version (the files' stem).
    pub stem: String,
    /// Which of its files are there.
    pub files: Files,
    /// Its extracted tree's place, and whether it is there.
    pub tree: PathBuf,
    /// Whether the extracted tree is there.
    pub extracted: bool,
    /// Temporary files and directories of writes of this version cut short.
    pub leftovers: Vec<PathBuf>,
}

impl Entry {
    /// The path of its file `ext`.
    pub fn file(&self, ext: Ext) -> PathBuf {
        self.vdir.join(format!("{}.{}", self.stem, ext.as_str()))
    }

    /// `path@version`, the prefix of its files in hashes.
    pub fn id(&self) -> String {
        format!("{}@{}", self.path, self.version)
    }
}

/// What a scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Every version, by path then version.
    pub entries: Vec<Entry>,
    /// Directories under `cache/download` the owner cannot write (the go command cannot
    /// add a version, a lock or a list there).
    pub read_only: Vec<PathBuf>,
    /// Temporary files that belong to no version (an `@v/list` rewrite cut short).
    pub strays: Vec<PathBuf>,
    /// Names that are not a module cache's, and why (left alone).
    pub unknown: Vec<(PathBuf, String)>,
}

/// Scans the module cache `modcache`. What cannot be read is named in
/// [`Scan::unknown`]; a cache without `cache/download` holds nothing.
pub fn scan(modcache: &Path) -> Scan {
    let mut out = Scan::default();
    let mut by_key: BTreeMap<(String, String), Entry> = BTreeMap::new();
    let download = modcache.join(native(layout::DOWNLOAD));
    let mut stack = vec![download.clone()];
    while let Some(d) = stack.pop() {
        if let Ok(m) = std::fs::metadata(&d)
            && !crate::platform::file_mode::owner_can_write(&m)
        {
            out.read_only.push(d.clone());
        }
        let rd = match std::fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) if d == download && e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => {
                out.unknown.push((d.clone(), format!("cannot read: {e}")));
                continue;
            }
        };
        if d.file_name().is_some_and(|n| n == "@v") {
            version_dir(&download, &d, rd, modcache, &mut by_key, &mut out);
            continue;
        }
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                // The checksum database's own cache is not a module's.
                if d == download && e.file_name() == "sumdb" {
                    continue;
                }
                stack.push(p);
            }
        }
    }
    trees(modcache, &mut by_key, &mut out);
    out.entries = by_key.into_values().collect();
    out.read_only.sort();
    out
}

/// A relative path as the module cache's names are written: its components joined by
/// `/` (Windows joins them with `\`); `None` when one is not UTF-8.
fn slashed(rel: &Path) -> Option<String> {
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

/// The files of one `@v` directory.
fn version_dir(
    download: &Path,
    vdir: &Path,
    rd: std::fs::ReadDir,
    modcache: &Path,
    by_key: &mut BTreeMap<(String, String), Entry>,
    out: &mut Scan,
) {
    let Some(escaped) = vdir
        .parent()
        .and_then(|p| p.strip_prefix(download).ok())
        .and_then(slashed)
    else {
        return;
    };
    let escaped = escaped.as_str();
    let Ok(path) = gomod::module::unescape_path(escaped) else {
        out.unknown
            .push((vdir.to_path_buf(), "not an escaped module path".into()));
        return;
    };
    let mut temps = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "list" {
            continue;
        }
        if let Some(prefix) = layout::temp_prefix(&name) {
            temps.push((prefix.to_string(), e.path()));
            continue;
        }
        let Some((stem, ext)) = layout::parse_version_file(&name) else {
            out.unknown
                .push((e.path(), "not a module cache file".into()));
            continue;
        };
        let Ok(version) = gomod::module::unescape_version(stem) else {
            out.unknown
                .push((e.path(), "not an escaped version".into()));
            continue;
        };
        let entry = by_key
            .entry((path.clone(), version.clone()))
            .or_insert_with(|| new_entry(modcache, vdir, escaped, &path, &version, stem));
        let f = &mut entry.files;
        match ext {
            Ext::Info => f.info = true,
            Ext::Mod => f.gomod = true,
            Ext::Zip => f.zip = true,
            Ext::ZipHash => f.ziphash = true,
            Ext::Partial => f.partial = true,
            Ext::Lock => f.lock = true,
        }
    }
    for (prefix, p) in temps {
        // `<stem>.<ext>` of a version: that version's; `list`: nobody's.
        let owner = layout::parse_version_file(&prefix)
            .and_then(|(stem, _)| gomod::module::unescape_version(stem).ok())
            .and_then(|v| by_key.get_mut(&(path.clone(), v)));
        match owner {
            Some(e) => e.leftovers.push(p),
            None => out.strays.push(p),
        }
    }
}

fn new_entry(
    modcache: &Path,
    vdir: &Path,
    escaped: &str,
    path: &str,
    version: &str,
    stem: &str,
) -> Entry {
    let tree = modcache.join(native(&format!("{escaped}@{stem}")));
    Entry {
        path: path.to_string(),
        version: version.to_string(),
        vdir: vdir.to_path_buf(),
        stem: stem.to_string(),
        files: Files::default(),
        extracted: tree.is_dir(),
        tree,
        leftovers: Vec::new(),
    }
}

/// The extracted trees: every directory whose name has an `@` (not under `cache`);
/// those of no version in `cache/download` become entries of their own; `.tmp-*`
/// directories beside them are leftovers.
fn trees(modcache: &Path, by_key: &mut BTreeMap<(String, String), Entry>, out: &mut Scan) {
    let mut stack = vec![modcache.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let p = e.path();
            if d == modcache && e.file_name() == "cache" {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(at) = name.find('@') else {
                stack.push(p);
                continue;
            };
            let Some(rel) = p.strip_prefix(modcache).ok().and_then(slashed) else {
                continue;
            };
            let (esc_path, rest) = rel.split_at(rel.len() - (name.len() - at));
            let rest = &rest[1..];
            let (stem, tmp) = match rest.split_once(".tmp-") {
                Some((s, _)) => (s, true),
                None => (rest, false),
            };
            let (Ok(path), Ok(version)) = (
                gomod::module::unescape_path(esc_path),
                gomod::module::unescape_version(stem),
            ) else {
                out.unknown
                    .push((p, "a directory with @ that is not a module tree".into()));
                continue;
            };
            let vdir = modcache
                .join(native(layout::DOWNLOAD))
                .join(native(esc_path))
                .join("@v");
            let entry = by_key
                .entry((path.clone(), version.clone()))
                .or_insert_with(|| new_entry(modcache, &vdir, esc_path, &path, &version, stem));
            if tmp {
                entry.leftovers.push(p);
            } else {
                entry.extracted = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_is_read_as_the_go_command_lays_it_out() {
        let d = tempfile::tempdir().unwrap();
        let mc = d.path();
        let v = mc.join("cache/download/github.com/!azure/x/@v");
        std::fs::create_dir_all(&v).unwrap();
        for f in [
            "v1.2.0.info",
            "v1.2.0.mod",
            "v1.2.0.zip",
            "v1.2.0.ziphash",
            "v1.2.0.lock",
            "v1.2.0.zip52.tmp",
            "list",
            "list7.tmp",
            "v1.3.0.mod",
            "v1.3.0.partial",
        ] {
            std::fs::write(v.join(f), "").unwrap();
        }
        std::fs::create_dir_all(mc.join("github.com/!azure/x@v1.2.0/sub")).unwrap();
        std::fs::create_dir_all(mc.join("github.com/!azure/x@v1.3.0.tmp-123")).unwrap();
        std::fs::create_dir_all(mc.join("example.com/orphan@v0.1.0")).unwrap();
        std::fs::create_dir_all(mc.join("cache/download/sumdb/sum.golang.org/lookup")).unwrap();
        let s = scan(mc);
        let got: Vec<(String, String, Files, bool, usize)> = s
            .entries
            .iter()
            .map(|e| {
                (
                    e.path.clone(),
                    e.version.clone(),
                    e.files.clone(),
                    e.extracted,
                    e.leftovers.len(),
                )
            })
            .collect();
        let f = |info, gomod, zip, ziphash, partial, lock| Files {
            info,
            gomod,
            zip,
            ziphash,
            partial,
            lock,
        };
        assert_eq!(
            got,
            vec![
                (
                    "example.com/orphan".into(),
                    "v0.1.0".into(),
                    Files::default(),
                    true,
                    0
                ),
                (
                    "github.com/Azure/x".into(),
                    "v1.2.0".into(),
                    f(true, true, true, true, false, true),
                    true,
                    1
                ),
                (
                    "github.com/Azure/x".into(),
                    "v1.3.0".into(),
                    f(false, true, false, false, true, false),
                    false,
                    1
                ),
            ]
        );
        assert_eq!(s.strays, vec![v.join("list7.tmp")]);
        assert_eq!(s.entries[1].file(Ext::Zip), v.join("v1.2.0.zip"));
        assert_eq!(s.entries[1].tree, mc.join("github.com/!azure/x@v1.2.0"));
        assert!(s.unknown.is_empty(), "{:?}", s.unknown);
    }
}
