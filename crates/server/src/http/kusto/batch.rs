//! Eddy's one-call ingestion of many sources: `POST /v1/rest/ingest-batch/{db}/{table}`
//! with `{"sources": [paths or URLs], "format", "mappingName", "ignoreFirstRecord"}`
//! answers at once with an operation id; the sources are ingested in the background and
//! `.show operations <id>` reports progress and the outcome. One request instead of an
//! upload, a queue message and a status poll per file.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use eddy_explorer::{Explorer, IngestProps};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::error::KustoError;
use super::read_body;
use crate::http::AppState;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BatchRequest {
    sources: Vec<String>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    mapping_name: Option<String>,
    #[serde(default)]
    ingestion_mapping: Option<String>,
    #[serde(default)]
    ignore_first_record: bool,
}

pub async fn ingest_batch(
    State(state): State<AppState>,
    Path((db, table)): Path<(String, String)>,
    body: Body,
) -> Result<Response, KustoError> {
    let bytes = read_body(body, state.kusto.max_request_bytes, "the request body").await?;
    let req: BatchRequest = serde_json::from_slice(&bytes).map_err(|e| {
        KustoError::bad_request(format!(
            "expected {{\"sources\": [...], \"format\": ..., \"mappingName\": ...}}: {e}"
        ))
    })?;
    if req.sources.is_empty() {
        return Err(KustoError::bad_request("sources is empty"));
    }
    let format = match &req.format {
        Some(f) => Some(
            eddy_explorer::ingest::Format::parse(f)
                .ok_or_else(|| KustoError::bad_request(format!("unknown format '{f}'")))?,
        ),
        None => None,
    };
    // Fail fast on what would fail every source: the table must exist.
    state.explorer.table(&db, &table)?;
    let sources = req.sources.len();
    let id = state.explorer.begin_operation(
        "DataIngestPullBatch",
        &db,
        &table,
        &format!("0 of {} sources", req.sources.len()),
    );
    tokio::spawn(run(state.explorer.clone(), id, db, table, req, format));
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"OperationId": id.to_string(), "Sources": sources})),
    )
        .into_response())
}

async fn run(
    explorer: Arc<Explorer>,
    id: Uuid,
    db: String,
    table: String,
    req: BatchRequest,
    format: Option<eddy_explorer::ingest::Format>,
) {
    let total = req.sources.len();
    let (mut rows, mut bad_records, mut failed) = (0usize, 0usize, vec![]);
    for (i, source) in req.sources.iter().enumerate() {
        let props = IngestProps {
            format: format.unwrap_or_else(|| eddy_explorer::guess_format(source)),
            mapping: req.mapping_name.clone(),
            inline_mapping: req.ingestion_mapping.clone(),
            ignore_first_record: req.ignore_first_record,
        };
        match explorer.ingest_source(&db, &table, source, &props).await {
            Ok(r) => {
                rows += r.rows;
                bad_records += r.failed_records;
            }
            Err(e) => failed.push(format!("{}: {e}", eddy_explorer::source_name(source))),
        }
        let status = summary(i + 1, total, rows, bad_records, &failed);
        explorer.update_operation(id, "InProgress", status);
    }
    let state = if failed.len() == total {
        "Failed"
    } else if failed.is_empty() && bad_records == 0 {
        "Completed"
    } else {
        "PartiallySucceeded"
    };
    explorer.update_operation(id, state, summary(total, total, rows, bad_records, &failed));
}

fn summary(done: usize, total: usize, rows: usize, bad: usize, failed: &[String]) -> String {
    let mut s = format!(
        "{done} of {total} sources: {rows} rows ingested, {bad} records failed (see .show ingestion failures), {} sources failed",
        failed.len()
    );
    if !failed.is_empty() {
        s.push_str(": ");
        s.push_str(&failed.join("; "));
    }
    s
}
