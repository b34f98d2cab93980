//! Events as producers send them and as consumers receive them.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// A user property value; the types Event Hubs carries in application properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum PropertyValue {
    String(String),
    Long(i64),
    Double(f64),
    Bool(bool),
    Bytes(Vec<u8>),
    /// Milliseconds since the Unix epoch, UTC.
    Timestamp(i64),
}

/// User properties in the order the sender gave them. Names are case-sensitive.
pub type Properties = Vec<(String, PropertyValue)>;

/// An event as a producer sends it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventData {
    pub body: Bytes,
    pub properties: Properties,
    /// Kept with the event (`x-opt-partition-key`) when the sender routed by key.
    pub partition_key: Option<String>,
}

impl EventData {
    pub fn new(body: impl Into<Bytes>) -> Self {
        EventData {
            body: body.into(),
            ..Default::default()
        }
    }

    pub fn with_property(mut self, name: impl Into<String>, value: PropertyValue) -> Self {
        self.properties.push((name.into(), value));
        self
    }

    /// The first property with exactly this (case-sensitive) name.
    pub fn property(&self, name: &str) -> Option<&PropertyValue> {
        self.properties
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// Bytes this event counts for in batch-size limits and quotas.
    pub fn size_estimate(&self) -> usize {
        let props: usize = self
            .properties
            .iter()
            .map(|(k, v)| {
                k.len()
                    + match v {
                        PropertyValue::String(s) => s.len(),
                        PropertyValue::Bytes(b) => b.len(),
                        _ => 8,
                    }
            })
            .sum();
        self.body.len() + props + self.partition_key.as_ref().map_or(0, |k| k.len())
    }
}

/// An event read back from a partition, with the service-stamped system properties.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedEvent {
    pub data: EventData,
    pub partition: u32,
    /// `x-opt-sequence-number`: per partition, from 0, without gaps.
    pub sequence_number: u64,
    /// `x-opt-offset`: the event's byte position in the partition log. Clients treat it
    /// as an opaque string.
    pub offset: u64,
    /// `x-opt-enqueued-time`: milliseconds since the Unix epoch, UTC.
    pub enqueued_time_ms: i64,
}
