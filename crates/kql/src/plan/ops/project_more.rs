//! `project-rename`, `project-reorder`, `project-keep`, and the column patterns
//! (`Name*`) they and `project-away` accept.

use datafusion::common::Column;
use datafusion::logical_expr::{Expr as DfExpr, LogicalPlan};

use super::union::matches_pattern;
use crate::ast::Ident;
use crate::error::{KqlError, Result};
use crate::lexer::Span;
use crate::plan::{builder, df, suggest, Planner};

/// Column names of `plan` matching each pattern, in schema order; a plain name that is
/// not there is an error with suggestions.
pub(crate) fn matching(plan: &LogicalPlan, patterns: &[Ident], op: &str) -> Result<Vec<String>> {
    let names: Vec<String> = plan
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    for p in patterns {
        if !p.name.contains('*') && !names.contains(&p.name) {
            return Err(KqlError::semantic(
                format!(
                    "{op}: no column named '{}'{}",
                    p.name,
                    suggest::hint(&p.name, names.iter().map(String::as_str))
                ),
                p.span,
            ));
        }
    }
    Ok(names
        .into_iter()
        .filter(|n| patterns.iter().any(|p| matches_pattern(&p.name, n)))
        .collect())
}

fn col(plan: &LogicalPlan, name: &str) -> DfExpr {
    match plan.schema().iter().find(|(_, f)| f.name() == name) {
        Some((q, f)) => DfExpr::Column(Column::new(q.cloned(), f.name())),
        None => DfExpr::Column(Column::from_name(name)),
    }
}

impl Planner<'_> {
    pub(crate) fn project_rename(
        &mut self,
        plan: LogicalPlan,
        pairs: &[(Ident, Ident)],
        span: Span,
    ) -> Result<LogicalPlan> {
        let olds: Vec<Ident> = pairs.iter().map(|(_, o)| o.clone()).collect();
        matching(&plan, &olds, "project-rename")?;
        let exprs: Vec<DfExpr> = plan
            .schema()
            .fields()
            .iter()
            .map(|f| {
                let x = col(&plan, f.name());
                match pairs.iter().find(|(_, o)| &o.name == f.name()) {
                    Some((new, _)) => x.alias(new.name.clone()),
                    None => x,
                }
            })
            .collect();
        df(builder(plan).project(exprs).and_then(|b| b.build()), span)
    }

    pub(crate) fn project_keep(
        &mut self,
        plan: LogicalPlan,
        patterns: &[Ident],
        span: Span,
    ) -> Result<LogicalPlan> {
        let keep = matching(&plan, patterns, "project-keep")?;
        let exprs: Vec<DfExpr> = keep.iter().map(|n| col(&plan, n)).collect();
        df(builder(plan).project(exprs).and_then(|b| b.build()), span)
    }

    pub(crate) fn project_away_patterns(
        &mut self,
        plan: LogicalPlan,
        patterns: &[Ident],
        span: Span,
    ) -> Result<LogicalPlan> {
        let away = matching(&plan, patterns, "project-away")?;
        let exprs: Vec<DfExpr> = plan
            .schema()
            .fields()
            .iter()
            .filter(|f| !away.contains(f.name()))
            .map(|f| col(&plan, f.name()))
            .collect();
        df(builder(plan).project(exprs).and_then(|b| b.build()), span)
    }

    /// Named columns first, in the order given (a pattern's matches sorted by name when
    /// a direction is given); the rest keep their order.
    pub(crate) fn project_reorder(
        &mut self,
        plan: LogicalPlan,
        cols: &[(Ident, Option<bool>)],
        span: Span,
    ) -> Result<LogicalPlan> {
        let mut first: Vec<String> = vec![];
        for (pattern, dir) in cols {
            let mut m = matching(&plan, std::slice::from_ref(pattern), "project-reorder")?;
            match dir {
                Some(true) => m.sort(),
                Some(false) => {
                    m.sort();
                    m.reverse();
                }
                None => {}
            }
            for n in m {
                if !first.contains(&n) {
                    first.push(n);
                }
            }
        }
        let rest: Vec<String> = plan
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|n| !first.contains(n))
            .collect();
        let exprs: Vec<DfExpr> = first.iter().chain(&rest).map(|n| col(&plan, n)).collect();
        df(builder(plan).project(exprs).and_then(|b| b.build()), span)
    }
}
