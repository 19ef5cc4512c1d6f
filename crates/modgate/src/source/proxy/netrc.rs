//! Upstream credentials from the netrc file, read as the go command reads it for https
//! GOPROXY hosts (cmd/go/internal/auth/netrc.go, matched against the URL's `host[:port]`): `$NETRC`, else `~/.netrc`; `machine`, `login`,
//! `password` tokens; `macdef` bodies skipped; nothing after `default`; the first entry
//! for a host wins.

use std::path::PathBuf;

/// A netrc entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The host.
    pub machine: String,
    /// The user name.
    pub login: String,
    /// The password.
    pub password: String,
}

/// Parses netrc text as the go command does: tokens taken in pairs per line, an entry
/// complete once it has machine, login and password, `macdef` skipping the lines after
/// it up to an empty one, and nothing read after a line that ends in `default`.
pub fn parse(data: &str) -> Vec<Line> {
    let empty = || Line {
        machine: String::new(),
        login: String::new(),
        password: String::new(),
    };
    let mut out = Vec::new();
    let mut cur = empty();
    let mut in_macro = false;
    for line in data.split('\n') {
        if in_macro {
            if line.is_empty() {
                in_macro = false;
            }
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let mut i = 0;
        while i + 1 < f.len() {
            let val = f[i + 1];
            match f[i] {
                "machine" => {
                    cur = Line {
                        machine: val.to_string(),
                        ..empty()
                    }
                }
                "login" => cur.login = val.to_string(),
                "password" => cur.password = val.to_string(),
                "macdef" => in_macro = true,
                _ => {}
            }
            if !cur.machine.is_empty() && !cur.login.is_empty() && !cur.password.is_empty() {
                out.push(std::mem::replace(&mut cur, empty()));
            }
            i += 2;
        }
        if f.get(i) == Some(&"default") {
            break;
        }
    }
    out
}

/// The netrc file: `$NETRC`, else `.netrc` in the home directory (`_netrc` on Windows).
fn path() -> Option<PathBuf> {
    file(&std::env::var("NETRC").unwrap_or_default())
}

/// The netrc file the go command reads given the NETRC setting `netrc`: it, else
/// `$HOME/.netrc` (Windows: `%USERPROFILE%\_netrc`).
pub fn file(netrc: &str) -> Option<PathBuf> {
    use crate::platform::path::{HOME_VAR, NETRC_NAME};
    if !netrc.is_empty() {
        return Some(PathBuf::from(netrc));
    }
    std::env::var_os(HOME_VAR).map(|h| PathBuf::from(h).join(NETRC_NAME))
}

/// The entries of the netrc file `path` (none when it cannot be read).
pub fn entries(path: &std::path::Path) -> Vec<Line> {
    std::fs::read_to_string(path)
        .map(|d| parse(&d))
        .unwrap_or_default()
}

/// What the go command matches netrc `machine` names against for `url` (`req.Host`: the
/// host, and the port when the URL names one), as written in the URL.
pub fn request_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    (!host.is_empty()).then(|| host.to_string())
}

/// The login and password the netrc file gives `host` (the first entry for it), if any.
pub fn lookup(host: &str) -> Option<(String, String)> {
    let data = std::fs::read_to_string(path()?).ok()?;
    parse(&data)
        .into_iter()
        .find(|l| l.machine == host)
        .map(|l| (l.login, l.password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_hosts() {
        assert_eq!(
            request_host("https://proxy.corp:8443/go/").as_deref(),
            Some("proxy.corp:8443")
        );
        assert_eq!(
            request_host("https://u:p@proxy.corp/go").as_deref(),
            Some("proxy.corp")
        );
        assert_eq!(
            request_host("http://[::1]:3000").as_deref(),
            Some("[::1]:3000")
        );
        assert_eq!(request_host("direct"), None);
    }

    #[test]
    fn like_the_go_command() {
        // cmd/go/internal/auth/netrc_test.go.
        let text = "\nmachine incomplete\npassword none\n\nmachine api.github.com\n  login user\n  password pwd\n\nmachine incomlete.host\n  login justlogin\n\nmachine test.host\nlogin user2\npassword pwd2\n\nmachine oneline login user3 password pwd3\n\nmachine ignore.host macdef ignore\n  login nobody\n  password nothing\n\nmachine hasmacro.too macdef ignore-next-lines login user4 password pwd4\n  login nobody\n  password nothing\n\ndefault\nlogin anonymous\npassword gopher@golang.org\n\nmachine after.default\nlogin oops\npassword too-late-in-file\n";
        let got: Vec<(String, String, String)> = parse(text)
            .into_iter()
            .map(|l| (l.machine, l.login, l.password))
            .collect();
        let want: Vec<(String, String, String)> = [
            ("api.github.com", "user", "pwd"),
            ("test.host", "user2", "pwd2"),
            ("oneline", "user3", "pwd3"),
            ("hasmacro.too", "user4", "pwd4"),
        ]
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
        assert_eq!(got, want);
    }
}
