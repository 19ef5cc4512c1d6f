//! Module path -> repository root and git URL, as the go command's
//! `vcs.RepoRootForImportPath` does (cmd/go/internal/vcs/vcs.go, discovery.go): the static
//! host table (github.com, bitbucket.org, ...), paths with a `.git` element, then
//! `?go-get=1` meta-tag discovery over https (and plain http only for paths matching
//! GOINSECURE).

use std::net::SocketAddr;
use std::time::Duration;

use super::cmd::Runner;

/// Where a module's code lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRoot {
    /// The import path of the repository root (`github.com/owner/repo`).
    pub root: String,
    /// The git URL to fetch from (`https://github.com/owner/repo`).
    pub url: String,
}

/// Why a path could not be resolved. `NotFound` errors are the go command's
/// `notExistError`s (a `,` chain moves on); `Failed` are problems of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No repository for this path.
    #[error("{0}")]
    NotFound(String),
    /// The path names a repository we cannot serve (another VCS).
    #[error("{0}")]
    Unsupported(String),
}

/// Settings for discovery.
#[derive(Debug, Clone)]
pub struct Resolver {
    /// GOINSECURE patterns.
    pub insecure: String,
    /// Host -> address pins for discovery requests.
    pub pins: Vec<(String, SocketAddr)>,
    /// Bound on each discovery request and each ping.
    pub timeout: Duration,
    /// How git is run (for pings of `.git` paths).
    pub runner: Runner,
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'
}

fn word(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_word)
}

const VCS_SUFFIXES: [&str; 5] = ["bzr", "fossil", "git", "hg", "svn"];

/// The static table entries: `Some(result)` when a table entry claims the path.
fn static_table(path: &str) -> Option<Result<(RepoRoot, &'static str), ResolveError>> {
    let elems: Vec<&str> = path.split('/').collect();
    let has_prefix = |p: &str| path == p || path.starts_with(&format!("{p}/"));
    let invalid =
        |prefix: &str| ResolveError::NotFound(format!("invalid {prefix} import path \"{path}\""));
    // github.com, bitbucket.org: ^(host/[\w.-]+/[\w.-]+)(/[\w.-]+)*$ with no VCS suffix.
    for host in ["github.com", "bitbucket.org"] {
        if !has_prefix(host) {
            continue;
        }
        if elems.len() < 3 || !elems[1..].iter().all(|e| word(e)) {
            return Some(Err(invalid(host)));
        }
        let root = elems[..3].join("/");
        if VCS_SUFFIXES
            .iter()
            .any(|v| root.ends_with(&format!(".{v}")))
        {
            return Some(Err(ResolveError::NotFound(format!(
                "invalid version control suffix in {host}/ path"
            ))));
        }
        let url = format!("https://{root}");
        return Some(Ok((RepoRoot { root, url }, "git")));
    }
    if has_prefix("hub.jazz.net/git") {
        let lower = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        };
        if elems.len() < 5 || !lower(elems[2]) || !elems[3..].iter().all(|e| word(e)) {
            return Some(Err(invalid("hub.jazz.net/git")));
        }
        let root = elems[..4].join("/");
        if VCS_SUFFIXES
            .iter()
            .any(|v| root.ends_with(&format!(".{v}")))
        {
            return Some(Err(ResolveError::NotFound(
                "invalid version control suffix in hub.jazz.net/git/ path".into(),
            )));
        }
        let url = format!("https://{root}");
        return Some(Ok((RepoRoot { root, url }, "git")));
    }
    if has_prefix("git.apache.org") {
        let ok1 = elems.len() >= 2
            && elems[1].len() > 4
            && elems[1].ends_with(".git")
            && elems[1].chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-')
            });
        if !ok1 || !elems[2..].iter().all(|e| word(e)) {
            return Some(Err(invalid("git.apache.org")));
        }
        let root = elems[..2].join("/");
        let url = format!("https://{root}");
        return Some(Ok((RepoRoot { root, url }, "git")));
    }
    if has_prefix("git.openstack.org") {
        if elems.len() < 3 || !elems[1..].iter().all(|e| word(e)) {
            return Some(Err(invalid("git.openstack.org")));
        }
        let root = elems[..3].join("/");
        let url = format!("https://{root}");
        return Some(Ok((RepoRoot { root, url }, "git")));
    }
    if has_prefix("chiselapp.com") {
        return Some(Err(ResolveError::Unsupported(format!(
            "{path}: fossil repositories are not supported by the direct source (git only)"
        ))));
    }
    None
}

