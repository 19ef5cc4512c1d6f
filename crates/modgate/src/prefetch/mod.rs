//! `modgate prefetch`: the module graph the go command needs for each project
//! (`graph.rs`), then every module version in it fetched in parallel, at a bounded rate,
//! into a modgate server, a data directory, or a bundle (`target.rs`).
//!
//! What is fetched: the go.mod of every module version the graph reads, and the `.info`,
//! `.mod` and `.zip` of every version in the build list (`go list -m all`), through
//! `replace` (a directory replacement needs nothing); so that afterwards, with the
//! upstream gone, `go mod download all` and `go build` find all they need.

pub mod into;
pub mod settings;
pub mod target;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures_util::StreamExt;
use serde::Serialize;

use crate::graph::{self, Mv};
use target::Target;

/// One project's graph, as reported.
#[derive(Debug, Serialize)]
pub struct ProjectReport {
    /// Where its go.mod or go.work is.
    pub dir: PathBuf,
    /// `go list -m all`: `path` for a main module, else `path version`.
    pub build_list: Vec<String>,
    /// How many go.mod files the graph read.
    pub go_mods: usize,
}

/// What a prefetch did.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Where the modules went.
    pub target: String,
    /// Each project's graph.
    pub projects: Vec<ProjectReport>,
    /// Module versions fetched (`path@version`).
    pub fetched: usize,
    /// Zip bytes.
    pub bytes: u64,
    /// How long it took, in milliseconds.
    pub millis: u64,
    /// What could not be fetched (`path@version` → why).
    pub errors: BTreeMap<String, String>,
    /// The versions fetched whole (for a bundle).
    #[serde(skip)]
    pub versions: Vec<Mv>,
    /// The versions of which the graph read only the go.mod.
    #[serde(skip)]
    pub go_mods: Vec<Mv>,
}

impl Report {
    /// 0: all fetched; 1: some could not be.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.errors.is_empty())
    }

    /// The report for people.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for p in &self.projects {
            let _ = writeln!(
                out,
                "{}: {} modules in the build list, {} go.mod files read",
                p.dir.display(),
                p.build_list.len(),
                p.go_mods
            );
        }
        let _ = writeln!(
            out,
            "modgate prefetch: {} module versions ({} MB of zips) into {} in {:.1}s",
            self.fetched,
            self.bytes / 1_000_000,
            self.target,
            self.millis as f64 / 1000.0
        );
        for (m, e) in &self.errors {
            let _ = writeln!(out, "  could not fetch {m}: {e}");
        }
        out
    }
}

/// Why a prefetch could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A project that cannot be read.
    #[error(transparent)]
    Project(graph::Error),
    /// A project's module graph that cannot be read.
    #[error("the module graph of {}: {source}", at.display())]
    Graph {
        /// The project, as given.
        at: PathBuf,
        /// Why.
        #[source]
        source: graph::Error,
    },
}

/// What to prefetch, how.
pub struct Options {
    /// Projects: directories, go.mod or go.work files.
    pub projects: Vec<PathBuf>,
    /// Requests at once.
    pub jobs: usize,
    /// At most this many requests a second.
    pub rate: Option<u32>,
    /// Show progress (on a terminal).
    pub progress: bool,
}

/// Reads each project's graph through `target` and fetches what it needs into it.
pub async fn run(opts: &Options, target: Arc<dyn Target>) -> Result<Report, Error> {
    let started = Instant::now();
    let paced: Arc<dyn Target> = Arc::new(target::Paced::new(Arc::clone(&target), opts.rate));
    let mut projects = Vec::new();
    let mut needs = graph::Needs::default();
    for at in &opts.projects {
        let project = graph::read_project(at).map_err(Error::Project)?;
        let spinner = crate::gomodcache::verify::progress_bar(0, opts.progress);
        spinner.set_prefix(format!("reading the module graph of {}", at.display()));
        let g = graph::load(&project, paced.as_ref(), opts.jobs)
            .await
            .map_err(|source| Error::Graph {
                at: at.clone(),
                source,
            })?;
        spinner.finish_and_clear();
        let list = g.build_list();
        needs.add(&project, &g);
        projects.push(ProjectReport {
            dir: project.dir.clone(),
            build_list: list
                .iter()
                .map(|(p, v)| {
                    if v.is_empty() {
                        p.clone()
                    } else {
                        format!("{p} {v}")
                    }
                })
                .collect(),
            go_mods: g.loaded().len(),
        });
    }
    let wanted = needs.versions;
    let versions: Vec<Mv> = wanted.iter().cloned().collect();
    let go_mods: Vec<Mv> = needs.go_mods.into_iter().collect();
    let bar = crate::gomodcache::verify::progress_bar(wanted.len() as u64, opts.progress);
    bar.set_prefix("fetching");
    let bytes = AtomicU64::new(0);
    let results: Vec<(Mv, Result<u64, crate::error::Error>)> = futures_util::stream::iter(wanted)
        .map(|m| {
            let paced = Arc::clone(&paced);
            let (bar, bytes) = (&bar, &bytes);
            async move {
                let r = paced.version(&m.0, &m.1).await;
                if let Ok(n) = &r {
                    bytes.fetch_add(*n, Ordering::Relaxed);
                }
                bar.inc(1);
                (m, r)
            }
        })
        .buffer_unordered(opts.jobs.max(1))
        .collect()
        .await;
    bar.finish_and_clear();
    let mut errors = BTreeMap::new();
    let mut fetched = 0;
    for (m, r) in results {
        match r {
            Ok(_) => fetched += 1,
            Err(e) => {
                errors.insert(format!("{}@{}", m.0, m.1), e.to_string());
            }
        }
    }
    Ok(Report {
        target: target.describe(),
        projects,
        fetched,
        bytes: bytes.into_inner(),
        millis: started.elapsed().as_millis() as u64,
        errors,
        versions,
        go_mods,
    })
}
