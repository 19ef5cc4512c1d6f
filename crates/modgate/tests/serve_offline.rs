//! `modgate serve --offline`: what a connected run stored is served, lists and `@latest`
//! however old; everything else is a 404 that says why, and no upstream is asked.

use crate::serve_common::*;

const T1: &str = "2024-01-02T03:04:05Z";

#[test]
fn offline_serves_what_is_stored_and_says_why_for_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = Tree::new(tmp.path().join("upstream"));
    tree.add("example.com/a", "v1.0.0", T1, &[("a.go", "package a\n")]);
    tree.add(
        "example.com/a",
        "v1.1.0",
        T1,
        &[("a.go", "package a // 1.1\n")],
    );
    let data = tmp.path().join("data");
    // Lists and @latest live one second: the offline run below serves them older.
    let config = tmp.path().join("modgate.toml");
    std::fs::write(&config, "[cache]\nlist_ttl = 1\n").unwrap();
    let args = |extra: &[&str]| {
        let mut a = vec![
            "--data-dir".to_string(),
            data.display().to_string(),
            "--config".to_string(),
            config.display().to_string(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let online_args = args(&["--upstream", &tree.url()]);
    let online = Server::start(&online_args.iter().map(String::as_str).collect::<Vec<_>>());
    let mods = ["example.com/a@v1.0.0", "example.com/a@latest"];
    let straight: Vec<_> = downloaded(&tree.url(), &mods);
    let first: Vec<_> = downloaded(&online.url(), &mods);
    assert_eq!(first, straight);
    drop(online);
    // The upstream is gone; the offline run never looks for it.
    std::fs::remove_dir_all(&tree.root).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let offline_args = args(&["--offline", "--upstream", "https://127.0.0.1:9/"]);
    let offline = Server::start(&offline_args.iter().map(String::as_str).collect::<Vec<_>>());
    let again: Vec<_> = downloaded(&offline.url(), &mods);
    assert_eq!(again, straight);
    for (path, status, body) in [
        ("/example.com/a/@v/list", 200, "v1.0.0\nv1.1.0\n".to_string()),
        (
            "/example.com/a/@v/v1.2.0.info",
            404,
            "not found: example.com/a@v1.2.0: not stored here, and modgate serves --offline (it asks no upstream)\n".to_string(),
        ),
        (
            "/example.com/other/@v/list",
            404,
            "not found: example.com/other/@v/list: not stored here, and modgate serves --offline (it asks no upstream)\n".to_string(),
        ),
    ] {
        let r = raw_get(&offline.addr, "GET", path).unwrap();
        assert_eq!((r.status, r.text()), (status, body), "{path}");
    }
    // No checksum database proxy offline: the go command is told to look elsewhere.
    let r = raw_get(&offline.addr, "GET", "/sumdb/sum.golang.org/supported").unwrap();
    assert_eq!(r.status, 404);
    assert!(
        offline
            .log_with("upstream none (--offline)")
            .contains("upstream none (--offline), checksum database off (--offline))"),
        "{}",
        offline.log_text()
    );
}
