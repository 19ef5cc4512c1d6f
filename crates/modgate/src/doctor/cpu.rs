//! CPU and concurrency: the cores this process may use, the load, how busy the CPUs are
//! right now (sampled from `/proc/stat` on Linux; platform/cpu.rs), and the settings that limit the go command's
//! parallel work (GOMAXPROCS, GOFLAGS `-p`), and how fast a core hashes next to how fast a
//! real zip came down. Hashing and extracting zips is CPU work: a saturated or slow
//! machine makes downloads slow however fast the network is.

use std::time::Duration;

use super::checked::Checked;
use super::finding::{Finding, Group, Severity};
use crate::goenv::GoSettings;
use crate::platform::cpu;

/// What was measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Cores this process may run on.
    pub cores: usize,
    /// The one-minute load average.
    pub load: Option<f64>,
    /// The share of CPU time spent busy over the sample, 0..=1.
    pub busy: Option<f64>,
    /// How fast one core hashes (SHA-256, what the go command does to every zip), bytes
    /// per second.
    pub hash_rate: f64,
}

impl Sample {
    /// Measures for `window`.
    pub fn take(window: Duration) -> Sample {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let load = cpu::load_average();
        let (busy, hash_rate) = cpu::busy_while(window, hash_rate);
        Sample {
            cores,
            load,
            busy,
            hash_rate,
        }
    }

    /// The sample as one line.
    pub fn describe(&self) -> String {
        let mut s = format!("{} cores", self.cores);
        if let Some(l) = self.load {
            s.push_str(&format!(", load {l:.2}"));
        }
        if let Some(b) = self.busy {
            s.push_str(&format!(", CPU {:.0}% busy", b * 100.0));
        }
        s.push_str(&format!(", SHA-256 {:.0} MB/s", self.hash_rate / 1e6));
        s
    }
}

/// SHA-256 over 8 MB on this thread: bytes per second.
fn hash_rate() -> f64 {
    use sha2::Digest;
    let data = vec![0xa5u8; 8 << 20];
    let t = std::time::Instant::now();
    let mut h = sha2::Sha256::new();
    h.update(&data);
    std::hint::black_box(h.finalize());
    data.len() as f64 / t.elapsed().as_secs_f64().max(1e-9)
}

fn warning(measured: String, cause: &str, fix: String) -> Finding {
    Finding {
        group: Group::Cpu,
        severity: Severity::Warning,
        measured,
        cause: cause.to_string(),
        fix: Some(fix),
    }
}

/// The findings for `sample` under `settings`, and the sample as measured; `zip_rate` is the
/// best download rate of a real zip the network checks measured (bytes per second).
pub fn check(sample: &Sample, settings: &GoSettings, zip_rate: Option<f64>) -> Checked {
    let mut out = Checked::default();
    let cores = sample.cores;
    if let Ok(n) = settings.get("GOMAXPROCS").trim().parse::<usize>()
        && n < cores
    {
        out.find(warning(
            format!("GOMAXPROCS={n} on {cores} cores"),
            "the go command uses fewer cores than the machine has for hashing and extracting modules",
            super::commands::unset_env("GOMAXPROCS"),
        ));
    }
    let goflags = settings.get("GOFLAGS");
    let p = goflags
        .split_whitespace()
        .find_map(|f| f.strip_prefix("-p=").or_else(|| f.strip_prefix("--p=")))
        .and_then(|n| n.parse::<usize>().ok());
    if let Some(p) = p
        && p < cores
    {
        let rest: Vec<&str> = goflags
            .split_whitespace()
            .filter(|f| !f.starts_with("-p=") && !f.starts_with("--p="))
            .collect();
        out.find(warning(
            format!("GOFLAGS={goflags}: -p={p} on {cores} cores"),
            "the go command runs fewer jobs at once than there are cores",
            if rest.is_empty() {
                "go env -u GOFLAGS".into()
            } else {
                format!("go env -w GOFLAGS=\"{}\"", rest.join(" "))
            },
        ));
    }
    if let Some(net) = zip_rate.filter(|n| *n > sample.hash_rate) {
        out.find(warning(
            format!(
                "this machine hashes {:.0} MB/s on one core; a zip downloaded at {:.0} MB/s",
                sample.hash_rate / 1e6,
                net / 1e6
            ),
            "the CPU, not the network, limits downloads: every zip is hashed (and extracted) after it arrives",
            "run downloads on a less busy or faster machine, or keep a warm module cache (GOFLAGS=-modcacherw, a shared GOMODCACHE)".into(),
        ));
    }
    let overloaded = sample.load.is_some_and(|l| l > 2.0 * cores as f64);
    let saturated = sample.busy.is_some_and(|b| b > 0.9);
    if overloaded || saturated {
        out.find(warning(
            sample.describe(),
            "the machine is busy: downloads wait for CPU (hashing, extracting) as much as for the network",
            "ps -eo pid,pcpu,comm --sort=-pcpu | head  (find what is using the CPU)".into(),
        ));
    }
    out.measure(Group::Cpu, sample.describe());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::checked::Measured;
    use crate::goenv::test_settings;

    fn sample(load: f64, busy: f64) -> Sample {
        Sample {
            cores: 4,
            load: Some(load),
            busy: Some(busy),
            hash_rate: 500e6,
        }
    }

    #[test]
    fn limits_and_a_busy_machine() {
        assert_eq!(
            check(&sample(0.5, 0.1), &test_settings(&[]), Some(50e6)).findings,
            []
        );
        let s = test_settings(&[("GOMAXPROCS", "1"), ("GOFLAGS", "-mod=mod -p=2")]);
        let f = check(&sample(0.5, 0.1), &s, None).findings;
        assert_eq!(
            f.iter().map(|f| f.measured.as_str()).collect::<Vec<_>>(),
            [
                "GOMAXPROCS=1 on 4 cores",
                "GOFLAGS=-mod=mod -p=2: -p=2 on 4 cores"
            ]
        );
        assert_eq!(f[1].fix.as_deref(), Some("go env -w GOFLAGS=\"-mod=mod\""));
        let c = check(&sample(9.0, 0.95), &test_settings(&[]), None);
        assert_eq!(
            c.measured,
            [Measured {
                group: Group::Cpu,
                text: "4 cores, load 9.00, CPU 95% busy, SHA-256 500 MB/s".into(),
                series: None,
            }]
        );
        let f = c.findings;
        assert_eq!(
            f[0].measured,
            "4 cores, load 9.00, CPU 95% busy, SHA-256 500 MB/s"
        );
        let f = check(&sample(0.5, 0.1), &test_settings(&[]), Some(800e6)).findings;
        assert_eq!(
            f[0].measured,
            "this machine hashes 500 MB/s on one core; a zip downloaded at 800 MB/s"
        );
        let live = Sample::take(Duration::from_millis(50));
        assert!(live.cores >= 1 && live.busy.is_some_and(|b| (0.0..=1.0).contains(&b)));
        assert!(live.hash_rate > 1e6, "{live:?}");
    }
}
