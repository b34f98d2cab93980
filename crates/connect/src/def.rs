//! A data connection's definition: what `.create data connection` and the config file
//! say, validated once, stored as JSON.
//!
//! Property names follow the Azure Data Explorer ARM resource (`consumerGroup`,
//! `tableName`, `dataFormat`, `mappingRuleName`, `compression`, `eventSystemProperties`,
//! `databaseRouting`, `retrievalStartDate`), with short aliases (`hub`, `table`,
//! `format`, `mapping`, `systemProperties`, `start`); names are case-insensitive.

use std::collections::BTreeMap;

use eddy_explorer::ingest::Format;
use eddy_explorer::{ExplorerError, Result};
use eddy_kql::command::Properties;
use serde::{Deserialize, Serialize};

/// The system properties a connection can ingest, in the order Kusto prepends them to
/// delimited records.
pub const SYSTEM_PROPERTIES: [&str; 5] = [
    "x-opt-enqueued-time",
    "x-opt-sequence-number",
    "x-opt-offset",
    "x-opt-publisher",
    "x-opt-partition-key",
];

/// Where a new connection starts reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "value")]
pub enum Start {
    /// Only events enqueued after the connection was created (Kusto's behaviour).
    Latest,
    /// Everything the hub still retains.
    Earliest,
    /// Events enqueued at or after this time (ms since the epoch), like
    /// `retrievalStartDate`.
    Time(i64),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionDef {
    pub name: String,
    pub database: String,
    pub hub: String,
    pub consumer_group: String,
    /// Default table for events without a `Table` property.
    pub table: Option<String>,
    /// Default format (lower case) for events without a `Format` property.
    pub format: String,
    pub mapping: Option<String>,
    /// `None` or `GZip`: the default for events without a `Compression` property.
    pub compression: String,
    /// Canonical names, in [`SYSTEM_PROPERTIES`] order.
    pub system_properties: Vec<String>,
    /// Events may name another database with the `Database` property.
    pub multi_database: bool,
    pub start: Start,
    /// With `Start::Latest`: the first sequence number to read per partition, taken
    /// when the connection was created.
    #[serde(default)]
    pub start_sequence: BTreeMap<u32, u64>,
    /// Distinguishes this connection from an earlier one of the same name: it is part
    /// of the source ids committed with the rows.
    pub id: String,
    pub created_ms: i64,
}

fn bad(msg: impl Into<String>) -> ExplorerError {
    ExplorerError::InvalidArgument(msg.into())
}

const KNOWN: &str = "hub (eventHub), consumerGroup, table (tableName), format (dataFormat), mapping (mappingRuleName), compression, eventSystemProperties (systemProperties), databaseRouting (Single or Multi), start (retrievalStartDate: latest, earliest or a datetime)";

/// `None`/`GZip` in Kusto's spelling, or an error.
pub fn parse_compression(s: &str) -> Option<&'static str> {
    match s.to_ascii_lowercase().as_str() {
        "" | "none" => Some("None"),
        "gzip" => Some("GZip"),
        _ => None,
    }
}

/// A comma-separated list or a JSON array of system property names.
fn parse_system_properties(text: &str) -> Result<Vec<String>> {
    let names: Vec<String> = match serde_json::from_str::<Vec<String>>(text) {
        Ok(list) => list,
        Err(_) => text
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    };
    for n in &names {
        if !SYSTEM_PROPERTIES.contains(&n.as_str()) {
            return Err(bad(format!(
                "unknown event system property '{n}'; the properties are {}",
                SYSTEM_PROPERTIES.join(", ")
            )));
        }
    }
    Ok(SYSTEM_PROPERTIES
        .iter()
        .filter(|p| names.iter().any(|n| n == *p))
        .map(|p| p.to_string())
        .collect())
}

fn parse_start(text: &str) -> Result<Start> {
    match text.to_ascii_lowercase().as_str() {
        "latest" | "@latest" => return Ok(Start::Latest),
        "earliest" | "-1" => return Ok(Start::Earliest),
        _ => {}
    }
    eddy_kql::values::parse_datetime(text)
        .map(|micros| Start::Time(micros / 1000))
        .ok_or_else(|| {
            bad(format!(
                "start '{text}' is not latest, earliest or a datetime like 2026-01-01T00:00:00Z"
            ))
        })
}

