//! The typed go.mod file (rule.go): directives interpreted from the syntax tree.

use super::quote::auto_quote;
use super::read::parse_syntax;
use super::syntax::{Comments, Expr, FileSyntax, Line, LineRef, Position};
use super::{Cause, Error, Errors, VersionFixer, print};
use crate::gostr::{quote, unquote};
use crate::module::{self, Version};

/// A parsed, interpreted go.mod file (Go's `modfile.File`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct File {
    /// The `module` directive.
    pub module: Option<Module>,
    /// The `go` directive.
    pub go: Option<Go>,
    /// The `toolchain` directive.
    pub toolchain: Option<Toolchain>,
    /// The `godebug` directives, in order.
    pub godebug: Vec<Godebug>,
    /// The `require` directives, in order.
    pub require: Vec<Require>,
    /// The `exclude` directives, in order.
    pub exclude: Vec<Exclude>,
    /// The `replace` directives, in order.
    pub replace: Vec<Replace>,
    /// The `retract` directives, in order.
    pub retract: Vec<Retract>,
    /// The syntax tree, with tokens rewritten in canonical form.
    pub syntax: FileSyntax,
}

/// The `module` directive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Module {
    /// The module path (version empty).
    pub mod_: Version,
    /// The deprecation message from a `// Deprecated:` comment paragraph, or `""`.
    pub deprecated: String,
    /// The directive's line.
    pub syntax: LineRef,
}

/// The `go` directive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Go {
    /// The Go version, like `1.23` or `1.21.0` or `1.21rc1`.
    pub version: String,
    /// The directive's line.
    pub syntax: LineRef,
}

/// The `toolchain` directive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Toolchain {
    /// The toolchain name, like `go1.21rc1` or `default`.
    pub name: String,
    /// The directive's line.
    pub syntax: LineRef,
}

/// One `godebug key=value` directive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Godebug {
    /// The key (before the first `=`).
    pub key: String,
    /// The value (after the first `=`).
    pub value: String,
    /// The directive's line.
    pub syntax: LineRef,
}

/// One `require` directive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Require {
    /// The required module and version.
    pub mod_: Version,
    /// Whether the line has a `// indirect` comment.
    pub indirect: bool,
    /// The directive's line.
    pub syntax: LineRef,
}

/// One `exclude` directive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exclude {
    /// The excluded module version.
    pub mod_: Version,
    /// The directive's line.
    pub syntax: LineRef,
}

/// One `replace` directive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Replace {
    /// The replaced module; an empty version replaces all versions.
    pub old: Version,
    /// The replacement: a module version, or a directory path with an empty version.
    pub new: Version,
    /// The directive's line.
    pub syntax: LineRef,
}

/// A closed interval of versions; `low == high` for a single version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct VersionInterval {
    /// The lower bound.
    pub low: String,
    /// The upper bound.
    pub high: String,
}

/// One `retract` directive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Retract {
    /// The retracted versions.
    pub interval: VersionInterval,
    /// The comment text on the directive (or on its block).
    pub rationale: String,
    /// The directive's line.
    pub syntax: LineRef,
}

impl File {
    /// Formats the file in standard style (Go's `File.Format`).
    pub fn format(&self) -> Vec<u8> {
        print::format(&self.syntax)
    }
}

/// How versions are fixed: Go passes a `VersionFixer` or nil, and the retract
/// directives are first read with an identity fixer (`dontFixRetract`).
#[derive(Clone, Copy)]
pub(crate) enum Fix<'a> {
    Canonical,
    Identity,
    Fixer(VersionFixer<'a>),
}

impl<'a> Fix<'a> {
    pub(crate) fn from(fix: Option<VersionFixer<'a>>) -> Self {
        fix.map_or(Fix::Canonical, Fix::Fixer)
    }
}

/// Parses a go.mod file strictly (Go's `modfile.Parse`): unknown directives and
/// blocks are errors.
///
/// `file` names the file in errors. Without `fix`, every version must already be
/// canonical ([`module::canonical_version`] must return it unchanged; retract versions
/// are not checked, as in Go). With `fix`, it maps `(module path, version)` to the
/// version to use; its error message is reported as `file:line: message`.
pub fn parse(file: &str, data: &[u8], fix: Option<VersionFixer<'_>>) -> Result<File, Errors> {
    parse_to_file(file, data, fix, true)
}

