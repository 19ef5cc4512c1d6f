//! `modgate admin`: the client of a running server's operations API (`/api/v1/`), for
//! what an operator does by hand: `admin purge M[@V]`.

use std::time::Duration;

use crate::cache::Purge;

/// How long one call to the server may take.
const CALL_WITHIN: Duration = Duration::from_secs(30);

/// Why the server could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Not a URL this client can call.
    #[error(
        "--url {url}: {why} (want http://HOST:PORT or https://HOST:PORT, the server's address)"
    )]
    Url {
        /// The URL given.
        url: String,
        /// Why not.
        why: String,
    },
    /// The request did not get an answer.
    #[error("{url}: no answer: {why}")]
    Unanswered {
        /// The URL called.
        url: String,
        /// Why.
        why: String,
    },
}

/// The server's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body (JSON when done, a sentence otherwise).
    pub body: String,
}

/// `M` or `M@V` as a purge of `what` (all short-lived answers when empty), forced or not.
pub fn purge_of(
    target: &str,
    what: &[crate::cache::purge::What],
    force: bool,
) -> Result<Purge, String> {
    let (module, version) = match target.rsplit_once('@') {
        Some((m, v)) => (m.to_string(), Some(v.to_string())),
        None => (target.to_string(), None),
    };
    let mut what = what.to_vec();
    if what.is_empty() {
        what = crate::cache::purge::ALL.to_vec();
    }
    what.sort_unstable();
    what.dedup();
    let p = Purge {
        module,
        version,
        what,
        force,
    };
    p.check()?;
    Ok(p)
}

/// Asks the server at `url` to purge, as the client with `token` (if any).
pub async fn purge(url: &str, token: Option<&str>, purge: &Purge) -> Result<Answer, AdminError> {
    let base = reqwest::Url::parse(url).map_err(|e| AdminError::Url {
        url: url.to_string(),
        why: e.to_string(),
    })?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(AdminError::Url {
            url: url.to_string(),
            why: format!("the scheme {} is not http or https", base.scheme()),
        });
    }
    let endpoint = base.join("api/v1/purge").map_err(|e| AdminError::Url {
        url: url.to_string(),
        why: e.to_string(),
    })?;
    let unanswered = |e: reqwest::Error| AdminError::Unanswered {
        url: endpoint.to_string(),
        why: crate::source::error_chain(&e),
    };
    let client = reqwest::Client::builder()
        .timeout(CALL_WITHIN)
        .build()
        .map_err(unanswered)?;
    let body = serde_json::to_vec(purge).unwrap_or_default();
    let mut req = client
        .post(endpoint.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.map_err(unanswered)?;
    let status = resp.status().as_u16();
    let body = resp.text().await.map_err(unanswered)?;
    Ok(Answer { status, body })
}

/// The server's answer to a purge, for people.
pub fn render(answer: &Answer) -> String {
    if answer.status != 200 && answer.status != 503 {
        return format!("{}\n", answer.body.trim_end());
    }
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&answer.body) else {
        return format!("{}\n", answer.body.trim_end());
    };
    let count = |k: &str| match v[k].as_u64() {
        Some(n) => n.to_string(),
        None => "none (no Redis)".to_string(),
    };
    let stored: Vec<&str> = v["dropped"]["stored"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str()).collect())
        .unwrap_or_default();
    let mut out = format!(
        "purged {} on {}: {} answers dropped from its memory, {} stored objects removed, shared keys removed: {}, replicas told: {}\n",
        v["purge"]["module"].as_str().unwrap_or("?"),
        v["replica"].as_str().unwrap_or("?"),
        v["dropped"]["memory"].as_u64().unwrap_or(0),
        stored.len(),
        count("shared_keys"),
        count("replicas_told"),
    );
    for s in stored {
        out.push_str(&format!("  removed {s}\n"));
    }
    if let Some(why) = v["incomplete"].as_str() {
        out.push_str(&format!("not complete: {why}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::purge::What;

    #[test]
    fn a_target_names_a_module_or_a_version() {
        let p = purge_of("example.com/m", &[], false).unwrap();
        assert_eq!(p.what, crate::cache::purge::ALL);
        assert_eq!(p.version, None);
        let p = purge_of("example.com/m@v1.0.0", &[What::Latest, What::List], true).unwrap();
        assert_eq!(
            (p.module.as_str(), p.version.as_deref(), p.what, p.force),
            (
                "example.com/m",
                Some("v1.0.0"),
                vec![What::List, What::Latest],
                true
            )
        );
        assert!(purge_of("example.com/m", &[], true).is_err());
        assert!(purge_of("example.com/m@v1", &[], false).is_err());
    }

    #[test]
    fn answers_are_rendered_for_people() {
        let done = Answer {
            status: 200,
            body: r#"{"purge":{"module":"example.com/m","what":["list"],"force":false},"replica":"h/1","dropped":{"memory":2,"stored":["cache/download/example.com/m/@v/list"]},"shared_keys":null,"replicas_told":null,"incomplete":null}"#.into(),
        };
        assert_eq!(
            render(&done),
            "purged example.com/m on h/1: 2 answers dropped from its memory, 1 stored objects removed, shared keys removed: none (no Redis), replicas told: none (no Redis)\n  removed cache/download/example.com/m/@v/list\n"
        );
        let refused = Answer {
            status: 409,
            body: "example.com/m@v1.0.0: not removed\n".into(),
        };
        assert_eq!(render(&refused), "example.com/m@v1.0.0: not removed\n");
    }
}
