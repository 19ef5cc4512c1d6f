//! Trees of a commit read in-process ([`ObjectDb`]): a file looked up by path, as
//! `git cat-file blob <commit>:<path>` finds it, and a directory's files in the order and
//! kinds `git archive` writes them.
//!
//! Anything this does not answer exactly the way git would is [`Walk::AskGit`]: a path
//! with empty, `.` or `..` parts, a name that is not UTF-8, a tree entry of an unknown
//! mode, a `.gitattributes` file (which could change what `git archive` writes), or more
//! bytes than the caller holds in memory. The caller then runs git as before.

use std::io::{self, Read};

use gomod::zip::{File, FileInfo, FileKind};

use super::odb::{Kind, ObjectDb, OdbError, hex, parse_id};

/// The most tags peeled on the way to a commit.
const MAX_PEEL: usize = 16;

/// What a walk found.
#[derive(Debug, PartialEq, Eq)]
pub enum Walk<T> {
    /// The answer, the same as git's.
    Found(T),
    /// git would say there is no such thing.
    Missing,
    /// Only git can say: ask it.
    AskGit,
}

/// The most directories deep a walk goes; deeper trees go to git.
const MAX_DIR_DEPTH: usize = 128;
/// What each listed file costs of the memory budget besides its content.
const ENTRY_COST: u64 = 64;

/// One entry of a tree.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Its mode, in octal digits (`40000`, `100644`, `100755`, `120000`, `160000`).
    pub mode: &'a [u8],
    /// Its name.
    pub name: &'a [u8],
    /// The object it names.
    pub id: [u8; 20],
}

/// The entries of a tree object (`<mode> <name>\0<20-byte id>` each); `None` when it is
/// malformed.
pub fn entries(tree: &[u8]) -> Option<Vec<Entry<'_>>> {
    let mut out = Vec::new();
    let mut rest = tree;
    while !rest.is_empty() {
        let sp = rest.iter().position(|b| *b == b' ')?;
        let nul = sp + rest[sp..].iter().position(|b| *b == 0)?;
        let id = rest.get(nul + 1..nul + 21)?.try_into().ok()?;
        out.push(Entry {
            mode: &rest[..sp],
            name: &rest[sp + 1..nul],
            id,
        });
        rest = &rest[nul + 21..];
    }
    Some(out)
}

/// The commit `id` names, tags peeled: its id and content. [`Walk::Missing`] when `id`
/// names a tree or a blob; [`Walk::AskGit`] when it is not here.
pub fn commit(db: &ObjectDb, id: &str) -> Result<Walk<(String, Vec<u8>)>, OdbError> {
    let mut id = id.to_string();
    for _ in 0..MAX_PEEL {
        let Some(obj) = db.read(&id, 1 << 20)? else {
            return Ok(Walk::AskGit);
        };
        match obj.kind {
            Kind::Commit => return Ok(Walk::Found((id, obj.data))),
            Kind::Tag => match field(&obj.data, "object ") {
                Some(next) => id = next,
                None => return Ok(Walk::AskGit),
            },
            Kind::Tree | Kind::Blob => return Ok(Walk::Missing),
        }
    }
    Ok(Walk::AskGit)
}

/// The value of header `name` (with its space) when it is the first line of `object`.
fn field(object: &[u8], name: &str) -> Option<String> {
    let head = object.split(|b| *b == b'\n').next()?;
    let v = head.strip_prefix(name.as_bytes())?;
    String::from_utf8(v.to_vec()).ok()
}

/// The root tree of the commit `id` names (tags peeled).
fn root_tree(db: &ObjectDb, id: &str) -> Result<Walk<[u8; 20]>, OdbError> {
    Ok(match commit(db, id)? {
        Walk::Found((_, data)) => match field(&data, "tree ").as_deref().and_then(parse_id) {
            Some(t) => Walk::Found(t),
            None => Walk::AskGit,
        },
        Walk::Missing => Walk::Missing,
        Walk::AskGit => Walk::AskGit,
    })
}

