//! The `direct` source: modules fetched from git (in progress).
