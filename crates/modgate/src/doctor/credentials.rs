//! Proxy credentials as the go command sends them (cmd/go/internal/web `http.go`,
//! `auth/netrc.go`): the netrc entry whose `machine` is the request's host (with the port
//! when the URL names one), over https only; user and password written in the GOPROXY URL
//! over any scheme. The doctor's probe sends exactly those, and a 401 or 403 is judged from
//! them:
//! no credentials, credentials the go command never sends (http, a machine without the
//! port), or credentials sent and refused.

use std::path::PathBuf;

use super::finding::Finding;
use crate::goenv::GoSettings;
use crate::source::proxy::netrc::{self, Line};

/// The netrc file the go command reads, and its entries.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// `$NETRC`, else `~/.netrc`.
    pub file: Option<PathBuf>,
    /// Its entries, as the go command parses them.
    pub entries: Vec<Line>,
    /// GOAUTH (go 1.24 and later read it; `off` sends nothing).
    pub goauth: String,
}

impl Credentials {
    /// What the go command under `settings` would use.
    pub fn of(settings: &GoSettings) -> Credentials {
        let file = netrc::file(settings.get("NETRC"));
        let entries = file.as_deref().map(netrc::entries).unwrap_or_default();
        Credentials {
            file,
            entries,
            goauth: settings.get("GOAUTH").to_string(),
        }
    }

    fn off(&self) -> bool {
        self.goauth.split(';').any(|a| a.trim() == "off")
    }

    fn shown_file(&self) -> String {
        self.file
            .as_ref()
            .map_or("~/.netrc".into(), |f| f.display().to_string())
    }

    /// The finding for credentials written in an http GOPROXY URL: the go command refuses
    /// to send them, and fails before asking.
    pub fn refused_in_url(url: &str) -> Option<Finding> {
        let rest = url.strip_prefix("http://")?;
        let authority = rest.split('/').next()?;
        let (_, host) = authority.rsplit_once('@')?;
        Some(super::client::problem(
            format!("GOPROXY names http://<credentials>@{host}: credentials in an http URL"),
            "the go command refuses to send credentials over http and fails at once (\"refusing to pass credentials to insecure URL\")",
            &format!(
                "serve {host} over https, then use https://{host} with a netrc line (machine {host})"
            ),
        ))
    }

    /// The netrc entry the go command sends with a request to `url`, if any.
    pub fn sent_for(&self, url: &str) -> Option<&Line> {
        if self.off() || !url.starts_with("https://") {
            return None;
        }
        let host = netrc::request_host(url)?;
        self.entries.iter().find(|l| l.machine == host)
    }

