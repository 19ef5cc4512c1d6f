//! The go command's GOPROXY list over sources (cmd/go/internal/modfetch/proxy.go:
//! `proxyList` and `TryProxies`): entries separated by `,` (fall through to the next only
//! when the module or version is not found: 404, 410) or `|` (fall through on any error),
//! `direct` and `off` ending the list; plus modgate's private routing: a module matching
//! `--private` is only ever asked of `direct` and of upstreams marked private, so that
//! its path never reaches a public upstream.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use super::proxy::redact_url;
use super::{Info, Source};
use crate::error::Error;

/// One entry of a GOPROXY list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// `direct`: fetch from the version control system.
    Direct,
    /// `off`: module lookups disabled.
    Off,
    /// A proxy URL (`https://…`, `http://…`, `file://…`), with `https://` added where the
    /// go command adds it (`proxy.example.com` → `https://proxy.example.com`).
    Url(String),
}

impl fmt::Display for Entry {
    /// `direct`, `off`, or the URL with any password redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Direct => f.write_str("direct"),
            Entry::Off => f.write_str("off"),
            Entry::Url(u) => f.write_str(&redact_url(u)),
        }
    }
}

/// Builds the source of a `direct` or URL entry (given to [`Chain::parse`]).
pub type MakeSource<'a> = dyn Fn(&Entry) -> Result<Arc<dyn Source>, String> + 'a;

/// What the go command answers for `off` (`errProxyOff`, equivalent to "not found").
const OFF: &str = "module lookup disabled by GOPROXY=off";

struct Link {
    entry: Entry,
    /// `None` for `off`, which needs no source.
    source: Option<Arc<dyn Source>>,
    /// The separator after this entry was `|`: try the next entry after any error.
    fall_back_on_error: bool,
    /// May be asked about private modules (`direct`, `off`, upstreams marked private).
    private_ok: bool,
}

/// A GOPROXY list of sources with the go command's fallback rules and private routing.
pub struct Chain {
    links: Vec<Link>,
    private: String,
}

impl Chain {
    /// Parses `goproxy` as the go command parses `GOPROXY` (`proxyList`): entries split at
    /// `,` and `|`, trimmed, empty ones skipped, `direct` and `off` ending the list, a
    /// word with a `.`, `:` or `/` but no `:/` that is not an absolute path getting
    /// `https://`; URLs must be http, https or file. `make` builds the source of each
    /// `direct` and URL entry. Modules matching `private` (GOPRIVATE syntax) are only
    /// asked of `direct` and of the URLs in `private_upstreams` (written as in `goproxy`).
    pub fn parse(
        goproxy: &str,
        private: &str,
        private_upstreams: &[String],
        make: &MakeSource<'_>,
    ) -> Result<Chain, String> {
        if goproxy.trim().is_empty() {
            return Err(
                "the upstream list (--upstream, GOPROXY syntax) is empty; set it, for example to https://proxy.golang.org,direct"
                    .to_string(),
            );
        }
        let private_keys: Vec<String> = private_upstreams
            .iter()
            .map(|u| url_key(&complete_url(u.trim())))
            .collect();
        let mut links = Vec::new();
        for (entry, fall_back_on_error) in parse_list(goproxy)? {
            let source = match entry {
                Entry::Off => None,
                _ => Some(make(&entry)?),
            };
            let private_ok = match &entry {
                Entry::Direct | Entry::Off => true,
                Entry::Url(u) => private_keys.contains(&url_key(u)),
            };
            links.push(Link {
                entry,
                source,
                fall_back_on_error,
                private_ok,
            });
        }
        if links.is_empty() {
            return Err(format!(
                "GOPROXY list is not the empty string, but contains no entries: --upstream {goproxy:?}; name at least one upstream, for example https://proxy.golang.org,direct"
            ));
        }
        for (u, key) in private_upstreams.iter().zip(&private_keys) {
            let listed = links
                .iter()
                .any(|l| matches!(&l.entry, Entry::Url(x) if url_key(x) == *key));
            if !listed {
                tracing::warn!(
                    upstream = %redact_url(u),
                    "an upstream marked private is not in the upstream list; it is never asked"
                );
            }
        }
        Ok(Chain {
            links,
            private: private.to_string(),
        })
    }

