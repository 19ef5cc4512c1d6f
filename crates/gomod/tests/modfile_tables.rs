//! The parse-related tables of x/mod's read_test.go, rule_test.go and work_test.go
//! (v0.7.0, as Debian ships them), with v0.19.0's results where they differ, and our
//! own cases for what v0.7.0 does not test (toolchain, godebug, go version formats,
//! strict against lax). Expected values were checked against x/mod v0.19.0.

use gomod::modfile::{
    self, Comments, Expr, File, LineRef, VersionInterval, format, module_path, parse, parse_lax,
    parse_syntax, parse_work,
};
use gomod::module::Version;

fn err_text(r: Result<File, modfile::Errors>) -> String {
    match r {
        Ok(_) => "OK".to_string(),
        Err(e) => e.to_string(),
    }
}

/// read_test.go `TestParsePunctuation`.
#[test]
fn parse_punctuation() {
    let cases = [
        ("paren", "require ()", "require ( )"),
        ("brackets", "require []{},", "require [ ] { } ,"),
        ("mix", "require a[b]c{d}e,", "require a [ b ] c { d } e ,"),
        ("block_mix", "require (\n\ta[b]\n)", "require ( a [ b ] )"),
        (
            "interval",
            "require [v1.0.0, v1.1.0)",
            "require [ v1.0.0 , v1.1.0 )",
        ),
    ];
    for (desc, src, want) in cases {
        let f = parse_syntax("go.mod", src.as_bytes()).unwrap_or_else(|e| panic!("{desc}: {e}"));
        let mut tokens: Vec<String> = Vec::new();
        for stmt in &f.stmt {
            match stmt {
                Expr::Line(l) => tokens.extend(l.token.iter().cloned()),
                Expr::LineBlock(b) => {
                    tokens.extend(b.token.iter().cloned());
                    tokens.push("(".into());
                    for l in &b.line {
                        tokens.extend(l.token.iter().cloned());
                    }
                    tokens.push(")".into());
                }
                Expr::CommentBlock(_) => panic!("{desc}: unexpected comment block"),
            }
        }
        assert_eq!(tokens.join(" "), want, "{desc}");
    }
}

/// read_test.go `TestParseLax`.
#[test]
fn parse_lax_ignores_irrelevant_errors() {
    let bad = "module m
		surprise attack
		x y (
			z
		)
		exclude v1.2.3
		replace <-!!!
		retract v1.2.3 v1.2.4
		retract (v1.2.3, v1.2.4]
		retract v1.2.3 (
			key1 value1
			key2 value2
		)
		require good v1.0.0
	";
    let f = parse_lax("file", bad.as_bytes(), None).expect("ParseLax ignores irrelevant errors");
    assert_eq!(f.module.expect("module").mod_, Version::new("m", ""));
    assert_eq!(f.require.len(), 1);
    assert_eq!(f.require[0].mod_, Version::new("good", "v1.0.0"));
    // `retract v1.2.3 v1.2.4` is kept (extra tokens are fine in lax mode).
    assert_eq!(f.retract.len(), 1);
    assert_eq!(
        f.retract[0].interval,
        VersionInterval {
            low: "v1.2.3".into(),
            high: "v1.2.3".into()
        }
    );
    // The strict parser reports all of it.
    assert_eq!(
        err_text(parse("file", bad.as_bytes(), None)),
        "file:2:3: unknown directive: surprise\n\
         file:3:3: unknown block type: x y\n\
         file:6:3: usage: exclude module/path v1.2.3\n\
         file:7:3: usage: replace module/path [v1.2.3] => other/module v1.4\n\t or replace module/path [v1.2.3] => ../local/directory\n\
         file:8:3: unexpected token after version: \"v1.2.4\"\n\
         file:9:3: expected '[' or version\n\
         file:10:3: unknown block type: retract v1.2.3"
    );
}

