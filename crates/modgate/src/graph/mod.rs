//! The module graph the go command builds for a project (cmd/go/internal/modload:
//! `readModGraph`, `goModSummary`, `expandGraph`), so that prefetching fetches exactly
//! what it will need:
//!
//! - the roots: the main module's requirements (requirements on versions its `exclude`
//!   names are dropped), or in a workspace (go.work) the main modules themselves;
//! - graph pruning as the go version of each go.mod says: a go.mod at go 1.17 or later
//!   lists everything its packages need, so below a pruned module only its own
//!   requirements are read, not theirs; below a module before 1.17 (or with no `go`
//!   line) everything is read; an unpruned main module reads everything;
//! - `replace` (an exact version before a whole path; go.work's before the modules'), a
//!   directory replacement read from disk, and requirements on excluded versions dropped
//!   from every go.mod;
//! - minimal version selection: the highest version of each path in the graph; when the
//!   roots of a pruned graph are not the selected versions, they are raised to them and
//!   the graph read again (`expandGraph`); in a workspace, the selected versions of the
//!   main modules' dependencies are read until nothing changes.
//!
//! The go.mod files come from a [`GoMods`] (the proxy, in prefetch), read in parallel;
//! the project's own files from [`files::ProjectFiles`] (the disk, or only what a client
//! sent).

pub mod files;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::StreamExt;

use files::ProjectFiles;

/// A module version: (path, version); the version is empty for a main module.
pub type Mv = (String, String);

/// Why a project or its module graph cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A directory with neither a go.mod nor a go.work.
    #[error("{}: no go.mod nor go.work in this directory", dir.display())]
    NoProject {
        /// The directory.
        dir: PathBuf,
    },
    /// A file that cannot be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A project's go.mod or go.work that does not parse.
    #[error(transparent)]
    Parse(#[from] gomod::modfile::Errors),
    /// A main module's go.mod without a module line.
    #[error("{}: no module line", go_mod.display())]
    NoModuleLine {
        /// The go.mod.
        go_mod: PathBuf,
    },
    /// A module version's go.mod that could not be fetched.
    #[error("{path}@{version}: {source}")]
    Fetch {
        /// The module path (a replacement's, when replaced).
        path: String,
        /// The version.
        version: String,
        /// Why.
        #[source]
        source: crate::error::Error,
    },
    /// A module version's go.mod that does not parse.
    #[error("{path}@{version}: parsing go.mod: {source}")]
    ParseGoMod {
        /// The module path.
        path: String,
        /// The version.
        version: String,
        /// Why.
        #[source]
        source: gomod::modfile::Errors,
    },
    /// The go.mod files of the graph that could not be read: each error once, by its
    /// text, one a line.
    #[error("{}", lines(.0))]
    Modules(Vec<Arc<Error>>),
}

/// `errors`, one a line.
fn lines(errors: &[Arc<Error>]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where go.mod files come from.
#[async_trait::async_trait]
pub trait GoMods: Send + Sync {
    /// The go.mod of `path@version` (its error's kind says whether it does not exist).
    async fn go_mod(&self, path: &str, version: &str) -> Result<Vec<u8>, crate::error::Error>;
}

/// How much of the graph below a module is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pruning {
    /// Only its own requirements (go 1.17 or later).
    Pruned,
    /// Everything below it.
    Unpruned,
    /// The main modules of a workspace.
    Workspace,
}

/// The pruning a go.mod's go version gives (`pruningForGoVersion`).
pub fn pruning_for(go: Option<&str>) -> Pruning {
    match go {
        Some(v) if go_at_least(v, 1, 17) => Pruning::Pruned,
        _ => Pruning::Unpruned,
    }
}

/// Whether the go version `v` (`1.21`, `1.21.3`, `1.21rc1`) is at least `1.minor`.
fn go_at_least(v: &str, major: u32, minor: u32) -> bool {
    let mut parts = v.split(|c: char| !c.is_ascii_digit());
    let a = parts
        .next()
        .and_then(|x| x.parse::<u32>().ok())
        .unwrap_or(0);
    let b = parts
        .next()
        .and_then(|x| x.parse::<u32>().ok())
        .unwrap_or(0);
    (a, b) >= (major, minor)
}

