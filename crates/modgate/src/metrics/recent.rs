//! The last hour in memory, for the dashboard at `/ui/` (no TSDB needed): one sample a
//! second for the last ten minutes and one a minute for the last hour, each with the
//! requests answered, the cache's hits of its lookups, the upstream errors, and the
//! median and 99th percentile of the answers' latency; and the last 200 refusals and
//! errors (status 400 and up) with the client and the reason.
//!
//! A request costs two relaxed atomic additions (its count and its latency's bucket, in
//! the current second's accumulator); lookups and upstream errors are counted once more
//! beside their Prometheus counters. A task ([`Recent::tick`], each second) moves the
//! second's accumulator into the rings.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Samples kept a second apart.
pub const SECONDS: usize = 600;
/// Samples kept a minute apart.
pub const MINUTES: usize = 60;
/// Refusals and errors kept.
pub const REFUSALS: usize = 200;

/// Latency buckets: four per power of two of microseconds, from 1 µs to about 2^40 µs.
const BUCKETS: usize = 4 * 41;

/// The bucket of a latency of `us` microseconds: its power of two, and which quarter
/// of it (a relative error of at most 25%).
/// (Below 4 µs, a bucket a microsecond; buckets 4 to 7 are not used.)
fn bucket(us: u64) -> usize {
    if us < 4 {
        return us as usize;
    }
    let log = 63 - us.leading_zeros() as usize;
    let quarter = ((us >> (log - 2)) & 3) as usize;
    (log * 4 + quarter).min(BUCKETS - 1)
}

/// The lowest latency (µs) in bucket `b`.
fn bucket_floor(b: usize) -> f64 {
    if b < 8 {
        return b.min(4) as f64;
    }
    let (log, quarter) = (b / 4, (b % 4) as f64);
    2f64.powi(log as i32) * (1.0 + quarter / 4.0)
}

/// The `q` quantile (0 to 1) of `counts`, in milliseconds: the middle of the bucket it
/// falls in (0 when there is nothing).
fn quantile(counts: &[u64; BUCKETS], q: f64) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let rank = (q * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (b, n) in counts.iter().enumerate() {
        seen += n;
        if seen >= rank {
            let mid = (bucket_floor(b) + bucket_floor(b + 1)) / 2.0;
            return (mid / 1000.0 * 1000.0).round() / 1000.0;
        }
    }
    0.0
}

/// One sample: what happened in one second or one minute.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// Its start, seconds since the epoch.
    pub t: u64,
    /// Requests answered.
    pub requests: u64,
    /// Cache lookups.
    pub lookups: u64,
    /// Of them, hits.
    pub hits: u64,
    /// Upstream requests that failed (errors and timeouts).
    pub upstream_errors: u64,
    /// The answers' median latency, in milliseconds.
    pub p50_ms: f64,
    /// Their 99th percentile.
    pub p99_ms: f64,
}

/// A refusal or error answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// When, RFC 3339.
    pub at: String,
    /// The status.
    pub status: u16,
    /// The request's path (at most 300 characters).
    pub path: String,
    /// The module path as written in it (escaped), if it names one.
    pub module: Option<String>,
    /// The client's name (`anonymous`, `refused`).
    pub client: String,
    /// The answer's reason line.
    pub reason: String,
}

/// The rings and the current second.
pub struct Recent {
    requests: AtomicU64,
    latency: [AtomicU64; BUCKETS],
    /// Totals since the start (read as differences at each tick).
    lookups: AtomicU64,
    hits: AtomicU64,
    upstream_errors: AtomicU64,
    rings: Mutex<Rings>,
    refusals: Mutex<VecDeque<Refusal>>,
}

#[derive(Default)]
struct Rings {
    seconds: VecDeque<Sample>,
    minutes: VecDeque<Sample>,
    /// The minute being filled: its samples' latency buckets and counts.
    minute: Option<(Sample, Box<[u64; BUCKETS]>)>,
    /// The totals at the last tick.
    last: (u64, u64, u64),
}

