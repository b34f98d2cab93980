//! Source values (JSON values; CSV fields arrive as strings) to typed Arrow columns, with
//! Kusto's conversion rules: a value that does not convert becomes null, and is counted.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Decimal128Array, DurationMicrosecondArray, Float64Array, Int32Array,
    Int64Array, StringArray, StringBuilder, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::DataType;
use eddy_kql::plan::parse_decimal;
use eddy_kql::types::KustoType;
use eddy_kql::values::{parse_datetime, parse_timespan};
use serde_json::Value;

/// A column's values and how many present values failed to convert.
pub struct Converted {
    pub array: ArrayRef,
    pub failed: u64,
}

/// The value of a cell that holds something (not missing, null or empty text).
pub(crate) fn present(v: &Option<Value>) -> Option<&Value> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(v) => Some(v),
    }
}

pub fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

pub fn to_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.trunc() as i64)
        }),
        Value::String(s) => text_to_i64(s),
        Value::Bool(b) => Some(*b as i64),
        _ => None,
    }
}

/// A long from text: an integer, or a number whose fraction is dropped.
pub fn text_to_i64(s: &str) -> Option<i64> {
    let t = s.trim();
    t.parse::<i64>().ok().or_else(|| {
        t.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(|f| f.trunc() as i64)
    })
}

pub fn to_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => text_to_f64(s),
        Value::Bool(b) => Some(*b as i64 as f64),
        _ => None,
    }
}

/// A real from text, with Kusto's names for the special values.
pub fn text_to_f64(s: &str) -> Option<f64> {
    match s.trim() {
        "NaN" => Some(f64::NAN),
        "Infinity" | "+Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        t => t.parse().ok(),
    }
}

/// The text of a value for a string column: strings as they are, anything else as JSON.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn to_datetime(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => parse_datetime(s),
        _ => None,
    }
}

pub fn to_timespan(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => parse_timespan(s),
        // A number is a count of 100 ns ticks, as in Kusto.
        Value::Number(n) => n.as_i64().map(|t| t / 10),
        _ => None,
    }
}

fn to_guid(v: &Value) -> Option<String> {
    let s = v.as_str()?.trim();
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    (hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| s.trim_matches(['{', '}']).to_ascii_lowercase())
}

/// JSON text for a dynamic column; a string that holds JSON is parsed first.
fn to_dynamic(v: &Value) -> String {
    match v {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(parsed) if parsed.is_object() || parsed.is_array() => parsed.to_string(),
            _ => Value::String(s.clone()).to_string(),
        },
        other => other.to_string(),
    }
}

/// Builds the column of type `ty` from one cell per row.
pub fn column(ty: KustoType, cells: &[Option<Value>]) -> Converted {
    let failed = std::cell::Cell::new(0u64);
    fn convert_one<T>(
        v: &Option<Value>,
        failed: &std::cell::Cell<u64>,
        f: impl Fn(&Value) -> Option<T>,
    ) -> Option<T> {
        let p = present(v)?;
        let out = f(p);
        if out.is_none() {
            failed.set(failed.get() + 1);
        }
        out
    }
    let array: ArrayRef = match ty {
        KustoType::Bool => Arc::new(
            cells
                .iter()
                .map(|v| convert_one(v, &failed, to_bool))
                .collect::<BooleanArray>(),
        ),
        KustoType::Int => Arc::new(
            cells
                .iter()
                .map(|v| {
                    convert_one(v, &failed, |x| {
                        to_i64(x).and_then(|n| i32::try_from(n).ok())
                    })
                })
                .collect::<Int32Array>(),
        ),
        KustoType::Long => Arc::new(
            cells
                .iter()
                .map(|v| convert_one(v, &failed, to_i64))
                .collect::<Int64Array>(),
        ),
        KustoType::Real => Arc::new(
            cells
                .iter()
                .map(|v| convert_one(v, &failed, to_f64))
                .collect::<Float64Array>(),
        ),
        KustoType::Decimal => {
            let DataType::Decimal128(p, s) = ty.arrow_type() else {
                unreachable!("decimal type")
            };
            let arr = cells
                .iter()
                .map(|v| convert_one(v, &failed, |x| parse_decimal(&to_text(x), s as u32)))
                .collect::<Decimal128Array>()
                .with_precision_and_scale(p, s)
                .expect("valid decimal precision");
            Arc::new(arr)
        }
        // Kusto strings have no null: a missing value is the empty string.
        KustoType::String => {
            let bytes: usize = cells
                .iter()
                .map(|v| match v {
                    Some(Value::String(s)) => s.len(),
                    _ => 8,
                })
                .sum();
            let mut b = StringBuilder::with_capacity(cells.len(), bytes);
            for v in cells {
                match v {
                    Some(Value::String(s)) => b.append_value(s),
                    None | Some(Value::Null) => b.append_value(""),
                    Some(other) => b.append_value(other.to_string()),
                }
            }
            Arc::new(b.finish())
        }
        KustoType::DateTime => Arc::new(
            cells
                .iter()
                .map(|v| convert_one(v, &failed, to_datetime))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
        KustoType::Timespan => Arc::new(
            cells
                .iter()
                .map(|v| convert_one(v, &failed, to_timespan))
                .collect::<DurationMicrosecondArray>(),
        ),
        KustoType::Guid => Arc::new(
            cells
                .iter()
                .map(|v| convert_one(v, &failed, to_guid))
                .collect::<StringArray>(),
        ),
        KustoType::Dynamic => Arc::new(
            cells
                .iter()
                .map(|v| match v {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) if s.is_empty() => None,
                    Some(x) => Some(to_dynamic(x)),
                })
                .collect::<StringArray>(),
        ),
    };
    Converted {
        array,
        failed: failed.get(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Array;
    use serde_json::json;

    #[test]
    fn conversions_follow_kusto() {
        let c = column(
            KustoType::Long,
            &[
                Some(json!("12")),
                Some(json!(3.9)),
                Some(json!("abc")),
                None,
            ],
        );
        let a = c.array.as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(
            (a.value(0), a.value(1), a.is_null(2), a.is_null(3)),
            (12, 3, true, true)
        );
        assert_eq!(c.failed, 1);
        let s = column(
            KustoType::String,
            &[None, Some(json!(5)), Some(json!({"a":1}))],
        );
        let a = s.array.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!((a.value(0), a.value(1), a.value(2)), ("", "5", "{\"a\":1}"));
        let d = column(
            KustoType::Dynamic,
            &[Some(json!("{\"x\": 1}")), Some(json!("plain"))],
        );
        let a = d.array.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!((a.value(0), a.value(1)), ("{\"x\":1}", "\"plain\""));
    }
}
