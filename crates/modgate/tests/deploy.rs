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
