//! The fast path of JSON lines: when every value a mapping reads lies below a top-level
//! key, each line is parsed straight into those keys' values (no map of the whole
//! record), and rows are built from them. Same rows and failures as the general path.

use serde_json::Value;

use super::mapping::{JsonPath, Segment, Source};
use super::{transform, Request};

/// Where each mapping entry (or, without a mapping, each column) finds its value.
pub struct FieldPlan {
    /// The top-level keys read.
    pub keys: Vec<String>,
    /// Per entry: the column it fills and its source.
    entries: Vec<(Option<usize>, Src)>,
}

enum Src {
    /// The value of `keys[slot]`, then `rest` below it; `last` if no later entry reads
    /// the same slot (so it can be moved out).
    Field {
        slot: usize,
        rest: JsonPath,
        last: bool,
    },
    Other,
}

impl FieldPlan {
    /// The plan for `req`, or None when a path reads the whole record or starts with an
    /// array index.
    pub fn new(req: &Request<'_>) -> Option<FieldPlan> {
        let mut keys: Vec<String> = vec![];
        let mut entries = vec![];
        let slot_of = |k: &str, keys: &mut Vec<String>| match keys.iter().position(|x| x == k) {
            Some(i) => i,
            None => {
                keys.push(k.to_string());
                keys.len() - 1
            }
        };
        match req.mapping {
            Some(m) => {
                for e in &m.entries {
                    let col = req.columns.iter().position(|c| c.name == e.column);
                    let src = match &e.source {
                        Source::Path(p) => {
                            let Some(Segment::Key(k)) = p.0.first() else {
                                return None;
                            };
                            Src::Field {
                                slot: slot_of(k, &mut keys),
                                rest: JsonPath(p.0[1..].to_vec()),
                                last: false,
                            }
                        }
                        _ => Src::Other,
                    };
                    entries.push((col, src));
                }
            }
            None => {
                for (i, c) in req.columns.iter().enumerate() {
                    let slot = slot_of(&c.name, &mut keys);
                    entries.push((
                        Some(i),
                        Src::Field {
                            slot,
                            rest: JsonPath(vec![]),
                            last: false,
                        },
                    ));
                }
            }
        }
        // Mark each slot's last reader.
        let mut seen = vec![false; keys.len()];
        for (_, src) in entries.iter_mut().rev() {
            if let Src::Field { slot, last, .. } = src {
                *last = !seen[*slot];
                seen[*slot] = true;
            }
        }
        Some(FieldPlan { keys, entries })
    }

    /// The table's columns from the key columns.
    pub fn columns(
        &self,
        req: &Request<'_>,
        mut keys: Vec<Vec<Option<Value>>>,
        lines: &[u64],
    ) -> Vec<Vec<Option<Value>>> {
        let n = lines.len();
        let mut out: Vec<Vec<Option<Value>>> = vec![vec![None; n]; req.columns.len()];
        for (i, (col, src)) in self.entries.iter().enumerate() {
            let Some(col) = col else { continue };
            let mut values: Vec<Option<Value>> = match src {
                Src::Field { slot, rest, last } if rest.0.is_empty() => {
                    if *last {
                        std::mem::take(&mut keys[*slot])
                    } else {
                        keys[*slot].clone()
                    }
                }
                Src::Field { slot, rest, .. } => keys[*slot]
                    .iter()
                    .map(|v| v.as_ref().and_then(|v| rest.get(v)).cloned())
                    .collect(),
                Src::Other => match req.mapping.map(|m| &m.entries[i].source) {
                    Some(Source::Const(c)) => vec![Some(Value::String(c.clone())); n],
                    _ => vec![None; n],
                },
            };
            if let Some(t) = req.mapping.and_then(|m| m.entries[i].transform) {
                values = values
                    .into_iter()
                    .zip(lines)
                    .map(|(v, line)| transform(t, v, req, *line))
                    .collect();
            }
            out[*col] = values;
        }
        out
    }
}
