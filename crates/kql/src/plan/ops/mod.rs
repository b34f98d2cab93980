//! The pipe operators, one file each. `Planner::operator` dispatches on the operator.

mod distinct;
mod extend;
mod filter;
mod join;
mod make_series;
pub(crate) mod misc;
mod mv_expand;
mod nested;
mod parse;
mod plugins;
mod project;
mod project_more;
pub(crate) mod sort;
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
            OperatorKind::ProjectAway(cols) => self.project_away_patterns(plan, cols, op.span),
            OperatorKind::ProjectRename(pairs) => self.project_rename(plan, pairs, op.span),
            OperatorKind::ProjectReorder(cols) => self.project_reorder(plan, cols, op.span),
            OperatorKind::ProjectKeep(cols) => self.project_keep(plan, cols, op.span),
            OperatorKind::Join {
                kind,
                right,
                on,
                lookup,
            } => self.join(plan, kind.as_ref(), right, on, *lookup, op.span),
            OperatorKind::MvExpand {
                items,
                item_index,
                limit,
            } => self.mv_expand(
                plan,
                items,
                item_index.as_ref(),
                limit.as_ref(),
                false,
                op.span,
            ),
            OperatorKind::Parse {
                kind,
                expr,
                parts,
                filter,
            } => self.parse(plan, kind.as_ref(), expr, parts, *filter, op.span),
            OperatorKind::MakeSeries {
                aggs,
                on,
                from,
                to,
                step,
                by,
            } => self.make_series(
                plan,
                aggs,
                on,
                from.as_ref(),
                to.as_ref(),
                step,
                by,
                op.span,
            ),
            OperatorKind::GetSchema => self.getschema(plan, op.span),
            OperatorKind::Serialize(cols) => self.serialize(plan, cols, op.span),
            OperatorKind::Sample(n) => self.sample(plan, n, op.span),
            OperatorKind::SampleDistinct(n, of) => self.sample_distinct(plan, n, of, op.span),
            OperatorKind::TopHitters { count, of, by } => {
                self.top_hitters(plan, count, of, by.as_ref(), op.span)
            }
            OperatorKind::Search(pred) => self.search(plan, pred, op.span),
            OperatorKind::Evaluate { name, args } => self.evaluate(plan, name, args, op.span),
            OperatorKind::ParseKv {
                expr,
                columns,
                props,
            } => self.parse_kv(plan, expr, columns, props, op.span),
            OperatorKind::TopNested(levels) => self.top_nested(plan, levels, op.span),
            OperatorKind::MvApply {
                items,
                item_index,
                limit,
                sub,
            } => self.mv_apply(
                plan,
                items,
                item_index.as_ref(),
                limit.as_ref(),
                sub,
                op.span,
            ),
            OperatorKind::Fork(_) | OperatorKind::Facet { .. } => {
                Err(crate::error::KqlError::semantic(
                    "fork and facet must be the last operator of a query",
                    op.span,
                ))
            }
            OperatorKind::Invoke { name, args } => self.invoke(plan, name, args),
            OperatorKind::Extend(cols) => self.extend(plan, cols, op.span),
            OperatorKind::Summarize { aggregates, by } => {
                self.summarize(plan, aggregates, by, op.span)
            }
            OperatorKind::Count => self.count(plan, op.span),
            OperatorKind::Take(n) => self.take(plan, n, op.span),
            OperatorKind::Top { count, by } => self.top(plan, count, by, op.span),
            OperatorKind::Sort(keys) => self.sort(plan, keys, op.span),
            OperatorKind::Distinct(cols) => self.distinct(plan, cols, op.span),
            OperatorKind::Union(spec) => self.union(Some(plan), spec, op.span),
            // Presentation only: the planner reads it off the result set.
            OperatorKind::Render { .. } => Ok(plan),
            OperatorKind::As(name) => {
                self.bind_tabular(&name.name, plan.clone());
                Ok(plan)
            }
        }
    }
}
