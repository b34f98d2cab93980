//! The partition log: an append-only sequence of segment files.
//!
//! ```text
//!  senders ──append──▶ channel ──▶ writer thread: drain all waiting requests,
//!                                  encode one batch each, one write, one fsync,
//!                                  publish (state + watch), answer every sender
//!  readers ──read(seq)──▶ state (segments, sparse index) ──pread──▶ decode
//! ```
//!
//! Invariants: readers only see bytes the writer has published, which in `always`
//! mode means fsynced; a send's events are one batch, so a crash keeps all or none of
//! them; on open the last segment is verified batch by batch and a torn tail is cut.

mod read;
pub mod segment;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use eddy_common::config::FsyncMode;

use crate::error::{HubError, Result};
use crate::event::EventData;
use segment::Segment;

pub use writer::AppendResult;

#[derive(Debug, Clone)]
pub struct LogOptions {
    pub segment_bytes: u64,
    pub fsync: FsyncMode,
    pub lazy_flush: Duration,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            segment_bytes: 128 * 1024 * 1024,
            fsync: FsyncMode::Always,
            lazy_flush: Duration::from_secs(1),
        }
    }
}

/// What readers see of the log; updated by the writer under the lock.
#[derive(Debug)]
pub(crate) struct LogState {
    pub segments: Vec<Segment>,
    pub last_event: Option<LastEvent>,
}

/// The last enqueued event, as Event Hubs reports it in partition properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastEvent {
    pub sequence_number: u64,
    pub offset: u64,
    pub enqueued_time_ms: i64,
}

/// A summary for partition properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogInfo {
    pub begin_sequence_number: u64,
    pub next_sequence_number: u64,
    pub last: Option<LastEvent>,
    pub size_bytes: u64,
    pub segments: usize,
}

pub struct PartitionLog {
    partition: u32,
    dir: PathBuf,
    state: Arc<RwLock<LogState>>,
    tx: Mutex<Option<std::sync::mpsc::Sender<writer::Command>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    published: tokio::sync::watch::Receiver<u64>,
}