/// One main module.
#[derive(Debug, Clone)]
pub struct Main {
    /// Its path.
    pub path: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Its go.mod.
    pub file: Arc<gomod::modfile::File>,
}

/// A replacement: `old[@version] => new@version`, or `=> dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replace {
    /// The replaced path.
    pub old_path: String,
    /// The replaced version; empty: all versions.
    pub old_version: String,
    /// The replacement path, or directory.
    pub new_path: String,
    /// The replacement version; empty: `new_path` is a directory.
    pub new_version: String,
    /// The directory a relative replacement directory is relative to.
    pub base: PathBuf,
}

/// A project: one main module, or a workspace's.
#[derive(Debug, Clone)]
pub struct Project {
    /// Where its go.mod or go.work is.
    pub dir: PathBuf,
    /// Its main modules.
    pub mains: Vec<Main>,
    /// A workspace (go.work).
    pub workspace: bool,
    /// The replacements, go.work's first.
    pub replace: Vec<Replace>,
    /// The excluded versions (the main modules').
    pub exclude: HashSet<Mv>,
    /// Where its files (and its replacement directories') are read.
    pub files: Arc<dyn ProjectFiles>,
}

/// The bytes of the file at `path`.
fn read_file(files: &dyn ProjectFiles, path: &Path) -> Result<Vec<u8>, Error> {
    files.read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn read_mod(files: &dyn ProjectFiles, path: &Path) -> Result<gomod::modfile::File, Error> {
    let data = read_file(files, path)?;
    Ok(gomod::modfile::parse(
        &path.display().to_string(),
        &data,
        None,
    )?)
}

fn replaces(f: &[gomod::modfile::Replace], base: &Path) -> Vec<Replace> {
    f.iter()
        .map(|r| Replace {
            old_path: r.old.path.clone(),
            old_version: r.old.version.clone(),
            new_path: r.new.path.clone(),
            new_version: r.new.version.clone(),
            base: base.to_path_buf(),
        })
        .collect()
}

/// Reads the project at `at` on the disk: a go.mod or go.work file, or a directory
/// holding one (go.work first, as the go command looks for it there).
pub fn read_project(at: &Path) -> Result<Project, Error> {
    read_project_in(Arc::new(files::Disk), at)
}

/// Reads the project at `at` in `files`, as [`read_project`].
pub fn read_project_in(files: Arc<dyn ProjectFiles>, at: &Path) -> Result<Project, Error> {
    let fs = files.as_ref();
    let (dir, file) = if fs.is_dir(at) {
        let w = at.join("go.work");
        let m = at.join("go.mod");
        match (fs.is_file(&w), fs.is_file(&m)) {
            (true, _) => (at.to_path_buf(), w),
            (false, true) => (at.to_path_buf(), m),
            _ => {
                return Err(Error::NoProject {
                    dir: at.to_path_buf(),
                });
            }
        }
    } else {
        let dir = at
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        (dir, at.to_path_buf())
    };
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    if file.file_name().is_some_and(|n| n == "go.work") {
        let data = read_file(fs, &file)?;
        let work = gomod::modfile::parse_work(&file.display().to_string(), &data, None)?;
        let mut mains = Vec::new();
        let mut replace = replaces(&work.replace, &dir);
        let mut exclude = HashSet::new();
        for u in &work.use_ {
            let mdir = dir.join(&u.path);
            let f = read_mod(fs, &mdir.join("go.mod"))?;
            let path = f
                .module
                .as_ref()
                .map(|m| m.mod_.path.clone())
                .ok_or_else(|| Error::NoModuleLine {
                    go_mod: mdir.join("go.mod"),
                })?;
            replace.extend(replaces(&f.replace, &mdir));
            exclude.extend(
                f.exclude
                    .iter()
                    .map(|e| (e.mod_.path.clone(), e.mod_.version.clone())),
            );
            mains.push(Main {
                path,
                dir: mdir,
                file: Arc::new(f),
            });
        }
        return Ok(Project {
            dir,
            mains,
            workspace: true,
            replace,
            exclude,
            files,
        });
    }
    let f = read_mod(fs, &file)?;
    let path = f
        .module
        .as_ref()
        .map(|m| m.mod_.path.clone())
        .ok_or_else(|| Error::NoModuleLine {
            go_mod: file.clone(),
        })?;
    Ok(Project {
        replace: replaces(&f.replace, &dir),
        exclude: f
            .exclude
            .iter()
            .map(|e| (e.mod_.path.clone(), e.mod_.version.clone()))
            .collect(),
        mains: vec![Main {
            path,
            dir: dir.clone(),
            file: Arc::new(f),
        }],
        dir,
        workspace: false,
        files,
    })
}

impl Project {
    /// What `m` is fetched as: its replacement (an exact version's first), or itself. A
    /// replacement by a directory has an empty version and the directory as its path.
    pub fn actual(&self, m: &Mv) -> Mv {
        let hit = self
            .replace
            .iter()
            .find(|r| r.old_path == m.0 && r.old_version == m.1)
            .or_else(|| {
                self.replace
                    .iter()
                    .find(|r| r.old_path == m.0 && r.old_version.is_empty())
            });
        match hit {
            Some(r) if r.new_version.is_empty() => {
                let d = Path::new(&r.new_path);
                let d = if d.is_absolute() {
                    d.to_path_buf()
                } else {
                    r.base.join(d)
                };
                (d.display().to_string(), String::new())
            }
            Some(r) => (r.new_path.clone(), r.new_version.clone()),
            None => m.clone(),
        }
    }

    fn main(&self, path: &str) -> Option<&Main> {
        self.mains.iter().find(|m| m.path == path)
    }
}

/// What a go.mod says that the graph needs.
#[derive(Debug, Clone)]
struct Summary {
    require: Vec<Mv>,
    pruning: Pruning,
}

/// The module graph.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// Each loaded module's requirements.
    pub reqs: BTreeMap<Mv, Vec<Mv>>,
    /// The selected version of each path.
    pub selected: BTreeMap<String, String>,
    /// The main modules' paths, in order.
    pub mains: Vec<String>,
}

