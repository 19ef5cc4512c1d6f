//! Prefetch: after a client fetches a go.mod, the `.mod` and `.info` of its requirements
//! (and of theirs, down to the depth limit) appear in the data dir without being asked
//! for; `prefetch = "off"` fetches nothing ahead, `"all"` the zips too; a client asking
//! meanwhile joins the prefetch's fetch (one source call); a go.mod that does not parse
//! triggers nothing; a private requirement is never prefetched from a public upstream.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::serve_common::counting::Counting;
use crate::serve_common::*;
use modgate::cache::{Cache, CacheSettings};
use modgate::storage::Store;

const T1: &str = "2024-01-02T03:04:05Z";

/// A go.mod of `module` requiring `reqs` (module, version).
fn go_mod(module: &str, reqs: &[&str]) -> String {
    let mut s = format!("module {module}\n\ngo 1.21\n");
    for r in reqs {
        s.push_str(&format!("\nrequire {r} v1.0.0\n"));
    }
    s
}

/// A tree with the chain example.com/m0 -> m1 -> m2 -> m3 (each requires the next).
fn chain_tree(root: PathBuf) -> Tree {
    let tree = Tree::new(root);
    for i in 0..4 {
        let m = format!("example.com/m{i}");
        let next = format!("example.com/m{}", i + 1);
        let reqs: Vec<&str> = if i < 3 { vec![next.as_str()] } else { vec![] };
        let gm = go_mod(&m, &reqs);
        tree.add(
            &m,
            "v1.0.0",
            T1,
            &[("go.mod", gm.as_str()), ("x.go", "package x\n")],
        );
    }
    tree
}

/// The stored files under the data dir's `cache/download`.
fn stored(data: &Path) -> Vec<String> {
    files_under(&data.join("cache").join("download"))
}

/// Waits (at most 15 s) until the stored files are `want`, then checks they stay so for
/// a moment (nothing beyond them is fetched).
fn wait_exactly(data: &Path, want: &[&str]) {
    let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    let deadline = Instant::now() + Duration::from_secs(15);
    while stored(data) != want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(stored(data), want);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(stored(data), want);
}

fn config(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("modgate.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn get_mod(server: &Server, module: &str) -> String {
    let r = raw_get(&server.addr, "GET", &format!("/{module}/@v/v1.0.0.mod")).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    r.text()
}

#[test]
fn requirements_are_prefetched_down_to_the_depth_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = chain_tree(tmp.path().join("up"));
    let data = tmp.path().join("data");
    let server = Server::over(&data, &tree.url());
    assert_eq!(
        get_mod(&server, "example.com/m0"),
        go_mod("example.com/m0", &["example.com/m1"])
    );
    // Default: prefetch = "mod", two levels below the client's request.
    wait_exactly(
        &data,
        &[
            "example.com/m0/@v/v1.0.0.mod",
            "example.com/m1/@v/v1.0.0.info",
            "example.com/m1/@v/v1.0.0.mod",
            "example.com/m2/@v/v1.0.0.info",
            "example.com/m2/@v/v1.0.0.mod",
        ],
    );
    // A cache hit prefetches nothing more.
    get_mod(&server, "example.com/m1");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !stored(&data)
            .iter()
            .any(|f| f.starts_with("example.com/m3"))
    );
    // The next fetched go.mod goes on from there.
    assert_eq!(
        get_mod(&server, "example.com/m3"),
        go_mod("example.com/m3", &[])
    );
    assert_eq!(stored(&data).len(), 6);
}

#[test]
fn prefetch_off_fetches_nothing_ahead() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = chain_tree(tmp.path().join("up"));
    let data = tmp.path().join("data");
    let cfg = config(tmp.path(), "[cache]\nprefetch = \"off\"\n");
    let server = Server::start(&[
        "--config",
        cfg.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--upstream",
        &tree.url(),
    ]);
    get_mod(&server, "example.com/m0");
    wait_exactly(&data, &["example.com/m0/@v/v1.0.0.mod"]);
}

#[test]
fn prefetch_all_fetches_the_zips_too() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = chain_tree(tmp.path().join("up"));
    let data = tmp.path().join("data");
    let cfg = config(tmp.path(), "[cache]\nprefetch = \"all\"\n");
    let server = Server::start(&[
        "--config",
        cfg.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--upstream",
        &tree.url(),
    ]);
    get_mod(&server, "example.com/m2");
    wait_exactly(
        &data,
        &[
            "example.com/m2/@v/v1.0.0.mod",
            "example.com/m3/@v/v1.0.0.info",
            "example.com/m3/@v/v1.0.0.mod",
            "example.com/m3/@v/v1.0.0.zip",
            "example.com/m3/@v/v1.0.0.ziphash",
        ],
    );
    assert_eq!(
        std::fs::read(data.join("cache/download/example.com/m3/@v/v1.0.0.zip")).unwrap(),
        std::fs::read(tree.vfile("example.com/m3", "v1.0.0", "zip")).unwrap()
    );
}

fn counting_cache(root: &Path, data: &Path, delay: Duration) -> (Arc<Counting>, Cache) {
    let source = Counting::new(root, delay);
    let store = Arc::new(Store::open_dir(data).unwrap());
    let settings = CacheSettings {
        prefetch_depth: 1,
        ..CacheSettings::default()
    };
    let cache = Cache::new(source.clone(), store, settings);
    (source, cache)
}

