//! Where the go command will fetch a module from, and whether it will ask the checksum
//! database about it (cmd/go/internal/modfetch: `proxy.go` `TryProxies`, `sumdb.go`
//! `useSumDB`): a module matching GONOPROXY goes `direct` only; else the GOPROXY entries in
//! order, `,` falling through on 404/410 and `|` on any error. The database is asked about
//! every module not matching GONOSUMDB, unless GOSUMDB is `off`.

use gomod::module::match_prefix_patterns;

use crate::goenv::GoSettings;
use crate::source::chain::{Entry, parse_list};

/// How one module will be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The module path.
    pub module: String,
    /// The entries tried, in order, each with whether any error falls through (`|`).
    pub entries: Vec<(Entry, bool)>,
    /// Why only `direct` is used (the GONOPROXY pattern list), when it is.
    pub direct_because: Option<String>,
    /// The checksum database asked about it, if any.
    pub sumdb: Option<String>,
}

impl Route {
    /// Whether any entry is a proxy URL (the module's name leaves the machine to it).
    pub fn proxies(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().filter_map(|(e, _)| match e {
            Entry::Url(u) => Some(u.as_str()),
            _ => None,
        })
    }
}

impl Route {
    /// The route in words: the entries in order, how the go command moves from each to
    /// the next, and whether the checksum database is asked.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for (i, (e, _)) in self.entries.iter().enumerate() {
            if i > 0 {
                let (_, prev_any) = self.entries[i - 1];
                s.push_str(if prev_any {
                    ", on any error "
                } else {
                    ", on 404/410 "
                });
            }
            s.push_str(&e.to_string());
        }
        if let Some(why) = &self.direct_because {
            s.push_str(&format!(" (GONOPROXY={why})"));
        }
        match &self.sumdb {
            Some(db) => s.push_str(&format!("; checked in {db}")),
            None => s.push_str("; not checked in a checksum database"),
        }
        s
    }
}

/// Why a module has no route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// GOPROXY is not a list the go command takes (`source::chain::parse_list`'s words).
    #[error("GOPROXY: {0}")]
    Goproxy(#[source] crate::source::proxy::UpstreamError),
}

/// The route of `module` under `settings`.
pub fn route(settings: &GoSettings, module: &str) -> Result<Route, Error> {
    let noproxy = settings.get("GONOPROXY");
    let (entries, direct_because) = if match_prefix_patterns(noproxy, module) {
        (vec![(Entry::Direct, false)], Some(noproxy.to_string()))
    } else {
        (
            parse_list(settings.get("GOPROXY")).map_err(Error::Goproxy)?,
            None,
        )
    };
    let gosumdb = settings.get("GOSUMDB").trim();
    let sumdb = (gosumdb != "off" && !match_prefix_patterns(settings.get("GONOSUMDB"), module))
        .then(|| {
            gosumdb
                .split_whitespace()
                .next()
                .map(|k| k.split('+').next().unwrap_or(k).to_string())
                .unwrap_or_default()
        });
    Ok(Route {
        module: module.to_string(),
        entries,
        direct_because,
        sumdb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goenv::test_settings;

    fn settings(pairs: &[(&str, &str)]) -> GoSettings {
        test_settings(pairs)
    }

    #[test]
    fn routes_as_the_go_command_takes_them() {
        let s = settings(&[
            ("GOPROXY", "https://a.example|https://b.example,direct"),
            ("GONOPROXY", "corp.example.com"),
            ("GONOSUMDB", "corp.example.com,*.lan"),
        ]);
        let r = route(&s, "github.com/pkg/errors").unwrap();
        assert_eq!(
            r.entries,
            [
                (Entry::Url("https://a.example".into()), true),
                (Entry::Url("https://b.example".into()), false),
                (Entry::Direct, false)
            ]
        );
        assert_eq!(r.sumdb.as_deref(), Some("sum.golang.org"));
        assert_eq!(
            r.describe(),
            "https://a.example, on any error https://b.example, on 404/410 direct; checked in sum.golang.org"
        );
        assert_eq!(
            r.proxies().collect::<Vec<_>>(),
            ["https://a.example", "https://b.example"]
        );
        let r = route(&s, "corp.example.com/team/lib").unwrap();
        assert_eq!(r.entries, [(Entry::Direct, false)]);
        assert_eq!(r.direct_because.as_deref(), Some("corp.example.com"));
        assert_eq!(
            r.describe(),
            "direct (GONOPROXY=corp.example.com); not checked in a checksum database"
        );
        assert_eq!(r.sumdb, None);
        assert_eq!(route(&s, "git.lan/x").unwrap().sumdb, None);
        let off = settings(&[("GOSUMDB", "off")]);
        assert_eq!(route(&off, "github.com/pkg/errors").unwrap().sumdb, None);
        let keyed = settings(&[(
            "GOSUMDB",
            "sum.example.com+01234567+AAAA https://db.example",
        )]);
        assert_eq!(
            route(&keyed, "github.com/x/y").unwrap().sumdb.as_deref(),
            Some("sum.example.com")
        );
        let e = route(&settings(&[("GOPROXY", "ftp://x")]), "a.example/m").unwrap_err();
        assert!(matches!(e, Error::Goproxy(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            "GOPROXY: invalid proxy URL scheme (must be https, http, file): ftp://x"
        );
    }
}
