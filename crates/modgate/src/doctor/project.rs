//! The project in DIR: its go.mod (module, go and toolchain lines, requirements, replaces),
//! the go.work in effect (its modules' requirements and go.sum files, go.work.sum, its
//! replaces), go.sum and vendor directory, and what they say before anything is fetched: requirements
//! with no go.sum line (the go command's "missing go.sum entry"), and a vendor directory
//! that no longer matches go.mod while GOFLAGS asks for `-mod=vendor`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::checked::Checked;
use super::finding::{Finding, Group, Severity};
use crate::goenv::GoSettings;

/// What the doctor reads of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The directory holding go.mod.
    pub dir: PathBuf,
    /// The module path.
    pub module: String,
    /// The `go` line.
    pub go: Option<String>,
    /// The `toolchain` line.
    pub toolchain: Option<String>,
    /// The requirements: (path, version), of every module of the workspace when there is
    /// one, less the workspace's own modules.
    pub requires: Vec<(String, String)>,
    /// The replacements: (old path, old version or "" for all, new path, new version or ""
    /// for a directory); go.work's win over go.mod's.
    pub replace: Vec<(String, String, String, String)>,
    /// The go.work in effect, if any.
    pub work: Option<PathBuf>,
    /// The lines of go.sum (and of the workspace's go.sum and go.work.sum files).
    pub go_sum: BTreeSet<String>,
    /// The files those lines came from.
    pub go_sum_files: Vec<PathBuf>,
}

/// The go.work the go command uses for `dir`: GOWORK (`off`: none), else the first
/// go.work in `dir` or a parent.
pub fn find_work(dir: &Path, gowork: &str) -> Option<PathBuf> {
    match gowork {
        "off" => None,
        "" => dir
            .ancestors()
            .map(|d| d.join("go.work"))
            .find(|p| p.is_file()),
        p => Some(PathBuf::from(p)),
    }
}

/// The lines of the go.sum file `path`, if there is one, and its name.
fn read_sum(path: &Path, lines: &mut BTreeSet<String>, files: &mut Vec<PathBuf>) {
    if let Ok(text) = std::fs::read_to_string(path) {
        lines.extend(text.lines().map(str::to_string));
        files.push(path.to_path_buf());
    }
}

/// Why a project's go.mod or go.work cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A go.mod or go.work file does not parse (the errors name it and their lines).
    #[error(transparent)]
    Parse(#[from] gomod::modfile::Errors),
    /// A directory go.work uses has no go.mod.
    #[error("{}: use {dir}: no go.mod there", work.display())]
    NoGoMod {
        /// The go.work.
        work: PathBuf,
        /// The directory, as go.work writes it.
        dir: String,
    },
}

/// The go.mod file `path`, parsed; `None` when there is none.
fn parse_mod(path: &Path) -> Result<Option<gomod::modfile::File>, Error> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    Ok(Some(gomod::modfile::parse(
        &path.display().to_string(),
        &data,
        None,
    )?))
}

fn replaces(r: &[gomod::modfile::Replace]) -> Vec<(String, String, String, String)> {
    r.iter()
        .map(|r| {
            (
                r.old.path.clone(),
                r.old.version.clone(),
                r.new.path.clone(),
                r.new.version.clone(),
            )
        })
        .collect()
}

