//! `[cache] max_bytes`: a data directory on a small tmpfs, bounded below its size. The real
//! go command downloads modules of about 2 MiB one after another through modgate: every
//! download gives the upstream's exact hashes, the data directory stays under the bound,
//! the least recently used versions leave it (whole) and the recent ones stay, a version
//! used again is kept over older ones, and an evicted version downloads again. A module
//! larger than the disk is a 507 naming the directory, and smaller ones still come after
//! eviction. A zip being streamed to a slow client is not evicted until its stream ends,
//! and the client gets exactly its bytes. The `direct` source's git clones are counted
//! and evicted too, and cloned again when needed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use crate::serve_common::*;
use testkit::mount::{Mount, noise};

const T1: &str = "2024-01-02T03:04:05Z";
const MIB: u64 = 1 << 20;
/// The bound under test.
const MAX: u64 = 8 * MIB;

fn assert_root() {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test mounts a tmpfs: run it as root (CI does)"
    );
}

/// Adds `module@v1.0.0` with one file of `n` noise characters.
fn add_noisy(tree: &Tree, module: &str, n: usize, seed: u64) -> Sums {
    let code = format!("package p\n\nconst S = `{}`\n", noise(n, seed));
    tree.add(module, "v1.0.0", T1, &[("p.go", code.as_str())])
}

/// The total size of the files under `dir`.
fn size_under(dir: &Path) -> u64 {
    files_under(dir)
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).map_or(0, |m| m.len()))
        .sum()
}

/// The files of `module@v1.0.0` in the data directory (`zip`, `ziphash`, `info`, `mod`).
fn version_files(data: &Path, module: &str) -> Vec<String> {
    let vdir = data.join("cache/download").join(module).join("@v");
    ["zip", "ziphash", "info", "mod"]
        .into_iter()
        .filter(|ext| vdir.join(format!("v1.0.0.{ext}")).exists())
        .map(str::to_string)
        .collect()
}

fn zip_stored(data: &Path, module: &str) -> bool {
    version_files(data, module).contains(&"zip".to_string())
}

/// `go mod download module@v1.0.0` through the server, in a fresh module cache: the
/// upstream's hashes.
fn download(server: &Server, module: &str, sums: &Sums) {
    let got = downloaded(&server.url(), &[&format!("{module}@v1.0.0")]);
    assert_eq!(
        got,
        [(
            module.to_string(),
            "v1.0.0".to_string(),
            sums.zip_h1.clone(),
            sums.mod_h1.clone()
        )]
    );
}

/// The eviction rounds the server logged (one line each).
fn rounds(server: &Server) -> Vec<String> {
    server
        .log_text()
        .lines()
        .filter(|l| l.contains("least recently used entries"))
        .map(str::to_string)
        .collect()
}

