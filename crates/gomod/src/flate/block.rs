//! Writing DEFLATE blocks as Go's `compress/flate` writes them (`huffman_bit_writer.go`):
//! for each block of tokens the smallest of fixed Huffman, dynamic Huffman and stored,
//! measured the way Go measures it, and the dynamic header's code-length run encoding as Go
//! generates it. Bits are gathered LSB first into a 64-bit register and written 6 bytes at a
//! time.

use std::io::{self, Write};
use std::sync::OnceLock;

use super::huffman::{CODEGEN_CODE_COUNT, Code, Encoder, MAX_NUM_LIT, OFFSET_CODE_COUNT};
use super::token::{LENGTH_BASE, LENGTH_EXTRA_BITS, OFFSET_BASE, OFFSET_EXTRA_BITS, Token};

/// The end-of-block symbol.
const END_BLOCK: usize = 256;
/// The first length symbol.
const LENGTH_CODES_START: usize = 257;
/// Marks the end of the code-length sequence.
const BAD_CODE: u8 = 255;
/// Buffered bytes are handed to the writer once this many have gathered.
const BUFFER_FLUSH_SIZE: usize = 240;
/// The largest stored block.
const MAX_STORE_BLOCK_SIZE: usize = 65535;

/// The order code-length code lengths are written in.
const CODEGEN_ORDER: [usize; CODEGEN_CODE_COUNT] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

fn fixed() -> &'static (Encoder, Encoder) {
    static FIXED: OnceLock<(Encoder, Encoder)> = OnceLock::new();
    FIXED.get_or_init(|| (Encoder::fixed_literal(), Encoder::fixed_offset()))
}

/// The bit buffer: bits gathered LSB first, then bytes handed to the writer in runs.
struct Bits {
    bits: u64,
    nbits: u32,
    bytes: [u8; BUFFER_FLUSH_SIZE + 8],
    nbytes: usize,
}

/// The block writer: bit buffer and the per-block frequency tables and codes.
pub(super) struct BlockWriter {
    out: Bits,
    literal_freq: [i32; MAX_NUM_LIT],
    offset_freq: [i32; OFFSET_CODE_COUNT],
    codegen: [u8; MAX_NUM_LIT + OFFSET_CODE_COUNT + 1],
    codegen_freq: [i32; CODEGEN_CODE_COUNT],
    literal_encoding: Encoder,
    offset_encoding: Encoder,
    codegen_encoding: Encoder,
}

impl Bits {
    /// Writes out every buffered bit, padding the last byte with zeros.
    fn flush(&mut self, w: &mut impl Write) -> io::Result<()> {
        let mut n = self.nbytes;
        while self.nbits != 0 {
            self.bytes[n] = self.bits as u8;
            self.bits >>= 8;
            self.nbits = self.nbits.saturating_sub(8);
            n += 1;
        }
        self.bits = 0;
        self.nbytes = 0;
        w.write_all(&self.bytes[..n])
    }

    fn spill(&mut self, w: &mut impl Write) -> io::Result<()> {
        if self.nbits >= 48 {
            let bits = self.bits;
            self.bits >>= 48;
            self.nbits -= 48;
            let n = self.nbytes;
            self.bytes[n..n + 6].copy_from_slice(&bits.to_le_bytes()[..6]);
            self.nbytes = n + 6;
            if self.nbytes >= BUFFER_FLUSH_SIZE {
                w.write_all(&self.bytes[..self.nbytes])?;
                self.nbytes = 0;
            }
        }
        Ok(())
    }

    fn write_bits(&mut self, w: &mut impl Write, b: u32, nb: u32) -> io::Result<()> {
        self.bits |= u64::from(b) << self.nbits;
        self.nbits += nb;
        self.spill(w)
    }

    fn write_code(&mut self, w: &mut impl Write, c: Code) -> io::Result<()> {
        self.bits |= u64::from(c.code) << self.nbits;
        self.nbits += u32::from(c.len);
        self.spill(w)
    }

