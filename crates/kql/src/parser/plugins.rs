//! Sources and operators beyond the core: `externaldata`, `search` and `find` as
//! sources, `evaluate plugin(...)`, `parse-kv`, `facet`, `fork`, `top-nested` and
//! `mv-apply`.

use super::Parser;
use crate::ast::{ExprKind, Ident, Literal, NestedLevel, OperatorKind, Source, Tabular, WithProps};
use crate::error::{KqlError, Result};
use crate::lexer::Tok;
use crate::types::KustoType;

impl Parser<'_> {
    /// `(name: type, ...)`.
    pub(crate) fn schema_list(&mut self) -> Result<Vec<(Ident, KustoType)>> {
        self.expect_punct("(")?;
        let mut columns = vec![];
        loop {
            let name = self.ident("a column name")?;
            self.expect_punct(":")?;
            columns.push((name, self.type_name()?));
            if !self.eat_punct(",")? {
                break;
            }
        }
        self.expect_punct(")")?;
        Ok(columns)
    }

    /// `with (name = value, ...)` if present.
    pub(crate) fn with_props(&mut self) -> Result<WithProps> {
        let mut props = vec![];
        if !self.eat_kw("with")? {
            return Ok(props);
        }
        self.expect_punct("(")?;
        if !self.is_punct(")")? {
            loop {
                let name = self.ident("a property name")?;
                self.expect_punct("=")?;
                let e = self.expr()?;
                let value = match e.kind {
                    ExprKind::Literal(l) => l,
                    ExprKind::Column(c) => Literal::String(c),
                    _ => {
                        return Err(KqlError::syntax(
                            "expected a literal property value",
                            e.span,
                        ))
                    }
                };
                props.push((name.name, value));
                if !self.eat_punct(",")? {
                    break;
                }
            }
        }
        self.expect_punct(")")?;
        Ok(props)
    }

    /// After `externaldata`: `(schema) [uris] [with (...)]`.
    pub(crate) fn externaldata(&mut self, start: usize) -> Result<Source> {
        let columns = self.schema_list()?;
        let mut uris = vec![];
        if let Tok::QuotedIdent(v) = self.peek_tok()? {
            let t = self.next()?;
            uris.push(crate::ast::Expr {
                kind: ExprKind::Literal(Literal::String(v)),
                span: t.span,
            });
        } else {
            self.expect_punct("[")?;
            loop {
                uris.push(self.expr()?);
                if !self.eat_punct(",")? {
                    break;
                }
            }
            self.expect_punct("]")?;
        }
        let props = self.with_props()?;
        Ok(Source::External {
            columns,
            uris,
            props,
            span: self.span_from(start),
        })
    }

    /// `in (T1, T2)` if present.
    fn in_tables(&mut self) -> Result<Vec<Ident>> {
        let mut tables = vec![];
        if self.eat_kw("in")? {
            self.expect_punct("(")?;
            loop {
                tables.push(self.column_pattern()?);
                if !self.eat_punct(",")? {
                    break;
                }
            }
            self.expect_punct(")")?;
        }
        Ok(tables)
    }

    /// After `search` at the start of a query: `[kind=...] [in (T, ...)] predicate`.
    pub(crate) fn search_source(&mut self, start: usize) -> Result<Source> {
        self.options(&["kind"])?;
        let tables = self.in_tables()?;
        let pred = self.expr()?;
        Ok(Source::Search {
            tables,
            pred,
            project: None,
            span: self.span_from(start),
        })
    }

    /// After `find`: `[in (T, ...)] where predicate [project a, b | project-smart]`.
    pub(crate) fn find_source(&mut self, start: usize) -> Result<Source> {
        self.options(&["withsource", "datascope"])?;
        let tables = self.in_tables()?;
        self.expect_kw("where")?;
        let pred = self.expr()?;
        let project = if self.eat_kw("project")? {
            Some(self.column_patterns()?)
        } else {
            self.eat_kw("project-smart")?;
            Some(vec![])
        };
        Ok(Source::Search {
            tables,
            pred,
            project,
            span: self.span_from(start),
        })
    }

    /// After `evaluate`: `[hints] plugin(args)`.
    pub(crate) fn evaluate(&mut self) -> Result<OperatorKind> {
        self.options(&[])?;
        let name = self.ident("a plugin name after 'evaluate'")?;
        self.expect_punct("(")?;
        let args = self.call_args()?;
        Ok(OperatorKind::Evaluate { name, args })
    }

    /// After `parse-kv`: `expr as (schema) [with (...)]`.
    pub(crate) fn parse_kv(&mut self) -> Result<OperatorKind> {
        let expr = self.expr()?;
        self.expect_kw("as")?;
        let columns = self.schema_list()?;
        let props = self.with_props()?;
        Ok(OperatorKind::ParseKv {
            expr,
            columns,
            props,
        })
    }

    /// After `facet`: `by col, ... [with (subquery-operators)]`.
    pub(crate) fn facet(&mut self) -> Result<OperatorKind> {
        self.expect_kw("by")?;
        let columns = self.column_patterns()?;
        let mut with = None;
        if self.eat_kw("with")? {
            self.expect_punct("(")?;
            with = Some(self.subquery_ops()?);
            self.expect_punct(")")?;
        }
        Ok(OperatorKind::Facet { columns, with })
    }

    /// After `fork`: `[name =] (operators) ...`.
    pub(crate) fn fork(&mut self) -> Result<OperatorKind> {
        let mut prongs = vec![];
        loop {
            let mark = self.save()?;
            let mut name = None;
            if let Tok::Ident(_) = self.peek_tok()? {
                let n = self.ident("a fork name")?;
                if self.eat_punct("=")? {
                    name = Some(n);
                } else {
                    self.restore(mark);
                    break;
                }
            }
            if !self.eat_punct("(")? {
                break;
            }
            let ops = self.subquery_ops()?;
            self.expect_punct(")")?;
            prongs.push((name, ops));
        }
        if prongs.is_empty() {
            return Err(KqlError::syntax(
                "fork needs one or more (operators) in parentheses",
                self.peek()?.span,
            ));
        }
        Ok(OperatorKind::Fork(prongs))
    }

    /// Operators of a subquery (`fork`, `facet ... with`, `mv-apply ... on`): the first
    /// without a leading `|`.
    fn subquery_ops(&mut self) -> Result<Tabular> {
        let start = self.pos()?;
        self.eat_punct("|")?;
        let mut ops = vec![self.operator()?];
        while self.eat_punct("|")? {
            ops.push(self.operator()?);
        }
        Ok(Tabular {
            source: Source::Named(Ident {
                name: String::new(),
                span: self.span_from(start),
            }),
            ops,
            span: self.span_from(start),
        })
    }

    /// After `top-nested`: levels separated by commas.
    pub(crate) fn top_nested(&mut self) -> Result<OperatorKind> {
        let mut levels = vec![];
        loop {
            if !levels.is_empty() {
                let span = self.peek()?.span;
                if self.hyphenated()?.map(|n| n.name) != Some("top-nested".into()) {
                    return Err(KqlError::syntax("expected 'top-nested' after ','", span));
                }
            }
            let count = if self.is_kw("of")? {
                None
            } else {
                Some(self.expr()?)
            };
            self.expect_kw("of")?;
            let of = self.named_expr()?;
            let others = if self.eat_kw("with")? {
                self.expect_kw("others")?;
                self.expect_punct("=")?;
                Some(self.expr()?)
            } else {
                None
            };
            self.expect_kw("by")?;
            let by = self.named_expr()?;
            let desc = !self.eat_kw("asc")?;
            self.eat_kw("desc")?;
            levels.push(NestedLevel {
                count,
                of,
                others,
                by,
                desc,
            });
            if !self.eat_punct(",")? {
                break;
            }
        }
        Ok(OperatorKind::TopNested(levels))
    }

    /// After `mv-apply`: `items [limit n] on (subquery)`.
    pub(crate) fn mv_apply(&mut self) -> Result<OperatorKind> {
        let OperatorKind::MvExpand {
            items,
            item_index,
            limit,
        } = self.mv_expand_items()?
        else {
            unreachable!("mv_expand_items returns MvExpand")
        };
        self.expect_kw("on")?;
        self.expect_punct("(")?;
        let sub = self.subquery_ops()?;
        self.expect_punct(")")?;
        Ok(OperatorKind::MvApply {
            items,
            item_index,
            limit,
            sub: Box::new(sub),
        })
    }
}
