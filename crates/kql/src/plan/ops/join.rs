//! `join` and `lookup`. Kinds: innerunique (the default: one left row per key, then
//! inner), inner, leftouter, rightouter, fullouter, leftsemi, rightsemi, leftanti,
//! rightanti. Output: left columns, then right columns; a right column whose name is
//! taken gets the suffix `1` (Kusto's `Key1`). `lookup` (leftouter or inner) drops the
//! right side's key columns.

use datafusion::common::{Column, JoinType};
use datafusion::logical_expr::{Expr as DfExpr, LogicalPlan};

use crate::ast::{Ident, JoinKey, Tabular};
use crate::error::{KqlError, Result};
use crate::lexer::Span;
use crate::plan::{builder, df, suggest, Planner};

const LEFT: &str = "__kql_left";
const RIGHT: &str = "__kql_right";

fn join_type(kind: &str, lookup: bool, span: Span) -> Result<(JoinType, bool)> {
    let t = match kind {
        "innerunique" if !lookup => (JoinType::Inner, true),
        "inner" => (JoinType::Inner, false),
        "leftouter" => (JoinType::Left, false),
        "rightouter" if !lookup => (JoinType::Right, false),
        "fullouter" | "outer" if !lookup => (JoinType::Full, false),
        "leftsemi" | "semi" if !lookup => (JoinType::LeftSemi, false),
        "rightsemi" if !lookup => (JoinType::RightSemi, false),
        "leftanti" | "anti" | "leftantisemi" if !lookup => (JoinType::LeftAnti, false),
        "rightanti" | "rightantisemi" if !lookup => (JoinType::RightAnti, false),
        other => {
            let kinds = if lookup {
                "leftouter, inner"
            } else {
                "innerunique, inner, leftouter, rightouter, fullouter, leftsemi, rightsemi, leftanti, rightanti"
            };
            return Err(KqlError::semantic(
                format!("unknown join kind '{other}'; kinds are {kinds}"),
                span,
            ));
        }
    };
    Ok(t)
}

fn check_key(plan: &LogicalPlan, key: &Ident, side: &str) -> Result<()> {
    let names: Vec<&str> = plan
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    if names.contains(&key.name.as_str()) {
        return Ok(());
    }
    Err(KqlError::semantic(
        format!(
            "join: the {side} side has no column '{}'{}",
            key.name,
            suggest::hint(&key.name, names.iter().copied())
        ),
        key.span,
    ))
}

fn alias(plan: LogicalPlan, name: &str, span: Span) -> Result<LogicalPlan> {
    df(builder(plan).alias(name).and_then(|b| b.build()), span)
}

/// A name not in `taken`: `name`, else `name1`, `name2`, ...
pub(crate) fn unique_name(name: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == name) {
        return name.to_string();
    }
    (1..)
        .map(|i| format!("{name}{i}"))
        .find(|n| !taken.contains(n))
        .expect("some suffix is free")
}

impl Planner<'_> {
    pub(crate) fn join(
        &mut self,
        left: LogicalPlan,
        kind: Option<&Ident>,
        right: &Tabular,
        on: &[JoinKey],
        lookup: bool,
        span: Span,
    ) -> Result<LogicalPlan> {
        let right = self.tabular(right)?;
        let kind_name = kind
            .map(|k| k.name.to_ascii_lowercase())
            .unwrap_or_else(|| if lookup { "leftouter" } else { "innerunique" }.into());
        let (jt, unique) = join_type(&kind_name, lookup, kind.map_or(span, |k| k.span))?;
        for k in on {
            check_key(&left, &k.left, "left")?;
            check_key(&right, &k.right, "right")?;
        }
        let mut left = left;
        if unique {
            let keys: Vec<DfExpr> = on
                .iter()
                .map(|k| DfExpr::Column(Column::from_name(k.left.name.clone())))
                .collect();
            let all: Vec<DfExpr> = left
                .schema()
                .columns()
                .into_iter()
                .map(DfExpr::Column)
                .collect();
            // Re-qualify so the DISTINCT ON sees plain names.
            left = alias(left, "__kql_unique", span)?;
            left = df(
                builder(left)
                    .distinct_on(keys, all.into_iter().map(unqualify).collect(), None)
                    .and_then(|b| b.build()),
                span,
            )?;
        }
        let left_names: Vec<String> = names(&left);
        let right_names: Vec<String> = names(&right);
        let l = alias(left, LEFT, span)?;
        let r = alias(right, RIGHT, span)?;
        let lkeys: Vec<Column> = on
            .iter()
            .map(|k| Column::new(Some(LEFT), k.left.name.clone()))
            .collect();
        let rkeys: Vec<Column> = on
            .iter()
            .map(|k| Column::new(Some(RIGHT), k.right.name.clone()))
            .collect();
        let joined = df(
            builder(l)
                .join(r, jt, (lkeys, rkeys), None)
                .and_then(|b| b.build()),
            span,
        )?;
        // Kusto strings have no null: an unmatched side's strings are empty.
        let side = |q: &str, n: &str| -> DfExpr {
            let c = DfExpr::Column(Column::new(Some(q), n.to_string()));
            let is_string = joined
                .schema()
                .qualified_field_with_name(Some(&q.into()), n)
                .map(|(_, f)| {
                    f.data_type() == &datafusion::arrow::datatypes::DataType::Utf8
                        && crate::plan::functions::value::kusto_type(f)
                            == crate::types::KustoType::String
                })
                .unwrap_or(false);
            if is_string {
                datafusion::functions::core::expr_fn::coalesce(vec![
                    c,
                    datafusion::logical_expr::lit(""),
                ])
            } else {
                c
            }
        };
        let mut out: Vec<DfExpr> = vec![];
        let mut taken: Vec<String> = vec![];
        let with_left = !matches!(jt, JoinType::RightSemi | JoinType::RightAnti);
        let with_right = !matches!(jt, JoinType::LeftSemi | JoinType::LeftAnti);
        if with_left {
            for n in &left_names {
                out.push(side(LEFT, n).alias(n.clone()));
                taken.push(n.clone());
            }
        }
        if with_right {
            for n in &right_names {
                if lookup && on.iter().any(|k| &k.right.name == n) {
                    continue;
                }
                let name = unique_name(n, &taken);
                out.push(side(RIGHT, n).alias(name.clone()));
                taken.push(name);
            }
        }
        df(builder(joined).project(out).and_then(|b| b.build()), span)
    }
}

fn names(plan: &LogicalPlan) -> Vec<String> {
    plan.schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

fn unqualify(e: DfExpr) -> DfExpr {
    match e {
        DfExpr::Column(c) => DfExpr::Column(Column::from_name(c.name)),
        other => other,
    }
}
