//! The pipe operators beyond the core: project-rename/reorder/keep, join and lookup,
//! mv-expand, parse/parse-where, make-series, getschema, serialize, sample,
//! sample-distinct, top-hitters, search, invoke; and `range` and union options.

use super::Parser;
use crate::ast::{
    Expr, ExprKind, Ident, JoinKey, Literal, MvItem, NamedExpr, OperatorKind, ParsePart, SeriesAgg,
    Source, Tabular, UnionSpec,
};
use crate::error::{KqlError, Result};
use crate::lexer::{Span, Tok};

impl Parser<'_> {
    /// A column name or pattern: `Name`, `Name*`, `*Name`, `a*b`, `['a b']`.
    pub(crate) fn column_pattern(&mut self) -> Result<Ident> {
        let start = self.pos()?;
        let mut name = String::new();
        let mut end = start;
        loop {
            let t = self.peek()?.clone();
            if !name.is_empty() && t.span.start != end {
                break;
            }
            match t.tok {
                Tok::Ident(s) | Tok::QuotedIdent(s) => name.push_str(&s),
                Tok::Punct("*") => name.push('*'),
                _ => break,
            }
            self.next()?;
            end = t.span.end;
        }
        if name.is_empty() {
            return Err(self.unexpected("a column name")?);
        }
        Ok(Ident {
            name,
            span: Span::new(start, end),
        })
    }

    pub(crate) fn column_patterns(&mut self) -> Result<Vec<Ident>> {
        let mut out = vec![];
        loop {
            out.push(self.column_pattern()?);
            if !self.eat_punct(",")? {
                return Ok(out);
            }
        }
    }

    /// `name=value` options before an operator's arguments (`kind=inner`, `hint.x=y`).
    pub(crate) fn options(&mut self, known: &[&str]) -> Result<Vec<(String, Ident)>> {
        let mut out = vec![];
        loop {
            let Tok::Ident(word) = self.peek_tok()? else {
                return Ok(out);
            };
            let is_hint = word.starts_with("hint") || word.starts_with("bagexpansion");
            if !known.contains(&word.as_str()) && !is_hint {
                return Ok(out);
            }
            let mark = self.save()?;
            self.next()?;
            // `hint.strategy=shuffle`: dotted names.
            let mut key = word.clone();
            while self.eat_punct(".")? {
                key.push('.');
                key.push_str(&self.ident("an option name")?.name);
            }
            if !self.eat_punct("=")? {
                self.restore(mark);
                return Ok(out);
            }
            let t = self.next()?;
            let value = match t.tok {
                Tok::Ident(v) | Tok::Str(v) | Tok::QuotedIdent(v) => v,
                Tok::Long(v) => v.to_string(),
                other => {
                    return Err(KqlError::syntax(
                        format!("expected an option value, found {}", other.describe()),
                        t.span,
                    ))
                }
            };
            out.push((
                key,
                Ident {
                    name: value,
                    span: t.span,
                },
            ));
        }
    }

    /// Operator names this file parses, and their arguments.
    pub(crate) fn extra_operator(&mut self, name: &str) -> Result<Option<OperatorKind>> {
        Ok(Some(match name {
            "project-rename" => {
                let mut pairs = vec![];
                loop {
                    let new = self.ident("a new column name")?;
                    self.expect_punct("=")?;
                    let old = self.ident("the column to rename")?;
                    pairs.push((new, old));
                    if !self.eat_punct(",")? {
                        break;
                    }
                }
                OperatorKind::ProjectRename(pairs)
            }
            "project-reorder" => {
                let mut cols = vec![];
                loop {
                    let c = self.column_pattern()?;
                    let dir = if self.eat_kw("asc")? || self.eat_kw("granny-asc")? {
                        Some(true)
                    } else if self.eat_kw("desc")? || self.eat_kw("granny-desc")? {
                        Some(false)
                    } else {
                        None
                    };
                    cols.push((c, dir));
                    if !self.eat_punct(",")? {
                        break;
                    }
                }
                OperatorKind::ProjectReorder(cols)
            }
            "project-keep" => OperatorKind::ProjectKeep(self.column_patterns()?),
            "join" | "lookup" => self.join(name == "lookup")?,
            "mv-expand" | "mvexpand" => self.mv_expand_items()?,
            "mv-apply" => self.mv_apply()?,
            "evaluate" => self.evaluate()?,
            "parse-kv" => self.parse_kv()?,
            "facet" => self.facet()?,
            "fork" => self.fork()?,
            "top-nested" => self.top_nested()?,
            "parse" | "parse-where" => {
                let opts = self.options(&["kind", "flags"])?;
                let kind = opts.into_iter().find(|(k, _)| k == "kind").map(|(_, v)| v);
                let expr = self.expr()?;
                self.expect_kw("with")?;
                let parts = self.parse_pattern()?;
                OperatorKind::Parse {
                    kind,
                    expr,
                    parts,
                    filter: name == "parse-where",
                }
            }
            "make-series" => self.make_series()?,
            "getschema" => OperatorKind::GetSchema,
            "serialize" => {
                let cols = if self.is_punct("|")? || self.peek_tok()? == Tok::Eof {
                    vec![]
                } else {
                    self.named_exprs()?
                };
                OperatorKind::Serialize(cols)
            }
            "sample" => OperatorKind::Sample(self.expr()?),
            "sample-distinct" => {
                let n = self.expr()?;
                self.expect_kw("of")?;
                OperatorKind::SampleDistinct(n, self.expr()?)
            }
            "top-hitters" => {
                let count = self.expr()?;
                self.expect_kw("of")?;
                let of = self.expr()?;
                let by = if self.eat_kw("by")? {
                    Some(self.expr()?)
                } else {
                    None
                };
                OperatorKind::TopHitters { count, of, by }
            }
            "search" => {
                self.options(&["kind"])?;
                OperatorKind::Search(self.expr()?)
            }
            "invoke" => {
                let name = self.ident("a function name after 'invoke'")?;
                self.expect_punct("(")?;
                let args = self.call_args()?;
                OperatorKind::Invoke { name, args }
            }
            _ => return Ok(None),
        }))
    }

    /// Arguments after `(` up to and including `)`.
    pub(crate) fn call_args(&mut self) -> Result<Vec<Expr>> {
        let mut args = vec![];
        if !self.is_punct(")")? {
            loop {
                args.push(self.expr()?);
                if !self.eat_punct(",")? {
                    break;
                }
            }
        }
        self.expect_punct(")")?;
        Ok(args)
    }

    fn join(&mut self, lookup: bool) -> Result<OperatorKind> {
        let opts = self.options(&["kind", "withsource"])?;
        let kind = opts.into_iter().find(|(k, _)| k == "kind").map(|(_, v)| v);
        let start = self.pos()?;
        let right = if self.eat_punct("(")? {
            let t = self.tabular()?;
            self.expect_punct(")")?;
            t
        } else {
            let name = self.ident("the right table of the join")?;
            Tabular {
                source: Source::Named(name),
                ops: vec![],
                span: self.span_from(start),
            }
        };
        self.expect_kw("on")?;
        let mut on = vec![];
        loop {
            let e = self.expr()?;
            collect_keys(e, &mut on)?;
            if !self.eat_punct(",")? {
                break;
            }
        }
        Ok(OperatorKind::Join {
            kind,
            right: Box::new(right),
            on,
            lookup,
        })
    }

    pub(crate) fn mv_expand_items(&mut self) -> Result<OperatorKind> {
        let opts = self.options(&["with_itemindex", "kind", "bagexpansion"])?;
        let item_index = opts
            .into_iter()
            .find(|(k, _)| k == "with_itemindex")
            .map(|(_, v)| v);
        let mut items = vec![];
        loop {
            let ne = self.named_expr_simple()?;
            let to = if self.eat_kw("to")? {
                self.expect_kw("typeof")?;
                self.expect_punct("(")?;
                let t = self.type_name()?;
                self.expect_punct(")")?;
                Some(t)
            } else {
                None
            };
            items.push(MvItem {
                name: ne.name,
                expr: ne.expr,
                to,
            });
            if !self.eat_punct(",")? {
                break;
            }
        }
        let limit = if self.eat_kw("limit")? {
            Some(self.expr()?)
        } else {
            None
        };
        Ok(OperatorKind::MvExpand {
            items,
            item_index,
            limit,
        })
    }

    fn named_expr_simple(&mut self) -> Result<NamedExpr> {
        let e = self.expr()?;
        if self.eat_punct("=")? {
            let ExprKind::Column(name) = e.kind else {
                return Err(KqlError::syntax(
                    "expected a column name before '='",
                    e.span,
                ));
            };
            return Ok(NamedExpr {
                name: Some(Ident { name, span: e.span }),
                expr: self.expr()?,
                names: vec![],
            });
        }
        Ok(NamedExpr {
            name: None,
            expr: e,
            names: vec![],
        })
    }

    /// `"text" Column:type * "more" ...` up to the next `|`.
    fn parse_pattern(&mut self) -> Result<Vec<ParsePart>> {
        let mut parts = vec![];
        loop {
            match self.peek_tok()? {
                Tok::Str(_) => {
                    let (s, _) = self.string("a pattern string")?;
                    parts.push(ParsePart::Text(s));
                }
                Tok::Punct("*") => {
                    self.next()?;
                    parts.push(ParsePart::Wildcard);
                }
                Tok::Ident(_) | Tok::QuotedIdent(_) => {
                    let name = self.ident("a column name")?;
                    let ty = if self.eat_punct(":")? {
                        Some(self.type_name()?)
                    } else {
                        None
                    };
                    parts.push(ParsePart::Column(name, ty));
                }
                _ => break,
            }
        }
        if parts.is_empty() {
            return Err(self.unexpected("a parse pattern")?);
        }
        Ok(parts)
    }

    fn make_series(&mut self) -> Result<OperatorKind> {
        self.options(&["kind"])?;
        let mut aggs = vec![];
        loop {
            let agg = self.named_expr_simple()?;
            let default = if self.eat_kw("default")? {
                self.expect_punct("=")?;
                Some(self.expr()?)
            } else {
                None
            };
            aggs.push(SeriesAgg { agg, default });
            if !self.eat_punct(",")? {
                break;
            }
        }
        self.expect_kw("on")?;
        // Not `self.expr()`: `on t in range(...)` must not read as `t in (...)`.
        let on = self.additive()?;
        let (mut from, mut to) = (None, None);
        let step;
        if self.eat_kw("in")? {
            // `in range(start, stop, step)`
            self.expect_kw("range")?;
            self.expect_punct("(")?;
            from = Some(self.expr()?);
            self.expect_punct(",")?;
            to = Some(self.expr()?);
            self.expect_punct(",")?;
            step = self.expr()?;
            self.expect_punct(")")?;
        } else {
            if self.eat_kw("from")? {
                from = Some(self.expr()?);
            }
            if self.eat_kw("to")? {
                to = Some(self.expr()?);
            }
            self.expect_kw("step")?;
            step = self.expr()?;
        }
        let by = if self.eat_kw("by")? {
            self.named_exprs()?
        } else {
            vec![]
        };
        Ok(OperatorKind::MakeSeries {
            aggs,
            on,
            from,
            to,
            step,
            by,
        })
    }

    /// `range x from a to b step s` (after `range`).
    pub(crate) fn range_source(&mut self, start: usize) -> Result<Source> {
        let name = self.ident("a column name after 'range'")?;
        self.expect_kw("from")?;
        let from = self.expr()?;
        self.expect_kw("to")?;
        let to = self.expr()?;
        self.expect_kw("step")?;
        let step = self.expr()?;
        Ok(Source::Range {
            name,
            from,
            to,
            step,
            span: self.span_from(start),
        })
    }

    /// Options and legs of `union`.
    pub(crate) fn union_spec(&mut self) -> Result<UnionSpec> {
        let opts = self.options(&["kind", "withsource", "isfuzzy"])?;
        let mut spec = UnionSpec {
            tables: vec![],
            inner: false,
            withsource: None,
        };
        for (k, v) in opts {
            match k.as_str() {
                "kind" => spec.inner = v.name.eq_ignore_ascii_case("inner"),
                "withsource" => spec.withsource = Some(v),
                _ => {}
            }
        }
        loop {
            let start = self.pos()?;
            let t = if self.is_punct("(")? {
                self.next()?;
                let t = self.tabular()?;
                self.expect_punct(")")?;
                t
            } else {
                let name = self.column_pattern()?;
                Tabular {
                    source: Source::Named(name),
                    ops: vec![],
                    span: self.span_from(start),
                }
            };
            spec.tables.push(t);
            if !self.eat_punct(",")? {
                break;
            }
        }
        Ok(spec)
    }
}