/// Like [`parse`], but ignores unknown directives and blocks and the main-module-only
/// directives (`toolchain`, `godebug`, `exclude`, `replace`), accepts lax go versions
/// such as `1.21beta1` or `v1.2.x` (recorded as `1.21`, `1.2`), and ignores
/// unparseable retractions (Go's `modfile.ParseLax`, used for dependencies' go.mod).
pub fn parse_lax(file: &str, data: &[u8], fix: Option<VersionFixer<'_>>) -> Result<File, Errors> {
    parse_to_file(file, data, fix, false)
}

fn unknown_block(file: &str, start: Position, token: &[String]) -> Error {
    Error::at(
        file,
        start,
        format!("unknown block type: {}", token.join(" ")),
    )
}

fn parse_to_file(
    file: &str,
    data: &[u8],
    fix: Option<VersionFixer<'_>>,
    strict: bool,
) -> Result<File, Errors> {
    let mut fs = parse_syntax(file, data)?;
    let mut f = File::default();
    let mut errs: Vec<Error> = Vec::new();
    let fx = Fix::from(fix);

    for (i, x) in fs.stmt.iter_mut().enumerate() {
        match x {
            Expr::CommentBlock(_) => {}
            Expr::Line(x) => {
                let verb = x.token.first().cloned().unwrap_or_default();
                let at = LineRef {
                    stmt: i,
                    line: None,
                };
                f.add(file, &mut errs, None, x, at, &verb, 1, fx, strict);
            }
            Expr::LineBlock(x) => {
                if x.token.len() != 1 {
                    if strict {
                        errs.push(unknown_block(file, x.start, &x.token));
                    }
                    continue;
                }
                let verb = x.token[0].clone();
                match verb.as_str() {
                    "module" | "godebug" | "require" | "exclude" | "replace" | "retract" => {
                        for (j, l) in x.line.iter_mut().enumerate() {
                            let at = LineRef {
                                stmt: i,
                                line: Some(j),
                            };
                            f.add(
                                file,
                                &mut errs,
                                Some(&x.comments),
                                l,
                                at,
                                &verb,
                                0,
                                fx,
                                strict,
                            );
                        }
                    }
                    _ => {
                        if strict {
                            errs.push(unknown_block(file, x.start, &x.token));
                        }
                    }
                }
            }
        }
    }

    // Go fixes retract versions afterwards: it needs the module path, which may come last.
    f.syntax = fs;
    f.fix_retract(file, fix, &mut errs);
    if !errs.is_empty() {
        return Err(Errors(errs));
    }
    Ok(f)
}

