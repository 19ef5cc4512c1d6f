//! `modgate doctor`: why `go mod download` hangs or fails on this machine, measured, with
//! the fix to paste. [`run`] reads the go command's effective settings (`crate::goenv`) and
//! the project ([`project`]), works out each module's route ([`routing`]), and runs the
//! checks, each bounded in time: configuration ([`config`]), the requirements as a proxy
//! answers for them ([`requirements`], and why a proxy lacks one: [`not_found`]), the
//! network per proxy ([`network`]) and the checksum database ([`checksum_db`]), go.sum
//! against the database ([`go_sum_db`]) or the proxy's bytes ([`go_sum`]), git for modules
//! fetched direct ([`git`]), the module cache and its disk ([`cache`]), and the CPU
//! ([`cpu`]). Every check gives its findings and measurements in one shape ([`checked`]),
//! which `run` gathers in order. [`explain`] reads a pasted error; [`report`] prints.

pub mod cache;
pub mod checked;
pub mod checksum_db;
pub mod client;
pub mod commands;
pub mod config;
pub mod cpu;
pub mod credentials;
pub mod deadline;
pub mod explain;
pub mod finding;
pub mod git;
pub mod go_sum;
pub mod go_sum_db;
pub mod network;
pub mod not_found;
pub mod project;
pub mod report;
pub mod requirements;
pub mod routing;
pub mod run;
pub mod tls;
