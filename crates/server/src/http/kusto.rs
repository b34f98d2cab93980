//! The Kusto REST endpoints: `POST /v1/rest/mgmt`, `/v1/rest/query` (v1 JSON) and
//! `/v2/rest/query` (v2 frames). Body: `{"db", "csl", "properties"}`; `properties` may
//! be an object or a JSON string. Errors use Kusto's error JSON, whose `@message` the
//! SDKs show to users.

use axum::extract::State;
use axum::http::StatusCode as Http;
use axum::response::{IntoResponse, Response};
use axum::Json;
use eddy_explorer::{ExplorerError, ResultTable, DEFAULT_DATABASE};
use serde::Deserialize;
use serde_json::{json, Value};

use super::AppState;

#[derive(Debug, Deserialize)]
pub struct KustoRequest {
    #[serde(default)]
    pub db: Option<String>,
    pub csl: String,
    #[serde(default)]
    pub properties: Option<Value>,
}

/// A Kusto error response.
pub struct KustoError {
    err: Box<ExplorerError>,
}

impl IntoResponse for KustoError {
    fn into_response(self) -> Response {
        let status = self.err.status();
        let http = Http::from_u16(status.http_status()).unwrap_or(Http::INTERNAL_SERVER_ERROR);
        let mut message = self.err.to_string();
        if matches!(*self.err, ExplorerError::NotFound(_)) && !message.starts_with("Semantic error")
        {
            message = format!("Semantic error: {message}");
        }
        let kind = match self.err.as_ref() {
            ExplorerError::Kql { .. } if self.err.is_semantic() => {
                "Kusto.Data.Exceptions.SemanticException"
            }
            ExplorerError::Kql { .. } => "Kusto.Data.Exceptions.SyntaxException",
            _ => "Kusto.Data.Exceptions.KustoBadRequestException",
        };
        let body = json!({"error": {
            "code": status.name(),
            "message": message,
            "@type": kind,
            "@message": message,
            "@context": {"service": "Eddy"},
            "@permanent": !status.is_retryable(),
        }});
        (http, Json(body)).into_response()
    }
}

async fn run(state: &AppState, req: &KustoRequest) -> Result<Vec<ResultTable>, KustoError> {
    let db = req
        .db
        .as_deref()
        .filter(|d| !d.is_empty())
        .unwrap_or(DEFAULT_DATABASE);
    state
        .explorer
        .execute(db, &req.csl)
        .await
        .map_err(|err| KustoError { err: Box::new(err) })
}

fn v1_table(t: &ResultTable) -> Value {
    json!({
        "TableName": t.name,
        "Columns": t.columns.iter().map(|c| json!({
            "ColumnName": c.name,
            "DataType": c.ty.dotnet_name().trim_start_matches("System.").replace("Data.SqlTypes.Sql", ""),
            "ColumnType": c.ty.name(),
        })).collect::<Vec<_>>(),
        "Rows": t.rows,
    })
}

/// Reads the request body; a malformed one gets Kusto's error JSON, not a plain-text 4xx.
fn parse_body(body: &[u8]) -> Result<KustoRequest, KustoError> {
    serde_json::from_slice(body).map_err(|e| KustoError {
        err: Box::new(ExplorerError::InvalidArgument(format!(
            "the request body must be JSON {{\"db\": ..., \"csl\": ..., \"properties\": ...}}: {e}"
        ))),
    })
}

pub async fn v1_mgmt(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, KustoError> {
    let req = parse_body(&body)?;
    let tables = run(&state, &req).await?;
    Ok(Json(
        json!({"Tables": tables.iter().map(v1_table).collect::<Vec<_>>()}),
    ))
}

pub async fn v1_query(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, KustoError> {
    v1_mgmt(State(state), body).await
}

pub async fn v2_query(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, KustoError> {
    let req = parse_body(&body)?;
    let tables = run(&state, &req).await?;
    let mut frames =
        vec![json!({"FrameType": "DataSetHeader", "IsProgressive": false, "Version": "v2.0"})];
    frames.push(json!({
        "FrameType": "DataTable", "TableId": 0, "TableKind": "QueryProperties", "TableName": "@ExtendedProperties",
        "Columns": [{"ColumnName": "TableId", "ColumnType": "int"}, {"ColumnName": "Key", "ColumnType": "string"}, {"ColumnName": "Value", "ColumnType": "dynamic"}],
        "Rows": [],
    }));
    for (i, t) in tables.iter().enumerate() {
        frames.push(json!({
            "FrameType": "DataTable",
            "TableId": i + 1,
            "TableKind": "PrimaryResult",
            "TableName": t.name,
            "Columns": t.columns.iter().map(|c| json!({"ColumnName": c.name, "ColumnType": c.ty.name()})).collect::<Vec<_>>(),
            "Rows": t.rows,
        }));
    }
    frames.push(json!({
        "FrameType": "DataTable", "TableId": tables.len() + 1, "TableKind": "QueryCompletionInformation", "TableName": "QueryCompletionInformation",
        "Columns": [{"ColumnName": "Timestamp", "ColumnType": "datetime"}, {"ColumnName": "EventTypeName", "ColumnType": "string"}],
        "Rows": [],
    }));
    frames.push(json!({"FrameType": "DataSetCompletion", "HasErrors": false, "Cancelled": false}));
    Ok(Json(Value::Array(frames)))
}
