//! `project` and `project-away`.

use datafusion::logical_expr::{Expr as DfExpr, LogicalPlan};

use crate::ast::NamedExpr;
use crate::error::{KqlError, Result};
use crate::lexer::Span;
use crate::plan::naming::ColumnNamer;
use crate::plan::{builder, df, Planner};

impl Planner<'_> {
    pub(crate) fn project(
        &mut self,
        plan: LogicalPlan,
        cols: &[NamedExpr],
        span: Span,
    ) -> Result<LogicalPlan> {
        let mut exprs: Vec<DfExpr> = vec![];
        let mut names: Vec<String> = vec![];
        let mut namer = ColumnNamer::default();
        for c in cols {
            let x = self.expr(&c.expr, plan.schema())?;
            let name = match (&c.name, &c.expr.kind) {
                (Some(n), _) => n.name.clone(),
                (None, _) if crate::plan::naming::expr_name(&c.expr).is_some() => {
                    crate::plan::naming::expr_name(&c.expr).expect("checked")
                }
                (None, _) => {
                    let schema = plan.schema().clone();
                    namer.next_name(&|n| {
                        schema.fields().iter().any(|f| f.name() == n)
                            || names.iter().any(|x| x == n)
                    })
                }
            };
            if names.contains(&name) {
                return Err(KqlError::semantic(
                    format!("column '{name}' is projected twice"),
                    c.expr.span,
                ));
            }
            names.push(name.clone());
            exprs.push(x.alias(name));
        }
        let plan = super::misc::hoist_windows(plan, &exprs, span)?;
        df(builder(plan).project(exprs).and_then(|b| b.build()), span)
    }
}