    fn write_bytes(&mut self, w: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
        debug_assert_eq!(self.nbits & 7, 0, "writeBytes with unfinished bits");
        let mut n = self.nbytes;
        while self.nbits != 0 {
            self.bytes[n] = self.bits as u8;
            self.bits >>= 8;
            self.nbits -= 8;
            n += 1;
        }
        self.nbytes = 0;
        w.write_all(&self.bytes[..n])?;
        w.write_all(bytes)
    }

    fn write_tokens(
        &mut self,
        w: &mut impl Write,
        tokens: &[Token],
        lit: &[Code],
        off: &[Code],
    ) -> io::Result<()> {
        for t in tokens {
            let Some((length, offset)) = t.as_match() else {
                self.write_code(w, lit[t.literal()])?;
                continue;
            };
            let lc = length_code(length);
            self.write_code(w, lit[lc + LENGTH_CODES_START])?;
            let extra = u32::from(LENGTH_EXTRA_BITS[lc]);
            if extra > 0 {
                self.write_bits(w, length - LENGTH_BASE[lc], extra)?;
            }
            let oc = offset_code(offset);
            self.write_code(w, off[oc])?;
            let extra = u32::from(OFFSET_EXTRA_BITS[oc]);
            if extra > 0 {
                self.write_bits(w, offset - OFFSET_BASE[oc], extra)?;
            }
        }
        Ok(())
    }
}

impl BlockWriter {
    pub fn new() -> Self {
        BlockWriter {
            out: Bits {
                bits: 0,
                nbits: 0,
                bytes: [0; BUFFER_FLUSH_SIZE + 8],
                nbytes: 0,
            },
            literal_freq: [0; MAX_NUM_LIT],
            offset_freq: [0; OFFSET_CODE_COUNT],
            codegen: [0; MAX_NUM_LIT + OFFSET_CODE_COUNT + 1],
            codegen_freq: [0; CODEGEN_CODE_COUNT],
            literal_encoding: Encoder::new(MAX_NUM_LIT),
            offset_encoding: Encoder::new(OFFSET_CODE_COUNT),
            codegen_encoding: Encoder::new(CODEGEN_CODE_COUNT),
        }
    }

    /// Forgets buffered bits (for a new stream).
    pub fn reset(&mut self) {
        self.out.bits = 0;
        self.out.nbits = 0;
        self.out.nbytes = 0;
    }

    /// Writes out every buffered bit, padding the last byte with zeros.
    pub fn flush(&mut self, w: &mut impl Write) -> io::Result<()> {
        self.out.flush(w)
    }

    /// A stored block's header: final flag, type 00, byte-aligned length and its complement.
    pub fn write_stored_header(
        &mut self,
        w: &mut impl Write,
        length: usize,
        eof: bool,
    ) -> io::Result<()> {
        self.out.write_bits(w, u32::from(eof), 3)?;
        self.out.flush(w)?;
        self.out.write_bits(w, length as u32 & 0xffff, 16)?;
        self.out.write_bits(w, !(length as u16) as u32, 16)
    }

