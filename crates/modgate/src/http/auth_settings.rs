//! What `[auth]` says, as the HTTP layer's own types: client credentials, what each may
//! read, and the routes' read lists (`config/auth.rs` reads them from the settings; checked
//! and used by `http/auth.rs`).

use std::path::PathBuf;

/// `[auth]`: client credentials and what each may read (checked by `http/auth.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthSettings {
    /// Module path patterns (GOPRIVATE syntax, `*` alone for every module) anyone may read.
    pub anonymous: Vec<String>,
    /// The htpasswd file of the users (bcrypt lines only).
    pub htpasswd: Option<PathBuf>,
    /// `[[auth.token]]`.
    pub tokens: Vec<TokenSettings>,
    /// `[[auth.user]]`.
    pub users: Vec<UserSettings>,
}

/// One `[[auth.token]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    /// Its name, for the logs.
    pub name: String,
    /// The secret, or where it is.
    pub secret: TokenSecret,
    /// Module path patterns it may read.
    pub read: Vec<String>,
    /// Whether it may use the operations API (`/api/v1/`).
    pub admin: bool,
    /// Whether it may queue warm jobs and ask for bundles.
    pub warm: bool,
}

/// Where a token's secret is. `Debug` never shows a secret.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenSecret {
    /// `token = "..."`.
    Value(String),
    /// `token_file = "/path"`: the file's text, trimmed (read at start).
    File(PathBuf),
    /// `token_sha256 = "<64 hex digits>"`: the SHA-256 of the token.
    Sha256([u8; 32]),
}

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSecret::Value(_) => f.write_str("Value(<redacted>)"),
            TokenSecret::File(p) => f.debug_tuple("File").field(p).finish(),
            TokenSecret::Sha256(_) => f.write_str("Sha256(<redacted>)"),
        }
    }
}

/// One `[[auth.user]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSettings {
    /// The user's name in the htpasswd file.
    pub name: String,
    /// Module path patterns the user may read.
    pub read: Vec<String>,
    /// Whether the user may use the operations API (`/api/v1/`).
    pub admin: bool,
    /// Whether the user may queue warm jobs and ask for bundles.
    pub warm: bool,
}

/// A route's read list: who may read the modules of `pattern` (the first route whose
/// pattern matches a module decides alone when its list is not empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteReaders {
    /// GOPRIVATE-syntax patterns.
    pub pattern: String,
    /// Token and user names, `*` for any client with good credentials.
    pub read: Vec<String>,
}
