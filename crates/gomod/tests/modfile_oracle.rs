//! Differential cases: every input in `modfile_oracle/cases.py` was run through
//! golang.org/x/mod/modfile v0.19.0 (`Parse`, `ParseLax`, `ParseWork`; see
//! `modfile_oracle/gen.py`), and our results must be the same to the byte: the
//! formatted file on success, the error list text on failure.

use gomod::modfile;

const CASES: &[(&str, &str, &str, &str)] = include!("modfile_oracle/cases.inc");

#[test]
fn same_results_as_x_mod_v0_19_0() {
    assert_eq!(CASES.len(), 945);
    let mut failures = Vec::new();
    for &(mode, input, verdict, want) in CASES {
        let got = match mode {
            "strict" => modfile::parse("go.mod", input.as_bytes(), None).map(|f| f.format()),
            "lax" => modfile::parse_lax("go.mod", input.as_bytes(), None).map(|f| f.format()),
            "work" => modfile::parse_work("go.mod", input.as_bytes(), None).map(|f| f.format()),
            other => panic!("unknown mode {other}"),
        };
        let (got_verdict, got_text) = match got {
            Ok(b) => (
                "OK",
                String::from_utf8(b).expect("formatted output is UTF-8"),
            ),
            Err(e) => ("ERR", e.to_string()),
        };
        if (got_verdict, got_text.as_str()) != (verdict, want) {
            failures.push(format!(
                "{mode} {input:?}:\n  want {verdict} {want:?}\n  got  {got_verdict} {got_text:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
