//! `--explain "ERROR TEXT"`: what an error of the go command means, its possible causes,
//! and which of them the checks confirmed on this machine (or ruled out). The modules the
//! text names (`path@version`) are added to the modules checked.

use serde::Serialize;

use super::finding::{Finding, Group};

/// One cause of a kind of error.
struct Cause {
    /// What it is.
    text: &'static str,
    /// Lower-case fragments of the go command's text that state this cause (and no other
    /// of its kind): when the text has one, this cause is named alone.
    says: &'static [&'static str],
    /// Lower-case fragments of a finding (measured or cause) that confirm it; empty: the
    /// kind's.
    about: &'static [&'static str],
}

/// A cause the text alone never decides between.
const fn cause(text: &'static str) -> Cause {
    Cause {
        text,
        says: &[],
        about: &[],
    }
}

/// One kind of error the go command prints.
struct Kind {
    /// Lower-case fragments that identify it.
    says: &'static [&'static str],
    /// Its name.
    name: &'static str,
    /// What it means.
    meaning: &'static str,
    /// What causes it.
    causes: &'static [Cause],
    /// The groups whose findings bear on it.
    groups: &'static [Group],
    /// Lower-case fragments of a finding (measured or cause) that bear on it; empty: any
    /// finding of those groups.
    about: &'static [&'static str],
}

