//! `.show version`, `.show cluster`, `.show ingestion failures`, `.show operations [id]`,
//! `.get ingestion resources`, `.get kusto identity token`,
//! `.show table T extents`.

use eddy_kql::types::KustoType;
use eddy_kql::values::{format_datetime, format_timespan};
use serde_json::json;

use crate::error::{ExplorerError, Result};
use crate::explorer::Explorer;
use crate::result::ResultTable;

pub fn version() -> ResultTable {
    let mut r = ResultTable::new(
        "Table_0",
        &[
            ("BuildVersion", KustoType::String),
            ("BuildTime", KustoType::DateTime),
            ("ServiceType", KustoType::String),
            ("ProductVersion", KustoType::String),
        ],
    );
    let v = env!("CARGO_PKG_VERSION");
    r.push(vec![
        json!(v),
        json!(format_datetime(0)),
        json!("Eddy"),
        json!(format!("Eddy {v}")),
    ]);
    r
}

/// `.get kusto identity token`: with auth off, a fixed context that queued messages
/// carry back and Eddy does not check.
pub fn identity_token() -> ResultTable {
    let mut r = ResultTable::new("Table_0", &[("AuthorizationContext", KustoType::String)]);
    r.push(vec![json!("eddy-no-auth")]);
    r
}

pub fn cluster() -> ResultTable {
    let mut r = ResultTable::new(
        "Table_0",
        &[
            ("NodeId", KustoType::String),
            ("Address", KustoType::String),
            ("Name", KustoType::String),
            ("StartTime", KustoType::DateTime),
            ("IsAdmin", KustoType::Bool),
            ("ProcessorCount", KustoType::Int),
            ("EnvironmentDescription", KustoType::Dynamic),
        ],
    );
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    r.push(vec![
        json!("eddy-0"),
        json!("localhost"),
        json!("eddy-0"),
        json!(format_datetime(chrono::Utc::now().timestamp_micros())),
        json!(true),
        json!(cpus),
        json!({"Product": "Eddy", "Nodes": 1}),
    ]);
    r
}

impl Explorer {
    pub(crate) fn show_ingestion_failures(&self) -> ResultTable {
        let mut r = ResultTable::new(
            "Table_0",
            &[
                ("OperationId", KustoType::Guid),
                ("Database", KustoType::String),
                ("Table", KustoType::String),
                ("FailedOn", KustoType::DateTime),
                ("IngestionSourcePath", KustoType::String),
                ("Details", KustoType::String),
                ("FailureKind", KustoType::String),
                ("RootActivityId", KustoType::Guid),
                ("OperationKind", KustoType::String),
                ("OriginatesFromUpdatePolicy", KustoType::Bool),
                ("ErrorCode", KustoType::String),
                ("ShouldRetry", KustoType::Bool),
                ("Position", KustoType::String),
                ("RawPayload", KustoType::String),
                ("DataConnection", KustoType::String),
                ("EventHub", KustoType::String),
                ("Partition", KustoType::Int),
                ("SequenceNumber", KustoType::Long),
                ("EventProperties", KustoType::Dynamic),
            ],
        );
        let journal = self.journal.lock().expect("journal lock");
        for f in journal.failures() {
            r.push(vec![
                json!(f.operation_id.to_string()),
                json!(f.database),
                json!(f.table),
                json!(format_datetime(f.failed_on.timestamp_micros())),
                json!(f.source),
                json!(f.details),
                json!("Permanent"),
                json!(f.operation_id.to_string()),
                json!("DataIngestPull"),
                json!(false),
                json!(f.error_code),
                json!(false),
                json!(f.position),
                json!(f.payload),
                json!(f.origin.as_ref().map(|o| &o.connection)),
                json!(f.origin.as_ref().map(|o| &o.hub)),
                json!(f.origin.as_ref().map(|o| o.partition)),
                json!(f.origin.as_ref().map(|o| o.sequence_number)),
                f.origin
                    .as_ref()
                    .map(|o| o.properties.clone())
                    .unwrap_or(serde_json::Value::Null),
            ]);
        }
        r
    }