#[test]
fn least_recently_used_versions_leave_and_the_data_dir_stays_under_max_bytes() {
    assert_root();
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("upstream"));
    let mods: Vec<String> = (1..=6).map(|i| format!("example.com/m{i}")).collect();
    let sums: Vec<Sums> = mods
        .iter()
        .enumerate()
        .map(|(i, m)| add_noisy(&tree, m, 2_800_000, i as u64))
        .collect();
    // Three versions fit under the bound, four do not, and one eviction makes room for
    // the next (the expectations below rest on this).
    for s in &sums {
        let z = s.zip.len() as u64;
        assert!(z > 2 * MIB && z < 2 * MIB + 400 * 1024, "zip of {z} bytes");
    }
    let small = tree.add(
        "example.com/small",
        "v1.0.0",
        T1,
        &[("s.go", "package small\n")],
    );
    let big_code = format!("package big\n\nconst S = `{}`\n", noise(24 << 20, 99));
    tree.add(
        "example.com/big",
        "v1.0.0",
        T1,
        &[("big.go", big_code.as_str())],
    );
    let data = tmp.path().join("data");
    let _fs = Mount::tmpfs(&data, "16m");
    let config = tmp.path().join("modgate.toml");
    std::fs::write(&config, "[cache]\nmax_bytes = \"8MiB\"\n").unwrap();
    let server = Server::start(&[
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--upstream",
        &tree.url(),
    ]);
    server.log_with("local storage scanned");
    for (m, s) in mods.iter().zip(&sums).take(5) {
        download(&server, m, s);
        let used = size_under(&data);
        assert!(used <= MAX, "{used} bytes in the data dir after {m}");
    }
    // m1 and m2 left whole, the three most recent stayed.
    let all = ["zip", "ziphash", "info", "mod"]
        .map(str::to_string)
        .to_vec();
    assert_eq!(version_files(&data, &mods[0]), Vec::<String>::new());
    assert_eq!(version_files(&data, &mods[1]), Vec::<String>::new());
    for m in &mods[2..5] {
        assert_eq!(version_files(&data, m), all, "{m}");
    }
    // m3 is used again (a zip served from the store): m4 is now the least recently used.
    let r = raw_get(&server.addr, "GET", "/example.com/m3/@v/v1.0.0.zip").unwrap();
    assert_eq!((r.status, &r.body), (200, &sums[2].zip));
    download(&server, &mods[5], &sums[5]);
    assert!(!zip_stored(&data, &mods[3]), "m4 should have been evicted");
    for i in [2, 4, 5] {
        assert!(zip_stored(&data, &mods[i]), "{}", mods[i]);
    }
    // An evicted version downloads again: fetched from the upstream and stored again,
    // which evicts the least recently used one, m5.
    download(&server, &mods[0], &sums[0]);
    assert!(zip_stored(&data, &mods[0]));
    assert!(!zip_stored(&data, &mods[4]), "m5 should have been evicted");
    assert!(zip_stored(&data, &mods[2]) && zip_stored(&data, &mods[5]));
    assert!(size_under(&data) <= MAX);
    // One line per round, each one entry here: never a line per file. The new version
    // counts as an entry once its .info or .mod is stored (m1's came from the HTTP
    // layer's memory the second time: its zip makes it one after the round).
    let lines = rounds(&server);
    assert_eq!(lines.len(), 4, "{lines:#?}");
    for (i, l) in lines.iter().enumerate() {
        let entries = if i < 3 { 3 } else { 2 };
        assert!(
            l.contains("evicted 1 least recently used entries (")
                && l.contains("a write would exceed max_bytes; now ")
                && l.contains(&format!(" bytes in {entries} entries")),
            "{l}"
        );
    }
    // The metrics count the same rounds, entries and bytes as the log lines.
    let bytes: u64 = lines
        .iter()
        .map(|l| {
            let after = l.split("entries (").nth(1).unwrap();
            after.split(' ').next().unwrap().parse::<u64>().unwrap()
        })
        .sum();
    let metrics = raw_get(&server.addr, "GET", "/metrics").unwrap().text();
    for want in [
        "modgate_evictions_total 4".to_string(),
        "modgate_evicted_entries_total 4".to_string(),
        format!("modgate_evicted_bytes_total {bytes}"),
    ] {
        assert!(
            metrics.lines().any(|l| l == want),
            "{want} not in:\n{metrics}"
        );
    }

    // A module larger than the whole disk: 507 naming the directory, after an eviction
    // round made room and the download was tried once more.
    let r = raw_get(&server.addr, "GET", "/example.com/big/@v/v1.0.0.zip").unwrap();
    assert_eq!(r.status, 507, "{}", r.text());
    let body = r.text();
    assert!(
        body.starts_with("insufficient storage: ")
            && body.contains(&format!(" ({} has ", data.join("tmp").display()))
            && body.contains(" bytes free); modgate still serves what it stored"),
        "{body}"
    );
    let log = server.log_with("the disk is full");
    assert!(
        log.lines()
            .any(|l| l.contains("evicted 1 least recently used entries (")
                && l.contains("the disk is full; now ")),
        "{log}"
    );
    assert!(
        !data
            .join("cache/download/example.com/big/@v/v1.0.0.zip")
            .exists()
    );
    assert_eq!(staged_after_writes(&data.join("tmp")), Vec::<String>::new());
    // Smaller modules still come.
    download(&server, "example.com/small", &small);
    download(&server, &mods[1], &sums[1]);
    assert!(zip_stored(&data, &mods[1]));
    assert!(size_under(&data) <= MAX);
}

