//! Runs the traced command: reads its effective GOPROXY and GOSUMDB (through `go env` when
//! the command is a go command, as the doctor reads them), starts the recorder, runs the
//! command with only GOPROXY changed and its standard streams its own, and returns its
//! exit status with the records.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::git::StandIn;
use super::record::Recorder;
use super::report::Trace;
use super::rewrite::rewrite;
use super::sample::Sampler;
use crate::goenv::GoSettings;

/// What `modgate trace` was asked.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The command and its arguments.
    pub command: Vec<String>,
    /// Where the raw records go (`--json`).
    pub json: Option<PathBuf>,
    /// Where the Trace Event file goes (`--chrome`).
    pub chrome: Option<PathBuf>,
    /// Where the HTML waterfall goes (`--html`).
    pub html: Option<PathBuf>,
}

/// Why the command could not be traced, or the files asked for not written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No command was given.
    #[error(
        "no command to run: modgate trace [--html FILE] [--json FILE] [--chrome FILE] -- COMMAND..."
    )]
    NoCommand,
    /// The command's settings could not be read.
    #[error(transparent)]
    Settings(#[from] crate::goenv::Error),
    /// Its GOSUMDB is not one the go command takes (`sumdb::spec::parse`'s words).
    #[error("GOSUMDB: {0}")]
    Gosumdb(#[source] crate::sumdb::spec::SpecError),
    /// Its GOPROXY is not a list the go command takes.
    #[error(transparent)]
    Goproxy(#[from] super::rewrite::Error),
    /// The recorder could not start.
    #[error(transparent)]
    Recorder(#[from] super::record::Error),
    /// The git stand-in could not be set up.
    #[error(transparent)]
    StandIn(#[from] super::git::Error),
    /// The command could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Waiting for the command failed.
    #[error("waiting for {program}: {source}")]
    Wait {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The records could not be made JSON.
    #[error("the records as JSON: {0}")]
    RecordsJson(#[source] serde_json::Error),
    /// A file's JSON could not be written out as text.
    #[error("{0}")]
    Json(#[source] serde_json::Error),
    /// A file asked for could not be written.
    #[error("writing {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Whether `program` is the go command (its file name is `go`, or `go.exe` on Windows).
fn is_go(program: &str) -> bool {
    Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n == "go" || n == crate::platform::file_mode::program_name("go"))
}

/// Runs the command through the recorder; the trace, or why it could not run.
pub async fn run(opts: &Options) -> Result<Trace, Error> {
    let program = opts.command.first().ok_or(Error::NoCommand)?;
    let env = |k: &str| std::env::var(k).ok();
    let go = is_go(program).then(|| Path::new(program));
    let settings = GoSettings::read(go, None, &env, crate::goenv::GO_ENV_WITHIN).await?;
    let goproxy = match settings.get("GOPROXY") {
        "" => crate::goenv::DEFAULT_GOPROXY.to_string(),
        v => v.to_string(),
    };
    let sumdb = match settings.get("GOSUMDB") {
        "" => Some(crate::goenv::DEFAULT_GOSUMDB.to_string()),
        v => Some(v.to_string()),
    }
    .map(|s| crate::sumdb::spec::parse(&s))
    .transpose()
    .map_err(Error::Gosumdb)?
    .flatten();
    let upstreams = rewrite(&goproxy, "http://127.0.0.1")?.upstreams;
    // A GOSUMDB that names its URL is reached directly by the go command: nothing to claim.
    let claimed = sumdb
        .filter(|s| s.url.is_none())
        .map(|s| (s.name.clone(), s.direct_url()));
    let recorder = Recorder::start(upstreams, claimed, settings.clone()).await?;
    let rewritten = rewrite(&goproxy, &recorder.url)?;
    // Git commands the go command runs itself, timed by a stand-in first on its PATH.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let stand_in = StandIn::prepare(&path)?;
    let started = Instant::now();
    let started_wall = std::time::SystemTime::now();
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(&opts.command[1..])
        .env("GOPROXY", &rewritten.goproxy);
    if let Some(s) = &stand_in {
        cmd.envs(s.env(&path));
    }
    let mut child = cmd.spawn().map_err(|source| Error::Spawn {
        program: program.clone(),
        source,
    })?;
    let progress = Progress::start(recorder.records.clone());
    let sampler = child.id().map(|pid| Sampler::start(pid, started));
    let status = child.wait().await.map_err(|source| Error::Wait {
        program: program.clone(),
        source,
    })?;
    progress.stop();
    let cpu = sampler.map(Sampler::stop).unwrap_or_default();
    let wall = started.elapsed();
    let offset = started.saturating_duration_since(recorder.records.epoch());
    // Times from the command's start.
    let records = recorder
        .records
        .snapshot()
        .into_iter()
        .map(|mut r| {
            r.asked = r.asked.saturating_sub(offset);
            r.first_byte = r.first_byte.map(|t| t.saturating_sub(offset));
            r.done = r.done.map(|t| t.saturating_sub(offset));
            r
        })
        .collect();
    // cmd/go/internal/modcmd/download.go and modload: runtime.GOMAXPROCS(0) at once.
    let parallelism = Some(settings.get("GOMAXPROCS"))
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()));
    Ok(Trace {
        parallelism,
        git: stand_in
            .map(|s| s.records(started_wall))
            .unwrap_or_default(),
        command: opts.command.clone(),
        exit_code: crate::platform::process::exit_code(&status),
        wall_us: wall.as_micros() as u64,
        records,
        cpu,
    })
}

/// The live line on standard error while the command runs (requests done, in flight,
/// bytes), hidden when standard error is not a terminal.
struct Progress {
    bar: indicatif::ProgressBar,
    ticker: tokio::task::JoinHandle<()>,
}

impl Progress {
    fn start(records: super::record::Records) -> Progress {
        let bar = indicatif::ProgressBar::with_draw_target(
            None,
            indicatif::ProgressDrawTarget::stderr_with_hz(5),
        );
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} modgate trace: {msg} [{elapsed}]")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        let shown = bar.clone();
        let ticker = tokio::spawn(async move {
            loop {
                let all = records.snapshot();
                let done = all.iter().filter(|r| r.done.is_some()).count();
                let bytes: u64 = all.iter().map(|r| r.bytes).sum();
                shown.set_message(format!(
                    "{done} requests done, {} in flight, {bytes} bytes",
                    all.len() - done
                ));
                shown.tick();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        Progress { bar, ticker }
    }

    /// Stops and clears the line: the summary follows.
    fn stop(self) {
        self.ticker.abort();
        self.bar.finish_and_clear();
    }
}

/// Writes the files asked for.
pub fn write_files(opts: &Options, trace: &Trace) -> Result<(), Error> {
    let write_file = |path: &Path, contents: String| {
        std::fs::write(path, contents).map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })
    };
    let write = |path: &Path, v: &serde_json::Value| {
        write_file(path, serde_json::to_string_pretty(v).map_err(Error::Json)?)
    };
    if let Some(p) = &opts.json {
        let mut v = serde_json::to_value(trace).map_err(Error::RecordsJson)?;
        v["critical_path"] = trace
            .critical_path()
            .iter()
            .map(|s| {
                serde_json::json!({
                    "what": s.what,
                    "start_us": s.start.as_micros() as u64,
                    "end_us": s.end.as_micros() as u64,
                })
            })
            .collect();
        if let Some(a) = trace.attribution() {
            v["attribution"] = serde_json::json!({
                "named_us": a.named.as_micros() as u64,
                "work_us": a.work.as_micros() as u64,
                "unaccounted_us": a.unaccounted.as_micros() as u64,
            });
        }
        write(p, &v)?;
    }
    if let Some(p) = &opts.chrome {
        write(p, &trace.chrome())?;
    }
    if let Some(p) = &opts.html {
        write_file(p, super::html::page(trace))?;
    }
    Ok(())
}
