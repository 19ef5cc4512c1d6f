//! Processes: whether one is alive, killing a command with all it started, passing an
//! interrupt on to a child, how it ended, and this machine's name.

use std::process::ExitStatus;

/// Whether process `pid` exists on this machine (`kill(pid, 0)`; elsewhere, the
/// system's process table).
pub fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(unix)]
    {
        match i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            // EPERM: it exists, run by another user.
            Some(p) => !matches!(
                rustix::process::test_kill_process(p),
                Err(rustix::io::Errno::SRCH)
            ),
            None => true,
        }
    }
    #[cfg(not(unix))]
    {
        use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};
        let mut s = System::new();
        let pid = Pid::from_u32(pid);
        s.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            true,
            ProcessRefreshKind::nothing(),
        );
        s.process(pid).is_some()
    }
}

/// Makes `cmd`'s process lead a process group of its own, so that [`kill_tree`] reaches
/// everything it starts (Unix; Windows has no process groups, [`kill_tree`] walks the
/// process table instead).
pub fn own_group(cmd: &mut tokio::process::Command) -> &mut tokio::process::Command {
    #[cfg(unix)]
    {
        cmd.process_group(0)
    }
    #[cfg(not(unix))]
    {
        cmd
    }
}

/// Kills process `pid`, started with [`own_group`], and every process it started
/// (`SIGKILL` to its group; Windows: its descendants in the process table, then it).
pub fn kill_tree(pid: u32) {
    #[cfg(unix)]
    {
        if let Some(pid) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
    #[cfg(not(unix))]
    {
        let procs = super::cpu::Processes::new();
        for p in procs.descendants(pid).into_iter().rev() {
            procs.kill(p);
        }
    }
}

/// Waits for `child`, passing `SIGINT` and `SIGTERM` that this process gets on to it (the
/// go command interrupts a git command it gives up on). On Windows a console's Ctrl+C
/// already reaches every process attached to it: the child is waited for.
pub async fn wait_passing_interrupts(
    child: &mut tokio::process::Child,
) -> std::io::Result<ExitStatus> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let pid = child.id().and_then(|p| i32::try_from(p).ok());
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        loop {
            let sig = tokio::select! {
                s = child.wait() => return s,
                _ = int.recv() => rustix::process::Signal::INT,
                _ = term.recv() => rustix::process::Signal::TERM,
            };
            if let Some(pid) = pid.and_then(rustix::process::Pid::from_raw) {
                let _ = rustix::process::kill_process(pid, sig);
            }
        }
    }
    #[cfg(not(unix))]
    {
        child.wait().await
    }
}

/// The exit code a shell would show for `status`: its code, or 128 + the signal that
/// ended it (Unix).
pub fn exit_code(status: &ExitStatus) -> Option<i32> {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        status.code().or_else(|| status.signal().map(|s| 128 + s))
    }
    #[cfg(not(unix))]
    {
        status.code()
    }
}

/// This machine's name (`uname`'s node name; Windows: `COMPUTERNAME`).
pub fn host_name() -> String {
    #[cfg(unix)]
    {
        rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned()
    }
    #[cfg(not(unix))]
    {
        std::env::var("COMPUTERNAME").unwrap_or_else(|_| "localhost".into())
    }
}

/// Makes `link` run this program `target` (the trace's stand-in for git): a symbolic
/// link on Unix; on Windows, where links need a privilege, a hard link or else a copy.
pub fn link_program(target: &std::path::Path, link: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(target, link)
    }
    #[cfg(not(unix))]
    {
        std::fs::hard_link(target, link).or_else(|_| std::fs::copy(target, link).map(|_| ()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alive_and_gone() {
        assert!(alive(std::process::id()));
        assert!(alive(1));
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        assert!(!alive(pid));
    }

    #[tokio::test]
    async fn kill_tree_reaches_grandchildren() {
        let d = tempfile::tempdir().unwrap();
        let pidfile = d.path().join("pid");
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c")
            .arg(format!("sleep 30 & echo $! > {}; wait", pidfile.display()));
        let mut child = own_group(&mut cmd).spawn().unwrap();
        let grandchild: u32 = loop {
            if let Ok(s) = std::fs::read_to_string(&pidfile)
                && let Ok(p) = s.trim().parse()
            {
                break p;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        };
        assert!(alive(grandchild));
        kill_tree(child.id().unwrap());
        let status = child.wait().await.unwrap();
        assert_eq!(exit_code(&status), Some(128 + 9));
        // Gone, or a zombie until whoever adopted it reaps it (some containers' first
        // process never does).
        let dead = || {
            !alive(grandchild)
                || std::fs::read_to_string(format!("/proc/{grandchild}/stat"))
                    .is_ok_and(|s| s[s.rfind(')').unwrap() + 1..].trim_start().starts_with('Z'))
        };
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !dead() && std::time::Instant::now() < until {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(dead());
    }

    #[test]
    fn links_run_the_program() {
        let d = tempfile::tempdir().unwrap();
        let link = d.path().join("t");
        link_program(std::path::Path::new("/bin/true"), &link).unwrap();
        assert!(
            std::process::Command::new(&link)
                .status()
                .unwrap()
                .success()
        );
        assert!(!host_name().is_empty());
    }
}
