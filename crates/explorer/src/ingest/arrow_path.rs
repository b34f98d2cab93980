//! The fastest path of JSON lines: a mapping that reads each column from one top-level
//! key, into string, int, long, real or datetime columns, decodes with arrow-json's
//! vectorised reader straight into Arrow arrays.
//!
//! It gives the rows the general path gives or nothing at all: any value arrow-json
//! would read differently from Kusto's rules (a boolean or text where a number goes, a
//! number where text goes, an object, a malformed line) makes it fail, and the caller
//! parses the chunk the general way, with per-record failures.

use std::sync::Arc;

use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use eddy_kql::types::{arrow_schema, KustoType};
use eddy_kql::values::parse_datetime;

use super::mapping::{Segment, Source};
use super::{Parsed, Request};

const BATCH_ROWS: usize = 1 << 16;

pub struct ArrowPlan {
    /// The top-level keys read, each in the Arrow type it decodes to.
    keys: SchemaRef,
    /// Per table column: the key it comes from.
    sources: Vec<Option<usize>>,
}

impl ArrowPlan {
    /// The plan for `req`, if it qualifies.
    pub fn new(req: &Request<'_>) -> Option<ArrowPlan> {
        if req.strict {
            return None;
        }
        let mut fields: Vec<Field> = vec![];
        let mut sources = vec![None; req.columns.len()];
        let pairs: Vec<(usize, String)> = match req.mapping {
            Some(m) => {
                let mut out = vec![];
                for e in &m.entries {
                    let col = req.columns.iter().position(|c| c.name == e.column)?;
                    match (&e.source, e.transform) {
                        (Source::Path(p), None) => match p.0.as_slice() {
                            [Segment::Key(k)] => out.push((col, k.clone())),
                            _ => return None,
                        },
                        _ => return None,
                    }
                }
                out
            }
            None => req
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| (i, c.name.clone()))
                .collect(),
        };
        for (col, key) in pairs {
            let ty = match req.columns[col].ty {
                KustoType::String | KustoType::DateTime => DataType::Utf8,
                KustoType::Long => DataType::Int64,
                KustoType::Int => DataType::Int32,
                KustoType::Real => DataType::Float64,
                _ => return None,
            };
            // A key read twice or a column filled twice: the general path.
            if fields.iter().any(|f| f.name() == &key) || sources[col].is_some() {
                return None;
            }
            sources[col] = Some(fields.len());
            fields.push(Field::new(key, ty, true));
        }
        Some(ArrowPlan {
            keys: Arc::new(Schema::new(fields)),
            sources,
        })
    }

    /// The rows of NDJSON `bytes`, or None when the general path must read them.
    pub fn decode(&self, req: &Request<'_>, bytes: &[u8], skip_first: bool) -> Option<Parsed> {
        let mut decoder = arrow_json::ReaderBuilder::new(self.keys.clone())
            .with_batch_size(BATCH_ROWS)
            .build_decoder()
            .ok()?;
        let mut batches = vec![];
        let mut rest = bytes;
        loop {
            let read = decoder.decode(rest).ok()?;
            rest = &rest[read..];
            if rest.is_empty() || decoder.len() >= BATCH_ROWS {
                if let Some(b) = decoder.flush().ok()? {
                    batches.push(b);
                }
            }
            if rest.is_empty() {
                break;
            }
            if read == 0 && decoder.is_empty() {
                return None;
            }
        }
        if decoder.has_partial_record() {
            return None;
        }
        let mut keys = concat_batches(&self.keys, &batches).ok()?;
        if skip_first && keys.num_rows() > 0 {
            keys = keys.slice(1, keys.num_rows() - 1);
        }
        let rows = keys.num_rows();
        let mut conversion_failures = 0;
        let mut arrays: Vec<ArrayRef> = vec![];
        for (c, src) in req.columns.iter().zip(&self.sources) {
            let a = match src {
                Some(k) => {
                    let (a, failed) = convert(keys.column(*k), c.ty)?;
                    conversion_failures += failed;
                    a
                }
                None if c.ty == KustoType::String => {
                    Arc::new(StringArray::from_iter_values(std::iter::repeat_n("", rows)))
                }
                None => new_null_array(&c.ty.arrow_type(), rows),
            };
            arrays.push(a);
        }
        let batch = RecordBatch::try_new(arrow_schema(req.columns), arrays).ok()?;
        Some(Parsed {
            batch,
            failures: vec![],
            conversion_failures,
            raw_bytes: bytes.len() as u64,
        })
    }
}

