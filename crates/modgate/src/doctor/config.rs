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
use super::routing::{Route, route};
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

/// Whether the proxy `url` is one's own: a host name that looks private, or a loopback,
/// private or link-local address.
fn own_proxy(url: &str) -> bool {
    let Some(host) = crate::source::proxy::netrc::request_host(url) else {
        return false;
    };
    let bare = match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host.as_str(),
    };
    let bare = bare.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => a.is_loopback() || a.is_private() || a.is_link_local(),
        Ok(std::net::IpAddr::V6(a)) => {
            a.is_loopback() || (a.segments()[0] & 0xfe00) == 0xfc00 || a.is_unicast_link_local()
        }
        Err(_) => looks_private(bare),
    }
}

/// The configuration findings for `settings` and the project's `modules`.
pub fn check(settings: &GoSettings, modules: &[String]) -> Checked {
    let mut out = Checked::default();
    for f in global(settings) {
        out.find(f);
    }
    let mut over = OverBroad::new();
    for m in modules {
        let Ok(r) = route(settings, m) else { continue };
        if let Some(f) = leak(settings, m, &r) {
            out.find(f);
        } else if looks_public(m) && match_prefix_patterns(settings.get("GOINSECURE"), m) {
            out.find(cfg(
                Severity::Warning,
                format!("{m} matches GOINSECURE={}", settings.get("GOINSECURE")),
                "a public module may be fetched over plain HTTP or from a server whose certificate is not checked",
                Some("go env -w GOINSECURE=<only the hosts that need it>".into()),
            ));
        } else if looks_public(m) {
            // A pattern meant for private modules that also covers public ones.
            if r.sumdb.is_none() && settings.get("GOSUMDB").trim() != "off" {
                note_over_broad(&mut over, settings, "GONOSUMDB", m);
            }
            if r.direct_because.is_some() {
                note_over_broad(&mut over, settings, "GONOPROXY", m);
            }
        }
    }
    for ((setting, pattern), ms) in over {
        out.find(over_broad(settings, setting, &pattern, &ms));
    }
    out
}

/// A configuration finding.
fn cfg(severity: Severity, measured: String, cause: &str, fix: Option<String>) -> Finding {
    Finding {
        group: Group::Configuration,
        severity,
        measured,
        cause: cause.to_string(),
        fix,
    }
}

/// The findings of the settings alone: GOPROXY, GIT_TERMINAL_PROMPT, GO111MODULE,
/// GOSUMDB.
fn global(settings: &GoSettings) -> Vec<Finding> {
    let mut out = Vec::new();
    let goproxy = settings.get("GOPROXY").trim().to_string();
    let default_list = || Some("go env -w GOPROXY=https://proxy.golang.org,direct".to_string());
    match crate::source::chain::parse_list(&goproxy) {
        Err(e) => out.push(cfg(
            Severity::Problem,
            format!("GOPROXY={goproxy}"),
            &format!("the go command cannot use this list: {e}"),
            default_list(),
        )),
        Ok(list) if matches!(list.first(), Some((Entry::Off, _))) => out.push(cfg(
            Severity::Problem,
            format!("GOPROXY={goproxy}"),
            "module downloads are disabled: every module not already in the cache fails",
            default_list(),
        )),
        Ok(list) if matches!(list.first(), Some((Entry::Direct, _))) => out.push(cfg(
            Severity::Warning,
            format!("GOPROXY={goproxy}"),
            "every module is fetched from its version control system: slow, and it needs git and network access to every host",
            default_list(),
        )),
        _ => {}
    }
    if settings.get("GIT_TERMINAL_PROMPT").trim() == "1" {
        out.push(cfg(
            Severity::Warning,
            "GIT_TERMINAL_PROMPT=1".into(),
            "the go command then lets git ask for a user name and password at the terminal: without one (CI, an editor) the download hangs there",
            Some(format!(
                "{}  (and give git credentials: a helper or ~/.netrc)",
                super::commands::unset_env("GIT_TERMINAL_PROMPT")
            )),
        ));
    }
    if settings.get("GO111MODULE").trim() == "off" {
        out.push(cfg(
            Severity::Problem,
            "GO111MODULE=off".into(),
            "module mode is off: the go command ignores go.mod and GOPROXY and builds from GOPATH",
            Some("go env -u GO111MODULE".into()),
        ));
    }
    if settings.get("GOSUMDB").trim() == "off" {
        out.push(cfg(
            Severity::Warning,
            "GOSUMDB=off".into(),
            "no module is checked against the checksum database: a tampered module would be accepted",
            Some("go env -u GOSUMDB".into()),
        ));
    }
    out
}

/// `list` with `host` added (a comma-separated list of patterns).
fn with(list: &str, host: &str) -> String {
    match list {
        "" => host.to_string(),
        l => format!("{l},{host}"),
    }
}

