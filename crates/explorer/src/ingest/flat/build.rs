//! Table columns built straight from scanned cells, with the conversion rules of
//! [`crate::ingest::convert`] (a present value that does not convert is null and counted).
//! Values in unusual shapes (escaped text, booleans, objects, big or fractional numbers
//! where an integer goes) are read with serde_json and converted by those same rules.

use std::borrow::Cow;
use std::sync::Arc;

use datafusion::arrow::array::builder::NullBufferBuilder;
use datafusion::arrow::array::{
    new_null_array, ArrayRef, Float64Array, Int32Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use eddy_kql::types::KustoType;
use eddy_kql::values::{parse_datetime, IsoDates};
use serde_json::Value;

use super::scan::Cell;
use crate::ingest::convert;

/// One table column under construction.
pub(super) enum Column {
    /// Kusto strings: no nulls; a missing value is empty.
    Text {
        values: Vec<u8>,
        offsets: Vec<i32>,
    },
    Long(Vec<i64>, NullBufferBuilder),
    Int(Vec<i32>, NullBufferBuilder),
    Real(Vec<f64>, NullBufferBuilder),
    Time(Vec<i64>, NullBufferBuilder, IsoDates),
    /// Any other type: JSON values, converted at the end.
    General(KustoType, Vec<Option<Value>>),
}

/// The chunk's bytes that cells point into (the scanner checked that every string in
/// it is valid UTF-8, and all else is ASCII).
pub(super) struct Source<'a> {
    pub bytes: &'a [u8],
}

impl Source<'_> {
    /// The bytes of a cell as text.
    fn str(&self, start: usize, end: usize) -> Option<&str> {
        std::str::from_utf8(&self.bytes[start..end]).ok()
    }

    /// The text of a string cell.
    fn text(&self, start: usize, end: usize, escaped: bool) -> Option<Cow<'_, str>> {
        if !escaped {
            return self.str(start, end).map(Cow::Borrowed);
        }
        serde_json::from_slice::<String>(&self.bytes[start - 1..=end])
            .ok()
            .map(Cow::Owned)
    }

    /// Any cell as a JSON value (None: missing).
    fn value(&self, cell: Cell) -> Option<Option<Value>> {
        Some(match cell {
            Cell::Missing => None,
            Cell::Null => Some(Value::Null),
            Cell::Str {
                start,
                end,
                escaped,
            } => Some(Value::String(self.text(start, end, escaped)?.into_owned())),
            Cell::Num { start, end, .. } | Cell::Other { start, end } => {
                Some(serde_json::from_slice(&self.bytes[start..end]).ok()?)
            }
        })
    }
}

impl Column {
    pub fn new(ty: KustoType, rows: usize) -> Column {
        let nulls = || NullBufferBuilder::new(rows);
        match ty {
            KustoType::String => Column::Text {
                values: Vec::with_capacity(rows * 32),
                offsets: {
                    let mut o = Vec::with_capacity(rows + 1);
                    o.push(0);
                    o
                },
            },
            KustoType::Long => Column::Long(Vec::with_capacity(rows), nulls()),
            KustoType::Int => Column::Int(Vec::with_capacity(rows), nulls()),
            KustoType::Real => Column::Real(Vec::with_capacity(rows), nulls()),
            KustoType::DateTime => {
                Column::Time(Vec::with_capacity(rows), nulls(), IsoDates::default())
            }
            other => Column::General(other, Vec::with_capacity(rows)),
        }
    }

    /// Room for `rows` more values; text as long as the values so far (`seen` rows).
    pub fn reserve_like(&mut self, seen: usize, rows: usize) {
        match self {
            Column::Text { values, offsets } => {
                offsets.reserve(rows);
                values.reserve(values.len() * rows / seen.max(1));
            }
            Column::Long(v, _) | Column::Time(v, _, _) => v.reserve(rows),
            Column::Int(v, _) => v.reserve(rows),
            Column::Real(v, _) => v.reserve(rows),
            Column::General(_, cells) => cells.reserve(rows),
        }
    }