/// read_test.go `modulePathTests`.
#[test]
fn module_path_table() {
    let cases: &[(&str, &str)] = &[
        (
            "module \"github.com/rsc/vgotest\"",
            "github.com/rsc/vgotest",
        ),
        ("module github.com/rsc/vgotest", "github.com/rsc/vgotest"),
        (
            "module  \"github.com/rsc/vgotest\"",
            "github.com/rsc/vgotest",
        ),
        ("module  github.com/rsc/vgotest", "github.com/rsc/vgotest"),
        ("module `github.com/rsc/vgotest`", "github.com/rsc/vgotest"),
        (
            "module \"github.com/rsc/vgotest/v2\"",
            "github.com/rsc/vgotest/v2",
        ),
        (
            "module github.com/rsc/vgotest/v2",
            "github.com/rsc/vgotest/v2",
        ),
        ("module \"gopkg.in/yaml.v2\"", "gopkg.in/yaml.v2"),
        ("module gopkg.in/yaml.v2", "gopkg.in/yaml.v2"),
        ("module \"gopkg.in/check.v1\"\n", "gopkg.in/check.v1"),
        ("module \"gopkg.in/check.v1\n\"", ""),
        ("module gopkg.in/check.v1\n", "gopkg.in/check.v1"),
        ("module \"gopkg.in/check.v1\"\r\n", "gopkg.in/check.v1"),
        ("module gopkg.in/check.v1\r\n", "gopkg.in/check.v1"),
        ("module \"gopkg.in/check.v1\"\n\n", "gopkg.in/check.v1"),
        ("module gopkg.in/check.v1\n\n", "gopkg.in/check.v1"),
        ("module \n\"gopkg.in/check.v1\"\n\n", ""),
        ("module \ngopkg.in/check.v1\n\n", ""),
        ("module \"gopkg.in/check.v1\"asd", ""),
        ("module \n\"gopkg.in/check.v1\"\n\n", ""),
        ("module \ngopkg.in/check.v1\n\n", ""),
        ("module \"gopkg.in/check.v1\"asd", ""),
        ("module  \nmodule a/b/c ", "a/b/c"),
        ("module \"   \"", "   "),
        ("module   ", ""),
        ("module \"  a/b/c  \"", "  a/b/c  "),
        (
            "module \"github.com/rsc/vgotest1\" // with a comment",
            "github.com/rsc/vgotest1",
        ),
    ];
    assert_eq!(cases.len(), 27);
    for &(input, want) in cases {
        assert_eq!(module_path(input.as_bytes()), want, "{input:?}");
    }
}

/// read_test.go `TestGoVersion`, with v0.19.0's results: its `GoVersionRE` also
/// accepts `1.22.333`, `1.2rc1`, `1.2.3` and `1.2beta1` (v0.7.0 rejected them), and
/// its lax form needs a non-digit after `major.minor`, so `go v1.2` stays an error
/// even for ParseLax. (v0.7.0's "Lax" subtest called Parse; here it calls ParseLax.)
/// `(desc, input, strict result, lax result)`: "OK" or the error text.
#[test]
fn go_version_table() {
    let inv = |v: &str| format!("go.mod:2: invalid go version '{v}': must match format 1.23.0");
    let one = "go.mod:2: go directive expects exactly one argument".to_string();
    let ok = || "OK".to_string();
    let cases: Vec<(&str, &str, String, String)> = vec![
        ("empty", "module m\ngo \n", one.clone(), one.clone()),
        ("one", "module m\ngo 1\n", inv("1"), inv("1")),
        ("two", "module m\ngo 1.22\n", ok(), ok()),
        ("three", "module m\ngo 1.22.333", ok(), ok()),
        ("before", "module m\ngo v1.2\n", inv("v1.2"), inv("v1.2")),
        ("after", "module m\ngo 1.2rc1\n", ok(), ok()),
        ("space", "module m\ngo 1.2 3.4\n", one.clone(), one.clone()),
        ("alt1", "module m\ngo 1.2.3\n", ok(), ok()),
        ("alt2", "module m\ngo 1.2rc1\n", ok(), ok()),
        ("alt3", "module m\ngo 1.2beta1\n", ok(), ok()),
        ("alt4", "module m\ngo 1.2.beta1\n", inv("1.2.beta1"), ok()),
        ("alt1", "module m\ngo v1.2.3\n", inv("v1.2.3"), ok()),
        ("alt2", "module m\ngo v1.2rc1\n", inv("v1.2rc1"), ok()),
        ("alt3", "module m\ngo v1.2beta1\n", inv("v1.2beta1"), ok()),
        ("alt4", "module m\ngo v1.2.beta1\n", inv("v1.2.beta1"), ok()),
        ("alt1", "module m\ngo v1.2\n", inv("v1.2"), inv("v1.2")),
    ];
    assert_eq!(cases.len(), 16);
    for (desc, input, strict, lax) in cases {
        assert_eq!(
            err_text(parse("go.mod", input.as_bytes(), None)),
            strict,
            "strict {desc}"
        );
        assert_eq!(
            err_text(parse_lax("go.mod", input.as_bytes(), None)),
            lax,
            "lax {desc}"
        );
    }
}

