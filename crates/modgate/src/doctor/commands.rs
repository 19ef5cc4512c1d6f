//! The fixes' command lines in this system's own commands (a leaf): what a Linux shell
//! runs is not what macOS's BSD tools or a Windows console take. Names and paths in,
//! one command line out; text after two spaces and a parenthesis is a note
//! (`Finding::fix_commands`).

use std::path::Path;

/// Stops process `pid` (a stuck holder of a lock).
pub fn kill(pid: &str) -> String {
    if cfg!(windows) {
        format!("taskkill /PID {pid} /F")
    } else {
        format!("kill {pid}")
    }
}

/// Gives the owner write permission on everything under `dir`.
pub fn make_writable(dir: &Path) -> String {
    if cfg!(windows) {
        format!("attrib -R {}\\* /S /D", dir.display())
    } else {
        format!("chmod -R u+w {}", dir.display())
    }
}

/// Shows what takes the space on the disk whose root is `root`; `None` where the system
/// has no such command line (Windows: its Storage settings show it).
pub fn what_fills(root: &Path) -> Option<String> {
    if cfg!(windows) {
        None
    } else if cfg!(target_os = "macos") {
        Some(format!("du -xah -d 2 {} | sort -h | tail", root.display()))
    } else {
        Some(format!(
            "du -xah --max-depth=2 {} | sort -h | tail",
            root.display()
        ))
    }
}

/// Mounts the file system at `root` writable again; `None` where that is not a command
/// line (Windows: a write-protected medium).
pub fn remount_writable(root: &Path) -> Option<String> {
    if cfg!(windows) {
        None
    } else if cfg!(target_os = "macos") {
        Some(format!("sudo mount -uw {}", root.display()))
    } else {
        Some(format!("mount -o remount,rw {}", root.display()))
    }
}

/// Sets the environment variable `name` for the commands that follow in this shell.
pub fn set_env(name: &str, value: &str) -> String {
    if cfg!(windows) {
        format!("set {name}={value}")
    } else {
        format!("export {name}={value}")
    }
}

/// Removes the environment variable `name` for the commands that follow in this shell.
pub fn unset_env(name: &str) -> String {
    if cfg!(windows) {
        format!("set {name}=")
    } else {
        format!("unset {name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_system_s_commands() {
        let d = Path::new("/var/cache/go");
        assert_eq!(kill("42"), "kill 42");
        assert_eq!(make_writable(d), "chmod -R u+w /var/cache/go");
        assert_eq!(
            what_fills(d).unwrap(),
            "du -xah --max-depth=2 /var/cache/go | sort -h | tail"
        );
        assert_eq!(
            remount_writable(d).unwrap(),
            "mount -o remount,rw /var/cache/go"
        );
        assert_eq!(
            set_env("HTTPS_PROXY", "http://h:1"),
            "export HTTPS_PROXY=http://h:1"
        );
        assert_eq!(unset_env("GOMAXPROCS"), "unset GOMAXPROCS");
    }
}
