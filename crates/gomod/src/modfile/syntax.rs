//! The go.mod syntax tree (read.go's `FileSyntax`, `Line`, `LineBlock`, …): tokens
//! and comments, with positions, before any interpretation of directives.

/// A position in a file (Go's `modfile.Position`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Position {
    /// Line in input, starting at 1 (0 for a synthesized position).
    pub line: usize,
    /// Rune (not byte) in the line, starting at 1.
    pub line_rune: usize,
    /// Byte offset in the input, starting at 0 (offsets count U+FFFD as 3 bytes where
    /// the input had an invalid UTF-8 byte; see [`crate::modfile`]).
    pub byte: usize,
}

impl Position {
    /// The position at the end of `s`, assuming `s` starts at `self` (Go's `add`).
    pub fn advance(self, s: &str) -> Position {
        let mut p = self;
        p.byte += s.len();
        let mut rest = s;
        if let Some(i) = s.rfind('\n') {
            p.line += s.matches('\n').count();
            rest = &s[i + 1..];
            p.line_rune = 1;
        }
        p.line_rune += rest.chars().count();
        p
    }
}

/// A single `//` comment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comment {
    /// Where the comment starts.
    pub start: Position,
    /// The comment text, including `//`, without the trailing newline. An empty token
    /// stands for a blank line inside a block.
    pub token: String,
    /// Whether this is an end-of-line comment (rather than a whole-line one).
    pub suffix: bool,
}

/// The comments attached to a piece of syntax.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comments {
    /// Whole-line comments before the expression.
    pub before: Vec<Comment>,
    /// End-of-line comments after the expression.
    pub suffix: Vec<Comment>,
    /// For top-level expressions only: whole-line comments following it.
    pub after: Vec<Comment>,
}

/// A whole go.mod (or go.work) file as syntax.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileSyntax {
    /// The file name used in positions and errors.
    pub name: String,
    /// Comments of the file itself (unattached suffix comments end up in `before`).
    pub comments: Comments,
    /// The top-level statements in order.
    pub stmt: Vec<Expr>,
}

/// A top-level statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// A run of whole-line comments not attached to a statement.
    CommentBlock(CommentBlock),
    /// A single line, like `require example.com/m v1.0.0`.
    Line(Line),
    /// A factored block, like `require ( … )`.
    LineBlock(LineBlock),
}

impl Expr {
    /// The comments attached to the statement.
    pub fn comments(&self) -> &Comments {
        match self {
            Expr::CommentBlock(x) => &x.comments,
            Expr::Line(x) => &x.comments,
            Expr::LineBlock(x) => &x.comments,
        }
    }

    /// Mutable access to the comments attached to the statement.
    pub fn comments_mut(&mut self) -> &mut Comments {
        match self {
            Expr::CommentBlock(x) => &mut x.comments,
            Expr::Line(x) => &mut x.comments,
            Expr::LineBlock(x) => &mut x.comments,
        }
    }

    /// Start and end of the statement, excluding comments (Go's `Span`).
    pub fn span(&self) -> (Position, Position) {
        match self {
            Expr::CommentBlock(x) => (x.start, x.start),
            Expr::Line(x) => (x.start, x.end),
            Expr::LineBlock(x) => x.span(),
        }
    }
}

/// A top-level block of comments separate from any statement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommentBlock {
    /// The comments (all in `before`).
    pub comments: Comments,
    /// Where the first comment starts.
    pub start: Position,
}

/// A single line of tokens, at top level or inside a block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Line {
    /// Attached comments.
    pub comments: Comments,
    /// Start of the first token.
    pub start: Position,
    /// The tokens; quoted strings keep their quotes. Interpreting a file rewrites some
    /// tokens in canonical form (unquoted paths, canonical versions), as Go does.
    pub token: Vec<String>,
    /// Whether the line is inside a block (then it lacks the block's verb).
    pub in_block: bool,
    /// End of the last token.
    pub end: Position,
}

/// A factored block of lines, like `require ( "x" "y" )` over several lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineBlock {
    /// Attached comments.
    pub comments: Comments,
    /// Start of the first token.
    pub start: Position,
    /// The opening parenthesis.
    pub lparen: LParen,
    /// The tokens before the parenthesis (the verb).
    pub token: Vec<String>,
    /// The lines inside.
    pub line: Vec<Line>,
    /// The closing parenthesis.
    pub rparen: RParen,
}

impl LineBlock {
    /// Start of the block and end of its closing parenthesis.
    pub fn span(&self) -> (Position, Position) {
        (self.start, self.rparen.pos.advance(")"))
    }
}

/// The opening parenthesis of a block; holds its suffix comments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LParen {
    /// Attached comments.
    pub comments: Comments,
    /// Position of `(`.
    pub pos: Position,
}

/// The closing parenthesis of a block; holds the whole-line comments before it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RParen {
    /// Attached comments.
    pub comments: Comments,
    /// Position of `)`.
    pub pos: Position,
}

/// Where a directive's [`Line`] lives in a [`FileSyntax`]: top-level statement
/// `stmt`, and line `line` inside it when it is a block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LineRef {
    /// Index into [`FileSyntax::stmt`].
    pub stmt: usize,
    /// Index into [`LineBlock::line`], for a line inside a block.
    pub line: Option<usize>,
}

impl FileSyntax {
    /// The line `r` refers to, if it exists.
    pub fn line(&self, r: LineRef) -> Option<&Line> {
        match (self.stmt.get(r.stmt)?, r.line) {
            (Expr::Line(l), None) => Some(l),
            (Expr::LineBlock(b), Some(j)) => b.line.get(j),
            _ => None,
        }
    }

    /// Mutable access to the line `r` refers to, if it exists.
    pub fn line_mut(&mut self, r: LineRef) -> Option<&mut Line> {
        match (self.stmt.get_mut(r.stmt)?, r.line) {
            (Expr::Line(l), None) => Some(l),
            (Expr::LineBlock(b), Some(j)) => b.line.get_mut(j),
            _ => None,
        }
    }

    /// Start of the first statement and end of the last (Go's `Span`).
    pub fn span(&self) -> (Position, Position) {
        match (self.stmt.first(), self.stmt.last()) {
            (Some(a), Some(b)) => (a.span().0, b.span().1),
            _ => (Position::default(), Position::default()),
        }
    }
}
