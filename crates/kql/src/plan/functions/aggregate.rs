//! Aggregation functions of `summarize`: count, countif, sum, avg, min, max, dcount,
//! make_list, make_set, arg_max, arg_min. Each lowers to one or more DataFusion
//! aggregate expressions with Kusto's output names.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::DFSchema;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::{cast, lit, when, Expr as DfExpr, ExprFunctionExt};

use crate::ast::{Expr, ExprKind, Ident};
use crate::error::{KqlError, Result};
use crate::lexer::Span;
use crate::plan::expr::type_of;
use crate::plan::functions::{arg_extreme, sketch};
use crate::plan::naming;
use crate::plan::Planner;

/// Every aggregate function `summarize` knows.
pub const NAMES: &[&str] = &[
    "count",
    "countif",
    "sum",
    "avg",
    "min",
    "max",
    "dcount",
    "make_list",
    "make_set",
    "arg_max",
    "arg_min",
    "sumif",
    "avgif",
    "dcountif",
    "any",
    "take_any",
    "minif",
    "maxif",
    "stdev",
    "stdevif",
    "stdevp",
    "variance",
    "varianceif",
    "variancep",
    "make_list_if",
    "make_set_if",
    "take_anyif",
    "count_distinct",
    "percentile",
    "percentiles",
    "percentiles_array",
    "make_bag",
    "make_bag_if",
    "hll",
    "hll_merge",
    "tdigest",
    "tdigest_merge",
];

pub fn is_aggregate(f: &str) -> bool {
    NAMES.contains(&f)
}

/// One aggregate output column.
pub struct AggOutput {
    pub expr: DfExpr,
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An aggregate shown under `name`.
    Shown,
    /// An aggregate other outputs read; not shown.
    Hidden,
    /// Not an aggregate: `expr` reads hidden outputs once the aggregation is done.
    After,
}

impl AggOutput {
    fn shown(expr: DfExpr, name: String) -> AggOutput {
        AggOutput {
            expr,
            name,
            role: Role::Shown,
        }
    }
}

