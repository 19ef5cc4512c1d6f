//! Who is asking and what they may read (`[auth]` in the settings file).
//!
//! Credentials: `Authorization: Bearer TOKEN`, or `Authorization: Basic` whose password is
//! a token (any user name: what the go command sends from `.netrc`) or whose user and
//! password check against the htpasswd file (bcrypt only). A module request (list, info,
//! mod, zip, latest) of path M is let through when M matches a pattern of `anonymous` or
//! of the identity's `read` list (GOPRIVATE syntax, `*` alone for every module);
//! `/sumdb/...` (and any path the parser rejects) when the client may read at least one
//! module; `/healthz`, `/readyz` and `/metrics` always.
//!
//! The decision is made on the request alone, before the handler and its hot answers:
//! 401 (no or wrong credentials, with `WWW-Authenticate`) and 403 (valid credentials, a
//! module they may not read) are the same bytes whether or not the module exists or is
//! cached, and never name the module.
//!
//! Tokens are kept as SHA-256 digests and compared in constant time. A bcrypt check
//! (~100 ms at cost 10) runs on a blocking thread, a few at a time; a successful one is
//! remembered for a few minutes (user, SHA-256 of the password), so that a build's many
//! requests check a password once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

use super::auth_settings::{AuthSettings, RouteReaders, TokenSecret, TokenSettings, UserSettings};
use super::path::{Reject, Request, parse};
use super::reply::text;

/// The body of every 401: the same for missing and wrong credentials, and for any path.
pub const UNAUTHORIZED: &str = "unauthorized: credentials are needed (a token, or a user's password) and none were given or they are not valid";
/// The body of every 403: the same for any module, existing or not.
pub const FORBIDDEN: &str = "forbidden: these credentials may not read this module";
/// Paths answered to anyone, before any check.
const ALWAYS_OPEN: [&str; 3] = ["/healthz", "/readyz", "/metrics"];
/// How long a successful password check is remembered.
const VERIFIED_FOR: Duration = Duration::from_secs(300);
/// How many remembered password checks at most.
const VERIFIED_CAPACITY: usize = 4096;
/// The `client` of the request log line for a request without credentials.
pub const ANONYMOUS: &str = "anonymous";
/// The `client` of the request log line for credentials that did not check.
pub const REFUSED: &str = "refused";

/// Module path patterns (GOPRIVATE syntax); `*` alone is every module.
#[derive(Debug, Default)]
struct Patterns {
    all: bool,
    globs: Vec<String>,
}

impl Patterns {
    fn new(list: &[String]) -> Patterns {
        Patterns {
            all: list.iter().any(|p| p == "*"),
            globs: list.iter().filter(|p| *p != "*").cloned().collect(),
        }
    }

    fn matches(&self, module: &str) -> bool {
        self.all
            || self
                .globs
                .iter()
                .any(|g| gomod::module::match_prefix_patterns(g, module))
    }

    fn is_empty(&self) -> bool {
        !self.all && self.globs.is_empty()
    }
}

/// A token or a user: its name (for the logs) and what it may read.
#[derive(Debug)]
struct Principal {
    name: Arc<str>,
    read: Patterns,
    /// May use the operations API.
    admin: bool,
    /// May queue warm jobs and ask for bundles.
    warm: bool,
}

/// The users of an htpasswd file, in file order: (user, bcrypt hash, line number).
type HtUsers = Vec<(String, String, usize)>;

/// The tokens: the SHA-256 of each secret, and who it is.
type Tokens = Vec<([u8; 32], Arc<Principal>)>;

/// The routes' read lists: a route's pattern, and the names that may read it.
type RouteRules = Vec<(String, Vec<Arc<str>>)>;

/// The htpasswd users by name: their hash and who they are.
type Users = HashMap<String, (String, Arc<Principal>)>;

/// The access rules and credentials of `[auth]`, read at start.
pub struct Auth {
    anonymous: Patterns,
    /// The SHA-256 of each token.
    tokens: Vec<([u8; 32], Arc<Principal>)>,
    /// htpasswd users: their bcrypt hash.
    users: Users,
    /// A user's hash, checked against the password given for an unknown user name, so
    /// that the time an answer takes does not tell which names exist.
    decoy: Option<String>,
    /// Successful password checks: (user, SHA-256 of the password) → until when.
    verified: quick_cache::sync::Cache<(String, [u8; 32]), Instant>,
    /// Bound on concurrent bcrypt checks (a slot is held until the check ends, even when
    /// the client went away meanwhile).
    bcrypt_slots: Arc<Semaphore>,
    bcrypt_runs: AtomicU64,
    /// The routes, in order (the first whose pattern matches a module is its route), with
    /// their `read` lists: a non-empty list decides alone who reads the route's modules.
    routes: Vec<(String, Vec<Arc<str>>)>,
}

/// In a route's `read` list: every client whose credentials check.
const ANY_CLIENT: &str = "*";

/// The decision on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Allow,
    Unauthorized,
    Forbidden,
}

/// The credentials of a request, as its `Authorization` header gives them.
#[derive(Debug, PartialEq, Eq)]
enum Credentials {
    /// No `Authorization` header.
    Missing,
    /// `Bearer TOKEN`.
    Bearer(Vec<u8>),
    /// `Basic base64(user:password)`.
    Basic { user: String, password: Vec<u8> },
    /// Anything else (another scheme, bad base64, no `:`, several headers).
    Malformed,
}

