//! Routes by module path and named upstreams with their own settings (`[[routes]]`,
//! `[[upstreams]]`), through the real go command: a private route's modules go only to
//! its upstream (with that upstream's credentials) and never to the public one; the rest
//! follows `--upstream`, which names an upstream too.

use crate::serve_common::upstream::Upstream;
use crate::serve_common::*;
use base64::Engine as _;

const T1: &str = "2024-01-02T03:04:05Z";

#[test]
fn a_private_route_never_reaches_the_public_upstream() {
    let tmp = tempfile::tempdir().unwrap();
    let corp_tree = Tree::new(tmp.path().join("corp"));
    let pub_tree = Tree::new(tmp.path().join("pub"));
    let secret = corp_tree.add(
        "corp.example.com/secret",
        "v1.0.0",
        T1,
        &[("s.go", "package secret\n")],
    );
    let public = pub_tree.add(
        "example.com/pub",
        "v1.2.0",
        T1,
        &[("p.go", "package pub\n")],
    );
    // The public upstream also has a (different) module of the private path: it must never
    // be asked.
    pub_tree.add(
        "corp.example.com/secret",
        "v1.0.0",
        T1,
        &[("s.go", "package decoy\n")],
    );
    let corp = Upstream::start(&corp_tree.root);
    let public_up = Upstream::start(&pub_tree.root);
    let password = tmp.path().join("corp.password");
    std::fs::write(&password, "s3cret\n").unwrap();
    let config = tmp.path().join("modgate.toml");
    std::fs::write(
        &config,
        format!(
            r#"upstream = "public"
[[upstreams]]
name = "public"
url = "{}"
first_byte_timeout = 5
[[upstreams]]
name = "corp"
url = "{}"
concurrency = 2
username = "modgate"
password_file = "{}"
[[routes]]
pattern = "corp.example.com"
upstream = "corp"
private = true
"#,
            public_up.url,
            corp.url,
            password.display()
        ),
    )
    .unwrap();
    let s = Server::start(&[
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        tmp.path().join("d").to_str().unwrap(),
    ]);
    let got = downloaded(
        &s.url(),
        &["corp.example.com/secret@v1.0.0", "example.com/pub@v1.2.0"],
    );
    assert_eq!(
        got,
        [
            (
                "corp.example.com/secret".to_string(),
                "v1.0.0".to_string(),
                secret.zip_h1.clone(),
                secret.mod_h1.clone()
            ),
            (
                "example.com/pub".to_string(),
                "v1.2.0".to_string(),
                public.zip_h1.clone(),
                public.mod_h1.clone()
            ),
        ]
    );
    let asked_public: Vec<String> = public_up.counts().into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        asked_public,
        [
            "/example.com/pub/@v/v1.2.0.info",
            "/example.com/pub/@v/v1.2.0.mod",
            "/example.com/pub/@v/v1.2.0.zip"
        ]
    );
    let asked_corp: Vec<String> = corp.counts().into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        asked_corp,
        [
            "/corp.example.com/secret/@v/v1.0.0.info",
            "/corp.example.com/secret/@v/v1.0.0.mod",
            "/corp.example.com/secret/@v/v1.0.0.zip"
        ]
    );
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("modgate:s3cret")
    );
    assert_eq!(
        corp.authorization("/corp.example.com/secret/@v/v1.0.0.zip"),
        Some(basic)
    );
    assert_eq!(
        public_up.authorization("/example.com/pub/@v/v1.2.0.zip"),
        None
    );
    // A module of the private route the corp upstream does not have: not found, and the
    // public upstream is still never asked.
    let r = raw_get(&s.addr, "GET", "/corp.example.com/other/@v/list").unwrap();
    assert_eq!(r.status, 404);
    assert!(
        !public_up
            .counts()
            .iter()
            .any(|(p, _)| p.contains("corp.example.com"))
    );
}

#[test]
fn bad_upstream_and_route_tables_are_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    for (text, want) in [
        (
            "[[upstreams]]\nname = \"a.b\"\nurl = \"https://x.example\"\n",
            "[[upstreams]] name \"a.b\": want a word without '.', ':', '/', ',', '|' or spaces, other than direct and off",
        ),
        (
            "[[upstreams]]\nname = \"x\"\nurl = \"https://x.example\"\nusername = \"u\"\n",
            "[[upstreams]] x: username and a password go together",
        ),
        (
            "[[upstreams]]\nname = \"x\"\nurl = \"https://x.example\"\nusername = \"u\"\npassword_file = \"/nonexistent/pw\"\n",
            "[[upstreams]] x: password_file /nonexistent/pw: No such file or directory (os error 2)",
        ),
        (
            "[[routes]]\npattern = \"corp.example.com\"\nupstream = \"ftp://x\"\n",
            "[[routes]] corp.example.com: upstream: invalid proxy URL scheme (must be https, http, file): ftp://x",
        ),
    ] {
        let config = tmp.path().join("modgate.toml");
        std::fs::write(&config, text).unwrap();
        let out = run_bounded(
            std::process::Command::new(env!("CARGO_BIN_EXE_modgate"))
                .args(["serve", "--config"])
                .arg(&config)
                .args(["--listen", "127.0.0.1:0", "--data-dir"])
                .arg(tmp.path().join("d")),
            std::time::Duration::from_secs(30),
        );
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("{}: {want}", config.display())),
            "{text}\n{err}"
        );
    }
}
