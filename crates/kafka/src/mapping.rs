//! Kafka records ↔ hub events.
//!
//! | Kafka record            | hub event                                            |
//! |-------------------------|------------------------------------------------------|
//! | value (null = empty)    | body                                                 |
//! | key, UTF-8              | partition key (`x-opt-partition-key`)                |
//! | key, other bytes        | property `kafka.key` (bytes)                         |
//! | headers                 | properties in order: UTF-8 values as strings, others |
//! |                         | as bytes; a null value becomes an empty string       |
//! | timestamp (CreateTime)  | property `kafka.timestamp` (timestamp)               |
//! | offset                  | sequence number                                      |
//!
//! Read back over Kafka, `kafka.key` and `kafka.timestamp` become the key and the
//! timestamp again (events from other protocols get their enqueued time); every other
//! property is a header, strings and bytes as they are, numbers and booleans as text,
//! timestamps as RFC 3339.

use std::borrow::Cow;

use eddy_hub::{EventData, PropertyValue, ReceivedEvent};

use crate::wire::records::{OutRecord, Record};

/// Property holding the record timestamp a Kafka producer set.
pub const TIMESTAMP_PROPERTY: &str = "kafka.timestamp";
/// Property holding a record key that is not UTF-8.
pub const KEY_PROPERTY: &str = "kafka.key";

/// The event a produced record becomes.
pub fn record_to_event(record: Record) -> EventData {
    let mut properties = Vec::with_capacity(record.headers.len() + 1);
    for (name, value) in record.headers {
        let value = match value {
            None => PropertyValue::String(String::new()),
            Some(bytes) => match String::from_utf8(bytes.to_vec()) {
                Ok(s) => PropertyValue::String(s),
                Err(e) => PropertyValue::Bytes(e.into_bytes()),
            },
        };
        properties.push((name, value));
    }
    let partition_key = match record.key {
        None => None,
        Some(key) => match std::str::from_utf8(&key) {
            Ok(s) => Some(s.to_string()),
            Err(_) => {
                properties.push((KEY_PROPERTY.to_string(), PropertyValue::Bytes(key.to_vec())));
                None
            }
        },
    };
    if record.timestamp >= 0 {
        properties.push((
            TIMESTAMP_PROPERTY.to_string(),
            PropertyValue::Timestamp(record.timestamp),
        ));
    }
    EventData {
        body: record.value.unwrap_or_default(),
        properties,
        partition_key,
    }
}

/// The record a stored event is fetched as.
pub fn event_to_record(event: &ReceivedEvent) -> OutRecord<'_> {
    let data = &event.data;
    let mut timestamp = event.enqueued_time_ms;
    let mut key = data.partition_key.as_deref().map(str::as_bytes);
    let mut headers = Vec::with_capacity(data.properties.len());
    for (name, value) in &data.properties {
        match (name.as_str(), value) {
            (TIMESTAMP_PROPERTY, PropertyValue::Timestamp(ms)) => timestamp = *ms,
            (KEY_PROPERTY, PropertyValue::Bytes(b)) => key = Some(b),
            _ => headers.push((name.as_str(), header_value(value))),
        }
    }
    OutRecord {
        timestamp,
        key,
        value: &data.body,
        headers,
    }
}

fn header_value(value: &PropertyValue) -> Cow<'_, [u8]> {
    match value {
        PropertyValue::String(s) => Cow::Borrowed(s.as_bytes()),
        PropertyValue::Bytes(b) => Cow::Borrowed(b),
        PropertyValue::Long(n) => Cow::Owned(n.to_string().into_bytes()),
        PropertyValue::Double(x) => Cow::Owned(x.to_string().into_bytes()),
        PropertyValue::Bool(b) => Cow::Owned(b.to_string().into_bytes()),
        PropertyValue::Timestamp(ms) => Cow::Owned(
            chrono::DateTime::from_timestamp_millis(*ms)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_else(|| ms.to_string())
                .into_bytes(),
        ),
    }
}