impl Graph {
    /// `go list -m all`: the main modules (by path: a workspace's roots are sorted),
    /// then every other path at its selected version, by path (the `go` and `toolchain`
    /// pseudo-modules left out).
    pub fn build_list(&self) -> Vec<Mv> {
        let mut out: Vec<Mv> = self
            .mains
            .iter()
            .map(|p| (p.clone(), String::new()))
            .collect();
        out.sort();
        for (p, v) in &self.selected {
            if !self.mains.contains(p) && p != "go" && p != "toolchain" && v != "none" {
                out.push((p.clone(), v.clone()));
            }
        }
        out
    }

    /// The module versions whose go.mod the graph read (main modules left out).
    pub fn loaded(&self) -> Vec<Mv> {
        self.reqs
            .keys()
            .filter(|m| !m.1.is_empty())
            .cloned()
            .collect()
    }

    fn note(&mut self, m: &Mv) {
        let e = self
            .selected
            .entry(m.0.clone())
            .or_insert_with(|| m.1.clone());
        if cmp_version(&m.1, e) == std::cmp::Ordering::Greater {
            *e = m.1.clone();
        }
    }

    fn require(&mut self, m: &Mv, reqs: &[Mv]) {
        self.note(m);
        for r in reqs {
            self.note(r);
        }
        self.reqs.insert(m.clone(), reqs.to_vec());
    }
}

/// What a project's graph needs fetched, as the module versions to fetch them from
/// (replacements applied; directory replacements and main modules left out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// The build list's versions: `.info`, `.mod` and `.zip` each.
    pub versions: BTreeSet<Mv>,
    /// The versions of which the graph read only the go.mod.
    pub go_mods: BTreeSet<Mv>,
}

impl Needs {
    /// What `graph` (of `project`) needs, added to these.
    pub fn add(&mut self, project: &Project, graph: &Graph) {
        let mut read: BTreeSet<Mv> = graph
            .loaded()
            .iter()
            .map(|m| project.actual(m))
            .filter(|a| !a.1.is_empty())
            .collect();
        for m in graph.build_list().iter().filter(|m| !m.1.is_empty()) {
            let a = project.actual(m);
            if !a.1.is_empty() {
                read.remove(&a);
                self.versions.insert(a);
            }
        }
        self.go_mods.extend(read);
        let whole = &self.versions;
        self.go_mods.retain(|m| !whole.contains(m));
    }
}

