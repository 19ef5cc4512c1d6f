//! `modgate cache verify` and `cache repair` on a real module cache made by the go
//! command, hurt in every way the go command can be hurt: afterwards `go mod verify`
//! passes, `go build` works offline, and healthy entries keep their inode and mtime.

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::serve_common::*;
use modgate::gomodcache::check::Kind;

const T1: &str = "2024-01-02T03:04:05Z";

fn modgate() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_modgate"))
}

/// The modules of the project: each a package the project imports.
const MODS: [&str; 9] = [
    "example.com/trunc",
    "example.com/flip",
    "example.com/nohash",
    "example.com/partial",
    "example.com/gone",
    "example.com/rodir",
    "example.com/badinfo",
    "example.com/healthy",
    "example.com/locked",
];

struct Fixture {
    _tmp: tempfile::TempDir,
    env: GoEnv,
    tree: Tree,
    app: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let tree = Tree::new(tmp.path().join("up"));
        let mut require = String::new();
        let mut imports = String::new();
        for m in MODS {
            let name = m.rsplit('/').next().unwrap();
            tree.add(
                m,
                "v1.0.0",
                T1,
                &[
                    (
                        &format!("{name}.go"),
                        &format!("package {name}\n\nconst N = 1\n"),
                    ),
                    ("sub/sub.go", "package sub\n"),
                ],
            );
            require.push_str(&format!("\t{m} v1.0.0\n"));
            imports.push_str(&format!("\t_ \"{m}\"\n"));
        }
        let app = tmp.path().join("app");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::write(
            app.join("go.mod"),
            format!("module example.com/app\n\ngo 1.21\n\nrequire (\n{require})\n"),
        )
        .unwrap();
        std::fs::write(
            app.join("main.go"),
            format!("package main\n\nimport (\n{imports})\n\nfunc main() {{}}\n"),
        )
        .unwrap();
        // The go command's defaults: extracted trees read-only.
        let env = GoEnv::with_env(&[("GOFLAGS", "")]);
        let f = Fixture {
            _tmp: tmp,
            env,
            tree,
            app,
        };
        f.go_ok(&f.tree.url(), &["mod", "download"]);
        f.go_ok("off", &["mod", "tidy"]);
        f
    }

    fn go(&self, proxy: &str, args: &[&str]) -> std::process::Output {
        self.env.go(&self.app, proxy, args)
    }

    fn go_ok(&self, proxy: &str, args: &[&str]) -> String {
        let out = self.go(proxy, args);
        assert!(
            out.status.success(),
            "go {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn vfile(&self, m: &str, ext: &str) -> PathBuf {
        self.env
            .modcache()
            .join("cache/download")
            .join(m)
            .join(format!("@v/v1.0.0.{ext}"))
    }

    fn tree_dir(&self, m: &str) -> PathBuf {
        self.env.modcache().join(format!("{m}@v1.0.0"))
    }

    /// `modgate cache ACTION --gomodcache ... --gosum app/go.sum FLAGS`, the go command
    /// on PATH, GOPROXY the upstream.
    fn run(&self, action: &str, flags: &[&str]) -> std::process::Output {
        let go_dir = go_binary().parent().unwrap().to_path_buf();
        run_bounded(
            self.env
                .command(&modgate(), &self.app, &self.tree.url())
                .env("PATH", format!("{}:/usr/bin:/bin", go_dir.display()))
                .args(["cache", action, "--gomodcache"])
                .arg(self.env.modcache())
                .arg("--gosum")
                .arg(self.app.join("go.sum"))
                .args(flags),
            Duration::from_secs(120),
        )
    }

    /// [`Fixture::run`] with `--json`: (exit code, JSON).
    fn modgate(&self, action: &str) -> (i32, serde_json::Value) {
        let out = self.run(action, &["--json"]);
        let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{e}: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap(), v)
    }
}

