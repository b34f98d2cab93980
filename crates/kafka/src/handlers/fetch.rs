//! Fetch with long poll: answer once `min_bytes` are there or `max_wait_ms` passed.
//!
//! Each partition's events go out as one uncompressed record batch. As in Kafka, the
//! first partition with data returns at least one event even past the byte limits,
//! so an event larger than the limits never stalls a consumer. Fetch sessions
//! (KIP-227) are declined with session id 0, so clients send full fetches.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use eddy_hub::Hub;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse};

use crate::errors;
use crate::mapping::event_to_record;
use crate::server::Broker;
use crate::wire::records::{encode_batch, OutRecord};

/// Longest a fetch waits, whatever the client asks.
const MAX_WAIT: Duration = Duration::from_secs(30);
/// Most events returned for one partition in one fetch.
const MAX_EVENTS: usize = 10_000;

pub async fn fetch(broker: &Broker, r: FetchRequest) -> FetchResponse {
    let wait = Duration::from_millis(r.max_wait_ms.max(0) as u64).min(MAX_WAIT);
    let deadline = tokio::time::Instant::now() + wait;
    // Subscribe before reading, so an append between the read and the wait wakes us.
    let mut watchers: Vec<tokio::sync::watch::Receiver<u64>> = Vec::new();
    for t in &r.topics {
        if let Ok(hub) = broker.ns.get(t.topic.0.as_str()) {
            for p in &t.partitions {
                if let Ok(log) = u32::try_from(p.partition)
                    .map_err(|_| ())
                    .and_then(|i| hub.partition_by_index(i).map_err(|_| ()))
                {
                    watchers.push(log.subscribe());
                }
            }
        }
    }
    loop {
        for w in watchers.iter_mut() {
            w.borrow_and_update();
        }
        let pass = collect(broker, &r);
        let now = tokio::time::Instant::now();
        if pass.bytes >= r.min_bytes.max(1) as usize
            || pass.errored
            || now >= deadline
            || watchers.is_empty()
        {
            return pass.answer();
        }
        let changed =
            futures::future::select_all(watchers.iter_mut().map(|w| Box::pin(w.changed())));
        match tokio::time::timeout_at(deadline, changed).await {
            Ok((Ok(()), _, _)) => continue,
            Ok((Err(_), _, _)) | Err(_) => {
                return collect(broker, &r).answer();
            }
        }
    }
}

/// One pass over the requested partitions.
struct Pass {
    response: FetchResponse,
    /// Record bytes in the response.
    bytes: usize,
    /// Whether any partition answered with an error (errors are answered at once).
    errored: bool,
    /// Events per hub, counted as delivered only if this pass is the answer.
    delivered: Vec<(Arc<Hub>, usize)>,
}

impl Pass {
    fn answer(self) -> FetchResponse {
        for (hub, n) in &self.delivered {
            hub.record_delivered(*n);
        }
        self.response
    }
}

fn collect(broker: &Broker, r: &FetchRequest) -> Pass {
    let mut delivered = Vec::new();
    let mut remaining = r.max_bytes.max(0) as usize;
    let mut total = 0usize;
    let mut errored = false;
    let mut topics = Vec::with_capacity(r.topics.len());
    for t in &r.topics {
        let hub = broker.ns.get(t.topic.0.as_str());
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for p in &t.partitions {
            let out = PartitionData::default()
                .with_partition_index(p.partition)
                .with_preferred_read_replica(BrokerId(-1));
            let hub = match &hub {
                Ok(h) => h,
                Err(e) => {
                    errored = true;
                    partitions.push(
                        out.with_error_code(errors::from_hub(e))
                            .with_high_watermark(-1),
                    );
                    continue;
                }
            };
            let Ok(log) = u32::try_from(p.partition)
                .map_err(|_| ())
                .and_then(|i| hub.partition_by_index(i).map_err(|_| ()))
            else {
                errored = true;
                partitions.push(
                    out.with_error_code(errors::UNKNOWN_TOPIC_OR_PARTITION)
                        .with_high_watermark(-1),
                );
                continue;
            };
            let info = log.info();
            let (begin, next) = (
                info.begin_sequence_number as i64,
                info.next_sequence_number as i64,
            );
            let out = out
                .with_high_watermark(next)
                .with_last_stable_offset(next)
                .with_log_start_offset(begin);
            if p.fetch_offset < begin || p.fetch_offset > next {
                errored = true;
                partitions.push(out.with_error_code(errors::OFFSET_OUT_OF_RANGE));
                continue;
            }
            let limit = (p.partition_max_bytes.max(0) as usize).min(remaining);
            let first_data = total == 0;
            if p.fetch_offset == next || (limit == 0 && !first_data) {
                partitions.push(out.with_records(Some(Default::default())));
                continue;
            }
            let events = match log.read(p.fetch_offset as u64, MAX_EVENTS, limit.max(1)) {
                Ok(e) => e,
                Err(e) => {
                    errored = true;
                    partitions.push(out.with_error_code(errors::from_hub(&e)));
                    continue;
                }
            };
            let mut buf = BytesMut::new();
            if let Some(first) = events.first() {
                let records: Vec<OutRecord<'_>> = events.iter().map(event_to_record).collect();
                encode_batch(&mut buf, first.sequence_number as i64, &records);
                delivered.push((hub.clone(), events.len()));
            }
            total += buf.len();
            remaining = remaining.saturating_sub(buf.len());
            partitions.push(out.with_records(Some(buf.freeze())));
        }
        topics.push(
            FetchableTopicResponse::default()
                .with_topic(t.topic.clone())
                .with_partitions(partitions),
        );
    }
    Pass {
        response: FetchResponse::default().with_responses(topics),
        bytes: total,
        errored,
        delivered,
    }
}
