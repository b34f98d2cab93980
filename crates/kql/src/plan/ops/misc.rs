//! Smaller operators: `getschema`, `serialize`, `sample`, `sample-distinct`,
//! `top-hitters`, `search`, `invoke`, the `range` source, and computing window
//! functions (`row_number()`, `prev()`, ...) before a projection uses them.

use std::sync::Arc;

use datafusion::arrow::array::{Float64Builder, Int64Builder, ListBuilder};
use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
use datafusion::common::{Column, DFSchema, ScalarValue};
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::{
    cast, lit, utils::find_window_exprs, ColumnarValue, Expr as DfExpr, LogicalPlan,
    LogicalPlanBuilder,
};

use crate::ast::{Expr, ExprKind, Ident, Literal, NamedExpr};
use crate::error::{KqlError, Result};
use crate::lexer::Span;
use crate::plan::functions::{convert, string};
use crate::plan::naming::first_column;
use crate::plan::{builder, df, Binding, Planner};
use crate::types::KustoType;

/// Computes the window functions `exprs` use, so a projection can refer to them.
pub(crate) fn hoist_windows(
    plan: LogicalPlan,
    exprs: &[DfExpr],
    span: Span,
) -> Result<LogicalPlan> {
    let windows = find_window_exprs(exprs.iter());
    if windows.is_empty() {
        return Ok(plan);
    }
    df(builder(plan).window(windows).and_then(|b| b.build()), span)
}

