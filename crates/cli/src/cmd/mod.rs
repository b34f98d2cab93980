//! One module per CLI command.

pub mod consume;
pub mod hub;
pub mod send;
pub mod serve;
