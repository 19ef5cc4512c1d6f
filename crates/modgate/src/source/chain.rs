//! The go command's GOPROXY list over sources (cmd/go/internal/modfetch/proxy.go:
//! `proxyList` and `TryProxies`): entries separated by `,` (fall through to the next only
//! when the module or version is not found: 404, 410) or `|` (fall through on any error),
//! `direct` and `off` ending the list; plus modgate's private routing: a module matching
//! `--private` is only ever asked of `direct` and of upstreams marked private, so that
//! its path never reaches a public upstream.
//!
//! Hedging (`hedge.rs`): when an HTTP proxy of the list is followed by another, a request
//! the first is slow to answer (past a high quantile of its recent answer times) is also
//! sent to the second; the first good answer wins. The list's meaning is kept: a "not
//! found" or an error from the second while the first is still out decides nothing (the
//! first is awaited); the first's not-found (or error after `|`) falls through to the
//! second's answer, already under way; an error of the first after `,` is the answer
//! unless the second has already answered well.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use super::hedge::{HedgeSettings, Latency};
use super::proxy::{UpstreamError, redact_url};
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

/// The name of the `direct` entry, as the chain notes it when it answers
/// ([`super::answered_by`]).
pub const DIRECT: &str = "direct";

impl fmt::Display for Entry {
    /// `direct`, `off`, or the URL with any password redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Direct => f.write_str(DIRECT),
            Entry::Off => f.write_str("off"),
            Entry::Url(u) => f.write_str(&redact_url(u)),
        }
    }
}

/// Why the source of an entry could not be built: the source's own error (the chain
/// does not know the kinds of sources; it only passes the error on).
pub type SourceSetupError = Box<dyn std::error::Error + Send + Sync>;

/// Builds the source of a `direct` or URL entry (given to [`Chain::parse`]).
pub type MakeSource<'a> = dyn Fn(&Entry) -> Result<Arc<dyn Source>, SourceSetupError> + 'a;

/// Why a GOPROXY list does not make a chain.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The list is empty.
    #[error(
        "the upstream list (--upstream, GOPROXY syntax) is empty; set it, for example to https://proxy.golang.org,direct"
    )]
    Empty,
    /// The list is only separators and spaces (the list as written).
    #[error(
        "GOPROXY list is not the empty string, but contains no entries: --upstream {0:?}; name at least one upstream, for example https://proxy.golang.org,direct"
    )]
    NoEntries(String),
    /// A URL of the list is not usable.
    #[error("{0}")]
    Url(#[from] UpstreamError),
    /// An entry's source could not be built.
    #[error("{0}")]
    Source(#[source] SourceSetupError),
}

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
    /// Recent answer times: metadata, zips.
    latency: [Latency; 2],
}

impl Link {
    /// An HTTP proxy (what is hedged: `direct`, `file://` and `off` are not).
    fn is_http(&self) -> bool {
        matches!(&self.entry, Entry::Url(u) if u.starts_with("http://") || u.starts_with("https://"))
    }
}

/// A GOPROXY list of sources with the go command's fallback rules and private routing.
pub struct Chain {
    links: Vec<Link>,
    private: String,
    hedge: HedgeSettings,
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
    ) -> Result<Chain, ChainError> {
        if goproxy.trim().is_empty() {
            return Err(ChainError::Empty);
        }
        let private_keys: Vec<String> = private_upstreams
            .iter()
            .map(|u| url_key(&complete_url(u.trim())))
            .collect();
        let mut links = Vec::new();
        for (entry, fall_back_on_error) in parse_list(goproxy)? {
            let source = match entry {
                Entry::Off => None,
                _ => Some(make(&entry).map_err(ChainError::Source)?),
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
                latency: Default::default(),
            });
        }
        if links.is_empty() {
            return Err(ChainError::NoEntries(goproxy.to_string()));
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
            hedge: HedgeSettings::default(),
        })
    }

    /// The chain, hedging slow requests as `hedge` says.
    pub fn with_hedging(mut self, hedge: HedgeSettings) -> Chain {
        self.hedge = hedge;
        self
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
        let private = self.is_private(module_path);
        let mut best = Best::default();
        let mut tried = 0;
        // The answer of a link a hedge already asked.
        let mut carried: Option<(usize, Error)> = None;
        for (i, link) in self.links.iter().enumerate() {
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
            let result = match (&link.source, carried.take()) {
                (_, Some((j, e))) if j == i => Err(e),
                (Some(source), _) => match self.hedge_partner(i, private) {
                    Some(k) => match self.race(i, k, module_path, op).await {
                        Raced::Won(j, answer) => {
                            self.note_answer(j);
                            return Ok(answer);
                        }
                        Raced::First(r) => r,
                        Raced::Both(first, second) => {
                            carried = Some((k, second));
                            Err(first)
                        }
                    },
                    None => self.timed(i, source.as_ref(), module_path, op).await,
                },
                (None, _) => Err(off_error(module_path, op)),
            };
            let err = match result {
                Ok(answer) => {
                    self.note_answer(i);
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
            let stop = !link.fall_back_on_error && !err.is_not_found();
            log_failure(&link.entry, module_path, op, &err, stop);
            best.keep(&link.entry, err);
            if stop {
                break;
            }
        }
        if let Op::Zip(_, dest) = op
            && tried > 0
        {
            remove_partial(dest).await;
        }
        match best.0 {
            Some((_, e)) => Err(e),
            None => Err(Error::not_found(format!(
                "{module_path} is private (--private) and no private source serves it; add `direct` to --upstream or list a private upstream"
            ))),
        }
    }
}

/// How much an entry's error says, as the go command ranks them (`TryProxies`): a
/// `direct` error over a proxy's, a proxy's failure over a "not found".
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    NotExist,
    Proxy,
    Direct,
}

