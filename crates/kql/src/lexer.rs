//! Tokens of KQL and of management commands, produced lazily so that a command can take
//! the raw text after `<|` (inline ingestion data) without lexing it.

use crate::error::{KqlError, Result};

/// Byte range in the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    /// `[name]` or `['name']`: a quoted identifier.
    QuotedIdent(String),
    Long(i64),
    Real(f64),
    Str(String),
    /// A timespan literal such as `1d` or `100ms`, in 100 ns ticks.
    Timespan(i64),
    /// `datetime(...)`, `guid(...)`, `long(...)` and the other typed literals: the type
    /// name and the raw text between the parentheses.
    Typed(String, String),
    Punct(&'static str),
    Eof,
}

impl Tok {
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("'{s}'"),
            Tok::QuotedIdent(s) => format!("['{s}']"),
            Tok::Long(v) => format!("'{v}'"),
            Tok::Real(v) => format!("'{v}'"),
            Tok::Str(_) => "a string literal".into(),
            Tok::Timespan(_) => "a timespan literal".into(),
            Tok::Typed(t, _) => format!("a {t} literal"),
            Tok::Punct(p) => format!("'{p}'"),
            Tok::Eof => "the end of the query".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

/// Type names that take a raw literal in parentheses: `datetime(2024-01-01 10:00)`.
const TYPED_LITERALS: &[&str] = &[
    "datetime", "timespan", "time", "guid", "uuid", "uniqueid", "bool", "boolean", "int", "long",
    "real", "double", "decimal", "dynamic", "date",
];

const PUNCTS: &[&str] = &[
    "<|", "==", "!=", "<>", "<=", ">=", "=~", "!~", "..", "=>", "|", "(", ")", "[", "]", "{", "}",
    ",", ";", ":", "=", "<", ">", "+", "-", "*", "/", "%", ".", "@", "!", "?", "~",
];

pub struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0 }
    }

    /// A lexer that starts at byte `pos` of `src`.
    pub fn at(src: &'a str, pos: usize) -> Self {
        Lexer { src, pos }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn src(&self) -> &'a str {
        self.src
    }

    /// Everything after the current position; the lexer moves to the end.
    pub fn take_rest(&mut self) -> (&'a str, Span) {
        let start = self.pos;
        self.pos = self.src.len();
        (&self.src[start..], Span::new(start, self.src.len()))
    }

    fn peek_char(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn char_at(&self, at: usize) -> Option<char> {
        self.src.get(at..).and_then(|s| s.chars().next())
    }

    fn skip_trivia(&mut self) {
        loop {
            let rest = &self.src[self.pos..];
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with("//") {
                let end = trimmed.find('\n').unwrap_or(trimmed.len());
                self.pos += end;
            } else {
                return;
            }
        }
    }

    pub fn next_token(&mut self) -> Result<Token> {
        self.skip_trivia();
        let start = self.pos;
        let Some(c) = self.peek_char() else {
            return Ok(Token {
                tok: Tok::Eof,
                span: Span::new(start, start),
            });
        };
        let tok = if c == '"' || c == '\'' {
            Tok::Str(self.string(c, false)?)
        } else if c == '`' && self.src[self.pos..].starts_with("```") {
            self.pos += 3;
            let rest = &self.src[self.pos..];
            let end = rest.find("```").ok_or_else(|| {
                KqlError::syntax(
                    "unterminated ``` string literal",
                    Span::new(start, self.src.len()),
                )
            })?;
            let s = rest[..end].to_string();
            self.pos += end + 3;
            Tok::Str(s)
        } else if c == '@' && matches!(self.char_at(self.pos + 1), Some('"' | '\'')) {
            self.pos += 1;
            let q = self.peek_char().unwrap_or('"');
            Tok::Str(self.string(q, true)?)
        } else if (c == 'h' || c == 'H') && self.obfuscated_string_follows() {
            self.pos += 1;
            let verbatim = self.peek_char() == Some('@');
            if verbatim {
                self.pos += 1;
            }
            let q = self.peek_char().unwrap_or('"');
            Tok::Str(self.string(q, verbatim)?)
        } else if c.is_ascii_digit() {
            self.number()?
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let ident = self.ident();
            if TYPED_LITERALS.contains(&ident.to_ascii_lowercase().as_str()) {
                if let Some(raw) = self.raw_parens()? {
                    return Ok(Token {
                        tok: Tok::Typed(ident.to_ascii_lowercase(), raw),
                        span: Span::new(start, self.pos),
                    });
                }
            }
            Tok::Ident(ident)
        } else if c == '[' && matches!(self.next_non_space(self.pos + 1), Some('"' | '\'')) {
            self.pos += 1;
            self.skip_trivia();
            let q = self.peek_char().unwrap_or('"');
            let name = self.string(q, false)?;
            self.skip_trivia();
            if self.peek_char() == Some(']') {
                self.pos += 1;
                Tok::QuotedIdent(name)
            } else {
                // `["a", "b"]`: a list, not a quoted name.
                self.pos = start + 1;
                Tok::Punct("[")
            }
        } else if let Some(p) = PUNCTS
            .iter()
            .find(|p| self.src[self.pos..].starts_with(**p))
        {
            self.pos += p.len();
            Tok::Punct(p)
        } else {
            return Err(KqlError::syntax(
                format!("unexpected character '{c}'"),
                Span::new(start, start + c.len_utf8()),
            ));
        };
        Ok(Token {
            tok,
            span: Span::new(start, self.pos),
        })
    }

    fn next_non_space(&self, from: usize) -> Option<char> {
        self.src.get(from..)?.chars().find(|c| !c.is_whitespace())
    }

    fn obfuscated_string_follows(&self) -> bool {
        match self.char_at(self.pos + 1) {
            Some('"' | '\'') => true,
            Some('@') => matches!(self.char_at(self.pos + 2), Some('"' | '\'')),
            _ => false,
        }
    }

    fn ident(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek_char() {
            if c.is_alphanumeric() || c == '_' || c == '$' {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
        self.src[start..self.pos].to_string()
    }

    /// After a typed-literal name: `( raw )` if a parenthesis follows, else `None`.
    fn raw_parens(&mut self) -> Result<Option<String>> {
        let save = self.pos;
        self.skip_trivia();
        if self.peek_char() != Some('(') {
            self.pos = save;
            return Ok(None);
        }
        let open = self.pos;
        self.pos += 1;
        let mut depth = 1;
        let mut in_str: Option<char> = None;
        let body_start = self.pos;
        while let Some(c) = self.peek_char() {
            self.pos += c.len_utf8();
            match in_str {
                Some(q) if c == '\\' => {
                    let _ = q;
                    if let Some(n) = self.peek_char() {
                        self.pos += n.len_utf8();
                    }
                }
                Some(q) if c == q => in_str = None,
                Some(_) => {}
                None if c == '"' || c == '\'' => in_str = Some(c),
                None if c == '(' || c == '[' || c == '{' => depth += 1,
                None if c == ')' || c == ']' || c == '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(Some(self.src[body_start..self.pos - 1].trim().to_string()));
                    }
                }
                None => {}
            }
        }
        Err(KqlError::syntax(
            "missing ')' for this literal",
            Span::new(open, open + 1),
        ))
    }

    fn string(&mut self, quote: char, verbatim: bool) -> Result<String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        while let Some(c) = self.peek_char() {
            self.pos += c.len_utf8();
            if c == quote {
                if verbatim && self.peek_char() == Some(quote) {
                    self.pos += 1;
                    out.push(quote);
                    continue;
                }
                return Ok(out);
            }
            if c == '\\' && !verbatim {
                let Some(e) = self.peek_char() else { break };
                self.pos += e.len_utf8();
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '0' => out.push('\0'),
                    '\\' | '\'' | '"' => out.push(e),
                    'u' => {
                        let hex = self.src.get(self.pos..self.pos + 4).unwrap_or("");
                        let code = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                        match code {
                            Some(ch) => {
                                out.push(ch);
                                self.pos += 4;
                            }
                            None => {
                                return Err(KqlError::syntax(
                                    "bad \\u escape in string literal",
                                    Span::new(self.pos - 2, self.pos),
                                ))
                            }
                        }
                    }
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
                continue;
            }
            out.push(c);
        }
        Err(KqlError::syntax(
            "unterminated string literal",
            Span::new(start, self.pos),
        ))
    }

    fn number(&mut self) -> Result<Tok> {
        let start = self.pos;
        if self.src[self.pos..].starts_with("0x") || self.src[self.pos..].starts_with("0X") {
            self.pos += 2;
            let s = self.pos;
            while self.peek_char().is_some_and(|c| c.is_ascii_hexdigit()) {
                self.pos += 1;
            }
            return i64::from_str_radix(&self.src[s..self.pos], 16)
                .map(Tok::Long)
                .map_err(|_| KqlError::syntax("bad hex literal", Span::new(start, self.pos)));
        }
        while self.peek_char().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let mut real = false;
        if self.peek_char() == Some('.')
            && self
                .char_at(self.pos + 1)
                .is_some_and(|c| c.is_ascii_digit())
        {
            real = true;
            self.pos += 1;
            while self.peek_char().is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        if matches!(self.peek_char(), Some('e' | 'E')) {
            let after = self.char_at(self.pos + 1);
            let digit_at = if matches!(after, Some('+' | '-')) {
                self.pos + 2
            } else {
                self.pos + 1
            };
            if self.char_at(digit_at).is_some_and(|c| c.is_ascii_digit()) {
                real = true;
                self.pos = digit_at;
                while self.peek_char().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
            }
        }
        let text = &self.src[start..self.pos];
        if self.peek_char().is_some_and(|c| c.is_alphabetic()) {
            let unit_start = self.pos;
            while self.peek_char().is_some_and(|c| c.is_alphabetic()) {
                self.pos += 1;
            }
            let unit = &self.src[unit_start..self.pos];
            let value: f64 = text.parse().unwrap_or(0.0);
            let ticks = unit_ticks(unit).ok_or_else(|| {
                KqlError::syntax(
                    format!(
                        "unknown timespan unit '{unit}' (use d, h, m, s, ms, microsecond, tick)"
                    ),
                    Span::new(unit_start, self.pos),
                )
            })?;
            return Ok(Tok::Timespan((value * ticks as f64).round() as i64));
        }
        if real {
            Ok(Tok::Real(text.parse().map_err(|_| {
                KqlError::syntax("bad number", Span::new(start, self.pos))
            })?))
        } else {
            text.parse::<i64>()
                .map(Tok::Long)
                .or_else(|_| text.parse::<f64>().map(Tok::Real))
                .map_err(|_| KqlError::syntax("bad number", Span::new(start, self.pos)))
        }
    }
}

