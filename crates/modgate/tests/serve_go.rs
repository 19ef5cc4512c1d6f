//! `modgate serve` driven by the real go command, against a `file://` upstream tree:
//! `go mod download -json` gives exactly what the same go command gives reading the tree
//! directly; `go mod tidy` and `go build` work through it; and the data dir afterwards is
//! itself a GOPROXY tree the go command accepts.

use crate::serve_common::*;

const T1: &str = "2024-01-02T03:04:05Z";
const T2: &str = "2024-02-03T04:05:06Z";

fn build_tree(root: std::path::PathBuf) -> (Tree, Vec<(String, String)>) {
    let tree = Tree::new(root);
    let mut sums = Vec::new();
    let mut add = |s: Sums| sums.push((s.zip_h1, s.mod_h1));
    add(tree.add(
        "example.com/a",
        "v1.0.0",
        T1,
        &[(
            "a.go",
            "package a\n\nfunc Hello() string { return \"hello from a v1.0.0\" }\n",
        )],
    ));
    add(tree.add(
        "example.com/a",
        "v1.1.0",
        T2,
        &[(
            "a.go",
            "package a\n\nfunc Hello() string { return \"hello from a v1.1.0\" }\n",
        )],
    ));
    add(tree.add(
        "example.com/Cap/b",
        "v0.1.0-RC1",
        T1,
        &[("b.go", "package b\n"), ("LICENSE", "MIT\n")],
    ));
    add(tree.add(
        "example.com/d/v2",
        "v2.0.0",
        T1,
        &[("d.go", "package d\n"), ("sub/s.go", "package sub\n")],
    ));
    add(tree.add(
        "example.com/e",
        "v2.0.0+incompatible",
        T1,
        &[("e.go", "package e\n")],
    ));
    // No go.mod in the +incompatible zip: the tree's .mod is what go synthesizes.
    std::fs::write(
        tree.vfile("example.com/e", "v2.0.0+incompatible", "mod"),
        "module example.com/e\n",
    )
    .unwrap();
    add(tree.add(
        "example.com/p",
        "v0.0.0-20240102030405-abcdefabcdef",
        T1,
        &[("p.go", "package p\n")],
    ));
    // A branch name the tree answers for (as a proxy answers @v/master.info).
    std::fs::copy(
        tree.vfile("example.com/a", "v1.1.0", "info"),
        tree.vdir("example.com/a").join("master.info"),
    )
    .unwrap();
    // The +incompatible module's go.mod is the synthesized one.
    sums[4].1 = gomod::dirhash::hash_go_mod(b"module example.com/e\n");
    (tree, sums)
}

const MODS: &[&str] = &[
    "example.com/a@v1.0.0",
    "example.com/a@v1.1.0",
    "example.com/Cap/b@v0.1.0-RC1",
    "example.com/d/v2@v2.0.0",
    "example.com/e@v2.0.0+incompatible",
    "example.com/p@v0.0.0-20240102030405-abcdefabcdef",
];

#[test]
fn go_mod_download_through_modgate_equals_the_tree_and_the_data_dir_is_a_goproxy() {
    let tmp = tempfile::tempdir().unwrap();
    let (tree, sums) = build_tree(tmp.path().join("upstream"));
    let data = tmp.path().join("data");
    let server = Server::over(&data, &tree.url());

    let direct: Vec<_> = GoEnv::new()
        .download(&tree.url(), MODS)
        .iter()
        .map(summary)
        .collect();
    let via = GoEnv::new();
    let through: Vec<_> = via
        .download(&server.url(), MODS)
        .iter()
        .map(summary)
        .collect();
    assert_eq!(through, direct);
    assert_eq!(through.len(), 6);
    // And both equal what gomod computes for the tree.
    let expect: Vec<_> = MODS
        .iter()
        .zip(&sums)
        .map(|(m, (z, g))| {
            let (p, v) = m.split_once('@').unwrap();
            (p.to_string(), v.to_string(), z.clone(), g.clone())
        })
        .collect();
    assert_eq!(through, expect);

    // Queries: @latest (list in the proxy, resolved by go), and a branch name (.info).
    let q: Vec<_> = via
        .download(
            &server.url(),
            &["example.com/a@latest", "example.com/a@master"],
        )
        .iter()
        .map(|v| {
            (
                v["Path"].as_str().unwrap().to_string(),
                v["Version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        q,
        [
            ("example.com/a".to_string(), "v1.1.0".to_string()),
            ("example.com/a".to_string(), "v1.1.0".to_string())
        ]
    );

    // The data dir is a GOPROXY tree: a fresh go reads the same modules from it alone.
    let from_data: Vec<_> = GoEnv::new()
        .download(&format!("file://{}/cache/download", data.display()), MODS)
        .iter()
        .map(summary)
        .collect();
    assert_eq!(from_data, direct);
    // Nothing half-written is left.
    assert_eq!(staged_after_writes(&data.join("tmp")), Vec::<String>::new());
    let log = server.log_text();
    assert!(
        log.contains(&format!(
            "modgate serve listening on http://{} (data dir {}, storage directory {}, max_bytes none, redis none, upstream {}, checksum database off)",
            server.addr,
            data.display(),
            data.display(),
            tree.url()
        )),
        "{log}"
    );
}

#[test]
fn go_mod_tidy_and_go_build_through_modgate() {
    let tmp = tempfile::tempdir().unwrap();
    let (tree, _) = build_tree(tmp.path().join("upstream"));
    let data = tmp.path().join("data");
    let server = Server::over(&data, &tree.url());
    let prog = tmp.path().join("prog");
    std::fs::create_dir_all(&prog).unwrap();
    std::fs::write(prog.join("go.mod"), "module example.com/prog\n\ngo 1.21\n").unwrap();
    std::fs::write(
        prog.join("main.go"),
        "package main\n\nimport \"example.com/a\"\n\nfunc main() { println(a.Hello()) }\n",
    )
    .unwrap();
    let env = GoEnv::new();
    let out = env.go(&prog, &server.url(), &["mod", "tidy"]);
    assert!(
        out.status.success(),
        "go mod tidy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(prog.join("go.mod")).unwrap(),
        "module example.com/prog\n\ngo 1.21\n\nrequire example.com/a v1.1.0\n"
    );
    let sums = std::fs::read_to_string(prog.join("go.sum")).unwrap();
    let direct = GoEnv::new().download(&tree.url(), &["example.com/a@v1.1.0"]);
    let (_, _, sum, gomodsum) = summary(&direct[0]);
    assert_eq!(
        sums,
        format!("example.com/a v1.1.0 {sum}\nexample.com/a v1.1.0/go.mod {gomodsum}\n")
    );
    let out = env.go(&prog, &server.url(), &["build", "-o", "prog", "."]);
    assert!(
        out.status.success(),
        "go build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = run_bounded(
        &mut std::process::Command::new(prog.join("prog")),
        std::time::Duration::from_secs(30),
    );
    assert_eq!(
        String::from_utf8_lossy(&run.stderr),
        "hello from a v1.1.0\n"
    );
}
