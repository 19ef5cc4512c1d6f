//! What the store keeps, by name: a typed key for each kind of entry, with the escaping
//! of module paths and versions done here (the go command's `module.EscapePath` and
//! `EscapeVersion`), so that no caller builds a storage path itself.
//!
//! A key's name ([`Key::name`]) is the object's path relative to the storage root, in the
//! GOMODCACHE layout (`gomod::layout`, which alone spells it), so a directory backend is
//! itself a `GOPROXY=file://<dir>/cache/download` tree; [`Key::parse`] reads a name back.

use gomod::layout::{self, Ext};

/// The kinds of entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `@v/<version>.info`: the JSON the source served for a canonical version.
    Info,
    /// `@v/<version>.mod`: the go.mod file.
    Mod,
    /// `@v/<version>.zip`: the module zip.
    Zip,
    /// `@v/<version>.ziphash`: the `h1:` hash of the zip, written after the zip was checked.
    ZipHash,
    /// `@v/list`: the version list, short-lived.
    List,
    /// `@latest`: the latest version's `.info`, short-lived.
    Latest,
    /// A checksum database file as served (`cache/download/sumdb/<db>/...`): full tiles
    /// and lookups.
    Sumdb,
    /// The checksum database verifier's own state (`sumdb/<db>/latest`, the tree head it
    /// trusts) and what it verified (`sumdb/<db>/lookup/...`, `sumdb/<db>/tile/...`).
    SumdbState,
    /// When a version was fetched and from which upstream (`modgate/fetched/<path>/@v/
    /// <version>`, JSON; outside the module download tree, which the go command reads).
    Fetched,
    /// A bundle made on request (`modgate/bundles/<sha256>.bundle`: named by the hash of
    /// the request it answers; immutable).
    Bundle,
    /// A name of a bundle (`modgate/bundles/go.sum/<sha256>`, `modgate/bundles/tags/
    /// <name>`): the bundle's hash, replaced when the name is given to another.
    BundleName,
}

impl Kind {
    /// Its name in metrics.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Info => "info",
            Kind::Mod => "mod",
            Kind::Zip => "zip",
            Kind::ZipHash => "ziphash",
            Kind::List => "list",
            Kind::Latest => "latest",
            Kind::Sumdb => "sumdb",
            Kind::SumdbState => "sumdb_state",
            Kind::Fetched => "fetched",
            Kind::Bundle => "bundle",
            Kind::BundleName => "bundle_name",
        }
    }

    /// The file of a version it is, for a version's kinds.
    pub fn ext(self) -> Option<Ext> {
        match self {
            Kind::Info => Some(Ext::Info),
            Kind::Mod => Some(Ext::Mod),
            Kind::Zip => Some(Ext::Zip),
            Kind::ZipHash => Some(Ext::ZipHash),
            _ => None,
        }
    }
}

/// Where the records of fetches start (a version's record is named as its files are
/// under `cache/download/`, without an extension).
const FETCHED: &str = "modgate/fetched";

/// Where bundles made on request are kept.
const BUNDLES: &str = "modgate/bundles";

/// Whether `s` is a SHA-256 in lower-case hex.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The key `name` of `kind`, when `sha256` (which it holds) is a SHA-256 in hex.
fn named_by_hash(kind: Kind, sha256: &str, name: String) -> Result<Key, KeyError> {
    if !is_sha256_hex(sha256) {
        return Err(KeyError::File(sha256.to_string()));
    }
    Ok(Key { kind, name })
}

