//! The settings a prefetch or bundle fetches with when it fills a data directory: modgate's
//! own (flags over `MODGATE_*` over `--config`) over the go command's (`go env`, GOENV file
//! included, read by `crate::goenv`) over the defaults. The go command's GONOSUMDB
//! patterns are added to `nosumdb` (never replacing modgate's); and as the go command
//! fetches GONOPROXY modules straight from their repositories whatever GOPROXY says (its
//! implicit `noproxy` entry, cmd/go/internal/modfetch/proxy.go), a last route sends them
//! to `direct` alone (routes of the settings file come first). That route is not
//! `private`: a GONOPROXY module not also in GONOSUMDB is verified against the checksum
//! database, as the go command verifies it (modfetch/sumdb.go looks at GONOSUMDB only).

use crate::config::{ConfigError, Given, Layers, Origin, Route, ServeArgs, Settings};
use crate::goenv::GoSettings;

/// The go command's settings a fetch acts on, as keys of modgate's settings.
const FROM_GO: [(&str, &str); 3] = [
    ("upstream", "GOPROXY"),
    ("sumdb", "GOSUMDB"),
    ("direct.insecure", "GOINSECURE"),
];

/// Resolves `args` (and `env`, and the file they name) over `go`.
pub fn resolve(
    args: &ServeArgs,
    env: &dyn Fn(&str) -> Option<String>,
    go: &GoSettings,
) -> Result<(Settings, Layers), ConfigError> {
    let below: Vec<Given> = FROM_GO
        .iter()
        .filter(|(_, name)| !go.get(name).is_empty())
        .map(|(path, name)| Given {
            path,
            value: toml::Value::String(go.get(name).to_string()),
            origin: Origin::Go(name.to_string()),
        })
        .collect();
    let (mut s, layers) = Settings::resolve_layers(args, env, below)?;
    let noproxy = go.get("GONOPROXY");
    s.nosumdb = union(&s.nosumdb, go.get("GONOSUMDB"));
    if !noproxy.trim().is_empty() {
        s.routes.push(Route {
            pattern: noproxy.to_string(),
            upstream: "direct".into(),
            private: false,
            read: Vec::new(),
        });
    }
    Ok((s, layers))
}

/// Two GOPRIVATE-syntax pattern lists as one.
fn union(a: &str, b: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for p in a.split(',').chain(b.split(',')).map(str::trim) {
        if !p.is_empty() && !out.contains(&p) {
            out.push(p);
        }
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_go_commands_settings_under_modgates_and_private_kept() {
        let go = crate::goenv::test_settings(&[
            ("GOPROXY", "http://127.0.0.1:1/corp,off"),
            ("GONOPROXY", "github.com/corp"),
            ("GONOSUMDB", "github.com/corp"),
            ("GOSUMDB", "off"),
            ("GOINSECURE", "git.lan"),
        ]);
        let none = |_: &str| None;
        let (s, layers) = resolve(&ServeArgs::default(), &none, &go).unwrap();
        assert_eq!(s.upstream, "http://127.0.0.1:1/corp,off");
        assert_eq!(layers.origin("upstream"), Origin::Go("GOPROXY".into()));
        assert_eq!((s.sumdb.as_str(), s.insecure.as_str()), ("off", "git.lan"));
        // GONOPROXY: straight from the repository; verified unless in GONOSUMDB too.
        assert_eq!(s.private, "");
        assert_eq!(s.nosumdb, "github.com/corp");
        assert_eq!(
            s.routes,
            [Route {
                pattern: "github.com/corp".into(),
                upstream: "direct".into(),
                private: false,
                read: Vec::new(),
            }]
        );
        // modgate's own settings win, but never drop a private pattern.
        let env = |k: &str| match k {
            "MODGATE_UPSTREAM" => Some("http://127.0.0.1:2".to_string()),
            "MODGATE_PRIVATE" => Some("corp.example.com,github.com/corp".to_string()),
            _ => None,
        };
        let (s, layers) = resolve(&ServeArgs::default(), &env, &go).unwrap();
        assert_eq!(s.upstream, "http://127.0.0.1:2");
        assert_eq!(
            layers.origin("upstream"),
            Origin::Env("MODGATE_UPSTREAM".into())
        );
        assert_eq!(s.private, "corp.example.com,github.com/corp");
        assert_eq!(s.nosumdb, "github.com/corp");
        let args = ServeArgs {
            upstream: Some("off".into()),
            ..Default::default()
        };
        assert_eq!(resolve(&args, &env, &go).unwrap().0.upstream, "off");
    }
}
