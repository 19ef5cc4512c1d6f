//! The module cache (GOMODCACHE) and its disk: writable, free space and inodes, downloads
//! cut short (`.partial` files), and entries that do not agree with their hashes or with
//! the project's go.sum (a `.ziphash` against the zip it names, a go.sum line against the
//! cached `.ziphash` and `.mod`, the extracted tree against its module's hash), and
//! `.lock` files another process holds right now (a go command stuck holding one makes
//! every other wait: "go mod download hangs"); the disk's write throughput
//! ([`check_disk`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::checked::Checked;
use super::finding::{Finding, Group, Severity};

/// Less free space than this is a problem.
const MIN_FREE_BYTES: u64 = 1 << 30;
/// Fewer free inodes than this is a problem.
const MIN_FREE_INODES: u64 = 10_000;

fn finding(severity: Severity, measured: String, cause: &str, fix: String) -> Finding {
    Finding {
        group: Group::Cache,
        severity,
        measured,
        cause: cause.to_string(),
        fix: Some(fix),
    }
}

/// The nearest directory at or above `p` that exists.
fn existing_ancestor(p: &Path) -> Option<PathBuf> {
    let mut p = p.to_path_buf();
    loop {
        if p.is_dir() {
            return Some(p);
        }
        if !p.pop() {
            return None;
        }
    }
}

