//! The command's own work, measured: every millisecond, the CPU time its processes have
//! had so far (each one's CPU-time clock, in nanoseconds: the command's and every live
//! descendant's, each new process id looked at as it is handed out, or all processes
//! every 20 ms where the kernel does not say), so that the time when no request or git
//! command was under way splits into the command's own work (it ran) and time the trace
//! cannot account for (it waited on something the recorder does not see). The last
//! reading is the exact total of the command and all it waited for
//! (`getrusage(RUSAGE_CHILDREN)` around it).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::platform::cpu::{self, Processes};

/// How often the CPU time is read.
pub const EVERY: Duration = Duration::from_millis(1);
/// How often the command's descendants are looked for.
const RESCAN_EVERY: u32 = 20;

/// One reading: since the trace's epoch, and the CPU time used so far (microseconds).
pub type Sample = (u64, u64);

/// A running sampler.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<Sample>>,
    epoch: Instant,
    children_before: Option<u64>,
}

impl Sampler {
    /// Starts reading the CPU time of `pid` and its descendants, times since `epoch`.
    /// Start it before the command's process is reaped, and stop it after.
    pub fn start(pid: u32, epoch: Instant) -> Sampler {
        let children_before = cpu::children_cpu_us();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let procs = Processes::new();
            let mut out: Vec<Sample> = Vec::new();
            let mut tree: Vec<u32> = vec![pid];
            // Each process's last reading (ns), so that a process gone keeps its time.
            let mut seen: HashMap<u32, u64> = HashMap::new();
            let mut n = 0u32;
            let mut last_pid = cpu::last_pid();
            while !flag.load(Ordering::Relaxed) {
                // New processes since the last reading (pids are handed out in order),
                // else every 20 ms a look through all of them.
                match (last_pid, cpu::last_pid()) {
                    (Some(a), Some(b)) if b >= a && b - a <= 4096 => {
                        for p in a + 1..=b {
                            if procs.parent(p).is_some_and(|pp| tree.contains(&pp)) {
                                tree.push(p);
                            }
                        }
                        last_pid = Some(b);
                    }
                    (_, now) => {
                        if n.is_multiple_of(RESCAN_EVERY) || now.is_some() {
                            tree = procs.descendants(pid);
                        }
                        last_pid = now;
                    }
                }
                n += 1;
                for p in &tree {
                    if let Some(ns) = procs.cpu_ns(*p) {
                        let e = seen.entry(*p).or_default();
                        *e = (*e).max(ns);
                    }
                }
                let cpu = seen.values().sum::<u64>() / 1000;
                let at = epoch.elapsed().as_micros() as u64;
                let cpu = cpu.max(out.last().map_or(0, |l| l.1));
                out.push((at, cpu));
                std::thread::sleep(EVERY);
            }
            out
        });
        Sampler {
            stop,
            thread,
            epoch,
            children_before,
        }
    }

    /// Stops (after the command was reaped); the readings, the last one the exact total.
    pub fn stop(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        let mut out = self.thread.join().unwrap_or_default();
        // Where the system keeps no total of reaped children (Windows), the last reading.
        let total = match (cpu::children_cpu_us(), self.children_before) {
            (Some(now), Some(before)) => now.saturating_sub(before),
            _ => 0,
        };
        let at = self.epoch.elapsed().as_micros() as u64;
        let last = out.last().map_or(0, |l| l.1);
        out.push((at, total.max(last)));
        out
    }
}

/// The CPU time used between `a` and `b` (microseconds since the epoch), the readings
/// interpolated linearly between them.
pub fn cpu_between(samples: &[Sample], a: u64, b: u64) -> u64 {
    cpu_at(samples, b).saturating_sub(cpu_at(samples, a))
}

fn cpu_at(samples: &[Sample], t: u64) -> u64 {
    let i = samples.partition_point(|(at, _)| *at <= t);
    match (i.checked_sub(1).map(|j| samples[j]), samples.get(i)) {
        (None, Some(_)) | (None, None) => 0,
        (Some((_, c)), None) => c,
        (Some((t0, c0)), Some((t1, c1))) => {
            c0 + ((c1 - c0) as u128 * (t - t0) as u128 / (t1 - t0).max(1) as u128) as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation() {
        let s = [(0, 0), (10_000, 10_000), (20_000, 10_000), (30_000, 30_000)];
        assert_eq!(cpu_between(&s, 0, 10_000), 10_000);
        assert_eq!(cpu_between(&s, 5_000, 25_000), 15_000);
        assert_eq!(cpu_between(&s, 10_000, 20_000), 0);
        assert_eq!(cpu_between(&s, 25_000, 99_000), 10_000);
    }

    #[test]
    fn a_busy_child_is_seen_and_an_idle_one_is_not() {
        let busy = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"])
            .spawn()
            .unwrap();
        let epoch = Instant::now();
        let s = Sampler::start(busy.id(), epoch);
        let mut busy = busy;
        busy.wait().unwrap();
        let samples = s.stop();
        let (t, c) = *samples.last().unwrap();
        assert!(c > 0 && c <= t + 20_000, "{samples:?}");
        // Read as it ran, not only at the end.
        assert!(samples[samples.len() - 2].1 > 0, "{samples:?}");
        let mut idle = std::process::Command::new("sleep")
            .arg("0.3")
            .spawn()
            .unwrap();
        let s = Sampler::start(idle.id(), Instant::now());
        idle.wait().unwrap();
        let samples = s.stop();
        assert!(samples.len() >= 10, "{samples:?}");
        assert!(samples.last().unwrap().1 <= 5_000, "{samples:?}");
    }
}
