//! dirhash (in progress).
