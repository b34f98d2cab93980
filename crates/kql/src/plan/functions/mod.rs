//! KQL functions. `call` lowers a scalar function call; aggregates (only valid inside
//! `summarize`) are in `aggregate.rs`. To add a function: one arm here, or a new file for
//! a new family, plus a case in `tests/kql/functions_*.test`.

pub mod aggregate;
pub mod convert;
pub mod datetime;
pub mod string;

use std::ops::Not;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::DFSchema;
use datafusion::functions::core::expr_fn as core_fn;
use datafusion::functions::string::expr_fn as str_fn;
use datafusion::functions::unicode::expr_fn as uni_fn;
use datafusion::logical_expr::{cast, lit, try_cast, when, Expr as DfExpr};

use super::expr::type_of;
use super::Planner;
use crate::ast::{Expr, Ident};
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
                .map(|i| arg(i).map(|(x, t)| convert::to_string(x, &t)))
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
            let (x, t) = arg(0)?;
            convert::to_string(x, &t)
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
            match (&t, target) {
                // Kusto truncates reals toward zero when converting to integers.
                (t, KustoType::Int | KustoType::Long) if t.is_floating() => try_cast(
                    datafusion::functions::math::expr_fn::trunc(vec![x]),
                    target.arrow_type(),
                ),
                (DataType::Timestamp(..) | DataType::Duration(_), KustoType::Long) => {
                    cast(x, DataType::Int64) * lit(10i64)
                }
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
            core_fn::coalesce(
                (0..args.len())
                    .map(|i| arg(i).map(|a| a.0))
                    .collect::<Result<Vec<_>>>()?,
            )
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
        _ => {
            return Err(KqlError::semantic(
                format!("unknown function '{f}'"),
                name.span,
            ))
        }
    })
}