impl Planner<'_> {
    pub(crate) fn getschema(&mut self, plan: LogicalPlan, span: Span) -> Result<LogicalPlan> {
        let rows: Vec<Vec<DfExpr>> = plan
            .schema()
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let t = crate::plan::functions::value::kusto_type(f);
                vec![
                    lit(f.name().clone()),
                    lit(i as i32),
                    lit(t.dotnet_name()),
                    lit(t.name()),
                ]
            })
            .collect();
        let names = ["ColumnName", "ColumnOrdinal", "DataType", "ColumnType"];
        if rows.is_empty() {
            return Err(KqlError::semantic(
                "getschema: the input has no columns",
                span,
            ));
        }
        let values = df(
            LogicalPlanBuilder::values(rows).and_then(|b| b.build()),
            span,
        )?;
        let cols: Vec<DfExpr> = values
            .schema()
            .columns()
            .into_iter()
            .zip(names)
            .map(|(c, n)| DfExpr::Column(c).alias(n))
            .collect();
        df(builder(values).project(cols).and_then(|b| b.build()), span)
    }

    pub(crate) fn serialize(
        &mut self,
        plan: LogicalPlan,
        cols: &[NamedExpr],
        span: Span,
    ) -> Result<LogicalPlan> {
        if cols.is_empty() {
            return Ok(plan);
        }
        self.extend(plan, cols, span)
    }

    pub(crate) fn sample(
        &mut self,
        plan: LogicalPlan,
        n: &Expr,
        span: Span,
    ) -> Result<LogicalPlan> {
        let n = row_count(self, n)?;
        // The random key is a real column so the sort always has one to carry.
        let cols: Vec<DfExpr> = plan
            .schema()
            .columns()
            .into_iter()
            .map(DfExpr::Column)
            .collect();
        let mut with_key = cols.clone();
        with_key.push(datafusion::functions::math::expr_fn::random().alias("__kql_sample"));
        df(
            builder(plan)
                .project(with_key)
                .and_then(|b| {
                    b.sort(vec![
                        DfExpr::Column(Column::from_name("__kql_sample")).sort(true, false)
                    ])
                })
                .and_then(|b| b.limit(0, Some(n)))
                .and_then(|b| b.project(cols))
                .and_then(|b| b.build()),
            span,
        )
    }

    pub(crate) fn sample_distinct(
        &mut self,
        plan: LogicalPlan,
        n: &Expr,
        of: &Expr,
        span: Span,
    ) -> Result<LogicalPlan> {
        let n = row_count(self, n)?;
        let schema = plan.schema().clone();
        let name = first_column(of).unwrap_or("Column1").to_string();
        let x = self.expr(of, &schema)?.alias(name);
        df(
            builder(plan)
                .aggregate(vec![x], Vec::<DfExpr>::new())
                .and_then(|b| b.limit(0, Some(n)))
                .and_then(|b| b.build()),
            span,
        )
    }

    pub(crate) fn top_hitters(
        &mut self,
        plan: LogicalPlan,
        count: &Expr,
        of: &Expr,
        by: Option<&Expr>,
        span: Span,
    ) -> Result<LogicalPlan> {
        let n = row_count(self, count)?;
        let schema = plan.schema().clone();
        let key = first_column(of).unwrap_or("Column1").to_string();
        let (measure, out) = match by {
            Some(b) => (
                agg::sum(self.expr(b, &schema)?),
                format!("approximate_sum_{}", first_column(b).unwrap_or("")),
            ),
            None => (agg::count(lit(1i64)), format!("approximate_count_{key}")),
        };
        let x = self.expr(of, &schema)?.alias(key);
        df(
            builder(plan)
                .aggregate(vec![x], vec![measure.alias(out.clone())])
                .and_then(|b| {
                    b.sort(vec![
                        DfExpr::Column(Column::from_name(out)).sort(false, false)
                    ])
                })
                .and_then(|b| b.limit(0, Some(n)))
                .and_then(|b| b.build()),
            span,
        )
    }

    /// `search "term"`: rows where any column has the term; other predicates filter.
    pub(crate) fn search(
        &mut self,
        plan: LogicalPlan,
        pred: &Expr,
        span: Span,
    ) -> Result<LogicalPlan> {
        let predicate = match &pred.kind {
            ExprKind::Literal(Literal::String(term)) => {
                let schema = plan.schema().clone();
                let has = string::predicate("has", false);
                let mut any: Option<DfExpr> = None;
                for (q, f) in schema.iter() {
                    let c = DfExpr::Column(Column::new(q.cloned(), f.name()));
                    let text = convert::to_string(c, f.data_type());
                    let p = has.call(vec![text, lit(term.clone())]);
                    any = Some(match any {
                        Some(a) => a.or(p),
                        None => p,
                    });
                }
                any.unwrap_or(lit(false))
            }
            _ => self.expr(pred, plan.schema())?,
        };
        df(
            builder(plan).filter(predicate).and_then(|b| b.build()),
            span,
        )
    }

    pub(crate) fn invoke(
        &mut self,
        plan: LogicalPlan,
        name: &Ident,
        args: &[Expr],
    ) -> Result<LogicalPlan> {
        match self.call_function(name, args, &DFSchema::empty(), Some(plan))? {
            Binding::Tabular(p) => Ok(p),
            _ => Err(KqlError::semantic(
                format!("invoke: '{}' does not return a table", name.name),
                name.span,
            )),
        }
    }

    /// `range x from a to b step s`: a single column from a to b inclusive.
    pub(crate) fn range(
        &mut self,
        name: &Ident,
        from: &Expr,
        to: &Expr,
        step: &Expr,
        span: Span,
    ) -> Result<LogicalPlan> {
        let empty = DFSchema::empty();
        let (f, t, s) = (
            self.expr(from, &empty)?,
            self.expr(to, &empty)?,
            self.expr(step, &empty)?,
        );
        let ft = super::super::expr::type_of(&f, &empty, from)?;
        let real = ft.is_floating() || super::super::expr::type_of(&s, &empty, step)?.is_floating();
        let (list_item, ty) = match &ft {
            DataType::Timestamp(..) => (DataType::Int64, KustoType::DateTime),
            DataType::Duration(_) => (DataType::Int64, KustoType::Timespan),
            _ if real => (DataType::Float64, KustoType::Real),
            _ => (DataType::Int64, KustoType::Long),
        };
        let as_num = |x: DfExpr| cast(x, list_item.clone());
        let udf = crate::plan::functions::rowfn::any_udf(
            format!("kql_range_{}", ty.name()),
            DataType::List(Arc::new(Field::new("item", list_item.clone(), true))),
            Arc::new(move |args: &[ColumnarValue]| {
                let scalar = |i: usize| match &args[i] {
                    ColumnarValue::Scalar(v) => v.clone(),
                    ColumnarValue::Array(a) => {
                        ScalarValue::try_from_array(a, 0).unwrap_or(ScalarValue::Null)
                    }
                };
                let (a, b, c) = (scalar(0), scalar(1), scalar(2));
                let out: Arc<dyn datafusion::arrow::array::Array> = if real {
                    let f = |v: &ScalarValue| match v {
                        ScalarValue::Float64(Some(x)) => *x,
                        _ => f64::NAN,
                    };
                    let (a, b, c) = (f(&a), f(&b), f(&c));
                    let mut l = ListBuilder::new(Float64Builder::new());
                    let mut k = 0.0;
                    while c != 0.0 && c.is_finite() && (k as usize) < 10_000_000 {
                        let v = a + k * c;
                        if (c > 0.0 && v > b) || (c < 0.0 && v < b) {
                            break;
                        }
                        l.values().append_value(v);
                        k += 1.0;
                    }
                    l.append(true);
                    Arc::new(l.finish())
                } else {
                    let i = |v: &ScalarValue| match v {
                        ScalarValue::Int64(Some(x)) => Some(*x),
                        _ => None,
                    };
                    let mut l = ListBuilder::new(Int64Builder::new());
                    if let (Some(a), Some(b), Some(c)) = (i(&a), i(&b), i(&c)) {
                        let mut v = a;
                        let mut n = 0;
                        while c != 0 && (c > 0 && v <= b || c < 0 && v >= b) && n < 10_000_000 {
                            l.values().append_value(v);
                            v += c;
                            n += 1;
                        }
                    }
                    l.append(true);
                    Arc::new(l.finish())
                };
                Ok(ColumnarValue::Array(out))
            }),
        );
        let list = udf.call(vec![as_num(f), as_num(t), as_num(s)]);
        let n = name.name.clone();
        let plan = df(
            LogicalPlanBuilder::empty(true)
                .project(vec![list.alias(n.clone())])
                .and_then(|b| b.unnest_column(n.clone()))
                .and_then(|b| b.build()),
            span,
        )?;
        let col = DfExpr::Column(Column::from_name(n.clone()));
        let typed = match ty {
            KustoType::DateTime => cast(
                col,
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ),
            KustoType::Timespan => cast(col, DataType::Duration(TimeUnit::Microsecond)),
            _ => col,
        };
        df(
            builder(plan)
                .project(vec![typed.alias(n)])
                .and_then(|b| b.build()),
            span,
        )
    }
}

fn row_count(p: &Planner<'_>, e: &Expr) -> Result<usize> {
    match p.expr(e, &DFSchema::empty())? {
        DfExpr::Literal(ScalarValue::Int64(Some(n)), _) if n >= 0 => Ok(n as usize),
        DfExpr::Literal(ScalarValue::Int32(Some(n)), _) if n >= 0 => Ok(n as usize),
        _ => Err(KqlError::semantic(
            "expected a non-negative number of rows",
            e.span,
        )),
    }
}
