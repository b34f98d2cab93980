//! Client request properties: what a request asks for beyond its text. Kusto clients send
//! them as `{"Options": {...}, "Parameters": {...}}` (as an object or a JSON string).

use std::collections::HashMap;
use std::time::Duration;

use eddy_kql::plan::QueryOptions;
use serde_json::Value;

use crate::error::{ExplorerError, Result};

/// The request properties Eddy honours; the others are accepted and ignored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestProperties {
    pub no_truncation: Option<bool>,
    pub max_records: Option<usize>,
    pub max_bytes: Option<usize>,
    /// `servertimeout`; `None` means no limit beyond the client's own.
    pub timeout: Option<Duration>,
    /// `deferpartialqueryfailures`: report a truncated result without the error row.
    pub defer_partial_failures: bool,
    /// Values for `declare query_parameters`, as text.
    pub parameters: HashMap<String, String>,
}

impl RequestProperties {
    /// Reads Kusto's `properties` value: an object, a JSON string of one, or null.
    pub fn from_json(value: Option<&Value>) -> Result<RequestProperties> {
        let parsed;
        let obj = match value {
            None | Some(Value::Null) => return Ok(RequestProperties::default()),
            Some(Value::String(s)) if s.trim().is_empty() => {
                return Ok(RequestProperties::default())
            }
            Some(Value::String(s)) => {
                parsed = serde_json::from_str::<Value>(s)
                    .map_err(|e| bad(format!("properties is not a JSON object: {e}")))?;
                &parsed
            }
            Some(v) => v,
        };
        let Value::Object(obj) = obj else {
            return Err(bad("properties must be a JSON object".into()));
        };
        let mut props = RequestProperties::default();
        if let Some(options) = field(obj, "Options") {
            let Value::Object(options) = options else {
                return Err(bad("properties.Options must be an object".into()));
            };
            for (name, v) in options {
                props.option(name, v)?;
            }
        }
        if let Some(params) = field(obj, "Parameters") {
            let Value::Object(params) = params else {
                return Err(bad("properties.Parameters must be an object".into()));
            };
            for (name, v) in params {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => continue,
                    other => other.to_string(),
                };
                props.parameters.insert(name.clone(), text);
            }
        }
        Ok(props)
    }

    /// Sets one named option (also used for options sent as request headers).
    pub fn option(&mut self, name: &str, v: &Value) -> Result<()> {
        match name.to_ascii_lowercase().as_str() {
            "notruncation" => self.no_truncation = Some(flag(name, v)?),
            "deferpartialqueryfailures" => self.defer_partial_failures = flag(name, v)?,
            "truncationmaxrecords" => self.max_records = Some(count(name, v)?),
            "truncationmaxsize" => self.max_bytes = Some(count(name, v)?),
            "servertimeout" => self.timeout = Some(timespan(name, v)?),
            "norequesttimeout" if flag(name, v)? => self.timeout = None,
            _ => {}
        }
        Ok(())
    }

    /// The query options these properties start a query with (before its `set`s).
    pub fn query_options(&self) -> QueryOptions {
        let mut o = QueryOptions::default();
        if let Some(v) = self.no_truncation {
            o.no_truncation = v;
        }
        if let Some(v) = self.max_records {
            o.max_records = v;
        }
        if let Some(v) = self.max_bytes {
            o.max_bytes = v;
        }
        o
    }
}

fn field<'a>(obj: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn bad(message: String) -> ExplorerError {
    ExplorerError::InvalidArgument(message)
}

fn flag(name: &str, v: &Value) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(bad(format!(
            "request option {name} must be true or false, got {v}"
        ))),
    }
}

fn count(name: &str, v: &Value) -> Result<usize> {
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    match n {
        Some(n) if n > 0 => Ok(n as usize),
        _ => Err(bad(format!(
            "request option {name} must be a positive number, got {v}"
        ))),
    }
}

fn timespan(name: &str, v: &Value) -> Result<Duration> {
    let micros = match v {
        Value::String(s) => eddy_kql::values::parse_timespan(s),
        _ => None,
    };
    match micros {
        Some(m) if m > 0 => Ok(Duration::from_micros(m as u64)),
        _ => Err(bad(format!(
            "request option {name} must be a positive timespan such as \"00:04:00\" or \"4m\", got {v}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn object_and_string_forms_read_the_same() {
        let obj = json!({"Options": {"servertimeout": "0:00:30", "notruncation": true,
            "truncationmaxrecords": 10, "other": 1}, "Parameters": {"n": "5"}});
        let a = RequestProperties::from_json(Some(&obj)).unwrap();
        let b = RequestProperties::from_json(Some(&Value::String(obj.to_string()))).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.timeout, Some(Duration::from_secs(30)));
        assert_eq!(a.no_truncation, Some(true));
        assert_eq!(a.max_records, Some(10));
        assert_eq!(a.parameters["n"], "5");
    }

    #[test]
    fn bad_values_are_rejected() {
        for bad in [
            json!({"Options": {"truncationmaxrecords": -1}}),
            json!({"Options": {"servertimeout": "soon"}}),
            json!({"Options": {"notruncation": "maybe"}}),
            json!("not json"),
            json!([1]),
        ] {
            assert!(RequestProperties::from_json(Some(&bad)).is_err(), "{bad}");
        }
        assert_eq!(
            RequestProperties::from_json(Some(&json!(""))).unwrap(),
            RequestProperties::default()
        );
    }
}
