//! Redis (`redis-server`, Debian's, which scripts/install-deps installs) as a real server
//! on 127.0.0.1 for the replica tests: no persistence, its own port, killed when dropped;
//! it can be stopped and started again on the same port.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// A Redis server on 127.0.0.1.
pub struct Redis {
    child: Option<Child>,
    /// Its port.
    pub port: u16,
    dir: tempfile::TempDir,
}

fn binary() -> PathBuf {
    if let Some(b) = std::env::var_os("MODGATE_REDIS_SERVER") {
        return PathBuf::from(b);
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file())
        .expect("redis-server is not installed: run scripts/install-deps (Debian's redis-server) or set MODGATE_REDIS_SERVER")
}

impl Redis {
    /// Starts Redis on a free port and waits (at most 20 s) until it answers PING.
    pub fn start() -> Redis {
        let mut r = Redis {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().expect("a temporary directory"),
        };
        r.restart();
        r
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills it (SIGKILL: what an outage looks like to its clients).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it (again) on the same port, empty, and waits until it answers.
    pub fn restart(&mut self) {
        self.stop();
        let log = self.dir.path().join("redis.log");
        let child = Command::new(binary())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--protected-mode", "yes", "--daemonize", "no"])
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.command(&["PING"]).as_deref() != Some("+PONG") {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer within 20 s; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends one command (RESP array of bulk strings) and returns the first line of the
    /// answer (`+PONG`, `:3`, `$-1`, ...) or, for a bulk string, its content.
    pub fn command(&self, args: &[&str]) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        s.write_all(req.as_bytes()).ok()?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = s.read(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf);
            if let Some(len) = text.strip_prefix('$').and_then(|t| t.split("\r\n").next()) {
                match len.parse::<i64>() {
                    Ok(-1) => return Some("$-1".into()),
                    Ok(n) => {
                        let head = len.len() + 3;
                        if buf.len() >= head + n as usize + 2 {
                            return Some(
                                String::from_utf8_lossy(&buf[head..head + n as usize]).into(),
                            );
                        }
                    }
                    Err(_) => return None,
                }
            } else if let Some(line) = text.split_once("\r\n") {
                return Some(line.0.to_string());
            }
        }
        None
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}
