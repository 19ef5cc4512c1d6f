//! Go's text behaviour that zip errors and rules depend on: `strToFold` (case-insensitive
//! collision keys, via `unicode.SimpleFold`) and `strconv.Quote` (`%q` in error texts).
//!
//! Both use tables generated from Go's own `unicode` package (see `gen_unicode_tables.go`),
//! so the results match the Go toolchain exactly rather than Rust's Unicode version.

#[rustfmt::skip]
#[path = "unicode_tables.rs"]
mod tables;

/// Returns a key with the property `strings.EqualFold(s, t)` iff `str_to_fold(s) ==
/// str_to_fold(t)`, exactly as x/mod/zip's `strToFold`: every rune is replaced by the
/// smallest rune of its `unicode.SimpleFold` orbit, then A-Z is lowered to a-z.
pub(crate) fn str_to_fold(s: &str) -> String {
    // Fast path as in Go: all ASCII, no upper case.
    if s.bytes().all(|c| c < 0x80 && !c.is_ascii_uppercase()) {
        return s.to_owned();
    }
    s.chars().map(fold_rune).collect()
}

fn fold_rune(c: char) -> char {
    let r = u32::from(c);
    match tables::FOLD.binary_search_by_key(&r, |&(from, _)| from) {
        Ok(i) => char::from_u32(tables::FOLD[i].1).unwrap_or(c),
        Err(_) => c,
    }
}

/// Go's `unicode.IsPrint`.
fn is_print(c: char) -> bool {
    let r = u32::from(c);
    if r < 0x80 {
        return (0x20..0x7f).contains(&r);
    }
    let i = tables::NOT_PRINT.partition_point(|&(_, hi)| hi < r);
    !tables::NOT_PRINT
        .get(i)
        .is_some_and(|&(lo, hi)| lo <= r && r <= hi)
}

/// Go's `strconv.Quote` for a string (what `%q` prints).
pub(crate) fn quote(s: &str) -> String {
    quote_bytes(s.as_bytes())
}

/// Go's `strconv.Quote` for arbitrary bytes: invalid UTF-8 bytes print as `\xNN`.
pub(crate) fn quote_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 2);
    out.push('"');
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_quoted_char(&mut out, c);
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out.push('"');
    out
}

fn push_quoted_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        c if is_print(c) => out.push(c),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if u32::from(c) < 0x20 || c == '\u{7f}' => {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        }
        c if u32::from(c) < 0x10000 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
        c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
    }
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
    }

    #[test]
    fn fold_matches_go() {
        assert_eq!(str_to_fold("go.mod"), "go.mod");
        assert_eq!(str_to_fold("GO.MOD"), "go.mod");
        assert_eq!(str_to_fold("M.GO"), str_to_fold("m.go"));
        // Kelvin sign, k and K share an orbit whose minimum is 'K' -> 'k'.
        assert_eq!(str_to_fold("\u{212A}"), "k");
        // Long s folds with s/S.
        assert_eq!(str_to_fold("\u{17F}"), "s");
        // ß and ẞ: minimum is ß.
        assert_eq!(str_to_fold("\u{1E9E}"), "\u{DF}");
        assert_eq!(str_to_fold("\u{DF}"), "\u{DF}");
        // Go 1.23 (Unicode 15.0) does not fold ΐ (U+0390) with U+1FD3, whatever newer
        // Unicode versions say.
        assert_eq!(str_to_fold("\u{1FD3}"), "\u{1FD3}");
        assert_eq!(str_to_fold("\u{390}"), "\u{390}");
        // Greek: σ, ς and Σ share an orbit with minimum Σ.
        assert_eq!(str_to_fold("\u{3C2}"), "\u{3A3}");
        assert_eq!(str_to_fold("\u{3C3}"), "\u{3A3}");
        assert_eq!(str_to_fold("Äb"), "\u{C4}b");
        assert_eq!(str_to_fold("äB"), "\u{C4}b");
    }

    #[test]
    fn quote_matches_go() {
        assert_eq!(quote("invalid.go'"), r#""invalid.go'""#);
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote("\n\t\u{0}\u{7f}"), r#""\n\t\x00\x7f""#);
        assert_eq!(quote("é\u{200b}\u{a0}"), r#""é\u200b\u00a0""#);
        assert_eq!(quote("\u{E0001}"), r#""\U000e0001""#);
        assert_eq!(quote("日本"), "\"日本\"");
        assert_eq!(quote_bytes(b"\xff"), r#""\xff""#);
        assert_eq!(quote_bytes(b"a\xc3"), r#""a\xc3""#);
    }
}
