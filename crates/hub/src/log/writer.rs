//! The writer thread of one partition: group commit.
//!
//! Every request waiting in the channel when the writer wakes is encoded (one batch
//! each) into one buffer, written with one `pwrite` and made durable with one
//! `fdatasync`, then published and answered. Under load, a single fsync covers many
//! senders, which is what lets durable acknowledgement keep up with the disk.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use eddy_common::config::FsyncMode;
use std::os::unix::fs::FileExt;

use super::segment::Segment;
use super::{LastEvent, LogOptions, LogState};
use crate::codec::{encode_batch, BatchHeader};
use crate::error::{HubError, Result};
use crate::event::EventData;

/// Pending bytes after which the writer stops draining and commits what it has.
const MAX_GROUP_BYTES: usize = 16 * 1024 * 1024;

/// How long a writer waits for more senders to join a group commit, when the
/// previous commit showed there are concurrent senders.
const GROUP_LINGER: Duration = Duration::from_micros(200);

pub(crate) struct Request {
    pub events: Vec<EventData>,
    pub reply: tokio::sync::oneshot::Sender<Result<AppendResult>>,
}

/// What the writer thread is asked to do.
pub(crate) enum Command {
    Append(Request),
    /// Seal the active segment now (when it has data), so retention can delete it.
    Roll(std::sync::mpsc::Sender<Result<()>>),
}

/// Where an acknowledged send landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    pub partition: u32,
    pub first_sequence_number: u64,
    pub last_sequence_number: u64,
    pub first_offset: u64,
    pub enqueued_time_ms: i64,
}

struct Writer {
    dir: PathBuf,
    partition: u32,
    state: Arc<RwLock<LogState>>,
    published: tokio::sync::watch::Sender<u64>,
    options: LogOptions,
    buf: BytesMut,
}

pub(crate) fn spawn(
    dir: PathBuf,
    partition: u32,
    state: Arc<RwLock<LogState>>,
    rx: Receiver<Command>,
    published: tokio::sync::watch::Sender<u64>,
    options: LogOptions,
) -> Result<JoinHandle<()>> {
    let name = format!("eddy-log-{partition}");
    let mut w = Writer {
        dir,
        partition,
        state,
        published,
        options,
        buf: BytesMut::with_capacity(1 << 20),
    };
    std::thread::Builder::new()
        .name(name)
        .spawn(move || w.run(rx))
        .map_err(HubError::io("spawn log writer"))
}

