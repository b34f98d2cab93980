//! The Kafka protocol endpoint: one broker in front of the hubs.
//!
//! ```text
//!  client ──TCP──▶ conn: read frame ─▶ wire::frame::parse (guard, codec)
//!                        │                 └─ malformed / unsupported: log, close
//!                        ▼
//!                  handler (one request at a time, answers in order)
//!                   ├─ produce: records ─▶ events ─▶ Hub::send (durable) ─ idempotence
//!                   ├─ fetch: PartitionLog::read ─▶ record batch (long poll)
//!                   ├─ groups: Coordinator (join / sync / heartbeat / leave, in memory)
//!                   └─ offsets: hub consumer-group checkpoints (durable)
//! ```
//!
//! A topic is a hub, a Kafka offset is a sequence number, and a Kafka group's committed
//! offsets are the checkpoints of the hub consumer group of the same name.

pub mod coordinator;
pub mod errors;
mod handlers;
pub mod mapping;
pub mod producers;
mod server;
pub mod wire;

pub use server::{Broker, KafkaServer};
