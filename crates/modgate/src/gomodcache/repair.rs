//! `modgate cache repair`: mends only what `cache verify` found, instead of wiping the
//! cache. For each damaged version, under its lock (the go command's own `<v>.lock`), the
//! damaged files are moved out of the cache in one rename each (so no half-removed entry
//! is ever visible; extracted trees are read-only and are made writable first, as the go
//! command's `RemoveAll` does), then fetched again by the go command itself
//! (`go mod download`, with the user's GOPROXY, GOSUMDB and credentials), and checked
//! again. Leftovers are removed and permissions set back as the go command sets them. A
//! version whose lock a running process holds is left alone. Healthy entries are not
//! touched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gomod::layout::Ext;
use serde::Serialize;

use super::check::{self, Finding, Kind, Severity};
use super::scan::{Entry, scan};
use crate::platform::file_mode;

/// The longest the go command may take to fetch the damaged versions again: past it, it is
/// killed (with what it runs) and the versions it had not fetched are named as failed.
const FETCH_WITHIN: std::time::Duration = std::time::Duration::from_secs(30 * 60);
/// The most `go mod download -json` may print (a few hundred bytes a version).
const FETCH_OUTPUT: u64 = 64 << 20;

/// What to repair.
pub struct Options {
    /// The module cache.
    pub modcache: PathBuf,
    /// go.sum files to compare with.
    pub go_sums: Vec<PathBuf>,
    /// GOFLAGS has `-modcacherw`.
    pub modcache_rw: bool,
    /// Show progress (on a terminal).
    pub progress: bool,
    /// The go command that fetches again.
    pub go: PathBuf,
}

/// One thing done to the cache.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    /// The module path (empty for a directory of no version).
    pub module: String,
    /// The version.
    pub version: String,
    /// What was done.
    pub what: String,
    /// To what.
    pub paths: Vec<PathBuf>,
}

/// What a repair did.
#[derive(Debug, Serialize)]
pub struct Outcome {
    /// What verification found first.
    pub found: Vec<Finding>,
    /// What was done.
    pub actions: Vec<Action>,
    /// The versions fetched again (`path@version`).
    pub fetched: Vec<String>,
    /// Why fetching failed, for the versions it failed for (`path@version` → error).
    pub fetch_errors: BTreeMap<String, String>,
    /// What is still wrong afterwards (checked again).
    pub remaining: Vec<Finding>,
}

impl Outcome {
    /// 0: all mended; 1: something is still wrong.
    pub fn exit_code(&self) -> u8 {
        u8::from(
            !self.fetch_errors.is_empty()
                || self
                    .remaining
                    .iter()
                    .any(|f| f.severity >= Severity::Warning),
        )
    }

