//! Reading what an upstream answered as the go command reads it: the `@latest` an
//! `@v/list` body implies (proxy.go's `latestFromList`) and the `.mod` check. (`.info`
//! bodies are read by [`crate::source::Info::parse`].)

use gomod::pseudo::{is_pseudo_version, pseudo_version_time};
use gomod::semver;
use gomod::timestamp::Instant;

/// The version `@latest` means given an `@v/list` body, when the upstream has no
/// `@latest` of its own: the highest release, else the highest prerelease (what the go
/// command's query picks from a version list), else proxy.go's `latestFromList` (the
/// newest by the time on the line or in the pseudo-version). `None` when the list has
/// no version at all (Go's "no commits").
pub(super) fn latest_from_list(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<Vec<&str>> = text
        .split('\n')
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.first().is_some_and(|v| semver::is_valid(v)))
        .collect();
    let tagged: Vec<&str> = lines
        .iter()
        .map(|f| f[0])
        .filter(|v| !is_pseudo_version(v))
        .collect();
    let release = tagged
        .iter()
        .copied()
        .filter(|v| semver::prerelease(v).is_empty());
    if let Some(v) = max_version(release) {
        return Some(v.to_string());
    }
    if let Some(v) = max_version(tagged.iter().copied()) {
        return Some(v.to_string());
    }
    // proxy.go's latestFromList: the newest time wins, ties keep the first.
    let mut best_time: Option<(i64, u32)> = None;
    let mut best_version = None;
    for f in &lines {
        let t = if f.len() >= 2 {
            Instant::parse_rfc3339(f[1]).map(|t| (t.at.unix, t.nanos))
        } else if is_pseudo_version(f[0]) {
            pseudo_version_time(f[0]).ok().map(|t| (t.unix, 0))
        } else {
            continue;
        };
        // Go's zero time for an unparseable one: never "after" anything.
        let Some(t) = t else { continue };
        if best_time.is_none_or(|b| b < t) {
            best_time = Some(t);
            best_version = Some(f[0].to_string());
        }
    }
    best_version
}

fn max_version<'a>(versions: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    versions.fold(None, |best, v| match best {
        Some(b) if semver::compare(b, v).is_ge() => Some(b),
        _ => Some(v),
    })
}

/// Checks a `.mod` body with the lax parser the go command reads dependencies' go.mod
/// files with (modload's `rawGoModSummary`): what fails it, the go command refuses;
/// anything else it takes, even with no `module` line (the `golang.org/toolchain`
/// modules' go.mod is the bare line `golang.org/toolchain`, an unknown directive lax
/// parsing skips) or with another module's path, which the go command reports itself.
pub(super) fn check_go_mod(
    data: &[u8],
    module_path: &str,
    version: &str,
) -> Result<(), InvalidGoMod> {
    let name = format!("{module_path}@{version}/go.mod");
    gomod::modfile::parse_lax(&name, data, None)
        .map(|_| ())
        .map_err(InvalidGoMod)
}

/// A `.mod` the go command would refuse to read.
#[derive(Debug, thiserror::Error)]
#[error("invalid go.mod from proxy: {0}")]
pub(super) struct InvalidGoMod(#[source] gomod::modfile::Errors);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_from_lists() {
        assert_eq!(
            latest_from_list(b"v1.0.0\nv1.2.0\nv1.3.0-pre\n").as_deref(),
            Some("v1.2.0")
        );
        assert_eq!(
            latest_from_list(b"v1.3.0-pre\nv1.3.0-alpha\n").as_deref(),
            Some("v1.3.0-pre")
        );
        assert_eq!(
            latest_from_list(
                b"v0.0.0-20180628003336-dd9747d19b04\nv0.0.0-20180709153244-fd906ed3b100\nv0.0.0-20180214005133-e7a685a342c0\n"
            )
            .as_deref(),
            Some("v0.0.0-20180709153244-fd906ed3b100")
        );
        assert_eq!(
            latest_from_list(
                b"v0.0.0-20180628003336-dd9747d19b04 2017-01-01T00:00:00Z\nv0.0.0-20180214005133-e7a685a342c0 2019-01-01T00:00:00Z\n"
            )
            .as_deref(),
            Some("v0.0.0-20180214005133-e7a685a342c0")
        );
        assert_eq!(latest_from_list(b""), None);
        assert_eq!(latest_from_list(b"junk\n"), None);
    }

    #[test]
    fn go_mod_check() {
        assert_eq!(
            check_go_mod(
                b"module \"rsc.io/quote\"\n\nrequire \"rsc.io/sampler\" v1.3.0\n",
                "rsc.io/quote",
                "v1.5.2"
            )
            .map_err(|e| e.to_string()),
            Ok(())
        );
        // What the go command reads too: no module line, an unknown directive, another
        // module's path, nothing at all.
        for ok in [
            &b"golang.org/toolchain\n"[..],
            b"",
            b"module other/path\n",
            b"go 1.21\nfrobnicate x y\n",
        ] {
            assert_eq!(
                check_go_mod(ok, "m", "v1.0.0").map_err(|e| e.to_string()),
                Ok(()),
                "{}",
                String::from_utf8_lossy(ok)
            );
        }
        assert_eq!(
            check_go_mod(b"module x\nrequire (\n", "m", "v1.0.0")
                .unwrap_err()
                .to_string(),
            "invalid go.mod from proxy: m@v1.0.0/go.mod:3: syntax error (unterminated block started at m@v1.0.0/go.mod:2:1)"
        );
        assert_eq!(
            check_go_mod(b"module x\nrequire rsc.io/quote\n", "m", "v1.0.0")
                .unwrap_err()
                .to_string(),
            "invalid go.mod from proxy: m@v1.0.0/go.mod:2: usage: require module/path v1.2.3"
        );
    }
}
