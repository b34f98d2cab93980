//! Ingestion mappings: which source field feeds which column, with transforms.
//!
//! JSON/Avro mappings use JSON paths (`$`, `$.a.b`, `$['a b']`, `$.arr[0]`); Avro also
//! `Field`; CSV uses `Ordinal` (a number or a numeric string). Keys are matched
//! case-insensitively, and both the current (`Properties: {Path}`) and the legacy flat
//! form (`{"column", "path", "datatype"}`) are accepted.

use eddy_kql::command::MappingKind;
use eddy_kql::types::ColumnDef;
use serde_json::Value;

use crate::error::{ExplorerError, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Key(String),
    Index(i64),
}

/// A parsed JSON path; an empty path is `$`, the whole record.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath(pub Vec<Segment>);

impl JsonPath {
    pub fn parse(text: &str) -> Result<JsonPath> {
        let bad = |why: &str| {
            ExplorerError::InvalidArgument(format!("invalid JSON path '{text}': {why}"))
        };
        let s = text.trim();
        let mut rest = s
            .strip_prefix('$')
            .ok_or_else(|| bad("it must start with '$'"))?;
        let mut segs = vec![];
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('.') {
                let end = r.find(['.', '[']).unwrap_or(r.len());
                if end == 0 {
                    return Err(bad("empty name after '.'"));
                }
                segs.push(Segment::Key(r[..end].to_string()));
                rest = &r[end..];
            } else if let Some(r) = rest.strip_prefix('[') {
                let close = r.find(']').ok_or_else(|| bad("missing ']'"))?;
                let inner = r[..close].trim();
                if let Some(q) = inner.chars().next().filter(|c| *c == '\'' || *c == '"') {
                    let name = inner
                        .strip_prefix(q)
                        .and_then(|x| x.strip_suffix(q))
                        .ok_or_else(|| bad("unbalanced quotes"))?;
                    segs.push(Segment::Key(name.to_string()));
                } else {
                    segs.push(Segment::Index(
                        inner
                            .parse()
                            .map_err(|_| bad("an index must be a number"))?,
                    ));
                }
                rest = &r[close + 1..];
            } else {
                return Err(bad("expected '.' or '['"));
            }
        }
        Ok(JsonPath(segs))
    }

    pub fn get<'a>(&self, v: &'a Value) -> Option<&'a Value> {
        let mut cur = v;
        for seg in &self.0 {
            cur = match (seg, cur) {
                (Segment::Key(k), Value::Object(m)) => m.get(k)?,
                (Segment::Index(i), Value::Array(a)) => {
                    let idx = if *i < 0 { a.len() as i64 + i } else { *i };
                    a.get(usize::try_from(idx).ok()?)?
                }
                _ => return None,
            };
        }
        Some(cur)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    DateTimeFromUnixSeconds,
    DateTimeFromUnixMilliseconds,
    DateTimeFromUnixMicroseconds,
    DateTimeFromUnixNanoseconds,
    SourceLocation,
    SourceLineNumber,
    PropertyBagArrayToDictionary,
    DropMappedFields,
}

