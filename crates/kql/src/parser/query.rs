//! Statements, tabular sources and the pipe operators.

use super::Parser;
use crate::ast::{
    ExprKind, Function, FunctionParam, Ident, LetValue, Literal, NamedExpr, Operator, OperatorKind,
    Query, QueryParameter, RenderProperty, SortKey, Source, Statement, Tabular,
};
use crate::error::{KqlError, Result};
use crate::lexer::{Span, Tok};
use crate::types::KustoType;

impl Parser<'_> {
    pub(crate) fn query(&mut self) -> Result<Query> {
        let mut statements = vec![];
        loop {
            while self.eat_punct(";")? {}
            if self.peek()?.tok == Tok::Eof {
                break;
            }
            statements.push(self.statement()?);
            if !self.eat_punct(";")? {
                break;
            }
        }
        if statements.is_empty() {
            return Err(self.unexpected("a query")?);
        }
        Ok(Query { statements })
    }

    fn statement(&mut self) -> Result<Statement> {
        if self.eat_kw("let")? {
            let name = self.ident("a name after 'let'")?;
            self.expect_punct("=")?;
            let value = self.let_value()?;
            return Ok(Statement::Let { name, value });
        }
        if self.eat_kw("set")? {
            let name = self.ident("an option name after 'set'")?;
            let value = if self.eat_punct("=")? {
                let e = self.expr()?;
                match e.kind {
                    ExprKind::Literal(l) => Some(l),
                    ExprKind::Column(name) => Some(Literal::String(name)),
                    _ => return Err(KqlError::syntax("expected a literal option value", e.span)),
                }
            } else {
                None
            };
            return Ok(Statement::Set { name, value });
        }
        if self.is_kw("declare")? {
            return self.declare();
        }
        Ok(Statement::Tabular(self.tabular()?))
    }

    /// `declare query_parameters(name: type [= default], ...)`.
    fn declare(&mut self) -> Result<Statement> {
        self.expect_kw("declare")?;
        self.expect_kw("query_parameters")?;
        self.expect_punct("(")?;
        let mut params = vec![];
        if !self.is_punct(")")? {
            loop {
                let name = self.ident("a parameter name")?;
                self.expect_punct(":")?;
                let ty = self.type_name()?;
                let default = if self.eat_punct("=")? {
                    Some(self.expr()?)
                } else {
                    None
                };
                params.push(QueryParameter { name, ty, default });
                if !self.eat_punct(",")? {
                    break;
                }
            }
        }
        self.expect_punct(")")?;
        Ok(Statement::Declare(params))
    }

    /// `render kind [with (name = value[, more list items], ...)]`.
    fn render(&mut self) -> Result<OperatorKind> {
        let kind = self.ident("a chart kind after 'render'")?;
        let mut properties = vec![];
        if self.eat_kw("with")? {
            self.expect_punct("(")?;
            let mut name = Some(self.ident("a render property name")?);
            while let Some(prop) = name.take() {
                self.expect_punct("=")?;
                let mut values = vec![self.render_value()?];
                while self.eat_punct(",")? {
                    if matches!(self.peek_tok()?, Tok::Ident(_)) {
                        let item = self.ident("a render property")?;
                        if self.is_punct("=")? {
                            name = Some(item);
                            break;
                        }
                        values.push(Literal::String(item.name));
                    } else {
                        values.push(self.render_value()?);
                    }
                }
                properties.push(RenderProperty { name: prop, values });
            }
            self.expect_punct(")")?;
        }
        Ok(OperatorKind::Render { kind, properties })
    }

    fn render_value(&mut self) -> Result<Literal> {
        let e = self.expr()?;
        match e.kind {
            ExprKind::Literal(l) => Ok(l),
            ExprKind::Column(name) => Ok(Literal::String(name)),
            _ => Err(KqlError::syntax(
                "expected a literal or a column name as a render property value",
                e.span,
            )),
        }
    }

    fn let_value(&mut self) -> Result<LetValue> {
        if let Some(f) = self.function_def()? {
            return Ok(LetValue::Function(f));
        }
        if self.starts_tabular_source()? {
            return Ok(LetValue::Tabular(self.tabular()?));
        }
        let start = self.pos()?;
        let e = self.expr()?;
        if self.is_punct("|")? {
            let ExprKind::Column(name) = e.kind else {
                return Err(KqlError::syntax("expected a table before '|'", e.span));
            };
            let source = Source::Named(Ident { name, span: e.span });
            let ops = self.operators()?;
            return Ok(LetValue::Tabular(Tabular {
                source,
                ops,
                span: self.span_from(start),
            }));
        }
        Ok(LetValue::Scalar(e))
    }

    /// `(a: long, T: (*), b: string = "x") { statements; value }`, or nothing.
    fn function_def(&mut self) -> Result<Option<Function>> {
        if !self.is_punct("(")? {
            return Ok(None);
        }
        let mark = self.save()?;
        self.next()?;
        let mut params = vec![];
        if !self.is_punct(")")? {
            loop {
                let Tok::Ident(_) = self.peek_tok()? else {
                    self.restore(mark);
                    return Ok(None);
                };
                let name = self.ident("a parameter name")?;
                if !self.eat_punct(":")? {
                    self.restore(mark);
                    return Ok(None);
                }
                let ty = if self.eat_punct("(")? {
                    // A tabular parameter: `(*)` or a schema.
                    let mut depth = 1;
                    while depth > 0 {
                        match self.next()?.tok {
                            Tok::Punct("(") => depth += 1,
                            Tok::Punct(")") => depth -= 1,
                            Tok::Eof => return Err(self.unexpected("')'")?),
                            _ => {}
                        }
                    }
                    None
                } else {
                    Some(self.type_name()?)
                };
                let default = if self.eat_punct("=")? {
                    Some(self.expr()?)
                } else {
                    None
                };
                params.push(FunctionParam { name, ty, default });
                if !self.eat_punct(",")? {
                    break;
                }
            }
        }
        if !self.eat_punct(")")? || !self.is_punct("{")? {
            self.restore(mark);
            return Ok(None);
        }
        self.expect_punct("{")?;
        let mut body = vec![];
        while self.is_kw("let")? || self.is_kw("set")? {
            body.push(self.statement()?);
            while self.eat_punct(";")? {}
        }
        let value = self.let_value()?;
        while self.eat_punct(";")? {}
        self.expect_punct("}")?;
        Ok(Some(Function {
            params,
            body,
            value: Box::new(value),
        }))
    }

    fn starts_tabular_source(&mut self) -> Result<bool> {
        Ok(self.is_kw("datatable")?
            || self.is_kw("print")?
            || self.is_kw("union")?
            || self.is_kw("range")?
            || self.is_kw("externaldata")?
            || self.is_kw("search")?
            || self.is_kw("find")?
            || self.is_kw("materialize")?)
    }

    pub(crate) fn tabular(&mut self) -> Result<Tabular> {
        let start = self.pos()?;
        let source = self.source()?;
        let ops = self.operators()?;
        Ok(Tabular {
            source,
            ops,
            span: self.span_from(start),
        })
    }

    fn operators(&mut self) -> Result<Vec<Operator>> {
        let mut ops = vec![];
        while self.eat_punct("|")? {
            ops.push(self.operator()?);
        }
        Ok(ops)
    }

    fn source(&mut self) -> Result<Source> {
        let start = self.pos()?;
        if self.eat_punct("(")? {
            let inner = self.tabular()?;
            self.expect_punct(")")?;
            return Ok(Source::Paren(Box::new(inner)));
        }
        if self.eat_kw("datatable")? {
            self.expect_punct("(")?;
            let mut columns = vec![];
            loop {
                let name = self.ident("a column name")?;
                self.expect_punct(":")?;
                let ty = self.type_name()?;
                columns.push((name, ty));
                if !self.eat_punct(",")? {
                    break;
                }
            }
            self.expect_punct(")")?;
            // `["only"]` lexes as a quoted name: a datatable of one string.
            if let Tok::QuotedIdent(v) = self.peek_tok()? {
                let t = self.next()?;
                return Ok(Source::Datatable {
                    columns,
                    values: vec![crate::ast::Expr {
                        kind: ExprKind::Literal(Literal::String(v)),
                        span: t.span,
                    }],
                    span: self.span_from(start),
                });
            }
            self.expect_punct("[")?;
            let mut values = vec![];
            if !self.is_punct("]")? {
                loop {
                    values.push(self.expr()?);
                    if !self.eat_punct(",")? || self.is_punct("]")? {
                        break;
                    }
                }
            }
            self.expect_punct("]")?;
            return Ok(Source::Datatable {
                columns,
                values,
                span: self.span_from(start),
            });
        }
        if self.eat_kw("print")? {
            let columns = self.named_exprs()?;
            return Ok(Source::Print {
                columns,
                span: self.span_from(start),
            });
        }
        if self.eat_kw("union")? {
            let union = self.union_spec()?;
            return Ok(Source::Union {
                union,
                span: self.span_from(start),
            });
        }
        if self.eat_kw("range")? {
            return self.range_source(start);
        }
        if self.eat_kw("externaldata")? || self.eat_kw("external_data")? {
            return self.externaldata(start);
        }
        if self.eat_kw("search")? {
            return self.search_source(start);
        }
        if self.eat_kw("find")? {
            return self.find_source(start);
        }
        let name = self.ident("a table name, 'datatable', 'print', 'range' or 'union'")?;
        if self.is_punct("(")? && !matches!(name.name.as_str(), "materialize" | "view") {
            self.next()?;
            let args = self.call_args()?;
            return Ok(Source::Call { name, args });
        }
        if self.is_punct("(")? {
            // materialize(T | ...) and view(...) are the query inside.
            self.next()?;
            let inner = self.tabular()?;
            self.expect_punct(")")?;
            return Ok(Source::Paren(Box::new(inner)));
        }
        Ok(Source::Named(name))
    }

    /// A Kusto type name in a schema (`a:long`, `b:float`).
    pub(crate) fn type_name(&mut self) -> Result<KustoType> {
        let t = self.next()?;
        let name = match &t.tok {
            Tok::Ident(n) => n.clone(),
            _ => {
                return Err(KqlError::syntax(
                    format!("expected a type name, found {}", t.tok.describe()),
                    t.span,
                ))
            }
        };
        KustoType::parse(&name).ok_or_else(|| {
            KqlError::syntax(
                format!(
                    "unknown type '{name}'; types are bool, int, long, real, decimal, string, datetime, timespan, guid, dynamic"
                ),
                t.span,
            )
        })
    }

    pub(crate) fn named_exprs(&mut self) -> Result<Vec<NamedExpr>> {
        let mut out = vec![];
        loop {
            out.push(self.named_expr()?);
            if !self.eat_punct(",")? {
                return Ok(out);
            }
        }
    }

    pub(crate) fn named_expr(&mut self) -> Result<NamedExpr> {
        if self.is_punct("(")? {
            // `(a, b, c) = f(x)`
            let mark = self.save()?;
            self.next()?;
            let mut names = vec![];
            while let Tok::Ident(_) | Tok::QuotedIdent(_) = self.peek_tok()? {
                names.push(self.ident("a column name")?);
                if !self.eat_punct(",")? {
                    break;
                }
            }
            if names.len() > 1 && self.eat_punct(")")? && self.eat_punct("=")? {
                let expr = self.expr()?;
                return Ok(NamedExpr {
                    name: None,
                    expr,
                    names,
                });
            }
            self.restore(mark);
        }
        let expr = self.expr()?;
        if self.is_punct("=")? {
            let name = match expr.kind {
                ExprKind::Column(name) => Ident {
                    name,
                    span: expr.span,
                },
                _ => {
                    return Err(KqlError::syntax(
                        "expected a column name before '='",
                        expr.span,
                    ))
                }
            };
            self.next()?;
            let expr = self.expr()?;
            return Ok(NamedExpr {
                name: Some(name),
                expr,
                names: vec![],
            });
        }
        Ok(NamedExpr {
            name: None,
            expr,
            names: vec![],
        })
    }

    fn sort_keys(&mut self) -> Result<Vec<SortKey>> {
        let mut keys = vec![];
        loop {
            keys.push(self.sort_key()?);
            if !self.eat_punct(",")? {
                return Ok(keys);
            }
        }
    }

    fn sort_key(&mut self) -> Result<SortKey> {
        let expr = self.expr()?;
        let ascending = if self.eat_kw("asc")? {
            true
        } else {
            self.eat_kw("desc")?;
            false
        };
        // Kusto: nulls first when ascending, last when descending, unless told.
        let mut nulls_first = ascending;
        if self.eat_kw("nulls")? {
            if self.eat_kw("first")? {
                nulls_first = true;
            } else {
                self.expect_kw("last")?;
                nulls_first = false;
            }
        }
        Ok(SortKey {
            expr,
            ascending,
            nulls_first,
        })
    }

    pub(crate) fn operator(&mut self) -> Result<Operator> {
        let start = self.pos()?;
        let Some(name) = self.hyphenated()? else {
            return Err(self.unexpected("an operator name after '|'")?);
        };
        let kind = match name.name.as_str() {
            "where" | "filter" => OperatorKind::Where(self.expr()?),
            "project" => OperatorKind::Project(self.named_exprs()?),
            "project-away" => OperatorKind::ProjectAway(self.column_patterns()?),
            "extend" => OperatorKind::Extend(self.named_exprs()?),
            "summarize" => {
                let aggregates = if self.is_kw("by")? {
                    vec![]
                } else {
                    self.named_exprs()?
                };
                let by = if self.eat_kw("by")? {
                    self.named_exprs()?
                } else {
                    vec![]
                };
                if aggregates.is_empty() && by.is_empty() {
                    return Err(self.unexpected("an aggregate or 'by'")?);
                }
                OperatorKind::Summarize { aggregates, by }
            }
            "count" => OperatorKind::Count,
            "take" | "limit" => OperatorKind::Take(self.expr()?),
            "top" => {
                let count = self.expr()?;
                self.expect_kw("by")?;
                OperatorKind::Top {
                    count,
                    by: self.sort_key()?,
                }
            }
            "sort" | "order" => {
                self.expect_kw("by")?;
                OperatorKind::Sort(self.sort_keys()?)
            }
            "distinct" => {
                if self.eat_punct("*")? {
                    OperatorKind::Distinct(vec![])
                } else {
                    let mut cols = vec![];
                    loop {
                        cols.push(self.ident("a column name or '*'")?);
                        if !self.eat_punct(",")? {
                            break;
                        }
                    }
                    OperatorKind::Distinct(cols)
                }
            }
            "union" => OperatorKind::Union(self.union_spec()?),
            "as" => OperatorKind::As(self.ident("a name after 'as'")?),
            "render" => self.render()?,
            other => match self.extra_operator(other)? {
                Some(kind) => kind,
                None => {
                    return Err(KqlError::syntax(
                        format!(
                            "unknown operator '{other}'{}",
                            crate::plan::suggest::hint(other, OPERATORS.iter().copied())
                        ),
                        name.span,
                    ))
                }
            },
        };
        Ok(Operator {
            kind,
            span: Span::new(start, self.last_end),
        })
    }
}

/// Every operator name, for "did you mean".
const OPERATORS: &[&str] = &[
    "where",
    "filter",
    "project",
    "project-away",
    "project-rename",
    "project-reorder",
    "project-keep",
    "extend",
    "summarize",
    "count",
    "take",
    "limit",
    "top",
    "sort",
    "order",
    "distinct",
    "union",
    "as",
    "render",
    "join",
    "lookup",
    "mv-expand",
    "parse",
    "parse-where",
    "make-series",
    "getschema",
    "serialize",
    "sample",
    "sample-distinct",
    "top-hitters",
    "search",
    "invoke",
];
