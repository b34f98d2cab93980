//! One table of outcome classes. Library errors report a [`StatusCode`]; each server
//! maps it to its protocol's own form in exactly one place (HTTP status here, Kusto
//! error JSON, Kafka error codes and AMQP conditions in their servers).

/// The class of an outcome, independent of protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusCode {
    Success,
    InvalidArgument,
    NotFound,
    AlreadyExists,
    /// A compare-and-swap precondition (etag) did not hold.
    PreconditionFailed,
    PayloadTooLarge,
    /// A quota was exceeded; the caller should back off and retry.
    ServerBusy,
    /// The server is shutting down or not ready.
    Unavailable,
    /// The request ran out of its time budget (`servertimeout`).
    Timeout,
    Internal,
}

impl StatusCode {
    /// The HTTP status code for this class.
    pub fn http_status(self) -> u16 {
        match self {
            StatusCode::Success => 200,
            StatusCode::InvalidArgument => 400,
            StatusCode::NotFound => 404,
            StatusCode::AlreadyExists => 409,
            StatusCode::PreconditionFailed => 412,
            StatusCode::PayloadTooLarge => 413,
            StatusCode::ServerBusy => 503,
            StatusCode::Unavailable => 503,
            StatusCode::Timeout => 504,
            StatusCode::Internal => 500,
        }
    }

    /// A stable machine-readable name, used as the `code` of JSON error bodies.
    pub fn name(self) -> &'static str {
        match self {
            StatusCode::Success => "Success",
            StatusCode::InvalidArgument => "BadRequest",
            StatusCode::NotFound => "NotFound",
            StatusCode::AlreadyExists => "Conflict",
            StatusCode::PreconditionFailed => "PreconditionFailed",
            StatusCode::PayloadTooLarge => "MessageSizeExceeded",
            StatusCode::ServerBusy => "ServerBusy",
            StatusCode::Unavailable => "ServiceUnavailable",
            StatusCode::Timeout => "RequestTimeout",
            StatusCode::Internal => "InternalServerError",
        }
    }

    /// Whether a client may retry the same request later and expect success.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            StatusCode::ServerBusy | StatusCode::Unavailable | StatusCode::Timeout
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_mapping_is_distinct_for_client_errors() {
        assert_eq!(StatusCode::NotFound.http_status(), 404);
        assert_eq!(StatusCode::PayloadTooLarge.http_status(), 413);
        assert_eq!(StatusCode::ServerBusy.http_status(), 503);
        assert!(StatusCode::ServerBusy.is_retryable());
        assert!(!StatusCode::InvalidArgument.is_retryable());
    }
}
