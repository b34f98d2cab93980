//! Per-event routing: the event's own properties (`Table`, `Format`,
//! `IngestionMappingReference`, `Database`, `Compression`, `Encoding`, `Tags`; names
//! case-sensitive) over the connection's defaults. An event that cannot be routed is a
//! failure with a reason, never a silent drop.

use eddy_explorer::ingest::Format;
use eddy_hub::{PropertyValue, ReceivedEvent};
use serde_json::{json, Map, Value};

use crate::def::{parse_compression, ConnectionDef};

/// The routing property names Kusto reads.
pub const ROUTING_PROPERTIES: [&str; 7] = [
    "Table",
    "Format",
    "IngestionMappingReference",
    "Database",
    "Compression",
    "Encoding",
    "Tags",
];

/// Where one event goes: the batch key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Route {
    pub db: String,
    pub table: String,
    /// Lower case, as the user spelled a known format.
    pub format: String,
    pub mapping: Option<String>,
}

impl Route {
    pub fn parsed_format(&self) -> Format {
        Format::parse(&self.format).expect("routes carry known formats")
    }
}

/// Why an event could not be routed.
#[derive(Debug, Clone)]
pub struct RouteError {
    pub code: &'static str,
    pub message: String,
}

fn text(v: &PropertyValue) -> String {
    match v {
        PropertyValue::String(s) => s.clone(),
        PropertyValue::Long(n) => n.to_string(),
        PropertyValue::Double(d) => d.to_string(),
        PropertyValue::Bool(b) => b.to_string(),
        PropertyValue::Bytes(b) => String::from_utf8_lossy(b).to_string(),
        PropertyValue::Timestamp(ms) => ms.to_string(),
    }
}

/// The event's routing properties, as JSON for failure records.
pub fn routing_properties(e: &ReceivedEvent) -> Value {
    let mut out = Map::new();
    for name in ROUTING_PROPERTIES {
        if let Some(v) = e.data.property(name) {
            out.insert(name.into(), json!(text(v)));
        }
    }
    Value::Object(out)
}

/// Routes `e`; on success also returns the body as UTF-8 (transcoded from `Encoding`).
pub fn route(def: &ConnectionDef, e: &ReceivedEvent) -> Result<(Route, bytes::Bytes), RouteError> {
    let prop = |name: &str| e.data.property(name).map(text).filter(|s| !s.is_empty());
    let db = match prop("Database") {
        Some(db) if def.multi_database => db,
        _ => def.database.clone(),
    };
    let table = prop("Table")
        .or_else(|| def.table.clone())
        .ok_or_else(|| RouteError {
            code: "BadRequest_NoTable",
            message: format!(
                "the event has no Table property and data connection '{}' has no default table",
                def.name
            ),
        })?;
    let format = prop("Format").unwrap_or_else(|| def.format.clone());
    if Format::parse(&format).is_none() {
        return Err(RouteError {
            code: "BadRequest_InvalidFormat",
            message: format!("unknown Format '{format}'; formats are json, multijson, csv, tsv, tsve, psv, scsv, sohsv, txt, avro, apacheavro, parquet"),
        });
    }
    let mapping = prop("IngestionMappingReference").or_else(|| def.mapping.clone());
    if let Some(c) = prop("Compression") {
        if parse_compression(&c).is_none() {
            return Err(RouteError {
                code: "BadRequest_InvalidCompression",
                message: format!("unknown Compression '{c}'; use None or GZip"),
            });
        }
    }
    if let Some(tags) = prop("Tags") {
        if serde_json::from_str::<Vec<String>>(&tags).is_err() {
            return Err(RouteError {
                code: "BadRequest_InvalidTags",
                message: format!("Tags must be a JSON array of strings, got {tags}"),
            });
        }
    }
    let body = match prop("Encoding") {
        None => e.data.body.clone(),
        Some(enc) => transcode(&enc, &e.data.body)?,
    };
    Ok((
        Route {
            db,
            table,
            format: format.to_ascii_lowercase(),
            mapping,
        },
        body,
    ))
}

