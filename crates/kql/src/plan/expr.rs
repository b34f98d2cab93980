//! Scalar expressions: literals, columns, operators. Function calls go to `functions/`.

use std::ops::Not;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Column, DFSchema, ScalarValue};
use datafusion::logical_expr::{binary_expr, ExprSchemable, Operator};
use datafusion::logical_expr::{lit, Expr as DfExpr};

use super::functions;
use super::Planner;
use crate::ast::{BinaryOp, Expr, ExprKind, Literal, StrOp};
use crate::error::{KqlError, Result};
use crate::types::KustoType;

impl Planner<'_> {
    pub(crate) fn expr(&self, e: &Expr, schema: &DFSchema) -> Result<DfExpr> {
        match &e.kind {
            ExprKind::Literal(l) => Ok(literal(l)),
            ExprKind::Column(name) => self.column(name, e, schema),
            ExprKind::Star => Err(KqlError::semantic("'*' is not allowed here", e.span)),
            ExprKind::Neg(inner) => Ok(DfExpr::Negative(Box::new(self.expr(inner, schema)?))),
            ExprKind::Not(inner) => Ok(self.expr(inner, schema)?.not()),
            ExprKind::Call { name, args } => functions::call(self, name, args, schema, e.span),
            ExprKind::ToScalar(t) => {
                let plan = self.scope().tabular(t)?;
                let first = plan.schema().field(0).name().clone();
                let plan = super::df(
                    super::builder(plan)
                        .project(vec![DfExpr::Column(Column::from_name(first))])
                        .and_then(|b| b.limit(0, Some(1)))
                        .and_then(|b| b.build()),
                    e.span,
                )?;
                Ok(DfExpr::ScalarSubquery(datafusion::logical_expr::Subquery {
                    subquery: Arc::new(plan),
                    outer_ref_columns: vec![],
                    spans: Default::default(),
                }))
            }
            ExprKind::Index { base, key } => {
                let b = self.expr(base, schema)?;
                let k = self.expr(key, schema)?;
                let bt = functions::kusto_type_of(&b, schema, base)?;
                let kt = functions::kusto_type_of(&k, schema, key)?;
                let index = &functions::dynamic_fns::INDEX;
                Ok(functions::rowfn::udf(index, &[bt, kt]).call(vec![b, k]))
            }
            ExprKind::In {
                expr,
                list,
                negated,
                case_insensitive,
            } => {
                let mut x = self.expr(expr, schema)?;
                let mut items = list
                    .iter()
                    .map(|i| self.expr(i, schema))
                    .collect::<Result<Vec<_>>>()?;
                if *case_insensitive {
                    x = lower(x);
                    items = items.into_iter().map(lower).collect();
                }
                Ok(x.in_list(items, *negated))
            }
            ExprKind::Binary { op, left, right } => {
                let l = self.expr(left, schema)?;
                let r = self.expr(right, schema)?;
                self.binary(*op, l, r, schema, e)
            }
        }
    }

    fn column(&self, name: &str, e: &Expr, schema: &DFSchema) -> Result<DfExpr> {
        if let Some((qualifier, field)) = schema.iter().find(|(_, f)| f.name() == name) {
            return Ok(DfExpr::Column(Column::new(
                qualifier.cloned(),
                field.name(),
            )));
        }
        if let Some(bound) = self.scalar_binding(name) {
            return Ok(bound);
        }
        let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        Err(KqlError::semantic(
            format!(
                "Failed to resolve scalar expression named '{name}'{}; columns are: {}",
                super::suggest::hint(name, columns.iter().copied()),
                if columns.is_empty() {
                    "(none)".to_string()
                } else {
                    columns.join(", ")
                }
            ),
            e.span,
        ))
    }

    fn binary(
        &self,
        op: BinaryOp,
        l: DfExpr,
        r: DfExpr,
        schema: &DFSchema,
        e: &Expr,
    ) -> Result<DfExpr> {
        let df_op = match op {
            BinaryOp::Add => Operator::Plus,
            BinaryOp::Sub => Operator::Minus,
            BinaryOp::Mul => Operator::Multiply,
            BinaryOp::Div => Operator::Divide,
            BinaryOp::Mod => Operator::Modulo,
            BinaryOp::Eq => Operator::Eq,
            BinaryOp::NotEq => Operator::NotEq,
            BinaryOp::Lt => Operator::Lt,
            BinaryOp::LtEq => Operator::LtEq,
            BinaryOp::Gt => Operator::Gt,
            BinaryOp::GtEq => Operator::GtEq,
            BinaryOp::And => Operator::And,
            BinaryOp::Or => Operator::Or,
            BinaryOp::EqCi => {
                return Ok(
                    lower(self.stringify(l, schema, e)?).eq(lower(self.stringify(r, schema, e)?))
                )
            }
            BinaryOp::NotEqCi => {
                return Ok(lower(self.stringify(l, schema, e)?)
                    .not_eq(lower(self.stringify(r, schema, e)?)))
            }
            BinaryOp::Str {
                op,
                negated,
                case_sensitive,
            } => {
                let l = self.stringify(l, schema, e)?;
                let r = self.stringify(r, schema, e)?;
                let f = functions::string::predicate(op_name(op), case_sensitive);
                let call = f.call(vec![l, r]);
                return Ok(if negated { call.not() } else { call });
            }
        };
        // A dynamic value compared with a typed one compares as that type.
        let (l, r) = if matches!(
            op,
            BinaryOp::Eq
                | BinaryOp::NotEq
                | BinaryOp::Lt
                | BinaryOp::LtEq
                | BinaryOp::Gt
                | BinaryOp::GtEq
        ) {
            let lk = functions::kusto_type_of(&l, schema, e)?;
            let rk = functions::kusto_type_of(&r, schema, e)?;
            let as_type = |x: DfExpr, to: KustoType| -> Result<DfExpr> {
                Ok(match to {
                    KustoType::String | KustoType::Guid => functions::text_of(x, schema, e)?,
                    KustoType::Dynamic => x,
                    KustoType::Bool => x,
                    _ => {
                        let def = functions::rowfn::lookup("todouble_dynamic").expect("defined");
                        functions::rowfn::udf(def, &[KustoType::Dynamic]).call(vec![x])
                    }
                })
            };
            match (lk, rk) {
                (KustoType::Dynamic, other) if other != KustoType::Dynamic => {
                    (as_type(l, other)?, r)
                }
                (other, KustoType::Dynamic) if other != KustoType::Dynamic => {
                    (l, as_type(r, other)?)
                }
                _ => (l, r),
            }
        } else {
            (l, r)
        };
        let lt = type_of(&l, schema, e)?;
        let rt = type_of(&r, schema, e)?;
        if matches!(op, BinaryOp::Sub) && is_timestamp(&lt) && is_timestamp(&rt) {
            // datetime - datetime is a timespan.
            let micros = |x: DfExpr| {
                DfExpr::Cast(datafusion::logical_expr::Cast::new(
                    Box::new(x),
                    DataType::Int64,
                ))
            };
            let diff = binary_expr(micros(l), Operator::Minus, micros(r));
            return Ok(DfExpr::Cast(datafusion::logical_expr::Cast::new(
                Box::new(diff),
                DataType::Duration(TimeUnit::Microsecond),
            )));
        }
        if matches!(op, BinaryOp::Div)
            && matches!(lt, DataType::Duration(_))
            && matches!(rt, DataType::Duration(_))
        {
            let f = |x: DfExpr| {
                DfExpr::Cast(datafusion::logical_expr::Cast::new(
                    Box::new(DfExpr::Cast(datafusion::logical_expr::Cast::new(
                        Box::new(x),
                        DataType::Int64,
                    ))),
                    DataType::Float64,
                ))
            };
            return Ok(binary_expr(f(l), Operator::Divide, f(r)));
        }
        // timespan * n, n * timespan, timespan / n: scale the microseconds.
        let duration = |t: &DataType| matches!(t, DataType::Duration(_));
        if matches!(op, BinaryOp::Mul | BinaryOp::Div)
            && (duration(&lt) && (rt.is_integer() || rt.is_floating())
                || duration(&rt)
                    && (lt.is_integer() || lt.is_floating())
                    && matches!(op, BinaryOp::Mul))
        {
            let (span_x, n) = if duration(&lt) { (l, r) } else { (r, l) };
            let micros = DfExpr::Cast(datafusion::logical_expr::Cast::new(
                Box::new(span_x),
                DataType::Int64,
            ));
            let f = |x: DfExpr| {
                DfExpr::Cast(datafusion::logical_expr::Cast::new(
                    Box::new(x),
                    DataType::Float64,
                ))
            };
            let scaled = binary_expr(f(micros), df_op, f(n));
            let rounded = datafusion::functions::math::expr_fn::round(vec![scaled]);
            return Ok(DfExpr::TryCast(datafusion::logical_expr::TryCast::new(
                Box::new(DfExpr::TryCast(datafusion::logical_expr::TryCast::new(
                    Box::new(rounded),
                    DataType::Int64,
                ))),
                DataType::Duration(TimeUnit::Microsecond),
            )));
        }
        // Arithmetic on dynamic values works on their numbers.
        let is_dyn =
            |x: &DfExpr| functions::kusto_type_of(x, schema, e).ok() == Some(KustoType::Dynamic);
        if matches!(
            op,
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod
        ) && (is_dyn(&l) || is_dyn(&r))
        {
            let num = |x: DfExpr| -> Result<DfExpr> {
                if is_dyn(&x) {
                    let def = functions::rowfn::lookup("todouble_dynamic").expect("defined");
                    Ok(functions::rowfn::udf(def, &[KustoType::Dynamic]).call(vec![x]))
                } else {
                    Ok(x)
                }
            };
            return Ok(binary_expr(num(l)?, df_op, num(r)?));
        }
        if matches!(op, BinaryOp::Div) && lt.is_integer() && rt.is_integer() {
            // Kusto: integer division by zero is an error in .NET; here it gives null.
            return Ok(binary_expr(l, Operator::Divide, nullif_zero(r)));
        }
        Ok(binary_expr(l, df_op, r))
    }

    /// A string view of an expression for string operators: strings as they are, other
    /// types through `tostring()`.
    pub(crate) fn stringify(&self, x: DfExpr, schema: &DFSchema, e: &Expr) -> Result<DfExpr> {
        let t = type_of(&x, schema, e)?;
        if t == DataType::Utf8 && functions::kusto_type_of(&x, schema, e)? == KustoType::Dynamic {
            return functions::text_of(x, schema, e);
        }
        Ok(functions::convert::to_string(x, &t))
    }
}

