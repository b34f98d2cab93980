//! `top-nested` (hierarchical top-N: each level ranks its groups within the groups kept
//! by the level above) and `mv-apply` (a subquery over each row's expanded array).
//!
//! `mv-apply` numbers the input rows, expands them, runs the subquery with the row
//! number added to every grouping (`summarize ... by`, `top`, `take`, `sort`) and
//! joins the result back to the rest of each row: a row whose subquery gives no row is
//! dropped, as in Kusto.

use datafusion::common::{Column, JoinType};
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{lit, Expr as DfExpr, ExprFunctionExt, LogicalPlan};

use crate::ast::{Expr, ExprKind, Ident, MvItem, NamedExpr, NestedLevel, OperatorKind, Tabular};
use crate::error::{KqlError, Result};
use crate::lexer::Span;
use crate::plan::functions::aggregate::{self, Role};
use crate::plan::naming::{aggregate_name, key_name};
use crate::plan::ops::sort::row_count;
use crate::plan::{builder, df, Planner};

const ROW: &str = "__kql_row";
const RANK: &str = "__kql_rank";

fn column(name: &str) -> DfExpr {
    DfExpr::Column(Column::from_name(name))
}

impl Planner<'_> {
    pub(crate) fn top_nested(
        &mut self,
        plan: LogicalPlan,
        levels: &[NestedLevel],
        span: Span,
    ) -> Result<LogicalPlan> {
        let schema = plan.schema().clone();
        let mut keys: Vec<(String, DfExpr)> = vec![];
        let mut shown: Vec<String> = vec![];
        let mut kept: Option<LogicalPlan> = None;
        for level in levels {
            if level.others.is_some() {
                return Err(KqlError::semantic(
                    "top-nested: 'with others' is not supported",
                    level.of.expr.span,
                ));
            }
            let key = match &level.of.name {
                Some(n) => n.name.clone(),
                None => {
                    key_name(&level.of.expr).unwrap_or_else(|| format!("Column{}", keys.len() + 1))
                }
            };
            keys.push((key.clone(), self.expr(&level.of.expr, &schema)?));
            let ExprKind::Call { name, args } = &level.by.expr.kind else {
                return Err(KqlError::semantic(
                    "top-nested: 'by' needs an aggregate such as count() or sum(x)",
                    level.by.expr.span,
                ));
            };
            let agg_name = match &level.by.name {
                Some(n) => n.name.clone(),
                None => format!("aggregated_{key}"),
            };
            let _ = aggregate_name;
            let outs = aggregate::lower(
                self,
                name,
                args,
                &schema,
                Some(&agg_name),
                &[],
                level.by.expr.span,
            )?;
            let agg = outs
                .into_iter()
                .find(|o| o.role == Role::Shown)
                .ok_or_else(|| {
                    KqlError::semantic("top-nested: this aggregate has no single value", span)
                })?;
            let groups: Vec<DfExpr> = keys
                .iter()
                .map(|(n, e)| e.clone().alias(n.clone()))
                .collect();
            let mut level_plan = df(
                builder(plan.clone())
                    .aggregate(groups, vec![agg.expr.alias(agg_name.clone())])
                    .and_then(|b| b.build()),
                span,
            )?;
            let parents: Vec<String> = keys[..keys.len() - 1]
                .iter()
                .map(|(n, _)| n.clone())
                .collect();
            if let Some(k) = kept.take() {
                // Keep only the groups whose parents the level above kept.
                let right = df(
                    builder(k)
                        .project(
                            shown
                                .iter()
                                .map(|n| column(n).alias(format!("__p_{n}")))
                                .collect::<Vec<_>>(),
                        )
                        .and_then(|b| b.build()),
                    span,
                )?;
                let on: Vec<(Column, Column)> = parents
                    .iter()
                    .map(|p| (Column::from_name(p), Column::from_name(format!("__p_{p}"))))
                    .collect();
                let (l, r): (Vec<Column>, Vec<Column>) = on.into_iter().unzip();
                level_plan = df(
                    builder(level_plan)
                        .join(right, JoinType::Inner, (l, r), None)
                        .and_then(|b| b.build()),
                    span,
                )?;
            }
            let rank = row_number()
                .partition_by(parents.iter().map(|p| column(p)).collect())
                .order_by(vec![column(&agg_name).sort(!level.desc, false)])
                .build()
                .map_err(|e| KqlError::semantic(e.strip_backtrace(), span))?
                .alias(RANK);
            let mut b = df(builder(level_plan).window(vec![rank]), span)?;
            if let Some(n) = &level.count {
                let n = row_count(n)? as i64;
                b = df(b.filter(column(RANK).lt_eq(lit(n as u64))), span)?;
            }
            shown.push(key.clone());
            shown.push(agg_name.clone());
            let mut cols: Vec<DfExpr> = vec![];
            for n in &shown {
                if n == &agg_name || n == &key {
                    cols.push(column(n));
                } else {
                    cols.push(column(&format!("__p_{n}")).alias(n.clone()));
                }
            }
            kept = Some(df(b.project(cols).and_then(|b| b.build()), span)?);
        }
        kept.ok_or_else(|| KqlError::semantic("top-nested needs a level", span))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn mv_apply(
        &mut self,
        plan: LogicalPlan,
        items: &[MvItem],
        item_index: Option<&Ident>,
        limit: Option<&Expr>,
        sub: &Tabular,
        span: Span,
    ) -> Result<LogicalPlan> {
        let numbered = df(
            builder(plan)
                .window(vec![row_number().alias(ROW)])
                .and_then(|b| b.build()),
            span,
        )?;
        let expanded = self.mv_expand(numbered.clone(), items, item_index, limit, false, span)?;
        let mut applied = expanded;
        // `sort by x | take n` inside takes the first n in that order.
        let mut order: Vec<crate::ast::SortKey> = vec![];
        for op in &sub.ops {
            if let OperatorKind::Sort(keys) = &op.kind {
                order = keys.clone();
            }
            let kind = with_row(&op.kind, span)?;
            let op = crate::ast::Operator {
                kind,
                span: op.span,
            };
            applied = match &op.kind {
                OperatorKind::Top { count, by } => {
                    let keys = self.sort_exprs(&applied, std::slice::from_ref(by))?;
                    first_per_row(applied, keys, row_count(count)?, span)?
                }
                OperatorKind::Take(count) => {
                    let keys = self.sort_exprs(&applied, &order)?;
                    first_per_row(applied, keys, row_count(count)?, span)?
                }
                _ => self.operator(applied, &op)?,
            };
            if applied.schema().field_with_unqualified_name(ROW).is_err() {
                return Err(KqlError::semantic(
                    "mv-apply: this operator is not supported inside the subquery",
                    op.span,
                ));
            }
        }
        // The rest of each row, minus the expanded columns and what the subquery made.
        let made: Vec<String> = applied
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|n| n != ROW)
            .collect();
        let expanded_names: Vec<String> = items
            .iter()
            .filter_map(|i| match (&i.name, &i.expr.kind) {
                (Some(n), _) => Some(n.name.clone()),
                (None, ExprKind::Column(c)) => Some(c.clone()),
                _ => None,
            })
            .collect();
        let rest: Vec<String> = numbered
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|n| !made.contains(n) && !expanded_names.contains(n))
            .collect();
        let left = df(
            builder(numbered)
                .project(rest.iter().map(|n| column(n)).collect::<Vec<_>>())
                .and_then(|b| b.build()),
            span,
        )?;
        let right = df(
            builder(applied)
                .project(
                    std::iter::once(column(ROW).alias("__kql_row_r"))
                        .chain(made.iter().map(|n| column(n)))
                        .collect::<Vec<_>>(),
                )
                .and_then(|b| b.build()),
            span,
        )?;
        let out: Vec<DfExpr> = rest
            .iter()
            .filter(|n| *n != ROW)
            .chain(made.iter())
            .map(|n| column(n))
            .collect();
        df(
            builder(left)
                .join(
                    right,
                    JoinType::Inner,
                    (
                        vec![Column::from_name(ROW)],
                        vec![Column::from_name("__kql_row_r")],
                    ),
                    None,
                )
                .and_then(|b| b.sort(vec![column(ROW).sort(true, false)]))
                .and_then(|b| b.project(out))
                .and_then(|b| b.build()),
            span,
        )
    }
}

