//! A GOPROXY upstream over HTTP on loopback that serves a [`super::Tree`]'s files and
//! counts every request by path: for the tests that count upstream fetches across
//! replicas, slow answers and injected statuses (429 and the like).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the upstream does with one request.
pub enum Answer {
    /// Serve the file, after a delay.
    Serve(Duration),
    /// Answer with this status, these headers and this body.
    Status(u16, Vec<(String, String)>, String),
}

/// Decides the answer for a path and the number of times it was asked (1 for the first).
pub type Behave = dyn Fn(&str, usize) -> Answer + Send + Sync;

/// An HTTP upstream serving `root`; runs until the test process ends.
pub struct Upstream {
    pub url: String,
    counts: Arc<Mutex<HashMap<String, usize>>>,
    auth: Arc<Mutex<HashMap<String, String>>>,
}

impl Upstream {
    /// Serves `root` with no delay.
    pub fn start(root: &Path) -> Upstream {
        Self::start_with(root, Arc::new(|_, _| Answer::Serve(Duration::ZERO)))
    }

    /// Serves `root` as `behave` says.
    pub fn start_with(root: &Path, behave: Arc<Behave>) -> Upstream {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let counts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let auth: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let (c, a, root) = (Arc::clone(&counts), Arc::clone(&auth), root.to_path_buf());
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(conn) = conn else { continue };
                let (c, a, root, behave) = (
                    Arc::clone(&c),
                    Arc::clone(&a),
                    root.clone(),
                    Arc::clone(&behave),
                );
                std::thread::spawn(move || serve(conn, &root, (&c, &a), &*behave));
            }
        });
        Upstream { url, counts, auth }
    }

    /// The `Authorization` header of the last request of `path`, if it had one.
    pub fn authorization(&self, path: &str) -> Option<String> {
        self.auth.lock().unwrap().get(path).cloned()
    }

    /// How many times `path` was asked.
    pub fn count(&self, path: &str) -> usize {
        self.counts.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// Every path asked, with its count, sorted.
    pub fn counts(&self) -> Vec<(String, usize)> {
        let mut v: Vec<_> = self.counts.lock().unwrap().clone().into_iter().collect();
        v.sort();
        v
    }
}

type Seen<'a> = (
    &'a Mutex<HashMap<String, usize>>,
    &'a Mutex<HashMap<String, String>>,
);

fn serve(mut conn: TcpStream, root: &Path, (counts, auth): Seen<'_>, behave: &Behave) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    // The head and the body are two writes: without this, Nagle's algorithm holds the
    // body until the client's delayed ACK, 40 ms a request.
    let _ = conn.set_nodelay(true);
    // Keep-alive: answer requests until the client closes.
    loop {
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match conn.read(&mut b) {
                Ok(1) => head.push(b[0]),
                _ => return,
            }
        }
        let text = String::from_utf8_lossy(&head);
        let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
        if let Some(v) = text.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("authorization")
                .then(|| v.trim().to_string())
        }) {
            auth.lock().unwrap().insert(path.clone(), v);
        }
        let n = {
            let mut c = counts.lock().unwrap();
            let n = c.entry(path.clone()).or_default();
            *n += 1;
            *n
        };
        let (status, headers, body) = match behave(&path, n) {
            Answer::Serve(delay) => {
                std::thread::sleep(delay);
                let file: PathBuf = root.join(path.trim_start_matches('/'));
                match std::fs::read(&file) {
                    Ok(body) => (200, Vec::new(), body),
                    Err(_) => (404, Vec::new(), b"not found\n".to_vec()),
                }
            }
            Answer::Status(s, h, b) => (s, h, b.into_bytes()),
        };
        let mut out = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
        for (k, v) in headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        if conn.write_all(out.as_bytes()).is_err() || conn.write_all(&body).is_err() {
            return;
        }
    }
}
