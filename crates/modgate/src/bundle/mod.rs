//! Bundles: module versions carried to an air-gapped site in one file.
//!
//! A bundle is a tar stream compressed with zstd. Its first entry, `modgate-bundle.json`
//! (the [`Index`]), names every module version (with its `h1:` hashes) and every file
//! that follows, with its size and SHA-256. The files are laid out as in a data
//! directory (the go command's `cache/download` layout: `.info`, `.mod`, `.zip`,
//! `.ziphash` and an `@v/list` of the versions the bundle holds), and, when a checksum
//! database was used, its files as it served them: the lookup of every module version,
//! its `latest`, and every tile the go command reads to verify those lookups offline
//! (`proofs.rs`).
//!
//! Reading a bundle (`verify`, `import`, `serve --bundle`) checks everything before it
//! is used: each file's size and SHA-256 against the index, each zip's `h1:` hash
//! against the index and its `.ziphash`, each `.mod` against its go.mod hash, each lookup
//! against the database's key and the tiles (every proof the go command will make), and
//! each module's hashes against its lookup.

pub mod gomodcache;
pub mod proofs;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use gomod::layout::{Ext, Name, NameError};
use gomod::sumdb::note::NoteError;
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::storage::Key;
use crate::storage::Store;
use crate::sumdb::proxy::SumdbProxy;
use crate::sumdb::spec::SumDb;

/// The format name in the index.
pub const FORMAT: &str = "modgate-bundle/1";
/// The index's name, the first entry.
pub const INDEX: &str = "modgate-bundle.json";
/// The largest index read (a bundle of a million files has an index of about 200 MB).
const MAX_INDEX: u64 = 512 << 20;

/// A module version in a bundle.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Module {
    /// Its path.
    pub path: String,
    /// Its version.
    pub version: String,
    /// The zip's hash; none when only the go.mod is carried (the graph needs it, the
    /// build does not).
    pub h1: Option<String>,
    /// The go.mod's hash.
    pub go_mod_h1: String,
}

/// A file of a bundle.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct File {
    /// Its path in the bundle (its name in a data directory).
    pub path: String,
    /// Its size.
    pub size: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
}

/// The checksum database whose files a bundle carries.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Database {
    /// Its name.
    pub name: String,
    /// Its verifier key.
    pub key: String,
}

/// A bundle's index.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Index {
    /// [`FORMAT`].
    pub format: String,
    /// When it was made, RFC 3339.
    pub created: String,
    /// The checksum database carried, if any.
    pub sumdb: Option<Database>,
    /// The module versions.
    pub modules: Vec<Module>,
    /// The files, in the order they follow.
    pub files: Vec<File>,
}

fn sha256(data: &[u8]) -> String {
    let d = sha2::Sha256::digest(data);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A module version (path, version).
pub type Mv = (String, String);

/// What goes into a bundle.
pub struct Contents {
    /// Versions carried whole (info, mod, zip).
    pub versions: Vec<Mv>,
    /// Versions of which only the go.mod is carried.
    pub go_mods: Vec<Mv>,
}

/// The checksum database to carry: its spec, how it is reached, which modules it is not
/// asked about (GOPRIVATE / GONOSUMDB patterns).
pub struct DbSource {
    /// The database.
    pub db: SumDb,
    /// Where its files come from.
    pub proxy: Arc<SumdbProxy>,
    /// Patterns of modules it is not asked about.
    pub excluded: String,
}

/// What a bundle holds, for people.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// The bundle file.
    pub file: PathBuf,
    /// Module versions carried whole.
    pub versions: usize,
    /// Module versions of which only the go.mod is carried.
    pub go_mods: usize,
    /// Files.
    pub files: usize,
    /// Bytes before compression.
    pub bytes: u64,
    /// Checksum database lookups carried.
    pub lookups: usize,
    /// Checksum database tiles carried.
    pub tiles: usize,
    /// The database, if any.
    pub sumdb: Option<String>,
    /// The module versions with their hashes, as the index names them.
    #[serde(skip)]
    pub modules: Vec<Module>,
}

impl Summary {
    /// For people.
    pub fn render(&self, verb: &str) -> String {
        format!(
            "{verb} {}: {} module versions ({} more go.mod files), {} files, {} MB; checksum database {}: {} lookups, {} tiles\n",
            self.file.display(),
            self.versions,
            self.go_mods,
            self.files,
            self.bytes / 1_000_000,
            self.sumdb.as_deref().unwrap_or("none"),
            self.lookups,
            self.tiles,
        )
    }
}

