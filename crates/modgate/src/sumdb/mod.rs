//! The checksum database, for modgate's clients and for modgate itself (issue 5). So far:
//! which database (`--sumdb`, GOSUMDB syntax) in [`spec`].

pub mod spec;
