//! Table and database policies: ingestion batching, streaming ingestion, retention.
//!
//! Batching follows Kusto (defaults 5 min / 500 items / 1024 MB, a batch seals when the
//! first limit is reached; `.alter` resets omitted fields, `.alter-merge` keeps them; a
//! table policy overrides the database's). Eddy lowers the minimums so that small
//! deployments and tests see data sealed quickly: time ≥ 1 s (Kusto: 10 s), size ≥ 1 MB
//! (Kusto: 100 MB). An "item" is one ingest operation (Kusto counts blobs).

use std::time::Duration;

use eddy_kql::values::{format_timespan, parse_timespan};
use serde_json::{json, Map, Value};

use crate::error::{ExplorerError, Result};

pub const MIN_BATCHING_TIME: Duration = Duration::from_secs(1);
const MAX_BATCHING_TIME: Duration = Duration::from_secs(30 * 60);
const MAX_ITEMS: u64 = 25_000;
const MAX_SIZE_MB: u64 = 4096;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchingPolicy {
    pub max_time: Duration,
    pub max_items: u64,
    pub max_raw_mb: u64,
}

impl Default for BatchingPolicy {
    fn default() -> Self {
        BatchingPolicy {
            max_time: Duration::from_secs(300),
            max_items: 500,
            max_raw_mb: 1024,
        }
    }
}

impl BatchingPolicy {
    pub fn to_json(&self) -> Value {
        json!({
            "MaximumBatchingTimeSpan": format_timespan(self.max_time.as_micros() as i64),
            "MaximumNumberOfItems": self.max_items,
            "MaximumRawDataSizeMB": self.max_raw_mb,
        })
    }

    pub fn from_json(v: &Value) -> Result<BatchingPolicy> {
        let mut p = BatchingPolicy::default();
        let obj = v
            .as_object()
            .ok_or_else(|| bad("the ingestion batching policy must be a JSON object"))?;
        for (k, val) in obj {
            match k.as_str() {
                "MaximumBatchingTimeSpan" => {
                    let text = val.as_str().ok_or_else(|| bad("MaximumBatchingTimeSpan must be a string like \"00:00:30\""))?;
                    let micros = parse_timespan(text)
                        .ok_or_else(|| bad(format!("MaximumBatchingTimeSpan '{text}' is not a timespan")))?;
                    let d = Duration::from_micros(micros.max(0) as u64);
                    if d < MIN_BATCHING_TIME || d > MAX_BATCHING_TIME {
                        return Err(bad(format!(
                            "MaximumBatchingTimeSpan must be between 00:00:01 and 00:30:00, got {text}"
                        )));
                    }
                    p.max_time = d;
                }
                "MaximumNumberOfItems" => {
                    let n = val.as_u64().filter(|n| (1..=MAX_ITEMS).contains(n));
                    p.max_items = n.ok_or_else(|| bad(format!("MaximumNumberOfItems must be 1 to {MAX_ITEMS}")))?;
                }
                "MaximumRawDataSizeMB" => {
                    let n = val.as_u64().filter(|n| (1..=MAX_SIZE_MB).contains(n));
                    p.max_raw_mb = n.ok_or_else(|| bad(format!("MaximumRawDataSizeMB must be 1 to {MAX_SIZE_MB}")))?;
                }
                other => {
                    return Err(bad(format!(
                        "unknown ingestion batching property '{other}'; properties are MaximumBatchingTimeSpan, MaximumNumberOfItems, MaximumRawDataSizeMB"
                    )))
                }
            }
        }
        Ok(p)
    }
}

/// Whether a batch with these totals must be sealed now.
pub fn batch_due(policy: &BatchingPolicy, age: Duration, items: u64, raw_bytes: u64) -> bool {
    items > 0
        && (age >= policy.max_time
            || items >= policy.max_items
            || raw_bytes >= policy.max_raw_mb * 1024 * 1024)
}

/// Retention: rows older than `SoftDeletePeriod` (by ingestion time) are removed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetentionPolicy {
    pub soft_delete: Duration,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            soft_delete: Duration::from_secs(365_000 * 86_400),
        }
    }
}

