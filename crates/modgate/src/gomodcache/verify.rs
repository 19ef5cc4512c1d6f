//! `modgate cache verify`: every entry of a module cache checked (`check.rs`) on all
//! processors at once, each file read as a stream, with a progress bar on a terminal; a
//! summary and the list of findings, or JSON.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::check::{self, Context, Finding, GoSums, Kind, Severity};
use super::scan::{Entry, Scan, scan};

/// What a verification found.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The module cache.
    pub modcache: PathBuf,
    /// Module versions checked.
    pub versions: usize,
    /// Of which with a zip, and with an extracted tree.
    pub zips: usize,
    /// With an extracted tree.
    pub trees: usize,
    /// Bytes read.
    pub bytes: u64,
    /// How long it took, in milliseconds.
    pub millis: u64,
    /// Every finding, problems first.
    pub findings: Vec<Finding>,
    /// Names under the cache that are not a module cache's (left alone).
    pub unknown: Vec<(PathBuf, String)>,
}

impl Report {
    /// 0: nothing to mend; 1: findings `cache repair` would mend.
    pub fn exit_code(&self) -> u8 {
        u8::from(
            self.findings
                .iter()
                .any(|f| f.severity >= Severity::Warning),
        )
    }

    /// The report for people: a summary line, then one line per finding.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let count = |s: Severity| self.findings.iter().filter(|f| f.severity == s).count();
        let _ = writeln!(
            out,
            "modgate cache verify: {} module versions in {} ({} zips, {} extracted trees, {} MB read) in {:.1}s: {} problems, {} warnings, {} notices",
            self.versions,
            self.modcache.display(),
            self.zips,
            self.trees,
            self.bytes / 1_000_000,
            self.millis as f64 / 1000.0,
            count(Severity::Problem),
            count(Severity::Warning),
            count(Severity::Notice),
        );
        for f in &self.findings {
            let what = if f.module.is_empty() {
                String::new()
            } else {
                format!("{} {}: ", f.module, f.version)
            };
            let detail = if f.detail.is_empty() {
                String::new()
            } else {
                format!(" ({})", f.detail)
            };
            let _ = writeln!(
                out,
                "{:<8} {what}{}{detail}\n         {}",
                match f.severity {
                    Severity::Problem => "problem",
                    Severity::Warning => "warning",
                    Severity::Notice => "notice",
                },
                f.kind.meaning(),
                f.path.display()
            );
        }
        if self.exit_code() != 0 {
            let _ = writeln!(
                out,
                "fix: modgate cache repair --gomodcache {} (mends only these, and fetches them again through GOPROXY)",
                self.modcache.display()
            );
        } else {
            let _ = writeln!(out, "all module versions verified");
        }
        out
    }
}

/// What to verify.
pub struct Options {
    /// The module cache.
    pub modcache: PathBuf,
    /// go.sum files to compare with.
    pub go_sums: Vec<PathBuf>,
    /// GOFLAGS has `-modcacherw`.
    pub modcache_rw: bool,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
}

/// Why a cache could not be verified (or repaired).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The module cache named is not a directory.
    #[error(
        "the module cache {} is not a directory (check --gomodcache, or GOMODCACHE in go env)",
        modcache.display()
    )]
    NotADirectory {
        /// The module cache named.
        modcache: PathBuf,
    },
    /// The module cache named cannot be looked at (it is not there, or not readable).
    #[error(
        "the module cache {}: {source} (check --gomodcache, or GOMODCACHE in go env)",
        modcache.display()
    )]
    Unreadable {
        /// The module cache named.
        modcache: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A go.sum file to compare with could not be read.
    #[error(transparent)]
    GoSum(#[from] check::Error),
}

/// Verifies the cache; what was found.
pub fn verify(opts: &Options) -> Result<Report, Error> {
    let started = Instant::now();
    existing(&opts.modcache)?;
    let sums = check::read_go_sums(&opts.go_sums)?;
    let s = scan(&opts.modcache);
    let checked = check_all(&s, &sums, opts.modcache_rw, opts.progress, None);
    Ok(Report {
        modcache: opts.modcache.clone(),
        versions: s.entries.len(),
        zips: s.entries.iter().filter(|e| e.files.zip).count(),
        trees: s.entries.iter().filter(|e| e.extracted).count(),
        bytes: checked.bytes,
        millis: started.elapsed().as_millis() as u64,
        findings: checked.findings,
        unknown: s.unknown,
    })
}

/// What [`check_all`] found.
#[derive(Debug, Default)]
pub struct Checked {
    /// Every finding: problems first, then by module and version.
    pub findings: Vec<Finding>,
    /// The bytes read.
    pub bytes: u64,
    /// Versions left unchecked when the time given ran out.
    pub unchecked: usize,
}

/// Every entry of `s` checked, in parallel, those go.sum names first; none started after
/// `until`.
pub fn check_all(
    s: &Scan,
    sums: &GoSums,
    modcache_rw: bool,
    progress: bool,
    until: Option<Instant>,
) -> Checked {
    let cx = Context {
        go_sums: sums,
        modcache_rw,
    };
    let mut order: Vec<&Entry> = s.entries.iter().collect();
    order.sort_by_cached_key(|e| !sums.contains_key(&(e.path.clone(), e.version.clone())));
    let bar = progress_bar(s.entries.len() as u64, progress);
    let next = AtomicUsize::new(0);
    let unchecked = AtomicUsize::new(0);
    let bytes = AtomicU64::new(0);
    let found: Mutex<Vec<Finding>> = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(e) = order.get(i) else { break };
                    if until.is_some_and(|t| Instant::now() >= t) {
                        unchecked.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let (f, read) = check::check(e, &cx);
                    bytes.fetch_add(read, Ordering::Relaxed);
                    bar.inc(1);
                    if !f.is_empty() {
                        found.lock().unwrap_or_else(|p| p.into_inner()).extend(f);
                    }
                }
            });
        }
    });
    bar.finish_and_clear();
    let mut all = found.into_inner().unwrap_or_else(|p| p.into_inner());
    for d in &s.read_only {
        all.push(Finding {
            kind: Kind::ReadOnlyDir,
            severity: Kind::ReadOnlyDir.severity(),
            module: String::new(),
            version: String::new(),
            path: d.clone(),
            detail: "no write permission for its owner".into(),
            pid: None,
        });
    }
    for p in &s.strays {
        all.push(Finding {
            kind: Kind::Leftover,
            severity: Kind::Leftover.severity(),
            module: String::new(),
            version: String::new(),
            path: p.clone(),
            detail: String::new(),
            pid: None,
        });
    }
    all.sort_by(|a, b| {
        (b.severity, &a.module, &a.version, &a.path)
            .cmp(&(a.severity, &b.module, &b.version, &b.path))
    });
    Checked {
        findings: all,
        bytes: bytes.into_inner(),
        unchecked: unchecked.into_inner(),
    }
}

/// A progress bar of `len` steps on standard error (hidden when it is not a terminal).
pub fn progress_bar(len: u64, shown: bool) -> indicatif::ProgressBar {
    if !shown {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr_with_hz(5),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {prefix} [{bar:30}] {pos}/{len} module versions [{elapsed}]",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix("checking");
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// `Err` unless `modcache` is a directory: a cache named by mistake is not a healthy one.
pub fn existing(modcache: &Path) -> Result<(), Error> {
    match std::fs::metadata(modcache) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::NotADirectory {
            modcache: modcache.to_path_buf(),
        }),
        Err(source) => Err(Error::Unreadable {
            modcache: modcache.to_path_buf(),
            source,
        }),
    }
}
