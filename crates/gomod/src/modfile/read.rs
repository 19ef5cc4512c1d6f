//! The go.mod lexer and parser (read.go): bytes to [`FileSyntax`], with comments
//! attached to the nearest syntax, and `ModulePath`.

use super::syntax::{
    Comment, CommentBlock, Comments, Expr, FileSyntax, LParen, Line, LineBlock, Position, RParen,
};
use super::{Error, Errors};
use crate::gostr::{decode, is_print, is_space, quote_rune, unquote};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Eof,
    EolComment,
    Ident,
    Str,
    Comment,
    /// `\n ( ) [ ] { } ,`
    Punct(char),
}

impl Kind {
    fn is_eol(self) -> bool {
        matches!(self, Kind::Eof | Kind::EolComment | Kind::Punct('\n'))
    }
}

#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    pos: Position,
    end_pos: Position,
    text: String,
}

/// Lexer and parser state for one input (Go's `input`).
struct Input<'a> {
    filename: &'a str,
    complete: &'a str,
    token_start: usize,
    token: Token,
    pos: Position,
    comments: Vec<Comment>,
}

/// Go's parser panics on its first error; here it is returned (boxed: it is large).
type Res<T> = Result<T, Box<Error>>;

/// Go's `isIdent`: most printable runes, except space and `()[]{},`.
fn is_ident(c: Option<char>) -> bool {
    match c {
        None | Some(' ' | '(' | ')' | '[' | ']' | '{' | '}' | ',') => false,
        Some(c) => !is_space(c) && is_print(c),
    }
}

impl<'a> Input<'a> {
    fn new(filename: &'a str, complete: &'a str) -> Self {
        let pos = Position {
            line: 1,
            line_rune: 1,
            byte: 0,
        };
        Input {
            filename,
            complete,
            token_start: 0,
            token: Token {
                kind: Kind::Eof,
                pos,
                end_pos: pos,
                text: String::new(),
            },
            pos,
            comments: Vec::new(),
        }
    }

    fn error(&self, msg: impl Into<String>) -> Box<Error> {
        Box::new(Error::at(self.filename, self.pos, msg))
    }

