//! Go's `%q` formatting (`strconv.Quote` / `strconv.QuoteRune`) and the two Unicode
//! predicates the module rules depend on (`strconv.IsPrint`, `unicode.IsLetter`).

use super::isprint::{IS_NOT_PRINT16, IS_NOT_PRINT32, IS_PRINT16, IS_PRINT32};
use super::letters::LETTER_RANGES;
use std::fmt::Write as _;

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and U+0020.
pub(crate) fn is_print(c: char) -> bool {
    let r = u32::from(c);
    if r <= 0xFF {
        return (0x20..=0x7E).contains(&r) || ((0xA1..=0xFF).contains(&r) && r != 0xAD);
    }
    if let Ok(rr) = u16::try_from(r) {
        let i = IS_PRINT16.partition_point(|&x| x < rr);
        if i >= IS_PRINT16.len() || rr < IS_PRINT16[i & !1] || IS_PRINT16[i | 1] < rr {
            return false;
        }
        return IS_NOT_PRINT16.binary_search(&rr).is_err();
    }
    let i = IS_PRINT32.partition_point(|&x| x < r);
    if i >= IS_PRINT32.len() || r < IS_PRINT32[i & !1] || IS_PRINT32[i | 1] < r {
        return false;
    }
    if r >= 0x20000 {
        return true;
    }
    match u16::try_from(r - 0x10000) {
        Ok(low) => IS_NOT_PRINT32.binary_search(&low).is_err(),
        Err(_) => false,
    }
}

/// Go's `unicode.IsLetter` (general category L).
pub(crate) fn is_letter(c: char) -> bool {
    let r = u32::from(c);
    let i = LETTER_RANGES.partition_point(|&(lo, _, _)| lo <= r);
    if i == 0 {
        return false;
    }
    let (lo, hi, stride) = LETTER_RANGES[i - 1];
    r <= hi && stride != 0 && (r - lo) % stride == 0
}

fn escape_into(out: &mut String, c: char, quote: char) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if is_print(c) {
        out.push(c);
        return;
    }
    let r = u32::from(c);
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        _ if r < 0x20 || r == 0x7F => {
            let _ = write!(out, "\\x{r:02x}");
        }
        _ if r < 0x10000 => {
            let _ = write!(out, "\\u{r:04x}");
        }
        _ => {
            let _ = write!(out, "\\U{r:08x}");
        }
    }
}

/// Go's `strconv.Quote` (what `%q` prints for a string).
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        escape_into(&mut out, c, '"');
    }
    out.push('"');
    out
}

/// Go's `strconv.QuoteRune` (what `%q` prints for a rune).
pub(crate) fn quote_rune(c: char) -> String {
    let mut out = String::with_capacity(8);
    out.push('\'');
    escape_into(&mut out, c, '\'');
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_matches_go() {
        // Expected values as printed by go 1.23's strconv.Quote.
        let cases: &[(&str, &str)] = &[
            ("", r#""""#),
            ("abc", r#""abc""#),
            ("a\"b\\c", r#""a\"b\\c""#),
            ("it's", r#""it's""#),
            ("\u{7}\u{8}\u{c}\n\r\t\u{b}", r#""\a\b\f\n\r\t\v""#),
            ("\u{0}\u{1f}\u{7f}", r#""\x00\x1f\x7f""#),
            ("\u{80}\u{a0}\u{ad}", r#""\u0080\u00a0\u00ad""#),
            ("испытание☺", "\"испытание☺\""),
            ("\u{200b}\u{feff}\u{2028}", r#""\u200b\ufeff\u2028""#),
            ("\u{e000}", r#""\ue000""#),
            ("\u{1f600}\u{10ffff}", "\"\u{1f600}\\U0010ffff\""),
            ("\u{e0001}", r#""\U000e0001""#),
        ];
        for &(input, want) in cases {
            assert_eq!(quote(input), want, "quote({input:?})");
        }
    }

    #[test]
    fn quote_rune_matches_go() {
        let cases: &[(char, &str)] = &[
            ('a', "'a'"),
            ('\'', r"'\''"),
            ('"', "'\"'"),
            ('\\', r"'\\'"),
            (' ', "' '"),
            ('\t', r"'\t'"),
            ('\u{0}', r"'\x00'"),
            ('☺', "'☺'"),
            ('\u{a0}', r"'\u00a0'"),
        ];
        for &(input, want) in cases {
            assert_eq!(quote_rune(input), want, "quote_rune({input:?})");
        }
    }

    #[test]
    fn letters_match_go() {
        let cases: &[(char, bool)] = &[
            ('a', true),
            ('Z', true),
            ('0', false),
            ('_', false),
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
}
