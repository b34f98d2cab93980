//! One segment file of a partition log, its sparse in-memory index and the persisted
//! copy of that index for sealed segments.
//!
//! File names carry the first sequence number and the logical offset of the first
//! byte: `{base_seq:020}_{base_offset:020}.log`. The index file beside a sealed
//! segment (`.idx`) is only a shortcut: it is used when it agrees with the log (same
//! length, last entry decodes with the same sequence number) and rebuilt otherwise.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::codec::{self, BatchHeader, HEADER_LEN};
use crate::error::{HubError, Result};

/// A sparse index entry: the batch at `pos` starts with sequence number `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    pub seq: u64,
    pub pos: u64,
    pub time_ms: i64,
}

/// Every this many bytes of log, the next batch gets an index entry.
pub const INDEX_INTERVAL_BYTES: u64 = 4096;

#[derive(Debug)]
pub struct Segment {
    pub base_seq: u64,
    pub base_offset: u64,
    pub path: PathBuf,
    pub file: Arc<File>,
    /// Bytes visible to readers (whole, acknowledged batches).
    pub len: u64,
    /// One past the last sequence number stored here.
    pub next_seq: u64,
    pub index: Vec<IndexEntry>,
    pub first_time_ms: Option<i64>,
    pub last_time_ms: Option<i64>,
}

impl Segment {
    pub fn file_name(base_seq: u64, base_offset: u64) -> String {
        format!("{base_seq:020}_{base_offset:020}.log")
    }

    pub fn parse_name(name: &str) -> Option<(u64, u64)> {
        let stem = name.strip_suffix(".log")?;
        let (a, b) = stem.split_once('_')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    }

    pub fn create(dir: &Path, base_seq: u64, base_offset: u64) -> Result<Segment> {
        let path = dir.join(Self::file_name(base_seq, base_offset));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(HubError::io(format!("create segment {}", path.display())))?;
        sync_dir(dir)?;
        Ok(Segment {
            base_seq,
            base_offset,
            path,
            file: Arc::new(file),
            len: 0,
            next_seq: base_seq,
            index: Vec::new(),
            first_time_ms: None,
            last_time_ms: None,
        })
    }

