//! What each operating system does its own way, behind one interface, so that the rest
//! of modgate has no `cfg` of its own: free space and file systems ([`disk`]), the go
//! command's file locks ([`file_lock`]), write permission ([`file_mode`]), socket errors
//! ([`net`]), path separators and canonical paths ([`path`]), processes ([`process`]),
//! CPU time ([`cpu`]) and a cheap clock ([`clock`]).
//!
//! Linux reads `/proc` and makes system calls (the figures the tests check); macOS makes
//! the same POSIX calls where it has them and asks sysinfo (its `libproc` and Mach calls)
//! for the rest; Windows uses its own API through `windows-sys`, and sysinfo for processes.
//! Where a platform has no equivalent, the function says so (`None`, or an error naming
//! what is missing) and the caller tells the user.

pub mod background;
pub mod clock;
pub mod cpu;
pub mod disk;
pub mod file_lock;
pub mod file_mode;
pub mod net;
pub mod path;
pub mod process;
