//! The explorer: the catalog, the open tables, and the entry point that runs a query or
//! a management command.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use datafusion::prelude::SessionContext;
use eddy_kql::command::PolicyKind;
use eddy_kql::types::ColumnDef;
use uuid::Uuid;

use crate::catalog::{Catalog, TableMeta};
use crate::error::{ExplorerError, Result};
use crate::journal::{Failure, Journal, Operation};
use crate::policy::BatchingPolicy;
use crate::request::RequestProperties;
use crate::result::ResultTable;
use crate::table::Table;

/// Compact a table once it has this many files.
const COMPACT_AT_FILES: usize = 16;
/// How often `maintain` applies retention policies.
const RETENTION_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

pub struct Explorer {
    root: PathBuf,
    pub(crate) catalog: Mutex<Catalog>,
    tables: Mutex<HashMap<(String, String), Arc<Table>>>,
    pub(crate) journal: Mutex<Journal>,
    pub(crate) ctx: SessionContext,
    /// Serializes commands that change the catalog.
    pub(crate) ddl: tokio::sync::Mutex<()>,
    last_retention: Mutex<Instant>,
    /// What `.get ingestion resources` answers (resource type, storage root URL), set
    /// by the server when queued ingestion is configured.
    ingestion_resources: Mutex<Vec<(String, String)>>,
    /// Answers the data connection commands; set by the server.
    pub(crate) data_connections: Mutex<Option<Arc<dyn crate::connections::DataConnectionAdmin>>>,
}

/// A directory name for a database or table name (names may hold spaces and dots).
fn dir_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c.to_string()
            } else {
                format!("%{:02X}", c as u32)
            }
        })
        .collect()
}

impl Explorer {
    /// Opens the explorer under `data_dir/explorer`, replaying every table's WAL.
    pub async fn open(data_dir: &Path) -> Result<Arc<Explorer>> {
        let root = data_dir.join("explorer");
        let catalog = Catalog::open(&root)?;
        let journal = Journal::open(&root);
        let explorer = Explorer {
            root,
            catalog: Mutex::new(catalog),
            tables: Mutex::new(HashMap::new()),
            journal: Mutex::new(journal),
            ctx: SessionContext::new(),
            ddl: tokio::sync::Mutex::new(()),
            last_retention: Mutex::new(Instant::now()),
            ingestion_resources: Mutex::new(Vec::new()),
            data_connections: Mutex::new(None),
        };
        let metas: Vec<(String, String, Vec<ColumnDef>)> = {
            let cat = explorer.catalog.lock().expect("catalog lock");
            cat.data
                .databases
                .iter()
                .flat_map(|(db, d)| {
                    d.tables
                        .iter()
                        .map(move |(t, m)| (db.clone(), t.clone(), m.schema()))
                })
                .collect()
        };
        for (db, name, columns) in metas {
            let table = explorer.open_table(&db, &name, columns).await?;
            explorer
                .tables
                .lock()
                .expect("tables lock")
                .insert((db, name), Arc::new(table));
        }
        Ok(Arc::new(explorer))
    }

    pub(crate) fn table_dir(&self, db: &str, table: &str) -> PathBuf {
        self.root.join(dir_name(db)).join(dir_name(table))
    }

    fn wal_dir(&self, db: &str, table: &str) -> PathBuf {
        self.root
            .join("_wal")
            .join(dir_name(db))
            .join(dir_name(table))
    }

    pub(crate) async fn open_table(
        &self,
        db: &str,
        name: &str,
        columns: Vec<ColumnDef>,
    ) -> Result<Table> {
        Table::open(
            db,
            name,
            &self.table_dir(db, name),
            &self.wal_dir(db, name),
            columns,
        )
        .await
    }

    /// Registers a new table in the catalog and on disk.
    pub(crate) async fn create_table(
        &self,
        db: &str,
        name: &str,
        columns: Vec<ColumnDef>,
    ) -> Result<Arc<Table>> {
        let table = Arc::new(self.open_table(db, name, columns.clone()).await?);
        {
            let mut cat = self.catalog.lock().expect("catalog lock");
            cat.database_mut(db)?
                .tables
                .insert(name.to_string(), TableMeta::new(&columns));
            cat.save()?;
        }
        self.tables
            .lock()
            .expect("tables lock")
            .insert((db.to_string(), name.to_string()), table.clone());
        Ok(table)
    }

