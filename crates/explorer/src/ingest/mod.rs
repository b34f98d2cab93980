//! Ingestion: bytes in a format (json, multijson, csv/tsv/psv/scsv/sohsv, txt, raw,
//! parquet, avro; gzip for text) plus an optional mapping, to one Arrow batch in the
//! table's schema. A record that cannot be parsed becomes a [`RecordFailure`] (position,
//! raw payload, code, reason) and the other records still land.

mod avro;
pub mod convert;
mod csv;
pub mod events;
mod fields;
mod flat;
mod json;
mod json_lines;
pub mod mapping;
mod parquet;

use std::io::Read;

use datafusion::arrow::array::Array;
use datafusion::arrow::record_batch::RecordBatch;
use eddy_kql::command::MappingKind;
use eddy_kql::types::{arrow_schema, ColumnDef};
use eddy_kql::values::format_datetime;
use serde_json::Value;

use crate::error::{ExplorerError, Result};
use mapping::{Mapping, Source, Transform};

/// Longest raw payload kept in a failure record.
pub const MAX_FAILURE_PAYLOAD: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    MultiJson,
    /// Delimited text with this separator.
    Csv(u8),
    Txt,
    Raw,
    Parquet,
    Avro,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s.to_ascii_lowercase().as_str() {
            "json" => Format::Json,
            "multijson" => Format::MultiJson,
            "csv" => Format::Csv(b','),
            "tsv" | "tsve" => Format::Csv(b'\t'),
            "psv" => Format::Csv(b'|'),
            "scsv" => Format::Csv(b';'),
            "sohsv" => Format::Csv(0x01),
            "txt" => Format::Txt,
            "raw" => Format::Raw,
            "parquet" => Format::Parquet,
            "avro" | "apacheavro" => Format::Avro,
            _ => return None,
        })
    }

    /// The mapping kind this format uses.
    pub fn mapping_kind(self) -> MappingKind {
        match self {
            Format::Json | Format::MultiJson => MappingKind::Json,
            Format::Csv(_) | Format::Txt | Format::Raw => MappingKind::Csv,
            Format::Parquet => MappingKind::Parquet,
            Format::Avro => MappingKind::Avro,
        }
    }
}

/// A record that did not make it into the table.
#[derive(Debug, Clone)]
pub struct RecordFailure {
    /// Where in the source: `line 3`, `record 7`, `byte 120`.
    pub position: String,
    pub payload: String,
    pub code: &'static str,
    pub message: String,
}

pub struct Request<'a> {
    pub columns: &'a [ColumnDef],
    pub format: Format,
    pub mapping: Option<&'a Mapping>,
    pub ignore_first_record: bool,
    /// Source name for failures and the `SourceLocation` transform.
    pub source: &'a str,
    /// A value that does not convert rejects its record (to the failures) instead of
    /// becoming null.
    pub strict: bool,
}

pub struct Parsed {
    /// The rows in order: parsed in pieces, joined only where one batch is needed.
    pub batches: Vec<RecordBatch>,
    pub failures: Vec<RecordFailure>,
    /// Present values that became null because they did not convert to the column type.
    pub conversion_failures: u64,
    /// Uncompressed size of the source.
    pub raw_bytes: u64,
}

