//! The settings file's `[auth]` table: client credentials and what each may read
//! (checked by `http/auth.rs`).
//!
//! ```toml
//! # Without an [auth] table everyone reads every module and an Authorization header
//! # is ignored.
//! [auth]
//! anonymous = ["example.com/*"]       # GOPRIVATE-syntax patterns anyone may read; "*" is
//!                                     # every module; [] (the default once [auth] exists)
//!                                     # is none
//! htpasswd = "/etc/modgate/htpasswd"  # optional: users, bcrypt lines only (htpasswd -B)
//!
//! [[auth.token]]      # a Bearer token, or the password of Basic auth (any user name)
//! name = "ci"         # for the logs, and for the `read` lists of [[routes]]
//! token = "s3cret"    # or token_file = "/path" (trimmed), or token_sha256 = "<hex>"
//! read = ["*"]        # patterns this token may read
//! admin = false       # whether it may use the operations API (/api/v1/)
//! warm = false        # whether it may queue warm jobs and read them, and ask for
//!                     # bundles (/api/v1/warm, /jobs, /bundle, /bundles); a bundle
//!                     # is sent only if `read` covers every module it holds
//!
//! [[auth.user]]       # a user of the htpasswd file (one listed there but not here
//! name = "alice"      # reads only what anonymous may and what routes give it)
//! read = ["corp.example.com/*"]
//! ```

use std::path::PathBuf;

use serde::Deserialize;

pub use crate::http::auth_settings::{AuthSettings, TokenSecret, TokenSettings, UserSettings};

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct FileAuth {
    anonymous: Option<Vec<String>>,
    htpasswd: Option<PathBuf>,
    #[serde(default)]
    token: Vec<FileToken>,
    #[serde(default)]
    user: Vec<FileUser>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct FileToken {
    name: String,
    token: Option<String>,
    token_file: Option<PathBuf>,
    token_sha256: Option<String>,
    #[serde(default)]
    read: Vec<String>,
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    warm: bool,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct FileUser {
    name: String,
    #[serde(default)]
    read: Vec<String>,
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    warm: bool,
}

/// An entry of `[auth]`'s arrays, as errors name it: `[[auth.token]] #2 ("ci")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// The `n`th `[[auth.token]]` (from 1), with its name.
    Token(usize, String),
    /// The `n`th `[[auth.user]]` (from 1), with its name.
    User(usize, String),
}

impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Entry::Token(n, name) => write!(f, "[[auth.token]] #{n} ({name:?})"),
            Entry::User(n, name) => write!(f, "[[auth.user]] #{n} ({name:?})"),
        }
    }
}

/// A list of patterns of `[auth]`, as errors name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Patterns {
    /// `anonymous`.
    Anonymous,
    /// The `read` list of a token or user.
    Read(Entry),
}

impl std::fmt::Display for Patterns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Patterns::Anonymous => f.write_str("anonymous"),
            Patterns::Read(e) => write!(f, "{e} read"),
        }
    }
}

/// What is wrong with `[auth]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A list item that is not one module path pattern.
    #[error(
        "{list}: pattern {pattern:?}: want one module path pattern (GOPRIVATE syntax, such as \"corp.example.com/*\", or \"*\" for every module), one per list item"
    )]
    Pattern {
        /// The list.
        list: Patterns,
        /// The item.
        pattern: String,
    },
    /// The `n`th token (from 1) has an empty name.
    #[error("[[auth.token]] #{0}: name is empty (it names the token in the logs)")]
    UnnamedToken(usize),
    /// Two tokens of one name.
    #[error("{0}: another token has the same name")]
    TokenNameTwice(Entry),
    /// `token = ""`.
    #[error("{0}: token is empty")]
    EmptyToken(Entry),
    /// `token_sha256` is not 64 hex digits.
    #[error(
        "{0}: token_sha256 is not a SHA-256 in hex (64 hex digits, as `printf %s TOKEN | sha256sum` prints)"
    )]
    NotSha256(Entry),
    /// None, or more than one, of `token`, `token_file` and `token_sha256`.
    #[error("{0}: want exactly one of token, token_file, token_sha256")]
    NotOneSecret(Entry),
    /// A user without an `htpasswd` file to find it in.
    #[error("{0}: users need an htpasswd file (htpasswd = \"/path\" in [auth])")]
    NoHtpasswd(Entry),
    /// A name an htpasswd file cannot hold.
    #[error("{0}: not a user name of an htpasswd file")]
    BadUserName(Entry),
    /// One user twice.
    #[error("{0}: the user is listed twice")]
    UserTwice(Entry),
}

/// Checks and resolves `[auth]` (its files are read when the server starts).
pub(super) fn auth_settings(file: FileAuth) -> Result<AuthSettings, AuthError> {
    let anonymous = patterns(Patterns::Anonymous, file.anonymous.unwrap_or_default())?;
    let tokens = tokens(file.token)?;
    let users = users(file.user, file.htpasswd.is_some())?;
    Ok(AuthSettings {
        anonymous,
        htpasswd: file.htpasswd,
        tokens,
        users,
    })
}

