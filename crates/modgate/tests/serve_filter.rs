//! `[filter]` with the real go command, in front of an upstream proxy that counts every
//! request:
//! - a denied module is answered 403 naming the rule before the upstream is asked (nor is
//!   it prefetched for a go.mod that requires it), and `,` in GOPROXY does not fall
//!   through to the next proxy;
//! - a denied version range: the list leaves those versions out, a download of one fails
//!   with the rule in the go command's error, `@latest` answers the latest admitted one;
//! - an allow list admits only its modules;
//! - SIGHUP applies new rules, a version served before (and remembered) included;
//! - `/metrics` counts refusals by reason and the versions left out.

use crate::serve_common::upstream::Upstream;
use crate::serve_common::*;

const T1: &str = "2024-01-02T03:04:05Z";

fn hup(s: &Server) {
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&s.child),
        rustix::process::Signal::HUP,
    )
    .unwrap();
}

#[test]
fn denied_modules_and_versions_are_refused_before_any_upstream_and_left_out_of_lists() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    tree.add(
        "example.com/app",
        "v1.0.0",
        T1,
        &[
            (
                "go.mod",
                "module example.com/app\n\ngo 1.21\n\nrequire (\n\texample.com/evil v1.0.0\n\texample.com/lib v1.3.0\n)\n",
            ),
            ("app.go", "package app\n"),
        ],
    );
    tree.add("example.com/evil", "v1.0.0", T1, &[("e.go", "package e\n")]);
    let mut lib = std::collections::HashMap::new();
    for v in ["v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0", "v1.4.0-rc.1"] {
        lib.insert(
            v,
            tree.add("example.com/lib", v, T1, &[("l.go", "package l\n")]),
        );
    }
    let up = Upstream::start(&tree.root);
    let settings = "[filter]\ndeny = [\"example.com/evil\", \"example.com/lib@<v1.2.0\"]\n";
    let s = Server::with_config(tmp.path(), settings, &up.url);

    // The app downloads (its go.mod names evil: never prefetched).
    let go = GoEnv::new();
    go.download(&s.url(), &["example.com/app@v1.0.0"]);

    // A denied module: 403 naming the rule, the upstream never asked.
    let r = raw_get(&s.addr, "GET", "/example.com/evil/@v/v1.0.0.info").unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(
        r.text(),
        "forbidden: example.com/evil@v1.0.0 is denied by this proxy's [filter] deny rule \"example.com/evil\"\n"
    );
    for path in ["/example.com/evil/@v/list", "/example.com/evil/@latest"] {
        let r = raw_get(&s.addr, "GET", path).unwrap();
        assert_eq!(
            (r.status, r.text()),
            (
                403,
                "forbidden: example.com/evil is denied by this proxy's [filter] deny rule \"example.com/evil\"\n".to_string()
            ),
            "{path}"
        );
    }
    // The go command shows the rule, and `,` does not fall through to the upstream
    // itself (listed after modgate).
    let cwd = go.dir.path().join("work");
    let out = go.go(
        &cwd,
        &format!("{},{}", s.url(), up.url),
        &["mod", "download", "example.com/evil@v1.0.0"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("403 Forbidden")
            && err.contains(
                "server response: forbidden: example.com/evil@v1.0.0 is denied by this proxy's [filter] deny rule \"example.com/evil\""
            ),
        "{err}"
    );
    assert!(
        up.counts().iter().all(|(p, _)| !p.contains("/evil/")),
        "{:?}",
        up.counts()
    );

    // A denied range: left out of the list; a download of one fails naming the rule.
    let r = raw_get(&s.addr, "GET", "/example.com/lib/@v/list").unwrap();
    assert_eq!(r.status, 200);
    let mut listed: Vec<String> = r.text().lines().map(String::from).collect();
    listed.sort();
    assert_eq!(listed, ["v1.2.0", "v1.3.0", "v1.4.0-rc.1"]);
    let out = go.go(
        &cwd,
        &s.url(),
        &["mod", "download", "example.com/lib@v1.1.0"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains(
                "forbidden: example.com/lib@v1.1.0 is denied by this proxy's [filter] deny rule \"example.com/lib@<v1.2.0\""
            ),
        "{err}"
    );
    // The go command's own latest (from the filtered list) and modgate's @latest.
    let got = go.download(&s.url(), &["example.com/lib@latest"]);
    assert_eq!(summary(&got[0]).1, "v1.3.0");
    assert_eq!(
        metric(
            &s,
            "modgate_filter_refusals_total{reason=\"denied_module\"}"
        ),
        4
    );
    assert_eq!(
        metric(
            &s,
            "modgate_filter_refusals_total{reason=\"denied_version\"}"
        ),
        1
    );
    assert!(metric(&s, "modgate_filter_hidden_versions_total") >= 2);

    // New rules on SIGHUP: v1.3.0, served and remembered before, is refused now, and
    // @latest answers the latest release the filter admits (its upstream names v1.3.0).
    std::fs::write(
        tmp.path().join("modgate.toml"),
        "[filter]\ndeny = [\"example.com/evil\", \"example.com/lib@<v1.2.0\", \"example.com/lib@v1.3.0\"]\n",
    )
    .unwrap();
    hup(&s);
    s.log_with("[filter] of 3 rule(s)");
    let r = raw_get(&s.addr, "GET", "/example.com/lib/@v/v1.3.0.zip").unwrap();
    assert_eq!(
        (r.status, r.text()),
        (
            403,
            "forbidden: example.com/lib@v1.3.0 is denied by this proxy's [filter] deny rule \"example.com/lib@v1.3.0\"\n".to_string()
        )
    );
    let r = raw_get(&s.addr, "GET", "/example.com/lib/@latest").unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let latest: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(latest["Version"], "v1.2.0");
    // Evil still refused; the app (allowed) still served.
    let r = raw_get(&s.addr, "GET", "/example.com/app/@v/v1.0.0.mod").unwrap();
    assert_eq!(r.status, 200);
}

#[test]
fn an_allow_list_admits_only_its_modules() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    tree.add(
        "corp.example.com/a",
        "v1.0.0",
        T1,
        &[("a.go", "package a\n")],
    );
    tree.add("example.com/b", "v1.0.0", T1, &[("b.go", "package b\n")]);
    let up = Upstream::start(&tree.root);
    let s = Server::with_config(
        tmp.path(),
        "[filter]\nallow = [\"corp.example.com/*\"]\n",
        &up.url,
    );
    let go = GoEnv::new();
    go.download(&s.url(), &["corp.example.com/a@v1.0.0"]);
    let r = raw_get(&s.addr, "GET", "/example.com/b/@v/v1.0.0.zip").unwrap();
    assert_eq!(
        (r.status, r.text()),
        (
            403,
            "forbidden: example.com/b@v1.0.0 is not in this proxy's [filter] allow list\n"
                .to_string()
        )
    );
    assert!(
        up.counts()
            .iter()
            .all(|(p, _)| !p.contains("example.com/b/")),
        "{:?}",
        up.counts()
    );
    assert_eq!(
        metric(&s, "modgate_filter_refusals_total{reason=\"not_allowed\"}"),
        1
    );
}
