//! The checksum database formats (x/mod `sumdb`): so far the signed notes' verifier keys
//! ([`note`]); the transparency log and the client follow.

pub mod note;
