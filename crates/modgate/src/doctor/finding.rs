//! One finding of the doctor: what was measured, the cause, and the fix to paste; the fix
//! also as data (`fix_commands`): the command lines it is made of, for `--json` and
//! `--fix-script`.

use serde::Serialize;
use serde::ser::SerializeStruct;

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
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// What a fix that is a command line starts with; a fix that starts otherwise is advice
/// (check the URL, renew the certificate), not a command.
const COMMANDS: &[&str] = &[
    "go",
    "git",
    "printf",
    "sed",
    "chmod",
    "kill",
    "modgate",
    "timedatectl",
    "update-ca-certificates",
    "export",
    "unset",
    "rm",
    "cd",
    "ulimit",
    "du",
    "mount",
    "sudo",
    "set",
    "attrib",
    "taskkill",
];

impl Finding {
    /// The fix as command lines to run in order: the fix's text up to its note (two spaces
    /// and a parenthesis), split at ` && `, when it starts with a command; none when the fix
    /// is advice. Placeholders to fill in are written `<like this>`.
    pub fn fix_commands(&self) -> Vec<String> {
        let Some(fix) = &self.fix else {
            return Vec::new();
        };
        let line = fix
            .split_once("  (")
            .map_or(fix.as_str(), |(c, _)| c)
            .trim();
        let first = line.split_whitespace().next().unwrap_or("");
        if !COMMANDS.contains(&first) {
            return Vec::new();
        }
        line.split(" && ").map(|c| c.trim().to_string()).collect()
    }
}

impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Finding", 6)?;
        st.serialize_field("group", &self.group)?;
        st.serialize_field("severity", &self.severity)?;
        st.serialize_field("measured", &self.measured)?;
        st.serialize_field("cause", &self.cause)?;
        st.serialize_field("fix", &self.fix)?;
        st.serialize_field("fix_commands", &self.fix_commands())?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_fix(fix: &str) -> Finding {
        Finding {
            group: Group::Network,
            severity: Severity::Problem,
            measured: String::new(),
            cause: String::new(),
            fix: Some(fix.into()),
        }
    }

    #[test]
    fn fix_commands_are_the_command_lines_of_the_fix() {
        assert_eq!(
            with_fix("printf 'machine h login <user> password <token>\\n' >> /h/.netrc  (the go command sends it over https)").fix_commands(),
            ["printf 'machine h login <user> password <token>\\n' >> /h/.netrc"]
        );
        assert_eq!(
            with_fix("go mod edit -droprequire a && go get b@v1.0.0  (and import b)")
                .fix_commands(),
            ["go mod edit -droprequire a", "go get b@v1.0.0"]
        );
        assert!(
            with_fix("check the URL, or another proxy")
                .fix_commands()
                .is_empty()
        );
        let v = serde_json::to_value(with_fix("go env -w GOPRIVATE=corp.example.com")).unwrap();
        assert_eq!(
            v["fix_commands"],
            serde_json::json!(["go env -w GOPRIVATE=corp.example.com"])
        );
    }
}
