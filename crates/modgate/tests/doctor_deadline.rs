//! The doctor ends within its `--timeout` whatever hangs: every check that waits shares
//! one deadline and they run at once (issue 13: a proxy that accepts and never answers
//! took the doctor two full waits in a row).

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A server that accepts every connection, reads what it is sent, and never answers.
/// Its thread ends with the test process; the connections stay open until then.
fn hanging_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || hold(stream));
        }
    });
    format!("http://{addr}")
}

fn hold(mut s: TcpStream) {
    let mut buf = [0u8; 4096];
    while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
}

/// `modgate doctor --json --timeout TIMEOUT PROJECT` with a clean environment (HOME,
/// GOPROXY and GOMODCACHE as given): how long it took, its exit status, its report.
fn doctor(
    project: &Path,
    home: &Path,
    timeout: &str,
    goproxy: &str,
    modcache: &Path,
) -> (Duration, Option<i32>, Value) {
    let go = testkit::go_binary();
    let path = format!("{}:/usr/bin:/bin", go.parent().unwrap().display());
    let mut c = Command::new(PathBuf::from(env!("CARGO_BIN_EXE_modgate")));
    c.args(["doctor", "--json", "--timeout", timeout])
        .arg(project)
        .env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .env("GOPROXY", goproxy)
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "")
        .env("GOMODCACHE", modcache)
        .env("GOCACHE", home.join("gocache"));
    let t = Instant::now();
    let out = testkit::run_bounded(&mut c, Duration::from_secs(60));
    let took = t.elapsed();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (took, out.status.code(), report)
}

#[test]
fn a_hanging_proxy_is_named_within_the_timeout() {
    let proxy = hanging_server();
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("p");
    std::fs::create_dir_all(&project).unwrap();
    // A requirement, so that the requirements check asks the proxy too; the checksum
    // database (default GOSUMDB) is asked through it as well: three waits on one server.
    std::fs::write(
        project.join("go.mod"),
        "module example.com/p\n\ngo 1.21\n\nrequire example.com/dep v1.0.0\n",
    )
    .unwrap();
    let (took, code, report) = doctor(
        &project,
        tmp.path(),
        "3s",
        &proxy,
        &tmp.path().join("modcache"),
    );
    // The contract of the issue: --timeout 3s answers within 4 s.
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert_eq!(code, Some(1));
    let hang: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["group"] == "network")
        .collect();
    assert_eq!(hang.len(), 1, "{report:#}");
    let host = proxy.trim_start_matches("http://");
    let measured = hang[0]["measured"].as_str().unwrap();
    assert!(
        measured.starts_with(&format!(
            "{} accepted the connection",
            host.split(':').next().unwrap()
        )),
        "{measured}"
    );
    assert!(
        measured.ends_with(&format!(
            "but sent no answer to GET {proxy}/golang.org/x/mod/@v/list within 3000 ms"
        )),
        "{measured}"
    );
    assert_eq!(
        hang[0]["cause"],
        "the proxy hangs: downloads through it wait until the go command gives up"
    );
}

/// A module cache whose reads hang (a FIFO where a `.ziphash` is: reading it waits for a
/// writer forever, as a stuck network file system does): the doctor still ends within
/// its timeout, and says where it hung.
#[test]
fn a_module_cache_that_hangs_is_named_within_the_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("p");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("go.mod"), "module example.com/p\n\ngo 1.21\n").unwrap();
    let modcache = tmp.path().join("modcache");
    let vdir = modcache.join("cache/download/example.com/a/@v");
    std::fs::create_dir_all(&vdir).unwrap();
    std::fs::write(vdir.join("v1.0.0.zip"), b"PK").unwrap();
    let fifo = vdir.join("v1.0.0.ziphash");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let (took, _, report) = doctor(&project, tmp.path(), "2s", "off", &modcache);
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let hung: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["group"] == "cache" && f["severity"] == "problem")
        .collect();
    assert_eq!(hung.len(), 1, "{report:#}");
    assert_eq!(
        hung[0]["measured"],
        format!(
            "the check of the module cache ({}) did not finish within 2000 ms (--timeout)",
            modcache.display()
        )
    );
}
