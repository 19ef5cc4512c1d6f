//! The module cache's names, written once: how cmd/go/internal/modfetch (`cache.go`,
//! `CachePath` and `DownloadDir`) lays out a module cache, which is also the shape of a
//! GOPROXY tree (`GOPROXY=file://<modcache>/cache/download` serves it as it is):
//!
//! - `cache/download/<escaped path>/@v/<escaped version>.<ext>`: a version's `.info`,
//!   `.mod`, `.zip`, `.ziphash`, and the go command's `.lock` and `.partial` (an
//!   extraction under way or cut short);
//! - `cache/download/<escaped path>/@v/list` and `cache/download/<escaped path>/@latest`
//!   (the latter only in a proxy's tree);
//! - `cache/download/sumdb/<database>/...`: the checksum database's tiles and lookups;
//! - `<escaped path>@<escaped version>/`: the extracted tree;
//! - `<prefix><digits>.tmp`: a temporary file of a write cut short (`modfetch.tempFile`).
//!
//! Names are built from module paths and versions (escaped here, refused when they cannot
//! be) and parsed back ([`parse`]); nobody else spells them.

use crate::module;

/// The download cache's directory, relative to the module cache's root.
pub const DOWNLOAD: &str = "cache/download";

/// The checksum database's cache, relative to the module cache's root.
pub const SUMDB: &str = "cache/download/sumdb";

/// A file of one module version in its `@v` directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ext {
    /// `.info`: the version's JSON.
    Info,
    /// `.mod`: its go.mod.
    Mod,
    /// `.zip`: the module zip.
    Zip,
    /// `.ziphash`: the zip's `h1:` hash.
    ZipHash,
    /// `.lock`: the go command's lock file for the version (left in place).
    Lock,
    /// `.partial`: an extraction under way, or cut short.
    Partial,
}

impl Ext {
    /// Every extension.
    pub const ALL: [Ext; 6] = [
        Ext::Info,
        Ext::Mod,
        Ext::Zip,
        Ext::ZipHash,
        Ext::Lock,
        Ext::Partial,
    ];

    /// The extension without its dot.
    pub fn as_str(self) -> &'static str {
        match self {
            Ext::Info => "info",
            Ext::Mod => "mod",
            Ext::Zip => "zip",
            Ext::ZipHash => "ziphash",
            Ext::Lock => "lock",
            Ext::Partial => "partial",
        }
    }

    /// The extension `s` (without its dot), if it is one.
    pub fn parse(s: &str) -> Option<Ext> {
        Ext::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// Why a name could not be formed: the module path, version or file name is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
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
    /// A file name that is not a plain relative path.
    #[error("invalid checksum database file name {0:?}")]
    File(String),
}

/// `path` escaped (`module.EscapePath`).
pub fn escaped_path(path: &str) -> Result<String, NameError> {
    module::escape_path(path).map_err(|e| NameError::Module {
        path: path.to_string(),
        reason: e.to_string(),
    })
}

/// `version` escaped (`module.EscapeVersion`).
pub fn escaped_version(version: &str) -> Result<String, NameError> {
    module::escape_version(version).map_err(|e| NameError::Version {
        version: version.to_string(),
        reason: e.to_string(),
    })
}

/// A relative name of plain elements (no empty, `.` or `..` element, no `\` or NUL).
pub fn plain(file: &str) -> Result<&str, NameError> {
    let ok = file
        .split('/')
        .all(|e| !e.is_empty() && e != "." && e != ".." && !e.contains(['\\', '\0']));
    if ok {
        Ok(file)
    } else {
        Err(NameError::File(file.to_string()))
    }
}

/// `<escaped path>/@v/<escaped version>.<ext>`: the name under a GOPROXY root (a
/// protocol path without its leading `/`).
pub fn proxy_version_file(path: &str, version: &str, ext: Ext) -> Result<String, NameError> {
    Ok(format!(
        "{}/@v/{}.{}",
        escaped_path(path)?,
        escaped_version(version)?,
        ext.as_str()
    ))
}

/// `cache/download/<escaped path>/@v`.
pub fn version_dir(path: &str) -> Result<String, NameError> {
    Ok(format!("{DOWNLOAD}/{}/@v", escaped_path(path)?))
}