    fn remaining(&self) -> &'a str {
        self.complete.get(self.pos.byte..).unwrap_or_default()
    }

    fn eof(&self) -> bool {
        self.remaining().is_empty()
    }

    fn peek_rune(&self) -> Option<char> {
        self.remaining().chars().next()
    }

    fn peek_prefix(&self, p: &str) -> bool {
        self.remaining().starts_with(p)
    }

    fn read_rune(&mut self) -> Option<char> {
        let c = self.peek_rune()?;
        self.pos.byte += c.len_utf8();
        if c == '\n' {
            self.pos.line += 1;
            self.pos.line_rune = 1;
        } else {
            self.pos.line_rune += 1;
        }
        Some(c)
    }

    fn start_token(&mut self) {
        self.token_start = self.pos.byte;
        self.token.text.clear();
        self.token.pos = self.pos;
    }

    fn end_token(&mut self, kind: Kind) {
        self.token.kind = kind;
        let mut text = self
            .complete
            .get(self.token_start..self.pos.byte)
            .unwrap_or_default();
        if matches!(kind, Kind::Comment | Kind::EolComment) {
            if let Some(t) = text.strip_suffix("\r\n") {
                text = t;
            } else if let Some(t) = text.strip_suffix('\n') {
                text = t;
            }
        }
        self.token.text = text.to_string();
        self.token.end_pos = self.pos;
    }

    fn peek(&self) -> Kind {
        self.token.kind
    }

    fn lex(&mut self) -> Res<Token> {
        let tok = self.token.clone();
        self.read_token()?;
        Ok(tok)
    }

    fn read_token(&mut self) -> Res<()> {
        while !self.eof() {
            let c = self.peek_rune();
            if matches!(c, Some(' ' | '\t' | '\r')) {
                self.read_rune();
                continue;
            }
            if self.peek_prefix("//") {
                self.start_token();
                // A comment is a suffix comment unless only spaces precede it on its line.
                let before = self.complete.get(..self.pos.byte).unwrap_or_default();
                let line_start = before.rfind('\n').map_or(0, |i| i + 1);
                let suffix = !before
                    .get(line_start..)
                    .unwrap_or_default()
                    .trim()
                    .is_empty();
                self.read_rune();
                self.read_rune();
                while let Some(c) = self.read_rune() {
                    if c == '\n' {
                        break;
                    }
                }
                if !suffix {
                    self.end_token(Kind::Comment);
                    return Ok(());
                }
                self.end_token(Kind::EolComment);
                self.comments.push(Comment {
                    start: self.token.pos,
                    token: self.token.text.clone(),
                    suffix,
                });
                return Ok(());
            }
            if self.peek_prefix("/*") {
                return Err(self.error("mod files must use // comments (not /* */ comments)"));
            }
            break;
        }

        self.start_token();
        let Some(c) = self.peek_rune() else {
            self.end_token(Kind::Eof);
            return Ok(());
        };

        match c {
            '\n' | '(' | ')' | '[' | ']' | '{' | '}' | ',' => {
                self.read_rune();
                self.end_token(Kind::Punct(c));
                return Ok(());
            }
            '"' | '`' => {
                let quote = c;
                self.read_rune();
                loop {
                    if self.eof() {
                        self.pos = self.token.pos;
                        return Err(self.error("unexpected EOF in string"));
                    }
                    if self.peek_rune() == Some('\n') {
                        return Err(self.error("unexpected newline in string"));
                    }
                    let c = self.read_rune();
                    if c == Some(quote) {
                        break;
                    }
                    if c == Some('\\') && quote != '`' {
                        if self.eof() {
                            self.pos = self.token.pos;
                            return Err(self.error("unexpected EOF in string"));
                        }
                        self.read_rune();
                    }
                }
                self.end_token(Kind::Str);
                return Ok(());
            }
            _ => {}
        }

        if !is_ident(Some(c)) {
            return Err(self.error(format!("unexpected input character {}", quote_rune(c))));
        }
        while is_ident(self.peek_rune()) {
            if self.peek_prefix("//") {
                break;
            }
            if self.peek_prefix("/*") {
                return Err(self.error("mod files must use // comments (not /* */ comments)"));
            }
            self.read_rune();
        }
        self.end_token(Kind::Ident);
        Ok(())
    }

    fn parse_file(&mut self) -> Res<FileSyntax> {
        let mut file = FileSyntax::default();
        let mut cb: Option<CommentBlock> = None;
        loop {
            match self.peek() {
                Kind::Punct('\n') => {
                    self.lex()?;
                    if let Some(cb) = cb.take() {
                        file.stmt.push(Expr::CommentBlock(cb));
                    }
                }
                Kind::Comment => {
                    let tok = self.lex()?;
                    let cb = cb.get_or_insert_with(|| CommentBlock {
                        comments: Comments::default(),
                        start: tok.pos,
                    });
                    cb.comments.before.push(Comment {
                        start: tok.pos,
                        token: tok.text,
                        suffix: false,
                    });
                }
                Kind::Eof => {
                    if let Some(cb) = cb.take() {
                        file.stmt.push(Expr::CommentBlock(cb));
                    }
                    return Ok(file);
                }
                _ => {
                    let stmt = self.parse_stmt()?;
                    file.stmt.push(stmt);
                    if let Some(cb) = cb.take()
                        && let Some(last) = file.stmt.last_mut()
                    {
                        last.comments_mut().before = cb.comments.before;
                    }
                }
            }
        }
    }

    fn parse_stmt(&mut self) -> Res<Expr> {
        let tok = self.lex()?;
        let start = tok.pos;
        let mut end = tok.end_pos;
        let mut tokens = vec![tok.text];
        loop {
            let tok = self.lex()?;
            if tok.kind.is_eol() {
                return Ok(Expr::Line(Line {
                    comments: Comments::default(),
                    start,
                    token: tokens,
                    in_block: false,
                    end,
                }));
            }
            if tok.kind == Kind::Punct('(') {
                let next = self.peek();
                if next.is_eol() {
                    return Ok(Expr::LineBlock(self.parse_line_block(start, tokens, &tok)?));
                } else if next == Kind::Punct(')') {
                    let rparen = self.lex()?;
                    if self.peek().is_eol() {
                        // Empty block.
                        self.lex()?;
                        return Ok(Expr::LineBlock(LineBlock {
                            comments: Comments::default(),
                            start,
                            lparen: LParen {
                                comments: Comments::default(),
                                pos: tok.pos,
                            },
                            token: tokens,
                            line: Vec::new(),
                            rparen: RParen {
                                comments: Comments::default(),
                                pos: rparen.pos,
                            },
                        }));
                    }
                    // '( )' in the middle of the line, not a block.
                    tokens.push(tok.text);
                    tokens.push(rparen.text);
                } else {
                    // '(' in the middle of the line, not a block.
                    tokens.push(tok.text);
                }
                continue;
            }
            tokens.push(tok.text);
            end = tok.end_pos;
        }
    }

    fn parse_line_block(
        &mut self,
        start: Position,
        token: Vec<String>,
        lparen: &Token,
    ) -> Res<LineBlock> {
        let mut x = LineBlock {
            comments: Comments::default(),
            start,
            lparen: LParen {
                comments: Comments::default(),
                pos: lparen.pos,
            },
            token,
            line: Vec::new(),
            rparen: RParen::default(),
        };
        let mut comments: Vec<Comment> = Vec::new();
        loop {
            match self.peek() {
                Kind::EolComment => {
                    // Suffix comment, attached later by assign_comments.
                    self.lex()?;
                }
                Kind::Punct('\n') => {
                    // Blank line. Add an empty comment to preserve it.
                    self.lex()?;
                    let last_nonblank = comments.last().is_some_and(|c| !c.token.is_empty());
                    if (comments.is_empty() && !x.line.is_empty()) || last_nonblank {
                        comments.push(Comment::default());
                    }
                }
                Kind::Comment => {
                    let tok = self.lex()?;
                    comments.push(Comment {
                        start: tok.pos,
                        token: tok.text,
                        suffix: false,
                    });
                }
                Kind::Eof => {
                    return Err(self.error(format!(
                        "syntax error (unterminated block started at {}:{}:{})",
                        self.filename, x.start.line, x.start.line_rune
                    )));
                }
                Kind::Punct(')') => {
                    let rparen = self.lex()?;
                    x.rparen.comments.before = std::mem::take(&mut comments);
                    x.rparen.pos = rparen.pos;
                    if !self.peek().is_eol() {
                        return Err(
                            self.error("syntax error (expected newline after closing paren)")
                        );
                    }
                    self.lex()?;
                    return Ok(x);
                }
                _ => {
                    let mut l = self.parse_line()?;
                    l.comments.before = std::mem::take(&mut comments);
                    x.line.push(l);
                }
            }
        }
    }

    fn parse_line(&mut self) -> Res<Line> {
        let tok = self.lex()?;
        if tok.kind.is_eol() {
            return Err(self.error("internal parse error: parseLine at end of line"));
        }
        let start = tok.pos;
        let mut end = tok.end_pos;
        let mut tokens = vec![tok.text];
        loop {
            let tok = self.lex()?;
            if tok.kind.is_eol() {
                return Ok(Line {
                    comments: Comments::default(),
                    start,
                    token: tokens,
                    in_block: true,
                    end,
                });
            }
            tokens.push(tok.text);
            end = tok.end_pos;
        }
    }
}

