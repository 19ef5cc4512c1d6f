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
