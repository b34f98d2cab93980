//! Parquet sources: columns are matched by name (or by a mapping's `$.name` path) and
//! cast to the column types; a value that does not cast becomes null.

use bytes::Bytes;
use datafusion::arrow::array::{new_null_array, Array, ArrayRef};
use datafusion::arrow::compute::{cast_with_options, CastOptions};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use eddy_kql::types::arrow_schema;

use super::mapping::{Segment, Source};
use super::{Parsed, RecordFailure, Request};
use crate::error::{ExplorerError, Result};

pub fn parse(req: &Request<'_>, data: &[u8]) -> Result<Parsed> {
    let schema = arrow_schema(req.columns);
    let fail = |message: String| Parsed {
        batches: vec![],
        failures: vec![RecordFailure {
            position: "file".into(),
            payload: String::new(),
            code: "BadRequest_InvalidParquet",
            message,
        }],
        conversion_failures: 0,
        raw_bytes: data.len() as u64,
    };
    let builder = match ParquetRecordBatchReaderBuilder::try_new(Bytes::copy_from_slice(data)) {
        Ok(b) => b,
        Err(e) => return Ok(fail(format!("not a Parquet file: {e}"))),
    };
    let reader = match builder.build() {
        Ok(r) => r,
        Err(e) => return Ok(fail(e.to_string())),
    };
    let mut out = vec![];
    let mut conversion_failures = 0u64;
    for batch in reader {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => return Ok(fail(e.to_string())),
        };
        let mut cols: Vec<ArrayRef> = vec![];
        for c in req.columns {
            let source_name = match req
                .mapping
                .and_then(|m| m.entries.iter().find(|e| e.column == c.name))
            {
                Some(e) => match &e.source {
                    Source::Path(p) => match p.0.first() {
                        Some(Segment::Key(k)) => Some(k.clone()),
                        _ => None,
                    },
                    _ => None,
                },
                None if req.mapping.is_some() => None,
                None => Some(c.name.clone()),
            };
            let target = c.ty.arrow_type();
            let col = match source_name.and_then(|n| batch.column_by_name(&n).cloned()) {
                Some(a) => {
                    let opts = CastOptions {
                        safe: true,
                        ..Default::default()
                    };
                    let cast = cast_with_options(&a, &target, &opts).map_err(|e| {
                        ExplorerError::InvalidArgument(format!(
                            "column '{}' cannot be read as {}: {e}",
                            c.name, c.ty
                        ))
                    })?;
                    conversion_failures +=
                        (cast.null_count() - a.null_count().min(cast.null_count())) as u64;
                    cast
                }
                None => new_null_array(&target, batch.num_rows()),
            };
            cols.push(col);
        }
        out.push(
            RecordBatch::try_new(schema.clone(), cols)
                .map_err(|e| ExplorerError::Execution(e.to_string()))?,
        );
    }
    Ok(Parsed {
        batches: out,
        failures: vec![],
        conversion_failures,
        raw_bytes: data.len() as u64,
    })
}