/// The findings about the module cache `modcache` (none when it is unset), for the
/// project's go.sum `go_sum` lines; hashing stops at `deadline`.
pub fn check(modcache: &Path, go_sum: &[String], deadline: Duration) -> Checked {
    let mut out = Checked::default();
    if modcache.as_os_str().is_empty() {
        return out;
    }
    let download = modcache.join("cache/download");
    let Some(dir) = existing_ancestor(&download) else {
        return out;
    };
    // Writable: a file can be created where the go command will create them.
    let probe = dir.join(format!(".modgate-doctor-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
        }
        Err(e) => out.find(finding(
            Severity::Problem,
            format!("cannot create a file in {}: {e}", dir.display()),
            "the go command cannot store what it downloads",
            format!(
                "chmod -R u+w {} (or go env -w GOMODCACHE=<a writable directory>)",
                modcache.display()
            ),
        )),
    }
    if let Ok(st) = rustix::fs::statvfs(&dir) {
        let free = st.f_bavail.saturating_mul(st.f_frsize);
        if free < MIN_FREE_BYTES {
            out.find(finding(
                Severity::Problem,
                format!("{} bytes free on the disk of {}", free, dir.display()),
                "downloads fail when the disk fills (\"no space left on device\")",
                format!(
                    "go clean -modcache (frees {}), or free space on that disk",
                    modcache.display()
                ),
            ));
        }
        if st.f_files > 0 && st.f_favail < MIN_FREE_INODES {
            out.find(finding(
                Severity::Problem,
                format!("{} inodes free on the disk of {}", st.f_favail, dir.display()),
                "module zips are extracted into many small files; with no inodes left they cannot be",
                "go clean -modcache, or free files on that disk".to_string(),
            ));
        }
    }
    let start = Instant::now();
    let mut partial = Vec::new();
    let mut bad_zips = Vec::new();
    let mut held = Vec::new();
    let mut stack = vec![download.clone()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "partial") {
                partial.push(p);
            } else if p.extension().is_some_and(|x| x == "lock") {
                if let Some(holder) = lock_holder(&p) {
                    held.push((p, holder));
                }
            } else if p.extension().is_some_and(|x| x == "ziphash") && start.elapsed() < deadline {
                let zip = p.with_extension("zip");
                let want = std::fs::read_to_string(&p).unwrap_or_default();
                if zip.is_file() {
                    match gomod::dirhash::hash_zip_file(&zip) {
                        Ok(h) if h == want.trim() => {}
                        _ => bad_zips.push(zip),
                    }
                }
            }
        }
    }
    if !partial.is_empty() {
        out.find(finding(
            Severity::Warning,
            format!(
                "{} download(s) cut short: {}",
                partial.len(),
                partial
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "an interrupted download left its partial file; the go command starts it again",
            format!(
                "rm {}",
                partial
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        ));
    }
    for (lock, (pid, cmd)) in &held {
        out.find(finding(
            Severity::Problem,
            format!("{} is held by pid {pid} ({cmd})", lock.display()),
            "every go command that needs this module waits for that process: downloads look hung",
            format!("kill {pid}  (if that process is stuck; its lock goes with it)"),
        ));
    }
    for zip in &bad_zips {
        out.find(finding(
            Severity::Problem,
            format!("{} does not hash to its .ziphash", zip.display()),
            "a corrupt cache entry: builds from it fail or use damaged code",
            "go clean -modcache".to_string(),
        ));
    }
    // go.sum against what the cache holds.
    for line in go_sum {
        let f: Vec<&str> = line.split(' ').collect();
        let [path, vers, h] = f[..] else { continue };
        let (Ok(ep), Ok(ev)) = (
            gomod::module::escape_path(path),
            gomod::module::escape_version(vers.trim_end_matches("/go.mod")),
        ) else {
            continue;
        };
        let vdir = download.join(&ep).join("@v");
        let have = if vers.ends_with("/go.mod") {
            std::fs::read(vdir.join(format!("{ev}.mod")))
                .ok()
                .map(|d| gomod::dirhash::hash_go_mod(&d))
        } else {
            std::fs::read_to_string(vdir.join(format!("{ev}.ziphash")))
                .ok()
                .map(|s| s.trim().to_string())
        };
        // The extracted tree the go command builds from: it must hash as its zip did.
        if !vers.ends_with("/go.mod") && start.elapsed() < deadline {
            let tree = modcache.join(format!("{ep}@{ev}"));
            let want = have.clone().unwrap_or_else(|| h.to_string());
            if tree.is_dir()
                && let Ok(got) = gomod::dirhash::hash_dir(&tree, &format!("{path}@{vers}"))
                && got != want
            {
                out.find(finding(
                    Severity::Problem,
                    format!(
                        "the extracted tree {} hashes to {got}, its module {want}",
                        tree.display()
                    ),
                    "files in the module cache were changed after extraction: builds use the changed code and go mod verify fails",
                    format!(
                        "chmod -R u+w {0} && rm -rf {0}  (the go command extracts it again), or go clean -modcache",
                        tree.display()
                    ),
                ));
            }
        }
        if let Some(have) = have
            && have != h
        {
            out.find(finding(
                Severity::Problem,
                format!("go.sum says {path} {vers} {h}, the module cache has {have}"),
                "the go command stops with \"checksum mismatch\": the cache or go.sum is wrong",
                format!(
                    "go clean -modcache, then go mod download {path}@{}",
                    vers.trim_end_matches("/go.mod")
                ),
            ));
        }
    }
    out
}

/// Below this write throughput (MB/s) the module cache's disk is a warning.
const SLOW_DISK_MB_S: f64 = 5.0;

/// The disk of the module cache `modcache`: free space and inodes, and its write
/// throughput (a warning when slow).
pub fn check_disk(modcache: &Path) -> Checked {
    let mut out = Checked::default();
    if modcache.as_os_str().is_empty() {
        return out;
    }
    let (text, mb_s) = describe_disk(modcache);
    if let Some(rate) = mb_s.filter(|r| *r < SLOW_DISK_MB_S) {
        out.find(finding(
            Severity::Warning,
            text.clone(),
            &format!(
                "the module cache's disk writes {rate:.1} MB/s: extracting modules is slow there"
            ),
            "go env -w GOMODCACHE=<a directory on a faster local disk>".into(),
        ));
    }
    out.measure(Group::Cache, text);
    out
}

/// Free space and inodes of the disk of `modcache`, and its write throughput (MB/s).
fn describe_disk(modcache: &Path) -> (String, Option<f64>) {
    let mut dir = modcache.to_path_buf();
    while !dir.is_dir() && dir.pop() {}
    let mut s = format!("GOMODCACHE={}", modcache.display());
    if let Ok(st) = rustix::fs::statvfs(&dir) {
        s.push_str(&format!(
            ": {} MB and {} inodes free",
            st.f_bavail.saturating_mul(st.f_frsize) / 1_000_000,
            st.f_favail
        ));
    }
    // Write throughput: 8 MB written and synced where the cache is.
    let probe = dir.join(format!(".modgate-doctor-write-{}", std::process::id()));
    let t = std::time::Instant::now();
    let wrote = (|| -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&probe)?;
        let block = vec![0x5au8; 1 << 20];
        for _ in 0..8 {
            f.write_all(&block)?;
        }
        f.sync_all()
    })();
    let _ = std::fs::remove_file(&probe);
    let mut rate = None;
    if wrote.is_ok() {
        let secs = t.elapsed().as_secs_f64().max(1e-6);
        let r = 8.0 * 1.048_576 / secs;
        s.push_str(&format!("; writes {r:.0} MB/s"));
        rate = Some(r);
    }
    (s, rate)
}

