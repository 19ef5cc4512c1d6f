//! go.mod and go.work files, read and printed exactly as golang.org/x/mod/modfile
//! v0.19.0 (the version vendored in go 1.23) does.
//!
//! - [`parse`] / [`parse_lax`] / [`parse_work`] read a file into a typed [`File`] /
//!   [`WorkFile`], rejecting what the go command rejects with the same
//!   `file:line[:col]: message` texts ([`Errors`]).
//! - [`parse_syntax`] reads only the syntax tree ([`FileSyntax`]): tokens, blocks and
//!   comments; [`format`] prints such a tree back in standard style.
//!
//! Like Go, interpreting a file rewrites some tokens of its syntax tree in canonical
//! form (unquoted module paths, canonical versions), so [`File::format`] prints the
//! canonical file.
//!
//! One deliberate difference: Go keeps invalid UTF-8 bytes as they are in tokens and
//! comments, while here every byte that is not part of valid UTF-8 is read as U+FFFD
//! (one per byte, exactly as Go's decoder sees it, so verdicts and columns agree), and
//! is printed back as U+FFFD.

mod print;
mod quote;
mod read;
mod rule;
mod syntax;
mod work;

pub use print::format;
pub use quote::{auto_quote, must_quote};

/// The go.mod the go command gives a module version that has none: `module <path>\n`
/// (cmd/go's `modfetch.LegacyGoMod`).
pub fn legacy_go_mod(path: &str) -> Vec<u8> {
    format!("module {}\n", auto_quote(path)).into_bytes()
}
pub use read::{module_path, parse_syntax};
pub use rule::{
    Exclude, File, Go, Godebug, Module, Replace, Require, Retract, Toolchain, VersionInterval,
    is_directory_path, is_go_version, is_toolchain_name, parse, parse_lax,
};
pub use syntax::{
    Comment, CommentBlock, Comments, Expr, FileSyntax, LParen, Line, LineBlock, LineRef, Position,
    RParen,
};
pub use work::{Use, WorkFile, parse_work};

use std::fmt;

/// A version fixer (Go's `VersionFixer`): given a module path and a version as written,
/// returns the version to use, or an error message (printed after `file:line: `).
pub type VersionFixer<'a> = &'a dyn Fn(&str, &str) -> Result<String, String>;

/// What went wrong, inside an [`Error`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// A plain message.
    Msg(String),
    /// An error from [`crate::module`] (its `Display` is Go's text).
    Module(crate::module::Error),
    /// An error that carries its own verb and module path (Go nests `*Error`s).
    Nested(Box<Error>),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Msg(m) => f.write_str(m),
            Cause::Module(e) => e.fmt(f),
            Cause::Nested(e) => e.fmt(f),
        }
    }
}

/// One error in a go.mod or go.work file (Go's `modfile.Error`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The file name, or `""`.
    pub filename: String,
    /// Where; `line == 0` when unknown.
    pub pos: Position,
    /// The directive (`require`, …), or `""`.
    pub verb: String,
    /// The module path the error is about, or `""`.
    pub mod_path: String,
    /// The error itself.
    pub err: Cause,
}

impl Error {
    pub(crate) fn at(filename: &str, pos: Position, msg: impl Into<String>) -> Error {
        Error {
            filename: filename.to_string(),
            pos,
            verb: String::new(),
            mod_path: String::new(),
            err: Cause::Msg(msg.into()),
        }
    }
}

impl fmt::Display for Error {
    /// `file:line:col: ` (column only when past the first rune), `file:line: ` or
    /// `file: `, then `verb path: ` or `verb: `, then the message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pos.line_rune > 1 {
            write!(
                f,
                "{}:{}:{}: ",
                self.filename, self.pos.line, self.pos.line_rune
            )?;
        } else if self.pos.line > 0 {
            write!(f, "{}:{}: ", self.filename, self.pos.line)?;
        } else if !self.filename.is_empty() {
            write!(f, "{}: ", self.filename)?;
        }
        if !self.mod_path.is_empty() {
            write!(f, "{} {}: ", self.verb, self.mod_path)?;
        } else if !self.verb.is_empty() {
            write!(f, "{}: ", self.verb)?;
        }
        self.err.fmt(f)
    }
}

impl std::error::Error for Error {}

/// All errors found in a file (Go's `ErrorList`): displayed one per line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Errors(pub Vec<Error>);

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            e.fmt(f)?;
        }
        Ok(())
    }
}

impl std::error::Error for Errors {}

#[cfg(test)]
mod tests {
    #[test]
    fn legacy_go_mod_quotes_as_the_go_command() {
        assert_eq!(
            super::legacy_go_mod("example.com/x"),
            b"module example.com/x\n"
        );
        assert_eq!(
            super::legacy_go_mod("example.com/x y"),
            b"module \"example.com/x y\"\n"
        );
    }
}
