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
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct FileUser {
    name: String,
    #[serde(default)]
    read: Vec<String>,
}

/// Checks and resolves `[auth]` (its files are read when the server starts).
pub(super) fn auth_settings(file: FileAuth) -> Result<AuthSettings, String> {
    let patterns = |what: &str, list: Vec<String>| -> Result<Vec<String>, String> {
        for p in &list {
            if p.trim().is_empty() || p.contains(',') || p.trim() != p {
                return Err(format!(
                    "{what}: pattern {p:?}: want one module path pattern (GOPRIVATE syntax, such as \"corp.example.com/*\", or \"*\" for every module), one per list item"
                ));
            }
        }
        Ok(list)
    };
    let anonymous = patterns("anonymous", file.anonymous.unwrap_or_default())?;
    let mut names = std::collections::HashSet::new();
    let mut tokens = Vec::new();
    for (i, t) in file.token.into_iter().enumerate() {
        let what = format!("[[auth.token]] #{} ({:?})", i + 1, t.name);
        if t.name.trim().is_empty() {
            return Err(format!(
                "[[auth.token]] #{}: name is empty (it names the token in the logs)",
                i + 1
            ));
        }
        if !names.insert(t.name.clone()) {
            return Err(format!("{what}: another token has the same name"));
        }
        let secret = match (t.token, t.token_file, t.token_sha256) {
            (Some(v), None, None) if v.trim().is_empty() => {
                return Err(format!("{what}: token is empty"));
            }
            (Some(v), None, None) => TokenSecret::Value(v),
            (None, Some(p), None) => TokenSecret::File(p),
            (None, None, Some(h)) => TokenSecret::Sha256(sha256_hex(&h).ok_or_else(|| {
                format!(
                    "{what}: token_sha256 is not a SHA-256 in hex (64 hex digits, as `printf %s TOKEN | sha256sum` prints)"
                )
            })?),
            _ => {
                return Err(format!(
                    "{what}: want exactly one of token, token_file, token_sha256"
                ));
            }
        };
        tokens.push(TokenSettings {
            read: patterns(&format!("{what} read"), t.read)?,
            name: t.name,
            secret,
        });
    }
    let mut users = Vec::new();
    let mut user_names = std::collections::HashSet::new();
    for (i, u) in file.user.into_iter().enumerate() {
        let what = format!("[[auth.user]] #{} ({:?})", i + 1, u.name);
        if file.htpasswd.is_none() {
            return Err(format!(
                "{what}: users need an htpasswd file (htpasswd = \"/path\" in [auth])"
            ));
        }
        if u.name.is_empty() || u.name.contains(':') {
            return Err(format!("{what}: not a user name of an htpasswd file"));
        }
        if !user_names.insert(u.name.clone()) {
            return Err(format!("{what}: the user is listed twice"));
        }
        users.push(UserSettings {
            read: patterns(&format!("{what} read"), u.read)?,
            name: u.name,
        });
    }
    Ok(AuthSettings {
        anonymous,
        htpasswd: file.htpasswd,
        tokens,
        users,
    })
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
[[auth.token]]
name = "hashed"
token_sha256 = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
read = ["corp.example.com/*"]
[[auth.user]]
name = "alice"
read = ["corp.example.com/*", "*"]
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
                    },
                    TokenSettings {
                        name: "deploy".into(),
                        secret: TokenSecret::File("/run/secrets/deploy".into()),
                        read: vec![],
                    },
                    TokenSettings {
                        name: "hashed".into(),
                        secret: TokenSecret::Sha256(sha),
                        read: vec!["corp.example.com/*".into()],
                    },
                ],
                users: vec![UserSettings {
                    name: "alice".into(),
                    read: vec!["corp.example.com/*".into(), "*".into()],
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