fn print_comments(buf: &mut String, prefix: &str, cs: &Comments) {
    for c in &cs.before {
        buf.push_str(&format!("{prefix} before {:?}\n", c.token));
    }
    for c in &cs.suffix {
        buf.push_str(&format!("{prefix} suffix {:?}\n", c.token));
    }
    for c in &cs.after {
        buf.push_str(&format!("{prefix} after {:?}\n", c.token));
    }
}

/// read_test.go `TestComments`.
#[test]
fn comments_table() {
    let cases = [
        (
            "comment_only",
            "\n// a\n// b\n",
            "comments before \"// a\"\ncomments before \"// b\"",
        ),
        (
            "line",
            "\n// a\n\n// b\nmodule m // c\n// d\n\n// e\n",
            "comments before \"// a\"\nline before \"// b\"\nline suffix \"// c\"\n\
             comments before \"// d\"\ncomments before \"// e\"",
        ),
        (
            "block",
            "\n// a\n\n// b\nblock ( // c\n\t// d\n\n\t// e\n\tx // f\n\t// g\n\n\t// h\n) // i\n// j\n\n// k\n",
            "comments before \"// a\"\nblock before \"// b\"\nlparen suffix \"// c\"\n\
             blockline before \"// d\"\nblockline before \"\"\nblockline before \"// e\"\n\
             blockline suffix \"// f\"\nrparen before \"// g\"\nrparen before \"\"\n\
             rparen before \"// h\"\nrparen suffix \"// i\"\ncomments before \"// j\"\n\
             comments before \"// k\"",
        ),
        ("cr_removed", "// a\r\r\n", "comments before \"// a\\r\""),
    ];
    for (desc, input, want) in cases {
        let f =
            parse_lax("go.mod", input.as_bytes(), None).unwrap_or_else(|e| panic!("{desc}: {e}"));
        let mut buf = String::new();
        print_comments(&mut buf, "file", &f.syntax.comments);
        for stmt in &f.syntax.stmt {
            match stmt {
                Expr::CommentBlock(c) => print_comments(&mut buf, "comments", &c.comments),
                Expr::Line(l) => print_comments(&mut buf, "line", &l.comments),
                Expr::LineBlock(b) => {
                    print_comments(&mut buf, "block", &b.comments);
                    print_comments(&mut buf, "lparen", &b.lparen.comments);
                    for l in &b.line {
                        print_comments(&mut buf, "blockline", &l.comments);
                    }
                    print_comments(&mut buf, "rparen", &b.rparen.comments);
                }
            }
        }
        assert_eq!(buf.trim(), want, "{desc}");
    }
}

/// rule_test.go `retractRationaleTests`.
#[test]
fn retract_rationale_table() {
    let cases = [
        ("no_comment", "module m\n\t\tretract v1.0.0", ""),
        (
            "prefix_one",
            "module m\n\t\t//   prefix\n\t\tretract v1.0.0 \n\t\t",
            "prefix",
        ),
        (
            "prefix_multiline",
            "module m\n\t\t//  one\n\t\t//\n\t\t//     two\n\t\t//\n\t\t// three  \n\t\tretract v1.0.0",
            "one\n\ntwo\n\nthree",
        ),
        (
            "suffix",
            "module m\n\t\tretract v1.0.0 // suffix\n\t\t",
            "suffix",
        ),
        (
            "prefix_suffix_after",
            "module m\n\t\t// prefix\n\t\tretract v1.0.0 // suffix\n\t\t",
            "prefix\nsuffix",
        ),
        (
            "block_only",
            "// block\n\t\tretract (\n\t\t\tv1.0.0\n\t\t)\n\t\t",
            "block",
        ),
        (
            "block_and_line",
            "// block\n\t\tretract (\n\t\t\t// line\n\t\t\tv1.0.0\n\t\t)\n\t\t",
            "line",
        ),
    ];
    for (desc, input, want) in cases {
        let f = parse("in", input.as_bytes(), None).unwrap_or_else(|e| panic!("{desc}: {e}"));
        assert_eq!(f.retract.len(), 1, "{desc}");
        assert_eq!(f.retract[0].rationale, want, "{desc}");
    }
}