impl Project {
    /// Reads `dir/go.mod` (`None` when there is none) and `dir/go.sum`, and the go.work in
    /// effect (`gowork`: the GOWORK setting) with its modules' go.mod and go.sum files.
    pub fn read(dir: &Path, gowork: &str) -> Result<Option<Project>, Error> {
        let Some(f) = parse_mod(&dir.join("go.mod"))? else {
            return Ok(None);
        };
        let mut go_sum = BTreeSet::new();
        let mut go_sum_files = Vec::new();
        read_sum(&dir.join("go.sum"), &mut go_sum, &mut go_sum_files);
        let module = f
            .module
            .as_ref()
            .map(|m| m.mod_.path.clone())
            .unwrap_or_default();
        let mut requires: Vec<(String, String)> = f
            .require
            .iter()
            .map(|r| (r.mod_.path.clone(), r.mod_.version.clone()))
            .collect();
        let mut replace = replaces(&f.replace);
        let work = find_work(dir, gowork);
        if let Some(w) = &work {
            let data = std::fs::read(w).map_err(|source| Error::Read {
                path: w.clone(),
                source,
            })?;
            let wf = gomod::modfile::parse_work(&w.display().to_string(), &data, None)?;
            let wdir = w.parent().unwrap_or(Path::new("."));
            read_sum(
                &w.with_extension("work.sum"),
                &mut go_sum,
                &mut go_sum_files,
            );
            let mut members = vec![module.clone()];
            for u in &wf.use_ {
                let d = wdir.join(&u.path);
                let Some(m) = parse_mod(&d.join("go.mod"))? else {
                    return Err(Error::NoGoMod {
                        work: w.clone(),
                        dir: u.path.clone(),
                    });
                };
                read_sum(&d.join("go.sum"), &mut go_sum, &mut go_sum_files);
                members.extend(m.module.as_ref().map(|x| x.mod_.path.clone()));
                for r in &m.require {
                    let req = (r.mod_.path.clone(), r.mod_.version.clone());
                    if !requires.contains(&req) {
                        requires.push(req);
                    }
                }
                replace.extend(replaces(&m.replace));
            }
            requires.retain(|(p, _)| !members.contains(p));
            // go.work's replacements win: put them first.
            let mut all = replaces(&wf.replace);
            all.extend(replace);
            replace = all;
        }
        Ok(Some(Project {
            dir: dir.to_path_buf(),
            module,
            go: f.go.map(|g| g.version),
            toolchain: f.toolchain.map(|t| t.name),
            requires,
            replace,
            work,
            go_sum,
            go_sum_files,
        }))
    }

    /// The module paths the project requires.
    pub fn modules(&self) -> Vec<String> {
        self.requires.iter().map(|(p, _)| p.clone()).collect()
    }

    /// What is fetched for each requirement: (path, version) after the replacements; a
    /// requirement replaced by a directory is not fetched and left out.
    pub fn fetched(&self) -> Vec<(String, String)> {
        self.requires
            .iter()
            .filter_map(|(p, v)| {
                let r = self
                    .replace
                    .iter()
                    .find(|(op, ov, _, _)| op == p && (ov.is_empty() || ov == v));
                match r {
                    None => Some((p.clone(), v.clone())),
                    Some((_, _, _, nv)) if nv.is_empty() => None,
                    Some((_, _, np, nv)) => Some((np.clone(), nv.clone())),
                }
            })
            .collect()
    }
}

/// The findings about `project` under `settings`.
pub fn check(project: &Project, settings: &GoSettings) -> Checked {
    let mut out = Checked::default();
    if let Some(f) = missing_sums(project) {
        out.find(f);
    }
    if let Some(f) = toolchain_finding(project, settings) {
        out.find(f);
    }
    if let Some(f) = vendor_finding(project, settings) {
        out.find(f);
    }
    out
}

/// The requirements go.sum has no `/go.mod` line for (the go command's "missing go.sum
/// entry").
fn missing_sums(project: &Project) -> Option<Finding> {
    let missing: Vec<String> = project
        .fetched()
        .iter()
        .filter(|(p, v)| {
            let prefix = format!("{p} {v}/go.mod h1:");
            !project.go_sum.iter().any(|l| l.starts_with(&prefix))
        })
        .map(|(p, v)| format!("{p}@{v}"))
        .collect();
    if missing.is_empty() {
        return None;
    }
    Some(Finding {
        group: Group::Configuration,
        severity: Severity::Problem,
        measured: format!(
            "go.sum has no line for {} of go.mod's requirements: {}",
            missing.len(),
            missing.join(", ")
        ),
        cause: "the go command stops with \"missing go.sum entry\" for them".into(),
        // go mod download adds their lines and leaves go.mod alone (go mod tidy would
        // also drop requirements nothing imports).
        fix: Some(format!(
            "cd {} && go mod download {}",
            project.dir.display(),
            missing.join(" ")
        )),
    })
}

