//! Functions over a serialized row set: `row_number([start])`, `prev(x[, offset[,
//! default]])`, `next(...)`, `row_cumsum(x)`. They lower to DataFusion window functions
//! over the rows in their current order; `extend`/`project` compute them first.

use datafusion::common::{DFSchema, ScalarValue};
use datafusion::functions_window::expr_fn::{lag, lead, row_number};
use datafusion::logical_expr::{
    cast, expr::WindowFunction, lit, Expr as DfExpr, WindowFrame, WindowFrameBound,
    WindowFrameUnits, WindowFunctionDefinition,
};

use crate::ast::{Expr, Ident};
use crate::error::{KqlError, Result};
use crate::lexer::Span;
use crate::plan::Planner;

pub fn is_window(f: &str) -> bool {
    matches!(f, "row_number" | "prev" | "next" | "row_cumsum")
}

fn constant(x: DfExpr, span: Span) -> Result<ScalarValue> {
    match x {
        DfExpr::Literal(v, _) => Ok(v),
        _ => Err(KqlError::semantic("expected a constant here", span)),
    }
}

pub(crate) fn call(
    p: &Planner<'_>,
    name: &Ident,
    args: &[Expr],
    schema: &DFSchema,
    span: Span,
) -> Result<DfExpr> {
    let f = name.name.as_str();
    let arg = |i: usize| p.expr(&args[i], schema);
    match f {
        "row_number" => {
            if args.len() > 1 {
                return Err(KqlError::semantic(
                    "row_number(): the restart argument is not supported; use a start value only",
                    span,
                ));
            }
            let base = cast(row_number(), datafusion::arrow::datatypes::DataType::Int64);
            Ok(match args.first() {
                Some(_) => base + arg(0)? - lit(1i64),
                None => base,
            })
        }
        "prev" | "next" => {
            if args.is_empty() || args.len() > 3 {
                return Err(KqlError::semantic(
                    format!("{f}() expects a column, an optional offset and default"),
                    span,
                ));
            }
            let x = arg(0)?;
            let offset = match args.get(1) {
                Some(a) => match constant(p.expr(a, schema)?, a.span)? {
                    ScalarValue::Int64(Some(n)) => n,
                    ScalarValue::Int32(Some(n)) => n as i64,
                    _ => return Err(KqlError::semantic("the offset must be an integer", a.span)),
                },
                None => 1,
            };
            let default = match args.get(2) {
                Some(a) => {
                    let t = super::super::expr::type_of(&x, schema, &args[0])?;
                    let v = constant(p.expr(a, schema)?, a.span)?;
                    Some(
                        v.cast_to(&t)
                            .map_err(|e| KqlError::semantic(e.strip_backtrace(), a.span))?,
                    )
                }
                None => None,
            };
            Ok(if f == "prev" {
                lag(x, Some(offset), default)
            } else {
                lead(x, Some(offset), default)
            })
        }
        "row_cumsum" => {
            if args.len() != 1 {
                return Err(KqlError::semantic(
                    "row_cumsum() expects one expression (restart is not supported)",
                    span,
                ));
            }
            let mut w = WindowFunction::new(
                WindowFunctionDefinition::AggregateUDF(
                    datafusion::functions_aggregate::sum::sum_udaf(),
                ),
                vec![arg(0)?],
            );
            w.params.window_frame = WindowFrame::new_bounds(
                WindowFrameUnits::Rows,
                WindowFrameBound::Preceding(ScalarValue::UInt64(None)),
                WindowFrameBound::CurrentRow,
            );
            Ok(DfExpr::WindowFunction(Box::new(w)))
        }
        _ => Err(KqlError::semantic(format!("unknown function '{f}'"), span)),
    }
}
