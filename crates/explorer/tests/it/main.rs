//! Integration tests of the explorer: KQL logic files, ingestion formats, restarts.

mod cache;
mod events;
mod ingest;
mod restart;
mod slt;
mod support;
