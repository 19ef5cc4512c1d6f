//! `modgate serve --storage s3://BUCKET/PREFIX` on real S3-compatible storage (SeaweedFS
//! on loopback): the go command downloads through one replica, which stores what it
//! fetched in the bucket; a second replica (its own data directory, no upstream at all)
//! then serves the same modules from the bucket alone, byte for byte.

use crate::serve_common::*;

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
    // Ready while the bucket answers; once it is gone, with no upstream to answer
    // instead (--upstream off), not ready, saying why.
    let r = raw_get(&two.addr, "GET", "/readyz").unwrap();
    assert_eq!((r.status, r.text()), (200, "ready\n".to_string()));
    drop(sw);
    let r = raw_get(&two.addr, "GET", "/readyz").unwrap();
    assert_eq!(r.status, 503);
    // Refused at once, or still being retried by the S3 client when the bound hits.
    let text = r.text();
    assert!(
        (text.starts_with(&format!("not ready: the storage ({storage}) fails: "))
            || text.starts_with(&format!(
                "not ready: the storage ({storage}) did not answer within 5s"
            )))
            && text.ends_with(", and no upstream can answer instead\n"),
        "{text}"
    );
    // What the replica has in memory it still serves.
    let r = raw_get(&two.addr, "GET", "/example.com/a/@v/v1.0.0.mod").unwrap();
    assert_eq!(r.status, 200);
}

