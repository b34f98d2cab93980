//! The Event Hubs AMQP 1.0 endpoint: the Azure Event Hubs SDKs send and receive
//! against Eddy's hubs unchanged.
//!
//! fe2o3-amqp carries the protocol (framing, SASL, sessions, links, flow control);
//! this crate adds the Event Hubs semantics on top: addresses ([`address`]), the
//! `$cbs` and `$management` nodes ([`nodes`]), batches and annotations
//! ([`convert`]), starting positions ([`selector`]), epoch receivers
//! ([`receivers`]), shared access signatures ([`sas`]) and the write shim the
//! Python SDK needs ([`wire_fix`]).

pub mod address;
pub mod auth;
pub mod connection;
pub mod convert;
pub mod egress;
pub mod errors;
pub mod ingress;
pub mod nodes;
pub mod receivers;
pub mod sas;
pub mod selector;
pub mod server;
pub mod wire_fix;

pub use server::AmqpServer;

/// Resolves once the shutdown flag is true (or its sender is gone).
pub(crate) async fn stopped(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}
