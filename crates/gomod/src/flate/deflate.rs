//! The LZ77 stage of Go's `compress/flate` for levels 2 to 9 (`deflate.go`): a 32 KiB
//! window in a 64 KiB buffer, hash chains over 4-byte prefixes, lazy matching from level 4,
//! blocks of at most 16384 tokens. Each decision (when a match is good enough, which
//! candidates are tried, what is inserted into the chains, where a block ends and whether it
//! may be stored) is Go's, so that the same input gives the same tokens and blocks.

use std::io::{self, Write};

use super::block::BlockWriter;
use super::token::Token;

const LOG_WINDOW_SIZE: usize = 15;
const WINDOW_SIZE: usize = 1 << LOG_WINDOW_SIZE;
const WINDOW_MASK: usize = WINDOW_SIZE - 1;
/// The compressor only emits matches of at least 4 bytes.
const MIN_MATCH: usize = 4;
const MAX_MATCH: usize = 258;
const BASE_MATCH_LENGTH: usize = 3;
const BASE_MATCH_OFFSET: usize = 1;
const MAX_FLATE_BLOCK_TOKENS: usize = 1 << 14;
const HASH_BITS: u32 = 17;
const HASH_SIZE: usize = 1 << HASH_BITS;
const HASH_MASK: u32 = (1 << HASH_BITS) - 1;
const MAX_HASH_OFFSET: i64 = 1 << 24;
const HASH_MUL: u32 = 0x1e35a7bd;
const SKIP_NEVER: usize = i32::MAX as usize;
/// A block start that lies before the window: the block cannot be stored.
const NO_BLOCK_START: usize = i32::MAX as usize;

/// The search parameters of one level: `good` (a match this long searches a quarter of the
/// chain), `lazy` (a match this long is not bettered lazily), `nice` (a match this long ends
/// the search), `chain` (candidates tried) and `fast_skip_hashing` (levels 2 and 3: matches
/// longer than this are not hashed, and no lazy matching).
#[derive(Debug, Clone, Copy)]
struct Params {
    good: usize,
    lazy: usize,
    nice: usize,
    chain: usize,
    fast_skip_hashing: usize,
}

fn params(level: u8) -> Option<Params> {
    let (good, lazy, nice, chain, fast_skip_hashing) = match level {
        2 => (4, 0, 16, 8, 5),
        3 => (4, 0, 32, 32, 6),
        4 => (4, 4, 16, 16, SKIP_NEVER),
        5 => (8, 16, 32, 32, SKIP_NEVER),
        6 => (8, 16, 128, 128, SKIP_NEVER),
        7 => (8, 32, 128, 256, SKIP_NEVER),
        8 => (32, 128, 258, 1024, SKIP_NEVER),
        9 => (32, 258, 258, 4096, SKIP_NEVER),
        _ => return None,
    };
    Some(Params {
        good,
        lazy,
        nice,
        chain,
        fast_skip_hashing,
    })
}

fn hash4(b: &[u8]) -> u32 {
    let v = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    v.wrapping_mul(HASH_MUL) >> (32 - HASH_BITS)
}

