//! ListOffsets, OffsetCommit and OffsetFetch.
//!
//! Committed offsets are hub checkpoints: Kafka group G committing offset N on topic T
//! partition P stores checkpoint "last processed = N - 1" for consumer group G of hub
//! T (created on the first commit), the same record Event Hubs clients resume from.
//! Committing 0 clears the checkpoint. Commit metadata strings are not kept.

use eddy_hub::{Checkpoint, Hub, HubError, Position};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use kafka_protocol::messages::{
    ListOffsetsRequest, ListOffsetsResponse, OffsetCommitRequest, OffsetCommitResponse,
    OffsetFetchRequest, OffsetFetchResponse, TopicName,
};

use super::s;
use crate::errors;
use crate::server::Broker;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;

pub fn list_offsets(broker: &Broker, r: ListOffsetsRequest) -> ListOffsetsResponse {
    let topics = r
        .topics
        .into_iter()
        .map(|t| {
            let hub = broker.ns.get(t.name.0.as_str());
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let out = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index);
                    let found = hub
                        .as_ref()
                        .map_err(errors::from_hub)
                        .and_then(|hub| offset_for_time(hub, p.partition_index, p.timestamp));
                    match found {
                        Ok((offset, timestamp)) => {
                            out.with_offset(offset).with_timestamp(timestamp)
                        }
                        Err(code) => out.with_error_code(code).with_offset(-1).with_timestamp(-1),
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}

/// (offset, timestamp) for a ListOffsets query: latest, earliest, or the first event
/// enqueued at or after a time (-1, -1 when there is none).
fn offset_for_time(hub: &Hub, partition: i32, timestamp: i64) -> Result<(i64, i64), i16> {
    let log = u32::try_from(partition)
        .ok()
        .and_then(|p| hub.partition_by_index(p).ok())
        .ok_or(errors::UNKNOWN_TOPIC_OR_PARTITION)?;
    let info = log.info();
    match timestamp {
        LATEST => Ok((info.next_sequence_number as i64, -1)),
        EARLIEST => Ok((info.begin_sequence_number as i64, -1)),
        ms if ms >= 0 => {
            let seq = log
                .resolve(Position::EnqueuedTime {
                    ms,
                    inclusive: true,
                })
                .map_err(|e| errors::from_hub(&e))?;
            if seq >= info.next_sequence_number {
                return Ok((-1, -1));
            }
            let time = log
                .read(seq, 1, 1)
                .ok()
                .and_then(|e| e.first().map(|e| e.enqueued_time_ms))
                .unwrap_or(-1);
            Ok((seq as i64, time))
        }
        _ => Err(errors::INVALID_REQUEST),
    }
}

pub fn commit(broker: &Broker, r: OffsetCommitRequest) -> OffsetCommitResponse {
    let group = r.group_id.0.to_string();
    let allowed = broker.coordinator.check_commit(
        &group,
        r.generation_id_or_member_epoch,
        r.member_id.as_str(),
    );
    let now = eddy_hub::now_ms();
    let topics = r
        .topics
        .into_iter()
        .map(|t| {
            let indexes: Vec<i32> = t.partitions.iter().map(|p| p.partition_index).collect();
            let code = if allowed != errors::NONE {
                allowed
            } else {
                match broker.ns.get(t.name.0.as_str()) {
                    Err(e) => errors::from_hub(&e),
                    Ok(hub) => {
                        let updates = t
                            .partitions
                            .iter()
                            .map(|p| {
                                let cp = checkpoint_for(
                                    &hub,
                                    p.partition_index,
                                    p.committed_offset,
                                    now,
                                );
                                (p.partition_index.max(0) as u32, cp)
                            })
                            .collect();
                        match hub.set_checkpoints(&group, updates, true) {
                            Ok(()) => errors::NONE,
                            Err(HubError::InvalidArgument(m)) if m.contains("consumer group") => {
                                tracing::warn!(%group, error = %m, "kafka offset commit refused");
                                errors::INVALID_GROUP_ID
                            }
                            Err(e) => errors::from_hub(&e),
                        }
                    }
                }
            };
            OffsetCommitResponseTopic::default()
                .with_name(t.name)
                .with_partitions(
                    indexes
                        .into_iter()
                        .map(|i| {
                            OffsetCommitResponsePartition::default()
                                .with_partition_index(i)
                                .with_error_code(code)
                        })
                        .collect(),
                )
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

/// The checkpoint a committed offset means (`None`: nothing processed yet).
fn checkpoint_for(hub: &Hub, partition: i32, offset: i64, now: i64) -> Option<Checkpoint> {
    if offset <= 0 || partition < 0 {
        return None;
    }
    let seq = offset as u64 - 1;
    let byte_offset = hub
        .partition_by_index(partition as u32)
        .ok()
        .and_then(|log| log.read(seq, 1, 1).ok())
        .and_then(|e| {
            e.first()
                .filter(|e| e.sequence_number == seq)
                .map(|e| e.offset)
        });
    Some(Checkpoint {
        partition: partition as u32,
        sequence_number: seq,
        offset: byte_offset,
        updated_ms: now,
    })
}

pub fn fetch(broker: &Broker, r: OffsetFetchRequest) -> OffsetFetchResponse {
    let group = r.group_id.0.to_string();
    let wanted: Vec<(String, Option<Vec<i32>>)> = match r.topics {
        Some(topics) => topics
            .into_iter()
            .map(|t| (t.name.0.to_string(), Some(t.partition_indexes)))
            .collect(),
        // v2+: null means every topic the group has offsets for.
        None => broker
            .ns
            .list()
            .into_iter()
            .filter(|h| h.checkpoints(&group).is_ok_and(|c| !c.is_empty()))
            .map(|h| (h.name(), None))
            .collect(),
    };
    let topics = wanted
        .into_iter()
        .map(|(name, partitions)| {
            let hub = broker.ns.get(&name);
            let checkpoints = hub
                .as_ref()
                .ok()
                .and_then(|h| h.checkpoints(&group).ok())
                .unwrap_or_default();
            let partitions = partitions
                .unwrap_or_else(|| checkpoints.iter().map(|c| c.partition as i32).collect());
            let parts = partitions
                .into_iter()
                .map(|p| {
                    let out = OffsetFetchResponsePartition::default()
                        .with_partition_index(p)
                        .with_committed_leader_epoch(-1)
                        .with_metadata(Some(s("")));
                    let exists = hub
                        .as_ref()
                        .is_ok_and(|h| p >= 0 && (p as u32) < h.partition_count());
                    if !exists {
                        return out
                            .with_committed_offset(-1)
                            .with_error_code(errors::UNKNOWN_TOPIC_OR_PARTITION);
                    }
                    let committed = checkpoints
                        .iter()
                        .find(|c| c.partition as i32 == p)
                        .map_or(-1, |c| c.sequence_number as i64 + 1);
                    out.with_committed_offset(committed)
                })
                .collect();
            OffsetFetchResponseTopic::default()
                .with_name(TopicName(s(&name)))
                .with_partitions(parts)
        })
        .collect();
    OffsetFetchResponse::default().with_topics(topics)
}
