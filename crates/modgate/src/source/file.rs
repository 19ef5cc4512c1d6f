//! A GOPROXY tree on local disk (`file://` upstreams) as a source.
//!
//! The tree has the layout the go command writes to `GOMODCACHE/cache/download` and reads
//! through a `file://` GOPROXY: `<root>/<escaped module>/@v/list`,
//! `@v/<escaped version>.{info,mod,zip}` and optionally `<root>/<escaped module>/@latest`.
//! As with the go command's `file://` proxy, a missing file is "not found". A missing
//! root directory is a failure of the source (a `,` chain stops there, and the cache serves
//! a stale list or `@latest` if it has one), not a statement about the module.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use gomod::module;
use gomod::semver;

use super::retract::{self, Retractions};
use super::{Info, Source};
use crate::error::{Error, Kind};
use gomod::modfile::legacy_go_mod;

/// A GOPROXY tree on local disk, served like the go command's `file://` GOPROXY.
#[derive(Debug, Clone)]
pub struct FileSource {
    root: PathBuf,
}

impl FileSource {
    /// A source reading the GOPROXY tree at `root` (for `file:///srv/goproxy`, `root` is
    /// `/srv/goproxy`).
    pub fn new(root: PathBuf) -> Self {
        FileSource { root }
    }

    /// The directory `<root>/<escaped module>`.
    fn module_dir(&self, module: &str) -> Result<PathBuf, Error> {
        let escaped = module::escape_path(module)
            .map_err(|e| Error::invalid(format!("invalid module path: {e}")))?;
        Ok(self.root.join(escaped))
    }

    /// `<root>/<escaped module>/@v/<escaped version>.<ext>`.
    fn version_file(&self, module: &str, version: &str, ext: &str) -> Result<PathBuf, Error> {
        let v = module::escape_version(version)
            .map_err(|e| Error::invalid(format!("{module}@{version}: invalid version: {e}")))?;
        Ok(self
            .module_dir(module)?
            .join("@v")
            .join(format!("{v}.{ext}")))
    }

    async fn read(&self, path: &Path, what: &str) -> Result<Vec<u8>, Error> {
        match tokio::fs::read(path).await {
            Ok(data) => Ok(data),
            Err(e) => Err(self.io_error(path, what, e).await),
        }
    }

    /// NotFound for a missing file (the go command's file:// semantics), Failed when the
    /// tree's root itself is gone or for any other I/O error.
    async fn io_error(&self, path: &Path, what: &str, e: std::io::Error) -> Error {
        if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) {
            if tokio::fs::metadata(&self.root).await.is_err() {
                return Error::failed(format!(
                    "{}: the directory {} does not exist; check the upstream setting",
                    self.describe(),
                    self.root.display()
                ));
            }
            Error::not_found(format!("not found: {what}"))
        } else {
            Error::failed(format!(
                "{}: reading {}: {e}",
                self.describe(),
                path.display()
            ))
        }
    }

    async fn read_info(&self, path: &Path, what: &str) -> Result<Info, Error> {
        let data = self.read(path, what).await?;
        Info::parse(data).map_err(|e| {
            Error::failed(format!(
                "{}: {} is not valid .info JSON: {e}",
                self.describe(),
                path.display()
            ))
        })
    }
}

/// The lines of a `list` file that are valid semantic versions, with their optional
/// second field (a time, in proxies that give one).
fn list_lines(data: &[u8]) -> Vec<(String, Option<String>)> {
    String::from_utf8_lossy(data)
        .lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let v = f.next()?;
            semver::is_valid(v).then(|| (v.to_string(), f.next().map(str::to_string)))
        })
        .collect()
}

#[async_trait]
impl Source for FileSource {
    fn describe(&self) -> String {
        format!("file://{}", self.root.display())
    }

    fn upstreams(&self) -> Vec<super::UpstreamState> {
        vec![super::UpstreamState::plain(self.describe(), "file")]
    }

