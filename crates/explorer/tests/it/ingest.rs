//! Ingestion formats and mappings.
