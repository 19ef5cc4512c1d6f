//! modgate: a caching Go module proxy and download doctor.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use modgate::config::{LogFormat, ServeArgs, Settings};
use modgate::goenv::GoSettings;
use modgate::prefetch::into::Destination;

/// A caching Go module proxy that speaks the GOPROXY protocol as the go command expects,
/// and a doctor that says why `go mod download` hangs or fails.
#[derive(Parser, Debug)]
#[command(name = "modgate", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `modgate doctor`'s arguments.
#[derive(clap::Args, Debug)]
struct DoctorArgs {
    /// The project directory (its go.mod, go.sum and vendor directory are read).
    #[arg(default_value = ".")]
    dir: std::path::PathBuf,
    /// Check this module (PATH or PATH@VERSION) instead of the project's requirements;
    /// repeatable.
    #[arg(long = "module", value_name = "PATH[@VERSION]")]
    modules: Vec<String>,
    /// Print the report as JSON, for CI.
    #[arg(long)]
    json: bool,
    /// The longest any one measurement may take (10s, 500ms, 2m).
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    timeout: String,
    /// An error text pasted from a failed build, to explain for this machine.
    #[arg(long, value_name = "ERROR TEXT")]
    explain: Option<String>,
    /// Print the fixes of this run as a shell script to read and run, instead of the
    /// report (the doctor itself changes nothing).
    #[arg(long, conflicts_with = "json")]
    fix_script: bool,
    /// List every measurement (each repository git answered for, ...) instead of one
    /// summary line per healthy check.
    #[arg(long, short)]
    verbose: bool,
}

