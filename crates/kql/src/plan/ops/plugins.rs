//! `externaldata`, `search`/`find` as sources, `evaluate bag_unpack|pivot|narrow` and
//! `parse-kv`. `bag_unpack` and `pivot` take their output columns from the data, so
//! they run their input while planning (through the [`Host`](crate::plan::Host)).

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::Column;
use datafusion::datasource::{provider_as_source, MemTable};
use datafusion::logical_expr::{
    lit, ColumnarValue, Expr as DfExpr, LogicalPlan, LogicalPlanBuilder,
};

use crate::ast::{
    Expr, ExprKind, Ident, Literal, NamedExpr, Source, Tabular, UnionSpec, WithProps,
};
use crate::error::{KqlError, Result};
use crate::lexer::Span;
use crate::plan::functions::value::{to_array, V};
use crate::plan::functions::{convert, rowfn, value::kusto_type};
use crate::plan::{builder, df, Planner};
use crate::types::{ColumnDef, KustoType};

fn prop<'a>(props: &'a WithProps, name: &str) -> Option<&'a Literal> {
    props
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn prop_text(props: &WithProps, name: &str) -> Option<String> {
    match prop(props, name)? {
        Literal::String(s) => Some(s.clone()),
        Literal::Bool(b) => Some(b.to_string()),
        Literal::Long(v) => Some(v.to_string()),
        _ => None,
    }
}

fn ident(name: &str, span: Span) -> Ident {
    Ident {
        name: name.to_string(),
        span,
    }
}

fn column(name: &str) -> DfExpr {
    DfExpr::Column(Column::from_name(name))
}

/// The texts of every row of the first column of `batches` (nulls skipped).
fn texts(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = vec![];
    for b in batches {
        let a = b.column(0);
        let ty = kusto_type(b.schema().field(0));
        for i in 0..a.len() {
            match crate::plan::functions::value::cell(a, ty, i) {
                V::Null => {}
                V::Str(s) => out.push(s),
                other => out.push(other.text().into_owned()),
            }
        }
    }
    out
}

