//! Queued ingestion as `QueuedIngestClient` drives it: the client asks
//! `.get ingestion resources`, uploads a blob to the temp container and posts a base64
//! JSON message (BlobPath, DatabaseName, TableName, AdditionalProperties, ReportLevel,
//! ReportMethod) to the ready queue. Eddy polls that queue, ingests each blob and
//! reports to the failed/successful queues as the message asks.
//!
//! ```text
//!  client ─ blob ─▶ tempstorage            Eddy: get ─▶ fetch blob ─▶ ingest (WAL, durable)
//!  client ─ msg ──▶ readyforaggregation ──────▶ report to status queue ─▶ note id ─▶ delete
//! ```
//!
//! A message is deleted only after its data is durable, so a crash means a retry; the
//! ids of finished messages are kept on disk so a retried message is not ingested twice.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use chrono::Utc;
use eddy_azstore::{Queue, QueueMessage, StorageAccount, StorageError};
use eddy_explorer::{Explorer, IngestProps};
use serde::Deserialize;
use serde_json::{json, Map, Value};

const READY_QUEUE: &str = "readyforaggregation-secured";
const FAILED_QUEUE: &str = "failedingestions";
const SUCCESS_QUEUE: &str = "successfulingestions";
const TEMP_CONTAINER: &str = "tempstorage";
const STATUS_TABLE: &str = "ingestionsstatus";
/// How long a taken message stays hidden from other takers.
const VISIBILITY_SECS: u32 = 300;
/// Deliveries after which a message that keeps failing is reported and dropped.
const MAX_DEQUEUE: u32 = 5;
const KEEP_DONE_IDS: usize = 100_000;

/// Kusto's `ReportLevel`: 0 failures only (default), 1 none, 2 failures and successes.
const REPORT_NONE: i64 = 1;
const REPORT_ALL: i64 = 2;

pub struct QueuedIngest {
    explorer: Arc<Explorer>,
    ready: Queue,
    failed: Queue,
    succeeded: Queue,
    poll: Duration,
    done_path: PathBuf,
    done: HashSet<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IngestionMessage {
    #[serde(default)]
    id: Option<String>,
    blob_path: String,
    database_name: String,
    table_name: String,
    #[serde(default)]
    report_level: Option<i64>,
    #[serde(default)]
    additional_properties: Option<Map<String, Value>>,
}

/// How one message ended.
enum Outcome {
    Succeeded,
    Failed {
        code: &'static str,
        details: String,
        permanent: bool,
    },
}

impl QueuedIngest {
    /// Creates the queues and container on the account and tells the explorer what to
    /// answer to `.get ingestion resources`.
    pub async fn setup(
        connection_string: &str,
        explorer: Arc<Explorer>,
        data_dir: &std::path::Path,
        poll: Duration,
    ) -> Result<QueuedIngest, StorageError> {
        let account = StorageAccount::from_connection_string(connection_string)?;
        let sas = account.sas(365);
        let ready = account.queue(READY_QUEUE, &sas);
        let failed = account.queue(FAILED_QUEUE, &sas);
        let succeeded = account.queue(SUCCESS_QUEUE, &sas);
        for q in [&ready, &failed, &succeeded] {
            q.create().await?;
        }
        account.create_container(TEMP_CONTAINER, &sas).await?;
        explorer.set_ingestion_resources(vec![
            (
                "SecuredReadyForAggregationQueue".into(),
                ready.url_with_sas(),
            ),
            ("FailedIngestionsQueue".into(), failed.url_with_sas()),
            ("SuccessfulIngestionsQueue".into(), succeeded.url_with_sas()),
            (
                "TempStorage".into(),
                format!("{}/{TEMP_CONTAINER}?{sas}", account.blob_endpoint),
            ),
            (
                "IngestionsStatusTable".into(),
                format!("{}/{STATUS_TABLE}?{sas}", account.table_endpoint),
            ),
        ]);
        let dir = data_dir.join("explorer");
        std::fs::create_dir_all(&dir).ok();
        let done_path = dir.join("queued_ingestion_done.txt");
        let done = std::fs::read_to_string(&done_path)
            .map(|t| t.lines().map(str::to_string).collect())
            .unwrap_or_default();
        tracing::info!(queue = %account.queue_endpoint, "queued ingestion watches {READY_QUEUE}");
        Ok(QueuedIngest {
            explorer,
            ready,
            failed,
            succeeded,
            poll,
            done_path,
            done,
        })
    }

    /// Polls the ready queue until `stop` turns true; a message in hand is finished
    /// first, and messages taken but not started become visible again later.
    pub async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        // While the storage account is unreachable, wait longer each time (to 30 s).
        let mut failures = 0u32;
        while !*stop.borrow() {
            let batch = match self.ready.get(32, VISIBILITY_SECS).await {
                Ok(b) => {
                    failures = 0;
                    b
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = %e, failures, "cannot read the ingestion queue");
                    Vec::new()
                }
            };
            if batch.is_empty() {
                let wait = (self.poll * 2u32.pow(failures.min(8))).min(Duration::from_secs(30));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            for msg in batch {
                if *stop.borrow() {
                    break;
                }
                self.handle(msg).await;
            }
        }
    }

