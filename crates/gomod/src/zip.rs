//! zip (in progress).
