//! `bin()`/`floor()` for datetimes, timespans and numbers, rounding down as Kusto does
//! (also for values before the epoch).

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, DurationMicrosecondArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{
    DataType, DurationMicrosecondType, TimeUnit, TimestampMicrosecondType,
};
use datafusion::logical_expr::{cast, create_udf, ColumnarValue, Expr, ScalarUDF, Volatility};

use crate::types::KustoType;

fn floor_to(v: i64, size: i64) -> Option<i64> {
    if size <= 0 {
        return None;
    }
    Some(v.div_euclid(size) * size)
}

/// `bin(value, size)` for a value of type `t`; `None` if the type cannot be binned.
pub fn bin(value: Expr, t: &DataType, size: Expr) -> Option<Expr> {
    let duration = DataType::Duration(TimeUnit::Microsecond);
    Some(match t {
        DataType::Timestamp(..) => bin_udf("kql_bin_datetime", KustoType::DateTime.arrow_type())
            .call(vec![
                cast(value, KustoType::DateTime.arrow_type()),
                cast(size, duration),
            ]),
        DataType::Duration(_) => bin_udf("kql_bin_timespan", duration.clone())
            .call(vec![cast(value, duration.clone()), cast(size, duration)]),
        t if t.is_integer() => {
            // Exact integer floor: v - ((v % s + s) % s); a zero size gives null.
            let v = cast(value, DataType::Int64);
            let s = datafusion::functions::core::expr_fn::nullif(
                cast(size, DataType::Int64),
                datafusion::logical_expr::lit(0i64),
            );
            v.clone() - ((v % s.clone() + s.clone()) % s)
        }
        t if t.is_floating() || matches!(t, DataType::Decimal128(..)) => {
            let size = cast(size, DataType::Float64);
            datafusion::functions::math::expr_fn::floor(
                cast(value, DataType::Float64) / size.clone(),
            ) * size
        }
        _ => return None,
    })
}

fn bin_udf(name: &str, value_type: DataType) -> ScalarUDF {
    let is_time = matches!(value_type, DataType::Timestamp(..));
    create_udf(
        name,
        vec![
            value_type.clone(),
            DataType::Duration(TimeUnit::Microsecond),
        ],
        value_type,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let sizes = arrays[1].as_primitive::<DurationMicrosecondType>();
            let out: Arc<dyn datafusion::arrow::array::Array> = if is_time {
                let v = arrays[0].as_primitive::<TimestampMicrosecondType>();
                Arc::new(
                    TimestampMicrosecondArray::from_iter(
                        v.iter().zip(sizes.iter()).map(|(v, s)| floor_to(v?, s?)),
                    )
                    .with_timezone("UTC"),
                )
            } else {
                let v = arrays[0].as_primitive::<DurationMicrosecondType>();
                Arc::new(DurationMicrosecondArray::from_iter(
                    v.iter().zip(sizes.iter()).map(|(v, s)| floor_to(v?, s?)),
                ))
            };
            Ok(ColumnarValue::Array(out))
        }),
    )
}
