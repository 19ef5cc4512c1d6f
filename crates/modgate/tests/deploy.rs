//! The deployment files in `deploy/`, checked against the binary they run:
//! - `deploy/systemd/modgate.service`: `systemd-analyze verify` finds nothing to say, its
//!   offline security review rates it OK, its command line is one `modgate serve`
//!   accepts, its file limit leaves room for `[server] max_connections`, and a reload is
//!   a SIGHUP.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::serve_common::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The value of `key=` in the unit (the last one set).
fn unit_value<'a>(unit: &'a str, key: &str) -> Option<&'a str> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .next_back()
}

#[test]
fn the_systemd_unit_verifies_and_runs_what_modgate_accepts() {
    let unit = std::fs::read_to_string(repo().join("deploy/systemd/modgate.service")).unwrap();
    let exec = unit_value(&unit, "ExecStart").unwrap();
    let mut args = exec.split_whitespace();
    assert_eq!(args.next(), Some("/usr/local/bin/modgate"));
    let args: Vec<&str> = args.collect();
    assert_eq!(args[0], "serve");

    // systemd's own check, with the binary where this build put it.
    let tmp = tempfile::tempdir().unwrap();
    let here = tmp.path().join("modgate.service");
    std::fs::write(
        &here,
        unit.replace("/usr/local/bin/modgate", env!("CARGO_BIN_EXE_modgate")),
    )
    .unwrap();
    let verify = run_bounded(
        Command::new("systemd-analyze").arg("verify").arg(&here),
        Duration::from_secs(60),
    );
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success(), "{said}");
    assert_eq!(said, "", "systemd-analyze verify has something to say");
    let security = run_bounded(
        Command::new("systemd-analyze")
            .args(["security", "--offline=yes"])
            .arg(&here),
        Duration::from_secs(60),
    );
    let report = String::from_utf8_lossy(&security.stdout);
    let level: f64 = report
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for modgate.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{report}"));
    // systemd rates 0 to 10; up to 3.9 is "OK".
    assert!(level < 4.0, "exposure {level}:\n{report}");

    // The command line is one `serve` accepts (settings file and directories made here).
    let config = tmp.path().join("modgate.toml");
    std::fs::copy(repo().join("modgate.example.toml"), &config).unwrap();
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            a.replace("/etc/modgate/modgate.toml", config.to_str().unwrap())
                .replace(
                    "/var/lib/modgate",
                    tmp.path().join("data").to_str().unwrap(),
                )
        })
        .collect();
    let mut show = vec!["config".to_string(), "show".to_string()];
    show.extend(args[1..].iter().cloned());
    let shown = Command::new(env!("CARGO_BIN_EXE_modgate"))
        .args(&show)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.status.success(),
        "{show:?}: {}",
        String::from_utf8_lossy(&shown.stderr)
    );
    assert!(text.contains("listen = \":3000\""), "{text}");

    // Room for max_connections (its default), and a reload is a SIGHUP; the data
    // directory is the state directory.
    let nofile: u64 = unit_value(&unit, "LimitNOFILE").unwrap().parse().unwrap();
    assert!(nofile >= 4096 * 2, "{nofile}");
    assert_eq!(
        unit_value(&unit, "ExecReload"),
        Some("/bin/kill -HUP $MAINPID")
    );
    assert_eq!(unit_value(&unit, "StateDirectory"), Some("modgate"));
    assert!(exec.contains("--data-dir /var/lib/modgate"));
    for hardening in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "DynamicUser=yes",
    ] {
        assert!(unit.lines().any(|l| l == hardening), "{hardening}");
    }
}

/// `podman ARGS` as these machines run containers (runc, cgroupfs), bounded; its output.
fn podman(args: &[&str]) -> std::process::Output {
    run_bounded(
        Command::new("podman")
            .args(["--cgroup-manager=cgroupfs"])
            .args(args),
        Duration::from_secs(600),
    )
}

/// Its standard output, once checked that it succeeded.
fn podman_ok(args: &[&str]) -> String {
    let out = podman(args);
    assert!(
        out.status.success(),
        "podman {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Removes the test's containers, volume and image, whatever happened.
struct Cleanup {
    containers: Vec<String>,
    volume: String,
    image: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = podman(&["rm", "-f", "-t", "0", c]);
        }
        let _ = podman(&["volume", "rm", "-f", &self.volume]);
        let _ = podman(&["rmi", "-f", &self.image]);
    }
}

/// `podman run` of the image: the ulimits and runtime these machines need, the host's
/// network, the data volume, `serve` with `args`.
fn run_container(image: &str, name: &str, volume: &str, args: &[&str]) -> String {
    let (nofile, nproc) = (
        format!("nofile={0}:{0}", hard_limit("Max open files")),
        // Threads and git processes: a few hundred at most.
        "nproc=4096:4096".to_string(),
    );
    let mut all = vec![
        "run",
        "-d",
        "--runtime",
        "runc",
        "--ulimit",
        &nofile,
        "--ulimit",
        &nproc,
        "--network",
        "host",
        "--name",
        name,
    ];
    let mount = format!("{volume}:/var/lib/modgate");
    all.extend(["-v", &mount, image]);
    all.extend(args);
    podman_ok(&all)
}

/// This process's hard limit named `what` in /proc/self/limits (a container may have up
/// to it), at most 65536.
fn hard_limit(what: &str) -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits.lines().find(|l| l.starts_with(what)).unwrap();
    let hard = line[what.len()..].split_whitespace().nth(1).unwrap();
    hard.parse::<u64>().map_or(65536, |n| n.min(65536))
}

