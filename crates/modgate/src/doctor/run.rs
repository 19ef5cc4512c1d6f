//! One run of the doctor: read the settings and the project, run every check (those that
//! wait on the network at once, each bounded by the timeout), and gather the report.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::checked::{Checked, Measured};
use super::deadline::Deadline;
use super::explain::{Explanation, explain, modules_named};
use super::finding::{Finding, Group, Severity};
use super::project::Project;
use super::routing::{self, Route, route};
use super::{
    cache, checksum_db, config, cpu, git, go_sum, go_sum_db, network, not_found, project,
    requirements,
};
use crate::goenv::{GoSettings, Origin};
use crate::source::chain::Entry;

/// How many `git ls-remote` run at once.
const GIT_AT_ONCE: usize = 8;

/// What to examine.
#[derive(Debug, Clone)]
pub struct Options {
    /// The project directory.
    pub dir: PathBuf,
    /// `--module PATH[@VERSION]`: these instead of the project's requirements.
    pub modules: Vec<String>,
    /// The bound of each measurement.
    pub timeout: Duration,
    /// `--explain`: an error text to explain.
    pub explain: Option<String>,
}

/// The doctor's report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The project directory.
    pub dir: PathBuf,
    /// The module in it, when it has a go.mod.
    pub module: Option<String>,
    /// Where the settings came from.
    pub settings_from: String,
    /// The settings read.
    pub settings: std::collections::BTreeMap<String, String>,
    /// The modules checked (`path` or `path@version`).
    pub modules: Vec<String>,
    /// Each module's route: (module, the route in words).
    pub routes: Vec<(String, String)>,
    /// What was found.
    pub findings: Vec<Finding>,
    /// What was measured.
    pub measured: Vec<Measured>,
    /// The explanation asked for with `--explain`.
    pub explanation: Option<Explanation>,
}

impl Report {
    /// How many findings of `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// The exit status: 0 healthy (warnings at most), 1 problems found.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.count(Severity::Problem) > 0)
    }
}

