//! `modgate warm DIR --url URL [--wait]`: the client of a server's warm jobs. It sends
//! the project's go.mod, go.sum and go.work files (and those of its workspace modules
//! and directory replacements, named relative to DIR, `../` included) to
//! `POST /api/v1/warm`, and with `--wait` follows the job to its end with a progress bar.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::fleet::job::{Job, State};
use crate::fleet::request::Body;

/// How long one call may take.
const CALL_WITHIN: Duration = Duration::from_secs(60);
/// How often `--wait` asks for the job.
const POLL: Duration = Duration::from_millis(250);

/// Why the job could not be queued or followed.
#[derive(Debug, thiserror::Error)]
pub enum WarmError {
    /// The project cannot be read.
    #[error(transparent)]
    Project(#[from] crate::graph::Error),
    /// A file of the project cannot be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a URL this client can call.
    #[error("--url {url}: {why} (want http://HOST:PORT or https://HOST:PORT)")]
    Url {
        /// The URL given.
        url: String,
        /// Why.
        why: String,
    },
    /// No answer.
    #[error("{url}: no answer: {why}")]
    Unanswered {
        /// The URL called.
        url: String,
        /// Why.
        why: String,
    },
    /// An answer other than the one expected.
    #[error("{url}: {status} {body}")]
    Refused {
        /// The URL called.
        url: String,
        /// The status.
        status: u16,
        /// What it said.
        body: String,
    },
}

/// The files of the project at `dir` a server needs to compute its graph, by their
/// names relative to `dir`.
pub fn project_files(dir: &Path) -> Result<BTreeMap<String, String>, WarmError> {
    let project = crate::graph::read_project(dir)?;
    let mut dirs: Vec<PathBuf> = vec![project.dir.clone()];
    dirs.extend(project.mains.iter().map(|m| m.dir.clone()));
    dirs.extend(
        project
            .replace
            .iter()
            .filter(|r| r.new_version.is_empty())
            .map(|r| r.base.join(&r.new_path)),
    );
    let mut files = BTreeMap::new();
    for d in dirs {
        let rel = relative(&project.dir, &d);
        for name in ["go.mod", "go.sum", "go.work", "go.work.sum"] {
            let sub = rel.is_some();
            if sub && (name == "go.work" || name == "go.work.sum") {
                continue;
            }
            let path = d.join(name);
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(WarmError::Read { path, source }),
            };
            let key = match &rel {
                Some(r) => format!("{r}/{name}"),
                None => name.to_string(),
            };
            files.insert(key, text);
        }
    }
    Ok(files)
}

