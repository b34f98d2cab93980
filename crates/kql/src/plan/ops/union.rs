//! `union` (source and operator): all rows of all legs; columns are the union of the
//! legs' columns by name, in order of first appearance, missing ones null (Kusto's
//! default `kind=outer`); `kind=inner` keeps the columns every leg has. Wildcard names
//! (`Logs*`) take every matching table; `withsource=Col` adds the leg's name first.

use datafusion::logical_expr::{lit, Expr as DfExpr, LogicalPlan};

use crate::ast::{Source, UnionSpec};
use crate::error::{KqlError, Result};
use crate::lexer::Span;
use crate::plan::{builder, df, Planner};

pub(crate) fn union_all(plans: Vec<LogicalPlan>, span: Span) -> Result<LogicalPlan> {
    let mut iter = plans.into_iter();
    let first = iter.next().expect("union has at least one leg");
    let mut b = builder(first);
    for p in iter {
        b = df(b.union_by_name(p), span)?;
    }
    df(b.build(), span)
}

/// Whether `name` matches a pattern with `*` wildcards.
pub fn matches_pattern(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

impl Planner<'_> {
    pub(crate) fn union(
        &mut self,
        first: Option<LogicalPlan>,
        spec: &UnionSpec,
        span: Span,
    ) -> Result<LogicalPlan> {
        let mut legs: Vec<(String, LogicalPlan)> = vec![];
        if let Some(p) = first {
            legs.push(("union_arg0".into(), p));
        }
        for t in &spec.tables {
            match &t.source {
                Source::Named(id) if id.name.contains('*') && t.ops.is_empty() => {
                    let mut names: Vec<&String> = self
                        .tables
                        .keys()
                        .filter(|n| matches_pattern(&id.name, n))
                        .collect();
                    names.sort();
                    for n in names {
                        legs.push((n.clone(), self.tables[n].clone()));
                    }
                }
                Source::Named(id) if t.ops.is_empty() => {
                    legs.push((id.name.clone(), self.tabular(t)?));
                }
                _ => {
                    let n = format!("union_arg{}", legs.len());
                    legs.push((n, self.tabular(t)?));
                }
            }
        }
        if legs.is_empty() {
            return Err(KqlError::semantic("union: no table matches", span));
        }
        if spec.inner {
            let common: Vec<String> = legs[0]
                .1
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .filter(|n| {
                    legs.iter()
                        .all(|(_, p)| p.schema().fields().iter().any(|f| f.name() == n))
                })
                .collect();
            let mut narrowed = vec![];
            for (n, p) in legs {
                let cols: Vec<DfExpr> = common
                    .iter()
                    .map(|c| DfExpr::Column(datafusion::common::Column::from_name(c)))
                    .collect();
                narrowed.push((
                    n,
                    df(builder(p).project(cols).and_then(|b| b.build()), span)?,
                ));
            }
            legs = narrowed;
        }
        if let Some(col) = &spec.withsource {
            let mut tagged = vec![];
            for (n, p) in legs {
                let mut cols = vec![lit(n.clone()).alias(col.name.clone())];
                cols.extend(p.schema().columns().into_iter().map(DfExpr::Column));
                tagged.push((
                    n,
                    df(builder(p).project(cols).and_then(|b| b.build()), span)?,
                ));
            }
            legs = tagged;
        }
        union_all(legs.into_iter().map(|(_, p)| p).collect(), span)
    }
}

#[cfg(test)]
mod tests {
    use super::matches_pattern;

    #[test]
    fn wildcards() {
        assert!(matches_pattern("Logs*", "LogsA"));
        assert!(matches_pattern("*A", "LogsA"));
        assert!(matches_pattern("L*s*", "Logs"));
        assert!(!matches_pattern("Logs*", "Metrics"));
        assert!(matches_pattern("Logs", "Logs"));
    }
}