/// Go's `GoVersionRE`: `^([1-9][0-9]*)\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?([a-z]+[0-9]+)?$`,
/// the go versions a strictly parsed `go` directive accepts (`1.21`, `1.21.0`, `1.21rc1`).
pub fn is_go_version(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(i) = scan_num(b, 0, false) else {
        return false;
    };
    if b.get(i) != Some(&b'.') {
        return false;
    }
    let Some(mut i) = scan_num(b, i + 1, true) else {
        return false;
    };
    if b.get(i) == Some(&b'.') {
        match scan_num(b, i + 1, true) {
            Some(j) => i = j,
            None => return false,
        }
    }
    let rest = &b[i..];
    if rest.is_empty() {
        return true;
    }
    let letters = rest.iter().take_while(|c| c.is_ascii_lowercase()).count();
    let digits = rest[letters..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    letters > 0 && digits > 0 && letters + digits == rest.len()
}

/// Scans `[1-9][0-9]*` (or also `0` when `zero`) at `i`; returns the end.
fn scan_num(b: &[u8], i: usize, zero: bool) -> Option<usize> {
    match b.get(i) {
        Some(b'0') if zero => Some(i + 1),
        Some(b'1'..=b'9') => {
            Some(i + 1 + b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count())
        }
        _ => None,
    }
}

/// Go's `laxGoVersionRE`, `^v?(([1-9][0-9]*)\.(0|[1-9][0-9]*))([^0-9].*)$`: the
/// `major.minor` prefix it captures.
fn lax_go_version(s: &str) -> Option<String> {
    let t = s.strip_prefix('v').unwrap_or(s);
    let b = t.as_bytes();
    let i = scan_num(b, 0, false)?;
    if b.get(i) != Some(&b'.') {
        return None;
    }
    let j = scan_num(b, i + 1, true)?;
    let mut rest = t[j..].chars();
    match rest.next() {
        Some(c) if !c.is_ascii_digit() => {}
        _ => return None,
    }
    // `.` does not match a newline.
    if rest.as_str().contains('\n') {
        return None;
    }
    Some(t[..j].to_string())
}

/// Go's `ToolchainRE`, `^default$|^go1($|\.)`: names a `toolchain` directive accepts.
pub fn is_toolchain_name(s: &str) -> bool {
    s == "default" || s == "go1" || s.starts_with("go1.")
}

/// Reports whether a replacement path is a directory path rather than a module path:
/// `.`/`..` relative paths and rooted paths, in Unix or Windows syntax (Go's
/// `IsDirectoryPath`).
pub fn is_directory_path(ns: &str) -> bool {
    let b = ns.as_bytes();
    ns == "."
        || ns.starts_with("./")
        || ns.starts_with(".\\")
        || ns == ".."
        || ns.starts_with("../")
        || ns.starts_with("..\\")
        || ns.starts_with('/')
        || ns.starts_with('\\')
        || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
}

/// Go's `isIndirect`: the first suffix comment is `// indirect` or `// indirect; …`.
fn is_indirect(line: &Line) -> bool {
    let Some(c) = line.comments.suffix.first() else {
        return false;
    };
    let t = c.token.strip_prefix("//").unwrap_or(&c.token);
    let f: Vec<&str> = t.split_whitespace().collect();
    (f.len() == 1 && f[0] == "indirect") || (f.len() > 1 && f[0] == "indirect;")
}

/// Go's `parseString`: unquotes a `"…"` token, rejects other quotes, and rewrites the
/// token as [`auto_quote`] of the value.
pub(crate) fn parse_string(s: &mut String) -> Result<String, String> {
    let t = if s.starts_with('"') {
        unquote(s).map_err(str::to_string)?
    } else if s.contains(['"', '\'', '`']) {
        return Err("unquoted string cannot contain quote".to_string());
    } else {
        s.clone()
    };
    *s = auto_quote(&t);
    Ok(t)
}

fn nested(verb: &str, path: &str, err: module::Error) -> Cause {
    Cause::Nested(Box::new(Error {
        filename: String::new(),
        pos: Position::default(),
        verb: verb.to_string(),
        mod_path: path.to_string(),
        err: Cause::Module(err),
    }))
}

/// Go's `parseVersion`: unquotes, fixes or canonicalizes, and rewrites the token.
pub(crate) fn parse_version(
    verb: &str,
    path: &str,
    s: &mut String,
    fix: Fix<'_>,
) -> Result<String, Cause> {
    let t = match parse_string(s) {
        Ok(t) => t,
        Err(e) => {
            return Err(nested(
                verb,
                path,
                module::Error::invalid_version(s.clone(), false, module::Error::msg(e)),
            ));
        }
    };
    let t = match fix {
        Fix::Identity => t,
        Fix::Fixer(fix) => fix(path, &t).map_err(Cause::Msg)?,
        Fix::Canonical => {
            let cv = module::canonical_version(&t);
            if cv.is_empty() {
                return Err(nested(
                    verb,
                    path,
                    module::Error::invalid_version(
                        t,
                        false,
                        module::Error::msg("must be of the form v1.2.3"),
                    ),
                ));
            }
            cv
        }
    };
    s.clone_from(&t);
    Ok(t)
}

fn module_path_major(path: &str) -> Result<String, String> {
    module::split_path_version(path)
        .map(|(_, major)| major)
        .ok_or_else(|| "invalid module path".to_string())
}

/// Go's `parseVersionInterval`: a version or `[low, high]` at the start of `toks`;
/// also returns how many tokens it used.
fn parse_version_interval(
    verb: &str,
    path: &str,
    toks: &mut [String],
    fix: Fix<'_>,
) -> Result<(VersionInterval, usize), Cause> {
    let msg = |m: &str| Cause::Msg(m.to_string());
    match toks.first().map(String::as_str) {
        None | Some("(") => return Err(msg("expected '[' or version")),
        Some("[") => {}
        Some(_) => {
            let v = parse_version(verb, path, &mut toks[0], fix)?;
            return Ok((
                VersionInterval {
                    low: v.clone(),
                    high: v,
                },
                1,
            ));
        }
    }
    let low = match toks.get_mut(1) {
        None => return Err(msg("expected version after '['")),
        Some(t) => parse_version(verb, path, t, fix)?,
    };
    if toks.get(2).map(String::as_str) != Some(",") {
        return Err(msg("expected ',' after version"));
    }
    let high = match toks.get_mut(3) {
        None => return Err(msg("expected version after ','")),
        Some(t) => parse_version(verb, path, t, fix)?,
    };
    if toks.get(4).map(String::as_str) != Some("]") {
        return Err(msg("expected ']' after version"));
    }
    Ok((VersionInterval { low, high }, 5))
}

/// Go's `parseDirectiveComment`: the text of the comments on a directive, or of its
/// block's comments when the line has none.
fn parse_directive_comment(block: Option<&Comments>, line: &Comments) -> String {
    let mut comments = line;
    if let Some(b) = block
        && line.before.is_empty()
        && line.suffix.is_empty()
    {
        comments = b;
    }
    let mut lines: Vec<&str> = Vec::new();
    for c in comments.before.iter().chain(comments.suffix.iter()) {
        if let Some(t) = c.token.strip_prefix("//") {
            lines.push(t.trim());
        }
    }
    lines.join("\n")
}

/// Go's `deprecatedRE`, `(?s)(?:^|\n\n)Deprecated: *(.*?)(?:$|\n\n)`: the first
/// paragraph starting with `Deprecated:`, without that prefix.
fn parse_deprecation(text: &str) -> String {
    const P: &str = "Deprecated:";
    let start = if text.starts_with(P) {
        P.len()
    } else if let Some(k) = text.find("\n\nDeprecated:") {
        k + 2 + P.len()
    } else {
        return String::new();
    };
    let rest = text[start..].trim_start_matches(' ');
    match rest.find("\n\n") {
        Some(e) => rest[..e].to_string(),
        None => rest.to_string(),
    }
}

/// Parses a `replace` directive's arguments (Go's `parseReplace`), shared with go.work.
pub(crate) fn parse_replace(
    filename: &str,
    start: Position,
    verb: &str,
    args: &mut [String],
    fix: Fix<'_>,
    at: LineRef,
) -> Result<Replace, Box<Error>> {
    let wrap = |err: Cause| {
        Box::new(Error {
            filename: filename.to_string(),
            pos: start,
            verb: String::new(),
            mod_path: String::new(),
            err,
        })
    };
    let wrap_mod = |path: &str, err: Cause| {
        Box::new(Error {
            filename: filename.to_string(),
            pos: start,
            verb: verb.to_string(),
            mod_path: path.to_string(),
            err,
        })
    };
    let errorf = |m: String| wrap(Cause::Msg(m));

    let arrow = if args.len() >= 2 && args[1] == "=>" {
        1
    } else {
        2
    };
    if args.len() < arrow + 2 || args.len() > arrow + 3 || args[arrow] != "=>" {
        return Err(errorf(format!(
            "usage: {verb} module/path [v1.2.3] => other/module v1.4\n\t or {verb} module/path [v1.2.3] => ../local/directory"
        )));
    }
    let s =
        parse_string(&mut args[0]).map_err(|e| errorf(format!("invalid quoted string: {e}")))?;
    let path_major = module_path_major(&s).map_err(|e| wrap_mod(&s, Cause::Msg(e)))?;
    let mut v = String::new();
    if arrow == 2 {
        v = parse_version(verb, &s, &mut args[1], fix).map_err(wrap)?;
        module::check_path_major(&v, &path_major).map_err(|e| wrap_mod(&s, Cause::Module(e)))?;
    }
    let ns = parse_string(&mut args[arrow + 1])
        .map_err(|e| errorf(format!("invalid quoted string: {e}")))?;
    let mut nv = String::new();
    if args.len() == arrow + 2 {
        if !is_directory_path(&ns) {
            if ns.contains('@') {
                return Err(errorf(
                    "replacement module must match format 'path version', not 'path@version'"
                        .to_string(),
                ));
            }
            return Err(errorf(
                "replacement module without version must be directory path (rooted or starting with . or ..)"
                    .to_string(),
            ));
        }
        // As on a non-Windows system.
        if ns.contains('\\') {
            return Err(errorf(
                "replacement directory appears to be Windows path (on a non-windows system)"
                    .to_string(),
            ));
        }
    }
    if args.len() == arrow + 3 {
        nv = parse_version(verb, &ns, &mut args[arrow + 2], fix).map_err(wrap)?;
        if is_directory_path(&ns) {
            return Err(errorf(format!(
                "replacement module directory path {} cannot have version",
                quote(&ns)
            )));
        }
    }
    Ok(Replace {
        old: Version::new(s, v),
        new: Version::new(ns, nv),
        syntax: at,
    })
}

/// Go's `godebug` argument check: `key=value`, no quotes or commas.
fn parse_godebug(args: &[String]) -> Option<(String, String)> {
    if args.len() != 1 || args[0].contains(['"', '`', '\'', ',']) {
        return None;
    }
    let (k, v) = args[0].split_once('=')?;
    Some((k.to_string(), v.to_string()))
}

/// The checks of the `go` directive shared by go.mod and go.work: the version to
/// record (rewritten in the token when lax parsing fixed it), or the error message.
fn check_go(args: &mut [String], strict: bool) -> Result<String, String> {
    if args.len() != 1 {
        return Err("go directive expects exactly one argument".to_string());
    }
    if !is_go_version(&args[0]) {
        let fixed = if strict {
            None
        } else {
            lax_go_version(&args[0])
        };
        match fixed {
            Some(v) => args[0] = v,
            None => {
                return Err(format!(
                    "invalid go version '{}': must match format 1.23.0",
                    args[0]
                ));
            }
        }
    }
    Ok(args[0].clone())
}

/// The checks of the `toolchain` directive shared by go.mod and go.work.
fn check_toolchain(args: &[String]) -> Result<String, String> {
    if args.len() != 1 {
        return Err("toolchain directive expects exactly one argument".to_string());
    }
    if !is_toolchain_name(&args[0]) {
        return Err(format!(
            "invalid toolchain version '{}': must match format go1.23.0 or default",
            args[0]
        ));
    }
    Ok(args[0].clone())
}

/// An error at `pos` in `filename` about no particular directive or module.
fn error_at(filename: &str, pos: Position, err: Cause) -> Box<Error> {
    Box::new(Error {
        filename: filename.to_string(),
        pos,
        verb: String::new(),
        mod_path: String::new(),
        err,
    })
}

/// Parses the arguments of a `require` or `exclude` line (`verb`), `module/path v1.2.3`,
/// rewriting the tokens in canonical form.
fn parse_require(
    filename: &str,
    start: Position,
    verb: &str,
    args: &mut [String],
    fix: Fix<'_>,
) -> Result<Version, Box<Error>> {
    let errorf = |m: String| Box::new(Error::at(filename, start, m));
    if args.len() != 2 {
        return Err(errorf(format!("usage: {verb} module/path v1.2.3")));
    }
    let s =
        parse_string(&mut args[0]).map_err(|e| errorf(format!("invalid quoted string: {e}")))?;
    let v = parse_version(verb, &s, &mut args[1], fix).map_err(|e| error_at(filename, start, e))?;
    let path_major = module_path_major(&s).map_err(errorf)?;
    if let Err(e) = module::check_path_major(&v, &path_major) {
        return Err(Box::new(Error {
            filename: filename.to_string(),
            pos: start,
            verb: verb.to_string(),
            mod_path: s,
            err: Cause::Module(e),
        }));
    }
    Ok(Version::new(s, v))
}

/// The directives go.mod and go.work share (`go`, `toolchain`, `godebug`): the fields
/// of a [`File`] or [`super::WorkFile`] that record them.
pub(crate) struct SharedDirectives<'a> {
    /// The `go` directive.
    pub(crate) go: &'a mut Option<Go>,
    /// The `toolchain` directive.
    pub(crate) toolchain: &'a mut Option<Toolchain>,
    /// The `godebug` directives.
    pub(crate) godebug: &'a mut Vec<Godebug>,
}

