//! The pieces of Go's `strconv`, `unicode` and `utf8` that the go.mod reader needs.

use crate::module::{quote, quote_rune};

/// Decodes `data` as Go's `utf8.DecodeRune` walks it: every byte that does not start a
/// valid UTF-8 sequence becomes one U+FFFD (Rust's lossy decoding can merge several).
pub(crate) fn go_decode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len());
    let mut rest = data;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                // `good` is valid UTF-8 by construction.
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                out.push('\u{FFFD}');
                rest = bad.get(1..).unwrap_or_default();
            }
        }
    }
}

/// Go's `unicode.IsPrint` (equal to `strconv.IsPrint`).
pub(crate) fn is_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    // crate::module keeps Go's printability table private; `strconv.QuoteRune`
    // leaves exactly the printable runes unescaped.
    let q = quote_rune(c);
    let mut it = q.chars();
    it.next() == Some('\'')
        && it.next() == Some(c)
        && it.next() == Some('\'')
        && it.next().is_none()
}

/// Go's `unicode.IsSpace`.
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// The error of a failed [`unquote`]: Go's `strconv.ErrSyntax`.
pub(crate) const ERR_SYNTAX: &str = "invalid syntax";

/// Go's `strconv.Unquote` for `"…"`, `` `…` `` and `'…'` literals. Escapes such as
/// `\xff` can produce bytes that are not UTF-8; like every other input byte, they
/// are decoded as U+FFFD (see [`go_decode`]).
pub(crate) fn unquote(s: &str) -> Result<String, &'static str> {
    let b = s.as_bytes();
    if b.len() < 2 {
        return Err(ERR_SYNTAX);
    }
    let q = b[0];
    let Some(end) = b[1..].iter().position(|&c| c == q) else {
        return Err(ERR_SYNTAX);
    };
    let end = end + 2;
    match q {
        b'`' => {
            if end != b.len() {
                return Err(ERR_SYNTAX);
            }
            Ok(s[1..end - 1].chars().filter(|&c| c != '\r').collect())
        }
        b'"' | b'\'' => {
            let mut out: Vec<u8> = Vec::with_capacity(b.len());
            let mut i = 1;
            while i < b.len() && b[i] != q {
                if b[i] == b'\n' {
                    return Err(ERR_SYNTAX);
                }
                let (r, multibyte, n) = unquote_char(&b[i..], q)?;
                i += n;
                if r < 0x80 || !multibyte {
                    // Go appends byte(r): \xNN and octal escapes may be any byte.
                    out.push((r & 0xFF) as u8);
                } else {
                    let c = char::from_u32(r).unwrap_or('\u{FFFD}');
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                if q == b'\'' {
                    break;
                }
            }
            if !(i < b.len() && b[i] == q) || i + 1 != b.len() {
                return Err(ERR_SYNTAX);
            }
            Ok(go_decode(&out))
        }
        _ => Err(ERR_SYNTAX),
    }
}

/// Go's `strconv.UnquoteChar`: the value, whether it must be UTF-8 encoded, and the
/// number of input bytes consumed.
fn unquote_char(s: &[u8], quote: u8) -> Result<(u32, bool, usize), &'static str> {
    let Some(&c) = s.first() else {
        return Err(ERR_SYNTAX);
    };
    if c == quote && (quote == b'\'' || quote == b'"') {
        return Err(ERR_SYNTAX);
    }
    if c >= 0x80 {
        // The input is valid UTF-8 (a &str), so this is a whole rune.
        let len = match c {
            0xF0.. => 4,
            0xE0.. => 3,
            _ => 2,
        };
        let r = std::str::from_utf8(s.get(..len).unwrap_or_default())
            .ok()
            .and_then(|t| t.chars().next())
            .map_or(0xFFFD, u32::from);
        return Ok((r, true, len.min(s.len())));
    }
    if c != b'\\' {
        return Ok((u32::from(c), false, 1));
    }
    let Some(&e) = s.get(1) else {
        return Err(ERR_SYNTAX);
    };
    let rest = &s[2..];
    let simple = |v: u8| Ok((u32::from(v), false, 2));
    match e {
        b'a' => simple(7),
        b'b' => simple(8),
        b'f' => simple(12),
        b'n' => simple(b'\n'),
        b'r' => simple(b'\r'),
        b't' => simple(b'\t'),
        b'v' => simple(11),
        b'\\' => simple(b'\\'),
        b'\'' | b'"' => {
            if e != quote {
                return Err(ERR_SYNTAX);
            }
            simple(e)
        }
        b'x' | b'u' | b'U' => {
            let n = match e {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            let digits = rest.get(..n).ok_or(ERR_SYNTAX)?;
            let mut v: u32 = 0;
            for &d in digits {
                let x = (d as char).to_digit(16).ok_or(ERR_SYNTAX)?;
                v = (v << 4) | x;
            }
            if e == b'x' {
                return Ok((v, false, 2 + n));
            }
            if char::from_u32(v).is_none() {
                return Err(ERR_SYNTAX);
            }
            Ok((v, true, 2 + n))
        }
        b'0'..=b'7' => {
            let mut v = u32::from(e - b'0');
            let digits = rest.get(..2).ok_or(ERR_SYNTAX)?;
            for &d in digits {
                if !(b'0'..=b'7').contains(&d) {
                    return Err(ERR_SYNTAX);
                }
                v = (v << 3) | u32::from(d - b'0');
            }
            if v > 255 {
                return Err(ERR_SYNTAX);
            }
            Ok((v, false, 4))
        }
        _ => Err(ERR_SYNTAX),
    }
}

