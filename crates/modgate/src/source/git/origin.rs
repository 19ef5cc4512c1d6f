//! The `Origin` of a version found in git, as the go command records it in its module
//! cache and uses for `-reuse` (cmd/go/internal/modfetch/codehost: `Origin`; git.go's
//! `Stat` and `Latest`; coderepo.go's `convert`): VCS, URL, Subdir, Hash, Ref, in that
//! order, the empty ones left out. What the go command's direct fetch records is what its
//! module cache keeps (cache.go's `writeDiskStat`): never the tags a pseudo-version was
//! computed from (`TagPrefix`, `TagSum`), and no `Ref` for a pseudo-version; so is the
//! `.info` modgate serves and stores for good.

use serde::Serialize;

use super::repo::Refs;

/// Where a version came from (Go's `codehost.Origin` as its module cache keeps it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// `git`.
    #[serde(rename = "VCS", skip_serializing_if = "String::is_empty")]
    pub vcs: String,
    /// The repository's URL.
    #[serde(rename = "URL", skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// The module's directory in the repository.
    #[serde(rename = "Subdir", skip_serializing_if = "String::is_empty")]
    pub subdir: String,
    /// The commit.
    #[serde(rename = "Hash", skip_serializing_if = "String::is_empty")]
    pub hash: String,
    /// The ref the revision was found through (`refs/tags/v1.2.3`, `refs/heads/main`,
    /// `HEAD`).
    #[serde(rename = "Ref", skip_serializing_if = "String::is_empty")]
    pub r#ref: String,
}

/// The ref git.go's `Stat` records for `rev` given the remote's `refs`: the tag, else the
/// branch, else `HEAD`, else for a hash or hash prefix (7 to 40 hex digits) the least ref
/// name pointing at it; "" when there is none.
pub fn stat_ref(rev: &str, refs: &Refs) -> String {
    for r in [format!("refs/tags/{rev}"), format!("refs/heads/{rev}")] {
        if refs.get(&r).is_some_and(|h| !h.is_empty()) {
            return r;
        }
    }
    if rev == "HEAD" && refs.get("HEAD").is_some_and(|h| !h.is_empty()) {
        return "HEAD".into();
    }
    if (7..=40).contains(&rev.len()) && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
        // The refs are sorted by name: the first that points at the hash is the least.
        return refs
            .iter()
            .find(|(_, h)| h.starts_with(rev))
            .map(|(r, _)| r.clone())
            .unwrap_or_default();
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(pairs: &[(&str, &str)]) -> Refs {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_ref_a_revision_was_found_through() {
        let a = "a".repeat(40);
        let b = format!("{}{}", "b".repeat(12), "c".repeat(28));
        let r = refs(&[
            ("HEAD", &a),
            ("refs/heads/main", &a),
            ("refs/heads/dev", &b),
            ("refs/tags/v1.0.0", &b),
            ("refs/tags/sub/v1.0.0", &a),
        ]);
        assert_eq!(stat_ref("v1.0.0", &r), "refs/tags/v1.0.0");
        assert_eq!(stat_ref("sub/v1.0.0", &r), "refs/tags/sub/v1.0.0");
        assert_eq!(stat_ref("main", &r), "refs/heads/main");
        assert_eq!(stat_ref("HEAD", &r), "HEAD");
        // A hash: the least ref name pointing at it ("HEAD" sorts before "refs/").
        assert_eq!(stat_ref(&a[..12], &r), "HEAD");
        assert_eq!(stat_ref(&a, &r), "HEAD");
        assert_eq!(stat_ref(&b[..12], &r), "refs/heads/dev");
        // A commit no ref points at, a short prefix, a name that is nothing.
        assert_eq!(stat_ref(&"d".repeat(12), &r), "");
        assert_eq!(stat_ref("bbbbbb", &r), "");
        assert_eq!(stat_ref("v9.9.9", &r), "");
    }

    #[test]
    fn origin_in_the_go_commands_field_order() {
        let o = Origin {
            vcs: "git".into(),
            url: "https://github.com/docker/go-units".into(),
            subdir: "sub".into(),
            hash: "abc".into(),
            r#ref: "refs/tags/sub/v1.0.0".into(),
        };
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"VCS":"git","URL":"https://github.com/docker/go-units","Subdir":"sub","Hash":"abc","Ref":"refs/tags/sub/v1.0.0"}"#
        );
    }
}
