//! semver (in progress).