    /// The entries, in order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.links.iter().map(|l| &l.entry)
    }

    /// The entries, in order, each with whether an error falls through to the next (`|`).
    pub fn entries_with_fallback(&self) -> impl Iterator<Item = (&Entry, bool)> {
        self.links.iter().map(|l| (&l.entry, l.fall_back_on_error))
    }

    /// Whether `module_path` is private (matches the `private` patterns).
    pub fn is_private(&self, module_path: &str) -> bool {
        gomod::module::match_prefix_patterns(&self.private, module_path)
    }

    /// Asks the entries in turn as the go command's `TryProxies` does, and returns the
    /// first answer or the error the go command would report.
    async fn try_entries(&self, module_path: &str, op: Op<'_>) -> Result<Answer, Error> {
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        enum Rank {
            NotExist,
            Proxy,
            Direct,
        }
        let private = self.is_private(module_path);
        let mut best: Option<(Rank, Error)> = None;
        let mut tried = 0;
        for link in &self.links {
            if private && !link.private_ok {
                tracing::debug!(
                    module = module_path,
                    op = op.name(),
                    entry = %link.entry,
                    "skipped: the module is private and this upstream is not marked private"
                );
                continue;
            }
            if tried > 0
                && let Op::Zip(_, dest) = op
            {
                remove_partial(dest).await;
            }
            tried += 1;
            let result = match &link.source {
                Some(source) => op.call(source.as_ref(), module_path).await,
                None => Err(Error::not_found(
                    gomod::module::Error::module(
                        module_path,
                        op.version(),
                        gomod::module::Error::msg(OFF),
                    )
                    .to_string(),
                )),
            };
            let err = match result {
                Ok(answer) => {
                    tracing::info!(
                        module = module_path,
                        op = op.name(),
                        version = op.version(),
                        entry = %link.entry,
                        "answered"
                    );
                    return Ok(answer);
                }
                Err(e) => e,
            };
            let not_found = err.is_not_found();
            let stop = !link.fall_back_on_error && !not_found;
            if stop {
                tracing::warn!(
                    module = module_path,
                    op = op.name(),
                    version = op.version(),
                    entry = %link.entry,
                    error = %err,
                    "failed; not trying further entries (`,` only falls through on not found; use `|` to fall through on errors)"
                );
            } else {
                tracing::info!(
                    module = module_path,
                    op = op.name(),
                    version = op.version(),
                    entry = %link.entry,
                    error = %err,
                    reason = if not_found { "not found" } else { "error after `|`" },
                    "fell through"
                );
            }
            let best_rank = best.as_ref().map_or(Rank::NotExist, |b| b.0);
            if link.entry == Entry::Direct {
                best = Some((Rank::Direct, err));
            } else if best_rank <= Rank::Proxy && !not_found {
                best = Some((Rank::Proxy, err));
            } else if best_rank == Rank::NotExist {
                best = Some((Rank::NotExist, err));
            }
            if stop {
                break;
            }
        }
        if let Op::Zip(_, dest) = op
            && tried > 0
        {
            remove_partial(dest).await;
        }
        match best {
            Some((_, e)) => Err(e),
            None => Err(Error::not_found(format!(
                "{module_path} is private (--private) and no private source serves it; add `direct` to --upstream or list a private upstream"
            ))),
        }
    }
}

#[async_trait]
impl Source for Chain {
    fn describe(&self) -> String {
        let mut s = String::from("chain ");
        for (i, l) in self.links.iter().enumerate() {
            s.push_str(&l.entry.to_string());
            if i + 1 < self.links.len() {
                s.push(if l.fall_back_on_error { '|' } else { ',' });
            }
        }
        s
    }

    async fn list(&self, module_path: &str) -> Result<bytes::Bytes, Error> {
        match self.try_entries(module_path, Op::List).await? {
            Answer::List(l) => Ok(l),
            other => Err(other.mismatch()),
        }
    }

    async fn stat(&self, module_path: &str, query: &str) -> Result<Info, Error> {
        match self.try_entries(module_path, Op::Stat(query)).await? {
            Answer::Info(i) => Ok(i),
            other => Err(other.mismatch()),
        }
    }

    async fn latest(&self, module_path: &str) -> Result<Info, Error> {
        match self.try_entries(module_path, Op::Latest).await? {
            Answer::Info(i) => Ok(i),
            other => Err(other.mismatch()),
        }
    }

    async fn go_mod(&self, module_path: &str, version: &str) -> Result<Vec<u8>, Error> {
        match self.try_entries(module_path, Op::GoMod(version)).await? {
            Answer::Bytes(b) => Ok(b),
            other => Err(other.mismatch()),
        }
    }

    async fn zip(&self, module_path: &str, version: &str, dest: &Path) -> Result<u64, Error> {
        match self
            .try_entries(module_path, Op::Zip(version, dest))
            .await?
        {
            Answer::Size(n) => Ok(n),
            other => Err(other.mismatch()),
        }
    }
}

/// One request to a source.
#[derive(Clone, Copy)]
enum Op<'a> {
    List,
    Stat(&'a str),
    Latest,
    GoMod(&'a str),
    Zip(&'a str, &'a Path),
}

enum Answer {
    List(bytes::Bytes),
    Info(Info),
    Bytes(Vec<u8>),
    Size(u64),
}

impl Answer {
    fn mismatch(&self) -> Error {
        Error::failed("internal error: chain answer of the wrong kind".to_string())
    }
}

impl Op<'_> {
    fn name(&self) -> &'static str {
        match self {
            Op::List => "list",
            Op::Stat(_) => "info",
            Op::Latest => "latest",
            Op::GoMod(_) => "mod",
            Op::Zip(..) => "zip",
        }
    }

    fn version(&self) -> &str {
        match self {
            Op::List | Op::Latest => "",
            Op::Stat(v) | Op::GoMod(v) | Op::Zip(v, _) => v,
        }
    }

    async fn call(&self, source: &dyn Source, module_path: &str) -> Result<Answer, Error> {
        Ok(match *self {
            Op::List => Answer::List(source.list(module_path).await?),
            Op::Stat(q) => Answer::Info(source.stat(module_path, q).await?),
            Op::Latest => Answer::Info(source.latest(module_path).await?),
            Op::GoMod(v) => Answer::Bytes(source.go_mod(module_path, v).await?),
            Op::Zip(v, dest) => Answer::Size(source.zip(module_path, v, dest).await?),
        })
    }
}

