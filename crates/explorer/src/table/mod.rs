//! One table: its Delta Lake table (sealed rows), its hot rows (in memory, queryable at
//! once) and the write-ahead log that makes the hot rows durable.
//!
//! ```text
//!  ingest ──▶ WAL append + fsync ──▶ hot batches ──(batching policy)──▶ seal:
//!                                        │          one Parquet file + Delta commit
//!  query ◀── Delta scan ∪ hot batches ◀──┘          carrying the WAL seq (txn), then
//!                                                   WAL segments released
//! ```
//! Queries take the Delta provider and the hot batches under one lock, and a seal swaps
//! both under the same lock, so a query never sees a row twice or misses one.

pub mod cache;
pub mod delta;
mod extents;
mod parts_scan;
mod retention;
pub mod wal;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::common::{Column, TableReference};
use datafusion::datasource::{provider_as_source, MemTable};
use datafusion::logical_expr::{cast, Expr, LogicalPlan, LogicalPlanBuilder};
use deltalake::protocol::SaveMode;
use deltalake::DeltaTable;
use eddy_kql::types::{arrow_schema, ColumnDef};
use tokio::sync::Mutex;

use crate::error::{ExplorerError, Result};
use crate::policy::{batch_due, BatchingPolicy};
use wal::Wal;

pub use extents::Extent;

/// Reopen the Delta handle after this many commits: a reused handle gets slower with
/// every commit (see reference/delta-spike.md).
const REOPEN_EVERY: u32 = 50;

pub struct Table {
    pub db: String,
    pub name: String,
    path: PathBuf,
    columns: RwLock<Vec<ColumnDef>>,
    state: Mutex<State>,
    seal_lock: Mutex<()>,
}

struct State {
    delta: DeltaTable,
    provider: Arc<dyn TableProvider>,
    hot: Vec<(u64, RecordBatch)>,
    /// Source positions of hot records, by WAL sequence number.
    hot_sources: Vec<(u64, wal::Sources)>,
    /// Source positions known committed to Delta (a cache of its app transactions).
    committed_sources: HashMap<String, i64>,
    wal: Wal,
    pending_items: u64,
    pending_bytes: u64,
    first_pending: Option<Instant>,
    commits_since_open: u32,
    /// Sealed rows decoded in memory (see `cache.rs`); None until a query loads it.
    cache: Option<cache::Cached>,
    /// The cache did not fit the memory budget: read the files instead.
    cache_refused: bool,
    /// Bumped by every change to the rows (not by compaction, which moves them
    /// between files): a cache loaded at one value holds exactly those rows.
    data_version: u64,
}

/// A provider, hot batches and cached parts taken under one lock.
type HotState = (
    Arc<dyn TableProvider>,
    Vec<RecordBatch>,
    Option<Vec<Arc<cache::Part>>>,
);

/// What a seal did.
#[derive(Debug, Clone, Copy)]
pub struct Sealed {
    pub rows: usize,
    pub version: i64,
}