    async fn handle(&mut self, msg: QueueMessage) {
        let parsed = decode(&msg.text);
        let key = match &parsed {
            Ok(m) => m.id.clone().unwrap_or_else(|| msg.id.clone()),
            Err(_) => msg.id.clone(),
        };
        if self.done.contains(&key) {
            // Finished before a crash kept it from being deleted.
            self.delete(&msg).await;
            return;
        }
        let (outcome, report) = match &parsed {
            Err(e) => (
                Outcome::Failed {
                    code: "BadRequest_InvalidMessage",
                    details: e.clone(),
                    permanent: true,
                },
                None,
            ),
            Ok(m) => (self.ingest(m).await, Some(m)),
        };
        if let Outcome::Failed {
            permanent: false, ..
        } = &outcome
        {
            if msg.dequeue_count < MAX_DEQUEUE {
                // Leave it; it becomes visible again after the visibility timeout.
                return;
            }
        }
        let level = report.and_then(|m| m.report_level).unwrap_or(0);
        let status = match (&outcome, level) {
            (_, REPORT_NONE) => None,
            (Outcome::Succeeded, REPORT_ALL) => Some((&self.succeeded, success_message(report))),
            (Outcome::Succeeded, _) => None,
            (
                Outcome::Failed {
                    code,
                    details,
                    permanent,
                },
                _,
            ) => Some((
                &self.failed,
                failure_message(report, code, details, *permanent),
            )),
        };
        if let Some((queue, body)) = status {
            let text = base64::engine::general_purpose::STANDARD.encode(body.to_string());
            if let Err(e) = queue.put(&text).await {
                tracing::warn!(error = %e, "cannot post an ingestion status message");
            }
        }
        self.remember(key);
        self.delete(&msg).await;
    }

    async fn ingest(&self, m: &IngestionMessage) -> Outcome {
        let props = match ingest_props(m) {
            Ok(p) => p,
            Err(details) => {
                return Outcome::Failed {
                    code: "BadRequest_InvalidProperties",
                    details,
                    permanent: true,
                }
            }
        };
        match self
            .explorer
            .ingest_source(&m.database_name, &m.table_name, &m.blob_path, &props)
            .await
        {
            Ok(r) if r.failed_records == 0 => Outcome::Succeeded,
            Ok(r) => Outcome::Failed {
                code: "BadRequest_InvalidRecords",
                details: format!(
                    "{} records did not parse and went to .show ingestion failures (operation {}); {} rows were ingested",
                    r.failed_records, r.operation_id, r.rows
                ),
                permanent: true,
            },
            Err(e) => {
                let status = e.status();
                Outcome::Failed {
                    code: if status.is_retryable() || status == eddy_common::status::StatusCode::Internal {
                        "General_TransientFailure"
                    } else {
                        "BadRequest_IngestionFailed"
                    },
                    details: e.to_string(),
                    permanent: !status.is_retryable()
                        && status != eddy_common::status::StatusCode::Internal,
                }
            }
        }
    }

    fn remember(&mut self, key: String) {
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.done_path)
            .and_then(|mut f| {
                writeln!(f, "{key}")?;
                f.sync_data()
            });
        if let Err(e) = written {
            tracing::warn!(error = %e, "cannot record a finished ingestion message");
        }
        self.done.insert(key);
        if self.done.len() > KEEP_DONE_IDS {
            self.done.clear();
            let _ = std::fs::write(&self.done_path, "");
        }
    }

    async fn delete(&self, msg: &QueueMessage) {
        if let Err(e) = self.ready.delete(msg).await {
            tracing::warn!(error = %e, "cannot delete an ingestion message");
        }
    }
}

fn decode(text: &str) -> Result<IngestionMessage, String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map(|b| String::from_utf8_lossy(&b).to_string())
        .unwrap_or_else(|_| text.to_string());
    serde_json::from_str(&raw)
        .map_err(|e| format!("the queue message is not an ingestion request: {e}"))
}

fn ingest_props(m: &IngestionMessage) -> Result<IngestProps, String> {
    let empty = Map::new();
    let p = m.additional_properties.as_ref().unwrap_or(&empty);
    let text = |k: &str| {
        p.iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(k))
            .and_then(|(_, v)| match v {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            })
    };
    let format = match text("format") {
        Some(f) => eddy_explorer::ingest::Format::parse(&f)
            .ok_or_else(|| format!("unknown format '{f}'"))?,
        None => eddy_explorer::guess_format(&m.blob_path),
    };
    Ok(IngestProps {
        format,
        mapping: text("ingestionMappingReference"),
        inline_mapping: text("ingestionMapping"),
        ignore_first_record: text("ignoreFirstRecord")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
    })
}

fn common_fields(m: Option<&IngestionMessage>) -> Map<String, Value> {
    let mut o = Map::new();
    let id = m.and_then(|m| m.id.clone()).unwrap_or_default();
    o.insert("OperationId".into(), json!(id));
    o.insert(
        "Database".into(),
        json!(m.map(|m| m.database_name.as_str())),
    );
    o.insert("Table".into(), json!(m.map(|m| m.table_name.as_str())));
    o.insert("IngestionSourceId".into(), json!(id));
    o.insert(
        "IngestionSourcePath".into(),
        json!(m.map(|m| eddy_explorer::source_name(&m.blob_path))),
    );
    o.insert(
        "RootActivityId".into(),
        json!(uuid::Uuid::new_v4().to_string()),
    );
    o
}

fn success_message(m: Option<&IngestionMessage>) -> Value {
    let mut o = common_fields(m);
    o.insert("SucceededOn".into(), json!(Utc::now().to_rfc3339()));
    Value::Object(o)
}

fn failure_message(
    m: Option<&IngestionMessage>,
    code: &str,
    details: &str,
    permanent: bool,
) -> Value {
    let mut o = common_fields(m);
    o.insert("FailedOn".into(), json!(Utc::now().to_rfc3339()));
    o.insert("Details".into(), json!(details));
    o.insert("ErrorCode".into(), json!(code));
    o.insert(
        "FailureStatus".into(),
        json!(if permanent { "Permanent" } else { "Transient" }),
    );
    o.insert("OriginatesFromUpdatePolicy".into(), json!(false));
    o.insert("ShouldRetry".into(), json!(!permanent));
    Value::Object(o)
}
