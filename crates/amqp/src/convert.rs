//! AMQP messages ↔ hub events.
//!
//! Incoming: a message of format `0x80013700` is an SDK batch whose data sections each
//! hold one encoded message; anything else is one event. The body is the data
//! section(s) (a string or binary amqp-value is taken as its bytes); application
//! properties become user properties in order, names as sent; the
//! `x-opt-partition-key` annotation is kept. Outgoing events carry the system
//! annotations the SDKs read.

use bytes::Bytes;
use eddy_hub::{EventData, PropertyValue, ReceivedEvent};
use fe2o3_amqp_types::messaging::message::DecodeIntoMessage;
use fe2o3_amqp_types::messaging::{
    annotations::OwnedKey, ApplicationProperties, Body, Data, DeliveryAnnotations, Message,
    MessageAnnotations,
};
use fe2o3_amqp_types::primitives::{Binary, OrderedMap, SimpleValue, Symbol, Timestamp, Value};

/// Message format of an SDK batch envelope.
pub const BATCH_FORMAT: u32 = 0x8001_3700;

pub const PARTITION_KEY: &str = "x-opt-partition-key";
pub const SEQUENCE_NUMBER: &str = "x-opt-sequence-number";
pub const OFFSET: &str = "x-opt-offset";
pub const ENQUEUED_TIME: &str = "x-opt-enqueued-time";

/// Turns one transfer into the events it carries.
pub fn unpack(
    format: Option<u32>,
    message: Message<Body<Value>>,
) -> Result<Vec<EventData>, String> {
    if format != Some(BATCH_FORMAT) {
        return Ok(vec![to_event(message)?]);
    }
    let envelope_key = annotation_str(&message.message_annotations, PARTITION_KEY);
    let Body::Data(sections) = message.body else {
        return Err("a batch (message format 0x80013700) must carry data sections".into());
    };
    let mut events = Vec::with_capacity(sections.len());
    for (i, Data(bytes)) in sections.into_inner().into_iter().enumerate() {
        let reader = serde_amqp::read::SliceReader::new(&bytes);
        let inner = <Body<Value> as DecodeIntoMessage>::decode_message_from_reader(reader)
            .map_err(|e| format!("event {i} of the batch: {}", decode_reason(&e)))?;
        let mut event = to_event(inner).map_err(|e| format!("event {i} of the batch: {e}"))?;
        if event.partition_key.is_none() {
            event.partition_key = envelope_key.clone();
        }
        events.push(event);
    }
    Ok(events)
}

/// Why a message could not be decoded, in the user's terms.
pub fn decode_reason(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    if text.contains("SimpleValue") {
        "an application property holds a list, map or other structured value; Eddy stores \
         scalar properties (string, number, boolean, timestamp, binary, uuid)"
            .into()
    } else {
        format!("not a valid AMQP message: {text}")
    }
}

/// One AMQP message as a hub event.
pub fn to_event(message: Message<Body<Value>>) -> Result<EventData, String> {
    let body: Bytes = match message.body {
        Body::Data(sections) => {
            let mut sections = sections.into_inner();
            if sections.len() == 1 {
                Bytes::from(sections.pop().expect("one section").0.into_vec())
            } else {
                let mut all = Vec::new();
                for Data(b) in sections {
                    all.extend_from_slice(&b);
                }
                Bytes::from(all)
            }
        }
        Body::Value(v) => match v.0 {
            Value::Binary(b) => Bytes::from(b.into_vec()),
            Value::String(s) => Bytes::from(s),
            Value::Null => Bytes::new(),
            other => {
                return Err(format!(
                    "an amqp-value body of type {} cannot be stored; send the body as data (bytes) or a string",
                    value_type(&other)
                ))
            }
        },
        Body::Sequence(_) => {
            return Err(
                "amqp-sequence bodies cannot be stored; send the body as data (bytes)".into(),
            )
        }
        Body::Empty => Bytes::new(),
    };
    let mut properties = Vec::new();
    if let Some(ApplicationProperties(map)) = message.application_properties {
        properties.reserve(map.len());
        for (name, value) in map.into_inner() {
            let value = to_property(value)
                .map_err(|t| format!("property '{name}' is of type {t}, which is not stored"))?;
            properties.push((name, value));
        }
    }
    Ok(EventData {
        body,
        properties,
        partition_key: annotation_str(&message.message_annotations, PARTITION_KEY),
    })
}

