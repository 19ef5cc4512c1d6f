//! One finding of the doctor: what was measured, the cause, and the fix to paste.

use serde::Serialize;

/// The part of the set-up a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    /// Proxies, the checksum database, DNS, TLS, HTTP.
    Network,
    /// GOPROXY, GOPRIVATE, GONOSUMDB, GOFLAGS, go.mod.
    Configuration,
    /// Repositories fetched directly.
    Git,
    /// The module cache and its disk.
    Cache,
    /// Cores, load, parallelism.
    Cpu,
}

/// How bad it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Slows downloads or weakens checks; the go command still works.
    Warning,
    /// Makes downloads fail, hang, or leak private names.
    Problem,
}

/// A finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Which part.
    pub group: Group,
    /// How bad.
    pub severity: Severity,
    /// What was seen (a setting's value, a measurement).
    pub measured: String,
    /// Why it matters.
    pub cause: String,
    /// The command that fixes it, when there is one.
    pub fix: Option<String>,
}