/// Why a bundle cannot be made, read or imported.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file a bundle is made of is not in the data directory.
    #[error("{name} is not in the data directory")]
    NotInDataDir {
        /// Its name in the data directory.
        name: String,
    },
    /// A file of the data directory cannot be read.
    #[error("{name}: {source}")]
    Storage {
        /// Its name in the data directory.
        name: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A module path or version (or a checksum database file) that names no file.
    #[error(transparent)]
    Name(#[from] NameError),
    /// A module path or version that cannot be escaped.
    #[error(transparent)]
    Escape(#[from] gomod::module::Error),
    /// The checksum database's key is not a verifier key.
    #[error("the checksum database key {key}: {source}")]
    DbKey {
        /// The key.
        key: String,
        /// Why.
        #[source]
        source: NoteError,
    },
    /// The checksum database did not answer a module version's lookup.
    #[error("{path}@{version}: {source}")]
    DbLookup {
        /// The module path.
        path: String,
        /// The version.
        version: String,
        /// Why.
        #[source]
        source: crate::error::Error,
    },
    /// The checksum database did not give another of its files (`latest`, a tile).
    #[error("the checksum database's {file}: {source}")]
    DbFile {
        /// The file, relative to the database's root.
        file: String,
        /// Why.
        #[source]
        source: crate::error::Error,
    },
    /// A module version's lookup does not hold one of its hashes.
    #[error("{path}@{version}: the checksum database does not have {line:?}: not bundled")]
    NotInDb {
        /// The module path.
        path: String,
        /// The version.
        version: String,
        /// The go.sum line the lookup lacks.
        line: String,
    },
    /// A lookup, tree head or proof of the checksum database that does not hold.
    #[error(transparent)]
    Proof(#[from] proofs::Error),
    /// A file that cannot be opened, created or renamed.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A bundle entry that cannot be written or read.
    #[error("{name}: {source}")]
    Entry {
        /// Its path in the bundle.
        name: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Input or output that failed with nothing more to name (compressing, syncing, an
    /// entry's header).
    #[error(transparent)]
    Io(std::io::Error),
    /// The index cannot be written as JSON.
    #[error(transparent)]
    Json(serde_json::Error),
    /// The bundle could not be written (nothing is left behind).
    #[error("writing {}: {source}", file.display())]
    Write {
        /// The bundle file.
        file: PathBuf,
        /// Why.
        #[source]
        source: Box<Error>,
    },
    /// The file is not zstd-compressed.
    #[error("{}: not a modgate bundle: {source}", file.display())]
    NotBundle {
        /// The file.
        file: PathBuf,
        /// What it is instead.
        #[source]
        source: NotZstd,
    },
    /// zstd cannot start reading the file.
    #[error("{}: not a bundle (zstd): {source}", file.display())]
    Zstd {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The decompressed file is not a tar.
    #[error("{}: not a bundle (tar): {source}", file.display())]
    Tar {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The compressed data cannot be read past some point.
    #[error(
        "{}: a damaged bundle: the compressed data cannot be read ({source}); make it again with modgate bundle create, or copy it again",
        file.display()
    )]
    Damaged {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An entry larger than any file of a bundle.
    #[error("{name}: {size} bytes, more than a bundle file may be")]
    TooBig {
        /// Its path in the bundle.
        name: String,
        /// Its size.
        size: u64,
    },
    /// A bundle with no entries.
    #[error("{}: an empty bundle", file.display())]
    Empty {
        /// The file.
        file: PathBuf,
    },
    /// A tar whose first entry is not a bundle's index.
    #[error("{}: not a modgate bundle (its first entry is {name:?}, not {INDEX})", file.display())]
    FirstEntry {
        /// The file.
        file: PathBuf,
        /// The first entry's name.
        name: String,
    },
    /// An index that is not JSON of an index.
    #[error("{}: its index: {source}", file.display())]
    Index {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// An index of another format.
    #[error("{}: a bundle of format {format:?}; this modgate reads {FORMAT}", file.display())]
    Format {
        /// The file.
        file: PathBuf,
        /// The format its index names.
        format: String,
    },
    /// The index's checksum database key is not a verifier key.
    #[error("the bundle's checksum database key: {0}")]
    IndexKey(#[source] NoteError),
    /// An entry the index does not list.
    #[error("{name}: in the bundle but not in its index")]
    NotInIndex {
        /// Its path in the bundle.
        name: String,
    },
    /// An entry found twice.
    #[error("{name}: twice in the bundle")]
    Twice {
        /// Its path in the bundle.
        name: String,
    },
    /// An entry whose size or SHA-256 is not the index's.
    #[error("{name}: does not match the bundle's index (size or SHA-256): the bundle is damaged")]
    Mismatch {
        /// Its path in the bundle.
        name: String,
    },
    /// An entry that is no file of a data directory a bundle holds.
    #[error("{name}: not a file a bundle holds")]
    NotABundleFile {
        /// Its path in the bundle.
        name: String,
    },
    /// A module version's file that is not the one the index names.
    #[error("{name}: {source}")]
    Content {
        /// Its path in the bundle.
        name: String,
        /// Why.
        #[source]
        source: FileError,
    },
    /// The thread reading the bundle failed.
    #[error(transparent)]
    Reader(#[from] tokio::task::JoinError),
    /// A bundle that ends before every file of its index.
    #[error(
        "{}: cut short: {missing} files of its index missing ({}...)",
        file.display(),
        first.join(", ")
    )]
    CutShort {
        /// The file.
        file: PathBuf,
        /// How many files are missing.
        missing: usize,
        /// The first few missing.
        first: Vec<String>,
    },
    /// The checksum database's files carried do not prove its records.
    #[error("{}: the checksum database records: {source}", file.display())]
    Records {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: proofs::Error,
    },
    /// A checked file that cannot be stored in the data directory.
    #[error("storing {name}: {source}")]
    Store {
        /// Its name in the data directory.
        name: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The module cache holds another go.mod or zip hash for a version than the bundle.
    #[error(
        "{} holds another {what} for {path}@{version} than the bundle: nothing was imported (modgate cache verify says which is damaged)",
        file.display()
    )]
    Conflict {
        /// The module cache's file.
        file: PathBuf,
        /// `go.mod`, `zip hash`.
        what: &'static str,
        /// The module.
        path: String,
        /// Its version.
        version: String,
    },
    /// A version's lock in the module cache could not be taken (not because it is held).
    #[error(transparent)]
    Lock(#[from] crate::gomodcache::lock::Error),
    /// A go command holds a version's lock (it is downloading that version).
    #[error(
        "{} is held by a running go command (it is downloading {path}@{version}): nothing more was imported; run again when it is done",
        file.display()
    )]
    Locked {
        /// The `.lock` file.
        file: PathBuf,
        /// The module.
        path: String,
        /// Its version.
        version: String,
    },
}

/// Why a file is not zstd-compressed, as a bundle is.
#[derive(Debug, thiserror::Error)]
pub enum NotZstd {
    /// Its first bytes cannot be read.
    #[error("cannot read it: {0}")]
    Unreadable(#[source] std::io::Error),
    /// It is empty.
    #[error("the file is empty")]
    Empty,
    /// It starts with other bytes.
    #[error(
        "it is not zstd-compressed (a bundle starts with the bytes 28 b5 2f fd; this file starts with {}); make one with modgate bundle create",
        hex(head)
    )]
    Magic {
        /// Its first bytes (at most 4).
        head: Vec<u8>,
    },
}

/// `bytes` in hex, a space between bytes.
fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why a module version's file in a bundle is not the one its index names.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The version is not in the index.
    #[error("{path}@{version} is not in the bundle's index")]
    NotIndexed {
        /// The module path.
        path: String,
        /// The version.
        version: String,
    },
    /// A `.mod` whose go.mod hash is not the index's.
    #[error("the go.mod's hash does not match the bundle's index")]
    GoModHash,
    /// A `.ziphash` that is not the index's zip hash.
    #[error("the .ziphash does not match the bundle's index")]
    ZipHashFile,
    /// A zip whose hash is not the index's.
    #[error("the zip's hash does not match the bundle's index")]
    ZipHash,
    /// An `.info` that is not a version's.
    #[error("not a version's .info: {0}")]
    Info(#[source] gomod::info::InfoError),
    /// A zip that cannot be hashed.
    #[error("a damaged zip: {0}")]
    Zip(#[source] gomod::dirhash::Error),
    /// A lock or partial file, which no bundle holds.
    #[error("not a module file")]
    NotModuleFile,
    /// A name that is no file of a data directory.
    #[error(transparent)]
    Name(#[from] NameError),
}

/// A file to write: its path and where its bytes are.
enum Source {
    Store(Key),
    Bytes(Bytes),
}

async fn read_source(store: &Store, s: &Source) -> Result<Bytes, Error> {
    match s {
        Source::Bytes(b) => Ok(b.clone()),
        Source::Store(k) => store
            .get(k)
            .await
            .map_err(|source| Error::Storage {
                name: k.name().to_string(),
                source,
            })?
            .map(|b| b.data)
            .ok_or_else(|| Error::NotInDataDir {
                name: k.name().to_string(),
            }),
    }
}

/// The bundle's files: their paths in it and where their bytes are.
type Files = Vec<(String, Source)>;

/// Writes a bundle of `contents` from `store` (with `db`'s files) to `out`, atomically.
pub async fn create(
    store: &Store,
    contents: &Contents,
    db: Option<&DbSource>,
    out: &Path,
) -> Result<Summary, Error> {
    let whole: BTreeSet<&Mv> = contents.versions.iter().collect();
    let all: BTreeSet<&Mv> = contents.versions.iter().chain(&contents.go_mods).collect();
    let (modules, mut files) = module_files(store, &all, &whole).await?;
    let (sumdb, lookups, tiles) = match db {
        Some(db) => {
            let (l, t, f) = db_files(db, &modules).await?;
            files.extend(f.into_iter().map(|(p, b)| (p, Source::Bytes(b))));
            let d = Database {
                name: db.db.name.clone(),
                key: db.db.key.clone(),
            };
            (Some(d), l, t)
        }
        None => (None, 0, 0),
    };
    let (index, bytes) = index_of(store, &files, modules, sumdb.clone()).await?;
    write_atomically(store, &index, &files, out)
        .await
        .map_err(|e| Error::Write {
            file: out.to_path_buf(),
            source: Box::new(e),
        })?;
    Ok(Summary {
        file: out.to_path_buf(),
        versions: contents.versions.len(),
        go_mods: all.len() - whole.len(),
        files: files.len(),
        bytes,
        lookups,
        tiles,
        sumdb: sumdb.map(|d| d.name),
        modules: index.modules,
    })
}

/// The index entries of the module versions `all` (those in `whole` carried whole, the
/// rest by their go.mod and any `.info`) and their files, with an `@v/list` of the
/// versions carried whole of each path.
async fn module_files(
    store: &Store,
    all: &BTreeSet<&Mv>,
    whole: &BTreeSet<&Mv>,
) -> Result<(Vec<Module>, Files), Error> {
    let mut files = Vec::new();
    let mut modules = Vec::new();
    let mut lists: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for &m in all {
        let is_whole = whole.contains(m);
        modules.push(version_files(store, m, is_whole, &mut files).await?);
        if is_whole {
            lists.entry(m.0.clone()).or_default().push(m.1.clone());
        }
    }
    files.extend(list_files(lists)?);
    Ok((modules, files))
}

/// The index entry of `path@version`, its files added to `files`: the go.mod, and the
/// `.info`, zip and `.ziphash` when `whole` (else the `.info` if the store has it).
async fn version_files(
    store: &Store,
    (path, version): &Mv,
    whole: bool,
    files: &mut Files,
) -> Result<Module, Error> {
    let mod_key = Key::go_mod(path, version)?;
    let go_mod = read_source(store, &Source::Store(mod_key.clone())).await?;
    let mut m = Module {
        path: path.clone(),
        version: version.clone(),
        h1: None,
        go_mod_h1: gomod::dirhash::hash_go_mod(&go_mod),
    };
    files.push((mod_key.name().to_string(), Source::Bytes(go_mod)));
    let info = Key::info(path, version)?;
    if whole {
        let zh = Key::ziphash(path, version)?;
        let h = read_source(store, &Source::Store(zh.clone())).await?;
        m.h1 = Some(String::from_utf8_lossy(&h).trim().to_string());
        for k in [info, Key::zip(path, version)?] {
            files.push((k.name().to_string(), Source::Store(k)));
        }
        files.push((zh.name().to_string(), Source::Bytes(h)));
    } else if store.stat(&info).await.ok().flatten().is_some() {
        files.push((info.name().to_string(), Source::Store(info)));
    }
    Ok(m)
}

/// `@v/list` of each path: the versions the bundle holds whole, sorted.
fn list_files(lists: BTreeMap<String, Vec<String>>) -> Result<Files, Error> {
    let mut files = Vec::new();
    for (path, mut versions) in lists {
        gomod::semver::sort(&mut versions);
        let body: String = versions.iter().map(|v| format!("{v}\n")).collect();
        let k = Key::list(&path)?;
        files.push((k.name().to_string(), Source::Bytes(Bytes::from(body))));
    }
    Ok(files)
}

/// The index of `files` (every file's size and hash: a first pass over them), and their
/// bytes in all.
async fn index_of(
    store: &Store,
    files: &Files,
    modules: Vec<Module>,
    sumdb: Option<Database>,
) -> Result<(Index, u64), Error> {
    let mut index_files = Vec::new();
    let mut bytes = 0;
    for (p, s) in files {
        let data = read_source(store, s).await?;
        bytes += data.len() as u64;
        index_files.push(File {
            path: p.clone(),
            size: data.len() as u64,
            sha256: sha256(&data),
        });
    }
    let index = Index {
        format: FORMAT.into(),
        created: httpdate::fmt_http_date(std::time::SystemTime::now()),
        sumdb,
        modules,
        files: index_files,
    };
    Ok((index, bytes))
}

/// Writes the bundle of `index` and `files` to a temporary file beside `out`, renamed to
/// `out` once synced; removed when the writing fails.
async fn write_atomically(
    store: &Store,
    index: &Index,
    files: &Files,
    out: &Path,
) -> Result<(), Error> {
    let tmp = out.with_file_name(format!(
        ".{}.{}.tmp",
        out.file_name().and_then(|n| n.to_str()).unwrap_or("bundle"),
        std::process::id()
    ));
    let written = async {
        write_bundle(store, index, files, &tmp).await?;
        std::fs::rename(&tmp, out).map_err(|source| Error::File {
            path: out.to_path_buf(),
            source,
        })
    };
    let r = written.await;
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// Writes the bundle (the index, then `files`) to `file`, and syncs it.
async fn write_bundle(
    store: &Store,
    index: &Index,
    files: &Files,
    file: &Path,
) -> Result<(), Error> {
    let f = std::fs::File::create(file).map_err(|source| Error::File {
        path: file.to_path_buf(),
        source,
    })?;
    let enc = zstd::stream::Encoder::new(f, 3).map_err(Error::Io)?;
    let mut tar = tar::Builder::new(enc);
    let json = serde_json::to_vec_pretty(index).map_err(Error::Json)?;
    append(&mut tar, INDEX, &json)?;
    for (p, s) in files {
        let data = read_source(store, s).await?;
        append(&mut tar, p, &data)?;
    }
    let enc = tar.into_inner().map_err(Error::Io)?;
    let f = enc.finish().map_err(Error::Io)?;
    f.sync_all().map_err(Error::Io)
}

fn append<W: Write>(tar: &mut tar::Builder<W>, path: &str, data: &[u8]) -> Result<(), Error> {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut h, path, data)
        .map_err(|source| Error::Entry {
            name: path.to_string(),
            source,
        })
}

/// The checksum database's files for `modules`: every lookup, `latest`, and the tiles of
/// every proof the go command will make (`proofs.rs`); (lookups, tiles, files).
async fn db_files(
    db: &DbSource,
    modules: &[Module],
) -> Result<(usize, usize, Vec<(String, Bytes)>), Error> {
    let verifier =
        gomod::sumdb::note::Verifier::new(&db.db.key).map_err(|source| Error::DbKey {
            key: db.db.key.clone(),
            source,
        })?;
    let name = &db.db.name;
    let in_bundle = |file: &str| gomod::layout::sumdb_file(name, file);
    let answer = |file: String| async move {
        db.proxy
            .answer(&file)
            .await
            .map(|a| a.body)
            .map_err(|source| Error::DbFile { file, source })
    };
    let mut out = Vec::new();
    let mut lookups = Vec::new();
    for m in modules {
        if gomod::module::match_prefix_patterns(&db.excluded, &m.path) {
            continue;
        }
        let rel = format!(
            "lookup/{}@{}",
            gomod::module::escape_path(&m.path)?,
            gomod::module::escape_version(&m.version)?
        );
        let body = db
            .proxy
            .answer(&rel)
            .await
            .map_err(|source| Error::DbLookup {
                path: m.path.clone(),
                version: m.version.clone(),
                source,
            })?
            .body;
        let l = proofs::parse_lookup(&format!("{}@{}", m.path, m.version), &body, &verifier)?;
        check_lines(m, &l.text)?;
        lookups.push(l);
        out.push((in_bundle(&rel)?, body));
    }
    let latest = answer("latest".into()).await?;
    let latest_tree = proofs::open_tree(&latest, &verifier)?;
    out.push((in_bundle("latest")?, latest));
    let mut tiles = proofs::Tiles::default();
    for _ in 0..64 {
        let missing = proofs::prove_all(&lookups, &[latest_tree], &tiles, false)?;
        if missing.is_empty() {
            break;
        }
        for path in missing {
            let body = answer(path.clone()).await?;
            tiles.have.insert(path, body.to_vec());
        }
    }
    proofs::prove_all(&lookups, &[latest_tree], &tiles, true)?;
    let n = tiles.have.len();
    let mut t: Vec<(String, Vec<u8>)> = tiles.have.into_iter().collect();
    t.sort();
    for (p, d) in t {
        out.push((in_bundle(&p)?, Bytes::from(d)));
    }
    Ok((lookups.len(), n, out))
}

/// A lookup's record must hold the module's own hashes.
fn check_lines(m: &Module, text: &[u8]) -> Result<(), Error> {
    let text = String::from_utf8_lossy(text);
    let want = |line: String| {
        if text.lines().any(|l| l == line) {
            Ok(())
        } else {
            Err(Error::NotInDb {
                path: m.path.clone(),
                version: m.version.clone(),
                line,
            })
        }
    };
    want(format!("{} {}/go.mod {}", m.path, m.version, m.go_mod_h1))?;
    if let Some(h) = &m.h1 {
        want(format!("{} {} {h}", m.path, m.version))?;
    }
    Ok(())
}

/// zstd's frame magic number, which every bundle starts with.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// `Ok` when `f` starts with zstd's magic number (read, then the file rewound), else what
/// it is instead.
fn zstd_magic(f: &mut dyn Read) -> Result<Vec<u8>, NotZstd> {
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => return Err(NotZstd::Unreadable(e)),
        }
    }
    match n {
        0 => Err(NotZstd::Empty),
        _ if head[..n] == ZSTD_MAGIC[..n] && n == 4 => Ok(head.to_vec()),
        _ => Err(NotZstd::Magic {
            head: head[..n].to_vec(),
        }),
    }
}

/// One entry of a bundle as read: its name and bytes, or why it could not be read.
type Entry = Result<(String, Bytes), Error>;

/// A bundle's bytes: a file, or standard input for `-`.
type Input = Box<dyn Read + Send>;

/// Whether `path` names standard input (`-`), as a bundle to read.
pub fn is_stdin(path: &Path) -> bool {
    path == Path::new("-")
}

/// The tar stream of the bundle at `path` (standard input for `-`): zstd (checked by its
/// magic number, the bytes read for it put back in front).
fn open_tar(
    path: &Path,
) -> Result<tar::Archive<zstd::stream::Decoder<'static, std::io::BufReader<Input>>>, Error> {
    let file = || path.to_path_buf();
    let mut f: Input = if is_stdin(path) {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|source| Error::File {
            path: file(),
            source,
        })?)
    };
    let head = zstd_magic(&mut f).map_err(|source| Error::NotBundle {
        file: file(),
        source,
    })?;
    let f: Input = Box::new(std::io::Cursor::new(head).chain(f));
    let dec = zstd::stream::Decoder::new(f).map_err(|source| Error::Zstd {
        file: file(),
        source,
    })?;
    Ok(tar::Archive::new(dec))
}

/// Reads the bundle at `path` (blocking), sending each entry to `tx`; stops at the first
/// error (sent) or when nobody listens.
fn read_entries(path: &Path, tx: &tokio::sync::mpsc::Sender<Entry>) {
    let send = |r| tx.blocking_send(r).is_ok();
    let file = || path.to_path_buf();
    let mut tar = match open_tar(path) {
        Ok(t) => t,
        Err(e) => {
            send(Err(e));
            return;
        }
    };
    let entries = match tar.entries() {
        Ok(e) => e,
        Err(source) => {
            send(Err(Error::Tar {
                file: file(),
                source,
            }));
            return;
        }
    };
    for entry in entries {
        let r = entry
            .map_err(|source| Error::Damaged {
                file: file(),
                source,
            })
            .and_then(|mut e| {
                let name = e.path().map_err(Error::Io)?.to_string_lossy().into_owned();
                let size = e.header().size().map_err(Error::Io)?;
                if size > MAX_INDEX.max(gomod::zip::MAX_ZIP_FILE) {
                    return Err(Error::TooBig { name, size });
                }
                let mut data = Vec::with_capacity(size as usize);
                if let Err(source) = e.read_to_end(&mut data) {
                    return Err(Error::Entry { name, source });
                }
                Ok((name, Bytes::from(data)))
            });
        let failed = r.is_err();
        if !send(r) || failed {
            return;
        }
    }
}

/// Reads a bundle, checking everything (module docs); each checked file goes to `keep`
/// (with its key in a data directory) as it is read. The index and what was read.
pub async fn read<F, Fut>(file: &Path, mut keep: F) -> Result<(Index, Summary), Error>
where
    F: FnMut(Key, Bytes) -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Entry>(2);
    let path = file.to_path_buf();
    // The tar is read on a thread of its own, an entry at a time.
    let reader = tokio::task::spawn_blocking(move || read_entries(&path, &tx));
    let index = read_index(&mut rx, file).await?;
    let expected: BTreeMap<&str, &File> =
        index.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let modules: BTreeMap<(&str, &str), &Module> = index
        .modules
        .iter()
        .map(|m| ((m.path.as_str(), m.version.as_str()), m))
        .collect();
    let mut db = DbFiles::new(&index)?;
    let mut seen = BTreeSet::new();
    let mut bytes = 0u64;
    while let Some(r) = rx.recv().await {
        let (name, data) = r?;
        let Some(f) = expected.get(name.as_str()) else {
            return Err(Error::NotInIndex { name });
        };
        if !seen.insert(name.clone()) {
            return Err(Error::Twice { name });
        }
        if data.len() as u64 != f.size || sha256(&data) != f.sha256 {
            return Err(Error::Mismatch { name });
        }
        bytes += data.len() as u64;
        let checked = match (db.file_of(&name), gomod::layout::parse(&name)) {
            (Some(rel), _) => Ok(db.keep(&name, &rel, &data)?),
            (None, Some(Name::List { path })) => Key::list(&path).map_err(FileError::Name),
            (None, Some(Name::Version { path, version, ext })) => {
                module_key(&path, &version, ext, &data, &modules)
            }
            _ => return Err(Error::NotABundleFile { name }),
        };
        let key = checked.map_err(|source| Error::Content { name, source })?;
        keep(key, data).await?;
    }
    reader.await?;
    if seen.len() != expected.len() {
        let first: Vec<String> = expected
            .keys()
            .filter(|p| !seen.contains(**p))
            .take(5)
            .map(|p| p.to_string())
            .collect();
        return Err(Error::CutShort {
            file: file.to_path_buf(),
            missing: expected.len() - seen.len(),
            first,
        });
    }
    db.prove(&index, file)?;
    let summary = Summary {
        file: file.to_path_buf(),
        versions: index.modules.iter().filter(|m| m.h1.is_some()).count(),
        go_mods: index.modules.iter().filter(|m| m.h1.is_none()).count(),
        files: seen.len(),
        bytes,
        lookups: db.lookups.len(),
        tiles: db.tiles.have.len(),
        sumdb: index.sumdb.as_ref().map(|d| d.name.clone()),
        modules: index.modules.clone(),
    };
    Ok((index, summary))
}

