//! What a warm job or a bundle is asked for: a project's files (go.mod, go.sum, go.work,
//! replaced directories' go.mod files) or a list of `module@version`; its content hash
//! (identical requests are one job, one bundle); and what it needs fetched, computed as
//! `modgate prefetch` computes it (`go list -m all`, through the cache).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::cache::Cache;
use crate::graph::{self, Mv, Needs, files::Sent};

/// The most module versions a request may list.
pub const MAX_MODULES: usize = 100_000;

/// A request's body (`POST /api/v1/warm`, `POST /api/v1/bundle`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    /// The project's files by name, relative to its directory.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
    /// Or module versions, `path@version`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<String>,
    /// Where the job's final state is posted (warm jobs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// Why a request is refused (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadRequest {
    /// Not the JSON this takes.
    #[error(
        "the body is not a JSON object of \"files\" (name → contents) or \"modules\" ([\"path@version\", ...]) and an optional \"callback_url\": {0}"
    )]
    Json(String),
    /// Neither files nor modules, or both.
    #[error("want either \"files\" (with a go.mod or go.work) or \"modules\", not {0}")]
    What(&'static str),
    /// A file name that is not taken.
    #[error(transparent)]
    Name(#[from] graph::files::BadName),
    /// Files without a go.mod or go.work at the top.
    #[error("\"files\" has neither \"go.mod\" nor \"go.work\"")]
    NoProject,
    /// A module version that is not one.
    #[error("modules[{index}] {given:?}: {why}")]
    Module {
        /// Its place in the list.
        index: usize,
        /// As given.
        given: String,
        /// Why.
        why: String,
    },
    /// Too many module versions.
    #[error("{0} module versions: at most {MAX_MODULES} a request")]
    TooMany(usize),
}

/// A request, checked: its files or module versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    body: Body,
    modules: BTreeSet<Mv>,
}

impl Request {
    /// Reads and checks a request's JSON body.
    pub fn parse(data: &[u8]) -> Result<Request, BadRequest> {
        let body: Body =
            serde_json::from_slice(data).map_err(|e| BadRequest::Json(e.to_string()))?;
        Request::new(body)
    }

    /// Checks `body`.
    pub fn new(mut body: Body) -> Result<Request, BadRequest> {
        let mut modules = BTreeSet::new();
        match (body.files.is_empty(), body.modules.is_empty()) {
            (true, true) => return Err(BadRequest::What("neither")),
            (false, false) => return Err(BadRequest::What("both")),
            (false, true) => {
                sent(&body)?;
                if !body.files.contains_key("go.mod") && !body.files.contains_key("go.work") {
                    return Err(BadRequest::NoProject);
                }
            }
            (true, false) => {
                if body.modules.len() > MAX_MODULES {
                    return Err(BadRequest::TooMany(body.modules.len()));
                }
                for (index, given) in body.modules.iter().enumerate() {
                    let bad = |why: String| BadRequest::Module {
                        index,
                        given: given.clone(),
                        why,
                    };
                    let Some((path, version)) = given.split_once('@') else {
                        return Err(bad("want path@version".into()));
                    };
                    gomod::module::check(path, version).map_err(|e| bad(e.to_string()))?;
                    if !gomod::module::is_canonical(version) {
                        return Err(bad(format!(
                            "{version} is not a canonical version (a query such as latest or a branch is not warmed: name the version it resolves to)"
                        )));
                    }
                    modules.insert((path.to_string(), version.to_string()));
                }
                body.modules = modules.iter().map(|(p, v)| format!("{p}@{v}")).collect();
            }
        }
        Ok(Request { body, modules })
    }

    /// The body as checked (module versions sorted, each once).
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// The SHA-256 (hex) of what is asked for, the callback left out: two requests for
    /// the same files, or the same module versions, have the same hash.
    pub fn hash(&self) -> String {
        let what = Body {
            callback_url: None,
            ..self.body.clone()
        };
        hex(&sha2::Sha256::digest(
            serde_json::to_vec(&what).unwrap_or_default(),
        ))
    }

    /// The SHA-256 (hex) of the project's go.sum, when one was sent: the name a CI job
    /// asks its bundle by (`sha256sum go.sum`).
    pub fn go_sum_hash(&self) -> Option<String> {
        self.go_sum()
            .map(|s| hex(&sha2::Sha256::digest(s.as_bytes())))
    }

    /// The project's go.sum, when one was sent.
    pub fn go_sum(&self) -> Option<&str> {
        self.body.files.get("go.sum").map(String::as_str)
    }

