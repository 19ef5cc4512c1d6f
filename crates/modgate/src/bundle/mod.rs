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

pub mod proofs;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use gomod::layout::{Ext, Name};
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

/// A file to write: its path and where its bytes are.
enum Source {
    Store(Key),
    Bytes(Bytes),
}

async fn read_source(store: &Store, s: &Source) -> Result<Bytes, String> {
    match s {
        Source::Bytes(b) => Ok(b.clone()),
        Source::Store(k) => store
            .get(k)
            .await
            .map_err(|e| format!("{}: {e}", k.name()))?
            .map(|b| b.data)
            .ok_or_else(|| format!("{} is not in the data directory", k.name())),
    }
}

/// Writes a bundle of `contents` from `store` (with `db`'s files) to `out`, atomically.
pub async fn create(
    store: &Store,
    contents: &Contents,
    db: Option<&DbSource>,
    out: &Path,
) -> Result<Summary, String> {
    let key_err = |e: crate::storage::KeyError| e.to_string();
    let mut files: Vec<(String, Source)> = Vec::new();
    let mut modules = Vec::new();
    let mut lists: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let whole: BTreeSet<&Mv> = contents.versions.iter().collect();
    let all: BTreeSet<&Mv> = contents.versions.iter().chain(&contents.go_mods).collect();
    for (path, version) in &all {
        let mod_key = Key::go_mod(path, version).map_err(key_err)?;
        let go_mod = read_source(store, &Source::Store(mod_key.clone())).await?;
        let mut m = Module {
            path: path.clone(),
            version: version.clone(),
            h1: None,
            go_mod_h1: gomod::dirhash::hash_go_mod(&go_mod),
        };
        files.push((mod_key.name().to_string(), Source::Bytes(go_mod)));
        let info = Key::info(path, version).map_err(key_err)?;
        if whole.contains(&(path.clone(), version.clone())) {
            let zh = Key::ziphash(path, version).map_err(key_err)?;
            let h = read_source(store, &Source::Store(zh.clone())).await?;
            m.h1 = Some(String::from_utf8_lossy(&h).trim().to_string());
            for k in [info, Key::zip(path, version).map_err(key_err)?] {
                files.push((k.name().to_string(), Source::Store(k)));
            }
            files.push((zh.name().to_string(), Source::Bytes(h)));
            lists.entry(path.clone()).or_default().push(version.clone());
        } else if store.stat(&info).await.ok().flatten().is_some() {
            files.push((info.name().to_string(), Source::Store(info)));
        }
        modules.push(m);
    }
    // `@v/list`: the versions the bundle holds whole.
    for (path, mut versions) in lists {
        gomod::semver::sort(&mut versions);
        let body: String = versions.iter().map(|v| format!("{v}\n")).collect();
        let k = Key::list(&path).map_err(key_err)?;
        files.push((k.name().to_string(), Source::Bytes(Bytes::from(body))));
    }
    let (sumdb, lookups, tiles) = match db {
        Some(db) => {
            let (l, t, f) = db_files(db, &modules).await?;
            files.extend(f.into_iter().map(|(p, b)| (p, Source::Bytes(b))));
            (
                Some(Database {
                    name: db.db.name.clone(),
                    key: db.db.key.clone(),
                }),
                l,
                t,
            )
        }
        None => (None, 0, 0),
    };
    // The index first: every file's size and hash (a first pass over them).
    let mut index_files = Vec::new();
    let mut bytes = 0;
    for (p, s) in &files {
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
        sumdb: sumdb.clone(),
        modules,
        files: index_files,
    };
    let tmp = out.with_file_name(format!(
        ".{}.{}.tmp",
        out.file_name().and_then(|n| n.to_str()).unwrap_or("bundle"),
        std::process::id()
    ));
    let write = async {
        let f = std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
        let enc = zstd::stream::Encoder::new(f, 3).map_err(|e| e.to_string())?;
        let mut tar = tar::Builder::new(enc);
        let json = serde_json::to_vec_pretty(&index).map_err(|e| e.to_string())?;
        append(&mut tar, INDEX, &json)?;
        for (p, s) in &files {
            let data = read_source(store, s).await?;
            append(&mut tar, p, &data)?;
        }
        let enc = tar.into_inner().map_err(|e| e.to_string())?;
        let f = enc.finish().map_err(|e| e.to_string())?;
        f.sync_all().map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, out).map_err(|e| format!("{}: {e}", out.display()))
    };
    if let Err(e) = write.await {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("writing {}: {e}", out.display()));
    }
    Ok(Summary {
        file: out.to_path_buf(),
        versions: contents.versions.len(),
        go_mods: all.len() - whole.len(),
        files: files.len(),
        bytes,
        lookups,
        tiles,
        sumdb: sumdb.map(|d| d.name),
    })
}