/// modload's `cmpVersion`: a main module's empty version above all, `none` below.
pub fn cmp_version(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a, b) {
        (a, b) if a == b => Equal,
        ("", _) => Greater,
        (_, "") => Less,
        ("none", _) => Less,
        (_, "none") => Greater,
        (a, b) => gomod::semver::compare(a, b),
    }
}

/// How the graph is loaded.
struct Loader<'a> {
    project: &'a Project,
    fetch: &'a dyn GoMods,
    parallel: usize,
    summaries: HashMap<Mv, Result<Summary, Arc<Error>>>,
}

impl Loader<'_> {
    /// The summaries of `mods` not read yet, read in parallel.
    async fn read(&mut self, mods: Vec<Mv>) {
        let need: Vec<Mv> = mods
            .into_iter()
            .filter(|m| !self.summaries.contains_key(m))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let project = self.project;
        let fetch = self.fetch;
        let got: Vec<(Mv, Result<Summary, Arc<Error>>)> = futures_util::stream::iter(need)
            .map(|m| async move {
                let s = summary(project, fetch, &m).await.map_err(Arc::new);
                (m, s)
            })
            .buffer_unordered(self.parallel.max(1))
            .collect()
            .await;
        self.summaries.extend(got);
    }

    /// `readModGraph` from `roots` with `pruning`.
    async fn graph(&mut self, roots: &[Mv], pruning: Pruning) -> Result<Graph, Error> {
        let mut g = Graph {
            mains: self.project.mains.iter().map(|m| m.path.clone()).collect(),
            ..Graph::default()
        };
        if pruning == Pruning::Workspace {
            for r in roots {
                g.note(r);
            }
        } else {
            let main = (self.project.mains[0].path.clone(), String::new());
            g.require(&main, roots);
        }
        let mut seen: HashSet<(Mv, Pruning)> = HashSet::new();
        let mut frontier: Vec<(Mv, Pruning)> = Vec::new();
        let mut enqueue = |m: &Mv, p: Pruning, frontier: &mut Vec<(Mv, Pruning)>| {
            if m.1 != "none" && seen.insert((m.clone(), p)) {
                frontier.push((m.clone(), p));
            }
        };
        for r in roots {
            enqueue(r, pruning, &mut frontier);
        }
        let mut errors = Vec::new();
        // In a workspace, the paths whose selected versions' requirements count
        // (`hasDepsInAll`), and the versions so read.
        let mut deps_in_all: HashSet<String> = roots.iter().map(|r| r.0.clone()).collect();
        let mut ws_seen: HashSet<Mv> = HashSet::new();
        loop {
            while !frontier.is_empty() {
                self.read(frontier.iter().map(|(m, _)| m.clone()).collect())
                    .await;
                let mut next = Vec::new();
                for (m, p) in std::mem::take(&mut frontier) {
                    let s = match &self.summaries[&m] {
                        Ok(s) => s.clone(),
                        Err(e) => {
                            errors.push(Arc::clone(e));
                            continue;
                        }
                    };
                    g.require(&m, &s.require);
                    let next_pruning = if p == Pruning::Unpruned {
                        Pruning::Unpruned
                    } else {
                        s.pruning
                    };
                    for r in &s.require {
                        if p != Pruning::Pruned || s.pruning == Pruning::Unpruned {
                            enqueue(r, next_pruning, &mut next);
                        }
                    }
                }
                frontier = next;
            }
            if pruning != Pruning::Workspace {
                break;
            }
            let selected = |g: &Graph, p: &str| {
                (
                    p.to_string(),
                    g.selected.get(p).cloned().unwrap_or_default(),
                )
            };
            let mut needs: Vec<Mv> = Vec::new();
            for p in &deps_in_all {
                let m = selected(&g, p);
                if !ws_seen.contains(&m) {
                    needs.push(m);
                    continue;
                }
                for r in g.reqs.get(&m).cloned().unwrap_or_default() {
                    let s = selected(&g, &r.0);
                    if cmp_version(&s.1, &r.1) == std::cmp::Ordering::Greater
                        && !ws_seen.contains(&s)
                    {
                        needs.push(s);
                    }
                }
            }
            if needs.is_empty() {
                break;
            }
            for m in needs {
                enqueue(&m, Pruning::Workspace, &mut frontier);
                deps_in_all.insert(m.0.clone());
                ws_seen.insert(m);
            }
        }
        if !errors.is_empty() {
            let mut errors: Vec<(String, Arc<Error>)> =
                errors.into_iter().map(|e| (e.to_string(), e)).collect();
            errors.sort_by(|a, b| a.0.cmp(&b.0));
            errors.dedup_by(|a, b| a.0 == b.0);
            return Err(Error::Modules(errors.into_iter().map(|(_, e)| e).collect()));
        }
        Ok(g)
    }
}

