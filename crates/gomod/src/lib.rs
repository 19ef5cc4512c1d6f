//! Go module formats, exact to the byte, in the spirit of golang.org/x/mod.
//!
//! Pure and synchronous: no I/O beyond what a function is handed (a reader, a writer, or a
//! directory it is asked to read), no async runtime. Each module is one concept:
//!
//! - [`semver`]: semantic versions as the go command orders them.
//! - [`module`]: module, import and file path checks, `!` escaping, major-version suffixes,
//!   `GOPRIVATE`-style pattern matching.
//! - [`pseudo`]: pseudo-versions (build, parse, base, revision, time).
//! - [`modfile`]: go.mod parsing with line/column errors.
//! - [`flate`]: DEFLATE compression giving Go's `compress/flate` bytes.
//! - [`zip`]: module zip creation, checking and safe extraction with every x/mod/zip rule.
//! - [`dirhash`]: `h1:` hashes and `go.sum` lines.
//! - [`sumdb`]: the checksum database: signed notes, the transparency log, the client.
//! - [`layout`]: the module cache's names (`cache/download/.../@v/<version>.<ext>`, the
//!   extracted tree), built and parsed back.
//! - [`info`]: the `.info` JSON of the GOPROXY protocol, read as the go command reads it.
//! - [`timestamp`]: UTC instants and Go's RFC 3339 parsing.
//! - [`quote`]: Go's `%q`.

#![warn(missing_docs)]

pub mod dirhash;
pub mod flate;
mod gostr;
pub mod info;
pub mod layout;
pub mod modfile;
pub mod module;
pub mod pseudo;
pub mod semver;
pub mod sumdb;
pub mod timestamp;
pub mod zip;

/// Go's `strconv.Quote` (`%q` in error texts), exact for every string.
pub use gostr::quote;