#[derive(clap::Args, Debug)]
struct TraceArgs {
    /// Write a self-contained HTML waterfall here.
    #[arg(long, value_name = "FILE")]
    html: Option<std::path::PathBuf>,
    /// Write the raw records here, as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<std::path::PathBuf>,
    /// Write the Trace Event format (Perfetto, chrome://tracing) here.
    #[arg(long, value_name = "FILE")]
    chrome: Option<std::path::PathBuf>,
    /// The command to run, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

/// `modgate cache verify` and `repair`'s arguments.
#[derive(clap::Args, Debug)]
struct CacheArgs {
    /// The module cache (default: the go command's, `go env GOMODCACHE`).
    #[arg(long, value_name = "DIR")]
    gomodcache: Option<std::path::PathBuf>,
    /// A go.sum file whose lines the cache must agree with; repeatable.
    #[arg(long = "gosum", value_name = "FILE")]
    go_sums: Vec<std::path::PathBuf>,
    /// Print the report as JSON, for CI.
    #[arg(long)]
    json: bool,
}

/// What to fetch and from where: `prefetch`'s and `bundle create`'s arguments.
#[derive(clap::Args, Debug)]
struct FetchArgs {
    /// Projects: directories (their go.work, else go.mod), go.mod or go.work files.
    #[arg(value_name = "DIR|go.mod|go.work", default_value = ".")]
    projects: Vec<std::path::PathBuf>,
    /// Where modules are fetched from for a data directory or a bundle, GOPROXY syntax
    /// [default: MODGATE_UPSTREAM, the --config file's, else the go command's GOPROXY
    /// (go env, its GOENV file included)]
    #[arg(long, value_name = "LIST")]
    upstream: Option<String>,
    /// The checksum database zips are checked against (and a bundle carries), GOSUMDB
    /// syntax [default: MODGATE_SUMDB, the --config file's, else the go command's GOSUMDB]
    #[arg(long, value_name = "SPEC")]
    sumdb: Option<String>,
    /// A `serve` settings file (upstreams, credentials, timeouts).
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// Requests at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    jobs: usize,
    /// At most N requests a second.
    #[arg(long, value_name = "N")]
    rate: Option<u32>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// `modgate prefetch`'s arguments.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["to", "data_dir", "bundle"])))]
struct PrefetchArgs {
    #[command(flatten)]
    fetch: FetchArgs,
    /// Warm this GOPROXY (a modgate server) by asking it for every file.
    #[arg(long, value_name = "URL")]
    to: Option<String>,
    /// Fill this modgate data directory (fetched from --upstream, checked as `serve`
    /// checks).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// Write one bundle file for an air-gapped site (as `bundle create`).
    #[arg(long, value_name = "FILE")]
    bundle: Option<std::path::PathBuf>,
}

/// `modgate bundle create`'s arguments.
#[derive(clap::Args, Debug)]
struct BundleCreateArgs {
    /// The bundle to write.
    #[arg(value_name = "FILE")]
    file: std::path::PathBuf,
    #[command(flatten)]
    fetch: FetchArgs,
    /// Fill (and keep) this data directory on the way [default: a temporary one]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
}

#[derive(Subcommand, Debug)]
enum BundleCommand {
    /// Fetch every module version the projects need, with the checksum database's
    /// records and proofs, into one file (zstd tar). Exit status: 0 written, 1 some
    /// could not be fetched, 2 could not run.
    Create(BundleCreateArgs),
    /// Check a bundle: every file against its index, every zip and go.mod against its
    /// hash, every checksum database record against the key and the tiles. Exit status:
    /// 0 sound, 1 not.
    Verify {
        /// The bundle (`-`: standard input).
        #[arg(value_name = "FILE")]
        file: std::path::PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a bundle and store it into a data directory (as `serve --bundle` does), or
    /// into the go command's own module cache (`GOFLAGS=-mod=mod GOPROXY=off go build`
    /// then finds every module). Exit status: 0 imported, 1 not, 2 could not run.
    #[command(group(clap::ArgGroup::new("into").required(true).args(["data_dir", "gomodcache"])))]
    Import {
        /// The bundle (`-`: standard input, as from `curl`).
        #[arg(value_name = "FILE")]
        file: std::path::PathBuf,
        /// The data directory.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<std::path::PathBuf>,
        /// The go command's module cache (GOMODCACHE): everything checked first, then
        /// each version moved into its `cache/download` under its lock, `@v/list`
        /// rewritten as the go command writes it, the checksum database's tiles and
        /// lookups beside them (its tree head into `$GOPATH/pkg/sumdb` when none is there).
        #[arg(long, value_name = "DIR")]
        gomodcache: Option<std::path::PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Print the effective settings of `modgate serve` (these flags, the environment, the
    /// settings file, the defaults) as TOML, each value with where it came from, secrets
    /// redacted. Exit status: 0 printed, 2 the settings are not valid.
    Show(Box<ServeArgs>),
    /// Check a settings file on its own (the environment is not read). Exit status: 0
    /// valid, 2 not (the line and what to write are printed).
    Check {
        /// The settings file.
        #[arg(value_name = "FILE")]
        file: std::path::PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum CacheCommand {
    /// Check every entry of the go command's module cache the way the go command trusts
    /// it. Exit status: 0 healthy, 1 findings to repair, 2 could not run.
    Verify(CacheArgs),
    /// Mend only what `verify` finds: remove the damaged entries and fetch them again
    /// through GOPROXY with the go command. Exit status: 0 mended, 1 something is still
    /// wrong, 2 could not run.
    Repair(CacheArgs),
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Drop a module's short-lived answers (list, @latest, queries, "not found"s) on every
    /// replica of a running server, so that the next request asks upstream again; with
    /// `--force` and a version, remove that stored version too. Exit status: 0 done, 1
    /// refused or not complete, 2 could not ask.
    Purge(PurgeArgs),
}

/// `modgate admin purge`'s arguments.
#[derive(clap::Args, Debug)]
struct PurgeArgs {
    /// The module, or one version of it.
    #[arg(value_name = "MODULE[@VERSION]")]
    target: String,
    /// The server (any replica).
    #[arg(long, value_name = "URL")]
    url: String,
    /// A token with `admin = true` (needed with `[auth]`).
    #[arg(long, value_name = "TOKEN", conflicts_with = "token_file")]
    token: Option<String>,
    /// The token read from this file instead (not shown in the process list).
    #[arg(long, value_name = "FILE")]
    token_file: Option<std::path::PathBuf>,
    /// What to drop (comma-separated) [default: all four]
    #[arg(long, value_name = "list,latest,query,negative", value_delimiter = ',')]
    what: Vec<PurgeWhat>,
    /// Remove the stored version too (refused while a replica is sending its zip).
    #[arg(long)]
    force: bool,
    /// Print the server's answer as JSON.
    #[arg(long)]
    json: bool,
}

/// A `--what` value.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
enum PurgeWhat {
    List,
    Latest,
    Query,
    Negative,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the caching Go module proxy (GOPROXY protocol, upstream chains, private modules
    /// from git, checksum database).
    Serve(ServeArgs),
    /// Measure why Go module downloads hang or fail on this machine, and print the fix.
    /// Exit status: 0 healthy, 1 problems found, 2 could not run.
    Doctor(DoctorArgs),
    /// Run a go command through a recording proxy and show where the time went.
    Trace(TraceArgs),
    /// The go command's module cache: `cache verify` checks every entry against its
    /// hash, `cache repair` mends what does not verify.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Fetch every module version a project's build needs, ahead of time, into a modgate
    /// server, a data directory or a bundle. Exit status: 0 all fetched, 1 some could not
    /// be, 2 could not run.
    Prefetch(PrefetchArgs),
    /// Module versions and their checksum database proofs in one file, for air-gapped
    /// sites: `bundle create`, `bundle verify`, `bundle import` (and `serve --bundle`).
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// `modgate serve`'s settings: `config show` (the effective ones, with where each came
    /// from), `config check FILE`.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// A running server's operations: `admin purge MODULE[@VERSION] --url URL`.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Queue a warm job on a running server: it fetches the whole module graph of the
    /// project in DIR into its store (on whichever replica is free), so that builders
    /// find it there. Exit status: 0 queued (with --wait: done, every version fetched),
    /// 1 the job failed or some versions could not be fetched, 2 could not ask.
    Warm(WarmArgs),
}

/// `modgate warm`'s arguments.
#[derive(clap::Args, Debug)]
struct WarmArgs {
    /// The project: a directory with a go.mod or go.work.
    #[arg(value_name = "DIR", default_value = ".")]
    dir: std::path::PathBuf,
    /// The server (any replica).
    #[arg(long, value_name = "URL")]
    url: String,
    /// A token with `warm = true` (needed with `[auth]`).
    #[arg(long, value_name = "TOKEN", conflicts_with = "token_file")]
    token: Option<String>,
    /// The token read from this file instead (not shown in the process list).
    #[arg(long, value_name = "FILE")]
    token_file: Option<std::path::PathBuf>,
    /// Where the server posts the job's final state (allowed by its `[warm]
    /// callback_allow`).
    #[arg(long, value_name = "URL")]
    callback_url: Option<String>,
    /// Follow the job until it ends, with a progress bar.
    #[arg(long)]
    wait: bool,
    /// Print the job as JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    // Run as `git` by a traced go command: time the real git.
    let started = std::time::SystemTime::now();
    if modgate::trace::git::is_stand_in() {
        return modgate::trace::git::stand_in(started);
    }
    let cli = Cli::parse();
    match &cli.command {
        Command::Serve(args) => serve(args),
        Command::Doctor(args) => doctor(args),
        Command::Trace(args) => trace(args),
        Command::Cache(c) => cache(c),
        Command::Prefetch(a) => prefetch(a),
        Command::Bundle(b) => bundle(b),
        Command::Config(c) => config(c),
        Command::Admin(AdminCommand::Purge(a)) => admin_purge(a),
        Command::Warm(a) => warm(a),
    }
}

/// The token given (`--token`), or read from `--token-file` (trimmed).
fn token(given: Option<&str>, file: Option<&std::path::Path>) -> Result<Option<String>, String> {
    match file {
        Some(f) => std::fs::read_to_string(f)
            .map(|t| Some(t.trim().to_string()))
            .map_err(|e| format!("--token-file {}: {e}", f.display())),
        None => Ok(given.map(str::to_string)),
    }
}

fn warm(a: &WarmArgs) -> ExitCode {
    let name = "warm";
    let token = match token(a.token.as_deref(), a.token_file.as_deref()) {
        Ok(t) => t,
        Err(e) => return failed(name, a.json, 2, &e),
    };
    let files = match modgate::warm::project_files(&a.dir) {
        Ok(f) => f,
        Err(e) => return failed(name, a.json, 2, &e.to_string()),
    };
    let client = match modgate::warm::Client::new(&a.url, token) {
        Ok(c) => c,
        Err(e) => return failed(name, a.json, 2, &e.to_string()),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            return failed(
                name,
                a.json,
                2,
                &format!("cannot start the async runtime: {e}"),
            );
        }
    };
    let body = modgate::fleet::request::Body {
        files,
        modules: Vec::new(),
        callback_url: a.callback_url.clone(),
    };
    let progress = !a.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let outcome = runtime.block_on(async {
        let job = client.submit(&body).await?;
        if a.wait {
            client.wait(&job.id, progress).await
        } else {
            Ok(job)
        }
    });
    let job = match outcome {
        Ok(j) => j,
        Err(e) => return failed(name, a.json, 2, &e.to_string()),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&job).unwrap_or_default());
    } else {
        print!("{}", modgate::warm::render(&job));
    }
    use modgate::fleet::job::State;
    match job.state {
        State::Done if job.failed.is_empty() => ExitCode::SUCCESS,
        State::Queued | State::Running if !a.wait => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    }
}

fn admin_purge(a: &PurgeArgs) -> ExitCode {
    use modgate::cache::purge::What;
    let name = "admin purge";
    let what: Vec<What> = a
        .what
        .iter()
        .map(|w| match w {
            PurgeWhat::List => What::List,
            PurgeWhat::Latest => What::Latest,
            PurgeWhat::Query => What::Query,
            PurgeWhat::Negative => What::Negative,
        })
        .collect();
    let purge = match modgate::admin::purge_of(&a.target, &what, a.force) {
        Ok(p) => p,
        Err(e) => return failed(name, a.json, 2, &e),
    };
    let token = match token(a.token.as_deref(), a.token_file.as_deref()) {
        Ok(t) => t,
        Err(e) => return failed(name, a.json, 2, &e),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            return failed(
                name,
                a.json,
                2,
                &format!("cannot start the async runtime: {e}"),
            );
        }
    };
    let answer = match runtime.block_on(modgate::admin::purge(&a.url, token.as_deref(), &purge)) {
        Ok(answer) => answer,
        Err(e) => return failed(name, a.json, 2, &e.to_string()),
    };
    if a.json {
        match serde_json::from_str::<serde_json::Value>(&answer.body) {
            Ok(v) => println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default()),
            Err(_) => println!(
                "{}",
                serde_json::json!({ "status": answer.status, "error": answer.body.trim_end() })
            ),
        }
    }
    let text = modgate::admin::render(&answer);
    match answer.status {
        200 => {
            if !a.json {
                print!("{text}");
            }
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("modgate {name}: {} {text}", answer.status);
            ExitCode::from(1)
        }
    }
}

fn config(c: &ConfigCommand) -> ExitCode {
    match c {
        ConfigCommand::Show(args) => {
            match Settings::resolve_layers(args, &|k| std::env::var(k).ok(), Vec::new()) {
                Ok((_, layers)) => {
                    print!("{}", modgate::config::show::render(&layers));
                    ExitCode::SUCCESS
                }
                Err(e) => failed("config show", false, 2, &e.to_string()),
            }
        }
        ConfigCommand::Check { file } => {
            let args = ServeArgs {
                config: Some(file.clone()),
                ..ServeArgs::default()
            };
            match Settings::resolve(&args, &|_| None) {
                Ok(_) => {
                    println!("{}: valid", file.display());
                    ExitCode::SUCCESS
                }
                Err(e) => failed("config check", false, 2, &e.to_string()),
            }
        }
    }
}

fn trace(args: &TraceArgs) -> ExitCode {
    use modgate::trace::run;
    let opts = run::Options {
        command: args.command.clone(),
        json: args.json.clone(),
        chrome: args.chrome.clone(),
        html: args.html.clone(),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("modgate trace: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let trace = match runtime.block_on(run::run(&opts)) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("modgate trace: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.shutdown_background();
    eprint!("{}", trace.summary());
    if let Err(e) = run::write_files(&opts, &trace) {
        eprintln!("modgate trace: {e}");
        return ExitCode::from(2);
    }
    // The command's own exit status.
    ExitCode::from(trace.exit_code.map_or(1, |c| c.clamp(0, 255) as u8))
}

/// Says why `modgate NAME` failed, on standard error, and with `--json` also as a JSON
/// object on standard output (`{"error": "..."}`), so that a machine reading the output
/// always gets JSON; exits with `code`.
fn failed(name: &str, json: bool, code: u8, e: &str) -> ExitCode {
    eprintln!("modgate {name}: {e}");
    if json {
        println!("{}", serde_json::json!({ "error": e }));
    }
    ExitCode::from(code)
}

/// A report that cannot be written as JSON.
#[derive(Debug, thiserror::Error)]
#[error("the report as JSON: {0}")]
struct ReportError(#[source] serde_json::Error);

/// Prints `value` as JSON, or `text`.
fn report<T: serde::Serialize>(json: bool, value: &T, text: &str) -> Result<(), ReportError> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).map_err(ReportError)?
        );
    } else {
        print!("{text}");
    }
    Ok(())
}

fn prefetch(a: &PrefetchArgs) -> ExitCode {
    let into = match (&a.to, &a.data_dir, &a.bundle) {
        (Some(u), _, _) => Destination::Server(u.clone()),
        (_, Some(d), _) => Destination::DataDir(d.clone()),
        (_, _, Some(f)) => Destination::Bundle(f.clone(), None),
        _ => unreachable!("clap requires one target"),
    };
    fetch_into(&a.fetch, into, "prefetch")
}

fn bundle(b: &BundleCommand) -> ExitCode {
    let (verb, file, json) = match b {
        BundleCommand::Create(c) => {
            return fetch_into(
                &c.fetch,
                Destination::Bundle(c.file.clone(), c.data_dir.clone()),
                "bundle create",
            );
        }
        BundleCommand::Verify { file, json } => ("verify", file, *json),
        BundleCommand::Import { file, json, .. } => ("import", file, *json),
    };
    let name = format!("bundle {verb}");
    // A bundle that cannot be opened is a run that cannot start (2); one that does not
    // verify is a finding (1).
    if !modgate::bundle::is_stdin(file)
        && let Err(e) = std::fs::File::open(file)
    {
        return failed(&name, json, 2, &format!("{}: {e}", file.display()));
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            return failed(
                &name,
                json,
                2,
                &format!("cannot start the async runtime: {e}"),
            );
        }
    };
    let r = match b {
        BundleCommand::Import {
            gomodcache: Some(modcache),
            ..
        } => return import_into_gomodcache(&runtime, file, modcache, json),
        BundleCommand::Import {
            data_dir: Some(data_dir),
            ..
        } => {
            let store = match modgate::storage::Store::open_dir(data_dir) {
                Ok(s) => s,
                Err(e) => {
                    let e = format!("the data directory {}: {e}", data_dir.display());
                    return failed(&name, json, 2, &e);
                }
            };
            runtime
                .block_on(modgate::bundle::import(file, &store))
                .map(|(_, s)| s)
        }
        _ => runtime.block_on(modgate::bundle::verify(file)),
    };
    let done = if verb == "verify" {
        "verified"
    } else {
        "imported"
    };
    match r {
        Ok(s) => match report(json, &s, &s.render(done)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => failed(&name, false, 2, &e.to_string()),
        },
        Err(e) => failed(&name, json, 1, &e.to_string()),
    }
}

/// `bundle import FILE --gomodcache DIR`, its report; the tree head goes to the go
/// command's `$GOPATH/pkg/sumdb` (its GOPATH read through `goenv`).
fn import_into_gomodcache(
    runtime: &tokio::runtime::Runtime,
    file: &std::path::Path,
    modcache: &std::path::Path,
    json: bool,
) -> ExitCode {
    let name = "bundle import";
    let sumdb_dir = match GoSettings::current_blocking(None, modgate::goenv::GO_ENV_WITHIN) {
        Ok(s) => {
            let gopath = s.get("GOPATH");
            std::env::split_paths(gopath)
                .next()
                .filter(|p| !p.as_os_str().is_empty())
                .map(|p| p.join("pkg").join("sumdb"))
        }
        Err(e) => return failed(name, json, 2, &e.to_string()),
    };
    match runtime.block_on(modgate::bundle::gomodcache::import(
        file,
        modcache,
        sumdb_dir.as_deref(),
    )) {
        Ok((_, s, placed)) => {
            let mut text = s.render("imported");
            text.push_str(&format!(
                "into {}: {} files written, {} already there\n",
                modcache.display(),
                placed.written,
                placed.kept
            ));
            if let Some(l) = &placed.latest {
                text.push_str(&format!("checksum database tree head: {}\n", l.display()));
            }
            let value =
                serde_json::json!({ "bundle": s, "gomodcache": modcache, "placed": placed });
            match report(json, &value, &text) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => failed(name, false, 2, &e.to_string()),
            }
        }
        Err(e) => failed(name, json, 1, &e.to_string()),
    }
}

