//! `--explain "ERROR TEXT"`: what an error of the go command means, its possible causes,
//! and which of them the checks confirmed on this machine (or ruled out). The modules the
//! text names (`path@version`) are added to the modules checked.

use serde::Serialize;

use super::finding::{Finding, Group};

/// One kind of error the go command prints.
struct Kind {
    /// Lower-case fragments that identify it.
    says: &'static [&'static str],
    /// Its name.
    name: &'static str,
    /// What it means.
    meaning: &'static str,
    /// What causes it.
    causes: &'static [&'static str],
    /// The groups whose findings bear on it.
    groups: &'static [Group],
    /// Lower-case fragments of a finding (measured or cause) that bear on it; empty: any
    /// finding of those groups.
    about: &'static [&'static str],
}

const KINDS: &[Kind] = &[
    Kind {
        says: &["checksum mismatch", "security error"],
        name: "checksum mismatch",
        meaning: "the module's hash is not the one go.sum or the checksum database records",
        causes: &[
            "a corrupt module cache entry",
            "a go.sum line that is stale or was edited",
            "the module's tag was moved to another commit after it was first fetched",
            "a proxy that serves altered content",
        ],
        groups: &[Group::Cache, Group::Configuration, Group::Network],
        about: &["hash", "go.sum", "checksum", "tree head", "corrupt"],
    },
    Kind {
        says: &["missing go.sum entry"],
        name: "missing go.sum entry",
        meaning: "go.sum has no hash for a module the build needs",
        causes: &[
            "go.mod was changed without go mod tidy",
            "go.sum was not committed",
        ],
        groups: &[Group::Configuration],
        about: &["go.sum has no line"],
    },
    Kind {
        says: &["unknown revision", "invalid version"],
        name: "unknown revision",
        meaning: "the repository has no tag or commit for the version asked for",
        causes: &[
            "the tag is missing or misspelled (v1.0 instead of v1.0.0)",
            "the tag is in another repository or subdirectory",
            "git cannot list the repository (credentials, network)",
        ],
        groups: &[Group::Git],
        about: &[],
    },
    Kind {
        says: &["410 gone", "404 not found", ": 410", ": 404"],
        name: "not found on the proxy",
        meaning: "a module proxy does not have the module or version",
        causes: &[
            "the module is private and GOPRIVATE does not cover it (its name went to the proxy)",
            "the version does not exist",
            "the repository is gone or was never public",
        ],
        groups: &[Group::Configuration, Group::Git, Group::Network],
        about: &["not covered", "404", "410", "no tag", "ls-remote"],
    },
    Kind {
        says: &[
            "terminal prompts disabled",
            "could not read username",
            "could not read password",
        ],
        name: "git wants credentials",
        meaning: "git asked for a user name or password, and the go command does not let it prompt",
        causes: &[
            "no credential helper, netrc entry or ssh key for the git server",
            "the module is fetched direct although a proxy that has it exists",
        ],
        groups: &[Group::Git, Group::Configuration],
        about: &["credential", "ls-remote", "not covered"],
    },
    Kind {
        says: &["declares its path as"],
        name: "module path mismatch",
        meaning: "the module's go.mod names another path than the one required",
        causes: &[
            "the module moved (renamed or a fork)",
            "a replace points at the wrong module",
        ],
        groups: &[Group::Configuration],
        about: &["declares module"],
    },
    Kind {
        says: &[
            "i/o timeout",
            "dial tcp",
            "connection refused",
            "no such host",
            "tls handshake timeout",
            "context deadline exceeded",
            "connection reset",
        ],
        name: "network failure",
        meaning: "the go command could not reach a proxy, the checksum database or a git server in time",
        causes: &[
            "the host does not resolve",
            "a firewall drops or refuses the connection",
            "the server accepts and never answers",
            "an HTTP proxy in the environment is needed, missing, or wrong",
        ],
        groups: &[Group::Network, Group::Git],
        about: &[],
    },
    Kind {
        says: &["x509", "certificate"],
        name: "TLS certificate refused",
        meaning: "the server's certificate was not accepted",
        causes: &[
            "a self-signed certificate or a CA this machine does not trust (a TLS-inspecting proxy)",
            "an expired certificate, or this machine's clock is wrong",
            "a certificate for another host name",
        ],
        groups: &[Group::Network, Group::Git],
        about: &["certificate", "tls", "clock"],
    },
    Kind {
        says: &["toolchain not available", "requires go >=", "gotoolchain"],
        name: "toolchain",
        meaning: "go.mod asks for a newer Go than this one, and it cannot be fetched",
        causes: &[
            "GOTOOLCHAIN=local",
            "GOPROXY=off or direct (toolchains come through a proxy)",
        ],
        groups: &[Group::Configuration],
        about: &["toolchain"],
    },
    Kind {
        says: &["no space left on device", "disk quota exceeded"],
        name: "disk full",
        meaning: "the module cache's disk has no room",
        causes: &["the disk of GOMODCACHE is full (space or inodes)"],
        groups: &[Group::Cache],
        about: &["free"],
    },
    Kind {
        says: &["permission denied", "read-only file system"],
        name: "cannot write",
        meaning: "the go command cannot write where it stores modules",
        causes: &["GOMODCACHE is read-only or owned by another user"],
        groups: &[Group::Cache],
        about: &["cannot create"],
    },
    Kind {
        says: &["inconsistent vendoring"],
        name: "inconsistent vendoring",
        meaning: "vendor/modules.txt does not match go.mod",
        causes: &["go.mod changed without go mod vendor"],
        groups: &[Group::Configuration],
        about: &["vendor"],
    },
    Kind {
        says: &["429", "too many requests"],
        name: "rate limited",
        meaning: "a server refuses more requests from this machine for a while",
        causes: &[
            "many builds share one address",
            "a loop that downloads again and again (no cache)",
        ],
        groups: &[Group::Network],
        about: &["429"],
    },
];

