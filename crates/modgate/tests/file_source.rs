//! The `file://` source picks `@latest` from a GOPROXY tree that has no `@latest` file as
//! the go command does with `GOPROXY=file://...`: retracted versions left out,
//! `+incompatible` ones left out once a compatible version has a go.mod, prereleases only
//! when there is no release, else the newest pseudo-version. Each tree is asked of both.

use std::path::Path;
use std::time::Duration;

use modgate::source::Source;
use modgate::source::file::FileSource;

/// Writes a GOPROXY tree for module `m`: each version listed, with its go.mod (`None`: the
/// go command's synthesized one) and a fixed time.
fn tree(root: &Path, m: &str, versions: &[(&str, Option<&str>)]) {
    let dir = root.join(m).join("@v");
    std::fs::create_dir_all(&dir).unwrap();
    let mut list = String::new();
    for (i, (v, go_mod)) in versions.iter().enumerate() {
        let time = format!("2024-01-{:02}T00:00:00Z", i + 1);
        std::fs::write(
            dir.join(format!("{v}.info")),
            format!("{{\"Version\":\"{v}\",\"Time\":\"{time}\"}}"),
        )
        .unwrap();
        let body = match go_mod {
            Some(g) => format!("module {m}\n\n{g}"),
            None => format!("module {m}\n"),
        };
        std::fs::write(dir.join(format!("{v}.mod")), body).unwrap();
        list.push_str(&format!("{v}\n"));
    }
    std::fs::write(dir.join("list"), list).unwrap();
}

/// What `go list -m M@latest` says through `GOPROXY=file://root`: the version or the error.
fn go_latest(root: &Path, work: &Path, m: &str) -> Result<String, String> {
    let mut cmd = crate::proxy_support::go_command(work);
    cmd.args(["list", "-m", "-f", "{{.Version}}", &format!("{m}@latest")])
        .current_dir(work)
        .env("GOPROXY", format!("file://{}", root.display()))
        .env("GO111MODULE", "on");
    let out = testkit::run_bounded(&mut cmd, Duration::from_secs(60));
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// A module, its versions with their go.mod additions, and the latest version (`None`:
/// there is none).
type Case = (
    &'static str,
    Vec<(&'static str, Option<String>)>,
    Option<&'static str>,
);

#[tokio::test]
async fn latest_without_an_at_latest_file_is_what_the_go_command_picks() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("proxy");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let retract = |r: &str| Some(format!("retract {r}\n"));
    let cases: Vec<Case> = vec![
        (
            "example.com/plain",
            vec![
                ("v1.0.0", Some(String::new())),
                ("v1.1.0", Some(String::new())),
            ],
            Some("v1.1.0"),
        ),
        (
            "example.com/selfretract",
            vec![
                ("v1.0.0", Some(String::new())),
                ("v1.1.0", Some(String::new())),
                ("v1.2.0", retract("[v1.1.0, v1.2.0]")),
            ],
            Some("v1.0.0"),
        ),
        (
            "example.com/release-over-pre",
            vec![
                ("v1.0.0", Some(String::new())),
                ("v1.1.0-pre", Some(String::new())),
                ("v1.0.1", retract("v1.0.1")),
            ],
            Some("v1.0.0"),
        ),
        (
            "example.com/preonly",
            vec![
                ("v1.0.0-a", Some(String::new())),
                ("v1.0.0-b", retract("v1.0.0-b")),
            ],
            Some("v1.0.0-a"),
        ),
        (
            "example.com/incompat",
            vec![
                ("v1.0.0", Some(String::new())),
                ("v2.0.0+incompatible", None),
            ],
            Some("v1.0.0"),
        ),
        (
            "example.com/legacy",
            vec![("v1.0.0", None), ("v2.0.0+incompatible", None)],
            Some("v2.0.0+incompatible"),
        ),
        (
            "example.com/pseudo",
            vec![
                ("v0.0.0-20240101000000-aaaaaaaaaaaa", Some(String::new())),
                ("v0.0.0-20240102000000-bbbbbbbbbbbb", Some(String::new())),
            ],
            Some("v0.0.0-20240102000000-bbbbbbbbbbbb"),
        ),
        (
            "example.com/allretracted",
            vec![("v1.0.0", retract("v1.0.0"))],
            None,
        ),
    ];
    let src = FileSource::new(root.clone());
    for (m, versions, want) in &cases {
        let vs: Vec<(&str, Option<&str>)> =
            versions.iter().map(|(v, g)| (*v, g.as_deref())).collect();
        tree(&root, m, &vs);
        let ours = src.latest(m).await.map(|i| i.version);
        let go = go_latest(&root, &work, m);
        match want {
            Some(w) => {
                assert_eq!(ours.as_deref(), Ok(*w), "{m}: ours");
                assert_eq!(go.as_deref(), Ok(*w), "{m}: go");
            }
            None => {
                assert!(go.is_err(), "{m}: go found {go:?}");
                assert!(ours.is_err(), "{m}: we found {ours:?}");
            }
        }
    }
}
