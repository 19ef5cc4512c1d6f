//! A warm job's callbacks: its final record POSTed to each `callback_url`, signed
//! (`X-Modgate-Signature: sha256=<hex HMAC-SHA256 of the body with [warm] secret>`, as
//! GitHub signs its webhooks) with an idempotency id (`X-Modgate-Delivery`: the job's
//! id, the same at every attempt and from every replica), retried with backoff for
//! `[warm] callback_within`. Only URLs matching a `[warm] callback_allow` pattern are
//! called, and redirects are not followed: the server is no open relay.

use std::time::{Duration, Instant};

use hmac::Mac;

use super::job::{Job, now};

/// The first wait between attempts; doubled each time up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long one attempt may take.
const ATTEMPT_WITHIN: Duration = Duration::from_secs(10);

/// Why a callback URL is refused (400 at submission).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not an http(s) URL, or one with credentials.
    #[error("callback_url {0:?}: want an http:// or https:// URL without user or password")]
    Url(String),
    /// No pattern allows it.
    #[error(
        "callback_url {url:?} matches no [warm] callback_allow pattern ({allowed}): the server calls only the URLs its operators allow"
    )]
    NotAllowed {
        /// The URL.
        url: String,
        /// The patterns, or "none are set".
        allowed: String,
    },
}

/// Who may be called back, and how.
#[derive(Clone)]
pub struct Caller {
    allow: Vec<String>,
    secret: Vec<u8>,
    within: Duration,
    client: reqwest::Client,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("allow", &self.allow)
            .field("within", &self.within)
            .finish_non_exhaustive()
    }
}

