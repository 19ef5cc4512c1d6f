//! Whether, and how fast, one upstream may be asked: its request rate (governor), the
//! pause it asked for with `429 Too Many Requests` and `Retry-After` (modgate waits and
//! asks again instead of failing its clients), and a circuit breaker (after N failures in
//! a row the upstream is skipped for a while, then one request probes it).

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

/// How an upstream is paced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaceSettings {
    /// Requests per second at most (`None`: no limit); bursts of this many.
    pub requests_per_second: Option<NonZeroU32>,
    /// Failures in a row (errors and timeouts, not "not found") that open the breaker
    /// (`0`: never).
    pub breaker_failures: u32,
    /// How long an open breaker skips the upstream before one request probes it.
    pub breaker_open: Duration,
}

impl Default for PaceSettings {
    /// No rate limit; the breaker opens after 5 failures in a row, for 30 s.
    fn default() -> Self {
        PaceSettings {
            requests_per_second: None,
            breaker_failures: 5,
            breaker_open: Duration::from_secs(30),
        }
    }
}

/// The longest pause a `Retry-After` is obeyed for (a longer one is cut to this).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// The pause after a 429 without a usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Breaker {
    /// Asked normally; this many failures in a row so far.
    Closed(u32),
    /// Skipped until then.
    Open(Instant),
    /// One request is probing it (others are skipped until it answers).
    Probing,
}

/// Why a request may not go to the upstream now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The breaker is open: skipped, for this much longer.
    Open(Duration),
    /// The wait the upstream asked for (or its rate limit) ends after the request's
    /// deadline.
    TooLate(Duration),
}

/// The pacing state of one upstream.
pub struct Pace {
    settings: PaceSettings,
    limiter: Option<DefaultDirectRateLimiter>,
    /// Until when the upstream asked not to be asked (its last 429).
    paused_until: Mutex<Option<Instant>>,
    breaker: Mutex<Breaker>,
}

/// What came of a request, for the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An answer (200, or "not found": the upstream works).
    Answered,
    /// An error or a timeout.
    Failed,
    /// 429: the upstream works, and asks to slow down.
    Throttled,
}

impl Pace {
    /// Pacing with `settings`.
    pub fn new(settings: PaceSettings) -> Pace {
        Pace {
            settings,
            limiter: settings
                .requests_per_second
                .map(|n| RateLimiter::direct(Quota::per_second(n))),
            paused_until: Mutex::new(None),
            breaker: Mutex::new(Breaker::Closed(0)),
        }
    }

    /// Waits until a request may go (the upstream's pause, then its rate), or says why
    /// it may not before `deadline`.
    pub async fn admit(&self, deadline: Instant) -> Result<(), Refusal> {
        {
            let mut b = self.breaker.lock().unwrap_or_else(|p| p.into_inner());
            match *b {
                Breaker::Closed(_) => {}
                Breaker::Open(until) if Instant::now() < until => {
                    return Err(Refusal::Open(until - Instant::now()));
                }
                // Its time is up: this request probes.
                Breaker::Open(_) => *b = Breaker::Probing,
                Breaker::Probing => {
                    return Err(Refusal::Open(Duration::ZERO));
                }
            }
        }
        let paused = *self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = paused
            && until > Instant::now()
        {
            if until > deadline {
                self.unprobe();
                return Err(Refusal::TooLate(until - Instant::now()));
            }
            tokio::time::sleep_until(until).await;
        }
        if let Some(l) = &self.limiter {
            let wait = tokio::time::timeout_at(deadline, l.until_ready());
            if wait.await.is_err() {
                self.unprobe();
                return Err(Refusal::TooLate(Duration::ZERO));
            }
        }
        Ok(())
    }

    /// A probe that did not go lets the next request probe.
    fn unprobe(&self) {
        let mut b = self.breaker.lock().unwrap_or_else(|p| p.into_inner());
        if *b == Breaker::Probing {
            *b = Breaker::Open(Instant::now());
        }
    }