    /// What the request needs fetched: the module versions listed, or the project's
    /// graph read through `cache` (each go.mod under a prefetch permit), `parallel` at a
    /// time.
    pub async fn needs(&self, cache: &Cache, parallel: usize) -> Result<Needs, graph::Error> {
        if self.body.files.is_empty() {
            return Ok(Needs {
                versions: self.modules.clone(),
                go_mods: BTreeSet::new(),
            });
        }
        let files = Arc::new(sent(&self.body).map_err(|e| graph::Error::Read {
            path: e.name.clone().into(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e.why),
        })?);
        let project = graph::read_project_in(files, Path::new(graph::files::SENT_ROOT))?;
        let g = graph::load(&project, &GoModsThrough(cache), parallel).await?;
        let mut needs = Needs::default();
        needs.add(&project, &g);
        Ok(needs)
    }
}

/// The body's files as the graph reads them.
fn sent(body: &Body) -> Result<Sent, graph::files::BadName> {
    Sent::new(
        body.files
            .iter()
            .map(|(n, d)| (n.clone(), d.as_bytes().to_vec())),
    )
}

/// go.mod files through the cache, under its prefetch permits.
struct GoModsThrough<'a>(&'a Cache);

#[async_trait::async_trait]
impl graph::GoMods for GoModsThrough<'_> {
    async fn go_mod(&self, path: &str, version: &str) -> Result<Vec<u8>, crate::error::Error> {
        self.0.warm_go_mod(path, version).await.map(|b| b.to_vec())
    }
}

/// `data` in lower-case hex.
pub fn hex(data: &[u8]) -> String {
    use std::fmt::Write as _;
    data.iter()
        .fold(String::with_capacity(data.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_are_checked_sorted_and_hashed_without_the_callback() {
        let a = Request::parse(
            br#"{"modules":["golang.org/x/text@v0.3.0","example.com/a@v1.0.0","example.com/a@v1.0.0"],"callback_url":"http://127.0.0.1:9/a"}"#,
        )
        .unwrap();
        assert_eq!(
            a.body().modules,
            ["example.com/a@v1.0.0", "golang.org/x/text@v0.3.0"]
        );
        let b =
            Request::parse(br#"{"modules":["example.com/a@v1.0.0","golang.org/x/text@v0.3.0"]}"#)
                .unwrap();
        assert_eq!(a.hash(), b.hash());
        assert_eq!(a.hash().len(), 64);
        let c = Request::parse(br#"{"modules":["example.com/a@v1.0.1"]}"#).unwrap();
        assert_ne!(a.hash(), c.hash());
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let e = |body: &str| Request::parse(body.as_bytes()).unwrap_err().to_string();
        assert_eq!(
            e(r#"{}"#),
            "want either \"files\" (with a go.mod or go.work) or \"modules\", not neither"
        );
        assert_eq!(
            e(r#"{"files":{"go.mod":"module m\n"},"modules":["a.b/c@v1.0.0"]}"#),
            "want either \"files\" (with a go.mod or go.work) or \"modules\", not both"
        );
        assert_eq!(
            e(r#"{"files":{"go.sum":""}}"#),
            "\"files\" has neither \"go.mod\" nor \"go.work\""
        );
        assert_eq!(
            e(r#"{"files":{"go.mod":"", "../../etc/passwd":""}}"#),
            "file name \"../../etc/passwd\": only go.mod, go.sum, go.work and go.work.sum files are read (in subdirectories: go.mod and go.sum)"
        );
        assert_eq!(
            e(r#"{"modules":["example.com/a"]}"#),
            "modules[0] \"example.com/a\": want path@version"
        );
        assert_eq!(
            e(r#"{"modules":["example.com/a@latest"]}"#),
            "modules[0] \"example.com/a@latest\": example.com/a@latest: invalid version: not a semantic version"
        );
        assert!(e(r#"{"module":[]}"#).starts_with("the body is not a JSON object"));
    }

    #[test]
    fn the_go_sum_hash_is_sha256sum_of_the_file() {
        let r = Request::parse(br#"{"files":{"go.mod":"module m\n","go.sum":"abc\n"}}"#).unwrap();
        // printf 'abc\n' | sha256sum
        assert_eq!(
            r.go_sum_hash().unwrap(),
            "edeaaff3f1774ad2888673770c6d64097e391bc362d7d6fb34982ddf0efd18cb"
        );
    }
}
