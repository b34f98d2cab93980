//! Errors of the hub, each carrying what a user needs to fix the request.

use eddy_common::StatusCode;

pub type Result<T, E = HubError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("event hub '{name}' does not exist; existing hubs: [{}]", existing.join(", "))]
    HubNotFound { name: String, existing: Vec<String> },
    #[error("event hub '{0}' already exists")]
    HubExists(String),
    #[error("partition '{partition}' does not exist in event hub '{hub}'; partitions are 0..{}", count.saturating_sub(1))]
    PartitionNotFound {
        hub: String,
        partition: String,
        count: u32,
    },
    #[error("consumer group '{group}' does not exist in event hub '{hub}'; groups: [{}]", existing.join(", "))]
    GroupNotFound {
        hub: String,
        group: String,
        existing: Vec<String>,
    },
    #[error("consumer group '{group}' already exists in event hub '{hub}'")]
    GroupExists { hub: String, group: String },
    #[error("{0}")]
    InvalidArgument(String),
    #[error(
        "the batch is {size} bytes, over the limit of {max} bytes; nothing from it was stored"
    )]
    BatchTooLarge { size: u64, max: u64 },
    #[error("event hub '{hub}' is over its ingress quota ({detail}); retry after a short delay")]
    ServerBusy { hub: String, detail: String },
    #[error(
        "ownership of partition {partition} changed (etag mismatch); list ownership and retry"
    )]
    OwnershipConflict { partition: u32 },
    #[error("log of {path} is corrupt at byte {position}: {detail}")]
    Corrupt {
        path: String,
        position: u64,
        detail: String,
    },
    #[error("the hub is shutting down")]
    ShuttingDown,
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl HubError {
    pub fn status_code(&self) -> StatusCode {
        match self {
            HubError::HubNotFound { .. }
            | HubError::PartitionNotFound { .. }
            | HubError::GroupNotFound { .. } => StatusCode::NotFound,
            HubError::HubExists(_) | HubError::GroupExists { .. } => StatusCode::AlreadyExists,
            HubError::InvalidArgument(_) => StatusCode::InvalidArgument,
            HubError::BatchTooLarge { .. } => StatusCode::PayloadTooLarge,
            HubError::ServerBusy { .. } => StatusCode::ServerBusy,
            HubError::OwnershipConflict { .. } => StatusCode::PreconditionFailed,
            HubError::ShuttingDown => StatusCode::Unavailable,
            HubError::Corrupt { .. } | HubError::Io { .. } => StatusCode::Internal,
        }
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> HubError {
        let context = context.into();
        move |source| HubError::Io { context, source }
    }
}
