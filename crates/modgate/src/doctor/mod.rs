//! `modgate doctor` (issue 6, in progress): why `go mod download` hangs or fails on this
//! machine, measured. Built so far: the go command's effective settings ([`settings`]), the
//! route each module takes ([`routing`]), the configuration findings ([`config`]), the
//! project's go.mod, go.sum and vendor directory ([`project`]), the module cache and its
//! disk ([`cache`]), and the first network checks per proxy ([`network`]). The rest of the
//! network checks, the git and CPU checks, `--explain` and the command line follow; the
//! `doctor` subcommand says it is not built until they do.

pub mod cache;
pub mod config;
pub mod finding;
pub mod network;
pub mod project;
pub mod routing;
pub mod settings;