/// The error a chain answers when no entry answers: the one that says most.
#[derive(Default)]
struct Best(Option<(Rank, Error)>);

impl Best {
    /// Keeps `err` of `entry` when it says more than the one kept.
    fn keep(&mut self, entry: &Entry, err: Error) {
        let rank = self.0.as_ref().map_or(Rank::NotExist, |b| b.0);
        if *entry == Entry::Direct {
            self.0 = Some((Rank::Direct, err));
        } else if rank <= Rank::Proxy && !err.is_not_found() {
            self.0 = Some((Rank::Proxy, err));
        } else if rank == Rank::NotExist {
            self.0 = Some((Rank::NotExist, err));
        }
    }
}

/// What `off` answers (`errProxyOff`, a "not found"), for the module and version asked.
fn off_error(module_path: &str, op: Op<'_>) -> Error {
    let off = gomod::module::Error::msg(OFF);
    Error::not_found(gomod::module::Error::module(module_path, op.version(), off).to_string())
}

/// Logs an entry's error: the chain stops there (`stop`), or falls through.
fn log_failure(entry: &Entry, module_path: &str, op: Op<'_>, err: &Error, stop: bool) {
    if stop {
        tracing::warn!(
            module = module_path,
            op = op.name(),
            version = op.version(),
            entry = %entry,
            error = %err,
            "failed; not trying further entries (`,` only falls through on not found; use `|` to fall through on errors)"
        );
    } else {
        let not_found = err.is_not_found();
        tracing::info!(
            module = module_path,
            op = op.name(),
            version = op.version(),
            entry = %entry,
            error = %err,
            reason = if not_found { "not found" } else { "error after `|`" },
            "fell through"
        );
    }
}

/// What came of a hedged request.
enum Raced {
    /// A good answer (from either: the index of the link that gave it).
    Won(usize, Answer),
    /// The first link answered (badly) before the hedge was sent.
    First(Result<Answer, Error>),
    /// Both failed: the first's error, the second's.
    Both(Error, Error),
}

impl Chain {
    /// Notes that link `i` answered, by the name `/api/v1/upstreams` and the metrics give
    /// its source (else its entry as written).
    fn note_answer(&self, i: usize) {
        let link = &self.links[i];
        match link
            .source
            .as_ref()
            .and_then(|s| s.upstreams().into_iter().next())
        {
            Some(u) => super::note_answer(&u.upstream),
            None => super::note_answer(&link.entry),
        }
    }

    /// The link a slow request to link `i` is also sent to: the next one, when both are
    /// HTTP proxies that may be asked about this module.
    fn hedge_partner(&self, i: usize, private: bool) -> Option<usize> {
        let (a, b) = (&self.links[i], self.links.get(i + 1)?);
        let ok = self.hedge.enabled
            && a.is_http()
            && b.is_http()
            && (!private || (a.private_ok && b.private_ok));
        ok.then_some(i + 1)
    }

    /// Asks link `i`, recording its answer time.
    async fn timed(
        &self,
        i: usize,
        source: &dyn Source,
        module_path: &str,
        op: Op<'_>,
    ) -> Result<Answer, Error> {
        let started = std::time::Instant::now();
        let r = op.call(source, module_path).await;
        if r.is_ok() {
            self.links[i].latency[op.latency_kind()].record(started.elapsed());
        }
        r
    }

