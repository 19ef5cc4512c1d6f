//! The on-disk store in the GOMODCACHE/cache/download layout (in progress).
