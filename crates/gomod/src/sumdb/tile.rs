//! Tiles of the transparency log (x/mod `sumdb/tlog` `Tile`): coordinates and paths.
//!
//! A tile at height `h`, level `l` and index `n` holds up to `2^h` hashes (or, at level
//! "data", the records under them); one with fewer, `w`, is partial and its path ends in
//! `.p/<w>`. The index is written in groups of three digits, all but the last prefixed
//! with `x`: `tile/8/0/x001/234` is tile 1234.

/// A tile's coordinates. `l == -1` is the data tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tile {
    /// The height: the tile covers `2^h` entries of the level below.
    pub h: u32,
    /// The level (`-1`: the record data, `tile/<h>/data/...`).
    pub l: i64,
    /// The index within the level.
    pub n: i64,
    /// How many hashes it holds: `2^h` for a full tile.
    pub w: u32,
}

/// A tile path that is not one, with x/mod's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed tile path {0:?}")]
pub struct TilePathError(pub String);

const PATH_BASE: i64 = 1000;

impl Tile {
    /// Whether the tile holds all `2^h` entries (and so never changes).
    pub fn is_full(&self) -> bool {
        u64::from(self.w) == 1u64 << self.h
    }

    /// Whether this is a data tile (the records themselves).
    pub fn is_data(&self) -> bool {
        self.l == -1
    }

    /// The tile's path, `tile/<h>/<l or data>/<n in groups>[.p/<w>]`.
    pub fn path(&self) -> String {
        let mut n = self.n;
        let mut n_str = format!("{:03}", n % PATH_BASE);
        while n >= PATH_BASE {
            n /= PATH_BASE;
            n_str = format!("x{:03}/{n_str}", n % PATH_BASE);
        }
        let p = if self.is_full() {
            String::new()
        } else {
            format!(".p/{}", self.w)
        };
        let l = if self.is_data() {
            "data".to_string()
        } else {
            self.l.to_string()
        };
        format!("tile/{}/{l}/{n_str}{p}", self.h)
    }

    /// Parses a tile path, as x/mod's `ParseTilePath`: only the path [`Tile::path`] would
    /// write for the tile is accepted.
    pub fn parse_path(path: &str) -> Result<Tile, TilePathError> {
        let bad = || TilePathError(path.to_string());
        let mut f: Vec<&str> = path.split('/').collect();
        if f.len() < 4 || f[0] != "tile" {
            return Err(bad());
        }
        let h: u32 = go_atoi(f[1])
            .and_then(|h| u32::try_from(h).ok())
            .ok_or_else(bad)?;
        let is_data = f[2] == "data";
        let l = if is_data { Some(0) } else { go_atoi(f[2]) };
        let l = l.ok_or_else(bad)?;
        if !(1..=30).contains(&h) || l < 0 {
            return Err(bad());
        }
        let mut w: u32 = 1 << h;
        let dot_p = f.len() - 2;
        if let Some(stem) = f[dot_p].strip_suffix(".p") {
            let ww = go_atoi(f[dot_p + 1]).ok_or_else(bad)?;
            if ww <= 0 || ww >= i64::from(w) {
                return Err(bad());
            }
            w = u32::try_from(ww).map_err(|_| bad())?;
            f[dot_p] = stem;
            f.pop();
        }
        let mut n: i64 = 0;
        for s in &f[3..] {
            let nn = go_atoi(s.strip_prefix('x').unwrap_or(s)).ok_or_else(bad)?;
            if !(0..PATH_BASE).contains(&nn) {
                return Err(bad());
            }
            n = n
                .checked_mul(PATH_BASE)
                .and_then(|n| n.checked_add(nn))
                .ok_or_else(bad)?;
        }
        let t = Tile {
            h,
            l: if is_data { -1 } else { l },
            n,
            w,
        };
        if t.path() != path {
            return Err(bad());
        }
        Ok(t)
    }
}

/// Go's `strconv.Atoi` (and `ParseInt(s, 10, 64)`): an optional sign and decimal digits.
pub(super) fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // x/mod's tlog_test.go TestTilePath, its table as it is.
    #[test]
    fn tile_paths_like_x_mod() {
        let t = |h, l, n, w| Some(Tile { h, l, n, w });
        let cases: [(&str, Option<Tile>); 8] = [
            ("tile/4/0/001", t(4, 0, 1, 16)),
            ("tile/4/0/001.p/5", t(4, 0, 1, 5)),
            ("tile/3/5/x123/x456/078", t(3, 5, 123456078, 8)),
            ("tile/3/5/x123/x456/078.p/2", t(3, 5, 123456078, 2)),
            ("tile/1/0/x003/x057/500", t(1, 0, 3057500, 2)),
            ("tile/3/5/123/456/078", None),
            ("tile/3/-1/123/456/078", None),
            ("tile/1/data/x003/x057/500", t(1, -1, 3057500, 2)),
        ];
        for (path, tile) in cases {
            if let Some(tile) = tile {
                assert_eq!(tile.path(), path);
            }
            match (Tile::parse_path(path), tile) {
                (Ok(got), Some(want)) => assert_eq!(got, want, "{path}"),
                (Err(e), None) => {
                    assert_eq!(e.to_string(), format!("malformed tile path {path:?}"))
                }
                (got, want) => panic!("{path}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn only_canonical_paths_parse() {
        for bad in [
            "tile/8/0/1",
            "tile/8/0/0001",
            "tile/08/0/001",
            "tile/8/00/001",
            "tile/8/0/001.p/256",
            "tile/8/0/001.p/0",
            "tile/8/0/001.p/05",
            "tile/31/0/001",
            "tile/0/0/001",
            "tile/8/0/x000/001",
            "tile/8/0/001/",
            "tile/8/0",
            "tiles/8/0/001",
            "tile/8/0/x999/x999/x999/x999/x999/x999/x999/999",
            "tile/8/+0/001",
        ] {
            assert!(Tile::parse_path(bad).is_err(), "{bad}");
        }
        let t = Tile::parse_path("tile/8/data/x001/234.p/17").unwrap();
        assert_eq!((t.h, t.l, t.n, t.w), (8, -1, 1234, 17));
        assert!(t.is_data() && !t.is_full());
        assert!(Tile::parse_path("tile/8/2/000").unwrap().is_full());
    }
}
