//! The checks of one cache entry, the way the go command trusts it
//! (cmd/go/internal/modcmd/verify.go, modfetch/fetch.go and cache.go): the zip hashes to
//! its `.ziphash` ("zip has been modified"), the extracted tree hashes to it too ("dir
//! has been modified"), a `.ziphash` is there when the zip or tree is ("missing
//! ziphash"), no `.partial` is left, `.info` and `.mod` parse, go.sum lines agree, no
//! temporary file of a write cut short is left, the version's lock is not held now, and
//! the permissions are the go command's (a tree read-only unless `-modcacherw`).

use std::collections::HashMap;
use std::path::PathBuf;

use gomod::layout::Ext;
use serde::Serialize;

use super::scan::Entry;
use crate::platform::file_mode;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Nothing to do: the go command mends it itself when it needs to.
    Notice,
    /// Harmless now, but left behind or changed: `cache repair` tidies it.
    Warning,
    /// The go command fails, or builds from damaged code: `cache repair` fixes it.
    Problem,
}

/// What is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The zip does not hash to its `.ziphash`.
    ZipModified,
    /// The zip cannot be read as a module zip.
    ZipUnreadable,
    /// A zip or extracted tree without its `.ziphash`.
    ZiphashMissing,
    /// A `.ziphash` that is not an `h1:` hash.
    ZiphashInvalid,
    /// The extracted tree does not hash to the module's hash.
    TreeModified,
    /// The extracted tree cannot be read.
    TreeUnreadable,
    /// A zip without its extracted tree.
    TreeMissing,
    /// A `.partial` file: an extraction cut short.
    Partial,
    /// An `.info` that does not parse or names another version.
    InfoInvalid,
    /// A `.mod` that does not parse.
    ModInvalid,
    /// A go.sum line that disagrees with the cache.
    GoSumMismatch,
    /// A temporary file of a write cut short, or a lock file of nothing.
    Leftover,
    /// The version's lock is held by a running process.
    LockHeld,
    /// A directory under `cache/download` its owner cannot write.
    ReadOnlyDir,
    /// An extracted tree with write permission (the go command makes them read-only).
    WritableTree,
}

impl Kind {
    /// How bad it is.
    pub fn severity(self) -> Severity {
        match self {
            Kind::TreeMissing => Severity::Notice,
            Kind::Leftover | Kind::LockHeld | Kind::WritableTree => Severity::Warning,
            _ => Severity::Problem,
        }
    }

    /// What it means for the go command.
    pub fn meaning(self) -> &'static str {
        match self {
            Kind::ZipModified => {
                "zip has been modified: go mod verify fails, and an extraction from it would use damaged code"
            }
            Kind::ZipUnreadable => "the zip is damaged: the go command cannot extract it",
            Kind::ZiphashMissing => {
                "missing ziphash: the go command treats the tree as partly extracted, and go mod verify fails"
            }
            Kind::ZiphashInvalid => "the .ziphash is not a hash: the go command stops on it",
            Kind::TreeModified => {
                "dir has been modified: builds use the changed code, and go mod verify fails"
            }
            Kind::TreeUnreadable => "the extracted tree cannot be read: builds fail",
            Kind::TreeMissing => "not extracted: the go command extracts the zip when it needs it",
            Kind::Partial => {
                "an extraction was cut short: the go command extracts again when it needs it, the half tree stays until then"
            }
            Kind::InfoInvalid => "the .info is damaged: the go command cannot read the version",
            Kind::ModInvalid => "the .mod is damaged: loading the module graph fails",
            Kind::GoSumMismatch => {
                "go.sum disagrees with the cache: the go command stops with a checksum mismatch"
            }
            Kind::Leftover => "left by a write or download cut short",
            Kind::LockHeld => {
                "a running process holds this version's lock: every go command that needs it waits"
            }
            Kind::ReadOnlyDir => {
                "the go command cannot add versions, locks or lists here: downloads fail with permission denied"
            }
            Kind::WritableTree => {
                "the go command leaves extracted trees read-only so that they are not edited by mistake"
            }
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What.
    pub kind: Kind,
    /// How bad.
    pub severity: Severity,
    /// The module path (empty for a directory of no version).
    pub module: String,
    /// The version.
    pub version: String,
    /// The file or directory concerned.
    pub path: PathBuf,
    /// What was measured.
    pub detail: String,
    /// The process holding the lock ([`Kind::LockHeld`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

impl Finding {
    /// A finding of `kind` on `e`'s `path`.
    pub fn of(e: &Entry, kind: Kind, path: PathBuf, detail: String) -> Finding {
        Finding {
            kind,
            severity: kind.severity(),
            module: e.path.clone(),
            version: e.version.clone(),
            path,
            detail,
            pid: None,
        }
    }
}

/// The hashes go.sum files give: (path, version) → (zip hash, go.mod hash), each
/// with the file and line that said it.
pub type GoSums = HashMap<(String, String), GoSumLines>;

/// One version's go.sum lines: the zip's and the go.mod's, each its hash and where it is
/// written (`file:line`).
pub type GoSumLines = (Option<(String, String)>, Option<(String, String)>);

/// Why go.sum files could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A go.sum file could not be read.
    #[error("{}: {source}", file.display())]
    GoSum {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Reads go.sum `files` into [`GoSums`] (later lines do not replace earlier ones).
pub fn read_go_sums(files: &[PathBuf]) -> Result<GoSums, Error> {
    let mut out = GoSums::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|source| Error::GoSum {
            file: f.clone(),
            source,
        })?;
        for (n, line) in text.lines().enumerate() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [path, vers, hash] = fields[..] else {
                continue;
            };
            let at = format!("{}:{}", f.display(), n + 1);
            let e = out.entry((
                path.to_string(),
                vers.trim_end_matches("/go.mod").to_string(),
            ));
            let slot = if vers.ends_with("/go.mod") {
                &mut e.or_default().1
            } else {
                &mut e.or_default().0
            };
            slot.get_or_insert((hash.to_string(), at));
        }
    }
    Ok(out)
}

