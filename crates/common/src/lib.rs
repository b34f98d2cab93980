//! Shared vocabulary of Eddy: the status-code table that every protocol maps from,
//! the layered configuration (defaults < TOML file < `EDDY_*` env < flags) and the
//! tiny Prometheus metrics registry that `/metrics` renders.

pub mod config;
pub mod fsutil;
pub mod metrics;
pub mod status;

pub use status::StatusCode;