pub(crate) fn type_of(x: &DfExpr, schema: &DFSchema, e: &Expr) -> Result<DataType> {
    x.get_type(schema)
        .map_err(|err| KqlError::semantic(err.strip_backtrace(), e.span))
}

fn is_timestamp(t: &DataType) -> bool {
    matches!(t, DataType::Timestamp(..))
}

fn nullif_zero(x: DfExpr) -> DfExpr {
    datafusion::functions::core::expr_fn::nullif(x, lit(0i64))
}

pub(crate) fn lower(x: DfExpr) -> DfExpr {
    datafusion::functions::string::expr_fn::lower(x)
}

fn op_name(op: StrOp) -> &'static str {
    match op {
        StrOp::Has => "has",
        StrOp::Contains => "contains",
        StrOp::StartsWith => "startswith",
        StrOp::EndsWith => "endswith",
        StrOp::HasPrefix => "hasprefix",
        StrOp::HasSuffix => "hassuffix",
    }
}

/// A KQL literal as a DataFusion literal of the matching Arrow type.
pub(crate) fn literal(l: &Literal) -> DfExpr {
    // guid and dynamic are strings to Arrow; the field metadata keeps their Kusto type.
    let metadata = match l.kusto_type() {
        t @ (KustoType::Guid | KustoType::Dynamic) => Some(
            datafusion::common::metadata::FieldMetadata::new(std::collections::BTreeMap::from([(
                crate::types::KUSTO_TYPE_KEY.to_string(),
                t.name().to_string(),
            )])),
        ),
        _ => None,
    };
    DfExpr::Literal(scalar(l), metadata)
}