/// Lowers aggregate call `name(args)`. `alias` is the user's name if any; `exclude` are
/// the `by` columns, which `arg_max(x, *)` does not repeat.
pub(crate) fn lower(
    p: &Planner<'_>,
    name: &Ident,
    args: &[Expr],
    schema: &DFSchema,
    alias: Option<&str>,
    exclude: &[String],
    span: Span,
) -> Result<Vec<AggOutput>> {
    let f = name.name.as_str();
    let out_name = alias
        .map(str::to_string)
        .unwrap_or_else(|| naming::aggregate_name(f, args));
    let arity = |min: usize, max: usize| -> Result<()> {
        if (min..=max).contains(&args.len()) {
            Ok(())
        } else {
            Err(KqlError::semantic(
                format!(
                    "{f}() expects {min} to {max} argument(s), got {}",
                    args.len()
                ),
                span,
            ))
        }
    };
    let arg = |i: usize| p.expr(&args[i], schema);
    let one = |e: DfExpr| Ok(vec![AggOutput::shown(e, out_name.clone())]);
    match f {
        "count" => {
            match args {
                // count(x) counts the rows where x is not null.
                [x] => one(agg::count(p.expr(x, schema)?)),
                [] => one(agg::count(lit(1i64))),
                _ => Err(KqlError::semantic(
                    "count() takes at most one argument",
                    span,
                )),
            }
        }
        "countif" => {
            arity(1, 1)?;
            let flag = when(arg(0)?, lit(1i64)).otherwise(lit(0i64)).map_err(df)?;
            one(datafusion::functions::core::expr_fn::coalesce(vec![
                agg::sum(flag),
                lit(0i64),
            ]))
        }
        "sum" | "avg" | "min" | "max" | "dcount" | "any" | "take_any" => {
            arity(1, if f == "dcount" { 2 } else { 1 })?;
            let x = arg(0)?;
            one(match f {
                "sum" => agg::sum(x),
                "avg" => agg::avg(cast(x, DataType::Float64)),
                "min" => agg::min(x),
                "max" => agg::max(x),
                "dcount" => agg::count_distinct(x),
                _ => agg::first_value(x, vec![]),
            })
        }
        "sumif" | "avgif" | "dcountif" => {
            arity(2, 2)?;
            let x = arg(0)?;
            let cond = arg(1)?;
            let base = match f {
                "sumif" => agg::sum(x),
                "avgif" => agg::avg(cast(x, DataType::Float64)),
                _ => agg::count_distinct(x),
            };
            one(base.filter(cond).build().map_err(df)?)
        }
        "minif" | "maxif" | "stdevif" | "varianceif" | "take_anyif" => {
            arity(2, 2)?;
            let x = arg(0)?;
            let cond = arg(1)?;
            let base = match f {
                "minif" => agg::min(x),
                "maxif" => agg::max(x),
                "stdevif" => agg::stddev(cast(x, DataType::Float64)),
                "varianceif" => agg::var_sample(cast(x, DataType::Float64)),
                _ => agg::first_value(x, vec![]),
            };
            one(base.filter(cond).build().map_err(df)?)
        }
        "stdev" | "stdevp" | "variance" | "variancep" | "count_distinct" => {
            arity(1, 1)?;
            let x = arg(0)?;
            one(match f {
                "stdev" => agg::stddev(cast(x, DataType::Float64)),
                "stdevp" => agg::stddev_pop(cast(x, DataType::Float64)),
                "variance" => agg::var_sample(cast(x, DataType::Float64)),
                "variancep" => agg::var_pop(cast(x, DataType::Float64)),
                _ => agg::count_distinct(x),
            })
        }
        "make_list_if" | "make_set_if" => {
            arity(2, 3)?;
            let x = arg(0)?;
            let cond = arg(1)?;
            let list = agg::array_agg(x.clone()).filter(x.is_not_null().and(cond));
            let list = if f == "make_set_if" {
                list.distinct()
            } else {
                list
            };
            one(list.build().map_err(df)?)
        }
        "percentile" | "percentiles" => {
            if args.len() < 2 {
                return Err(KqlError::semantic(
                    format!("{f}() expects a value and one or more percentages"),
                    span,
                ));
            }
            if f == "percentile" && args.len() != 2 {
                return Err(KqlError::semantic(
                    "percentile() expects a value and one percentage",
                    span,
                ));
            }
            let x = arg(0)?;
            let col = args.first().and_then(naming::first_column).unwrap_or("");
            let (mut ps, mut names) = (vec![], vec![]);
            for a in &args[1..] {
                let p = match &a.kind {
                    ExprKind::Literal(crate::ast::Literal::Long(v)) => *v as f64,
                    ExprKind::Literal(crate::ast::Literal::Real(v)) => *v,
                    _ => {
                        return Err(KqlError::semantic(
                            "a percentage must be a number literal",
                            a.span,
                        ))
                    }
                };
                if !(0.0..=100.0).contains(&p) {
                    return Err(KqlError::semantic(
                        "a percentage must be between 0 and 100",
                        a.span,
                    ));
                }
                let label = crate::plan::functions::value::format_real(p).replace('.', "_");
                let name = match (alias, args.len()) {
                    (Some(a), 2) => a.to_string(),
                    _ => format!("percentile_{col}_{label}"),
                };
                ps.push(p);
                names.push(name);
            }
            let input = type_of(&x, schema, &args[0])?;
            if ps.len() == 1 {
                let agg = sketch::udaf(sketch::Kind::Percentile(ps[0]), &input);
                return Ok(vec![AggOutput::shown(agg.call(vec![x]), names.remove(0))]);
            }
            let agg = sketch::udaf(sketch::Kind::Percentiles(ps), &input);
            let hidden = format!("__{}", names.join("__"));
            let mut outs = vec![AggOutput {
                expr: agg.call(vec![x]),
                name: hidden.clone(),
                role: Role::Hidden,
            }];
            for (i, name) in names.into_iter().enumerate() {
                outs.push(AggOutput {
                    expr: datafusion::functions_nested::expr_fn::array_element(
                        DfExpr::Column(datafusion::common::Column::from_name(hidden.clone())),
                        lit(i as i64 + 1),
                    ),
                    name,
                    role: Role::After,
                });
            }
            Ok(outs)
        }
        "percentiles_array" => {
            if args.len() < 2 {
                return Err(KqlError::semantic(
                    "percentiles_array() expects a value and percentages",
                    span,
                ));
            }
            let mut ps = vec![];
            for a in &args[1..] {
                ps.extend(percentages(a)?);
            }
            let x = arg(0)?;
            let input = type_of(&x, schema, &args[0])?;
            one(sketch::udaf(sketch::Kind::PercentilesArray(ps), &input).call(vec![x]))
        }
        "make_bag" | "make_bag_if" => {
            let conditional = f == "make_bag_if";
            let base = 1 + conditional as usize;
            arity(base, base + 1)?;
            let max = match args.get(base) {
                Some(m) => literal_number(m)? as usize,
                None => 1_048_576,
            };
            let x = arg(0)?;
            let input = type_of(&x, schema, &args[0])?;
            let agg = sketch::udaf(sketch::Kind::MakeBag(max), &input).call(vec![x]);
            if conditional {
                one(agg.filter(arg(1)?).build().map_err(df)?)
            } else {
                one(agg)
            }
        }
        "hll" | "hll_merge" | "tdigest" | "tdigest_merge" => {
            arity(1, 2)?;
            let kind = match f {
                "hll" => sketch::Kind::Hll,
                "hll_merge" => sketch::Kind::HllMerge,
                "tdigest" => sketch::Kind::TDigest,
                _ => sketch::Kind::TDigestMerge,
            };
            let x = arg(0)?;
            let input = type_of(&x, schema, &args[0])?;
            one(sketch::udaf(kind, &input).call(vec![x]))
        }
        "make_list" | "make_set" => {
            arity(1, 2)?;
            let x = arg(0)?;
            let list = agg::array_agg(x.clone()).filter(x.is_not_null());
            let list = if f == "make_set" {
                list.distinct()
            } else {
                list
            };
            one(list.build().map_err(df)?)
        }
        "arg_max" | "arg_min" => {
            if args.len() < 2 {
                return Err(KqlError::semantic(
                    format!("{f}() expects an expression and the columns to return"),
                    span,
                ));
            }
            let by = arg(0)?;
            let descending = f == "arg_max";
            let first_name = match &args[0].kind {
                ExprKind::Column(c) => c.clone(),
                _ => naming::aggregate_name(if descending { "max" } else { "min" }, &args[..1]),
            };
            let mut outs = vec![AggOutput::shown(
                if descending {
                    agg::max(by.clone())
                } else {
                    agg::min(by.clone())
                },
                alias.map(str::to_string).unwrap_or(first_name.clone()),
            )];
            for a in &args[1..] {
                let cols: Vec<(DfExpr, String)> = match &a.kind {
                    ExprKind::Star => schema
                        .columns()
                        .into_iter()
                        .filter(|c| c.name != first_name && !exclude.contains(&c.name))
                        .map(|c| (DfExpr::Column(c.clone()), c.name.clone()))
                        .collect(),
                    _ => {
                        let name = naming::first_column(a)
                            .map(str::to_string)
                            .unwrap_or_else(|| "Column1".into());
                        vec![(p.expr(a, schema)?, name)]
                    }
                };
                for (x, n) in cols {
                    let pick = arg_extreme::udaf(descending).call(vec![by.clone(), x]);
                    outs.push(AggOutput::shown(pick, n));
                }
            }
            Ok(outs)
        }
        _ => Err(KqlError::semantic(
            format!("unknown aggregate function '{f}'"),
            name.span,
        )),
    }
}

