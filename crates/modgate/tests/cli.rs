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
            "serve", "doctor", "trace", "cache", "prefetch", "bundle", "help"
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
            "modgate doctor: --timeout 10h: unknown unit \"h\" (ms, s or m)\n",
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
