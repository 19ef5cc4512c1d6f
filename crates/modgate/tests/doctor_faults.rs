//! The doctor's fault matrix: the real `modgate doctor` against a healthy set-up made of
//! real servers on loopback (a module proxy that records what it is asked and proxies a
//! checksum database with a real signed tree head, `git http-backend` behind basic auth
//! reached through an insteadOf rule, a module cache, a project), which gives no finding;
//! then each fault injected for real, one at a time, and the finding the doctor must give.
//! Runs as root (CI does): read-only and full disks are real mounts, the name that does not
//! resolve is looked up inside a network namespace with its own DNS responder.
//!
//! | fault                                          | the doctor's finding (group: measured) | fix |
//! |------------------------------------------------|----------------------------------------|-----|
//! | proxy accepts and never answers (every path)   | network: accepted the connection … but sent no answer | `'GOPROXY=<another>\|proxy,direct'` (filled with a mirror, applied) |
//! | proxy refuses connections                      | network: connection to … refused       | another proxy (filled with a mirror, applied), or check the URL |
//! | http proxy answers 403                         | network: 403 Forbidden                 | serve it over https, then a netrc line |
//! | https proxy answers 403 without credentials (none; refused ones; the printed line filled in) | network: 403 Forbidden; …has no machine… / …and it was sent; both candidates named | the netrc line (applied: healthy, go list works) |
//! | proxy answers 429 with Retry-After (every path) | network: 429 Too Many Requests, Retry-After: 120 | another proxy first (filled, applied), or wait |
//! | proxy answers 500 (every path)                 | network: 500                           | `'GOPROXY=proxy\|<another>,direct'` (filled, applied) |
//! | TLS certificate self-signed                    | network: … invalid peer certificate: UnknownIssuer | install the CA (update-ca-certificates) (applied: trusted, go list works) |
//! | TLS certificate expired                        | network: … invalid peer certificate: certificate expired … | renew it; check the clock (date -u) (its equivalent applied) |
//! | TLS certificate for another name               | network: … certificate not valid for name … | the name the certificate names, or reissue (its equivalent applied) |
//! | TLS certificate expiring in 3.5 days (a warning) | network: the certificate of 127.0.0.1 expires in 3 day(s) | renew it now |
//! | proxy's host name does not resolve             | network: … does not resolve            | another proxy (filled with a mirror, applied), or check the URL |
//! | private module not covered by GOPRIVATE        | configuration: GET …/corp.example.com/lib.git/@v/v1.0.0.mod: 404; not covered, and the database does not know it either | `go env -w GOPRIVATE=corp.example.com` (applied through --fix-script) |
//! | public module the proxy lacks                  | configuration: …: 404; the checksum database knows … a public module | a fallback, never GOPRIVATE (applied for lib.git made public: fetched with git, proven by the database) |
//! | GOPROXY URL that serves nothing                | configuration: …: 404; GET …/golang.org/x/mod/@v/list: 404 too; GET <origin>/golang.org/x/mod/@v/list: 200 | `go env -w GOPROXY=<origin>` (applied) |
//! | checksum database forked from the tree the go command trusts | network: sum.test (…) misbehaves, checking the tree head it serves now: its tree of 10 does not contain the tree of N the go command trusts (…/latest) | read it another way, report it (its equivalent applied: the real database) |
//! | https proxy wants credentials (none; a machine without the port; the printed line filled in) | network: 401 …; ~/.netrc has no machine 127.0.0.1:P / … looks for machine 127.0.0.1:P | the netrc line (applied: healthy, go list works) |
//! | http proxy wants credentials (a netrc line; credentials in the URL) | network: 401 …, which the go command does not send here / GOPROXY names http://<credentials>@… | serve it over https (the go command fails both ways, as said) |
//! | GONOSUMDB missing for a private module         | configuration: fetched direct but looked up in sum.test | `go env -w GONOSUMDB=corp.example.com` (applied) |
//! | git server wants credentials, none configured  | git: git ls-remote … failed … terminal prompts disabled | `~/.netrc` line (filled in and applied) |
//! | tag v1.0 where v1.0.0 is required              | git: no tag v1.0.0 …; it has v1.0      | `git tag v1.0.0 v1.0^{commit}` (its equivalent applied in the server's repository) |
//! | module cache read-only (a read-only mount)     | cache: cannot create a file in … Read-only file system | another GOMODCACHE (filled, applied: the go command downloads), or remount |
//! | module cache's disk full of other files        | cache: … bytes free on the disk of …; the module cache holds … | `du -xah … \| sort -h \| tail` (run: it names the filler; freed: the go command downloads) |
//! | corrupted cache entry                          | cache: …zip (hashes to …, its .ziphash says …) | `modgate cache repair` (applied: healthy) |
//! | lock held by a stuck process                   | cache: ….lock is held by pid …         | `kill <pid>` (its equivalent: healthy after) |
//! | go.sum line that disagrees with the cache and the database | configuration: …go.sum:3 says … for the go.mod of …; the checksum database sum.test (…) and the module cache say … | `sed -i … go.sum && go mod download …` (applied) |
//! | … with no database for it                      | configuration: …; <proxy> serves, and the module cache holds, a go.mod that hashes to …; the cause says which cannot be told | the same (applied) |
//! | go.sum line the checksum database contradicts, module not cached | configuration: …go.sum:2 says … for the zip of …; the checksum database sum.test (…) says … | `sed -i … go.sum && go mod download …` (applied: the go command then succeeds) |
//! | requirement with no go.sum line                | configuration: go.sum has no line for 1 of go.mod's requirements: example.com/pub@v1.0.0 (confirms --explain of the go command's text) | `cd … && go mod download example.com/pub@v1.0.0` (applied: go list -m all works, go.mod untouched; go mod tidy would drop requirements nothing imports) |
//! | vendor/modules.txt that does not match go.mod (vendor mode by default) | configuration: vendor/modules.txt with go 1.22 (vendor mode by default); example.com/pub@v1.0.0 is not in vendor/modules.txt (confirms --explain) | `cd … && go mod vendor` (applied: go list ./... works) |
//! | go line newer than this go, GOTOOLCHAIN=local  | configuration: go.mod asks for go1.99; this go is go1.23… and GOTOOLCHAIN=local (confirms --explain) | `go env -w GOTOOLCHAIN=auto` (not applied: no newer Go here) |
//! | proxy serving other go.mod bytes than the database and go.sum recorded | network: … serves a go.mod of … that hashes to …; the checksum database sum.test and …go.sum:3 say … | `go env -w GOPROXY=<another proxy>,direct` (filled with a mirror, applied), and tell its operators |
//! | go.mod that declares another module path       | configuration: the go.mod of example.com/moved@v1.0.0 … declares module example.com/other | `go mod edit -droprequire … && go get example.com/other@v1.0.0` (applied: go list -m shows it) |

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use crate::doctor_support::{GitHttp, Mount, NetNs};
use crate::proxy_support::{FaultServer, Reply};
use gomod::sumdb::note::Signer;
use gomod::sumdb::server::TestServer;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use testkit::free_port;

const PUB_MOD: &str = "module example.com/pub\n\ngo 1.21\n";
const PUB_ANSWER: &[(&str, &str)] = &[("/example.com/pub/@v/v1.0.0.mod", PUB_MOD)];
const LIB_MOD: &str = "module corp.example.com/lib.git\n\ngo 1.21\n";
const OTHER_MOD: &str = "module example.com/other\n\ngo 1.21\n";

/// The healthy set-up.
struct World {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
    modcache: PathBuf,
    project: PathBuf,
    proxy: FaultServer,
    /// A second proxy with the healthy answers.
    mirror: FaultServer,
    overrides: Arc<Mutex<HashMap<String, Reply>>>,
    _git: GitHttp,
    env: Vec<(String, String)>,
    /// The GOENV file (`go env -w` writes there; empty when healthy).
    goenv: PathBuf,
    /// A checksum database (same name and key) the proxy serves in place of the real one.
    fork: Arc<Mutex<Option<Arc<TestServer>>>>,
    /// Whether the database records corp.example.com/lib.git (a public module then).
    lib_public: Arc<AtomicBool>,
}

fn git(dir: &Path, args: &[&str]) {
    testkit::git(dir, args);
}

