//! `sort by` / `order by`, `top N by`, `take` / `limit`.

use datafusion::logical_expr::{LogicalPlan, SortExpr};

use crate::ast::{Expr, ExprKind, Literal, SortKey};
use crate::error::{KqlError, Result};
use crate::lexer::Span;
use crate::plan::{builder, df, Planner};

impl Planner<'_> {
    pub(crate) fn sort_exprs(&self, plan: &LogicalPlan, keys: &[SortKey]) -> Result<Vec<SortExpr>> {
        keys.iter()
            .map(|k| {
                Ok(self
                    .expr(&k.expr, plan.schema())?
                    .sort(k.ascending, k.nulls_first))
            })
            .collect()
    }

    pub(crate) fn sort(
        &mut self,
        plan: LogicalPlan,
        keys: &[SortKey],
        span: Span,
    ) -> Result<LogicalPlan> {
        let sorts = self.sort_exprs(&plan, keys)?;
        df(builder(plan).sort(sorts).and_then(|b| b.build()), span)
    }

    pub(crate) fn top(
        &mut self,
        plan: LogicalPlan,
        count: &Expr,
        by: &SortKey,
        span: Span,
    ) -> Result<LogicalPlan> {
        let n = row_count(count)?;
        let sorts = self.sort_exprs(&plan, std::slice::from_ref(by))?;
        df(
            builder(plan)
                .sort_with_limit(sorts, Some(n))
                .and_then(|b| b.limit(0, Some(n)))
                .and_then(|b| b.build()),
            span,
        )
    }

    pub(crate) fn take(
        &mut self,
        plan: LogicalPlan,
        count: &Expr,
        span: Span,
    ) -> Result<LogicalPlan> {
        let n = row_count(count)?;
        df(
            builder(plan).limit(0, Some(n)).and_then(|b| b.build()),
            span,
        )
    }
}

pub(crate) fn row_count(e: &Expr) -> Result<usize> {
    match &e.kind {
        ExprKind::Literal(Literal::Long(n)) if *n >= 0 => Ok(*n as usize),
        ExprKind::Literal(Literal::Int(n)) if *n >= 0 => Ok(*n as usize),
        _ => Err(KqlError::semantic(
            "expected a non-negative whole number of rows",
            e.span,
        )),
    }
}
