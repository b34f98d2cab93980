//! `union` (source and operator): all rows of all legs; columns are the union of the
//! legs' columns by name, in order of first appearance, missing ones null (Kusto's
//! default `kind=outer`).

use datafusion::logical_expr::LogicalPlan;

use crate::error::Result;
use crate::lexer::Span;
use crate::plan::{builder, df};

pub(crate) fn union_all(plans: Vec<LogicalPlan>, span: Span) -> Result<LogicalPlan> {
    let mut iter = plans.into_iter();
    let first = iter.next().expect("union has at least one leg");
    let mut b = builder(first);
    for p in iter {
        b = df(b.union_by_name(p), span)?;
    }
    df(b.build(), span)
}