/// The bundle's first entry, its index, of a format this modgate reads.
async fn read_index(
    rx: &mut tokio::sync::mpsc::Receiver<Entry>,
    file: &Path,
) -> Result<Index, Error> {
    let (name, data) = rx.recv().await.ok_or_else(|| Error::Empty {
        file: file.to_path_buf(),
    })??;
    if name != INDEX {
        return Err(Error::FirstEntry {
            file: file.to_path_buf(),
            name,
        });
    }
    let index: Index = serde_json::from_slice(&data).map_err(|source| Error::Index {
        file: file.to_path_buf(),
        source,
    })?;
    if index.format != FORMAT {
        return Err(Error::Format {
            file: file.to_path_buf(),
            format: index.format,
        });
    }
    Ok(index)
}

/// The checksum database's files a bundle carries, gathered as they are read, then
/// proven together.
struct DbFiles {
    /// The database's name and its key's verifier, when the bundle carries one.
    db: Option<(String, gomod::sumdb::note::Verifier)>,
    lookups: Vec<proofs::Lookup>,
    tiles: proofs::Tiles,
    latest: Option<gomod::sumdb::tlog::Tree>,
}

impl DbFiles {
    fn new(index: &Index) -> Result<DbFiles, Error> {
        let db = match &index.sumdb {
            Some(d) => Some((
                d.name.clone(),
                gomod::sumdb::note::Verifier::new(&d.key).map_err(Error::IndexKey)?,
            )),
            None => None,
        };
        Ok(DbFiles {
            db,
            lookups: Vec::new(),
            tiles: proofs::Tiles::default(),
            latest: None,
        })
    }

