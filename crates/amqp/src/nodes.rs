//! The request/response nodes: `$cbs` (put-token) and `$management` (READ of hub and
//! partition runtime information).
//!
//! Each node is a link pair in one session: the client's receiver (our sender, the
//! reply link) and the client's sender (our receiver, the request link). Replies
//! correlate to the request's `message-id` and carry `status-code` and
//! `status-description` application properties.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eddy_common::config::AccessRight;
use eddy_hub::Namespace;
use fe2o3_amqp::link::delivery::DeliveryInfo;
use fe2o3_amqp::{Receiver, Sender};
use fe2o3_amqp_types::messaging::{
    AmqpValue, ApplicationProperties, Body, Message, MessageId, Properties,
};
use fe2o3_amqp_types::primitives::{OrderedMap, SimpleValue, Timestamp, Value};
use tokio::sync::Notify;

use crate::auth::ConnectionAuth;
use crate::sas;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Node {
    Cbs,
    Management,
}

/// Reply links of one session, by node.
#[derive(Default)]
pub struct ReplyLinks {
    senders: Mutex<HashMap<Node, Arc<tokio::sync::Mutex<Sender>>>>,
    arrived: Notify,
}

impl ReplyLinks {
    pub fn insert(&self, node: Node, sender: Sender) {
        self.senders
            .lock()
            .unwrap()
            .insert(node, Arc::new(tokio::sync::Mutex::new(sender)));
        self.arrived.notify_waiters();
    }

    /// The reply link of `node`, waiting a little for a client that attaches it after
    /// its request link.
    async fn get(&self, node: Node) -> Option<Arc<tokio::sync::Mutex<Sender>>> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.arrived.notified();
            if let Some(s) = self.senders.lock().unwrap().get(&node) {
                return Some(s.clone());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}

/// A reply: status code, description and body.
struct Reply {
    status: i32,
    description: String,
    body: Value,
}

impl Reply {
    fn ok(status: i32, body: Value) -> Reply {
        Reply {
            status,
            description: if status == 202 { "Accepted" } else { "OK" }.into(),
            body,
        }
    }