/// The finding for module `m` on route `r` whose name leaks where it should not go: a
/// GONOPROXY module still looked up in the database, or a module whose host is no public
/// name sent to a public proxy or to the database.
fn leak(settings: &GoSettings, m: &str, r: &Route) -> Option<Finding> {
    let host = m.split('/').next().unwrap_or(m);
    if let (Some(noproxy), Some(db)) = (&r.direct_because, &r.sumdb) {
        return Some(cfg(
            Severity::Problem,
            format!("{m} matches GONOPROXY={noproxy} but not GONOSUMDB"),
            &format!(
                "it is fetched direct as a private module, yet looked up in {db}: its name leaks there, and the go command fails with \"verifying module: ... 404 Not Found\" (or 410 Gone)"
            ),
            Some(format!(
                "go env -w GONOSUMDB={}  (or set GOPRIVATE, which covers both)",
                with(settings.get("GONOSUMDB"), host)
            )),
        ));
    }
    if !looks_private(m) {
        return None;
    }
    let not_public = format!(
        "{host} is not a name on the public internet (no dot, or a suffix kept for private networks): no public proxy or checksum database can have {m}"
    );
    // Proxies of one's own (a private name or address) are where such a module is meant
    // to go: only a public proxy or the database leaks it, and GOPRIVATE would send it
    // around one's own proxy too.
    let (own, public): (Vec<&str>, Vec<&str>) = r.proxies().partition(|u| own_proxy(u));
    if !public.is_empty() {
        let mut to = public.join(", ");
        if let Some(db) = &r.sumdb {
            to.push_str(" and ");
            to.push_str(db);
        }
        return Some(cfg(
            Severity::Problem,
            format!("{m} is not covered by GOPRIVATE, GONOPROXY or GONOSUMDB"),
            &format!("{not_public}; its name will be sent to {to}"),
            Some(format!(
                "go env -w GOPRIVATE={}",
                with(settings.get("GOPRIVATE"), host)
            )),
        ));
    }
    let db = r.sumdb.as_ref()?;
    let fix = format!(
        "go env -w GONOSUMDB={}",
        with(settings.get("GONOSUMDB"), host)
    );
    let (via, fix) = if own.is_empty() {
        (String::new(), fix)
    } else {
        let own = own.join(", ");
        (
            format!("; it is fetched through {own} (yours: a private name or address)"),
            format!("{fix}  (GOPRIVATE would also send it around {own})"),
        )
    };
    Some(cfg(
        Severity::Problem,
        format!("{m} is not covered by GOPRIVATE or GONOSUMDB{via}"),
        &format!(
            "{not_public}; the go command will look it up in {db}: its name leaks there, and the download fails (\"verifying module: ... 404 Not Found\" or 410 Gone)"
        ),
        Some(fix),
    ))
}