/// Why the doctor cannot run at all (what it finds is in its report instead).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--timeout` is not a duration.
    #[error("--timeout {0}")]
    TimeoutSyntax(#[source] crate::duration::DurationError),
    /// `--timeout` is a duration out of the range allowed.
    #[error("--timeout {given}: want a duration from 10ms to 1h (such as 10s, 1m30s or 1h)")]
    TimeoutRange {
        /// What was given.
        given: String,
    },
    /// `--module`'s path is not a module path.
    #[error("--module {arg}: {source}")]
    ModulePath {
        /// What was given.
        arg: String,
        /// Why.
        #[source]
        source: gomod::module::Error,
    },
    /// `--module PATH@` with no version after the `@`.
    #[error("--module {arg}: no version after @ (want PATH@vMAJOR.MINOR.PATCH, or PATH alone)")]
    NoVersion {
        /// What was given.
        arg: String,
    },
    /// The project directory is not one.
    #[error("{} is not a directory", dir.display())]
    NotADirectory {
        /// The directory given.
        dir: PathBuf,
    },
    /// The go command's settings could not be read.
    #[error(transparent)]
    Settings(#[from] crate::goenv::Error),
    /// A check's task failed.
    #[error("{0}")]
    Task(#[source] tokio::task::JoinError),
}

/// Parses `--timeout`: a Go duration (`10s`, `500ms`, `1m30s`, `1h`) or a number of
/// seconds, from 10ms to 1h.
pub fn parse_timeout(s: &str) -> Result<Duration, Error> {
    let d = crate::duration::parse(s).map_err(Error::TimeoutSyntax)?;
    if !(Duration::from_millis(10)..=Duration::from_secs(3600)).contains(&d) {
        return Err(Error::TimeoutRange {
            given: s.to_string(),
        });
    }
    Ok(d)
}

/// A check run on a blocking thread, awaited until the deadline: a file system that hangs
/// (a stuck network mount) becomes a finding instead of a doctor that never ends.
async fn within(
    dl: Deadline,
    what: &str,
    modcache: &Path,
    task: tokio::task::JoinHandle<Checked>,
) -> Checked {
    match tokio::time::timeout(dl.left(), task).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => Checked::from(vec![Finding {
            group: Group::Cache,
            severity: Severity::Warning,
            measured: format!("the check of {what} failed: {e}"),
            cause: "the doctor could not finish this check".into(),
            fix: None,
        }]),
        Err(_) => Checked::from(vec![Finding {
            group: Group::Cache,
            severity: Severity::Problem,
            measured: format!(
                "the check of {what} ({}) did not finish within {} (--timeout)",
                modcache.display(),
                super::client::ms(dl.whole())
            ),
            cause: "reading or writing there hangs (a stuck network file system, a failing disk): the go command hangs there too".into(),
            fix: Some(format!(
                "check the mount of {} (mount, dmesg), or go env -w GOMODCACHE=<a local directory>",
                modcache.display()
            )),
        }]),
    }
}

/// Parses `PATH[@VERSION]`.
fn target(arg: &str) -> Result<(String, Option<String>), Error> {
    let (path, version) = match arg.split_once('@') {
        Some((p, v)) => (p, Some(v.to_string())),
        None => (arg, None),
    };
    gomod::module::check_path(path).map_err(|source| Error::ModulePath {
        arg: arg.to_string(),
        source,
    })?;
    // Any query the go command takes (v1.2.3, v1.2, latest, a branch or commit) goes; the
    // tag check looks only at canonical versions.
    if version
        .as_deref()
        .is_some_and(|v| v.is_empty() || v.contains(char::is_whitespace))
    {
        return Err(Error::NoVersion {
            arg: arg.to_string(),
        });
    }
    Ok((path.to_string(), version))
}

/// A module to check, and the version asked for (a query), if any.
type Target = (String, Option<String>);

/// Runs the doctor: `Err` when it cannot run at all.
pub async fn run(opts: &Options) -> Result<Report, Error> {
    // One deadline for everything that waits, `go env` included.
    let dl = Deadline::after(opts.timeout);
    let dir = crate::platform::path::canonical(&opts.dir)
        .ok()
        .filter(|d| d.is_dir())
        .ok_or_else(|| Error::NotADirectory {
            dir: opts.dir.clone(),
        })?;
    // As the go command run in the project sees them (GOWORK is found from there).
    let settings = GoSettings::current(Some(&dir), dl.left()).await?;
    let opts = &Options {
        dir,
        ..opts.clone()
    };
    // Every check's findings and measurements, in the checks' order.
    let mut checks: Vec<Checked> = Vec::new();
    let project = match Project::read(&opts.dir, settings.get("GOWORK")) {
        Ok(p) => p,
        Err(e) => {
            checks.push(unreadable_project(&e));
            None
        }
    };
    let targets = targets_of(opts, project.as_ref())?;
    let module_paths: Vec<String> = targets.iter().map(|(m, _)| m.clone()).collect();
    checks.push(config::check(&settings, &module_paths));
    if let Some(p) = &project {
        checks.push(project::check(p, &settings));
    }
    // Each target's route, worked out once.
    let routes: Vec<Result<Route, routing::Error>> =
        targets.iter().map(|(m, _)| route(&settings, m)).collect();
    let modcache = PathBuf::from(settings.get("GOMODCACHE"));
    let go_sums: Vec<PathBuf> = project
        .as_ref()
        .map(|p| p.go_sum_files.clone())
        .unwrap_or_default();
    let sums = go_sum::read(&go_sums);
    // The checks that only read this machine run on blocking threads meanwhile.
    let local = Local::start(&settings, &modcache, go_sums, dl);
    let remote = Remote {
        settings: &settings,
        targets: &targets,
        routes: &routes,
        modcache: &modcache,
        sums: &sums,
        dl,
    }
    .run()
    .await;
    checks.extend(remote.checks);
    // A go.sum line the database and the cache both contradict is the database check's
    // finding (go.sum is wrong, and its fix mends go.sum), not the cache's.
    let mut cached = within(dl, "the module cache", &modcache, local.cache).await;
    cached
        .findings
        .retain(|f| !judged_elsewhere(f, &remote.owned_lines));
    checks.push(cached);
    let sample = local.cpu.await.map_err(Error::Task)?;
    checks.push(cpu::check(&sample, &settings, remote.zip_rate));
    checks.push(within(dl, "the module cache's disk", &modcache, local.disk).await);
    Ok(report(opts, &settings, project, &targets, routes, checks))
}

/// The finding for a project whose go.mod, go.work or go.sum cannot be read.
fn unreadable_project(e: &project::Error) -> Checked {
    vec![Finding {
        group: Group::Configuration,
        severity: Severity::Problem,
        measured: format!("the project cannot be read: {e}"),
        cause: "the go command stops at the same error".into(),
        fix: Some(
            "edit the file at the line named (go mod edit -fmt shows the first error)".into(),
        ),
    }]
    .into()
}

/// The modules to check: `--module`'s, else the project's; plus those `--explain`'s
/// text names.
fn targets_of(opts: &Options, project: Option<&Project>) -> Result<Vec<Target>, Error> {
    let mut targets: Vec<Target> = Vec::new();
    for m in &opts.modules {
        targets.push(target(m)?);
    }
    if targets.is_empty()
        && let Some(p) = project
    {
        targets = p.fetched().into_iter().map(|(m, v)| (m, Some(v))).collect();
    }
    if let Some(text) = &opts.explain {
        for m in modules_named(text) {
            if let Ok(t) = target(&m)
                && !targets.contains(&t)
            {
                targets.push(t);
            }
        }
    }
    Ok(targets)
}

/// The checks of this machine alone, on blocking threads: the module cache (no entry's
/// check starts in the last fifth of the time, so that those under way end before the
/// deadline and what they found is kept), the CPU, the cache's disk.
struct Local {
    cache: tokio::task::JoinHandle<Checked>,
    cpu: tokio::task::JoinHandle<cpu::Sample>,
    disk: tokio::task::JoinHandle<Checked>,
}

impl Local {
    fn start(settings: &GoSettings, modcache: &Path, go_sums: Vec<PathBuf>, dl: Deadline) -> Local {
        let modcache_rw = crate::goenv::has_modcacherw(settings.get("GOFLAGS"));
        let (mc, left) = (modcache.to_path_buf(), dl.left().mul_f64(0.8));
        let cache =
            tokio::task::spawn_blocking(move || cache::check(&mc, &go_sums, modcache_rw, left));
        let cpu = tokio::task::spawn_blocking(|| cpu::Sample::take(Duration::from_millis(250)));
        let mc = modcache.to_path_buf();
        let disk = tokio::task::spawn_blocking(move || cache::check_disk(&mc));
        Local { cache, cpu, disk }
    }
}

/// The checks that wait on the network, all under one deadline.
struct Remote<'a> {
    settings: &'a GoSettings,
    targets: &'a [Target],
    routes: &'a [Result<Route, routing::Error>],
    modcache: &'a Path,
    sums: &'a [go_sum::Line],
    dl: Deadline,
}

