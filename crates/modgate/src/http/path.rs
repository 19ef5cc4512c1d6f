//! Reading a GOPROXY protocol request path: `/<escaped module>/@v/list`,
//! `/<escaped module>/@v/<escaped version>.{info,mod,zip}`, `/<escaped module>/@latest`.
//!
//! Everything is decoded and checked here, before anything touches the disk: percent
//! escapes (the go command never sends them, but `%2e%2e` must not slip through), control
//! characters, the `!` case escaping, and the module path and version rules. The go
//! command never sends a malformed request itself, so those are `400 Bad Request`; a
//! well-formed request for something that cannot exist (a version not valid for the
//! module path, a non-canonical `.mod`/`.zip`) is `404 Not Found`, which keeps the go
//! command's `,` fallback working. A canonical version that is not valid for the module
//! path (`v2.0.0` of a path without `/v2`) is asked of the source all the same: proxy.go
//! asks it too, and an upstream may answer it (its `.info` naming `v2.0.0+incompatible`).

use gomod::module;

use gomod::module::is_canonical;

/// The longest request path accepted (module paths are far shorter in practice).
pub const MAX_PATH: usize = 2048;

/// What a request asks for. Module paths and versions are decoded (no `!` escapes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `GET /healthz`: the process answers.
    Health,
    /// `GET /readyz`: the process can serve (its storage answers).
    Ready,
    /// `GET /metrics`: the Prometheus metrics.
    Metrics,
    /// `@v/list`.
    List {
        /// The module path.
        module: String,
    },
    /// `@latest`.
    Latest {
        /// The module path.
        module: String,
    },
    /// `@v/<query>.info`.
    Info {
        /// The module path.
        module: String,
        /// The version asked for; may be non-canonical (`master`, `v1.2`, a commit).
        query: String,
    },
    /// `@v/<version>.mod`.
    Mod {
        /// The module path.
        module: String,
        /// The version: canonical.
        version: String,
    },
    /// `@v/<version>.zip`.
    Zip {
        /// The module path.
        module: String,
        /// The version: canonical.
        version: String,
    },
    /// `/sumdb/<name>/<file>`: the checksum database proxy (no module path starts with
    /// `sumdb/`, its first element has no dot).
    Sumdb {
        /// `<name>/<file>`.
        path: String,
    },
    /// `/api/v1/<endpoint>`: the operations API (no module path starts with `api/`, its
    /// first element has no dot).
    Api {
        /// `<endpoint>` (`catalog`, ...).
        endpoint: String,
    },
    /// `/ui/<asset>`: the dashboard's page and files (`/ui` too, sent on to `/ui/`).
    Ui {
        /// The file (`""` for the page).
        asset: String,
    },
}

/// A request path that is not answered: the status (400 or 404) and a one-line reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// 400 or 404.
    pub status: u16,
    /// The reason (no newline).
    pub reason: String,
}

fn bad(reason: String) -> Reject {
    Reject {
        status: 400,
        reason: format!("bad request: {reason}"),
    }
}

fn not_found(reason: String) -> Reject {
    Reject {
        status: 404,
        reason: format!("not found: {reason}"),
    }
}