impl World {
    async fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let home = root.join("home");
        let modcache = root.join("gopath/pkg/mod");
        let project = root.join("app");
        for d in [&home, &modcache, &project] {
            std::fs::create_dir_all(d).unwrap();
        }
        // The private module's repository, tagged v1.0.0, served by git http-backend.
        let work = root.join("work");
        std::fs::create_dir_all(&work).unwrap();
        std::fs::write(work.join("go.mod"), LIB_MOD).unwrap();
        std::fs::write(work.join("lib.go"), "package lib\n").unwrap();
        git(&work, &["init", "-q", "-b", "main"]);
        git(&work, &["add", "."]);
        git(&work, &["commit", "-q", "-m", "lib"]);
        git(&work, &["tag", "v1.0.0"]);
        let repos = root.join("repos");
        std::fs::create_dir_all(&repos).unwrap();
        git(
            &root,
            &[
                "clone",
                "-q",
                "--bare",
                work.to_str().unwrap(),
                repos.join("lib").to_str().unwrap(),
            ],
        );
        let git_srv = GitHttp::start(&repos, "alice", "s3cret");
        let p = git_srv.port;
        std::fs::write(
            home.join(".gitconfig"),
            format!(
                "[url \"http://127.0.0.1:{p}/\"]\n\tinsteadOf = https://corp.example.com/\n[credential]\n\thelper = store\n"
            ),
        )
        .unwrap();
        std::fs::write(
            home.join(".git-credentials"),
            format!("http://alice:s3cret@127.0.0.1:{p}\n"),
        )
        .unwrap();
        // The public proxy, serving example.com/pub and proxying a real checksum database
        // (in memory) that records it.
        let zip = pub_zip("package pub\n");
        let h1 = gomod::dirhash::hash_zip(std::io::Cursor::new(&zip)).unwrap();
        let (signer, vkey) = Signer::from_seed("sum.test", [7; 32]).unwrap();
        let lines = format!(
            "example.com/pub v1.0.0 {h1}\nexample.com/pub v1.0.0/go.mod {}\n",
            gomod::dirhash::hash_go_mod(PUB_MOD.as_bytes())
        );
        // example.com/moved, whose go.mod declares example.com/other, and that one.
        let other_zip = zip_of("example.com/other", OTHER_MOD, "a.go", "package other\n");
        let other_lines = format!(
            "example.com/other v1.0.0 {}\nexample.com/other v1.0.0/go.mod {}\n",
            gomod::dirhash::hash_zip(std::io::Cursor::new(&other_zip)).unwrap(),
            gomod::dirhash::hash_go_mod(OTHER_MOD.as_bytes())
        );
        let moved_zip = zip_of("example.com/moved", OTHER_MOD, "a.go", "package other\n");
        let moved_lines = format!(
            "example.com/moved v1.0.0 {}\nexample.com/moved v1.0.0/go.mod {}\n",
            gomod::dirhash::hash_zip(std::io::Cursor::new(&moved_zip)).unwrap(),
            gomod::dirhash::hash_go_mod(OTHER_MOD.as_bytes())
        );
        let lib_zip = zip_of(
            "corp.example.com/lib.git",
            LIB_MOD,
            "lib.go",
            "package lib\n",
        );
        let lib_lines = format!(
            "corp.example.com/lib.git v1.0.0 {}\ncorp.example.com/lib.git v1.0.0/go.mod {}\n",
            gomod::dirhash::hash_zip(std::io::Cursor::new(&lib_zip)).unwrap(),
            gomod::dirhash::hash_go_mod(LIB_MOD.as_bytes())
        );
        let lib_public: Arc<AtomicBool> = Arc::default();
        let public = lib_public.clone();
        let db = Arc::new(TestServer::new(
            signer,
            Box::new(move |p, v| match (p, v) {
                ("corp.example.com/lib.git", "v1.0.0") if public.load(Ordering::SeqCst) => {
                    Some(lib_lines.clone())
                }
                ("example.com/pub", "v1.0.0") => Some(lines.clone()),
                ("example.com/other", "v1.0.0") => Some(other_lines.clone()),
                ("example.com/moved", "v1.0.0") => Some(moved_lines.clone()),
                _ => None,
            }),
        ));
        let overrides: Arc<Mutex<HashMap<String, Reply>>> = Arc::default();
        let o = overrides.clone();
        let served_zip = zip.clone();
        // The healthy answers; the proxy answers an override for the path (or "*": every
        // path) first; a mirror gives the healthy answers only (the "another proxy" fixes
        // name).
        let healthy = Arc::new(move |path: &str| match path {
            "/golang.org/x/mod/@v/list" => Reply::ok(""),
            "/sumdb/sum.test/supported" => Reply::ok(""),
            "/example.com/pub/@v/v1.0.0.mod" => Reply::ok(PUB_MOD),
            "/example.com/pub/@v/v1.0.0.info" => Reply::ok(r#"{"Version":"v1.0.0"}"#),
            "/example.com/pub/@v/v1.0.0.zip" => Reply::ok(served_zip.clone()),
            "/example.com/moved/@v/v1.0.0.mod" | "/example.com/other/@v/v1.0.0.mod" => {
                Reply::ok(OTHER_MOD)
            }
            "/example.com/other/@v/v1.0.0.info" | "/example.com/moved/@v/v1.0.0.info" => {
                Reply::ok(r#"{"Version":"v1.0.0"}"#)
            }
            "/example.com/other/@v/v1.0.0.zip" => Reply::ok(other_zip.clone()),
            "/example.com/moved/@v/v1.0.0.zip" => Reply::ok(moved_zip.clone()),
            p if p.starts_with("/sumdb/sum.test/") => {
                match db.handle(&p["/sumdb/sum.test".len()..]) {
                    Ok(b) => Reply::ok(b),
                    Err(e) => Reply::status(e.status),
                }
            }
            _ => Reply::status(404),
        });
        let h = healthy.clone();
        let fork: Arc<Mutex<Option<Arc<TestServer>>>> = Arc::default();
        let f = fork.clone();
        let proxy = FaultServer::start(move |path| {
            let o = o.lock().unwrap();
            let forked = f.lock().unwrap().clone();
            match (o.get(path).or_else(|| o.get("*")), forked) {
                (Some(r), _) => r.clone(),
                (None, Some(db))
                    if path.starts_with("/sumdb/sum.test/") && !path.ends_with("/supported") =>
                {
                    match db.handle(&path["/sumdb/sum.test".len()..]) {
                        Ok(b) => Reply::ok(b),
                        Err(e) => Reply::status(e.status),
                    }
                }
                (None, _) => h(path),
            }
        })
        .await;
        let mirror = FaultServer::start(move |path| healthy(path)).await;
        // The module cache holds example.com/pub v1.0.0, as the go command leaves it.
        let vdir = modcache.join("cache/download/example.com/pub/@v");
        std::fs::create_dir_all(&vdir).unwrap();
        std::fs::write(vdir.join("v1.0.0.zip"), &zip).unwrap();
        std::fs::write(vdir.join("v1.0.0.ziphash"), &h1).unwrap();
        std::fs::write(vdir.join("v1.0.0.mod"), PUB_MOD).unwrap();
        std::fs::write(vdir.join("v1.0.0.lock"), "").unwrap();
        std::fs::write(vdir.join("list"), "v1.0.0\n").unwrap();
        // The project.
        std::fs::write(
            project.join("go.mod"),
            "module example.com/app\n\ngo 1.22\n\nrequire (\n\tcorp.example.com/lib.git v1.0.0\n\texample.com/pub v1.0.0\n)\n",
        )
        .unwrap();
        std::fs::write(
            project.join("go.sum"),
            format!(
                "corp.example.com/lib.git v1.0.0/go.mod {}\nexample.com/pub v1.0.0 {h1}\nexample.com/pub v1.0.0/go.mod {}\n",
                gomod::dirhash::hash_go_mod(LIB_MOD.as_bytes()),
                gomod::dirhash::hash_go_mod(PUB_MOD.as_bytes())
            ),
        )
        .unwrap();
        let go_dir = testkit::go_binary().parent().unwrap().to_path_buf();
        let env = [
            ("HOME", home.display().to_string()),
            (
                "PATH",
                format!(
                    "{}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
                    go_dir.display()
                ),
            ),
            ("GOPATH", root.join("gopath").display().to_string()),
            ("GOMODCACHE", modcache.display().to_string()),
            ("GOPROXY", proxy.origin.clone()),
            ("GOSUMDB", vkey),
            ("GOPRIVATE", "corp.example.com".into()),
            ("GOTOOLCHAIN", "local".into()),
            ("GOENV", root.join("goenv").display().to_string()),
            ("GIT_CONFIG_NOSYSTEM", "1".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        World {
            _tmp: tmp,
            goenv: root.join("goenv"),
            root,
            home,
            modcache,
            project,
            proxy,
            mirror,
            overrides,
            _git: git_srv,
            env,
            fork,
            lib_public,
        }
    }

    fn set(&mut self, k: &str, v: &str) {
        self.env.retain(|(n, _)| n != k);
        self.env.push((k.into(), v.into()));
    }

    fn unset(&mut self, k: &str) {
        self.env.retain(|(n, _)| n != k);
    }

    fn answer(&self, path: &str, r: Reply) {
        self.overrides.lock().unwrap().insert(path.into(), r);
    }

    /// `modgate doctor --json --timeout 2s` on the project, through `wrap` (a network
    /// namespace) when given: the exit status and the findings other than the CPU's (those
    /// depend on how busy the machine running the tests is).
    async fn doctor(&self, ns: Option<&NetNs>, args: &[&str]) -> (i32, Vec<Value>) {
        let (code, report) = self.report(ns, args).await;
        let findings = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["group"] != "cpu")
            .cloned()
            .collect();
        (code, findings)
    }

    /// Runs `c` in the project under the World's environment (plus `extra`), with a fresh
    /// module cache when `fresh` (so that nothing it needs was there before), bounded.
    async fn run(&self, mut c: Command, fresh: bool, extra: &[(&str, String)]) -> Output {
        let cache = tempfile::tempdir().unwrap();
        c.current_dir(&self.project)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .envs(extra.iter().map(|(k, v)| (k, v)));
        if fresh {
            c.env("GOMODCACHE", cache.path());
        }
        let out = tokio::task::spawn_blocking(move || {
            testkit::run_bounded(&mut c, std::time::Duration::from_secs(60))
        })
        .await
        .unwrap();
        let _ = std::process::Command::new("chmod")
            .args(["-R", "u+w"])
            .arg(cache.path())
            .status();
        out
    }

    /// What the real go command prints (stderr) for `go mod download MODULE` in a fresh
    /// module cache under the World's environment: its own error text.
    async fn go_download(&self, module: &str) -> String {
        let out = self.go_cmd(&["mod", "download", module]).await;
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Runs the go command with `args` in the project, under the World's environment and
    /// a fresh module cache.
    async fn go_cmd(&self, args: &[&str]) -> Output {
        let mut c = Command::new(testkit::go_binary());
        c.args(args);
        self.run(c, true, &[]).await
    }

    /// `modgate doctor --fix-script` on the project: the script it prints.
    async fn fix_script(&self) -> String {
        let mut c = Command::new(env!("CARGO_BIN_EXE_modgate"));
        c.args(["doctor", "--fix-script", "--timeout", "2s"])
            .arg(&self.project);
        String::from_utf8(self.run(c, false, &[]).await.stdout).unwrap()
    }

    /// Applies a `go env -w NAME=VALUE` fix (placeholders filled from `fill`) by its
    /// equivalent, the variable set in the World's environment (where it overrides the
    /// GOENV file), then the go command must download example.com/pub; the environment is
    /// put back after.
    async fn prove_env_fix(&mut self, row: &str, fix: &str, fill: &[(&str, &str)]) {
        self.prove_download_env_fix(row, fix, fill, "example.com/pub@v1.0.0")
            .await
    }

    /// As [`prove_env_fix`](Self::prove_env_fix), downloading `module` with the World's
    /// own GOMODCACHE unless the fix sets it.
    async fn prove_download_env_fix(
        &mut self,
        row: &str,
        fix: &str,
        fill: &[(&str, &str)],
        module: &str,
    ) {
        let mut filled = fix.to_string();
        for (k, v) in fill {
            filled = filled.replace(k, v);
        }
        let (name, value) = filled
            .strip_prefix("go env -w ")
            .map(|a| a.trim_matches('\''))
            .and_then(|a| a.split_once('='))
            .unwrap_or_else(|| panic!("{row}: not a go env -w fix: {fix:?}"));
        let before = self.env.iter().find(|(k, _)| k == name).cloned();
        self.set(name, value);
        let go_sum_before = std::fs::read(self.project.join("go.sum")).unwrap();
        let mut c = Command::new(testkit::go_binary());
        c.args(["mod", "download", module]);
        let out = self.run(c, name != "GOMODCACHE", &[]).await;
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        std::fs::write(self.project.join("go.sum"), go_sum_before).unwrap();
        match before {
            Some((k, v)) => self.set(&k, &v),
            None => self.unset(name),
        }
        assert_eq!(text, "", "{row}: after {filled:?}");
    }

    /// Applies a printed netrc fix with the user and token filled in (bob, t0ken): the
    /// doctor (with `args`) is then healthy and the go command lists example.com/pub; the
    /// netrc file is removed after.
    async fn prove_netrc_fix(&self, row: &str, fix: &str, args: &[&str]) {
        let filled = fix.replace("<user>", "bob").replace("<token>", "t0ken");
        let out = self.shell(&filled).await;
        assert!(out.status.success(), "{row}: {filled}: {out:?}");
        let (code, f) = self.doctor(None, args).await;
        assert_eq!((code, f.len()), (0, 0), "{row}, after {filled:?}: {f:#?}");
        let listed = self.go_cmd(&["list", "-m", "example.com/pub@v1.0.0"]).await;
        assert!(
            listed.status.success(),
            "{row}, after {filled:?}: {listed:?}"
        );
        std::fs::remove_file(self.home.join(".netrc")).unwrap();
    }

    /// Runs a printed fix with `sh -c` in the project, under the World's environment (a
    /// fresh module cache) with modgate on PATH, for the fixes that run it.
    async fn shell(&self, script: &str) -> Output {
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_modgate"));
        let path = self
            .env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map_or(String::new(), |(_, v)| v.clone());
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        let path = format!("{}:{path}", bin.parent().unwrap().display());
        self.run(c, true, &[("PATH", path)]).await
    }

    /// The whole JSON report, and the exit status.
    async fn report(&self, ns: Option<&NetNs>, args: &[&str]) -> (i32, Value) {
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_modgate"));
        let mut c = match ns {
            Some(ns) => ns.command(&bin),
            None => Command::new(&bin),
        };
        c.args(["doctor", "--json", "--timeout", "2s"])
            .args(args)
            .arg(&self.project);
        let out = self.run(c, false, &[]).await;
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "doctor printed no JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        if std::env::var_os("DOCTOR_FAULTS_SHOW").is_some() {
            eprintln!("{}", String::from_utf8_lossy(&out.stdout));
        }
        (out.status.code().unwrap_or(-1), report)
    }
}

/// A certificate's DER as PEM.
fn pem_of(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// The first finding's fix as one command line (its `fix_commands` joined with `&&`).
fn fix_line(findings: &[Value]) -> String {
    findings
        .first()
        .and_then(|f| f["fix_commands"].as_array())
        .map(|c| {
            c.iter()
                .map(|c| c.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(" && ")
        })
        .unwrap_or_default()
}

/// The zip of `module` v1.0.0: its go.mod and one Go file, `file` holding `code`.
fn zip_of(module: &str, go_mod: &str, file: &str, code: &str) -> Vec<u8> {
    let v = gomod::module::Version::new(module, "v1.0.0");
    let mut zip = std::io::Cursor::new(Vec::new());
    gomod::zip::create(
        &mut zip,
        &v,
        &[
            gomod::zip::DataFile {
                path: "go.mod".into(),
                data: go_mod.into(),
            },
            gomod::zip::DataFile {
                path: file.into(),
                data: code.as_bytes().to_vec(),
            },
        ],
    )
    .unwrap();
    zip.into_inner()
}

/// The zip of example.com/pub v1.0.0 with `code` as its one Go file.
fn pub_zip(code: &str) -> Vec<u8> {
    zip_of("example.com/pub", PUB_MOD, "pub.go", code)
}

/// The one finding of a row: its group, and fragments of what was measured and of the fix.
#[track_caller]
fn expect(row: &str, (code, f): (i32, Vec<Value>), group: &str, measured: &[&str], fix: &str) {
    assert_eq!(f.len(), 1, "{row}: want one finding, got {f:#?}");
    let m = f[0]["measured"].as_str().unwrap();
    assert_eq!(f[0]["group"], group, "{row}: {f:#?}");
    for part in measured {
        assert!(m.contains(part), "{row}: measured {m:?} lacks {part:?}");
    }
    let got_fix = f[0]["fix"].as_str().unwrap_or("");
    assert!(
        got_fix.contains(fix),
        "{row}: fix {got_fix:?} lacks {fix:?}"
    );
    assert_eq!(
        code,
        i32::from(f[0]["severity"] == "problem"),
        "{row}: exit status"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_is_named_with_its_fix() {
    assert!(
        rustix::process::geteuid().is_root(),
        "the fault matrix mounts file systems and makes network namespaces: run it as root (CI does)"
    );
    let mut w = World::new().await;
    let origin = w.proxy.origin.clone();

    // Healthy: no finding, exit 0; git was reached through insteadOf with credentials, and
    // the database's signed tree head verified through the proxy.
    let (code, f) = w.doctor(None, &[]).await;
    assert_eq!((code, f.len()), (0, 0), "healthy: {f:#?}");
    // go.sum's lines for the public module were checked against the database's records.
    let (_, report) = w.report(None, &[]).await;
    let want =
        format!("go.sum against sum.test (proxied by {origin}): 2 line(s) agree with its records");
    assert!(
        report["measured"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["text"] == want.as_str()),
        "{:#?}",
        report["measured"]
    );

    // The proxy accepts and never answers (every path). The fix, filled in with a mirror
    // and applied: the go command downloads through the mirror.
    let mirror = w.mirror.origin.clone();
    w.answer("*", Reply::Hang);
    let r = w.doctor(None, &[]).await;
    let fix = fix_line(&r.1);
    expect(
        "hang",
        r,
        "network",
        &[
            "accepted the connection",
            "sent no answer",
            "within 2000 ms",
        ],
        "|",
    );
    w.prove_env_fix("hang", &fix, &[("<another proxy>", &mirror)])
        .await;
    // 403, 429 with Retry-After, 500.
    w.answer("/golang.org/x/mod/@v/list", Reply::status(403));
    let r = w.doctor(None, &[]).await;
    // Over http the go command sends no credentials, so the fix that could tell the two
    // candidates apart (credentials, or a rule against this machine) starts with https.
    let plain_host = origin.trim_start_matches("http://");
    expect(
        "403",
        r,
        "network",
        &["403 Forbidden"],
        &format!("serve {plain_host} over https"),
    );
    w.overrides.lock().unwrap().clear();
    w.answer(
        "*",
        Reply::Raw(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 120\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()),
    );
    let r = w.doctor(None, &[]).await;
    let fix = fix_line(&r.1);
    expect(
        "429",
        r,
        "network",
        &["429 Too Many Requests, Retry-After: 120"],
        "wait and retry",
    );
    w.prove_env_fix("429", &fix, &[("<another proxy>", &mirror)])
        .await;
    w.answer("*", Reply::status(500));
    let r = w.doctor(None, &[]).await;
    let fix = fix_line(&r.1);
    expect(
        "500",
        r,
        "network",
        &[": 500 ("],
        &format!("GOPROXY={origin}|"),
    );
    w.prove_env_fix("500", &fix, &[("<another proxy>", &mirror)])
        .await;
    w.overrides.lock().unwrap().clear();

    // TLS: a CA-signed certificate this machine trusts (SSL_CERT_FILE, as for the go
    // command) is healthy; self-signed, expired, or for another name each are named.
    {
        use crate::doctor_support::{TlsServer, certs};
        let ca = certs::Ca::new();
        let ca_file = w.root.join("ca.pem");
        std::fs::write(&ca_file, &ca.pem).unwrap();
        w.set("SSL_CERT_FILE", &ca_file.display().to_string());
        // This server serves no checksum database: keep the doctor from going to sum.test
        // itself (a name outside the machine).
        w.set("GONOSUMDB", "example.com");
        let good = TlsServer::start(&ca.leaf("127.0.0.1"), PUB_ANSWER).await;
        w.set("GOPROXY", &good.origin);
        let (code, f) = w
            .doctor(None, &["--module", "example.com/pub@v1.0.0"])
            .await;
        assert_eq!((code, f.len()), (0, 0), "trusted TLS: {f:#?}");
        // What each fix leaves (the test's equivalent of installing the CA, renewing or
        // reissuing the certificate): the certificate trusted, or a valid one for the name.
        let self_signed = certs::self_signed("127.0.0.1", false);
        let listable = [
            ("/example.com/pub/@v/v1.0.0.mod", PUB_MOD),
            ("/example.com/pub/@v/v1.0.0.info", r#"{"Version":"v1.0.0"}"#),
        ];
        let fixed = [
            (self_signed.clone(), pem_of(&self_signed.cert)),
            (ca.leaf("127.0.0.1"), String::new()),
            (ca.leaf("127.0.0.1"), String::new()),
        ];
        for ((row, leaf, measured, fix, go_says, stated), (after, trust)) in [
            (
                "self-signed",
                self_signed,
                "UnknownIssuer",
                "update-ca-certificates",
                "x509: certificate signed by unknown authority",
                "a self-signed certificate, a CA this machine does not trust (a private CA, a TLS-inspecting proxy), or a server that does not send its intermediate certificate",
            ),
            (
                "expired",
                certs::self_signed("127.0.0.1", true),
                "certificate expired",
                "date -u",
                "x509: certificate has expired or is not yet valid: current time ",
                "an expired certificate, or this machine's clock is wrong",
            ),
            (
                "another name",
                ca.leaf("proxy.other.example"),
                "not valid for name",
                "reissue it for 127.0.0.1",
                "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs",
                "a certificate for another host name",
            ),
        ]
        .into_iter()
        .zip(fixed)
        {
            let srv = TlsServer::start(&leaf, PUB_ANSWER).await;
            w.set("GOPROXY", &srv.origin);
            let r = w
                .doctor(None, &["--module", "example.com/pub@v1.0.0"])
                .await;
            expect(row, r, "network", &[measured], fix);
            // --explain with what the go command itself prints for this server: the one
            // cause its text states, alone, confirmed by the measurement.
            let text = w.go_download("example.com/pub@v1.0.0").await;
            assert!(
                text.contains(go_says),
                "{row}: the go command said {text:?}"
            );
            let (_, report) = w
                .report(
                    None,
                    &["--module", "example.com/pub@v1.0.0", "--explain", &text],
                )
                .await;
            let kinds = report["explanation"]["kinds"].as_array().unwrap();
            let tls = kinds
                .iter()
                .find(|k| k["name"] == "TLS certificate refused")
                .unwrap_or_else(|| panic!("{row}: {kinds:#?}"));
            assert_eq!(tls["causes"], serde_json::json!([stated]), "{row}: {text}");
            assert_eq!(tls["stated"], true, "{row}");
            let i = tls["confirmed_by"][0].as_u64().unwrap() as usize;
            assert_eq!(report["findings"][i]["group"], "network", "{row}");
            assert_eq!(tls["confirmed_by"].as_array().unwrap().len(), 1, "{row}");
            // The fix applied: healthy, and the go command lists the module.
            let bundle = w.root.join("bundle.pem");
            std::fs::write(&bundle, format!("{}{trust}", ca.pem)).unwrap();
            w.set("SSL_CERT_FILE", &bundle.display().to_string());
            let srv = TlsServer::start(&after, &listable).await;
            w.set("GOPROXY", &srv.origin);
            let (code, f) = w
                .doctor(None, &["--module", "example.com/pub@v1.0.0"])
                .await;
            assert_eq!((code, f.len()), (0, 0), "{row}, fixed: {f:#?}");
            let listed = w.go_cmd(&["list", "-m", "example.com/pub@v1.0.0"]).await;
            assert!(listed.status.success(), "{row}, fixed: {listed:?}");
            w.set("SSL_CERT_FILE", &ca_file.display().to_string());
        }
        // Issue 13: each cause named alone, measured from the chain the proxy presents, in
        // the go command's words, with its fix.
        let private = certs::Ca::named("modgate private CA");
        let inter = ca.intermediate("modgate intermediate CA");
        let aia = crate::doctor_support::serve_bytes(inter.der.clone());
        let mut full = inter.leaf_with_ca_issuers("127.0.0.1", &aia);
        full.chain.push(inter.der.clone());
        // The whole chain sent: healthy.
        let srv = TlsServer::start(&full, PUB_ANSWER).await;
        w.set("GOPROXY", &srv.origin);
        let (code, f) = w
            .doctor(None, &["--module", "example.com/pub@v1.0.0"])
            .await;
        assert_eq!((code, f.len()), (0, 0), "full chain: {f:#?}");
        for (row, leaf, cause, fix) in [
            (
                "openssl req -x509",
                certs::openssl_req_x509(&w.root, "127.0.0.1"),
                "the proxy's certificate is self-signed (CN=127.0.0.1, CA:TRUE, as `openssl req -x509` makes it) and this machine does not trust it: the go command fails with \"x509: certificate signed by unknown authority\"".to_string(),
                "update-ca-certificates (or point SSL_CERT_FILE / SSL_CERT_DIR at a bundle with it)",
            ),
            (
                "private CA",
                private.leaf("127.0.0.1"),
                "the proxy's certificate is issued by CN=modgate private CA, a CA this machine does not trust (the proxy sent 1 certificate(s); if CN=modgate private CA is an intermediate, the proxy does not send it): the go command fails with \"x509: certificate signed by unknown authority\"".to_string(),
                "if the CA is yours, trust it",
            ),
            (
                "missing intermediate",
                inter.leaf_with_ca_issuers("127.0.0.1", &aia),
                format!("the proxy does not send the intermediate certificate CN=modgate intermediate CA (found at {aia}; issued by CN=modgate test CA, which this machine trusts): the go command does not fetch it and fails with \"x509: certificate signed by unknown authority\""),
                "configure 127.0.0.1 to send its full chain",
            ),
        ] {
            let srv = TlsServer::start(&leaf, PUB_ANSWER).await;
            w.set("GOPROXY", &srv.origin);
            let (code, f) = w
                .doctor(None, &["--module", "example.com/pub@v1.0.0"])
                .await;
            assert_eq!((code, f.len()), (1, 1), "{row}: {f:#?}");
            assert_eq!(f[0]["group"], "network", "{row}");
            assert_eq!(f[0]["cause"], cause.as_str(), "{row}");
            let got_fix = f[0]["fix"].as_str().unwrap();
            assert!(got_fix.contains(fix), "{row}: fix {got_fix:?} lacks {fix:?}");
        }
        // The fix of the first two, applied (their CA, or the certificate itself, added to
        // the bundle SSL_CERT_FILE names, as update-ca-certificates would): the go command
        // lists the module through them; the doctor finds nothing wrong (a self-signed
        // certificate with CA:TRUE stays a warning: the go command accepts it, other
        // clients may not).
        let answers = [
            ("/example.com/pub/@v/v1.0.0.mod", PUB_MOD),
            ("/example.com/pub/@v/v1.0.0.info", r#"{"Version":"v1.0.0"}"#),
        ];
        let openssl = certs::openssl_req_x509(&w.root, "127.0.0.1");
        for (row, leaf, trust) in [
            (
                "openssl req -x509, trusted",
                &openssl,
                pem_of(&openssl.cert),
            ),
            (
                "private CA, trusted",
                &private.leaf("127.0.0.1"),
                private.pem.clone(),
            ),
        ] {
            let bundle = w.root.join("bundle.pem");
            std::fs::write(&bundle, format!("{}{trust}", ca.pem)).unwrap();
            w.set("SSL_CERT_FILE", &bundle.display().to_string());
            let srv = TlsServer::start(leaf, &answers).await;
            w.set("GOPROXY", &srv.origin);
            let (code, f) = w
                .doctor(None, &["--module", "example.com/pub@v1.0.0"])
                .await;
            assert_eq!(code, 0, "{row}: {f:#?}");
            assert!(
                f.iter().all(|f| f["severity"] == "warning"),
                "{row}: {f:#?}"
            );
            let listed = w.go_cmd(&["list", "-m", "example.com/pub@v1.0.0"]).await;
            assert!(listed.status.success(), "{row}: {listed:?}");
        }
        w.set("SSL_CERT_FILE", &ca_file.display().to_string());
        // Valid, but not for long.
        let soon = TlsServer::start(&ca.leaf_for_days("127.0.0.1", Some(3)), PUB_ANSWER).await;
        w.set("GOPROXY", &soon.origin);
        let r = w
            .doctor(None, &["--module", "example.com/pub@v1.0.0"])
            .await;
        expect(
            "expiring soon",
            r,
            "network",
            &["the certificate of 127.0.0.1 expires in 3 day(s)"],
            "renew the certificate of 127.0.0.1 now",
        );
        // A proxy over https that wants credentials (issue 25): none in the netrc file,
        // then one for the host without the port (the go command matches host:port and
        // sends nothing), then the line the doctor printed: healthy, and the go command
        // lists the module.
        let answers = [
            ("/example.com/pub/@v/v1.0.0.mod", PUB_MOD),
            ("/example.com/pub/@v/v1.0.0.info", r#"{"Version":"v1.0.0"}"#),
        ];
        let srv =
            TlsServer::start_with_auth(&ca.leaf("127.0.0.1"), &answers, Some(("bob", "t0ken")))
                .await;
        w.set("GOPROXY", &srv.origin);
        let host = srv.origin.trim_start_matches("https://").to_string();
        let netrc = w.home.join(".netrc");
        let args = ["--module", "example.com/pub@v1.0.0"];
        let r = w.doctor(None, &args).await;
        let fix = fix_line(&r.1);
        expect(
            "401, no credentials",
            r,
            "network",
            &[
                "401 Unauthorized",
                &format!("{} has no machine {host}", netrc.display()),
            ],
            &format!(
                "printf 'machine {host} login <user> password <token>\\n' >> {}",
                netrc.display()
            ),
        );
        std::fs::write(&netrc, "machine 127.0.0.1 login bob password t0ken\n").unwrap();
        let r = w.doctor(None, &args).await;
        expect(
            "401, netrc machine without the port",
            r,
            "network",
            &[&format!(
                "has machine 127.0.0.1, but the go command looks for machine {host}"
            )],
            &format!("write machine {host} (not 127.0.0.1)"),
        );
        let listed = w.go_cmd(&["list", "-m", "example.com/pub@v1.0.0"]).await;
        assert!(
            !listed.status.success() && String::from_utf8_lossy(&listed.stderr).contains("401"),
            "the go command with a machine without the port: {listed:?}"
        );
        std::fs::remove_file(&netrc).unwrap();
        // The first fix, with the user and token filled in.
        w.prove_netrc_fix("401", &fix, &args).await;
        // A proxy that answers 403 to a request without credentials (as many do): both
        // candidates named (credentials, or a rule against this machine), the netrc line as
        // the fix; filled in and applied, healthy and the go command lists the module. With
        // credentials it refuses, the cause says they were sent.
        let srv =
            TlsServer::start_forbidding(&ca.leaf("127.0.0.1"), &answers, ("bob", "t0ken")).await;
        w.set("GOPROXY", &srv.origin);
        let host = srv.origin.trim_start_matches("https://").to_string();
        let r = w.doctor(None, &args).await;
        let fix = fix_line(&r.1);
        assert!(
            r.1[0]["cause"].as_str().unwrap().contains(
                "or refuses this machine (a request with credentials tells the two apart)"
            ),
            "{:#?}",
            r.1
        );
        expect(
            "403, no credentials",
            r,
            "network",
            &["403 Forbidden", &format!("has no machine {host}")],
            &format!("printf 'machine {host} login <user> password <token>\\n' >>"),
        );
        std::fs::write(
            &netrc,
            format!("machine {host} login bob password expired\n"),
        )
        .unwrap();
        let r = w.doctor(None, &args).await;
        expect(
            "403, credentials sent",
            r,
            "network",
            &[&format!(
                "gives machine {host} (login bob), and it was sent"
            )],
            &format!("replace the password of machine {host}"),
        );
        std::fs::remove_file(&netrc).unwrap();
        w.prove_netrc_fix("403", &fix, &args).await;
        // Over http the go command sends no credentials: it skips the netrc line (the
        // doctor says so) and refuses credentials written in the URL (the doctor says so
        // before asking). The fix is https, shown above.
        let plain = TlsServer::plain_with_auth(&answers, Some(("bob", "t0ken"))).await;
        let plain_host = plain.origin.trim_start_matches("http://").to_string();
        w.set("GOPROXY", &plain.origin);
        std::fs::write(
            &netrc,
            format!("machine {plain_host} login bob password t0ken\n"),
        )
        .unwrap();
        let r = w.doctor(None, &args).await;
        expect(
            "http 401 with a netrc line",
            r,
            "network",
            &[&format!(
                "has machine {plain_host}, which the go command does not send here"
            )],
            &format!("serve {plain_host} over https"),
        );
        let listed = w.go_cmd(&["list", "-m", "example.com/pub@v1.0.0"]).await;
        assert!(
            String::from_utf8_lossy(&listed.stderr).contains("401"),
            "the go command over http with a netrc line: {listed:?}"
        );
        std::fs::remove_file(&netrc).unwrap();
        w.set("GOPROXY", &format!("http://bob:t0ken@{plain_host}"));
        let r = w.doctor(None, &args).await;
        expect(
            "credentials in an http URL",
            r,
            "network",
            &[&format!("GOPROXY names http://<credentials>@{plain_host}")],
            &format!("serve {plain_host} over https"),
        );
        let listed = w.go_cmd(&["list", "-m", "example.com/pub@v1.0.0"]).await;
        assert!(
            String::from_utf8_lossy(&listed.stderr)
                .contains("refusing to pass credentials to insecure URL"),
            "{listed:?}"
        );

        w.unset("SSL_CERT_FILE");
        w.unset("GONOSUMDB");
    }

    // Refused.
    let port = free_port();
    w.set("GOPROXY", &format!("http://127.0.0.1:{port}"));
    let r = w.doctor(None, &[]).await;
    let fix = fix_line(&r.1);
    expect(
        "refused",
        r,
        "network",
        &[&format!(
            "connection to 127.0.0.1:{port} (127.0.0.1) refused"
        )],
        "check the URL",
    );
    w.prove_env_fix("refused", &fix, &[("<another proxy>", &mirror)])
        .await;

    // A name that does not resolve: inside a namespace whose DNS responder says NXDOMAIN.
    {
        let ns = NetNs::create("dns");
        w.set("GOPROXY", "https://proxy.corp.invalid");
        let r = w
            .doctor(Some(&ns), &["--module", "example.com/pub@v1.0.0"])
            .await;
        let fix = fix_line(&r.1);
        expect(
            "no such name",
            r,
            "network",
            &["proxy.corp.invalid does not resolve"],
            "check the URL",
        );
        assert!(ns.queries() > 0, "the namespace's own responder was asked");
        w.prove_env_fix("no such name", &fix, &[("<another proxy>", &mirror)])
            .await;
    }
    w.set("GOPROXY", &origin);

    // A private module not covered by GOPRIVATE: its name reaches the public proxy.
    w.unset("GOPRIVATE");
    let before = w.proxy.paths().len();
    let r = w.doctor(None, &[]).await;
    let asked: Vec<String> = w.proxy.paths()[before..].to_vec();
    assert!(
        asked.contains(&"/corp.example.com/lib.git/@v/v1.0.0.mod".to_string()),
        "{asked:?}"
    );
    let fix = fix_line(&r.1);
    expect(
        "not in GOPRIVATE",
        r,
        "configuration",
        &[
            "/corp.example.com/lib.git/@v/v1.0.0.mod: 404; corp.example.com/lib.git is not covered by GOPRIVATE",
            &format!(
                "the checksum database does not know it either (GET {origin}/sumdb/sum.test/lookup/corp.example.com/lib.git@v1.0.0: 404"
            ),
        ],
        "go env -w GOPRIVATE=corp.example.com",
    );
    // The fix, applied as `--fix-script` prints it (into the GOENV file): the go command
    // then fetches the module with git and never names it to the proxy.
    let script = w.fix_script().await;
    assert!(script.contains(&format!("\n{fix}\n")), "{script}");
    let go_sum_before = std::fs::read(w.project.join("go.sum")).unwrap();
    let out = w.shell(&script).await;
    assert!(
        out.status.success(),
        "fix {fix:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = w.proxy.paths().len();
    let text = w.go_download("corp.example.com/lib.git@v1.0.0").await;
    assert_eq!(text, "", "after {fix:?}");
    assert!(
        !w.proxy.paths()[before..]
            .iter()
            .any(|p| p.contains("corp.example.com")),
        "after {fix:?}: {:?}",
        &w.proxy.paths()[before..]
    );
    std::fs::write(&w.goenv, "").unwrap();
    // (go mod download wrote the zip's line to go.sum.)
    std::fs::write(w.project.join("go.sum"), go_sum_before).unwrap();

    // A public module the proxy lacks: the database knows it, so it is not named private
    // (GOPRIVATE would send it around the proxy); the fix is a fallback.
    w.set("GOPRIVATE", "corp.example.com");
    w.answer("/example.com/pub/@v/v1.0.0.mod", Reply::status(404));
    let r = w.doctor(None, &[]).await;
    let fixes: Vec<String> =
        r.1.iter()
            .filter_map(|f| f["fix"].as_str().map(String::from))
            .collect();
    assert!(!fixes.iter().any(|f| f.contains("GOPRIVATE")), "{fixes:?}");
    expect(
        "public module the proxy lacks",
        r,
        "configuration",
        &[
            "/example.com/pub/@v/v1.0.0.mod: 404; the checksum database knows example.com/pub@v1.0.0",
            "a public module",
        ],
        &format!("go env -w GOPROXY={origin},direct"),
    );
    w.overrides.lock().unwrap().clear();

    // A proxy URL that serves nothing (a wrong path): one finding for the URL, not one per
    // module, and no GOPRIVATE.
    w.set("GOPROXY", &format!("{origin}/wrong"));
    // No database for these (GOPRIVATE's default for GONOSUMDB is replaced).
    w.set("GONOSUMDB", "example.com,corp.example.com");
    let r = w.doctor(None, &[]).await;
    let fix = fix_line(&r.1);
    expect(
        "URL serves nothing",
        r,
        "configuration",
        &[&format!(
            "GET {origin}/wrong/golang.org/x/mod/@v/list: 404 too; GET {origin}/golang.org/x/mod/@v/list: 200"
        )],
        &format!("go env -w GOPROXY={origin}  ({origin} serves modules)"),
    );
    w.prove_env_fix("URL serves nothing", &fix, &[]).await;
    w.set("GOPROXY", &origin);
    w.unset("GONOSUMDB");
    w.unset("GOPRIVATE");
    // Fetched direct (GONOPROXY) but still looked up in the checksum database.
    w.set("GONOPROXY", "corp.example.com");
    let r = w.doctor(None, &[]).await;
    let fix = fix_line(&r.1);
    expect(
        "GONOSUMDB missing",
        r,
        "configuration",
        &["corp.example.com/lib.git matches GONOPROXY=corp.example.com but not GONOSUMDB"],
        "go env -w GONOSUMDB=corp.example.com",
    );
    // Applied: the go command fetches it and asks no database about it.
    let go_sum_before = std::fs::read(w.project.join("go.sum")).unwrap();
    let out = w.shell(&fix).await;
    assert!(out.status.success(), "fix {fix:?}: {out:?}");
    let text = w.go_download("corp.example.com/lib.git@v1.0.0").await;
    assert_eq!(text, "", "after {fix:?}");
    std::fs::write(&w.goenv, "").unwrap();
    std::fs::write(w.project.join("go.sum"), go_sum_before).unwrap();
    w.unset("GONOPROXY");
    w.set("GOPRIVATE", "corp.example.com");

    // The git server wants credentials and none are configured.
    let creds = w.home.join(".git-credentials");
    std::fs::rename(&creds, w.root.join("creds.away")).unwrap();
    let r = w.doctor(None, &[]).await;
    let git_fix = fix_line(&r.1);
    expect(
        "no credentials",
        r,
        "git",
        &[
            "git ls-remote https://corp.example.com/lib (insteadOf: http://127.0.0.1:",
            "terminal prompts disabled",
        ],
        "machine 127.0.0.1 login <user> password <token>",
    );
    // --explain with the go command's own words for it: the kinds named, the module it
    // names checked, and the git finding confirming the cause.
    let text = "go: corp.example.com/lib.git@v1.0.0: invalid version: git ls-remote -q origin in /x: exit status 128:\n\tfatal: could not read Username for 'https://corp.example.com': terminal prompts disabled";
    let (code, report) = w.report(None, &["--explain", text]).await;
    assert_eq!(code, 1);
    let e = &report["explanation"];
    assert_eq!(
        e["modules"],
        serde_json::json!(["corp.example.com/lib.git@v1.0.0"])
    );
    let kinds: Vec<&str> = e["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["unknown revision", "git wants credentials"]);
    let i = e["kinds"][1]["confirmed_by"][0].as_u64().unwrap() as usize;
    assert_eq!(report["findings"][i]["group"], "git");
    // The printed netrc line, filled in: git then reads the repository.
    let filled = git_fix
        .replace("<user>", "alice")
        .replace("<token>", "s3cret");
    let go_sum_before = std::fs::read(w.project.join("go.sum")).unwrap();
    let out = w.shell(&filled).await;
    assert!(out.status.success(), "fix {filled:?}: {out:?}");
    let text = w.go_download("corp.example.com/lib.git@v1.0.0").await;
    assert_eq!(text, "", "after {filled:?}");
    std::fs::remove_file(w.home.join(".netrc")).unwrap();
    std::fs::write(w.project.join("go.sum"), go_sum_before).unwrap();
    std::fs::rename(w.root.join("creds.away"), &creds).unwrap();

    // A tag v1.0 where v1.0.0 is required.
    let bare = w.root.join("repos/lib");
    git(&bare, &["tag", "v1.0", "v1.0.0"]);
    git(&bare, &["tag", "-d", "v1.0.0"]);
    let r = w.doctor(None, &[]).await;
    expect(
        "near-miss tag",
        r,
        "git",
        &["has no tag v1.0.0 for corp.example.com/lib.git@v1.0.0; it has v1.0"],
        "git tag v1.0.0 v1.0^{commit}",
    );
    // The fix's equivalent in the server's repository (it prints git tag and git push
    // for a clone): the go command then finds the version.
    git(&bare, &["tag", "v1.0.0", "v1.0"]);
    let go_sum_before = std::fs::read(w.project.join("go.sum")).unwrap();
    let text = w.go_download("corp.example.com/lib.git@v1.0.0").await;
    assert_eq!(text, "", "after the tag");
    std::fs::write(w.project.join("go.sum"), go_sum_before).unwrap();

    // A read-only module cache.
    {
        let _ro = Mount::read_only(&w.modcache);
        let r = w.doctor(None, &[]).await;
        let fix = fix_line(&r.1);
        expect(
            "read-only",
            r,
            "cache",
            &["cannot create a file in", "Read-only file system"],
            "go env -w GOMODCACHE=<a directory on a writable disk>",
        );
        // The go command fails there; with the fix (its equivalent: the variable set,
        // which overrides the GOENV file) it downloads.
        let mut c = Command::new(testkit::go_binary());
        c.args(["mod", "download", "corp.example.com/lib.git@v1.0.0"]);
        let go_sum_before = std::fs::read(w.project.join("go.sum")).unwrap();
        let out = w.run(c, false, &[]).await;
        assert!(!out.status.success(), "read-only: {out:?}");
        let writable = w.root.join("writable-modcache");
        w.prove_download_env_fix(
            "read-only",
            &fix,
            &[(
                "<a directory on a writable disk>",
                &writable.display().to_string(),
            )],
            "corp.example.com/lib.git@v1.0.0",
        )
        .await;
        std::fs::write(w.project.join("go.sum"), go_sum_before).unwrap();
        let _ = Command::new("chmod")
            .args(["-R", "u+w"])
            .arg(&writable)
            .status();
    }
    // A full disk under the module cache.
    {
        let full = w.root.join("full");
        let _fs = Mount::tmpfs(&full, "4m");
        std::fs::create_dir_all(full.join("mod")).unwrap();
        let _ = std::fs::write(full.join("filler"), vec![0u8; 8 << 20]);
        w.set("GOMODCACHE", &full.join("mod").display().to_string());
        let r = w
            .doctor(None, &["--module", "corp.example.com/lib.git@v1.0.0"])
            .await;
        // What fills the disk is not the module cache: cleaning it would not help, and
        // the fix shows what does.
        let fix = fix_line(&r.1);
        expect(
            "disk full",
            r,
            "cache",
            &["0 bytes free on the disk of", "the module cache holds "],
            &format!("du -xah --max-depth=2 {} | sort -h | tail", full.display()),
        );
        let out = w.shell(&fix).await;
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("{}/filler", full.display())),
            "{fix}: {out:?}"
        );
        // Freeing what it showed: the go command downloads into that module cache.
        std::fs::remove_file(full.join("filler")).unwrap();
        let mut c = Command::new(testkit::go_binary());
        c.args(["mod", "download", "corp.example.com/lib.git@v1.0.0"]);
        let go_sum_before = std::fs::read(w.project.join("go.sum")).unwrap();
        let out = w.run(c, false, &[]).await;
        std::fs::write(w.project.join("go.sum"), go_sum_before).unwrap();
        assert!(out.status.success(), "after freeing the disk: {out:?}");
        let _ = Command::new("chmod")
            .args(["-R", "u+w"])
            .arg(full.join("mod"))
            .status();
        w.set("GOMODCACHE", &w.modcache.display().to_string());
    }

    // A corrupted cache entry: the zip's content changed under its .ziphash.
    let zip = w
        .modcache
        .join("cache/download/example.com/pub/@v/v1.0.0.zip");
    let good = std::fs::read(&zip).unwrap();
    std::fs::write(&zip, pub_zip("package pub // changed\n")).unwrap();
    let r = w.doctor(None, &[]).await;
    let fix = fix_line(&r.1);
    expect(
        "corrupt zip",
        r,
        "cache",
        &["v1.0.0.zip (hashes to h1:", ", its .ziphash says h1:"],
        "modgate cache repair --gomodcache ",
    );
    // Applied: the entry is fetched again through the proxy, and healthy.
    let out = w.shell(&fix).await;
    assert!(out.status.success(), "fix {fix:?}: {out:?}");
    assert!(std::fs::read(&zip).unwrap() == good, "after {fix:?}");
    let (code, f) = w.doctor(None, &[]).await;
    assert_eq!((code, f.len()), (0, 0), "after {fix:?}: {f:#?}");

    // A lock another process holds (here: this test).
    {
        let lock = std::fs::File::open(
            w.modcache
                .join("cache/download/example.com/pub/@v/v1.0.0.lock"),
        )
        .unwrap();
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).unwrap();
        let r = w.doctor(None, &[]).await;
        let pid = std::process::id();
        expect(
            "held lock",
            r,
            "cache",
            &[&format!("v1.0.0.lock is held by pid {pid}")],
            &format!("kill {pid}"),
        );
    }
    // The fix's equivalent (the holder gone, its lock with it): healthy.
    let (code, f) = w.doctor(None, &[]).await;
    assert_eq!(
        (code, f.len()),
        (0, 0),
        "after the lock's holder went: {f:#?}"
    );

    // A go.sum line that disagrees with the cache.
    let sum = w.project.join("go.sum");
    let good_sum = std::fs::read_to_string(&sum).unwrap();
    let h = gomod::dirhash::hash_go_mod(PUB_MOD.as_bytes());
    std::fs::write(
        &sum,
        good_sum.replace(&h, "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    )
    .unwrap();
    // The database agrees with the cache: go.sum is the one that is wrong, and the fix
    // mends go.sum (fetching the cache entry again would change nothing).
    let r = w.doctor(None, &[]).await;
    let fix = fix_line(&r.1);
    expect(
        "go.sum mismatch",
        r,
        "configuration",
        &[&format!(
            "{}:3 says h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= for the go.mod of example.com/pub@v1.0.0; {origin} serves the go.mod it records, and the checksum database sum.test (its record proven in its tree of 1, read proxied by {origin}) and the module cache say {h}",
            sum.display()
        )],
        "go mod download example.com/pub@v1.0.0",
    );
    let out = w.shell(&fix).await;
    assert!(out.status.success(), "fix {fix:?}: {out:?}");
    assert!(
        std::fs::read_to_string(&sum)
            .unwrap()
            .contains(&format!("example.com/pub v1.0.0/go.mod {h}\n")),
        "fix {fix:?}"
    );
    let (code, f) = w.doctor(None, &[]).await;
    assert_eq!((code, f.len()), (0, 0), "after {fix:?}: {f:#?}");
    std::fs::write(&sum, &good_sum).unwrap();
    // The cache the odd one out (go.sum and the database agree): the cache check names
    // the line, and its repair, applied, mends the cache.
    let cached_mod = w
        .modcache
        .join("cache/download/example.com/pub/@v/v1.0.0.mod");
    std::fs::write(&cached_mod, format!("{PUB_MOD}// changed\n")).unwrap();
    let r = w.doctor(None, &[]).await;
    let fix = fix_line(&r.1);
    expect(
        "cache's go.mod disagrees with go.sum and the database",
        r,
        "cache",
        &[&format!(
            "v1.0.0.mod ({}:3 says {h} for go.mod, the cache has {})",
            sum.display(),
            gomod::dirhash::hash_go_mod(format!("{PUB_MOD}// changed\n").as_bytes())
        )],
        "modgate cache repair --gomodcache ",
    );
    let out = w.shell(&fix).await;
    assert!(out.status.success(), "fix {fix:?}: {out:?}");
    assert_eq!(std::fs::read_to_string(&cached_mod).unwrap(), PUB_MOD);
    let (code, f) = w.doctor(None, &[]).await;
    assert_eq!((code, f.len()), (0, 0), "after {fix:?}: {f:#?}");
    // Without a database for it: the proxy's go.mod and the cache's copy against the line,
    // named with the doubt (two copies, no database), one finding.
    w.set("GONOSUMDB", "example.com,corp.example.com");
    std::fs::write(
        &sum,
        good_sum.replace(&h, "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    )
    .unwrap();
    let r = w.doctor(None, &[]).await;
    assert!(
        r.1[0]["cause"]
            .as_str()
            .unwrap()
            .contains("No checksum database is asked about example.com/pub"),
        "{:#?}",
        r.1
    );
    let fix = fix_line(&r.1);
    expect(
        "go.sum mismatch, no database",
        r,
        "configuration",
        &[&format!(
            "{}:3 says h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= for the go.mod of example.com/pub@v1.0.0; {origin} serves, and the module cache holds, a go.mod that hashes to {h}",
            sum.display()
        )],
        "go mod download example.com/pub@v1.0.0",
    );
    let out = w.shell(&fix).await;
    assert!(out.status.success(), "fix {fix:?}: {out:?}");
    let (code, f) = w.doctor(None, &[]).await;
    assert_eq!((code, f.len()), (0, 0), "after {fix:?}: {f:#?}");
    w.unset("GONOSUMDB");
    std::fs::write(&sum, &good_sum).unwrap();

    // A go.sum line the checksum database contradicts, for a module the cache does not
    // hold: the go command stops with SECURITY ERROR; the doctor names the line, both
    // hashes and where each came from, and its fix works.
    let vdir = w.modcache.join("cache/download/example.com/pub/@v");
    let away = w.root.join("pub-away");
    std::fs::rename(&vdir, &away).unwrap();
    // (and the tree the repair above extracted, if it did)
    let tree = w.modcache.join("example.com/pub@v1.0.0");
    let tree_away = w.root.join("pub-tree-away");
    let had_tree = tree.exists();
    if had_tree {
        std::fs::rename(&tree, &tree_away).unwrap();
    }
    let zip_h1 = good_sum
        .lines()
        .find(|l| l.starts_with("example.com/pub v1.0.0 "))
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .to_string();
    std::fs::write(
        &sum,
        good_sum.replace(&zip_h1, "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    )
    .unwrap();
    let text = w.go_download("example.com/pub@v1.0.0").await;
    assert!(
        text.contains("checksum mismatch") && text.contains("SECURITY ERROR"),
        "{text}"
    );
    // --explain with those words: the go.sum cause, stated by the text, confirmed by the
    // finding.
    let (_, report) = w.report(None, &["--explain", &text]).await;
    let k = &report["explanation"]["kinds"][0];
    assert_eq!(k["name"], "checksum mismatch", "{report:#}");
    assert_eq!(k["stated"], true, "{report:#}");
    let i = k["confirmed_by"][0].as_u64().unwrap() as usize;
    assert!(
        report["findings"][i]["measured"]
            .as_str()
            .unwrap()
            .contains("for the zip of example.com/pub@v1.0.0"),
        "{report:#}"
    );
    let (code, f) = w.doctor(None, &[]).await;
    let fix = fix_line(&f);
    expect(
        "go.sum against the database",
        (code, f),
        "configuration",
        &[&format!(
            "{}:2 says h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= for the zip of example.com/pub@v1.0.0; the checksum database sum.test (its record proven in its tree of 1, read proxied by {origin}) says {zip_h1}",
            sum.display()
        )],
        "go mod download example.com/pub@v1.0.0",
    );
    // The fix, applied as printed: then the go command downloads the module.
    let out = w.shell(&fix).await;
    assert!(
        out.status.success(),
        "fix {fix:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read_to_string(&sum)
            .unwrap()
            .contains(&format!("example.com/pub v1.0.0 {zip_h1}\n")),
        "fix {fix:?} left go.sum without the database's line"
    );
    let text = w.go_download("example.com/pub@v1.0.0").await;
    assert_eq!(text, "", "after the fix");
    std::fs::write(&sum, &good_sum).unwrap();
    std::fs::rename(&away, &vdir).unwrap();
    if had_tree {
        std::fs::rename(&tree_away, &tree).unwrap();
    }

    // A requirement with no go.sum line, and a vendor directory that does not match
    // go.mod: each named, each confirming --explain of the go command's own words, each
    // fix applied.
    let go_mod_before = std::fs::read(w.project.join("go.mod")).unwrap();
    let without: String = good_sum
        .lines()
        .filter(|l| !l.starts_with("example.com/pub "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&sum, &without).unwrap();
    for (row, go_args, go_says, kind) in [
        (
            "missing go.sum entry",
            &["list", "-m", "all"][..],
            "missing go.sum entry",
            "missing go.sum entry",
        ),
        (
            "inconsistent vendoring",
            &["list", "./..."][..],
            "inconsistent vendoring",
            "inconsistent vendoring",
        ),
    ] {
        if row == "inconsistent vendoring" {
            std::fs::write(&sum, &good_sum).unwrap();
            std::fs::create_dir_all(w.project.join("vendor")).unwrap();
            std::fs::write(
                w.project.join("vendor/modules.txt"),
                "# corp.example.com/lib.git v1.0.0\n## explicit\n",
            )
            .unwrap();
        }
        let r = w.doctor(None, &[]).await;
        let fix = fix_line(&r.1);
        expect(
            row,
            r,
            "configuration",
            &["example.com/pub@v1.0.0"],
            &format!("cd {} && go ", w.project.display()),
        );
        let failed = w.go_cmd(go_args).await;
        let text = String::from_utf8_lossy(&failed.stderr).into_owned();
        assert!(
            !failed.status.success() && text.contains(go_says),
            "{row}: {text}"
        );
        let (_, report) = w.report(None, &["--explain", &text]).await;
        let kinds = report["explanation"]["kinds"].as_array().unwrap();
        let k = kinds
            .iter()
            .find(|k| k["name"] == kind)
            .unwrap_or_else(|| panic!("{row}: {kinds:#?}"));
        let i = k["confirmed_by"][0].as_u64().unwrap() as usize;
        assert_eq!(report["findings"][i]["group"], "configuration", "{row}");
        let out = w.shell(&fix).await;
        assert!(out.status.success(), "{row}: fix {fix:?}: {out:?}");
        let after = w.go_cmd(go_args).await;
        assert!(after.status.success(), "{row}: after {fix:?}: {after:?}");
        assert!(
            std::fs::read(w.project.join("go.mod")).unwrap() == go_mod_before,
            "{row}: {fix:?} changed go.mod"
        );
    }
    std::fs::remove_dir_all(w.project.join("vendor")).unwrap();
    std::fs::write(&sum, &good_sum).unwrap();
    // A go line newer than this go, with GOTOOLCHAIN=local: named, confirming --explain of
    // the go command's own words. (Its fixes fetch or install a newer Go: not here.)
    let newer = String::from_utf8(go_mod_before.clone())
        .unwrap()
        .replace("go 1.22", "go 1.99");
    std::fs::write(w.project.join("go.mod"), newer).unwrap();
    let r = w.doctor(None, &[]).await;
    expect(
        "toolchain",
        r,
        "configuration",
        &[
            "go.mod asks for go1.99; this go is go1.23",
            "GOTOOLCHAIN=local",
        ],
        "go env -w GOTOOLCHAIN=auto",
    );
    let failed = w.go_cmd(&["list", "-m"]).await;
    let text = String::from_utf8_lossy(&failed.stderr).into_owned();
    assert!(text.contains("requires go >= 1.99"), "{text}");
    let (_, report) = w.report(None, &["--explain", &text]).await;
    let kinds = report["explanation"]["kinds"].as_array().unwrap();
    let k = kinds
        .iter()
        .find(|k| k["name"] == "toolchain")
        .unwrap_or_else(|| panic!("toolchain: {kinds:#?}"));
    let i = k["confirmed_by"][0].as_u64().unwrap() as usize;
    assert_eq!(report["findings"][i]["group"], "configuration");
    std::fs::write(w.project.join("go.mod"), &go_mod_before).unwrap();

    // A proxy that serves other go.mod bytes than the database (and go.sum) recorded: the
    // go command refuses them.
    let tampered = format!("{PUB_MOD}// tampered\n");
    w.answer(
        "/example.com/pub/@v/v1.0.0.mod",
        Reply::ok(tampered.clone()),
    );
    let text = w.go_download("example.com/pub@v1.0.0").await;
    assert!(text.contains("checksum mismatch"), "{text}");
    let r = w.doctor(None, &[]).await;
    let fix = fix_line(&r.1);
    expect(
        "tampered go.mod",
        r,
        "network",
        &[&format!(
            "{origin} serves a go.mod of example.com/pub@v1.0.0 that hashes to {}; the checksum database sum.test and {}:3 say {}",
            gomod::dirhash::hash_go_mod(tampered.as_bytes()),
            w.project.join("go.sum").display(),
            gomod::dirhash::hash_go_mod(PUB_MOD.as_bytes())
        )],
        "tell the operators of",
    );
    w.prove_env_fix("tampered go.mod", &fix, &[("<another proxy>", &mirror)])
        .await;
    w.overrides.lock().unwrap().clear();

    // A go.mod that declares another module path (the module moved): the fix, applied,
    // requires the declared path, and the go command lists it.
    let r = w
        .doctor(None, &["--module", "example.com/moved@v1.0.0"])
        .await;
    let fix = fix_line(&r.1);
    expect(
        "declared path",
        r,
        "configuration",
        &[
            "the go.mod of example.com/moved@v1.0.0 (",
            "declares module example.com/other",
        ],
        "go get example.com/other@v1.0.0",
    );
    let (go_mod_before, go_sum_before) = (
        std::fs::read(w.project.join("go.mod")).unwrap(),
        std::fs::read(w.project.join("go.sum")).unwrap(),
    );
    let out = w.shell(&fix).await;
    assert!(out.status.success(), "fix {fix:?}: {out:?}");
    let listed = w.go_cmd(&["list", "-m", "example.com/other"]).await;
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        "example.com/other v1.0.0\n",
        "after {fix:?}: {listed:?}"
    );
    std::fs::write(w.project.join("go.mod"), go_mod_before).unwrap();
    std::fs::write(w.project.join("go.sum"), go_sum_before).unwrap();

    // A checksum database whose log forked from the tree the go command trusts (its
    // $GOPATH/pkg/sumdb/sum.test/latest, and the tiles it keeps in the module cache, from
    // a download in the World's module cache): the proxy serves a log with the same key but
    // another history. The go command stops with SECURITY ERROR for a module it has to look
    // up; the doctor, reading the same trusted head and tiles, names the fork. The fix's
    // equivalent (the database read another way: here, the real one again): healthy, and
    // the go command downloads it.
    let go_sum_before = std::fs::read(w.project.join("go.sum")).unwrap();
    let mut c = Command::new(testkit::go_binary());
    c.args(["mod", "download", "example.com/other@v1.0.0"]);
    let out = w.run(c, false, &[]).await;
    assert!(out.status.success(), "{out:?}");
    let trusted = w.root.join("gopath/pkg/sumdb/sum.test/latest");
    let trusted_size = String::from_utf8(std::fs::read(&trusted).unwrap())
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let (signer, _) = Signer::from_seed("sum.test", [7; 32]).unwrap();
    let other_zip = zip_of("example.com/other", OTHER_MOD, "a.go", "package other\n");
    let (pub_h1, other_h1) = (
        gomod::dirhash::hash_zip(std::io::Cursor::new(pub_zip("package pub\n"))).unwrap(),
        gomod::dirhash::hash_zip(std::io::Cursor::new(&other_zip)).unwrap(),
    );
    let forked = TestServer::new(
        signer,
        Box::new(move |p, v| {
            let (h, m) = match p {
                "example.com/pub" => (pub_h1.clone(), PUB_MOD),
                "example.com/other" | "example.com/moved" => (other_h1.clone(), OTHER_MOD),
                p if p.starts_with("example.com/filler") => (pub_h1.clone(), PUB_MOD),
                _ => return None,
            };
            Some(format!(
                "{p} {v} {h}\n{p} {v}/go.mod {}\n",
                gomod::dirhash::hash_go_mod(m.as_bytes())
            ))
        }),
    );
    for i in 0..8 {
        forked
            .lookup(&format!("example.com/filler{i}"), "v1.0.0")
            .unwrap();
    }
    forked.lookup("example.com/pub", "v1.0.0").unwrap();
    *w.fork.lock().unwrap() = Some(Arc::new(forked));
    let mut c = Command::new(testkit::go_binary());
    c.args(["mod", "download", "example.com/moved@v1.0.0"]);
    let out = w.run(c, false, &[]).await;
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        text.contains("SECURITY ERROR") && text.contains("misbehavior detected"),
        "{text}"
    );
    let r = w.doctor(None, &[]).await;
    expect(
        "forked database",
        r,
        "network",
        &[&format!(
            "sum.test (proxied by {origin}) misbehaves, checking the tree head it serves now: its tree of 10 does not contain the tree of {trusted_size} the go command trusts ({})",
            trusted.display()
        )],
        &format!("check what answers at {origin}/sumdb/sum.test"),
    );
    let (_, report) = w.report(None, &["--explain", &text]).await;
    let kinds = report["explanation"]["kinds"].as_array().unwrap();
    assert_eq!(kinds.len(), 1, "{kinds:#?}");
    assert_eq!(kinds[0]["name"], "checksum database misbehaves");
    let i = kinds[0]["confirmed_by"][0].as_u64().unwrap() as usize;
    assert_eq!(report["findings"][i]["group"], "network");
    // Without the tiles kept (a fresh module cache) the go command finds the same fork as
    // tiles that do not hash to the tree it trusts.
    let text = w.go_download("example.com/moved@v1.0.0").await;
    assert!(text.contains("downloaded inconsistent tile"), "{text}");
    let (_, report) = w.report(None, &["--explain", &text]).await;
    assert_eq!(
        report["explanation"]["kinds"][0]["name"],
        "checksum database misbehaves"
    );
    *w.fork.lock().unwrap() = None;
    let text = w.go_download("example.com/moved@v1.0.0").await;
    assert_eq!(text, "", "the real database again");
    std::fs::write(w.project.join("go.sum"), &go_sum_before).unwrap();
    let (code, f) = w.doctor(None, &[]).await;
    assert_eq!((code, f.len()), (0, 0), "the real database again: {f:#?}");

    // A public module the proxy lacks, whose fix (a `direct` fallback) the test can apply:
    // the database records corp.example.com/lib.git, GOPRIVATE is unset, and the proxy
    // has no such module. Not named private; the fallback applied, the go command fetches
    // it with git and the database proves it.
    w.lib_public.store(true, Ordering::SeqCst);
    w.unset("GOPRIVATE");
    let r = w.doctor(None, &[]).await;
    let fixes: Vec<String> =
        r.1.iter()
            .filter_map(|f| f["fix"].as_str().map(String::from))
            .collect();
    assert!(!fixes.iter().any(|f| f.contains("GOPRIVATE")), "{fixes:?}");
    let fix = fix_line(&r.1);
    expect(
        "public module the proxy lacks, fix applied",
        r,
        "configuration",
        &["the checksum database knows corp.example.com/lib.git@v1.0.0"],
        &format!("go env -w GOPROXY={origin},direct"),
    );
    w.prove_download_env_fix(
        "public module the proxy lacks",
        &fix,
        &[],
        "corp.example.com/lib.git@v1.0.0",
    )
    .await;
    w.lib_public.store(false, Ordering::SeqCst);
    w.set("GOPRIVATE", "corp.example.com");

    // And healthy again.
    let (code, f) = w.doctor(None, &[]).await;
    assert_eq!((code, f.len()), (0, 0), "healthy again: {f:#?}");
}
