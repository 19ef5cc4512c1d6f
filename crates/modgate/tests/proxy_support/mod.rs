//! Test support for the upstream proxy and chain tests: the go distribution's own test
//! proxy (cmd/go/proxy_test.go, built once and cached), a fault-injecting HTTP server on
//! loopback, a recording `Source` for `direct`, and module zips.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use modgate::error::Error;
use modgate::source::{Info, Source};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------------------
// The go command and its test proxy.

/// The go binary: `$MODGATE_GO`, default /usr/lib/go-1.23/bin/go.
pub fn go_bin() -> PathBuf {
    testkit::go_binary()
}

/// A go command that never touches the network or the user's caches.
pub fn go_command(home: &Path) -> Command {
    let mut cmd = Command::new(go_bin());
    cmd.env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-modcacherw")
        .env("GOPROXY", "off")
        .env("GOSUMDB", "off")
        .env("GONOSUMDB", "")
        .env("GOPRIVATE", "")
        .env("GONOPROXY", "")
        .env("GOPATH", home.join("gopath"))
        .env("GOMODCACHE", home.join("modcache"))
        .env("GOCACHE", home.join("gocache"))
        .env("HOME", home)
        .env_remove("GOROOT");
    cmd
}

fn go_env(var: &str) -> String {
    let out = Command::new(go_bin())
        .env("GOTOOLCHAIN", "local")
        .args(["env", var])
        .output()
        .expect("run go env");
    assert!(
        out.status.success(),
        "go env {var} failed: run scripts/install-deps"
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The go distribution's test proxy binary (`go test -c cmd/go`), built once per go
/// version and cached under the cargo target directory.
pub fn gotestproxy_bin() -> PathBuf {
    static BIN: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut guard = BIN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(b) = guard.as_ref() {
        return b.clone();
    }
    let version = go_env("GOVERSION");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("gotestproxy-{version}"));
    let bin = dir.join("gotestproxy");
    std::fs::create_dir_all(&dir).expect("create gotestproxy cache dir");
    let lock = dir.join("build.lock");
    let start = Instant::now();
    loop {
        if bin.is_file() {
            break;
        }
        match std::fs::create_dir(&lock) {
            Ok(()) => {
                let result = build_gotestproxy(&dir, &bin);
                let _ = std::fs::remove_dir(&lock);
                result.unwrap_or_else(|e| panic!("{e}"));
                break;
            }
            Err(_) => {
                // Another test process is building; a lock older than 15 minutes is stale.
                let stale = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .map(|t| t.elapsed().unwrap_or_default() > Duration::from_secs(900))
                    .unwrap_or(false);
                if stale {
                    let _ = std::fs::remove_dir(&lock);
                }
                assert!(
                    start.elapsed() < Duration::from_secs(1200),
                    "timed out waiting for another process to build {}",
                    bin.display()
                );
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
    *guard = Some(bin.clone());
    bin
}

fn build_gotestproxy(dir: &Path, bin: &Path) -> Result<(), String> {
    let goroot = PathBuf::from(go_env("GOROOT"));
    let tmp = dir.join(format!("gotestproxy.tmp{}", std::process::id()));
    let started = Instant::now();
    let mut child = Command::new(go_bin())
        .current_dir(goroot.join("src/cmd/go"))
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "")
        .env("GOPROXY", "off")
        .env("GOCACHE", dir.join("gocache"))
        .env("GOPATH", dir.join("gopath"))
        .args(["test", "-c", "-o"])
        .arg(&tmp)
        .arg("cmd/go")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run go: {e}; run scripts/install-deps"))?;
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if started.elapsed() > Duration::from_secs(900) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("go test -c cmd/go took over 15 minutes".to_string());
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    if !status.success() {
        return Err(format!("go test -c cmd/go failed: {err}"));
    }
    std::fs::rename(&tmp, bin).map_err(|e| e.to_string())?;
    // The binary is the cache; the build cache is not needed again.
    let _ = std::fs::remove_dir_all(dir.join("gocache"));
    eprintln!(
        "built {} in {:.1}s",
        bin.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A running go test proxy on 127.0.0.1; killed on drop.
pub struct GoTestProxy {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub origin: String,
}

impl GoTestProxy {
    pub fn start() -> GoTestProxy {
        let bin = gotestproxy_bin();
        let goroot = PathBuf::from(go_env("GOROOT"));
        let mut child = Command::new(bin)
            .current_dir(goroot.join("src/cmd/go"))
            .args(["-proxy", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gotestproxy");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut first = true;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if first {
                    let _ = tx.send(line);
                    first = false;
                }
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("gotestproxy did not start within 60 s");
        let url = line
            .strip_prefix("go test proxy running at GOPROXY=")
            .unwrap_or_else(|| panic!("unexpected gotestproxy output: {line}"));
        let origin = url.strip_suffix("/mod").expect("/mod suffix").to_string();
        GoTestProxy { child, origin }
    }

    /// The GOPROXY URL: `http://127.0.0.1:PORT/mod`.
    pub fn url(&self) -> String {
        format!("{}/mod", self.origin)
    }
}

impl Drop for GoTestProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The files of a txtar archive in the go source's cmd/go/testdata/mod.
pub fn corpus_file(archive: &str, name: &str) -> Vec<u8> {
    let goroot = PathBuf::from(go_env("GOROOT"));
    let text = std::fs::read_to_string(goroot.join("src/cmd/go/testdata/mod").join(archive))
        .expect("read corpus archive");
    let marker = format!("-- {name} --\n");
    let start = text.find(&marker).expect("file in archive") + marker.len();
    let rest = &text[start..];
    let end = rest.find("\n-- ").map_or(rest.len(), |i| i + 1);
    rest.as_bytes()[..end].to_vec()
}

// ---------------------------------------------------------------------------------------
// A fault-injecting HTTP server.

/// What the fault server does with a request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A complete answer.
    Status {
        status: u16,
        content_type: Option<&'static str>,
        body: Vec<u8>,
    },
    /// Accept the connection, read the request, never answer.
    Hang,
    /// Send the headers announcing `announced` bytes, then `sent`, then stall.
    HangMidBody { announced: u64, sent: Vec<u8> },
    /// Announce `announced` bytes, send `sent`, close the connection.
    ShortBody { announced: u64, sent: Vec<u8> },
    /// A chunked body of `count` copies of `chunk` (no Content-Length).
    Chunked { chunk: Vec<u8>, count: usize },
    /// A Content-Length header of `announced` bytes and whatever the client reads until
    /// it gives up (zeros).
    Huge { announced: u64 },
    /// A redirect to `location`.
    Redirect { status: u16, location: String },
    /// A body of `count` bytes sent one every `interval` (Content-Length announced).
    Trickle { interval: Duration, count: usize },
    /// Wait, then reply.
    Delay(Duration, Box<Reply>),
    /// These bytes as the whole answer (status line, headers and body), then close.
    Raw(Vec<u8>),
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply::Status {
            status: 200,
            content_type: None,
            body: body.into(),
        }
    }

    pub fn status(status: u16) -> Reply {
        Reply::Status {
            status,
            content_type: None,
            body: Vec::new(),
        }
    }

    pub fn text(status: u16, body: &str) -> Reply {
        Reply::Status {
            status,
            content_type: Some("text/plain; charset=utf-8"),
            body: body.as_bytes().to_vec(),
        }
    }
}

/// A request the fault server saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Route = dyn Fn(&str) -> Reply + Send + Sync;

/// An HTTP/1.1 server on 127.0.0.1 answering each request path by a routing function and
/// recording what it was asked. Stops when dropped.
pub struct FaultServer {
    pub origin: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    load: Arc<Mutex<(usize, usize)>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultServer {
    pub async fn start(route: impl Fn(&str) -> Reply + Send + Sync + 'static) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let origin = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let route: Arc<Route> = Arc::new(route);
        let load = Arc::new(Mutex::new((0, 0)));
        let (seen2, load2) = (seen.clone(), load.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    return;
                };
                let route = route.clone();
                let seen = seen2.clone();
                let load = load2.clone();
                tokio::spawn(async move {
                    let _ = serve_conn(conn, route, seen, load).await;
                });
            }
        });
        FaultServer {
            origin,
            seen,
            load,
            task,
        }
    }

    /// The most requests that were being answered at once.
    pub fn max_in_flight(&self) -> usize {
        self.load.lock().unwrap_or_else(|e| e.into_inner()).1
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Every request path so far.
    pub fn paths(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.path).collect()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct InFlight(Arc<Mutex<(usize, usize)>>);

impl InFlight {
    fn new(load: Arc<Mutex<(usize, usize)>>) -> InFlight {
        {
            let mut l = load.lock().unwrap_or_else(|e| e.into_inner());
            l.0 += 1;
            l.1 = l.1.max(l.0);
        }
        InFlight(load)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).0 -= 1;
    }
}

async fn serve_conn(
    mut conn: TcpStream,
    route: Arc<Route>,
    seen: Arc<Mutex<Vec<Seen>>>,
    load: Arc<Mutex<(usize, usize)>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        let n = conn.read(&mut tmp).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 << 10 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let path = request_line.split(' ').nth(1).unwrap_or("").to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    seen.lock().unwrap_or_else(|e| e.into_inner()).push(Seen {
        path: path.clone(),
        headers,
    });
    let _in_flight = InFlight::new(load);
    let mut reply = route(&path);
    while let Reply::Delay(d, r) = reply {
        tokio::time::sleep(d).await;
        reply = *r;
    }
    match reply {
        Reply::Delay(..) => {}
        Reply::Raw(bytes) => {
            conn.write_all(&bytes).await?;
        }
        Reply::Status {
            status,
            content_type,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                reason(status),
                body.len()
            );
            if let Some(ct) = content_type {
                head.push_str(&format!("Content-Type: {ct}\r\n"));
            }
            head.push_str("\r\n");
            conn.write_all(head.as_bytes()).await?;
            conn.write_all(&body).await?;
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(300)).await;
        }
        Reply::HangMidBody { announced, sent } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n"
            );
            conn.write_all(head.as_bytes()).await?;
            conn.write_all(&sent).await?;
            conn.flush().await?;
            tokio::time::sleep(Duration::from_secs(300)).await;
        }
        Reply::ShortBody { announced, sent } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n"
            );
            conn.write_all(head.as_bytes()).await?;
            conn.write_all(&sent).await?;
        }
        Reply::Chunked { chunk, count } => {
            conn.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            )
            .await?;
            let size = format!("{:x}\r\n", chunk.len());
            for _ in 0..count {
                conn.write_all(size.as_bytes()).await?;
                conn.write_all(&chunk).await?;
                conn.write_all(b"\r\n").await?;
            }
            conn.write_all(b"0\r\n\r\n").await?;
        }
        Reply::Huge { announced } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n"
            );
            conn.write_all(head.as_bytes()).await?;
            let zeros = vec![0u8; 64 << 10];
            let mut left = announced;
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                conn.write_all(&zeros[..n]).await?;
                left -= n as u64;
            }
        }
        Reply::Trickle { interval, count } => {
            let head =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {count}\r\nConnection: close\r\n\r\n");
            conn.write_all(head.as_bytes()).await?;
            for _ in 0..count {
                conn.write_all(b"x").await?;
                conn.flush().await?;
                tokio::time::sleep(interval).await;
            }
        }
        Reply::Redirect { status, location } => {
            let head = format!(
                "HTTP/1.1 {status} {}\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                reason(status)
            );
            conn.write_all(head.as_bytes()).await?;
        }
    }
    conn.shutdown().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

