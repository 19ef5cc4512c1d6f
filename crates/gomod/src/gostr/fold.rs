//! x/mod/zip's `strToFold`: case-insensitive collision keys via `unicode.SimpleFold`.

use super::tables;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
