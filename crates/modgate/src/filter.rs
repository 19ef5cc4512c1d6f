//! `[filter]`: which modules and versions this proxy serves. `allow` and `deny` are lists
//! of rules, each a GOPRIVATE-style module pattern (a glob matching a path prefix:
//! `github.com/evil/*`, `corp.example.com`) with an optional version condition after `@`:
//! `@v1.4.0` (that version), `@<v1.2.3`, `@<=v1.2.3`, `@>v1.2.3`, `@>=v1.2.3` (semantic
//! version order, pseudo-versions included).
//!
//! A module or version is refused when a `deny` rule matches it, or when `allow` is not
//! empty and no `allow` rule matches it (a matching allow rule with a condition admits only
//! the versions it names). Deny wins. A refusal names its rule, so that a client sees why
//! and a `,` in GOPROXY does not fall through to another proxy (it is answered 403).
//! Athens' filter file (`+`, `-` lines) and its download mode file are the reference for
//! the shape; the patterns are the go command's own.

use std::cmp::Ordering;
use std::fmt;

use gomod::module::match_prefix_patterns;
use gomod::semver;

/// The rules of `[filter]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    allow: Vec<Rule>,
    deny: Vec<Rule>,
}

/// One rule: a module pattern and an optional version condition.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    /// As written, for refusals.
    text: String,
    pattern: String,
    condition: Option<(Op, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Why a rule is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{list} rule {text:?}: {why}")]
pub struct FilterError {
    list: &'static str,
    text: String,
    why: String,
}

/// Which list refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A deny rule without a condition matched the module.
    DeniedModule,
    /// A deny rule's condition matched the version.
    DeniedVersion,
    /// `allow` is not empty and admits neither the module nor the version.
    NotAllowed,
}

impl Reason {
    /// The metrics' label.
    pub fn label(self) -> &'static str {
        match self {
            Reason::DeniedModule => "denied_module",
            Reason::DeniedVersion => "denied_version",
            Reason::NotAllowed => "not_allowed",
        }
    }
}

/// A refusal, naming what was refused and by which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `module` or `module@version`.
    pub what: String,
    /// Why.
    pub reason: Reason,
    /// The rule as written (`None`: no allow rule matched).
    pub rule: Option<String>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.reason, &self.rule) {
            (Reason::NotAllowed, None) => {
                write!(
                    f,
                    "{} is not in this proxy's [filter] allow list",
                    self.what
                )
            }
            (Reason::NotAllowed, Some(r)) => write!(
                f,
                "{} is outside the versions [filter] allow rule {r:?} admits",
                self.what
            ),
            (_, r) => write!(
                f,
                "{} is denied by this proxy's [filter] deny rule {:?}",
                self.what,
                r.as_deref().unwrap_or("")
            ),
        }
    }
}

impl Filter {
    /// The rules of `allow` and `deny`, checked.
    pub fn parse(allow: &[String], deny: &[String]) -> Result<Filter, FilterError> {
        let rules = |list: &'static str, texts: &[String]| -> Result<Vec<Rule>, FilterError> {
            texts.iter().map(|t| Rule::parse(list, t)).collect()
        };
        Ok(Filter {
            allow: rules("allow", allow)?,
            deny: rules("deny", deny)?,
        })
    }

    /// How many rules there are.
    pub fn len(&self) -> usize {
        self.allow.len() + self.deny.len()
    }

    /// No rule: everything is served.
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }

    /// The refusal of every version of `module` (a deny rule without a condition, or an
    /// allow list none of whose rules matches the module).
    pub fn module(&self, module: &str) -> Option<Refusal> {
        if let Some(r) = self
            .deny
            .iter()
            .find(|r| r.condition.is_none() && r.matches(module))
        {
            return Some(Refusal {
                what: module.to_string(),
                reason: Reason::DeniedModule,
                rule: Some(r.text.clone()),
            });
        }
        if !self.allow.is_empty() && !self.allow.iter().any(|r| r.matches(module)) {
            return Some(Refusal {
                what: module.to_string(),
                reason: Reason::NotAllowed,
                rule: None,
            });
        }
        None
    }

    /// The refusal of `module@version` (a canonical version), if any.
    pub fn version(&self, module: &str, version: &str) -> Option<Refusal> {
        if let Some(r) = self.module(module) {
            return Some(Refusal {
                what: format!("{module}@{version}"),
                ..r
            });
        }
        let refusal = |reason, rule: Option<&Rule>| Refusal {
            what: format!("{module}@{version}"),
            reason,
            rule: rule.map(|r| r.text.clone()),
        };
        if let Some(r) = self
            .deny
            .iter()
            .find(|r| r.matches(module) && r.admits(version))
        {
            return Some(refusal(Reason::DeniedVersion, Some(r)));
        }
        let allowing: Vec<&Rule> = self.allow.iter().filter(|r| r.matches(module)).collect();
        if !allowing.is_empty() && !allowing.iter().any(|r| r.admits(version)) {
            return Some(refusal(Reason::NotAllowed, allowing.first().copied()));
        }
        None
    }
}