impl PartitionLog {
    /// Opens (or creates) the log in `dir` and starts its writer thread.
    pub fn open(dir: &Path, partition: u32, options: LogOptions) -> Result<PartitionLog> {
        std::fs::create_dir_all(dir).map_err(HubError::io(format!("create {}", dir.display())))?;
        let mut names: Vec<(u64, u64, PathBuf)> = std::fs::read_dir(dir)
            .map_err(HubError::io(format!("list {}", dir.display())))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                Segment::parse_name(&name).map(|(s, o)| (s, o, e.path()))
            })
            .collect();
        names.sort();
        let mut segments = Vec::with_capacity(names.len().max(1));
        let count = names.len();
        for (i, (base_seq, base_offset, path)) in names.into_iter().enumerate() {
            let last = i + 1 == count;
            let seg = Segment::open(&path, base_seq, base_offset, last)?;
            if let Some(prev) = segments.last() {
                let prev: &Segment = prev;
                if prev.next_seq != seg.base_seq || prev.base_offset + prev.len != seg.base_offset {
                    return Err(HubError::Corrupt {
                        path: path.display().to_string(),
                        position: 0,
                        detail: format!(
                            "segment does not follow the previous one (expected sequence {})",
                            prev.next_seq
                        ),
                    });
                }
                if !prev.index_path().exists() {
                    prev.write_index()?;
                }
            }
            segments.push(seg);
        }
        if segments.is_empty() {
            segments.push(Segment::create(dir, 0, 0)?);
        }
        let last_event = read::last_event(&segments, partition)?;
        let next_seq = segments.last().map_or(0, |s| s.next_seq);
        let state = Arc::new(RwLock::new(LogState {
            segments,
            last_event,
        }));
        let (watch_tx, published) = tokio::sync::watch::channel(next_seq);
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = writer::spawn(
            dir.to_path_buf(),
            partition,
            state.clone(),
            rx,
            watch_tx,
            options,
        )?;
        Ok(PartitionLog {
            partition,
            dir: dir.to_path_buf(),
            state,
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            published,
        })
    }

    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// Appends `events` as one batch; resolves once the batch is durable (or written,
    /// in lazy mode) and visible to readers.
    pub async fn append(&self, events: Vec<EventData>) -> Result<AppendResult> {
        if events.is_empty() {
            return Err(HubError::InvalidArgument(
                "a send must carry at least one event".into(),
            ));
        }
        let (reply, rx) = tokio::sync::oneshot::channel();
        {
            let tx = self.tx.lock().unwrap();
            let tx = tx.as_ref().ok_or(HubError::ShuttingDown)?;
            tx.send(writer::Command::Append(writer::Request { events, reply }))
                .map_err(|_| HubError::ShuttingDown)?;
        }
        rx.await.map_err(|_| HubError::ShuttingDown)?
    }

    pub fn info(&self) -> LogInfo {
        let state = self.state.read().unwrap();
        LogInfo {
            begin_sequence_number: state.segments.first().map_or(0, |s| s.base_seq),
            next_sequence_number: state.segments.last().map_or(0, |s| s.next_seq),
            last: state.last_event,
            size_bytes: state.segments.iter().map(|s| s.len).sum(),
            segments: state.segments.len(),
        }
    }

    /// A receiver that changes whenever new events become visible (value: next seq).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.published.clone()
    }

    /// Deletes whole sealed segments that are older than `cutoff_ms` (every event in
    /// them enqueued before it) or that push the log over `max_bytes`. The active
    /// segment is never deleted by size; when all its data is past `cutoff_ms` it is
    /// sealed first and deleted like the others. Returns how many segments were removed.
    pub fn enforce_retention(
        &self,
        cutoff_ms: Option<i64>,
        max_bytes: Option<u64>,
    ) -> Result<usize> {
        if let Some(cutoff) = cutoff_ms {
            // Data in the active segment expires too: seal it so it can be deleted.
            let stale = {
                let state = self.state.read().unwrap();
                let active = state.segments.last().expect("active segment");
                active.len > 0 && active.last_time_ms.is_some_and(|t| t < cutoff)
            };
            if stale {
                self.roll()?;
            }
        }
        let mut removed = Vec::new();
        {
            let mut state = self.state.write().unwrap();
            let mut total: u64 = state.segments.iter().map(|s| s.len).sum();
            while state.segments.len() > 1 {
                let oldest = &state.segments[0];
                let expired = match (cutoff_ms, oldest.last_time_ms) {
                    (Some(cutoff), Some(last)) => last < cutoff,
                    _ => false,
                };
                let over = max_bytes.is_some_and(|m| total > m);
                if !(expired || over) {
                    break;
                }
                total -= oldest.len;
                removed.push(state.segments.remove(0));
            }
        }
        for seg in &removed {
            tracing::info!(segment = %seg.path.display(), "retention removed segment");
            std::fs::remove_file(&seg.path).map_err(HubError::io("remove expired segment"))?;
            let _ = std::fs::remove_file(seg.index_path());
        }
        if !removed.is_empty() {
            segment::sync_dir(&self.dir)?;
        }
        Ok(removed.len())
    }

    /// Seals the active segment (when it holds data) and starts a new one.
    fn roll(&self) -> Result<()> {
        let (reply, rx) = std::sync::mpsc::channel();
        {
            let tx = self.tx.lock().unwrap();
            let tx = tx.as_ref().ok_or(HubError::ShuttingDown)?;
            tx.send(writer::Command::Roll(reply))
                .map_err(|_| HubError::ShuttingDown)?;
        }
        rx.recv().map_err(|_| HubError::ShuttingDown)?
    }

    /// Stops the writer after it has written, synced and answered every pending send.
    pub fn close(&self) {
        drop(self.tx.lock().unwrap().take());
        if let Some(t) = self.thread.lock().unwrap().take() {
            let _ = t.join();
        }
    }
}

impl Drop for PartitionLog {
    fn drop(&mut self) {
        self.close();
    }
}
