//! Reading: resolving positions to sequence numbers and decoding batches from a
//! sequence number on, across segments, bounded by what the writer published.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::segment::Segment;
use super::{LastEvent, PartitionLog};
use crate::codec::{self, BatchHeader};
use crate::error::{HubError, Result};
use crate::event::ReceivedEvent;
use crate::position::Position;

/// What a read needs of a segment, copied out so IO happens without the lock.
struct SegmentView {
    file: Arc<File>,
    path: String,
    base_offset: u64,
    len: u64,
    start_pos: u64,
}

fn read_batch(
    view: &SegmentView,
    pos: u64,
    header: &BatchHeader,
    partition: u32,
) -> Result<Vec<ReceivedEvent>> {
    let mut buf = vec![0u8; header.total_len() as usize];
    view.file
        .read_exact_at(&mut buf, pos)
        .map_err(HubError::io(format!("read {}", view.path)))?;
    codec::decode_batch(Bytes::from(buf), partition, view.base_offset + pos).map_err(|e| {
        HubError::Corrupt {
            path: view.path.clone(),
            position: pos,
            detail: format!("{e:?}"),
        }
    })
}

fn header_at(view: &SegmentView, pos: u64) -> Result<BatchHeader> {
    let mut buf = [0u8; codec::HEADER_LEN];
    view.file
        .read_exact_at(&mut buf, pos)
        .map_err(HubError::io(format!("read {}", view.path)))?;
    BatchHeader::parse(&buf).ok_or_else(|| HubError::Corrupt {
        path: view.path.clone(),
        position: pos,
        detail: "bad batch header".into(),
    })
}

fn view(seg: &Segment, start_pos: u64) -> SegmentView {
    SegmentView {
        file: seg.file.clone(),
        path: seg.path.display().to_string(),
        base_offset: seg.base_offset,
        len: seg.len,
        start_pos,
    }
}

/// The last event of the log, found by decoding its last batch.
pub(super) fn last_event(segments: &[Segment], partition: u32) -> Result<Option<LastEvent>> {
    let Some(seg) = segments.iter().rev().find(|s| s.len > 0) else {
        return Ok(None);
    };
    let v = view(seg, seg.index.last().map_or(0, |e| e.pos));
    let mut pos = v.start_pos;
    let mut last = None;
    while pos < v.len {
        let h = header_at(&v, pos)?;
        last = Some((pos, h));
        pos += h.total_len();
    }
    let Some((pos, h)) = last else {
        return Ok(None);
    };
    let events = read_batch(&v, pos, &h, partition)?;
    Ok(events.last().map(|e| LastEvent {
        sequence_number: e.sequence_number,
        offset: e.offset,
        enqueued_time_ms: e.enqueued_time_ms,
    }))
}

impl PartitionLog {
    /// Turns a position into the sequence number of the first event to deliver.
    pub fn resolve(&self, position: Position) -> Result<u64> {
        let info = self.info();
        let (begin, next) = (info.begin_sequence_number, info.next_sequence_number);
        match position {
            Position::Earliest => Ok(begin),
            Position::Latest => Ok(next),
            Position::Sequence { seq, inclusive } => {
                let start = if inclusive {
                    seq
                } else {
                    seq.saturating_add(1)
                };
                if start > next {
                    return Err(HubError::InvalidArgument(format!(
                        "sequence number {seq} is beyond the end of partition {}: the last sequence number is {}",
                        self.partition(),
                        next as i64 - 1
                    )));
                }
                Ok(start.max(begin))
            }
            Position::Offset { offset, inclusive } => {
                self.resolve_offset(offset, inclusive, begin, next)
            }
            Position::EnqueuedTime { ms, inclusive } => self.resolve_time(ms, inclusive, next),
        }
    }