impl ConnectionDef {
    /// Builds a definition from command properties; `hub` is required.
    pub fn from_properties(db: &str, name: &str, props: &Properties) -> Result<ConnectionDef> {
        eddy_hub::validate_name("data connection", name, 100).map_err(|e| bad(e.to_string()))?;
        let mut def = ConnectionDef {
            name: name.to_string(),
            database: db.to_string(),
            hub: String::new(),
            consumer_group: name.to_string(),
            table: None,
            format: "json".into(),
            mapping: None,
            compression: "None".into(),
            system_properties: vec![],
            multi_database: false,
            start: Start::Latest,
            start_sequence: BTreeMap::new(),
            id: uuid::Uuid::new_v4().simple().to_string()[..8].to_string(),
            created_ms: eddy_hub::now_ms(),
        };
        let some = |v: &str| (!v.is_empty()).then(|| v.to_string());
        for (key, value) in props {
            match key.to_ascii_lowercase().as_str() {
                "hub" | "eventhub" | "eventhubresourceid" => {
                    // An ARM resource id ends with the hub name.
                    def.hub = value.rsplit('/').next().unwrap_or(value).to_string();
                }
                "consumergroup" => def.consumer_group = value.clone(),
                "table" | "tablename" => def.table = some(value),
                "format" | "dataformat" => {
                    if Format::parse(value).is_none() {
                        return Err(bad(format!(
                            "unknown data format '{value}'; formats are json, multijson, csv, tsv, tsve, psv, scsv, sohsv, txt, avro, apacheavro, parquet"
                        )));
                    }
                    def.format = value.to_ascii_lowercase();
                }
                "mapping" | "mappingrulename" | "ingestionmappingreference" => {
                    def.mapping = some(value)
                }
                "compression" => {
                    def.compression = parse_compression(value)
                        .ok_or_else(|| bad(format!("compression '{value}' is not None or GZip")))?
                        .into()
                }
                "eventsystemproperties" | "systemproperties" => {
                    def.system_properties = parse_system_properties(value)?
                }
                "databaserouting" => {
                    def.multi_database = match value.to_ascii_lowercase().as_str() {
                        "single" => false,
                        "multi" => true,
                        _ => {
                            return Err(bad(format!(
                                "databaseRouting '{value}' is not Single or Multi"
                            )))
                        }
                    }
                }
                "start" | "retrievalstartdate" => def.start = parse_start(value)?,
                _ => {
                    return Err(bad(format!(
                        "unknown data connection property '{key}'; properties are {KNOWN}"
                    )))
                }
            }
        }
        if def.hub.is_empty() {
            return Err(bad(format!(
                "a data connection needs an event hub: .create data connection {name} with (hub = 'name', ...); properties are {KNOWN}"
            )));
        }
        Ok(def)
    }

    /// The properties that recreate this definition (for the config file round trip
    /// and `.show data connections`).
    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "hub": self.hub,
            "consumerGroup": self.consumer_group,
            "table": self.table,
            "format": self.format,
            "mapping": self.mapping,
            "compression": self.compression,
            "eventSystemProperties": self.system_properties,
            "databaseRouting": if self.multi_database { "Multi" } else { "Single" },
            "start": match self.start {
                Start::Latest => serde_json::json!("latest"),
                Start::Earliest => serde_json::json!("earliest"),
                Start::Time(ms) => serde_json::json!(eddy_kql::values::format_datetime(ms * 1000)),
            },
        })
    }

    /// Same settings (ignoring identity and creation time).
    pub fn same_settings(&self, other: &ConnectionDef) -> bool {
        self.describe() == other.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(list: &[(&str, &str)]) -> Properties {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn arm_names_and_aliases() {
        let d = ConnectionDef::from_properties(
            "db",
            "c1",
            &props(&[
                (
                    "eventHubResourceId",
                    "/subscriptions/x/namespaces/n/eventhubs/telemetry",
                ),
                ("TableName", "T"),
                ("dataFormat", "MultiJSON"),
                ("mappingRuleName", "M"),
                ("eventSystemProperties", "x-opt-offset, x-opt-enqueued-time"),
                ("databaseRouting", "Multi"),
                ("compression", "gzip"),
            ]),
        )
        .unwrap();
        assert_eq!(d.hub, "telemetry");
        assert_eq!(d.consumer_group, "c1");
        assert_eq!(d.format, "multijson");
        assert_eq!(d.compression, "GZip");
        assert_eq!(
            d.system_properties,
            vec!["x-opt-enqueued-time", "x-opt-offset"]
        );
        assert!(d.multi_database);
        assert_eq!(d.start, Start::Latest);
    }

    #[test]
    fn bad_properties_name_what_is_allowed() {
        let e = ConnectionDef::from_properties("db", "c", &props(&[("table", "T")])).unwrap_err();
        assert!(e.to_string().contains("needs an event hub"), "{e}");
        let e = ConnectionDef::from_properties("db", "c", &props(&[("hub", "h"), ("tabel", "T")]))
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown data connection property 'tabel'"),
            "{e}"
        );
        let e = ConnectionDef::from_properties(
            "db",
            "c",
            &props(&[("hub", "h"), ("eventSystemProperties", "x-opt-foo")]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("x-opt-foo"), "{e}");
        let e =
            ConnectionDef::from_properties("db", "c", &props(&[("hub", "h"), ("format", "xml")]))
                .unwrap_err();
        assert!(e.to_string().contains("unknown data format 'xml'"), "{e}");
        let e = ConnectionDef::from_properties(
            "db",
            "c",
            &props(&[("hub", "h"), ("start", "yesterday")]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("yesterday"), "{e}");
    }

    #[test]
    fn start_positions() {
        let p = |s: &str| {
            ConnectionDef::from_properties("db", "c", &props(&[("hub", "h"), ("start", s)]))
                .unwrap()
                .start
        };
        assert_eq!(p("earliest"), Start::Earliest);
        assert_eq!(p("latest"), Start::Latest);
        assert_eq!(p("2026-01-01T00:00:00Z"), Start::Time(1_767_225_600_000));
    }
}