impl Planner<'_> {
    pub(crate) fn external(
        &mut self,
        columns: &[(Ident, KustoType)],
        uris: &[Expr],
        props: &WithProps,
        span: Span,
    ) -> Result<LogicalPlan> {
        let defs: Vec<ColumnDef> = columns
            .iter()
            .map(|(n, t)| ColumnDef {
                name: n.name.clone(),
                ty: *t,
            })
            .collect();
        let mut paths = vec![];
        for u in uris {
            match &u.kind {
                ExprKind::Literal(Literal::String(s)) => paths.push(s.clone()),
                _ => {
                    return Err(KqlError::semantic(
                        "externaldata: a source must be a string literal",
                        u.span,
                    ))
                }
            }
        }
        let format = prop_text(props, "format");
        let ignore_first = prop_text(props, "ignoreFirstRecord").is_some_and(|v| v == "true");
        let batch = self
            .host(span)?
            .external(&defs, &paths, format.as_deref(), ignore_first)
            .map_err(|e| KqlError::semantic(format!("externaldata: {e}"), span))?;
        let mem = MemTable::try_new(batch.schema(), vec![vec![batch]])
            .map_err(|e| KqlError::semantic(e.strip_backtrace(), span))?;
        df(
            LogicalPlanBuilder::scan("externaldata", provider_as_source(Arc::new(mem)), None)
                .and_then(|b| b.build()),
            span,
        )
    }

    /// `search [in (T, ...)] pred` (a `$table` column first) and `find ... where pred
    /// [project ...]` (`source_`, then the projected columns or `pack_`).
    pub(crate) fn search_source(
        &mut self,
        tables: &[Ident],
        pred: &Expr,
        project: Option<&[Ident]>,
        span: Span,
    ) -> Result<LogicalPlan> {
        let legs = if tables.is_empty() {
            vec![ident("*", span)]
        } else {
            tables.to_vec()
        };
        let source_col = if project.is_some() {
            "source_"
        } else {
            "$table"
        };
        let spec = UnionSpec {
            tables: legs
                .into_iter()
                .map(|t| Tabular {
                    span: t.span,
                    source: Source::Named(t),
                    ops: vec![],
                })
                .collect(),
            inner: false,
            withsource: Some(ident(source_col, span)),
        };
        let plan = self.union(None, &spec, span)?;
        let plan = self.search(plan, pred, span)?;
        let Some(cols) = project else {
            return Ok(plan);
        };
        let mut exprs = vec![column(source_col)];
        if cols.is_empty() {
            let rest: Vec<DfExpr> = plan
                .schema()
                .fields()
                .iter()
                .filter(|f| f.name() != source_col)
                .flat_map(|f| [lit(f.name().clone()), column(f.name())])
                .collect();
            let pack = rowfn::lookup("bag_pack")
                .ok_or_else(|| KqlError::semantic("bag_pack is missing", span))?;
            let types: Vec<KustoType> = plan
                .schema()
                .fields()
                .iter()
                .filter(|f| f.name() != source_col)
                .flat_map(|f| [KustoType::String, kusto_type(f)])
                .collect();
            exprs.push(rowfn::udf(pack, &types).call(rest).alias("pack_"));
        } else {
            for c in cols {
                exprs.push(
                    self.expr(
                        &Expr {
                            kind: ExprKind::Column(c.name.clone()),
                            span: c.span,
                        },
                        plan.schema(),
                    )?
                    .alias(c.name.clone()),
                );
            }
        }
        df(builder(plan).project(exprs).and_then(|b| b.build()), span)
    }

    pub(crate) fn evaluate(
        &mut self,
        plan: LogicalPlan,
        name: &Ident,
        args: &[Expr],
        span: Span,
    ) -> Result<LogicalPlan> {
        match name.name.as_str() {
            "bag_unpack" => self.bag_unpack(plan, args, span),
            "pivot" => self.pivot(plan, args, span),
            "narrow" => self.narrow(plan, span),
            other => Err(KqlError::semantic(
                format!("unknown plugin '{other}'; Eddy has bag_unpack, pivot and narrow"),
                name.span,
            )),
        }
    }

    /// Runs `plan` projected to `e` and returns the values as text.
    fn distinct_texts(&mut self, plan: &LogicalPlan, e: DfExpr, span: Span) -> Result<Vec<String>> {
        let p = df(
            builder(plan.clone())
                .project(vec![e.alias("v")])
                .and_then(|b| b.distinct())
                .and_then(|b| b.build()),
            span,
        )?;
        let batches = self
            .host(span)?
            .collect(p)
            .map_err(|e| KqlError::semantic(e, span))?;
        Ok(texts(&batches))
    }

    fn bag_unpack(&mut self, plan: LogicalPlan, args: &[Expr], span: Span) -> Result<LogicalPlan> {
        let Some(ExprKind::Column(col)) = args.first().map(|a| &a.kind) else {
            return Err(KqlError::semantic(
                "bag_unpack(column [, prefix]) needs a dynamic column",
                span,
            ));
        };
        let prefix = match args.get(1).map(|a| &a.kind) {
            Some(ExprKind::Literal(Literal::String(p))) => p.clone(),
            _ => String::new(),
        };
        let schema = plan.schema().clone();
        let bag = self.expr(&args[0], &schema)?;
        let keys_fn = rowfn::lookup("bag_keys")
            .ok_or_else(|| KqlError::semantic("bag_keys is missing", span))?;
        let keys_arr = rowfn::udf(keys_fn, &[KustoType::Dynamic]).call(vec![bag.clone()]);
        let mut keys: Vec<String> = vec![];
        for k in self.distinct_texts(&plan, keys_arr, span)? {
            if let Ok(serde_json::Value::Array(items)) = serde_json::from_str(&k) {
                for i in items {
                    if let Some(s) = i.as_str() {
                        if !keys.iter().any(|x| x == s) {
                            keys.push(s.to_string());
                        }
                    }
                }
            }
        }
        keys.sort();
        let mut exprs: Vec<DfExpr> = schema
            .columns()
            .into_iter()
            .filter(|c| &c.name != col)
            .map(DfExpr::Column)
            .collect();
        let index = &crate::plan::functions::dynamic_fns::INDEX;
        for k in keys {
            let name = format!("{prefix}{k}");
            if exprs.iter().any(|e| e.schema_name().to_string() == name) {
                return Err(KqlError::semantic(
                    format!(
                        "bag_unpack: the key '{k}' clashes with the column '{name}'; give a prefix"
                    ),
                    span,
                ));
            }
            let e = rowfn::udf(index, &[KustoType::Dynamic, KustoType::String])
                .call(vec![bag.clone(), lit(k)]);
            exprs.push(e.alias(name));
        }
        df(builder(plan).project(exprs).and_then(|b| b.build()), span)
    }

    /// `pivot(col [, agg(x)] [, group, ...])`: a column per distinct value of `col`.
    fn pivot(&mut self, plan: LogicalPlan, args: &[Expr], span: Span) -> Result<LogicalPlan> {
        let Some(pivot) = args.first() else {
            return Err(KqlError::semantic(
                "pivot(column [, aggregate] [, columns...])",
                span,
            ));
        };
        let schema = plan.schema().clone();
        let pivot_e = self.expr(pivot, &schema)?;
        let text = convert::to_string(
            pivot_e.clone(),
            &crate::plan::expr::type_of(&pivot_e, &schema, pivot)?,
        );
        let mut values = self.distinct_texts(&plan, text, span)?;
        values.sort();
        let (agg_name, agg_args) = match args.get(1).map(|a| &a.kind) {
            Some(ExprKind::Call { name, args }) => (name.name.clone(), args.clone()),
            _ => ("count".to_string(), vec![]),
        };
        let conditional = match agg_name.as_str() {
            "count" => "countif",
            "sum" => "sumif",
            "avg" => "avgif",
            "min" => "minif",
            "max" => "maxif",
            "dcount" => "dcountif",
            "take_any" | "any" => "take_anyif",
            "make_list" => "make_list_if",
            "make_set" => "make_set_if",
            other => {
                return Err(KqlError::semantic(
                    format!("pivot: aggregate '{other}' is not supported; use count, sum, avg, min, max, dcount, take_any, make_list or make_set"),
                    span,
                ))
            }
        };
        let pivot_col = match &pivot.kind {
            ExprKind::Column(c) => Some(c.clone()),
            _ => None,
        };
        let agg_cols: Vec<String> = agg_args
            .iter()
            .filter_map(|a| match &a.kind {
                ExprKind::Column(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        let group: Vec<NamedExpr> = if args.len() > 2 {
            args[2..]
                .iter()
                .map(|a| NamedExpr {
                    name: None,
                    expr: a.clone(),
                    names: vec![],
                })
                .collect()
        } else {
            schema
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .filter(|n| Some(n) != pivot_col.as_ref() && !agg_cols.contains(n))
                .map(|n| NamedExpr {
                    name: None,
                    expr: Expr {
                        kind: ExprKind::Column(n),
                        span,
                    },
                    names: vec![],
                })
                .collect()
        };
        let as_text = |e: &Expr| Expr {
            kind: ExprKind::Call {
                name: ident("tostring", span),
                args: vec![e.clone()],
            },
            span,
        };
        let aggs: Vec<NamedExpr> = values
            .iter()
            .map(|v| {
                let cond = Expr {
                    kind: ExprKind::Binary {
                        op: crate::ast::BinaryOp::Eq,
                        left: Box::new(as_text(pivot)),
                        right: Box::new(Expr {
                            kind: ExprKind::Literal(Literal::String(v.clone())),
                            span,
                        }),
                    },
                    span,
                };
                let mut call_args = agg_args.clone();
                call_args.push(cond);
                NamedExpr {
                    name: Some(ident(v, span)),
                    expr: Expr {
                        kind: ExprKind::Call {
                            name: ident(conditional, span),
                            args: call_args,
                        },
                        span,
                    },
                    names: vec![],
                }
            })
            .collect();
        if aggs.is_empty() {
            let by: Vec<DfExpr> = group
                .iter()
                .map(|g| self.expr(&g.expr, &schema))
                .collect::<Result<_>>()?;
            return df(
                builder(plan)
                    .aggregate(by, Vec::<DfExpr>::new())
                    .and_then(|b| b.build()),
                span,
            );
        }
        self.summarize(plan, &aggs, &group, span)
    }

    /// `narrow()`: every cell as a row (Row, Column, Value as text).
    fn narrow(&mut self, plan: LogicalPlan, span: Span) -> Result<LogicalPlan> {
        use datafusion::logical_expr::cast;
        let numbered = df(
            builder(plan.clone())
                .window(vec![
                    datafusion::functions_window::expr_fn::row_number().alias("__row")
                ])
                .and_then(|b| b.build()),
            span,
        )?;
        let mut legs: Option<LogicalPlanBuilder> = None;
        for (pos, f) in plan.schema().fields().iter().enumerate() {
            let value = convert::to_string(column(f.name()), f.data_type());
            let leg = builder(numbered.clone()).project(vec![
                (cast(
                    column("__row"),
                    datafusion::arrow::datatypes::DataType::Int64,
                ) - lit(1i64))
                .alias("Row"),
                lit(f.name().clone()).alias("Column"),
                value.alias("Value"),
                lit(pos as i64).alias("__pos"),
            ]);
            let leg = df(leg, span)?;
            legs = Some(match legs {
                None => leg,
                Some(l) => df(l.union(df(leg.build(), span)?), span)?,
            });
        }
        let Some(all) = legs else {
            return Err(KqlError::semantic("narrow: the input has no columns", span));
        };
        df(
            all.sort(vec![
                column("Row").sort(true, false),
                column("__pos").sort(true, false),
            ])
            .and_then(|b| b.project(vec![column("Row"), column("Column"), column("Value")]))
            .and_then(|b| b.build()),
            span,
        )
    }

    /// `parse-kv e as (k: type, ...) with (pair_delimiter=..., kv_delimiter=..., quote=...)`.
    pub(crate) fn parse_kv(
        &mut self,
        plan: LogicalPlan,
        e: &Expr,
        columns: &[(Ident, KustoType)],
        props: &WithProps,
        span: Span,
    ) -> Result<LogicalPlan> {
        let schema = plan.schema().clone();
        let text = self.expr(e, &schema)?;
        let text = convert::to_string(
            text.clone(),
            &crate::plan::expr::type_of(&text, &schema, e)?,
        );
        let pair = prop_text(props, "pair_delimiter").unwrap_or_else(|| " ".into());
        let kv = prop_text(props, "kv_delimiter").unwrap_or_else(|| "=".into());
        let quotes: Vec<char> = prop_text(props, "quote")
            .unwrap_or_default()
            .chars()
            .collect();
        let mut exprs: Vec<DfExpr> = schema.columns().into_iter().map(DfExpr::Column).collect();
        for (name, ty) in columns {
            let (key, pair, kv, quotes, ty) = (
                name.name.clone(),
                pair.clone(),
                kv.clone(),
                quotes.clone(),
                *ty,
            );
            let body = move |args: &[ColumnarValue]| -> datafusion::common::Result<ColumnarValue> {
                let a = args[0].to_array(1)?;
                let s = a.as_string::<i32>();
                let values = (0..a.len()).map(|i| {
                    if s.is_null(i) {
                        return V::Null;
                    }
                    kv_value(s.value(i), &key, &pair, &kv, &quotes)
                        .map(|v| typed(&v, ty))
                        .unwrap_or(V::Null)
                });
                Ok(ColumnarValue::Array(to_array(ty, values)))
            };
            let udf = rowfn::any_udf(
                format!("parse_kv_{}", name.name),
                ty.arrow_type(),
                Arc::new(body),
            );
            exprs.push(udf.call(vec![text.clone()]).alias(name.name.clone()));
        }
        df(builder(plan).project(exprs).and_then(|b| b.build()), span)
    }
}

/// The value of `key` in `text` made of `key<kv>value` pairs split by `pair`.
fn kv_value(text: &str, key: &str, pair: &str, kv: &str, quotes: &[char]) -> Option<String> {
    for part in text.split(pair) {
        let Some((k, v)) = part.split_once(kv) else {
            continue;
        };
        if k.trim() == key {
            let v = v.trim();
            let v = match v.chars().next() {
                Some(q) if quotes.contains(&q) && v.len() >= 2 && v.ends_with(q) => {
                    &v[1..v.len() - 1]
                }
                _ => v,
            };
            return Some(v.to_string());
        }
    }
    None
}

/// Text as a value of type `ty` (null when it does not convert).
fn typed(s: &str, ty: KustoType) -> V {
    let t = s.trim();
    match ty {
        KustoType::Int | KustoType::Long => t.parse().map(V::Long).unwrap_or(V::Null),
        KustoType::Real | KustoType::Decimal => t.parse().map(V::Real).unwrap_or(V::Null),
        KustoType::Bool => match t.to_ascii_lowercase().as_str() {
            "true" | "1" => V::Bool(true),
            "false" | "0" => V::Bool(false),
            _ => V::Null,
        },
        KustoType::DateTime => crate::values::parse_datetime(t)
            .map(V::DateTime)
            .unwrap_or(V::Null),
        KustoType::Timespan => crate::values::parse_timespan(t)
            .map(V::Timespan)
            .unwrap_or(V::Null),
        KustoType::Dynamic => V::Dyn(
            serde_json::from_str(t).unwrap_or_else(|_| serde_json::Value::String(s.to_string())),
        ),
        KustoType::String | KustoType::Guid => V::Str(s.to_string()),
    }
}
