//! Event Hubs REST send: `POST /{hub}/messages` and
//! `POST /{hub}/partitions/{id}/messages`.
//!
//! A single event is the raw body; the `BrokerProperties` header (JSON) may carry
//! `PartitionKey`; other non-standard headers become user properties (values in
//! double quotes are strings, numbers and `true`/`false` are typed, the way Service
//! Bus reads them). HTTP header names reach us lower-cased, so names of properties
//! sent as headers are lower-case; the batch form keeps names exactly.
//!
//! A batch has content type `application/vnd.microsoft.servicebus.json` and body
//! `[{"Body": ..., "UserProperties": {...}, "BrokerProperties": {"PartitionKey": ...}}]`;
//! it is stored whole or not at all. Success is `201 Created`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode as Http};
use eddy_hub::{EventData, Hub, PropertyValue, SendTarget};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::{ApiError, ApiResult};
use super::AppState;
use crate::api::properties_from_json;

pub const BATCH_CONTENT_TYPE: &str = "application/vnd.microsoft.servicebus.json";

/// Headers that are transport, auth or tracing, never user properties.
const RESERVED: &[&str] = &[
    "host",
    "content-type",
    "content-length",
    "content-encoding",
    "authorization",
    "brokerproperties",
    "user-agent",
    "accept",
    "accept-encoding",
    "connection",
    "expect",
    "transfer-encoding",
    "keep-alive",
    "traceparent",
    "tracestate",
    "cookie",
    "origin",
    "referer",
    "te",
    "upgrade",
    "proxy-authorization",
];

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct BrokerProperties {
    partition_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchItem {
    body: Option<Value>,
    #[serde(default)]
    user_properties: Map<String, Value>,
    #[serde(default)]
    broker_properties: Option<BrokerProperties>,
}

pub async fn send_hub(
    State(state): State<AppState>,
    Path(hub): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Http> {
    let hub = state.ns.get(&hub)?;
    send(&hub, None, &headers, body).await
}

pub async fn send_partition(
    State(state): State<AppState>,
    Path((hub, partition)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Http> {
    let hub = state.ns.get(&hub)?;
    let p = hub.partition(&partition)?.partition();
    send(&hub, Some(p), &headers, body).await
}

async fn send(
    hub: &Hub,
    partition: Option<u32>,
    headers: &HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Http> {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let is_batch = content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(BATCH_CONTENT_TYPE));
    let (events, key) = if is_batch {
        parse_batch(&body)?
    } else {
        parse_single(headers, body)?
    };
    let target = match (partition, key) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "a partition key cannot be used when sending to a specific partition",
            ))
        }
        (Some(p), None) => SendTarget::Partition(p),
        (None, Some(k)) => SendTarget::Key(k),
        (None, None) => SendTarget::Any,
    };
    hub.send(events, target).await?;
    Ok(Http::CREATED)
}

fn parse_single(
    headers: &HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<(Vec<EventData>, Option<String>)> {
    let broker: BrokerProperties = match headers.get("brokerproperties") {
        Some(v) => serde_json::from_slice(v.as_bytes()).map_err(|e| {
            ApiError::bad_request(format!("BrokerProperties header is not valid JSON: {e}"))
        })?,
        None => BrokerProperties::default(),
    };
    let mut event = EventData::new(body);
    for (name, value) in headers {
        let name = name.as_str();
        if RESERVED.contains(&name) || name.starts_with("x-ms-") {
            continue;
        }
        let text = value
            .to_str()
            .map_err(|_| ApiError::bad_request(format!("header '{name}' is not valid text")))?;
        event
            .properties
            .push((name.to_string(), header_value(text)));
    }
    Ok((vec![event], broker.partition_key))
}

fn header_value(text: &str) -> PropertyValue {
    let t = text.trim();
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        return PropertyValue::String(t[1..t.len() - 1].to_string());
    }
    if let Ok(i) = t.parse::<i64>() {
        return PropertyValue::Long(i);
    }
    if let Ok(d) = t.parse::<f64>() {
        if d.is_finite() {
            return PropertyValue::Double(d);
        }
    }
    match t {
        "true" | "True" => PropertyValue::Bool(true),
        "false" | "False" => PropertyValue::Bool(false),
        _ => PropertyValue::String(t.to_string()),
    }
}

fn parse_batch(body: &[u8]) -> ApiResult<(Vec<EventData>, Option<String>)> {
    let items: Vec<BatchItem> = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "malformed batch body: {e}; expected [{{\"Body\": ..., \"UserProperties\": {{...}}}}]"
        ))
    })?;
    if items.is_empty() {
        return Err(ApiError::bad_request("the batch is empty"));
    }
    let mut key: Option<Option<String>> = None;
    let mut events = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let item_key = item.broker_properties.and_then(|b| b.partition_key);
        match &key {
            None => key = Some(item_key),
            Some(k) if *k != item_key => {
                return Err(ApiError::bad_request(format!(
                    "event {i} has partition key {item_key:?} but the batch uses {k:?}; a batch goes to one partition"
                )))
            }
            Some(_) => {}
        }
        let body = match item.body {
            Some(Value::String(s)) => s.into_bytes(),
            Some(Value::Null) | None => Vec::new(),
            Some(v) => v.to_string().into_bytes(),
        };
        let properties = properties_from_json(&item.user_properties)
            .map_err(|m| ApiError::bad_request(format!("event {i}: {m}")))?;
        events.push(EventData {
            body: body.into(),
            properties,
            partition_key: None,
        });
    }
    Ok((events, key.flatten()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_typed_like_service_bus() {
        assert_eq!(header_value("\"42\""), PropertyValue::String("42".into()));
        assert_eq!(header_value("42"), PropertyValue::Long(42));
        assert_eq!(header_value("4.5"), PropertyValue::Double(4.5));
        assert_eq!(header_value("true"), PropertyValue::Bool(true));
        assert_eq!(
            header_value("Telemetry"),
            PropertyValue::String("Telemetry".into())
        );
    }

    #[test]
    fn malformed_batches_report_the_position() {
        let err = parse_batch(b"[{\"Body\": \"a\"},\n {\"Body\": }]").unwrap_err();
        assert!(err.message.contains("line 2"), "{}", err.message);
        let err =
            parse_batch(br#"[{"Body":"a","BrokerProperties":{"PartitionKey":"x"}},{"Body":"b"}]"#)
                .unwrap_err();
        assert!(err.message.contains("one partition"), "{}", err.message);
        let (events, key) =
            parse_batch(br#"[{"Body":"a","UserProperties":{"Table":"T","n":3},"BrokerProperties":{"PartitionKey":"k"}}]"#).unwrap();
        assert_eq!(key.as_deref(), Some("k"));
        assert_eq!(
            events[0].property("Table"),
            Some(&PropertyValue::String("T".into()))
        );
        assert_eq!(events[0].property("n"), Some(&PropertyValue::Long(3)));
    }
}