impl Transform {
    fn parse(s: &str) -> Option<Transform> {
        Some(match s {
            "DateTimeFromUnixSeconds" => Transform::DateTimeFromUnixSeconds,
            "DateTimeFromUnixMilliseconds" => Transform::DateTimeFromUnixMilliseconds,
            "DateTimeFromUnixMicroseconds" => Transform::DateTimeFromUnixMicroseconds,
            "DateTimeFromUnixNanoseconds" => Transform::DateTimeFromUnixNanoseconds,
            "SourceLocation" => Transform::SourceLocation,
            "SourceLineNumber" => Transform::SourceLineNumber,
            "PropertyBagArrayToDictionary" => Transform::PropertyBagArrayToDictionary,
            "DropMappedFields" => Transform::DropMappedFields,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Path(JsonPath),
    Ordinal(usize),
    Const(String),
    /// Only a transform that needs no input (`SourceLocation`, `SourceLineNumber`).
    Nothing,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub column: String,
    pub source: Source,
    pub transform: Option<Transform>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub kind: MappingKind,
    pub entries: Vec<Entry>,
}

fn get_ci<'a>(obj: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Mapping {
    /// Parses and validates a mapping against the table's columns.
    pub fn parse(kind: MappingKind, body: &str, columns: &[ColumnDef]) -> Result<Mapping> {
        let bad = |why: String| {
            ExplorerError::InvalidArgument(format!(
                "invalid {} mapping: {why}",
                kind.name().to_lowercase()
            ))
        };
        let v: Value = serde_json::from_str(body).map_err(|e| bad(format!("not JSON: {e}")))?;
        let items = v
            .as_array()
            .ok_or_else(|| bad("expected a JSON array of column mappings".into()))?;
        let mut entries = vec![];
        for (i, item) in items.iter().enumerate() {
            let obj = item
                .as_object()
                .ok_or_else(|| bad(format!("element {i} is not an object")))?;
            let column = get_ci(obj, "column")
                .or_else(|| get_ci(obj, "Name"))
                .and_then(as_text)
                .ok_or_else(|| bad(format!("element {i} has no \"column\"")))?;
            if !columns.iter().any(|c| c.name == column) {
                let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
                return Err(bad(format!(
                    "column '{column}' is not in the table; columns are {}",
                    names.join(", ")
                )));
            }
            let props = get_ci(obj, "Properties")
                .and_then(|p| p.as_object())
                .cloned()
                .unwrap_or_default();
            let prop = |k: &str| {
                get_ci(&props, k)
                    .or_else(|| get_ci(obj, k))
                    .and_then(as_text)
            };
            let transform = match prop("Transform") {
                Some(t) => Some(
                    Transform::parse(&t).ok_or_else(|| bad(format!("unknown transform '{t}'")))?,
                ),
                None => None,
            };
            let source = if let Some(c) = prop("ConstValue") {
                Source::Const(c)
            } else {
                match kind {
                    MappingKind::Csv => match prop("Ordinal") {
                        Some(o) => Source::Ordinal(o.trim().parse().map_err(|_| {
                            bad(format!("Ordinal '{o}' of '{column}' is not a number"))
                        })?),
                        None => Source::Nothing,
                    },
                    _ => {
                        match prop("Path").or_else(|| prop("Field").map(|f| format!("$['{f}']"))) {
                            Some(p) => Source::Path(JsonPath::parse(&p)?),
                            None => Source::Nothing,
                        }
                    }
                }
            };
            if source == Source::Nothing
                && !matches!(
                    transform,
                    Some(Transform::SourceLocation | Transform::SourceLineNumber)
                )
            {
                return Err(bad(format!(
                    "'{column}' needs {} or ConstValue",
                    if kind == MappingKind::Csv {
                        "Ordinal"
                    } else {
                        "Path"
                    }
                )));
            }
            entries.push(Entry {
                column,
                source,
                transform,
            });
        }
        if entries.is_empty() {
            return Err(bad("it maps no columns".into()));
        }
        Ok(Mapping { kind, entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths() {
        let v = json!({"a": {"b c": [1, {"d": 2}]}, "x-opt-enqueued-time": "t"});
        assert_eq!(JsonPath::parse("$").unwrap().get(&v), Some(&v));
        assert_eq!(
            JsonPath::parse("$.a['b c'][1].d").unwrap().get(&v),
            Some(&json!(2))
        );
        assert_eq!(
            JsonPath::parse("$.a[\"b c\"][-2]").unwrap().get(&v),
            Some(&json!(1))
        );
        assert_eq!(
            JsonPath::parse("$.x-opt-enqueued-time").unwrap().get(&v),
            Some(&json!("t"))
        );
        assert_eq!(JsonPath::parse("$.missing.z").unwrap().get(&v), None);
        assert!(JsonPath::parse("a.b").is_err());
        assert!(JsonPath::parse("$.a[x]").is_err());
    }
}