/// A decoded key column as the table column's type, with the count of values that
/// did not convert (datetimes only; the numbers either decoded or sent the chunk to
/// the general path).
fn convert(a: &ArrayRef, ty: KustoType) -> Option<(ArrayRef, u64)> {
    match ty {
        // Kusto strings have no null.
        KustoType::String if a.null_count() > 0 => {
            let s = a.as_string::<i32>();
            let filled: StringArray = (0..s.len())
                .map(|i| Some(if s.is_null(i) { "" } else { s.value(i) }))
                .collect();
            Some((Arc::new(filled), 0))
        }
        KustoType::DateTime => {
            let s = a.as_string::<i32>();
            let mut failed = 0;
            let t: TimestampMicrosecondArray = (0..s.len())
                .map(|i| {
                    if s.is_null(i) || s.value(i).is_empty() {
                        return None;
                    }
                    let v = parse_datetime(s.value(i));
                    failed += v.is_none() as u64;
                    v
                })
                .collect();
            Some((Arc::new(t.with_timezone("UTC")), failed))
        }
        _ => Some((a.clone(), 0)),
    }
}

#[cfg(test)]
mod tests {
    use eddy_kql::command::MappingKind;
    use eddy_kql::types::{ColumnDef, KustoType};

    use super::super::mapping::Mapping;
    use super::super::{parse, Format, Request};
    use super::ArrowPlan;

    fn columns() -> Vec<ColumnDef> {
        [
            ("S", KustoType::String),
            ("L", KustoType::Long),
            ("I", KustoType::Int),
            ("R", KustoType::Real),
            ("T", KustoType::DateTime),
            ("Tag", KustoType::String),
        ]
        .into_iter()
        .map(|(n, ty)| ColumnDef { name: n.into(), ty })
        .collect()
    }

    const FLAT: &str = r#"[{"column":"S","path":"$.s"},{"column":"L","path":"$.l"},{"column":"I","path":"$.i"},{"column":"R","path":"$.r"},{"column":"T","path":"$.t"}]"#;
    /// The same plus a constant: not eligible for the arrow path.
    const GENERAL: &str = r#"[{"column":"S","path":"$.s"},{"column":"L","path":"$.l"},{"column":"I","path":"$.i"},{"column":"R","path":"$.r"},{"column":"T","path":"$.t"},{"column":"Tag","Properties":{"ConstValue":""}}]"#;

    fn both(data: &str) -> (bool, String, String) {
        let cols = columns();
        let flat = Mapping::parse(MappingKind::Json, FLAT, &cols).unwrap();
        let general = Mapping::parse(MappingKind::Json, GENERAL, &cols).unwrap();
        let req = |m| Request {
            columns: &cols,
            format: Format::Json,
            mapping: Some(m),
            ignore_first_record: false,
            source: "t",
            strict: false,
        };
        let fast = ArrowPlan::new(&req(&flat))
            .unwrap()
            .decode(&req(&flat), data.as_bytes(), false)
            .is_some();
        assert!(ArrowPlan::new(&req(&general)).is_none());
        let show = |p: super::Parsed| {
            format!(
                "{:?} failures={} conversion={}",
                datafusion::arrow::util::pretty::pretty_format_batches(&[p.batch])
                    .unwrap()
                    .to_string(),
                p.failures.len(),
                p.conversion_failures
            )
        };
        (
            fast,
            show(parse(&req(&flat), data.as_bytes()).unwrap()),
            show(parse(&req(&general), data.as_bytes()).unwrap()),
        )
    }

    #[test]
    fn answers_like_the_general_path_or_not_at_all() {
        let cases = [
            // Decoded by arrow-json: escapes, unicode, nulls, missing keys, numbers as
            // text, integral reals, a datetime that does not parse, blank lines.
            (true, "{\"s\":\"a\\\"b\\u00e9\",\"l\":\"12\",\"i\":7,\"r\":21,\"t\":\"2026-01-02T03:04:05Z\",\"x\":[1]}\n\n{\"s\":null,\"l\":null,\"r\":1.5e3,\"t\":\"soon\"}\n{\"i\":-3,\"l\":3.9}"),
            // Mostly the general path (arrow-json refuses them): a boolean where a
            // number goes, a number where text goes, an object, a malformed line,
            // padded or empty text where a number goes.
            (false, "{\"l\":true}"),
            (false, "{\"s\":5}"),
            (false, "{\"s\":{\"a\":1}}"),
            (false, "{\"s\":\"a\"}\n{\"s\":"),
            (false, "{\"l\":\" 12\"}"),
            (false, "{\"l\":\"\"}"),
            (false, "7"),
            (false, "{\"s\":\"first\",\"s\":\"second\"}"),
        ];
        for (fast, data) in cases {
            let (was_fast, a, b) = both(data);
            // The Tag column differs only in how it is filled; both are empty strings.
            assert_eq!(a, b, "{data}");
            if fast {
                assert!(was_fast, "arrow-json decodes {data}");
            }
        }
    }
}
