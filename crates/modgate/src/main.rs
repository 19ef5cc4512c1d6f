//! modgate: a caching Go module proxy and download doctor.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    Serve,
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
            Command::Serve => "serve",
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
    eprintln!(
        "modgate {}: `{}` is planned but not built yet in this version; see the issue tracker",
        env!("CARGO_PKG_VERSION"),
        cli.command.name()
    );
    ExitCode::from(2)
}