/// The first `n` rows of each input row's group (`__kql_row`) in the order of `keys`.
fn first_per_row(
    plan: LogicalPlan,
    keys: Vec<datafusion::logical_expr::SortExpr>,
    n: usize,
    span: Span,
) -> Result<LogicalPlan> {
    let rank = row_number()
        .partition_by(vec![column(ROW)])
        .order_by(keys)
        .build()
        .map_err(|e| KqlError::semantic(e.strip_backtrace(), span))?
        .alias(RANK);
    let cols: Vec<DfExpr> = plan
        .schema()
        .columns()
        .into_iter()
        .map(DfExpr::Column)
        .collect();
    df(
        builder(plan)
            .window(vec![rank])
            .and_then(|b| b.filter(column(RANK).lt_eq(lit(n as u64))))
            .and_then(|b| b.project(cols))
            .and_then(|b| b.build()),
        span,
    )
}

/// A subquery operator of `mv-apply` with the row number added to its groupings.
fn with_row(kind: &OperatorKind, span: Span) -> Result<OperatorKind> {
    let row = || NamedExpr {
        name: None,
        expr: Expr {
            kind: ExprKind::Column(ROW.into()),
            span,
        },
        names: vec![],
    };
    Ok(match kind {
        OperatorKind::Summarize { aggregates, by } => OperatorKind::Summarize {
            aggregates: aggregates.clone(),
            by: std::iter::once(row()).chain(by.iter().cloned()).collect(),
        },
        OperatorKind::Project(cols) => {
            OperatorKind::Project(std::iter::once(row()).chain(cols.iter().cloned()).collect())
        }
        OperatorKind::Count => OperatorKind::Summarize {
            aggregates: vec![NamedExpr {
                name: Some(Ident {
                    name: "Count".into(),
                    span,
                }),
                expr: Expr {
                    kind: ExprKind::Call {
                        name: Ident {
                            name: "count".into(),
                            span,
                        },
                        args: vec![],
                    },
                    span,
                },
                names: vec![],
            }],
            by: vec![row()],
        },
        other => other.clone(),
    })
}