impl Parsed {
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

pub fn truncate_payload(s: &str) -> String {
    if s.len() <= MAX_FAILURE_PAYLOAD {
        return s.to_string();
    }
    let mut end = MAX_FAILURE_PAYLOAD;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Gunzips when the data starts with the gzip magic bytes.
fn decompress(data: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>> {
    if data.starts_with(&[0x1f, 0x8b]) {
        let mut out = vec![];
        flate2::read::MultiGzDecoder::new(data)
            .read_to_end(&mut out)
            .map_err(|e| ExplorerError::InvalidArgument(format!("gzip data is corrupt: {e}")))?;
        return Ok(std::borrow::Cow::Owned(out));
    }
    Ok(std::borrow::Cow::Borrowed(data))
}

/// Parses the local file `file` per `req`: NDJSON is read in windows (the file is never
/// held whole in memory), anything else is read whole and goes to [`parse`].
pub fn parse_file(req: &Request<'_>, mut file: std::fs::File) -> Result<Parsed> {
    let mut magic = [0u8; 2];
    let n = std::os::unix::fs::FileExt::read_at(&file, &mut magic, 0)
        .map_err(|e| ExplorerError::Execution(format!("read {}: {e}", req.source)))?;
    if req.format == Format::Json && magic[..n] != [0x1f, 0x8b] {
        return json_lines::from_file(req, &mut file);
    }
    let mut data = vec![];
    file.read_to_end(&mut data)
        .map_err(|e| ExplorerError::Execution(format!("read {}: {e}", req.source)))?;
    parse(req, &data)
}

/// Parses `data` per `req` into rows of the table.
pub fn parse(req: &Request<'_>, data: &[u8]) -> Result<Parsed> {
    if let Some(m) = req.mapping {
        if m.kind != req.format.mapping_kind() {
            return Err(ExplorerError::InvalidArgument(format!(
                "mapping kind {} does not fit format {:?}",
                m.kind.name(),
                req.format
            )));
        }
    }
    match req.format {
        Format::Parquet => return parquet::parse(req, data),
        Format::Avro => {
            let data = decompress(data)?;
            let (records, failures) = avro::records(&data);
            let lines: Vec<u64> = records.iter().map(|(n, _)| *n).collect();
            return finish(
                req,
                rows_from_json(req, records),
                &|r| format!("record {}", lines[r]),
                failures,
                data.len() as u64,
            );
        }
        _ => {}
    }
    let data = decompress(data)?;
    let raw_bytes = data.len() as u64;
    if req.format == Format::Json {
        return json_lines::from_bytes(req, &data);
    }
    let text = utf8(&data);
    match req.format {
        Format::MultiJson => {
            let (records, failures) = json::multi(&text);
            json_records(req, records, failures, "record", raw_bytes)
        }
        Format::Csv(sep) => {
            let (records, mut failures) = csv::records(&text, sep);
            let mut rows = vec![];
            let mut lines = vec![];
            for (line, fields) in records.into_iter().skip(req.ignore_first_record as usize) {
                match csv_row(req, line, fields) {
                    Ok(r) => {
                        rows.push(r);
                        lines.push(line);
                    }
                    Err(f) => failures.push(f),
                }
            }
            finish(
                req,
                rows,
                &|r| format!("line {}", lines[r]),
                failures,
                raw_bytes,
            )
        }
        Format::Txt => {
            let lines: Vec<(usize, &str)> = text
                .lines()
                .enumerate()
                .skip(req.ignore_first_record as usize)
                .collect();
            let rows = lines
                .iter()
                .map(|(_, l)| single_column_row(req, l))
                .collect();
            finish(
                req,
                rows,
                &|r| format!("line {}", lines[r].0 + 1),
                vec![],
                raw_bytes,
            )
        }
        Format::Raw => finish(
            req,
            vec![single_column_row(req, &text)],
            &|_| "line 1".into(),
            vec![],
            raw_bytes,
        ),
        Format::Json | Format::Parquet | Format::Avro => unreachable!("handled above"),
    }
}

fn json_records(
    req: &Request<'_>,
    records: Vec<(u64, Value)>,
    failures: Vec<RecordFailure>,
    unit: &str,
    raw_bytes: u64,
) -> Result<Parsed> {
    let numbers: Vec<u64> = records.iter().map(|(n, _)| *n).collect();
    finish(
        req,
        rows_from_json(req, records),
        &|r| format!("{unit} {}", numbers[r]),
        failures,
        raw_bytes,
    )
}

pub(crate) type Row = Vec<Option<Value>>;

fn single_column_row(req: &Request<'_>, text: &str) -> Row {
    let mut row = vec![None; req.columns.len()];
    if let Some(first) = row.first_mut() {
        *first = Some(Value::String(text.to_string()));
    }
    row
}

/// Applies a mapping transform to a value.
pub(crate) fn transform(
    t: Transform,
    v: Option<Value>,
    req: &Request<'_>,
    line: u64,
) -> Option<Value> {
    let unix = |v: &Value, per_second: f64| -> Option<Value> {
        let n = convert::to_f64(v)?;
        Some(Value::String(format_datetime(
            (n * 1_000_000.0 / per_second).round() as i64,
        )))
    };
    match t {
        Transform::DateTimeFromUnixSeconds => v.and_then(|v| unix(&v, 1.0)),
        Transform::DateTimeFromUnixMilliseconds => v.and_then(|v| unix(&v, 1e3)),
        Transform::DateTimeFromUnixMicroseconds => v.and_then(|v| unix(&v, 1e6)),
        Transform::DateTimeFromUnixNanoseconds => v.and_then(|v| unix(&v, 1e9)),
        Transform::SourceLocation => Some(Value::String(req.source.to_string())),
        Transform::SourceLineNumber => Some(Value::from(line)),
        Transform::PropertyBagArrayToDictionary => v.map(|v| match v {
            Value::Array(items) => {
                let mut out = serde_json::Map::new();
                for item in items {
                    let key = item
                        .get("Key")
                        .or_else(|| item.get("key"))
                        .and_then(|k| k.as_str())
                        .map(str::to_string);
                    if let Some(k) = key {
                        out.insert(
                            k,
                            item.get("Value")
                                .or_else(|| item.get("value"))
                                .cloned()
                                .unwrap_or(Value::Null),
                        );
                    }
                }
                Value::Object(out)
            }
            other => other,
        }),
        Transform::DropMappedFields => v,
    }
}

fn column_index(req: &Request<'_>, name: &str) -> Option<usize> {
    req.columns.iter().position(|c| c.name == name)
}

/// JSON-shaped records (JSON and Avro) to rows: by mapping, else by column name.
fn rows_from_json(req: &Request<'_>, records: Vec<(u64, Value)>) -> Vec<Row> {
    records
        .into_iter()
        .map(|(line, rec)| {
            let mut row: Row = vec![None; req.columns.len()];
            match req.mapping {
                Some(m) => {
                    for e in &m.entries {
                        let Some(idx) = column_index(req, &e.column) else {
                            continue;
                        };
                        let v = match &e.source {
                            Source::Path(p) => p.get(&rec).cloned(),
                            Source::Const(c) => Some(Value::String(c.clone())),
                            Source::Ordinal(_) | Source::Nothing => None,
                        };
                        row[idx] = match e.transform {
                            Some(t) => transform(t, v, req, line),
                            None => v,
                        };
                    }
                }
                None => {
                    if let Value::Object(obj) = &rec {
                        for (i, c) in req.columns.iter().enumerate() {
                            row[i] = obj.get(&c.name).cloned();
                        }
                    }
                }
            }
            row
        })
        .collect()
}

fn csv_row(req: &Request<'_>, line: u64, fields: Vec<String>) -> Result<Row, RecordFailure> {
    let fail = |message: String, fields: &[String]| RecordFailure {
        position: format!("line {line}"),
        payload: truncate_payload(&fields.join(",")),
        code: "BadRequest_CsvFieldCount",
        message,
    };
    let mut row: Row = vec![None; req.columns.len()];
    match req.mapping {
        Some(m) => {
            let needed = m
                .entries
                .iter()
                .filter_map(|e| match e.source {
                    Source::Ordinal(o) => Some(o + 1),
                    _ => None,
                })
                .max()
                .unwrap_or(0);
            if fields.len() < needed {
                return Err(fail(
                    format!(
                        "the record has {} fields but the mapping reads field {}",
                        fields.len(),
                        needed - 1
                    ),
                    &fields,
                ));
            }
            for e in &m.entries {
                let Some(idx) = column_index(req, &e.column) else {
                    continue;
                };
                let v = match &e.source {
                    Source::Ordinal(o) => Some(Value::String(fields[*o].clone())),
                    Source::Const(c) => Some(Value::String(c.clone())),
                    Source::Path(_) | Source::Nothing => None,
                };
                row[idx] = match e.transform {
                    Some(t) => transform(t, v, req, line),
                    None => v,
                };
            }
        }
        None => {
            if fields.len() != req.columns.len() {
                return Err(fail(
                    format!(
                        "the record has {} fields but table has {} columns",
                        fields.len(),
                        req.columns.len()
                    ),
                    &fields,
                ));
            }
            for (i, f) in fields.into_iter().enumerate() {
                row[i] = Some(Value::String(f));
            }
        }
    }
    Ok(row)
}

fn finish(
    req: &Request<'_>,
    rows: Vec<Row>,
    position: &dyn Fn(usize) -> String,
    failures: Vec<RecordFailure>,
    raw_bytes: u64,
) -> Result<Parsed> {
    let n_rows = rows.len();
    // Rows to columns, moving each cell.
    let mut columns: Vec<Vec<Option<Value>>> = (0..req.columns.len())
        .map(|_| Vec::with_capacity(n_rows))
        .collect();
    for row in rows {
        for (col, cell) in columns.iter_mut().zip(row) {
            col.push(cell);
        }
    }
    finish_columns(req, columns, n_rows, position, failures, raw_bytes)
}

/// Text of UTF-8 bytes; invalid sequences become U+FFFD.
fn utf8(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// [`finish`] for values already in columns (one vector per table column).
fn finish_columns(
    req: &Request<'_>,
    columns: Vec<Vec<Option<Value>>>,
    n_rows: usize,
    position: &dyn Fn(usize) -> String,
    mut failures: Vec<RecordFailure>,
    raw_bytes: u64,
) -> Result<Parsed> {
    let schema = arrow_schema(req.columns);
    let mut arrays = vec![];
    let mut conversion_failures = 0;
    // Rows with a value that did not convert, and the first column it happened in.
    let mut bad_rows: Vec<Option<usize>> = vec![None; n_rows];
    for (i, (c, cells)) in req.columns.iter().zip(&columns).enumerate() {
        let converted = convert::column(c.ty, cells);
        if converted.failed > 0 {
            for (r, cell) in cells.iter().enumerate() {
                if convert::present(cell).is_some()
                    && converted.array.is_null(r)
                    && bad_rows[r].is_none()
                {
                    bad_rows[r] = Some(i);
                }
            }
        }
        conversion_failures += converted.failed;
        arrays.push(converted.array);
    }
    let mut batch = if n_rows == 0 {
        RecordBatch::new_empty(schema)
    } else {
        RecordBatch::try_new(schema, arrays).map_err(|e| ExplorerError::Execution(e.to_string()))?
    };
    if req.strict && bad_rows.iter().any(Option::is_some) {
        for (r, bad) in bad_rows.iter().enumerate() {
            let Some(col) = bad else { continue };
            let c = &req.columns[*col];
            let record: serde_json::Map<String, Value> = req
                .columns
                .iter()
                .zip(&columns)
                .map(|(c, v)| (c.name.clone(), v[r].clone().unwrap_or(Value::Null)))
                .collect();
            failures.push(RecordFailure {
                position: position(r),
                payload: truncate_payload(&Value::Object(record).to_string()),
                code: "BadRequest_TypeConversion",
                message: format!(
                    "column '{}' ({}) cannot hold {}; the table's ingestion conversion policy is strict",
                    c.name,
                    c.ty,
                    columns[*col][r].as_ref().map(|v| v.to_string()).unwrap_or_default()
                ),
            });
        }
        let keep: datafusion::arrow::array::BooleanArray =
            bad_rows.iter().map(|b| Some(b.is_none())).collect();
        batch = datafusion::arrow::compute::filter_record_batch(&batch, &keep)
            .map_err(|e| ExplorerError::Execution(e.to_string()))?;
        conversion_failures = 0;
    }
    Ok(Parsed {
        batches: vec![batch],
        failures,
        conversion_failures,
        raw_bytes,
    })
}
