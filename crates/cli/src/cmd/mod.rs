//! One module per CLI command.

pub mod connection;
pub mod consume;
pub mod hub;
pub mod query;
pub mod send;
pub mod serve;
