//! The command line as a user sees it.

use std::process::Command;

fn modgate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_modgate"))
        .args(args)
        .output()
        .expect("run modgate")
}

#[test]
fn version_prints_name_and_version() {
    let out = modgate(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("modgate {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_lists_every_planned_subcommand() {
    let out = modgate(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let commands: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        commands,
        [
            "serve", "doctor", "trace", "cache", "prefetch", "bundle", "config", "admin", "warm",
            "help"
        ]
    );
}

#[test]
fn prefetch_needs_one_target() {
    let out = modgate(&["prefetch"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the following required arguments were not provided:")
            && err.contains("<--to <URL>|--data-dir <DIR>|--bundle <FILE>>"),
        "{err}"
    );
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let out = modgate(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand 'frobnicate'"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn serve_help_lists_its_flags() {
    let out = modgate(&["serve", "--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let flags: Vec<&str> = text
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("--") || l.starts_with("-h,"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        flags,
        [
            "--config",
            "--listen",
            "--data-dir",
            "--storage",
            "--cache-max-bytes",
            "--redis",
            "--upstream",
            "--private",
            "--sumdb",
            "--nosumdb",
            "--log-format",
            "--log-level",
            "--offline",
            "--tls-cert",
            "--tls-key",
            "--bundle",
            "-h,"
        ]
    );
    assert!(
        text.contains("[env: MODGATE_LISTEN] [default: 127.0.0.1:3000]"),
        "{text}"
    );
}

#[test]
fn serve_rejects_an_unknown_flag() {
    let out = modgate(&["serve", "--listen-addr", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unexpected argument '--listen-addr'"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn doctor_says_why_it_cannot_run_and_exits_2() {
    for (args, err) in [
        (
            &["doctor", "--timeout", "10h", "."][..],
            "modgate doctor: --timeout 10h: want a duration from 10ms to 1h (such as 10s, 1m30s or 1h)\n",
        ),
        (
            &["doctor", "/nonexistent/project"][..],
            "modgate doctor: /nonexistent/project is not a directory\n",
        ),
        (
            &["doctor", "--module", "example.com/m@", "."][..],
            "modgate doctor: --module example.com/m@: no version after @ (want PATH@vMAJOR.MINOR.PATCH, or PATH alone)\n",
        ),
        (
            &["doctor", "--module", "foo", "."][..],
            "modgate doctor: --module foo: malformed module path \"foo\": missing dot in first path element\n",
        ),
    ] {
        let out = modgate(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), err, "{args:?}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn trace_without_a_command_says_how_to_call_it() {
    let out = modgate(&["trace"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: the following required arguments were not provided:\n  <COMMAND>...\n\nUsage: modgate trace -- <COMMAND>...\n\nFor more information, try '--help'.\n"
    );
}

/// Runs modgate with `env` only (and a PATH without the go command).
fn modgate_in(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_modgate"))
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env.iter().copied())
        .output()
        .expect("run modgate")
}

#[test]
fn every_subcommand_exits_2_when_it_cannot_run() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    let junk = tmp.path().join("junk.bundle");
    std::fs::write(&junk, "not a bundle at all\n").unwrap();
    let empty = tmp.path().join("empty.bundle");
    std::fs::write(&empty, "").unwrap();
    let data = format!("{d}/data");
    let home = [("HOME", d)];
    for (args, code, err) in [
        (
            vec!["cache", "verify", "--gomodcache", "/does/not/exist"],
            2,
            "modgate cache verify: the module cache /does/not/exist: No such file or directory (os error 2) (check --gomodcache, or GOMODCACHE in go env)\n",
        ),
        (
            vec!["cache", "repair", "--gomodcache", "/does/not/exist"],
            2,
            "modgate cache repair: no go command on PATH: repair fetches damaged modules again through it (put its bin directory on PATH)\n",
        ),
        (
            vec!["bundle", "verify", "/does/not/exist.bundle"],
            2,
            "modgate bundle verify: /does/not/exist.bundle: No such file or directory (os error 2)\n",
        ),
        (
            vec![
                "bundle",
                "import",
                "/does/not/exist.bundle",
                "--data-dir",
                &data,
            ],
            2,
            "modgate bundle import: /does/not/exist.bundle: No such file or directory (os error 2)\n",
        ),
        (
            vec!["config", "check", "/does/not/exist.toml"],
            2,
            "modgate config check: reading settings file /does/not/exist.toml: No such file or directory (os error 2) (check --config / MODGATE_CONFIG)\n",
        ),
        (
            vec!["config", "show", "--listen", "3000"],
            2,
            "modgate config show: --listen \"3000\": missing port in address (want HOST:PORT, such as 127.0.0.1:3000, :3000 (every interface), [::1]:3000 or localhost:3000)\n",
        ),
        (
            vec!["serve", "--listen", "3000", "--data-dir", &data],
            2,
            "modgate serve: --listen \"3000\": missing port in address (want HOST:PORT, such as 127.0.0.1:3000, :3000 (every interface), [::1]:3000 or localhost:3000)\n",
        ),
        (
            vec!["trace", "--", "/does/not/exist"],
            2,
            "modgate trace: cannot run /does/not/exist: No such file or directory (os error 2)\n",
        ),
        (
            vec!["prefetch", "--data-dir", &data, "/does/not/exist"],
            2,
            "",
        ),
        // Input that is there but not sound: a finding (1), said in words.
        (
            vec!["bundle", "verify", junk.to_str().unwrap()],
            1,
            &format!(
                "modgate bundle verify: {}: not a modgate bundle: it is not zstd-compressed (a bundle starts with the bytes 28 b5 2f fd; this file starts with 6e 6f 74 20); make one with modgate bundle create\n",
                junk.display()
            ),
        ),
        (
            vec!["bundle", "verify", empty.to_str().unwrap()],
            1,
            &format!(
                "modgate bundle verify: {}: not a modgate bundle: the file is empty\n",
                empty.display()
            ),
        ),
    ] {
        let out = modgate_in(&args, &home);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        if err.is_empty() {
            assert!(
                stderr.starts_with("modgate prefetch: "),
                "{args:?}: {stderr}"
            );
        } else {
            assert_eq!(stderr, err, "{args:?}");
        }
    }
}

#[test]
fn json_output_says_why_it_failed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    let data = format!("{d}/data");
    for args in [
        vec!["prefetch", "--data-dir", &data, "--json", "/does/not/exist"],
        vec![
            "cache",
            "verify",
            "--gomodcache",
            "/does/not/exist",
            "--json",
        ],
        vec!["bundle", "verify", "/does/not/exist.bundle", "--json"],
        vec!["doctor", "--json", "--timeout", "forever"],
    ] {
        let out = modgate_in(&args, &[("HOME", d)]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)));
        let why = v["error"].as_str().unwrap_or_default();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !why.is_empty() && stderr.contains(why),
            "{args:?}: {v} / {stderr}"
        );
    }
}

#[test]
fn config_check_names_the_line_and_what_to_write() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("modgate.toml");
    for (text, code, want) in [
        (
            "listen = \":3000\"\n[server]\nidle_timeout = \"1m30s\"\n",
            0,
            "",
        ),
        (
            "listen = \":3000\"\n[timeouts]\nconnect = \"soon\"\n",
            2,
            "3: \"soon\": not a duration (want a Go duration such as 300ms, 10s, 1m30s or 1h (units ns, us, ms, s, m, h), or a whole number of seconds)",
        ),
        (
            "[server]\n\nmax_connections = 0\n",
            2,
            "3: [server] max_connections must be at least 1",
        ),
        (
            "[cache]\nmax_bytez = 1\n",
            2,
            "2: unknown field `max_bytez`",
        ),
    ] {
        std::fs::write(&f, text).unwrap();
        let out = modgate_in(&["config", "check", f.to_str().unwrap()], &[]);
        assert_eq!(out.status.code(), Some(code), "{text}");
        if code == 0 {
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                format!("{}: valid\n", f.display())
            );
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.starts_with(&format!("modgate config check: {}:{want}", f.display())),
                "{err}"
            );
        }
    }
}

#[test]
fn config_show_says_where_each_value_came_from() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("modgate.toml");
    std::fs::write(&f, "upstream = \"off\"\n[server]\nmax_connections = 10\n").unwrap();
    let out = modgate_in(
        &[
            "config",
            "show",
            "--config",
            f.to_str().unwrap(),
            "--listen",
            "[::1]:3000",
        ],
        &[
            ("MODGATE_SERVER_IDLE_TIMEOUT", "90s"),
            ("MODGATE_REDIS", "redis://u:hunter2@127.0.0.1:6379/0"),
            ("RUST_LOG", "debug"),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "listen = \"[::1]:3000\"  # flag --listen".to_string(),
        format!("upstream = \"off\"  # file {}:1", f.display()),
        format!("max_connections = 10  # file {}:3", f.display()),
        "idle_timeout = \"90s\"  # environment MODGATE_SERVER_IDLE_TIMEOUT".to_string(),
        "redis = \"redis://u:<redacted>@127.0.0.1:6379/0\"  # environment MODGATE_REDIS"
            .to_string(),
        "log_level = \"debug\"  # environment RUST_LOG".to_string(),
        "data_dir = \"./modgate-data\"  # default".to_string(),
    ] {
        assert!(text.lines().any(|l| l == line), "{line}\n{text}");
    }
    assert!(!text.contains("hunter2"), "{text}");
}

/// `modgate serve`'s log on a terminal (a pseudo-terminal made by `script`, for 2 s): in
/// colors, unless NO_COLOR is set.
#[test]
fn no_color_turns_the_logs_colors_off() {
    let tmp = tempfile::tempdir().unwrap();
    let colored = |no_color: Option<&str>| -> bool {
        let inner = format!(
            "timeout -s INT 2 {} serve --listen 127.0.0.1:0 --upstream off --sumdb off --data-dir {}",
            env!("CARGO_BIN_EXE_modgate"),
            tmp.path().join("data").display()
        );
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &inner, "/dev/null"])
            .env_remove("NO_COLOR")
            .env_remove("RUST_LOG")
            .env("TERM", "xterm");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let out = testkit::run_bounded(&mut cmd, std::time::Duration::from_secs(30));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("listening on http://127.0.0.1:"), "{text}");
        text.contains("\u{1b}[")
    };
    assert!(colored(None));
    assert!(!colored(Some("1")));
    // Set but empty counts as unset (no-color.org).
    assert!(colored(Some("")));
}
