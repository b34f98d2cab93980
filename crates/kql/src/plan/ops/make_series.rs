//! `make-series agg [default=v], ... on Time [from a] [to b] step s [by keys]`: one row per
//! key with a dynamic array per aggregate (one cell per step, gaps filled with the
//! default, 0 unless given) and the time axis as an array in the `on` column's name.
//! Without `from`/`to` the data's first and last bins bound the axis.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{Column, DFSchema};
use datafusion::functions::core::expr_fn::named_struct;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::{cast, lit, ColumnarValue, Expr as DfExpr, LogicalPlan};
use serde_json::Value as Json;

use crate::ast::{Expr, ExprKind, NamedExpr, SeriesAgg};
use crate::error::{KqlError, Result};
use crate::lexer::Span;
use crate::plan::functions::aggregate;
use crate::plan::functions::value::{cell, kusto_type, V};
use crate::plan::naming::key_name;
use crate::plan::{builder, df, Planner};
use crate::types::KustoType;

const BUCKET: &str = "__kql_bucket";

/// `kql_series(list<struct{i, v}>, n, default)`: a dense JSON array of n values.
fn build_udf(item_type: KustoType, default: Json) -> datafusion::logical_expr::ScalarUDF {
    crate::plan::functions::rowfn::any_udf(
        format!("kql_series_{}_{default}", item_type.name()),
        DataType::Utf8,
        Arc::new(move |args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let lists = arrays[0].as_list::<i32>();
            let ns = arrays[1].as_primitive::<Int64Type>();
            let mut out = StringBuilder::new();
            for row in 0..lists.len() {
                let n = if ns.is_null(row) {
                    0
                } else {
                    ns.value(row).clamp(0, 1_000_000) as usize
                };
                let mut values = vec![default.clone(); n];
                if !lists.is_null(row) {
                    let items = lists.value(row);
                    let s = items.as_struct();
                    let idx = s.column(0).as_primitive::<Int64Type>();
                    let v = s.column(1);
                    for k in 0..s.len() {
                        if idx.is_null(k) {
                            continue;
                        }
                        let i = idx.value(k);
                        if i >= 0 && (i as usize) < n {
                            let value = cell(v, item_type, k);
                            if !value.is_null() {
                                values[i as usize] = value.json();
                            }
                        }
                    }
                }
                out.append_value(Json::Array(values).to_string());
            }
            Ok(ColumnarValue::Array(Arc::new(out.finish())))
        }),
    )
}

/// `kql_series_axis(from, step, n)`: the bin start times as a JSON array.
static AXIS: crate::plan::functions::rowfn::Def = crate::plan::functions::rowfn::Def::new(
    "kql_series_axis",
    3,
    3,
    crate::plan::functions::rowfn::t_dynamic,
    |a| {
        let (Some(from), Some(step), Some(n)) = (a[0].datetime(), a[1].i64(), a[2].i64()) else {
            return V::Null;
        };
        let n = n.clamp(0, 1_000_000);
        V::Dyn(Json::Array(
            (0..n)
                .map(|i| Json::String(crate::values::format_datetime(from + i * step)))
                .collect(),
        ))
    },
);