impl SharedDirectives<'_> {
    /// Records a `go`, `toolchain` or `godebug` line with arguments `args` (`strict` as
    /// in [`check_go`]): `None` for any other verb, else `Ok` or the error message.
    pub(crate) fn add(
        self,
        verb: &str,
        args: &mut [String],
        at: LineRef,
        strict: bool,
    ) -> Option<Result<(), String>> {
        Some(match verb {
            "go" if self.go.is_some() => Err("repeated go statement".to_string()),
            "go" => check_go(args, strict).map(|version| {
                *self.go = Some(Go {
                    version,
                    syntax: at,
                });
            }),
            "toolchain" if self.toolchain.is_some() => {
                Err("repeated toolchain statement".to_string())
            }
            "toolchain" => check_toolchain(args).map(|name| {
                *self.toolchain = Some(Toolchain { name, syntax: at });
            }),
            "godebug" => match parse_godebug(args) {
                Some((key, value)) => {
                    self.godebug.push(Godebug {
                        key,
                        value,
                        syntax: at,
                    });
                    Ok(())
                }
                None => Err("usage: godebug key=value".to_string()),
            },
            _ => return None,
        })
    }
}

impl File {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        filename: &str,
        errs: &mut Vec<Error>,
        block: Option<&Comments>,
        line: &mut Line,
        at: LineRef,
        verb: &str,
        first_arg: usize,
        fix: Fix<'_>,
        strict: bool,
    ) {
        // Dependencies' go.mod files: only these directives matter.
        if !strict && !matches!(verb, "go" | "module" | "retract" | "require") {
            return;
        }
        let start = line.start;
        let errorf = |m: String| Box::new(Error::at(filename, start, m));
        let directive_comment = parse_directive_comment(block, &line.comments);
        let indirect = is_indirect(line);
        let args: &mut [String] = line.token.get_mut(first_arg..).unwrap_or_default();

        let shared = SharedDirectives {
            go: &mut self.go,
            toolchain: &mut self.toolchain,
            godebug: &mut self.godebug,
        };
        let result = match shared.add(verb, args, at, strict) {
            Some(r) => r.map_err(errorf),
            None => match verb {
                "module" => self
                    .add_module(args, &directive_comment, at)
                    .map_err(errorf),
                "require" => parse_require(filename, start, verb, args, fix).map(|mod_| {
                    self.require.push(Require {
                        mod_,
                        indirect,
                        syntax: at,
                    });
                }),
                "exclude" => parse_require(filename, start, verb, args, fix)
                    .map(|mod_| self.exclude.push(Exclude { mod_, syntax: at })),
                "replace" => parse_replace(filename, start, verb, args, fix, at)
                    .map(|r| self.replace.push(r)),
                "retract" => self
                    .add_retract(args, strict, directive_comment, at)
                    .map_err(|e| error_at(filename, start, e)),
                _ => Err(errorf(format!("unknown directive: {verb}"))),
            },
        };
        if let Err(e) = result {
            errs.push(*e);
        }
    }

    /// Records a `module` line with arguments `args`, deprecated as `comment` says.
    /// The directive is recorded even when its path is bad; `Err` is the message.
    fn add_module(
        &mut self,
        args: &mut [String],
        comment: &str,
        at: LineRef,
    ) -> Result<(), String> {
        if self.module.is_some() {
            return Err("repeated module statement".to_string());
        }
        let m = self.module.insert(Module {
            mod_: Version::default(),
            deprecated: parse_deprecation(comment),
            syntax: at,
        });
        if args.len() != 1 {
            return Err("usage: module module/path".to_string());
        }
        let s = parse_string(&mut args[0]).map_err(|e| format!("invalid quoted string: {e}"))?;
        m.mod_ = Version::new(s, "");
        Ok(())
    }

    /// Records a `retract` line with arguments `args` and rationale `rationale`. Only the
    /// main module (`strict`) reports unparseable intervals and extra tokens: later
    /// syntax (open intervals, say) must not break dependencies.
    fn add_retract(
        &mut self,
        args: &mut [String],
        strict: bool,
        rationale: String,
        at: LineRef,
    ) -> Result<(), Cause> {
        let (interval, used) = match parse_version_interval("retract", "", args, Fix::Identity) {
            Ok(x) => x,
            Err(e) if strict => return Err(e),
            Err(_) => return Ok(()),
        };
        if let Some(extra) = args.get(used)
            && strict
        {
            return Err(Cause::Msg(format!(
                "unexpected token after version: {}",
                quote(extra)
            )));
        }
        self.retract.push(Retract {
            interval,
            rationale,
            syntax: at,
        });
        Ok(())
    }

    /// Go's `fixRetract`: applies `fix` to retract versions once the module path is known.
    fn fix_retract(
        &mut self,
        filename: &str,
        fix: Option<VersionFixer<'_>>,
        errs: &mut Vec<Error>,
    ) {
        let Some(fix) = fix else { return };
        let path = self
            .module
            .as_ref()
            .map(|m| m.mod_.path.clone())
            .unwrap_or_default();
        for r in &mut self.retract {
            let Some(line) = self.syntax.line_mut(r.syntax) else {
                continue;
            };
            let start = line.start;
            if path.is_empty() {
                errs.push(Error::at(
                    filename,
                    start,
                    "no module directive found, so retract cannot be used",
                ));
                return; // only the first one
            }
            let skip = usize::from(line.token.first().is_some_and(|t| t == "retract"));
            let args = line.token.get_mut(skip..).unwrap_or_default();
            match parse_version_interval("retract", &path, args, Fix::Fixer(fix)) {
                Ok((vi, _)) => r.interval = vi,
                Err(e) => {
                    errs.push(Error {
                        filename: filename.to_string(),
                        pos: start,
                        verb: String::new(),
                        mod_path: String::new(),
                        err: e,
                    });
                    r.interval = VersionInterval::default();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_version_re() {
        for ok in [
            "1.21",
            "1.21.0",
            "1.21rc1",
            "1.0",
            "10.100.1000beta22",
            "1.2.0rc1",
        ] {
            assert!(is_go_version(ok), "{ok}");
        }
        for bad in [
            "", "1", "1.", "1.x", "v1.21", "01.2", "1.02", "1.2.03", "1.2rc", "1.2RC1", "1.2.3.4",
            "1.2-rc1", "1.2 ", "0.1",
        ] {
            assert!(!is_go_version(bad), "{bad}");
        }
    }

    #[test]
    fn lax_go_version_re() {
        assert_eq!(lax_go_version("1.2beta1").as_deref(), Some("1.2"));
        assert_eq!(lax_go_version("v1.2.3").as_deref(), Some("1.2"));
        assert_eq!(lax_go_version("1.2.x").as_deref(), Some("1.2"));
        // Checked with Go's regexp: `[^0-9]` matches a newline, `.` does not.
        assert_eq!(lax_go_version("1.21\n").as_deref(), Some("1.21"));
        assert_eq!(lax_go_version("1.21-pre\n"), None);
        assert_eq!(lax_go_version("1.2é").as_deref(), Some("1.2"));
        assert_eq!(lax_go_version("1.2-a\nb"), None);
        assert_eq!(lax_go_version("v1.2"), None);
        assert_eq!(lax_go_version("1.02x"), None);
        assert_eq!(lax_go_version("1.x"), None);
    }

    #[test]
    fn toolchain_re() {
        for ok in [
            "default",
            "go1",
            "go1.21",
            "go1.21rc1",
            "go1.",
            "go1.x-gccgo",
        ] {
            assert!(is_toolchain_name(ok), "{ok}");
        }
        for bad in ["", "go1x", "go2", "go1-x", "Default", "default1", "1.21"] {
            assert!(!is_toolchain_name(bad), "{bad}");
        }
    }

    #[test]
    fn deprecation_regexp() {
        assert_eq!(parse_deprecation("Deprecated: a\n\nb"), "a");
        assert_eq!(parse_deprecation("x\n\nDeprecated:   y\nz"), "y\nz");
        assert_eq!(parse_deprecation("x\nDeprecated: y"), "");
        assert_eq!(parse_deprecation("Deprecated:"), "");
        assert_eq!(parse_deprecation("x\n\n\nDeprecated: y\n\n\nz"), "y");
    }
}