/// The summary of `m`'s go.mod: a main module's from disk, a directory replacement's
/// from disk, the rest through `fetch`; requirements on excluded versions dropped.
async fn summary(project: &Project, fetch: &dyn GoMods, m: &Mv) -> Result<Summary, Error> {
    let file = if m.1.is_empty()
        && let Some(main) = project.main(&m.0)
    {
        Arc::clone(&main.file)
    } else {
        let actual = project.actual(m);
        let data = if actual.1.is_empty() {
            let p = Path::new(&actual.0).join("go.mod");
            match project.files.read(&p) {
                Ok(d) => d,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    gomod::modfile::legacy_go_mod(&m.0)
                }
                Err(source) => return Err(Error::Read { path: p, source }),
            }
        } else {
            fetch
                .go_mod(&actual.0, &actual.1)
                .await
                .map_err(|source| Error::Fetch {
                    path: actual.0.clone(),
                    version: actual.1.clone(),
                    source,
                })?
        };
        let name = format!("{}@{}/go.mod", actual.0, actual.1);
        Arc::new(
            gomod::modfile::parse_lax(&name, &data, None).map_err(|source| Error::ParseGoMod {
                path: m.0.clone(),
                version: m.1.clone(),
                source,
            })?,
        )
    };
    Ok(Summary {
        require: file
            .require
            .iter()
            .map(|r| (r.mod_.path.clone(), r.mod_.version.clone()))
            .filter(|r| !project.exclude.contains(r))
            .collect(),
        pruning: pruning_for(file.go.as_ref().map(|g| g.version.as_str())),
    })
}