/// What they gave: their checks in order, the fastest zip download (for the CPU's
/// verdict), the go.sum lines judged against the database or the proxy's bytes.
struct RemoteOutcome {
    checks: Vec<Checked>,
    zip_rate: Option<f64>,
    owned_lines: Vec<String>,
}

impl Remote<'_> {
    /// The proxies, the checksum database (when some module is looked up in it), the
    /// requirements and git for the modules that go direct first, at once; then go.sum
    /// against the database, why proxies lacked modules, and git for the modules a proxy
    /// did not know, with what is left.
    async fn run(&self) -> RemoteOutcome {
        let (settings, targets, routes, dl) = (self.settings, self.targets, self.routes, self.dl);
        let uses_db = routes
            .iter()
            .any(|r| r.as_ref().is_ok_and(|r| r.sumdb.is_some()))
            || targets.is_empty();
        let direct_first: Vec<Target> = targets
            .iter()
            .zip(routes)
            .filter(|(_, r)| {
                r.as_ref()
                    .is_ok_and(|r| matches!(r.entries.first(), Some((Entry::Direct, _))))
            })
            .map(|(t, _)| t.clone())
            .collect();
        let rules = if direct_first.is_empty() && targets.is_empty() {
            String::new()
        } else {
            git::insteadof_rules().await
        };
        let (net, db, reqs, mut git_checks) = tokio::join!(
            network::check(settings, dl),
            async {
                if uses_db {
                    checksum_db::check(settings, dl).await
                } else {
                    checksum_db::Outcome::default()
                }
            },
            requirements::check(settings, targets, self.modcache, self.sums, dl),
            self.git(&rules, direct_first.clone()),
        );
        // go.sum against the database, for the modules looked up in it.
        let sums_db = match &db.reached {
            Some(reached) => {
                let looked_up: Vec<(String, String)> = targets
                    .iter()
                    .zip(routes)
                    .filter(|(_, r)| r.as_ref().is_ok_and(|r| r.sumdb.is_some()))
                    .filter_map(|((m, v), _)| Some((m.clone(), v.clone()?)))
                    .collect();
                go_sum_db::check(
                    reached,
                    &looked_up,
                    self.sums,
                    &reqs.served,
                    self.modcache,
                    dl,
                )
                .await
            }
            None => go_sum_db::Outcome::default(),
        };
        let owned_lines: Vec<String> = sums_db.owned.iter().chain(&reqs.owned).cloned().collect();
        // Why proxies did not have some modules, each cause checked before it is named.
        let missing = not_found::judge(&reqs.not_found, db.reached.as_ref(), settings, dl).await;
        let later: Vec<Target> = targets
            .iter()
            .filter(|(m, _)| {
                reqs.to_direct.contains(m) && !direct_first.iter().any(|(d, _)| d == m)
            })
            .cloned()
            .collect();
        git_checks.extend(self.git(&rules, later).await);
        let mut checks = vec![
            net.checked,
            db.checked,
            reqs.checked,
            missing,
            sums_db.checked,
        ];
        checks.extend(git_checks);
        RemoteOutcome {
            checks,
            zip_rate: net.zip_rate,
            owned_lines,
        }
    }

    /// git for `modules`: at most GIT_AT_ONCE processes at a time, the results in the
    /// modules' order.
    async fn git(&self, rules: &str, modules: Vec<Target>) -> Vec<Checked> {
        use futures_util::StreamExt;
        let (settings, dl) = (self.settings, self.dl);
        futures_util::stream::iter(modules.into_iter().map(|(m, v)| async move {
            git::check_module(settings, rules, &m, v.as_deref(), dl).await
        }))
        .buffered(GIT_AT_ONCE)
        .collect::<Vec<Checked>>()
        .await
    }
}

