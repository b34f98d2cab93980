//! What data connections need from the explorer, and what the explorer needs from them:
//! - the `.create/.drop/.show data connection` commands are answered by a
//!   [`DataConnectionAdmin`] the server registers (the connection manager lives next to
//!   the hub, outside this crate);
//! - [`Explorer::ingest_events`] ingests a batch of events together with the source
//!   positions it covers, atomically (see `Table::append_with_sources`);
//! - [`Explorer::record_event_failure`] keeps an event that could not be ingested, with
//!   its origin, for `.show ingestion failures`.

use std::sync::Arc;

use eddy_kql::command::Properties;
use futures::future::BoxFuture;
use uuid::Uuid;

use crate::error::{ExplorerError, Result};
use crate::explorer::Explorer;
use crate::ingest::events::{parse_events, EventRecord};
use crate::ingest::{Format, RecordFailure, Request};
use crate::journal::EventOrigin;
use crate::result::ResultTable;

/// The data connection commands, answered by the connection manager. Creating and
/// dropping wait for a replaced connection's worker to stop.
pub trait DataConnectionAdmin: Send + Sync {
    fn create<'a>(
        &'a self,
        db: &'a str,
        name: &'a str,
        props: &'a Properties,
        or_alter: bool,
    ) -> BoxFuture<'a, Result<ResultTable>>;
    fn remove<'a>(
        &'a self,
        db: &'a str,
        name: &'a str,
        if_exists: bool,
    ) -> BoxFuture<'a, Result<ResultTable>>;
    fn show(&self, db: &str, name: Option<&str>) -> Result<ResultTable>;
}

/// Events bound for one table with one format and mapping.
pub struct EventBatch {
    pub db: String,
    pub table: String,
    pub format: Format,
    pub mapping: Option<String>,
    pub events: Vec<EventRecord>,
    /// Source positions `(app id, version)` committed atomically with the rows.
    pub sources: Vec<(String, i64)>,
    /// Seal the rows into a Delta commit at once (a sealed ingestion batch); otherwise
    /// they stay hot until the table's batching policy seals them (streaming).
    pub seal: bool,
}

/// What ingesting an [`EventBatch`] did.
#[derive(Debug)]
pub struct EventsOutcome {
    pub rows: usize,
    /// Records that failed, with the index of their event in the batch.
    pub failures: Vec<(usize, RecordFailure)>,
    pub conversion_failures: u64,
}

impl Explorer {
    /// Registers (or removes) the handler of the data connection commands.
    pub fn set_data_connections(&self, admin: Option<Arc<dyn DataConnectionAdmin>>) {
        *self.data_connections.lock().expect("connections lock") = admin;
    }

    pub(crate) fn data_connection_admin(&self) -> Result<Arc<dyn DataConnectionAdmin>> {
        self.data_connections
            .lock()
            .expect("connections lock")
            .clone()
            .ok_or_else(|| {
                ExplorerError::InvalidArgument(
                    "data connections need the hub; they are available in `eddy serve`".into(),
                )
            })
    }

    /// Parses the events (on the blocking pool), appends the good rows with the source
    /// positions in one durable WAL record, and seals when asked. Errors mean nothing was
    /// appended: `NotFound`/`InvalidArgument` (table or mapping gone, mapping of the
    /// wrong kind) are permanent for these events, others (I/O) are worth a retry.
    pub async fn ingest_events(&self, batch: EventBatch) -> Result<EventsOutcome> {
        let t = self.table(&batch.db, &batch.table)?;
        let columns = t.columns();
        let mapping = match &batch.mapping {
            Some(name) => {
                Some(self.mapping(&batch.db, &batch.table, batch.format.mapping_kind(), name)?)
            }
            None => None,
        };
        let strict = self.strict_conversion(&batch.db, &batch.table);
        let format = batch.format;
        let source = format!("{}/{}", batch.db, batch.table);
        let events = batch.events;
        let parsed = tokio::task::spawn_blocking(move || {
            let req = Request {
                columns: &columns,
                format,
                mapping: mapping.as_ref(),
                ignore_first_record: false,
                source: &source,
                strict,
            };
            parse_events(&req, &events)
        })
        .await
        .map_err(|e| ExplorerError::Execution(format!("event parsing stopped: {e}")))??;
        let rows = parsed.parsed.rows();
        t.append_with_sources(
            parsed.parsed.batches,
            parsed.parsed.raw_bytes,
            batch.sources,
        )
        .await?;
        if batch.seal {
            t.seal().await?;
        }
        Ok(EventsOutcome {
            rows,
            failures: parsed.failures,
            conversion_failures: parsed.parsed.conversion_failures,
        })
    }

    /// Records a failed event (or record of an event) with where it came from.
    pub fn record_event_failure(
        &self,
        db: &str,
        table: &str,
        origin: EventOrigin,
        failure: &RecordFailure,
    ) {
        let source = format!(
            "{}/partitions/{}/sequence/{}",
            origin.hub, origin.partition, origin.sequence_number
        );
        self.record_failure_from(Uuid::new_v4(), db, table, &source, failure, Some(origin));
    }
}