impl RetentionPolicy {
    pub fn from_json(v: &Value) -> Result<RetentionPolicy> {
        let obj = v
            .as_object()
            .ok_or_else(|| bad("the retention policy must be a JSON object"))?;
        let mut p = RetentionPolicy::default();
        for (k, val) in obj {
            match k.as_str() {
                "SoftDeletePeriod" => {
                    let text = val.as_str().ok_or_else(|| {
                        bad("SoftDeletePeriod must be a string like \"30.00:00:00\"")
                    })?;
                    let micros = parse_timespan(text).filter(|m| *m > 0);
                    p.soft_delete = Duration::from_micros(micros.ok_or_else(|| {
                        bad(format!(
                            "SoftDeletePeriod '{text}' is not a positive timespan"
                        ))
                    })? as u64);
                }
                "Recoverability" => {}
                other => return Err(bad(format!("unknown retention property '{other}'"))),
            }
        }
        Ok(p)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "SoftDeletePeriod": format_timespan(self.soft_delete.as_micros() as i64),
            "Recoverability": "Enabled",
        })
    }
}

/// Streaming ingestion: `{"IsEnabled": bool, "HintAllocatedRate": number?}`. Eddy makes
/// every ingested row queryable at once, so this only records the setting.
pub fn streaming_from_json(v: &Value) -> Result<Value> {
    let obj = v
        .as_object()
        .ok_or_else(|| bad("the streaming ingestion policy must be a JSON object"))?;
    let mut out = Map::new();
    for (k, val) in obj {
        match k.as_str() {
            "IsEnabled" => {
                out.insert(
                    k.clone(),
                    Value::Bool(
                        val.as_bool()
                            .ok_or_else(|| bad("IsEnabled must be true or false"))?,
                    ),
                );
            }
            "HintAllocatedRate" => {
                out.insert(k.clone(), val.clone());
            }
            other => {
                return Err(bad(format!(
                    "unknown streaming ingestion property '{other}'"
                )))
            }
        }
    }
    out.entry("IsEnabled").or_insert(Value::Bool(false));
    Ok(Value::Object(out))
}

/// Eddy's ingestion conversion policy: `{"Strict": bool}`. Kusto turns a value that does
/// not convert into null; with `Strict` the record goes to the ingestion failures instead.
pub fn conversion_from_json(v: &Value) -> Result<Value> {
    let obj = v
        .as_object()
        .ok_or_else(|| bad("the ingestion conversion policy must be a JSON object"))?;
    let mut strict = false;
    for (k, val) in obj {
        match k.as_str() {
            "Strict" => {
                strict = val
                    .as_bool()
                    .ok_or_else(|| bad("Strict must be true or false"))?
            }
            other => {
                return Err(bad(format!(
                    "unknown ingestion conversion property '{other}'; the property is Strict"
                )))
            }
        }
    }
    Ok(json!({ "Strict": strict }))
}

/// Merges `update` into `base` (for `.alter-merge`).
pub fn merge(base: Option<&Value>, update: &Value) -> Value {
    let mut out = base
        .and_then(|b| b.as_object().cloned())
        .unwrap_or_default();
    if let Some(obj) = update.as_object() {
        for (k, v) in obj {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

fn bad(msg: impl Into<String>) -> ExplorerError {
    ExplorerError::InvalidArgument(msg.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_policy_and_due() {
        let p = BatchingPolicy::from_json(&serde_json::json!({"MaximumBatchingTimeSpan":"00:00:30", "MaximumNumberOfItems": 500, "MaximumRawDataSizeMB": 1024})).unwrap();
        assert_eq!(p.max_time, Duration::from_secs(30));
        assert!(!batch_due(&p, Duration::from_secs(29), 10, 100));
        assert!(batch_due(&p, Duration::from_secs(30), 10, 100));
        assert!(batch_due(&p, Duration::ZERO, 500, 100));
        assert!(batch_due(&p, Duration::ZERO, 1, 1024 * 1024 * 1024));
        assert!(!batch_due(&p, Duration::from_secs(3600), 0, 0));
        assert!(BatchingPolicy::from_json(
            &serde_json::json!({"MaximumBatchingTimeSpan":"00:00:00.5"})
        )
        .is_err());
        assert!(BatchingPolicy::from_json(&serde_json::json!({"Bogus": 1})).is_err());
    }
}
