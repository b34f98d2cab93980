//! A recursive-descent parser for KQL queries and management commands. It pulls tokens
//! from the lexer one at a time, which lets a command take the raw text after `<|`.

mod command;
mod expr;
mod ops;
mod plugins;
mod query;

use crate::ast::{Ident, Query};
use crate::command::Command;
use crate::error::{KqlError, Result};
use crate::lexer::{Lexer, Span, Tok, Token};

/// What a request's text turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Script {
    Query(Query),
    Command(Command),
}

/// Parses a query or, when the text starts with `.`, a management command.
pub fn parse(src: &str) -> Result<Script> {
    if src.trim_start().starts_with('.') {
        Ok(Script::Command(parse_command(src)?))
    } else {
        Ok(Script::Query(parse_query(src)?))
    }
}

pub fn parse_query(src: &str) -> Result<Query> {
    let mut p = Parser::new(src);
    let q = p.query()?;
    p.expect_eof()?;
    Ok(q)
}

pub fn parse_command(src: &str) -> Result<Command> {
    let (c, pipe) = parse_command_pipe(src)?;
    match pipe {
        None => Ok(c),
        Some(at) => Err(KqlError::syntax(
            "this command's output cannot be piped here",
            Span::new(at, at + 1),
        )),
    }
}

/// Parses a command that may be followed by `| operators` applied to its result; returns
/// the byte offset of that `|`.
pub fn parse_command_pipe(src: &str) -> Result<(Command, Option<usize>)> {
    let mut p = Parser::new(src);
    let c = p.command()?;
    while p.eat_punct(";")? {}
    let t = p.peek()?.clone();
    if t.tok == Tok::Punct("|")
        && !matches!(
            c,
            Command::IngestInline { .. } | Command::SetOrAppend { .. }
        )
    {
        return Ok((c, Some(t.span.start)));
    }
    p.expect_eof()?;
    Ok((c, None))
}