    /// Asks link `i`; if it has not answered after its learned delay, asks link `k` too
    /// (a zip into a file of its own, moved into place if it wins).
    async fn race(&self, i: usize, k: usize, module_path: &str, op: Op<'_>) -> Raced {
        use std::pin::pin;
        let (Some(a_src), Some(b_src)) = (&self.links[i].source, &self.links[k].source) else {
            return Raced::First(Err(Error::internal("hedging a link without a source")));
        };
        let delay = self.links[i].latency[op.latency_kind()].delay(&self.hedge);
        let mut first = pin!(self.timed(i, a_src.as_ref(), module_path, op));
        tokio::select! {
            r = &mut first => return Raced::First(r),
            _ = tokio::time::sleep(delay) => {}
        }
        let alt = match op {
            Op::Zip(_, dest) => Some(dest.with_extension("hedge")),
            _ => None,
        };
        let op_b = match (op, &alt) {
            (Op::Zip(v, _), Some(alt)) => Op::Zip(v, alt.as_path()),
            _ => op,
        };
        tracing::info!(
            module = module_path,
            op = op.name(),
            version = op.version(),
            first = %self.links[i].entry,
            second = %self.links[k].entry,
            after_ms = delay.as_millis() as u64,
            "hedging: the first upstream is slow, asking the next one too"
        );
        let mut second = pin!(self.timed(k, b_src.as_ref(), module_path, op_b));
        let (mut a_done, mut b_done): (Option<Error>, Option<Error>) = (None, None);
        let won = loop {
            tokio::select! {
                r = &mut first, if a_done.is_none() => match r {
                    Ok(answer) => break Some(("first", answer)),
                    Err(e) => a_done = Some(e),
                },
                r = &mut second, if b_done.is_none() => match r {
                    Ok(answer) => break Some(("second", answer)),
                    Err(e) => b_done = Some(e),
                },
            }
            if a_done.is_some() && b_done.is_some() {
                break None;
            }
        };
        hedged(if won.as_ref().is_some_and(|w| w.0 == "second") {
            "won"
        } else {
            "lost"
        });
        match (won, op, &alt) {
            (Some(("second", answer)), Op::Zip(_, dest), Some(alt)) => {
                // The first's partial file (its future is dropped with this function).
                if let Err(e) = tokio::fs::rename(alt, dest).await {
                    remove_partial(alt).await;
                    return Raced::First(Err(Error::storage(&e, dest)));
                }
                Raced::Won(k, answer)
            }
            (Some((which, answer)), _, alt) => {
                if let Some(alt) = alt {
                    remove_partial(alt).await;
                }
                Raced::Won(if which == "second" { k } else { i }, answer)
            }
            (None, _, alt) => {
                if let Some(alt) = alt {
                    remove_partial(alt).await;
                }
                match (a_done, b_done) {
                    (Some(a), Some(b)) => Raced::Both(a, b),
                    _ => Raced::First(Err(Error::internal("hedging ended without answers"))),
                }
            }
        }
    }
}

/// Records a hedge's result (won: the second answered first).
fn hedged(result: &'static str) {
    crate::metrics::metrics()
        .hedges
        .get_or_create(&crate::metrics::Outcome { result })
        .inc();
}

#[async_trait]
impl Source for Chain {
    fn upstreams(&self) -> Vec<super::UpstreamState> {
        super::distinct(
            self.links
                .iter()
                .filter_map(|l| l.source.as_ref())
                .flat_map(|s| s.upstreams()),
        )
    }

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

    fn fetches(&self) -> bool {
        self.links
            .iter()
            .any(|l| l.source.as_ref().is_some_and(|s| s.fetches()))
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
    /// Which of a link's latencies this request is timed in: metadata 0, zips 1.
    fn latency_kind(&self) -> usize {
        usize::from(matches!(self, Op::Zip(..)))
    }

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

/// `list` (GOPROXY syntax) with each entry for which `f` (given the entry trimmed) gives
/// a replacement replaced by it; the separators and the other entries as they were.
pub fn map_entries(list: &str, f: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        match f(word.trim()) {
            Some(w) => out.push_str(&w),
            None => out.push_str(word),
        }
        word.clear();
    };
    for c in list.chars() {
        if c == ',' || c == '|' {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// proxy.go: single-word tokens are reserved; anything containing `:/` or that is an
/// absolute path must be a complete URL; other words with `.`, `:` or `/` get `https://`.
/// Parses a GOPROXY list as the go command's `proxyList` does: entries split at `,` and
/// `|` (each with whether `|` follows it: any error falls through), trimmed, empty ones
/// skipped, the list ending at `direct` or `off`, URLs completed with `https://` and
/// checked. An empty result is not an error here.
pub fn parse_list(goproxy: &str) -> Result<Vec<(Entry, bool)>, UpstreamError> {
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
fn check_url(url: &str) -> Result<(), UpstreamError> {
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
        "" => Err(UpstreamError::MissingScheme(redact_url(url))),
        _ => Err(UpstreamError::Scheme(redact_url(url))),
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
            UpstreamError::MissingScheme("noproxy".into())
        );
        assert_eq!(
            check_url("/srv/p").unwrap_err().to_string(),
            "invalid proxy URL missing scheme: /srv/p"
        );
        assert_eq!(
            check_url("ftp://u:pw@h/x").unwrap_err().to_string(),
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
