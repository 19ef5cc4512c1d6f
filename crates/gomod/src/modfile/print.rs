//! The go.mod printer (print.go): [`FileSyntax`] back to bytes in standard style.

use super::syntax::{Comment, Comments, Expr, FileSyntax, Line, LineBlock};

/// Formats a go.mod (or go.work) syntax tree in standard style (Go's `modfile.Format`).
pub fn format(f: &FileSyntax) -> Vec<u8> {
    let mut pr = Printer::default();
    pr.file(f);
    let mut b = pr.buf;
    // Remove trailing blank lines.
    while b.last() == Some(&b'\n') && (b.len() == 1 || b[b.len() - 2] == b'\n') {
        b.pop();
    }
    b
}

#[derive(Default)]
struct Printer {
    buf: Vec<u8>,
    /// Pending end-of-line comments.
    comment: Vec<Comment>,
    /// Left margin, in tabs.
    margin: usize,
}

/// One thing `expr` can print.
enum Item<'a> {
    CommentBlock(&'a Comments),
    LParen(&'a Comments),
    RParen(&'a Comments),
    Line(&'a Line),
    LineBlock(&'a LineBlock),
}

impl Printer {
    fn print(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
    }

    fn tabs(&mut self) {
        for _ in 0..self.margin {
            self.buf.push(b'\t');
        }
    }

    /// Position on the current line, in bytes.
    fn indent(&self) -> usize {
        self.buf.iter().rev().take_while(|&&b| b != b'\n').count()
    }

    /// Ends the current line, flushing end-of-line comments.
    fn newline(&mut self) {
        if !self.comment.is_empty() {
            self.print(" ");
            let pending = std::mem::take(&mut self.comment);
            for (i, com) in pending.iter().enumerate() {
                if i > 0 {
                    self.trim();
                    self.print("\n");
                    self.tabs();
                }
                self.print(com.token.trim());
            }
        }
        self.trim();
        let b = &self.buf;
        let n = b.len();
        if !(n == 0 || (n >= 2 && b[n - 1] == b'\n' && b[n - 2] == b'\n')) {
            self.print("\n");
        }
        self.tabs();
    }

    /// Removes trailing spaces and tabs from the current line.
    fn trim(&mut self) {
        while matches!(self.buf.last(), Some(b'\t' | b' ')) {
            self.buf.pop();
        }
    }

    fn file(&mut self, f: &FileSyntax) {
        for com in &f.comments.before {
            self.print(com.token.trim());
            self.newline();
        }
        for (i, stmt) in f.stmt.iter().enumerate() {
            match stmt {
                Expr::CommentBlock(x) => self.expr(Item::CommentBlock(&x.comments)),
                Expr::Line(x) => {
                    self.expr(Item::Line(x));
                    self.newline();
                }
                Expr::LineBlock(x) => {
                    self.expr(Item::LineBlock(x));
                    self.newline();
                }
            }
            for com in &stmt.comments().after {
                self.print(com.token.trim());
                self.newline();
            }
            if i + 1 < f.stmt.len() {
                self.newline();
            }
        }
    }

    fn expr(&mut self, x: Item<'_>) {
        let comments = match &x {
            Item::CommentBlock(c) | Item::LParen(c) | Item::RParen(c) => *c,
            Item::Line(l) => &l.comments,
            Item::LineBlock(b) => &b.comments,
        };
        // Line comments preceding the expression, at the current margin.
        if !comments.before.is_empty() {
            self.trim();
            if self.indent() > 0 {
                self.print("\n");
            }
            self.tabs();
            for com in &comments.before {
                self.print(com.token.trim());
                self.newline();
            }
        }
        match x {
            Item::CommentBlock(_) => {}
            Item::LParen(_) => self.print("("),
            Item::RParen(_) => self.print(")"),
            Item::Line(l) => self.tokens(&l.token),
            Item::LineBlock(b) => {
                self.tokens(&b.token);
                self.print(" ");
                self.expr(Item::LParen(&b.lparen.comments));
                self.margin += 1;
                for l in &b.line {
                    self.newline();
                    self.expr(Item::Line(l));
                }
                self.margin -= 1;
                self.newline();
                self.expr(Item::RParen(&b.rparen.comments));
            }
        }
        // Queue end-of-line comments for the end of the line.
        self.comment.extend(comments.suffix.iter().cloned());
    }

    fn tokens(&mut self, tokens: &[String]) {
        let mut sep = "";
        for t in tokens {
            if matches!(t.as_str(), "," | ")" | "]" | "}") {
                sep = "";
            }
            self.print(sep);
            self.print(t);
            sep = " ";
            if matches!(t.as_str(), "(" | "[" | "{") {
                sep = "";
            }
        }
    }
}