/// The explanation of one error text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The text given.
    pub text: String,
    /// The kinds of error it is, each with its meaning and causes.
    pub kinds: Vec<KindReport>,
    /// The modules it names (`path@version`).
    pub modules: Vec<String>,
}

/// One kind recognised, and what the checks said of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindReport {
    /// The kind's name.
    pub name: String,
    /// What it means.
    pub meaning: String,
    /// Its possible causes.
    pub causes: Vec<String>,
    /// The findings that confirm a cause here (indexes into the report's findings).
    pub confirmed_by: Vec<usize>,
    /// The groups checked (when nothing confirmed a cause, they are ruled out).
    pub checked: Vec<Group>,
}

/// The `path@version` tokens of `text`.
pub fn modules_named(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tok in text.split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '`') {
        let tok = tok.trim_end_matches([':', ',', ';', '.', ')']);
        let Some((path, version)) = tok.split_once('@') else {
            continue;
        };
        let version = version.trim_end_matches("/go.mod");
        let path = path.trim_start_matches('(');
        if gomod::module::check_path(path).is_ok()
            && !version.is_empty()
            && !version.contains(['/', '@'])
        {
            let m = format!("{path}@{version}");
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    out
}

/// Explains `text`, against the `findings` of the checks.
pub fn explain(text: &str, findings: &[Finding]) -> Explanation {
    let lower = text.to_lowercase();
    let kinds = KINDS
        .iter()
        .filter(|k| k.says.iter().any(|s| lower.contains(s)))
        .map(|k| KindReport {
            name: k.name.into(),
            meaning: k.meaning.into(),
            causes: k.causes.iter().map(|c| c.to_string()).collect(),
            confirmed_by: findings
                .iter()
                .enumerate()
                .filter(|(_, f)| {
                    let t = format!("{} {}", f.measured, f.cause).to_lowercase();
                    k.groups.contains(&f.group)
                        && (k.about.is_empty() || k.about.iter().any(|a| t.contains(a)))
                })
                .map(|(i, _)| i)
                .collect(),
            checked: k.groups.to_vec(),
        })
        .collect();
    Explanation {
        text: text.to_string(),
        kinds,
        modules: modules_named(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::finding::Severity;

    #[test]
    fn names_the_kind_the_modules_and_the_findings_that_confirm_it() {
        let text = "verifying github.com/pkg/errors@v0.9.1/go.mod: checksum mismatch\n\tdownloaded: h1:x=\n\tgo.sum:     h1:y=\n\nSECURITY ERROR";
        let f = Finding {
            group: Group::Cache,
            severity: Severity::Problem,
            measured: "go.sum says a, the module cache has b".into(),
            cause: "c".into(),
            fix: None,
        };
        let other = Finding {
            group: Group::Cpu,
            ..f.clone()
        };
        let e = explain(text, &[other, f]);
        assert_eq!(e.modules, ["github.com/pkg/errors@v0.9.1"]);
        assert_eq!(e.kinds.len(), 1);
        assert_eq!(e.kinds[0].name, "checksum mismatch");
        assert_eq!(e.kinds[0].confirmed_by, [1]);

        let e = explain(
            "go: corp.example.com/lib.git@v1.0.0: invalid version: git ls-remote -q origin in /x: exit status 128:\n\tfatal: could not read Username for 'https://corp.example.com': terminal prompts disabled",
            &[],
        );
        assert_eq!(
            e.kinds.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
            ["unknown revision", "git wants credentials"]
        );
        assert_eq!(e.modules, ["corp.example.com/lib.git@v1.0.0"]);
        assert!(e.kinds[1].confirmed_by.is_empty());
        assert_eq!(explain("all fine", &[]).kinds, []);
    }
}
