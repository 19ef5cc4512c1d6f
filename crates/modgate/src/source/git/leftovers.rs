//! What a stopped modgate leaves beside the clones, and its removal at start.

use std::path::Path;
use std::time::Duration;

/// How a clone being built is named beside the others (`.tmp-<pid>-<n>-<name>`).
pub(super) const TMP_PREFIX: &str = ".tmp-";

/// Removes what stopped processes left under the clones' directory `git_dir`: clones
/// being built aside (`.tmp-<pid>-…`) and archives being read (`tmp/<pid>-….tar`), when
/// their process is not running here and they were last written more than `idle` ago
/// (the longest a git command may run, and more: the directory may be shared with
/// processes this one cannot see, in other containers).
pub fn sweep_leftovers(git_dir: &Path, idle: Duration) {
    let gone = |name: &str, prefix: &str, e: &std::fs::DirEntry| {
        let Some(pid) = name
            .strip_prefix(prefix)
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            // A clone, or not ours: not even looked at.
            return false;
        };
        let stale = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > idle);
        stale && !crate::platform::process::alive(pid)
    };
    for (dir, prefix) in [
        (git_dir.to_path_buf(), TMP_PREFIX),
        (git_dir.join("tmp"), ""),
    ] {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if (prefix.is_empty() && !name.ends_with(".tar")) || !gone(&name, prefix, &e) {
                continue;
            }
            let path = e.path();
            let removed = if e.file_type().is_ok_and(|t| t.is_dir()) {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            if let Err(err) = removed {
                tracing::warn!(path = %path.display(), error = %err, "cannot remove a leftover of a stopped modgate");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn aged(path: &Path, age: Duration) {
        let f = std::fs::File::open(path).unwrap();
        f.set_modified(SystemTime::now() - age).unwrap();
    }

    #[test]
    fn leftovers_of_stopped_processes_are_swept_and_nothing_else() {
        let d = tempfile::tempdir().unwrap();
        let git = d.path();
        std::fs::create_dir_all(git.join("tmp")).unwrap();
        // A process that has exited: its pid is free (not reused within the test).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let me = std::process::id();
        let hour = Duration::from_secs(3600);
        let clone = "a".repeat(64);
        let mk_dir = |name: &str, age| {
            let p = git.join(name);
            std::fs::create_dir_all(p.join("objects")).unwrap();
            aged(&p, age);
            p
        };
        let mk_file = |name: &str, age| {
            let p = git.join("tmp").join(name);
            std::fs::write(&p, b"tar").unwrap();
            aged(&p, age);
            p
        };
        let stale_clone = mk_dir(&format!(".tmp-{dead}-0-{clone}"), hour);
        let stale_tar = mk_file(&format!("{dead}-3.tar"), hour);
        // Kept: a live process's (this one's), a dead one's written lately (it may be
        // another container's live one), clones, and what is not ours.
        let kept = [
            mk_dir(&format!(".tmp-{me}-1-{clone}"), hour),
            mk_dir(&format!(".tmp-{dead}-2-{clone}"), Duration::from_secs(5)),
            mk_dir(&clone, hour),
            mk_dir(".tmp-notapid-x", hour),
            mk_file(&format!("{me}-4.tar"), hour),
            mk_file(&format!("{dead}-5.tar"), Duration::from_secs(5)),
            mk_file(&format!("{dead}-6.other"), hour),
        ];
        sweep_leftovers(git, Duration::from_secs(60));
        assert!(!stale_clone.exists());
        assert!(!stale_tar.exists());
        for k in &kept {
            assert!(k.exists(), "{} was removed", k.display());
        }
    }
}
