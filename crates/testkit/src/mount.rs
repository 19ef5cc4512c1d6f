//! Mounts a test makes (as root, as CI runs): a tmpfs of a given size (a small disk to
//! fill), a directory bound read-only onto itself (root ignores mode bits; it cannot
//! ignore a read-only mount). Undone when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A mount, unmounted (lazily) when dropped.
pub struct Mount(pub PathBuf);

impl Mount {
    /// `dir` bound onto itself read-only.
    pub fn read_only(dir: &Path) -> Mount {
        run(Command::new("mount").args(["--bind"]).arg(dir).arg(dir));
        let m = Mount(dir.to_path_buf());
        run(Command::new("mount")
            .args(["-o", "remount,bind,ro"])
            .arg(dir));
        m
    }

    /// A tmpfs of `size` (`mount -o size=`: `8M`, `64k`, ...) at `dir`, made if missing.
    pub fn tmpfs(dir: &Path, size: &str) -> Mount {
        std::fs::create_dir_all(dir).unwrap();
        run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir));
        Mount(dir.to_path_buf())
    }
}

fn run(c: &mut Command) {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?}: {} (tests that mount run as root, as CI does)",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).output();
    }
}

/// `n` characters deflate cannot shrink much: a fixed pseudo-random sequence (xorshift)
/// from `seed`.
pub fn noise(n: usize, seed: u64) -> String {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'!' + (x % 90) as u8)
        })
        .collect()
}
