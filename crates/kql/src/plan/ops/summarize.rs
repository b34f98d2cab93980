//! `summarize aggregates by keys` and `count`. Output: the keys, then the aggregates.
//! An aggregate inside a larger expression (`round(avg(x), 2)`) is computed under a
//! hidden name and the expression is evaluated on top.

use datafusion::common::Column;
use datafusion::logical_expr::{Expr as DfExpr, LogicalPlan};

use crate::ast::{Expr, ExprKind, Ident, NamedExpr};
use crate::error::{KqlError, Result};
use crate::lexer::Span;
use crate::plan::functions::aggregate::{self, is_aggregate, Role};
use crate::plan::naming::{key_name, ColumnNamer};
use crate::plan::{builder, df, Planner};

impl Planner<'_> {
    pub(crate) fn summarize(
        &mut self,
        plan: LogicalPlan,
        aggregates: &[NamedExpr],
        by: &[NamedExpr],
        span: Span,
    ) -> Result<LogicalPlan> {
        let schema = plan.schema().clone();
        let mut namer = ColumnNamer::default();
        let mut key_names: Vec<String> = vec![];
        let mut group_exprs = vec![];
        for k in by {
            let name = match &k.name {
                Some(n) => n.name.clone(),
                None => key_name(&k.expr)
                    .unwrap_or_else(|| namer.next_name(&|n| key_names.iter().any(|k| k == n))),
            };
            if key_names.contains(&name) {
                return Err(KqlError::semantic(
                    format!("summarize: '{name}' appears twice in 'by'"),
                    k.expr.span,
                ));
            }
            group_exprs.push(self.expr(&k.expr, &schema)?.alias(name.clone()));
            key_names.push(name);
        }

        let mut agg_exprs = vec![];
        // Final columns after the keys: an aggregate output, or an expression over them.
        let mut finals: Vec<(String, Final)> = vec![];
        let mut hidden = 0usize;
        for a in aggregates {
            match &a.expr.kind {
                ExprKind::Call { name, args } if is_aggregate(&name.name) => {
                    let alias = a.name.as_ref().map(|n| n.name.as_str());
                    for out in
                        aggregate::lower(self, name, args, &schema, alias, &key_names, a.expr.span)?
                    {
                        let mut out = out;
                        if alias.is_none() && out.role != Role::Hidden {
                            // `arg_max(t, v), arg_min(t, v)`: the second `t` is `t1`.
                            out.name = unique_name(&out.name, &key_names, &finals);
                        }
                        match out.role {
                            Role::Shown => {
                                agg_exprs.push(out.expr.alias(out.name.clone()));
                                finals.push((
                                    out.name.clone(),
                                    Final::Ready(DfExpr::Column(Column::from_name(out.name))),
                                ));
                            }
                            Role::Hidden => agg_exprs.push(out.expr.alias(out.name)),
                            Role::After => finals.push((out.name, Final::Ready(out.expr))),
                        }
                    }
                }
                _ => {
                    let mut calls = vec![];
                    let rewritten = extract_aggregates(&a.expr, &mut calls, &mut hidden);
                    if calls.is_empty() {
                        return Err(KqlError::semantic(
                            "summarize needs an aggregate function here (count(), sum(), avg(), ...)",
                            a.expr.span,
                        ));
                    }
                    for (hidden_name, call_name, args, call_span) in calls {
                        for out in aggregate::lower(
                            self,
                            &call_name,
                            &args,
                            &schema,
                            Some(&hidden_name),
                            &key_names,
                            call_span,
                        )? {
                            if out.role != Role::After {
                                agg_exprs.push(out.expr.alias(out.name));
                            }
                        }
                    }
                    let name = match &a.name {
                        Some(n) => n.name.clone(),
                        None => namer.next_name(&|n| {
                            key_names
                                .iter()
                                .chain(finals.iter().map(|f| &f.0))
                                .any(|k| k == n)
                        }),
                    };
                    finals.push((name, Final::Outer(rewritten)));
                }
            }
        }
        let aggregated = df(
            builder(plan)
                .aggregate(group_exprs, agg_exprs)
                .and_then(|b| b.build()),
            span,
        )?;
        let agg_schema = aggregated.schema().clone();
        let mut seen: Vec<&str> = key_names.iter().map(|s| s.as_str()).collect();
        for (n, _) in &finals {
            if seen.contains(&n.as_str()) {
                return Err(KqlError::semantic(
                    format!("summarize: column '{n}' is produced twice; name one of them"),
                    span,
                ));
            }
            seen.push(n);
        }
        let mut exprs: Vec<DfExpr> = key_names
            .iter()
            .map(|k| DfExpr::Column(Column::from_name(k.clone())))
            .collect();
        for (n, f) in finals {
            let x = match f {
                Final::Ready(x) => x,
                Final::Outer(e) => self.expr(&e, &agg_schema)?,
            };
            exprs.push(x.alias(n));
        }
        df(
            builder(aggregated).project(exprs).and_then(|b| b.build()),
            span,
        )
    }

    pub(crate) fn count(&mut self, plan: LogicalPlan, span: Span) -> Result<LogicalPlan> {
        let count =
            datafusion::functions_aggregate::expr_fn::count(datafusion::logical_expr::lit(1i64))
                .alias("Count");
        df(
            builder(plan)
                .aggregate(Vec::<DfExpr>::new(), vec![count])
                .and_then(|b| b.build()),
            span,
        )
    }
}

/// `name`, or `name1`, `name2`, ... when a key or an earlier output has it.
fn unique_name(name: &str, keys: &[String], finals: &[(String, Final)]) -> String {
    let taken = |n: &str| keys.iter().any(|k| k == n) || finals.iter().any(|(f, _)| f == n);
    if !taken(name) {
        return name.to_string();
    }
    (1..)
        .map(|i| format!("{name}{i}"))
        .find(|n| !taken(n))
        .expect("a free name")
}

enum Final {
    Ready(DfExpr),
    Outer(Expr),
}

type ExtractedCall = (String, Ident, Vec<Expr>, Span);

/// Replaces aggregate calls in `e` by references to hidden columns, collecting them.
fn extract_aggregates(e: &Expr, calls: &mut Vec<ExtractedCall>, hidden: &mut usize) -> Expr {
    let kind = match &e.kind {
        ExprKind::Call { name, args } if is_aggregate(&name.name) => {
            *hidden += 1;
            let hidden_name = format!("__agg{hidden}");
            calls.push((hidden_name.clone(), name.clone(), args.clone(), e.span));
            ExprKind::Column(hidden_name)
        }
        ExprKind::Call { name, args } => ExprKind::Call {
            name: name.clone(),
            args: args
                .iter()
                .map(|a| extract_aggregates(a, calls, hidden))
                .collect(),
        },
        ExprKind::Binary { op, left, right } => ExprKind::Binary {
            op: *op,
            left: Box::new(extract_aggregates(left, calls, hidden)),
            right: Box::new(extract_aggregates(right, calls, hidden)),
        },
        ExprKind::Not(x) => ExprKind::Not(Box::new(extract_aggregates(x, calls, hidden))),
        ExprKind::Neg(x) => ExprKind::Neg(Box::new(extract_aggregates(x, calls, hidden))),
        other => other.clone(),
    };
    Expr { kind, span: e.span }
}