/// Decodes `%XX` escapes (the `percent-encoding` crate); `None` if one is malformed (a
/// `%` not followed by two hex digits), which that crate would leave as it is.
fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let well_formed = b.iter().enumerate().all(|(i, &c)| {
        c != b'%'
            || (b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    well_formed.then(|| percent_encoding::percent_decode(b).collect())
}

/// Go's `%q` of `s`, for messages.
fn q(s: &str) -> String {
    gomod::quote(s)
}

/// Parses the path of a request (as sent, percent escapes and all).
pub fn parse(raw: &str) -> Result<Request, Reject> {
    if raw.len() > MAX_PATH {
        return Err(bad(format!(
            "the path is {} bytes long, over the limit of {MAX_PATH}",
            raw.len()
        )));
    }
    let decoded = percent_decode(raw)
        .ok_or_else(|| bad("malformed percent escape in the path".to_string()))?;
    let path =
        String::from_utf8(decoded).map_err(|_| bad("the path is not valid UTF-8".to_string()))?;
    if path.chars().any(char::is_control) {
        return Err(bad("the path contains a control character".to_string()));
    }
    if path == "/healthz" {
        return Ok(Request::Health);
    }
    if path == "/readyz" {
        return Ok(Request::Ready);
    }
    if path == "/metrics" {
        return Ok(Request::Metrics);
    }
    if let Some(endpoint) = path.strip_prefix("/api/v1/") {
        return Ok(Request::Api {
            endpoint: endpoint.to_string(),
        });
    }
    if path == "/ui" {
        return Ok(Request::Ui {
            asset: "/ui".to_string(),
        });
    }
    if let Some(asset) = path.strip_prefix("/ui/") {
        return Ok(Request::Ui {
            asset: asset.to_string(),
        });
    }
    if let Some(rest) = path.strip_prefix("/sumdb/") {
        return Ok(Request::Sumdb {
            path: rest.to_string(),
        });
    }
    let Some(path) = path.strip_prefix('/') else {
        return Err(bad(format!("the path {} does not start with /", q(&path))));
    };
    let unknown = || {
        not_found(format!(
            "unknown path {}: the GOPROXY protocol serves /<module>/@v/list, /<module>/@v/<version>.info, .mod, .zip and /<module>/@latest",
            q(&format!("/{path}"))
        ))
    };
    let (escaped_module, rest) = if let Some(m) = path.strip_suffix("/@latest") {
        (m, None)
    } else if let Some((m, rest)) = path.split_once("/@v/") {
        (m, Some(rest))
    } else {
        return Err(unknown());
    };
    let module = module::unescape_path(escaped_module).map_err(|e| bad(e.to_string()))?;
    let Some(rest) = rest else {
        return Ok(Request::Latest { module });
    };
    if rest == "list" {
        return Ok(Request::List { module });
    }
    let Some((escaped_version, ext)) = rest.rsplit_once('.') else {
        return Err(unknown());
    };
    if !matches!(ext, "info" | "mod" | "zip") {
        return Err(unknown());
    }
    let version = module::unescape_version(escaped_version).map_err(|e| bad(e.to_string()))?;
    if ext == "info" && !is_canonical(&version) {
        return Ok(Request::Info {
            module,
            query: version,
        });
    }
    if !is_canonical(&version) {
        return Err(not_found(format!(
            "{module}@{version}: .{ext} needs a canonical version; resolve {version} with @v/{escaped_version}.info first"
        )));
    }
    Ok(match ext {
        "info" => Request::Info {
            module,
            query: version,
        },
        "mod" => Request::Mod { module, version },
        _ => Request::Zip { module, version },
    })
}

/// Whether `/api/v1/<endpoint>` is one of the fleet's (warm jobs, bundles), which
/// `warm` tokens may use too (`fleet_api.rs` answers them).
pub(super) fn is_fleet(endpoint: &str) -> bool {
    matches!(endpoint, "warm" | "jobs" | "bundle")
        || endpoint.starts_with("jobs/")
        || endpoint.starts_with("bundles/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(p: &str) -> Request {
        parse(p).unwrap()
    }

    fn err(p: &str) -> (u16, String) {
        let r = parse(p).unwrap_err();
        (r.status, r.reason)
    }

    #[test]
    fn protocol_paths() {
        assert_eq!(ok("/healthz"), Request::Health);
        assert_eq!(ok("/metrics"), Request::Metrics);
        assert_eq!(ok("/readyz"), Request::Ready);
        assert_eq!(ok("/ui/"), Request::Ui { asset: "".into() });
        assert_eq!(
            ok("/ui/ui.js"),
            Request::Ui {
                asset: "ui.js".into()
            }
        );
        assert_eq!(
            ok("/ui"),
            Request::Ui {
                asset: "/ui".into()
            }
        );
        assert_eq!(
            ok("/github.com/!foo/bar/@v/list"),
            Request::List {
                module: "github.com/Foo/bar".into()
            }
        );
        // Some clients percent-encode the `!`.
        assert_eq!(
            ok("/github.com/%21foo/bar/@v/list"),
            Request::List {
                module: "github.com/Foo/bar".into()
            }
        );
        assert_eq!(
            ok("/example.com/m/@latest"),
            Request::Latest {
                module: "example.com/m".into()
            }
        );
        assert_eq!(
            ok("/example.com/m/@v/v1.0.0-!r!c.1.info"),
            Request::Info {
                module: "example.com/m".into(),
                query: "v1.0.0-RC.1".into()
            }
        );
        assert_eq!(
            ok("/example.com/m/@v/master.info"),
            Request::Info {
                module: "example.com/m".into(),
                query: "master".into()
            }
        );
        assert_eq!(
            ok("/example.com/m/v2/@v/v2.1.0.mod"),
            Request::Mod {
                module: "example.com/m/v2".into(),
                version: "v2.1.0".into()
            }
        );
        assert_eq!(
            ok("/example.com/m/@v/v2.0.0+incompatible.zip"),
            Request::Zip {
                module: "example.com/m".into(),
                version: "v2.0.0+incompatible".into()
            }
        );
    }

    #[test]
    fn trick_inputs() {
        assert_eq!(
            err("/example.com/../etc/@v/list"),
            (400, "bad request: invalid escaped module path \"example.com/../etc\": malformed module path \"example.com/../etc\": invalid path element \"..\"".into())
        );
        assert_eq!(
            err("/example.com/%2e%2e/etc/@v/list"),
            (400, "bad request: invalid escaped module path \"example.com/../etc\": malformed module path \"example.com/../etc\": invalid path element \"..\"".into())
        );
        assert_eq!(err("/example.com/m/@v/v1.0.0%00.info").0, 400);
        assert_eq!(
            err("/example.com/m/@v/v1.0.0%00.info").1,
            "bad request: the path contains a control character"
        );
        assert_eq!(
            err("/example.com/m/@v/%zz.info").1,
            "bad request: malformed percent escape in the path"
        );
        assert_eq!(
            err("/github.com/Foo/bar/@v/list"),
            (
                400,
                "bad request: invalid escaped module path \"github.com/Foo/bar\"".into()
            )
        );
        assert_eq!(
            err("/github.com/!!foo/bar/@v/list"),
            (
                400,
                "bad request: invalid escaped module path \"github.com/!!foo/bar\"".into()
            )
        );
        assert_eq!(err(&format!("/{}", "a".repeat(3000))).0, 400);
        assert_eq!(err("/example.com/m/@v/..%2f..%2fx.info").0, 400);
        assert_eq!(
            err("/example.com/m/@v/master.zip"),
            (404, "not found: example.com/m@master: .zip needs a canonical version; resolve master with @v/master.info first".into())
        );
        // A canonical version not valid for the path is asked of the upstream, which
        // may serve it (the go command's test proxy serves rsc.io/quote/@v/v2.0.0.mod).
        assert_eq!(
            ok("/example.com/m/@v/v2.0.0.mod"),
            Request::Mod {
                module: "example.com/m".into(),
                version: "v2.0.0".into()
            }
        );
        assert_eq!(err("/example.com/m/@v/v1.0.0.tar").0, 404);
        assert_eq!(err("/").0, 404);
    }
}
