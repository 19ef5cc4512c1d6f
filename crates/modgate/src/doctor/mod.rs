//! `modgate doctor` (issue 6, in progress): why `go mod download` hangs or fails on this
//! machine, measured. Built so far: the go command's effective settings ([`settings`]), the
//! route each module takes ([`routing`]) and the configuration findings ([`config`]). The
//! network, git, cache and disk and CPU checks, `--explain` and the command line follow; the
//! `doctor` subcommand says it is not built until they do.

pub mod config;
pub mod finding;
pub mod routing;
pub mod settings;
