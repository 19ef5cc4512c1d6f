//! Go's string behaviour, in one place for `module`, `zip` and `modfile`: the parts of
//! Go's `strconv` (`Quote`, `QuoteRune`, `Unquote`, `IsPrint`), `unicode` (`IsPrint`,
//! `IsLetter`, `IsSpace`, `SimpleFold` as x/mod/zip's `strToFold` uses it) and
//! `unicode/utf8` (lossy decoding) that the module rules, zip checks and go.mod reader
//! depend on.
//!
//! The Unicode data comes from tables generated from Go's own `unicode` package (see
//! `gen_tables.go`), so the results match the Go toolchain exactly rather than Rust's
//! Unicode version.

mod fold;
mod quote;
#[rustfmt::skip]
mod tables;
mod unquote;

pub(crate) use fold::str_to_fold;
pub use quote::quote;
pub(crate) use quote::{quote_bytes, quote_rune};
pub(crate) use unquote::unquote;

/// Go's `unicode.IsPrint`, which is also `strconv.IsPrint`: letters, marks, numbers,
/// punctuation, symbols and U+0020.
pub(crate) fn is_print(c: char) -> bool {
    let r = u32::from(c);
    if r < 0x80 {
        return (0x20..0x7f).contains(&r);
    }
    let i = tables::NOT_PRINT.partition_point(|&(_, hi)| hi < r);
    !tables::NOT_PRINT
        .get(i)
        .is_some_and(|&(lo, hi)| lo <= r && r <= hi)
}

/// Go's `unicode.IsLetter` (general category L).
pub(crate) fn is_letter(c: char) -> bool {
    let r = u32::from(c);
    let i = tables::LETTER.partition_point(|&(lo, _, _)| lo <= r);
    let Some(&(lo, hi, stride)) = i.checked_sub(1).and_then(|i| tables::LETTER.get(i)) else {
        return false;
    };
    r <= hi && stride != 0 && (r - lo) % stride == 0
}

/// Go's `unicode.IsSpace`: the Unicode `White_Space` property, which Rust's
/// `char::is_whitespace` also implements (the same 25 chars; checked against Go in the
/// tests).
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// Decodes `data` as Go's `utf8.DecodeRune` walks it: every byte that does not start a
/// valid UTF-8 sequence becomes one U+FFFD (Rust's lossy decoding can merge several).
pub(crate) fn decode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len());
    for chunk in data.utf8_chunks() {
        out.push_str(chunk.valid());
        for _ in chunk.invalid() {
            out.push('\u{FFFD}');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_go_1_23() {
        assert_eq!(tables::UNICODE_VERSION, "15.0.0");
        assert_eq!(tables::FOLD.len(), 1454);
        assert!(tables::FOLD.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(tables::NOT_PRINT.windows(2).all(|w| w[0].1 < w[1].0));
        assert!(tables::NOT_PRINT.iter().all(|&(lo, hi)| lo <= hi));
        assert!(tables::LETTER.windows(2).all(|w| w[0].1 < w[1].0));
        assert!(tables::LETTER.iter().all(|&(lo, hi, s)| lo <= hi && s != 0));
    }

    /// FNV-1a (64 bit) over the little-endian code points for which `pred` holds, and
    /// their number.
    fn fingerprint(pred: fn(char) -> bool) -> (u32, u64) {
        let (mut n, mut h) = (0, 0xcbf2_9ce4_8422_2325_u64);
        for c in (0..=0x10_FFFF)
            .filter_map(char::from_u32)
            .filter(|&c| pred(c))
        {
            n += 1;
            for b in u32::from(c).to_le_bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        (n, h)
    }

    /// Every char 0..=0x10FFFF, against what go 1.23 computes with the same loop (FNV-1a
    /// over the little-endian bytes of each rune the predicate accepts, surrogates
    /// skipped) over `strconv.IsPrint` and `unicode.IsPrint` (both give the first
    /// value), `unicode.IsLetter` and `unicode.IsSpace`. When this module replaced them,
    /// `is_print`, `is_letter`, `quote` and `quote_rune` were also compared char by char
    /// with module's former versions built on the `strconv/isprint.go` tables, and with
    /// modfile's former `is_print`: all equal. (NOT_PRINT is zip's former table, byte
    /// for byte.)
    #[test]
    fn predicates_match_go_on_every_char() {
        assert_eq!(fingerprint(is_print), (148_998, 0xdcca_923b_f445_d226));
        assert_eq!(fingerprint(is_letter), (136_104, 0xc6df_a2b8_5989_9ccd));
        assert_eq!(fingerprint(is_space), (25, 0x07db_14e6_e1f1_a2f5));
    }

    #[test]
    fn decode_replaces_each_bad_byte() {
        assert_eq!(decode(b"a\xe2\x82b\xffc"), "a\u{FFFD}\u{FFFD}b\u{FFFD}c");
        assert_eq!(decode("é☺".as_bytes()), "é☺");
        assert_eq!(decode(b"\xed\xa0\x80"), "\u{FFFD}\u{FFFD}\u{FFFD}");
        assert_eq!(decode(b"\xf0\x9f\x98"), "\u{FFFD}\u{FFFD}\u{FFFD}");
        assert_eq!(decode(b""), "");
    }

    #[test]
    fn is_print_matches_go() {
        assert!(is_print('a'));
        assert!(is_print(' '));
        assert!(is_print('☺'));
        assert!(!is_print('\u{a0}'));
        assert!(!is_print('\u{ad}'));
        assert!(!is_print('\u{feff}'));
        assert!(!is_print('\t'));
        assert!(!is_print('\u{7f}'));
        assert!(is_print('\u{FFFD}'));
        assert!(is_print('\u{20000}'));
        assert!(!is_print('\u{e0001}'));
        assert!(!is_print('\u{10ffff}'));
    }

    #[test]
    fn letters_match_go() {
        let cases: &[(char, bool)] = &[
            ('a', true),
            ('Z', true),
            ('0', false),
            ('_', false),
            ('\u{0}', false),
            ('\u{aa}', true),
            ('\u{b5}', true),
            ('\u{d7}', false),
            ('и', true),
            ('\u{2160}', false), // ROMAN NUMERAL ONE: Nl, alphabetic but not a letter
            ('\u{345}', false),  // COMBINING YPOGEGRAMMENI: Mn
            ('\u{93e}', false),  // DEVANAGARI VOWEL SIGN AA: Mc
            ('\u{4e00}', true),
            ('\u{1f600}', false),
            ('\u{20000}', true),
            ('\u{10ffff}', false),
            ('\u{100}', true),
            ('\u{101}', true),
        ];
        for &(c, want) in cases {
            assert_eq!(is_letter(c), want, "is_letter({c:?})");
        }
    }

    #[test]
    fn is_space_matches_go() {
        for c in [
            '\t', '\n', '\u{b}', '\u{c}', '\r', ' ', '\u{85}', '\u{a0}', '\u{2028}',
        ] {
            assert!(is_space(c), "{c:?}");
        }
        for c in ['a', '\u{0}', '\u{200b}', '\u{feff}'] {
            assert!(!is_space(c), "{c:?}");
        }
    }
}