pub(crate) struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<Token>,
    /// End of the last consumed token, for spans.
    last_end: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            lexer: Lexer::new(src),
            peeked: None,
            last_end: 0,
        }
    }

    fn peek(&mut self) -> Result<&Token> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next_token()?);
        }
        Ok(self.peeked.as_ref().expect("peeked"))
    }

    /// The raw text from the current position up to the next `|` or the end (trimmed),
    /// for arguments that are not KQL tokens, such as bare GUIDs.
    fn raw_until_pipe(&mut self) -> (String, Span) {
        let start = match &self.peeked {
            Some(t) => t.span.start,
            None => self.lexer.pos(),
        };
        let src = self.lexer.src();
        let end = src[start..].find('|').map_or(src.len(), |i| start + i);
        self.peeked = None;
        self.lexer = Lexer::at(src, end);
        self.last_end = end;
        (src[start..end].trim().to_string(), Span::new(start, end))
    }

    /// A position to come back to with [`Parser::restore`] (for lookahead).
    fn save(&mut self) -> Result<(usize, usize)> {
        Ok((self.pos()?, self.last_end))
    }

    fn restore(&mut self, mark: (usize, usize)) {
        self.peeked = None;
        self.lexer = Lexer::at(self.lexer.src(), mark.0);
        self.last_end = mark.1;
    }

    fn peek_tok(&mut self) -> Result<Tok> {
        Ok(self.peek()?.tok.clone())
    }

    fn next(&mut self) -> Result<Token> {
        let t = match self.peeked.take() {
            Some(t) => t,
            None => self.lexer.next_token()?,
        };
        self.last_end = t.span.end;
        Ok(t)
    }

    fn pos(&mut self) -> Result<usize> {
        Ok(self.peek()?.span.start)
    }

    fn span_from(&self, start: usize) -> Span {
        Span::new(start, self.last_end.max(start))
    }

    fn is_punct(&mut self, p: &str) -> Result<bool> {
        Ok(matches!(&self.peek()?.tok, Tok::Punct(q) if *q == p))
    }

    fn eat_punct(&mut self, p: &str) -> Result<bool> {
        if self.is_punct(p)? {
            self.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn expect_punct(&mut self, p: &str) -> Result<Span> {
        if self.is_punct(p)? {
            return Ok(self.next()?.span);
        }
        Err(self.unexpected(&format!("'{p}'"))?)
    }

    /// Whether the next token is the keyword `kw` (case-sensitive, as in KQL).
    fn is_kw(&mut self, kw: &str) -> Result<bool> {
        Ok(matches!(&self.peek()?.tok, Tok::Ident(s) if s == kw))
    }

    fn eat_kw(&mut self, kw: &str) -> Result<bool> {
        if self.is_kw(kw)? {
            self.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn expect_kw(&mut self, kw: &str) -> Result<Span> {
        if self.is_kw(kw)? {
            return Ok(self.next()?.span);
        }
        Err(self.unexpected(&format!("'{kw}'"))?)
    }

    /// An identifier, `['quoted name']`, or (for names like `count`) any keyword.
    fn ident(&mut self, what: &str) -> Result<Ident> {
        let t = self.peek()?.clone();
        match t.tok {
            Tok::Ident(name) | Tok::QuotedIdent(name) => {
                self.next()?;
                Ok(Ident { name, span: t.span })
            }
            _ => Err(self.unexpected(what)?),
        }
    }

    /// A name that may be hyphenated (`project-away`, `create-merge`): words joined by
    /// `-` with no spaces between them.
    fn hyphenated(&mut self) -> Result<Option<Ident>> {
        let Tok::Ident(first) = self.peek()?.tok.clone() else {
            return Ok(None);
        };
        let mut span = self.next()?.span;
        let mut name = first;
        loop {
            let src = self.lexer.src();
            let rest = &src[span.end..];
            let joined =
                rest.starts_with('-') && rest[1..].starts_with(|c: char| c.is_alphabetic());
            if !joined || self.lexer.pos() != span.end {
                return Ok(Some(Ident { name, span }));
            }
            self.lexer = Lexer::at(src, span.end + 1);
            let part = self.next()?;
            let Tok::Ident(word) = part.tok else {
                return Err(KqlError::syntax("expected a word after '-'", part.span));
            };
            name.push('-');
            name.push_str(&word);
            span = span.to(part.span);
        }
    }

    fn unexpected(&mut self, expected: &str) -> Result<KqlError> {
        let t = self.peek()?.clone();
        Ok(KqlError::syntax(
            format!("expected {expected}, found {}", t.tok.describe()),
            t.span,
        ))
    }

    fn expect_eof(&mut self) -> Result<()> {
        while self.eat_punct(";")? {}
        if self.peek()?.tok != Tok::Eof {
            return Err(self.unexpected("the end of the query, ';' or '|'")?);
        }
        Ok(())
    }

    /// One string literal, without joining the ones after it (a mapping's name).
    fn single_string(&mut self, what: &str) -> Result<(String, Span)> {
        let t = self.peek()?.clone();
        if let Tok::Str(s) = t.tok {
            self.next()?;
            return Ok((s, t.span));
        }
        Err(self.unexpected(what)?)
    }

    fn string(&mut self, what: &str) -> Result<(String, Span)> {
        let t = self.peek()?.clone();
        if let Tok::Str(mut s) = t.tok {
            self.next()?;
            // Adjacent literals concatenate: `'[' '{"a":1}' ']'` over several lines.
            let mut span = t.span;
            while let Tok::Str(more) = self.peek_tok()? {
                span = span.to(self.next()?.span);
                s.push_str(&more);
            }
            return Ok((s, span));
        }
        Err(self.unexpected(what)?)
    }
}

/// Parses one scalar expression (a query parameter's value, say) and nothing after it.
pub fn parse_expr(src: &str) -> Result<crate::ast::Expr> {
    let mut p = Parser::new(src);
    let e = p.expr()?;
    p.expect_eof()?;
    Ok(e)
}