/// `list`, if each item is one pattern.
fn patterns(what: Patterns, list: Vec<String>) -> Result<Vec<String>, AuthError> {
    match list
        .iter()
        .find(|p| p.trim().is_empty() || p.contains(',') || p.trim() != p.as_str())
    {
        Some(p) => Err(AuthError::Pattern {
            list: what,
            pattern: p.clone(),
        }),
        None => Ok(list),
    }
}

/// The `[[auth.token]]` entries, checked.
fn tokens(file: Vec<FileToken>) -> Result<Vec<TokenSettings>, AuthError> {
    let mut names = std::collections::HashSet::new();
    let mut tokens = Vec::new();
    for (i, t) in file.into_iter().enumerate() {
        let entry = Entry::Token(i + 1, t.name.clone());
        if t.name.trim().is_empty() {
            return Err(AuthError::UnnamedToken(i + 1));
        }
        if !names.insert(t.name.clone()) {
            return Err(AuthError::TokenNameTwice(entry));
        }
        let secret = match (t.token, t.token_file, t.token_sha256) {
            (Some(v), None, None) if v.trim().is_empty() => {
                return Err(AuthError::EmptyToken(entry));
            }
            (Some(v), None, None) => TokenSecret::Value(v),
            (None, Some(p), None) => TokenSecret::File(p),
            (None, None, Some(h)) => TokenSecret::Sha256(
                sha256_hex(&h).ok_or_else(|| AuthError::NotSha256(entry.clone()))?,
            ),
            _ => return Err(AuthError::NotOneSecret(entry)),
        };
        tokens.push(TokenSettings {
            read: patterns(Patterns::Read(entry), t.read)?,
            name: t.name,
            secret,
            admin: t.admin,
            warm: t.warm,
        });
    }
    Ok(tokens)
}

/// The `[[auth.user]]` entries, checked (`htpasswd`: whether `[auth]` names the file
/// they are in).
fn users(file: Vec<FileUser>, htpasswd: bool) -> Result<Vec<UserSettings>, AuthError> {
    let mut users = Vec::new();
    let mut user_names = std::collections::HashSet::new();
    for (i, u) in file.into_iter().enumerate() {
        let entry = Entry::User(i + 1, u.name.clone());
        if !htpasswd {
            return Err(AuthError::NoHtpasswd(entry));
        }
        if u.name.is_empty() || u.name.contains(':') {
            return Err(AuthError::BadUserName(entry));
        }
        if !user_names.insert(u.name.clone()) {
            return Err(AuthError::UserTwice(entry));
        }
        users.push(UserSettings {
            read: patterns(Patterns::Read(entry), u.read)?,
            name: u.name,
            admin: u.admin,
            warm: u.warm,
        });
    }
    Ok(users)
}

