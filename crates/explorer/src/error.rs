//! Errors of the explorer, each with a status class for the servers.

use eddy_common::status::StatusCode;

pub type Result<T, E = ExplorerError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum ExplorerError {
    /// A query or command that does not parse or plan; `describe` holds line and column.
    #[error("{describe}")]
    Kql {
        describe: String,
        source: eddy_kql::KqlError,
    },
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("Query result set has exceeded the internal {what} limit {limit} (E_QUERY_RESULT_SET_TOO_LARGE); use 'set notruncation;' or narrow the query")]
    ResultTooLarge { what: &'static str, limit: usize },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("delta table {table}: {source}")]
    Delta {
        table: String,
        source: deltalake::DeltaTableError,
    },
    #[error("query execution failed: {0}")]
    Execution(String),
    #[error("Request execution exceeded its timeout of {0:?} (servertimeout); raise servertimeout or narrow the request")]
    Timeout(std::time::Duration),
}

impl ExplorerError {
    pub fn kql(err: eddy_kql::KqlError, src: &str) -> Self {
        ExplorerError::Kql {
            describe: err.describe(src),
            source: err,
        }
    }

    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ExplorerError {
        let context = context.into();
        move |source| ExplorerError::Io { context, source }
    }

    pub fn delta(table: &str) -> impl FnOnce(deltalake::DeltaTableError) -> ExplorerError + '_ {
        move |source| ExplorerError::Delta {
            table: table.to_string(),
            source,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ExplorerError::Kql {
                source: eddy_kql::KqlError::DataFusion(_),
                ..
            } => StatusCode::Internal,
            ExplorerError::Kql { .. }
            | ExplorerError::InvalidArgument(_)
            | ExplorerError::ResultTooLarge { .. } => StatusCode::InvalidArgument,
            ExplorerError::NotFound(_) => StatusCode::NotFound,
            ExplorerError::AlreadyExists(_) => StatusCode::AlreadyExists,
            ExplorerError::Io { .. }
            | ExplorerError::Delta { .. }
            | ExplorerError::Execution(_) => StatusCode::Internal,
            ExplorerError::Timeout(_) => StatusCode::Timeout,
        }
    }

    /// For semantic errors the Kusto clients look for this prefix in the message.
    pub fn is_semantic(&self) -> bool {
        matches!(
            self,
            ExplorerError::Kql {
                source: eddy_kql::KqlError::Semantic { .. },
                ..
            }
        )
    }

    /// The caret drawing for query errors, when there is a position.
    pub fn caret(&self, src: &str) -> Option<String> {
        match self {
            ExplorerError::Kql { source, .. } => source.caret(src),
            _ => None,
        }
    }
}

impl From<datafusion::error::DataFusionError> for ExplorerError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        ExplorerError::Execution(e.strip_backtrace())
    }
}