    /// The run-length encoding of the literal and offset code lengths (RFC 1951 3.2.7) into
    /// `codegen`, ended by [`BAD_CODE`], with each code-length symbol's count.
    fn generate_codegen(&mut self, num_literals: usize, num_offsets: usize) {
        self.codegen_freq = [0; CODEGEN_CODE_COUNT];
        let codegen = &mut self.codegen;
        for (c, code) in codegen[..num_literals]
            .iter_mut()
            .zip(&self.literal_encoding.codes)
        {
            *c = code.len as u8;
        }
        for (c, code) in codegen[num_literals..num_literals + num_offsets]
            .iter_mut()
            .zip(&self.offset_encoding.codes)
        {
            *c = code.len as u8;
        }
        codegen[num_literals + num_offsets] = BAD_CODE;

        let freq = &mut self.codegen_freq;
        let mut size = codegen[0];
        let mut count: i32 = 1;
        let mut out = 0;
        let mut in_index = 1;
        while size != BAD_CODE {
            let next = codegen[in_index];
            in_index += 1;
            if next == size {
                count += 1;
                continue;
            }
            if size != 0 {
                codegen[out] = size;
                out += 1;
                freq[usize::from(size)] += 1;
                count -= 1;
                while count >= 3 {
                    let n = count.min(6);
                    codegen[out] = 16;
                    codegen[out + 1] = (n - 3) as u8;
                    out += 2;
                    freq[16] += 1;
                    count -= n;
                }
            } else {
                while count >= 11 {
                    let n = count.min(138);
                    codegen[out] = 18;
                    codegen[out + 1] = (n - 11) as u8;
                    out += 2;
                    freq[18] += 1;
                    count -= n;
                }
                if count >= 3 {
                    codegen[out] = 17;
                    codegen[out + 1] = (count - 3) as u8;
                    out += 2;
                    freq[17] += 1;
                    count = 0;
                }
            }
            count -= 1;
            while count >= 0 {
                codegen[out] = size;
                out += 1;
                freq[usize::from(size)] += 1;
                count -= 1;
            }
            size = next;
            count = 1;
        }
        codegen[out] = BAD_CODE;
    }

    /// The size in bits of the block with the dynamic codes, and how many code-length code
    /// lengths its header carries.
    fn dynamic_size(&self, extra_bits: i64) -> (i64, usize) {
        let mut num_codegens = CODEGEN_CODE_COUNT;
        while num_codegens > 4 && self.codegen_freq[CODEGEN_ORDER[num_codegens - 1]] == 0 {
            num_codegens -= 1;
        }
        let header = 3
            + 5
            + 5
            + 4
            + 3 * num_codegens as i64
            + self.codegen_encoding.bit_length(&self.codegen_freq)
            + i64::from(self.codegen_freq[16]) * 2
            + i64::from(self.codegen_freq[17]) * 3
            + i64::from(self.codegen_freq[18]) * 7;
        let size = header
            + self.literal_encoding.bit_length(&self.literal_freq)
            + self.offset_encoding.bit_length(&self.offset_freq)
            + extra_bits;
        (size, num_codegens)
    }

    fn fixed_size(&self, extra_bits: i64) -> i64 {
        let (lit, off) = fixed();
        3 + lit.bit_length(&self.literal_freq) + off.bit_length(&self.offset_freq) + extra_bits
    }

    fn write_dynamic_header(
        &mut self,
        w: &mut impl Write,
        num_literals: usize,
        num_offsets: usize,
        num_codegens: usize,
        eof: bool,
    ) -> io::Result<()> {
        self.out.write_bits(w, if eof { 5 } else { 4 }, 3)?;
        self.out.write_bits(w, (num_literals - 257) as u32, 5)?;
        self.out.write_bits(w, (num_offsets - 1) as u32, 5)?;
        self.out.write_bits(w, (num_codegens - 4) as u32, 4)?;
        for &symbol in &CODEGEN_ORDER[..num_codegens] {
            let len = self.codegen_encoding.codes[symbol].len;
            self.out.write_bits(w, u32::from(len), 3)?;
        }
        let mut i = 0;
        loop {
            let word = self.codegen[i];
            i += 1;
            if word == BAD_CODE {
                break;
            }
            let code = self.codegen_encoding.codes[usize::from(word)];
            self.out.write_code(w, code)?;
            let extra = match word {
                16 => 2,
                17 => 3,
                18 => 7,
                _ => continue,
            };
            let value = self.codegen[i];
            i += 1;
            self.out.write_bits(w, u32::from(value), extra)?;
        }
        Ok(())
    }

