//! `modgate trace -- go ...` with the real go command against a loopback upstream that
//! delays one module's zip by 2 s: the command's results and exit status are its own,
//! and the trace attributes the delay to that zip request.

use std::sync::Arc;
use std::time::Duration;

use crate::serve_common::upstream::{Answer, Upstream};
use crate::serve_common::*;

const T1: &str = "2024-01-02T03:04:05Z";
const SLOW_ZIP: &str = "/example.com/slow/@v/v1.0.0.zip";

fn modgate() -> std::path::PathBuf {
    env!("CARGO_BIN_EXE_modgate").into()
}

/// The test database of the go test proxy: its verifier key and name (cmd/go/proxy_test.go).
const SUMDB_KEY: &str =
    "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";
const SUMDB_NAME: &str = "localhost.localdev/sumdb";

/// What `modgate trace --json DIR/t.json FLAGS -- go mod download -json MODS` gave (in
/// `env`, with `GOPROXY=proxy`), once checked that it succeeded with the go command's
/// own results (the same download without the trace, in a fresh module cache): its
/// standard error and the trace's records.
fn trace_download(
    env: &[(&str, &str)],
    dir: &std::path::Path,
    proxy: &str,
    mods: &[&str],
    flags: &[&str],
) -> (String, serde_json::Value) {
    let cwd = dir.join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let json = dir.join("t.json");
    let out = run_bounded(
        GoEnv::with_env(env)
            .command(&modgate(), &cwd, proxy)
            .args(["trace", "--json"])
            .arg(&json)
            .args(flags)
            .arg("--")
            .arg(testkit::go_binary())
            .args(["mod", "download", "-json"])
            .args(mods),
        Duration::from_secs(120),
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let traced: Vec<_> = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<serde_json::Value>()
        .map(|v| summary(&v.unwrap()))
        .collect();
    let plain: Vec<_> = GoEnv::with_env(env)
        .download(proxy, mods)
        .iter()
        .map(summary)
        .collect();
    assert_eq!(traced, plain, "{stderr}");
    let trace: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    (stderr, trace)
}

/// At least 95% of a trace's wall time is named requests, git commands or the command's
/// own work (its CPU), measured; less a millisecond and a half for each git command: the
/// stand-in's exit, after it wrote its record, is gone before the sampler can read it.
/// (For the traces with a delay put in: in a command of a few milliseconds, the loopback
/// between the command and the recorder weighs more than that.)
fn assert_accounted(trace: &serde_json::Value, stderr: &str) {
    let a = &trace["attribution"];
    let (named, work, wall) = (
        a["named_us"].as_u64().unwrap(),
        a["work_us"].as_u64().unwrap(),
        trace["wall_us"].as_u64().unwrap(),
    );
    let gits = trace["git"].as_array().unwrap().len() as u64;
    assert!(
        (named + work + 1_500 * gits) as f64 >= 0.95 * wall as f64,
        "{a} of {wall} us, {gits} git commands\n{stderr}"
    );
}

#[test]
fn a_slow_zip_is_named_and_the_command_is_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    tree.add(
        "example.com/fast",
        "v1.0.0",
        T1,
        &[("f.go", "package fast\n")],
    );
    tree.add(
        "example.com/slow",
        "v1.0.0",
        T1,
        &[("s.go", "package slow\n")],
    );
    let up = Upstream::start_with(
        &tree.root,
        Arc::new(|path: &str, _| {
            Answer::Serve(if path == SLOW_ZIP {
                Duration::from_secs(2)
            } else {
                Duration::ZERO
            })
        }),
    );
    let mods = ["example.com/fast@v1.0.0", "example.com/slow@v1.0.0"];
    let proxy = format!("{},direct", up.url);
    let (chrome, html) = (tmp.path().join("t.chrome.json"), tmp.path().join("t.html"));
    // The go command's own results, as without the trace.
    let (stderr, t) = trace_download(
        &[],
        tmp.path(),
        &proxy,
        &mods,
        &[
            "--chrome",
            chrome.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
    );
    assert_accounted(&t, &stderr);

    // The records: every file of both modules through the recorder, the slow zip the
    // slowest, taking the 2 s of its delay.
    let records = t["records"].as_array().unwrap();
    let mut paths: Vec<&str> = records
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/example.com/fast/@v/v1.0.0.info",
            "/example.com/fast/@v/v1.0.0.mod",
            "/example.com/fast/@v/v1.0.0.zip",
            "/example.com/slow/@v/v1.0.0.info",
            "/example.com/slow/@v/v1.0.0.mod",
            "/example.com/slow/@v/v1.0.0.zip",
        ]
    );
    let took = |r: &serde_json::Value| r["done"].as_u64().unwrap() - r["asked"].as_u64().unwrap();
    let slowest = records.iter().max_by_key(|r| took(r)).unwrap();
    assert_eq!(slowest["path"], SLOW_ZIP);
    assert_eq!(slowest["upstream"], format!("{}{SLOW_ZIP}", up.url));
    assert_eq!(slowest["status"], 200);
    assert!(took(slowest) >= 2_000_000, "{slowest}");
    // The delay is before the first byte: waiting, not transfer.
    assert!(
        slowest["first_byte"].as_u64().unwrap() - slowest["asked"].as_u64().unwrap() >= 2_000_000,
        "{slowest}"
    );
    assert_eq!(t["exit_code"], 0);
    // The slow zip is the critical path's last step.
    let path = t["critical_path"].as_array().unwrap();
    assert_eq!(path.last().unwrap()["what"], format!("GET {SLOW_ZIP}"));
    assert!(
        stderr.contains(&format!("waited on {SLOW_ZIP} from {}{SLOW_ZIP}", up.url)),
        "{stderr}"
    );
    // Its phases: the 2 s are waiting for the first byte, not the connection (the first
    // request opened one: to an address, no DNS, no TLS).
    let first = records.iter().min_by_key(|r| r["asked"].as_u64()).unwrap();
    assert_eq!(first["opened"]["dns"], serde_json::Value::Null, "{first}");
    assert_eq!(first["opened"]["tls"], serde_json::Value::Null, "{first}");
    assert_eq!(
        first["opened"]["peer"],
        up.url.trim_start_matches("http://")
    );
    assert!(
        stderr.contains(&format!(
            "waited on {SLOW_ZIP} from {}{SLOW_ZIP}, mostly waiting for the first byte (20",
            up.url
        )),
        "{stderr}"
    );
    // The Trace Event file: the command, one event per request, and its phases in it.
    let c: serde_json::Value = serde_json::from_slice(&std::fs::read(&chrome).unwrap()).unwrap();
    let events = c["traceEvents"].as_array().unwrap();
    assert_eq!(
        events.iter().filter(|e| e["cat"] != "phase").count(),
        1 + records.len()
    );
    let zip = events
        .iter()
        .find(|e| e["name"] == SLOW_ZIP && e["ph"] == "X")
        .unwrap();
    let wait = events
        .iter()
        .find(|e| {
            e["name"] == "wait" && e["tid"] == zip["tid"] && e["ts"].as_u64() >= zip["ts"].as_u64()
        })
        .unwrap();
    assert!(wait["dur"].as_u64().unwrap() >= 2_000_000, "{wait}");

    // The HTML waterfall in headless Chromium: no script error, a row per request, and in
    // a screenshot one band of bar colors per request (and one for the legend).
    let dom = chromium(&["--dump-dom"], &format!("file://{}", html.display()));
    let dom = String::from_utf8_lossy(&dom);
    assert_eq!(
        dom.matches(r#"<div class="row"#).count(),
        records.len(),
        "{dom}"
    );
    assert!(dom.contains(r#"<div id="errors"></div>"#), "{dom}");
    let shot = tmp.path().join("t.png");
    chromium(
        &[
            "--hide-scrollbars",
            "--window-size=1200,1800",
            &format!("--screenshot={}", shot.display()),
        ],
        &format!("file://{}", html.display()),
    );
    assert_eq!(bar_bands(&shot), records.len() + 1);
}

/// The bands of pixel rows, top to bottom, holding the waterfall's bar colors.
fn bar_bands(png_file: &std::path::Path) -> usize {
    // .wait and .transfer (the gray of .here is also in anti-aliased text).
    let colors: [[u8; 3]; 2] = [[0xf4, 0xa2, 0x61], [0x2a, 0x9d, 0x8f]];
    let mut bands = 0;
    let mut inside = false;
    for row in png_rows(png_file) {
        let colored = row.iter().any(|p| colors.contains(p));
        if colored && !inside {
            bands += 1;
        }
        inside = colored;
    }
    bands
}

#[test]
fn the_page_of_a_large_trace_has_an_overview_groups_and_a_filter() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    let names: Vec<String> = (0..120).map(|i| format!("example.com/m{i:03}")).collect();
    for m in &names {
        tree.add(m, "v1.0.0", T1, &[("x.go", "package x\n")]);
    }
    let up = Upstream::start(&tree.root);
    let mods: Vec<String> = names.iter().map(|m| format!("{m}@v1.0.0")).collect();
    let mods: Vec<&str> = mods.iter().map(String::as_str).collect();
    let html = tmp.path().join("t.html");
    let (_, t) = trace_download(
        &[],
        tmp.path(),
        &up.url,
        &mods,
        &["--html", html.to_str().unwrap()],
    );
    let n = t["records"].as_array().unwrap().len();
    assert_eq!(n, 360, "{t}");
    let url = format!("file://{}", html.display());
    if let Ok(keep) = std::env::var("MODGATE_KEEP_SHOT") {
        let shot = format!("--screenshot={keep}");
        chromium(
            &["--hide-scrollbars", "--window-size=1300,1500", &shot],
            &url,
        );
    }
    let dom = chromium(&["--dump-dom"], &url);
    let dom = String::from_utf8_lossy(&dom);
    assert!(dom.contains(r#"<div id="errors"></div>"#), "{dom}");
    assert!(dom.contains(r#"<td class="section">verdict</td>"#), "{dom}");
    for lane in ["requests", "git", "cpu", "unaccounted", "critical"] {
        assert!(
            dom.contains(&format!(r#"data-lane="{lane}""#)),
            "{lane}: {dom}"
        );
    }
    // The requests lane says the most in flight at once, as the summary counts it.
    let mut edges: Vec<(u64, i64)> = Vec::new();
    for r in t["records"].as_array().unwrap() {
        edges.push((r["asked"].as_u64().unwrap(), 1));
        edges.push((r["done"].as_u64().unwrap(), -1));
    }
    edges.sort();
    let (mut now, mut most) = (0, 0);
    for (_, d) in edges {
        now += d;
        most = most.max(now);
    }
    assert!(
        dom.contains(&format!("requests in flight (max {most})</text>")),
        "{most}: {dom}"
    );
    assert!(dom.contains(r#"class="steps""#), "{dom}");
    // The critical path: marked in the overview and on its rows.
    let critical = t["critical_path"].as_array().unwrap().len();
    assert!(critical > 0);
    assert_eq!(
        dom.matches(r#"<div class="row critical""#).count(),
        critical,
        "{dom}"
    );
    assert_eq!(dom.matches(r#"<div class="row"#).count(), n);
    assert!(dom.contains(&format!("{n} of {n} shown")), "{dom}");
    // Grouped by kind: a group each for .info, .mod and .zip, 120 rows each.
    let dom = chromium(&["--dump-dom"], &format!("{url}#group=kind"));
    let dom = String::from_utf8_lossy(&dom);
    for kind in ["info", "mod", "zip"] {
        assert!(
            dom.contains(&format!(r#"data-group="{kind}""#))
                && dom.contains(&format!(">{kind}: 120 (")),
            "{kind}: {dom}"
        );
    }
    // Filtered from the address: only that module's three rows, grouped by module.
    let dom = chromium(
        &["--dump-dom"],
        &format!("{url}#group=module&filter=example.com/m042/"),
    );
    let dom = String::from_utf8_lossy(&dom);
    assert!(dom.contains(r#"<div id="errors"></div>"#), "{dom}");
    assert_eq!(dom.matches(r#"<div class="row"#).count(), 3, "{dom}");
    assert_eq!(dom.matches(r#"<div class="group""#).count(), 1, "{dom}");
    assert!(dom.contains(&format!("3 of {n} shown")), "{dom}");
    for ext in ["info", "mod", "zip"] {
        assert!(
            dom.contains(&format!(
                r#"<span class="label">/example.com/m042/@v/v1.0.0.{ext}</span>"#
            )),
            "{dom}"
        );
    }
}

#[test]
fn the_exit_status_is_the_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("up"));
    let up = Upstream::start(&tree.root);
    let cwd = tmp.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let go = testkit::go_binary().display().to_string();
    let missing = ["mod", "download", "example.com/nope@v1.0.0"];
    let plain = GoEnv::new().go(&cwd, &up.url, &missing);
    let mut args = vec!["trace", "--", go.as_str()];
    args.extend(missing);
    let traced = run_bounded(
        GoEnv::new().command(&modgate(), &cwd, &up.url).args(&args),
        Duration::from_secs(120),
    );
    assert_eq!(plain.status.code(), Some(1));
    assert_eq!(traced.status.code(), plain.status.code());
    let stderr = String::from_utf8_lossy(&traced.stderr);
    assert!(
        stderr.contains("example.com/nope@v1.0.0: reading http://127.0.0.1:")
            && stderr.contains("/example.com/nope/@v/v1.0.0.info: 404 Not Found"),
        "{stderr}"
    );
}

/// `GOPROXY=direct`: the go command runs git itself; the trace times each git command
/// through the stand-in and names the repository, and the results are the go command's.
#[test]
fn git_commands_of_direct_are_timed_and_named() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, config) = local_github_repo(tmp.path(), "acme/hello");
    let when = "2024-01-02T03:04:05Z";
    std::fs::write(
        repo.join("go.mod"),
        "module github.com/acme/hello\n\ngo 1.21\n",
    )
    .unwrap();
    std::fs::write(repo.join("hello.go"), "package hello\n").unwrap();
    testkit::git_with(&repo, &["add", "."], Some(&config), when);
    testkit::git_with(&repo, &["commit", "-qm", "one"], Some(&config), when);
    testkit::git_with(&repo, &["tag", "v1.0.0"], Some(&config), when);
    let cfg = config.to_str().unwrap();
    let env = [("GIT_CONFIG_GLOBAL", cfg), ("GIT_CONFIG_NOSYSTEM", "1")];
    let mods = ["github.com/acme/hello@v1.0.0"];
    let (stderr, t) = trace_download(&env, tmp.path(), "direct", &mods, &[]);
    assert_eq!(t["records"].as_array().unwrap().len(), 0);
    let git = t["git"].as_array().unwrap();
    let firsts: Vec<String> = git
        .iter()
        .map(|g| {
            let args: Vec<String> = serde_json::from_value(g["args"].clone()).unwrap();
            modgate::trace::git::subcommand(&args).to_string()
        })
        .collect();
    // The go command's own sequence for a first fetch (codehost/git.go).
    for want in ["init", "remote", "ls-remote", "fetch"] {
        assert!(firsts.iter().any(|f| f == want), "{want} not in {firsts:?}");
    }
    for (g, sub) in git.iter().zip(&firsts) {
        assert_eq!(g["repo"], "https://github.com/acme/hello", "{g}");
        assert!(g["end_us"].as_u64() >= g["start_us"].as_u64(), "{g}");
        // (Some fail on purpose: the go command looks for a commit before fetching it.)
        if sub == "fetch" {
            assert_eq!(g["exit_code"], 0, "{g}");
        }
    }
    assert!(
        stderr.contains(&format!("git: {} commands,", git.len())),
        "{stderr}"
    );
}

/// `GOSUMDB` on, through the go distribution's test proxy and its test database: the
/// recorder claims the database at the first entry and relays it where the go command
/// would have gone (the proxy, which supports it); the go command verifies as it would
/// without the trace.
#[test]
fn the_checksum_database_goes_through_the_recorder() {
    let proxy = crate::proxy_support::GoTestProxy::start();
    let tmp = tempfile::tempdir().unwrap();
    let mods = ["rsc.io/quote@v1.5.2"];
    let env = [("GOSUMDB", SUMDB_KEY)];
    let (_, t) = trace_download(&env, tmp.path(), &proxy.url(), &mods, &[]);
    let records = t["records"].as_array().unwrap();
    let find = |path: &str, here: bool| {
        records
            .iter()
            .find(|r| r["path"] == path && r["answered_here"] == here)
            .unwrap_or_else(|| panic!("{path} (answered here: {here}) not in {records:?}"))
    };
    let supported = format!("/sumdb/{SUMDB_NAME}/supported");
    // Claimed by the recorder, then asked of the proxy once to choose the route.
    assert_eq!(find(&supported, true)["status"], 200);
    assert_eq!(
        find(&supported, false)["upstream"],
        format!("{}{supported}", proxy.url())
    );
    let lookup = format!("/sumdb/{SUMDB_NAME}/lookup/rsc.io/quote@v1.5.2");
    let l = find(&lookup, false);
    assert_eq!(
        (l["status"].as_u64(), l["upstream"].as_str()),
        (Some(200), Some(format!("{}{lookup}", proxy.url()).as_str()))
    );
}

/// An upstream tree with corp.example.com/lib v1.0.0, and certificates for an https
/// modgate in front of it.
fn corp_lib(dir: &std::path::Path) -> (Tree, Pki) {
    let tree = Tree::new(dir.join("up"));
    tree.add(
        "corp.example.com/lib",
        "v1.0.0",
        T1,
        &[("l.go", "package lib\n")],
    );
    (tree, pki(dir))
}

/// A private proxy over https that wants credentials (modgate with `[auth]` on its own
/// TLS): the go command sends them from `.netrc` over https only, so under the trace
/// (plain http to the recorder) the recorder sends the `.netrc` entry instead, and the
/// download works as without the trace.
#[test]
fn netrc_credentials_reach_an_https_proxy() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (tree, pki) = corp_lib(dir);
    let config = dir.join("modgate.toml");
    std::fs::write(
        &config,
        "[auth]\n[[auth.token]]\nname = \"ci\"\ntoken = \"tok-ci\"\nread = [\"*\"]\n",
    )
    .unwrap();
    let server = Server::start_https(
        &[
            "--config",
            config.to_str().unwrap(),
            "--upstream",
            &tree.url(),
            "--data-dir",
            dir.join("data").to_str().unwrap(),
        ],
        &pki,
    );
    let origin = format!("https://{}", server.addr);
    let netrc = dir.join("netrc");
    std::fs::write(
        &netrc,
        format!("machine {} login x password tok-ci\n", server.addr),
    )
    .unwrap();
    let env = [
        ("NETRC", netrc.to_str().unwrap()),
        ("SSL_CERT_FILE", pki.ca_pem.to_str().unwrap()),
    ];
    let mods = ["corp.example.com/lib@v1.0.0"];
    trace_download(&env, tmp.path(), &origin, &mods, &[]);
    assert!(server.log_with("client=ci").contains("client=ci"));
}

/// A relay on 127.0.0.1 to `to` that holds the server's first bytes on the first
/// connection for `delay` (its TLS ServerHello: a slow handshake); its port.
fn slow_first_answer(to: &str, delay: Duration) -> u16 {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let to = to.to_string();
    std::thread::spawn(move || {
        for (n, c) in l.incoming().enumerate() {
            let Ok(mut client) = c else { return };
            let Ok(mut server) = std::net::TcpStream::connect(&to) else {
                return;
            };
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c2, &mut s2);
                let _ = s2.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let mut buf = [0u8; 16 << 10];
                if let Ok(k) = server.read(&mut buf) {
                    if n == 0 {
                        std::thread::sleep(delay);
                    }
                    if k == 0 || client.write_all(&buf[..k]).is_err() {
                        return;
                    }
                }
                let _ = std::io::copy(&mut server, &mut client);
                let _ = client.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    port
}

/// A slow TLS handshake: the https proxy's ServerHello comes 1.5 s late on the first
/// connection. The trace puts the 1.5 s in the TLS phase of the request that opened the
/// connection (after resolving `localhost`), and names it in the verdict.
#[test]
fn a_slow_tls_handshake_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (tree, pki) = corp_lib(dir);
    let data = dir.join("data");
    let server = Server::start_https(
        &[
            "--upstream",
            &tree.url(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &pki,
    );
    let port = slow_first_answer(&server.addr, Duration::from_millis(1500));
    let env = [("SSL_CERT_FILE", pki.ca_pem.to_str().unwrap())];
    let mods = ["corp.example.com/lib@v1.0.0"];
    let origin = format!("https://localhost:{port}");
    let (stderr, t) = trace_download(&env, dir, &origin, &mods, &[]);
    assert_accounted(&t, &stderr);
    let records = t["records"].as_array().unwrap();
    let first = records.iter().min_by_key(|r| r["asked"].as_u64()).unwrap();
    let opened = &first["opened"];
    assert!(opened["tls"].as_u64().unwrap() >= 1_500_000, "{first}");
    assert!(opened["dns"].as_u64().is_some(), "{first}");
    // One connection, HTTP/2: the others used it (or waited while it was opened).
    assert!(opened["h2"].as_bool().unwrap(), "{first}");
    assert_eq!(
        records.iter().filter(|r| !r["opened"].is_null()).count(),
        1,
        "{records:?}"
    );
    // The handshake took the 1.5 s it was held, and more on a loaded machine.
    let named = format!(
        "waited on {} from {origin}{}, mostly the TLS handshake (",
        first["path"].as_str().unwrap(),
        first["path"].as_str().unwrap()
    );
    let ms: u64 = stderr
        .split_once(&named)
        .and_then(|(_, rest)| rest.split_once(" ms)"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(ms >= 1500, "{stderr}");
    assert!(
        stderr.contains("phases, summed over requests: "),
        "{stderr}"
    );
    // modgate says what its cache had (X-Cache): all fetched for the first time.
    for r in records {
        assert_eq!(r["cache"], "miss", "{r}");
    }
}

/// A slow checksum database: reached through the first proxy (which has only the
/// database's files, as the go command itself cached them), whose lookups take 2 s. The
/// trace puts the 2 s on the lookup, as waiting for the first byte.
#[test]
fn a_slow_checksum_database_lookup_is_named() {
    let proxy = crate::proxy_support::GoTestProxy::start();
    let tmp = tempfile::tempdir().unwrap();
    let mods = ["rsc.io/quote@v1.5.2"];
    // The database's files, as the go command fetched and verified them.
    let env = GoEnv::with_env(&[("GOSUMDB", SUMDB_KEY)]);
    env.download(&proxy.url(), &mods);
    let db = Tree::new(tmp.path().join("db"));
    let files = db.root.join(format!("sumdb/{SUMDB_NAME}"));
    std::fs::create_dir_all(files.parent().unwrap()).unwrap();
    let out = std::process::Command::new("cp")
        .arg("-r")
        .arg(
            env.modcache()
                .join(format!("cache/download/sumdb/{SUMDB_NAME}")),
        )
        .arg(&files)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    std::fs::write(files.join("supported"), "").unwrap();
    let first = Upstream::start_with(
        &db.root,
        Arc::new(|path: &str, _| {
            Answer::Serve(if path.contains("/lookup/") {
                Duration::from_secs(2)
            } else {
                Duration::ZERO
            })
        }),
    );
    let list = format!("{},{}", first.url, proxy.url());
    let trace_env = [("GOSUMDB", SUMDB_KEY)];
    let (stderr, t) = trace_download(&trace_env, tmp.path(), &list, &mods, &[]);
    assert_accounted(&t, &stderr);
    let lookup = format!("/sumdb/{SUMDB_NAME}/lookup/rsc.io/quote@v1.5.2");
    let r = t["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == lookup && r["answered_here"] == false)
        .unwrap_or_else(|| panic!("no lookup in {t}"));
    assert_eq!(r["upstream"], format!("{}{lookup}", first.url));
    assert_eq!(r["status"], 200);
    assert!(
        r["first_byte"].as_u64().unwrap() - r["asked"].as_u64().unwrap() >= 2_000_000,
        "{r}"
    );
    assert!(
        stderr.contains(&format!(
            "of the time waited on {lookup} from {}{lookup}, mostly waiting for the first byte (20",
            first.url
        )),
        "{stderr}"
    );
}

/// A slow git server: every connection to the repository waits 2 s (git's `ext::`
/// transport, `sleep 2` before `git-upload-pack`). The trace puts the wait on git
/// commands that talk to the remote and names the repository in its verdict.
#[test]
fn a_slow_git_server_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, config) = local_github_repo(tmp.path(), "acme/slow");
    let when = "2024-01-02T03:04:05Z";
    std::fs::write(
        repo.join("go.mod"),
        "module github.com/acme/slow\n\ngo 1.21\n",
    )
    .unwrap();
    std::fs::write(repo.join("slow.go"), "package slow\n").unwrap();
    testkit::git_with(&repo, &["add", "."], Some(&config), when);
    testkit::git_with(&repo, &["commit", "-qm", "one"], Some(&config), when);
    testkit::git_with(&repo, &["tag", "v1.0.0"], Some(&config), when);
    // github.com/acme/NAME → `sh -c "sleep 2; git-upload-pack REPOS/acme/NAME"`.
    let repos = repo.parent().unwrap();
    std::fs::write(
        &config,
        format!(
            "[url \"ext::sh -c sleep% 2;% %S% {}/\"]\n\tinsteadOf = https://github.com/acme/\n[protocol \"ext\"]\n\tallow = always\n",
            repos.display()
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let env = [("GIT_CONFIG_GLOBAL", cfg), ("GIT_CONFIG_NOSYSTEM", "1")];
    let mods = ["github.com/acme/slow@v1.0.0"];
    let (stderr, t) = trace_download(&env, tmp.path(), "direct", &mods, &[]);
    assert_accounted(&t, &stderr);
    let slow: Vec<String> = t["git"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["end_us"].as_u64().unwrap() - g["start_us"].as_u64().unwrap() >= 2_000_000)
        .map(|g| {
            let args: Vec<String> = serde_json::from_value(g["args"].clone()).unwrap();
            modgate::trace::git::subcommand(&args).to_string()
        })
        .collect();
    // Each command that reaches the remote waited; the local ones did not.
    assert!(
        !slow.is_empty() && slow.iter().all(|s| s == "ls-remote" || s == "fetch"),
        "{slow:?}"
    );
    assert!(
        stderr.contains("of the time waited on git ")
            && stderr.contains("of https://github.com/acme/slow"),
        "{stderr}"
    );
}

/// A slow path to the checksum database: the first proxy of the list takes 2 s to say it
/// does not proxy the database (the go command asks each in order; so does the recorder,
/// once, on the command's behalf). The trace names that wait, and the second proxy (the
/// go test proxy) serves the database the go command verifies against.
#[test]
fn a_slow_checksum_database_route_is_named() {
    let proxy = crate::proxy_support::GoTestProxy::start();
    let tmp = tempfile::tempdir().unwrap();
    let empty = Tree::new(tmp.path().join("empty"));
    let first = Upstream::start_with(
        &empty.root,
        Arc::new(|path: &str, _| {
            Answer::Serve(if path.starts_with("/sumdb/") {
                Duration::from_secs(2)
            } else {
                Duration::ZERO
            })
        }),
    );
    let list = format!("{},{}", first.url, proxy.url());
    let mods = ["rsc.io/quote@v1.5.2"];
    let env = [("GOSUMDB", SUMDB_KEY)];
    let (stderr, t) = trace_download(&env, tmp.path(), &list, &mods, &[]);
    assert_accounted(&t, &stderr);
    let supported = format!("/sumdb/{SUMDB_NAME}/supported");
    let probe = t["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["upstream"] == format!("{}{supported}", first.url))
        .unwrap_or_else(|| panic!("no probe of the first proxy in {t}"));
    assert_eq!(probe["status"], 404);
    assert!(
        probe["done"].as_u64().unwrap() - probe["asked"].as_u64().unwrap() >= 2_000_000,
        "{probe}"
    );
    assert!(
        stderr.contains(&format!(
            "of the time waited on {supported} from {}{supported}",
            first.url
        )),
        "{stderr}"
    );
}
