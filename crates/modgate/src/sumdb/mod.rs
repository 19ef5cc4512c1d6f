//! The checksum database, for modgate's clients and for modgate itself (issue 5): which
//! database (`--sumdb`, GOSUMDB syntax) in [`spec`]; the `/sumdb/<name>/...` endpoints in
//! [`proxy`].

pub mod proxy;
pub mod spec;
