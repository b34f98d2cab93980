//! The write-ahead log of a table's un-sealed rows.
//!
//! Segment files `{first_seq:020}.wal` hold records (format in [`segment`]) of one
//! Arrow IPC stream of one batch each, fsynced before the ingest that wrote it is
//! acknowledged. Sealing rotates to a new segment and, once
//! the Delta commit that carries the sealed rows (and their last sequence number, as an
//! app transaction) is durable, deletes the older segments. Replay skips records whose
//! sequence number the Delta table already holds, so a crash between commit and delete
//! neither loses nor doubles rows. A torn or corrupt tail is cut off on open.
//!
//! A record may carry source positions (e.g. a data connection's hub partition and
//! sequence number) in the Arrow schema metadata: they become durable with the rows in
//! the same fsync, and move into the sealing Delta commit as app transactions.

mod segment;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;

use crate::error::{ExplorerError, Result};

/// Schema metadata key of a record's source positions (JSON `[[app id, version], ...]`).
const SOURCES_KEY: &str = "eddy.sources";

/// Source positions recorded with rows: (app id, version).
pub type Sources = Vec<(String, i64)>;

pub struct Wal {
    dir: PathBuf,
    file: segment::Segment,
    current_first: u64,
    next_seq: u64,
}

/// A record read back on open.
pub struct Replayed {
    pub seq: u64,
    pub batches: Vec<RecordBatch>,
    pub sources: Sources,
}

fn segment_name(first: u64) -> String {
    format!("{first:020}.wal")
}

fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = vec![];
    for entry in
        std::fs::read_dir(dir).map_err(ExplorerError::io(format!("list {}", dir.display())))?
    {
        let entry = entry.map_err(ExplorerError::io("read wal dir"))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(first) = name
            .strip_suffix(".wal")
            .and_then(|n| n.parse::<u64>().ok())
        {
            out.push((first, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Writes the Arrow IPC stream of `batches` (at least one, all of one schema) to `out`.
fn encode_into(batches: &[RecordBatch], out: &mut dyn Write) -> std::io::Result<()> {
    let io = |e: datafusion::arrow::error::ArrowError| std::io::Error::other(e.to_string());
    let schema = batches
        .first()
        .ok_or_else(|| std::io::Error::other("a WAL record needs a batch"))?
        .schema();
    let mut w = StreamWriter::try_new(out, &schema).map_err(io)?;
    for b in batches {
        w.write(b).map_err(io)?;
    }
    w.finish().map_err(io)
}

/// The batch of a record and the source positions its schema metadata carries.
fn decode(bytes: &[u8]) -> Result<(Vec<RecordBatch>, Sources)> {
    let r = StreamReader::try_new(std::io::Cursor::new(bytes), None).map_err(arrow_err)?;
    let schema = r.schema();
    let sources = schema
        .metadata()
        .get(SOURCES_KEY)
        .map(|text| {
            serde_json::from_str::<Sources>(text)
                .map_err(|e| ExplorerError::Execution(format!("WAL source positions: {e}")))
        })
        .transpose()?
        .unwrap_or_default();
    let plain = std::sync::Arc::new(datafusion::arrow::datatypes::Schema::new(
        schema.fields().clone(),
    ));
    let mut batches = vec![];
    for b in r {
        let b = b.map_err(arrow_err)?;
        batches.push(RecordBatch::try_new(plain.clone(), b.columns().to_vec()).map_err(arrow_err)?);
    }
    if batches.is_empty() {
        return Err(ExplorerError::Execution("empty WAL record".into()));
    }
    Ok((batches, sources))
}

/// `batches` with `sources` in their schema metadata (unchanged when there are none).
fn with_sources(batches: &[RecordBatch], sources: &[(String, i64)]) -> Result<Vec<RecordBatch>> {
    let Some(first) = batches.first().filter(|_| !sources.is_empty()) else {
        return Ok(batches.to_vec());
    };
    let text = serde_json::to_string(sources).expect("positions serialize");
    let schema = std::sync::Arc::new(datafusion::arrow::datatypes::Schema::new_with_metadata(
        first.schema().fields().clone(),
        HashMap::from([(SOURCES_KEY.to_string(), text)]),
    ));
    batches
        .iter()
        .map(|b| b.clone().with_schema(schema.clone()).map_err(arrow_err))
        .collect()
}

fn arrow_err(e: datafusion::arrow::error::ArrowError) -> ExplorerError {
    ExplorerError::Execution(format!("WAL encoding: {e}"))
}

impl Wal {
    /// Opens the WAL in `dir`, returning the records with `seq > committed` in order.
    /// `committed` is the last sequence number the Delta table holds (-1 for none).
    pub fn open(dir: &Path, committed: i64) -> Result<(Wal, Vec<Replayed>)> {
        std::fs::create_dir_all(dir)
            .map_err(ExplorerError::io(format!("create {}", dir.display())))?;
        let mut replay = vec![];
        let mut next_seq = (committed + 1).max(0) as u64;
        let segs = segments(dir)?;
        for (_, path) in &segs {
            let mut bytes = vec![];
            File::open(path)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .map_err(ExplorerError::io(format!("read {}", path.display())))?;
            let (found, pos) = segment::records(&bytes);
            for rec in found {
                if rec.seq as i64 > committed {
                    let (batches, sources) = decode(rec.payload)?;
                    replay.push(Replayed {
                        seq: rec.seq,
                        batches,
                        sources,
                    });
                }
                next_seq = next_seq.max(rec.seq + 1);
            }
            if pos < bytes.len() {
                tracing::warn!(path = %path.display(), at = pos, "truncating torn WAL tail");
                let f = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(ExplorerError::io("open wal"))?;
                f.set_len(pos as u64)
                    .and_then(|_| f.sync_all())
                    .map_err(ExplorerError::io("truncate wal"))?;
            }
        }
        // Start a fresh segment; the old ones stay until a seal commits their rows.
        let first = next_seq;
        let path = dir.join(segment_name(first));
        let file = segment::Segment::create(&path)
            .map_err(ExplorerError::io(format!("create {}", path.display())))?;
        eddy_common::fsutil::sync_dir(dir).map_err(ExplorerError::io("sync wal dir"))?;
        Ok((
            Wal {
                dir: dir.to_path_buf(),
                file,
                current_first: first,
                next_seq,
            },
            replay,
        ))
    }

    /// Appends one record of batches (with the source positions it carries) durably and returns
    /// its sequence number.
    pub fn append(&mut self, batches: &[RecordBatch], sources: &[(String, i64)]) -> Result<u64> {
        let seq = self.next_seq;
        let batches = with_sources(batches, sources)?;
        let size = batches.iter().map(RecordBatch::get_array_memory_size).sum();
        self.file
            .append(seq, size, |out| encode_into(&batches, out))
            .map_err(ExplorerError::io("append to WAL"))?;
        self.next_seq += 1;
        Ok(seq)
    }

    /// Starts a new segment; records written before stay in the older segments.
    pub fn rotate(&mut self) -> Result<()> {
        let first = self.next_seq;
        if first == self.current_first {
            return Ok(());
        }
        let path = self.dir.join(segment_name(first));
        self.file = segment::Segment::create(&path)
            .map_err(ExplorerError::io(format!("create {}", path.display())))?;
        self.current_first = first;
        eddy_common::fsutil::sync_dir(&self.dir).map_err(ExplorerError::io("sync wal dir"))
    }

    /// Deletes the segments whose records all have `seq <= upto` (they are committed).
    pub fn release(&mut self, upto: u64) -> Result<()> {
        let segs = segments(&self.dir)?;
        for (i, (first, path)) in segs.iter().enumerate() {
            let next_first = segs.get(i + 1).map(|s| s.0).unwrap_or(self.next_seq);
            if *first != self.current_first && next_first <= upto + 1 {
                std::fs::remove_file(path)
                    .map_err(ExplorerError::io(format!("remove {}", path.display())))?;
            }
        }
        eddy_common::fsutil::sync_dir(&self.dir).map_err(ExplorerError::io("sync wal dir"))
    }

    /// Deletes every segment (after `.set-or-replace` or a drop).
    pub fn clear(&mut self) -> Result<()> {
        self.rotate()?;
        self.release(self.next_seq.saturating_sub(1))
    }
}

#[cfg(test)]
mod tests;
