//! The catalog: the module versions the store holds, a page at a time, in the order the
//! storage lists them (a directory walk, or S3's own listing), never all in memory.
//! A version is in it once its `.info` is stored; its other files' sizes come from the
//! same listing (a version's files are adjacent in name order).

use std::io;
use std::time::SystemTime;

use gomod::layout::{self, Name};

use super::Store;
use super::blob::{Blobs, Listed};

/// Where the module download tree starts in the store.
const ROOT: &str = "cache/download/";

/// Names asked of the storage at once.
const BATCH: usize = 256;

/// The most versions one page may hold.
pub const MAX_PAGE: usize = 1000;

/// One stored version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The module path.
    pub module: String,
    /// The version.
    pub version: String,
    /// When its `.info` was stored.
    pub stored: SystemTime,
    /// The size of its `.zip`, when it is stored.
    pub zip_bytes: Option<u64>,
    /// The size of its `.mod`, when it is stored.
    pub mod_bytes: Option<u64>,
    /// The upstream it was fetched from, when recorded (`Key::fetched`: a version
    /// stored before records were kept, or imported from a bundle, has none).
    pub upstream: Option<String>,
    /// When it was fetched (RFC 3339), when recorded.
    pub fetched: Option<String>,
}

/// A page of the catalog, and where the next one starts (`None`: this is the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The versions, in storage order.
    pub versions: Vec<Stored>,
    /// The cursor of the next page.
    pub next: Option<String>,
}

/// A version's files as they are listed.
#[derive(Default)]
struct Group {
    /// The name without the extension.
    stem: String,
    module: String,
    version: String,
    info: Option<SystemTime>,
    zip: Option<u64>,
    go_mod: Option<u64>,
    /// The last name of the group (the cursor after it).
    last: String,
}

impl Group {
    fn done(self) -> Option<Stored> {
        Some(Stored {
            module: self.module,
            version: self.version,
            stored: self.info?,
            zip_bytes: self.zip,
            mod_bytes: self.go_mod,
            upstream: None,
            fetched: None,
        })
    }
}