/// Which node of the tree a comment goes to, during comment assignment.
#[derive(Clone, Copy)]
enum Node {
    Stmt(usize),
    LParen(usize),
    BlockLine(usize, usize),
    RParen(usize),
}

fn node_comments(f: &mut FileSyntax, n: Node) -> Option<&mut Comments> {
    match n {
        Node::Stmt(i) => f.stmt.get_mut(i).map(Expr::comments_mut),
        Node::LParen(i) => match f.stmt.get_mut(i) {
            Some(Expr::LineBlock(b)) => Some(&mut b.lparen.comments),
            _ => None,
        },
        Node::RParen(i) => match f.stmt.get_mut(i) {
            Some(Expr::LineBlock(b)) => Some(&mut b.rparen.comments),
            _ => None,
        },
        Node::BlockLine(i, j) => match f.stmt.get_mut(i) {
            Some(Expr::LineBlock(b)) => b.line.get_mut(j).map(|l| &mut l.comments),
            _ => None,
        },
    }
}

/// Attaches the end-of-line comments to the syntax they follow (Go's
/// `assignComments`). Whole-line comments were already placed by the parser: the
/// lexer hands them to it as tokens, so Go's preorder pass never has any to assign.
fn assign_comments(f: &mut FileSyntax, comments: Vec<Comment>) {
    // Postorder: inner expressions first, each before its enclosing one.
    let mut post: Vec<(Node, Position, Position)> = Vec::new();
    for (i, stmt) in f.stmt.iter().enumerate() {
        if let Expr::LineBlock(b) = stmt {
            let p = b.lparen.pos;
            post.push((Node::LParen(i), p, p.advance(")")));
            for (j, l) in b.line.iter().enumerate() {
                post.push((Node::BlockLine(i, j), l.start, l.end));
            }
            let p = b.rparen.pos;
            post.push((Node::RParen(i), p, p.advance(")")));
        }
        let (s, e) = stmt.span();
        post.push((Node::Stmt(i), s, e));
    }

    let mut suffix: Vec<Comment> = comments.into_iter().filter(|c| c.suffix).collect();
    for &(node, start, end) in post.iter().rev() {
        // Do not assign suffix comments to something that starts on an earlier line.
        if start.line != end.line {
            continue;
        }
        while let Some(last) = suffix.last() {
            if end.byte > last.start.byte {
                break;
            }
            let Some(c) = suffix.pop() else { break };
            if let Some(xcom) = node_comments(f, node) {
                xcom.suffix.push(c);
            }
        }
    }
    // Suffix comments were assigned in reverse.
    for &(node, _, _) in &post {
        if let Some(xcom) = node_comments(f, node) {
            xcom.suffix.reverse();
        }
    }
    // Remaining suffix comments go at the beginning of the file.
    f.comments.before.extend(suffix);
}

