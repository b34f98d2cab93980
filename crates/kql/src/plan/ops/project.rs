//! `project` and `project-away`.

use datafusion::common::Column;
use datafusion::logical_expr::{Expr as DfExpr, LogicalPlan};

use crate::ast::{ExprKind, Ident, NamedExpr};
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
                (None, ExprKind::Column(n)) => n.clone(),
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
        df(builder(plan).project(exprs).and_then(|b| b.build()), span)
    }

    pub(crate) fn project_away(
        &mut self,
        plan: LogicalPlan,
        cols: &[Ident],
        span: Span,
    ) -> Result<LogicalPlan> {
        let schema = plan.schema().clone();
        for c in cols {
            if !schema.fields().iter().any(|f| f.name() == &c.name) {
                return Err(KqlError::semantic(
                    format!("project-away: no column named '{}'", c.name),
                    c.span,
                ));
            }
        }
        let keep: Vec<DfExpr> = schema
            .iter()
            .filter(|(_, f)| !cols.iter().any(|c| &c.name == f.name()))
            .map(|(q, f)| DfExpr::Column(Column::new(q.cloned(), f.name())))
            .collect();
        df(builder(plan).project(keep).and_then(|b| b.build()), span)
    }
}