/// The generic `host/path/repo.vcs(/sub)*` rule: returns (root, repo without suffix, vcs).
pub fn vcs_suffix_path(path: &str) -> Option<(String, String, String)> {
    let elems: Vec<&str> = path.split('/').collect();
    let host = elems.first()?;
    // ([a-z0-9.\-]+\.)+[a-z0-9.\-]+(:[0-9]+)?
    let (name, port) = match host.split_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (*host, None),
    };
    let host_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && name.rfind('.').is_some_and(|i| i > 0 && i + 1 < name.len())
        && port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    if !host_ok {
        return None;
    }
    let elem_ok = |e: &str| word(e.strip_prefix('~').unwrap_or(e));
    for i in 1..elems.len() {
        let e = elems[i];
        if !elem_ok(e) {
            return None;
        }
        let bare = e.strip_prefix('~').unwrap_or(e);
        for vcs in VCS_SUFFIXES {
            if let Some(stem) = bare.strip_suffix(&format!(".{vcs}"))
                && !stem.is_empty()
                && elems[i + 1..].iter().all(|e| elem_ok(e))
            {
                let root = elems[..=i].join("/");
                let repo = root[..root.len() - vcs.len() - 1].to_string();
                return Some((root, repo, vcs.to_string()));
            }
        }
    }
    None
}

impl Resolver {
    fn is_insecure(&self, path: &str) -> bool {
        !self.insecure.is_empty() && gomod::module::match_prefix_patterns(&self.insecure, path)
    }

    /// Resolves a module path to its repository.
    pub async fn resolve(&self, path: &str) -> Result<RepoRoot, ResolveError> {
        if let Some(i) = path.find("://") {
            let prefix = &path[..i + 1];
            return Err(ResolveError::NotFound(format!(
                "\"{prefix}//\" not allowed in import path"
            )));
        }
        if let Some(r) = static_table(path) {
            return r.map(|(root, _)| root);
        }
        if let Some((root, repo, vcs)) = vcs_suffix_path(path) {
            if vcs != "git" {
                return Err(ResolveError::Unsupported(format!(
                    "{path}: {vcs} repositories are not supported by the direct source (git only)"
                )));
            }
            let insecure = self.is_insecure(path);
            for scheme in ["git", "https", "http", "git+ssh", "ssh"] {
                if !insecure && !matches!(scheme, "https" | "git+ssh" | "ssh") {
                    continue;
                }
                let url = format!("{scheme}://{repo}");
                let ping = self
                    .runner
                    .output(None, &["ls-remote", "--", &url, "HEAD"], 1 << 20)
                    .await;
                if ping.is_ok() {
                    return Ok(RepoRoot { root, url });
                }
            }
            let frag = if insecure { "" } else { "secure " };
            return Err(ResolveError::NotFound(format!(
                "{path}: no {frag}protocol found for repository"
            )));
        }
        self.dynamic(path).await.map_err(|e| match e {
            ResolveError::NotFound(m) => {
                ResolveError::NotFound(format!("unrecognized import path \"{path}\": {m}"))
            }
            other => other,
        })
    }

