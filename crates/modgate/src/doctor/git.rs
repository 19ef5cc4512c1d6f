//! Git, for the modules the go command fetches `direct`: the repository URL it would use
//! (cmd/go/internal/vcs: the known hosts, the `.git` qualifier, else the `?go-get=1` page),
//! what git's `insteadOf` rules turn it into, whether `git ls-remote` answers with prompts
//! disabled and a deadline (as the go command runs git: `GIT_TERMINAL_PROMPT=0`,
//! `GCM_INTERACTIVE=never`, ssh in batch mode), where credentials would come from (a
//! credential helper, netrc, an ssh agent), and whether the requested version's tag
//! exists, naming near misses (`v1.0` for `v1.0.0`).

use std::time::Duration;

use super::checked::Checked;
use super::client::ms;
use super::deadline::Deadline;
use super::finding::{Finding, Group, Severity};
use crate::goenv::GoSettings;
use crate::process::ProcessError;
use crate::source::git::cmd::{Prompting, Runner};
use crate::source::git::resolve::{RepoRoot, ResolveError, Resolver, vcs_suffix_path};

fn problem(measured: String, cause: &str, fix: String) -> Finding {
    Finding {
        group: Group::Git,
        severity: Severity::Problem,
        measured,
        cause: cause.to_string(),
        fix: Some(fix),
    }
}

/// The repository of `module`, found exactly as the proxy's `direct` source finds it
/// ([`Resolver`]: the go command's host table, `.git` paths pinged with `git ls-remote`,
/// else the `?go-get=1` page), so that the doctor never names another repository than
/// modgate or the go command would fetch.
pub async fn repo_root(
    module: &str,
    settings: &GoSettings,
    dl: Deadline,
) -> Result<RepoRoot, ResolveError> {
    let limit = dl.left();
    let resolver = Resolver {
        insecure: settings.get("GOINSECURE").to_string(),
        pins: Vec::new(),
        timeout: limit,
        runner: Runner::new(limit, Vec::new()),
    };
    match resolver.resolve(module).await {
        Ok(r) => Ok(r),
        // A `.git` path whose every secure scheme failed git's ping (the go command's "no
        // secure protocol found"): go on with https, the first the go command tries, so
        // that the ls-remote check below says why (credentials, a prompt, the network).
        Err(e @ ResolveError::NotFound(_)) => match vcs_suffix_path(module) {
            Some((root, repo, vcs)) if vcs == "git" => Ok(RepoRoot {
                root,
                url: format!("https://{repo}"),
            }),
            _ => Err(e),
        },
        Err(e @ ResolveError::Unsupported(_)) => Err(e),
    }
}

/// The most a `git config` query may print.
const MAX_CONFIG_OUTPUT: u64 = 1 << 20;

/// The most `git ls-remote` may print (every ref of a large repository).
const MAX_LS_REMOTE_OUTPUT: u64 = 256 << 20;

/// `git` as the go command runs it, bounded by `limit`: no terminal prompts (unless the
/// user set GIT_TERMINAL_PROMPT), no credential manager dialogs, ssh in batch mode.
fn git(limit: Duration) -> Runner {
    Runner {
        prompting: Prompting::AsGoCommand,
        ..Runner::new(limit, Vec::new())
    }
}

/// What git's `url.<base>.insteadOf` rules make of `url` (the longest match wins).
pub fn rewrite(url: &str, rules: &str) -> Option<String> {
    rules
        .lines()
        .filter_map(|l| {
            let (key, from) = l.split_once(' ')?;
            let base = key.strip_prefix("url.")?.strip_suffix(".insteadof")?;
            url.starts_with(from)
                .then(|| (from.len(), format!("{base}{}", &url[from.len()..])))
        })
        .max_by_key(|(n, _)| *n)
        .map(|(_, u)| u)
}