impl Caller {
    /// Callbacks to URLs matching `allow`, signed with `secret`, retried for `within`.
    pub fn new(allow: Vec<String>, secret: Vec<u8>, within: Duration) -> Caller {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(ATTEMPT_WITHIN)
            .user_agent(concat!("modgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Caller {
            allow,
            secret,
            within,
            client,
        }
    }

    /// The URL as it will be called, if an allowed one.
    pub fn check(&self, url: &str) -> Result<String, Refused> {
        let parsed = reqwest::Url::parse(url).map_err(|_| Refused::Url(url.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https")
            || !parsed.username().is_empty()
            || parsed.password().is_some()
            || parsed.host_str().is_none()
        {
            return Err(Refused::Url(url.to_string()));
        }
        let normal = parsed.as_str();
        if self.allow.iter().any(|p| glob(p, normal)) {
            Ok(normal.to_string())
        } else {
            Err(Refused::NotAllowed {
                url: url.to_string(),
                allowed: if self.allow.is_empty() {
                    "none are set".to_string()
                } else {
                    self.allow.join(", ")
                },
            })
        }
    }

    /// `sha256=<hex HMAC-SHA256 of body>`.
    pub fn signature(&self, body: &[u8]) -> String {
        signature(&self.secret, body)
    }

    /// Delivers `job` (final) to each callback not delivered yet, retrying each for the
    /// bound; `save` is called after every attempt with the callbacks' state.
    pub async fn deliver<F, Fut>(&self, job: &mut Job, mut save: F)
    where
        F: FnMut(Job) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        for i in 0..job.callbacks.len() {
            if job.callbacks[i].delivered.is_some() {
                continue;
            }
            let url = job.callbacks[i].url.clone();
            if let Err(e) = self.check(&url) {
                job.callbacks[i].error = Some(e.to_string());
                save(job.clone()).await;
                continue;
            }
            let started = Instant::now();
            let mut backoff = FIRST_BACKOFF;
            loop {
                // The body is the record as it was final: callbacks' own states left out,
                // so that every attempt (and replica) signs the same bytes.
                let mut sent = job.clone();
                sent.callbacks.clear();
                let body = serde_json::to_vec(&sent).unwrap_or_default();
                job.callbacks[i].attempts += 1;
                let r = self
                    .client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-modgate-signature", self.signature(&body))
                    .header("x-modgate-delivery", job.id.clone())
                    .header("x-modgate-event", "warm_job")
                    .body(body)
                    .send()
                    .await;
                let (done, retry, error) = match r {
                    Ok(resp) if resp.status().is_success() => (true, false, None),
                    Ok(resp) => {
                        let s = resp.status();
                        let retry = s.is_server_error() || s.as_u16() == 408 || s.as_u16() == 429;
                        (false, retry, Some(format!("answered {s}")))
                    }
                    Err(e) => (false, true, Some(crate::source::error_chain(&e))),
                };
                let result = match (done, &error) {
                    (true, _) => "delivered",
                    (false, Some(e)) if e.starts_with("answered ") => "refused",
                    _ => "error",
                };
                crate::metrics::count(&crate::metrics::metrics().warm_callbacks, result);
                if done {
                    job.callbacks[i].delivered = Some(now());
                    job.callbacks[i].error = None;
                    save(job.clone()).await;
                    tracing::info!(job = %job.id, url = %url, attempts = job.callbacks[i].attempts, "warm job callback delivered");
                    break;
                }
                job.callbacks[i].error = error.clone();
                save(job.clone()).await;
                if !retry || started.elapsed() + backoff > self.within {
                    tracing::warn!(job = %job.id, url = %url, attempts = job.callbacks[i].attempts, error = error.as_deref().unwrap_or(""), "warm job callback not delivered: giving up");
                    break;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// `sha256=<hex HMAC-SHA256 of body with secret>`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    format!(
        "sha256={}",
        super::request::hex(&mac.finalize().into_bytes())
    )
}

/// Go's `path.Match` over a whole URL: `*` any run of characters but `/`, `?` one
/// character but `/`; everything else itself.
fn glob(pattern: &str, s: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), s.as_bytes());
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && (p[pi] == s[si] || (p[pi] == b'?' && s[si] != b'/')) {
            // A character matches itself (a `/` only itself); `?` any but `/`.
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star
            && s[ss] != b'/'
        {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_in_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn globs_match_as_go_path_match() {
        for (p, s, want) in [
            (
                "http://127.0.0.1:*/hook",
                "http://127.0.0.1:8080/hook",
                true,
            ),
            (
                "http://127.0.0.1:*/hook",
                "http://127.0.0.1:8080/x/hook",
                false,
            ),
            ("https://ci.example.com/*", "https://ci.example.com/a", true),
            (
                "https://ci.example.com/*",
                "https://ci.example.com/a/b",
                false,
            ),
            (
                "https://ci.example.com/*/*",
                "https://ci.example.com/a/b",
                true,
            ),
            (
                "https://ci.example.com/*",
                "https://ci.example.com.evil.net/a",
                false,
            ),
            ("https://ci?example.com/a", "https://ci.example.com/a", true),
            (
                "https://ci?example.com/a",
                "https://ci/example.com/a",
                false,
            ),
            ("http://a/b", "http://a/b", true),
            ("http://a/b", "http://a/bc", false),
        ] {
            assert_eq!(glob(p, s), want, "{p} {s}");
        }
    }

    #[test]
    fn only_allowed_urls_are_called() {
        let c = Caller::new(
            vec!["http://127.0.0.1:*/hooks/*".into()],
            b"k".to_vec(),
            Duration::from_secs(1),
        );
        assert_eq!(
            c.check("http://127.0.0.1:9000/hooks/a").unwrap(),
            "http://127.0.0.1:9000/hooks/a"
        );
        for bad in [
            "http://u:p@127.0.0.1:9000/hooks/a",
            "ftp://127.0.0.1/hooks/a",
            "not a url",
        ] {
            assert_eq!(c.check(bad), Err(Refused::Url(bad.into())), "{bad}");
        }
        assert_eq!(
            c.check("http://10.0.0.1:9000/hooks/a")
                .unwrap_err()
                .to_string(),
            "callback_url \"http://10.0.0.1:9000/hooks/a\" matches no [warm] callback_allow pattern (http://127.0.0.1:*/hooks/*): the server calls only the URLs its operators allow"
        );
        let none = Caller::new(Vec::new(), Vec::new(), Duration::from_secs(1));
        assert!(
            none.check("http://127.0.0.1:9000/hooks/a")
                .unwrap_err()
                .to_string()
                .contains("(none are set)")
        );
    }
}
