//! Retractions, as the go command's queries apply them: the `retract` directives of the
//! go.mod of a module's highest tagged version (its highest release, else its highest
//! version, `+incompatible` ones left out) say which versions `latest` must not pick.
//! Shared by the sources that pick `@latest` from a list (git, `file://`).

use gomod::semver;
use std::cmp::Ordering;

/// The retracted intervals `[low, high]` of a module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retractions(Vec<(String, String)>);

impl Retractions {
    /// The intervals the go.mod `data` retracts (none when it does not parse).
    pub fn of_go_mod(data: &[u8]) -> Retractions {
        match gomod::modfile::parse_lax("go.mod", data, None) {
            Ok(f) => Retractions(
                f.retract
                    .iter()
                    .map(|r| (r.interval.low.clone(), r.interval.high.clone()))
                    .collect(),
            ),
            Err(_) => Retractions::default(),
        }
    }

    /// Whether `v` falls in a retracted interval.
    pub fn covers(&self, v: &str) -> bool {
        self.0.iter().any(|(lo, hi)| {
            semver::compare(lo, v) != Ordering::Greater
                && semver::compare(v, hi) != Ordering::Greater
        })
    }
}

/// The version whose go.mod holds the retractions, from the sorted tagged versions.
pub fn authority(sorted_versions: &[String]) -> Option<&String> {
    let compatible = sorted_versions
        .iter()
        .position(|v| v.ends_with("+incompatible"))
        .map_or(sorted_versions, |i| &sorted_versions[..i]);
    compatible
        .iter()
        .rev()
        .find(|v| semver::prerelease(v).is_empty())
        .or(compatible.last())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_highest_release_holds_the_retractions() {
        assert_eq!(
            authority(&vs(&[
                "v1.0.0",
                "v1.1.0",
                "v1.2.0-pre",
                "v2.0.0+incompatible"
            ])),
            Some(&"v1.1.0".to_string())
        );
        assert_eq!(
            authority(&vs(&["v1.0.0-a", "v1.0.0-b"])),
            Some(&"v1.0.0-b".to_string())
        );
        assert_eq!(authority(&vs(&["v2.0.0+incompatible"])), None);
        assert_eq!(authority(&[]), None);
    }

    #[test]
    fn intervals_and_single_versions() {
        let r = Retractions::of_go_mod(
            b"module m\n\nretract (\n\tv1.0.1\n\t[v1.1.0, v1.2.0] // broken\n)\n",
        );
        assert!(r.covers("v1.0.1"));
        assert!(!r.covers("v1.0.0"));
        assert!(r.covers("v1.1.0") && r.covers("v1.1.5") && r.covers("v1.2.0"));
        assert!(!r.covers("v1.2.1"));
        assert_eq!(
            Retractions::of_go_mod(b"not a go.mod ("),
            Retractions::default()
        );
    }
}