    fn resolve_offset(&self, offset: u64, inclusive: bool, begin: u64, next: u64) -> Result<u64> {
        let views: Vec<SegmentView> = {
            let st = self.state.read().unwrap();
            let end = st.segments.last().map_or(0, |s| s.base_offset + s.len);
            if offset >= end {
                if offset > end {
                    return Err(HubError::InvalidArgument(format!(
                        "offset {offset} is beyond the end of partition {} (next offset {end})",
                        self.partition()
                    )));
                }
                return Ok(next);
            }
            if st.segments.first().is_some_and(|s| offset < s.base_offset) {
                return Ok(begin);
            }
            st.segments
                .iter()
                .filter(|s| s.base_offset + s.len > offset)
                .map(|s| view(s, s.seek_offset(offset)))
                .collect()
        };
        for v in &views {
            let mut pos = if offset >= v.base_offset {
                v.start_pos
            } else {
                0
            };
            while pos < v.len {
                let h = header_at(v, pos)?;
                if v.base_offset + pos + h.total_len() <= offset {
                    pos += h.total_len();
                    continue;
                }
                for e in read_batch(v, pos, &h, self.partition())? {
                    if e.offset > offset || (inclusive && e.offset == offset) {
                        return Ok(e.sequence_number);
                    }
                }
                pos += h.total_len();
            }
        }
        Ok(next)
    }

    fn resolve_time(&self, ms: i64, inclusive: bool, next: u64) -> Result<u64> {
        let matches = |t: i64| t > ms || (inclusive && t == ms);
        let views: Vec<SegmentView> = {
            let st = self.state.read().unwrap();
            st.segments
                .iter()
                .filter(|s| s.last_time_ms.is_some_and(matches))
                .map(|s| view(s, s.seek_time(ms)))
                .collect()
        };
        for v in &views {
            let mut pos = v.start_pos;
            while pos < v.len {
                let h = header_at(v, pos)?;
                if matches(h.time_ms) {
                    return Ok(h.base_seq);
                }
                pos += h.total_len();
            }
        }
        Ok(next)
    }

    /// Up to `max_events` events from `from_seq` on (from the first retained event
    /// if `from_seq` was already deleted), stopping early past `max_bytes` of bodies.
    pub fn read(
        &self,
        from_seq: u64,
        max_events: usize,
        max_bytes: usize,
    ) -> Result<Vec<ReceivedEvent>> {
        let views: Vec<SegmentView> = {
            let st = self.state.read().unwrap();
            let mut out = Vec::new();
            for (i, s) in st.segments.iter().enumerate() {
                let next_base = st.segments.get(i + 1).map_or(u64::MAX, |n| n.base_seq);
                if next_base <= from_seq || s.len == 0 {
                    continue;
                }
                let start = if s.base_seq <= from_seq {
                    s.seek_seq(from_seq)
                } else {
                    0
                };
                out.push(view(s, start));
            }
            out
        };
        let mut events = Vec::new();
        let mut bytes = 0usize;
        for v in &views {
            let mut pos = v.start_pos;
            while pos < v.len {
                let h = header_at(v, pos)?;
                if h.base_seq + h.count as u64 <= from_seq {
                    pos += h.total_len();
                    continue;
                }
                for e in read_batch(v, pos, &h, self.partition())? {
                    if e.sequence_number < from_seq {
                        continue;
                    }
                    bytes += e.data.body.len();
                    events.push(e);
                    if events.len() >= max_events || bytes >= max_bytes {
                        return Ok(events);
                    }
                }
                pos += h.total_len();
            }
        }
        Ok(events)
    }

    /// Like [`read`](Self::read), but waits up to `wait` for events to arrive when
    /// there are none yet (long poll).
    pub async fn read_wait(
        &self,
        from_seq: u64,
        max_events: usize,
        max_bytes: usize,
        wait: Duration,
    ) -> Result<Vec<ReceivedEvent>> {
        let mut rx = self.subscribe();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            rx.borrow_and_update();
            let events = self.read(from_seq, max_events, max_bytes)?;
            if !events.is_empty() {
                return Ok(events);
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) | Err(_) => return Ok(events),
            }
        }
    }
}