    /// Opens an existing segment. `verify` checks every batch's checksum and
    /// truncates the file at the first bad or torn batch (used for the last
    /// segment, the only one a crash can tear); otherwise the persisted index is
    /// used when it agrees with the log, and headers are scanned when it does not.
    pub fn open(path: &Path, base_seq: u64, base_offset: u64, verify: bool) -> Result<Segment> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(HubError::io(format!("open segment {}", path.display())))?;
        let file_len = file.metadata().map_err(HubError::io("stat segment"))?.len();
        let mut seg = Segment {
            base_seq,
            base_offset,
            path: path.to_path_buf(),
            file: Arc::new(file),
            len: 0,
            next_seq: base_seq,
            index: Vec::new(),
            first_time_ms: None,
            last_time_ms: None,
        };
        if !verify && seg.load_index(file_len) {
            return Ok(seg);
        }
        let valid = seg.scan(file_len, verify)?;
        if valid < file_len {
            if !verify {
                return Err(HubError::Corrupt {
                    path: path.display().to_string(),
                    position: valid,
                    detail: "a sealed segment has an invalid batch".into(),
                });
            }
            tracing::warn!(
                segment = %path.display(),
                valid_bytes = valid,
                dropped_bytes = file_len - valid,
                "truncating torn or corrupt tail"
            );
            seg.file
                .set_len(valid)
                .map_err(HubError::io("truncate torn tail"))?;
            seg.file
                .sync_all()
                .map_err(HubError::io("sync truncated segment"))?;
        }
        Ok(seg)
    }

    /// Scans batches from the start; returns the length of the valid prefix.
    fn scan(&mut self, file_len: u64, verify: bool) -> Result<u64> {
        let file = self.file.clone();
        let mut reader = BufReader::with_capacity(1 << 20, &*file);
        reader
            .seek(SeekFrom::Start(0))
            .map_err(HubError::io("seek segment"))?;
        let mut pos = 0u64;
        let mut header = [0u8; HEADER_LEN];
        let mut body = Vec::new();
        while pos + HEADER_LEN as u64 <= file_len {
            if reader.read_exact(&mut header).is_err() {
                break;
            }
            let Some(h) = BatchHeader::parse(&header) else {
                break;
            };
            if h.base_seq != self.next_seq || pos + h.total_len() > file_len {
                break;
            }
            let rest = (h.total_len() - HEADER_LEN as u64) as usize;
            if verify {
                body.clear();
                body.extend_from_slice(&header);
                body.resize(h.total_len() as usize, 0);
                if reader.read_exact(&mut body[HEADER_LEN..]).is_err()
                    || codec::verify(&body).is_err()
                {
                    break;
                }
            } else if reader.seek_relative(rest as i64).is_err() {
                break;
            }
            self.note_batch(pos, &h);
            pos += h.total_len();
        }
        Ok(pos)
    }

    /// Records a batch appended at `pos` (scan or writer).
    pub fn note_batch(&mut self, pos: u64, h: &BatchHeader) {
        let due = match self.index.last() {
            None => true,
            Some(last) => pos - last.pos >= INDEX_INTERVAL_BYTES,
        };
        if due {
            self.index.push(IndexEntry {
                seq: h.base_seq,
                pos,
                time_ms: h.time_ms,
            });
        }
        self.first_time_ms.get_or_insert(h.time_ms);
        self.last_time_ms = Some(h.time_ms);
        self.next_seq = h.base_seq + h.count as u64;
        self.len = pos + h.total_len();
    }

    pub fn index_path(&self) -> PathBuf {
        self.path.with_extension("idx")
    }

    /// Persists the index of a sealed segment:
    /// `len u64 | next_seq u64 | first_time i64 | last_time i64 | n u32 | (seq, pos, time)* | crc u32`.
    pub fn write_index(&self) -> Result<()> {
        let mut buf = Vec::with_capacity(36 + self.index.len() * 24 + 4);
        buf.extend_from_slice(&self.len.to_le_bytes());
        buf.extend_from_slice(&self.next_seq.to_le_bytes());
        buf.extend_from_slice(&self.first_time_ms.unwrap_or(0).to_le_bytes());
        buf.extend_from_slice(&self.last_time_ms.unwrap_or(0).to_le_bytes());
        buf.extend_from_slice(&(self.index.len() as u32).to_le_bytes());
        for e in &self.index {
            buf.extend_from_slice(&e.seq.to_le_bytes());
            buf.extend_from_slice(&e.pos.to_le_bytes());
            buf.extend_from_slice(&e.time_ms.to_le_bytes());
        }
        let crc = crc32c::crc32c(&buf);
        buf.extend_from_slice(&crc.to_le_bytes());
        let path = self.index_path();
        let dir = path.parent().expect("segment has a directory");
        let name = path.file_name().expect("index file name").to_string_lossy();
        crate::fsutil::write_atomic(dir, &name, &buf)
    }

    /// Loads the persisted index if it agrees with the log; false means rebuild.
    fn load_index(&mut self, file_len: u64) -> bool {
        let Ok(buf) = std::fs::read(self.index_path()) else {
            return false;
        };
        if buf.len() < 40 || (buf.len() - 40) % 24 != 0 {
            return false;
        }
        let (body, crc) = buf.split_at(buf.len() - 4);
        if crc32c::crc32c(body) != u32::from_le_bytes(crc.try_into().unwrap()) {
            return false;
        }
        let u = |at: usize| u64::from_le_bytes(body[at..at + 8].try_into().unwrap());
        let n = u32::from_le_bytes(body[32..36].try_into().unwrap()) as usize;
        if u(0) != file_len || n == 0 || body.len() != 36 + n * 24 {
            return false;
        }
        let index: Vec<IndexEntry> = (0..n)
            .map(|i| {
                let at = 36 + i * 24;
                IndexEntry {
                    seq: u(at),
                    pos: u(at + 8),
                    time_ms: u(at + 16) as i64,
                }
            })
            .collect();
        // The log is the truth: the last indexed batch must be where the index says.
        let last = index[index.len() - 1];
        match self.read_header(last.pos) {
            Some(h) if h.base_seq == last.seq && index[0].seq == self.base_seq => {}
            _ => return false,
        }
        self.len = file_len;
        self.next_seq = u(8);
        self.first_time_ms = Some(u(16) as i64);
        self.last_time_ms = Some(u(24) as i64);
        self.index = index;
        true
    }

    pub fn read_header(&self, pos: u64) -> Option<BatchHeader> {
        let mut buf = [0u8; HEADER_LEN];
        self.file.read_exact_at(&mut buf, pos).ok()?;
        BatchHeader::parse(&buf)
    }

    /// The index entry to start scanning from for sequence number `seq`.
    pub fn seek_seq(&self, seq: u64) -> u64 {
        let i = self.index.partition_point(|e| e.seq <= seq);
        if i == 0 {
            0
        } else {
            self.index[i - 1].pos
        }
    }

    /// The index entry to start scanning from for logical offset `offset`.
    pub fn seek_offset(&self, offset: u64) -> u64 {
        let rel = offset.saturating_sub(self.base_offset);
        let i = self.index.partition_point(|e| e.pos <= rel);
        if i == 0 {
            0
        } else {
            self.index[i - 1].pos
        }
    }

    /// The index entry to start scanning from for the first batch at or after `ms`.
    pub fn seek_time(&self, ms: i64) -> u64 {
        let i = self.index.partition_point(|e| e.time_ms < ms);
        if i == 0 {
            0
        } else {
            self.index[i - 1].pos
        }
    }
}

pub use crate::fsutil::sync_dir;