/// `cache/download/<escaped path>/@v/<escaped version>.<ext>`.
pub fn version_file(path: &str, version: &str, ext: Ext) -> Result<String, NameError> {
    Ok(format!(
        "{DOWNLOAD}/{}",
        proxy_version_file(path, version, ext)?
    ))
}

/// `cache/download/<escaped path>/@v/list`.
pub fn list_file(path: &str) -> Result<String, NameError> {
    Ok(format!("{}/list", version_dir(path)?))
}

/// `cache/download/<escaped path>/@latest`.
pub fn latest_file(path: &str) -> Result<String, NameError> {
    Ok(format!("{DOWNLOAD}/{}/@latest", escaped_path(path)?))
}

/// `cache/download/sumdb/<db>/<file>` (`file`: `lookup/...`, `tile/...`, `latest`).
pub fn sumdb_file(db: &str, file: &str) -> Result<String, NameError> {
    Ok(format!("{SUMDB}/{}/{}", plain(db)?, plain(file)?))
}

/// The file of database `db` that `rel` names (`cache/download/sumdb/<db>/<file>`), if
/// it is one.
pub fn sumdb_file_of<'a>(db: &str, rel: &'a str) -> Option<&'a str> {
    let file = rel
        .strip_prefix(SUMDB)?
        .strip_prefix('/')?
        .strip_prefix(db)?
        .strip_prefix('/')?;
    plain(file).ok()
}

/// `<escaped path>@<escaped version>`: the extracted tree.
pub fn tree_dir(path: &str, version: &str) -> Result<String, NameError> {
    Ok(format!(
        "{}@{}",
        escaped_path(path)?,
        escaped_version(version)?
    ))
}

/// What a name relative to a module cache's root is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Name {
    /// A version's file.
    Version {
        /// The module path (unescaped).
        path: String,
        /// The version (unescaped).
        version: String,
        /// Which file.
        ext: Ext,
    },
    /// A module's `@v/list`.
    List {
        /// The module path.
        path: String,
    },
    /// A module's `@latest`.
    Latest {
        /// The module path.
        path: String,
    },
    /// A checksum database file: `<database name>/<file>` (a name may hold a `/`, so
    /// where it ends is for whoever knows the database: [`sumdb_file_of`]).
    Sumdb {
        /// The name under `cache/download/sumdb/`.
        file: String,
    },
    /// An extracted tree (the directory's name; `.tmp-*` leftovers are not trees).
    Tree {
        /// The module path.
        path: String,
        /// The version.
        version: String,
    },
}

/// `name` (a file name in an `@v` directory) as `<escaped version>.<ext>`.
pub fn parse_version_file(name: &str) -> Option<(&str, Ext)> {
    let (stem, ext) = name.rsplit_once('.')?;
    Some((stem, Ext::parse(ext)?))
}

/// A temporary file of `modfetch.tempFile` (`<prefix><digits>.tmp`, the prefix a version
/// file's name or `list`): its prefix.
pub fn temp_prefix(name: &str) -> Option<&str> {
    let base = name.strip_suffix(".tmp")?;
    let prefix = base.trim_end_matches(|c: char| c.is_ascii_digit());
    (prefix.len() < base.len() && (prefix == "list" || parse_version_file(prefix).is_some()))
        .then_some(prefix)
}

/// What `rel` (`/`-separated, relative to a module cache's root, as [`version_file`] and
/// the others build it) names, if it is one of those names with a valid path and version.
pub fn parse(rel: &str) -> Option<Name> {
    let Some(under) = rel.strip_prefix(DOWNLOAD).and_then(|r| r.strip_prefix('/')) else {
        return parse_tree(rel);
    };
    if let Some(file) = under.strip_prefix("sumdb/") {
        plain(file).ok()?;
        file.contains('/').then_some(())?;
        return Some(Name::Sumdb {
            file: file.to_string(),
        });
    }
    if let Some(esc) = under.strip_suffix("/@latest") {
        let path = module::unescape_path(esc).ok()?;
        return Some(Name::Latest { path });
    }
    let (esc, file) = under.split_once("/@v/")?;
    let path = module::unescape_path(esc).ok()?;
    if file == "list" {
        return Some(Name::List { path });
    }
    let (stem, ext) = parse_version_file(file)?;
    let version = module::unescape_version(stem).ok()?;
    Some(Name::Version { path, version, ext })
}

