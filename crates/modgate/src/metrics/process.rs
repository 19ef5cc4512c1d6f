//! The process's own metrics, read at each scrape (from `/proc` on Linux; elsewhere from
//! what sysinfo reads of the system, without the descriptor counts it has no figure for), under the names every
//! Prometheus client library uses (`process_cpu_seconds_total`, ...), so that standard
//! dashboards and alerts find them.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Reads the process's figures at each scrape.
#[derive(Debug)]
pub(super) struct Process;

/// What the system says of this process now.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Figures {
    cpu_seconds: f64,
    resident_bytes: i64,
    virtual_bytes: i64,
    /// Where the system counts them (Linux).
    open_fds: Option<i64>,
    /// The soft limit (Unix).
    max_fds: Option<i64>,
    start_time_seconds: f64,
}

impl Collector for Process {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(f) = read() else {
            return Ok(());
        };
        let cpu = ConstCounter::new(f.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            None,
            cpu.metric_type(),
        )?)?;
        for (name, help, value) in [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                Some(f.resident_bytes),
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
                Some(f.virtual_bytes),
            ),
            (
                "process_open_fds",
                "Number of open file descriptors",
                f.open_fds,
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors (the soft limit)",
                f.max_fds,
            ),
        ] {
            let Some(value) = value else {
                continue;
            };
            let g = ConstGauge::new(value);
            g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)?;
        }
        let start = ConstGauge::new(f.start_time_seconds);
        start.encode(encoder.encode_descriptor(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch in seconds",
            None,
            start.metric_type(),
        )?)?;
        Ok(())
    }
}

/// The figures, or `None` where `/proc` cannot be read (then the family is left out).
#[cfg(target_os = "linux")]
fn read() -> Option<Figures> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let boot = std::fs::read_to_string("/proc/stat").ok()?;
    let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as i64;
    // SAFETY: sysconf has no preconditions.
    let (ticks, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    parse(&stat, &boot, ticks as f64, page as f64).map(|f| Figures {
        open_fds: Some(open_fds),
        max_fds: Some(max_fds()),
        ..f
    })
}

/// The figures as sysinfo reads them (macOS: `libproc`; Windows: its process API).
#[cfg(not(target_os = "linux"))]
fn read() -> Option<Figures> {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};
    let pid = sysinfo::get_current_pid().ok()?;
    let mut s = System::new();
    s.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing().with_cpu().with_memory(),
    );
    let p = s.process(pid)?;
    Some(Figures {
        cpu_seconds: p.accumulated_cpu_time() as f64 / 1000.0,
        resident_bytes: i64::try_from(p.memory()).unwrap_or(i64::MAX),
        virtual_bytes: i64::try_from(p.virtual_memory()).unwrap_or(i64::MAX),
        open_fds: None,
        #[cfg(unix)]
        max_fds: Some(max_fds()),
        #[cfg(not(unix))]
        max_fds: None,
        start_time_seconds: p.start_time() as f64,
    })
}

/// The soft limit on open descriptors (-1: none).
#[cfg(unix)]
fn max_fds() -> i64 {
    rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// The CPU time, memory and start time from `/proc/self/stat` (`stat`) and the boot time
/// from `/proc/stat` (`boot`), with `ticks` clock ticks per second and `page` bytes per
/// page.
#[cfg(any(target_os = "linux", test))]
fn parse(stat: &str, boot: &str, ticks: f64, page: f64) -> Option<Figures> {
    // The command name is in parentheses and may hold spaces and parentheses: the fields
    // are counted after the last `)` (field 3, the state, is the first of them).
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Option<f64> { f.get(n - 3)?.parse().ok() };
    let btime: f64 = boot
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(Figures {
        cpu_seconds: (field(14)? + field(15)?) / ticks,
        virtual_bytes: field(23)? as i64,
        resident_bytes: (field(24)? * page) as i64,
        start_time_seconds: btime + field(22)? / ticks,
        ..Figures::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_figures_are_read_after_the_command_name_whatever_it_holds() {
        let stat = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 2000 0 0 0 250 50 0 0 20 0 9 0 \
                    1000 123456789 300 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0";
        let boot = "cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n";
        let f = parse(stat, boot, 100.0, 4096.0).unwrap();
        assert_eq!(
            f,
            Figures {
                cpu_seconds: 3.0,
                resident_bytes: 300 * 4096,
                virtual_bytes: 123456789,
                start_time_seconds: 1700000010.0,
                ..Figures::default()
            }
        );
        assert_eq!(parse("4242 (x", boot, 100.0, 4096.0), None);
        assert_eq!(parse(stat, "cpu 1\n", 100.0, 4096.0), None);
    }

    #[test]
    fn this_process_s_figures_are_plausible() {
        // Some CPU time first (the kernel counts it in ticks of 10 ms).
        let spin = std::time::Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < std::time::Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let f = read().unwrap();
        assert!(f.cpu_seconds >= 0.01, "{f:?}");
        assert!(f.resident_bytes > 1 << 20, "{f:?}");
        assert!(f.virtual_bytes >= f.resident_bytes, "{f:?}");
        let (open, max) = (f.open_fds.unwrap(), f.max_fds.unwrap());
        assert!(open >= 3 && open <= max, "{f:?}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            f.start_time_seconds <= now + 1.0 && f.start_time_seconds > now - 86400.0,
            "{f:?}"
        );
    }
}
