//! Huffman code construction as Go's `compress/flate` builds it (`huffman_code.go`): code
//! lengths limited with the package-merge walk over levels, codes assigned in literal order
//! within each length. Every choice (tie-breaking by literal, the one- and two-symbol cases)
//! follows Go's, so that the same frequencies give the same codes.

/// Number of literal/length symbols (RFC 1951: 0-255 literals, 256 end of block, 257-285
/// lengths).
pub(super) const MAX_NUM_LIT: usize = 286;

/// Number of distance symbols.
pub(super) const OFFSET_CODE_COUNT: usize = 30;

/// Number of code-length symbols.
pub(super) const CODEGEN_CODE_COUNT: usize = 19;

const MAX_BITS_LIMIT: usize = 16;

/// One code: its bits (already reversed for LSB-first output) and its length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Code {
    pub code: u16,
    pub len: u16,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    literal: u16,
    freq: i32,
}

const MAX_NODE: Node = Node {
    literal: u16::MAX,
    freq: i32::MAX,
};

/// A Huffman code over `codes.len()` symbols, rebuilt from frequencies by [`generate`].
///
/// [`generate`]: Encoder::generate
#[derive(Debug, Clone)]
pub(super) struct Encoder {
    pub codes: Vec<Code>,
    nodes: Vec<Node>,
    bit_count: [i32; 17],
}

/// Reverses the low `len` bits of `number`.
pub(super) fn reverse_bits(number: u16, len: u8) -> u16 {
    (number << (16 - u32::from(len))).reverse_bits()
}

impl Encoder {
    pub fn new(size: usize) -> Self {
        Encoder {
            codes: vec![Code::default(); size],
            nodes: Vec::with_capacity(MAX_NUM_LIT + 1),
            bit_count: [0; 17],
        }
    }

    /// RFC 1951's fixed literal/length code.
    pub fn fixed_literal() -> Self {
        let mut h = Encoder::new(MAX_NUM_LIT);
        for (ch, c) in (0u16..).zip(h.codes.iter_mut()) {
            let (bits, size) = match ch {
                0..144 => (ch + 48, 8),
                144..256 => (ch + 400 - 144, 9),
                256..280 => (ch - 256, 7),
                _ => (ch + 192 - 280, 8),
            };
            *c = Code {
                code: reverse_bits(bits, size),
                len: u16::from(size),
            };
        }
        h
    }

    /// RFC 1951's fixed distance code.
    pub fn fixed_offset() -> Self {
        let mut h = Encoder::new(OFFSET_CODE_COUNT);
        for (ch, c) in (0u16..).zip(h.codes.iter_mut()) {
            *c = Code {
                code: reverse_bits(ch, 5),
                len: 5,
            };
        }
        h
    }

    /// The number of bits `freq` takes in this code.
    pub fn bit_length(&self, freq: &[i32]) -> i64 {
        freq.iter()
            .zip(&self.codes)
            .filter(|(f, _)| **f != 0)
            .map(|(f, c)| i64::from(*f) * i64::from(c.len))
            .sum()
    }

    /// Rebuilds the code as the minimum code for `freq` (`freq[i]` the count of symbol
    /// `i`), no code longer than `max_bits`.
    pub fn generate(&mut self, freq: &[i32], max_bits: i32) {
        let mut list = std::mem::take(&mut self.nodes);
        list.clear();
        for (i, &f) in freq.iter().enumerate() {
            if f != 0 {
                list.push(Node {
                    literal: i as u16,
                    freq: f,
                });
            } else {
                self.codes[i].len = 0;
            }
        }
        if list.len() <= 2 {
            // With two or fewer symbols, every one is one bit long, in literal order.
            for (i, node) in list.iter().enumerate() {
                self.codes[usize::from(node.literal)] = Code {
                    code: i as u16,
                    len: 1,
                };
            }
            self.nodes = list;
            return;
        }
        list.sort_unstable_by(|a, b| a.freq.cmp(&b.freq).then(a.literal.cmp(&b.literal)));
        let count = list.len();
        let bit_count = self.bit_counts(&mut list, max_bits);
        list.truncate(count);
        self.assign(bit_count, &mut list);
        self.nodes = list;
    }

