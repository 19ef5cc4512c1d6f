//! The GOPROXY list the traced command gets: each HTTP(S) proxy of its own list replaced
//! by a path of the recorder that relays to it. The list is parsed as the go command
//! parses it (`source::chain::parse_list`: entries, the separator after each, the list
//! ending at `direct` or `off`), so the rewritten list has the same entries in the same
//! order with the same separators, and the go command's rules (`,`: on to the next entry
//! after a 404 or 410 only; `|`: after any error) still decide.

use crate::source::chain::{Entry, parse_list};

/// The rewritten list and the proxies the recorder relays to, by index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    /// For the traced command's `GOPROXY`.
    pub goproxy: String,
    /// `upstreams[N]` is what `RECORDER/p/N` relays to (no trailing `/`).
    pub upstreams: Vec<String>,
}

/// A GOPROXY list the go command refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("GOPROXY={goproxy}: {reason}")]
pub struct Error {
    /// The list.
    pub goproxy: String,
    /// Why the go command refuses it.
    #[source]
    pub reason: crate::source::proxy::UpstreamError,
}

/// Rewrites `goproxy` (the command's effective GOPROXY) for a recorder at `recorder`
/// (`http://127.0.0.1:PORT`). `file://` proxies, `direct` and `off` are kept as they
/// are: the go command reads the first itself and the others are not HTTP.
pub fn rewrite(goproxy: &str, recorder: &str) -> Result<Rewritten, Error> {
    let entries = parse_list(goproxy).map_err(|reason| Error {
        goproxy: goproxy.to_string(),
        reason,
    })?;
    let mut out = String::new();
    let mut upstreams = Vec::new();
    let n = entries.len();
    for (i, (entry, pipe)) in entries.into_iter().enumerate() {
        match entry {
            Entry::Direct => out.push_str("direct"),
            Entry::Off => out.push_str("off"),
            Entry::Url(u) if u.starts_with("http://") || u.starts_with("https://") => {
                out.push_str(&format!("{recorder}/p/{}", upstreams.len()));
                upstreams.push(u.trim_end_matches('/').to_string());
            }
            Entry::Url(u) => out.push_str(&u),
        }
        if i + 1 < n {
            out.push(if pipe { '|' } else { ',' });
        }
    }
    Ok(Rewritten {
        goproxy: out,
        upstreams,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "http://127.0.0.1:4000";

    #[test]
    fn entries_separators_and_what_stays() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "https://proxy.golang.org,direct",
                "http://127.0.0.1:4000/p/0,direct",
                &["https://proxy.golang.org"],
            ),
            (
                "https://a.example/x/|http://b.example:8080,off",
                "http://127.0.0.1:4000/p/0|http://127.0.0.1:4000/p/1,off",
                &["https://a.example/x", "http://b.example:8080"],
            ),
            // As the go command: https:// added, empty entries skipped, nothing after
            // direct, file:// read by the go command itself.
            (
                " goproxy.example ,, file:///srv/mods|direct,https://never.example",
                "http://127.0.0.1:4000/p/0,file:///srv/mods|direct",
                &["https://goproxy.example"],
            ),
            ("direct", "direct", &[]),
            ("off", "off", &[]),
            ("", "", &[]),
        ];
        for (list, want, ups) in cases {
            let got = rewrite(list, R).unwrap();
            assert_eq!(got.goproxy, *want, "{list}");
            assert_eq!(got.upstreams, *ups, "{list}");
        }
    }

    #[test]
    fn a_list_the_go_command_refuses_is_refused() {
        let e = rewrite("ftp://x.example,direct", R).unwrap_err();
        assert_eq!(e.goproxy, "ftp://x.example,direct");
        assert_eq!(
            e.to_string(),
            "GOPROXY=ftp://x.example,direct: invalid proxy URL scheme (must be https, http, file): ftp://x.example"
        );
    }
}
