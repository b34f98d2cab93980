//! Integration tests of the hub crate: the log on real files, hubs and groups.

mod groups;
mod log;
mod namespace;
