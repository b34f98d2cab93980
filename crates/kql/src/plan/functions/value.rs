//! One KQL value, for the functions that work a row at a time (`rowfn.rs`): conversion
//! from Arrow cells, to Arrow arrays of a Kusto type, and Kusto's text forms.

use std::borrow::Cow;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, DurationMicrosecondBuilder, Float64Builder,
    Int32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, DurationMicrosecondType, Float32Type, Float64Type, Int16Type,
    Int32Type, Int64Type, Int8Type, TimeUnit, TimestampMicrosecondType, UInt32Type, UInt64Type,
};
use serde_json::Value as Json;

use crate::types::KustoType;
use crate::values::{format_datetime, format_timespan};

/// A KQL scalar. `int` values travel as `Long`; guids as `Str`; `dynamic` as JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Null,
    Bool(bool),
    Long(i64),
    Real(f64),
    Str(String),
    /// Microseconds since the Unix epoch.
    DateTime(i64),
    /// Microseconds.
    Timespan(i64),
    Dyn(Json),
}

impl V {
    pub fn is_null(&self) -> bool {
        matches!(self, V::Null | V::Dyn(Json::Null))
    }

    /// A number as f64 (longs, reals, bools, numeric dynamic values, timespans in ticks).
    pub fn f64(&self) -> Option<f64> {
        match self {
            V::Long(v) => Some(*v as f64),
            V::Real(v) => Some(*v),
            V::Bool(b) => Some(*b as i64 as f64),
            V::Dyn(j) => j.as_f64(),
            V::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A number as i64; reals truncate toward zero.
    pub fn i64(&self) -> Option<i64> {
        match self {
            V::Long(v) => Some(*v),
            V::Real(v) if v.is_finite() => Some(v.trunc() as i64),
            V::Bool(b) => Some(*b as i64),
            V::Dyn(j) => j.as_i64().or_else(|| j.as_f64().map(|f| f.trunc() as i64)),
            V::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// `tostring()` of the value; null is the empty string.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            V::Null => Cow::Borrowed(""),
            V::Str(s) => Cow::Borrowed(s),
            V::Bool(b) => Cow::Owned(b.to_string()),
            V::Long(v) => Cow::Owned(v.to_string()),
            V::Real(v) => Cow::Owned(format_real(*v)),
            V::DateTime(v) => Cow::Owned(format_datetime(*v)),
            V::Timespan(v) => Cow::Owned(format_timespan(*v)),
            V::Dyn(Json::Null) => Cow::Borrowed(""),
            V::Dyn(Json::String(s)) => Cow::Borrowed(s),
            V::Dyn(j) => Cow::Owned(j.to_string()),
        }
    }

    /// The value as dynamic JSON: strings that hold JSON arrays or objects parse (dynamic
    /// values can reach a function as their JSON text).
    pub fn json(&self) -> Json {
        match self {
            V::Null => Json::Null,
            V::Dyn(j) => j.clone(),
            V::Str(s) => {
                let t = s.trim_start();
                if t.starts_with('[') || t.starts_with('{') {
                    serde_json::from_str(s).unwrap_or_else(|_| Json::String(s.clone()))
                } else {
                    Json::String(s.clone())
                }
            }
            V::Bool(b) => Json::Bool(*b),
            V::Long(v) => Json::from(*v),
            V::Real(v) => serde_json::Number::from_f64(*v)
                .map(Json::Number)
                .unwrap_or(Json::Null),
            V::DateTime(v) => Json::String(format_datetime(*v)),
            V::Timespan(v) => Json::String(format_timespan(*v)),
        }
    }

    /// The value as a JSON array, if it is one.
    pub fn array(&self) -> Option<Vec<Json>> {
        match self.json() {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The value as a JSON object, if it is one.
    pub fn bag(&self) -> Option<serde_json::Map<String, Json>> {
        match self.json() {
            Json::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn datetime(&self) -> Option<i64> {
        match self {
            V::DateTime(v) => Some(*v),
            V::Str(s) => crate::values::parse_datetime(s),
            V::Dyn(Json::String(s)) => crate::values::parse_datetime(s),
            _ => None,
        }
    }

    pub fn timespan(&self) -> Option<i64> {
        match self {
            V::Timespan(v) => Some(*v),
            V::Str(s) => crate::values::parse_timespan(s),
            V::Dyn(Json::String(s)) => crate::values::parse_timespan(s),
            _ => None,
        }
    }

    /// A dynamic element as a value of its natural type.
    pub fn from_json(j: Json) -> V {
        match j {
            Json::Null => V::Null,
            other => V::Dyn(other),
        }
    }
}

/// Kusto's (.NET's) text of a real: shortest round-trip digits, scientific notation for
/// exponents below -5 or above 14 (`1E+15`, `1E-05`), `NaN`, `Infinity`.
pub fn format_real(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let exp = v.abs().log10().floor() as i32;
    if (-4..15).contains(&exp) {
        let s = format!("{v}");
        return s.strip_suffix(".0").map(str::to_string).unwrap_or(s);
    }
    let s = format!("{v:e}");
    let (mantissa, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let sign = if e < 0 { '-' } else { '+' };
    format!("{mantissa}E{sign}{:02}", e.abs())
}

/// The Kusto type of an argument field (metadata first, then the Arrow type).
pub fn kusto_type(field: &datafusion::arrow::datatypes::Field) -> KustoType {
    match field.data_type() {
        DataType::List(_) | DataType::LargeList(_) | DataType::Struct(_) | DataType::Map(..) => {
            KustoType::Dynamic
        }
        _ => KustoType::of_field(field),
    }
}

/// Reads row `i` of `a`, whose Kusto type is `ty`.
pub fn cell(a: &ArrayRef, ty: KustoType, i: usize) -> V {
    if a.is_null(i) {
        return V::Null;
    }
    match a.data_type() {
        DataType::Boolean => V::Bool(a.as_boolean().value(i)),
        DataType::Int8 => V::Long(a.as_primitive::<Int8Type>().value(i) as i64),
        DataType::Int16 => V::Long(a.as_primitive::<Int16Type>().value(i) as i64),
        DataType::Int32 => V::Long(a.as_primitive::<Int32Type>().value(i) as i64),
        DataType::Int64 => V::Long(a.as_primitive::<Int64Type>().value(i)),
        DataType::UInt32 => V::Long(a.as_primitive::<UInt32Type>().value(i) as i64),
        DataType::UInt64 => V::Long(a.as_primitive::<UInt64Type>().value(i) as i64),
        DataType::Float32 => V::Real(a.as_primitive::<Float32Type>().value(i) as f64),
        DataType::Float64 => V::Real(a.as_primitive::<Float64Type>().value(i)),
        DataType::Decimal128(_, scale) => {
            let raw = a.as_primitive::<Decimal128Type>().value(i);
            V::Real(raw as f64 / 10f64.powi(*scale as i32))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            V::DateTime(a.as_primitive::<TimestampMicrosecondType>().value(i))
        }
        DataType::Duration(TimeUnit::Microsecond) => {
            V::Timespan(a.as_primitive::<DurationMicrosecondType>().value(i))
        }
        DataType::Utf8 => {
            let s = a.as_string::<i32>().value(i);
            if ty == KustoType::Dynamic {
                V::from_json(serde_json::from_str(s).unwrap_or_else(|_| Json::String(s.into())))
            } else {
                V::Str(s.to_string())
            }
        }
        DataType::LargeUtf8 => V::Str(a.as_string::<i64>().value(i).to_string()),
        DataType::Utf8View => V::Str(a.as_string_view().value(i).to_string()),
        DataType::Null => V::Null,
        DataType::List(_) => {
            let items = a.as_list::<i32>().value(i);
            let ty = kusto_type(&datafusion::arrow::datatypes::Field::new(
                "item",
                items.data_type().clone(),
                true,
            ));
            V::Dyn(Json::Array(
                (0..items.len())
                    .map(|j| match cell(&items, ty, j) {
                        V::Str(s) => Json::String(s),
                        other => other.json(),
                    })
                    .collect(),
            ))
        }
        _ => match datafusion::common::ScalarValue::try_from_array(a, i) {
            Ok(v) => V::Str(v.to_string()),
            Err(_) => V::Null,
        },
    }
}

/// Builds an Arrow array of Kusto type `ty` from values; values of another type convert
/// (or become null). Strings have no null in Kusto: a null string is `""`.
pub fn to_array(ty: KustoType, values: impl ExactSizeIterator<Item = V>) -> ArrayRef {
    let n = values.len();
    match ty {
        KustoType::Bool => {
            let mut b = BooleanBuilder::with_capacity(n);
            for v in values {
                b.append_option(match v {
                    V::Bool(x) => Some(x),
                    V::Dyn(Json::Bool(x)) => Some(x),
                    V::Long(x) => Some(x != 0),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        KustoType::Int => {
            let mut b = Int32Builder::with_capacity(n);
            for v in values {
                b.append_option(v.i64().and_then(|x| i32::try_from(x).ok()));
            }
            Arc::new(b.finish())
        }
        KustoType::Long => {
            let mut b = Int64Builder::with_capacity(n);
            for v in values {
                b.append_option(match v {
                    V::Str(_) => None,
                    other => other.i64(),
                });
            }
            Arc::new(b.finish())
        }
        KustoType::Real | KustoType::Decimal => {
            let mut b = Float64Builder::with_capacity(n);
            for v in values {
                b.append_option(match v {
                    V::Str(_) => None,
                    other => other.f64(),
                });
            }
            Arc::new(b.finish())
        }
        KustoType::DateTime => {
            let mut b = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
            for v in values {
                b.append_option(v.datetime());
            }
            Arc::new(b.finish())
        }
        KustoType::Timespan => {
            let mut b = DurationMicrosecondBuilder::with_capacity(n);
            for v in values {
                b.append_option(v.timespan());
            }
            Arc::new(b.finish())
        }
        KustoType::String | KustoType::Guid => {
            let mut b = StringBuilder::with_capacity(n, n * 8);
            for v in values {
                if ty == KustoType::Guid && v.is_null() {
                    b.append_null();
                } else {
                    b.append_value(v.text());
                }
            }
            Arc::new(b.finish())
        }
        KustoType::Dynamic => {
            let mut b = StringBuilder::with_capacity(n, n * 8);
            for v in values {
                match v {
                    V::Null => b.append_null(),
                    other => b.append_value(other.json().to_string()),
                }
            }
            Arc::new(b.finish())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reals_print_as_dotnet_does() {
        assert_eq!(format_real(1.0), "1");
        assert_eq!(format_real(2.5), "2.5");
        assert_eq!(format_real(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_real(1e15), "1E+15");
        assert_eq!(format_real(123456789012345.0), "123456789012345");
        assert_eq!(format_real(0.0001), "0.0001");
        assert_eq!(format_real(0.00001), "1E-05");
        assert_eq!(format_real(-1.5e-7), "-1.5E-07");
        assert_eq!(format_real(f64::NAN), "NaN");
    }
}