/// What the checks need besides the entry.
pub struct Context<'a> {
    /// go.sum hashes to compare with.
    pub go_sums: &'a GoSums,
    /// GOFLAGS has `-modcacherw`: trees are left writable on purpose.
    pub modcache_rw: bool,
}

/// Whether `h` is an `h1:` hash (base64 of 32 bytes).
fn is_h1(h: &str) -> bool {
    use base64::Engine;
    h.strip_prefix("h1:").is_some_and(|b| {
        base64::engine::general_purpose::STANDARD
            .decode(b)
            .is_ok_and(|d| d.len() == 32)
    })
}

/// The findings of one entry; and the bytes it read.
pub fn check(e: &Entry, cx: &Context<'_>) -> (Vec<Finding>, u64) {
    let mut out = Vec::new();
    let mut read = 0u64;
    let f = &e.files;
    // The lock: held now, the entry is being written; look at nothing else.
    if f.lock
        && let Some(h) = super::lock::holder(&e.file(Ext::Lock))
    {
        let by = match h.pid {
            Some(pid) => format!("held by pid {pid} ({})", h.command),
            None => format!("held by {}", h.command),
        };
        out.push(Finding {
            pid: h.pid,
            ..Finding::of(e, Kind::LockHeld, e.file(Ext::Lock), by)
        });
        return (out, read);
    }
    for p in &e.leftovers {
        out.push(Finding::of(e, Kind::Leftover, p.clone(), String::new()));
    }
    if f.lock && !f.info && !f.gomod && !f.zip && !f.ziphash && !f.partial && !e.extracted {
        out.push(Finding::of(
            e,
            Kind::Leftover,
            e.file(Ext::Lock),
            "a lock file of a version with nothing else".into(),
        ));
    }
    let want = ziphash(e, &mut out);
    let mut zip_hash = None;
    if f.zip {
        let zip = e.file(Ext::Zip);
        read += std::fs::metadata(&zip).map_or(0, |m| m.len());
        match gomod::dirhash::hash_zip_file(&zip) {
            Ok(h) => {
                if let Some(w) = &want
                    && &h != w
                {
                    out.push(Finding::of(
                        e,
                        Kind::ZipModified,
                        zip.clone(),
                        format!("hashes to {h}, its .ziphash says {w}"),
                    ));
                }
                zip_hash = Some(h);
            }
            Err(err) => out.push(Finding::of(e, Kind::ZipUnreadable, zip, err.to_string())),
        }
    }
    if f.partial {
        out.push(Finding::of(
            e,
            Kind::Partial,
            e.file(Ext::Partial),
            if e.extracted {
                format!("{} is partly extracted", e.tree.display())
            } else {
                String::new()
            },
        ));
    } else if e.extracted {
        read += tree(e, cx, want.as_deref().or(zip_hash.as_deref()), &mut out);
    } else if f.zip {
        out.push(Finding::of(
            e,
            Kind::TreeMissing,
            e.tree.clone(),
            String::new(),
        ));
    }
    if f.info {
        info(e, &mut out);
    }
    let mut mod_hash = None;
    if f.gomod {
        let p = e.file(Ext::Mod);
        match std::fs::read(&p) {
            Ok(d) => {
                read += d.len() as u64;
                match gomod::modfile::parse_lax(&p.display().to_string(), &d, None) {
                    Ok(_) => mod_hash = Some(gomod::dirhash::hash_go_mod(&d)),
                    Err(err) => {
                        out.push(Finding::of(e, Kind::ModInvalid, p, err.to_string()));
                    }
                }
            }
            Err(err) => out.push(Finding::of(e, Kind::ModInvalid, p, err.to_string())),
        }
    }
    if let Some(lines) = cx.go_sums.get(&(e.path.clone(), e.version.clone())) {
        go_sum(e, lines, want.or(zip_hash), mod_hash, &mut out);
    }
    (out, read)
}

