//! KQL functions. `call` lowers a scalar function call; aggregates (only valid inside
//! `summarize`) are in `aggregate.rs`. To add a function: one arm here, or a new file for
//! a new family, plus a case in `tests/kql/functions_*.test`.

pub mod aggregate;
mod arg_extreme;
pub mod convert;
pub mod datetime;
mod datetime_fns;
pub mod dynamic_fns;
mod math_fns;
pub mod rowfn;
mod series_fns;
pub mod sketch;
pub mod string;
pub mod string_fns;
mod string_scan;
pub mod value;
pub mod window;

use std::ops::Not;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::DFSchema;
use datafusion::functions::core::expr_fn as core_fn;
use datafusion::functions::string::expr_fn as str_fn;
use datafusion::functions::unicode::expr_fn as uni_fn;
use datafusion::logical_expr::{cast, lit, try_cast, when, Expr as DfExpr};

use super::expr::type_of;
use super::Planner;
use crate::ast::{Expr, ExprKind, Ident, Literal};
use crate::error::{KqlError, Result};
use crate::lexer::Span;
use crate::types::KustoType;

pub(crate) fn call(
    p: &Planner<'_>,
    name: &Ident,
    args: &[Expr],
    schema: &DFSchema,
    span: Span,
) -> Result<DfExpr> {
    let f = name.name.as_str();
    if aggregate::is_aggregate(f) {
        return Err(KqlError::semantic(
            format!("aggregate function '{f}()' is only allowed in summarize"),
            name.span,
        ));
    }
    let arity = |n: std::ops::RangeInclusive<usize>| -> Result<()> {
        if n.contains(&args.len()) {
            return Ok(());
        }
        let want = if n.start() == n.end() {
            n.start().to_string()
        } else {
            format!("{} to {}", n.start(), n.end())
        };
        Err(KqlError::semantic(
            format!(
                "function '{f}' expects {want} argument(s), got {}",
                args.len()
            ),
            span,
        ))
    };
    let arg = |i: usize| -> Result<(DfExpr, DataType)> {
        let x = p.expr(&args[i], schema)?;
        let t = type_of(&x, schema, &args[i])?;
        Ok((x, t))
    };
    if window::is_window(f) {
        return window::call(p, name, args, schema, span);
    }
    Ok(match f {
        "now" => {
            arity(0..=1)?;
            match args.first() {
                Some(_) => p.now_literal() + arg(0)?.0,
                None => p.now_literal(),
            }
        }
        "ago" => {
            arity(1..=1)?;
            p.now_literal() - arg(0)?.0
        }
        "iif" | "iff" => {
            arity(3..=3)?;
            let df = when(arg(0)?.0, arg(1)?.0).otherwise(arg(2)?.0);
            df.map_err(|e| KqlError::semantic(e.strip_backtrace(), span))?
        }
        "not" => {
            arity(1..=1)?;
            arg(0)?.0.not()
        }
        "isnull" => {
            arity(1..=1)?;
            arg(0)?.0.is_null()
        }
        "isnotnull" => {
            arity(1..=1)?;
            arg(0)?.0.is_not_null()
        }
        "isempty" | "isnotempty" => {
            arity(1..=1)?;
            let (x, t) = arg(0)?;
            let empty = x
                .clone()
                .is_null()
                .or(convert::to_string(x, &t).eq(lit("")));
            if f == "isempty" {
                empty
            } else {
                empty.not()
            }
        }
        "strcat" => {
            arity(1..=64)?;
            let parts = (0..args.len())
                .map(|i| text_of(p.expr(&args[i], schema)?, schema, &args[i]))
                .collect::<Result<Vec<_>>>()?;
            str_fn::concat(parts)
        }
        "strlen" => {
            arity(1..=1)?;
            let (x, t) = arg(0)?;
            cast(
                uni_fn::character_length(convert::to_string(x, &t)),
                DataType::Int64,
            )
        }
        "tolower" | "toupper" => {
            arity(1..=1)?;
            let (x, t) = arg(0)?;
            let s = convert::to_string(x, &t);
            if f == "tolower" {
                str_fn::lower(s)
            } else {
                str_fn::upper(s)
            }
        }
        "substring" => {
            arity(2..=3)?;
            let (x, t) = arg(0)?;
            let start = cast(arg(1)?.0, DataType::Int64) + lit(1i64);
            let s = convert::to_string(x, &t);
            match args.get(2) {
                Some(_) => uni_fn::substring(s, start, cast(arg(2)?.0, DataType::Int64)),
                None => uni_fn::substr(s, start),
            }
        }
        "tostring" => {
            arity(1..=1)?;
            text_of(arg(0)?.0, schema, &args[0])?
        }
        "toint" | "tolong" | "toreal" | "todouble" | "tobool" | "toboolean" | "todecimal" => {
            arity(1..=1)?;
            let target = match f {
                "toint" => KustoType::Int,
                "tolong" => KustoType::Long,
                "tobool" | "toboolean" => KustoType::Bool,
                "todecimal" => KustoType::Decimal,
                _ => KustoType::Real,
            };
            let (x, t) = arg(0)?;
            // Dynamic values convert from their text ("42", 1.5, true).
            let (x, t) = if kusto_type_of(&x, schema, &args[0])? == KustoType::Dynamic {
                (text_of(x, schema, &args[0])?, DataType::Utf8)
            } else {
                (x, t)
            };
            if t == DataType::Utf8 && target == KustoType::Bool {
                return Ok(rowfn::udf(&STR_TO_BOOL, &[KustoType::String]).call(vec![x]));
            }
            match (&t, target) {
                // Kusto truncates reals toward zero when converting to integers.
                (t, KustoType::Int | KustoType::Long) if t.is_floating() => try_cast(
                    datafusion::functions::math::expr_fn::trunc(vec![x]),
                    target.arrow_type(),
                ),
                // Kusto's ticks: 100 ns since 0001-01-01 for a datetime.
                (DataType::Timestamp(..), KustoType::Long) => {
                    cast(x, DataType::Int64) * lit(10i64) + lit(621_355_968_000_000_000i64)
                }
                (DataType::Duration(_), KustoType::Long) => cast(x, DataType::Int64) * lit(10i64),
                _ => try_cast(x, target.arrow_type()),
            }
        }
        "todatetime" => {
            arity(1..=1)?;
            let (x, t) = arg(0)?;
            convert::to_datetime(x, &t)
        }
        "totimespan" => {
            arity(1..=1)?;
            let (x, t) = arg(0)?;
            convert::to_timespan(x, &t)
        }
        "bin" | "floor" => {
            arity(2..=2)?;
            let (x, t) = arg(0)?;
            let (size, _) = arg(1)?;
            datetime::bin(x, &t, size).ok_or_else(|| {
                KqlError::semantic(
                    format!("bin() cannot round a value of type {t}"),
                    args[0].span,
                )
            })?
        }
        "coalesce" => {
            arity(1..=64)?;
            // For strings the first non-empty value wins.
            let items = (0..args.len())
                .map(|i| {
                    arg(i).map(|(x, t)| {
                        if t == DataType::Utf8 {
                            core_fn::nullif(x, lit(""))
                        } else {
                            x
                        }
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let all_strings =
                (0..args.len()).all(|i| arg(i).is_ok_and(|(_, t)| t == DataType::Utf8));
            let c = core_fn::coalesce(items);
            if all_strings {
                core_fn::coalesce(vec![c, lit("")])
            } else {
                c
            }
        }
        "abs" => {
            arity(1..=1)?;
            datafusion::functions::math::expr_fn::abs(arg(0)?.0)
        }
        "round" => {
            arity(1..=2)?;
            let digits = if args.len() == 2 {
                arg(1)?.0
            } else {
                lit(0i64)
            };
            datafusion::functions::math::expr_fn::round(vec![
                cast(arg(0)?.0, DataType::Float64),
                digits,
            ])
        }
        "case" => {
            if args.len() < 3 || args.len().is_multiple_of(2) {
                return Err(KqlError::semantic(
                    "case() expects predicate/value pairs and a final else value",
                    span,
                ));
            }
            let mut c = when(arg(0)?.0, arg(1)?.0);
            for i in (2..args.len() - 1).step_by(2) {
                c = c.when(arg(i)?.0, arg(i + 1)?.0);
            }
            c.otherwise(arg(args.len() - 1)?.0)
                .map_err(|e| KqlError::semantic(e.strip_backtrace(), span))?
        }
        "bin_auto" => {
            arity(1..=1)?;
            let o = p.options();
            let Some(size) = o.bin_auto_size.clone() else {
                return Err(KqlError::semantic(
                    "bin_auto() needs 'set query_bin_auto_size = <size>;' before the query",
                    span,
                ));
            };
            let lit_expr = |l: Literal| Expr {
                kind: ExprKind::Literal(l),
                span,
            };
            let mut call_args = vec![args[0].clone(), lit_expr(size)];
            let f = match o.bin_auto_at.clone() {
                Some(at) => {
                    call_args.push(lit_expr(at));
                    "bin_at"
                }
                None => "bin",
            };
            let name = Ident {
                name: f.into(),
                span: name.span,
            };
            return call(p, &name, &call_args, schema, span);
        }
        "bin_at" => {
            arity(3..=3)?;
            let (x, t) = arg(0)?;
            let (size, _) = arg(1)?;
            let (at, _) = arg(2)?;
            let shifted = match &t {
                DataType::Timestamp(..) => cast(
                    cast(x, DataType::Int64) - cast(at.clone(), DataType::Int64),
                    t.clone(),
                ),
                _ => x - at.clone(),
            };
            let binned = datetime::bin(shifted, &t, size).ok_or_else(|| {
                KqlError::semantic(
                    format!("bin_at() cannot round a value of type {t}"),
                    args[0].span,
                )
            })?;
            match &t {
                DataType::Timestamp(..) => cast(
                    cast(binned, DataType::Int64) + cast(at, DataType::Int64),
                    t.clone(),
                ),
                _ => binned + at,
            }
        }
        "has_any" | "has_all" => {
            let (x, t) = arg(0)?;
            let hay = convert::to_string(x, &t);
            let mut terms = vec![];
            for a in &args[1..] {
                match &a.kind {
                    ExprKind::Literal(Literal::Dynamic(serde_json::Value::Array(items))) => {
                        for i in items {
                            terms.push(lit(value::V::from_json(i.clone()).text().into_owned()));
                        }
                    }
                    _ => {
                        let x = p.expr(a, schema)?;
                        let t = type_of(&x, schema, a)?;
                        terms.push(convert::to_string(x, &t));
                    }
                }
            }
            let has = string::predicate("has", false);
            let preds = terms.into_iter().map(|t| has.call(vec![hay.clone(), t]));
            if f == "has_any" {
                preds.reduce(|a, b| a.or(b)).unwrap_or(lit(false))
            } else {
                preds.reduce(|a, b| a.and(b)).unwrap_or(lit(true))
            }
        }
        "between" | "!between" => {
            arity(3..=3)?;
            let (x, _) = arg(0)?;
            let (low, lt) = arg(1)?;
            let (high, ht) = arg(2)?;
            // `dt between (start .. 1h)`: a timespan end is relative to the start.
            let high = match (&lt, &ht) {
                (DataType::Timestamp(..), DataType::Duration(_)) => low.clone() + high,
                _ => high,
            };
            let inside = x.clone().gt_eq(low).and(x.lt_eq(high));
            if f == "between" {
                inside
            } else {
                inside.not()
            }
        }
        "matches regex" => {
            arity(2..=2)?;
            let (x, t) = arg(0)?;
            let (re, _) = arg(1)?;
            datafusion::logical_expr::binary_expr(
                convert::to_string(x, &t),
                datafusion::logical_expr::Operator::RegexMatch,
                re,
            )
        }
        "gettype" => {
            arity(1..=1)?;
            let (x, _) = arg(0)?;
            let ty = kusto_type_of(&x, schema, &args[0])?;
            match ty {
                KustoType::Dynamic => rowfn::udf(&GETTYPE, &[ty]).call(vec![x]),
                other => lit(other.name()),
            }
        }
        _ if p.is_function(f) => {
            return match p.call_function(name, args, schema, None)? {
                super::Binding::Scalar(x) => Ok(x),
                _ => Err(KqlError::semantic(
                    format!("'{f}' is a tabular function; use it as a table"),
                    name.span,
                )),
            }
        }
        _ => {
            if let Some(def) = rowfn::lookup(f) {
                arity(def.min..=def.max)?;
                let mut xs = vec![];
                let mut types = vec![];
                for (i, a) in args.iter().enumerate() {
                    let (x, _) = arg(i)?;
                    types.push(kusto_type_of(&x, schema, a)?);
                    xs.push(x);
                }
                return Ok(rowfn::udf(def, &types).call(xs));
            }
            let known: Vec<&str> = KNOWN
                .iter()
                .copied()
                .chain(rowfn::all().map(|d| d.name))
                .chain(aggregate::NAMES.iter().copied())
                .collect();
            return Err(KqlError::semantic(
                format!("unknown function '{f}'{}", super::suggest::hint(f, known)),
                name.span,
            ));
        }
    })
}

/// Functions lowered directly above (the row functions list themselves).
const KNOWN: &[&str] = &[
    "now",
    "ago",
    "iif",
    "iff",
    "not",
    "isnull",
    "isnotnull",
    "isempty",
    "isnotempty",
    "strcat",
    "strlen",
    "tolower",
    "toupper",
    "substring",
    "tostring",
    "toint",
    "tolong",
    "toreal",
    "todouble",
    "tobool",
    "toboolean",
    "todecimal",
    "todatetime",
    "totimespan",
    "bin",
    "floor",
    "coalesce",
    "abs",
    "round",
    "case",
    "bin_at",
    "bin_auto",
    "gettype",
    "row_number",
    "prev",
    "next",
    "row_cumsum",
    "toscalar",
];

static STR_TO_BOOL: rowfn::Def = rowfn::Def::new("kql_tobool", 1, 1, rowfn::t_bool, |a| {
    match a[0].text().trim().to_ascii_lowercase().as_str() {
        "true" => value::V::Bool(true),
        "false" => value::V::Bool(false),
        s => match s.parse::<f64>() {
            Ok(n) => value::V::Bool(n != 0.0),
            Err(_) => value::V::Null,
        },
    }
});

static GETTYPE: rowfn::Def = rowfn::Def::new("kql_gettype", 1, 1, rowfn::t_string, |a| {
    value::V::Str(dynamic_fns::json_type(&a[0].json()).to_string())
});

static TEXT: rowfn::Def = rowfn::Def::new("kql_tostring", 1, 1, rowfn::t_string, |a| {
    value::V::Str(a[0].text().into_owned())
});

/// `tostring(x)` with Kusto's text forms: reals as .NET prints them (`1`, `1E+15`),
/// dynamic strings without quotes.
pub(crate) fn text_of(x: DfExpr, schema: &DFSchema, e: &Expr) -> Result<DfExpr> {
    let ty = kusto_type_of(&x, schema, e)?;
    Ok(match ty {
        KustoType::Dynamic | KustoType::Real => rowfn::udf(&TEXT, &[ty]).call(vec![x]),
        _ => {
            let t = type_of(&x, schema, e)?;
            convert::to_string(x, &t)
        }
    })
}

/// The Kusto type of a planned expression (field metadata first).
pub(crate) fn kusto_type_of(x: &DfExpr, schema: &DFSchema, e: &Expr) -> Result<KustoType> {
    use datafusion::logical_expr::ExprSchemable;
    let (_, field) = x
        .to_field(schema)
        .map_err(|err| KqlError::semantic(err.strip_backtrace(), e.span))?;
    Ok(value::kusto_type(&field))
}