/// Polls (at most 15 s) until the source's calls are `want`.
async fn wait_calls(source: &Counting, want: &[(&str, usize)]) {
    let want: Vec<(String, usize)> = want.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    let deadline = Instant::now() + Duration::from_secs(15);
    while source.calls() != want && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(source.calls(), want);
}

#[test]
fn a_client_joins_the_prefetch_in_flight() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = chain_tree(tmp.path().join("up"));
    let data = tmp.path().join("data");
    let (source, cache) = counting_cache(&tree.root, &data, Duration::from_millis(400));
    rt().block_on(async {
        cache.go_mod("example.com/m0", "v1.0.0").await.unwrap();
        // The prefetch of m1's go.mod is under way (it takes 400 ms): clients join it.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let clients: Vec<_> = (0..10)
            .map(|_| {
                let c = cache.clone();
                tokio::spawn(async move { c.go_mod("example.com/m1", "v1.0.0").await })
            })
            .collect();
        for c in clients {
            assert_eq!(
                c.await.unwrap().unwrap(),
                go_mod("example.com/m1", &["example.com/m2"]).into_bytes()
            );
        }
        // Then the prefetch asks for the .info; a client meanwhile joins that too.
        let info = cache.info("example.com/m1", "v1.0.0").await.unwrap();
        assert_eq!(gomod::info::parse(&info.value).unwrap().version, "v1.0.0");
        // The clients' m1 was not a cache hit (they joined a fetch), so its requirement m2
        // is prefetched, one level (the limit here) below them; m3 is not.
        wait_calls(
            &source,
            &[
                ("mod example.com/m0@v1.0.0", 1),
                ("mod example.com/m1@v1.0.0", 1),
                ("mod example.com/m2@v1.0.0", 1),
                ("stat example.com/m1@v1.0.0", 1),
                ("stat example.com/m2@v1.0.0", 1),
            ],
        )
        .await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(source.calls().len(), 5);
    });
}

#[test]
fn a_go_mod_that_does_not_parse_triggers_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = chain_tree(tmp.path().join("up"));
    std::fs::write(
        tree.vfile("example.com/m0", "v1.0.0", "mod"),
        "module example.com/m0\n\nrequire (\n\texample.com/m1 v1.0.0\n",
    )
    .unwrap();
    let data = tmp.path().join("data");
    let (source, cache) = counting_cache(&tree.root, &data, Duration::ZERO);
    rt().block_on(async {
        let e = cache.go_mod("example.com/m0", "v1.0.0").await.unwrap_err();
        assert!(e.to_string().contains("the go.mod does not parse"), "{e}");
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            source.calls(),
            vec![("mod example.com/m0@v1.0.0".to_string(), 1)]
        );
    });
    assert_eq!(stored(&data), Vec::<String>::new());
}

#[test]
fn a_private_requirement_is_never_prefetched_from_a_public_upstream() {
    let tmp = tempfile::tempdir().unwrap();
    // The public tree has a copy of the private module too: it must never be asked.
    let public = Tree::new(tmp.path().join("public"));
    let root_mod = go_mod(
        "example.com/app",
        &["corp.example.com/secret", "example.com/b"],
    );
    public.add(
        "example.com/app",
        "v1.0.0",
        T1,
        &[("go.mod", root_mod.as_str())],
    );
    public.add("example.com/b", "v1.0.0", T1, &[("b.go", "package b\n")]);
    public.add(
        "corp.example.com/secret",
        "v1.0.0",
        T1,
        &[("go.mod", "module corp.example.com/secret // public copy\n")],
    );
    let private = Tree::new(tmp.path().join("private"));
    private.add(
        "corp.example.com/secret",
        "v1.0.0",
        T1,
        &[("go.mod", "module corp.example.com/secret // private copy\n")],
    );
    // The public upstream: another modgate (not prefetching itself), whose data dir shows
    // what it was asked for.
    let up_cfg = tmp.path().join("up.toml");
    std::fs::write(&up_cfg, "[cache]\nprefetch = \"off\"\n").unwrap();
    let up_data = tmp.path().join("up-data");
    let upstream = Server::start(&[
        "--config",
        up_cfg.to_str().unwrap(),
        "--data-dir",
        up_data.to_str().unwrap(),
        "--upstream",
        &public.url(),
    ]);
    let cfg = config(
        tmp.path(),
        &format!("private_upstreams = [\"{}\"]\n", private.url()),
    );
    let data = tmp.path().join("data");
    let server = Server::start(&[
        "--config",
        cfg.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--upstream",
        &format!("{},{}", upstream.url(), private.url()),
        "--private",
        "corp.example.com",
    ]);
    assert_eq!(get_mod(&server, "example.com/app"), root_mod);
    wait_exactly(
        &data,
        &[
            "corp.example.com/secret/@v/v1.0.0.info",
            "corp.example.com/secret/@v/v1.0.0.mod",
            "example.com/app/@v/v1.0.0.mod",
            "example.com/b/@v/v1.0.0.info",
            "example.com/b/@v/v1.0.0.mod",
        ],
    );
    assert_eq!(
        std::fs::read_to_string(data.join("cache/download/corp.example.com/secret/@v/v1.0.0.mod"))
            .unwrap(),
        "module corp.example.com/secret // private copy\n"
    );
    assert_eq!(
        stored(&up_data),
        vec![
            "example.com/app/@v/v1.0.0.mod",
            "example.com/b/@v/v1.0.0.info",
            "example.com/b/@v/v1.0.0.mod",
        ]
    );
}