    async fn fetch_imports(&self, path: &str) -> Result<(String, Vec<MetaImport>), ResolveError> {
        let (host, rest) = match path.find('/') {
            Some(i) => (&path[..i], &path[i..]),
            None => (path, "/"),
        };
        if !host.contains('.') {
            return Err(ResolveError::NotFound(
                "import path does not begin with hostname".into(),
            ));
        }
        let insecure = self.is_insecure(path);
        let mut builder = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::limited(10))
            .user_agent(concat!("modgate/", env!("CARGO_PKG_VERSION")));
        for (h, addr) in &self.pins {
            builder = builder.resolve(h, *addr);
        }
        let client = builder
            .build()
            .map_err(|e| ResolveError::NotFound(format!("https fetch: building client: {e}")))?;
        let https = format!("https://{host}{rest}?go-get=1");
        let http = format!("http://{host}{rest}?go-get=1");
        let mut result = get_body(&client, &https).await;
        if result.is_err() && insecure {
            result = get_body(&client, &http).await;
        }
        let (url, status, body) = result.map_err(|e| {
            let msg = if insecure {
                "http/https fetch"
            } else {
                "https fetch"
            };
            ResolveError::NotFound(format!("{msg}: {e}"))
        })?;
        let imports = parse_meta_go_imports(&body);
        if imports.is_empty() && !(200..300).contains(&status) {
            return Err(ResolveError::NotFound(format!(
                "reading {url}: {status} {}",
                reqwest::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("")
            )));
        }
        Ok((url, imports))
    }

    async fn dynamic(&self, path: &str) -> Result<RepoRoot, ResolveError> {
        let (url, imports) = self.fetch_imports(path).await?;
        let mmi = match_go_import(&imports, path)
            .map_err(|e| ResolveError::NotFound(format!("parse {url}: {e}")))?;
        if mmi.prefix != path {
            let (url2, imports2) = self.fetch_imports(&mmi.prefix).await?;
            let again = match_go_import(&imports2, path);
            if again.as_ref().ok() != Some(&mmi) {
                return Err(ResolveError::NotFound(format!(
                    "{url} and {url2} disagree about go-import for {}",
                    mmi.prefix
                )));
            }
        }
        match mmi.repo_root.split_once("://") {
            Some((scheme, _)) if !scheme.is_empty() && scheme != "file" => {}
            Some(("file", _)) => {
                return Err(ResolveError::NotFound(format!(
                    "{url}: invalid repo root \"{}\": file scheme disallowed",
                    mmi.repo_root
                )));
            }
            _ => {
                return Err(ResolveError::NotFound(format!(
                    "{url}: invalid repo root \"{}\": no scheme",
                    mmi.repo_root
                )));
            }
        }
        let scheme = mmi.repo_root.split("://").next().unwrap_or("");
        let secure = matches!(scheme, "https" | "ssh" | "git+ssh");
        let allowed = secure || (self.is_insecure(path) && matches!(scheme, "http" | "git"));
        if !allowed {
            return Err(ResolveError::NotFound(format!(
                "{url}: repo root \"{}\" uses the {scheme} scheme, allowed only for paths matching GOINSECURE (https, ssh and git+ssh are always allowed)",
                mmi.repo_root
            )));
        }
        if mmi.vcs != "git" {
            return Err(ResolveError::Unsupported(format!(
                "{path}: go-import meta tag at {url} names vcs \"{}\"; the direct source serves git repositories only",
                mmi.vcs
            )));
        }
        Ok(RepoRoot {
            root: mmi.prefix,
            url: mmi.repo_root,
        })
    }
}

const MAX_DISCOVERY_BODY: usize = 1 << 20;

/// A `?go-get=1` page that could not be fetched (the URL, and the client's chain of
/// causes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum PageError {
    /// No answer.
    #[error("Get \"{url}\": {chain}")]
    Get { url: String, chain: String },
    /// The body was cut.
    #[error("reading {url}: {chain}")]
    Read { url: String, chain: String },
}

