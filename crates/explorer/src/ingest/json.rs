//! JSON sources: `json` is one object per line; `multijson` is a stream of objects or
//! arrays of objects separated by whitespace.

use serde_json::Value;

use super::{truncate_payload, RecordFailure};

type Records = (Vec<(u64, Value)>, Vec<RecordFailure>);

/// Objects of `text`, one per line; `first_line` is the number of its first line.
pub fn lines(text: &str, first_line: u64) -> Records {
    let mut records = vec![];
    let mut failures = vec![];
    for (i, line) in text.lines().enumerate() {
        let line_no = first_line + i as u64;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(v @ Value::Object(_)) => records.push((line_no, v)),
            Ok(other) => failures.push(RecordFailure {
                position: format!("line {line_no}"),
                payload: truncate_payload(line),
                code: "BadRequest_InvalidJson",
                message: format!("expected a JSON object, found {}", kind(&other)),
            }),
            Err(e) => failures.push(RecordFailure {
                position: format!("line {line_no}"),
                payload: truncate_payload(line),
                code: "BadRequest_InvalidJson",
                message: format!("malformed JSON: {e}"),
            }),
        }
    }
    (records, failures)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub fn multi(text: &str) -> Records {
    let mut records = vec![];
    let mut failures = vec![];
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut n = 0u64;
    loop {
        let start = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Ok(Value::Array(items))) => {
                for item in items {
                    n += 1;
                    push_object(item, n, &mut records, &mut failures);
                }
            }
            Some(Ok(v)) => {
                n += 1;
                push_object(v, n, &mut records, &mut failures);
            }
            Some(Err(e)) => {
                // The rest of the stream cannot be resynchronized reliably; keep it whole.
                failures.push(RecordFailure {
                    position: format!("byte {start}"),
                    payload: truncate_payload(text[start..].trim()),
                    code: "BadRequest_InvalidJson",
                    message: format!("malformed JSON: {e}"),
                });
                break;
            }
        }
    }
    (records, failures)
}

fn push_object(
    v: Value,
    n: u64,
    records: &mut Vec<(u64, Value)>,
    failures: &mut Vec<RecordFailure>,
) {
    if v.is_object() {
        records.push((n, v));
    } else {
        failures.push(RecordFailure {
            position: format!("record {n}"),
            payload: truncate_payload(&v.to_string()),
            code: "BadRequest_InvalidJson",
            message: format!("expected a JSON object, found {}", kind(&v)),
        });
    }
}
