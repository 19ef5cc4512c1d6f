//! The cache over a source: single-flight, validation, negative and stale entries (in progress).
