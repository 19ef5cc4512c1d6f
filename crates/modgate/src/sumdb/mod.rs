//! The checksum database, for modgate's clients and for modgate itself: which database
//! (`--sumdb`, GOSUMDB syntax) in [`spec`]; the `/sumdb/<name>/...` endpoints in
//! [`proxy`]; the check of every public go.mod and zip before it is stored in [`verify`].

pub mod proxy;
pub mod spec;
pub mod verify;