impl Writer {
    fn run(&mut self, rx: Receiver<Command>) {
        let lazy = self.options.fsync == FsyncMode::Lazy;
        let mut dirty = false;
        let mut last_sync = Instant::now();
        let mut last_group = 1usize;
        loop {
            let first = if lazy && dirty {
                let wait = self.options.lazy_flush.saturating_sub(last_sync.elapsed());
                match rx.recv_timeout(wait) {
                    Ok(r) => r,
                    Err(RecvTimeoutError::Timeout) => {
                        self.sync();
                        dirty = false;
                        last_sync = Instant::now();
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match rx.recv() {
                    Ok(r) => r,
                    Err(_) => break,
                }
            };
            let first = match first {
                Command::Append(r) => r,
                Command::Roll(reply) => {
                    let _ = reply.send(self.roll(true));
                    continue;
                }
            };
            let mut pending_roll = None;
            let mut size: usize = first.events.iter().map(|e| e.size_estimate()).sum();
            let mut group = vec![first];
            // When the last commit was shared, other senders are active: give them a
            // moment to join this fsync rather than paying for one of their own.
            let linger = if !lazy && last_group > 1 {
                GROUP_LINGER
            } else {
                Duration::ZERO
            };
            let gather_until = Instant::now() + linger;
            while size < MAX_GROUP_BYTES {
                match rx.try_recv() {
                    Ok(Command::Append(r)) => {
                        size += r.events.iter().map(|e| e.size_estimate()).sum::<usize>();
                        group.push(r);
                    }
                    Ok(Command::Roll(reply)) => {
                        pending_roll = Some(reply);
                        break;
                    }
                    // Linger only until as many senders as last time have joined.
                    Err(_) if group.len() < last_group && Instant::now() < gather_until => {
                        std::thread::yield_now()
                    }
                    Err(_) => break,
                }
            }
            last_group = group.len();
            self.commit(group, !lazy);
            if let Some(reply) = pending_roll {
                let _ = reply.send(self.roll(true));
            }
            if lazy {
                dirty = true;
                if last_sync.elapsed() >= self.options.lazy_flush {
                    self.sync();
                    dirty = false;
                    last_sync = Instant::now();
                }
            }
        }
        if dirty {
            self.sync();
        }
    }

    fn sync(&self) {
        let file = self
            .state
            .read()
            .unwrap()
            .segments
            .last()
            .map(|s| s.file.clone());
        if let Some(f) = file {
            if let Err(e) = f.sync_data() {
                tracing::error!(partition = self.partition, error = %e, "lazy fsync failed");
            }
        }
    }

    fn commit(&mut self, group: Vec<Request>, durable: bool) {
        match self.write_group(&group, durable) {
            Ok(results) => {
                for (req, result) in group.into_iter().zip(results) {
                    let _ = req.reply.send(Ok(result));
                }
            }
            Err(e) => {
                tracing::error!(partition = self.partition, error = %e, "append failed");
                let msg = e.to_string();
                for req in group {
                    let _ = req.reply.send(Err(HubError::Io {
                        context: "append".into(),
                        source: std::io::Error::other(msg.clone()),
                    }));
                }
            }
        }
    }

    fn write_group(&mut self, group: &[Request], durable: bool) -> Result<Vec<AppendResult>> {
        self.roll(false)?;
        let (file, start, base_offset, mut seq, last_time) = {
            let st = self.state.read().unwrap();
            let seg = st
                .segments
                .last()
                .expect("a log always has an active segment");
            let last_time = st.last_event.map_or(i64::MIN, |e| e.enqueued_time_ms);
            (
                seg.file.clone(),
                seg.len,
                seg.base_offset,
                seg.next_seq,
                last_time,
            )
        };
        // Enqueued times never go backwards within a partition.
        let now = chrono::Utc::now().timestamp_millis().max(last_time);
        self.buf.clear();
        let mut batches = Vec::with_capacity(group.len());
        for req in group {
            let at = self.buf.len();
            let positions = encode_batch(&mut self.buf, seq, now, &req.events);
            let header = BatchHeader::parse(&self.buf[at..]).expect("encoded header parses");
            batches.push((start + at as u64, header, positions));
            seq += req.events.len() as u64;
        }
        let written = file.write_all_at(&self.buf, start).and_then(|_| {
            if durable {
                file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            // Take back whatever part of the group reached the file, so the next
            // group starts on a batch boundary.
            let _ = file.set_len(start);
            return Err(HubError::Io {
                context: format!("write partition {}", self.partition),
                source: e,
            });
        }
        let mut results = Vec::with_capacity(batches.len());
        {
            let mut st = self.state.write().unwrap();
            let seg = st.segments.last_mut().expect("active segment");
            let mut last = None;
            for (pos, header, positions) in &batches {
                seg.note_batch(*pos, header);
                let first_offset = base_offset + pos + positions[0] as u64;
                let last_offset = base_offset + pos + *positions.last().unwrap() as u64;
                let last_seq = header.base_seq + header.count as u64 - 1;
                results.push(AppendResult {
                    partition: self.partition,
                    first_sequence_number: header.base_seq,
                    last_sequence_number: last_seq,
                    first_offset,
                    enqueued_time_ms: now,
                });
                last = Some(LastEvent {
                    sequence_number: last_seq,
                    offset: last_offset,
                    enqueued_time_ms: now,
                });
            }
            st.last_event = last.or(st.last_event);
        }
        self.published.send_replace(seq);
        Ok(results)
    }

    /// Starts a new segment once the active one has reached the configured size, or
    /// (`force`) whenever it holds any data.
    fn roll(&mut self, force: bool) -> Result<()> {
        let (due, next_seq, next_offset) = {
            let st = self.state.read().unwrap();
            let seg = st.segments.last().expect("active segment");
            let due = seg.len >= self.options.segment_bytes || (force && seg.len > 0);
            (due, seg.next_seq, seg.base_offset + seg.len)
        };
        if !due {
            return Ok(());
        }
        let fresh = Segment::create(&self.dir, next_seq, next_offset)?;
        let mut st = self.state.write().unwrap();
        if let Some(sealed) = st.segments.last() {
            sealed
                .file
                .sync_all()
                .map_err(HubError::io("sync sealed segment"))?;
            sealed.write_index()?;
        }
        st.segments.push(fresh);
        Ok(())
    }
}