/// The module's hash, as its `.ziphash` says (a finding when it is not a hash, or
/// missing where a zip or tree needs it).
fn ziphash(e: &Entry, out: &mut Vec<Finding>) -> Option<String> {
    let f = &e.files;
    if !f.ziphash {
        if f.zip || (e.extracted && !f.partial) {
            out.push(Finding::of(
                e,
                Kind::ZiphashMissing,
                e.file(Ext::ZipHash),
                String::new(),
            ));
        }
        return None;
    }
    match std::fs::read_to_string(e.file(Ext::ZipHash)) {
        Ok(s) if is_h1(s.trim()) => return Some(s.trim().to_string()),
        Ok(s) => out.push(Finding::of(
            e,
            Kind::ZiphashInvalid,
            e.file(Ext::ZipHash),
            format!("holds {:?}", s.chars().take(80).collect::<String>()),
        )),
        Err(err) => out.push(Finding::of(
            e,
            Kind::ZiphashInvalid,
            e.file(Ext::ZipHash),
            err.to_string(),
        )),
    }
    None
}

/// The `.info` parses, and names the entry's version.
fn info(e: &Entry, out: &mut Vec<Finding>) {
    let p = e.file(Ext::Info);
    match std::fs::read(&p)
        .map_err(|e| e.to_string())
        .and_then(|d| gomod::info::parse(&d).map_err(|e| e.to_string()))
    {
        Ok(info) if info.version == e.version => {}
        Ok(info) => out.push(Finding::of(
            e,
            Kind::InfoInvalid,
            p,
            format!("names version {:?}", info.version),
        )),
        Err(err) => out.push(Finding::of(e, Kind::InfoInvalid, p, err)),
    }
}

/// go.sum's lines for the entry (zip, go.mod: each the hash and where it is written)
/// against what the cache has.
fn go_sum(
    e: &Entry,
    (zip_line, mod_line): &GoSumLines,
    zip_have: Option<String>,
    mod_have: Option<String>,
    out: &mut Vec<Finding>,
) {
    if let (Some((h, at)), Some(have)) = (zip_line, zip_have)
        && *h != have
    {
        out.push(Finding::of(
            e,
            Kind::GoSumMismatch,
            e.file(Ext::ZipHash),
            format!("{at} says {h}, the cache has {have}"),
        ));
    }
    if let (Some((h, at)), Some(have)) = (mod_line, mod_have)
        && *h != have
    {
        out.push(Finding::of(
            e,
            Kind::GoSumMismatch,
            e.file(Ext::Mod),
            format!("{at} says {h} for go.mod, the cache has {have}"),
        ));
    }
}

/// The extracted tree against `want` (the module's hash), and its permissions; the
/// bytes read.
fn tree(e: &Entry, cx: &Context<'_>, want: Option<&str>, out: &mut Vec<Finding>) -> u64 {
    let mut read = 0;
    let mut writable = None;
    let mut stack = vec![e.tree.clone()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        if writable.is_none()
            && std::fs::metadata(&d).is_ok_and(|m| file_mode::anyone_can_write(&m))
        {
            writable = Some(d.clone());
        }
        for x in rd.flatten() {
            let p = x.path();
            if x.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else if let Ok(m) = x.metadata() {
                read += m.len();
                if writable.is_none() && file_mode::anyone_can_write(&m) {
                    writable = Some(p);
                }
            }
        }
    }
    match gomod::dirhash::hash_dir(&e.tree, &e.id()) {
        Ok(h) => {
            if let Some(w) = want
                && h != w
            {
                out.push(Finding::of(
                    e,
                    Kind::TreeModified,
                    e.tree.clone(),
                    format!("hashes to {h}, the module to {w}"),
                ));
            }
        }
        Err(err) => out.push(Finding::of(
            e,
            Kind::TreeUnreadable,
            e.tree.clone(),
            err.to_string(),
        )),
    }
    if let Some(p) = writable
        && !cx.modcache_rw
    {
        out.push(Finding::of(
            e,
            Kind::WritableTree,
            p,
            "writable (the go command makes its directories read-only)".into(),
        ));
    }
    read
}
