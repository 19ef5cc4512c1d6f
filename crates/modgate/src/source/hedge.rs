//! Hedged requests: when an upstream proxy is slower than it usually is, the same request
//! also goes to the next proxy of the list, and the first good answer wins. "Usually" is
//! learned: the delay before the hedge is a high quantile of the upstream's recent
//! answer times, kept apart for metadata and for zips, within configured bounds.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// When hedging happens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HedgeSettings {
    /// Whether a slow request is also sent to the next proxy of the list.
    pub enabled: bool,
    /// The quantile of recent answer times after which a request is slow.
    pub quantile: f64,
    /// The shortest delay before a hedge.
    pub min_delay: Duration,
    /// The longest delay before a hedge (also the delay until enough answers are known).
    pub max_delay: Duration,
}

impl Eq for HedgeSettings {}

impl Default for HedgeSettings {
    /// On; after the 95th percentile of recent answer times, between 50 ms and 2 s.
    fn default() -> Self {
        HedgeSettings {
            enabled: true,
            quantile: 0.95,
            min_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
        }
    }
}

/// How many recent answer times are kept.
const WINDOW: usize = 128;
/// How many are needed before the quantile is trusted.
const MIN_SAMPLES: usize = 16;

/// The recent answer times of one upstream, for one kind of request.
#[derive(Default)]
pub struct Latency {
    recent: Mutex<VecDeque<Duration>>,
}

impl Latency {
    /// Records an answer time.
    pub fn record(&self, took: Duration) {
        let mut r = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if r.len() == WINDOW {
            r.pop_front();
        }
        r.push_back(took);
    }

    /// How long to wait for this upstream before hedging.
    pub fn delay(&self, s: &HedgeSettings) -> Duration {
        let r = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if r.len() < MIN_SAMPLES {
            return s.max_delay;
        }
        let mut v: Vec<Duration> = r.iter().copied().collect();
        drop(r);
        v.sort_unstable();
        let i = ((v.len() as f64 * s.quantile).ceil() as usize).clamp(1, v.len()) - 1;
        v[i].clamp(s.min_delay, s.max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_is_the_quantile_within_bounds() {
        let s = HedgeSettings::default();
        let l = Latency::default();
        // Too few answers known: the longest delay.
        for _ in 0..MIN_SAMPLES - 1 {
            l.record(Duration::from_millis(10));
        }
        assert_eq!(l.delay(&s), Duration::from_secs(2));
        // 100 answers: 95 of 100 ms, 5 of 3 s: the 95th percentile is 100 ms.
        let l = Latency::default();
        for i in 0..100 {
            l.record(Duration::from_millis(if i % 20 == 0 { 3000 } else { 100 }));
        }
        assert_eq!(l.delay(&s), Duration::from_millis(100));
        // Fast answers: never under the minimum; slow ones: never over the maximum.
        let l = Latency::default();
        for _ in 0..50 {
            l.record(Duration::from_millis(1));
        }
        assert_eq!(l.delay(&s), Duration::from_millis(50));
        let l = Latency::default();
        for _ in 0..50 {
            l.record(Duration::from_secs(9));
        }
        assert_eq!(l.delay(&s), Duration::from_secs(2));
        // Only the last 128 count.
        for _ in 0..WINDOW {
            l.record(Duration::from_millis(300));
        }
        assert_eq!(l.delay(&s), Duration::from_millis(300));
    }
}
