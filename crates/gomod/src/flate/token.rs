//! LZ77 tokens and the RFC 1951 length and distance code tables.

/// A literal byte (or end of block), or a match: length minus 3 and offset minus 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Token(u32);

const MATCH: u32 = 1 << 30;
const LENGTH_SHIFT: u32 = 22;
const OFFSET_MASK: u32 = (1 << LENGTH_SHIFT) - 1;

impl Token {
    pub fn literal_token(literal: u32) -> Token {
        Token(literal)
    }

    /// A match of `xlength` = length - 3 at `xoffset` = offset - 1.
    pub fn match_token(xlength: u32, xoffset: u32) -> Token {
        Token(MATCH + (xlength << LENGTH_SHIFT) + xoffset)
    }

    pub fn literal(self) -> usize {
        self.0 as usize
    }

    /// `(length - 3, offset - 1)` of a match; None for a literal.
    pub fn as_match(self) -> Option<(u32, u32)> {
        (self.0 >= MATCH).then(|| ((self.0 - MATCH) >> LENGTH_SHIFT, self.0 & OFFSET_MASK))
    }
}

/// Extra bits of each length symbol (257..=285).
pub(super) const LENGTH_EXTRA_BITS: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];

/// The smallest length minus 3 of each length symbol.
pub(super) const LENGTH_BASE: [u32; 29] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128,
    160, 192, 224, 255,
];

/// Extra bits of each distance symbol.
pub(super) const OFFSET_EXTRA_BITS: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// The smallest offset minus 1 of each distance symbol.
pub(super) const OFFSET_BASE: [u32; 30] = [
    0x0000, 0x0001, 0x0002, 0x0003, 0x0004, 0x0006, 0x0008, 0x000c, 0x0010, 0x0018, 0x0020, 0x0030,
    0x0040, 0x0060, 0x0080, 0x00c0, 0x0100, 0x0180, 0x0200, 0x0300, 0x0400, 0x0600, 0x0800, 0x0c00,
    0x1000, 0x1800, 0x2000, 0x3000, 0x4000, 0x6000,
];

/// The length symbol (minus 257) of each length minus 3.
pub(super) const LENGTH_CODES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut len = 0;
    let mut code = 0;
    while len < 256 {
        while code + 1 < LENGTH_BASE.len() && LENGTH_BASE[code + 1] as usize <= len {
            code += 1;
        }
        t[len] = code as u8;
        len += 1;
    }
    t
};

/// The distance symbol of each offset minus 1 (below 32768).
static OFFSET_CODES: [u8; 1 << 15] = {
    let mut t = [0u8; 1 << 15];
    let mut off = 0;
    let mut code = 0;
    while off < t.len() {
        while code + 1 < OFFSET_BASE.len() && OFFSET_BASE[code + 1] as usize <= off {
            code += 1;
        }
        t[off] = code as u8;
        off += 1;
    }
    t
};

/// The distance symbol of an offset minus 1.
pub(super) fn offset_code(xoffset: u32) -> u8 {
    OFFSET_CODES[xoffset as usize & 0x7fff]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let t = Token::match_token(255, 32767);
        assert_eq!(t.as_match(), Some((255, 32767)));
        let l = Token::literal_token(256);
        assert_eq!((l.as_match(), l.literal()), (None, 256));
    }

    #[test]
    fn code_tables_match_rfc1951() {
        // Length 3 is symbol 257, 10 is 264, 11-12 is 265, 258 is 285.
        assert_eq!(LENGTH_CODES[0], 0);
        assert_eq!(LENGTH_CODES[7], 7);
        assert_eq!((LENGTH_CODES[8], LENGTH_CODES[9]), (8, 8));
        assert_eq!(LENGTH_CODES[254], 27);
        assert_eq!(LENGTH_CODES[255], 28);
        // Distance 1 is symbol 0, 5-6 is 4, 24577-32768 is 29.
        assert_eq!(offset_code(0), 0);
        assert_eq!((offset_code(4), offset_code(5), offset_code(6)), (4, 4, 5));
        assert_eq!(offset_code(256), 16);
        assert_eq!(offset_code(24576), 29);
        assert_eq!(offset_code(32767), 29);
    }
}