    /// How many symbols get each code length (`[i]` = count of length `i`), by the
    /// package-merge walk of Go's `bitCounts`. `list` is sorted by frequency and has at
    /// least three entries; a sentinel is pushed to it.
    fn bit_counts(&mut self, list: &mut Vec<Node>, max_bits: i32) -> usize {
        #[derive(Clone, Copy, Default)]
        struct Level {
            level: i32,
            last_freq: i32,
            next_char_freq: i32,
            next_pair_freq: i32,
            needed: i32,
        }
        let n = list.len() as i32;
        list.push(MAX_NODE);
        let max_bits = max_bits.min(n - 1);
        let top = max_bits as usize;

        let mut levels = [Level::default(); MAX_BITS_LIMIT + 1];
        let mut leaf_counts = [[0i32; MAX_BITS_LIMIT + 1]; MAX_BITS_LIMIT + 1];
        for level in 1..=top {
            levels[level] = Level {
                level: level as i32,
                last_freq: list[1].freq,
                next_char_freq: list[2].freq,
                next_pair_freq: list[0].freq.wrapping_add(list[1].freq),
                needed: 0,
            };
            leaf_counts[level][level] = 2;
            if level == 1 {
                levels[level].next_pair_freq = i32::MAX;
            }
        }
        levels[top].needed = 2 * n - 4;

        let mut level = top;
        loop {
            let l = levels[level];
            if l.next_pair_freq == i32::MAX && l.next_char_freq == i32::MAX {
                // Out of leaves and pairs: this level is done for good.
                levels[level].needed = 0;
                levels[level + 1].next_pair_freq = i32::MAX;
                level += 1;
                continue;
            }
            let prev_freq = l.last_freq;
            if l.next_char_freq < l.next_pair_freq {
                // The next item on this level is a leaf.
                let count = leaf_counts[level][level] + 1;
                levels[level].last_freq = l.next_char_freq;
                leaf_counts[level][level] = count;
                levels[level].next_char_freq = list[count as usize].freq;
            } else {
                // The next item is a pair from the level below.
                levels[level].last_freq = l.next_pair_freq;
                let below = leaf_counts[level - 1];
                leaf_counts[level][..level].copy_from_slice(&below[..level]);
                levels[(l.level - 1) as usize].needed = 2;
            }
            levels[level].needed -= 1;
            if levels[level].needed == 0 {
                if levels[level].level == max_bits {
                    break;
                }
                let sum = prev_freq.wrapping_add(levels[level].last_freq);
                levels[level + 1].next_pair_freq = sum;
                level += 1;
            } else {
                while levels[level - 1].needed > 0 {
                    level -= 1;
                }
            }
        }
        assert_eq!(
            leaf_counts[top][top], n,
            "flate: huffman leaf count mismatch"
        );

        let counts = leaf_counts[top];
        for (bits, level) in (1..).zip((1..=top).rev()) {
            self.bit_count[bits] = counts[level] - counts[level - 1];
        }
        top + 1
    }

    /// Gives each symbol its code: the `bit_count[n]` least frequent remaining symbols get
    /// length `n`, codes counting up in literal order.
    fn assign(&mut self, lengths: usize, list: &mut [Node]) {
        let mut code: u16 = 0;
        let mut end = list.len();
        for n in 0..lengths {
            code <<= 1;
            let bits = self.bit_count[n];
            if n == 0 || bits == 0 {
                continue;
            }
            let start = end - bits as usize;
            let chunk = &mut list[start..end];
            chunk.sort_unstable_by_key(|node| node.literal);
            for node in chunk.iter() {
                self.codes[usize::from(node.literal)] = Code {
                    code: reverse_bits(code, n as u8),
                    len: n as u16,
                };
                code = code.wrapping_add(1);
            }
            end = start;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lens(h: &Encoder) -> Vec<u16> {
        h.codes.iter().map(|c| c.len).collect()
    }

    #[test]
    fn one_and_two_symbols_are_one_bit_each() {
        let mut h = Encoder::new(5);
        h.generate(&[0, 0, 7, 0, 0], 15);
        assert_eq!(lens(&h), [0, 0, 1, 0, 0]);
        assert_eq!(h.codes[2].code, 0);
        h.generate(&[3, 0, 0, 0, 9], 15);
        assert_eq!(lens(&h), [1, 0, 0, 0, 1]);
        assert_eq!((h.codes[0].code, h.codes[4].code), (0, 1));
    }

    #[test]
    fn lengths_are_optimal_and_limited() {
        let mut h = Encoder::new(4);
        h.generate(&[1, 1, 2, 4], 15);
        assert_eq!(lens(&h), [3, 3, 2, 1]);
        // Codes are canonical: assigned shortest first, in literal order within a length.
        assert_eq!(
            h.codes.iter().map(|c| c.code).collect::<Vec<_>>(),
            [
                reverse_bits(0b110, 3),
                reverse_bits(0b111, 3),
                reverse_bits(0b10, 2),
                0
            ]
        );
        // Fibonacci frequencies want a 9-deep tree; limited to 4 bits.
        let freq = [1, 1, 2, 3, 5, 8, 13, 21, 34, 55];
        h = Encoder::new(10);
        h.generate(&freq, 4);
        assert!(
            lens(&h).iter().all(|l| (1..=4).contains(l)),
            "{:?}",
            lens(&h)
        );
        let kraft: f64 = lens(&h).iter().map(|l| 0.5f64.powi(i32::from(*l))).sum();
        assert_eq!(kraft, 1.0);
    }

    #[test]
    fn fixed_codes() {
        let lit = Encoder::fixed_literal();
        assert_eq!((lit.codes[0].len, lit.codes[143].len), (8, 8));
        assert_eq!((lit.codes[144].len, lit.codes[255].len), (9, 9));
        assert_eq!((lit.codes[256].len, lit.codes[279].len), (7, 7));
        assert_eq!((lit.codes[280].len, lit.codes[285].len), (8, 8));
        assert_eq!(lit.codes[256].code, 0);
        assert_eq!(lit.codes[0].code, reverse_bits(0b0011_0000, 8));
        let off = Encoder::fixed_offset();
        assert_eq!(off.codes[1].code, 0b10000);
    }
}
