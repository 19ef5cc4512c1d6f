//! Settings for `modgate serve`: flags, environment, TOML file (in progress).