impl Table {
    /// Opens (creating if needed) the table stored at `path` with WAL in `wal_dir`,
    /// replaying un-sealed rows.
    pub async fn open(
        db: &str,
        name: &str,
        path: &Path,
        wal_dir: &Path,
        columns: Vec<ColumnDef>,
    ) -> Result<Table> {
        let delta = delta::create(path, name, &columns).await?;
        let committed = delta::committed_seq(&delta, name).await?;
        let (wal, replayed) = Wal::open(wal_dir, committed)?;
        let mut hot = vec![];
        let mut hot_sources = vec![];
        for r in replayed {
            for b in r.batches.iter().filter(|b| b.num_rows() > 0) {
                hot.push((r.seq, delta::to_query(b, &columns)?));
            }
            if !r.sources.is_empty() {
                hot_sources.push((r.seq, r.sources));
            }
        }
        if !hot.is_empty() {
            tracing::info!(
                db,
                table = name,
                batches = hot.len(),
                "replayed un-sealed rows from the WAL"
            );
        }
        let provider = delta.table_provider().await?;
        let pending_items = hot.len() as u64;
        let pending_bytes = hot
            .iter()
            .map(|(_, b)| b.get_array_memory_size() as u64)
            .sum();
        Ok(Table {
            db: db.to_string(),
            name: name.to_string(),
            path: path.to_path_buf(),
            columns: RwLock::new(columns),
            state: Mutex::new(State {
                delta,
                provider,
                first_pending: (!hot.is_empty()).then(Instant::now),
                hot,
                hot_sources,
                committed_sources: HashMap::new(),
                wal,
                pending_items,
                pending_bytes,
                commits_since_open: 0,
                cache: None,
                cache_refused: false,
                data_version: 0,
            }),
            seal_lock: Mutex::new(()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn columns(&self) -> Vec<ColumnDef> {
        self.columns.read().expect("columns lock").clone()
    }

    /// Appends rows (query form, current schema) durably; they are queryable on return.
    pub async fn append(&self, batch: RecordBatch, raw_bytes: u64) -> Result<()> {
        self.append_with_sources(vec![batch], raw_bytes, vec![])
            .await
    }

    /// Appends rows together with source positions `(app id, version)`: both become
    /// durable in one WAL record and are committed to Delta in one commit, so a source
    /// that resumes from [`Self::source_position`] neither loses nor repeats rows.
    /// Positions are recorded even when `batch` has no rows.
    pub async fn append_with_sources(
        &self,
        mut batches: Vec<RecordBatch>,
        raw_bytes: u64,
        sources: wal::Sources,
    ) -> Result<()> {
        let empty = batches.iter().all(|b| b.num_rows() == 0);
        if empty && sources.is_empty() {
            return Ok(());
        }
        // One (possibly empty) batch carries the positions when there are no rows.
        if batches.len() > 1 {
            batches.retain(|b| b.num_rows() > 0);
        }
        if batches.is_empty() {
            batches.push(RecordBatch::new_empty(arrow_schema(&self.columns())));
        }
        let mut st = self.state.lock().await;
        let seq = st.wal.append(&batches, &sources)?;
        if !sources.is_empty() {
            st.hot_sources.push((seq, sources));
        }
        if empty {
            return Ok(());
        }
        st.hot.extend(batches.into_iter().map(|b| (seq, b)));
        st.pending_items += 1;
        st.pending_bytes += raw_bytes;
        st.first_pending.get_or_insert_with(Instant::now);
        Ok(())
    }

    /// The last version recorded for source `app` (hot or committed), if any.
    pub async fn source_position(&self, app: &str) -> Result<Option<i64>> {
        let mut st = self.state.lock().await;
        let hot = st
            .hot_sources
            .iter()
            .flat_map(|(_, s)| s.iter())
            .filter(|(a, _)| a == app)
            .map(|(_, v)| *v)
            .max();
        if hot.is_some() {
            return Ok(hot);
        }
        if let Some(v) = st.committed_sources.get(app) {
            return Ok(Some(*v));
        }
        let v = delta::app_version(&st.delta, &self.name, app).await?;
        if let Some(v) = v {
            st.committed_sources.insert(app.to_string(), v);
        }
        Ok(v)
    }

    /// Whether the batching policy says the hot rows must be sealed now.
    pub async fn seal_due(&self, policy: &BatchingPolicy) -> bool {
        let st = self.state.lock().await;
        let age = st
            .first_pending
            .map(|t| t.elapsed())
            .unwrap_or(Duration::ZERO);
        batch_due(policy, age, st.pending_items, st.pending_bytes)
    }

    /// Number of hot (un-sealed) rows.
    pub async fn hot_rows(&self) -> usize {
        self.state
            .lock()
            .await
            .hot
            .iter()
            .map(|(_, b)| b.num_rows())
            .sum()
    }

    /// Writes all hot rows as one Parquet file in one Delta commit.
    pub async fn seal(&self) -> Result<Option<Sealed>> {
        let _one_at_a_time = self.seal_lock.lock().await;
        let columns = self.columns();
        let (batches, upto, table, sources) = {
            let mut st = self.state.lock().await;
            let Some(&(upto, _)) = st.hot.last() else {
                return Ok(None);
            };
            st.wal.rotate()?;
            let mut sources: HashMap<String, i64> = HashMap::new();
            for (app, v) in st.hot_sources.iter().flat_map(|(_, s)| s.iter()) {
                let e = sources.entry(app.clone()).or_insert(*v);
                *e = (*e).max(*v);
            }
            (
                st.hot.iter().map(|(_, b)| b.clone()).collect::<Vec<_>>(),
                upto,
                st.delta.clone(),
                sources,
            )
        };
        let storage: Vec<RecordBatch> = batches
            .iter()
            .map(|b| delta::to_storage(b, &columns))
            .collect::<Result<_>>()?;
        let rows = storage.iter().map(RecordBatch::num_rows).sum();
        let txns: Vec<(String, i64)> = sources.clone().into_iter().collect();
        let mut table = delta::append(
            table,
            &self.name,
            storage,
            Some(upto),
            &txns,
            SaveMode::Append,
        )
        .await?;
        let mut st = self.state.lock().await;
        st.commits_since_open += 1;
        if st.commits_since_open >= REOPEN_EVERY {
            table = delta::open(&self.path, &self.name).await?;
            st.commits_since_open = 0;
        }
        let provider = table.table_provider().await?;
        let version = table.version().map(|v| v as i64).unwrap_or(0);
        st.delta = table;
        st.provider = provider;
        st.data_version += 1;
        if let Some(c) = st.cache.as_mut() {
            let mut fits = true;
            for b in &batches {
                fits = fits && c.push(&delta::to_query(b, &columns)?);
            }
            if !fits {
                st.cache = None;
                st.cache_refused = true;
            }
        }
        st.hot.retain(|(s, _)| *s > upto);
        st.hot_sources.retain(|(s, _)| *s > upto);
        st.committed_sources.extend(sources);
        st.pending_items = st.hot.len() as u64;
        st.pending_bytes = st
            .hot
            .iter()
            .map(|(_, b)| b.get_array_memory_size() as u64)
            .sum();
        st.first_pending = (!st.hot.is_empty()).then(Instant::now);
        st.wal.release(upto)?;
        tracing::debug!(db = %self.db, table = %self.name, rows, version, "sealed");
        Ok(Some(Sealed { rows, version }))
    }

    /// Replaces all rows with `batch` (`.set-or-replace`).
    pub async fn replace(&self, batch: RecordBatch) -> Result<()> {
        let _one_at_a_time = self.seal_lock.lock().await;
        let columns = self.columns();
        let storage = delta::to_storage(&batch, &columns)?;
        let mut st = self.state.lock().await;
        let table = delta::append(
            st.delta.clone(),
            &self.name,
            vec![storage],
            None,
            &[],
            SaveMode::Overwrite,
        )
        .await?;
        st.provider = table.table_provider().await?;
        st.delta = table;
        st.cache = None;
        st.cache_refused = false;
        st.data_version += 1;
        st.hot.clear();
        st.hot_sources.clear();
        st.wal.clear()?;
        st.pending_items = 0;
        st.pending_bytes = 0;
        st.first_pending = None;
        Ok(())
    }

    /// Adds columns at the end of the schema (`.create-merge`, `.alter` with additions).
    pub async fn add_columns(&self, added: &[ColumnDef]) -> Result<()> {
        if added.is_empty() {
            return Ok(());
        }
        self.seal().await?;
        let _one_at_a_time = self.seal_lock.lock().await;
        let mut st = self.state.lock().await;
        let table = st
            .delta
            .clone()
            .add_columns()
            .with_fields(delta::kernel_fields(added)?)
            .await
            .map_err(ExplorerError::delta(&self.name))?;
        st.provider = table.table_provider().await?;
        st.delta = table;
        st.cache = None;
        st.data_version += 1;
        let mut cols = self.columns.write().expect("columns lock");
        cols.extend(added.iter().cloned());
        for (_, b) in st.hot.iter_mut() {
            *b = delta::to_query(b, &cols)?;
        }
        Ok(())
    }

    /// A plan reading sealed and hot rows, in the query-side types: sealed rows from
    /// the hot cache when it holds them, else from the Delta files.
    pub async fn plan(&self) -> Result<LogicalPlan> {
        let columns = self.columns();
        let (provider, hot, cached) = match self.cached_state().await? {
            Some(s) => s,
            None => {
                let st = self.state.lock().await;
                (
                    st.provider.clone(),
                    st.hot.iter().map(|(_, b)| b.clone()).collect::<Vec<_>>(),
                    None,
                )
            }
        };
        let schema = arrow_schema(&columns);
        let reference = TableReference::bare(self.name.clone());
        let mut plan = match cached {
            Some(parts) => {
                let table = cache::CachedTable::new(schema.clone(), parts);
                LogicalPlanBuilder::scan(
                    reference.clone(),
                    provider_as_source(Arc::new(table)),
                    None,
                )?
            }
            None => self.delta_scan(provider, &reference, &schema)?,
        };
        if !hot.is_empty() {
            // Reshaping is Arc clones when schemas match; it covers a concurrent add_columns.
            let hot: Vec<RecordBatch> = hot
                .iter()
                .map(|b| delta::to_query(b, &columns))
                .collect::<Result<_>>()?;
            let mem = MemTable::try_new(schema, vec![hot])?;
            let hot_plan =
                LogicalPlanBuilder::scan(reference, provider_as_source(Arc::new(mem)), None)?
                    .build()?;
            plan = plan.union(hot_plan)?;
        }
        Ok(plan.build()?)
    }

    /// The hot cache's parts with the hot rows and provider of the same moment, loading
    /// the cache first if needed; None when the table is not cached.
    async fn cached_state(&self) -> Result<Option<HotState>> {
        let snapshot = |st: &State| {
            st.cache.as_ref().map(|c| {
                (
                    st.provider.clone(),
                    st.hot.iter().map(|(_, b)| b.clone()).collect::<Vec<_>>(),
                    Some(c.parts.clone()),
                )
            })
        };
        let (delta, version) = {
            let st = self.state.lock().await;
            if let Some(s) = snapshot(&st) {
                return Ok(Some(s));
            }
            if st.cache_refused || !cache::enabled() {
                return Ok(None);
            }
            (st.delta.clone(), st.data_version)
        };
        let (root, name, columns) = (self.path.clone(), self.name.clone(), self.columns());
        let loaded = tokio::task::spawn_blocking(move || {
            cache::Cached::load(&root, &delta, &name, &columns)
        })
        .await
        .map_err(|e| ExplorerError::Execution(format!("cache load: {e}")))??;
        let mut st = self.state.lock().await;
        if st.cache.is_none() && st.data_version == version {
            match loaded {
                Some(c) => st.cache = Some(c),
                None => {
                    tracing::info!(db = %self.db, table = %self.name, "the table does not fit the query cache; reading its files");
                    st.cache_refused = true;
                }
            }
        }
        Ok(snapshot(&st))
    }

    /// A scan of the Delta files, converted to the query-side types.
    fn delta_scan(
        &self,
        provider: Arc<dyn TableProvider>,
        reference: &TableReference,
        schema: &datafusion::arrow::datatypes::SchemaRef,
    ) -> Result<LogicalPlanBuilder> {
        let scan = LogicalPlanBuilder::scan(reference.clone(), provider_as_source(provider), None)?;
        let scanned = scan.schema().clone();
        let mut exprs: Vec<Expr> = vec![];
        for f in schema.fields() {
            let Some((q, sf)) = scanned.iter().find(|(_, sf)| sf.name() == f.name()) else {
                exprs.push(
                    Expr::Literal(
                        datafusion::common::ScalarValue::try_from(f.data_type())?,
                        None,
                    )
                    .alias(f.name()),
                );
                continue;
            };
            let c = Expr::Column(Column::new(q.cloned(), sf.name()));
            let converted = match (sf.data_type(), f.data_type()) {
                (a, b) if a == b => c,
                (DataType::Int64, DataType::Duration(_)) => {
                    cast(cast(c, DataType::Int64), f.data_type().clone())
                }
                _ => cast(c, f.data_type().clone()),
            };
            // Keep the Kusto type (guid, dynamic, timespan) that only metadata tells.
            let metadata = (!f.metadata().is_empty())
                .then(|| datafusion::common::metadata::FieldMetadata::from(f.as_ref()));
            exprs.push(converted.alias_with_metadata(f.name(), metadata));
        }
        Ok(scan.project(exprs)?)
    }

    /// The sealed files, Kusto's "extents".
    pub async fn extents(&self) -> Result<Vec<Extent>> {
        let st = self.state.lock().await;
        extents::list(&st.delta, &self.name)
    }

    /// Merges small files (OPTIMIZE compact) when there are at least `min_files` files.
    pub async fn compact(&self, min_files: usize) -> Result<Option<(u64, u64)>> {
        let _one_at_a_time = self.seal_lock.lock().await;
        let table = { self.state.lock().await.delta.clone() };
        let files = table
            .snapshot()
            .map(|s| s.log_data().num_files())
            .unwrap_or(0);
        if files < min_files {
            return Ok(None);
        }
        let (table, metrics) = table
            .optimize()
            .with_type(deltalake::operations::optimize::OptimizeType::Compact)
            .await
            .map_err(ExplorerError::delta(&self.name))?;
        let mut st = self.state.lock().await;
        st.provider = table.table_provider().await?;
        st.delta = table;
        Ok(Some((metrics.num_files_removed, metrics.num_files_added)))
    }
}
