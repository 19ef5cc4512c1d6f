//! The checksum database (x/mod `sumdb`): signed notes ([`note`]), the transparency log
//! ([`tlog`]) and its tiles ([`tile`]), the client that proves lookups ([`client`]), and a
//! database in memory for tests ([`server`]).

pub mod client;
pub mod note;
pub mod server;
pub mod tile;
pub mod tlog;