impl Planner<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn make_series(
        &mut self,
        plan: LogicalPlan,
        aggs: &[SeriesAgg],
        on: &Expr,
        from: Option<&Expr>,
        to: Option<&Expr>,
        step: &Expr,
        by: &[NamedExpr],
        span: Span,
    ) -> Result<LogicalPlan> {
        let schema = plan.schema().clone();
        let empty = DFSchema::empty();
        let ts = self.expr(on, &schema)?;
        let ts_type = super::super::expr::type_of(&ts, &schema, on)?;
        if !matches!(ts_type, DataType::Timestamp(..)) {
            return Err(KqlError::semantic(
                "make-series: the 'on' column must be a datetime",
                on.span,
            ));
        }
        let micros = |x: DfExpr| cast(x, DataType::Int64);
        let step_x = micros(self.expr(step, &empty)?);
        let bucket_of = |t: DfExpr, origin: DfExpr| {
            datafusion::functions::math::expr_fn::floor(
                cast(micros(t) - origin, DataType::Float64)
                    / cast(step_x.clone(), DataType::Float64),
            )
        };
        // The axis start: `from`, else the first bin of the data.
        let from_x = match from {
            Some(f) => micros(self.expr(f, &empty)?),
            None => {
                let first = df(
                    builder(plan.clone())
                        .aggregate(
                            Vec::<DfExpr>::new(),
                            vec![agg::min(micros(ts.clone())).alias("m")],
                        )
                        .and_then(|b| b.build()),
                    span,
                )?;
                let sub = DfExpr::ScalarSubquery(datafusion::logical_expr::Subquery {
                    subquery: Arc::new(first),
                    outer_ref_columns: vec![],
                    spans: Default::default(),
                });
                // Align to the step like bin().
                cast(
                    datafusion::functions::math::expr_fn::floor(
                        cast(sub, DataType::Float64) / cast(step_x.clone(), DataType::Float64),
                    ) * cast(step_x.clone(), DataType::Float64),
                    DataType::Int64,
                )
            }
        };
        let to_x = match to {
            Some(t) => micros(self.expr(t, &empty)?),
            None => {
                let last = df(
                    builder(plan.clone())
                        .aggregate(
                            Vec::<DfExpr>::new(),
                            vec![agg::max(micros(ts.clone())).alias("m")],
                        )
                        .and_then(|b| b.build()),
                    span,
                )?;
                DfExpr::ScalarSubquery(datafusion::logical_expr::Subquery {
                    subquery: Arc::new(last),
                    outer_ref_columns: vec![],
                    spans: Default::default(),
                }) + lit(1i64)
            }
        };
        // n = ceil((to - from) / step)
        let n = cast(
            datafusion::functions::math::expr_fn::ceil(
                cast(to_x.clone() - from_x.clone(), DataType::Float64)
                    / cast(step_x.clone(), DataType::Float64),
            ),
            DataType::Int64,
        );
        // 1. Rows in range, with their bucket.
        let in_range = micros(ts.clone())
            .gt_eq(from_x.clone())
            .and(micros(ts.clone()).lt(to_x.clone()));
        let filtered = df(builder(plan).filter(in_range).and_then(|b| b.build()), span)?;
        let mut key_names = vec![];
        let mut keys = vec![];
        for (i, k) in by.iter().enumerate() {
            let name = match &k.name {
                Some(n) => n.name.clone(),
                None => key_name(&k.expr).unwrap_or_else(|| format!("Column{}", i + 1)),
            };
            keys.push(self.expr(&k.expr, &schema)?.alias(name.clone()));
            key_names.push(name);
        }
        let mut group = keys.clone();
        group.push(cast(bucket_of(ts, from_x.clone()), DataType::Int64).alias(BUCKET));
        // 2. One aggregate value per key and bucket.
        let mut agg_exprs = vec![];
        let mut outs: Vec<(String, Option<&Expr>)> = vec![];
        for a in aggs {
            let ExprKind::Call { name, args } = &a.agg.expr.kind else {
                return Err(KqlError::semantic(
                    "make-series needs an aggregate such as count() or avg(x)",
                    a.agg.expr.span,
                ));
            };
            let alias = a.agg.name.as_ref().map(|n| n.name.as_str());
            let lowered = aggregate::lower(
                self,
                name,
                args,
                &schema,
                alias,
                &key_names,
                a.agg.expr.span,
            )?;
            for o in lowered.into_iter().take(1) {
                agg_exprs.push(o.expr.alias(o.name.clone()));
                outs.push((o.name, a.default.as_ref()));
            }
        }
        let per_bucket = df(
            builder(filtered)
                .aggregate(group, agg_exprs)
                .and_then(|b| b.build()),
            span,
        )?;
        // 3. Per key: the lists of (bucket, value).
        let bucket_schema = per_bucket.schema().clone();
        let mut lists = vec![];
        for (name, _) in &outs {
            let item = named_struct(vec![
                lit("i"),
                DfExpr::Column(Column::from_name(BUCKET)),
                lit("v"),
                DfExpr::Column(Column::from_name(name.clone())),
            ]);
            lists.push(agg::array_agg(item).alias(name.clone()));
        }
        let key_cols: Vec<DfExpr> = key_names
            .iter()
            .map(|k| DfExpr::Column(Column::from_name(k.clone())))
            .collect();
        let per_key = df(
            builder(per_bucket)
                .aggregate(key_cols.clone(), lists)
                .and_then(|b| b.build()),
            span,
        )?;
        // 4. Dense arrays and the axis.
        let mut out = key_cols;
        for (name, default) in &outs {
            let (_, field) = bucket_schema
                .qualified_field_with_unqualified_name(name)
                .map_err(|e| KqlError::semantic(e.strip_backtrace(), span))?;
            let item_type = kusto_type(field);
            let default = match default {
                Some(d) => match &d.kind {
                    ExprKind::Literal(l) => {
                        crate::plan::functions::value::V::from_json(literal_json(l)).json()
                    }
                    _ => {
                        return Err(KqlError::semantic(
                            "make-series: default must be a constant",
                            d.span,
                        ))
                    }
                },
                None => Json::from(0),
            };
            let udf = build_udf(item_type, default);
            out.push(
                cast(
                    udf.call(vec![
                        DfExpr::Column(Column::from_name(name.clone())),
                        n.clone(),
                    ]),
                    DataType::Utf8,
                )
                .alias_with_metadata(name.clone(), Some(dynamic_meta())),
            );
        }
        let axis_name = key_name(on).unwrap_or_else(|| "Column1".into());
        let axis = crate::plan::functions::rowfn::udf(
            &AXIS,
            &[KustoType::DateTime, KustoType::Long, KustoType::Long],
        )
        .call(vec![
            cast(
                from_x,
                DataType::Timestamp(
                    datafusion::arrow::datatypes::TimeUnit::Microsecond,
                    Some("UTC".into()),
                ),
            ),
            step_x,
            n,
        ]);
        out.push(axis.alias(axis_name));
        df(builder(per_key).project(out).and_then(|b| b.build()), span)
    }
}

fn dynamic_meta() -> datafusion::common::metadata::FieldMetadata {
    datafusion::common::metadata::FieldMetadata::new(std::collections::BTreeMap::from([(
        crate::types::KUSTO_TYPE_KEY.to_string(),
        "dynamic".to_string(),
    )]))
}

fn literal_json(l: &crate::ast::Literal) -> Json {
    use crate::ast::Literal;
    match l {
        Literal::Null(_) => Json::Null,
        Literal::Bool(b) => Json::Bool(*b),
        Literal::Int(v) => Json::from(*v),
        Literal::Long(v) => Json::from(*v),
        Literal::Real(v) => serde_json::Number::from_f64(*v).map_or(Json::Null, Json::Number),
        Literal::Decimal(s) | Literal::String(s) | Literal::Guid(s) => Json::String(s.clone()),
        Literal::DateTime(v) => Json::String(crate::values::format_datetime(*v)),
        Literal::Timespan(v) => Json::String(crate::values::format_timespan(*v)),
        Literal::Dynamic(j) => j.clone(),
    }
}
