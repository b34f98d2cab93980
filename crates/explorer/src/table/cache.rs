//! The hot cache: a table's sealed rows decoded into Arrow and kept in memory, as
//! Kusto keeps hot extents, so queries skip Parquet decoding.
//!
//! A table loads its cache on the first query after it opens (reading its Delta files)
//! and keeps it in step under the same lock as the Delta provider: a seal appends the
//! sealed rows, and anything else that rewrites files (compaction, retention,
//! `.set-or-replace`, new columns) drops it for a fresh load. All tables together stay
//! under one memory budget (`kusto.query_cache_mb`); a table that does not fit is read
//! from its files as before.
//!
//! The cache is cut into parts of at most [`PART_ROWS`] rows, each with the minimum and
//! maximum of every column, so a filter skips parts the way the Delta scan skips files,
//! and the parts spread over the query's partitions.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::TableType;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;
use datafusion::physical_plan::ExecutionPlan;
use deltalake::DeltaTable;
use eddy_kql::types::ColumnDef;

use super::parts_scan::{PartsSource, Stats};
use super::{delta, extents};
use crate::error::{ExplorerError, Result};

/// Rows per cached part.
pub const PART_ROWS: usize = 65_536;

static LIMIT: AtomicU64 = AtomicU64::new(4096 << 20);
static USED: AtomicU64 = AtomicU64::new(0);

/// Sets the memory budget of all caches together (0 turns caching off).
pub fn set_limit_bytes(bytes: u64) {
    LIMIT.store(bytes, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    LIMIT.load(Ordering::Relaxed) > 0
}

/// Reserves `bytes` of the budget; false when they do not fit.
fn reserve(bytes: u64) -> bool {
    let limit = LIMIT.load(Ordering::Relaxed);
    USED.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
        (used + bytes <= limit).then_some(used + bytes)
    })
    .is_ok()
}

/// One part: rows in the query-side schema and each column's min, max and nulls.
pub struct Part {
    pub batch: RecordBatch,
    stats: Vec<Option<(ScalarValue, ScalarValue)>>,
    nulls: Vec<u64>,
}

impl Part {
    /// The minimum and maximum of column `i`, if it orders and has a non-null value.
    pub fn bounds(&self, i: usize) -> Option<&(ScalarValue, ScalarValue)> {
        self.stats.get(i)?.as_ref()
    }

    pub fn null_count(&self, i: usize) -> u64 {
        self.nulls.get(i).copied().unwrap_or(0)
    }

    pub(super) fn new(batch: RecordBatch) -> Part {
        let mut stats = vec![];
        let mut nulls = vec![];
        for a in batch.columns() {
            nulls.push(a.null_count() as u64);
            stats.push(min_max(a));
        }
        Part {
            batch,
            stats,
            nulls,
        }
    }
}

/// Minimum and maximum of a column whose type orders (numbers, times, strings).
fn min_max(a: &ArrayRef) -> Option<(ScalarValue, ScalarValue)> {
    use datafusion::arrow::datatypes::DataType as T;
    if !matches!(
        a.data_type(),
        T::Int32 | T::Int64 | T::Float64 | T::Timestamp(..) | T::Duration(_) | T::Utf8
    ) || a.null_count() == a.len()
    {
        return None;
    }
    let mut lo: Option<ScalarValue> = None;
    let mut hi: Option<ScalarValue> = None;
    // Strings and floats: a linear pass over ScalarValues would be slow; use kernels.
    use datafusion::arrow::compute::kernels::aggregate as agg;
    use datafusion::arrow::datatypes as dt;
    macro_rules! prim {
        ($t:ty) => {{
            let p = a
                .as_any()
                .downcast_ref::<datafusion::arrow::array::PrimitiveArray<$t>>()?;
            let (mn, mx) = (agg::min(p)?, agg::max(p)?);
            lo = Some(ScalarValue::new_primitive::<$t>(Some(mn), a.data_type()).ok()?);
            hi = Some(ScalarValue::new_primitive::<$t>(Some(mx), a.data_type()).ok()?);
        }};
    }
    match a.data_type() {
        T::Int32 => prim!(dt::Int32Type),
        T::Int64 => prim!(dt::Int64Type),
        T::Float64 => {
            // NaN would make the bounds meaningless.
            let p = a
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Float64Array>()?;
            if p.iter().flatten().any(f64::is_nan) {
                return None;
            }
            prim!(dt::Float64Type)
        }
        T::Timestamp(..) => prim!(dt::TimestampMicrosecondType),
        T::Duration(_) => prim!(dt::DurationMicrosecondType),
        T::Utf8 => {
            let s = a
                .as_any()
                .downcast_ref::<datafusion::arrow::array::StringArray>()?;
            lo = Some(ScalarValue::Utf8(agg::min_string(s).map(str::to_string)));
            hi = Some(ScalarValue::Utf8(agg::max_string(s).map(str::to_string)));
        }
        _ => {}
    }
    Some((lo?, hi?))
}

