//! JSON shapes of Eddy's own HTTP API, shared by the server and the CLI client.
//!
//! Event bodies travel as `body` (UTF-8 text) or `body_base64` (anything else); on
//! send, `body` may also be any JSON value, stored as its JSON text. Properties are a
//! JSON object: strings, integers (long), floats (double) and booleans map directly;
//! `{"type":"timestamp","value":"2024-05-01T00:00:00Z"}` and
//! `{"type":"bytes","value":"<base64>"}` carry the other Event Hubs types.

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use eddy_hub::{EventData, Properties, PropertyValue, ReceivedEvent};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EventJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub properties: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SendRequest {
    pub events: Vec<EventJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendResponse {
    pub partition_id: String,
    pub first_sequence_number: u64,
    pub last_sequence_number: u64,
    pub first_offset: String,
    pub enqueued_time: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReceivedJson {
    pub partition_id: String,
    pub sequence_number: u64,
    pub offset: String,
    pub enqueued_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    #[serde(default)]
    pub properties: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadResponse {
    pub events: Vec<ReceivedJson>,
    /// Where the next read continues (`from=seq:N`).
    pub next_sequence_number: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointRequest {
    pub sequence_number: u64,
    #[serde(default)]
    pub offset: Option<String>,
}

pub fn rfc3339_ms(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A JSON value as a property value; `Err` says why it is not one.
pub fn property_from_json(v: &Value) -> Result<PropertyValue, String> {
    match v {
        Value::String(s) => Ok(PropertyValue::String(s.clone())),
        Value::Bool(b) => Ok(PropertyValue::Bool(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(PropertyValue::Long(i)),
            None => n
                .as_f64()
                .map(PropertyValue::Double)
                .ok_or_else(|| format!("number {n} is out of range")),
        },
        Value::Object(o) => {
            let kind = o.get("type").and_then(Value::as_str).unwrap_or_default();
            let value = o.get("value");
            match (kind, value) {
                ("timestamp", Some(Value::Number(n))) => {
                    n.as_i64().map(PropertyValue::Timestamp).ok_or_else(|| "timestamp must be milliseconds".to_string())
                }
                ("timestamp", Some(Value::String(s))) => DateTime::parse_from_rfc3339(s)
                    .map(|t| PropertyValue::Timestamp(t.timestamp_millis()))
                    .map_err(|e| format!("timestamp '{s}' is not RFC 3339: {e}")),
                ("bytes", Some(Value::String(s))) => base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map(PropertyValue::Bytes)
                    .map_err(|e| format!("bytes value is not base64: {e}")),
                ("long", Some(Value::Number(n))) => n.as_i64().map(PropertyValue::Long).ok_or_else(|| "not a long".into()),
                ("double", Some(Value::Number(n))) => n.as_f64().map(PropertyValue::Double).ok_or_else(|| "not a double".into()),
                ("string", Some(Value::String(s))) => Ok(PropertyValue::String(s.clone())),
                _ => Err("objects must be {\"type\": \"timestamp\"|\"bytes\"|\"long\"|\"double\"|\"string\", \"value\": ...}".into()),
            }
        }
        Value::Null => Err("null is not a property value".into()),
        Value::Array(_) => Err("arrays are not property values".into()),
    }
}

pub fn property_to_json(v: &PropertyValue) -> Value {
    match v {
        PropertyValue::String(s) => Value::String(s.clone()),
        PropertyValue::Long(i) => Value::from(*i),
        PropertyValue::Double(d) => serde_json::Number::from_f64(*d)
            .map(Value::Number)
            .unwrap_or_else(|| serde_json::json!({"type": "double", "value": d.to_string()})),
        PropertyValue::Bool(b) => Value::Bool(*b),
        PropertyValue::Bytes(b) => {
            serde_json::json!({"type": "bytes", "value": base64::engine::general_purpose::STANDARD.encode(b)})
        }
        PropertyValue::Timestamp(ms) => {
            serde_json::json!({"type": "timestamp", "value": rfc3339_ms(*ms)})
        }
    }
}

pub fn properties_from_json(map: &Map<String, Value>) -> Result<Properties, String> {
    map.iter()
        .map(|(k, v)| {
            property_from_json(v)
                .map(|p| (k.clone(), p))
                .map_err(|e| format!("property '{k}': {e}"))
        })
        .collect()
}

pub fn properties_to_json(props: &Properties) -> Map<String, Value> {
    props
        .iter()
        .map(|(k, v)| (k.clone(), property_to_json(v)))
        .collect()
}

impl EventJson {
    pub fn into_event(self) -> Result<EventData, String> {
        let body: Vec<u8> = match (self.body, self.body_base64) {
            (Some(_), Some(_)) => return Err("give either body or body_base64, not both".into()),
            (Some(Value::String(s)), None) => s.into_bytes(),
            (Some(v), None) => v.to_string().into_bytes(),
            (None, Some(b)) => base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|e| format!("body_base64 is not base64: {e}"))?,
            (None, None) => Vec::new(),
        };
        Ok(EventData {
            body: body.into(),
            properties: properties_from_json(&self.properties)?,
            partition_key: None,
        })
    }
}

impl From<&ReceivedEvent> for ReceivedJson {
    fn from(e: &ReceivedEvent) -> Self {
        let (body, body_base64) = match std::str::from_utf8(&e.data.body) {
            Ok(s) => (Some(s.to_string()), None),
            Err(_) => (
                None,
                Some(base64::engine::general_purpose::STANDARD.encode(&e.data.body)),
            ),
        };
        ReceivedJson {
            partition_id: e.partition.to_string(),
            sequence_number: e.sequence_number,
            offset: e.offset.to_string(),
            enqueued_time: rfc3339_ms(e.enqueued_time_ms),
            partition_key: e.data.partition_key.clone(),
            body,
            body_base64,
            properties: properties_to_json(&e.data.properties),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn properties_round_trip_through_json() {
        let props: Properties = vec![
            ("Table".into(), PropertyValue::String("T".into())),
            ("n".into(), PropertyValue::Long(7)),
            ("d".into(), PropertyValue::Double(1.5)),
            ("b".into(), PropertyValue::Bool(false)),
            ("x".into(), PropertyValue::Bytes(vec![1, 2, 255])),
            ("t".into(), PropertyValue::Timestamp(1_700_000_000_123)),
        ];
        let json = properties_to_json(&props);
        let mut back = properties_from_json(&json).unwrap();
        back.sort_by(|a, b| a.0.cmp(&b.0));
        let mut props = props;
        props.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(back, props);
    }

    #[test]
    fn bad_properties_say_which_and_why() {
        let map = json!({"ok": 1, "bad": null}).as_object().unwrap().clone();
        let err = properties_from_json(&map).unwrap_err();
        assert!(err.contains("'bad'") && err.contains("null"), "{err}");
        let map = json!({"t": {"type": "timestamp", "value": "yesterday"}})
            .as_object()
            .unwrap()
            .clone();
        assert!(properties_from_json(&map).unwrap_err().contains("RFC 3339"));
    }

    #[test]
    fn json_bodies_are_stored_as_text() {
        let e = EventJson {
            body: Some(json!({"a": 1})),
            ..Default::default()
        }
        .into_event()
        .unwrap();
        assert_eq!(&e.body[..], br#"{"a":1}"#);
        let both = EventJson {
            body: Some(json!("x")),
            body_base64: Some("eA==".into()),
            ..Default::default()
        };
        assert!(both.into_event().is_err());
    }
}