/// What `/api/v1/samples` answers.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    /// A sample a second, oldest first.
    pub seconds: Vec<Sample>,
    /// A sample a minute, oldest first (the current minute last, partial).
    pub minutes: Vec<Sample>,
    /// Cache lookups since the start (what `/metrics` counts).
    pub lookups: u64,
    /// Of them, hits.
    pub hits: u64,
    /// `hits / lookups` (0 before any lookup).
    pub hit_ratio: f64,
}

impl Default for Recent {
    fn default() -> Self {
        Recent {
            requests: AtomicU64::new(0),
            latency: std::array::from_fn(|_| AtomicU64::new(0)),
            lookups: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            upstream_errors: AtomicU64::new(0),
            rings: Mutex::new(Rings::default()),
            refusals: Mutex::new(VecDeque::with_capacity(REFUSALS)),
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Recent {
    /// Counts an answered request and its latency.
    pub fn request(&self, took: Duration) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.latency[bucket(took.as_micros() as u64)].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a cache lookup.
    pub fn lookup(&self, hit: bool) {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        if hit {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a failed upstream request.
    pub fn upstream_error(&self) {
        self.upstream_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Keeps a refusal or error (the oldest goes past [`REFUSALS`]).
    pub fn refused(&self, r: Refusal) {
        let mut q = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() == REFUSALS {
            q.pop_front();
        }
        q.push_back(r);
    }

    /// The refusals and errors kept, newest first.
    pub fn refusals(&self) -> Vec<Refusal> {
        let q = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        q.iter().rev().cloned().collect()
    }

    /// Ends the second that began at `t` (seconds since the epoch): its counts become a
    /// sample, added to the minute it is in.
    pub fn tick_at(&self, t: u64) {
        let requests = self.requests.swap(0, Ordering::Relaxed);
        let mut counts = [0u64; BUCKETS];
        for (c, a) in counts.iter_mut().zip(&self.latency) {
            *c = a.swap(0, Ordering::Relaxed);
        }
        let totals = (
            self.lookups.load(Ordering::Relaxed),
            self.hits.load(Ordering::Relaxed),
            self.upstream_errors.load(Ordering::Relaxed),
        );
        let mut rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        let last = std::mem::replace(&mut rings.last, totals);
        let sample = Sample {
            t,
            requests,
            lookups: totals.0.saturating_sub(last.0),
            hits: totals.1.saturating_sub(last.1),
            upstream_errors: totals.2.saturating_sub(last.2),
            p50_ms: quantile(&counts, 0.5),
            p99_ms: quantile(&counts, 0.99),
        };
        if rings.seconds.len() == SECONDS {
            rings.seconds.pop_front();
        }
        rings.seconds.push_back(sample.clone());
        let minute_start = t - t % 60;
        if rings
            .minute
            .as_ref()
            .is_some_and(|(m, _)| m.t != minute_start)
            && let Some((done, _)) = rings.minute.take()
        {
            if rings.minutes.len() == MINUTES {
                rings.minutes.pop_front();
            }
            rings.minutes.push_back(done);
        }
        let (m, buckets) = rings.minute.get_or_insert_with(|| {
            (
                Sample {
                    t: minute_start,
                    requests: 0,
                    lookups: 0,
                    hits: 0,
                    upstream_errors: 0,
                    p50_ms: 0.0,
                    p99_ms: 0.0,
                },
                Box::new([0; BUCKETS]),
            )
        });
        m.requests += sample.requests;
        m.lookups += sample.lookups;
        m.hits += sample.hits;
        m.upstream_errors += sample.upstream_errors;
        for (b, c) in buckets.iter_mut().zip(counts) {
            *b += c;
        }
        m.p50_ms = quantile(buckets, 0.5);
        m.p99_ms = quantile(buckets, 0.99);
    }

    /// The rings as they are now.
    pub fn series(&self) -> Series {
        let rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        let mut minutes: Vec<Sample> = rings.minutes.iter().cloned().collect();
        minutes.extend(rings.minute.as_ref().map(|(m, _)| m.clone()));
        let (lookups, hits) = (
            self.lookups.load(Ordering::Relaxed),
            self.hits.load(Ordering::Relaxed),
        );
        Series {
            seconds: rings.seconds.iter().cloned().collect(),
            minutes,
            lookups,
            hits,
            hit_ratio: if lookups == 0 {
                0.0
            } else {
                hits as f64 / lookups as f64
            },
        }
    }

    /// Ticks each second for as long as the process runs (started once, by `serve`).
    pub fn start_ticking(&'static self) {
        tokio::spawn(async move {
            let mut t = now_secs();
            loop {
                // To the start of the next second of the clock.
                let ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_millis());
                tokio::time::sleep(Duration::from_millis(u64::from(1000 - ms))).await;
                let now = now_secs();
                // A stall (a suspended machine): the seconds missed are empty.
                while t + 1 < now && now - t < SECONDS as u64 {
                    self.tick_at(t);
                    t += 1;
                }
                self.tick_at(now.saturating_sub(1).max(t));
                t = now;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_fall_in_quarter_power_of_two_buckets() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(1), 1);
        assert_eq!(bucket(3), 3);
        assert_eq!(bucket(4), 8);
        assert_eq!(bucket(5), 9);
        assert_eq!(bucket(7), 11);
        assert_eq!(bucket(1000), 4 * 9 + 3);
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
        for us in [0u64, 1, 3, 4, 10, 999, 1000, 65_536, 3_000_000] {
            let b = bucket(us);
            assert!(
                bucket_floor(b) <= us as f64 && (us as f64) < bucket_floor(b + 1),
                "{us}"
            );
        }
    }

    #[test]
    fn seconds_become_samples_and_minutes() {
        let r = Recent::default();
        for _ in 0..98 {
            r.request(Duration::from_micros(100));
        }
        r.request(Duration::from_millis(50));
        r.request(Duration::from_millis(50));
        for i in 0..4 {
            r.lookup(i != 0);
        }
        r.upstream_error();
        r.tick_at(1_000_020);
        r.request(Duration::from_micros(100));
        r.tick_at(1_000_021);
        // A new minute (1_000_020 starts one): the last one is done.
        r.tick_at(1_000_080);
        let s = r.series();
        assert_eq!(s.seconds.len(), 3);
        let first = &s.seconds[0];
        assert_eq!(
            (
                first.t,
                first.requests,
                first.lookups,
                first.hits,
                first.upstream_errors
            ),
            (1_000_020, 100, 4, 3, 1)
        );
        // 100 µs is in [96, 112): its middle; 50 ms in [49152, 57344).
        assert_eq!(first.p50_ms, 0.104);
        assert_eq!(first.p99_ms, 53.248);
        assert_eq!((s.seconds[1].requests, s.seconds[1].lookups), (1, 0));
        assert_eq!(s.minutes.len(), 2);
        assert_eq!(
            (s.minutes[0].t, s.minutes[0].requests, s.minutes[0].hits),
            (1_000_020, 101, 3)
        );
        assert_eq!(s.minutes[0].p99_ms, 53.248);
        assert_eq!((s.minutes[1].t, s.minutes[1].requests), (1_000_080, 0));
        assert_eq!((s.lookups, s.hits, s.hit_ratio), (4, 3, 0.75));
        for t in 0..SECONDS as u64 + 5 {
            r.tick_at(2_000_000 + t);
        }
        let s = r.series();
        assert_eq!(s.seconds.len(), SECONDS);
        assert_eq!(s.seconds[0].t, 2_000_005);
        assert!(s.minutes.len() <= MINUTES + 1);
    }

    #[test]
    fn the_last_refusals_newest_first() {
        let r = Recent::default();
        for i in 0..REFUSALS + 3 {
            r.refused(Refusal {
                at: String::new(),
                status: 403,
                path: format!("/m{i}/@v/list"),
                module: None,
                client: "ci".into(),
                reason: "forbidden".into(),
            });
        }
        let got = r.refusals();
        assert_eq!(got.len(), REFUSALS);
        assert_eq!(got[0].path, format!("/m{}/@v/list", REFUSALS + 2));
        assert_eq!(got[REFUSALS - 1].path, "/m3/@v/list");
    }
}
