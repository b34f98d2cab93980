//! End-to-end tests through the real `eddy` binary: a server in a temp dir on a
//! free port, driven by the CLI, plain HTTP and the typed client.

mod connections;
mod consumer_groups;
mod crash;
mod e2e;
mod eventhubs;
mod explorer;
mod kafka;
mod kusto_sdk;
mod support;
