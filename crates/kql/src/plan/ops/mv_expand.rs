//! `mv-expand`: one row per element of a dynamic array (or per property of a bag),
//! several columns expanded in parallel (missing elements null), `with_itemindex`,
//! `to typeof(T)` and `limit`. A null value gives one row with null; an empty array
//! gives no row (Kusto's rules). Each value becomes a list column that DataFusion's
//! unnest expands.

use std::sync::Arc;

use datafusion::arrow::array::{Array, Int64Builder, ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{Column, UnnestOptions};
use datafusion::logical_expr::{
    create_udf, ColumnarValue, Expr as DfExpr, LogicalPlan, Volatility,
};
use serde_json::Value as Json;

use crate::ast::{Expr, ExprKind, Ident, MvItem};
use crate::error::{KqlError, Result};
use crate::lexer::Span;
use crate::plan::functions::rowfn::{self, Def};
use crate::plan::functions::value::{cell, V};
use crate::plan::naming::expr_name;
use crate::plan::{builder, df, Planner};
use crate::types::KustoType;

const INDEX: &str = "__kql_mv_index";

/// The elements of a dynamic value as JSON texts (None for a null value).
fn elements(v: &V, bag_as_array: bool) -> Option<Vec<String>> {
    match v.json() {
        Json::Null => None,
        Json::Array(items) => Some(items.iter().map(Json::to_string).collect()),
        Json::Object(m) => Some(
            m.into_iter()
                .map(|(k, x)| {
                    if bag_as_array {
                        Json::Array(vec![Json::String(k), x]).to_string()
                    } else {
                        let mut one = serde_json::Map::new();
                        one.insert(k, x);
                        Json::Object(one).to_string()
                    }
                })
                .collect(),
        ),
        other => Some(vec![other.to_string()]),
    }
}

fn list_type(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, true)))
}

/// `kql_mv_items(x)`: the elements of `x` as a list of JSON texts.
fn items_udf(ty: KustoType, bag_as_array: bool) -> datafusion::logical_expr::ScalarUDF {
    create_udf(
        if bag_as_array {
            "kql_mv_items_array"
        } else {
            "kql_mv_items"
        },
        vec![ty.arrow_type()],
        list_type(DataType::Utf8),
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let a = &arrays[0];
            let mut b = ListBuilder::new(StringBuilder::new());
            for i in 0..a.len() {
                match elements(&cell(a, ty, i), bag_as_array) {
                    Some(items) => {
                        for it in items {
                            b.values().append_value(it);
                        }
                        b.append(true);
                    }
                    None => b.append(false),
                }
            }
            Ok(ColumnarValue::Array(Arc::new(b.finish())))
        }),
    )
}

/// `kql_mv_index(l1, l2, ...)`: 0..n-1 for the longest of the lists.
fn index_udf(n: usize) -> datafusion::logical_expr::ScalarUDF {
    create_udf(
        "kql_mv_index",
        vec![list_type(DataType::Utf8); n],
        list_type(DataType::Int64),
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let rows = arrays[0].len();
            let mut b = ListBuilder::new(Int64Builder::new());
            for i in 0..rows {
                let mut longest = None;
                for a in &arrays {
                    let l = a
                        .as_any()
                        .downcast_ref::<datafusion::arrow::array::ListArray>();
                    if let Some(l) = l.filter(|l| !l.is_null(i)) {
                        longest = Some(longest.unwrap_or(0).max(l.value_length(i) as i64));
                    }
                }
                match longest {
                    Some(n) => {
                        (0..n).for_each(|k| b.values().append_value(k));
                        b.append(true);
                    }
                    None => b.append(false),
                }
            }
            Ok(ColumnarValue::Array(Arc::new(b.finish())))
        }),
    )
}

/// JSON text of an element to a value of the target type.
static FROM_JSON: Def = Def::new("kql_from_json", 1, 1, rowfn::t_dynamic, |a| match &a[0] {
    V::Str(s) => V::from_json(serde_json::from_str(s).unwrap_or(Json::Null)),
    other => other.clone(),
});

