//! Result tables as Kusto shapes them: typed columns and rows of JSON values in Kusto's
//! encoding (datetime `2024-01-01T00:00:00.0000000Z`, timespan `d.hh:mm:ss.fffffff`,
//! dynamic as real JSON, decimal as a string, NaN/Infinity as strings).

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{
    DataType, DurationMicrosecondType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type, SchemaRef, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use eddy_kql::types::{ColumnDef, KustoType};
use eddy_kql::values::{format_datetime, format_timespan};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct ResultTable {
    pub name: String,
    pub columns: Vec<ColumnDef>,
    pub rows: Vec<Vec<Value>>,
    /// How `render` asked clients to draw this result (Kusto's Visualization object).
    pub visualization: Option<Value>,
    /// Set when the rows are a prefix of the result: why they were cut (truncation).
    pub partial_failure: Option<String>,
}

impl ResultTable {
    pub fn new(name: &str, columns: &[(&str, KustoType)]) -> Self {
        ResultTable {
            name: name.to_string(),
            columns: columns
                .iter()
                .map(|(n, t)| ColumnDef {
                    name: n.to_string(),
                    ty: *t,
                })
                .collect(),
            rows: vec![],
            visualization: None,
            partial_failure: None,
        }
    }

    pub fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    pub fn from_batches(name: &str, schema: &SchemaRef, batches: &[RecordBatch]) -> Self {
        let columns = eddy_kql::types::column_defs(schema);
        let mut rows = vec![];
        for b in batches {
            let cols: Vec<Vec<Value>> = b
                .columns()
                .iter()
                .zip(&columns)
                .map(|(a, c)| encode_column(a, c.ty))
                .collect();
            for r in 0..b.num_rows() {
                rows.push(cols.iter().map(|c| c[r].clone()).collect());
            }
        }
        ResultTable {
            name: name.to_string(),
            columns,
            rows,
            visualization: None,
            partial_failure: None,
        }
    }

    /// The column index of `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

fn real(v: f64) -> Value {
    if v.is_nan() {
        json!("NaN")
    } else if v.is_infinite() {
        json!(if v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        json!(v)
    }
}

/// Encodes one Arrow column as Kusto JSON values.
pub fn encode_column(a: &ArrayRef, ty: KustoType) -> Vec<Value> {
    let n = a.len();
    let mut out = Vec::with_capacity(n);
    macro_rules! prim {
        ($t:ty, $f:expr) => {{
            let p = a.as_primitive::<$t>();
            for i in 0..n {
                out.push(if p.is_null(i) {
                    Value::Null
                } else {
                    $f(p.value(i))
                });
            }
        }};
    }
    match a.data_type() {
        DataType::Boolean => {
            let b = a.as_boolean();
            for i in 0..n {
                out.push(if b.is_null(i) {
                    Value::Null
                } else {
                    json!(b.value(i))
                });
            }
        }
        DataType::Int8 => prim!(Int8Type, |v| json!(v)),
        DataType::Int16 => prim!(Int16Type, |v| json!(v)),
        DataType::Int32 => prim!(Int32Type, |v| json!(v)),
        DataType::Int64 => prim!(Int64Type, |v| json!(v)),
        DataType::UInt8 => prim!(UInt8Type, |v| json!(v)),
        DataType::UInt16 => prim!(UInt16Type, |v| json!(v)),
        DataType::UInt32 => prim!(UInt32Type, |v| json!(v)),
        DataType::UInt64 => prim!(UInt64Type, |v| json!(v)),
        DataType::Float32 => prim!(Float32Type, |v: f32| real(v as f64)),
        DataType::Float64 => prim!(Float64Type, real),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            prim!(TimestampMicrosecondType, |v| json!(format_datetime(v)))
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            prim!(TimestampMillisecondType, |v: i64| json!(format_datetime(
                v * 1000
            )))
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            prim!(TimestampNanosecondType, |v: i64| json!(format_datetime(
                v.div_euclid(1000)
            )))
        }
        DataType::Timestamp(TimeUnit::Second, _) => {
            prim!(TimestampSecondType, |v: i64| json!(format_datetime(
                v * 1_000_000
            )))
        }
        DataType::Duration(TimeUnit::Microsecond) => {
            prim!(DurationMicrosecondType, |v| json!(format_timespan(v)))
        }
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => {
            let s = datafusion::arrow::compute::cast(a, &DataType::Utf8).expect("string cast");
            let s = s.as_string::<i32>();
            for i in 0..n {
                out.push(if s.is_null(i) {
                    Value::Null
                } else if ty == KustoType::Dynamic {
                    serde_json::from_str(s.value(i)).unwrap_or_else(|_| json!(s.value(i)))
                } else {
                    json!(s.value(i))
                });
            }
        }
        _ => {
            for i in 0..n {
                out.push(scalar_json(
                    &ScalarValue::try_from_array(a, i).unwrap_or(ScalarValue::Null),
                ));
            }
        }
    }
    out
}

/// Fallback for other types (lists from make_list, decimals, other durations).
fn scalar_json(v: &ScalarValue) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    match v {
        ScalarValue::Decimal128(Some(x), _, s) => {
            use datafusion::arrow::datatypes::DecimalType;
            let text = datafusion::arrow::datatypes::Decimal128Type::format_decimal(*x, 38, *s);
            json!(trim_decimal(&text))
        }
        ScalarValue::List(arr) => {
            let list = arr.value(0);
            let ty = KustoType::of_arrow(list.data_type());
            Value::Array(encode_column(&list, ty))
        }
        ScalarValue::DurationNanosecond(Some(v)) => json!(format_timespan(v / 1000)),
        ScalarValue::DurationMillisecond(Some(v)) => json!(format_timespan(v * 1000)),
        ScalarValue::DurationSecond(Some(v)) => json!(format_timespan(v * 1_000_000)),
        other => json!(other.to_string()),
    }
}

fn trim_decimal(s: &str) -> String {
    if !s.contains('.') {
        return s.to_string();
    }
    let t = s.trim_end_matches('0');
    t.strip_suffix('.').unwrap_or(t).to_string()
}

/// Plain-text form of a cell for terminals and CSV output.
pub fn display(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