/// Reports whether `s` must be quoted to appear as a single token in a go.mod line
/// (Go's `modfile.MustQuote`).
pub fn must_quote(s: &str) -> bool {
    for c in s.chars() {
        match c {
            ' ' | '"' | '\'' | '`' => return true,
            '(' | ')' | '[' | ']' | '{' | '}' | ',' => {
                if s.len() > 1 {
                    return true;
                }
            }
            _ => {
                if !is_print(c) {
                    return true;
                }
            }
        }
    }
    s.is_empty() || s.contains("//") || s.contains("/*")
}

/// Returns `s`, or its Go quotation if [`must_quote`] says so (Go's `AutoQuote`).
pub fn auto_quote(s: &str) -> String {
    if must_quote(s) {
        quote(s)
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_decode_replaces_each_bad_byte() {
        assert_eq!(go_decode(b"a\xe2\x82b\xffc"), "a\u{FFFD}\u{FFFD}b\u{FFFD}c");
        assert_eq!(go_decode("é☺".as_bytes()), "é☺");
        assert_eq!(go_decode(b"\xed\xa0\x80"), "\u{FFFD}\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn unquote_matches_go() {
        assert_eq!(unquote(r#""abc""#), Ok("abc".to_string()));
        assert_eq!(
            unquote(r#""a\tb\u263a\x41\101\"""#),
            Ok("a\tb☺AA\"".to_string())
        );
        assert_eq!(unquote("`a\\n\rb`"), Ok("a\\nb".to_string()));
        assert_eq!(unquote("'x'"), Ok("x".to_string()));
        assert_eq!(unquote(r#""\xff""#), Ok("\u{FFFD}".to_string()));
        for bad in [
            "\"",
            "\"abc",
            "\"a\"b\"",
            "\"a\nb\"",
            r#""\'""#,
            r#""\q""#,
            r#""\400""#,
            r#""\ud800""#,
            r#""\x4""#,
            "'ab'",
            "`a`b`",
            "abc",
        ] {
            assert_eq!(unquote(bad), Err(ERR_SYNTAX), "{bad:?}");
        }
    }

    #[test]
    fn must_quote_matches_go() {
        for (s, want) in [
            ("", true),
            ("a b", true),
            ("a\"b", true),
            ("(", false),
            ("((", true),
            ("a//b", true),
            ("a/*b", true),
            ("example.com/m", false),
            ("\u{200b}", true),
            ("é", false),
        ] {
            assert_eq!(must_quote(s), want, "{s:?}");
        }
        assert_eq!(auto_quote("a b"), "\"a b\"");
        assert_eq!(auto_quote("ab"), "ab");
    }

    #[test]
    fn is_print_matches_go() {
        assert!(is_print('a'));
        assert!(is_print('☺'));
        assert!(!is_print('\u{a0}'));
        assert!(!is_print('\u{feff}'));
        assert!(!is_print('\t'));
        assert!(is_print('\u{FFFD}'));
    }
}
