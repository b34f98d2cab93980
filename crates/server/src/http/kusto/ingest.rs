//! Streaming ingestion: `POST /v1/rest/ingest/{db}/{table}?streamFormat=F&mappingName=M`
//! with the data as the body (gzip or not), or `&sourceKind=uri` with
//! `{"sourceUri": "..."}`. Rows are durable and queryable when the answer comes. Eddy
//! accepts streaming ingestion into every table; no streaming policy is needed.

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use eddy_explorer::{ExplorerError, IngestProps};

use super::error::KustoError;
use super::{frames, json_response, read_body};
use crate::http::AppState;

/// An error of this endpoint. An unknown table is a 400 with our message here: the SDKs
/// turn a 404 from this endpoint into "enable streaming ingestion on your cluster".
fn ingest_error(e: ExplorerError) -> KustoError {
    let not_found = matches!(e, ExplorerError::NotFound(_));
    let mut k = KustoError::from(e);
    if not_found {
        k.http = 400;
    }
    k
}

fn props(query: &HashMap<String, String>) -> Result<IngestProps, KustoError> {
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let format_name = get("streamFormat").ok_or_else(|| {
        KustoError::bad_request("streaming ingestion needs ?streamFormat=json|csv|avro|parquet|...")
    })?;
    let format = eddy_explorer::ingest::Format::parse(format_name).ok_or_else(|| {
        KustoError::bad_request(format!(
            "unknown streamFormat '{format_name}'; formats are json, multijson, csv, tsv, psv, scsv, sohsv, txt, raw, parquet, avro"
        ))
    })?;
    Ok(IngestProps {
        format,
        mapping: get("mappingName")
            .filter(|m| !m.is_empty())
            .map(str::to_string),
        inline_mapping: None,
        ignore_first_record: false,
    })
}

pub async fn streaming(
    State(state): State<AppState>,
    Path((db, table)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    body: Body,
) -> Result<Response, KustoError> {
    let started = Instant::now();
    let p = props(&query)?;
    let from_uri = query
        .get("sourceKind")
        .is_some_and(|k| k.eq_ignore_ascii_case("uri"));
    let limit = state.kusto.streaming_ingest_max_bytes;
    let (report, item) = if from_uri {
        let body = read_body(body, 64 * 1024, "the request body").await?;
        let req: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
            KustoError::bad_request(format!("expected {{\"sourceUri\": ...}}: {e}"))
        })?;
        let Some(uri) = req.get("sourceUri").and_then(|v| v.as_str()) else {
            return Err(KustoError::bad_request("expected {\"sourceUri\": ...}"));
        };
        let report = state
            .explorer
            .ingest_source(&db, &table, uri, &p)
            .await
            .map_err(ingest_error)?;
        (report, eddy_explorer::source_name(uri).to_string())
    } else {
        let data = read_body(body, limit, "the streaming ingestion body").await?;
        let report = state
            .explorer
            .ingest_bytes(&db, &table, &data, &p, "streaming")
            .await
            .map_err(ingest_error)?;
        (report, "streaming".to_string())
    };
    let result = report.to_result(&item, started);
    Ok(json_response(
        frames::v1_command(std::slice::from_ref(&result)).to_string(),
    ))
}