impl Fixture {
    /// `modgate doctor --json` on the project: the causes and fixes of its findings about
    /// the module cache.
    fn doctor(&self) -> BTreeSet<(String, String)> {
        let go_dir = go_binary().parent().unwrap().to_path_buf();
        let out = run_bounded(
            self.env
                .command(&modgate(), &self.app, "off")
                .env("PATH", format!("{}:/usr/bin:/bin", go_dir.display()))
                .env("GOFLAGS", "")
                .args(["doctor", "--json", "--timeout", "30s"])
                .arg(&self.app),
            Duration::from_secs(60),
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["group"] == "cache")
            .map(|f| {
                (
                    f["cause"].as_str().unwrap().to_string(),
                    f["fix"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

/// Inode and mtime of every file and directory under `p`.
fn stamps(p: &Path) -> Vec<(PathBuf, u64, i64, i64)> {
    let mut out = Vec::new();
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        let m = std::fs::symlink_metadata(&d).unwrap();
        out.push((d.clone(), m.ino(), m.mtime(), m.mtime_nsec()));
        if m.is_dir() {
            for e in std::fs::read_dir(&d).unwrap() {
                stack.push(e.unwrap().path());
            }
        }
    }
    out.sort();
    out
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn verify_finds_every_hurt_and_repair_mends_only_those() {
    let f = Fixture::new();
    let (code, v) = f.modgate("verify");
    assert_eq!((code, kinds(&v["findings"])), (0, BTreeSet::new()), "{v}");
    assert_eq!(v["versions"], MODS.len());
    assert_eq!(v["zips"], MODS.len());
    assert_eq!(v["trees"], MODS.len());

    // The hurts.
    // A zip cut in half.
    let zip = f.vfile("example.com/trunc", "zip");
    let data = std::fs::read(&zip).unwrap();
    std::fs::write(&zip, &data[..data.len() / 2]).unwrap();
    // A byte flipped in an extracted file (the tree is read-only: made writable to hurt).
    let file = f.tree_dir("example.com/flip").join("flip.go");
    chmod(&file, 0o644);
    let mut d = std::fs::read(&file).unwrap();
    d[0] ^= 0x20;
    std::fs::write(&file, d).unwrap();
    chmod(&file, 0o444);
    // The .ziphash gone.
    std::fs::remove_file(f.vfile("example.com/nohash", "ziphash")).unwrap();
    // A download killed mid-extraction: its .partial and half a tree.
    std::fs::write(f.vfile("example.com/partial", "partial"), "").unwrap();
    let half = f.tree_dir("example.com/partial");
    chmod(&half.join("sub"), 0o755);
    std::fs::remove_file(half.join("sub/sub.go")).unwrap();
    // An extracted tree deleted.
    let gone = f.tree_dir("example.com/gone");
    for d in [&gone, &gone.join("sub")] {
        chmod(d, 0o755);
    }
    std::fs::remove_dir_all(&gone).unwrap();
    // A read-only directory where the go command writes, and a temporary file left by a
    // write cut short.
    let rodir = f
        .vfile("example.com/rodir", "zip")
        .parent()
        .unwrap()
        .to_path_buf();
    std::fs::write(rodir.join("v1.0.0.zip123456.tmp"), "half").unwrap();
    chmod(&rodir, 0o555);
    // A damaged .info, and a lock file of a version that has nothing else.
    std::fs::write(f.vfile("example.com/badinfo", "info"), "{\"Version\":").unwrap();
    let stale = f
        .env
        .modcache()
        .join("cache/download/example.com/healthy/@v/v9.9.9.lock");
    std::fs::write(&stale, "").unwrap();
    // A lock a running process holds right now (this test): left alone.
    let held = std::fs::File::open(f.vfile("example.com/locked", "lock")).unwrap();
    rustix::fs::flock(&held, rustix::fs::FlockOperation::LockExclusive).unwrap();

    // The go command notices some of it.
    let out = f.go("off", &["mod", "verify"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    for m in ["trunc", "flip", "nohash"] {
        assert!(said.contains(&format!("example.com/{m} v1.0.0")), "{said}");
    }

    let healthy = f.tree_dir("example.com/healthy");
    let healthy_zip = f.vfile("example.com/healthy", "zip");
    let before = (stamps(&healthy), stamps(&healthy_zip));

    let (code, v) = f.modgate("verify");
    assert_eq!(code, 1, "{v}");
    let s = |k: &str, m: &str| (k.to_string(), m.to_string());
    assert_eq!(
        kinds(&v["findings"]),
        BTreeSet::from([
            s("zip_unreadable", "example.com/trunc"),
            s("tree_modified", "example.com/flip"),
            s("ziphash_missing", "example.com/nohash"),
            s("partial", "example.com/partial"),
            s("tree_missing", "example.com/gone"),
            s("read_only_dir", ""),
            s("leftover", "example.com/rodir"),
            s("info_invalid", "example.com/badinfo"),
            s("leftover", "example.com/healthy"),
            s("lock_held", "example.com/locked"),
        ]),
        "{v:#}"
    );
    // For people: a line per finding, what it means, where, and the fix.
    let out = f.run("verify", &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!(
            "modgate cache verify: {} module versions in {} (",
            MODS.len() + 1,
            f.env.modcache().display()
        )) && text.contains("s: 6 problems, 3 warnings, 1 notices\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "problem  example.com/flip v1.0.0: dir has been modified: builds use the changed code, and go mod verify fails (hashes to "
        ) && text.contains(&format!("\n         {}\n", f.tree_dir("example.com/flip").display())),
        "{text}"
    );
    assert!(
        text.ends_with(&format!(
            "fix: modgate cache repair --gomodcache {} (mends only these, and fetches them again through GOPROXY)\n",
            f.env.modcache().display()
        )),
        "{text}"
    );
    let ro = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["kind"] == "read_only_dir")
        .unwrap();
    assert_eq!(ro["path"], rodir.to_str().unwrap());
    // The doctor finds the same, a finding per kind, and names the repair (and who holds
    // the lock); an extracted tree the go command would make again is none of its
    // business, nor a directory this user (root in CI) can write anyway.
    let repair = format!(
        "modgate cache repair --gomodcache {} --gosum {}  (mends only these, and fetches them again through GOPROXY)",
        f.env.modcache().display(),
        f.app.join("go.sum").display()
    );
    let mut want: BTreeSet<(String, String)> = [
        Kind::ZipUnreadable,
        Kind::TreeModified,
        Kind::ZiphashMissing,
        Kind::Partial,
        Kind::Leftover,
        Kind::InfoInvalid,
    ]
    .iter()
    .map(|k| (k.meaning().to_string(), repair.clone()))
    .collect();
    want.insert((
        Kind::LockHeld.meaning().to_string(),
        format!(
            "kill {}  (if that process is stuck; its lock goes with it)",
            std::process::id()
        ),
    ));
    if !rustix::process::geteuid().is_root() {
        want.insert((Kind::ReadOnlyDir.meaning().to_string(), repair.clone()));
    }
    assert_eq!(f.doctor(), want);

    let (code, o) = f.modgate("repair");
    // The held lock is still held: that one is left, so not all is mended.
    assert_eq!(code, 1, "{o:#}");
    let fetched: BTreeSet<&str> = o["fetched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(
        fetched,
        BTreeSet::from([
            "example.com/trunc@v1.0.0",
            "example.com/flip@v1.0.0",
            "example.com/nohash@v1.0.0",
            "example.com/partial@v1.0.0",
            "example.com/badinfo@v1.0.0",
        ])
    );
    assert_eq!(
        kinds(&o["remaining"]),
        BTreeSet::from([
            s("tree_missing", "example.com/gone"),
            s("lock_held", "example.com/locked")
        ]),
        "{o:#}"
    );
    drop(held);
    let (code, v) = f.modgate("verify");
    assert_eq!(
        (code, kinds(&v["findings"])),
        (0, BTreeSet::from([s("tree_missing", "example.com/gone")])),
        "{v:#}"
    );
    assert_eq!(f.doctor(), BTreeSet::new());
    assert!(!stale.exists());
    assert_eq!(
        std::fs::metadata(&rodir).unwrap().permissions().mode() & 0o200,
        0o200
    );
    // The mended trees are read-only again, as the go command leaves them.
    assert_eq!(
        std::fs::metadata(f.tree_dir("example.com/flip"))
            .unwrap()
            .permissions()
            .mode()
            & 0o222,
        0
    );

    // The go command is content: go mod verify passes, and go build works offline.
    assert_eq!(f.go_ok("off", &["mod", "verify"]), "all modules verified\n");
    f.go_ok("off", &["build", "./..."]);
    // The healthy entry was not touched.
    assert_eq!((stamps(&healthy), stamps(&healthy_zip)), before);
}

#[test]
fn a_go_sum_that_disagrees_is_named_and_repair_fetches_what_the_proxy_serves() {
    let f = Fixture::new();
    // The cache's zip and tree replaced by another module's content (consistently
    // rehashed): only go.sum can tell.
    let m = "example.com/healthy";
    let zip = f.vfile(m, "zip");
    let tree = f.tree_dir(m);
    // Rewrite the cached zip as a zip of v1.0.0 with other content, its .ziphash to match.
    let files = [
        gomod::zip::DataFile {
            path: "go.mod".into(),
            data: b"module example.com/healthy\n\ngo 1.21\n".to_vec(),
        },
        gomod::zip::DataFile {
            path: "healthy.go".into(),
            data: b"package healthy\n\nconst N = 666\n".to_vec(),
        },
        gomod::zip::DataFile {
            path: "sub/sub.go".into(),
            data: b"package sub\n".to_vec(),
        },
    ];
    let mut z = std::io::Cursor::new(Vec::new());
    gomod::zip::create(&mut z, &gomod::module::Version::new(m, "v1.0.0"), &files).unwrap();
    let z = z.into_inner();
    std::fs::write(&zip, &z).unwrap();
    let h = gomod::dirhash::hash_zip(std::io::Cursor::new(&z)).unwrap();
    std::fs::write(f.vfile(m, "ziphash"), &h).unwrap();
    chmod(&tree, 0o755);
    chmod(&tree.join("healthy.go"), 0o644);
    std::fs::write(
        tree.join("healthy.go"),
        "package healthy\n\nconst N = 666\n",
    )
    .unwrap();
    chmod(&tree.join("healthy.go"), 0o444);
    chmod(&tree, 0o555);

    let (code, v) = f.modgate("verify");
    assert_eq!(code, 1);
    assert_eq!(
        kinds(&v["findings"]),
        BTreeSet::from([("go_sum_mismatch".to_string(), m.to_string())]),
        "{v:#}"
    );
    let detail = v["findings"][0]["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(&format!("{}:", f.app.join("go.sum").display()))
            && detail.ends_with(&format!("the cache has {h}")),
        "{detail}"
    );
    let (code, o) = f.modgate("repair");
    assert_eq!(code, 0, "{o:#}");
    assert_eq!(f.go_ok("off", &["mod", "verify"]), "all modules verified\n");
    assert_eq!(
        std::fs::read_to_string(tree.join("healthy.go")).unwrap(),
        "package healthy\n\nconst N = 1\n"
    );
}
