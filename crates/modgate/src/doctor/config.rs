//! Configuration findings: what the settings and the project's modules mean for where
//! module names go and how downloads are checked, before anything is fetched.
//!
//! - `GOPROXY=off`: every download fails; `direct` alone: every module from its VCS.
//! - `GOSUMDB=off`: public modules are not checked against the checksum database.
//! - A module that looks private (its host is not a known public code host and has no
//!   public-looking name: `.local`, `.lan`, `.internal`, `.corp`, a host without a dot)
//!   that will be sent to a proxy or looked up in the checksum database: its name leaks.
//! - A public module (on a known public host) covered by GONOSUMDB or GOPRIVATE: its
//!   downloads are not verified.

use gomod::module::match_prefix_patterns;

use super::checked::Checked;
use super::finding::{Finding, Group, Severity};
use super::routing::route;
use crate::goenv::GoSettings;
use crate::source::chain::Entry;

/// Hosts whose modules are public (the go command's static table and the big forges).
const PUBLIC_HOSTS: [&str; 9] = [
    "github.com",
    "bitbucket.org",
    "gitlab.com",
    "golang.org",
    "google.golang.org",
    "gopkg.in",
    "go.uber.org",
    "k8s.io",
    "cloud.google.com",
];

/// Whether `module` is on a known public host.
pub fn looks_public(module: &str) -> bool {
    let host = module.split('/').next().unwrap_or_default();
    PUBLIC_HOSTS.contains(&host)
}

/// Whether `module`'s host looks like one inside an organisation.
pub fn looks_private(module: &str) -> bool {
    let host = module.split('/').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or(host);
    !host.contains('.')
        || [
            ".local",
            ".lan",
            ".internal",
            ".corp",
            ".intranet",
            ".home.arpa",
            ".localdomain",
        ]
        .iter()
        .any(|s| host.ends_with(s))
}

