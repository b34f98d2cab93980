//! The pipe operators, one file each. `Planner::operator` dispatches on the operator.

mod distinct;
mod extend;
mod filter;
mod project;
mod sort;
mod source;
mod summarize;
pub(crate) mod union;

use datafusion::logical_expr::LogicalPlan;

use super::Planner;
use crate::ast::{Operator, OperatorKind};
use crate::error::Result;

impl Planner<'_> {
    pub(crate) fn operator(&mut self, plan: LogicalPlan, op: &Operator) -> Result<LogicalPlan> {
        match &op.kind {
            OperatorKind::Where(pred) => self.filter(plan, pred, op.span),
            OperatorKind::Project(cols) => self.project(plan, cols, op.span),
            OperatorKind::ProjectAway(cols) => self.project_away(plan, cols, op.span),
            OperatorKind::Extend(cols) => self.extend(plan, cols, op.span),
            OperatorKind::Summarize { aggregates, by } => {
                self.summarize(plan, aggregates, by, op.span)
            }
            OperatorKind::Count => self.count(plan, op.span),
            OperatorKind::Take(n) => self.take(plan, n, op.span),
            OperatorKind::Top { count, by } => self.top(plan, count, by, op.span),
            OperatorKind::Sort(keys) => self.sort(plan, keys, op.span),
            OperatorKind::Distinct(cols) => self.distinct(plan, cols, op.span),
            OperatorKind::Union(others) => {
                let mut plans = vec![plan];
                for t in others {
                    plans.push(self.tabular(t)?);
                }
                union::union_all(plans, op.span)
            }
            // Presentation only: the planner reads it off the result set.
            OperatorKind::Render { .. } => Ok(plan),
            OperatorKind::As(name) => {
                self.bind_tabular(&name.name, plan.clone());
                Ok(plan)
            }
        }
    }
}