const KINDS: &[Kind] = &[
    Kind {
        says: &["checksum mismatch"],
        name: "checksum mismatch",
        meaning: "the module's hash is not the one go.sum or the checksum database records",
        causes: &[
            Cause {
                text: "a corrupt module cache entry",
                says: &["has been modified"],
                about: &["corrupt", "module cache has"],
            },
            Cause {
                text: "a go.sum line that is stale or was edited, or a tag moved to another commit after it was first fetched",
                says: &["go.sum:"],
                about: &["go.sum says", "for the zip of", "for the go.mod of"],
            },
            Cause {
                text: "a proxy that serves altered content (the checksum database records another hash)",
                says: &["reported by the checksum server", "checksum server"],
                about: &["tree head", "checksum database", "serves a go.mod of"],
            },
        ],
        groups: &[Group::Cache, Group::Configuration, Group::Network],
        about: &["hash", "go.sum", "checksum", "tree head", "corrupt"],
    },
    Kind {
        says: &["misbehavior detected", "downloaded inconsistent tile"],
        name: "checksum database misbehaves",
        meaning: "the checksum database's log, as read here, is not an extension of the one proven before (a fork)",
        causes: &[
            Cause {
                text: "something between here and the database (a proxy serving /sumdb/, a TLS-inspecting device) answers with another log",
                says: &[],
                about: &["misbehaves"],
            },
            cause("the database itself forked its log"),
        ],
        groups: &[Group::Network],
        about: &["misbehaves"],
    },
    Kind {
        says: &["missing go.sum entry"],
        name: "missing go.sum entry",
        meaning: "go.sum has no hash for a module the build needs",
        causes: &[
            cause("go.mod was changed without go mod tidy"),
            cause("go.sum was not committed"),
        ],
        groups: &[Group::Configuration],
        about: &["go.sum has no line"],
    },
    Kind {
        says: &["unknown revision", "invalid version"],
        name: "unknown revision",
        meaning: "the repository has no tag or commit for the version asked for",
        causes: &[
            Cause {
                text: "the tag is missing or misspelled (v1.0 instead of v1.0.0)",
                says: &["unknown revision"],
                about: &["no tag"],
            },
            cause("the tag is in another repository or subdirectory"),
            Cause {
                text: "git cannot list the repository (credentials, network)",
                says: &[
                    "terminal prompts disabled",
                    "could not read username",
                    "exit status 128",
                ],
                about: &["ls-remote", "credential"],
            },
        ],
        groups: &[Group::Git],
        about: &[],
    },
    Kind {
        says: &["410 gone", "404 not found", ": 410", ": 404"],
        name: "not found on the proxy",
        meaning: "a module proxy does not have the module or version",
        causes: &[
            Cause {
                text: "the module is private and GOPRIVATE does not cover it (its name went to the proxy)",
                says: &[
                    "terminal prompts disabled",
                    "could not read username",
                    "authentication required",
                ],
                about: &["not covered"],
            },
            Cause {
                text: "the version does not exist",
                says: &[
                    "unknown revision",
                    "no matching versions",
                    "invalid version",
                ],
                about: &["no tag", "404", "410"],
            },
            Cause {
                text: "the repository is gone or was never public",
                says: &["repository not found", "does not exist"],
                about: &["ls-remote", "404", "410"],
            },
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
            cause("no credential helper, netrc entry or ssh key for the git server"),
            cause("the module is fetched direct although a proxy that has it exists"),
        ],
        groups: &[Group::Git, Group::Configuration],
        about: &["credential", "ls-remote", "not covered"],
    },
    Kind {
        says: &["declares its path as"],
        name: "module path mismatch",
        meaning: "the module's go.mod names another path than the one required",
        causes: &[
            cause("the module moved (renamed or a fork)"),
            cause("a replace points at the wrong module"),
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
            "proxyconnect",
        ],
        name: "network failure",
        meaning: "the go command could not reach a proxy, the checksum database or a git server in time",
        causes: &[
            Cause {
                text: "the host does not resolve",
                says: &["no such host", "server misbehaving"],
                about: &["does not resolve", "resolving"],
            },
            Cause {
                text: "nothing listens there, or a firewall refuses the connection",
                says: &["connection refused"],
                about: &["refused"],
            },
            Cause {
                text: "a firewall drops the packets, or the server accepts and never answers",
                says: &[
                    "i/o timeout",
                    "tls handshake timeout",
                    "context deadline exceeded",
                    "client.timeout",
                ],
                about: &[
                    "took over",
                    "sent no answer",
                    "unreachable",
                    "did not finish",
                ],
            },
            Cause {
                text: "an HTTP proxy in the environment is needed, missing, or wrong",
                says: &["proxyconnect"],
                about: &["http proxy", "https_proxy"],
            },
        ],
        groups: &[Group::Network, Group::Git],
        about: &[],
    },
    Kind {
        says: &["x509", "certificate"],
        name: "TLS certificate refused",
        meaning: "the server's certificate was not accepted",
        causes: &[
            Cause {
                text: "a self-signed certificate, a CA this machine does not trust (a private CA, a TLS-inspecting proxy), or a server that does not send its intermediate certificate",
                says: &["signed by unknown authority"],
                about: &[
                    "self-signed",
                    "does not trust",
                    "intermediate",
                    "unknown authority",
                ],
            },
            Cause {
                text: "an expired certificate, or this machine's clock is wrong",
                says: &["has expired or is not yet valid"],
                about: &["expired", "not valid yet", "clock"],
            },
            Cause {
                text: "a certificate for another host name",
                says: &[
                    "certificate is valid for",
                    "doesn't contain any ip sans",
                    "legacy common name",
                ],
                about: &["another name"],
            },
            Cause {
                text: "a certificate that is not for TLS servers",
                says: &["incompatible key usage"],
                about: &["key usage"],
            },
        ],
        groups: &[Group::Network, Group::Git],
        about: &["certificate", "tls", "clock"],
    },
    Kind {
        says: &["toolchain not available", "requires go >=", "gotoolchain"],
        name: "toolchain",
        meaning: "go.mod asks for a newer Go than this one, and it cannot be fetched",
        causes: &[
            Cause {
                text: "GOTOOLCHAIN=local",
                says: &["gotoolchain=local"],
                about: &["gotoolchain"],
            },
            cause("GOPROXY=off or direct (toolchains come through a proxy)"),
        ],
        groups: &[Group::Configuration],
        about: &["toolchain"],
    },
    Kind {
        says: &["no space left on device", "disk quota exceeded"],
        name: "disk full",
        meaning: "the module cache's disk has no room",
        causes: &[cause("the disk of GOMODCACHE is full (space or inodes)")],
        groups: &[Group::Cache],
        about: &["free"],
    },
    Kind {
        says: &["permission denied", "read-only file system"],
        name: "cannot write",
        meaning: "the go command cannot write where it stores modules",
        causes: &[cause("GOMODCACHE is read-only or owned by another user")],
        groups: &[Group::Cache],
        about: &["cannot create"],
    },
    Kind {
        says: &["inconsistent vendoring"],
        name: "inconsistent vendoring",
        meaning: "vendor/modules.txt does not match go.mod",
        causes: &[cause("go.mod changed without go mod vendor")],
        groups: &[Group::Configuration],
        about: &["vendor"],
    },
    Kind {
        says: &["429", "too many requests"],
        name: "rate limited",
        meaning: "a server refuses more requests from this machine for a while",
        causes: &[
            cause("many builds share one address"),
            cause("a loop that downloads again and again (no cache)"),
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
    /// Its causes: the one the text states, alone, when it states one; else every
    /// possible one.
    pub causes: Vec<String>,
    /// True when the text itself names the cause (`causes` holds it alone).
    pub stated: bool,
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
        .map(|k| {
            let stated: Vec<&Cause> = k
                .causes
                .iter()
                .filter(|c| c.says.iter().any(|s| lower.contains(s)))
                .collect();
            // A finding confirms the stated cause when it is about it; else one about the
            // kind confirms some cause.
            let about: Vec<&str> = match stated.as_slice() {
                [] => k.about.to_vec(),
                cs => cs
                    .iter()
                    .flat_map(|c| if c.about.is_empty() { k.about } else { c.about })
                    .copied()
                    .collect(),
            };
            let shown: Vec<&Cause> = if stated.is_empty() {
                k.causes.iter().collect()
            } else {
                stated.clone()
            };
            KindReport {
                name: k.name.into(),
                meaning: k.meaning.into(),
                causes: shown.iter().map(|c| c.text.to_string()).collect(),
                stated: !stated.is_empty(),
                confirmed_by: findings
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| {
                        let t = format!("{} {}", f.measured, f.cause).to_lowercase();
                        k.groups.contains(&f.group)
                            && (about.is_empty() || about.iter().any(|a| t.contains(a)))
                    })
                    .map(|(i, _)| i)
                    .collect(),
                checked: k.groups.to_vec(),
            }
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

    /// The go command's own texts: the cause a text states is named alone and confirmed
    /// only by a finding about it; a text that does not decide lists every cause.
    #[test]
    fn the_cause_the_text_states_is_named_alone() {
        let finding = |cause: &str| Finding {
            group: Group::Network,
            severity: Severity::Problem,
            measured: "GET https://p.example/golang.org/x/mod/@v/list: ...".into(),
            cause: cause.into(),
            fix: None,
        };
        let findings = [
            finding("the proxy's certificate has expired (or this machine's clock is ahead)"),
            finding(
                "the proxy's certificate is self-signed (CN=p) and this machine does not trust it",
            ),
        ];
        let get = "go: example.com/m@v1.0.0: Get \"https://p.example/example.com/m/@v/v1.0.0.info\": tls: failed to verify certificate: ";
        for (says, cause, confirmed) in [
            (
                "x509: certificate has expired or is not yet valid: current time 2026-12-04T18:00:00Z is after 2026-01-01T00:00:00Z",
                "an expired certificate, or this machine's clock is wrong",
                vec![0],
            ),
            (
                "x509: certificate signed by unknown authority",
                "a self-signed certificate, a CA this machine does not trust (a private CA, a TLS-inspecting proxy), or a server that does not send its intermediate certificate",
                vec![1],
            ),
            (
                "x509: certificate is valid for proxy.other.example, not p.example",
                "a certificate for another host name",
                vec![],
            ),
            (
                "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs",
                "a certificate for another host name",
                vec![],
            ),
        ] {
            let e = explain(&format!("{get}{says}"), &findings);
            assert_eq!(e.kinds.len(), 1, "{says}");
            let k = &e.kinds[0];
            assert_eq!(k.name, "TLS certificate refused");
            assert_eq!(
                (k.stated, k.causes.as_slice()),
                (true, &[cause.to_string()][..]),
                "{says}"
            );
            assert_eq!(k.confirmed_by, confirmed, "{says}");
        }
        // A text that does not say which: every cause, any certificate finding.
        let e = explain("x509: certificate problem", &findings);
        assert_eq!((e.kinds[0].stated, e.kinds[0].causes.len()), (false, 4));
        assert_eq!(e.kinds[0].confirmed_by, [0, 1]);
        // The same for the network: the text names the one cause.
        let e = explain(
            "go: example.com/m@v1.0.0: Get \"https://p.example/...\": dial tcp: lookup p.example on 127.0.0.53:53: no such host",
            &[],
        );
        assert_eq!(e.kinds[0].causes, ["the host does not resolve"]);
    }
}