/// `to` relative to `from`, `/`-separated (`None`: the same directory).
fn relative(from: &Path, to: &Path) -> Option<String> {
    let norm = |p: &Path| -> Vec<String> {
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(p)
        };
        let mut out: Vec<String> = Vec::new();
        for c in abs.components() {
            match c {
                Component::ParentDir => {
                    out.pop();
                }
                Component::Normal(n) => out.push(n.to_string_lossy().into_owned()),
                _ => {}
            }
        }
        out
    };
    let (f, t) = (norm(from), norm(to));
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); f.len() - common];
    parts.extend(t[common..].iter().cloned());
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// A client of the server at `url`.
pub struct Client {
    base: reqwest::Url,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    /// The server at `url`, as the client with `token`.
    pub fn new(url: &str, token: Option<String>) -> Result<Client, WarmError> {
        let bad = |why: String| WarmError::Url {
            url: url.to_string(),
            why,
        };
        let mut base = reqwest::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad(format!(
                "the scheme {} is not http or https",
                base.scheme()
            )));
        }
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let http = reqwest::Client::builder()
            .timeout(CALL_WITHIN)
            .build()
            .map_err(|e| bad(e.to_string()))?;
        Ok(Client { base, token, http })
    }

    fn url(&self, path: &str) -> reqwest::Url {
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    async fn call(
        &self,
        req: reqwest::RequestBuilder,
        url: &reqwest::Url,
    ) -> Result<(u16, String), WarmError> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let unanswered = |e: reqwest::Error| WarmError::Unanswered {
            url: url.to_string(),
            why: crate::source::error_chain(&e),
        };
        let resp = req.send().await.map_err(unanswered)?;
        let status = resp.status().as_u16();
        let body = resp.text().await.map_err(unanswered)?;
        Ok((status, body))
    }

    /// Queues a warm job of `body`.
    pub async fn submit(&self, body: &Body) -> Result<Job, WarmError> {
        let url = self.url("api/v1/warm");
        let req = self
            .http
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(body).unwrap_or_default());
        let (status, text) = self.call(req, &url).await?;
        if status != 202 {
            return Err(WarmError::Refused {
                url: url.to_string(),
                status,
                body: text.trim_end().to_string(),
            });
        }
        serde_json::from_str(&text).map_err(|e| WarmError::Refused {
            url: url.to_string(),
            status,
            body: format!("not a job: {e}"),
        })
    }

    /// The job `id`.
    pub async fn job(&self, id: &str) -> Result<Job, WarmError> {
        let url = self.url(&format!("api/v1/jobs/{id}"));
        let (status, text) = self.call(self.http.get(url.clone()), &url).await?;
        let refused = |body: String| WarmError::Refused {
            url: url.to_string(),
            status,
            body,
        };
        if status != 200 {
            return Err(refused(text.trim_end().to_string()));
        }
        match serde_json::from_str::<Job>(&text) {
            Ok(j) => Ok(j),
            // `lost` comes without the job's figures.
            Err(_) => Err(refused(text.trim_end().to_string())),
        }
    }

    /// Follows the job `id` until it ends, showing progress when `progress`.
    pub async fn wait(&self, id: &str, progress: bool) -> Result<Job, WarmError> {
        let bar = crate::gomodcache::verify::progress_bar(0, progress);
        bar.set_prefix(format!("warm job {id}"));
        loop {
            let job = self.job(id).await?;
            if let Some(n) = job.graph {
                bar.set_length(n as u64);
                bar.set_position((job.fetched + job.stored + job.failed.len()) as u64);
            }
            if job.state.is_final() {
                bar.finish_and_clear();
                return Ok(job);
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// The job for people.
pub fn render(job: &Job) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = write!(out, "warm job {}: {}", job.id, state_word(job.state));
    if let Some(n) = job.graph {
        let _ = write!(
            out,
            ": {n} module versions in the graph ({} more go.mod files), {} fetched, {} already stored, {} failed",
            job.go_mods.unwrap_or(0),
            job.fetched,
            job.stored,
            job.failed.len()
        );
    }
    if let Some(r) = &job.replica {
        let _ = write!(out, " (on {r})");
    }
    out.push('\n');
    if let Some(e) = &job.error {
        let _ = writeln!(out, "  {e}");
    }
    for (m, e) in &job.failed {
        let _ = writeln!(out, "  could not fetch {m}: {e}");
    }
    out
}

fn state_word(s: State) -> &'static str {
    match s {
        State::Queued => "queued",
        State::Running => "running",
        State::Done => "done",
        State::Failed => "failed",
        State::Lost => "lost",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_sends_its_files_and_its_replacements_by_relative_names() {
        let d = tempfile::tempdir().unwrap();
        let app = d.path().join("app");
        let lib = d.path().join("lib");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::write(
            app.join("go.mod"),
            "module example.com/app\n\ngo 1.21\n\nrequire example.com/lib v0.0.0\n\nreplace example.com/lib => ../lib\n",
        )
        .unwrap();
        std::fs::write(app.join("go.sum"), "x v1.0.0 h1:a=\n").unwrap();
        std::fs::write(lib.join("go.mod"), "module example.com/lib\n").unwrap();
        std::fs::write(app.join("main.go"), "package main\n").unwrap();
        let files = project_files(&app).unwrap();
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            ["../lib/go.mod", "go.mod", "go.sum"]
        );
        assert_eq!(files["../lib/go.mod"], "module example.com/lib\n");
        assert_eq!(relative(&app, &app), None);
        assert_eq!(relative(&app, &app.join("a/b")).as_deref(), Some("a/b"));
    }
}