/// The parts of `path`, when it is a plain relative path.
fn parts(path: &str) -> Option<Vec<&str>> {
    let p: Vec<&str> = path.split('/').collect();
    p.iter()
        .all(|s| !s.is_empty() && *s != "." && *s != "..")
        .then_some(p)
}

/// The tree at directory `parts` of the tree `root`, with whether any tree on the way
/// (`root` included, the last excluded) holds a `.gitattributes`.
fn descend(
    db: &ObjectDb,
    root: [u8; 20],
    parts: &[&str],
) -> Result<Walk<([u8; 20], bool)>, OdbError> {
    let mut tree = root;
    let mut attributes = false;
    for part in parts {
        let Some(obj) = db.read(&hex(&tree), 64 << 20)? else {
            return Ok(Walk::AskGit);
        };
        let Some(list) = entries(&obj.data) else {
            return Ok(Walk::AskGit);
        };
        attributes |= list.iter().any(|e| e.name == b".gitattributes");
        match list.iter().find(|e| e.name == part.as_bytes()) {
            Some(e) if e.mode == b"40000" => tree = e.id,
            Some(_) | None => return Ok(Walk::Missing),
        }
    }
    Ok(Walk::Found((tree, attributes)))
}

/// The content of `path` at commit `commit`, as `git cat-file blob <commit>:<path>`
/// prints it: a blob (a symbolic link's is its target), else missing. Larger than `max`:
/// [`OdbError::TooLarge`].
pub fn read_file(
    db: &ObjectDb,
    commit: &str,
    path: &str,
    max: u64,
) -> Result<Walk<Vec<u8>>, OdbError> {
    let Some(parts) = parts(path) else {
        return Ok(Walk::AskGit);
    };
    let root = match root_tree(db, commit)? {
        Walk::Found(t) => t,
        Walk::Missing => return Ok(Walk::Missing),
        Walk::AskGit => return Ok(Walk::AskGit),
    };
    let (name, dirs) = parts.split_last().expect("split gives one part at least");
    let dir = match descend(db, root, dirs)? {
        Walk::Found((t, _)) => t,
        Walk::Missing => return Ok(Walk::Missing),
        Walk::AskGit => return Ok(Walk::AskGit),
    };
    let Some(obj) = db.read(&hex(&dir), 64 << 20)? else {
        return Ok(Walk::AskGit);
    };
    let Some(list) = entries(&obj.data) else {
        return Ok(Walk::AskGit);
    };
    let Some(e) = list.iter().find(|e| e.name == name.as_bytes()) else {
        return Ok(Walk::Missing);
    };
    match e.mode {
        // A submodule's commit is not in this repository: git finds no object.
        b"40000" | b"160000" => Ok(Walk::Missing),
        _ => match db.read(&hex(&e.id), max)? {
            Some(b) if b.kind == Kind::Blob => Ok(Walk::Found(b.data)),
            Some(_) => Ok(Walk::Missing),
            None => Ok(Walk::AskGit),
        },
    }
}

/// A file of a directory at a commit, held in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    /// Its path below the directory.
    pub path: String,
    /// A regular file or a symbolic link.
    pub kind: FileKind,
    /// A regular file's content (empty for a link, as `git archive`'s tar has it).
    pub data: Vec<u8>,
}

impl File for TreeFile {
    fn path(&self) -> &str {
        &self.path
    }
    fn lstat(&self) -> io::Result<FileInfo> {
        Ok(FileInfo {
            size: self.data.len() as u64,
            kind: self.kind,
        })
    }
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(&self.data[..]))
    }
}

