//! A warm job's record: its state, what it found and fetched, its callbacks. The same
//! JSON is answered by `GET /api/v1/jobs/{id}`, kept in Redis, and posted to callbacks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waiting for a worker.
    Queued,
    /// A worker runs it.
    Running,
    /// Finished: every version is stored (or failed, each with its reason).
    Done,
    /// Could not run: its graph could not be read.
    Failed,
    /// Its server restarted before it finished, and kept it in memory only (no Redis).
    Lost,
}

impl State {
    /// Whether the job is over.
    pub fn is_final(self) -> bool {
        matches!(self, State::Done | State::Failed | State::Lost)
    }

    /// `queued`, `running`, ...
    pub fn parse(s: &str) -> Option<State> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }
}

/// A callback and whether it was delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callback {
    /// Where the final state is posted.
    pub url: String,
    /// When it was answered with a 2xx (RFC 3339).
    pub delivered: Option<String>,
    /// Attempts so far.
    pub attempts: u32,
    /// The last attempt's failure.
    pub error: Option<String>,
}

/// A warm job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Its id.
    pub id: String,
    /// The SHA-256 of what it warms (identical requests share it).
    pub hash: String,
    /// Where it is.
    pub state: State,
    /// When it was queued, started and finished (RFC 3339).
    pub created: String,
    /// When a worker started it.
    pub started: Option<String>,
    /// When it ended.
    pub finished: Option<String>,
    /// The replica that runs or ran it.
    pub replica: Option<String>,
    /// How many times a worker took it (more than 1: a worker died and another went on).
    pub attempts: u32,
    /// Module versions to fetch whole (the build list; or the versions listed).
    pub graph: Option<usize>,
    /// More versions of which only the go.mod was read.
    pub go_mods: Option<usize>,
    /// Versions fetched from upstream by this job.
    pub fetched: usize,
    /// Versions found already stored.
    pub stored: usize,
    /// Versions that failed, with why (`path@version` → reason).
    pub failed: BTreeMap<String, String>,
    /// Why the job failed (its graph).
    pub error: Option<String>,
    /// Its callbacks.
    pub callbacks: Vec<Callback>,
}

impl Job {
    /// A new job, queued now, with its callback if it has one.
    pub fn new(id: String, hash: String, callback: Option<&str>) -> Job {
        let mut job = Job {
            id,
            hash,
            state: State::Queued,
            created: now(),
            started: None,
            finished: None,
            replica: None,
            attempts: 0,
            graph: None,
            go_mods: None,
            fetched: 0,
            stored: 0,
            failed: BTreeMap::new(),
            error: None,
            callbacks: Vec::new(),
        };
        if let Some(url) = callback {
            job.add_callback(url);
        }
        job
    }

    /// Adds the callback `url`, once.
    pub fn add_callback(&mut self, url: &str) {
        if !self.callbacks.iter().any(|c| c.url == url) {
            self.callbacks.push(Callback {
                url: url.to_string(),
                delivered: None,
                attempts: 0,
                error: None,
            });
        }
    }
}

/// Now, RFC 3339 (UTC, seconds).
pub fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    gomod::timestamp::Timestamp::from_unix(secs).format_rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_lower_case_words() {
        for (s, w) in [
            (State::Queued, "queued"),
            (State::Running, "running"),
            (State::Done, "done"),
            (State::Failed, "failed"),
            (State::Lost, "lost"),
        ] {
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{w}\""));
            assert_eq!(State::parse(w), Some(s));
        }
        assert_eq!(State::parse("Done"), None);
        assert!(State::Lost.is_final() && !State::Running.is_final());
    }

    #[test]
    fn a_callback_is_added_once() {
        let mut j = Job::new("a".into(), "h".into(), Some("http://127.0.0.1:1/x"));
        j.add_callback("http://127.0.0.1:1/x");
        j.add_callback("http://127.0.0.1:1/y");
        assert_eq!(j.callbacks.len(), 2);
    }
}