async fn git_config(args: &[&str]) -> String {
    let mut all = vec!["config"];
    all.extend_from_slice(args);
    git(Duration::from_secs(5))
        .output_any_status(None, &all, MAX_CONFIG_OUTPUT)
        .await
        .map(|r| String::from_utf8_lossy(&r.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Where git would find credentials for `url`: helpers, a netrc entry, an ssh agent.
pub async fn credential_sources(url: &str) -> Vec<String> {
    let mut out = Vec::new();
    let helpers = git_config(&["--get-urlmatch", "credential.helper", url]).await;
    if !helpers.is_empty() {
        out.push(format!("credential helper {helpers}"));
    }
    let host = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let netrc = crate::source::proxy::netrc::file(&std::env::var("NETRC").unwrap_or_default());
    if let Some(n) = netrc
        && let Ok(text) = std::fs::read_to_string(&n)
        && text
            .split_whitespace()
            .collect::<Vec<_>>()
            .windows(2)
            .any(|w| w[0] == "machine" && w[1] == host)
    {
        out.push(format!("{} (machine {host})", n.display()));
    }
    let ssh = url.starts_with("ssh://") || url.contains('@') && !url.contains("://");
    if ssh && std::env::var_os("SSH_AUTH_SOCK").is_some() {
        out.push("ssh agent (SSH_AUTH_SOCK)".into());
    }
    out
}

/// The tag the go command looks for: `v1.2.3` for the module at the repository root,
/// `dir/v1.2.3` for one in a subdirectory (a `/vN` major suffix is not a directory).
pub fn tag_for(module: &str, root: &str, version: &str) -> String {
    let v = version.trim_end_matches("+incompatible");
    let dir = module
        .strip_prefix(root)
        .unwrap_or("")
        .trim_start_matches('/');
    let (parent, last) = dir.rsplit_once('/').unwrap_or(("", dir));
    let major =
        last.len() > 1 && last.starts_with('v') && last[1..].bytes().all(|c| c.is_ascii_digit());
    let dir = if major { parent } else { dir };
    if dir.is_empty() {
        v.to_string()
    } else {
        format!("{dir}/{v}")
    }
}

/// Tags close to `want` that the go command will not take for it.
pub fn near_misses(want: &str, tags: &[String]) -> Vec<String> {
    // The version part, without a leading v or V, padded to three numbers; a tag in
    // another directory (`sub/v1.0.0` for `v1.0.0`) is a near miss too.
    let norm = |t: &str| {
        let v = t.rsplit_once('/').map_or(t, |(_, v)| v);
        let mut parts: Vec<&str> = v.trim_start_matches(['v', 'V']).split('.').collect();
        while parts.len() < 3 {
            parts.push("0");
        }
        parts.join(".")
    };
    let wv = norm(want);
    tags.iter()
        .filter(|t| t.as_str() != want && norm(t) == wv)
        .cloned()
        .collect()
}

/// git's `url.<base>.insteadOf` rules (`git config --get-regexp` lines), read once per run.
pub async fn insteadof_rules() -> String {
    git_config(&["--get-regexp", r"^url\..*\.insteadof$"]).await
}

/// The findings for one module fetched direct, at `version` when given, and what was
/// measured; `rules` are [`insteadof_rules`].
pub async fn check_module(
    settings: &GoSettings,
    rules: &str,
    module: &str,
    version: Option<&str>,
    dl: Deadline,
) -> Checked {
    let root = match repo_root(module, settings, dl).await {
        Ok(r) => r,
        Err(e) => {
            return vec![problem(
                format!("cannot find the repository of {module}: {e}"),
                "the go command fails with \"unrecognized import path\" for it",
                format!(
                    "serve a go-import <meta> tag at https://{module}?go-get=1, or use a module path ending in .git, or fetch it through a proxy that has it"
                ),
            )].into();
        }
    };
    // git itself: ls-remote, the credentials.
    let url = &root.url;
    let actual = rewrite(url, rules);
    let limit = dl.left();
    let ran = git(limit)
        .output_any_status(None, &["ls-remote", "-q", url], MAX_LS_REMOTE_OUTPUT)
        .await;
    let creds = credential_sources(actual.as_deref().unwrap_or(url)).await;
    let shown = match &actual {
        Some(a) => format!("{} (insteadOf: {a})", root.url),
        None => root.url.clone(),
    };
    let target = actual.unwrap_or_else(|| root.url.clone());
    let cred_text = if creds.is_empty() {
        "no credential helper, netrc entry or ssh agent".to_string()
    } else {
        creds.join(", ")
    };
    let host = reqwest::Url::parse(&target)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| target.clone());
    let ran = match ran {
        Ok(r) => r,
        Err(e) => return vec![not_run(module, &shown, &root.url, e, dl)].into(),
    };
    let err = ran.stderr.trim().to_string();
    if !ran.status.success() {
        let (cause, fix) = why_ls_remote_failed(&err, &host, &target, &cred_text, &root.url);
        return vec![problem(
            format!(
                "git ls-remote {shown} failed after {} ms ({cred_text}): {err}",
                ran.elapsed.as_millis()
            ),
            cause,
            fix,
        )]
        .into();
    }
    let mut out = Checked::default();
    out.measure_item(
        Group::Git,
        "git ls-remote",
        module,
        ran.elapsed.as_millis() as u64,
        format!(
            "{module}: {shown}, git ls-remote {} ms, credentials: {cred_text}",
            ran.elapsed.as_millis()
        ),
    );
    if let Some(version) = version
        && let Some(f) = missing_tag(module, &root.root, version, &shown, &ran.stdout)
    {
        out.find(f);
    }
    out
}

/// The finding for git that could not list the repository at all: not installed, hung
/// past the deadline, or another failure to run.
fn not_run(module: &str, shown: &str, url: &str, e: ProcessError, dl: Deadline) -> Finding {
    match e {
        ProcessError::Spawn(e) => problem(
            format!("cannot run git for {module}: cannot run \"git\": {e}"),
            "the go command needs git to fetch modules direct",
            "apt-get install git (or fetch the module through a proxy)".into(),
        ),
        ProcessError::Timeout { stderr: err, .. } => problem(
            format!(
                "git ls-remote {shown} did not finish within {} (--timeout){}",
                ms(dl.whole()),
                if err.trim().is_empty() {
                    String::new()
                } else {
                    format!(": {}", err.trim())
                }
            ),
            "git hangs on this repository (a firewall dropping packets, an ssh host key or passphrase prompt): go mod download hangs with it",
            format!(
                "run GIT_TERMINAL_PROMPT=0 git ls-remote {url} by hand and fix what it waits for"
            ),
        ),
        e => problem(
            format!("git ls-remote {shown}: {e}"),
            "git cannot list the repository",
            format!("run GIT_TERMINAL_PROMPT=0 git ls-remote {url} by hand"),
        ),
    }
}

/// Why `git ls-remote` failed, from what it printed (`err`), and the fix: the cause and
/// the command.
fn why_ls_remote_failed(
    err: &str,
    host: &str,
    target: &str,
    cred_text: &str,
    url: &str,
) -> (&'static str, String) {
    let lower = err.to_lowercase();
    if lower.contains("terminal prompts disabled")
        || lower.contains("could not read username")
        || lower.contains("could not read password")
    {
        (
            "the server wants credentials and git has none to give (the go command disables prompts): \"terminal prompts disabled\"",
            format!(
                "printf 'machine {host} login <user> password <token>\\n' >> ~/.netrc  (or git config --global credential.helper store, then git ls-remote {target} once by hand)"
            ),
        )
    } else if lower.contains("authentication failed") || lower.contains("403") {
        (
            "the credentials git sends are refused",
            format!("renew the token for {host} in {cred_text}"),
        )
    } else if lower.contains("permission denied (publickey)") {
        (
            "the ssh key is refused, or no key is loaded",
            "ssh-add <your key>, and add its public half to the git server".into(),
        )
    } else if lower.contains("host key verification failed") {
        (
            "ssh does not know the server's host key (batch mode cannot ask)",
            format!("ssh-keyscan {host} >> ~/.ssh/known_hosts  (after checking the key)"),
        )
    } else if lower.contains("could not resolve host") {
        (
            "the repository's host name does not resolve",
            format!(
                "check the name, or map it: git config --global url.\"<reachable URL>/\".insteadOf \"{}/\"",
                url.rsplit_once('/').map_or(url, |(a, _)| a)
            ),
        )
    } else if lower.contains("not found")
        || lower.contains("does not appear to be a git repository")
    {
        (
            "there is no repository at that URL (or it is hidden from these credentials)",
            format!("check that {url} exists and that these credentials can read it"),
        )
    } else if lower.contains("ssl") || lower.contains("certificate") {
        (
            "the TLS handshake with the git server failed",
            format!("install the server's CA certificate, or check the name {host}"),
        )
    } else {
        (
            "git cannot list the repository",
            format!("run GIT_TERMINAL_PROMPT=0 git ls-remote {url} by hand"),
        )
    }
}

/// The finding for a canonical `version` whose tag the repository (`ls-remote`'s
/// output) lacks, with the near misses it has (`v1.0` for `v1.0.0`).
fn missing_tag(
    module: &str,
    root: &str,
    version: &str,
    shown: &str,
    ls_remote: &[u8],
) -> Option<Finding> {
    if gomod::semver::canonical(version) != version.trim_end_matches("+incompatible")
        && gomod::semver::canonical(version) != version
        || gomod::pseudo::is_pseudo_version(version)
    {
        return None;
    }
    let tags: Vec<String> = String::from_utf8_lossy(ls_remote)
        .lines()
        .filter_map(|l| l.split('\t').nth(1)?.strip_prefix("refs/tags/"))
        .map(|t| t.trim_end_matches("^{}").to_string())
        .collect();
    let want = tag_for(module, root, version);
    if tags.contains(&want) {
        return None;
    }
    let near = near_misses(&want, &tags);
    let (measured, fix) = match near.first() {
        Some(n) => (
            format!(
                "{shown} has no tag {want} for {module}@{version}; it has {}",
                near.join(", ")
            ),
            format!(
                "git tag {want} {n}^{{commit}} && git push origin {want}  (in the repository; Go versions are full vMAJOR.MINOR.PATCH tags)"
            ),
        ),
        None => (
            format!("{shown} has no tag {want} for {module}@{version}"),
            format!("go list -m -versions {module}  (then require a version that exists)"),
        ),
    };
    Some(problem(
        measured,
        "the go command fails with \"unknown revision\" for this version",
        fix,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insteadof_rules_the_longest_wins() {
        let rules = "url.ssh://git@corp.example.com/.insteadof https://corp.example.com/\nurl.http://127.0.0.1:9/t/.insteadof https://corp.example.com/team/\n";
        assert_eq!(
            rewrite("https://corp.example.com/team/lib", rules).as_deref(),
            Some("http://127.0.0.1:9/t/lib")
        );
        assert_eq!(
            rewrite("https://corp.example.com/x", rules).as_deref(),
            Some("ssh://git@corp.example.com/x")
        );
        assert_eq!(rewrite("https://github.com/x/y", rules), None);
    }

    #[test]
    fn tags_and_near_misses() {
        assert_eq!(tag_for("a.b/r.git", "a.b/r.git", "v1.0.0"), "v1.0.0");
        assert_eq!(tag_for("a.b/r.git/v2", "a.b/r.git", "v2.1.0"), "v2.1.0");
        assert_eq!(
            tag_for("a.b/r.git/sub", "a.b/r.git", "v0.1.0"),
            "sub/v0.1.0"
        );
        assert_eq!(
            tag_for("a.b/r.git/sub/v3", "a.b/r.git", "v3.0.0"),
            "sub/v3.0.0"
        );
        assert_eq!(
            tag_for("github.com/o/r", "github.com/o/r", "v2.0.0+incompatible"),
            "v2.0.0"
        );
        let tags = ["v1.0", "1.0.0", "v1.1.0", "V1.0.0"].map(String::from);
        assert_eq!(near_misses("v1.0.0", &tags), ["v1.0", "1.0.0", "V1.0.0"]);
        assert_eq!(near_misses("v2.0.0", &tags), Vec::<String>::new());
    }
}
