//! Kafka error codes Eddy answers with, and how hub errors map onto them.

use eddy_hub::HubError;

pub const NONE: i16 = 0;
pub const UNKNOWN_SERVER_ERROR: i16 = -1;
pub const OFFSET_OUT_OF_RANGE: i16 = 1;
pub const CORRUPT_MESSAGE: i16 = 2;
pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
pub const MESSAGE_TOO_LARGE: i16 = 10;
pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
pub const INVALID_TOPIC_EXCEPTION: i16 = 17;
pub const ILLEGAL_GENERATION: i16 = 22;
pub const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
pub const INVALID_GROUP_ID: i16 = 24;
pub const UNKNOWN_MEMBER_ID: i16 = 25;
pub const INVALID_SESSION_TIMEOUT: i16 = 26;
pub const REBALANCE_IN_PROGRESS: i16 = 27;
pub const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
pub const ILLEGAL_SASL_STATE: i16 = 34;
pub const UNSUPPORTED_VERSION: i16 = 35;
pub const TOPIC_ALREADY_EXISTS: i16 = 36;
pub const INVALID_PARTITIONS: i16 = 37;
pub const INVALID_REPLICATION_FACTOR: i16 = 38;
pub const INVALID_REQUEST: i16 = 42;
pub const UNSUPPORTED_FOR_MESSAGE_FORMAT: i16 = 43;
pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
pub const INVALID_PRODUCER_EPOCH: i16 = 47;
pub const KAFKA_STORAGE_ERROR: i16 = 56;
pub const SASL_AUTHENTICATION_FAILED: i16 = 58;
pub const MEMBER_ID_REQUIRED: i16 = 79;
pub const THROTTLING_QUOTA_EXCEEDED: i16 = 89;

/// The Kafka error code a hub error becomes.
pub fn from_hub(e: &HubError) -> i16 {
    match e {
        HubError::HubNotFound { .. } | HubError::PartitionNotFound { .. } => {
            UNKNOWN_TOPIC_OR_PARTITION
        }
        HubError::HubExists(_) => TOPIC_ALREADY_EXISTS,
        HubError::BatchTooLarge { .. } => MESSAGE_TOO_LARGE,
        HubError::ServerBusy { .. } => THROTTLING_QUOTA_EXCEEDED,
        HubError::ShuttingDown => NOT_LEADER_OR_FOLLOWER,
        HubError::InvalidArgument(_) => INVALID_REQUEST,
        HubError::GroupNotFound { .. } | HubError::GroupExists { .. } => INVALID_GROUP_ID,
        HubError::Corrupt { .. } | HubError::Io { .. } => KAFKA_STORAGE_ERROR,
        HubError::OwnershipConflict { .. } => UNKNOWN_SERVER_ERROR,
    }
}