    /// `.get ingestion resources`: the queues and containers queued ingestion uses.
    pub(crate) fn get_ingestion_resources(&self) -> Result<ResultTable> {
        let resources = self.ingestion_resources();
        if resources.is_empty() {
            return Err(ExplorerError::InvalidArgument(
                "queued ingestion is not configured: set kusto.ingest_storage (EDDY_KUSTO_INGEST_STORAGE) to an Azure Storage connection string, e.g. UseDevelopmentStorage=true for Azurite".into(),
            ));
        }
        let mut r = ResultTable::new(
            "Table_0",
            &[
                ("ResourceTypeName", KustoType::String),
                ("StorageRoot", KustoType::String),
            ],
        );
        for (kind, root) in resources {
            r.push(vec![json!(kind), json!(root)]);
        }
        Ok(r)
    }

    pub(crate) fn show_operations(&self, ids: &[String]) -> ResultTable {
        let mut r = ResultTable::new(
            "Table_0",
            &[
                ("OperationId", KustoType::Guid),
                ("Operation", KustoType::String),
                ("NodeId", KustoType::String),
                ("StartedOn", KustoType::DateTime),
                ("LastUpdatedOn", KustoType::DateTime),
                ("Duration", KustoType::Timespan),
                ("State", KustoType::String),
                ("Status", KustoType::String),
                ("Database", KustoType::String),
                ("Table", KustoType::String),
            ],
        );
        let journal = self.journal.lock().expect("journal lock");
        for op in journal.operations() {
            if !ids.is_empty() && !ids.contains(&op.id.to_string()) {
                continue;
            }
            let duration = if op.state == "InProgress" {
                (chrono::Utc::now() - op.started_on)
                    .to_std()
                    .unwrap_or_default()
            } else {
                op.duration
            };
            let end = op.started_on + chrono::Duration::from_std(duration).unwrap_or_default();
            r.push(vec![
                json!(op.id.to_string()),
                json!(op.kind),
                json!("eddy-0"),
                json!(format_datetime(op.started_on.timestamp_micros())),
                json!(format_datetime(end.timestamp_micros())),
                json!(format_timespan(duration.as_micros() as i64)),
                json!(op.state),
                json!(op.status),
                json!(op.database),
                json!(op.table),
            ]);
        }
        r
    }

    pub(crate) async fn show_extents(&self, db: &str, table: Option<&str>) -> Result<ResultTable> {
        let mut r = ResultTable::new(
            "Table_0",
            &[
                ("ExtentId", KustoType::Guid),
                ("DatabaseName", KustoType::String),
                ("TableName", KustoType::String),
                ("MaxCreatedOn", KustoType::DateTime),
                ("OriginalSize", KustoType::Real),
                ("ExtentSize", KustoType::Real),
                ("CompressedSize", KustoType::Real),
                ("IndexSize", KustoType::Real),
                ("RowCount", KustoType::Long),
                ("Path", KustoType::String),
            ],
        );
        let names: Vec<String> = match table {
            Some(t) => vec![t.to_string()],
            None => self
                .catalog
                .lock()
                .expect("catalog lock")
                .database(db)?
                .tables
                .keys()
                .cloned()
                .collect(),
        };
        for name in names {
            let t = self.table(db, &name)?;
            for e in t.extents().await? {
                let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, e.path.as_bytes());
                r.push(vec![
                    json!(id.to_string()),
                    json!(db),
                    json!(name),
                    json!(format_datetime(e.created_on.timestamp_micros())),
                    json!(e.size as f64),
                    json!(e.size as f64),
                    json!(e.size as f64),
                    json!(0.0),
                    json!(e.rows),
                    json!(e.path),
                ]);
            }
        }
        Ok(r)
    }
}
