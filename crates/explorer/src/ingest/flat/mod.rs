//! The fastest path of JSON lines: when every column comes from one top-level key (a
//! flat mapping, or none), a scanner finds the wanted values in each line and writes
//! them straight into the table's columns; nothing else is built.
//!
//! It gives exactly the rows the general path gives, or nothing: a chunk with anything
//! the general path would report (a malformed or non-object line, invalid UTF-8, a
//! value serde_json refuses) or that this path does not read (an escaped key, deep
//! nesting) goes to the general path, which records the per-line failures.

mod build;
mod scan;

use datafusion::arrow::record_batch::RecordBatch;
use eddy_kql::types::arrow_schema;

use super::mapping::{Segment, Source};
use super::{Parsed, Request};
use build::Column;
use scan::{Cell, Keys, Order, Scanner};

/// Rows the columns first have room for; then room for the rest is estimated from
/// the bytes these took.
const FIRST_ROWS: usize = 1024;

pub struct FlatPlan {
    /// The top-level keys read.
    keys: Keys,
    /// Per table column: the key it comes from.
    sources: Vec<Option<usize>>,
}

impl FlatPlan {
    /// The plan for `req`, if it qualifies.
    pub fn new(req: &Request<'_>) -> Option<FlatPlan> {
        if req.strict {
            return None;
        }
        let pairs: Vec<(usize, &str)> = match req.mapping {
            Some(m) => {
                let mut out = vec![];
                for e in &m.entries {
                    let col = req.columns.iter().position(|c| c.name == e.column)?;
                    match (&e.source, e.transform) {
                        (Source::Path(p), None) => match p.0.as_slice() {
                            [Segment::Key(k)] => out.push((col, k.as_str())),
                            _ => return None,
                        },
                        _ => return None,
                    }
                }
                out
            }
            None => req
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| (i, c.name.as_str()))
                .collect(),
        };
        let mut keys: Vec<Vec<u8>> = vec![];
        let mut sources = vec![None; req.columns.len()];
        for (col, key) in pairs {
            // A column filled twice: the general path (the last entry wins there).
            if sources[col].is_some() {
                return None;
            }
            let k = match keys.iter().position(|k| k == key.as_bytes()) {
                Some(k) => k,
                None => {
                    keys.push(key.as_bytes().to_vec());
                    keys.len() - 1
                }
            };
            sources[col] = Some(k);
        }
        Some(FlatPlan {
            keys: Keys::new(keys),
            sources,
        })
    }

    /// The rows of NDJSON `bytes`, or None when the general path must read them.
    pub fn decode(&self, req: &Request<'_>, bytes: &[u8], skip_first: bool) -> Option<Parsed> {
        // Offsets of string columns are 32-bit.
        if bytes.len() > i32::MAX as usize / 2 {
            return None;
        }
        let src = build::Source { bytes };
        let mut columns: Vec<Option<Column>> = req
            .columns
            .iter()
            .zip(&self.sources)
            .map(|(c, s)| s.map(|_| Column::new(c.ty, FIRST_ROWS)))
            .collect();
        let mut cells = vec![Cell::Missing; self.keys.len()];
        let mut scanner = Scanner::new(bytes);
        let (mut rows, mut failed, mut skip) = (0, 0u64, skip_first);
        let mut order = Order::new(self.keys.len());
        while scanner.next_record() {
            cells.fill(Cell::Missing);
            scanner.object(&mut cells, &self.keys, &mut order)?;
            scanner.end_of_line()?;
            if std::mem::take(&mut skip) {
                continue;
            }
            for (col, src_key) in columns.iter_mut().zip(&self.sources) {
                if let (Some(col), Some(k)) = (col, src_key) {
                    col.push(&src, cells[*k], &mut failed)?;
                }
            }
            rows += 1;
            if rows == FIRST_ROWS {
                // Room for the rest at the bytes per row so far, and a little more.
                let left = (bytes.len() - scanner.i) * rows / scanner.i.max(1);
                columns
                    .iter_mut()
                    .flatten()
                    .for_each(|c| c.reserve_like(rows, left + left / 32));
            }
        }
        let mut arrays = vec![];
        for (col, c) in columns.into_iter().zip(req.columns) {
            arrays.push(match col {
                Some(col) => {
                    let (array, refused) = col.finish();
                    failed += refused;
                    array
                }
                None => build::absent(c.ty, rows),
            });
        }
        let batch = RecordBatch::try_new(arrow_schema(req.columns), arrays).ok()?;
        Some(Parsed {
            batches: vec![batch],
            failures: vec![],
            conversion_failures: failed,
            raw_bytes: bytes.len() as u64,
        })
    }
}

#[cfg(test)]
mod tests;
