//! What the store keeps, by name: a typed key for each kind of entry, with the escaping
//! of module paths and versions done here (the go command's `module.EscapePath` and
//! `EscapeVersion`), so that no caller builds a storage path itself.
//!
//! A key's name ([`Key::name`]) is the object's path relative to the storage root, in the
//! GOMODCACHE layout: `cache/download/<escaped module>/@v/<escaped version>.info`, so a
//! directory backend is itself a `GOPROXY=file://<dir>/cache/download` tree.

use gomod::module;

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
        }
    }

    fn ext(self) -> &'static str {
        match self {
            Kind::Info => "info",
            Kind::Mod => "mod",
            Kind::Zip => "zip",
            Kind::ZipHash => "ziphash",
            _ => "",
        }
    }
}

/// Why a key could not be formed: the module path, version or file name is not valid (the
/// caller answers 400/404; nothing in storage is touched).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The module path cannot be escaped.
    #[error("invalid module path {path:?}: {reason}")]
    Module {
        /// The path given.
        path: String,
        /// Why.
        reason: String,
    },
    /// The version cannot be escaped.
    #[error("invalid version {version:?}: {reason}")]
    Version {
        /// The version given.
        version: String,
        /// Why.
        reason: String,
    },
    /// A checksum database file name that is not a plain relative path.
    #[error("invalid checksum database file name {0:?}")]
    File(String),
}

/// The name of one stored entry. Cheap to clone; two keys are equal when they name the
/// same object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    kind: Kind,
    name: String,
}

const DOWNLOAD: &str = "cache/download";

fn escaped_module(path: &str) -> Result<String, KeyError> {
    module::escape_path(path).map_err(|e| KeyError::Module {
        path: path.to_string(),
        reason: e.to_string(),
    })
}

/// A relative name made of plain elements (no empty, `.` or `..` element, no `\` or NUL).
fn plain(file: &str) -> Result<&str, KeyError> {
    let ok = file
        .split('/')
        .all(|e| !e.is_empty() && e != "." && e != ".." && !e.contains(['\\', '\0']));
    if ok {
        Ok(file)
    } else {
        Err(KeyError::File(file.to_string()))
    }
}

impl Key {
    fn version(kind: Kind, module: &str, version: &str) -> Result<Key, KeyError> {
        let m = escaped_module(module)?;
        let v = module::escape_version(version).map_err(|e| KeyError::Version {
            version: version.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Key {
            kind,
            name: format!("{DOWNLOAD}/{m}/@v/{v}.{}", kind.ext()),
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

    /// `module`'s `@v/list`.
    pub fn list(module: &str) -> Result<Key, KeyError> {
        Ok(Key {
            kind: Kind::List,
            name: format!("{DOWNLOAD}/{}/@v/list", escaped_module(module)?),
        })
    }

    /// `module`'s `@latest`.
    pub fn latest(module: &str) -> Result<Key, KeyError> {
        Ok(Key {
            kind: Kind::Latest,
            name: format!("{DOWNLOAD}/{}/@latest", escaped_module(module)?),
        })
    }

    /// The file `file` (`lookup/...`, `tile/...`) of the checksum database `db`, as served.
    pub fn sumdb(db: &str, file: &str) -> Result<Key, KeyError> {
        Ok(Key {
            kind: Kind::Sumdb,
            name: format!("{DOWNLOAD}/sumdb/{}/{}", plain(db)?, plain(file)?),
        })
    }

    /// The verifier's file `file` (`<db>/latest`, `<db>/lookup/...`, `<db>/tile/...`).
    pub fn sumdb_state(file: &str) -> Result<Key, KeyError> {
        Ok(Key {
            kind: Kind::SumdbState,
            name: format!("sumdb/{}", plain(file)?),
        })
    }

    /// The `kind` file (info, mod, zip or ziphash) of the version whose files are named
    /// `id` without their extension (as the eviction ledger names a version).
    pub(super) fn of_version(id: &str, kind: Kind) -> Key {
        Key {
            kind,
            name: format!("{id}.{}", kind.ext()),
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
            Kind::Info | Kind::Mod | Kind::Zip | Kind::ZipHash | Kind::Sumdb => true,
            Kind::List | Kind::Latest => false,
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
    fn only_version_entries_and_proven_files_are_immutable() {
        assert!(Key::info("m.io/a", "v1.0.0").unwrap().is_immutable());
        assert!(Key::zip("m.io/a", "v1.0.0").unwrap().is_immutable());
        assert!(!Key::list("m.io/a").unwrap().is_immutable());
        assert!(!Key::latest("m.io/a").unwrap().is_immutable());
        assert!(!Key::sumdb_state("db/latest").unwrap().is_immutable());
        assert!(Key::sumdb_state("db/lookup/m@v1").unwrap().is_immutable());
        assert!(Key::sumdb("db", "tile/8/0/000").unwrap().is_immutable());
    }
}
