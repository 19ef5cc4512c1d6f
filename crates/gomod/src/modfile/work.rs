//! go.work files (work.go): `go`, `toolchain`, `godebug`, `use` and `replace`.

use super::read::parse_syntax;
use super::rule::{
    Fix, Go, Godebug, Replace, SharedDirectives, Toolchain, parse_replace, parse_string,
};
use super::syntax::{Expr, FileSyntax, Line, LineRef};
use super::{Error, Errors, VersionFixer, print};

/// A parsed, interpreted go.work file (Go's `modfile.WorkFile`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkFile {
    /// The `go` directive.
    pub go: Option<Go>,
    /// The `toolchain` directive.
    pub toolchain: Option<Toolchain>,
    /// The `godebug` directives, in order.
    pub godebug: Vec<Godebug>,
    /// The `use` directives, in order.
    pub use_: Vec<Use>,
    /// The `replace` directives, in order.
    pub replace: Vec<Replace>,
    /// The syntax tree, with tokens rewritten in canonical form.
    pub syntax: FileSyntax,
}

/// One `use` directive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Use {
    /// The directory, as written (unquoted).
    pub path: String,
    /// The module path from a comment; never set by parsing (as in Go).
    pub module_path: String,
    /// The directive's line.
    pub syntax: LineRef,
}

impl WorkFile {
    /// Formats the file in standard style.
    pub fn format(&self) -> Vec<u8> {
        print::format(&self.syntax)
    }
}

/// Parses a go.work file (Go's `modfile.ParseWork`); `file` and `fix` as in
/// [`super::parse`]. The `go` version is always checked strictly.
pub fn parse_work(
    file: &str,
    data: &[u8],
    fix: Option<VersionFixer<'_>>,
) -> Result<WorkFile, Errors> {
    let mut fs = parse_syntax(file, data)?;
    let mut f = WorkFile::default();
    let mut errs: Vec<Error> = Vec::new();
    let fx = Fix::from(fix);
    let unknown = |x: &super::LineBlock| {
        Error::at(
            file,
            x.start,
            format!("unknown block type: {}", x.token.join(" ")),
        )
    };

    for (i, x) in fs.stmt.iter_mut().enumerate() {
        match x {
            Expr::CommentBlock(_) => {}
            Expr::Line(x) => {
                let verb = x.token.first().cloned().unwrap_or_default();
                let at = LineRef {
                    stmt: i,
                    line: None,
                };
                f.add(file, &mut errs, x, at, &verb, 1, fx);
            }
            Expr::LineBlock(x) => {
                if x.token.len() != 1 {
                    errs.push(unknown(x));
                    continue;
                }
                let verb = x.token[0].clone();
                if !matches!(verb.as_str(), "godebug" | "use" | "replace") {
                    errs.push(unknown(x));
                    continue;
                }
                for (j, l) in x.line.iter_mut().enumerate() {
                    let at = LineRef {
                        stmt: i,
                        line: Some(j),
                    };
                    f.add(file, &mut errs, l, at, &verb, 0, fx);
                }
            }
        }
    }
    if !errs.is_empty() {
        return Err(Errors(errs));
    }
    f.syntax = fs;
    Ok(f)
}

impl WorkFile {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        filename: &str,
        errs: &mut Vec<Error>,
        line: &mut Line,
        at: LineRef,
        verb: &str,
        first_arg: usize,
        fix: Fix<'_>,
    ) {
        let start = line.start;
        let errorf = |errs: &mut Vec<Error>, m: String| errs.push(Error::at(filename, start, m));
        let args: &mut [String] = line.token.get_mut(first_arg..).unwrap_or_default();
        let shared = SharedDirectives {
            go: &mut self.go,
            toolchain: &mut self.toolchain,
            godebug: &mut self.godebug,
        };
        // The `go` version is always checked strictly.
        match shared.add(verb, args, at, true) {
            Some(Ok(())) => return,
            Some(Err(e)) => return errorf(errs, e),
            None => {}
        }
        match verb {
            "use" => {
                if args.len() != 1 {
                    return errorf(errs, format!("usage: {verb} local/dir"));
                }
                match parse_string(&mut args[0]) {
                    Ok(path) => self.use_.push(Use {
                        path,
                        module_path: String::new(),
                        syntax: at,
                    }),
                    Err(e) => errorf(errs, format!("invalid quoted string: {e}")),
                }
            }
            "replace" => match parse_replace(filename, start, verb, args, fix, at) {
                Ok(r) => self.replace.push(r),
                Err(e) => errs.push(*e),
            },
            _ => errorf(errs, format!("unknown directive: {verb}")),
        }
    }
}