// ---------------------------------------------------------------------------------------
// Module zips and a recording source.

/// A valid module zip of `path@version` holding go.mod and one Go file.
pub fn module_zip(path: &str, version: &str) -> Vec<u8> {
    let files = vec![
        gomod::zip::DataFile {
            path: "go.mod".to_string(),
            data: format!("module {path}\n").into_bytes(),
        },
        gomod::zip::DataFile {
            path: "x.go".to_string(),
            data: b"package x\n".to_vec(),
        },
    ];
    let mut out = std::io::Cursor::new(Vec::new());
    gomod::zip::create(
        &mut out,
        &gomod::module::Version::new(path, version),
        &files,
    )
    .expect("create zip");
    out.into_inner()
}

/// What a [`Recorder`] answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Answer,
    NotFound,
    Failed,
    Invalid,
    Refused,
}

/// A `Source` for chain-logic tests (standing in for `direct`): records every call and
/// answers as told, naming itself in answers and errors.
pub struct Recorder {
    pub name: String,
    pub outcome: Outcome,
    calls: Mutex<Vec<String>>,
}

impl Recorder {
    pub fn new(name: &str, outcome: Outcome) -> Arc<Recorder> {
        Arc::new(Recorder {
            name: name.to_string(),
            outcome,
            calls: Mutex::new(Vec::new()),
        })
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn record(&self, call: String) -> Result<(), Error> {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(call.clone());
        let msg = format!("{}: {call}: {:?}", self.name, self.outcome);
        match self.outcome {
            Outcome::Answer => Ok(()),
            Outcome::NotFound => Err(Error::not_found(msg)),
            Outcome::Failed => Err(Error::failed(msg)),
            Outcome::Invalid => Err(Error::invalid(msg)),
            Outcome::Refused => Err(Error::refused(msg)),
        }
    }

    fn info(&self, version: &str) -> Info {
        Info::made(
            version.to_string(),
            gomod::timestamp::Timestamp::from_unix(1_577_934_245),
            &serde_json::json!({ "by": self.name }),
        )
    }
}

#[async_trait]
impl Source for Recorder {
    fn describe(&self) -> String {
        self.name.clone()
    }

    async fn list(&self, module: &str) -> Result<bytes::Bytes, Error> {
        self.record(format!("list {module}"))?;
        Ok(format!("v1.0.0-{}\n", self.name).into())
    }

    async fn stat(&self, module: &str, query: &str) -> Result<Info, Error> {
        self.record(format!("stat {module} {query}"))?;
        Ok(self.info("v1.0.0"))
    }

    async fn latest(&self, module: &str) -> Result<Info, Error> {
        self.record(format!("latest {module}"))?;
        Ok(self.info("v1.0.0"))
    }

    async fn go_mod(&self, module: &str, version: &str) -> Result<Vec<u8>, Error> {
        self.record(format!("go_mod {module} {version}"))?;
        Ok(format!("module {module} // {}\n", self.name).into_bytes())
    }

    async fn zip(&self, module: &str, version: &str, dest: &Path) -> Result<u64, Error> {
        self.record(format!("zip {module} {version}"))?;
        let data = module_zip(module, version);
        tokio::fs::write(dest, &data)
            .await
            .map_err(|e| Error::failed(e.to_string()))?;
        Ok(data.len() as u64)
    }
}