fn sha256(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

/// Reads an `Authorization` header value and an htpasswd file's text as the server does,
/// for the fuzz target: whether the header gives well-formed credentials (or none), and
/// how many users the file has (0 when it is refused).
#[doc(hidden)]
pub fn read_untrusted(authorization: &[u8], htpasswd: &str) -> (bool, usize) {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(authorization) {
        h.insert(header::AUTHORIZATION, v);
    }
    let well_formed = !matches!(credentials(&h), Credentials::Malformed);
    let users = parse_htpasswd(Path::new("htpasswd"), htpasswd).map_or(0, |u| u.len());
    (well_formed, users)
}

/// Reads the credentials of `headers`.
fn credentials(headers: &HeaderMap) -> Credentials {
    let mut all = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = all.next() else {
        return Credentials::Missing;
    };
    if all.next().is_some() {
        return Credentials::Malformed;
    }
    let v = value.as_bytes();
    let Some(sp) = v.iter().position(|&b| b == b' ') else {
        return Credentials::Malformed;
    };
    let (scheme, rest) = (&v[..sp], v[sp..].trim_ascii());
    if rest.is_empty() {
        return Credentials::Malformed;
    }
    if scheme.eq_ignore_ascii_case(b"bearer") {
        return Credentials::Bearer(rest.to_vec());
    }
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return Credentials::Malformed;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(rest) else {
        return Credentials::Malformed;
    };
    let Some(colon) = decoded.iter().position(|&b| b == b':') else {
        return Credentials::Malformed;
    };
    let Ok(user) = String::from_utf8(decoded[..colon].to_vec()) else {
        return Credentials::Malformed;
    };
    Credentials::Basic {
        user,
        password: decoded[colon + 1..].to_vec(),
    }
}

/// Whether `hash` is a well-formed bcrypt hash of the `$2y$`, `$2b$` or `$2a$` kinds:
/// 60 characters, a cost from 04 to 31, then 53 characters of bcrypt's base64.
fn is_bcrypt(hash: &str) -> bool {
    let b = hash.as_bytes();
    let alphabet = |c: &u8| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'/';
    b.len() == 60
        && (hash.starts_with("$2y$") || hash.starts_with("$2b$") || hash.starts_with("$2a$"))
        && hash[4..6]
            .parse::<u32>()
            .is_ok_and(|c| (4..=31).contains(&c))
        && b[6] == b'$'
        && b[7..].iter().all(alphabet)
}

/// What kind of hash a refused htpasswd entry holds (never the hash itself).
fn hash_kind(hash: &str) -> &'static str {
    let crypt_alphabet = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '/';
    if hash.starts_with("$2y$") || hash.starts_with("$2b$") || hash.starts_with("$2a$") {
        "a malformed bcrypt hash"
    } else if hash.starts_with("$apr1$") {
        "an MD5 ($apr1$) hash"
    } else if hash.starts_with("{SHA}") {
        "a SHA-1 ({SHA}) hash"
    } else if hash.starts_with("$1$") || hash.starts_with("$5$") || hash.starts_with("$6$") {
        "a crypt(3) hash"
    } else if hash.len() == 13 && hash.chars().all(crypt_alphabet) {
        "a DES crypt(3) hash"
    } else {
        "a plain-text password or an unknown hash"
    }
}

/// Reads an htpasswd file's text: `user:hash` lines, blank lines and `#` comments; every
/// hash must be bcrypt. Errors name `path`, the line and the user, never the hash.
fn parse_htpasswd(path: &Path, text: &str) -> Result<HtUsers, AuthError> {
    let line_err = |line: usize, why: HtLine| AuthError::Htpasswd {
        file: path.to_path_buf(),
        line,
        why,
    };
    let mut users: HtUsers = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((user, hash)) = line.split_once(':') else {
            return Err(line_err(n, HtLine::NotUserHash));
        };
        let hash = hash.trim();
        if user.is_empty() {
            return Err(line_err(n, HtLine::EmptyUser));
        }
        if let Some((_, _, first)) = users.iter().find(|(u, _, _)| u == user) {
            let (user, first) = (user.to_string(), *first);
            return Err(line_err(n, HtLine::Twice { user, first }));
        }
        if !is_bcrypt(hash) {
            let (user, kind, file) = (user.to_string(), hash_kind(hash), path.to_path_buf());
            return Err(line_err(n, HtLine::NotBcrypt { user, kind, file }));
        }
        users.push((user.to_string(), hash.to_string(), n));
    }
    Ok(users)
}

/// What is wrong with `[auth]` or its files.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A token file cannot be read.
    #[error("[auth] token {token:?}: reading token_file {}: {source}", file.display())]
    TokenFile {
        /// The token's name.
        token: String,
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A token file is empty.
    #[error("[auth] token {token:?}: token_file {} is empty", file.display())]
    EmptyTokenFile {
        /// The token's name.
        token: String,
        /// The file.
        file: PathBuf,
    },
    /// Two tokens have one secret.
    #[error("[auth] tokens {0:?} and {1:?} have the same secret")]
    SameSecret(String, String),
    /// The htpasswd file cannot be read.
    #[error("reading htpasswd file {}: {source} (check htpasswd in [auth])", file.display())]
    HtpasswdFile {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line of the htpasswd file.
    #[error("htpasswd file {}:{line}: {why}", file.display())]
    Htpasswd {
        /// The file.
        file: PathBuf,
        /// The line's number.
        line: usize,
        /// What is wrong with it.
        why: HtLine,
    },
    /// A user of `[[auth.user]]` is not in the htpasswd file.
    #[error("[auth] user {user:?} of [[auth.user]] is not in the htpasswd file {}", file.display())]
    MissingUser {
        /// The user.
        user: String,
        /// The file.
        file: PathBuf,
    },
    /// A route's `read` list names nobody.
    #[error(
        "[[routes]] {pattern}: read names {name:?}, which is neither a token of [[auth.token]] nor a user of the htpasswd file (\"*\" is every client with good credentials)"
    )]
    UnknownReader {
        /// The route's pattern.
        pattern: String,
        /// The name.
        name: String,
    },
}

