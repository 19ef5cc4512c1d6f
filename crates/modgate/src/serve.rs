//! `modgate serve`: builds the chain from the settings and runs the HTTP server (in progress).
