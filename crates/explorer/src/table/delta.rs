//! The Delta Lake side of a table: create/open, append with the WAL position as an app
//! transaction, and converting between query batches and storage batches (timespans are
//! stored as microseconds in `long` columns; see `eddy_kql::types`).

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, DurationMicrosecondType, Int64Type, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::kernel::{StructField, StructType, Transaction};
use deltalake::protocol::SaveMode;
use deltalake::DeltaTable;
use eddy_kql::types::{arrow_schema, storage_schema, ColumnDef};

use crate::error::{ExplorerError, Result};

/// App id of the WAL sequence number carried by each sealing commit.
pub const WAL_APP_ID: &str = "eddy-wal";

pub fn table_url(path: &Path) -> Result<url::Url> {
    deltalake::ensure_table_uri(path.to_string_lossy())
        .map_err(ExplorerError::delta(&path.to_string_lossy()))
}

pub fn kernel_fields(columns: &[ColumnDef]) -> Result<Vec<StructField>> {
    let schema = storage_schema(columns);
    let st: StructType = schema
        .as_ref()
        .try_into_kernel()
        .map_err(|e| ExplorerError::Execution(format!("schema conversion: {e}")))?;
    Ok(st.fields().cloned().collect())
}

/// Creates the Delta table at `path` (reader 1 / writer 2), or opens it if it exists.
pub async fn create(path: &Path, name: &str, columns: &[ColumnDef]) -> Result<DeltaTable> {
    std::fs::create_dir_all(path)
        .map_err(ExplorerError::io(format!("create {}", path.display())))?;
    if path.join("_delta_log").exists() {
        return open(path, name).await;
    }
    let table = deltalake::DeltaTableBuilder::from_url(table_url(path)?)
        .and_then(|b| b.build())
        .map_err(ExplorerError::delta(name))?;
    table
        .create()
        .with_table_name(name)
        .with_columns(kernel_fields(columns)?)
        .with_save_mode(SaveMode::Ignore)
        .await
        .map_err(ExplorerError::delta(name))
}

pub async fn open(path: &Path, name: &str) -> Result<DeltaTable> {
    deltalake::open_table(table_url(path)?)
        .await
        .map_err(ExplorerError::delta(name))
}

/// The last WAL sequence number committed to the table, or -1.
pub async fn committed_seq(table: &DeltaTable, name: &str) -> Result<i64> {
    Ok(app_version(table, name, WAL_APP_ID).await?.unwrap_or(-1))
}

/// The version of app transaction `app` in the table, if any.
pub async fn app_version(table: &DeltaTable, name: &str, app: &str) -> Result<Option<i64>> {
    let snapshot = table.snapshot().map_err(ExplorerError::delta(name))?;
    snapshot
        .transaction_version(table.log_store().as_ref(), app)
        .await
        .map_err(ExplorerError::delta(name))
}

/// Appends `batch` (storage form) and records `wal_seq` and the source positions
/// `sources` (app id, version) as app transactions in the same commit.
pub async fn append(
    table: DeltaTable,
    name: &str,
    batches: Vec<RecordBatch>,
    wal_seq: Option<u64>,
    sources: &[(String, i64)],
    mode: SaveMode,
) -> Result<DeltaTable> {
    let mut txns: Vec<Transaction> = sources
        .iter()
        .map(|(app, v)| Transaction::new(app.as_str(), *v))
        .collect();
    if let Some(seq) = wal_seq {
        txns.push(Transaction::new(WAL_APP_ID, seq as i64));
    }
    let props = CommitProperties::default().with_application_transactions(txns);
    table
        .write(batches)
        .with_save_mode(mode)
        .with_commit_properties(props)
        .await
        .map_err(ExplorerError::delta(name))
}

/// A query-form batch (any older schema of the table) as a storage-form batch of the
/// current schema; columns the batch lacks are null.
pub fn to_storage(batch: &RecordBatch, columns: &[ColumnDef]) -> Result<RecordBatch> {
    let schema = storage_schema(columns);
    reshape(batch, &schema, |a, target| match (a.data_type(), target) {
        (DataType::Duration(_), DataType::Int64) => Ok(Arc::new(
            a.as_primitive::<DurationMicrosecondType>()
                .reinterpret_cast::<Int64Type>(),
        ) as ArrayRef),
        _ => cast(a, target).map_err(|e| ExplorerError::Execution(format!("cast: {e}"))),
    })
}

/// A batch of an older query schema widened to the current one (nulls for new columns).
pub fn to_query(batch: &RecordBatch, columns: &[ColumnDef]) -> Result<RecordBatch> {
    let schema = arrow_schema(columns);
    reshape(batch, &schema, |a, target| match (a.data_type(), target) {
        (DataType::Int64, DataType::Duration(_)) => Ok(Arc::new(
            a.as_primitive::<Int64Type>()
                .reinterpret_cast::<DurationMicrosecondType>(),
        ) as ArrayRef),
        _ => cast(a, target).map_err(|e| ExplorerError::Execution(format!("cast: {e}"))),
    })
}

fn reshape(
    batch: &RecordBatch,
    schema: &SchemaRef,
    convert: impl Fn(&ArrayRef, &DataType) -> Result<ArrayRef>,
) -> Result<RecordBatch> {
    let mut cols = vec![];
    for f in schema.fields() {
        let col = match batch.column_by_name(f.name()) {
            Some(a) if a.data_type() == f.data_type() => a.clone(),
            Some(a) => convert(a, f.data_type())?,
            None => datafusion::arrow::array::new_null_array(f.data_type(), batch.num_rows()),
        };
        cols.push(col);
    }
    RecordBatch::try_new(schema.clone(), cols)
        .map_err(|e| ExplorerError::Execution(format!("batch: {e}")))
}