/// What is wrong with a line of the htpasswd file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HtLine {
    /// Not `user:hash`.
    #[error("not a user:hash line")]
    NotUserHash,
    /// `:hash`.
    #[error("the user name is empty")]
    EmptyUser,
    /// The user is on an earlier line too.
    #[error("user {user:?} is also on line {first}")]
    Twice {
        /// The user.
        user: String,
        /// The earlier line.
        first: usize,
    },
    /// Not a bcrypt hash (what it is).
    #[error(
        "user {user:?}: {kind}; modgate accepts bcrypt hashes only ($2y$, $2b$, $2a$): regenerate it with `htpasswd -B {} {user}`",
        file.display()
    )]
    NotBcrypt {
        /// The user.
        user: String,
        /// What kind of hash it is.
        kind: &'static str,
        /// The htpasswd file.
        file: PathBuf,
    },
}

/// The tokens of `[[auth.token]]`, by the SHA-256 of their secrets (token files read).
fn read_tokens(list: &[TokenSettings]) -> Result<Tokens, AuthError> {
    let mut tokens: Tokens = Vec::new();
    for t in list {
        let digest = match &t.secret {
            TokenSecret::Value(v) => sha256(v.as_bytes()),
            TokenSecret::Sha256(d) => *d,
            TokenSecret::File(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| AuthError::TokenFile {
                    token: t.name.clone(),
                    file: p.clone(),
                    source,
                })?;
                if text.trim().is_empty() {
                    return Err(AuthError::EmptyTokenFile {
                        token: t.name.clone(),
                        file: p.clone(),
                    });
                }
                sha256(text.trim().as_bytes())
            }
        };
        if let Some((_, other)) = tokens.iter().find(|(d, _)| *d == digest) {
            return Err(AuthError::SameSecret(
                other.name.to_string(),
                t.name.clone(),
            ));
        }
        let read = Patterns::new(&t.read);
        let name = t.name.as_str().into();
        let (admin, warm) = (t.admin, t.warm);
        tokens.push((
            digest,
            Arc::new(Principal {
                name,
                read,
                admin,
                warm,
            }),
        ));
    }
    Ok(tokens)
}

/// The users of the htpasswd file `path`, with what `[[auth.user]]` lets each read, and
/// the first hash (checked against when the user is unknown, so that a miss costs as
/// much as a wrong password).
fn read_users(
    path: &Path,
    settings: &[UserSettings],
) -> Result<(Users, Option<String>), AuthError> {
    let text = std::fs::read_to_string(path).map_err(|source| AuthError::HtpasswdFile {
        file: path.to_path_buf(),
        source,
    })?;
    let mut users = HashMap::new();
    let mut decoy = None;
    for (user, hash, _) in parse_htpasswd(path, &text)? {
        let given = settings.iter().find(|u| u.name == user);
        let read = given.map(|u| Patterns::new(&u.read)).unwrap_or_default();
        let admin = given.is_some_and(|u| u.admin);
        let warm = given.is_some_and(|u| u.warm);
        decoy.get_or_insert_with(|| hash.clone());
        let name = user.as_str().into();
        let principal = Principal {
            name,
            read,
            admin,
            warm,
        };
        users.insert(user, (hash, Arc::new(principal)));
    }
    if let Some(u) = settings.iter().find(|u| !users.contains_key(&u.name)) {
        return Err(AuthError::MissingUser {
            user: u.name.clone(),
            file: path.to_path_buf(),
        });
    }
    Ok((users, decoy))
}

/// The routes' read lists, each name checked to be a token's, a user's or `*`.
fn route_rules(
    routes: &[RouteReaders],
    tokens: &[([u8; 32], Arc<Principal>)],
    users: &Users,
) -> Result<RouteRules, AuthError> {
    let mut rules = Vec::new();
    for r in routes {
        if let Some(name) = r.read.iter().find(|n| {
            n.as_str() != ANY_CLIENT
                && !users.contains_key(n.as_str())
                && !tokens.iter().any(|(_, p)| &*p.name == n.as_str())
        }) {
            return Err(AuthError::UnknownReader {
                pattern: r.pattern.clone(),
                name: name.clone(),
            });
        }
        rules.push((
            r.pattern.clone(),
            r.read.iter().map(|n| n.as_str().into()).collect(),
        ));
    }
    Ok(rules)
}