/// Fetches what `a`'s projects need into `into`, and prints the report; `name` names
/// the command in messages.
fn fetch_into(a: &FetchArgs, into: Destination, name: &str) -> ExitCode {
    use std::io::IsTerminal;
    let req = modgate::prefetch::into::Request {
        projects: a.projects.clone(),
        upstream: a.upstream.clone(),
        sumdb: a.sumdb.clone(),
        config: a.config.clone(),
        jobs: a.jobs,
        rate: a.rate,
        progress: !a.json && std::io::stderr().is_terminal(),
    };
    let fail = |e: String| failed(name, a.json, 2, &e);
    let fetched = match modgate::prefetch::into::fetch_into(&req, &into, name) {
        Ok(f) => f,
        Err(e) => return fail(e.to_string()),
    };
    let (r, bundle) = (fetched.report, fetched.bundle);
    let mut text = r.render();
    if let Some(b) = &bundle {
        text.push_str(&b.render("wrote"));
    }
    // The prefetch report, with the bundle's when one was written.
    let mut value = match serde_json::to_value(&r) {
        Ok(v) => v,
        Err(e) => return fail(format!("the report as JSON: {e}")),
    };
    if let Some(b) = &bundle {
        value["bundle"] = serde_json::to_value(b).unwrap_or_default();
    }
    if let Err(e) = report(a.json, &value, &text) {
        return fail(e.to_string());
    }
    ExitCode::from(r.exit_code())
}