/// Whether `s` may name a bundle tag: 1 to 128 of `A-Z a-z 0-9 . _ -`, not starting with
/// a dot.
pub fn is_tag_name(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Why a key could not be formed: the module path, version or file name is not valid (the
/// caller answers 400/404; nothing in storage is touched).
pub type KeyError = layout::NameError;

/// The name of one stored entry. Cheap to clone; two keys are equal when they name the
/// same object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    kind: Kind,
    name: String,
}

impl Key {
    fn version(kind: Kind, module: &str, version: &str) -> Result<Key, KeyError> {
        let ext = kind.ext().expect("a version's kind");
        Ok(Key {
            kind,
            name: layout::version_file(module, version, ext)?,
        })
    }

    /// The key `rel` names (a name relative to the storage root, as [`Key::name`] gives
    /// it), if it is one: a version's four files, a list, `@latest`, a database file as
    /// served, or the verifier's state.
    pub fn parse(rel: &str) -> Option<Key> {
        if let Some(rest) = rel.strip_prefix(BUNDLES).and_then(|r| r.strip_prefix('/')) {
            let key = match rest.split_once('/') {
                None => match rest.strip_suffix(".modules") {
                    Some(id) => Key::bundle_modules(id),
                    None => Key::bundle(rest.strip_suffix(".bundle")?),
                },
                Some(("go.sum", h)) => Key::bundle_of_go_sum(h),
                Some(("tags", t)) => Key::bundle_tag(t),
                _ => return None,
            };
            return key.ok().filter(|k| k.name == rel);
        }
        if let Some(file) = rel.strip_prefix("sumdb/") {
            return Key::sumdb_state(file).ok();
        }
        if let Some(stem) = rel.strip_prefix(FETCHED).filter(|s| s.starts_with('/')) {
            let info = format!("{}{stem}.info", layout::DOWNLOAD);
            return match layout::parse(&info)? {
                layout::Name::Version { path, version, .. } => Key::fetched(&path, &version)
                    .ok()
                    .filter(|k| k.name == rel && gomod::semver::is_valid(&version)),
                _ => None,
            };
        }
        let kind = match layout::parse(rel)? {
            layout::Name::Version { ext, .. } => match ext {
                Ext::Info => Kind::Info,
                Ext::Mod => Kind::Mod,
                Ext::Zip => Kind::Zip,
                Ext::ZipHash => Kind::ZipHash,
                Ext::Lock | Ext::Partial => return None,
            },
            layout::Name::List { .. } => Kind::List,
            layout::Name::Latest { .. } => Kind::Latest,
            layout::Name::Sumdb { .. } => Kind::Sumdb,
            layout::Name::Tree { .. } => return None,
        };
        Some(Key {
            kind,
            name: rel.to_string(),
        })
    }

    /// `module@version`'s `.info`.
    pub fn info(module: &str, version: &str) -> Result<Key, KeyError> {
        Key::version(Kind::Info, module, version)
    }

    /// `module@version`'s `.mod`.
    pub fn go_mod(module: &str, version: &str) -> Result<Key, KeyError> {
        Key::version(Kind::Mod, module, version)
    }

    /// `module@version`'s `.zip`.
    pub fn zip(module: &str, version: &str) -> Result<Key, KeyError> {
        Key::version(Kind::Zip, module, version)
    }

    /// `module@version`'s `.ziphash`.
    pub fn ziphash(module: &str, version: &str) -> Result<Key, KeyError> {
        Key::version(Kind::ZipHash, module, version)
    }

    /// When `module@version` was fetched, and from where.
    pub fn fetched(module: &str, version: &str) -> Result<Key, KeyError> {
        let info = layout::version_file(module, version, Ext::Info)?;
        let stem = info
            .strip_prefix(layout::DOWNLOAD)
            .and_then(|s| s.strip_suffix(".info"))
            .unwrap_or(&info);
        Ok(Key {
            kind: Kind::Fetched,
            name: format!("{FETCHED}{stem}"),
        })
    }

    /// The bundle made for the request whose hash is `sha256`.
    pub fn bundle(sha256: &str) -> Result<Key, KeyError> {
        named_by_hash(Kind::Bundle, sha256, format!("{BUNDLES}/{sha256}.bundle"))
    }

    /// The module paths the bundle `sha256` holds (JSON), so that who may read it is
    /// decided without reading the bundle.
    pub fn bundle_modules(sha256: &str) -> Result<Key, KeyError> {
        named_by_hash(
            Kind::BundleName,
            sha256,
            format!("{BUNDLES}/{sha256}.modules"),
        )
    }

    /// The bundle last made for a go.sum whose SHA-256 is `sha256`.
    pub fn bundle_of_go_sum(sha256: &str) -> Result<Key, KeyError> {
        named_by_hash(
            Kind::BundleName,
            sha256,
            format!("{BUNDLES}/go.sum/{sha256}"),
        )
    }

    /// The bundle the tag `name` points at.
    pub fn bundle_tag(name: &str) -> Result<Key, KeyError> {
        if !is_tag_name(name) {
            return Err(KeyError::File(name.to_string()));
        }
        Ok(Key {
            kind: Kind::BundleName,
            name: format!("{BUNDLES}/tags/{name}"),
        })
    }

    /// The record of when the version whose files are named `id` (without their
    /// extension, as the eviction ledger names a version) was fetched.
    pub(super) fn fetched_of_version(id: &str) -> Option<Key> {
        let stem = id.strip_prefix(layout::DOWNLOAD)?;
        Some(Key {
            kind: Kind::Fetched,
            name: format!("{FETCHED}{stem}"),
        })
    }

    /// `module`'s `@v/list`.
    pub fn list(module: &str) -> Result<Key, KeyError> {
        Ok(Key {
            kind: Kind::List,
            name: layout::list_file(module)?,
        })
    }

    /// `module`'s `@latest`.
    pub fn latest(module: &str) -> Result<Key, KeyError> {
        Ok(Key {
            kind: Kind::Latest,
            name: layout::latest_file(module)?,
        })
    }

    /// The file `file` (`lookup/...`, `tile/...`) of the checksum database `db`, as served.
    pub fn sumdb(db: &str, file: &str) -> Result<Key, KeyError> {
        Ok(Key {
            kind: Kind::Sumdb,
            name: layout::sumdb_file(db, file)?,
        })
    }

    /// The verifier's file `file` (`<db>/latest`, `<db>/lookup/...`, `<db>/tile/...`).
    pub fn sumdb_state(file: &str) -> Result<Key, KeyError> {
        Ok(Key {
            kind: Kind::SumdbState,
            name: format!("sumdb/{}", layout::plain(file)?),
        })
    }

    /// The `kind` file (info, mod, zip or ziphash) of the version whose files are named
    /// `id` without their extension (as the eviction ledger names a version).
    pub(super) fn of_version(id: &str, kind: Kind) -> Key {
        Key {
            kind,
            name: format!("{id}.{}", kind.ext().map_or("", Ext::as_str)),
        }
    }

    /// For one of a version's four files (info, mod, zip, ziphash): the name the four
    /// share, without the extension (`cache/download/<path>/@v/<version>`).
    pub fn version_id(&self) -> Option<&str> {
        match self.kind {
            Kind::Info | Kind::Mod | Kind::Zip | Kind::ZipHash => {
                let ext = self.kind.ext()?.as_str();
                self.name.strip_suffix(ext)?.strip_suffix('.')
            }
            _ => None,
        }
    }

    /// What kind of entry this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The object's name relative to the storage root (`/`-separated, escaped).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True when the entry never changes once written: everything of a canonical version,
    /// full checksum database tiles and lookups, and what the verifier proved; not lists,
    /// `@latest` or the verifier's trusted tree head.
    pub fn is_immutable(&self) -> bool {
        match self.kind {
            Kind::Info
            | Kind::Mod
            | Kind::Zip
            | Kind::ZipHash
            | Kind::Sumdb
            | Kind::Fetched
            | Kind::Bundle => true,
            Kind::List | Kind::Latest | Kind::BundleName => false,
            Kind::SumdbState => !self.name.ends_with("/latest"),
        }
    }

    /// A short form of the name for temporary file names: its last element.
    pub fn file_name(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_gomodcache_download_layout() {
        let m = "example.com/m";
        let table = [
            (
                Key::ziphash("github.com/Foo/bar", "v1.0.0-RC"),
                "cache/download/github.com/!foo/bar/@v/v1.0.0-!r!c.ziphash",
            ),
            (
                Key::info(m, "v1.0.0"),
                "cache/download/example.com/m/@v/v1.0.0.info",
            ),
            (
                Key::go_mod(m, "v1.0.0"),
                "cache/download/example.com/m/@v/v1.0.0.mod",
            ),
            (
                Key::zip(m, "v1.0.0"),
                "cache/download/example.com/m/@v/v1.0.0.zip",
            ),
            (Key::list(m), "cache/download/example.com/m/@v/list"),
            (Key::latest(m), "cache/download/example.com/m/@latest"),
            (
                Key::sumdb("sum.golang.org", "tile/8/0/001"),
                "cache/download/sumdb/sum.golang.org/tile/8/0/001",
            ),
            (
                Key::sumdb_state("sum.golang.org/latest"),
                "sumdb/sum.golang.org/latest",
            ),
            (
                Key::fetched("github.com/Foo/bar", "v1.0.0-RC"),
                "modgate/fetched/github.com/!foo/bar/@v/v1.0.0-!r!c",
            ),
        ];
        for (key, name) in table {
            assert_eq!(key.unwrap().name(), name);
        }
    }

    #[test]
    fn bad_names_are_refused_before_storage_is_touched() {
        assert!(matches!(
            Key::go_mod("example.com/../x", "v1.0.0"),
            Err(KeyError::Module { .. })
        ));
        assert!(matches!(
            Key::go_mod("example.com/m", "../v1"),
            Err(KeyError::Version { .. })
        ));
        assert!(matches!(
            Key::go_mod("example.com/m", "a/b"),
            Err(KeyError::Version { .. })
        ));
        for bad in ["../x", "a//b", "a/./b", "/abs", "a/", "a\\b", ""] {
            assert_eq!(
                Key::sumdb_state(bad),
                Err(KeyError::File(bad.to_string())),
                "{bad}"
            );
            assert!(Key::sumdb("sum.golang.org", bad).is_err(), "{bad}");
        }
        assert!(Key::sumdb("..", "latest").is_err());
    }

    #[test]
    fn names_parse_back_into_their_keys() {
        for key in [
            Key::info("github.com/Foo/bar", "v1.0.0-RC"),
            Key::go_mod("m.io/a", "v1.0.0"),
            Key::zip("m.io/a", "v1.0.0"),
            Key::ziphash("m.io/a", "v1.0.0"),
            Key::list("m.io/a"),
            Key::latest("m.io/a"),
            Key::sumdb("sum.golang.org", "tile/8/0/001"),
            Key::sumdb_state("sum.golang.org/latest"),
            Key::fetched("github.com/Foo/bar", "v1.0.0-RC"),
            Key::bundle(&"a".repeat(64)),
            Key::bundle_of_go_sum(&"0".repeat(64)),
            Key::bundle_tag("stable"),
            Key::bundle_modules(&"b".repeat(64)),
        ] {
            let key = key.unwrap();
            assert_eq!(Key::parse(key.name()), Some(key.clone()), "{key}");
        }
        for bad in [
            "modgate/bundles/abc.bundle",
            "modgate/bundles/tags/.hidden",
            "modgate/bundles/tags/a/b",
            "modgate/bundles/other/x",
        ] {
            assert_eq!(Key::parse(bad), None, "{bad}");
        }
        assert!(Key::bundle(&"A".repeat(64)).is_err());
        assert!(Key::bundle_tag("../x").is_err());
        assert!(Key::bundle_tag(&"x".repeat(129)).is_err());
        assert_eq!(
            Key::bundle(&"a".repeat(64)).unwrap().name(),
            format!("modgate/bundles/{}.bundle", "a".repeat(64))
        );
        for rel in [
            "cache/download/m.io/a/@v/v1.0.0.lock",
            "cache/download/m.io/a/@v/v1.0.0.partial",
            "cache/download/m.io/a/@v/v1.0.0.zip123.tmp",
            "m.io/a@v1.0.0",
            "sumdb/../x",
            "git/0123",
            "modgate/fetched/m.io/a/@v/list",
            "modgate/fetched/m.io/a/@v/v1.0.0.zip",
            "modgate/fetchedm.io/a/@v/v1.0.0",
            "modgate/fetched/../a/@v/v1.0.0",
        ] {
            assert_eq!(Key::parse(rel), None, "{rel}");
        }
    }

    #[test]
    fn only_version_entries_and_proven_files_are_immutable() {
        assert!(Key::info("m.io/a", "v1.0.0").unwrap().is_immutable());
        assert!(Key::zip("m.io/a", "v1.0.0").unwrap().is_immutable());
        assert!(!Key::list("m.io/a").unwrap().is_immutable());
        assert!(!Key::latest("m.io/a").unwrap().is_immutable());
        assert!(!Key::sumdb_state("db/latest").unwrap().is_immutable());
        assert!(Key::sumdb_state("db/lookup/m@v1").unwrap().is_immutable());
        assert!(Key::sumdb("db", "tile/8/0/000").unwrap().is_immutable());
        assert!(Key::fetched("m.io/a", "v1.0.0").unwrap().is_immutable());
        // Not one of the version's files (held, evicted and purged with them apart).
        assert_eq!(Key::fetched("m.io/a", "v1.0.0").unwrap().version_id(), None);
        assert_eq!(
            Key::fetched_of_version("cache/download/m.io/a/@v/v1.0.0"),
            Key::fetched("m.io/a", "v1.0.0").ok()
        );
    }
}