/// `prefix` of a module path as it is written in the store (upper case escaped as the
/// go command's module cache writes it: `!` and the lower case letter).
fn escaped(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Records of fetches read at once.
const RECORDS_AT_ONCE: usize = 16;

impl Store {
    /// The stored versions of modules whose path starts with `prefix`, at most `limit`
    /// (at most [`MAX_PAGE`]), after `cursor` (a page's `next`), each with the record of
    /// its fetch when there is one.
    pub async fn catalog(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> io::Result<Page> {
        let mut page = self.listed(prefix, cursor, limit).await?;
        for chunk in page.versions.chunks_mut(RECORDS_AT_ONCE) {
            let keys: Vec<Option<super::Key>> = chunk
                .iter()
                .map(|v| super::Key::fetched(&v.module, &v.version).ok())
                .collect();
            let mut reads = Vec::with_capacity(keys.len());
            for k in &keys {
                reads.push(self.fetch_record(k.as_ref()));
            }
            let records = futures_util::future::join_all(reads).await;
            for (v, r) in chunk.iter_mut().zip(records) {
                if let Some((upstream, fetched)) = r {
                    v.upstream = Some(upstream);
                    v.fetched = Some(fetched);
                }
            }
        }
        Ok(page)
    }

    /// The upstream and time of a fetch whose record is `key`, when readable.
    async fn fetch_record(&self, key: Option<&super::Key>) -> Option<(String, String)> {
        let blob = self.blobs.get(key?).await.ok()??;
        let record: serde_json::Value = serde_json::from_slice(&blob.data).ok()?;
        Some((
            record["upstream"].as_str()?.to_string(),
            record["fetched"].as_str()?.to_string(),
        ))
    }

    /// The page of stored versions, as listed.
    async fn listed(&self, prefix: &str, cursor: Option<&str>, limit: usize) -> io::Result<Page> {
        let limit = limit.clamp(1, MAX_PAGE);
        let from = format!("{ROOT}{}", escaped(prefix));
        let mut after = cursor.map(String::from);
        let mut versions = Vec::new();
        let mut group = Group::default();
        loop {
            let batch = self.blobs.list(&from, after.as_deref(), BATCH).await?;
            let ended = batch.len() < BATCH;
            for Listed {
                name,
                size,
                modified,
            } in batch
            {
                after = Some(name.clone());
                let Some(Name::Version { path, version, ext }) = layout::parse(&name) else {
                    continue;
                };
                // The files of `a/b` start with `a/b/` too: the module path decides.
                if !path.starts_with(prefix) {
                    continue;
                }
                let stem = name[..name.len() - ext.as_str().len() - 1].to_string();
                if stem != group.stem {
                    let last = std::mem::take(&mut group.last);
                    if let Some(v) = std::mem::take(&mut group).done() {
                        versions.push(v);
                        if versions.len() == limit {
                            return Ok(Page {
                                versions,
                                next: Some(last),
                            });
                        }
                    }
                    group = Group {
                        stem,
                        module: path,
                        version,
                        ..Group::default()
                    };
                }
                match ext {
                    layout::Ext::Info => group.info = Some(modified),
                    layout::Ext::Zip => group.zip = Some(size),
                    layout::Ext::Mod => group.go_mod = Some(size),
                    _ => {}
                }
                group.last = name;
            }
            if ended {
                versions.extend(group.done());
                return Ok(Page {
                    versions,
                    next: None,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Key;
    use bytes::Bytes;

    async fn put_version(s: &Store, module: &str, version: &str, zip: Option<usize>) {
        s.put(
            &Key::info(module, version).unwrap(),
            Bytes::from_static(b"{}"),
        )
        .await
        .unwrap();
        s.put(
            &Key::go_mod(module, version).unwrap(),
            Bytes::from_static(b"module x\n"),
        )
        .await
        .unwrap();
        if let Some(n) = zip {
            s.put(
                &Key::zip(module, version).unwrap(),
                Bytes::from(vec![b'z'; n]),
            )
            .await
            .unwrap();
        }
    }

    /// Every page of `prefix` in pages of `limit`: (module, version, zip size) in order.
    async fn all(
        s: &Store,
        prefix: &str,
        limit: usize,
    ) -> (Vec<(String, String, Option<u64>)>, usize) {
        let (mut out, mut pages, mut cursor) = (Vec::new(), 0, None);
        loop {
            let p = s.catalog(prefix, cursor.as_deref(), limit).await.unwrap();
            pages += 1;
            assert!(p.versions.len() <= limit);
            out.extend(
                p.versions
                    .into_iter()
                    .map(|v| (v.module, v.version, v.zip_bytes)),
            );
            match p.next {
                Some(n) => cursor = Some(n),
                None => return (out, pages),
            }
        }
    }

    #[tokio::test]
    async fn the_catalog_pages_through_stored_versions_by_module_prefix() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open_dir(d.path()).unwrap();
        put_version(&s, "github.com/Azure/go-sdk", "v1.0.0", Some(10)).await;
        put_version(&s, "github.com/a/b", "v1.0.0", None).await;
        put_version(&s, "github.com/a/b", "v1.1.0", Some(3)).await;
        put_version(&s, "github.com/a/b-c", "v0.1.0", Some(4)).await;
        put_version(&s, "github.com/a/b/v2", "v2.0.0", Some(5)).await;
        put_version(&s, "golang.org/x/mod", "v0.9.0", Some(6)).await;
        // Neither a list nor a version without its .info is a catalog entry.
        s.put(
            &Key::list("github.com/a/b").unwrap(),
            Bytes::from_static(b"v1.0.0\n"),
        )
        .await
        .unwrap();
        s.put(
            &Key::zip("github.com/a/nope", "v1.0.0").unwrap(),
            Bytes::from_static(b"z"),
        )
        .await
        .unwrap();
        // In the storage's (bytewise) order of the escaped names: `!a` before `a`, and
        // `b-c/` before `b/`.
        let want_github = vec![
            (
                "github.com/Azure/go-sdk".to_string(),
                "v1.0.0".to_string(),
                Some(10),
            ),
            ("github.com/a/b-c".into(), "v0.1.0".into(), Some(4)),
            ("github.com/a/b".into(), "v1.0.0".into(), None),
            ("github.com/a/b".into(), "v1.1.0".into(), Some(3)),
            ("github.com/a/b/v2".into(), "v2.0.0".into(), Some(5)),
        ];
        for limit in [1, 2, 3, 100] {
            let (got, _) = all(&s, "github.com/", limit).await;
            assert_eq!(got, want_github, "pages of {limit}");
        }
        let (got, pages) = all(&s, "", 2).await;
        assert_eq!(got.len(), 6);
        assert_eq!(pages, 3);
        let (got, _) = all(&s, "github.com/Az", 10).await;
        assert_eq!(got, want_github[..1]);
        let (got, _) = all(&s, "github.com/a/b/", 10).await;
        assert_eq!(got, want_github[4..]);
        let (got, _) = all(&s, "github.com/a/b", 10).await;
        assert_eq!(got, want_github[1..]);
        let (got, _) = all(&s, "example.com", 10).await;
        assert_eq!(got, []);
    }
}