    /// Counts the tokens' symbols and builds the dynamic codes for them; returns how many
    /// literal/length and offset symbols the block uses.
    fn index_tokens(&mut self, tokens: &[Token]) -> (usize, usize) {
        self.literal_freq = [0; MAX_NUM_LIT];
        self.offset_freq = [0; OFFSET_CODE_COUNT];
        for t in tokens {
            match t.as_match() {
                None => self.literal_freq[t.literal()] += 1,
                Some((length, offset)) => {
                    self.literal_freq[LENGTH_CODES_START + length_code(length)] += 1;
                    self.offset_freq[offset_code(offset)] += 1;
                }
            }
        }
        let mut num_literals = MAX_NUM_LIT;
        while self.literal_freq[num_literals - 1] == 0 {
            num_literals -= 1;
        }
        let mut num_offsets = OFFSET_CODE_COUNT;
        while num_offsets > 0 && self.offset_freq[num_offsets - 1] == 0 {
            num_offsets -= 1;
        }
        if num_offsets == 0 {
            // No match: one offset code is still counted so the dynamic header can be
            // written.
            self.offset_freq[0] = 1;
            num_offsets = 1;
        }
        self.literal_encoding.generate(&self.literal_freq, 15);
        self.offset_encoding.generate(&self.offset_freq, 15);
        (num_literals, num_offsets)
    }

    /// Writes `tokens` (an end-of-block token is added) as one block in the smallest of the
    /// three encodings; stored is only a candidate when `input`, the bytes the tokens stand
    /// for, is given and fits one stored block.
    pub fn write_block(
        &mut self,
        w: &mut impl Write,
        tokens: &mut Vec<Token>,
        eof: bool,
        input: Option<&[u8]>,
    ) -> io::Result<()> {
        tokens.push(Token::literal_token(END_BLOCK as u32));
        let result = self.write_block_tokens(w, tokens, eof, input);
        tokens.pop();
        result
    }

    fn write_block_tokens(
        &mut self,
        w: &mut impl Write,
        tokens: &[Token],
        eof: bool,
        input: Option<&[u8]>,
    ) -> io::Result<()> {
        let (num_literals, num_offsets) = self.index_tokens(tokens);
        let stored = input.filter(|i| i.len() <= MAX_STORE_BLOCK_SIZE);
        let mut extra_bits: i64 = 0;
        if stored.is_some() {
            // The length and offset extra bits are the same in both Huffman encodings;
            // they count only when comparing against a stored block.
            for code in LENGTH_CODES_START + 8..num_literals {
                extra_bits += i64::from(self.literal_freq[code])
                    * i64::from(LENGTH_EXTRA_BITS[code - LENGTH_CODES_START]);
            }
            for (f, extra) in self.offset_freq[..num_offsets]
                .iter()
                .zip(OFFSET_EXTRA_BITS)
                .skip(4)
            {
                extra_bits += i64::from(*f) * i64::from(extra);
            }
        }
        let mut size = self.fixed_size(extra_bits);
        self.generate_codegen(num_literals, num_offsets);
        self.codegen_encoding.generate(&self.codegen_freq, 7);
        let (dynamic_size, num_codegens) = self.dynamic_size(extra_bits);
        let dynamic = dynamic_size < size;
        if dynamic {
            size = dynamic_size;
        }
        if let Some(input) = stored
            && (((input.len() + 5) * 8) as i64) < size
        {
            self.write_stored_header(w, input.len(), eof)?;
            return self.out.write_bytes(w, input);
        }
        if dynamic {
            self.write_dynamic_header(w, num_literals, num_offsets, num_codegens, eof)?;
            let (lit, off) = (&self.literal_encoding.codes, &self.offset_encoding.codes);
            self.out.write_tokens(w, tokens, lit, off)
        } else {
            self.out.write_bits(w, if eof { 3 } else { 2 }, 3)?;
            let (lit, off) = fixed();
            self.out.write_tokens(w, tokens, &lit.codes, &off.codes)
        }
    }
}

/// The length symbol (minus 257) of a match length minus 3.
fn length_code(length: u32) -> usize {
    super::token::LENGTH_CODES[length as usize] as usize
}

/// The offset symbol of a match offset minus 1.
fn offset_code(offset: u32) -> usize {
    super::token::offset_code(offset) as usize
}
