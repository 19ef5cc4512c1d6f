//! pseudo (in progress).