/// The files of directory `subdir` (empty: the whole tree) at commit `commit`, in the
/// order `git archive <commit> -- <subdir>` writes them (each tree's entries in order,
/// subtrees where they stand), paths relative to `subdir`; directories and submodules are
/// not listed (the module zip skips them). [`Walk::AskGit`] when a `.gitattributes` file
/// lies on the way or inside, when a name is not UTF-8 or a mode unknown, and when the
/// contents would pass `max_bytes` in all.
pub fn files(
    db: &ObjectDb,
    commit: &str,
    subdir: &str,
    max_bytes: u64,
) -> Result<Walk<Vec<TreeFile>>, OdbError> {
    let root = match root_tree(db, commit)? {
        Walk::Found(t) => t,
        _ => return Ok(Walk::AskGit),
    };
    let dirs = if subdir.is_empty() {
        Vec::new()
    } else {
        match parts(subdir) {
            Some(p) => p,
            None => return Ok(Walk::AskGit),
        }
    };
    let top = match descend(db, root, &dirs)? {
        Walk::Found((_, true)) | Walk::Missing | Walk::AskGit => return Ok(Walk::AskGit),
        Walk::Found((t, false)) => t,
    };
    let mut out = Vec::new();
    let mut budget = max_bytes;
    match walk(db, top, "", 0, &mut budget, &mut out) {
        // git archive refuses a directory with nothing in it: its words stand.
        Ok(true) if !out.is_empty() => Ok(Walk::Found(out)),
        Ok(true) => Ok(Walk::AskGit),
        Ok(false) | Err(OdbError::TooLarge(_)) => Ok(Walk::AskGit),
        Err(e) => Err(e),
    }
}

