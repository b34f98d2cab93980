//! Many small sources at once: the events a data connection ingests as one batch. Each
//! event is parsed on its own (a bad event fails alone), then all rows become one batch.
//!
//! System properties follow Kusto: for JSON formats they are added to the event's first
//! record under their names (`$.x-opt-enqueued-time` in a mapping reads them); for
//! delimited text they are prepended, in the connection's order, to the first record's
//! fields; Avro and Parquet events ignore them.

use std::collections::HashMap;

use serde_json::Value;

use super::{csv, csv_row, finish, json, rows_from_json, Format, Parsed, RecordFailure, Request};
use crate::error::Result;

/// One event to ingest.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub body: bytes::Bytes,
    /// System properties to embed: (name, value), in the order the connection lists.
    pub system: Vec<(String, Value)>,
    /// Where the event is, for failure positions (e.g. `partition 0 sequence 12`).
    pub position: String,
}

/// Rows of all events, and each failure with the index of the event it came from.
pub struct ParsedEvents {
    pub parsed: Parsed,
    pub failures: Vec<(usize, RecordFailure)>,
}

fn at(event: &EventRecord, inner: &str) -> String {
    format!("{}, {inner}", event.position)
}

/// Parses `events` (each in `req.format`) into one batch of the table.
pub fn parse_events(req: &Request<'_>, events: &[EventRecord]) -> Result<ParsedEvents> {
    if matches!(req.format, Format::Parquet) {
        return parse_each(req, events);
    }
    let mut rows = vec![];
    let mut positions = vec![];
    let mut row_event = vec![];
    let mut failures: Vec<(usize, RecordFailure)> = vec![];
    let mut raw_bytes = 0u64;
    for (i, event) in events.iter().enumerate() {
        let data = match super::decompress(&event.body) {
            Ok(d) => d,
            Err(e) => {
                failures.push((
                    i,
                    RecordFailure {
                        position: event.position.clone(),
                        payload: super::truncate_payload(&String::from_utf8_lossy(&event.body)),
                        code: "BadRequest_InvalidCompression",
                        message: e.to_string(),
                    },
                ));
                continue;
            }
        };
        raw_bytes += data.len() as u64;
        let mut push_failures = |fs: Vec<RecordFailure>| {
            for mut f in fs {
                f.position = at(event, &f.position);
                failures.push((i, f));
            }
        };
        match req.format {
            Format::Json | Format::MultiJson | Format::Avro => {
                let (mut records, fs) = match req.format {
                    Format::Json => json::lines(&String::from_utf8_lossy(&data), 1),
                    Format::MultiJson => json::multi(&String::from_utf8_lossy(&data)),
                    _ => super::avro::records(&data),
                };
                push_failures(fs);
                if req.format != Format::Avro {
                    if let Some((_, Value::Object(first))) = records.first_mut() {
                        for (k, v) in &event.system {
                            first.insert(k.clone(), v.clone());
                        }
                    }
                }
                let unit = if req.format == Format::Json {
                    "line"
                } else {
                    "record"
                };
                for (n, _) in &records {
                    positions.push(at(event, &format!("{unit} {n}")));
                    row_event.push(i);
                }
                rows.extend(rows_from_json(req, records));
            }
            Format::Csv(sep) => {
                let (records, fs) = csv::records(&String::from_utf8_lossy(&data), sep);
                push_failures(fs);
                for (k, (line, mut fields)) in records.into_iter().enumerate() {
                    if k == 0 && !event.system.is_empty() {
                        let system = event.system.iter().map(|(_, v)| match v {
                            Value::String(s) => s.clone(),
                            Value::Null => String::new(),
                            other => other.to_string(),
                        });
                        fields.splice(0..0, system);
                    }
                    match csv_row(req, line, fields) {
                        Ok(r) => {
                            rows.push(r);
                            positions.push(at(event, &format!("line {line}")));
                            row_event.push(i);
                        }
                        Err(mut f) => {
                            f.position = at(event, &f.position);
                            failures.push((i, f));
                        }
                    }
                }
            }
            Format::Txt | Format::Raw => {
                let text = String::from_utf8_lossy(&data);
                let lines: Vec<&str> = if req.format == Format::Raw {
                    vec![&text]
                } else {
                    text.lines().collect()
                };
                for (n, l) in lines.iter().enumerate() {
                    rows.push(super::single_column_row(req, l));
                    positions.push(at(event, &format!("line {}", n + 1)));
                    row_event.push(i);
                }
            }
            Format::Parquet => unreachable!("parsed per event above"),
        }
    }
    // Conversion failures (strict mode) name their row by position; map back to events.
    let by_position: HashMap<&str, usize> = positions
        .iter()
        .map(String::as_str)
        .zip(row_event.iter().copied())
        .collect();
    let mut parsed = finish(req, rows, &|r| positions[r].clone(), vec![], raw_bytes)?;
    for f in std::mem::take(&mut parsed.failures) {
        let event = by_position.get(f.position.as_str()).copied().unwrap_or(0);
        failures.push((event, f));
    }
    Ok(ParsedEvents { parsed, failures })
}

/// Formats that are whole files (Parquet): each event parsed alone.
fn parse_each(req: &Request<'_>, events: &[EventRecord]) -> Result<ParsedEvents> {
    let mut batches = vec![];
    let mut failures = vec![];
    let mut raw_bytes = 0;
    let mut conversion_failures = 0;
    for (i, event) in events.iter().enumerate() {
        let p = super::parse(req, &event.body)?;
        batches.extend(p.batches);
        raw_bytes += p.raw_bytes;
        conversion_failures += p.conversion_failures;
        for mut f in p.failures {
            f.position = at(event, &f.position);
            failures.push((i, f));
        }
    }
    Ok(ParsedEvents {
        parsed: Parsed {
            batches,
            failures: vec![],
            conversion_failures,
            raw_bytes,
        },
        failures,
    })
}