/// The process holding a lock on `path` now (pid and command line), from `/proc/locks`.
pub fn lock_holder(path: &Path) -> Option<(u32, String)> {
    use std::os::unix::fs::MetadataExt;
    let f = std::fs::File::open(path).ok()?;
    match rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockShared) {
        Ok(()) => {
            let _ = rustix::fs::flock(&f, rustix::fs::FlockOperation::Unlock);
            return None;
        }
        Err(e) if e != rustix::io::Errno::WOULDBLOCK => return None,
        Err(_) => {}
    }
    let m = f.metadata().ok()?;
    let ino = m.ino();
    let (maj, min) = (rustix::fs::major(m.dev()), rustix::fs::minor(m.dev()));
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
    let pid = locks.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let id = f
            .iter()
            .position(|x| x.matches(':').count() == 2 && !x.ends_with(':'))?;
        let parts: Vec<&str> = f[id].split(':').collect();
        let same = u32::from_str_radix(parts[0], 16).ok()? == maj
            && u32::from_str_radix(parts[1], 16).ok()? == min
            && parts[2].parse::<u64>().ok()? == ino;
        if same {
            f[id - 1].parse::<u32>().ok()
        } else {
            None
        }
    })?;
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            String::from_utf8_lossy(&c)
                .split('\0')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    Some((pid, cmd))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(mc: &Path, path: &str, vers: &str, files: &[(&str, &str)]) -> (String, String) {
        let v = gomod::module::Version::new(path, vers);
        let data: Vec<gomod::zip::DataFile> = files
            .iter()
            .map(|(p, d)| gomod::zip::DataFile {
                path: p.to_string(),
                data: d.as_bytes().to_vec(),
            })
            .collect();
        let mut zip = std::io::Cursor::new(Vec::new());
        gomod::zip::create(&mut zip, &v, &data).unwrap();
        let zip = zip.into_inner();
        let dir = mc.join("cache/download").join(path).join("@v");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{vers}.zip")), &zip).unwrap();
        let h = gomod::dirhash::hash_zip(std::io::Cursor::new(&zip)).unwrap();
        std::fs::write(dir.join(format!("{vers}.ziphash")), &h).unwrap();
        let gomod_data = files.iter().find(|(p, _)| *p == "go.mod").unwrap().1;
        std::fs::write(dir.join(format!("{vers}.mod")), gomod_data).unwrap();
        (h, gomod::dirhash::hash_go_mod(gomod_data.as_bytes()))
    }

    #[test]
    fn a_healthy_cache_has_no_finding() {
        let d = tempfile::tempdir().unwrap();
        let (zh, mh) = entry(
            d.path(),
            "example.com/a",
            "v1.0.0",
            &[
                ("go.mod", "module example.com/a\n"),
                ("a.go", "package a\n"),
            ],
        );
        let sum = vec![
            format!("example.com/a v1.0.0 {zh}"),
            format!("example.com/a v1.0.0/go.mod {mh}"),
        ];
        assert_eq!(check(d.path(), &sum, Duration::from_secs(10)).findings, []);
        // A cache that does not exist yet is fine too.
        assert_eq!(
            check(&d.path().join("none"), &sum, Duration::from_secs(10)).findings,
            []
        );
    }

    #[test]
    fn corrupt_entries_partial_files_and_go_sum_disagreements() {
        let d = tempfile::tempdir().unwrap();
        let (zh, _) = entry(
            d.path(),
            "example.com/a",
            "v1.0.0",
            &[
                ("go.mod", "module example.com/a\n"),
                ("a.go", "package a\n"),
            ],
        );
        let vdir = d.path().join("cache/download/example.com/a/@v");
        // The zip changed after it was hashed.
        let (_, _) = entry(
            &d.path().join("other"),
            "example.com/a",
            "v1.0.0",
            &[
                ("go.mod", "module example.com/a\n"),
                ("a.go", "package a // changed\n"),
            ],
        );
        std::fs::copy(
            d.path()
                .join("other/cache/download/example.com/a/@v/v1.0.0.zip"),
            vdir.join("v1.0.0.zip"),
        )
        .unwrap();
        std::fs::write(vdir.join("v1.1.0.zip.partial"), b"cut").unwrap();
        let sum = vec![format!(
            "example.com/a v1.0.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        )];
        let f = check(d.path(), &sum, Duration::from_secs(10)).findings;
        let measured: Vec<&str> = f.iter().map(|f| f.measured.as_str()).collect();
        assert_eq!(
            measured,
            [
                format!("1 download(s) cut short: {}", vdir.join("v1.1.0.zip.partial").display()).as_str(),
                format!("{} does not hash to its .ziphash", vdir.join("v1.0.0.zip").display()).as_str(),
                format!("go.sum says example.com/a v1.0.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=, the module cache has {zh}").as_str(),
            ]
        );
        assert_eq!(
            f[2].fix.as_deref(),
            Some("go clean -modcache, then go mod download example.com/a@v1.0.0")
        );
    }

    #[test]
    fn a_read_only_cache_is_a_problem() {
        let d = tempfile::tempdir().unwrap();
        let dl = d.path().join("cache/download");
        std::fs::create_dir_all(&dl).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dl, std::fs::Permissions::from_mode(0o555)).unwrap();
        let f = check(d.path(), &[], Duration::from_secs(10)).findings;
        std::fs::set_permissions(&dl, std::fs::Permissions::from_mode(0o755)).unwrap();
        if rustix::process::geteuid().is_root() {
            // root writes anyway (CAP_DAC_OVERRIDE): nothing to find.
            assert_eq!(f, []);
        } else {
            assert_eq!(f.len(), 1);
            assert!(
                f[0].measured
                    .starts_with(&format!("cannot create a file in {}", dl.display()))
            );
        }
    }

    #[test]
    fn an_extracted_tree_changed_after_extraction() {
        let d = tempfile::tempdir().unwrap();
        let files = [
            ("go.mod", "module example.com/a\n"),
            ("a.go", "package a\n"),
        ];
        let (zh, _) = entry(d.path(), "example.com/a", "v1.0.0", &files);
        let tree = d.path().join("example.com/a@v1.0.0");
        std::fs::create_dir_all(&tree).unwrap();
        for (n, t) in files {
            std::fs::write(tree.join(n), t).unwrap();
        }
        let sum = vec![format!("example.com/a v1.0.0 {zh}")];
        assert_eq!(check(d.path(), &sum, Duration::from_secs(10)).findings, []);
        std::fs::write(tree.join("a.go"), "package a // edited\n").unwrap();
        let f = check(d.path(), &sum, Duration::from_secs(10)).findings;
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].measured.starts_with(&format!(
                "the extracted tree {} hashes to h1:",
                tree.display()
            )) && f[0].measured.ends_with(&format!(", its module {zh}")),
            "{}",
            f[0].measured
        );
    }
}