fn append<W: Write>(tar: &mut tar::Builder<W>, path: &str, data: &[u8]) -> Result<(), String> {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut h, path, data)
        .map_err(|e| format!("{path}: {e}"))
}

/// The checksum database's files for `modules`: every lookup, `latest`, and the tiles of
/// every proof the go command will make (`proofs.rs`); (lookups, tiles, files).
async fn db_files(
    db: &DbSource,
    modules: &[Module],
) -> Result<(usize, usize, Vec<(String, Bytes)>), String> {
    let verifier = gomod::sumdb::note::Verifier::new(&db.db.key)
        .map_err(|e| format!("the checksum database key {}: {e}", db.db.key))?;
    let name = &db.db.name;
    let in_bundle = |file: &str| gomod::layout::sumdb_file(name, file).map_err(|e| e.to_string());
    let mut out = Vec::new();
    let mut lookups = Vec::new();
    for m in modules {
        if gomod::module::match_prefix_patterns(&db.excluded, &m.path) {
            continue;
        }
        let rel = format!(
            "lookup/{}@{}",
            gomod::module::escape_path(&m.path).map_err(|e| e.to_string())?,
            gomod::module::escape_version(&m.version).map_err(|e| e.to_string())?
        );
        let body = db
            .proxy
            .answer(&rel)
            .await
            .map_err(|e| format!("{}@{}: {e}", m.path, m.version))?
            .body;
        let l = proofs::parse_lookup(&format!("{}@{}", m.path, m.version), &body, &verifier)?;
        check_lines(m, &l.text)?;
        lookups.push(l);
        out.push((in_bundle(&rel)?, body));
    }
    let latest = db
        .proxy
        .answer("latest")
        .await
        .map_err(|e| format!("the checksum database's latest: {e}"))?
        .body;
    let latest_tree = proofs::open_tree(&latest, &verifier)?;
    out.push((in_bundle("latest")?, latest));
    let mut tiles = proofs::Tiles::default();
    for _ in 0..64 {
        let missing = proofs::prove_all(&lookups, &[latest_tree], &tiles, false)?;
        if missing.is_empty() {
            break;
        }
        for path in missing {
            let body = db
                .proxy
                .answer(&path)
                .await
                .map_err(|e| format!("the checksum database's {path}: {e}"))?
                .body;
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
fn check_lines(m: &Module, text: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(text);
    let has = |line: String| text.lines().any(|l| l == line);
    let want_mod = format!("{} {}/go.mod {}", m.path, m.version, m.go_mod_h1);
    if !has(want_mod.clone()) {
        return Err(format!(
            "{}@{}: the checksum database does not have {want_mod:?}: not bundled",
            m.path, m.version
        ));
    }
    if let Some(h) = &m.h1 {
        let want = format!("{} {} {h}", m.path, m.version);
        if !has(want.clone()) {
            return Err(format!(
                "{}@{}: the checksum database does not have {want:?}: not bundled",
                m.path, m.version
            ));
        }
    }
    Ok(())
}

/// zstd's frame magic number, which every bundle starts with.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// `Ok` when `f` starts with zstd's magic number (read, then the file rewound), else what
/// it is instead, in words.
fn zstd_magic(mut f: &std::fs::File) -> Result<(), String> {
    use std::io::{Read, Seek};
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => return Err(format!("cannot read it: {e}")),
        }
    }
    f.rewind().map_err(|e| format!("cannot read it: {e}"))?;
    match n {
        0 => Err("the file is empty".into()),
        _ if head[..n] == ZSTD_MAGIC[..n] && n == 4 => Ok(()),
        _ => Err(format!(
            "it is not zstd-compressed (a bundle starts with the bytes 28 b5 2f fd; this file starts with {}); make one with modgate bundle create",
            head[..n]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        )),
    }
}

/// One entry of a bundle as read: its name and bytes, or why it could not be read.
type Entry = Result<(String, Bytes), String>;

/// Reads the bundle at `path` (blocking), sending each entry to `tx`; stops at the first
/// error (sent) or when nobody listens.
fn read_entries(path: &Path, tx: &tokio::sync::mpsc::Sender<Entry>) {
    let send = |r| tx.blocking_send(r).is_ok();
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            send(Err(format!("{}: {e}", path.display())));
            return;
        }
    };
    if let Err(why) = zstd_magic(&f) {
        send(Err(format!(
            "{}: not a modgate bundle: {why}",
            path.display()
        )));
        return;
    }
    let dec = match zstd::stream::Decoder::new(f) {
        Ok(d) => d,
        Err(e) => {
            send(Err(format!("{}: not a bundle (zstd): {e}", path.display())));
            return;
        }
    };
    let mut tar = tar::Archive::new(dec);
    let entries = match tar.entries() {
        Ok(e) => e,
        Err(e) => {
            send(Err(format!("{}: not a bundle (tar): {e}", path.display())));
            return;
        }
    };
    for entry in entries {
        let r = entry
            .map_err(|e| {
                format!(
                    "{}: a damaged bundle: the compressed data cannot be read ({e}); make it again with modgate bundle create, or copy it again",
                    path.display()
                )
            })
            .and_then(|mut e| {
                let name = e
                    .path()
                    .map_err(|e| e.to_string())?
                    .to_string_lossy()
                    .into_owned();
                let size = e.header().size().map_err(|e| e.to_string())?;
                if size > MAX_INDEX.max(gomod::zip::MAX_ZIP_FILE) {
                    return Err(format!(
                        "{name}: {size} bytes, more than a bundle file may be"
                    ));
                }
                let mut data = Vec::with_capacity(size as usize);
                e.read_to_end(&mut data)
                    .map_err(|e| format!("{name}: {e}"))?;
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
pub async fn read<F, Fut>(file: &Path, mut keep: F) -> Result<(Index, Summary), String>
where
    F: FnMut(Key, Bytes) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
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
            return Err(format!("{name}: in the bundle but not in its index"));
        };
        if !seen.insert(name.clone()) {
            return Err(format!("{name}: twice in the bundle"));
        }
        if data.len() as u64 != f.size || sha256(&data) != f.sha256 {
            return Err(format!(
                "{name}: does not match the bundle's index (size or SHA-256): the bundle is damaged"
            ));
        }
        bytes += data.len() as u64;
        let key = match (db.file_of(&name), gomod::layout::parse(&name)) {
            (Some(rel), _) => db.keep(&name, &rel, &data)?,
            (None, Some(Name::List { path })) => {
                Key::list(&path).map_err(|e| format!("{name}: {e}"))?
            }
            (None, Some(Name::Version { path, version, ext })) => {
                module_key(&path, &version, ext, &data, &modules)
                    .map_err(|e| format!("{name}: {e}"))?
            }
            _ => return Err(format!("{name}: not a file a bundle holds")),
        };
        keep(key, data).await?;
    }
    reader.await.map_err(|e| e.to_string())?;
    if seen.len() != expected.len() {
        let missing: Vec<&str> = expected
            .keys()
            .filter(|p| !seen.contains(**p))
            .take(5)
            .copied()
            .collect();
        return Err(format!(
            "{}: cut short: {} files of its index missing ({}...)",
            file.display(),
            expected.len() - seen.len(),
            missing.join(", ")
        ));
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
    };
    Ok((index, summary))
}