impl Auth {
    /// Reads `[auth]`'s files (token files, the htpasswd file) and checks them: a token
    /// file that cannot be read or is empty, an htpasswd line that is not bcrypt, a user
    /// of `[[auth.user]]` missing from the file, two tokens with one secret are errors.
    /// Each name in a route's `read` list must be a token's, an htpasswd user's or `*`.
    pub fn open(settings: &AuthSettings, routes: &[RouteReaders]) -> Result<Auth, AuthError> {
        let tokens = read_tokens(&settings.tokens)?;
        let (users, decoy) = match &settings.htpasswd {
            Some(path) => read_users(path, &settings.users)?,
            None => (HashMap::new(), None),
        };
        let rules = route_rules(routes, &tokens, &users)?;
        let slots = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8));
        Ok(Auth {
            routes: rules,
            anonymous: Patterns::new(&settings.anonymous),
            tokens,
            users,
            decoy,
            verified: quick_cache::sync::Cache::new(VERIFIED_CAPACITY),
            bcrypt_slots: Arc::new(Semaphore::new(slots)),
            bcrypt_runs: AtomicU64::new(0),
        })
    }

    /// One line for the start-up log: who may read what (names and counts, no secret).
    pub fn describe(&self) -> String {
        let anonymous = if self.anonymous.all {
            "every module".to_string()
        } else if self.anonymous.is_empty() {
            "nothing".to_string()
        } else {
            self.anonymous.globs.join(",")
        };
        format!(
            "auth on: anonymous clients read {anonymous}; {} token(s), {} htpasswd user(s)",
            self.tokens.len(),
            self.users.len()
        )
    }

    /// The token whose secret is `secret` (every token is compared, in constant time).
    fn token(&self, secret: &[u8]) -> Option<Arc<Principal>> {
        let digest = sha256(secret);
        let mut found = None;
        for (d, p) in &self.tokens {
            if bool::from(d.ct_eq(&digest)) {
                found = Some(Arc::clone(p));
            }
        }
        found
    }

    fn fresh(&self, key: &(String, [u8; 32])) -> bool {
        self.verified
            .get(key)
            .is_some_and(|until| Instant::now() < until)
    }

    async fn slot(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.bcrypt_slots).acquire_owned().await.ok()
    }

    /// bcrypt's verdict on a blocking thread, and `slot` back: it is held until the
    /// check ends (dropped with the task's output if the caller went away), so that the
    /// caller can remember a success before another request takes the slot.
    async fn bcrypt(
        &self,
        slot: OwnedSemaphorePermit,
        password: &[u8],
        hash: &str,
    ) -> (bool, Option<OwnedSemaphorePermit>) {
        self.bcrypt_runs.fetch_add(1, Ordering::Relaxed);
        let (password, hash) = (password.to_vec(), hash.to_string());
        tokio::task::spawn_blocking(move || {
            (bcrypt::verify(&password, &hash).unwrap_or(false), slot)
        })
        .await
        .map_or((false, None), |(ok, slot)| (ok, Some(slot)))
    }

    /// The htpasswd user `user` if `password` is theirs.
    async fn user(&self, user: &str, password: &[u8]) -> Option<Arc<Principal>> {
        let Some((hash, principal)) = self.users.get(user) else {
            if let Some(decoy) = &self.decoy {
                let slot = self.slot().await?;
                self.bcrypt(slot, password, decoy).await;
            }
            return None;
        };
        let key = (user.to_string(), sha256(password));
        if self.fresh(&key) {
            return Some(Arc::clone(principal));
        }
        let slot = self.slot().await?;
        // Checked by another request while this one waited for a slot.
        if self.fresh(&key) {
            return Some(Arc::clone(principal));
        }
        let (ok, _slot) = self.bcrypt(slot, password, hash).await;
        if !ok {
            return None;
        }
        self.verified.insert(key, Instant::now() + VERIFIED_FOR);
        Some(Arc::clone(principal))
    }

    /// Who the credentials name: `Ok(None)` for none, `Err(())` for credentials that do
    /// not check.
    async fn identify(&self, credentials: Credentials) -> Result<Option<Arc<Principal>>, ()> {
        match credentials {
            Credentials::Missing => Ok(None),
            Credentials::Malformed => Err(()),
            Credentials::Bearer(t) => self.token(&t).map(Some).ok_or(()),
            Credentials::Basic { user, password } => match self.token(&password) {
                Some(p) => Ok(Some(p)),
                None => self.user(&user, &password).await.map(Some).ok_or(()),
            },
        }
    }

    /// Whether `who` (`None`: no credentials) may have the answer to `parsed` (asked
    /// with `method`).
    fn access(
        &self,
        who: Option<&Principal>,
        method: &Method,
        parsed: &Result<Request, Reject>,
    ) -> Verdict {
        let module = match parsed {
            Ok(Request::Health | Request::Ready | Request::Metrics) => return Verdict::Allow,
            // Warm jobs and bundles: tokens and users with `warm` (or admins); a tag is
            // set by admins only.
            Ok(Request::Api { endpoint }) if super::path::is_fleet(endpoint) => {
                let may = |p: &Principal| {
                    p.admin || (p.warm && !(method == Method::PUT || method == Method::DELETE))
                };
                return match who {
                    Some(p) if may(p) => Verdict::Allow,
                    Some(_) => Verdict::Forbidden,
                    None => Verdict::Unauthorized,
                };
            }
            // The operations API and the dashboard: admins only.
            Ok(Request::Api { .. } | Request::Ui { .. }) => {
                return match who {
                    Some(p) if p.admin => Verdict::Allow,
                    Some(_) => Verdict::Forbidden,
                    None => Verdict::Unauthorized,
                };
            }
            Ok(Request::Sumdb { .. }) | Err(_) => None,
            Ok(
                Request::List { module }
                | Request::Latest { module }
                | Request::Info { module, .. }
                | Request::Mod { module, .. }
                | Request::Zip { module, .. },
            ) => Some(module.as_str()),
        };
        let allowed = match module {
            // The checksum database, or a path the handler rejects without looking
            // anything up: for anyone who may read some module.
            None => who.is_some() || !self.anonymous.is_empty(),
            Some(m) => self.may_read(who, m),
        };
        match (allowed, who) {
            (true, _) => Verdict::Allow,
            (false, None) => Verdict::Unauthorized,
            (false, Some(_)) => Verdict::Forbidden,
        }
    }

    /// Whether `who` (`None`: no credentials) may read the module `m`: a route's read
    /// list decides alone for its modules; else `anonymous`, or the client's patterns.
    fn may_read(&self, who: Option<&Principal>, m: &str) -> bool {
        let route = self
            .routes
            .iter()
            .find(|(pattern, _)| gomod::module::match_prefix_patterns(pattern, m))
            .map(|(_, read)| read)
            .filter(|read| !read.is_empty());
        match route {
            Some(read) => {
                who.is_some_and(|p| read.iter().any(|n| &**n == ANY_CLIENT || *n == p.name))
            }
            None => self.anonymous.matches(m) || who.is_some_and(|p| p.read.matches(m)),
        }
    }

    /// The verdict on a request and the client's name for the log.
    #[cfg(test)]
    pub(super) async fn check(
        &self,
        headers: &HeaderMap,
        method: &Method,
        parsed: &Result<Request, Reject>,
    ) -> (Verdict, Arc<str>) {
        let (verdict, name, _) = self.check_who(headers, method, parsed).await;
        (verdict, name)
    }

    /// [`Auth::check`], with who asked.
    async fn check_who(
        &self,
        headers: &HeaderMap,
        method: &Method,
        parsed: &Result<Request, Reject>,
    ) -> (Verdict, Arc<str>, Option<Arc<Principal>>) {
        match self.identify(credentials(headers)).await {
            Err(()) => (Verdict::Unauthorized, REFUSED.into(), None),
            Ok(who) => {
                let name = who
                    .as_ref()
                    .map_or_else(|| ANONYMOUS.into(), |p| p.name.clone());
                (self.access(who.as_deref(), method, parsed), name, who)
            }
        }
    }
}