/// A vendor directory that no longer matches go.mod, in vendor mode: -mod=vendor, or (as
/// the go command decides it) a vendor/modules.txt with a go line of 1.14 or later and no
/// other -mod flag.
fn vendor_finding(project: &Project, settings: &GoSettings) -> Option<Finding> {
    let mod_flag = settings
        .get("GOFLAGS")
        .split_whitespace()
        .find_map(|f| f.strip_prefix("-mod="))
        .map(str::to_string);
    let has_vendor = project.dir.join("vendor/modules.txt").is_file();
    let go_at_least = |min: &str| {
        project
            .go
            .as_deref()
            .is_some_and(|g| go_version_key(g) >= go_version_key(min))
    };
    let vendor_mode = match mod_flag.as_deref() {
        Some("vendor") => true,
        Some(_) => false,
        None => project.work.is_none() && has_vendor && go_at_least("1.14"),
    };
    if !vendor_mode {
        return None;
    }
    let why = if mod_flag.is_some() {
        "GOFLAGS=-mod=vendor".to_string()
    } else {
        format!(
            "vendor/modules.txt with go {} (vendor mode by default)",
            project.go.as_deref().unwrap_or("")
        )
    };
    let stale = stale_vendored(project, go_at_least("1.17"));
    if stale.is_empty() {
        return None;
    }
    Some(Finding {
        group: Group::Configuration,
        severity: Severity::Problem,
        measured: format!("{why}; {}", stale.join("; ")),
        cause: "the vendor directory does not match go.mod: builds fail with \"inconsistent vendoring\"".into(),
        fix: Some(format!("cd {} && go mod vendor", project.dir.display())),
    })
}

/// How vendor/modules.txt differs from the requirements: a requirement not listed, or
/// (with `explicit`: from go 1.17) not marked `## explicit`; or the file missing.
fn stale_vendored(project: &Project, explicit: bool) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(project.dir.join("vendor/modules.txt")) else {
        return vec!["vendor/modules.txt is missing".into()];
    };
    let lines: Vec<&str> = text.lines().collect();
    project
        .requires
        .iter()
        .filter_map(|(p, v)| {
            let head = format!("# {p} {v}");
            let at = lines
                .iter()
                .position(|l| *l == head || l.starts_with(&format!("{head} => ")));
            match at {
                None => Some(format!("{p}@{v} is not in vendor/modules.txt")),
                // From go 1.17 each requirement is marked `## explicit`.
                Some(i)
                    if explicit
                        && !lines
                            .get(i + 1)
                            .is_some_and(|l| l.starts_with("## explicit")) =>
                {
                    Some(format!(
                        "{p}@{v} is not marked ## explicit in vendor/modules.txt"
                    ))
                }
                Some(_) => None,
            }
        })
        .collect()
}

/// A Go version (`1.23.4`, `1.24rc1`, `go1.22`) as numbers, a pre-release below its
/// release.
fn go_version_key(v: &str) -> Vec<i64> {
    let v = v.trim_start_matches("go");
    let end = v
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(v.len());
    let mut key: Vec<i64> = v[..end].split('.').filter_map(|x| x.parse().ok()).collect();
    while key.len() < 3 {
        key.push(if end < v.len() && key.len() == 2 {
            -1
        } else {
            0
        });
    }
    key
}

