//! Helpers for the `modgate serve` tests: upstream GOPROXY trees built with gomod, the real
//! `modgate serve` binary on a free loopback port, the real go command, and a raw HTTP
//! client for requests that reqwest would normalize.

#![allow(dead_code)]

pub mod counting;
pub mod upstream;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use gomod::module;
use gomod::zip::DataFile;

pub use testkit::{go_binary, run_bounded};

/// A go command environment of its own: temp GOMODCACHE, GOPATH, GOCACHE; no network.
pub struct GoEnv {
    pub dir: tempfile::TempDir,
    /// More environment for the go command (GIT_CONFIG_GLOBAL, ...).
    pub extra: Vec<(String, String)>,
}

impl GoEnv {
    pub fn new() -> GoEnv {
        GoEnv {
            dir: tempfile::tempdir().unwrap(),
            extra: Vec::new(),
        }
    }

    pub fn with_env(pairs: &[(&str, &str)]) -> GoEnv {
        let mut g = GoEnv::new();
        g.extra = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        g
    }

    pub fn modcache(&self) -> PathBuf {
        self.dir.path().join("modcache")
    }

    /// `program` (the go command, or a program that runs it) in `cwd` with this
    /// environment and `GOPROXY=proxy`, nothing else of the test's environment.
    pub fn command(&self, program: &Path, cwd: &Path, proxy: &str) -> Command {
        let d = self.dir.path();
        let mut c = Command::new(program);
        c.current_dir(cwd)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", d)
            .env("GOPROXY", proxy)
            .env("GOSUMDB", "off")
            .env("GONOSUMDB", "")
            .env("GOPRIVATE", "")
            .env("GOFLAGS", "-modcacherw")
            .env("GOTOOLCHAIN", "local")
            .env("GO111MODULE", "on")
            .env("GOENV", "off")
            .env("GOMODCACHE", self.modcache())
            .env("GOPATH", d.join("gopath"))
            .env("GOCACHE", d.join("gocache"))
            .env("CGO_ENABLED", "0")
            .envs(self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    /// `go ARGS` in `cwd` with `GOPROXY=proxy`.
    pub fn go(&self, cwd: &Path, proxy: &str, args: &[&str]) -> Output {
        run_bounded(
            self.command(&go_binary(), cwd, proxy).args(args),
            Duration::from_secs(300),
        )
    }

    /// `go mod download -json MODS...` outside any module: each module's JSON object.
    pub fn download(&self, proxy: &str, mods: &[&str]) -> Vec<serde_json::Value> {
        let cwd = self.dir.path().join("work");
        std::fs::create_dir_all(&cwd).unwrap();
        let mut args = vec!["mod", "download", "-json"];
        args.extend_from_slice(mods);
        let out = self.go(&cwd, proxy, &args);
        assert!(
            out.status.success(),
            "go mod download via {proxy} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::Deserializer::from_slice(&out.stdout)
            .into_iter::<serde_json::Value>()
            .map(|v| v.unwrap())
            .collect()
    }
}

/// Writes a git config at `config` that sends `https://github.com/...` to the local
/// repositories under `repos` (as a user's `url.<base>.insteadOf` would), allows the file
/// protocol and names the default branch `master`.
pub fn github_to_local(config: &Path, repos: &Path) {
    std::fs::write(
        config,
        format!(
            "[url \"file://{}/\"]\n\tinsteadOf = https://github.com/\n[init]\n\tdefaultBranch = master\n[protocol \"file\"]\n\tallow = always\n",
            repos.display()
        ),
    )
    .unwrap();
}

/// An empty git repository for `https://github.com/NAME` (a new repository under
/// `dir/repos/NAME`, reached through the git config written at `dir/gitconfig` by
/// [`github_to_local`]): the repository and the config.
pub fn local_github_repo(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let repos = dir.join("repos");
    let repo = repos.join(name);
    std::fs::create_dir_all(&repo).unwrap();
    let config = dir.join("gitconfig");
    github_to_local(&config, &repos);
    testkit::git_with(
        &repo,
        &["init", "-q"],
        Some(&config),
        "2024-01-02T03:04:05Z",
    );
    (repo, config)
}

/// What `go mod download -json MODS` through `proxy` gives, in a fresh module cache, as
/// [`summary`]s.
pub fn downloaded(proxy: &str, mods: &[&str]) -> Vec<(String, String, String, String)> {
    GoEnv::new()
        .download(proxy, mods)
        .iter()
        .map(summary)
        .collect()
}

/// The fields of a `go mod download -json` object that do not depend on the cache dir.
pub fn summary(v: &serde_json::Value) -> (String, String, String, String) {
    let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
    (s("Path"), s("Version"), s("Sum"), s("GoModSum"))
}

/// A GOPROXY tree on disk, written with gomod.
pub struct Tree {
    pub root: PathBuf,
}

/// One module version of a [`Tree`].
pub struct Sums {
    pub zip_h1: String,
    pub mod_h1: String,
    pub zip: Vec<u8>,
}

impl Tree {
    pub fn new(root: PathBuf) -> Tree {
        std::fs::create_dir_all(&root).unwrap();
        Tree { root }
    }

    pub fn url(&self) -> String {
        format!("file://{}", self.root.display())
    }

    pub fn vdir(&self, module: &str) -> PathBuf {
        self.root
            .join(module::escape_path(module).unwrap())
            .join("@v")
    }

    pub fn vfile(&self, module: &str, version: &str, ext: &str) -> PathBuf {
        self.vdir(module).join(format!(
            "{}.{ext}",
            module::escape_version(version).unwrap()
        ))
    }

    /// Adds `module@version` with `files` (a `go.mod` among them, or one is made), with
    /// the given commit time, and appends it to `@v/list`.
    pub fn add(&self, module: &str, version: &str, time: &str, files: &[(&str, &str)]) -> Sums {
        let mut files: Vec<DataFile> = files
            .iter()
            .map(|(p, d)| DataFile {
                path: p.to_string(),
                data: d.as_bytes().to_vec(),
            })
            .collect();
        if !files.iter().any(|f| f.path == "go.mod") {
            files.push(DataFile {
                path: "go.mod".into(),
                data: format!("module {module}\n\ngo 1.21\n").into_bytes(),
            });
        }
        let go_mod = files
            .iter()
            .find(|f| f.path == "go.mod")
            .unwrap()
            .data
            .clone();
        let mut zip = std::io::Cursor::new(Vec::new());
        gomod::zip::create(&mut zip, &module::Version::new(module, version), &files).unwrap();
        let zip = zip.into_inner();
        std::fs::create_dir_all(self.vdir(module)).unwrap();
        std::fs::write(self.vfile(module, version, "zip"), &zip).unwrap();
        std::fs::write(self.vfile(module, version, "mod"), &go_mod).unwrap();
        std::fs::write(
            self.vfile(module, version, "info"),
            format!("{{\"Version\":\"{version}\",\"Time\":\"{time}\"}}"),
        )
        .unwrap();
        let list = self.vdir(module).join("list");
        let mut l = std::fs::read_to_string(&list).unwrap_or_default();
        l.push_str(version);
        l.push('\n');
        std::fs::write(&list, l).unwrap();
        Sums {
            zip_h1: gomod::dirhash::hash_zip(std::io::Cursor::new(&zip)).unwrap(),
            mod_h1: gomod::dirhash::hash_go_mod(&go_mod),
            zip,
        }
    }
}

pub use testkit::free_port;

/// A running `modgate serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub log: PathBuf,
    _logdir: tempfile::TempDir,
}

impl Server {
    /// Starts `modgate serve ARGS --listen 127.0.0.1:<free port>` (and `--sumdb off` unless
    /// ARGS name one) and waits for /healthz.
    pub fn start(args: &[&str]) -> Server {
        Self::start_env(args, &[])
    }

    /// `modgate serve --data-dir DATA --upstream UPSTREAM`.
    pub fn over(data: &Path, upstream: &str) -> Server {
        Self::start(&["--data-dir", data.to_str().unwrap(), "--upstream", upstream])
    }

    pub fn start_env(args: &[&str], env: &[(&str, &str)]) -> Server {
        Self::start_ready(
            args,
            env,
            &|s| matches!(raw_get(&s.addr, "GET", "/healthz"), Ok(r) if r.status == 200),
        )
    }

    /// Starts `modgate serve ARGS` as [`Server::start_env`] does, and waits until
    /// `ready(&server)` (an HTTPS server: no plain /healthz).
    pub fn start_ready(
        args: &[&str],
        env: &[(&str, &str)],
        ready: &dyn Fn(&Server) -> bool,
    ) -> Server {
        let logdir = tempfile::tempdir().unwrap();
        let log = logdir.path().join("serve.log");
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_modgate"));
        cmd.arg("serve").args(args).arg("--listen").arg(&addr);
        // The tests' modules are in no public checksum database, and sum.golang.org is out
        // of reach: the checksum database is off unless a test names one.
        if !args.contains(&"--sumdb") {
            cmd.args(["--sumdb", "off"]);
        }
        cmd.env_remove("MODGATE_LISTEN")
            .env_remove("MODGATE_SUMDB")
            .env_remove("MODGATE_NOSUMDB")
            .env_remove("MODGATE_DATA_DIR")
            .env_remove("MODGATE_UPSTREAM")
            .env_remove("MODGATE_PRIVATE")
            .env_remove("MODGATE_CONFIG")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start modgate serve");
        let mut s = Server {
            child,
            addr,
            log,
            _logdir: logdir,
        };
        let start = Instant::now();
        loop {
            if ready(&s) {
                break;
            }
            if let Ok(Some(st)) = s.child.try_wait() {
                panic!("modgate serve exited with {st}:\n{}", s.log_text());
            }
            if start.elapsed() > Duration::from_secs(30) {
                panic!(
                    "modgate serve was not ready (/healthz) within 30s:\n{}",
                    s.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }

    /// Starts `modgate serve --config DIR/modgate.toml --data-dir DIR/d --upstream
    /// UPSTREAM` with `settings` as that file.
    pub fn with_config(dir: &Path, settings: &str, upstream: &str) -> Server {
        let config = dir.join("modgate.toml");
        std::fs::write(&config, settings).unwrap();
        Self::start(&[
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            dir.join("d").to_str().unwrap(),
            "--upstream",
            upstream,
        ])
    }

    /// Starts `modgate serve ARGS --tls-cert --tls-key` with `pki`'s files and waits
    /// for its start-up line (there is no plain /healthz to ask).
    pub fn start_https(args: &[&str], pki: &Pki) -> Server {
        let mut all: Vec<&str> = args.to_vec();
        all.extend([
            "--tls-cert",
            pki.cert.to_str().unwrap(),
            "--tls-key",
            pki.key.to_str().unwrap(),
        ]);
        Self::start_ready(&all, &[], &|s| {
            s.log_text()
                .contains(&format!("modgate serve listening on https://{} (", s.addr))
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log once it contains `needle` (lines are written by a background thread, a
    /// moment after the request that logged them was answered); at most 10 s.
    pub fn log_with(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let log = self.log_text();
            if log.contains(needle) || start.elapsed() > Duration::from_secs(10) {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw HTTP/1.1 answer.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `METHOD PATH HTTP/1.1` exactly as given (no normalization) and reads the answer.
pub fn raw_get(addr: &str, method: &str, path: &str) -> std::io::Result<Raw> {
    raw_request(
        addr,
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

/// Sends `request` bytes as they are and reads the answer until the server closes.
pub fn raw_request(addr: &str, request: &[u8]) -> std::io::Result<Raw> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.write_all(request)?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = buf[end + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Ok(Raw {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(i) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..i]).trim(), 16).unwrap_or(0);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + n]);
        b = &b[i + 2 + n + 2..];
    }
}

/// Every file under `dir` (relative paths, sorted).
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(base, &p, out);
                } else {
                    out.push(p.strip_prefix(base).unwrap().display().to_string());
                }
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A CA and a server certificate for 127.0.0.1 signed by it, written as PEM files.
pub struct Pki {
    pub ca_pem: PathBuf,
    pub ca_der: Vec<u8>,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn pki(dir: &Path) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(DnType::CommonName, "modgate test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = p.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(p, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    Pki {
        ca_pem: write("ca.pem", &ca.pem()),
        ca_der: ca.der().to_vec(),
        cert: write("cert.pem", &leaf.pem()),
        key: write("key.pem", &key.serialize_pem()),
    }
}

/// The value of the metric `line` (a name with its labels, as `/metrics` writes it).
pub fn metric(s: &Server, line: &str) -> u64 {
    let m = raw_get(&s.addr, "GET", "/metrics").unwrap().text();
    m.lines()
        .find_map(|l| l.strip_prefix(line)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{line} not in:\n{m}"))
}

/// A multi-threaded runtime (4 workers) for tests that drive in-process servers.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// An HTTP client whose requests give up after 30 s.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A replica of `modgate serve`: data dir `dir`, storage `s3://modules/shared`, Redis at
/// `redis`, `upstream`, with `env` (the S3 settings).
pub fn start_replica(dir: &Path, upstream: &str, redis: &str, env: &[(&str, &str)]) -> Server {
    Server::start_env(
        &[
            "--data-dir",
            dir.to_str().unwrap(),
            "--storage",
            "s3://modules/shared",
            "--redis",
            redis,
            "--upstream",
            upstream,
        ],
        env,
    )
}

/// Runs headless Chromium (`MODGATE_CHROMIUM`, else `chromium` on PATH) on the page at
/// `url` with `args`, in a profile of its own; its standard output.
pub fn chromium(args: &[&str], url: &str) -> Vec<u8> {
    let bin = std::env::var("MODGATE_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let profile = tempfile::tempdir().unwrap();
    let out = run_bounded(
        Command::new(&bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(url),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "{bin}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The files left in a staging area `dir`, once the writes a server makes in the
/// background (the records of fetches) are done: at most 5 s.
pub fn staged_after_writes(dir: &Path) -> Vec<String> {
    let start = Instant::now();
    loop {
        let left = files_under(dir);
        if left.is_empty() || start.elapsed() > Duration::from_secs(5) {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pixel rows of a PNG file, each pixel's red, green and blue.
pub fn png_rows(png_file: &Path) -> Vec<Vec<[u8; 3]>> {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_file).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    (0..info.height as usize)
        .map(|y| {
            buf[y * info.line_size..(y + 1) * info.line_size]
                .chunks(channels)
                .map(|p| [p[0], p[1], p[2]])
                .collect()
        })
        .collect()
}

/// The pixels of a PNG file whose color is exactly `rgb`.
pub fn pixels_of(png_file: &Path, rgb: [u8; 3]) -> usize {
    png_rows(png_file)
        .iter()
        .map(|row| row.iter().filter(|p| **p == rgb).count())
        .sum()
}

/// (kind, module) of each finding of `cache verify --json` (its `findings`).
pub fn kinds(findings: &serde_json::Value) -> std::collections::BTreeSet<(String, String)> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["module"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}