/// How many leading bytes of `a` and `b` are equal, at most `max` (8 bytes compared at a
/// time).
fn match_len(a: &[u8], b: &[u8], max: usize) -> usize {
    let (a, b) = (&a[..max], &b[..max]);
    let mut n = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let x = u64::from_le_bytes(x.try_into().expect("8 bytes"));
        let y = u64::from_le_bytes(y.try_into().expect("8 bytes"));
        let diff = x ^ y;
        if diff != 0 {
            return n + (diff.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n + a[n..]
        .iter()
        .zip(&b[n..])
        .position(|(x, y)| x != y)
        .unwrap_or(max - n)
}

/// A DEFLATE compressor: feed it with [`write`](Compressor::write), end the stream with
/// [`close`](Compressor::close), start another with [`reset`](Compressor::reset). The
/// compressed bytes go to the writer handed to each call.
pub(crate) struct Compressor {
    p: Params,
    block: BlockWriter,
    /// `hash_head[h]`: the latest position (plus `hash_offset`) whose 4 bytes hash to `h`.
    hash_head: Box<[u32]>,
    /// `hash_prev[pos & WINDOW_MASK]`: the previous position with the same hash.
    hash_prev: Box<[u32]>,
    hash_offset: i64,
    chain_head: i64,
    /// Unprocessed input is `window[index..window_end]`.
    window: Box<[u8]>,
    index: usize,
    window_end: usize,
    /// Where the tokens of the current block start in the window.
    block_start: usize,
    /// `window[index - 1]` is still to be emitted (lazy matching).
    byte_available: bool,
    sync: bool,
    tokens: Vec<Token>,
    length: usize,
    offset: usize,
    max_insert_index: isize,
}

impl Compressor {
    /// A compressor at `level` (2 to 9), or None for another level.
    pub fn new(level: u8) -> Option<Self> {
        let p = params(level)?;
        Some(Compressor {
            p,
            block: BlockWriter::new(),
            hash_head: vec![0; HASH_SIZE].into_boxed_slice(),
            hash_prev: vec![0; WINDOW_SIZE].into_boxed_slice(),
            hash_offset: 1,
            chain_head: -1,
            window: vec![0; 2 * WINDOW_SIZE].into_boxed_slice(),
            index: 0,
            window_end: 0,
            block_start: 0,
            byte_available: false,
            sync: false,
            tokens: Vec::with_capacity(MAX_FLATE_BLOCK_TOKENS + 1),
            length: MIN_MATCH - 1,
            offset: 0,
            max_insert_index: 0,
        })
    }

    /// Makes the compressor ready for a new stream, as a new one.
    pub fn reset(&mut self) {
        self.block.reset();
        self.sync = false;
        self.chain_head = -1;
        self.hash_head.fill(0);
        self.hash_prev.fill(0);
        self.hash_offset = 1;
        self.index = 0;
        self.window_end = 0;
        self.block_start = 0;
        self.byte_available = false;
        self.tokens.clear();
        self.length = MIN_MATCH - 1;
        self.offset = 0;
        self.max_insert_index = 0;
    }

    /// Compresses `b`, writing whatever blocks complete to `w`.
    pub fn write(&mut self, w: &mut impl Write, mut b: &[u8]) -> io::Result<()> {
        while !b.is_empty() {
            self.deflate(w)?;
            let n = self.fill(b);
            b = &b[n..];
        }
        Ok(())
    }

    /// Ends the stream: the last blocks and an empty final stored block.
    pub fn close(&mut self, w: &mut impl Write) -> io::Result<()> {
        self.sync = true;
        self.deflate(w)?;
        self.block.write_stored_header(w, 0, true)?;
        self.block.flush(w)
    }

    /// Copies input into the window, first sliding it down by 32 KiB when the unprocessed
    /// part has reached its end; returns how much was taken.
    fn fill(&mut self, b: &[u8]) -> usize {
        if self.index >= 2 * WINDOW_SIZE - (MIN_MATCH + MAX_MATCH) {
            self.window.copy_within(WINDOW_SIZE..2 * WINDOW_SIZE, 0);
            self.index -= WINDOW_SIZE;
            self.window_end -= WINDOW_SIZE;
            if self.block_start >= WINDOW_SIZE {
                self.block_start -= WINDOW_SIZE;
            } else {
                self.block_start = NO_BLOCK_START;
            }
            self.hash_offset += WINDOW_SIZE as i64;
            if self.hash_offset > MAX_HASH_OFFSET {
                let delta = self.hash_offset - 1;
                self.hash_offset -= delta;
                self.chain_head -= delta;
                let rebase = |v: &mut u32| {
                    *v = if i64::from(*v) > delta {
                        (i64::from(*v) - delta) as u32
                    } else {
                        0
                    }
                };
                self.hash_prev.iter_mut().for_each(rebase);
                self.hash_head.iter_mut().for_each(rebase);
            }
        }
        let n = b.len().min(self.window.len() - self.window_end);
        self.window[self.window_end..self.window_end + n].copy_from_slice(&b[..n]);
        self.window_end += n;
        n
    }

    fn insert(&mut self, index: usize) -> i64 {
        let h = (hash4(&self.window[index..index + MIN_MATCH]) & HASH_MASK) as usize;
        let prev = self.hash_head[h];
        self.hash_prev[index & WINDOW_MASK] = prev;
        self.hash_head[h] = (index as i64 + self.hash_offset) as u32;
        i64::from(prev)
    }

    /// Writes the pending tokens as a block ending at window position `index`.
    fn write_block(&mut self, w: &mut impl Write, index: usize) -> io::Result<()> {
        if index > 0 {
            let input = (self.block_start <= index).then(|| &self.window[self.block_start..index]);
            self.block_start = index;
            self.block.write_block(w, &mut self.tokens, false, input)?;
        }
        self.tokens.clear();
        Ok(())
    }

    /// The longest match for `pos` better than `prev_length`, trying the chain from
    /// `prev_head`: `(length, offset)`.
    fn find_match(
        &self,
        pos: usize,
        prev_head: i64,
        prev_length: usize,
        lookahead: usize,
    ) -> Option<(usize, usize)> {
        let look = lookahead.min(MAX_MATCH);
        let win = &self.window[..pos + look];
        let nice = (win.len() - pos).min(self.p.nice);
        let mut tries = self.p.chain;
        let mut length = prev_length;
        if length >= self.p.good {
            tries >>= 2;
        }
        let mut w_end = win[pos + length];
        let w_pos = &win[pos..];
        let min_index = pos as i64 - WINDOW_SIZE as i64;
        let mut found = None;
        let mut i = prev_head;
        while tries > 0 {
            let at = i as usize;
            if w_end == win[at + length] {
                let n = match_len(&win[at..], w_pos, look);
                if n > length && (n > MIN_MATCH || pos - at <= 4096) {
                    length = n;
                    found = Some((n, pos - at));
                    if n >= nice {
                        break;
                    }
                    w_end = win[pos + n];
                }
            }
            if i == min_index {
                // hash_prev[i & WINDOW_MASK] has been overwritten already.
                break;
            }
            i = i64::from(self.hash_prev[at & WINDOW_MASK]) - self.hash_offset;
            if i < min_index || i < 0 {
                break;
            }
            tries -= 1;
        }
        found
    }

    /// Turns the window's unprocessed bytes into tokens, keeping `MIN_MATCH + MAX_MATCH`
    /// bytes of lookahead unless the stream is ending.
    fn deflate(&mut self, w: &mut impl Write) -> io::Result<()> {
        if self.window_end - self.index < MIN_MATCH + MAX_MATCH && !self.sync {
            return Ok(());
        }
        self.max_insert_index = self.window_end as isize - (MIN_MATCH as isize - 1);
        let skip_never = self.p.fast_skip_hashing == SKIP_NEVER;
        loop {
            let lookahead = self.window_end - self.index;
            if lookahead < MIN_MATCH + MAX_MATCH {
                if !self.sync {
                    break;
                }
                if lookahead == 0 {
                    return self.flush_pending(w);
                }
            }
            if (self.index as isize) < self.max_insert_index {
                self.chain_head = self.insert(self.index);
            }
            let prev_length = self.length;
            let prev_offset = self.offset;
            self.search(lookahead, prev_length, skip_never);
            if !skip_never && self.length >= MIN_MATCH
                || skip_never && prev_length >= MIN_MATCH && self.length <= prev_length
            {
                self.emit_match(w, prev_length, prev_offset, skip_never)?;
            } else {
                self.emit_literal(w, skip_never)?;
            }
        }
        Ok(())
    }

    /// At the end of the input when syncing: emits the byte held back for lazy matching
    /// and writes the pending tokens as a block.
    #[cold]
    fn flush_pending(&mut self, w: &mut impl Write) -> io::Result<()> {
        if self.byte_available {
            let b = self.window[self.index - 1];
            self.tokens.push(Token::literal_token(u32::from(b)));
            self.byte_available = false;
        }
        if !self.tokens.is_empty() {
            self.write_block(w, self.index)?;
        }
        Ok(())
    }

    /// Sets `length` and `offset` to the match found at `index` (`MIN_MATCH - 1` and 0
    /// for none), searching when there is a chain and, with lazy matching, only when it
    /// may better the previous match of length `prev_length`.
    #[inline]
    fn search(&mut self, lookahead: usize, prev_length: usize, skip_never: bool) {
        self.length = MIN_MATCH - 1;
        self.offset = 0;
        let min_index = self.index.saturating_sub(WINDOW_SIZE) as i64;
        let head = self.chain_head - self.hash_offset;
        if head >= min_index
            && (!skip_never && lookahead > MIN_MATCH - 1
                || skip_never && lookahead > prev_length && prev_length < self.p.lazy)
            && let Some((length, offset)) =
                self.find_match(self.index, head, MIN_MATCH - 1, lookahead)
        {
            self.length = length;
            self.offset = offset;
        }
    }

    /// Emits the previous match (or, without lazy matching, the current one) and moves
    /// past it, inserting the positions it covers into the chains unless it is too long.
    #[inline]
    fn emit_match(
        &mut self,
        w: &mut impl Write,
        prev_length: usize,
        prev_offset: usize,
        skip_never: bool,
    ) -> io::Result<()> {
        let (length, offset) = if skip_never {
            (prev_length, prev_offset)
        } else {
            (self.length, self.offset)
        };
        self.tokens.push(Token::match_token(
            (length - BASE_MATCH_LENGTH) as u32,
            (offset - BASE_MATCH_OFFSET) as u32,
        ));
        if self.length <= self.p.fast_skip_hashing {
            // Every position the match covers goes into the chains.
            let new_index = if skip_never {
                self.index + prev_length - 1
            } else {
                self.index + self.length
            };
            let mut index = self.index + 1;
            while index < new_index {
                if (index as isize) < self.max_insert_index {
                    self.insert(index);
                }
                index += 1;
            }
            self.index = index;
            if skip_never {
                self.byte_available = false;
                self.length = MIN_MATCH - 1;
            }
        } else {
            // Matches this long are not hashed position by position.
            self.index += self.length;
        }
        if self.tokens.len() == MAX_FLATE_BLOCK_TOKENS {
            self.write_block(w, self.index)?;
        }
        Ok(())
    }

    /// Emits no match at `index`: its byte as a literal (with lazy matching, the byte
    /// held back before it, if any, holding back this one instead), then moves on.
    #[inline]
    fn emit_literal(&mut self, w: &mut impl Write, skip_never: bool) -> io::Result<()> {
        if !skip_never || self.byte_available {
            let i = if skip_never {
                self.index - 1
            } else {
                self.index
            };
            self.tokens
                .push(Token::literal_token(u32::from(self.window[i])));
            if self.tokens.len() == MAX_FLATE_BLOCK_TOKENS {
                self.write_block(w, i + 1)?;
            }
        }
        self.index += 1;
        if skip_never {
            self.byte_available = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_match_len() {
        assert_eq!(hash4(b"\0\0\0\0"), 0);
        assert_eq!(hash4(b"abcd"), 0x6162_6364u32.wrapping_mul(HASH_MUL) >> 15);
        assert_eq!(match_len(b"abcdef", b"abcxef", 6), 3);
        assert_eq!(match_len(b"abcdef", b"abcdef", 4), 4);
        let a: Vec<u8> = (0..40).collect();
        for i in 0..40 {
            let mut b = a.clone();
            b[i] = 200;
            assert_eq!(match_len(&a, &b, 40), i);
            assert_eq!(match_len(&a, &b, i.min(13)), i.min(13));
        }
        assert_eq!(match_len(&a, &a, 40), 40);
    }

    #[test]
    fn levels() {
        assert!(Compressor::new(1).is_none());
        assert!(Compressor::new(10).is_none());
        assert_eq!(Compressor::new(5).unwrap().p.chain, 32);
    }
}