/// `<escaped path>@<escaped version>` as a tree.
pub fn parse_tree(rel: &str) -> Option<Name> {
    let (esc, stem) = rel.rsplit_once('@')?;
    let path = module::unescape_path(esc).ok()?;
    let version = module::unescape_version(stem).ok()?;
    Some(Name::Tree { path, version })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_built_and_parsed_back() {
        let table = [
            (
                version_file("github.com/Foo/bar", "v1.0.0-RC", Ext::ZipHash).unwrap(),
                Name::Version {
                    path: "github.com/Foo/bar".into(),
                    version: "v1.0.0-RC".into(),
                    ext: Ext::ZipHash,
                },
            ),
            (
                version_file("example.com/m", "v1.0.0", Ext::Lock).unwrap(),
                Name::Version {
                    path: "example.com/m".into(),
                    version: "v1.0.0".into(),
                    ext: Ext::Lock,
                },
            ),
            (
                list_file("example.com/m").unwrap(),
                Name::List {
                    path: "example.com/m".into(),
                },
            ),
            (
                latest_file("example.com/m").unwrap(),
                Name::Latest {
                    path: "example.com/m".into(),
                },
            ),
            (
                sumdb_file("sum.golang.org", "tile/8/0/001").unwrap(),
                Name::Sumdb {
                    file: "sum.golang.org/tile/8/0/001".into(),
                },
            ),
            (
                tree_dir("github.com/Foo/bar", "v1.0.0").unwrap(),
                Name::Tree {
                    path: "github.com/Foo/bar".into(),
                    version: "v1.0.0".into(),
                },
            ),
        ];
        for (rel, name) in table {
            assert_eq!(parse(&rel), Some(name), "{rel}");
        }
        assert_eq!(
            version_file("github.com/Foo/bar", "v1.0.0-RC", Ext::ZipHash).unwrap(),
            "cache/download/github.com/!foo/bar/@v/v1.0.0-!r!c.ziphash"
        );
        assert_eq!(
            tree_dir("github.com/Foo/bar", "v1.0.0").unwrap(),
            "github.com/!foo/bar@v1.0.0"
        );
        assert_eq!(
            proxy_version_file("example.com/m", "v1.0.0", Ext::Mod).unwrap(),
            "example.com/m/@v/v1.0.0.mod"
        );
    }

    #[test]
    fn what_is_not_a_name_is_refused() {
        for rel in [
            "cache/download/example.com/m/@v/v1.0.0.txt",
            "cache/download/example.com/m/@v/v1.0.0",
            "cache/download/Example.com/m/@v/v1.0.0.zip",
            "cache/download/example.com/m/@v/v1.0.0-RC.zip",
            "cache/download/example.com/m/list",
            "cache/download/sumdb/../x",
            "cache/download/sumdb/db/a//b",
            "cache/vcs/0123",
            "example.com/m",
        ] {
            assert_eq!(parse(rel), None, "{rel}");
        }
        assert!(matches!(
            version_file("example.com/../x", "v1.0.0", Ext::Mod),
            Err(NameError::Module { .. })
        ));
        assert!(matches!(
            version_file("example.com/m", "../v1", Ext::Mod),
            Err(NameError::Version { .. })
        ));
        assert!(sumdb_file("..", "latest").is_err());
        let rel = sumdb_file("localhost.localdev/sumdb", "lookup/m@v1.0.0").unwrap();
        assert_eq!(
            sumdb_file_of("localhost.localdev/sumdb", &rel),
            Some("lookup/m@v1.0.0")
        );
        assert_eq!(
            sumdb_file_of("localhost.localdev", &rel),
            Some("sumdb/lookup/m@v1.0.0")
        );
        assert_eq!(sumdb_file_of("other", &rel), None);
    }

    #[test]
    fn temporary_files_name_what_they_were_writing() {
        assert_eq!(temp_prefix("v1.0.0.zip123.tmp"), Some("v1.0.0.zip"));
        assert_eq!(temp_prefix("list42.tmp"), Some("list"));
        assert_eq!(temp_prefix("v1.0.0.zip.tmp"), None);
        assert_eq!(temp_prefix("other12.tmp"), None);
        assert_eq!(temp_prefix("v1.0.0.tmp"), None);
        assert_eq!(
            parse_version_file("v0.0.0-2020.ziphash"),
            Some(("v0.0.0-2020", Ext::ZipHash))
        );
        assert_eq!(parse_version_file("list"), None);
        assert_eq!(parse_version_file("v1.0.0.zip123.tmp"), None);
    }
}