/// Parses `data` into syntax only (Go's unexported `parse`): tokens, blocks and
/// comments, without interpreting any directive. `file` names the file in errors.
///
/// Invalid UTF-8 bytes are read as U+FFFD, as Go's decoder sees them.
pub fn parse_syntax(file: &str, data: &[u8]) -> Result<FileSyntax, Errors> {
    let text = decode(data);
    let mut input = Input::new(file, &text);
    let run = |input: &mut Input<'_>| -> Res<FileSyntax> {
        input.read_token()?;
        input.parse_file()
    };
    let mut fs = run(&mut input).map_err(|e| Errors(vec![*e]))?;
    fs.name = file.to_string();
    let comments = std::mem::take(&mut input.comments);
    assign_comments(&mut fs, comments);
    Ok(fs)
}

/// Returns the module path from go.mod text, or `""` if none can be found (Go's
/// `ModulePath`). Tolerant of unrelated problems in the file.
pub fn module_path(data: &[u8]) -> String {
    let mut rest = data;
    while !rest.is_empty() {
        let mut line = rest;
        rest = &[];
        if let Some(i) = line.iter().position(|&b| b == b'\n') {
            rest = &line[i + 1..];
            line = &line[..i];
        }
        if let Some(i) = line.windows(2).position(|w| w == b"//") {
            line = &line[..i];
        }
        let line = decode(line);
        let line = line.trim();
        let Some(after) = line.strip_prefix("module") else {
            continue;
        };
        let trimmed = after.trim();
        if trimmed.len() == after.len() || trimmed.is_empty() {
            continue;
        }
        if trimmed.starts_with('"') || trimmed.starts_with('`') {
            return unquote(trimmed).unwrap_or_default();
        }
        return trimmed.to_string();
    }
    String::new()
}
