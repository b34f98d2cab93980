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

/// Values of top-level `keys` in each line, one column per key: the fast path for
/// mappings that only read below top-level keys. A line that is not one JSON object
/// gets the same failure as in [`lines`].
pub fn lines_fields(text: &str, first_line: u64, keys: &[&str]) -> FieldColumns {
    let mut out = FieldColumns {
        lines: vec![],
        columns: vec![vec![]; keys.len()],
        failures: vec![],
    };
    let mut fields = vec![None; keys.len()];
    for (i, line) in text.lines().enumerate() {
        let line_no = first_line + i as u64;
        if line.trim().is_empty() {
            continue;
        }
        if object_fields(line, keys, &mut fields) {
            out.lines.push(line_no);
            for (col, f) in out.columns.iter_mut().zip(fields.iter_mut()) {
                col.push(f.take());
            }
            continue;
        }
        let (records, failures) = lines(line, line_no);
        out.failures.extend(failures);
        // Not expected (the object parsed slowly but not quickly); keep it anyway.
        for (n, v) in records {
            out.lines.push(n);
            for (col, k) in out.columns.iter_mut().zip(keys) {
                col.push(v.get(*k).cloned());
            }
        }
    }
    out
}

/// Rows of JSON lines as the values of some top-level keys.
pub struct FieldColumns {
    /// The line number of each row.
    pub lines: Vec<u64>,
    /// Per key, its value in each row.
    pub columns: Vec<Vec<Option<Value>>>,
    pub failures: Vec<RecordFailure>,
}

impl FieldColumns {
    /// Drops the first row (`ignoreFirstRecord`).
    pub fn skip_first(&mut self) {
        if !self.lines.is_empty() {
            self.lines.remove(0);
            for c in &mut self.columns {
                c.remove(0);
            }
        }
    }
}

/// The values of `keys` in `line` if it is exactly one JSON object (the last of a
/// repeated key wins, as when parsing to a map).
/// Fills `out` (all None on entry) and says whether it was.
fn object_fields(line: &str, keys: &[&str], out: &mut [Option<Value>]) -> bool {
    use serde::de::Deserializer as _;
    let mut de = serde_json::Deserializer::from_str(line);
    let ok = de.deserialize_map(Fields { keys, out }).is_ok() && de.end().is_ok();
    if !ok {
        out.iter_mut().for_each(|f| *f = None);
    }
    ok
}

struct Fields<'a> {
    keys: &'a [&'a str],
    out: &'a mut [Option<Value>],
}

impl<'de> serde::de::Visitor<'de> for Fields<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
            match self.keys.iter().position(|x| *x == k) {
                Some(i) => self.out[i] = Some(map.next_value::<Value>()?),
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}