/// Whether the cache finding `f` names only go.sum lines another check judged (kept when
/// any line it lists was not).
fn judged_elsewhere(f: &Finding, owned_lines: &[String]) -> bool {
    let lines = f.measured.matches(" says ").count();
    let owned = owned_lines
        .iter()
        .filter(|at| f.measured.contains(&format!("{at} says")))
        .count();
    lines > 0 && owned >= lines && !f.measured.contains("; and ")
}

/// The report of the checks, findings by group and severity.
fn report(
    opts: &Options,
    settings: &GoSettings,
    project: Option<Project>,
    targets: &[Target],
    routes: Vec<Result<Route, routing::Error>>,
    checks: Vec<Checked>,
) -> Report {
    let Checked {
        mut findings,
        measured,
    } = checks.into_iter().collect();
    findings.sort_by_key(|f| (f.group, std::cmp::Reverse(f.severity)));
    let routes = targets
        .iter()
        .zip(routes)
        .map(|((m, _), r)| {
            (
                m.clone(),
                r.map_or_else(|e| e.to_string(), |r| r.describe()),
            )
        })
        .collect();
    let explanation = opts.explain.as_deref().map(|t| explain(t, &findings));
    Report {
        dir: opts.dir.clone(),
        module: project.map(|p| p.module),
        settings_from: match &settings.origin {
            Origin::GoEnv(go) => format!("{} env -json", go.display()),
            Origin::Environment => {
                "the environment and the GOENV file (no go command on PATH)".into()
            }
        },
        settings: settings.values.clone(),
        modules: targets
            .iter()
            .map(|(m, v)| match v {
                Some(v) => format!("{m}@{v}"),
                None => m.clone(),
            })
            .collect(),
        routes,
        findings,
        measured,
        explanation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_and_module_arguments() {
        let timeout = |s: &str| parse_timeout(s).map_err(|e| e.to_string());
        assert_eq!(timeout("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(timeout("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(timeout("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(timeout("3"), Ok(Duration::from_secs(3)));
        assert_eq!(timeout("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(timeout("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(
            timeout("10h"),
            Err("--timeout 10h: want a duration from 10ms to 1h (such as 10s, 1m30s or 1h)".into())
        );
        assert!(matches!(
            parse_timeout("5ms"),
            Err(Error::TimeoutRange { given }) if given == "5ms"
        ));
        assert_eq!(
            timeout("5ms"),
            Err("--timeout 5ms: want a duration from 10ms to 1h (such as 10s, 1m30s or 1h)".into())
        );
        assert!(matches!(
            parse_timeout("soon"),
            Err(Error::TimeoutSyntax(_))
        ));
        assert_eq!(
            timeout("soon"),
            Err(format!(
                "--timeout \"soon\": not a duration ({})",
                crate::duration::SYNTAX
            ))
        );
        let module = |s: &str| target(s).map_err(|e| e.to_string());
        assert_eq!(
            module("github.com/pkg/errors@v0.9.1"),
            Ok(("github.com/pkg/errors".into(), Some("v0.9.1".into())))
        );
        assert!(matches!(
            target("github.com/pkg/errors@"),
            Err(Error::NoVersion { .. })
        ));
        assert_eq!(
            module("github.com/pkg/errors@"),
            Err("--module github.com/pkg/errors@: no version after @ (want PATH@vMAJOR.MINOR.PATCH, or PATH alone)".into())
        );
        assert!(matches!(
            target("../etc/passwd"),
            Err(Error::ModulePath { .. })
        ));
        assert!(
            module("../etc/passwd")
                .unwrap_err()
                .starts_with("--module ../etc/passwd: ")
        );
    }
}