fn cache(c: &CacheCommand) -> ExitCode {
    use modgate::gomodcache::{repair, verify};
    use std::io::IsTerminal;
    let (name, args) = match c {
        CacheCommand::Verify(a) => ("verify", a),
        CacheCommand::Repair(a) => ("repair", a),
    };
    let settings = match GoSettings::current_blocking(None, modgate::goenv::GO_ENV_WITHIN) {
        Ok(s) => s,
        Err(e) => return failed(&format!("cache {name}"), args.json, 2, &e.to_string()),
    };
    let go = modgate::goenv::go_on_path(std::env::var_os("PATH").as_deref());
    let modcache = match (&args.gomodcache, settings.get("GOMODCACHE")) {
        (Some(d), _) => d.clone(),
        (None, "") => {
            return failed(
                &format!("cache {name}"),
                args.json,
                2,
                "the go command names no module cache (no GOMODCACHE, GOPATH nor HOME): say which with --gomodcache DIR",
            );
        }
        (None, d) => std::path::PathBuf::from(d),
    };
    let progress = !args.json && std::io::stderr().is_terminal();
    let modcache_rw = modgate::goenv::has_modcacherw(settings.get("GOFLAGS"));
    let print = |json: serde_json::Result<String>, text: String| match args.json {
        true => match json {
            Ok(j) => println!("{j}"),
            Err(e) => eprintln!("modgate cache {name}: the report as JSON: {e}"),
        },
        false => print!("{text}"),
    };
    match c {
        CacheCommand::Verify(_) => {
            let opts = verify::Options {
                modcache,
                go_sums: args.go_sums.clone(),
                modcache_rw,
                progress,
            };
            match verify::verify(&opts) {
                Ok(r) => {
                    print(serde_json::to_string_pretty(&r), r.render());
                    ExitCode::from(r.exit_code())
                }
                Err(e) => failed("cache verify", args.json, 2, &e.to_string()),
            }
        }
        CacheCommand::Repair(_) => {
            let Some(go) = go else {
                eprintln!(
                    "modgate cache repair: no go command on PATH: repair fetches damaged modules again through it (put its bin directory on PATH)"
                );
                return ExitCode::from(2);
            };
            let opts = repair::Options {
                modcache,
                go_sums: args.go_sums.clone(),
                modcache_rw,
                progress,
                go,
            };
            match repair::repair(&opts) {
                Ok(o) => {
                    print(serde_json::to_string_pretty(&o), o.render());
                    ExitCode::from(o.exit_code())
                }
                Err(e) => failed("cache repair", args.json, 2, &e.to_string()),
            }
        }
    }
}

