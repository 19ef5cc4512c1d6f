//! `modgate prefetch` and `modgate bundle create` past their arguments: the projects'
//! module graphs fetched into a running modgate, a data directory, or a bundle (written
//! from a data directory: the one given, or a scratch one removed after).

use std::path::PathBuf;
use std::sync::Arc;

use super::target::{self, Target};
use super::{Options, Report};
use crate::config::ServeArgs;
use crate::goenv::GoSettings;

/// Where the modules go.
#[derive(Debug, Clone)]
pub enum Destination {
    /// A running modgate (`--to URL`): asked for each file, which fills its cache.
    Server(String),
    /// A data directory, filled as `serve` fills it.
    DataDir(PathBuf),
    /// A bundle file, made from a data directory (scratch when `None`).
    Bundle(PathBuf, Option<PathBuf>),
}

/// What to fetch, and from where.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Projects: directories, go.mod or go.work files.
    pub projects: Vec<PathBuf>,
    /// `--upstream` (GOPROXY syntax).
    pub upstream: Option<String>,
    /// `--sumdb` (GOSUMDB syntax).
    pub sumdb: Option<String>,
    /// `--config`: a `serve` settings file.
    pub config: Option<PathBuf>,
    /// Requests at once.
    pub jobs: usize,
    /// At most this many requests a second.
    pub rate: Option<u32>,
    /// Show a progress bar.
    pub progress: bool,
}

/// What was fetched, and the bundle written when one was asked for (and nothing failed).
pub struct Fetched {
    /// The prefetch report.
    pub report: Report,
    /// The bundle's summary.
    pub bundle: Option<crate::bundle::Summary>,
}

/// The data directory's pieces a bundle is made from.
struct Built {
    settings: crate::config::Settings,
    store: Arc<crate::storage::Store>,
    sumdb: Option<Arc<crate::sumdb::proxy::SumdbProxy>>,
}

/// Fetches what `req`'s projects need into `into`; `name` (the command) names the
/// scratch directory, removed after.
pub fn fetch_into(req: &Request, into: &Destination, name: &str) -> Result<Fetched, String> {
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let scratch = std::env::temp_dir().join(format!(
        "modgate-{}-{}",
        name.replace(' ', "-"),
        std::process::id()
    ));
    let outcome = fetch(&runtime, req, into, &scratch);
    runtime.shutdown_background();
    let _ = std::fs::remove_dir_all(&scratch);
    outcome
}

fn fetch(
    runtime: &tokio::runtime::Runtime,
    req: &Request,
    into: &Destination,
    scratch: &std::path::Path,
) -> Result<Fetched, String> {
    let (target, built) = match into {
        Destination::Server(url) => {
            std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
            let s = target::Server::new(url, scratch.to_path_buf())?;
            (Arc::new(s) as Arc<dyn Target>, None)
        }
        Destination::DataDir(d) | Destination::Bundle(_, Some(d)) => {
            data_dir(runtime, req, d.clone())?
        }
        Destination::Bundle(_, None) => data_dir(runtime, req, scratch.join("data"))?,
    };
    let opts = Options {
        projects: req.projects.clone(),
        jobs: req.jobs,
        rate: req.rate,
        progress: req.progress,
    };
    runtime.block_on(async {
        let report = super::run(&opts, target).await?;
        let bundle = match (into, &built) {
            (Destination::Bundle(file, _), Some(b)) if report.errors.is_empty() => {
                Some(bundle(b, &report, file).await?)
            }
            _ => None,
        };
        Ok(Fetched { report, bundle })
    })
}

/// A data directory as `serve` would run it over `dir`: modgate's settings over the go
/// command's (its GOENV file included).
fn data_dir(
    runtime: &tokio::runtime::Runtime,
    req: &Request,
    dir: PathBuf,
) -> Result<(Arc<dyn Target>, Option<Built>), String> {
    let go = GoSettings::current_blocking(None, crate::goenv::GO_ENV_WITHIN)
        .map_err(|e| e.to_string())?;
    let args = ServeArgs {
        config: req.config.clone(),
        data_dir: Some(dir.clone()),
        upstream: req.upstream.clone(),
        sumdb: req.sumdb.clone(),
        ..ServeArgs::default()
    };
    let (settings, _) = super::settings::resolve(&args, &|k| std::env::var(k).ok(), &go)
        .map_err(|e| e.to_string())?;
    let (cache, store, sumdb) =
        runtime.block_on(async { crate::serve::data_dir_cache(&settings) })?;
    let target = Arc::new(target::DataDir::new(dir, cache));
    Ok((
        target,
        Some(Built {
            settings,
            store,
            sumdb,
        }),
    ))
}

/// The bundle of what `report` fetched into the data directory `b`, written to `file`.
async fn bundle(
    b: &Built,
    report: &Report,
    file: &std::path::Path,
) -> Result<crate::bundle::Summary, String> {
    let db = match (&b.sumdb, crate::sumdb::spec::parse(&b.settings.sumdb)?) {
        (Some(proxy), Some(spec)) => Some(crate::bundle::DbSource {
            db: spec,
            proxy: Arc::clone(proxy),
            excluded: crate::serve::sumdb_excluded(&b.settings),
        }),
        _ => None,
    };
    let contents = crate::bundle::Contents {
        versions: report.versions.clone(),
        go_mods: report.go_mods.clone(),
    };
    crate::bundle::create(&b.store, &contents, db.as_ref(), file).await
}
