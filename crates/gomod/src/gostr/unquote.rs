//! Go's `strconv.Unquote`.

use super::decode;

/// The error of a failed [`unquote`]: Go's `strconv.ErrSyntax`.
const ERR_SYNTAX: &str = "invalid syntax";

/// Go's `strconv.Unquote` for `"…"`, `` `…` `` and `'…'` literals. Escapes such as
/// `\xff` can produce bytes that are not UTF-8; like every other input byte, they
/// are decoded as U+FFFD (see [`decode`]).
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
            Ok(decode(&out))
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
