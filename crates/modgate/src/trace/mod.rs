//! `modgate trace -- COMMAND...` (issue 15): runs a go command unchanged through a
//! recording proxy on loopback and shows where the time went.
//!
//! The shape, as far as it is built:
//! - `rewrite.rs`: the command's GOPROXY list with each HTTP(S) proxy replaced by a path
//!   of the recorder (`http://127.0.0.1:PORT/p/N`) that relays to it, the `,` and `|`
//!   after each entry kept, `direct`, `off` and `file://` entries left alone: the go
//!   command applies its own fall-through rules to the recorder's relayed answers, and
//!   does `direct` fetches itself.
//!
//! Still to build (see the issue): the recorder (relay with per-phase timings, the
//! checksum database claimed at `/p/0/sumdb/<name>/supported` and relayed as the go
//! command would have reached it), git timings, the terminal report, `--json`,
//! `--chrome`, `--html`.

pub mod git;
pub mod html;
pub mod record;
pub mod report;
pub mod rewrite;
pub mod run;
