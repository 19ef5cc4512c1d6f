//! Per-client request limits: each client (the name its credentials authenticate, else
//! its IP address) may make `requests_per_second` requests a second, in bursts of
//! `burst`; over that, `429 Too Many Requests` with `Retry-After`. With Redis
//! (`--redis`) the count is shared by every replica (a counter per client per second);
//! without it, or while it is away, each replica keeps its own (governor's GCRA).
//! `/healthz`, `/readyz` and `/metrics` are never limited.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tracing::Instrument;

use super::reply::text;
use crate::cluster::Shared;

/// How many requests a client may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimit {
    /// Requests per second, sustained.
    pub requests_per_second: NonZeroU32,
    /// Requests at once above that rate.
    pub burst: NonZeroU32,
}

/// The limiter: no limit, or one (replaced by a settings reload).
pub struct Limiter {
    current: arc_swap::ArcSwapOption<Limit>,
    shared: Option<Arc<Shared>>,
}

/// One limit and its local counts.
struct Limit {
    limit: ClientLimit,
    local: DefaultKeyedRateLimiter<String>,
}

impl Limiter {
    /// A limiter of `limit` (`None`: none), sharing its counts through `shared` when given.
    pub fn new(limit: Option<ClientLimit>, shared: Option<Arc<Shared>>) -> Limiter {
        let l = Limiter {
            current: arc_swap::ArcSwapOption::empty(),
            shared,
        };
        l.set(limit);
        l
    }

    /// The limit from now on (the counts start again when it changes).
    pub fn set(&self, limit: Option<ClientLimit>) {
        if self.current.load().as_ref().map(|c| c.limit) == limit {
            return;
        }
        self.current.store(limit.map(|limit| {
            Arc::new(Limit {
                limit,
                local: RateLimiter::keyed(
                    Quota::per_second(limit.requests_per_second).allow_burst(limit.burst),
                ),
            })
        }));
    }

    /// The limit, if any.
    pub fn limit(&self) -> Option<ClientLimit> {
        self.current.load().as_ref().map(|c| c.limit)
    }

    /// `None` when `client` may go on; else how long it should wait.
    pub async fn check(&self, client: &str) -> Option<Duration> {
        let current = self.current.load_full()?;
        current.check(client, self.shared.as_deref()).await
    }
}

impl Limit {
    async fn check(&self, client: &str, shared: Option<&Shared>) -> Option<Duration> {
        if let Some(shared) = shared
            && shared.usable()
        {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let key = format!("modgate:rate:{client}:{}", now.as_secs());
            if let Some(n) = shared.count(&key, Duration::from_secs(2)).await {
                let allowed = self
                    .limit
                    .requests_per_second
                    .get()
                    .max(self.limit.burst.get());
                return (n > u64::from(allowed))
                    .then(|| Duration::from_nanos(1_000_000_000 - u64::from(now.subsec_nanos())));
            }
        }
        if self.local.len() > 100_000 {
            self.local.retain_recent();
        }
        match self.local.check_key(&client.to_string()) {
            Ok(()) => None,
            Err(not_until) => Some(not_until.wait_time_from(DefaultClock::default().now())),
        }
    }
}

/// The 429 (with `Retry-After`: whole seconds, at least 1) for a client over the limit;
/// `None`: it may go on. The client is the name its credentials authenticate, else its
/// address.
pub(super) async fn refuse(
    limiter: &Limiter,
    req: &Parts,
    name: Option<&str>,
    peer: SocketAddr,
    span: &super::RequestSpan<'_>,
) -> Option<Response> {
    let path = req.uri.path();
    if limiter.limit().is_none() || matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return None;
    }
    let client = name.map_or_else(|| peer.ip().to_string(), str::to_string);
    // Boxed: its future (a Redis count) is large, and most requests never get here.
    let wait = Box::pin(limiter.check(&client))
        .instrument(span.get().clone())
        .await;
    let (Some(wait), Some(limit)) = (wait, limiter.limit()) else {
        return None;
    };
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    span.get().in_scope(|| {
        tracing::info!(client = %client, retry_after_s = secs, "client over its request limit: 429")
    });
    let mut r = text(
        StatusCode::TOO_MANY_REQUESTS,
        &format!(
            "too many requests: over {} a second (bursts of {}); retry after {secs}s",
            limit.requests_per_second, limit.burst
        ),
        req.method == axum::http::Method::HEAD,
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert("retry-after", v);
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_burst_then_429_per_client() {
        let l = Limiter::new(
            Some(ClientLimit {
                requests_per_second: NonZeroU32::new(1).unwrap(),
                burst: NonZeroU32::new(3).unwrap(),
            }),
            None,
        );
        for _ in 0..3 {
            assert_eq!(l.check("10.0.0.1").await, None);
        }
        let wait = l.check("10.0.0.1").await.expect("over the burst");
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        // Another client has its own allowance.
        assert_eq!(l.check("ci").await, None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shared_through_redis() {
        let redis = testkit::redis::Redis::start();
        let limit = ClientLimit {
            requests_per_second: NonZeroU32::new(2).unwrap(),
            burst: NonZeroU32::new(2).unwrap(),
        };
        // Two replicas, one client: two requests in a second between them.
        let (a, b) = (
            Limiter::new(Some(limit), Some(Shared::connect(&redis.url()).unwrap())),
            Limiter::new(Some(limit), Some(Shared::connect(&redis.url()).unwrap())),
        );
        // Start at the beginning of a second, so that the three fall in one window.
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        tokio::time::sleep(Duration::from_nanos(
            1_000_000_000 - u64::from(now.subsec_nanos()),
        ))
        .await;
        let got = [
            a.check("ci").await.is_none(),
            b.check("ci").await.is_none(),
            a.check("ci").await.is_none(),
        ];
        assert_eq!(got, [true, true, false]);
    }
}