/// Percentages of `percentiles_array`: numbers, or a dynamic array of numbers.
fn percentages(a: &Expr) -> Result<Vec<f64>> {
    let check = |v: f64| {
        if (0.0..=100.0).contains(&v) {
            Ok(v)
        } else {
            Err(KqlError::semantic(
                "a percentage must be between 0 and 100",
                a.span,
            ))
        }
    };
    if let ExprKind::Literal(crate::ast::Literal::Dynamic(j)) = &a.kind {
        if let Some(items) = j.as_array() {
            return items
                .iter()
                .map(|v| {
                    v.as_f64()
                        .ok_or_else(|| KqlError::semantic("a percentage must be a number", a.span))
                        .and_then(check)
                })
                .collect();
        }
    }
    Ok(vec![check(literal_number(a)?)?])
}

fn literal_number(a: &Expr) -> Result<f64> {
    match &a.kind {
        ExprKind::Literal(crate::ast::Literal::Long(v)) => Ok(*v as f64),
        ExprKind::Literal(crate::ast::Literal::Real(v)) => Ok(*v),
        _ => Err(KqlError::semantic("expected a number literal", a.span)),
    }
}

fn df(e: datafusion::error::DataFusionError) -> KqlError {
    KqlError::Semantic {
        message: e.strip_backtrace(),
        span: None,
    }
}
