//! modgate: a caching Go module proxy and download doctor.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use modgate::config::{LogFormat, ServeArgs, Settings};

/// A caching Go module proxy that speaks the GOPROXY protocol as the go command expects,
/// and a doctor that says why `go mod download` hangs or fails.
#[derive(Parser, Debug)]
#[command(name = "modgate", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the caching Go module proxy (GOPROXY protocol, upstream chains, private modules
    /// from git, checksum database).
    Serve(ServeArgs),
    /// Measure why Go module downloads hang or fail on this machine, and print the fix.
    Doctor,
    /// Run a go command through a recording proxy and show where the time went.
    Trace,
    /// Inspect the proxy's cache: `cache verify` checks every entry against its hash,
    /// `cache repair` removes what does not verify.
    Cache,
    /// Fill the cache ahead of time with a module graph (for CI and air-gapped sites).
    Prefetch,
    /// Pack cached modules into one file to carry to an air-gapped site.
    Bundle,
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Serve(_) => "serve",
            Command::Doctor => "doctor",
            Command::Trace => "trace",
            Command::Cache => "cache",
            Command::Prefetch => "prefetch",
            Command::Bundle => "bundle",
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Serve(args) = &cli.command {
        return serve(args);
    }
    eprintln!(
        "modgate {}: `{}` is planned but not built yet in this version; see the issue tracker",
        env!("CARGO_PKG_VERSION"),
        cli.command.name()
    );
    ExitCode::from(2)
}

fn serve(args: &ServeArgs) -> ExitCode {
    let settings = match Settings::resolve(args, &|k| std::env::var(k).ok()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("modgate serve: {e}");
            return ExitCode::from(2);
        }
    };
    let _log_flush = init_logging(settings.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("modgate serve: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(modgate::serve::run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("modgate serve: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, filtered by RUST_LOG (default `info`). Lines are written by a
/// background thread so a request never waits on the terminal or a pipe; the returned
/// guard flushes what is queued when it is dropped.
fn init_logging(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    // Not lossy: when the queue is full a request waits rather than a line being lost.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stderr());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(writer);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    guard
}
