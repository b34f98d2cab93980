//! Conversions: `tostring` (Kusto's text forms), `todatetime`, `totimespan`, and the
//! numeric `to*` functions, which give null when a value does not convert.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, AsArray, DurationMicrosecondArray, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{
    DataType, DurationMicrosecondType, TimeUnit, TimestampMicrosecondType,
};
use datafusion::logical_expr::{cast, create_udf, lit, try_cast, ColumnarValue, Expr, Volatility};

use crate::types::KustoType;
use crate::values::{format_datetime, format_timespan, parse_datetime, parse_timespan};

fn datetime_type() -> DataType {
    KustoType::DateTime.arrow_type()
}

/// `tostring(x)`: Kusto text of any value; null becomes the empty string.
pub fn to_string(x: Expr, t: &DataType) -> Expr {
    let text = match t {
        DataType::Utf8 => return x,
        DataType::Null => return lit(""),
        DataType::Timestamp(..) => format_datetime_udf().call(vec![cast(x, datetime_type())]),
        DataType::Duration(_) => {
            format_timespan_udf().call(vec![cast(x, DataType::Duration(TimeUnit::Microsecond))])
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::Struct(_) | DataType::Map(..) => {
            datafusion::functions::string::expr_fn::concat(vec![cast(x, DataType::Utf8)])
        }
        _ => cast(x, DataType::Utf8),
    };
    datafusion::functions::core::expr_fn::coalesce(vec![text, lit("")])
}

/// `todatetime(x)`.
pub fn to_datetime(x: Expr, t: &DataType) -> Expr {
    match t {
        DataType::Timestamp(..) => cast(x, datetime_type()),
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => {
            parse_datetime_udf().call(vec![cast(x, DataType::Utf8)])
        }
        _ => try_cast(x, datetime_type()),
    }
}

/// `totimespan(x)`.
pub fn to_timespan(x: Expr, t: &DataType) -> Expr {
    match t {
        DataType::Duration(_) => cast(x, DataType::Duration(TimeUnit::Microsecond)),
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => {
            parse_timespan_udf().call(vec![cast(x, DataType::Utf8)])
        }
        _ => try_cast(x, DataType::Duration(TimeUnit::Microsecond)),
    }
}

fn format_datetime_udf() -> datafusion::logical_expr::ScalarUDF {
    create_udf(
        "kql_format_datetime",
        vec![datetime_type()],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let a = arrays[0].as_primitive::<TimestampMicrosecondType>();
            let out: StringArray = a.iter().map(|v| v.map(format_datetime)).collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

fn format_timespan_udf() -> datafusion::logical_expr::ScalarUDF {
    create_udf(
        "kql_format_timespan",
        vec![DataType::Duration(TimeUnit::Microsecond)],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let a = arrays[0].as_primitive::<DurationMicrosecondType>();
            let out: StringArray = a.iter().map(|v| v.map(format_timespan)).collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

fn parse_datetime_udf() -> datafusion::logical_expr::ScalarUDF {
    create_udf(
        "kql_todatetime",
        vec![DataType::Utf8],
        datetime_type(),
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let a = arrays[0].as_string::<i32>();
            let out = TimestampMicrosecondArray::from_iter((0..a.len()).map(|i| {
                if a.is_null(i) {
                    None
                } else {
                    parse_datetime(a.value(i))
                }
            }))
            .with_timezone("UTC");
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

fn parse_timespan_udf() -> datafusion::logical_expr::ScalarUDF {
    create_udf(
        "kql_totimespan",
        vec![DataType::Utf8],
        DataType::Duration(TimeUnit::Microsecond),
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let a = arrays[0].as_string::<i32>();
            let out = DurationMicrosecondArray::from_iter((0..a.len()).map(|i| {
                if a.is_null(i) {
                    None
                } else {
                    parse_timespan(a.value(i))
                }
            }));
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}
