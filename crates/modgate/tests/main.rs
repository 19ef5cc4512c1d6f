//! modgate's integration tests, in one binary: each area a module (the whole program and
//! its dependencies linked once, not once per file), the helpers they share beside them:
//! `serve_common` (a `modgate serve` process, upstream trees, the go command),
//! `proxy_support` (fault servers, the go command's own test proxy), `doctor_support`
//! (git over HTTP, network namespaces, mounts, certificates, TLS servers).

mod doctor_support;
mod proxy_support;
mod serve_common;

mod bundle;
mod cache;
mod chain;
mod cli;
mod deploy;
mod doctor_deadline;
mod doctor_faults;
mod doctor_network;
mod file_source;
mod fleet;
mod git_source;
mod goenv_file;
mod grafana;
mod prefetch;
mod proxy_faults;
mod proxy_source;
mod serve_api;
mod serve_auth;
mod serve_cache;
mod serve_chain;
mod serve_connections;
mod serve_corpus;
mod serve_crash;
mod serve_debian_libs;
mod serve_direct;
mod serve_disk_full;
mod serve_evict;
mod serve_filter;
mod serve_go;
mod serve_hedge;
mod serve_limits;
mod serve_offline;
mod serve_prefetch;
mod serve_protocol;
mod serve_purge;
mod serve_reload;
mod serve_replicas;
mod serve_routes;
mod serve_s3;
mod serve_sumdb;
mod serve_ui;
mod trace;
mod windows;