impl Planner<'_> {
    pub(crate) fn mv_expand(
        &mut self,
        plan: LogicalPlan,
        items: &[MvItem],
        item_index: Option<&Ident>,
        limit: Option<&Expr>,
        bag_as_array: bool,
        span: Span,
    ) -> Result<LogicalPlan> {
        let schema = plan.schema().clone();
        let mut cols: Vec<(String, DfExpr)> = schema
            .iter()
            .map(|(q, f)| {
                (
                    f.name().clone(),
                    DfExpr::Column(Column::new(q.cloned(), f.name())),
                )
            })
            .collect();
        let mut expanded: Vec<(String, Option<KustoType>)> = vec![];
        for it in items {
            let name = match (&it.name, &it.expr.kind) {
                (Some(n), _) => n.name.clone(),
                (None, ExprKind::Column(n)) => n.clone(),
                (None, _) => expr_name(&it.expr).ok_or_else(|| {
                    KqlError::semantic("mv-expand: name this expression (Name = ...)", it.expr.span)
                })?,
            };
            let x = self.expr(&it.expr, &schema)?;
            let ty = crate::plan::functions::kusto_type_of(&x, &schema, &it.expr)?;
            let list = items_udf(ty, bag_as_array).call(vec![x]);
            match cols.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = list,
                None => cols.push((name.clone(), list)),
            }
            expanded.push((name, it.to));
        }
        let want_index = item_index.is_some() || limit.is_some();
        if want_index {
            let lists: Vec<DfExpr> = expanded
                .iter()
                .map(|(n, _)| cols.iter().find(|(c, _)| c == n).expect("added").1.clone())
                .collect();
            cols.push((INDEX.into(), index_udf(lists.len()).call(lists)));
        }
        let projected = df(
            builder(plan)
                .project(cols.iter().map(|(n, x)| x.clone().alias(n.clone())))
                .and_then(|b| b.build()),
            span,
        )?;
        let mut to_unnest: Vec<Column> = expanded
            .iter()
            .map(|(n, _)| Column::from_name(n.clone()))
            .collect();
        if want_index {
            to_unnest.push(Column::from_name(INDEX));
        }
        let mut unnested = df(
            builder(projected)
                .unnest_columns_with_options(to_unnest, UnnestOptions::new())
                .and_then(|b| b.build()),
            span,
        )?;
        if let Some(limit) = limit {
            let n = self.expr(limit, &datafusion::common::DFSchema::empty())?;
            unnested = df(
                builder(unnested)
                    .filter(DfExpr::Column(Column::from_name(INDEX)).lt(n))
                    .and_then(|b| b.build()),
                span,
            )?;
        }
        let out_schema = unnested.schema().clone();
        let mut out = vec![];
        for (_, f) in out_schema.iter() {
            let name = f.name().clone();
            let c = DfExpr::Column(Column::from_name(name.clone()));
            if name == INDEX {
                if let Some(ix) = item_index {
                    out.push(c.alias(ix.name.clone()));
                }
                continue;
            }
            match expanded.iter().find(|(n, _)| *n == name) {
                Some((_, to)) => {
                    let conv = from_json_as(to.unwrap_or(KustoType::Dynamic));
                    out.push(conv.call(vec![c]).alias(name));
                }
                None => out.push(c.alias(name)),
            }
        }
        df(builder(unnested).project(out).and_then(|b| b.build()), span)
    }
}

/// JSON text to a value of type `target`.
fn from_json_as(target: KustoType) -> datafusion::logical_expr::ScalarUDF {
    let def: &'static Def = match target {
        KustoType::Bool => &AS_BOOL,
        KustoType::Int => &AS_INT,
        KustoType::Long => &AS_LONG,
        KustoType::Real | KustoType::Decimal => &AS_REAL,
        KustoType::String => &AS_STRING,
        KustoType::DateTime => &AS_DATETIME,
        KustoType::Timespan => &AS_TIMESPAN,
        KustoType::Guid => &AS_GUID,
        KustoType::Dynamic => &FROM_JSON,
    };
    rowfn::udf(def, &[KustoType::String])
}

macro_rules! as_type {
    ($name:ident, $f:path) => {
        static $name: Def = Def::new("kql_from_json", 1, 1, $f, |a| match &a[0] {
            V::Str(s) => V::from_json(serde_json::from_str(s).unwrap_or(Json::Null)),
            other => other.clone(),
        });
    };
}
as_type!(AS_BOOL, rowfn::t_bool);
as_type!(AS_INT, rowfn::t_int);
as_type!(AS_LONG, rowfn::t_long);
as_type!(AS_REAL, rowfn::t_real);
as_type!(AS_STRING, rowfn::t_string);
as_type!(AS_DATETIME, rowfn::t_datetime);
as_type!(AS_TIMESPAN, rowfn::t_timespan);
as_type!(AS_GUID, rowfn::t_guid);
