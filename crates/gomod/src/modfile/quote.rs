//! Go's `modfile.MustQuote` and `modfile.AutoQuote`: when a go.mod token needs quotes.

use crate::gostr::{is_print, quote};

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
}