/// Removes what a failed zip attempt may have left at `dest`.
async fn remove_partial(dest: &Path) {
    match tokio::fs::remove_file(dest).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(path = %dest.display(), error = %e, "cannot remove a failed zip download")
        }
    }
}

/// proxy.go: single-word tokens are reserved; anything containing `:/` or that is an
/// absolute path must be a complete URL; other words with `.`, `:` or `/` get `https://`.
/// Parses a GOPROXY list as the go command's `proxyList` does: entries split at `,` and
/// `|` (each with whether `|` follows it: any error falls through), trimmed, empty ones
/// skipped, the list ending at `direct` or `off`, URLs completed with `https://` and
/// checked. An empty result is not an error here.
pub fn parse_list(goproxy: &str) -> Result<Vec<(Entry, bool)>, String> {
    let mut out = Vec::new();
    let mut rest = goproxy;
    while !rest.is_empty() {
        let (word, fall_back_on_error) = match rest.find([',', '|']) {
            Some(i) => {
                let sep = rest.as_bytes()[i];
                let word = &rest[..i];
                rest = &rest[i + 1..];
                (word, sep == b'|')
            }
            None => {
                let word = rest;
                rest = "";
                (word, false)
            }
        };
        let word = word.trim();
        if word.is_empty() {
            continue;
        }
        let entry = match word {
            // Both end the list: "off" always fails hard, and the go command ignores
            // whatever follows "direct" (for forward compatibility).
            "off" => Entry::Off,
            "direct" => Entry::Direct,
            _ => {
                let url = complete_url(word);
                check_url(&url)?;
                Entry::Url(url)
            }
        };
        let last = matches!(entry, Entry::Off | Entry::Direct);
        out.push((entry, fall_back_on_error));
        if last {
            break;
        }
    }
    Ok(out)
}

fn complete_url(word: &str) -> String {
    let is_abs = word.starts_with('/') || word.starts_with('\\');
    if word.contains(['.', ':', '/']) && !word.contains(":/") && !is_abs {
        format!("https://{word}")
    } else {
        word.to_string()
    }
}

/// The scheme checks of proxy.go's `newProxyRepo`, with its messages.
fn check_url(url: &str) -> Result<(), String> {
    let scheme = url
        .split_once(':')
        .map(|(s, _)| s)
        .filter(|s| {
            let mut c = s.chars();
            c.next().is_some_and(|c| c.is_ascii_alphabetic())
                && c.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        })
        .unwrap_or("");
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" | "file" => Ok(()),
        "" => Err(format!(
            "invalid proxy URL missing scheme: {}",
            redact_url(url)
        )),
        _ => Err(format!(
            "invalid proxy URL scheme (must be https, http, file): {}",
            redact_url(url)
        )),
    }
}

/// How two spellings of one upstream URL compare: without userinfo, without trailing
/// slashes, scheme and host in lower case.
fn url_key(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(auth_end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!(
        "{}://{}{path}",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_urls_like_go() {
        assert_eq!(
            complete_url("proxy.example.com"),
            "https://proxy.example.com"
        );
        assert_eq!(complete_url("localhost:8080"), "https://localhost:8080");
        assert_eq!(complete_url("host/path"), "https://host/path");
        assert_eq!(complete_url("http://h"), "http://h");
        assert_eq!(complete_url("file:///srv/p"), "file:///srv/p");
        assert_eq!(complete_url("/srv/p"), "/srv/p");
        assert_eq!(complete_url("noproxy"), "noproxy");
    }

    #[test]
    fn url_checks_like_go() {
        assert!(check_url("https://h").is_ok());
        assert!(check_url("HTTP://h").is_ok());
        assert!(check_url("file:///x").is_ok());
        assert_eq!(
            check_url("noproxy").unwrap_err(),
            "invalid proxy URL missing scheme: noproxy"
        );
        assert_eq!(
            check_url("/srv/p").unwrap_err(),
            "invalid proxy URL missing scheme: /srv/p"
        );
        assert_eq!(
            check_url("ftp://u:pw@h/x").unwrap_err(),
            "invalid proxy URL scheme (must be https, http, file): ftp://u:xxxxx@h/x"
        );
    }

    #[test]
    fn url_keys() {
        assert_eq!(
            url_key("https://U:P@Corp.Example/Proxy/"),
            "https://corp.example/Proxy"
        );
        assert_eq!(
            url_key("https://corp.example/Proxy"),
            "https://corp.example/Proxy"
        );
        assert_eq!(url_key("file:///srv/x/"), "file:///srv/x");
    }
}
