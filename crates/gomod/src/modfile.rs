//! modfile (in progress).
