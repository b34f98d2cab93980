//! Data connections: an event hub feeding explorer tables, like Azure Data Explorer's
//! Event Hub data connection. Events route by their own properties (`Table`, `Format`,
//! `IngestionMappingReference`, ...) over the connection's defaults, wait in batches
//! that seal per the table's batching policy (or quickly with streaming ingestion),
//! and land exactly once: the hub positions a batch covers are committed with its rows.
//! Events that cannot be ingested go to `.show ingestion failures` with their origin.

// Errors are the explorer's, so management commands answer with them unchanged; they
// travel on cold paths (definitions, startup), where their size does not matter.
#![allow(clippy::result_large_err)]

pub mod batcher;
pub mod def;
mod manager;
pub mod route;
pub mod stats;
mod store;
pub mod worker;

pub use def::ConnectionDef;
pub use manager::Manager;
pub use worker::Settings;