fn doctor(args: &DoctorArgs) -> ExitCode {
    use modgate::doctor::run;
    let timeout = match run::parse_timeout(&args.timeout) {
        Ok(t) => t,
        Err(e) => return failed("doctor", args.json, 2, &e.to_string()),
    };
    let opts = run::Options {
        dir: args.dir.clone(),
        modules: args.modules.clone(),
        timeout,
        explain: args.explain.clone(),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("modgate doctor: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let report = runtime.block_on(run::run(&opts));
    // A check left behind on a hung file system must not hold the exit.
    runtime.shutdown_background();
    let report = match report {
        Ok(r) => r,
        Err(e) => return failed("doctor", args.json, 2, &e.to_string()),
    };
    if args.fix_script {
        print!("{}", modgate::doctor::report::fix_script(&report));
    } else if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("modgate doctor: cannot print the report as JSON: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        print!("{}", modgate::doctor::report::render(&report, args.verbose));
    }
    ExitCode::from(report.exit_code())
}

fn serve(args: &ServeArgs) -> ExitCode {
    let settings = match Settings::resolve(args, &|k| std::env::var(k).ok()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("modgate serve: {e}");
            return ExitCode::from(2);
        }
    };
    let _log_flush = init_logging(settings.log_format, &settings.log_level);
    open_file_limit(settings.server.max_connections);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("modgate serve: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let again = args.clone();
    let reread: modgate::serve::Reread =
        Box::new(move || Settings::resolve(&again, &|k| std::env::var(k).ok()));
    let result = runtime.block_on(modgate::serve::run(settings, reread));
    // The connections are drained (or their bound passed): what is left (a background
    // fetch into staging) is not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("modgate serve: {e}");
            ExitCode::from(2)
        }
    }
}

