//! Hub errors as the AMQP error conditions the Event Hubs SDKs understand.

use eddy_hub::HubError;
use fe2o3_amqp_types::definitions::{AmqpError, Error, ErrorCondition, LinkError};
use fe2o3_amqp_types::primitives::Symbol;

pub const SERVER_BUSY: &str = "com.microsoft:server-busy";
pub const ARGUMENT_OUT_OF_RANGE: &str = "com.microsoft:argument-out-of-range";
pub const ARGUMENT_ERROR: &str = "com.microsoft:argument-error";

pub fn custom(condition: &str, description: impl Into<String>) -> Error {
    Error::new(
        ErrorCondition::Custom(Symbol::from(condition)),
        Some(description.into()),
        None,
    )
}

pub fn amqp(condition: AmqpError, description: impl Into<String>) -> Error {
    Error::new(condition, Some(description.into()), None)
}

pub fn link(condition: LinkError, description: impl Into<String>) -> Error {
    Error::new(condition, Some(description.into()), None)
}

/// The condition a hub error is reported with.
pub fn from_hub(e: &HubError) -> Error {
    let text = e.to_string();
    match e {
        HubError::HubNotFound { .. }
        | HubError::PartitionNotFound { .. }
        | HubError::GroupNotFound { .. } => amqp(AmqpError::NotFound, text),
        HubError::BatchTooLarge { .. } => link(LinkError::MessageSizeExceeded, text),
        HubError::ServerBusy { .. } => custom(SERVER_BUSY, text),
        HubError::InvalidArgument(_) => custom(ARGUMENT_ERROR, text),
        _ => amqp(AmqpError::InternalError, text),
    }
}