    /// The database's file `name` names (`latest`, `lookup/...`, `tile/...`), if any.
    fn file_of(&self, name: &str) -> Option<String> {
        let (db, _) = self.db.as_ref()?;
        gomod::layout::sumdb_file_of(db, name).map(str::to_string)
    }

    /// Keeps the database's file `rel` (bundle entry `name`) for the proofs; its key.
    fn keep(&mut self, name: &str, rel: &str, data: &[u8]) -> Result<Key, Error> {
        let Some((db, v)) = &self.db else {
            return Err(Error::NotABundleFile {
                name: name.to_string(),
            });
        };
        if rel == "latest" {
            self.latest = Some(proofs::open_tree(data, v)?);
        } else if let Some(mv) = rel.strip_prefix("lookup/") {
            self.lookups.push(proofs::parse_lookup(mv, data, v)?);
        } else if rel.starts_with("tile/") {
            self.tiles.have.insert(rel.to_string(), data.to_vec());
        }
        Key::sumdb(db, rel).map_err(|e| Error::Content {
            name: name.to_string(),
            source: FileError::Name(e),
        })
    }

    /// Every proof the go command will make holds with what the bundle carries, and every
    /// module's hashes are in its lookup.
    fn prove(&self, index: &Index, file: &Path) -> Result<(), Error> {
        if self.db.is_none() {
            return Ok(());
        }
        let by_name: BTreeMap<&str, &proofs::Lookup> =
            self.lookups.iter().map(|l| (l.name.as_str(), l)).collect();
        for m in &index.modules {
            let name = format!(
                "{}@{}",
                gomod::module::escape_path(&m.path)?,
                gomod::module::escape_version(&m.version)?
            );
            if let Some(l) = by_name.get(name.as_str()) {
                check_lines(m, &l.text)?;
            }
        }
        let extra: Vec<_> = self.latest.into_iter().collect();
        proofs::prove_all(&self.lookups, &extra, &self.tiles, true).map_err(|source| {
            Error::Records {
                file: file.to_path_buf(),
                source,
            }
        })?;
        Ok(())
    }
}

