//! Integration tests of the explorer: KQL logic files, ingestion formats, restarts.

mod ingest;
mod restart;
mod slt;
mod support;
