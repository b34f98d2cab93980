//! Produce and InitProducerId.
//!
//! Each partition's records become one hub send to exactly the partition the client
//! chose, acknowledged once durable (acks 1 and all alike; acks 0 gets no answer).

use eddy_hub::{Hub, SendTarget};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    InitProducerIdRequest, InitProducerIdResponse, ProduceRequest, ProduceResponse, ProducerId,
    TransactionalId,
};

use super::s;
use crate::errors;
use crate::mapping::record_to_event;
use crate::producers::{BatchId, Verdict};
use crate::server::Broker;
use crate::wire::records::{decode_batches, RecordsError};

pub fn init_producer_id(broker: &Broker, r: InitProducerIdRequest) -> InitProducerIdResponse {
    if is_transactional(&r.transactional_id) {
        return InitProducerIdResponse::default()
            .with_error_code(errors::INVALID_REQUEST)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
    }
    let (id, epoch) = broker.producers.allocate();
    InitProducerIdResponse::default()
        .with_producer_id(ProducerId(id))
        .with_producer_epoch(epoch)
}

/// Transactions are not supported; clients without them send a null (or empty) id.
fn is_transactional(id: &Option<TransactionalId>) -> bool {
    id.as_ref().is_some_and(|t| !t.0.is_empty())
}

pub async fn produce(broker: &Broker, r: ProduceRequest) -> Option<ProduceResponse> {
    let transactional = is_transactional(&r.transactional_id);
    let mut responses = Vec::with_capacity(r.topic_data.len());
    for topic in r.topic_data {
        let name = topic.name.0.to_string();
        let hub = broker.ns.get(&name);
        let mut partitions = Vec::with_capacity(topic.partition_data.len());
        for p in topic.partition_data {
            let resp = PartitionProduceResponse::default().with_index(p.index);
            let resp = match (&hub, transactional) {
                (_, true) => failed(
                    resp,
                    errors::INVALID_REQUEST,
                    "transactions are not supported",
                ),
                (Err(e), _) => failed(resp, errors::from_hub(e), &e.to_string()),
                (Ok(hub), false) => {
                    produce_partition(broker, hub, p.index, p.records.as_deref(), resp).await
                }
            };
            partitions.push(resp);
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(topic.name)
                .with_partition_responses(partitions),
        );
    }
    (r.acks != 0).then(|| ProduceResponse::default().with_responses(responses))
}

fn failed(resp: PartitionProduceResponse, code: i16, message: &str) -> PartitionProduceResponse {
    resp.with_error_code(code)
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_error_message(Some(s(message)))
}

async fn produce_partition(
    broker: &Broker,
    hub: &Hub,
    index: i32,
    records: Option<&[u8]>,
    resp: PartitionProduceResponse,
) -> PartitionProduceResponse {
    let Ok(log) = u32::try_from(index)
        .map_err(|_| ())
        .and_then(|p| hub.partition_by_index(p).map_err(|_| ()))
    else {
        let msg = format!("partition {index} does not exist in '{}'", hub.name());
        return failed(resp, errors::UNKNOWN_TOPIC_OR_PARTITION, &msg);
    };
    let partition = log.partition();
    let Some(records) = records else {
        return failed(resp, errors::CORRUPT_MESSAGE, "no records");
    };
    let batches = match decode_batches(records, broker.max_inflated()) {
        Ok(b) => b,
        Err(e) => {
            let code = match e {
                RecordsError::Corrupt(_) => errors::CORRUPT_MESSAGE,
                RecordsError::OldFormat(_) => errors::UNSUPPORTED_FOR_MESSAGE_FORMAT,
                RecordsError::TooLarge(_) => errors::MESSAGE_TOO_LARGE,
            };
            tracing::debug!(hub = %hub.name(), partition, error = %e, "kafka produce refused");
            return failed(resp, code, &e.to_string());
        }
    };
    let hub_name = hub.name();
    let mut base_offset = None;
    for batch in batches {
        if batch.transactional || batch.control {
            return failed(
                resp,
                errors::INVALID_REQUEST,
                "transactional batches are not supported",
            );
        }
        if batch.records.is_empty() {
            continue;
        }
        // Kafka counts a batch by its record bytes; the hub's estimate also counts the
        // properties the mapping adds, so the check is made here, on Kafka's terms.
        let limit = hub.max_batch_bytes();
        if batch.size as u64 > limit {
            let msg = format!(
                "record batch of {} bytes is over the limit of {limit} bytes (hub.max_batch_bytes)",
                batch.size
            );
            return failed(resp, errors::MESSAGE_TOO_LARGE, &msg);
        }
        let id = BatchId {
            producer_id: batch.producer_id,
            epoch: batch.producer_epoch,
            base_sequence: batch.base_sequence,
            count: batch.records.len() as i32,
        };
        let offset = match broker.producers.check(&hub_name, partition, id) {
            Verdict::Refuse(code) => {
                return failed(resp, code, "producer sequence or epoch out of order");
            }
            Verdict::Duplicate { base_offset } => base_offset,
            Verdict::Append => {
                let events = batch.records.into_iter().map(record_to_event).collect();
                let sent = hub.send_limited(
                    events,
                    SendTarget::Partition(partition),
                    limit.saturating_mul(4),
                );
                match sent.await {
                    Ok(done) => {
                        let offset = done.first_sequence_number as i64;
                        broker.producers.record(&hub_name, partition, id, offset);
                        offset
                    }
                    Err(e) => return failed(resp, errors::from_hub(&e), &e.to_string()),
                }
            }
        };
        base_offset.get_or_insert(offset);
    }
    resp.with_base_offset(base_offset.unwrap_or(log.info().next_sequence_number as i64))
        .with_log_append_time_ms(-1)
        .with_log_start_offset(log.info().begin_sequence_number as i64)
}
