//! DEFLATE compression (RFC 1951) that gives the same bytes as Go's `compress/flate` at
//! levels 2 to 9.
//!
//! The go command writes module zips with `archive/zip`, which deflates every file with
//! `flate.NewWriter(w, 5)`. A proxy that builds zips from version control must give the go
//! command the bytes it would have made itself (a module cache filled through the proxy is
//! byte-identical to one filled with `GOPROXY=direct`), so the compressor is Go's, not
//! zlib's: zlib's output is as valid but different. Levels 0, 1 and Huffman-only
//! (`NoCompression`, `BestSpeed`, `HuffmanOnly`) use other encoders in Go and are not
//! provided.
//!
//! - `deflate.rs`: the LZ77 stage (window, hash chains, lazy matching, block boundaries).
//! - `block.rs`: each block as fixed Huffman, dynamic Huffman or stored, whichever Go picks.
//! - `huffman.rs`: length-limited Huffman codes, built as Go builds them.
//! - `token.rs`: tokens and the RFC 1951 code tables.
//!
//! Output does not depend on how the input is split into writes, except in one case Go
//! shares: a block that may be stored must still be in the window when it ends.

mod block;
mod deflate;
mod huffman;
mod token;

use std::io::{self, Write};

pub(crate) use deflate::Compressor;

/// The level `archive/zip` deflates with.
pub const ZIP_LEVEL: u8 = 5;

/// A level this package does not provide (only 2 to 9 are).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("flate: compression level {0} is not provided: want 2 to 9")]
pub struct LevelError(pub u8);

/// A DEFLATE stream writer: what is written to it is compressed into `W`; [`finish`]
/// ends the stream and returns `W`.
///
/// [`finish`]: Writer::finish
pub struct Writer<W: Write> {
    c: Box<Compressor>,
    w: W,
}

impl<W: Write> Writer<W> {
    /// A writer compressing at `level` (2 to 9; Go's `DefaultCompression` is 6).
    pub fn new(w: W, level: u8) -> Result<Self, LevelError> {
        let c = Compressor::new(level).ok_or(LevelError(level))?;
        Ok(Writer { c: Box::new(c), w })
    }

    /// Ends the stream (the last blocks and an empty final block) and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.c.close(&mut self.w)?;
        Ok(self.w)
    }
}

impl<W: Write> Write for Writer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.c.write(&mut self.w, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// `data` compressed at `level`, whole.
pub fn compress(data: &[u8], level: u8) -> Result<Vec<u8>, LevelError> {
    let mut w = Writer::new(Vec::new(), level)?;
    // Writing to a Vec cannot fail.
    w.write_all(data).expect("writing to memory");
    Ok(w.finish().expect("writing to memory"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn inflate(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(b)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn empty_stream_is_one_final_stored_block() {
        assert_eq!(compress(b"", 5).unwrap(), [1, 0, 0, 0xff, 0xff]);
    }

    #[test]
    fn levels_outside_two_to_nine_are_refused() {
        assert_eq!(compress(b"x", 1).unwrap_err(), LevelError(1));
        assert_eq!(
            LevelError(0).to_string(),
            "flate: compression level 0 is not provided: want 2 to 9"
        );
    }

    #[test]
    fn round_trips() {
        let mut rng = 0x1234_5678_u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let text: Vec<u8> = (0..300_000)
            .map(|i| b"package main\nfunc main() { println(\"hello\") }\n"[i % 46])
            .collect();
        let noise: Vec<u8> = (0..200_000).map(|_| next() as u8).collect();
        let mixed: Vec<u8> = (0..400_000)
            .map(|i| {
                if (i / 5000) % 2 == 0 {
                    next() as u8
                } else {
                    b'a' + (i % 7) as u8
                }
            })
            .collect();
        for data in [&b"a"[..], b"abcabcabcabc", &text, &noise, &mixed] {
            for level in 2..=9 {
                let z = compress(data, level).unwrap();
                assert_eq!(inflate(&z), data, "level {level}, {} bytes", data.len());
            }
        }
    }

    #[test]
    fn split_writes_give_the_same_stream() {
        let data: Vec<u8> = (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 % 17)
            .collect();
        let whole = compress(&data, 5).unwrap();
        for chunk in [1, 7, 4096, 32 * 1024, 100_000] {
            let mut w = Writer::new(Vec::new(), 5).unwrap();
            for c in data.chunks(chunk) {
                w.write_all(c).unwrap();
            }
            assert_eq!(w.finish().unwrap(), whole, "chunks of {chunk}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Any input inflates back, at any level, and the stream does not depend on how the
        /// input was split into writes.
        #[test]
        fn round_trips_and_ignores_write_sizes(
            alphabet in 1u8..=255,
            seed in proptest::prelude::any::<u64>(),
            len in 0usize..150_000,
            chunk in 1usize..70_000,
            level in 2u8..=9,
        ) {
            let mut x = seed | 1;
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % u64::from(alphabet)) as u8
                })
                .collect();
            let whole = compress(&data, level).unwrap();
            proptest::prop_assert_eq!(inflate(&whole), data.clone());
            let mut w = Writer::new(Vec::new(), level).unwrap();
            for c in data.chunks(chunk) {
                w.write_all(c).unwrap();
            }
            proptest::prop_assert_eq!(w.finish().unwrap(), whole);
        }
    }
}
