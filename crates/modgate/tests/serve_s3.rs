//! `modgate serve --storage s3://BUCKET/PREFIX` on real S3-compatible storage (SeaweedFS
//! on loopback): the go command downloads through one replica, which stores what it
//! fetched in the bucket; a second replica (its own data directory, no upstream at all)
//! then serves the same modules from the bucket alone, byte for byte.

mod serve_common;

use serve_common::*;

const T1: &str = "2024-01-02T03:04:05Z";

#[test]
fn replicas_share_one_bucket() {
    let sw = testkit::seaweed::Seaweed::start();
    sw.create_bucket("modules");
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("upstream"));
    let a = tree.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    tree.add(
        "example.com/b",
        "v1.2.0",
        T1,
        &[("b.go", "package b\n"), ("LICENSE", "MIT\n")],
    );
    let env: Vec<(&str, String)> = sw.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let storage = "s3://modules/replicated";
    let one_dir = tmp.path().join("one");
    let one = Server::start_env(
        &[
            "--data-dir",
            one_dir.to_str().unwrap(),
            "--storage",
            storage,
            "--upstream",
            &tree.url(),
        ],
        &env,
    );
    let mods = ["example.com/a@v1.0.0", "example.com/b@v1.2.0"];
    let first: Vec<_> = downloaded(&one.url(), &mods);
    let straight: Vec<_> = downloaded(&tree.url(), &mods);
    assert_eq!(first, straight);
    // In the bucket, in the GOMODCACHE layout under the prefix; nothing of it on the
    // replica's own disk but its lock, its (empty) staging area.
    let zip = sw
        .object(
            "modules",
            "replicated/cache/download/example.com/a/@v/v1.0.0.zip",
        )
        .unwrap();
    assert_eq!(zip, a.zip);
    assert_eq!(
        sw.object(
            "modules",
            "replicated/cache/download/example.com/a/@v/v1.0.0.ziphash"
        )
        .unwrap(),
        a.zip_h1.as_bytes()
    );
    assert_eq!(files_under(&one_dir), ["modgate.lock"]);
    assert!(
        one.log_text().contains(&format!("storage {storage},")),
        "{}",
        one.log_text()
    );
    // A second replica, no upstream: everything from the bucket.
    let two_dir = tmp.path().join("two");
    let two = Server::start_env(
        &[
            "--data-dir",
            two_dir.to_str().unwrap(),
            "--storage",
            storage,
            "--upstream",
            "off",
        ],
        &env,
    );
    let second: Vec<_> = downloaded(&two.url(), &mods);
    assert_eq!(second, straight);
    // A range of a zip, from the bucket.
    let r = raw_request(
        &two.addr,
        b"GET /example.com/a/@v/v1.0.0.zip HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert_eq!(r.status, 206);
    assert_eq!(r.body, a.zip[10..20].to_vec());
    // Ready while the bucket answers; not ready, saying why, once it is gone.
    let r = raw_get(&two.addr, "GET", "/readyz").unwrap();
    assert_eq!((r.status, r.text()), (200, "ready\n".to_string()));
    drop(sw);
    let r = raw_get(&two.addr, "GET", "/readyz").unwrap();
    assert_eq!(r.status, 503);
    // Refused at once, or still being retried by the S3 client when the bound hits.
    let text = r.text();
    assert!(
        text.starts_with(&format!("not ready: the storage ({storage}) fails: "))
            || text == format!("not ready: the storage ({storage}) did not answer within 5s\n"),
        "{text}"
    );
    // What the replica has in memory it still serves.
    let r = raw_get(&two.addr, "GET", "/example.com/a/@v/v1.0.0.mod").unwrap();
    assert_eq!(r.status, 200);
}