/// The key of `path@version`'s file `ext`, its content checked against the index: a
/// zip's and a `.ziphash`'s hash, a `.mod`'s go.mod hash, an `.info`'s JSON.
fn module_key(
    path: &str,
    version: &str,
    ext: Ext,
    data: &[u8],
    modules: &BTreeMap<(&str, &str), &Module>,
) -> Result<Key, FileError> {
    let m = modules
        .get(&(path, version))
        .ok_or_else(|| FileError::NotIndexed {
            path: path.to_string(),
            version: version.to_string(),
        })?;
    let key = match ext {
        Ext::Info => {
            gomod::info::parse(data).map_err(FileError::Info)?;
            Key::info(path, version)
        }
        Ext::Mod => {
            if gomod::dirhash::hash_go_mod(data) != m.go_mod_h1 {
                return Err(FileError::GoModHash);
            }
            Key::go_mod(path, version)
        }
        Ext::ZipHash => {
            if m.h1.as_deref() != Some(String::from_utf8_lossy(data).trim()) {
                return Err(FileError::ZipHashFile);
            }
            Key::ziphash(path, version)
        }
        Ext::Zip => {
            let h = gomod::dirhash::hash_zip(std::io::Cursor::new(data)).map_err(FileError::Zip)?;
            if m.h1.as_deref() != Some(h.as_str()) {
                return Err(FileError::ZipHash);
            }
            Key::zip(path, version)
        }
        Ext::Lock | Ext::Partial => return Err(FileError::NotModuleFile),
    };
    Ok(key?)
}

