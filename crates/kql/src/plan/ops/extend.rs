//! `extend`: new columns at the end; a name that exists is replaced in place.

use datafusion::common::Column;
use datafusion::logical_expr::{Expr as DfExpr, LogicalPlan};

use crate::ast::{ExprKind, NamedExpr};
use crate::error::Result;
use crate::lexer::Span;
use crate::plan::naming::{expr_name, ColumnNamer};
use crate::plan::{builder, df, Planner};

impl Planner<'_> {
    pub(crate) fn extend(
        &mut self,
        mut plan: LogicalPlan,
        cols: &[NamedExpr],
        span: Span,
    ) -> Result<LogicalPlan> {
        let mut namer = ColumnNamer::default();
        // One projection per new column, so a later column can use an earlier one.
        for c in cols {
            let schema = plan.schema().clone();
            let mut out: Vec<(String, DfExpr)> = schema
                .iter()
                .map(|(q, f)| {
                    (
                        f.name().clone(),
                        DfExpr::Column(Column::new(q.cloned(), f.name())),
                    )
                })
                .collect();
            if let Some(spread) = self.multi_output(c, &schema)? {
                for (name, x) in spread {
                    match out.iter_mut().find(|(n, _)| *n == name) {
                        Some(slot) => slot.1 = x,
                        None => out.push((name, x)),
                    }
                }
                let exprs: Vec<DfExpr> = out.into_iter().map(|(n, x)| x.alias(n)).collect();
                plan = df(builder(plan).project(exprs).and_then(|b| b.build()), span)?;
                continue;
            }
            let x = self.expr(&c.expr, &schema)?;
            let name = match (&c.name, &c.expr.kind) {
                (Some(n), _) => n.name.clone(),
                (None, ExprKind::Column(n)) => n.clone(),
                (None, _) => match expr_name(&c.expr) {
                    Some(n) => n,
                    None => namer.next_name(&|n| out.iter().any(|(m, _)| m == n)),
                },
            };
            plan = super::misc::hoist_windows(plan, std::slice::from_ref(&x), span)?;
            match out.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = x,
                None => out.push((name, x)),
            }
            let exprs: Vec<DfExpr> = out.into_iter().map(|(n, x)| x.alias(n)).collect();
            plan = df(builder(plan).project(exprs).and_then(|b| b.build()), span)?;
        }
        Ok(plan)
    }
}

/// Functions Kusto spreads over several columns, and their output fields.
const MULTI: &[(&str, &[&str])] = &[
    (
        "series_stats",
        &[
            "min", "min_idx", "max", "max_idx", "avg", "stdev", "variance",
        ],
    ),
    (
        "series_fit_line",
        &[
            "rsquare",
            "slope",
            "variance",
            "rvariance",
            "interception",
            "line_fit",
        ],
    ),
    (
        "series_decompose_anomalies",
        &["ad_flag", "ad_score", "baseline"],
    ),
];

impl Planner<'_> {
    /// `extend series_stats(x)` → `series_stats_x_min`, ...; `extend (a, b) = f(x)` → a,
    /// b; `extend s = series_stats(x)` → `s_min`, ... . `pack_all()` is a bag of the row.
    fn multi_output(
        &mut self,
        c: &crate::ast::NamedExpr,
        schema: &datafusion::common::DFSchema,
    ) -> Result<Option<Vec<(String, DfExpr)>>> {
        let ExprKind::Call { name, args } = &c.expr.kind else {
            return Ok(None);
        };
        if name.name == "pack_all" {
            let mut pairs = vec![];
            for (q, f) in schema.iter() {
                pairs.push(datafusion::logical_expr::lit(f.name().clone()));
                pairs.push(DfExpr::Column(Column::new(q.cloned(), f.name())));
            }
            let types: Vec<crate::types::KustoType> = schema
                .fields()
                .iter()
                .flat_map(|f| {
                    [
                        crate::types::KustoType::String,
                        crate::plan::functions::value::kusto_type(f),
                    ]
                })
                .collect();
            let def = crate::plan::functions::rowfn::lookup("bag_pack").expect("bag_pack");
            let x = crate::plan::functions::rowfn::udf(def, &types).call(pairs);
            let n = c
                .name
                .as_ref()
                .map(|n| n.name.clone())
                .unwrap_or("Column1".into());
            return Ok(Some(vec![(n, x)]));
        }
        let Some((_, fields)) = MULTI.iter().find(|(f, _)| *f == name.name) else {
            return Ok(None);
        };
        let bag = self.expr(&c.expr, schema)?;
        let index = &crate::plan::functions::dynamic_fns::INDEX;
        let names: Vec<String> = if !c.names.is_empty() {
            c.names.iter().map(|n| n.name.clone()).collect()
        } else {
            let prefix = match &c.name {
                Some(n) => n.name.clone(),
                None => format!(
                    "{}_{}",
                    name.name,
                    args.first()
                        .and_then(crate::plan::naming::first_column)
                        .unwrap_or("")
                ),
            };
            fields.iter().map(|f| format!("{prefix}_{f}")).collect()
        };
        let mut out = vec![];
        for (field, n) in fields.iter().zip(names) {
            let ty = match *field {
                "min_idx" | "max_idx" => crate::types::KustoType::Long,
                "ad_flag" | "ad_score" | "baseline" | "line_fit" => {
                    crate::types::KustoType::Dynamic
                }
                _ => crate::types::KustoType::Real,
            };
            let def: &'static crate::plan::functions::rowfn::Def = match ty {
                crate::types::KustoType::Long => &INDEX_LONG,
                crate::types::KustoType::Real => &INDEX_REAL,
                _ => index,
            };
            let x = crate::plan::functions::rowfn::udf(
                def,
                &[
                    crate::types::KustoType::Dynamic,
                    crate::types::KustoType::String,
                ],
            )
            .call(vec![bag.clone(), datafusion::logical_expr::lit(*field)]);
            out.push((n, x));
        }
        Ok(Some(out))
    }
}

static INDEX_LONG: crate::plan::functions::rowfn::Def = crate::plan::functions::rowfn::Def::new(
    "kql_index_long",
    2,
    2,
    crate::plan::functions::rowfn::t_long,
    |a| (crate::plan::functions::dynamic_fns::INDEX.eval)(a),
);

static INDEX_REAL: crate::plan::functions::rowfn::Def = crate::plan::functions::rowfn::Def::new(
    "kql_index_real",
    2,
    2,
    crate::plan::functions::rowfn::t_real,
    |a| (crate::plan::functions::dynamic_fns::INDEX.eval)(a),
);
