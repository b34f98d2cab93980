//! Scalar expressions: precedence climbing from `or` down to literals and calls.

use super::Parser;
use crate::ast::{BinaryOp, Expr, ExprKind, Ident, Literal, StrOp};
use crate::error::{KqlError, Result};
use crate::lexer::{Span, Tok};
use crate::types::KustoType;
use crate::values::{parse_datetime, parse_timespan};

impl Parser<'_> {
    pub(crate) fn expr(&mut self) -> Result<Expr> {
        self.or_expr()
    }

    fn or_expr(&mut self) -> Result<Expr> {
        let mut left = self.and_expr()?;
        while self.eat_kw("or")? {
            let right = self.and_expr()?;
            left = binary(BinaryOp::Or, left, right);
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr> {
        let mut left = self.comparison()?;
        while self.eat_kw("and")? {
            let right = self.comparison()?;
            left = binary(BinaryOp::And, left, right);
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Expr> {
        let left = self.additive()?;
        let t = self.peek()?.clone();
        let op = match &t.tok {
            Tok::Punct("==") => BinaryOp::Eq,
            Tok::Punct("!=") | Tok::Punct("<>") => BinaryOp::NotEq,
            Tok::Punct("<") => BinaryOp::Lt,
            Tok::Punct("<=") => BinaryOp::LtEq,
            Tok::Punct(">") => BinaryOp::Gt,
            Tok::Punct(">=") => BinaryOp::GtEq,
            Tok::Punct("=~") => BinaryOp::EqCi,
            Tok::Punct("!~") => BinaryOp::NotEqCi,
            Tok::Punct("!") => {
                // `!has`, `!contains`, `!in`, ...
                self.next()?;
                let word = self.ident("a string operator after '!'")?;
                return self.word_operator(left, &word.name, true, word.span);
            }
            Tok::Ident(word) => {
                let word = word.clone();
                if is_word_operator(&word) {
                    self.next()?;
                    return self.word_operator(left, &word, false, t.span);
                }
                return Ok(left);
            }
            _ => return Ok(left),
        };
        self.next()?;
        let right = self.additive()?;
        Ok(binary(op, left, right))
    }

    fn word_operator(&mut self, left: Expr, word: &str, negated: bool, span: Span) -> Result<Expr> {
        if word == "in" {
            let case_insensitive = self.eat_punct("~")?;
            self.expect_punct("(")?;
            let list = self.call_args()?;
            let span = left.span.to(self.span_from(span.start));
            return Ok(Expr {
                kind: ExprKind::In {
                    expr: Box::new(left),
                    list,
                    negated,
                    case_insensitive,
                },
                span,
            });
        }
        if word == "has_any" || word == "has_all" || word == "between" {
            // `x has_any (a, b)`, `x between (low .. high)`: planned as calls.
            self.expect_punct("(")?;
            let mut list = vec![left];
            if word == "between" {
                list.push(self.additive()?);
                self.expect_punct("..")?;
                list.push(self.additive()?);
                self.expect_punct(")")?;
            } else {
                list.extend(self.call_args()?);
            }
            let name = if negated {
                format!("!{word}")
            } else {
                word.to_string()
            };
            let full = list[0].span.to(self.span_from(span.start));
            return Ok(Expr {
                kind: ExprKind::Call {
                    name: Ident { name, span },
                    args: list,
                },
                span: full,
            });
        }
        if word == "matches" {
            self.expect_kw("regex")?;
            let right = self.additive()?;
            let full = left.span.to(right.span);
            let call = Expr {
                kind: ExprKind::Call {
                    name: Ident {
                        name: "matches regex".into(),
                        span,
                    },
                    args: vec![left, right],
                },
                span: full,
            };
            return Ok(if negated {
                Expr {
                    kind: ExprKind::Not(Box::new(call)),
                    span: full,
                }
            } else {
                call
            });
        }
        let (base, case_sensitive) = match word.strip_suffix("_cs") {
            Some(b) => (b, true),
            None => (word, false),
        };
        let op = match base {
            "has" => StrOp::Has,
            "contains" => StrOp::Contains,
            "startswith" => StrOp::StartsWith,
            "endswith" => StrOp::EndsWith,
            "hasprefix" => StrOp::HasPrefix,
            "hassuffix" => StrOp::HasSuffix,
            _ => {
                return Err(KqlError::syntax(
                    format!(
                        "unknown operator '{}{word}'",
                        if negated { "!" } else { "" }
                    ),
                    span,
                ))
            }
        };
        let right = self.additive()?;
        Ok(binary(
            BinaryOp::Str {
                op,
                negated,
                case_sensitive,
            },
            left,
            right,
        ))
    }

    pub(crate) fn additive(&mut self) -> Result<Expr> {
        let mut left = self.multiplicative()?;
        loop {
            let op = if self.is_punct("+")? {
                BinaryOp::Add
            } else if self.is_punct("-")? {
                BinaryOp::Sub
            } else {
                return Ok(left);
            };
            self.next()?;
            let right = self.multiplicative()?;
            left = binary(op, left, right);
        }
    }

    fn multiplicative(&mut self) -> Result<Expr> {
        let mut left = self.unary()?;
        loop {
            let op = if self.is_punct("*")? {
                BinaryOp::Mul
            } else if self.is_punct("/")? {
                BinaryOp::Div
            } else if self.is_punct("%")? {
                BinaryOp::Mod
            } else {
                return Ok(left);
            };
            self.next()?;
            let right = self.unary()?;
            left = binary(op, left, right);
        }
    }

    fn unary(&mut self) -> Result<Expr> {
        let start = self.pos()?;
        if self.eat_punct("-")? {
            let inner = self.unary()?;
            let span = self.span_from(start);
            return Ok(match inner.kind {
                ExprKind::Literal(Literal::Long(v)) => lit(Literal::Long(-v), span),
                ExprKind::Literal(Literal::Real(v)) => lit(Literal::Real(-v), span),
                ExprKind::Literal(Literal::Timespan(v)) => lit(Literal::Timespan(-v), span),
                _ => Expr {
                    kind: ExprKind::Neg(Box::new(inner)),
                    span,
                },
            });
        }
        if self.eat_punct("+")? {
            return self.unary();
        }
        self.primary()
    }

    /// A primary expression followed by element access: `d.a`, `d['a']`, `d[0]`.
    fn primary(&mut self) -> Result<Expr> {
        let mut e = self.atom()?;
        loop {
            let t = self.peek()?.clone();
            let key = match &t.tok {
                Tok::Punct(".") => {
                    self.next()?;
                    let k = self.next()?;
                    match k.tok {
                        Tok::Ident(name) | Tok::QuotedIdent(name) => {
                            lit(Literal::String(name), k.span)
                        }
                        _ => {
                            return Err(KqlError::syntax(
                                format!(
                                    "expected a property name after '.', found {}",
                                    k.tok.describe()
                                ),
                                k.span,
                            ))
                        }
                    }
                }
                Tok::QuotedIdent(name) if t.span.start == e.span.end => {
                    self.next()?;
                    lit(Literal::String(name.clone()), t.span)
                }
                Tok::Punct("[") => {
                    self.next()?;
                    let k = self.expr()?;
                    self.expect_punct("]")?;
                    k
                }
                _ => return Ok(e),
            };
            let span = e.span.to(self.span_from(e.span.start));
            e = Expr {
                kind: ExprKind::Index {
                    base: Box::new(e),
                    key: Box::new(key),
                },
                span,
            };
        }
    }

    fn atom(&mut self) -> Result<Expr> {
        let t = self.peek()?.clone();
        let span = t.span;
        match t.tok {
            Tok::Long(v) => {
                self.next()?;
                Ok(lit(Literal::Long(v), span))
            }
            Tok::Real(v) => {
                self.next()?;
                Ok(lit(Literal::Real(v), span))
            }
            Tok::Str(_) => {
                let (s, span) = self.string("a string")?;
                Ok(lit(Literal::String(s), span))
            }
            Tok::Timespan(ticks) => {
                self.next()?;
                Ok(lit(Literal::Timespan(ticks / 10), span))
            }
            Tok::Typed(ty, raw) => {
                self.next()?;
                Ok(lit(typed_literal(&ty, &raw, span)?, span))
            }
            Tok::Punct("(") => {
                self.next()?;
                let inner = self.expr()?;
                self.expect_punct(")")?;
                Ok(Expr {
                    kind: inner.kind,
                    span: self.span_from(span.start),
                })
            }
            Tok::Punct("*") => {
                self.next()?;
                Ok(Expr {
                    kind: ExprKind::Star,
                    span,
                })
            }
            Tok::QuotedIdent(name) => {
                self.next()?;
                Ok(Expr {
                    kind: ExprKind::Column(name),
                    span,
                })
            }
            Tok::Ident(name) if name == "toscalar" => {
                self.next()?;
                self.expect_punct("(")?;
                let inner = self.tabular()?;
                self.expect_punct(")")?;
                Ok(Expr {
                    kind: ExprKind::ToScalar(Box::new(inner)),
                    span: self.span_from(span.start),
                })
            }
            Tok::Ident(name) => {
                self.next()?;
                match name.as_str() {
                    "true" | "True" | "TRUE" => return Ok(lit(Literal::Bool(true), span)),
                    "false" | "False" | "FALSE" => return Ok(lit(Literal::Bool(false), span)),
                    _ => {}
                }
                if self.is_punct("(")? {
                    self.next()?;
                    let args = self.call_args()?;
                    return Ok(Expr {
                        kind: ExprKind::Call {
                            name: Ident { name, span },
                            args,
                        },
                        span: self.span_from(span.start),
                    });
                }
                Ok(Expr {
                    kind: ExprKind::Column(name),
                    span,
                })
            }
            _ => Err(self.unexpected("an expression")?),
        }
    }
}

fn is_word_operator(word: &str) -> bool {
    matches!(
        word,
        "has"
            | "has_cs"
            | "contains"
            | "contains_cs"
            | "startswith"
            | "startswith_cs"
            | "endswith"
            | "endswith_cs"
            | "hasprefix"
            | "hasprefix_cs"
            | "hassuffix"
            | "hassuffix_cs"
            | "in"
            | "has_any"
            | "has_all"
            | "between"
            | "matches"
    )
}

fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    let span = left.span.to(right.span);
    Expr {
        kind: ExprKind::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
        },
        span,
    }
}

fn lit(l: Literal, span: Span) -> Expr {
    Expr {
        kind: ExprKind::Literal(l),
        span,
    }
}

/// `datetime(...)`, `long(null)` and the other typed literals.
pub(crate) fn typed_literal(ty: &str, raw: &str, span: Span) -> Result<Literal> {
    let kusto = KustoType::parse(ty)
        .ok_or_else(|| KqlError::syntax(format!("unknown type '{ty}'"), span))?;
    if raw == "null" {
        return Ok(Literal::Null(kusto));
    }
    let bad = || KqlError::syntax(format!("invalid {kusto} literal '{raw}'"), span);
    Ok(match kusto {
        KustoType::Bool => match raw.to_ascii_lowercase().as_str() {
            "true" | "1" => Literal::Bool(true),
            "false" | "0" => Literal::Bool(false),
            _ => return Err(bad()),
        },
        KustoType::Int => Literal::Int(raw.parse().map_err(|_| bad())?),
        KustoType::Long => Literal::Long(raw.parse().map_err(|_| bad())?),
        KustoType::Real => Literal::Real(match raw.to_ascii_lowercase().as_str() {
            "nan" => f64::NAN,
            "+inf" | "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            _ => raw.parse().map_err(|_| bad())?,
        }),
        KustoType::Decimal => {
            raw.parse::<f64>().map_err(|_| bad())?;
            Literal::Decimal(raw.to_string())
        }
        KustoType::DateTime => Literal::DateTime(parse_datetime(raw).ok_or_else(bad)?),
        KustoType::Timespan => Literal::Timespan(parse_timespan(raw).ok_or_else(bad)?),
        KustoType::Guid => {
            let g = raw.trim();
            let hex: String = g.chars().filter(|c| *c != '-').collect();
            if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad());
            }
            Literal::Guid(g.to_ascii_lowercase())
        }
        KustoType::Dynamic => Literal::Dynamic(
            serde_json::from_str(raw)
                .map_err(|e| KqlError::syntax(format!("invalid dynamic literal: {e}"), span))?,
        ),
        KustoType::String => Literal::String(raw.to_string()),
    })
}