/// rule_test.go `moduleDeprecatedTests`.
#[test]
fn module_deprecated_table() {
    let cases = [
        ("no_comment", "module m", ""),
        ("other_comment", "// yo\n\t\tmodule m", ""),
        ("deprecated_no_colon", "//Deprecated\n\t\tmodule m", ""),
        (
            "deprecated_no_space",
            "//Deprecated:blah\n\t\tmodule m",
            "blah",
        ),
        (
            "deprecated_simple",
            "// Deprecated: blah\n\t\tmodule m",
            "blah",
        ),
        (
            "deprecated_lowercase",
            "// deprecated: blah\n\t\tmodule m",
            "",
        ),
        (
            "deprecated_multiline",
            "// Deprecated: one\n\t\t// two\n\t\tmodule m",
            "one\ntwo",
        ),
        (
            "deprecated_mixed",
            "// some other comment\n\t\t// Deprecated: blah\n\t\tmodule m",
            "",
        ),
        (
            "deprecated_middle",
            "// module m is Deprecated: blah\n\t\tmodule m",
            "",
        ),
        (
            "deprecated_multiple",
            "// Deprecated: a\n\t\t// Deprecated: b\n\t\tmodule m",
            "a\nDeprecated: b",
        ),
        (
            "deprecated_paragraph",
            "// Deprecated: a\n\t\t// b\n\t\t//\n\t\t// c\n\t\tmodule m",
            "a\nb",
        ),
        (
            "deprecated_paragraph_space",
            "// Deprecated: the next line has a space\n\t\t// \n\t\t// c\n\t\tmodule m",
            "the next line has a space",
        ),
        ("deprecated_suffix", "module m // Deprecated: blah", "blah"),
        (
            "deprecated_mixed_suffix",
            "// some other comment\n\t\tmodule m // Deprecated: blah",
            "",
        ),
        (
            "deprecated_mixed_suffix_paragraph",
            "// some other comment\n\t\t//\n\t\tmodule m // Deprecated: blah",
            "blah",
        ),
        (
            "deprecated_block",
            "// Deprecated: blah\n\t\tmodule (\n\t\t\tm\n\t\t)",
            "blah",
        ),
    ];
    assert_eq!(cases.len(), 16);
    for (desc, input, want) in cases {
        let f = parse("in", input.as_bytes(), None).unwrap_or_else(|e| panic!("{desc}: {e}"));
        assert_eq!(f.module.expect("module").deprecated, want, "{desc}");
    }
}

fn fix_v(path: &str, version: &str) -> Result<String, String> {
    if path != "example.com/m" {
        return Err("module path must be example.com/m".to_string());
    }
    Ok(format!("v{version}"))
}