/// A connection whose receive buffer is small, so that the server's writes wait for the
/// reader (a slow client on a slow network).
fn slow_connection(addr: &str) -> TcpStream {
    use rustix::net::{AddressFamily, SocketType, connect, socket, sockopt};
    let fd = socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
    sockopt::set_socket_recv_buffer_size(&fd, 4096).unwrap();
    let sa: std::net::SocketAddr = addr.parse().unwrap();
    connect(&fd, &sa).unwrap();
    let s = TcpStream::from(fd);
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s
}

#[test]
fn a_zip_being_streamed_is_not_evicted_until_its_stream_ends() {
    assert_root();
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("upstream"));
    // Larger than what the kernel's socket buffers and the server's own can hold in
    // flight (a few MiB): its stream stays open while the client has not read it.
    let streamed = add_noisy(&tree, "example.com/streamed", 8_800_000, 1);
    assert!(streamed.zip.len() as u64 > 6 * MIB && (streamed.zip.len() as u64) < MAX);
    let x1 = add_noisy(&tree, "example.com/x1", 2_800_000, 2);
    let x2 = add_noisy(&tree, "example.com/x2", 2_800_000, 3);
    let data = tmp.path().join("data");
    let _fs = Mount::tmpfs(&data, "32m");
    let server = Server::start(&[
        "--cache-max-bytes",
        "8MiB",
        "--data-dir",
        data.to_str().unwrap(),
        "--upstream",
        &tree.url(),
    ]);
    server.log_with("local storage scanned");
    let path = "/example.com/streamed/@v/v1.0.0.zip";
    let r = raw_get(&server.addr, "GET", path).unwrap();
    assert_eq!((r.status, &r.body), (200, &streamed.zip));
    // A slow client: the headers and a few KiB.
    let mut conn = slow_connection(&server.addr);
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    )
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.windows(4).all(|w| w != b"\r\n\r\n") || got.len() < 16 * 1024 {
        let n = conn.read(&mut buf).unwrap();
        assert!(n > 0, "the server closed early");
        got.extend_from_slice(&buf[..n]);
    }
    // Another version is stored: over the bound, and the streamed zip, the least recently
    // used, is in use: it stays (the total is over the bound meanwhile, and says so).
    let r = raw_get(&server.addr, "GET", "/example.com/x1/@v/v1.0.0.zip").unwrap();
    assert_eq!((r.status, &r.body), (200, &x1.zip));
    let log = server.log_with("still over");
    assert!(
        log.lines().any(|l| l.contains(
            "evicted 0 least recently used entries (0 bytes): a write would exceed max_bytes; now "
        ) && l.contains("(still over: the rest is in use or never evicted)")),
        "{log}"
    );
    assert!(zip_stored(&data, "example.com/streamed"));
    // The client reads the rest, a few KiB at a time, to the end of the connection.
    loop {
        let n = conn.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    let end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200 "), "{head}");
    assert!(
        head.contains(&format!("content-length: {}", streamed.zip.len())),
        "{head}"
    );
    assert!(
        got[end + 4..] == streamed.zip[..],
        "the streamed bytes differ"
    );
    // The stream has ended: the next write over the bound evicts it (the least recently
    // used), and the two others stay.
    let r = raw_get(&server.addr, "GET", "/example.com/x2/@v/v1.0.0.zip").unwrap();
    assert_eq!((r.status, &r.body), (200, &x2.zip));
    assert!(!zip_stored(&data, "example.com/streamed"));
    assert!(zip_stored(&data, "example.com/x1") && zip_stored(&data, "example.com/x2"));
    assert!(size_under(&data) <= MAX);
}

