//! `modgate serve --upstream direct`: modules straight from git (a local repository
//! reached through the user's git config, `url.<file>.insteadOf`), compared with what the
//! go command itself gets with GOPROXY=direct and the same git config.

use std::path::Path;

use crate::serve_common::*;

fn git(dir: &Path, config: &Path, args: &[&str], date: &str) {
    testkit::git_with(dir, args, Some(config), date);
}

#[test]
fn direct_through_modgate_equals_go_direct() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, config) = local_github_repo(tmp.path(), "acme/hello");
    std::fs::write(
        repo.join("go.mod"),
        "module github.com/acme/hello\n\ngo 1.21\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("hello.go"),
        "package hello\n\nconst Hello = \"v1\"\n",
    )
    .unwrap();
    git(&repo, &config, &["add", "."], "2024-01-02T03:04:05Z");
    git(
        &repo,
        &config,
        &["commit", "-qm", "one"],
        "2024-01-02T03:04:05Z",
    );
    git(&repo, &config, &["tag", "v1.0.0"], "2024-01-02T03:04:05Z");
    std::fs::write(
        repo.join("hello.go"),
        "package hello\n\nconst Hello = \"v1+\"\n",
    )
    .unwrap();
    git(
        &repo,
        &config,
        &["commit", "-qam", "two"],
        "2024-02-03T04:05:06Z",
    );

    let cfg = config.to_str().unwrap();
    let env = [("GIT_CONFIG_GLOBAL", cfg), ("GIT_CONFIG_NOSYSTEM", "1")];
    let data = tmp.path().join("data");
    let server = Server::start_env(
        &["--data-dir", data.to_str().unwrap(), "--upstream", "direct"],
        &env,
    );
    let mods = [
        "github.com/acme/hello@v1.0.0",
        "github.com/acme/hello@master",
        "github.com/acme/hello@latest",
    ];
    let direct: Vec<_> = GoEnv::with_env(&env)
        .download("direct", &mods)
        .iter()
        .map(summary)
        .collect();
    let through: Vec<_> = GoEnv::with_env(&env)
        .download(&server.url(), &mods)
        .iter()
        .map(summary)
        .collect();
    assert_eq!(through, direct);
    assert_eq!(direct[0].1, "v1.0.0");
    assert!(
        direct[1].1.starts_with("v1.0.1-0.20240203040506-"),
        "{direct:?}"
    );
    // The clone lives under <data-dir>/git.
    assert!(data.join("git").is_dir());
}

/// A go.mod fetched from git gets its version's zip made ahead from the clone: stored
/// without being asked for, byte for byte the zip the go command makes itself with
/// GOPROXY=direct, and the client's request for it is then a cache hit. With
/// `prefetch = "off"`, nothing is made ahead. (A go.mod from a proxy or a `file://` tree
/// gets no zip ahead: `serve_prefetch`'s trees store exactly `.mod` and `.info` files.)
#[test]
fn a_go_mod_from_git_gets_its_zip_made_ahead() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, config) = local_github_repo(tmp.path(), "acme/ahead");
    std::fs::write(
        repo.join("go.mod"),
        "module github.com/acme/ahead\n\ngo 1.21\n",
    )
    .unwrap();
    std::fs::write(repo.join("ahead.go"), "package ahead\n\nconst A = 1\n").unwrap();
    let date = "2024-01-02T03:04:05Z";
    git(&repo, &config, &["add", "."], date);
    git(&repo, &config, &["commit", "-qm", "one"], date);
    git(&repo, &config, &["tag", "v1.0.0"], date);
    let cfg = config.to_str().unwrap();
    let env = [("GIT_CONFIG_GLOBAL", cfg), ("GIT_CONFIG_NOSYSTEM", "1")];
    let go = GoEnv::with_env(&env);
    let direct = go.download("direct", &["github.com/acme/ahead@v1.0.0"]);
    let want = std::fs::read(direct[0]["Zip"].as_str().unwrap()).unwrap();

    for (prefetch, ahead) in [("mod", true), ("off", false)] {
        let conf = tmp.path().join(format!("{prefetch}.toml"));
        std::fs::write(&conf, format!("[cache]\nprefetch = \"{prefetch}\"\n")).unwrap();
        let data = tmp.path().join(format!("data-{prefetch}"));
        let server = Server::start_env(
            &[
                "--config",
                conf.to_str().unwrap(),
                "--data-dir",
                data.to_str().unwrap(),
                "--upstream",
                "direct",
            ],
            &env,
        );
        let r = raw_get(&server.addr, "GET", "/github.com/acme/ahead/@v/v1.0.0.mod").unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let zip = data.join("cache/download/github.com/acme/ahead/@v/v1.0.0.zip");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while !zip.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if !ahead {
            std::thread::sleep(std::time::Duration::from_millis(1000));
            assert!(!zip.exists(), "prefetch = \"off\" made the zip ahead");
            continue;
        }
        assert!(zip.exists(), "no zip made ahead\n{}", server.log_text());
        assert!(
            std::fs::read(&zip).unwrap() == want,
            "the zip made ahead differs from go's"
        );
        let r = raw_get(&server.addr, "GET", "/github.com/acme/ahead/@v/v1.0.0.zip").unwrap();
        assert_eq!((r.status, r.header("x-cache")), (200, Some("HIT")));
        assert!(r.body == want);
    }
}