/// Lists the tree `tree` (at `prefix`, `depth` directories down) into `out`, each file
/// charged to `budget` (its content and [`ENTRY_COST`] with its path); false when git
/// must be asked.
fn walk(
    db: &ObjectDb,
    tree: [u8; 20],
    prefix: &str,
    depth: usize,
    budget: &mut u64,
    out: &mut Vec<TreeFile>,
) -> Result<bool, OdbError> {
    if depth > MAX_DIR_DEPTH {
        return Ok(false);
    }
    let Some(obj) = db.read(&hex(&tree), *budget)? else {
        return Ok(false);
    };
    let Some(list) = entries(&obj.data) else {
        return Ok(false);
    };
    for e in &list {
        let Ok(name) = std::str::from_utf8(e.name) else {
            return Ok(false);
        };
        if name == ".gitattributes" {
            return Ok(false);
        }
        let path = format!("{prefix}{name}");
        let cost = ENTRY_COST + path.len() as u64;
        if e.mode != b"40000" {
            match budget.checked_sub(cost) {
                Some(left) => *budget = left,
                None => return Ok(false),
            }
        }
        match e.mode {
            b"40000" => {
                if !walk(db, e.id, &format!("{path}/"), depth + 1, budget, out)? {
                    return Ok(false);
                }
            }
            b"160000" => {}
            b"120000" => out.push(TreeFile {
                path,
                kind: FileKind::Symlink,
                data: Vec::new(),
            }),
            b"100644" | b"100755" | b"100664" => {
                let Some(blob) = db.read(&hex(&e.id), *budget)? else {
                    return Ok(false);
                };
                if blob.kind != Kind::Blob {
                    return Ok(false);
                }
                *budget -= blob.data.len() as u64;
                out.push(TreeFile {
                    path,
                    kind: FileKind::Regular,
                    data: blob.data,
                });
            }
            _ => return Ok(false),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::super::tests_git::git;
    use super::*;
    use std::fs;
    use std::path::Path;

    fn commit_all(dir: &Path) -> String {
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", "c"]);
        String::from_utf8(git(dir, &["rev-parse", "HEAD"]))
            .unwrap()
            .trim()
            .to_string()
    }

    fn repo() -> (tempfile::TempDir, String) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        git(p, &["init", "-q", "--template=", "."]);
        fs::create_dir_all(p.join("sub/inner")).unwrap();
        fs::write(p.join("go.mod"), "module m\n").unwrap();
        fs::write(p.join("sub/go.mod"), "module m/sub\n").unwrap();
        fs::write(p.join("sub/inner/x.go"), "package inner\n").unwrap();
        fs::write(p.join("sub/a.go"), "package sub\n").unwrap();
        std::os::unix::fs::symlink("go.mod", p.join("link")).unwrap();
        let c = commit_all(p);
        (d, c)
    }

    #[test]
    fn reads_files_as_cat_file_finds_them() {
        let (d, c) = repo();
        let db = ObjectDb::open(&d.path().join(".git")).unwrap();
        let read = |path: &str| read_file(&db, &c, path, 1 << 20).unwrap();
        assert_eq!(read("go.mod"), Walk::Found(b"module m\n".to_vec()));
        assert_eq!(read("sub/go.mod"), Walk::Found(b"module m/sub\n".to_vec()));
        // A link's blob is its target, as `cat-file blob` prints it.
        assert_eq!(read("link"), Walk::Found(b"go.mod".to_vec()));
        assert_eq!(read("sub"), Walk::Missing);
        assert_eq!(read("nope/go.mod"), Walk::Missing);
        assert_eq!(read("link/go.mod"), Walk::Missing);
        assert_eq!(read("sub/../go.mod"), Walk::AskGit);
        assert_eq!(read("./go.mod"), Walk::AskGit);
        assert_eq!(read("sub//go.mod"), Walk::AskGit);
        let other = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(read_file(&db, other, "go.mod", 100).unwrap(), Walk::AskGit);
        assert!(matches!(
            read_file(&db, &c, "go.mod", 3),
            Err(OdbError::TooLarge(3))
        ));
    }

    #[test]
    fn lists_a_directory_in_archive_order_and_sends_the_unusual_to_git() {
        let (d, c) = repo();
        let p = d.path();
        let db = ObjectDb::open(&p.join(".git")).unwrap();
        let names = |w: Walk<Vec<TreeFile>>| match w {
            Walk::Found(f) => f.into_iter().map(|f| (f.path, f.kind)).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            names(files(&db, &c, "", 1 << 20).unwrap()),
            [
                ("go.mod".to_string(), FileKind::Regular),
                ("link".to_string(), FileKind::Symlink),
                ("sub/a.go".to_string(), FileKind::Regular),
                ("sub/go.mod".to_string(), FileKind::Regular),
                ("sub/inner/x.go".to_string(), FileKind::Regular),
            ]
        );
        assert_eq!(
            names(files(&db, &c, "sub", 1 << 20).unwrap()),
            [
                ("a.go".to_string(), FileKind::Regular),
                ("go.mod".to_string(), FileKind::Regular),
                ("inner/x.go".to_string(), FileKind::Regular),
            ]
        );
        // Over the memory budget, a missing directory, a file as the directory: git says.
        assert_eq!(files(&db, &c, "", 100).unwrap(), Walk::AskGit);
        assert_eq!(files(&db, &c, "nope", 1 << 20).unwrap(), Walk::AskGit);
        assert_eq!(files(&db, &c, "go.mod", 1 << 20).unwrap(), Walk::AskGit);

        // A .gitattributes inside, or on the way to the directory: git makes the archive.
        fs::write(p.join("sub/inner/.gitattributes"), "*.go ident\n").unwrap();
        let c2 = commit_all(p);
        let db = ObjectDb::open(&p.join(".git")).unwrap();
        assert_eq!(files(&db, &c2, "", 1 << 20).unwrap(), Walk::AskGit);
        assert_eq!(files(&db, &c2, "sub", 1 << 20).unwrap(), Walk::AskGit);
        assert_eq!(files(&db, &c2, "sub/inner", 1 << 20).unwrap(), Walk::AskGit);
        fs::remove_file(p.join("sub/inner/.gitattributes")).unwrap();
        fs::write(p.join(".gitattributes"), "*.go ident\n").unwrap();
        let c3 = commit_all(p);
        let db = ObjectDb::open(&p.join(".git")).unwrap();
        assert_eq!(files(&db, &c3, "sub", 1 << 20).unwrap(), Walk::AskGit);

        // Deeper than the walk goes.
        fs::remove_file(p.join(".gitattributes")).unwrap();
        let deep: String = (0..=MAX_DIR_DEPTH).map(|_| "d/").collect();
        fs::create_dir_all(p.join(&deep)).unwrap();
        fs::write(p.join(&deep).join("f.go"), "package d\n").unwrap();
        let c4 = commit_all(p);
        let db = ObjectDb::open(&p.join(".git")).unwrap();
        assert_eq!(files(&db, &c4, "", 1 << 20).unwrap(), Walk::AskGit);
        assert!(matches!(
            files(&db, &c4, "sub", 1 << 20).unwrap(),
            Walk::Found(_)
        ));
    }
}
