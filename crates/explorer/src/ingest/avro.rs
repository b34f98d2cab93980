//! Avro object container files: each record becomes a JSON-shaped value, mapped like
//! JSON (`Path` or `Field` in the mapping, else by column name).

use serde_json::Value;

use super::RecordFailure;

pub fn records(data: &[u8]) -> (Vec<(u64, Value)>, Vec<RecordFailure>) {
    let mut records = vec![];
    let mut failures = vec![];
    let reader = match apache_avro::Reader::new(data) {
        Ok(r) => r,
        Err(e) => {
            failures.push(RecordFailure {
                position: "byte 0".into(),
                payload: String::new(),
                code: "BadRequest_InvalidAvro",
                message: format!("not an Avro object container file: {e}"),
            });
            return (records, failures);
        }
    };
    for (i, item) in reader.enumerate() {
        let n = i as u64 + 1;
        let converted = item
            .map_err(|e| e.to_string())
            .and_then(|v| Value::try_from(v).map_err(|e| e.to_string()));
        match converted {
            Ok(v) => records.push((n, v)),
            Err(message) => {
                failures.push(RecordFailure {
                    position: format!("record {n}"),
                    payload: String::new(),
                    code: "BadRequest_InvalidAvro",
                    message,
                });
                // A broken block cannot be skipped safely.
                break;
            }
        }
    }
    (records, failures)
}