/// rule_test.go `fixVersionTests` (exact error texts instead of substrings), plus
/// fixer errors.
#[test]
fn fix_version_table() {
    let cases: &[(&str, &str, Result<&str, &str>)] = &[
        (
            "require",
            "require example.com/m 1.0.0",
            Ok("require example.com/m v1.0.0"),
        ),
        (
            "replace",
            "replace example.com/m 1.0.0 => example.com/m 1.1.0",
            Ok("replace example.com/m v1.0.0 => example.com/m v1.1.0"),
        ),
        (
            "replace_version_in_path",
            "replace example.com/m@v1.0.0 => example.com/m@v1.1.0",
            Err("in:1: replacement module must match format 'path version', not 'path@version'"),
        ),
        (
            "replace_version_in_later_path",
            "replace example.com/m => example.com/m@v1.1.0",
            Err("in:1: replacement module must match format 'path version', not 'path@version'"),
        ),
        (
            "exclude",
            "exclude example.com/m 1.0.0",
            Ok("exclude example.com/m v1.0.0"),
        ),
        (
            "retract_single",
            "module example.com/m\n\t\tretract 1.0.0",
            Ok("module example.com/m\n\t\tretract v1.0.0"),
        ),
        (
            "retract_interval",
            "module example.com/m\n\t\tretract [1.0.0, 1.1.0]",
            Ok("module example.com/m\n\t\tretract [v1.0.0, v1.1.0]"),
        ),
        (
            "retract_nomod",
            "retract 1.0.0",
            Err("in:1: no module directive found, so retract cannot be used"),
        ),
        // Our own cases (results of x/mod v0.19.0).
        (
            "retract_nomod_once",
            "retract 1.0.0\nretract 1.1.0",
            Err("in:1: no module directive found, so retract cannot be used"),
        ),
        (
            "fixer_error",
            "require other.com/x 1.0.0",
            Err("in:1: module path must be example.com/m"),
        ),
        (
            "fixer_error_retract",
            "module other.com/x\nretract 1.0.0\nretract [1.0.0, 1.1.0]",
            Err("in:2: module path must be example.com/m\nin:3: module path must be example.com/m"),
        ),
        (
            "fixed_major_mismatch",
            "module example.com/m\nrequire example.com/m 2.0.0",
            Err(
                "in:2: require example.com/m: version \"v2.0.0\" invalid: should be v0 or v1, not v2",
            ),
        ),
        (
            "quote_in_version",
            "require example.com/m 1.0.0\"",
            Err(
                "in:1: require example.com/m: version \"1.0.0\\\"\" invalid: unquoted string cannot contain quote",
            ),
        ),
        (
            "quoted_version",
            "require example.com/m \"1.0.0\"",
            Ok("require example.com/m v1.0.0"),
        ),
    ];
    for &(desc, input, want) in cases {
        let got = parse("in", input.as_bytes(), Some(&fix_v));
        match want {
            Ok(want) => {
                let got = got.unwrap_or_else(|e| panic!("{desc}: {e}"));
                let want_file = parse("out", want.as_bytes(), None).expect("want parses");
                assert_eq!(
                    String::from_utf8_lossy(&got.format()),
                    String::from_utf8_lossy(&want_file.format()),
                    "{desc}"
                );
            }
            Err(want) => assert_eq!(err_text(got), want, "{desc}"),
        }
    }

    let f = parse(
        "in",
        b"module example.com/m\nretract [1.0.0, 1.1.0] // bad\n",
        Some(&fix_v),
    )
    .expect("parses");
    assert_eq!(
        f.retract[0].interval,
        VersionInterval {
            low: "v1.0.0".into(),
            high: "v1.1.0".into()
        }
    );
    assert_eq!(f.retract[0].rationale, "bad");
}

