//! Differential test against the real go command.
//!
//! A seed-fixed generator writes a few hundred module trees (odd file names, vendor
//! directories, nested modules, symlinks, case collisions, files past the size limits, /vN and
//! +incompatible versions, trees without go.mod) as tagged git repositories. The go command
//! fetches each one with `GOPROXY=direct` (git is pointed at the local repositories with
//! `url.<file URL>.insteadOf`, so nothing leaves the machine) and gives its verdict: the error
//! text, or the zip it made with its `h1:` hashes. Our `zip` and `dirhash` must give the same
//! verdict, the same file list, the same hashes, the same zip bytes. Then the zips we made
//! are served to the go command from a `GOPROXY=file://` tree, and it must accept them with
//! the same hash.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{Cursor, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::rng::Rng;
use testkit as go;

const SEED: u64 = 0x6d6f_6467_6174_6531;
const CASES: usize = 300;
const MIB: u64 = 1 << 20;

/// What one file of a generated tree holds.
#[derive(Clone, Debug)]
enum Content {
    Text(Vec<u8>),
    /// `len` copies of one byte, for the size limits.
    Repeat(u8, u64),
    Symlink(&'static str),
}

#[derive(Clone, Debug)]
struct Case {
    /// Repository name under github.com/gen/.
    repo: String,
    module_path: String,
    tag: String,
    /// The version the go command is asked for (the tag, or tag+incompatible).
    version: String,
    files: Vec<(Vec<u8>, Content)>,
}

const PLAIN: &[&str] = &[
    "a.go",
    "b.go",
    "pkg/p.go",
    "internal/x/x.go",
    "README.md",
    "LICENSE",
    "docs/guide.txt",
    "testdata/in.txt",
    ".gitignore",
    ".hidden/h.go",
    "cmd/tool/main.go",
    "a/b/c/d/e/f.go",
];

const ODD_VALID: &[&str] = &[
    "with space.go",
    "ü.go",
    "日本.txt",
    "a+b.go",
    "a~b.txt",
    "x@y.go",
    "[x].go",
    "{x}.go",
    "a,b.txt",
    "#x.txt",
    "$x.txt",
    "%x.txt",
    "&x.txt",
    "a=b.txt",
    "a^b.txt",
    "(p).txt",
    "!bang.txt",
    "-dash.go",
    "_under.go",
    "x~.txt",
    "con.go.d/x.go",
    "COM10.txt",
    "GO.MOD",
    "sub/GO.MOD",
    "vendor/x.go",
    "vendor/modules.txt",
];

const ODD_INVALID: &[&str] = &[
    "a:b.go",
    "a*b.go",
    "a?b.go",
    "a\"b.go",
    "a<b.go",
    "a>b.go",
    "a|b.go",
    "a\\b.go",
    "CON",
    "aux.txt",
    "com1.go",
    "LPT9.txt",
    "nul.d/x.go",
    "GOPATH~1",
    "trailing.",
    "dir./x.go",
    "a'b.go",
    "a`b.go",
    "a;b.go",
    "tab\there.go",
    "ctl\u{1}.go",
];

const VENDOR: &[&str] = &[
    "vendor/github.com/x/y/y.go",
    "vendor/x/LICENSE",
    "vendor/x/y/z.go",
    "sub/vendor/z/z.go",
    "sub/vendor/modules.txt",
    "vendor/vendor/v.go",
];

fn generate(rng: &mut Rng, i: usize) -> Case {
    let repo = format!("m{i:03}");
    let base = format!("github.com/gen/{repo}");
    let minor = rng.below(5);
    let patch = rng.below(5);
    let (module_path, tag, version, go_mod) = match rng.below(10) {
        0 => {
            let tag = format!("v2.{minor}.{patch}");
            (format!("{base}/v2"), tag.clone(), tag, true)
        }
        1 => {
            let tag = format!("v3.{minor}.{patch}");
            let version = format!("{tag}+incompatible");
            (base.clone(), tag, version, false)
        }
        2 => {
            let tag = format!("v0.{minor}.{patch}");
            (base.clone(), tag.clone(), tag, rng.chance(70))
        }
        _ => {
            let tag = format!("v1.{minor}.{patch}");
            (base.clone(), tag.clone(), tag, rng.chance(85))
        }
    };

    let mut files: Vec<(Vec<u8>, Content)> = Vec::new();
    let add = |files: &mut Vec<(Vec<u8>, Content)>, name: &[u8], content: Content| {
        if !files.iter().any(|(n, _)| n == name) {
            files.push((name.to_vec(), content));
        }
    };
    if go_mod {
        let mut text = format!("module {module_path}\n\ngo 1.2{}\n", rng.below(4));
        if rng.chance(30) {
            text.push_str("\nrequire golang.org/x/text v0.3.0 // indirect\n");
        }
        let big = rng.chance(2);
        let content = if big {
            // Past MAX_GO_MOD: the rest is one long comment line.
            text.push_str("// ");
            let pad = 16 * MIB + 1 - text.len() as u64;
            text.push_str(&"x".repeat(pad as usize));
            Content::Text(text.into_bytes())
        } else {
            Content::Text(text.into_bytes())
        };
        add(&mut files, b"go.mod", content);
    }
    let text = |rng: &mut Rng, name: &str| {
        Content::Text(format!("// {name} {}\npackage p\n", rng.next_u64()).into_bytes())
    };
    for _ in 0..1 + rng.below(6) {
        let name = *rng.pick(PLAIN);
        let c = text(rng, name);
        add(&mut files, name.as_bytes(), c);
    }
    if rng.chance(35) {
        for _ in 0..1 + rng.below(3) {
            let name = *rng.pick(ODD_VALID);
            let c = text(rng, name);
            add(&mut files, name.as_bytes(), c);
        }
    }
    if rng.chance(12) {
        let name = *rng.pick(ODD_INVALID);
        let c = text(rng, name);
        add(&mut files, name.as_bytes(), c);
    }
    if rng.chance(3) {
        add(
            &mut files,
            b"\xff.go",
            Content::Text(b"package p\n".to_vec()),
        );
    }
    if rng.chance(25) {
        for _ in 0..1 + rng.below(3) {
            let name = *rng.pick(VENDOR);
            let c = text(rng, name);
            add(&mut files, name.as_bytes(), c);
        }
    }
    if rng.chance(15) {
        let sub = *rng.pick(&["sub", "tools", "a/b", "vendor/m"]);
        add(
            &mut files,
            format!("{sub}/go.mod").as_bytes(),
            Content::Text(format!("module example.com/{sub}\n").into_bytes()),
        );
        add(
            &mut files,
            format!("{sub}/s.go").as_bytes(),
            Content::Text(b"package s\n".to_vec()),
        );
    }
    if rng.chance(8) {
        let (a, b) = *rng.pick(&[
            ("a.go", "A.go"),
            ("Dir/x.go", "dir/y.go"),
            ("README", "readme"),
            ("pkg/Ü.go", "pkg/ü.go"),
            ("K.txt", "\u{212a}.txt"),
        ]);
        add(&mut files, a.as_bytes(), Content::Text(b"1\n".to_vec()));
        add(&mut files, b.as_bytes(), Content::Text(b"2\n".to_vec()));
    }
    if rng.chance(15) {
        let (name, target) = *rng.pick(&[
            ("link.go", "a.go"),
            ("ldir", "pkg"),
            ("dangling.go", "nowhere.go"),
            ("up.go", "../../etc/passwd"),
        ]);
        add(&mut files, name.as_bytes(), Content::Symlink(target));
    }
    if rng.chance(2) {
        add(&mut files, b"LICENSE", Content::Repeat(b'L', 16 * MIB + 1));
    }
    if rng.chance(3) {
        add(&mut files, b"data/big.bin", Content::Repeat(0, 20 * MIB));
    }
    Case {
        repo,
        module_path,
        tag,
        version,
        files,
    }
}

fn write_content(path: &Path, content: &Content) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    match content {
        Content::Text(bytes) => fs::write(path, bytes).unwrap(),
        Content::Repeat(byte, len) => fs::write(path, vec![*byte; *len as usize]).unwrap(),
        Content::Symlink(target) => std::os::unix::fs::symlink(target, path).unwrap(),
    }
}