    fn error(status: i32, description: impl Into<String>) -> Reply {
        Reply {
            status,
            description: description.into(),
            body: Value::Null,
        }
    }
}

/// Serves requests on a node's request link until the client detaches it.
pub async fn serve(
    node: Node,
    mut requests: Receiver,
    replies: Arc<ReplyLinks>,
    ns: Arc<Namespace>,
    auth: ConnectionAuth,
) {
    loop {
        let delivery = match requests.recv::<Body<Value>>().await {
            Ok(d) => d,
            Err(e) => {
                tracing::debug!(?node, error = %e, "request link ended");
                break;
            }
        };
        let (info, message): (DeliveryInfo, Message<Body<Value>>) = delivery.into_parts();
        let _ = requests.accept(info).await;
        let props = app_properties(&message);
        let reply = match node {
            Node::Cbs => put_token(&props, &message, &auth),
            Node::Management => read(&props, &ns, &auth),
        };
        let correlation = message
            .properties
            .as_ref()
            .and_then(|p| p.message_id.clone());
        let Some(link) = replies.get(node).await else {
            tracing::warn!(?node, "no reply link attached; request dropped");
            continue;
        };
        let out = reply_message(reply, correlation);
        let mut link = link.lock().await;
        if let Err(e) = link.send(out).await {
            tracing::debug!(?node, error = %e, "reply not sent");
            break;
        }
    }
    let _ = requests.close().await;
}

fn app_properties(message: &Message<Body<Value>>) -> HashMap<String, SimpleValue> {
    message
        .application_properties
        .as_ref()
        .map(|p| p.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn text(props: &HashMap<String, SimpleValue>, key: &str) -> Option<String> {
    match props.get(key)? {
        SimpleValue::String(s) => Some(s.clone()),
        SimpleValue::Symbol(s) => Some(s.0.clone()),
        _ => None,
    }
}

fn put_token(
    props: &HashMap<String, SimpleValue>,
    message: &Message<Body<Value>>,
    auth: &ConnectionAuth,
) -> Reply {
    if text(props, "operation").as_deref() != Some("put-token") {
        return Reply::error(400, "the $cbs node serves operation 'put-token' only");
    }
    if !auth.enabled() {
        return Reply::ok(202, Value::Null);
    }
    let token = match &message.body {
        Body::Value(AmqpValue(Value::String(s))) => s.clone(),
        _ => return Reply::error(400, "the put-token body must be the token as a string"),
    };
    let kind = text(props, "type").unwrap_or_default();
    if kind != "servicebus.windows.net:sastoken" {
        return Reply::error(
            401,
            format!("token type '{kind}' is not accepted; Eddy validates shared access signatures (servicebus.windows.net:sastoken)"),
        );
    }
    match sas::validate(&token, auth.config(), eddy_hub::now_ms() / 1000) {
        Ok(grant) => {
            auth.add(grant);
            Reply::ok(202, Value::Null)
        }
        Err(e) => Reply::error(401, format!("unauthorized: {e}")),
    }
}

fn read(props: &HashMap<String, SimpleValue>, ns: &Namespace, auth: &ConnectionAuth) -> Reply {
    if text(props, "operation").as_deref() != Some("READ") {
        return Reply::error(400, "the $management node serves operation 'READ' only");
    }
    let Some(name) = text(props, "name") else {
        return Reply::error(400, "the request names no event hub ('name')");
    };
    let entity = name.to_ascii_lowercase();
    if auth.enabled() && !auth.any(&entity) {
        let now = eddy_hub::now_ms() / 1000;
        let granted =
            text(props, "security_token").and_then(|t| sas::validate(&t, auth.config(), now).ok());
        match granted {
            Some(g)
                if g.allows(&entity, AccessRight::Listen, now)
                    || g.allows(&entity, AccessRight::Send, now) => {}
            _ => {
                return Reply::error(
                    401,
                    format!("unauthorized: no token grants access to '{name}'"),
                )
            }
        }
    }
    let hub = match ns.get(&name) {
        Ok(h) => h,
        Err(e) => return Reply::error(404, e.to_string()),
    };
    let key = |k: &str| Value::String(k.to_string());
    let mut map = OrderedMap::new();
    match text(props, "type").as_deref() {
        Some("com.microsoft:eventhub") => {
            let meta = hub.meta();
            map.insert(key("name"), Value::String(meta.name.clone()));
            map.insert(key("type"), key("com.microsoft:eventhub"));
            map.insert(
                key("created_at"),
                Value::Timestamp(Timestamp::from_milliseconds(meta.created_at_ms)),
            );
            map.insert(
                key("partition_count"),
                Value::Int(meta.partition_count as i32),
            );
            map.insert(
                key("partition_ids"),
                Value::Array(hub.partition_ids().into_iter().map(Value::String).collect()),
            );
        }
        Some("com.microsoft:partition") => {
            let Some(partition) = text(props, "partition") else {
                return Reply::error(400, "the request names no partition ('partition')");
            };
            let p = match hub.partition_properties(&partition) {
                Ok(p) => p,
                Err(e) => return Reply::error(404, e.to_string()),
            };
            map.insert(key("name"), Value::String(p.hub.clone()));
            map.insert(key("type"), key("com.microsoft:partition"));
            map.insert(key("partition"), Value::String(p.id.clone()));
            map.insert(
                key("begin_sequence_number"),
                Value::Long(p.begin_sequence_number as i64),
            );
            map.insert(
                key("last_enqueued_sequence_number"),
                Value::Long(p.last_enqueued_sequence_number),
            );
            map.insert(
                key("last_enqueued_offset"),
                Value::String(p.last_enqueued_offset.clone()),
            );
            map.insert(
                key("last_enqueued_time_utc"),
                Value::Timestamp(Timestamp::from_milliseconds(
                    p.last_enqueued_time_utc_ms.unwrap_or(0),
                )),
            );
            map.insert(key("is_partition_empty"), Value::Bool(p.is_empty));
        }
        other => {
            return Reply::error(
                400,
                format!(
                    "unknown type '{}'; use com.microsoft:eventhub or com.microsoft:partition",
                    other.unwrap_or("")
                ),
            )
        }
    }
    Reply::ok(200, Value::Map(map))
}

fn reply_message(reply: Reply, correlation: Option<MessageId>) -> Message<AmqpValue<Value>> {
    let properties = Properties {
        correlation_id: correlation,
        ..Default::default()
    };
    let app = ApplicationProperties::builder()
        .insert("status-code", SimpleValue::Int(reply.status))
        .insert(
            "status-description",
            SimpleValue::String(reply.description.clone()),
        )
        // The Python SDK's management link reads this spelling.
        .insert("statusDescription", SimpleValue::String(reply.description))
        .build();
    Message::builder()
        .properties(properties)
        .application_properties(app)
        .body(AmqpValue(reply.body))
        .build()
}