    pub(crate) async fn drop_table(&self, db: &str, name: &str) -> Result<()> {
        {
            let mut cat = self.catalog.lock().expect("catalog lock");
            cat.table(db, name)?;
            cat.database_mut(db)?.tables.remove(name);
            cat.save()?;
        }
        self.tables
            .lock()
            .expect("tables lock")
            .remove(&(db.to_string(), name.to_string()));
        for dir in [self.table_dir(db, name), self.wal_dir(db, name)] {
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .map_err(ExplorerError::io(format!("remove {}", dir.display())))?;
            }
        }
        Ok(())
    }

    pub fn table(&self, db: &str, name: &str) -> Result<Arc<Table>> {
        if let Some(t) = self
            .tables
            .lock()
            .expect("tables lock")
            .get(&(db.to_string(), name.to_string()))
        {
            return Ok(t.clone());
        }
        // Not open: say what exists.
        let cat = self.catalog.lock().expect("catalog lock");
        cat.table(db, name)?;
        Err(ExplorerError::NotFound(format!(
            "table '{name}' is not open"
        )))
    }

    /// Names of the open tables of a database.
    pub fn table_names(&self, db: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .tables
            .lock()
            .expect("tables lock")
            .keys()
            .filter(|(d, _)| d == db)
            .map(|(_, n)| n.clone())
            .collect();
        names.sort();
        names
    }

    pub fn table_if_exists(&self, db: &str, name: &str) -> Option<Arc<Table>> {
        self.tables
            .lock()
            .expect("tables lock")
            .get(&(db.to_string(), name.to_string()))
            .cloned()
    }

    pub fn databases(&self) -> Vec<String> {
        self.catalog
            .lock()
            .expect("catalog lock")
            .data
            .databases
            .keys()
            .cloned()
            .collect()
    }

    pub fn database_exists(&self, db: &str) -> bool {
        self.catalog
            .lock()
            .expect("catalog lock")
            .data
            .databases
            .contains_key(db)
    }

    /// Runs a query or (text starting with `.`) a management command in database `db`.
    /// A result cut by the truncation limits is an error here; see [`Self::execute_request`].
    pub async fn execute(&self, db: &str, text: &str) -> Result<Vec<ResultTable>> {
        let tables = self
            .execute_request(db, text, &RequestProperties::default())
            .await?;
        if let Some(message) = tables.iter().find_map(|t| t.partial_failure.clone()) {
            return Err(ExplorerError::InvalidArgument(message));
        }
        Ok(tables)
    }

    /// Runs a query or command with client request properties (options, parameters,
    /// `servertimeout`). Truncated results come back partial, with `partial_failure` set.
    pub async fn execute_request(
        &self,
        db: &str,
        text: &str,
        props: &RequestProperties,
    ) -> Result<Vec<ResultTable>> {
        let run = self.execute_inner(db, text, props);
        match props.timeout {
            Some(limit) => tokio::time::timeout(limit, run)
                .await
                .map_err(|_| ExplorerError::Timeout(limit))?,
            None => run.await,
        }
    }

    async fn execute_inner(
        &self,
        db: &str,
        text: &str,
        props: &RequestProperties,
    ) -> Result<Vec<ResultTable>> {
        self.catalog.lock().expect("catalog lock").database(db)?;
        if text.trim_start().starts_with('.') {
            let (cmd, pipe) =
                eddy_kql::parse_command_pipe(text).map_err(|e| ExplorerError::kql(e, text))?;
            let results = self.command(db, cmd).await?;
            match pipe {
                None => Ok(results),
                Some(at) => self.pipe_result(&results[0], &text[at..]).await,
            }
        } else {
            self.query(db, text, props).await
        }
    }

    /// A policy of a table as it applies: the table's own, else its database's.
    fn effective_policy(
        &self,
        db: &str,
        table: &str,
        kind: PolicyKind,
    ) -> Option<serde_json::Value> {
        let cat = self.catalog.lock().expect("catalog lock");
        let own = cat
            .table(db, table)
            .ok()
            .and_then(|t| t.policies.get(kind).cloned());
        own.or_else(|| {
            cat.database(db)
                .ok()
                .and_then(|d| d.policies.get(kind).cloned())
        })
    }

    /// The effective batching policy of a table (table, else database, else default).
    pub fn batching_policy(&self, db: &str, table: &str) -> BatchingPolicy {
        self.effective_policy(db, table, PolicyKind::IngestionBatching)
            .and_then(|v| BatchingPolicy::from_json(&v).ok())
            .unwrap_or_default()
    }

    fn all_tables(&self) -> Vec<Arc<Table>> {
        self.tables
            .lock()
            .expect("tables lock")
            .values()
            .cloned()
            .collect()
    }

    /// Seals the tables whose batching policy fired and compacts the ones with many
    /// files. The server calls this a few times a second.
    pub async fn maintain(&self) {
        let retention_due = {
            let mut last = self.last_retention.lock().expect("retention lock");
            let due = last.elapsed() >= RETENTION_EVERY;
            if due {
                *last = Instant::now();
            }
            due
        };
        if retention_due {
            if let Err(e) = self.enforce_retention(Utc::now()).await {
                tracing::warn!(error = %e, "retention failed");
            }
        }
        for t in self.all_tables() {
            let policy = self.batching_policy(&t.db, &t.name);
            if !t.seal_due(&policy).await {
                continue;
            }
            match t.seal().await {
                Ok(_) => {
                    if let Err(e) = t.compact(COMPACT_AT_FILES).await {
                        tracing::warn!(db = %t.db, table = %t.name, error = %e, "compaction failed");
                    }
                }
                Err(e) => {
                    tracing::error!(db = %t.db, table = %t.name, error = %e, "seal failed; rows stay in the WAL")
                }
            }
        }
    }

    /// Whether the table (or its database) has streaming ingestion enabled.
    pub fn streaming_enabled(&self, db: &str, table: &str) -> bool {
        self.effective_policy(db, table, PolicyKind::StreamingIngestion)
            .and_then(|v| v["IsEnabled"].as_bool())
            .unwrap_or(false)
    }

    /// Whether the table (or its database) rejects records whose values do not convert.
    pub fn strict_conversion(&self, db: &str, table: &str) -> bool {
        self.effective_policy(db, table, PolicyKind::IngestionConversion)
            .and_then(|v| v["Strict"].as_bool())
            .unwrap_or(false)
    }

    /// The effective retention policy of a table (table, else database, else default).
    pub fn retention_policy(&self, db: &str, table: &str) -> crate::policy::RetentionPolicy {
        self.effective_policy(db, table, PolicyKind::Retention)
            .and_then(|v| crate::policy::RetentionPolicy::from_json(&v).ok())
            .unwrap_or_default()
    }

    /// Removes sealed data older than each table's `SoftDeletePeriod` as of `now`.
    pub async fn enforce_retention(&self, now: chrono::DateTime<Utc>) -> Result<usize> {
        let mut removed = 0;
        for t in self.all_tables() {
            let period = self.retention_policy(&t.db, &t.name).soft_delete;
            let Ok(period) = chrono::Duration::from_std(period) else {
                continue;
            };
            let Some(cutoff) = now.checked_sub_signed(period) else {
                continue;
            };
            removed += t.enforce_retention(cutoff).await?;
        }
        Ok(removed)
    }

    /// Seals every table's hot rows (graceful shutdown, tests).
    pub async fn seal_all(&self) -> Result<()> {
        for t in self.all_tables() {
            t.seal().await?;
        }
        Ok(())
    }

    /// Keeps a failed record for `.show ingestion failures`.
    pub(crate) fn record_failure(
        &self,
        op: Uuid,
        db: &str,
        table: &str,
        source: &str,
        f: &crate::ingest::RecordFailure,
    ) {
        self.record_failure_from(op, db, table, source, f, None)
    }

    pub(crate) fn record_failure_from(
        &self,
        op: Uuid,
        db: &str,
        table: &str,
        source: &str,
        f: &crate::ingest::RecordFailure,
        origin: Option<crate::journal::EventOrigin>,
    ) {
        self.journal
            .lock()
            .expect("journal lock")
            .record_failure(Failure {
                operation_id: op,
                database: db.to_string(),
                table: table.to_string(),
                failed_on: Utc::now(),
                source: source.to_string(),
                position: f.position.clone(),
                payload: f.payload.clone(),
                error_code: f.code.to_string(),
                details: f.message.clone(),
                origin,
            });
    }

    /// Sets the queued-ingestion resources `.get ingestion resources` reports.
    pub fn set_ingestion_resources(&self, resources: Vec<(String, String)>) {
        *self.ingestion_resources.lock().expect("resources lock") = resources;
    }

    pub(crate) fn ingestion_resources(&self) -> Vec<(String, String)> {
        self.ingestion_resources
            .lock()
            .expect("resources lock")
            .clone()
    }

    /// Starts a long-running operation that `.show operations` reports as InProgress.
    pub fn begin_operation(&self, kind: &str, db: &str, table: &str, status: &str) -> Uuid {
        let id = Uuid::new_v4();
        self.push_operation(
            id,
            kind,
            db,
            table,
            Instant::now(),
            "InProgress",
            status.into(),
        );
        id
    }

    /// Updates an operation begun with [`Self::begin_operation`]; `state` is
    /// InProgress, Completed, PartiallySucceeded or Failed.
    pub fn update_operation(&self, id: Uuid, state: &'static str, status: String) {
        let mut journal = self.journal.lock().expect("journal lock");
        if let Some(op) = journal.operation_mut(id) {
            op.duration = (Utc::now() - op.started_on).to_std().unwrap_or_default();
            op.state = state;
            op.status = status;
        }
    }

    pub(crate) fn record_operation(
        &self,
        id: Uuid,
        kind: &str,
        db: &str,
        table: &str,
        started: Instant,
        outcome: std::result::Result<String, String>,
    ) {
        let (state, status) = match outcome {
            Ok(s) => ("Completed", s),
            Err(s) => ("Failed", s),
        };
        self.push_operation(id, kind, db, table, started, state, status);
    }

    #[allow(clippy::too_many_arguments)]
    fn push_operation(
        &self,
        id: Uuid,
        kind: &str,
        db: &str,
        table: &str,
        started: Instant,
        state: &'static str,
        status: String,
    ) {
        let elapsed = started.elapsed();
        self.journal
            .lock()
            .expect("journal lock")
            .record_operation(Operation {
                id,
                kind: kind.to_string(),
                database: db.to_string(),
                table: table.to_string(),
                started_on: Utc::now() - chrono::Duration::from_std(elapsed).unwrap_or_default(),
                duration: elapsed,
                state,
                status,
            });
    }
}