/// `a`, `$left.a == $right.b`, and `and` of those.
fn collect_keys(e: Expr, out: &mut Vec<JoinKey>) -> Result<()> {
    use crate::ast::BinaryOp;
    match e.kind {
        ExprKind::Column(name) => {
            let id = Ident { name, span: e.span };
            out.push(JoinKey {
                left: id.clone(),
                right: id,
            });
            Ok(())
        }
        ExprKind::Binary {
            op: BinaryOp::And,
            left,
            right,
        } => {
            collect_keys(*left, out)?;
            collect_keys(*right, out)
        }
        ExprKind::Binary {
            op: BinaryOp::Eq,
            left,
            right,
        } => {
            let side = |x: &Expr| -> Option<(String, Ident)> {
                match &x.kind {
                    ExprKind::Index { base, key } => match (&base.kind, &key.kind) {
                        (ExprKind::Column(b), ExprKind::Literal(Literal::String(k))) => Some((
                            b.clone(),
                            Ident {
                                name: k.clone(),
                                span: key.span,
                            },
                        )),
                        _ => None,
                    },
                    _ => None,
                }
            };
            match (side(&left), side(&right)) {
                (Some((l, a)), Some((r, b))) if l == "$left" && r == "$right" => {
                    out.push(JoinKey { left: a, right: b });
                    Ok(())
                }
                (Some((l, a)), Some((r, b))) if l == "$right" && r == "$left" => {
                    out.push(JoinKey { left: b, right: a });
                    Ok(())
                }
                _ => Err(KqlError::syntax(
                    "join keys are column names or $left.Column == $right.Column",
                    e.span,
                )),
            }
        }
        _ => Err(KqlError::syntax(
            "join keys are column names or $left.Column == $right.Column",
            e.span,
        )),
    }
}
