//! The go.mod readers never panic, whatever the input, and formatting what they
//! accept is stable.

use gomod::modfile::{format, parse, parse_lax, parse_syntax, parse_work};
use proptest::prelude::*;

const WORDS: &[&str] = &[
    "module",
    "go",
    "toolchain",
    "godebug",
    "require",
    "exclude",
    "replace",
    "retract",
    "use",
    "=>",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    "\n",
    "\r\n",
    " ",
    "\t",
    "// indirect",
    "//",
    "// Deprecated: x",
    "/*",
    "\"",
    "`",
    "'",
    "\\",
    "\"a b\"",
    "`x`",
    "\"\\u00e9\"",
    "v1.2.3",
    "v2.0.0+incompatible",
    "v0.0.0-20200101000000-abcdefabcdef",
    "1.21",
    "1.21.0",
    "1.21rc1",
    "v1.2",
    "go1.21",
    "default",
    "a=b",
    "=",
    "example.com/m",
    "example.com/m/v2",
    "gopkg.in/yaml.v2",
    "./dir",
    "../dir",
    "/abs",
    "C:\\x",
    "x@v1.0.0",
    "é",
    "\u{feff}",
    "\u{a0}",
    "\u{0}",
    "\u{b}",
    "\u{200b}",
];

fn soup() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(WORDS), 0..60).prop_map(|ws| {
        let mut out = String::new();
        for w in ws {
            out.push_str(w);
            out.push(' ');
        }
        out.into_bytes()
    })
}

fn check(data: &[u8]) {
    let _ = parse("go.mod", data, None);
    let _ = parse_lax("go.mod", data, None);
    let _ = parse_work("go.work", data, None);
    let fixer = |_: &str, v: &str| -> Result<String, String> {
        if v.len().is_multiple_of(2) {
            Ok(format!("v{v}"))
        } else {
            Err("bad".into())
        }
    };
    let _ = parse("go.mod", data, Some(&fixer));
    if let Ok(f) = parse_syntax("go.mod", data) {
        // Formatting is idempotent on what parses.
        let once = format(&f);
        let again = parse_syntax("go.mod", &once).expect("formatted output parses");
        assert_eq!(format(&again), once);
    }
    // x/mod unquotes a quoted token in place while it reads it (`parseString`), so a
    // reformatted file whose quoted token held `/*`, `"` or spaces may not parse again:
    // the round trip is a property only of files without quotes (see
    // `lax_format_unquotes_as_x_mod_does`).
    if !data.contains(&b'"')
        && !data.contains(&b'`')
        && let Ok(f) = parse_lax("go.mod", data, None)
    {
        let out = f.format();
        assert!(
            parse_lax("go.mod", &out, None).is_ok(),
            "reformatted lax file parses"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn no_panic_on_bytes(data in prop::collection::vec(any::<u8>(), 0..300)) {
        check(&data);
    }

    #[test]
    fn no_panic_on_token_soup(data in soup()) {
        check(&data);
    }
}

/// What x/mod does with a quoted retract token holding `/*` (checked against
/// golang.org/x/mod/modfile: ParseLax, Format, ParseLax): the token is unquoted while
/// read, so the formatted file holds a `/*` comment and does not parse again.
#[test]
fn lax_format_unquotes_as_x_mod_does() {
    let f = parse_lax("go.mod", b"retract \" /* \"a b\" module ", None).unwrap();
    let out = f.format();
    assert_eq!(String::from_utf8_lossy(&out), "retract  /*  a b\" module\n");
    assert_eq!(
        parse_lax("go.mod", &out, None).unwrap_err().to_string(),
        "go.mod:1:10: mod files must use // comments (not /* */ comments)"
    );
}
