//! An upstream GOPROXY as a source (in progress).
