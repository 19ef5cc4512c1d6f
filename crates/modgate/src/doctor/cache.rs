//! The module cache (GOMODCACHE) and its disk: writable, free space and inodes; its
//! entries checked as `modgate cache verify` checks them (`gomodcache/`: zips against their
//! `.ziphash`, extracted trees against their module's hash, `.partial` files, `.info` and
//! `.mod`, the project's go.sum lines, leftovers), under the doctor's deadline, each kind
//! of damage one finding whose fix is `modgate cache repair`; `.lock` files another
//! process holds right now (a go command stuck holding one makes every other wait: "go
//! mod download hangs"); the disk's write throughput ([`check_disk`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::checked::Checked;
use super::commands;
use super::finding::{Finding, Group, Severity};
use crate::gomodcache::{self, check, check::Kind, verify};
use crate::platform::disk;

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

/// The findings about the module cache `modcache` (none when it is unset), against the
/// project's `go_sums` files (`modcache_rw`: GOFLAGS has `-modcacherw`); no entry's check
/// starts after `deadline`.
pub fn check(
    modcache: &Path,
    go_sums: &[PathBuf],
    modcache_rw: bool,
    deadline: Duration,
) -> Checked {
    let until = Instant::now() + deadline;
    let mut out = Checked::default();
    if modcache.as_os_str().is_empty() {
        return out;
    }
    let download = modcache.join(crate::platform::path::native(gomod::layout::DOWNLOAD));
    let Some(dir) = existing_ancestor(&download) else {
        return out;
    };
    // Writable: a file can be created where the go command will create them.
    let probe = dir.join(format!(".modgate-doctor-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
        }
        // A read-only file system: no chmod helps.
        Err(e) if disk::is_read_only_fs(&e) => {
            out.find(finding(
                Severity::Problem,
                format!("cannot create a file in {}: {e}", dir.display()),
                "the go command cannot store what it downloads: the file system is mounted read-only",
                match commands::remount_writable(&disk::mount_point(&dir)) {
                    Some(remount) => format!(
                        "go env -w GOMODCACHE=<a directory on a writable disk>  (or, if read-only is a mistake, {remount})"
                    ),
                    None => "go env -w GOMODCACHE=<a directory on a writable disk>".to_string(),
                },
            ))
        }
        Err(e) => out.find(finding(
            Severity::Problem,
            format!("cannot create a file in {}: {e}", dir.display()),
            "the go command cannot store what it downloads",
            format!(
                "{}  (or go env -w GOMODCACHE=<a writable directory>)",
                commands::make_writable(modcache)
            ),
        )),
    }
    if let Ok(st) = disk::space(&dir) {
        let free = st.avail;
        if free < MIN_FREE_BYTES {
            // Whether cleaning the module cache would help: what it holds, measured.
            let (held, whole) = disk_usage(modcache, Instant::now() + deadline / 4);
            let held_text = format!("{}{held} bytes", if whole { "" } else { "at least " });
            let fix = if held.saturating_add(free) >= MIN_FREE_BYTES {
                format!("go clean -modcache  (it holds {held_text} of that disk)")
            } else {
                let why = format!(
                    "the module cache holds only {held_text}, so go clean -modcache would not be enough"
                );
                match commands::what_fills(&disk::mount_point(&dir)) {
                    Some(du) => format!("{du}  (shows what fills that disk; {why})"),
                    None => format!(
                        "free space on that disk (Settings > System > Storage shows what fills it; {why})"
                    ),
                }
            };
            out.find(finding(
                Severity::Problem,
                format!(
                    "{} bytes free on the disk of {}; the module cache holds {held_text}",
                    free,
                    dir.display()
                ),
                "downloads fail when the disk fills (\"no space left on device\")",
                fix,
            ));
        }
        if let Some(files) = st.files_avail.filter(|n| *n < MIN_FREE_INODES) {
            out.find(finding(
                Severity::Problem,
                format!("{files} inodes free on the disk of {}", dir.display()),
                "module zips are extracted into many small files; with no inodes left they cannot be",
                "go clean -modcache, or free files on that disk".to_string(),
            ));
        }
    }
    entries(&mut out, modcache, &dir, go_sums, modcache_rw, until);
    out
}

/// The disk space the files under `dir` take (their blocks), and whether all were counted
/// before `until`.
fn disk_usage(dir: &Path, until: Instant) -> (u64, bool) {
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            if Instant::now() >= until {
                return (total, false);
            }
            let Ok(md) = e.path().symlink_metadata() else {
                continue;
            };
            total = total.saturating_add(disk::allocated(&md));
            if md.is_dir() {
                stack.push(e.path());
            }
        }
    }
    (total, true)
}

