//! `extend`: new columns at the end; a name that exists is replaced in place.

use datafusion::common::Column;
use datafusion::logical_expr::{Expr as DfExpr, LogicalPlan};

use crate::ast::{ExprKind, NamedExpr};
use crate::error::Result;
use crate::lexer::Span;
use crate::plan::naming::ColumnNamer;
use crate::plan::{builder, df, Planner};

impl Planner<'_> {
    pub(crate) fn extend(
        &mut self,
        mut plan: LogicalPlan,
        cols: &[NamedExpr],
        span: Span,
    ) -> Result<LogicalPlan> {
        let mut namer = ColumnNamer::default();
        // One projection per new column, so a later column can use an earlier one.
        for c in cols {
            let schema = plan.schema().clone();
            let mut out: Vec<(String, DfExpr)> = schema
                .iter()
                .map(|(q, f)| {
                    (
                        f.name().clone(),
                        DfExpr::Column(Column::new(q.cloned(), f.name())),
                    )
                })
                .collect();
            let x = self.expr(&c.expr, &schema)?;
            let name = match (&c.name, &c.expr.kind) {
                (Some(n), _) => n.name.clone(),
                (None, ExprKind::Column(n)) => n.clone(),
                (None, _) => namer.next_name(&|n| out.iter().any(|(m, _)| m == n)),
            };
            match out.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = x,
                None => out.push((name, x)),
            }
            let exprs: Vec<DfExpr> = out.into_iter().map(|(n, x)| x.alias(n)).collect();
            plan = df(builder(plan).project(exprs).and_then(|b| b.build()), span)?;
        }
        Ok(plan)
    }
}
