//! The Windows build (x86_64-pc-windows-gnu, linked by Debian's mingw-w64) run under
//! Debian's wine: `--help`; `cache verify` of a module cache the Linux go command made,
//! healthy and then hurt; `doctor` of a project whose proxy is a modgate on loopback;
//! `serve` over a `file:///Z:/...` upstream, through which the Linux go command downloads
//! the same bytes, and which a second run serves from its store alone; `bundle create`
//! (the project's graph, as `prefetch` computes it) and `bundle verify`, the bundle sound
//! for modgate on Linux too; `bundle import --gomodcache`, from whose module cache the
//! Linux go command builds with no proxy.
//!
//! Wine 8 (Debian 12's) lacks `bcryptprimitives.dll`, where Rust's standard library gets
//! random bytes on Windows 10 and later: the test's own wine prefix gets a stand-in built
//! from `windows_support/bcryptprimitives.c` (the same bytes from RtlGenRandom). Wine
//! also has no performance counters, so the doctor's CPU figure comes from
//! `GetSystemTimes` (as on Windows itself), not from sysinfo.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::serve_common::*;

const TARGET: &str = "x86_64-pc-windows-gnu";

/// modgate.exe: `MODGATE_WINDOWS_EXE`, else built here (debug, beside the host build).
fn windows_exe() -> PathBuf {
    if let Some(p) = std::env::var_os("MODGATE_WINDOWS_EXE") {
        return PathBuf::from(p);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // target/debug/deps/main-HASH: the target directory is three levels up.
    let me = std::env::current_exe().unwrap();
    let target_dir = me.ancestors().nth(3).unwrap().to_path_buf();
    let out = run_bounded(
        Command::new(cargo)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("CARGO_TARGET_DIR", &target_dir)
            .args(["build", "--locked", "-p", "modgate", "--bin", "modgate"])
            .args(["--target", TARGET]),
        Duration::from_secs(900),
    );
    assert!(
        out.status.success(),
        "cargo build --target {TARGET} (needs Debian's gcc-mingw-w64-x86-64, which scripts/install-deps installs): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    target_dir.join(TARGET).join("debug/modgate.exe")
}

/// `/tmp/x` as wine names it: `Z:\tmp\x`.
fn win(p: &Path) -> String {
    format!("Z:{}", p.display()).replace('/', "\\")
}

/// A wine prefix of the test's own (a Windows machine: its registry, `C:\windows`),
/// stopped with the test.
struct Wine {
    prefix: tempfile::TempDir,
    exe: PathBuf,
}

impl Wine {
    fn new() -> Wine {
        let exe = windows_exe();
        let prefix = tempfile::tempdir().unwrap();
        let w = Wine { prefix, exe };
        let out = run_bounded(
            w.command(Path::new("wineboot")).arg("--init"),
            Duration::from_secs(180),
        );
        assert!(out.status.success(), "wineboot: {out:?}");
        let system32 = w.prefix.path().join("drive_c/windows/system32");
        assert!(system32.is_dir(), "no {}", system32.display());
        let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/windows_support");
        let out = run_bounded(
            Command::new("x86_64-w64-mingw32-gcc")
                .args(["-shared", "-O2", "-o"])
                .arg(system32.join("bcryptprimitives.dll"))
                .arg(support.join("bcryptprimitives.c"))
                .arg(support.join("bcryptprimitives.def"))
                .arg("-ladvapi32"),
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "the bcryptprimitives stand-in: {out:?}"
        );
        w
    }

    /// `program` (a wine tool) in this prefix, quiet.
    fn command(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        c.env("WINEPREFIX", self.prefix.path())
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=");
        c
    }

    /// `modgate.exe ARGS` with `env`, nothing else of the test's Go settings.
    fn modgate(&self, args: &[&str], env: &[(&str, String)]) -> Output {
        run_bounded(
            &mut self.modgate_command(args, env),
            Duration::from_secs(180),
        )
    }

    /// `modgate.exe serve --listen 127.0.0.1:PORT ARGS`, until its `/readyz` answers 200.
    fn serve(&self, args: &[&str]) -> (std::process::Child, String) {
        let port = testkit::free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut all = vec!["serve", "--listen", &listen];
        all.extend_from_slice(args);
        let mut child = self
            .modgate_command(&all, &[])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://{listen}");
        let until = std::time::Instant::now() + Duration::from_secs(90);
        loop {
            if raw_get(&listen, "GET", "/readyz").is_ok_and(|r| r.status == 200) {
                return (child, url);
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("modgate.exe serve exited: {status}");
            }
            assert!(
                std::time::Instant::now() < until,
                "modgate.exe serve not ready in 90 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn modgate_command(&self, args: &[&str], env: &[(&str, String)]) -> Command {
        let mut c = self.command(Path::new("wine"));
        c.arg(&self.exe).args(args);
        for v in [
            "GOPROXY",
            "GOFLAGS",
            "GOSUMDB",
            "GONOSUMDB",
            "GOPRIVATE",
            "GOMODCACHE",
        ] {
            c.env_remove(v);
        }
        c.env("GOENV", "off").env("GOTOOLCHAIN", "local");
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        let _ = run_bounded(
            self.command(Path::new("wineserver")).arg("-k"),
            Duration::from_secs(30),
        );
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)))
}

#[test]
fn the_windows_binary_helps_verifies_a_cache_diagnoses_a_project_and_serves() {
    let wine = Wine::new();

    let out = wine.modgate(&["--help"], &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let help = text(&out.stdout);
    assert!(
        help.starts_with(
            "A caching Go module proxy and download doctor\n\nUsage: modgate.exe <COMMAND>\n"
        ),
        "{help}"
    );
    for c in ["serve", "doctor", "trace", "cache", "prefetch", "bundle"] {
        assert!(help.contains(&format!("\n  {c} ")), "{c}: {help}");
    }

    // A module cache the go command made (Linux, read-only trees), a project needing it.
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    let mods = ["example.com/a", "example.com/b"];
    for m in mods {
        let name = m.rsplit('/').next().unwrap();
        tree.add(
            m,
            "v1.0.0",
            "2024-01-02T03:04:05Z",
            &[(
                &format!("{name}.go"),
                &format!("package {name}\n\nconst N = 1\n"),
            )],
        );
    }
    let app = tmp.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("go.mod"),
        "module example.com/app\n\ngo 1.21\n\nrequire (\n\texample.com/a v1.0.0\n\texample.com/b v1.0.0\n)\n",
    )
    .unwrap();
    std::fs::write(
        app.join("main.go"),
        "package main\n\nimport (\n\t_ \"example.com/a\"\n\t_ \"example.com/b\"\n)\n\nfunc main() {}\n",
    )
    .unwrap();
    let env = GoEnv::with_env(&[("GOFLAGS", "")]);
    for args in [&["mod", "download"][..], &["mod", "tidy"]] {
        let out = env.go(&app, &tree.url(), args);
        assert!(out.status.success(), "go {args:?}: {}", text(&out.stderr));
    }
    let modcache = env.modcache();
    let verify = || {
        wine.modgate(
            &[
                "cache",
                "verify",
                "--json",
                "--gomodcache",
                &win(&modcache),
                "--gosum",
                &win(&app.join("go.sum")),
            ],
            &[],
        )
    };
    let out = verify();
    let v = json(&out);
    assert_eq!(
        (out.status.code(), kinds(&v["findings"])),
        (Some(0), BTreeSet::new()),
        "{v:#}"
    );
    assert_eq!(
        (&v["versions"], &v["zips"], &v["trees"]),
        (&2.into(), &2.into(), &2.into())
    );

    // Hurt: a byte flipped in an extracted file, a .ziphash gone.
    let file = modcache.join("example.com/a@v1.0.0/a.go");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut d = std::fs::read(&file).unwrap();
    d[0] ^= 0x20;
    std::fs::write(&file, d).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::remove_file(modcache.join("cache/download/example.com/b/@v/v1.0.0.ziphash")).unwrap();
    let out = verify();
    let v = json(&out);
    let s = |k: &str, m: &str| (k.to_string(), m.to_string());
    assert_eq!(
        (out.status.code(), kinds(&v["findings"])),
        (
            Some(1),
            BTreeSet::from([
                s("tree_modified", "example.com/a"),
                s("ziphash_missing", "example.com/b"),
            ])
        ),
        "{v:#}"
    );

    // The doctor on the project, its proxy a modgate (Linux) on loopback over the tree.
    let data = tmp.path().join("data");
    let server = Server::over(&data, &tree.url());
    let out = wine.modgate(
        &["doctor", "--json", "--timeout", "20s", &win(&app)],
        &[
            ("GOPROXY", server.url()),
            ("GOSUMDB", "off".into()),
            ("GOFLAGS", String::new()),
            ("GOMODCACHE", win(&modcache)),
        ],
    );
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(v["dir"], win(&app), "{v:#}");
    assert_eq!(v["settings"]["GOMODCACHE"], win(&modcache), "{v:#}");
    // No go command on wine's PATH: the defaults are Windows' own.
    let gopath = v["settings"]["GOPATH"].as_str().unwrap();
    assert!(
        gopath.starts_with("C:\\users\\") && gopath.ends_with("\\go"),
        "{v:#}"
    );
    // The tree's hash as it is now, and as go.sum has it.
    let now = gomod::dirhash::hash_dir(
        &modcache.join("example.com/a@v1.0.0"),
        "example.com/a@v1.0.0",
    )
    .unwrap();
    let sums = std::fs::read_to_string(app.join("go.sum")).unwrap();
    let want = sums
        .lines()
        .find_map(|l| l.strip_prefix("example.com/a v1.0.0 h1:"))
        .map(|h| format!("h1:{h}"))
        .unwrap();
    let found: BTreeSet<(String, String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        // How busy the CPUs are depends on what else runs (other tests): not judged here.
        .filter(|f| f["group"] != "cpu")
        .map(|f| {
            (
                f["group"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["measured"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let dl = format!("{}\\cache\\download", win(&modcache));
    let s3 = |g: &str, s: &str, m: String| (g.to_string(), s.to_string(), m);
    assert_eq!(
        found,
        BTreeSet::from([
            s3("configuration", "warning", "GOSUMDB=off".into()),
            s3(
                "cache",
                "problem",
                format!(
                    "{}\\example.com\\a@v1.0.0 (hashes to {}, the module to {})",
                    win(&modcache),
                    now,
                    want
                )
            ),
            s3(
                "cache",
                "problem",
                format!("{dl}\\example.com\\b\\@v\\v1.0.0.ziphash")
            ),
        ]),
        "{v:#}"
    );
    let measured: Vec<&str> = v["measured"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    let has = |prefix: &str| measured.iter().any(|m| m.starts_with(prefix));
    // The proxy asked over wine's sockets; the cache read; the CPU measured with
    // GetSystemTimes; the disk's free space with GetDiskFreeSpaceExW.
    assert!(
        has(&format!(
            "{}: 404 for golang.org/x/mod/@v/list (DNS ",
            server.url()
        )),
        "{measured:#?}"
    );
    assert!(
        has(&format!(
            "2 module versions in {}, all checked",
            win(&modcache)
        )),
        "{measured:#?}"
    );
    let cores = std::thread::available_parallelism().unwrap().get();
    assert!(has(&format!("{cores} cores, CPU ")), "{measured:#?}");
    assert!(
        has(&format!("GOMODCACHE={}: ", win(&modcache))),
        "{measured:#?}"
    );

    // serve on Windows: its upstream the tree as a Windows file URL; the Linux go
    // command downloads through it into an empty module cache.
    let wdata = tmp.path().join("wdata");
    let up = format!("file:///{}", win(&tree.root).replace('\\', "/"));
    let (mut windows, url) = wine.serve(&[
        "--data-dir",
        &win(&wdata),
        "--upstream",
        &up,
        "--sumdb",
        "off",
    ]);
    let env2 = GoEnv::with_env(&[("GOFLAGS", "")]);
    let out = env2.go(&app, &url, &["mod", "download"]);
    assert!(
        out.status.success(),
        "through modgate.exe: {}",
        text(&out.stderr)
    );
    let _ = windows.kill();
    let _ = windows.wait();
    let same = |cache: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files = Vec::new();
        for m in mods {
            for ext in ["info", "mod", "zip"] {
                let p = cache.join(format!("cache/download/{m}/@v/v1.0.0.{ext}"));
                files.push((format!("{m} {ext}"), std::fs::read(&p).unwrap()));
            }
        }
        files
    };
    assert!(same(&modcache) == same(&env2.modcache()));
    // A second run on the same store, with no upstream: served from what it stored.
    let (mut windows, url) = wine.serve(&[
        "--data-dir",
        &win(&wdata),
        "--upstream",
        "off",
        "--sumdb",
        "off",
    ]);
    let env3 = GoEnv::with_env(&[("GOFLAGS", "")]);
    let out = env3.go(&app, &url, &["mod", "download"]);
    let _ = windows.kill();
    let _ = windows.wait();
    assert!(
        out.status.success(),
        "from the store: {}",
        text(&out.stderr)
    );
    assert!(same(&modcache) == same(&env3.modcache()));

    // A bundle made on Windows from the project (its graph computed as prefetch computes
    // it), sound both for modgate.exe and for modgate on Linux.
    let bundle = tmp.path().join("app.bundle");
    let out = wine.modgate(
        &[
            "bundle",
            "create",
            "--json",
            "--upstream",
            &up,
            "--sumdb",
            "off",
            &win(&bundle),
            &win(&app),
        ],
        &[],
    );
    let ok = |out: &Output| {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    };
    ok(&out);
    ok(&wine.modgate(&["bundle", "verify", &win(&bundle)], &[]));
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_modgate"))
            .args(["bundle", "verify", "--json"])
            .arg(&bundle),
        Duration::from_secs(60),
    );
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    assert_eq!(
        (&v["versions"], &v["files"], &v["lookups"], &v["sumdb"]),
        (&2.into(), &10.into(), &0.into(), &serde_json::Value::Null),
        "{v:#}"
    );

    // The bundle into an empty module cache by modgate.exe (its version locks taken with
    // LockFileEx): the Linux go command builds from it with no proxy at all.
    let env4 = GoEnv::with_env(&[("GOFLAGS", "-mod=mod")]);
    let out = wine.modgate(
        &[
            "bundle",
            "import",
            "--json",
            "--gomodcache",
            &win(&env4.modcache()),
            &win(&bundle),
        ],
        &[],
    );
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    assert_eq!(
        (&v["placed"]["written"], &v["placed"]["kept"]),
        (&8.into(), &0.into()),
        "{v:#}"
    );
    for args in [&["build", "./..."][..], &["mod", "verify"]] {
        let out = env4.go(&app, "off", args);
        assert!(out.status.success(), "go {args:?}: {}", text(&out.stderr));
    }
    assert!(same(&modcache) == same(&env4.modcache()));
}