/// Reads and checks a bundle without keeping anything.
pub async fn verify(file: &Path) -> Result<Summary, Error> {
    read(file, |_, _| async { Ok(()) }).await.map(|(_, s)| s)
}

/// Imports a bundle into `store`: each file once checked (one that is already there and
/// the same is left alone). The bundle's index.
pub async fn import(file: &Path, store: &Store) -> Result<(Index, Summary), Error> {
    read(file, |key, data| async move {
        if let Ok(Some(b)) = store.get(&key).await
            && b.data == data
        {
            return Ok(());
        }
        store.put(&key, data).await.map_err(|source| Error::Store {
            name: key.name().to_string(),
            source,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(msg: &str) -> std::io::Error {
        std::io::Error::other(msg.to_string())
    }

    #[test]
    fn errors_say_what_they_said_as_text() {
        let file = PathBuf::from("/b/x.bundle");
        let said = |e: Error| e.to_string();
        assert_eq!(
            said(Error::Write {
                file: file.clone(),
                source: Box::new(Error::NotInDataDir {
                    name: "cache/download/a/@v/v1.0.0.zip".into()
                }),
            }),
            "writing /b/x.bundle: cache/download/a/@v/v1.0.0.zip is not in the data directory"
        );
        assert_eq!(
            said(Error::NotInDb {
                path: "a".into(),
                version: "v1.0.0".into(),
                line: "a v1.0.0/go.mod h1:x=".into(),
            }),
            "a@v1.0.0: the checksum database does not have \"a v1.0.0/go.mod h1:x=\": not bundled"
        );
        assert_eq!(
            said(Error::NotBundle {
                file: file.clone(),
                source: NotZstd::Magic {
                    head: vec![0x50, 0x4b, 0x03],
                },
            }),
            "/b/x.bundle: not a modgate bundle: it is not zstd-compressed (a bundle starts with the bytes 28 b5 2f fd; this file starts with 50 4b 03); make one with modgate bundle create"
        );
        assert_eq!(
            said(Error::CutShort {
                file: file.clone(),
                missing: 2,
                first: vec!["p".into(), "q".into()],
            }),
            "/b/x.bundle: cut short: 2 files of its index missing (p, q...)"
        );
        assert_eq!(
            said(Error::Content {
                name: "cache/download/a/@v/v1.0.0.mod".into(),
                source: FileError::GoModHash,
            }),
            "cache/download/a/@v/v1.0.0.mod: the go.mod's hash does not match the bundle's index"
        );
        assert_eq!(
            said(Error::FirstEntry {
                file: file.clone(),
                name: "x".into(),
            }),
            "/b/x.bundle: not a modgate bundle (its first entry is \"x\", not modgate-bundle.json)"
        );
        assert_eq!(
            said(Error::Store {
                name: "k".into(),
                source: io("disk full"),
            }),
            "storing k: disk full"
        );
        let failures = proofs::Error::Failures(vec![
            proofs::Error::Forked { size: 3 },
            proofs::Error::NotContained { older: 1, newer: 2 },
        ]);
        assert_eq!(
            said(Error::Records {
                file,
                source: failures
            }),
            "/b/x.bundle: the checksum database records: two signed tree heads of size 3 with different hashes: the database forked\nthe tree of size 1 is not contained in the tree of size 2: the database forked"
        );
    }
}