/// 100 ns ticks per timespan unit.
pub fn unit_ticks(unit: &str) -> Option<i64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "d" | "day" | "days" => 864_000_000_000,
        "h" | "hr" | "hrs" | "hour" | "hours" => 36_000_000_000,
        "m" | "min" | "minute" | "minutes" => 600_000_000,
        "s" | "sec" | "second" | "seconds" => 10_000_000,
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 10_000,
        "microsecond" | "microseconds" => 10,
        "tick" | "ticks" => 1,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        let mut l = Lexer::new(s);
        let mut out = vec![];
        loop {
            let t = l.next_token().unwrap();
            if t.tok == Tok::Eof {
                return out;
            }
            out.push(t.tok);
        }
    }

    #[test]
    fn literals_and_punctuation() {
        assert_eq!(
            toks("T | where x >= 1.5 and y =~ @'a\\b' // c\n"),
            vec![
                Tok::Ident("T".into()),
                Tok::Punct("|"),
                Tok::Ident("where".into()),
                Tok::Ident("x".into()),
                Tok::Punct(">="),
                Tok::Real(1.5),
                Tok::Ident("and".into()),
                Tok::Ident("y".into()),
                Tok::Punct("=~"),
                Tok::Str("a\\b".into()),
            ]
        );
        assert_eq!(
            toks("1d 100ms 2h"),
            vec![
                Tok::Timespan(864_000_000_000),
                Tok::Timespan(1_000_000),
                Tok::Timespan(72_000_000_000)
            ]
        );
        assert_eq!(
            toks("datetime(2024-01-01T10:00:00Z) ['a b']"),
            vec![
                Tok::Typed("datetime".into(), "2024-01-01T10:00:00Z".into()),
                Tok::QuotedIdent("a b".into())
            ]
        );
        assert_eq!(toks("h'secret'"), vec![Tok::Str("secret".into())]);
    }

    #[test]
    fn errors_have_positions() {
        let err = Lexer::new("x == 'abc").next_token().and_then(|_| {
            let mut l = Lexer::new("x == 'abc");
            l.next_token()?;
            l.next_token()?;
            l.next_token()
        });
        assert!(err.unwrap_err().to_string().contains("unterminated"));
        assert!(Lexer::new("3parsecs").next_token().is_err());
    }
}