/// The bundle's first entry, its index, of a format this modgate reads.
async fn read_index(
    rx: &mut tokio::sync::mpsc::Receiver<Entry>,
    file: &Path,
) -> Result<Index, String> {
    let (name, data) = rx
        .recv()
        .await
        .ok_or_else(|| format!("{}: an empty bundle", file.display()))??;
    if name != INDEX {
        return Err(format!(
            "{}: not a modgate bundle (its first entry is {name:?}, not {INDEX})",
            file.display()
        ));
    }
    let index: Index =
        serde_json::from_slice(&data).map_err(|e| format!("{}: its index: {e}", file.display()))?;
    if index.format != FORMAT {
        return Err(format!(
            "{}: a bundle of format {:?}; this modgate reads {FORMAT}",
            file.display(),
            index.format
        ));
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
    fn new(index: &Index) -> Result<DbFiles, String> {
        let db = match &index.sumdb {
            Some(d) => Some((
                d.name.clone(),
                gomod::sumdb::note::Verifier::new(&d.key)
                    .map_err(|e| format!("the bundle's checksum database key: {e}"))?,
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
    fn keep(&mut self, name: &str, rel: &str, data: &[u8]) -> Result<Key, String> {
        let Some((db, v)) = &self.db else {
            return Err(format!("{name}: not a file a bundle holds"));
        };
        if rel == "latest" {
            self.latest = Some(proofs::open_tree(data, v)?);
        } else if let Some(mv) = rel.strip_prefix("lookup/") {
            self.lookups.push(proofs::parse_lookup(mv, data, v)?);
        } else if rel.starts_with("tile/") {
            self.tiles.have.insert(rel.to_string(), data.to_vec());
        }
        Key::sumdb(db, rel).map_err(|e| format!("{name}: {e}"))
    }

    /// Every proof the go command will make holds with what the bundle carries, and every
    /// module's hashes are in its lookup.
    fn prove(&self, index: &Index, file: &Path) -> Result<(), String> {
        if self.db.is_none() {
            return Ok(());
        }
        let by_name: BTreeMap<&str, &proofs::Lookup> =
            self.lookups.iter().map(|l| (l.name.as_str(), l)).collect();
        for m in &index.modules {
            let name = format!(
                "{}@{}",
                gomod::module::escape_path(&m.path).map_err(|e| e.to_string())?,
                gomod::module::escape_version(&m.version).map_err(|e| e.to_string())?
            );
            if let Some(l) = by_name.get(name.as_str()) {
                check_lines(m, &l.text)?;
            }
        }
        let extra: Vec<_> = self.latest.into_iter().collect();
        proofs::prove_all(&self.lookups, &extra, &self.tiles, true)
            .map_err(|e| format!("{}: the checksum database records: {e}", file.display()))?;
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
) -> Result<Key, String> {
    let m = modules
        .get(&(path, version))
        .ok_or_else(|| format!("{path}@{version} is not in the bundle's index"))?;
    let bad = |what: &str| Err(format!("{what} does not match the bundle's index"));
    let key = match ext {
        Ext::Info => {
            gomod::info::parse(data).map_err(|e| format!("not a version's .info: {e}"))?;
            Key::info(path, version)
        }
        Ext::Mod => {
            if gomod::dirhash::hash_go_mod(data) != m.go_mod_h1 {
                return bad("the go.mod's hash");
            }
            Key::go_mod(path, version)
        }
        Ext::ZipHash => {
            if m.h1.as_deref() != Some(String::from_utf8_lossy(data).trim()) {
                return bad("the .ziphash");
            }
            Key::ziphash(path, version)
        }
        Ext::Zip => {
            let h = gomod::dirhash::hash_zip(std::io::Cursor::new(data))
                .map_err(|e| format!("a damaged zip: {e}"))?;
            if m.h1.as_deref() != Some(h.as_str()) {
                return bad("the zip's hash");
            }
            Key::zip(path, version)
        }
        Ext::Lock | Ext::Partial => return Err("not a module file".into()),
    };
    key.map_err(|e| e.to_string())
}

/// Reads and checks a bundle without keeping anything.
pub async fn verify(file: &Path) -> Result<Summary, String> {
    read(file, |_, _| async { Ok(()) }).await.map(|(_, s)| s)
}

/// Imports a bundle into `store`: each file once checked (one that is already there and
/// the same is left alone). The bundle's index.
pub async fn import(file: &Path, store: &Store) -> Result<(Index, Summary), String> {
    read(file, |key, data| async move {
        if let Ok(Some(b)) = store.get(&key).await
            && b.data == data
        {
            return Ok(());
        }
        store
            .put(&key, data)
            .await
            .map_err(|e| format!("storing {}: {e}", key.name()))
    })
    .await
}
