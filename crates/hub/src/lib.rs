//! The hub: durable, partitioned event logs with consumer groups, the part of Eddy
//! that plays Event Hubs.
//!
//! ```text
//!  Namespace ─┬─ Hub "telemetry" ─┬─ PartitionLog 0: segments + sparse index + writer
//!             │                   ├─ PartitionLog 1 ...
//!             │                   └─ GroupStore: checkpoints + ownership per group
//!             └─ Hub ...
//! ```
//!
//! Invariants: a send is acknowledged only once its batch is durable (unless the
//! user chose lazy fsync); sequence numbers start at 0 per partition and have no
//! gaps; a partition key maps to the partition the Event Hubs service would pick.

pub mod balancer;
pub mod codec;
pub mod error;
pub mod event;
pub mod fsutil;
pub mod groups;
pub mod hash;
pub mod hub;
pub mod log;
pub mod namespace;
pub mod position;
mod quota;

pub use error::{HubError, Result};
pub use event::{EventData, Properties, PropertyValue, ReceivedEvent};
pub use groups::{Checkpoint, Ownership, OwnershipClaim};
pub use hub::{Hub, HubMeta, PartitionProperties, SendTarget};
pub use log::{AppendResult, LogOptions, PartitionLog};
pub use namespace::Namespace;
pub use position::Position;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Names of hubs and consumer groups: 1–256 (hubs) or 1–50 (groups) letters, digits,
/// `.`, `-`, `_`, starting and ending with a letter or digit. `$Default` is allowed
/// as a group name.
pub fn validate_name(kind: &str, name: &str, max: usize) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let valid = !name.is_empty()
        && name.len() <= max
        && name.chars().all(ok_char)
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if valid {
        Ok(())
    } else {
        Err(HubError::InvalidArgument(format!(
            "invalid {kind} name '{name}': use 1-{max} letters, digits, '.', '-' or '_', starting and ending with a letter or digit"
        )))
    }
}