/// The body in UTF-8 from `encoding` (UTF-8 or UTF-16, as Kusto accepts).
fn transcode(encoding: &str, body: &bytes::Bytes) -> Result<bytes::Bytes, RouteError> {
    let utf16 = |big_endian: bool| -> Result<bytes::Bytes, RouteError> {
        let mut data: &[u8] = body;
        // A byte order mark overrides the named order.
        let mut be = big_endian;
        if data.starts_with(&[0xFF, 0xFE]) {
            be = false;
            data = &data[2..];
        } else if data.starts_with(&[0xFE, 0xFF]) {
            be = true;
            data = &data[2..];
        }
        let units = data.chunks_exact(2).map(|c| {
            if be {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_le_bytes([c[0], c[1]])
            }
        });
        let s: String = char::decode_utf16(units)
            .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
        Ok(bytes::Bytes::from(s.into_bytes()))
    };
    match encoding.to_ascii_lowercase().replace('_', "-").as_str() {
        "utf-8" | "utf8" | "65001" => Ok(body.clone()),
        "utf-16" | "utf-16le" | "unicode" | "1200" => utf16(false),
        "utf-16be" | "1201" => utf16(true),
        other => Err(RouteError {
            code: "BadRequest_InvalidEncoding",
            message: format!("unsupported Encoding '{other}'; use UTF-8 or UTF-16"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eddy_hub::EventData;

    fn def() -> ConnectionDef {
        let props = vec![
            ("hub".to_string(), "h".to_string()),
            ("table".to_string(), "Default".to_string()),
            ("mapping".to_string(), "DefMap".to_string()),
        ];
        ConnectionDef::from_properties("db", "c", &props).unwrap()
    }

    fn event(props: &[(&str, &str)], body: &[u8]) -> ReceivedEvent {
        let mut data = EventData::new(body.to_vec());
        for (k, v) in props {
            data = data.with_property(*k, PropertyValue::String(v.to_string()));
        }
        ReceivedEvent {
            data,
            partition: 0,
            sequence_number: 1,
            offset: 0,
            enqueued_time_ms: 0,
        }
    }

    #[test]
    fn event_properties_override_defaults_case_sensitively() {
        let d = def();
        let (r, _) = route(
            &d,
            &event(
                &[
                    ("Table", "T2"),
                    ("Format", "CSV"),
                    ("IngestionMappingReference", "M2"),
                ],
                b"",
            ),
        )
        .unwrap();
        assert_eq!(
            (r.table.as_str(), r.format.as_str(), r.mapping.as_deref()),
            ("T2", "csv", Some("M2"))
        );
        let (r, _) = route(&d, &event(&[("table", "T2")], b"")).unwrap();
        assert_eq!(r.table, "Default");
        assert_eq!(r.mapping.as_deref(), Some("DefMap"));
        // Database is honoured only with multi-database routing.
        let (r, _) = route(&d, &event(&[("Database", "other")], b"")).unwrap();
        assert_eq!(r.db, "db");
        let mut multi = def();
        multi.multi_database = true;
        let (r, _) = route(&multi, &event(&[("Database", "other")], b"")).unwrap();
        assert_eq!(r.db, "other");
    }

    #[test]
    fn unroutable_events_say_why() {
        let mut d = def();
        d.table = None;
        assert_eq!(
            route(&d, &event(&[], b"")).unwrap_err().code,
            "BadRequest_NoTable"
        );
        let d = def();
        assert_eq!(
            route(&d, &event(&[("Format", "xml")], b""))
                .unwrap_err()
                .code,
            "BadRequest_InvalidFormat"
        );
        assert_eq!(
            route(&d, &event(&[("Compression", "zip")], b""))
                .unwrap_err()
                .code,
            "BadRequest_InvalidCompression"
        );
        assert_eq!(
            route(&d, &event(&[("Tags", "nope")], b""))
                .unwrap_err()
                .code,
            "BadRequest_InvalidTags"
        );
        assert_eq!(
            route(&d, &event(&[("Encoding", "latin-9")], b""))
                .unwrap_err()
                .code,
            "BadRequest_InvalidEncoding"
        );
    }

    #[test]
    fn utf16_bodies_become_utf8() {
        let d = def();
        let body: Vec<u8> = "{\"a\":\"é\"}"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let (_, b) = route(&d, &event(&[("Encoding", "UTF-16")], &body)).unwrap();
        assert_eq!(&b[..], "{\"a\":\"é\"}".as_bytes());
    }
}
