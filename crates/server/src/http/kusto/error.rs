//! Kusto's error response: an HTTP status and `{"error": {"code", "message", "@type",
//! "@message", "@context", "@permanent"}}`. The SDKs show `@message` to the user and
//! retry only what is not `@permanent`.

use axum::http::StatusCode as Http;
use axum::response::{IntoResponse, Response};
use axum::Json;
use eddy_common::status::StatusCode;
use eddy_explorer::ExplorerError;
use serde_json::{json, Value};

#[derive(Debug)]
pub struct KustoError {
    pub http: u16,
    pub code: String,
    pub kind: &'static str,
    pub message: String,
    pub permanent: bool,
}

impl KustoError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        KustoError {
            http: 400,
            code: "BadRequest".into(),
            kind: "Kusto.Data.Exceptions.KustoBadRequestException",
            message: message.into(),
            permanent: true,
        }
    }

    /// Too many requests at once: HTTP 429, which the SDKs retry with backoff.
    pub fn throttled(limit: u32) -> Self {
        KustoError {
            http: 429,
            code: "TooManyRequests".into(),
            kind: "Kusto.DataNode.Exceptions.ControlCommandThrottledException",
            message: format!(
                "The request was throttled: {limit} requests are already running (kusto.max_concurrent_requests); retry later"
            ),
            permanent: false,
        }
    }

    pub fn too_large(what: &str, limit: u64) -> Self {
        KustoError {
            http: 413,
            code: "PayloadTooLarge".into(),
            kind: "Kusto.Data.Exceptions.KustoRequestPayloadTooLargeException",
            message: format!("{what} is larger than the limit of {limit} bytes"),
            permanent: true,
        }
    }

    /// The `{"error": {...}}` object, also used inside v2 frames for partial failures.
    pub fn body(&self) -> Value {
        json!({"error": {
            "code": self.code,
            "message": self.message,
            "@type": self.kind,
            "@message": self.message,
            "@context": {"service": "Eddy"},
            "@permanent": self.permanent,
        }})
    }
}

impl From<ExplorerError> for KustoError {
    fn from(err: ExplorerError) -> Self {
        let status = err.status();
        let mut message = err.to_string();
        if matches!(err, ExplorerError::NotFound(_)) && !message.starts_with("Semantic error") {
            message = format!("Semantic error: {message}");
        }
        let kind = match &err {
            ExplorerError::Kql { .. } if err.is_semantic() => {
                "Kusto.Data.Exceptions.SemanticException"
            }
            ExplorerError::Kql { .. } => "Kusto.Data.Exceptions.SyntaxException",
            ExplorerError::NotFound(_) => "Kusto.Data.Exceptions.EntityNotFoundException",
            ExplorerError::Timeout(_) => "Kusto.Data.Exceptions.KustoRequestTimeoutException",
            _ if status == StatusCode::Internal => "Kusto.Data.Exceptions.KustoServiceException",
            _ => "Kusto.Data.Exceptions.KustoBadRequestException",
        };
        KustoError {
            http: status.http_status(),
            code: status.name().to_string(),
            kind,
            message,
            permanent: !status.is_retryable(),
        }
    }
}

impl IntoResponse for KustoError {
    fn into_response(self) -> Response {
        let http = Http::from_u16(self.http).unwrap_or(Http::INTERNAL_SERVER_ERROR);
        (http, Json(self.body())).into_response()
    }
}