/// The module graph of `project`, go.mod files read `parallel` at a time.
pub async fn load(project: &Project, fetch: &dyn GoMods, parallel: usize) -> Result<Graph, Error> {
    let mut l = Loader {
        project,
        fetch,
        parallel,
        summaries: HashMap::new(),
    };
    if project.workspace {
        let roots: Vec<Mv> = project
            .mains
            .iter()
            .map(|m| (m.path.clone(), String::new()))
            .collect();
        return l.graph(&roots, Pruning::Workspace).await;
    }
    let main = &project.mains[0];
    let pruning = pruning_for(main.file.go.as_ref().map(|g| g.version.as_str()));
    // Requirements on excluded versions are dropped (`rootsFromModFile`).
    let mut roots: Vec<Mv> = main
        .file
        .require
        .iter()
        .map(|r| (r.mod_.path.clone(), r.mod_.version.clone()))
        .filter(|r| !project.exclude.contains(r))
        .collect();
    let mut g = l.graph(&roots, pruning).await?;
    // `expandGraph`: roots that are not the selected versions are raised to them, and a
    // pruned graph read again (it may reach what was pruned out before).
    for _ in 0..16 {
        let raised: Vec<Mv> = roots
            .iter()
            .map(|r| {
                (
                    r.0.clone(),
                    g.selected.get(&r.0).cloned().unwrap_or_default(),
                )
            })
            .collect();
        if raised == roots || pruning == Pruning::Unpruned {
            break;
        }
        roots = raised;
        g = l.graph(&roots, pruning).await?;
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// go.mod files by `path@version`.
    struct Mods(HashMap<String, String>);

    #[async_trait::async_trait]
    impl GoMods for Mods {
        async fn go_mod(&self, path: &str, version: &str) -> Result<Vec<u8>, crate::error::Error> {
            self.0
                .get(&format!("{path}@{version}"))
                .map(|s| s.clone().into_bytes())
                .ok_or_else(|| crate::error::Error::not_found("not found"))
        }
    }

    fn mods(list: &[(&str, &str)]) -> Mods {
        Mods(
            list.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn project(dir: &Path, go_mod: &str) -> Project {
        std::fs::write(dir.join("go.mod"), go_mod).unwrap();
        read_project(dir).unwrap()
    }

    fn list(g: &Graph) -> Vec<String> {
        g.build_list()
            .into_iter()
            .map(|(p, v)| if v.is_empty() { p } else { format!("{p} {v}") })
            .collect()
    }

    #[tokio::test]
    async fn pruned_and_unpruned_graphs_select_as_mvs() {
        let d = tempfile::tempdir().unwrap();
        let m = mods(&[
            ("a@v1.0.0", "module a\n\ngo 1.17\n\nrequire b v1.0.0\n"),
            ("b@v1.0.0", "module b\n\ngo 1.17\n\nrequire c v1.1.0\n"),
            ("c@v1.1.0", "module c\n"),
            ("old@v1.0.0", "module old\n\nrequire c v1.2.0\n"),
            ("c@v1.2.0", "module c\n\nrequire d v1.0.0\n"),
            ("d@v1.0.0", "module d\n"),
        ]);
        // Pruned main: b's requirement c is in the graph, c's go.mod is not read.
        let p = project(
            d.path(),
            "module m\n\ngo 1.21\n\nrequire (\n\ta v1.0.0\n\tb v1.0.0\n)\n",
        );
        let g = load(&p, &m, 4).await.unwrap();
        assert_eq!(list(&g), ["m", "a v1.0.0", "b v1.0.0", "c v1.1.0"]);
        assert_eq!(
            g.loaded(),
            [
                ("a".to_string(), "v1.0.0".to_string()),
                ("b".to_string(), "v1.0.0".to_string())
            ]
        );
        // Unpruned below `old` (no go line): c v1.2.0 and what it requires.
        let p = project(
            d.path(),
            "module m\n\ngo 1.21\n\nrequire (\n\ta v1.0.0\n\told v1.0.0\n)\n",
        );
        let g = load(&p, &m, 4).await.unwrap();
        assert_eq!(
            list(&g),
            [
                "m",
                "a v1.0.0",
                "b v1.0.0",
                "c v1.2.0",
                "d v1.0.0",
                "old v1.0.0"
            ]
        );
        // An unpruned main reads everything.
        let p = project(d.path(), "module m\n\ngo 1.16\n\nrequire a v1.0.0\n");
        let g = load(&p, &m, 4).await.unwrap();
        assert_eq!(list(&g), ["m", "a v1.0.0", "b v1.0.0", "c v1.1.0"]);
        assert_eq!(g.loaded().len(), 3);
        // Exclude drops a requirement; replace fetches another module's go.mod.
        let p = project(
            d.path(),
            "module m\n\ngo 1.21\n\nrequire (\n\ta v1.0.0\n\told v1.0.0\n)\n\nexclude c v1.2.0\n\nreplace b => old v1.0.0\n",
        );
        let g = load(&p, &m, 4).await.unwrap();
        assert_eq!(list(&g), ["m", "a v1.0.0", "b v1.0.0", "old v1.0.0"]);
        // A missing go.mod is named.
        let p = project(d.path(), "module m\n\ngo 1.21\n\nrequire x v1.0.0\n");
        let e = load(&p, &m, 4).await.unwrap_err();
        assert_eq!(e.to_string(), "x@v1.0.0: not found");
        let Error::Modules(errors) = e else {
            panic!("{e:?}")
        };
        assert!(matches!(
            &*errors[0],
            Error::Fetch { path, source, .. }
                if path == "x" && source.kind() == crate::error::Kind::NotFound
        ));
    }

    #[test]
    fn go_versions_and_version_order() {
        assert_eq!(pruning_for(Some("1.17")), Pruning::Pruned);
        assert_eq!(pruning_for(Some("1.21rc1")), Pruning::Pruned);
        assert_eq!(pruning_for(Some("1.16.15")), Pruning::Unpruned);
        assert_eq!(pruning_for(None), Pruning::Unpruned);
        use std::cmp::Ordering::*;
        assert_eq!(cmp_version("", "v9.0.0"), Greater);
        assert_eq!(cmp_version("none", "v0.0.1"), Less);
        assert_eq!(cmp_version("v1.10.0", "v1.9.0"), Greater);
    }
}
