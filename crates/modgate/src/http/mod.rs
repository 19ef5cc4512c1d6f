//! The GOPROXY protocol over HTTP (in progress).