impl Rule {
    fn parse(list: &'static str, text: &str) -> Result<Rule, FilterError> {
        let err = |why: &str| FilterError {
            list,
            text: text.to_string(),
            why: why.to_string(),
        };
        let (pattern, condition) = match text.split_once('@') {
            None => (text, None),
            Some((p, c)) => {
                let (op, v) = if let Some(v) = c.strip_prefix("<=") {
                    (Op::Le, v)
                } else if let Some(v) = c.strip_prefix(">=") {
                    (Op::Ge, v)
                } else if let Some(v) = c.strip_prefix('<') {
                    (Op::Lt, v)
                } else if let Some(v) = c.strip_prefix('>') {
                    (Op::Gt, v)
                } else {
                    (Op::Eq, c)
                };
                if !semver::is_valid(v) || semver::canonical(v) != v {
                    return Err(err(&format!(
                        "{v:?} is not a canonical semantic version (write it as v1.2.3)"
                    )));
                }
                (p, Some((op, v.to_string())))
            }
        };
        let pattern = pattern.trim().trim_end_matches('/');
        if pattern.is_empty() || pattern.contains(',') || pattern.contains(char::is_whitespace) {
            return Err(err(
                "the module pattern must be one path glob, as in GOPRIVATE (github.com/org/*)",
            ));
        }
        Ok(Rule {
            text: text.to_string(),
            pattern: pattern.to_string(),
            condition,
        })
    }

    fn matches(&self, module: &str) -> bool {
        match_prefix_patterns(&self.pattern, module)
    }

