//! The few Azure Storage calls Eddy's queued ingestion needs, over plain HTTP: parse a
//! storage connection string, sign an account SAS with the account key, and use queues
//! (create, put, get, delete) and blob containers (create). Works against Azure and
//! against Azurite, the local stand-in.
//!
//! Every request is authorized by the account SAS appended to its URL, so no request
//! needs signing of its own.

mod account;
mod queue;
mod sas;

pub use account::StorageAccount;
pub use queue::{Queue, QueueMessage};

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("invalid storage connection string: {0}")]
    ConnectionString(String),
    #[error("storage request {what} failed: {source}")]
    Http {
        what: String,
        source: reqwest::Error,
    },
    #[error("storage request {what} answered HTTP {status}: {body}")]
    Status {
        what: String,
        status: u16,
        body: String,
    },
    #[error("storage response to {what} is not valid XML: {message}")]
    Xml { what: String, message: String },
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Sends a request and checks its status; `ok` lists statuses that count as success
/// besides 2xx (409 "already exists" on create, say).
pub(crate) async fn send(
    req: reqwest::RequestBuilder,
    what: &str,
    ok: &[u16],
) -> Result<reqwest::Response> {
    let resp = req.send().await.map_err(|source| StorageError::Http {
        what: what.to_string(),
        source: source.without_url(),
    })?;
    let status = resp.status().as_u16();
    if resp.status().is_success() || ok.contains(&status) {
        return Ok(resp);
    }
    let body = resp.text().await.unwrap_or_default();
    Err(StorageError::Status {
        what: what.to_string(),
        status,
        body: body.chars().take(500).collect(),
    })
}
