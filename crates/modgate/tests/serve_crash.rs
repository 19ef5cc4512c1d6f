//! Crash test: `modgate serve` is killed with SIGKILL at seed-fixed random moments while a
//! batch of fetches is under way, several times over the same data directory. After each
//! restart, every entry it has stored and every entry it serves must verify against the
//! hashes of the upstream: a crash never leaves a half entry that is served.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;
use std::time::Duration;

use crate::serve_common::{GoEnv, Server, Sums, Tree, raw_get};

const MODULES: usize = 24;
const ROUNDS: usize = 6;

/// A deterministic filler of `len` bytes that deflate cannot shrink much.
fn filler(seed: u64, len: usize) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut s = String::with_capacity(len);
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(&format!("{x:016x}"));
    }
    s.truncate(len);
    s
}

fn module(i: usize) -> String {
    format!("example.com/crash/m{i:02}")
}

/// Every stored file under the data dir's cache must be whole: zips hash to the upstream's
/// sum (and agree with their .ziphash), .mod and .info are the upstream's bytes.
fn check_store(data: &Path, tree: &Tree, sums: &BTreeMap<String, Sums>) -> usize {
    let mut checked = 0;
    for (m, s) in sums {
        let stored = |ext: &str| {
            let rel = tree.vfile(m, "v1.0.0", ext);
            let rel = rel.strip_prefix(&tree.root).unwrap().to_path_buf();
            data.join("cache/download").join(rel)
        };
        let zip = stored("zip");
        if zip.exists() {
            let h = gomod::dirhash::hash_zip_file(&zip)
                .unwrap_or_else(|e| panic!("{}: stored zip does not read: {e}", zip.display()));
            assert_eq!(
                h,
                s.zip_h1,
                "{}: stored zip is not the upstream's",
                zip.display()
            );
            let zh = stored("ziphash");
            if zh.exists() {
                assert_eq!(std::fs::read_to_string(&zh).unwrap().trim(), s.zip_h1);
            }
            checked += 1;
        }
        for ext in ["mod", "info"] {
            let p = stored(ext);
            if p.exists() {
                assert_eq!(
                    std::fs::read(&p).unwrap(),
                    std::fs::read(tree.vfile(m, "v1.0.0", ext)).unwrap(),
                    "{}: stored file is not the upstream's",
                    p.display()
                );
                checked += 1;
            }
        }
    }
    checked
}

#[test]
fn kill_9_during_fetches_never_leaves_a_served_half_entry() {
    let work = tempfile::tempdir().unwrap();
    let tree = Tree::new(work.path().join("upstream"));
    let mut sums = BTreeMap::new();
    for i in 0..MODULES {
        let m = module(i);
        let data = filler(i as u64 + 1, 1_500_000 + 100_000 * i);
        let s = tree.add(
            &m,
            "v1.0.0",
            "2024-01-02T03:04:05Z",
            &[("a.go", "package a\n"), ("data.txt", &data)],
        );
        sums.insert(m, s);
    }
    let data = work.path().join("data");
    let args = [
        "--data-dir",
        data.to_str().unwrap(),
        "--upstream",
        &tree.url(),
    ];

    let mut rng = 0x5eed_u64;
    let mut kills = 0;
    let mut partial_total = 0;
    for round in 0..ROUNDS {
        let mut server = Server::start(&args);
        // Everything already stored must verify after the previous kill.
        check_store(&data, &tree, &sums);
        let addr = server.addr.clone();
        let clients: Vec<_> = sums
            .keys()
            .cloned()
            .map(|m| {
                let addr = addr.clone();
                std::thread::spawn(move || {
                    for ext in ["info", "mod", "zip"] {
                        let _ = raw_get(&addr, "GET", &format!("/{m}/@v/v1.0.0.{ext}"));
                    }
                })
            })
            .collect();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let delay = Duration::from_millis(rng % 400);
        std::thread::sleep(delay);
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
        kills += 1;
        for c in clients {
            c.join().unwrap();
        }
        let partial = std::fs::read_dir(data.join("tmp")).map_or(0, |d| d.count());
        partial_total += partial;
        eprintln!("round {round}: killed after {delay:?}, {partial} temp files left behind");
    }

    // After the last kill: everything on disk verifies, and everything served verifies, as
    // the go command sees it.
    let server = Server::start(&args);
    let on_disk = check_store(&data, &tree, &sums);
    for (m, s) in &sums {
        let r = raw_get(&server.addr, "GET", &format!("/{m}/@v/v1.0.0.zip")).unwrap();
        assert_eq!(r.status, 200, "{m}: {}", r.text());
        assert_eq!(
            gomod::dirhash::hash_zip(Cursor::new(&r.body)).unwrap(),
            s.zip_h1,
            "{m}: served zip"
        );
    }
    let env = GoEnv::new();
    let mods: Vec<String> = sums.keys().map(|m| format!("{m}@v1.0.0")).collect();
    let mods: Vec<&str> = mods.iter().map(String::as_str).collect();
    for v in env.download(&server.url(), &mods) {
        let (path, version, sum, go_mod_sum) = crate::serve_common::summary(&v);
        let s = &sums[&path];
        assert_eq!(
            (version.as_str(), sum.as_str(), go_mod_sum.as_str()),
            ("v1.0.0", s.zip_h1.as_str(), s.mod_h1.as_str()),
            "{v}"
        );
    }
    eprintln!(
        "{kills} kills ({partial_total} temp files cut short); {on_disk} stored files verified after the last one"
    );
    assert_eq!(kills, ROUNDS);
}

/// One process per data directory: a second `modgate serve` on it exits at once saying
/// which process holds it; once that one is killed (SIGKILL: no clean-up), the directory
/// is free again.
#[test]
fn a_second_server_on_one_data_dir_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let mut first = Server::start(&["--data-dir", d, "--upstream", "off"]);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_modgate"));
    cmd.args(["serve", "--data-dir", d, "--upstream", "off", "--listen"])
        .arg(format!("127.0.0.1:{}", crate::serve_common::free_port()))
        .env_remove("MODGATE_DATA_DIR")
        .env_remove("MODGATE_CONFIG");
    let out = testkit::run_bounded(&mut cmd, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let want = format!(
        "cannot open the data dir {d}: {d} is in use by another modgate process (pid {}): one process per data directory; stop that one or give this one another --data-dir",
        first.child.id()
    );
    assert!(stderr.contains(&want), "{stderr}");
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let second = Server::start(&["--data-dir", d, "--upstream", "off"]);
    assert_eq!(
        raw_get(&second.addr, "GET", "/healthz").unwrap().status,
        200
    );
}