/// A table's cached sealed rows.
pub struct Cached {
    pub parts: Vec<Arc<Part>>,
    bytes: u64,
}

impl Drop for Cached {
    fn drop(&mut self) {
        USED.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

impl Cached {
    /// Reads every data file of `table`; None when the rows do not fit the budget.
    pub fn load(
        root: &Path,
        table: &DeltaTable,
        name: &str,
        columns: &[ColumnDef],
    ) -> Result<Option<Cached>> {
        let mut cached = Cached {
            parts: vec![],
            bytes: 0,
        };
        for e in extents::list(table, name)? {
            let rel = percent_decode(&e.path);
            let file = std::fs::File::open(root.join(&rel))
                .map_err(|err| ExplorerError::Execution(format!("cache: {rel}: {err}")))?;
            let reader =
                datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                    file,
                )
                .and_then(|b| b.with_batch_size(PART_ROWS).build())
                .map_err(|err| ExplorerError::Execution(format!("cache: {rel}: {err}")))?;
            for batch in reader {
                let batch = batch
                    .map_err(|err| ExplorerError::Execution(format!("cache: {rel}: {err}")))?;
                if !cached.push(&delta::to_query(&batch, columns)?) {
                    return Ok(None);
                }
            }
        }
        Ok(Some(cached))
    }

    /// Adds rows (query-side schema); false when they do not fit the budget.
    pub fn push(&mut self, batch: &RecordBatch) -> bool {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let len = PART_ROWS.min(batch.num_rows() - offset);
            let slice = batch.slice(offset, len);
            let bytes = slice_bytes(&slice);
            if !reserve(bytes) {
                return false;
            }
            self.bytes += bytes;
            self.parts.push(Arc::new(Part::new(slice)));
            offset += len;
        }
        true
    }
}

/// The memory a slice of a batch holds for its rows: the share of its buffers the
/// slice covers (a slice keeps the whole buffers alive, but the other slices of the
/// same batch, which are cached too, account for the rest).
fn slice_bytes(slice: &RecordBatch) -> u64 {
    slice
        .columns()
        .iter()
        .map(|c| {
            c.to_data()
                .get_slice_memory_size()
                .unwrap_or_else(|_| c.get_array_memory_size())
        })
        .sum::<usize>() as u64
}

fn percent_decode(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned()
}

/// The parts of a cache as a table DataFusion scans, skipping parts by their min/max.
#[derive(Debug)]
pub struct CachedTable {
    schema: SchemaRef,
    parts: Vec<Arc<Part>>,
}

impl std::fmt::Debug for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Part({} rows)", self.batch.num_rows())
    }
}

impl CachedTable {
    pub fn new(schema: SchemaRef, parts: Vec<Arc<Part>>) -> CachedTable {
        CachedTable { schema, parts }
    }
}

#[async_trait]
impl TableProvider for CachedTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::common::Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let keep = match conjunction(filters.iter().cloned()) {
            Some(f) if !self.parts.is_empty() => {
                let df_schema = DFSchema::try_from(self.schema.as_ref().clone())?;
                let physical = state.create_physical_expr(f, &df_schema)?;
                match PruningPredicateBuilder::new()
                    .with_file_schema(self.schema.clone())
                    .build(physical)
                {
                    Some(p) => p.prune(&Stats {
                        schema: &self.schema,
                        parts: &self.parts,
                    })?,
                    None => vec![true; self.parts.len()],
                }
            }
            _ => vec![true; self.parts.len()],
        };
        let kept: Vec<Arc<Part>> = self
            .parts
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(p, _)| p.clone())
            .collect();
        let source = PartsSource::new(
            self.schema.clone(),
            kept,
            state.config().target_partitions(),
            projection.cloned(),
        )?;
        Ok(DataSourceExec::from_data_source(source))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;

    use super::{Cached, PART_ROWS};

    #[test]
    fn a_big_batch_cut_into_parts_counts_its_memory_once() {
        let rows = PART_ROWS * 8;
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("s", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(0..rows as i64)),
                Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|i| format!("row {i}")),
                )),
            ],
        )
        .unwrap();
        let whole = batch.get_array_memory_size() as u64;
        let mut cached = Cached {
            parts: vec![],
            bytes: 0,
        };
        assert!(cached.push(&batch));
        assert_eq!(cached.parts.len(), 8);
        // Each part is a slice of the same buffers: counting every slice's buffers
        // would be eight times the batch.
        assert!(cached.bytes <= whole, "{} > {whole}", cached.bytes);
        assert!(cached.bytes * 2 >= whole, "{} << {whole}", cached.bytes);
    }
}
