//! The go command's `,` / `|` chains over sources, `direct` and `off` (in progress).