pub(crate) fn scalar(l: &Literal) -> ScalarValue {
    let utc: Option<Arc<str>> = Some("UTC".into());
    match l {
        Literal::Null(t) => ScalarValue::try_from(t.arrow_type()).unwrap_or(ScalarValue::Null),
        Literal::Bool(b) => ScalarValue::Boolean(Some(*b)),
        Literal::Int(v) => ScalarValue::Int32(Some(*v)),
        Literal::Long(v) => ScalarValue::Int64(Some(*v)),
        Literal::Real(v) => ScalarValue::Float64(Some(*v)),
        Literal::Decimal(s) => decimal_scalar(s),
        Literal::String(s) | Literal::Guid(s) => ScalarValue::Utf8(Some(s.clone())),
        Literal::DateTime(v) => ScalarValue::TimestampMicrosecond(Some(*v), utc),
        Literal::Timespan(v) => ScalarValue::DurationMicrosecond(Some(*v)),
        Literal::Dynamic(v) => ScalarValue::Utf8(Some(v.to_string())),
    }
}

/// Decimal text to Decimal128(38, 18).
pub fn decimal_scalar(s: &str) -> ScalarValue {
    let DataType::Decimal128(p, scale) = KustoType::Decimal.arrow_type() else {
        return ScalarValue::Null;
    };
    let value = parse_decimal(s, scale as u32);
    ScalarValue::Decimal128(value, p, scale)
}

/// Parses a decimal string into an i128 with `scale` fraction digits.
pub fn parse_decimal(s: &str, scale: u32) -> Option<i128> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty()
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let mut frac = frac.to_string();
    frac.truncate(scale as usize);
    let frac = format!("{frac:0<width$}", width = scale as usize);
    let digits = format!("{int}{frac}");
    let v: i128 = digits.trim_start_matches('0').parse().unwrap_or(0);
    Some(if neg { -v } else { v })
}
