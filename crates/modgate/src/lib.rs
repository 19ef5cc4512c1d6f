//! modgate: a caching Go module proxy and download doctor. The binary's command line is in
//! `main.rs`; everything it runs is here, so that integration tests can reach it.

#![warn(missing_docs)]

pub mod admin;
pub mod bundle;
pub mod cache;
pub mod cluster;
pub mod config;
pub mod dial;
pub mod doctor;
pub mod duration;
pub mod error;
pub mod filter;
pub mod fleet;
pub mod goenv;
pub mod gomodcache;
pub mod graph;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod platform;
pub mod prefetch;
pub mod process;
pub mod serve;
pub mod source;
pub mod storage;
pub mod sumdb;
pub mod trace;
pub mod warm;
