//! The checksum database formats (x/mod `sumdb`): so far the signed notes' verifier keys
//! ([`note`]) and the transparency log's tile paths ([`tile`]); hashes, proofs and the
//! client follow.

pub mod note;
pub mod tile;
