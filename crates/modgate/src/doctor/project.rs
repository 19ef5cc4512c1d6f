//! The project in DIR: its go.mod (module, go and toolchain lines, requirements, replaces),
//! go.sum and vendor directory, and what they say before anything is fetched: requirements
//! with no go.sum line (the go command's "missing go.sum entry"), and a vendor directory
//! that no longer matches go.mod while GOFLAGS asks for `-mod=vendor`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::finding::{Finding, Group, Severity};
use super::settings::GoSettings;

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
    /// The requirements: (path, version).
    pub requires: Vec<(String, String)>,
    /// The lines of go.sum.
    pub go_sum: BTreeSet<String>,
}

impl Project {
    /// Reads `dir/go.mod` (`None` when there is none) and `dir/go.sum`.
    pub fn read(dir: &Path) -> Result<Option<Project>, String> {
        let path = dir.join("go.mod");
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("reading {}: {e}", path.display())),
        };
        let f = gomod::modfile::parse(&path.display().to_string(), &data, None)
            .map_err(|e| e.to_string())?;
        let go_sum = std::fs::read_to_string(dir.join("go.sum"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        Ok(Some(Project {
            dir: dir.to_path_buf(),
            module: f.module.map(|m| m.mod_.path).unwrap_or_default(),
            go: f.go.map(|g| g.version),
            toolchain: f.toolchain.map(|t| t.name),
            requires: f
                .require
                .into_iter()
                .map(|r| (r.mod_.path, r.mod_.version))
                .collect(),
            go_sum,
        }))
    }

    /// The module paths the project requires.
    pub fn modules(&self) -> Vec<String> {
        self.requires.iter().map(|(p, _)| p.clone()).collect()
    }
}

/// The findings about `project` under `settings`.
pub fn check(project: &Project, settings: &GoSettings) -> Vec<Finding> {
    let mut out = Vec::new();
    let missing: Vec<String> = project
        .requires
        .iter()
        .filter(|(p, v)| {
            let prefix = format!("{p} {v}/go.mod h1:");
            !project.go_sum.iter().any(|l| l.starts_with(&prefix))
        })
        .map(|(p, v)| format!("{p}@{v}"))
        .collect();
    if !missing.is_empty() {
        out.push(Finding {
            group: Group::Configuration,
            severity: Severity::Problem,
            measured: format!(
                "go.sum has no line for {} of go.mod's requirements: {}",
                missing.len(),
                missing.join(", ")
            ),
            cause: "the go command stops with \"missing go.sum entry\" for them".into(),
            fix: Some(format!("cd {} && go mod tidy", project.dir.display())),
        });
    }
    if let Some(f) = toolchain_finding(project, settings) {
        out.push(f);
    }
    let vendor_flag = settings
        .get("GOFLAGS")
        .split_whitespace()
        .any(|f| f == "-mod=vendor");
    if vendor_flag {
        let listed = std::fs::read_to_string(project.dir.join("vendor/modules.txt")).ok();
        let stale: Vec<String> = match &listed {
            None => vec!["vendor/modules.txt is missing".into()],
            Some(text) => project
                .requires
                .iter()
                .filter(|(p, v)| !text.lines().any(|l| l == format!("# {p} {v}")))
                .map(|(p, v)| format!("{p}@{v} is not in vendor/modules.txt"))
                .collect(),
        };
        if !stale.is_empty() {
            out.push(Finding {
                group: Group::Configuration,
                severity: Severity::Problem,
                measured: format!("GOFLAGS=-mod=vendor; {}", stale.join("; ")),
                cause: "the vendor directory does not match go.mod: builds fail with \"inconsistent vendoring\"".into(),
                fix: Some(format!("cd {} && go mod vendor", project.dir.display())),
            });
        }
    }
    out
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
    use crate::doctor::settings::Origin;

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
        let p = Project::read(d.path()).unwrap().unwrap();
        assert_eq!(p.module, "example.com/app");
        assert_eq!(
            (p.go.as_deref(), p.toolchain.as_deref()),
            (Some("1.22"), Some("go1.23.5"))
        );
        assert_eq!(p.modules(), ["github.com/pkg/errors", "golang.org/x/text"]);
        let f = check(&p, &settings(""));
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].measured,
            "go.sum has no line for 1 of go.mod's requirements: golang.org/x/text@v0.14.0"
        );
        assert_eq!(
            f[0].fix,
            Some(format!("cd {} && go mod tidy", d.path().display()))
        );

        let f = check(&p, &settings("-mod=vendor"));
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
        let f = check(&p, &settings("-mod=vendor"));
        assert_eq!(
            f[1].measured,
            "GOFLAGS=-mod=vendor; golang.org/x/text@v0.14.0 is not in vendor/modules.txt"
        );
        assert_eq!(Project::read(&d.path().join("nothing")).unwrap(), None);

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
}