/// The 401 answer: the same bytes for every path and every reason.
fn unauthorized(head: bool) -> Response {
    let mut r = text(StatusCode::UNAUTHORIZED, UNAUTHORIZED, head);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"modgate\""),
    );
    r
}

/// What a client may read, for answers that hold several modules (a bundle).
#[derive(Clone)]
pub(super) struct Reader {
    auth: Arc<Auth>,
    who: Option<Arc<Principal>>,
}

impl Reader {
    /// Whether the client may read the module `m`.
    pub fn reads(&self, m: &str) -> bool {
        self.auth.may_read(self.who.as_deref(), m)
    }
}

/// What the access check decided on one request.
pub(super) struct Access {
    /// The client's name for the log and the limit (`None`: [`ANONYMOUS`]).
    pub client: Option<Arc<str>>,
    /// The path as parsed here, for the handler (`None`: not parsed: no `[auth]`, or an
    /// always open path).
    pub parsed: Option<Result<Request, Reject>>,
    /// The 401 or 403 answered here, before the handler.
    pub refused: Option<Response>,
    /// What the client may read (`None`: no `[auth]`, everything).
    pub reader: Option<Reader>,
}

/// The access check: a 401/403 before the handler, or the request let through with its
/// parsed path and the client's name.
pub(super) async fn authorize(
    state: &super::AppState,
    req: &Parts,
    span: &super::RequestSpan<'_>,
) -> Access {
    let open = || Access {
        client: None,
        parsed: None,
        refused: None,
        reader: None,
    };
    let raw = req.uri.path();
    // Without [auth] (it may come and go with a reload), everyone reads everything.
    let Some(auth) = state.auth.load_full() else {
        return open();
    };
    if ALWAYS_OPEN.contains(&raw) {
        return open();
    }
    let parsed = parse(raw);
    let head = req.method == Method::HEAD;
    // Boxed: its future (password checks) is large, and most requests never get here.
    let (verdict, client, who) = Box::pin(auth.check_who(&req.headers, &req.method, &parsed))
        .instrument(span.get().clone())
        .await;
    let refused = match verdict {
        Verdict::Allow => None,
        Verdict::Unauthorized => Some(unauthorized(head)),
        Verdict::Forbidden => Some(text(StatusCode::FORBIDDEN, FORBIDDEN, head)),
    };
    Access {
        client: (&*client != ANONYMOUS).then_some(client),
        parsed: Some(parsed),
        refused,
        reader: Some(Reader { auth, who }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::auth_settings::{TokenSettings, UserSettings};
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    /// A bcrypt hash of `password` at cost 4 (fast), in the `$2y$` form htpasswd writes.
    fn hash(password: &str) -> String {
        bcrypt::hash_with_result(password, 4)
            .unwrap()
            .format_for_version(bcrypt::Version::TwoY)
    }

    #[test]
    fn htpasswd_bcrypt_only() {
        let p = Path::new("/etc/modgate/htpasswd");
        let (a, b) = (hash("pa"), bcrypt::hash("pb", 4).unwrap());
        let text = format!("# users\n\nalice:{a}\r\nbob:{b}\n");
        assert_eq!(
            parse_htpasswd(p, &text).map_err(|e| e.to_string()),
            Ok(vec![
                ("alice".to_string(), a.clone(), 3),
                ("bob".to_string(), b.clone(), 4)
            ])
        );
        let a2a = a.replacen("$2y$", "$2a$", 1);
        assert!(parse_htpasswd(p, &format!("carol:{a2a}\n")).is_ok());
        let refused = |line: &str| {
            parse_htpasswd(p, &format!("alice:{a}\n{line}\n"))
                .unwrap_err()
                .to_string()
        };
        let regen = "modgate accepts bcrypt hashes only ($2y$, $2b$, $2a$): regenerate it with `htpasswd -B /etc/modgate/htpasswd";
        assert_eq!(
            refused("bob:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/"),
            format!(
                "htpasswd file /etc/modgate/htpasswd:2: user \"bob\": an MD5 ($apr1$) hash; {regen} bob`"
            )
        );
        assert_eq!(
            refused("carol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="),
            format!(
                "htpasswd file /etc/modgate/htpasswd:2: user \"carol\": a SHA-1 ({{SHA}}) hash; {regen} carol`"
            )
        );
        assert_eq!(
            refused("dave:hunter2"),
            format!(
                "htpasswd file /etc/modgate/htpasswd:2: user \"dave\": a plain-text password or an unknown hash; {regen} dave`"
            )
        );
        assert_eq!(
            refused("erin:rqXexS6ZhobKA"),
            format!(
                "htpasswd file /etc/modgate/htpasswd:2: user \"erin\": a DES crypt(3) hash; {regen} erin`"
            )
        );
        assert_eq!(
            refused("frank:$2y$10$tooshort"),
            format!(
                "htpasswd file /etc/modgate/htpasswd:2: user \"frank\": a malformed bcrypt hash; {regen} frank`"
            )
        );
        assert_eq!(
            refused(&format!("gina:{}", a.replacen("$2y$", "$2x$", 1))),
            format!(
                "htpasswd file /etc/modgate/htpasswd:2: user \"gina\": a plain-text password or an unknown hash; {regen} gina`"
            )
        );
        // The secret is never in the message.
        assert!(!refused("dave:hunter2").contains("hunter2"));
        assert_eq!(
            refused(&format!("alice:{b}")),
            "htpasswd file /etc/modgate/htpasswd:2: user \"alice\" is also on line 1"
        );
        assert_eq!(
            refused("no colon here"),
            "htpasswd file /etc/modgate/htpasswd:2: not a user:hash line"
        );
    }

    #[test]
    fn open_reads_the_files() {
        let d = tempfile::tempdir().unwrap();
        let ht = d.path().join("htpasswd");
        let settings = |htpasswd: Option<&Path>, users: &[&str]| AuthSettings {
            anonymous: vec![],
            htpasswd: htpasswd.map(Path::to_path_buf),
            tokens: vec![],
            users: users
                .iter()
                .map(|u| UserSettings {
                    name: u.to_string(),
                    read: s(&["*"]),
                    admin: false,
                    warm: false,
                })
                .collect(),
        };
        let err = |s: &AuthSettings| Auth::open(s, &[]).err().unwrap().to_string();
        assert_eq!(
            err(&settings(Some(&ht), &[])),
            format!(
                "reading htpasswd file {}: No such file or directory (os error 2) (check htpasswd in [auth])",
                ht.display()
            )
        );
        std::fs::write(&ht, format!("alice:{}\n", hash("pa"))).unwrap();
        assert_eq!(
            err(&settings(Some(&ht), &["alice", "bob"])),
            format!(
                "[auth] user \"bob\" of [[auth.user]] is not in the htpasswd file {}",
                ht.display()
            )
        );
        assert!(Auth::open(&settings(Some(&ht), &["alice"]), &[]).is_ok());
        std::fs::write(&ht, "alice:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n").unwrap();
        assert!(err(&settings(Some(&ht), &[])).contains(":1: user \"alice\": an MD5"));

        let tok = |name: &str, secret: TokenSecret| TokenSettings {
            name: name.into(),
            secret,
            read: vec![],
            admin: false,
            warm: false,
        };
        let file = d.path().join("token");
        let mut st = settings(None, &[]);
        st.tokens = vec![tok("f", TokenSecret::File(file.clone()))];
        assert_eq!(
            err(&st),
            format!(
                "[auth] token \"f\": reading token_file {}: No such file or directory (os error 2)",
                file.display()
            )
        );
        std::fs::write(&file, " \n").unwrap();
        assert_eq!(
            err(&st),
            format!("[auth] token \"f\": token_file {} is empty", file.display())
        );
        // The file's text is trimmed; the same secret twice is refused.
        std::fs::write(&file, "s3cret\n").unwrap();
        st.tokens
            .push(tok("v", TokenSecret::Value("s3cret".into())));
        assert_eq!(
            err(&st),
            "[auth] tokens \"f\" and \"v\" have the same secret"
        );
        st.tokens[1].secret = TokenSecret::Sha256(sha256(b"other"));
        let auth = Auth::open(&st, &[]).unwrap();
        assert_eq!(auth.token(b"s3cret").unwrap().name.as_ref(), "f");
        assert_eq!(auth.token(b"other").unwrap().name.as_ref(), "v");
        assert!(auth.token(b"s3cret\n").is_none());
    }

    fn headers(auth: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(a).unwrap());
        }
        h
    }

    /// The header value (leaked: the tables of the tests borrow it, and Rust 1.88 does
    /// not extend temporaries in them).
    fn basic(user: &str, password: &str) -> &'static str {
        Box::leak(
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )
            .into_boxed_str(),
        )
    }

    #[test]
    fn credentials_from_the_header() {
        use Credentials::*;
        let c = |a: Option<&str>| credentials(&headers(a));
        assert_eq!(c(None), Missing);
        assert_eq!(c(Some("Bearer tok-1")), Bearer(b"tok-1".to_vec()));
        assert_eq!(c(Some("bearer   tok-1 ")), Bearer(b"tok-1".to_vec()));
        assert_eq!(
            c(Some(basic("x", "tok:with:colons"))),
            Basic {
                user: "x".into(),
                password: b"tok:with:colons".to_vec()
            }
        );
        assert_eq!(
            c(Some(basic("", ""))),
            Basic {
                user: "".into(),
                password: vec![]
            }
        );
        assert_eq!(
            c(Some("BASIC YWxpY2U6cHc=")),
            Basic {
                user: "alice".into(),
                password: b"pw".to_vec()
            }
        );
        for bad in [
            "Bearer",
            "Bearer ",
            "Basic",
            "Basic !!!",
            "Basic YWxpY2U=", // "alice", no colon
            "Digest username=\"alice\"",
            "tok-1",
        ] {
            assert_eq!(c(Some(bad)), Malformed, "{bad}");
        }
        let mut two = headers(Some("Bearer a"));
        two.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer b"));
        assert_eq!(credentials(&two), Malformed);
    }

    fn table_auth(dir: &Path) -> Auth {
        let ht = dir.join("htpasswd");
        std::fs::write(
            &ht,
            format!("alice:{}\nbob:{}\n", hash("alice-pw"), hash("bob-pw")),
        )
        .unwrap();
        Auth::open(
            &AuthSettings {
                anonymous: s(&["example.com/*"]),
                htpasswd: Some(ht),
                tokens: vec![
                    TokenSettings {
                        name: "all".into(),
                        secret: TokenSecret::Value("tok-all".into()),
                        read: s(&["*"]),
                        admin: false,
                        warm: false,
                    },
                    TokenSettings {
                        name: "pub".into(),
                        secret: TokenSecret::Sha256(sha256(b"tok-pub")),
                        read: s(&["example.com/*"]),
                        admin: false,
                        warm: false,
                    },
                ],
                // bob is in the file but not here: he reads what anonymous clients read.
                users: vec![UserSettings {
                    name: "alice".into(),
                    read: s(&["corp.example.com/team"]),
                    admin: false,
                    warm: false,
                }],
            },
            &[],
        )
        .unwrap()
    }

    #[tokio::test]
    async fn warm_tokens_reach_warm_jobs_and_bundles_only_admins_tag() {
        let tok = |name: &str, admin: bool, warm: bool| TokenSettings {
            name: name.into(),
            secret: TokenSecret::Value(format!("tok-{name}")),
            read: vec![],
            admin,
            warm,
        };
        let auth = Auth::open(
            &AuthSettings {
                tokens: vec![
                    tok("ci", false, true),
                    tok("ops", true, false),
                    tok("dev", false, false),
                ],
                ..AuthSettings::default()
            },
            &[],
        )
        .unwrap();
        use Verdict::*;
        let (get, post, put) = (Method::GET, Method::POST, Method::PUT);
        let rows: &[(Option<&str>, &Method, &str, Verdict)] = &[
            (Some("Bearer tok-ci"), &post, "/api/v1/warm", Allow),
            (Some("Bearer tok-ci"), &get, "/api/v1/jobs/abc", Allow),
            (Some("Bearer tok-ci"), &get, "/api/v1/jobs", Allow),
            (Some("Bearer tok-ci"), &post, "/api/v1/bundle", Allow),
            (
                Some("Bearer tok-ci"),
                &get,
                "/api/v1/bundles/tags/stable",
                Allow,
            ),
            (
                Some("Bearer tok-ci"),
                &put,
                "/api/v1/bundles/tags/stable",
                Forbidden,
            ),
            (Some("Bearer tok-ci"), &get, "/api/v1/status", Forbidden),
            (Some("Bearer tok-ci"), &post, "/api/v1/purge", Forbidden),
            (
                Some("Bearer tok-ops"),
                &put,
                "/api/v1/bundles/tags/stable",
                Allow,
            ),
            (Some("Bearer tok-ops"), &post, "/api/v1/warm", Allow),
            (Some("Bearer tok-dev"), &post, "/api/v1/warm", Forbidden),
            (None, &post, "/api/v1/warm", Unauthorized),
            (None, &get, "/api/v1/bundles/tags/stable", Unauthorized),
        ];
        for (cred, method, path, want) in rows {
            let got = auth.check(&headers(*cred), method, &parse(path)).await.0;
            assert_eq!(got, *want, "{cred:?} {method} {path}");
        }
    }

    #[tokio::test]
    async fn a_route_read_list_decides_alone() {
        let d = tempfile::tempdir().unwrap();
        let ht = d.path().join("htpasswd");
        std::fs::write(&ht, format!("alice:{}\n", hash("alice-pw"))).unwrap();
        let route = |pattern: &str, read: &[&str]| RouteReaders {
            pattern: pattern.into(),
            read: s(read),
        };
        let settings = AuthSettings {
            anonymous: s(&["example.com/*"]),
            htpasswd: Some(ht),
            tokens: vec![TokenSettings {
                name: "all".into(),
                secret: TokenSecret::Value("tok-all".into()),
                read: s(&["*"]),
                admin: false,
                warm: false,
            }],
            users: vec![],
        };
        let routes = [
            route("corp.example.com/secret", &["alice"]),
            // The first matching route is the module's route, even without a list.
            route("corp.example.com", &[]),
            route("example.com/members", &["*"]),
        ];
        let auth = Auth::open(&settings, &routes).unwrap();
        use Verdict::*;
        let alice = basic("alice", "alice-pw");
        let rows: &[(Option<&str>, &str, Verdict)] = &[
            // Only alice, though "all" reads "*" and alice's own patterns are none.
            (Some(alice), "/corp.example.com/secret/@v/list", Allow),
            (Some(alice), "/corp.example.com/secret/x/@latest", Allow),
            (
                Some("Bearer tok-all"),
                "/corp.example.com/secret/@v/list",
                Forbidden,
            ),
            (None, "/corp.example.com/secret/@v/list", Unauthorized),
            // No list: the [auth] patterns decide.
            (
                Some("Bearer tok-all"),
                "/corp.example.com/other/@v/list",
                Allow,
            ),
            (Some(alice), "/corp.example.com/other/@v/list", Forbidden),
            // "*": any good credentials, not anonymous clients (though anonymous reads
            // example.com/*).
            (Some(alice), "/example.com/members/@v/list", Allow),
            (None, "/example.com/members/@v/list", Unauthorized),
            (None, "/example.com/open/@v/list", Allow),
        ];
        for (cred, path, want) in rows {
            let got = auth
                .check(&headers(*cred), &Method::GET, &parse(path))
                .await
                .0;
            assert_eq!(got, *want, "{cred:?} {path}");
        }
        // A name that is no token nor user stops the start.
        let err = Auth::open(&settings, &[route("corp.example.com", &["bob"])])
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            err,
            "[[routes]] corp.example.com: read names \"bob\", which is neither a token of [[auth.token]] nor a user of the htpasswd file (\"*\" is every client with good credentials)"
        );
    }

    #[tokio::test]
    async fn access_table() {
        let d = tempfile::tempdir().unwrap();
        let auth = table_auth(d.path());
        use Verdict::*;
        let (pub_, secret, team) = (
            "/example.com/pub/@v/list",
            "/corp.example.com/secret/@v/v1.0.0.zip",
            "/corp.example.com/team/sub/@latest",
        );
        let sumdb = "/sumdb/sum.golang.org/supported";
        let rejected = "/corp.example.com/secret/@v/master.zip";
        let rows: &[(Option<&str>, &str, Verdict, &str)] = &[
            (None, pub_, Allow, "anonymous"),
            (
                None,
                "/example.com/pub/v2/@v/v2.0.0.info",
                Allow,
                "anonymous",
            ),
            (None, secret, Unauthorized, "anonymous"),
            (None, team, Unauthorized, "anonymous"),
            (None, sumdb, Allow, "anonymous"),
            (None, rejected, Allow, "anonymous"),
            (None, "/healthz", Allow, "anonymous"),
            (Some("Bearer tok-all"), secret, Allow, "all"),
            (Some("Bearer tok-all"), team, Allow, "all"),
            (Some(basic("x", "tok-all")), secret, Allow, "all"),
            (Some(basic("alice", "tok-all")), secret, Allow, "all"),
            (Some("Bearer tok-pub"), pub_, Allow, "pub"),
            (Some("Bearer tok-pub"), secret, Forbidden, "pub"),
            (Some(basic("x", "tok-pub")), secret, Forbidden, "pub"),
            (Some("Bearer tok-wrong"), pub_, Unauthorized, "refused"),
            (Some("Bearer tok-wrong"), secret, Unauthorized, "refused"),
            (Some("Bearer tok-wrong"), sumdb, Unauthorized, "refused"),
            (
                Some(basic("x", "tok-wrong")),
                secret,
                Unauthorized,
                "refused",
            ),
            (Some("Bearer alice-pw"), team, Unauthorized, "refused"),
            (Some(basic("alice", "alice-pw")), team, Allow, "alice"),
            (Some(basic("alice", "alice-pw")), pub_, Allow, "alice"),
            (Some(basic("alice", "alice-pw")), secret, Forbidden, "alice"),
            (
                Some(basic("alice", "bob-pw")),
                team,
                Unauthorized,
                "refused",
            ),
            (
                Some(basic("carol", "alice-pw")),
                pub_,
                Unauthorized,
                "refused",
            ),
            (Some(basic("bob", "bob-pw")), pub_, Allow, "bob"),
            (Some(basic("bob", "bob-pw")), team, Forbidden, "bob"),
            (Some(basic("bob", "bob-pw")), sumdb, Allow, "bob"),
            (Some("Digest x"), pub_, Unauthorized, "refused"),
        ];
        for (cred, path, want, client) in rows {
            let got = auth
                .check(&headers(*cred), &Method::GET, &parse(path))
                .await;
            assert_eq!((got.0, got.1.as_ref()), (*want, *client), "{cred:?} {path}");
        }

        // Nobody anonymous: the checksum database and rejected paths need credentials too.
        let nobody = Auth::open(
            &AuthSettings {
                tokens: vec![TokenSettings {
                    name: "t".into(),
                    secret: TokenSecret::Value("t".into()),
                    read: vec![],
                    admin: false,
                    warm: false,
                }],
                ..AuthSettings::default()
            },
            &[],
        )
        .unwrap();
        for (cred, path, want) in [
            (None, sumdb, Unauthorized),
            (None, rejected, Unauthorized),
            (None, pub_, Unauthorized),
            (None, "/readyz", Allow),
            (Some("Bearer t"), sumdb, Allow),
            (Some("Bearer t"), rejected, Allow),
            (Some("Bearer t"), pub_, Forbidden),
        ] {
            assert_eq!(
                nobody
                    .check(&headers(cred), &Method::GET, &parse(path))
                    .await
                    .0,
                want,
                "{cred:?} {path}"
            );
        }
    }

    #[test]
    fn star_is_every_module() {
        let p = Patterns::new(&s(&["*"]));
        for m in [
            "example.com/a",
            "corp.example.com/x/y/v2",
            "gopkg.in/yaml.v3",
            "a",
        ] {
            assert!(p.matches(m), "{m}");
        }
        let p = Patterns::new(&s(&["corp.example.com", "*.lan.example.com/team/*"]));
        assert!(p.matches("corp.example.com/x/y"));
        assert!(p.matches("git.lan.example.com/team/a/b"));
        assert!(!p.matches("git.lan.example.com/other/a"));
        assert!(!p.matches("corp.example.com.evil.example/x"));
        assert!(Patterns::new(&[]).is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_password_is_checked_by_bcrypt_once() {
        let d = tempfile::tempdir().unwrap();
        let auth = Arc::new(table_auth(d.path()));
        let h = headers(Some(basic("alice", "alice-pw")));
        let path = parse("/corp.example.com/team/@v/list");
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (auth, h, path) = (Arc::clone(&auth), h.clone(), path.clone());
            tasks.push(tokio::spawn(async move {
                auth.check(&h, &Method::GET, &path).await.0
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Verdict::Allow);
        }
        // At most one check per slot ran before the first success was remembered.
        let slots = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8));
        let runs = auth.bcrypt_runs.load(Ordering::Relaxed);
        assert!((1..=slots as u64).contains(&runs), "{runs} bcrypt runs");
        // A wrong password is never remembered: each one is checked.
        let wrong = headers(Some(basic("alice", "nope")));
        for _ in 0..2 {
            assert_eq!(
                auth.check(&wrong, &Method::GET, &path).await.0,
                Verdict::Unauthorized
            );
        }
        assert_eq!(auth.bcrypt_runs.load(Ordering::Relaxed), runs + 2);
        // An unknown user costs one bcrypt check too (the decoy).
        let unknown = headers(Some(basic("mallory", "alice-pw")));
        assert_eq!(
            auth.check(&unknown, &Method::GET, &path).await.0,
            Verdict::Unauthorized
        );
        assert_eq!(auth.bcrypt_runs.load(Ordering::Relaxed), runs + 3);
    }
}
