//! One deadline for a whole doctor run. Every wait (name resolution, connect, first byte,
//! transfer, discovery, git) is bounded by what is left of `--timeout`, and the checks
//! that wait run at once, so a run ends within `--timeout` (plus printing) whatever
//! hangs, instead of adding one full wait per check that meets the same dead server.

use std::time::{Duration, Instant};

/// The instant the run must be done by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
    whole: Duration,
}

/// The least a wait is given, so that one started at the deadline still reports.
const LEAST: Duration = Duration::from_millis(1);

impl Deadline {
    /// `whole` from now.
    pub fn after(whole: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + whole,
            whole,
        }
    }

    /// What is left (at least a millisecond): the bound of the next wait.
    pub fn left(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now()).max(LEAST)
    }

    /// The whole budget (`--timeout`), for messages.
    pub fn whole(&self) -> Duration {
        self.whole
    }

    /// True once the deadline has passed.
    pub fn passed(&self) -> bool {
        Instant::now() >= self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_left_shrinks_and_never_reaches_zero() {
        let d = Deadline::after(Duration::from_millis(200));
        assert!(d.left() <= Duration::from_millis(200));
        assert!(!d.passed());
        std::thread::sleep(Duration::from_millis(250));
        assert!(d.passed());
        assert_eq!(d.left(), LEAST);
        assert_eq!(d.whole(), Duration::from_millis(200));
    }
}