    /// The outcome for people.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let mending = self
            .found
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .count();
        let _ = writeln!(
            out,
            "modgate cache repair: {mending} findings to mend, {} actions, {} versions fetched again",
            self.actions.len(),
            self.fetched.len()
        );
        for a in &self.actions {
            let who = if a.module.is_empty() {
                String::new()
            } else {
                format!("{} {}: ", a.module, a.version)
            };
            let _ = writeln!(
                out,
                "  {who}{} ({})",
                a.what,
                a.paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        for (m, e) in &self.fetch_errors {
            let _ = writeln!(out, "  could not fetch {m} again: {e}");
        }
        let left: Vec<&Finding> = self
            .remaining
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .collect();
        if left.is_empty() && self.fetch_errors.is_empty() {
            let _ = writeln!(out, "all module versions verified");
        } else {
            for f in left {
                let _ = writeln!(
                    out,
                    "  still: {} {}: {} ({}) {}",
                    f.module,
                    f.version,
                    f.kind.meaning(),
                    f.detail,
                    f.path.display()
                );
            }
        }
        out
    }
}

/// What mending one entry takes.
#[derive(Debug, Default)]
struct Plan {
    /// Files and directories to move out.
    remove: Vec<PathBuf>,
    /// Fetch the version again.
    fetch: bool,
    /// Make the extracted tree read-only again.
    read_only: bool,
}

/// The plan for an entry's findings.
fn plan(e: &Entry, found: &[&Finding]) -> Plan {
    let mut p = Plan::default();
    let add = |p: &mut Plan, x: PathBuf| {
        if !p.remove.contains(&x) && x.symlink_metadata().is_ok() {
            p.remove.push(x);
        }
    };
    for f in found {
        match f.kind {
            Kind::GoSumMismatch if f.path == e.file(Ext::Mod) => {
                add(&mut p, e.file(Ext::Mod));
                p.fetch = true;
            }
            // The zip's hash is in doubt: the zip, its hash and its tree go.
            Kind::ZipModified
            | Kind::ZipUnreadable
            | Kind::ZiphashMissing
            | Kind::ZiphashInvalid
            | Kind::GoSumMismatch => {
                for x in [
                    e.file(Ext::Zip),
                    e.file(Ext::ZipHash),
                    e.tree.clone(),
                    e.file(Ext::Partial),
                ] {
                    add(&mut p, x);
                }
                p.fetch = true;
            }
            Kind::TreeModified | Kind::TreeUnreadable | Kind::Partial => {
                add(&mut p, e.tree.clone());
                add(&mut p, e.file(Ext::Partial));
                p.fetch = true;
            }
            Kind::InfoInvalid => {
                add(&mut p, e.file(Ext::Info));
                p.fetch = true;
            }
            Kind::ModInvalid => {
                add(&mut p, e.file(Ext::Mod));
                p.fetch = true;
            }
            Kind::Leftover => add(&mut p, f.path.clone()),
            Kind::WritableTree => p.read_only = true,
            Kind::TreeMissing | Kind::LockHeld | Kind::ReadOnlyDir => {}
        }
    }
    // A tree being removed need not be made read-only.
    if p.remove.contains(&e.tree) {
        p.read_only = false;
    }
    p
}

/// Makes `dir` and everything under it writable by its owner (extracted trees are 0555),
/// so that it can be moved and removed.
fn make_writable(dir: &Path) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(m) = std::fs::symlink_metadata(&d)
            && m.is_dir()
        {
            let _ = file_mode::make_owner_writable(&d, &m);
            if let Ok(rd) = std::fs::read_dir(&d) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        }
    }
}

/// Takes away write permission from `dir`'s directories and files, as the go command
/// leaves an extracted tree (`makeDirsReadOnly`, and files unzipped 0444).
fn make_read_only(dir: &Path) {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(e.path());
                } else if e.file_type().is_ok_and(|t| t.is_file()) {
                    all.push(e.path());
                }
            }
        }
        all.push(d);
    }
    // Children before their parents.
    for p in all.iter().rev() {
        if let Ok(m) = std::fs::symlink_metadata(p) {
            let _ = file_mode::make_read_only(p, &m);
        }
    }
}