    /// The finding for a 401 or 403 (`status`) from the proxy `url` (the probe
    /// `measured`), judged from what was sent. A 403 to a request that carried no
    /// credentials is what many proxies answer anonymous requests; it may also be a rule
    /// against this machine, which only a request with credentials tells apart, so both
    /// are named, and the fix is the one that does not make things worse (credentials).
    pub fn refused(&self, url: &str, status: u16, measured: String) -> Finding {
        let host = netrc::request_host(url).unwrap_or_default();
        let hostname = match host.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host.as_str(),
        };
        let file = self.shown_file();
        let in_url = url
            .split_once("://")
            .is_some_and(|(_, r)| r.split('/').next().is_some_and(|a| a.contains('@')));
        let forbidden = status == 403;
        // What is refused when nothing was sent.
        let wants = if forbidden {
            "the proxy refuses requests without credentials (many answer 403, not 401, to them) or refuses this machine (a request with credentials tells the two apart)"
        } else {
            "the proxy wants credentials"
        };
        let problem = |measured: String, cause: String, fix: String| {
            super::client::problem(measured, &cause, &fix)
        };
        if self.off() {
            return problem(
                measured,
                format!("{wants}, and GOAUTH=off sends none"),
                "go env -w GOAUTH=netrc".into(),
            );
        }
        let refuses = if forbidden {
            "the proxy knows these credentials but does not let them read modules (a token without read access), or refuses this machine"
        } else {
            "the proxy refuses these credentials (a wrong or expired password or token)"
        };
        if in_url {
            return problem(
                format!("{measured}; the credentials written in the GOPROXY URL were sent"),
                refuses.replace("these credentials", "the user and password in GOPROXY's URL"),
                "put a valid user and token (one with read access) in the URL (go env -w GOPROXY=...)"
                    .into(),
            );
        }
        if let Some(l) = self.sent_for(url) {
            return problem(
                format!(
                    "{measured}; {file} gives machine {} (login {}), and it was sent",
                    l.machine, l.login
                ),
                refuses.into(),
                format!(
                    "replace the password of machine {} in {file} with a valid token that may read modules",
                    l.machine
                ),
            );
        }
        let scheme_http = url.starts_with("http://");
        let entry = self
            .entries
            .iter()
            .find(|l| l.machine == host || l.machine == hostname);
        if scheme_http {
            let had = entry.map_or(String::new(), |l| {
                format!(
                    "; {file} has machine {}, which the go command does not send here",
                    l.machine
                )
            });
            return problem(
                format!("{measured}{had}"),
                format!(
                    "{wants}, and the go command sends none over http: it skips netrc lines there and refuses credentials written in an http URL (\"refusing to pass credentials to insecure URL\")"
                ),
                format!(
                    "serve {host} over https, then give the go command its credentials: printf 'machine {host} login <user> password <token>\\n' >> {file}"
                ),
            );
        }
        if let Some(l) = entry {
            // An entry for the host name, but the go command looks for host:port.
            return problem(
                format!(
                    "{measured}; {file} has machine {}, but the go command looks for machine {host} (the host and port of the URL)",
                    l.machine
                ),
                "the netrc entry does not match the request, so no credentials were sent".into(),
                format!("in {file}, write machine {host} (not {})", l.machine),
            );
        }
        problem(
            format!("{measured}; {file} has no machine {host}"),
            format!("{wants}, and the go command has none for it"),
            format!(
                "printf 'machine {host} login <user> password <token>\\n' >> {file}  (the go command sends it over https)"
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(lines: &[(&str, &str)]) -> Credentials {
        Credentials {
            file: Some("/h/.netrc".into()),
            entries: lines
                .iter()
                .map(|(m, l)| Line {
                    machine: (*m).into(),
                    login: (*l).into(),
                    password: "pw".into(),
                })
                .collect(),
            goauth: String::new(),
        }
    }

    #[test]
    fn credentials_in_an_http_url_are_refused() {
        let f = Credentials::refused_in_url("http://bob:pw@proxy.corp:8080/go").unwrap();
        assert_eq!(
            f.measured,
            "GOPROXY names http://<credentials>@proxy.corp:8080: credentials in an http URL"
        );
        assert!(Credentials::refused_in_url("https://bob:pw@proxy.corp/go").is_none());
        assert!(Credentials::refused_in_url("http://proxy.corp/go").is_none());
    }

    #[test]
    fn what_the_go_command_sends() {
        let c = creds(&[("proxy.corp:8443", "a"), ("plain.corp", "b")]);
        assert_eq!(c.sent_for("https://proxy.corp:8443/go").unwrap().login, "a");
        assert!(c.sent_for("https://proxy.corp/go").is_none());
        assert!(c.sent_for("http://plain.corp/go").is_none());
        assert_eq!(c.sent_for("https://plain.corp/go").unwrap().login, "b");
    }

    #[test]
    fn a_401_is_judged_from_what_was_sent() {
        let m = || "GET x: 401".to_string();
        let c = creds(&[("proxy.corp", "a")]);
        let f = c.refused("https://proxy.corp:8443/go", 401, m());
        assert_eq!(
            f.measured,
            "GET x: 401; /h/.netrc has machine proxy.corp, but the go command looks for machine proxy.corp:8443 (the host and port of the URL)"
        );
        let f = c.refused("http://proxy.corp/go", 401, m());
        assert!(f.cause.contains("sends none over http"), "{}", f.cause);
        assert_eq!(
            f.fix.as_deref(),
            Some(
                "serve proxy.corp over https, then give the go command its credentials: printf 'machine proxy.corp login <user> password <token>\\n' >> /h/.netrc"
            )
        );
        assert!(f.fix_commands().is_empty(), "advice, not a command");
        let f = c.refused("https://proxy.corp/go", 401, m());
        assert!(f.cause.contains("refuses these credentials"), "{}", f.cause);
        let f = creds(&[]).refused("https://proxy.corp/go", 401, m());
        assert_eq!(
            f.fix.as_deref(),
            Some(
                "printf 'machine proxy.corp login <user> password <token>\\n' >> /h/.netrc  (the go command sends it over https)"
            )
        );
    }

    #[test]
    fn a_403_names_both_candidates_until_credentials_tell_them_apart() {
        let m = || "GET x: 403".to_string();
        let f = creds(&[]).refused("https://proxy.corp/go", 403, m());
        assert_eq!(
            f.cause,
            "the proxy refuses requests without credentials (many answer 403, not 401, to them) or refuses this machine (a request with credentials tells the two apart), and the go command has none for it"
        );
        assert_eq!(
            f.fix_commands(),
            vec![
                "printf 'machine proxy.corp login <user> password <token>\\n' >> /h/.netrc"
                    .to_string()
            ]
        );
        let f = creds(&[("proxy.corp", "a")]).refused("https://proxy.corp/go", 403, m());
        assert_eq!(
            f.cause,
            "the proxy knows these credentials but does not let them read modules (a token without read access), or refuses this machine"
        );
        let f = creds(&[]).refused("https://a:b@proxy.corp/go", 403, m());
        assert!(
            f.cause.contains("the user and password in GOPROXY's URL"),
            "{}",
            f.cause
        );
    }
}
