//! The go command's module cache (GOMODCACHE), checked the way the go command trusts it
//! and mended without wiping it: `scan.rs` finds what it holds, `check.rs` checks one
//! module version, `lock.rs` knows its lock (who holds it; taking it), `verify.rs` checks
//! them all in parallel (`modgate cache verify`, and the doctor), `repair.rs` mends what
//! was found (`modgate cache repair`).

pub mod check;
pub mod lock;
pub mod repair;
pub mod scan;
pub mod verify;
