//! A GOPROXY tree on local disk (`file://` upstreams) as a source (in progress).