/// A go 1.23-era go.mod: every directive, with its typed values.
#[test]
fn go_1_23_file() {
    let src = "// Deprecated: use example.com/n\nmodule example.com/m\n\ngo 1.23.0\n\ntoolchain go1.23.2\n\n\
godebug (\n\tdefault=go1.21\n\tpanicnil=1\n)\n\ngodebug asynctimerchan=0\n\n\
require (\n\texample.com/a v1.2.3\n\texample.com/b/v2 v2.0.0 // indirect\n\texample.com/c v3.0.0+incompatible // indirect; why\n\tgopkg.in/yaml.v3 v3.0.1\n)\n\n\
exclude example.com/a v1.2.2\n\n\
replace (\n\texample.com/a v1.2.3 => ../a\n\texample.com/b/v2 => example.com/fork/v2 v2.1.0\n\t\"example.com/c\" => /abs/c\n)\n\n\
retract (\n\t// broken\n\tv1.0.0\n\t[v1.1.0, v1.1.9] // oops\n)\n";
    let f = parse("go.mod", src.as_bytes(), None).expect("parses");
    let m = f.module.as_ref().expect("module");
    assert_eq!(m.mod_, Version::new("example.com/m", ""));
    assert_eq!(m.deprecated, "use example.com/n");
    assert_eq!(
        m.syntax,
        LineRef {
            stmt: 0,
            line: None
        }
    );
    assert_eq!(f.go.as_ref().expect("go").version, "1.23.0");
    assert_eq!(f.toolchain.as_ref().expect("toolchain").name, "go1.23.2");
    let gd: Vec<(&str, &str)> = f
        .godebug
        .iter()
        .map(|g| (g.key.as_str(), g.value.as_str()))
        .collect();
    assert_eq!(
        gd,
        [
            ("default", "go1.21"),
            ("panicnil", "1"),
            ("asynctimerchan", "0")
        ]
    );
    let req: Vec<(String, bool)> = f
        .require
        .iter()
        .map(|r| (r.mod_.to_string(), r.indirect))
        .collect();
    assert_eq!(
        req,
        [
            ("example.com/a@v1.2.3".to_string(), false),
            ("example.com/b/v2@v2.0.0".to_string(), true),
            ("example.com/c@v3.0.0+incompatible".to_string(), true),
            ("gopkg.in/yaml.v3@v3.0.1".to_string(), false),
        ]
    );
    assert_eq!(
        f.require[1].syntax,
        LineRef {
            stmt: 5,
            line: Some(1)
        }
    );
    let line = f.syntax.line(f.require[1].syntax).expect("line");
    assert_eq!(line.token, ["example.com/b/v2", "v2.0.0"]);
    assert_eq!((line.start.line, line.start.line_rune), (17, 2));
    assert_eq!(f.exclude[0].mod_, Version::new("example.com/a", "v1.2.2"));
    let rep: Vec<(String, String)> = f
        .replace
        .iter()
        .map(|r| (r.old.to_string(), r.new.to_string()))
        .collect();
    assert_eq!(
        rep,
        [
            ("example.com/a@v1.2.3".to_string(), "../a".to_string()),
            (
                "example.com/b/v2".to_string(),
                "example.com/fork/v2@v2.1.0".to_string()
            ),
            ("example.com/c".to_string(), "/abs/c".to_string()),
        ]
    );
    let ret: Vec<(&str, &str, &str)> = f
        .retract
        .iter()
        .map(|r| {
            (
                r.interval.low.as_str(),
                r.interval.high.as_str(),
                r.rationale.as_str(),
            )
        })
        .collect();
    assert_eq!(
        ret,
        [("v1.0.0", "v1.0.0", "broken"), ("v1.1.0", "v1.1.9", "oops")]
    );
    // Unchanged except for the unquoted path.
    assert_eq!(
        String::from_utf8_lossy(&f.format()),
        src.replace("\"example.com/c\"", "example.com/c")
    );

    // A dependency's go.mod read laxly keeps only module, go, require and retract.
    let f = parse_lax("go.mod", src.as_bytes(), None).expect("parses");
    assert!(f.toolchain.is_none() && f.godebug.is_empty());
    assert!(f.exclude.is_empty() && f.replace.is_empty());
    assert_eq!((f.require.len(), f.retract.len()), (4, 2));
}