    /// Whether the condition holds for `version` (a rule without one: every version).
    fn admits(&self, version: &str) -> bool {
        let Some((op, v)) = &self.condition else {
            return true;
        };
        let ord = semver::compare(version, v);
        match op {
            Op::Eq => ord == Ordering::Equal,
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Gt => ord == Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(allow: &[&str], deny: &[&str]) -> Filter {
        let s = |l: &[&str]| l.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Filter::parse(&s(allow), &s(deny)).unwrap()
    }

    fn refused(f: &Filter, module: &str, version: Option<&str>) -> Option<String> {
        match version {
            None => f.module(module),
            Some(v) => f.version(module, v),
        }
        .map(|r| r.to_string())
    }

    #[test]
    fn deny_rules_refuse_modules_and_version_ranges_naming_the_rule() {
        let f = filter(
            &[],
            &[
                "github.com/evil/*",
                "example.com/lib@<v1.2.3",
                "example.com/lib@v1.4.0",
                "example.com/old@<=v0.9.0",
                "example.com/new@>=v2.0.0-0",
            ],
        );
        for (module, version, want) in [
            (
                "github.com/evil/x",
                None,
                Some(
                    "github.com/evil/x is denied by this proxy's [filter] deny rule \"github.com/evil/*\"",
                ),
            ),
            (
                "github.com/evil/x/v2",
                Some("v2.0.0"),
                Some(
                    "github.com/evil/x/v2@v2.0.0 is denied by this proxy's [filter] deny rule \"github.com/evil/*\"",
                ),
            ),
            ("github.com/evil", None, None),
            ("github.com/evilx/y", None, None),
            ("example.com/lib", None, None),
            (
                "example.com/lib",
                Some("v1.2.2"),
                Some(
                    "example.com/lib@v1.2.2 is denied by this proxy's [filter] deny rule \"example.com/lib@<v1.2.3\"",
                ),
            ),
            (
                "example.com/lib",
                Some("v1.2.3-pre"),
                Some(
                    "example.com/lib@v1.2.3-pre is denied by this proxy's [filter] deny rule \"example.com/lib@<v1.2.3\"",
                ),
            ),
            ("example.com/lib", Some("v1.2.3"), None),
            (
                "example.com/lib",
                Some("v1.4.0"),
                Some(
                    "example.com/lib@v1.4.0 is denied by this proxy's [filter] deny rule \"example.com/lib@v1.4.0\"",
                ),
            ),
            ("example.com/lib", Some("v1.4.1"), None),
            // A submodule's path has the pattern's elements as its prefix.
            (
                "example.com/lib/sub",
                Some("v1.0.0"),
                Some(
                    "example.com/lib/sub@v1.0.0 is denied by this proxy's [filter] deny rule \"example.com/lib@<v1.2.3\"",
                ),
            ),
            (
                "example.com/old",
                Some("v0.9.0"),
                Some(
                    "example.com/old@v0.9.0 is denied by this proxy's [filter] deny rule \"example.com/old@<=v0.9.0\"",
                ),
            ),
            ("example.com/old", Some("v0.9.1"), None),
            // Pseudo-versions are ordered as semantic versions.
            (
                "example.com/new",
                Some("v2.0.0-20240102030405-abcdefabcdef"),
                Some(
                    "example.com/new@v2.0.0-20240102030405-abcdefabcdef is denied by this proxy's [filter] deny rule \"example.com/new@>=v2.0.0-0\"",
                ),
            ),
            ("example.com/new", Some("v1.9.9"), None),
        ] {
            assert_eq!(
                refused(&f, module, version).as_deref(),
                want,
                "{module} {version:?}"
            );
        }
    }

    #[test]
    fn an_allow_list_admits_only_its_modules_and_its_versions_and_deny_wins() {
        let f = filter(
            &[
                "corp.example.com",
                "example.com/lib@>=v1.0.0",
                "example.com/lib@v0.5.0",
            ],
            &["corp.example.com/secret"],
        );
        for (module, version, want) in [
            ("corp.example.com/a", Some("v0.1.0"), None),
            (
                "github.com/x/y",
                None,
                Some("github.com/x/y is not in this proxy's [filter] allow list"),
            ),
            (
                "github.com/x/y",
                Some("v1.0.0"),
                Some("github.com/x/y@v1.0.0 is not in this proxy's [filter] allow list"),
            ),
            ("example.com/lib", None, None),
            ("example.com/lib", Some("v1.3.0"), None),
            ("example.com/lib", Some("v0.5.0"), None),
            (
                "example.com/lib",
                Some("v0.9.0"),
                Some(
                    "example.com/lib@v0.9.0 is outside the versions [filter] allow rule \"example.com/lib@>=v1.0.0\" admits",
                ),
            ),
            (
                "corp.example.com/secret",
                Some("v1.0.0"),
                Some(
                    "corp.example.com/secret@v1.0.0 is denied by this proxy's [filter] deny rule \"corp.example.com/secret\"",
                ),
            ),
        ] {
            assert_eq!(
                refused(&f, module, version).as_deref(),
                want,
                "{module} {version:?}"
            );
        }
        assert!(Filter::default().is_empty());
        assert!(filter(&[], &[]).module("anything").is_none());
    }

    #[test]
    fn a_rule_that_cannot_be_read_is_an_error_naming_it() {
        let s = |x: &str| vec![x.to_string()];
        for (allow, deny, want) in [
            (
                vec![],
                s("example.com/lib@<1.2.3"),
                "deny rule \"example.com/lib@<1.2.3\": \"1.2.3\" is not a canonical semantic version (write it as v1.2.3)",
            ),
            (
                vec![],
                s("example.com/lib@v1.2"),
                "deny rule \"example.com/lib@v1.2\": \"v1.2\" is not a canonical semantic version (write it as v1.2.3)",
            ),
            (
                s("a.com,b.com"),
                vec![],
                "allow rule \"a.com,b.com\": the module pattern must be one path glob, as in GOPRIVATE (github.com/org/*)",
            ),
            (
                s("@v1.0.0"),
                vec![],
                "allow rule \"@v1.0.0\": the module pattern must be one path glob, as in GOPRIVATE (github.com/org/*)",
            ),
        ] {
            assert_eq!(Filter::parse(&allow, &deny).unwrap_err().to_string(), want);
        }
    }
}