/// The configuration findings for `settings` and the project's `modules`.
pub fn check(settings: &GoSettings, modules: &[String]) -> Checked {
    let mut out = Checked::default();
    let goproxy = settings.get("GOPROXY").trim().to_string();
    let cfg = |severity, measured: String, cause: &str, fix: Option<String>| Finding {
        group: Group::Configuration,
        severity,
        measured,
        cause: cause.to_string(),
        fix,
    };
    let entries = crate::source::chain::parse_list(&goproxy);
    match &entries {
        Err(e) => out.find(cfg(
            Severity::Problem,
            format!("GOPROXY={goproxy}"),
            &format!("the go command cannot use this list: {e}"),
            Some("go env -w GOPROXY=https://proxy.golang.org,direct".into()),
        )),
        Ok(list) if matches!(list.first(), Some((Entry::Off, _))) => out.find(cfg(
            Severity::Problem,
            format!("GOPROXY={goproxy}"),
            "module downloads are disabled: every module not already in the cache fails",
            Some("go env -w GOPROXY=https://proxy.golang.org,direct".into()),
        )),
        Ok(list) if matches!(list.first(), Some((Entry::Direct, _))) => out.find(cfg(
            Severity::Warning,
            format!("GOPROXY={goproxy}"),
            "every module is fetched from its version control system: slow, and it needs git and network access to every host",
            Some("go env -w GOPROXY=https://proxy.golang.org,direct".into()),
        )),
        _ => {}
    }
    if settings.get("GIT_TERMINAL_PROMPT").trim() == "1" {
        out.find(cfg(
            Severity::Warning,
            "GIT_TERMINAL_PROMPT=1".into(),
            "the go command then lets git ask for a user name and password at the terminal: without one (CI, an editor) the download hangs there",
            Some("unset GIT_TERMINAL_PROMPT  (and give git credentials: a helper or ~/.netrc)".into()),
        ));
    }
    if settings.get("GO111MODULE").trim() == "off" {
        out.find(cfg(
            Severity::Problem,
            "GO111MODULE=off".into(),
            "module mode is off: the go command ignores go.mod and GOPROXY and builds from GOPATH",
            Some("go env -u GO111MODULE".into()),
        ));
    }
    if settings.get("GOSUMDB").trim() == "off" {
        out.find(cfg(
            Severity::Warning,
            "GOSUMDB=off".into(),
            "no module is checked against the checksum database: a tampered module would be accepted",
            Some("go env -u GOSUMDB".into()),
        ));
    }
    for m in modules {
        let Ok(r) = route(settings, m) else { continue };
        if let (Some(noproxy), Some(db)) = (&r.direct_because, &r.sumdb) {
            let host = m.split('/').next().unwrap_or(m);
            out.find(cfg(
                Severity::Problem,
                format!("{m} matches GONOPROXY={noproxy} but not GONOSUMDB"),
                &format!(
                    "it is fetched direct as a private module, yet looked up in {db}: its name leaks there, and the go command fails with \"verifying module: ... 404 Not Found\" (or 410 Gone)"
                ),
                Some(match settings.get("GONOSUMDB") {
                    "" => format!("go env -w GONOSUMDB={host}  (or set GOPRIVATE, which covers both)"),
                    n => format!("go env -w GONOSUMDB={n},{host}  (or set GOPRIVATE, which covers both)"),
                }),
            ));
            continue;
        }
        if looks_private(m) {
            let host = m.split('/').next().unwrap_or(m);
            let proxies: Vec<&str> = r.proxies().collect();
            if !proxies.is_empty() || r.sumdb.is_some() {
                let mut to = proxies.join(", ");
                if let Some(db) = &r.sumdb {
                    if !to.is_empty() {
                        to.push_str(" and ");
                    }
                    to.push_str(db);
                }
                let private = settings.get("GOPRIVATE");
                let fix = if private.is_empty() {
                    format!("go env -w GOPRIVATE={host}")
                } else {
                    format!("go env -w GOPRIVATE={private},{host}")
                };
                out.find(cfg(
                    Severity::Problem,
                    format!("{m} is not covered by GOPRIVATE, GONOPROXY or GONOSUMDB"),
                    &format!("it looks private, and its name will be sent to {to}"),
                    Some(fix),
                ));
            }
        } else if looks_public(m) && match_prefix_patterns(settings.get("GOINSECURE"), m) {
            out.find(cfg(
                Severity::Warning,
                format!("{m} matches GOINSECURE={}", settings.get("GOINSECURE")),
                "a public module may be fetched over plain HTTP or from a server whose certificate is not checked",
                Some("go env -w GOINSECURE=<only the hosts that need it>".into()),
            ));
        } else if looks_public(m) && r.sumdb.is_none() && settings.get("GOSUMDB").trim() != "off" {
            let pattern = settings.get("GONOSUMDB");
            out.find(cfg(
                Severity::Warning,
                format!("{m} matches GONOSUMDB={pattern}"),
                "a public module is not checked against the checksum database",
                Some("go env -w GONOSUMDB=<the private patterns only>".into()),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goenv::test_settings;

    fn settings(pairs: &[(&str, &str)]) -> GoSettings {
        test_settings(pairs)
    }

    fn mods(m: &[&str]) -> Vec<String> {
        m.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_healthy_set_up_has_no_finding() {
        let s = settings(&[
            ("GOPRIVATE", "git.corp.local"),
            ("GONOPROXY", "git.corp.local"),
            ("GONOSUMDB", "git.corp.local"),
        ]);
        assert_eq!(
            check(
                &s,
                &mods(&["github.com/pkg/errors", "git.corp.local/team/lib"])
            )
            .findings,
            []
        );
    }

    #[test]
    fn a_private_module_that_would_leak() {
        let f = check(&settings(&[]), &mods(&["git.corp.local/team/lib"])).findings;
        assert_eq!(
            f,
            [Finding {
                group: Group::Configuration,
                severity: Severity::Problem,
                measured: "git.corp.local/team/lib is not covered by GOPRIVATE, GONOPROXY or GONOSUMDB".into(),
                cause: "it looks private, and its name will be sent to https://proxy.golang.org and sum.golang.org".into(),
                fix: Some("go env -w GOPRIVATE=git.corp.local".into()),
            }]
        );
        // Covered for the proxy but not for the database: still leaks to the database.
        let s = settings(&[
            ("GOPRIVATE", "x.example"),
            ("GONOPROXY", "git.corp.local"),
            ("GONOSUMDB", "x.example"),
        ]);
        let f = check(&s, &mods(&["git.corp.local/team/lib"])).findings;
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].measured,
            "git.corp.local/team/lib matches GONOPROXY=git.corp.local but not GONOSUMDB"
        );
        assert_eq!(
            f[0].fix.as_deref(),
            Some(
                "go env -w GONOSUMDB=x.example,git.corp.local  (or set GOPRIVATE, which covers both)"
            )
        );
        // Covered by neither list but GOPROXY is direct: it still leaks to the database.
        let s = settings(&[("GOPROXY", "direct")]);
        let f = check(&s, &mods(&["git.corp.local/team/lib"])).findings;
        assert_eq!(
            f[1].cause,
            "it looks private, and its name will be sent to sum.golang.org"
        );
        assert_eq!(
            f[1].fix.as_deref(),
            Some("go env -w GOPRIVATE=git.corp.local")
        );
    }

    #[test]
    fn weakened_or_disabled_downloads() {
        let f = check(&settings(&[("GOPROXY", "off")]), &[]).findings;
        assert_eq!(
            (f[0].severity, f[0].measured.as_str()),
            (Severity::Problem, "GOPROXY=off")
        );
        let f = check(&settings(&[("GOPROXY", "direct")]), &[]).findings;
        assert_eq!(
            (f[0].severity, f[0].measured.as_str()),
            (Severity::Warning, "GOPROXY=direct")
        );
        let f = check(&settings(&[("GOSUMDB", "off")]), &[]).findings;
        assert_eq!(f[0].fix.as_deref(), Some("go env -u GOSUMDB"));
        let f = check(
            &settings(&[("GONOSUMDB", "github.com")]),
            &mods(&["github.com/pkg/errors"]),
        )
        .findings;
        assert_eq!(
            (f[0].severity, f[0].measured.as_str()),
            (
                Severity::Warning,
                "github.com/pkg/errors matches GONOSUMDB=github.com"
            )
        );
        let f = check(&settings(&[("GIT_TERMINAL_PROMPT", "1")]), &[]).findings;
        assert_eq!(
            (f[0].severity, f[0].measured.as_str()),
            (Severity::Warning, "GIT_TERMINAL_PROMPT=1")
        );
        let f = check(&settings(&[("GO111MODULE", "off")]), &[]).findings;
        assert_eq!(
            (f[0].severity, f[0].fix.as_deref()),
            (Severity::Problem, Some("go env -u GO111MODULE"))
        );
        let f = check(
            &settings(&[("GOINSECURE", "github.com")]),
            &mods(&["github.com/pkg/errors"]),
        )
        .findings;
        assert_eq!(
            f[0].measured,
            "github.com/pkg/errors matches GOINSECURE=github.com"
        );
        let f = check(&settings(&[("GOPROXY", "ftp://x")]), &[]).findings;
        assert_eq!(
            f[0].cause,
            "the go command cannot use this list: invalid proxy URL scheme (must be https, http, file): ftp://x"
        );
    }
}
