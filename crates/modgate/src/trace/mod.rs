//! `modgate trace -- COMMAND...`: runs a go command unchanged but for its GOPROXY, through
//! a recording proxy on loopback, and shows where the time went.
//!
//! - `rewrite.rs`: the command's GOPROXY list with each HTTP(S) proxy replaced by a path
//!   of the recorder (`http://127.0.0.1:PORT/p/N`) that relays to it, the `,` and `|`
//!   after each entry kept, `direct`, `off` and `file://` entries left alone: the go
//!   command applies its own fall-through rules to the recorder's relayed answers, and
//!   does `direct` fetches itself.
//! - `record.rs`: the recorder (relays, streams, records each request's times; claims
//!   the checksum database and relays it where the go command would have gone; sends an
//!   https proxy the `.netrc` credentials the go command would have sent).
//! - `client.rs`: the recorder's HTTP client, on connections of its own (`crate::dial`),
//!   pooled as Go's transport pools them, so that each request knows what it waited on:
//!   a connection another request was opening, or the DNS, connect, CONNECT and TLS of
//!   the one it opened.
//! - `git.rs`: the git stand-in that times the git commands of `direct` fetches.
//! - `sample.rs`: the command's CPU time, read every millisecond, which splits the time
//!   with nothing under way into the command's own work and time not accounted for.
//! - `run.rs`: runs the command, with the live line; `report.rs`: the summary, phases,
//!   critical path and verdict, the Trace Event file; `html.rs`: the waterfall page.

pub mod client;
pub mod git;
pub mod html;
pub mod record;
pub mod report;
pub mod rewrite;
pub mod run;
pub mod sample;