    /// Records what came of a request; `retry_after` is a 429's pause. Returns true when
    /// this failure opened the breaker (to be logged once).
    pub fn record(&self, outcome: Outcome, retry_after: Option<Duration>) -> bool {
        let mut b = self.breaker.lock().unwrap_or_else(|p| p.into_inner());
        match outcome {
            Outcome::Answered => {
                *b = Breaker::Closed(0);
                false
            }
            Outcome::Throttled => {
                let pause = retry_after
                    .unwrap_or(DEFAULT_RETRY_AFTER)
                    .min(MAX_RETRY_AFTER);
                let until = Instant::now() + pause;
                let mut p = self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
                if p.is_none_or(|t| t < until) {
                    *p = Some(until);
                }
                if *b == Breaker::Probing {
                    *b = Breaker::Closed(0);
                }
                false
            }
            Outcome::Failed => {
                let n = self.settings.breaker_failures;
                match *b {
                    Breaker::Probing => {
                        *b = Breaker::Open(Instant::now() + self.settings.breaker_open);
                        false
                    }
                    Breaker::Closed(f) if n > 0 && f + 1 >= n => {
                        *b = Breaker::Open(Instant::now() + self.settings.breaker_open);
                        true
                    }
                    Breaker::Closed(f) => {
                        *b = Breaker::Closed(f + 1);
                        false
                    }
                    Breaker::Open(_) => false,
                }
            }
        }
    }

    /// How much longer the upstream asked not to be asked (its last 429), if at all.
    pub fn paused_for(&self) -> Option<std::time::Duration> {
        let until = (*self.paused_until.lock().unwrap_or_else(|p| p.into_inner()))?;
        until
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    }

    /// Whether the breaker is open (the upstream skipped, or one request probing it).
    pub fn breaker_open(&self) -> bool {
        !matches!(
            *self.breaker.lock().unwrap_or_else(|e| e.into_inner()),
            Breaker::Closed(_)
        )
    }

    /// The settings.
    pub fn settings(&self) -> &PaceSettings {
        &self.settings
    }
}

/// A `Retry-After` value: seconds, or an HTTP date (RFC 9110 10.2.3); `None` if neither.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        let d = parse_retry_after(&soon).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn breaker_opens_probes_and_closes() {
        let p = Pace::new(PaceSettings {
            requests_per_second: None,
            breaker_failures: 3,
            breaker_open: Duration::from_secs(30),
        });
        let deadline = || Instant::now() + Duration::from_secs(60);
        assert!(!p.record(Outcome::Failed, None));
        assert!(!p.record(Outcome::Failed, None));
        // "Not found" is an answer: the count starts again.
        p.record(Outcome::Answered, None);
        assert!(!p.record(Outcome::Failed, None));
        assert!(!p.record(Outcome::Failed, None));
        assert!(
            p.record(Outcome::Failed, None),
            "the third in a row opens it"
        );
        assert_eq!(
            p.admit(deadline()).await,
            Err(Refusal::Open(Duration::from_secs(30)))
        );
        tokio::time::advance(Duration::from_secs(31)).await;
        // One probe goes; the others are skipped while it is out.
        assert_eq!(p.admit(deadline()).await, Ok(()));
        assert_eq!(
            p.admit(deadline()).await,
            Err(Refusal::Open(Duration::ZERO))
        );
        // The probe fails: open again, for the whole period.
        p.record(Outcome::Failed, None);
        assert_eq!(
            p.admit(deadline()).await,
            Err(Refusal::Open(Duration::from_secs(30)))
        );
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(p.admit(deadline()).await, Ok(()));
        p.record(Outcome::Answered, None);
        assert_eq!(p.admit(deadline()).await, Ok(()));
        assert_eq!(p.admit(deadline()).await, Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_every_request_until_retry_after() {
        let p = Pace::new(PaceSettings::default());
        p.record(Outcome::Throttled, Some(Duration::from_secs(5)));
        let start = Instant::now();
        assert_eq!(p.admit(start + Duration::from_secs(60)).await, Ok(()));
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        // A pause past a request's deadline fails it at once, saying how long.
        p.record(Outcome::Throttled, Some(Duration::from_secs(600)));
        assert_eq!(
            p.admit(Instant::now() + Duration::from_secs(10)).await,
            Err(Refusal::TooLate(MAX_RETRY_AFTER))
        );
        // Throttling is not a failure: the breaker stays closed.
        for _ in 0..10 {
            p.record(Outcome::Throttled, None);
        }
        assert_eq!(*p.breaker.lock().unwrap(), Breaker::Closed(0));
    }

    #[test]
    fn the_rate_allows_a_burst_then_refuses() {
        let p = Pace::new(PaceSettings {
            requests_per_second: NonZeroU32::new(10),
            ..PaceSettings::default()
        });
        let l = p.limiter.as_ref().unwrap();
        // A burst of 10 at once; the 11th must wait for the next tenth of a second.
        for i in 0..10 {
            assert!(l.check().is_ok(), "request {i}");
        }
        assert!(l.check().is_err());
    }
}
