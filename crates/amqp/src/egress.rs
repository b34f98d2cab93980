//! A client's receiver link: events from one partition, from the position its filter
//! asks for, as fast as its credit allows, pre-settled (the SDKs never settle).

use std::sync::Arc;
use std::time::Duration;

use eddy_hub::Hub;
use fe2o3_amqp::link::delivery::Sendable;
use fe2o3_amqp::Sender;
use fe2o3_amqp_types::definitions::{AmqpError, LinkError};
use tokio::sync::{oneshot, watch};

use crate::convert::{self, LastEnqueued};
use crate::errors;
use crate::receivers::Registration;

/// Events read per look at the log.
const READ_EVENTS: usize = 300;
const READ_BYTES: usize = 4 * 1024 * 1024;

pub struct Egress {
    pub hub: Arc<Hub>,
    pub partition: u32,
    /// Sequence number of the first event to deliver.
    pub next: u64,
    /// Attach the last-enqueued runtime metrics to each delivery.
    pub metrics: bool,
    /// Held while the link lives; resolved when a higher epoch takes the partition.
    pub registration: (Registration, oneshot::Receiver<String>),
}

pub async fn run(mut sender: Sender, link: Egress, mut shutdown: watch::Receiver<bool>) {
    let Egress {
        hub,
        partition,
        mut next,
        metrics: want_metrics,
        registration,
    } = link;
    let (_registration, mut stolen) = registration;
    let log = match hub.partition_by_index(partition) {
        Ok(l) => l,
        Err(e) => {
            let _ = sender.close_with_error(errors::from_hub(&e)).await;
            return;
        }
    };
    loop {
        let batch = tokio::select! {
            r = log.read_wait(next, READ_EVENTS, READ_BYTES, Duration::from_secs(30)) => r,
            reason = &mut stolen => {
                let reason = reason.unwrap_or_else(|_| "receiver displaced".into());
                let _ = sender.close_with_error(errors::link(LinkError::Stolen, reason)).await;
                return;
            }
            _ = sender.on_detach() => return,
            _ = crate::stopped(&mut shutdown) => break,
        };
        let events = match batch {
            Ok(e) => e,
            Err(e) => {
                let _ = sender
                    .close_with_error(errors::amqp(AmqpError::InternalError, e.to_string()))
                    .await;
                return;
            }
        };
        let metrics = want_metrics.then(|| {
            let info = log.info();
            let last = info.last;
            LastEnqueued {
                sequence_number: last.map_or(-1, |l| l.sequence_number as i64),
                offset: last.map_or(0, |l| l.offset),
                enqueued_time_ms: last.map_or(0, |l| l.enqueued_time_ms),
                retrieved_ms: eddy_hub::now_ms(),
            }
        });
        let mut sent = 0;
        for event in &events {
            let message = convert::to_message(event, metrics);
            let sendable = Sendable::builder().message(message).settled(true).build();
            tokio::select! {
                r = sender.send(sendable) => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "receiver link ended");
                        hub.record_delivered(sent);
                        return;
                    }
                }
                reason = &mut stolen => {
                    hub.record_delivered(sent);
                    let reason = reason.unwrap_or_else(|_| "receiver displaced".into());
                    let _ = sender.close_with_error(errors::link(LinkError::Stolen, reason)).await;
                    return;
                }
                _ = crate::stopped(&mut shutdown) => {
                    hub.record_delivered(sent);
                    let _ = sender.close().await;
                    return;
                }
            }
            sent += 1;
            next = event.sequence_number + 1;
        }
        hub.record_delivered(sent);
    }
    let _ = sender.close().await;
}