    /// Adds one row's cell; `failed` counts values that did not convert. None: the chunk
    /// must go the general way.
    pub fn push(&mut self, src: &Source<'_>, cell: Cell, failed: &mut u64) -> Option<()> {
        match self {
            Column::Text { values, offsets } => {
                match cell {
                    Cell::Missing | Cell::Null => {}
                    Cell::Str {
                        start,
                        end,
                        escaped: false,
                    } => values.extend_from_slice(&src.bytes[start..end]),
                    other => {
                        let text = match src.value(other)?? {
                            Value::String(s) => s,
                            v => v.to_string(),
                        };
                        values.extend_from_slice(text.as_bytes());
                    }
                }
                offsets.push(i32::try_from(values.len()).ok()?);
            }
            Column::Long(v, nulls) => {
                let n = integer(src, cell, failed)?;
                push(v, nulls, n.unwrap_or_default(), n.is_some());
            }
            Column::Int(v, nulls) => {
                let n = match integer(src, cell, failed)? {
                    Some(n) => {
                        let small = i32::try_from(n).ok();
                        *failed += small.is_none() as u64;
                        small
                    }
                    None => None,
                };
                push(v, nulls, n.unwrap_or_default(), n.is_some());
            }
            Column::Real(v, nulls) => {
                let x = match cell {
                    Cell::Num {
                        start,
                        end,
                        int,
                        short,
                    } => {
                        // Integers as serde_json reads them: `-0` is a negative zero.
                        let whole = || src.str(start, end)?.parse::<i64>().ok();
                        let x = if !short.is_nan() {
                            short
                        } else {
                            match int.then(whole).flatten() {
                                Some(i) if i != 0 => i as f64,
                                _ => src.str(start, end)?.parse::<f64>().ok()?,
                            }
                        };
                        // serde_json refuses numbers out of a real's range.
                        if !x.is_finite() {
                            return None;
                        }
                        Some(x)
                    }
                    other => converted(src, other, failed, convert::text_to_f64, |v| {
                        convert::to_f64(&v)
                    })?,
                };
                push(v, nulls, x.unwrap_or_default(), x.is_some());
            }
            Column::Time(v, nulls, dates) => {
                let iso = match cell {
                    Cell::Str {
                        start,
                        end,
                        escaped: false,
                    } => dates.parse(&src.bytes[start..end]),
                    _ => None,
                };
                let t = match iso {
                    Some(t) => Some(t),
                    None => converted(src, cell, failed, parse_datetime, |_| None)?,
                };
                push(v, nulls, t.unwrap_or_default(), t.is_some());
            }
            Column::General(_, cells) => cells.push(src.value(cell)?),
        }
        Some(())
    }

    /// The finished array and the count of values the general conversion refused.
    pub fn finish(self) -> (ArrayRef, u64) {
        match self {
            Column::Text { values, offsets } => {
                let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
                (
                    Arc::new(StringArray::new(offsets, Buffer::from_vec(values), None)),
                    0,
                )
            }
            Column::Long(v, mut n) => (Arc::new(Int64Array::new(v.into(), n.finish())), 0),
            Column::Int(v, mut n) => (Arc::new(Int32Array::new(v.into(), n.finish())), 0),
            Column::Real(v, mut n) => (Arc::new(Float64Array::new(v.into(), n.finish())), 0),
            Column::Time(v, mut n, _) => (
                Arc::new(TimestampMicrosecondArray::new(v.into(), n.finish()).with_timezone("UTC")),
                0,
            ),
            Column::General(ty, cells) => {
                let c = convert::column(ty, &cells);
                (c.array, c.failed)
            }
        }
    }
}

/// A column no mapping entry fills: empty strings or nulls.
pub(super) fn absent(ty: KustoType, rows: usize) -> ArrayRef {
    match ty {
        KustoType::String => Arc::new(StringArray::from_iter_values(std::iter::repeat_n("", rows))),
        _ => new_null_array(&ty.arrow_type(), rows),
    }
}

fn push<T>(values: &mut Vec<T>, nulls: &mut NullBufferBuilder, v: T, valid: bool) {
    values.push(v);
    nulls.append(valid);
}

/// A long from a cell: plain integers directly, anything else by the general rules.
fn integer(src: &Source<'_>, cell: Cell, failed: &mut u64) -> Option<Option<i64>> {
    if let Cell::Num {
        start,
        end,
        int: true,
        short,
    } = cell
    {
        // A short integer is exact in a real.
        if !short.is_nan() {
            return Some(Some(short as i64));
        }
        if let Some(Ok(n)) = src.str(start, end).map(str::parse::<i64>) {
            return Some(Some(n));
        }
    }
    converted(src, cell, failed, convert::text_to_i64, |v| {
        convert::to_i64(&v)
    })
}

/// A cell by the general rules: missing, null and empty text are null (not failures);
/// text goes through `from_text`, other values through `from_value`. The outer None:
/// the cell could not be read (the general path decides).
fn converted<T>(
    src: &Source<'_>,
    cell: Cell,
    failed: &mut u64,
    from_text: impl Fn(&str) -> Option<T>,
    from_value: impl Fn(Value) -> Option<T>,
) -> Option<Option<T>> {
    let out = match cell {
        Cell::Missing | Cell::Null => return Some(None),
        Cell::Str {
            start,
            end,
            escaped,
        } => {
            let text = src.text(start, end, escaped)?;
            if text.is_empty() {
                return Some(None);
            }
            from_text(&text)
        }
        other => from_value(src.value(other)??),
    };
    *failed += out.is_none() as u64;
    Some(out)
}
