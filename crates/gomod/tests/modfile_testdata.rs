//! Every file of x/mod's modfile test data (`testdata/*.in|*.golden` and
//! `testdata/work/*`), run as read_test.go (`TestPrintGolden`, `TestPrintParse`) and
//! work_test.go (`TestWorkPrintParse`) run them, plus the exact verdicts and error
//! texts that x/mod v0.19.0's `Parse`, `ParseLax` and `ParseWork` give for each file.
//!
//! The files are read where Debian's golang-golang-x-mod-dev installs them (v0.7.0).

use gomod::modfile::{
    self, Comments, Expr, File, FileSyntax, Line, LineBlock, Position, WorkFile, format,
    parse_syntax,
};
use std::path::{Path, PathBuf};

const TESTDATA: &str = "/usr/share/gocode/src/golang.org/x/mod/modfile/testdata";

fn testdata() -> PathBuf {
    let dir = PathBuf::from(TESTDATA);
    assert!(
        dir.join("work").is_dir(),
        "x/mod test data missing: run scripts/install-deps (installs golang-golang-x-mod-dev)"
    );
    dir
}

/// Sorted names of the files in `dir` (relative to `TESTDATA`'s parent, like
/// `testdata/block.in`) that end in one of `exts`.
fn files(dir: &Path, prefix: &str, exts: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .expect("read testdata dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| exts.iter().any(|x| n.ends_with(x)))
        .map(|n| format!("{prefix}{n}"))
        .collect();
    out.sort();
    out
}

fn read(name: &str) -> Vec<u8> {
    let path = testdata().join(name.trim_start_matches("testdata/"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The syntax tree without positions and comments (what read_test.go's `eqchecker`
/// compares).
fn shape(f: &FileSyntax) -> FileSyntax {
    let line = |l: &Line| Line {
        comments: Comments::default(),
        start: Position::default(),
        end: Position::default(),
        token: l.token.clone(),
        in_block: l.in_block,
    };
    FileSyntax {
        name: f.name.clone(),
        comments: Comments::default(),
        stmt: f
            .stmt
            .iter()
            .map(|x| match x {
                Expr::CommentBlock(_) => Expr::CommentBlock(modfile::CommentBlock::default()),
                Expr::Line(l) => Expr::Line(line(l)),
                Expr::LineBlock(b) => Expr::LineBlock(LineBlock {
                    comments: Comments::default(),
                    start: Position::default(),
                    lparen: Default::default(),
                    token: b.token.clone(),
                    line: b.line.iter().map(line).collect(),
                    rparen: Default::default(),
                }),
            })
            .collect(),
    }
}

fn file_shape(f: &File) -> File {
    File {
        syntax: shape(&f.syntax),
        ..f.clone()
    }
}

fn work_shape(f: &WorkFile) -> WorkFile {
    WorkFile {
        syntax: shape(&f.syntax),
        ..f.clone()
    }
}

/// `(file, mode, result)` as x/mod v0.19.0 gives it, file named as in read_test.go.
const VERDICTS: &[(&str, &str, Result<(), &str>)] = &[
    (
        "testdata/block.in",
        "strict",
        Err(
            "testdata/block.in:2: unknown directive: x\ntestdata/block.in:5: unknown block type: block\ntestdata/block.in:25: unknown block type: block1\ntestdata/block.in:27: unknown directive: block2\ntestdata/block.in:29: unknown block type: block3 \"w\"\ntestdata/block.in:30: unknown directive: block4\ntestdata/block.in:31: unknown directive: block5",
        ),
    ),
    ("testdata/block.in", "lax", Ok(())),
    (
        "testdata/block.in",
        "work",
        Err(
            "testdata/block.in:2: unknown directive: x\ntestdata/block.in:5: unknown block type: block\ntestdata/block.in:25: unknown block type: block1\ntestdata/block.in:27: unknown directive: block2\ntestdata/block.in:29: unknown block type: block3 \"w\"\ntestdata/block.in:30: unknown directive: block4\ntestdata/block.in:31: unknown directive: block5",
        ),
    ),
    (
        "testdata/comment.in",
        "strict",
        Err("testdata/comment.in:7: repeated module statement"),
    ),
    (
        "testdata/comment.in",
        "lax",
        Err("testdata/comment.in:7: repeated module statement"),
    ),
    (
        "testdata/comment.in",
        "work",
        Err(
            "testdata/comment.in:2: unknown directive: module\ntestdata/comment.in:7: unknown directive: module",
        ),
    ),
    ("testdata/empty.in", "strict", Ok(())),
    ("testdata/empty.in", "lax", Ok(())),
    ("testdata/empty.in", "work", Ok(())),
    ("testdata/module.in", "strict", Ok(())),
    ("testdata/module.in", "lax", Ok(())),
    (
        "testdata/module.in",
        "work",
        Err("testdata/module.in:1: unknown directive: module"),
    ),
    ("testdata/replace.in", "strict", Ok(())),
    ("testdata/replace.in", "lax", Ok(())),
    (
        "testdata/replace.in",
        "work",
        Err("testdata/replace.in:1: unknown directive: module"),
    ),
    ("testdata/replace2.in", "strict", Ok(())),
    ("testdata/replace2.in", "lax", Ok(())),
    (
        "testdata/replace2.in",
        "work",
        Err("testdata/replace2.in:1: unknown directive: module"),
    ),
    ("testdata/retract.in", "strict", Ok(())),
    ("testdata/retract.in", "lax", Ok(())),
    (
        "testdata/retract.in",
        "work",
        Err(
            "testdata/retract.in:1: unknown directive: module\ntestdata/retract.in:3: unknown directive: retract\ntestdata/retract.in:5: unknown directive: retract\ntestdata/retract.in:7: unknown block type: retract",
        ),
    ),
    (
        "testdata/block.golden",
        "strict",
        Err(
            "testdata/block.golden:2: unknown directive: x\ntestdata/block.golden:5: unknown block type: block\ntestdata/block.golden:24: unknown block type: block1\ntestdata/block.golden:27: unknown directive: block2\ntestdata/block.golden:29: unknown block type: block3 \"w\"\ntestdata/block.golden:32: unknown directive: block4\ntestdata/block.golden:34: unknown directive: block5",
        ),
    ),
    ("testdata/block.golden", "lax", Ok(())),
    (
        "testdata/block.golden",
        "work",
        Err(
            "testdata/block.golden:2: unknown directive: x\ntestdata/block.golden:5: unknown block type: block\ntestdata/block.golden:24: unknown block type: block1\ntestdata/block.golden:27: unknown directive: block2\ntestdata/block.golden:29: unknown block type: block3 \"w\"\ntestdata/block.golden:32: unknown directive: block4\ntestdata/block.golden:34: unknown directive: block5",
        ),
    ),
    (
        "testdata/comment.golden",
        "strict",
        Err("testdata/comment.golden:8: repeated module statement"),
    ),
    (
        "testdata/comment.golden",
        "lax",
        Err("testdata/comment.golden:8: repeated module statement"),
    ),
    (
        "testdata/comment.golden",
        "work",
        Err(
            "testdata/comment.golden:2: unknown directive: module\ntestdata/comment.golden:8: unknown directive: module",
        ),
    ),
    ("testdata/empty.golden", "strict", Ok(())),
    ("testdata/empty.golden", "lax", Ok(())),
    ("testdata/empty.golden", "work", Ok(())),
    ("testdata/gopkg.in.golden", "strict", Ok(())),
    ("testdata/gopkg.in.golden", "lax", Ok(())),
    (
        "testdata/gopkg.in.golden",
        "work",
        Err(
            "testdata/gopkg.in.golden:1: unknown directive: module\ntestdata/gopkg.in.golden:3: unknown block type: require",
        ),
    ),
    ("testdata/module.golden", "strict", Ok(())),
    ("testdata/module.golden", "lax", Ok(())),
    (
        "testdata/module.golden",
        "work",
        Err("testdata/module.golden:1: unknown directive: module"),
    ),
    ("testdata/replace.golden", "strict", Ok(())),
    ("testdata/replace.golden", "lax", Ok(())),
    (
        "testdata/replace.golden",
        "work",
        Err("testdata/replace.golden:1: unknown directive: module"),
    ),
    ("testdata/replace2.golden", "strict", Ok(())),
    ("testdata/replace2.golden", "lax", Ok(())),
    (
        "testdata/replace2.golden",
        "work",
        Err("testdata/replace2.golden:1: unknown directive: module"),
    ),
    ("testdata/retract.golden", "strict", Ok(())),
    ("testdata/retract.golden", "lax", Ok(())),
    (
        "testdata/retract.golden",
        "work",
        Err(
            "testdata/retract.golden:1: unknown directive: module\ntestdata/retract.golden:3: unknown directive: retract\ntestdata/retract.golden:5: unknown directive: retract\ntestdata/retract.golden:7: unknown block type: retract",
        ),
    ),
    (
        "testdata/rule1.golden",
        "strict",
        Err(
            "testdata/rule1.golden:3: repeated module statement\ntestdata/rule1.golden:5: usage: require module/path v1.2.3\ntestdata/rule1.golden:7: usage: require module/path v1.2.3",
        ),
    ),
    (
        "testdata/rule1.golden",
        "lax",
        Err(
            "testdata/rule1.golden:3: repeated module statement\ntestdata/rule1.golden:5: usage: require module/path v1.2.3\ntestdata/rule1.golden:7: usage: require module/path v1.2.3",
        ),
    ),
    (
        "testdata/rule1.golden",
        "work",
        Err(
            "testdata/rule1.golden:1: unknown directive: module\ntestdata/rule1.golden:3: unknown directive: module\ntestdata/rule1.golden:5: unknown directive: require\ntestdata/rule1.golden:7: unknown directive: require",
        ),
    ),
    (
        "testdata/work/comment.golden",
        "strict",
        Err(
            "testdata/work/comment.golden:2: unknown directive: use\ntestdata/work/comment.golden:8: unknown directive: use",
        ),
    ),
    ("testdata/work/comment.golden", "lax", Ok(())),
    ("testdata/work/comment.golden", "work", Ok(())),
    (
        "testdata/work/comment.in",
        "strict",
        Err(
            "testdata/work/comment.in:2: unknown directive: use\ntestdata/work/comment.in:7: unknown directive: use",
        ),
    ),
    ("testdata/work/comment.in", "lax", Ok(())),
    ("testdata/work/comment.in", "work", Ok(())),
    ("testdata/work/empty.golden", "strict", Ok(())),
    ("testdata/work/empty.golden", "lax", Ok(())),
    ("testdata/work/empty.golden", "work", Ok(())),
    ("testdata/work/empty.in", "strict", Ok(())),
    ("testdata/work/empty.in", "lax", Ok(())),
    ("testdata/work/empty.in", "work", Ok(())),
    (
        "testdata/work/replace.golden",
        "strict",
        Err("testdata/work/replace.golden:1: unknown directive: use"),
    ),
    ("testdata/work/replace.golden", "lax", Ok(())),
    ("testdata/work/replace.golden", "work", Ok(())),
    (
        "testdata/work/replace.in",
        "strict",
        Err("testdata/work/replace.in:1: unknown directive: use"),
    ),
    ("testdata/work/replace.in", "lax", Ok(())),
    ("testdata/work/replace.in", "work", Ok(())),
    (
        "testdata/work/replace2.golden",
        "strict",
        Err("testdata/work/replace2.golden:1: unknown directive: use"),
    ),
    ("testdata/work/replace2.golden", "lax", Ok(())),
    ("testdata/work/replace2.golden", "work", Ok(())),
    (
        "testdata/work/replace2.in",
        "strict",
        Err("testdata/work/replace2.in:1: unknown directive: use"),
    ),
    ("testdata/work/replace2.in", "lax", Ok(())),
    ("testdata/work/replace2.in", "work", Ok(())),
    (
        "testdata/work/use.golden",
        "strict",
        Err(
            "testdata/work/use.golden:1: unknown directive: use\ntestdata/work/use.golden:3: unknown block type: use",
        ),
    ),
    ("testdata/work/use.golden", "lax", Ok(())),
    ("testdata/work/use.golden", "work", Ok(())),
    (
        "testdata/work/use.in",
        "strict",
        Err(
            "testdata/work/use.in:1: unknown directive: use\ntestdata/work/use.in:3: unknown block type: use",
        ),
    ),
    ("testdata/work/use.in", "lax", Ok(())),
    ("testdata/work/use.in", "work", Ok(())),
];

fn verdict(name: &str, mode: &str) -> Result<(), &'static str> {
    VERDICTS
        .iter()
        .find(|v| v.0 == name && v.1 == mode)
        .unwrap_or_else(|| panic!("no verdict for {name} {mode}"))
        .2
}

fn golden_of(name: &str) -> String {
    let stem = name
        .strip_suffix(".in")
        .or_else(|| name.strip_suffix(".golden"))
        .expect("testdata name");
    format!("{stem}.golden")
}

#[test]
fn testdata_file_lists() {
    let dir = testdata();
    assert_eq!(
        files(&dir, "testdata/", &[".golden"]),
        [
            "testdata/block.golden",
            "testdata/comment.golden",
            "testdata/empty.golden",
            "testdata/gopkg.in.golden",
            "testdata/module.golden",
            "testdata/replace.golden",
            "testdata/replace2.golden",
            "testdata/retract.golden",
            "testdata/rule1.golden",
        ]
    );
    assert_eq!(files(&dir, "testdata/", &[".in"]).len(), 7);
    assert_eq!(files(&dir.join("work"), "testdata/work/", &[""]).len(), 10);
    // Every file has a verdict for all three parsers.
    assert_eq!(VERDICTS.len(), (9 + 7 + 10) * 3);
}

/// read_test.go's `TestPrintGolden`: golden files format to themselves.
#[test]
fn print_golden() {
    let dir = testdata();
    let names = files(&dir, "testdata/", &[".golden"]);
    let mut n = 0;
    for name in &names {
        let data = read(name);
        let f = parse_syntax(name, &data).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            String::from_utf8_lossy(&format(&f)),
            String::from_utf8_lossy(&data),
            "formatted {name} incorrectly"
        );
        n += 1;
    }
    assert_eq!(n, 9);
}

/// read_test.go's `TestPrintParse` (with the verdicts of x/mod v0.19.0), and the same
/// for `parse_lax` and `parse_work`.
#[test]
fn print_parse() {
    let dir = testdata();
    let names = files(&dir, "testdata/", &[".in", ".golden"]);
    assert_eq!(names.len(), 16);
    for name in &names {
        check_print_parse(name, false);
    }
}

/// work_test.go's `TestWorkPrintParse`, and the same for the go.mod parsers.
#[test]
fn work_print_parse() {
    let dir = testdata();
    let names = files(&dir.join("work"), "testdata/work/", &[""]);
    assert_eq!(names.len(), 10);
    for name in &names {
        check_print_parse(name, true);
    }
}

fn check_print_parse(name: &str, work: bool) {
    let data = read(name);
    let f = parse_syntax(name, &data).unwrap_or_else(|e| panic!("parsing original {name}: {e}"));
    let mut ndata = format(&f);
    let f2 = parse_syntax(name, &ndata).unwrap_or_else(|e| panic!("reparsing {name}: {e}"));
    assert_eq!(
        shape(&f),
        shape(&f2),
        "not equal (parse/Format/parse): {name}"
    );
    let golden = read(&golden_of(name));

    // Strict go.mod parsing (the main check of TestPrintParse).
    let strict = modfile::parse(name, &data, None);
    assert_eq!(
        strict.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        verdict(name, "strict").map_err(str::to_string),
        "Parse {name}"
    );
    if let Ok(pf1) = &strict {
        let pf2 = modfile::parse(name, &ndata, None).expect("parsing reformatted");
        assert_eq!(
            file_shape(pf1),
            file_shape(&pf2),
            "parse/Format/Parse: {name}"
        );
        let ndata2 = pf1.format();
        let pf3 = modfile::parse(name, &ndata2, None).expect("parsing reformatted2");
        assert_eq!(
            file_shape(pf1),
            file_shape(&pf3),
            "Parse/Format/Parse: {name}"
        );
        ndata = ndata2;
    }
    if name.ends_with(".in") && !work {
        assert_eq!(
            String::from_utf8_lossy(&ndata),
            String::from_utf8_lossy(&golden),
            "formatted {name} incorrectly"
        );
    }

    // Lax parsing: it leaves replace lines alone, so they keep their quotes.
    let lax = modfile::parse_lax(name, &data, None);
    assert_eq!(
        lax.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        verdict(name, "lax").map_err(str::to_string),
        "ParseLax {name}"
    );
    if let Ok(pf) = &lax {
        // x/mod v0.19.0's ParseLax output where it is not the golden file.
        let uncanonical: &[(&str, &str)] = &[
            (
                "testdata/replace.in",
                "module abc\n\nreplace \"xyz\" v1.2.3 => \"/tmp/z\"\n\nreplace \"xyz\" v1.3.4 => \"my/xyz\" v1.3.4-me\n\nreplace (\n\t\"w\" v1.0.0 => \"./a,\"\n\t\"w\" v1.0.1 => \"./a()\"\n\t\"w\" v1.0.2 => \"./a[]\"\n\t\"w\" v1.0.3 => \"./a{}\"\n)\n",
            ),
            (
                "testdata/replace2.in",
                "module abc\n\nreplace (\n\t\"xyz\" v1.2.3 => \"/tmp/z\"\n\t\"xyz\" v1.3.4 => \"my/xyz\" \"v1.3.4-me\"\n\txyz \"v1.4.5\" => \"/tmp/my dir\"\n\txyz v1.5.6 => my/xyz v1.5.6\n\n\txyz => my/other/xyz v1.5.4\n)\n",
            ),
            (
                "testdata/work/comment.in",
                "// comment\nuse \"x\" // eol\n\n// mid comment\n\n// comment 2\n// comment 2 line 2\nuse \"y\" // eoy\n\n// comment 3\n",
            ),
            (
                "testdata/work/replace.in",
                "use \"abc\"\n\nreplace \"xyz\" v1.2.3 => \"/tmp/z\"\n\nreplace \"xyz\" v1.3.4 => \"my/xyz\" v1.3.4-me\n\nreplace (\n\t\"w\" v1.0.0 => \"./a,\"\n\t\"w\" v1.0.1 => \"./a()\"\n\t\"w\" v1.0.2 => \"./a[]\"\n\t\"w\" v1.0.3 => \"./a{}\"\n)\n",
            ),
            (
                "testdata/work/replace2.in",
                "use \"abc\"\n\nreplace (\n\t\"xyz\" v1.2.3 => \"/tmp/z\"\n\t\"xyz\" v1.3.4 => \"my/xyz\" \"v1.3.4-me\"\n\txyz \"v1.4.5\" => \"/tmp/my dir\"\n\txyz v1.5.6 => my/xyz v1.5.6\n\n\txyz => my/other/xyz v1.5.4\n)\n",
            ),
            (
                "testdata/work/use.in",
                "use \"../foo\"\n\nuse (\n\t\"/bar\"\n\n\t\"baz\"\n)\n",
            ),
        ];
        let want = match uncanonical.iter().find(|u| u.0 == name) {
            Some(u) => u.1.as_bytes().to_vec(),
            None => golden.clone(),
        };
        assert_eq!(
            String::from_utf8_lossy(&pf.format()),
            String::from_utf8_lossy(&want),
            "ParseLax/Format {name}"
        );
    }

    // go.work parsing.
    let w = modfile::parse_work(name, &data, None);
    assert_eq!(
        w.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        verdict(name, "work").map_err(str::to_string),
        "ParseWork {name}"
    );
    if let Ok(pf1) = &w {
        let pf2 = modfile::parse_work(name, &format(&f), None).expect("parsing reformatted");
        assert_eq!(
            work_shape(pf1),
            work_shape(&pf2),
            "parse/Format/ParseWork: {name}"
        );
        let ndata2 = pf1.format();
        let pf3 = modfile::parse_work(name, &ndata2, None).expect("parsing reformatted2");
        assert_eq!(
            work_shape(pf1),
            work_shape(&pf3),
            "ParseWork/Format/ParseWork: {name}"
        );
        assert_eq!(
            String::from_utf8_lossy(&ndata2),
            String::from_utf8_lossy(&golden),
            "ParseWork/Format {name}"
        );
    }
}
