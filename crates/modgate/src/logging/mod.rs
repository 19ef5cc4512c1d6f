//! Where `modgate serve`'s log lines go: `tracing` events formatted by
//! `tracing_subscriber` (human or JSON), and each request's line formatted by
//! `request_line.rs` in the same bytes, all into one sink (`sink.rs`) written to standard
//! error in batches by one thread.

mod request_line;
mod sink;

pub use request_line::RequestLine;
pub use sink::{Flush, Sink};

/// The shape of the lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// One line per event for people; `colors` on a terminal.
    Human {
        /// ANSI colors (a terminal, no `NO_COLOR`).
        colors: bool,
    },
    /// One JSON object per line.
    Json,
}

/// The directive that keeps the audit lines (target `audit`) at any log level.
const AUDIT: &str = "audit=info";

/// The process's sink.
static SINK: Sink = Sink::new();

/// Logs to standard error through the sink, filtered by `level` (tracing filter
/// directives, checked when the settings were read; `info` if they do not parse). The
/// returned guard writes what is pending when dropped. Called once, by `main`.
pub fn init(style: Style, level: &str) -> std::io::Result<Flush> {
    let flush = SINK.start(std::io::stderr())?;
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
        // The audit lines of admin actions are written at any level.
        .add_directive(AUDIT.parse().expect("a valid directive"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(sink::Writer(&SINK));
    let installed = match style {
        Style::Human { colors } => builder.with_ansi(colors).try_init().is_ok(),
        Style::Json => builder.json().try_init().is_ok(),
    };
    // The request line is written in the formatter's bytes, which have no colors.
    if installed && style != (Style::Human { colors: true }) {
        let _ = request_line::FAST.set(request_line::Fast {
            json: style == Style::Json,
            sink: &SINK,
        });
    }
    Ok(flush)
}
