//! CPU time and load: the machine's load average and how busy its CPUs are, and the CPU
//! time of processes (one by one, and of this process's reaped children), with the
//! parent of each, for the trace's sampler.

use std::collections::HashMap;
use std::time::Duration;

/// The one-minute load average, where the system keeps one (not on Windows).
pub fn load_average() -> Option<f64> {
    #[cfg(target_os = "linux")]
    {
        std::fs::read_to_string("/proc/loadavg")
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }
    #[cfg(target_os = "macos")]
    {
        Some(sysinfo::System::load_average().one)
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    {
        None
    }
}

/// The share of the machine's CPU time spent busy (0..=1) while `during` runs, at least
/// `window` long; and what `during` returned.
pub fn busy_while<T>(window: Duration, during: impl FnOnce() -> T) -> (Option<f64>, T) {
    let start = std::time::Instant::now();
    #[cfg(any(target_os = "linux", windows))]
    {
        let a = cpu_times();
        let out = during();
        std::thread::sleep(window.saturating_sub(start.elapsed()));
        let busy = match (a, cpu_times()) {
            (Some((ia, ta)), Some((ib, tb))) if tb > ta => {
                Some(1.0 - ib.saturating_sub(ia) as f64 / (tb - ta) as f64)
            }
            _ => None,
        };
        (busy, out)
    }
    #[cfg(not(any(target_os = "linux", windows)))]
    {
        let mut s = sysinfo::System::new();
        s.refresh_cpu_usage();
        let out = during();
        std::thread::sleep(
            window
                .max(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL)
                .saturating_sub(start.elapsed()),
        );
        s.refresh_cpu_usage();
        let busy = f64::from(s.global_cpu_usage()) / 100.0;
        ((0.0..=1.0).contains(&busy).then_some(busy), out)
    }
}

/// (idle+iowait, total) jiffies of all CPUs, from `/proc/stat`.
#[cfg(target_os = "linux")]
fn cpu_times() -> Option<(u64, u64)> {
    parse_cpu_times(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// (idle, total) time of all CPUs, in 100 ns units (`GetSystemTimes`: its kernel time
/// counts the idle time too).
#[cfg(windows)]
fn cpu_times() -> Option<(u64, u64)> {
    use windows_sys::Win32::Foundation::FILETIME;
    use windows_sys::Win32::System::Threading::GetSystemTimes;
    let zero = FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    let (mut idle, mut kernel, mut user) = (zero, zero, zero);
    // SAFETY: the call writes only the three values it is given.
    if unsafe { GetSystemTimes(&mut idle, &mut kernel, &mut user) } == 0 {
        return None;
    }
    let n = |t: FILETIME| (u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime);
    Some((n(idle), n(kernel) + n(user)))
}

#[cfg(any(target_os = "linux", test))]
fn parse_cpu_times(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    Some((idle, v.iter().take(8).sum()))
}

/// The user and system time of this process's reaped children so far (microseconds,
/// `getrusage(RUSAGE_CHILDREN)`); `None` where the system does not keep it (Windows).
pub fn children_cpu_us() -> Option<u64> {
    #[cfg(unix)]
    {
        // SAFETY: getrusage only writes the struct it is given.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) } != 0 {
            return None;
        }
        #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
        let us = |t: libc::timeval| {
            (t.tv_sec as i64).max(0) as u64 * 1_000_000 + (t.tv_usec as i64).max(0) as u64
        };
        Some(us(u.ru_utime) + us(u.ru_stime))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The last process id the kernel handed out (`/proc/sys/kernel/ns_last_pid`), where it
/// says (Linux): new processes since a reading are those after it.
pub fn last_pid() -> Option<u32> {
    #[cfg(target_os = "linux")]
    {
        std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
            .ok()?
            .trim()
            .parse()
            .ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// The processes of this machine, read again on each call (Linux: `/proc`; elsewhere
/// sysinfo's table, refreshed for what is asked).
pub struct Processes {
    #[cfg(not(target_os = "linux"))]
    table: std::cell::RefCell<sysinfo::System>,
}

impl Default for Processes {
    fn default() -> Self {
        Self::new()
    }
}

impl Processes {
    /// Ready to read.
    pub fn new() -> Processes {
        Processes {
            #[cfg(not(target_os = "linux"))]
            table: std::cell::RefCell::new(sysinfo::System::new()),
        }
    }

    /// The parent of process `pid`, if it is alive.
    pub fn parent(&self, pid: u32) -> Option<u32> {
        #[cfg(target_os = "linux")]
        {
            parse_ppid(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let kind = sysinfo::ProcessRefreshKind::nothing();
            self.refreshed(pid, kind, |p| p.parent().map(|p| p.as_u32()))
                .flatten()
        }
    }

    /// Every live process and its parent.
    pub fn parents(&self) -> HashMap<u32, u32> {
        let mut out = HashMap::new();
        #[cfg(target_os = "linux")]
        if let Ok(dir) = std::fs::read_dir("/proc") {
            for entry in dir.flatten() {
                if let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok())
                    && let Some(pp) = self.parent(pid)
                {
                    out.insert(pid, pp);
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let mut t = self.table.borrow_mut();
            t.refresh_processes_specifics(
                sysinfo::ProcessesToUpdate::All,
                true,
                sysinfo::ProcessRefreshKind::nothing(),
            );
            for (pid, p) in t.processes() {
                if let Some(pp) = p.parent() {
                    out.insert(pid.as_u32(), pp.as_u32());
                }
            }
        }
        out
    }

    /// `root` and its live descendants, `root` first, each after its parent.
    pub fn descendants(&self, root: u32) -> Vec<u32> {
        let parents = self.parents();
        let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
        for (&pid, &pp) in &parents {
            if pid != pp {
                children.entry(pp).or_default().push(pid);
            }
        }
        let mut out = vec![root];
        let mut i = 0;
        while let Some(&p) = out.get(i) {
            if let Some(c) = children.get(&p) {
                for &c in c {
                    if !out.contains(&c) {
                        out.push(c);
                    }
                }
            }
            i += 1;
        }
        out
    }

    /// The CPU time of process `pid` so far, all its threads (ns). Linux: its CPU-time
    /// clock, which counts the running thread up to now (`/proc`'s figures lag until it
    /// is switched out, or come in 10 ms ticks); elsewhere the system's accounting, in
    /// milliseconds.
    pub fn cpu_ns(&self, pid: u32) -> Option<u64> {
        #[cfg(target_os = "linux")]
        {
            let mut clock: libc::clockid_t = 0;
            // SAFETY: both calls only write the values they are given.
            if unsafe { libc::clock_getcpuclockid(pid as libc::pid_t, &mut clock) } != 0 {
                return None;
            }
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
                return None;
            }
            Some(ts.tv_sec.max(0) as u64 * 1_000_000_000 + ts.tv_nsec.max(0) as u64)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let kind = sysinfo::ProcessRefreshKind::nothing().with_cpu();
            self.refreshed(pid, kind, |p| p.accumulated_cpu_time() * 1_000_000)
        }
    }

    /// Kills process `pid` (Windows' [`super::process::kill_tree`]).
    #[cfg(not(unix))]
    pub fn kill(&self, pid: u32) -> bool {
        let kind = sysinfo::ProcessRefreshKind::nothing();
        self.refreshed(pid, kind, |p| p.kill()).unwrap_or(false)
    }

    /// `read` of process `pid` as the table has it after refreshing `kind` of it; `None`
    /// when it is gone.
    #[cfg(not(target_os = "linux"))]
    fn refreshed<T>(
        &self,
        pid: u32,
        kind: sysinfo::ProcessRefreshKind,
        read: impl FnOnce(&sysinfo::Process) -> T,
    ) -> Option<T> {
        let pid = sysinfo::Pid::from_u32(pid);
        let mut t = self.table.borrow_mut();
        t.refresh_processes_specifics(sysinfo::ProcessesToUpdate::Some(&[pid]), true, kind);
        t.process(pid).map(read)
    }
}

/// The parent of a process, from its `/proc/PID/stat` line.
#[cfg(any(target_os = "linux", test))]
pub fn parse_ppid(line: &str) -> Option<u32> {
    // The command name is in parentheses and may hold anything: fields start after the
    // last ')': state, then ppid.
    line[line.rfind(')')? + 1..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_times_of_proc_stat() {
        let stat = "cpu  10 2 30 400 5 6 7 8 9 10\ncpu0 1 1 1 1 1 1 1 1\n";
        assert_eq!(parse_cpu_times(stat), Some((405, 468)));
        assert_eq!(parse_cpu_times("cpu0 1 2 3 4\n"), None);
        assert_eq!(parse_cpu_times("cpu  1 2 3\n"), None);
    }

    #[test]
    fn stat_lines() {
        assert_eq!(parse_ppid("12 (sh) S 7 12 12 0"), Some(7));
        assert_eq!(parse_ppid("12 (a) b (c)) R 99 1"), Some(99));
        assert_eq!(parse_ppid("12 (sh"), None);
    }

    #[test]
    fn this_machine() {
        let (busy, x) = busy_while(Duration::from_millis(50), || 7);
        assert_eq!(x, 7);
        assert!(busy.is_some_and(|b| (0.0..=1.0).contains(&b)), "{busy:?}");
        assert!(load_average().is_some_and(|l| l >= 0.0));
        assert!(last_pid().is_some());
        let p = Processes::new();
        let me = std::process::id();
        assert!(p.cpu_ns(me).is_some_and(|n| n > 0));
        assert_eq!(p.parent(me), Some(std::os::unix::process::parent_id()));
        assert_eq!(
            p.parents().get(&me),
            Some(&std::os::unix::process::parent_id())
        );
        let mut c = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let d = p.descendants(me);
        assert_eq!(d[0], me);
        assert!(d.contains(&c.id()), "{d:?}");
        c.kill().unwrap();
        c.wait().unwrap();
        assert!(children_cpu_us().is_some());
    }
}