/// The 32 bytes of a SHA-256 written in hex (either case).
fn sha256_hex(h: &str) -> Option<[u8; 32]> {
    let h = h.trim().as_bytes();
    if h.len() != 64 || !h.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(h.chunks(2)) {
        let s = std::str::from_utf8(pair).ok()?;
        *o = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{env_of, file};
    use crate::config::{ServeArgs, Settings};

    fn auth_of(text: &str) -> Result<Option<AuthSettings>, String> {
        let (_d, p) = file(text);
        let args = ServeArgs {
            config: Some(p.clone()),
            ..Default::default()
        };
        Settings::resolve(&args, &env_of(&[]))
            .map(|s| s.auth)
            .map_err(|e| e.0.replace(&p.display().to_string(), "FILE"))
    }

    #[test]
    fn auth_absent_empty_and_full() {
        assert_eq!(auth_of("listen = \"127.0.0.1:1\"\n"), Ok(None));
        assert_eq!(Settings::default().auth, None);
        // The table without `anonymous`: nobody reads anonymously.
        assert_eq!(
            auth_of("[auth]\n"),
            Ok(Some(AuthSettings {
                anonymous: vec![],
                htpasswd: None,
                tokens: vec![],
                users: vec![],
            }))
        );
        let full = r#"
[auth]
anonymous = ["example.com/*", "*"]
htpasswd = "/etc/modgate/htpasswd"
[[auth.token]]
name = "ci"
token = "s3cret"
read = ["*"]
[[auth.token]]
name = "deploy"
token_file = "/run/secrets/deploy"
admin = true
[[auth.token]]
name = "hashed"
token_sha256 = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
read = ["corp.example.com/*"]
[[auth.user]]
name = "alice"
read = ["corp.example.com/*", "*"]
admin = true
"#;
        let mut sha = [0u8; 32];
        sha.copy_from_slice(&[
            0x9f, 0x86, 0xd0, 0x81, 0x88, 0x4c, 0x7d, 0x65, 0x9a, 0x2f, 0xea, 0xa0, 0xc5, 0x5a,
            0xd0, 0x15, 0xa3, 0xbf, 0x4f, 0x1b, 0x2b, 0x0b, 0x82, 0x2c, 0xd1, 0x5d, 0x6c, 0x15,
            0xb0, 0xf0, 0x0a, 0x08,
        ]);
        assert_eq!(
            auth_of(full),
            Ok(Some(AuthSettings {
                anonymous: vec!["example.com/*".into(), "*".into()],
                htpasswd: Some("/etc/modgate/htpasswd".into()),
                tokens: vec![
                    TokenSettings {
                        name: "ci".into(),
                        secret: TokenSecret::Value("s3cret".into()),
                        read: vec!["*".into()],
                        admin: false,
                        warm: false,
                    },
                    TokenSettings {
                        name: "deploy".into(),
                        secret: TokenSecret::File("/run/secrets/deploy".into()),
                        read: vec![],
                        admin: true,
                        warm: false,
                    },
                    TokenSettings {
                        name: "hashed".into(),
                        secret: TokenSecret::Sha256(sha),
                        read: vec!["corp.example.com/*".into()],
                        admin: false,
                        warm: false,
                    },
                ],
                users: vec![UserSettings {
                    name: "alice".into(),
                    read: vec!["corp.example.com/*".into(), "*".into()],
                    admin: true,
                    warm: false,
                }],
            }))
        );
        // Debug never shows a secret.
        let shown = format!("{:?}", auth_of(full));
        assert!(
            !shown.contains("s3cret") && !shown.contains("9f86"),
            "{shown}"
        );
    }

    #[test]
    fn a_route_read_list_needs_auth() {
        assert_eq!(
            auth_of("[[routes]]\npattern = \"corp.example.com\"\nupstream = \"direct\"\nread = [\"ci\"]\n"),
            Err("FILE: [[routes]] corp.example.com: read needs an [auth] table (without one every client reads every module)".into())
        );
    }

    #[test]
    fn auth_mistakes_are_refused_at_start() {
        let cases: &[(&str, &str)] = &[
            (
                "[auth]\nanonymus = []\n",
                "FILE:2: unknown field `anonymus`",
            ),
            (
                "[auth]\n[[auth.token]]\nname = \"ci\"\ntoken = \"x\"\nreads = [\"*\"]\n",
                "FILE:5: unknown field `reads`",
            ),
            (
                "[auth]\n[[auth.token]]\nname = \"ci\"\n",
                "FILE: [auth]: [[auth.token]] #1 (\"ci\"): want exactly one of token, token_file, token_sha256",
            ),
            (
                "[auth]\n[[auth.token]]\nname = \"ci\"\ntoken = \"x\"\ntoken_file = \"/f\"\n",
                "FILE: [auth]: [[auth.token]] #1 (\"ci\"): want exactly one of token, token_file, token_sha256",
            ),
            (
                "[auth]\n[[auth.token]]\nname = \"ci\"\ntoken = \" \"\n",
                "FILE: [auth]: [[auth.token]] #1 (\"ci\"): token is empty",
            ),
            (
                "[auth]\n[[auth.token]]\nname = \"ci\"\ntoken_sha256 = \"abc\"\n",
                "FILE: [auth]: [[auth.token]] #1 (\"ci\"): token_sha256 is not a SHA-256 in hex (64 hex digits, as `printf %s TOKEN | sha256sum` prints)",
            ),
            (
                "[auth]\n[[auth.token]]\nname = \"\"\ntoken = \"x\"\n",
                "FILE: [auth]: [[auth.token]] #1: name is empty (it names the token in the logs)",
            ),
            (
                "[auth]\n[[auth.token]]\nname = \"ci\"\ntoken = \"x\"\n[[auth.token]]\nname = \"ci\"\ntoken = \"y\"\n",
                "FILE: [auth]: [[auth.token]] #2 (\"ci\"): another token has the same name",
            ),
            (
                "[auth]\n[[auth.user]]\nname = \"alice\"\n",
                "FILE: [auth]: [[auth.user]] #1 (\"alice\"): users need an htpasswd file (htpasswd = \"/path\" in [auth])",
            ),
            (
                "[auth]\nhtpasswd = \"/h\"\n[[auth.user]]\nname = \"alice\"\n[[auth.user]]\nname = \"alice\"\n",
                "FILE: [auth]: [[auth.user]] #2 (\"alice\"): the user is listed twice",
            ),
            (
                "[auth]\nanonymous = [\"a.example.com,b.example.com\"]\n",
                "FILE: [auth]: anonymous: pattern \"a.example.com,b.example.com\": want one module path pattern (GOPRIVATE syntax, such as \"corp.example.com/*\", or \"*\" for every module), one per list item",
            ),
            (
                "[auth]\n[[auth.token]]\nname = \"ci\"\ntoken = \"x\"\nread = [\"\"]\n",
                "FILE: [auth]: [[auth.token]] #1 (\"ci\") read: pattern \"\": want one module path pattern (GOPRIVATE syntax, such as \"corp.example.com/*\", or \"*\" for every module), one per list item",
            ),
        ];
        for (text, want) in cases {
            let got = auth_of(text).unwrap_err();
            assert!(got.starts_with(want), "{text}\ngot:  {got}\nwant: {want}");
        }
    }
}