async fn get_body(client: &reqwest::Client, url: &str) -> Result<(String, u16, String), PageError> {
    let mut resp = client.get(url).send().await.map_err(|e| PageError::Get {
        url: url.to_string(),
        chain: crate::source::error_chain(&e),
    })?;
    let status = resp.status().as_u16();
    let final_url = resp.url().to_string();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| PageError::Read {
        url: url.to_string(),
        chain: crate::source::error_chain(&e),
    })? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_DISCOVERY_BODY {
            break;
        }
    }
    Ok((
        final_url,
        status,
        String::from_utf8_lossy(&body).into_owned(),
    ))
}

/// One `<meta name="go-import" content="prefix vcs repo">`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaImport {
    /// The import path prefix.
    pub prefix: String,
    /// The VCS (`git`, `mod`, ...).
    pub vcs: String,
    /// The repository URL.
    pub repo_root: String,
}

/// Parses go-import meta tags from the head of an HTML page (mod entries first, as the
/// go command's `PreferMod` mode orders them).
pub fn parse_meta_go_imports(html: &str) -> Vec<MetaImport> {
    let mut imports = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut pos = 0;
    while let Some(off) = lower[pos..].find('<') {
        let start = pos + off;
        let Some(end_off) = lower[start..].find('>') else {
            break;
        };
        let end = start + end_off;
        let tag = &html[start + 1..end];
        let ltag = &lower[start + 1..end];
        pos = end + 1;
        let name: String = ltag
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/')
            .collect();
        if name == "body" || name == "/head" {
            break;
        }
        if name != "meta" {
            continue;
        }
        let attrs = parse_attrs(&tag[4..]);
        let get = |n: &str| {
            attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        if get("name") != "go-import" {
            continue;
        }
        let content = get("content");
        let f: Vec<&str> = content.split_whitespace().collect();
        if f.len() == 3 {
            imports.push(MetaImport {
                prefix: f[0].to_string(),
                vcs: f[1].to_string(),
                repo_root: f[2].to_string(),
            });
        }
    }
    let mod_prefixes: Vec<String> = imports
        .iter()
        .filter(|m| m.vcs == "mod")
        .map(|m| m.prefix.clone())
        .collect();
    let mut list: Vec<MetaImport> = imports.iter().filter(|m| m.vcs == "mod").cloned().collect();
    list.extend(
        imports
            .into_iter()
            .filter(|m| m.vcs != "mod" && !mod_prefixes.contains(&m.prefix)),
    );
    list
}

fn parse_attrs(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_whitespace() || b[i] == '/') {
            i += 1;
        }
        let ks = i;
        while i < b.len() && !b[i].is_whitespace() && b[i] != '=' && b[i] != '/' {
            i += 1;
        }
        let key: String = b[ks..i].iter().collect();
        while i < b.len() && b[i].is_whitespace() {
            i += 1;
        }
        let mut val = String::new();
        if i < b.len() && b[i] == '=' {
            i += 1;
            while i < b.len() && b[i].is_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == '"' || b[i] == '\'') {
                let q = b[i];
                i += 1;
                let vs = i;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                val = b[vs..i].iter().collect();
                i += 1;
            } else {
                let vs = i;
                while i < b.len() && !b[i].is_whitespace() {
                    i += 1;
                }
                val = b[vs..i].iter().collect();
            }
        }
        if key.is_empty() {
            i += 1;
            continue;
        }
        out.push((key, unescape_html(&val)));
    }
    out
}

fn unescape_html(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn has_path_prefix(s: &str, prefix: &str) -> bool {
    s == prefix
        || (s.len() > prefix.len()
            && s.starts_with(prefix)
            && (prefix.ends_with('/') || s.as_bytes()[prefix.len()] == b'/'))
}

/// Why no go-import tag of a page is the one for a path (the go command's words).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    /// Two tags match.
    #[error("multiple meta tags match import path \"{0}\"")]
    Multiple(String),
    /// The page has no tag.
    #[error("no go-import meta tags (meta tag not found for {0})")]
    NoTags(String),
    /// No tag's prefix is the path's.
    #[error("no go-import meta tags (meta tags {} did not match import path {path})", prefixes.join(","))]
    NoMatch {
        /// The path.
        path: String,
        /// The tags' prefixes.
        prefixes: Vec<String>,
    },
}