/// `[s3]` in the settings file instead of the AWS environment, the keys from the shared
/// credentials file of a profile, and `redirect_zips`: a zip download is a 302 to a
/// presigned URL of the object (HEAD is answered by modgate), which gives the zip's
/// bytes, and the go command follows it.
#[test]
fn settings_file_profile_and_presigned_zip_redirects() {
    let sw = testkit::seaweed::Seaweed::start();
    sw.create_bucket("signed");
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("upstream"));
    let a = tree.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    let endpoint = sw
        .env()
        .into_iter()
        .find(|(k, _)| *k == "AWS_ENDPOINT_URL")
        .unwrap()
        .1;
    let home = tmp.path().join("home");
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(
        home.join(".aws/credentials"),
        "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n[modgate]\naws_access_key_id = modgate-test\naws_secret_access_key = modgate-test-secret\n",
    )
    .unwrap();
    let config = tmp.path().join("modgate.toml");
    std::fs::write(
        &config,
        format!(
            "[s3]\nendpoint = \"{endpoint}\"\nallow_http = true\nregion = \"us-east-1\"\nprofile = \"modgate\"\nredirect_zips = 300\n"
        ),
    )
    .unwrap();
    let home_s = home.to_str().unwrap().to_string();
    let s = Server::start_env(
        &[
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            tmp.path().join("d").to_str().unwrap(),
            "--storage",
            "s3://signed/p",
            "--upstream",
            &tree.url(),
        ],
        &[
            ("HOME", &home_s),
            ("AWS_ENDPOINT_URL", ""),
            ("AWS_ACCESS_KEY_ID", ""),
            ("AWS_SECRET_ACCESS_KEY", ""),
            ("AWS_REGION", ""),
            ("AWS_PROFILE", ""),
        ],
    );
    let mods = ["example.com/a@v1.0.0"];
    assert_eq!(downloaded(&s.url(), &mods), downloaded(&tree.url(), &mods));
    let path = "/example.com/a/@v/v1.0.0.zip";
    let r = raw_get(&s.addr, "GET", path).unwrap();
    assert_eq!(r.status, 302, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let location = r.header("location").unwrap().to_string();
    assert!(
        location.starts_with(&format!(
            "{endpoint}/signed/p/cache/download/example.com/a/%40v/v1.0.0.zip?"
        )),
        "{location}"
    );
    for part in [
        "X-Amz-Expires=300",
        "X-Amz-Signature=",
        "X-Amz-Credential=modgate-test%2F",
    ] {
        assert!(location.contains(part), "{part} not in {location}");
    }
    // The URL gives the zip itself.
    let rest = location.strip_prefix("http://").unwrap();
    let (host, path_q) = rest.split_once('/').unwrap();
    let got = raw_request(
        host,
        format!("GET /{path_q} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .unwrap();
    assert_eq!((got.status, got.body.len()), (200, a.zip.len()));
    assert_eq!(got.body, a.zip);
    // The storage checks the signature: another one is refused.
    let sig = path_q.rfind("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let forged = format!("{}{}", &path_q[..sig], "0".repeat(64));
    let bad = raw_request(
        host,
        format!("GET /{forged} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .unwrap();
    assert_eq!(bad.status, 403, "{}", bad.text());
    // HEAD: answered here, with the zip's length.
    let h = raw_get(&s.addr, "HEAD", path).unwrap();
    assert_eq!(
        (h.status, h.header("content-length")),
        (200, Some(a.zip.len().to_string().as_str()))
    );
}

/// An S3 outage is not a fleet outage: SeaweedFS killed while the go command downloads
/// through modgate; every download still succeeds (from the upstream, checked, served
/// from staging), `/readyz` says degraded, nothing is stored while it is down and nothing
/// partial is left; once it is back, modgate says so and stores again.
#[test]
fn downloads_go_on_while_the_storage_is_down() {
    let mut sw = testkit::seaweed::Seaweed::start();
    sw.create_bucket("modules");
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("upstream"));
    let mods: Vec<String> = (0..12)
        .map(|i| {
            let path = format!("example.com/m{i}");
            // A zip of some size, so that a download is under way when the kill comes.
            let data = format!("package m{i}\n\nvar Data = `{}`\n", "x".repeat(200_000));
            tree.add(&path, "v1.0.0", T1, &[("m.go", data.as_str())]);
            format!("{path}@v1.0.0")
        })
        .collect();
    let all: Vec<&str> = mods.iter().map(String::as_str).collect();
    let straight = downloaded(&tree.url(), &all);
    let env: Vec<(&str, String)> = sw.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let storage = "s3://modules/p";
    let mg = Server::start_env(
        &[
            "--data-dir",
            tmp.path().join("d").to_str().unwrap(),
            "--storage",
            storage,
            "--upstream",
            &tree.url(),
        ],
        &env,
    );
    let object = |sw: &testkit::seaweed::Seaweed, m: &str, ext: &str| {
        let (path, v) = m.split_once('@').unwrap();
        sw.object("modules", &format!("p/cache/download/{path}/@v/{v}.{ext}"))
    };
    // Stored while the storage answers.
    assert_eq!(downloaded(&mg.url(), &all[..4]), straight[..4].to_vec());
    assert!(object(&sw, all[0], "zip").is_some());
    // Killed while the go command downloads the rest: every download succeeds.
    let url = mg.url();
    let rest: Vec<String> = mods[4..].to_vec();
    let during = std::thread::spawn(move || {
        let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
        downloaded(&url, &rest)
    });
    std::thread::sleep(std::time::Duration::from_millis(50));
    sw.stop();
    assert_eq!(during.join().unwrap(), straight[4..].to_vec());
    // With it gone: everything again, the stored ones included, from the upstream.
    assert_eq!(downloaded(&mg.url(), &all), straight);
    let r = raw_get(&mg.addr, "GET", "/readyz").unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text()
            .starts_with(&format!("ready, degraded: the storage ({storage}) fails: "))
            && r.text()
                .ends_with("; modules are answered from the upstreams, not stored\n"),
        "{}",
        r.text()
    );
    let metrics = raw_get(&mg.addr, "GET", "/metrics").unwrap().text();
    assert!(metrics.contains("\nmodgate_storage_up 0\n"), "{metrics}");
    let log = mg.log_with("the storage does not answer:");
    assert_eq!(
        log.matches("the storage does not answer:").count(),
        1,
        "{log}"
    );
    // Back: after the retry interval it is used again, and says so.
    sw.restart();
    std::thread::sleep(std::time::Duration::from_secs(6));
    assert_eq!(downloaded(&mg.url(), &all), straight);
    for m in &all {
        let zip = object(&sw, m, "zip");
        let hash = object(&sw, m, "ziphash");
        // Nothing partial: a zip with its .ziphash, and whole.
        assert_eq!(zip.is_some(), hash.is_some(), "{m}");
        if let Some(z) = zip {
            assert_eq!(
                gomod::dirhash::hash_zip(std::io::Cursor::new(&z))
                    .unwrap()
                    .into_bytes(),
                hash.unwrap(),
                "{m}"
            );
        }
    }
    for m in &all[4..] {
        assert!(
            object(&sw, m, "zip").is_some(),
            "{m} is stored once the storage is back"
        );
    }
    assert!(
        mg.log_text().contains("the storage answers again after"),
        "{}",
        mg.log_text()
    );
    let metrics = raw_get(&mg.addr, "GET", "/metrics").unwrap().text();
    assert!(metrics.contains("\nmodgate_storage_up 1\n"), "{metrics}");
}

/// With the checksum database on, an outage still verifies: the tree head modgate trusts
/// is kept in memory beside the storage, and the database's files are fetched and
/// checked, not kept, while the storage does not answer.
#[test]
fn the_checksum_database_is_verified_while_the_storage_is_down() {
    const KEY: &str =
        "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";
    let proxy = crate::proxy_support::GoTestProxy::start();
    let mut sw = testkit::seaweed::Seaweed::start();
    sw.create_bucket("modules");
    let tmp = tempfile::tempdir().unwrap();
    let env: Vec<(&str, String)> = sw.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mg = Server::start_env(
        &[
            "--data-dir",
            tmp.path().join("d").to_str().unwrap(),
            "--storage",
            "s3://modules/p",
            "--upstream",
            &proxy.url(),
            "--sumdb",
            KEY,
        ],
        &env,
    );
    let download = |m: &str| {
        let go = GoEnv::with_env(&[("GOSUMDB", KEY)]);
        let got = go.download(&mg.url(), &[m]);
        assert!(got[0].get("Error").is_none(), "{}", got[0]);
    };
    // Down before anything was verified: the trusted tree head cannot be read.
    sw.stop();
    download("rsc.io/quote@v1.5.2");
    download("rsc.io/sampler@v1.3.0");
    let log = mg.log_with("the trusted tree head cannot be read from the storage");
    assert!(!log.contains("SECURITY ERROR"), "{log}");
    assert!(log.contains("the storage does not answer:"), "{log}");
    assert!(
        log.contains("the trusted tree head cannot be read from the storage"),
        "{log}"
    );
    let name = "localhost.localdev/sumdb";
    // Back: the tree head and what is fetched are stored again.
    sw.restart();
    std::thread::sleep(std::time::Duration::from_secs(6));
    download("golang.org/x/text@v0.3.0");
    assert!(
        sw.object(
            "modules",
            "p/cache/download/golang.org/x/text/@v/v0.3.0.zip"
        )
        .is_some()
    );
    assert!(
        sw.object(
            "modules",
            &format!("p/cache/download/sumdb/{name}/lookup/golang.org/x/text@v0.3.0")
        )
        .is_some()
    );
    // The client started again from the stored tree head (none here) and stored the one
    // it trusts.
    assert!(
        sw.object("modules", &format!("p/sumdb/{name}/latest"))
            .is_some()
    );
    assert!(
        mg.log_text().contains("the storage answers again: the checksum database's tree is proven against the stored tree head"),
        "{}",
        mg.log_text()
    );
    assert!(
        !mg.log_text().contains("SECURITY ERROR"),
        "{}",
        mg.log_text()
    );
}