/// Why a repair stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cache is not one, or a go.sum file could not be read.
    #[error(transparent)]
    Verify(#[from] super::verify::Error),
    /// A go.sum file to compare with could not be read.
    #[error(transparent)]
    GoSum(#[from] check::Error),
    /// A version's lock could not be taken.
    #[error(transparent)]
    Lock(#[from] super::lock::Error),
    /// A directory the go command cannot write could not be made writable.
    #[error("chmod u+w {}: {source}", dir.display())]
    MakeWritable {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The directory damaged files are moved to could not be made.
    #[error("{}: {source}", trash.display())]
    Trash {
        /// The directory, in the cache.
        trash: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A damaged file or tree could not be moved out of the cache.
    #[error("moving {} out of the cache: {source}", path.display())]
    MoveOut {
        /// The file or tree.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// What was moved out could not be removed.
    #[error("removing {}: {source}", trash.display())]
    EmptyTrash {
        /// The directory it was moved to.
        trash: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The empty directory the go command fetches from could not be made.
    #[error("{}: {source}", dir.display())]
    FetchDir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `go mod download` did not run to its exit.
    #[error("{} mod download: {source}", go.display())]
    Download {
        /// The go command.
        go: PathBuf,
        /// Why.
        #[source]
        source: crate::process::ProcessError,
    },
}

/// Repairs the cache.
pub fn repair(opts: &Options) -> Result<Outcome, Error> {
    super::verify::existing(&opts.modcache)?;
    let sums = check::read_go_sums(&opts.go_sums)?;
    let s = scan(&opts.modcache);
    let found = super::verify::check_all(&s, &sums, opts.modcache_rw, opts.progress, None).findings;
    // Directories the go command cannot write: first, so that what is in them can go.
    let mut actions = make_dirs_writable(&found)?;
    let mut trash = Trash::in_cache(&opts.modcache);
    let mut to_fetch: Vec<&Entry> = Vec::new();
    for e in &s.entries {
        let mine: Vec<&Finding> = found
            .iter()
            .filter(|f| {
                f.module == e.path && f.version == e.version && f.severity >= Severity::Warning
            })
            .collect();
        if mine.is_empty() || mine.iter().any(|f| f.kind == Kind::LockHeld) {
            continue;
        }
        if mend(e, &mine, &mut trash, &mut actions)? {
            to_fetch.push(e);
        }
    }
    actions.extend(remove_strays(&found));
    let (fetched, fetch_errors) = fetch(opts, &to_fetch)?;
    trash.empty()?;
    // Checked again: the whole cache (what was mended, and that nothing else broke).
    let again = scan(&opts.modcache);
    let remaining = super::verify::check_all(&again, &sums, opts.modcache_rw, false, None).findings;
    Ok(Outcome {
        found,
        actions,
        fetched,
        fetch_errors,
        remaining,
    })
}

/// Gives the directories the go command cannot write (found [`Kind::ReadOnlyDir`]) write
/// permission for their owner; what was done.
fn make_dirs_writable(found: &[Finding]) -> Result<Vec<Action>, Error> {
    let mut actions = Vec::new();
    for f in found.iter().filter(|f| f.kind == Kind::ReadOnlyDir) {
        std::fs::metadata(&f.path)
            .and_then(|m| file_mode::make_owner_writable(&f.path, &m))
            .map_err(|source| Error::MakeWritable {
                dir: f.path.clone(),
                source,
            })?;
        actions.push(Action {
            module: String::new(),
            version: String::new(),
            what: "made writable for its owner".into(),
            paths: vec![f.path.clone()],
        });
    }
    Ok(actions)
}

/// Where damaged files go: moved out of the cache (same file system: one rename each),
/// removed at the end.
struct Trash {
    /// `cache/.modgate-repair-<pid>` in the cache.
    dir: PathBuf,
    /// How many were moved there (each is named by its number).
    moved: usize,
}

impl Trash {
    /// The trash of this process in `modcache` (made when something is moved there).
    fn in_cache(modcache: &Path) -> Trash {
        Trash {
            dir: modcache.join(format!("cache/.modgate-repair-{}", std::process::id())),
            moved: 0,
        }
    }

    /// Moves `paths` out of the cache, directories made writable first.
    fn move_out(&mut self, paths: &[PathBuf]) -> Result<(), Error> {
        std::fs::create_dir_all(&self.dir).map_err(|source| Error::Trash {
            trash: self.dir.clone(),
            source,
        })?;
        for x in paths {
            if x.is_dir() {
                // Moving a directory updates its `..`: it must be writable.
                make_writable(x);
            }
            self.moved += 1;
            std::fs::rename(x, self.dir.join(self.moved.to_string())).map_err(|source| {
                Error::MoveOut {
                    path: x.clone(),
                    source,
                }
            })?;
        }
        Ok(())
    }

    /// Removes what was moved out, if anything was.
    fn empty(self) -> Result<(), Error> {
        if self.dir.exists() {
            make_writable(&self.dir);
            std::fs::remove_dir_all(&self.dir).map_err(|source| Error::EmptyTrash {
                trash: self.dir.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

/// Mends entry `e` as its findings `mine` ask, under its lock (also a leftover lock file
/// itself: no one else can hold the file that goes): its damaged files moved to `trash`,
/// its tree made read-only again; what was done goes to `actions`. Whether it is to be
/// fetched again (not when a running process holds its lock: it is left alone).
fn mend(
    e: &Entry,
    mine: &[&Finding],
    trash: &mut Trash,
    actions: &mut Vec<Action>,
) -> Result<bool, Error> {
    let p = plan(e, mine);
    // Held while its files move.
    let guard = super::lock::take(e)?;
    if guard.is_none() {
        actions.push(Action {
            module: e.path.clone(),
            version: e.version.clone(),
            what: "left alone: a running process took its lock".into(),
            paths: vec![e.file(Ext::Lock)],
        });
        return Ok(false);
    }
    if !p.remove.is_empty() {
        trash.move_out(&p.remove)?;
        actions.push(Action {
            module: e.path.clone(),
            version: e.version.clone(),
            what: "removed".into(),
            paths: p.remove.clone(),
        });
    }
    if p.read_only {
        make_read_only(&e.tree);
        actions.push(Action {
            module: e.path.clone(),
            version: e.version.clone(),
            what: "made read-only again".into(),
            paths: vec![e.tree.clone()],
        });
    }
    drop(guard);
    Ok(p.fetch)
}

/// Removes the temporary files of no version (an `@v/list` rewrite cut short); what was
/// done.
fn remove_strays(found: &[Finding]) -> Vec<Action> {
    let mut actions = Vec::new();
    for f in found {
        if f.kind == Kind::Leftover && f.module.is_empty() && std::fs::remove_file(&f.path).is_ok()
        {
            actions.push(Action {
                module: String::new(),
                version: String::new(),
                what: "removed".into(),
                paths: vec![f.path.clone()],
            });
        }
    }
    actions
}

/// Fetches `entries` again with the go command (`go mod download -json`, outside any
/// module, into this cache); the versions fetched and the errors.
fn fetch(
    opts: &Options,
    entries: &[&Entry],
) -> Result<(Vec<String>, BTreeMap<String, String>), Error> {
    let mut fetched = Vec::new();
    let mut errors = BTreeMap::new();
    if entries.is_empty() {
        return Ok((fetched, errors));
    }
    let ids: Vec<String> = entries.iter().map(|e| e.id()).collect();
    let bar = super::verify::progress_bar(0, opts.progress);
    bar.set_prefix(format!("fetching {} module versions again", ids.len()));
    // Outside any module: an empty directory of its own.
    let dir = std::env::temp_dir().join(format!("modgate-repair-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| Error::FetchDir {
        dir: dir.clone(),
        source,
    })?;
    let mut cmd = std::process::Command::new(&opts.go);
    cmd.args(["mod", "download", "-json"])
        .args(&ids)
        .current_dir(&dir)
        .env("GOMODCACHE", &opts.modcache)
        .env("GOWORK", "off")
        .env("GO111MODULE", "on");
    let bounds = crate::process::Bounds {
        time: FETCH_WITHIN,
        output: FETCH_OUTPUT,
    };
    let out = crate::process::output_blocking(cmd, bounds);
    bar.finish_and_clear();
    let _ = std::fs::remove_dir_all(&dir);
    let out = out.map_err(|source| Error::Download {
        go: opts.go.clone(),
        source,
    })?;
    let mut reported = std::collections::BTreeSet::new();
    for v in serde_json::Deserializer::from_slice(&out.stdout).into_iter::<serde_json::Value>() {
        let Ok(v) = v else { break };
        let id = format!(
            "{}@{}",
            v["Path"].as_str().unwrap_or(""),
            v["Version"].as_str().unwrap_or("")
        );
        reported.insert(id.clone());
        match v["Error"].as_str() {
            Some(e) => {
                errors.insert(id, e.to_string());
            }
            None => fetched.push(id),
        }
    }
    if !out.status.success() {
        let stderr = out.stderr.trim().to_string();
        for id in &ids {
            if !reported.contains(id) {
                errors.insert(id.clone(), stderr.clone());
            }
        }
    }
    Ok((fetched, errors))
}