fn git(dir: &Path, config: &Path, args: &[&str]) {
    testkit::git_with(dir, args, Some(config), T1);
}

/// A repository at github.com/acme/NAME (through insteadOf to a local directory) with one
/// tagged commit of `files`.
fn repo(repos: &Path, config: &Path, name: &str, files: &[(&str, &str)]) {
    let dir = repos.join("acme").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, config, &["init", "-q"]);
    for (f, body) in files {
        std::fs::write(dir.join(f), body).unwrap();
    }
    git(&dir, config, &["add", "."]);
    git(&dir, config, &["commit", "-qm", "one"]);
    git(&dir, config, &["tag", "v1.0.0"]);
}

/// The clone directories under `<data>/git`.
fn clones(data: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(data.join("git"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() == 64)
        .collect();
    v.sort();
    v
}

/// The `direct` source's clones count too: a second repository's clone evicts the first
/// (least recently used, not in use), and the first is cloned again when it is needed.
#[test]
fn git_clones_are_evicted_least_recently_used_and_cloned_again() {
    assert_root();
    let tmp = tempfile::tempdir().unwrap();
    let repos = tmp.path().join("repos");
    let config = tmp.path().join("gitconfig");
    github_to_local(&config, &repos);
    for (i, name) in ["a", "b"].into_iter().enumerate() {
        let code = format!(
            "package {name}\n\nconst S = `{}`\n",
            noise(1_600_000, i as u64)
        );
        repo(
            &repos,
            &config,
            name,
            &[
                ("go.mod", &format!("module github.com/acme/{name}\n")),
                ("p.go", &code),
            ],
        );
    }
    let data = tmp.path().join("data");
    let _fs = Mount::tmpfs(&data, "16m");
    let cfg = config.to_str().unwrap();
    let server = Server::start_env(
        &[
            "--cache-max-bytes",
            "2MiB",
            "--data-dir",
            data.to_str().unwrap(),
            "--upstream",
            "direct",
        ],
        // Nothing made ahead: a's zip, made from its clone after its go.mod, would hold
        // the clone in use and take the room this test gives the clones.
        &[
            ("GIT_CONFIG_GLOBAL", cfg),
            ("GIT_CONFIG_NOSYSTEM", "1"),
            ("MODGATE_CACHE_PREFETCH", "off"),
        ],
    );
    server.log_with("local storage scanned");
    let get = |path: &str| {
        let r = raw_get(&server.addr, "GET", path).unwrap();
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        r
    };
    // a's clone (over 1 MiB: a pack of noise), then b's: over the bound, a's goes.
    let r = get("/github.com/acme/a/@v/v1.0.0.mod");
    assert_eq!(r.text(), "module github.com/acme/a\n");
    let a = clones(&data);
    assert_eq!(a.len(), 1);
    get("/github.com/acme/b/@v/v1.0.0.mod");
    let b = clones(&data);
    assert_eq!(b.len(), 1);
    assert_ne!(a, b, "a's clone should have been evicted for b's");
    assert!(size_under(&data) <= 2 * MIB);
    // a is needed again (its .info and zip were never fetched): cloned again, and b's
    // goes; what it serves is the same commit.
    let r = get("/github.com/acme/a/@v/v1.0.0.info");
    assert!(r.text().contains("\"Version\":\"v1.0.0\""), "{}", r.text());
    assert_eq!(clones(&data), a);
    let r = get("/github.com/acme/a/@v/v1.0.0.zip");
    assert_eq!(r.header("content-type"), Some("application/zip"));
    let lines = rounds(&server);
    assert!(lines.len() >= 2, "{lines:#?}");
    assert!(
        lines[0].contains("evicted 1 least recently used entries (")
            && lines[0].contains("a git fetch brought the total over max_bytes; now "),
        "{lines:#?}"
    );
}
