//! `distinct a, b` and `distinct *`.

use datafusion::logical_expr::{Expr as DfExpr, LogicalPlan};

use crate::ast::Ident;
use crate::error::Result;
use crate::lexer::Span;
use crate::plan::{builder, df, Planner};

impl Planner<'_> {
    pub(crate) fn distinct(
        &mut self,
        plan: LogicalPlan,
        cols: &[Ident],
        span: Span,
    ) -> Result<LogicalPlan> {
        if cols.is_empty() {
            return df(builder(plan).distinct().and_then(|b| b.build()), span);
        }
        let mut keys = vec![];
        for c in cols {
            let e = crate::ast::Expr {
                kind: crate::ast::ExprKind::Column(c.name.clone()),
                span: c.span,
            };
            keys.push(self.expr(&e, plan.schema())?.alias(c.name.clone()));
        }
        df(
            builder(plan)
                .aggregate(keys, Vec::<DfExpr>::new())
                .and_then(|b| b.build()),
            span,
        )
    }
}