/// Errors of the directives v0.7.0 does not know, and strict against lax.
#[test]
fn go_1_23_errors() {
    let cases: &[(&str, &str, &str)] = &[
        // (input, strict result, lax result)
        (
            "module m\ntoolchain 1.21\n",
            "go.mod:2: invalid toolchain version '1.21': must match format go1.23.0 or default",
            "OK",
        ),
        (
            "module m\ntoolchain\n",
            "go.mod:2: toolchain directive expects exactly one argument",
            "OK",
        ),
        (
            "module m\ntoolchain go1.21\ntoolchain go1.22\n",
            "go.mod:3: repeated toolchain statement",
            "OK",
        ),
        (
            "module m\ntoolchain default\ntoolchain go1\n",
            "go.mod:3: repeated toolchain statement",
            "OK",
        ),
        (
            "module m\ngodebug foo\n",
            "go.mod:2: usage: godebug key=value",
            "OK",
        ),
        (
            "module m\ngodebug a=b c=d\n",
            "go.mod:2: usage: godebug key=value",
            "OK",
        ),
        (
            "module m\ngodebug a=\"b\"\n",
            "go.mod:2: usage: godebug key=value",
            "OK",
        ),
        (
            "module m\ngodebug a,b=c\n",
            "go.mod:2: usage: godebug key=value",
            "OK",
        ),
        (
            "module m\ngodebug (\n\ta=b\n\tc\n)\n",
            "go.mod:4:2: usage: godebug key=value",
            "OK",
        ),
        (
            "module m\ngo 1.21\ngo 1.22\n",
            "go.mod:3: repeated go statement",
            "go.mod:3: repeated go statement",
        ),
        (
            "module m\ngo 1.x\ngo 1.21\n",
            "go.mod:2: invalid go version '1.x': must match format 1.23.0",
            "go.mod:2: invalid go version '1.x': must match format 1.23.0",
        ),
        ("module m\ngo 1.21.0\n", "OK", "OK"),
        ("module m\ngo 1.21rc1\n", "OK", "OK"),
        (
            "module m\ngo 1.21.0-rc1\n",
            "go.mod:2: invalid go version '1.21.0-rc1': must match format 1.23.0",
            "OK",
        ),
        (
            "module m\ngo 1.021\n",
            "go.mod:2: invalid go version '1.021': must match format 1.23.0",
            "go.mod:2: invalid go version '1.021': must match format 1.23.0",
        ),
        (
            "module m\ngo 1.21.x\n",
            "go.mod:2: invalid go version '1.21.x': must match format 1.23.0",
            "OK",
        ),
        (
            "module m\nmodule n\n",
            "go.mod:2: repeated module statement",
            "go.mod:2: repeated module statement",
        ),
        (
            "module m\nexclude x.com/a v1.x\n",
            "go.mod:2: exclude x.com/a: version \"v1.x\" invalid: must be of the form v1.2.3",
            "OK",
        ),
        (
            "module m\nrequire x.com/a v1.x\n",
            "go.mod:2: require x.com/a: version \"v1.x\" invalid: must be of the form v1.2.3",
            "go.mod:2: require x.com/a: version \"v1.x\" invalid: must be of the form v1.2.3",
        ),
        (
            "module m\nrequire x.com/a/v2 v1.0.0\n",
            "go.mod:2: require x.com/a/v2: version \"v1.0.0\" invalid: should be v2, not v1",
            "go.mod:2: require x.com/a/v2: version \"v1.0.0\" invalid: should be v2, not v1",
        ),
        (
            "module m\nrequire x.com/a/v1 v1.0.0\n",
            "go.mod:2: invalid module path",
            "go.mod:2: invalid module path",
        ),
        (
            "module m\nreplace x.com/a/v1 => ../a\n",
            "go.mod:2: replace x.com/a/v1: invalid module path",
            "OK",
        ),
        (
            "module m\nrequire x.com/a v2.0.0+incompatible\n",
            "OK",
            "OK",
        ),
        (
            "module m\nreplace x.com/a v1.0.0 => C:\\a\n",
            "go.mod:2: replacement directory appears to be Windows path (on a non-windows system)",
            "OK",
        ),
        (
            "module m\nreplace x.com/a v1.0.0 => .\\a\\b\n",
            "go.mod:2: replacement directory appears to be Windows path (on a non-windows system)",
            "OK",
        ),
        (
            "module m\nreplace x.com/a => ./b v1.0.0\n",
            "go.mod:2: replacement module directory path \"./b\" cannot have version",
            "OK",
        ),
        (
            "module m\nreplace x.com/a => y.com/b\n",
            "go.mod:2: replacement module without version must be directory path (rooted or starting with . or ..)",
            "OK",
        ),
        (
            "module m\nretract [v1.0.0 v1.1.0]\n",
            "go.mod:2: expected ',' after version",
            "OK",
        ),
        (
            "module m\nretract [v1.0.0, v1.1.0] x\n",
            "go.mod:2: unexpected token after version: \"x\"",
            "OK",
        ),
        (
            "module m\nrequire x.com/a v1.0.0 /* c */\n",
            "go.mod:2:24: mod files must use // comments (not /* */ comments)",
            "go.mod:2:24: mod files must use // comments (not /* */ comments)",
        ),
        (
            "\u{feff}module m\n",
            "go.mod:1: unexpected input character '\\ufeff'",
            "go.mod:1: unexpected input character '\\ufeff'",
        ),
        (
            "module m\nrequire x\u{b}c v1.0.0\n",
            "go.mod:2:10: unexpected input character '\\v'",
            "go.mod:2:10: unexpected input character '\\v'",
        ),
        (
            "module m\nrequire (\n\tx.com/a v1.0.0\n",
            "go.mod:4: syntax error (unterminated block started at go.mod:2:1)",
            "go.mod:4: syntax error (unterminated block started at go.mod:2:1)",
        ),
        (
            "module m\nrequire (\n) x\n",
            "go.mod:3:4: syntax error (expected newline after closing paren)",
            "go.mod:3:4: syntax error (expected newline after closing paren)",
        ),
        (
            "module m\nrequire \"x.com/a v1.0.0\n",
            "go.mod:2:24: unexpected newline in string",
            "go.mod:2:24: unexpected newline in string",
        ),
        (
            "module m\nrequire x.com/a \"v1.0.0",
            "go.mod:2:17: unexpected EOF in string",
            "go.mod:2:17: unexpected EOF in string",
        ),
        (
            "module m\nrequire 'x.com/a' v1.0.0\n",
            "go.mod:2: invalid quoted string: unquoted string cannot contain quote",
            "go.mod:2: invalid quoted string: unquoted string cannot contain quote",
        ),
        (
            "module m\nrequire \"x.com/a\\q\" v1.0.0\n",
            "go.mod:2: invalid quoted string: invalid syntax",
            "go.mod:2: invalid quoted string: invalid syntax",
        ),
        (
            "module m\nfoo (\n)\nbar x (\n)\n",
            "go.mod:2: unknown block type: foo\ngo.mod:4: unknown block type: bar x",
            "OK",
        ),
    ];
    for &(input, strict, lax) in cases {
        assert_eq!(
            err_text(parse("go.mod", input.as_bytes(), None)),
            strict,
            "strict {input:?}"
        );
        assert_eq!(
            err_text(parse_lax("go.mod", input.as_bytes(), None)),
            lax,
            "lax {input:?}"
        );
    }
}

