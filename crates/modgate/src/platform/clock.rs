//! A cheap monotonic clock in milliseconds, for what is timed in seconds (a connection's
//! header and idle timeouts): several readings per request on the fast path.
//!
//! On Linux, `CLOCK_MONOTONIC_COARSE`: the time of the last clock tick (1 to 4 ms old),
//! read from the vDSO without reading the CPU's time stamp counter. Elsewhere, [`Instant`].
//! A reading may be compared with another, never with an `Instant`.

/// Milliseconds on a monotonic clock since an unspecified origin, at most a clock tick
/// behind the precise clock.
pub fn coarse_millis() -> u64 {
    imp::coarse_millis()
}

#[cfg(target_os = "linux")]
mod imp {
    pub fn coarse_millis() -> u64 {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::MonotonicCoarse);
        (t.tv_sec as u64) * 1000 + (t.tv_nsec as u64) / 1_000_000
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::sync::LazyLock;
    use std::time::Instant;

    static ORIGIN: LazyLock<Instant> = LazyLock::new(Instant::now);

    pub fn coarse_millis() -> u64 {
        ORIGIN.elapsed().as_millis() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn coarse_millis_follows_the_precise_clock_within_a_tick() {
        let (a, precise) = (coarse_millis(), Instant::now());
        std::thread::sleep(std::time::Duration::from_millis(50));
        let b = coarse_millis();
        let elapsed = precise.elapsed().as_millis() as u64;
        // Each reading is at most a tick behind (10 ms at 100 Hz, the slowest tick).
        assert!(
            b + 15 >= a + 50 && b <= a + elapsed + 15,
            "{a} then {b} over {elapsed} ms"
        );
    }
}
