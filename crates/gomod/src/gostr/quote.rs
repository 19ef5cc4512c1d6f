//! Go's `strconv.Quote` and `strconv.QuoteRune`: what `%q` prints.

use super::is_print;
use std::fmt::Write as _;

/// Go's `strconv.Quote` for a string (what `%q` prints).
pub fn quote(s: &str) -> String {
    quote_bytes(s.as_bytes())
}

/// Go's `strconv.Quote` for arbitrary bytes: as Go's decoder does, every byte that does
/// not start a valid UTF-8 sequence is one error, printed as `\xNN`.
pub(crate) fn quote_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 2);
    out.push('"');
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            escape_into(&mut out, c, '"');
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
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

/// Go's `appendEscapedRune`: `c` as it appears between `quote` characters.
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
    let _ = match c {
        '\u{7}' => out.write_str("\\a"),
        '\u{8}' => out.write_str("\\b"),
        '\u{c}' => out.write_str("\\f"),
        '\n' => out.write_str("\\n"),
        '\r' => out.write_str("\\r"),
        '\t' => out.write_str("\\t"),
        '\u{b}' => out.write_str("\\v"),
        _ if r < 0x20 || r == 0x7F => write!(out, "\\x{r:02x}"),
        _ if r < 0x10000 => write!(out, "\\u{r:04x}"),
        _ => write!(out, "\\U{r:08x}"),
    };
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
            ("invalid.go'", r#""invalid.go'""#),
            ("\u{7}\u{8}\u{c}\n\r\t\u{b}", r#""\a\b\f\n\r\t\v""#),
            ("\u{0}\u{1f}\u{7f}", r#""\x00\x1f\x7f""#),
            ("\n\t\u{0}\u{7f}", r#""\n\t\x00\x7f""#),
            ("\u{80}\u{a0}\u{ad}", r#""\u0080\u00a0\u00ad""#),
            ("é\u{200b}\u{a0}", r#""é\u200b\u00a0""#),
            ("испытание☺", "\"испытание☺\""),
            ("日本", "\"日本\""),
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
    fn quote_bytes_matches_go() {
        // Expected values as printed by go 1.23's strconv.Quote on the same bytes.
        let cases: &[(&[u8], &str)] = &[
            (b"\xff", r#""\xff""#),
            (b"a\xc3", r#""a\xc3""#),
            (b"a\xe2\x82b", r#""a\xe2\x82b""#),
            (b"\xed\xa0\x80", r#""\xed\xa0\x80""#),
            (b"\xc0\xaf\"", r#""\xc0\xaf\"""#),
            ("\u{FFFD}".as_bytes(), "\"\u{FFFD}\""),
            (b"\xf0\x9f\x98\x80\xf0\x9f", "\"\u{1f600}\\xf0\\x9f\""),
        ];
        for &(input, want) in cases {
            assert_eq!(quote_bytes(input), want, "quote_bytes({input:?})");
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
}