/// Raises the soft open file limit to the hard one (each connection is a descriptor; the
/// soft limit is often 1024), logs it, and warns when it leaves no room for
/// `max_connections` beside the store, the upstreams and git.
#[cfg(unix)]
fn open_file_limit(max_connections: usize) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    // Linux refuses more than fs.nr_open (1048576 by default) even with no hard limit;
    // macOS more than OPEN_MAX.
    const CEILING: u64 = if cfg!(target_os = "macos") {
        10240
    } else {
        1 << 20
    };
    let old = getrlimit(Resource::Nofile);
    let soft = old.current.unwrap_or(u64::MAX);
    let hard = old.maximum.unwrap_or(u64::MAX).min(CEILING);
    let limit = if soft < hard {
        match setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(hard),
                maximum: old.maximum,
            },
        ) {
            Ok(()) => {
                tracing::info!("open file limit: {hard} (raised from {soft})");
                hard
            }
            Err(e) => {
                tracing::info!("open file limit: {soft} (cannot raise it to {hard}: {e})");
                soft
            }
        }
    } else {
        tracing::info!("open file limit: {soft}");
        soft
    };
    // Room for the data dir, staging, upstream connections and git beside the clients.
    const ROOM: u64 = 256;
    if limit < max_connections as u64 + ROOM {
        tracing::warn!(
            "the open file limit ({limit}) leaves too little room for [server] max_connections ({max_connections}) and {ROOM} more: past it, connections fail to be accepted; raise it (ulimit -n, LimitNOFILE=) or lower max_connections"
        );
    }
}

/// Windows has no open file limit to raise (a process may hold millions of handles).
#[cfg(not(unix))]
fn open_file_limit(_max_connections: usize) {}

/// Logs to stderr, filtered by `level` (`log_level`: flag, MODGATE_LOG_LEVEL or RUST_LOG,
/// file, default `info`), through `logging`'s sink: a request never waits on the
/// terminal or a pipe, and the returned guard flushes what is queued when it is dropped.
/// Colors only on a terminal, and never with NO_COLOR set.
fn init_logging(format: LogFormat, level: &str) -> Option<modgate::logging::Flush> {
    let style = match format {
        LogFormat::Human => modgate::logging::Style::Human { colors: colors() },
        LogFormat::Json => modgate::logging::Style::Json,
    };
    match modgate::logging::init(style, level) {
        Ok(flush) => Some(flush),
        Err(e) => {
            eprintln!("modgate serve: cannot start the log writer thread: {e}; no log");
            None
        }
    }
}

/// Whether standard error gets colors: a terminal, and no `NO_COLOR` (no-color.org: set
/// and not empty).
fn colors() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