    async fn list(&self, module: &str) -> Result<bytes::Bytes, Error> {
        let path = self.module_dir(module)?.join("@v").join("list");
        // Served as it is, as the go command's file:// proxy reads it.
        Ok(self.read(&path, &format!("{module}@v/list")).await?.into())
    }

    async fn stat(&self, module: &str, query: &str) -> Result<Info, Error> {
        let path = self.version_file(module, query, "info")?;
        self.read_info(&path, &format!("{module}@{query}")).await
    }

    async fn latest(&self, module: &str) -> Result<Info, Error> {
        let path = self.module_dir(module)?.join("@latest");
        match self.read_info(&path, &format!("{module}@latest")).await {
            Err(e) if e.kind() == Kind::NotFound => {}
            other => return other,
        }
        // No @latest file: pick from the list as the go command's query does: the highest
        // release, else the highest prerelease, that is not retracted (leaving out
        // `+incompatible` versions once a compatible one has a go.mod of its own), else the
        // newest pseudo-version.
        let list_path = self.module_dir(module)?.join("@v").join("list");
        let data = self
            .read(
                &list_path,
                &format!("{module}@latest: no @latest and no @v/list"),
            )
            .await?;
        let lines = list_lines(&data);
        let mut tagged: Vec<String> = lines
            .iter()
            .map(|(v, _)| v.clone())
            .filter(|v| !gomod::pseudo::is_pseudo_version(v))
            .collect();
        semver::sort(&mut tagged);
        let retracted = match retract::authority(&tagged) {
            Some(v) => match self.go_mod(module, v).await {
                Ok(d) => Retractions::of_go_mod(&d),
                Err(_) => Retractions::default(),
            },
            None => Retractions::default(),
        };
        let mut releases = Vec::new();
        let mut prereleases = Vec::new();
        let mut last_compatible: Option<&String> = None;
        for v in &tagged {
            if retracted.covers(v) {
                continue;
            }
            if !v.ends_with("+incompatible") {
                last_compatible = Some(v);
            } else if let Some(c) = last_compatible
                && self
                    .go_mod(module, c)
                    .await
                    .is_ok_and(|d| d != legacy_go_mod(module))
            {
                break;
            }
            if semver::prerelease(v).is_empty() {
                releases.push(v);
            } else {
                prereleases.push(v);
            }
        }
        let tagged_best = releases
            .last()
            .or(prereleases.last())
            .map(|v| v.to_string());
        let best = tagged_best.or_else(|| {
            lines
                .iter()
                .filter(|(v, _)| gomod::pseudo::is_pseudo_version(v))
                .max_by_key(|(v, t)| {
                    t.clone()
                        .or_else(|| {
                            gomod::pseudo::pseudo_version_time(v)
                                .ok()
                                .map(|t| t.format_rfc3339())
                        })
                        .unwrap_or_default()
                })
                .map(|(v, _)| v.clone())
        });
        match best {
            Some(v) => self.stat(module, &v).await,
            None => Err(Error::not_found(format!(
                "not found: {module}@latest: no versions in @v/list"
            ))),
        }
    }

    async fn go_mod(&self, module: &str, version: &str) -> Result<Vec<u8>, Error> {
        let path = self.version_file(module, version, "mod")?;
        self.read(&path, &format!("{module}@{version}: go.mod"))
            .await
    }

    async fn zip(&self, module: &str, version: &str, dest: &Path) -> Result<u64, Error> {
        let path = self.version_file(module, version, "zip")?;
        let what = format!("{module}@{version}: zip");
        let mut src = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) => return Err(self.io_error(&path, &what, e).await),
        };
        let mut dst = tokio::fs::File::create_new(dest)
            .await
            .map_err(|e| Error::storage(&e, dest))?;
        let n = tokio::io::copy(&mut src, &mut dst).await.map_err(|e| {
            let local = Error::storage(&e, dest);
            if local.kind() == crate::error::Kind::StorageFull {
                return local;
            }
            Error::failed(format!(
                "{}: copying {} to {}: {e}",
                self.describe(),
                path.display(),
                dest.display()
            ))
        })?;
        Ok(n)
    }
}
