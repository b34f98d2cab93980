//! A client's sender link: events into a hub, acknowledged once durable.

use std::sync::Arc;

use eddy_hub::{EventData, Hub, SendTarget};
use fe2o3_amqp::link::delivery::DeliveryInfo;
use fe2o3_amqp::link::RecvError;
use fe2o3_amqp::Receiver;
use fe2o3_amqp_types::definitions::{AmqpError, LinkError};
use fe2o3_amqp_types::messaging::{Body, Message};
use fe2o3_amqp_types::primitives::Value;
use tokio::sync::watch;

use crate::convert;
use crate::errors;

/// Receives deliveries until the client detaches or the server shuts down. Each
/// delivery is stored (one durable append) before it is accepted; a delivery that
/// cannot be stored is rejected with the reason and nothing from it is kept.
pub async fn run(
    mut receiver: Receiver,
    hub: Arc<Hub>,
    partition: Option<u32>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let delivery = tokio::select! {
            d = receiver.recv::<Body<Value>>() => d,
            _ = crate::stopped(&mut shutdown) => break,
        };
        let delivery = match delivery {
            Ok(d) => d,
            // One message that does not decode is refused; the link goes on.
            Err(RecvError::MessageDecode(bad)) => {
                let reason = convert::decode_reason(&bad.source);
                let error = errors::amqp(
                    AmqpError::DecodeError,
                    format!("the message was not stored: {reason}"),
                );
                let _ = receiver.reject(bad.info, error).await;
                continue;
            }
            Err(e) => {
                let error = match &e {
                    RecvError::MessageSizeExceeded(_) => {
                        Some(errors::link(LinkError::MessageSizeExceeded, e.to_string()))
                    }
                    RecvError::TransferLimitExceeded => Some(errors::link(
                        LinkError::TransferLimitExceeded,
                        "a transfer arrived without link credit",
                    )),
                    RecvError::LinkStateError(_) => None,
                    _ => Some(errors::amqp(AmqpError::NotAllowed, e.to_string())),
                };
                if let Some(error) = error {
                    tracing::info!(hub = %hub.name(), error = %e, "sender link closed on a bad transfer");
                    let _ = receiver.close_with_error(error).await;
                    return;
                }
                break;
            }
        };
        let format = *delivery.message_format();
        let (info, message): (DeliveryInfo, Message<Body<Value>>) = delivery.into_parts();
        match store(&hub, partition, format, message).await {
            Ok(()) => {
                let _ = receiver.accept(info).await;
            }
            Err(error) => {
                tracing::debug!(hub = %hub.name(), %error, "delivery rejected");
                let _ = receiver.reject(info, error).await;
            }
        }
    }
    let _ = receiver.close().await;
}

async fn store(
    hub: &Hub,
    partition: Option<u32>,
    format: Option<u32>,
    message: Message<Body<Value>>,
) -> Result<(), fe2o3_amqp_types::definitions::Error> {
    let events: Vec<EventData> =
        convert::unpack(format, message).map_err(|e| errors::amqp(AmqpError::InvalidField, e))?;
    if events.is_empty() {
        return Ok(());
    }
    let target = match (partition, &events[0].partition_key) {
        (Some(p), _) => SendTarget::Partition(p),
        (None, Some(key)) => SendTarget::Key(key.clone()),
        (None, None) => SendTarget::Any,
    };
    hub.send(events, target)
        .await
        .map(|_| ())
        .map_err(|e| errors::from_hub(&e))
}
