//! The explorer: Eddy's Kusto. Databases hold tables; each table is a Delta Lake table
//! (sealed rows) plus hot rows in memory made durable by a write-ahead log. Text goes
//! in (KQL or a management command) and result tables come out.
//!
//! ```text
//!  .ingest / data connections ──▶ ingest::parse (format + mapping) ──▶ Table::append
//!        failures ──▶ journal (.show ingestion failures)        WAL + hot rows
//!                                                                   │ batching policy
//!  KQL ──▶ eddy_kql planner ──▶ DataFusion ◀── Delta scan ∪ hot ◀───┘ seal → Delta commit
//! ```
//! Invariants: an acknowledged ingest is in the WAL (fsynced) before it returns; a seal
//! commits rows and their WAL position in one Delta commit, so recovery neither loses
//! nor doubles rows; the catalog file is replaced atomically.

pub mod catalog;
mod commands;
pub mod connections;
pub use commands::{guess_format, source_name, IngestProps, IngestReport};
pub mod error;
mod explorer;
mod host;
pub mod ingest;
mod journal;
pub use journal::{EventOrigin, Failure};
pub mod policy;
mod query;
pub mod request;
pub mod result;
pub mod table;

pub use catalog::DEFAULT_DATABASE;
pub use error::{ExplorerError, Result};
pub use explorer::Explorer;
pub use request::RequestProperties;
pub use result::ResultTable;