/// Writes the case as a git repository with one commit, tagged.
fn materialize(case: &Case, repos: &Path) -> PathBuf {
    let dir = repos.join(&case.repo);
    fs::create_dir_all(&dir).unwrap();
    for (name, content) in &case.files {
        write_content(&dir.join(OsStr::from_bytes(name)), content);
    }
    go::git(&dir, &["init", "-q"]);
    go::git(&dir, &["add", "-A"]);
    go::git(&dir, &["commit", "-q", "--allow-empty", "-m", "generated"]);
    go::git(&dir, &["tag", &case.tag]);
    dir
}

/// One result of `go mod download -json`.
#[derive(Debug, Default)]
struct GoResult {
    error: Option<String>,
    sum: Option<String>,
    go_mod_sum: Option<String>,
    zip: Option<PathBuf>,
}

fn go_env(cmd: &mut Command, work: &Path, proxy: &str, modcache: &Path) {
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin:/usr/local/bin")
        .env("HOME", work)
        .env("GIT_CONFIG_GLOBAL", work.join("gitconfig"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GOPROXY", proxy)
        .env("GOSUMDB", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOMODCACHE", modcache)
        .env("GOPATH", work.join("gopath"))
        .env("GOCACHE", work.join("gocache"))
        .env("GOFLAGS", "-modcacherw")
        .current_dir(work);
}

fn go_download(
    work: &Path,
    proxy: &str,
    modcache: &Path,
    cases: &[&Case],
) -> BTreeMap<String, GoResult> {
    let mut cmd = Command::new(go::go_binary());
    go_env(&mut cmd, work, proxy, modcache);
    cmd.args(["mod", "download", "-json"]);
    for case in cases {
        cmd.arg(format!("{}@{}", case.module_path, case.version));
    }
    let out = go::run_bounded(&mut cmd, Duration::from_secs(600));
    let mut results = BTreeMap::new();
    let stream = serde_json::Deserializer::from_slice(&out.stdout).into_iter::<serde_json::Value>();
    for value in stream {
        let value = value.unwrap_or_else(|e| {
            panic!(
                "go mod download -json printed something that is not JSON ({e}); stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let s = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        let key = format!("{}@{}", s("Path").unwrap(), s("Version").unwrap());
        results.insert(
            key,
            GoResult {
                error: s("Error"),
                sum: s("Sum"),
                go_mod_sum: s("GoModSum"),
                zip: s("Zip").map(PathBuf::from),
            },
        );
    }
    assert_eq!(
        results.len(),
        cases.len(),
        "go mod download -json answered for {} of {} modules; stderr:\n{}",
        results.len(),
        cases.len(),
        String::from_utf8_lossy(&out.stderr)
    );
    results
}

/// The names in a zip, in order.
fn zip_names(bytes: &[u8]) -> Vec<String> {
    let archive = ::zip::ZipArchive::new(Cursor::new(bytes)).expect("a readable zip");
    let mut names: Vec<String> = archive.file_names().map(str::to_owned).collect();
    names.sort();
    names
}

/// A file of a checked-out tree, for `zip::create`.
struct DiskFile {
    rel: String,
    abs: PathBuf,
}

impl gomod::zip::File for DiskFile {
    fn path(&self) -> &str {
        &self.rel
    }
    fn lstat(&self) -> std::io::Result<gomod::zip::FileInfo> {
        let meta = fs::symlink_metadata(&self.abs)?;
        let kind = if meta.file_type().is_symlink() {
            gomod::zip::FileKind::Symlink
        } else if meta.is_dir() {
            gomod::zip::FileKind::Dir
        } else if meta.is_file() {
            gomod::zip::FileKind::Regular
        } else {
            gomod::zip::FileKind::Other
        };
        Ok(gomod::zip::FileInfo {
            size: meta.len(),
            kind,
        })
    }
    fn open(&self) -> std::io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(fs::File::open(&self.abs)?))
    }
}

/// Every file of a checked-out tree but the repository's own `.git`, as git archive lists
/// them for the go command; None when a name is not UTF-8 (only `create_from_dir` takes those).
fn tree_files(root: &Path) -> Option<Vec<DiskFile>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let abs = entry.path();
            let rel = abs.strip_prefix(root).unwrap().to_str()?.to_owned();
            if rel == ".git" {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                stack.push(abs);
            } else {
                out.push(DiskFile { rel, abs });
            }
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Some(out)
}

/// What our code makes of a tree: the zip it creates, or its error text.
fn ours_from_dir(case: &Case, dir: &Path) -> Result<Vec<u8>, String> {
    let m = gomod::module::Version {
        path: case.module_path.clone(),
        version: case.version.clone(),
    };
    let mut buf = Cursor::new(Vec::new());
    gomod::zip::create_from_dir(&mut buf, &m, dir).map_err(|e| e.to_string())?;
    Ok(buf.into_inner())
}

fn ours_from_files(case: &Case, files: Vec<DiskFile>) -> Result<Vec<u8>, String> {
    let m = gomod::module::Version {
        path: case.module_path.clone(),
        version: case.version.clone(),
    };
    let mut buf = Cursor::new(Vec::new());
    gomod::zip::create(&mut buf, &m, &files).map_err(|e| e.to_string())?;
    Ok(buf.into_inner())
}

/// The go.mod the go command serves for the case: the tree's, or the one it synthesizes.
fn go_mod_bytes(case: &Case) -> Vec<u8> {
    case.files
        .iter()
        .find(|(name, _)| name == b"go.mod")
        .map(|(_, c)| match c {
            Content::Text(bytes) => bytes.clone(),
            other => panic!("generated go.mod is not text: {other:?}"),
        })
        .unwrap_or_else(|| format!("module {}\n", case.module_path).into_bytes())
}

#[test]
fn zips_and_hashes_agree_with_the_go_command() {
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let repos = work.join("repos");
    fs::write(
        work.join("gitconfig"),
        format!(
            "[url \"file://{}/\"]\n\tinsteadOf = https://github.com/gen/\n[protocol \"file\"]\n\tallow = always\n",
            repos.display()
        ),
    )
    .unwrap();

    let mut rng = Rng::new(SEED);
    let cases: Vec<Case> = (0..CASES).map(|i| generate(&mut rng, i)).collect();
    let dirs: Vec<PathBuf> = cases.iter().map(|c| materialize(c, &repos)).collect();

    // The go command's verdicts, fetching from git.
    let refs: Vec<&Case> = cases.iter().collect();
    let direct = go_download(work, "direct", &work.join("modcache-direct"), &refs);

    let mut failures = Vec::new();
    let mut accepted = Vec::new();
    let (mut agreed_ok, mut agreed_err) = (0, 0);
    for (case, dir) in cases.iter().zip(&dirs) {
        let key = format!("{}@{}", case.module_path, case.version);
        let go = &direct[&key];
        // The go command zips the files git archive gives it: `create`, whose error text
        // must be the go command's to the letter. `create_from_dir` over the checkout must
        // reach the same verdict and the same zip (its errors also name the directory).
        let from_dir = ours_from_dir(case, dir)
            .map_err(|e| e.replacen(&format!("create zip {}:", dir.display()), "create zip:", 1));
        let ours = match tree_files(dir) {
            Some(files) => ours_from_files(case, files),
            // A name that is not UTF-8 cannot be a `File` path: only the directory walk
            // sees it.
            None => from_dir.clone(),
        };
        match (&ours, &from_dir) {
            (Ok(a), Ok(b)) if zip_names(a) != zip_names(b) => failures.push(format!(
                "{key}: create and create_from_dir made different zips: {:?} vs {:?}",
                zip_names(a),
                zip_names(b)
            )),
            (Err(a), Err(b)) if a != b => failures.push(format!(
                "{key}: create says {a:?}, create_from_dir says {b:?}"
            )),
            (Ok(_), Err(e)) => {
                failures.push(format!("{key}: create accepts, create_from_dir says {e:?}"))
            }
            (Err(e), Ok(_)) => {
                failures.push(format!("{key}: create_from_dir accepts, create says {e:?}"))
            }
            _ => {}
        }
        match (&go.error, &ours) {
            (Some(go_err), Err(our_err)) => {
                if go_err != our_err {
                    failures.push(format!("{key}: go says {go_err:?}, we say {our_err:?}"));
                } else {
                    agreed_err += 1;
                }
            }
            (Some(go_err), Ok(zip)) => failures.push(format!(
                "{key}: go rejects it ({go_err:?}), we made a zip of {:?}",
                zip_names(zip)
            )),
            (None, Err(our_err)) => {
                failures.push(format!("{key}: go accepts it, we say {our_err:?}"))
            }
            (None, Ok(zip)) => {
                let go_zip = fs::read(go.zip.as_ref().unwrap()).unwrap();
                let mut problems = Vec::new();
                // The zip itself, byte for byte: the go command's archive/zip layout and
                // compress/flate output.
                if *zip != go_zip {
                    problems.push(format!(
                        "zip bytes: go {} bytes, ours {} (first difference at {:?})",
                        go_zip.len(),
                        zip.len(),
                        zip.iter().zip(&go_zip).position(|(a, b)| a != b)
                    ));
                }
                if zip_names(zip) != zip_names(&go_zip) {
                    problems.push(format!(
                        "files: go {:?}, ours {:?}",
                        zip_names(&go_zip),
                        zip_names(zip)
                    ));
                }
                let ours = gomod::dirhash::hash_zip(Cursor::new(zip)).unwrap();
                if Some(&ours) != go.sum.as_ref() {
                    problems.push(format!("zip hash: go {:?}, ours {ours}", go.sum));
                }
                let ours = gomod::dirhash::hash_go_mod(&go_mod_bytes(case));
                if Some(&ours) != go.go_mod_sum.as_ref() {
                    problems.push(format!("go.mod hash: go {:?}, ours {ours}", go.go_mod_sum));
                }
                if problems.is_empty() {
                    agreed_ok += 1;
                    accepted.push((case, zip.clone()));
                } else {
                    failures.push(format!("{key}: {}", problems.join("; ")));
                }
            }
        }
    }

    // Our zips, served to the go command from a file:// proxy tree: it must take them and
    // reach the same hashes it reached from git.
    let proxy = work.join("proxy");
    for (case, zip) in &accepted {
        let dir = proxy.join(&case.module_path).join("@v");
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join(format!("{}.info", case.version)),
            format!(
                "{{\"Version\":\"{}\",\"Time\":\"2024-01-02T03:04:05Z\"}}",
                case.version
            ),
        )
        .unwrap();
        fs::write(
            dir.join(format!("{}.mod", case.version)),
            go_mod_bytes(case),
        )
        .unwrap();
        fs::write(dir.join(format!("{}.zip", case.version)), zip).unwrap();
        fs::write(dir.join("list"), format!("{}\n", case.version)).unwrap();
    }
    let served: Vec<&Case> = accepted.iter().map(|(c, _)| *c).collect();
    let via_proxy = go_download(
        work,
        &format!("file://{}", proxy.display()),
        &work.join("modcache-proxy"),
        &served,
    );
    for case in &served {
        let key = format!("{}@{}", case.module_path, case.version);
        let (got, want) = (&via_proxy[&key], &direct[&key]);
        if got.error.is_some() || got.sum != want.sum || got.go_mod_sum != want.go_mod_sum {
            failures.push(format!(
                "{key}: served our zip, go says error {:?}, sums {:?} {:?}; from git it had {:?} {:?}",
                got.error, got.sum, got.go_mod_sum, want.sum, want.go_mod_sum
            ));
        }
    }

    eprintln!(
        "differential: {CASES} trees; go and gomod agree on {agreed_ok} zips and {agreed_err} rejections; {} of our zips served back",
        served.len()
    );
    assert!(
        failures.is_empty(),
        "{} disagreements with the go command:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The generator must keep exercising both sides.
    assert!(agreed_ok >= CASES / 2, "only {agreed_ok} accepted trees");
    assert!(agreed_err >= CASES / 20, "only {agreed_err} rejected trees");
}