/// The entries of the cache, checked as `modgate cache verify` checks them (those go.sum
/// names first), none started after `until`; one finding per kind of damage, and one
/// per lock held now. `probed`: the directory whose writability was probed already.
fn entries(
    out: &mut Checked,
    modcache: &Path,
    probed: &Path,
    go_sums: &[PathBuf],
    modcache_rw: bool,
    until: Instant,
) {
    let scan = gomodcache::scan::scan(modcache);
    let sums = check::read_go_sums(go_sums).unwrap_or_default();
    let checked = verify::check_all(&scan, &sums, modcache_rw, false, Some(until));
    out.measure(
        Group::Cache,
        if checked.unchecked == 0 {
            format!(
                "{} module versions in {}, all checked",
                scan.entries.len(),
                modcache.display()
            )
        } else {
            format!(
                "{} module versions in {}, {} checked within the time given (modgate cache verify checks them all)",
                scan.entries.len(),
                modcache.display(),
                scan.entries.len() - checked.unchecked
            )
        },
    );
    let mut repair = format!("modgate cache repair --gomodcache {}", modcache.display());
    for f in go_sums {
        repair.push_str(&format!(" --gosum {}", f.display()));
    }
    // One finding per kind, in the order found (problems first).
    let mut kinds: Vec<(Kind, Vec<&check::Finding>)> = Vec::new();
    for f in &checked.findings {
        match f.kind {
            Kind::TreeMissing => {}
            Kind::LockHeld => {
                let pid = f.pid.map_or_else(|| "<pid>".to_string(), |p| p.to_string());
                out.find(finding(
                    Severity::Problem,
                    format!("{} is {}", f.path.display(), f.detail),
                    Kind::LockHeld.meaning(),
                    format!(
                        "{}  (if that process is stuck; its lock goes with it)",
                        commands::kill(&pid)
                    ),
                ));
            }
            // The directory probed above, and those this user can write anyway (root).
            Kind::ReadOnlyDir
                if f.path == probed || crate::platform::file_mode::may_write(&f.path) => {}
            kind => match kinds.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, fs)) => fs.push(f),
                None => kinds.push((kind, vec![f])),
            },
        }
    }
    for (kind, fs) in kinds {
        const SHOWN: usize = 3;
        let mut measured = fs
            .iter()
            .take(SHOWN)
            .map(|f| {
                if f.detail.is_empty() {
                    f.path.display().to_string()
                } else {
                    format!("{} ({})", f.path.display(), f.detail)
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        if fs.len() > SHOWN {
            measured.push_str(&format!("; and {} more", fs.len() - SHOWN));
        }
        let fix = if kind == Kind::GoSumMismatch {
            format!(
                "{repair}  (fetches it again; if it still disagrees, go.sum is what is wrong: see where that line came from)"
            )
        } else {
            format!("{repair}  (mends only these, and fetches them again through GOPROXY)")
        };
        let severity = if kind.severity() == gomodcache::check::Severity::Problem {
            Severity::Problem
        } else {
            Severity::Warning
        };
        out.find(finding(severity, measured, kind.meaning(), fix));
    }
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
    if let Ok(st) = disk::space(&dir) {
        s.push_str(&format!(": {} MB", st.avail / 1_000_000));
        if let Some(files) = st.files_avail {
            s.push_str(&format!(" and {files} inodes"));
        }
        s.push_str(" free");
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

    /// A go.sum of `lines` in `dir`.
    fn go_sum(dir: &Path, lines: &[String]) -> Vec<PathBuf> {
        let f = dir.join("go.sum");
        std::fs::write(&f, lines.join("\n") + "\n").unwrap();
        vec![f]
    }

    const A: [(&str, &str); 2] = [
        ("go.mod", "module example.com/a\n"),
        ("a.go", "package a\n"),
    ];

    #[test]
    fn a_healthy_cache_has_no_finding() {
        let d = tempfile::tempdir().unwrap();
        let mc = d.path().join("mod");
        let (zh, mh) = entry(&mc, "example.com/a", "v1.0.0", &A);
        let sum = go_sum(
            d.path(),
            &[
                format!("example.com/a v1.0.0 {zh}"),
                format!("example.com/a v1.0.0/go.mod {mh}"),
            ],
        );
        let c = check(&mc, &sum, false, Duration::from_secs(10));
        assert_eq!(c.findings, []);
        assert_eq!(
            c.measured[0].text,
            format!("1 module versions in {}, all checked", mc.display())
        );
        // A cache that does not exist yet is fine too.
        let c = check(&d.path().join("none"), &sum, false, Duration::from_secs(10));
        assert_eq!(c.findings, []);
    }

    #[test]
    fn each_kind_of_damage_is_one_finding_whose_fix_is_cache_repair() {
        let d = tempfile::tempdir().unwrap();
        let mc = d.path().join("mod");
        let (zh, _) = entry(&mc, "example.com/a", "v1.0.0", &A);
        let vdir = mc.join("cache/download/example.com/a/@v");
        // The zip changed after it was hashed.
        let other = d.path().join("other");
        let changed = [A[0], ("a.go", "package a // changed\n")];
        let (zh2, _) = entry(&other, "example.com/a", "v1.0.0", &changed);
        std::fs::copy(
            other.join("cache/download/example.com/a/@v/v1.0.0.zip"),
            vdir.join("v1.0.0.zip"),
        )
        .unwrap();
        // Four more versions whose zips changed the same way.
        let mut said = vec![zh.clone()];
        for v in ["v1.1.0", "v1.2.0", "v1.3.0", "v1.4.0"] {
            said.push(entry(&mc, "example.com/a", v, &A).0);
            std::fs::copy(vdir.join("v1.0.0.zip"), vdir.join(format!("{v}.zip"))).unwrap();
        }
        let bad = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let sum = go_sum(d.path(), &[format!("example.com/a v1.0.0 {bad}")]);
        let f = check(&mc, &sum, false, Duration::from_secs(10)).findings;
        let measured: Vec<&str> = f.iter().map(|f| f.measured.as_str()).collect();
        let zip = |v: &str| vdir.join(format!("{v}.zip")).display().to_string();
        assert_eq!(
            measured,
            [
                format!(
                    "{} (hashes to {zh2}, its .ziphash says {}); {} (hashes to {zh2}, its .ziphash says {}); {} (hashes to {zh2}, its .ziphash says {}); and 2 more",
                    zip("v1.0.0"),
                    said[0],
                    zip("v1.1.0"),
                    said[1],
                    zip("v1.2.0"),
                    said[2],
                ),
                format!(
                    "{} ({}:1 says {bad}, the cache has {zh})",
                    vdir.join("v1.0.0.ziphash").display(),
                    sum[0].display()
                ),
            ]
        );
        assert_eq!(f[0].cause, Kind::ZipModified.meaning());
        assert_eq!(
            f[1].fix.as_deref(),
            Some(
                format!(
                    "modgate cache repair --gomodcache {} --gosum {}  (fetches it again; if it still disagrees, go.sum is what is wrong: see where that line came from)",
                    mc.display(),
                    sum[0].display()
                )
                .as_str()
            )
        );
    }

    #[test]
    fn a_read_only_cache_is_a_problem() {
        let d = tempfile::tempdir().unwrap();
        let dl = d.path().join("cache/download");
        std::fs::create_dir_all(dl.join("example.com")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let ro = std::fs::Permissions::from_mode(0o555);
        std::fs::set_permissions(dl.join("example.com"), ro.clone()).unwrap();
        std::fs::set_permissions(&dl, ro).unwrap();
        let f = check(d.path(), &[], false, Duration::from_secs(10)).findings;
        for p in [&dl, &dl.join("example.com")] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        if rustix::process::geteuid().is_root() {
            // root writes anyway (CAP_DAC_OVERRIDE): nothing to find.
            assert_eq!(f, []);
        } else {
            // The probe names the top; the directory under it is the other finding.
            assert_eq!(f.len(), 2, "{f:?}");
            assert!(
                f[0].measured
                    .starts_with(&format!("cannot create a file in {}", dl.display()))
            );
            assert_eq!(
                f[1].measured,
                format!(
                    "{} (no write permission for its owner)",
                    dl.join("example.com").display()
                )
            );
        }
    }

    #[test]
    fn an_extracted_tree_changed_after_extraction() {
        let d = tempfile::tempdir().unwrap();
        let (zh, _) = entry(d.path(), "example.com/a", "v1.0.0", &A);
        let tree = d.path().join("example.com/a@v1.0.0");
        std::fs::create_dir_all(&tree).unwrap();
        for (n, t) in A {
            std::fs::write(tree.join(n), t).unwrap();
        }
        // Left writable: as GOFLAGS=-modcacherw leaves it.
        assert_eq!(
            check(d.path(), &[], true, Duration::from_secs(10)).findings,
            []
        );
        std::fs::write(tree.join("a.go"), "package a // edited\n").unwrap();
        let f = check(d.path(), &[], true, Duration::from_secs(10)).findings;
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].measured
                .starts_with(&format!("{} (hashes to h1:", tree.display()))
                && f[0].measured.ends_with(&format!(", the module to {zh})")),
            "{}",
            f[0].measured
        );
        // Without -modcacherw, a writable tree is a warning of its own.
        let f = check(d.path(), &[], false, Duration::from_secs(10)).findings;
        assert_eq!(
            f.iter().map(|f| f.severity).collect::<Vec<_>>(),
            [Severity::Problem, Severity::Warning]
        );
    }

    #[test]
    fn no_entry_is_checked_after_the_deadline() {
        let d = tempfile::tempdir().unwrap();
        let mc = d.path().join("mod");
        entry(&mc, "example.com/a", "v1.0.0", &A);
        std::fs::write(mc.join("cache/download/example.com/a/@v/v1.0.0.zip"), b"PK").unwrap();
        let c = check(&mc, &[], false, Duration::ZERO);
        assert_eq!(c.findings, []);
        assert_eq!(
            c.measured[0].text,
            format!(
                "1 module versions in {}, 0 checked within the time given (modgate cache verify checks them all)",
                mc.display()
            )
        );
    }
}
