//! The Kusto REST endpoints, as the Kusto SDKs and tools call them:
//! `POST /v1/rest/mgmt` (commands, v1), `/v1/rest/query` (v1), `/v2/rest/query` (v2
//! frames) and `/v1/rest/ingest/{db}/{table}` (streaming ingestion). Bodies are
//! `{"db", "csl", "properties"}` where `properties` is an object or a JSON string.
//!
//! Every response carries `x-ms-activity-id` and echoes `x-ms-client-request-id`;
//! `Authorization` is accepted and ignored (auth is off). At most
//! `kusto.max_concurrent_requests` run at once; more get HTTP 429.

mod batch;
mod error;
mod frames;
mod ingest;

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use eddy_explorer::{RequestProperties, DEFAULT_DATABASE};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Semaphore;
use uuid::Uuid;

pub use error::KustoError;
use frames::RequestIds;

use super::AppState;

/// What the Kusto endpoints are allowed: concurrency and body sizes.
#[derive(Clone)]
pub struct KustoLimits {
    pub permits: Arc<Semaphore>,
    pub max_concurrent: u32,
    pub max_request_bytes: u64,
    pub streaming_ingest_max_bytes: u64,
}

impl KustoLimits {
    pub fn new(config: &eddy_common::config::KustoConfig) -> Self {
        KustoLimits {
            permits: Arc::new(Semaphore::new(config.max_concurrent_requests as usize)),
            max_concurrent: config.max_concurrent_requests,
            max_request_bytes: config.max_request_bytes,
            streaming_ingest_max_bytes: config.streaming_ingest_max_bytes,
        }
    }
}

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/rest/mgmt", post(v1_mgmt))
        .route("/v1/rest/query", post(v1_query))
        .route("/v2/rest/query", post(v2_query))
        .route("/v1/rest/ingest/{db}/{table}", post(ingest::streaming))
        .route(
            "/v1/rest/ingest-batch/{db}/{table}",
            post(batch::ingest_batch),
        )
        .layer(axum::middleware::from_fn_with_state(state, admit))
}

/// Admission and the request-id headers around every Kusto request.
async fn admit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let client_request_id = req.headers().get("x-ms-client-request-id").cloned();
    let activity_id = Uuid::new_v4();
    let mut response = match state.kusto.permits.clone().try_acquire_owned() {
        Ok(_permit) => {
            let mut req = req;
            req.extensions_mut().insert(activity_id);
            next.run(req).await
        }
        Err(_) => KustoError::throttled(state.kusto.max_concurrent).into_response(),
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&activity_id.to_string()) {
        headers.insert("x-ms-activity-id", v);
    }
    if let Some(v) = client_request_id {
        headers.insert("x-ms-client-request-id", v);
    }
    response
}

#[derive(Debug, Deserialize)]
struct KustoRequest {
    #[serde(default)]
    db: Option<String>,
    csl: String,
    #[serde(default)]
    properties: Option<Value>,
}

impl KustoRequest {
    fn db(&self) -> &str {
        self.db
            .as_deref()
            .filter(|d| !d.is_empty())
            .unwrap_or(DEFAULT_DATABASE)
    }
}

/// Reads a body up to `limit` bytes; past it the answer is HTTP 413.
pub(super) async fn read_body(body: Body, limit: u64, what: &str) -> Result<Bytes, KustoError> {
    let mut out = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| KustoError::bad_request(format!("cannot read the body: {e}")))?;
        if (out.len() + chunk.len()) as u64 > limit {
            return Err(KustoError::too_large(what, limit));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

/// The parsed body and request properties; a malformed body gets Kusto's error JSON.
async fn parse(
    state: &AppState,
    headers: &HeaderMap,
    activity_id: Uuid,
    body: Body,
) -> Result<(KustoRequest, RequestProperties, RequestIds), KustoError> {
    let bytes = read_body(body, state.kusto.max_request_bytes, "the request body").await?;
    let req: KustoRequest = serde_json::from_slice(&bytes).map_err(|e| {
        KustoError::bad_request(format!(
            "the request body must be JSON {{\"db\": ..., \"csl\": ..., \"properties\": ...}}: {e}"
        ))
    })?;
    let props = RequestProperties::from_json(req.properties.as_ref())?;
    let ids = RequestIds {
        client_request_id: headers
            .get("x-ms-client-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
        activity_id,
    };
    Ok((req, props, ids))
}

fn json_response(text: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        text,
    )
        .into_response()
}

async fn v1_mgmt(
    State(state): State<AppState>,
    Extension(activity_id): Extension<Uuid>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, KustoError> {
    let (req, props, _) = parse(&state, &headers, activity_id, body).await?;
    let tables = state
        .explorer
        .execute_request(req.db(), &req.csl, &props)
        .await?;
    Ok(json_response(frames::v1_command(&tables).to_string()))
}

async fn v1_query(
    State(state): State<AppState>,
    Extension(activity_id): Extension<Uuid>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, KustoError> {
    let (req, props, ids) = parse(&state, &headers, activity_id, body).await?;
    let tables = state
        .explorer
        .execute_request(req.db(), &req.csl, &props)
        .await?;
    if req.csl.trim_start().starts_with('.') {
        return Ok(json_response(frames::v1_command(&tables).to_string()));
    }
    Ok(json_response(frames::v1_query(&tables, &ids).to_string()))
}

async fn v2_query(
    State(state): State<AppState>,
    Extension(activity_id): Extension<Uuid>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, KustoError> {
    let started = Instant::now();
    let (req, props, ids) = parse(&state, &headers, activity_id, body).await?;
    let tables = state
        .explorer
        .execute_request(req.db(), &req.csl, &props)
        .await?;
    Ok(json_response(frames::v2(
        &tables,
        &ids,
        started.elapsed().as_secs_f64(),
        props.defer_partial_failures,
    )))
}