/// The go command's `matchGoImport`.
pub fn match_go_import(imports: &[MetaImport], path: &str) -> Result<MetaImport, MatchError> {
    let mut found: Option<&MetaImport> = None;
    let mut mismatches = Vec::new();
    for im in imports {
        if !has_path_prefix(path, &im.prefix) {
            mismatches.push(im.prefix.clone());
            continue;
        }
        if let Some(m) = found {
            if m.vcs == "mod" && im.vcs != "mod" {
                break;
            }
            return Err(MatchError::Multiple(path.to_string()));
        }
        found = Some(im);
    }
    match found {
        Some(m) => Ok(m.clone()),
        None if mismatches.is_empty() => Err(MatchError::NoTags(path.to_string())),
        None => Err(MatchError::NoMatch {
            path: path.to_string(),
            prefixes: mismatches,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_hosts() {
        let r = static_table("github.com/gen/repo/sub/v2")
            .unwrap()
            .unwrap()
            .0;
        assert_eq!(r.root, "github.com/gen/repo");
        assert_eq!(r.url, "https://github.com/gen/repo");
        let r = static_table("bitbucket.org/a/b").unwrap().unwrap().0;
        assert_eq!(r.url, "https://bitbucket.org/a/b");
        assert_eq!(
            static_table("github.com/gen").unwrap().unwrap_err(),
            ResolveError::NotFound("invalid github.com import path \"github.com/gen\"".into())
        );
        assert_eq!(
            static_table("github.com/gen/x.git/y").unwrap().unwrap_err(),
            ResolveError::NotFound("invalid version control suffix in github.com/ path".into())
        );
        assert!(static_table("example.com/x").is_none());
        let r = static_table("git.apache.org/thrift.git/lib/go")
            .unwrap()
            .unwrap()
            .0;
        assert_eq!(r.root, "git.apache.org/thrift.git");
    }

    #[test]
    fn vcs_suffix() {
        assert_eq!(
            vcs_suffix_path("example.com/a/b.git/c/d"),
            Some((
                "example.com/a/b.git".into(),
                "example.com/a/b".into(),
                "git".into()
            ))
        );
        assert_eq!(
            vcs_suffix_path("example.com:8080/~u/r.git"),
            Some((
                "example.com:8080/~u/r.git".into(),
                "example.com:8080/~u/r".into(),
                "git".into()
            ))
        );
        assert_eq!(vcs_suffix_path("example.com/a/b"), None);
        assert_eq!(vcs_suffix_path("example.com/.git"), None);
        assert_eq!(vcs_suffix_path("localhost/a.git"), None);
    }

    #[test]
    fn meta_tags() {
        let html = r#"<html><head>
<meta name="go-import" content="example.com/x git https://code.example.com/x.git">
<META NAME='go-import' CONTENT='example.com/y mod https://proxy.example.com'/>
<meta name="go-import" content="example.com/y git https://code.example.com/y">
<meta name="go-import" content="too few">
</head><body><meta name="go-import" content="example.com/z git https://z"></body></html>"#;
        let imports = parse_meta_go_imports(html);
        assert_eq!(
            imports,
            vec![
                MetaImport {
                    prefix: "example.com/y".into(),
                    vcs: "mod".into(),
                    repo_root: "https://proxy.example.com".into()
                },
                MetaImport {
                    prefix: "example.com/x".into(),
                    vcs: "git".into(),
                    repo_root: "https://code.example.com/x.git".into()
                },
            ]
        );
        assert_eq!(
            match_go_import(&imports, "example.com/x/sub")
                .unwrap()
                .prefix,
            "example.com/x"
        );
        assert_eq!(
            match_go_import(&imports, "example.com/q")
                .unwrap_err()
                .to_string(),
            "no go-import meta tags (meta tags example.com/y,example.com/x did not match import path example.com/q)"
        );
    }
}