fn to_property(v: SimpleValue) -> Result<PropertyValue, &'static str> {
    Ok(match v {
        SimpleValue::Null => PropertyValue::String(String::new()),
        SimpleValue::Bool(b) => PropertyValue::Bool(b),
        SimpleValue::Ubyte(n) => PropertyValue::Long(n.into()),
        SimpleValue::Ushort(n) => PropertyValue::Long(n.into()),
        SimpleValue::Uint(n) => PropertyValue::Long(n.into()),
        SimpleValue::Ulong(n) => {
            PropertyValue::Long(i64::try_from(n).map_err(|_| "ulong above 2^63")?)
        }
        SimpleValue::Byte(n) => PropertyValue::Long(n.into()),
        SimpleValue::Short(n) => PropertyValue::Long(n.into()),
        SimpleValue::Int(n) => PropertyValue::Long(n.into()),
        SimpleValue::Long(n) => PropertyValue::Long(n),
        SimpleValue::Float(f) => PropertyValue::Double(f.into_inner().into()),
        SimpleValue::Double(f) => PropertyValue::Double(f.into_inner()),
        SimpleValue::Char(c) => PropertyValue::String(c.to_string()),
        SimpleValue::Timestamp(t) => PropertyValue::Timestamp(t.milliseconds()),
        SimpleValue::Uuid(u) => {
            PropertyValue::String(uuid::Uuid::from_bytes(u.into_inner()).to_string())
        }
        SimpleValue::Binary(b) => PropertyValue::Bytes(b.into_vec()),
        SimpleValue::String(s) => PropertyValue::String(s),
        SimpleValue::Symbol(s) => PropertyValue::String(s.0),
        SimpleValue::Decimal32(_) | SimpleValue::Decimal64(_) | SimpleValue::Decimal128(_) => {
            return Err("decimal")
        }
        SimpleValue::Described(_) => return Err("described"),
    })
}

fn value_type(v: &Value) -> &'static str {
    match v {
        Value::List(_) => "list",
        Value::Map(_) => "map",
        Value::Array(_) => "array",
        Value::Described(_) => "described",
        _ => "scalar",
    }
}

fn annotation_str(annotations: &Option<MessageAnnotations>, key: &str) -> Option<String> {
    let map = &annotations.as_ref()?.0;
    map.iter().find_map(|(k, v)| match (k, v) {
        (OwnedKey::Symbol(s), Value::String(v)) if s.as_str() == key => Some(v.clone()),
        (OwnedKey::Symbol(s), Value::Symbol(v)) if s.as_str() == key => Some(v.0.clone()),
        _ => None,
    })
}

fn sym(s: &str) -> OwnedKey {
    OwnedKey::Symbol(Symbol::from(s))
}

/// The last event of a partition, as receiver runtime metrics report it.
#[derive(Debug, Clone, Copy)]
pub struct LastEnqueued {
    pub sequence_number: i64,
    pub offset: u64,
    pub enqueued_time_ms: i64,
    pub retrieved_ms: i64,
}

/// A stored event as the message a consumer receives.
pub fn to_message(event: &ReceivedEvent, metrics: Option<LastEnqueued>) -> Message<Data> {
    let mut annotations = OrderedMap::new();
    annotations.insert(
        sym(SEQUENCE_NUMBER),
        Value::Long(event.sequence_number as i64),
    );
    annotations.insert(sym(OFFSET), Value::String(event.offset.to_string()));
    annotations.insert(
        sym(ENQUEUED_TIME),
        Value::Timestamp(Timestamp::from_milliseconds(event.enqueued_time_ms)),
    );
    if let Some(key) = &event.data.partition_key {
        annotations.insert(sym(PARTITION_KEY), Value::String(key.clone()));
    }
    let application_properties = (!event.data.properties.is_empty()).then(|| {
        let mut map = OrderedMap::new();
        for (name, value) in &event.data.properties {
            map.insert(name.clone(), from_property(value));
        }
        ApplicationProperties(map)
    });
    let delivery_annotations = metrics.map(|m| {
        let mut map = OrderedMap::new();
        map.insert(
            sym("last_enqueued_sequence_number"),
            Value::Long(m.sequence_number),
        );
        map.insert(
            sym("last_enqueued_offset"),
            Value::String(m.offset.to_string()),
        );
        map.insert(
            sym("last_enqueued_time_utc"),
            Value::Timestamp(Timestamp::from_milliseconds(m.enqueued_time_ms)),
        );
        map.insert(
            sym("runtime_info_retrieval_time_utc"),
            Value::Timestamp(Timestamp::from_milliseconds(m.retrieved_ms)),
        );
        DeliveryAnnotations(map)
    });
    Message {
        header: None,
        delivery_annotations,
        message_annotations: Some(MessageAnnotations(annotations)),
        properties: None,
        application_properties,
        body: Data(Binary::from(event.data.body.to_vec())),
        footer: None,
    }
}

fn from_property(v: &PropertyValue) -> SimpleValue {
    match v {
        PropertyValue::String(s) => SimpleValue::String(s.clone()),
        PropertyValue::Long(n) => SimpleValue::Long(*n),
        PropertyValue::Double(f) => SimpleValue::Double((*f).into()),
        PropertyValue::Bool(b) => SimpleValue::Bool(*b),
        PropertyValue::Bytes(b) => SimpleValue::Binary(Binary::from(b.clone())),
        PropertyValue::Timestamp(ms) => SimpleValue::Timestamp(Timestamp::from_milliseconds(*ms)),
    }
}