fn wait_for(addr: &str, path: &str) {
    let start = std::time::Instant::now();
    while !matches!(raw_get(addr, "GET", path), Ok(r) if r.status == 200) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{path} of {addr} not 200 within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The image built by `deploy/image/build` (with this build's binary), run with podman:
/// its labels and user, `/healthz` and `/readyz`, the go command downloading a module
/// graph through it (an upstream on the host's loopback), the process not root, `podman
/// stop` draining and exiting 0, and a second container on the same volume serving what
/// the first stored without asking upstream.
#[test]
fn the_image_serves_the_go_command_and_keeps_its_cache_on_its_volume() {
    let id = std::process::id();
    let image = format!("localhost/modgate-test:{id}");
    let volume = format!("modgate-test-{id}");
    let (c1, c2) = (
        format!("modgate-test-{id}-1"),
        format!("modgate-test-{id}-2"),
    );
    let _cleanup = Cleanup {
        containers: vec![c1.clone(), c2.clone()],
        volume: volume.clone(),
        image: image.clone(),
    };
    let built = run_bounded(
        Command::new("bash")
            .arg(repo().join("deploy/image/build"))
            .args(["--binary", env!("CARGO_BIN_EXE_modgate"), "--tag", &image]),
        Duration::from_secs(900),
    );
    let said = String::from_utf8_lossy(&built.stdout).into_owned()
        + &String::from_utf8_lossy(&built.stderr);
    assert!(built.status.success(), "{said}");
    assert!(
        said.contains(&format!("deploy/image/build: {image} built in ")),
        "{said}"
    );

    // What the image says of itself.
    let labels = podman_ok(&[
        "image",
        "inspect",
        "--format",
        "{{json .Labels}} {{.Config.User}} {{json .Config.Cmd}} {{json .Config.Volumes}}",
        &image,
    ]);
    let commit = String::from_utf8_lossy(
        &Command::new("git")
            .arg("-C")
            .arg(repo())
            .args(["rev-parse", "HEAD"])
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .to_string();
    for want in [
        format!(
            "\"org.opencontainers.image.version\":\"{}\"",
            env!("CARGO_PKG_VERSION")
        ),
        format!("\"org.opencontainers.image.revision\":\"{commit}\""),
        " 10001:10001 ".to_string(),
        "[\"serve\",\"--listen\",\":3000\",\"--data-dir\",\"/var/lib/modgate\"]".to_string(),
        "\"/var/lib/modgate\":{}".to_string(),
    ] {
        assert!(labels.contains(&want), "{want} not in {labels}");
    }

    // A module graph on an upstream on the host's loopback.
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    let mut mods = Vec::new();
    for i in 0..8 {
        let m = format!("example.com/img{i}");
        let next = format!("example.com/img{}", i + 1);
        let go_mod = if i < 7 {
            format!("module {m}\n\ngo 1.21\n\nrequire {next} v1.0.0\n")
        } else {
            format!("module {m}\n\ngo 1.21\n")
        };
        tree.add(
            &m,
            "v1.0.0",
            "2024-01-02T03:04:05Z",
            &[("go.mod", &go_mod), ("x.go", "package x\n")],
        );
        mods.push(format!("{m}@v1.0.0"));
    }
    let mods: Vec<&str> = mods.iter().map(String::as_str).collect();
    let up = crate::serve_common::upstream::Upstream::start(&tree.root);
    let want = downloaded(&up.url, &mods);

    podman_ok(&["volume", "create", &volume]);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let args = [
        "serve",
        "--listen",
        &listen,
        "--data-dir",
        "/var/lib/modgate",
        "--upstream",
        &up.url,
        "--sumdb",
        "off",
    ];
    run_container(&image, &c1, &volume, &args);
    wait_for(&listen, "/healthz");
    wait_for(&listen, "/readyz");
    let proxy = format!("http://{listen}");
    assert_eq!(downloaded(&proxy, &mods), want);
    let asked: Vec<(String, usize)> = up.counts();
    assert!(!asked.is_empty());

    // Not root: the process's user, seen from the host.
    let pid = podman_ok(&["inspect", "--format", "{{.State.Pid}}", &c1]);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uid.split_whitespace().collect::<Vec<_>>(),
        ["Uid:", "10001", "10001", "10001", "10001"]
    );

    // Stopped: it drains and exits 0.
    podman_ok(&["stop", "-t", "30", &c1]);
    assert_eq!(
        podman_ok(&["inspect", "--format", "{{.State.ExitCode}}", &c1]),
        "0"
    );
    let logs = podman(&["logs", &c1]);
    let logs =
        String::from_utf8_lossy(&logs.stderr).into_owned() + &String::from_utf8_lossy(&logs.stdout);
    assert!(logs.contains("drain"), "{logs}");

    // A second container on the same volume: what the first stored, upstream not asked.
    run_container(&image, &c2, &volume, &args);
    wait_for(&listen, "/readyz");
    assert_eq!(downloaded(&proxy, &mods), want);
    assert_eq!(up.counts(), asked, "the second container asked upstream");
    podman_ok(&["stop", "-t", "30", &c2]);
    assert_eq!(
        podman_ok(&["inspect", "--format", "{{.State.ExitCode}}", &c2]),
        "0"
    );
}
