//! HTTP error responses: one mapping from [`StatusCode`] to HTTP status and body.

use axum::http::StatusCode as Http;
use axum::response::{IntoResponse, Response};
use axum::Json;
use eddy_common::StatusCode;
use eddy_hub::HubError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::InvalidArgument,
            message: message.into(),
        }
    }
}

impl From<HubError> for ApiError {
    fn from(e: HubError) -> Self {
        ApiError {
            status: e.status_code(),
            message: e.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let http = Http::from_u16(self.status.http_status()).unwrap_or(Http::INTERNAL_SERVER_ERROR);
        if http.is_server_error() && self.status != StatusCode::ServerBusy {
            tracing::error!(message = %self.message, "request failed");
        }
        let body =
            serde_json::json!({"error": {"code": self.status.name(), "message": self.message}});
        let mut resp = (http, Json(body)).into_response();
        if self.status.is_retryable() {
            resp.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("1"));
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