/// Modules of public hosts a pattern covers, by (setting, pattern).
type OverBroad = std::collections::BTreeMap<(&'static str, String), Vec<String>>;

/// Adds `m` under the first pattern of `setting` that matches it.
fn note_over_broad(over: &mut OverBroad, settings: &GoSettings, setting: &'static str, m: &str) {
    let list = settings.get(setting);
    if let Some(p) = list
        .split(',')
        .map(str::trim)
        .find(|p| !p.is_empty() && match_prefix_patterns(p, m))
    {
        over.entry((setting, p.to_string()))
            .or_default()
            .push(m.to_string());
    }
}

/// The finding for `pattern` of `setting` covering the public-looking modules `ms`: which
/// setting to edit (GOPRIVATE when the pattern comes from it) and the list without it.
fn over_broad(settings: &GoSettings, setting: &str, pattern: &str, ms: &[String]) -> Finding {
    const SHOWN: usize = 3;
    let mut named = ms
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if ms.len() > SHOWN {
        named.push_str(&format!(" and {} more", ms.len() - SHOWN));
    }
    // GONOPROXY and GONOSUMDB default to GOPRIVATE: edit the setting the pattern is in.
    let private = settings.get("GOPRIVATE");
    let from_private = settings.get(setting) == private && !private.is_empty();
    let edit = if from_private { "GOPRIVATE" } else { setting };
    let rest: Vec<&str> = settings
        .get(edit)
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty() && *p != pattern)
        .collect();
    let fix = if rest.is_empty() {
        format!("go env -u {edit}")
    } else {
        format!("go env -w {edit}={}", rest.join(","))
    };
    let (what, cause) = if setting == "GONOSUMDB" {
        (
            "not checked against the checksum database",
            "a pattern meant for private modules also covers public ones: their downloads are not verified, so a tampered copy would be accepted",
        )
    } else {
        (
            "fetched direct from their repositories, around the proxy",
            "a pattern meant for private modules also covers public ones: they are fetched with git from their hosts (slower, and it needs access to every host), not through the proxy",
        )
    };
    let via = if from_private {
        format!("{setting} (from GOPRIVATE)")
    } else {
        setting.to_string()
    };
    Finding {
        group: Group::Configuration,
        severity: Severity::Warning,
        measured: format!(
            "the {via} pattern {pattern} covers {} module(s) on public hosts, {what}: {named}",
            ms.len()
        ),
        cause: cause.into(),
        fix: Some(format!(
            "{fix}  (and list the private patterns only; check that {pattern} has no private module)"
        )),
    }
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
                cause: "git.corp.local is not a name on the public internet (no dot, or a suffix kept for private networks): no public proxy or checksum database can have git.corp.local/team/lib; its name will be sent to https://proxy.golang.org and sum.golang.org".into(),
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
            f[1].measured,
            "git.corp.local/team/lib is not covered by GOPRIVATE or GONOSUMDB"
        );
        assert!(
            f[1].cause
                .ends_with("the go command will look it up in sum.golang.org: its name leaks there, and the download fails (\"verifying module: ... 404 Not Found\" or 410 Gone)"),
            "{}",
            f[1].cause
        );
        assert_eq!(
            f[1].fix.as_deref(),
            Some("go env -w GONOSUMDB=git.corp.local")
        );
    }

    #[test]
    fn a_private_module_through_ones_own_proxy_only_leaks_to_the_database() {
        for own in [
            "https://athens.corp",
            "http://10.1.2.3:3000",
            "http://127.0.0.1:3000",
            "http://[fd00::1]:3000",
            "https://goproxy",
        ] {
            let s = settings(&[("GOPROXY", &format!("{own},direct"))]);
            let f = check(&s, &mods(&["git.corp.local/team/lib"])).findings;
            assert_eq!(f.len(), 1, "{own}: {f:#?}");
            assert_eq!(
                f[0].measured,
                format!(
                    "git.corp.local/team/lib is not covered by GOPRIVATE or GONOSUMDB; it is fetched through {own} (yours: a private name or address)"
                )
            );
            assert_eq!(
                f[0].fix.as_deref(),
                Some(
                    format!("go env -w GONOSUMDB=git.corp.local  (GOPRIVATE would also send it around {own})")
                        .as_str()
                )
            );
        }
        // A public proxy after one's own still hears the name (after a 404).
        let s = settings(&[(
            "GOPROXY",
            "https://athens.corp,https://proxy.golang.org,direct",
        )]);
        let f = check(&s, &mods(&["git.corp.local/team/lib"])).findings;
        assert_eq!(
            f[0].fix.as_deref(),
            Some("go env -w GOPRIVATE=git.corp.local")
        );
        assert!(
            f[0].cause
                .ends_with("will be sent to https://proxy.golang.org and sum.golang.org")
        );
        // Nothing leaks with GOSUMDB off through one's own proxy.
        let s = settings(&[("GOPROXY", "https://athens.corp"), ("GOSUMDB", "off")]);
        let f = check(&s, &mods(&["git.corp.local/team/lib"])).findings;
        assert!(
            f.iter()
                .all(|f| !f.measured.contains("git.corp.local/team/lib")),
            "{f:#?}"
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
            &settings(&[("GONOSUMDB", "github.com,git.corp.local")]),
            &mods(&["github.com/pkg/errors"]),
        )
        .findings;
        assert_eq!(
            (f[0].severity, f[0].measured.as_str(), f[0].fix.as_deref()),
            (
                Severity::Warning,
                "the GONOSUMDB pattern github.com covers 1 module(s) on public hosts, not checked against the checksum database: github.com/pkg/errors",
                Some(
                    "go env -w GONOSUMDB=git.corp.local  (and list the private patterns only; check that github.com has no private module)"
                )
            )
        );
        // One finding per pattern, whatever the number of modules; GOPRIVATE is the one to
        // edit when the pattern comes from it.
        let f = check(
            &settings(&[
                ("GOPRIVATE", "github.com/*"),
                ("GONOPROXY", "github.com/*"),
                ("GONOSUMDB", "github.com/*"),
            ]),
            &mods(&[
                "github.com/a/b",
                "github.com/c/d",
                "github.com/e/f",
                "github.com/g/h",
            ]),
        )
        .findings;
        assert_eq!(f.len(), 2, "{f:#?}");
        assert_eq!(
            f[0].measured,
            "the GONOPROXY (from GOPRIVATE) pattern github.com/* covers 4 module(s) on public hosts, fetched direct from their repositories, around the proxy: github.com/a/b, github.com/c/d, github.com/e/f and 1 more"
        );
        assert_eq!(f[1].fix_commands(), ["go env -u GOPRIVATE"]);
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