/// go.mod asks for a newer Go than this one, and GOTOOLCHAIN or GOPROXY stop the go
/// command from fetching it.
fn toolchain_finding(project: &Project, settings: &GoSettings) -> Option<Finding> {
    let local = settings.get("GOVERSION");
    if local.is_empty() {
        return None;
    }
    // The go line is the requirement; the toolchain line only a preference.
    let want = project.go.clone()?;
    if go_version_key(&want) <= go_version_key(local) {
        return None;
    }
    let gotoolchain = settings.get("GOTOOLCHAIN");
    let goproxy = settings.get("GOPROXY");
    let want_name = format!("go{}", want.trim_start_matches("go"));
    if gotoolchain.split('+').next() == Some("local") {
        Some(Finding {
            group: Group::Configuration,
            severity: Severity::Problem,
            measured: format!("go.mod asks for {want_name}; this go is {local} and GOTOOLCHAIN={gotoolchain}"),
            cause: "the go command may not fetch the newer toolchain: \"go.mod requires go >= ...; running go ...; GOTOOLCHAIN=local\"".into(),
            fix: Some("go env -w GOTOOLCHAIN=auto  (or install the newer Go)".into()),
        })
    } else if goproxy.trim() == "off" || goproxy.trim() == "direct" {
        Some(Finding {
            group: Group::Configuration,
            severity: Severity::Problem,
            measured: format!("go.mod asks for {want_name}; this go is {local} and GOPROXY={goproxy}"),
            cause: "the newer toolchain is downloaded as the module golang.org/toolchain through GOPROXY: \"toolchain not available\"".into(),
            fix: Some(format!("go env -w GOPROXY=https://proxy.golang.org,direct  (or install {want_name})")),
        })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goenv::Origin;

    fn settings(goflags: &str) -> GoSettings {
        GoSettings {
            values: [("GOFLAGS".to_string(), goflags.to_string())]
                .into_iter()
                .collect(),
            origin: Origin::Environment,
        }
    }

    #[test]
    fn missing_go_sum_lines_and_a_stale_vendor_directory() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("go.mod"),
            "module example.com/app\n\ngo 1.22\n\ntoolchain go1.23.5\n\nrequire (\n\tgithub.com/pkg/errors v0.9.1\n\tgolang.org/x/text v0.14.0\n)\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("go.sum"),
            "github.com/pkg/errors v0.9.1 h1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=\ngithub.com/pkg/errors v0.9.1/go.mod h1:bwawxfHBFNV+L2hUp1rHADufV3IMtnDRdf1r5NINEl0=\n",
        )
        .unwrap();
        let p = Project::read(d.path(), "off").unwrap().unwrap();
        assert_eq!(p.module, "example.com/app");
        assert_eq!(
            (p.go.as_deref(), p.toolchain.as_deref()),
            (Some("1.22"), Some("go1.23.5"))
        );
        assert_eq!(p.modules(), ["github.com/pkg/errors", "golang.org/x/text"]);
        let f = check(&p, &settings("")).findings;
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].measured,
            "go.sum has no line for 1 of go.mod's requirements: golang.org/x/text@v0.14.0"
        );
        assert_eq!(
            f[0].fix,
            Some(format!(
                "cd {} && go mod download golang.org/x/text@v0.14.0",
                d.path().display()
            ))
        );

        let f = check(&p, &settings("-mod=vendor")).findings;
        assert_eq!(
            f[1].measured,
            "GOFLAGS=-mod=vendor; vendor/modules.txt is missing"
        );
        std::fs::create_dir_all(d.path().join("vendor")).unwrap();
        std::fs::write(
            d.path().join("vendor/modules.txt"),
            "# github.com/pkg/errors v0.9.1\n## explicit\ngithub.com/pkg/errors\n# golang.org/x/text v0.13.0\n",
        )
        .unwrap();
        let f = check(&p, &settings("-mod=vendor")).findings;
        assert_eq!(
            f[1].measured,
            "GOFLAGS=-mod=vendor; golang.org/x/text@v0.14.0 is not in vendor/modules.txt"
        );
        // Without the flag: vendor mode by default (go 1.22, a vendor/modules.txt); with
        // -mod=mod: not.
        let f = check(&p, &settings("")).findings;
        assert_eq!(
            f[1].measured,
            "vendor/modules.txt with go 1.22 (vendor mode by default); golang.org/x/text@v0.14.0 is not in vendor/modules.txt"
        );
        assert_eq!(check(&p, &settings("-mod=mod")).findings.len(), 1);
        // From go 1.17, each requirement marked ## explicit.
        std::fs::write(
            d.path().join("vendor/modules.txt"),
            "# github.com/pkg/errors v0.9.1\ngithub.com/pkg/errors\n# golang.org/x/text v0.14.0\n## explicit\n",
        )
        .unwrap();
        let f = check(&p, &settings("")).findings;
        assert_eq!(
            f[1].measured,
            "vendor/modules.txt with go 1.22 (vendor mode by default); github.com/pkg/errors@v0.9.1 is not marked ## explicit in vendor/modules.txt"
        );
        assert_eq!(
            Project::read(&d.path().join("nothing"), "off").unwrap(),
            None
        );

        // A newer toolchain than this go, which GOTOOLCHAIN=local forbids fetching.
        let mut s = settings("");
        for (k, v) in [
            ("GOVERSION", "go1.23.4"),
            ("GOTOOLCHAIN", "local"),
            ("GOPROXY", "https://proxy.golang.org"),
        ] {
            s.values.insert(k.into(), v.into());
        }
        assert_eq!(toolchain_finding(&p, &s), None);
        let mut newer = p.clone();
        newer.toolchain = Some("go1.25.0".into());
        assert_eq!(toolchain_finding(&newer, &s), None);
        newer.go = Some("1.24rc1".into());
        assert_eq!(
            toolchain_finding(&newer, &s).unwrap().measured,
            "go.mod asks for go1.24rc1; this go is go1.23.4 and GOTOOLCHAIN=local"
        );
        s.values.insert("GOTOOLCHAIN".into(), "auto".into());
        assert_eq!(toolchain_finding(&newer, &s), None);
        assert!(go_version_key("1.24rc1") < go_version_key("1.24.0"));
        assert!(go_version_key("1.23.4") < go_version_key("1.24rc1"));
    }

    #[test]
    fn a_workspace_and_replacements() {
        let d = tempfile::tempdir().unwrap();
        let w = |p: &str, t: &str| {
            let p = d.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, t).unwrap();
        };
        w(
            "app/go.mod",
            "module example.com/app\n\ngo 1.22\n\nrequire (\n\texample.com/lib v0.1.0\n\tgithub.com/pkg/errors v0.9.1\n\tgolang.org/x/text v0.14.0\n)\n\nreplace golang.org/x/text => ../text\n",
        );
        w(
            "lib/go.mod",
            "module example.com/lib\n\ngo 1.22\n\nrequire example.com/old v1.0.0\n",
        );
        w("lib/go.sum", "example.com/new v1.2.0/go.mod h1:x=\n");
        w(
            "go.work",
            "go 1.22\n\nuse (\n\t./app\n\t./lib\n)\n\nreplace example.com/old v1.0.0 => example.com/new v1.2.0\n",
        );
        w("go.work.sum", "github.com/pkg/errors v0.9.1/go.mod h1:y=\n");
        let app = d.path().join("app");
        let p = Project::read(&app, "").unwrap().unwrap();
        assert_eq!(p.work, Some(d.path().join("go.work")));
        assert_eq!(
            p.modules(),
            [
                "github.com/pkg/errors",
                "golang.org/x/text",
                "example.com/old"
            ]
        );
        assert_eq!(
            p.fetched(),
            [
                ("github.com/pkg/errors".to_string(), "v0.9.1".to_string()),
                ("example.com/new".to_string(), "v1.2.0".to_string())
            ]
        );
        // Both sums are found (go.work.sum and lib/go.sum): nothing is missing.
        assert_eq!(check(&p, &settings("")).findings, []);
        // GOWORK=off: go.mod alone.
        let p = Project::read(&app, "off").unwrap().unwrap();
        assert_eq!(p.work, None);
        assert_eq!(
            p.fetched(),
            [
                ("example.com/lib".to_string(), "v0.1.0".to_string()),
                ("github.com/pkg/errors".to_string(), "v0.9.1".to_string())
            ]
        );
    }
}