/// go.work: use, replace, toolchain, godebug, and what it rejects.
#[test]
fn go_work() {
    let src = "go 1.23.0\n\ntoolchain go1.23.1\n\ngodebug panicnil=1\n\nuse (\n\t./a\n\t\"./b c\"\n)\n\nuse ../d\n\nreplace x.com/a v1.0.0 => ./a\n";
    let f = parse_work("go.work", src.as_bytes(), None).expect("parses");
    assert_eq!(f.go.as_ref().expect("go").version, "1.23.0");
    assert_eq!(f.toolchain.as_ref().expect("toolchain").name, "go1.23.1");
    assert_eq!(
        (f.godebug[0].key.as_str(), f.godebug[0].value.as_str()),
        ("panicnil", "1")
    );
    let uses: Vec<&str> = f.use_.iter().map(|u| u.path.as_str()).collect();
    assert_eq!(uses, ["./a", "./b c", "../d"]);
    assert_eq!(f.replace[0].new, Version::new("./a", ""));
    assert_eq!(String::from_utf8_lossy(&f.format()), src);
    assert_eq!(format(&f.syntax), f.format());

    let cases: &[(&str, &str)] = &[
        (
            "go 1.21\nuse\nuse a b\n",
            "go.work:2: usage: use local/dir\ngo.work:3: usage: use local/dir",
        ),
        (
            "go 1.21\nmodule m\nrequire x v1.0.0\n",
            "go.work:2: unknown directive: module\ngo.work:3: unknown directive: require",
        ),
        (
            "go v1.21\n",
            "go.work:1: invalid go version 'v1.21': must match format 1.23.0",
        ),
        (
            "go 1.21.x\n",
            "go.work:1: invalid go version '1.21.x': must match format 1.23.0",
        ),
        ("go 1.21\ngo 1.22\n", "go.work:2: repeated go statement"),
        (
            "toolchain x\n",
            "go.work:1: invalid toolchain version 'x': must match format go1.23.0 or default",
        ),
        (
            "require (\n)\nuse x (\n)\n",
            "go.work:1: unknown block type: require\ngo.work:3: unknown block type: use x",
        ),
        (
            "use 'a'\n",
            "go.work:1: invalid quoted string: unquoted string cannot contain quote",
        ),
    ];
    for &(input, want) in cases {
        let got = match parse_work("go.work", input.as_bytes(), None) {
            Ok(_) => "OK".to_string(),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, want, "{input:?}");
    }
}
